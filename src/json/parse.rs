//! Strict RFC 8259 parsing into a `Value` that remembers how it was written.
//!
//! Promises: exactly one JSON value surrounded by optional whitespace is
//! accepted and nothing else (no BOM, comments, trailing commas or trailing
//! garbage); numbers keep their source text and escaped strings their source
//! spelling; nesting beyond `MAX_DEPTH` is refused with an error instead of
//! exhausting the stack; every error carries a byte offset and a 1-based
//! line/column (column counted in characters) that a person can act on.
//!
//! The grammar itself is walked in `scan.rs`, once for every reader; this
//! module holds what the readers share around it (the checks before the
//! first value, escapes, and every error's wording) and the sink that builds
//! a `Value`.

use std::fmt;

use super::scan::{Key, Sink, document};
use super::value::{Map, Number, Str, Value, number_end};

/// Deepest nesting of arrays/objects accepted. Deeper input is refused,
/// never a stack overflow: the walk recurses once per level.
pub const MAX_DEPTH: usize = 256;

/// What kind of parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Not JSON grammar.
    Syntax,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// No value at all (empty or only whitespace).
    Empty,
    /// JSON Lines: the last line is the beginning of a value cut short (an
    /// append that did not finish); `offset` is where that line starts.
    TornTail,
}

/// `message` is the complete sentence for a person, location included; it is
/// exactly what `Display` prints. The other fields are for programs.
#[derive(Debug, Clone)]
pub struct ParseError {
    /// What kind of error.
    pub kind: ParseErrorKind,
    /// Byte offset where the grammar broke.
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: usize,
    /// 1-based column (in characters) of `offset`.
    pub column: usize,
    /// The sentence for people, location included.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a whole document.
pub fn parse(bytes: &[u8]) -> Result<Value, ParseError> {
    document(bytes, |text, s| s.walk(&mut Tree { text }, 0))
}

/// 1-based line and character column of byte `offset`.
pub(super) fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    // Counting non-continuation bytes counts characters without decoding.
    let column = 1 + before
        .get(line_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    (line, column)
}

/// An error of `kind` at `offset`, its message written from the line and
/// column there.
fn error_at(
    bytes: &[u8],
    offset: usize,
    kind: ParseErrorKind,
    message: impl FnOnce(usize, usize) -> String,
) -> ParseError {
    let (line, column) = line_column(bytes, offset);
    ParseError {
        kind,
        offset,
        line,
        column,
        message: message(line, column),
    }
}

pub(super) fn syntax_error(bytes: &[u8], offset: usize, what: &str) -> ParseError {
    error_at(bytes, offset, ParseErrorKind::Syntax, |line, column| {
        format!("line {line}, column {column}: {what}")
    })
}

// The error constructors below are the only ones the grammar walk
// (`scan.rs`) uses, so every reader reports every error identically.

/// Running out of input is reported as truncation rather than as a generic
/// syntax error: it is by far the commonest cause (a write that was cut short)
/// and the one a user most needs to recognise.
pub(super) fn eof_error(bytes: &[u8]) -> ParseError {
    error_at(
        bytes,
        bytes.len(),
        ParseErrorKind::Syntax,
        |line, column| {
            format!(
                "unexpected end of input at line {line}, column {column} (the file looks truncated)"
            )
        },
    )
}

/// The character at `at` as a person would name it. `bytes` is valid UTF-8;
/// an offset inside a character or at the end reads "end of input".
pub(super) fn found_at(bytes: &[u8], at: usize) -> String {
    let chunk = bytes.get(at..bytes.len().min(at.saturating_add(4)));
    let c = chunk.and_then(|c| {
        c.utf8_chunks()
            .next()
            .and_then(|c| c.valid().chars().next())
    });
    match c {
        None => "end of input".to_string(),
        Some('\n') => "a line break".to_string(),
        Some('\r') => "a carriage return".to_string(),
        Some('\t') => "a tab".to_string(),
        Some(c) if c.is_control() => format!("control character U+{:04X}", u32::from(c)),
        Some(c) => format!("'{c}'"),
    }
}

/// "expected X, found Y" at `pos`, or truncation at the end.
pub(super) fn unexpected(bytes: &[u8], pos: usize, expected: &str) -> ParseError {
    if pos >= bytes.len() {
        return eof_error(bytes);
    }
    let found = found_at(bytes, pos);
    syntax_error(bytes, pos, &format!("{expected}, found {found}"))
}

/// Whether a container opened at `pos` at nesting `depth` is still allowed.
pub(super) fn enter(bytes: &[u8], pos: usize, depth: usize) -> Result<(), ParseError> {
    if depth <= MAX_DEPTH {
        return Ok(());
    }
    Err(error_at(
        bytes,
        pos,
        ParseErrorKind::TooDeep,
        |line, column| {
            format!("nesting deeper than {MAX_DEPTH} levels at line {line}, column {column}")
        },
    ))
}

/// A byte other than whitespace after the one top-level value.
pub(super) fn trailing_error(bytes: &[u8], pos: usize) -> ParseError {
    let found = found_at(bytes, pos);
    syntax_error(
        bytes,
        pos,
        &format!("unexpected {found} after the JSON value (only one value is allowed)"),
    )
}

/// The first byte of a value is none that can start one.
pub(super) fn not_a_value(bytes: &[u8], pos: usize) -> ParseError {
    match bytes.get(pos) {
        Some(b'\'') => unexpected(
            bytes,
            pos,
            "expected a JSON value (JSON strings use double quotes)",
        ),
        Some(b'/') => unexpected(bytes, pos, "expected a JSON value (JSON has no comments)"),
        _ => unexpected(bytes, pos, "expected a JSON value"),
    }
}

/// Checks the literal `word` at `pos`; returns the offset just past it.
pub(super) fn literal_end(
    bytes: &[u8],
    pos: usize,
    word: &'static str,
) -> Result<usize, ParseError> {
    for (i, &expected) in word.as_bytes().iter().enumerate() {
        match bytes.get(pos + i) {
            Some(&b) if b == expected => {}
            None => return Err(eof_error(bytes)),
            Some(_) => {
                // Placed at the first byte that differs, which is what
                // "found" names.
                let found = found_at(bytes, pos + i);
                return Err(syntax_error(
                    bytes,
                    pos + i,
                    &format!("invalid literal: expected '{word}', found {found}"),
                ));
            }
        }
    }
    Ok(pos + word.len())
}

/// Checks the number at `pos`; returns the offset just past it.
pub(super) fn checked_number_end(bytes: &[u8], pos: usize) -> Result<usize, ParseError> {
    number_end(bytes, pos).map_err(|e| {
        if e.offset >= bytes.len() {
            return eof_error(bytes);
        }
        let found = found_at(bytes, e.offset);
        syntax_error(bytes, e.offset, &format!("{}, found {found}", e.message))
    })
}

/// A raw control character at `at` inside a string.
pub(super) fn control_char_error(bytes: &[u8], at: usize) -> ParseError {
    let what = match bytes.get(at) {
        Some(b'\n') => {
            "a raw line break inside a string is not allowed (write it as \\n)".to_string()
        }
        Some(b'\t') => "a raw tab inside a string is not allowed (write it as \\t)".to_string(),
        Some(&b) => format!(
            "raw control character U+{b:04X} inside a string is not allowed (escape it as \\u{b:04x})"
        ),
        None => return eof_error(bytes),
    };
    syntax_error(bytes, at, &what)
}

/// A malformed escape whose backslash is at `at`.
pub(super) fn escape_error(bytes: &[u8], at: usize, e: EscapeError) -> ParseError {
    let what = match e {
        EscapeError::Eof => return eof_error(bytes),
        EscapeError::UnknownEscape => {
            format!(
                "invalid escape: '\\' followed by {}",
                found_at(bytes, at + 1)
            )
        }
        EscapeError::BadHex => "invalid \\u escape: expected 4 hex digits".to_string(),
    };
    syntax_error(bytes, at, &what)
}

/// The checks every whole-document reader makes before the first value: no
/// BOM, valid UTF-8 throughout, not empty. Returns the text and the offset of
/// the first value.
pub(super) fn prelude(bytes: &[u8]) -> Result<(&str, usize), ParseError> {
    if bytes.starts_with(BOM) {
        return Err(syntax_error(
            bytes,
            0,
            "the input starts with a UTF-8 byte order mark (BOM), which JSON does not allow; \
             remove the first 3 bytes",
        ));
    }
    // Validating once up front lets the rest work on `&str` slices without
    // re-checking, and gives one precise offset for the bad byte.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.valid_up_to();
            return Err(error_at(
                bytes,
                offset,
                ParseErrorKind::InvalidUtf8,
                |_, _| format!("invalid UTF-8 at byte {offset}"),
            ));
        }
    };
    let start = skip_ws(bytes, 0);
    if start == bytes.len() {
        return Err(error_at(bytes, start, ParseErrorKind::Empty, |_, _| {
            "empty input (no JSON value)".to_string()
        }));
    }
    Ok((text, start))
}

/// Offset of the first byte at or after `pos` that is not JSON whitespace.
#[inline]
pub(super) fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// What went wrong decoding one backslash escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EscapeError {
    Eof,
    UnknownEscape,
    BadHex,
}

/// What a lone surrogate escape (`\ud800` without its pair, `\udc00` alone)
/// decodes to. RFC 8259's grammar allows such escapes, Python and JavaScript
/// write them, and a Rust string cannot hold them: the value holds U+FFFD
/// (as JavaScript's `toWellFormed` and Python's `errors="replace"` do) and the
/// string keeps its source spelling, so it is written back exactly as read.
pub const LONE_SURROGATE: char = '\u{FFFD}';

/// Decodes the escape whose backslash is at `bytes[at]`, returning the
/// character and how many bytes the escape spans.
///
/// Shared with the renderer, which uses it to check that a kept source
/// spelling still means the current value.
pub(super) fn decode_escape(bytes: &[u8], at: usize) -> Result<(char, usize), EscapeError> {
    let c = match bytes.get(at + 1) {
        None => return Err(EscapeError::Eof),
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return decode_unicode_escape(bytes, at),
        Some(_) => return Err(EscapeError::UnknownEscape),
    };
    Ok((c, 2))
}

fn decode_unicode_escape(bytes: &[u8], at: usize) -> Result<(char, usize), EscapeError> {
    let first = hex4(bytes, at + 2)?;
    match first {
        0xD800..=0xDBFF => {
            // A pair only when a low surrogate escape follows at once;
            // anything else (including a malformed escape, which is then
            // reported at its own backslash) leaves this one lone.
            if bytes.get(at + 6) == Some(&b'\\')
                && bytes.get(at + 7) == Some(&b'u')
                && let Ok(second @ 0xDC00..=0xDFFF) = hex4(bytes, at + 8)
            {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok((char::from_u32(code).unwrap_or(LONE_SURROGATE), 12));
            }
            Ok((LONE_SURROGATE, 6))
        }
        0xDC00..=0xDFFF => Ok((LONE_SURROGATE, 6)),
        _ => char::from_u32(first)
            .map(|c| (c, 6))
            .ok_or(EscapeError::BadHex),
    }
}

fn hex4(bytes: &[u8], at: usize) -> Result<u32, EscapeError> {
    let digits = bytes.get(at..at + 4).ok_or(EscapeError::Eof)?;
    let mut code = 0;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(EscapeError::BadHex),
        };
        code = code * 16 + u32::from(v);
    }
    Ok(code)
}

/// The sink [`parse`] builds a [`Value`] with.
struct Tree<'a> {
    /// The document, its UTF-8 checked.
    text: &'a str,
}

impl Tree<'_> {
    /// Both ends are at ASCII bytes of validated UTF-8, hence char
    /// boundaries; `get` keeps it panic-free regardless.
    fn slice(&self, from: usize, to: usize) -> &str {
        self.text.get(from..to).unwrap_or_default()
    }

    /// The string at `at`, decoded, and when it is written with any escape,
    /// its text between the quotes.
    fn decode(&self, at: Key) -> Result<(String, Option<&str>), ParseError> {
        let (start, end) = (at.start + 1, at.end - 1);
        let text = self.slice(start, end);
        if !at.escaped {
            return Ok((text.to_string(), None));
        }
        let mut value = String::with_capacity(text.len());
        unescape(self.text, start, end, &mut value)?;
        Ok((value, Some(text)))
    }
}

impl<'a> Sink<'a> for Tree<'a> {
    type Out = Value;
    type Key = String;
    type Items = Vec<Value>;
    type Members = Map;

    fn null(&mut self) -> Value {
        Value::Null
    }

    fn bool(&mut self, value: bool) -> Value {
        Value::Bool(value)
    }

    fn number(&mut self, start: usize, end: usize) -> Value {
        Value::Number(Number::from_checked(self.slice(start, end)))
    }

    fn string(&mut self, at: Key) -> Result<Value, ParseError> {
        let (value, raw) = self.decode(at)?;
        Ok(Value::String(Str {
            value,
            raw: raw.map(Box::from),
        }))
    }

    fn key(&mut self, at: Key) -> Result<String, ParseError> {
        // Keys keep no source spelling: they are always re-escaped.
        Ok(self.decode(at)?.0)
    }

    fn items(&mut self) -> Vec<Value> {
        Vec::new()
    }

    fn item(&mut self, items: &mut Vec<Value>, value: Value) {
        items.push(value);
    }

    fn array(&mut self, items: Vec<Value>, _: usize, _: usize, _: usize) -> Value {
        Value::Array(items)
    }

    fn members(&mut self) -> Map {
        Map::new()
    }

    fn member(&mut self, members: &mut Map, key: String, value: Value) {
        // Last duplicate wins, at the first one's position.
        members.insert(key, value);
    }

    fn object(&mut self, members: Map, _: usize, _: usize, _: usize) -> Value {
        Value::Object(members)
    }
}

/// Appends the value of the string whose text (between its quotes) is
/// `text[start..end]` to `out`, its escapes decoded. The walk has checked
/// every escape; one that is bad all the same is reported as the walk would.
pub(super) fn unescape(
    text: &str,
    start: usize,
    end: usize,
    out: &mut String,
) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let mut run = start;
    let mut i = start;
    while let Some(at) = bytes
        .get(i..end)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
    {
        let at = i + at;
        out.push_str(text.get(run..at).unwrap_or_default());
        let (c, len) = decode_escape(bytes, at).map_err(|e| escape_error(bytes, at, e))?;
        out.push(c);
        i = at + len;
        run = i;
    }
    out.push_str(text.get(run..end).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::samples::TRUNCATED;
    use super::*;

    fn err(input: &[u8]) -> ParseError {
        match parse(input) {
            Ok(v) => panic!("expected an error for {input:?}, got {v:?}"),
            Err(e) => e,
        }
    }

    fn ok(input: &[u8]) -> Value {
        match parse(input) {
            Ok(v) => v,
            Err(e) => panic!("unexpected error for {input:?}: {e}"),
        }
    }

    fn s(value: &str, raw: Option<&str>) -> Str {
        Str {
            value: value.to_string(),
            raw: raw.map(Box::from),
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(ok(b"null"), Value::Null);
        assert_eq!(ok(b" true "), Value::Bool(true));
        assert_eq!(ok(b"\r\n\tfalse\n"), Value::Bool(false));
        assert_eq!(ok(b"\"x\""), Value::from("x"));
        for n in [
            "0",
            "-0",
            "1.10",
            "1e3",
            "2.50E-3",
            "12345678901234567890123",
        ] {
            match ok(n.as_bytes()) {
                Value::Number(num) => assert_eq!(num.as_str(), n),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn containers_keep_order_and_last_duplicate_wins_in_first_place() {
        let v = ok(br#"{"z": 1, "a": [true, null, {}], "m": 2, "z": 3}"#);
        let Value::Object(map) = v else {
            panic!("not an object")
        };
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(map.get("z"), Some(&Value::from(3i64)));
        assert_eq!(
            map.get("a"),
            Some(&Value::Array(vec![
                Value::Bool(true),
                Value::Null,
                Value::Object(Map::new())
            ]))
        );
    }

    #[test]
    fn strings_decode_and_keep_raw_only_when_escaped() {
        let cases: &[(&[u8], &str, Option<&str>)] = &[
            (b"\"plain\"", "plain", None),
            ("\"日本\"".as_bytes(), "日本", None),
            (br#""caf\u00e9""#, "café", Some(r"caf\u00e9")),
            (br#""a\/b""#, "a/b", Some(r"a\/b")),
            (br#""tab\there""#, "tab\there", Some(r"tab\there")),
            (
                br#""\"\\\b\f\n\r\t""#,
                "\"\\\u{8}\u{c}\n\r\t",
                Some(r#"\"\\\b\f\n\r\t"#),
            ),
            (br#""\ud83d\ude00!""#, "😀!", Some(r"\ud83d\ude00!")),
            (br#""\uD83D\uDE00""#, "😀", Some(r"\uD83D\uDE00")),
            (br#""\u0000""#, "\0", Some(r"\u0000")),
            (b"\"\"", "", None),
        ];
        for &(input, value, raw) in cases {
            match ok(input) {
                Value::String(got) => {
                    assert_eq!(got.value, value, "{input:?}");
                    assert_eq!(got.raw.as_deref(), raw, "{input:?}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            ok(br#"["x\u0041"]"#),
            Value::Array(vec![Value::String(s("xA", Some(r"x\u0041")))])
        );
    }

    #[test]
    fn classic_truncated_write_points_at_the_bad_byte() {
        let e = err(b"{\"data\": %");
        assert_eq!(e.kind, ParseErrorKind::Syntax);
        assert_eq!((e.offset, e.line, e.column), (9, 1, 10));
        assert_eq!(
            e.to_string(),
            "line 1, column 10: expected a JSON value, found '%'"
        );
    }

    #[test]
    fn missing_separator_message() {
        let e = err(b"{\n  \"a\": 1,\n  \"b\": [1, 2]   %\n}");
        assert_eq!((e.line, e.column), (3, 17));
        assert_eq!(
            e.message,
            "line 3, column 17: expected ',' or '}' after object member, found '%'"
        );
    }

    #[test]
    fn end_of_input_is_reported_as_truncation() {
        let input = b"{\n  \"a\": [\n    1,\n    2,\n    3,\n    4,\n    5,\n    6,\n";
        let e = err(input);
        assert_eq!(e.kind, ParseErrorKind::Syntax);
        assert_eq!((e.offset, e.line, e.column), (input.len(), 9, 1));
        assert_eq!(
            e.to_string(),
            "unexpected end of input at line 9, column 1 (the file looks truncated)"
        );
        for &cut in TRUNCATED {
            let e = err(cut);
            assert!(
                e.message.starts_with("unexpected end of input"),
                "{cut:?}: {e}"
            );
            assert_eq!(e.offset, cut.len());
        }
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let e = err(b"{\"a\": 1}\n}");
        assert_eq!(e.kind, ParseErrorKind::Syntax);
        assert_eq!((e.offset, e.line, e.column), (9, 2, 1));
        assert_eq!(
            e.message,
            "line 2, column 1: unexpected '}' after the JSON value (only one value is allowed)"
        );
        assert_eq!(err(b"1 2").offset, 2);
        assert_eq!(err(b"{}{}").offset, 2);
        assert_eq!(err(b"[] x").kind, ParseErrorKind::Syntax);
    }

    #[test]
    fn depth_limit_is_exact() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let v = ok(nested(MAX_DEPTH).as_bytes());
        assert_eq!(v.depth(), MAX_DEPTH);
        let e = err(nested(MAX_DEPTH + 1).as_bytes());
        assert_eq!(e.kind, ParseErrorKind::TooDeep);
        assert_eq!((e.offset, e.line, e.column), (MAX_DEPTH, 1, MAX_DEPTH + 1));
        assert_eq!(
            e.message,
            "nesting deeper than 256 levels at line 1, column 257"
        );
        let objects = |n: usize| format!("{}1{}", "{\"k\":".repeat(n), "}".repeat(n));
        assert_eq!(ok(objects(MAX_DEPTH).as_bytes()).depth(), MAX_DEPTH);
        assert_eq!(
            err(objects(MAX_DEPTH + 1).as_bytes()).kind,
            ParseErrorKind::TooDeep
        );
        // Far deeper input must be an error, not a stack overflow.
        assert_eq!(
            err(nested(1_000_000).as_bytes()).kind,
            ParseErrorKind::TooDeep
        );
    }

    #[test]
    fn invalid_utf8_reports_the_byte() {
        let mut input = b"{\"name\": \"caf".to_vec();
        input.extend_from_slice(&[0xE9, b'"', b'}']);
        let e = err(&input);
        assert_eq!(e.kind, ParseErrorKind::InvalidUtf8);
        assert_eq!(e.offset, 13);
        assert_eq!(e.to_string(), "invalid UTF-8 at byte 13");
        assert_eq!((e.line, e.column), (1, 14));
    }

    #[test]
    fn lone_surrogates_are_kept_as_written() {
        let fffd = LONE_SURROGATE.to_string();
        let cases: &[(&[u8], String, &str)] = &[
            (br#""\ud800""#, fffd.clone(), r"\ud800"),
            (br#""\udc00x""#, format!("{fffd}x"), r"\udc00x"),
            (br#""\ud83dx""#, format!("{fffd}x"), r"\ud83dx"),
            (br#""\ud83d\u0041""#, format!("{fffd}A"), r"\ud83d\u0041"),
            (
                br#""a\ude00\ud83d""#,
                format!("a{fffd}{fffd}"),
                r"a\ude00\ud83d",
            ),
            // A high surrogate before a valid pair stays lone; the pair decodes.
            (
                br#""\ud800\ud83d\ude00""#,
                format!("{fffd}\u{1F600}"),
                r"\ud800\ud83d\ude00",
            ),
        ];
        for (input, value, raw) in cases {
            match ok(input) {
                Value::String(got) => {
                    assert_eq!(&got.value, value, "{input:?}");
                    assert_eq!(got.raw.as_deref(), Some(*raw), "{input:?}");
                }
                other => panic!("{other:?}"),
            }
        }
        // A malformed escape after a high surrogate is reported at its own
        // backslash.
        let e = err(br#""\ud800\u12G4""#);
        assert_eq!(e.offset, 7);
        assert!(e.message.contains("4 hex digits"), "{e}");
        let e = err(br#""\ud800\u00"#);
        assert!(e.message.starts_with("unexpected end of input"), "{e}");
    }

    #[test]
    fn bad_escapes_are_refused() {
        let e = err(br#""\x41""#);
        assert_eq!(e.offset, 1);
        assert!(e.message.contains("invalid escape"), "{e}");
        assert!(err(br#""\u12G4""#).message.contains("4 hex digits"));
    }

    #[test]
    fn bom_is_refused_with_a_clear_message() {
        let e = err(b"\xEF\xBB\xBF{}");
        assert_eq!(e.kind, ParseErrorKind::Syntax);
        assert_eq!((e.offset, e.line, e.column), (0, 1, 1));
        assert!(e.message.contains("byte order mark (BOM)"), "{e}");
    }

    #[test]
    fn empty_input() {
        for input in [&b""[..], b"   ", b"\n\r\n\t"] {
            let e = err(input);
            assert_eq!(e.kind, ParseErrorKind::Empty, "{input:?}");
            assert_eq!(e.to_string(), "empty input (no JSON value)");
        }
    }

    #[test]
    fn control_characters_in_strings_are_refused() {
        let e = err(b"{\"a\": \"x\ny\"}");
        assert_eq!(e.kind, ParseErrorKind::Syntax);
        assert_eq!((e.offset, e.line, e.column), (8, 1, 9));
        assert!(e.message.contains("line break"), "{e}");
        let e = err(b"[\"a\\n\x01\"]");
        assert_eq!(e.offset, 5);
        assert!(e.message.contains("U+0001"), "{e}");
        assert_eq!(err(b"\"\x1f\"").kind, ParseErrorKind::Syntax);
        // DEL is not a control character in JSON's sense.
        assert_eq!(ok(b"\"\x7f\""), Value::from("\u{7f}"));
    }

    #[test]
    fn other_syntax_errors() {
        let cases: &[(&[u8], usize, &str)] = &[
            (b"[1,]", 3, "trailing comma before ']'"),
            (b"{\"a\":1,}", 7, "trailing comma before '}'"),
            (
                b"{'a':1}",
                1,
                "expected '\"' to begin an object key, found '''",
            ),
            (b"['a']", 1, "double quotes"),
            (
                b"[1 2]",
                3,
                "expected ',' or ']' after array element, found '2'",
            ),
            (b"{\"a\" 1}", 5, "expected ':' after object key, found '1'"),
            (b"{1:2}", 1, "expected '\"' to begin an object key"),
            (b"[01]", 2, "leading zeros"),
            (b"[1.]", 3, "after the decimal point"),
            (b"[1e]", 3, "exponent"),
            (b"[-]", 2, "expected a digit"),
            (b"[.5]", 1, "expected a JSON value, found '.'"),
            (b"[+1]", 1, "expected a JSON value, found '+'"),
            (b"[True]", 1, "expected a JSON value, found 'T'"),
            (b"[nul]", 4, "invalid literal: expected 'null', found ']'"),
            (b"[NaN]", 1, "expected a JSON value"),
            (b"// c\n1", 0, "comments"),
            ("[é]".as_bytes(), 1, "found 'é'"),
            (b"\x0c1", 0, "control character U+000C"),
        ];
        for &(input, offset, needle) in cases {
            let e = err(input);
            assert_eq!(e.kind, ParseErrorKind::Syntax, "{input:?}");
            assert_eq!(e.offset, offset, "{input:?}: {e}");
            assert!(e.message.contains(needle), "{input:?}: {e}");
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = err("{\"日本\": x}".as_bytes());
        assert_eq!((e.line, e.column), (1, 8));
        assert_eq!(e.offset, 11);
        let e = err(b"[\r\n  1,\r\n  ?]");
        assert_eq!((e.line, e.column), (3, 3));
    }
}
