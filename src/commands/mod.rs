//! One module per subcommand, each a short function over `store` and `json`.
//! Commands never touch a data file except through `store`.

pub(crate) mod append;
pub(crate) mod cleanup;
pub(crate) mod completions;
pub(crate) mod etcd;
pub(crate) mod forget;
pub(crate) mod generate;
pub(crate) mod lock;
pub(crate) mod merge;
pub(crate) mod read;
pub(crate) mod restore;
pub(crate) mod rotate;
pub(crate) mod schema;
pub(crate) mod shared;
pub(crate) mod status;
pub(crate) mod stream;
pub(crate) mod test;
pub(crate) mod update;
pub(crate) mod watch;
pub(crate) mod write;

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Kind, Result};
use crate::json::{self, Indent, Value};
use crate::store::{OnCorrupt, Options, Outcome};

/// One line on stderr. A stderr that is closed or full is ignored: the exit
/// code stays the documented one (a failed diagnostic never aborts).
pub(crate) fn diag(line: &str) {
    // One line whatever the message holds: a file name may contain a newline.
    let line = line.replace('\r', "\\r").replace('\n', "\\n");
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "jsafe: {line}");
}

/// Settings every command shares (the global flags, after environment and defaults).
#[derive(Clone, Debug)]
pub(crate) struct Global {
    pub timeout: Duration,
    pub keep: usize,
    pub backup: bool,
    pub sync: bool,
    pub journal: bool,
    pub split_links: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// --timeout was given on the command line (`watch` obeys only that).
    pub timeout_given: bool,
}

impl Global {
    /// Transaction options for `operation`.
    pub(crate) fn options<'a>(
        &self,
        operation: &'a str,
        indent: Option<Indent>,
        on_corrupt: OnCorrupt,
        on_wait: &'a dyn Fn(&str),
    ) -> Options<'a> {
        Options::new(operation)
            .timeout(self.timeout)
            .keep(if self.backup { self.keep } else { 0 })
            .sync(self.sync)
            .journal(self.journal)
            .indent(indent)
            .on_corrupt(on_corrupt)
            .split_links(self.split_links)
            .on_wait(on_wait)
    }

    /// A line on stderr, unless --quiet.
    pub(crate) fn notice(&self, line: &str) {
        if !self.quiet {
            diag(line);
        }
    }

    /// A line on stderr with --verbose only.
    pub(crate) fn detail(&self, line: &str) {
        if self.verbose {
            diag(line);
        }
    }

    /// What the user should hear about a finished transaction.
    pub(crate) fn report(&self, file: &Path, outcome: &Outcome) {
        for w in &outcome.warnings {
            self.notice(w);
        }
        for t in &outcome.removed_temps {
            self.notice(&format!(
                "{}: removed {}, the temp file of a write that did not finish",
                file.display(),
                t.display()
            ));
        }
        if let Some(q) = &outcome.quarantined {
            let why = if outcome.recovered_from.is_some() {
                "was not valid JSON"
            } else {
                "was not valid JSON and was replaced"
            };
            self.notice(&format!(
                "{}: {why}; the corrupt bytes are kept in {}",
                file.display(),
                q.display()
            ));
        }
        if let Some(b) = &outcome.recovered_from {
            self.notice(&format!("{}: recovered from backup {b}", file.display()));
        }
        if outcome.changed {
            let backup = outcome
                .backup
                .as_deref()
                .map_or(String::new(), |b| format!(", backup {b}"));
            self.detail(&format!(
                "{}: written ({} bytes){backup}",
                file.display(),
                outcome.bytes_after
            ));
        } else {
            self.detail(&format!("{}: unchanged, nothing written", file.display()));
        }
    }

    /// The callback a transaction calls when it has to wait for the lock.
    pub(crate) fn waiter(&self, file: &Path) -> impl Fn(&str) + use<'_> {
        let file = file.to_path_buf();
        move |who: &str| {
            self.detail(&format!("{}: waiting for the lock, {who}", file.display()));
        }
    }
}

/// No space anywhere: `--compact`, `--indent 0`, a JSON Lines line.
pub(crate) const COMPACT: Indent = Indent::Compact {
    colon_space: false,
    comma_space: false,
};

/// The formatting override chosen by --compact / --indent / --tab.
pub(crate) fn indent_override(style: &crate::cli::StyleArgs) -> Option<Indent> {
    if style.compact || style.indent == Some(0) {
        Some(COMPACT)
    } else if style.tab {
        Some(Indent::Tab)
    } else {
        style.indent.map(Indent::Spaces)
    }
}

/// `write`, `merge` and `update` change JSON documents: a JSON Lines file
/// (by its name) is refused before anything is read (exit 2).
pub(crate) fn refuse_json_lines(command: &str, file: &Path) -> Result<()> {
    if crate::store::Format::of(file) == crate::store::Format::Lines {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: a JSON Lines file (one value per line): `jsafe {command}` changes JSON documents; `jsafe append` adds lines, `jsafe read` reads them",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// A one-off schema check for `--schema SCHEMA.json` (None without it): the
/// schema is read and compiled before any lock is taken.
pub(crate) fn schema_check(
    schema: Option<&Path>,
) -> Result<Option<Box<crate::store::Check<'static>>>> {
    let Some(path) = schema else {
        return Ok(None);
    };
    let bytes = read_arg_file(path.as_os_str(), "--schema")?;
    let compiled = crate::store::Schema::compile(&bytes)
        .map_err(|why| Error::bad_input(format!("--schema {}: {why}", path.display())))?;
    let shown = path.display().to_string();
    Ok(Some(Box::new(move |bytes: &[u8]| {
        compiled
            .check(bytes, crate::store::Format::Document)
            .map_err(|why| {
                Error::bad_input(format!("the result does not match --schema {shown} {why}"))
                    .unchanged(crate::error::Untouched::Written)
            })
    })))
}

/// An argument as UTF-8 text (exit 4 otherwise).
pub(crate) fn utf8_arg<'a>(arg: &'a OsStr, what: &str) -> Result<&'a str> {
    arg.to_str()
        .ok_or_else(|| Error::bad_input(format!("{what} is not valid UTF-8")))
}

/// Parse JSON given as an argument, or read from stdin when `arg` is None or "-".
pub(crate) fn json_input(arg: Option<&OsStr>, what: &str) -> Result<Value> {
    let bytes = match arg {
        Some(a) if a != "-" => utf8_arg(a, what)?.as_bytes().to_vec(),
        _ => {
            let mut buf = Vec::new();
            io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Error::new(Kind::Io, format!("cannot read {what} from stdin: {e}")))?;
            buf
        }
    };
    json::parse(&bytes).map_err(|e| Error::bad_input(format!("{what} is not valid JSON: {e}")))
}

/// The value argument of `merge`, `write` and `append`: literal JSON (or
/// stdin for None or "-") without variables; with any `--arg`-like variable,
/// a jq expression evaluated with `null` input that must produce exactly one
/// value. The way to put shell values into JSON: a value bound by `--arg`
/// is a string, whatever characters it holds. Evaluated before any lock is
/// taken.
pub(crate) fn value_input(
    arg: Option<&OsStr>,
    vars: &crate::cli::VarArgs,
    what: &str,
) -> Result<Value> {
    if !vars.given() {
        if !vars.positional.is_empty() {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "unexpected argument after {what}: values for $ARGS.positional need --args or --jsonargs, and literal JSON takes none"
                ),
            ));
        }
        return json_input(arg, what);
    }
    let code = match arg {
        Some(a) if a != "-" => utf8_arg(a, what)?,
        _ => {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "with --arg, --argjson, --slurpfile, --rawfile, --args or --jsonargs, {what} is a jq expression given as an argument (like '{{host: $h}}'), not read from stdin"
                ),
            ));
        }
    };
    let mut outputs = Vec::with_capacity(1);
    let ended = shared::jq::guarded(|| {
        let filter = crate::json::filter::Filter::compile_with(code, &filter_args(vars)?)
            .map_err(|e| Error::bad_input(format!("{what}: {e}")))?;
        filter
            .run_each(
                &Value::Null,
                None,
                &shared::jq::side_output,
                &mut shared::jq::one_output(&mut outputs),
            )
            .map_err(|e| Error::bad_input(format!("{what}: {e}")))
    })?;
    if let crate::json::filter::Ending::Halted(code) = ended {
        return Err(
            Error::bad_input(format!("{what}: the expression halted (code {code})"))
                .unchanged(crate::error::Untouched::Written),
        );
    }
    match outputs.len() {
        1 => Ok(outputs.remove(0)),
        0 => Err(Error::bad_input(format!(
            "{what}: the expression produced no value; it must produce exactly one"
        ))),
        _ => Err(Error::bad_input(format!(
            "{what}: the expression produced more than one value; it must produce exactly one"
        ))),
    }
}

/// `--arg`/`--argjson`/`--slurpfile`/`--rawfile` and `--args`/`--jsonargs`
/// as the filter's variables.
pub(crate) fn filter_args(vars: &crate::cli::VarArgs) -> Result<crate::json::filter::Args> {
    let mut named = Vec::new();
    for pair in vars.arg.chunks(2) {
        if let [name, value] = pair {
            let name = utf8_arg(name, "--arg name")?;
            let value = utf8_arg(value, &format!("--arg {name} value"))?;
            named.push((name.to_owned(), Value::from(value)));
        }
    }
    for pair in vars.argjson.chunks(2) {
        if let [name, value] = pair {
            let name = utf8_arg(name, "--argjson name")?.to_owned();
            let value = json_input(Some(value), &format!("--argjson {name}"))?;
            named.push((name, value));
        }
    }
    for pair in vars.slurpfile.chunks(2) {
        if let [name, file] = pair {
            let name = utf8_arg(name, "--slurpfile name")?.to_owned();
            let bytes = read_arg_file(file, "--slurpfile")?;
            let values = crate::json::filter::parse_values(&bytes).map_err(|e| {
                Error::bad_input(format!(
                    "--slurpfile {name}: {} is not valid JSON: {e}",
                    Path::new(file).display()
                ))
            })?;
            named.push((name, Value::Array(values)));
        }
    }
    for pair in vars.rawfile.chunks(2) {
        if let [name, file] = pair {
            let name = utf8_arg(name, "--rawfile name")?.to_owned();
            let bytes = read_arg_file(file, "--rawfile")?;
            named.push((
                name,
                Value::from(String::from_utf8_lossy(&bytes).into_owned()),
            ));
        }
    }
    let mut positional = Vec::new();
    if !vars.positional.is_empty() && !vars.args && !vars.jsonargs {
        return Err(Error::new(
            Kind::Usage,
            "values after the filter need --args (strings) or --jsonargs (JSON) before them",
        ));
    }
    for a in &vars.positional {
        positional.push(if vars.jsonargs {
            json_input(Some(a), "--jsonargs value")?
        } else {
            Value::from(utf8_arg(a, "--args value")?)
        });
    }
    Ok(crate::json::filter::Args { named, positional })
}

/// Most bytes read from a `--slurpfile`/`--rawfile` file: it is read whole
/// into a variable before the filter runs, and a device that never ends
/// (`/dev/zero`) must end in a message naming it, not in memory exhaustion.
const MAX_ARG_FILE: u64 = 256 << 20;

fn read_arg_file(file: &OsStr, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let path = Path::new(file);
    let failed = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Error::new(
            Kind::NotFound,
            format!("{what}: {}: no such file", path.display()),
        ),
        _ => Error::io(&format!("{what}: cannot read"), path, e),
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ARG_FILE + 1).read_to_end(&mut bytes))
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_ARG_FILE {
        return Err(Error::bad_input(format!(
            "{what}: {}: larger than {} MiB (a variable's file is read whole)",
            path.display(),
            MAX_ARG_FILE >> 20
        )));
    }
    Ok(bytes)
}

/// `jsafe read '.a' f.json` (jq's order): FILE does not exist but FILTER names
/// a file. A usage error that says the order, rather than a confusing
/// "undefined filter".
pub(crate) fn check_file_filter_order(
    command: &str,
    file: &Path,
    filter: Option<&str>,
) -> Result<()> {
    if let Some(f) = filter
        && !file.exists()
        && Path::new(f).is_file()
    {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: no such file, but the filter '{f}' is a file: the order is FILE FILTER, as in `jsafe {command} {f} '{}'`",
                file.display(),
                file.display()
            ),
        ));
    }
    Ok(())
}

/// `jsafe merge '{"a":2}' f.json` (the other way round): FILE does not exist
/// but the value argument (`what`: PATCH, JSON) names a file. A usage error
/// that says the order, rather than a JSON error about the file's name.
pub(crate) fn check_file_value_order(
    command: &str,
    file: &Path,
    value: Option<&OsStr>,
    what: &str,
) -> Result<()> {
    if let Some(v) = value
        && v != "-"
        && !file.exists()
        && Path::new(v).is_file()
    {
        let v = Path::new(v).display();
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: no such file, but the {what} '{v}' is a file: the order is FILE {what}, as in `jsafe {command} {v} '{}'`",
                file.display(),
                file.display()
            ),
        ));
    }
    Ok(())
}

/// Write to stdout; a closed pipe (`jsafe read f | head`) is not an error.
pub(crate) fn print(bytes: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::new(Kind::Io, format!("cannot write to stdout: {e}"))),
    }
}
