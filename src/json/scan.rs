//! The one walk of the JSON grammar.
//!
//! Promises: every reader of a whole document ([`validate`],
//! [`parse`](super::parse) and the filter's `Input`) walks the grammar here,
//! with [`Scanner::walk`] and a [`Sink`] of its own that says what each value
//! becomes. So they accept exactly the same inputs, and for every other input
//! fail with the very same [`ParseError`] (kind, offset, line, column,
//! message): the checks are made, in one order, only here, and the errors are
//! built only by the constructors in `parse.rs`. The walk allocates nothing
//! of its own (a `String` for the message on failure), recurses at most
//! `MAX_DEPTH` levels, and runs in time linear in the input.
//!
//! The two container loops, [`Scanner::array`] and [`Scanner::object`], are
//! also what readers that look into only part of a document walk (the
//! splicing merge in `splice.rs`, the filter's spine reader): they hand each
//! item or member to a closure and check everything around it.

use super::parse::{
    ParseError, checked_number_end, control_char_error, decode_escape, enter, eof_error,
    escape_error, literal_end, not_a_value, prelude, skip_ws, syntax_error, trailing_error,
    unexpected,
};

/// Checks that `bytes` is one JSON document as [`parse`](super::parse) would
/// accept it, without building any value.
pub fn validate(bytes: &[u8]) -> Result<(), ParseError> {
    document(bytes, |_, s| s.value(0))
}

/// The members of a document's top-level object, as the validating walk
/// found them: the map [`validate_outline`] gives, so that a splice into a
/// validated document reads again only the members it changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outline {
    members: Vec<TopMember>,
    /// The object's span, braces included.
    span: (usize, usize),
}

/// One top-level member: its key's span (quotes included) and its value's.
#[derive(Debug, Clone, Copy)]
pub(super) struct TopMember {
    pub key: Key,
    pub value: (usize, usize),
}

impl Outline {
    /// Past this many top-level members no outline is kept: a flat object of
    /// millions of tiny members would otherwise cost several times its size.
    const MAX_MEMBERS: usize = 4096;

    pub(super) fn members(&self) -> &[TopMember] {
        &self.members
    }

    /// The top-level members' value spans, in document order.
    pub(crate) fn value_spans(&self) -> Vec<(usize, usize)> {
        self.members.iter().map(|m| m.value).collect()
    }

    pub(super) fn span(&self) -> (usize, usize) {
        self.span
    }
}

/// [`validate`], and, when the document is an object of at most
/// `Outline::MAX_MEMBERS` members, its outline. The walk and its checks are
/// [`validate`]'s: the same inputs fail with the same error.
pub(crate) fn validate_outline(bytes: &[u8]) -> Result<Option<Outline>, ParseError> {
    validate_outline_noting_escapes(bytes).map(|(outline, _)| outline)
}

/// [`validate_outline`], and whether any string (key or value) holds an
/// escape: none means the bytes hold no backslash at all, which
/// [`Style::detect_after_scan`](super::Style::detect_after_scan) uses.
pub(crate) fn validate_outline_noting_escapes(
    bytes: &[u8],
) -> Result<(Option<Outline>, bool), ParseError> {
    document(bytes, |_, s| {
        if s.peek() != Some(b'{') {
            return s.value(0).map(|()| (None, s.escapes));
        }
        let mut members = Vec::new();
        let mut kept = true;
        let start = s.pos;
        s.object(1, |s, key| {
            let start = s.pos;
            s.value(1)?;
            if kept && members.len() < Outline::MAX_MEMBERS {
                members.push(TopMember {
                    key,
                    value: (start, s.pos),
                });
            } else if kept {
                kept = false;
                members = Vec::new();
            }
            Ok(())
        })?;
        let outline = kept.then_some(Outline {
            members,
            span: (start, s.pos),
        });
        Ok((outline, s.escapes))
    })
}

/// Walks the one document in `bytes`: the checks before its value
/// (`prelude`), the value itself, read by `root` from the scanner it is handed
/// (given the document as text, its UTF-8 checked), and nothing but
/// whitespace after it.
pub(super) fn document<'a, T>(
    bytes: &'a [u8],
    root: impl FnOnce(&'a str, &mut Scanner<'a>) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    let (text, start) = prelude(bytes)?;
    let mut s = Scanner::new(bytes, start);
    let value = root(text, &mut s)?;
    s.skip_ws();
    if s.pos < bytes.len() {
        return Err(trailing_error(bytes, s.pos));
    }
    Ok(value)
}

/// What a walk makes of the values it meets. The walk calls each method once
/// it has checked the grammar of what it hands over, in document order, and
/// moves the cursor itself; a sink only builds.
pub(super) trait Sink<'a> {
    /// What a value becomes.
    type Out;
    /// What an object's key becomes.
    type Key;
    /// An array being read.
    type Items;
    /// An object being read.
    type Members;

    /// `null`.
    fn null(&mut self) -> Self::Out;
    /// `true` or `false`.
    fn bool(&mut self, value: bool) -> Self::Out;
    /// The number at `start..end` (checked, so ASCII).
    fn number(&mut self, start: usize, end: usize) -> Self::Out;
    /// The string at `at`, every escape in it checked.
    fn string(&mut self, at: Key) -> Result<Self::Out, ParseError>;
    /// An object's key at `at`, every escape in it checked.
    fn key(&mut self, at: Key) -> Result<Self::Key, ParseError>;
    /// An array begins.
    fn items(&mut self) -> Self::Items;
    /// The array's next item.
    fn item(&mut self, items: &mut Self::Items, value: Self::Out);
    /// The array of `items` ends: it spans `start..end` at nesting `level`
    /// (1: the top-level value).
    fn array(&mut self, items: Self::Items, start: usize, end: usize, level: usize) -> Self::Out;
    /// An object begins.
    fn members(&mut self) -> Self::Members;
    /// The object's next member.
    fn member(&mut self, members: &mut Self::Members, key: Self::Key, value: Self::Out);
    /// The object of `members` ends, as [`Sink::array`].
    fn object(
        &mut self,
        members: Self::Members,
        start: usize,
        end: usize,
        level: usize,
    ) -> Self::Out;
}

/// The sink that builds nothing: the walk is then a validating scan.
struct Check;

impl Sink<'_> for Check {
    type Out = ();
    type Key = ();
    type Items = ();
    type Members = ();

    #[inline]
    fn null(&mut self) {}
    #[inline]
    fn bool(&mut self, _: bool) {}
    #[inline]
    fn number(&mut self, _: usize, _: usize) {}
    #[inline]
    fn string(&mut self, _: Key) -> Result<(), ParseError> {
        Ok(())
    }
    #[inline]
    fn key(&mut self, _: Key) -> Result<(), ParseError> {
        Ok(())
    }
    #[inline]
    fn items(&mut self) {}
    #[inline]
    fn item(&mut self, _: &mut (), _: ()) {}
    #[inline]
    fn array(&mut self, _: (), _: usize, _: usize, _: usize) {}
    #[inline]
    fn members(&mut self) {}
    #[inline]
    fn member(&mut self, _: &mut (), _: (), _: ()) {}
    #[inline]
    fn object(&mut self, _: (), _: usize, _: usize, _: usize) {}
}

/// A cursor over a document whose UTF-8 has already been checked (by
/// `prelude`).
pub(super) struct Scanner<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
    /// Whether a string checked so far held an escape.
    pub escapes: bool,
}

/// What differs between the two containers' loops.
struct Brackets {
    close: u8,
    trailing_comma: &'static str,
    after: &'static str,
}

const ARRAY: Brackets = Brackets {
    close: b']',
    trailing_comma: "trailing comma before ']' is not allowed",
    after: "expected ',' or ']' after array element",
};

const OBJECT: Brackets = Brackets {
    close: b'}',
    trailing_comma: "trailing comma before '}' is not allowed",
    after: "expected ',' or '}' after object member",
};

/// Where a string is, `start..end` spanning it with its quotes: an object's
/// key, or a string value handed to [`Sink::string`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Key {
    pub start: usize,
    pub end: usize,
    /// The string contains a backslash escape (so its text is not its value).
    pub escaped: bool,
}

/// Eight copies of `b`, for testing eight bytes at once.
const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

const LO: u64 = splat(0x01);
const HI: u64 = splat(0x80);

/// The high bit of every byte of `w` that is zero (the classic SWAR test).
/// A borrow can also mark bytes above a zero byte, never below one, so the
/// lowest mark is exact: [`first_marked`] uses only that.
#[inline]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(LO) & !w & HI
}

/// The high bit of every byte of `w` below 0x20, exact for the lowest as
/// [`zero_bytes`].
#[inline]
fn below_0x20(w: u64) -> u64 {
    w.wrapping_sub(splat(0x20)) & !w & HI
}

/// The eight bytes from `at`, the first in the lowest byte of the word.
#[inline]
fn word(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Index, within its word, of the first byte whose mark is set in `marks`
/// (not zero).
#[inline]
fn first_marked(marks: u64) -> usize {
    (marks.trailing_zeros() / 8) as usize
}

/// From `i`, eight bytes at a time, to the first byte that `marks` marks
/// in its word; where fewer than eight bytes are left, `i` stays at the
/// first of them for a byte loop to go on.
#[inline]
fn to_first_marked(bytes: &[u8], mut i: usize, marks: impl Fn(u64) -> u64) -> usize {
    while let Some(w) = word(bytes, i) {
        let m = marks(w);
        if m != 0 {
            return i + first_marked(m);
        }
        i += 8;
    }
    i
}

/// Marks the bytes that are not a space.
#[inline]
fn not_space(w: u64) -> u64 {
    w ^ splat(b' ')
}

impl<'a> Scanner<'a> {
    pub(super) fn new(bytes: &'a [u8], pos: usize) -> Scanner<'a> {
        Scanner {
            bytes,
            pos,
            escapes: false,
        }
    }

    #[inline]
    pub(super) fn skip_ws(&mut self) {
        // Indented files put a line break and a run of spaces before most
        // values: eight bytes at a time up to the first that is not a space,
        // then the byte loop for any other white space.
        if self.bytes.get(self.pos) == Some(&b'\n') {
            self.pos = to_first_marked(self.bytes, self.pos + 1, not_space);
        }
        self.pos = skip_ws(self.bytes, self.pos);
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Checks the value at the cursor and moves past it. `depth` is the
    /// nesting of the container it sits in (0 at the top).
    pub(super) fn value(&mut self, depth: usize) -> Result<(), ParseError> {
        self.walk(&mut Check, depth)
    }

    /// Reads the value at the cursor into `sink` and moves past it. `depth`
    /// is the nesting of the container it sits in (0 at the top).
    pub(super) fn walk<S: Sink<'a>>(
        &mut self,
        sink: &mut S,
        depth: usize,
    ) -> Result<S::Out, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => {
                let level = depth + 1;
                let mut members = sink.members();
                self.object(level, |s, key| {
                    let key = sink.key(key)?;
                    let value = s.walk(sink, level)?;
                    sink.member(&mut members, key, value);
                    Ok(())
                })?;
                Ok(sink.object(members, start, self.pos, level))
            }
            Some(b'[') => {
                let level = depth + 1;
                let mut items = sink.items();
                self.array(level, |s| {
                    let value = s.walk(sink, level)?;
                    sink.item(&mut items, value);
                    Ok(())
                })?;
                Ok(sink.array(items, start, self.pos, level))
            }
            Some(b'"') => {
                let escaped = self.string()?;
                sink.string(Key {
                    start,
                    end: self.pos,
                    escaped,
                })
            }
            Some(b'-' | b'0'..=b'9') => {
                self.pos = checked_number_end(self.bytes, start)?;
                Ok(sink.number(start, self.pos))
            }
            Some(b't') => self.literal("true").map(|()| sink.bool(true)),
            Some(b'f') => self.literal("false").map(|()| sink.bool(false)),
            Some(b'n') => self.literal("null").map(|()| sink.null()),
            _ => Err(not_a_value(self.bytes, start)),
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

    /// Walks the array whose `[` is at the cursor (nesting `level`, counting
    /// itself). `item` is called with the cursor on each item and must move
    /// it past the item.
    pub(super) fn array<F>(&mut self, level: usize, mut item: F) -> Result<(), ParseError>
    where
        F: FnMut(&mut Scanner<'a>) -> Result<(), ParseError>,
    {
        if self.open(level, &ARRAY)? {
            loop {
                item(self)?;
                if !self.next(&ARRAY)? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Walks the object whose `{` is at the cursor (nesting `level`,
    /// counting itself). For each member, `member` is called with the key's
    /// span (quotes included) once the cursor is on the member's value, and
    /// must move the cursor past that value.
    pub(super) fn object<F>(&mut self, level: usize, mut member: F) -> Result<(), ParseError>
    where
        F: FnMut(&mut Scanner<'a>, Key) -> Result<(), ParseError>,
    {
        if !self.open(level, &OBJECT)? {
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
            if !self.next(&OBJECT)? {
                return Ok(());
            }
        }
    }

    /// Enters the container whose opening bracket is at the cursor, at
    /// nesting `level`. Returns whether it has anything in it: if so the
    /// cursor is on its first item or key, if not past its closing bracket.
    #[inline]
    fn open(&mut self, level: usize, brackets: &Brackets) -> Result<bool, ParseError> {
        enter(self.bytes, self.pos, level)?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(brackets.close) {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After an item or member: returns whether another follows (the cursor
    /// then on it), or moves past the closing bracket.
    #[inline]
    fn next(&mut self, brackets: &Brackets) -> Result<bool, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(brackets.close) {
                    return Err(syntax_error(self.bytes, self.pos, brackets.trailing_comma));
                }
                Ok(true)
            }
            Some(b) if b == brackets.close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(unexpected(self.bytes, self.pos, brackets.after)),
        }
    }

    /// Moves past the array or object at the cursor of a document already
    /// validated whole: only brackets and strings are looked at, nothing is
    /// checked (the validating walk, [`Scanner::value`], did that). An
    /// error only if the bytes end first, which validated bytes never do.
    pub(super) fn skip_container(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        let mut i = self.pos;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok(());
                    }
                }
                b'"' => {
                    i = self.string_end(i + 1)?;
                    continue;
                }
                b'\n' => {
                    // The run of spaces that indents the next line.
                    i = to_first_marked(self.bytes, i + 1, not_space);
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        Err(eof_error(self.bytes))
    }

    /// Moves past the value at the cursor, in validated bytes: a container
    /// by [`Scanner::skip_container`], a string to its closing quote, a
    /// number or literal to the first byte that ends it.
    pub(super) fn skip_value(&mut self) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'{' | b'[') => self.skip_container(),
            Some(b'"') => {
                self.pos = self.string_end(self.pos + 1)?;
                Ok(())
            }
            Some(_) => {
                let end = self
                    .bytes
                    .get(self.pos..)
                    .unwrap_or_default()
                    .iter()
                    .position(|b| matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
                    .map_or(self.bytes.len(), |n| self.pos + n);
                self.pos = end;
                Ok(())
            }
            None => Err(eof_error(self.bytes)),
        }
    }

    /// The index just past the closing quote of the string whose text
    /// starts at `i`, in validated bytes (escapes are stepped over, not
    /// checked).
    fn string_end(&self, mut i: usize) -> Result<usize, ParseError> {
        loop {
            i = to_first_marked(self.bytes, i, |w| {
                zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'))
            });
            match self.bytes.get(i) {
                None => return Err(eof_error(self.bytes)),
                Some(b'"') => return Ok(i + 1),
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
    }

    /// Checks the string whose opening quote is at `pos` and moves past its
    /// closing quote. Returns whether it contains any escape.
    pub(super) fn string(&mut self) -> Result<bool, ParseError> {
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time, straight to the first quote, backslash
            // or control character among them.
            i = to_first_marked(self.bytes, i, |w| {
                zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\')) | below_0x20(w)
            });
            match self.bytes.get(i) {
                None => return Err(eof_error(self.bytes)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escapes = true;
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

#[cfg(test)]
mod tests {
    use super::super::parse::{MAX_DEPTH, parse};
    use super::super::samples::{INVALID, TRUNCATED, VALID};
    use super::*;

    /// The word tests find the first quote, backslash or control
    /// character of eight bytes (and the first byte that is not a space)
    /// exactly as a byte loop does, whatever the other bytes are: bytes at
    /// and above 0x80, bytes next to the special ones, and more special
    /// bytes after the first (which a borrow may mark as well).
    #[test]
    fn the_word_tests_find_the_first_byte_a_byte_loop_finds() {
        let pool: &[u8] = &[
            b'"',
            b'\\',
            0x00,
            0x01,
            0x1f,
            0x20,
            0x21,
            0x22 ^ 0x80,
            b'[',
            b'a',
            0x5b,
            0x5d,
            0x7f,
            0x80,
            0x9f,
            0xa0,
            0xdc,
            0xff,
            b' ',
            b'\t',
            b'\n',
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            let mut bytes = [0u8; 8];
            for b in &mut bytes {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = pool[(seed % pool.len() as u64) as usize];
            }
            let w = word(&bytes, 0).unwrap();
            let special =
                zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\')) | below_0x20(w);
            let want = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(
                (special != 0).then(|| first_marked(special)),
                want,
                "{bytes:?}"
            );
            let other = w ^ splat(b' ');
            let want = bytes.iter().position(|&b| b != b' ');
            assert_eq!((other != 0).then(|| first_marked(other)), want, "{bytes:?}");
        }
        assert_eq!(word(b"1234567", 0), None);
        assert_eq!(word(b"12345678", 1), None);
        assert_eq!(word(b"12345678", usize::MAX), None);
    }

    /// On valid documents, skipping a container ends where the validating
    /// walk of it ends, for every array and object in them (and for any
    /// bracket inside a string that happens to start a valid value).
    /// A stored document's top-level members are skipped to the ends its
    /// outline gives (`Input::parse_spine_stored`): each value span that
    /// holds a container ends where skipping the container ends.
    #[test]
    fn the_outline_spans_of_containers_end_where_skipping_them_ends() {
        let mut seen = 0;
        for &bytes in VALID {
            let Some(outline) = validate_outline(bytes).unwrap() else {
                continue;
            };
            for (start, end) in outline.value_spans() {
                if !matches!(bytes[start], b'{' | b'[') {
                    continue;
                }
                let mut skipped = Scanner::new(bytes, start);
                skipped.skip_container().unwrap();
                assert_eq!(skipped.pos, end, "{}", String::from_utf8_lossy(bytes));
                seen += 1;
            }
        }
        assert!(
            seen > 3,
            "only {seen} containers among the samples' members"
        );
    }

    #[test]
    fn skipping_a_container_ends_where_checking_it_ends() {
        let extra: &[&[u8]] = &[
            b"{\n  \"a\": [\n    {\n      \"b\": \"[x]\",\n      \"c\": [1, 2, {}]\n    }\n  ],\n  \"d\": {\"e\\\\\": [[], [[]]]}\n}",
            b"[{\"k\\\"}\": \"\\u005d\"}, [\"\\\\\", \"]\"], {\"\": {\"\": []}}]",
            b"\t[\r\n\t{ } , [ ] ,\n\n        \"        \" ]",
        ];
        for &bytes in extra {
            assert!(
                validate(bytes).is_ok(),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        let mut seen = 0;
        for &bytes in VALID.iter().chain(extra) {
            for (i, &b) in bytes.iter().enumerate() {
                if b != b'{' && b != b'[' {
                    continue;
                }
                let mut checked = Scanner::new(bytes, i);
                if checked.value(0).is_err() {
                    continue;
                }
                let mut skipped = Scanner::new(bytes, i);
                skipped.skip_container().unwrap();
                assert_eq!(
                    skipped.pos,
                    checked.pos,
                    "{}",
                    String::from_utf8_lossy(bytes)
                );
                seen += 1;
            }
        }
        assert!(seen >= 25, "only {seen} containers in the samples");
        let deep = b"[\n    {\"a\\\"]\": [1, \"}\"]},\n        \"x\"\n]";
        let mut s = Scanner::new(deep, 0);
        s.skip_container().unwrap();
        assert_eq!(s.pos, deep.len());
        assert!(Scanner::new(b"[1, [2]", 0).skip_container().is_err());
    }

    /// A valid document's strings hold an escape exactly when its bytes
    /// hold a backslash, so the style worked out after the scan is
    /// [`Style::detect`]'s, `ensure_ascii` included.
    #[test]
    fn the_escapes_noted_by_the_scan_give_the_style_detect_gives() {
        let extra: &[&[u8]] = &[
            b"{\"a\": \"caf\\u00e9\"}",
            b"[\"\\u0041\", \"x\"]",
            b"{\"k\\u00e9y\": 1}",
            b"\"\\\\u00e9\"",
            b"{\"a\": \"plain\", \"b\": [1, 2]}",
            "{\"a\": \"caf\u{e9}\"}".as_bytes(),
        ];
        for &bytes in VALID.iter().chain(extra) {
            let shown = String::from_utf8_lossy(bytes);
            let (_, escapes) = validate_outline_noting_escapes(bytes).unwrap();
            assert_eq!(escapes, bytes.contains(&b'\\'), "{shown}");
            assert_eq!(
                crate::json::Style::detect_after_scan(bytes, escapes),
                crate::json::Style::detect(bytes),
                "{shown}"
            );
        }
    }

    /// `validate_outline` fails exactly as `validate` does, and its outline
    /// names every top-level member's key and value span.
    #[test]
    fn the_outline_agrees_with_validate_and_spans_every_member() {
        for &bytes in VALID.iter().chain(INVALID).chain(TRUNCATED) {
            let shown = String::from_utf8_lossy(bytes);
            match (validate(bytes), validate_outline(bytes)) {
                (Ok(()), Ok(_)) => {}
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{shown}"),
                (a, b) => panic!("{shown}: validate {a:?}, outline {b:?}"),
            }
        }
        let doc = b" {\"a\" : [1, {\"x\": 2}],\n \"b\\u0041\":\"s\" , \"c\":{}}\n";
        let outline = validate_outline(doc).unwrap().unwrap();
        let spans: Vec<(&[u8], &[u8])> = outline
            .members()
            .iter()
            .map(|m| (&doc[m.key.start..m.key.end], &doc[m.value.0..m.value.1]))
            .collect();
        assert_eq!(
            spans,
            [
                (&b"\"a\""[..], &b"[1, {\"x\": 2}]"[..]),
                (&b"\"b\\u0041\""[..], &b"\"s\""[..]),
                (&b"\"c\""[..], &b"{}"[..]),
            ]
        );
        assert!(outline.members()[1].key.escaped);
        assert_eq!(&doc[outline.span().0..outline.span().1], doc.trim_ascii());
        assert!(validate_outline(b"[1, 2]").unwrap().is_none());
        let many: String = format!(
            "{{{}}}",
            (0..=Outline::MAX_MEMBERS)
                .map(|i| format!("\"k{i}\":0"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(validate_outline(many.as_bytes()).unwrap().is_none());
    }

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

    /// Every shared sample, and every prefix of the valid ones (each a
    /// truncated file).
    #[test]
    fn agrees_with_parse_on_the_samples() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", "{\"k\":".repeat(n), "}".repeat(n));
        let owned = [
            nested(MAX_DEPTH),
            nested(MAX_DEPTH + 1),
            nested(100_000),
            objects(MAX_DEPTH),
            objects(MAX_DEPTH + 1),
        ];
        for input in VALID
            .iter()
            .chain(TRUNCATED)
            .chain(INVALID)
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
