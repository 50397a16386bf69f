//! `jsafe merge FILE PATCH|-`: RFC 7386 merge patch. A missing file starts as {}.

use super::{Global, indent_override, json_input};
use crate::cli::MergeArgs;
use crate::error::{Error, Result};
use crate::json::{self, Map, SpliceError, Value, merge_patch};
use crate::store::{self, Change, Current, OnCorrupt};

pub fn run(g: &Global, args: &MergeArgs) -> Result<()> {
    let patch = json_input(Some(&args.patch), "the merge patch")?;
    if !matches!(patch, Value::Object(_)) {
        return Err(Error::bad_input(format!(
            "the merge patch must be a JSON object, not {} (to replace the whole content use `jsafe write {} JSON`)",
            patch.type_name(),
            args.file.display()
        )));
    }
    let file = &args.file;
    let wait = g.waiter(file);
    let on_corrupt = if args.recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    let indent = indent_override(&args.style);
    let opts = g.options("merge", indent, on_corrupt, &wait);
    let outcome = store::transact(file, &opts, |current| {
        // In the file's own style, only what the patch names is rewritten:
        // the rest is copied from the bytes on disk.
        if let (Current::Valid(doc), None) = (current, indent) {
            return match json::merge_spliced(doc.bytes(), doc.style(), &patch) {
                Ok(Some(valid)) => Ok(Change::Valid(valid)),
                Ok(None) => Ok(Change::Keep),
                Err(SpliceError::NotObject(found)) => Err(not_an_object(file, found)),
                Err(SpliceError::Parse(e)) => {
                    Err(store::corrupt_error(file, &e, "nothing was written"))
                }
                Err(e @ (SpliceError::TooDeep | SpliceError::PatchNotObject(_))) => Err(
                    Error::bad_input(format!("{}: {e}; nothing was written", file.display())),
                ),
            };
        }
        let mut value = current
            .take_value()
            .unwrap_or_else(|| Value::Object(Map::new()));
        if !matches!(value, Value::Object(_)) {
            return Err(not_an_object(file, value.type_name()));
        }
        merge_patch(&mut value, &patch);
        Ok(Change::Value(value))
    })?;
    g.report(file, &outcome);
    Ok(())
}

/// RFC 7386 would silently replace the whole document here.
fn not_an_object(file: &std::path::Path, found: &str) -> Error {
    Error::bad_input(format!(
        "{}: holds {found}, not an object; a merge patch would replace all of it, so nothing was written (use `jsafe write` or `jsafe update`)",
        file.display()
    ))
}
