//! docs/json-output.md describes the JSON documents of `status --json`,
//! `cleanup-locks --json` and `test --json`: every field it lists is in real
//! output, and real output has no field it does not list.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common;
use common::{jsafe, ok};

/// The documented field paths of the section whose heading names `command`.
fn documented(command: &str) -> Vec<String> {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-output.md"))
        .unwrap();
    let heading = format!("## `{command}`");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("docs/json-output.md has no section {heading}"));
    let section = &doc[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let fields: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(path, _)| path.to_owned())
        .collect();
    assert!(fields.len() > 5, "{command}: {fields:?}");
    fields
}

/// The values at `path` (`a[].b`), over every element of the arrays on the way.
fn at<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut here = vec![v];
    for part in path.split('.') {
        let (key, each) = match part.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for h in here {
            let Some(v) = h.get(key) else { continue };
            if each {
                next.extend(v.as_array().into_iter().flatten());
            } else {
                next.push(v);
            }
        }
        here = next;
    }
    here
}

/// Every field path in `v` (arrays as `[]`), not descending below `opaque`.
fn paths(v: &Value, prefix: &str, opaque: &[&str], out: &mut BTreeSet<String>) {
    if opaque.contains(&prefix) {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(child, &p, opaque, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                if item.is_object() {
                    let p = format!("{prefix}[]");
                    for (k, child) in item.as_object().into_iter().flatten() {
                        let q = format!("{p}.{k}");
                        out.insert(q.clone());
                        paths(child, &q, opaque, out);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Documented and real fields agree: each documented one is present
/// (somewhere, when it is inside an array), and nothing undocumented is.
fn agree(command: &str, docs: &[Value], opaque: &[&str]) {
    let fields = documented(command);
    for field in &fields {
        assert!(
            docs.iter().any(|d| !at(d, field).is_empty()),
            "{command}: the documented field {field} is in no output: {docs:?}"
        );
    }
    let mut real = BTreeSet::new();
    for d in docs {
        paths(d, "", opaque, &mut real);
    }
    for field in real {
        assert!(
            fields.contains(&field),
            "{command}: the output has {field}, which docs/json-output.md does not describe"
        );
    }
    for d in docs {
        assert_eq!(d["version"], 1, "{command}");
    }
}

fn json_of(dir: &Path, args: &[&str]) -> Value {
    let out = jsafe(dir).args(args).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Files in every state the documents describe: healthy with backups, a
/// journal, a schema and a left-over lock; corrupt with a quarantined version.
fn fixture(dir: &Path) {
    ok(dir, &["merge", "ok.json", r#"{"n": 1}"#]);
    ok(dir, &["merge", "ok.json", r#"{"n": 2}"#]);
    fs::write(dir.join("schema.json"), r#"{"type": "object"}"#).unwrap();
    ok(dir, &["schema", "ok.json", "schema.json"]);
    ok(dir, &["merge", "bad.json", r#"{"n": 1}"#]);
    fs::write(dir.join("bad.json"), "{\"n\": ").unwrap();
    fs::write(dir.join("q.json"), "{broken").unwrap();
    ok(dir, &["write", "q.json", "{}"]);
    ok(dir, &["append", "log.jsonl", r#"{"e": 1}"#]);
}

#[test]
fn status_json_has_the_documented_fields() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    let doc = json_of(d.path(), &["status", "--json"]);
    assert_eq!(doc["exit_code"], 5, "{doc}");
    let holder = &at(&doc, "files[].lock.holder")
        .into_iter()
        .find(|h| !h.is_null())
        .unwrap()
        .clone();
    agree("jsafe status --json", &[doc], &[]);
    // cleanup-locks documents its holder as status's.
    let d2 = tempfile::tempdir().unwrap();
    fixture(d2.path());
    let sweep = json_of(
        d2.path(),
        &["cleanup-locks", "--json", "--dry-run", "--older-than", "0"],
    );
    let swept = at(&sweep, "removed[].holder")
        .into_iter()
        .find(|h| !h.is_null())
        .unwrap()
        .clone();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&swept), keys(holder));
}

#[test]
fn cleanup_json_has_the_documented_fields() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    // A temp file of a write that died.
    fs::write(d.path().join(".jsafe-tmp.ok.json.Q1w2E3r4"), "{").unwrap();
    let dry = json_of(
        d.path(),
        &["cleanup-locks", "--json", "--dry-run", "--older-than", "0"],
    );
    let real = json_of(d.path(), &["cleanup-locks", "--json"]);
    assert!(!at(&dry, "removed[].kind").is_empty(), "{dry}");
    // `kept` has the fields of `removed`; holders have status's fields.
    agree(
        "jsafe cleanup-locks --json",
        &[dry, real],
        &["kept", "removed[].holder"],
    );
}

#[test]
fn test_json_has_the_documented_fields() {
    let d = tempfile::tempdir().unwrap();
    let doc = json_of(
        d.path(),
        &["test", "basic", "--json", "--workers", "2", "--ops", "5"],
    );
    assert_eq!(doc["passed"], true, "{doc}");
    agree("jsafe test --json", &[doc], &["checks[].figures"]);
}
