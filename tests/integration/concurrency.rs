//! Isolation: the lock makes concurrent writers queue (no lost update), a lock
//! held too long ends in exit 3 naming its holder, a waiter goes on once the lock
//! is released, and readers only ever see whole versions.

use crate::common;

use std::fs;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::*;
use serde_json::json;

const WORKERS: usize = 8;
const OPS: usize = 200;

/// Every journal line of `dir`, rotated journals included.
fn all_journal_lines(dir: &Path) -> Vec<serde_json::Value> {
    let state = dir.join(".jsafe");
    let mut lines = Vec::new();
    for name in [
        "journal.3.jsonl",
        "journal.2.jsonl",
        "journal.1.jsonl",
        "journal.jsonl",
    ] {
        if let Ok(t) = fs::read_to_string(state.join(name)) {
            for l in t.lines() {
                lines.push(
                    serde_json::from_str(l).unwrap_or_else(|e| {
                        panic!("{name}: a journal line is not JSON ({e}): {l}")
                    }),
                );
            }
        }
    }
    lines
}

/// Run `jsafe --no-sync ARGS(worker, i)` OPS times sequentially in each of
/// WORKERS threads; every run must succeed.
fn hammer(dir: &Path, args: impl Fn(usize, usize) -> Vec<String> + Send + Sync + 'static) {
    let args = Arc::new(args);
    let threads: Vec<_> = (0..WORKERS)
        .map(|w| {
            let dir = dir.to_path_buf();
            let args = Arc::clone(&args);
            thread::spawn(move || {
                for i in 0..OPS {
                    let out = run(&dir, &args(w, i));
                    assert_eq!(out.code, 0, "worker {w} op {i} failed: {}", out.stderr);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A reader thread running `jsafe read F` until `stop`; every output must parse.
/// Returns the parsed outputs.
fn reader(
    dir: &Path,
    name: &'static str,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Vec<serde_json::Value>> {
    let dir = dir.to_path_buf();
    thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let out = run(&dir, &["read", name]);
            assert_eq!(out.code, 0, "reader: {}", out.stderr);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "reader saw invalid JSON ({e}): {:?}",
                    String::from_utf8_lossy(&out.stdout)
                )
            });
            seen.push(v);
        }
        seen
    })
}

#[test]
fn concurrent_updates_lose_nothing_and_readers_see_whole_versions() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"n\": 0, \"pad\": \"keep me\"}\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let r = reader(dir, "f.json", Arc::clone(&stop));
    hammer(dir, |_, _| {
        ["--no-sync", "update", "f.json", ".n += 1"]
            .map(String::from)
            .to_vec()
    });
    stop.store(true, Ordering::Relaxed);
    let seen = r.join().unwrap();

    assert_eq!(
        parse_file(&dir.join("f.json")),
        json!({"n": WORKERS * OPS, "pad": "keep me"})
    );
    // Each read sees a version at least as new as the one before.
    let ns: Vec<u64> = seen.iter().map(|v| v["n"].as_u64().unwrap()).collect();
    assert!(
        ns.windows(2).all(|w| w[0] <= w[1]),
        "reads went back: {ns:?}"
    );
    eprintln!("reader saw {} versions", ns.len());
    // One whole journal line per change; the default 20 backups kept.
    assert_eq!(all_journal_lines(dir).len(), WORKERS * OPS);
    assert_eq!(backups(dir, "f.json").len(), 20);
    for b in backups(dir, "f.json") {
        parse_file(&b);
    }
    assert!(temp_files(dir).is_empty());
}

#[test]
fn concurrent_merges_of_distinct_keys_keep_every_key() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    run(dir, &["write", "f.json", "{}"]).ok();
    hammer(dir, |w, i| {
        vec![
            "--no-sync".into(),
            "--no-backup".into(),
            "merge".into(),
            "f.json".into(),
            format!("{{\"w{w}-{i}\": {i}}}"),
        ]
    });
    let v = parse_file(&dir.join("f.json"));
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), WORKERS * OPS);
    for w in 0..WORKERS {
        for i in 0..OPS {
            assert_eq!(obj.get(&format!("w{w}-{i}")), Some(&json!(i)), "w{w}-{i}");
        }
        // Each worker's keys arrived in its order (new keys go last).
        let mine: Vec<&String> = obj
            .keys()
            .filter(|k| k.starts_with(&format!("w{w}-")))
            .collect();
        let want: Vec<String> = (0..OPS).map(|i| format!("w{w}-{i}")).collect();
        assert!(mine.iter().zip(&want).all(|(a, b)| *a == b), "w{w} order");
    }
    assert!(backups(dir, "f.json").is_empty());
    assert!(temp_files(dir).is_empty());
}

#[test]
fn writers_of_different_files_share_one_journal_without_torn_lines() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let dir = dir.to_path_buf();
            thread::spawn(move || {
                let name = format!("f{w}.json");
                for i in 0..50 {
                    run(&dir, &["update", &name, &format!(".i = {i} | .w = {w}")]).ok();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let lines = all_journal_lines(dir);
    assert_eq!(lines.len(), 200);
    for w in 0..4 {
        let name = format!("f{w}.json");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l["file_name"] == name.as_str())
                .count(),
            50
        );
        assert_eq!(parse_file(&dir.join(&name)), json!({"i": 49, "w": w}));
    }
}

#[test]
fn lock_timeout_names_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\": 1}").unwrap();
    let _lock = hold_lock(dir, "f.json", std::process::id(), "test holder");
    let out = run(dir, &["--timeout", "0.5", "merge", "f.json", "{\"b\": 2}"]);
    let me = format!("pid {}", std::process::id());
    out.fails(3)
        .stderr_has(&me)
        .stderr_has("test holder")
        .stderr_has("f.json");
    let out = run(dir, &["update", "f.json", ".a = 2", "--timeout", "0.1"]);
    out.fails(3).stderr_has(&me);
    let out = run(dir, &["--timeout", "0", "write", "f.json", "{}"]);
    out.fails(3).stderr_has("test holder");
    assert_eq!(text(&dir.join("f.json")), "{\"a\": 1}");
    assert!(journal_lines(dir).is_empty());
}

#[test]
fn a_waiter_goes_on_after_the_lock_is_released() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"a\": 1}").unwrap();
    let lock = hold_lock(dir, "f.json", std::process::id(), "test holder");
    // A timeout too large for the clock means waiting for ever.
    let mut child = spawn(jsafe(dir).args([
        "--verbose",
        "--timeout",
        "1e19",
        "merge",
        "f.json",
        "{\"b\": 2}",
    ]));
    let mut err = BufReader::new(child.stderr.take().unwrap());
    // --verbose tells who it waits for.
    let seen = wait_for_line(&mut err, "waiting for the lock");
    assert!(
        seen.contains(&format!("pid {}", std::process::id())),
        "{seen}"
    );
    assert_eq!(text(&dir.join("f.json")), "{\"a\": 1}");
    drop(lock);
    let out = finish(child, err, seen);
    out.ok();
    assert_eq!(text(&dir.join("f.json")), "{\"a\": 1, \"b\": 2}");
    // The lock file now records the waiter as its last holder.
    let rec: serde_json::Value =
        serde_json::from_str(text(&dir.join(".jsafe/locks/f.json.lock")).trim()).unwrap();
    assert!(rec["command"].as_str().unwrap().contains("merge"), "{rec}");
    assert_ne!(rec["pid"], std::process::id());
}

#[test]
fn several_waiters_all_get_through_in_turn() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::write(dir.join("f.json"), "{\"n\": 0}").unwrap();
    let lock = hold_lock(dir, "f.json", std::process::id(), "test holder");
    let mut waiting = Vec::new();
    for _ in 0..4 {
        let mut child = spawn(jsafe(dir).args([
            "--verbose",
            "--timeout",
            "120",
            "update",
            "f.json",
            ".n += 1",
        ]));
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let seen = wait_for_line(&mut err, "waiting for the lock");
        waiting.push((child, err, seen));
    }
    drop(lock);
    for (child, err, seen) in waiting {
        finish(child, err, seen).ok();
    }
    assert_eq!(parse_file(&dir.join("f.json")), json!({"n": 4}));
}
