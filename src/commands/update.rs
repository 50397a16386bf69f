//! `jsafe update FILE FILTER`: run a jq filter and store its one result. The
//! filter is compiled before the lock is taken, and a run that outlives
//! `--filter-timeout` ends the process (exit 4, one line): the kernel releases
//! the file's lock with it and nothing has been written, so a runaway filter
//! never holds the lock.

use super::{Global, filter_vars, indent_override, json_input};
use crate::cli::UpdateArgs;
use crate::error::{Error, Result};
use crate::json::filter::{Filter, FilterError};
use crate::store::{self, Change, OnCorrupt};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

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
        let watchdog = Watchdog::arm(file, args.filter_timeout);
        let ran = filter.run(input);
        drop(watchdog);
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

/// Ends the process if the filter is still running when the limit passes.
/// Disarming it (drop) and firing it exclude each other under one mutex, so once
/// the timeout message is printed this thread can never go on to write the file.
struct Watchdog {
    state: Arc<Mutex<Watch>>,
    _wake_on_drop: Option<mpsc::Sender<()>>,
}

#[derive(PartialEq)]
enum Watch {
    Armed,
    Disarmed,
    Fired,
}

impl Watchdog {
    fn arm(file: &Path, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let state = Arc::new(Mutex::new(Watch::Armed));
        let watched = Arc::clone(&state);
        let message = format!(
            "jsafe: {}: {}; nothing was written",
            file.display(),
            FilterError::Timeout(limit)
        );
        let started = std::thread::Builder::new()
            .name("jsafe-filter-watchdog".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    let mut w = watched.lock().unwrap_or_else(|p| p.into_inner());
                    if *w == Watch::Armed {
                        *w = Watch::Fired;
                        eprintln!("{message}");
                        std::process::exit(crate::error::Kind::BadInput.exit_code());
                    }
                }
            });
        // Without a watchdog thread (none could be started) the filter runs
        // unguarded rather than not at all.
        Watchdog {
            state,
            _wake_on_drop: started.ok().map(|_| tx),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if *w == Watch::Fired {
            // The process is exiting with the timeout's message; never return
            // to the write.
            drop(w);
            loop {
                std::thread::park();
            }
        }
        *w = Watch::Disarmed;
    }
}
