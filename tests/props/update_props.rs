//! Properties of the filter's direct path (documents read straight into the
//! filter's values, outputs written straight from them), checked on
//! generated documents in every formatting style:
//! - `Input::parse` accepts what `parse` accepts, with the same errors;
//! - an update writes valid JSON that means what the `Value` path's result
//!   means, and in a document laid out in its own style it is byte for byte
//!   the `Value` path's result;
//! - parts of a document laid out by hand, which the filter does not touch,
//!   come out byte for byte as they were.
//!
//! Each property runs proptest's default 256 cases (`PROPTEST_CASES` for more).

use std::ops::ControlFlow;

use bytes::Bytes;
use jsafe::filter::{Filter, FilterError, Input, Render};
use jsafe::{Indent, Map, Style, Value, parse, render, validate};
use proptest::prelude::*;
use proptest::sample::select;

use crate::generate::{self, number, same, text};

const KEYS: &[&str] = &["a", "b", "events", "n", "é", "k\"q", "x\ny", "a/b"];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "42",
    "-7",
    "1.10",
    "1e3",
    "2.50E-3",
    "12345678901234567890123",
    "0.5",
    "1234.5",
];

const CHARS: &[char] = &[
    'a', 'z', ' ', '"', '\\', '/', '\n', '\t', '\u{1}', '\u{7f}', 'é', '日', '😀', '\u{FFFD}',
];

/// Spellings a writer may have used, kept by the parser.
const SPELLED: &[&str] = &[
    r"caf\u00e9",
    r"a\/b",
    r"\u0041\u0042",
    r"\ud83d\ude00",
    r"\ud800",
    r"x\udc00y",
];

fn arb_leaf() -> BoxedStrategy<Value> {
    generate::leaf(NUMBERS, CHARS.to_vec(), 6, SPELLED.to_vec())
}

fn arb_value() -> BoxedStrategy<Value> {
    generate::value(arb_leaf(), KEYS, 40)
}

fn arb_object() -> BoxedStrategy<Value> {
    generate::object(KEYS, arb_value())
}

/// New values a filter assigns: none of them equal to a spelled string, so
/// that no spelling could be carried over to them by either path.
fn arb_new() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        select(NUMBERS).prop_map(number),
        select(&["new", "x y", ""][..]).prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((select(KEYS).prop_map(str::to_string), inner), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map>())),
        ]
    })
    .boxed()
}

/// Every style the renderer knows, with indents of 0, 2 or 4 spaces.
fn arb_style() -> impl Strategy<Value = Style> {
    generate::style(&[0, 2, 4])
}

/// Filters that change some members and leave the others alone, or move
/// them; `$k` is a key, `$v` a new value.
const FILTERS: &[&str] = &[
    ".[$k] = $v",
    "del(.[$k])",
    ".[$k] |= .",
    ".[$k] |= (if type == \"object\" then .[$k] = $v else . end)",
    ".[$k] |= (if type == \"array\" then . + [$v] else . end)",
    ".[$k] |= (if type == \"object\" then del(.[$k]) else . end)",
    "with_entries(.)",
    "to_entries | reverse | from_entries",
    ".",
    "{new: $v} + .",
    "{w: .}",
    ".[$k] = .",
    "[.[]]",
    ".[$k]",
];

/// The filters above that move values to another place (containers at
/// another depth are written again, not copied).
const MOVING: &[&str] = &["{w: .}", ".[$k] = .", "[.[]]", ".[$k]"];

/// The one output of `code` on `bytes` through the direct path, written in
/// `style`, copying what is untouched if `copy`.
fn direct(
    code: &str,
    vars: &[(String, Value)],
    bytes: &[u8],
    style: Style,
    copy: bool,
) -> Result<Vec<u8>, FilterError> {
    let input = Input::parse(Bytes::copy_from_slice(bytes), style)
        .map_err(|e| FilterError::Output(e.to_string()))?;
    let filter = Filter::compile(code, vars.to_vec())?;
    let mut outputs = Vec::new();
    filter.run_input(&input, None, &|_| {}, &mut |o| {
        outputs.push(o);
        ControlFlow::Continue(())
    })?;
    let how = Render {
        style,
        sort_keys: false,
        copy,
    };
    let [output] = &outputs[..] else {
        return Err(FilterError::Output(format!("{} outputs", outputs.len())));
    };
    Ok(input.render_document(output, &how)?.into_bytes())
}

/// The same through `Value`s.
fn tree(
    code: &str,
    vars: &[(String, Value)],
    bytes: &[u8],
    style: Style,
) -> Result<Vec<u8>, FilterError> {
    let value = parse(bytes).map_err(|e| FilterError::Output(e.to_string()))?;
    let filter = Filter::compile(code, vars.to_vec())?;
    let mut outputs = filter.run(value)?;
    if outputs.len() != 1 {
        return Err(FilterError::Output(format!("{} outputs", outputs.len())));
    }
    Ok(render(&outputs.remove(0), &style))
}

const INTERESTING: &[u8] = &[
    b'{', b'}', b'[', b']', b'"', b'\\', b',', b':', b' ', b'\n', b'0', b'-', b'.', b'e', b'u',
    b'n', b't', 0x00, 0x7f, 0xC3, 0xFF,
];

proptest! {
    #![proptest_config(generate::config())]

    /// The direct parser reads what `parse` reads and refuses what it
    /// refuses, with the same error.
    #[test]
    fn input_agrees_with_parse_on_damaged_documents(
        value in arb_value(),
        style in arb_style(),
        edits in prop::collection::vec((any::<usize>(), select(INTERESTING), 0u8..3), 0..4),
    ) {
        let mut bytes = render(&value, &style);
        for (at, b, how) in edits {
            let len = bytes.len();
            match how {
                0 if len > 0 => { bytes.remove(at % len); }
                1 => bytes.insert(at % (len + 1), b),
                _ if len > 0 => bytes[at % len] = b,
                _ => {}
            }
        }
        let direct = Input::parse(Bytes::from(bytes.clone()), style);
        match (direct, parse(&bytes)) {
            (Ok(input), Ok(value)) => {
                // What was read is what `parse` read: written out compactly
                // and read back, the two values are the same.
                let compact = Style {
                    indent: Indent::Compact { colon_space: false, comma_space: false },
                    crlf: false,
                    trailing_newline: false,
                    ensure_ascii: false,
                };
                let how = Render { style: compact, sort_keys: false, copy: false };
                let mut out = Vec::new();
                prop_assert!(input.render_into(&mut out, &input.whole(), &how).is_ok());
                let back = parse(&out);
                prop_assert!(back.as_ref().is_ok_and(|b| same(b, &value)), "{}", text(&out));
            }
            (Err(a), Err(b)) => prop_assert_eq!(
                (a.kind, a.offset, a.line, a.column, a.message),
                (b.kind, b.offset, b.line, b.column, b.message)
            ),
            (a, b) => prop_assert!(false, "{}: direct {:?}, parse {:?}", text(&bytes), a.map(|_| ()), b.map(|_| ())),
        }
    }

    /// In a document laid out in its own style, copying what the filter
    /// left untouched gives exactly the bytes of writing every value again;
    /// the output is valid JSON meaning what the `Value` path's result means,
    /// and where the filter moves nothing it is byte for byte that result
    /// (a moved string keeps its spelling only on the direct path).
    #[test]
    fn update_equals_the_value_path_in_every_style(
        doc in arb_object(),
        style in arb_style(),
        code in select(FILTERS),
        key in select(KEYS),
        new in arb_new(),
    ) {
        let bytes = render(&doc, &style);
        let vars = vec![("k".to_string(), Value::from(key)), ("v".to_string(), new)];
        let want = tree(code, &vars, &bytes, style);
        let got = direct(code, &vars, &bytes, style, true);
        let written = direct(code, &vars, &bytes, style, false);
        match (&got, &want) {
            (Ok(got), Ok(want)) => {
                prop_assert!(validate(got).is_ok(), "{}", text(got));
                prop_assert_eq!(text(got), text(written.as_deref().unwrap_or_default()));
                let meaning = (parse(got), parse(want));
                prop_assert!(matches!(&meaning, (Ok(a), Ok(b)) if same(a, b)), "{meaning:?}");
                if !MOVING.contains(&code) {
                    prop_assert_eq!(text(got), text(want));
                }
            }
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "{code}: direct {got:?}, Value path {want:?}"),
        }
    }

    /// A member laid out by hand (here: compactly inside an indented file, or
    /// indented inside a compact one) that the filter does not touch comes
    /// out as it was, wherever the rest of the document changes.
    #[test]
    fn hand_formatted_members_survive(
        doc in arb_object(),
        odd in arb_value(),
        style in arb_style(),
        code in select(&[".zz = 1", "del(.a)", ".n |= 5", "with_entries(.)"][..]),
    ) {
        let Value::Object(mut members) = doc else { unreachable!() };
        members.shift_remove("odd");
        members.insert("odd".to_string(), Value::from("@@odd@@"));
        let mut other = style;
        other.trailing_newline = false;
        other.crlf = false;
        other.indent = match style.indent {
            Indent::Compact { .. } => Indent::Spaces(3),
            _ => Indent::Compact { colon_space: true, comma_space: false },
        };
        let odd_text = render(&odd, &other);
        let laid_out = text(&render(&Value::Object(members.clone()), &style));
        let bytes = laid_out.replacen("\"@@odd@@\"", &text(&odd_text), 1).into_bytes();
        prop_assert!(validate(&bytes).is_ok(), "{}", text(&bytes));
        let out = direct(code, &[], &bytes, style, true);
        prop_assert!(out.is_ok(), "{out:?}");
        let out = out.unwrap_or_default();
        prop_assert!(validate(&out).is_ok());
        prop_assert!(
            out.windows(odd_text.len()).any(|w| w == odd_text.as_slice()),
            "{} lost {}", text(&out), text(&odd_text)
        );
        // And it means what the Value path's result means.
        let want = tree(code, &[], &bytes, style).map(|b| parse(&b).ok());
        let got = parse(&out).ok();
        prop_assert!(
            matches!((&want, &got), (Ok(Some(w)), Some(g)) if same(w, g)),
            "{want:?} vs {got:?}"
        );
    }
}
