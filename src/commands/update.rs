//! `jsafe update FILE FILTER`: run a jq filter and store its one result. The
//! filter is compiled before the lock is taken, and a run that outlives
//! `--filter-timeout` ends the process (exit 4, one line): the kernel releases
//! the file's lock with it and nothing has been written, so a runaway filter
//! never holds the lock.

use super::{Global, check_file_filter_order, filter_args, indent_override, json_input};
use crate::cli::UpdateArgs;
use crate::error::{Error, Kind, Result};
use crate::json::filter::{Ending, Filter, FilterError};
use crate::store::{self, Change, OnCorrupt};
use std::cell::Cell;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Returns the exit code: 0, or what a `halt` in the filter decided (nothing
/// is written then).
pub fn run(g: &Global, args: &UpdateArgs) -> Result<i32> {
    let file = &args.file;
    check_file_filter_order("update", file, Some(&args.filter))?;
    let filter = Filter::compile_with(&args.filter, &filter_args(&args.vars)?)
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let default = json_input(Some(&args.default), "--default")?;
    let wait = g.waiter(file);
    let on_corrupt = if args.recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    let opts = g.options("update", indent_override(&args.style), on_corrupt, &wait);
    let halted = Cell::new(None);
    let name = file.to_string_lossy();
    let result = store::transact(file, &opts, |current| {
        let input = current.take_value().unwrap_or(default);
        let watchdog = Watchdog::arm(file, args.filter_timeout);
        let mut outputs = Vec::with_capacity(1);
        let ran = filter.run_each(&input, Some(&name), &super::read::side_output, &mut |v| {
            outputs.push(v);
            // Two outputs are already one too many: stop the filter there.
            if outputs.len() > 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        drop(watchdog);
        let ending = ran.map_err(|e| {
            Error::bad_input(format!("{}: {e}; nothing was written", file.display()))
        })?;
        if let Ending::Halted(code) = ending {
            halted.set(Some(code));
            return Err(Error::new(Kind::FilterHalted, "halted"));
        }
        if outputs.len() != 1 {
            let count = if ending == Ending::Stopped {
                "more than one value".to_owned()
            } else {
                format!("{} values", outputs.len())
            };
            return Err(Error::bad_input(format!(
                "{}: the filter produced {count}; it must produce exactly one (nothing was written)",
                file.display(),
            )));
        }
        Ok(Change::Value(outputs.remove(0)))
    });
    if let Some(code) = halted.get() {
        // A halting filter never writes: halt/halt_error(0) is exit 10, an
        // explicit halt_error(N) exits N as in jq.
        let code = match code & 0xff {
            0 => Kind::FilterHalted.exit_code(),
            c => c,
        };
        g.notice(&format!(
            "{}: the filter halted (exit {code}); nothing was written",
            file.display()
        ));
        return Ok(code);
    }
    let outcome = result?;
    g.report(file, &outcome);
    Ok(0)
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
