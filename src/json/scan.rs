//! Validating a document without building it.
//!
//! Promises: [`validate`] accepts exactly the inputs [`parse`](super::parse)
//! accepts, and for every other input returns the very same [`ParseError`]
//! (kind, offset, line, column, message): both walk the same grammar in the
//! same order and build their errors with the same functions (`parse.rs`).
//! It allocates nothing on success (a `String` for the message on failure),
//! recurses at most `MAX_DEPTH` levels, and runs in time linear in the input.
//!
//! [`Scanner`] is also the walker the splicing merge (`splice.rs`) uses to
//! find the byte span of every value it does not need to look into.

use super::parse::{
    ParseError, checked_number_end, control_char_error, decode_escape, enter, eof_error,
    escape_error, literal_end, not_a_value, prelude, skip_ws, syntax_error, trailing_error,
    unexpected,
};

/// Checks that `bytes` is one JSON document as [`parse`](super::parse) would
/// accept it, without building any value.
pub fn validate(bytes: &[u8]) -> Result<(), ParseError> {
    let (_, start) = prelude(bytes)?;
    let mut s = Scanner::new(bytes, start);
    s.value(0)?;
    s.skip_ws();
    if s.pos < bytes.len() {
        return Err(trailing_error(bytes, s.pos));
    }
    Ok(())
}

/// A cursor over a document whose UTF-8 has already been checked (by
/// `prelude`). Every method mirrors the `Parser` method of the same name.
pub(super) struct Scanner<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
}

/// Eight copies of `b`, for testing eight bytes at once.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

const LO: u64 = splat(0x01);
const HI: u64 = splat(0x80);

/// Whether any byte of `w` is zero (the classic SWAR test; exact about
/// whether, not about which).
#[inline]
fn has_zero(w: u64) -> bool {
    w.wrapping_sub(LO) & !w & HI != 0
}

/// Whether any byte of `w` is below 0x20.
#[inline]
fn has_below_0x20(w: u64) -> bool {
    w.wrapping_sub(splat(0x20)) & !w & HI != 0
}

impl<'a> Scanner<'a> {
    pub fn new(bytes: &'a [u8], pos: usize) -> Scanner<'a> {
        Scanner { bytes, pos }
    }

    #[inline]
    pub fn skip_ws(&mut self) {
        // Indented files put a line break and a run of spaces before most
        // values; take eight spaces at a time before the byte loop.
        if self.bytes.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
                if chunk != b"        " {
                    break;
                }
                self.pos += 8;
            }
        }
        self.pos = skip_ws(self.bytes, self.pos);
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Checks the value at `pos` and moves past it. `depth` is the nesting
    /// of the container it sits in (0 at the top).
    pub fn value(&mut self, depth: usize) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1, |s, _| s.value(depth + 1)),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => {
                self.pos = checked_number_end(self.bytes, self.pos)?;
                Ok(())
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            _ => Err(not_a_value(self.bytes, self.pos)),
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), ParseError> {
        // The common case in one comparison; anything else takes the path
        // that builds the exact error.
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            return Ok(());
        }
        self.pos = literal_end(self.bytes, self.pos, word)?;
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<(), ParseError> {
        enter(self.bytes, self.pos, depth)?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        return Err(syntax_error(
                            self.bytes,
                            self.pos,
                            "trailing comma before ']' is not allowed",
                        ));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {
                    return Err(unexpected(
                        self.bytes,
                        self.pos,
                        "expected ',' or ']' after array element",
                    ));
                }
            }
        }
    }

    /// Walks the object whose `{` is at `pos` (nesting `depth`, counting
    /// itself). For each member, `member` is called with the key's span
    /// (quotes included) once the cursor is on the member's value, and must
    /// move the cursor past that value.
    pub fn object<F>(&mut self, depth: usize, mut member: F) -> Result<(), ParseError>
    where
        F: FnMut(&mut Scanner<'a>, Key) -> Result<(), ParseError>,
    {
        enter(self.bytes, self.pos, depth)?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(unexpected(
                    self.bytes,
                    self.pos,
                    "expected '\"' to begin an object key",
                ));
            }
            let start = self.pos;
            let escaped = self.string()?;
            let key = Key {
                start,
                end: self.pos,
                escaped,
            };
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(unexpected(
                    self.bytes,
                    self.pos,
                    "expected ':' after object key",
                ));
            }
            self.pos += 1;
            self.skip_ws();
            member(self, key)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        return Err(syntax_error(
                            self.bytes,
                            self.pos,
                            "trailing comma before '}' is not allowed",
                        ));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {
                    return Err(unexpected(
                        self.bytes,
                        self.pos,
                        "expected ',' or '}' after object member",
                    ));
                }
            }
        }
    }

    /// Checks the string whose opening quote is at `pos` and moves past its
    /// closing quote. Returns whether it contains any escape.
    pub fn string(&mut self) -> Result<bool, ParseError> {
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time while none of them is a quote, a
            // backslash or a control character.
            while let Some(chunk) = self.bytes.get(i..i + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let w = u64::from_ne_bytes(word);
                if has_zero(w ^ splat(b'"')) || has_zero(w ^ splat(b'\\')) || has_below_0x20(w) {
                    break;
                }
                i += 8;
            }
            match self.bytes.get(i) {
                None => return Err(eof_error(self.bytes)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    let (_, len) =
                        decode_escape(self.bytes, i).map_err(|e| escape_error(self.bytes, i, e))?;
                    i += len;
                }
                Some(&b) if b < 0x20 => return Err(control_char_error(self.bytes, i)),
                Some(_) => i += 1,
            }
        }
    }
}

/// Where an object key is: `start..end` spans it with its quotes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Key {
    pub start: usize,
    pub end: usize,
    /// The key contains a backslash escape (so its text is not its value).
    pub escaped: bool,
}

#[cfg(test)]
mod tests {
    use super::super::parse::{MAX_DEPTH, parse};
    use super::*;

    /// `validate` and `parse` agree on `input`, errors included.
    #[track_caller]
    fn agree(input: &[u8]) {
        let scanned = validate(input);
        let parsed = parse(input);
        match (&scanned, &parsed) {
            (Ok(()), Ok(_)) => {}
            (Err(a), Err(b)) => {
                assert_eq!(
                    (&a.kind, a.offset, a.line, a.column, &a.message),
                    (&b.kind, b.offset, b.line, b.column, &b.message),
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
            }
            _ => panic!(
                "{:?}: validate {scanned:?}, parse {:?}",
                String::from_utf8_lossy(input),
                parsed.map(|_| ())
            ),
        }
    }

    /// Every input the parser's own tests use, valid and invalid, and every
    /// prefix of the valid ones (each a truncated file).
    #[test]
    fn agrees_with_parse_on_the_parser_test_inputs() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", "{\"k\":".repeat(n), "}".repeat(n));
        let owned = [
            nested(MAX_DEPTH),
            nested(MAX_DEPTH + 1),
            nested(100_000),
            objects(MAX_DEPTH),
            objects(MAX_DEPTH + 1),
        ];
        let inputs: &[&[u8]] = &[
            b"null",
            b" true ",
            b"\r\n\tfalse\n",
            b"\"x\"",
            b"0",
            b"-0",
            b"1.10",
            b"1e3",
            b"2.50E-3",
            b"12345678901234567890123",
            br#"{"z": 1, "a": [true, null, {}], "m": 2, "z": 3}"#,
            b"\"plain\"",
            "\"日本\"".as_bytes(),
            br#""caf\u00e9""#,
            br#""a\/b""#,
            br#""\"\\\b\f\n\r\t""#,
            br#""\ud83d\ude00!""#,
            br#""\uD83D\uDE00""#,
            br#""\u0000""#,
            b"\"\"",
            br#"["x\u0041"]"#,
            b"{\"data\": %",
            b"{\n  \"a\": 1,\n  \"b\": [1, 2]   %\n}",
            b"{\n  \"a\": [\n    1,\n    2,\n    3,\n",
            b"{\"a",
            b"[1",
            b"[1,",
            b"{\"a\":",
            b"tr",
            b"-",
            b"1.",
            b"\"x\\u00",
            b"{\"a\": 1}\n}",
            b"1 2",
            b"{}{}",
            b"[] x",
            b"{\"name\": \"caf\xE9\"}",
            br#""\ud800""#,
            br#""\udc00x""#,
            br#""\ud83d\u0041""#,
            br#""a\ude00\ud83d""#,
            br#""\ud800\u12G4""#,
            br#""\ud800\u00"#,
            br#""\x41""#,
            br#""\u12G4""#,
            b"\xEF\xBB\xBF{}",
            b"",
            b"   ",
            b"\n\r\n\t",
            b"{\"a\": \"x\ny\"}",
            b"[\"a\\n\x01\"]",
            b"\"\x1f\"",
            b"\"\x7f\"",
            b"\"tab\there\"",
            b"[1,]",
            b"{\"a\":1,}",
            b"{'a':1}",
            b"['a']",
            b"[1 2]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"[01]",
            b"[1.]",
            b"[1e]",
            b"[-]",
            b"[.5]",
            b"[+1]",
            b"[True]",
            b"[nul]",
            b"[nulx]",
            b"[fals",
            b"[NaN]",
            b"// c\n1",
            "[é]".as_bytes(),
            b"\x0c1",
            "{\"日本\": x}".as_bytes(),
            b"[\r\n  1,\r\n  ?]",
            b"{\"a\":1 \"b\":2}",
            b"{\"a\":1,",
            b"{\"a\":1,\"",
            b"{\"a\"",
            b"[\"abcdefghijklmnop\x01qrstuvwxyz\"]",
            b"[\"abcdefghijklmnopqrstuvwxyz\\\"\"]",
            b"[\"abcdefghijklmnopqrstuvwxyz",
            b"{\n        \"a\": [\n                1\n        ]\n}",
            b"{\n                \n",
        ];
        for input in inputs
            .iter()
            .copied()
            .chain(owned.iter().map(|s| s.as_bytes()))
        {
            agree(input);
            if parse(input).is_ok() {
                for cut in 0..input.len().min(300) {
                    agree(input.get(..cut).unwrap_or_default());
                }
            }
        }
    }

    #[test]
    fn accepts_lone_surrogates_and_reports_position_of_every_kind_of_error() {
        assert!(validate(br#"["\ud800", "\udc00x"]"#).is_ok());
        let e = validate(b"{\"a\": [1, 2,]}").err();
        assert_eq!(e.map(|e| (e.offset, e.line, e.column)), Some((12, 1, 13)));
    }

    #[test]
    fn large_document() {
        let mut doc = String::from("{\"events\": [");
        for i in 0..20_000 {
            if i > 0 {
                doc.push_str(",\n    ");
            }
            doc.push_str(&format!(
                "{{\"id\": {i}, \"name\": \"event number {i} with a long-ish name\", \"tags\": [\"a\", \"caf\\u00e9\"], \"v\": 1.50e-3, \"ok\": true, \"none\": null}}"
            ));
        }
        doc.push_str("]}\n");
        agree(doc.as_bytes());
        let bad = doc.replacen("null", "nul!", 1);
        agree(bad.as_bytes());
    }
}
