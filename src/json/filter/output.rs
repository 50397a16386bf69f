//! A filter's outputs written out as JSON, straight from the filter's values.
//!
//! Promises:
//! - The bytes are one valid JSON document by construction: arrays and
//!   objects the filter did not touch are copied from the input's bytes
//!   (spans of a validated document), strings written with escapes keep
//!   their source spelling, everything else is written by the renderer's own
//!   [`Writer`], nesting is checked against [`MAX_DEPTH`], and object keys
//!   must be strings. Hence [`Input::render_document`] hands out [`Valid`]
//!   bytes.
//! - With [`Render::copy`], in the input's own layout, an array or object
//!   found at an address the input recorded, at the nesting it was read at,
//!   is copied byte for byte: hand-made formatting, number spellings and
//!   escapes inside it survive, and nothing in it is looked at. Strings
//!   read without escapes are copied from the source too.
//! - Otherwise values are written as the `Value` path writes them: numbers
//!   as jq 1.8 prints them (literals keep their text), strings escaped in the
//!   style unless they were read with escapes (then as spelled in the source,
//!   when the style allows its characters).

use std::borrow::Cow;
use std::io::Write as _;

use bytes::Bytes;
use jaq_json::{Num, Rc, Val};

use super::input::Input;
use super::val::{V, format_f64};
use super::{FilterError, convert};
use crate::json::format::{Writer, escape_into};
use crate::json::splice::SHARE_FROM;
use crate::json::value::number_end;
use crate::json::{MAX_DEPTH, Runs, Style, Valid, Value};

/// One value a filter produced, to be written with [`Input::render_into`].
#[derive(Debug, Clone)]
pub struct Output(pub(super) V);

impl Drop for Output {
    fn drop(&mut self) {
        // An output can nest as deep as the filter made it.
        super::val::drop_flat(std::mem::take(&mut self.0.0));
    }
}

impl Output {
    /// Neither `null` nor `false` (what `read -e` tests).
    pub fn is_truthy(&self) -> bool {
        !matches!(self.0.0, Val::Null | Val::Bool(false))
    }

    /// A string's text (invalid UTF-8 replaced); `None` for anything else.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match &self.0.0 {
            Val::TStr(b) | Val::BStr(b) => Some(String::from_utf8_lossy(b)),
            _ => None,
        }
    }

    /// The output as a `Value` (numbers keep their text; escapes are not
    /// carried over).
    pub fn to_value(&self) -> Result<Value, FilterError> {
        convert::from_val(&self.0)
    }
}

/// How to write an output.
#[derive(Clone, Copy, Debug)]
pub struct Render {
    /// The layout.
    pub style: Style,
    /// Object members sorted by key (`jq -S`).
    pub sort_keys: bool,
    /// Copy what the filter left untouched from the input's bytes. Takes
    /// effect only when `style` lays values out as the input is laid out
    /// (indent, line breaks, ASCII escaping) and keys are not sorted.
    pub copy: bool,
}

impl Input {
    /// Append `output`, written as `how` says, to `out` (a final line break
    /// if the style has one). On an error `out` holds part of the output.
    pub fn render_into(
        &self,
        out: &mut Vec<u8>,
        output: &Output,
        how: &Render,
    ) -> Result<(), FilterError> {
        self.render_runs(out, output, how, &mut Runs::new(usize::MAX))
    }

    /// [`Input::render_into`], its copies of the input going through `runs`.
    fn render_runs(
        &self,
        out: &mut Vec<u8>,
        output: &Output,
        how: &Render,
        runs: &mut Runs,
    ) -> Result<(), FilterError> {
        let own = self.style();
        let same_layout = how.style.indent == own.indent
            && how.style.crlf == own.crlf
            && how.style.ensure_ascii == own.ensure_ascii;
        let copy = how.copy && same_layout && !how.sort_keys;
        let source = self.source();
        let mut r = Renderer {
            w: Writer::new(out, &how.style),
            input: self,
            source,
            base: source.as_ptr() as usize,
            copy,
            sort_keys: how.sort_keys,
            ensure_ascii: how.style.ensure_ascii,
            runs,
        };
        r.value(&output.0.0, 0)?;
        if how.style.trailing_newline {
            let newline: &[u8] = if how.style.crlf { b"\r\n" } else { b"\n" };
            out.extend_from_slice(newline);
        }
        Ok(())
    }

    /// `output` as a whole document, marked valid (see the module head).
    pub fn render_document(&self, output: &Output, how: &Render) -> Result<Valid, FilterError> {
        // Most updates change a little of a document: room for all of it
        // (pages never written to are never made resident).
        let len = self.source().len();
        let mut out = Vec::with_capacity(len + len / 8 + 256);
        // Long runs of the input it copies are shared with the input, not
        // copied (see `Runs`).
        let mut runs = Runs::new(SHARE_FROM);
        self.render_runs(&mut out, output, how, &mut runs)?;
        let valid = Valid::trusted_parts(out, self.source_bytes(), &runs.finish());
        debug_assert!(crate::json::validate(valid.bytes()).is_ok());
        Ok(valid)
    }
}

struct Renderer<'a, 'o> {
    w: Writer<'o>,
    input: &'a Input,
    source: &'a [u8],
    /// Address of the source's first byte.
    base: usize,
    copy: bool,
    sort_keys: bool,
    ensure_ascii: bool,
    /// Where copies of the source go.
    runs: &'o mut Runs,
}

fn too_deep() -> FilterError {
    FilterError::Output(format!("nesting deeper than {MAX_DEPTH} levels"))
}

impl<'a> Renderer<'a, '_> {
    /// `v` as a member of a container at `depth` (0: the top).
    fn value(&mut self, v: &Val, depth: usize) -> Result<(), FilterError> {
        match v {
            Val::Null => self.w.out.extend_from_slice(b"null"),
            Val::Bool(true) => self.w.out.extend_from_slice(b"true"),
            Val::Bool(false) => self.w.out.extend_from_slice(b"false"),
            Val::Num(n) => self.number(n),
            Val::TStr(b) | Val::BStr(b) => self.string(b),
            Val::Arr(a) => {
                let level = depth + 1;
                if level > MAX_DEPTH {
                    return Err(too_deep());
                }
                if self.copied(Rc::as_ptr(a) as usize, level) {
                    return Ok(());
                }
                if a.is_empty() {
                    self.w.out.extend_from_slice(b"[]");
                    return Ok(());
                }
                self.w.out.push(b'[');
                for (i, item) in a.iter().enumerate() {
                    self.w.separator(i, level);
                    self.value(item, level)?;
                }
                self.w.close(depth, b']');
            }
            Val::Obj(o) => {
                let level = depth + 1;
                if level > MAX_DEPTH {
                    return Err(too_deep());
                }
                if self.copied(Rc::as_ptr(o) as usize, level) {
                    return Ok(());
                }
                if o.is_empty() {
                    self.w.out.extend_from_slice(b"{}");
                    return Ok(());
                }
                let mut members: Vec<(&Bytes, &Val)> = Vec::with_capacity(o.len());
                for (k, x) in o.iter() {
                    match k {
                        Val::TStr(k) | Val::BStr(k) => members.push((k, x)),
                        other => {
                            return Err(FilterError::Output(format!(
                                "object key {} is not a string",
                                V(other.clone())
                            )));
                        }
                    }
                }
                if self.sort_keys {
                    members.sort_by(|a, b| a.0.cmp(b.0));
                }
                self.w.out.push(b'{');
                for (i, (key, item)) in members.into_iter().enumerate() {
                    self.w.separator(i, level);
                    match self.spelled(key) {
                        Some(quoted) => self.w.key_text(quoted),
                        None => self.w.key(&String::from_utf8_lossy(key)),
                    }
                    self.value(item, level)?;
                }
                self.w.close(depth, b'}');
            }
        }
        Ok(())
    }

    /// Copy the container at `ptr` from the source if it was read there at
    /// nesting `level`.
    fn copied(&mut self, ptr: usize, level: usize) -> bool {
        if !self.copy {
            return false;
        }
        let Some(span) = self.input.spans().container(ptr) else {
            return false;
        };
        if span.level != level || span.end > self.source.len() || span.start > span.end {
            return false;
        }
        self.runs
            .copy(self.w.out, self.source, span.start, span.end);
        true
    }

    /// Numbers print as jq 1.8 prints them; literals (from the file or the
    /// filter) keep their text.
    fn number(&mut self, n: &Num) {
        let out = &mut *self.w.out;
        match n {
            // Writing to a Vec cannot fail.
            Num::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Num::BigInt(b) => {
                let _ = write!(out, "{b}");
            }
            Num::Float(f) => out.extend_from_slice(format_f64(*f).as_bytes()),
            Num::Dec(text) => {
                if number_end(text.as_bytes(), 0) == Ok(text.len()) {
                    out.extend_from_slice(text.as_bytes());
                } else {
                    let f = text.parse().unwrap_or(f64::NAN);
                    out.extend_from_slice(format_f64(f).as_bytes());
                }
            }
        }
    }

    fn string(&mut self, b: &Bytes) {
        match self.spelled(b) {
            Some(quoted) => self.w.out.extend_from_slice(quoted),
            None => escape_into(self.w.out, &String::from_utf8_lossy(b), self.ensure_ascii),
        }
    }

    /// The source text of a string (quotes included), when it is a whole
    /// string of the source and may be written as spelled there.
    fn spelled(&self, b: &[u8]) -> Option<&'a [u8]> {
        let source: &'a [u8] = self.source;
        let input: &'a Input = self.input;
        let at = (b.as_ptr() as usize).wrapping_sub(self.base);
        if at < source.len() || (at == source.len() && b.is_empty()) {
            // A slice of the source buffer: a string read without escapes,
            // or part of one. Only a whole one has quotes on both sides.
            if self.ensure_ascii && !self.copy {
                // Characters the style escapes may be in it.
                return None;
            }
            let end = at + b.len();
            let open = at.checked_sub(1)?;
            return match (source.get(open), source.get(end)) {
                (Some(b'"'), Some(b'"')) => source.get(open..=end),
                _ => None,
            };
        }
        let span = input.spans().escaped(b.as_ptr() as usize, b.len())?;
        let quoted = source.get(span.start.checked_sub(1)?..=span.end)?;
        if self.ensure_ascii && !quoted.is_ascii() {
            return None;
        }
        Some(quoted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::filter::Filter;
    use crate::json::{Indent, parse, render};

    fn input(text: &str) -> Input {
        match Input::parse(Bytes::from(text.to_owned()), Style::detect(text.as_bytes())) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    /// Run `code` on `text` and write its one output in the file's style,
    /// copying what is untouched.
    fn update(code: &str, text: &str) -> String {
        let i = input(text);
        let f = Filter::compile(code, vec![]).unwrap();
        let mut outs = Vec::new();
        f.run_input(&i, None, &|_| {}, &mut |o| {
            outs.push(o);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(outs.len(), 1, "{code}");
        let how = Render {
            style: Style::detect(text.as_bytes()),
            sort_keys: false,
            copy: true,
        };
        let valid = i.render_document(&outs[0], &how).unwrap();
        String::from_utf8(valid.into_bytes()).unwrap()
    }

    #[test]
    fn untouched_subtrees_are_copied_with_their_hand_formatting() {
        // The file is laid out with two spaces, but some of its parts are
        // not: an update of another key must leave them as they are.
        let text = "{\n  \"keep\": {\"a\": 1,   \"b\": [1,2,3]},\n  \"also\": [ 1.10, \"caf\\u00e9\" ,{} ],\n  \"n\": 1\n}\n";
        let out = update(".n += 1", text);
        assert_eq!(
            out,
            "{\n  \"keep\": {\"a\": 1,   \"b\": [1,2,3]},\n  \"also\": [ 1.10, \"caf\\u00e9\" ,{} ],\n  \"n\": 2\n}\n"
        );
        // A member deleted, one added: the rest is still copied.
        let out = update("del(.n) | .new = {x: [1]}", text);
        assert_eq!(
            out,
            "{\n  \"keep\": {\"a\": 1,   \"b\": [1,2,3]},\n  \"also\": [ 1.10, \"caf\\u00e9\" ,{} ],\n  \"new\": {\n    \"x\": [\n      1\n    ]\n  }\n}\n"
        );
        // Inside a changed object the untouched sibling is copied.
        let out = update(".keep.a = 5", text);
        assert_eq!(
            out,
            "{\n  \"keep\": {\n    \"a\": 5,\n    \"b\": [1,2,3]\n  },\n  \"also\": [ 1.10, \"caf\\u00e9\" ,{} ],\n  \"n\": 1\n}\n"
        );
    }

    #[test]
    fn moved_containers_are_written_at_their_new_depth() {
        let text = "{\n  \"a\": {\n    \"b\": [\n      1\n    ]\n  }\n}\n";
        // `.a` one level up: written again in the style, not copied.
        assert_eq!(update(".a", text), "{\n  \"b\": [\n    1\n  ]\n}\n");
        // The same array at the same depth elsewhere: copied.
        assert_eq!(
            update(".c = .a", text),
            "{\n  \"a\": {\n    \"b\": [\n      1\n    ]\n  },\n  \"c\": {\n    \"b\": [\n      1\n    ]\n  }\n}\n"
        );
        // Deeper: written again.
        assert_eq!(update("{x: .}", "[1,[2]]"), "{\"x\":[1,[2]]}");
    }

    #[test]
    fn changed_containers_are_never_copied() {
        let text = "[[1, 2], {\"k\": \"v\"}, [3]]";
        assert_eq!(
            update(".[0] += [9] | .[1].k = \"w\"", text),
            "[[1, 2, 9], {\"k\": \"w\"}, [3]]"
        );
        assert_eq!(update("map(reverse? // .)", "[[1,2],[3]]"), "[[2,1],[3]]");
        assert_eq!(update(".[0] |= sort", "[[2,1],[3]]"), "[[1,2],[3]]");
        // The input itself, unchanged: every byte as it was.
        let odd = "{ \"a\" :[ 1 ,2 ] , \"b\":{} }\n";
        assert_eq!(update(".", odd), odd);
    }

    #[test]
    fn strings_keep_their_spelling_when_untouched() {
        let text = r#"{"e": "caf\u00e9", "p": "plain", "k\u00e9y": 1}"#;
        assert_eq!(
            update(".n = 1", text),
            r#"{"e": "caf\u00e9", "p": "plain", "k\u00e9y": 1, "n": 1}"#
        );
        // A changed string is written in the style.
        assert_eq!(
            update(".e |= . + \"!\"", text),
            r#"{"e": "caf\u00e9!", "p": "plain", "k\u00e9y": 1}"#
        );
        // A moved string keeps its spelling too.
        assert_eq!(update("{x: .e}", text), r#"{"x": "caf\u00e9"}"#);
        // Part of a string is new text.
        assert_eq!(update(".p[1:]", text), r#""lain""#);
    }

    #[test]
    fn ensure_ascii_files_keep_raw_delete_characters() {
        let text = "{\"d\": \"a\u{7f}b\", \"e\": \"caf\\u00e9\", \"n\": 1}";
        assert!(Style::detect(text.as_bytes()).ensure_ascii);
        assert_eq!(
            update(".n = 2", text),
            "{\"d\": \"a\u{7f}b\", \"e\": \"caf\\u00e9\", \"n\": 2}"
        );
    }

    #[test]
    fn matches_the_value_path_when_nothing_is_copied() {
        let text = r#"{"a": [1, 2.5, 1.10, -0, 1e3, 12345678901234567890123], "s": "x\ny", "o": {"k": null}}"#;
        let i = input(text);
        let f = Filter::compile(".a += [3.0, 0.1 + 0.2] | .o.t = true", vec![]).unwrap();
        let value = parse(text.as_bytes()).unwrap();
        let want = f.run(value).unwrap();
        let mut got = Vec::new();
        f.run_input(&i, None, &|_| {}, &mut |o| {
            got.push(o);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        for indent in [
            Indent::Spaces(2),
            Indent::Tab,
            Indent::Compact {
                colon_space: true,
                comma_space: false,
            },
        ] {
            let style = Style {
                indent,
                crlf: true,
                trailing_newline: true,
                ensure_ascii: true,
            };
            let how = Render {
                style,
                sort_keys: false,
                copy: false,
            };
            let mut out = Vec::new();
            i.render_into(&mut out, &got[0], &how).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&render(&want[0], &style))
            );
        }
    }

    #[test]
    fn errors_for_what_json_cannot_hold() {
        let i = input("{}");
        let how = Render {
            style: Style::new_file(),
            sort_keys: false,
            copy: true,
        };
        let deep = (0..MAX_DEPTH).fold(V::arr(vec![]), |v, _| V::arr(vec![v]));
        let mut out = Vec::new();
        assert!(matches!(
            i.render_into(&mut out, &Output(deep), &how),
            Err(FilterError::Output(m)) if m.contains("deeper")
        ));
        let ok = (1..MAX_DEPTH).fold(V::arr(vec![]), |v, _| V::arr(vec![v]));
        assert!(i.render_into(&mut Vec::new(), &Output(ok), &how).is_ok());
        let mut m = jaq_json::Map::default();
        m.insert(Val::from(1isize), Val::Null);
        assert!(matches!(
            i.render_into(&mut out, &Output(V(Val::obj(m))), &how),
            Err(FilterError::Output(m)) if m.contains("not a string")
        ));
    }

    #[test]
    fn another_layout_is_never_copied_into() {
        let text = "{\n  \"a\": [\n    1\n  ],\n  \"s\": \"café\"\n}\n";
        let i = input(text);
        let own = Style::detect(text.as_bytes());
        for change in [
            |s: &mut Style| s.indent = Indent::Tab,
            |s: &mut Style| s.crlf = true,
            |s: &mut Style| s.ensure_ascii = true,
        ] {
            let mut style = own;
            change(&mut style);
            let mut copied = Vec::new();
            let how = Render {
                style,
                sort_keys: false,
                copy: true,
            };
            i.render_into(&mut copied, &i.whole(), &how).unwrap();
            let mut written = Vec::new();
            let how = Render { copy: false, ..how };
            i.render_into(&mut written, &i.whole(), &how).unwrap();
            assert_eq!(copied, written);
            assert_ne!(copied, text.as_bytes());
        }
        // The same layout without a final newline still copies.
        let mut style = own;
        style.trailing_newline = false;
        let mut out = Vec::new();
        let how = Render {
            style,
            sort_keys: false,
            copy: true,
        };
        i.render_into(&mut out, &i.whole(), &how).unwrap();
        assert_eq!(out, text.trim_end().as_bytes());
    }

    #[test]
    fn sorted_keys_are_never_copied() {
        let i = input("{\"b\": {\"y\": 1, \"x\": 2}, \"a\": 0}");
        let how = Render {
            style: Style::detect(b"{\"b\": {}, \"a\": 0}"),
            sort_keys: true,
            copy: true,
        };
        let mut out = Vec::new();
        i.render_into(&mut out, &Output(V(i.root().clone())), &how)
            .unwrap();
        assert_eq!(out, b"{\"a\": 0, \"b\": {\"x\": 2, \"y\": 1}}");
    }
}
