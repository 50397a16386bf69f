//! Every exit code the README's status and cleanup-locks sections, the cron
//! file and docs/json-output.md mention is the one the binary gives in that
//! situation, and every code the binary gives there is mentioned.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::*;

fn repo_file(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// The README section whose heading starts with `heading`, to the next heading.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    let rest = &text[start + heading.len()..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    &rest[..end]
}

/// The paragraph of `text` that starts at `marker`.
fn paragraph<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}"));
    let rest = &text[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// Standalone numbers (not part of `1h`, `0s`, `2>`…) that can be exit codes.
fn codes(text: &str) -> BTreeSet<i32> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let j = (i..bytes.len())
                .find(|&j| !bytes[j].is_ascii_digit())
                .unwrap_or(bytes.len());
            let next_ok = j == bytes.len() || !bytes[j].is_ascii_alphanumeric();
            if next_ok
                && let Ok(n) = text[i..j].parse::<i32>()
                && n <= 15
            {
                out.insert(n);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// A path no call can look at, for any user: a name longer than NAME_MAX.
fn unreadable_path() -> String {
    "x".repeat(300)
}

/// The code `status` gives in each situation the docs describe.
fn status_codes(d: &Path) -> BTreeSet<i32> {
    let mut seen = BTreeSet::new();
    let ok = d.join("ok");
    fs::create_dir(&ok).unwrap();
    run(&ok, &["write", "a.json", "{}"]).ok();
    let code = run(&ok, &["status"]).code;
    assert_eq!(code, 0);
    seen.insert(code);
    let corrupt = d.join("corrupt");
    fs::create_dir(&corrupt).unwrap();
    run(&corrupt, &["write", "b.json", "{}"]).ok();
    fs::write(corrupt.join("b.json"), "{").unwrap();
    assert_eq!(run(&corrupt, &["status"]).code, 5);
    seen.insert(5);
    assert_eq!(run(&ok, &["status", "no-such-dir"]).code, 6);
    seen.insert(6);
    let gone = d.join("gone");
    fs::create_dir(&gone).unwrap();
    run(&gone, &["write", "c.json", "{}"]).ok();
    fs::remove_file(gone.join("c.json")).unwrap();
    assert_eq!(run(&gone, &["status"]).code, 9);
    seen.insert(9);
    let out = run(d, &["status", &unreadable_path()]);
    out.fails(7);
    seen.insert(7);
    // --json: the same codes in the document; no document when nothing
    // could be scanned.
    for (dir, code) in [(&ok, 0), (&corrupt, 5), (&gone, 9)] {
        let out = run(dir, &["status", "--json"]);
        assert_eq!(
            (out.code, out.json()["exit_code"].as_i64()),
            (code, Some(code as i64))
        );
    }
    let out = run(&ok, &["status", "--json", "no-such-dir"]);
    assert_eq!((out.code, out.json()["exit_code"].as_i64()), (6, Some(6)));
    let out = run(d, &["status", "--json", &unreadable_path()]);
    assert_eq!((out.code, out.stdout_str().as_str()), (7, ""));
    seen
}

fn cleanup_codes(d: &Path) -> BTreeSet<i32> {
    let mut seen = BTreeSet::new();
    run(d, &["write", "a.json", "{}"]).ok();
    for (args, code) in [
        (vec!["cleanup-locks"], 0),
        (vec!["cleanup-locks", "no-such-dir"], 6),
        (vec!["cleanup-locks", "--quiet", "no-such-dir"], 0),
        (vec!["cleanup-locks", ".", "no-such-dir"], 0),
    ] {
        let out = run(d, &args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        let mut json = args.clone();
        json.push("--json");
        assert_eq!(
            run(d, &json).json()["exit_code"].as_i64(),
            Some(code as i64),
            "{args:?}"
        );
        seen.insert(code);
    }
    let long = unreadable_path();
    let out = run(d, &["cleanup-locks", ".", &long]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(
        run(d, &["cleanup-locks", "--json", ".", &long]).json()["exit_code"],
        7
    );
    seen.insert(7);
    seen
}

#[test]
fn readme_status_section_exit_codes_are_the_binarys() {
    let dir = tempfile::tempdir().unwrap();
    let readme = repo_file("README.md");
    let text = section(&readme, "### `jsafe status [PATH...]`");
    let documented = codes(paragraph(text, "Exit code:"));
    assert_eq!(
        documented,
        status_codes(dir.path()),
        "README status section"
    );
}

#[test]
fn readme_cleanup_section_and_cron_file_exit_codes_are_the_binarys() {
    let dir = tempfile::tempdir().unwrap();
    let seen = cleanup_codes(dir.path());
    let readme = repo_file("README.md");
    let text = section(&readme, "### `jsafe cleanup-locks [PATH...]`");
    let documented = codes(paragraph(text, "Exit "));
    assert_eq!(documented, seen, "README cleanup-locks section");
    let cron = repo_file("scripts/jsafe-cleanup.cron");
    let comments: String = cron
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let in_cron: BTreeSet<i32> = comments
        .split('.')
        .filter(|s| s.contains("exit"))
        .flat_map(codes)
        .collect();
    assert!(
        !in_cron.is_empty() && in_cron.is_subset(&seen),
        "cron file: {in_cron:?}"
    );
}

#[test]
fn json_output_doc_exit_codes_are_the_binarys() {
    let dir = tempfile::tempdir().unwrap();
    let doc = repo_file("docs/json-output.md");
    let row = |heading: &str| {
        let part = section(&doc, heading);
        let line = part
            .lines()
            .find(|l| l.starts_with("| `exit_code`"))
            .unwrap_or_else(|| panic!("no exit_code row under {heading}"));
        codes(line)
    };
    let status = dir.path().join("s");
    fs::create_dir(&status).unwrap();
    assert_eq!(row("## `jsafe status --json`"), status_codes(&status));
    let cleanup = dir.path().join("c");
    fs::create_dir(&cleanup).unwrap();
    assert_eq!(
        row("## `jsafe cleanup-locks --json`"),
        cleanup_codes(&cleanup)
    );
}
