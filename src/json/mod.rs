//! A JSON document model that can be read, changed and written back without
//! disturbing what the change did not touch: member order, number text as
//! written, string escapes and the file's layout all survive a round trip.
//!
//! Pure: no I/O and nothing else from the crate, so it can be reasoned about
//! and tested on its own.

mod format;
mod merge;
mod parse;
mod scan;
mod splice;
mod value;

pub mod filter;

pub use format::{Indent, Style, render, render_into};
pub use merge::merge_patch;
pub use parse::{LONE_SURROGATE, MAX_DEPTH, ParseError, ParseErrorKind, parse};
pub use scan::validate;
pub use splice::{SpliceError, merge_splice};
pub use value::{Map, Number, Str, Value};
