//! Shell values into JSON: `--arg`, `--argjson`, `--args`/`--jsonargs`,
//! `--slurpfile` and `--rawfile` on `merge`, `write`, `append` and `watch`.
//! With a variable the value argument is a jq expression evaluated with null
//! input; without one it stays literal JSON.

use crate::common;

use std::fs;

use common::*;

/// A value that breaks out of a JSON string built by interpolation.
const HOSTILE: &str = "x\", \"admin\": true, \"y\": \"\\u0000\n$(id)";

#[test]
fn merge_with_arg_stores_a_hostile_string_as_one_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"port\": 1}\n").unwrap();
    run(d, &["merge", "f.json", "{host: $h}", "--arg", "h", HOSTILE]).ok();
    let v = parse_file(&d.join("f.json"));
    assert_eq!(v, serde_json::json!({"port": 1, "host": HOSTILE}));
}

#[test]
fn write_append_and_merge_take_every_kind_of_variable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("list.json"), "[1, 2]\n").unwrap();
    fs::write(d.join("raw.txt"), "line\n").unwrap();
    run(
        d,
        &[
            "write",
            "w.json",
            "{n: $n, l: $l, r: $r, p: $ARGS.positional}",
            "--argjson",
            "n",
            "{\"k\": 5}",
            "--slurpfile",
            "l",
            "list.json",
            "--rawfile",
            "r",
            "raw.txt",
            "--jsonargs",
            "7",
            "true",
        ],
    )
    .ok();
    assert_eq!(
        parse_file(&d.join("w.json")),
        serde_json::json!({"n": {"k": 5}, "l": [[1, 2]], "r": "line\n", "p": [7, true]})
    );
    run(
        d,
        &["append", "e.jsonl", "{event: $e}", "--arg", "e", HOSTILE],
    )
    .ok();
    run(d, &["append", "e.jsonl", "{\"event\": \"literal\"}"]).ok();
    let lines: Vec<serde_json::Value> = text(&d.join("e.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            serde_json::json!({"event": HOSTILE}),
            serde_json::json!({"event": "literal"})
        ]
    );
    run(
        d,
        &[
            "append",
            "w.json",
            "$ARGS.positional[0]",
            "--to",
            ".q",
            "--args",
            "a b",
        ],
    )
    .ok();
    assert_eq!(
        parse_file(&d.join("w.json"))["q"],
        serde_json::json!(["a b"])
    );
}

#[test]
fn without_variables_the_value_stays_literal_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A jq expression without any variable is not JSON: refused, nothing created.
    run(d, &["merge", "f.json", "{a: 1}"])
        .fails(4)
        .one_line_error();
    assert!(!d.join("f.json").exists());
    run(d, &["write", "f.json", "{\"a\": 1}"]).ok();
    assert_eq!(parse_file(&d.join("f.json")), serde_json::json!({"a": 1}));
}

#[test]
fn an_expression_must_give_exactly_one_value_and_nothing_is_written_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"a\": 1}\n").unwrap();
    let before = bytes(&d.join("f.json"));
    for expr in ["empty", "$x, $x", "error(\"no\")", "{a: $undefined}"] {
        run(d, &["merge", "f.json", expr, "--arg", "x", "1"])
            .fails(4)
            .one_line_error();
        assert_eq!(bytes(&d.join("f.json")), before, "{expr}");
    }
    // The expression is stdin's only with literal JSON.
    run_stdin(d, &["merge", "f.json", "-", "--arg", "x", "1"], b"{}")
        .fails(2)
        .one_line_error();
    run_stdin(
        d,
        &["merge", "f.json", "--stream", "--arg", "x", "1"],
        b"{}",
    )
    .fails(2)
    .one_line_error();
    assert_eq!(bytes(&d.join("f.json")), before);
}

#[test]
fn an_expression_is_evaluated_before_the_lock_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{}\n").unwrap();
    // Another process holds the lock: a bad expression still fails at once
    // with exit 4, not with a lock timeout (3).
    let _held = hold_lock(d, "f.json", std::process::id(), "test");
    run(
        d,
        &[
            "--timeout",
            "0",
            "merge",
            "f.json",
            "{a: $x} | error",
            "--arg",
            "x",
            "1",
        ],
    )
    .fails(4);
}

#[test]
fn watch_binds_variables_in_its_filter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"host\": \"a\"}\n").unwrap();
    let out = run(
        d,
        &[
            "watch",
            "f.json",
            ".host == $h",
            "--arg",
            "h",
            "a",
            "--timeout",
            "1",
        ],
    );
    out.fails(3);
    assert_eq!(out.stdout_str(), "true\n");
}
