//! Every "next step" a message suggests works in that situation: the
//! commands in backquotes are run as printed (placeholders filled in) and
//! must succeed. Swapped arguments of every command are refused with the
//! right order.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

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
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!("{line} {extra}")).current_dir(dir);
    c.env("PATH", path).env("JSAFE_NO_SYNC", "true");
    for v in ENV_VARS.iter().filter(|v| **v != "JSAFE_NO_SYNC") {
        c.env_remove(v);
    }
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
