//! `jsafe status`: health, locks, backups, journal, exit codes, discovery.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::common;
use common::{NOBODY, jsafe, jsafe_as, ok, require_root};

fn status(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = jsafe(dir).arg("status").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn status_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, text) = status(dir, &[&["--json"], args].concat());
    (code, serde_json::from_str(&text).unwrap())
}

fn file<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {doc:#}"))
}

fn paths(doc: &Value) -> Vec<String> {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

/// Hold `name`'s lock in this process, with a holder record as jsafe writes it.
fn hold_lock(dir: &Path, name: &str) -> File {
    let locks = dir.join(".jsafe/locks");
    fs::create_dir_all(&locks).unwrap();
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(locks.join(format!("{name}.lock")))
        .unwrap();
    f.lock().unwrap();
    write!(f, "{}", jsafe::__internals::holder_line("jsafe test")).unwrap();
    f
}

/// healthy.json (with a backup), corrupt.json, missing.json (deleted after a
/// write), locked.json (lock held by this process).
fn four_files(dir: &Path) -> File {
    ok(dir, &["write", "healthy.json", r#"{"a":1}"#]);
    ok(dir, &["merge", "healthy.json", r#"{"b":2}"#]);
    ok(dir, &["write", "corrupt.json", r#"{"a":1}"#]);
    fs::write(dir.join("corrupt.json"), "{\n  \"a\": 1,\n  oops\n}\n").unwrap();
    ok(dir, &["write", "missing.json", "[]"]);
    ok(dir, &["write", "missing.json", "[1]"]);
    fs::remove_file(dir.join("missing.json")).unwrap();
    ok(dir, &["write", "locked.json", "[1,2]"]);
    hold_lock(dir, "locked.json")
}

#[test]
fn reports_healthy_corrupt_missing_and_locked_files_in_table_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let _lock = four_files(dir);

    let (code, table) = status(dir, &[]);
    assert_eq!(code, 5, "{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("FILE "), "{table}");
    for column in ["HEALTH", "SIZE", "MODIFIED", "LOCK", "BACKUPS", "LAST OP"] {
        assert!(lines[0].contains(column), "{table}");
    }
    let row = |name: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
    };
    assert!(row("healthy.json").contains(" ok "), "{table}");
    assert!(row("healthy.json").contains("merge"), "{table}");
    assert!(row("corrupt.json").contains("corrupt 3:3"), "{table}");
    assert!(row("missing.json").contains("missing"), "{table}");
    let pid = std::process::id().to_string();
    assert!(
        row("locked.json").contains(&format!("held by {pid} (alive)")),
        "{table}"
    );
    // Columns are aligned: HEALTH starts at the same place in every row.
    let at = lines[0].find("HEALTH").unwrap();
    for l in &lines[1..5] {
        assert_eq!(l.as_bytes()[at - 1], b' ', "{table}");
        assert_ne!(l.as_bytes()[at], b' ', "{table}");
    }
    assert!(
        table.contains("corrupt.json: not valid JSON (line 3, column 3"),
        "{table}"
    );
    // Lock files left by finished writes are ordinary: only -v counts them.
    assert_eq!(
        lines.last().unwrap(),
        &"4 files: 2 ok, 1 corrupt, 1 missing; 1 lock held"
    );
    let (_, verbose) = status(dir, &["-v"]);
    assert!(
        verbose
            .trim_end()
            .ends_with("1 lock held; 3 left-over lock files (`jsafe cleanup-locks` removes them)"),
        "{verbose}"
    );

    let (code, doc) = status_json(dir, &[]);
    assert_eq!(code, 5);
    assert_eq!(doc["exit_code"], 5);
    assert_eq!(
        paths(&doc),
        [
            "corrupt.json",
            "healthy.json",
            "locked.json",
            "missing.json"
        ]
    );
    let healthy = file(&doc, "healthy.json");
    assert_eq!(healthy["health"], "ok");
    assert_eq!(healthy["error"], Value::Null);
    assert_eq!(
        healthy["size"],
        fs::metadata(dir.join("healthy.json")).unwrap().len()
    );
    assert!(healthy["modified"].as_str().unwrap().ends_with('Z'));
    assert_eq!(healthy["backups"]["count"], 1);
    assert_eq!(
        healthy["backups"]["newest"],
        healthy["backups"]["newest_valid"]
    );
    assert_eq!(healthy["last_op"]["op"], "merge");
    assert_eq!(healthy["last_op"]["result"], "ok");
    assert_eq!(healthy["lock"]["state"], "left-over");
    assert_eq!(healthy["lock"]["holder"]["alive"], "dead");
    assert_eq!(healthy["problems"], serde_json::json!([]));

    let corrupt = file(&doc, "corrupt.json");
    assert_eq!(corrupt["health"], "corrupt");
    assert_eq!(corrupt["error"]["line"], 3);
    assert_eq!(corrupt["error"]["column"], 3);
    assert_eq!(corrupt["error"]["offset"], 14);
    assert_eq!(corrupt["problems"].as_array().unwrap().len(), 1);

    let missing = file(&doc, "missing.json");
    assert_eq!(missing["health"], "missing");
    assert_eq!(missing["size"], Value::Null);
    assert_eq!(missing["last_op"]["op"], "write");

    let locked = file(&doc, "locked.json");
    assert_eq!(locked["health"], "ok");
    assert_eq!(locked["lock"]["state"], "held");
    assert_eq!(locked["lock"]["holder"]["pid"], std::process::id());
    assert_eq!(locked["lock"]["holder"]["alive"], "alive");
    assert_eq!(locked["lock"]["stale"], false);
    assert!(locked["lock"]["held_for_secs"].as_f64().unwrap() >= 0.0);

    let s = &doc["summary"];
    assert_eq!(
        (s["files"].clone(), s["ok"].clone(), s["corrupt"].clone()),
        (4.into(), 2.into(), 1.into())
    );
    assert_eq!(s["missing"], 1);
    assert_eq!(s["locks_held"], 1);
    assert_eq!(s["locks_stale"], 0);
    assert_eq!(s["files_with_problems"], 2);
}

#[test]
fn exit_codes_corrupt_wins_then_problems_then_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let lock = four_files(dir);
    assert_eq!(status(dir, &[]).0, 5);

    // Without the corrupt file, the missing one is a problem.
    ok(dir, &["write", "corrupt.json", "{}"]);
    let (code, table) = status(dir, &[]);
    assert_eq!(code, 9, "{table}");
    assert!(table.contains("missing.json: missing; `jsafe restore --latest missing.json`"));

    // A lock held for a moment by a live holder is normal.
    ok(dir, &["restore", "--latest", "missing.json"]);
    let (code, table) = status(dir, &[]);
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("1 lock held"), "{table}");

    // Held longer than --stale-after is a problem.
    let (code, doc) = status_json(dir, &["--stale-after", "0s"]);
    assert_eq!(code, 9);
    let locked = file(&doc, "locked.json");
    assert_eq!(locked["lock"]["stale"], true);
    assert!(
        locked["problems"][0]
            .as_str()
            .unwrap()
            .contains("lock held longer than 0s")
    );
    let (code, table) = status(dir, &["--stale-after", "0s"]);
    assert_eq!(code, 9);
    assert!(table.contains("STALE"), "{table}");

    drop(lock);
    let (code, doc) = status_json(dir, &["--stale-after", "0s"]);
    assert_eq!(code, 0);
    // The record names this process, which lives on: free, not left-over.
    assert_eq!(file(&doc, "locked.json")["lock"]["state"], "free");
}

#[test]
fn a_lock_held_by_a_running_update_is_reported_with_its_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "slow.json", r#"{"n":1}"#]);
    let mut child = jsafe(dir)
        .args([
            "update",
            "slow.json",
            "last(range(1e18))",
            "--filter-timeout",
            "60",
        ])
        .spawn()
        .unwrap();
    let mut doc = Value::Null;
    for _ in 0..200 {
        doc = status_json(dir, &[]).1;
        // Held, and its record written: between its flock and its record
        // the lock is held by a holder status cannot name yet, and the
        // file still holds the record of the `write` before it (which
        // names another pid), so wait for the update's own record.
        let lock = &file(&doc, "slow.json")["lock"];
        if lock["state"] == "held" && lock["holder"]["pid"] == child.id() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lock = &file(&doc, "slow.json")["lock"];
    assert_eq!(lock["state"], "held", "{doc:#}");
    assert_eq!(lock["holder"]["pid"], child.id());
    assert_eq!(lock["holder"]["alive"], "alive");
    // The subcommand, never its arguments (they may hold data).
    assert!(
        lock["holder"]["command"]
            .as_str()
            .unwrap()
            .contains("update")
            && !lock["holder"]["command"]
                .as_str()
                .unwrap()
                .contains("slow.json")
    );
    assert_eq!(doc["exit_code"], 0);

    // Killed, it leaves its lock file behind: a left-over of a dead process.
    let (code, doc) = status_json(dir, &[]);
    assert_eq!(code, 0);
    let lock = &file(&doc, "slow.json")["lock"];
    assert_eq!(lock["state"], "left-over");
    assert_eq!(lock["holder"]["alive"], "dead");
    assert_eq!(doc["summary"]["locks_left_over"], 1);
}

#[test]
fn plain_json_files_only_with_all_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir(dir.join("sub")).unwrap();
    ok(dir, &["write", "sub/managed.json", "{}"]);
    fs::write(dir.join("plain.json"), "{}").unwrap();
    fs::write(dir.join("sub/broken.json"), "{").unwrap();
    fs::write(dir.join("notes.txt"), "{").unwrap();

    let (code, doc) = status_json(dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(paths(&doc), ["sub/managed.json"]);

    let (code, doc) = status_json(dir, &["--all-json"]);
    assert_eq!(code, 5);
    assert_eq!(
        paths(&doc),
        ["plain.json", "sub/broken.json", "sub/managed.json"]
    );
    assert_eq!(file(&doc, "plain.json")["lock"]["state"], "none");
    assert_eq!(file(&doc, "plain.json")["last_op"], Value::Null);

    // A directory given as a path is searched; nothing else around it.
    let (code, doc) = status_json(dir, &["sub"]);
    assert_eq!(code, 0);
    assert_eq!(paths(&doc), ["sub/managed.json"]);
}

#[test]
fn a_file_given_directly_is_always_reported_and_nothing_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("plain.json"), "[1]").unwrap();
    let (code, doc) = status_json(dir, &["plain.json"]);
    assert_eq!(code, 0);
    assert_eq!(file(&doc, "plain.json")["health"], "ok");
    // A PATH that does not exist is an error (6), not a "missing" file.
    let (code, doc) = status_json(dir, &["plain.json", "absent.json"]);
    assert_eq!(code, 6);
    assert_eq!(paths(&doc), ["plain.json"]);
    assert!(
        doc["errors"][0].as_str().unwrap().contains("absent.json"),
        "{doc:#}"
    );
    assert!(!dir.join(".jsafe").exists(), "status must not create state");
}

#[test]
fn a_symlinked_file_reads_its_state_beside_the_real_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir_all(dir.join("real")).unwrap();
    fs::create_dir_all(dir.join("view")).unwrap();
    ok(dir, &["write", "real/conf.json", r#"{"v":1}"#]);
    ok(dir, &["merge", "real/conf.json", r#"{"v":2}"#]);
    std::os::unix::fs::symlink("../real/conf.json", dir.join("view/conf.json")).unwrap();
    std::os::unix::fs::symlink("../real", dir.join("view/dirlink")).unwrap();

    // Through the link given directly.
    let (code, doc) = status_json(dir, &["view/conf.json"]);
    assert_eq!(code, 0);
    let f = file(&doc, "view/conf.json");
    assert_eq!(f["real_path"], "view/../real/conf.json");
    assert_eq!(f["backups"]["count"], 1);
    assert_eq!(f["last_op"]["op"], "merge");
    assert!(!dir.join("view/.jsafe").exists());

    // Found by walking a directory that holds only the link (the directory
    // link is not followed, so the file is not reported twice).
    let (_, doc) = status_json(dir, &["view"]);
    assert_eq!(paths(&doc), ["view/conf.json"]);

    // Walking both: reported once, at its real place.
    let (_, doc) = status_json(dir, &[]);
    assert_eq!(paths(&doc), ["real/conf.json"]);
}

#[test]
fn backups_quarantine_and_newest_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "[1]"]);
    ok(dir, &["write", "f.json", "[2]"]);
    ok(dir, &["write", "f.json", "[3]"]);
    // A newer backup that does not parse: newest_valid must skip it.
    fs::write(
        dir.join(".jsafe/backups/f.json/0000000099.29991231T235959.000000000Z.json"),
        "{",
    )
    .unwrap();
    fs::write(dir.join("f.json"), "garbage").unwrap();
    ok(dir, &["write", "f.json", "[4]"]);

    let (code, doc) = status_json(dir, &[]);
    assert_eq!(code, 0);
    let f = file(&doc, "f.json");
    assert_eq!(f["backups"]["count"], 3);
    assert_eq!(
        f["backups"]["newest"],
        "0000000099.29991231T235959.000000000Z.json"
    );
    assert_eq!(f["backups"]["newest_time"], "2999-12-31T23:59:59.000Z");
    let valid = f["backups"]["newest_valid"].as_str().unwrap();
    assert!(valid.starts_with("0000000002."), "{valid}");
    let content = fs::read(dir.join(".jsafe/backups/f.json").join(valid)).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&content).unwrap(),
        serde_json::json!([2])
    );
    assert_eq!(f["quarantined"], 1);
    assert_eq!(f["last_op"]["result"], "replaced-corrupt");
    let (_, table) = status(dir, &[]);
    assert!(
        table.contains("3 (newest invalid), 1 quarantined"),
        "{table}"
    );
}

#[test]
fn no_managed_files_is_fine_and_said() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, table) = status(tmp.path(), &[]);
    assert_eq!(code, 0);
    assert!(table.starts_with("no managed files found"), "{table}");
    let (code, doc) = status_json(tmp.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["summary"]["files"], 0);
}

#[test]
fn a_symlinked_lock_file_is_a_problem_and_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "{}"]);
    let lock = dir.join(".jsafe/locks/f.json.lock");
    fs::remove_file(&lock).unwrap();
    fs::write(dir.join("elsewhere"), "x").unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere"), &lock).unwrap();
    let (code, doc) = status_json(dir, &[]);
    assert_eq!(code, 9);
    let f = file(&doc, "f.json");
    assert_eq!(f["lock"]["state"], "error");
    assert!(
        f["problems"][0]
            .as_str()
            .unwrap()
            .contains("cannot probe lock file")
    );
}

/// Run jsafe as nobody (root reads everything, so permission tests need another user).
fn as_nobody(dir: &Path, args: &[&str]) -> Output {
    jsafe_as(NOBODY, dir).args(args).output().unwrap()
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534"]
fn an_unreadable_directory_is_a_problem_and_nothing_readable_is_exit_7() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir(dir.join("open")).unwrap();
    fs::create_dir(dir.join("closed")).unwrap();
    ok(dir, &["write", "open/a.json", "{}"]);
    ok(dir, &["write", "closed/b.json", "{}"]);
    for p in [
        ".",
        "open",
        "open/.jsafe",
        "open/.jsafe/locks",
        "open/.jsafe/backups",
    ] {
        if let Ok(m) = fs::metadata(dir.join(p)) {
            let mut perm = m.permissions();
            perm.set_mode(0o755);
            fs::set_permissions(dir.join(p), perm).unwrap();
        }
    }
    fs::set_permissions(dir.join("closed"), fs::Permissions::from_mode(0o700)).unwrap();

    let out = as_nobody(dir, &["status", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&doc), ["open/a.json"]);
    assert_eq!(doc["summary"]["scan_errors"], 1);
    assert!(doc["errors"][0].as_str().unwrap().contains("closed"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("closed"));

    let out = as_nobody(dir, &["status", "closed/sub"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing could be scanned"));
}

// An append writes its line with one write(2), but a reader without the lock
// can see part of it: status looks again under a shared lock before calling
// the last line torn.
#[test]
fn status_during_large_appends_never_calls_the_log_torn() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    ok(&d, &["append", "log.jsonl", "{\"i\": 0}"]);
    const APPENDS: usize = 24;
    let appender_done = Arc::new(AtomicBool::new(false));
    let appender = {
        let d = d.clone();
        std::thread::spawn(move || {
            for i in 1..=APPENDS {
                // 0.5 to 1 MiB per line.
                let pad = "x".repeat((512 << 10) + (i * 21_845) % (512 << 10));
                let line = format!("{{\"i\": {i}, \"pad\": \"{pad}\"}}\n");
                let mut child = jsafe(&d)
                    .args(["append", "log.jsonl", "-"])
                    .stdin(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(line.as_bytes())
                    .unwrap();
                assert!(child.wait().unwrap().success());
            }
        })
    };
    // Two status loops, bounded by count: while the appends go on, and a
    // few runs more.
    let watchers: Vec<_> = (0..2)
        .map(|_| {
            let d = d.clone();
            let done = appender_done.clone();
            std::thread::spawn(move || {
                let mut runs = 0;
                while runs < 300 && (!done.load(Ordering::SeqCst) || runs < 3) {
                    let (code, text) = status(&d, &["log.jsonl"]);
                    if code != 0 {
                        return Err(format!("status run {runs} exited {code}: {text}"));
                    }
                    runs += 1;
                }
                Ok(runs)
            })
        })
        .collect();
    appender.join().unwrap();
    appender_done.store(true, Ordering::SeqCst);
    for w in watchers {
        let runs = w.join().unwrap();
        assert!(runs.is_ok(), "during the appends: {}", runs.unwrap_err());
    }
    let (code, text) = status(&d, &["log.jsonl"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        fs::read_to_string(d.join("log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        APPENDS + 1
    );
}

// The same, made certain: an append holds the lock with half its line
// written. Status waits for it under a shared lock and then finds the log
// whole, instead of exiting 5 at once.
#[test]
fn status_waits_for_an_append_in_progress_before_calling_the_log_torn() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["append", "log.jsonl", "{\"i\": 0}"]);
    let lock = hold_lock(d, "log.jsonl");
    let ino = fs::metadata(d.join(".jsafe/locks/log.jsonl.lock"))
        .unwrap()
        .ino();
    let mut log = OpenOptions::new()
        .append(true)
        .open(d.join("log.jsonl"))
        .unwrap();
    log.write_all(b"{\"i\": 1, \"half").unwrap();

    let mut status = common::spawn(jsafe(d).args(["status", "--json", "log.jsonl"]));
    // Until status waits for the lock (a waiter in /proc/locks) or has ended.
    let mut waiting = false;
    for _ in 0..3000 {
        if status.try_wait().unwrap().is_some() {
            break;
        }
        let locks = fs::read_to_string("/proc/locks").unwrap();
        waiting = locks
            .lines()
            .any(|l| l.contains("->") && l.contains(&format!(":{ino} ")));
        if waiting {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    log.write_all(b"\": true}\n").unwrap();
    drop(lock);
    let out = status.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(waiting, "status never waited for the lock");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file(&doc, "log.jsonl")["health"], "ok", "{doc}");
}
