//! JSON values between the library's [`Value`] (numbers as their text,
//! strings with their source escapes) and Python objects.
//!
//! To Python: integers as `int` of any size, other numbers as `float` or,
//! with `decimals="decimal"`, as `decimal.Decimal` from the exact text.
//! From Python: `bool`, `int`, `float`, `Decimal`, `str`, `list`/`tuple`,
//! `dict` with `str` keys, `None`. [`rebuild`] converts an edited object
//! reusing the original values wherever the object still equals them, so
//! their number text and escapes come back as they were.

use jsafe::{MAX_DEPTH, Map, Number, Str, Value};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// How numbers with a fraction or an exponent come to Python.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decimals {
    /// `float` (what `json.load` gives).
    Float,
    /// `decimal.Decimal` from the number's exact text.
    Decimal,
}

impl Decimals {
    pub fn parse(s: &str) -> PyResult<Decimals> {
        match s {
            "float" => Ok(Decimals::Float),
            "decimal" => Ok(Decimals::Decimal),
            other => Err(PyValueError::new_err(format!(
                "decimals must be \"float\" or \"decimal\", not {other:?}"
            ))),
        }
    }
}

static DECIMAL: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

fn decimal_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    DECIMAL
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("decimal")?.getattr("Decimal")?.unbind())
        })
        .map(|c| c.bind(py))
}

fn is_integer_text(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// A JSON number as a Python number.
fn number_to_py<'py>(py: Python<'py>, n: &Number, d: Decimals) -> PyResult<Bound<'py, PyAny>> {
    let text = n.as_str();
    if is_integer_text(text) {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(i.into_pyobject(py)?.into_any());
        }
        // Any size: Python's int() reads the exact digits.
        return py.get_type::<PyInt>().call1((text,));
    }
    match d {
        Decimals::Decimal => decimal_class(py)?.call1((text,)),
        Decimals::Float => {
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            Ok(PyFloat::new(py, f).into_any())
        }
    }
}

/// A value as Python objects.
pub fn to_py<'py>(py: Python<'py>, v: &Value, d: Decimals) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => number_to_py(py, n, d)?,
        Value::String(s) => PyString::new(py, &s.value).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item, d)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, to_py(py, item, d)?)?;
            }
            dict.into_any()
        }
    })
}

/// Why a Python object is not JSON (becomes `InvalidInput`).
#[derive(Debug)]
pub enum NotJson {
    /// A Python error raised while looking at the object.
    Py(PyErr),
    /// The object is not JSON; the text says where and why.
    Refused(String),
}

impl From<PyErr> for NotJson {
    fn from(e: PyErr) -> NotJson {
        NotJson::Py(e)
    }
}

/// A Python object as a value.
pub fn from_py(obj: &Bound<'_, PyAny>) -> Result<Value, NotJson> {
    rebuild(None, obj, 0).map(|(v, _)| v)
}

/// `obj` as a value, reusing the parts of `orig` that `obj` still equals
/// (their number text and string escapes are kept); the flag says whether
/// all of `obj` equals `orig`.
pub fn rebuild(
    orig: Option<&Value>,
    obj: &Bound<'_, PyAny>,
    depth: usize,
) -> Result<(Value, bool), NotJson> {
    if depth > MAX_DEPTH {
        return Err(NotJson::Refused(format!(
            "nested deeper than {MAX_DEPTH} levels (a container that contains itself?)"
        )));
    }
    let py = obj.py();
    if obj.is_none() {
        return Ok((Value::Null, matches!(orig, Some(Value::Null))));
    }
    if let Ok(b) = obj.downcast::<PyBool>() {
        let b = b.is_true();
        return Ok((Value::Bool(b), orig == Some(&Value::Bool(b))));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        let s = s.to_cow()?;
        return Ok(match orig {
            Some(o @ Value::String(os)) if os.value == *s => (o.clone(), true),
            _ => (Value::String(Str::new(s.into_owned())), false),
        });
    }
    if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>() || is_decimal(obj)? {
        if let Some(o @ Value::Number(n)) = orig {
            // Numerically equal: the original text stays (1.10, 1e3).
            let old = number_to_py(py, n, Decimals::Float)?;
            let same = if is_decimal(obj)? {
                obj.eq(decimal_class(py)?.call1((n.as_str(),))?)?
            } else {
                old.eq(obj)?
            };
            if same {
                return Ok((o.clone(), true));
            }
        }
        return number_from_py(obj).map(|n| (Value::Number(n), false));
    }
    if let Ok(dict) = obj.downcast::<PyDict>() {
        let old = match orig {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        };
        let mut same = old.is_some_and(|m| m.len() == dict.len());
        let mut map = Map::with_capacity(dict.len());
        for (k, item) in dict.iter() {
            let Ok(key) = k.downcast::<PyString>() else {
                return Err(NotJson::Refused(format!(
                    "object keys must be str, not {}",
                    k.get_type().name()?
                )));
            };
            let key = key.to_cow()?;
            let before = old.and_then(|m| m.get(&*key));
            let (v, s) = rebuild(before, &item, depth + 1)?;
            same &= s && before.is_some();
            map.insert(key.into_owned(), v);
        }
        return Ok((Value::Object(map), same));
    }
    let seq: Option<Vec<Bound<'_, PyAny>>> = if let Ok(l) = obj.downcast::<PyList>() {
        Some(l.iter().collect())
    } else if let Ok(t) = obj.downcast::<PyTuple>() {
        Some(t.iter().collect())
    } else {
        None
    };
    if let Some(items) = seq {
        let old = match orig {
            Some(Value::Array(a)) => Some(a),
            _ => None,
        };
        let mut same = old.is_some_and(|a| a.len() == items.len());
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let before = old.and_then(|a| a.get(i));
            let (v, s) = rebuild(before, item, depth + 1)?;
            same &= s;
            out.push(v);
        }
        return Ok((Value::Array(out), same));
    }
    Err(NotJson::Refused(format!(
        "{} is not JSON (JSON takes dict, list, tuple, str, int, float, Decimal, bool and None)",
        obj.get_type().name()?
    )))
}

fn is_decimal(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    // Only look for decimal.Decimal when the module is loaded: an object of
    // that class cannot exist otherwise.
    let py = obj.py();
    if DECIMAL.get(py).is_none() {
        let modules = py.import("sys")?.getattr("modules")?;
        if !modules.contains("decimal")? {
            return Ok(false);
        }
    }
    obj.is_instance(decimal_class(py)?)
}

/// A Python number as JSON number text: `int` exactly, `float` as its
/// shortest `repr`, `Decimal` as its `str`; NaN and infinities refused.
fn number_from_py(obj: &Bound<'_, PyAny>) -> Result<Number, NotJson> {
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Number::from_i64(i));
        }
        let text = obj.str()?.to_cow()?.into_owned();
        return Number::from_text(&text)
            .ok_or_else(|| NotJson::Refused(format!("int {text} is not a JSON number")));
    }
    let text = if obj.is_instance_of::<PyFloat>() {
        obj.repr()?.to_cow()?.into_owned()
    } else {
        obj.str()?.to_cow()?.into_owned()
    };
    Number::from_text(&text).ok_or_else(|| {
        NotJson::Refused(format!(
            "{text} is not a JSON number (JSON has no NaN or Infinity)"
        ))
    })
}

/// An RFC 7386 merge patch that turns `old` into `new` (None: they are
/// equal). Removed members become `null`, changed ones their new value,
/// unchanged ones are left out. It is exact only when no new value is
/// `null` (which a merge patch reads as "remove"); the caller checks.
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, va) in a {
                match b.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(vb) => {
                        if let Some(d) = diff(va, vb) {
                            patch.insert(k.clone(), d);
                        }
                    }
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    patch.insert(k.clone(), vb.clone());
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if same_text(old, new) => None,
        _ => Some(new.clone()),
    }
}

/// Equal, and written the same (number text included): a value rebuilt
/// from an unchanged Python object is a clone of the original.
fn same_text(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_str() == y.as_str(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_text(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same_text(v1, v2))
        }
        _ => a == b,
    }
}
