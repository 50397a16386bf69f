//! Ready-made changes: what a merge and a restore compute, for every front end
//! (the Python module uses them; the CLI's `merge` and `restore` commands
//! compute the same and are meant to call these too).

use std::path::Path;

use crate::error::{Error, Kind, Result};
use crate::json::{self, Map, SpliceError, Value};
use crate::store::{self, Change, Current};

/// The change an RFC 7386 merge `patch` (an object) makes to `current`, for
/// use inside [`transact`](crate::transact).
///
/// A valid current document is changed in its own bytes: only the members the
/// patch names are rewritten, everything else (order, spacing, number text) is
/// copied, and a patch that changes nothing gives [`Change::Keep`]. A missing
/// file starts as `{}`; a corrupt one (reached only with
/// [`OnCorrupt::Recover`](crate::OnCorrupt) or
/// [`OnCorrupt::Quarantine`](crate::OnCorrupt)) is merged from `{}` as well.
///
/// # Errors
/// [`Kind::BadInput`] when the document is not an object (a merge patch would
/// replace all of it) or the patch is not an object or too deep;
/// [`Kind::Corrupt`] when the bytes do not parse. Nothing is written.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let file = dir.path().join("config.json");
/// std::fs::write(&file, "{\"port\": 80, \"ratio\": 1.50}\n")?;
///
/// let patch = jsafe::parse(br#"{"port": 8080}"#)?;
/// let opts = jsafe::Options::new("merge").sync(false);
/// let outcome = jsafe::transact(&file, &opts, |current| {
///     jsafe::merge_change(&file, current, &patch)
/// })?;
/// assert!(outcome.changed);
/// // Only "port" was rewritten: "ratio" keeps its text.
/// assert_eq!(std::fs::read_to_string(&file)?, "{\"port\": 8080, \"ratio\": 1.50}\n");
/// # Ok(())
/// # }
/// ```
pub fn merge_change(file: &Path, current: &Current, patch: &Value) -> Result<Change> {
    if let Current::Valid(doc) = current {
        return match json::merge_spliced_shared(&doc.shared(), doc.style(), patch, doc.outline()) {
            Ok(Some(b)) => Ok(Change::Valid(b)),
            Ok(None) => Ok(Change::Keep),
            Err(SpliceError::NotObject(found)) => Err(not_an_object(file, found)),
            Err(SpliceError::Parse(e)) => Err(store::corrupt_error(
                file,
                &e,
                crate::error::Untouched::Written,
            )),
            Err(e) => Err(Error::bad_input(format!("{}: {e}", file.display()))),
        };
    }
    if !matches!(patch, Value::Object(_)) {
        return Err(Error::bad_input(format!(
            "{}: the merge patch must be an object, not {}; nothing was written",
            file.display(),
            patch.type_name()
        )));
    }
    let mut value = current
        .take_value()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if !matches!(value, Value::Object(_)) {
        return Err(not_an_object(file, value.type_name()));
    }
    json::merge_patch(&mut value, patch);
    Ok(Change::Value(value))
}

/// RFC 7386 would silently replace the whole document here.
fn not_an_object(file: &Path, found: &str) -> Error {
    Error::bad_input(format!(
        "{}: holds {found}, not an object; a merge patch would replace all of it, so nothing was written (write the whole document instead)",
        file.display()
    ))
}

/// The backup a restore brings back: the one named `name`, or else the newest
/// valid one; its name and bytes. Reads only (nothing is created or locked);
/// store the bytes with [`Change::Bytes`] in a [`transact`](crate::transact)
/// with [`OnCorrupt::Quarantine`](crate::OnCorrupt), as `jsafe restore` does.
///
/// # Errors
/// [`Kind::NotFound`] when there is no such backup or no valid one;
/// [`Kind::Io`] when the named backup was not written by jsafe (another
/// owner, or not a regular file); [`Kind::Corrupt`] when it is not valid JSON.
pub fn backup_to_restore(file: &Path, name: Option<&str>) -> Result<(String, Vec<u8>)> {
    let (_, backups) = store::backups(file)?;
    let Some(name) = name else {
        let (b, bytes) = backups.newest_valid().ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                format!("{}: no valid backup to restore", file.display()),
            )
        })?;
        return Ok((b.name.clone(), bytes));
    };
    let b = backups.find(name).ok_or_else(|| {
        Error::new(
            Kind::NotFound,
            format!("{}: no backup named {name}", file.display()),
        )
    })?;
    if let Some(why) = &b.untrusted {
        return Err(Error::new(
            Kind::Io,
            format!(
                "{}: backup {name} is not restored: {why} (jsafe did not write it)",
                file.display()
            ),
        ));
    }
    let bytes = backups.load_valid(b).ok_or_else(|| {
        Error::new(
            Kind::Corrupt,
            format!("{}: backup {name} is not valid JSON", file.display()),
        )
    })?;
    Ok((b.name.clone(), bytes))
}
