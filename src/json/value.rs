//! The in-memory JSON document. It promises to remember what a plain data
//! model would forget: object member order (an insertion-ordered map), the
//! exact text of every number, and the exact source text of every string
//! that was written with escapes, so that rendering an untouched value gives
//! back the bytes it was read from.

use std::fmt;

/// Object members in document order; inserting an existing key keeps its
/// first position, which is also how duplicate keys in input are resolved.
pub type Map = indexmap::IndexMap<String, Value>;

/// A JSON value that remembers its source text where a plain model would
/// forget it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string, with its source escapes when it had any.
    String(Str),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in document order.
    Object(Map),
}

/// A JSON number kept as the exact text it was written with ("1.10", "1e3",
/// "12345678901234567890123", "-0").
///
/// Converting through a float would turn "1.10" into "1.1" and lose digits of
/// big integers, which is exactly the silent damage this crate exists to avoid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(Box<str>);

impl Number {
    /// Accepts `s` only if it is exactly one number in RFC 8259 grammar, so a
    /// `Number` can always be written back out as valid JSON.
    pub fn from_text(s: &str) -> Option<Number> {
        match number_end(s.as_bytes(), 0) {
            Ok(end) if end == s.len() => Some(Number(s.into())),
            _ => None,
        }
    }

    /// For text the caller has already run through `number_end`, so parsing
    /// does not validate every number twice.
    pub(super) fn from_checked(s: &str) -> Number {
        Number(s.into())
    }

    /// The number's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An integer.
    pub fn from_i64(i: i64) -> Number {
        Number(i.to_string().into_boxed_str())
    }

    /// `None` for NaN and infinities, which JSON cannot represent. Integral
    /// values get a ".0" so that the result still reads as a float, as most
    /// JSON writers that distinguish the two do.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        // Rust's `{}` for floats is the shortest text that reads back to the
        // same value and never uses exponent notation, so it is always valid
        // JSON number grammar once a fraction is ensured.
        let mut s = format!("{f}");
        if !s.contains('.') {
            s.push_str(".0");
        }
        Some(Number(s.into_boxed_str()))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a number is malformed, with the byte offset where the grammar broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NumberError {
    pub offset: usize,
    pub message: &'static str,
}

/// Scans one number starting at `start` and returns the offset just past it.
///
/// Shared by the parser and `Number::from_text` so the two can never disagree
/// about what a number is.
pub(super) fn number_end(bytes: &[u8], start: usize) -> Result<usize, NumberError> {
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let fail = |offset: usize, message: &'static str| Err(NumberError { offset, message });
    let mut i = start;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => {
            i += 1;
            if digit_at(i) {
                return fail(i, "invalid number: leading zeros are not allowed");
            }
        }
        Some(b'1'..=b'9') => {
            while digit_at(i) {
                i += 1;
            }
        }
        _ => return fail(i, "invalid number: expected a digit"),
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digit_at(i) {
            return fail(
                i,
                "invalid number: expected a digit after the decimal point",
            );
        }
        while digit_at(i) {
            i += 1;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit_at(i) {
            return fail(i, "invalid number: expected a digit in the exponent");
        }
        while digit_at(i) {
            i += 1;
        }
    }
    Ok(i)
}

/// A string value; `raw` holds the exact source text between the quotes when
/// it contained a backslash escape, so untouched strings are written back as
/// they were (e.g. Python's "caf\u00e9").
///
/// Whoever changes `value` should set `raw` to `None`; the renderer also
/// checks that `raw` still decodes to `value` and ignores it if not, so a
/// forgotten `raw` can cost formatting but never content.
#[derive(Clone, Debug)]
pub struct Str {
    /// The decoded text.
    pub value: String,
    /// The source text between the quotes, when it had escapes.
    pub raw: Option<Box<str>>,
}

/// Two strings are the same JSON value whatever escapes they were written with.
impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.value == other.value
    }
}

impl Eq for Str {}

impl Str {
    /// A string without source text.
    pub fn new(s: impl Into<String>) -> Str {
        Str {
            value: s.into(),
            raw: None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(Str::new(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Str::new(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }
}

impl Value {
    /// The JSON type name as users know it, for messages like "expected an
    /// object, found array".
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Container nesting: scalars 0, `[]` 1, `[[1]]` 2. Lets callers keep
    /// built values within what `parse` would accept back (`MAX_DEPTH`).
    pub fn depth(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_grammar() {
        for ok in [
            "0",
            "-0",
            "1.10",
            "1e3",
            "2.50E-3",
            "1E+2",
            "12345678901234567890123",
            "-12.5e10",
        ] {
            let n = Number::from_text(ok);
            assert_eq!(n.as_ref().map(Number::as_str), Some(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1.e3", "0x10", "1 ", " 1", "NaN",
            "Infinity", "1.5.2", "--1",
        ] {
            assert_eq!(Number::from_text(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn number_from_i64_and_f64() {
        assert_eq!(Number::from_i64(-42).as_str(), "-42");
        assert_eq!(Number::from_i64(i64::MIN).as_str(), "-9223372036854775808");
        let f = |x: f64| Number::from_f64(x).map(|n| n.as_str().to_string());
        assert_eq!(f(1.0).as_deref(), Some("1.0"));
        assert_eq!(f(0.1).as_deref(), Some("0.1"));
        assert_eq!(f(-2.5).as_deref(), Some("-2.5"));
        assert_eq!(f(-0.0).as_deref(), Some("-0.0"));
        assert_eq!(f(f64::NAN), None);
        assert_eq!(f(f64::INFINITY), None);
        assert_eq!(f(f64::NEG_INFINITY), None);
        // Whatever from_f64 produces must be acceptable JSON number text.
        for x in [1e300, 1e-300, 123456.789, f64::MAX, f64::MIN_POSITIVE] {
            let text = f(x).unwrap_or_default();
            assert!(Number::from_text(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn str_equality_ignores_raw() {
        let a = Str {
            value: "café".into(),
            raw: Some("caf\\u00e9".into()),
        };
        assert_eq!(a, Str::new("café"));
        assert_ne!(a, Str::new("cafe"));
    }

    #[test]
    fn type_names_and_depth() {
        let arr = Value::Array(vec![Value::Array(vec![1i64.into()])]);
        let mut map = Map::new();
        map.insert("k".into(), arr.clone());
        let obj = Value::Object(map);
        assert_eq!(Value::Null.type_name(), "null");
        assert_eq!(Value::from(true).type_name(), "boolean");
        assert_eq!(Value::from(1i64).type_name(), "number");
        assert_eq!(Value::from("x").type_name(), "string");
        assert_eq!(Value::from(String::from("x")).type_name(), "string");
        assert_eq!(arr.type_name(), "array");
        assert_eq!(obj.type_name(), "object");
        assert_eq!(Value::Null.depth(), 0);
        assert_eq!(Value::Array(vec![]).depth(), 1);
        assert_eq!(Value::Object(Map::new()).depth(), 1);
        assert_eq!(arr.depth(), 2);
        assert_eq!(obj.depth(), 3);
    }
}
