//! The checked-in `completions/` and `man/` are exactly what `jsafe generate`
//! makes from the current command-line definitions, and the man page documents
//! the exit codes, the environment variables and the files in `.jsafe/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::assert::OutputAssertExt;

use crate::common;
use common::ENV_VARS;

const STALE: &str = "completions/man pages are stale: run `cargo run -- generate .`";

const COMPLETIONS: &[&str] = &[
    "_jsafe",
    "_jsafe.ps1",
    "jsafe.bash",
    "jsafe.elv",
    "jsafe.fish",
];

const MAN_PAGES: &[&str] = &[
    "jsafe-append.1",
    "jsafe-cleanup-locks.1",
    "jsafe-completions.1",
    "jsafe-forget.1",
    "jsafe-lock.1",
    "jsafe-man.1",
    "jsafe-merge.1",
    "jsafe-read.1",
    "jsafe-restore.1",
    "jsafe-rotate.1",
    "jsafe-schema.1",
    "jsafe-status.1",
    "jsafe-test.1",
    "jsafe-update.1",
    "jsafe-watch.1",
    "jsafe-write.1",
    "jsafe.1",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh `jsafe generate` into a temp dir.
fn generate() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    common::command(common::bin())
        .arg("generate")
        .arg(out.path())
        .assert()
        .success();
    out
}

/// Files directly in `dir`, by name.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn generate_writes_exactly_the_expected_files() {
    let out = generate();
    let names = |sub: &str| {
        files_in(&out.path().join(sub))
            .into_keys()
            .collect::<Vec<_>>()
    };
    assert_eq!(names("completions"), COMPLETIONS);
    // No page for the hidden `generate`, none for clap's implicit `help`.
    assert_eq!(names("man"), MAN_PAGES);
}

#[test]
fn checked_in_completions_and_man_pages_are_current() {
    let out = generate();
    for sub in ["completions", "man"] {
        let fresh = files_in(&out.path().join(sub));
        let checked_in = files_in(&repo().join(sub));
        for (name, bytes) in &fresh {
            match checked_in.get(name) {
                None => panic!("{STALE} ({sub}/{name} is missing)"),
                Some(old) if old != bytes => panic!("{STALE} ({sub}/{name} differs)"),
                Some(_) => {}
            }
        }
        for name in checked_in.keys() {
            assert!(
                fresh.contains_key(name),
                "{STALE}, and delete {sub}/{name}: it is not generated any more"
            );
        }
    }
}

#[test]
fn generate_is_deterministic() {
    let (a, b) = (generate(), generate());
    for sub in ["completions", "man"] {
        assert_eq!(files_in(&a.path().join(sub)), files_in(&b.path().join(sub)));
    }
}

/// The text of a man page with roff's escapes and font changes undone, one
/// string per source line.
fn man_text(page: &str) -> Vec<String> {
    page.lines()
        .map(|l| {
            l.replace("\\fB", "")
                .replace("\\fI", "")
                .replace("\\fR", "")
                .replace("\\*(Aq", "'")
                .replace("\\-", "-")
                .replace("\\\\", "\\")
        })
        .collect()
}

/// Lines of the section headed `.SH <name>` (quoted or not), up to the next `.SH`.
fn section(lines: &[String], name: &str) -> Vec<String> {
    let heads = [format!(".SH {name}"), format!(".SH \"{name}\"")];
    let start = lines
        .iter()
        .position(|l| heads.contains(l))
        .unwrap_or_else(|| panic!("the page has no {name} section"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with(".SH"))
        .cloned()
        .collect()
}

/// The tags of the section's `.TP` items, with the first line of each body.
fn items(section: &[String]) -> Vec<(String, String)> {
    section
        .windows(3)
        .filter(|w| w[0] == ".TP")
        .map(|w| (w[1].clone(), w[2].clone()))
        .collect()
}

fn top_page() -> Vec<String> {
    let out = generate();
    man_text(&fs::read_to_string(out.path().join("man/jsafe.1")).unwrap())
}

#[test]
fn man_page_lists_every_exit_code_of_the_table() {
    let exit_status = items(&section(&top_page(), "EXIT STATUS"));
    assert!(exit_status.contains(&("0".to_owned(), "ok".to_owned())));
    for (_, code, meaning) in jsafe::EXIT_CODES {
        let item = (code.to_string(), (*meaning).to_owned());
        assert!(exit_status.contains(&item), "EXIT STATUS lacks {item:?}");
    }
    assert_eq!(exit_status.len(), jsafe::EXIT_CODES.len() + 1);
}

#[test]
fn man_page_documents_every_environment_variable() {
    let page = top_page();
    let environment = items(&section(&page, "ENVIRONMENT"));
    let names: Vec<&str> = environment.iter().map(|(tag, _)| tag.as_str()).collect();
    // Every variable but the test-only fail point and the switches that
    // compare the shorter paths of filters with the general path
    // (docs/decisions/spliced-path-filters.md) is documented.
    let documented: Vec<&str> = ENV_VARS
        .iter()
        .copied()
        .filter(|v| {
            !matches!(
                *v,
                "JSAFE_FAILPOINT" | "JSAFE_NO_SPLICE" | "JSAFE_ITEMS_FROM"
            )
        })
        .collect();
    assert_eq!(names, documented);
    for (name, text) in &environment {
        assert!(text.contains("--"), "{name} does not name its flag: {text}");
    }
    let filter_timeout = &environment[documented.len() - 1].1;
    assert!(filter_timeout.contains("jsafe update --filter-timeout"));
}

#[test]
fn man_page_describes_the_state_layout() {
    let files = items(&section(&top_page(), "FILES"));
    let tags: Vec<&str> = files.iter().map(|(tag, _)| tag.as_str()).collect();
    assert_eq!(
        tags,
        [
            "<dir>/.jsafe/locks/<name>.lock",
            "<dir>/.jsafe/backups/<name>/<UTC stamp>.json",
            "<dir>/.jsafe/quarantine/<name>.<stamp>.corrupt",
            "<dir>/.jsafe/schemas/<name>.json",
            "<dir>/.jsafe/journal.jsonl",
            "<dir>/.jsafe-tmp.<name>.<random>",
        ]
    );
    assert!(files[4].1.contains("journal.N.jsonl"));
}

#[test]
fn man_page_has_no_date_and_no_unstructured_extra_section() {
    let page = top_page();
    let title = page.iter().find(|l| l.starts_with(".TH")).unwrap();
    // Name, section, an empty date, source.
    let expected = format!(".TH jsafe 1  \"jsafe {}\" ", env!("CARGO_PKG_VERSION"));
    assert_eq!(title, &expected);
    assert!(!page.iter().any(|l| l == ".SH EXTRA"));
}

/// What the completion engine answers for the words of a line, the last
/// one being completed (as the scripts ask it).
fn candidates(dir: &Path, words: &[&str]) -> Vec<String> {
    common::completion_words(dir, words, &[])
}

#[test]
fn completion_offers_the_visible_subcommands_only() {
    let d = tempfile::tempdir().unwrap();
    let subs = candidates(d.path(), &["jsafe", ""]);
    for sub in common::SUBCOMMANDS {
        assert!(subs.iter().any(|s| s == sub), "{sub} missing: {subs:?}");
    }
    assert!(!subs.iter().any(|s| s == "generate"), "{subs:?}");
}

#[test]
fn completion_offers_files_for_file_arguments_and_suites_for_test() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("state.json"), "{}").unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    let files = candidates(d.path(), &["jsafe", "read", ""]);
    assert!(files.contains(&"state.json".to_owned()), "{files:?}");
    assert!(files.contains(&"sub/".to_owned()), "{files:?}");
    let files = candidates(d.path(), &["jsafe", "merge", "st"]);
    assert_eq!(files, ["state.json"]);
    let suites = candidates(d.path(), &["jsafe", "test", ""]);
    for suite in [
        "basic",
        "concurrent",
        "crash",
        "cleanup",
        "rollback",
        "performance",
    ] {
        assert!(suites.contains(&suite.to_owned()), "{suite}: {suites:?}");
    }
}

#[test]
fn a_completion_variable_alone_never_changes_what_a_command_does() {
    let d = tempfile::tempdir().unwrap();
    let out = common::command(common::bin())
        .current_dir(d.path())
        .env("JSAFE_COMPLETE", "bash")
        .env("JSAFE_NO_SYNC", "1")
        .args(["merge", "f.json", r#"{"a": 1}"#])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        fs::read_to_string(d.path().join("f.json")).unwrap(),
        "{\n  \"a\": 1\n}\n"
    );
}

#[test]
fn completions_command_prints_the_checked_in_scripts() {
    for (shell, file) in [
        ("bash", "jsafe.bash"),
        ("zsh", "_jsafe"),
        ("fish", "jsafe.fish"),
    ] {
        let out = common::command(common::bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            out.stdout,
            fs::read(repo().join("completions").join(file)).unwrap(),
            "{shell}"
        );
    }
    common::command(common::bin())
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}

#[test]
fn man_command_prints_the_top_page_or_writes_every_page() {
    let out = common::command(common::bin()).arg("man").output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, fs::read(repo().join("man/jsafe.1")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("man1");
    common::command(common::bin())
        .arg("man")
        .arg(&to)
        .assert()
        .success();
    let names: Vec<String> = files_in(&to).into_keys().collect();
    assert_eq!(names, MAN_PAGES);
}

/// A page's synopsis names every option's value (`[--timeout <DURATION>]`),
/// and every page has EXAMPLES and points to jq(1) and flock(1).
#[test]
fn man_pages_have_synopses_with_values_examples_and_see_also() {
    let out = generate();
    for name in MAN_PAGES {
        let page = man_text(&fs::read_to_string(out.path().join("man").join(name)).unwrap());
        let synopsis = section(&page, "SYNOPSIS").join(" ");
        assert!(!synopsis.contains("[--timeout]"), "{name}: {synopsis}");
        let examples = section(&page, "EXAMPLES");
        assert!(
            examples
                .iter()
                .any(|l| l.starts_with("jsafe ") || l.contains("| jsafe ")),
            "{name}: {examples:?}"
        );
        let see_also = section(&page, "SEE ALSO").join(" ");
        assert!(
            see_also.contains("jq(1)") && see_also.contains("flock(1)"),
            "{name}: {see_also}"
        );
    }
    let merge = man_text(&fs::read_to_string(out.path().join("man/jsafe-merge.1")).unwrap());
    let synopsis = section(&merge, "SYNOPSIS").join(" ");
    for part in [
        "[--timeout <DURATION>]",
        "[--keep <N>]",
        "[--no-sync]",
        "<FILE>",
        "[PATCH]",
    ] {
        assert!(synopsis.contains(part), "{part}: {synopsis}");
    }
    let read = man_text(&fs::read_to_string(out.path().join("man/jsafe-read.1")).unwrap());
    let synopsis = section(&read, "SYNOPSIS").join(" ");
    assert!(synopsis.contains("[--arg <NAME> <VALUE>]..."), "{synopsis}");
    assert!(!synopsis.contains("--keep"), "{synopsis}");
}

#[test]
fn subcommand_pages_name_jsafe_and_point_to_the_top_page() {
    let out = generate();
    for name in MAN_PAGES.iter().filter(|n| **n != "jsafe.1") {
        let page = man_text(&fs::read_to_string(out.path().join("man").join(name)).unwrap());
        let title = page.iter().find(|l| l.starts_with(".TH")).unwrap();
        assert!(title.contains("\"jsafe 0."), "{name}: {title}");
        assert!(section(&page, "SEE ALSO")[0].starts_with("jsafe(1)"));
    }
}
