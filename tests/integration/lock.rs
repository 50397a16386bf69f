//! `jsafe lock FILE -- CMD`: the file's lock is held while CMD runs; jsafe
//! commands inside CMD on the same file adopt it instead of waiting (no
//! deadlock), other files lock as usual; `cleanup-locks` never removes it;
//! CMD's exit status comes back; a lock not granted is exit 3 (or -E N);
//! `status` names the command.

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::*;

/// `jsafe lock ARGS` in `dir`, with `$J` naming the binary for CMD's scripts.
fn lock_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = jsafe(dir);
    c.env("J", bin())
        .env_remove("JSAFE_LOCK_FD")
        .arg("lock")
        .args(args);
    c
}

#[test]
fn nested_commands_on_the_same_file_adopt_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"n\": 0}\n").unwrap();
    // A short timeout: a nested command that waited for its parent would fail.
    let script = r#"set -e
        "$J" --timeout 2 update f.json '.n += 1'
        "$J" --timeout 2 merge f.json '{"m": 1}'
        "$J" --timeout 2 write g.json '{"other": true}'
        "$J" --timeout 2 read --lock f.json .n
        "$J" --timeout 2 append log.jsonl '{"e": 1}'
        "$J" --timeout 2 lock f.json -- "$J" --timeout 2 update f.json '.n += 10'
        echo "$JSAFE_LOCK_FD""#;
    let out = run_cmd(
        &mut lock_cmd(d, &["--timeout", "2", "f.json", "--", "sh", "-c", script]),
        b"",
    );
    out.ok();
    let printed = out.stdout_str();
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some("1"));
    let env = lines.next().unwrap();
    let parts: Vec<&str> = env.split(':').collect();
    assert_eq!(parts.len(), 3, "JSAFE_LOCK_FD={env}");
    assert!(parts.iter().all(|p| p.parse::<u64>().is_ok()), "{env}");
    assert_eq!(
        parse_file(&d.join("f.json")),
        serde_json::json!({"n": 11, "m": 1})
    );
    assert_eq!(text(&d.join("log.jsonl")), "{\"e\":1}\n");
    // Released when the command ended: a plain write goes through at once.
    run(d, &["--timeout", "0", "merge", "f.json", "{\"after\": 1}"]).ok();
}

#[test]
fn other_files_lock_as_usual_inside() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("b.json"), "{}\n").unwrap();
    let _held = hold_lock(d, "b.json", 4_000_000, "jsafe merge");
    let out = run_cmd(
        &mut lock_cmd(
            d,
            &[
                "a.json",
                "--",
                "sh",
                "-c",
                r#""$J" --timeout 0.3 merge b.json '{"x": 1}'; echo "b=$?""#,
            ],
        ),
        b"",
    );
    out.ok();
    assert_eq!(out.stdout_str(), "b=3\n");
    assert_eq!(text(&d.join("b.json")), "{}\n");
}

#[test]
fn the_exit_status_is_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let code = |args: &[&str]| run_cmd(&mut lock_cmd(d, args), b"").code;
    assert_eq!(code(&["f.json", "--", "sh", "-c", "exit 7"]), 7);
    assert_eq!(code(&["f.json", "--", "true"]), 0);
    assert_eq!(code(&["f.json", "--", "sh", "-c", "kill -TERM $$"]), 143);
    assert_eq!(code(&["f.json", "--", "sh", "-c", "kill -KILL $$"]), 137);
    let missing = run_cmd(
        &mut lock_cmd(d, &["f.json", "--", "no-such-command-jsafe"]),
        b"",
    );
    missing.fails(127).stderr_has("command not found");
    fs::write(d.join("not-exec"), "#!/bin/sh\n").unwrap();
    let denied = run_cmd(&mut lock_cmd(d, &["f.json", "--", "./not-exec"]), b"");
    denied.fails(126);
    // Without "--" the command is a usage error.
    assert_eq!(run(d, &["lock", "f.json", "true"]).code, 2);
    // The command's own output and input pass through.
    let echo = run_cmd(&mut lock_cmd(d, &["f.json", "--", "cat"]), b"piped\n");
    echo.ok();
    assert_eq!(echo.stdout_str(), "piped\n");
}

#[test]
fn a_lock_not_granted_is_exit_3_or_the_conflict_code_and_cmd_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _held = hold_lock(d, "f.json", 4_000_001, "jsafe update");
    let marker = d.join("ran");
    let touch = format!("touch {}", marker.display());
    let out = run_cmd(
        &mut lock_cmd(d, &["--timeout", "0.2", "f.json", "--", "sh", "-c", &touch]),
        b"",
    );
    out.fails(3).stderr_has("held by");
    let out = run_cmd(
        &mut lock_cmd(
            d,
            &[
                "--timeout",
                "0.2",
                "-E",
                "42",
                "f.json",
                "--",
                "sh",
                "-c",
                &touch,
            ],
        ),
        b"",
    );
    assert_eq!(out.code, 42, "{}", out.stderr);
    assert!(!marker.exists(), "the command ran without the lock");
    assert_eq!(run(d, &["lock", "-E", "0", "f.json", "--", "true"]).code, 2);
}

/// Start `jsafe lock FILE -- sh -c SCRIPT` and wait until SCRIPT printed
/// "ready" (it then runs holding the lock).
fn start_holding(d: &Path, extra: &[&str], script: &str) -> std::process::Child {
    let mut args = extra.to_vec();
    args.extend(["f.json", "--", "sh", "-c", script]);
    let mut child = lock_cmd(d, &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n", "the locked command did not start");
    child
}

#[test]
fn status_names_the_command_and_other_writers_wait() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{}\n").unwrap();
    let mut child = start_holding(d, &[], "echo ready; exec sleep 30");
    let status = run(d, &["status", "--json", "f.json"]);
    let doc = status.json();
    let lock = &doc["files"][0]["lock"];
    assert_eq!(lock["state"], "held", "{doc}");
    assert_eq!(lock["holder"]["command"], "jsafe lock (sh)");
    assert_eq!(lock["holder"]["pid"], child.id());
    assert!(lock["holder"]["child_pid"].as_u64().is_some(), "{lock}");
    assert_eq!(lock["holder"]["alive"], "alive");
    let table = run(d, &["status", "f.json"]);
    assert!(
        table.stdout_str().contains("jsafe lock (sh)"),
        "{}",
        table.stdout_str()
    );
    // A writer outside the command waits, and its timeout names the command.
    run(d, &["--timeout", "0.2", "merge", "f.json", "{\"a\": 1}"])
        .fails(3)
        .stderr_has("jsafe lock (sh)");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn cleanup_locks_beside_it_never_removes_the_held_lock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"n\": 0}\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let stop = stop.clone();
        let d = d.to_path_buf();
        thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(Ordering::SeqCst) {
                run(&d, &["cleanup-locks", "--older-than", "0s", "."]).ok();
                rounds += 1;
            }
            rounds
        })
    };
    let lock_file = d.join(".jsafe/locks/f.json.lock");
    let script = format!(
        r#"echo ready
        i=0
        while [ $i -lt 20 ]; do
            "$J" --timeout 2 update f.json '.n += 1' || exit 1
            [ -f {} ] || exit 9
            i=$((i + 1))
        done"#,
        lock_file.display()
    );
    let child = start_holding(d, &[], &script);
    let out = child.wait_with_output().unwrap();
    stop.store(true, Ordering::SeqCst);
    let rounds = sweeper.join().unwrap();
    assert!(rounds > 0);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(parse_file(&d.join("f.json")), serde_json::json!({"n": 20}));
}

#[test]
fn under_a_shared_lock_reads_go_on_and_changes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"n\": 1}\n").unwrap();
    let script = r#""$J" --timeout 1 read --lock f.json .n
        "$J" --timeout 1 merge f.json '{"n": 2}'; echo "merge=$?"
        "$J" --timeout 1 lock f.json -- true; echo "lock=$?"
        "$J" --timeout 1 lock --shared f.json -- true; echo "shared=$?""#;
    let out = run_cmd(
        &mut lock_cmd(d, &["--shared", "f.json", "--", "sh", "-c", script]),
        b"",
    );
    out.ok();
    assert_eq!(out.stdout_str(), "1\nmerge=3\nlock=3\nshared=0\n");
    assert!(
        out.stderr.contains("a shared lock cannot become exclusive"),
        "{}",
        out.stderr
    );
    assert_eq!(text(&d.join("f.json")), "{\"n\": 1}\n");
    // Two shared holders at once, while a writer outside waits.
    let mut a = start_holding(d, &["--shared"], "echo ready; exec sleep 30");
    run_cmd(
        &mut lock_cmd(d, &["--shared", "--timeout", "0.5", "f.json", "--", "true"]),
        b"",
    )
    .ok();
    run(d, &["--timeout", "0.2", "merge", "f.json", "{\"n\": 3}"]).fails(3);
    a.kill().unwrap();
    a.wait().unwrap();
}

#[test]
fn stop_signals_reach_the_command_and_jsafe_waits_for_it() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let marker = d.join("cleaned-up");
    // The command cleans up on SIGTERM and exits 5: jsafe must wait for that.
    let script = format!(
        r#"trap 'sleep 0.2; touch {}; exit 5' TERM
        echo ready
        while :; do sleep 0.05; done"#,
        marker.display()
    );
    let mut cmd = lock_cmd(d, &["f.json", "--", "sh", "-c", &script]);
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pgid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process_group(pgid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "jsafe did not wait for the command");
    assert!(marker.exists());
    // The lock is free again.
    run(d, &["--timeout", "0", "merge", "f.json", "{}"]).ok();
}

#[test]
fn a_hostile_lock_variable_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for value in [
        "garbage",
        "0:0:0",
        "1:2:3,4:5:6",
        "99999999999:1:1",
        "-5:1:1",
        "3:1",
        ":::",
        "",
    ] {
        let out = run_cmd(
            jsafe(d).env("JSAFE_LOCK_FD", value).args([
                "--timeout",
                "1",
                "merge",
                "f.json",
                "{\"v\": 1}",
            ]),
            b"",
        );
        out.ok();
    }
    // A descriptor that is not the lock (here: standard input, named with
    // the data file's device and inode) is not adopted: with the lock held
    // elsewhere, the writer waits and times out.
    fs::write(d.join("f.json"), "{}\n").unwrap();
    let _held = hold_lock(d, "f.json", 4_000_002, "jsafe merge");
    let st = fs::metadata(d.join("f.json")).unwrap();
    use std::os::unix::fs::MetadataExt;
    let lie = format!("0:{}:{}", st.dev(), st.ino());
    let out = run_cmd(
        jsafe(d).env("JSAFE_LOCK_FD", lie).args([
            "--timeout",
            "0.2",
            "merge",
            "f.json",
            "{\"v\": 2}",
        ]),
        b"",
    );
    out.fails(3);
}

/// `<dev>:<ino>` of a file, as `JSAFE_LOCK_FD` names it.
fn dev_ino(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let st = fs::metadata(path).unwrap();
    format!("{}:{}", st.dev(), st.ino())
}

/// A child killed (if still running) and reaped when the test ends.
struct Reaped(Option<std::process::Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// Anyone who can read a lock file can open it and name the descriptor in
// JSAFE_LOCK_FD; only a descriptor through which the lock is held counts.
#[test]
fn a_forged_lock_descriptor_waits_for_the_real_holder_and_loses_no_update() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"n\": 0}\n").unwrap();
    // Read, wait to be told, write back n + 1: one increment under the lock.
    let script = r#"n=$("$J" read f.json .n) || exit 1
        echo ready
        read go
        "$J" update f.json ".n = $n + 1""#;
    let mut holder = lock_cmd(d, &["f.json", "--", "sh", "-c", script]);
    holder
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut holder = Reaped(Some(holder.spawn().unwrap()));
    let h = holder.0.as_mut().unwrap();
    let mut said = BufReader::new(h.stdout.take().unwrap());
    let mut line = String::new();
    said.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");

    // Another process opens the lock file read-only as descriptor 7 and
    // claims it holds the lock.
    let lock = d.join(".jsafe/locks/f.json.lock");
    let forged = format!("7:{}", dev_ino(&lock));
    let mut cmd = common::command("sh");
    cmd.args([
        "-c",
        r#"exec 7<"$1"; exec "$J" --verbose update f.json '.n += 1'"#,
        "sh",
    ])
    .arg(&lock)
    .current_dir(d)
    .env("J", bin())
    .env("JSAFE_LOCK_FD", &forged)
    .env("JSAFE_NO_SYNC", "true")
    .env_remove("JSAFE_TIMEOUT");
    let mut other = Reaped(Some(spawn(&mut cmd)));
    let mut err = BufReader::new(other.0.as_mut().unwrap().stderr.take().unwrap());
    // It waits for the real holder instead of writing at once.
    let seen = wait_for_line(&mut err, "waiting for the lock");
    assert!(seen.contains("jsafe lock (sh)"), "{seen}");

    let mut go = holder.0.as_mut().unwrap().stdin.take().unwrap();
    go.write_all(b"go\n").unwrap();
    drop(go);
    let status = holder.0.take().unwrap().wait().unwrap();
    assert!(status.success());
    let out = finish(other.0.take().unwrap(), err, seen);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(parse_file(&d.join("f.json")), serde_json::json!({"n": 2}));
}

#[test]
fn stale_and_foreign_lock_descriptors_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{}\n").unwrap();
    run(d, &["merge", "f.json", "{\"made\": 1}"]).ok();
    let lock = d.join(".jsafe/locks/f.json.lock");
    let entry = format!("7:{}", dev_ino(&lock));

    // Stale: descriptor 7 took the lock once and let it go. With the lock
    // free, the writer takes it as usual; it is free again afterwards (the
    // stale descriptor, still open in the shell, was not made to hold it).
    let script = r#"exec 7<"$1"
        flock -x 7 && flock -u 7 || exit 90
        JSAFE_LOCK_FD="$2" "$J" --timeout 1 merge f.json '{"a": 1}'; echo "first=$?"
        "$J" --timeout 0 merge f.json '{"b": 1}'; echo "second=$?""#;
    let out = run_cmd(
        common::command("sh")
            .args(["-c", script, "sh"])
            .arg(&lock)
            .arg(&entry)
            .current_dir(d)
            .env("J", bin())
            .env("JSAFE_NO_SYNC", "true")
            .env_remove("JSAFE_LOCK_FD"),
        b"",
    );
    assert_eq!(out.stdout_str(), "first=0\nsecond=0\n", "{}", out.stderr);

    // Stale while another process holds the lock: the writer waits for that
    // holder and times out, nothing written.
    let before = text(&d.join("f.json"));
    let held = hold_lock(d, "f.json", 4_000_003, "jsafe merge");
    let script = r#"exec 7<"$1"
        JSAFE_LOCK_FD="$2" "$J" --timeout 0.3 merge f.json '{"c": 1}'; echo "held=$?""#;
    let out = run_cmd(
        common::command("sh")
            .args(["-c", script, "sh"])
            .arg(&lock)
            .arg(&entry)
            .current_dir(d)
            .env("J", bin())
            .env("JSAFE_NO_SYNC", "true")
            .env_remove("JSAFE_LOCK_FD"),
        b"",
    );
    assert_eq!(out.stdout_str(), "held=3\n", "{}", out.stderr);
    assert_eq!(text(&d.join("f.json")), before);

    // Foreign: the held lock of another file (g.json, under `jsafe lock`),
    // named with f.json's lock file: not adopted either.
    let script = r#"fd=${JSAFE_LOCK_FD%%:*}
        JSAFE_LOCK_FD="$fd:$1" "$J" --timeout 0.3 merge f.json '{"d": 1}'; echo "foreign=$?""#;
    let lock_id = dev_ino(&lock);
    let out = run_cmd(
        &mut lock_cmd(d, &["g.json", "--", "sh", "-c", script, "sh", &lock_id]),
        b"",
    );
    assert_eq!(out.stdout_str(), "foreign=3\n", "{}", out.stderr);
    assert_eq!(text(&d.join("f.json")), before);
    drop(held);
}

// The record names the command's pid before the command runs: the command's
// very first action finds it (it used to be written after the command had
// started, so a fast command could see the record without its pid).
#[test]
fn the_command_finds_its_own_pid_recorded_when_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{}\n").unwrap();
    run(d, &["merge", "f.json", "{}"]).ok();
    for _ in 0..20 {
        let out = run_cmd(
            &mut lock_cmd(d, &["f.json", "--", "cat", ".jsafe/locks/f.json.lock"]),
            b"",
        );
        out.ok();
        let printed = out.stdout_str();
        let record: serde_json::Value =
            serde_json::from_str(printed.lines().next().unwrap_or_default()).unwrap();
        assert_eq!(record["command"], "jsafe lock (cat)", "{printed}");
        let child = record["child_pid"].as_u64();
        assert!(child.is_some(), "no child pid in the record: {printed}");
    }
}
