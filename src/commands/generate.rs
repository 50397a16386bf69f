//! `jsafe generate DIR`: shell completions into `DIR/completions/` and man pages
//! into `DIR/man/`, all made from the clap definitions in `cli.rs`, so help,
//! completions and manual can never disagree.
//!
//! The output depends on nothing but those definitions (no date, no terminal
//! width), so the checked-in copies can be compared byte for byte with a fresh
//! run; refresh them from the repository root with `cargo run -- generate .`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Arg, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::{Cli, GenerateArgs};
use crate::error::{EXIT_CODES, Error, Kind, Result};
use crate::store::journal;
use crate::store::layout::{LOCK_SUFFIX, SCHEMAS, STATE_DIR, TEMP_PREFIX};

/// Name the completion scripts complete.
const BIN: &str = "jsafe";

/// Shells a completion script is written for; the file names are clap_complete's
/// conventional ones (`jsafe.bash`, `_jsafe`, `jsafe.fish`, `jsafe.elv`, `_jsafe.ps1`).
const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

pub fn run(args: &GenerateArgs) -> Result<()> {
    for (relative, bytes) in render_all()? {
        let path = args.dir.join(&relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        fs::write(&path, bytes).map_err(|e| Error::io("cannot write", &path, e))?;
    }
    Ok(())
}

/// Every generated file: its path below the output directory and its content.
fn render_all() -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for shell in SHELLS {
        let mut cmd = completion_command();
        let mut bytes = Vec::new();
        clap_complete::generate(shell, &mut cmd, BIN, &mut bytes);
        let name = clap_complete::Generator::file_name(&shell, BIN);
        files.push((Path::new("completions").join(name), bytes));
    }
    for (name, bytes) in man_pages()
        .map_err(|e| Error::new(Kind::Internal, format!("cannot render the man pages: {e}")))?
    {
        files.push((Path::new("man").join(name), bytes));
    }
    Ok(files)
}

/// The root command with only its visible subcommands: clap_complete would
/// offer hidden ones too (clap issue #1335), and clap has no way to remove a
/// subcommand, so the root is put together again from its own parts.
fn completion_command() -> clap::Command {
    let full = Cli::command();
    let mut root = clap::Command::new(BIN)
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
        .propagate_version(full.is_propagate_version_set())
        .subcommand_required(full.is_subcommand_required_set())
        .arg_required_else_help(full.is_arg_required_else_help_set());
    if full.get_version().is_some() {
        // The derive's `version` is this crate's version, this same string.
        root = root.version(env!("CARGO_PKG_VERSION"));
    }
    if let Some(about) = full.get_about() {
        root = root.about(about.clone());
    }
    if let Some(long_about) = full.get_long_about() {
        root = root.long_about(long_about.clone());
    }
    root
}

/// `jsafe.1` and one page per visible subcommand.
fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    // Without this, clap adds a `help` subcommand that the top page would list as
    // jsafe-help(1), a page that does not exist.
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();

    let top = Man::new(root.clone()).date("");
    let mut sections = Roff::new();
    exit_status_section(&mut sections);
    environment_section(&mut sections, &root);
    files_section(&mut sections);
    let top_page = render_page(&top, &root, &sections, &Roff::new())?;
    let mut pages = vec![(top.get_filename(), top_page)];

    // A subcommand's own version string would name the subcommand ("update 0.1.0").
    let source = format!("{BIN} {}", root.get_version().unwrap_or_default());
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = Man::new(sub.clone()).date("").source(source.clone());
        let mut see_also = Roff::new();
        see_also.control("SH", ["SEE ALSO"]);
        see_also.text([
            bold(BIN),
            roman("(1), for the exit status, the environment variables and the files kept in "),
            italic(format!("<dir>/{STATE_DIR}/")),
            roman("."),
        ]);
        let page = render_page(&man, sub, &Roff::new(), &see_also)?;
        pages.push((man.get_filename(), page));
    }
    Ok(pages)
}

/// A page in man-pages(7) order: clap_mangen's sections, then `extra` in place
/// of clap_mangen's unstructured EXTRA section (the after-help text, which
/// `extra` says again with proper headings), the version, then `see_also`.
fn render_page(
    man: &Man,
    cmd: &clap::Command,
    extra: &Roff,
    see_also: &Roff,
) -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    append(&mut page, |w| man.render_name_section(w))?;
    append(&mut page, |w| man.render_synopsis_section(w))?;
    append(&mut page, |w| man.render_description_section(w))?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        append(&mut page, |w| man.render_options_section(w))?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        append(&mut page, |w| man.render_subcommands_section(w))?;
    }
    append(&mut page, |w| extra.to_writer(w))?;
    if cmd.get_version().is_some() {
        append(&mut page, |w| man.render_version_section(w))?;
    }
    append(&mut page, |w| see_also.to_writer(w))?;
    Ok(page)
}

/// Each rendered piece starts with the same preamble (a string definition for
/// apostrophes); the page needs it once, at the top.
fn append(
    page: &mut Vec<u8>,
    render: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> io::Result<()> {
    let preamble = Roff::new().render();
    let mut piece = Vec::new();
    render(&mut piece)?;
    page.extend_from_slice(piece.strip_prefix(preamble.as_bytes()).unwrap_or(&piece));
    Ok(())
}

fn exit_status_section(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "Scripts can branch on these codes; they are the same for every command.",
    )]);
    let success = [(0, "ok")];
    let failures = EXIT_CODES
        .iter()
        .map(|(_, code, meaning)| (*code, *meaning));
    for (code, meaning) in success.into_iter().chain(failures) {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(meaning)]);
    }
}

/// Every argument of the command tree that reads an environment variable, in
/// the order of the definitions.
fn environment_section(roff: &mut Roff, root: &clap::Command) {
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "A flag given on the command line beats its variable; a variable beats the default.",
    )]);
    let mut seen: Vec<String> = Vec::new();
    let global = root.get_arguments().map(|a| (None, a));
    let local = root
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .flat_map(|s| {
            s.get_arguments()
                .filter(|a| !a.is_global_set())
                .map(move |a| (Some(s.get_name()), a))
        });
    for (subcommand, arg) in global.chain(local) {
        let Some(var) = arg.get_env().map(|v| v.to_string_lossy().into_owned()) else {
            continue;
        };
        if arg.is_hide_env_set() || seen.contains(&var) {
            continue;
        }
        seen.push(var.clone());
        roff.control("TP", []);
        roff.text([bold(var)]);
        roff.text(env_description(subcommand, arg));
    }
}

fn env_description(subcommand: Option<&str>, arg: &Arg) -> Vec<clap_mangen::roff::Inline> {
    let long = arg.get_long().map_or(String::new(), |l| format!("--{l}"));
    let option = match subcommand {
        Some(sub) => format!("{BIN} {sub} {long}"),
        None => long,
    };
    let mut line = Vec::new();
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    if takes_value {
        let value = arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or("VALUE".to_owned(), |n| n.to_string());
        line.extend([
            roman("The default for "),
            bold(option),
            roman(" "),
            italic(value),
            roman(". "),
        ]);
    } else {
        // "true" is accepted by every boolean parser clap offers, so this
        // sentence stays right if the accepted spellings are ever widened.
        line.extend([
            roman("Set to "),
            bold("true"),
            roman(" for the effect of "),
            bold(option),
            roman(". "),
        ]);
    }
    if let Some(help) = arg.get_help() {
        line.push(roman(format!("{help}.")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_value && !defaults.is_empty() {
        line.push(roman(format!(" [default: {}]", defaults.join(","))));
    }
    line
}

fn files_section(roff: &mut Roff) {
    let state = format!("<dir>/{STATE_DIR}");
    let journal_name = journal::FILE_NAME;
    let rotated = journal_name.replace(".jsonl", ".N.jsonl");
    roff.control("SH", ["FILES"]);
    roff.text([roman(format!(
        "All state lives beside each managed file <dir>/<name>, in {state}/:"
    ))]);
    let entries = [
        (
            format!("{state}/locks/<name>{LOCK_SUFFIX}"),
            "The lock file. It holds a one-line JSON record of the current or last \
holder (pid, host, process start time, command, when acquired). Lock files are never \
removed on release; jsafe cleanup-locks removes those nobody holds."
                .to_owned(),
        ),
        (
            format!("{state}/backups/<name>/<UTC stamp>.json"),
            "Backups of replaced versions, named by UTC time (like 20261122T013046.123456789Z) \
so they sort by age; the newest --keep are kept. jsafe restore lists and restores them."
                .to_owned(),
        ),
        (
            format!("{state}/quarantine/<name>.<stamp>.corrupt"),
            "A version that was not valid JSON, moved aside instead of being overwritten \
(for a JSON Lines file: the torn last line an interrupted append left). Nothing ever \
deletes these."
                .to_owned(),
        ),
        (
            format!("{state}/{SCHEMAS}/<name>.json"),
            "The JSON Schema attached with jsafe schema: every change of <name> whose \
result does not match it is refused."
                .to_owned(),
        ),
        (
            format!("{state}/{journal_name}"),
            format!(
                "The audit journal: one JSON line per change (time, operation, file, pid, \
user, host, sizes and SHA-256 before and after, backup, result). At {} MiB it is rotated \
to {rotated}, keeping {} old ones.",
                journal::ROTATE_AT >> 20,
                journal::KEEP
            ),
        ),
        (
            format!("<dir>/{TEMP_PREFIX}<name>.<random>"),
            "The temp file of a write in progress, renamed over <name> when complete. One \
left behind by a write that died is removed by jsafe cleanup-locks."
                .to_owned(),
        ),
    ];
    for (path, what) in entries {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(what)]);
    }
}
