//! jq syntax that jaq's parser does not take, rewritten into jq that it does,
//! on jaq's own token trees (so strings, comments and nesting are never
//! guessed at):
//!
//! - `E as P1 ?// P2 ?// ... | BODY` (destructuring alternatives) becomes
//!   `E as $v | try ($v as P1 | <other variables null> | BODY) catch (...)`:
//!   an error in an alternative's body moves on to the next alternative, the
//!   last one's error propagates, every variable of every pattern is bound.
//! - `$__loc__` becomes `{"file":"<top-level>","line":N}`.
//! - `{$name: pattern}` in a destructuring pattern binds `$name` too.
//! - `reduce`/`foreach` take a whole term before `as` (`reduce .[] / .[] as $x`).
//!
//! And what jq refuses at compile time is refused here too: object keys that
//! are constant non-strings (`{(0): 1}`), module metadata that is not a
//! constant object, and `import`/`include` (jsafe loads no jq modules).
//!
//! [`rewrite`] returns `None` when nothing needed rewriting, so error
//! positions in ordinary filters refer to the text as the user wrote it.

use jaq_core::load::Lexer;
use jaq_core::load::lex::{StrPart, Tok, Token};

/// The rewritten program, `None` if it is unchanged, or a compile error.
pub(super) fn rewrite(code: &str) -> Result<Option<String>, String> {
    let Ok(tokens) = Lexer::new(code).lex() else {
        // jaq's own parser reports lexing errors with positions.
        return Ok(None);
    };
    check_header(&tokens)?;
    let mut w = Writer {
        code,
        changed: false,
        next_var: 0,
    };
    let mut out = String::with_capacity(code.len() + 16);
    w.list(&tokens, Ctx::Top, &mut out)?;
    Ok(w.changed.then_some(out))
}

fn check_header(tokens: &[Token<&str>]) -> Result<(), String> {
    let mut rest = tokens;
    if let [Token("module", _), meta, tail @ ..] = rest {
        if !matches!(meta, Token(s, Tok::Block(_)) if s.starts_with('{')) {
            return Err("module metadata must be a constant object".into());
        }
        rest = tail;
        if let [Token(";", _), tail @ ..] = rest {
            rest = tail;
        }
    }
    if let [Token(kw @ ("import" | "include"), _), ..] = rest {
        return Err(format!(
            "`{kw}` is not supported: jsafe filters cannot load jq modules; put the definitions into the filter"
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    /// Inside `{ ... }` that builds an object.
    Object,
    /// Inside `( ... )` or `[ ... ]`.
    Group,
}

struct Writer<'s> {
    code: &'s str,
    changed: bool,
    next_var: usize,
}

fn is(t: Option<&Token<&str>>, s: &str) -> bool {
    matches!(t, Some(Token(x, _)) if *x == s)
}

fn block_kind(t: &Token<&str>) -> Option<char> {
    match t {
        Token(s, Tok::Block(_)) => s.chars().next(),
        _ => None,
    }
}

/// `(0)`, `(null)`, `(true)`, `([])`: a key jq rejects when compiling.
fn constant_non_string_key(t: &Token<&str>) -> bool {
    match t {
        Token(s, Tok::Block(inner)) if s.starts_with('(') => {
            matches!(
                &inner[..],
                [Token(_, Tok::Num), Token(")", _)]
                    | [Token("null" | "true" | "false", _), Token(")", _)]
            ) || matches!(&inner[..], [b @ Token(_, Tok::Block(_)), Token(")", _)] if matches!(block_kind(b), Some('[' | '{')))
        }
        _ => false,
    }
}

/// Variables a pattern binds (not those used inside `(key)` expressions).
fn pattern_vars<'s>(t: &Token<&'s str>, out: &mut Vec<&'s str>) {
    match t {
        Token(s, Tok::Var) if !out.contains(s) => out.push(s),
        Token(s, Tok::Block(inner)) if !s.starts_with('(') => {
            for x in inner {
                pattern_vars(x, out);
            }
        }
        _ => {}
    }
}

impl<'s> Writer<'s> {
    fn line_of(&self, part: &str) -> usize {
        let start = jaq_core::load::span(self.code, part).start;
        self.code
            .get(..start)
            .map_or(1, |s| s.bytes().filter(|b| *b == b'\n').count() + 1)
    }

    fn loc(&mut self, part: &str) -> String {
        self.changed = true;
        format!(
            "{{\"file\":\"<top-level>\",\"line\":{}}}",
            self.line_of(part)
        )
    }

    /// A token list of one nesting level.
    fn list(&mut self, toks: &[Token<&'s str>], ctx: Ctx, out: &mut String) -> Result<(), String> {
        let mut i = 0;
        let mut entry_start = true;
        while let Some(t) = toks.get(i) {
            let Token(s, _) = t;
            if ctx == Ctx::Object && entry_start {
                if constant_non_string_key(t) && is(toks.get(i + 1), ":") {
                    return Err("Object keys must be strings".into());
                }
                if *s == "$__loc__" && (is(toks.get(i + 1), ",") || is(toks.get(i + 1), "}")) {
                    let loc = self.loc(s);
                    out.push_str(&format!("\"__loc__\": {loc} "));
                    i += 1;
                    entry_start = false;
                    continue;
                }
            }
            entry_start = ctx == Ctx::Object && *s == ",";
            match *s {
                "reduce" | "foreach" => {
                    let Some(as_at) = matching_as(toks, i) else {
                        self.token(t, ctx, out)?;
                        out.push(' ');
                        i += 1;
                        continue;
                    };
                    if as_at > i + 2 {
                        self.changed = true;
                    }
                    out.push_str(s);
                    out.push_str(" (");
                    self.list(&toks[i + 1..as_at], Ctx::Group, out)?;
                    out.push_str(") as ");
                    if let Some(p) = toks.get(as_at + 1) {
                        self.pattern(p, out)?;
                    }
                    i = as_at + 2;
                }
                "as" => {
                    let mut pats = Vec::new();
                    let mut k = i + 1;
                    if let Some(p) = toks.get(k) {
                        pats.push(p);
                        k += 1;
                    }
                    while is(toks.get(k), "?") && is(toks.get(k + 1), "//") {
                        if let Some(p) = toks.get(k + 2) {
                            pats.push(p);
                        }
                        k += 3;
                    }
                    if pats.len() > 1 && is(toks.get(k), "|") {
                        let end = body_end(toks, k + 1, ctx);
                        self.alternatives(&pats, &toks[k + 1..end], ctx, out)?;
                        i = end;
                    } else {
                        out.push_str("as ");
                        for (n, p) in pats.iter().enumerate() {
                            if n > 0 {
                                out.push_str(" ?// ");
                            }
                            self.pattern(p, out)?;
                        }
                        i = k;
                    }
                }
                _ => {
                    self.token(t, ctx, out)?;
                    out.push(' ');
                    i += 1;
                }
            }
        }
        Ok(())
    }

    fn alternatives(
        &mut self,
        pats: &[&Token<&'s str>],
        body: &[Token<&'s str>],
        ctx: Ctx,
        out: &mut String,
    ) -> Result<(), String> {
        self.changed = true;
        let var = format!("$__jsafe_alt{}", self.next_var);
        self.next_var += 1;
        let mut all_vars = Vec::new();
        for p in pats {
            pattern_vars(p, &mut all_vars);
        }
        let mut body_text = String::new();
        self.list(
            body,
            if ctx == Ctx::Object { Ctx::Group } else { ctx },
            &mut body_text,
        )?;
        out.push_str(&format!("as {var} | "));
        let last = pats.len() - 1;
        for (n, p) in pats.iter().enumerate() {
            let mut own = Vec::new();
            pattern_vars(p, &mut own);
            if n < last {
                out.push_str("try (");
            } else {
                out.push('(');
            }
            out.push_str(&format!("{var} as "));
            self.pattern(p, out)?;
            out.push_str(" | ");
            for v in all_vars.iter().filter(|v| !own.contains(v)) {
                out.push_str(&format!("null as {v} | "));
            }
            out.push('(');
            out.push_str(&body_text);
            out.push_str("))");
            if n < last {
                out.push_str(" catch ");
            }
        }
        out.push(' ');
        Ok(())
    }

    /// A destructuring pattern: `$x`, `[P, ...]`, `{$x, key: P, $y: P, (f): P}`.
    fn pattern(&mut self, t: &Token<&'s str>, out: &mut String) -> Result<(), String> {
        match t {
            Token(s, Tok::Block(inner)) if s.starts_with('[') => {
                out.push('[');
                for x in inner {
                    match x {
                        Token(_, Tok::Var | Tok::Block(_)) => self.pattern(x, out)?,
                        _ => self.token(x, Ctx::Group, out)?,
                    }
                    out.push(' ');
                }
            }
            Token(s, Tok::Block(inner)) if s.starts_with('{') => {
                out.push('{');
                let mut i = 0;
                let mut entry_start = true;
                while let Some(x) = inner.get(i) {
                    let after_colon = i > 0 && is(inner.get(i - 1), ":");
                    if entry_start && constant_non_string_key(x) {
                        return Err("Object keys must be strings".into());
                    }
                    if entry_start && matches!(x, Token(_, Tok::Var)) && is(inner.get(i + 1), ":") {
                        // `$name: P` binds $name and destructures .name with P.
                        self.changed = true;
                        let name = &x.0[1..];
                        out.push_str(&format!("{}, \"{name}\": ", x.0));
                        i += 2;
                        entry_start = false;
                        if let Some(p) = inner.get(i) {
                            self.pattern(p, out)?;
                            out.push(' ');
                            i += 1;
                        }
                        continue;
                    }
                    if after_colon {
                        self.pattern(x, out)?;
                    } else {
                        self.token(x, Ctx::Group, out)?;
                    }
                    out.push(' ');
                    entry_start = is(Some(x), ",");
                    i += 1;
                }
            }
            other => self.token(other, Ctx::Group, out)?,
        }
        Ok(())
    }

    fn token(&mut self, t: &Token<&'s str>, _ctx: Ctx, out: &mut String) -> Result<(), String> {
        match t {
            Token(s, Tok::Block(inner)) => {
                let open = s.chars().next().unwrap_or('(');
                out.push(open);
                let ctx = if open == '{' { Ctx::Object } else { Ctx::Group };
                self.list(inner, ctx, out)?;
                // No space after the closing delimiter: inside a string
                // interpolation it would become part of the string.
                if out.ends_with(' ') {
                    out.pop();
                }
            }
            Token(s, Tok::Str(parts)) => {
                // A format prefix is its own token; this is the quoted part.
                let _ = s;
                out.push('"');
                for part in parts {
                    match part {
                        StrPart::Str(text) => out.push_str(text),
                        StrPart::Char(c) => push_escaped(*c, out),
                        StrPart::Term(term) => {
                            out.push('\\');
                            self.token(term, Ctx::Group, out)?;
                        }
                    }
                }
                out.push('"');
            }
            Token(s, Tok::Var) if *s == "$__loc__" => {
                let loc = self.loc(s);
                out.push_str(&loc);
            }
            Token(s, _) => out.push_str(s),
        }
        Ok(())
    }
}

fn push_escaped(c: char, out: &mut String) {
    if let Some(escape) = super::val::short_escape(c) {
        out.push_str(escape);
        return;
    }
    let mut buf = [0u16; 2];
    for unit in c.encode_utf16(&mut buf) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// The `as` that belongs to the `reduce`/`foreach` at `start`.
fn matching_as(toks: &[Token<&str>], start: usize) -> Option<usize> {
    let mut open = 0usize;
    for (i, Token(s, _)) in toks.iter().enumerate().skip(start) {
        match *s {
            "reduce" | "foreach" => open += 1,
            "as" => {
                open = open.saturating_sub(1);
                if open == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the body of `... as P | BODY` ends in this token list.
fn body_end(toks: &[Token<&str>], from: usize, ctx: Ctx) -> usize {
    // `if ... end` and `def ...;` nest at this level without a block.
    let (mut ifs, mut defs) = (0usize, 0usize);
    for (i, Token(s, _)) in toks.iter().enumerate().skip(from) {
        match *s {
            "if" => ifs += 1,
            "end" if ifs > 0 => ifs -= 1,
            "def" => defs += 1,
            ";" if defs > 0 => defs -= 1,
            _ if ifs > 0 => {}
            ";" | "then" | "elif" | "else" | "end" | "catch" | ")" | "]" | "}" => return i,
            "," if ctx == Ctx::Object => return i,
            _ => {}
        }
    }
    toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_ordinary_filters_alone() {
        for code in [".a", ".[] | {a, b: .c}", ". as [$x] | $x", "\"a\\(1)\""] {
            assert_eq!(rewrite(code), Ok(None), "{code}");
        }
    }

    #[test]
    fn refuses_what_jq_refuses() {
        assert!(rewrite("{(0):1}").is_err());
        assert!(rewrite("{a: 1, (null): 2}").is_err());
        assert!(rewrite(". as {(true): $x} | $x").is_err());
        assert!(rewrite("module []; 0").is_err());
        assert!(rewrite("import \"a\" as a; 1").is_err());
        assert!(rewrite("include \"a\"; 1").is_err());
        assert_eq!(rewrite("{(\"a\"): 1}"), Ok(None));
    }
}
