//! `jsafe update FILE FILTER`: run a jq filter and store its one result. The
//! filter is compiled before the lock is taken, and a run that outlives
//! `--filter-timeout` or allocates more than `--filter-memory` ends the
//! process (exit 4, one line): the kernel releases the file's lock with it and
//! nothing has been written, so a runaway filter never holds the lock.
//!
//! `--stream` reads one JSON value per line from stdin and runs the filter
//! once per value with `$in` bound to it, in order; values waiting together
//! are applied in one write (see [`super::stream`]). The limits apply to
//! each run.

use super::lock::inherited_for_change;
use super::stream::{Item, Stream};
use super::{
    Global, check_file_filter_order, filter_args, indent_override, json_input, schema_check,
};
use crate::cli::FilterMemory;
use crate::cli::UpdateArgs;
use crate::error::{Error, Kind, Result};
use crate::json::Style;
use crate::json::filter::{Ending, Filter, FilterError, Input, Output, Render, Spine};
use crate::store::{self, Change, Current, OnCorrupt};
use std::cell::Cell;
use std::ops::ControlFlow;

/// Returns the exit code: 0, or what a `halt` in the filter decided (nothing
/// is written then).
pub fn run(g: &Global, args: &UpdateArgs) -> Result<i32> {
    let file = &args.file;
    check_file_filter_order("update", file, Some(&args.filter))?;
    super::refuse_json_lines("update", file)?;
    let mut filter = {
        let _running = crate::sys::FilterRunning::start();
        let vars = filter_args(&args.vars)?;
        if args.stream {
            Filter::compile_with_slot(&args.filter, &vars, "in")
        } else {
            Filter::compile_with(&args.filter, &vars)
        }
        .map_err(|e| Error::bad_input(e.to_string()))?
    };
    let default = json_input(Some(&args.default), "--default")?;
    let check = schema_check(args.schema.as_deref())?;
    let held = inherited_for_change(file)?;
    let wait = g.waiter(file);
    let on_corrupt = if args.recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    let indent = indent_override(&args.style);
    let opts = g
        .options("update", indent, on_corrupt, &wait)
        .held(held.as_ref())
        .check(check.as_deref());
    let timeout_line = format!(
        "{}: {}; nothing was written",
        file.display(),
        FilterError::Timeout(args.filter_timeout)
    );
    if args.stream {
        let limits = (args.filter_timeout, args.filter_memory, &timeout_line[..]);
        return stream(
            g,
            file,
            &opts,
            &mut filter,
            &default,
            args.schema.as_deref(),
            limits,
        )
        .map(|()| 0);
    }
    // Recognised before the lock is taken (see `Spine`).
    let spine = (!super::read::spliced_off())
        .then(|| Spine::for_update(&args.filter))
        .flatten();
    let halted = Cell::new(None);
    let spliced = Cell::new(false);
    let name = file.to_string_lossy();
    let result = store::transact(file, &opts, |current| {
        // The document straight into the filter's values, before the limits
        // are armed: reading it is not the filter's doing.
        let size = current.doc().map_or(0, |d| d.bytes().len() as u64);
        let memory = args.filter_memory.limit(size);
        let memory_line = format!(
            "{}: the filter used more than {} of memory (--filter-memory); nothing was written",
            file.display(),
            crate::cli::show_size(memory)
        );
        let mut style = match current {
            Current::Valid(doc) => *doc.style(),
            Current::Missing | Current::Corrupt { .. } => Style::new_file(),
        };
        if let Some(indent) = indent {
            style.indent = indent;
        }
        // The filter runs with its limits armed after the lock is taken and
        // the file read: the limits are the filter's own. A timer that
        // cannot be armed means no run.
        let run =
            |input: &Input| -> Result<(std::result::Result<Ending, FilterError>, Vec<Output>)> {
                let mut outputs = Vec::with_capacity(1);
                let _limits = arm(
                    file,
                    args.filter_timeout,
                    memory,
                    &timeout_line,
                    &memory_line,
                )?;
                let _running = crate::sys::FilterRunning::start();
                let ran =
                    filter.run_input(input, Some(&name), &super::read::side_output, &mut |v| {
                        outputs.push(v);
                        // Two outputs are already one too many: stop the filter there.
                        if outputs.len() > 1 {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    });
                Ok((ran, outputs))
            };
        let how = Render {
            style,
            sort_keys: false,
            copy: true,
        };
        // A path update reads only the paths it addresses and splices its
        // result into the file's bytes (see `Spine`); it needs the output
        // in the file's own layout, so that what it skipped is copied back.
        // Anything but one stored value runs again on the whole document,
        // which then says what went wrong exactly as it always has.
        if let (Some(spine), Current::Valid(doc), None) = (&spine, &current, indent)
            && let Ok(input) = Input::parse_spine(doc.shared(), *doc.style(), spine, true)
        {
            let (ran, outputs) = run(&input)?;
            if let (Ok(Ending::Finished), [output]) = (&ran, &outputs[..])
                && let Ok(valid) = input.render_document(output, &how)
            {
                std::mem::forget(outputs);
                std::mem::forget(input);
                spliced.set(true);
                return Ok(Change::Valid(valid));
            }
        }
        let input = match current {
            Current::Valid(doc) => Input::parse(doc.shared(), *doc.style()).map_err(|e| {
                Error::internal(format!(
                    "{}: a validated document does not parse: {e}",
                    file.display()
                ))
            })?,
            Current::Missing | Current::Corrupt { .. } => Input::from_value(&default),
        };
        let (ran, outputs) = run(&input)?;
        let stored = |e: FilterError| {
            Error::bad_input(format!("{}: {e}; nothing was written", file.display()))
        };
        let ending = ran.map_err(stored)?;
        if let Ending::Halted(code) = ending {
            halted.set(Some(code));
            return Err(Error::new(Kind::FilterHalted, "halted"));
        }
        let [output] = &outputs[..] else {
            let count = if ending == Ending::Stopped {
                "more than one value".to_owned()
            } else {
                format!("{} values", outputs.len())
            };
            return Err(Error::bad_input(format!(
                "{}: the filter produced {count}; it must produce exactly one (nothing was written)",
                file.display(),
            )));
        };
        if matches!(current, Current::Corrupt { .. }) {
            // The store lays out what replaces a corrupt file.
            return Ok(Change::Value(output.to_value().map_err(stored)?));
        }
        // In the file's style, what the filter left untouched is copied
        // from the bytes on disk.
        let valid = input.render_document(output, &how).map_err(stored)?;
        // This process ends after this one transaction: freeing the values
        // one by one (a million small allocations for a 20 MB document)
        // would cost more than writing the new version. The store keeps the
        // old bytes shared, so nothing is copied for the slices left behind.
        std::mem::forget(outputs);
        std::mem::forget(input);
        Ok(Change::Valid(valid))
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
    if spliced.get() {
        g.detail(&format!(
            "{}: path update: only the addressed paths were read, the rest copied",
            file.display()
        ));
    }
    let outcome = result?;
    g.report(file, &outcome);
    Ok(0)
}

/// `update --stream`: the filter once per stdin value (as `$in`), in order.
fn stream(
    g: &Global,
    file: &std::path::Path,
    opts: &store::Options,
    filter: &mut Filter,
    default: &crate::json::Value,
    schema: Option<&std::path::Path>,
    (time, memory, timeout_line): (std::time::Duration, FilterMemory, &str),
) -> Result<()> {
    let name = file.to_string_lossy();
    let versions = super::stream::VersionCheck::load(file, schema)?;
    let mut apply = |items: &[Item]| -> Result<Option<(usize, Error)>> {
        let mut failed = None;
        let outcome = store::transact(file, opts, |current| {
            let size = current.doc().map_or(0, |d| d.bytes().len() as u64);
            let memory = memory.limit(size);
            let memory_line = format!(
                "{}: the filter used more than {} of memory (--filter-memory); nothing was written",
                file.display(),
                crate::cli::show_size(memory)
            );
            let mut doc = current.take_value().unwrap_or_else(|| default.clone());
            for (k, it) in items.iter().enumerate() {
                filter.set_slot(&it.value);
                let mut outputs = Vec::with_capacity(1);
                let ran = {
                    let _limits = arm(file, time, memory, timeout_line, &memory_line)?;
                    let _running = crate::sys::FilterRunning::start();
                    filter.run_each(&doc, Some(&name), &super::read::side_output, &mut |v| {
                        outputs.push(v);
                        if outputs.len() > 1 {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    })
                };
                let why = match ran {
                    Err(e) => Some(Error::bad_input(e.to_string())),
                    Ok(Ending::Halted(_)) => Some(Error::new(
                        Kind::FilterHalted,
                        "the filter halted".to_owned(),
                    )),
                    Ok(_) if outputs.len() != 1 => Some(Error::bad_input(format!(
                        "the filter produced {} values; it must produce exactly one",
                        if outputs.len() > 1 {
                            "more than one".to_owned()
                        } else {
                            "no".to_owned()
                        }
                    ))),
                    Ok(_) => None,
                };
                if let Some(e) = why {
                    failed = Some((
                        k,
                        e.map_message(|m| {
                            format!("{}: stdin line {}: {m}", file.display(), it.line)
                        }),
                    ));
                    if k == 0 {
                        return Ok(Change::Keep);
                    }
                    break;
                }
                let next = outputs.remove(0);
                if let Some(Err(why)) = versions.as_ref().map(|v| v.check(&next)) {
                    failed = Some((
                        k,
                        Error::bad_input(format!(
                            "{}: stdin line {}: {why}",
                            file.display(),
                            it.line
                        )),
                    ));
                    if k == 0 {
                        return Ok(Change::Keep);
                    }
                    break;
                }
                doc = next;
            }
            Ok(Change::Value(doc))
        })?;
        g.report(file, &outcome);
        Ok(failed)
    };
    let mut stream = Stream::stdin()?;
    let done = stream.run(&mut apply);
    g.detail(&format!(
        "{}: {} values applied in {} writes",
        file.display(),
        stream.values,
        stream.writes
    ));
    done
}

/// Arm a filter run's time and memory limits; a timer that cannot be armed
/// means no run (the filter must never hold the lock unguarded).
fn arm(
    file: &std::path::Path,
    time: std::time::Duration,
    memory: usize,
    timeout_line: &str,
    memory_line: &str,
) -> Result<crate::sys::Limits> {
    crate::sys::Limits::arm(Some(time), Some(memory), timeout_line, memory_line).map_err(|e| {
        Error::new(
            Kind::Io,
            format!(
                "{}: cannot arm the filter's time limit: {e}; nothing was written",
                file.display()
            ),
        )
    })
}
