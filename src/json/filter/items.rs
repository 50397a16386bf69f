//! `read` of a filter that maps over one array, item by item:
//! `P | map(F)` and `[P[] | F]`, each optionally followed by `| G`, and
//! `P[] | F`, where
//! `P` is a constant path (`.events`, `.a.b[0]`, or `.` itself) and `F` and `G` are quiet
//! (see `spine::quiet`: no `input`, `debug`, `halt`…, no definitions).
//!
//! jq runs `F` on each item of the array at `P` and collects the outputs
//! into one array, which `G` then gets. `F` sees its item and nothing else
//! (jq has no way up a document), so the items can be read one at a time:
//! each is parsed into the filter's values, `F` runs on it, and its values
//! are dropped unless an output holds part of them. Memory then follows
//! what `F` keeps (the `id` of each event, say), not the whole array: the
//! general path holds every item's values at once, about 1,100 bytes for a
//! 219-byte event (an allocation per string, three per object, in jaq's
//! value type).
//!
//! Promises:
//! - The outputs are those of the general path, value for value: the
//!   shapes are recognised on jaq's own parse of the filter, `F` and `G`
//!   are compiled from their own text, which must parse to the very terms
//!   found in the whole filter, and with the same variables.
//! - Printed the same way: the collected array is an [`Input`] over the
//!   document's bytes, so strings are written as spelled there, as the
//!   general path writes them. Only documents without a backslash are read
//!   this way (no string has an escape whose spelling the general path
//!   records).
//! - Anything else (the path missing or not an array, an error in `F` or
//!   `G`, a document with escapes) gives up before printing anything, and
//!   the caller takes the general path, which then prints and reports
//!   exactly what it always has; `F` and `G` being quiet, running them
//!   twice shows nothing.

use std::ops::ControlFlow;

use bytes::Bytes;
use jaq_core::load::Lexer;
use jaq_core::load::lex::{Tok, Token};
use jaq_core::load::parse::Term;
use jaq_core::path::{Opt, Part};
use jaq_json::{Rc, Val};

use super::spine::{Seg, const_path, parse, pipeline, quiet};
use super::{Ending, Filter, FilterError, Input, Side};
use crate::json::Style;
use crate::json::scan::{Key, Outline, Scanner};

/// A filter that maps over the array at one path (see the module head).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Items {
    path: Vec<Seg>,
    each: String,
    then: Option<String>,
    /// `F`'s outputs are collected into one array (`map`, `[…]`), or are
    /// the outputs themselves (`P[] | F`).
    collect: bool,
}

impl Items {
    /// `P | map(F) [| G]` or `[P[] | F] [| G]`, `None` for any other filter.
    pub(crate) fn for_read(code: &str) -> Option<Items> {
        // `$__loc__` is rewritten to the line it is on, which a part's own
        // text would change.
        if code.contains("$__loc__") {
            return None;
        }
        let term = parse(code)?;
        let mut steps = Vec::new();
        pipeline(&term, &mut steps);
        let tokens = Lexer::new(code).lex().ok()?;
        let stages = split_pipes(&tokens);
        match (steps.as_slice(), stages.as_slice()) {
            // `map(F) | G…` of the document itself.
            ([Term::Call("map", args), ..], [[Token("map", Tok::Word), block], rest @ ..])
                if args.len() == 1 =>
            {
                let each_text = text_of(code, inside(block, '(')?)?;
                let mut each = Vec::new();
                pipeline(&args[0], &mut each);
                Items::checked(code, Vec::new(), &each, each_text, &steps[1..], rest)
            }
            // `P | map(F) | G…`: the stages P, `map (F)`, then G's.
            (
                [p, Term::Call("map", args), ..],
                [_, [Token("map", Tok::Word), block], rest @ ..],
            ) if args.len() == 1 => {
                let each_text = text_of(code, inside(block, '(')?)?;
                let mut each = Vec::new();
                pipeline(&args[0], &mut each);
                Items::checked(code, const_path(p)?, &each, each_text, &steps[2..], rest)
            }
            // `[P[] | F] | G…`: the stage `[…]`, then G's.
            ([Term::Arr(Some(arr)), ..], [[block], rest @ ..]) => {
                let mut inner = Vec::new();
                pipeline(arr, &mut inner);
                let [first, each @ ..] = inner.as_slice() else {
                    return None;
                };
                let inner_stages = split_pipes(inside(block, '[')?);
                let [_, each_stages @ ..] = inner_stages.as_slice() else {
                    return None;
                };
                let each_text = text_of_stages(code, each_stages)?;
                Items::checked(
                    code,
                    iterated_path(first)?,
                    each,
                    each_text,
                    &steps[1..],
                    rest,
                )
            }
            // `P[] | F`: F's outputs are the filter's.
            ([first, each @ ..], [_, rest @ ..]) => {
                let each_text = text_of_stages(code, rest)?;
                let mut items =
                    Items::checked(code, iterated_path(first)?, each, each_text, &[], &[])?;
                items.collect = false;
                Some(items)
            }
            _ => None,
        }
    }

    /// The recognised parts, once their texts are shown to parse to the
    /// terms found in the whole filter and every part is quiet.
    fn checked(
        code: &str,
        path: Vec<Seg>,
        each: &[&Term<&str>],
        each_text: &str,
        then: &[&Term<&str>],
        then_stages: &[&[Token<&str>]],
    ) -> Option<Items> {
        if each.is_empty() || !each.iter().all(|t| quiet(t)) || !then.iter().all(|t| quiet(t)) {
            return None;
        }
        same_steps(each_text, each)?;
        let then_text = match then {
            [] => None,
            _ => {
                let text = text_of_stages(code, then_stages)?;
                same_steps(text, then)?;
                Some(text.to_owned())
            }
        };
        Some(Items {
            path,
            each: each_text.to_owned(),
            then: then_text,
            collect: true,
        })
    }

    /// `F`'s code: run on each item.
    pub(crate) fn each(&self) -> &str {
        &self.each
    }

    /// `G`'s code, if any: run on the array of `F`'s outputs.
    pub(crate) fn then(&self) -> Option<&str> {
        self.then.as_deref()
    }

    /// Whether `F`'s outputs make one array (`map`, `[…]`) rather than
    /// being the filter's outputs (`P[] | F`).
    pub(crate) fn collects(&self) -> bool {
        self.collect
    }
}

impl Input {
    /// The items of the array [`Filter::gather_items`] made, each an output.
    pub(crate) fn gathered_outputs(&self) -> Vec<super::Output> {
        match self.root() {
            Val::Arr(a) => a
                .iter()
                .map(|v| super::Output(super::val::V(v.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// `text` parses to the pipeline `steps` (compared as jaq prints its terms).
fn same_steps(text: &str, steps: &[&Term<&str>]) -> Option<()> {
    let term = parse(text)?;
    let mut own = Vec::new();
    pipeline(&term, &mut own);
    (format!("{own:?}") == format!("{steps:?}")).then_some(())
}

/// `P[]` (iterating, not optional): the constant path `P`.
fn iterated_path(t: &Term<&str>) -> Option<Vec<Seg>> {
    let Term::Path(head, path) = t else {
        return None;
    };
    let (last, init) = path.0.split_last()?;
    if !matches!(last, (Part::Range(None, None), Opt::Essential)) {
        return None;
    }
    let prefix = Term::Path(head.clone(), jaq_core::path::Path(init.to_vec()));
    const_path(&prefix)
}

/// The tokens between the pipes at this level.
fn split_pipes<'t, 's>(tokens: &'t [Token<&'s str>]) -> Vec<&'t [Token<&'s str>]> {
    tokens
        .split(|t| matches!(t, Token("|", Tok::Sym)))
        .collect()
}

/// The tokens inside a block opened by `open` (jaq's lexer ends a block's
/// tokens with its closing symbol: left out).
fn inside<'t, 's>(block: &'t Token<&'s str>, open: char) -> Option<&'t [Token<&'s str>]> {
    let close = match open {
        '(' => ")",
        '[' => "]",
        _ => return None,
    };
    match block {
        Token(s, Tok::Block(inner)) if s.starts_with(open) => match inner.split_last() {
            Some((Token(c, Tok::Sym), rest)) if *c == close => Some(rest),
            _ => None,
        },
        _ => None,
    }
}

/// The code from the first token of `tokens` to the end of the last.
fn text_of<'s>(code: &'s str, tokens: &[Token<&'s str>]) -> Option<&'s str> {
    let (first, last) = (tokens.first()?, tokens.last()?);
    code.get(offset(code, first.0)?..offset(code, last.0)? + last.0.len())
}

/// The code of several stages, the pipes between them included.
fn text_of_stages<'s>(code: &'s str, stages: &[&[Token<&'s str>]]) -> Option<&'s str> {
    let first = stages.first()?.first()?;
    let last = stages.last()?.last()?;
    code.get(offset(code, first.0)?..offset(code, last.0)? + last.0.len())
}

/// Where `part`, a slice of `code`, starts in it.
fn offset(code: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize)?;
    (at + part.len() <= code.len()).then_some(at)
}

impl Filter {
    /// This filter (`F` of `items`) run on each item of the array at the
    /// items' path in `source`, a document validated whole (its top-level
    /// outline from the load, if kept), and its outputs collected into one
    /// array: an input for `G`, or the result. `None` when the document
    /// holds a backslash, the path leads to no array, or an item's run did
    /// not finish (see the module head).
    pub(crate) fn gather_items(
        &self,
        items: &Items,
        source: &Bytes,
        style: Style,
        outline: Option<&Outline>,
        input_filename: Option<&str>,
        side: &dyn Fn(Side<'_>),
    ) -> Result<Option<Input>, FilterError> {
        if source.contains(&b'\\') {
            return Ok(None);
        }
        let Some(spans) = array_items(source, &items.path, outline) else {
            return Ok(None);
        };
        let mut outputs = Vec::new();
        for (start, end) in spans {
            let Ok(item) = Input::parse_for_printing(source.slice(start..end), style) else {
                return Ok(None);
            };
            let ended = self.run_input(&item, input_filename, side, &mut |mut o| {
                outputs.push(std::mem::take(&mut o.0.0));
                ControlFlow::Continue(())
            })?;
            if ended != Ending::Finished {
                return Ok(None);
            }
        }
        Ok(Some(Input::of_val(
            Val::Arr(Rc::new(outputs)),
            source.clone(),
            style,
        )))
    }
}

/// The spans of the items of the array at `path` in `source` (validated
/// whole, without a backslash: a key's bytes are its text); `None` when the
/// path leads to no array. A repeated key counts by its last value, as jq
/// reads it.
fn array_items(
    source: &[u8],
    path: &[Seg],
    outline: Option<&Outline>,
) -> Option<Vec<(usize, usize)>> {
    let mut s = Scanner::new(source, 0);
    s.skip_ws();
    let mut depth = 0;
    let mut rest = path;
    // The first key by the outline the load kept, without a walk.
    if let (Some(Seg::Key(k)), Some(outline)) = (path.first(), outline) {
        let member = outline
            .members()
            .iter()
            .rev()
            .find(|m| key_is(source, m.key, k))?;
        s.pos = member.value.0;
        depth = 1;
        rest = &path[1..];
    }
    for seg in rest {
        let level = depth + 1;
        let at = match (seg, s.peek()) {
            (Seg::Key(k), Some(b'{')) => {
                let mut found = None;
                s.object(level, |s, key| {
                    if key_is(source, key, k) {
                        found = Some(s.pos);
                    }
                    s.skip_value()
                })
                .ok()?;
                found?
            }
            (Seg::Index(i), Some(b'[')) => {
                let mut starts = Vec::new();
                s.array(level, |s| {
                    starts.push(s.pos);
                    s.skip_value()
                })
                .ok()?;
                let at = if *i < 0 {
                    starts
                        .len()
                        .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
                } else {
                    usize::try_from(*i).ok()?
                };
                *starts.get(at)?
            }
            _ => return None,
        };
        s.pos = at;
        depth = level;
    }
    if s.peek() != Some(b'[') {
        return None;
    }
    let mut spans = Vec::new();
    s.array(depth + 1, |s| {
        let start = s.pos;
        s.skip_value()?;
        spans.push((start, s.pos));
        Ok(())
    })
    .ok()?;
    Some(spans)
}

/// The key at `key` (quotes included) is `k`.
fn key_is(source: &[u8], key: Key, k: &[u8]) -> bool {
    !key.escaped && source.get(key.start + 1..key.end.saturating_sub(1)) == Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_shapes_and_finds_their_parts() {
        let i = Items::for_read(".events | map(.id)").unwrap();
        assert_eq!((i.each(), i.then()), (".id", None));
        let i = Items::for_read(".a.b | map(select(.x > 1) | .y) | length").unwrap();
        assert_eq!(
            (i.each(), i.then()),
            ("select(.x > 1) | .y", Some("length"))
        );
        let i = Items::for_read("[.events[] | .id, .t] | add | . + 1").unwrap();
        assert_eq!((i.each(), i.then()), (".id, .t", Some("add | . + 1")));
        for code in ["map(.id)", ". | map(.id)", "[.[] | .id]", ".[] | .id"] {
            let i = Items::for_read(code).unwrap();
            assert_eq!(
                (i.each(), i.then(), i.path.is_empty()),
                (".id", None, true),
                "{code}"
            );
        }
        let i = Items::for_read(".events[] | select(.ok) | .id").unwrap();
        assert_eq!(
            (i.each(), i.then(), i.collects()),
            ("select(.ok) | .id", None, false)
        );
        let i = Items::for_read("[ .e[0][] | {a: .a} ]").unwrap();
        assert_eq!((i.each(), i.then()), ("{a: .a}", None));
        assert_eq!(
            Items::for_read(".x | map( .a # note\n )").map(|i| i.each),
            Some(".a".to_owned())
        );
    }

    #[test]
    fn refuses_everything_else() {
        for code in [
            ".events",
            ".",
            ".events | map(.id, input)",
            ".events | map(debug)",
            ".events | map(.id) | debug",
            ".events | map($__loc__)",
            ".events | map(.id)?",
            ".events? | map(.id)",
            ".events | map(def f: 1; f)",
            ".events as $e | map(.id)",
            ".events[]",
            ".events[] | .id, input",
            ".events[]? | .id",
            "[.events[]? | .id]",
            "[.events[] ]",
            "[.events[1:] | .id]",
            ".events | map(.id; .x)",
            "[.events[] | .id], 1",
            ".events | map(.id), 1",
        ] {
            assert_eq!(Items::for_read(code), None, "{code}");
        }
    }

    #[test]
    fn finds_the_items_of_the_array_at_a_path() {
        let doc = br#"{"a": {"b": [1, [2, 3], {"c": 4}], "b": [5, 6]}, "z": [[7], [8, 9]]}"#;
        let items = |path: &[Seg]| {
            array_items(doc, path, None).map(|spans| {
                spans
                    .iter()
                    .map(|&(s, e)| String::from_utf8_lossy(&doc[s..e]).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        let key = |k: &str| Seg::Key(k.as_bytes().to_vec());
        // The last of a repeated key.
        assert_eq!(
            items(&[key("a"), key("b")]),
            Some(vec!["5".into(), "6".into()])
        );
        assert_eq!(
            items(&[key("z"), Seg::Index(-1)]),
            Some(vec!["8".into(), "9".into()])
        );
        assert_eq!(items(&[key("z"), Seg::Index(0)]), Some(vec!["7".into()]));
        assert_eq!(items(&[key("z"), Seg::Index(2)]), None);
        assert_eq!(items(&[key("a")]), None);
        assert_eq!(items(&[key("y")]), None);
    }
}
