//! The commands' side of `etcd://` FILEs where they differ from a local file:
//! `restore` (backups are keys) and `lock` (a lease instead of a descriptor).
//! Everything else goes through the same store calls as a local file.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use super::{Global, diag, print};
use crate::cli::{LockArgs, RestoreArgs};
use crate::error::{Error, Kind, Result};
use crate::store::etcd::{self, HELD_ENV, Url, lock::NotTaken};
use crate::store::{self, Change, OnCorrupt};

/// `jsafe restore etcd://…`: list the backup keys, or bring one back.
pub fn restore(g: &Global, args: &RestoreArgs) -> Result<()> {
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
            let b = backups.iter().find(|b| b.name == wanted).ok_or_else(|| {
                Error::new(
                    Kind::NotFound,
                    format!(
                        "{}: no backup named {name} (see `jsafe restore --list {0}`)",
                        file.display()
                    ),
                )
            })?;
            if crate::json::validate(&b.bytes).is_err() {
                return Err(Error::new(
                    Kind::Corrupt,
                    format!(
                        "{}: backup {name} is not valid JSON; choose another from `jsafe restore --list {0}`",
                        file.display()
                    ),
                ));
            }
            b
        }
        None => backups
            .iter()
            .rev()
            .find(|b| crate::json::validate(&b.bytes).is_ok())
            .ok_or_else(|| {
                Error::new(
                    Kind::NotFound,
                    format!("{}: no valid backup to restore", file.display()),
                )
            })?,
    };
    let wait = g.waiter(file);
    let opts = g.options("restore", None, OnCorrupt::Quarantine, &wait);
    let outcome = store::transact_again(file, &opts, |_| Ok(Change::Bytes(chosen.bytes.clone())))?;
    g.report(file, &outcome);
    if outcome.changed {
        g.notice(&format!(
            "{}: restored backup {}",
            file.display(),
            chosen.name
        ));
    } else {
        g.notice(&format!(
            "{}: already equal to backup {}; nothing written",
            file.display(),
            chosen.name
        ));
    }
    Ok(())
}

/// `jsafe lock etcd://… -- CMD`: a lease-backed lock held while CMD runs;
/// jsafe changes of the key inside CMD use it (and are fenced by its lease).
pub fn lock(g: &Global, args: &LockArgs) -> Result<i32> {
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
    let name: String = Path::new(program)
        .file_name()
        .unwrap_or(program)
        .to_string_lossy()
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let command = format!("jsafe lock ({name})");
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
    let running = crate::sys::ChildRunning::start();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            drop(running);
            let shown = Path::new(program).display();
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                diag(&format!("{shown}: command not found"));
                127
            } else {
                diag(&format!("{shown}: cannot run: {e}"));
                126
            };
            return Ok(code);
        }
    };
    g.detail(&format!(
        "{}: lock held (lease {}) while pid {} runs",
        file.display(),
        taken.as_ref().map_or(0, |h| h.lease),
        child.id()
    ));
    let status = child
        .wait()
        .map_err(|e| Error::new(Kind::Io, format!("cannot wait for the command: {e}")))?;
    drop(running);
    drop(taken);
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    })
}

/// `status etcd://…/KEY` or `…/PREFIX/`: documents, locks, members. Exit 9
/// when a member does not answer, there is no leader, or a document is not
/// valid JSON.
pub fn status(g: &Global, args: &crate::cli::StatusArgs) -> Result<i32> {
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
        if args.json || args.all_json {
            all.push(serde_json::json!({
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
            }));
            continue;
        }
        out.push_str(&format!("{}\n", file.display()));
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

/// `cleanup-locks etcd://…`: nothing to sweep (a lock is a lease and
/// expires with its holder); the held locks are listed.
pub fn cleanup(g: &Global, paths: &[std::path::PathBuf]) -> Result<i32> {
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
pub fn selftest(g: &Global, args: &crate::cli::TestArgs, url: &Path) -> Result<i32> {
    use std::time::Instant;
    let text = url.to_string_lossy();
    let base = text.trim_end_matches('/');
    let key =
        std::path::PathBuf::from(format!("{base}/jsafe-selftest-{}.json", std::process::id()));
    Url::parse(&key)?;
    let me = std::env::current_exe()
        .map_err(|e| Error::new(Kind::Io, format!("cannot find jsafe's own binary: {e}")))?;
    let k = key.to_string_lossy().into_owned();
    let run = |a: &[&str]| -> (i32, String) {
        let mut cmd = Command::new(&me);
        for (name, _) in std::env::vars_os() {
            let n = name.to_string_lossy();
            if n.starts_with("JSAFE_") && !n.starts_with("JSAFE_ETCD_") {
                cmd.env_remove(&name);
            }
        }
        // The workers wait as long as this run was told to.
        if g.timeout < std::time::Duration::from_secs(86400) {
            cmd.arg("--timeout")
                .arg(format!("{}ms", g.timeout.as_millis().max(1)));
        }
        match cmd.args(a).stdin(std::process::Stdio::null()).output() {
            Ok(o) => (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            ),
            Err(e) => (-1, e.to_string()),
        }
    };
    let mut checks: Vec<(String, bool, String, f64)> = Vec::new();
    let mut check = |name: &str, f: &mut dyn FnMut() -> std::result::Result<String, String>| {
        let t = Instant::now();
        let (pass, detail) = match f() {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        checks.push((name.to_owned(), pass, detail, t.elapsed().as_secs_f64()));
    };
    check("round-trip", &mut || {
        let doc = "{\"a\": 1.50, \"s\": \"\u{e9}\"}\n";
        let (c, _) = run(&["write", &k, doc]);
        if c != 0 {
            return Err(format!("write exited {c}"));
        }
        let (c, out) = run(&["read", "-c", &k]);
        let want = "{\"a\":1.50,\"s\":\"\u{e9}\"}\n";
        if c != 0 || out != want {
            return Err(format!("read exited {c} with {out:?}, wanted {want:?}"));
        }
        let (c, _) = run(&["merge", &k, "{\"b\":true}"]);
        let (_, out) = run(&["read", "-c", &k]);
        if c != 0 || out != "{\"a\":1.50,\"s\":\"\u{e9}\",\"b\":true}\n" {
            return Err(format!("merge exited {c}, then read {out:?}"));
        }
        Ok("write, read and merge keep the bytes".to_owned())
    });
    check("concurrent", &mut || {
        let (c, _) = run(&["write", &k, "{\"n\":0}"]);
        if c != 0 {
            return Err(format!("write exited {c}"));
        }
        let codes = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..args.workers.max(1) {
                s.spawn(|| {
                    for _ in 0..args.ops {
                        let (c, _) = run(&["update", &k, ".n += 1"]);
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
        let (_, out) = run(&["read", &k, ".n"]);
        let n: usize = out.trim().parse().unwrap_or(usize::MAX);
        if codes.iter().any(|c| ![0, 3, 7, 8].contains(c)) || n < acked || n > acked + unknown {
            return Err(format!(
                "count {n} after {acked} acknowledged increments ({unknown} unconfirmed); exit codes {codes:?}"
            ));
        }
        Ok(format!(
            "{} workers x {} increments: count {n} exact",
            args.workers.max(1),
            args.ops
        ))
    });
    check("lock", &mut || {
        let me = me.to_string_lossy();
        let inner = format!("{me} update '{k}' '.locked = true'");
        let (c, _) = run(&["lock", &k, "--", "sh", "-c", &inner]);
        let (_, out) = run(&["read", &k, ".locked"]);
        if c != 0 || out.trim() != "true" {
            return Err(format!(
                "lock exited {c}; the nested change read back {out:?}"
            ));
        }
        Ok("a nested change under the lock applied".to_owned())
    });
    check("performance", &mut || {
        let mut times = Vec::new();
        for i in 0..20 {
            let t = Instant::now();
            let (c, _) = run(&["merge", &k, &format!("{{\"i\":{i}}}")]);
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
    });
    check("cluster", &mut || {
        let r = etcd::status::report(&key, g.timeout).map_err(|e| e.message().to_owned())?;
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
    });
    let cleaned = etcd::remove(&key, g.timeout);
    let passed = checks.iter().all(|c| c.1);
    let mut out = String::new();
    if args.json {
        let items: Vec<serde_json::Value> = checks
            .iter()
            .map(|(name, pass, detail, secs)| {
                serde_json::json!({"suite": "etcd", "check": name, "pass": pass, "detail": detail, "seconds": secs})
            })
            .collect();
        out = serde_json::json!({"url": text, "passed": passed, "checks": items}).to_string();
        out.push('\n');
    } else {
        for (name, pass, detail, secs) in &checks {
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
    print(out.as_bytes())?;
    if let Err(e) = cleaned {
        diag(&format!("{}; the scratch keys may be left", e.message()));
    }
    Ok(if passed {
        0
    } else {
        Kind::Problems.exit_code()
    })
}
