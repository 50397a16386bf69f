//! `scripts/json-safe-operations.sh`, driven from real bash: every function does
//! what the old wrappers did, through jsafe, with jsafe's return codes; missing
//! jsafe is 127 with a message; sourcing changes no shell option and exits
//! nothing; concurrent shell writers lose no update.

use crate::common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::json;

fn shim() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/json-safe-operations.sh")
}

/// Environment of every shell: the real jsafe, fsync off, no jsafe variable of
/// the caller's, HOME and XDG_CONFIG_HOME inside `dir`.
fn prepare(cmd: &mut std::process::Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("SHIM", shim())
        .env("JSAFE_BIN", env!("CARGO_BIN_EXE_jsafe"))
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env_remove("JSAFE_CRITICAL_FILES");
    // "true": the spelling every boolean parser accepts (see the report on "1").
    cmd.env("JSAFE_NO_SYNC", "true");
}

/// `bash -c 'source the shim; SCRIPT'` in `dir`.
fn bash(dir: &Path, script: &str) -> Command {
    let mut std_cmd = common::command("bash");
    prepare(&mut std_cmd, dir);
    std_cmd
        .arg("-c")
        .arg(format!("source \"$SHIM\" || exit 99\n{script}"));
    let mut cmd = Command::from_std(std_cmd);
    cmd.write_stdin("");
    cmd
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

const CORRUPT: &str = "{\"a\": 1, \"b\": ";

#[test]
fn read_prints_the_file_or_the_given_default() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f.json"), "{\"a\": 1}").unwrap();
    bash(tmp.path(), "safe_json_read f.json")
        .assert()
        .code(0)
        .stdout("{\"a\": 1}\n");

    let out = bash(tmp.path(), "safe_json_read missing.json '{\"d\": [true]}'")
        .assert()
        .code(0);
    let printed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(printed, json!({"d": [true]}));
    assert!(!tmp.path().join("missing.json").exists());

    bash(tmp.path(), "safe_json_read missing.json")
        .assert()
        .code(6)
        .stdout("")
        .stderr(contains("missing.json"));
    bash(tmp.path(), "safe_json_read missing.json '{nope'")
        .assert()
        .code(4);
    bash(tmp.path(), "safe_json_read")
        .assert()
        .code(2)
        .stderr(contains("usage: safe_json_read FILE [DEFAULT]"));
}

#[test]
fn read_of_a_corrupt_file_is_5() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("c.json"), CORRUPT).unwrap();
    bash(tmp.path(), "safe_json_read c.json '{}'")
        .assert()
        .code(5)
        .stdout("");
}

#[test]
fn write_replaces_and_refuses_invalid_json() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.json");
    bash(tmp.path(), "safe_json_write f.json '{\"x\": [1, 2]}'")
        .assert()
        .code(0);
    assert_eq!(read_json(&f), json!({"x": [1, 2]}));
    let before = fs::read(&f).unwrap();
    bash(tmp.path(), "safe_json_write f.json '{bad'")
        .assert()
        .code(4)
        .stderr(contains("not valid JSON"));
    assert_eq!(fs::read(&f).unwrap(), before);
    bash(tmp.path(), "safe_json_write f.json")
        .assert()
        .code(2)
        .stderr(contains("usage: safe_json_write FILE JSON"));
}

#[test]
fn merge_merges_and_stops_on_bad_input_or_a_corrupt_file() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.json");
    fs::write(&f, "{\"keep\": 1, \"drop\": 2}\n").unwrap();
    bash(
        tmp.path(),
        "safe_json_merge f.json '{\"drop\": null, \"new\": {\"n\": 3}}'",
    )
    .assert()
    .code(0);
    assert_eq!(read_json(&f), json!({"keep": 1, "new": {"n": 3}}));

    bash(tmp.path(), "safe_json_merge f.json '{\"unclosed\": '")
        .assert()
        .code(4);
    assert_eq!(read_json(&f), json!({"keep": 1, "new": {"n": 3}}));

    let c = tmp.path().join("c.json");
    fs::write(&c, CORRUPT).unwrap();
    bash(tmp.path(), "safe_json_merge c.json '{\"x\": 1}'")
        .assert()
        .code(5)
        .stderr(contains("c.json"));
    assert_eq!(fs::read_to_string(&c).unwrap(), CORRUPT);

    bash(tmp.path(), "safe_json_merge f.json")
        .assert()
        .code(2)
        .stderr(contains("usage: safe_json_merge FILE JSON"));
}

#[test]
fn update_runs_a_jq_filter_with_extra_options() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("counter.json");
    bash(
        tmp.path(),
        "safe_json_update counter.json '.n += 1' && safe_json_update counter.json '.n += 1'",
    )
    .assert()
    .code(0);
    assert_eq!(read_json(&f), json!({"n": 2}));

    bash(
        tmp.path(),
        "safe_json_update counter.json '.tags += [$t] | .o = $o' --arg t 'a b' --argjson o '{\"k\": null}'",
    )
    .assert()
    .code(0);
    assert_eq!(
        read_json(&f),
        json!({"n": 2, "tags": ["a b"], "o": {"k": null}})
    );

    bash(tmp.path(), "safe_json_update counter.json '.n +='")
        .assert()
        .code(4);
    assert_eq!(read_json(&f)["n"], json!(2));

    fs::write(tmp.path().join("c.json"), CORRUPT).unwrap();
    bash(tmp.path(), "safe_json_update c.json '.a = 2'")
        .assert()
        .code(5);
    bash(tmp.path(), "safe_json_update counter.json")
        .assert()
        .code(2)
        .stderr(contains("usage: safe_json_update FILE EXPR"));
}

#[test]
fn safe_jq_maps_the_supported_jq_options_to_jsafe_read() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("f.json"),
        r#"{"name": "a b", "n": 2, "o": {"k": [1, 2]}}"#,
    )
    .unwrap();
    let cases = [
        ("safe_jq .name f.json", "\"a b\"\n"),
        ("safe_jq -r .name f.json", "a b\n"),
        ("safe_jq --raw-output .name f.json", "a b\n"),
        ("safe_jq -c .o f.json", "{\"k\":[1,2]}\n"),
        ("safe_jq --compact-output .o f.json", "{\"k\":[1,2]}\n"),
        ("safe_jq -rc '.o, .name' f.json", "{\"k\":[1,2]}\na b\n"),
        ("safe_jq -cr '.o.k[]' f.json", "1\n2\n"),
        ("safe_jq -r --arg k n '.[$k]' f.json", "2\n"),
        (
            "safe_jq '.n + $v.z' --argjson v '{\"z\": 40}' f.json",
            "42\n",
        ),
        ("safe_jq -r -- .name f.json", "a b\n"),
        (
            "safe_jq .o f.json",
            "{\n  \"k\": [\n    1,\n    2\n  ]\n}\n",
        ),
    ];
    for (script, expected) in cases {
        let out = bash(tmp.path(), script).assert().code(0);
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert_eq!(stdout, expected, "{script}");
    }
}

#[test]
fn safe_jq_passes_every_read_flag_through() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("f.json"), r#"{"b": "é", "a": [1, 2]}"#).unwrap();
    fs::write(d.join("log.jsonl"), "{\"n\": 1}\n{\"n\": 2}\n").unwrap();
    fs::write(d.join("list.json"), "[3]").unwrap();
    fs::write(d.join("raw.txt"), "hi").unwrap();
    let cases = [
        ("safe_jq -s length log.jsonl", "2\n"),
        ("safe_jq --slurp -c 'map(.n)' log.jsonl", "[1,2]\n"),
        ("safe_jq -sc 'map(.n)' log.jsonl", "[1,2]\n"),
        ("safe_jq -n '[inputs.n] | add' log.jsonl", "3\n"),
        ("safe_jq --null-input 'input.n' log.jsonl", "1\n"),
        ("safe_jq -S -c . f.json", "{\"a\":[1,2],\"b\":\"é\"}\n"),
        (
            "safe_jq --sort-keys --compact-output . f.json",
            "{\"a\":[1,2],\"b\":\"é\"}\n",
        ),
        ("safe_jq -j '.a[]' f.json", "12"),
        ("safe_jq -a .b f.json", "\"\\u00e9\"\n"),
        ("safe_jq --tab .a f.json", "[\n\t1,\n\t2\n]\n"),
        ("safe_jq --indent 1 .a f.json", "[\n 1,\n 2\n]\n"),
        ("safe_jq -c --slurpfile l list.json '$l' f.json", "[[3]]\n"),
        ("safe_jq -r --rawfile t raw.txt '$t' f.json", "hi\n"),
        (
            "safe_jq -c --args '$ARGS.positional' f.json x 'y z'",
            "[\"x\",\"y z\"]\n",
        ),
        (
            "safe_jq -c --jsonargs '$ARGS.positional' f.json 1 '{}'",
            "[1,{}]\n",
        ),
        ("safe_jq --default '{\"d\": 1}' .d missing.json", "1\n"),
        ("safe_jq --lock --timeout 5 .a[0] f.json", "1\n"),
        ("echo '{\"s\": 7}' | safe_jq .s -", "7\n"),
        ("safe_jq --raw .b f.json", "é\n"),
    ];
    for (script, expected) in cases {
        let out = bash(d, script).assert().code(0);
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert_eq!(stdout, expected, "{script}");
    }
    bash(d, "safe_jq --indent")
        .assert()
        .code(2)
        .stderr(contains("--indent needs a value"));
    bash(d, "safe_jq --rawfile t")
        .assert()
        .code(2)
        .stderr(contains("needs NAME and a value"));
}

#[test]
fn safe_jq_passes_exit_status_through() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("f.json"),
        r#"{"enabled": true, "off": false}"#,
    )
    .unwrap();
    let cases = [
        ("safe_jq -e .enabled f.json", 0, "true\n"),
        ("safe_jq --exit-status .enabled f.json", 0, "true\n"),
        ("safe_jq -e .off f.json", 11, "false\n"),
        ("safe_jq -e .missing f.json", 11, "null\n"),
        ("safe_jq -e 'empty' f.json", 14, ""),
        ("safe_jq -er '.enabled' f.json", 0, "true\n"),
        (
            "if safe_jq -e .enabled f.json >/dev/null; then echo yes; else echo no; fi",
            0,
            "yes\n",
        ),
        (
            "if safe_jq -e .off f.json >/dev/null; then echo yes; else echo no; fi",
            0,
            "no\n",
        ),
    ];
    for (script, code, expected) in cases {
        let out = bash(tmp.path(), script).assert().code(code);
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert_eq!(stdout, expected, "{script}");
    }
}

#[test]
fn safe_jq_refuses_what_it_does_not_support() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f.json"), "{}").unwrap();
    fs::write(tmp.path().join("g.json"), "{}").unwrap();
    for option in ["--seq", "--stream", "-rx", "-C", "--raw-input"] {
        bash(tmp.path(), &format!("safe_jq {option} . f.json"))
            .assert()
            .code(2)
            .stdout("")
            .stderr(contains(format!("unsupported jq option '{option}'")));
    }
    for script in [
        "safe_jq . f.json g.json",
        "safe_jq .",
        "safe_jq",
        "echo '{}' | safe_jq .",
    ] {
        bash(tmp.path(), script)
            .assert()
            .code(2)
            .stderr(contains("exactly a FILTER and one FILE"));
    }
    bash(tmp.path(), "safe_jq . f.json --arg k")
        .assert()
        .code(2)
        .stderr(contains("--arg needs NAME and a value"));
    // jsafe's own codes come through.
    bash(tmp.path(), "safe_jq . missing.json").assert().code(6);
    bash(tmp.path(), "safe_jq '.[' f.json").assert().code(4);
    fs::write(tmp.path().join("c.json"), CORRUPT).unwrap();
    bash(tmp.path(), "safe_jq -r .a c.json").assert().code(5);
}

/// A stand-in for jsafe that records its arguments (one per line) and exits
/// with $FAKE_EXIT: what each function passes to jsafe, exactly.
fn fake_jsafe(dir: &Path) -> PathBuf {
    let fake = dir.join("fake-jsafe");
    fs::write(
        &fake,
        "#!/bin/bash\nprintf '%s\\n' \"$@\" > \"$ARGS_OUT\"\necho 'fake report'\nexit \"${FAKE_EXIT:-0}\"\n",
    )
    .unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    fake
}

#[test]
fn each_function_passes_exactly_these_arguments_to_jsafe() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fake_jsafe(tmp.path());
    let args_out = tmp.path().join("args");
    let cases: &[(&str, &[&str])] = &[
        ("safe_json_read f.json", &["read", "--", "f.json"]),
        (
            "safe_json_read -f.json '{}'",
            &["read", "--default", "{}", "--", "-f.json"],
        ),
        (
            "safe_json_write f.json '[1]'",
            &["write", "--", "f.json", "[1]"],
        ),
        (
            "safe_json_merge f.json '{\"a\": 1}'",
            &["merge", "--", "f.json", "{\"a\": 1}"],
        ),
        (
            "safe_json_update f.json '.a = $x' --arg x 'y z'",
            &["update", "--arg", "x", "y z", "--", "f.json", ".a = $x"],
        ),
        (
            "safe_jq -rc --arg k v '.[$k]' f.json",
            &[
                "read",
                "--raw-output",
                "--compact",
                "--arg",
                "k",
                "v",
                "--",
                "f.json",
                ".[$k]",
            ],
        ),
        (
            "cleanup_orphaned_locks",
            &["cleanup-locks", "--older-than", "1h", "--"],
        ),
        (
            "cleanup_orphaned_locks /a '/b c'",
            &["cleanup-locks", "--older-than", "1h", "--", "/a", "/b c"],
        ),
        (
            "cleanup_all_locks force /a",
            &["cleanup-locks", "--older-than", "0s", "--", "/a"],
        ),
        ("show_json_status", &["status", "--"]),
        ("show_json_status d1 d2", &["status", "--", "d1", "d2"]),
        ("test_json_operations", &["test", "basic"]),
    ];
    for (script, expected) in cases {
        for exit in [0, 3] {
            let _ = fs::remove_file(&args_out);
            bash(tmp.path(), script)
                .env("JSAFE_BIN", &fake)
                .env("ARGS_OUT", &args_out)
                .env("FAKE_EXIT", exit.to_string())
                .assert()
                .code(exit);
            let recorded = fs::read_to_string(&args_out).unwrap();
            let recorded: Vec<&str> = recorded.lines().collect();
            assert_eq!(&recorded, expected, "{script}");
        }
    }
}

#[test]
fn test_json_operations_is_quiet_unless_it_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fake_jsafe(tmp.path());
    let args_out = tmp.path().join("args");
    bash(tmp.path(), "test_json_operations")
        .env("JSAFE_BIN", &fake)
        .env("ARGS_OUT", &args_out)
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    bash(tmp.path(), "test_json_operations")
        .env("JSAFE_BIN", &fake)
        .env("ARGS_OUT", &args_out)
        .env("FAKE_EXIT", "1")
        .assert()
        .code(1)
        .stdout("")
        .stderr("fake report\n");
}

#[test]
fn test_json_operations_passes_with_the_real_jsafe() {
    let tmp = tempfile::tempdir().unwrap();
    bash(tmp.path(), "test_json_operations")
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
}

#[test]
fn cleanup_keeps_held_and_recent_locks_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let locks = tmp.path().join(".jsafe/locks");
    // a.json: its lock file records the jsafe process of the merge, now dead.
    bash(tmp.path(), "safe_json_merge a.json '{}'")
        .assert()
        .code(0);
    assert!(locks.join("a.json.lock").exists());
    let temp = tmp.path().join(".jsafe-tmp.a.json.AbCdEfGh");
    fs::write(&temp, "{\"half").unwrap();
    // b.json: free and recent, its recorder on another host (cannot be judged).
    drop(common::hold_lock(
        tmp.path(),
        "b.json",
        1,
        "jsafe merge b.json",
    ));
    // c.json: held right now.
    let _held = common::hold_lock(tmp.path(), "c.json", std::process::id(), "test");

    bash(tmp.path(), "cleanup_orphaned_locks").assert().code(0);
    assert!(
        !locks.join("a.json.lock").exists(),
        "dead holder's lock kept"
    );
    assert!(!temp.exists(), "temp file of a dead write kept");
    assert!(locks.join("b.json.lock").exists());
    assert!(locks.join("c.json.lock").exists());

    bash(tmp.path(), "cleanup_all_locks")
        .assert()
        .code(2)
        .stderr(contains("cleanup_all_locks force"));
    bash(tmp.path(), "cleanup_all_locks please .")
        .assert()
        .code(2);
    assert!(locks.join("b.json.lock").exists());

    bash(tmp.path(), "cleanup_all_locks force \"$PWD\"")
        .assert()
        .code(0);
    assert!(!locks.join("b.json.lock").exists());
    assert!(
        locks.join("c.json.lock").exists(),
        "a held lock was removed"
    );
}

#[test]
fn status_reports_health_with_jsafe_codes() {
    let tmp = tempfile::tempdir().unwrap();
    bash(tmp.path(), "safe_json_merge f.json '{\"a\": 1}'")
        .assert()
        .code(0);
    bash(tmp.path(), "show_json_status")
        .assert()
        .code(0)
        .stdout(contains("f.json"));
    fs::write(tmp.path().join("f.json"), CORRUPT).unwrap();
    bash(tmp.path(), "show_json_status \"$PWD\"")
        .assert()
        .code(5)
        .stdout(contains("f.json"));
}

#[test]
fn critical_files_are_matched_by_canonical_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::create_dir_all(dir.join(".config/jsafe")).unwrap();
    symlink(dir.join("data/prod.json"), dir.join("link.json")).unwrap();
    let list = format!(
        "# protected files\n\n   \n{}\n  ~/home.json  \nrel/other.json\n# {}\n//{}//./x/../spaced.json\r\n",
        dir.join("data/prod.json").display(),
        dir.join("data/commented.json").display(),
        dir.join("data").display(),
    );
    fs::write(dir.join(".config/jsafe/critical-files"), list).unwrap();

    let listed = [
        "data/prod.json",
        "./data/../data/prod.json",
        "link.json",
        "\"$PWD/data/prod.json\"",
        "\"$HOME/home.json\"",
        "\"$XDG_CONFIG_HOME/jsafe/rel/other.json\"",
        "data/spaced.json",
    ];
    for file in listed {
        bash(dir, &format!("is_critical_json_file {file}"))
            .assert()
            .code(0);
    }
    let unlisted = [
        "data/other.json",
        "data/commented.json",
        "prod.json",
        "rel/other.json",
        "\"$PWD/data\"",
    ];
    for file in unlisted {
        bash(dir, &format!("is_critical_json_file {file}"))
            .assert()
            .code(1);
    }
}

#[test]
fn critical_list_location_and_its_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("mine"), "other.json\n").unwrap();
    // JSAFE_CRITICAL_FILES beats the default location (which does not exist).
    bash(dir, "is_critical_json_file other.json")
        .assert()
        .code(1);
    bash(dir, "is_critical_json_file other.json")
        .env("JSAFE_CRITICAL_FILES", dir.join("mine"))
        .assert()
        .code(0);
    // Without XDG_CONFIG_HOME: $HOME/.config.
    fs::create_dir_all(dir.join("home/.config/jsafe")).unwrap();
    fs::write(
        dir.join("home/.config/jsafe/critical-files"),
        "/srv/x.json\n",
    )
    .unwrap();
    bash(
        dir,
        "unset XDG_CONFIG_HOME; is_critical_json_file /srv/x.json",
    )
    .env("HOME", dir.join("home"))
    .assert()
    .code(0);
    // An empty list, and a list that cannot be read.
    fs::write(dir.join("empty"), "# nothing\n").unwrap();
    bash(dir, "is_critical_json_file /srv/x.json")
        .env("JSAFE_CRITICAL_FILES", dir.join("empty"))
        .assert()
        .code(1);
    bash(dir, "is_critical_json_file /srv/x.json")
        .env("JSAFE_CRITICAL_FILES", dir)
        .assert()
        .code(7)
        .stderr(contains("cannot read the list"));
    bash(dir, "is_critical_json_file")
        .assert()
        .code(2)
        .stderr(contains("usage: is_critical_json_file FILE"));
}

#[test]
fn missing_jsafe_is_127_with_a_message_at_call_time() {
    let tmp = tempfile::tempdir().unwrap();
    // Sourcing works without jsafe; the call fails and the shell goes on.
    bash(
        tmp.path(),
        "unset JSAFE_BIN; PATH=/nonexistent; source \"$SHIM\"; echo sourced; \
         safe_json_merge f.json '{}'; echo \"merge $?\"; safe_json_read f.json '{}'; echo \"read $?\"",
    )
    .assert()
    .code(0)
    .stdout("sourced\nmerge 127\nread 127\n")
    .stderr(contains("safe_json_merge: jsafe not found on PATH").and(contains("JSAFE_BIN")));
    bash(tmp.path(), "safe_json_merge f.json '{}'")
        .env("JSAFE_BIN", tmp.path().join("no-such-jsafe"))
        .assert()
        .code(127)
        .stderr(contains("no-such-jsafe is not an executable file"));
    bash(tmp.path(), "test_json_operations")
        .env("JSAFE_BIN", tmp.path())
        .assert()
        .code(127)
        .stderr(contains("jsafe not found"));
    assert!(!tmp.path().join("f.json").exists());

    // jsafe found on PATH when JSAFE_BIN is unset.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_jsafe")).parent().unwrap();
    bash(
        tmp.path(),
        &format!(
            "unset JSAFE_BIN; PATH='{}':$PATH; safe_json_merge f.json '{{\"p\": 1}}'",
            bin_dir.display()
        ),
    )
    .assert()
    .code(0);
    assert_eq!(read_json(&tmp.path().join("f.json")), json!({"p": 1}));
}

#[test]
fn sourcing_changes_no_shell_option_and_works_under_strict_mode() {
    let tmp = tempfile::tempdir().unwrap();
    bash(
        tmp.path(),
        "before=\"$- $(shopt -po | tr '\\n' ' ')\"; source \"$SHIM\"; \
         after=\"$- $(shopt -po | tr '\\n' ' ')\"; [ \"$before\" = \"$after\" ] || { echo \"$before|$after\"; exit 1; }",
    )
    .assert()
    .code(0)
    .stdout("");
    bash(
        tmp.path(),
        "set -euo pipefail; source \"$SHIM\"; safe_json_merge f.json '{\"a\": [1]}'; \
         safe_jq -c .a f.json; safe_json_read f.json > /dev/null; \
         if ! safe_json_read missing.json 2>/dev/null; then echo 'missing handled'; fi; \
         is_critical_json_file f.json || echo 'not critical'; \
         cleanup_orphaned_locks > /dev/null; show_json_status > /dev/null; echo done",
    )
    .assert()
    .code(0)
    .stdout("[1]\nmissing handled\nnot critical\ndone\n");
}

#[test]
fn running_the_file_instead_of_sourcing_it_explains() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = common::command("bash");
    prepare(&mut cmd, tmp.path());
    Command::from_std(cmd)
        .arg(shim())
        .assert()
        .code(2)
        .stderr(contains("source this file"));

    let is_bash = common::command("sh")
        .args(["-c", "test -n \"${BASH_VERSION:-}\""])
        .status()
        .map(|s| s.success());
    if is_bash.unwrap_or(true) {
        return common::skip("sh is bash (or missing) here; the non-bash refusal is not checked");
    }
    let mut cmd = common::command("sh");
    prepare(&mut cmd, tmp.path());
    Command::from_std(cmd)
        .args(["-c", ". \"$SHIM\"; echo \"still here $?\""])
        .assert()
        .code(0)
        .stdout("still here 2\n")
        .stderr(contains("needs bash"));
}

#[test]
fn five_concurrent_shell_workers_lose_no_merge() {
    const WORKERS: usize = 5;
    const MERGES: usize = 40;
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "source \"$SHIM\" || exit 99\n\
         for j in $(seq 1 {MERGES}); do\n\
           safe_json_merge shared.json \"{{\\\"w${{WORKER}}_$j\\\": $j}}\" || exit $?\n\
         done"
    );
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let mut cmd = common::command("bash");
            prepare(&mut cmd, tmp.path());
            cmd.env("WORKER", i.to_string())
                .args(["-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        let out = worker.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "worker {i}: {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let merged = read_json(&tmp.path().join("shared.json"));
    let object = merged.as_object().unwrap();
    assert_eq!(object.len(), WORKERS * MERGES, "updates were lost");
    for i in 0..WORKERS {
        for j in 1..=MERGES {
            assert_eq!(
                object.get(&format!("w{i}_{j}")),
                Some(&json!(j)),
                "w{i}_{j}"
            );
        }
    }
}
