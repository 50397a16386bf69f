//! `jsafe read FILE [FILTER]`: no lock by default (every jsafe write is an atomic
//! rename, so a reader sees one whole version); `--lock` takes a shared lock for
//! files that other programs change in place. A parse failure is retried once
//! under the shared lock before it is reported as corruption.

use super::{Global, filter_vars, json_input, print};
use crate::cli::ReadArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{Indent, Style, Value, filter::Filter, render_into};
use crate::store::{self, Change, Current, Mode, OnCorrupt, Paths, lock};

pub fn run(g: &Global, args: &ReadArgs) -> Result<()> {
    // Everything that can fail on the caller's input fails before the file is read.
    let filter = match &args.filter {
        Some(code) => Some(
            Filter::compile(code, filter_vars(&args.vars)?)
                .map_err(|e| Error::bad_input(e.to_string()))?,
        ),
        None => None,
    };
    let default = match &args.default {
        Some(d) => Some(json_input(Some(d), "--default")?),
        None => None,
    };
    let file = args.file.as_path();
    let paths = Paths::resolve(file)?;

    let mut current = if args.lock {
        read_locked(g, &paths)?
    } else {
        let first = load(&paths)?;
        if matches!(first, Current::Corrupt { .. }) {
            match read_locked(g, &paths) {
                // No lock can be had here (a directory we may not write): then no
                // jsafe writer holds one either, and what was read stands.
                Err(e) if e.kind == Kind::Io => first,
                other => other?,
            }
        } else {
            first
        }
    };
    if let (Current::Corrupt { .. }, true) = (&current, args.recover) {
        let wait = g.waiter(file);
        let opts = g.options("recover", None, OnCorrupt::Recover, &wait);
        let outcome = store::transact(file, &opts, |_| Ok(Change::Keep))?;
        g.report(file, &outcome);
        current = load(&paths)?;
    }

    let value = match current {
        Current::Valid(loaded) => {
            if filter.is_none() && !args.compact && !args.raw_output {
                // The file as it is, byte for byte.
                let mut bytes = loaded.bytes;
                if bytes.last() != Some(&b'\n') {
                    bytes.push(b'\n');
                }
                return print(&bytes);
            }
            loaded.value
        }
        Current::Missing => default.ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                format!(
                    "{}: no such file (give --default JSON to get a value for a missing file)",
                    file.display()
                ),
            )
        })?,
        Current::Corrupt { error, .. } => {
            return Err(store::corrupt_error(file, &error, "nothing was printed"));
        }
    };

    // No time limit: a read holds no lock while its filter runs.
    let outputs = match &filter {
        Some(f) => f
            .run(value)
            .map_err(|e| Error::bad_input(format!("{}: {e}", file.display())))?,
        None => vec![value],
    };
    let style = Style {
        indent: if args.compact {
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
    let mut out = Vec::new();
    for v in &outputs {
        match v {
            Value::String(s) if args.raw_output => {
                out.extend_from_slice(s.value.as_bytes());
                out.push(b'\n');
            }
            _ => render_into(&mut out, v, &style),
        }
    }
    print(&out)
}

fn load(paths: &Paths) -> Result<Current> {
    Ok(match store::read_file(&paths.real)? {
        None => Current::Missing,
        Some((bytes, _)) => store::classify(bytes),
    })
}

/// Read under a shared lock: no jsafe writer can be mid-change meanwhile.
fn read_locked(g: &Global, paths: &Paths) -> Result<Current> {
    let wait = g.waiter(&paths.given);
    let _lock = lock::acquire(&paths.lock(), &paths.given, Mode::Shared, g.timeout, &wait)?;
    load(paths)
}
