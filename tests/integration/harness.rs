//! The harness itself: a process a test starts inherits no `JSAFE_*`
//! variable and no `CI`, whatever the test's own environment holds; a
//! skipped test fails under CI; an in-process test re-runs itself in a clean
//! child. Each check runs this test binary again as a child with a hostile
//! environment (a test cannot change its own environment without `unsafe`).

use std::path::Path;

use crate::common;

/// Set in the child copy of the test binary: which check to run there.
const CHILD: &str = "HARNESS_CHECK_CHILD";

/// Run `test` (a test of this module) in a child copy of this binary with
/// `envs` added to the environment.
fn child(test: &str, envs: &[(&str, &str)]) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut c = common::command(exe);
    c.args([
        &format!("harness::{test}"),
        "--exact",
        "--test-threads=1",
        "--nocapture",
    ]);
    c.envs(envs.iter().copied()).env(CHILD, test);
    c.output().expect("run the test binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const HOSTILE: &[(&str, &str)] = &[
    ("JSAFE_NO_JOURNAL", "1"),
    ("JSAFE_NO_BACKUP", "1"),
    ("JSAFE_COMPLETE", "bash"),
    ("JSAFE_LOCK_FD", "3"),
    ("JSAFE_FAILPOINT", "state-dir:1:crash"),
    ("JSAFE_NOT_YET_INVENTED", "1"),
    ("CI", "1"),
    ("RUST_BACKTRACE", "1"),
];

#[test]
fn a_started_process_inherits_no_jsafe_variable_and_no_ci() {
    if std::env::var_os(CHILD).is_some() {
        let out = common::command("env").output().unwrap();
        let env = text(&out.stdout);
        let leaked: Vec<&str> = env
            .lines()
            .filter(|l| {
                l.starts_with("JSAFE_") || l.starts_with("CI=") || l.starts_with("RUST_BACKTRACE=")
            })
            .collect();
        assert!(
            leaked.is_empty(),
            "leaked into a started process: {leaked:?}"
        );
        // What a test sets after the harness is what the process gets.
        let out = common::command("env")
            .env("JSAFE_QUIET", "1")
            .output()
            .unwrap();
        assert!(text(&out.stdout).lines().any(|l| l == "JSAFE_QUIET=1"));
        return;
    }
    let out = child(
        "a_started_process_inherits_no_jsafe_variable_and_no_ci",
        HOSTILE,
    );
    assert!(
        out.status.success() && text(&out.stdout).contains("1 passed"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn jsafe_started_by_a_test_writes_its_journal_and_backups_whatever_the_test_inherited() {
    if std::env::var_os(CHILD).is_some() {
        let d = tempfile::tempdir().unwrap();
        let dir: &Path = d.path();
        common::run(dir, &["write", "f.json", r#"{"a": 1}"#]).ok();
        common::run(dir, &["merge", "f.json", r#"{"b": 2}"#]).ok();
        assert_eq!(common::journal_lines(dir).len(), 2);
        assert_eq!(common::backups(dir, "f.json").len(), 1);
        return;
    }
    let out = child(
        "jsafe_started_by_a_test_writes_its_journal_and_backups_whatever_the_test_inherited",
        HOSTILE,
    );
    assert!(
        out.status.success() && text(&out.stdout).contains("1 passed"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn a_skip_fails_under_ci_and_says_skip_elsewhere() {
    if std::env::var_os(CHILD).is_some() {
        return common::skip("the harness's own check");
    }
    let name = "a_skip_fails_under_ci_and_says_skip_elsewhere";
    let under_ci = child(name, &[("CI", "true")]);
    assert!(!under_ci.status.success(), "a skip passed under CI");
    assert!(
        text(&under_ci.stderr).contains("skipped under CI"),
        "{}",
        text(&under_ci.stderr)
    );
    // An empty CI is no CI (some runners export it empty).
    for ci in [None, Some("")] {
        let mut envs = vec![];
        if let Some(v) = ci {
            envs.push(("CI", v));
        }
        let out = child(name, &envs);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("SKIP: the harness's own check"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn an_in_process_test_runs_again_in_a_clean_child() {
    if !common::clean_process() {
        // Here only in a parent with JSAFE_* set: the clean child passed.
        assert!(std::env::var_os("JSAFE_FAILPOINT").is_some());
        return;
    }
    // The environment is clean here (the test's own or the child's).
    assert!(
        !std::env::vars_os().any(|(n, _)| n.as_encoded_bytes().starts_with(b"JSAFE_")),
        "clean_process() said clean with JSAFE_* set"
    );
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    // A parent with a hostile set: clean_process() must run the test in a
    // child (which passes) and tell the parent to return.
    let out = child(
        "an_in_process_test_runs_again_in_a_clean_child",
        &[("JSAFE_FAILPOINT", "state-dir:1:crash")],
    );
    assert!(
        out.status.success() && text(&out.stdout).contains("1 passed"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
