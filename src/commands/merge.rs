//! `jsafe merge FILE PATCH|-`: RFC 7386 merge patch. A missing file starts as {}.

use super::{Global, indent_override, json_input};
use crate::cli::MergeArgs;
use crate::error::{Error, Result};
use crate::json::{Map, Value, merge_patch};
use crate::store::{self, Change, OnCorrupt};

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
    let opts = g.options("merge", indent_override(&args.style), on_corrupt, &wait);
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
        merge_patch(&mut value, &patch);
        Ok(Change::Value(value))
    })?;
    g.report(file, &outcome);
    Ok(())
}
