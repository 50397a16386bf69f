//! `jsafe restore FILE`: list backups, or bring one back through the same write
//! core (the version it replaces is backed up, or quarantined if corrupt).

use super::shared::context::Writer;
use super::shared::restore::{backup_not_valid, no_backup_named, no_valid_backup, restored};
use super::{Global, print};
use crate::cli::RestoreArgs;
use crate::error::{Error, Kind, Result};
use crate::store::{self, Backups, Change, OnCorrupt};
use crate::time;

pub(crate) fn run(g: &Global, args: &RestoreArgs) -> Result<()> {
    let file = &args.file;
    if store::Backend::is_etcd(file) {
        return super::etcd::restore(g, args);
    }
    let (_, backups) = store::backups(file)?;
    if args.list || (args.from.is_none() && !args.latest) {
        return list(file, &backups, args.json);
    }
    let (name, bytes) = if let Some(name) = &args.from {
        let b = backups
            .find(name)
            .ok_or_else(|| no_backup_named(file, name))?;
        if let Some(why) = &b.untrusted {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{}: backup {name} is not restored: {why} (jsafe did not write it)",
                    file.display()
                ),
            ));
        }
        let bytes = backups
            .load_valid(b)
            .ok_or_else(|| backup_not_valid(file, name))?;
        (b.name.clone(), bytes)
    } else {
        let (b, bytes) = backups
            .newest_valid()
            .ok_or_else(|| no_valid_backup(file))?;
        (b.name.clone(), bytes)
    };
    drop(backups);
    let writer = Writer::new(g, file, "restore", None, OnCorrupt::Quarantine)?;
    let mut bytes = Some(bytes);
    let outcome = writer.transact(|_| {
        bytes
            .take()
            .map(Change::Bytes)
            .ok_or_else(|| Error::internal("the backup was used up"))
    })?;
    restored(g, file, &name, outcome.changed);
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
