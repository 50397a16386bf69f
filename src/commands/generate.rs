//! `jsafe generate DIR`: shell completions into `DIR/completions/` and man pages
//! into `DIR/man/`, all made from the clap definitions in `cli/`, so help,
//! completions and manual can never disagree. `jsafe man [DIR]` writes the
//! same pages (or prints jsafe(1)); `jsafe completions SHELL` prints one script.
//!
//! The output depends on nothing but those definitions (no date, no terminal
//! width), so the checked-in copies can be compared byte for byte with a fresh
//! run; refresh them from the repository root with `cargo run -- generate .`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction};
use clap_mangen::Man;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

use super::completions;
use crate::cli::{CompletionShell, EXAMPLES, GenerateArgs, ManArgs, environment};
use crate::error::{EXIT_CODES, Error, Kind, Result};
use crate::store::journal;
use crate::store::layout::{LOCK_SUFFIX, SCHEMAS, STATE_DIR, TEMP_PREFIX};

/// The program the pages describe.
const BIN: &str = "jsafe";

/// Shells a completion script is written for, with the file name each
/// shell's completion directory expects.
const SHELLS: [(CompletionShell, &str); 5] = [
    (CompletionShell::Bash, "jsafe.bash"),
    (CompletionShell::Zsh, "_jsafe"),
    (CompletionShell::Fish, "jsafe.fish"),
    (CompletionShell::Elvish, "jsafe.elv"),
    (CompletionShell::Powershell, "_jsafe.ps1"),
];

pub(crate) fn run(args: &GenerateArgs) -> Result<()> {
    write_all(&args.dir, render_all()?)
}

/// `jsafe man [DIR]`: every page into DIR, or jsafe(1) on stdout.
pub(crate) fn man(args: &ManArgs) -> Result<()> {
    let pages = rendered_pages()?;
    match &args.dir {
        Some(dir) => write_all(dir, pages),
        None => match pages
            .into_iter()
            .find(|(name, _)| name == Path::new("jsafe.1"))
        {
            Some((_, page)) => super::print(&page),
            None => Err(Error::internal("the page jsafe.1 was not made")),
        },
    }
}

fn write_all(dir: &Path, files: Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
    for (relative, bytes) in files {
        let path = dir.join(&relative);
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
    for (shell, name) in SHELLS {
        files.push((
            Path::new("completions").join(name),
            completions::script(shell)?,
        ));
    }
    for (name, bytes) in rendered_pages()? {
        files.push((Path::new("man").join(name), bytes));
    }
    Ok(files)
}

fn rendered_pages() -> Result<Vec<(PathBuf, Vec<u8>)>> {
    Ok(man_pages()
        .map_err(|e| Error::new(Kind::Internal, format!("cannot render the man pages: {e}")))?
        .into_iter()
        .map(|(name, page)| (PathBuf::from(name), page))
        .collect())
}

/// `jsafe.1` and one page per visible subcommand.
fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    // Without this, clap adds a `help` subcommand that the top page would list as
    // jsafe-help(1), a page that does not exist.
    let mut root = crate::cli::command().disable_help_subcommand(true);
    root.build();
    let visible: Vec<&clap::Command> = root
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .collect();

    let top = Man::new(root.clone()).date("");
    let mut sections = Roff::new();
    let firsts: Vec<(&str, &str)> = EXAMPLES
        .iter()
        .filter_map(|(_, examples)| examples.first().copied())
        .collect();
    examples_section(&mut sections, &firsts);
    exit_status_section(&mut sections);
    environment_section(&mut sections);
    files_section(&mut sections);
    let mut see_also = Roff::new();
    see_also.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<Inline> = Vec::new();
    for sub in &visible {
        refs.extend([bold(format!("{BIN}-{}", sub.get_name())), roman("(1), ")]);
    }
    refs.extend([bold("jq"), roman("(1), "), bold("flock"), roman("(1)")]);
    see_also.text(refs);
    let top_page = render_page(&top, &root, &sections, &see_also)?;
    let mut pages = vec![(top.get_filename(), top_page)];

    // A subcommand's own version string would name the subcommand ("update 0.1.0").
    let source = format!("{BIN} {}", root.get_version().unwrap_or_default());
    for sub in visible {
        let man = Man::new(sub.clone()).date("").source(source.clone());
        let mut examples = Roff::new();
        if let Some((_, list)) = EXAMPLES.iter().find(|(n, _)| *n == sub.get_name()) {
            examples_section(&mut examples, list);
        }
        let mut see_also = Roff::new();
        see_also.control("SH", ["SEE ALSO"]);
        see_also.text([
            bold(BIN),
            roman("(1), for the exit status, the environment variables and the files kept in "),
            italic(format!("<dir>/{STATE_DIR}/")),
            roman("; "),
            bold("jq"),
            roman("(1), whose filter language jsafe's filters speak; "),
            bold("flock"),
            roman("(1), the lock jsafe takes (on a sidecar lock file)."),
        ]);
        let page = render_page(&man, sub, &examples, &see_also)?;
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
    append(&mut page, |w| synopsis_section(cmd).to_writer(w))?;
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

/// The variables of `cli::environment`, in its order.
fn environment_section(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "A flag given on the command line beats its variable; a variable beats the default. \
An empty variable counts as unset.",
    )]);
    for (var, option, value, what) in &environment() {
        roff.control("TP", []);
        roff.text([bold(*var)]);
        let mut line = if *value == "true" {
            vec![
                roman("Set to "),
                bold("true"),
                roman(" for the effect of "),
                bold(*option),
                roman(": "),
            ]
        } else {
            vec![
                roman("The default for "),
                bold(*option),
                roman(" "),
                italic(*value),
                roman(": "),
            ]
        };
        line.push(roman(format!("{what}.")));
        roff.text(line);
    }
}

/// `.SH EXAMPLES`: what each does, then the command line.
fn examples_section(roff: &mut Roff, examples: &[(&str, &str)]) {
    roff.control("SH", ["EXAMPLES"]);
    for (line, what) in examples {
        roff.control("PP", []);
        roff.text([roman(format!(
            "{}{}:",
            what[..1].to_uppercase(),
            &what[1..]
        ))]);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        roff.text([bold(*line)]);
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

/// `.SH SYNOPSIS` with every option's value names (`[--timeout DURATION]`),
/// positionals after the options, then the subcommand if there is one.
fn synopsis_section(cmd: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut line = vec![bold(name)];
    for opt in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        let flag = match (opt.get_short(), opt.get_long()) {
            (Some(s), Some(l)) => format!("-{s}|--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => continue,
        };
        let (open, close) = if opt.is_required_set() {
            ("", "")
        } else {
            ("[", "]")
        };
        line.push(roman(format!(" {open}")));
        line.push(bold(flag));
        line.extend(value_names(opt));
        line.push(roman(close));
        if matches!(opt.get_action(), ArgAction::Append | ArgAction::Count) {
            line.push(roman("..."));
        }
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let names = arg
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let many = matches!(arg.get_action(), ArgAction::Append);
        let dots = if many { "..." } else { "" };
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        if arg.is_last_set() {
            line.push(roman(" [--]"));
        }
        line.push(roman(format!(" {open}")));
        line.push(italic(names));
        line.push(roman(format!("{close}{dots}")));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
        line.push(roman(" ..."));
    }
    roff.text(line);
    roff
}

/// ` <NAME> <VALUE>` for an option that takes values; nothing for a flag.
fn value_names(opt: &Arg) -> Vec<Inline> {
    if !opt.get_num_args().is_some_and(|n| n.takes_values()) {
        return Vec::new();
    }
    let names: Vec<String> = match opt.get_value_names() {
        Some(names) => names.iter().map(|n| n.to_string()).collect(),
        None => vec![opt.get_id().as_str().to_uppercase()],
    };
    let mut out = Vec::new();
    for n in names {
        out.push(roman(" "));
        out.push(italic(format!("<{n}>")));
    }
    out
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
