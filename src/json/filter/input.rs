//! A document read straight into the filter's values, with the source span of
//! everything the renderer may copy back instead of writing it again.
//!
//! Promises:
//! - [`Input::parse`] accepts exactly what [`parse`](crate::json::parse)
//!   accepts and fails with the very same [`ParseError`] otherwise (it is
//!   the same grammar walk, `scan.rs`, with a sink of its own); the values
//!   equal what the `Value` bridge (`convert::to_val`) would make of
//!   `parse`'s tree.
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
use crate::json::parse::{ParseError, unescape};
use crate::json::scan::{Key, Scanner, Sink, document};
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
        Input::read(source, style, true, None, Known::Checked)
    }

    /// [`Input::parse`] for output that is never copied from the source
    /// (`read` prints in a layout of its own): only strings' spellings are
    /// recorded, not every container's span.
    pub(crate) fn parse_for_printing(source: Bytes, style: Style) -> Result<Input, ParseError> {
        Input::read(source, style, false, None, Known::Checked)
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
        Input::read(source, style, containers, Some(&spine.root), Known::Checked)
    }

    /// [`Input::parse_spine`] of a document whose bytes were validated
    /// whole already (a stored document, `store::Doc` of
    /// `Format::Document`): the containers off the spine are skipped, not
    /// checked a second time. On other bytes the spans it records may be
    /// wrong: never call it with bytes that were not validated as one
    /// document.
    /// Here the top-level members' spans are found by
    /// [`validate_outline`](crate::json::validate_outline), as a stored
    /// document's are when it is loaded.
    #[doc(hidden)] // for the crate's own tests; not API
    pub fn parse_spine_validated(
        source: Bytes,
        style: Style,
        spine: &super::spine::Spine,
        containers: bool,
    ) -> Result<Input, ParseError> {
        let outline = crate::json::validate_outline(&source).ok().flatten();
        Input::parse_spine_stored(source, style, spine, containers, outline.as_ref())
    }

    /// [`Input::parse_spine_validated`] of a stored document with its
    /// outline (`store::Doc::outline`): a top-level member off the spine is
    /// skipped to the end the outline gives, not scanned to it.
    pub(crate) fn parse_spine_stored(
        source: Bytes,
        style: Style,
        spine: &super::spine::Spine,
        containers: bool,
        outline: Option<&crate::json::Outline>,
    ) -> Result<Input, ParseError> {
        let known = Known::Validated(outline.map(|o| o.value_spans()).unwrap_or_default());
        Input::read(source, style, containers, Some(&spine.root), known)
    }

    /// The document in `source`, read whole or, given a spine's root, as
    /// [`Input::parse_spine`] reads it.
    fn read(
        source: Bytes,
        style: Style,
        containers: bool,
        spine: Option<&Node>,
        known: Known,
    ) -> Result<Input, ParseError> {
        // Read whole, room for one container every 64 bytes, more than most
        // documents have: the table then never moves while it fills (pages
        // it does not fill are never made resident). Off a spine, few are.
        let expected = match spine {
            Some(_) => 256,
            None if containers => source.len() / 64,
            None => 0,
        };
        let (root, spans) = document(&source, |doc, s| {
            let mut r = Reader::new(&source, doc, containers, expected);
            r.known = known;
            r.style = style;
            let root = match spine {
                Some(node) => r.spine_value(s, 0, node)?,
                None => s.walk(&mut r, 0)?,
            };
            Ok((root, Spans::new(r.containers, r.escaped)))
        })?;
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
        let style = Style::line();
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

    /// A value a filter made (the array `items.rs` gathers) over `source`,
    /// the document its strings are slices of: they are written as spelled
    /// there, as an input read from the document writes them.
    pub(super) fn of_val(root: Val, source: Bytes, style: Style) -> Input {
        Input {
            source,
            style,
            root,
            spans: Spans::default(),
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

    /// The bytes read, shared.
    pub(super) fn source_bytes(&self) -> &Bytes {
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
    pub(super) fn container(&self, ptr: usize) -> Option<Span> {
        let entries = &self.containers;
        let at = gallop(entries, self.hint.get(), |e| e.ptr.cmp(&ptr))?;
        self.hint.set(at);
        entries.get(at).map(Entry::span)
    }

    /// The span of the escaped string whose decoded bytes are `ptr..ptr+len`.
    pub(super) fn escaped(&self, ptr: usize, len: usize) -> Option<Span> {
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

/// The sink that reads a document into filter values, recording spans.
struct Reader<'a> {
    source: &'a Bytes,
    /// The same bytes as text (its UTF-8 checked).
    doc: &'a str,
    /// Items of the arrays being read, innermost last.
    items: Vec<Val>,
    /// Members of the objects being read, innermost last.
    members: Vec<(Val, Val)>,
    record_containers: bool,
    containers: Vec<Entry>,
    escaped: Vec<Entry>,
    /// Scratch space for decoding escaped strings.
    text: String,
    /// What is known of the source before it is read.
    known: Known,
    /// The source's layout.
    style: Style,
}

/// What is known of a source before it is read.
enum Known {
    /// Nothing: what is skipped is checked.
    Checked,
    /// It was validated whole before (a stored document): what is skipped
    /// is skipped without checking it again, and a container starting
    /// where one of these spans starts ends where it ends (the top-level
    /// members' values, in document order).
    Validated(Vec<(usize, usize)>),
}

impl<'a> Reader<'a> {
    /// A reader that records containers if `containers`, with room for
    /// `expected` of them.
    fn new(source: &'a Bytes, doc: &'a str, containers: bool, expected: usize) -> Reader<'a> {
        Reader {
            source,
            doc,
            items: Vec::with_capacity(256),
            members: Vec::with_capacity(64),
            record_containers: containers,
            containers: Vec::with_capacity(expected),
            escaped: Vec::new(),
            text: String::new(),
            known: Known::Checked,
            style: Style::new_file(),
        }
    }

    /// The value at the cursor as `node` needs it (see [`Input::parse_spine`]):
    /// the members and items on the spine as their nodes need them, the
    /// others skipped.
    fn spine_value(
        &mut self,
        s: &mut Scanner<'a>,
        depth: usize,
        node: &Node,
    ) -> Result<Val, ParseError> {
        match node.need {
            Need::Full => return s.walk(self, depth),
            Need::Opaque if node.children.is_empty() => return self.placeholder(s, depth),
            _ => {}
        }
        let (start, level) = (s.pos, depth + 1);
        match s.peek() {
            Some(b'{') => {
                let base = self.members.len();
                s.object(level, |s, key| {
                    let key = self.key(key)?;
                    let child = match &key {
                        Val::TStr(b) | Val::BStr(b) => node.key(b),
                        _ => None,
                    };
                    let value = match child {
                        Some(child) => self.spine_value(s, level, child)?,
                        None => self.placeholder(s, level)?,
                    };
                    self.members.push((key, value));
                    Ok(())
                })?;
                Ok(Sink::object(self, base, start, s.pos, level))
            }
            Some(b'[') => {
                if node.need == Need::Concat
                    && node.children.is_empty()
                    && let Some(array) = self.items_as_one_run(s, level)?
                {
                    return Ok(array);
                }
                // Indexes from the end need the length first: one pass to
                // count the items (and check the array), one to read them.
                let mut len = 0;
                if node.has_index() {
                    Scanner::new(s.bytes, s.pos).array(level, |walk| {
                        len += 1;
                        walk.value(level)
                    })?;
                }
                let base = self.items.len();
                s.array(level, |s| {
                    let item = match node.index(self.items.len() - base, len) {
                        Some(child) => self.spine_value(s, level, child)?,
                        None => self.placeholder(s, level)?,
                    };
                    self.items.push(item);
                    Ok(())
                })?;
                Ok(Sink::array(self, base, start, s.pos, level))
            }
            _ => s.walk(self, depth),
        }
    }

    /// The array at the cursor, whose items a filter only puts before others
    /// ([`Need::Concat`]), as an array of one stand-in for all its items: a
    /// placeholder recorded with the span from the first item's start to
    /// the last one's end, which the renderer copies back. Only for a
    /// validated source, and only when every gap between two items is the
    /// separator the renderer writes there in the file's style, so that
    /// the copy is byte for byte what rendering each item would give (the
    /// items themselves are copied in either case). `None`, the cursor
    /// unmoved: an empty array, another layout, or a source not validated
    /// (read the items one by one).
    fn items_as_one_run(
        &mut self,
        s: &mut Scanner<'a>,
        level: usize,
    ) -> Result<Option<Val>, ParseError> {
        if !self.record_containers || !matches!(self.known, Known::Validated(_)) {
            return Ok(None);
        }
        let mut separator = Vec::new();
        crate::json::format::Writer::new(&mut separator, &self.style).separator(1, level);
        let bytes = s.bytes;
        let open = s.pos;
        let mut t = Scanner::new(bytes, open);
        let (mut first, mut last, mut canonical) = (None, open, true);
        t.array(level, |t| {
            let start = t.pos;
            match first {
                None => first = Some(start),
                Some(_) => {
                    canonical = canonical
                        && bytes
                            .get(last..start)
                            .is_some_and(|gap| gap == separator.as_slice());
                }
            }
            t.skip_value()?;
            last = t.pos;
            Ok(())
        })?;
        let Some(first) = first.filter(|_| canonical) else {
            return Ok(None);
        };
        let base = self.items.len();
        let run = Sink::object(self, self.members.len(), first, last, level + 1);
        self.items.push(run);
        s.pos = t.pos;
        Ok(Some(Sink::array(self, base, open, s.pos, level)))
    }

    /// The value at the cursor with an array or object checked and skipped:
    /// an empty one stands for it, recorded with its span.
    fn placeholder(&mut self, s: &mut Scanner<'a>, depth: usize) -> Result<Val, ParseError> {
        let start = s.pos;
        match s.peek() {
            Some(b'{') => {
                self.skip(s, depth)?;
                Ok(Sink::object(
                    self,
                    self.members.len(),
                    start,
                    s.pos,
                    depth + 1,
                ))
            }
            Some(b'[') => {
                self.skip(s, depth)?;
                Ok(Sink::array(self, self.items.len(), start, s.pos, depth + 1))
            }
            _ => s.walk(self, depth),
        }
    }

    /// Move past the container at the cursor: checked, or only skipped
    /// when the whole source was validated before.
    fn skip(&mut self, s: &mut Scanner<'a>, depth: usize) -> Result<(), ParseError> {
        match &self.known {
            Known::Checked => s.value(depth),
            Known::Validated(spans) => {
                if let Ok(i) = spans.binary_search_by_key(&s.pos, |&(start, _)| start)
                    && let Some(&(_, end)) = spans.get(i)
                {
                    s.pos = end;
                    return Ok(());
                }
                s.skip_container()
            }
        }
    }

    /// Record the container just read, spanning `start..end`.
    fn record(&mut self, ptr: usize, start: usize, end: usize, level: usize) {
        if !self.record_containers {
            return;
        }
        self.containers
            .push(Entry::new(ptr, 0, Span { start, end, level }));
    }
}

impl<'a> Sink<'a> for Reader<'a> {
    type Out = Val;
    type Key = Val;
    /// Where the array's items start in `items`.
    type Items = usize;
    /// Where the object's members start in `members`.
    type Members = usize;

    fn null(&mut self) -> Val {
        Val::Null
    }

    fn bool(&mut self, value: bool) -> Val {
        Val::Bool(value)
    }

    fn number(&mut self, start: usize, end: usize) -> Val {
        // The number grammar is ASCII.
        let text = self.doc.get(start..end).unwrap_or("0");
        Val::Num(convert::to_num(text))
    }

    fn string(&mut self, at: Key) -> Result<Val, ParseError> {
        let (start, end) = (at.start + 1, at.end - 1);
        if !at.escaped {
            return Ok(Val::utf8_str(self.source.slice(start..end)));
        }
        self.text.clear();
        unescape(self.doc, start, end, &mut self.text)?;
        let decoded = Bytes::from(self.text.as_bytes().to_vec());
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

    fn key(&mut self, at: Key) -> Result<Val, ParseError> {
        self.string(at)
    }

    fn items(&mut self) -> usize {
        self.items.len()
    }

    fn item(&mut self, _: &mut usize, value: Val) {
        self.items.push(value);
    }

    fn array(&mut self, base: usize, start: usize, end: usize, level: usize) -> Val {
        let items: Vec<Val> = self.items.drain(base..).collect();
        let array = Rc::new(items);
        self.record(Rc::as_ptr(&array) as usize, start, end, level);
        Val::Arr(array)
    }

    fn members(&mut self) -> usize {
        self.members.len()
    }

    fn member(&mut self, _: &mut usize, key: Val, value: Val) {
        self.members.push((key, value));
    }

    fn object(&mut self, base: usize, start: usize, end: usize, level: usize) -> Val {
        let count = self.members.len() - base;
        let mut map = Map::with_capacity_and_hasher(count, Default::default());
        // A repeated key keeps its first position and its last value, as
        // `parse` reads it.
        for (k, v) in self.members.drain(base..) {
            map.insert(k, v);
        }
        let object = Rc::new(map);
        self.record(Rc::as_ptr(&object) as usize, start, end, level);
        Val::Obj(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::filter::Spine;
    use crate::json::samples::{INVALID, TRUNCATED, VALID};
    use crate::json::{MAX_DEPTH, parse};

    fn input(text: &str) -> Result<Input, ParseError> {
        Input::parse(Bytes::from(text.to_owned()), Style::detect(text.as_bytes()))
    }

    /// `Input::parse` and the `Value` path agree on `bytes`, errors included.
    #[track_caller]
    fn agree(bytes: &[u8]) {
        let direct = Input::parse(Bytes::copy_from_slice(bytes), Style::detect(bytes));
        let text = String::from_utf8_lossy(bytes);
        match (direct, parse(bytes)) {
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
        let owned = [
            nested(MAX_DEPTH),
            nested(MAX_DEPTH + 1),
            objects(MAX_DEPTH),
            objects(MAX_DEPTH + 1),
        ];
        for bytes in VALID
            .iter()
            .chain(TRUNCATED)
            .chain(INVALID)
            .copied()
            .chain(owned.iter().map(|s| s.as_bytes()))
        {
            agree(bytes);
        }
    }

    /// Read on a spine, a document fails exactly where and as `parse`
    /// fails, also where an index makes the reader count an array's items
    /// before it reads them (a trailing comma once failed there as "expected
    /// a JSON value").
    #[test]
    fn spine_reads_fail_as_parse_does() {
        for code in [".a", ".[0]", ".[-1]", ".a[-1].b", ".[0] | length"] {
            let Some(spine) = Spine::for_read(code) else {
                panic!("{code}: no spine")
            };
            for &bytes in VALID.iter().chain(TRUNCATED).chain(INVALID) {
                let style = Style::detect(bytes);
                let read = Input::parse_spine(Bytes::copy_from_slice(bytes), style, &spine, true);
                let text = String::from_utf8_lossy(bytes);
                match (read, parse(bytes)) {
                    (Ok(_), Ok(_)) => {}
                    (Err(a), Err(b)) => assert_eq!(
                        (&a.kind, a.offset, a.line, a.column, &a.message),
                        (&b.kind, b.offset, b.line, b.column, &b.message),
                        "{code} on {text:?}"
                    ),
                    (a, b) => panic!("{code} on {text:?}: {:?}, {:?}", a.map(|_| ()), b),
                }
            }
        }
        let e = Input::parse_spine(
            Bytes::from_static(b"[1,]"),
            Style::new_file(),
            &Spine::for_read(".[-1]").unwrap(),
            false,
        )
        .err()
        .map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some("line 1, column 4: trailing comma before ']' is not allowed")
        );
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
