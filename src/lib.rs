//! jsafe: read and change JSON files safely — locked, atomic, durable, backed
//! up — from scripts and from Rust programs.
//!
//! Every change goes through one write core, [`transact`]: exclusive lock on a
//! sidecar lock file → read → change → backup of the old version → temp file
//! in the same directory → fsync → rename → fsync of the directory → journal
//! line. Its promises, which every caller gets:
//!
//! 1. **Atomic** — a reader sees the old version or the new one, never a mix.
//! 2. **Durable** — `Ok` means the new version is on disk.
//! 3. **Isolated** — concurrent writers queue; no update is ever lost.
//! 4. **Recoverable** — replaced versions are kept as rotated backups; a corrupt
//!    file is detected, never silently overwritten, quarantined, restorable.
//! 5. **Faithful** — what a change did not touch comes back as it was: key order,
//!    number text, string escapes, formatting style, mode/owner, symlinks.
//! 6. **Clear** — every failure is an [`Error`] whose [`Kind`] maps to one stable
//!    exit code ([`EXIT_CODES`]).
//! 7. **Safe where others can write** — state in `.jsafe/` is reached through
//!    directory handles, never through a symlink, and checked before use.
//!
//! # What is here
//! - **Changing a file:** [`transact`] with [`Options`] (and [`OnCorrupt`]);
//!   the closure sees the [`Current`] content ([`Doc`]) and returns a
//!   [`Change`]; the result is an [`Outcome`]. Ready-made changes:
//!   [`merge_change`] (an RFC 7386 merge patch, spliced into the file's own
//!   bytes) and [`backup_to_restore`].
//! - **JSON Lines:** [`append`]; [`Format`] says how a file is read.
//! - **Reading:** [`load`] (no lock; every write is an atomic rename) gives a
//!   [`Loaded`]; [`reload_if_locked`] reads again under the shared lock when
//!   bytes look half-written; [`corrupt_error`] is the error a reader reports.
//! - **Locks:** [`lock_file`] gives a [`Lock`] ([`Mode`]) that changes can run
//!   under ([`Options::held`]); [`adopt_lock`] takes over one handed down by
//!   a parent process; [`probe`] says who holds it ([`Probe`], [`LockState`],
//!   [`Holder`]).
//! - **Backups:** [`backups`] lists them ([`Backups`], [`Backup`]).
//! - **Watching:** [`Watch`] waits for new versions ([`Event`]).
//! - **The JSON value:** [`Value`] ([`Map`], [`Number`], [`Str`]), [`parse`],
//!   [`validate`], [`render`] in a [`Style`] ([`Indent`]), [`merge_patch`];
//!   [`Valid`] bytes; the errors [`ParseError`] and [`SpliceError`]. A [`Value`] keeps number text and string escapes as read.
//! - **jq filters:** [`filter`].
//! - **Errors:** [`Error`], [`Kind`], [`Result`], [`EXIT_CODES`].
//!
//! Nothing else is API: the command-line program's modules are private, and
//! the hidden `__internals` and `__cli` modules exist for the crate's own
//! tests and binary only. See `docs/library.md` for the semver stance.
//!
//! # Change a file
//!
//! ```
//! use jsafe::{Change, Options, Value};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("state.json");
//! std::fs::write(&file, "{\"runs\": 1, \"name\": \"nightly\"}\n")?;
//!
//! // Add one to "runs" under the file's lock; a missing file would start as {}.
//! let opts = Options::new("increment").sync(false);
//! let outcome = jsafe::transact(&file, &opts, |current| {
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
//! assert_eq!(jsafe::backups(&file)?.1.list.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Read a file
//!
//! ```
//! use jsafe::{Current, Value};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let file = dir.path().join("config.json");
//! std::fs::write(&file, "{\"port\": 8080}")?;
//!
//! match jsafe::load(&file, None)?.current {
//!     Current::Valid(doc) => {
//!         let Value::Object(map) = doc.value()? else { panic!("not an object") };
//!         assert_eq!(map.get("port"), Some(&jsafe::parse(b"8080")?));
//!     }
//!     Current::Missing => println!("no config yet"),
//!     Current::Corrupt { error, .. } => {
//!         return Err(jsafe::corrupt_error(&file, &error, jsafe::Untouched::Read).into());
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Append to a JSON Lines file
//!
//! ```
//! use jsafe::{Current, Format, Options, Style, Value};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let log = dir.path().join("events.jsonl");
//! let event = jsafe::parse(br#"{"event": "deploy", "ok": true}"#)?;
//! let line = jsafe::render(&event, &Style::line()); // one line, no newline
//!
//! let opts = Options::new("append").sync(false);
//! jsafe::append(&log, &opts, &[line.clone(), line])?;
//!
//! let current = jsafe::load(&log, None)?.current.reclassify(Format::Lines);
//! let Current::Valid(doc) = current else { panic!("not valid JSON Lines") };
//! let values: Vec<Value> = doc.values().collect::<jsafe::Result<_>>()?;
//! assert_eq!(values, vec![event.clone(), event]);
//! # Ok(())
//! # }
//! ```
//!
//! # Update a file with a jq filter
//!
//! The filter runs on the document's own bytes, so what it does not touch is
//! written back exactly as it was (here the number text `1.50`).
//!
//! ```
//! use std::ops::ControlFlow;
//! use jsafe::filter::{Filter, Input, Render};
//! use jsafe::{Change, Current, Error, Options};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let file = dir.path().join("prices.json");
//! std::fs::write(&file, "{\"tea\": 1.50, \"stock\": 3}\n")?;
//!
//! let filter = Filter::compile(".stock -= 1", vec![])?;
//! let opts = Options::new("update").sync(false);
//! jsafe::transact(&file, &opts, |current| {
//!     let Current::Valid(doc) = current else {
//!         return Err(Error::bad_input("no valid document to update"));
//!     };
//!     let input = Input::parse(doc.shared(), *doc.style())
//!         .map_err(|e| Error::bad_input(e.to_string()))?;
//!     let mut outputs = Vec::new();
//!     filter
//!         .run_input(&input, None, &|_| {}, &mut |out| {
//!             outputs.push(out);
//!             ControlFlow::Continue(())
//!         })
//!         .map_err(|e| Error::bad_input(e.to_string()))?;
//!     let [out] = &outputs[..] else {
//!         return Err(Error::bad_input("the filter must produce one value"));
//!     };
//!     let how = Render { style: *doc.style(), sort_keys: false, copy: true };
//!     let bytes = input.render_document(out, &how).map_err(|e| Error::bad_input(e.to_string()))?;
//!     Ok(Change::Valid(bytes))
//! })?;
//! assert_eq!(std::fs::read_to_string(&file)?, "{\"tea\": 1.50, \"stock\": 2}\n");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]
// Without the `cli` feature the commands are not compiled, and code (and
// re-exports) only they use is unused in that build; it is used, and checked,
// in the default one.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

// The library's modules are private: what a Rust user gets is re-exported
// below, by name. Everything else may change in any release.
mod changes;
mod error;
mod json;
mod process;
mod store;
mod time;

// ------------------------------------------------------------------- errors
pub use error::{EXIT_CODES, Error, Kind, Result, Untouched};

// ------------------------------------------------------ the one write path
pub use store::{Change, Check, Current, Doc, OnCorrupt, Options, Outcome, append, transact};
// Ready-made changes for it.
pub use changes::{backup_to_restore, merge_change};

// ------------------------------------------------------------------ reading
pub use store::{Format, Loaded, LockWait, corrupt_error, load, reload_if_locked};

// ---------------------------------------------------------------- the lock
pub use process::Holder;
pub use store::lock::{Probe, State as LockState};
pub use store::{Lock, Mode, adopt_lock, lock_file, probe, shared_refusal};

// ------------------------------------------------------ backups and watching
pub use store::watch::{Event, Watch};
pub use store::{Backup, Backups, backups};

// ------------------------------------------------------------ the JSON value
pub use json::{Indent, Style};
pub use json::{
    MAX_DEPTH, Map, Number, ParseError, ParseErrorKind, SpliceError, Str, Valid, Value,
    merge_patch, parse, render, validate,
};

/// jq filters (the `jaq` engine with jsafe's definitions): compile once, run
/// on a value, or on a document's own bytes so that an update copies what it
/// did not touch.
pub mod filter {
    pub use crate::json::filter::{Ending, Filter, FilterError, Input, Output, Render, Side};
}

/// What the crate's own integration tests and fuzz targets reach below the
/// API: the JSON splice, the filter's spine, the journal's hash, process
/// facts. Not API: it may change or go in any release, and nothing outside
/// this repository should use it.
#[doc(hidden)]
pub mod __internals {
    pub use crate::json::filter::Spine;
    pub use crate::json::{LONE_SURROGATE, merge_splice};
    pub use crate::process::{host_name, start_time_of};
    pub use crate::store::journal::sha256_hex;

    /// [`merge_splice`] as a change runs it: into a document validated by
    /// the store's walk, with that walk's outline of its top-level members.
    pub fn merge_splice_validated(
        source: &[u8],
        style: &crate::json::Style,
        patch: &crate::json::Value,
    ) -> Result<Option<Vec<u8>>, crate::json::SpliceError> {
        let outline =
            crate::json::validate_outline(source).map_err(crate::json::SpliceError::Parse)?;
        crate::json::merge_splice_outlined(source, style, patch, outline.as_ref())
    }

    /// A lock record line for this process, as a lock holder writes it.
    pub fn holder_line(command: &str) -> String {
        crate::process::Holder::me(command).to_line()
    }
}

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
    pub use crate::entry::{main, main_without_runtime};
    pub use crate::sys::Counting;
}
