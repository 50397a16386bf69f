//! `jsafe cleanup-locks [PATH...]`: the cron job. Removes lock files nobody
//! holds and temp files of writes that died, and nothing that is in use.
//!
//! # What is removed
//! For every lock file `.jsafe/locks/<name>.lock` under the paths (directories
//! recursively, or the lock of a file given directly):
//! 1. its kernel lock is tried without waiting; if someone holds it, the file is
//!    kept ("held by pid … (alive)");
//! 2. if the lock was granted, the recorded holder is judged (PID and process
//!    start time, one sysinfo pass for all, [`process::liveness`]); a holder on
//!    another host is never judged by PID;
//! 3. the file is removed when the recorded holder is dead, or its PID now
//!    belongs to another process (start time differs by more than 2 s), on this
//!    host — or when the lock file is older than `--older-than` (its mtime is
//!    the last time an exclusive holder took it), whoever recorded it;
//! 4. otherwise it is kept: a free lock file that is younger than
//!    `--older-than` and whose holder is alive (right start time), on another
//!    host, unknown or not recorded. The kernel lock being free makes removal
//!    safe at any time; the age and PID rules only spare lock files that are
//!    likely to be taken again soon, so a busy file does not get a fresh inode
//!    on every sweep.
//!
//! The file is unlinked only while the sweeper holds its lock and after checking
//! that the path still names the locked inode. A writer that opened the old
//! inode gets the lock after the unlink, sees that its inode is no longer linked
//! (the check in `store::lock::acquire`) and retries on a fresh lock file: a
//! sweep beside live writers loses no update.
//!
//! Temp files `<dir>/.jsafe-tmp.<name>.<8 chars>` are removed while holding
//! `<name>`'s lock: a writer creates its temp file only while holding that lock
//! and removes or renames it before letting go, so a temp file whose lock is
//! free belongs to a write that died. When the lock file does not exist the
//! sweeper creates it to take the lock, and removes it again afterwards.
//!
//! # Output
//! Only news, so that cron mails only when something happened: a temp file of
//! a write that died, a lock file that could not be judged, an error. Removing
//! lock files whose holders have exited (what every ordinary write leaves)
//! prints nothing; `-v` adds one line per file removed or kept and why;
//! `--dry-run` prints `would remove PATH (why)` and removes nothing. Problems
//! go to stderr. A PATH that does not exist is skipped with one warning line
//! (none under `--quiet`). Exit 0 unless the sweep itself failed (a directory
//! or lock file that could not be read, a file that could not be removed):
//! then 7, after sweeping everything else; 6 when no PATH exists at all
//! (0 under `--quiet`, for cron lines that name optional directories).
//!
//! The `--json` document (version [`JSON_VERSION`]) is specified field by field
//! in `docs/json-output.md`; `tests/integration/json_output.rs` holds it to that.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::shared::paths::{roots, scan_shown};
use super::{Global, diag, print};
use crate::cli::CleanupArgs;
use crate::error::{Kind, Result};
use crate::process::{self, Holder, Liveness};
use crate::store::lock::{self, Free, NewLockFile, Swept};
use crate::store::scan::{self, Found, Listing, Managed, StateView};
use crate::store::{Dir, layout};
use crate::time;

/// Version of the `--json` document; raised when a field changes meaning.
pub(crate) const JSON_VERSION: u32 = 1;

/// Returns the exit code: 0 unless the sweep itself failed (7) or no PATH
/// exists (6, not under --quiet).
pub(crate) fn run(g: &Global, args: &CleanupArgs) -> Result<i32> {
    if args.paths.iter().any(|p| crate::store::Backend::is_etcd(p)) {
        return super::etcd::cleanup(g, &args.paths);
    }
    let mut sweep = Sweep {
        dry_run: args.dry_run,
        older_than: args.older_than,
        entries: Vec::new(),
        errors: Vec::new(),
    };
    let roots = roots(&args.paths);
    let mut files: Vec<PathBuf> = Vec::new();
    let walked = scan::walk(&roots, args.one_file_system, &mut |found| match found {
        Found::Dir(listing) => sweep.dir(listing),
        Found::File(path) => files.push(path.to_path_buf()),
    });
    sweep.errors.extend(walked.errors.iter().cloned());
    for file in files {
        sweep.file(&file);
    }
    // A PATH that does not exist (one of the example directories of a cron
    // line) is skipped with a warning, not a failure of the sweep.
    let missing: Vec<String> = walked.missing_roots.iter().map(|m| scan_shown(m)).collect();
    let nothing_exists = !missing.is_empty() && missing.len() == roots.len();
    let code = if !sweep.errors.is_empty() {
        Kind::Io.exit_code()
    } else if nothing_exists && !g.quiet {
        Kind::NotFound.exit_code()
    } else {
        0
    };
    for m in &missing {
        if nothing_exists && !g.quiet {
            diag(&format!(
                "{m}: no such file or directory; nothing was swept"
            ));
        } else {
            g.notice(&format!("{m}: no such file or directory; skipped"));
        }
    }
    for e in &sweep.errors {
        diag(e);
    }
    let out = if args.json {
        sweep.to_json(args, &missing, code)
    } else {
        sweep.lines(args.dry_run, g.verbose)
    };
    print(out.as_bytes())?;
    Ok(code)
}

/// A file removed (or that would be) or kept.
struct Entry {
    path: PathBuf,
    kind: &'static str,
    file: PathBuf,
    reason: String,
    holder: Option<(Holder, Liveness)>,
    removed: bool,
    /// Worth a line in cron's mail: a crash happened, or something could not
    /// be judged. Ordinary left-overs of finished writes are not.
    news: bool,
}

impl Entry {
    /// A temp file of `file`.
    fn temp(path: PathBuf, file: &Path, removed: bool, news: bool, reason: String) -> Entry {
        Entry {
            path,
            kind: "temp",
            file: file.to_path_buf(),
            reason,
            holder: None,
            removed,
            news,
        }
    }

    fn to_json(&self) -> Json {
        let holder = self.holder.as_ref().map(|(h, alive)| {
            let mut v = serde_json::to_value(h).unwrap_or(Json::Null);
            if let Json::Object(m) = &mut v {
                m.insert("alive".to_owned(), json!(alive.as_str()));
            }
            v
        });
        json!({
            "path": scan_shown(&self.path),
            "kind": self.kind,
            "file": scan_shown(&self.file),
            "reason": self.reason,
            "holder": holder,
            "news": self.news,
        })
    }
}

struct Sweep {
    dry_run: bool,
    older_than: Duration,
    entries: Vec<Entry>,
    errors: Vec<String>,
}

impl Sweep {
    /// Every lock file and temp file of a directory, in the order of their keys.
    fn dir(&mut self, listing: &Listing) {
        let view = StateView::of(listing);
        self.errors.extend(view.errors.iter().cloned());
        let mut found = scan::managed(listing, &view, None);
        found.retain(|m| m.lock || !m.temps.is_empty());
        found.sort_by(|a, b| a.key.cmp(&b.key));
        for m in &found {
            self.key(listing.dir, &view, m);
        }
    }

    /// The lock file and temp files of a file given directly.
    fn file(&mut self, file: &Path) {
        match scan::resolve(file) {
            Ok(fv) => {
                let view = StateView::open(&fv.dir);
                self.errors.extend(view.errors.iter().cloned());
                let mut m = scan::managed_file(&fv, &view, None);
                m.temps = scan::temp_files(&fv.dir, &fv.key);
                self.key(&fv.dir, &view, &m);
            }
            Err(e) => self.errors.push(e.message().to_owned()),
        }
    }

    /// The lines printed: news (or everything with -v).
    fn lines(&self, dry_run: bool, verbose: bool) -> String {
        let mut out = String::new();
        for e in &self.entries {
            if !(e.news || verbose) {
                continue;
            }
            let verb = match (e.removed, dry_run) {
                (true, true) => "would remove",
                (true, false) => "removed",
                (false, _) => "kept",
            };
            out.push_str(&format!("{verb} {} ({})\n", scan_shown(&e.path), e.reason));
        }
        out
    }

    /// The `--json` document.
    fn to_json(&self, args: &CleanupArgs, missing: &[String], code: i32) -> String {
        let (removed, kept): (Vec<&Entry>, Vec<&Entry>) =
            self.entries.iter().partition(|e| e.removed);
        let doc = json!({
            "version": JSON_VERSION,
            "dry_run": args.dry_run,
            "older_than_secs": args.older_than.as_secs_f64(),
            "removed": removed.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "kept": kept.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "missing_paths": missing,
            "errors": self.errors,
            "exit_code": code,
        });
        let mut out = doc.to_string();
        out.push('\n');
        out
    }

    /// One data file's lock file and temp files.
    fn key(&mut self, dir: &Dir, view: &StateView, m: &Managed) {
        let (key, temps) = (m.key.as_os_str(), &m.temps[..]);
        let file = dir.join(&m.name);
        let lock_path = view.locks().map_or_else(
            || PathBuf::from(layout::lock_name(key)),
            |l| l.join(layout::lock_name(key)),
        );
        let Some(locks) = view.locks() else {
            self.temps_kept(
                dir,
                &file,
                temps,
                true,
                "no .jsafe/locks to take its lock in: left alone",
            );
            return;
        };
        // Temp files whose lock file is gone are taken under a lock file made
        // for the purpose (and removed again).
        let make = (!temps.is_empty()).then_some(NewLockFile {
            mode: 0o600,
            owner: None,
        });
        let mut temp_entries: Vec<Entry> = Vec::new();
        let mut judged: Option<Verdict> = None;
        let dry_run = self.dry_run;
        let older_than = self.older_than;
        let swept = lock::sweep(locks, dir, key, make, dry_run, |free: &Free| {
            temp_entries = remove_temps(dir, free, temps, &file, dry_run);
            if free.made_now {
                return true;
            }
            let verdict = judge(free, older_than);
            let remove = verdict.remove;
            judged = Some(verdict);
            remove
        });
        for e in temp_entries {
            if !e.removed {
                self.errors
                    .push(format!("{}: {}", e.path.display(), e.reason));
            }
            self.entries.push(e);
        }
        let lock = |removed: bool, news: bool, reason: String, holder| Entry {
            path: lock_path.clone(),
            kind: "lock",
            file: file.clone(),
            reason,
            holder,
            removed,
            news,
        };
        match swept {
            Ok(Swept::Missing) => {}
            Ok(Swept::Held(holder, pids)) => {
                let (who, judged) = held_by(holder, &pids);
                let why = "its lock is held: a write may be in progress";
                self.temps_kept(dir, &file, temps, false, why);
                self.entries.push(lock(false, false, who, judged));
            }
            Ok(Swept::Replaced) => {
                let e = lock(false, false, "replaced meanwhile".to_owned(), None);
                self.entries.push(e);
            }
            Ok(Swept::Kept) | Ok(Swept::Removed) => {
                let removed = matches!(swept, Ok(Swept::Removed));
                let v = judged.unwrap_or(Verdict {
                    remove: removed,
                    reason: String::new(),
                    news: false,
                    holder: None,
                });
                self.entries.push(lock(removed, v.news, v.reason, v.holder));
            }
            Err(e) => self.errors.push(format!(
                "cannot sweep lock file {}: {e}; left alone",
                lock_path.display()
            )),
        }
    }

    /// Temp files left alone, and why.
    fn temps_kept(&mut self, dir: &Dir, file: &Path, temps: &[OsString], news: bool, why: &str) {
        for t in temps {
            self.entries
                .push(Entry::temp(dir.join(t), file, false, news, why.to_owned()));
        }
    }
}

/// Remove the temp files `temps` of a file whose lock the sweeper holds
/// (`free`): their writers died. An entry per file, removed or not (then
/// `removed` is false and the reason says why).
fn remove_temps(
    dir: &Dir,
    free: &Free,
    temps: &[OsString],
    file: &Path,
    dry_run: bool,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    for t in temps {
        let path = dir.join(t);
        if !dry_run
            && let Err(e) = rustix::fs::unlinkat(
                free.data_dir.fd(),
                t.as_os_str(),
                rustix::fs::AtFlags::empty(),
            )
            && e != rustix::io::Errno::NOENT
        {
            entries.push(Entry::temp(
                path,
                file,
                false,
                true,
                format!("cannot remove: {e}"),
            ));
            continue;
        }
        let why = "temp file of a write that did not finish (its writer died)".to_owned();
        entries.push(Entry::temp(path, file, true, true, why));
    }
    entries
}

/// Who holds a lock, as far as its record and /proc/locks (`pids`) say:
/// the words, and the holder with its liveness. The record names the
/// holder only when /proc/locks agrees.
fn held_by(holder: Option<Holder>, pids: &[u32]) -> (String, Option<(Holder, Liveness)>) {
    let holder = holder.filter(|h| pids.is_empty() || pids.contains(&h.pid));
    let judged = holder.map(|h| {
        let alive = process::liveness(&[&h])
            .first()
            .copied()
            .unwrap_or(Liveness::Unknown);
        (h, alive)
    });
    let who = match (&judged, pids.is_empty()) {
        (Some((h, alive)), _) => format!("held by {}{}", h.describe(), alive_note(*alive)),
        (None, false) => format!(
            "held by pid {}",
            pids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        (None, true) => "held".to_owned(),
    };
    (who, judged)
}

/// What to do with a free lock file, and why.
struct Verdict {
    remove: bool,
    reason: String,
    /// Worth a line without -v.
    news: bool,
    holder: Option<(Holder, Liveness)>,
}

/// Remove a free lock file?
fn judge(free: &Free, older_than: Duration) -> Verdict {
    let holder = free.holder.clone().map(|h| {
        let alive = process::liveness(&[&h])
            .first()
            .copied()
            .unwrap_or(Liveness::Unknown);
        (h, alive)
    });
    let age = free.age;
    match &holder {
        Some((h, alive)) if alive.is_gone() => Verdict {
            remove: true,
            reason: match alive {
                Liveness::Recycled => format!(
                    "free; pid {} of its holder now belongs to another process",
                    h.pid
                ),
                _ => format!("free; its holder pid {} has exited", h.pid),
            },
            news: false,
            holder: holder.clone(),
        },
        _ if age >= older_than => Verdict {
            remove: true,
            reason: format!(
                "free; last taken {} ago{}",
                time::human(age),
                holder.as_ref().map_or(String::new(), |(h, alive)| format!(
                    " by pid {}{}",
                    h.pid,
                    alive_note(*alive)
                ))
            ),
            news: false,
            holder: holder.clone(),
        },
        Some((h, alive)) => {
            let unsure = matches!(alive, Liveness::Unknown);
            Verdict {
                remove: false,
                reason: format!(
                    "free, but last taken {} ago (younger than {}) by pid {}{}",
                    time::human(age),
                    time::human(older_than),
                    h.pid,
                    match alive {
                        Liveness::OtherHost => format!(" on host {}", h.host),
                        Liveness::Unknown => " (cannot tell whether it still runs)".to_owned(),
                        a => alive_note(*a),
                    }
                ),
                news: unsure,
                holder: holder.clone(),
            }
        }
        None => Verdict {
            remove: false,
            reason: format!(
                "free, but last taken {} ago (younger than {}); no holder recorded",
                time::human(age),
                time::human(older_than)
            ),
            news: false,
            holder: None,
        },
    }
}

fn alive_note(alive: Liveness) -> String {
    match alive {
        Liveness::OtherHost => " (on another host)".to_owned(),
        a => format!(" ({})", a.as_str()),
    }
}
