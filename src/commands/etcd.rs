//! The commands' side of `etcd://` FILEs where they differ from a local file:
//! `restore` (backups are keys) and `lock` (a lease instead of a descriptor).
//! Everything else goes through the same store calls as a local file.

use std::path::Path;
use std::process::Command;

use super::shared::child;
use super::shared::restore::{backup_not_valid, no_backup_named, no_valid_backup, restored};
use super::{Global, diag, print};
use crate::cli::{LockArgs, RestoreArgs};
use crate::error::{Error, Kind, Result};
use crate::store::etcd::{self, HELD_ENV, Url, lock::NotTaken};
use crate::store::{self, Change, OnCorrupt};

/// `jsafe restore etcd://…`: list the backup keys, or bring one back.
pub(crate) fn restore(g: &Global, args: &RestoreArgs) -> Result<()> {
    let file = &args.file;
    let backups = etcd::backups(file, g.timeout)?;
    if args.list || (args.from.is_none() && !args.latest) {
        let mut out = String::new();
        if args.json {
            let items: Vec<serde_json::Value> = backups
                .iter()
                .rev()
                .map(|b| {
                    serde_json::json!({
                        "name": b.name,
                        "size": b.bytes.len(),
                        "valid": crate::json::validate(&b.bytes).is_ok(),
                    })
                })
                .collect();
            out = serde_json::Value::Array(items).to_string();
            out.push('\n');
        } else if backups.is_empty() {
            diag(&format!("{}: no backups", file.display()));
        } else {
            out.push_str(&format!(
                "{:<20}  {:>10}  JSON\n",
                "NAME (REVISION)", "SIZE"
            ));
            for b in backups.iter().rev() {
                let state = if crate::json::validate(&b.bytes).is_ok() {
                    "valid"
                } else {
                    "INVALID"
                };
                out.push_str(&format!("{:<20}  {:>10}  {state}\n", b.name, b.bytes.len()));
            }
        }
        return print(out.as_bytes());
    }
    let chosen = match &args.from {
        Some(name) => {
            let wanted = name.trim_start_matches('0');
            let b = backups
                .iter()
                .find(|b| b.name == wanted)
                .ok_or_else(|| no_backup_named(file, name))?;
            if crate::json::validate(&b.bytes).is_err() {
                return Err(backup_not_valid(file, name));
            }
            b
        }
        None => backups
            .iter()
            .rev()
            .find(|b| crate::json::validate(&b.bytes).is_ok())
            .ok_or_else(|| no_valid_backup(file))?,
    };
    let wait = g.waiter(file);
    let opts = g.options("restore", None, OnCorrupt::Quarantine, &wait);
    let outcome = store::transact_again(file, &opts, |_| Ok(Change::Bytes(chosen.bytes.clone())))?;
    g.report(file, &outcome);
    restored(g, file, &chosen.name, outcome.changed);
    Ok(())
}

/// `jsafe lock etcd://… -- CMD`: a lease-backed lock held while CMD runs;
/// jsafe changes of the key inside CMD use it (and are fenced by its lease).
pub(crate) fn lock(g: &Global, args: &LockArgs) -> Result<i32> {
    let file = &args.file;
    let Some(program) = args.command.first() else {
        return Err(Error::new(Kind::Usage, "no command given after --"));
    };
    if args.shared {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: --shared is not offered for etcd keys (reads take no lock there)",
                file.display()
            ),
        ));
    }
    let url = Url::parse(file)?;
    let command = child::holder_command(program);
    // Already held by an enclosing `jsafe lock`: run CMD under it.
    let taken = if etcd::held_lease(&url).is_some() {
        None
    } else {
        let mut client = etcd::connect(&url, file)?;
        let wait = g.waiter(file);
        match etcd::lock::acquire(
            &mut client,
            &url,
            &command,
            None,
            etcd::deadline(g.timeout),
            &wait,
        ) {
            Ok(h) => Some(h),
            Err(NotTaken::Busy(record)) => {
                let e = Error::new(
                    Kind::LockTimeout,
                    format!(
                        "{}: locked by {} for longer than --timeout",
                        file.display(),
                        etcd::lock::describe(&record)
                    ),
                );
                return match args.conflict_exit_code {
                    Some(code) => {
                        diag(e.message());
                        Ok(i32::from(code))
                    }
                    None => Err(e),
                };
            }
            Err(NotTaken::Failed(e)) => return Err(etcd::unchanged_error(file, &e)),
        }
    };
    let mut cmd = Command::new(program);
    cmd.args(&args.command[1..]);
    if let Some(h) = &taken {
        let entry = format!("{} {}", h.lease, file.display());
        let value = match std::env::var(HELD_ENV) {
            Ok(outer) if !outer.is_empty() && outer.len() < 65536 => format!("{outer}\n{entry}"),
            _ => entry,
        };
        cmd.env(HELD_ENV, value);
    }
    crate::sys::child_defaults(&mut cmd);
    let code = child::run(cmd, program, |pid| {
        g.detail(&format!(
            "{}: lock held (lease {}) while pid {pid} runs",
            file.display(),
            taken.as_ref().map_or(0, |h| h.lease),
        ));
    });
    drop(taken);
    code
}

/// `status etcd://…/KEY` or `…/PREFIX/`: documents, locks, members. Exit 9
/// when a member does not answer, there is no leader, or a document is not
/// valid JSON.
pub(crate) fn status(g: &Global, args: &crate::cli::StatusArgs) -> Result<i32> {
    let mut problems: Vec<String> = Vec::new();
    let mut out = String::new();
    let mut all = Vec::new();
    for file in &args.paths {
        if !crate::store::Backend::is_etcd(file) {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "{}: give etcd URLs and local paths to separate `jsafe status` runs",
                    file.display()
                ),
            ));
        }
        let r = etcd::status::report(file, g.timeout)?;
        problems.extend(status_problems(&r));
        if args.json || args.all_json {
            all.push(status_json(file, &r));
        } else {
            out.push_str(&status_table(file, &r));
        }
    }
    if args.json || args.all_json {
        out = serde_json::json!({"etcd": all, "problems": problems}).to_string();
        out.push('\n');
    } else {
        for p in &problems {
            out.push_str(&format!("problem: {p}\n"));
        }
    }
    print(out.as_bytes())?;
    Ok(if problems.is_empty() {
        0
    } else {
        Kind::Problems.exit_code()
    })
}

/// What `status` counts as a problem in one report: a document that is
/// not valid JSON or does not match its schema, a member that does not
/// answer, no leader.
fn status_problems(r: &etcd::status::Report) -> Vec<String> {
    let mut problems = Vec::new();
    for d in &r.docs {
        if !d.valid {
            problems.push(format!("{}: not valid JSON", d.key));
        } else if let Some(Err(why)) = &d.schema {
            problems.push(format!("{}: {why}", d.key));
        }
    }
    for m in &r.members {
        if let Err(why) = &m.status {
            problems.push(format!(
                "member {} ({}) does not answer: {why}",
                m.name, m.endpoint
            ));
        }
    }
    if r.leader.is_none() {
        problems.push("no member names a leader".to_owned());
    }
    problems
}

/// One report in `status --json`.
fn status_json(file: &Path, r: &etcd::status::Report) -> serde_json::Value {
    serde_json::json!({
        "url": file.to_string_lossy(),
        "documents": r.docs.iter().map(|d| serde_json::json!({
            "key": d.key, "size": d.size, "mod_revision": d.mod_revision,
            "valid": d.valid, "last": d.last,
            "schema": d.schema.as_ref().map(|s| match s {
                Ok(()) => serde_json::json!("matches"),
                Err(why) => serde_json::json!({"mismatch": why}),
            }),
        })).collect::<Vec<_>>(),
        "locks": r.locks.iter().map(|l| serde_json::json!({
            "key": l.key, "holder": l.holder, "ttl_left_s": l.ttl_left,
        })).collect::<Vec<_>>(),
        "members": r.members.iter().map(|m| serde_json::json!({
            "name": m.name, "endpoint": m.endpoint, "id": m.id,
            "healthy": m.status.is_ok(),
            "leader": r.leader.as_deref() == Some(m.id.as_str()),
            "error": m.status.as_ref().err(),
        })).collect::<Vec<_>>(),
        "leader": r.leader,
    })
}

/// One report as `status` prints it: documents, locks, members.
fn status_table(file: &Path, r: &etcd::status::Report) -> String {
    let mut out = format!("{}\n", file.display());
    out.push_str(&format!(
        "  {:<32} {:>10} {:>10}  {:<7} LAST CHANGE\n",
        "KEY", "SIZE", "REVISION", "JSON"
    ));
    for d in &r.docs {
        let last = d.last.as_ref().map_or(String::new(), |j| {
            let s = |f: &str| {
                j.get(f)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            };
            format!(
                "{} by {} on {} at {}",
                s("op"),
                s("user"),
                s("host"),
                s("time")
            )
        });
        let json = match (&d.valid, &d.schema) {
            (false, _) => "INVALID",
            (true, Some(Err(_))) => "SCHEMA!",
            (true, _) => "valid",
        };
        out.push_str(&format!(
            "  {:<32} {:>10} {:>10}  {json:<7} {last}\n",
            d.key, d.size, d.mod_revision
        ));
    }
    if r.locks.is_empty() {
        out.push_str("  no locks held\n");
    }
    for l in &r.locks {
        let left = l.ttl_left.map_or("?".to_owned(), |t| format!("{t}s"));
        out.push_str(&format!(
            "  lock {}: held by {}, lease {left} left\n",
            l.key,
            etcd::lock::describe(l.holder.to_string().as_bytes())
        ));
    }
    for m in &r.members {
        let role = match &m.status {
            Err(why) => format!("NOT ANSWERING ({why})"),
            Ok(s) => {
                let version = s
                    .get("version")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?");
                let role = if r.leader.as_deref() == Some(m.id.as_str()) {
                    "leader"
                } else {
                    "follower"
                };
                format!("{role}, etcd {version}")
            }
        };
        out.push_str(&format!(
            "  member {:<8} {:<22} {role}\n",
            m.name, m.endpoint
        ));
    }
    out
}

/// `cleanup-locks etcd://…`: nothing to sweep (a lock is a lease and
/// expires with its holder); the held locks are listed.
pub(crate) fn cleanup(g: &Global, paths: &[std::path::PathBuf]) -> Result<i32> {
    let mut out = String::new();
    for file in paths {
        let r = etcd::status::report(file, g.timeout)?;
        out.push_str(&format!(
            "{}: nothing to sweep: etcd locks are leases and expire by themselves {}s after their holder stops renewing them\n",
            file.display(),
            etcd::lock::ttl()
        ));
        for l in &r.locks {
            let left = l.ttl_left.map_or("?".to_owned(), |t| format!("{t}s"));
            out.push_str(&format!(
                "  held: {} by {}, lease {left} left\n",
                l.key,
                etcd::lock::describe(l.holder.to_string().as_bytes())
            ));
        }
    }
    print(out.as_bytes())?;
    Ok(0)
}

/// `jsafe test --etcd URL`: the contract checked against a cluster, on
/// scratch keys under URL's prefix (removed afterwards): a round trip with
/// exact bytes, `--workers` × `--ops` concurrent `update '.n += 1'` counting
/// exactly, a nested change under `lock`, sequential changes per second, and
/// every member answering with a leader. Exit 9 when a check fails.
pub(crate) fn selftest(g: &Global, args: &crate::cli::TestArgs, url: &Path) -> Result<i32> {
    let text = url.to_string_lossy();
    let base = text.trim_end_matches('/');
    let key =
        std::path::PathBuf::from(format!("{base}/jsafe-selftest-{}.json", std::process::id()));
    Url::parse(&key)?;
    let me = std::env::current_exe()
        .map_err(|e| Error::new(Kind::Io, format!("cannot find jsafe's own binary: {e}")))?;
    let runner = Runner {
        me,
        timeout: g.timeout,
    };
    let k = key.to_string_lossy().into_owned();
    let mut checks: Vec<(String, bool, String, f64)> = Vec::new();
    let mut check = |name: &str, f: &mut dyn FnMut() -> std::result::Result<String, String>| {
        let t = std::time::Instant::now();
        let (pass, detail) = match f() {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        checks.push((name.to_owned(), pass, detail, t.elapsed().as_secs_f64()));
    };
    check("round-trip", &mut || round_trip(&runner, &k));
    check("concurrent", &mut || {
        concurrent(&runner, &k, args.workers.max(1), args.ops)
    });
    check("lock", &mut || nested_lock(&runner, &k));
    check("performance", &mut || performance(&runner, &k));
    check("cluster", &mut || cluster(&key, g.timeout));
    let cleaned = etcd::remove(&key, g.timeout);
    let passed = checks.iter().all(|c| c.1);
    print(selftest_output(&text, &checks, passed, args.json).as_bytes())?;
    if let Err(e) = cleaned {
        diag(&format!("{}; the scratch keys may be left", e.message()));
    }
    Ok(if passed {
        0
    } else {
        Kind::Problems.exit_code()
    })
}

/// Runs jsafe's own binary for the self-test, with a clean environment
/// (no `JSAFE_*` but the etcd connection settings).
struct Runner {
    me: std::path::PathBuf,
    timeout: std::time::Duration,
}

impl Runner {
    /// Exit code and stdout of `jsafe ARGS`.
    fn run(&self, a: &[&str]) -> (i32, String) {
        let mut cmd = Command::new(&self.me);
        for (name, _) in std::env::vars_os() {
            let n = name.to_string_lossy();
            if n.starts_with("JSAFE_") && !n.starts_with("JSAFE_ETCD_") {
                cmd.env_remove(&name);
            }
        }
        // The workers wait as long as this run was told to.
        if self.timeout < std::time::Duration::from_secs(86400) {
            cmd.arg("--timeout")
                .arg(format!("{}ms", self.timeout.as_millis().max(1)));
        }
        match cmd.args(a).stdin(std::process::Stdio::null()).output() {
            Ok(o) => (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            ),
            Err(e) => (-1, e.to_string()),
        }
    }
}

type Checked = std::result::Result<String, String>;

fn round_trip(runner: &Runner, k: &str) -> Checked {
    let doc = "{\"a\": 1.50, \"s\": \"\u{e9}\"}\n";
    let (c, _) = runner.run(&["write", k, doc]);
    if c != 0 {
        return Err(format!("write exited {c}"));
    }
    let (c, out) = runner.run(&["read", "-c", k]);
    let want = "{\"a\":1.50,\"s\":\"\u{e9}\"}\n";
    if c != 0 || out != want {
        return Err(format!("read exited {c} with {out:?}, wanted {want:?}"));
    }
    let (c, _) = runner.run(&["merge", k, "{\"b\":true}"]);
    let (_, out) = runner.run(&["read", "-c", k]);
    if c != 0 || out != "{\"a\":1.50,\"s\":\"\u{e9}\",\"b\":true}\n" {
        return Err(format!("merge exited {c}, then read {out:?}"));
    }
    Ok("write, read and merge keep the bytes".to_owned())
}

fn concurrent(runner: &Runner, k: &str, workers: usize, ops: usize) -> Checked {
    let (c, _) = runner.run(&["write", k, "{\"n\":0}"]);
    if c != 0 {
        return Err(format!("write exited {c}"));
    }
    let codes = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                for _ in 0..ops {
                    let (c, _) = runner.run(&["update", k, ".n += 1"]);
                    if let Ok(mut v) = codes.lock() {
                        v.push(c);
                    }
                }
            });
        }
    });
    let codes = codes.into_inner().unwrap_or_default();
    let acked = codes.iter().filter(|&&c| c == 0).count();
    let unknown = codes.iter().filter(|&&c| c == 8).count();
    let (_, out) = runner.run(&["read", k, ".n"]);
    let n: usize = out.trim().parse().unwrap_or(usize::MAX);
    if codes.iter().any(|c| ![0, 3, 7, 8].contains(c)) || n < acked || n > acked + unknown {
        return Err(format!(
            "count {n} after {acked} acknowledged increments ({unknown} unconfirmed); exit codes {codes:?}"
        ));
    }
    Ok(format!(
        "{workers} workers x {ops} increments: count {n} exact"
    ))
}

fn nested_lock(runner: &Runner, k: &str) -> Checked {
    let me = runner.me.to_string_lossy();
    let inner = format!("{me} update '{k}' '.locked = true'");
    let (c, _) = runner.run(&["lock", k, "--", "sh", "-c", &inner]);
    let (_, out) = runner.run(&["read", k, ".locked"]);
    if c != 0 || out.trim() != "true" {
        return Err(format!(
            "lock exited {c}; the nested change read back {out:?}"
        ));
    }
    Ok("a nested change under the lock applied".to_owned())
}

fn performance(runner: &Runner, k: &str) -> Checked {
    let mut times = Vec::new();
    for i in 0..20 {
        let t = std::time::Instant::now();
        let (c, _) = runner.run(&["merge", k, &format!("{{\"i\":{i}}}")]);
        if c != 0 {
            return Err(format!("merge exited {c}"));
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let total: f64 = times.iter().sum();
    times.sort_by(f64::total_cmp);
    Ok(format!(
        "{:.0} sequential merges/s, p50 {:.1} ms, max {:.1} ms",
        20.0 * 1000.0 / total,
        times[times.len() / 2],
        times[times.len() - 1]
    ))
}

fn cluster(key: &Path, timeout: std::time::Duration) -> Checked {
    let r = etcd::status::report(key, timeout).map_err(|e| e.message().to_owned())?;
    let down: Vec<String> = r
        .members
        .iter()
        .filter(|m| m.status.is_err())
        .map(|m| format!("{} ({})", m.name, m.endpoint))
        .collect();
    if !down.is_empty() {
        return Err(format!("members not answering: {}", down.join(", ")));
    }
    if r.leader.is_none() {
        return Err("no leader".to_owned());
    }
    Ok(format!("{} members answer, one leader", r.members.len()))
}

/// The self-test's lines, or its `--json` document.
fn selftest_output(
    text: &str,
    checks: &[(String, bool, String, f64)],
    passed: bool,
    json: bool,
) -> String {
    let mut out = String::new();
    if json {
        let items: Vec<serde_json::Value> = checks
            .iter()
            .map(|(name, pass, detail, secs)| {
                serde_json::json!({"suite": "etcd", "check": name, "pass": pass, "detail": detail, "seconds": secs})
            })
            .collect();
        out = serde_json::json!({"url": text, "passed": passed, "checks": items}).to_string();
        out.push('\n');
    } else {
        for (name, pass, detail, secs) in checks {
            let word = if *pass { "PASS" } else { "FAIL" };
            out.push_str(&format!("{word} etcd {name} {detail} ({secs:.2} s)\n"));
        }
        let failed = checks.iter().filter(|c| !c.1).count();
        out.push_str(&format!(
            "{}: {} checks, {failed} failed\n",
            text,
            checks.len()
        ));
    }
    out
}
