//! `jsafe restore FILE`: list backups, or bring one back through the same write
//! core (the version it replaces is backed up, or quarantined if corrupt).

use super::{Global, print};
use crate::cli::RestoreArgs;
use crate::error::{Error, Kind, Result};
use crate::store::{self, Change, OnCorrupt, Paths, backup};
use crate::time;

pub fn run(g: &Global, args: &RestoreArgs) -> Result<()> {
    let file = &args.file;
    let paths = Paths::resolve(file)?;
    if args.list || (args.from.is_none() && !args.latest) {
        return list(&paths, args.json);
    }
    let backups = backup::list(&paths)?;
    let (name, bytes) = if let Some(name) = &args.from {
        let b = backups.iter().find(|b| &b.name == name).ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                format!(
                    "{}: no backup named {name} (see `jsafe restore --list {0}`)",
                    file.display()
                ),
            )
        })?;
        let (bytes, _) = b.load().ok_or_else(|| {
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
        let (b, bytes, _) = backup::newest_valid(&paths)?.ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                format!("{}: no valid backup to restore", file.display()),
            )
        })?;
        (b.name, bytes)
    };
    let wait = g.waiter(file);
    let opts = g.options("restore", None, OnCorrupt::Quarantine, &wait);
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

fn list(paths: &Paths, json: bool) -> Result<()> {
    let backups = backup::list(paths)?;
    let rows: Vec<(String, String, u64, bool)> = backups
        .iter()
        .rev()
        .map(|b| {
            (
                b.name.clone(),
                time::rfc3339(b.time),
                b.size,
                b.load().is_some(),
            )
        })
        .collect();
    let mut out = String::new();
    if json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, t, size, valid)| {
                serde_json::json!({"name": name, "time": t, "size": size, "valid": valid})
            })
            .collect();
        out = serde_json::Value::Array(items).to_string();
        out.push('\n');
    } else if rows.is_empty() {
        eprintln!("jsafe: {}: no backups", paths.given.display());
    } else {
        out.push_str(&format!(
            "{:<32}  {:<24}  {:>10}  {}\n",
            "NAME", "TIME", "SIZE", "JSON"
        ));
        for (name, t, size, valid) in &rows {
            let v = if *valid { "valid" } else { "INVALID" };
            out.push_str(&format!("{name:<32}  {t:<24}  {size:>10}  {v}\n"));
        }
    }
    print(out.as_bytes())
}
