//! Shell completion: `jsafe completions SHELL` prints the script a shell
//! sources, and the script asks jsafe itself for the candidates while the
//! user completes (clap_complete's dynamic engine), so completion knows the
//! data: file names for FILE arguments, the backups of the file named on the
//! line for `restore --from`, the suite names for `test`.
//!
//! The protocol between script and binary: the script runs
//! `JSAFE_COMPLETE=<shell> jsafe -- <the words on the line>` (plus the
//! engine's `_CLAP_*` variables, such as the index of the word under the
//! cursor), and jsafe prints the candidates instead of running a command. Both
//! conditions are needed, the variable and `--` as the first argument, so a
//! variable left set in an environment never turns an ordinary command into
//! a completion. The scripts and the binary come from the same build (the
//! engine's protocol is not stable across its versions).
//!
//! The bash and zsh scripts are jsafe's own (clap_complete's registration
//! leaves bash inserting file names unquoted and splits a name on a newline
//! or its separator byte, so bash gets NUL-ended records instead, and its zsh script does not
//! work from a directory in `$fpath`; both offer options before a `-` is
//! typed); fish, elvish and PowerShell use the
//! engine's scripts as they are.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;

use clap_complete::engine::{CompletionCandidate, ValueCompleter};
use clap_complete::env::{Elvish, EnvCompleter, Fish, Powershell};

use crate::cli::{CompletionShell, CompletionsArgs};
use crate::error::{Error, Kind, Result};
use crate::store;

/// The variable that makes a run a completion request.
pub(crate) const VAR: &str = "JSAFE_COMPLETE";

/// The program the scripts complete and call.
const BIN: &str = "jsafe";

/// `jsafe completions SHELL`: the script on stdout.
pub(crate) fn run(args: &CompletionsArgs) -> Result<()> {
    super::print(&script(args.shell)?)
}

/// The script for `shell`, as `jsafe completions` prints it and
/// `jsafe generate` writes it into `completions/`.
pub(crate) fn script(shell: CompletionShell) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let written = match shell {
        CompletionShell::Bash => buf.write_all(BASH.replace("VAR", VAR).as_bytes()),
        CompletionShell::Zsh => buf.write_all(ZSH.replace("VAR", VAR).as_bytes()),
        CompletionShell::Fish => Fish.write_registration(VAR, BIN, BIN, BIN, &mut buf),
        CompletionShell::Elvish => Elvish.write_registration(VAR, BIN, BIN, BIN, &mut buf),
        CompletionShell::Powershell => Powershell.write_registration(VAR, BIN, BIN, BIN, &mut buf),
    };
    written.map_err(|e| {
        Error::new(
            Kind::Internal,
            format!("cannot write the completion script: {e}"),
        )
    })?;
    Ok(buf)
}

/// When this run is a completion request (see the module comment), print the
/// candidates and return the exit code; otherwise None.
pub(crate) fn answer_if_asked() -> Option<i32> {
    let shell = std::env::var_os(VAR)?;
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if shell.is_empty() || args.get(1).is_none_or(|a| a != "--") {
        return None;
    }
    // The words on the line, from the program's name on.
    args.drain(..2);
    let completer: &dyn EnvCompleter = match shell.to_str() {
        Some("bash") => &clap_complete::env::Bash,
        Some("zsh") => &clap_complete::env::Zsh,
        Some("fish") => &Fish,
        Some("elvish") => &Elvish,
        Some("powershell") => &Powershell,
        _ => {
            super::diag(&format!(
                "{VAR}={}: not a shell jsafe completes for (bash, zsh, fish, elvish, powershell)",
                shell.to_string_lossy()
            ));
            return Some(Kind::Usage.exit_code());
        }
    };
    if args.is_empty() {
        return Some(Kind::Usage.exit_code());
    }
    let mut cmd = crate::cli::command();
    cmd.build();
    let cwd = std::env::current_dir().ok();
    let mut buf = Vec::new();
    let written = if shell == "bash" {
        bash_records(&mut cmd, args, cwd.as_deref(), &mut buf)
    } else {
        completer.write_complete(&mut cmd, args, cwd.as_deref(), &mut buf)
    };
    if written.is_err() {
        // No candidates rather than a message in the middle of the line;
        // the engine refuses only what the script asked wrongly (such as a
        // word index past the line), so the usage code, not the bug code.
        return Some(Kind::Usage.exit_code());
    }
    let mut out = io::stdout().lock();
    let _ = out.write_all(&buf).and_then(|()| out.flush());
    Some(0)
}

/// bash's answer: one record per candidate, each a kind byte, the
/// candidate's bytes as they are (not made UTF-8), and a NUL. A file name
/// may hold any byte but NUL, so a record is one word whatever the name
/// holds: newlines, `$(…)`, quotes, spaces, backslashes, a leading `-`.
/// Kinds: `f` a name that exists on disk (the script then turns on
/// `-o filenames`, so bash quotes what it inserts), `o` an option, `w` any
/// other word (subcommands, suites, backup names).
fn bash_records(
    cmd: &mut clap::Command,
    args: Vec<OsString>,
    cwd: Option<&std::path::Path>,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse::<usize>().ok())
        .unwrap_or_default();
    if index >= args.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the word index is past the line",
        ));
    }
    for c in clap_complete::engine::complete(cmd, args, index, cwd)? {
        let value = c.get_value();
        let bytes = value.as_bytes();
        if bytes.contains(&0) {
            continue;
        }
        let on_disk = |p: &std::path::Path| match cwd {
            Some(dir) if p.is_relative() => dir.join(p).symlink_metadata().is_ok(),
            _ => p.symlink_metadata().is_ok(),
        };
        let path = std::path::Path::new(value);
        let trimmed = bytes.strip_suffix(b"/").filter(|t| !t.is_empty());
        let kind = if on_disk(path)
            || trimmed
                .is_some_and(|t| on_disk(std::path::Path::new(std::ffi::OsStr::from_bytes(t))))
        {
            b'f'
        } else if bytes.starts_with(b"-") {
            b'o'
        } else {
            b'w'
        };
        buf.push(kind);
        buf.extend_from_slice(bytes);
        buf.push(0);
    }
    Ok(())
}

/// Candidates for `restore --from`: the backups of the FILE named on the same
/// line, newest first, with their time as help (fish and zsh show it).
pub(crate) fn backup_names(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let Some(file) = restore_file(&line_words()) else {
        return Vec::new();
    };
    let Ok((_, backups)) = store::backups(&file) else {
        return Vec::new();
    };
    let prefix = current.to_string_lossy();
    backups
        .list
        .iter()
        .rev()
        .filter(|b| b.untrusted.is_none() && b.name.starts_with(prefix.as_ref()))
        .map(|b| {
            CompletionCandidate::new(b.name.clone()).help(Some(
                format!("{}, {} bytes", crate::time::rfc3339(b.time), b.size).into(),
            ))
        })
        .collect()
}

/// Candidates for `lock FILE -- CMD...`: the first word after `--` is a
/// command (executables in PATH, or a path when it has a `/`), the others
/// are files.
pub(crate) fn lock_command(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let words = line_words();
    let at = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse::<usize>().ok());
    let first = at.is_some_and(|i| i > 0 && words.get(i - 1).is_some_and(|w| w == "--"));
    let prefix = current.to_string_lossy();
    if !first || prefix.contains('/') {
        return clap_complete::engine::PathCompleter::any().complete(current);
    }
    let mut names: Vec<String> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .flatten()
        .filter(|e| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(e.path())
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix.as_ref()))
        .collect();
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// Candidates for `--slurpfile NAME PATH` and `--rawfile NAME PATH`: none
/// for NAME (a new variable), files for PATH.
#[derive(Clone, Copy)]
pub(crate) struct NameThenFile;

impl clap_complete::engine::ValueCompleter for NameThenFile {
    fn complete(&self, current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
        self.complete_at(1, current)
    }

    fn complete_at(&self, arg_index: usize, current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
        match arg_index {
            0 => Vec::new(),
            _ => clap_complete::engine::PathCompleter::any().complete(current),
        }
    }
}

/// The words on the line being completed: what follows `--` in this
/// process's arguments (see the module comment).
fn line_words() -> Vec<OsString> {
    let args: Vec<OsString> = std::env::args_os().collect();
    match args.iter().position(|a| a == "--") {
        Some(i) => args[i + 1..].to_vec(),
        None => Vec::new(),
    }
}

/// FILE of a `restore` command line: its first operand after `restore`,
/// skipping options and the values of the options that take one. The word
/// under the cursor is the value of `--from`, so it is skipped as such.
fn restore_file(words: &[OsString]) -> Option<PathBuf> {
    let start = words.iter().position(|w| w == "restore")? + 1;
    let mut rest = words[start..].iter();
    while let Some(w) = rest.next() {
        let text = w.to_string_lossy();
        if matches!(text.as_ref(), "--from" | "--timeout" | "--keep") {
            rest.next();
        } else if text == "--" {
            return rest.next().map(PathBuf::from);
        } else if !text.starts_with('-') && !text.is_empty() {
            return Some(PathBuf::from(w));
        }
    }
    None
}

/// bash: the candidates come as NUL-ended records (see [`bash_records`]),
/// so each is one word whatever bytes it holds; names of files are inserted
/// quoted (`-o filenames`), other words as they are. Sourced from a file or
/// from bash-completion's directory alike.
const BASH: &str = r#"# bash completion for jsafe (made by `jsafe completions bash`).
# It asks jsafe for the candidates: file names, backup names for
# `restore --from`, suite names for `test`, subcommands and options.
# Each candidate arrives as one NUL-ended record: a kind letter (f: a name
# on disk, o: an option, w: another word) and the word's bytes.
_jsafe() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local words=("${COMP_WORDS[@]}")
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        words[COMP_CWORD]="$2"
        cur="$2"
    fi
    local c
    local -a files=() operands=() options=()
    while IFS= read -r -d '' c; do
        case "${c:0:1}" in
            f) files+=("${c:1}") ;;
            o) options+=("${c:1}") ;;
            w) [[ -n "${c:1}" ]] && operands+=("${c:1}") ;;
        esac
    done < <( \
        _CLAP_COMPLETE_INDEX="$COMP_CWORD" \
        _CLAP_COMPLETE_COMP_TYPE="${COMP_TYPE:-9}" \
        _CLAP_COMPLETE_SPACE=true \
        VAR=bash \
        jsafe -- "${words[@]}" 2>/dev/null \
    )
    # Options only once a "-" is typed, unless nothing else fits.
    operands=("${files[@]}" "${operands[@]}")
    if [[ -z "$cur" && "${#operands[@]}" -gt 0 ]]; then
        COMPREPLY=("${operands[@]}")
    else
        COMPREPLY=("${operands[@]}" "${options[@]}")
    fi
    if [[ "${#files[@]}" -gt 0 ]]; then
        compopt -o filenames 2>/dev/null
    fi
    if [[ "${#COMPREPLY[@]}" -eq 1 && "${COMPREPLY[0]}" == */ ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nosort -F _jsafe jsafe
else
    complete -F _jsafe jsafe
fi
"#;

/// zsh: works from a directory in `$fpath` (autoloaded as `_jsafe`) and when
/// sourced (it then registers itself with compdef).
const ZSH: &str = r#"#compdef jsafe
# zsh completion for jsafe (made by `jsafe completions zsh`).
# It asks jsafe for the candidates: file names, backup names for
# `restore --from`, suite names for `test`, subcommands and options.
_jsafe() {
    local -a completions dirs other
    local completion value
    completions=("${(@f)$( \
        _CLAP_IFS=$'\n' \
        _CLAP_COMPLETE_INDEX=$(( CURRENT - 1 )) \
        VAR=zsh \
        jsafe -- "${words[@]}" 2>/dev/null \
    )}")
    local cur="${words[CURRENT]}"
    for completion in $completions; do
        [[ -z "$completion" ]] && continue
        # Options only once a "-" is typed.
        [[ -z "$cur" && "$completion" == -* ]] && continue
        value="${completion%%:*}"
        if [[ "$value" == */ ]]; then
            if [[ "$completion" == *:* ]]; then
                dirs+=("${value%/}:${completion#*:}")
            else
                dirs+=("${value%/}")
            fi
        else
            other+=("$completion")
        fi
    done
    (( $#dirs )) && _describe -V 'directories' dirs -S '/' -r '/'
    (( $#other )) && _describe -V 'values' other
    return 0
}
if [[ "${funcstack[1]}" == "_jsafe" ]]; then
    _jsafe "$@"
else
    compdef _jsafe jsafe
fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_of_a_restore_line_is_its_first_operand() {
        let file = |line: &[&str]| restore_file(&words(line));
        let f = Some(PathBuf::from("f.json"));
        assert_eq!(file(&["jsafe", "restore", "f.json", "--from", ""]), f);
        assert_eq!(file(&["jsafe", "restore", "--from", "", "f.json"]), f);
        assert_eq!(
            file(&[
                "jsafe",
                "--keep",
                "3",
                "restore",
                "--timeout",
                "1m",
                "f.json",
                "--from",
                "0"
            ]),
            f
        );
        assert_eq!(file(&["jsafe", "restore", "-q", "--", "f.json"]), f);
        assert_eq!(file(&["jsafe", "restore", "--from", ""]), None);
        assert_eq!(file(&["jsafe", "read", "f.json"]), None);
    }

    #[test]
    fn every_shell_has_a_script_that_calls_jsafe() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
            CompletionShell::Elvish,
            CompletionShell::Powershell,
        ] {
            let text = String::from_utf8(script(shell).unwrap()).unwrap();
            assert!(text.contains(VAR), "{shell:?}: {text}");
            assert!(text.contains("jsafe"), "{shell:?}");
        }
    }
}
