//! JSON Merge Patch (RFC 7386) applied to a document's bytes rather than to
//! its tree.
//!
//! Promises:
//! - The result means exactly `merge_patch(parse(source), patch)`: members the
//!   patch names with `null` are deleted, objects merge recursively, anything
//!   else replaces, new members are appended in the patch's order, surviving
//!   members keep their position (a duplicated key the patch names keeps its
//!   first position and its last value, as `parse` reads it).
//! - Only what the patch names is looked into. Every value the patch does not
//!   reach is copied from the source bytes as it is, never parsed into a
//!   value, so a merge into a large file costs one scan of it and the memory
//!   of its output.
//! - Objects on the patch's paths that change are written again in `style`,
//!   with [`Writer`], the renderer's own writer; everything else keeps its
//!   bytes. Hence, for a file `b` in a style the renderer reproduces
//!   (`render(&parse(b)?, &Style::detect(b)) == b`), the result is byte for
//!   byte `render(&merged, &Style::detect(b))`, the tree path's output.
//! - An invalid source gives the same [`ParseError`] as `parse` would.

use std::borrow::Cow;
use std::fmt;

use super::format::{Indent, Style, Writer};
use super::merge::merge_patch;
use super::parse::{MAX_DEPTH, ParseError, parse, prelude, trailing_error};
use super::scan::{Key, Outline, Scanner, validate};
use super::value::{Map, Value};
use super::{Cut, Runs};

/// Why a merge could not be spliced.
#[derive(Debug, Clone)]
pub enum SpliceError {
    /// The source is not valid JSON.
    Parse(ParseError),
    /// The document is not an object (its JSON type is given): RFC 7386 would
    /// replace all of it, which a merge refuses to do.
    NotObject(&'static str),
    /// The patch is not an object (its JSON type is given).
    PatchNotObject(&'static str),
    /// The result would nest deeper than [`MAX_DEPTH`] levels.
    TooDeep,
}

impl fmt::Display for SpliceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpliceError::Parse(e) => write!(f, "not valid JSON ({e})"),
            SpliceError::NotObject(found) => write!(f, "the document holds {found}, not an object"),
            SpliceError::PatchNotObject(found) => {
                write!(f, "the merge patch must be a JSON object, not {found}")
            }
            SpliceError::TooDeep => write!(
                f,
                "the merged document would be nested deeper than {MAX_DEPTH} levels"
            ),
        }
    }
}

impl std::error::Error for SpliceError {}

/// Applies the merge `patch` to the document `source`, writing what changes
/// in `style` (normally `Style::detect(source)`). `Ok(None)`: the patch
/// changes nothing.
pub fn merge_splice(
    source: &[u8],
    style: &Style,
    patch: &Value,
) -> Result<Option<Vec<u8>>, SpliceError> {
    merge_splice_outlined(source, style, patch, None)
}

/// [`merge_splice`] into a document already validated by
/// [`validate_outline`](super::scan::validate_outline), whose `outline` it
/// gave: the top-level members the patch does not name are copied by their
/// recorded spans, not walked again, so a merge into a large document walks
/// only what it changes. The result is byte for byte `merge_splice`'s.
pub(crate) fn merge_splice_outlined(
    source: &[u8],
    style: &Style,
    patch: &Value,
    outline: Option<&Outline>,
) -> Result<Option<Vec<u8>>, SpliceError> {
    Ok(splice(source, style, patch, outline, usize::MAX)?.map(|(out, _)| out))
}

/// A run of the source of at least this many bytes is shared, not copied,
/// by [`merge_splice_shared`].
pub(crate) const SHARE_FROM: usize = 64 * 1024;

/// [`merge_splice_outlined`] whose output leaves out every copied run of the
/// source of [`SHARE_FROM`] bytes or more, listing where each goes instead:
/// the output with the runs put back is byte for byte
/// [`merge_splice_outlined`]'s, and a merge into a large document then holds
/// little more than the old version in memory.
pub(crate) fn merge_splice_shared(
    source: &[u8],
    style: &Style,
    patch: &Value,
    outline: Option<&Outline>,
) -> Result<Option<Shared>, SpliceError> {
    splice(source, style, patch, outline, SHARE_FROM)
}

/// A splice's output without the runs of the source it left out, and where
/// they go.
pub(crate) type Shared = (Vec<u8>, Vec<Cut>);

/// The splice; copied runs of `share` bytes or more are left out and listed.
fn splice(
    source: &[u8],
    style: &Style,
    patch: &Value,
    outline: Option<&Outline>,
    share: usize,
) -> Result<Option<Shared>, SpliceError> {
    let Value::Object(patch) = patch else {
        return Err(SpliceError::PatchNotObject(patch.type_name()));
    };
    let (text, start) = prelude(source).map_err(SpliceError::Parse)?;
    let mut scanner = Scanner::new(source, start);
    if scanner.peek() != Some(b'{') {
        // Only a valid document is "not an object"; otherwise say why not.
        validate(source).map_err(SpliceError::Parse)?;
        return Err(SpliceError::NotObject(type_at(source, start)));
    }
    let mut splicer = Splicer {
        source,
        text,
        style,
        too_deep: false,
        extra: 0,
    };
    let plan = match outline {
        Some(outline) if outline.span().0 == start => splicer
            .outlined(outline, patch)
            .map_err(SpliceError::Parse)?,
        _ => {
            let plan = splicer
                .object(&mut scanner, 1, patch)
                .map_err(SpliceError::Parse)?;
            scanner.skip_ws();
            if scanner.pos < source.len() {
                return Err(SpliceError::Parse(trailing_error(source, scanner.pos)));
            }
            plan
        }
    };
    if splicer.too_deep {
        return Err(SpliceError::TooDeep);
    }
    if !plan.changed {
        return Ok(None);
    }
    let shared = splicer.shared_len(&plan, share);
    let capacity = source.len() - shared + splicer.extra + splicer.framing_bound(&plan, 0);
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(source.get(..plan.start).unwrap_or_default());
    let mut writer = Writer::new(&mut out, style);
    let mut runs = Runs::new(share);
    splicer.emit(&mut writer, &plan, 0, &mut runs);
    let cuts = runs.finish();
    out.extend_from_slice(source.get(plan.end..).unwrap_or_default());
    Ok(Some((out, cuts)))
}

/// The JSON type of the (valid) value starting at `at`.
fn type_at(bytes: &[u8], at: usize) -> &'static str {
    match bytes.get(at) {
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// What one object on the patch's paths becomes.
struct Plan<'p> {
    /// Its span in the source.
    start: usize,
    end: usize,
    /// Its members in output order (deleted ones marked so).
    members: Vec<Member<'p>>,
    /// Whether its bytes change at all; if not, its span is copied.
    changed: bool,
}

struct Member<'p> {
    key: KeyText<'p>,
    value: Piece<'p>,
}

enum KeyText<'p> {
    /// Kept as spelled in the source (quotes included).
    Source(usize, usize),
    /// A new member's key, escaped in the style.
    New(&'p str),
}

enum Piece<'p> {
    /// Copied from the source.
    Source(usize, usize),
    /// Rendered from the patch.
    Rendered(Vec<u8>),
    /// An object the patch merges into, which changes.
    Merged(Plan<'p>),
    /// Deleted by the patch.
    Deleted,
}

/// The members of one object as they are read.
struct Members<'p> {
    list: Vec<Member<'p>>,
    /// Where each patch member's key sits in `list`, once seen.
    seen: Vec<Option<usize>>,
    /// Whether the object's bytes change.
    changed: bool,
}

impl Members<'_> {
    fn new(patch_members: usize) -> Self {
        Members {
            list: Vec::new(),
            seen: vec![None; patch_members],
            changed: false,
        }
    }
}

struct Splicer<'s> {
    source: &'s [u8],
    text: &'s str,
    style: &'s Style,
    /// A rendered value nests too deep; reported once the source is known
    /// to be valid, so a parse error always wins.
    too_deep: bool,
    /// Bytes rendered from the patch, to size the output once.
    extra: usize,
}

impl<'s> Splicer<'s> {
    /// Walks the object at the scanner (nesting `level`, counting itself)
    /// and works out what `patch` makes of it.
    fn object<'p>(
        &mut self,
        scanner: &mut Scanner<'s>,
        level: usize,
        patch: &'p Map,
    ) -> Result<Plan<'p>, ParseError> {
        let start = scanner.pos;
        let mut members = Members::new(patch.len());
        scanner.object(level, |scanner, key| {
            self.member(&mut members, scanner, key, level, patch, None)
        })?;
        Ok(self.plan(members, patch, level, start, scanner.pos))
    }

    /// [`Splicer::object`] for the top-level object of a validated document,
    /// its members taken from `outline` instead of a walk.
    fn outlined<'p>(&mut self, outline: &Outline, patch: &'p Map) -> Result<Plan<'p>, ParseError> {
        let mut members = Members::new(patch.len());
        for member in outline.members() {
            let (start, end) = member.value;
            let mut scanner = Scanner::new(self.source, start);
            self.member(&mut members, &mut scanner, member.key, 1, patch, Some(end))?;
        }
        let (start, end) = outline.span();
        Ok(self.plan(members, patch, 1, start, end))
    }

    /// One member of an object at `level`, the scanner on its value: what
    /// `patch` makes of it. `end`, when known, is where its value ends, which
    /// then is not walked unless the patch merges into it.
    fn member<'p>(
        &mut self,
        members: &mut Members<'p>,
        scanner: &mut Scanner<'s>,
        key: Key,
        level: usize,
        patch: &'p Map,
        end: Option<usize>,
    ) -> Result<(), ParseError> {
        let value_start = scanner.pos;
        let skip = |scanner: &mut Scanner<'s>| match end {
            Some(end) => {
                scanner.pos = end;
                Ok(())
            }
            None => scanner.value(level),
        };
        let name = self.key_name(key);
        let Some((index, _, patch_value)) = patch.get_full(name.as_ref()) else {
            skip(scanner)?;
            members.list.push(Member {
                key: KeyText::Source(key.start, key.end),
                value: Piece::Source(value_start, scanner.pos),
            });
            return Ok(());
        };
        let piece = match patch_value {
            Value::Null => {
                skip(scanner)?;
                Piece::Deleted
            }
            Value::Object(nested) if scanner.peek() == Some(b'{') => {
                let plan = self.object(scanner, level + 1, nested)?;
                if plan.changed {
                    Piece::Merged(plan)
                } else {
                    Piece::Source(plan.start, plan.end)
                }
            }
            _ => {
                skip(scanner)?;
                let rendered = self.render_member(patch_value, level);
                if self.source.get(value_start..scanner.pos) == Some(rendered.as_slice()) {
                    Piece::Source(value_start, scanner.pos)
                } else {
                    self.extra += rendered.len();
                    Piece::Rendered(rendered)
                }
            }
        };
        if !matches!(piece, Piece::Source(..)) {
            members.changed = true;
        }
        match members.seen.get_mut(index) {
            Some(Some(first)) => {
                // A repeated key: its last value, at its first place.
                if let Some(m) = members.list.get_mut(*first) {
                    m.value = piece;
                }
                members.changed = true;
            }
            Some(slot) => {
                *slot = Some(members.list.len());
                members.list.push(Member {
                    key: KeyText::Source(key.start, key.end),
                    value: piece,
                });
            }
            None => {}
        }
        Ok(())
    }

    /// The plan of the object at `start..end` whose members were read into
    /// `members`: the patch's members it did not have are appended.
    fn plan<'p>(
        &mut self,
        mut members: Members<'p>,
        patch: &'p Map,
        level: usize,
        start: usize,
        end: usize,
    ) -> Plan<'p> {
        for ((key, patch_value), seen) in patch.iter().zip(&members.seen) {
            if seen.is_some() || matches!(patch_value, Value::Null) {
                continue;
            }
            let rendered = self.render_member(patch_value, level);
            self.extra += rendered.len();
            members.list.push(Member {
                key: KeyText::New(key),
                value: Piece::Rendered(rendered),
            });
            members.changed = true;
        }
        Plan {
            start,
            end,
            members: members.list,
            changed: members.changed,
        }
    }

    /// The key's value: its text, or decoded when it has escapes.
    fn key_name(&self, key: Key) -> Cow<'s, str> {
        let inner = self
            .text
            .get(key.start + 1..key.end - 1)
            .unwrap_or_default();
        if !key.escaped {
            return Cow::Borrowed(inner);
        }
        match self.source.get(key.start..key.end).map(parse) {
            Some(Ok(Value::String(s))) => Cow::Owned(s.value),
            _ => Cow::Borrowed(inner),
        }
    }

    /// `patch_value` as the new value of a member of an object at `level`:
    /// an object patch builds an object (dropping its nulls), as RFC 7386
    /// does for a member that is missing or not an object.
    fn render_member(&mut self, patch_value: &Value, level: usize) -> Vec<u8> {
        let built;
        let value = if let Value::Object(_) = patch_value {
            let mut v = Value::Null;
            merge_patch(&mut v, patch_value);
            built = v;
            &built
        } else {
            patch_value
        };
        if level + value.depth() > MAX_DEPTH {
            self.too_deep = true;
        }
        let mut out = Vec::new();
        Writer::new(&mut out, self.style).value(value, level);
        out
    }

    /// At least the bytes `emit` writes for `plan` besides copied spans and
    /// rendered values (separators, line breaks, indents, keys), so the
    /// output is allocated once.
    fn framing_bound(&self, plan: &Plan, depth: usize) -> usize {
        let unit = match self.style.indent {
            Indent::Spaces(n) => usize::from(n),
            Indent::Tab | Indent::Compact { .. } => 1,
        };
        // ",", a CRLF and the indent before a member; ":" and a space after its key.
        let per_member = 3 + unit * (depth + 1) + 2;
        let mut bound = 2 + 2 + unit * depth;
        for member in &plan.members {
            bound += per_member
                + match member.key {
                    KeyText::Source(start, end) => end - start,
                    // Escaped under ensure_ascii: at most 12 bytes a character.
                    KeyText::New(key) => 12 * key.len() + 2,
                };
            if let Piece::Merged(nested) = &member.value {
                bound += self.framing_bound(nested, depth + 1);
            }
        }
        bound
    }

    /// Writes the object `plan` as a value at `depth` (0: the top), exactly
    /// as `Writer::value` writes an object.
    /// The bytes of the source runs of at least `share` bytes that `emit`
    /// leaves out of `plan`'s output.
    fn shared_len(&self, plan: &Plan, share: usize) -> usize {
        plan.members
            .iter()
            .map(|m| match &m.value {
                Piece::Source(start, end) if end - start >= share => end - start,
                Piece::Merged(nested) => self.shared_len(nested, share),
                _ => 0,
            })
            .sum()
    }

    fn emit(&self, w: &mut Writer, plan: &Plan, depth: usize, runs: &mut Runs) {
        let mut live = plan
            .members
            .iter()
            .filter(|m| !matches!(m.value, Piece::Deleted))
            .peekable();
        if live.peek().is_none() {
            w.out.extend_from_slice(b"{}");
            return;
        }
        w.out.push(b'{');
        for (i, member) in live.enumerate() {
            w.separator(i, depth + 1);
            match member.key {
                KeyText::Source(start, end) => {
                    w.key_text(self.source.get(start..end).unwrap_or_default());
                }
                KeyText::New(key) => w.key(key),
            }
            match &member.value {
                Piece::Source(start, end) => runs.copy(w.out, self.source, *start, *end),
                Piece::Rendered(bytes) => w.out.extend_from_slice(bytes),
                Piece::Merged(nested) => self.emit(w, nested, depth + 1, runs),
                Piece::Deleted => {}
            }
        }
        w.close(depth, b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::super::format::render;
    use super::super::samples::{INVALID, TRUNCATED, json};
    use super::super::scan::validate_outline;
    use super::*;

    /// Splices `patch` into `source` in its detected style, and checks the
    /// result against the tree path (parse, merge_patch, render).
    #[track_caller]
    fn splice_matches_tree(source: &str, patch: &str) -> String {
        splice_matches_tree_in(source, patch, &Style::detect(source.as_bytes()))
    }

    #[track_caller]
    fn splice_matches_tree_in(source: &str, patch: &str, style: &Style) -> String {
        let style = *style;
        let patch = json(patch);
        let spliced = match merge_splice(source.as_bytes(), &style, &patch) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => source.as_bytes().to_vec(),
            Err(e) => panic!("{source}: {e}"),
        };
        // The top-level members taken from the validating walk's outline
        // give the very same bytes.
        let outline = validate_outline(source.as_bytes()).ok().flatten();
        if let Some(outline) = &outline {
            let outlined = merge_splice_outlined(source.as_bytes(), &style, &patch, Some(outline))
                .ok()
                .flatten()
                .unwrap_or_else(|| source.as_bytes().to_vec());
            assert_eq!(
                String::from_utf8_lossy(&outlined),
                String::from_utf8_lossy(&spliced),
                "outlined: {source} + {patch:?}"
            );
        }
        let mut tree = json(source);
        merge_patch(&mut tree, &patch);
        let rendered = render(&tree, &style);
        assert_eq!(
            String::from_utf8_lossy(&spliced),
            String::from_utf8_lossy(&rendered),
            "{source} + {patch:?}"
        );
        String::from_utf8_lossy(&spliced).into_owned()
    }

    /// Every example of RFC 7386 Appendix A. The splice takes object
    /// targets and object patches only (a merge never replaces a whole
    /// document); the other examples must be refused, naming the type.
    #[test]
    fn rfc_7386_appendix_a() {
        let cases = [
            (r#"{"a":"b"}"#, r#"{"a":"c"}"#, Some(r#"{"a":"c"}"#)),
            (r#"{"a":"b"}"#, r#"{"b":"c"}"#, Some(r#"{"a":"b","b":"c"}"#)),
            (r#"{"a":"b"}"#, r#"{"a":null}"#, Some(r#"{}"#)),
            (
                r#"{"a":"b","b":"c"}"#,
                r#"{"a":null}"#,
                Some(r#"{"b":"c"}"#),
            ),
            (r#"{"a":["b"]}"#, r#"{"a":"c"}"#, Some(r#"{"a":"c"}"#)),
            (r#"{"a":"c"}"#, r#"{"a":["b"]}"#, Some(r#"{"a":["b"]}"#)),
            (
                r#"{"a":{"b":"c"}}"#,
                r#"{"a":{"b":"d","c":null}}"#,
                Some(r#"{"a":{"b":"d"}}"#),
            ),
            (r#"{"a":[{"b":"c"}]}"#, r#"{"a":[1]}"#, Some(r#"{"a":[1]}"#)),
            (r#"["a","b"]"#, r#"["c","d"]"#, None),
            (r#"{"a":"b"}"#, r#"["c"]"#, None),
            (r#"{"a":"foo"}"#, r#"null"#, None),
            (r#"{"a":"foo"}"#, r#""bar""#, None),
            (r#"{"e":null}"#, r#"{"a":1}"#, Some(r#"{"e":null,"a":1}"#)),
            (r#"[1,2]"#, r#"{"a":"b","c":null}"#, None),
            (
                r#"{}"#,
                r#"{"a":{"bb":{"ccc":null}}}"#,
                Some(r#"{"a":{"bb":{}}}"#),
            ),
        ];
        assert_eq!(cases.len(), 15);
        for (target, patch, expected) in cases {
            let result = merge_splice(target.as_bytes(), &Style::line(), &json(patch));
            match (expected, result) {
                (Some(expected), Ok(Some(bytes))) => {
                    assert_eq!(
                        String::from_utf8_lossy(&bytes),
                        expected,
                        "{target} + {patch}"
                    );
                    assert_eq!(
                        splice_matches_tree_in(target, patch, &Style::line()),
                        expected
                    );
                }
                (None, Err(SpliceError::NotObject("array"))) => assert!(target.starts_with('[')),
                (None, Err(SpliceError::PatchNotObject(found))) => {
                    assert_eq!(found, json(patch).type_name(), "{patch}");
                }
                (expected, got) => panic!("{target} + {patch}: {expected:?} vs {got:?}"),
            }
        }
    }

    #[test]
    fn untouched_bytes_are_copied_in_every_style() {
        let files = [
            "{\n  \"keep\": {\"odd\":   [1,2]},\n  \"n\": 1\n}\n",
            "{\"keep\": {\"x\": [1, 2.50E-3]}, \"n\": 1, \"s\": \"caf\\u00e9\"}",
            "{\"keep\":{\"x\":[1,\"a\\/b\"]},\"n\":1}\r\n",
            "{\r\n\t\"keep\": [\r\n\t\t1\r\n\t],\r\n\t\"n\": 1\r\n}",
            "{\n    \"keep\": \"\\ud800\",\n    \"n\": {\n        \"deep\": 1\n    }\n}\n",
        ];
        for file in files {
            let style = Style::detect(file.as_bytes());
            let out = merge_splice(file.as_bytes(), &style, &json(r#"{"n": 2, "new": [true]}"#));
            let Ok(Some(out)) = out else {
                panic!("{file}: {out:?}")
            };
            let out = String::from_utf8_lossy(&out).into_owned();
            // The untouched member's bytes, whatever their layout, survive.
            let keep_start = file.find("\"keep\"").unwrap_or(0);
            let keep_end = file[keep_start..]
                .find(",\n")
                .or_else(|| file[keep_start..].find(",\r\n"))
                .or_else(|| file[keep_start..].find(", \"n\""))
                .or_else(|| file[keep_start..].find(",\"n\""))
                .map_or(file.len(), |i| keep_start + i);
            assert!(
                out.contains(&file[keep_start..keep_end]),
                "{file:?} -> {out:?}"
            );
            let mut tree = json(file);
            merge_patch(&mut tree, &json(r#"{"n": 2, "new": [true]}"#));
            assert_eq!(parse(out.as_bytes()).ok(), Some(tree), "{out}");
        }
    }

    #[test]
    fn canonical_files_match_the_tree_path() {
        let jq = "{\n  \"name\": \"café\",\n  \"n\": [\n    1.10,\n    -0\n  ],\n  \"o\": {\n    \"x\": {\n      \"y\": 1\n    },\n    \"z\": []\n  },\n  \"e\": {}\n}\n";
        for patch in [
            r#"{"n": null}"#,
            r#"{"o": {"x": {"y": 2, "w": {"a": null, "b": 1}}}}"#,
            r#"{"o": {"x": null, "z": null}}"#,
            r#"{"e": {"a": 1}, "name": "caf\u00e9"}"#,
            r#"{"name": "café"}"#,
            r#"{"missing": null, "o": {}}"#,
            r#"{"o": {"z": {"q": null}}}"#,
        ] {
            splice_matches_tree(jq, patch);
        }
        let python = r#"{"a": {"b": [1, 2]}, "c": "caf\u00e9", "d": {}}"#;
        splice_matches_tree(python, r#"{"a": {"b": null, "x": "日本"}, "d": {"e": 1}}"#);
        splice_matches_tree(python, r#"{"z": {"y": {}}}"#);
        let tabs_crlf = "{\r\n\t\"a\": {\r\n\t\t\"b\": 1\r\n\t}\r\n}";
        splice_matches_tree(tabs_crlf, r#"{"a": {"c": [1, {"d": 2}]}}"#);
    }

    #[test]
    fn nothing_to_change_is_none() {
        let style = Style::new_file();
        let file = b"{\n  \"a\": 1,\n  \"o\": {\n    \"b\": [\n      1\n    ]\n  }\n}\n";
        for patch in [
            "{}",
            r#"{"a": 1}"#,
            r#"{"x": null}"#,
            r#"{"o": {"b": [1]}}"#,
            r#"{"o": {}}"#,
        ] {
            let got = merge_splice(file, &style, &json(patch));
            assert!(matches!(got, Ok(None)), "{patch}: {got:?}");
        }
    }

    #[test]
    fn duplicate_keys_keep_first_place_and_last_value() {
        let file = r#"{"a": 1, "b": {"x": 1}, "a": 2, "c": 3, "b": {"y": 2}}"#;
        let style = Style::detect(file.as_bytes());
        let out = merge_splice(file.as_bytes(), &style, &json(r#"{"b": {"z": 3}}"#));
        let Ok(Some(out)) = out else {
            panic!("{out:?}")
        };
        // "a" is not named: its repetition is kept as written.
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"a": 1, "b": {"y": 2, "z": 3}, "a": 2, "c": 3}"#
        );
        let out = merge_splice(file.as_bytes(), &style, &json(r#"{"a": null}"#));
        let Ok(Some(out)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"b": {"x": 1}, "c": 3, "b": {"y": 2}}"#
        );
    }

    #[test]
    fn escaped_keys_are_matched_by_value() {
        let file = r#"{"caf\u00e9": 1, "x": 2}"#;
        let style = Style::detect(file.as_bytes());
        let out = merge_splice(file.as_bytes(), &style, &json(r#"{"café": 5}"#));
        let Ok(Some(out)) = out else {
            panic!("{out:?}")
        };
        assert_eq!(String::from_utf8_lossy(&out), r#"{"caf\u00e9": 5, "x": 2}"#);
    }

    #[test]
    fn refusals_and_errors() {
        let style = Style::new_file();
        let patch = json(r#"{"a": 1}"#);
        for (file, found) in [
            ("[1]", "array"),
            ("\"s\"", "string"),
            ("1", "number"),
            ("-1", "number"),
            ("true", "boolean"),
            ("null", "null"),
        ] {
            let got = merge_splice(file.as_bytes(), &style, &patch);
            assert!(
                matches!(got, Err(SpliceError::NotObject(f)) if f == found),
                "{file}: {got:?}"
            );
        }
        for &bad in TRUNCATED.iter().chain(INVALID) {
            let got = merge_splice(bad, &style, &patch);
            let expected = parse(bad).err().map(|e| e.message);
            match got {
                Err(SpliceError::Parse(e)) => assert_eq!(Some(e.message), expected),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        // Parsed patches cannot nest too deep; built ones can.
        let nested = |n: usize| {
            let mut v = Value::Null;
            for _ in 0..n {
                v = Value::Array(vec![v]);
            }
            let mut patch = Map::new();
            patch.insert("a".to_string(), v);
            Value::Object(patch)
        };
        let got = merge_splice(b"{}", &style, &nested(MAX_DEPTH));
        assert!(matches!(got, Err(SpliceError::TooDeep)), "{got:?}");
        let got = merge_splice(b"{}", &style, &nested(MAX_DEPTH - 1));
        assert!(matches!(got, Ok(Some(_))), "{got:?}");
        // A parse error further on wins over the depth.
        let got = merge_splice(b"{} x", &style, &nested(MAX_DEPTH));
        assert!(matches!(got, Err(SpliceError::Parse(_))), "{got:?}");
    }
}
