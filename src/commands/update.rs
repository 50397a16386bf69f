//! `jsafe update FILE FILTER`: run a jq filter and store its one result. The
//! filter is compiled before the lock is taken, and a run that outlives
//! `--filter-timeout` is abandoned so that it never holds the file's lock.

use super::{Global, filter_vars, indent_override, json_input};
use crate::cli::UpdateArgs;
use crate::error::{Error, Result};
use crate::json::filter::Filter;
use crate::store::{self, Change, OnCorrupt};

pub fn run(g: &Global, args: &UpdateArgs) -> Result<()> {
    let file = &args.file;
    let filter = Filter::compile(&args.filter, filter_vars(&args.vars)?)
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let default = json_input(Some(&args.default), "--default")?;
    let wait = g.waiter(file);
    let on_corrupt = if args.recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    let opts = g.options("update", indent_override(&args.style), on_corrupt, &wait);
    let outcome = store::transact(file, &opts, |current| {
        let input = current.take_value().unwrap_or(default);
        let mut outputs = filter.run(input, Some(args.filter_timeout)).map_err(|e| {
            Error::bad_input(format!("{}: {e}; nothing was written", file.display()))
        })?;
        if outputs.len() != 1 {
            return Err(Error::bad_input(format!(
                "{}: the filter produced {} values; it must produce exactly one (nothing was written)",
                file.display(),
                outputs.len()
            )));
        }
        Ok(Change::Value(outputs.remove(0)))
    })?;
    g.report(file, &outcome);
    Ok(())
}
