//! `performance`: what a script pays per command on this filesystem, process
//! start included: sequential writes/s, reads/s and contended writes/s
//! (`--workers` at once on one file), each with p50/p99 latency. Writes are
//! durable unless `--no-sync` was given, since that is the real cost. About
//! 2.5 s in all; the figures are reported, never judged (a check fails only if
//! a command failed or a count came out wrong).

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use super::{
    Ctx, Finding, Progress, Ran, Report, Status, args, parse_json, percentile_ms, read_bytes,
    round3,
};

const SUITE: &str = "performance";
const SEQUENTIAL_WRITES: Duration = Duration::from_millis(800);
const READS: Duration = Duration::from_millis(500);
const CONTENDED_WRITES: Duration = Duration::from_millis(1000);

type Outcome = std::result::Result<Finding, String>;

pub(super) fn run(ctx: &Ctx, report: &mut Report) {
    let dir = match ctx.suite_dir(SUITE) {
        Ok(d) => d,
        Err(why) => return report.check(SUITE, "setup", || Err(why)),
    };
    let file = dir.join("perf.json");
    report.check(SUITE, "seq-writes", || {
        let progress = ctx.progress("performance: writes", 0);
        let m = measure(SEQUENTIAL_WRITES, &progress, |i| {
            let json = format!(r#"{{"i":{i},"text":"sequential write"}}"#);
            ctx.run(args!["write", file, json])
        });
        m.finding(
            "sequential writes",
            &format!("1 writer, {}", ctx.durability()),
        )
    });
    report.check(SUITE, "reads", || {
        let progress = ctx.progress("performance: reads", 0);
        let m = measure(READS, &progress, |_| ctx.run(args!["read", file]));
        m.finding("reads", "1 reader, no lock")
    });
    report.check(SUITE, "contended", || {
        contended(ctx, &dir.join("contended.json"))
    });
}

/// Latencies of the commands run in a time box.
#[derive(Default)]
struct Measured {
    latencies: Vec<Duration>,
    seconds: f64,
    failures: usize,
    first_failure: Option<String>,
}

/// Run `op` back to back until `budget` has passed.
fn measure(
    budget: Duration,
    progress: &Progress,
    mut op: impl FnMut(usize) -> std::result::Result<Ran, String>,
) -> Measured {
    let started = Instant::now();
    let mut m = Measured::default();
    let mut i = 0;
    while started.elapsed() < budget {
        let t = Instant::now();
        let ran = op(i);
        m.record(t.elapsed(), ran);
        progress.tick();
        i += 1;
    }
    m.seconds = started.elapsed().as_secs_f64();
    m
}

impl Measured {
    fn record(&mut self, took: Duration, ran: std::result::Result<Ran, String>) {
        let problem = match ran {
            Ok(r) if r.ok() => None,
            Ok(r) => Some(r.why()),
            Err(e) => Some(e),
        };
        match problem {
            None => self.latencies.push(took),
            Some(p) => {
                self.failures += 1;
                self.first_failure.get_or_insert(p);
            }
        }
    }

    fn merge(&mut self, other: Measured) {
        self.latencies.extend(other.latencies);
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    fn finding(mut self, what: &str, setting: &str) -> Outcome {
        self.latencies.sort();
        let ops = self.latencies.len();
        let per_second = ops as f64 / self.seconds.max(1e-9);
        let (p50, p99) = (
            percentile_ms(&self.latencies, 0.5),
            percentile_ms(&self.latencies, 0.99),
        );
        let mut detail = format!(
            "{what}: {per_second:.0}/s, p50 {p50:.1} ms, p99 {p99:.1} ms ({ops} in {:.1} s; {setting})",
            self.seconds
        );
        if let Some(f) = &self.first_failure {
            detail.push_str(&format!("; {} failed, first: {f}", self.failures));
        }
        Ok(Finding::verdict(self.failures == 0 && ops > 0, detail)
            .with("ops", ops)
            .with("seconds", round3(self.seconds))
            .with("per_second", round3(per_second))
            .with("p50_ms", p50)
            .with("p99_ms", p99)
            .with("failures", self.failures))
    }
}

fn contended(ctx: &Ctx, file: &std::path::Path) -> Outcome {
    ctx.run(args!["write", file, r#"{"n":0}"#])?
        .require_ok("write")?;
    let progress = ctx.progress("performance: contended writes", 0);
    let all = Mutex::new(Measured::default());
    let started = Instant::now();
    thread::scope(|s| {
        for _ in 0..ctx.workers {
            s.spawn(|| {
                let m = measure(CONTENDED_WRITES, &progress, |_| {
                    ctx.run(args!["update", file, ".n += 1"])
                });
                if let Ok(mut all) = all.lock() {
                    all.merge(m);
                }
            });
        }
    });
    drop(progress);
    let mut m = all.into_inner().unwrap_or_default();
    m.seconds = started.elapsed().as_secs_f64();
    let done = m.latencies.len();
    let n = parse_json(&read_bytes(file)?, "the counter file")?["n"].as_u64();
    let exact = n == Some(done as u64);
    let setting = format!(
        "{} writers on one file, {}; n = {} ({done} expected)",
        ctx.workers,
        ctx.durability(),
        n.map_or("?".to_owned(), |n| n.to_string())
    );
    let mut finding = m.finding("contended writes", &setting)?.with("n", n);
    if !exact {
        finding.status = Status::Fail;
    }
    Ok(finding)
}
