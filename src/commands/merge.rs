//! `jsafe merge FILE PATCH|-`: RFC 7386 merge patch. A missing file starts as {}.
//! `--stream` reads one patch per line from stdin and applies them in order,
//! the ones waiting together in one write (see [`super::stream`]); each is
//! applied exactly as a separate call would apply it, so the result does not
//! depend on how patches were grouped.

use super::shared::context::{Writer, recover};
use super::stream::{Item, Stream, VersionCheck, on_line};
use super::{Global, indent_override, value_input};
use crate::cli::MergeArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{self, Map, SpliceError, Style, Value, merge_patch};
use crate::store::{self, Change, Current};

pub(crate) fn run(g: &Global, args: &MergeArgs) -> Result<()> {
    let file = &args.file;
    super::check_file_value_order("merge", file, args.patch.as_deref(), "PATCH")?;
    super::refuse_json_lines("merge", file)?;
    let patch = match (&args.patch, args.stream) {
        (Some(p), false) => Some(value_input(Some(p), &args.vars, "the merge patch")?),
        (None, false) => return Err(Error::new(Kind::Usage, "a PATCH (or --stream) is needed")),
        (Some(p), true) if p != "-" => {
            return Err(Error::new(
                Kind::Usage,
                "with --stream the patches come from stdin, one per line: give no PATCH (or \"-\")",
            ));
        }
        (_, true) if args.vars.given() || !args.vars.positional.is_empty() => {
            return Err(Error::new(
                Kind::Usage,
                "with --stream the patches come from stdin as JSON: --arg and the other variables build a PATCH given as an argument",
            ));
        }
        (_, true) => None,
    };
    if let Some(p) = &patch {
        check_patch(file, p)?;
    }
    let indent = indent_override(&args.doc.style);
    let writer = Writer::new(
        g,
        file,
        "merge",
        args.change.schema.as_deref(),
        recover(args.doc.recover),
    )?
    .indent(indent);
    // Streamed: every intermediate version must match the schemas.
    let versions = match args.stream {
        true => VersionCheck::load(file, args.change.schema.as_deref(), g.timeout)?,
        false => None,
    };
    let mut apply = |items: &[Item]| -> Result<Option<(usize, Error)>> {
        let mut failed = None;
        writer.transact(|current| {
            let (change, stopped) =
                merge_all(file, current, indent.is_none(), items, versions.as_ref())?;
            failed = stopped;
            Ok(change)
        })?;
        Ok(failed)
    };
    match patch {
        Some(value) => apply(&[Item { line: 0, value }]).map(|_| ()),
        None => {
            let mut stream = Stream::stdin()?;
            let done = stream.run(&mut apply);
            g.detail(&stream.summary(file, "patches"));
            done
        }
    }
}

/// Apply `items` in order to the current content. In the file's own style
/// (`splice`), only what a patch names is rewritten and the rest is copied
/// from the bytes on disk, patch after patch; otherwise the tree is merged
/// and rendered once. The first patch that fails (not an object, or a
/// result a schema refuses) stops: the change holds the ones before it, and
/// the failure is returned with its index.
fn merge_all(
    file: &std::path::Path,
    current: &Current,
    splice: bool,
    items: &[Item],
    versions: Option<&VersionCheck>,
) -> Result<(Change, Option<(usize, Error)>)> {
    let fail = |k: usize, it: &Item, e: Error| Some((k, e.map_message(|m| on_line(it.line, m))));
    if let (Current::Valid(doc), true) = (current, splice) {
        let style: &Style = doc.style();
        let mut bytes: Option<json::Valid> = None;
        for (k, it) in items.iter().enumerate() {
            // Into the file's bytes: with their outline, sharing the runs
            // kept of them; into a merged version: as it is.
            let spliced = match &bytes {
                Some(b) => json::merge_spliced(b.bytes(), style, &it.value, None),
                None => json::merge_spliced_shared(&doc.shared(), style, &it.value, doc.outline()),
            };
            let next = match spliced {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(SpliceError::NotObject(found)) => return Err(not_an_object(file, found)),
                Err(SpliceError::Parse(e)) => {
                    return Err(store::corrupt_error(
                        file,
                        &e,
                        crate::error::Untouched::Written,
                    ));
                }
                Err(e @ (SpliceError::TooDeep | SpliceError::PatchNotObject(_))) => {
                    let e = Error::bad_input(format!("{}: {e}", file.display()));
                    return Ok((keep_or(bytes), fail(k, it, e)));
                }
            };
            if let Some(v) = versions
                && let Err(why) = json::parse(next.bytes())
                    .map_err(|e| e.to_string())
                    .and_then(|value| v.check(&value))
            {
                let e = Error::bad_input(format!("{}: {why}", file.display()));
                return Ok((keep_or(bytes), fail(k, it, e)));
            }
            bytes = Some(next);
        }
        return Ok((keep_or(bytes), None));
    }
    let mut value = current
        .take_value()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if !matches!(value, Value::Object(_)) {
        return Err(not_an_object(file, value.type_name()));
    }
    for (k, it) in items.iter().enumerate() {
        let before = versions.map(|_| value.clone());
        let refused = check_patch(file, &it.value).err().or_else(|| {
            merge_patch(&mut value, &it.value);
            let why = versions?.check(&value).err()?;
            Some(Error::bad_input(format!("{}: {why}", file.display())))
        });
        if let Some(e) = refused {
            if let Some(b) = before {
                value = b;
            }
            let change = if k == 0 {
                Change::Keep
            } else {
                Change::Value(value)
            };
            return Ok((change, fail(k, it, e)));
        }
    }
    Ok((Change::Value(value), None))
}

/// The spliced bytes (already validated: the store does not scan them
/// again), or no change.
fn keep_or(bytes: Option<json::Valid>) -> Change {
    bytes.map_or(Change::Keep, Change::Valid)
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

/// RFC 7386 would silently replace the whole document here.
fn not_an_object(file: &std::path::Path, found: &str) -> Error {
    Error::bad_input(format!(
        "{}: holds {found}, not an object; a merge patch would replace all of it",
        file.display()
    ))
    .unchanged_so(crate::error::Untouched::Written)
    .then(" (use `jsafe write` or `jsafe update`)")
}
