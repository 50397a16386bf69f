//! Properties of the JSON core, checked on generated documents and bytes:
//! round trips in every formatting style, the validating scanner against the
//! parser (errors included), the splicing merge against the tree path and
//! against a reference RFC 7386 implementation on serde_json values, and no
//! panic on arbitrary bytes.
//!
//! Each property runs proptest's default 256 cases; for a long run set
//! `PROPTEST_CASES`, e.g. `PROPTEST_CASES=100000 cargo test --release --test props json_props`.
//! A failing case is shrunk and printed, and saved under
//! `tests/props/json_props.proptest-regressions` so it is re-run first from then on.

use jsafe::__internals::{LONE_SURROGATE, merge_splice, merge_splice_validated};
use jsafe::{Indent, Map, SpliceError, Style, Value, merge_patch, parse, render, validate};
use proptest::prelude::*;
use proptest::sample::select;

use crate::generate::{self, same, text};

/// Keys drawn from a small pool so that patches meet the document's members.
const KEYS: &[&str] = &[
    "a", "b", "c", "events", "n", "é", "k\"q", "x\ny", "日本", "a/b",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "42",
    "-7",
    "1.10",
    "1e3",
    "2.50E-3",
    "-12.5e10",
    "12345678901234567890123",
    "0.5",
];

/// Characters for plain strings: ones that need escaping, non-ASCII, and
/// U+FFFD itself (what a lone surrogate reads as).
const CHARS: &[char] = &[
    'a', 'b', 'z', ' ', '"', '\\', '/', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{1}', '\u{1f}', 'é',
    '日', '😀', '\u{FFFD}',
];

/// Source spellings a writer may have used, kept as written by the parser.
const SPELLED: &[&str] = &[
    r"caf\u00e9",
    r"a\/b",
    r"\u0041\u0042",
    r"tab\there",
    r#"\"q\""#,
    r"\ud83d\ude00",
    r"\u65e5\u672c",
];

/// Lone surrogate spellings (Python's and JavaScript's output for them).
const LONE: &[&str] = &[r"\ud800", r"x\udc00y", r"\ud83dA", r"\ude00\ud83d"];

/// A scalar. `lone` allows lone surrogate spellings; `del` allows U+007F,
/// which a file written with `ensure_ascii` escapes but whose style
/// detection cannot see (detection needs an escape of U+0080 or above).
fn arb_leaf(lone: bool, del: bool) -> BoxedStrategy<Value> {
    let mut chars = CHARS.to_vec();
    if del {
        chars.push('\u{7f}');
    }
    let mut spellings = SPELLED.to_vec();
    if lone {
        spellings.extend_from_slice(LONE);
    }
    generate::leaf(NUMBERS, chars, 8, spellings)
}

fn arb_key() -> impl Strategy<Value = String> + Clone {
    generate::key(KEYS)
}

fn arb_value(lone: bool, del: bool) -> BoxedStrategy<Value> {
    generate::value(arb_leaf(lone, del), KEYS, 48)
}

/// A document for a merge: an object at the top.
fn arb_object(lone: bool, del: bool) -> BoxedStrategy<Value> {
    generate::object(KEYS, arb_value(lone, del))
}

/// A merge patch: deletions, replacements and nested patches on the same keys.
fn arb_patch(lone: bool) -> BoxedStrategy<Value> {
    let member = prop_oneof![
        2 => Just(Value::Null),
        3 => arb_value(lone, false),
    ];
    member
        .prop_recursive(3, 24, 4, |inner| {
            prop::collection::vec((arb_key(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map>()))
        })
        .prop_map(|v| match v {
            Value::Object(_) => v,
            other => {
                let mut m = Map::new();
                m.insert("a".to_string(), other);
                Value::Object(m)
            }
        })
        .boxed()
}

/// Every style the renderer knows, with indents of 0, 2, 3 or 4 spaces.
fn arb_style() -> impl Strategy<Value = Style> {
    generate::style(&[0, 2, 3, 4])
}

/// Bytes that matter to the grammar, for mutating documents.
const INTERESTING: &[u8] = &[
    b'{', b'}', b'[', b']', b'"', b'\\', b',', b':', b' ', b'\n', b'\r', b'\t', b'0', b'1', b'-',
    b'+', b'.', b'e', b'E', b'u', b'd', b'8', b'n', b't', b'f', b'l', b'/', b'\'', 0x00, 0x1f,
    0x7f, 0xC3, 0xA9, 0xE6, 0xFF, 0xEF, 0xBB, 0xBF, 0x80,
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize),
    Insert(usize, u8),
    Replace(usize, u8),
    Truncate(usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), select(INTERESTING)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), select(INTERESTING)).prop_map(|(i, b)| Mutation::Replace(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Replace(i, b) if len > 0 => bytes[i % len] = b,
            Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
            _ => {}
        }
    }
    bytes
}

/// `validate` and `parse` agree, errors field for field.
fn assert_agree(bytes: &[u8]) -> Result<(), TestCaseError> {
    match (validate(bytes), parse(bytes)) {
        (Ok(()), Ok(_)) => Ok(()),
        (Err(a), Err(b)) => {
            prop_assert_eq!(
                (a.kind, a.offset, a.line, a.column, a.message),
                (b.kind, b.offset, b.line, b.column, b.message)
            );
            Ok(())
        }
        (a, b) => Err(TestCaseError::fail(format!(
            "{:?}: validate {a:?}, parse {:?}",
            String::from_utf8_lossy(bytes),
            b.map(|_| ())
        ))),
    }
}

/// RFC 7386 section 2, written as the RFC's pseudo-code on serde_json values.
fn reference_merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let Some(members) = target.as_object_mut() {
        for (name, value) in patch {
            if value.is_null() {
                members.shift_remove(name);
            } else {
                let slot = members
                    .entry(name.clone())
                    .or_insert(serde_json::Value::Null);
                reference_merge(slot, value);
            }
        }
    }
}

proptest! {
    #![proptest_config(generate::config())]

    /// What the renderer writes in any style, the parser reads back to the
    /// same value, and rendering that in the same style gives the same bytes.
    #[test]
    fn round_trip_in_every_style(value in arb_value(true, true), style in arb_style()) {
        let bytes = render(&value, &style);
        let parsed = parse(&bytes);
        prop_assert!(parsed.is_ok(), "{}: {:?}", text(&bytes), parsed);
        let parsed = parsed.unwrap_or(Value::Null);
        prop_assert!(same(&parsed, &value));
        prop_assert_eq!(text(&render(&parsed, &style)), text(&bytes));
        prop_assert!(validate(&bytes).is_ok());
    }

    /// A file as a writer in any of these styles lays it out comes back
    /// byte for byte through parse, style detection and render.
    #[test]
    fn detected_style_round_trip(value in arb_object(true, false), style in arb_style()) {
        let bytes = render(&value, &style);
        let detected = Style::detect(&bytes);
        let parsed = parse(&bytes).unwrap_or(Value::Null);
        prop_assert_eq!(text(&render(&parsed, &detected)), text(&bytes));
    }

    /// Lone surrogates survive every round trip as written.
    #[test]
    fn lone_surrogates_round_trip(raw in select(LONE), style in arb_style()) {
        let bytes = format!("[\"{raw}\", {{\"k\": \"{raw}\"}}]").into_bytes();
        let value = parse(&bytes);
        prop_assert!(value.is_ok());
        let value = value.unwrap_or(Value::Null);
        let out = render(&value, &style);
        prop_assert!(text(&out).matches(raw).count() == 2, "{}", text(&out));
        let Value::Array(items) = &value else { return Err(TestCaseError::fail("not an array")) };
        let Some(Value::String(s)) = items.first() else { return Err(TestCaseError::fail("not a string")) };
        prop_assert!(s.value.contains(LONE_SURROGATE));
    }

    /// The scanner and the parser agree on documents with random damage.
    #[test]
    fn validate_agrees_with_parse_on_damaged_documents(
        value in arb_value(true, true),
        style in arb_style(),
        mutations in prop::collection::vec(arb_mutation(), 1..4),
    ) {
        let bytes = mutate(render(&value, &style), &mutations);
        assert_agree(&bytes)?;
    }

    /// ... and on short strings over the grammar's own bytes.
    #[test]
    fn validate_agrees_with_parse_on_grammar_bytes(
        bytes in prop::collection::vec(select(INTERESTING), 0..40),
    ) {
        assert_agree(&bytes)?;
    }

    /// Arbitrary bytes as a file: every entry point returns, none panics.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        patch in arb_patch(true),
    ) {
        assert_agree(&bytes)?;
        let style = Style::detect(&bytes);
        let spliced = merge_splice(&bytes, &style, &patch);
        if let Err(SpliceError::Parse(e)) = &spliced {
            let expected = parse(&bytes).err().map(|e| e.message);
            prop_assert_eq!(Some(&e.message), expected.as_ref());
        }
    }

    /// Damaged documents through the splice: a parse error exactly when the
    /// parser has one, otherwise the merge's meaning.
    #[test]
    fn splice_on_damaged_documents(
        value in arb_object(true, true),
        style in arb_style(),
        mutations in prop::collection::vec(arb_mutation(), 1..3),
        patch in arb_patch(true),
    ) {
        let bytes = mutate(render(&value, &style), &mutations);
        let detected = Style::detect(&bytes);
        match (merge_splice(&bytes, &detected, &patch), parse(&bytes)) {
            (Err(SpliceError::Parse(a)), Err(b)) => prop_assert_eq!(a.message, b.message),
            (Err(SpliceError::NotObject(found)), Ok(v)) => prop_assert_eq!(found, v.type_name()),
            (Ok(out), Ok(mut tree)) => {
                merge_patch(&mut tree, &patch);
                let out = out.unwrap_or_else(|| bytes.clone());
                let reread = parse(&out);
                prop_assert!(reread.is_ok(), "{}", text(&out));
                prop_assert!(same(&reread.unwrap_or(Value::Null), &tree), "{}", text(&out));
            }
            (a, b) => return Err(TestCaseError::fail(format!("splice {a:?}, parse {b:?}"))),
        }
    }

    /// For a file in a style the renderer reproduces, the splice writes
    /// exactly what parse -> merge_patch -> render writes; for any file, it
    /// means the same value.
    #[test]
    fn splice_equals_the_tree_path(
        value in arb_object(true, true),
        style in arb_style(),
        patch in arb_patch(true),
    ) {
        let bytes = render(&value, &style);
        let detected = Style::detect(&bytes);
        let parsed = parse(&bytes).unwrap_or(Value::Null);
        let canonical = render(&parsed, &detected) == bytes;
        let mut tree = parsed;
        merge_patch(&mut tree, &patch);
        let expected = render(&tree, &detected);
        let out = match merge_splice(&bytes, &detected, &patch) {
            Ok(Some(out)) => out,
            Ok(None) => bytes.clone(),
            Err(e) => return Err(TestCaseError::fail(format!("{}: {e}", text(&bytes)))),
        };
        // A change splices with the store's outline of the top level: the
        // same bytes.
        let outlined = match merge_splice_validated(&bytes, &detected, &patch) {
            Ok(Some(out)) => out,
            Ok(None) => bytes.clone(),
            Err(e) => return Err(TestCaseError::fail(format!("outlined {}: {e}", text(&bytes)))),
        };
        prop_assert_eq!(text(&outlined), text(&out));
        if canonical {
            prop_assert_eq!(text(&out), text(&expected));
        }
        let reread = parse(&out);
        prop_assert!(reread.is_ok(), "{}", text(&out));
        prop_assert!(same(&reread.unwrap_or(Value::Null), &tree));
    }

    /// Everything the patch does not name comes out byte for byte: a member
    /// no patch key names keeps its exact bytes, whatever its layout.
    #[test]
    fn untouched_members_keep_their_bytes(
        value in arb_value(true, true),
        patch in arb_patch(true),
    ) {
        // "zz" is in no patch; its value is laid out in a different style
        // from the rest of the file, so re-rendering it would show.
        let inner = render(&value, &Style { indent: Indent::Spaces(1), crlf: false, trailing_newline: false, ensure_ascii: false });
        let mut file = b"{\"zz\": ".to_vec();
        file.extend_from_slice(&inner);
        file.extend_from_slice(b", \"a\": 1}\n");
        let detected = Style::detect(&file);
        match merge_splice(&file, &detected, &patch) {
            Ok(Some(out)) => {
                let mut kept = b"\"zz\": ".to_vec();
                kept.extend_from_slice(&inner);
                prop_assert!(out.windows(kept.len()).any(|w| w == kept.as_slice()), "{}", text(&out));
            }
            Ok(None) => {}
            Err(e) => return Err(TestCaseError::fail(format!("{}: {e}", text(&file)))),
        }
    }

    /// The splice against an independent RFC 7386 implementation on
    /// serde_json values (documents serde_json can read: no lone surrogates).
    #[test]
    fn splice_equals_reference_merge(
        value in arb_object(false, true),
        style in arb_style(),
        patch in arb_patch(false),
    ) {
        let bytes = render(&value, &style);
        let patch_text = render(&patch, &Style::new_file());
        let out = match merge_splice(&bytes, &Style::detect(&bytes), &patch) {
            Ok(Some(out)) => out,
            Ok(None) => bytes.clone(),
            Err(e) => return Err(TestCaseError::fail(format!("{}: {e}", text(&bytes)))),
        };
        let mut reference: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", text(&bytes))))?;
        let patch_value: serde_json::Value = serde_json::from_slice(&patch_text)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", text(&patch_text))))?;
        reference_merge(&mut reference, &patch_value);
        let ours: serde_json::Value = serde_json::from_slice(&out)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", text(&out))))?;
        // Serialized, so member order counts too.
        prop_assert_eq!(
            serde_json::to_string(&ours).unwrap_or_default(),
            serde_json::to_string(&reference).unwrap_or_default()
        );
    }
}

/// The fuzz targets' seed corpus (in the repository): the scanner agrees with
/// the parser on every file, and on every prefix of it.
#[test]
fn validate_agrees_with_parse_on_the_fuzz_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut seen = 0;
    for target in ["parse", "splice"] {
        let dir = std::fs::read_dir(root.join(target)).expect("fuzz/corpus is in the repository");
        for entry in dir {
            let bytes = std::fs::read(entry.expect("corpus entry").path()).expect("corpus file");
            // The splice target's inputs are "patch NUL file": check both halves.
            for part in bytes.split(|&b| b == 0).chain([bytes.as_slice()]) {
                for cut in 0..=part.len() {
                    assert_agree(&part[..cut]).expect("validate and parse disagree");
                }
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} corpus files");
}
