//! `jsafe read FILE [FILTER]`: no lock by default (every jsafe write is an atomic
//! rename, so a reader sees one whole version); `--lock` takes a shared lock for
//! files that other programs change in place. A parse failure is retried once
//! under the shared lock before it is reported as corruption.

use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::path::Path;

use super::shared::inherited::inherited;
use super::shared::jq;
use super::{Global, check_file_filter_order, json_input, print};
use crate::cli::ReadArgs;
use crate::error::{Error, Kind, Result, Untouched};
use crate::json::filter::{self, Ending, Filter, FilterError, Input, Render};
use crate::json::{Indent, ParseError, Style, Value};
use crate::store::{self, Change, Current, Format, OnCorrupt, lines};

/// Returns the exit code: 0, or what `-e` or a `halt` in the filter decided.
pub(crate) fn run(g: &Global, args: &ReadArgs) -> Result<i32> {
    if args.file.as_os_str() != "-" {
        check_file_filter_order("read", &args.file, args.filter.as_deref())?;
    }
    // Everything that can fail on the caller's input fails before the file is read.
    // The variables are read once (`--slurpfile`, `--rawfile`): the parts of
    // a filter read item by item are compiled with them too.
    let vars = match &args.filter {
        Some(_) => jq::guarded(|| super::filter_args(&args.vars))?,
        None => filter::Args::default(),
    };
    let filter = match &args.filter {
        Some(code) => Some(jq::compile_with_args(code, &vars)?),
        None => None,
    };
    let default = match &args.default {
        Some(d) => Some(json_input(Some(d), "--default")?),
        None => None,
    };
    let file = args.file.as_path();
    let stdin = file.as_os_str() == "-";
    let format = Format::of_or(file, args.lines);
    // The file as it is, byte for byte (see `store::read`); inside `jsafe
    // lock`, with a lock or a repair, the general path.
    if !stdin
        && filter.is_none()
        && !args.lock
        && !args.recover
        && format == Format::Document
        && !reformats(args)
        && !args.slurp
        && !args.null_input
        && std::env::var_os(super::shared::inherited::ENV).is_none()
        && !jq::spliced_off()
        && let Some(bytes) = store::read::valid_document(file)
    {
        g.detail(&format!(
            "{}: path filter: none, the file validated and printed as it is",
            file.display()
        ));
        return print_whole(bytes).map(|()| 0);
    }
    let current = if stdin {
        from_stdin(args)?
    } else {
        load_file(g, args, file, format)?
    };
    let format = current.doc().map_or(format, store::Doc::format);
    let size = current.doc().map_or(0, |d| d.bytes().len() as u64);
    let doc = match current {
        Current::Valid(doc) => {
            if filter.is_none() && !reformats(args) && !args.slurp && !args.null_input {
                // The file as it is, byte for byte.
                print_whole(doc.into_bytes())?;
                return Ok(0);
            }
            Some(doc)
        }
        Current::Missing => None,
        Current::Corrupt { error, bytes } => {
            if format == Format::Lines && lines::is_torn(&bytes, &error) {
                return Err(Error::new(Kind::Corrupt, format!("{}: {error}", file.display()))
                    .unchanged(Untouched::Printed)
                    .then(format!(
                        ". `jsafe read --recover {}` (or the next append to it) moves it to .jsafe/quarantine/ and keeps every whole line",
                        file.display()
                    )));
            }
            return Err(corrupt(file, &error, format));
        }
    };
    Reading {
        g,
        args,
        file,
        format,
        filter,
        vars,
        default,
        memory: args.filter_memory.limit(size),
    }
    .print(doc)
}

/// The inputs of a read, with their line numbers (0 for a document).
type Inputs<'a> = Box<dyn Iterator<Item = (usize, std::result::Result<Input, ParseError>)> + 'a>;

/// A read whose FILE was loaded and is not printed as it is.
struct Reading<'a> {
    g: &'a Global,
    args: &'a ReadArgs,
    file: &'a Path,
    format: Format,
    filter: Option<Filter>,
    /// The filter's variables, as read once.
    vars: filter::Args,
    default: Option<Value>,
    /// What the filter may allocate.
    memory: usize,
}

impl Reading<'_> {
    /// Print the filter's outputs (or the values) for the document `doc`
    /// (None: missing); the exit code.
    fn print(self, doc: Option<store::Doc>) -> Result<i32> {
        let file = self.file;
        let gathered = self.gather(doc.as_ref())?;
        let mut out = Output::new(
            self.args,
            self.format == Format::Lines && gathered.is_none(),
        );
        if gathered.is_none() && self.by_items(doc.as_ref(), &mut out)? {
            self.g.detail(&format!(
                "{}: path filter: the array mapped over was read item by item",
                file.display()
            ));
            return done(file, out, Ending::Finished, self.args);
        }
        if gathered.is_none() && self.by_spine(doc.as_ref(), &mut out)? {
            self.g.detail(&format!(
                "{}: path filter: only the addressed path was read",
                file.display()
            ));
            return done(file, out, Ending::Finished, self.args);
        }
        let whole_document = self.format == Format::Document && gathered.is_none();
        let inputs = self.inputs(doc.as_ref(), gathered)?;
        let parsed = |r: std::result::Result<Input, ParseError>| {
            r.map_err(|e| {
                Error::internal(format!(
                    "{}: a validated document does not parse: {e}",
                    file.display()
                ))
            })
        };
        // JSON Lines with a filter print like `jq -c`, one output per line.
        let Some(filter) = &self.filter else {
            for (_, input) in inputs {
                let input = parsed(input)?;
                if out.emit_output(&input, &input.whole()).is_break() {
                    break;
                }
            }
            return finish(file, out).map(|()| 0);
        };
        let name = file.to_string_lossy();
        let memory_line = self.memory_line();
        let mut ending = Ending::Finished;
        for (line, input) in inputs {
            let input = parsed(input)?;
            let ran = jq::run_limited(file, self.memory, &memory_line, || {
                filter.run_input(&input, Some(&name), &jq::side_output, &mut |v| {
                    out.emit_output(&input, &v)
                })
            })?;
            if whole_document {
                // The process ends after this read: freeing the input value by
                // value would cost more than the filter on a large document.
                std::mem::forget(input);
            }
            match ran {
                Ok(Ending::Finished) => {}
                Ok(e) => {
                    ending = e;
                    break;
                }
                Err(e) => {
                    // Outputs printed before an error stay printed; the error comes after them.
                    finish(file, out)?;
                    let at = if line > 0 {
                        format!(" (line {line})")
                    } else {
                        String::new()
                    };
                    return Err(Error::bad_input(format!("{}{at}: {e}", file.display())));
                }
            }
        }
        done(file, out, ending, self.args)
    }

    fn memory_line(&self) -> String {
        format!(
            "{}: the filter used more than {} of memory (--filter-memory); nothing more was printed",
            self.file.display(),
            crate::cli::show_size(self.memory)
        )
    }

    fn missing(&self) -> Error {
        Error::new(
            Kind::NotFound,
            format!(
                "{}: no such file (give --default JSON to get a value for a missing file)",
                self.file.display()
            ),
        )
    }

    /// -s: every value in one array, the one input; -n: null is the one
    /// input, and `input`/`inputs` hand out the values. None without them.
    fn gather(&self, doc: Option<&store::Doc>) -> Result<Option<Value>> {
        if !(self.args.slurp || self.args.null_input) {
            return Ok(None);
        }
        let values: Vec<Value> = match (doc, &self.default) {
            (Some(d), _) => d.values().collect::<Result<_>>()?,
            (None, Some(v)) => vec![v.clone()],
            (None, None) => return Err(self.missing()),
        };
        Ok(Some(if self.args.slurp {
            Value::Array(values)
        } else {
            if let Some(f) = &self.filter {
                f.set_inputs(values);
            }
            Value::Null
        }))
    }

    /// A filter that reads one path of a document (`.a.b`, `.events |
    /// length`, `.events[-1]`, `.events | map(.x)`) runs over what that path
    /// addresses only (see `Spine`): the rest of the file is checked, never
    /// read into values. Its outputs are held until it has finished; if it
    /// fails, it runs again on the whole document, which then prints and
    /// says exactly what it always has. True when it printed.
    fn by_spine(&self, doc: Option<&store::Doc>, out: &mut Output) -> Result<bool> {
        let spine = match (&self.args.filter, &self.filter, doc, self.format) {
            (Some(code), Some(_), Some(_), Format::Document) if !jq::spliced_off() => {
                filter::Spine::for_read(code)
            }
            _ => None,
        };
        let (Some(spine), Some(filter), Some(d)) = (&spine, &self.filter, doc) else {
            return Ok(false);
        };
        let Ok(input) = jq::spine_input(d, spine, false) else {
            return Ok(false);
        };
        let name = self.file.to_string_lossy();
        let mut outputs = Vec::new();
        let ran = jq::run_limited(self.file, self.memory, &self.memory_line(), || {
            filter.run_input(&input, Some(&name), &jq::side_output, &mut |v| {
                outputs.push(v);
                ControlFlow::Continue(())
            })
        })?;
        if ran != Ok(Ending::Finished) {
            return Ok(false);
        }
        print_held(out, input, outputs);
        Ok(true)
    }

    /// A filter that maps over the array at one path (`.events | map(.x)`,
    /// `[.events[] | select(.ok)] | length`, `.events[] | .id`; see
    /// `filter::Items`) in a document of 1 MiB or more (`jq::items_from`) reads that
    /// array one item at a time: each item's values are dropped once the
    /// mapped filter has run on it, so memory follows what the outputs keep.
    /// Its outputs are held until the filter has finished; anything else
    /// (an error, a document with escapes, no array at the path) gives up
    /// before printing, and the general path runs. True when it printed.
    fn by_items(&self, doc: Option<&store::Doc>, out: &mut Output) -> Result<bool> {
        let items = match (&self.args.filter, &self.filter, doc, self.format) {
            (Some(code), Some(_), Some(d), Format::Document)
                if !jq::spliced_off() && d.bytes().len() >= jq::items_from() =>
            {
                filter::Items::for_read(code)
            }
            _ => None,
        };
        let (Some(items), Some(d)) = (items, doc) else {
            return Ok(false);
        };
        let Ok(each) = jq::compile_with_args(items.each(), &self.vars) else {
            return Ok(false);
        };
        let then = match items.then().map(|g| jq::compile_with_args(g, &self.vars)) {
            None => None,
            Some(Ok(g)) => Some(g),
            Some(Err(_)) => return Ok(false),
        };
        let name = self.file.to_string_lossy();
        let mut outputs = Vec::new();
        let ran = jq::run_limited(self.file, self.memory, &self.memory_line(), || {
            let source = d.shared();
            let gathered = each.gather_items(
                &items,
                &source,
                *d.style(),
                d.outline(),
                Some(&name),
                &jq::side_output,
            )?;
            let Some(gathered) = gathered else {
                return Ok(None);
            };
            match &then {
                None if !items.collects() => outputs = gathered.gathered_outputs(),
                None => outputs.push(gathered.whole()),
                Some(g) => {
                    let ended =
                        g.run_input(&gathered, Some(&name), &jq::side_output, &mut |v| {
                            outputs.push(v);
                            ControlFlow::Continue(())
                        })?;
                    if ended != Ending::Finished {
                        return Ok(None);
                    }
                }
            }
            Ok::<_, FilterError>(Some(gathered))
        })?;
        let Ok(Some(input)) = ran else {
            return Ok(false);
        };
        print_held(out, input, outputs);
        Ok(true)
    }

    /// The inputs, straight into the filter's values, no tree of jsafe's own.
    fn inputs<'d>(
        &self,
        doc: Option<&'d store::Doc>,
        gathered: Option<Value>,
    ) -> Result<Inputs<'d>> {
        Ok(match (doc, self.format) {
            _ if gathered.is_some() => Box::new(std::iter::once((
                0,
                Ok(Input::from_value(gathered.as_ref().unwrap_or(&Value::Null))),
            ))),
            (Some(d), Format::Document) => Box::new(std::iter::once((
                0,
                Input::parse_for_printing(d.shared(), *d.style()),
            ))),
            (Some(d), Format::Lines) => {
                let shared = d.shared();
                let style = *d.style();
                Box::new(
                    lines::values(d.bytes()).map(move |(n, l)| {
                        (n, Input::parse_for_printing(shared.slice_ref(l), style))
                    }),
                )
            }
            (None, _) => {
                let default = self.default.as_ref().ok_or_else(|| self.missing())?;
                Box::new(std::iter::once((0, Ok(Input::from_value(default)))))
            }
        })
    }
}

/// The outputs a filter that read part of the document held until it had
/// finished (`by_spine`, `by_items`), printed; neither they nor the input
/// are dropped (the process ends soon, and dropping a tree costs).
fn print_held(out: &mut Output, input: Input, outputs: Vec<filter::Output>) {
    for v in &outputs {
        if out.emit_output(&input, v).is_break() {
            break;
        }
    }
    std::mem::forget(outputs);
    std::mem::forget(input);
}

/// Flush what was printed; the exit code for how the filter ended.
fn done(file: &std::path::Path, out: Output, ending: Ending, args: &ReadArgs) -> Result<i32> {
    let last_truthy = out.last_truthy;
    finish(file, out)?;
    Ok(match ending {
        Ending::Halted(code) => code & 0xff,
        Ending::Stopped => 0,
        Ending::Finished if args.exit_status => match last_truthy {
            None => Kind::NoOutput.exit_code(),
            Some(false) => Kind::FalseOutput.exit_code(),
            Some(true) => 0,
        },
        Ending::Finished => 0,
    })
}

/// FILE's current version: loaded (under a shared lock with `--lock`, or
/// once more under it when the first parse fails), repaired first with
/// `--recover`.
fn load_file(g: &Global, args: &ReadArgs, file: &Path, format: Format) -> Result<Current> {
    // Inside `jsafe lock` on this file: its lock is ours, never waited for.
    let inherited = inherited(file)?;

    let wait = g.waiter(file);
    let lock = (args.lock && inherited.is_none()).then_some((g.timeout, &wait as &dyn Fn(&str)));
    let loaded = store::Backend::load(file, g.timeout, lock)?;
    let mut current = loaded.current.reclassify(format);
    if matches!(current, Current::Corrupt { .. })
        && loaded.lock.is_none()
        && inherited.is_none()
        && let Some(again) = store::reload_if_locked(file, g.timeout, &wait)?
    {
        current = again.reclassify(format);
    }
    drop(loaded.lock);
    if let (Current::Corrupt { bytes, error }, true) = (&current, args.recover) {
        let held = match &inherited {
            Some(l) if l.mode() == store::Mode::Shared => return Err(store::shared_refusal(file)),
            other => other.as_ref(),
        };
        if format == Format::Lines && !lines::is_torn(bytes, error) {
            return Err(store::corrupt_error(file, error, Untouched::Printed).then(
                " (a damaged line inside a JSON Lines file is not repaired automatically: fix or remove it by hand)",
            ));
        }
        let opts = g
            .options("recover", None, OnCorrupt::Recover, &wait)
            .held(held);
        let outcome = if format == Format::Lines {
            store::append(file, &opts, &[])?
        } else {
            store::transact_again(file, &opts, |_| Ok(Change::Keep))?
        };
        if format == Format::Lines
            && let Some(q) = &outcome.quarantined
        {
            g.notice(&format!(
                "{}: its last line was torn (an append that did not finish); moved to {}",
                file.display(),
                q.display()
            ));
        } else {
            g.report(file, &outcome);
        }
        current = store::load(file, None)?.current.reclassify(format);
    }

    Ok(current)
}

/// A corrupt file, with only the next steps that work for it: `restore`
/// and `--recover` need a valid backup, which a JSON Lines log (appends
/// take none) and a file jsafe never changed do not have.
fn corrupt(file: &Path, error: &ParseError, format: Format) -> Error {
    let has_valid_backup = store::backups(file)
        .map(|(_, b)| b.newest_valid().is_some())
        .unwrap_or(false);
    if format == Format::Lines {
        return Error::new(
            Kind::Corrupt,
            format!("{}: not valid JSON Lines ({error})", file.display()),
        )
        .unchanged(Untouched::Printed)
        .then(". A damaged line inside a log is not repaired automatically and appends keep no backups: fix or remove that line by hand");
    }
    if has_valid_backup {
        return store::corrupt_error(file, error, Untouched::Printed);
    }
    Error::new(
        Kind::Corrupt,
        format!("{}: not valid JSON ({error})", file.display()),
    )
    .unchanged(Untouched::Printed)
    .then(". jsafe holds no valid backup of it to restore")
}

/// `read -`: stdin's bytes, as JSON Lines with `--lines`, else one document
/// or, when they are not one, one value per line. Nothing is created, no
/// lock is taken; invalid input is bad input (exit 4), not a corrupt file.
fn from_stdin(args: &ReadArgs) -> Result<Current> {
    if args.lock || args.recover || args.default.is_some() {
        return Err(Error::new(
            Kind::Usage,
            "read -: stdin has no lock, no backups and is never missing: --lock, --recover and --default do not apply",
        ));
    }
    let mut bytes = Vec::new();
    io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::new(Kind::Io, format!("cannot read stdin: {e}")))?;
    let current = if args.lines {
        Current::classify_as(bytes, Format::Lines)
    } else {
        match Current::classify(bytes) {
            Current::Corrupt { bytes, error } => match Current::classify_as(bytes, Format::Lines) {
                Current::Valid(d) => Current::Valid(d),
                _ => Current::Corrupt {
                    bytes: Vec::new(),
                    error,
                },
            },
            other => other,
        }
    };
    match current {
        Current::Corrupt { error, .. } => Err(Error::bad_input(format!(
            "stdin is not valid JSON: {error}"
        ))
        .unchanged(Untouched::Printed)),
        other => Ok(other),
    }
}

/// Flush what was printed, then report an output that could not be written
/// as JSON (the filter was stopped there).
fn finish(file: &std::path::Path, mut out: Output) -> Result<()> {
    out.finish()?;
    match out.unwritable.take() {
        Some(e) => Err(Error::bad_input(format!("{}: {e}", file.display()))),
        None => Ok(()),
    }
}

/// A flag that changes how the file's own bytes would be printed.
fn reformats(args: &ReadArgs) -> bool {
    args.compact
        || args.raw_output
        || args.join_output
        || args.ascii_output
        || args.sort_keys
        || args.tab
        || args.indent.is_some()
}

/// Prints outputs one by one as the filter produces them (buffered, so a
/// generator is not a write per value); a closed pipe stops the filter quietly.
struct Output {
    stdout: io::BufWriter<io::StdoutLock<'static>>,
    style: Style,
    raw: bool,
    newline: bool,
    sort_keys: bool,
    buf: Vec<u8>,
    failed: Option<io::Error>,
    /// An output that cannot be written as JSON (the filter stops there).
    unwritable: Option<FilterError>,
    /// Whether the last output was neither false nor null (for -e).
    last_truthy: Option<bool>,
}

impl Output {
    fn new(args: &ReadArgs, compact_default: bool) -> Output {
        let compact_default = compact_default && args.indent.is_none() && !args.tab;
        let indent = if args.compact || args.indent == Some(0) || compact_default {
            Indent::Compact {
                colon_space: false,
                comma_space: false,
            }
        } else if args.tab {
            Indent::Tab
        } else {
            Indent::Spaces(args.indent.unwrap_or(2))
        };
        Output {
            stdout: io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
            style: Style {
                indent,
                crlf: false,
                trailing_newline: !args.join_output,
                ensure_ascii: args.ascii_output,
            },
            raw: args.raw_output || args.join_output,
            newline: !args.join_output,
            sort_keys: args.sort_keys,
            buf: Vec::with_capacity(256),
            failed: None,
            unwritable: None,
            last_truthy: None,
        }
    }

    /// Print one output of `input`'s filter (or `input` itself).
    fn emit_output(&mut self, input: &Input, v: &filter::Output) -> ControlFlow<()> {
        self.last_truthy = Some(v.is_truthy());
        self.buf.clear();
        match v.text() {
            Some(text) if self.raw => self.raw_text(&text),
            _ => {
                let how = Render {
                    style: self.style,
                    sort_keys: self.sort_keys,
                    copy: false,
                };
                if let Err(e) = input.render_into(&mut self.buf, v, &how) {
                    self.unwritable = Some(e);
                    return ControlFlow::Break(());
                }
            }
        }
        self.write_buf()
    }

    /// A string as its text (`-r`, `-j`), `\u` escapes for non-ASCII with `-a`.
    fn raw_text(&mut self, text: &str) {
        if self.style.ensure_ascii {
            for c in text.chars() {
                if c.is_ascii() {
                    self.buf.push(c as u8);
                } else {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        self.buf.extend_from_slice(format!("\\u{u:04x}").as_bytes());
                    }
                }
            }
        } else {
            self.buf.extend_from_slice(text.as_bytes());
        }
        if self.newline {
            self.buf.push(b'\n');
        }
    }

    fn write_buf(&mut self) -> ControlFlow<()> {
        match self.stdout.write_all(&self.buf) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failed = Some(e);
                ControlFlow::Break(())
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        let flushed = self.stdout.flush();
        match self.failed.take().map_or(flushed, Err) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Error::new(Kind::Io, format!("cannot write to stdout: {e}"))),
        }
    }
}

/// A document printed as it is, ending with a newline.
fn print_whole(mut bytes: Vec<u8>) -> Result<()> {
    if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    print(&bytes)
}
