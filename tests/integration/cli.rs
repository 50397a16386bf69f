//! The commands through the binary: read, write, merge, update, --recover, the
//! global options and their environment variables, every exit code, input limits,
//! and I/O failures (read-only filesystem, permission, full disk, file size limit).

use crate::common;

use std::ffi::OsStr;
use std::fs;
use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::json;

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---------------------------------------------------------------- read

#[test]
fn read_prints_the_file_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let body = "{\"b\":1,  \"a\": [1.10, 1e3]}";
    fs::write(d.path().join("f.json"), body).unwrap();
    let out = run(d.path(), &["read", "f.json"]);
    out.ok();
    // Only a final newline is added, so shell output ends cleanly.
    assert_eq!(out.stdout_str(), format!("{body}\n"));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn read_with_filter_compact_raw_and_variables() {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("f.json"),
        r#"{"name": "srv", "ports": [80, 443], "big": 12345678901234567890123}"#,
    )
    .unwrap();
    let dir = d.path();

    let out = run(dir, &["read", "f.json", ".ports"]);
    assert_eq!(out.ok().stdout_str(), "[\n  80,\n  443\n]\n");

    let out = run(dir, &["read", "-c", "f.json", ".ports"]);
    assert_eq!(out.ok().stdout_str(), "[80,443]\n");

    let out = run(dir, &["read", "f.json", ".name"]);
    assert_eq!(out.ok().stdout_str(), "\"srv\"\n");
    let out = run(dir, &["read", "-r", "f.json", ".name"]);
    assert_eq!(out.ok().stdout_str(), "srv\n");

    // Several outputs: one per line.
    let out = run(dir, &["read", "f.json", ".ports[]"]);
    assert_eq!(out.ok().stdout_str(), "80\n443\n");

    // The big integer is printed as written, not as a float.
    let out = run(dir, &["read", "f.json", ".big"]);
    assert_eq!(out.ok().stdout_str(), "12345678901234567890123\n");

    // -c without a filter prints the whole file compact.
    let out = run(dir, &["read", "-c", "f.json"]);
    assert_eq!(
        out.ok().stdout_str(),
        "{\"name\":\"srv\",\"ports\":[80,443],\"big\":12345678901234567890123}\n"
    );

    let out = run(
        dir,
        &[
            "read",
            "-c",
            "f.json",
            "[$a, $b, $x, $y]",
            "--arg",
            "a",
            "A",
            "--arg",
            "b",
            "B",
            "--argjson",
            "x",
            "{\"k\":[1]}",
            "--argjson",
            "y",
            "2",
        ],
    );
    assert_eq!(out.ok().stdout_str(), "[\"A\",\"B\",{\"k\":[1]},2]\n");
}

#[test]
fn read_missing_file_uses_default_or_exits_6() {
    let d = tempfile::tempdir().unwrap();
    let out = run(d.path(), &["read", "nope.json"]);
    out.fails(6).stderr_has("nope.json");

    let out = run(
        d.path(),
        &["read", "nope.json", "--default", "{\"a\":1}", ".a"],
    );
    assert_eq!(out.ok().stdout_str(), "1\n");
    let out = run(d.path(), &["read", "nope.json", "--default", "[]"]);
    assert_eq!(out.ok().stdout_str(), "[]\n");

    // An invalid default is bad input even when the file exists.
    fs::write(d.path().join("f.json"), "{}").unwrap();
    run(d.path(), &["read", "f.json", "--default", "{nope"]).fails(4);
    // Reading creates nothing.
    assert!(!d.path().join("nope.json").exists());
}

#[test]
fn read_takes_no_lock_by_default_and_a_shared_lock_with_dash_dash_lock() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\":1}\n").unwrap();
    let lock = hold_lock(dir, "f.json", std::process::id(), "test holder");

    // No lock by default: a held exclusive lock does not matter.
    let out = run(dir, &["--timeout", "0.2", "read", "f.json"]);
    assert_eq!(out.ok().stdout_str(), "{\"a\":1}\n");

    // --lock waits for the writer and gives up after --timeout.
    let out = run(dir, &["read", "--lock", "--timeout", "0.3", "f.json"]);
    out.fails(3)
        .stderr_has(&format!("pid {}", std::process::id()));
    drop(lock);

    // A shared holder does not block a shared reader.
    let f = fs::File::open(dir.join(".jsafe/locks/f.json.lock")).unwrap();
    f.lock_shared().unwrap();
    let out = run(dir, &["read", "--lock", "--timeout", "0.3", "f.json", ".a"]);
    assert_eq!(out.ok().stdout_str(), "1\n");
    // ... but does block a writer.
    run(dir, &["--timeout", "0.3", "merge", "f.json", "{\"b\":2}"]).fails(3);
    drop(f);
    run(dir, &["--timeout", "5", "merge", "f.json", "{\"b\":2}"]).ok();
}

#[test]
fn read_retries_a_parse_failure_under_the_shared_lock() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    // A writer (holding the lock) is in the middle of an in-place rewrite.
    let lock = hold_lock(dir, "f.json", std::process::id(), "in-place writer");
    fs::write(&file, "{\"half\": ").unwrap();
    let mut child = spawn(jsafe(dir).args(["--verbose", "--timeout", "30", "read", "f.json"]));
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let seen = wait_for_line(&mut err, "waiting for the lock");
    // The writer finishes and releases the lock: the reader sees the whole file.
    fs::write(&file, "{\"half\": false}\n").unwrap();
    drop(lock);
    let out = finish(child, err, seen);
    out.ok();
    assert_eq!(out.stdout_str(), "{\"half\": false}\n");
    no_panic(&out.stderr);
}

#[test]
fn read_of_a_corrupt_file_exits_5_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("f.json");
    fs::write(&file, "{\"a\": 1,}").unwrap();
    let out = run(d.path(), &["--timeout", "1", "read", "f.json"]);
    // No backup to restore: the message suggests neither restore nor --recover.
    out.fails(5)
        .stderr_has("f.json")
        .stderr_has("no valid backup");
    assert!(!out.stderr.contains("--recover"));
    assert_eq!(bytes(&file), b"{\"a\": 1,}");
    assert!(quarantined(d.path()).is_empty());
}

// ---------------------------------------------------------------- write

#[test]
fn write_from_argument_and_stdin() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    run(dir, &["write", "f.json", "{\"a\":[1,2],\"b\":{}}"]).ok();
    // A new file: two-space indent and a final newline.
    assert_eq!(
        text(&file),
        "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}\n"
    );
    // stdin when the JSON argument is omitted ...
    run_stdin(dir, &["write", "f.json"], b"{\"a\": 3}").ok();
    assert_eq!(text(&file), "{\n  \"a\": 3\n}\n");
    // ... or "-".
    run_stdin(dir, &["write", "f.json", "-"], b"[true, null]\n").ok();
    assert_eq!(text(&file), "[\n  true,\n  null\n]\n");
    // Scalars are fine for write.
    run(dir, &["write", "f.json", "\"text\""]).ok();
    assert_eq!(text(&file), "\"text\"\n");
}

#[test]
fn write_of_invalid_json_exits_4_and_leaves_the_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\"keep\": true}\n").unwrap();
    for bad in ["{bad", "", "{\"a\":1} {\"b\":2}", "[1,]", "01", "NaN"] {
        let out = run(dir, &["write", "f.json", bad]);
        out.fails(4);
        assert_eq!(text(&file), "{\"keep\": true}\n", "after writing {bad:?}");
    }
    run_stdin(dir, &["write", "f.json"], b"{\"a\":").fails(4);
    run_stdin(dir, &["write", "f.json", "-"], b"").fails(4);
    assert_eq!(text(&file), "{\"keep\": true}\n");
    assert!(backups(dir, "f.json").is_empty());
    assert!(journal_lines(dir).is_empty());
    assert!(temp_files(dir).is_empty());
}

#[test]
fn write_replaces_a_corrupt_file_and_quarantines_its_bytes() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, b"{\"truncated\": [1, 2").unwrap();
    let out = run(dir, &["write", "f.json", "{\"fresh\":1}"]);
    out.ok();
    // Exactly one line says where the corrupt bytes went.
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    out.stderr_has("quarantine");
    assert_eq!(parse_file(&file), json!({"fresh": 1}));
    let q = quarantined(dir);
    assert_eq!(q.len(), 1);
    assert!(
        out.stderr
            .contains(q[0].file_name().unwrap().to_str().unwrap())
    );
    assert_eq!(bytes(&q[0]), b"{\"truncated\": [1, 2");
    // The corrupt version is not a backup.
    assert!(backups(dir, "f.json").is_empty());
    let j = journal_lines(dir);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["op"], "write");
    assert!(j[0]["quarantined"].is_string());
}

// ---------------------------------------------------------------- merge

#[test]
fn merge_applies_rfc7386() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(
        &file,
        r#"{"a": "b", "c": {"d": "e", "f": "g"}, "keep": [1, 2], "gone": 1}"#,
    )
    .unwrap();
    run(
        dir,
        &[
            "merge",
            "f.json",
            r#"{"a": "z", "c": {"f": null, "new": 1}, "gone": null, "arr": [{"x": null}]}"#,
        ],
    )
    .ok();
    assert_eq!(
        text(&file),
        r#"{"a": "z", "c": {"d": "e", "new": 1}, "keep": [1, 2], "arr": [{"x": null}]}"#
    );
    // Patch from stdin.
    run_stdin(dir, &["merge", "f.json", "-"], br#"{"keep": null}"#).ok();
    assert_eq!(
        parse_file(&file),
        json!({"a": "z", "c": {"d": "e", "new": 1}, "arr": [{"x": null}]})
    );
    // The empty patch changes nothing: no backup, no journal line.
    let backups_before = backups(dir, "f.json").len();
    let journal_before = journal_lines(dir).len();
    run(dir, &["merge", "f.json", "{}"]).ok();
    assert_eq!(backups(dir, "f.json").len(), backups_before);
    assert_eq!(journal_lines(dir).len(), journal_before);
}

#[test]
fn merge_into_a_missing_file_starts_from_an_empty_object() {
    let d = tempfile::tempdir().unwrap();
    run(
        d.path(),
        &["merge", "new.json", r#"{"a": {"b": 1}, "n": null}"#],
    )
    .ok();
    assert_eq!(
        text(&d.path().join("new.json")),
        "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n"
    );
}

#[test]
fn merge_refuses_a_patch_that_is_not_an_object() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\"a\":1}").unwrap();
    for patch in ["[1]", "1", "\"s\"", "null", "true"] {
        let out = run(dir, &["merge", "f.json", patch]);
        out.fails(4).stderr_has("jsafe write");
    }
    run(dir, &["merge", "f.json", "{nope"]).fails(4);
    assert_eq!(text(&file), "{\"a\":1}");
    // Not even a missing file gets created.
    run(dir, &["merge", "new.json", "[1]"]).fails(4);
    assert!(!dir.join("new.json").exists());
}

#[test]
fn merge_into_a_file_holding_a_non_object_exits_4_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for (name, body) in [
        ("arr.json", "[1, 2]\n"),
        ("num.json", "42"),
        ("nul.json", "null"),
    ] {
        fs::write(dir.join(name), body).unwrap();
        let out = run(dir, &["merge", name, "{\"a\":1}"]);
        out.fails(4).stderr_has(name);
        assert_eq!(text(&dir.join(name)), body);
        assert!(backups(dir, name).is_empty());
    }
    assert!(journal_lines(dir).is_empty());
}

#[test]
fn merge_of_a_corrupt_file_exits_5_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\":").unwrap();
    run(dir, &["merge", "f.json", "{\"b\":1}"])
        .fails(5)
        .stderr_has("--recover");
    assert_eq!(text(&dir.join("f.json")), "{\"a\":");
    assert!(quarantined(dir).is_empty());
    assert!(journal_lines(dir).is_empty());
}

// ---------------------------------------------------------------- update

#[test]
fn update_runs_a_filter_with_variables() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\"n\": 1, \"tags\": []}\n").unwrap();
    run(dir, &["update", "f.json", ".n += 1"]).ok();
    assert_eq!(text(&file), "{\"n\": 2, \"tags\": []}\n");
    run(
        dir,
        &[
            "update",
            "f.json",
            ".tags += [$t] | .cfg = $c | .who = $u",
            "--arg",
            "t",
            "x y",
            "--argjson",
            "c",
            "{\"deep\":[1.50]}",
            "--arg",
            "u",
            "me",
        ],
    )
    .ok();
    assert_eq!(
        text(&file),
        "{\"n\": 2, \"tags\": [\"x y\"], \"cfg\": {\"deep\": [1.50]}, \"who\": \"me\"}\n"
    );
}

#[test]
fn update_of_a_missing_file_uses_the_default() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    run(dir, &["update", "a.json", ".x = 1"]).ok();
    assert_eq!(text(&dir.join("a.json")), "{\n  \"x\": 1\n}\n");
    run(
        dir,
        &["update", "b.json", ".x += 1", "--default", "{\"x\": 41}"],
    )
    .ok();
    assert_eq!(parse_file(&dir.join("b.json")), json!({"x": 42}));
    run(dir, &["update", "c.json", ". + [3]", "--default", "[1, 2]"]).ok();
    assert_eq!(parse_file(&dir.join("c.json")), json!([1, 2, 3]));
    run(dir, &["update", "d.json", ".", "--default", "{nope"]).fails(4);
    assert!(!dir.join("d.json").exists());
}

#[test]
fn update_needs_exactly_one_output_and_a_working_filter() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\"a\": [1, 2]}").unwrap();
    for (filter, hint) in [
        (".a[]", "more than one value"),
        ("empty", "0 values"),
        (".a +", "compile"),
        ("$undefined", "undefined"),
        ("error(\"boom\")", "boom"),
        (".a.b", "f.json"),
        ("{(1): 2}", ""),
    ] {
        let out = run(dir, &["update", "f.json", filter]);
        out.fails(4).stderr_has(hint);
    }
    assert_eq!(text(&file), "{\"a\": [1, 2]}");
    assert!(backups(dir, "f.json").is_empty());
    assert!(journal_lines(dir).is_empty());
}

#[test]
fn update_filter_timeout_aborts_and_releases_the_lock() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\"n\": 1}").unwrap();
    let out = run(
        dir,
        &[
            "update",
            "f.json",
            "last(range(1e18))",
            "--filter-timeout",
            "1",
        ],
    );
    out.fails(4).stderr_has("filter-timeout");
    assert_eq!(text(&file), "{\"n\": 1}");
    run(dir, &["update", "--timeout", "2", "f.json", ".n += 1"]).ok();
    assert_eq!(text(&file), "{\"n\": 2}");
    // Also through the environment.
    let out = run_cmd(
        jsafe(dir).env("JSAFE_FILTER_TIMEOUT", "0.5").args([
            "update",
            "f.json",
            "last(range(1e18))",
        ]),
        b"",
    );
    out.fails(4);
}

// ---------------------------------------------------------------- --recover

/// f.json with two backups (v1, v2), current v3 replaced by garbage.
fn corrupt_with_backups(dir: &Path) {
    for v in 1..=3 {
        run(dir, &["write", "f.json", &format!("{{\"v\": {v}}}")]).ok();
    }
    assert_eq!(backups(dir, "f.json").len(), 2);
    // Replace (not rewrite in place) so the current inode's other links stay.
    fs::remove_file(dir.join("f.json")).unwrap();
    fs::write(dir.join("f.json"), "garbage{").unwrap();
}

#[test]
fn read_recover_restores_the_newest_valid_backup() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    corrupt_with_backups(dir);
    let out = run(dir, &["read", "--recover", "f.json", ".v"]);
    out.ok();
    assert_eq!(out.stdout_str(), "2\n");
    out.stderr_has("quarantine").stderr_has("recovered");
    no_panic(&out.stderr);
    assert_eq!(parse_file(&dir.join("f.json")), json!({"v": 2}));
    let q = quarantined(dir);
    assert_eq!(q.len(), 1);
    assert_eq!(bytes(&q[0]), b"garbage{");
    let j = journal_lines(dir);
    assert_eq!(j.last().unwrap()["result"], "recovered");
}

#[test]
fn merge_and_update_recover_then_apply_the_change() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    corrupt_with_backups(dir);
    let out = run(dir, &["merge", "--recover", "f.json", "{\"m\": true}"]);
    out.ok().stderr_has("recovered");
    assert_eq!(parse_file(&dir.join("f.json")), json!({"v": 2, "m": true}));

    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    corrupt_with_backups(dir);
    let out = run(dir, &["update", "f.json", ".v *= 10", "--recover"]);
    out.ok().stderr_has("recovered");
    assert_eq!(parse_file(&dir.join("f.json")), json!({"v": 20}));
    assert_eq!(quarantined(dir).len(), 1);
}

#[test]
fn recover_without_a_valid_backup_exits_5() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{oops").unwrap();
    for args in [
        vec!["read", "--recover", "f.json"],
        vec!["merge", "--recover", "f.json", "{}"],
        vec!["update", "--recover", "f.json", "."],
    ] {
        run(dir, &args).fails(5);
        assert_eq!(text(&dir.join("f.json")), "{oops");
    }
}

#[test]
fn recover_on_a_valid_file_changes_nothing_extra() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\": 1}").unwrap();
    let out = run(dir, &["read", "--recover", "f.json"]);
    assert_eq!(out.ok().stdout_str(), "{\"a\": 1}\n");
    assert!(out.stderr.is_empty());
    run(dir, &["merge", "--recover", "f.json", "{\"b\": 2}"]).ok();
    assert_eq!(text(&dir.join("f.json")), "{\"a\": 1, \"b\": 2}");
    assert!(quarantined(dir).is_empty());
}

// ---------------------------------------------------------------- global options

#[test]
fn global_options_go_before_or_after_the_subcommand() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for i in 0..4 {
        run(dir, &["--keep", "2", "write", "f.json", &i.to_string()]).ok();
    }
    assert_eq!(backups(dir, "f.json").len(), 2);
    for i in 4..8 {
        run(dir, &["write", "f.json", &i.to_string(), "--keep", "1"]).ok();
    }
    assert_eq!(backups(dir, "f.json").len(), 1);
    run(dir, &["write", "--no-backup", "f.json", "9"]).ok();
    assert_eq!(backups(dir, "f.json").len(), 1);
    run(dir, &["write", "f.json", "10", "--no-sync"]).ok();
    run(dir, &["--no-sync", "read", "f.json"]).ok();

    // --verbose says what happened; --quiet silences notices.
    let out = run(dir, &["write", "f.json", "11", "--verbose"]);
    out.ok().stderr_has("written");
    let out = run(dir, &["-v", "write", "f.json", "11"]);
    out.ok().stderr_has("unchanged");
    fs::write(dir.join("f.json"), "{bad").unwrap();
    let out = run(dir, &["write", "f.json", "12", "--quiet"]);
    out.ok();
    assert_eq!(out.stderr, "");
    assert_eq!(quarantined(dir).len(), 1);
}

#[test]
fn timeout_flag_beats_env_and_env_beats_default() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{}").unwrap();
    let _lock = hold_lock(dir, "f.json", std::process::id(), "test holder");
    // The message names the timeout that was used.
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_TIMEOUT", "0.3")
            .args(["merge", "f.json", "{\"a\":1}"]),
        b"",
    );
    out.fails(3).stderr_has("within 0.3s");
    let out = run_cmd(
        jsafe(dir).env("JSAFE_TIMEOUT", "30").args([
            "merge",
            "f.json",
            "{\"a\":1}",
            "--timeout",
            "0.2",
        ]),
        b"",
    );
    out.fails(3).stderr_has("within 0.2s");
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_TIMEOUT", "30")
            .args(["--timeout", "0.25", "update", "f.json", "."]),
        b"",
    );
    out.fails(3).stderr_has("within 0.25s");
    // A bad value in the environment is a usage error.
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_TIMEOUT", "soon")
            .args(["read", "f.json"]),
        b"",
    );
    usage_error(&out);
}

#[test]
fn keep_flag_beats_env_and_env_beats_default() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // Default 20: 6 writes of a new file leave 5 backups.
    for i in 0..6 {
        run(dir, &["write", "a.json", &i.to_string()]).ok();
    }
    assert_eq!(backups(dir, "a.json").len(), 5);
    for i in 0..6 {
        run_cmd(
            jsafe(dir)
                .env("JSAFE_KEEP", "2")
                .args(["write", "b.json", &i.to_string()]),
            b"",
        )
        .ok();
    }
    assert_eq!(backups(dir, "b.json").len(), 2);
    for i in 0..6 {
        run_cmd(
            jsafe(dir).env("JSAFE_KEEP", "2").args([
                "write",
                "c.json",
                &i.to_string(),
                "--keep",
                "4",
            ]),
            b"",
        )
        .ok();
    }
    assert_eq!(backups(dir, "c.json").len(), 4);
}

#[test]
fn boolean_env_vars_accept_true() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for i in 0..3 {
        run_cmd(
            raw_jsafe(dir)
                .env("JSAFE_NO_BACKUP", "true")
                .env("JSAFE_NO_SYNC", "true")
                .args(["write", "f.json", &i.to_string()]),
            b"",
        )
        .ok();
    }
    assert!(backups(dir, "f.json").is_empty());
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_VERBOSE", "true")
            .args(["write", "f.json", "5"]),
        b"",
    );
    out.ok().stderr_has("written");
    fs::write(dir.join("f.json"), "{bad").unwrap();
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_QUIET", "true")
            .args(["write", "f.json", "6"]),
        b"",
    );
    assert_eq!(out.ok().stderr, "");
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_NO_JOURNAL", "true")
            .args(["write", "f.json", "7"]),
        b"",
    );
    out.ok();
    assert_eq!(journal_lines(dir).len(), 5);
}

/// Shell scripts set flags in the environment as `VAR=1`; `VAR=0` means off.
#[test]
fn boolean_env_vars_accept_1_and_0() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for i in 0..3 {
        run_cmd(
            raw_jsafe(dir)
                .env("JSAFE_NO_BACKUP", "1")
                .env("JSAFE_NO_SYNC", "1")
                .args(["write", "f.json", &i.to_string()]),
            b"",
        )
        .ok();
    }
    assert!(backups(dir, "f.json").is_empty());
    run_cmd(
        raw_jsafe(dir)
            .env("JSAFE_NO_BACKUP", "0")
            .env("JSAFE_NO_SYNC", "0")
            .args(["write", "f.json", "9"]),
        b"",
    )
    .ok();
    assert_eq!(backups(dir, "f.json").len(), 1);
    fs::write(dir.join("f.json"), "{bad").unwrap();
    let out = run_cmd(
        raw_jsafe(dir)
            .env("JSAFE_QUIET", "1")
            .args(["--no-sync", "write", "f.json", "6"]),
        b"",
    );
    assert_eq!(out.ok().stderr, "");
}

/// A flag beats its variable: `--quiet` on the command line wins over
/// JSAFE_VERBOSE in the environment, and the other way round.
#[test]
fn quiet_flag_beats_verbose_env() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{}").unwrap();
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_VERBOSE", "true")
            .args(["--quiet", "write", "f.json", "1"]),
        b"",
    );
    assert_eq!(out.ok().stderr, "");
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_QUIET", "true")
            .args(["--verbose", "write", "f.json", "2"]),
        b"",
    );
    out.ok().stderr_has("written");
    // Both from the same place: --verbose wins.
    let out = run(dir, &["-q", "write", "f.json", "3", "--verbose"]);
    out.ok().stderr_has("written");
    let out = run_cmd(
        jsafe(dir)
            .env("JSAFE_QUIET", "1")
            .env("JSAFE_VERBOSE", "1")
            .args(["write", "f.json", "4"]),
        b"",
    );
    out.ok().stderr_has("written");
}

// ---------------------------------------------------------------- exit codes

#[test]
fn every_exit_code_but_1() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("ok.json"), "{}").unwrap();
    fs::write(dir.join("bad.json"), "{").unwrap();
    fs::create_dir(dir.join("sub")).unwrap();

    // 0
    let out = run(dir, &["read", "ok.json"]);
    assert_eq!(out.ok().code, 0);
    // 2: bad flag, missing argument, bad value.
    // Usage errors are clap's whole message (what is wrong, usage, tips).
    for args in [
        &["read", "--bogus", "ok.json"][..],
        &["--bogus", "read", "ok.json"],
        &["merge", "ok.json"],
        &["--timeout", "-1", "read", "ok.json"],
        &["--keep", "many", "read", "ok.json"],
    ] {
        usage_error(&run(dir, args));
    }
    usage_error(&run(dir, &["frobnicate"]));
    assert_eq!(run(dir, &[] as &[&str]).code, 2, "no subcommand");
    // 3
    {
        let _lock = hold_lock(dir, "ok.json", std::process::id(), "test holder");
        run(dir, &["--timeout", "0.2", "write", "ok.json", "1"]).fails(3);
    }
    // 4
    run(dir, &["write", "ok.json", "{"]).fails(4);
    // 5
    run(dir, &["read", "bad.json"]).fails(5);
    // 6
    run(dir, &["read", "missing.json"]).fails(6);
    run(dir, &["restore", "ok.json", "--from", "nope.json"]).fails(6);
    // 7: a directory where a file should be, a missing directory.
    run(dir, &["read", "sub"]).fails(7);
    run(dir, &["write", "sub", "{}"]).fails(7);
    run(dir, &["write", "no/such/dir/f.json", "{}"]).fails(7);
    // Exit code 1 (internal error) has no natural trigger, so it is not
    // checked here.
    assert_eq!(text(&dir.join("ok.json")), "{}");
}

#[test]
fn help_and_version_exit_0() {
    let d = tempfile::tempdir().unwrap();
    let out = run(d.path(), &["--help"]);
    out.ok();
    assert!(out.stdout_str().contains("Exit codes"));
    run(d.path(), &["read", "--help"]).ok();
    let out = run(d.path(), &["--version"]);
    assert!(out.ok().stdout_str().starts_with("jsafe "));
}

// ---------------------------------------------------------------- input limits

#[test]
fn nesting_deeper_than_256_is_refused_never_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let deep = nested(300);
    let very_deep = nested(100_000);
    fs::write(dir.join("deep.json"), &deep).unwrap();
    fs::write(dir.join("very.json"), &very_deep).unwrap();
    fs::write(dir.join("ok.json"), "{}").unwrap();

    // 256 levels are fine.
    run(dir, &["write", "edge.json", &nested(256)]).ok();
    run(dir, &["read", "edge.json", "-c"]).ok();

    // Target file: corrupt (5).
    run(dir, &["read", "deep.json"]).fails(5).stderr_has("256");
    run(dir, &["read", "very.json"]).fails(5);
    run(dir, &["merge", "deep.json", "{}"]).fails(5);
    // Argument and stdin: bad input (4).
    run(dir, &["write", "ok.json", &deep])
        .fails(4)
        .stderr_has("256");
    run_stdin(dir, &["write", "ok.json"], very_deep.as_bytes()).fails(4);
    run(dir, &["merge", "ok.json", &format!("{{\"a\":{deep}}}")]).fails(4);
    run(
        dir,
        &["update", "ok.json", ".a = $x", "--argjson", "x", &deep],
    )
    .fails(4);
    run(dir, &["read", "ok.json", "--default", &deep]).fails(4);
    // A filter's result: bad input (4).
    run(
        dir,
        &[
            "update",
            "ok.json",
            ".a = (reduce range(300) as $i (0; [.]))",
        ],
    )
    .fails(4)
    .stderr_has("256");
    run(
        dir,
        &["read", "ok.json", "reduce range(300) as $i (0; [.])"],
    )
    .fails(4);
    assert_eq!(text(&dir.join("ok.json")), "{}");
}

#[test]
fn a_filter_that_overflows_the_stack_is_bad_input_not_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\": 1}").unwrap();
    let deep_text = format!("{}1{}", "(".repeat(30_000), ")".repeat(30_000));
    for args in [
        vec!["read", "f.json", "def f: 1 + f; f"],
        vec!["update", "f.json", "def f: [f]; f"],
        vec!["read", "f.json", deep_text.as_str()],
    ] {
        run(dir, &args).fails(4).stderr_has("too deeply");
    }
    assert_eq!(text(&dir.join("f.json")), "{\"a\": 1}");
    // The lock died with the process.
    run(dir, &["--timeout", "2", "update", "f.json", ".a += 1"]).ok();
    assert_eq!(text(&dir.join("f.json")), "{\"a\": 2}");
}

#[test]
fn invalid_utf8_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("ok.json"), "{}").unwrap();
    let bad = OsStr::from_bytes(b"\"caf\xe9\"");
    // Argument: 4.
    run_cmd(jsafe(dir).arg("write").arg("ok.json").arg(bad), b"").fails(4);
    run_cmd(
        jsafe(dir)
            .args(["merge", "ok.json"])
            .arg(OsStr::from_bytes(b"{\"a\":\"\xff\"}")),
        b"",
    )
    .fails(4);
    run_cmd(
        jsafe(dir)
            .args(["update", "ok.json", ".a = $x", "--arg", "x"])
            .arg(OsStr::from_bytes(b"\xff")),
        b"",
    )
    .fails(4);
    run_cmd(
        jsafe(dir)
            .args(["update", "ok.json", ".a = $x", "--argjson", "x"])
            .arg(bad),
        b"",
    )
    .fails(4);
    // Stdin: 4.
    run_stdin(dir, &["write", "ok.json"], b"\"caf\xe9\"").fails(4);
    run_stdin(dir, &["merge", "ok.json", "-"], b"{\"a\":\"\xc3\"}").fails(4);
    assert_eq!(text(&dir.join("ok.json")), "{}");
    // Target file: 5.
    fs::write(dir.join("latin1.json"), b"{\"a\": \"caf\xe9\"}").unwrap();
    run(dir, &["read", "latin1.json"]).fails(5);
    run(dir, &["update", "latin1.json", "."]).fails(5);
    assert_eq!(bytes(&dir.join("latin1.json")), b"{\"a\": \"caf\xe9\"}");
}

#[test]
fn errors_are_one_line_without_panic_text() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\": 1}").unwrap();
    fs::write(dir.join("bad.json"), "[1, 2").unwrap();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["read", "f.json", ".a |"], 4),
        (vec!["read", "f.json", ".a[0]"], 4),
        (
            vec!["update", "f.json", "error({\"multi\": \"line\\nerror\"})"],
            4,
        ),
        (vec!["write", "f.json", "{\n\"a\":\n"], 4),
        (vec!["merge", "bad.json", "{}"], 5),
        (vec!["read", "nope/x.json"], 6),
        (vec!["restore", "f.json", "--latest"], 6),
        (vec!["read", "f.json", "--timeout"], 2),
        (vec!["restore", "f.json", "--list", "--latest"], 2),
        // A file name with a line break still makes one line.
        (vec!["read", "two\nlines.json"], 6),
        (vec!["write", "no\ndir/f.json", "1"], 7),
    ];
    for (args, code) in cases {
        let out = run(dir, &args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        if code == 2 {
            usage_error(&out);
        } else {
            out.one_line_error();
        }
    }
}

// ---------------------------------------------------------------- I/O failures (exit 7)

/// A directory the test can mount on, under a tempdir.
fn mount_point(d: &Path) -> std::path::PathBuf {
    let m = d.join("mnt");
    fs::create_dir(&m).unwrap();
    m
}

#[test]
#[ignore = "needs root: mounts a tmpfs and remounts it read-only"]
fn read_only_filesystem_is_exit_7_and_the_file_is_untouched() {
    require_root();
    let d = tempfile::tempdir().unwrap();
    let m = mount_point(d.path());
    let fs_ = Tmpfs::mount(&m, "size=1m").expect("cannot mount a tmpfs");
    run(&m, &["write", "f.json", "{\"a\": 1}"]).ok();
    run(&m, &["write", "g.json", "{\"a\": 1}"]).ok();
    let before = bytes(&m.join("f.json"));
    assert!(fs_.remount("ro"), "cannot remount the tmpfs read-only");
    run(&m, &["write", "f.json", "{\"a\": 2}"])
        .fails(7)
        .stderr_has("f.json");
    run(&m, &["merge", "f.json", "{\"a\": 2}"]).fails(7);
    run(&m, &["update", "f.json", ".a = 3"]).fails(7);
    run(&m, &["merge", "new.json", "{\"a\": 2}"]).fails(7);
    assert_eq!(bytes(&m.join("f.json")), before);
    // Reading still works.
    run(&m, &["read", "f.json", ".a"]).ok();
    assert!(temp_files(&m).is_empty());
}

#[test]
#[ignore = "needs root: switches to user 65534 with setpriv"]
fn permission_denied_is_exit_7() {
    require_root();
    let d = tempfile::tempdir().unwrap();
    // The tempdir is 0700: let the other user in, but not write.
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dir = d.path().join("data");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    run(&dir, &["write", "f.json", "{\"a\": 1}"]).ok();
    run(&dir, &["write", "f.json", "{\"a\": 2}"]).ok();
    let before = bytes(&dir.join("f.json"));
    let as_nobody = |args: &[&str]| run_cmd(jsafe_as(NOBODY, &dir).args(args), b"");
    let probe = as_nobody(&["read", "f.json", ".a"]);
    assert_eq!(probe.code, 0, "setpriv to 65534: {}", probe.stderr);
    assert_eq!(probe.stdout_str(), "2\n");
    as_nobody(&["write", "f.json", "{\"a\": 3}"])
        .fails(7)
        .stderr_has("f.json");
    as_nobody(&["--no-backup", "write", "f.json", "{\"a\": 3}"]).fails(7);
    // A corrupt file is reported as corrupt even where no lock can be taken.
    fs::write(dir.join("bad.json"), "{\"a\":").unwrap();
    as_nobody(&["read", "bad.json"]).fails(5);
    as_nobody(&["merge", "f.json", "{\"b\": 3}"]).fails(7);
    as_nobody(&["restore", "f.json", "--latest"]).fails(7);
    as_nobody(&["write", "new.json", "{}"]).fails(7);
    assert_eq!(bytes(&dir.join("f.json")), before);
    assert!(temp_files(&dir).is_empty());
    assert!(!dir.join("new.json").exists());
}

#[test]
#[ignore = "needs root: mounts a small tmpfs"]
fn full_disk_is_exit_7_original_intact_no_temp_file() {
    require_root();
    let d = tempfile::tempdir().unwrap();
    let m = mount_point(d.path());
    let _fs = Tmpfs::mount(&m, "size=64k").expect("cannot mount a small tmpfs");
    run(&m, &["write", "f.json", "{\"small\": true}"]).ok();
    let before = bytes(&m.join("f.json"));
    let big = format!("{{\"blob\": \"{}\"}}", "x".repeat(200_000));
    let out = run_stdin(&m, &["write", "f.json"], big.as_bytes());
    out.fails(7).stderr_has("disk full");
    assert_eq!(bytes(&m.join("f.json")), before);
    assert!(temp_files(&m).is_empty(), "{:?}", names_in(&m));
    // Same through merge, and a new file is not left half-written.
    // (One argument may hold at most 128 KiB.)
    let patch = format!("{{\"blob\": \"{}\"}}", "y".repeat(100_000));
    run(&m, &["merge", "f.json", &patch]).fails(7);
    run_stdin(&m, &["write", "g.json", "-"], big.as_bytes()).fails(7);
    assert!(!m.join("g.json").exists());
    assert_eq!(bytes(&m.join("f.json")), before);
    assert!(temp_files(&m).is_empty(), "{:?}", names_in(&m));
    // Once there is room again, writes work.
    run(&m, &["merge", "f.json", "{\"after\": 1}"]).ok();
}

#[test]
fn file_size_limit_is_exit_7_original_intact_no_temp_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    run(dir, &["write", "f.json", "{\"small\": true}"]).ok();
    let before = bytes(&dir.join("f.json"));
    let big = format!("{{\"blob\": \"{}\"}}", "x".repeat(200_000));
    fs::write(dir.join("big.input"), &big).unwrap();
    let mut c = common::command("sh");
    c.args([
        "-c",
        "ulimit -f 1 || exit 99; exec \"$0\" write f.json - < big.input",
        bin(),
    ])
    .current_dir(dir)
    .env("JSAFE_NO_SYNC", "true");
    let out = run_cmd(&mut c, b"");
    if out.code == 99 {
        return common::skip("cannot set RLIMIT_FSIZE here");
    }
    out.fails(7)
        .stderr_has("f.json")
        .stderr_has("file size limit");
    assert_eq!(bytes(&dir.join("f.json")), before);
    assert!(temp_files(dir).is_empty(), "{:?}", names_in(dir));
}

/// A usage error: exit 2 with clap's whole message, no panic text.
fn usage_error(out: &common::Out) {
    assert_eq!(out.code, 2, "{}", out.stderr);
    common::no_panic(&out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("--help"), "{}", out.stderr);
}
