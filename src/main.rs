//! The binary's edge: parse arguments, run the command, turn an error into one
//! line on stderr and its exit code. No panic message or backtrace reaches a
//! user, and a stderr that cannot be written never turns an exit code into an
//! abort.

mod cli;
mod commands;
mod selftest;
mod sys;

// The library's modules under the binary's root, so that `crate::store` reads
// the same in the library and in the commands.
pub(crate) use jsafe::{error, json, process, store, time};

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use cli::{Cli, Command, GlobalArgs};
use commands::{Global, diag};

#[global_allocator]
static ALLOC: sys::Counting = sys::Counting;

fn main() -> ExitCode {
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
        return ExitCode::from(1);
    }

    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            settle_loudness(&mut cli.global, &matches);
            cli.timeout_given = given_on_command_line(&matches, "timeout");
            cli
        }
        Err(e) if e.use_stderr() => {
            // clap's whole message: what is missing or unknown, the usage
            // line, a "did you mean" tip.
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(cli) {
        Ok(code) => exit(code),
        Err(e) => {
            diag(e.message());
            exit(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> error::Result<i32> {
    let a = &cli.global;
    let g = Global {
        timeout: a.timeout,
        keep: a.keep,
        backup: !a.no_backup,
        sync: !a.no_sync,
        journal: !a.no_journal,
        split_links: a.split_links,
        quiet: a.quiet,
        verbose: a.verbose,
        timeout_given: cli.timeout_given,
    };
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
        Command::Test(args) => return commands::test::run(&g, args),
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

/// Whether the global option `id` was given on the command line (before or
/// after the subcommand).
fn given_on_command_line(m: &ArgMatches, id: &str) -> bool {
    let here = |m: &ArgMatches| m.value_source(id) == Some(ValueSource::CommandLine);
    here(m) || m.subcommand().is_some_and(|(_, sub)| here(sub))
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
