//! A merge into a 50 MB document builds no tree of the parts the patch does
//! not name: it runs under an address-space limit (RLIMIT_AS) of what is
//! mapped already plus the output's size and a little slack, a limit under
//! which parsing the same document into a tree fails.
//!
//! The limit applies to a whole process, so each measured run is a child
//! process: this test binary started again for one test, with
//! `JSAFE_MEMORY_CHILD` naming what the child does.

use crate::common;

use jsafe::__internals::merge_splice;
use jsafe::{Style, Value, parse};

const CHILD: &str = "JSAFE_MEMORY_CHILD";
const TEST_NAME: &str = "splice_memory::merge_into_50_mb_needs_no_tree";

/// `{"meta": {...}, "events": [...]}` in jq's 2-space layout, about `size` bytes.
fn event_log(size: usize) -> Vec<u8> {
    let mut doc = String::with_capacity(size + 4096);
    doc.push_str(
        "{\n  \"meta\": {\n    \"version\": 1,\n    \"name\": \"log\"\n  },\n  \"events\": [",
    );
    let mut i = 0u64;
    while doc.len() < size {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            "\n    {{\n      \"id\": {i},\n      \"type\": \"job.finished\",\n      \"host\": \"worker-{}\",\n      \"ok\": true,\n      \"took\": 1.250,\n      \"tags\": [\n        \"nightly\",\n        \"caf\\u00e9\"\n      ]\n    }}",
            i % 17
        ));
        i += 1;
    }
    doc.push_str("\n  ]\n}\n");
    doc.into_bytes()
}

/// Bytes of address space this process has mapped now.
fn mapped_now() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// In the child: build the document, cap the address space, then run `what`.
fn child(what: &str) {
    let doc = event_log(50 << 20);
    let style = Style::detect(&doc);
    let patch = match parse(br#"{"meta": {"version": 2, "x": [1]}, "added": true}"#) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    // Room for the output (the size of the input) plus 32 MiB; a tree of
    // the document would need several times the input.
    let limit = mapped_now() + doc.len() as u64 + (32 << 20);
    let rlimit = rustix::process::Rlimit {
        current: Some(limit),
        maximum: None,
    };
    if let Err(e) = rustix::process::setrlimit(rustix::process::Resource::As, rlimit) {
        panic!("setrlimit: {e}");
    }
    match what {
        "splice" => {
            let out = match merge_splice(&doc, &style, &patch) {
                Ok(Some(out)) => out,
                other => panic!("{other:?}"),
            };
            // The untouched events array is the same bytes.
            let events = |b: &[u8]| {
                let at = b
                    .windows(10)
                    .position(|w| w == b"\"events\": ")
                    .unwrap_or(0);
                b.len() - at
            };
            assert_eq!(events(&out), events(&doc) + "  \"added\": true\n".len() + 1);
            assert!(out.ends_with(b"  ],\n  \"added\": true\n}\n"));
            assert!(out.starts_with(b"{\n  \"meta\": {\n    \"version\": 2,\n    \"name\": \"log\",\n    \"x\": [\n      1\n    ]\n  },\n"));
        }
        "parse" => {
            let tree = parse(&doc);
            assert!(matches!(tree, Ok(Value::Object(_))));
        }
        _ => panic!("unknown child mode {what}"),
    }
}

fn run_child(what: &str) -> std::process::Output {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => panic!("{e}"),
    };
    match common::command(exe)
        .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, what)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn merge_into_50_mb_needs_no_tree() {
    if let Ok(what) = std::env::var(CHILD) {
        child(&what);
        return;
    }
    let splice = run_child("splice");
    assert!(
        splice.status.success(),
        "the splice failed under the limit: {}",
        String::from_utf8_lossy(&splice.stderr)
    );
    // The limit is tight enough to matter: the tree does not fit under it.
    let tree = run_child("parse");
    assert!(
        !tree.status.success(),
        "parsing into a tree fit under the limit, so the limit proves nothing"
    );
}
