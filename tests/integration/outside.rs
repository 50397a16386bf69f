//! What a new user meets first: help that fits each command, durations as
//! people type them, a cron job that mails only news, completion that knows
//! the backups, an install that puts everything where the tools look.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common;
use common::{jsafe, ok, raw_jsafe};

/// The exit code of a run (its output is not shown).
fn code(c: &mut Command) -> i32 {
    let out = c.output().unwrap();
    common::no_panic(&String::from_utf8_lossy(&out.stderr));
    out.status.code().unwrap_or(-1)
}

fn help(args: &[&str]) -> String {
    let out = raw_jsafe(Path::new(".")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The long option names a help text lists (`--keep`, `--timeout`, ...).
fn options(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let t = t
                .strip_prefix("-")
                .filter(|_| t.len() > 3 && t.as_bytes()[2] == b',')
                .map_or(t, |_| t[3..].trim_start());
            t.strip_prefix("--")
                .map(|rest| format!("--{}", rest.split([' ', '=']).next().unwrap_or("")))
        })
        .collect()
}

const WRITE_OPTIONS: [&str; 5] = [
    "--keep",
    "--no-backup",
    "--no-sync",
    "--no-journal",
    "--split-links",
];

#[test]
fn each_subcommand_help_lists_only_its_own_options() {
    let read = help(&["read", "--help"]);
    let read_options = options(&read);
    assert!(read_options.contains(&"--timeout".to_owned()), "{read}");
    assert!(
        read_options.contains(&"--filter-memory".to_owned()),
        "{read}"
    );
    for o in WRITE_OPTIONS {
        assert!(
            !read_options.contains(&o.to_owned()),
            "read lists {o}:\n{read}"
        );
    }

    let status = help(&["status", "--help"]);
    let status_options = options(&status);
    assert!(
        status_options.contains(&"--stale-after".to_owned()),
        "{status}"
    );
    for o in WRITE_OPTIONS.iter().chain(&["--timeout"]) {
        assert!(
            !status_options.contains(&o.to_string()),
            "status lists {o}:\n{status}"
        );
    }

    let merge = help(&["merge", "--help"]);
    let lock_section = merge
        .split("Lock options:")
        .nth(1)
        .expect("merge: Lock options");
    let write_section = lock_section
        .split("Write options:")
        .nth(1)
        .expect("merge: Write options");
    assert!(
        options(lock_section.split("Write options:").next().unwrap())
            .contains(&"--timeout".to_owned())
    );
    let write_section = write_section.split("Examples:").next().unwrap();
    assert_eq!(options(write_section), WRITE_OPTIONS);
    assert!(!options(&merge).contains(&"--stale-after".to_owned()));

    for sub in common::SUBCOMMANDS {
        let text = help(&[sub, "--help"]);
        assert!(
            !text.contains("[env:"),
            "{sub} shows clap's env note:\n{text}"
        );
        let examples = text
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub} has no examples"));
        let lines = examples
            .lines()
            .filter(|l| l.contains(&format!("jsafe {sub}")))
            .count();
        assert!((1..=3).contains(&lines), "{sub}: {examples}");
    }
    let top = help(&["--help"]);
    assert!(
        top.contains("Exit codes:") && top.contains("  9  problems found"),
        "{top}"
    );
    assert!(top.contains("JSAFE_TIMEOUT=DURATION"), "{top}");
    assert!(!top.contains("[env:"), "{top}");
}

#[test]
fn options_before_the_subcommand_and_their_variables_still_apply() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let backups = || fs::read_dir(dir.join(".jsafe/backups/f.json")).map_or(0, |r| r.count());
    for i in 0..4 {
        ok(
            dir,
            &[
                "--keep",
                "2",
                "merge",
                "f.json",
                &format!(r#"{{"n": {i}}}"#),
            ],
        );
    }
    assert_eq!(backups(), 2);
    // The subcommand's flag beats the one before it, which beats the variable;
    // an empty variable is the default (20). Each row: JSAFE_KEEP, the options
    // around `merge f.json PATCH`, the backups kept after it.
    let rows: [(&str, &[&str], &[&str], usize); 4] = [
        ("1", &["--keep", "3"], &["--keep", "2"], 2),
        ("1", &["--keep", "3"], &[], 3),
        ("1", &[], &[], 1),
        ("", &[], &[], 2),
    ];
    for (n, (var, before, after, kept)) in rows.into_iter().enumerate() {
        let patch = format!(r#"{{"n": {}}}"#, 9 + n);
        let args = [before, &["merge", "f.json", &patch][..], after].concat();
        assert_eq!(code(jsafe(dir).env("JSAFE_KEEP", var).args(&args)), 0);
        assert_eq!(backups(), kept, "JSAFE_KEEP={var:?} {args:?}");
    }
    // A write option after a command that does not write is a usage error.
    assert_eq!(code(jsafe(dir).args(["status", "--keep", "2"])), 2);
    assert_eq!(code(jsafe(dir).args(["read", "f.json", "--no-sync"])), 2);
    assert_eq!(code(jsafe(dir).args(["--no-sync", "read", "f.json"])), 0);
}

#[test]
fn durations_take_units_and_forever() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ok(dir, &["merge", "f.json", "{}"]);
    for args in [
        &["--timeout", "1m", "merge", "f.json", r#"{"a": 1}"#][..],
        &["merge", "f.json", r#"{"a": 2}"#, "--timeout", "1h30m"],
        &["merge", "f.json", r#"{"a": 3}"#, "--timeout", "forever"],
        &["--timeout", "inf", "read", "--lock", "f.json"],
        &["lock", "--timeout", "0.5", "f.json", "--", "true"],
        &["update", "f.json", ".a += 1", "--filter-timeout", "2m"],
        &["status", "--stale-after", "1w"],
        &["cleanup-locks", "--older-than", "1h30m"],
        &["cleanup-locks", "--older-than", "2d", "--dry-run"],
    ] {
        let out = jsafe(dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        code(
            jsafe(dir)
                .env("JSAFE_TIMEOUT", "2m")
                .args(["merge", "f.json", "{}"])
        ),
        0
    );
    assert_eq!(
        code(
            jsafe(dir)
                .env("JSAFE_TIMEOUT", "")
                .args(["merge", "f.json", "{}"])
        ),
        0
    );
    assert_eq!(
        code(
            jsafe(dir)
                .env("JSAFE_FILTER_TIMEOUT", "1m30s")
                .args(["update", "f.json", "."])
        ),
        0
    );
    for args in [
        &["--timeout", "1x", "merge", "f.json", "{}"][..],
        &["merge", "f.json", "{}", "--timeout=-5s"],
        &["cleanup-locks", "--older-than", "forever"],
        &["status", "--stale-after", "soon"],
    ] {
        let out = jsafe(dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not a duration"),
            "{args:?}"
        );
    }
    assert_eq!(
        code(
            jsafe(dir)
                .env("JSAFE_TIMEOUT", "soon")
                .args(["merge", "f.json", "{}"])
        ),
        2
    );
}

#[test]
fn cleanup_after_ordinary_writes_prints_nothing_and_a_dead_writer_one_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for i in 0..100 {
        ok(
            dir,
            &[
                "merge",
                &format!("f{}.json", i % 10),
                &format!(r#"{{"n": {i}}}"#),
            ],
        );
    }
    let out = jsafe(dir).args(["cleanup-locks"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b""[..], &b""[..])
    );

    ok(dir, &["merge", "f3.json", r#"{"n": 0}"#]);
    fs::write(dir.join(".jsafe-tmp.f3.json.Q1w2E3r4"), "{\"n\": ").unwrap();
    let out = jsafe(dir)
        .args(["cleanup-locks", "--older-than", "1h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("removed .jsafe-tmp.f3.json.Q1w2E3r4 ("),
        "{stdout}"
    );
}

fn have_bash() -> bool {
    common::command("bash")
        .arg("-c")
        .arg("complete -p >/dev/null 2>&1; exit 0")
        .status()
        .is_ok_and(|s| s.success())
}

/// A directory holding only a `jsafe` that is this build, for PATH.
fn path_with_jsafe(dir: &Path) -> String {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(common::bin(), bin.join("jsafe")).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Writes three versions of `state.json` in `dir`; the names of its two
/// backups, sorted.
fn three_versions(dir: &Path) -> Vec<String> {
    for i in 0..3 {
        ok(dir, &["write", "state.json", &format!(r#"{{"n": {i}}}"#)]);
    }
    let mut names: Vec<String> = fs::read_dir(dir.join(".jsafe/backups/state.json"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2);
    names
}

/// Runs a shell that prints completion candidates, one per line (fish adds a
/// tab and a description); the candidates, sorted.
fn candidates(shell: &mut Command) -> Vec<String> {
    let out = shell.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    got.sort();
    got
}

/// Runs `_jsafe` as bash's completion would for the words of a line.
const COMPLETE: &str = r#"
comp() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
    local fn
    fn=$(complete -p jsafe | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
    "$fn" jsafe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}"
}
"#;

#[test]
fn bash_completes_backup_names_for_restore_from() {
    if !have_bash() {
        return common::skip("no bash");
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let tools = tempfile::tempdir().unwrap();
    let path = path_with_jsafe(tools.path());
    let names = three_versions(dir);
    ok(dir, &["write", "other.json", "{}"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/jsafe.bash");
    let run = |line: &str| {
        candidates(
            common::command("bash")
                .current_dir(dir)
                .env("PATH", &path)
                .arg("-c")
                .arg(format!(
                    "source {}\n{COMPLETE}\ncomp {line}",
                    script.display()
                )),
        )
    };
    let mut want = names.clone();
    want.sort();
    assert_eq!(run("jsafe restore state.json --from ''"), want);
    // Options with values before FILE, a prefix typed.
    assert_eq!(
        run("jsafe --keep 3 restore --timeout 1m state.json --from ''"),
        want
    );
    let newest = want.last().unwrap();
    assert_eq!(
        run(&format!(
            "jsafe restore state.json --from {}",
            &newest[..10]
        )),
        std::slice::from_ref(newest)
    );
    // No backups yet: nothing, not the directory.
    assert_eq!(
        run("jsafe restore missing.json --from ''"),
        Vec::<String>::new()
    );
    // Files for FILE, suites for test, options once a dash is typed.
    let files = run("jsafe read ''");
    assert!(
        files.contains(&"state.json".to_owned()) && files.contains(&"other.json".to_owned()),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.starts_with('-')), "{files:?}");
    assert!(run("jsafe test ''").contains(&"crash".to_owned()));
    assert!(run("jsafe merge state.json '{}' --no-").contains(&"--no-sync".to_owned()));
}

/// fish's own completion engine (`complete -C LINE` prints what it would
/// offer), driven through the installed script and the binary in PATH.
#[test]
fn fish_completes_backup_names_for_restore_from() {
    if common::command("fish")
        .arg("-c")
        .arg("exit 0")
        .status()
        .is_err()
    {
        return common::skip("no fish");
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let tools = tempfile::tempdir().unwrap();
    let path = path_with_jsafe(tools.path());
    let names = three_versions(dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/jsafe.fish");
    let run = |line: &str| {
        candidates(
            common::command("fish")
                .current_dir(dir)
                .env("PATH", &path)
                .arg("--no-config")
                .arg("-c")
                .arg(format!("source {}; complete -C '{line}'", script.display())),
        )
    };
    assert_eq!(run("jsafe restore state.json --from "), names);
    assert!(run("jsafe test ").contains(&"crash".to_owned()));
    let files = run("jsafe read ");
    assert!(files.contains(&"state.json".to_owned()), "{files:?}");
}

#[test]
fn install_puts_everything_where_the_tools_look() {
    if !have_bash() {
        return common::skip("no bash");
    }
    let d = tempfile::tempdir().unwrap();
    let prefix = d.path().join("prefix");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install.sh");
    let out = common::command("sh")
        .arg(&script)
        .arg(&prefix)
        .env("JSAFE_BIN", common::bin())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = prefix.join("bin/jsafe");
    let version = common::command(&installed)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("jsafe {}\n", env!("CARGO_PKG_VERSION"))
    );

    let man1 = prefix.join("share/man/man1");
    let pages: Vec<String> = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(pages.len() > 10);
    for page in &pages {
        assert!(man1.join(page).is_file(), "{page} not installed");
    }
    if common::command("man").arg("--version").output().is_ok() {
        for page in ["jsafe.1", "jsafe-restore.1"] {
            let out = common::command("man")
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .arg("-l")
                .arg(man1.join(page))
                .output()
                .unwrap();
            assert!(out.status.success(), "{page}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("EXAMPLES") && text.contains("SEE ALSO"),
                "{page}: {text}"
            );
        }
    } else {
        common::skip("no man to read the installed pages with");
    }

    let bash = prefix.join("share/bash-completion/completions/jsafe");
    let out = common::command("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p jsafe", bash.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("-F _jsafe jsafe"));
    let zsh = fs::read_to_string(prefix.join("share/zsh/site-functions/_jsafe")).unwrap();
    assert!(zsh.starts_with("#compdef jsafe"));
    let fish =
        fs::read_to_string(prefix.join("share/fish/vendor_completions.d/jsafe.fish")).unwrap();
    assert!(fish.contains("--command jsafe"));

    // Again, over the first install: it replaces everything in place.
    let again = common::command("sh")
        .arg(&script)
        .arg(&prefix)
        .env("JSAFE_BIN", common::bin())
        .output()
        .unwrap();
    assert!(again.status.success());
}
