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

use super::shared::jq;
use super::{Global, diag};
use crate::cli::WatchArgs;
use crate::error::{Error, Kind, Result};
use crate::json::filter::Filter;
use crate::json::{self, Indent, Style, Value};
use crate::store::watch::{self, Event, Watch};
use crate::store::{self, Current, Format};

pub(crate) fn run(g: &Global, args: &WatchArgs) -> Result<i32> {
    let file = args.file.as_path();
    super::check_file_filter_order("watch", file, args.filter.as_deref())?;
    let format = Format::of_or(file, args.lines);
    let filter = match &args.filter {
        Some(code) => Some(jq::compile(code, &args.vars, None)?),
        None => None,
    };
    let idle = (g.timeout_given && g.timeout != Duration::MAX).then_some(g.timeout);
    let mut out = Printer {
        file,
        filter: filter.as_ref(),
        compact: args.compact,
        raw: args.raw_output,
        stdout: io::stdout().lock(),
    };
    if store::Backend::is_etcd(file) {
        if format == Format::Lines {
            return etcd_lines(g, args, &mut out, idle);
        }
        return etcd(g, args, &mut out, idle);
    }
    // Registered before the first read: nothing committed after it is missed.
    let mut w = Watch::new(file, format)?;
    let mut deadline = idle.and_then(|d| Instant::now().checked_add(d));
    let mut first = true;
    let mut last: Option<Vec<u8>> = None;
    let mut tail = Tail::default();
    loop {
        let show = !first || !(args.changes_only || args.once);
        let text = match format {
            Format::Document => document(file, &out)?,
            Format::Lines => match tail.read(file, &mut out, show)? {
                ControlFlow::Continue(text) => text,
                ControlFlow::Break(()) => return Ok(0),
            },
        };
        if let Some(text) = text {
            let news = format == Format::Lines || last.as_deref() != Some(&text[..]);
            if news {
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
            Event::TimedOut => return Err(idle_out(file, "no change", idle)),
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

/// No change printed within the idle limit (`--timeout`): exit 3.
fn idle_out(file: &std::path::Path, what: &str, idle: Option<Duration>) -> Error {
    Error::new(
        Kind::LockTimeout,
        format!(
            "{}: {what} within {}",
            file.display(),
            crate::time::human_precise(idle.unwrap_or_default())
        ),
    )
}

/// Where a watched JSON Lines file was read up to.
#[derive(Default)]
struct Tail {
    cursor: watch::Cursor,
    line_no: usize,
}

impl Tail {
    /// The output for every whole line there now, however large, before
    /// waiting: the next change may never come. A large backlog is printed
    /// as it comes (`show`) or passed over, not held whole. Break when
    /// stdout was closed.
    fn read(
        &mut self,
        file: &std::path::Path,
        out: &mut Printer,
        show: bool,
    ) -> Result<ControlFlow<(), Option<Vec<u8>>>> {
        let mut text = Vec::new();
        loop {
            let new = watch::read_new_lines(file, &mut self.cursor)?;
            if new.restarted {
                self.line_no = 0;
            }
            for line in &new.lines {
                self.line_no += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                text.extend(out.line(line, self.line_no)?);
            }
            for _ in 0..new.too_long {
                self.line_no += 1;
                diag(&format!(
                    "{}: line {} skipped: longer than a JSON Lines line may be ({})",
                    file.display(),
                    self.line_no,
                    crate::store::lines::max_line_text()
                ));
            }
            if !new.more {
                break;
            }
            if show && !text.is_empty() && !out.emit(&text)? {
                return Ok(ControlFlow::Break(()));
            }
            text.clear();
        }
        Ok(ControlFlow::Continue((!text.is_empty()).then_some(text)))
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
    text(loaded.current, out)
}

/// The output for one version; None when it is missing or not valid.
fn text(current: Current, out: &Printer) -> Result<Option<Vec<u8>>> {
    match current {
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
                let ran = jq::guarded(|| {
                    f.run_each(&value, Some(&name), &jq::side_output, &mut |v| {
                        outs.push(v);
                        ControlFlow::Continue(())
                    })
                });
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

    /// The output for line `line_no` of a log; nothing for a line that is
    /// not valid JSON (reported on stderr and skipped).
    fn line(&self, line: &[u8], line_no: usize) -> Result<Vec<u8>> {
        match json::parse(line) {
            Ok(v) => self.render(v),
            Err(e) => {
                diag(&format!(
                    "{}: line {line_no} skipped: not valid JSON ({e})",
                    self.file.display()
                ));
                Ok(Vec::new())
            }
        }
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

/// `watch etcd://…/LOG.jsonl`: the lines there now, then each new line once,
/// in commit order (resumed from the last revision after a reconnect or a
/// member failure). A line that is not valid JSON is reported on stderr and
/// skipped.
fn etcd_lines(
    g: &Global,
    args: &WatchArgs,
    out: &mut Printer,
    idle: Option<Duration>,
) -> Result<i32> {
    use store::etcd::watch::{Seen, Watcher};
    let file = out.file;
    let (mut w, first) = Watcher::start_lines(file, g.timeout)?;
    let mut batch = Some(first);
    let mut is_first = true;
    let mut line_no = 0usize;
    let mut deadline = idle.and_then(|d| Instant::now().checked_add(d));
    loop {
        if let Some(lines) = batch.take() {
            let show = !is_first || !(args.changes_only || args.once);
            let mut text = Vec::new();
            for line in lines {
                line_no += 1;
                text.extend(out.line(&line, line_no)?);
            }
            if show && !text.is_empty() {
                if !out.emit(&text)? {
                    return Ok(0);
                }
                deadline = idle.and_then(|d| Instant::now().checked_add(d));
                if args.once {
                    return Ok(0);
                }
            }
        }
        is_first = false;
        match w.next(deadline) {
            Seen::Lines(lines, _) => batch = Some(lines),
            Seen::TimedOut => return Err(idle_out(file, "no new line", idle)),
            Seen::Version(..) | Seen::Deleted(_) | Seen::Compacted(..) => {}
        }
    }
}

/// `watch etcd://…`: the version read first, then every later one from the
/// etcd watch (resumed from the last revision after a reconnect). Versions
/// that are not valid JSON are reported on stderr and skipped; a deleted key
/// prints nothing.
fn etcd(g: &Global, args: &WatchArgs, out: &mut Printer, idle: Option<Duration>) -> Result<i32> {
    let file = out.file;
    let (mut w, first) = store::etcd::watch::Watcher::start(file, g.timeout)?;
    let mut last: Option<Vec<u8>> = None;
    let mut version = first.map(Current::classify);
    let mut is_first = true;
    let mut deadline = idle.and_then(|d| Instant::now().checked_add(d));
    loop {
        if let Some(current) = version.take() {
            if let Current::Corrupt { error, .. } = &current {
                diag(&format!(
                    "{}: a version that is not valid JSON skipped ({error})",
                    file.display()
                ));
            }
            if let Some(text) = text(current, out)?
                && last.as_deref() != Some(&text[..])
            {
                let show = !is_first || !(args.changes_only || args.once);
                if show {
                    if !out.emit(&text)? {
                        return Ok(0);
                    }
                    deadline = idle.and_then(|d| Instant::now().checked_add(d));
                }
                last = Some(text);
                if show && args.once {
                    return Ok(0);
                }
            }
        }
        is_first = false;
        match w.next(deadline) {
            store::etcd::watch::Seen::Version(bytes, _) => version = Some(Current::classify(bytes)),
            store::etcd::watch::Seen::Deleted(_) | store::etcd::watch::Seen::Lines(..) => {}
            store::etcd::watch::Seen::Compacted(bytes, rev) => {
                diag(&format!(
                    "{}: the cluster compacted its history while the watch was away; showing the version at revision {rev} (versions in between are not shown)",
                    file.display()
                ));
                version = bytes.map(Current::classify);
            }
            store::etcd::watch::Seen::TimedOut => {
                return Err(idle_out(file, "no change", idle));
            }
        }
    }
}
