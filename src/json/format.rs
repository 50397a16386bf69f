//! Rendering a `Value` back to bytes in the style of the file it came from.
//!
//! Promises: for a document written by jq (default, `--tab`, `--indent n`,
//! `-c`), Python's `json.dumps` (compact or indented, with or without
//! `ensure_ascii`), serde_json (`to_string`, `to_string_pretty`) or
//! `JSON.stringify` (compact or indented), `render(&parse(b)?, &Style::detect(b))`
//! is byte-for-byte `b`, CRLF line breaks and the presence or absence of a
//! final newline included. Numbers are written as their source text and
//! strings with their source escapes, so a change to one member leaves the
//! bytes of every other member as they were.

use super::parse::decode_escape;
use super::value::{Str, Value};

/// How nesting is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indent {
    /// Everything on one line; the flags say whether `:` and `,` are followed
    /// by a space (Python's default `json.dumps` has both, jq -c neither).
    Compact {
        /// A space after each `:`.
        colon_space: bool,
        /// A space after each `,`.
        comma_space: bool,
    },
    /// One member per line, indented by this many spaces per level.
    Spaces(u8),
    /// One member per line, indented by one tab per level.
    Tab,
}

/// A file's formatting style, detected from its bytes and reproduced when
/// it is written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// How nesting is laid out.
    pub indent: Indent,
    /// Line breaks are "\r\n" rather than "\n".
    pub crlf: bool,
    /// The document ends with a line break.
    pub trailing_newline: bool,
    /// Every character from U+007F up is written as a `\u` escape, as
    /// Python's `json.dumps` does by default.
    pub ensure_ascii: bool,
}

impl Style {
    /// The style of a brand new file: two-space indent, LF, final newline,
    /// UTF-8 left as is (what `jq .` writes).
    pub fn new_file() -> Style {
        Style {
            indent: Indent::Spaces(2),
            crlf: false,
            trailing_newline: true,
            ensure_ascii: false,
        }
    }

    /// One line, no spaces, no line break (what `jq -c` writes without its
    /// newline): how a value is written as a line of a JSON Lines file.
    pub const fn line() -> Style {
        Style {
            indent: Indent::Compact {
                colon_space: false,
                comma_space: false,
            },
            crlf: false,
            trailing_newline: false,
            ensure_ascii: false,
        }
    }

    /// [`Style::detect`] of bytes just validated, given whether any of
    /// their strings held an escape: without one there is no backslash to
    /// look for, and the two passes over the bytes that
    /// `ensure_ascii` takes are skipped.
    pub(crate) fn detect_after_scan(bytes: &[u8], escapes: bool) -> Style {
        let mut style = Style::detect_layout(bytes);
        style.ensure_ascii = escapes && detect_ensure_ascii(bytes);
        style
    }

    /// Works out the style of existing file bytes (assumed valid JSON);
    /// anything it cannot tell is taken from `new_file()`.
    pub fn detect(bytes: &[u8]) -> Style {
        let mut style = Style::detect_layout(bytes);
        style.ensure_ascii = detect_ensure_ascii(bytes);
        style
    }

    /// Everything [`Style::detect`] works out but `ensure_ascii`.
    fn detect_layout(bytes: &[u8]) -> Style {
        let mut style = Style::new_file();
        if bytes.is_empty() {
            return style;
        }
        style.crlf = match bytes.iter().position(|&b| b == b'\n') {
            Some(nl) => nl > 0 && bytes.get(nl - 1) == Some(&b'\r'),
            None => false,
        };
        style.trailing_newline = bytes.ends_with(b"\n");
        if let Some(indent) = detect_indent(bytes) {
            style.indent = indent;
        }
        style
    }
}

/// Index just past the string whose opening quote is at `open`.
fn skip_string(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `None` when the document has no non-empty container to learn from.
fn detect_indent(bytes: &[u8]) -> Option<Indent> {
    let mut colon_space = None;
    let mut comma_space = None;
    let mut compact = false;
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'{' | b'[' if !compact => {
                let close = if b == b'{' { b'}' } else { b']' };
                let next = bytes
                    .get(i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .find(|&&c| !is_ws(c));
                if next != Some(&close) {
                    let after = bytes.get(i + 1..).unwrap_or_default();
                    let line = if let Some(rest) = after.strip_prefix(b"\n") {
                        rest
                    } else if let Some(rest) = after.strip_prefix(b"\r\n") {
                        rest
                    } else {
                        // One line: the separators decide, keep scanning.
                        compact = true;
                        i += 1;
                        continue;
                    };
                    return Some(indent_of_line(line, depth));
                }
                depth += 1;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b':' if colon_space.is_none() => colon_space = Some(bytes.get(i + 1) == Some(&b' ')),
            b',' if comma_space.is_none() => comma_space = Some(bytes.get(i + 1) == Some(&b' ')),
            _ => {}
        }
        if compact && colon_space.is_some() && comma_space.is_some() {
            break;
        }
        i += 1;
    }
    if !compact {
        return None;
    }
    let (colon_space, comma_space) = match (colon_space, comma_space) {
        (Some(colon), Some(comma)) => (colon, comma),
        (Some(colon), None) => (colon, colon),
        (None, Some(comma)) => (comma, comma),
        (None, None) => (false, false),
    };
    Some(Indent::Compact {
        colon_space,
        comma_space,
    })
}

/// The indent unit from the leading whitespace of the first line inside a
/// container opened at nesting `depth` (0 for the top level).
fn indent_of_line(line: &[u8], depth: usize) -> Indent {
    if line.first() == Some(&b'\t') {
        return Indent::Tab;
    }
    let spaces = line.iter().take_while(|&&c| c == b' ').count();
    match u8::try_from(spaces / (depth + 1)) {
        Ok(n) => Indent::Spaces(n),
        Err(_) => Style::new_file().indent,
    }
}

/// Pure ASCII with at least one `\u` escape of a non-ASCII character is what
/// Python's default `ensure_ascii=True` produces; anything else is assumed
/// to want UTF-8 written as is.
fn detect_ensure_ascii(bytes: &[u8]) -> bool {
    if !bytes.is_ascii() {
        return false;
    }
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            // Most files have few escapes: look for the next backslash eight
            // bytes at a time.
            i += 1;
            while let Some(chunk) = bytes.get(i..i + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let w = u64::from_ne_bytes(word) ^ u64::from_ne_bytes([b'\\'; 8]);
                if w.wrapping_sub(u64::from_ne_bytes([1; 8])) & !w & u64::from_ne_bytes([0x80; 8])
                    != 0
                {
                    break;
                }
                i += 8;
            }
            continue;
        }
        if bytes.get(i + 1) == Some(&b'u')
            && let Some(hex) = bytes.get(i + 2..i + 6)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(code) = u32::from_str_radix(hex, 16)
            && code >= 0x80
        {
            return true;
        }
        // Skipping the escaped byte keeps "\\u00e9" (a backslash, then
        // text) from counting.
        i += 2;
    }
    false
}

/// Renders a whole document, final newline included if the style has one.
pub fn render(value: &Value, style: &Style) -> Vec<u8> {
    let mut out = Vec::new();
    render_into(&mut out, value, style);
    out
}

/// Like `render`, appending to `out` so callers can reuse a buffer.
pub(crate) fn render_into(out: &mut Vec<u8>, value: &Value, style: &Style) {
    let mut w = Writer::new(out, style);
    w.value(value, 0);
    if style.trailing_newline {
        w.out.extend_from_slice(w.newline);
    }
}

/// Writes values and container framing in a style. The splicing merge uses
/// the same writer for the containers it rebuilds, so what it writes is what
/// `render` would.
pub(super) struct Writer<'a> {
    pub out: &'a mut Vec<u8>,
    style: &'a Style,
    newline: &'static [u8],
}

impl<'a> Writer<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>, style: &'a Style) -> Writer<'a> {
        let newline: &'static [u8] = if style.crlf { b"\r\n" } else { b"\n" };
        Writer {
            out,
            style,
            newline,
        }
    }

    /// Writes `value` as a member of a container at `depth` (0: the top).
    pub(super) fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(true) => self.out.extend_from_slice(b"true"),
            Value::Bool(false) => self.out.extend_from_slice(b"false"),
            Value::Number(n) => self.out.extend_from_slice(n.as_str().as_bytes()),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                if items.is_empty() {
                    self.out.extend_from_slice(b"[]");
                    return;
                }
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    self.separator(i, depth + 1);
                    self.value(item, depth + 1);
                }
                self.close(depth, b']');
            }
            Value::Object(map) => {
                if map.is_empty() {
                    self.out.extend_from_slice(b"{}");
                    return;
                }
                self.out.push(b'{');
                for (i, (key, item)) in map.iter().enumerate() {
                    self.separator(i, depth + 1);
                    self.key(key);
                    self.value(item, depth + 1);
                }
                self.close(depth, b'}');
            }
        }
    }

    /// An object key and the colon (with its space, if the style has one).
    pub(super) fn key(&mut self, key: &str) {
        escape_into(self.out, key, self.style.ensure_ascii);
        self.colon();
    }

    /// A key written as given (quotes included), then the colon.
    pub(super) fn key_text(&mut self, quoted: &[u8]) {
        self.out.extend_from_slice(quoted);
        self.colon();
    }

    fn colon(&mut self) {
        self.out.push(b':');
        if !matches!(
            self.style.indent,
            Indent::Compact {
                colon_space: false,
                ..
            }
        ) {
            self.out.push(b' ');
        }
    }

    /// What goes before the `i`-th member of a container whose members sit
    /// at `depth`.
    pub(super) fn separator(&mut self, i: usize, depth: usize) {
        match self.style.indent {
            Indent::Compact { comma_space, .. } => {
                if i > 0 {
                    self.out.push(b',');
                    if comma_space {
                        self.out.push(b' ');
                    }
                }
            }
            _ => {
                if i > 0 {
                    self.out.push(b',');
                }
                self.line_break(depth);
            }
        }
    }

    /// The line break and indent (if any) and the closing bracket of a
    /// non-empty container at `depth`.
    pub(super) fn close(&mut self, depth: usize, bracket: u8) {
        if !matches!(self.style.indent, Indent::Compact { .. }) {
            self.line_break(depth);
        }
        self.out.push(bracket);
    }

    fn line_break(&mut self, depth: usize) {
        self.out.extend_from_slice(self.newline);
        let (byte, per_level) = match self.style.indent {
            Indent::Spaces(n) => (b' ', usize::from(n)),
            Indent::Tab => (b'\t', 1),
            Indent::Compact { .. } => return,
        };
        let len = self.out.len() + per_level * depth;
        self.out.resize(len, byte);
    }

    fn string(&mut self, s: &Str) {
        match &s.raw {
            Some(raw) if raw_matches(raw, &s.value) => {
                self.out.push(b'"');
                self.out.extend_from_slice(raw.as_bytes());
                self.out.push(b'"');
            }
            _ => escape_into(self.out, &s.value, self.style.ensure_ascii),
        }
    }
}

/// Whether `raw` is well-formed string content (no bare quote or control
/// character, valid escapes) that decodes to exactly `value`. Guards against
/// a `Str` whose value was changed but whose stale source spelling was not
/// dropped: writing that would silently undo the change.
fn raw_matches(raw: &str, value: &str) -> bool {
    let raw = raw.as_bytes();
    let value = value.as_bytes();
    let mut i = 0;
    let mut j = 0;
    let mut buf = [0u8; 4];
    while let Some(&b) = raw.get(i) {
        let (decoded, len): (&[u8], usize) = match b {
            b'\\' => match decode_escape(raw, i) {
                Ok((c, len)) => (c.encode_utf8(&mut buf).as_bytes(), len),
                Err(_) => return false,
            },
            b'"' | 0..0x20 => return false,
            _ => {
                if value.get(j) != Some(&b) {
                    return false;
                }
                i += 1;
                j += 1;
                continue;
            }
        };
        if value.get(j..j + decoded.len()) != Some(decoded) {
            return false;
        }
        i += len;
        j += decoded.len();
    }
    j == value.len()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Byte classes for escaping: 0 = copy, 1 = needs escaping always,
/// 2 = needs escaping only under `ensure_ascii` (DEL and non-ASCII).
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i < 0x20 || i == b'"' as usize || i == b'\\' as usize {
            1
        } else if i >= 0x7F {
            2
        } else {
            0
        };
        i += 1;
    }
    t
};

fn push_u_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[usize::from(unit >> 12)],
        HEX[usize::from((unit >> 8) & 0xF)],
        HEX[usize::from((unit >> 4) & 0xF)],
        HEX[usize::from(unit & 0xF)],
    ]);
}

/// Writes `s` as a quoted JSON string the way jq, Python, serde_json and
/// `JSON.stringify` all do: short escapes where JSON has them, lowercase
/// `\u00XX` for other control characters, '/' left alone.
pub(super) fn escape_into(out: &mut Vec<u8>, s: &str, ensure_ascii: bool) {
    let limit = if ensure_ascii { 2 } else { 1 };
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let class = CLASS[usize::from(b)];
        if class == 0 || class > limit {
            i += 1;
            continue;
        }
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            0..0x80 => push_u_escape(out, u16::from(b)),
            _ => {
                // Only reached under ensure_ascii, at the first byte of a
                // character, since whole characters are skipped below.
                let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                let mut units = [0u16; 2];
                for &unit in c.encode_utf16(&mut units).iter() {
                    push_u_escape(out, unit);
                }
                i += c.len_utf8();
                start = i;
                continue;
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::super::value::{Map, Number};
    use super::*;

    fn compact(colon_space: bool, comma_space: bool) -> Indent {
        Indent::Compact {
            colon_space,
            comma_space,
        }
    }

    fn style(indent: Indent, trailing_newline: bool) -> Style {
        Style {
            indent,
            crlf: false,
            trailing_newline,
            ensure_ascii: false,
        }
    }

    /// Parses `bytes`, checks the detected style, and checks that rendering
    /// with it gives back exactly `bytes`.
    #[track_caller]
    fn round_trip(bytes: &[u8], expected_style: Style) {
        let detected = Style::detect(bytes);
        assert_eq!(
            detected,
            expected_style,
            "{}",
            String::from_utf8_lossy(bytes)
        );
        let value = match parse(bytes) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        let out = render(&value, &detected);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(out, bytes);
    }

    // The layouts below are those of the named writers, checked against the
    // real tools. Some token spellings (1.10, 2.50E-3, "a\/b") are not what
    // every writer would emit, but a hand-edited file may carry them and they
    // must survive whichever writer laid the file out.

    const JQ: &str = r#"{
  "name": "café",
  "n": [
    1.10,
    1e3,
    2.50E-3,
    -0,
    12345678901234567890123
  ],
  "empty_o": {},
  "empty_a": [],
  "nested": {
    "deep": [
      [
        true,
        null
      ],
      {
        "k": "v"
      }
    ]
  },
  "s": "tab\there",
  "esc": "a\/b",
  "jp": "日本"
}
"#;

    #[test]
    fn jq_default() {
        round_trip(JQ.as_bytes(), style(Indent::Spaces(2), true));
    }

    #[test]
    fn jq_tab() {
        let bytes =
            "{\n\t\"a\": [\n\t\t1,\n\t\t{}\n\t],\n\t\"b\": {\n\t\t\"c\": \"日本\"\n\t}\n}\n";
        round_trip(bytes.as_bytes(), style(Indent::Tab, true));
    }

    #[test]
    fn jq_indent_4() {
        let bytes = "{\n    \"a\": [\n        1,\n        []\n    ],\n    \"b\": {\n        \"c\": 1e3\n    }\n}\n";
        round_trip(bytes.as_bytes(), style(Indent::Spaces(4), true));
    }

    #[test]
    fn jq_compact() {
        let bytes = "{\"a\":1,\"b\":[1,2,{}],\"c\":{\"d\":\"日本\",\"e\":[]},\"f\":-0}\n";
        round_trip(bytes.as_bytes(), style(compact(false, false), true));
        // jq -c -a: ASCII output, escapes like Python's ensure_ascii.
        let ascii = b"{\"a\":\"caf\\u00e9\",\"b\":[\"\\ud83d\\ude00\"]}\n";
        let mut expected = style(compact(false, false), true);
        expected.ensure_ascii = true;
        round_trip(ascii, expected);
    }

    #[test]
    fn python_dumps_default_ensure_ascii() {
        let bytes = br#"{"name": "caf\u00e9", "emoji": "\ud83d\ude00", "n": [1, 2.5, 12345678901234567890123], "o": {}, "a": [], "nested": {"k": [true, false, null]}}"#;
        let mut expected = style(compact(true, true), false);
        expected.ensure_ascii = true;
        round_trip(bytes, expected);
    }

    #[test]
    fn python_dumps_ensure_ascii_false() {
        let bytes = "{\"name\": \"café\", \"jp\": \"日本\", \"n\": [1, 2]}".as_bytes();
        round_trip(bytes, style(compact(true, true), false));
    }

    #[test]
    fn python_dumps_indent_2_and_4() {
        let two = br#"{
  "a": 1,
  "b": [
    1,
    2
  ],
  "c": {},
  "d": [],
  "e": {
    "f": "caf\u00e9"
  }
}"#;
        let mut expected = style(Indent::Spaces(2), false);
        expected.ensure_ascii = true;
        round_trip(two, expected);
        let four = b"[\n    {\n        \"a\": \"x\"\n    },\n    []\n]";
        round_trip(four, style(Indent::Spaces(4), false));
    }

    #[test]
    fn serde_json_compact_and_pretty() {
        let compact_bytes = "{\"a\":1,\"b\":[1,2],\"c\":{},\"d\":\"日本\",\"e\":\"tab\\there\"}";
        round_trip(
            compact_bytes.as_bytes(),
            style(compact(false, false), false),
        );
        let pretty =
            "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {},\n  \"d\": []\n}";
        round_trip(pretty.as_bytes(), style(Indent::Spaces(2), false));
    }

    #[test]
    fn json_stringify_variants() {
        let compact_bytes = br#"[{"a":1.5,"b":null},[],"x"]"#;
        round_trip(compact_bytes, style(compact(false, false), false));
        let two = b"{\n  \"a\": [\n    1\n  ]\n}";
        round_trip(two, style(Indent::Spaces(2), false));
        let four = b"{\n    \"a\": [\n        1\n    ]\n}";
        round_trip(four, style(Indent::Spaces(4), false));
        let tab = b"{\n\t\"a\": [\n\t\t1\n\t]\n}";
        round_trip(tab, style(Indent::Tab, false));
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let with_final = b"{\r\n  \"a\": [\r\n    1,\r\n    2\r\n  ],\r\n  \"b\": \"x\"\r\n}\r\n";
        let mut expected = style(Indent::Spaces(2), true);
        expected.crlf = true;
        round_trip(with_final, expected);
        let without_final = b"{\r\n    \"a\": {}\r\n}";
        let mut expected = style(Indent::Spaces(4), false);
        expected.crlf = true;
        round_trip(without_final, expected);
        let compact_crlf = b"{\"a\":1}\r\n";
        let mut expected = style(compact(false, false), true);
        expected.crlf = true;
        round_trip(compact_crlf, expected);
    }

    #[test]
    fn scalars_and_empty_containers_round_trip() {
        round_trip(b"42\n", Style::new_file());
        round_trip(b"{}\n", Style::new_file());
        let mut no_nl = Style::new_file();
        no_nl.trailing_newline = false;
        round_trip(b"[]", no_nl);
        round_trip(br#""caf\u00e9""#, {
            let mut s = no_nl;
            s.ensure_ascii = true;
            s
        });
        let mut crlf = Style::new_file();
        crlf.crlf = true;
        round_trip(b"null\r\n", crlf);
        // Python's indent=0: line breaks but no indentation at all.
        round_trip(b"{\n\"a\": [\n1\n]\n}", style(Indent::Spaces(0), false));
    }

    #[test]
    fn changing_one_member_changes_only_its_bytes() {
        let before = br#"{"name": "caf\u00e9", "n": 1.10, "big": 12345678901234567890123, "path": "a\/b", "list": [1e3, -0]}"#;
        let style = Style::detect(before);
        let Ok(Value::Object(mut map)) = parse(before) else {
            panic!("not an object")
        };
        map.insert("n".to_string(), Value::from(2i64));
        let after = render(&Value::Object(map), &style);
        let expected = br#"{"name": "caf\u00e9", "n": 2, "big": 12345678901234567890123, "path": "a\/b", "list": [1e3, -0]}"#;
        assert_eq!(
            String::from_utf8_lossy(&after),
            String::from_utf8_lossy(expected)
        );
    }

    #[test]
    fn changing_and_adding_in_an_indented_file() {
        let before = "{\n  \"keep\": \"tab\\there\",\n  \"x\": {\n    \"y\": 1.10\n  },\n  \"jp\": \"日本\"\n}\n";
        let style = Style::detect(before.as_bytes());
        let Ok(Value::Object(mut map)) = parse(before.as_bytes()) else {
            panic!("not an object")
        };
        if let Some(Value::Object(x)) = map.get_mut("x") {
            x.insert("y".to_string(), Value::from("new \"v\"\n"));
        }
        map.insert(
            "added".to_string(),
            Value::Array(vec![Value::Object(Map::new())]),
        );
        let after = render(&Value::Object(map), &style);
        let expected = "{\n  \"keep\": \"tab\\there\",\n  \"x\": {\n    \"y\": \"new \\\"v\\\"\\n\"\n  },\n  \"jp\": \"日本\",\n  \"added\": [\n    {}\n  ]\n}\n";
        assert_eq!(String::from_utf8_lossy(&after), expected);
    }

    #[test]
    fn stale_raw_is_not_written() {
        let stale = Value::String(Str {
            value: "new".to_string(),
            raw: Some("ol\\u0064".into()),
        });
        assert_eq!(render(&stale, &style(Indent::Spaces(2), false)), b"\"new\"");
        let fresh = Value::String(Str {
            value: "old".to_string(),
            raw: Some("ol\\u0064".into()),
        });
        assert_eq!(
            render(&fresh, &style(Indent::Spaces(2), false)),
            b"\"ol\\u0064\""
        );
        for bad_raw in ["a\"b", "a\\", "a\\x", "\\ud800", "a\nb", "ab\\n"] {
            let v = Value::String(Str {
                value: "a\"b".to_string(),
                raw: Some(bad_raw.into()),
            });
            assert_eq!(
                render(&v, &style(Indent::Spaces(2), false)),
                b"\"a\\\"b\"",
                "{bad_raw:?}"
            );
        }
    }

    #[test]
    fn escaping_new_strings() {
        let plain = style(compact(false, false), false);
        let mut ascii = plain;
        ascii.ensure_ascii = true;
        let s = "q\" b\\ / \n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} é 日 😀";
        assert_eq!(
            String::from_utf8_lossy(&render(&Value::from(s), &plain)),
            "\"q\\\" b\\\\ / \\n\\r\\t\\b\\f\\u0001\\u001f\u{7f} é 日 😀\""
        );
        assert_eq!(
            String::from_utf8_lossy(&render(&Value::from(s), &ascii)),
            "\"q\\\" b\\\\ / \\n\\r\\t\\b\\f\\u0001\\u001f\\u007f \\u00e9 \\u65e5 \\ud83d\\ude00\""
        );
        // Keys are escaped the same way.
        let mut map = Map::new();
        map.insert("ké\n".to_string(), Value::Null);
        assert_eq!(
            render(&Value::Object(map), &ascii),
            b"{\"k\\u00e9\\n\":null}"
        );
    }

    #[test]
    fn new_file_style() {
        let mut map = Map::new();
        map.insert(
            "a".to_string(),
            Value::Array(vec![1i64.into(), Value::Null]),
        );
        map.insert(
            "b".to_string(),
            Value::Number(Number::from_f64(0.5).unwrap_or_else(|| Number::from_i64(0))),
        );
        assert_eq!(
            String::from_utf8_lossy(&render(&Value::Object(map), &Style::new_file())),
            "{\n  \"a\": [\n    1,\n    null\n  ],\n  \"b\": 0.5\n}\n"
        );
    }

    #[test]
    fn render_into_appends() {
        let mut out = b"prefix:".to_vec();
        render_into(&mut out, &Value::Bool(true), &Style::new_file());
        assert_eq!(out, b"prefix:true\n");
    }

    #[test]
    fn detect_reads_past_strings_and_empty_containers() {
        // Brackets, colons and commas inside strings must not count.
        let tricky = b"{\"a{[,:\\\"\": [], \"b\": {},\"c\":[1]}";
        assert_eq!(Style::detect(tricky).indent, compact(true, true));
        // Only the outer container's opening decides; with no ':' at all
        // the colon follows the comma.
        let nested_break = b"[[], {}, [\n1]]";
        assert_eq!(Style::detect(nested_break).indent, compact(true, true));
        assert_eq!(Style::detect(b"[1,2]").indent, compact(false, false));
        assert_eq!(Style::detect(b"[1, 2]").indent, compact(true, true));
        assert_eq!(Style::detect(b"{\"a\": 1}").indent, compact(true, true));
        assert_eq!(Style::detect(b"{\"a\":1}").indent, compact(false, false));
        assert_eq!(Style::detect(b"[1]").indent, compact(false, false));
        assert_eq!(Style::detect(b"{ }").indent, Indent::Spaces(2));
        assert_eq!(Style::detect(b"[\n]\n").indent, Indent::Spaces(2));
        assert_eq!(Style::detect(b"").indent, Indent::Spaces(2));
        assert_eq!(Style::detect(b""), Style::new_file());
        assert!(!Style::detect(b"\"x\"").trailing_newline);
    }

    #[test]
    fn detect_ensure_ascii_needs_an_escape_and_no_utf8() {
        assert!(Style::detect(br#"{"a": "caf\u00e9"}"#).ensure_ascii);
        assert!(Style::detect(br#"["\ud83d\ude00"]"#).ensure_ascii);
        assert!(!Style::detect(br#"{"a": "cafe"}"#).ensure_ascii);
        assert!(!Style::detect(br#"{"a": "\u0041\n"}"#).ensure_ascii);
        assert!(!Style::detect(br#"{"a": "\\u00e9"}"#).ensure_ascii);
        assert!(!Style::detect("{\"a\": \"caf\\u00e9 日本\"}".as_bytes()).ensure_ascii);
    }

    #[test]
    fn large_document_is_fast_enough_to_not_notice() {
        // Not a benchmark (debug builds are slow); this catches accidental
        // quadratic behaviour, which would take minutes here.
        let mut doc = String::from("[");
        for i in 0..100_000 {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(&format!(
                "{{\"id\":{i},\"name\":\"item {i}\",\"tags\":[\"a\",\"caf\\u00e9\"],\"v\":1.50}}"
            ));
        }
        doc.push(']');
        let value = match parse(doc.as_bytes()) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        let out = render(&value, &Style::detect(doc.as_bytes()));
        assert_eq!(out, doc.as_bytes());
    }
}
