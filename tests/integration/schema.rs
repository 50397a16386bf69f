//! Schemas: `jsafe schema FILE SCHEMA.json` attaches one; from then on every
//! change whose result does not validate is refused with exit 4, naming the
//! failing path and rule, and nothing is written (no new version, no backup,
//! no journal line). `--schema` checks a single command. `status` reports a
//! file that no longer validates.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["count"],
  "properties": {
    "count": {"type": "integer", "minimum": 0},
    "events": {"type": "array", "items": {"type": "object", "required": ["at"]}}
  }
}"#;

/// Everything a refused change must leave as it was.
fn snapshot(d: &Path, name: &str) -> (Vec<u8>, usize, usize) {
    (
        fs::read(d.join(name)).unwrap_or_default(),
        backups(d, name).len(),
        journal_lines(d).len(),
    )
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("schema.json"), SCHEMA).unwrap();
    run(d, &["write", "f.json", "{\"count\": 1, \"events\": []}"]).ok();
    run(d, &["schema", "f.json", "schema.json"]).ok();
    dir
}

#[test]
fn every_command_is_refused_when_its_result_does_not_match() {
    let dir = setup();
    let d = dir.path();
    let refusals: &[&[&str]] = &[
        &["write", "f.json", "{\"count\": -1}"],
        &["merge", "f.json", "{\"count\": \"many\"}"],
        &["merge", "f.json", "{\"count\": null}"],
        &["update", "f.json", ".count -= 5"],
        &["append", "f.json", "--to", ".events", "{\"no_at\": 1}"],
    ];
    for args in refusals {
        let before = snapshot(d, "f.json");
        let out = run(d, args);
        out.fails(4)
            .stderr_has("does not match")
            .stderr_has("nothing was written");
        assert!(
            out.stderr.contains("(rule /"),
            "no rule named: {}",
            out.stderr
        );
        assert_eq!(snapshot(d, "f.json"), before, "{args:?} changed something");
    }
    // The failing path is named.
    run(d, &["update", "f.json", ".count -= 5"]).stderr_has("at /count");
    run(d, &["merge", "f.json", "{\"events\": [{}]}"]).stderr_has("at /events/0");
    // A change that matches goes through.
    run(d, &["merge", "f.json", "{\"count\": 2}"]).ok();
    run(d, &["append", "f.json", "--to", ".events", "{\"at\": 1}"]).ok();
    assert_eq!(
        parse_file(&d.join("f.json")),
        serde_json::json!({"count": 2, "events": [{"at": 1}]})
    );
}

#[test]
fn restore_and_append_are_checked_too() {
    let dir = setup();
    let d = dir.path();
    // A backup made before the schema: the restored version does not match.
    run(d, &["schema", "f.json", "--detach"]).ok();
    run(d, &["write", "f.json", "{\"old\": true}"]).ok();
    run(d, &["write", "f.json", "{\"count\": 5}"]).ok();
    run(d, &["schema", "f.json", "schema.json"]).ok();
    let before = snapshot(d, "f.json");
    run(d, &["restore", "--latest", "f.json"])
        .fails(4)
        .stderr_has("\"count\" is a required property");
    assert_eq!(snapshot(d, "f.json"), before);

    // A JSON Lines file: the schema applies to each line.
    fs::write(
        d.join("line.json"),
        r#"{"type": "object", "required": ["at"]}"#,
    )
    .unwrap();
    run(d, &["append", "ev.jsonl", "{\"at\": 1}"]).ok();
    run(d, &["schema", "ev.jsonl", "line.json"]).ok();
    let before = snapshot(d, "ev.jsonl");
    run(d, &["append", "ev.jsonl", "{\"x\": 1}"]).fails(4);
    assert_eq!(snapshot(d, "ev.jsonl"), before);
    run_stdin(
        d,
        &["append", "ev.jsonl", "-"],
        b"{\"at\": 2}\n{\"x\": 3}\n{\"at\": 4}\n",
    )
    .fails(4)
    .stderr_has("stdin line 2");
    assert_eq!(text(&d.join("ev.jsonl")), "{\"at\":1}\n{\"at\":2}\n");
}

#[test]
fn a_one_off_schema_checks_a_single_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("schema.json"), SCHEMA).unwrap();
    run(d, &["write", "g.json", "{\"count\": 1}"]).ok();
    let before = snapshot(d, "g.json");
    for args in [
        vec!["write", "g.json", "{}", "--schema", "schema.json"],
        vec![
            "merge",
            "g.json",
            "{\"count\": -2}",
            "--schema",
            "schema.json",
        ],
        vec!["update", "g.json", "del(.count)", "--schema", "schema.json"],
        vec![
            "append",
            "g.json",
            "--to",
            ".events",
            "1",
            "--schema",
            "schema.json",
        ],
    ] {
        run(d, &args).fails(4).stderr_has("--schema schema.json");
        assert_eq!(snapshot(d, "g.json"), before, "{args:?}");
    }
    run(
        d,
        &[
            "merge",
            "g.json",
            "{\"count\": 3}",
            "--schema",
            "schema.json",
        ],
    )
    .ok();
    // Without the flag, nothing is checked: the schema is not attached.
    run(d, &["merge", "g.json", "{\"count\": -3}"]).ok();
    run(d, &["write", "g.json", "{}", "--schema", "missing.json"]).fails(6);
}

#[test]
fn status_reports_a_file_that_no_longer_matches() {
    let dir = setup();
    let d = dir.path();
    run(d, &["status", "f.json"]).ok();
    let doc = run(d, &["status", "--json", "f.json"]).json();
    assert_eq!(doc["files"][0]["schema"]["valid"], true);
    // Edited by hand, outside jsafe.
    fs::write(d.join("f.json"), "{\"count\": -7}\n").unwrap();
    let out = run(d, &["status", "--json", "."]);
    assert_eq!(out.code, 9);
    let doc = out.json();
    let f = &doc["files"][0];
    assert_eq!(f["schema"]["valid"], false);
    let problem = f["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("does not match its schema at /count"),
        "{problem}"
    );
    // Every change is refused until one makes it match again.
    run(d, &["merge", "f.json", "{\"other\": 1}"]).fails(4);
    run(d, &["merge", "f.json", "{\"count\": 0}"]).ok();
    run(d, &["status", "f.json"]).ok();
}

#[test]
fn attaching_showing_and_detaching() {
    let dir = setup();
    let d = dir.path();
    let shown = run(d, &["schema", "f.json"]);
    shown.ok();
    assert_eq!(shown.stdout_str().trim(), SCHEMA.trim());
    assert!(d.join(".jsafe/schemas/f.json.json").is_file());
    // A file that does not match is not given the schema, unless --force.
    fs::write(d.join("h.json"), "{\"count\": \"x\"}\n").unwrap();
    run(d, &["schema", "h.json", "schema.json"])
        .fails(4)
        .stderr_has("nothing was attached");
    run(d, &["schema", "h.json"]).fails(6);
    run(d, &["schema", "h.json", "schema.json", "--force"]).ok();
    // Schemas that cannot be used are refused.
    fs::write(d.join("bad.json"), "{\"type\": 42}").unwrap();
    run(d, &["schema", "f.json", "bad.json"]).fails(4);
    fs::write(
        d.join("remote.json"),
        "{\"$ref\": \"https://example.invalid/s.json\"}",
    )
    .unwrap();
    run(d, &["schema", "f.json", "remote.json"]).fails(4);
    fs::write(d.join("notjson.json"), "{").unwrap();
    run(d, &["schema", "f.json", "notjson.json"]).fails(4);
    // Detach: changes are free again; detaching twice is fine.
    run(d, &["schema", "f.json", "--detach"]).ok();
    run(d, &["schema", "f.json", "--detach"])
        .ok()
        .stderr_has("no schema was attached");
    run(d, &["write", "f.json", "{\"count\": -1}"]).ok();
    // A schema file replaced by a symlink is never followed.
    fs::create_dir_all(d.join(".jsafe/schemas")).unwrap();
    std::os::unix::fs::symlink(d.join("schema.json"), d.join(".jsafe/schemas/f.json.json"))
        .unwrap();
    run(d, &["merge", "f.json", "{\"x\": 1}"]).fails(7);
}
