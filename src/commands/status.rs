//! `jsafe status [PATH...]`: health, lock, backups and last operation of every
//! managed file under the paths, as an aligned table or (`--json`) one JSON
//! document for monitoring.
//!
//! What is looked at: a file given directly (always, managed or not); under a
//! directory, recursively, every name with state in that directory's `.jsafe/`
//! (a lock file, a backup directory or a journal entry), plus plain `*.json`
//! files with `--all-json`. Symlinks to directories are not followed; a symlink
//! to a file is reported when its real file is managed (or, with `--all-json`,
//! when the link is named `*.json`), with the state read beside the real file.
//! A file reached twice (a link and its target, overlapping paths) is reported
//! once. A managed file that no longer exists is reported as missing until its
//! state is removed.
//!
//! Nothing is changed. Each lock is probed by taking it exclusively without
//! waiting and releasing it at once; liveness of all recorded holders is judged
//! in one pass ([`process::liveness`]).
//!
//! Exit code: 5 when any file is corrupt (this wins); else 1 when any other
//! problem was found — a missing or unreadable managed file, a lock held longer
//! than `--stale-after`, a lock file that cannot be probed, a directory that
//! cannot be read; else 0 (a lock held for a moment by a live writer is
//! normal). When no path could be looked at at all, exit 7.
//!
//! # `--json` output
//! One object:
//! - `files`: array, sorted by `path`, of objects:
//!   - `path`: the file as found or given; `real_path`: after following
//!     symlinks (its state is in `<dir of real_path>/.jsafe/`);
//!   - `health`: `"ok"` | `"corrupt"` | `"missing"` | `"unreadable"`;
//!   - `error`: null, or `{"message", "line", "column", "offset"}` (for a corrupt
//!     file, the parse error with 1-based line/column and byte offset; for an
//!     unreadable one only `message`, the others null);
//!   - `size` (bytes) and `modified` (RFC 3339, UTC): null when missing;
//!   - `lock`: `{"state", "path", "holder", "held_for_secs", "stale", "error"}`:
//!     - `state`: `"none"` (no lock file), `"free"`, `"left-over"` (free, and the
//!       recorded holder is dead or its PID recycled on this host: the file is
//!       an inert record that `cleanup-locks` removes), `"held"` (exclusively),
//!       `"held-shared"` (by `read --lock` readers; the record then names the
//!       last exclusive holder, not them), `"error"` (the lock file cannot be
//!       probed, e.g. it is a symlink);
//!     - `holder`: null or the record in the lock file (`pid`, `host`,
//!       `start_time`, `command`, `acquired`, `acquired_at`) plus `alive`:
//!       `"alive"` | `"dead"` | `"recycled"` | `"other-host"` | `"unknown"`;
//!     - `held_for_secs`: seconds since the holder took it (state `held` only);
//!     - `stale`: held longer than `--stale-after`;
//!     - `error`: the probe error (state `error` only);
//!   - `backups`: `{"count", "newest", "newest_time", "newest_valid"}`: names as
//!     `jsafe restore --from` takes them; `newest_valid` is the newest that
//!     parses (null when none does);
//!   - `quarantined`: number of corrupt versions kept in `.jsafe/quarantine/`;
//!   - `last_op`: null, or from the journal `{"time", "op", "result", "pid",
//!     "user", "host"}`;
//!   - `problems`: array of one-line descriptions (empty when healthy).
//! - `summary`: `{"files", "ok", "corrupt", "missing", "unreadable",
//!   "locks_held", "locks_stale", "locks_left_over", "files_with_problems",
//!   "scan_errors"}` (counts).
//! - `errors`: array of lines, one per directory that could not be read.
//! - `exit_code`: the exit code of this run.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use serde_json::{Value as Json, json};

use super::{Global, print};
use crate::cli::StatusArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{self, ParseError};
use crate::process::{self, Liveness};
use crate::scan::{self, State};
use crate::store::{self, Holder, Mode, Paths, journal, lock};
use crate::time;

/// Returns the exit code: 0 healthy, 1 problems, 5 a corrupt file.
pub fn run(_g: &Global, args: &StatusArgs) -> Result<i32> {
    let walk = scan::walk(&scan::roots(&args.paths));
    if walk.roots_scanned == 0 {
        return Err(Error::new(
            Kind::Io,
            format!(
                "nothing could be scanned ({})",
                walk.errors.first().map_or("no paths", String::as_str)
            ),
        ));
    }
    let mut errors = walk.errors.clone();
    let mut dirs = Dirs::default();
    let targets = targets(&walk, args.all_json, &mut dirs, &mut errors);
    // Errors, not notices: they change the exit code, so --quiet keeps them.
    for e in &errors {
        eprintln!("jsafe: {e}");
    }

    let mut reports: Vec<Report> = targets
        .into_iter()
        .map(|t| inspect(t, args.stale_after))
        .collect();
    judge_holders(&mut reports);
    for r in &mut reports {
        r.find_problems(args.stale_after);
    }
    reports.sort_by(|a, b| a.shown.cmp(&b.shown));

    let summary = Summary::of(&reports, errors.len());
    let code = summary.exit_code();
    let out = if args.json {
        let doc = json!({
            "files": reports.iter().map(Report::to_json).collect::<Vec<_>>(),
            "summary": summary.to_json(),
            "errors": errors,
            "exit_code": code,
        });
        let mut s = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::internal(format!("cannot render status: {e}")))?;
        s.push('\n');
        s
    } else {
        table(&reports, &summary)
    };
    print(out.as_bytes())?;
    Ok(code)
}

/// A file to report on.
struct Target {
    /// The path shown: as found under a root, or as given.
    shown: String,
    paths: Paths,
    dir: Rc<DirInfo>,
}

/// What one data directory's `.jsafe` says, read once per run.
struct DirInfo {
    state: State,
    journal: HashMap<String, Json>,
}

/// DirInfo per data directory, and the files already taken (by real location).
#[derive(Default)]
struct Dirs {
    info: HashMap<PathBuf, Rc<DirInfo>>,
    canonical: HashMap<PathBuf, PathBuf>,
    taken: HashSet<(PathBuf, OsString)>,
}

impl Dirs {
    fn info(&mut self, dir: &Path, errors: &mut Vec<String>) -> Rc<DirInfo> {
        if let Some(info) = self.info.get(dir) {
            return Rc::clone(info);
        }
        let state_dir = dir.join(store::STATE_DIR);
        let (state, errs) = scan::list_state(&state_dir);
        errors.extend(errs);
        let info = Rc::new(DirInfo {
            state,
            journal: journal::last_entries(&state_dir),
        });
        self.info.insert(dir.to_path_buf(), Rc::clone(&info));
        info
    }

    /// First time this real file is seen?
    fn take(&mut self, dir: &Path, name: &OsString) -> bool {
        let canonical = self
            .canonical
            .entry(dir.to_path_buf())
            .or_insert_with(|| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
            .clone();
        self.taken.insert((canonical, name.clone()))
    }
}

fn targets(
    walk: &scan::Walk,
    all_json: bool,
    dirs: &mut Dirs,
    errors: &mut Vec<String>,
) -> Vec<Target> {
    let mut out = Vec::new();
    // Files found in place first, so that a link to one of them is the duplicate.
    for listing in &walk.dirs {
        let mut names: Vec<OsString> = Vec::new();
        if listing.has_state {
            let info = dirs.info(&listing.dir, errors);
            names.extend(info.state.locks.iter().cloned());
            names.extend(info.state.backups.iter().cloned());
            // A journal line names a file of this directory; anything else in
            // `file_name` is not ours to follow.
            names.extend(
                info.journal
                    .keys()
                    .filter(|n| !n.is_empty() && !n.contains('/') && *n != "." && *n != "..")
                    .map(OsString::from),
            );
        }
        if all_json {
            names.extend(listing.json_files.iter().cloned());
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            continue;
        }
        let info = dirs.info(&listing.dir, errors);
        for name in names {
            if !dirs.take(&listing.dir, &name) {
                continue;
            }
            let path = listing.dir.join(&name);
            out.push(Target {
                shown: scan::shown(&path),
                paths: Paths {
                    given: path.clone(),
                    real: path,
                    dir: listing.dir.clone(),
                    name,
                },
                dir: Rc::clone(&info),
            });
        }
    }
    let links = walk.dirs.iter().flat_map(|l| {
        l.links
            .iter()
            .map(move |n| (l.dir.join(n), n.as_bytes().ends_with(b".json")))
    });
    for (link, json_named) in links {
        // Links to directories are not followed.
        if std::fs::metadata(&link).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let Ok(paths) = Paths::resolve(&link) else {
            continue;
        };
        let info = dirs.info(&paths.dir, errors);
        let managed = info.state.locks.contains(&paths.name)
            || info.state.backups.contains(&paths.name)
            || info
                .journal
                .contains_key(paths.name.to_string_lossy().as_ref());
        if (managed || (all_json && json_named)) && dirs.take(&paths.dir, &paths.name) {
            out.push(Target {
                shown: scan::shown(&link),
                paths,
                dir: info,
            });
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
        let info = dirs.info(&paths.dir, errors);
        if dirs.take(&paths.dir, &paths.name) {
            out.push(Target {
                shown: scan::shown(file),
                paths,
                dir: info,
            });
        }
    }
    out
}

enum Health {
    Ok,
    Corrupt(ParseError),
    Missing,
    Unreadable(String),
}

impl Health {
    fn word(&self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Corrupt(_) => "corrupt",
            Health::Missing => "missing",
            Health::Unreadable(_) => "unreadable",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LockState {
    None,
    Free,
    LeftOver,
    Held,
    HeldShared,
    Error,
}

impl LockState {
    fn word(self) -> &'static str {
        match self {
            LockState::None => "none",
            LockState::Free => "free",
            LockState::LeftOver => "left-over",
            LockState::Held => "held",
            LockState::HeldShared => "held-shared",
            LockState::Error => "error",
        }
    }
}

struct LockReport {
    state: LockState,
    path: PathBuf,
    holder: Option<Holder>,
    alive: Option<Liveness>,
    error: Option<String>,
    stale: bool,
}

struct Backups {
    count: usize,
    newest: Option<String>,
    newest_valid: Option<String>,
}

struct Report {
    shown: String,
    real: PathBuf,
    health: Health,
    size: Option<u64>,
    modified: Option<SystemTime>,
    lock: LockReport,
    backups: Backups,
    quarantined: usize,
    last_op: Option<Json>,
    problems: Vec<String>,
}

fn inspect(t: Target, stale_after: Duration) -> Report {
    let (health, size, modified) = match store::read_file(&t.paths.real) {
        Ok(None) => (Health::Missing, None, None),
        Ok(Some((bytes, meta))) => {
            let health = match json::parse(&bytes) {
                Ok(_) => Health::Ok,
                Err(e) => Health::Corrupt(e),
            };
            (health, Some(meta.len()), meta.modified().ok())
        }
        Err(e) => (Health::Unreadable(e.message), None, None),
    };
    let name = &t.paths.name;
    let lock = probe_lock(&t.paths.lock(), stale_after);
    let backups = if t.dir.state.backups.contains(name) {
        backups(&t.paths.backups())
    } else {
        Backups {
            count: 0,
            newest: None,
            newest_valid: None,
        }
    };
    let last_op = t.dir.journal.get(name.to_string_lossy().as_ref()).map(|e| {
        let mut op = serde_json::Map::new();
        for key in ["time", "op", "result", "pid", "user", "host"] {
            op.insert(key.to_owned(), e.get(key).cloned().unwrap_or(Json::Null));
        }
        Json::Object(op)
    });
    Report {
        shown: t.shown,
        real: t.paths.real.clone(),
        health,
        size,
        modified,
        lock,
        backups,
        quarantined: t.dir.state.quarantined.get(name).copied().unwrap_or(0),
        last_op,
        problems: Vec::new(),
    }
}

/// Take the lock exclusively without waiting and let go at once: if that fails
/// someone holds it. Never creates the lock file.
fn probe_lock(path: &Path, stale_after: Duration) -> LockReport {
    let mut r = LockReport {
        state: LockState::None,
        path: path.to_path_buf(),
        holder: None,
        alive: None,
        error: None,
        stale: false,
    };
    let file = match scan::open_lock(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return r,
        Err(e) => {
            r.state = LockState::Error;
            r.error = Some(format!("cannot probe lock file {}: {e}", path.display()));
            return r;
        }
    };
    r.holder = scan::holder_in(&file);
    r.state = match lock::try_take(&file, Mode::Exclusive) {
        Ok(true) => LockState::Free,
        Ok(false) => match lock::try_take(&file, Mode::Shared) {
            Ok(true) => LockState::HeldShared,
            _ => LockState::Held,
        },
        Err(e) => {
            r.error = Some(format!("cannot probe lock file {}: {e}", path.display()));
            LockState::Error
        }
    };
    drop(file);
    if r.state == LockState::Held {
        r.stale = r
            .holder
            .as_ref()
            .is_some_and(|h| h.held_for() > stale_after);
    }
    r
}

/// Count and newest from the names; parse newest-first until one parses.
fn backups(dir: &Path) -> Backups {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| {
                    n.strip_suffix(".json")
                        .and_then(time::parse_stamp)
                        .is_some()
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort_unstable_by(|a, b| b.cmp(a));
    let newest_valid = names
        .iter()
        .find(|n| std::fs::read(dir.join(n)).is_ok_and(|b| json::parse(&b).is_ok()))
        .cloned();
    Backups {
        count: names.len(),
        newest: names.first().cloned(),
        newest_valid,
    }
}

/// One liveness pass for every recorded holder.
fn judge_holders(reports: &mut [Report]) {
    let holders: Vec<&Holder> = reports
        .iter()
        .filter_map(|r| r.lock.holder.as_ref())
        .collect();
    let answers = process::liveness(&holders);
    let mut answers = answers.into_iter();
    for r in reports.iter_mut() {
        if r.lock.holder.is_some() {
            r.lock.alive = answers.next();
        }
        if r.lock.state == LockState::Free && r.lock.alive.is_some_and(Liveness::is_gone) {
            r.lock.state = LockState::LeftOver;
        }
    }
}

impl Report {
    fn find_problems(&mut self, stale_after: Duration) {
        match &self.health {
            Health::Ok => {}
            Health::Corrupt(e) => self.problems.push(format!(
                "not valid JSON ({e}); see `jsafe restore --list {}`",
                self.shown
            )),
            Health::Missing if self.backups.newest_valid.is_some() => self.problems.push(format!(
                "missing; `jsafe restore --latest {}` brings back the newest valid backup",
                self.shown
            )),
            Health::Missing => self.problems.push("missing".to_owned()),
            Health::Unreadable(e) => self.problems.push(e.clone()),
        }
        if self.lock.stale {
            let who = self.lock.holder.as_ref().map_or(String::new(), |h| {
                format!(" by {}{}", h.describe(), alive_note(self.lock.alive))
            });
            self.problems.push(format!(
                "lock held longer than {}{who}",
                time::human(stale_after)
            ));
        }
        if let Some(e) = &self.lock.error {
            self.problems.push(e.clone());
        }
    }

    fn to_json(&self) -> Json {
        let error = match &self.health {
            Health::Corrupt(e) => json!({
                "message": e.message, "line": e.line, "column": e.column, "offset": e.offset,
            }),
            Health::Unreadable(m) => {
                json!({"message": m, "line": null, "column": null, "offset": null})
            }
            _ => Json::Null,
        };
        let holder = self.lock.holder.as_ref().map(|h| {
            let mut v = h.to_json();
            if let Json::Object(m) = &mut v {
                m.insert(
                    "alive".to_owned(),
                    json!(self.lock.alive.unwrap_or(Liveness::Unknown).as_str()),
                );
            }
            v
        });
        let held_for = match (&self.lock.holder, self.lock.state) {
            (Some(h), LockState::Held) => json!(h.held_for().as_secs_f64()),
            _ => Json::Null,
        };
        let newest_time = self
            .backups
            .newest
            .as_deref()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(time::parse_stamp)
            .map(time::rfc3339);
        json!({
            "path": self.shown,
            "real_path": scan::shown(&self.real),
            "health": self.health.word(),
            "error": error,
            "size": self.size,
            "modified": self.modified.map(time::rfc3339),
            "lock": {
                "state": self.lock.state.word(),
                "path": scan::shown(&self.lock.path),
                "holder": holder,
                "held_for_secs": held_for,
                "stale": self.lock.stale,
                "error": self.lock.error,
            },
            "backups": {
                "count": self.backups.count,
                "newest": self.backups.newest,
                "newest_time": newest_time,
                "newest_valid": self.backups.newest_valid,
            },
            "quarantined": self.quarantined,
            "last_op": self.last_op,
            "problems": self.problems,
        })
    }

    fn health_cell(&self) -> String {
        match &self.health {
            Health::Corrupt(e) => format!("corrupt {}:{}", e.line, e.column),
            h => h.word().to_owned(),
        }
    }

    fn lock_cell(&self) -> String {
        let l = &self.lock;
        let pid = |h: &Holder| {
            if l.alive == Some(Liveness::OtherHost) {
                format!("{}@{}", h.pid, h.host)
            } else {
                h.pid.to_string()
            }
        };
        match (l.state, &l.holder) {
            (LockState::None, _) => "-".to_owned(),
            (LockState::Held, Some(h)) => format!(
                "held by {}{} {}{}",
                pid(h),
                alive_note(l.alive),
                time::human(h.held_for()),
                if l.stale { " STALE" } else { "" }
            ),
            (LockState::Held, None) => "held".to_owned(),
            (LockState::HeldShared, _) => "held (shared)".to_owned(),
            (LockState::LeftOver, Some(h)) => format!(
                "left-over ({} {})",
                pid(h),
                l.alive.unwrap_or(Liveness::Unknown).as_str()
            ),
            (state, _) => state.word().to_owned(),
        }
    }

    fn backups_cell(&self) -> String {
        let b = &self.backups;
        let mut s = b.count.to_string();
        if b.count > 0 && b.newest_valid.is_none() {
            s.push_str(" (none valid)");
        } else if b.newest_valid != b.newest {
            s.push_str(" (newest invalid)");
        }
        if self.quarantined > 0 {
            let _ = write!(s, ", {} quarantined", self.quarantined);
        }
        s
    }

    fn last_op_cell(&self) -> String {
        let Some(op) = &self.last_op else {
            return "-".to_owned();
        };
        let name = op.get("op").and_then(Json::as_str).unwrap_or("?");
        let when = op
            .get("time")
            .and_then(Json::as_str)
            .map_or(String::new(), |t| format!(" {}", whole_seconds(t)));
        match op.get("result").and_then(Json::as_str) {
            Some("ok") | None => format!("{name}{when}"),
            Some(result) => format!("{name} ({result}){when}"),
        }
    }
}

fn alive_note(alive: Option<Liveness>) -> String {
    match alive {
        Some(Liveness::Alive) => " (alive)".to_owned(),
        Some(Liveness::OtherHost) | None => String::new(),
        Some(a) => format!(" ({})", a.as_str()),
    }
}

/// "2026-11-22T01:30:46.123Z" → "2026-11-22T01:30:46Z".
fn whole_seconds(rfc3339: &str) -> String {
    match rfc3339.find('.') {
        Some(dot) if rfc3339.ends_with('Z') => format!("{}Z", &rfc3339[..dot]),
        _ => rfc3339.to_owned(),
    }
}

struct Summary {
    files: usize,
    ok: usize,
    corrupt: usize,
    missing: usize,
    unreadable: usize,
    held: usize,
    stale: usize,
    left_over: usize,
    with_problems: usize,
    scan_errors: usize,
}

impl Summary {
    fn of(reports: &[Report], scan_errors: usize) -> Summary {
        let count = |f: &dyn Fn(&Report) -> bool| reports.iter().filter(|r| f(r)).count();
        Summary {
            files: reports.len(),
            ok: count(&|r| matches!(r.health, Health::Ok)),
            corrupt: count(&|r| matches!(r.health, Health::Corrupt(_))),
            missing: count(&|r| matches!(r.health, Health::Missing)),
            unreadable: count(&|r| matches!(r.health, Health::Unreadable(_))),
            held: count(&|r| matches!(r.lock.state, LockState::Held | LockState::HeldShared)),
            stale: count(&|r| r.lock.stale),
            left_over: count(&|r| r.lock.state == LockState::LeftOver),
            with_problems: count(&|r| !r.problems.is_empty()),
            scan_errors,
        }
    }

    fn exit_code(&self) -> i32 {
        if self.corrupt > 0 {
            Kind::Corrupt.exit_code()
        } else if self.with_problems > 0 || self.scan_errors > 0 {
            1
        } else {
            0
        }
    }

    fn to_json(&self) -> Json {
        json!({
            "files": self.files,
            "ok": self.ok,
            "corrupt": self.corrupt,
            "missing": self.missing,
            "unreadable": self.unreadable,
            "locks_held": self.held,
            "locks_stale": self.stale,
            "locks_left_over": self.left_over,
            "files_with_problems": self.with_problems,
            "scan_errors": self.scan_errors,
        })
    }

    /// "5 files: 3 ok, 1 corrupt, 1 missing; 1 lock held".
    fn line(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!("{}: {} ok", plural(self.files, "file", "files"), self.ok);
        for (n, what) in [
            (self.corrupt, "corrupt"),
            (self.missing, "missing"),
            (self.unreadable, "unreadable"),
        ] {
            if n > 0 {
                let _ = write!(s, ", {n} {what}");
            }
        }
        if self.held > 0 {
            let _ = write!(s, "; {} held", plural(self.held, "lock", "locks"));
            if self.stale > 0 {
                let _ = write!(s, " ({} stale)", self.stale);
            }
        }
        if self.left_over > 0 {
            let _ = write!(
                s,
                "; {} (`jsafe cleanup-locks` removes them)",
                plural(
                    self.left_over,
                    "left-over lock file",
                    "left-over lock files"
                )
            );
        }
        if self.scan_errors > 0 {
            let _ = write!(
                s,
                "; {} (see stderr)",
                plural(
                    self.scan_errors,
                    "directory not readable",
                    "directories not readable"
                )
            );
        }
        s
    }
}

fn table(reports: &[Report], summary: &Summary) -> String {
    let mut out = String::new();
    if reports.is_empty() {
        out.push_str(
            "no managed files found (managed files have state in a .jsafe/ directory; --all-json also checks plain *.json files)\n",
        );
        if summary.scan_errors > 0 {
            out.push_str(&summary.line());
            out.push('\n');
        }
        return out;
    }
    let header = [
        "FILE", "HEALTH", "SIZE", "MODIFIED", "LOCK", "BACKUPS", "LAST OP",
    ];
    let rows: Vec<[String; 7]> = reports
        .iter()
        .map(|r| {
            [
                r.shown.clone(),
                r.health_cell(),
                r.size.map_or("-".to_owned(), |s| s.to_string()),
                r.modified
                    .map_or("-".to_owned(), |m| whole_seconds(&time::rfc3339(m))),
                r.lock_cell(),
                r.backups_cell(),
                r.last_op_cell(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: [&str; 7]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i == 2 {
                // Sizes are numbers: right-aligned.
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else {
                l.push_str(cell);
                if i + 1 < cells.len() {
                    l.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < cells.len() {
                l.push_str("  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    let problems: Vec<(&str, &String)> = reports
        .iter()
        .flat_map(|r| r.problems.iter().map(move |p| (r.shown.as_str(), p)))
        .collect();
    if !problems.is_empty() {
        out.push('\n');
        for (file, p) in problems {
            let _ = writeln!(out, "{file}: {p}");
        }
    }
    out.push('\n');
    out.push_str(&summary.line());
    out.push('\n');
    out
}
