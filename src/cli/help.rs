//! The help text that is not in the definitions: the exit codes (made from
//! [`crate::error::EXIT_CODES`]), the environment variables, the examples,
//! and the help lines that show a default (made from the value in force:
//! [`Options`]'s defaults, the filter limits).

use crate::commands::shared::limits::DEFAULT_FILTER_TIMEOUT;
use crate::error::EXIT_CODES;
use crate::store::Options;
use crate::time;

/// The exit codes, shown at the end of `jsafe --help`: `error::EXIT_CODES`
/// and what is not a kind of error (0, a halt's own code, signals, `lock`).
pub(super) fn exit_codes() -> String {
    let mut text = String::from("Exit codes:\n  0  ok");
    for (_, code, meaning) in EXIT_CODES {
        text.push_str(&format!("\n  {code}  {meaning}"));
    }
    text.push_str(
        "\n  (halt_error(N) exits N, as in jq)\n  \
128+N  stopped by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129): nothing was changed\n  \
(lock exits with its command's status; 126/127: the command cannot be run / is not found)",
    );
    text
}

/// `--timeout`'s help, for `a` file before the subcommand or `the` file after it.
pub(super) fn timeout(which: &str) -> String {
    format!(
        "How long to wait for {which} file's lock before exit 3: 30, 30s, 2m, 1h30m, forever [default: {}; env JSAFE_TIMEOUT]",
        time::human(Options::DEFAULT_TIMEOUT)
    )
}

/// `--keep`'s help: backups kept `per file` (before the subcommand) or `of
/// this file` (after it).
pub(super) fn keep(of: &str) -> String {
    format!(
        "Backups to keep {of} [default: {}; env JSAFE_KEEP]",
        Options::DEFAULT_KEEP
    )
}

/// `update --filter-timeout`'s help.
pub(super) fn filter_timeout() -> String {
    format!(
        "Abort a filter still running after DURATION, exit 4 (the lock is released): 10, 30s, 2m [default: {}; env JSAFE_FILTER_TIMEOUT]",
        time::human(DEFAULT_FILTER_TIMEOUT)
    )
}

/// Examples per subcommand: the command line and what it does. Shown at the
/// end of each subcommand's `--help` and in its man page's EXAMPLES section.
pub(crate) const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "read",
        &[
            ("jsafe read state.json .runs", "print one member"),
            (
                "jsafe read config.json '.servers[].host' -r",
                "strings without quotes, one per line",
            ),
            (
                "jsafe read missing.json --default '{}'",
                "a missing file is {} instead of exit 6",
            ),
        ],
    ),
    (
        "write",
        &[
            (
                "jsafe write state.json '{\"job\": \"nightly\", \"runs\": 0}'",
                "replace the content",
            ),
            (
                "producer | jsafe write state.json",
                "the new content from stdin",
            ),
        ],
    ),
    (
        "merge",
        &[
            (
                "jsafe merge state.json '{\"status\": \"done\"}'",
                "set one member, keep the others",
            ),
            (
                "jsafe merge state.json '{host: $h}' --arg h \"$HOST\"",
                "a shell value, stored as a string whatever it holds",
            ),
            (
                "producer | jsafe merge progress.json --stream",
                "one patch per line, several in each write",
            ),
        ],
    ),
    (
        "update",
        &[
            ("jsafe update state.json '.runs += 1'", "count a run"),
            (
                "jsafe update log.json '.events += [$e]' --argjson e '{\"event\": \"start\"}'",
                "add a value given as JSON",
            ),
            (
                "jsafe update big.json '.items |= map(.ok = true)' --filter-timeout 1m",
                "a heavier filter on a large file",
            ),
        ],
    ),
    (
        "restore",
        &[
            ("jsafe restore state.json", "list the backups, newest first"),
            (
                "jsafe restore state.json --latest",
                "bring back the newest valid backup",
            ),
            (
                "jsafe restore state.json --from 0000000007.20260101T120000.000000000Z.json",
                "bring back one backup by its name (TAB completes it)",
            ),
        ],
    ),
    (
        "status",
        &[
            (
                "jsafe status",
                "the managed files below the current directory",
            ),
            (
                "jsafe status /srv/data --json",
                "one JSON document for monitoring (docs/json-output.md)",
            ),
            (
                "jsafe status -v state.json",
                "also the left-over lock files",
            ),
        ],
    ),
    (
        "cleanup-locks",
        &[
            (
                "jsafe cleanup-locks --older-than 1h /srv/data",
                "the cron job: prints only news",
            ),
            (
                "jsafe cleanup-locks --dry-run -v .",
                "what would go, and what stays",
            ),
        ],
    ),
    (
        "lock",
        &[
            (
                "jsafe lock state.json -- ./multi-step-script.sh",
                "several steps under the file's lock",
            ),
            (
                "jsafe lock state.json --timeout 0 -E 75 -- make report",
                "skip the run (exit 75) when the file is busy",
            ),
        ],
    ),
    (
        "watch",
        &[
            (
                "jsafe watch progress.json .percent -c",
                "print .percent now and after every change",
            ),
            (
                "jsafe watch job.json .state -r --once --timeout 10m",
                "wait for the next change, at most 10 minutes",
            ),
            (
                "jsafe watch events.jsonl 'select(.level == \"error\")' -c",
                "follow a JSON Lines log",
            ),
        ],
    ),
    (
        "append",
        &[
            (
                "jsafe append events.jsonl '{\"event\": \"start\"}'",
                "one line at the end of a JSON Lines log",
            ),
            (
                "producer | jsafe append events.jsonl -",
                "every line from stdin",
            ),
            (
                "jsafe append state.json '{\"at\": 1}' --to .history",
                "onto an array in a JSON document",
            ),
        ],
    ),
    (
        "schema",
        &[
            (
                "jsafe schema state.json state.schema.json",
                "every later change must match",
            ),
            ("jsafe schema state.json", "print the attached schema"),
            ("jsafe schema state.json --detach", "check no more"),
        ],
    ),
    (
        "forget",
        &[
            (
                "jsafe forget old.json",
                "status stops reporting it; asks before removing backups",
            ),
            (
                "jsafe forget --yes old.json",
                "also its backups and schema, without asking",
            ),
        ],
    ),
    (
        "rotate",
        &[
            (
                "jsafe rotate events.jsonl --keep 7 --compress",
                "events.jsonl.1.gz … .7.gz, a new empty log",
            ),
            (
                "jsafe rotate events.jsonl --max-size 100M --max-age 1d",
                "from cron: only a big or old log",
            ),
        ],
    ),
    (
        "test",
        &[
            ("jsafe test", "every suite, in a fresh temp directory"),
            (
                "jsafe test --dir /mnt/nfs/data",
                "does locking work on this mount?",
            ),
            ("jsafe test basic crash --json", "two suites, as JSON"),
        ],
    ),
    (
        "completions",
        &[
            (
                "jsafe completions bash > ~/.local/share/bash-completion/completions/jsafe",
                "bash, for this user",
            ),
            (
                "jsafe completions zsh > \"${fpath[1]}/_jsafe\"",
                "zsh (a directory in $fpath)",
            ),
            (
                "jsafe completions fish > ~/.config/fish/completions/jsafe.fish",
                "fish",
            ),
        ],
    ),
    (
        "man",
        &[
            ("jsafe man | man -l -", "read the main page"),
            (
                "jsafe man ~/.local/share/man/man1",
                "install every page for this user",
            ),
        ],
    ),
];

/// The variables jsafe reads: name, the option it stands for (`--x`, or
/// `jsafe CMD --x` for one command's option), the value it takes, and what it
/// does (a default shown is the one in force). `jsafe --help` and the man page's ENVIRONMENT section are made from
/// it; a unit test checks it against the arguments that read a variable.
pub(crate) fn environment() -> Vec<(&'static str, &'static str, &'static str, String)> {
    vec![
        (
            "JSAFE_TIMEOUT",
            "--timeout",
            "DURATION",
            format!(
                "how long to wait for a file's lock (default {})",
                time::human(Options::DEFAULT_TIMEOUT)
            ),
        ),
        (
            "JSAFE_KEEP",
            "--keep",
            "N",
            format!("backups kept per file (default {})", Options::DEFAULT_KEEP),
        ),
        (
            "JSAFE_SPLIT_LINKS",
            "--split-links",
            "true",
            "replace files that have other hard links".into(),
        ),
        (
            "JSAFE_NO_BACKUP",
            "--no-backup",
            "true",
            "keep no backup of replaced versions".into(),
        ),
        (
            "JSAFE_NO_SYNC",
            "--no-sync",
            "true",
            "write without fsync (tmpfs, tests): not durable; a power cut can leave the file empty"
                .into(),
        ),
        (
            "JSAFE_NO_JOURNAL",
            "--no-journal",
            "true",
            "write no audit journal line".into(),
        ),
        (
            "JSAFE_QUIET",
            "--quiet",
            "true",
            "print nothing on stderr but errors".into(),
        ),
        (
            "JSAFE_VERBOSE",
            "--verbose",
            "true",
            "say more on stderr".into(),
        ),
        (
            "JSAFE_FILTER_MEMORY",
            "jsafe update --filter-memory",
            "SIZE",
            "a filter's memory limit (default auto)".into(),
        ),
        (
            "JSAFE_FILTER_TIMEOUT",
            "jsafe update --filter-timeout",
            "DURATION",
            format!(
                "an update's filter time limit (default {})",
                time::human(DEFAULT_FILTER_TIMEOUT)
            ),
        ),
    ]
}

/// The examples of `subcommand`, as a help section.
pub(super) fn examples_help(subcommand: &str) -> Option<String> {
    let (_, examples) = EXAMPLES.iter().find(|(name, _)| *name == subcommand)?;
    let mut text = String::from("Examples:");
    for (line, what) in *examples {
        text.push_str(&format!("\n  # {what}\n  {line}"));
    }
    Some(text)
}

/// The root's after-help: exit codes, environment, where state lives.
pub(super) fn root_after_help() -> String {
    let mut text = format!(
        "{}\n\nEnvironment (a flag beats its variable, a variable beats the default; \
an empty variable counts as unset):",
        exit_codes()
    );
    for (var, option, value, what) in environment() {
        let setting = format!("{var}={value}");
        let option = option.strip_prefix("jsafe ").unwrap_or(option);
        text.push_str(&format!("\n  {setting:<30}{option}: {what}"));
    }
    text.push_str(
        "\n\nState lives beside each file in <dir>/.jsafe/: locks/<name>.lock,\n\
backups/<name>/<seq>.<UTC time>.json, quarantine/, journal.jsonl",
    );
    text
}
