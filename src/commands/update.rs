//! `jsafe update FILE FILTER`: run a jq filter and store its one result. The
//! filter is compiled before the lock is taken, and a run that outlives
//! `--filter-timeout` or allocates more than `--filter-memory` ends the
//! process (exit 4, one line): the kernel releases the file's lock with it and
//! nothing has been written, so a runaway filter never holds the lock.

use super::{Global, filter_vars, indent_override, json_input};
use crate::cli::UpdateArgs;
use crate::error::{Error, Result};
use crate::json::filter::{Filter, FilterError};
use crate::store::{self, Change, OnCorrupt};

pub fn run(g: &Global, args: &UpdateArgs) -> Result<()> {
    let file = &args.file;
    let filter = {
        let _running = crate::sys::FilterRunning::start();
        Filter::compile(&args.filter, filter_vars(&args.vars)?)
            .map_err(|e| Error::bad_input(e.to_string()))?
    };
    let default = json_input(Some(&args.default), "--default")?;
    let wait = g.waiter(file);
    let on_corrupt = if args.recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    let opts = g.options("update", indent_override(&args.style), on_corrupt, &wait);
    let timeout_line = format!(
        "{}: {}; nothing was written",
        file.display(),
        FilterError::Timeout(args.filter_timeout)
    );
    let memory_line = format!(
        "{}: the filter used more than {} of memory (--filter-memory); nothing was written",
        file.display(),
        crate::cli::show_size(args.filter_memory)
    );
    let outcome = store::transact(file, &opts, |current| {
        let input = current.take_value().unwrap_or(default);
        let ran = {
            // Armed after the lock is taken and the file read: the limits are
            // the filter's own. A timer that cannot be armed means no run.
            let _limits = crate::sys::Limits::arm(
                Some(args.filter_timeout),
                Some(args.filter_memory),
                &timeout_line,
                &memory_line,
            )
            .map_err(|e| {
                Error::new(
                    crate::error::Kind::Io,
                    format!(
                        "{}: cannot arm the filter's time limit: {e}; nothing was written",
                        file.display()
                    ),
                )
            })?;
            let _running = crate::sys::FilterRunning::start();
            filter.run(input)
        };
        let mut outputs = ran.map_err(|e| {
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
