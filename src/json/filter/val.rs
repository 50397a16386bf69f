//! The value filters run on: jaq's JSON value with jq 1.8's semantics where
//! the two differ and scripts notice.
//!
//! - Paths are created through `null` (`null | .a.b = 1`, `.[3] = 1` pads an
//!   array with nulls), as jq does; object members keep their order when one
//!   is deleted.
//! - Arithmetic is jq's: numbers are doubles once a computation touches them
//!   (integers stay exact while they are within 2^53, where doubles are exact
//!   too), division or remainder by zero is an error, `-0` survives.
//! - Floats print as jq prints them (`2`, not `2.0`; `1e+17`; `1e-05`).
//! - Errors read like jq's (`Cannot iterate over number (123)`).
//!
//! A newtype over [`jaq_json::Val`], so jaq's comparison, hashing and most of
//! its library keep working unchanged.

use std::fmt;

use jaq_core::box_iter::box_once;
use jaq_core::path::Opt;
use jaq_core::{Exn, ValR, ValX, val};
use jaq_json::{Map, Num, Rc, Val};

/// Errors carry a string message, as jq's do (`try ... catch .` gets it).
pub(super) type Error = jaq_core::Error<V>;

/// A filter value. `.0` is jaq's value; see the module head for what differs.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V(pub Val);

/// Drop `v` without recursion: a value a filter built can nest far deeper
/// (`reduce range(1e6) as $i (null; [.])`) than the recursive drop of
/// jaq's containers has stack for. Containers held only here are taken
/// apart on a heap work list; shared ones only lose a reference.
pub(super) fn drop_flat(v: Val) {
    if !matches!(v, Val::Arr(_) | Val::Obj(_)) {
        return;
    }
    let mut work = vec![v];
    while let Some(v) = work.pop() {
        match v {
            Val::Arr(a) => {
                if let Ok(items) = Rc::try_unwrap(a) {
                    work.extend(items);
                }
            }
            Val::Obj(o) => {
                if let Ok(members) = Rc::try_unwrap(o) {
                    for (k, x) in members {
                        work.push(k);
                        work.push(x);
                    }
                }
            }
            _ => {}
        }
    }
}

/// jq refuses array indices beyond this when setting (`Array index too large`).
const MAX_SET_INDEX: f64 = 536_870_911.0;
/// Integers up to this magnitude are exact as doubles.
const EXACT_INT: i128 = 1 << 53;

pub(super) fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error::new(V::from(msg.into())))
}

impl V {
    pub fn null() -> V {
        V(Val::Null)
    }

    pub fn str(s: &str) -> V {
        V::from(s.to_owned())
    }

    pub fn kind(&self) -> &'static str {
        kind(&self.0)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            Val::TStr(b) | Val::BStr(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The string's text, invalid UTF-8 replaced.
    pub fn as_text(&self) -> Option<String> {
        match &self.0 {
            Val::TStr(b) | Val::BStr(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match &self.0 {
            Val::Num(n) => Some(num_f64(n)),
            _ => None,
        }
    }

    pub fn arr(items: Vec<V>) -> V {
        V(Val::Arr(Rc::new(items.into_iter().map(|v| v.0).collect())))
    }

    pub fn items(&self) -> Option<&[Val]> {
        match &self.0 {
            Val::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// jq's `kind (value)` description for error messages, cut to about 30 bytes.
    pub fn describe(&self) -> String {
        describe(&self.0)
    }

    /// Compact JSON as jq prints it.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        write_json(&mut s, &self.0);
        s
    }
}

pub(super) fn kind(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

pub(super) fn describe(v: &Val) -> String {
    let mut text = String::new();
    write_json(&mut text, v);
    // jq cuts the dump to fit its 30-byte message buffer; a string keeps its
    // closing quote after the "...".
    if text.len() > 29 {
        let (keep, tail) = match v {
            Val::TStr(_) | Val::BStr(_) => (25, "...\""),
            _ => (26, "..."),
        };
        let mut cut = keep;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(tail);
    }
    format!("{} ({text})", kind(v))
}

/// A number as an f64 (jq's view of every number).
pub(super) fn num_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
        Num::BigInt(b) => b.to_string().parse().unwrap_or(f64::NAN),
        Num::Dec(d) => d.parse().unwrap_or(f64::NAN),
    }
}

/// An integer result stays an integer while doubles would hold it exactly;
/// beyond that jq computes with doubles, and so do we.
fn int_or_float(exact: Option<isize>, float: f64) -> Num {
    match exact {
        Some(i) if (i as i128).abs() <= EXACT_INT => Num::Int(i),
        _ => Num::Float(float),
    }
}

fn num_add(a: &Num, b: &Num) -> Num {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => int_or_float(x.checked_add(*y), *x as f64 + *y as f64),
        _ => Num::Float(num_f64(a) + num_f64(b)),
    }
}

fn num_sub(a: &Num, b: &Num) -> Num {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => int_or_float(x.checked_sub(*y), *x as f64 - *y as f64),
        _ => Num::Float(num_f64(a) - num_f64(b)),
    }
}

fn num_mul(a: &Num, b: &Num) -> Num {
    match (a, b) {
        // 0 * -1 is -0 in jq (doubles); an integer zero has no sign.
        (Num::Int(x), Num::Int(y)) if (*x == 0 && *y < 0) || (*y == 0 && *x < 0) => {
            Num::Float(-0.0)
        }
        (Num::Int(x), Num::Int(y)) => int_or_float(x.checked_mul(*y), *x as f64 * *y as f64),
        _ => Num::Float(num_f64(a) * num_f64(b)),
    }
}

/// Format a double as jq 1.8 does: shortest round-trip digits, integers
/// without a fraction, exponent form for very large or small magnitudes
/// (`1e+17`, `1e-05`), infinities as the largest double, NaN as null.
pub(super) fn format_f64(f: f64) -> String {
    if f.is_nan() {
        return "null".into();
    }
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let nd = digits.len() as i32;
    let decpt = exp + 1;
    let mut out = String::with_capacity(24);
    if f < 0.0 {
        out.push('-');
    }
    if decpt <= -4 || decpt > nd + 15 {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt < nd {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    } else {
        out.push_str(&digits);
        for _ in nd..decpt {
            out.push('0');
        }
    }
    out
}

/// A number's text as jq prints it (literals keep their text).
pub(super) fn format_num(n: &Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::BigInt(b) => b.to_string(),
        Num::Float(f) => format_f64(*f),
        Num::Dec(d) => d.to_string(),
    }
}

/// The short escape for `c` that jq's JSON output and its string literals
/// share (quote, backslash, line feed, tab, carriage return); `None` for any
/// other character.
pub(super) fn short_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\n' => "\\n",
        '\t' => "\\t",
        '\r' => "\\r",
        _ => return None,
    })
}

pub(super) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if let Some(escape) = short_escape(c) {
            out.push_str(escape);
            continue;
        }
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Compact JSON, jq's way (`{"a":[1,2]}`); non-string keys (which jq cannot
/// make) are written as their JSON text in quotes.
pub(super) fn write_json(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => out.push_str(&format_num(n)),
        Val::TStr(b) | Val::BStr(b) => write_str(out, &String::from_utf8_lossy(b)),
        Val::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, x);
            }
            out.push(']');
        }
        Val::Obj(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Val::TStr(b) | Val::BStr(b) => write_str(out, &String::from_utf8_lossy(b)),
                    other => {
                        let mut key = String::new();
                        write_json(&mut key, other);
                        write_str(out, &key);
                    }
                }
                out.push(':');
                write_json(out, x);
            }
            out.push('}');
        }
    }
}

impl fmt::Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl From<bool> for V {
    fn from(b: bool) -> V {
        V(Val::Bool(b))
    }
}

impl From<isize> for V {
    fn from(i: isize) -> V {
        V(Val::from(i))
    }
}

impl From<usize> for V {
    fn from(i: usize) -> V {
        V(Val::from(i))
    }
}

impl From<f64> for V {
    fn from(f: f64) -> V {
        V(Val::Num(Num::Float(f)))
    }
}

impl From<String> for V {
    fn from(s: String) -> V {
        V(Val::from(s))
    }
}

impl From<val::Range<V>> for V {
    fn from(r: val::Range<V>) -> V {
        V(Val::from(r.start.map(|v| v.0)..r.end.map(|v| v.0)))
    }
}

impl FromIterator<V> for V {
    fn from_iter<T: IntoIterator<Item = V>>(iter: T) -> V {
        V(Val::Arr(Rc::new(iter.into_iter().map(|v| v.0).collect())))
    }
}

fn math_err(l: &V, r: &V, what: &str) -> Error {
    Error::new(V::from(format!(
        "{} and {} cannot be {what}",
        l.describe(),
        r.describe()
    )))
}

impl std::ops::Add for V {
    type Output = ValR<V>;
    fn add(self, rhs: V) -> ValR<V> {
        match (self.0, rhs.0) {
            (Val::Null, x) | (x, Val::Null) => Ok(V(x)),
            (Val::Num(x), Val::Num(y)) => Ok(V(Val::Num(num_add(&x, &y)))),
            (l @ (Val::TStr(_) | Val::BStr(_)), r @ (Val::TStr(_) | Val::BStr(_)))
            | (l @ Val::Arr(_), r @ Val::Arr(_)) => (l + r)
                .map(V)
                .map_err(|_| Error::new(V::from("cannot add these values".to_owned()))),
            (Val::Obj(mut l), Val::Obj(r)) => {
                let m = Rc::make_mut(&mut l);
                for (k, v) in r.iter() {
                    m.insert(k.clone(), v.clone());
                }
                Ok(V(Val::Obj(l)))
            }
            (l, r) => Err(math_err(&V(l), &V(r), "added")),
        }
    }
}

impl std::ops::Sub for V {
    type Output = ValR<V>;
    fn sub(self, rhs: V) -> ValR<V> {
        match (self.0, rhs.0) {
            (Val::Num(x), Val::Num(y)) => Ok(V(Val::Num(num_sub(&x, &y)))),
            (Val::Arr(mut l), Val::Arr(r)) => {
                Rc::make_mut(&mut l).retain(|x| !r.contains(x));
                Ok(V(Val::Arr(l)))
            }
            (l, r) => Err(math_err(&V(l), &V(r), "subtracted")),
        }
    }
}

fn deep_merge(l: &mut Rc<Map>, r: &Map) {
    let l = Rc::make_mut(l);
    for (k, v) in r.iter() {
        match (l.get_mut(k), v) {
            (Some(Val::Obj(lo)), Val::Obj(ro)) => deep_merge(lo, ro),
            (Some(slot), v) => *slot = v.clone(),
            (None, v) => {
                l.insert(k.clone(), v.clone());
            }
        }
    }
}

/// jq 1.8: a negative (or NaN) count gives null, otherwise the string is
/// repeated the count rounded down (so 0.5 gives "").
fn repeat_str(s: &[u8], n: f64) -> ValR<V> {
    if n.is_nan() || n < 0.0 {
        return Ok(V::null());
    }
    let times = n.floor().min(1e12) as usize;
    if s.len().saturating_mul(times) > i32::MAX as usize {
        return err("Repeat string result too long");
    }
    Ok(V(Val::utf8_str(s.repeat(times))))
}

impl std::ops::Mul for V {
    type Output = ValR<V>;
    fn mul(self, rhs: V) -> ValR<V> {
        match (self.0, rhs.0) {
            (Val::Num(x), Val::Num(y)) => Ok(V(Val::Num(num_mul(&x, &y)))),
            (Val::TStr(s) | Val::BStr(s), Val::Num(n))
            | (Val::Num(n), Val::TStr(s) | Val::BStr(s)) => repeat_str(&s, num_f64(&n)),
            (Val::Obj(mut l), Val::Obj(r)) => {
                deep_merge(&mut l, &r);
                Ok(V(Val::Obj(l)))
            }
            (l, r) => Err(math_err(&V(l), &V(r), "multiplied")),
        }
    }
}

impl std::ops::Div for V {
    type Output = ValR<V>;
    fn div(self, rhs: V) -> ValR<V> {
        match (self.0, rhs.0) {
            (Val::Num(x), Val::Num(y)) => {
                let d = num_f64(&y);
                if d == 0.0 {
                    return Err(math_err(
                        &V(Val::Num(x)),
                        &V(Val::Num(y)),
                        "divided because the divisor is zero",
                    ));
                }
                Ok(V(Val::Num(Num::Float(num_f64(&x) / d))))
            }
            (l @ (Val::TStr(_) | Val::BStr(_)), r @ (Val::TStr(_) | Val::BStr(_))) => {
                if matches!(&l, Val::TStr(b) | Val::BStr(b) if b.is_empty()) {
                    return Ok(V::arr(Vec::new()));
                }
                (l / r)
                    .map(V)
                    .map_err(|_| Error::new(V::str("cannot split")))
            }
            (l, r) => Err(math_err(&V(l), &V(r), "divided")),
        }
    }
}

impl std::ops::Rem for V {
    type Output = ValR<V>;
    fn rem(self, rhs: V) -> ValR<V> {
        match (self.0, rhs.0) {
            (Val::Num(x), Val::Num(y)) => {
                let (a, b) = (num_f64(&x), num_f64(&y));
                if a.is_nan() || b.is_nan() {
                    return Ok(V(Val::Num(Num::Float(f64::NAN))));
                }
                // jq casts both to intmax_t (saturating) first.
                let (a, b) = (a as i64, b as i64);
                if b == 0 {
                    return Err(math_err(
                        &V(Val::Num(x)),
                        &V(Val::Num(y)),
                        "divided (remainder) because the divisor is zero",
                    ));
                }
                let r = a.checked_rem(b).unwrap_or(0);
                Ok(V(Val::Num(match isize::try_from(r) {
                    Ok(i) => int_or_float(Some(i), r as f64),
                    Err(_) => Num::Float(r as f64),
                })))
            }
            (l, r) => Err(math_err(&V(l), &V(r), "divided")),
        }
    }
}

impl std::ops::Neg for V {
    type Output = ValR<V>;
    fn neg(self) -> ValR<V> {
        match self.0 {
            Val::Num(Num::Int(0)) => Ok(V(Val::Num(Num::Float(-0.0)))),
            // Negation is exact (jq keeps a negated literal's digits).
            Val::Num(n) => Ok(V(Val::Num(-n))),
            other => err(format!("{} cannot be negated", describe(&other))),
        }
    }
}

/// An index into an array of `len` items: floored, negative from the end.
/// `None` for NaN.
fn abs_index(i: f64, len: usize) -> Option<f64> {
    if i.is_nan() {
        return None;
    }
    let i = i.floor();
    Some(if i < 0.0 { i + len as f64 } else { i })
}

/// A slice's bounds as jq computes them: clamped, start floored, end ceiled.
pub(super) fn slice_bounds(
    start: Option<&V>,
    end: Option<&V>,
    len: usize,
) -> Result<(usize, usize), Error> {
    let bound = |b: Option<&V>, default: f64| -> Result<f64, Error> {
        match b.map(|v| &v.0) {
            None | Some(Val::Null) => Ok(default),
            Some(Val::Num(n)) => Ok(num_f64(n)),
            Some(_) => err("Start and end indices of an array slice must be numbers"),
        }
    };
    let len_f = len as f64;
    let mut s = bound(start, 0.0)?;
    let mut e = bound(end, len_f)?;
    if s.is_nan() {
        s = 0.0;
    }
    if e.is_nan() {
        e = len_f;
    }
    if s < 0.0 {
        s += len_f;
    }
    if e < 0.0 {
        e += len_f;
    }
    let s = s.clamp(0.0, len_f).floor();
    let e = e.clamp(0.0, len_f).ceil().max(s);
    Ok((s as usize, e as usize))
}

fn char_byte_offsets(s: &[u8]) -> Vec<usize> {
    let text = String::from_utf8_lossy(s);
    if text.len() != s.len() {
        // Invalid UTF-8: index bytes.
        return (0..=s.len()).collect();
    }
    let mut offs: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offs.push(s.len());
    offs
}

fn index_err(t: &Val, k: &Val) -> Error {
    let key = match k {
        Val::Null => "null".to_owned(),
        _ => describe(k),
    };
    Error::new(V::from(format!("Cannot index {} with {key}", kind(t))))
}

fn iter_err(v: &Val) -> Error {
    match v {
        Val::Null => Error::new(V::str("Cannot iterate over null")),
        _ => Error::new(V::from(format!("Cannot iterate over {}", describe(v)))),
    }
}

fn obj_from_range(o: &Map) -> (Option<V>, Option<V>) {
    let get = |k: &str| o.get(&Val::utf8_str(k.to_owned())).cloned().map(V);
    (get("start"), get("end"))
}

impl jaq_core::ValT for V {
    fn from_num(n: &str) -> ValR<V> {
        Ok(V(Val::Num(super::convert::to_num(n))))
    }

    fn from_map<I: IntoIterator<Item = (V, V)>>(iter: I) -> ValR<V> {
        let mut m = Map::default();
        for (k, v) in iter {
            if !matches!(k.0, Val::TStr(_) | Val::BStr(_)) {
                return err(format!("Object keys must be strings, not {}", k.kind()));
            }
            m.insert(k.0, v.0);
        }
        Ok(V(Val::obj(m)))
    }

    fn key_values(self) -> Box<dyn Iterator<Item = ValR<(V, V), V>>> {
        match self.0 {
            Val::Arr(a) => Box::new(
                a.iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, x)| Ok((V::from(i), V(x))))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Val::Obj(o) => Box::new(
                o.iter()
                    .map(|(k, x)| Ok((V(k.clone()), V(x.clone()))))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            other => box_once(Err(iter_err(&other))),
        }
    }

    fn values(self) -> Box<dyn Iterator<Item = ValR<V>>> {
        match self.0 {
            Val::Arr(a) => {
                let a = Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone());
                Box::new(a.into_iter().map(|x| Ok(V(x))))
            }
            Val::Obj(o) => {
                let o = Rc::try_unwrap(o).unwrap_or_else(|o| (*o).clone());
                Box::new(o.into_iter().map(|(_, x)| Ok(V(x))))
            }
            other => box_once(Err(iter_err(&other))),
        }
    }

    fn index(self, index: &V) -> ValR<V> {
        match (&self.0, &index.0) {
            (Val::Null, Val::TStr(_) | Val::BStr(_) | Val::Num(_) | Val::Null | Val::Obj(_)) => {
                Ok(V::null())
            }
            (Val::Obj(o), k @ (Val::TStr(_) | Val::BStr(_))) => {
                Ok(V(o.get(k).cloned().unwrap_or(Val::Null)))
            }
            (Val::Arr(a), Val::Num(n)) => Ok(match abs_index(num_f64(n), a.len()) {
                Some(i) if i >= 0.0 && i < a.len() as f64 => V(a[i as usize].clone()),
                _ => V::null(),
            }),
            (Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(o)) => {
                let (s, e) = obj_from_range(o);
                self.range(s.as_ref()..e.as_ref())
            }
            (Val::Arr(a), Val::Arr(b)) => {
                if b.is_empty() {
                    return Ok(V::null());
                }
                let hits = a
                    .windows(b.len())
                    .enumerate()
                    .filter(|(_, w)| *w == &b[..])
                    .map(|(i, _)| V::from(i));
                Ok(hits.collect())
            }
            (t, k) => Err(index_err(t, k)),
        }
    }

    fn range(self, range: val::Range<&V>) -> ValR<V> {
        match self.0 {
            Val::Null => Ok(V::null()),
            Val::Arr(a) => {
                let (s, e) = slice_bounds(range.start, range.end, a.len())?;
                Ok(V(Val::Arr(Rc::new(a[s..e].to_vec()))))
            }
            Val::TStr(b) | Val::BStr(b) => {
                let offs = char_byte_offsets(&b);
                let (s, e) = slice_bounds(range.start, range.end, offs.len() - 1)?;
                Ok(V(Val::utf8_str(b.slice(offs[s]..offs[e]))))
            }
            other => err(format!("Cannot index {} with object", kind(&other))),
        }
    }

    fn map_values<'a, I: Iterator<Item = ValX<'a, V>>>(
        self,
        opt: Opt,
        f: impl Fn(V) -> I,
    ) -> ValX<'a, V> {
        match self.0 {
            Val::Arr(a) => {
                let a = Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone());
                let mut out = Vec::with_capacity(a.len());
                for x in a {
                    if let Some(y) = f(V(x)).next() {
                        out.push(y?.0);
                    }
                }
                Ok(V(Val::Arr(Rc::new(out))))
            }
            Val::Obj(o) => {
                let o = Rc::try_unwrap(o).unwrap_or_else(|o| (*o).clone());
                let mut out = Map::default();
                for (k, x) in o {
                    if let Some(y) = f(V(x)).next() {
                        out.insert(k, y?.0);
                    }
                }
                Ok(V(Val::obj(out)))
            }
            other => opt.fail(V(other), |v| Exn::from(iter_err(&v.0))),
        }
    }

    fn map_index<'a, I: Iterator<Item = ValX<'a, V>>>(
        self,
        index: &V,
        opt: Opt,
        f: impl Fn(V) -> I,
    ) -> ValX<'a, V> {
        if let (Val::Null | Val::Arr(_) | Val::TStr(_) | Val::BStr(_), Val::Obj(o)) =
            (&self.0, &index.0)
        {
            let (s, e) = obj_from_range(o);
            return self.map_range(s.as_ref()..e.as_ref(), opt, f);
        }
        match (self.0, &index.0) {
            (Val::Null, k @ (Val::TStr(_) | Val::BStr(_))) => {
                let mut m = Map::default();
                if let Some(y) = f(V::null()).next() {
                    m.insert(k.clone(), y?.0);
                    return Ok(V(Val::obj(m)));
                }
                Ok(V::null())
            }
            (Val::Obj(mut o), k @ (Val::TStr(_) | Val::BStr(_))) => {
                let old = o.get(k).cloned();
                let present = old.is_some();
                match f(V(old.unwrap_or(Val::Null))).next() {
                    Some(y) => {
                        let y = y?;
                        Rc::make_mut(&mut o).insert(k.clone(), y.0);
                    }
                    None if present => {
                        Rc::make_mut(&mut o).shift_remove(k);
                    }
                    None => {}
                }
                Ok(V(Val::Obj(o)))
            }
            (Val::Null, Val::Num(n)) => {
                let len = 0;
                set_array_index(Vec::new(), num_f64(n), len, opt, f)
            }
            (Val::Arr(a), Val::Num(n)) => {
                let len = a.len();
                let a = Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone());
                set_array_index(a, num_f64(n), len, opt, f)
            }
            (Val::Arr(a), Val::Arr(_)) => opt.fail(V(Val::Arr(a)), |_| {
                Exn::from(Error::new(V::str(
                    "Cannot update field at array index of array",
                )))
            }),
            (t, k) => {
                let e = index_err(&t, k);
                opt.fail(V(t), |_| Exn::from(e))
            }
        }
    }

    fn map_range<'a, I: Iterator<Item = ValX<'a, V>>>(
        self,
        range: val::Range<&V>,
        opt: Opt,
        f: impl Fn(V) -> I,
    ) -> ValX<'a, V> {
        match self.0 {
            Val::Null | Val::Arr(_) => {
                let mut a = match self.0 {
                    Val::Arr(a) => Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()),
                    _ => Vec::new(),
                };
                let (s, e) = slice_bounds(range.start, range.end, a.len())?;
                let slice = V(Val::Arr(Rc::new(a[s..e].to_vec())));
                let new = match f(slice).next() {
                    Some(y) => match y?.0 {
                        Val::Arr(n) => (*n).clone(),
                        _ => {
                            return Err(Exn::from(Error::new(V::str(
                                "A slice of an array can only be assigned another array",
                            ))));
                        }
                    },
                    None => Vec::new(),
                };
                a.splice(s..e, new);
                Ok(V(Val::Arr(Rc::new(a))))
            }
            Val::TStr(b) | Val::BStr(b) => opt.fail(V(Val::TStr(b)), |_| {
                Exn::from(Error::new(V::str("Cannot update string slices")))
            }),
            other => {
                let e = Error::new(V::from(format!(
                    "Cannot update field at object index of {}",
                    kind(&other)
                )));
                opt.fail(V(other), |_| Exn::from(e))
            }
        }
    }

    fn as_bool(&self) -> bool {
        !matches!(self.0, Val::Null | Val::Bool(false))
    }

    fn into_string(self) -> V {
        match self.0 {
            Val::TStr(b) | Val::BStr(b) => V(Val::TStr(b)),
            other => V::from(V(other).to_json()),
        }
    }
}

/// `.[i] |= f` on an array: negative indices count from the end (before the
/// start is an error), beyond the end pads with null; `f` giving nothing
/// deletes the element (or does nothing when it is not there).
fn set_array_index<'a, I: Iterator<Item = ValX<'a, V>>>(
    mut a: Vec<Val>,
    i: f64,
    len: usize,
    opt: Opt,
    f: impl Fn(V) -> I,
) -> ValX<'a, V> {
    let fail = |a: Vec<Val>, msg: &str| {
        let e = Error::new(V::str(msg));
        opt.fail(V(Val::Arr(Rc::new(a))), |_| Exn::from(e))
    };
    let Some(i) = abs_index(i, len) else {
        return fail(a, "Cannot set array element at NaN index");
    };
    if i < 0.0 {
        return fail(a, "Out of bounds negative array index");
    }
    if i > MAX_SET_INDEX {
        return fail(a, "Array index too large");
    }
    let i = i as usize;
    let old = a.get(i).cloned();
    match f(V(old.clone().unwrap_or(Val::Null))).next() {
        Some(y) => {
            let y = y?;
            if i >= a.len() {
                a.resize(i + 1, Val::Null);
            }
            a[i] = y.0;
        }
        None if old.is_some() => {
            a.remove(i);
        }
        None => {}
    }
    Ok(V(Val::Arr(Rc::new(a))))
}

impl jaq_std::ValT for V {
    fn into_seq<S: FromIterator<V>>(self) -> Result<S, V> {
        match self.0 {
            Val::Arr(a) => Ok(match Rc::try_unwrap(a) {
                Ok(a) => a.into_iter().map(V).collect(),
                Err(a) => a.iter().cloned().map(V).collect(),
            }),
            other => Err(V(other)),
        }
    }

    fn is_int(&self) -> bool {
        match &self.0 {
            Val::Num(Num::Int(_) | Num::BigInt(_)) => true,
            Val::Num(n @ (Num::Float(_) | Num::Dec(_))) => {
                let f = num_f64(n);
                f.is_finite() && f.fract() == 0.0
            }
            _ => false,
        }
    }

    fn as_isize(&self) -> Option<isize> {
        match &self.0 {
            Val::Num(Num::Int(i)) => Some(*i),
            Val::Num(n) => {
                let f = num_f64(n);
                (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as isize)
            }
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        V::as_f64(self)
    }

    fn is_utf8_str(&self) -> bool {
        matches!(self.0, Val::TStr(_))
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Val::TStr(b) | Val::BStr(b) => Some(b),
            _ => None,
        }
    }

    fn as_sub_str(&self, sub: &[u8]) -> V {
        V(jaq_std::ValT::as_sub_str(&self.0, sub))
    }

    fn from_utf8_bytes(b: impl AsRef<[u8]> + Send + 'static) -> V {
        V(<Val as jaq_std::ValT>::from_utf8_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_jq_prints_them() {
        let cases = [
            (2.0, "2"),
            (3.0, "3"),
            (-0.0, "-0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e17, "1e+17"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000"),
            (123456789012345680.0, "123456789012345680"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (3.14e20, "3.14e+20"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::INFINITY, "1.7976931348623157e+308"),
            (f64::NEG_INFINITY, "-1.7976931348623157e+308"),
            (f64::NAN, "null"),
            (1e300 * 10.0, "1e+301"),
            (-1.5, "-1.5"),
        ];
        for (f, want) in cases {
            assert_eq!(format_f64(f), want, "{f}");
        }
    }

    #[test]
    fn descriptions_are_cut_like_jq() {
        assert_eq!(
            V::str("very-long-long-long-long-string").describe(),
            "string (\"very-long-long-long-long...\")"
        );
        assert_eq!(V::from(123isize).describe(), "number (123)");
    }
}
