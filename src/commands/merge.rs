//! `jsafe merge FILE PATCH|-`: RFC 7386 merge patch. A missing file starts as {}.
//! `--stream` reads one patch per line from stdin and applies them in order,
//! the ones waiting together in one write (see [`super::stream`]).

use super::lock::inherited_for_change;
use super::stream::{Item, Stream};
use super::{Global, indent_override, json_input, schema_check};
use crate::cli::MergeArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{Map, Value, merge_patch};
use crate::store::{self, Change, OnCorrupt};

pub fn run(g: &Global, args: &MergeArgs) -> Result<()> {
    let file = &args.file;
    super::refuse_json_lines("merge", file)?;
    let patch = match (&args.patch, args.stream) {
        (Some(p), false) => Some(json_input(Some(p), "the merge patch")?),
        (None, false) => return Err(Error::new(Kind::Usage, "a PATCH (or --stream) is needed")),
        (Some(p), true) if p != "-" => {
            return Err(Error::new(
                Kind::Usage,
                "with --stream the patches come from stdin, one per line: give no PATCH (or \"-\")",
            ));
        }
        (_, true) => None,
    };
    if let Some(p) = &patch {
        check_patch(file, p)?;
    }
    let check = schema_check(args.schema.as_deref())?;
    let held = inherited_for_change(file)?;
    let wait = g.waiter(file);
    let on_corrupt = if args.recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    let opts = g
        .options("merge", indent_override(&args.style), on_corrupt, &wait)
        .held(held.as_ref())
        .check(check.as_deref());
    // Streamed: every intermediate version must match the schemas.
    let versions = match args.stream {
        true => super::stream::VersionCheck::load(file, args.schema.as_deref())?,
        false => None,
    };
    let mut apply = |items: &[Item]| -> Result<Option<(usize, Error)>> {
        let mut failed = None;
        let outcome = store::transact(file, &opts, |current| {
            let mut value = current
                .take_value()
                .unwrap_or_else(|| Value::Object(Map::new()));
            if !matches!(value, Value::Object(_)) {
                // RFC 7386 would silently replace the whole document here.
                return Err(Error::bad_input(format!(
                    "{}: holds {}, not an object; a merge patch would replace all of it, so nothing was written (use `jsafe write` or `jsafe update`)",
                    file.display(),
                    value.type_name()
                )));
            }
            for (k, it) in items.iter().enumerate() {
                let before = versions.as_ref().map(|_| value.clone());
                let refused = check_patch(file, &it.value).err().or_else(|| {
                    merge_patch(&mut value, &it.value);
                    let why = versions.as_ref()?.check(&value).err()?;
                    Some(Error::bad_input(format!("{}: {why}", file.display())))
                });
                if let Some(e) = refused {
                    if let Some(b) = before {
                        value = b;
                    }
                    failed = Some((k, e.map_message(|m| format!("stdin line {}: {m}", it.line))));
                    if k == 0 {
                        return Ok(Change::Keep);
                    }
                    break;
                }
            }
            Ok(Change::Value(value))
        })?;
        g.report(file, &outcome);
        Ok(failed)
    };
    match patch {
        Some(value) => apply(&[Item { line: 0, value }]).map(|_| ()),
        None => {
            let mut stream = Stream::stdin()?;
            let done = stream.run(&mut apply);
            g.detail(&format!(
                "{}: {} patches applied in {} writes",
                file.display(),
                stream.values,
                stream.writes
            ));
            done
        }
    }
}

fn check_patch(file: &std::path::Path, patch: &Value) -> Result<()> {
    if matches!(patch, Value::Object(_)) {
        return Ok(());
    }
    Err(Error::bad_input(format!(
        "the merge patch must be a JSON object, not {} (to replace the whole content use `jsafe write {} JSON`)",
        patch.type_name(),
        file.display()
    )))
}
