//! jsafe: read and change JSON files safely from scripts.
//!
//! Every change goes through one write core, [`store::transact`]: exclusive
//! lock on a sidecar lock file → read → change → backup of the old version →
//! temp file in the same directory → fsync → rename → fsync of the directory.
//! Its promises, which every command keeps:
//!
//! 1. **Atomic** — a reader sees the old version or the new one, never a mix.
//! 2. **Durable** — success means the new version is on disk.
//! 3. **Isolated** — concurrent writers queue; no update is ever lost.
//! 4. **Recoverable** — replaced versions are kept as rotated backups; a corrupt
//!    file is detected, never silently overwritten, quarantined, restorable.
//! 5. **Faithful** — what a change did not touch comes back as it was: key order,
//!    big numbers, decimals as written, formatting style, mode/owner, symlinks.
//! 6. **Clear** — every failure is an [`Error`] whose [`Kind`] maps to one stable
//!    exit code ([`error::EXIT_CODES`]).

pub mod cli;
pub mod commands;
pub mod error;
pub mod json;
pub mod process;
pub mod scan;
pub mod store;
pub mod sys;
pub mod time;

pub use error::{Error, Kind, Result};
