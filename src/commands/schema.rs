//! `jsafe schema FILE [SCHEMA.json | --detach]`: attach a JSON Schema to a
//! file (kept in `.jsafe/schemas/`), print the attached one, or detach it.
//! Once attached, every change of FILE whose result does not validate is
//! refused (exit 4, naming the failing path and rule; nothing written), and
//! `status` reports FILE when its content no longer validates.

use std::path::Path;

use super::shared::context::Writer;
use super::{Global, print};
use crate::cli::SchemaArgs;
use crate::error::{Error, Kind, Result};
use crate::store::OnCorrupt;
use crate::store::scan::{self, StateView};
use crate::store::{self, Format, schema::Attached};

pub(crate) fn run(g: &Global, args: &SchemaArgs) -> Result<i32> {
    let file = &args.file;
    let format = Format::of_or(file, args.lines);
    if args.schema.is_none() && !args.detach {
        let Some(bytes) = store::schema_of(file, g.timeout)? else {
            return Err(Error::new(
                Kind::NotFound,
                format!(
                    "{}: no schema attached (attach one with `jsafe schema {0} SCHEMA.json`)",
                    file.display()
                ),
            ));
        };
        let mut bytes = bytes;
        if bytes.last() != Some(&b'\n') {
            bytes.push(b'\n');
        }
        print(&bytes)?;
        return Ok(0);
    }
    if let Some(schema) = &args.schema {
        check_order(file, schema)?;
    }
    let bytes = match &args.schema {
        Some(path) => Some(std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::new(
                Kind::NotFound,
                format!("{}: no such schema file", path.display()),
            ),
            _ => Error::io("cannot read", path, e),
        })?),
        None => None,
    };
    if bytes
        .as_ref()
        .is_some_and(|b| b.len() > store::schema::MAX_SCHEMA)
    {
        return Err(Error::bad_input(format!(
            "the schema is larger than {} MiB",
            store::schema::MAX_SCHEMA >> 20
        ))
        .unchanged(crate::error::Untouched::Attached));
    }
    let writer = Writer::new(g, file, "schema", None, OnCorrupt::Fail)?;
    match store::attach_schema(
        file,
        &writer.options(),
        bytes.as_deref(),
        format,
        args.force,
    )? {
        Attached::Attached => g.notice(&format!(
            "{}: schema attached; every change is now checked against it",
            file.display()
        )),
        Attached::Detached => g.notice(&format!("{}: schema detached", file.display())),
        Attached::NoneAttached => g.notice(&format!(
            "{}: no schema was attached; nothing to detach",
            file.display()
        )),
    }
    Ok(0)
}

/// `jsafe schema config.schema.json config.json` (the other way round) would
/// attach the data as a schema (any object is a valid schema) and leave the
/// data unguarded; attaching to a file that does not exist guards nothing
/// yet and is usually the same mistake. Both are refused with the order.
fn check_order(file: &Path, schema: &Path) -> Result<()> {
    let order = || {
        format!(
            "the order is FILE SCHEMA: `jsafe schema {} {}`",
            schema.display(),
            file.display()
        )
    };
    if is_managed(schema) {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: a data file jsafe manages, not a schema; {}",
                schema.display(),
                order()
            ),
        )
        .unchanged(crate::error::Untouched::Attached));
    }
    // An etcd key is no path on this disk: whether it exists is the
    // backend's to say.
    if !store::Backend::is_etcd(file) && !file.exists() {
        return Err(Error::new(
            Kind::NotFound,
            format!(
                "{}: no such file; a schema guards an existing file: create it first (`jsafe write {0} JSON`), or check the order (FILE SCHEMA)",
                file.display()
            ),
        )
        .unchanged(crate::error::Untouched::Attached));
    }
    Ok(())
}

/// `path` has jsafe state beside it: a lock file, backups or journal lines.
fn is_managed(path: &Path) -> bool {
    let Ok(fv) = scan::resolve(path) else {
        return false;
    };
    let view = StateView::open(&fv.dir);
    view.lock_keys.contains(&fv.key)
        || view.backup_keys.contains(&fv.key)
        || view
            .journal()
            .contains_key(fv.name.to_string_lossy().as_ref())
}
