//! Messages that tell the truth. Every path that says "nothing was written"
//! (or changed, or appended) is run here, and the file must then be exactly
//! as it was; paths where something was committed must not say it. Also the
//! messages that named the wrong thing: the column of a bad literal, the file
//! of a variable, what `status` could not scan.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

/// One run: files to create, the command, its stdin, the exit code, the
/// file whose bytes a "nothing was …" claim is about, and whether the claim
/// must be made (Some(true)), must not be (Some(false)), or may be (None).
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    stdin: &'static str,
    code: i32,
    target: &'static str,
    claims_nothing: Option<bool>,
    /// Text stderr must hold.
    says: &'static str,
}

const DOC: &str = "{\n  \"n\": 0\n}\n";
const SCHEMA: &str = r#"{"type": "object", "properties": {"n": {"maximum": 2}}}"#;

const CASES: &[Case] = &[
    Case {
        name: "filter error",
        files: &[("f.json", DOC)],
        args: &["update", "f.json", "error(\"x\")"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "x",
    },
    Case {
        name: "two outputs",
        files: &[("f.json", DOC)],
        args: &["update", "f.json", ".a, .b"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "exactly one",
    },
    Case {
        name: "timeout",
        files: &[("f.json", DOC)],
        args: &["update", "f.json", "def f: f; f", "--filter-timeout", "1"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "--filter-timeout",
    },
    Case {
        name: "memory",
        files: &[("f.json", DOC)],
        args: &[
            "update",
            "f.json",
            "reduce range(40) as $i (\"x\"; . + .) | {s: .}",
            "--filter-memory",
            "64M",
        ],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "--filter-memory",
    },
    Case {
        name: "stack overflow",
        files: &[("f.json", DOC)],
        args: &["update", "f.json", "def f: 1 + f; f"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "stack overflow",
    },
    Case {
        name: "schema refuses",
        files: &[("f.json", DOC), ("s.json", SCHEMA)],
        args: &["update", "f.json", ".n = 5", "--schema", "s.json"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "maximum",
    },
    Case {
        name: "merge into a corrupt file",
        files: &[("f.json", "{\"n\": ")],
        args: &["merge", "f.json", "{\"a\": 1}"],
        stdin: "",
        code: 5,
        target: "f.json",
        claims_nothing: Some(true),
        says: "not valid JSON",
    },
    Case {
        name: "merge into an array",
        files: &[("f.json", "[1]\n")],
        args: &["merge", "f.json", "{\"a\": 1}"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "not an object",
    },
    Case {
        name: "append --to a string",
        files: &[("f.json", "{\"a\": \"s\"}\n")],
        args: &["append", "f.json", "--to", ".a", "1"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: ".a",
    },
    Case {
        name: "append to a pretty document",
        files: &[("d.jsonl", "[\n  \"alpha\",\n  \"beta\"\n]")],
        args: &["append", "d.jsonl", "1"],
        stdin: "",
        code: 5,
        target: "d.jsonl",
        claims_nothing: Some(true),
        says: "not a JSON Lines file",
    },
    Case {
        name: "stream fails at its first value",
        files: &[("f.json", DOC)],
        args: &["update", "f.json", ".n = ($in | error)", "--stream"],
        stdin: "\"x\"\n2\n",
        code: 4,
        target: "f.json",
        claims_nothing: Some(true),
        says: "stdin line 1",
    },
    Case {
        name: "stream fails after two values",
        files: &[("f.json", DOC)],
        args: &[
            "update", "f.json", ".n = $in", "--stream", "--schema", "s.json",
        ],
        stdin: "1\n2\n3\n",
        code: 4,
        target: "f.json",
        claims_nothing: Some(false),
        says: "the 2 values before it are committed",
    },
    Case {
        name: "merge stream with a bad patch",
        files: &[("f.json", DOC)],
        args: &["merge", "f.json", "--stream"],
        stdin: "{\"a\": 1}\n[2]\n",
        code: 4,
        target: "f.json",
        claims_nothing: Some(false),
        says: "the value before it is committed",
    },
    Case {
        name: "append - with a bad line",
        files: &[],
        args: &["append", "l.jsonl", "-"],
        stdin: "{\"a\": 1}\n{\"b\": 2}\nnot json\n",
        code: 4,
        target: "l.jsonl",
        claims_nothing: Some(false),
        says: "stdin line 3",
    },
    Case {
        name: "append - refused by the schema",
        files: &[("s.json", SCHEMA)],
        args: &["append", "l.jsonl", "-", "--schema", "s.json"],
        stdin: "{\"n\": 1}\n{\"n\": 3}\n",
        code: 4,
        target: "l.jsonl",
        claims_nothing: Some(false),
        says: "the value before it is committed",
    },
    Case {
        name: "read with a variable from an endless device",
        files: &[("f.json", DOC)],
        args: &["read", "--rawfile", "x", "/dev/zero", "f.json", "1"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(false),
        says: "/dev/zero",
    },
    Case {
        name: "read with a stack overflow",
        files: &[("f.json", DOC)],
        args: &["read", "f.json", "def f: 1 + f; f"],
        stdin: "",
        code: 4,
        target: "f.json",
        claims_nothing: Some(false),
        says: "stack overflow",
    },
];

fn claims_nothing(stderr: &str) -> bool {
    [
        "nothing was written",
        "nothing was changed",
        "nothing was appended",
    ]
    .iter()
    .any(|c| stderr.contains(c))
}

#[test]
fn every_nothing_was_written_is_true_and_said_only_when_true() {
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, text) in case.files {
            fs::write(d.join(name), text).unwrap();
        }
        if case.name == "stream fails after two values" {
            fs::write(d.join("s.json"), SCHEMA).unwrap();
        }
        let target = d.join(case.target);
        let before = fs::read(&target).ok();
        let out = run_stdin(d, case.args, case.stdin.as_bytes());
        out.fails(case.code);
        out.stderr_has(case.says);
        let claimed = claims_nothing(&out.stderr);
        if let Some(want) = case.claims_nothing {
            assert_eq!(claimed, want, "{}: {}", case.name, out.stderr);
        }
        if claimed {
            assert_eq!(
                fs::read(&target).ok(),
                before,
                "{}: said nothing was written, but {} changed: {}",
                case.name,
                case.target,
                out.stderr
            );
        } else if case.args.contains(&"--stream") || case.args.contains(&"-") {
            assert_ne!(
                fs::read(&target).ok(),
                before,
                "{}: values were said to be committed: {}",
                case.name,
                out.stderr
            );
        }
    }
}

#[test]
fn a_bad_literal_is_placed_at_the_byte_that_differs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (text, column, found) in [
        ("not json", 2, "'o'"),
        ("[nul]", 5, "']'"),
        ("{\"a\": tru}", 10, "'}'"),
        ("[fals, 1]", 6, "','"),
    ] {
        fs::write(d.join("f.json"), text).unwrap();
        run(d, &["read", "f.json"])
            .fails(5)
            .stderr_has(&format!("line 1, column {column}:"))
            .stderr_has(&format!("found {found}"));
        run(d, &["merge", "g.json", text])
            .fails(4)
            .stderr_has(&format!("column {column}:"));
    }
}

#[test]
fn status_of_a_missing_path_does_not_call_it_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["status", "missing.json"]);
    assert_ne!(out.code, 0);
    let all = format!("{}{}", out.stdout_str(), out.stderr);
    assert!(!all.contains("directory not readable"), "{all}");
    assert!(all.contains("missing.json"), "{all}");
}

#[test]
fn a_variable_file_that_does_not_end_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), DOC).unwrap();
    for opt in ["--rawfile", "--slurpfile"] {
        run(d, &["read", opt, "x", "/dev/zero", "f.json", "1"])
            .fails(4)
            .stderr_has(opt)
            .stderr_has("/dev/zero");
    }
    assert!(Path::new("/dev/zero").exists());
}
