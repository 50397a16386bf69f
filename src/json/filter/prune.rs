//! Parse and compile only the definitions a filter can reach.
//!
//! jaq compiles every definition it is given, and jq's standard library plus
//! jsafe's own jq definitions are a few hundred of them: parsing them all
//! cost about 2 million instructions on every filtered run, and compiling
//! them all 3.5 million more. A filter reaches only the definitions whose
//! names it mentions, and those they call in turn; the rest can be left out
//! without changing what it means.
//!
//! build.rs splits the definitions into a table at build time ([`TableDef`]:
//! name, arity, text, the names the body mentions), so a run walks that table
//! and parses the text of only the definitions it keeps.
//!
//! The names a filter mentions are taken from its text (every word that could
//! be a name, strings and comments included: a name too many costs a
//! definition compiled for nothing, never a wrong result); a definition's are
//! taken the same way from its body at build time. A definition sees only the
//! definitions before it (and itself), so one pass from the last to the first
//! collects everything that is reachable, in order, whatever the arity: a
//! name kept keeps every definition of that name.

use std::collections::HashSet;

/// One top-level jq definition, split out of its source by build.rs.
#[derive(Debug)]
pub(super) struct TableDef {
    pub name: &'static str,
    pub arity: usize,
    /// The definition's source, `def name...: body;`.
    pub text: &'static str,
    /// Every name its body mentions that could be a call (sorted).
    pub calls: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/jq_defs.rs"));

/// jaq's definitions (jaq-core's, jaq-std's, jaq-json's), in order.
pub(super) fn jaq_defs() -> &'static [TableDef] {
    JAQ_DEFS
}

/// jsafe's own definitions (defs.jq), in order; they come after jaq's.
pub(super) fn own_defs() -> &'static [TableDef] {
    OWN_DEFS
}

/// The definitions of `defs` (in their order) that the filter `code` can
/// reach, and every name that the filter and those definitions mention (the
/// natives a run can call are among them).
pub(super) fn reachable<'d>(
    defs: &[&'d TableDef],
    code: &'d str,
) -> (Vec<&'d TableDef>, HashSet<&'d str>) {
    let mut needed: HashSet<&str> = words(code).collect();
    let mut keep = vec![false; defs.len()];
    for (i, def) in defs.iter().enumerate().rev() {
        if needed.contains(def.name) {
            keep[i] = true;
            needed.extend(def.calls.iter().copied());
        }
    }
    let kept = defs
        .iter()
        .zip(keep)
        .filter_map(|(d, k)| k.then_some(*d))
        .collect();
    (kept, needed)
}

/// Every word of `code` that could name a definition or a format (`name`,
/// `@name`; `ns::name` gives `ns` and `name`).
fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@'))
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    use jaq_core::load::lex::StrPart;
    use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
    use jaq_core::path::Part;

    fn parse(src: &str) -> Vec<Def<&str>> {
        jaq_core::load::parse(src, |p| p.defs()).unwrap()
    }

    fn names(d: &[&TableDef]) -> Vec<String> {
        d.iter()
            .map(|d| format!("{}/{}", d.name, d.arity))
            .collect()
    }

    fn leak(d: &[(&'static str, usize, &'static [&'static str])]) -> Vec<&'static TableDef> {
        d.iter()
            .map(|&(name, arity, calls)| {
                &*Box::leak(Box::new(TableDef {
                    name,
                    arity,
                    text: "",
                    calls,
                }))
            })
            .collect()
    }

    #[test]
    fn keeps_what_is_reached_in_order_and_every_arity_of_a_name() {
        // def a: 1; def b: a; def c: 2; def d(f): f | b; def d: d(.); def e: "\(c)";
        let d = leak(&[
            ("a", 0, &[]),
            ("b", 0, &["a"]),
            ("c", 0, &[]),
            ("d", 1, &["b", "f"]),
            ("d", 0, &["d"]),
            ("e", 0, &["c"]),
        ]);
        let names_of = |code| names(&reachable(&d, code).0);
        assert_eq!(names_of("d"), ["a/0", "b/0", "d/1", "d/0"]);
        assert_eq!(names_of(".x | e"), ["c/0", "e/0"]);
        assert_eq!(names_of(". + 1"), Vec::<String>::new());
        // A name in a string or a comment keeps it too: harmless.
        assert_eq!(names_of("\"a\" # c"), ["a/0", "c/0"]);
        // Words run up to any character a name cannot hold.
        assert_eq!(names_of(".[:a]|.[c:]"), ["a/0", "c/0"]);
        let (_, needed) = reachable(&d, "e | length");
        assert!(needed.contains("length") && needed.contains("c") && !needed.contains("a"));
    }

    /// The table build.rs made holds exactly the definitions jaq's own
    /// `defs()` give (so the copies in jaq/ are those of the jaq version
    /// built against) and jsafe's defs.jq, one parsed definition per entry
    /// with the entry's name and arity.
    #[test]
    fn the_table_is_the_definitions_jaq_and_defs_jq_give() {
        let whole = |t: &[TableDef]| t.iter().map(|d| d.text).collect::<Vec<_>>().join("\n");
        let jaq_text = whole(jaq_defs());
        let from_table = format!("{:?}", parse(&jaq_text));
        let from_jaq = format!(
            "{:?}",
            jaq_core::defs()
                .chain(jaq_std::defs())
                .chain(jaq_json::defs())
                .collect::<Vec<_>>()
        );
        assert_eq!(from_table, from_jaq);
        let own_text = whole(own_defs());
        assert_eq!(
            format!("{:?}", parse(&own_text)),
            format!("{:?}", parse(include_str!("defs.jq")))
        );
        for d in jaq_defs().iter().chain(own_defs()) {
            let parsed = parse(d.text);
            assert_eq!(parsed.len(), 1, "{}", d.text);
            assert_eq!((parsed[0].name, parsed[0].args.len()), (d.name, d.arity));
        }
        assert!(jaq_defs().len() > 100 && own_defs().len() > 30);
    }

    /// Every name a definition calls (from its parsed body) is among the
    /// names build.rs listed for it.
    #[test]
    fn the_table_lists_every_call() {
        for d in jaq_defs().iter().chain(own_defs()) {
            let parsed = parse(d.text);
            let mut calls = Vec::new();
            term(&parsed[0].body, &mut calls);
            for c in calls {
                assert!(d.calls.contains(&c), "{} calls {c}", d.text);
            }
        }
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
}
