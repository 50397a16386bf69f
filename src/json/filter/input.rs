//! A document read straight into the filter's values, with the source span of
//! everything the renderer may copy back instead of writing it again.
//!
//! Promises:
//! - [`Input::parse`] accepts exactly what [`parse`](crate::json::parse)
//!   accepts and fails with the very same [`ParseError`] otherwise (same
//!   grammar walk, same error constructors); the values equal what the
//!   `Value` bridge (`convert::to_val`) would make of `parse`'s tree.
//! - No `Value` tree is built. Strings without escapes are slices of the
//!   document's own buffer (no copy); numbers keep their text where the
//!   filter semantics keep it (see `convert::to_num`).
//! - Every array and object is recorded with its source span and nesting,
//!   keyed by the address of its shared allocation, and every string written
//!   with escapes by the address of its decoded bytes. The input's values stay
//!   alive as long as the [`Input`], so no recorded address can be reused by
//!   another value meanwhile, and a container can only be changed in place
//!   while nothing else holds it: a container found at a recorded address
//!   is the one that was read, unchanged.

use std::cell::Cell;

use bytes::Bytes;
use jaq_json::{Map, Rc, Val};

use super::convert;
use super::spine::{Need, Node};
use crate::json::parse::{
    ParseError, checked_number_end, decode_escape, enter, literal_end, not_a_value, prelude,
    syntax_error, trailing_error, unexpected,
};
use crate::json::scan::Scanner;
use crate::json::{Style, Value, render};

/// A document parsed into filter values; see the module head.
pub struct Input {
    /// The document's bytes; unescaped strings are slices of them.
    source: Bytes,
    /// The layout the source is written in (its spans are copied only into
    /// output of the same layout).
    style: Style,
    /// The document's value. Held for as long as outputs may be rendered, so
    /// that every recorded address stays taken by what was read.
    root: Val,
    spans: Spans,
}

impl Input {
    /// Parse `source`, written in `style` (normally `Style::detect` of it,
    /// which the store has at hand).
    pub fn parse(source: Bytes, style: Style) -> Result<Input, ParseError> {
        Input::parse_with(source, style, true)
    }

    /// [`Input::parse`] for output that is never copied from the source
    /// (`read` prints in a layout of its own): only strings' spellings are
    /// recorded, not every container's span.
    pub(crate) fn parse_for_printing(source: Bytes, style: Style) -> Result<Input, ParseError> {
        Input::parse_with(source, style, false)
    }

    /// [`Input::parse`] of only what a filter with `spine` can look at (see
    /// [`Spine`]): off its paths every array and object is an empty one,
    /// recorded with the span of the real one, so that the renderer copies
    /// it back as it was. The document is still checked whole: it fails
    /// exactly where [`Input::parse`] fails. Only for filters `spine` was
    /// made from, and only for output rendered with [`Render::copy`] in the
    /// input's layout (or output that holds nothing from off the paths).
    ///
    /// [`Spine`]: super::spine::Spine
    /// [`Render::copy`]: super::Render
    #[doc(hidden)] // for the crate's own tests (`__internals::Spine`); not API
    pub fn parse_spine(
        source: Bytes,
        style: Style,
        spine: &super::spine::Spine,
        containers: bool,
    ) -> Result<Input, ParseError> {
        let (_, start) = prelude(&source)?;
        let mut p = Parser {
            source: &source,
            s: Scanner::new(&source, start),
            items: Vec::with_capacity(256),
            members: Vec::with_capacity(64),
            record_containers: containers,
            containers: Vec::with_capacity(256),
            escaped: Vec::new(),
            text: Vec::new(),
        };
        let root = p.spine_value(0, &spine.root)?;
        p.s.skip_ws();
        if p.s.pos < source.len() {
            return Err(trailing_error(&source, p.s.pos));
        }
        let spans = Spans::new(p.containers, p.escaped);
        Ok(Input {
            source,
            style,
            root,
            spans,
        })
    }

    fn parse_with(source: Bytes, style: Style, containers: bool) -> Result<Input, ParseError> {
        let (_, start) = prelude(&source)?;
        // Room for one container every 64 bytes, more than most documents
        // have: the table then never moves while it fills (pages it does
        // not fill are never made resident).
        let expected = if containers { source.len() / 64 } else { 0 };
        let mut p = Parser {
            source: &source,
            s: Scanner::new(&source, start),
            items: Vec::with_capacity(256),
            members: Vec::with_capacity(64),
            record_containers: containers,
            containers: Vec::with_capacity(expected),
            escaped: Vec::new(),
            text: Vec::new(),
        };
        let root = p.value(0)?;
        p.s.skip_ws();
        if p.s.pos < source.len() {
            return Err(trailing_error(&source, p.s.pos));
        }
        let spans = Spans::new(p.containers, p.escaped);
        Ok(Input {
            source,
            style,
            root,
            spans,
        })
    }

    /// A value that was not read from a file (e.g. `--default`): written out
    /// compactly and read back, so strings keep their source spelling.
    pub fn from_value(value: &Value) -> Input {
        let style = Style {
            indent: crate::json::Indent::Compact {
                colon_space: false,
                comma_space: false,
            },
            crlf: false,
            trailing_newline: false,
            ensure_ascii: false,
        };
        let bytes = Bytes::from(render(value, &style));
        match Input::parse(bytes, style) {
            Ok(input) => input,
            // A rendered value always reads back; should it not, the value
            // itself still is what the filter gets.
            Err(_) => Input {
                source: Bytes::new(),
                style,
                root: convert::to_val(value).0,
                spans: Spans::default(),
            },
        }
    }

    /// The document itself as an output (to print it in another layout).
    pub fn whole(&self) -> super::Output {
        super::Output(super::val::V(self.root.clone()))
    }

    /// The document's value.
    pub(super) fn root(&self) -> &Val {
        &self.root
    }

    pub(super) fn source(&self) -> &[u8] {
        &self.source
    }

    pub(super) fn style(&self) -> &Style {
        &self.style
    }

    pub(super) fn spans(&self) -> &Spans {
        &self.spans
    }
}

/// Where a recorded value was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    /// Byte range in the source: a container with its brackets, a string's
    /// text between its quotes.
    pub start: usize,
    pub end: usize,
    /// A container's nesting (1: the top-level value); 0 for strings.
    pub level: usize,
}

/// One recorded value: `ptr` (and `len` for strings) identify it.
#[derive(Clone, Copy)]
struct Entry {
    ptr: usize,
    len: usize,
    start: usize,
    /// `end` in the low 48 bits, the nesting level above them: the table
    /// holds an entry per container of a document, so it is kept small.
    end_level: u64,
}

const END_BITS: u32 = 48;
const END_MASK: u64 = (1 << END_BITS) - 1;

impl Entry {
    fn new(ptr: usize, len: usize, span: Span) -> Entry {
        Entry {
            ptr,
            len,
            start: span.start,
            // No document in memory reaches 2^48 bytes, and nesting stops
            // at MAX_DEPTH (256), far below 2^16.
            end_level: (span.end as u64 & END_MASK) | ((span.level as u64) << END_BITS),
        }
    }

    fn span(&self) -> Span {
        Span {
            start: self.start,
            end: (self.end_level & END_MASK) as usize,
            level: (self.end_level >> END_BITS) as usize,
        }
    }
}

/// The recorded values, sorted by address. Lookups come mostly in the order
/// the values were read (an array's items one after the other), so each
/// search starts from where the previous one ended.
#[derive(Default)]
pub(super) struct Spans {
    containers: Vec<Entry>,
    escaped: Vec<Entry>,
    hint: Cell<usize>,
}

impl Spans {
    fn new(mut containers: Vec<Entry>, mut escaped: Vec<Entry>) -> Spans {
        containers.sort_unstable_by_key(|e| e.ptr);
        escaped.sort_unstable_by_key(|e| (e.ptr, e.len));
        containers.shrink_to_fit();
        escaped.shrink_to_fit();
        Spans {
            containers,
            escaped,
            hint: Cell::new(0),
        }
    }

    /// The span of the array or object whose shared allocation is at `ptr`.
    pub fn container(&self, ptr: usize) -> Option<Span> {
        let entries = &self.containers;
        let at = gallop(entries, self.hint.get(), |e| e.ptr.cmp(&ptr))?;
        self.hint.set(at);
        entries.get(at).map(Entry::span)
    }

    /// The span of the escaped string whose decoded bytes are `ptr..ptr+len`.
    pub fn escaped(&self, ptr: usize, len: usize) -> Option<Span> {
        let at = self
            .escaped
            .binary_search_by(|e| (e.ptr, e.len).cmp(&(ptr, len)))
            .ok()?;
        self.escaped.get(at).map(Entry::span)
    }
}

/// Index of the entry `cmp` finds equal, searching outward from `hint`:
/// steps of 1, 2, 4, ... to bracket it, then a binary search.
fn gallop(
    entries: &[Entry],
    hint: usize,
    cmp: impl Fn(&Entry) -> std::cmp::Ordering,
) -> Option<usize> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let len = entries.len();
    let hint = hint.min(len.checked_sub(1)?);
    let (lo, hi) = match cmp(&entries[hint]) {
        Equal => return Some(hint),
        Less => {
            // The target lies after `hint`.
            let mut step = 1;
            let mut lo = hint + 1;
            loop {
                let probe = hint.saturating_add(step);
                if probe >= len {
                    break (lo, len);
                }
                match cmp(&entries[probe]) {
                    Equal => return Some(probe),
                    Less => lo = probe + 1,
                    Greater => break (lo, probe),
                }
                step *= 2;
            }
        }
        Greater => {
            let mut step = 1;
            let mut hi = hint;
            loop {
                let Some(probe) = hint.checked_sub(step) else {
                    break (0, hi);
                };
                match cmp(&entries[probe]) {
                    Equal => return Some(probe),
                    Greater => hi = probe,
                    Less => break (probe + 1, hi),
                }
                step *= 2;
            }
        }
    };
    let found = entries.get(lo..hi)?.binary_search_by(cmp).ok()?;
    Some(lo + found)
}

struct Parser<'a> {
    source: &'a Bytes,
    /// The cursor, with the scanner's fast whitespace and string scans.
    s: Scanner<'a>,
    /// Items of the arrays being read, innermost last.
    items: Vec<Val>,
    /// Members of the objects being read, innermost last.
    members: Vec<(Val, Val)>,
    record_containers: bool,
    containers: Vec<Entry>,
    escaped: Vec<Entry>,
    /// Scratch space for decoding escaped strings.
    text: Vec<u8>,
}

impl Parser<'_> {
    fn bytes(&self) -> &[u8] {
        self.s.bytes
    }

    /// The value at the cursor, in a container at nesting `depth` (0: the top).
    fn value(&mut self, depth: usize) -> Result<Val, ParseError> {
        match self.s.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.s.pos;
                let end = checked_number_end(self.bytes(), start)?;
                self.s.pos = end;
                // The number grammar is ASCII.
                let text = std::str::from_utf8(&self.bytes()[start..end]).unwrap_or("0");
                Ok(Val::Num(convert::to_num(text)))
            }
            Some(b't') => self.literal("true", Val::Bool(true)),
            Some(b'f') => self.literal("false", Val::Bool(false)),
            Some(b'n') => self.literal("null", Val::Null),
            _ => Err(not_a_value(self.bytes(), self.s.pos)),
        }
    }

    fn literal(&mut self, word: &'static str, value: Val) -> Result<Val, ParseError> {
        self.s.pos = literal_end(self.bytes(), self.s.pos, word)?;
        Ok(value)
    }

    /// The string at the cursor (its opening quote).
    fn string(&mut self) -> Result<Val, ParseError> {
        let open = self.s.pos;
        let escaped = self.s.string()?;
        let (start, end) = (open + 1, self.s.pos - 1);
        if !escaped {
            return Ok(Val::utf8_str(self.source.slice(start..end)));
        }
        self.text.clear();
        let bytes = self.s.bytes;
        let mut run = start;
        let mut i = start;
        while i < end {
            if bytes[i] == b'\\' {
                self.text.extend_from_slice(&bytes[run..i]);
                // The scanner has checked every escape already.
                let (c, len) = decode_escape(bytes, i)
                    .map_err(|e| crate::json::parse::escape_error(bytes, i, e))?;
                let mut utf8 = [0u8; 4];
                self.text
                    .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                i += len;
                run = i;
            } else {
                i += 1;
            }
        }
        self.text.extend_from_slice(&bytes[run..end]);
        let decoded = Bytes::from(self.text.as_slice().to_vec());
        self.escaped.push(Entry::new(
            decoded.as_ptr() as usize,
            decoded.len(),
            Span {
                start,
                end,
                level: 0,
            },
        ));
        Ok(Val::utf8_str(decoded))
    }

    fn array(&mut self, level: usize) -> Result<Val, ParseError> {
        enter(self.bytes(), self.s.pos, level)?;
        let start = self.s.pos;
        self.s.pos += 1;
        self.s.skip_ws();
        let base = self.items.len();
        if self.s.peek() == Some(b']') {
            self.s.pos += 1;
        } else {
            loop {
                let item = self.value(level)?;
                self.items.push(item);
                self.s.skip_ws();
                match self.s.peek() {
                    Some(b',') => {
                        self.s.pos += 1;
                        self.s.skip_ws();
                        if self.s.peek() == Some(b']') {
                            return Err(syntax_error(
                                self.bytes(),
                                self.s.pos,
                                "trailing comma before ']' is not allowed",
                            ));
                        }
                    }
                    Some(b']') => {
                        self.s.pos += 1;
                        break;
                    }
                    _ => {
                        return Err(unexpected(
                            self.bytes(),
                            self.s.pos,
                            "expected ',' or ']' after array element",
                        ));
                    }
                }
            }
        }
        let items: Vec<Val> = self.items.drain(base..).collect();
        let array = Rc::new(items);
        self.record(Rc::as_ptr(&array) as usize, start, level);
        Ok(Val::Arr(array))
    }

    fn object(&mut self, level: usize) -> Result<Val, ParseError> {
        enter(self.bytes(), self.s.pos, level)?;
        let start = self.s.pos;
        self.s.pos += 1;
        self.s.skip_ws();
        let base = self.members.len();
        if self.s.peek() == Some(b'}') {
            self.s.pos += 1;
        } else {
            loop {
                if self.s.peek() != Some(b'"') {
                    return Err(unexpected(
                        self.bytes(),
                        self.s.pos,
                        "expected '\"' to begin an object key",
                    ));
                }
                let key = self.string()?;
                self.s.skip_ws();
                if self.s.peek() != Some(b':') {
                    return Err(unexpected(
                        self.bytes(),
                        self.s.pos,
                        "expected ':' after object key",
                    ));
                }
                self.s.pos += 1;
                self.s.skip_ws();
                let value = self.value(level)?;
                self.members.push((key, value));
                self.s.skip_ws();
                match self.s.peek() {
                    Some(b',') => {
                        self.s.pos += 1;
                        self.s.skip_ws();
                        if self.s.peek() == Some(b'}') {
                            return Err(syntax_error(
                                self.bytes(),
                                self.s.pos,
                                "trailing comma before '}' is not allowed",
                            ));
                        }
                    }
                    Some(b'}') => {
                        self.s.pos += 1;
                        break;
                    }
                    _ => {
                        return Err(unexpected(
                            self.bytes(),
                            self.s.pos,
                            "expected ',' or '}' after object member",
                        ));
                    }
                }
            }
        }
        let count = self.members.len() - base;
        let mut map = Map::with_capacity_and_hasher(count, Default::default());
        // A repeated key keeps its first position and its last value, as
        // `parse` reads it.
        for (k, v) in self.members.drain(base..) {
            map.insert(k, v);
        }
        let object = Rc::new(map);
        self.record(Rc::as_ptr(&object) as usize, start, level);
        Ok(Val::Obj(object))
    }

    /// The value at the cursor as `node` needs it (see [`Input::parse_spine`]).
    fn spine_value(&mut self, depth: usize, node: &Node) -> Result<Val, ParseError> {
        match node.need {
            Need::Full => return self.value(depth),
            Need::Opaque if node.children.is_empty() => return self.placeholder(depth),
            _ => {}
        }
        match self.s.peek() {
            Some(b'{') => self.spine_object(depth + 1, node),
            Some(b'[') => self.spine_array(depth + 1, node),
            _ => self.value(depth),
        }
    }

    /// The value at the cursor with an array or object checked and skipped:
    /// an empty one stands for it, recorded with its span.
    fn placeholder(&mut self, depth: usize) -> Result<Val, ParseError> {
        let start = self.s.pos;
        let val = match self.s.peek() {
            Some(b'{') => {
                self.s.value(depth)?;
                let object = Rc::new(Map::default());
                self.record(Rc::as_ptr(&object) as usize, start, depth + 1);
                Val::Obj(object)
            }
            Some(b'[') => {
                self.s.value(depth)?;
                let array: Rc<Vec<Val>> = Rc::new(Vec::new());
                self.record(Rc::as_ptr(&array) as usize, start, depth + 1);
                Val::Arr(array)
            }
            _ => return self.value(depth),
        };
        Ok(val)
    }

    /// An object on a spine: the members on it as their nodes need them,
    /// the others skipped.
    fn spine_object(&mut self, level: usize, node: &Node) -> Result<Val, ParseError> {
        enter(self.bytes(), self.s.pos, level)?;
        let start = self.s.pos;
        let mut members: Vec<(Val, Val)> = Vec::new();
        let mut failed = None;
        // The scanner walks the object (its errors are `parse`'s); each
        // member's value is read here, from the cursor it hands over.
        let mut inner = Scanner::new(self.s.bytes, self.s.pos);
        let walked = inner.object(level, |s, key| {
            self.s.pos = key.start;
            let k = match self.string() {
                Ok(k) => k,
                Err(e) => {
                    failed = Some(e);
                    return Err(not_a_value(self.s.bytes, key.start));
                }
            };
            self.s.pos = s.pos;
            let child = match &k {
                Val::TStr(b) | Val::BStr(b) => node.key(b),
                _ => None,
            };
            let v = match child {
                Some(child) => self.spine_value(level, child),
                None => self.placeholder(level),
            };
            match v {
                Ok(v) => {
                    members.push((k, v));
                    s.pos = self.s.pos;
                    Ok(())
                }
                Err(e) => {
                    failed = Some(e);
                    Err(not_a_value(self.s.bytes, s.pos))
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        walked?;
        self.s.pos = inner.pos;
        let mut map = Map::with_capacity_and_hasher(members.len(), Default::default());
        for (k, v) in members {
            map.insert(k, v);
        }
        let object = Rc::new(map);
        self.record(Rc::as_ptr(&object) as usize, start, level);
        Ok(Val::Obj(object))
    }

    /// An array on a spine: the items on it as their nodes need them, the
    /// others skipped.
    fn spine_array(&mut self, level: usize, node: &Node) -> Result<Val, ParseError> {
        enter(self.bytes(), self.s.pos, level)?;
        let start = self.s.pos;
        // Indexes from the end need the length first: one pass to find
        // where the items start (and check the array), one to read them.
        let mut starts = Vec::new();
        if node.has_index() {
            let mut walk = Scanner::new(self.s.bytes, self.s.pos + 1);
            walk.skip_ws();
            if walk.peek() != Some(b']') {
                loop {
                    starts.push(walk.pos);
                    walk.value(level)?;
                    walk.skip_ws();
                    if walk.peek() != Some(b',') {
                        break;
                    }
                    walk.pos += 1;
                    walk.skip_ws();
                }
            }
        }
        let len = starts.len();
        self.s.pos += 1;
        self.s.skip_ws();
        let mut items = Vec::new();
        if self.s.peek() == Some(b']') {
            self.s.pos += 1;
        } else {
            loop {
                let item = match node.index(items.len(), len) {
                    Some(child) => self.spine_value(level, child)?,
                    None => self.placeholder(level)?,
                };
                items.push(item);
                self.s.skip_ws();
                match self.s.peek() {
                    Some(b',') => {
                        self.s.pos += 1;
                        self.s.skip_ws();
                        if self.s.peek() == Some(b']') {
                            return Err(syntax_error(
                                self.bytes(),
                                self.s.pos,
                                "trailing comma before ']' is not allowed",
                            ));
                        }
                    }
                    Some(b']') => {
                        self.s.pos += 1;
                        break;
                    }
                    _ => {
                        return Err(unexpected(
                            self.bytes(),
                            self.s.pos,
                            "expected ',' or ']' after array element",
                        ));
                    }
                }
            }
        }
        let array = Rc::new(items);
        self.record(Rc::as_ptr(&array) as usize, start, level);
        Ok(Val::Arr(array))
    }

    /// Record the container just read, from `start` to the cursor.
    fn record(&mut self, ptr: usize, start: usize, level: usize) {
        if !self.record_containers {
            return;
        }
        self.containers.push(Entry::new(
            ptr,
            0,
            Span {
                start,
                end: self.s.pos,
                level,
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{MAX_DEPTH, parse};

    fn input(text: &str) -> Result<Input, ParseError> {
        Input::parse(Bytes::from(text.to_owned()), Style::detect(text.as_bytes()))
    }

    /// `Input::parse` and the `Value` path agree on `text`, errors included.
    #[track_caller]
    fn agree(text: &str) {
        match (input(text), parse(text.as_bytes())) {
            (Ok(i), Ok(v)) => assert_eq!(i.root, convert::to_val(&v).0, "{text:?}"),
            (Err(a), Err(b)) => assert_eq!(
                (&a.kind, a.offset, a.line, a.column, &a.message),
                (&b.kind, b.offset, b.line, b.column, &b.message),
                "{text:?}"
            ),
            (a, b) => panic!(
                "{text:?}: direct {:?}, parse {:?}",
                a.map(|_| ()),
                b.map(|_| ())
            ),
        }
    }

    #[test]
    fn agrees_with_parse() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", "{\"k\":".repeat(n), "}".repeat(n));
        for text in [
            "null",
            " true ",
            "\r\n\tfalse\n",
            "0",
            "-0",
            "1.10",
            "1e3",
            "2.5",
            "12345678901234567890123",
            "-9223372036854775808",
            r#"{"z": 1, "a": [true, null, {}], "m": 2, "z": 3}"#,
            "\"日本\"",
            r#""caf\u00e9""#,
            r#""\ud83d\ude00!\ud800""#,
            r#"{"k\"ey": "a\/b", "": ""}"#,
            "",
            "   ",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "\"abc",
            "\"a\nb\"",
            r#""\x""#,
            "tru",
            "nul",
            "01",
            "1.",
            "[1] x",
            "\u{feff}{}",
            &nested(MAX_DEPTH),
            &nested(MAX_DEPTH + 1),
            &objects(MAX_DEPTH),
            &objects(MAX_DEPTH + 1),
        ] {
            agree(text);
        }
        let invalid_utf8 = Input::parse(Bytes::from_static(b"\"\xff\""), Style::new_file());
        assert!(invalid_utf8.is_err());
    }

    #[test]
    fn unescaped_strings_share_the_source() {
        let i = input(r#"{"key": "plain", "e": "caf\u00e9"}"#).unwrap();
        let Val::Obj(o) = &i.root else { panic!() };
        let range = i.source.as_ptr() as usize..i.source.as_ptr() as usize + i.source.len();
        for (k, v) in o.iter() {
            let (Val::TStr(k), Val::TStr(v)) = (k, v) else {
                panic!()
            };
            assert!(range.contains(&(k.as_ptr() as usize)));
            let inside = range.contains(&(v.as_ptr() as usize));
            assert_eq!(inside, &v[..] == b"plain", "{v:?}");
        }
        let Some(Val::TStr(e)) = o.get(&Val::from("e".to_owned())) else {
            panic!()
        };
        let span = i.spans.escaped(e.as_ptr() as usize, e.len()).unwrap();
        assert_eq!(&i.source[span.start..span.end], br"caf\u00e9");
    }

    #[test]
    fn every_container_is_recorded_with_its_span_and_level() {
        let text = "{\"a\": [1, {\"b\": []}], \"c\": {}}";
        let i = input(text).unwrap();
        let span = |v: &Val| {
            let ptr = match v {
                Val::Arr(a) => Rc::as_ptr(a) as usize,
                Val::Obj(o) => Rc::as_ptr(o) as usize,
                _ => panic!(),
            };
            let s = i.spans.container(ptr).unwrap();
            (&text[s.start..s.end], s.level)
        };
        assert_eq!(span(&i.root), (text, 1));
        let Val::Obj(o) = &i.root else { panic!() };
        let a = &o[0];
        assert_eq!(span(a), ("[1, {\"b\": []}]", 2));
        let Val::Arr(items) = a else { panic!() };
        assert_eq!(span(&items[1]), ("{\"b\": []}", 3));
        let Val::Obj(b) = &items[1] else { panic!() };
        assert_eq!(span(&b[0]), ("[]", 4));
        assert_eq!(span(&o[1]), ("{}", 2));
        assert_eq!(i.spans.container(1), None);
    }

    #[test]
    fn gallop_finds_every_entry_from_every_hint() {
        let entries: Vec<Entry> = (0..37)
            .map(|k| Entry::new(k * 16 + 8, 0, Span::default_for_test()))
            .collect();
        for hint in 0..40 {
            for k in 0..37 {
                let found = gallop(&entries, hint, |e| e.ptr.cmp(&(k * 16 + 8)));
                assert_eq!(found, Some(k), "hint {hint} key {k}");
            }
            for missing in [0, 9, 37 * 16 + 8, usize::MAX] {
                assert_eq!(gallop(&entries, hint, |e| e.ptr.cmp(&missing)), None);
            }
        }
        assert_eq!(gallop(&[], 0, |e| e.ptr.cmp(&0)), None);
    }

    impl Span {
        fn default_for_test() -> Span {
            Span {
                start: 1,
                end: 2,
                level: 3,
            }
        }
    }

    #[test]
    fn from_value_keeps_escapes() {
        let v = parse(br#"{"a": "caf\u00e9", "n": 1.10}"#).unwrap();
        let i = Input::from_value(&v);
        assert_eq!(i.root, convert::to_val(&v).0);
        assert_eq!(i.spans.escaped.len(), 1);
    }
}
