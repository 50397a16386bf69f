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

/// What a failed operation did to the file, as far as the error knows. The
/// message's closing clause ("nothing was changed", "nothing was written", …)
/// is rendered from this field, in one place, and callers branch on the field,
/// never on the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// The error does not say (the default).
    Unknown,
    /// Nothing was done: the file (or key) is as it was. The [`Untouched`]
    /// names what was not done, as the message says it.
    Unchanged(Untouched),
    /// The change is in place but may not survive a power cut (an fsync
    /// after the rename failed): every [`Kind::NotDurable`] error. Its
    /// message says so itself; no clause is added.
    ChangedNotDurable,
}

/// The verb of a "nothing was …" clause: what did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Untouched {
    /// "nothing was changed"
    Changed,
    /// "nothing was written"
    Written,
    /// "nothing was appended"
    Appended,
    /// "nothing was attached" (a schema)
    Attached,
    /// "nothing was forgotten"
    Forgotten,
    /// "nothing was printed"
    Printed,
    /// "nothing was swept"
    Swept,
    /// "nothing was read"
    Read,
}

impl Untouched {
    fn verb(self) -> &'static str {
        match self {
            Untouched::Changed => "changed",
            Untouched::Written => "written",
            Untouched::Appended => "appended",
            Untouched::Attached => "attached",
            Untouched::Forgotten => "forgotten",
            Untouched::Printed => "printed",
            Untouched::Swept => "swept",
            Untouched::Read => "read",
        }
    }
}

/// How the "nothing was …" clause joins the head of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    /// "head; nothing was …"
    Semicolon,
    /// "head, so nothing was …"
    So,
    /// "head (nothing was …)"
    Paren,
}

/// An error: a kind, one line for the user (naming the file and the next
/// step), what happened to the file (left untouched, see [`Untouched`], or not known), and the underlying I/O
/// error when there is one.
///
/// The line is rendered once, from the fields: the head, then the effect's
/// clause, then any text that follows the clause.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    head: String,
    effect: Effect,
    join: Join,
    after: String,
    rendered: String,
    source: Option<io::Error>,
}
/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a one-line message.
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        let head = message.into();
        // A change that is in place cannot be "untouched": the kind says
        // what happened, and the field follows it.
        let effect = match kind {
            Kind::NotDurable => Effect::ChangedNotDurable,
            _ => Effect::Unknown,
        };
        Error {
            kind,
            rendered: head.clone(),
            head,
            effect,
            join: Join::Semicolon,
            after: String::new(),
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
        Error::new(kind, format!("{what} {}: {err}{hint}", path.display())).with_source(err)
    }

    /// The same error keeping `err` as its source.
    pub fn with_source(mut self, err: io::Error) -> Error {
        self.source = Some(err);
        self
    }

    /// The same error as another kind.
    pub fn with_kind(mut self, kind: Kind) -> Error {
        self.kind = kind;
        if kind == Kind::NotDurable {
            self.effect = Effect::ChangedNotDurable;
        }
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// What the failed operation did to the file.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Nothing was done: the message ends "; nothing was {what}".
    pub fn unchanged(self, what: Untouched) -> Error {
        self.effect_joined(Effect::Unchanged(what), Join::Semicolon)
    }

    /// As [`Error::unchanged`], ending ", so nothing was {what}" (the head says why).
    pub fn unchanged_so(self, what: Untouched) -> Error {
        self.effect_joined(Effect::Unchanged(what), Join::So)
    }

    /// As [`Error::unchanged`], ending " (nothing was {what})".
    pub fn unchanged_aside(self, what: Untouched) -> Error {
        self.effect_joined(Effect::Unchanged(what), Join::Paren)
    }

    /// Unless the error already says what happened, nothing was `what`.
    pub fn unchanged_if_unknown(self, what: Untouched) -> Error {
        match self.effect {
            Effect::Unknown => self.unchanged(what),
            Effect::Unchanged(_) | Effect::ChangedNotDurable => self,
        }
    }

    /// The same error saying nothing of the effect (for a caller that says
    /// it for a whole run instead).
    pub fn without_effect(self) -> Error {
        self.effect_joined(Effect::Unknown, Join::Semicolon)
    }

    /// Text that follows the effect's clause (a next step, a hint).
    pub fn then(mut self, after: impl AsRef<str>) -> Error {
        self.after.push_str(after.as_ref());
        self.render()
    }

    fn effect_joined(mut self, effect: Effect, join: Join) -> Error {
        if self.effect == Effect::ChangedNotDurable {
            // The new version is in place: never rendered as untouched.
            return self;
        }
        self.effect = effect;
        self.join = join;
        self.render()
    }

    /// The one renderer of the line.
    fn render(mut self) -> Error {
        let mut m = self.head.clone();
        if let Effect::Unchanged(what) = self.effect {
            let verb = what.verb();
            match self.join {
                Join::Semicolon => m.push_str(&format!("; nothing was {verb}")),
                Join::So => m.push_str(&format!(", so nothing was {verb}")),
                Join::Paren => m.push_str(&format!(" (nothing was {verb})")),
            }
        }
        m.push_str(&self.after);
        self.rendered = m;
        self
    }

    /// The one-line message (also what `Display` prints).
    pub fn message(&self) -> &str {
        &self.rendered
    }

    /// The same error with the head of its message (the part before the
    /// effect's clause) prefixed or replaced by `f`; to add text at the end,
    /// use [`Error::then`].
    pub fn map_message(mut self, f: impl FnOnce(String) -> String) -> Error {
        self.head = f(std::mem::take(&mut self.head));
        self.render()
    }

    /// The exit code of this error's kind.
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
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

    #[test]
    fn the_effect_is_a_field_rendered_once() {
        let e = Error::new(Kind::Io, "a.json: refused")
            .unchanged(Untouched::Changed)
            .then(" (see status)");
        assert_eq!(e.effect(), Effect::Unchanged(Untouched::Changed));
        assert_eq!(
            e.to_string(),
            "a.json: refused; nothing was changed (see status)"
        );
        // A prefix goes before the head; the clause and its tail stay at the end.
        let e = e.map_message(|m| format!("stdin line 2: {m}"));
        assert_eq!(
            e.message(),
            "stdin line 2: a.json: refused; nothing was changed (see status)"
        );
        // Saying it twice is not possible: the field is set, not appended.
        let e = e.unchanged_if_unknown(Untouched::Written);
        assert_eq!(e.effect(), Effect::Unchanged(Untouched::Changed));
        assert_eq!(e.message().matches("nothing was").count(), 1);
        let e = e.without_effect();
        assert_eq!(e.effect(), Effect::Unknown);
        assert_eq!(e.message(), "stdin line 2: a.json: refused (see status)");
        let so = Error::bad_input("b.json: has 2 links").unchanged_so(Untouched::Appended);
        assert_eq!(so.message(), "b.json: has 2 links, so nothing was appended");
        let aside = Error::bad_input("two outputs").unchanged_aside(Untouched::Written);
        assert_eq!(aside.message(), "two outputs (nothing was written)");
    }

    #[test]
    fn a_change_in_place_that_may_not_be_durable_is_never_called_untouched() {
        let io = || std::io::Error::from_raw_os_error(5);
        let e = Error::io_kind(Kind::NotDurable, "cannot fsync", Path::new("a.json"), io());
        assert_eq!(e.effect(), Effect::ChangedNotDurable);
        let e = e
            .unchanged(Untouched::Changed)
            .unchanged_if_unknown(Untouched::Written);
        assert_eq!(e.effect(), Effect::ChangedNotDurable);
        assert!(!e.message().contains("nothing was"), "{}", e.message());
        // An error that becomes NotDurable says so in its field too.
        let e = Error::io("cannot fsync", Path::new("b.json"), io()).with_kind(Kind::NotDurable);
        assert_eq!(e.effect(), Effect::ChangedNotDurable);
    }
}
