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
        if !etcd::is_url(file) {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "{}: give etcd URLs and local paths to separate `jsafe status` runs",
                    file.display()
                ),
            ));
        }
        let r = etcd::status::report(file, g.timeout)?;
        for d in r.docs.iter().filter(|d| !d.valid) {
            problems.push(format!("{}: not valid JSON", d.key));
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
            let json = if d.valid { "valid" } else { "INVALID" };
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
