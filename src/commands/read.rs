//! `jsafe read FILE [FILTER]`: no lock by default (every jsafe write is an atomic
//! rename, so a reader sees one whole version); `--lock` takes a shared lock for
//! files that other programs change in place. A parse failure is retried once
//! under the shared lock before it is reported as corruption.

use super::{Global, filter_vars, json_input, print};
use crate::cli::ReadArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{Indent, Style, Value, filter::Filter, render_into};
use crate::store::{self, Change, Current, OnCorrupt};

pub fn run(g: &Global, args: &ReadArgs) -> Result<()> {
    // Everything that can fail on the caller's input fails before the file is read.
    let filter = match &args.filter {
        Some(code) => Some({
            let _running = crate::sys::FilterRunning::start();
            Filter::compile(code, filter_vars(&args.vars)?)
                .map_err(|e| Error::bad_input(e.to_string()))?
        }),
        None => None,
    };
    let default = match &args.default {
        Some(d) => Some(json_input(Some(d), "--default")?),
        None => None,
    };
    let file = args.file.as_path();

    let wait = g.waiter(file);
    let lock = args.lock.then_some((g.timeout, &wait as &dyn Fn(&str)));
    let loaded = store::load(file, lock)?;
    let mut current = loaded.current;
    if matches!(current, Current::Corrupt { .. })
        && loaded.lock.is_none()
        && let Some(again) = store::reload_if_locked(file, g.timeout, &wait)?
    {
        current = again;
    }
    drop(loaded.lock);
    if let (Current::Corrupt { .. }, true) = (&current, args.recover) {
        let opts = g.options("recover", None, OnCorrupt::Recover, &wait);
        let outcome = store::transact(file, &opts, |_| Ok(Change::Keep))?;
        g.report(file, &outcome);
        current = store::load(file, None)?.current;
    }

    let value = match current {
        Current::Valid(doc) => {
            if filter.is_none() && !args.compact && !args.raw_output {
                // The file as it is, byte for byte.
                let mut bytes = doc.into_bytes();
                if bytes.last() != Some(&b'\n') {
                    bytes.push(b'\n');
                }
                return print(&bytes);
            }
            doc.value()?
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
        Some(f) => {
            let _running = crate::sys::FilterRunning::start();
            f.run(value)
                .map_err(|e| Error::bad_input(format!("{}: {e}", file.display())))?
        }
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
