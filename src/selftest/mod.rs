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
//! (exit 2). The exit code is 9 (problems found) when any check failed, else 0. A skipped check
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
mod harness;
mod performance;
mod report;
mod rng;
mod rollback;
mod suites;

use std::io::{self, IsTerminal};
use std::time::Instant;

use crate::cli::TestArgs;
use crate::commands::Global;
use crate::error::{Error, Kind, Result};

pub(crate) use harness::describe_status;
pub(crate) use harness::{Ctx, Ran, WorkDir, find_program, parse_json, read_bytes, temp_files};
pub(crate) use report::{Check, Finding, Progress, Report, Status, Summary, percentile_ms, round3};
pub(crate) use rng::Rng;
pub(crate) use suites::SUITES;

/// A suite: its name (as on the command line) and what runs it.
type Suite = (&'static str, fn(&Ctx, &mut Report));

/// The one table of suites, in the order a default run takes them; the names
/// are `SUITES` (checked by a unit test).
const TABLE: &[Suite] = &[
    ("basic", basic::run),
    ("concurrent", concurrent::run),
    ("crash", crash::run),
    ("cleanup", cleanup::run),
    ("rollback", rollback::run),
    ("performance", performance::run),
];

/// Arguments for a worker, as `OsStr`s: `args!["write", path, json]`.
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(::std::ffi::OsStr::new(&$a)),*][..] };
}
pub(crate) use args;

/// Returns the exit code: 0 when every check passed (or was skipped), 9
/// (problems found) otherwise.
pub(crate) fn run(g: &Global, args: &TestArgs) -> Result<i32> {
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
            return Ok(Kind::Problems.exit_code());
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
        if let Some((_, run)) = TABLE.iter().find(|(name, _)| name == suite) {
            run(&ctx, &mut report);
        }
    }
    let removed = work.remove();
    report.finish(&summary, started);
    if let Err(why) = removed {
        g.notice(&why);
    }
    Ok(if report.failed() == 0 {
        0
    } else {
        Kind::Problems.exit_code()
    })
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

#[cfg(test)]
mod tests {
    use super::harness::unescape_mount_field;
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_table_runs_every_suite_of_the_list() {
        let names: Vec<&str> = TABLE.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, SUITES);
    }

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
