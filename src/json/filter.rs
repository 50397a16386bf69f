//! jq filters (jaq) over [`Value`]s.
//!
//! Promises: a filter is compiled before any lock is taken ([`Filter::compile`]),
//! `--arg`/`--argjson` become `$NAME` variables, and numbers and strings the
//! filter did not touch come back with their original text (see
//! [`keep_source_text`]). Compiling and running happen on the calling thread: a
//! worker thread's hand-offs cost more than the filter itself. A time limit is
//! the caller's business (`update` arms a watchdog that ends the process, which
//! releases the file's lock with it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::{Num, Val};

use super::{MAX_DEPTH, Map, Number, Str, Value};

/// Why a filter failed; every case is bad input (exit 4) for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The filter does not parse or names something undefined.
    Compile(String),
    /// The filter raised an error while running.
    Runtime(String),
    /// The filter ran longer than allowed.
    Timeout(Duration),
    /// A result cannot be stored as JSON (non-string key, too deep, …).
    Output(String),
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::Compile(m) => write!(f, "filter does not compile: {m}"),
            FilterError::Runtime(m) => write!(f, "filter failed: {m}"),
            FilterError::Timeout(d) => write!(
                f,
                "filter still running after {}s; aborted (raise --filter-timeout if this is expected)",
                d.as_secs_f64()
            ),
            FilterError::Output(m) => write!(f, "filter result cannot be stored: {m}"),
        }
    }
}

/// jaq deletes an object member with a swap-remove: the last member jumps into
/// the hole, so `del(.a)` would reorder the file. These definitions delete the
/// way jq does (paths sorted, deepest and last first), keeping member order.
const ORDER_KEEPING_DEFS: &str = r#"
def jsafe_delete_member($k):
  if type == "object" and ($k | type) == "string"
  then with_entries(select(.key != $k))
  else getpath([$k]) |= empty end;
def delpaths($paths):
  reduce ($paths | unique | reverse)[] as $p (.;
    if ($p | length) == 0 then null
    elif getpath($p[:-1]) == null then .
    else getpath($p[:-1]) |= jsafe_delete_member($p[-1]) end);
def del(f): delpaths([path(f)]);
"#;

/// A compiled filter with its variables' values.
pub struct Filter {
    compiled: jaq_core::Filter<data::JustLut<Val>>,
    values: Vec<Val>,
}

impl Filter {
    /// Compile `code` with global variables `vars` (names without `$`).
    pub fn compile(code: &str, vars: Vec<(String, Value)>) -> Result<Filter, FilterError> {
        let _compiling = FilterRunning::start();
        let names: Vec<String> = vars.iter().map(|(n, _)| format!("${n}")).collect();
        let values: Vec<Val> = vars.iter().map(|(_, v)| to_val(v)).collect();

        // Later definitions shadow earlier ones: ours replace jaq's `del`/`delpaths`.
        let own_defs = jaq_core::load::parse(ORDER_KEEPING_DEFS, |p| p.defs()).unwrap_or_default();
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(own_defs);
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errs| FilterError::Compile(load_errors(code, &errs)))?;
        let compiled = Compiler::default()
            .with_funs(funs)
            .with_global_vars(names.iter().map(|s| s.as_str()))
            .compile(modules)
            .map_err(|errs| {
                let msg = errs
                    .iter()
                    .flat_map(|(_, es)| es.iter())
                    .map(|(name, undef)| format!("undefined {} '{name}'", undef.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                FilterError::Compile(msg)
            })?;
        Ok(Filter { compiled, values })
    }

    /// Run the filter on `input`: all its outputs, or its first error.
    pub fn run(&self, input: Value) -> Result<Vec<Value>, FilterError> {
        let _running = FilterRunning::start();
        let ctx =
            Ctx::<data::JustLut<Val>>::new(&self.compiled.lut, Vars::new(self.values.clone()));
        let mut outputs = Vec::new();
        for out in self.compiled.id.run((ctx, to_val(&input))).map(unwrap_valr) {
            let v = out.map_err(|e| FilterError::Runtime(e.to_string()))?;
            outputs.push(from_val(&v, 0)?);
        }
        for out in &mut outputs {
            keep_source_text(&input, out);
        }
        Ok(outputs)
    }
}

/// True while a filter compiles or runs in this process: a stack overflow then
/// is the filter's doing (bad input), which the binary's fault handler reports.
pub static RUNNING: AtomicBool = AtomicBool::new(false);

/// Holds [`RUNNING`] true while it lives.
struct FilterRunning;

impl FilterRunning {
    fn start() -> FilterRunning {
        RUNNING.store(true, Ordering::Relaxed);
        FilterRunning
    }
}

impl Drop for FilterRunning {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Relaxed);
    }
}

fn load_errors<P>(code: &str, errs: &jaq_core::load::Errors<&str, P>) -> String {
    use jaq_core::load::Error;
    let mut msgs = Vec::new();
    for (_, e) in errs {
        match e {
            Error::Io(es) => msgs.extend(es.iter().map(|(p, m)| format!("{p}: {m}"))),
            Error::Lex(es) => msgs.extend(es.iter().map(|(expect, rest)| {
                format!("expected {} at {}", expect.as_str(), position(code, rest))
            })),
            Error::Parse(es) => msgs.extend(es.iter().map(|(expect, rest)| {
                format!("expected {} at {}", expect.as_str(), position(code, rest))
            })),
        }
    }
    if msgs.is_empty() {
        msgs.push("syntax error".into());
    }
    msgs.join("; ")
}

/// "column N" (1-based, in characters) of `part`, a slice of `whole`.
fn position(whole: &str, part: &str) -> String {
    let start = jaq_core::load::span(whole, part).start.min(whole.len());
    let col = whole.get(..start).map_or(start, |s| s.chars().count()) + 1;
    if part.is_empty() {
        format!("end of filter (column {col})")
    } else {
        format!("column {col}")
    }
}

fn to_val(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(to_num(n.as_str())),
        Value::String(s) => Val::from(s.value.clone()),
        Value::Array(a) => Val::Arr(jaq_json::Rc::new(a.iter().map(to_val).collect())),
        Value::Object(m) => Val::obj(
            m.iter()
                .map(|(k, v)| (Val::from(k.clone()), to_val(v)))
                .collect(),
        ),
    }
}

/// Integers jaq can compute with exactly become integers; every other number keeps
/// its text (jaq computes with it as a float only when an operation touches it).
fn to_num(text: &str) -> Num {
    match Num::from_str_radix(text, 10) {
        Some(n) if n.to_string() == text => n,
        _ => Num::Dec(jaq_json::Rc::new(text.to_owned())),
    }
}

fn from_val(v: &Val, depth: usize) -> Result<Value, FilterError> {
    if depth > MAX_DEPTH {
        return Err(FilterError::Output(format!(
            "nesting deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => from_num(n),
        Val::TStr(b) | Val::BStr(b) => Value::String(Str::new(String::from_utf8_lossy(b))),
        Val::Arr(a) => Value::Array(
            a.iter()
                .map(|x| from_val(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Val::Obj(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, x) in o.iter() {
                let key = match k {
                    Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                    other => {
                        return Err(FilterError::Output(format!(
                            "object key {other} is not a string"
                        )));
                    }
                };
                m.insert(key, from_val(x, depth + 1)?);
            }
            Value::Object(m)
        }
    })
}

fn from_num(n: &Num) -> Value {
    match n {
        Num::Float(f) if f.is_nan() => Value::Null,
        Num::Float(f) if f.is_infinite() => {
            let sign = if *f < 0.0 { "-" } else { "" };
            number(&format!("{sign}1.7976931348623157e+308"))
        }
        Num::Dec(text) => Number::from_text(text)
            .map(Value::Number)
            .unwrap_or_else(|| number(&Num::from_dec_str(text).to_string())),
        other => number(&other.to_string()),
    }
}

fn number(text: &str) -> Value {
    Number::from_text(text).map_or(Value::Null, Value::Number)
}

/// Carry the source text of strings over from `old` to the parts of `new` that are
/// equal to what stood at the same place in `old`, so an untouched `"caf\u00e9"`
/// is written back with its escape.
pub fn keep_source_text(old: &Value, new: &mut Value) {
    match (old, new) {
        (Value::String(o), Value::String(n)) if o.value == n.value && n.raw.is_none() => {
            n.raw.clone_from(&o.raw);
        }
        (Value::Array(o), Value::Array(n)) => {
            for (a, b) in o.iter().zip(n.iter_mut()) {
                keep_source_text(a, b);
            }
        }
        (Value::Object(o), Value::Object(n)) => {
            for (k, b) in n.iter_mut() {
                if let Some(a) = o.get(k) {
                    keep_source_text(a, b);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{Style, parse, render};

    fn run(code: &str, input: &str) -> Result<Vec<String>, FilterError> {
        let f = Filter::compile(code, vec![])?;
        let v = parse(input.as_bytes()).map_err(|e| FilterError::Output(e.to_string()))?;
        let style = Style::detect(input.as_bytes());
        Ok(f.run(v)?
            .iter()
            .map(|v| String::from_utf8_lossy(&render(v, &style)).into_owned())
            .collect())
    }

    #[test]
    fn increments_and_keeps_untouched_number_text() {
        let out = run(
            ".n += 1",
            r#"{"a":1.10,"big":12345678901234567890123,"e":1e3,"n":41}"#,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![r#"{"a":1.10,"big":12345678901234567890123,"e":1e3,"n":42}"#]
        );
    }

    #[test]
    fn keeps_string_escapes_it_did_not_touch() {
        let out = run(".x = 2", r#"{"s": "caf\u00e9", "x": 1}"#).unwrap();
        assert_eq!(out, vec![r#"{"s": "caf\u00e9", "x": 2}"#]);
    }

    #[test]
    fn variables() {
        let f = Filter::compile(
            ".events += [$e] | .who = $u",
            vec![
                ("e".into(), parse(br#"{"event":"x"}"#).unwrap()),
                ("u".into(), Value::from("me")),
            ],
        )
        .unwrap();
        let out = f.run(parse(b"{}").unwrap()).unwrap();
        assert_eq!(
            render(&out[0], &Style::new_file()),
            b"{\n  \"events\": [\n    {\n      \"event\": \"x\"\n    }\n  ],\n  \"who\": \"me\"\n}\n"
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            Filter::compile(".a +", vec![]),
            Err(FilterError::Compile(_))
        ));
        assert!(matches!(
            Filter::compile("$nope", vec![]),
            Err(FilterError::Compile(m)) if m.contains("nope")
        ));
        assert!(
            matches!(run("error(\"boom\")", "{}"), Err(FilterError::Runtime(m)) if m.contains("boom"))
        );
        assert_eq!(run(".[]", "[1,2]").unwrap(), vec!["1", "2"]);
        assert_eq!(run("empty", "[1,2]").unwrap(), Vec::<String>::new());
        assert!(matches!(
            run("{(1): 2}", "{}"),
            Err(FilterError::Output(_)) | Err(FilterError::Runtime(_))
        ));
    }

    #[test]
    fn deleting_keeps_member_order() {
        let cases = [
            (
                r#"del(.a)"#,
                r#"{"z":1,"a":2,"m":3,"b":4}"#,
                r#"{"z":1,"m":3,"b":4}"#,
            ),
            (
                r#"del(.a, .z)"#,
                r#"{"z":1,"a":2,"m":3,"b":4}"#,
                r#"{"m":3,"b":4}"#,
            ),
            (
                r#"del(.x.a)"#,
                r#"{"x":{"a":1,"b":2,"c":3},"y":0}"#,
                r#"{"x":{"b":2,"c":3},"y":0}"#,
            ),
            (
                r#"del(.[] | select(. == 2))"#,
                r#"{"a":2,"b":1,"c":2,"d":3}"#,
                r#"{"b":1,"d":3}"#,
            ),
            (r#"del(.[0, 2])"#, r#"[1,2,3,4]"#, r#"[2,4]"#),
            (r#"del(.[1:3])"#, r#"[1,2,3,4]"#, r#"[1,4]"#),
            (r#"del(.missing.deeper)"#, r#"{"a":1}"#, r#"{"a":1}"#),
            (
                r#"delpaths([["a"], ["c", 0]])"#,
                r#"{"a":1,"b":2,"c":[5,6]}"#,
                r#"{"b":2,"c":[6]}"#,
            ),
            (r#"del(.)"#, r#"{"a":1}"#, r#"null"#),
        ];
        for (code, input, want) in cases {
            assert_eq!(run(code, input).unwrap(), vec![want.to_owned()], "{code}");
        }
        assert!(matches!(
            run("del(.a.b)", r#"{"a":1}"#),
            Err(FilterError::Runtime(_))
        ));
    }
}
