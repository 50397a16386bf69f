//! The binary's edge: parse arguments, run the command, turn an error into one
//! line on stderr and its exit code. No panic message or backtrace reaches a
//! user, and a stderr that cannot be written never turns an exit code into an
//! abort.

use std::process::ExitCode;

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::cli::{self, Cli, Command, GlobalArgs};
use crate::commands::{self, Global, diag};
use crate::{error, sys};

/// The program: `src/main.rs` calls this (or [`main_without_runtime`]) and
/// nothing else.
pub fn main() -> ExitCode {
    ExitCode::from(status())
}

/// The program's work and its exit status.
fn status() -> u8 {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        diag(&format!("internal error: {msg} (this is a bug in jsafe)"));
        std::process::exit(1);
    }));
    if let Err(e) = sys::install() {
        diag(&format!(
            "internal error: cannot set up signal handling: {e}"
        ));
        return 1;
    }

    // A completion script asking for candidates: answer and stop.
    if let Some(code) = commands::completions::answer_if_asked() {
        return exit(code);
    }

    // Parsed with only what the call needs (see `parse_args`).
    let (cli, matches) = match crate::parse_args::parse() {
        crate::parse_args::Parsed::Run(mut cli, matches) => {
            settle_loudness(&mut cli.global, &matches);
            (cli, matches)
        }
        crate::parse_args::Parsed::Version => return 0,
        crate::parse_args::Parsed::Shown(e) if e.use_stderr() => {
            // clap's whole message: what is missing or unknown, the usage
            // line, a "did you mean" tip.
            let _ = e.print();
            return 2;
        }
        crate::parse_args::Parsed::Shown(e) => {
            let _ = e.print();
            return 0;
        }
    };
    match run(&cli, &matches) {
        Ok(code) => exit(code),
        Err(e) => {
            diag(e.message());
            exit(e.exit_code())
        }
    }
}

/// For `src/main.rs`'s C `main` (Linux with glibc), which skips Rust's
/// runtime start-up: the parts of it jsafe needs
/// ([`sys::stand_in_for_runtime`]), then [`main`]. Ends through
/// `std::process::exit`, which flushes stdout as the runtime's end does.
pub fn main_without_runtime() -> ! {
    if let Err(e) = sys::stand_in_for_runtime() {
        diag(&format!(
            "internal error: cannot open /dev/null for a closed standard descriptor: {e}"
        ));
        std::process::exit(1);
    }
    std::process::exit(i32::from(status()))
}

fn run(cli: &Cli, matches: &ArgMatches) -> error::Result<i32> {
    let g = settle(cli, matches);
    match &cli.command {
        Command::Read(args) => return commands::read::run(&g, args),
        Command::Write(args) => commands::write::run(&g, args)?,
        Command::Merge(args) => commands::merge::run(&g, args)?,
        Command::Update(args) => return commands::update::run(&g, args),
        Command::Restore(args) => commands::restore::run(&g, args)?,
        Command::Status(args) => return commands::status::run(&g, args),
        Command::CleanupLocks(args) => return commands::cleanup::run(&g, args),
        Command::Lock(args) => return commands::lock::run(&g, args),
        Command::Watch(args) => return commands::watch::run(&g, args),
        Command::Append(args) => commands::append::run(&g, args)?,
        Command::Schema(args) => return commands::schema::run(&g, args),
        Command::Rotate(args) => commands::rotate::run(&g, args)?,
        Command::Forget(args) => commands::forget::run(&g, args)?,
        Command::Test(args) => return commands::test::run(&g, args),
        Command::Completions(args) => commands::completions::run(args)?,
        Command::Man(args) => commands::generate::man(args)?,
        Command::Generate(args) => commands::generate::run(args)?,
    }
    Ok(0)
}

/// --quiet and --verbose both set: one given on the command line beats the other
/// coming from the environment (a flag beats a variable); otherwise --verbose wins.
fn settle_loudness(a: &mut GlobalArgs, m: &ArgMatches) {
    if !(a.quiet && a.verbose) {
        return;
    }
    let on_command_line = |id| m.value_source(id) == Some(ValueSource::CommandLine);
    if on_command_line("quiet") && !on_command_line("verbose") {
        a.verbose = false;
    } else {
        a.quiet = false;
    }
}

/// The settings every command shares. Each is taken from the first place it
/// is given: the subcommand's own flag, the flag before the subcommand, its
/// environment variable (clap reads it into the flag before the subcommand),
/// the default.
fn settle(cli: &Cli, matches: &ArgMatches) -> Global {
    let top = &cli.top;
    let lock = cli.command.lock_opts();
    let write = cli.command.write_opts();
    let sub_flag = |f: fn(&cli::WriteOpts) -> bool| write.is_some_and(f);
    let mut timeout = lock.and_then(|l| l.timeout).or(top.timeout);
    // `watch --timeout` is an idle limit, obeyed only when given on the
    // command line (before or after `watch`), never from JSAFE_TIMEOUT.
    let mut timeout_given = false;
    if let Command::Watch(w) = &cli.command {
        let top_given = matches.value_source("timeout") == Some(ValueSource::CommandLine);
        timeout = w.timeout.or(top.timeout.filter(|_| top_given));
        timeout_given = timeout.is_some();
    }
    let test_no_sync = matches!(&cli.command, Command::Test(t) if t.no_sync);
    Global {
        timeout: timeout.unwrap_or(crate::store::Options::DEFAULT_TIMEOUT),
        keep: write
            .and_then(|w| w.keep)
            .or(top.keep)
            .unwrap_or(crate::store::Options::DEFAULT_KEEP),
        backup: !(sub_flag(|w| w.no_backup) || top.no_backup),
        sync: !(sub_flag(|w| w.no_sync) || top.no_sync || test_no_sync),
        journal: !(sub_flag(|w| w.no_journal) || top.no_journal),
        split_links: sub_flag(|w| w.split_links) || top.split_links,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        timeout_given,
    }
}

fn exit(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}
