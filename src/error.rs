//! The library's error type. Every failure has a [`Kind`], and every kind has
//! one stable exit code: scripts branch on these numbers, so [`EXIT_CODES`] is
//! the only place they are defined (the README, `--help` and the man page
//! repeat it, and tests check that they do).

use std::fmt;
use std::io;
use std::path::Path;

/// What went wrong, as far as a calling script needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A bug or an impossible state inside jsafe.
    Internal,
    /// The command line was wrong.
    Usage,
    /// The file's lock was not granted within the timeout.
    LockTimeout,
    /// Bad input: JSON, merge patch, filter, argument.
    BadInput,
    /// The target file is not valid JSON (and the operation needs its content).
    Corrupt,
    /// A missing file without a default, or no such backup.
    NotFound,
    /// Permission denied, disk full, read-only filesystem, a refused file type
    /// or state directory, …: nothing was changed.
    Io,
    /// The new version is in place, but it could not be confirmed durable (a
    /// directory fsync failed after the rename). Retrying would apply the
    /// change twice.
    NotDurable,
    /// `status` or `test` found problems (the run itself worked).
    Problems,
    /// `update`: the filter called `halt` (or `halt_error(0)`); nothing was written.
    FilterHalted,
    /// `read -e`: the last output was `false` or `null` (jq's exit 1).
    FalseOutput,
    /// `read -e`: the filter produced no output (jq's exit 4).
    NoOutput,
    /// `halt_error`: the filter stopped with an error message (jq's exit 5).
    FilterHaltError,
}

/// The one table of exit codes: (kind, code, meaning). Codes 10–19 are the jq
/// filter outcomes of `read -e` and `halt_error`, defined by the command line.
pub const EXIT_CODES: &[(Kind, i32, &str)] = &[
    (Kind::Internal, 1, "internal error (a bug in jsafe)"),
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
        "I/O error or refused file: nothing was changed",
    ),
    (
        Kind::NotDurable,
        8,
        "changed, but not confirmed durable: the new version is in place",
    ),
    (Kind::Problems, 9, "problems found (status, test)"),
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

/// An error: a kind, one line for the user (naming the file and the next
/// step), and the underlying I/O error when there is one.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    source: Option<io::Error>,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a one-line message.
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Bad input (exit 4).
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::new(Kind::BadInput, message)
    }

    /// A bug or impossible state (exit 1).
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Kind::Internal, message)
    }

    /// An I/O error while doing `what` to `path`, with a hint for the common
    /// causes; the `io::Error` is kept as [`std::error::Error::source`].
    pub fn io(what: &str, path: &Path, err: io::Error) -> Error {
        Error::io_kind(Kind::Io, what, path, err)
    }

    /// As [`Error::io`], with another kind (e.g. [`Kind::NotDurable`]).
    pub fn io_kind(kind: Kind, what: &str, path: &Path, err: io::Error) -> Error {
        // By kind, not raw OS code: wrapped OS errors keep their kind.
        let hint = match err.kind() {
            io::ErrorKind::StorageFull => " (disk full)",
            io::ErrorKind::ReadOnlyFilesystem => " (read-only filesystem)",
            io::ErrorKind::FileTooLarge => " (file size limit exceeded)",
            io::ErrorKind::QuotaExceeded => " (disk quota exceeded)",
            _ => "",
        };
        Error {
            kind,
            message: format!("{what} {}: {err}{hint}", path.display()),
            source: Some(err),
        }
    }

    /// The same error keeping `err` as its source.
    pub fn with_source(mut self, err: io::Error) -> Error {
        self.source = Some(err);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The one-line message (also what `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with its message prefixed or replaced by `f`.
    pub fn map_message(mut self, f: impl FnOnce(String) -> String) -> Error {
        self.message = f(self.message);
        self
    }

    /// The exit code of this error's kind.
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_distinct_code() {
        let mut codes: Vec<i32> = EXIT_CODES.iter().map(|(_, c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EXIT_CODES.len());
        assert_eq!(Kind::Problems.exit_code(), 9);
        assert_eq!(Kind::NotDurable.exit_code(), 8);
        assert!(codes.iter().all(|c| (1..20).contains(c)));
    }

    #[test]
    fn io_errors_keep_their_source() {
        let e = Error::io(
            "cannot read",
            Path::new("a.json"),
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert_eq!(e.kind(), Kind::Io);
        assert!(e.message().contains("a.json") && e.message().contains("disk full"));
        let src = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(src.map(io::Error::kind), Some(io::ErrorKind::StorageFull));
    }
}
