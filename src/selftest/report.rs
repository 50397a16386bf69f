//! What the self-test reports: a check's [`Finding`], the [`Report`] that
//! prints each as it completes (lines or one JSON document), and the progress
//! line on a terminal.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::harness::{Ctx, Mount, mount_of};
use crate::cli::TestArgs;

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
    pub(crate) fn pass(detail: impl Into<String>) -> Finding {
        Finding::of(Status::Pass, detail)
    }
    pub(crate) fn fail(detail: impl Into<String>) -> Finding {
        Finding::of(Status::Fail, detail)
    }
    pub(crate) fn skip(detail: impl Into<String>) -> Finding {
        Finding::of(Status::Skip, detail)
    }
    pub(crate) fn of(status: Status, detail: impl Into<String>) -> Finding {
        Finding {
            status,
            detail: detail.into(),
            figures: serde_json::Map::new(),
        }
    }
    /// Pass when `ok`, fail otherwise, with the same detail.
    pub(crate) fn verdict(ok: bool, detail: impl Into<String>) -> Finding {
        if ok {
            Finding::pass(detail)
        } else {
            Finding::fail(detail)
        }
    }
    /// Add a measured figure.
    pub(crate) fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Finding {
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
    pub(crate) fn new(suite: &'static str, name: &'static str, finding: Finding) -> Check {
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
    pub(crate) fn new(json: bool, terminal: bool) -> Report {
        Report {
            json,
            terminal,
            checks: Vec::new(),
        }
    }

    /// Run one check, timing it; an `Err` is a failure with that text.
    pub(crate) fn check(
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

    pub(crate) fn add(&mut self, check: Check) {
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

    pub(crate) fn line(&self, text: &str) {
        if self.terminal {
            clear_progress_line();
        }
        let mut out = io::stdout().lock();
        // A closed stdout must not stop the test half-way (the work dir still
        // has to be removed); the exit code carries the verdict.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    pub(crate) fn header(&self, ctx: &Ctx, summary: &Summary, given_dir: bool) {
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

    pub(crate) fn count(&self, status: Status) -> usize {
        self.checks
            .iter()
            .filter(|c| c.finding.status == status)
            .count()
    }

    pub(crate) fn failed(&self) -> usize {
        self.count(Status::Fail)
    }

    pub(crate) fn finish(&self, summary: &Summary, started: Instant) {
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
            "version": JSON_VERSION,
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

/// Version of the `--json` document (docs/json-output.md); raised when a
/// field changes meaning.
pub(super) const JSON_VERSION: u32 = 1;

/// The run's settings, for the JSON document.
pub(crate) struct Summary {
    dir: Option<PathBuf>,
    mount: Option<Mount>,
    no_sync: bool,
    workers: usize,
    ops: usize,
    suites: Vec<&'static str>,
}

impl Summary {
    pub(crate) fn new(
        args: &TestArgs,
        suites: &[&'static str],
        dir: Option<&Path>,
        no_sync: bool,
    ) -> Summary {
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

pub(crate) fn clear_progress_line() {
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
    /// Drawn only when `enabled` (stderr is a terminal).
    pub(crate) fn new(label: &str, total: usize, enabled: bool) -> Progress {
        Progress {
            label: label.to_owned(),
            total,
            done: AtomicUsize::new(0),
            last: Mutex::new(None),
            shown: AtomicBool::new(false),
            enabled,
        }
    }

    /// One more step done.
    pub(crate) fn tick(&self) {
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

/// Latency percentile `p` (0..=1) of sorted samples, in milliseconds.
pub(crate) fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    round3(sorted[idx].as_secs_f64() * 1000.0)
}
