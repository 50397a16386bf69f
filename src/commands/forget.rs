//! `jsafe forget FILE [--yes]`: stop tracking a managed file that is gone.
//! Its lock file goes; its backups and attached schema go only after a yes
//! on the terminal or `--yes` (without either they are kept, and said so).
//! `status` no longer reports the file as missing.

use std::io::{self, BufRead, IsTerminal, Write};

use super::Global;
use crate::cli::ForgetArgs;
use crate::error::Result;
use crate::store::OnCorrupt;
use crate::store::forget::{forget, forget_preview};

pub(crate) fn run(g: &Global, args: &ForgetArgs) -> Result<()> {
    let file = &args.file;
    let mut everything = args.yes;
    if !everything {
        let seen = forget_preview(file)?;
        if (seen.backups_kept > 0 || seen.schema_kept) && io::stdin().is_terminal() {
            everything = ask(file, seen.backups_kept, seen.schema_kept);
        }
    }
    let wait = g.waiter(file);
    let opts = g.options("forget", None, OnCorrupt::Fail, &wait);
    let done = forget(file, &opts, everything)?;
    for w in &done.warnings {
        g.notice(w);
    }
    let shown = file.display();
    if !done.had_state {
        g.notice(&format!("{shown}: no state to forget"));
        return Ok(());
    }
    let mut gone = Vec::new();
    if done.lock_removed {
        gone.push("its lock file".to_owned());
    }
    if done.backups_removed > 0 {
        gone.push(plural(done.backups_removed, "backup"));
    }
    if done.schema_removed {
        gone.push("its schema".to_owned());
    }
    let removed = if gone.is_empty() {
        String::new()
    } else {
        format!("; removed {}", gone.join(", "))
    };
    g.notice(&format!(
        "{shown}: forgotten (status no longer reports it){removed}"
    ));
    if done.backups_kept > 0 || done.schema_kept {
        let mut kept = Vec::new();
        if done.backups_kept > 0 {
            let at = done
                .backups_dir
                .as_ref()
                .map_or(String::new(), |d| format!(" in {}", d.display()));
            kept.push(format!("{}{at}", plural(done.backups_kept, "backup")));
        }
        if done.schema_kept {
            kept.push("its schema".to_owned());
        }
        g.notice(&format!(
            "{shown}: kept {} (`jsafe restore --latest {shown}` brings the file back; `jsafe forget --yes {shown}` removes them)",
            kept.join(" and ")
        ));
    }
    Ok(())
}

/// The question on the terminal; anything but y/yes is no.
fn ask(file: &std::path::Path, backups: usize, schema: bool) -> bool {
    let mut what = Vec::new();
    if backups > 0 {
        what.push(plural(backups, "backup"));
    }
    if schema {
        what.push("the attached schema".to_owned());
    }
    let mut err = io::stderr().lock();
    let _ = write!(
        err,
        "jsafe: {} is gone; remove its {} too? [y/N] ",
        file.display(),
        what.join(" and ")
    );
    let _ = err.flush();
    let mut line = String::new();
    if io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}
