//! `jsafe test [SUITE...]`: a self-test an operator runs on a machine or on the
//! filesystem where the data lives (`--dir`), to learn whether locking, atomic
//! replace and recovery really work there.
//!
//! It drives this very binary (`std::env::current_exe()`) as worker processes,
//! the way scripts do, and then inspects the files it left. It is a black-box
//! check: it never changes a managed file itself, except where a suite plays an
//! outside program that corrupts one on purpose. Workers get a clean
//! environment (no `JSAFE_*` variables) and inherit only `--no-sync`, so the
//! figures are those of durable writes unless the operator asked otherwise.
//!
//! Everything happens in a fresh directory: a new temp dir, or
//! `DIR/.jsafe-selftest-<pid>/` with `--dir DIR`, removed at the end whatever the
//! outcome.
//!
//! Suites (default: all, in this order): `basic`, `concurrent`, `crash`,
//! `cleanup`, `rollback`, `performance`. An unknown suite name is a usage error
//! (exit 2). The exit code is 1 when any check failed, else 0. A skipped check
//! (a mechanism this machine lacks) does not fail the run; its line says why.
//!
//! Human output: one line per check, `PASS|FAIL|SKIP <suite> <check> <detail>
//! (<seconds> s)`, then a summary line. While it runs, and only when stderr is a
//! terminal, a progress line (`[concurrent] 812/1600`) is redrawn on stderr at
//! most ten times a second and cleared at the end.
//!
//! `--json` prints one document instead:
//! - `dir`: where the test ran (removed afterwards);
//! - `filesystem`, `mount_point`, `mount_source`: the mount holding `dir`, from
//!   `/proc/self/mounts` (null when unknown);
//! - `durable`: false when `--no-sync` was given (workers inherit it);
//! - `workers`, `ops`: the `--workers` and `--ops` values;
//! - `suites`: the suites run, in order;
//! - `passed`: true when no check failed;
//! - `counts`: `{"pass", "fail", "skip"}`: number of checks of each outcome;
//! - `seconds`: total run time;
//! - `checks`: one object per check, in order: `suite`, `check` (a short stable
//!   id), `pass` (false only for a failed check), `skipped` (true when the check
//!   could not run here; then `pass` is true and `detail` says why), `detail`
//!   (the human line's text), `seconds`, and `figures` (an object of numbers
//!   the check measured, e.g. `n`, `expected`, `per_second`, `p50_ms`, `p99_ms`).

mod basic;
mod cleanup;
mod concurrent;
mod crash;
mod performance;
mod rollback;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::cli::TestArgs;
use crate::commands::Global;
use crate::error::{Error, Kind, Result};
use crate::store::layout::TEMP_PREFIX;

mod suites;
pub use suites::SUITES;

/// Arguments for a worker, as `OsStr`s: `args!["write", path, json]`.
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(::std::ffi::OsStr::new(&$a)),*][..] };
}
pub(crate) use args;

/// Returns the exit code: 0 when every check passed (or was skipped), 1 otherwise.
pub fn run(g: &Global, args: &TestArgs) -> Result<i32> {
    let suites = select(&args.suites)?;
    if args.workers == 0 || args.ops == 0 {
        return Err(Error::new(
            Kind::Usage,
            "--workers and --ops must be at least 1",
        ));
    }
    let exe = std::env::current_exe().map_err(|e| {
        Error::internal(format!(
            "cannot find this program's own path to start workers: {e}"
        ))
    })?;
    if let Some(dir) = &args.dir
        && !dir.is_dir()
    {
        return Err(Error::new(
            Kind::NotFound,
            format!(
                "{}: no such directory (give --dir an existing directory on the filesystem to test)",
                dir.display()
            ),
        ));
    }

    let terminal = io::stderr().is_terminal();
    let mut report = Report::new(args.json, terminal);
    let started = Instant::now();
    let work = match WorkDir::create(args.dir.as_deref()) {
        Ok(work) => work,
        Err(why) => {
            // The filesystem refused the very first write: that is the finding.
            report.add(Check::new("setup", "work-dir", Finding::fail(why)));
            report.finish(
                &Summary::new(args, &suites, args.dir.as_deref(), !g.sync),
                started,
            );
            return Ok(1);
        }
    };
    let ctx = Ctx {
        exe,
        root: work.path.clone(),
        sync: g.sync,
        workers: args.workers,
        ops: args.ops,
        terminal,
    };
    // Looked up now: the mount table needs the directory to exist.
    let summary = Summary::new(args, &suites, Some(&ctx.root), !g.sync);
    report.header(&ctx, &summary, args.dir.is_some());
    for suite in &suites {
        match *suite {
            "basic" => basic::run(&ctx, &mut report),
            "concurrent" => concurrent::run(&ctx, &mut report),
            "crash" => crash::run(&ctx, &mut report),
            "cleanup" => cleanup::run(&ctx, &mut report),
            "rollback" => rollback::run(&ctx, &mut report),
            _ => performance::run(&ctx, &mut report),
        }
    }
    let removed = work.remove();
    report.finish(&summary, started);
    if let Err(why) = removed {
        g.notice(&why);
    }
    Ok(if report.failed() == 0 { 0 } else { 1 })
}

/// The suites named on the command line (all when none), each once, in order.
fn select(names: &[String]) -> Result<Vec<&'static str>> {
    if names.is_empty() {
        return Ok(SUITES.to_vec());
    }
    let mut out: Vec<&'static str> = Vec::new();
    for name in names {
        let Some(suite) = SUITES.iter().find(|s| **s == name.as_str()) else {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "unknown test suite '{name}'; the suites are: {}",
                    SUITES.join(", ")
                ),
            ));
        };
        if !out.contains(suite) {
            out.push(suite);
        }
    }
    Ok(out)
}

/// What every suite needs: the binary, its own directory, the flags.
pub(crate) struct Ctx {
    pub exe: PathBuf,
    pub root: PathBuf,
    /// Durable writes (no --no-sync given).
    pub sync: bool,
    pub workers: usize,
    pub ops: usize,
    terminal: bool,
}

impl Ctx {
    /// A fresh directory for one suite inside the work dir.
    pub fn suite_dir(&self, suite: &str) -> std::result::Result<PathBuf, String> {
        let dir = self.root.join(suite);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// "durable writes" or "--no-sync writes", for details.
    pub fn durability(&self) -> &'static str {
        if self.sync {
            "durable writes"
        } else {
            "--no-sync writes"
        }
    }

    /// A worker command: this binary with a clean environment and the inherited
    /// global flags, followed by `args`.
    pub fn command(&self, args: &[&OsStr]) -> Command {
        let mut cmd = Command::new(&self.exe);
        self.prepare(&mut cmd);
        cmd.args(self.inherited()).args(args);
        cmd
    }

    /// A worker started through `wrapper` (`sh -c …`, `setpriv …`): the wrapper's
    /// arguments, then this binary and its arguments.
    pub fn command_via(&self, wrapper: &[&OsStr], args: &[&OsStr]) -> Command {
        let (program, rest) = match wrapper.split_first() {
            Some((p, r)) => (*p, r),
            None => (self.exe.as_os_str(), &[][..]),
        };
        let mut cmd = Command::new(program);
        self.prepare(&mut cmd);
        cmd.args(rest)
            .arg(&self.exe)
            .args(self.inherited())
            .args(args);
        cmd
    }

    fn prepare(&self, cmd: &mut Command) {
        // The operator's JSAFE_* settings must not change what is measured; only
        // --no-sync is passed on, explicitly.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("JSAFE_") {
                cmd.env_remove(key);
            }
        }
        cmd.stdin(Stdio::null());
    }

    fn inherited(&self) -> Vec<OsString> {
        if self.sync {
            Vec::new()
        } else {
            vec![OsString::from("--no-sync")]
        }
    }

    /// Run a worker to completion.
    pub fn run(&self, args: &[&OsStr]) -> std::result::Result<Ran, String> {
        Ran::of(self.command(args), None)
    }

    /// Run a worker with `input` on its stdin.
    pub fn run_with_input(
        &self,
        args: &[&OsStr],
        input: &[u8],
    ) -> std::result::Result<Ran, String> {
        Ran::of(self.command(args), Some(input))
    }

    /// A progress line for a stage of `total` steps (0: unknown).
    pub fn progress(&self, label: &str, total: usize) -> Progress {
        Progress {
            label: label.to_owned(),
            total,
            done: AtomicUsize::new(0),
            last: Mutex::new(None),
            shown: AtomicBool::new(false),
            enabled: self.terminal,
        }
    }
}

/// A finished worker.
#[derive(Debug)]
pub(crate) struct Ran {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Ran {
    /// Run `cmd`, feeding `input` on stdin if given, and collect its output.
    pub fn of(mut cmd: Command, input: Option<&[u8]>) -> std::result::Result<Ran, String> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            // A child that fails early stops reading; its exit status tells why.
            let _ = stdin.write_all(bytes);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("cannot wait for {program}: {e}"))?;
        Ok(Ran {
            status: out.status,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn ok(&self) -> bool {
        self.status.success()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// "exit 3: jsafe: …" or "killed by signal 9", for a detail line.
    pub fn why(&self) -> String {
        let status = describe_status(self.status);
        match self.stderr.lines().find(|l| !l.trim().is_empty()) {
            Some(line) => format!("{status}: {}", line.trim()),
            None => status,
        }
    }

    /// Ok if the worker succeeded, else an error naming what it did.
    pub fn require_ok(self, what: &str) -> std::result::Result<Ran, String> {
        if self.ok() {
            Ok(self)
        } else {
            Err(format!("{what} failed ({})", self.why()))
        }
    }
}

/// "exit 3" or "killed by signal 9".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended without a status".to_owned(),
    }
}

/// A check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Pass,
    Fail,
    Skip,
}

/// What a check found: an outcome, one line of detail, and its figures.
#[derive(Debug)]
pub(crate) struct Finding {
    pub status: Status,
    pub detail: String,
    pub figures: serde_json::Map<String, serde_json::Value>,
}

impl Finding {
    pub fn pass(detail: impl Into<String>) -> Finding {
        Finding::of(Status::Pass, detail)
    }
    pub fn fail(detail: impl Into<String>) -> Finding {
        Finding::of(Status::Fail, detail)
    }
    pub fn skip(detail: impl Into<String>) -> Finding {
        Finding::of(Status::Skip, detail)
    }
    fn of(status: Status, detail: impl Into<String>) -> Finding {
        Finding {
            status,
            detail: detail.into(),
            figures: serde_json::Map::new(),
        }
    }
    /// Pass when `ok`, fail otherwise, with the same detail.
    pub fn verdict(ok: bool, detail: impl Into<String>) -> Finding {
        if ok {
            Finding::pass(detail)
        } else {
            Finding::fail(detail)
        }
    }
    /// Add a measured figure.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Finding {
        self.figures.insert(key.to_owned(), value.into());
        self
    }
}

/// One line of the report.
#[derive(Debug)]
pub(crate) struct Check {
    pub suite: &'static str,
    pub name: &'static str,
    pub finding: Finding,
    pub seconds: f64,
}

impl Check {
    fn new(suite: &'static str, name: &'static str, finding: Finding) -> Check {
        Check {
            suite,
            name,
            finding,
            seconds: 0.0,
        }
    }
}

/// Collects checks and prints each as it completes.
pub(crate) struct Report {
    json: bool,
    terminal: bool,
    checks: Vec<Check>,
}

impl Report {
    fn new(json: bool, terminal: bool) -> Report {
        Report {
            json,
            terminal,
            checks: Vec::new(),
        }
    }

    /// Run one check, timing it; an `Err` is a failure with that text.
    pub fn check(
        &mut self,
        suite: &'static str,
        name: &'static str,
        f: impl FnOnce() -> std::result::Result<Finding, String>,
    ) {
        let started = Instant::now();
        let finding = f().unwrap_or_else(Finding::fail);
        let mut check = Check::new(suite, name, finding);
        check.seconds = started.elapsed().as_secs_f64();
        self.add(check);
    }

    fn add(&mut self, check: Check) {
        if !self.json {
            let status = match check.finding.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            self.line(&format!(
                "{status} {:<11} {:<13} {}  ({:.1} s)",
                check.suite, check.name, check.finding.detail, check.seconds
            ));
        }
        self.checks.push(check);
    }

    fn line(&self, text: &str) {
        if self.terminal {
            clear_progress_line();
        }
        let mut out = io::stdout().lock();
        // A closed stdout must not stop the test half-way (the work dir still
        // has to be removed); the exit code carries the verdict.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn header(&self, ctx: &Ctx, summary: &Summary, given_dir: bool) {
        if self.json {
            return;
        }
        let place = match &summary.mount {
            Some(m) => format!("{} on {} ({})", m.fs_type, m.mount_point, m.source),
            None => "filesystem unknown".to_owned(),
        };
        let which = if given_dir { "--dir" } else { "temp dir" };
        self.line(&format!(
            "jsafe self-test in {} ({which}; {place}); {}, {} workers, {} ops",
            ctx.root.display(),
            ctx.durability(),
            ctx.workers,
            ctx.ops
        ));
    }

    fn count(&self, status: Status) -> usize {
        self.checks
            .iter()
            .filter(|c| c.finding.status == status)
            .count()
    }

    fn failed(&self) -> usize {
        self.count(Status::Fail)
    }

    fn finish(&self, summary: &Summary, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let (pass, fail, skip) = (
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip),
        );
        if !self.json {
            let verdict = if fail == 0 { "all good" } else { "FAILED" };
            self.line(&format!(
                "{} checks: {pass} passed, {fail} failed, {skip} skipped in {seconds:.1} s: {verdict}",
                self.checks.len()
            ));
            return;
        }
        let checks: Vec<serde_json::Value> = self
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "suite": c.suite,
                    "check": c.name,
                    "pass": c.finding.status != Status::Fail,
                    "skipped": c.finding.status == Status::Skip,
                    "detail": c.finding.detail,
                    "seconds": round3(c.seconds),
                    "figures": c.finding.figures,
                })
            })
            .collect();
        let mount = summary.mount.as_ref();
        let doc = serde_json::json!({
            "dir": summary.dir.as_ref().map(|d| d.display().to_string()),
            "filesystem": mount.map(|m| m.fs_type.clone()),
            "mount_point": mount.map(|m| m.mount_point.clone()),
            "mount_source": mount.map(|m| m.source.clone()),
            "durable": !summary.no_sync,
            "workers": summary.workers,
            "ops": summary.ops,
            "suites": summary.suites,
            "passed": fail == 0,
            "counts": {"pass": pass, "fail": fail, "skip": skip},
            "seconds": round3(seconds),
            "checks": checks,
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
        self.line(&text);
    }
}

/// The run's settings, for the JSON document.
struct Summary {
    dir: Option<PathBuf>,
    mount: Option<Mount>,
    no_sync: bool,
    workers: usize,
    ops: usize,
    suites: Vec<&'static str>,
}

impl Summary {
    fn new(args: &TestArgs, suites: &[&'static str], dir: Option<&Path>, no_sync: bool) -> Summary {
        Summary {
            dir: dir.map(Path::to_path_buf),
            mount: dir.and_then(mount_of),
            no_sync,
            workers: args.workers,
            ops: args.ops,
            suites: suites.to_vec(),
        }
    }
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn clear_progress_line() {
    let mut err = io::stderr().lock();
    let _ = write!(err, "\r\x1b[K");
    let _ = err.flush();
}

/// `\r[label] done/total` on a terminal's stderr, at most ten times a second;
/// nothing at all when stderr is not a terminal. Cleared when dropped.
pub(crate) struct Progress {
    label: String,
    total: usize,
    done: AtomicUsize,
    last: Mutex<Option<Instant>>,
    shown: AtomicBool,
    enabled: bool,
}

impl Progress {
    /// One more step done.
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.enabled {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        *last = Some(Instant::now());
        let text = if self.total > 0 {
            format!("\r[{}] {done}/{}", self.label, self.total)
        } else {
            format!("\r[{}] {done}", self.label)
        };
        let mut err = io::stderr().lock();
        let _ = write!(err, "{text}\x1b[K");
        let _ = err.flush();
        self.shown.store(true, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.enabled && self.shown.load(Ordering::Relaxed) {
            clear_progress_line();
        }
    }
}

/// The directory the test works in; removed when done.
struct WorkDir {
    path: PathBuf,
    temp: Option<tempfile::TempDir>,
    removed: bool,
}

impl WorkDir {
    fn create(under: Option<&Path>) -> std::result::Result<WorkDir, String> {
        let Some(dir) = under else {
            let temp =
                tempfile::tempdir().map_err(|e| format!("cannot create a temp directory: {e}"))?;
            return Ok(WorkDir {
                path: temp.path().to_path_buf(),
                temp: Some(temp),
                removed: false,
            });
        };
        let path = dir.join(format!(".jsafe-selftest-{}", std::process::id()));
        // The name is ours: one left over can only be from an earlier self-test
        // that was killed with the same pid.
        if fs::symlink_metadata(&path).is_ok() {
            remove_tree(&path)
                .map_err(|e| format!("cannot remove the leftover {}: {e}", path.display()))?;
        }
        fs::create_dir(&path)
            .map_err(|e| Error::io("cannot create the test directory", &path, e).to_string())?;
        Ok(WorkDir {
            path,
            temp: None,
            removed: false,
        })
    }

    /// Remove the directory and everything the suites left in it.
    fn remove(mut self) -> std::result::Result<(), String> {
        self.removed = true;
        let result = remove_tree(&self.path);
        if let Some(temp) = self.temp.take() {
            // Already gone; this only stops TempDir from trying again.
            let _ = temp.close();
        }
        result.map_err(|e| {
            format!(
                "could not remove the test directory {}: {e}; remove it by hand",
                self.path.display()
            )
        })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.removed {
            let _ = remove_tree(&self.path);
        }
    }
}

/// `rm -rf`, first giving back write permission on directories a suite made
/// read-only and did not restore.
fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    make_writable(path);
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn make_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            make_writable(&entry.path());
        }
    }
}

/// The mount holding a path.
pub(crate) struct Mount {
    pub source: String,
    pub mount_point: String,
    pub fs_type: String,
}

/// The mount holding `path`: the longest mount point that contains it.
pub(crate) fn mount_of(path: &Path) -> Option<Mount> {
    let real = fs::canonicalize(path).ok()?;
    let table = fs::read_to_string("/proc/self/mounts").ok()?;
    let mut best: Option<Mount> = None;
    for line in table.lines() {
        let mut fields = line.split(' ');
        let (Some(source), Some(point), Some(fs_type)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let point = unescape_mount_field(point);
        if !real.starts_with(&point) {
            continue;
        }
        // Later lines mount over earlier ones at the same point.
        if best
            .as_ref()
            .is_none_or(|b| point.len() >= b.mount_point.len())
        {
            best = Some(Mount {
                source: unescape_mount_field(source),
                mount_point: point,
                fs_type: fs_type.to_owned(),
            });
        }
    }
    best
}

/// The kernel writes space, tab, newline and backslash in mount fields as octal
/// escapes (`\040`).
fn unescape_mount_field(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `.jsafe-tmp.*` files in `dir` (temp files of writes that did not finish).
pub(crate) fn temp_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect();
    names.sort();
    names
}

/// Read a whole file, as a check's error text on failure.
pub(crate) fn read_bytes(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(buf)
}

/// Parse a worker's output or a file as JSON for checking.
pub(crate) fn parse_json(
    bytes: &[u8],
    what: &str,
) -> std::result::Result<serde_json::Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

/// Where a program is on PATH.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// A small xorshift generator: random moments and payloads without a crate.
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from the clock and the pid, so runs differ.
    pub fn from_clock() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng::seeded(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// Deterministic from `seed`.
    pub fn seeded(seed: u64) -> Rng {
        // xorshift never leaves 0; mixing in a constant keeps any seed usable.
        let s = seed ^ 0x9E37_79B9_7F4A_7C15;
        Rng(if s == 0 { 1 } else { s })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform enough in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// Latency percentile `p` (0..=1) of sorted samples, in milliseconds.
pub(crate) fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    round3(sorted[idx].as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_are_selected_once_in_the_given_order() {
        let names = vec!["crash".to_owned(), "basic".to_owned(), "crash".to_owned()];
        assert_eq!(select(&names).unwrap(), vec!["crash", "basic"]);
        assert_eq!(select(&[]).unwrap(), SUITES.to_vec());
        let err = select(&["nope".to_owned()]).unwrap_err();
        assert_eq!(err.kind(), Kind::Usage);
        assert!(
            err.message().contains("basic, concurrent"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn mount_fields_are_unescaped() {
        assert_eq!(unescape_mount_field(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_mount_field(r"/a\\b"), r"/a\\b");
        assert_eq!(unescape_mount_field(r"/x\134y"), r"/x\y");
    }

    #[test]
    fn percentiles_pick_the_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&ms, 0.5), 50.0);
        assert_eq!(percentile_ms(&ms, 0.99), 99.0);
        assert_eq!(percentile_ms(&ms[..1], 0.99), 1.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn the_generator_is_deterministic_per_seed_and_moves() {
        let (mut a, mut b) = (Rng::seeded(7), Rng::seeded(7));
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
        assert!(Rng::seeded(0x9E37_79B9_7F4A_7C15).next_u64() != 0);
        assert!(a.below(10) < 10);
    }
}
