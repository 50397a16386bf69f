//! The random-document generators both property suites draw from: scalars
//! spelled the ways writers spell them, nested values, top-level objects and
//! every formatting style the renderer knows. Each suite passes its own pools
//! (keys, numbers, characters, spellings), so a suite's generated cases stay
//! what they were when the generators lived in the suite.

use jsafe::{Indent, Map, Number, Str, Style, Value, parse};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;

/// proptest's defaults (256 cases, `PROPTEST_CASES` to change that), with
/// failing cases saved beside the suite's source: `json_props.rs` keeps them
/// in `json_props.proptest-regressions`. (proptest's default would put them
/// under `tests/proptest-regressions/` now that the suites sit beside a
/// `main.rs`.)
pub fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// A string value that keeps `raw` as its source spelling (as the parser
/// keeps it when it reads `"raw"`).
pub fn spelled(raw: &str) -> Value {
    let value = match parse(format!("\"{raw}\"").as_bytes()) {
        Ok(Value::String(s)) => s.value,
        other => panic!("{raw}: {other:?}"),
    };
    Value::String(Str {
        value,
        raw: Some(raw.into()),
    })
}

/// A number kept as written.
pub fn number(text: &str) -> Value {
    Value::Number(Number::from_text(text).unwrap_or_else(|| Number::from_i64(0)))
}

/// A scalar: null, a boolean, a number from `numbers`, a plain string of up
/// to `max_chars - 1` characters from `chars`, or a string from `spellings`
/// kept as spelled.
pub fn leaf(
    numbers: &'static [&'static str],
    chars: Vec<char>,
    max_chars: usize,
    spellings: Vec<&'static str>,
) -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        select(numbers).prop_map(number),
        prop::collection::vec(select(chars), 0..max_chars)
            .prop_map(|cs| Value::from(cs.into_iter().collect::<String>())),
        select(spellings).prop_map(spelled),
    ]
    .boxed()
}

/// A key from `keys`.
pub fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    select(keys).prop_map(str::to_string)
}

/// A value of `leaf`s nested up to 4 deep in arrays and objects (keys from
/// `keys`), about `size` nodes at most.
pub fn value(
    leaf: BoxedStrategy<Value>,
    keys: &'static [&'static str],
    size: u32,
) -> BoxedStrategy<Value> {
    leaf.prop_recursive(4, size, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(keys), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map>())),
        ]
    })
    .boxed()
}

/// A document with an object at the top: up to 5 members of `value`.
pub fn object(keys: &'static [&'static str], value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop::collection::vec((key(keys), value), 0..6)
        .prop_map(|members| Value::Object(members.into_iter().collect::<Map>()))
        .boxed()
}

/// Every style the renderer knows: compact (with and without spaces after
/// `:` and `,`), indents of `spaces` spaces, tabs; CRLF or not; final newline
/// or not; ASCII-only or not.
pub fn style(spaces: &'static [u8]) -> impl Strategy<Value = Style> {
    let indent = prop_oneof![
        (any::<bool>(), any::<bool>()).prop_map(|(colon_space, comma_space)| Indent::Compact {
            colon_space,
            comma_space
        }),
        select(spaces).prop_map(Indent::Spaces),
        Just(Indent::Tab),
    ];
    (indent, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(indent, crlf, trailing_newline, ensure_ascii)| Style {
            indent,
            crlf,
            trailing_newline,
            ensure_ascii,
        },
    )
}

/// Values equal including object member order (`Value`'s `==` ignores it).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        _ => a == b,
    }
}

/// Bytes as text, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
