//! Completion of `lock FILE -- CMD...` (commands first, then files) and of
//! the PATH of `--slurpfile/--rawfile NAME PATH`.

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The candidates jsafe gives for the last of `words`, with `path` as PATH.
fn candidates(dir: &Path, words: &[&str], path: &Path) -> Vec<String> {
    common::completion_words(dir, words, &[("PATH", path.as_os_str())])
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("bin");
    fs::create_dir(&bin).unwrap();
    for name in ["mytool", "myother"] {
        fs::write(bin.join(name), "#!/bin/sh\n").unwrap();
        fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::write(bin.join("mynotexec"), "").unwrap();
    fs::write(d.path().join("state.json"), "{}").unwrap();
    fs::write(d.path().join("vars.json"), "[]").unwrap();
    (d, bin)
}

#[test]
fn after_lock_file_dashdash_commands_come_first_then_files() {
    let (d, bin) = setup();
    let got = candidates(d.path(), &["jsafe", "lock", "state.json", "--", "my"], &bin);
    assert_eq!(got, ["myother", "mytool"]);
    let got = candidates(
        d.path(),
        &["jsafe", "lock", "state.json", "--", "mytool", "va"],
        &bin,
    );
    assert_eq!(got, ["vars.json"]);
}

#[test]
fn slurpfile_and_rawfile_complete_files_for_their_path() {
    let (d, bin) = setup();
    for opt in ["--slurpfile", "--rawfile"] {
        let got = candidates(
            d.path(),
            &["jsafe", "read", "state.json", opt, "v", "va"],
            &bin,
        );
        assert_eq!(got, ["vars.json"], "{opt}");
        // NAME is a new variable's name: no files offered for it.
        let got = candidates(d.path(), &["jsafe", "read", "state.json", opt, "va"], &bin);
        assert!(got.is_empty(), "{opt}: {got:?}");
    }
    let got = candidates(
        d.path(),
        &["jsafe", "merge", "state.json", "{}", "--rawfile", "t", "va"],
        &bin,
    );
    assert_eq!(got, ["vars.json"]);
}
