//! jq filters (jaq, with jq 1.8's semantics) over [`Value`]s.
//!
//! Promises: a filter is compiled before any lock is taken ([`Filter::compile`]),
//! `--arg`/`--argjson`/... become `$NAME` variables (and `$ARGS`), `$ENV` is
//! the environment, and numbers and strings the filter did not touch come
//! back with their original text (see `convert`). Outputs are handed out
//! one at a time as the filter produces them ([`Filter::run_each`]), so a
//! generator runs in bounded memory. Compiling and running happen on the
//! calling thread. Time and memory limits are the caller's business (the
//! `jsafe` binary arms a timer and an allocation limit that end the process,
//! which releases the file's lock with it). Nothing here does I/O or keeps
//! global state: `debug`/`stderr` output goes to a callback.
//!
//! Documents are read straight into the filter's values ([`Input::parse`],
//! no `Value` tree) and outputs written straight from them
//! ([`Input::render_into`]), copying what the filter left untouched from the
//! input's bytes; [`Filter::run_input`] runs a filter on such an input.
//! [`Filter::run_each`] is the same run on a `Value`.
//!
//! Layout: `val` is the value type with jq's semantics, `natives` the
//! filters written in Rust, `defs.jq` those written in jq, `syntax` the jq
//! syntax jaq's parser lacks, `input` and `output` the way in from bytes and
//! out to bytes, `convert` the bridge to jsafe's `Value`s.

mod convert;
mod input;
mod items;
mod natives;
mod output;
mod prune;
mod spine;
mod syntax;
mod val;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::{Map, Val};

pub(crate) use convert::keep_source_text;
pub use input::Input;
pub(crate) use items::Items;
pub use natives::Side;
use natives::{Data, RunData};
pub use output::{Output, Render};
pub use spine::Spine;
use val::V;

use super::Value;

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

impl std::error::Error for FilterError {}

/// How a run ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The filter produced all its outputs.
    Finished,
    /// The caller asked to stop (e.g. stdout was closed).
    Stopped,
    /// The filter called `halt` or `halt_error` with this exit code.
    Halted(i32),
}

/// The variables a filter gets besides its input.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    /// `--arg`, `--argjson`, `--slurpfile`, `--rawfile`: `$NAME`, and `$ARGS.named`.
    pub named: Vec<(String, Value)>,
    /// `--args` / `--jsonargs`: `$ARGS.positional`.
    pub positional: Vec<Value>,
}

/// A compiled filter with its variables' values.
pub struct Filter {
    compiled: jaq_core::Filter<Data>,
    values: Vec<V>,
    env: V,
    builtins: V,
    /// Index in `values` of the variable [`Filter::set_slot`] changes.
    slot: Option<usize>,
    /// The values `input`/`inputs` hand out (see [`Filter::set_inputs`]).
    inputs: std::sync::Mutex<std::collections::VecDeque<V>>,
}

impl Filter {
    /// Compile `code` with variables `vars` (names without `$`); no `$ARGS.positional`.
    pub fn compile(code: &str, vars: Vec<(String, Value)>) -> Result<Filter, FilterError> {
        Filter::compile_with(
            code,
            &Args {
                named: vars,
                positional: Vec::new(),
            },
        )
    }

    /// Compile `code` with the given variables.
    pub(crate) fn compile_with(code: &str, args: &Args) -> Result<Filter, FilterError> {
        Filter::compile_inner(code, args, None)
    }

    /// Compile `code` with the given variables and one more, `$slot` (null
    /// until [`Filter::set_slot`] gives it a value): one compiled filter run
    /// on many inputs with a per-input variable (`update --stream`'s `$in`).
    pub(crate) fn compile_with_slot(
        code: &str,
        args: &Args,
        slot: &str,
    ) -> Result<Filter, FilterError> {
        Filter::compile_inner(code, args, Some(slot))
    }

    /// Give the slot variable (see [`Filter::compile_with_slot`]) a value for
    /// the next runs; no effect on a filter without one.
    pub(crate) fn set_slot(&mut self, value: &Value) {
        if let Some(v) = self.slot.and_then(|i| self.values.get_mut(i)) {
            *v = convert::to_val(value);
        }
    }

    /// The values `input` and `inputs` hand out, in order, across the next
    /// runs (jq's `-n` with files: the filter runs once on null and pulls
    /// the file's values itself). Without them `input` is an error and
    /// `inputs` is empty.
    pub(crate) fn set_inputs(&self, values: impl IntoIterator<Item = Value>) {
        let mut queue = self
            .inputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.clear();
        queue.extend(values.into_iter().map(|v| convert::to_val(&v)));
    }

    fn compile_inner(code: &str, args: &Args, slot: Option<&str>) -> Result<Filter, FilterError> {
        let rewritten = syntax::rewrite(code).map_err(FilterError::Compile)?;
        let code = rewritten.as_deref().unwrap_or(code);

        let mut named = Map::default();
        for (name, value) in &args.named {
            named.insert(Val::from(name.clone()), convert::to_val(value).0);
        }
        let positional: Vec<V> = args.positional.iter().map(convert::to_val).collect();
        let mut dollar_args = Map::default();
        dollar_args.insert(Val::from("positional".to_owned()), V::arr(positional).0);
        dollar_args.insert(Val::from("named".to_owned()), Val::obj(named));

        // Only what the filter can reach is parsed and compiled: the
        // definitions (from the table build.rs made, see `prune`) and the
        // natives they or the filter name.
        let own_natives: Vec<_> = natives::funs().collect();
        let replaced: BTreeSet<(&str, usize)> = own_natives
            .iter()
            .map(|(name, args, _)| (*name, args.len()))
            .chain(natives::REPLACED.iter().copied())
            .collect();
        let table: Vec<&prune::TableDef> = prune::jaq_defs()
            .iter()
            .filter(|d| !replaced.contains(&(d.name, d.arity)))
            .chain(prune::own_defs())
            .collect();
        let (kept, needed) = prune::reachable(&table, code);
        // `builtins` lists every native, reachable or not; otherwise only
        // those the filter or its definitions name are looked at.
        let listing = needed.contains("builtins");
        let wanted = |name: &str| listing || needed.contains(name);
        let jaq_natives = jaq_core::funs::<Data>()
            .chain(jaq_std::funs::<Data>())
            .filter(|(name, args, _)| wanted(name) && !replaced.contains(&(*name, args.len())));
        // Some of jaq's natives are wrapped by a jq definition of the same
        // name; they stay reachable under a `_jaq_` name (and under their own
        // for jaq's definitions, which are compiled before the wrappers).
        let wrapped = jaq_core::funs::<Data>()
            .chain(jaq_std::funs::<Data>())
            .filter_map(|(name, args, f)| {
                natives::renamed(name)
                    .filter(|n| wanted(n))
                    .map(|n| (n, args, f))
            });
        let funs: Vec<_> = own_natives
            .into_iter()
            .chain(jaq_natives)
            .chain(wrapped)
            .collect();

        // `builtins` lists every definition and native, reachable or not.
        let builtins = if listing {
            let mut listed = BTreeSet::new();
            for (name, arity) in table
                .iter()
                .map(|d| (d.name, d.arity))
                .chain(funs.iter().map(|(name, args, _)| (*name, args.len())))
            {
                if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    listed.insert(format!("{name}/{arity}"));
                }
            }
            listed.into_iter().map(V::from).collect()
        } else {
            V::null()
        };
        let funs: Vec<_> = funs
            .into_iter()
            .filter(|(name, _, _)| needed.contains(name))
            .collect();

        // The environment is read only when the filter can see it: `$ENV`
        // and `env` are the only ways to (the words of the filter and of its
        // definitions are in `needed`); otherwise `$ENV` is bound to {}.
        let env = if needed.contains("ENV") || needed.contains("env") {
            environment()
        } else {
            V(Val::obj(Map::default()))
        };
        let mut names: Vec<String> = vec!["$ENV".into(), "$ARGS".into()];
        let mut values: Vec<V> = vec![env.clone(), V(Val::obj(dollar_args))];
        for (name, value) in &args.named {
            names.push(format!("${name}"));
            values.push(convert::to_val(value));
        }
        let slot = slot.map(|name| {
            names.push(format!("${name}"));
            values.push(V::null());
            values.len() - 1
        });

        let mut text = String::new();
        for d in &kept {
            text.push_str(d.text);
            text.push('\n');
        }
        let defs = jaq_core::load::parse(&text, |p| p.defs()).ok_or_else(|| {
            FilterError::Compile("jsafe's own jq definitions do not parse".into())
        })?;
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
        Ok(Filter {
            compiled,
            values,
            env,
            builtins,
            slot,
            inputs: Default::default(),
        })
    }

    /// Run the filter on `input`, handing each output to `each` as soon as it
    /// is produced; `each` returns `Break` to stop early. Outputs handed out
    /// before an error stay handed out (as jq prints them before the error).
    pub fn run_each(
        &self,
        input: &Value,
        input_filename: Option<&str>,
        side: &dyn Fn(Side<'_>),
        each: &mut dyn FnMut(Value) -> ControlFlow<()>,
    ) -> Result<Ending, FilterError> {
        self.run_val(convert::to_val(input), input_filename, side, &mut |v| {
            let converted = convert::from_val(&v);
            val::drop_flat(v.0);
            let mut value = converted?;
            keep_source_text(input, &mut value);
            Ok(each(value))
        })
    }

    /// [`Filter::run_each`] on a document read by [`Input::parse`]: outputs
    /// are the filter's own values, to be written with
    /// [`Input::render_into`] while `input` lives.
    pub fn run_input(
        &self,
        input: &Input,
        input_filename: Option<&str>,
        side: &dyn Fn(Side<'_>),
        each: &mut dyn FnMut(Output) -> ControlFlow<()>,
    ) -> Result<Ending, FilterError> {
        // A second handle on the input's root: the filter can then change
        // none of the input's containers in place (see `input`).
        let root = V(input.root().clone());
        self.run_val(root, input_filename, side, &mut |v| Ok(each(Output(v))))
    }

    fn run_val(
        &self,
        input: V,
        input_filename: Option<&str>,
        side: &dyn Fn(Side<'_>),
        each: &mut dyn FnMut(V) -> Result<ControlFlow<()>, FilterError>,
    ) -> Result<Ending, FilterError> {
        let filename = input_filename.map_or(V::null(), V::str);
        let data = RunData {
            lut: &self.compiled.lut,
            side,
            input_filename: &filename,
            env: &self.env,
            builtins: &self.builtins,
            inputs: &self.inputs,
        };
        let ctx = Ctx::<Data>::new(&data, Vars::new(self.values.clone()));
        for out in self.compiled.id.run((ctx, input)) {
            match out {
                Ok(v) => {
                    if each(v)?.is_break() {
                        return Ok(Ending::Stopped);
                    }
                }
                Err(exn) => {
                    return match exn.get_err() {
                        Ok(e) => Err(FilterError::Runtime(error_text(e.into_val()))),
                        Err(exn) => match exn.get_halt() {
                            Ok(code) => Ok(Ending::Halted(code)),
                            Err(_) => Err(FilterError::Runtime(
                                "break without a matching label".into(),
                            )),
                        },
                    };
                }
            }
        }
        Ok(Ending::Finished)
    }

    /// All outputs, or the first error; side output is dropped and a halt
    /// ends the list (for callers that need every value, such as tests).
    pub fn run(&self, input: Value) -> Result<Vec<Value>, FilterError> {
        let mut outputs = Vec::new();
        self.run_each(&input, None, &|_| {}, &mut |v| {
            outputs.push(v);
            ControlFlow::Continue(())
        })?;
        Ok(outputs)
    }
}

/// Every JSON value in `bytes` (whitespace-separated, as `--slurpfile` reads
/// them); numbers keep their text.
pub(crate) fn parse_values(bytes: &[u8]) -> Result<Vec<Value>, String> {
    if let Ok(v) = super::parse(bytes) {
        return Ok(vec![v]);
    }
    let mut out = Vec::new();
    for v in jaq_json::read::parse_many(bytes) {
        let v = v.map_err(|e| e.to_string())?;
        out.push(convert::from_val(&V(v)).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// An error value as jq prints it: a string as it is, anything else as JSON.
fn error_text(v: V) -> String {
    match v.as_text() {
        Some(s) => s,
        None => format!("{} (not a string)", v.to_json()),
    }
}

/// `$ENV`: the environment as an object (names and values that are not
/// UTF-8 get replacement characters rather than failing the filter).
fn environment() -> V {
    let mut m = Map::default();
    for (k, v) in std::env::vars_os() {
        m.insert(
            Val::from(k.to_string_lossy().into_owned()),
            Val::from(v.to_string_lossy().into_owned()),
        );
    }
    V(Val::obj(m))
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

    /// The environment is read whenever the filter can reach it: `$ENV`,
    /// `env`, inside a string, or through a definition of the filter's own.
    #[test]
    fn the_environment_is_there_wherever_the_filter_names_it() {
        let path = std::env::var("PATH").unwrap_or_default();
        assert!(!path.is_empty());
        for code in [
            "$ENV.PATH",
            "env.PATH",
            r#""\(env.PATH)" | ."#,
            "def e: $ENV; e.PATH",
            "def f: env; [f.PATH][0]",
        ] {
            let out = run(code, "{}").unwrap();
            assert_eq!(out, vec![format!("{path:?}")], "{code}");
        }
        // A filter that names neither sees no difference in its own result.
        assert_eq!(run(".a", r#"{"a": 1}"#).unwrap(), vec!["1"]);
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
            Err(FilterError::Compile(_))
        ));
        assert!(matches!(
            run("{(.a): 2}", r#"{"a":1}"#),
            Err(FilterError::Runtime(_))
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
