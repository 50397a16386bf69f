//! JSON Lines files (`*.jsonl`, `*.ndjson`, or any file a command is told is
//! one): one JSON value per line, appended, never rewritten.
//!
//! # The format, as jsafe reads it
//! - Every line holds one JSON value; lines of only whitespace are skipped.
//! - The last line ends with `\n`. Bytes after the last `\n` are the **tail**:
//!   - a tail that parses and is not a number is a whole value whose newline
//!     is missing (a file written by hand): it counts, and the next append
//!     adds the newline before its own line;
//!   - a tail that is the beginning of a value cut short (it parses up to its
//!     end, where more was expected), or a number, which a cut can shorten
//!     into another valid number, is **torn**: what a writer that died in the
//!     middle of an append left. It is never silently used: the next append
//!     (or `--recover`) moves it to `.jsafe/quarantine/` and cuts the file
//!     back to its last whole line;
//!   - any other tail (such as the `]` that closes a pretty-printed document
//!     without a final newline) is no cut of a line jsafe wrote: the file
//!     is not JSON Lines there, and it is refused like any bad line, never
//!     cut.
//!
//! jsafe writes each value compactly as one line followed by `\n`, in one
//! `write(2)` with `O_APPEND`, under the file's exclusive lock, then fsyncs.
//! A crash therefore tears at most the one line being written.

use std::path::Path;

use crate::json::{self, ParseError, ParseErrorKind};

/// The longest line of a JSON Lines file, without its newline: 64 MiB. One
/// limit everywhere: `append` refuses a longer value before writing, and
/// `read`, `status`, `watch` and `--recover` report a longer line (written
/// by another program) as a bad line rather than each reading as far as its
/// own buffer goes.
pub(crate) const MAX_LINE: usize = 64 << 20;

/// The limit in words, for messages.
pub(crate) fn max_line_text() -> String {
    format!("{} MiB", MAX_LINE >> 20)
}

/// How a file's bytes are read: one JSON document, or JSON Lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON document.
    Document,
    /// One JSON value per line.
    Lines,
}

impl Format {
    /// The format a file's name says: JSON Lines for `*.jsonl` and `*.ndjson`.
    pub fn of(file: &Path) -> Format {
        let lines = file
            .file_name()
            .map(|n| {
                let b = std::os::unix::ffi::OsStrExt::as_bytes(n);
                b.ends_with(b".jsonl") || b.ends_with(b".ndjson")
            })
            .unwrap_or(false);
        if lines {
            Format::Lines
        } else {
            Format::Document
        }
    }

    /// `Lines` when `lines` is set, else what the name says.
    pub(crate) fn of_or(file: &Path, lines: bool) -> Format {
        if lines {
            Format::Lines
        } else {
            Format::of(file)
        }
    }
}

/// The lines of `bytes` that hold a value: (1-based line number, bytes
/// without the newline). The tail (after the last `\n`) is included.
pub(crate) fn values(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !is_blank(l))
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Where the tail (the bytes after the last `\n`) starts, when it is torn
/// (see the module head); None when the file ends with a whole line.
pub(crate) fn torn_tail(bytes: &[u8]) -> Option<usize> {
    let start = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1);
    let tail = &bytes[start..];
    (!tail_is_whole(tail) && could_be_torn(tail)).then_some(start)
}

/// Whether a tail that is not a whole value is what a cut append leaves: the
/// beginning of a value (the grammar breaks only at its end, or a UTF-8
/// character is cut), or a number (see the module head). A tail that breaks
/// the grammar before its end was never a line jsafe wrote.
pub(crate) fn could_be_torn(tail: &[u8]) -> bool {
    match json::parse(tail) {
        Ok(v) => matches!(v, json::Value::Number(_)),
        Err(e) => match e.kind {
            ParseErrorKind::InvalidUtf8 => true,
            ParseErrorKind::Syntax => e.offset >= tail.len(),
            ParseErrorKind::TooDeep | ParseErrorKind::Empty | ParseErrorKind::TornTail => false,
        },
    }
}

/// Whether bytes after the last newline form a whole value (or nothing).
pub(crate) fn tail_is_whole(tail: &[u8]) -> bool {
    if is_blank(tail) {
        return true;
    }
    match json::parse(tail) {
        Ok(v) => !matches!(v, json::Value::Number(_)),
        Err(_) => false,
    }
}

/// One line checked as a value, its errors placed in the file.
pub(crate) fn check_line(line_no: usize, start: usize, line: &[u8]) -> Result<(), ParseError> {
    if line.len() > MAX_LINE {
        return Err(ParseError {
            kind: ParseErrorKind::Syntax,
            offset: start + MAX_LINE,
            line: line_no,
            column: 1,
            message: format!(
                "line {line_no}: {} bytes, longer than a JSON Lines line may be ({})",
                line.len(),
                max_line_text()
            ),
        });
    }
    json::validate(line).map_err(|e| place(e, line_no, start))
}

fn place(e: ParseError, line_no: usize, start: usize) -> ParseError {
    let message = match e.kind {
        ParseErrorKind::InvalidUtf8 => format!("line {line_no}: invalid UTF-8"),
        _ => e
            .message
            .replacen("line 1, column", &format!("line {line_no}, column"), 1),
    };
    ParseError {
        kind: e.kind,
        offset: start + e.offset,
        line: line_no,
        column: e.column,
        message,
    }
}

/// Validate `bytes` as JSON Lines: every line a value, no torn tail. The
/// error names the line; a torn tail says so.
pub(crate) fn validate(bytes: &[u8]) -> Result<(), ParseError> {
    let tail = torn_tail(bytes);
    let mut start = 0;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let here = start;
        start += line.len() + 1;
        if is_blank(line) {
            continue;
        }
        if Some(here) == tail {
            return Err(torn_error(bytes, here, i + 1));
        }
        check_line(i + 1, here, line)?;
    }
    Ok(())
}

/// The error for a torn last line starting at `offset` (line `line_no`).
pub(crate) fn torn_error(bytes: &[u8], offset: usize, line_no: usize) -> ParseError {
    ParseError {
        kind: ParseErrorKind::TornTail,
        offset,
        line: line_no,
        column: 1,
        message: format!(
            "line {line_no}: torn last line ({} without a newline: an append that did not finish)",
            match bytes.len().saturating_sub(offset) {
                1 => "1 byte".to_owned(),
                n => format!("{n} bytes"),
            }
        ),
    }
}

/// Whether a validation error is only a torn tail (what an append or
/// `--recover` repairs), as opposed to a bad line in the middle: by its kind
/// and offset, never its text.
pub(crate) fn is_torn(bytes: &[u8], error: &ParseError) -> bool {
    error.kind == ParseErrorKind::TornTail && torn_tail(bytes) == Some(error.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_beginning_of_a_value_is_a_torn_tail() {
        for torn in [&b"{\"a\": 1"[..], b"tru", b"\"ab", b"[1,", b"12", b"\"\xc3"] {
            assert!(could_be_torn(torn), "{:?}", String::from_utf8_lossy(torn));
        }
        for not_torn in [&b"]"[..], b"}", b"{\"a\":1}}", b"x", b"\"a\" 1"] {
            assert!(
                !could_be_torn(not_torn),
                "{:?}",
                String::from_utf8_lossy(not_torn)
            );
        }
        let doc = b"[\n  \"alpha\",\n  \"beta\"\n]";
        assert_eq!(torn_tail(doc), None);
        assert!(validate(doc).is_err());
    }

    #[test]
    fn names_decide_the_format() {
        assert_eq!(Format::of(Path::new("a/b.jsonl")), Format::Lines);
        assert_eq!(Format::of(Path::new("b.ndjson")), Format::Lines);
        assert_eq!(Format::of(Path::new("b.json")), Format::Document);
        assert_eq!(Format::of_or(Path::new("b.log"), true), Format::Lines);
    }

    #[test]
    fn whole_lines_torn_tails_and_bad_lines() {
        assert!(validate(b"").is_ok());
        assert!(validate(b"{\"a\":1}\n[2]\n\n3\n").is_ok());
        // A whole value without its newline counts.
        assert!(validate(b"{\"a\":1}\n{\"b\":2}").is_ok());
        assert_eq!(torn_tail(b"{\"a\":1}\n{\"b\":2}"), None);
        // A cut value is torn; so is a bare number (a cut may shorten it).
        let torn = b"{\"a\":1}\n{\"b\":";
        assert_eq!(torn_tail(torn), Some(8));
        let e = validate(torn).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(is_torn(torn, &e), "{e}");
        assert_eq!(torn_tail(b"1\n12"), Some(2));
        assert_eq!(e.kind, ParseErrorKind::TornTail);
        assert_eq!(e.offset, 8);
        // The kind decides, not the words: a syntax error saying the same
        // words at the tail's offset is not a torn tail.
        let lookalike = ParseError {
            kind: ParseErrorKind::Syntax,
            ..e.clone()
        };
        assert!(!is_torn(torn, &lookalike));
        // A bad line in the middle is not a torn tail.
        let bad = b"{\"a\":1}\n{oops}\n{\"c\":3}\n";
        let e = validate(bad).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("line 2, column 2"), "{e}");
        assert!(!is_torn(bad, &e));
        assert_eq!(
            values(b"1\n\n 2 \n3").map(|(n, _)| n).collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
    }
}
