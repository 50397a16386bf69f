//! Fail at every I/O step of the write core, and crash there, and check after
//! each failure that the disk tells the truth: SQLite-style "fail at the Nth
//! call" loops over the fail points of `store::failpoint` (compiled into the
//! test build only).
//!
//! After each injected failure:
//! - the target is byte-identical to before, or — only for a failure after the
//!   rename — the complete new version, and the exit code says which;
//! - the backups hold exactly the versions they held before, plus the replaced
//!   one only if the rename happened (a crash between the backup link and the
//!   rename may leave that link: a backup identical to the current file);
//! - no temp file is left (after a crash: none after the next write);
//! - the lock is free, the journal is whole lines, and a normal write succeeds.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::raw_jsafe;

/// The steps, as `store::failpoint::Step::name` spells them, in write order.
const STEPS: &[&str] = &[
    "state-dir",
    "lock-open",
    "lock",
    "holder-record",
    "read",
    "backup-list",
    "backup-link",
    "backup-copy",
    "temp-create",
    "temp-write",
    "temp-fsync",
    "backup-dir-fsync",
    "rename",
    "dir-fsync",
    "rotate",
    "journal-append",
    "journal-fsync",
    "journal-rotate",
];

/// Steps after the rename: the change is in place when they fail.
const AFTER_RENAME: &[&str] = &[
    "dir-fsync",
    "rotate",
    "journal-append",
    "journal-fsync",
    "journal-rotate",
];

const KEEP: usize = 3;

struct Scenario {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    file: PathBuf,
    /// The version on disk before the write under test.
    version: u64,
}

impl Scenario {
    /// A file with `KEEP` backups, and (with `big_journal`) a journal just
    /// below its rotation size; or a fresh directory (`fresh`) without state.
    fn new(fresh: bool, big_journal: bool) -> Scenario {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let file = dir.join("f.json");
        let mut s = Scenario {
            _tmp: tmp,
            dir,
            file,
            version: 0,
        };
        if fresh {
            fs::write(&s.file, Scenario::content(0)).unwrap();
            return s;
        }
        for v in 0..=KEEP as u64 {
            s.write_ok(v);
        }
        if big_journal {
            let journal = s.dir.join(".jsafe/journal.jsonl");
            let line = format!(
                "{{\"op\":\"merge\",\"file_name\":\"other.json\",\"file\":\"{}\"}}\n",
                "x".repeat(900)
            );
            let mut text = fs::read_to_string(&journal).unwrap();
            while text.len() + line.len() < (1 << 20) - 100 {
                text.push_str(&line);
            }
            // Up to a few bytes below the rotation size: the next entry crosses it.
            let room = (1 << 20) - 20 - text.len();
            text.push_str(&format!(
                "{{\"op\":\"merge\",\"file_name\":\"other.json\",\"file\":\"{}\"}}\n",
                "y".repeat(room - 50)
            ));
            fs::write(&journal, text).unwrap();
        }
        s
    }

    /// A version as jsafe writes it in a new file's style.
    fn content(v: u64) -> String {
        format!("{{\n  \"v\": {v}\n}}\n")
    }

    /// Version `v`: a merge, or for odd `v` a path update (which takes the
    /// spliced path: the same write core under the same fail points).
    fn merge(&self, v: u64, failpoint: Option<&str>, log: &Path) -> Output {
        let mut c = raw_jsafe(&self.dir);
        c.args(["--keep", &KEEP.to_string()]);
        if v % 2 == 1 {
            c.args(["update", "f.json"]).arg(format!(".v = {v}"));
        } else {
            c.args(["merge", "f.json"]).arg(format!("{{\"v\": {v}}}"));
        }
        c.env("JSAFE_FAILPOINT_LOG", log);
        if let Some(fp) = failpoint {
            c.env("JSAFE_FAILPOINT", fp);
        }
        c.output().unwrap()
    }

    fn write_ok(&mut self, v: u64) {
        let log = self.dir.join("unused.log");
        let out = self.merge(v, None, &log);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.version = v;
    }

    fn backups(&self) -> BTreeSet<String> {
        let dir = self.dir.join(".jsafe/backups/f.json");
        match fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
                .collect(),
            Err(_) => BTreeSet::new(),
        }
    }

    fn temps(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".jsafe-tmp."))
            .collect()
    }

    fn journal_is_whole_lines(&self) {
        let path = self.dir.join(".jsafe");
        for name in ["journal.jsonl", "journal.1.jsonl"] {
            let Ok(text) = fs::read_to_string(path.join(name)) else {
                continue;
            };
            assert!(text.is_empty() || text.ends_with('\n'), "{name}: cut line");
            for line in text.lines().filter(|l| !l.is_empty()) {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{name}: not a whole line ({e}): {line}"));
            }
        }
    }

    fn lock_is_free(&self) {
        let p = jsafe::probe(&self.file).unwrap();
        assert!(
            matches!(p.state, jsafe::LockState::Free | jsafe::LockState::None),
            "{:?}",
            p.state
        );
    }
}

/// The errno a step fails with: what that step would meet on a full or
/// failing disk.
fn errno_for(step: &str) -> &'static str {
    match step {
        "temp-write" | "backup-copy" | "journal-append" => "ENOSPC",
        "lock" => "ENOLCK",
        "backup-link" => "EIO",
        _ => "EIO",
    }
}

/// One step, one action: inject at N = 1, 2, … until the write goes through
/// without the point firing. Returns the number of injections.
fn fail_step(step: &str, action: &str) -> usize {
    let mut injected = 0;
    for n in 1.. {
        let mut s = Scenario::new(step == "state-dir", step == "journal-rotate");
        let log = s.dir.join("failpoints.log");
        let before = fs::read_to_string(&s.file).unwrap();
        let backups_before = s.backups();
        let next = s.version + 1;
        let spec = match step {
            // Copies happen only where links are refused.
            "backup-copy" => format!("backup-link:1:EPERM,backup-copy:{n}:{action}"),
            _ => format!("{step}:{n}:{action}"),
        };
        let out = s.merge(next, Some(&spec), &log);
        let fired = fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| l == spec.rsplit(',').next().unwrap_or(&spec));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{spec}: {stderr}");
        if !fired {
            assert!(out.status.success(), "{spec} did not fire, yet: {stderr}");
            assert_eq!(
                fs::read_to_string(&s.file).unwrap(),
                Scenario::content(next)
            );
            break;
        }
        injected += 1;
        let after = fs::read_to_string(&s.file).unwrap();
        let new = Scenario::content(next);
        let renamed = after == new;
        assert!(
            after == before || renamed,
            "{spec}: the file holds neither version: {after:?}"
        );
        let code = out.status.code();
        if action == "crash" {
            assert_eq!(code, None, "{spec}: the crash did not kill it: {stderr}");
        } else if AFTER_RENAME.contains(&step) {
            assert!(
                renamed,
                "{spec}: failed after the rename but the file is old"
            );
            // The change is durable when only its journal line is not:
            // that is a warning.
            let want = if step.ends_with("fsync") && !step.starts_with("journal") {
                8
            } else {
                0
            };
            assert_eq!(code, Some(want), "{spec}: {stderr}");
            assert!(
                stderr.contains("f.json"),
                "{spec}: the message does not name the file: {stderr}"
            );
        } else {
            assert!(
                !renamed,
                "{spec}: failed before the rename but the file changed"
            );
            assert_eq!(code, Some(7), "{spec}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{spec}: {stderr}");
            assert!(stderr.contains("nothing was changed"), "{spec}: {stderr}");
        }
        if action != "crash" {
            assert!(
                AFTER_RENAME.contains(&step) || renamed || s.temps().is_empty(),
                "{spec}: temp left: {:?}",
                s.temps()
            );
            assert!(s.temps().is_empty(), "{spec}: temp left: {:?}", s.temps());
        }
        // Backups: as before, plus the replaced version only if it was replaced.
        let now = s.backups();
        for b in &now {
            assert!(
                backups_before.contains(b) || *b == before,
                "{spec}: a backup that is no version: {b:?}"
            );
        }
        if renamed {
            assert!(
                now.contains(&before),
                "{spec}: the replaced version was not kept"
            );
        } else if action == "crash" {
            // Only the link made just before the crash may be new, and it is
            // the current version itself.
            assert!(
                now.iter()
                    .all(|b| backups_before.contains(b) || *b == after)
            );
        } else {
            assert_eq!(now, backups_before, "{spec}: the backups changed");
        }
        s.lock_is_free();
        s.journal_is_whole_lines();
        // The next ordinary write goes through and cleans up after a crash.
        s.version = if renamed { next } else { s.version };
        let again = s.version + 1;
        s.write_ok(again);
        assert_eq!(
            fs::read_to_string(&s.file).unwrap(),
            Scenario::content(again)
        );
        assert!(
            s.temps().is_empty(),
            "{spec}: temp left after the next write"
        );
        assert!(
            s.backups().contains(&after),
            "{spec}: the version before the next write was not kept"
        );
        s.journal_is_whole_lines();
        assert!(n < 50, "{spec}: the point keeps firing");
    }
    injected
}

#[test]
fn every_io_step_failing_or_crashing_leaves_the_disk_telling_the_truth() {
    if !common::clean_process() {
        return;
    }
    let (mut failures, mut crashes) = (0, 0);
    let mut reached = Vec::new();
    for step in STEPS {
        let f = fail_step(step, errno_for(step));
        let c = fail_step(step, "crash");
        if f + c > 0 {
            reached.push(*step);
        }
        failures += f;
        crashes += c;
    }
    eprintln!(
        "fail points: {failures} injected failures and {crashes} crashes over {} steps",
        STEPS.len()
    );
    assert_eq!(reached, STEPS, "steps never reached");
}

/// The system calls of one durable merge, in order, as strace saw them.
fn strace_merge(dir: &Path) -> Vec<String> {
    let log = dir.join("strace.log");
    let mut c = common::command("strace");
    c.current_dir(dir)
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=openat,open,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,link,linkat,unlink,unlinkat",
        ])
        .arg(common::bin())
        .args(["merge", "f.json", r#"{"b": 2}"#]);
    let out = c.output().expect("strace runs (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_durable_merge_writes_fsyncs_renames_and_fsyncs_the_directory_and_the_journal_in_that_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    let calls = strace_merge(dir);
    let find = |what: &dyn Fn(&str) -> bool, after: usize| -> usize {
        calls
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, l)| what(l))
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("not found after line {after}:\n{}", calls.join("\n")))
    };
    // No open of the target ever truncates it.
    for l in &calls {
        assert!(
            !(l.contains("\"f.json\"") && l.contains("O_TRUNC")),
            "the target was opened with O_TRUNC: {l}"
        );
    }
    // The descriptor an open returned. An open that another thread's call
    // interrupts is printed as `openat(… <unfinished ...>`, and its result
    // on a later line of the same pid: `<... openat resumed>) = 8`.
    let fd_at = |i: usize| -> String {
        let line = &calls[i];
        let result = if line.ends_with("<unfinished ...>") {
            let pid = line.split_whitespace().next().unwrap_or("");
            calls[i + 1..]
                .iter()
                .find(|l| l.split_whitespace().next() == Some(pid) && l.contains("resumed>"))
                .unwrap_or_else(|| panic!("no resumed line for {line}:\n{}", calls.join("\n")))
        } else {
            line
        };
        result.rsplit("= ").next().unwrap().trim().to_owned()
    };
    // The backup link of the old version comes first.
    let backup = find(
        &|l| l.contains("linkat(") && l.contains("\"f.json\"") && !l.contains("/proc/self/fd"),
        0,
    );
    // The temp file: created (O_TMPFILE, or named), written, fsynced.
    let temp = find(
        &|l| {
            l.contains("openat(")
                && (l.contains("O_TMPFILE") || l.contains(".jsafe-tmp."))
                && !l.contains("= -1")
        },
        0,
    );
    let fd = fd_at(temp);
    let write = find(
        &|l| {
            l.starts_with(&format!(
                "{} write({fd},",
                l.split_whitespace().next().unwrap_or("")
            )) || l.contains(&format!(" write({fd}, "))
        },
        temp,
    );
    // A call that another thread interrupts (the journal's hashing thread
    // runs meanwhile) is printed as `fsync(3 <unfinished ...>` and resumed
    // on a later line.
    let syncs = |l: &str, call: &str, fd: &str| {
        l.contains(&format!(" {call}({fd})")) || l.contains(&format!(" {call}({fd} <unfinished"))
    };
    let fsync = find(
        &|l| syncs(l, "fsync", &fd) || syncs(l, "fdatasync", &fd),
        write,
    );
    let rename = find(
        &|l| l.contains("rename") && l.contains("\"f.json\"") && l.contains(".jsafe-tmp."),
        fsync,
    );
    // The data directory is the first one opened (from the working directory).
    let dir_fd = fd_at(find(
        &|l| l.contains("O_DIRECTORY") && !l.contains("= -1"),
        0,
    ));
    let dir_fsync = find(&|l| syncs(l, "fsync", &dir_fd), rename);
    // The journal line: written only once the change is in place, and
    // fsynced before the merge exits (on a helper thread, the directory's
    // fsync runs meanwhile: strace -f shows both, in either order).
    let journal = find(
        &|l| l.contains("\"journal.jsonl\"") && l.contains("O_APPEND") && !l.contains("= -1"),
        0,
    );
    let jfd = fd_at(journal);
    let journal_write = find(&|l| l.contains(&format!(" write({jfd}, ")), rename);
    let journal_fsync = find(
        &|l| syncs(l, "fdatasync", &jfd) || syncs(l, "fsync", &jfd),
        journal_write,
    );
    assert!(
        backup < rename,
        "backup link after the rename:\n{}",
        calls.join("\n")
    );
    // The directory the old version was linked into is fsynced before the
    // rename: the replaced version is durable before the new one is.
    let backups_fd = fd_at(find(
        &|l| {
            l.contains("openat(")
                && l.contains("\"f.json\"")
                && l.contains("O_DIRECTORY")
                && !l.contains("= -1")
        },
        0,
    ));
    let backup_fsync = find(&|l| syncs(l, "fsync", &backups_fd), backup);
    assert!(
        backup_fsync < rename,
        "backup directory fsynced after the rename:\n{}",
        calls.join("\n")
    );
    assert!(temp < write && write < fsync && fsync < rename && rename < dir_fsync);
    assert!(
        rename < journal_write && journal_write < journal_fsync,
        "{}",
        calls.join("\n")
    );
}

fn wait_for_sleep(dir: &Path, log: &Path) {
    for _ in 0..1000 {
        if fs::read_to_string(log).is_ok_and(|t| !t.is_empty()) {
            // The point fires just before its step: give it a moment to sleep.
            std::thread::sleep(std::time::Duration::from_millis(50));
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the fail point never fired in {}", dir.display());
}

#[test]
fn sigint_sigterm_sighup_during_a_write_remove_the_temp_file_and_leave_the_target() {
    for (sig, name) in [(2, "INT"), (15, "TERM"), (1, "HUP")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
        let before = fs::read(dir.join("f.json")).unwrap();
        let log = dir.join("fp.log");
        // Stopped just before the rename: the temp file has its name now.
        let mut child = raw_jsafe(dir)
            .env("JSAFE_FAILPOINT", "rename:1:sleep")
            .env("JSAFE_FAILPOINT_LOG", &log)
            .args(["merge", "f.json", r#"{"b": 2}"#])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for_sleep(dir, &log);
        assert_eq!(common::temp_files(dir).len(), 1, "SIG{name}: no named temp");
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::from_named_raw(sig).unwrap())
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(128 + sig), "SIG{name}");
        assert!(
            common::temp_files(dir).is_empty(),
            "SIG{name}: temp file left"
        );
        assert_eq!(fs::read(dir.join("f.json")).unwrap(), before, "SIG{name}");
        common::ok(dir, &["merge", "f.json", r#"{"c": 3}"#]);
    }
}

#[test]
fn a_killed_writers_temp_file_is_shown_by_status_and_removed_by_the_next_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    let out = raw_jsafe(dir)
        .env("JSAFE_FAILPOINT", "rename:1:crash")
        .args(["merge", "f.json", r#"{"b": 2}"#])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None);
    let temps = common::temp_files(dir);
    assert_eq!(temps.len(), 1);
    let status = common::jsafe(dir)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(9));
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        doc["files"][0]["temp_files"][0],
        temps[0].as_str(),
        "{doc:#}"
    );
    // The same when the file is named.
    let status = common::jsafe(dir)
        .args(["status", "--json", "f.json"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(9));
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        doc["files"][0]["temp_files"][0],
        temps[0].as_str(),
        "{doc:#}"
    );
    let out = common::run(dir, &["-v", "merge", "f.json", r#"{"c": 3}"#]);
    out.ok();
    assert!(out.stderr.contains("did not finish"), "{}", out.stderr);
    assert!(common::temp_files(dir).is_empty());
}

#[test]
fn the_next_write_removes_the_temp_files_of_every_dead_writer_not_only_the_last() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    const KILLED: usize = 5;
    // KILLED writers sharing the lock `jsafe lock` hands down, all stopped
    // with their temp file named (each leaves the others' alone: their
    // writers are alive), then all killed.
    let log = dir.join("fp.log");
    let pids = dir.join("pids");
    let script = format!(
        r#"for i in $(seq {KILLED}); do "$J" merge f.json "{{\"k\": $i}}" 2>/dev/null & echo $! >> pids; done; wait"#
    );
    let mut holder = raw_jsafe(dir)
        .env("J", common::bin())
        .env("JSAFE_FAILPOINT", "rename:1:sleep")
        .env("JSAFE_FAILPOINT_LOG", &log)
        .args(["lock", "f.json", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    for _ in 0..3000 {
        if fs::read_to_string(&log).is_ok_and(|t| t.lines().count() == KILLED) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let writers: Vec<i32> = fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(writers.len(), KILLED);
    for pid in &writers {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(*pid).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
    }
    holder.wait().unwrap();
    assert_eq!(common::temp_files(dir).len(), KILLED);
    // A temp file of another data file is not this write's business.
    fs::write(dir.join(".jsafe-tmp.g.json.AbCdEfGh"), b"{").unwrap();
    let out = common::run(dir, &["-v", "merge", "f.json", r#"{"c": 3}"#]);
    out.ok();
    assert_eq!(
        common::temp_files(dir),
        [".jsafe-tmp.g.json.AbCdEfGh"],
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("did not finish").count(),
        KILLED,
        "{}",
        out.stderr
    );
}

#[test]
fn a_temp_file_whose_writer_is_alive_is_never_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    // A live writer holds the flock of its temp file (as one sharing a lock
    // handed down by `jsafe lock` would, or one on another NFS client).
    let temp = dir.join(".jsafe-tmp.f.json.AbCdEfGh");
    let live = fs::File::create(&temp).unwrap();
    rustix::fs::flock(&live, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    common::ok(dir, &["merge", "f.json", r#"{"b": 2}"#]);
    assert!(temp.exists(), "a live writer's temp file was removed");
    drop(live);
    common::ok(dir, &["merge", "f.json", r#"{"c": 3}"#]);
    assert!(!temp.exists(), "a dead writer's temp file was left");
}

#[test]
fn a_closed_or_full_stderr_never_turns_an_exit_code_into_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run_sh = |script: &str| -> Option<i32> {
        common::command("sh")
            .current_dir(dir)
            .env("J", common::bin())
            .args(["-c", script])
            .status()
            .unwrap()
            .code()
    };
    // Not found, with stderr closed and with stderr full.
    assert_eq!(run_sh(r#""$J" read missing.json 2>&-"#), Some(6));
    assert_eq!(run_sh(r#""$J" read missing.json 2>/dev/full"#), Some(6));
    // A verbose change with nowhere to say so: the change is made, exit 0.
    assert_eq!(
        run_sh(r#""$J" --no-sync -v merge f.json '{"a":1}' 2>/dev/full"#),
        Some(0)
    );
    assert_eq!(
        run_sh(r#""$J" --no-sync -v merge f.json '{"a":2}' 2>&-"#),
        Some(0)
    );
    assert_eq!(
        common::parse_file(&dir.join("f.json")),
        serde_json::json!({"a": 2})
    );
    // A usage error with stderr closed is still 2.
    assert_eq!(run_sh(r#""$J" merge 2>&-"#), Some(2));
}

#[test]
fn a_filter_that_allocates_without_bound_ends_with_exit_4_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    for filter in [
        r#"[repeat(1)]"#,
        r#"[range(1e12)] | length"#,
        r#""x" * 30000000000"#,
    ] {
        // jq refuses the huge string before allocating it; the others grow.
        let why = if filter.contains('*') {
            "too long"
        } else {
            "memory"
        };
        let out = common::run(
            dir,
            &[
                "update",
                "f.json",
                filter,
                "--filter-memory",
                "64M",
                "--filter-timeout",
                "60",
            ],
        );
        out.fails(4).stderr_has(why);
        assert_eq!(
            common::parse_file(&dir.join("f.json")),
            serde_json::json!({"a": 1})
        );
        let out = common::run(dir, &["read", "f.json", filter, "--filter-memory", "64M"]);
        out.fails(4).stderr_has(why);
    }
    // The lock was released with the process.
    common::ok(dir, &["--timeout", "2", "merge", "f.json", r#"{"b": 2}"#]);
}

#[test]
fn the_filter_time_limit_needs_no_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    // No new thread can start under this limit (a process counts as one).
    let out = common::command("prlimit")
        .args(["--nproc=1", "--"])
        .arg(common::bin())
        .current_dir(dir)
        .args([
            "--no-sync",
            "update",
            "f.json",
            "last(range(1e18))",
            "--filter-timeout",
            "0.5",
        ])
        .output()
        .expect("prlimit (util-linux)");
    let o = common::Out::from_output(out);
    o.fails(4).stderr_has("filter");
    assert_eq!(
        common::parse_file(&dir.join("f.json")),
        serde_json::json!({"a": 1})
    );
}

#[test]
fn empty_variables_count_as_unset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = common::run_cmd(
        common::jsafe(dir)
            .env("JSAFE_TIMEOUT", "")
            .env("JSAFE_KEEP", "")
            .env("JSAFE_FILTER_TIMEOUT", "")
            .env("JSAFE_FILTER_MEMORY", "")
            .env("JSAFE_QUIET", "")
            .args(["update", "f.json", ".n += 1"]),
        b"",
    );
    out.ok();
    assert_eq!(
        common::parse_file(&dir.join("f.json")),
        serde_json::json!({"n": 1})
    );
}

#[test]
fn a_lock_held_by_a_non_jsafe_process_is_named_as_such() {
    if !common::clean_process() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    // The record names the last jsafe writer, which has exited; flock(1) holds it now.
    let mut holder = common::command("flock")
        .arg(dir.join(".jsafe/locks/f.json.lock"))
        .args(["sleep", "30"])
        .spawn()
        .expect("flock (util-linux)");
    // Until flock(1) holds it (a hang bound, not a speed check: a loaded
    // machine may take seconds to start it). Going on before that would
    // let the merge through and fail below for the wrong reason.
    let held = (0..6000).any(|_| {
        let held =
            jsafe::probe(&dir.join("f.json")).is_ok_and(|p| p.state == jsafe::LockState::Held);
        if !held {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        held
    });
    assert!(held, "flock(1) did not take the lock within 60 s");
    let out = common::run(dir, &["--timeout", "0.3", "merge", "f.json", r#"{"b": 2}"#]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    out.fails(3).stderr_has("another process");
    // Not the record's last writer, which exited long ago.
    assert!(!out.stderr.contains("(jsafe write)"), "{}", out.stderr);
}

/// A holder record as a `jsafe write` would leave it, naming `pid` with the
/// process start time `start` (none when `None`).
fn plant_record(lock: &Path, pid: u32, start: Option<u64>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let record = serde_json::json!({
        "pid": pid,
        "host": jsafe::__internals::host_name(),
        "start_time": start,
        "uid": 0,
        "command": "jsafe write",
        "acquired": now,
    });
    // In place: the lock file keeps its inode, which flock(1) holds.
    fs::write(lock, format!("{record}\n")).unwrap();
}

#[test]
fn a_stale_holder_record_is_never_named_as_the_locks_holder() {
    if !common::clean_process() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    let lock = dir.join(".jsafe/locks/f.json.lock");
    let mut holder = common::command("flock")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .expect("flock (util-linux)");
    // Until flock(1) holds it (a hang bound, not a speed check).
    let held = (0..6000).any(|_| {
        let held =
            jsafe::probe(&dir.join("f.json")).is_ok_and(|p| p.state == jsafe::LockState::Held);
        if !held {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        held
    });
    assert!(held, "flock(1) did not take the lock within 60 s");
    // flock(1) takes the lock itself, then runs its command.
    let flock_pid = holder.id();
    let flock_start = jsafe::__internals::start_time_of(flock_pid).expect("flock(1) runs");
    let me = std::process::id();
    let my_start = jsafe::__internals::start_time_of(me).expect("we run");
    let no_such_pid = fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse::<u32>()
        .unwrap()
        + 1;
    let stale = [
        // The pid that holds the lock now, but another process started at
        // another time had it when the record was written (a reused pid).
        ("reused pid", flock_pid, Some(flock_start - 3600)),
        // The same pid with no start time to check it by.
        ("no start time", flock_pid, None),
        // A writer that exited.
        ("dead pid", no_such_pid, Some(flock_start)),
        // A live process that does not hold the lock.
        ("live non-holder", me, Some(my_start)),
    ];
    let mut outs = Vec::new();
    for (what, pid, start) in stale {
        plant_record(&lock, pid, start);
        let probe = jsafe::probe(&dir.join("f.json")).unwrap();
        let out = common::run(dir, &["--timeout", "0.3", "merge", "f.json", r#"{"b": 2}"#]);
        let status = common::run(dir, &["status", "--json", "f.json"]);
        outs.push((what, probe.holder_holds, out, status));
    }
    // The control: the record of the very process that holds the lock is named.
    plant_record(&lock, flock_pid, Some(flock_start));
    let confirmed = jsafe::probe(&dir.join("f.json")).unwrap();
    let named = common::run(dir, &["--timeout", "0.3", "merge", "f.json", r#"{"b": 2}"#]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    for (what, holder_holds, out, status) in &outs {
        assert!(
            !out.stderr.contains("(jsafe write)"),
            "{what}: {}",
            out.stderr
        );
        out.fails(3).stderr_has("another process");
        assert!(!holder_holds, "{what}: probe confirmed a stale record");
        let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        let lock = &doc["files"][0]["lock"];
        assert_eq!(lock["state"], "held", "{what}: {lock}");
        assert_eq!(lock["holder"], serde_json::Value::Null, "{what}: {lock}");
        assert_eq!(
            lock["pids"],
            serde_json::json!([flock_pid]),
            "{what}: {lock}"
        );
    }
    assert!(confirmed.holder_holds);
    named
        .fails(3)
        .stderr_has(&format!("held by pid {flock_pid} on host"))
        .stderr_has("(jsafe write)");
}

#[test]
fn backups_follow_their_sequence_not_the_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"v": 1}"#]);
    common::ok(dir, &["write", "f.json", r#"{"v": 2}"#]);
    // A backup made while the clock was far ahead (then it stepped back).
    let backups = dir.join(".jsafe/backups/f.json");
    let ahead = backups.join("0000000005.29991231T235959.000000000Z.json");
    fs::write(&ahead, "{\"v\": 0}\n").unwrap();
    common::ok(dir, &["--keep", "2", "write", "f.json", r#"{"v": 3}"#]);
    let mut names: Vec<String> = fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // The version just replaced ({"v": 2}) got the next number and was kept;
    // rotation removed the oldest by number, not by time.
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "0000000005.29991231T235959.000000000Z.json");
    assert!(names[1].starts_with("0000000006."), "{names:?}");
    assert_eq!(
        common::parse_file(&backups.join(&names[1])),
        serde_json::json!({"v": 2})
    );
    common::ok(dir, &["restore", "--latest", "f.json"]);
    assert_eq!(
        common::parse_file(&dir.join("f.json")),
        serde_json::json!({"v": 2})
    );
}

#[test]
fn a_plain_read_creates_nothing_even_for_a_corrupt_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("f.json"), "{oops").unwrap();
    common::run(dir, &["read", "f.json"]).fails(5);
    common::run(dir, &["read", "f.json", ".a"]).fails(5);
    common::run(dir, &["read", "missing.json"]).fails(6);
    assert_eq!(common::names_in(dir), ["f.json"]);
}

#[test]
#[ignore = "needs root: mounts a tmpfs and remounts it read-only"]
fn read_lock_on_a_read_only_filesystem_uses_the_existing_lock_file() {
    assert!(
        common::is_root(),
        "run as root (cargo test -- --ignored, as .ci/run does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let fs_dir = tmp.path().join("ro");
    let mount = common::Tmpfs::mount(&fs_dir, "size=1m").expect("mount a tmpfs");
    common::ok(&fs_dir, &["write", "f.json", r#"{"a": 1}"#]);
    common::ok(&fs_dir, &["write", "g.json", r#"{"a": 2}"#]);
    fs::remove_file(fs_dir.join(".jsafe/locks/g.json.lock")).unwrap();
    assert!(mount.remount("ro"));
    // The lock file exists: read-only, it still takes the shared lock.
    let out = common::run(&fs_dir, &["read", "--lock", "f.json", ".a"]);
    assert_eq!(out.ok().stdout_str(), "1\n");
    // None exists and none can be made: no writer can be at work either.
    let out = common::run(&fs_dir, &["read", "--lock", "g.json", ".a"]);
    assert_eq!(out.ok().stdout_str(), "2\n");
    common::run(&fs_dir, &["write", "f.json", "{}"]).fails(7);
    drop(mount);
}

#[test]
#[ignore = "needs root: runs jsafe as an unprivileged user"]
fn a_directory_that_cannot_be_read_is_refused_before_anything_changes() {
    assert!(
        common::is_root(),
        "run as root (cargo test -- --ignored, as .ci/run does)"
    );
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("d");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("f.json"), "{\"a\": 1}\n").unwrap();
    fs::set_permissions(dir.join("f.json"), fs::Permissions::from_mode(0o666)).unwrap();
    // Writable and searchable, not readable: the directory cannot be fsynced.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o333)).unwrap();
    let out = common::command("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::bin())
        .arg("update")
        .arg(dir.join("f.json"))
        .arg(".a += 1")
        .output()
        .unwrap();
    let out = common::Out::from_output(out);
    out.fails(7).stderr_has("nothing was changed");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("f.json")).unwrap(),
        "{\"a\": 1}\n"
    );
    assert!(
        common::names_in(&dir) == ["f.json"],
        "{:?}",
        common::names_in(&dir)
    );
}

#[test]
fn a_reader_holding_the_journal_cannot_stall_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    let journal = fs::File::open(dir.join(".jsafe/journal.jsonl")).unwrap();
    journal.lock_shared().unwrap();
    let started = std::time::Instant::now();
    common::ok(dir, &["--timeout", "20", "merge", "f.json", r#"{"b": 2}"#]);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(common::journal_lines(dir).len(), 2);
    drop(journal);
}

#[test]
fn hostile_lock_records_never_stop_status_or_the_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let records: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge-time",
            br#"{"pid": 1, "host": "h", "acquired": 1e300}"#.to_vec(),
        ),
        (
            "negative",
            br#"{"pid": -1, "host": "h", "acquired": -1}"#.to_vec(),
        ),
        (
            "nan",
            br#"{"pid": 1, "host": "h", "acquired": NaN, "start_time": 1e400}"#.to_vec(),
        ),
        (
            "big-pid",
            br#"{"pid": 18446744073709551615, "host": "h"}"#.to_vec(),
        ),
        ("garbage", vec![b'{'; 1 << 20]),
        ("binary", (0..=255u8).cycle().take(4096).collect()),
        ("empty", Vec::new()),
    ];
    for (name, record) in &records {
        let file = format!("{name}.json");
        common::ok(dir, &["write", &file, "{}"]);
        fs::write(
            dir.join(".jsafe/locks").join(format!("{file}.lock")),
            record,
        )
        .unwrap();
    }
    let out = common::Out::from_output(
        common::jsafe(dir)
            .args(["status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["files"].as_array().unwrap().len(), records.len());
    let out = common::Out::from_output(
        common::jsafe(dir)
            .args(["cleanup-locks", "--json", "--older-than", "0s"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.json()["removed"].as_array().unwrap().len(),
        records.len()
    );
    // Writes go on.
    for (name, _) in &records {
        common::ok(dir, &["merge", &format!("{name}.json"), r#"{"a": 1}"#]);
    }
}

/// Writers killed between their backup (or quarantine) link and their rename
/// leave the current file with more names, all jsafe's own: the next write
/// must go through (not refuse it as hard-linked), reuse the link that is
/// already there, and leave one backup per version.
#[test]
fn writers_killed_after_their_backup_link_never_block_the_next_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::ok(dir, &["write", "f.json", r#"{"a": 1}"#]);
    common::ok(dir, &["merge", "f.json", r#"{"b": 2}"#]);
    let before = fs::read(dir.join("f.json")).unwrap();
    for n in 0..3 {
        let out = raw_jsafe(dir)
            .env("JSAFE_FAILPOINT", "rename:1:crash")
            .args(["merge", "f.json", &format!(r#"{{"c": {n}}}"#)])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), None, "crash {n}");
        assert_eq!(fs::read(dir.join("f.json")).unwrap(), before);
    }
    let backups = || common::backups(dir, "f.json");
    // One backup of v1, one link of v2 (the current file), however many
    // writes stopped after linking it.
    assert_eq!(backups().len(), 2, "{:?}", backups());
    common::ok(dir, &["merge", "f.json", r#"{"d": 4}"#]);
    let list = backups();
    assert_eq!(list.len(), 2, "{list:?}");
    let newest = fs::read(list.last().unwrap()).unwrap();
    assert_eq!(newest, before);
    common::ok(dir, &["restore", "f.json", "--latest"]);
    assert_eq!(fs::read(dir.join("f.json")).unwrap(), before);

    // The same for a corrupt file killed after its quarantine link.
    fs::write(dir.join("g.json"), b"{\"a\": ").unwrap();
    for _ in 0..2 {
        let out = raw_jsafe(dir)
            .env("JSAFE_FAILPOINT", "rename:1:crash")
            .args(["write", "g.json", r#"{"a": 1}"#])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), None);
    }
    let quarantined = || common::quarantined(dir).len();
    assert_eq!(quarantined(), 1);
    common::ok(dir, &["write", "g.json", r#"{"a": 2}"#]);
    assert_eq!(quarantined(), 1);
    let g: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("g.json")).unwrap()).unwrap();
    assert_eq!(g, serde_json::json!({"a": 2}));
}
