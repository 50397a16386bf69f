//! `jsafe restore FILE`: list backups, or bring one back through the same write
//! core (the version it replaces is backed up, or quarantined if corrupt).

use super::{Global, print};
use crate::cli::RestoreArgs;
use crate::error::{Error, Kind, Result};
use crate::store::{self, Backups, Change, OnCorrupt};
use crate::time;

pub fn run(g: &Global, args: &RestoreArgs) -> Result<()> {
    let file = &args.file;
    if store::Backend::is_etcd(file) {
        return super::etcd::restore(g, args);
    }
    let (_, backups) = store::backups(file)?;
    if args.list || (args.from.is_none() && !args.latest) {
        return list(file, &backups, args.json);
    }
    let (name, bytes) = if let Some(name) = &args.from {
        let b = backups.find(name).ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                format!(
                    "{}: no backup named {name} (see `jsafe restore --list {0}`)",
                    file.display()
                ),
            )
        })?;
        if let Some(why) = &b.untrusted {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{}: backup {name} is not restored: {why} (jsafe did not write it)",
                    file.display()
                ),
            ));
        }
        let bytes = backups.load_valid(b).ok_or_else(|| {
            Error::new(
                Kind::Corrupt,
                format!(
                    "{}: backup {name} is not valid JSON; choose another from `jsafe restore --list {0}`",
                    file.display()
                ),
            )
        })?;
        (b.name.clone(), bytes)
    } else {
        let (b, bytes) = backups.newest_valid().ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                format!("{}: no valid backup to restore", file.display()),
            )
        })?;
        (b.name.clone(), bytes)
    };
    drop(backups);
    let held = super::lock::inherited_for_change(file)?;
    let wait = g.waiter(file);
    let opts = g
        .options("restore", None, OnCorrupt::Quarantine, &wait)
        .held(held.as_ref());
    let outcome = store::transact(file, &opts, |_| Ok(Change::Bytes(bytes)))?;
    g.report(file, &outcome);
    if outcome.changed {
        g.notice(&format!("{}: restored backup {name}", file.display()));
    } else {
        g.notice(&format!(
            "{}: already equal to backup {name}; nothing written",
            file.display()
        ));
    }
    Ok(())
}

fn list(file: &std::path::Path, backups: &Backups, json: bool) -> Result<()> {
    let rows: Vec<(String, String, u64, &'static str)> = backups
        .list
        .iter()
        .rev()
        .map(|b| {
            let state = if b.untrusted.is_some() {
                "UNTRUSTED"
            } else if backups.load_valid(b).is_some() {
                "valid"
            } else {
                "INVALID"
            };
            (b.name.clone(), time::rfc3339(b.time), b.size, state)
        })
        .collect();
    let mut out = String::new();
    if json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, t, size, state)| {
                serde_json::json!({
                    "name": name,
                    "time": t,
                    "size": size,
                    "valid": *state == "valid",
                    "trusted": *state != "UNTRUSTED",
                })
            })
            .collect();
        out = serde_json::Value::Array(items).to_string();
        out.push('\n');
    } else if rows.is_empty() {
        super::diag(&format!("{}: no backups", file.display()));
    } else {
        out.push_str(&format!(
            "{:<43}  {:<24}  {:>10}  {}\n",
            "NAME", "TIME", "SIZE", "JSON"
        ));
        for (name, t, size, state) in &rows {
            out.push_str(&format!("{name:<43}  {t:<24}  {size:>10}  {state}\n"));
        }
    }
    print(out.as_bytes())
}
