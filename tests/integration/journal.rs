//! The audit journal `.jsafe/journal.jsonl`: one whole JSON line per successful
//! change, none for failed or no-change operations, never interleaved.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn jsafe(dir: &Path, args: &[&str]) -> Output {
    common::command(common::bin())
        .current_dir(dir)
        .arg("--no-sync")
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) {
    let out = jsafe(dir, args);
    assert!(
        out.status.success(),
        "jsafe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fails(dir: &Path, args: &[&str]) -> i32 {
    let out = jsafe(dir, args);
    assert!(!out.status.success(), "jsafe {args:?} should fail");
    out.status.code().unwrap()
}

fn journal(dir: &Path) -> PathBuf {
    dir.join(".jsafe/journal.jsonl")
}

/// Every line, each parsed (a line that does not parse fails the test).
fn lines(dir: &Path) -> Vec<Value> {
    let text = match fs::read_to_string(journal(dir)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{e}"),
    };
    assert!(text.is_empty() || text.ends_with('\n'), "last line is cut");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn sha256_of(path: &Path) -> String {
    jsafe::__internals::sha256_hex(&fs::read(path).unwrap())
}

#[test]
fn one_line_per_successful_change_with_every_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", r#"{"a":1}"#]);
    ok(dir, &["merge", "f.json", r#"{"b":2}"#]);
    ok(dir, &["update", "f.json", ".a += 1"]);
    ok(dir, &["restore", "--latest", "f.json"]);
    let entries = lines(dir);
    let ops: Vec<&str> = entries.iter().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["write", "merge", "update", "restore"]);

    let fields = [
        "time",
        "op",
        "file",
        "file_name",
        "pid",
        "uid",
        "user",
        "host",
        "bytes_before",
        "bytes_after",
        "sha256_before",
        "sha256_after",
        "backup",
        "quarantined",
        "recovered_from",
        "duration_ms",
        "result",
    ];
    for e in &entries {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, fields, "{e}");
        assert_eq!(e["file"], "f.json");
        assert_eq!(e["file_name"], "f.json");
        assert_eq!(e["result"], "ok");
        assert_eq!(e["host"], jsafe::__internals::host_name());
    }
    // The first write created the file: nothing before, no backup.
    assert_eq!(entries[0]["bytes_before"], Value::Null);
    assert_eq!(entries[0]["sha256_before"], Value::Null);
    assert_eq!(entries[0]["backup"], Value::Null);
    // Each change starts from the bytes the one before left, and the last one
    // describes the file as it is.
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["sha256_before"], pair[0]["sha256_after"]);
        assert_eq!(pair[1]["bytes_before"], pair[0]["bytes_after"]);
        let backup = pair[1]["backup"].as_str().unwrap();
        assert_eq!(
            sha256_of(&dir.join(".jsafe/backups/f.json").join(backup)),
            pair[0]["sha256_after"].as_str().unwrap()
        );
    }
    let last = entries.last().unwrap();
    assert_eq!(last["sha256_after"], sha256_of(&dir.join("f.json")));
    assert_eq!(
        last["bytes_after"],
        fs::metadata(dir.join("f.json")).unwrap().len()
    );
}

#[test]
fn no_line_for_failed_or_unchanged_operations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", r#"{"a":1}"#]);
    assert_eq!(lines(dir).len(), 1);

    // No change: a merge that changes nothing, the same content written again,
    // a filter that returns its input.
    ok(dir, &["merge", "f.json", r#"{"a":1}"#]);
    ok(dir, &["merge", "f.json", r#"{"gone":null}"#]);
    ok(dir, &["write", "f.json", r#"{"a":1}"#]);
    ok(dir, &["update", "f.json", "."]);
    // Failures: a failing filter, a filter with two results, a bad patch.
    assert_eq!(fails(dir, &["update", "f.json", "error(\"no\")"]), 4);
    assert_eq!(fails(dir, &["update", "f.json", ".a, .a"]), 4);
    assert_eq!(fails(dir, &["merge", "f.json", "{"]), 4);
    assert_eq!(lines(dir).len(), 1);

    // A corrupt target stops merge and update: no line.
    fs::write(dir.join("f.json"), "{oops").unwrap();
    assert_eq!(fails(dir, &["merge", "f.json", r#"{"b":1}"#]), 5);
    assert_eq!(fails(dir, &["update", "f.json", ".b = 1"]), 5);
    assert_eq!(lines(dir).len(), 1);

    // Replacing the corrupt file is a change, and says so.
    ok(dir, &["write", "f.json", r#"{"a":2}"#]);
    let entries = lines(dir);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["result"], "replaced-corrupt");
    let q = entries[1]["quarantined"].as_str().unwrap();
    assert_eq!(fs::read_to_string(dir.join(q)).unwrap(), "{oops");
}

#[test]
fn opting_out_with_the_flag_or_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["--no-journal", "write", "f.json", "[1]"]);
    assert!(!journal(dir).exists());
    for (value, content) in [("1", "[10]"), ("true", "[11]")] {
        let out = common::command(common::bin())
            .current_dir(dir)
            .env("JSAFE_NO_JOURNAL", value)
            .args(["--no-sync", "write", "f.json", content])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "JSAFE_NO_JOURNAL={value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let now: Value = serde_json::from_slice(&fs::read(dir.join("f.json")).unwrap()).unwrap();
        assert_eq!(now.to_string(), content);
        assert!(
            !journal(dir).exists(),
            "JSAFE_NO_JOURNAL={value} wrote a line"
        );
    }
    ok(dir, &["write", "f.json", "[2]"]);
    assert_eq!(lines(dir).len(), 1);
}

#[test]
fn concurrent_writers_write_whole_lines_in_the_order_of_their_changes() {
    const WRITERS: usize = 6;
    const UPDATES: usize = 40;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    ok(&dir, &["write", "count.json", r#"{"n":0}"#]);
    ok(&dir, &["write", "other.json", r#"{"n":0}"#]);
    // Writers of two files in one directory share the journal.
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let dir = dir.clone();
            let file = if i % 2 == 0 {
                "count.json"
            } else {
                "other.json"
            };
            std::thread::spawn(move || {
                for _ in 0..UPDATES {
                    ok(&dir, &["--no-backup", "update", file, ".n += 1"]);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let entries = lines(&dir);
    assert_eq!(entries.len(), 2 + WRITERS * UPDATES);
    for file in ["count.json", "other.json"] {
        let mine: Vec<&Value> = entries.iter().filter(|e| e["file_name"] == file).collect();
        assert_eq!(mine.len(), 1 + WRITERS / 2 * UPDATES);
        // Changes of one file were serialized by its lock, and their lines are
        // appended under it: each line starts where the one before ended.
        for pair in mine.windows(2) {
            assert_eq!(pair[1]["sha256_before"], pair[0]["sha256_after"], "{file}");
        }
        assert_eq!(
            mine.last().unwrap()["sha256_after"],
            sha256_of(&dir.join(file))
        );
    }
}

#[test]
fn status_shows_the_last_entry_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "a.json", "{}"]);
    ok(dir, &["write", "b.json", "{}"]);
    ok(dir, &["merge", "a.json", r#"{"x":1}"#]);
    ok(dir, &["update", "b.json", ".y = 2"]);
    ok(dir, &["merge", "a.json", r#"{"x":1}"#]); // no change, no line
    let out = jsafe(dir, &["status", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let op = |name: &str| {
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == name)
            .unwrap()["last_op"]["op"]
            .clone()
    };
    assert_eq!(op("a.json"), "merge");
    assert_eq!(op("b.json"), "update");
}

#[test]
fn the_user_is_named_from_the_user_database_never_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |user: Option<&str>, patch: &str| {
        let mut c = common::command(common::bin());
        c.current_dir(dir)
            .args(["--no-sync", "merge", "f.json", patch])
            .env_remove("USER")
            .env_remove("LOGNAME");
        if let Some(u) = user {
            c.env("USER", u).env("LOGNAME", u);
        }
        assert!(c.output().unwrap().status.success());
    };
    run(Some("alice"), r#"{"a":1}"#);
    run(None, r#"{"a":2}"#);
    let l = lines(dir);
    let uid = l[1]["uid"].as_u64().unwrap();
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let expected = passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_owned())
        })
        .unwrap_or_default();
    assert!(!expected.is_empty(), "uid {uid} not in /etc/passwd");
    assert_ne!(expected, "alice");
    // USER=alice is ignored: the name belongs to the real uid.
    assert_eq!(l[0]["user"], expected.as_str());
    assert_eq!(l[1]["user"], expected.as_str());
}

#[test]
fn a_change_whose_directory_fsync_fails_is_journaled_once_as_not_durable() {
    // The line is written while the directory is being fsynced; when that
    // fsync fails, the line says so (rewritten, not a second line).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    for (step, code, result) in [("dir-fsync", 8, "not-durable"), ("journal-fsync", 0, "ok")] {
        let before = lines(dir).len();
        let out = common::command(common::bin())
            .current_dir(dir)
            .env("JSAFE_FAILPOINT", format!("{step}:1:EIO"))
            .args(["merge", "f.json", &format!(r#"{{"{step}": 1}}"#)])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let all = lines(dir);
        assert_eq!(all.len(), before + 1, "{step}: {all:?}");
        assert_eq!(all[before]["result"], result, "{step}");
    }
}

#[test]
fn a_backup_directory_that_cannot_be_fsynced_stops_the_change_before_the_rename() {
    // The replaced version must be durable in its backup before the new one
    // is: a failed fsync of the backup directory changes nothing, writes no
    // journal line and leaves no new backup.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    ok(dir, &["merge", "f.json", r#"{"b": 2}"#]);
    let before = fs::read(dir.join("f.json")).unwrap();
    let backups = || {
        fs::read_dir(dir.join(".jsafe/backups/f.json"))
            .unwrap()
            .count()
    };
    let (lines_before, backups_before) = (lines(dir).len(), backups());
    let out = common::command(common::bin())
        .current_dir(dir)
        .env("JSAFE_FAILPOINT", "backup-dir-fsync:1:EIO")
        .args(["merge", "f.json", r#"{"c": 3}"#])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("cannot fsync the backup directory"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(fs::read(dir.join("f.json")).unwrap(), before);
    assert_eq!(lines(dir).len(), lines_before);
    assert_eq!(backups(), backups_before);
}

/// A document of `events` events, over 1 MiB from about 12,000 on.
fn big_doc(events: usize) -> String {
    let items: Vec<String> = (0..events)
        .map(|i| format!(r#"{{"id": {i}, "type": "job.started", "host": "worker-{i:03}"}}"#))
        .collect();
    format!("{{\"n\": 0, \"events\": [{}]}}\n", items.join(", "))
}

/// Merge `{"n": 1}` into big.json (whose `n` is not 1) until a line records
/// `stat_after`; returns that line. A line leaves it out when the rename's
/// change time could be repeated by a later write (docs/decisions/
/// journal-hash.md): on a filesystem with nanosecond times, only when the
/// check falls into the same tick of the kernel's clock as the rename, or
/// the time is a whole microsecond (one in a thousand).
fn changed_with_stat_after(dir: &Path) -> Value {
    for n in [1, 0, 1, 0, 1] {
        ok(dir, &["merge", "big.json", &format!(r#"{{"n":{n}}}"#)]);
        let line = lines(dir).pop().unwrap();
        if n == 1 && line["stat_after"].is_object() {
            return line;
        }
    }
    panic!("no line recorded stat_after: {:?}", lines(dir));
}

#[test]
fn a_large_files_next_change_takes_the_replaced_hash_from_its_last_line() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("big.json"), big_doc(20_000)).unwrap();
    let first = changed_with_stat_after(dir);
    // The line says which version its hash is of.
    let meta = fs::metadata(dir.join("big.json")).unwrap();
    let id = &first["stat_after"];
    assert_eq!(id["ino"], meta.ino(), "{first}");
    assert_eq!(id["size"], meta.len());
    assert_eq!(
        id["ctime_ns"],
        meta.ctime() * 1_000_000_000 + meta.ctime_nsec()
    );
    assert_eq!(first["sha256_after"], sha256_of(&dir.join("big.json")));
    // The next change takes its `sha256_before` from that line rather than
    // hashing the file: a line whose recorded hash is edited shows it.
    let planted = "ab".repeat(32);
    let mut edited = first.clone();
    edited["sha256_after"] = Value::from(planted.clone());
    let text = fs::read_to_string(journal(dir)).unwrap();
    let last = text.lines().last().unwrap();
    fs::write(
        journal(dir),
        text.replace(last, &serde_json::to_string(&edited).unwrap()),
    )
    .unwrap();
    ok(dir, &["merge", "big.json", r#"{"n":2}"#]);
    let second = lines(dir).pop().unwrap();
    assert_eq!(second["sha256_before"], planted.as_str());
    // Without `stat_after` (a line of an older jsafe), the file is hashed.
    let third_before = sha256_of(&dir.join("big.json"));
    let text = fs::read_to_string(journal(dir)).unwrap();
    let mut plain = second.clone();
    plain.as_object_mut().unwrap().remove("stat_after");
    plain["sha256_after"] = Value::from(planted.clone());
    let last = text.lines().last().unwrap();
    fs::write(
        journal(dir),
        text.replace(last, &serde_json::to_string(&plain).unwrap()),
    )
    .unwrap();
    ok(dir, &["merge", "big.json", r#"{"n":3}"#]);
    assert_eq!(lines(dir).pop().unwrap()["sha256_before"], third_before);
}

#[test]
fn a_large_file_changed_in_place_since_its_last_line_is_hashed_again() {
    use std::os::unix::fs::FileExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("big.json"), big_doc(20_000)).unwrap();
    changed_with_stat_after(dir);
    // Another program writes in place: same inode, same size.
    let f = fs::OpenOptions::new()
        .write(true)
        .open(dir.join("big.json"))
        .unwrap();
    let at = fs::read_to_string(dir.join("big.json"))
        .unwrap()
        .find("\"n\": 1")
        .unwrap();
    f.write_all_at(b"\"n\": 7", at as u64).unwrap();
    drop(f);
    let changed = sha256_of(&dir.join("big.json"));
    ok(dir, &["merge", "big.json", r#"{"n":2}"#]);
    let entries = lines(dir);
    let [.., before, after] = &entries[..] else {
        panic!("{entries:?}")
    };
    assert_ne!(before["sha256_after"], changed.as_str());
    assert_eq!(after["sha256_before"], changed.as_str());
}

#[test]
fn a_small_files_line_has_no_stat_after() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", r#"{"a":1}"#]);
    ok(dir, &["merge", "f.json", r#"{"b":2}"#]);
    for e in lines(dir) {
        assert!(e.get("stat_after").is_none(), "{e}");
    }
}

/// The journal's user name comes from the system's user database through
/// glibc's NSS (`getpwuid_r`), which a statically linked glibc cannot load
/// safely: the link chosen for start-up speed must keep it working. As root
/// the name is "root"; as user 65534 it is the name `getent passwd 65534`
/// gives (NSS's own answer, not a parse of /etc/passwd).
#[test]
#[ignore = "needs root: runs jsafe as root and as user 65534 through setpriv"]
fn the_user_name_resolves_through_nss_as_root_and_as_another_user() {
    use std::os::unix::fs::PermissionsExt;
    assert!(rustix::process::geteuid().is_root(), "run as root");
    let getent = common::command("getent")
        .args(["passwd", "65534"])
        .output()
        .unwrap();
    assert!(getent.status.success(), "getent passwd 65534 finds no user");
    let nobody = String::from_utf8(getent.stdout)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    assert!(!nobody.is_empty() && nobody != "root");

    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("data");
    fs::create_dir(&dir).unwrap();
    ok(&dir, &["merge", "f.json", r#"{"a":1}"#]);
    // Then the directory, the file and its state are the other user's.
    let chown = common::command("chown")
        .args(["-R", "65534:65534"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());
    let out = common::command("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_jsafe"))
        .args(["--no-sync", "merge", "f.json", r#"{"a":2}"#])
        .current_dir(&dir)
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "as 65534: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&dir);
    assert_eq!(l.len(), 2, "{l:?}");
    assert_eq!(
        (l[0]["uid"].as_u64(), l[0]["user"].as_str()),
        (Some(0), Some("root"))
    );
    assert_eq!(
        (l[1]["uid"].as_u64(), l[1]["user"].as_str()),
        (Some(65534), Some(nobody.as_str()))
    );
}
