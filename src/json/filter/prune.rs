//! Compile only the definitions a filter can reach.
//!
//! jaq compiles every definition it is given, and jq's standard library plus
//! jsafe's own jq definitions are a few hundred of them: compiling them all
//! cost about 3.5 million instructions on every run, more than the rest of a
//! small `read` or `update` together. A filter reaches only the definitions
//! whose names it mentions, and those they call in turn; the rest can be left
//! out without changing what it means.
//!
//! The names a filter mentions are taken from its text (every word that could
//! be a name, strings and comments included: a name too many costs a
//! definition compiled for nothing, never a wrong result). A definition sees
//! only the definitions before it (and itself), so one pass from the last to
//! the first collects everything that is reachable, in order, whatever the
//! arity: a name kept keeps every definition of that name.

use std::collections::HashSet;

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::path::Part;

/// The definitions of `defs` (in their order) that the filter `code` can
/// reach.
pub fn reachable<'a>(defs: Vec<Def<&'a str>>, code: &str) -> Vec<Def<&'a str>> {
    let mut needed: HashSet<&str> = words(code).collect();
    let mut keep = vec![false; defs.len()];
    for (i, def) in defs.iter().enumerate().rev() {
        if needed.contains(def.name) {
            keep[i] = true;
            let mut calls = Vec::new();
            term(&def.body, &mut calls);
            needed.extend(calls);
        }
    }
    defs.into_iter()
        .zip(keep)
        .filter_map(|(d, k)| k.then_some(d))
        .collect()
}

/// Every word of `code` that could name a definition or a format (`name`,
/// `@name`; `ns::name` gives `ns` and `name`).
fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@'))
        .filter(|w| !w.is_empty())
}

/// The names `t` calls (and the formats it applies), nested definitions
/// included.
fn term<'a>(t: &Term<&'a str>, out: &mut Vec<&'a str>) {
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => {}
        Term::Str(format, parts) => {
            if let Some(f) = format {
                out.push(f);
            }
            for p in parts {
                if let StrPart::Term(t) = p {
                    term(t, out);
                }
            }
        }
        Term::Arr(t) => {
            if let Some(t) = t {
                term(t, out);
            }
        }
        Term::Obj(entries) => {
            for (k, v) in entries {
                term(k, out);
                if let Some(v) = v {
                    term(v, out);
                }
            }
        }
        Term::Neg(t) | Term::Label(_, t) => term(t, out),
        Term::BinOp(l, op, r) => {
            if let BinaryOp::Pipe(Some(p)) = op {
                pattern(p, out);
            }
            term(l, out);
            term(r, out);
        }
        Term::Fold(_, xs, p, args) => {
            term(xs, out);
            pattern(p, out);
            for a in args {
                term(a, out);
            }
        }
        Term::TryCatch(t, catch) => {
            term(t, out);
            if let Some(c) = catch {
                term(c, out);
            }
        }
        Term::IfThenElse(branches, otherwise) => {
            for (cond, then) in branches {
                term(cond, out);
                term(then, out);
            }
            if let Some(e) = otherwise {
                term(e, out);
            }
        }
        Term::Def(defs, body) => {
            for d in defs {
                term(&d.body, out);
            }
            term(body, out);
        }
        Term::Call(name, args) => {
            out.push(name);
            for a in args {
                term(a, out);
            }
        }
        Term::Path(t, path) => {
            term(t, out);
            for (part, _) in &path.0 {
                match part {
                    Part::Index(i) => term(i, out),
                    Part::Range(from, to) => {
                        for x in [from, to].into_iter().flatten() {
                            term(x, out);
                        }
                    }
                }
            }
        }
    }
}

fn pattern<'a>(p: &Pattern<&'a str>, out: &mut Vec<&'a str>) {
    match p {
        Pattern::Var(_) => {}
        Pattern::Arr(ps) => {
            for p in ps {
                pattern(p, out);
            }
        }
        Pattern::Obj(entries) => {
            for (k, p) in entries {
                term(k, out);
                pattern(p, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(src: &'static str) -> Vec<Def<&'static str>> {
        jaq_core::load::parse(src, |p| p.defs()).unwrap()
    }

    fn names(d: &[Def<&str>]) -> Vec<String> {
        d.iter()
            .map(|d| format!("{}/{}", d.name, d.args.len()))
            .collect()
    }

    #[test]
    fn keeps_what_is_reached_in_order_and_every_arity_of_a_name() {
        let d =
            defs("def a: 1; def b: a; def c: 2; def d(f): f | b; def d: d(.); def e: \"\\(c)\";");
        assert_eq!(
            names(&reachable(d.clone(), "d")),
            ["a/0", "b/0", "d/1", "d/0"]
        );
        assert_eq!(names(&reachable(d.clone(), ".x | e")), ["c/0", "e/0"]);
        assert_eq!(names(&reachable(d.clone(), ". + 1")), Vec::<String>::new());
        // A name in a string or a comment keeps it too: harmless.
        assert_eq!(names(&reachable(d.clone(), "\"a\" # c")), ["a/0", "c/0"]);
        // Words run up to any character a name cannot hold.
        assert_eq!(names(&reachable(d, ".[:a]|.[c:]")), ["a/0", "c/0"]);
    }

    #[test]
    fn follows_every_place_a_call_can_sit() {
        let d = defs(
            "def f1: 1; def f2: 2; def f3: 3; def f4: 4; def f5: 5; def f6: 6; def f7: 7; \
             def f8: 8; def top: reduce f1 as [$x, {a: $y, (f2): $z}] (f3; . + f4) \
               | try f5 catch (if . then f6 else .[f7:] end) | @text \"\\(f8)\";",
        );
        assert_eq!(
            names(&reachable(d, "top")),
            [
                "f1/0", "f2/0", "f3/0", "f4/0", "f5/0", "f6/0", "f7/0", "f8/0", "top/0"
            ]
        );
    }
}
