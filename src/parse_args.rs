//! The command line parsed for the price of what the call needs.
//!
//! [`cli::command`] is the whole tree: the derive's definitions plus the
//! root's and each subcommand's long help texts, which take as long to
//! format as the parse itself and serve only `--help`. A call is parsed
//! with the derive's tree alone; the parse is the same (the texts are only
//! shown), and whenever clap has something to show instead of a result
//! (help, the version, an error with its usage line and tips), the call is
//! parsed again with the whole tree, so what it shows is exactly what it
//! always was. `jsafe --version` alone prints clap's line without building
//! a tree at all.

use std::ffi::OsString;
use std::io::Write as _;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::{self, Cli};

/// What the command line asks for.
pub(crate) enum Parsed {
    /// A command to run.
    Run(Box<Cli>, ArgMatches),
    /// Something clap (or the version shortcut) has printed or must print:
    /// help, the version, or an error.
    Shown(clap::Error),
    /// The version line was printed.
    Version,
}

/// The version line clap prints for `jsafe --version`.
fn version_line() -> String {
    format!("jsafe {}\n", env!("CARGO_PKG_VERSION"))
}

/// Parse the process's arguments.
pub(crate) fn parse() -> Parsed {
    parse_from(std::env::args_os().collect())
}

fn parse_from(args: Vec<OsString>) -> Parsed {
    if args.len() == 2 && (args[1] == "--version" || args[1] == "-V") {
        // A stdout that cannot be written is ignored, as clap ignores it.
        let _ = std::io::stdout().write_all(version_line().as_bytes());
        return Parsed::Version;
    }
    if let Ok(m) = Cli::command().try_get_matches_from(&args)
        && let Ok(c) = Cli::from_arg_matches(&m)
    {
        return Parsed::Run(Box::new(c), m);
    }
    match cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)))
    {
        Ok((c, m)) => Parsed::Run(Box::new(c), m),
        Err(e) => Parsed::Shown(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        std::iter::once("jsafe")
            .chain(a.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_version_line_is_clap_s() {
        assert_eq!(version_line(), cli::command().render_version());
    }

    #[test]
    fn help_and_errors_come_from_the_whole_tree() {
        for (a, kind) in [
            (&["--help"][..], clap::error::ErrorKind::DisplayHelp),
            (
                &["merge", "--help"][..],
                clap::error::ErrorKind::DisplayHelp,
            ),
            (
                &["read", "--version"][..],
                clap::error::ErrorKind::DisplayVersion,
            ),
            (
                &["merj", "f.json"][..],
                clap::error::ErrorKind::InvalidSubcommand,
            ),
            (
                &["read"][..],
                clap::error::ErrorKind::MissingRequiredArgument,
            ),
        ] {
            let Parsed::Shown(e) = parse_from(args(a)) else {
                panic!("{a:?} parsed");
            };
            assert_eq!(e.kind(), kind, "{a:?}");
            let whole = cli::command().try_get_matches_from(args(a)).unwrap_err();
            assert_eq!(e.render().to_string(), whole.render().to_string(), "{a:?}");
        }
        // The long help holds the texts only the whole tree has.
        let Parsed::Shown(e) = parse_from(args(&["--help"])) else {
            panic!("--help parsed");
        };
        assert!(e.render().to_string().contains("Environment"));
    }

    #[test]
    fn a_call_parses_as_with_the_whole_tree() {
        for a in [
            &["read", "s.json", ".runs"][..],
            &["--timeout", "5", "merge", "f.json", "{}", "--keep", "3"][..],
            &["-q", "update", "f.json", ".a = $x", "--arg", "x", "1"][..],
        ] {
            let Parsed::Run(c, _) = parse_from(args(a)) else {
                panic!("{a:?} did not parse");
            };
            let whole = cli::command().try_get_matches_from(args(a)).unwrap();
            let whole = Cli::from_arg_matches(&whole).unwrap();
            assert_eq!(format!("{c:?}"), format!("{whole:?}"), "{a:?}");
        }
    }
}
