//! Every exit code the status and cleanup-locks sections of
//! docs/operations.md, the cron file and docs/json-output.md mention is the
//! one the binary gives in that situation, and every code the binary gives
//! there is mentioned. Every relative link in the Markdown documentation
//! leads to a file that exists, and to a heading that exists there.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::*;

fn repo_file(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// The section of a Markdown page whose heading starts with `heading`, to the next heading.
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
fn operations_status_section_exit_codes_are_the_binarys() {
    let dir = tempfile::tempdir().unwrap();
    let page = repo_file("docs/operations.md");
    let text = section(&page, "## `jsafe status [PATH...]`");
    let documented = codes(paragraph(text, "Exit code:"));
    assert_eq!(
        documented,
        status_codes(dir.path()),
        "docs/operations.md status section"
    );
}

#[test]
fn operations_cleanup_section_and_cron_file_exit_codes_are_the_binarys() {
    let dir = tempfile::tempdir().unwrap();
    let seen = cleanup_codes(dir.path());
    let page = repo_file("docs/operations.md");
    let text = section(&page, "## `jsafe cleanup-locks [PATH...]`");
    let documented = codes(paragraph(text, "Exit "));
    assert_eq!(documented, seen, "docs/operations.md cleanup-locks section");
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

/// The README's exit-code table lists exactly the codes `jsafe --help` lists
/// (rows such as `N` or `128+N` are families, not codes, and are left out).
#[test]
fn readme_exit_code_table_is_the_binarys() {
    let readme = repo_file("README.md");
    let table = section(&readme, "## Exit codes");
    let documented: BTreeSet<i32> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let help = run(dir.path(), &["--help"]).stdout_str();
    let start = help.find("Exit codes:").expect("no exit codes in --help");
    let in_help: BTreeSet<i32> = help[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(in_help.contains(&0) && in_help.contains(&15), "{in_help:?}");
    assert_eq!(
        documented, in_help,
        "README exit codes against jsafe --help"
    );
}

/// The Markdown files whose links are checked: the top-level pages and
/// every page under docs/.
fn markdown_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of a Markdown text outside fenced code blocks, with inline
/// code spans removed (a link written in code is not a link).
fn prose_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        let mut kept = String::new();
        let mut in_code = false;
        for part in line.split('`') {
            if !in_code {
                kept.push_str(part);
            }
            in_code = !in_code;
        }
        out.push(kept);
    }
    out
}

/// The anchors GitHub gives the headings of a Markdown text: lower case,
/// punctuation other than `-` and `_` dropped, spaces made `-`; a repeated
/// anchor gets `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        if fence {
            continue;
        }
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while out.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        out.insert(unique);
    }
    out
}

/// The link targets of a Markdown text: inline links `[text](target)` and
/// reference definitions `[name]: target`.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose_lines(text) {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(end) = trimmed.find("]: ")
        {
            out.push(
                trimmed[end + 3..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
            continue;
        }
        let mut rest = line.as_str();
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let end = rest
                .find(|c: char| c == ')' || c.is_whitespace())
                .unwrap_or(rest.len());
            out.push(rest[..end].trim_matches(['<', '>']).to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_leads_to_a_file_and_heading_that_exist() {
    let mut broken = Vec::new();
    let mut checked = 0;
    let mut anchors_checked = 0;
    for file in markdown_files() {
        let text = fs::read_to_string(&file).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            if !dest.exists() {
                broken.push(format!("{}: {target}: no such file", file.display()));
                continue;
            }
            if !anchor.is_empty() && dest.extension().is_some_and(|e| e == "md") {
                anchors_checked += 1;
                let heads = anchors(&fs::read_to_string(&dest).unwrap());
                if !heads.contains(anchor) {
                    broken.push(format!(
                        "{}: {target}: no heading with that anchor in {}",
                        file.display(),
                        dest.display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    // The pages link to one another, with anchors: a parser that found no
    // links would pass vacuously.
    assert!(
        checked >= 50 && anchors_checked >= 10,
        "only {checked} relative links ({anchors_checked} with anchors) found"
    );
}

#[test]
fn github_anchors_are_made_as_github_makes_them() {
    let heads = anchors(
        "# Exit codes\n## `jsafe status [PATH...]`\n```sh\n# not a heading\n```\n\
         ## JSON Lines: `jsafe append FILE JSON|-` — event logs\n## Exit codes\n#nospace\n",
    );
    let want: BTreeSet<String> = [
        "exit-codes",
        "jsafe-status-path",
        "json-lines-jsafe-append-file-json---event-logs",
        "exit-codes-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(heads, want);
    assert_eq!(
        link_targets("see [a](x.md#b) and `[c](not-a-link)`, [`d`](#e)\n[f]: g.md\n"),
        vec!["x.md#b", "#e", "g.md"]
    );
}
