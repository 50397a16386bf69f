//! Path filters recognised from their syntax, so that a document can be read
//! with only what the filter may look at ([`Input::parse_spine`]).
//!
//! Promises:
//! - [`Spine::for_update`] and [`Spine::for_read`] accept only filters whose
//!   every look into the input goes down constant paths from the top (`.a.b`,
//!   `.a[0]`, `."k"`), and say for each path's end how much of the value
//!   there the filter can see: nothing ([`Need::Opaque`]: it is replaced,
//!   deleted or only tested for truth), only what `+ V` needs of it
//!   ([`Need::Concat`]: an array's items as one run, an object's members),
//!   its members but not their insides ([`Need::Shallow`]: `length`,
//!   `keys`, `type`), or all of it
//!   ([`Need::Full`]: any other filter of the old value).
//! - Right-hand sides that jq evaluates against the whole input (`= V`,
//!   `+= V`, `-= V`, `//= V`, `setpath(P; V)`) must not look at the input at
//!   all: constants, `$variables` (`$__loc__` too), `now`, `env`, and
//!   arrays, objects, strings and arithmetic built from them.
//! - The filter itself runs unchanged on the partial input, with jaq, so its
//!   semantics stay jq's. What is not read (containers off the paths) is an
//!   empty container recorded with the span of the real one: the renderer
//!   copies it back byte for byte, and a filter of the accepted shapes never
//!   looks inside it. An error on the partial input may name such a
//!   container, so callers run the filter again on the whole document when
//!   the partial run fails.
//! - Filters with side output or input (`debug`, `stderr`, `input`,
//!   `inputs`, `halt`, `halt_error`, `input_line_number`) are never accepted:
//!   a run that is repeated must not repeat anything the user sees.
//!
//! Everything else (`..`, `paths`, `to_entries`, variables bound from the
//! input, definitions at the top, ...) takes the general path: the whole
//! document read into values.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::ops::Math;
use jaq_core::path::{Opt, Part};

/// One step of a constant path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seg {
    /// An object member.
    Key(Vec<u8>),
    /// An array item (negative: from the end).
    Index(i64),
}

/// How much of a value a filter can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Need {
    /// Not its content (it is replaced, deleted or tested for truth).
    Opaque,
    /// Only as the left operand of `+ V` (`P += V`, `P |= . + V`): an
    /// array's items are only put before others, so they may be read as one
    /// run of the source; an object's members are read as for `Shallow`.
    Concat,
    /// Its members, not what they hold.
    Shallow,
    /// All of it.
    Full,
}

/// A node of the paths a filter reads: what it needs of the value there, and
/// the paths further down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Node {
    pub(super) need: Need,
    pub(super) children: Vec<(Seg, Node)>,
}

impl Node {
    fn new(need: Need) -> Node {
        Node {
            need,
            children: Vec::new(),
        }
    }

    /// Add `path`, ending with `need`; the nodes above it are at least
    /// shallow.
    fn add(&mut self, path: &[Seg], need: Need) {
        match path.split_first() {
            None => self.need = self.need.max(need),
            Some((seg, rest)) => {
                self.need = self.need.max(Need::Shallow);
                let at = match self.children.iter().position(|(s, _)| s == seg) {
                    Some(at) => at,
                    None => {
                        self.children.push((seg.clone(), Node::new(Need::Opaque)));
                        self.children.len() - 1
                    }
                };
                self.children[at].1.add(rest, need);
            }
        }
    }

    /// The child for member key `key`.
    pub(super) fn key(&self, key: &[u8]) -> Option<&Node> {
        self.children.iter().find_map(|(s, n)| match s {
            Seg::Key(k) if k == key => Some(n),
            _ => None,
        })
    }

    /// Children that are array indexes, resolved against `len` items.
    pub(super) fn index(&self, i: usize, len: usize) -> Option<&Node> {
        self.children.iter().find_map(|(s, n)| match *s {
            Seg::Index(k) => {
                let at = if k < 0 {
                    len.checked_sub(usize::try_from(k.unsigned_abs()).ok()?)?
                } else {
                    usize::try_from(k).ok()?
                };
                (at == i).then_some(n)
            }
            Seg::Key(_) => None,
        })
    }

    pub(super) fn has_index(&self) -> bool {
        self.children
            .iter()
            .any(|(s, _)| matches!(s, Seg::Index(_)))
    }
}

/// What a recognised filter reads of its input: the top-level node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spine {
    pub(super) root: Node,
}

impl Spine {
    /// The paths of an update made of the recognised path operations (see
    /// the module head), `None` for any other filter.
    pub fn for_update(code: &str) -> Option<Spine> {
        let term = parse(code)?;
        let mut steps = Vec::new();
        pipeline(&term, &mut steps);
        let mut root = Node::new(Need::Opaque);
        let chain = steps.len() > 1;
        for step in steps {
            let (paths, need) = update_step(step)?;
            for path in paths {
                // A step can move array items (del(.a[0])): in a chain an
                // index read before the first step may hold something else
                // by the time a later step looks.
                if chain && path.iter().any(|s| matches!(s, Seg::Index(_))) {
                    return None;
                }
                root.add(&path, need);
            }
        }
        // A bare `.` or a filter without paths is no path update.
        (!root.children.is_empty()).then_some(Spine { root })
    }

    /// The path of a read `P` or `P | f` where `f` looks only at the value at
    /// `P` (see the module head), `None` for any other filter.
    pub fn for_read(code: &str) -> Option<Spine> {
        let term = parse(code)?;
        let (path, need) = match &term {
            Term::BinOp(l, BinaryOp::Pipe(None), r) => {
                let path = const_path(l)?;
                let need = match &**r {
                    Term::Call(f, args)
                        if args.is_empty()
                            && matches!(*f, "length" | "type" | "keys" | "keys_unsorted") =>
                    {
                        Need::Shallow
                    }
                    r if quiet(r) => Need::Full,
                    _ => return None,
                };
                (path, need)
            }
            t => (const_path(t)?, Need::Full),
        };
        if path.is_empty() {
            return None;
        }
        let mut root = Node::new(Need::Opaque);
        root.add(&path, need);
        Some(Spine { root })
    }
}

pub(super) fn parse(code: &str) -> Option<Term<&str>> {
    jaq_core::load::parse(code, |p| p.term())
}

/// The steps of `a | b | c`.
pub(super) fn pipeline<'a, 's>(t: &'a Term<&'s str>, out: &mut Vec<&'a Term<&'s str>>) {
    match t {
        Term::BinOp(l, BinaryOp::Pipe(None), r) => {
            pipeline(l, out);
            pipeline(r, out);
        }
        t => out.push(t),
    }
}

/// The paths one step changes and what it needs at their ends.
fn update_step(t: &Term<&str>) -> Option<(Vec<Vec<Seg>>, Need)> {
    match t {
        Term::BinOp(p, op, v) => {
            let path = const_path(p)?;
            if path.is_empty() {
                return None;
            }
            let need = match op {
                BinaryOp::Assign | BinaryOp::UpdateAlt if constant(v) => Need::Opaque,
                BinaryOp::UpdateMath(Math::Add) if constant(v) => Need::Concat,
                BinaryOp::UpdateMath(_) if constant(v) => Need::Full,
                BinaryOp::Update => match &**v {
                    // `. + V`: concatenation or a shallow merge.
                    Term::BinOp(l, BinaryOp::Math(Math::Add), r)
                        if matches!(**l, Term::Id) && constant(r) =>
                    {
                        Need::Concat
                    }
                    v if quiet(v) => Need::Full,
                    _ => return None,
                },
                _ => return None,
            };
            Some((vec![path], need))
        }
        Term::Call("del", args) => {
            let [paths] = &args[..] else { return None };
            let mut out = Vec::new();
            comma_paths(paths, &mut out)?;
            if out.iter().any(Vec::is_empty) {
                return None;
            }
            Some((out, Need::Opaque))
        }
        Term::Call("setpath", args) => {
            let [Term::Arr(Some(items)), v] = &args[..] else {
                return None;
            };
            if !constant(v) {
                return None;
            }
            let mut parts = Vec::new();
            comma_terms(items, &mut parts);
            let path = parts.into_iter().map(seg).collect::<Option<Vec<Seg>>>()?;
            if path.is_empty() {
                return None;
            }
            Some((vec![path], Need::Opaque))
        }
        _ => None,
    }
}

fn comma_terms<'a, 's>(t: &'a Term<&'s str>, out: &mut Vec<&'a Term<&'s str>>) {
    match t {
        Term::BinOp(l, BinaryOp::Comma, r) => {
            comma_terms(l, out);
            comma_terms(r, out);
        }
        t => out.push(t),
    }
}

fn comma_paths(t: &Term<&str>, out: &mut Vec<Vec<Seg>>) -> Option<()> {
    let mut terms = Vec::new();
    comma_terms(t, &mut terms);
    for t in terms {
        out.push(const_path(t)?);
    }
    Some(())
}

/// `.`, `.a`, `.a.b[0]`, `.["k"][-1]`: the segments of a constant path
/// without `?`, slices or iteration.
pub(super) fn const_path(t: &Term<&str>) -> Option<Vec<Seg>> {
    match t {
        Term::Id => Some(Vec::new()),
        Term::Path(head, path) => {
            let mut segs = const_path(head)?;
            for (part, opt) in &path.0 {
                let (Part::Index(i), Opt::Essential) = (part, opt) else {
                    return None;
                };
                segs.push(seg(i)?);
            }
            Some(segs)
        }
        _ => None,
    }
}

/// A constant key or index.
fn seg(t: &Term<&str>) -> Option<Seg> {
    match t {
        Term::Str(None, parts) => {
            let mut key = String::new();
            for part in parts {
                match part {
                    StrPart::Str(s) => key.push_str(s),
                    StrPart::Char(c) => key.push(*c),
                    StrPart::Term(_) => return None,
                }
            }
            Some(Seg::Key(key.into_bytes()))
        }
        Term::Num(n) => n.parse::<i64>().ok().map(Seg::Index),
        Term::Neg(n) => match &**n {
            Term::Num(n) => n.parse::<i64>().ok().map(|i| Seg::Index(-i)),
            _ => None,
        },
        _ => None,
    }
}

/// A term that does not look at its input: built from constants,
/// variables, `now` and `env`.
fn constant(t: &Term<&str>) -> bool {
    match t {
        Term::Num(_) | Term::Var(_) | Term::Arr(None) => true,
        Term::Str(_, parts) => parts.iter().all(|p| match p {
            StrPart::Term(t) => constant(t),
            _ => true,
        }),
        Term::Arr(Some(t)) | Term::Neg(t) => constant(t),
        Term::Obj(entries) => entries.iter().all(|(k, v)| match v {
            Some(v) => constant(k) && constant(v),
            // `{$x}` is `{x: $x}`; `{a}` is `{a: .a}`.
            None => matches!(k, Term::Var(_)),
        }),
        Term::BinOp(l, op, r) => {
            matches!(
                op,
                BinaryOp::Pipe(None)
                    | BinaryOp::Comma
                    | BinaryOp::Alt
                    | BinaryOp::Or
                    | BinaryOp::And
                    | BinaryOp::Math(_)
                    | BinaryOp::Cmp(_)
            ) && constant(l)
                && constant(r)
        }
        Term::Call(f, args) => {
            args.is_empty()
                && matches!(
                    *f,
                    "now" | "null" | "true" | "false" | "env" | "empty" | "nan" | "infinite"
                )
        }
        Term::Path(head, path) => {
            constant(head)
                && path.0.iter().all(|(part, _)| match part {
                    Part::Index(i) => constant(i),
                    Part::Range(a, b) => a.iter().chain(b.iter()).all(constant),
                })
        }
        _ => false,
    }
}

/// Calls that read input or write side output: a filter holding one is never
/// run twice.
const LOUD: &[&str] = &[
    "debug",
    "stderr",
    "input",
    "inputs",
    "halt",
    "halt_error",
    "input_line_number",
    "input_filename",
    "get_search_list",
    "get_prog_origin",
    "get_jq_origin",
];

/// A filter of its input alone that can be run twice unseen: no call in
/// [`LOUD`] (by any name that could reach one: definitions are refused).
pub(super) fn quiet(t: &Term<&str>) -> bool {
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => true,
        Term::Arr(None) => true,
        Term::Str(_, parts) => parts.iter().all(|p| match p {
            StrPart::Term(t) => quiet(t),
            _ => true,
        }),
        Term::Arr(Some(t)) | Term::Neg(t) | Term::Label(_, t) => quiet(t),
        Term::Obj(entries) => entries
            .iter()
            .all(|(k, v)| quiet(k) && v.as_ref().is_none_or(quiet)),
        Term::BinOp(l, op, r) => {
            let pattern_ok = match op {
                BinaryOp::Pipe(Some(p)) => pattern_quiet(p),
                _ => true,
            };
            pattern_ok && quiet(l) && quiet(r)
        }
        Term::Fold(_, xs, p, args) => quiet(xs) && pattern_quiet(p) && args.iter().all(quiet),
        Term::TryCatch(t, c) => quiet(t) && c.as_deref().is_none_or(quiet),
        Term::IfThenElse(branches, other) => {
            branches.iter().all(|(c, t)| quiet(c) && quiet(t)) && other.as_deref().is_none_or(quiet)
        }
        // A definition could give a quiet name to a loud filter, or rename
        // a builtin: not worth telling apart.
        Term::Def(..) => false,
        Term::Call(f, args) => !LOUD.contains(f) && args.iter().all(quiet),
        Term::Path(head, path) => {
            quiet(head)
                && path.0.iter().all(|(part, _)| match part {
                    Part::Index(i) => quiet(i),
                    Part::Range(a, b) => a.iter().chain(b.iter()).all(quiet),
                })
        }
    }
}

fn pattern_quiet(p: &jaq_core::load::parse::Pattern<&str>) -> bool {
    use jaq_core::load::parse::Pattern;
    match p {
        Pattern::Var(_) => true,
        Pattern::Arr(items) => items.iter().all(pattern_quiet),
        Pattern::Obj(entries) => entries.iter().all(|(k, v)| quiet(k) && pattern_quiet(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.as_bytes().to_vec())
    }

    #[test]
    fn recognises_the_path_updates() {
        for (code, path, need) in [
            (".a.b = 1", vec![key("a"), key("b")], Need::Opaque),
            (".a.b |= . + 1", vec![key("a"), key("b")], Need::Concat),
            (".a.b |= tostring", vec![key("a"), key("b")], Need::Full),
            (".events += [$e]", vec![key("events")], Need::Concat),
            (".events |= . + [$e]", vec![key("events")], Need::Concat),
            (".a -= [1]", vec![key("a")], Need::Full),
            ("del(.a.b)", vec![key("a"), key("b")], Need::Opaque),
            (".a.b //= 3", vec![key("a"), key("b")], Need::Opaque),
            (
                "setpath([\"a\", 0]; now)",
                vec![key("a"), Seg::Index(0)],
                Need::Opaque,
            ),
            (
                ".[\"x y\"][-1] = $__loc__",
                vec![key("x y"), Seg::Index(-1)],
                Need::Opaque,
            ),
        ] {
            let spine = Spine::for_update(code).unwrap_or_else(|| panic!("{code}"));
            let mut want = Node::new(Need::Opaque);
            want.add(&path, need);
            assert_eq!(spine.root, want, "{code}");
        }
        let chain = Spine::for_update(".a = 1 | .b += 2 | del(.c)").unwrap();
        assert_eq!(chain.root.children.len(), 3);
    }

    #[test]
    fn refuses_everything_else() {
        for code in [
            ".",
            ".a",
            ".a = .b",
            ".a += .b",
            ".a |= debug",
            ".a |= (input)",
            ".[] = 1",
            ".a?.b = 1",
            ".a[1:] = []",
            "def f: 1; .a = f",
            ".a = length",
            "{a} as $x | .b = $x",
            ".a = 1 | .b",
            "del(.a[0]) | .a[0] |= 1",
            "map(.x)",
            "setpath([\"a\"]; .b)",
            ".a = {b}",
            ".a.b = 1, .c = 2",
        ] {
            assert_eq!(Spine::for_update(code), None, "{code}");
        }
    }

    #[test]
    fn recognises_path_reads() {
        let r = Spine::for_read(".events | length").unwrap();
        assert_eq!(r.root.children[0].1.need, Need::Shallow);
        let r = Spine::for_read(".events[-1]").unwrap();
        assert_eq!(r.root.children[0].1.children[0].1.need, Need::Full);
        let r = Spine::for_read(".events | map(.x)").unwrap();
        assert_eq!(r.root.children[0].1.need, Need::Full);
        for code in [
            ".",
            "length",
            ".a | debug",
            ".a, .b",
            ".. | .x?",
            ".a | input",
        ] {
            assert_eq!(Spine::for_read(code), None, "{code}");
        }
    }
}
