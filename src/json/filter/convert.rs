//! The one place where jsafe's document model and the filter's values meet:
//! [`to_val`] on the way in, [`from_val`] on the way out, and
//! [`keep_source_text`] to give untouched strings their escapes back.
//! (Kept together so that building filter values straight from the parser
//! later changes only this file.)

use jaq_json::{Num, Rc, Val};

use super::FilterError;
use super::val::{V, format_f64};
use crate::json::{MAX_DEPTH, Map, Number, Str, Value};

pub fn to_val(v: &Value) -> V {
    V(to_jaq(v))
}

fn to_jaq(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(to_num(n.as_str())),
        Value::String(s) => Val::from(s.value.clone()),
        Value::Array(a) => Val::Arr(Rc::new(a.iter().map(to_jaq).collect())),
        Value::Object(m) => Val::obj(
            m.iter()
                .map(|(k, v)| (Val::from(k.clone()), to_jaq(v)))
                .collect(),
        ),
    }
}

/// Integers jaq can compute with exactly become integers; every other number keeps
/// its text (it becomes a double only when an operation touches it).
pub fn to_num(text: &str) -> Num {
    match Num::from_str_radix(text, 10) {
        Some(n) if n.to_string() == text => n,
        _ => Num::Dec(Rc::new(text.to_owned())),
    }
}

pub fn from_val(v: &V) -> Result<Value, FilterError> {
    from_jaq(&v.0, 0)
}

fn from_jaq(v: &Val, depth: usize) -> Result<Value, FilterError> {
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
                .map(|x| from_jaq(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Val::Obj(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, x) in o.iter() {
                let key = match k {
                    Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                    other => {
                        return Err(FilterError::Output(format!(
                            "object key {} is not a string",
                            V(other.clone())
                        )));
                    }
                };
                m.insert(key, from_jaq(x, depth + 1)?);
            }
            Value::Object(m)
        }
    })
}

/// Numbers print as jq 1.8 prints them; literals (from the file or the
/// filter) keep their text.
fn from_num(n: &Num) -> Value {
    match n {
        Num::Float(f) => number(&format_f64(*f)),
        Num::Dec(text) => Number::from_text(text)
            .map(Value::Number)
            .unwrap_or_else(|| number(&format_f64(text.parse().unwrap_or(f64::NAN)))),
        Num::Int(i) => number(&i.to_string()),
        Num::BigInt(b) => number(&b.to_string()),
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
