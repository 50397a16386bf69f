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
//! Exit code: 5 when any file is corrupt (this wins); else 6 when a PATH does
//! not exist; else 9 when any other problem was found — a missing or
//! unreadable managed file, a lock held longer than `--stale-after`, a lock
//! file that cannot be probed, a temp file left by a write that died, a
//! directory that cannot be read; else 0 (a lock held for a moment by a live
//! writer, or a free lock file left by an ordinary write, is normal). When no
//! path could be looked at at all, exit 7.
//!
//! The `--json` document (version [`JSON_VERSION`]) is specified field by field
//! in `docs/json-output.md`; `tests/integration/json_output.rs` holds it to that.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};

use super::shared::paths::{roots, scan_shown};
use super::{Global, print};
use crate::cli::StatusArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{self, ParseError};
use crate::process::{self, Holder, Liveness};
use crate::store::journal::Entry;
use crate::store::lock::{self, Probe};
use crate::store::scan::{self, Found, Listing, Managed, StateView};
use crate::store::{Dir, Format, layout, lines};
use crate::time;

/// Version of the `--json` document; raised when a field changes meaning.
pub(crate) const JSON_VERSION: u32 = 1;

/// Returns the exit code: 0 healthy, 9 problems, 5 a corrupt file, 6 a PATH
/// that does not exist.
pub(crate) fn run(g: &Global, args: &StatusArgs) -> Result<i32> {
    if args.paths.iter().any(|p| crate::store::Backend::is_etcd(p)) {
        return super::etcd::status(g, args);
    }
    let roots = roots(&args.paths);
    let mut scan = Scan {
        args,
        timeout: g.timeout,
        reports: Vec::new(),
        errors: Vec::new(),
        later: Vec::new(),
        seen: HashSet::new(),
    };
    let walked = scan::walk(&roots, args.one_file_system, &mut |found| match found {
        Found::Dir(listing) => scan.dir(listing),
        Found::File(path) => scan.later.push((path.to_path_buf(), true)),
    });
    scan.errors.extend(walked.errors.iter().cloned());
    let direct: HashSet<&PathBuf> = roots.iter().collect();
    for (path, json_named) in std::mem::take(&mut scan.later) {
        scan.file(&path, direct.contains(&path), json_named);
    }
    let Scan {
        mut reports,
        mut errors,
        ..
    } = scan;
    for m in &walked.missing_roots {
        errors.push(format!("{}: no such file or directory", m.display()));
    }
    if walked.roots_scanned == 0 && walked.missing_roots.is_empty() {
        return Err(Error::new(
            Kind::Io,
            format!(
                "nothing could be scanned ({})",
                errors.first().map_or("no paths", String::as_str)
            ),
        ));
    }
    // Errors, not notices: they change the exit code, so --quiet keeps them.
    for e in &errors {
        super::diag(e);
    }
    judge_holders(&mut reports);
    // A file that `jsafe forget` stopped tracking, and that is still gone,
    // is not reported (its kept backups, if any, are not news).
    reports.retain(|r| {
        !(matches!(r.health, Health::Missing)
            && r.last_op.as_ref().is_some_and(|e| e.op == "forget"))
    });
    for r in &mut reports {
        r.find_problems(args.stale_after, args.ignore_missing);
    }
    reports.sort_by(|a, b| a.shown.cmp(&b.shown));
    let summary = Summary::of(&reports, errors.len(), walked.missing_roots.len());
    let out = render(g, args, &reports, &summary, &errors)?;
    print(out.as_bytes())?;
    Ok(summary.exit_code())
}

/// The table, or the `--json` document.
fn render(
    g: &Global,
    args: &StatusArgs,
    reports: &[Report],
    summary: &Summary,
    errors: &[String],
) -> Result<String> {
    if !args.json {
        return Ok(table(reports, summary, g.verbose));
    }
    let doc = json!({
        "version": JSON_VERSION,
        "files": reports.iter().map(Report::to_json).collect::<Vec<_>>(),
        "summary": summary.to_json(),
        "errors": errors,
        "exit_code": summary.exit_code(),
    });
    let mut s = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::internal(format!("cannot render status: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// What a status run has found so far.
struct Scan<'a> {
    args: &'a StatusArgs,
    timeout: Duration,
    reports: Vec<Report>,
    errors: Vec<String>,
    /// Files given directly and symlinks met in directories (whether the
    /// link is named `*.json`): looked at after the walk.
    later: Vec<(PathBuf, bool)>,
    /// Files reported (directory and name): a file reached twice is reported once.
    seen: HashSet<(u64, u64, OsString)>,
}

impl Scan<'_> {
    /// Every managed file of a directory (and with `--all-json`, every
    /// `*.json` file).
    fn dir(&mut self, listing: &Listing) {
        let view = StateView::of(listing);
        self.errors.extend(view.errors.iter().cloned());
        let journal = view.journal();
        for m in scan::managed(listing, &view, Some(&journal)) {
            if !(m.has_state() || (self.args.all_json && m.json_named)) {
                continue;
            }
            if !first_time(&mut self.seen, listing.dir, &m.name) {
                continue;
            }
            let shown = scan_shown(&listing.dir.join(&m.name));
            let mut r = self.inspect(listing.dir, &view, &m.name, shown, &journal);
            r.temps = dead_temps(listing.dir, &view, &m);
            self.reports.push(r);
        }
        for link in &listing.links {
            let json_named = scan::is_json_name(link.as_bytes());
            self.later.push((listing.dir.join(link), json_named));
        }
    }

    /// A file given directly (`given`), or a symlink met in a directory:
    /// reported when it is given, managed, or a `*.json` name under
    /// `--all-json`.
    fn file(&mut self, path: &Path, given: bool, json_named: bool) {
        // Links to directories are not followed.
        if !given && std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return;
        }
        let fv = match scan::resolve(path) {
            Ok(fv) => fv,
            Err(e) => {
                if given {
                    self.errors.push(e.message().to_owned());
                }
                return;
            }
        };
        if !first_time(&mut self.seen, &fv.dir, &fv.name) {
            return;
        }
        let view = StateView::open(&fv.dir);
        let journal = view.journal();
        let mut m = scan::managed_file(&fv, &view, Some(&journal));
        if !(given || m.has_state() || (self.args.all_json && json_named)) {
            return;
        }
        self.errors.extend(view.errors.iter().cloned());
        let mut r = self.inspect(&fv.dir, &view, &fv.name, scan_shown(path), &journal);
        r.real = fv.dir.join(&fv.name);
        // A file named directly: its temp files are looked for too.
        m.temps = scan::temp_files(&fv.dir, &fv.key);
        r.temps = dead_temps(&fv.dir, &view, &m);
        self.reports.push(r);
    }

    fn inspect(
        &self,
        dir: &Dir,
        view: &StateView,
        name: &OsStr,
        shown: String,
        journal: &HashMap<String, Entry>,
    ) -> Report {
        inspect(
            dir,
            view,
            name,
            shown,
            journal,
            self.args.stale_after,
            self.timeout,
        )
    }
}

fn first_time(seen: &mut HashSet<(u64, u64, OsString)>, dir: &Dir, name: &OsStr) -> bool {
    match dir.stat() {
        Ok(st) => seen.insert((crate::store::dev(&st), st.st_ino, name.to_os_string())),
        Err(_) => true,
    }
}

/// Temp files of `m` whose lock is free: writes that did not finish.
fn dead_temps(dir: &Dir, view: &StateView, m: &Managed) -> Vec<PathBuf> {
    if m.temps.is_empty() {
        return Vec::new();
    }
    match view.probe(&m.key).state {
        lock::State::Held | lock::State::HeldShared => Vec::new(),
        _ => m.temps.iter().map(|t| dir.join(t)).collect(),
    }
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
    /// Pids holding it per /proc/locks (held only).
    pids: Vec<u32>,
    alive: Option<Liveness>,
    error: Option<String>,
    stale: bool,
}

struct Backups {
    count: usize,
    newest: Option<String>,
    newest_time: Option<SystemTime>,
    newest_valid: Option<String>,
    untrusted: Vec<String>,
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
    last_op: Option<Entry>,
    temps: Vec<PathBuf>,
    problems: Vec<String>,
    schema: SchemaReport,
    /// Read as JSON Lines.
    lines: bool,
}

fn inspect(
    dir: &Dir,
    view: &StateView,
    name: &OsStr,
    shown: String,
    journal: &HashMap<String, Entry>,
    stale_after: Duration,
    timeout: Duration,
) -> Report {
    let format = Format::of(Path::new(name));
    let key = layout::key(name);
    let (health, stat, schema) = health(dir, view, name, &key, format, timeout);
    let lock = lock_report(view.probe(&key), stale_after);
    let backups = backups_report(view.backups(dir, &key, stat.as_ref()));
    let modified = stat.as_ref().and_then(|st| {
        let secs = u64::try_from(st.st_mtime).ok()?;
        UNIX_EPOCH.checked_add(Duration::new(
            secs,
            u32::try_from(st.st_mtime_nsec).unwrap_or(0),
        ))
    });
    Report {
        shown,
        real: dir.join(name),
        health,
        size: stat
            .as_ref()
            .map(|st| u64::try_from(st.st_size).unwrap_or(0)),
        modified,
        lock,
        backups,
        quarantined: view.quarantined.get(&key).copied().unwrap_or(0),
        last_op: journal.get(name.to_string_lossy().as_ref()).cloned(),
        temps: Vec::new(),
        problems: Vec::new(),
        schema,
        lines: format == Format::Lines,
    }
}

/// The health of `name` (its key `key`), its `fstat` when it could be
/// read, and what its attached schema says of it.
fn health(
    dir: &Dir,
    view: &StateView,
    name: &OsStr,
    key: &OsStr,
    format: Format,
    timeout: Duration,
) -> (Health, Option<rustix::fs::Stat>, SchemaReport) {
    let mut schema = SchemaReport::None;
    let (mut health, stat) = match scan::read_data(dir, name) {
        Ok(None) => (Health::Missing, None),
        Ok(Some((st, bytes))) => {
            let checked = match format {
                Format::Document => json::validate(&bytes),
                Format::Lines => lines::validate(&bytes),
            };
            let health = match checked {
                Ok(()) => {
                    schema = check_schema(view, key, &bytes, format);
                    Health::Ok
                }
                Err(e) => Health::Corrupt(e),
            };
            (health, Some(st))
        }
        Err(e) => (
            Health::Unreadable(format!("cannot read {}: {e}", dir.join(name).display())),
            None,
        ),
    };
    // A log read while an append is writing its line ends in part of that
    // line: before calling it torn, read it again under a shared lock (as
    // `read` does), which waits for the append. Creates nothing; when the
    // lock is not granted in time, what was read is reported.
    if let Health::Corrupt(e) = &health
        && format == Format::Lines
        && e.message.contains("torn last line")
    {
        let no_wait = |_: &str| {};
        if let Ok(Some(again)) = crate::store::reload_if_locked(&dir.join(name), timeout, &no_wait)
        {
            health = match again.reclassify(format) {
                crate::store::Current::Valid(d) => {
                    schema = check_schema(view, key, d.bytes(), format);
                    Health::Ok
                }
                crate::store::Current::Corrupt { error, .. } => Health::Corrupt(error),
                crate::store::Current::Missing => Health::Missing,
            };
        }
    }
    (health, stat, schema)
}

/// The backups of a file as `restore` reads them, or why they could not be read.
fn backups_report(read: Result<crate::store::Backups>) -> Backups {
    match read {
        Ok(b) => {
            let trusted: Vec<&crate::store::Backup> =
                b.list.iter().filter(|x| x.untrusted.is_none()).collect();
            let newest = trusted.last();
            Backups {
                count: trusted.len(),
                newest: newest.map(|x| x.name.clone()),
                newest_time: newest.map(|x| x.time),
                newest_valid: b.newest_valid().map(|(x, _)| x.name.clone()),
                untrusted: b
                    .list
                    .iter()
                    .filter_map(|x| x.untrusted.as_ref().map(|why| format!("{}: {why}", x.name)))
                    .collect(),
            }
        }
        Err(e) => Backups {
            count: 0,
            newest: None,
            newest_time: None,
            newest_valid: None,
            untrusted: vec![e.message().to_owned()],
        },
    }
}

/// What the attached schema says of a file's current content.
enum SchemaReport {
    /// No schema attached (or the content was not valid JSON to check).
    None,
    /// Attached, and the content matches.
    Valid,
    /// Attached, and the content does not match (why).
    Invalid(String),
    /// Attached, but it cannot be read or used (why).
    Unusable(String),
}

fn check_schema(view: &StateView, key: &OsStr, bytes: &[u8], format: Format) -> SchemaReport {
    match view.schema(key) {
        None => SchemaReport::None,
        Some(Err(why)) => SchemaReport::Unusable(why),
        Some(Ok(schema)) => match crate::store::Schema::compile(&schema) {
            Err(why) => SchemaReport::Unusable(why),
            Ok(s) => match s.check(bytes, format) {
                Ok(()) => SchemaReport::Valid,
                Err(why) => SchemaReport::Invalid(why),
            },
        },
    }
}

fn lock_report(p: Probe, stale_after: Duration) -> LockReport {
    let (state, error) = match p.state {
        lock::State::None => (LockState::None, None),
        lock::State::Free => (LockState::Free, None),
        lock::State::Held => (LockState::Held, None),
        lock::State::HeldShared => (LockState::HeldShared, None),
        lock::State::Error(e) => (LockState::Error, Some(e)),
    };
    // The record names the holder only when it is confirmed to hold the lock
    // now (see `lock::record_holds`): an earlier holder's record never does.
    let holder = match (&state, p.holder) {
        (LockState::Held, Some(h)) if p.holder_holds => Some(h),
        (LockState::Held, _) => None,
        (_, h) => h,
    };
    let stale =
        state == LockState::Held && holder.as_ref().is_some_and(|h| h.held_for() > stale_after);
    LockReport {
        state,
        path: p.path,
        holder,
        pids: p.pids,
        alive: None,
        error,
        stale,
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
    fn find_problems(&mut self, stale_after: Duration, ignore_missing: bool) {
        match &self.health {
            Health::Missing if ignore_missing => {}
            Health::Ok => {}
            Health::Corrupt(e) if self.lines && e.message.contains("torn last line") => {
                self.problems.push(format!(
                    "{e}; `jsafe read --recover {}` (or the next append to it) moves it to quarantine",
                    self.shown
                ));
            }
            Health::Corrupt(e) => self.problems.push(format!(
                "not valid JSON ({e}); see `jsafe restore --list {}`",
                self.shown
            )),
            Health::Missing if self.backups.newest_valid.is_some() => self.problems.push(format!(
                "missing; `jsafe restore --latest {0}` brings back the newest valid backup, `jsafe forget {0}` stops tracking it",
                self.shown
            )),
            Health::Missing => self.problems.push(format!(
                "missing; `jsafe forget {}` stops tracking it",
                self.shown
            )),
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
        match &self.schema {
            SchemaReport::Invalid(why) => self.problems.push(format!(
                "does not match its schema {why} (changed outside jsafe? every jsafe change of it is refused until it matches)"
            )),
            SchemaReport::Unusable(why) => self
                .problems
                .push(format!("its attached schema cannot be used: {why}")),
            SchemaReport::None | SchemaReport::Valid => {}
        }
        for t in &self.temps {
            self.problems.push(format!(
                "a write did not finish: its temp file {} is left (the next write or `jsafe cleanup-locks` removes it)",
                scan_shown(t)
            ));
        }
        for u in &self.backups.untrusted {
            self.problems
                .push(format!("backup not written by jsafe, never restored: {u}"));
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
            let mut v = serde_json::to_value(h).unwrap_or(Json::Null);
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
        let newest_time = self.backups.newest_time.map(time::rfc3339);
        let last_op = self.last_op.as_ref().map(|e| {
            json!({
                "time": e.time, "op": e.op, "result": e.result,
                "pid": e.pid, "user": e.user, "host": e.host,
            })
        });
        json!({
            "path": self.shown,
            "real_path": scan_shown(&self.real),
            "health": self.health.word(),
            "error": error,
            "size": self.size,
            "modified": self.modified.map(time::rfc3339),
            "lock": {
                "state": self.lock.state.word(),
                "path": scan_shown(&self.lock.path),
                "holder": holder,
                "pids": self.lock.pids,
                "held_for_secs": held_for,
                "stale": self.lock.stale,
                "error": self.lock.error,
            },
            "backups": {
                "count": self.backups.count,
                "newest": self.backups.newest,
                "newest_time": newest_time,
                "newest_valid": self.backups.newest_valid,
                "untrusted": self.backups.untrusted,
            },
            "quarantined": self.quarantined,
            "format": if self.lines { "json-lines" } else { "json" },
            "schema": match &self.schema {
                SchemaReport::None => Json::Null,
                SchemaReport::Valid => json!({"valid": true, "error": null}),
                SchemaReport::Invalid(why) => json!({"valid": false, "error": why}),
                SchemaReport::Unusable(why) => json!({"valid": null, "error": why}),
            },
            "temp_files": self.temps.iter().map(|t| scan_shown(t)).collect::<Vec<_>>(),
            "last_op": last_op,
            "problems": self.problems,
        })
    }

    fn health_cell(&self) -> String {
        match &self.health {
            Health::Corrupt(e) => format!("corrupt {}:{}", e.line, e.column),
            h => h.word().to_owned(),
        }
    }

    fn lock_cell(&self, verbose: bool) -> String {
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
                "held by {}{} {}{}{}",
                pid(h),
                alive_note(l.alive),
                time::human(h.held_for()),
                if l.stale { " STALE" } else { "" },
                // `jsafe lock` runs a command while it holds the lock: name it.
                h.child_pid.map_or(String::new(), |c| format!(
                    ": {}, running pid {c}",
                    h.command
                ))
            ),
            (LockState::Held, None) if !l.pids.is_empty() => format!(
                "held by pid {} (not a jsafe writer)",
                l.pids
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            (LockState::Held, None) => "held".to_owned(),
            // Ordinary use leaves these; they are news only to the curious.
            (LockState::LeftOver | LockState::Free, _) if !verbose => "-".to_owned(),
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
        let name = if op.op.is_empty() {
            "?"
        } else {
            op.op.as_str()
        };
        let when = if op.time.is_empty() {
            String::new()
        } else {
            format!(" {}", whole_seconds(&op.time))
        };
        match op.result.as_str() {
            "ok" | "" => format!("{name}{when}"),
            result => format!("{name} ({result}){when}"),
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
    schema_mismatches: usize,
    scan_errors: usize,
    missing_roots: usize,
}

impl Summary {
    fn of(reports: &[Report], scan_errors: usize, missing_roots: usize) -> Summary {
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
            schema_mismatches: count(&|r| {
                matches!(
                    r.schema,
                    SchemaReport::Invalid(_) | SchemaReport::Unusable(_)
                )
            }),
            scan_errors,
            missing_roots,
        }
    }

    fn exit_code(&self) -> i32 {
        if self.corrupt > 0 {
            Kind::Corrupt.exit_code()
        } else if self.missing_roots > 0 {
            Kind::NotFound.exit_code()
        } else if self.with_problems > 0 || self.scan_errors > 0 {
            Kind::Problems.exit_code()
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
    fn line(&self, verbose: bool) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!("{}: {} ok", plural(self.files, "file", "files"), self.ok);
        for (n, what) in [
            (self.corrupt, "corrupt"),
            (self.missing, "missing"),
            (self.unreadable, "unreadable"),
            (self.schema_mismatches, "not matching its schema"),
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
        if self.left_over > 0 && verbose {
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
                // A path given that is missing, or a directory that cannot
                // be read: stderr says which.
                plural(self.scan_errors, "path not scanned", "paths not scanned")
            );
        }
        s
    }
}

fn table(reports: &[Report], summary: &Summary, verbose: bool) -> String {
    let mut out = String::new();
    if reports.is_empty() {
        out.push_str(
            "no managed files found (managed files have state in a .jsafe/ directory; --all-json also checks plain *.json files)\n",
        );
        if summary.scan_errors > 0 {
            out.push_str(&summary.line(verbose));
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
                r.lock_cell(verbose),
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
    out.push_str(&summary.line(verbose));
    out.push('\n');
    out
}
