//! The clap definitions: every command, argument and option, with its
//! help line. The help that is made rather than written (defaults, exit
//! codes, environment, examples) is in [`super::help`], the unit parsers in
//! [`super::units`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::FalseyValueParser;
use clap::{Args, Parser, Subcommand, ValueHint};

use super::help;
use super::units::{
    parse_duration, parse_filter_memory, parse_filter_timeout, parse_keep, parse_size,
    parse_timeout,
};
use crate::commands::shared::limits::FilterMemory;

#[derive(Debug, Parser)]
#[command(
    name = "jsafe",
    version,
    about = "Read and change JSON files safely: locked, atomic, durable, backed up",
    long_about = "Read and change JSON files safely from scripts. Every change takes an \
exclusive lock on a sidecar lock file, backs up the old version, writes a temp file in the \
same directory, fsyncs it, renames it over the target and fsyncs the directory. Formatting, \
key order and number text that a change did not touch are kept as they were.",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub top: TopArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

// Options of every command, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub(crate) struct GlobalArgs {
    /// Print nothing on stderr but errors (--verbose wins over it; env JSAFE_QUIET)
    #[arg(short, long, global = true, env = "JSAFE_QUIET", hide_env = true, value_parser = FalseyValueParser::new())]
    pub quiet: bool,
    /// Say more on stderr: who holds a lock, what was backed up, what was kept (env JSAFE_VERBOSE)
    #[arg(short, long, global = true, env = "JSAFE_VERBOSE", hide_env = true, value_parser = FalseyValueParser::new())]
    pub verbose: bool,
}

// The lock and write options given before the subcommand, or their
// variables: they apply to every command that takes a lock or writes. None
// and false mean "not given"; main.rs applies the defaults.
#[derive(Debug, Clone, Args)]
pub(crate) struct TopArgs {
    // How long to wait for a file's lock.
    #[arg(long, help = help::timeout("a"), env = "JSAFE_TIMEOUT", hide_env = true, value_name = "DURATION", value_parser = parse_timeout, help_heading = "Lock options (for every command that takes a lock)")]
    pub timeout: Option<Duration>,
    // Backups to keep per file.
    #[arg(long, help = help::keep("per file"), env = "JSAFE_KEEP", hide_env = true, value_name = "N", value_parser = parse_keep, help_heading = WRITE_TOP)]
    pub keep: Option<usize>,
    /// Replace a file that has other hard links; they keep the old content (env JSAFE_SPLIT_LINKS)
    #[arg(long, env = "JSAFE_SPLIT_LINKS", hide_env = true, value_parser = FalseyValueParser::new(), help_heading = WRITE_TOP)]
    pub split_links: bool,
    /// Do not back up the version being replaced (env JSAFE_NO_BACKUP)
    #[arg(long, env = "JSAFE_NO_BACKUP", hide_env = true, value_parser = FalseyValueParser::new(), help_heading = WRITE_TOP)]
    pub no_backup: bool,
    /// Skip the fsyncs (tmpfs, tests): not durable, and after a power cut or OS crash the file may be empty or missing, not only old; a process crash still leaves the old or new version (env JSAFE_NO_SYNC)
    #[arg(long, env = "JSAFE_NO_SYNC", hide_env = true, value_parser = FalseyValueParser::new(), help_heading = WRITE_TOP)]
    pub no_sync: bool,
    /// Do not append to the audit journal, .jsafe/journal.jsonl (env JSAFE_NO_JOURNAL)
    #[arg(long, env = "JSAFE_NO_JOURNAL", hide_env = true, value_parser = FalseyValueParser::new(), help_heading = WRITE_TOP)]
    pub no_journal: bool,
}

const WRITE_TOP: &str = "Write options (for every command that writes)";
const LOCK_OPTIONS: &str = "Lock options";
const WRITE_OPTIONS: &str = "Write options";

// `--timeout` after the subcommand, for the commands that take a lock.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct LockOpts {
    // How long to wait for the file's lock.
    #[arg(long, help = help::timeout("the"), value_name = "DURATION", value_parser = parse_timeout, help_heading = LOCK_OPTIONS)]
    pub timeout: Option<Duration>,
}

// The write options after the subcommand, for the commands that write.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct WriteOpts {
    // Backups to keep of this file.
    #[arg(long, help = help::keep("of this file"), value_name = "N", value_parser = parse_keep, help_heading = WRITE_OPTIONS)]
    pub keep: Option<usize>,
    /// Do not back up the version being replaced (env JSAFE_NO_BACKUP)
    #[arg(long, help_heading = WRITE_OPTIONS)]
    pub no_backup: bool,
    /// Skip the fsyncs (tmpfs, tests): not durable, and after a power cut or OS crash the file may be empty or missing, not only old; a process crash still leaves the old or new version (env JSAFE_NO_SYNC)
    #[arg(long, help_heading = WRITE_OPTIONS)]
    pub no_sync: bool,
    /// Do not append to the audit journal, .jsafe/journal.jsonl (env JSAFE_NO_JOURNAL)
    #[arg(long, help_heading = WRITE_OPTIONS)]
    pub no_journal: bool,
    /// Replace a file that has other hard links; they keep the old content (env JSAFE_SPLIT_LINKS)
    #[arg(long, help_heading = WRITE_OPTIONS)]
    pub split_links: bool,
}

/// Each subcommand's arguments are defined only when that subcommand is
/// parsed (`defer`): a call builds the arguments of its own subcommand, not
/// of all fifteen. Code that looks at a subcommand's arguments without
/// parsing builds the tree first (`clap::Command::build`).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum Command {
    /// Print a file, or the outputs of a jq filter on it (takes no lock by default)
    Read(ReadArgs),
    /// Replace a file's content with the given JSON (argument, or stdin)
    Write(WriteArgs),
    /// Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})
    Merge(MergeArgs),
    /// Run a jq filter on a file and store its single result
    Update(UpdateArgs),
    /// List a file's backups or bring one back (through the same safe write)
    Restore(RestoreArgs),
    /// Show the health, locks, backups and last operation of managed files
    Status(StatusArgs),
    /// Remove lock files nobody holds and temp files of writes that died (for cron)
    ///
    /// Prints only what is news: a temp file of a write that died, a lock file it could not
    /// judge, an error. Lock files that ordinary use leaves (their holders have exited) are
    /// removed silently; -v lists everything removed and kept.
    CleanupLocks(CleanupArgs),
    /// Run a command while holding a file's lock (nested jsafe calls on the file use it)
    ///
    /// Takes FILE's lock (exclusive, or with --shared shared), runs CMD, and exits with
    /// CMD's status (128+N if it died of signal N, 127 not found, 126 not runnable; 3 or
    /// -E N when the lock is not granted). CMD inherits the lock as a descriptor named in
    /// JSAFE_LOCK_FD; jsafe commands inside CMD on the same FILE use it instead of
    /// waiting. While CMD runs, SIGINT/SIGTERM/SIGHUP do not stop jsafe: it waits for CMD.
    Lock(LockArgs),
    /// Print a file's (filtered) value now and after every committed change
    Watch(WatchArgs),
    /// Append a value to a JSON Lines file (O(1)), or to an array in a JSON document
    Append(AppendArgs),
    /// Attach a JSON Schema to a file (every change is checked), show it, or detach it
    Schema(SchemaArgs),
    /// Move a JSON Lines log to LOG.1 under its lock and start an empty one (for cron)
    ///
    /// Older rotated files shift to LOG.2 … LOG.<keep>; older ones are removed. Appends
    /// wait on the log's lock while it moves, so no line is lost. Without --max-size or
    /// --max-age every non-empty log is rotated; with them only one that big or that old.
    /// Prints nothing unless -v.
    Rotate(RotateArgs),
    /// Stop tracking a managed file that is gone: its lock file, and after a yes (or --yes) its backups and schema
    ///
    /// Status then no longer reports the file as missing. Without a yes on the terminal
    /// or --yes, the backups and the schema are kept (`restore --latest` can still bring
    /// the file back). A file that exists is never forgotten (exit 7).
    Forget(ForgetArgs),
    /// Self-test: check that locking, atomic replace and recovery work on this filesystem
    Test(TestArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell
    ///
    /// The script completes subcommands, options, file names, backup names for
    /// `restore --from` and suite names for `test`; it asks the `jsafe` found in PATH
    /// while completing. scripts/install.sh puts it where each shell looks.
    Completions(CompletionsArgs),
    /// Print the man page jsafe(1), or write every page into DIR
    Man(ManArgs),
    /// Write shell completions and man pages into a directory
    #[command(hide = true)]
    Generate(GenerateArgs),
}

impl Command {
    /// The lock options given after the subcommand, for the commands that have them.
    pub(crate) fn lock_opts(&self) -> Option<&LockOpts> {
        match self {
            Command::Read(a) => Some(&a.lock_opts),
            Command::Write(a) => Some(&a.change.lock_opts),
            Command::Merge(a) => Some(&a.change.lock_opts),
            Command::Update(a) => Some(&a.change.lock_opts),
            Command::Restore(a) => Some(&a.lock_opts),
            Command::Lock(a) => Some(&a.lock_opts),
            Command::Append(a) => Some(&a.lock_opts),
            Command::Schema(a) => Some(&a.lock_opts),
            Command::Rotate(a) => Some(&a.lock_opts),
            _ => None,
        }
    }

    /// The write options given after the subcommand, for the commands that have them.
    pub(crate) fn write_opts(&self) -> Option<&WriteOpts> {
        match self {
            Command::Write(a) => Some(&a.change.write_opts),
            Command::Merge(a) => Some(&a.change.write_opts),
            Command::Update(a) => Some(&a.change.write_opts),
            Command::Restore(a) => Some(&a.write_opts),
            Command::Append(a) => Some(&a.write_opts),
            Command::Schema(a) => Some(&a.write_opts),
            _ => None,
        }
    }
}

// The options every command that changes a document ends with: a schema
// to check the result against, then the lock and write options.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ChangeOpts {
    /// Refuse the change (exit 4) unless the result matches this JSON Schema
    #[arg(long, value_name = "SCHEMA.json", value_hint = ValueHint::FilePath)]
    pub schema: Option<PathBuf>,
    #[command(flatten)]
    pub lock_opts: LockOpts,
    #[command(flatten)]
    pub write_opts: WriteOpts,
}

// How `merge` and `update` treat the document they change: its layout,
// and what a corrupt one becomes.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct DocOpts {
    #[command(flatten)]
    pub style: StyleArgs,
    /// If the file is corrupt, quarantine it and restore the newest valid backup first
    #[arg(long)]
    pub recover: bool,
}

// How a changed file is formatted; by default the file's own style is kept.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct StyleArgs {
    /// Write compact JSON, one line (without a format option the file keeps its own style)
    #[arg(long, conflicts_with_all = ["indent", "tab"], help_heading = FORMAT)]
    pub compact: bool,
    /// Indent with N spaces
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=16), conflicts_with = "tab", help_heading = FORMAT)]
    pub indent: Option<u8>,
    /// Indent with tabs
    #[arg(long, help_heading = FORMAT)]
    pub tab: bool,
}

const VARIABLES: &str = "Filter variables";
const OUTPUT: &str = "Output options";
const FORMAT: &str = "Format options";

// Variables for jq filters.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct VarArgs {
    /// Bind $NAME to the string VALUE in the filter
    #[arg(long = "arg", help_heading = VARIABLES, num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString))]
    pub arg: Vec<OsString>,
    /// Bind $NAME to the parsed JSON value in the filter
    #[arg(long = "argjson", help_heading = VARIABLES, num_args = 2, value_names = ["NAME", "JSON"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString))]
    pub argjson: Vec<OsString>,
    /// Bind $NAME to an array of the JSON values in the file PATH
    #[arg(long = "slurpfile", help_heading = VARIABLES, num_args = 2, value_names = ["NAME", "PATH"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString), add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::NameThenFile))]
    pub slurpfile: Vec<OsString>,
    /// Bind $NAME to the text of the file PATH
    #[arg(long = "rawfile", help_heading = VARIABLES, num_args = 2, value_names = ["NAME", "PATH"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString), add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::NameThenFile))]
    pub rawfile: Vec<OsString>,
    /// The ARGs after the filter are strings in $ARGS.positional
    #[arg(long = "args", conflicts_with = "jsonargs", help_heading = VARIABLES)]
    pub args: bool,
    /// The ARGs after the filter are JSON values in $ARGS.positional
    #[arg(long = "jsonargs", help_heading = VARIABLES)]
    pub jsonargs: bool,
    /// Values for $ARGS.positional (with --args or --jsonargs)
    #[arg(value_name = "ARG", value_parser = clap::value_parser!(OsString))]
    pub positional: Vec<OsString>,
}

impl VarArgs {
    /// Any variable given: the value argument of `merge`, `write` and
    /// `append` is then a jq expression rather than literal JSON.
    pub(crate) fn given(&self) -> bool {
        !(self.arg.is_empty()
            && self.argjson.is_empty()
            && self.slurpfile.is_empty()
            && self.rawfile.is_empty()
            && !self.args
            && !self.jsonargs)
    }
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct ReadArgs {
    /// The JSON file; "-" reads stdin (nothing is created, no lock, no --recover)
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// A jq filter; its outputs are printed one per line as they are produced
    pub filter: Option<String>,
    /// Print compact JSON, one value per line
    #[arg(short, long, help_heading = OUTPUT)]
    pub compact: bool,
    /// Print strings without quotes (--raw works too)
    #[arg(short, long, alias = "raw", help_heading = OUTPUT)]
    pub raw_output: bool,
    /// Like -r, and no newline after each output
    #[arg(short = 'j', long, help_heading = OUTPUT)]
    pub join_output: bool,
    /// Escape every non-ASCII character as \uXXXX
    #[arg(short = 'a', long, help_heading = OUTPUT)]
    pub ascii_output: bool,
    /// Print object keys sorted
    #[arg(short = 'S', long, help_heading = OUTPUT)]
    pub sort_keys: bool,
    /// Indent with a tab
    #[arg(long, conflicts_with = "indent", help_heading = OUTPUT)]
    pub tab: bool,
    /// Indent with N spaces (0: compact)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=7), help_heading = OUTPUT)]
    pub indent: Option<u8>,
    /// Exit 11 if the last output is false or null, 14 if there is none (jq's -e)
    #[arg(short = 'e', long, help_heading = OUTPUT)]
    pub exit_status: bool,
    /// Read every value (each line of a JSON Lines file, or the document) into one array, the filter's one input
    #[arg(short = 's', long, conflicts_with = "null_input")]
    pub slurp: bool,
    /// Run the filter once with null as input; `input` and `inputs` take the file's values
    #[arg(short = 'n', long)]
    pub null_input: bool,
    #[command(flatten)]
    pub vars: VarArgs,
    /// JSON printed (or filtered) when FILE is missing; without it a missing file is exit 6
    #[arg(long, value_name = "JSON")]
    pub default: Option<OsString>,
    /// Take a shared lock while reading (for files that non-jsafe writers change in place)
    #[arg(long)]
    pub lock: bool,
    /// If the file is corrupt, quarantine it and restore the newest valid backup first (the
    /// write options for that are given before `read` or in the environment)
    #[arg(long)]
    pub recover: bool,
    /// Abort a filter that allocates more than SIZE, exit 4: 512M, 2G, auto (8 times the file's size, at least 2G) [default: auto; env JSAFE_FILTER_MEMORY]
    #[arg(long, value_name = "SIZE", env = "JSAFE_FILTER_MEMORY", hide_env = true, default_value = "auto", hide_default_value = true, value_parser = parse_filter_memory)]
    pub filter_memory: FilterMemory,
    /// Read FILE as JSON Lines (one value per line; the default for *.jsonl, *.ndjson)
    #[arg(long)]
    pub lines: bool,
    #[command(flatten)]
    pub lock_opts: LockOpts,
}

#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// The JSON file
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// The new content; read from stdin when omitted or "-". With a variable (--arg …) a jq expression evaluated with null input, e.g. '{host: $h}'
    pub json: Option<OsString>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub style: StyleArgs,
    #[command(flatten)]
    pub change: ChangeOpts,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The JSON file (a missing file starts as {})
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// The merge patch, a JSON object; "-" reads it from stdin. With a variable (--arg …) a jq expression evaluated with null input, e.g. '{host: $h}'
    #[arg(required_unless_present = "stream")]
    pub patch: Option<OsString>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub doc: DocOpts,
    /// Read one patch per line from stdin and apply them in order (waiting ones in one write)
    ///
    /// A bad line (not JSON, not a merge patch, refused by a schema) ends the
    /// stream: every patch before it is committed, whatever the grouping into
    /// writes; exit 4, and stderr is one line naming "stdin line N" and how
    /// many values before it are committed ("nothing was written" when none).
    #[arg(long)]
    pub stream: bool,
    #[command(flatten)]
    pub change: ChangeOpts,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct UpdateArgs {
    /// The JSON file
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// A jq filter producing exactly one value, e.g. '.counter += 1'
    pub filter: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// The input when FILE is missing
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub default: OsString,
    // How long the filter may run (None: the policy's default,
    // `limits::DEFAULT_FILTER_TIMEOUT`).
    #[arg(long, help = help::filter_timeout(), value_name = "DURATION", env = "JSAFE_FILTER_TIMEOUT", hide_env = true, value_parser = parse_filter_timeout)]
    pub filter_timeout: Option<Duration>,
    /// Abort a filter that allocates more than SIZE, exit 4: 512M, 2G, auto (8 times the file's size, at least 2G) [default: auto; env JSAFE_FILTER_MEMORY]
    #[arg(long, value_name = "SIZE", env = "JSAFE_FILTER_MEMORY", hide_env = true, default_value = "auto", hide_default_value = true, value_parser = parse_filter_memory)]
    pub filter_memory: FilterMemory,
    #[command(flatten)]
    pub doc: DocOpts,
    /// Read one JSON value per line from stdin as $in and run FILTER for each, in order
    ///
    /// A value that fails (not JSON, a filter error, not exactly one output,
    /// --filter-timeout or --filter-memory passed, a stack overflow, refused by
    /// a schema) ends the stream: every value before it is committed, whatever
    /// the grouping into writes; exit 4, and stderr is one line naming "stdin
    /// line N" and how many values before it are committed ("nothing was
    /// written" when none). `halt` ends it the same way with exit 10,
    /// `halt_error(N)` with exit N.
    #[arg(long)]
    pub stream: bool,
    #[command(flatten)]
    pub change: ChangeOpts,
}

#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// The JSON file whose lock is taken (it need not exist)
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// Take the lock shared (like `read --lock`): other shared holders may run, writers wait
    #[arg(long)]
    pub shared: bool,
    /// Exit N instead of 3 when the lock is not granted within --timeout (flock's -E)
    #[arg(short = 'E', long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub conflict_exit_code: Option<u8>,
    #[command(flatten)]
    pub lock_opts: LockOpts,
    /// The command to run, after --
    #[arg(last = true, required = true, value_name = "CMD", value_parser = clap::value_parser!(OsString), add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::lock_command))]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct WatchArgs {
    /// The file to watch (it need not exist yet)
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// A jq filter applied to each version (to each line of a JSON Lines file)
    pub filter: Option<String>,
    /// Print compact JSON: one line per change
    #[arg(short, long)]
    pub compact: bool,
    /// Print strings without quotes (--raw works too)
    #[arg(short, long, alias = "raw")]
    pub raw_output: bool,
    /// Do not print the current value at start; only changes
    #[arg(long)]
    pub changes_only: bool,
    /// Wait for the next change, print it and exit 0
    #[arg(long)]
    pub once: bool,
    /// Exit 3 when nothing new was printed for DURATION (with --once: no change): 30s, 10m, 1h
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Read FILE as JSON Lines (the default for *.jsonl, *.ndjson): print each appended line
    #[arg(long)]
    pub lines: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// The JSON Lines file (*.jsonl, *.ndjson, or --lines), or with --to a JSON document
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// The value to append; "-" reads JSON Lines from stdin (one value per line). With a variable (--arg …) a jq expression evaluated with null input, e.g. '{event: $e}'
    pub json: OsString,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Append to the array at this path of a JSON document (e.g. .events, .a."b c"[0])
    #[arg(long, value_name = "PATH", conflicts_with = "lines")]
    pub to: Option<String>,
    /// FILE is JSON Lines whatever its name
    #[arg(long)]
    pub lines: bool,
    /// Refuse the change (exit 4) unless the value matches this JSON Schema
    #[arg(long, value_name = "SCHEMA.json", value_hint = ValueHint::FilePath)]
    pub schema: Option<PathBuf>,
    #[command(flatten)]
    pub lock_opts: LockOpts,
    #[command(flatten)]
    pub write_opts: WriteOpts,
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// The data file
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// The JSON Schema (draft 2020-12) to attach; without it the attached one is printed
    #[arg(value_name = "SCHEMA.json", conflicts_with = "detach", value_hint = ValueHint::FilePath)]
    pub schema: Option<PathBuf>,
    /// Remove the attached schema
    #[arg(long)]
    pub detach: bool,
    /// Attach even if the file's current content does not match
    #[arg(long, requires = "schema")]
    pub force: bool,
    /// The data file is JSON Lines whatever its name (the schema applies to each line)
    #[arg(long)]
    pub lines: bool,
    #[command(flatten)]
    pub lock_opts: LockOpts,
    #[command(flatten)]
    pub write_opts: WriteOpts,
}

#[derive(Debug, Args)]
pub(crate) struct ForgetArgs {
    /// The managed file that is gone
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// Also remove its backups and attached schema without asking
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The JSON Lines log (*.jsonl, *.ndjson, or --lines)
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// Rotated files to keep: LOG.1 … LOG.N (0: drop the old lines)
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub keep: usize,
    /// gzip LOG.1 into LOG.1.gz (after the lock is released)
    #[arg(long)]
    pub compress: bool,
    /// Rotate only a log of at least SIZE: 10M, 1G (or one older than --max-age)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<usize>,
    /// Rotate only a log started at least DURATION ago: 1d, 1w (or one bigger than --max-size)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
    /// FILE is JSON Lines whatever its name
    #[arg(long)]
    pub lines: bool,
    #[command(flatten)]
    pub lock_opts: LockOpts,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The JSON file
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
    /// List the backups: name, time, size, valid JSON or not
    #[arg(long, conflicts_with_all = ["from", "latest"])]
    pub list: bool,
    /// Restore the backup with this name (as printed by --list; TAB completes it)
    #[arg(long, value_name = "NAME", conflicts_with = "latest", add = clap_complete::engine::ArgValueCompleter::new(crate::commands::completions::backup_names))]
    pub from: Option<String>,
    /// Restore the newest backup that is valid JSON
    #[arg(long)]
    pub latest: bool,
    /// With --list: print JSON
    #[arg(long, requires = "list")]
    pub json: bool,
    #[command(flatten)]
    pub lock_opts: LockOpts,
    #[command(flatten)]
    pub write_opts: WriteOpts,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Files, or directories searched recursively for managed files (default: .)
    #[arg(value_hint = ValueHint::AnyPath)]
    pub paths: Vec<PathBuf>,
    /// Also check plain *.json files that have no .jsafe state
    #[arg(long)]
    pub all_json: bool,
    /// Print one JSON document (for monitoring)
    #[arg(long)]
    pub json: bool,
    /// Stay on each PATH's filesystem (kernel filesystems like /proc are never entered)
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// A lock held longer than DURATION is a problem (exit 9): 30m, 1h, 1d
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub stale_after: Duration,
    /// A managed file that is missing is listed but is no problem (exit 0 for it)
    #[arg(long)]
    pub ignore_missing: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CleanupArgs {
    /// Directories (searched recursively) or files (default: .)
    #[arg(value_hint = ValueHint::AnyPath)]
    pub paths: Vec<PathBuf>,
    /// Also remove free lock files older than DURATION, whoever recorded them: 1h, 1d, 1w (0: every free one)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub older_than: Duration,
    /// Print what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Stay on each PATH's filesystem (kernel filesystems like /proc are never entered)
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Suites to run (default: all, in the order of --list)
    #[arg(value_name = "SUITE", value_parser = clap::builder::PossibleValuesParser::new(crate::selftest::SUITES))]
    pub suites: Vec<String>,
    /// Print the suite names, one per line, and exit
    #[arg(long, conflicts_with_all = ["suites", "dir", "json"])]
    pub list: bool,
    /// Run in this directory (on the filesystem to check) instead of a fresh temp dir
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
    /// Concurrent worker processes
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub workers: usize,
    /// Operations per worker
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub ops: usize,
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
    /// The workers write without fsync (tmpfs, quick runs); the durability checks say so (env JSAFE_NO_SYNC)
    #[arg(long)]
    pub no_sync: bool,
    /// Run the etcd self-test against this cluster (etcd://HOST:PORT[,…]/PREFIX/), on scratch keys under PREFIX
    #[arg(long, value_name = "URL", conflicts_with_all = ["dir", "suites", "list"])]
    pub etcd: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Shells `jsafe completions` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CompletionShell {
    /// Into bash-completion's completions directory, named jsafe
    Bash,
    /// Into a directory in $fpath, named _jsafe
    Zsh,
    /// Into fish's completions directory, named jsafe.fish
    Fish,
    /// Evaluated in rc.elv
    Elvish,
    /// Dot-sourced from $PROFILE
    Powershell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write every page (jsafe.1 and one per subcommand) into this directory instead
    #[arg(value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Directory to write completions/ and man/ into
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}
