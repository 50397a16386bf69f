//! `jsafe append`: O(1) appends to JSON Lines files under the lock (whole
//! lines even with concurrent writers), torn last lines quarantined before
//! the next append, `--to PATH` for arrays in JSON documents; JSON Lines in
//! `read`, `status` and `--recover`.

use crate::common;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use common::*;

/// Every line of `path` parsed; panics naming a line that is not JSON.
fn lines_of(path: &Path) -> Vec<serde_json::Value> {
    let t = text(path);
    assert!(t.is_empty() || t.ends_with('\n'), "torn tail: {t:?}");
    t.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {l}", i + 1))
        })
        .collect()
}

#[test]
fn concurrent_appends_give_whole_lines_in_each_writers_order() {
    const WORKERS: usize = 8;
    const EACH: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let d = d.clone();
            thread::spawn(move || {
                for i in 0..EACH {
                    // Values of varied length, so that torn or mixed writes would show.
                    let pad = "x".repeat((w * 37 + i * 13) % 300);
                    let v = format!("{{\"w\":{w},\"i\":{i},\"pad\":\"{pad}\"}}");
                    run(&d, &["--timeout", "60", "append", "events.jsonl", &v]).ok();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let lines = lines_of(&d.join("events.jsonl"));
    assert_eq!(lines.len(), WORKERS * EACH);
    let mut next: HashMap<u64, u64> = HashMap::new();
    for v in &lines {
        let (w, i) = (v["w"].as_u64().unwrap(), v["i"].as_u64().unwrap());
        let expected = next.entry(w).or_insert(0);
        assert_eq!(i, *expected, "worker {w}: lines out of order or lost");
        *expected += 1;
    }
    // A log is extended, not replaced: no backups.
    assert!(backups(&d, "events.jsonl").is_empty());
    assert!(quarantined(&d).is_empty());
}

#[test]
fn a_torn_last_line_is_quarantined_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = d.join("log.jsonl");
    run(d, &["append", "log.jsonl", "{\"a\": 1}"]).ok();
    // What a writer killed in the middle of its write leaves.
    fs::OpenOptions::new()
        .append(true)
        .open(&f)
        .unwrap()
        .write_all(b"{\"a\":2,\"pa")
        .unwrap();
    // read and status see it and say what to do.
    run(d, &["read", "log.jsonl"])
        .fails(5)
        .stderr_has("torn last line");
    let status = run(d, &["status", "--json", "log.jsonl"]);
    assert_eq!(status.code, 5);
    let doc = status.json();
    assert_eq!(doc["files"][0]["format"], "json-lines");
    assert!(
        doc["files"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("torn last line"),
        "{doc}"
    );
    let out = run(d, &["append", "log.jsonl", "{\"a\": 3}"]);
    out.ok().stderr_has("torn");
    assert_eq!(text(&f), "{\"a\":1}\n{\"a\":3}\n");
    let q = quarantined(d);
    assert_eq!(q.len(), 1);
    assert_eq!(bytes(&q[0]), b"{\"a\":2,\"pa");
    let last = journal_lines(d).pop().unwrap();
    assert_eq!(last["op"], "append");
    assert_eq!(last["result"], "torn-tail-quarantined");
    run(d, &["status", "log.jsonl"]).ok();
}

#[test]
fn recover_cuts_a_torn_tail_and_keeps_every_whole_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("log.jsonl"), "{\"a\":1}\n[2]\n12").unwrap();
    // A bare number at the end may be a cut longer number: torn.
    run(d, &["read", "log.jsonl"]).fails(5);
    let out = run(d, &["read", "--recover", "log.jsonl", "type"]);
    out.ok();
    assert_eq!(out.stdout_str(), "\"object\"\n\"array\"\n");
    assert_eq!(text(&d.join("log.jsonl")), "{\"a\":1}\n[2]\n");
    assert_eq!(bytes(&quarantined(d)[0]), b"12");
    // A damaged line in the middle is not "repaired": exit 5, file untouched.
    fs::write(d.join("mid.jsonl"), "{\"a\":1}\n{oops\n{\"a\":3}\n").unwrap();
    run(d, &["read", "--recover", "mid.jsonl"])
        .fails(5)
        .stderr_has("line 2");
    assert_eq!(text(&d.join("mid.jsonl")), "{\"a\":1}\n{oops\n{\"a\":3}\n");
}

#[test]
fn a_whole_last_value_without_its_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("log.jsonl"), "{\"a\":1}\n{\"b\":2}").unwrap();
    run(d, &["read", "log.jsonl", "-c"]).ok();
    run(d, &["append", "log.jsonl", "{\"c\": 3}"]).ok();
    assert_eq!(
        text(&d.join("log.jsonl")),
        "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"
    );
    assert!(quarantined(d).is_empty());
}

#[test]
fn sigkill_during_appends_leaves_at_most_one_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = Rng::from_clock();
    // Large lines make a kill in the middle of a write possible.
    let big = format!("{{\"pad\":\"{}\"}}", "y".repeat(4 << 20));
    fs::write(d.join("big.json"), &big).unwrap();
    for round in 0..12 {
        let mut child = raw_jsafe(d)
            .args(["append", "log.jsonl", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let line = format!(
            "{{\"round\":{round},\"pad\":\"{}\"}}\n",
            "z".repeat(1 << 20)
        );
        let feeder = thread::spawn(move || {
            for _ in 0..8 {
                if input.write_all(line.as_bytes()).is_err() {
                    break;
                }
            }
        });
        thread::sleep(Duration::from_millis(rng.below(40)));
        let _ = child.kill();
        child.wait().unwrap();
        let _ = feeder.join();
        // At most one torn line, and only at the end.
        let t = fs::read(d.join("log.jsonl")).unwrap_or_default();
        let whole = t.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        for l in t[..whole].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json::from_slice::<serde_json::Value>(l).expect("a whole line is JSON");
        }
        // The next append makes the file whole again.
        run(
            d,
            &["append", "log.jsonl", &format!("{{\"after\":{round}}}")],
        )
        .ok();
        let lines = lines_of(&d.join("log.jsonl"));
        assert_eq!(lines.last().unwrap()["after"], round);
        if whole < t.len() {
            let q = quarantined(d);
            assert!(
                q.iter().any(|p| bytes(p) == t[whole..]),
                "torn tail not kept"
            );
        }
    }
}

#[test]
fn the_last_line_must_be_json_and_the_name_must_say_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A pretty-printed document named .jsonl is not JSON Lines.
    fs::write(d.join("doc.jsonl"), "{\n  \"a\": 1\n}\n").unwrap();
    run(d, &["append", "doc.jsonl", "{}"])
        .fails(5)
        .stderr_has("not a JSON Lines file");
    assert_eq!(text(&d.join("doc.jsonl")), "{\n  \"a\": 1\n}\n");
    // A .json file needs --lines (or --to).
    assert_eq!(run(d, &["append", "plain.json", "{}"]).code, 2);
    assert!(!d.join("plain.json").exists());
    run(d, &["append", "--lines", "plain.log", "{\"x\": [1, 2]}"]).ok();
    assert_eq!(text(&d.join("plain.log")), "{\"x\":[1,2]}\n");
    run(d, &["read", "--lines", "plain.log", ".x[1]"]).ok();
    // Documents' commands do not replace a log.
    for args in [
        vec!["write", "e.jsonl", "{}"],
        vec!["merge", "e.jsonl", "{}"],
        vec!["update", "e.jsonl", ".a = 1"],
    ] {
        run(d, &["append", "e.jsonl", "1"]).ok();
        let before = bytes(&d.join("e.jsonl"));
        assert_eq!(run(d, &args).code, 2, "{args:?}");
        assert_eq!(bytes(&d.join("e.jsonl")), before);
    }
    // A log with a second name is not appended to (it would change both).
    fs::hard_link(d.join("plain.log"), d.join("other-name")).unwrap();
    run(d, &["append", "--lines", "plain.log", "2"])
        .fails(7)
        .stderr_has("hard links");
    fs::remove_file(d.join("other-name")).unwrap();
    // Bad input appends nothing.
    run(d, &["append", "plain.log", "--lines", "{oops"]).fails(4);
    assert_eq!(text(&d.join("plain.log")), "{\"x\":[1,2]}\n");
}

#[test]
fn a_pretty_document_without_a_final_newline_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for doc in [
        "[\n  \"alpha\",\n  \"beta\"\n]",
        "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}",
    ] {
        let file = d.join("doc.jsonl");
        fs::write(&file, doc).unwrap();
        run(d, &["append", "doc.jsonl", "\"gamma\""])
            .fails(5)
            .stderr_has("not a JSON Lines file")
            .stderr_has("nothing was appended");
        assert_eq!(text(&file), doc, "the file must be unchanged");
        // Nothing was moved to quarantine; --recover does not cut it either.
        assert!(
            !d.join(".jsafe/quarantine").exists()
                || fs::read_dir(d.join(".jsafe/quarantine"))
                    .unwrap()
                    .next()
                    .is_none()
        );
        assert_eq!(run(d, &["read", "doc.jsonl", "--recover"]).code, 5);
        assert_eq!(text(&file), doc, "--recover must not cut a document");
        run(d, &["status", "doc.jsonl"]).stdout_str();
        assert_eq!(text(&file), doc);
    }
    // A real torn tail is still quarantined and cut.
    fs::write(d.join("log.jsonl"), "{\"a\":1}\n{\"b\":").unwrap();
    run(d, &["append", "log.jsonl", "{\"c\":3}"]).ok();
    assert_eq!(text(&d.join("log.jsonl")), "{\"a\":1}\n{\"c\":3}\n");
}

#[test]
fn read_runs_a_filter_per_line_and_validates_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_stdin(
        d,
        &["append", "e.ndjson", "-"],
        b"{\"n\":1}\n\n{\"n\":2,\"s\":\"a b\"}\n",
    )
    .ok();
    let out = run(d, &["read", "e.ndjson", "."]);
    out.ok();
    assert_eq!(out.stdout_str(), "{\"n\":1}\n{\"n\":2,\"s\":\"a b\"}\n");
    let out = run(d, &["read", "e.ndjson", "select(.n > 1) | .s", "-r"]);
    assert_eq!(out.stdout_str(), "a b\n");
    // Without a filter: the bytes as they are.
    assert_eq!(
        run(d, &["read", "e.ndjson"]).stdout_str(),
        "{\"n\":1}\n{\"n\":2,\"s\":\"a b\"}\n"
    );
    fs::write(d.join("bad.jsonl"), "{\"n\":1}\n{\"n\":}\n").unwrap();
    run(d, &["read", "bad.jsonl", ".n"])
        .fails(5)
        .stderr_has("line 2");
    // A filter error names the line.
    fs::write(d.join("t.jsonl"), "{\"n\":1}\n{\"n\":\"x\"}\n").unwrap();
    let out = run(d, &["read", "t.jsonl", ".n + 1"]);
    assert_eq!(out.code, 4);
    assert_eq!(out.stdout_str(), "2\n");
    assert!(out.stderr.contains("line 2"), "{}", out.stderr);
}

#[test]
fn append_to_an_array_in_a_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("doc.json"),
        "{\n  \"name\": \"x\",\n  \"s\": \"str\"\n}\n",
    )
    .unwrap();
    run(d, &["append", "doc.json", "--to", ".events", "{\"e\": 1}"]).ok();
    run_stdin(
        d,
        &["append", "doc.json", "--to", ".events", "-"],
        b"{\"e\": 2}\n{\"e\": 3}\n",
    )
    .ok();
    run(
        d,
        &["append", "doc.json", "--to", ".deep.\"a b\".list", "7"],
    )
    .ok();
    assert_eq!(
        parse_file(&d.join("doc.json")),
        serde_json::json!({
            "name": "x", "s": "str",
            "events": [{"e": 1}, {"e": 2}, {"e": 3}],
            "deep": {"a b": {"list": [7]}}
        })
    );
    let before = bytes(&d.join("doc.json"));
    run(d, &["append", "doc.json", "--to", ".s", "1"])
        .fails(4)
        .stderr_has(".s is string");
    assert_eq!(
        run(d, &["append", "doc.json", "--to", "events", "1"]).code,
        2
    );
    assert_eq!(bytes(&d.join("doc.json")), before);
    // The document is rewritten through the write core: backed up.
    assert!(!backups(d, "doc.json").is_empty());
}

#[test]
fn readers_never_fail_on_a_line_being_appended() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    run(&d, &["append", "log.jsonl", "{\"i\": 0}"]).ok();
    let writer = {
        let d = d.clone();
        thread::spawn(move || {
            // Long lines widen the moment a line is half written.
            let pad = "w".repeat(256 << 10);
            let input: String = (1..=40)
                .map(|i| format!("{{\"i\": {i}, \"pad\": \"{pad}\"}}\n"))
                .collect();
            for chunk in input.lines().collect::<Vec<_>>().chunks(4) {
                let mut text = chunk.join("\n");
                text.push('\n');
                run_stdin(&d, &["append", "log.jsonl", "-"], text.as_bytes()).ok();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let out = run(&d, &["read", "log.jsonl", ".i"]);
        out.ok();
        let seen: Vec<i64> = out
            .stdout_str()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(seen, (0..seen.len() as i64).collect::<Vec<_>>());
        reads += 1;
    }
    writer.join().unwrap();
    assert!(reads > 0);
    assert_eq!(lines_of(&d.join("log.jsonl")).len(), 41);
}

#[test]
fn a_line_over_the_json_lines_limit_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log.jsonl");
    run(d, &["append", "log.jsonl", "{\"n\": 1}"]).ok();
    // A string of 64 MiB: its line is longer than 64 MiB with the quotes.
    let mut big = Vec::with_capacity((64 << 20) + 16);
    big.push(b'"');
    big.resize((64 << 20) + 1, b'x');
    big.extend_from_slice(b"\"\n");
    let mut input = b"{\"n\": 2}\n".to_vec();
    input.extend_from_slice(&big);
    input.extend_from_slice(b"{\"n\": 3}\n");
    let out = run_stdin(d, &["append", "log.jsonl", "-"], &input);
    out.fails(4)
        .stderr_has("stdin line 2")
        .stderr_has("64 MiB")
        .stderr_has("the value before it is committed");
    assert_eq!(text(&log), "{\"n\":1}\n{\"n\":2}\n");
    // Later appends still work, and the log is still whole.
    run(d, &["append", "log.jsonl", "{\"n\": 4}"]).ok();
    assert_eq!(text(&log), "{\"n\":1}\n{\"n\":2}\n{\"n\":4}\n");
    run(d, &["status", "log.jsonl"]).ok();

    // A line that long written by another program: every command names it.
    let mut other = b"{\"n\":1}\n".to_vec();
    other.extend_from_slice(&big);
    fs::write(&log, &other).unwrap();
    drop(big);
    run(d, &["read", "log.jsonl"])
        .fails(5)
        .stderr_has("line 2")
        .stderr_has("64 MiB");
    // status reports it as it reports any bad line (corrupt, exit 5).
    let status = run(d, &["status", "log.jsonl"]);
    assert_eq!(status.code, 5, "{}", status.stderr);
    assert!(
        status.stdout_str().contains("64 MiB"),
        "{}",
        status.stdout_str()
    );
    run(d, &["append", "log.jsonl", "{\"n\": 5}"])
        .fails(5)
        .stderr_has("64 MiB");
    assert_eq!(fs::metadata(&log).unwrap().len(), other.len() as u64);
}
