//! `jsafe write FILE [JSON|-]`: replace the content. It does not need the old
//! content, so it also replaces a corrupt file (whose bytes go to quarantine).

use super::shared::context::Writer;
use super::{Global, indent_override, value_input};
use crate::cli::WriteArgs;
use crate::error::Result;
use crate::store::{self, Change, OnCorrupt};

pub(crate) fn run(g: &Global, args: &WriteArgs) -> Result<()> {
    super::check_file_value_order("write", &args.file, args.json.as_deref(), "JSON")?;
    super::refuse_json_lines("write", &args.file)?;
    let value = value_input(args.json.as_deref(), &args.vars, "the new content")?;
    let writer = Writer::new(
        g,
        &args.file,
        "write",
        args.change.schema.as_deref(),
        OnCorrupt::Quarantine,
    )?
    .indent(indent_override(&args.style));
    // A conflict on an etcd key applies the change again: a copy only there.
    let spare = store::Backend::is_etcd(&args.file).then(|| value.clone());
    let mut value = Some(value);
    writer.transact(|_| {
        let v = value.take().or_else(|| spare.clone());
        v.map(Change::Value)
            .ok_or_else(|| crate::error::Error::internal("the new content was used up"))
    })?;
    Ok(())
}
