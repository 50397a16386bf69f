//! The command line, defined once. Help, shell completions and man pages are
//! all generated from these definitions ([`command`]), never hand-copied.
//! As ripgrep's `flags/` is, it is split by concern: the clap definitions
//! ([`args`]), the help text made rather than written ([`help`]: exit codes
//! from `error::EXIT_CODES`, defaults from `store::Options` and the filter
//! limits, environment, examples), and the unit parsers ([`units`]). The
//! limits a filter runs under are policy, not command line:
//! `commands::shared::limits`.
//!
//! The lock and write options are accepted before the subcommand (`jsafe
//! --keep 5 merge F P`, the [`TopArgs`], which also read the environment) and,
//! for the commands they apply to, after it (the [`LockOpts`] and
//! [`WriteOpts`] flattened into those commands, shown there under their own
//! headings). `entry.rs` settles each setting: the subcommand's flag, else the
//! flag before the subcommand, else the environment variable, else the default.

mod args;
mod help;
mod units;

use clap::CommandFactory;

pub(crate) use args::*;
pub(crate) use help::{EXAMPLES, environment};
pub(crate) use units::show_size;

/// The whole command line: the derive's definitions plus each subcommand's
/// examples and the root's exit codes and environment. The one function that
/// builds the whole clap tree.
pub(crate) fn command() -> clap::Command {
    let mut cmd = Cli::command().after_help(help::root_after_help());
    for (name, _) in EXAMPLES {
        if let Some(text) = help::examples_help(name) {
            cmd = cmd.mut_subcommand(name, |sub| sub.after_help(text));
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_visible_subcommand_has_examples() {
        let cmd = command();
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let examples = EXAMPLES.iter().find(|(n, _)| *n == sub.get_name());
            let (_, lines) =
                examples.unwrap_or_else(|| panic!("{} has no examples", sub.get_name()));
            assert!((1..=3).contains(&lines.len()), "{}", sub.get_name());
            for (line, _) in *lines {
                assert!(
                    line.contains(&format!("jsafe {}", sub.get_name())),
                    "{line}"
                );
            }
        }
    }

    /// The ENVIRONMENT table names exactly the variables the arguments read,
    /// each with its option.
    #[test]
    fn environment_table_matches_the_arguments() {
        // Subcommands' arguments are deferred until the tree is built.
        let mut cmd = command();
        cmd.build();
        let mut read: Vec<(String, String)> = Vec::new();
        let mut note = |sub: Option<&str>, arg: &clap::Arg| {
            if let Some(var) = arg.get_env() {
                let long = format!("--{}", arg.get_long().unwrap_or_default());
                let option = sub.map_or(long.clone(), |s| format!("jsafe {s} {long}"));
                let entry = (var.to_string_lossy().into_owned(), option);
                if !read.contains(&entry) {
                    read.push(entry);
                }
            }
        };
        for arg in cmd.get_arguments() {
            note(None, arg);
        }
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
                note(Some(sub.get_name()), arg);
            }
        }
        let environment = help::environment();
        for (var, option, _, _) in &environment {
            let found = read.iter().find(|(v, _)| v == var);
            let (_, o) = found.unwrap_or_else(|| panic!("no argument reads {var}"));
            if !option.starts_with("jsafe ") {
                assert_eq!(o, option, "{var}");
            }
        }
        for (var, _) in &read {
            assert!(
                environment.iter().any(|(v, ..)| v == var),
                "{var} is not in ENVIRONMENT"
            );
        }
    }

    #[test]
    fn help_lists_every_exit_code_of_the_table() {
        let help = command().render_help().to_string();
        for (_, code, meaning) in crate::error::EXIT_CODES {
            let line = format!("  {code}  {meaning}");
            assert!(help.contains(&line), "help lacks: {line}");
        }
    }

    /// A default shown in help is the one in force.
    #[test]
    fn help_shows_the_defaults_in_force() {
        let mut cmd = command();
        cmd.build();
        let help = |sub: Option<&str>, long: &str| -> String {
            let c = sub.map_or(&cmd, |s| cmd.find_subcommand(s).expect("subcommand"));
            let arg = c
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap_or_else(|| panic!("--{long}"));
            arg.get_help().map(ToString::to_string).unwrap_or_default()
        };
        let timeout = crate::time::human(crate::store::Options::DEFAULT_TIMEOUT);
        let keep = crate::store::Options::DEFAULT_KEEP;
        assert!(help(None, "timeout").contains(&format!("[default: {timeout};")));
        assert!(help(None, "keep").contains(&format!("[default: {keep};")));
        assert!(help(Some("merge"), "timeout").contains(&format!("[default: {timeout};")));
        assert!(help(Some("merge"), "keep").contains(&format!("[default: {keep};")));
        let filter = crate::time::human(crate::commands::shared::limits::DEFAULT_FILTER_TIMEOUT);
        assert!(help(Some("update"), "filter-timeout").contains(&format!("[default: {filter};")));
    }
}
