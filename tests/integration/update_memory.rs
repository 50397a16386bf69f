//! An update of a large document reads it straight into the filter's values
//! and writes the result from them: no tree of jsafe's own beside jaq's, no
//! conversion back. Measured as in `splice_memory.rs`: a child process runs
//! `.events += [...]` on a 20 MB event log under an address-space limit
//! (RLIMIT_AS) of what is mapped already plus 12 times the document, a limit
//! under which the path through `Value` (parse, convert, filter, convert
//! back, render: about 27 times the document) fails.

use crate::common;

use std::ops::ControlFlow;

use bytes::Bytes;
use jsafe::filter::{Filter, Input, Render};
use jsafe::{Style, Value, parse, render};

const CHILD: &str = "JSAFE_UPDATE_MEMORY_CHILD";
const TEST_NAME: &str = "update_memory::an_update_of_20_mb_needs_no_second_tree";

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

const FILTER: &str = r#".events += [{"id": -1, "type": "added"}]"#;

/// In the child: build the document, cap the address space, then run `what`.
fn child(what: &str) {
    let doc = event_log(20 << 20);
    let style = Style::detect(&doc);
    let filter = Filter::compile(FILTER, vec![]).unwrap();
    let limit = mapped_now() + 12 * doc.len() as u64;
    let rlimit = rustix::process::Rlimit {
        current: Some(limit),
        maximum: None,
    };
    if let Err(e) = rustix::process::setrlimit(rustix::process::Resource::As, rlimit) {
        panic!("setrlimit: {e}");
    }
    let out = match what {
        "direct" => {
            let input = Input::parse(Bytes::from(doc.clone()), style).unwrap();
            let mut outputs = Vec::new();
            filter
                .run_input(&input, None, &|_| {}, &mut |o| {
                    outputs.push(o);
                    ControlFlow::Continue(())
                })
                .unwrap();
            let how = Render {
                style,
                sort_keys: false,
                copy: true,
            };
            input
                .render_document(&outputs[0], &how)
                .unwrap()
                .into_bytes()
        }
        "value" => {
            let value = parse(&doc).unwrap();
            let outputs = filter.run(value).unwrap();
            render(&outputs[0], &style)
        }
        _ => panic!("unknown child mode {what}"),
    };
    // Every event is where it was, byte for byte, and the new one follows.
    let end = doc.len() - "\n  ]\n}\n".len();
    assert_eq!(out[..end], doc[..end]);
    assert_eq!(
        &out[end..],
        b",\n    {\n      \"id\": -1,\n      \"type\": \"added\"\n    }\n  ]\n}\n"
    );
    assert!(matches!(parse(&out), Ok(Value::Object(_))));
}

fn run_child(what: &str) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    common::command(exe)
        .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, what)
        .output()
        .unwrap()
}

#[test]
fn an_update_of_20_mb_needs_no_second_tree() {
    if let Ok(what) = std::env::var(CHILD) {
        child(&what);
        return;
    }
    let direct = run_child("direct");
    assert!(
        direct.status.success(),
        "the direct update failed under the limit: {}",
        String::from_utf8_lossy(&direct.stderr)
    );
    // The limit is tight enough to matter: the path through Value does not
    // fit under it.
    let value = run_child("value");
    assert!(
        !value.status.success(),
        "the update through Value fit under the limit, so the limit proves nothing"
    );
}
