//! jsafe: read and change JSON files safely — locked, atomic, durable, backed
//! up — from scripts and from Rust programs.
//!
//! Every change goes through one write core, [`store::transact`]: exclusive
//! lock on a sidecar lock file → read → change → backup of the old version →
//! temp file in the same directory → fsync → rename → fsync of the directory →
//! journal line. Its promises, which every caller gets:
//!
//! 1. **Atomic** — a reader sees the old version or the new one, never a mix.
//! 2. **Durable** — `Ok` means the new version is on disk.
//! 3. **Isolated** — concurrent writers queue; no update is ever lost.
//! 4. **Recoverable** — replaced versions are kept as rotated backups; a corrupt
//!    file is detected, never silently overwritten, quarantined, restorable.
//! 5. **Faithful** — what a change did not touch comes back as it was: key order,
//!    number text, string escapes, formatting style, mode/owner, symlinks.
//! 6. **Clear** — every failure is an [`Error`] whose [`Kind`] maps to one stable
//!    exit code ([`error::EXIT_CODES`]).
//! 7. **Safe where others can write** — state in `.jsafe/` is reached through
//!    directory handles, never through a symlink, and checked before use.
//!
//! # Example
//!
//! ```
//! use jsafe::store::{self, Change, Options};
//! use jsafe::json::{self, Value};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("state.json");
//! std::fs::write(&file, "{\"runs\": 1, \"name\": \"nightly\"}\n")?;
//!
//! // Add one to "runs" under the file's lock; a missing file would start as {}.
//! let opts = Options::new("increment").sync(false);
//! let outcome = store::transact(&file, &opts, |current| {
//!     let mut doc = current.value()?.unwrap_or_else(|| Value::Object(Default::default()));
//!     if let Value::Object(map) = &mut doc {
//!         let runs = map.get("runs").and_then(|v| match v {
//!             Value::Number(n) => n.as_str().parse::<i64>().ok(),
//!             _ => None,
//!         });
//!         map.insert("runs".into(), Value::from(runs.unwrap_or(0) + 1));
//!     }
//!     Ok(Change::Value(doc))
//! })?;
//!
//! assert!(outcome.changed);
//! assert!(outcome.backup.is_some()); // the replaced version is kept
//! // The file keeps its style: same key order, same spacing.
//! assert_eq!(std::fs::read_to_string(&file)?, "{\"runs\": 2, \"name\": \"nightly\"}\n");
//! # let _ = json::parse(b"{}")?;
//! # Ok(())
//! # }
//! ```
//!
//! Reading takes no lock (every write is an atomic rename): [`store::load`].
//! Backups: [`store::backups`]. A merge patch: [`json::merge_patch`].

#![warn(missing_docs)]

pub mod error;
pub mod json;
pub mod process;
pub mod store;
pub mod time;

pub use error::{Error, Kind, Result};

// The command-line program: arguments, commands, the self-test and the one
// module with `unsafe` (signals, the counting allocator). They are compiled
// into the library so that the commands can use its internals as their own;
// none of it is API.
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod commands;
#[cfg(feature = "cli")]
mod entry;
#[cfg(feature = "cli")]
mod parse_args;
#[cfg(feature = "cli")]
mod selftest;
#[cfg(feature = "cli")]
mod sys;

/// The `jsafe` program's entry point and allocator, for `src/main.rs` only.
/// Not API: it may change in any release.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod __cli {
    pub use crate::entry::main;
    pub use crate::sys::Counting;
}
