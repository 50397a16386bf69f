//! `jsafe write FILE [JSON|-]`: replace the content. It does not need the old
//! content, so it also replaces a corrupt file (whose bytes go to quarantine).

use super::{Global, indent_override, json_input};
use crate::cli::WriteArgs;
use crate::error::Result;
use crate::store::{self, Change, OnCorrupt};

pub fn run(g: &Global, args: &WriteArgs) -> Result<()> {
    let value = json_input(args.json.as_deref(), "the new content")?;
    let wait = g.waiter(&args.file);
    let opts = g.options(
        "write",
        indent_override(&args.style),
        OnCorrupt::Quarantine,
        &wait,
    );
    let outcome = store::transact(&args.file, &opts, |_| Ok(Change::Value(value)))?;
    g.report(&args.file, &outcome);
    Ok(())
}
