//! Every "next step" a message suggests works in that situation: the
//! commands in backquotes are run as printed (placeholders filled in) and
//! must succeed. Swapped arguments of every command are refused with the
//! right order.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

/// The `jsafe …` commands in backquotes in `message`.
fn suggested(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("jsafe "))
        .map(str::to_owned)
        .collect()
}

/// Run a suggested command line through sh in `dir`, with this build's
/// jsafe first in PATH and placeholders (JSON) filled in.
fn run_suggestion(dir: &Path, line: &str, extra: &str) -> Out {
    let line = line.replace(" JSON", " '{}'");
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = common::command("sh");
    c.arg("-c").arg(format!("{line} {extra}")).current_dir(dir);
    c.env("PATH", path).env("JSAFE_NO_SYNC", "true");
    run_cmd(&mut c, b"")
}

/// The one suggestion of a failed run, which must then work.
fn follow(dir: &Path, out: &Out, extra: &str) -> Out {
    let s = suggested(&out.stderr);
    assert_eq!(s.len(), 1, "one suggestion expected: {}", out.stderr);
    let done = run_suggestion(dir, &s[0], extra);
    assert_eq!(done.code, 0, "`{}` failed: {}", s[0], done.stderr);
    done
}

#[test]
fn merge_write_and_watch_with_file_and_value_swapped_say_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"a\": 1}\n").unwrap();
    let out = run(d, &["merge", "{\"b\": 2}", "f.json"]);
    out.fails(2).stderr_has("the order is FILE PATCH");
    follow(d, &out, "");
    assert_eq!(
        parse_file(&d.join("f.json")),
        serde_json::json!({"a": 1, "b": 2})
    );

    let out = run(d, &["write", "{\"c\": 3}", "f.json"]);
    out.fails(2).stderr_has("the order is FILE JSON");
    follow(d, &out, "");
    assert_eq!(parse_file(&d.join("f.json")), serde_json::json!({"c": 3}));

    let out = run(d, &["watch", ".c", "f.json"]);
    out.fails(2).stderr_has("the order is FILE FILTER");
    // watch prints the current value, then gives up when idle (exit 3).
    let s = suggested(&out.stderr);
    let watched = run_suggestion(d, &s[0], "--timeout 0.2");
    assert_eq!((watched.code, watched.stdout_str().as_str()), (3, "3\n"));
    // Nothing was created under the swapped names.
    assert!(!d.join("{\"b\": 2}").exists() && !d.join(".c").exists());
}

#[test]
fn schema_with_its_arguments_swapped_or_a_missing_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["write", "config.json", "{\"port\": 80}"]).ok();
    fs::write(d.join("config.schema.json"), "{\"type\": \"object\"}").unwrap();
    // The data file given as the schema: refused, nothing attached.
    let out = run(d, &["schema", "config.schema.json", "config.json"]);
    out.fails(2).stderr_has("the order is FILE SCHEMA");
    assert!(
        !d.join(".jsafe/schemas").exists()
            || fs::read_dir(d.join(".jsafe/schemas")).unwrap().count() == 0
    );
    follow(d, &out, "");
    run(d, &["write", "config.json", "[]"]).fails(4);
    // A file that does not exist guards nothing: refused with how to create it.
    let out = run(d, &["schema", "new.json", "config.schema.json"]);
    out.fails(6);
    follow(d, &out, "");
    run(d, &["schema", "new.json", "config.schema.json"]).ok();
    run(d, &["write", "new.json", "1"]).fails(4);
}

/// Every suggestion of a failed run works (exit 0) when run in order.
fn follow_all(dir: &Path, out: &Out) -> usize {
    let all = suggested(&out.stderr);
    for s in &all {
        let done = run_suggestion(dir, s, "");
        assert_eq!(done.code, 0, "`{s}` failed: {}", done.stderr);
    }
    all.len()
}

#[test]
fn read_of_a_corrupt_file_suggests_only_steps_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Managed, with a valid backup: restore and --recover both work.
    run(d, &["write", "m.json", "{\"v\": 1}"]).ok();
    run(d, &["write", "m.json", "{\"v\": 2}"]).ok();
    fs::write(d.join("m.json"), "{\"v\": ").unwrap();
    let out = run(d, &["read", "m.json"]);
    out.fails(5).stderr_has("--recover");
    run(d, &["read", "m.json", "--recover"]).ok();
    fs::write(d.join("m.json"), "{\"v\": ").unwrap();
    let out = run(d, &["read", "m.json"]);
    assert_eq!(follow_all(d, &out), 2);
    assert_eq!(parse_file(&d.join("m.json"))["v"], 1);
    // A file jsafe never changed has no backup: no restore, no --recover.
    fs::write(d.join("plain.json"), "{\"v\": ").unwrap();
    let out = run(d, &["read", "plain.json"]);
    out.fails(5);
    assert!(
        !out.stderr.contains("jsafe restore") && !out.stderr.contains("--recover"),
        "{}",
        out.stderr
    );
    assert_eq!(suggested(&out.stderr).len(), 0);
    // A damaged line inside a log: neither restore nor --recover can fix it.
    fs::write(d.join("log.jsonl"), "{\"a\": 1}\n{\"a\" 2}\n{\"a\": 3}\n").unwrap();
    let out = run(d, &["read", "log.jsonl"]);
    out.fails(5).stderr_has("line 2");
    assert!(
        !out.stderr.contains("jsafe restore") && !out.stderr.contains("--recover"),
        "{}",
        out.stderr
    );
    // A torn last line: `read --recover` works as suggested.
    fs::write(d.join("torn.jsonl"), "{\"a\": 1}\n{\"a\": ").unwrap();
    let out = run(d, &["read", "torn.jsonl"]);
    out.fails(5);
    assert_eq!(follow_all(d, &out), 1);
    assert_eq!(text(&d.join("torn.jsonl")), "{\"a\": 1}\n");
}

#[test]
fn append_and_read_number_a_bad_line_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("log.jsonl"), "{\"a\": 1}\n{\"a\": 2}\n{\"a\" 3}\n").unwrap();
    let read = run(d, &["read", "log.jsonl"]);
    read.fails(5).stderr_has("line 3, column 6");
    let append = run(d, &["append", "log.jsonl", "{}"]);
    append.fails(5).stderr_has("line 3, column 6");
    // Its suggestion, `jsafe status log.jsonl`, shows that line (exit 5).
    let s = suggested(&append.stderr);
    assert_eq!(s.len(), 1);
    let status = run_suggestion(d, &s[0], "");
    assert_eq!(status.code, 5);
    assert!(
        status.stdout_str().contains("line 3, column 6"),
        "{}",
        status.stdout_str()
    );
}

#[test]
fn status_hints_for_corrupt_and_missing_files_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["write", "b.json", "{}"]).ok();
    fs::write(d.join("b.json"), "{").unwrap();
    let out = run(d, &["status"]);
    assert_eq!(out.code, 5);
    let s = suggested(&out.stdout_str());
    assert_eq!(s, ["jsafe restore --list b.json"]);
    assert_eq!(run_suggestion(d, &s[0], "").code, 0);
    fs::remove_file(d.join("b.json")).unwrap();
    run(d, &["write", "c.json", "{}"]).ok();
    run(d, &["write", "c.json", "[]"]).ok();
    fs::remove_file(d.join("c.json")).unwrap();
    let out = run(d, &["status"]);
    assert_eq!(out.code, 9);
    let s = suggested(&out.stdout_str());
    assert_eq!(
        s,
        [
            "jsafe forget b.json",
            "jsafe restore --latest c.json",
            "jsafe forget c.json"
        ]
    );
    // Each works where it is offered: forget the one, restore the other.
    for line in [&s[0], &s[1]] {
        assert_eq!(run_suggestion(d, line, "").code, 0, "{line}");
    }
    assert_eq!(run(d, &["status"]).code, 0);
    // The other way out for c.json works too, once it is gone again.
    fs::remove_file(d.join("c.json")).unwrap();
    assert_eq!(run_suggestion(d, &s[2], "").code, 0);
    assert_eq!(run(d, &["status"]).code, 0);
}

#[test]
fn read_raw_is_raw_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"s\": \"x\"}\n").unwrap();
    assert_eq!(
        run(d, &["read", "f.json", ".s", "--raw"]).ok().stdout_str(),
        "x\n"
    );
}
