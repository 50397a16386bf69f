//! `concurrent`: `--workers` processes each run `--ops` increments of one
//! counter (`jsafe update counter.json '.n += 1'`), all at once. Isolation means
//! the count is exact; the journal holds one whole line per change; backups are
//! rotated to `--keep`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{Ctx, Finding, Report, args, parse_json, read_bytes};
use crate::store::{self, journal};

const SUITE: &str = "concurrent";
/// Passed to every worker, so the backup count does not depend on defaults.
const KEEP: usize = 20;

pub(super) fn run(ctx: &Ctx, report: &mut Report) {
    let dir = match ctx.suite_dir(SUITE) {
        Ok(d) => d,
        Err(why) => return report.check(SUITE, "setup", || Err(why)),
    };
    let file = dir.join("counter.json");
    let total = ctx.workers * ctx.ops;
    let mut finished = false;
    report.check(SUITE, "increments", || {
        ctx.run(args!["write", file, r#"{"n":0}"#])?
            .require_ok("the first write")?;
        let progress = ctx.progress(SUITE, total);
        let failures = AtomicUsize::new(0);
        let first_failure: Mutex<Option<String>> = Mutex::new(None);
        let keep = KEEP.to_string();
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..ctx.workers {
                s.spawn(|| {
                    for _ in 0..ctx.ops {
                        let ran = ctx.run(args!["--keep", keep, "update", file, ".n += 1"]);
                        let problem = match ran {
                            Ok(r) if r.ok() => None,
                            Ok(r) => Some(r.why()),
                            Err(e) => Some(e),
                        };
                        if let Some(p) = problem {
                            failures.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut first) = first_failure.lock() {
                                first.get_or_insert(p);
                            }
                        }
                        progress.tick();
                    }
                });
            }
        });
        let seconds = started.elapsed().as_secs_f64();
        drop(progress);
        finished = true;
        let v = parse_json(&read_bytes(&file)?, "the counter file")?;
        let n = v["n"].as_u64();
        let failures = failures.load(Ordering::Relaxed);
        let mut detail = format!(
            "{} workers × {} ops: n = {} ({total} expected), {:.0} updates/s",
            ctx.workers,
            ctx.ops,
            n.map_or_else(|| v["n"].to_string(), |n| n.to_string()),
            total as f64 / seconds.max(1e-9)
        );
        if failures > 0 {
            let first = first_failure
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_default();
            detail.push_str(&format!("; {failures} updates failed, first: {first}"));
        }
        Ok(
            Finding::verdict(n == Some(total as u64) && failures == 0, detail)
                .with("workers", ctx.workers)
                .with("ops", ctx.ops)
                .with("n", n)
                .with("expected", total)
                .with("failures", failures)
                .with(
                    "per_second",
                    super::round3(total as f64 / seconds.max(1e-9)),
                ),
        )
    });
    if !finished {
        return;
    }
    report.check(SUITE, "journal", || {
        let paths = store::state_paths(&file).map_err(|e| e.to_string())?;
        // Across rotations: many workers' lines pass the rotation size.
        let entries = journal::read_all_rotated(&paths.state).map_err(|e| {
            format!(
                "the journal {} cannot be read line by line: {e}",
                paths.journal.display()
            )
        })?;
        let updates = entries
            .iter()
            .filter(|e| e.op == "update" && e.file_name == "counter.json")
            .count();
        // How many journal files the lines were spread over (rotations).
        let files = 1
            + (1..=journal::KEEP)
                .filter(|n| {
                    paths
                        .state
                        .join(store::layout::rotated_journal(*n))
                        .exists()
                })
                .count();
        Ok(Finding::verdict(
            updates == total,
            format!(
                "{} whole JSON lines, {updates} for the updates ({total} expected)",
                entries.len()
            ),
        )
        .with("lines", entries.len())
        .with("journal_files", files)
        .with("updates", updates)
        .with("expected", total))
    });
    report.check(SUITE, "backups", || {
        let kept = store::backups(&file)
            .map_err(|e| e.to_string())?
            .1
            .list
            .len();
        let want = total.min(KEEP);
        Ok(Finding::verdict(
            kept == want,
            format!("{kept} backups kept of {total} taken ({want} expected with --keep {KEEP})"),
        )
        .with("kept", kept)
        .with("expected", want))
    });
}
