//! Streamed changes: `merge --stream` and `update --stream` apply one value
//! per stdin line in order, values waiting together in one write (group
//! commit); the result equals separate calls; a bad line commits the prefix
//! before it and exits 4 naming the line; readers only see committed
//! versions, each the result of a prefix.

use crate::common;

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

/// The ways a filter run can fail at `$in == 5` of a stream 1..6, with the
/// exit code and what stderr says about it.
const FAILING_AT_5: &[(&str, &str, i32, &str)] = &[
    (
        "timeout",
        "if $in == 5 then (def f: f; f) else .n = $in end",
        4,
        "--filter-timeout",
    ),
    (
        "stack overflow",
        "if $in == 5 then (def f: 1 + f; f) else .n = $in end",
        4,
        "stack overflow",
    ),
    (
        "memory",
        "if $in == 5 then reduce range(40) as $i (\"x\"; . + .) | length else .n = $in end",
        4,
        "--filter-memory",
    ),
    (
        "error",
        "if $in == 5 then error(\"five\") else .n = $in end",
        4,
        "five",
    ),
    (
        "no output",
        "if $in == 5 then empty else .n = $in end",
        4,
        "no values",
    ),
    (
        "halt_error(3)",
        "if $in == 5 then \"\" | halt_error(3) else .n = $in end",
        3,
        "exit 3",
    ),
    (
        "halt",
        "if $in == 5 then halt else .n = $in end",
        10,
        "exit 10",
    ),
];

/// Wait until `done` holds (a safety stop after two minutes; not a timing
/// check).
fn wait_until(done: impl Fn() -> bool) {
    let stop = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !done() {
        assert!(std::time::Instant::now() < stop, "never happened");
        thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The limits for a case: a short time for the timeout, a generous one for
/// the rest (a slow machine must not turn them into timeouts).
fn limits(what: &str) -> [&'static str; 4] {
    let time = if what == "timeout" { "1s" } else { "300s" };
    ["--filter-timeout", time, "--filter-memory", "256M"]
}

fn check_failed_at_5(what: &str, out: &Out, code: i32, why: &str, file: &std::path::Path) {
    out.fails(code)
        .stderr_has("stdin line 5")
        .stderr_has(why)
        .stderr_has("the 4 values before it are committed");
    assert!(
        !out.stderr.contains("nothing was written"),
        "{what}: {}",
        out.stderr
    );
    assert_eq!(
        parse_file(file),
        serde_json::json!({"n": 4}),
        "{what}: values 1-4 must be committed"
    );
}

#[test]
fn a_filter_failing_mid_batch_commits_every_value_before_it() {
    // All six values are waiting when jsafe starts: one batch.
    for (what, filter, code, why) in FAILING_AT_5 {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut args = vec!["update", "s.json", filter, "--stream"];
        args.extend(limits(what));
        let out = run_stdin(d, &args, b"1\n2\n3\n4\n5\n6\n");
        check_failed_at_5(what, &out, *code, why, &d.join("s.json"));
    }
}

#[test]
fn a_filter_failing_after_separate_writes_commits_every_value_before_it() {
    // One value at a time: each is committed before the next is sent.
    for (what, filter, code, why) in FAILING_AT_5 {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let file = d.join("s.json");
        let mut args = vec!["update", "s.json", filter, "--stream"];
        args.extend(limits(what));
        let mut child = jsafe(d)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for i in 1..=4 {
            writeln!(stdin, "{i}").unwrap();
            stdin.flush().unwrap();
            wait_until(|| {
                fs::read(&file)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    == Some(serde_json::json!({"n": i}))
            });
        }
        stdin.write_all(b"5\n6\n").unwrap();
        drop(stdin);
        let out = Out::from_output(child.wait_with_output().unwrap());
        check_failed_at_5(what, &out, *code, why, &file);
        assert_eq!(journal_lines(d).len(), 4, "{what}: one write per value");
    }
}

#[test]
fn a_failing_first_value_writes_nothing_and_says_so() {
    for (what, filter, code, why) in FAILING_AT_5 {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("s.json"), "{\"n\": 0}\n").unwrap();
        let mut args = vec!["update", "s.json", filter, "--stream"];
        args.extend(limits(what));
        let out = run_stdin(d, &args, b"5\n6\n");
        out.fails(*code)
            .stderr_has("stdin line 1")
            .stderr_has(why)
            .stderr_has("nothing was written");
        assert_eq!(text(&d.join("s.json")), "{\"n\": 0}\n", "{what}");
    }
}

#[test]
fn a_pause_between_values_is_not_a_filter_timeout() {
    // The time limit is each run's: a stream that waits for its producer
    // longer than --filter-timeout between values is not timed out.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("s.json");
    let mut child = jsafe(d)
        .args([
            "update",
            "s.json",
            ".n = $in",
            "--stream",
            "--filter-timeout",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "1").unwrap();
    stdin.flush().unwrap();
    wait_until(|| {
        fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            == Some(serde_json::json!({"n": 1}))
    });
    thread::sleep(std::time::Duration::from_millis(1500));
    writeln!(stdin, "2").unwrap();
    drop(stdin);
    let out = Out::from_output(child.wait_with_output().unwrap());
    out.ok();
    assert_eq!(parse_file(&file), serde_json::json!({"n": 2}));
}
