//! Running a jq filter from a command: the guard every compile and run sits
//! behind (a stack overflow or memory stop inside is then the filter's, see
//! [`crate::sys::FilterRunning`]), the sink that wants exactly one output,
//! and where `debug`, `stderr` and `halt_error` write.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::Path;

use crate::cli::VarArgs;
use crate::error::{Error, Kind, Result};
use crate::json::filter::{Args, Filter, Side};

/// Run `f` (a filter's compile or run) behind the filter guard.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> T {
    let _running = crate::sys::FilterRunning::start();
    f()
}

/// Run `f` (a filter's run over a file's value) guarded, with the memory
/// limit `memory` armed (no time limit: a read holds no lock while its
/// filter runs); `memory_line` is what a run past it ends with.
pub(crate) fn run_limited<T>(
    file: &Path,
    memory: usize,
    memory_line: &str,
    f: impl FnOnce() -> T,
) -> Result<T> {
    let _limits = crate::sys::Limits::arm(None, Some(memory), "", memory_line)
        .map_err(|e| Error::new(Kind::Io, format!("{}: {e}", file.display())))?;
    Ok(guarded(f))
}

/// Compile `code` with the variables of `vars` (and `$slot` bound per run
/// when given), guarded; a filter that does not compile is bad input.
pub(crate) fn compile(code: &str, vars: &VarArgs, slot: Option<&str>) -> Result<Filter> {
    guarded(|| {
        let vars = super::super::filter_args(vars)?;
        match slot {
            Some(slot) => Filter::compile_with_slot(code, &vars, slot),
            None => Filter::compile_with(code, &vars),
        }
        .map_err(|e| Error::bad_input(e.to_string()))
    })
}

/// [`compile`] with the variables already read (`filter_args`): for the
/// parts of one command's filter compiled on their own (`read` item by
/// item), so that `--slurpfile` and `--rawfile` files are read once and
/// every part sees the same values.
pub(crate) fn compile_with_args(code: &str, vars: &Args) -> Result<Filter> {
    guarded(|| Filter::compile_with(code, vars).map_err(|e| Error::bad_input(e.to_string())))
}

/// A sink for a filter that must produce exactly one value: it keeps the
/// outputs in `outputs` and stops the filter at the second (already one too
/// many).
pub(crate) fn one_output<T>(outputs: &mut Vec<T>) -> impl FnMut(T) -> ControlFlow<()> + '_ {
    move |v| {
        outputs.push(v);
        if outputs.len() > 1 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// `debug`, `stderr` and `halt_error` write to stderr as they run.
pub(crate) fn side_output(side: Side<'_>) {
    let mut err = io::stderr().lock();
    let text = match side {
        Side::Stderr(t) | Side::Debug(t) | Side::HaltError(t) => t,
    };
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// `update` and `read` take the general path only (`JSAFE_NO_SPLICE` set):
/// for comparing the two paths from outside (scripts/jq-conformance
/// --compare-paths, scripts/bench).
pub(crate) fn spliced_off() -> bool {
    std::env::var_os("JSAFE_NO_SPLICE").is_some()
}

/// From this size on, `read` reads the array a filter maps over item by
/// item (`filter::Items`): below it the whole document's values cost less
/// than compiling the mapped filter and the one after it once more (about
/// half a million instructions). `JSAFE_ITEMS_FROM=BYTES` sets another size,
/// to compare the two paths on small documents from outside (tests,
/// scripts/jq-conformance --compare-paths): both print the same.
pub(crate) fn items_from() -> usize {
    std::env::var("JSAFE_ITEMS_FROM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 20)
}

/// A stored document read as `spine` needs it ([`Input::parse_spine`]). A
/// document (not JSON Lines) was validated whole when it was loaded, so
/// what lies off the spine is skipped without a second check.
pub(crate) fn spine_input(
    doc: &crate::store::Doc,
    spine: &crate::json::filter::Spine,
    containers: bool,
) -> std::result::Result<crate::json::filter::Input, crate::json::ParseError> {
    use crate::json::filter::Input;
    if doc.format() == crate::store::Format::Document {
        Input::parse_spine_stored(doc.shared(), *doc.style(), spine, containers, doc.outline())
    } else {
        Input::parse_spine(doc.shared(), *doc.style(), spine, containers)
    }
}
