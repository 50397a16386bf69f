//! `jsafe forget FILE`: a managed file that is gone stops being reported as
//! missing; its lock file goes, its backups and schema only with a yes.
//! `status --ignore-missing` keeps monitoring quiet without forgetting.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

/// c.json written twice (one backup), a schema attached, then deleted.
fn gone_file(d: &Path) {
    run(d, &["merge", "c.json", "{\"a\": 1}"]).ok();
    run(d, &["merge", "c.json", "{\"a\": 2}"]).ok();
    fs::write(d.join("c.schema.json"), "{\"type\": \"object\"}").unwrap();
    run(d, &["schema", "c.json", "c.schema.json"]).ok();
    fs::remove_file(d.join("c.json")).unwrap();
}

#[test]
fn status_names_forget_for_a_missing_file_and_forget_leaves_it_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    gone_file(d);
    let before = run(d, &["status"]);
    assert_eq!(before.code, 9);
    let hint = "`jsafe forget c.json` stops tracking it";
    assert_eq!(
        before.stdout_str().matches(hint).count(),
        1,
        "{}",
        before.stdout_str()
    );
    // The hint works: forget, then status is quiet (exit 0, nothing listed).
    run_stdin(d, &["forget", "c.json"], b"").ok();
    let after = run(d, &["status"]);
    assert_eq!(after.code, 0, "{}", after.stdout_str());
    assert!(
        !after.stdout_str().contains("c.json"),
        "{}",
        after.stdout_str()
    );
    assert_eq!(
        run(d, &["status", "--json"]).json()["summary"]["missing"],
        0
    );
    // Without a yes the backups and the schema are kept, so the file can
    // still be brought back.
    assert_eq!(backups(d, "c.json").len(), 1);
    assert!(d.join(".jsafe/schemas").read_dir().unwrap().count() == 1);
    assert!(!d.join(".jsafe/locks/c.json.lock").exists());
    run(d, &["restore", "--latest", "c.json"]).ok();
    assert_eq!(parse_file(&d.join("c.json")), serde_json::json!({"a": 1}));
    assert_eq!(run(d, &["status"]).code, 0);
}

#[test]
fn forget_yes_removes_backups_schema_and_lock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    gone_file(d);
    run(d, &["forget", "--yes", "c.json"]).ok();
    assert!(backups(d, "c.json").is_empty());
    assert!(!d.join(".jsafe/backups/c.json").exists());
    assert_eq!(d.join(".jsafe/schemas").read_dir().unwrap().count(), 0);
    assert!(!d.join(".jsafe/locks/c.json.lock").exists());
    assert_eq!(run(d, &["status"]).code, 0);
    // A new file of that name is tracked again.
    run(d, &["write", "c.json", "{}"]).ok();
    fs::remove_file(d.join("c.json")).unwrap();
    assert_eq!(run(d, &["status"]).code, 9);
}

#[test]
fn a_file_that_exists_or_is_locked_is_never_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["write", "e.json", "{}"]).ok();
    run(d, &["write", "e.json", "[]"]).ok();
    run(d, &["forget", "--yes", "e.json"]).fails(7);
    assert_eq!(backups(d, "e.json").len(), 1);
    fs::remove_file(d.join("e.json")).unwrap();
    let held = hold_lock(d, "e.json", std::process::id(), "test");
    run(d, &["forget", "--yes", "e.json"]).fails(3);
    assert_eq!(backups(d, "e.json").len(), 1);
    drop(held);
    run(d, &["forget", "--yes", "e.json"]).ok();
    assert!(backups(d, "e.json").is_empty());
    // Nothing managed by that name: nothing to do, said once.
    run(d, &["forget", "never.json"])
        .ok()
        .stderr_has("no state to forget");
}

#[test]
fn ignore_missing_keeps_status_quiet_without_forgetting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    gone_file(d);
    let out = run(d, &["status", "--ignore-missing"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout_str().contains("c.json"));
    assert!(!out.stdout_str().contains("stops tracking"));
    assert_eq!(run(d, &["status"]).code, 9);
}
