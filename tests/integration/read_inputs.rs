//! `read -s/--slurp`, `read -n/--null-input` with `input`/`inputs`, and
//! `read -` for stdin.

use crate::common;

use std::fs;

use common::*;

fn log(d: &std::path::Path) {
    for (i, t) in ["a", "b", "a", "a"].iter().enumerate() {
        let line = format!("{{\"n\": {}, \"t\": \"{t}\"}}", i + 1);
        run(d, &["append", "log.jsonl", &line]).ok();
    }
}

#[test]
fn slurp_counts_and_groups_the_lines_of_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    log(d);
    assert_eq!(
        run(d, &["read", "log.jsonl", "-s", "length"])
            .ok()
            .stdout_str(),
        "4\n"
    );
    let out = run(
        d,
        &[
            "read",
            "log.jsonl",
            "--slurp",
            "-c",
            "group_by(.t) | map({t: .[0].t, count: length})",
        ],
    );
    assert_eq!(
        out.ok().stdout_str(),
        "[{\"t\":\"a\",\"count\":3},{\"t\":\"b\",\"count\":1}]\n"
    );
    // A document slurped is a one-element array, as in jq.
    fs::write(d.join("f.json"), "{\"a\": 1}\n").unwrap();
    assert_eq!(
        run(d, &["read", "f.json", "-s", "-c"]).ok().stdout_str(),
        "[{\"a\":1}]\n"
    );
}

#[test]
fn null_input_hands_the_values_to_input_and_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    log(d);
    let sum = run(
        d,
        &[
            "read",
            "log.jsonl",
            "-n",
            "reduce inputs as $e (0; . + $e.n)",
        ],
    );
    assert_eq!(sum.ok().stdout_str(), "10\n");
    let two = run(d, &["read", "log.jsonl", "-n", "-c", "[input.n, input.n]"]);
    assert_eq!(two.ok().stdout_str(), "[1,2]\n");
    assert_eq!(
        run(d, &["read", "log.jsonl", "-n"]).ok().stdout_str(),
        "null\n"
    );
    // More `input` calls than values: jq's error, exit 4.
    run(d, &["read", "log.jsonl", "-n", "[limit(5; repeat(input))]"])
        .fails(4)
        .stderr_has("No more inputs");
    assert_eq!(run(d, &["read", "log.jsonl", "-n", "-s"]).code, 2);
}

#[test]
fn stdin_is_read_with_a_dash_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let one = run_stdin(d, &["read", "-", ".a"], b"{\"a\": [1, 2]}\n");
    assert_eq!(one.ok().stdout_str(), "[\n  1,\n  2\n]\n");
    // Several values, one per line, are JSON Lines.
    let many = run_stdin(
        d,
        &["read", "-", "-s", "-c", "map(.a)"],
        b"{\"a\":1}\n{\"a\":2}\n",
    );
    assert_eq!(many.ok().stdout_str(), "[1,2]\n");
    // Without a filter the bytes come back as they are.
    assert_eq!(
        run_stdin(d, &["read", "-"], b"{\"a\":   1}")
            .ok()
            .stdout_str(),
        "{\"a\":   1}\n"
    );
    // Invalid input is bad input, not a corrupt file.
    run_stdin(d, &["read", "-"], b"{\"a\":")
        .fails(4)
        .one_line_error();
    run_stdin(d, &["read", "-", "--recover"], b"{}").fails(2);
    assert!(names_in(d).is_empty(), "{:?}", names_in(d));
}
