//! Where jsafe's document model and the filter's values meet: [`to_val`] on
//! the way in, [`from_val`] on the way out, and [`keep_source_text`] to give
//! untouched strings their escapes back; and [`to_num`], the one rule for
//! what a number's text becomes (for the file's numbers, read here or by
//! `input`, and for the filter's literals alike).

use jaq_json::{Num, Rc, Val};

use super::FilterError;
use super::val::{V, format_f64};
use crate::json::{MAX_DEPTH, Map, Number, Str, Value};

pub(super) fn to_val(v: &Value) -> V {
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

/// Integers jaq can compute with exactly become integers; decimals that jq
/// 1.8 prints back exactly as written become doubles; every other number
/// keeps its text (it becomes a double only when an operation touches it).
/// A double and a kept text of the same value compare, hash and compute
/// alike, so the choice shows only in how the number is printed, which is
/// its text either way.
pub(super) fn to_num(text: &str) -> Num {
    let bytes = text.as_bytes();
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    // Machine integers, the common case, without the general path's
    // allocations: at most 18 digits, no leading zero, not "-0".
    if let Some(&first) = digits.first()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (first != b'0' || bytes == b"0")
    {
        let n = digits
            .iter()
            .fold(0isize, |n, d| n * 10 + isize::from(d - b'0'));
        return Num::Int(if digits.len() < bytes.len() { -n } else { n });
    }
    if let Some(f) = plain_decimal(bytes) {
        return Num::Float(f);
    }
    match Num::from_str_radix(text, 10) {
        Some(n) if n.to_string() == text => n,
        _ => Num::Dec(Rc::new(text.to_owned())),
    }
}

/// The double of `-?I.F` (no exponent) when jq 1.8 prints that double back
/// as exactly this text: no superfluous zero (leading in `I`, trailing in
/// `F`), at most 15 significant digits (so the shortest round-trip digits
/// are these very digits) and at most three zeros after "0." (from four on
/// jq switches to exponent form).
fn plain_decimal(bytes: &[u8]) -> Option<f64> {
    let body = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let dot = body.iter().position(|&c| c == b'.')?;
    let (int, frac) = (body.get(..dot)?, body.get(dot + 1..)?);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(int) || !digits(frac) || frac.last() == Some(&b'0') {
        return None;
    }
    let significant = if int == b"0" {
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        if zeros > 3 {
            return None;
        }
        frac.len() - zeros
    } else if int.first() == Some(&b'0') {
        return None;
    } else {
        int.len() + frac.len()
    };
    if significant > 15 {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

pub(super) fn from_val(v: &V) -> Result<Value, FilterError> {
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
pub(crate) fn keep_source_text(old: &Value, new: &mut Value) {
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
    use super::super::val::format_num;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_keep_their_text() {
        for text in [
            "0",
            "-0",
            "7",
            "-7",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "9223372036854775808",
            "-9223372036854775809",
            "12345678901234567890123",
            "1.5",
            "-0.5",
            "0.001",
            "0.0001",
            "0.00001",
            "1.10",
            "1.0",
            "-0.0",
            "1e3",
            "2.50E-3",
            "123456789012.345",
            "1234567890123.4567",
            "100.25",
        ] {
            assert_eq!(format_num(&to_num(text)), text, "{text}");
        }
        assert!(matches!(to_num("42"), Num::Int(42)));
        assert!(matches!(to_num("-42"), Num::Int(-42)));
        assert!(matches!(to_num("1.5"), Num::Float(f) if f == 1.5));
        assert!(matches!(to_num("1.50"), Num::Dec(_)));
        assert!(matches!(to_num("007"), Num::Dec(_)));
    }

    proptest! {
        /// Whatever becomes a double prints back as written.
        #[test]
        fn decimals_made_doubles_print_as_written(
            neg in any::<bool>(),
            int in "(0|[1-9][0-9]{0,14})",
            frac in "[0-9]{1,16}",
        ) {
            let text = format!("{}{int}.{frac}", if neg { "-" } else { "" });
            let n = to_num(&text);
            if matches!(n, Num::Float(_)) {
                prop_assert_eq!(format_num(&n), text);
            } else {
                prop_assert!(matches!(n, Num::Dec(_)));
                prop_assert_eq!(format_num(&n), text);
            }
        }
    }
}
