//! `jsafe watch`: the value now and after every committed change (the final
//! value of rapid changes is always seen), never a partial file, `--once`,
//! `--timeout` (exit 3), JSON Lines followed line by line, and an end when
//! the reader of its output goes away.

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use common::*;

/// Generous bound for something that should happen at once: a test that
/// would otherwise hang fails instead. Not a speed check.
const PATIENCE: Duration = Duration::from_secs(60);

struct Watcher {
    child: Child,
    lines: Receiver<String>,
}

impl Watcher {
    /// `jsafe -v watch ARGS`, returned once the watch is registered.
    fn start(d: &Path, args: &[&str]) -> Watcher {
        let mut child = jsafe(d)
            .arg("-v")
            .arg("watch")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        wait_for_line(&mut err, "watching");
        // Keep draining stderr so the child never blocks on it.
        thread::spawn(move || {
            let mut sink = String::new();
            while err.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("watch printed nothing more")
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_rapid_change_ends_in_its_final_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["merge", "f.json", "{\"n\": 0}"]).ok();
    let w = Watcher::start(d, &["f.json", "-c"]);
    assert_eq!(w.next_line(), "{\"n\":0}");
    const N: i64 = 40;
    for i in 1..=N {
        run(d, &["merge", "f.json", &format!("{{\"n\": {i}}}")]).ok();
    }
    // Rapid changes may be shown together, but in order, each a whole
    // version, and the last one always.
    let mut last = 0;
    while last < N {
        let line = w.next_line();
        let v: serde_json::Value = serde_json::from_str(&line).expect("a whole version");
        let n = v["n"].as_i64().unwrap();
        assert!(n > last, "{n} printed after {last}");
        last = n;
    }
    w.stop();
}

#[test]
fn a_half_written_file_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"v\": 0}\n").unwrap();
    let w = Watcher::start(d, &["f.json", "-c", ".v"]);
    assert_eq!(w.next_line(), "0");
    // A writer that does not use jsafe rewrites the file in place, in two
    // halves with a pause: the half-way file is not JSON.
    for i in 1..=20 {
        let text = format!("{{\"v\": {i}, \"pad\": \"{}\"}}\n", "p".repeat(2000));
        let (a, b) = text.as_bytes().split_at(text.len() / 2);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(d.join("f.json"))
            .unwrap();
        f.write_all(a).unwrap();
        f.flush().unwrap();
        thread::sleep(Duration::from_millis(2));
        f.write_all(b).unwrap();
    }
    // Then the final version through jsafe.
    run(d, &["merge", "f.json", "{\"v\": 999}"]).ok();
    loop {
        let line = w.next_line();
        let n: i64 = line
            .parse()
            .unwrap_or_else(|_| panic!("not a whole value: {line}"));
        if n == 999 {
            break;
        }
        assert!((1..=20).contains(&n), "{n}");
    }
    w.stop();
}

#[test]
fn once_returns_after_one_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["merge", "f.json", "{\"state\": \"start\"}"]).ok();
    let mut w = Watcher::start(d, &["f.json", ".state", "-r", "--once"]);
    run(d, &["merge", "f.json", "{\"state\": \"done\"}"]).ok();
    // The value now is not printed, the change is, and watch exits 0.
    assert_eq!(w.next_line(), "done");
    assert!(w.child.wait().unwrap().success());
    // A file that does not exist yet: its creation is a change.
    let mut w = Watcher::start(d, &["new.json", "--once", "-c"]);
    run(d, &["write", "new.json", "[1, 2]"]).ok();
    assert_eq!(w.next_line(), "[1,2]");
    assert!(w.child.wait().unwrap().success());
}

#[test]
fn no_change_within_the_timeout_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["merge", "f.json", "{}"]).ok();
    let out = run(d, &["watch", "f.json", "--once", "--timeout", "0.2"]);
    out.fails(3).stderr_has("no change within");
    assert!(out.stdout.is_empty());
    // JSAFE_TIMEOUT is the lock timeout, not a watch limit: only the flag counts.
    let mut w = jsafe(d)
        .env("JSAFE_TIMEOUT", "0.1")
        .args(["watch", "f.json", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(400));
    assert!(
        w.try_wait().unwrap().is_none(),
        "watch obeyed JSAFE_TIMEOUT"
    );
    w.kill().unwrap();
    w.wait().unwrap();
}

#[test]
fn json_lines_are_followed_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["append", "ev.jsonl", "{\"e\": \"a\"}"]).ok();
    let w = Watcher::start(d, &["ev.jsonl", ".e", "-r"]);
    assert_eq!(w.next_line(), "a");
    run_stdin(
        d,
        &["append", "ev.jsonl", "-"],
        b"{\"e\": \"b\"}\n{\"e\": \"c\"}\n",
    )
    .ok();
    assert_eq!(w.next_line(), "b");
    assert_eq!(w.next_line(), "c");
    // A line not ended yet is not shown until it is whole.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(d.join("ev.jsonl"))
        .unwrap();
    f.write_all(b"{\"e\": \"d").unwrap();
    f.flush().unwrap();
    f.write_all(b"\"}\n").unwrap();
    assert_eq!(w.next_line(), "d");
    w.stop();
}

#[test]
fn watch_ends_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["merge", "f.json", "{\"n\": 1}"]).ok();
    let mut child = jsafe(d)
        .args(["watch", "f.json", "-c"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"n\":1}\n");
    drop(out); // like `jsafe watch f.json | head -1`
    let mut waited = Duration::ZERO;
    while child.try_wait().unwrap().is_none() {
        assert!(waited < PATIENCE, "watch kept running without a reader");
        thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    }
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_log_larger_than_one_read_is_printed_whole() {
    // 70,000 lines of about 1 KiB: 68 MiB, more than watch reads at once.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pad = "x".repeat(1000);
    let mut log = Vec::with_capacity(70_000 * 1024);
    for i in 0..70_000 {
        writeln!(log, "{{\"i\":{i},\"pad\":\"{pad}\"}}").unwrap();
    }
    assert!(log.len() > 68 << 20, "{}", log.len());
    fs::write(d.join("big.jsonl"), &log).unwrap();
    drop(log);
    // Its output is read from the start (the backlog is more than a pipe
    // holds, and the watch registers before it prints).
    let mut child = jsafe(d)
        .args(["watch", "big.jsonl", ".i", "-c"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        lines
            .recv_timeout(PATIENCE)
            .expect("watch printed nothing more")
    };
    for i in 0..70_000 {
        assert_eq!(next(), i.to_string(), "line {}", i + 1);
    }
    // And it still follows what comes next.
    run(d, &["append", "big.jsonl", "{\"i\": \"next\"}"]).ok();
    assert_eq!(next(), "\"next\"");
    let _ = child.kill();
    let _ = child.wait();
}
