//! Strict RFC 8259 parsing into a `Value` that remembers how it was written.
//!
//! Promises: exactly one JSON value surrounded by optional whitespace is
//! accepted and nothing else (no BOM, comments, trailing commas or trailing
//! garbage); numbers keep their source text and escaped strings their source
//! spelling; nesting beyond `MAX_DEPTH` is refused with an error instead of
//! exhausting the stack; every error carries a byte offset and a 1-based
//! line/column (column counted in characters) that a person can act on.

use std::fmt;

use super::value::{Map, Number, Str, Value, number_end};

/// Deepest nesting of arrays/objects accepted. Deeper input is refused,
/// never a stack overflow: the parser recurses once per level.
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
            let (line, column) = line_column(bytes, offset);
            return Err(ParseError {
                kind: ParseErrorKind::InvalidUtf8,
                offset,
                line,
                column,
                message: format!("invalid UTF-8 at byte {offset}"),
            });
        }
    };
    let mut p = Parser {
        text,
        bytes,
        pos: 0,
    };
    p.skip_ws();
    if p.pos == bytes.len() {
        let (line, column) = line_column(bytes, p.pos);
        return Err(ParseError {
            kind: ParseErrorKind::Empty,
            offset: p.pos,
            line,
            column,
            message: "empty input (no JSON value)".to_string(),
        });
    }
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos < bytes.len() {
        let found = p.found();
        return Err(p.error_here(&format!(
            "unexpected {found} after the JSON value (only one value is allowed)"
        )));
    }
    Ok(value)
}

/// 1-based line and character column of byte `offset`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
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

fn syntax_error(bytes: &[u8], offset: usize, what: &str) -> ParseError {
    let (line, column) = line_column(bytes, offset);
    ParseError {
        kind: ParseErrorKind::Syntax,
        offset,
        line,
        column,
        message: format!("line {line}, column {column}: {what}"),
    }
}

/// What went wrong decoding one backslash escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EscapeError {
    Eof,
    UnknownEscape,
    BadHex,
    LoneHigh,
    LoneLow,
}

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
            if bytes.get(at + 6) != Some(&b'\\') || bytes.get(at + 7) != Some(&b'u') {
                return Err(EscapeError::LoneHigh);
            }
            let second = hex4(bytes, at + 8)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return Err(EscapeError::LoneHigh);
            }
            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            char::from_u32(code)
                .map(|c| (c, 12))
                .ok_or(EscapeError::LoneHigh)
        }
        0xDC00..=0xDFFF => Err(EscapeError::LoneLow),
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

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn error_at(&self, offset: usize, what: &str) -> ParseError {
        syntax_error(self.bytes, offset, what)
    }

    fn error_here(&self, what: &str) -> ParseError {
        self.error_at(self.pos, what)
    }

    /// Running out of input is reported as truncation rather than as a
    /// generic syntax error: it is by far the commonest cause (a write that
    /// was cut short) and the one a user most needs to recognise.
    fn eof_error(&self) -> ParseError {
        let offset = self.bytes.len();
        let (line, column) = line_column(self.bytes, offset);
        ParseError {
            kind: ParseErrorKind::Syntax,
            offset,
            line,
            column,
            message: format!(
                "unexpected end of input at line {line}, column {column} (the file looks truncated)"
            ),
        }
    }

    /// "expected X, found Y" at the current position, or truncation at the end.
    fn unexpected(&self, expected: &str) -> ParseError {
        if self.pos >= self.bytes.len() {
            return self.eof_error();
        }
        let found = self.found();
        self.error_here(&format!("{expected}, found {found}"))
    }

    fn found(&self) -> String {
        self.found_at(self.pos)
    }

    fn found_at(&self, at: usize) -> String {
        match self.text.get(at..).and_then(|s| s.chars().next()) {
            None => "end of input".to_string(),
            Some('\n') => "a line break".to_string(),
            Some('\r') => "a carriage return".to_string(),
            Some('\t') => "a tab".to_string(),
            Some(c) if c.is_control() => format!("control character U+{:04X}", u32::from(c)),
            Some(c) => format!("'{c}'"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => {
                let (value, raw) = self.string()?;
                Ok(Value::String(Str {
                    value,
                    raw: raw.map(Box::from),
                }))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'\'') => {
                Err(self.unexpected("expected a JSON value (JSON strings use double quotes)"))
            }
            Some(b'/') => Err(self.unexpected("expected a JSON value (JSON has no comments)")),
            _ => Err(self.unexpected("expected a JSON value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), ParseError> {
        if depth <= MAX_DEPTH {
            return Ok(());
        }
        let (line, column) = line_column(self.bytes, self.pos);
        Err(ParseError {
            kind: ParseErrorKind::TooDeep,
            offset: self.pos,
            line,
            column,
            message: format!(
                "nesting deeper than {MAX_DEPTH} levels at line {line}, column {column}"
            ),
        })
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.bytes.get(self.pos) == Some(&b']') {
                        return Err(self.error_here("trailing comma before ']' is not allowed"));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected("expected ',' or ']' after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.pos += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected("expected '\"' to begin an object key"));
            }
            // Keys keep no source spelling: they are always re-escaped.
            let (key, _) = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.unexpected("expected ':' after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth)?;
            // Last duplicate wins, at the first one's position.
            map.insert(key, value);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.bytes.get(self.pos) == Some(&b'}') {
                        return Err(self.error_here("trailing comma before '}' is not allowed"));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.unexpected("expected ',' or '}' after object member")),
            }
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, ParseError> {
        for (i, &expected) in word.as_bytes().iter().enumerate() {
            match self.bytes.get(self.pos + i) {
                Some(&b) if b == expected => {}
                None => return Err(self.eof_error()),
                Some(_) => {
                    let start = self.pos;
                    self.pos += i;
                    let found = self.found();
                    return Err(self.error_at(
                        start,
                        &format!("invalid literal: expected '{word}', found {found}"),
                    ));
                }
            }
        }
        self.pos += word.len();
        Ok(value)
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        match number_end(self.bytes, start) {
            Ok(end) => {
                self.pos = end;
                Ok(Value::Number(Number::from_checked(self.slice(start, end))))
            }
            Err(e) => {
                self.pos = e.offset;
                if e.offset >= self.bytes.len() {
                    return Err(self.eof_error());
                }
                let found = self.found();
                Err(self.error_at(e.offset, &format!("{}, found {found}", e.message)))
            }
        }
    }

    /// Parses a string at the opening quote. Returns the decoded value and,
    /// when the source used any escape, the source text between the quotes.
    fn string(&mut self) -> Result<(String, Option<&str>), ParseError> {
        let start = self.pos + 1;
        let mut i = start;
        // Fast path: most strings have no escapes and are one slice copy.
        loop {
            match self.bytes.get(i) {
                None => return Err(self.eof_error()),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((self.slice(start, i).to_string(), None));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(self.control_char(i)),
                Some(_) => i += 1,
            }
        }
        let mut value = String::with_capacity(i - start + 16);
        value.push_str(self.slice(start, i));
        let mut run = i;
        loop {
            match self.bytes.get(i) {
                None => return Err(self.eof_error()),
                Some(b'"') => {
                    value.push_str(self.slice(run, i));
                    self.pos = i + 1;
                    return Ok((value, Some(self.slice(start, i))));
                }
                Some(b'\\') => {
                    value.push_str(self.slice(run, i));
                    let (c, len) =
                        decode_escape(self.bytes, i).map_err(|e| self.escape_error(i, e))?;
                    value.push(c);
                    i += len;
                    run = i;
                }
                Some(&b) if b < 0x20 => return Err(self.control_char(i)),
                Some(_) => i += 1,
            }
        }
    }

    /// Both ends are at ASCII bytes of validated UTF-8, hence char
    /// boundaries; `get` keeps it panic-free regardless.
    fn slice(&self, from: usize, to: usize) -> &str {
        self.text.get(from..to).unwrap_or_default()
    }

    fn control_char(&self, at: usize) -> ParseError {
        let what = match self.bytes.get(at) {
            Some(b'\n') => {
                "a raw line break inside a string is not allowed (write it as \\n)".to_string()
            }
            Some(b'\t') => "a raw tab inside a string is not allowed (write it as \\t)".to_string(),
            Some(&b) => format!(
                "raw control character U+{b:04X} inside a string is not allowed (escape it as \\u{b:04x})"
            ),
            None => "unexpected end of input".to_string(),
        };
        self.error_at(at, &what)
    }

    fn escape_error(&self, at: usize, e: EscapeError) -> ParseError {
        let what = match e {
            EscapeError::Eof => return self.eof_error(),
            EscapeError::UnknownEscape => {
                format!("invalid escape: '\\' followed by {}", self.found_at(at + 1))
            }
            EscapeError::BadHex => "invalid \\u escape: expected 4 hex digits".to_string(),
            EscapeError::LoneHigh => {
                "invalid \\u escape: high surrogate not followed by a low surrogate escape"
                    .to_string()
            }
            EscapeError::LoneLow => {
                "invalid \\u escape: low surrogate without a preceding high surrogate".to_string()
            }
        };
        self.error_at(at, &what)
    }
}

#[cfg(test)]
mod tests {
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
        for cut in [
            &b"{\"a"[..],
            b"[1",
            b"[1,",
            b"{\"a\":",
            b"tr",
            b"-",
            b"1.",
            b"\"x\\u00",
        ] {
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
    fn lone_surrogates_are_refused() {
        for input in [
            &br#""\ud83d""#[..],
            br#""\ud83dx""#,
            br#""\ud83d\u0041""#,
            br#""\ude00""#,
            br#""a\ude00\ud83d""#,
        ] {
            let e = err(input);
            assert_eq!(e.kind, ParseErrorKind::Syntax, "{input:?}");
            assert!(e.message.contains("surrogate"), "{input:?}: {e}");
        }
        assert_eq!(err(br#"["\ude00"]"#).offset, 2);
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
            (b"[nul]", 1, "invalid literal: expected 'null', found ']'"),
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
