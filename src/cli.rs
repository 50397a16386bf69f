//! The command line, defined once. Help, shell completions and man pages are
//! all generated from these definitions (`jsafe generate`), never hand-copied.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::FalseyValueParser;
use clap::{Args, Parser, Subcommand};

/// Exit codes and environment, shown at the end of `--help` and in the man page.
/// A unit test checks this text against `error::EXIT_CODES`.
pub const AFTER_HELP: &str = "\
Exit codes:
  0  ok
  1  internal error (a bug in jsafe)
  2  usage error (bad command line)
  3  lock timeout: another process held the file's lock
  4  bad input: JSON, merge patch or filter
  5  target file is corrupt (not valid JSON)
  6  not found: missing file without --default, no such backup
  7  I/O error or refused file: nothing was changed
  8  changed, but not confirmed durable: the new version is in place
  9  problems found (status, test)
  10  update: the filter called halt or halt_error(0); nothing written
  11  read -e: the last output was false or null
  14  read -e: the filter produced no output
  15  halt_error: the filter stopped with an error message; nothing written
  (halt_error(N) exits N, as in jq)
  128+N  stopped by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129): nothing was changed
  (lock exits with its command's status; 126/127: the command cannot be run / is not found)

Environment (a flag beats its variable, a variable beats the default; an
empty variable counts as unset):
  JSAFE_TIMEOUT, JSAFE_KEEP, JSAFE_NO_BACKUP, JSAFE_NO_SYNC, JSAFE_NO_JOURNAL,
  JSAFE_SPLIT_LINKS, JSAFE_QUIET, JSAFE_VERBOSE, JSAFE_FILTER_TIMEOUT,
  JSAFE_FILTER_MEMORY

State lives beside each file in <dir>/.jsafe/: locks/<name>.lock,
backups/<name>/<seq>.<UTC time>.json, quarantine/, journal.jsonl";

#[derive(Debug, Parser)]
#[command(
    name = "jsafe",
    version,
    about = "Read and change JSON files safely: locked, atomic, durable, backed up",
    long_about = "Read and change JSON files safely from scripts. Every change takes an \
exclusive lock on a sidecar lock file, backs up the old version, writes a temp file in the \
same directory, fsyncs it, renames it over the target and fsyncs the directory. Formatting, \
key order and number text that a change did not touch are kept as they were.",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// --timeout was given on the command line (set after parsing).
    #[arg(skip)]
    pub timeout_given: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Seconds to wait for a file's lock before giving up with exit code 3
    #[arg(long, global = true, env = "JSAFE_TIMEOUT", default_value = "30", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Number of backups to keep per file
    #[arg(
        long,
        global = true,
        env = "JSAFE_KEEP",
        default_value = "20",
        value_name = "N",
        value_parser = parse_keep
    )]
    pub keep: usize,
    /// Replace a file that has other hard links (they keep the old content)
    #[arg(long, global = true, env = "JSAFE_SPLIT_LINKS", value_parser = FalseyValueParser::new())]
    pub split_links: bool,
    /// Do not back up the version being replaced
    #[arg(long, global = true, env = "JSAFE_NO_BACKUP", value_parser = FalseyValueParser::new())]
    pub no_backup: bool,
    /// Skip fsync of the temp file and the directory (tmpfs, tests): not durable
    #[arg(long, global = true, env = "JSAFE_NO_SYNC", value_parser = FalseyValueParser::new())]
    pub no_sync: bool,
    /// Do not append to the audit journal (.jsafe/journal.jsonl)
    #[arg(long, global = true, env = "JSAFE_NO_JOURNAL", value_parser = FalseyValueParser::new())]
    pub no_journal: bool,
    /// Print nothing on stderr but errors (--verbose wins over it)
    #[arg(short, long, global = true, env = "JSAFE_QUIET", value_parser = FalseyValueParser::new())]
    pub quiet: bool,
    /// Say more on stderr (who holds a lock, what was backed up, ...)
    #[arg(short, long, global = true, env = "JSAFE_VERBOSE", value_parser = FalseyValueParser::new())]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Self-test: check that locking, atomic replace and recovery work on this filesystem
    Test(TestArgs),
    /// Write shell completions and man pages into a directory
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// How a changed file is formatted; by default the file's own style is kept.
#[derive(Debug, Clone, Default, Args)]
pub struct StyleArgs {
    /// Write compact JSON (one line)
    #[arg(long, conflicts_with_all = ["indent", "tab"])]
    pub compact: bool,
    /// Indent with N spaces
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=16), conflicts_with = "tab")]
    pub indent: Option<u8>,
    /// Indent with tabs
    #[arg(long)]
    pub tab: bool,
}

/// Variables for jq filters.
#[derive(Debug, Clone, Default, Args)]
pub struct VarArgs {
    /// Bind $NAME to the string VALUE in the filter
    #[arg(long = "arg", num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString))]
    pub arg: Vec<OsString>,
    /// Bind $NAME to the parsed JSON value in the filter
    #[arg(long = "argjson", num_args = 2, value_names = ["NAME", "JSON"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString))]
    pub argjson: Vec<OsString>,
    /// Bind $NAME to an array of the JSON values in FILE
    #[arg(long = "slurpfile", num_args = 2, value_names = ["NAME", "FILE"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString))]
    pub slurpfile: Vec<OsString>,
    /// Bind $NAME to the text of FILE
    #[arg(long = "rawfile", num_args = 2, value_names = ["NAME", "FILE"], action = clap::ArgAction::Append, value_parser = clap::value_parser!(OsString))]
    pub rawfile: Vec<OsString>,
    /// The ARGs after the filter are strings in $ARGS.positional
    #[arg(long = "args", conflicts_with = "jsonargs")]
    pub args: bool,
    /// The ARGs after the filter are JSON values in $ARGS.positional
    #[arg(long = "jsonargs")]
    pub jsonargs: bool,
    /// Values for $ARGS.positional (with --args or --jsonargs)
    #[arg(value_name = "ARG", value_parser = clap::value_parser!(OsString))]
    pub positional: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ReadArgs {
    /// The JSON file
    pub file: PathBuf,
    /// A jq filter; its outputs are printed one per line as they are produced
    pub filter: Option<String>,
    /// Print compact JSON, one value per line
    #[arg(short, long)]
    pub compact: bool,
    /// Print strings without quotes
    #[arg(short, long)]
    pub raw_output: bool,
    /// Like -r, and no newline after each output
    #[arg(short = 'j', long)]
    pub join_output: bool,
    /// Escape every non-ASCII character as \uXXXX
    #[arg(short = 'a', long)]
    pub ascii_output: bool,
    /// Print object keys sorted
    #[arg(short = 'S', long)]
    pub sort_keys: bool,
    /// Indent with a tab
    #[arg(long, conflicts_with = "indent")]
    pub tab: bool,
    /// Indent with N spaces (0: compact)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=7))]
    pub indent: Option<u8>,
    /// Exit 11 if the last output is false or null, 14 if there is none (jq's -e)
    #[arg(short = 'e', long)]
    pub exit_status: bool,
    #[command(flatten)]
    pub vars: VarArgs,
    /// JSON printed (or filtered) when FILE is missing; without it a missing file is exit 6
    #[arg(long, value_name = "JSON")]
    pub default: Option<OsString>,
    /// Take a shared lock while reading (for files that non-jsafe writers change in place)
    #[arg(long)]
    pub lock: bool,
    /// If the file is corrupt, quarantine it and restore the newest valid backup first
    #[arg(long)]
    pub recover: bool,
    /// Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file's size, at least 2G)
    #[arg(long, value_name = "SIZE", env = "JSAFE_FILTER_MEMORY", default_value = "auto", value_parser = parse_filter_memory)]
    pub filter_memory: FilterMemory,
    /// Read FILE as JSON Lines (one value per line; the default for *.jsonl, *.ndjson)
    #[arg(long)]
    pub lines: bool,
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The JSON file
    pub file: PathBuf,
    /// The new content; read from stdin when omitted or "-"
    pub json: Option<OsString>,
    #[command(flatten)]
    pub style: StyleArgs,
    /// Refuse the change (exit 4) unless the result matches this JSON Schema
    #[arg(long, value_name = "SCHEMA.json")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON file (a missing file starts as {})
    pub file: PathBuf,
    /// The merge patch, a JSON object; "-" reads it from stdin
    #[arg(required_unless_present = "stream")]
    pub patch: Option<OsString>,
    #[command(flatten)]
    pub style: StyleArgs,
    /// If the file is corrupt, quarantine it and restore the newest valid backup first
    #[arg(long)]
    pub recover: bool,
    /// Read one patch per line from stdin and apply them in order (waiting ones in one write)
    #[arg(long)]
    pub stream: bool,
    /// Refuse the change (exit 4) unless the result matches this JSON Schema
    #[arg(long, value_name = "SCHEMA.json")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct UpdateArgs {
    /// The JSON file
    pub file: PathBuf,
    /// A jq filter producing exactly one value, e.g. '.counter += 1'
    pub filter: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// The input when FILE is missing
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub default: OsString,
    /// Abort a filter still running after SECS (exit 4; the lock is released)
    #[arg(long, value_name = "SECS", env = "JSAFE_FILTER_TIMEOUT", default_value = "10", value_parser = parse_filter_timeout)]
    pub filter_timeout: Duration,
    /// Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file's size, at least 2G)
    #[arg(long, value_name = "SIZE", env = "JSAFE_FILTER_MEMORY", default_value = "auto", value_parser = parse_filter_memory)]
    pub filter_memory: FilterMemory,
    #[command(flatten)]
    pub style: StyleArgs,
    /// If the file is corrupt, quarantine it and restore the newest valid backup first
    #[arg(long)]
    pub recover: bool,
    /// Read one JSON value per line from stdin as $in and run FILTER for each, in order
    #[arg(long)]
    pub stream: bool,
    /// Refuse the change (exit 4) unless the result matches this JSON Schema
    #[arg(long, value_name = "SCHEMA.json")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The JSON file whose lock is taken (it need not exist)
    pub file: PathBuf,
    /// Take the lock shared (like `read --lock`): other shared holders may run, writers wait
    #[arg(long)]
    pub shared: bool,
    /// Exit N instead of 3 when the lock is not granted within --timeout (flock's -E)
    #[arg(short = 'E', long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub conflict_exit_code: Option<u8>,
    /// The command to run, after --
    #[arg(last = true, required = true, value_name = "CMD", value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct WatchArgs {
    /// The file to watch (it need not exist yet)
    pub file: PathBuf,
    /// A jq filter applied to each version (to each line of a JSON Lines file)
    pub filter: Option<String>,
    /// Print compact JSON: one line per change
    #[arg(short, long)]
    pub compact: bool,
    /// Print strings without quotes
    #[arg(short, long)]
    pub raw_output: bool,
    /// Do not print the current value at start; only changes
    #[arg(long)]
    pub changes_only: bool,
    /// Wait for the next change, print it and exit 0
    #[arg(long)]
    pub once: bool,
    /// Read FILE as JSON Lines (the default for *.jsonl, *.ndjson): print each appended line
    #[arg(long)]
    pub lines: bool,
}

#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The JSON Lines file (*.jsonl, *.ndjson, or --lines), or with --to a JSON document
    pub file: PathBuf,
    /// The value to append; "-" reads JSON Lines from stdin (one value per line)
    pub json: OsString,
    /// Append to the array at this path of a JSON document (e.g. .events, .a."b c"[0])
    #[arg(long, value_name = "PATH", conflicts_with = "lines")]
    pub to: Option<String>,
    /// FILE is JSON Lines whatever its name
    #[arg(long)]
    pub lines: bool,
    /// Refuse the change (exit 4) unless the value matches this JSON Schema
    #[arg(long, value_name = "SCHEMA.json")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The data file
    pub file: PathBuf,
    /// The JSON Schema (draft 2020-12) to attach; without it the attached one is printed
    #[arg(value_name = "SCHEMA.json", conflicts_with = "detach")]
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
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The JSON file
    pub file: PathBuf,
    /// List the backups: name, time, size, valid JSON or not
    #[arg(long, conflicts_with_all = ["from", "latest"])]
    pub list: bool,
    /// Restore the backup with this name (as printed by --list)
    #[arg(long, value_name = "NAME", conflicts_with = "latest")]
    pub from: Option<String>,
    /// Restore the newest backup that is valid JSON
    #[arg(long)]
    pub latest: bool,
    /// With --list: print JSON
    #[arg(long, requires = "list")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Files, or directories searched recursively for managed files (default: .)
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
    /// A lock held longer than this is a problem (exit 9)
    #[arg(long, value_name = "DUR", default_value = "1h", value_parser = parse_duration)]
    pub stale_after: Duration,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Directories (searched recursively) or files (default: .)
    pub paths: Vec<PathBuf>,
    /// Also remove free lock files older than this, whoever recorded them ("0s": every free one)
    #[arg(long, value_name = "DUR", default_value = "1h", value_parser = parse_duration)]
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
pub struct TestArgs {
    /// Suites to run (default: all, in the order of --list)
    #[arg(value_name = "SUITE", value_parser = clap::builder::PossibleValuesParser::new(crate::selftest::SUITES))]
    pub suites: Vec<String>,
    /// Print the suite names, one per line, and exit
    #[arg(long, conflicts_with_all = ["suites", "dir", "json"])]
    pub list: bool,
    /// Run in this directory (on the filesystem to check) instead of a fresh temp dir
    #[arg(long, value_name = "DIR")]
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
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write completions/ and man/ into
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Defaults used when a variable is set but empty (it counts as unset).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_KEEP: usize = 20;
const DEFAULT_FILTER_TIMEOUT: Duration = Duration::from_secs(10);
/// The least a filter may allocate under `--filter-memory auto`.
const MIN_FILTER_MEMORY: usize = 2 << 30;
/// Under `--filter-memory auto`, a filter may allocate this many times the
/// size of the file it runs on: a filter that rebuilds every value of a
/// document allocates about as much as its parsed values take (5 to 6 times
/// the text for small objects), and some builtins copy once more.
const FILTER_MEMORY_PER_BYTE: usize = 8;

/// `--filter-memory`: how much a filter may allocate beyond the document it
/// was given (reading the document is not the filter's doing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterMemory {
    /// Relative to the file: 8 times its size, at least 2G.
    Auto,
    /// This many bytes.
    Fixed(usize),
}

impl FilterMemory {
    /// The limit for a filter over a file of `file_size` bytes (0: none).
    pub fn limit(self, file_size: u64) -> usize {
        match self {
            FilterMemory::Fixed(n) => n,
            FilterMemory::Auto => usize::try_from(file_size)
                .unwrap_or(usize::MAX)
                .saturating_mul(FILTER_MEMORY_PER_BYTE)
                .max(MIN_FILTER_MEMORY),
        }
    }
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    if s.trim().is_empty() {
        return Ok(DEFAULT_TIMEOUT);
    }
    if matches!(s.trim(), "forever" | "inf" | "infinity") {
        return Ok(Duration::MAX);
    }
    parse_seconds(s)
}

fn parse_filter_timeout(s: &str) -> Result<Duration, String> {
    if s.trim().is_empty() {
        return Ok(DEFAULT_FILTER_TIMEOUT);
    }
    parse_seconds(s)
}

fn parse_keep(s: &str) -> Result<usize, String> {
    if s.trim().is_empty() {
        return Ok(DEFAULT_KEEP);
    }
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of backups"))
}

fn parse_filter_memory(s: &str) -> Result<FilterMemory, String> {
    if s.trim().is_empty() || s.trim().eq_ignore_ascii_case("auto") {
        return Ok(FilterMemory::Auto);
    }
    parse_size(s).map(FilterMemory::Fixed)
}

/// A size: "1048576", "512K", "64M", "2G", "1T" (powers of 1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (like 512M or 2G)"))?;
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use K, M, G or T)")),
    };
    n.checked_mul(1usize << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("'{s}' is out of range"))
}

/// A size for people: "2G", "512M", "1000".
pub fn show_size(n: usize) -> String {
    for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

/// Seconds, possibly fractional: "30", "0.5".
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is not a valid number of seconds"))
}

/// A duration: "90" (seconds), "500ms", "30s", "15m", "1h", "2d".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (like 30s, 15m, 1h, 2d)"))?;
    let mult = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => {
            return Err(format!(
                "'{s}': unknown unit '{unit}' (use ms, s, m, h or d)"
            ));
        }
    };
    Duration::try_from_secs_f64(n * mult).map_err(|_| format!("'{s}' is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_every_exit_code_of_the_table() {
        for (_, code, meaning) in crate::error::EXIT_CODES {
            let line = format!("  {code}  {meaning}");
            assert!(AFTER_HELP.contains(&line), "help lacks: {line}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_seconds("-1").is_err());
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout(""), Ok(DEFAULT_TIMEOUT));
        assert_eq!(parse_timeout("forever"), Ok(Duration::MAX));
        assert_eq!(parse_keep(" "), Ok(DEFAULT_KEEP));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1X").is_err());
        assert_eq!(show_size(2 << 30), "2G");
    }

    #[test]
    fn filter_memory_is_relative_to_the_file_unless_given() {
        assert_eq!(parse_filter_memory("auto"), Ok(FilterMemory::Auto));
        assert_eq!(parse_filter_memory(""), Ok(FilterMemory::Auto));
        assert_eq!(
            parse_filter_memory("512M"),
            Ok(FilterMemory::Fixed(512 << 20))
        );
        assert!(parse_filter_memory("0").is_err());
        assert_eq!(FilterMemory::Auto.limit(0), 2 << 30);
        assert_eq!(FilterMemory::Auto.limit(200 << 20), 2 << 30);
        assert_eq!(FilterMemory::Auto.limit(1 << 30), 8 << 30);
        assert_eq!(FilterMemory::Auto.limit(u64::MAX), usize::MAX);
        assert_eq!(FilterMemory::Fixed(64 << 20).limit(1 << 30), 64 << 20);
    }
}
