//! A JSON document model that can be read, changed and written back without
//! disturbing what the change did not touch: member order, number text as
//! written, string escapes and the file's layout all survive a round trip.
//!
//! Pure: no I/O and nothing else from the crate, so it can be reasoned about
//! and tested on its own.

mod format;
mod merge;
mod parse;
#[cfg(test)]
mod samples;
mod scan;
mod splice;
mod value;

pub(crate) mod filter;

pub(crate) use format::render_into;
pub use format::{Indent, Style, render};
pub use merge::merge_patch;
pub use parse::{LONE_SURROGATE, MAX_DEPTH, ParseError, ParseErrorKind, parse};
pub use scan::validate;
pub(crate) use scan::{Outline, validate_outline};
pub(crate) use splice::merge_splice_outlined;
pub use splice::{SpliceError, merge_splice};
pub use value::{Map, Number, Str, Value};

/// Bytes known to be one valid JSON document: made only here, by the scanner
/// ([`Valid::check`]) or by jsafe's own writers (the spliced merge), so that a
/// store handed them need not scan them a second time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid(Vec<u8>);

impl Valid {
    /// Check `bytes` with the scanner.
    pub fn check(bytes: Vec<u8>) -> Result<Valid, ParseError> {
        validate(&bytes)?;
        Ok(Valid(bytes))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, giving up the proof.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// [`merge_splice`], its result marked valid: the splice writes values it read
/// through the scanner and objects through the renderer (the property tests
/// compare it with the tree path on every style).
/// `outline` is `source`'s own, from [`validate_outline`], or `None`.
pub(crate) fn merge_spliced(
    source: &[u8],
    style: &Style,
    patch: &Value,
    outline: Option<&Outline>,
) -> Result<Option<Valid>, SpliceError> {
    let out = merge_splice_outlined(source, style, patch, outline)?;
    debug_assert!(out.as_ref().is_none_or(|b| validate(b).is_ok()));
    Ok(out.map(Valid))
}
