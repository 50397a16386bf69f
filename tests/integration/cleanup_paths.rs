//! `cleanup-locks` with several PATHs: the existing ones are swept, each
//! missing one is one warning (none under --quiet), and a missing PATH is
//! not a failure of the sweep.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

/// A directory with one managed file and its (free) lock file.
fn managed(d: &Path) {
    fs::create_dir_all(d).unwrap();
    run(d, &["write", "a.json", "{}"]).ok();
    assert!(d.join(".jsafe/locks/a.json.lock").exists());
}

#[test]
fn a_missing_path_is_skipped_with_one_warning_and_the_others_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    managed(&d.join("existing"));
    let out = run(
        d,
        &[
            "cleanup-locks",
            "--older-than",
            "0",
            "missing",
            "existing",
            "gone",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!d.join("existing/.jsafe/locks/a.json.lock").exists());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert_eq!(out.stderr.matches("missing: no such file").count(), 1);
    assert_eq!(out.stderr.matches("gone: no such file").count(), 1);
}

#[test]
fn quiet_sweeps_the_existing_path_and_says_nothing_about_the_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    managed(&d.join("existing"));
    let out = run(
        d,
        &[
            "cleanup-locks",
            "--quiet",
            "--older-than",
            "0",
            "/nonexistent-jsafe-path",
            "existing",
        ],
    );
    assert_eq!(out.code, 0);
    assert_eq!(out.stderr, "");
    assert!(!d.join("existing/.jsafe/locks/a.json.lock").exists());
    // Only missing PATHs: 6 (a typo sweeps nothing), but 0 under --quiet.
    run(d, &["cleanup-locks", "nope"]).fails(6);
    let quiet = run(d, &["cleanup-locks", "--quiet", "nope"]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));
}

#[test]
fn json_lists_missing_paths_apart_from_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    managed(&d.join("existing"));
    let out = run(d, &["cleanup-locks", "--json", "missing", "existing"]);
    let doc = out.json();
    assert_eq!(doc["missing_paths"], serde_json::json!(["missing"]));
    assert_eq!(doc["errors"], serde_json::json!([]));
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(out.code, 0);
}
