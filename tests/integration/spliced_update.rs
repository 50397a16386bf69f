//! The spliced path of `update` (a path update run over only the paths it
//! addresses, its result written into the file's untouched bytes) against
//! the general path (the whole document read into values): byte for byte
//! the same file, over random documents in every layout × every recognised
//! form, and the forms recognised are the ones taken.
//!
//! Each property runs proptest's default 256 cases (`PROPTEST_CASES` for more).

use std::ops::ControlFlow;

use bytes::Bytes;
use jsafe::__internals::Spine;
use jsafe::filter::{Ending, Filter, Input, Render};
use jsafe::{Indent, Map, Number, Style, Value, parse, render, validate};
use proptest::prelude::*;
use proptest::sample::select;

const KEYS: &[&str] = &["a", "b", "events", "n", "é", "k\"q", "x\ny"];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "42",
    "-7",
    "1.10",
    "1e3",
    "12345678901234567890123",
];

fn number(text: &str) -> Value {
    Value::Number(Number::from_text(text).unwrap_or_else(|| Number::from_i64(0)))
}

fn arb_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        select(NUMBERS).prop_map(number),
        select(&["", "x", "caf\u{e9}", "a\"b", "\n"][..]).prop_map(Value::from),
    ]
    .boxed()
}

fn arb_value() -> BoxedStrategy<Value> {
    arb_leaf()
        .prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((select(KEYS).prop_map(str::to_string), inner), 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map>())),
            ]
        })
        .boxed()
}

fn arb_object() -> BoxedStrategy<Value> {
    prop::collection::vec((select(KEYS).prop_map(str::to_string), arb_value()), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map>()))
        .boxed()
}

fn arb_style() -> impl Strategy<Value = Style> {
    let indent = prop_oneof![
        (any::<bool>(), any::<bool>()).prop_map(|(colon_space, comma_space)| Indent::Compact {
            colon_space,
            comma_space
        }),
        select(&[0u8, 2, 4][..]).prop_map(Indent::Spaces),
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

/// A path step: a key or an array index.
#[derive(Clone, Debug)]
enum Step {
    Key(&'static str),
    Index(i64),
}

fn arb_path(indexes: bool) -> BoxedStrategy<Vec<Step>> {
    let step = if indexes {
        prop_oneof![
            3 => select(KEYS).prop_map(Step::Key),
            1 => (-2i64..3).prop_map(Step::Index),
        ]
        .boxed()
    } else {
        select(KEYS).prop_map(Step::Key).boxed()
    };
    prop::collection::vec(step, 1..4).boxed()
}

/// `.["a"][0]["k\"q"]`: the path in jq syntax.
fn jq_path(path: &[Step]) -> String {
    let mut s = String::from(".");
    for step in path {
        match step {
            Step::Key(k) => s.push_str(&format!("[{}]", serde_json::to_string(k).unwrap())),
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// `["a", 0]`: the path as an array, for setpath.
fn jq_array(path: &[Step]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Step::Key(k) => serde_json::to_string(k).unwrap(),
            Step::Index(i) => i.to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The recognised forms; `P` is the path, `A` the path as an array, `$v` a
/// value.
const FORMS: &[&str] = &[
    "P = $v",
    "P = 7",
    "P |= . + 1",
    "P |= tostring",
    "P |= (if type == \"array\" then map(type) else . end)",
    "P |= length",
    "P += $v",
    "P += [$v]",
    "P |= . + [$v]",
    "P += {\"k\": $v}",
    "P -= [1]",
    "P *= 2",
    "del(P)",
    "P //= $v",
    "setpath(A; $v)",
    "P = $__loc__",
    "P |= empty",
];

fn form(template: &str, path: &[Step]) -> String {
    template
        .replace('P', &jq_path(path))
        .replace('A', &jq_array(path))
}

/// The file a run of `code` on `bytes` writes, through the general path
/// (`None`: the run stores nothing: an error, or not exactly one value).
fn general(filter: &Filter, bytes: &[u8], style: Style) -> Option<Vec<u8>> {
    let input = Input::parse(Bytes::copy_from_slice(bytes), style).ok()?;
    store(filter, &input, style)
}

/// The same through the spliced path (`None`: it gives up, and the general
/// path runs).
///
/// A stored document's bytes were validated whole before, and its reading
/// skips what is off the spine without checking it again
/// (`parse_spine_validated`): on valid bytes that gives the same file.
fn spliced(filter: &Filter, spine: &Spine, bytes: &[u8], style: Style) -> Option<Vec<u8>> {
    let input = Input::parse_spine(Bytes::copy_from_slice(bytes), style, spine, true).ok();
    let checked = input.and_then(|input| store(filter, &input, style));
    if validate(bytes).is_ok() {
        let input =
            Input::parse_spine_validated(Bytes::copy_from_slice(bytes), style, spine, true).ok();
        let skipped = input.and_then(|input| store(filter, &input, style));
        assert_eq!(
            checked.as_deref().map(text),
            skipped.as_deref().map(text),
            "the validated reading differs on {}",
            text(bytes)
        );
    }
    checked
}

fn store(filter: &Filter, input: &Input, style: Style) -> Option<Vec<u8>> {
    let mut outputs = Vec::new();
    let ran = filter.run_input(input, None, &|_| {}, &mut |o| {
        outputs.push(o);
        if outputs.len() > 1 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let [output] = &outputs[..] else { return None };
    if ran != Ok(Ending::Finished) {
        return None;
    }
    let how = Render {
        style,
        sort_keys: false,
        copy: true,
    };
    Some(input.render_document(output, &how).ok()?.into_bytes())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `doc` written in `style`, with one member written in another layout
/// (copied as it is by both paths when untouched).
fn layout(doc: &Value, style: Style, odd: bool) -> Vec<u8> {
    let bytes = render(doc, &style);
    if !odd {
        return bytes;
    }
    let Value::Object(members) = doc else {
        return bytes;
    };
    let Some((_, first)) = members
        .iter()
        .find(|(_, v)| matches!(v, Value::Object(_) | Value::Array(_)))
    else {
        return bytes;
    };
    let mut other = style;
    other.trailing_newline = false;
    other.crlf = false;
    other.indent = match style.indent {
        Indent::Compact { .. } => Indent::Spaces(3),
        _ => Indent::Compact {
            colon_space: true,
            comma_space: false,
        },
    };
    let (want, odd) = (
        text(&render(first, &{
            let mut s = style;
            s.trailing_newline = false;
            s
        })),
        text(&render(first, &other)),
    );
    // Only the first copy at the top level's own depth is laid out again;
    // the document stays valid either way (it is checked).
    let out = text(&bytes).replacen(&want, &odd, 1).into_bytes();
    if validate(&out).is_ok() { out } else { bytes }
}

proptest! {
    /// Every recognised form on random documents in every layout: the
    /// spliced path, where it stores a value, writes exactly the bytes of
    /// the general path; where it gives up the general path runs (and the
    /// forms that cannot fail on objects must not give up).
    #[test]
    fn spliced_and_general_paths_write_the_same_bytes(
        doc in arb_object(),
        style in arb_style(),
        odd in any::<bool>(),
        template in select(FORMS),
        path in arb_path(true),
        new in arb_value(),
    ) {
        let bytes = layout(&doc, style, odd);
        let code = form(template, &path);
        let spine = Spine::for_update(&code);
        prop_assert!(spine.is_some(), "not recognised: {code}");
        let spine = spine.unwrap_or_else(|| unreachable!());
        let filter = Filter::compile(&code, vec![("v".to_string(), new)]);
        prop_assert!(filter.is_ok(), "{code}: {:?}", filter.err());
        let filter = filter.unwrap_or_else(|_| unreachable!());
        let want = general(&filter, &bytes, style);
        let got = spliced(&filter, &spine, &bytes, style);
        if let Some(got) = &got {
            prop_assert_eq!(Some(text(got)), want.as_deref().map(text), "{} on {}", code, text(&bytes));
        }
        if template == "P = $v" && matches!(path.as_slice(), [Step::Key(_)]) {
            prop_assert!(got.is_some(), "{code} gave up on {}", text(&bytes));
        }
    }

    /// Chains of key-path forms joined with `|`.
    #[test]
    fn chains_write_the_same_bytes(
        doc in arb_object(),
        style in arb_style(),
        steps in prop::collection::vec((select(FORMS), arb_path(false)), 2..4),
        new in arb_value(),
    ) {
        let bytes = render(&doc, &style);
        let code = steps.iter().map(|(t, p)| format!("({})", form(t, p))).collect::<Vec<_>>().join(" | ");
        // Parenthesised steps are single terms: the chain is recognised
        // when each step is.
        let plain = steps.iter().map(|(t, p)| form(t, p)).collect::<Vec<_>>().join(" | ");
        let spine = Spine::for_update(&plain);
        prop_assert!(spine.is_some(), "not recognised: {plain}");
        let spine = spine.unwrap_or_else(|| unreachable!());
        let filter = Filter::compile(&code, vec![("v".to_string(), new)]);
        prop_assert!(filter.is_ok(), "{code}: {:?}", filter.err());
        let filter = filter.unwrap_or_else(|_| unreachable!());
        let want = general(&filter, &bytes, style);
        if let Some(got) = spliced(&filter, &spine, &bytes, style) {
            prop_assert_eq!(Some(text(&got)), want.as_deref().map(text), "{} on {}", code, text(&bytes));
        }
    }
}

/// The event-log forms of the speed targets are spliced (not given up on),
/// and only what they address is read: the events are never parsed for a
/// change of `.meta`.
#[test]
fn event_log_updates_are_spliced() {
    let doc = "{\n  \"meta\": {\n    \"count\": 0\n  },\n  \"events\": [\n    {\n      \"id\": 1\n    },\n    {\n      \"id\": 2\n    }\n  ]\n}\n";
    let style = Style::detect(doc.as_bytes());
    let e = parse(br#"{"id": 3}"#).unwrap();
    for (code, want) in [
        (
            ".meta.count = 7",
            doc.replace("\"count\": 0", "\"count\": 7"),
        ),
        (
            ".events += [$e]",
            doc.replace(
                "\"id\": 2\n    }\n",
                "\"id\": 2\n    },\n    {\n      \"id\": 3\n    }\n",
            ),
        ),
        (
            ".events |= . + [$e]",
            doc.replace(
                "\"id\": 2\n    }\n",
                "\"id\": 2\n    },\n    {\n      \"id\": 3\n    }\n",
            ),
        ),
        (
            "del(.meta.count)",
            doc.replace("{\n    \"count\": 0\n  }", "{}"),
        ),
    ] {
        let spine = Spine::for_update(code).unwrap();
        let filter = Filter::compile(code, vec![("e".to_string(), e.clone())]).unwrap();
        let got = spliced(&filter, &spine, doc.as_bytes(), style).unwrap();
        assert_eq!(text(&got), want, "{code}");
        assert_eq!(
            general(&filter, doc.as_bytes(), style).map(|b| text(&b)),
            Some(want)
        );
    }
    // What the path does not reach is never read into values: for
    // `.meta.count = 7` the events array stands in as an empty one (the
    // scanner checks it; the renderer copies its bytes back).
    let spine = Spine::for_update(".meta.count = 7").unwrap();
    let input = Input::parse_spine(Bytes::from(doc.to_owned()), style, &spine, true).unwrap();
    let filter = Filter::compile(".events | length", vec![]).unwrap();
    let mut seen = Vec::new();
    filter
        .run_input(&input, None, &|_| {}, &mut |o| {
            seen.push(o.to_value().unwrap());
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, vec![Value::from(0i64)]);
}

use crate::common;

/// A log with an odd member (laid out by hand) and an escaped string, both
/// of which must survive.
const LOG: &str = "{\n  \"meta\": {\n    \"count\": 0,\n    \"name\": \"caf\\u00e9\"\n  },\n  \"odd\": {\"a\":[1,2],  \"b\":1.10},\n  \"events\": [\n    {\n      \"id\": 1\n    },\n    {\n      \"id\": 2\n    }\n  ]\n}\n";

/// `jsafe ARGS` on a fresh copy of LOG, spliced or not: (exit code, stdout,
/// stderr without the verbose lines, the file afterwards, whether the
/// spliced path said it was taken).
fn cli(args: &[&str], general: bool) -> (Option<i32>, String, String, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log.json"), LOG).unwrap();
    let mut c = common::jsafe(dir.path());
    c.arg("-v").args(args);
    if general {
        c.env("JSAFE_NO_SPLICE", "1");
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let spliced = err.contains("path update:") || err.contains("path filter:");
    let err: String = err
        .lines()
        .filter(|l| {
            !l.contains("path update:") && !l.contains("path filter:") && !l.contains("backup")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let file = std::fs::read_to_string(dir.path().join("log.json")).unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
        file,
        spliced,
    )
}

/// The commands take the spliced path for path filters (and say so with
/// -v), and what they print, exit with and write is what the general path
/// prints, exits with and writes; a path filter that fails there runs again
/// on the whole document and fails as it always has.
#[test]
fn the_commands_splice_path_filters_invisibly() {
    for (args, spliced) in [
        (
            &[
                "update",
                "log.json",
                ".events += [$e]",
                "--argjson",
                "e",
                "{\"id\": 3}",
            ][..],
            true,
        ),
        (
            &["update", "log.json", ".meta.count += 1 | del(.meta.name)"][..],
            true,
        ),
        (&["update", "log.json", ".odd.b |= . * 2"][..], true),
        (&["update", "log.json", ".events[-1].id = 9"][..], true),
        (&["read", "log.json", ".events | length"][..], true),
        // No filter: validated and printed as it is.
        (&["read", "log.json"][..], true),
        (&["read", "log.json", "-c"][..], false),
        (&["read", "missing.json", "--default", "{}"][..], false),
        (&["read", "log.json", ".events[-1]"][..], true),
        (&["read", "log.json", ".odd | map_values(type)"][..], true),
        // Errors: the second run on the whole document reports them.
        (&["update", "log.json", ".meta.count.x = 1"][..], false),
        (&["update", "log.json", ".events += 1"][..], false),
        (&["read", "log.json", ".events.x"][..], false),
        // Not a path filter.
        (
            &["update", "log.json", ".meta.count = (.events | length)"][..],
            false,
        ),
        // Another layout: the general path.
        (
            &["update", "log.json", ".meta.count = 1", "--indent", "4"][..],
            false,
        ),
    ] {
        let fast = cli(args, false);
        let general = cli(args, true);
        assert_eq!(fast.4, spliced, "{args:?}: {fast:?}");
        assert!(!general.4, "{args:?}");
        assert_eq!(
            (&fast.0, &fast.1, &fast.2, &fast.3),
            (&general.0, &general.1, &general.2, &general.3),
            "{args:?}"
        );
    }
}

/// A log of about 600 KB with a hand-laid member after the events: the
/// spliced merge and path updates share the untouched runs with the old
/// version instead of copying them (runs of 64 KiB and more); the file they
/// write is byte for byte what the general path writes (JSAFE_NO_SPLICE,
/// which reads the whole document into values).
#[test]
fn a_big_document_is_written_the_same_when_its_runs_are_shared() {
    let mut log = String::from("{\n  \"meta\": {\n    \"count\": 0\n  },\n  \"events\": [");
    for i in 0..6000 {
        if i > 0 {
            log.push(',');
        }
        log.push_str(&format!(
            "\n    {{\n      \"id\": {i},\n      \"host\": \"w-{}\",\n      \"took\": 1.50\n    }}",
            i % 7
        ));
    }
    log.push_str("\n  ],\n  \"tail\": {\"a\":[1,  2], \"é\": \"caf\\u00e9\"}\n}\n");
    assert!(log.len() > 256 * 1024);
    // A merge is compared with the update that means the same, on the
    // general path.
    let update = |filter: &'static str| vec!["update", "log.json", filter];
    let cases: [(Vec<&str>, Vec<&str>); 6] = [
        (
            vec!["merge", "log.json", "{\"meta\": {\"x\": 1}}"],
            update(".meta.x = 1"),
        ),
        (
            vec!["merge", "log.json", "{\"tail\": null, \"new\": [1]}"],
            update("del(.tail) | .new = [1]"),
        ),
        (
            vec!["update", "log.json", ".events += [{\"id\": -1}]"],
            update(".events += [{\"id\": -1}]"),
        ),
        (update(".meta.count = 7"), update(".meta.count = 7")),
        (update(".tail.a |= . + [3]"), update(".tail.a |= . + [3]")),
        (update("del(.events[0])"), update("del(.events[0])")),
    ];
    for (spliced, plain) in &cases {
        let mut files = Vec::new();
        for (general, args) in [(false, spliced), (true, plain)] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("log.json"), &log).unwrap();
            let mut c = common::jsafe(dir.path());
            c.args(args);
            if general {
                c.env("JSAFE_NO_SPLICE", "1");
            }
            let out = c.output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let file = std::fs::read(dir.path().join("log.json")).unwrap();
            // The journal's hash of the new version is of the bytes written.
            let journal = common::journal_lines(dir.path());
            let last = journal.last().unwrap();
            assert_eq!(
                last["sha256_after"].as_str(),
                Some(jsafe::__internals::sha256_hex(&file).as_str()),
                "{args:?}"
            );
            files.push(file);
        }
        assert!(files[0] != log.as_bytes(), "{spliced:?} changed nothing");
        assert!(
            files[0] == files[1],
            "{spliced:?}: the spliced file differs from the general path's"
        );
    }
}

/// An array a filter only appends to is read as one run when every gap
/// between its items is the separator the file's style writes there, and
/// item by item otherwise: in every layout, with containers and scalars
/// among the items, the file is byte for byte what the general path
/// writes.
#[test]
fn an_append_writes_what_the_general_path_writes_in_every_layout() {
    let docs = [
        "{\n  \"events\": [\n    1,\n    2\n  ]\n}\n",
        "{\n  \"events\": [1, 2, 3],\n  \"b\": 1\n}\n",
        "{\n  \"events\": [\n    {\"a\": 1},\n    [2,3],\n    \"s\\u0041\",\n    1.0e3,\n    -0,\n    null\n  ]\n}\n",
        "{\"events\":[1,2,{\"a\":[3]}],\"z\":0}",
        "{\"events\": [1, 2, {\"a\": [3]}], \"z\": 0}",
        "{\r\n\t\"events\": [\r\n\t\t1,\r\n\t\t\"x\"\r\n\t]\r\n}\r\n",
        "{\n  \"events\": []\n}\n",
        "{\n  \"events\": [\n    1 ,\n    2\n  ]\n}\n",
        "{\n  \"events\": [\n    1,\n\n    2\n  ]\n}\n",
        "{\n  \"a\": {\n    \"events\": [\n      true,\n      false\n    ]\n  }\n}\n",
    ];
    for doc in docs {
        for filter in [
            ".events += [$e]",
            ".events |= . + [$e, 5]",
            ".a.events += [$e] | .a.events += [null]",
            ".events += [$e] | .events += []",
        ] {
            let run = |general: bool| {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("f.json");
                std::fs::write(&file, doc).unwrap();
                let mut c = common::jsafe(dir.path());
                c.args(["update", "f.json", filter, "--argjson", "e", "{\"x\": [1]}"]);
                if general {
                    c.env("JSAFE_NO_SPLICE", "1");
                }
                let out = c.output().unwrap();
                (
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                    std::fs::read_to_string(&file).unwrap(),
                )
            };
            let (fast, general) = (run(false), run(true));
            assert_eq!(fast, general, "{filter} on {doc:?}");
        }
    }
}

/// `jsafe -v read doc.json ARGS…` with `doc` as the file, item by item or
/// (`general`) not: (exit code, stdout, stderr without the verbose lines,
/// whether the array was read item by item).
fn read_items(doc: &str, args: &[&str], general: bool) -> (Option<i32>, String, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.json"), doc).unwrap();
    let mut c = common::jsafe(dir.path());
    c.args(["-v", "read", "doc.json"]).args(args);
    // Item by item from the first byte (by default from 1 MiB).
    c.env("JSAFE_ITEMS_FROM", "0");
    if general {
        c.env("JSAFE_NO_SPLICE", "1");
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let by_items = err.contains("item by item");
    let err = err
        .lines()
        .filter(|l| !l.contains("path filter:"))
        .map(|l| format!("{l}\n"))
        .collect();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
        by_items,
    )
}

/// `read` of a filter that maps over one array (`P | map(F) | G`,
/// `[P[] | F] | G`, `P[] | F`) reads it item by item, and prints, says and exits with
/// what the general path does, in every output layout: numbers and
/// strings as spelled, a repeated key's last value, errors in `F` or `G`, a
/// path that is missing or not an array, an empty array. A document with an
/// escape is read the general way.
#[test]
fn a_filter_mapping_over_an_array_reads_it_item_by_item_invisibly() {
    let plain = "{\n  \"events\": [{\"id\": 0}],\n  \"meta\": {\"a\": 1, \"b\": [2]},\n  \"events\": [\n    {\"id\": 1, \"t\": 1.50, \"s\": \"café\u{7f}\", \"tags\": [\"x\", \"y\"], \"big\": 100000000000000000001},\n    {\"id\": 2, \"t\": 1e2, \"s\": \"plain\", \"tags\": [], \"big\": -0},\n    {\"id\": \"3\", \"t\": -0.0, \"s\": \"\u{1F600}\", \"big\": 1.000}\n  ],\n  \"nested\": [[1, 2], [], [3]],\n  \"empty\": []\n}\n";
    let escaped = plain.replace("\"plain\"", "\"pl\\u0061in\"");
    let taken = [
        ".events | map(.t)",
        ".events | map(.s)",
        ".events | map(.big)",
        ".events | map(.tags[]?)",
        "[.events[] | .id, .t]",
        "[.events[] | .s] | join(\",\")",
        ".events | map(select(.id != 2)) | length",
        ".events | map(empty)",
        ".events | map({s, t})",
        ".nested[0] | map(. * 2)",
        ".nested[-1] | map(.)",
        ".empty | map(.x)",
        "[.nested[] | length] | add",
        ".events[] | .s",
        ".events[] | select(.id != 1) | .tags",
        ".nested[] | .[]",
    ];
    // Recognised, but the general path decides: an error in F or G, no
    // array at the path.
    let given_up = [
        ".events | map(.id + 1)",
        ".events | map(.t) | .[10] | ltrimstr(1)",
        ".missing | map(.x)",
        ".meta | map(.)",
        ".nested[7] | map(.)",
        ".events[] | .id + 1",
    ];
    // A document that is the array itself.
    let array = "[{\"id\": 1, \"t\": 2.50}, {\"id\": 2, \"t\": \"x\"}, 3]\n";
    let array_escaped = array.replace("\"x\"", "\"\\u0078\"");
    let array_taken = [
        "map(.id?)",
        ". | map(.id?) | length",
        "[.[] | .t?]",
        ".[] | tojson",
    ];
    let array_given_up = ["map(.t + 1)", ".[] | .id"];
    let cases = [
        (plain, escaped.as_str(), &taken[..], &given_up[..]),
        (
            array,
            array_escaped.as_str(),
            &array_taken[..],
            &array_given_up[..],
        ),
    ];
    // The filter's variables reach the mapped filter and the one after it.
    let args = [
        "[.events[] | select(.s == $s) | .id + $n] | . + [$n]",
        "--arg",
        "s",
        "plain",
        "--argjson",
        "n",
        "10",
    ];
    let items = read_items(plain, &args, false);
    assert!(items.3, "{args:?}: read item by item");
    assert_eq!(items.1, "[\n  12,\n  10\n]\n");
    let general = read_items(plain, &args, true);
    assert_eq!(
        (items.0, &items.1, &items.2),
        (general.0, &general.1, &general.2)
    );
    let layouts = [
        &[][..],
        &["-c"],
        &["-r"],
        &["-a"],
        &["-S"],
        &["--tab"],
        &["-e"],
    ];
    for ((plain, escaped, taken, given_up), layout) in cases
        .iter()
        .flat_map(|c| layouts.iter().map(move |l| (*c, *l)))
    {
        for (code, expect_items) in taken
            .iter()
            .map(|c| (c, true))
            .chain(given_up.iter().map(|c| (c, false)))
        {
            let args: Vec<&str> = std::iter::once(*code)
                .chain(layout.iter().copied())
                .collect();
            let items = read_items(plain, &args, false);
            let general = read_items(plain, &args, true);
            assert_eq!(items.3, expect_items, "{args:?}: read item by item");
            assert!(!general.3, "{args:?}: JSAFE_NO_SPLICE");
            assert_eq!(items.0, general.0, "{args:?}: exit code");
            assert_eq!(items.1, general.1, "{args:?}: stdout");
            assert_eq!(items.2, general.2, "{args:?}: stderr");
            if expect_items && !layout.contains(&"-e") {
                assert_eq!(items.0, Some(0), "{args:?}: {}", items.2);
            }
            let with_escape = read_items(escaped, &args, false);
            assert!(
                !with_escape.3,
                "{args:?}: read item by item despite an escape"
            );
            let general = read_items(escaped, &args, true);
            assert_eq!(
                (with_escape.0, &with_escape.1, &with_escape.2),
                (general.0, &general.1, &general.2),
                "{args:?} with an escape"
            );
        }
    }
}
