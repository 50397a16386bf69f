//! The binary's edge: parse arguments, run the command, turn an error into one
//! line on stderr and its exit code. No panic message or backtrace reaches a user.

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use jsafe::cli::{Cli, Command, GlobalArgs};
use jsafe::commands::{self, Global};

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        eprintln!("jsafe: internal error: {msg} (this is a bug in jsafe)");
        std::process::exit(1);
    }));
    jsafe::sys::ignore_file_size_signal();
    jsafe::sys::report_stack_overflow();

    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            settle_loudness(&mut cli.global, &matches);
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
        Ok(code) => code,
        Err(e) => {
            let (code, msg) = match e.downcast_ref::<jsafe::Error>() {
                Some(err) => (err.exit_code(), err.to_string()),
                None => (1, format!("{e:#}")),
            };
            // One line whatever the message holds: a file name may contain a newline.
            let msg = msg.replace('\r', "\\r").replace('\n', "\\n");
            eprintln!("jsafe: {msg}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let a = &cli.global;
    let g = Global {
        timeout: a.timeout,
        keep: a.keep,
        backup: !a.no_backup,
        sync: !a.no_sync,
        journal: !a.no_journal,
        quiet: a.quiet,
        verbose: a.verbose,
    };
    match &cli.command {
        Command::Read(args) => return Ok(exit(commands::read::run(&g, args)?)),
        Command::Write(args) => commands::write::run(&g, args)?,
        Command::Merge(args) => commands::merge::run(&g, args)?,
        Command::Update(args) => return Ok(exit(commands::update::run(&g, args)?)),
        Command::Restore(args) => commands::restore::run(&g, args)?,
        Command::Status(args) => return Ok(exit(commands::status::run(&g, args)?)),
        Command::CleanupLocks(args) => return Ok(exit(commands::cleanup::run(&g, args)?)),
        Command::Test(args) => return Ok(exit(commands::selftest::run(&g, args)?)),
        Command::Generate(args) => commands::generate::run(args)?,
    }
    Ok(ExitCode::SUCCESS)
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

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
