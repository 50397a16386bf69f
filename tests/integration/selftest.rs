//! `jsafe test`: the self-test passes on this machine, reports each check (as
//! lines or as JSON), fails with exit 9 and a FAIL line where writes fail, and
//! rejects an unknown suite with exit 2.

#[path = "../../src/selftest/suites.rs"]
mod suites;

use std::path::Path;
use std::process::Output;

use crate::common;

fn jsafe(args: &[&str]) -> Output {
    common::command(common::bin())
        .args(args)
        .env_remove("JSAFE_NO_SYNC")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn basic_concurrent_and_rollback_pass_with_one_line_per_check() {
    let out = jsafe(&[
        "test",
        "basic",
        "concurrent",
        "rollback",
        "--workers",
        "4",
        "--ops",
        "50",
    ]);
    let stdout = text(&out.stdout);
    print!("{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    // Not a terminal: no progress output, nothing on stderr at all.
    assert_eq!(text(&out.stderr), "");

    let checks: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.starts_with("SKIP "))
        .collect();
    assert!(checks.iter().all(|l| !l.starts_with("FAIL")), "{stdout}");
    for suite in ["basic", "concurrent", "rollback"] {
        assert!(
            checks.iter().any(|l| l[5..].starts_with(suite)),
            "no line for {suite}:\n{stdout}"
        );
    }
    assert!(checks.iter().all(|l| !l[5..].starts_with("crash")));
    let increments = checks
        .iter()
        .find(|l| l.contains("increments"))
        .expect("an increments line");
    assert!(
        increments.contains("4 workers × 50 ops: n = 200 (200 expected)"),
        "{increments}"
    );
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with(&format!("{} checks: ", checks.len())) && last.contains(" 0 failed"),
        "{last}"
    );
}

#[test]
fn the_full_default_run_passes_and_its_json_has_one_passing_entry_per_check() {
    let out = jsafe(&["test", "--workers", "4", "--ops", "50", "--json"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let checks = doc["checks"].as_array().unwrap();

    for c in checks {
        eprintln!(
            "{} {} {}: {}",
            if c["skipped"] == true { "SKIP" } else { "PASS" },
            c["suite"].as_str().unwrap(),
            c["check"].as_str().unwrap(),
            c["detail"].as_str().unwrap()
        );
        assert_eq!(c["pass"], true, "{c}");
        assert!(c["seconds"].as_f64().unwrap() >= 0.0);
        assert!(c["figures"].is_object());
    }
    let suites: Vec<&str> = checks
        .iter()
        .map(|c| c["suite"].as_str().unwrap())
        .collect();
    for suite in suites::SUITES {
        assert!(suites.contains(suite), "no check of {suite}: {suites:?}");
    }
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["durable"], true);
    assert!(doc["filesystem"].is_string(), "{}", doc["filesystem"]);
    assert_eq!(doc["counts"]["fail"], 0);
    assert_eq!(
        doc["counts"]["pass"].as_u64().unwrap() + doc["counts"]["skip"].as_u64().unwrap(),
        checks.len() as u64
    );
    assert_eq!(doc["workers"], 4);
    assert_eq!(doc["ops"], 50);

    let find = |suite: &str, check: &str| {
        checks
            .iter()
            .find(|c| c["suite"] == suite && c["check"] == check)
            .unwrap_or_else(|| panic!("no check {suite}/{check}"))
    };
    let increments = &find("concurrent", "increments")["figures"];
    assert_eq!(increments["n"], 200);
    assert_eq!(increments["expected"], 200);
    // max(20, ops/4) kills, each followed by a look at the file.
    assert_eq!(find("crash", "kills")["figures"]["kills"], 20);
    assert_eq!(find("crash", "sweep")["figures"]["temp_files_remaining"], 0);
    for check in ["seq-writes", "reads", "contended"] {
        let f = &find("performance", check)["figures"];
        assert!(f["ops"].as_u64().unwrap() > 0, "{f}");
        assert!(f["p99_ms"].as_f64().unwrap() >= f["p50_ms"].as_f64().unwrap());
    }
    // The temp dir it worked in is gone.
    let dir = doc["dir"].as_str().unwrap();
    assert!(!Path::new(dir).exists(), "{dir} was left behind");
}

#[test]
fn with_dir_it_works_in_a_fresh_subdirectory_and_removes_it() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("keep.json"), "{}").unwrap();
    let out = jsafe(&[
        "--no-sync",
        "test",
        "basic",
        "--dir",
        d.path().to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let sub = d.path().join(".jsafe-selftest-");
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .contains(sub.to_str().unwrap()),
        "{stdout}"
    );
    assert!(stdout.contains("--no-sync writes"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("keep.json")]);
}

/// Unmounts on drop, so a failing assertion does not leave a mount behind.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = common::command("umount").arg(self.0).status();
    }
}

fn is_root() -> bool {
    common::command("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

fn assert_fails_with_a_fail_line(out: &Output) {
    let stdout = text(&out.stdout);
    print!("{stdout}");
    assert_eq!(out.status.code(), Some(9), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL ")),
        "no FAIL line:\n{stdout}"
    );
    assert!(stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn it_fails_with_a_fail_line_where_writes_fail() {
    let d = tempfile::tempdir().unwrap();
    let mnt = d.path().join("ro");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = is_root()
        && common::command("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
    if mounted {
        let _guard = Mounted(&mnt);
        let out = jsafe(&["test", "basic", "--dir", mnt.to_str().unwrap()]);
        assert_fails_with_a_fail_line(&out);
        assert!(
            text(&out.stdout).contains("read-only"),
            "{}",
            text(&out.stdout)
        );
        return;
    }

    // Not root, or no mounts here: a directory this user cannot write.
    let setpriv = common::command("setpriv").arg("--version").output().is_ok();
    let exe = common::bin();
    let out = if is_root() {
        if !setpriv {
            return common::skip(
                "root without mount permission and without setpriv: no way to make writes fail",
            );
        }
        // Root-owned 755 directory; the test runs as user 65534.
        for p in [d.path(), mnt.as_path()] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        let probe = common::command("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(exe)
            .arg("--version")
            .output()
            .unwrap();
        if !probe.status.success() {
            return common::skip(&format!(
                "user 65534 cannot run {} ({})",
                exe,
                text(&probe.stderr).trim()
            ));
        }
        common::command("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(exe)
            .args(["test", "basic", "--dir"])
            .arg(&mnt)
            .output()
            .unwrap()
    } else {
        std::fs::set_permissions(&mnt, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .unwrap();
        let out = jsafe(&["test", "basic", "--dir", mnt.to_str().unwrap()]);
        std::fs::set_permissions(&mnt, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        out
    };
    assert_fails_with_a_fail_line(&out);
}

#[test]
fn a_check_whose_writes_fail_is_a_fail_line_and_exit_9() {
    // Under a 16-block file-size limit the crash suite's 2 MiB writes fail (exit 7).
    let exe = common::bin();
    let out = common::command("sh")
        .args(["-c", r#"ulimit -f 16 && exec "$0" "$@""#])
        .arg(exe)
        .args(["test", "crash", "--workers", "2", "--ops", "4"])
        .env_remove("JSAFE_NO_SYNC")
        .output()
        .unwrap();
    assert_fails_with_a_fail_line(&out);
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FAIL crash"))
        .unwrap_or_else(|| panic!("no FAIL crash line:\n{stdout}"));
    assert!(line.contains("exit 7"), "{line}");
}

#[test]
fn an_unknown_suite_is_a_usage_error_listing_the_suites() {
    let out = jsafe(&["test", "basic", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("'nosuch'"), "{stderr}");
    assert!(
        stderr.contains("basic, concurrent, crash, cleanup, rollback, performance"),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn zero_workers_or_a_missing_dir_are_refused_before_anything_runs() {
    let out = jsafe(&["test", "basic", "--workers", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    let out = jsafe(&["test", "basic", "--dir", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(!missing.exists());
}

#[test]
fn the_concurrent_suite_counts_its_journal_lines_across_a_rotation() {
    // 8 × 300 updates write more than the journal's 1 MiB rotation size.
    let out = jsafe(&[
        "--no-sync",
        "test",
        "concurrent",
        "--workers",
        "8",
        "--ops",
        "300",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let journal = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "journal")
        .unwrap();
    assert_eq!(journal["pass"], true, "{journal}");
    assert_eq!(journal["figures"]["updates"], 2400, "{journal}");
    // The lines were spread over a rotated journal and the current one.
    assert!(
        journal["figures"]["journal_files"].as_u64().unwrap() >= 2,
        "{journal}"
    );
    assert!(
        journal["figures"]["lines"].as_u64().unwrap() >= 2400,
        "{journal}"
    );
}
