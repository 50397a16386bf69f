//! `jsafe watch FILE [FILTER]`: print the (filtered) value now and again
//! after every committed change, without polling (inotify on the file's
//! directory, see `store::watch`).
//!
//! Only whole, valid versions are printed: every version is read with
//! `store::load` after the change's rename, and one that is missing or not
//! valid JSON (a non-jsafe writer in the middle of a write) is skipped until
//! the next change. A version whose output equals the last one printed is
//! not printed again. The watch is registered before the first read, so a
//! change is never missed; several changes in quick succession may be shown
//! as their final version.
//!
//! A JSON Lines file is followed like `tail -f` that understands lines: each
//! whole line appended is printed (filtered); a line not yet ended is
//! waited for, an invalid one is reported on stderr and skipped.
//!
//! `--once`: wait for the next change, print it, exit 0. `--timeout SECS`
//! (given on the command line; `JSAFE_TIMEOUT` is the lock timeout and is
//! not used here): exit 3 when no change was printed for that long.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::{Global, diag, filter_args};
use crate::cli::WatchArgs;
use crate::error::{Error, Kind, Result};
use crate::json::filter::Filter;
use crate::json::{self, Indent, Style, Value};
use crate::store::watch::{self, Event, Watch};
use crate::store::{self, Current, Format};

pub fn run(g: &Global, args: &WatchArgs) -> Result<i32> {
    let file = args.file.as_path();
    super::check_file_filter_order("watch", file, args.filter.as_deref())?;
    let format = Format::of_or(file, args.lines);
    let filter = match &args.filter {
        Some(code) => Some({
            let _running = crate::sys::FilterRunning::start();
            Filter::compile_with(code, &filter_args(&args.vars)?)
                .map_err(|e| Error::bad_input(e.to_string()))?
        }),
        None => None,
    };
    let idle = (g.timeout_given && g.timeout != Duration::MAX).then_some(g.timeout);
    // Registered before the first read: nothing committed after it is missed.
    let mut w = Watch::new(file, format)?;
    let mut out = Printer {
        file,
        filter: filter.as_ref(),
        compact: args.compact,
        raw: args.raw_output,
        stdout: io::stdout().lock(),
    };
    let mut deadline = idle.and_then(|d| Instant::now().checked_add(d));
    let mut first = true;
    let mut last: Option<Vec<u8>> = None;
    let mut cursor = watch::Cursor::default();
    let mut line_no = 0usize;
    loop {
        let text = match format {
            Format::Document => document(file, &out)?,
            Format::Lines => {
                let new = watch::read_new_lines(file, &mut cursor)?;
                if new.restarted {
                    line_no = 0;
                }
                let mut text = Vec::new();
                for line in &new.lines {
                    line_no += 1;
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match json::parse(line) {
                        Ok(v) => text.extend(out.render(v)?),
                        Err(e) => diag(&format!(
                            "{}: line {line_no} skipped: not valid JSON ({e})",
                            file.display()
                        )),
                    }
                }
                (!text.is_empty()).then_some(text)
            }
        };
        if let Some(text) = text {
            let news = format == Format::Lines || last.as_deref() != Some(&text[..]);
            if news {
                let show = !first || !(args.changes_only || args.once);
                if show {
                    if !out.emit(&text)? {
                        return Ok(0); // the reader went away
                    }
                    deadline = idle.and_then(|d| Instant::now().checked_add(d));
                }
                last = Some(text);
                if show && args.once {
                    return Ok(0);
                }
            }
        }
        if first {
            g.detail(&format!(
                "{}: watching {}",
                file.display(),
                w.real().display()
            ));
        }
        first = false;
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let stdout = std::os::fd::AsFd::as_fd(&out.stdout);
        match w.wait_writing_to(left, Some(stdout))? {
            Event::Changed => {}
            Event::OutputClosed => return Ok(0),
            Event::TimedOut => {
                return Err(Error::new(
                    Kind::LockTimeout,
                    format!(
                        "{}: no change within {}",
                        file.display(),
                        crate::time::human_precise(idle.unwrap_or_default())
                    ),
                ));
            }
            Event::DirGone => {
                return Err(Error::new(
                    Kind::NotFound,
                    format!(
                        "{}: its directory was removed or moved; nothing more to watch",
                        w.real().display()
                    ),
                ));
            }
        }
    }
}

/// The output for the current version of a document; None when it is
/// missing or not valid (skipped until the next change).
fn document(file: &std::path::Path, out: &Printer) -> Result<Option<Vec<u8>>> {
    let loaded = match store::load(file, None) {
        Ok(l) => l,
        Err(e) if e.kind() == Kind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match loaded.current {
        Current::Valid(doc) => {
            if out.filter.is_none() && !out.compact && !out.raw {
                let mut bytes = doc.into_bytes();
                if bytes.last() != Some(&b'\n') {
                    bytes.push(b'\n');
                }
                return Ok(Some(bytes));
            }
            out.render(doc.value()?).map(Some)
        }
        Current::Missing | Current::Corrupt { .. } => Ok(None),
    }
}

struct Printer<'a> {
    file: &'a std::path::Path,
    filter: Option<&'a Filter>,
    compact: bool,
    raw: bool,
    stdout: io::StdoutLock<'static>,
}

impl Printer<'_> {
    /// The filter's outputs for `value` (or `value` itself), one per line.
    fn render(&self, value: Value) -> Result<Vec<u8>> {
        let outputs = match self.filter {
            None => vec![value],
            Some(f) => {
                let name = self.file.to_string_lossy();
                let mut outs = Vec::new();
                let ran = {
                    let _running = crate::sys::FilterRunning::start();
                    f.run_each(&value, Some(&name), &super::read::side_output, &mut |v| {
                        outs.push(v);
                        ControlFlow::Continue(())
                    })
                };
                if let Err(e) = ran {
                    diag(&format!("{}: {e}", self.file.display()));
                }
                outs
            }
        };
        let style = Style {
            indent: if self.compact {
                Indent::Compact {
                    colon_space: false,
                    comma_space: false,
                }
            } else {
                Indent::Spaces(2)
            },
            crlf: false,
            trailing_newline: true,
            ensure_ascii: false,
        };
        let mut buf = Vec::new();
        for v in outputs {
            match v {
                Value::String(s) if self.raw => {
                    buf.extend_from_slice(s.value.as_bytes());
                    buf.push(b'\n');
                }
                v => json::render_into(&mut buf, &v, &style),
            }
        }
        Ok(buf)
    }

    /// Print and flush; false when stdout is closed.
    fn emit(&mut self, bytes: &[u8]) -> Result<bool> {
        match self
            .stdout
            .write_all(bytes)
            .and_then(|()| self.stdout.flush())
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(Error::new(Kind::Io, format!("cannot write to stdout: {e}"))),
        }
    }
}
