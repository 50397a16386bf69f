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
