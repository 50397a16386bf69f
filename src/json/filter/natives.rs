//! Filters written in Rust: jaq-json's value-specific functions redone for
//! [`V`] with jq's semantics and messages, and what jq has that jaq lacks
//! (`@csv`, `@tsv`, `delpaths` exactly as jq, `$ENV`/`env`,
//! `input_filename`, `halt_error` that prints, `debug`/`stderr` to the caller).
//!
//! Side effects (`debug`, `stderr`, `halt_error`'s message) go through the
//! caller's [`Side`] callback, so this module itself does no I/O.

use jaq_core::box_iter::box_once;
use jaq_core::data::HasLut;
use jaq_core::native::{Filter, Fun, bome, run, v};
use jaq_core::{DataT, Exn, Lut, RunPtr, ValR};
use jaq_json::{Map, Num, Rc, Val};

use super::convert::to_val;
use super::val::{Error, V, describe, err, kind, num_f64, slice_bounds};

/// What a filter asks the caller to write to stderr.
pub enum Side<'s> {
    /// `stderr`: the value raw (strings without quotes), no newline.
    Stderr(&'s str),
    /// `debug`: `["DEBUG:",value]` and a newline.
    Debug(&'s str),
    /// `halt_error`: a string raw, anything else as JSON with a newline.
    HaltError(&'s str),
}

/// The data type filters run on.
pub struct Data;

impl DataT for Data {
    type V<'a> = V;
    type Data<'a> = &'a RunData<'a>;
}

/// What natives can see while a filter runs.
pub struct RunData<'a> {
    pub lut: &'a Lut<Data>,
    pub side: &'a dyn Fn(Side<'_>),
    pub input_filename: &'a V,
    pub env: &'a V,
    pub builtins: &'a V,
    /// What `input` and `inputs` take from, in order (`read -n`).
    pub inputs: &'a std::sync::Mutex<std::collections::VecDeque<V>>,
}

impl<'a> HasLut<'a, Data> for &'a RunData<'a> {
    fn lut(&self) -> &'a Lut<Data> {
        self.lut
    }
}

type Native = Filter<RunPtr<Data>>;

/// jaq's natives that jsafe replaces (by name and arity).
pub(super) const REPLACED: &[(&str, usize)] = &[
    ("length", 0),
    ("utf8bytelength", 0),
    ("startswith", 1),
    ("endswith", 1),
    ("ltrimstr", 1),
    ("rtrimstr", 1),
    ("env", 0),
    ("halt", 1),
    ("debug_empty", 0),
    ("stderr_empty", 0),
    ("implode", 0),
];

/// jaq's natives kept under another name, wrapped by a jq definition.
pub(super) fn renamed(name: &str) -> Option<&'static str> {
    Some(match name {
        "limit" => "_jaq_limit",
        "skip" => "_jaq_skip",
        "trim" => "_jaq_trim",
        "ltrim" => "_jaq_ltrim",
        "rtrim" => "_jaq_rtrim",
        "strftime" => "_jaq_strftime",
        "strflocaltime" => "_jaq_strflocaltime",
        "mktime" => "_jaq_mktime",
        "ascii_downcase" => "_jaq_ascii_downcase",
        "ascii_upcase" => "_jaq_ascii_upcase",
        _ => return None,
    })
}

pub(super) fn funs() -> impl Iterator<Item = Fun<Data>> {
    let list: Vec<Native> = vec![
        ("length", v(0), |cv| bome(length(&cv.1))),
        ("utf8bytelength", v(0), |cv| {
            bome(match &cv.1.0 {
                Val::TStr(b) | Val::BStr(b) => Ok(V::from(b.len())),
                other => err(format!(
                    "{} only strings have UTF-8 byte length",
                    describe(other)
                )),
            })
        }),
        ("tojson", v(0), |cv| bome(Ok(V::from(cv.1.to_json())))),
        ("fromjson", v(0), |cv| bome(fromjson(&cv.1))),
        ("tonumber", v(0), |cv| bome(tonumber(cv.1))),
        ("toboolean", v(0), |cv| bome(toboolean(cv.1))),
        ("contains", v(1), |mut cv| {
            let b = cv.0.pop_var();
            bome(if kind(&cv.1.0) == kind(&b.0) {
                Ok(V::from(contains(&cv.1.0, &b.0)))
            } else {
                err(format!(
                    "{} and {} cannot have their containment checked",
                    describe(&cv.1.0),
                    describe(&b.0)
                ))
            })
        }),
        ("has", v(1), |mut cv| {
            let k = cv.0.pop_var();
            bome(has(&cv.1.0, &k.0))
        }),
        ("indices", v(1), |mut cv| {
            let x = cv.0.pop_var();
            bome(indices(&cv.1.0, &x.0))
        }),
        ("bsearch", v(1), |mut cv| {
            let x = cv.0.pop_var();
            bome(match &cv.1.0 {
                Val::Arr(a) => Ok(V::from(match a.binary_search(&x.0) {
                    Ok(i) => i as isize,
                    Err(i) => -1 - i as isize,
                })),
                other => err(format!("{} cannot be searched from", describe(other))),
            })
        }),
        ("startswith", v(1), |mut cv| {
            let x = cv.0.pop_var();
            bome(match (cv.1.as_text(), x.as_text()) {
                (Some(s), Some(p)) => Ok(V::from(s.starts_with(&p))),
                _ => err("startswith() requires string inputs"),
            })
        }),
        ("endswith", v(1), |mut cv| {
            let x = cv.0.pop_var();
            bome(match (cv.1.as_text(), x.as_text()) {
                (Some(s), Some(p)) => Ok(V::from(s.ends_with(&p))),
                _ => err("endswith() requires string inputs"),
            })
        }),
        ("ltrimstr", v(1), |mut cv| {
            let x = cv.0.pop_var();
            bome(match (cv.1.as_text(), x.as_text()) {
                (Some(s), Some(p)) => Ok(match s.strip_prefix(&p) {
                    Some(rest) => V::str(rest),
                    None => cv.1,
                }),
                _ => err("startswith() requires string inputs"),
            })
        }),
        ("rtrimstr", v(1), |mut cv| {
            let x = cv.0.pop_var();
            bome(match (cv.1.as_text(), x.as_text()) {
                (Some(s), Some(p)) => Ok(match s.strip_suffix(&p) {
                    Some(rest) if !p.is_empty() => V::str(rest),
                    _ => cv.1,
                }),
                _ => err("endswith() requires string inputs"),
            })
        }),
        ("implode", v(0), |cv| bome(implode(&cv.1))),
        ("nan", v(0), |_| bome(Ok(V::from(f64::NAN)))),
        ("infinite", v(0), |_| bome(Ok(V::from(f64::INFINITY)))),
        ("isnan", v(0), |cv| {
            bome(match cv.1.as_f64() {
                Some(f) => Ok(V::from(f.is_nan())),
                None => err("number required"),
            })
        }),
        ("isinfinite", v(0), |cv| {
            bome(match cv.1.as_f64() {
                Some(f) => Ok(V::from(f.is_infinite())),
                None => err("number required"),
            })
        }),
        ("delpaths", v(1), |mut cv| {
            let paths = cv.0.pop_var();
            bome(delpaths(cv.1, &paths))
        }),
        ("@csv", v(0), |cv| bome(csv_tsv(&cv.1, Table::Csv))),
        ("@tsv", v(0), |cv| bome(csv_tsv(&cv.1, Table::Tsv))),
        ("env", v(0), |cv| bome(Ok(cv.0.data().env.clone()))),
        ("builtins", v(0), |cv| {
            bome(Ok(cv.0.data().builtins.clone()))
        }),
        ("input_filename", v(0), |cv| {
            bome(Ok(cv.0.data().input_filename.clone()))
        }),
        ("input", v(0), |cv| {
            let next =
                cv.0.data()
                    .inputs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front();
            bome(next.map_or_else(|| err("No more inputs"), Ok))
        }),
        ("inputs", v(0), |cv| {
            let data: &RunData = cv.0.data();
            Box::new(std::iter::from_fn(move || {
                data.inputs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front()
                    .map(Ok)
            }))
        }),
        ("halt", v(0), |_| box_once(Err(Exn::halt(0)))),
        ("halt", v(1), |mut cv| {
            let code = cv.0.pop_var();
            box_once(match exit_code(&code) {
                Ok(c) => Err(Exn::halt(c)),
                Err(e) => Err(Exn::from(e)),
            })
        }),
        ("halt_error", v(1), |mut cv| {
            let code = cv.0.pop_var();
            let code = match exit_code(&code) {
                Ok(c) => c,
                Err(e) => return box_once(Err(Exn::from(e))),
            };
            let msg = match cv.1.as_text() {
                Some(s) => s,
                None => format!("{}\n", cv.1.to_json()),
            };
            (cv.0.data().side)(Side::HaltError(&msg));
            box_once(Err(Exn::halt(code)))
        }),
        ("stderr_empty", v(0), |cv| {
            let text = cv.1.as_text().unwrap_or_else(|| cv.1.to_json());
            (cv.0.data().side)(Side::Stderr(&text));
            Box::new(std::iter::empty())
        }),
        ("debug_empty", v(0), |cv| {
            let line = format!("[\"DEBUG:\",{}]\n", cv.1.to_json());
            (cv.0.data().side)(Side::Debug(&line));
            Box::new(std::iter::empty())
        }),
    ];
    list.into_iter().map(run::<Data>)
}

fn exit_code(v: &V) -> Result<i32, Error> {
    match &v.0 {
        Val::Num(n) => {
            let f = num_f64(n);
            if f.is_finite() && f.fract() == 0.0 {
                Ok(f as i64 as i32)
            } else {
                Err(Error::new(V::str("halt_error/1: number required")))
            }
        }
        _ => Err(Error::new(V::str("halt_error/1: number required"))),
    }
}

fn length(v: &V) -> ValR<V> {
    match &v.0 {
        Val::Null => Ok(V::from(0isize)),
        Val::Bool(_) => err(format!("{} has no length", describe(&v.0))),
        Val::Num(Num::Int(i)) => Ok(V::from(i.unsigned_abs())),
        Val::Num(n) => match n {
            Num::BigInt(_) | Num::Dec(_) if !n.to_string().starts_with('-') => Ok(v.clone()),
            _ => Ok(V::from(num_f64(n).abs())),
        },
        Val::TStr(b) | Val::BStr(b) => Ok(V::from(String::from_utf8_lossy(b).chars().count())),
        Val::Arr(a) => Ok(V::from(a.len())),
        Val::Obj(o) => Ok(V::from(o.len())),
    }
}

fn fromjson(v: &V) -> ValR<V> {
    let Some(text) = v.as_text() else {
        return err(format!("{} cannot be parsed as JSON", describe(&v.0)));
    };
    match text.trim() {
        "nan" | "NaN" | "-nan" | "-NaN" => return Ok(V::from(f64::NAN)),
        _ => {}
    }
    match crate::json::parse(text.as_bytes()) {
        Ok(value) => Ok(to_val(&value)),
        Err(e) => err(format!("{e} (while parsing '{text}')")),
    }
}

fn tonumber(v: V) -> ValR<V> {
    match &v.0 {
        Val::Num(_) => Ok(v),
        Val::TStr(_) | Val::BStr(_) => {
            let text = v.as_text().unwrap_or_default();
            let plain = !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
            if plain {
                if crate::json::Number::from_text(&text).is_some() {
                    return Ok(V(Val::Num(super::convert::to_num(&text))));
                }
                if let Ok(f) = text.parse::<f64>() {
                    return Ok(V::from(f));
                }
            }
            err(format!("{} cannot be parsed as a number", describe(&v.0)))
        }
        other => err(format!("{} cannot be parsed as a number", describe(other))),
    }
}

fn toboolean(v: V) -> ValR<V> {
    match &v.0 {
        Val::Bool(_) => Ok(v),
        Val::TStr(_) | Val::BStr(_) if v.as_str() == Some("true") => Ok(V::from(true)),
        Val::TStr(_) | Val::BStr(_) if v.as_str() == Some("false") => Ok(V::from(false)),
        other => err(format!("{} cannot be parsed as a boolean", describe(other))),
    }
}

/// jq's containment: substrings, every wanted item in some item, every
/// wanted member contained in the member; values of different kinds never.
fn contains(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Obj(x), Val::Obj(y)) => y
            .iter()
            .all(|(k, bv)| x.get(k).is_some_and(|av| contains(av, bv))),
        (Val::Arr(x), Val::Arr(y)) => y.iter().all(|bv| x.iter().any(|av| contains(av, bv))),
        (Val::TStr(x) | Val::BStr(x), Val::TStr(y) | Val::BStr(y)) => {
            y.is_empty() || x.windows(y.len()).any(|w| w == &y[..])
        }
        _ => a == b,
    }
}

fn has(v: &Val, k: &Val) -> ValR<V> {
    match (v, k) {
        (Val::Obj(o), Val::TStr(_) | Val::BStr(_)) => Ok(V::from(o.contains_key(k))),
        (Val::Arr(a), Val::Num(n)) => {
            let i = num_f64(n);
            Ok(V::from(i >= 0.0 && i < a.len() as f64))
        }
        _ => err(format!(
            "Cannot check whether {} has a {} key",
            kind(v),
            kind(k)
        )),
    }
}

fn indices(v: &Val, x: &Val) -> ValR<V> {
    match (v, x) {
        (Val::Null, _) => Ok(V::null()),
        (Val::TStr(_) | Val::BStr(_), Val::TStr(_) | Val::BStr(_)) => {
            let (s, p) = (V(v.clone()).as_text(), V(x.clone()).as_text());
            let (s, p) = (s.unwrap_or_default(), p.unwrap_or_default());
            if p.is_empty() {
                return Ok(V::null());
            }
            let mut out = Vec::new();
            for (ci, (bi, _)) in s.char_indices().enumerate() {
                if s[bi..].starts_with(&p) {
                    out.push(V::from(ci));
                }
            }
            Ok(V::arr(out))
        }
        (Val::Arr(a), Val::Arr(b)) => {
            if b.is_empty() {
                return Ok(V::null());
            }
            let hits = a.windows(b.len()).enumerate().filter(|(_, w)| *w == &b[..]);
            Ok(V::arr(hits.map(|(i, _)| V::from(i)).collect()))
        }
        (Val::Arr(a), y) => {
            let hits = a.iter().enumerate().filter(|(_, e)| *e == y);
            Ok(V::arr(hits.map(|(i, _)| V::from(i)).collect()))
        }
        _ => err(format!(
            "Cannot determine indices of {} in {}",
            describe(x),
            describe(v)
        )),
    }
}

fn implode(v: &V) -> ValR<V> {
    let Some(items) = v.items() else {
        return err("Cannot implode: input must be an array");
    };
    let mut s = String::with_capacity(items.len());
    for x in items {
        let Val::Num(n) = x else {
            return err("Unicode codepoint must be numeric");
        };
        let f = num_f64(n);
        let cp = if f.is_finite() { f as i64 } else { -1 };
        match u32::try_from(cp).ok().and_then(char::from_u32) {
            Some(c) => s.push(c),
            None if (0xD800..0xE000).contains(&cp) => s.push('\u{FFFD}'),
            None => return err(format!("Invalid codepoint literal {}", V(x.clone()))),
        }
    }
    Ok(V::from(s))
}

/// jq's `delpaths`: every path is taken relative to the input as it is
/// (negative indices counted from its end), duplicates count once, and
/// deleting what is not there does nothing. Object members keep their order.
fn delpaths(v: V, paths: &V) -> ValR<V> {
    let Some(list) = paths.items() else {
        return err("Paths must be specified as an array");
    };
    let mut ps: Vec<&[Val]> = Vec::with_capacity(list.len());
    for p in list {
        match p {
            Val::Arr(a) => ps.push(a),
            _ => return err("Path must be specified as an array"),
        }
    }
    Ok(V(delete_paths(v.0, &ps)?))
}

fn delete_paths(v: Val, paths: &[&[Val]]) -> Result<Val, Error> {
    if paths.is_empty() {
        return Ok(v);
    }
    if paths.iter().any(|p| p.is_empty()) {
        return Ok(Val::Null);
    }
    match v {
        Val::Null => Ok(Val::Null),
        Val::Obj(o) => {
            let mut m: Map = Rc::try_unwrap(o).unwrap_or_else(|o| (*o).clone());
            let mut gone: Vec<&Val> = Vec::new();
            let mut deeper: Vec<(&Val, Vec<&[Val]>)> = Vec::new();
            for p in paths {
                let k = &p[0];
                if !matches!(k, Val::TStr(_) | Val::BStr(_)) {
                    return err(format!(
                        "Cannot delete field at object index of {}",
                        kind(k)
                    ));
                }
                if p.len() == 1 {
                    gone.push(k);
                } else {
                    match deeper.iter_mut().find(|(dk, _)| *dk == k) {
                        Some((_, rest)) => rest.push(&p[1..]),
                        None => deeper.push((k, vec![&p[1..]])),
                    }
                }
            }
            for (k, rest) in deeper {
                if gone.contains(&k) {
                    continue;
                }
                if let Some(child) = m.get_mut(k) {
                    let c = std::mem::take(child);
                    *child = delete_paths(c, &rest)?;
                }
            }
            for k in gone {
                m.shift_remove(k);
            }
            Ok(Val::obj(m))
        }
        Val::Arr(a) => {
            let mut a: Vec<Val> = Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone());
            let len = a.len();
            let mut gone = vec![false; len];
            let mut deeper: Vec<(usize, Vec<&[Val]>)> = Vec::new();
            for p in paths {
                match &p[0] {
                    Val::Num(n) => {
                        let f = num_f64(n);
                        if f.is_nan() {
                            continue;
                        }
                        let mut i = f.floor();
                        if i < 0.0 {
                            i += len as f64;
                        }
                        // Before the start or past the end: nothing to delete.
                        if i < 0.0 {
                            continue;
                        }
                        if i >= len as f64 {
                            continue;
                        }
                        let i = i as usize;
                        if p.len() == 1 {
                            gone[i] = true;
                        } else {
                            match deeper.iter_mut().find(|(di, _)| *di == i) {
                                Some((_, rest)) => rest.push(&p[1..]),
                                None => deeper.push((i, vec![&p[1..]])),
                            }
                        }
                    }
                    Val::Obj(o) if p.len() == 1 => {
                        let get = |k: &str| o.get(&Val::utf8_str(k.to_owned())).cloned().map(V);
                        let (s, e) = (get("start"), get("end"));
                        let (s, e) = slice_bounds(s.as_ref(), e.as_ref(), len)?;
                        for g in gone.iter_mut().take(e).skip(s) {
                            *g = true;
                        }
                    }
                    Val::Obj(_) => return err("Cannot delete inside an array slice"),
                    other => {
                        return err(format!(
                            "Cannot delete field at array index of {}",
                            kind(other)
                        ));
                    }
                }
            }
            for (i, rest) in deeper {
                if gone[i] {
                    continue;
                }
                let c = std::mem::take(&mut a[i]);
                a[i] = delete_paths(c, &rest)?;
            }
            let mut n = 0;
            a.retain(|_| {
                let keep = !gone[n];
                n += 1;
                keep
            });
            Ok(Val::Arr(Rc::new(a)))
        }
        other => err(format!("Cannot delete field at index of {}", kind(&other))),
    }
}

enum Table {
    Csv,
    Tsv,
}

fn csv_tsv(v: &V, t: Table) -> ValR<V> {
    let Some(items) = v.items() else {
        return err(format!(
            "{} cannot be {}-formatted, only an array can be",
            describe(&v.0),
            match t {
                Table::Csv => "csv",
                Table::Tsv => "tsv",
            }
        ));
    };
    let mut cells = Vec::with_capacity(items.len());
    for x in items {
        cells.push(match x {
            Val::Null => String::new(),
            Val::Bool(b) => b.to_string(),
            Val::Num(_) => V(x.clone()).to_json(),
            Val::TStr(_) | Val::BStr(_) => {
                let s = V(x.clone()).as_text().unwrap_or_default();
                match t {
                    Table::Csv => format!("\"{}\"", s.replace('"', "\"\"")),
                    Table::Tsv => s
                        .replace('\\', "\\\\")
                        .replace('\t', "\\t")
                        .replace('\r', "\\r")
                        .replace('\n', "\\n"),
                }
            }
            other => {
                return err(format!("{} is not valid in a csv row", describe(other)));
            }
        });
    }
    Ok(V::from(cells.join(match t {
        Table::Csv => ",",
        Table::Tsv => "\t",
    })))
}
