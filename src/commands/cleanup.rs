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
//! One line per removed file (`removed PATH (why)`), nothing else, so that cron
//! mails only when there is news; `-v` adds one line per file kept and why;
//! `--dry-run` prints `would remove PATH (why)` and removes nothing. Problems go
//! to stderr. Exit 0 unless the sweep itself failed (a directory or lock file
//! that could not be read, a file that could not be removed): then 7, after
//! sweeping everything else.
//!
//! # `--json` output
//! One object:
//! - `dry_run`: bool; `older_than_secs`: number;
//! - `removed`: array (with `dry_run`, what would be removed) and `kept`: array
//!   (every file considered and left), of objects `{"path", "kind", "file",
//!   "reason", "holder"}`: `kind` is `"lock"` or `"temp"`, `file` the data file
//!   the lock or temp file belongs to, `reason` one line, `holder` null or the
//!   record in the lock file (`pid`, `host`, `start_time`, `command`,
//!   `acquired`, `acquired_at`) plus `alive`: `"alive"` | `"dead"` |
//!   `"recycled"` | `"other-host"` | `"unknown"`;
//! - `errors`: array of lines;
//! - `exit_code`: the exit code of this run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value as Json, json};

use super::{Global, print};
use crate::cli::CleanupArgs;
use crate::error::{Kind, Result};
use crate::process::{self, Liveness};
use crate::scan;
use crate::store::replace::TEMP_PREFIX;
use crate::store::{Holder, Mode, Paths, STATE_DIR, lock};
use crate::time;

/// Returns the exit code: 0 unless the sweep itself failed.
pub fn run(g: &Global, args: &CleanupArgs) -> Result<i32> {
    let walk = scan::walk(&scan::roots(&args.paths));
    let mut sweep = Sweep {
        dry_run: args.dry_run,
        older_than: args.older_than,
        removed: Vec::new(),
        kept: Vec::new(),
        errors: walk.errors.clone(),
    };
    let items = items(&walk, &mut sweep.errors);

    // Who recorded each lock, judged in one pass before any lock is taken (a
    // sweep cannot hold thousands of descriptors at once). A record that has
    // changed by the time we hold the lock is judged again on its own.
    let recorded: Vec<Option<Holder>> = items
        .iter()
        .map(|i| {
            i.lock_exists
                .then(|| scan::open_lock(&i.lock).ok())
                .flatten()
                .and_then(|f| scan::holder_in(&f))
        })
        .collect();
    let refs: Vec<&Holder> = recorded.iter().flatten().collect();
    let mut answers = process::liveness(&refs).into_iter();
    let judged: Vec<Option<(Holder, Liveness)>> = recorded
        .into_iter()
        .map(|h| h.map(|h| (h, answers.next().unwrap_or(Liveness::Unknown))))
        .collect();

    for (item, judged) in items.iter().zip(judged) {
        sweep.item(item, judged);
    }

    let code = if sweep.errors.is_empty() {
        0
    } else {
        Kind::Io.exit_code()
    };
    for e in &sweep.errors {
        eprintln!("jsafe: {e}");
    }
    let mut out = String::new();
    if args.json {
        let doc = json!({
            "dry_run": args.dry_run,
            "older_than_secs": args.older_than.as_secs_f64(),
            "removed": sweep.removed.iter().map(Entry::to_json).collect::<Vec<_>>(),
            "kept": sweep.kept.iter().map(Entry::to_json).collect::<Vec<_>>(),
            "errors": sweep.errors,
            "exit_code": code,
        });
        out = doc.to_string();
        out.push('\n');
    } else {
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for e in &sweep.removed {
            out.push_str(&format!("{verb} {} ({})\n", scan::shown(&e.path), e.reason));
        }
        if g.verbose {
            for e in &sweep.kept {
                out.push_str(&format!("kept {} ({})\n", scan::shown(&e.path), e.reason));
            }
        }
    }
    print(out.as_bytes())?;
    Ok(code)
}

/// One data file's lock file and temp files.
#[derive(Debug)]
struct Item {
    /// The data file (named in reports).
    file: PathBuf,
    lock: PathBuf,
    lock_exists: bool,
    temps: Vec<PathBuf>,
}

fn items(walk: &scan::Walk, errors: &mut Vec<String>) -> Vec<Item> {
    let mut by_file: BTreeMap<(PathBuf, OsString), Item> = BTreeMap::new();
    fn entry<'a>(
        by_file: &'a mut BTreeMap<(PathBuf, OsString), Item>,
        dir: &Path,
        name: &OsString,
    ) -> &'a mut Item {
        by_file
            .entry((dir.to_path_buf(), name.clone()))
            .or_insert_with(|| {
                let paths = data_paths(dir, name);
                Item {
                    file: paths.real.clone(),
                    lock: paths.lock(),
                    lock_exists: false,
                    temps: Vec::new(),
                }
            })
    }
    for listing in &walk.dirs {
        if listing.has_state {
            let (state, errs) = scan::list_state(&listing.dir.join(STATE_DIR));
            errors.extend(errs);
            for name in &state.locks {
                entry(&mut by_file, &listing.dir, name).lock_exists = true;
            }
        }
        for temp in &listing.temp_files {
            if let Some(name) = scan::temp_target(temp) {
                entry(&mut by_file, &listing.dir, &name)
                    .temps
                    .push(listing.dir.join(temp));
            }
        }
    }
    for file in &walk.files {
        let paths = match Paths::resolve(file) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e.message);
                continue;
            }
        };
        let lock_exists = std::fs::symlink_metadata(paths.lock()).is_ok();
        let temps = temps_of(&paths, errors);
        let item = entry(&mut by_file, &paths.dir, &paths.name);
        item.lock_exists |= lock_exists;
        for t in temps {
            if !item.temps.contains(&t) {
                item.temps.push(t);
            }
        }
    }
    by_file
        .into_values()
        .filter(|i| i.lock_exists || !i.temps.is_empty())
        .collect()
}

fn data_paths(dir: &Path, name: &OsString) -> Paths {
    let real = dir.join(name);
    Paths {
        given: real.clone(),
        real,
        dir: dir.to_path_buf(),
        name: name.clone(),
    }
}

/// Temp files of one data file given directly.
fn temps_of(paths: &Paths, errors: &mut Vec<String>) -> Vec<PathBuf> {
    let mut prefix = TEMP_PREFIX.as_bytes().to_vec();
    prefix.extend_from_slice(paths.name.as_bytes());
    let entries = match std::fs::read_dir(&paths.dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            errors.push(format!(
                "cannot read directory {}: {e}",
                paths.dir.display()
            ));
            return Vec::new();
        }
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .filter(|n| {
            n.as_bytes().starts_with(&prefix)
                && scan::temp_target(n).is_some_and(|t| t == paths.name)
        })
        .map(|n| paths.dir.join(n))
        .collect()
}

/// A file removed (or that would be) or kept.
struct Entry {
    path: PathBuf,
    kind: &'static str,
    file: PathBuf,
    reason: String,
    holder: Option<(Holder, Liveness)>,
}

impl Entry {
    fn to_json(&self) -> Json {
        let holder = self.holder.as_ref().map(|(h, alive)| {
            let mut v = h.to_json();
            if let Json::Object(m) = &mut v {
                m.insert("alive".to_owned(), json!(alive.as_str()));
            }
            v
        });
        json!({
            "path": scan::shown(&self.path),
            "kind": self.kind,
            "file": scan::shown(&self.file),
            "reason": self.reason,
            "holder": holder,
        })
    }
}

struct Sweep {
    dry_run: bool,
    older_than: Duration,
    removed: Vec<Entry>,
    kept: Vec<Entry>,
    errors: Vec<String>,
}

impl Sweep {
    fn item(&mut self, item: &Item, judged: Option<(Holder, Liveness)>) {
        if item.lock_exists {
            match scan::open_lock(&item.lock) {
                Ok(file) => return self.existing_lock(item, file, judged),
                // Removed since the listing: sweep the temp files as if it never was.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    self.errors.push(format!(
                        "cannot open lock file {}: {e}; left alone",
                        item.lock.display()
                    ));
                    return;
                }
            }
        }
        if !item.temps.is_empty() {
            self.temps_without_lock_file(item);
        }
    }

    fn existing_lock(&mut self, item: &Item, file: File, judged: Option<(Holder, Liveness)>) {
        let granted = match lock::try_take(&file, Mode::Exclusive) {
            Ok(g) => g,
            Err(e) => {
                self.errors.push(format!(
                    "cannot lock {}: {e}; left alone",
                    item.lock.display()
                ));
                return;
            }
        };
        if !granted {
            let (reason, holder) = match judged {
                Some((h, alive)) => (
                    format!("held by {}{}", h.describe(), alive_note(alive)),
                    Some((h, alive)),
                ),
                None => ("held".to_owned(), None),
            };
            self.keep_temps(item, "its lock is held: a write may be in progress");
            self.keep(&item.lock, "lock", item, reason, holder);
            return;
        }
        if !lock::still_linked(&file, &item.lock) {
            // Another sweeper removed it, and perhaps a writer made a fresh one:
            // nothing here is ours to judge now.
            self.keep_temps(item, "its lock file was replaced meanwhile");
            self.keep(
                &item.lock,
                "lock",
                item,
                "replaced meanwhile".to_owned(),
                None,
            );
            return;
        }
        self.remove_temps(item);

        // The record now, under the lock: the same as read before, or a newer one.
        let holder = match (scan::holder_in(&file), judged) {
            (Some(now), Some((before, alive))) if now == before => Some((now, alive)),
            (Some(now), _) => {
                let alive = process::liveness(&[&now])
                    .first()
                    .copied()
                    .unwrap_or(Liveness::Unknown);
                Some((now, alive))
            }
            (None, _) => None,
        };
        let age = file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or(Duration::ZERO);
        let verdict = match &holder {
            Some((h, alive)) if alive.is_gone() => Ok(format!(
                "free; {}",
                match alive {
                    Liveness::Recycled =>
                        format!("pid {} of its holder now belongs to another process", h.pid),
                    _ => format!("its holder pid {} is dead", h.pid),
                }
            )),
            _ if age >= self.older_than => Ok(format!(
                "free; last taken {} ago{}",
                time::human(age),
                holder.as_ref().map_or(String::new(), |(h, alive)| format!(
                    " by pid {}{}",
                    h.pid,
                    alive_note(*alive)
                ))
            )),
            Some((h, alive)) => Err(format!(
                "free, but last taken {} ago (younger than {}) by pid {}{}",
                time::human(age),
                time::human(self.older_than),
                h.pid,
                match alive {
                    Liveness::OtherHost => format!(" on host {}", h.host),
                    a => alive_note(*a),
                }
            )),
            None => Err(format!(
                "free, but last taken {} ago (younger than {}); no holder recorded",
                time::human(age),
                time::human(self.older_than)
            )),
        };
        match verdict {
            Ok(reason) => {
                if !self.dry_run
                    && let Err(e) = std::fs::remove_file(&item.lock)
                    && e.kind() != io::ErrorKind::NotFound
                {
                    self.errors.push(format!(
                        "cannot remove lock file {}: {e}",
                        item.lock.display()
                    ));
                    return;
                }
                self.removed.push(Entry {
                    path: item.lock.clone(),
                    kind: "lock",
                    file: item.file.clone(),
                    reason,
                    holder,
                });
            }
            Err(reason) => self.keep(&item.lock, "lock", item, reason, holder),
        }
        // The lock is released here, after the unlink.
        drop(file);
    }

    /// Temp files of a name that has no lock file: nobody can be writing it
    /// unless a writer is creating the lock file right now, so take the lock
    /// (creating the file) before removing anything.
    fn temps_without_lock_file(&mut self, item: &Item) {
        if self.dry_run {
            self.remove_temps(item);
            return;
        }
        let file = match lock::open(&item.lock) {
            Ok(f) => f,
            Err(e) => {
                self.errors.push(format!(
                    "cannot create lock file {} to remove the temp files of {}: {e}",
                    item.lock.display(),
                    item.file.display()
                ));
                return;
            }
        };
        match lock::try_take(&file, Mode::Exclusive) {
            Ok(true) if lock::still_linked(&file, &item.lock) => {
                self.remove_temps(item);
                // Ours, made only to hold it: gone again before we let go.
                if let Err(e) = std::fs::remove_file(&item.lock)
                    && e.kind() != io::ErrorKind::NotFound
                {
                    self.errors.push(format!(
                        "cannot remove lock file {}: {e}",
                        item.lock.display()
                    ));
                }
            }
            Ok(_) => self.keep_temps(item, "its lock is held: a write may be in progress"),
            Err(e) => self.errors.push(format!(
                "cannot lock {}: {e}; temp files of {} left alone",
                item.lock.display(),
                item.file.display()
            )),
        }
        drop(file);
    }

    /// Remove the item's temp files; the caller holds its lock (or, in a dry
    /// run, found it free).
    fn remove_temps(&mut self, item: &Item) {
        let name = item
            .file
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        for temp in &item.temps {
            // Only a regular file is ours: never follow or remove anything else.
            match std::fs::symlink_metadata(temp) {
                Ok(m) if m.is_file() => {}
                _ => continue,
            }
            if !self.dry_run
                && let Err(e) = std::fs::remove_file(temp)
            {
                if e.kind() != io::ErrorKind::NotFound {
                    self.errors
                        .push(format!("cannot remove temp file {}: {e}", temp.display()));
                }
                continue;
            }
            self.removed.push(Entry {
                path: temp.clone(),
                kind: "temp",
                file: item.file.clone(),
                reason: format!("temp file of an unfinished write to {name}"),
                holder: None,
            });
        }
    }

    fn keep_temps(&mut self, item: &Item, why: &str) {
        for temp in &item.temps {
            self.keep(temp, "temp", item, why.to_owned(), None);
        }
    }

    fn keep(
        &mut self,
        path: &Path,
        kind: &'static str,
        item: &Item,
        reason: String,
        holder: Option<(Holder, Liveness)>,
    ) {
        self.kept.push(Entry {
            path: path.to_path_buf(),
            kind,
            file: item.file.clone(),
            reason,
            holder,
        });
    }
}

fn alive_note(alive: Liveness) -> String {
    match alive {
        Liveness::OtherHost => " (on another host)".to_owned(),
        a => format!(" ({})", a.as_str()),
    }
}
