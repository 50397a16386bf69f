//! `jsafe write FILE [JSON|-]`: replace the content. It does not need the old
//! content, so it also replaces a corrupt file (whose bytes go to quarantine).

use super::lock::inherited_for_change;
use super::{Global, indent_override, schema_check, value_input};
use crate::cli::WriteArgs;
use crate::error::Result;
use crate::store::{self, Change, OnCorrupt};

pub fn run(g: &Global, args: &WriteArgs) -> Result<()> {
    super::check_file_value_order("write", &args.file, args.json.as_deref(), "JSON")?;
    super::refuse_json_lines("write", &args.file)?;
    let value = value_input(args.json.as_deref(), &args.vars, "the new content")?;
    let check = schema_check(args.schema.as_deref())?;
    let held = inherited_for_change(&args.file)?;
    let wait = g.waiter(&args.file);
    let opts = g
        .options(
            "write",
            indent_override(&args.style),
            OnCorrupt::Quarantine,
            &wait,
        )
        .held(held.as_ref())
        .check(check.as_deref());
    // A conflict on an etcd key applies the change again: a copy only there.
    let spare = store::Backend::is_etcd(&args.file).then(|| value.clone());
    let mut value = Some(value);
    let outcome = store::transact_again(&args.file, &opts, |_| {
        let v = value.take().or_else(|| spare.clone());
        v.map(Change::Value)
            .ok_or_else(|| crate::error::Error::internal("the new content was used up"))
    })?;
    g.report(&args.file, &outcome);
    Ok(())
}
