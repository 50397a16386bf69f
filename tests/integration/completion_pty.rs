//! bash completion in a real interactive bash: the test is the terminal. It
//! opens a pseudo-terminal, starts `bash -i` on it with the checked-in
//! completion script sourced and the built jsafe first in PATH, types
//! `jsafe read ` and a TAB, then Enter, and looks at what happened: a file
//! name is one word and is inserted quoted, whatever bytes it holds, so a
//! name never runs as a command.

use crate::common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

/// A bash on a pseudo-terminal and everything it has printed so far.
struct Terminal {
    child: Child,
    master: fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    /// `bash -i` in `dir`, PATH starting with `bin_dir`, no startup files.
    fn bash(dir: &Path, bin_dir: &Path) -> Terminal {
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = || {
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(name.to_str().unwrap())
                .unwrap()
        };
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
        );
        // setsid -c: a session of its own with the terminal as its
        // controlling terminal, as a login on a terminal has.
        let child = common::command("setsid")
            .args(["-c", "bash", "--norc", "--noprofile", "-i"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", dir)
            .env("TERM", "dumb")
            .env("INPUTRC", "/dev/null")
            .env("PS1", "$ ")
            .env("JSAFE_NO_SYNC", "1")
            .stdin(Stdio::from(slave()))
            .stdout(Stdio::from(slave()))
            .stderr(Stdio::from(slave()))
            .spawn()
            .unwrap();
        let master = fs::File::from(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let shared = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once the last holder of the terminal has gone.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shared.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            child,
            master,
            screen,
        }
    }

    fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }

    /// What the terminal has shown so far.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Wait until the terminal shows `text` after byte `from` (a safety
    /// stop, not a timing check: a bash that never gets there is a failure
    /// either way); returns where it ends.
    fn wait_for(&self, text: &str, from: usize) -> usize {
        let stop = Instant::now() + Duration::from_secs(120);
        loop {
            let shown = self.shown();
            if let Some(at) = shown.get(from..).and_then(|s| s.find(text)) {
                return from + at + text.len();
            }
            assert!(
                Instant::now() < stop,
                "the terminal never showed {text:?}; it shows:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Run `line` and wait for its own marker, so what follows is typed at a
    /// fresh prompt.
    fn settle(&mut self, n: u32, from: usize) -> usize {
        self.type_keys(&format!("echo settled-$(( {n} * 1000 + 1 ))\n"));
        self.wait_for(&format!("settled-{}", n * 1000 + 1), from)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.master.write_all(b"\nexit\n");
        let stop = Instant::now() + Duration::from_secs(10);
        while Instant::now() < stop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Types `jsafe read <TAB>` + Enter in a directory whose one file is
/// `name` (holding `{"which": 7}`); returns what the terminal showed from the
/// TAB on, after checking that the command read that file.
fn complete_and_run(name: &str) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join(name), "{\"which\": 7}\n").unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_jsafe"), bin.path().join("jsafe")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/jsafe.bash");
    let mut t = Terminal::bash(d.path(), bin.path());
    t.type_keys(&format!("source '{}'\n", script.display()));
    let at = t.settle(1, 0);
    // Readline takes the keys in order: the TAB completes before the
    // Enter runs the line.
    t.type_keys("jsafe read \t\n");
    let done = t.settle(2, at);
    let shown = t.shown()[..done].to_owned();
    drop(t);
    (d, shown)
}

#[test]
fn a_file_name_with_a_command_in_it_is_inserted_quoted_and_never_runs() {
    let name = "$(touch PWNED)\n$(touch PWNED)";
    let (d, shown) = complete_and_run(name);
    assert!(
        !d.path().join("PWNED").exists(),
        "the file name ran as a command:\n{shown}"
    );
    // The line became `jsafe read '$(touch PWNED)…'` (bash quotes a name
    // with a newline in single quotes), and the command read that file.
    assert!(
        shown.contains("jsafe read '$(touch PWNED)"),
        "not completed to the quoted name:\n{shown}"
    );
    assert!(
        shown.contains("\"which\": 7"),
        "the completed command did not read the file:\n{shown}"
    );
}

#[test]
fn names_with_quotes_spaces_and_backslashes_complete_to_one_quoted_word() {
    for name in ["it's a \"b\\c\" `x` $HOME.json", "tab\there;|&<>*?[x].json"] {
        let (d, shown) = complete_and_run(name);
        assert!(
            shown.contains("\"which\": 7"),
            "{name:?}: the completed command did not read the file:\n{shown}"
        );
        assert!(
            !shown.contains("No such file") && !shown.contains("not found"),
            "{name:?}:\n{shown}"
        );
        drop(d);
    }
}

fn records(dir: &Path, words: &[&str]) -> Vec<(char, Vec<u8>)> {
    common::completion_records(dir, words, &[])
}

#[test]
fn every_file_name_is_one_record_of_a_file_even_with_a_leading_dash() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let names: [&[u8]; 4] = [
        b"-rf x.json",
        b"line\nbreak.json",
        b"back\\slash 'q' \"qq\".json",
        b"latin1-\xe9.json",
    ];
    for n in names {
        fs::write(d.path().join(std::ffi::OsStr::from_bytes(n)), "{}").unwrap();
    }
    let got = records(d.path(), &["jsafe", "read", ""]);
    for n in names {
        assert!(
            got.contains(&('f', n.to_vec())),
            "{:?} is not one file record: {got:?}",
            String::from_utf8_lossy(n)
        );
    }
    // Options are still told apart from names that look like them.
    let opts = records(d.path(), &["jsafe", "read", "--co"]);
    assert_eq!(opts, [('o', b"--compact".to_vec())]);
}

#[test]
fn a_word_index_past_the_line_is_a_usage_error_not_a_bug() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh"] {
        let out = common::command(common::bin())
            .current_dir(d.path())
            .env("JSAFE_COMPLETE", shell)
            .env("_CLAP_COMPLETE_INDEX", "99")
            .args(["--", "jsafe", "read"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{shell}");
    }
}
