//! The library's error type. Every failure has a [`Kind`], and every kind has
//! one stable exit code: scripts branch on these numbers, so this table is the
//! only place they are defined (the README and `--help` repeat it).

use std::fmt;
use std::io;
use std::path::Path;

/// What went wrong, as far as a calling script needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bug or an impossible state inside jsafe.
    Internal,
    /// The command line was wrong.
    Usage,
    /// The file's lock was not granted within `--timeout`.
    LockTimeout,
    /// Bad input: JSON, merge patch, filter, argument.
    BadInput,
    /// The target file is not valid JSON (and the command needs its content).
    Corrupt,
    /// A missing file without `--default`, or no such backup.
    NotFound,
    /// Permission denied, disk full, read-only filesystem, …; the original is untouched.
    Io,
    /// `update`: the filter called `halt` (or `halt_error(0)`); nothing was written.
    FilterHalted,
    /// `read -e`: the last output was `false` or `null` (jq's exit 1).
    FalseOutput,
    /// `read -e`: the filter produced no output (jq's exit 4).
    NoOutput,
    /// `halt_error`: the filter stopped with an error message (jq's exit 5).
    FilterHaltError,
}

/// The one table of exit codes: (kind, code, meaning).
pub const EXIT_CODES: &[(Kind, i32, &str)] = &[
    (Kind::Internal, 1, "internal error"),
    (Kind::Usage, 2, "usage error (bad command line)"),
    (
        Kind::LockTimeout,
        3,
        "lock timeout: another process held the file's lock",
    ),
    (Kind::BadInput, 4, "bad input: JSON, merge patch or filter"),
    (Kind::Corrupt, 5, "target file is corrupt (not valid JSON)"),
    (
        Kind::NotFound,
        6,
        "not found: missing file without --default, no such backup",
    ),
    (
        Kind::Io,
        7,
        "I/O error: permission, disk full, read-only filesystem (original untouched)",
    ),
    (
        Kind::FilterHalted,
        10,
        "update: the filter called halt or halt_error(0); nothing written",
    ),
    (
        Kind::FalseOutput,
        11,
        "read -e: the last output was false or null",
    ),
    (Kind::NoOutput, 14, "read -e: the filter produced no output"),
    (
        Kind::FilterHaltError,
        15,
        "halt_error: the filter stopped with an error message; nothing written",
    ),
];

impl Kind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> i32 {
        EXIT_CODES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or(1, |(_, code, _)| *code)
    }
}

/// An error: a kind and one line for the user (naming the file and the next step).
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::new(Kind::BadInput, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Kind::Internal, message)
    }
    /// An I/O error while doing `what` to `path`, with a hint for the common causes.
    pub fn io(what: &str, path: &Path, err: &io::Error) -> Error {
        // By kind, not raw OS code: libraries that wrap an OS error (tempfile adds
        // the temp file's path) keep its kind but hide its code.
        let hint = match err.kind() {
            io::ErrorKind::StorageFull => " (disk full)",
            io::ErrorKind::ReadOnlyFilesystem => " (read-only filesystem)",
            io::ErrorKind::FileTooLarge => " (file size limit exceeded)",
            io::ErrorKind::QuotaExceeded => " (disk quota exceeded)",
            _ => "",
        };
        Error::new(Kind::Io, format!("{what} {}: {err}{hint}", path.display()))
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
