//! Streamed changes: `merge --stream` and `update --stream` apply one value
//! per stdin line in order, values waiting together in one write (group
//! commit); the result equals separate calls; a bad line commits the prefix
//! before it and exits 4 naming the line; readers only see committed
//! versions, each the result of a prefix.

mod common;

use std::fs;
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::*;

fn patches(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            format!(
                "{{\"n\": {i}, \"k{}\": {i}, \"drop{}\": null}}",
                i % 7,
                (i + 3) % 7
            )
        })
        .collect()
}

#[test]
fn a_stream_gives_what_separate_merges_give() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A file in a style jsafe writes, and one formatted by hand (kept where
    // a patch does not touch it).
    for seed in [
        "{\n  \"keep\": 1.10,\n  \"drop2\": true\n}\n",
        "{ \"keep\" :1.10 ,\n      \"list\": [1,2,   3],\"drop2\":true,\n \"k1\": {\"deep\" : 1}}",
    ] {
        fs::write(d.join("separate.json"), seed).unwrap();
        fs::write(d.join("streamed.json"), seed).unwrap();
        let ps = patches(150);
        for p in &ps {
            run(d, &["merge", "separate.json", p]).ok();
        }
        let input = ps.join("\n") + "\n";
        run_stdin(d, &["merge", "streamed.json", "--stream"], input.as_bytes()).ok();
        assert_eq!(
            text(&d.join("streamed.json")),
            text(&d.join("separate.json")),
            "seed {seed:?}"
        );
        if seed.contains("[1,2,   3]") {
            assert!(text(&d.join("streamed.json")).contains("[1,2,   3]"));
        }
    }
    // "-" as PATCH is the same; another PATCH with --stream is a usage error.
    run_stdin(
        d,
        &["merge", "streamed.json", "-", "--stream"],
        b"{\"x\": 1}\n",
    )
    .ok();
    assert_eq!(
        run(d, &["merge", "streamed.json", "{}", "--stream"]).code,
        2
    );
}

#[test]
fn values_waiting_together_share_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ps = patches(5000);
    let input = ps.join("\n") + "\n";
    // All input is there before jsafe starts reading: the writer finds many
    // values waiting whenever it finishes a write.
    let out = run_stdin(d, &["-v", "merge", "s.json", "--stream"], input.as_bytes());
    out.ok();
    let writes = journal_lines(d).len();
    assert!(
        (1..5000 / 10).contains(&writes),
        "{writes} writes for 5000 patches"
    );
    assert!(
        out.stderr.contains("5000 patches applied in"),
        "{}",
        out.stderr
    );
    let v = parse_file(&d.join("s.json"));
    assert_eq!(v["n"], 5000);
}

#[test]
fn a_bad_line_commits_the_prefix_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = b"{\"a\": 1}\n\n{\"b\": 2}\n{not json\n{\"c\": 3}\n";
    run_stdin(d, &["merge", "m.json", "--stream"], input)
        .fails(4)
        .stderr_has("stdin line 4");
    assert_eq!(
        parse_file(&d.join("m.json")),
        serde_json::json!({"a": 1, "b": 2})
    );
    // A value that is not a merge patch is a bad line too.
    run_stdin(
        d,
        &["merge", "m.json", "--stream"],
        b"{\"c\": 3}\n[1]\n{\"d\": 4}\n",
    )
    .fails(4)
    .stderr_has("stdin line 2");
    assert_eq!(
        parse_file(&d.join("m.json")),
        serde_json::json!({"a": 1, "b": 2, "c": 3})
    );
    // The first line bad: nothing written at all.
    let before = bytes(&d.join("m.json"));
    run_stdin(d, &["merge", "m.json", "--stream"], b"7\n").fails(4);
    assert_eq!(bytes(&d.join("m.json")), before);
}

#[test]
fn update_stream_binds_each_value_to_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input: String = (1..=300).map(|i| format!("{{\"pct\": {i}}}\n")).collect();
    run_stdin(
        d,
        &[
            "update",
            "p.json",
            ".progress = $in.pct | .sum += $in.pct | .seen += 1",
            "--stream",
        ],
        input.as_bytes(),
    )
    .ok();
    assert_eq!(
        parse_file(&d.join("p.json")),
        serde_json::json!({"progress": 300, "sum": 45150, "seen": 300})
    );
    // A filter error on line 3: lines 1-2 are committed.
    run_stdin(
        d,
        &["update", "q.json", ".sum += $in", "--stream"],
        b"1\n2\n\"x\"\n4\n",
    )
    .fails(4)
    .stderr_has("stdin line 3");
    assert_eq!(parse_file(&d.join("q.json")), serde_json::json!({"sum": 3}));
    // Several outputs for one value are refused like any update.
    run_stdin(d, &["update", "q.json", ".a = (1, 2)", "--stream"], b"1\n")
        .fails(4)
        .stderr_has("stdin line 1");
    assert_eq!(parse_file(&d.join("q.json")), serde_json::json!({"sum": 3}));
}

#[test]
fn readers_only_see_committed_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    fs::write(d.join("r.json"), "{\"n\": 0, \"log\": []}\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (d, stop) = (d.clone(), stop.clone());
        thread::spawn(move || {
            let mut last = 0;
            let mut reads = 0;
            while !stop.load(Ordering::SeqCst) {
                let out = run(&d, &["read", "r.json", "-c"]);
                out.ok();
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let n = v["n"].as_i64().unwrap();
                // Each version is the result of patches 1..=n, in order.
                let log: Vec<i64> = v["log"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_i64().unwrap())
                    .collect();
                assert_eq!(log, (1..=n).collect::<Vec<_>>(), "not a prefix");
                assert!(n >= last, "went back from {last} to {n}");
                last = n;
                reads += 1;
            }
            reads
        })
    };
    let mut child = jsafe(&d)
        .args(["update", "r.json", ".n = $in | .log += [$in]", "--stream"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for i in 1..=400 {
        writeln!(input, "{i}").unwrap();
        if i % 50 == 0 {
            input.flush().unwrap();
            thread::yield_now();
        }
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    stop.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(parse_file(&d.join("r.json"))["n"], 400);
}

#[test]
fn a_schema_refusal_inside_a_batch_keeps_the_prefix_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("s.schema.json"),
        r#"{"type": "object", "properties": {"n": {"type": "integer", "maximum": 100}}}"#,
    )
    .unwrap();
    run(d, &["merge", "f.json", "{\"n\": 0}"]).ok();
    run(d, &["schema", "f.json", "s.schema.json"]).ok();
    // Line 100 sets n to 1000; line 101 would make it valid again. As if each
    // value had been written alone: 1..99 are committed, the stream ends.
    let input: String = (1..=120)
        .map(|i| {
            let n = if i == 100 { 1000 } else { i % 100 };
            format!("{{\"n\": {n}, \"i\": {i}}}\n")
        })
        .collect();
    run_stdin(d, &["merge", "f.json", "--stream"], input.as_bytes())
        .fails(4)
        .stderr_has("stdin line 100");
    assert_eq!(
        parse_file(&d.join("f.json")),
        serde_json::json!({"n": 99, "i": 99})
    );
    // The same with --schema on a file without one.
    fs::write(d.join("g.json"), "{}\n").unwrap();
    run_stdin(
        d,
        &[
            "update",
            "g.json",
            ".n = $in",
            "--stream",
            "--schema",
            "s.schema.json",
        ],
        b"5\n500\n6\n",
    )
    .fails(4)
    .stderr_has("stdin line 2");
    assert_eq!(parse_file(&d.join("g.json")), serde_json::json!({"n": 5}));
}
