//! `.jsafe/` cannot be turned against its user (issue 7): one test (or one
//! pair) per attack of the issue's "Why", each run by the current user and,
//! in the root-only twin (`#[ignore = "needs root: …"]`, run by `.ci/run`), by
//! user 65534 through `setpriv` with what the attacker planted owned by a
//! third user. Every attack must fail with one line and exit 7 (or the
//! documented code of its command), and a snapshot of everything outside the
//! data directory (names, types, modes, owners, inodes, link counts,
//! contents) must be identical before and after.
//!
//! Time limits here are hang detectors with a generous bound
//! ([`LIMIT`]): a FIFO or an endless device used to block jsafe for ever.

use crate::common;

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// Longer than any of these commands may take on a loaded machine.
const LIMIT: Duration = Duration::from_secs(10);
/// Owner of what the attacker plants, when the test runs as root.
const ATTACKER: u32 = 4242;

/// Who runs jsafe: the test's own user, or (root only) user 65534.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Me,
    Nobody,
}

impl Who {
    fn uid(self) -> u32 {
        match self {
            Who::Me => rustix::process::geteuid().as_raw(),
            Who::Nobody => NOBODY,
        }
    }

    /// The program and the arguments that start jsafe as this user.
    fn prefix(self) -> Vec<OsString> {
        match self {
            Who::Me => vec![bin().into()],
            Who::Nobody => vec![
                "setpriv".into(),
                format!("--reuid={NOBODY}").into(),
                format!("--regid={NOBODY}").into(),
                "--clear-groups".into(),
                bin().into(),
            ],
        }
    }

    fn cmd(self, dir: &Path) -> Command {
        match self {
            Who::Me => jsafe(dir),
            Who::Nobody => jsafe_as(NOBODY, dir),
        }
    }

    fn run<S: AsRef<OsStr>>(self, dir: &Path, args: &[S]) -> Out {
        run_bounded(self.cmd(dir).args(args), b"", LIMIT)
    }

    /// Run under `ulimit -v` of 128 MiB: a command that read a 1 GiB file
    /// into memory would fail.
    fn run_capped<S: AsRef<OsStr>>(self, dir: &Path, args: &[S]) -> Out {
        let mut c = common::command("sh");
        c.args(["-c", "ulimit -v 131072 || exit 99; exec \"$@\"", "sh"])
            .args(self.prefix())
            .args(args)
            .current_dir(dir);
        c.env("JSAFE_NO_SYNC", "true");
        let out = run_bounded(&mut c, b"", LIMIT);
        assert_ne!(out.code, 99, "ulimit -v failed: {}", out.stderr);
        out
    }

    /// Give `path` (and what is under it) to this user.
    fn own(self, path: &Path) {
        if self == Who::Nobody {
            chown_tree(path, NOBODY, NOBODY);
        }
    }
}

/// What the attacker planted: owned by a third user when we can.
fn plant(path: &Path) {
    if is_root() {
        std::os::unix::fs::lchown(path, Some(ATTACKER), Some(ATTACKER)).unwrap();
    }
}

/// A temp directory holding the data directory `d` (the user's) and
/// `elsewhere` (where the attacker points), both belonging to `who`.
struct Arena {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    elsewhere: PathBuf,
    who: Who,
}

impl Arena {
    fn new(who: Who) -> Arena {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let data = root.join("d");
        let elsewhere = root.join("elsewhere");
        for d in [&data, &elsewhere] {
            fs::create_dir(d).unwrap();
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
            who.own(d);
        }
        Arena {
            _tmp: tmp,
            root,
            data,
            elsewhere,
            who,
        }
    }

    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        self.who.run(&self.data, args)
    }

    #[track_caller]
    fn ok<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) {
        let out = self.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }

    /// Everything outside the data directory.
    fn outside(&self) -> Snapshot {
        snapshot_except(&self.root, &[&self.data])
    }

    /// A file in the data directory, written by hand and given to `who`.
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.data.join(name);
        fs::write(&p, content).unwrap();
        self.who.own(&p);
        p
    }
}

/// Exit 7, one line, naming a refusal of `component`.
#[track_caller]
fn refused(out: &Out, component: &str) {
    out.fails(7);
    assert!(
        out.stderr.contains("refused") && out.stderr.contains(component),
        "expected a refusal naming {component}: {:?}",
        out.stderr
    );
}

fn old_mtime(path: &Path) {
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 86400);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
}

// ---------------------------------------------------------------------------
// `ln -s /elsewhere d/.jsafe` (or .jsafe/locks, quarantine, backups, a
// file's backup directory): nothing is created, rotated or deleted there.

/// Fill `elsewhere` with what a `.jsafe` would hold, all old and free, so
/// that any jsafe that followed a link into it would create, rotate or
/// delete something.
fn bait(elsewhere: &Path, who: Who) {
    let backups = elsewhere.join("backups/s.json");
    fs::create_dir_all(&backups).unwrap();
    fs::create_dir_all(elsewhere.join("locks")).unwrap();
    fs::create_dir_all(elsewhere.join("quarantine")).unwrap();
    for n in 1..=3 {
        fs::write(
            backups.join(format!("000000000{n}.2020010{n}T000000.000000000Z.json")),
            format!("{{\"bait\": {n}}}"),
        )
        .unwrap();
    }
    let dead = r#"{"pid":999999999,"host":"h","command":"jsafe merge","acquired":1}"#;
    for lock in [
        "locks/s.json.lock",
        "s.json.lock",
        "Cargo.lock",
        "locks/Cargo.lock",
    ] {
        fs::write(elsewhere.join(lock), dead).unwrap();
        old_mtime(&elsewhere.join(lock));
    }
    fs::write(elsewhere.join("journal.jsonl"), "").unwrap();
    who.own(elsewhere);
}

fn symlinked_state_parts(who: Who) {
    // (component, where it points in `elsewhere`, corrupt data file first)
    let cases = [
        (".jsafe", "", false),
        (".jsafe/locks", "locks", false),
        (".jsafe/backups", "backups", false),
        (".jsafe/backups/s.json", "backups/s.json", false),
        (".jsafe/quarantine", "quarantine", true),
    ];
    for (component, target, corrupt) in cases {
        let a = Arena::new(who);
        bait(&a.elsewhere, who);
        a.ok(&["write", "s.json", r#"{"v": 1}"#]);
        a.ok(&["merge", "s.json", r#"{"v": 2}"#]);
        let part = a.data.join(component);
        if part.exists() {
            fs::remove_dir_all(&part).unwrap();
        }
        symlink(a.elsewhere.join(target), &part).unwrap();
        plant(&part);
        let s = a.data.join("s.json");
        if corrupt {
            fs::write(&s, b"{\"v\": ").unwrap();
            a.who.own(&s);
        }
        let data_before = bytes(&s);
        let outside = a.outside();

        let what = format!("{component} is a symbolic link");
        let mut attempts: Vec<Vec<&str>> = vec![
            vec!["--keep", "1", "write", "s.json", r#"{"v": 3}"#],
            vec!["restore", "--latest", "s.json"],
        ];
        if corrupt {
            attempts.push(vec!["--keep", "1", "merge", "--recover", "s.json", "{}"]);
        } else {
            attempts.push(vec!["--keep", "1", "merge", "s.json", r#"{"v": 3}"#]);
            attempts.push(vec!["--keep", "1", "update", "s.json", ".v += 1"]);
        }
        if component == ".jsafe" || component == ".jsafe/locks" {
            attempts.push(vec!["read", "--lock", "s.json"]);
        }
        for args in &attempts {
            let out = a.run(args);
            // `restore` with a symlinked lock directory reads the backups
            // first and is refused at the lock.
            refused(&out, component);
            assert!(out.stderr.contains(&what), "{args:?}: {}", out.stderr);
        }
        // The sweeper and status refuse the part and touch nothing in it.
        // (The sweeper does not read a file's backup directory.)
        let sweeper_reads_it = component != ".jsafe/backups/s.json";
        for args in [
            vec!["cleanup-locks", "--older-than", "0s", "."],
            vec!["cleanup-locks", "--older-than", "0s", "s.json"],
        ] {
            let out = a.run(&args);
            if sweeper_reads_it {
                assert_eq!(out.code, 7, "{component}: {}", out.stderr);
                out.one_line_error();
                assert!(out.stderr.contains(&what), "{}", out.stderr);
            } else {
                assert_eq!(out.code, 0, "{component}: {}", out.stderr);
            }
        }
        let out = a.run(&["status", "."]);
        // 5 wins over 9 for a corrupt file.
        assert_eq!(
            out.code,
            if corrupt { 5 } else { 9 },
            "{component}: {}",
            out.stderr
        );
        let said = format!("{}{}", out.stdout_str(), out.stderr);
        assert!(said.contains(&what), "{said}");

        assert_same(&outside, &a.outside(), component);
        assert_eq!(bytes(&s), data_before, "{component}");
    }
}

#[test]
fn symlinked_state_directories_are_refused_and_nothing_happens_where_they_point() {
    symlinked_state_parts(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534 against links planted by another user"]
fn symlinked_state_directories_are_refused_for_an_unprivileged_user() {
    require_root();
    symlinked_state_parts(Who::Nobody);
}

#[test]
#[ignore = "needs root: state directories owned by a third user"]
fn state_directories_of_an_untrusted_owner_or_writable_by_all_are_refused() {
    require_root();
    for who in [Who::Me, Who::Nobody] {
        for (component, mode, owner) in [
            (".jsafe", 0o755, ATTACKER),
            (".jsafe/locks", 0o755, ATTACKER),
            (".jsafe/backups/s.json", 0o755, ATTACKER),
            (".jsafe/locks", 0o777, who.uid()),
        ] {
            let a = Arena::new(who);
            a.ok(&["write", "s.json", r#"{"v": 1}"#]);
            a.ok(&["merge", "s.json", r#"{"v": 2}"#]);
            let part = a.data.join(component);
            std::os::unix::fs::chown(&part, Some(owner), Some(owner)).unwrap();
            fs::set_permissions(&part, fs::Permissions::from_mode(mode)).unwrap();
            // The lock is taken (its record rewritten) before a file's
            // backup directory is opened; nothing else may change.
            let locks = a.data.join(".jsafe/locks");
            let seen = || snapshot_except(&a.root, &[&locks]);
            let before = seen();
            let out = a.run(&["merge", "s.json", r#"{"v": 3}"#]);
            refused(&out, component);
            let why = if mode == 0o777 {
                "writable by every user".to_owned()
            } else {
                format!("owned by uid {owner}")
            };
            assert!(out.stderr.contains(&why), "{}", out.stderr);
            assert_same(&before, &seen(), component);
        }
    }
}

// ---------------------------------------------------------------------------
// `.jsafe/journal.jsonl` as a symlink to a root-owned file: nothing appended.

fn planted_journal(who: Who) {
    for (name, how) in [
        ("journal.jsonl", "symlink"),
        ("journal.lock", "symlink"),
        ("journal.jsonl", "hard link"),
        ("journal.jsonl", "fifo"),
        ("journal.jsonl", "other owner"),
    ] {
        if how == "other owner" && !is_root() {
            continue; // the root-only twin covers it
        }
        let a = Arena::new(who);
        let victim = a.elsewhere.join("victim");
        // A journal line of someone else's: status must not show it either.
        fs::write(
            &victim,
            "{\"file_name\": \"s.json\", \"op\": \"VICTIM-OP\"}\n",
        )
        .unwrap();
        if is_root() {
            // The victim's own file: jsafe, run by them, could append to it.
            std::os::unix::fs::chown(&victim, Some(who.uid()), Some(who.uid())).unwrap();
        }
        a.ok(&["write", "s.json", r#"{"v": 1}"#]);
        let p = a.data.join(".jsafe").join(name);
        let _ = fs::remove_file(&p);
        match how {
            "symlink" => symlink(&victim, &p).unwrap(),
            "hard link" => fs::hard_link(&victim, &p).unwrap(),
            "fifo" => rustix::fs::mknodat(
                rustix::fs::CWD,
                &p,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o644),
                0,
            )
            .unwrap(),
            _ => fs::write(&p, "").unwrap(),
        }
        if how != "hard link" {
            plant(&p);
        }
        let before_outside = a.outside();
        let data_before = bytes(&a.data.join("s.json"));
        let component = format!(".jsafe/{name}");
        for args in [
            vec!["merge", "s.json", r#"{"v": 2}"#],
            vec!["update", "s.json", ".v = 2"],
            vec!["write", "s.json", r#"{"v": 2}"#],
        ] {
            let out = a.run(&args);
            refused(&out, &component);
            assert!(out.stderr.contains("--no-journal"), "{}", out.stderr);
        }
        assert_eq!(bytes(&a.data.join("s.json")), data_before, "{name} {how}");
        let out = a.run(&["status", "--json", "."]);
        assert!(
            !out.stdout_str().contains("VICTIM-OP"),
            "{name} as a {how}: status showed the victim's line"
        );
        // Without the journal the change goes through, and still nothing
        // reaches the victim.
        a.ok(&["--no-journal", "merge", "s.json", r#"{"v": 2}"#]);
        assert_same(&before_outside, &a.outside(), &format!("{name} as a {how}"));
    }
}

#[test]
fn a_planted_journal_refuses_the_change_and_is_never_appended_to() {
    planted_journal(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534; a journal of a third user"]
fn a_planted_journal_is_never_appended_to_by_an_unprivileged_user() {
    require_root();
    planted_journal(Who::Nobody);
}

// ---------------------------------------------------------------------------
// `cleanup-locks` through a symlinked `.jsafe` or `.jsafe/locks`, or a
// symlinked directory in the tree: nothing deleted there.

fn cleanup_never_follows(who: Who) {
    for component in [".jsafe", ".jsafe/locks"] {
        let a = Arena::new(who);
        bait(&a.elsewhere, who);
        a.ok(&["write", "s.json", "{}"]);
        let part = a.data.join(component);
        fs::remove_dir_all(&part).unwrap();
        let target = if component == ".jsafe" {
            a.elsewhere.clone()
        } else {
            a.elsewhere.join("locks")
        };
        symlink(&target, &part).unwrap();
        plant(&part);
        let before = a.outside();
        for args in [
            vec!["cleanup-locks", "--older-than", "0s"],
            vec!["cleanup-locks", "--older-than", "0s", "s.json"],
            vec!["cleanup-locks", "--older-than", "0s", "--json", "."],
        ] {
            let out = a.run(&args);
            assert_eq!(out.code, 7, "{component} {args:?}: {}", out.stderr);
            out.one_line_error();
            assert!(
                out.stderr
                    .contains(&format!("{component} is a symbolic link")),
                "{}",
                out.stderr
            );
        }
        assert_same(&before, &a.outside(), component);
    }

    // A symlink to another project's directory inside the walked tree is
    // not followed: its free, old lock files stay.
    let a = Arena::new(who);
    let other = a.elsewhere.join("project");
    fs::create_dir(&other).unwrap();
    who.own(&other);
    let out = who.run(&other, &["write", "p.json", "{}"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    old_mtime(&other.join(".jsafe/locks/p.json.lock"));
    symlink(&other, a.data.join("link")).unwrap();
    plant(&a.data.join("link"));
    let before = a.outside();
    let out = a.run(&["cleanup-locks", "--older-than", "0s", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_same(&before, &a.outside(), "a linked project");
    // Named directly, it is the user's choice and is swept.
    let out = a.run(&["cleanup-locks", "--older-than", "0s", "link/"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!other.join(".jsafe/locks/p.json.lock").exists());
}

#[test]
fn cleanup_locks_never_deletes_through_a_symlink() {
    cleanup_never_follows(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534 against links planted by another user"]
fn cleanup_locks_never_deletes_through_a_symlink_for_an_unprivileged_user() {
    require_root();
    cleanup_never_follows(Who::Nobody);
}

#[test]
#[ignore = "needs root: mounts proc and a tmpfs inside a temp tree, runs strace"]
fn walks_never_enter_proc_and_stay_on_one_filesystem_when_asked() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let proc_ = tree.join("proc");
    let mnt = tree.join("mnt");
    fs::create_dir_all(&proc_).unwrap();
    fs::create_dir_all(&mnt).unwrap();
    struct Unmount(Vec<PathBuf>);
    impl Drop for Unmount {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = common::command("umount").arg("-l").arg(p).status();
            }
        }
    }
    let mounted = |args: &[&str], at: &Path| {
        common::command("mount")
            .args(args)
            .arg(at)
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        mounted(&["-t", "proc", "proc"], &proc_),
        "cannot mount proc"
    );
    let _proc_guard = Unmount(vec![proc_.clone()]);
    assert!(
        mounted(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"], &mnt),
        "cannot mount a tmpfs"
    );
    let _mnt_guard = Unmount(vec![mnt.clone()]);
    run(&tree, &["write", "top.json", "{}"]).ok();
    run(&mnt, &["write", "m.json", "{}"]).ok();
    let lock_in_mnt = mnt.join(".jsafe/locks/m.json.lock");
    old_mtime(&lock_in_mnt);

    for sub in ["cleanup-locks", "status"] {
        let trace = tmp.path().join(format!("{sub}.trace"));
        let mut c = common::command("strace");
        c.args(["-f", "-y", "-qq", "-e", "trace=getdents64", "-o"])
            .arg(&trace)
            .arg(bin())
            .arg(sub);
        if sub == "cleanup-locks" {
            c.args(["-x", "--older-than", "0s"]);
        }
        c.arg(&tree)
            .current_dir(tmp.path())
            .env("JSAFE_NO_SYNC", "1");
        let out = run_bounded(&mut c, b"", Duration::from_secs(60));
        assert!(
            out.code == 0 || out.code == 9,
            "{sub}: {} {}",
            out.code,
            out.stderr
        );
        let listed = fs::read_to_string(&trace).unwrap();
        let tree_s = tree.to_str().unwrap();
        // The walk did list the tree (the trace is not empty by accident)...
        assert!(listed.contains(&format!("<{tree_s}>")), "{listed}");
        // ...and never a directory of the proc mount.
        assert!(
            !listed.contains(&format!("<{}", proc_.display())),
            "{sub} listed a directory of proc: {listed}"
        );
    }
    // -x: the tmpfs below the tree is another filesystem; its lock stays.
    assert!(
        lock_in_mnt.exists(),
        "cleanup-locks -x swept another filesystem"
    );
    let out = run(&tree, &["cleanup-locks", "--older-than", "0s", "."]);
    out.ok();
    assert!(!lock_in_mnt.exists(), "without -x the tmpfs is swept");
}

// ---------------------------------------------------------------------------
// Planted backups (a symlink to a root-only file, a hard link to one, a file
// of another owner): never restored, reported by status.

const SECRET: &str = "TOP-SECRET-4711";

fn planted_backups(who: Who) {
    let a = Arena::new(who);
    let secret = a.elsewhere.join("secret.json");
    fs::write(&secret, format!("{{\"secret\": \"{SECRET}\"}}")).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let s = a.data.join("s.json");
    a.ok(&["write", "s.json", r#"{"v": 1}"#]);
    let backups = a.data.join(".jsafe/backups/s.json");
    fs::create_dir_all(&backups).unwrap();
    who.own(&a.data.join(".jsafe"));
    let mut planted: Vec<(String, &str)> = Vec::new();
    let link = "0000000097.20991231T000000.000000000Z.json".to_owned();
    symlink(&secret, backups.join(&link)).unwrap();
    plant(&backups.join(&link));
    planted.push((link, "symbolic link"));
    let hard = "0000000098.20991231T000000.000000000Z.json".to_owned();
    fs::hard_link(&secret, backups.join(&hard)).unwrap();
    planted.push((hard, "hard links"));
    if is_root() {
        let other = "0000000099.20991231T000000.000000000Z.json".to_owned();
        fs::write(
            backups.join(&other),
            format!("{{\"planted\": \"{SECRET}\"}}"),
        )
        .unwrap();
        plant(&backups.join(&other));
        planted.push((other, "owned by uid"));
    }
    fs::write(&s, b"{\"v\": ").unwrap();
    who.own(&s);
    let corrupt = bytes(&s);
    let outside = a.outside();

    // Only planted backups: nothing to restore from.
    a.run(&["restore", "--latest", "s.json"]).fails(6);
    a.run(&["merge", "--recover", "s.json", "{}"]).fails(5);
    a.run(&["update", "--recover", "s.json", ".x = 1"]).fails(5);
    a.run(&["read", "--recover", "s.json"]).fails(5);
    for (name, why) in &planted {
        let out = a.run(&["restore", "--from", name, "s.json"]);
        out.fails(7).stderr_has("not restored").stderr_has(why);
    }
    assert_eq!(bytes(&s), corrupt);
    // The list marks them; status names each one and counts none.
    let out = a.run(&["restore", "--list", "--json", "s.json"]);
    out.ok();
    let list = out.json();
    assert_eq!(list.as_array().unwrap().len(), planted.len());
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|b| b["trusted"] == false)
    );
    let out = a.run(&["status", "--json", "s.json"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    let doc = out.json();
    let f = &doc["files"][0];
    assert_eq!(f["backups"]["count"], 0);
    let problems = f["problems"].to_string();
    for (name, _) in &planted {
        assert!(problems.contains(name.as_str()), "{name}: {problems}");
    }

    // With a real backup older than the planted ones, that one comes back.
    a.ok(&["write", "s.json", r#"{"v": 2}"#]);
    a.ok(&["merge", "s.json", r#"{"v": 3}"#]);
    fs::write(&s, b"{\"v\": ").unwrap();
    who.own(&s);
    a.ok(&["restore", "--latest", "s.json"]);
    assert_eq!(parse_file(&s), serde_json::json!({"v": 2}));
    fs::write(&s, b"{\"v\": ").unwrap();
    who.own(&s);
    a.ok(&["merge", "--recover", "s.json", r#"{"w": 1}"#]);
    assert_eq!(parse_file(&s), serde_json::json!({"v": 2, "w": 1}));

    assert_same(&outside, &a.outside(), "planted backups");
    for p in walk_files(&a.data) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if planted.iter().any(|(n, _)| *n == name) {
            continue; // the planted entries themselves
        }
        assert!(
            !contains(&bytes(&p), SECRET.as_bytes()),
            "{} holds the secret",
            p.display()
        );
    }
}

#[test]
fn planted_backups_are_never_restored_and_status_reports_them() {
    planted_backups(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534; backups of a third user"]
fn planted_backups_are_never_restored_for_an_unprivileged_user() {
    require_root();
    planted_backups(Who::Nobody);
}

// ---------------------------------------------------------------------------
// A symlink of another user in a sticky world-writable directory.

#[test]
#[ignore = "needs root: a symlink owned by another user in a sticky directory"]
fn links_in_sticky_shared_directories_follow_the_protected_symlinks_rule() {
    require_root();
    for who in [Who::Me, Who::Nobody] {
        let a = Arena::new(who);
        let sticky = a.root.join("shared");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        let victim = a.elsewhere.join("victim.json");
        fs::write(&victim, b"{\"victim\": true}").unwrap();
        who.own(&victim);
        let link = sticky.join("state.json");
        symlink(&victim, &link).unwrap();
        plant(&link);
        let before = snapshot(&a.root);
        for args in [
            vec!["write", "state.json", r#"{"pwned": 1}"#],
            vec!["merge", "state.json", r#"{"pwned": 1}"#],
            vec!["update", "state.json", ".pwned = 1"],
            vec!["restore", "--latest", "state.json"],
            vec!["read", "state.json"],
            vec!["read", "--lock", "state.json"],
        ] {
            let out = who.run(&sticky, &args);
            out.fails(7)
                .stderr_has("refused")
                .stderr_has(&format!("owned by uid {ATTACKER}"))
                .stderr_has("protected_symlinks");
        }
        assert_same(&before, &snapshot(&a.root), "sticky directory");

        // The follower's own link is followed.
        std::os::unix::fs::lchown(&link, Some(who.uid()), Some(who.uid())).unwrap();
        let out = who.run(&sticky, &["merge", "state.json", r#"{"mine": 1}"#]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            parse_file(&victim),
            serde_json::json!({"victim": true, "mine": 1})
        );
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        // So is a link of the directory's owner.
        std::os::unix::fs::lchown(&link, Some(ATTACKER), Some(ATTACKER)).unwrap();
        std::os::unix::fs::chown(&sticky, Some(ATTACKER), Some(ATTACKER)).unwrap();
        let out = who.run(&sticky, &["merge", "state.json", r#"{"owner": 1}"#]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(parse_file(&victim)["owner"], 1);
    }
}

#[test]
#[ignore = "needs root: a file another user made in advance in a sticky directory"]
fn files_of_other_users_in_sticky_shared_directories_are_not_replaced() {
    require_root();
    for who in [Who::Me, Who::Nobody] {
        let a = Arena::new(who);
        let sticky = a.root.join("shared");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        // Made in advance, readable by its maker: what root would write
        // into it would be the attacker's to read.
        let trap = sticky.join("state.json");
        fs::write(&trap, b"{}").unwrap();
        plant(&trap);
        let before = snapshot(&a.root);
        for args in [
            vec!["write", "state.json", r#"{"token": "t"}"#],
            vec!["merge", "state.json", r#"{"token": "t"}"#],
            vec!["update", "state.json", ".token = \"t\""],
            vec!["restore", "--latest", "state.json"],
            vec!["read", "--lock", "state.json"],
        ] {
            let out = who.run(&sticky, &args);
            if args[0] == "read" {
                // Reading is not replacing.
                assert_eq!(out.code, 0, "{}", out.stderr);
                continue;
            }
            if args[0] == "restore" {
                out.fails(6); // no backups: nothing to restore, nothing made
                continue;
            }
            out.fails(7)
                .stderr_has("refused")
                .stderr_has(&format!("owned by uid {ATTACKER}"))
                .stderr_has("protected_regular");
        }
        let after = snapshot(&a.root);
        let made: Vec<&PathBuf> = after
            .keys()
            .filter(|p| !before.contains_key(*p) && !p.starts_with("shared/.jsafe"))
            .collect();
        assert!(made.is_empty(), "{made:?}");
        assert_eq!(
            before[Path::new("shared/state.json")],
            after[Path::new("shared/state.json")]
        );

        // The follower's own file, and the directory owner's, are changed.
        for (file, owner) in [("mine.json", who.uid()), ("owners.json", ATTACKER)] {
            let p = sticky.join(file);
            fs::write(&p, b"{}").unwrap();
            std::os::unix::fs::chown(&p, Some(owner), Some(owner)).unwrap();
            if owner == ATTACKER {
                std::os::unix::fs::chown(&sticky, Some(ATTACKER), Some(ATTACKER)).unwrap();
            }
            let out = who.run(&sticky, &["merge", file, r#"{"a": 1}"#]);
            if who == Who::Nobody && owner == ATTACKER {
                // The sticky bit stops anyone but root there anyway.
                out.fails(7);
                continue;
            }
            assert_eq!(out.code, 0, "{file}: {}", out.stderr);
            assert_eq!(parse_file(&p), serde_json::json!({"a": 1}));
        }
    }
}

#[test]
fn own_links_in_a_sticky_shared_directory_are_followed() {
    let a = Arena::new(Who::Me);
    let sticky = a.root.join("shared");
    fs::create_dir(&sticky).unwrap();
    fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = a.elsewhere.join("mine.json");
    fs::write(&victim, b"{}").unwrap();
    symlink(&victim, sticky.join("state.json")).unwrap();
    run(&sticky, &["merge", "state.json", r#"{"a": 1}"#]).ok();
    assert_eq!(parse_file(&victim), serde_json::json!({"a": 1}));
    assert!(a.elsewhere.join(".jsafe/backups/mine.json").is_dir());
}

/// A child ended (killed if still running) when the test ends, also when it
/// fails half-way.
struct Reaped(Option<std::process::Child>);

impl Reaped {
    fn take(&mut self) -> std::process::Child {
        self.0.take().expect("child already taken")
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// A file made by another user in a sticky shared directory while root waits
// for the lock: the checks made before the lock are made again on the file
// opened under it.
#[test]
#[ignore = "needs root: user 65534 holds the lock and plants the file while root waits"]
fn a_file_planted_while_root_waits_for_the_lock_is_never_written() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    require_root();
    for (name, change) in [
        ("s.json", vec!["merge", "s.json", r#"{"secret": "s3cr3t"}"#]),
        (
            "s.jsonl",
            vec!["append", "s.jsonl", r#"{"secret": "s3cr3t"}"#],
        ),
        ("u.json", vec!["update", "u.json", r#".secret = "s3cr3t""#]),
        // `schema` is not in this list: it refuses a FILE that does not exist
        // before it takes the lock (tests/next_steps.rs), so no file can be
        // planted while it waits; the re-check under the lock it shares with
        // every change is exercised by the cases above.
    ] {
        let a = Arena::new(Who::Me);
        let sticky = a.root.join("shared");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        fs::write(a.root.join("schema.json"), br#"{"type": "object"}"#).unwrap();
        // Root managed the file once; it is gone, its lock file stays
        // (readable by every user, as the data was).
        let first = if name.ends_with(".jsonl") {
            vec!["append", name, "{}"]
        } else {
            vec!["write", name, "{}"]
        };
        run(&sticky, &first).ok();
        fs::remove_file(sticky.join(name)).unwrap();
        let lock = sticky.join(format!(".jsafe/locks/{name}.lock"));
        assert!(lock.is_file());

        let planted = sticky.join(name);
        let script = r#"exec 9<"$1" || exit 90
            flock -x 9 || exit 91
            echo held
            read go
            printf '{"planted": true}\n' > "$2" || exit 92
            chmod 666 "$2"
            echo planted"#;
        let mut attacker = Reaped(Some(
            common::command("setpriv")
                .args([
                    format!("--reuid={NOBODY}"),
                    format!("--regid={NOBODY}"),
                    "--clear-groups".into(),
                ])
                .args(["sh", "-c", script, "sh"])
                .arg(&lock)
                .arg(&planted)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let mut said = BufReader::new(attacker.0.as_mut().unwrap().stdout.take().unwrap());
        let mut line = String::new();
        said.read_line(&mut line).unwrap();
        assert_eq!(line, "held\n", "the attacker could not take the lock");

        let mut root = Reaped(Some(spawn(
            jsafe(&sticky)
                .args(["--verbose", "--timeout", "60"])
                .args(&change),
        )));
        let mut err = BufReader::new(root.0.as_mut().unwrap().stderr.take().unwrap());
        let seen = wait_for_line(&mut err, "waiting for the lock");

        // Root waits: the file appears, then the lock is let go.
        let mut go = attacker.0.as_mut().unwrap().stdin.take().unwrap();
        go.write_all(b"go\n").unwrap();
        drop(go);
        line.clear();
        said.read_line(&mut line).unwrap();
        assert_eq!(line, "planted\n");
        assert!(attacker.take().wait().unwrap().success());

        let out = finish(root.take(), err, seen);
        // --verbose said that it waited; then one line: the refusal.
        assert_eq!(out.code, 7, "{change:?}: {}", out.stderr);
        no_panic(&out.stderr);
        let last = out.stderr.lines().last().unwrap_or_default();
        assert!(
            last.contains("refused")
                && last.contains(&format!("owned by uid {NOBODY}"))
                && last.contains("protected_regular")
                && last.contains("nothing was changed"),
            "{}",
            out.stderr
        );
        assert_eq!(bytes(&planted), b"{\"planted\": true}\n", "{change:?}");
        let st = fs::symlink_metadata(&planted).unwrap();
        assert_eq!((st.uid(), st.mode() & 0o7777), (NOBODY, 0o666));
        assert!(!sticky.join(format!(".jsafe/schemas/{name}.json")).exists());
        // Nothing of the secret anywhere under the shared directory.
        for f in walk_files(&sticky) {
            assert!(!contains(&bytes(&f), b"s3cr3t"), "{}", f.display());
        }
    }
}

// A directory another user may search but not read (0711): `cat x/f.json`
// works, and so must `read` and `watch`; what lists a directory says that it
// needs read permission; the checks on `.jsafe` hold on such handles too.
#[test]
#[ignore = "needs root: runs jsafe as user 65534 in a directory of root's it may only search"]
fn execute_only_directories_are_read_and_watched_with_their_checks_kept() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    require_root();
    let a = Arena::new(Who::Me);
    let x = a.root.join("x");
    fs::create_dir(&x).unwrap();
    run(&x, &["write", "f.json", r#"{"b": 0}"#]).ok();
    run(&x, &["append", "l.jsonl", r#"{"e": 0}"#]).ok();
    for f in ["f.json", "l.jsonl"] {
        fs::set_permissions(x.join(f), fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(&x, fs::Permissions::from_mode(0o711)).unwrap();
    let nobody = |args: &[&str]| run_bounded(jsafe_as(NOBODY, &a.root).args(args), b"", LIMIT);

    let out = nobody(&["read", "x/f.json", ".b"]);
    assert_eq!(
        (out.code, out.stdout_str()),
        (0, "0\n".to_owned()),
        "{}",
        out.stderr
    );
    let out = nobody(&["read", "--lock", "x/f.json", ".b"]);
    assert_eq!(
        (out.code, out.stdout_str()),
        (0, "0\n".to_owned()),
        "{}",
        out.stderr
    );
    let out = nobody(&["read", "x/l.jsonl", "-c"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout_str(), "{\"e\":0}\n");

    // watch: the current value, then each change root makes.
    for (file, filter, change, expect) in [
        (
            "f.json",
            ".b",
            vec!["merge", "f.json", r#"{"b": 1}"#],
            ["0", "1"],
        ),
        (
            "l.jsonl",
            ".e",
            vec!["append", "l.jsonl", r#"{"e": 1}"#],
            ["0", "1"],
        ),
    ] {
        let mut w = Reaped(Some(
            jsafe_as(NOBODY, &a.root)
                .args(["watch", &format!("x/{file}"), filter])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let mut lines = BufReader::new(w.0.as_mut().unwrap().stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), expect[0], "{file}: first output");
        run(&x, &change).ok();
        line.clear();
        lines.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), expect[1], "{file}: after {change:?}");
    }

    // Listing needs read permission, and the message says so.
    let out = nobody(&["status", "x"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("listing it needs read permission"),
        "{}",
        out.stderr
    );
    // A change there is refused before anything is written.
    let before = bytes(&x.join("f.json"));
    let out = nobody(&["merge", "x/f.json", r#"{"b": 9}"#]);
    out.fails(7).stderr_has("nothing was changed");
    assert_eq!(bytes(&x.join("f.json")), before);

    // The checks of `.jsafe` hold on search-only handles: a symlinked
    // `.jsafe`, and one of a stranger that user 65534 may only search.
    let y = a.root.join("y");
    fs::create_dir(&y).unwrap();
    fs::write(y.join("f.json"), b"{}").unwrap();
    fs::set_permissions(y.join("f.json"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&y, fs::Permissions::from_mode(0o711)).unwrap();
    symlink(&a.elsewhere, y.join(".jsafe")).unwrap();
    let out = nobody(&["read", "--lock", "y/f.json"]);
    out.fails(7)
        .stderr_has("refused")
        .stderr_has("symbolic link");
    fs::remove_file(y.join(".jsafe")).unwrap();
    let stranger = y.join(".jsafe");
    fs::create_dir_all(stranger.join("locks")).unwrap();
    chown_tree(&stranger, ATTACKER, ATTACKER);
    fs::set_permissions(&stranger, fs::Permissions::from_mode(0o711)).unwrap();
    let out = nobody(&["read", "--lock", "y/f.json"]);
    out.fails(7)
        .stderr_has("refused")
        .stderr_has(&format!("owned by uid {ATTACKER}"));
    assert!(names_in(&a.elsewhere).is_empty());
}

// ---------------------------------------------------------------------------
// Privacy: nothing more readable than the data.

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every regular file under `dir`, not following symlinks.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            out.extend(walk_files(&p));
        } else if m.is_file() {
            out.push(p);
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn nothing_leaks(who: Who) {
    let a = Arena::new(who);
    let token = "TOKEN-8c1f0e2a9b";
    let arg = "ARG-5d3e7f1a2c";
    let pin = "PIN-90210-77";
    let creds = a.file("creds.json", b"{\"user\": \"x\"}\n");
    fs::set_permissions(&creds, fs::Permissions::from_mode(0o600)).unwrap();
    let mut versions = vec![bytes(&creds)];
    let step = |args: &[&str]| {
        a.ok(args);
        bytes(&creds)
    };
    versions.push(step(&[
        "merge",
        "creds.json",
        &format!("{{\"api_token\": \"{token}\"}}"),
    ]));
    versions.push(step(&[
        "update",
        "creds.json",
        ".k = $v",
        "--arg",
        "v",
        arg,
    ]));
    versions.push(step(&[
        "update",
        "creds.json",
        ".j = $j",
        "--argjson",
        "j",
        &format!("{{\"a\": \"{arg}-json\"}}"),
    ]));
    versions.push(step(&[
        "write",
        "creds.json",
        &format!("{{\"api_token\": \"{token}\", \"w\": 1}}"),
    ]));
    // A corrupt version goes to quarantine; restore brings one back.
    fs::write(&creds, format!("{{\"api_token\": \"{token}\", ")).unwrap();
    versions.push(bytes(&creds));
    versions.push(step(&[
        "write",
        "creds.json",
        &format!("{{\"api_token\": \"{token}\"}}"),
    ]));
    versions.push(step(&["restore", "--latest", "creds.json"]));
    // A new file made under umask 077 is private too.
    let mut c = common::command("sh");
    c.args(["-c", "umask 077 && exec \"$@\"", "sh"])
        .args(who.prefix())
        .args(["merge", "new.json", &format!("{{\"pin\": \"{pin}\"}}")])
        .current_dir(&a.data)
        .env("JSAFE_NO_SYNC", "1");
    let out = run_bounded(&mut c, b"", LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let new = a.data.join("new.json");
    assert_eq!(fs::metadata(&new).unwrap().mode() & 0o777, 0o600);
    versions.push(bytes(&new));

    let mut secrets: Vec<Vec<u8>> = vec![token.into(), arg.into(), pin.into()];
    for v in &versions {
        secrets.push(v.clone());
        secrets.push(sha256_hex(v).into_bytes());
    }
    let owner = who.uid();
    let mut checked = 0;
    for p in walk_files(&a.data) {
        if p == creds || p == new {
            continue;
        }
        let m = fs::metadata(&p).unwrap();
        let rel = p
            .strip_prefix(&a.data)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let of_private = rel.contains("creds.json") || rel.contains("new.json");
        if of_private {
            // Lock files, backups, quarantine: no wider than the 0600 data.
            assert_eq!(m.mode() & 0o077, 0, "{rel}: {:o}", m.mode());
            assert_eq!(m.uid(), owner, "{rel}");
        }
        let readable_by_others = m.mode() & 0o044 != 0 || m.uid() != owner;
        if !readable_by_others {
            continue;
        }
        checked += 1;
        let content = bytes(&p);
        for s in &secrets {
            assert!(
                !contains(&content, s),
                "{rel} (mode {:o}) holds {:?}",
                m.mode(),
                String::from_utf8_lossy(s)
            );
        }
    }
    assert!(checked > 0, "the journal at least is readable by others");
}

#[test]
fn nothing_readable_by_others_holds_data_arguments_or_hashes_of_a_private_file() {
    nothing_leaks(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534"]
fn nothing_readable_by_others_leaks_for_an_unprivileged_user() {
    require_root();
    nothing_leaks(Who::Nobody);
}

// ---------------------------------------------------------------------------
// The journal's user: the real uid through the user database, never $USER.

/// The name of `uid` per `getent passwd` (empty when it has none).
fn user_db_name(uid: u32) -> String {
    let out = common::command("getent")
        .args(["passwd", &uid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn journal_user(who: Who) {
    let a = Arena::new(who);
    let mut c = who.cmd(&a.data);
    c.args(["merge", "s.json", "{}"])
        .env("USER", "alice")
        .env("LOGNAME", "alice");
    run_bounded(&mut c, b"", LIMIT).ok();
    let lines = journal_lines(&a.data);
    let last = lines.last().unwrap();
    assert_eq!(last["uid"], who.uid());
    assert_eq!(last["user"], user_db_name(who.uid()));
    assert_ne!(last["user"], "alice");
}

#[test]
fn the_journal_names_the_real_user_not_the_environment() {
    journal_user(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534 and as a uid without a name"]
fn the_journal_names_the_real_user_for_other_users() {
    require_root();
    journal_user(Who::Nobody);
    assert_eq!(user_db_name(NOBODY), "nobody");
    // A uid the user database does not know: no name, never $USER.
    let a = Arena::new(Who::Me);
    let uid = 54321;
    assert_eq!(user_db_name(uid), "");
    chown_tree(&a.data, uid, uid);
    let mut c = jsafe_as(uid, &a.data);
    c.args(["merge", "s.json", "{}"]).env("USER", "alice");
    run_bounded(&mut c, b"", LIMIT).ok();
    let last = journal_lines(&a.data).pop().unwrap();
    assert_eq!(last["uid"], uid);
    assert_eq!(last["user"], "");
}

// ---------------------------------------------------------------------------
// Odd targets: FIFO, socket, directory, devices, an endless device; a FIFO
// or a 1 GiB sparse file as lock file.

/// Every command on `name`: none blocks, none changes or creates anything.
/// (`status` of a directory walks it, and finds nothing.)
fn odd_target(a: &Arena, name: &str, what: &str) {
    let before = snapshot(&a.root);
    let dev_jsafe = Path::new("/dev/.jsafe").exists();
    for args in [
        vec!["read", name],
        vec!["read", name, ".a"],
        vec!["read", "--lock", name],
        vec!["read", "--recover", name],
        vec!["write", name, "{}"],
        vec!["merge", name, "{}"],
        vec!["update", name, ".a = 1"],
        vec!["restore", "--latest", name],
        vec!["--timeout", "1", "merge", "--recover", name, "{}"],
    ] {
        let out = a.run(&args);
        out.fails(7).stderr_has(what);
    }
    let out = a.run(&["status", name]);
    if what == "is a directory" {
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
    } else {
        assert_eq!(out.code, 9, "{name}: {}", out.stderr);
        assert!(
            out.stdout_str().contains("unreadable"),
            "{}",
            out.stdout_str()
        );
    }
    let out = a.run(&["cleanup-locks", "--older-than", "0s", name]);
    assert_eq!(out.code, 0, "{name}: {}", out.stderr);
    assert_same(&before, &snapshot(&a.root), name);
    assert_eq!(Path::new("/dev/.jsafe").exists(), dev_jsafe, "/dev/.jsafe");
}

fn odd_targets(who: Who) {
    let a = Arena::new(who);
    let fifo = a.data.join("fifo.json");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o666),
        0,
    )
    .unwrap();
    who.own(&fifo);
    odd_target(&a, "fifo.json", "is a FIFO");

    let _listener = std::os::unix::net::UnixListener::bind(a.data.join("sock.json")).unwrap();
    who.own(&a.data.join("sock.json"));
    odd_target(&a, "sock.json", "is a socket");

    fs::create_dir(a.data.join("dir.json")).unwrap();
    who.own(&a.data.join("dir.json"));
    odd_target(&a, "dir.json", "is a directory");

    // Devices through links: jsafe follows them to /dev and must stop there
    // before it creates /dev/.jsafe. /dev/zero is endless.
    for dev in ["null", "zero"] {
        let link = a.data.join(format!("{dev}.json"));
        symlink(format!("/dev/{dev}"), &link).unwrap();
        who.own(&link);
        odd_target(&a, &format!("{dev}.json"), "is a character device");
    }
}

#[test]
fn fifos_sockets_directories_and_devices_are_refused_at_once_and_left_alone() {
    odd_targets(Who::Me);
}

#[test]
#[ignore = "needs root: mknod, and jsafe run as user 65534"]
fn device_nodes_are_refused_for_root_and_odd_targets_for_an_unprivileged_user() {
    require_root();
    odd_targets(Who::Nobody);
    let a = Arena::new(Who::Me);
    for (name, minor) in [("null.json", 3), ("zero.json", 5)] {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            a.data.join(name),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, minor),
        )
        .unwrap();
        odd_target(&a, name, "is a character device");
    }
}

fn odd_lock_files(who: Who) {
    // A FIFO as lock file.
    let a = Arena::new(who);
    a.ok(&["write", "a.json", r#"{"a": 1}"#]);
    let lock = a.data.join(".jsafe/locks/a.json.lock");
    fs::remove_file(&lock).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &lock,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    plant(&lock);
    let before = snapshot(&a.root);
    a.run(&["merge", "a.json", "{}"])
        .fails(7)
        .stderr_has("FIFO");
    a.run(&["read", "--lock", "a.json"])
        .fails(7)
        .stderr_has("FIFO");
    let out = a.run(&["status", "."]);
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(out.stdout_str().contains("FIFO"), "{}", out.stdout_str());
    let out = a.run(&["cleanup-locks", "--older-than", "0s", "."]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    out.one_line_error();
    assert_same(&before, &snapshot(&a.root), "a FIFO as lock file");

    // A 1 GiB sparse lock file, held by someone else: the record is read
    // with a small cap, never whole (the commands run with 128 MiB of
    // address space).
    let a = Arena::new(who);
    a.ok(&["write", "a.json", r#"{"a": 1}"#]);
    let lock = a.data.join(".jsafe/locks/a.json.lock");
    File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let held = File::open(&lock).unwrap();
    held.lock().unwrap();
    let out = a
        .who
        .run_capped(&a.data, &["--timeout", "1", "merge", "a.json", "{}"]);
    out.fails(3);
    let out = a.who.run_capped(&a.data, &["status", "--json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["files"][0]["lock"]["state"], "held");
    let out = a
        .who
        .run_capped(&a.data, &["cleanup-locks", "--older-than", "0s", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fs::metadata(&lock).unwrap().len(), 1 << 30);
    drop(held);
    wait_until_free(&lock);
    // Free: the next writer takes it and cuts it to one record.
    let out = a
        .who
        .run_capped(&a.data, &["merge", "a.json", r#"{"b": 2}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(fs::metadata(&lock).unwrap().len() < 4096);
}

#[test]
fn a_fifo_or_a_huge_sparse_lock_file_never_blocks_or_fills_memory() {
    odd_lock_files(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534 with lock files of another user"]
fn odd_lock_files_never_block_an_unprivileged_user() {
    require_root();
    odd_lock_files(Who::Nobody);
}

// ---------------------------------------------------------------------------
// Hard links.

fn hard_links(who: Who) {
    let a = Arena::new(who);
    let x = a.file("a.json", b"{\"n\": 0}\n");
    let y = a.data.join("b.json");
    fs::hard_link(&x, &y).unwrap();
    let before = snapshot(&a.root);
    for name in ["a.json", "b.json"] {
        for args in [
            vec!["update", name, ".n += 1"],
            vec!["merge", name, r#"{"n": 5}"#],
            vec!["write", name, r#"{"n": 5}"#],
        ] {
            a.run(&args)
                .fails(7)
                .stderr_has("2 hard links")
                .stderr_has("--split-links");
        }
    }
    // Refused before any state was made for them.
    let after = snapshot(&a.root);
    let state: Vec<&PathBuf> = after
        .keys()
        .filter(|p| !before.contains_key(*p))
        .filter(|p| !p.starts_with("d/.jsafe/locks") && **p != Path::new("d/.jsafe"))
        .collect();
    assert!(state.is_empty(), "created more than lock files: {state:?}");
    assert_eq!(bytes(&x), b"{\"n\": 0}\n");
    assert_eq!(
        fs::metadata(&x).unwrap().ino(),
        fs::metadata(&y).unwrap().ino()
    );

    // Accepted: a.json gets a new inode, b.json keeps the old content.
    a.ok(&["--split-links", "update", "a.json", ".n += 1"]);
    assert_eq!(parse_file(&x), serde_json::json!({"n": 1}));
    assert_eq!(parse_file(&y), serde_json::json!({"n": 0}));
    assert_ne!(
        fs::metadata(&x).unwrap().ino(),
        fs::metadata(&y).unwrap().ino()
    );

    // jsafe's own backup of the current version (a write that crashed
    // between the backup and the rename) is not a second name.
    let s = a.file("s.json", b"{\"n\": 0}\n");
    let mut c = who.cmd(&a.data);
    c.args(["merge", "s.json", r#"{"n": 1}"#])
        .env("JSAFE_FAILPOINT", "temp-create:1:crash");
    let out = run_bounded(&mut c, b"", LIMIT);
    assert_ne!(out.code, 0, "the fail point did not stop the write");
    assert_eq!(fs::metadata(&s).unwrap().nlink(), 2, "backup link left");
    a.ok(&["merge", "s.json", r#"{"n": 1}"#]);
    assert_eq!(parse_file(&s), serde_json::json!({"n": 1}));
}

#[test]
fn hard_linked_files_are_refused_unless_splitting_is_asked_for() {
    hard_links(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534"]
fn hard_linked_files_are_refused_for_an_unprivileged_user() {
    require_root();
    hard_links(Who::Nobody);
}

/// 10 concurrent `.n += 1` through each of two names of one file; returns
/// (successes through a.json, through b.json).
fn race_two_names(a: &Arena, flags: &[&str]) -> (usize, usize) {
    let children: Vec<(usize, std::process::Child)> = (0..20)
        .map(|i| {
            let name = if i % 2 == 0 { "a.json" } else { "b.json" };
            let child = spawn(
                a.who
                    .cmd(&a.data)
                    .args(flags)
                    .args(["update", name, ".n += 1"]),
            );
            (i % 2, child)
        })
        .collect();
    let mut ok = [0usize; 2];
    for (side, child) in children {
        let out = Out::from_output(child.wait_with_output().unwrap());
        if out.code == 0 {
            ok[side] += 1;
        } else {
            // Every failure says so: one line, exit 7.
            out.fails(7);
        }
    }
    (ok[0], ok[1])
}

fn racing_names(who: Who) {
    // By default every update is refused: none succeeds, none is lost.
    let a = Arena::new(who);
    let x = a.file("a.json", b"{\"n\": 0}\n");
    fs::hard_link(&x, a.data.join("b.json")).unwrap();
    let (ok_a, ok_b) = race_two_names(&a, &[]);
    assert_eq!((ok_a, ok_b), (0, 0));
    assert_eq!(parse_file(&x)["n"], 0);

    // With --split-links each name counts exactly its own successes.
    let a = Arena::new(who);
    let x = a.file("a.json", b"{\"n\": 0}\n");
    let y = a.data.join("b.json");
    fs::hard_link(&x, &y).unwrap();
    let (ok_a, ok_b) = race_two_names(&a, &["--split-links", "--timeout", "60"]);
    assert_eq!(parse_file(&x)["n"], ok_a);
    assert_eq!(parse_file(&y)["n"], ok_b);
    assert_eq!((ok_a, ok_b), (10, 10));
}

#[test]
fn concurrent_updates_through_two_hard_linked_names_lose_nothing_unreported() {
    racing_names(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534"]
fn concurrent_updates_through_two_names_for_an_unprivileged_user() {
    require_root();
    racing_names(Who::Nobody);
}

// ---------------------------------------------------------------------------
// Any file name: not UTF-8, 236-255 bytes.

fn odd_names() -> Vec<OsString> {
    let mut names = vec![
        OsString::from_vec(b"caf\xe9-\xff\xfe.json".to_vec()),
        OsString::from_vec(b"no-extension-\xc3\x28".to_vec()),
    ];
    for len in [236usize, 250, 255] {
        names.push(OsString::from_vec(vec![b'n'; len]));
        let mut json = vec![b'j'; len - 5];
        json.extend_from_slice(b".json");
        names.push(OsString::from_vec(json));
    }
    // Its key cuts a two-byte character in half.
    let mut long_utf8 = "é".repeat(124).into_bytes();
    long_utf8.extend_from_slice(b"x\xff.json");
    assert_eq!(long_utf8.len(), 255);
    names.push(OsString::from_vec(long_utf8));
    names
}

fn any_name(who: Who) {
    let a = Arena::new(who);
    let names = odd_names();
    for name in &names {
        let n = name.as_os_str();
        let run = |args: &[&OsStr]| a.run(args);
        let s = |x: &'static str| OsStr::new(x);
        let shown = n.to_string_lossy();
        for args in [
            vec![s("write"), n, s(r#"{"a": 1}"#)],
            vec![s("merge"), n, s(r#"{"b": 2}"#)],
            vec![s("update"), n, s(".c = $v"), s("--arg"), s("v"), s("3")],
            vec![s("read"), n, s(".c")],
            vec![s("read"), s("--lock"), n],
            vec![s("restore"), s("--list"), n],
            vec![s("restore"), s("--latest"), n],
            vec![s("status"), n],
        ] {
            let out = run(&args);
            assert_eq!(out.code, 0, "{shown} {args:?}: {}", out.stderr);
        }
        // A corrupt version is quarantined under a name that fits.
        let p = a.data.join(n);
        fs::write(&p, b"{\"a\": ").unwrap();
        who.own(&p);
        let out = run(&[s("write"), n, s(r#"{"d": 4}"#)]);
        assert_eq!(out.code, 0, "{shown}: {}", out.stderr);
        assert_eq!(parse_file(&p), serde_json::json!({"d": 4}));
        let out = run(&[s("restore"), s("--latest"), n]);
        assert_eq!(out.code, 0, "{shown}: {}", out.stderr);
        assert_eq!(
            parse_file(&p),
            serde_json::json!({"a": 1, "b": 2, "c": "3"})
        );
    }
    // status finds every file, under its own name, once, healthy.
    let out = a.run(&["status", "--json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let mut found: Vec<String> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["health"], "ok", "{f}");
            assert_eq!(f["quarantined"], 1, "{f}");
            f["path"].as_str().unwrap().to_owned()
        })
        .collect();
    let mut expected: Vec<String> = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
    // The sweeper removes each lock and names its file.
    let out = a.run(&["cleanup-locks", "--older-than", "0s", "--json", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let mut swept: Vec<String> = doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    swept.sort();
    assert_eq!(swept, expected);
    assert!(names_in(&a.data.join(".jsafe/locks")).is_empty());
    assert!(temp_files(&a.data).is_empty());
}

#[test]
fn any_file_name_works_not_utf8_and_up_to_255_bytes() {
    any_name(Who::Me);
}

#[test]
#[ignore = "needs root: runs jsafe as user 65534"]
fn any_file_name_works_for_an_unprivileged_user() {
    require_root();
    any_name(Who::Nobody);
}

// ---------------------------------------------------------------------------
// Modes and owners kept; root's state in a user's directory is the user's.

fn special_bits_kept(who: Who) {
    let a = Arena::new(who);
    for mode in [0o6755, 0o2755, 0o4700, 0o1644] {
        let name = format!("m{mode:o}.json");
        let p = a.file(&name, b"{}");
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        a.ok(&["merge", &name, r#"{"a": 1}"#]);
        a.ok(&["update", &name, ".b = 2"]);
        let m = fs::metadata(&p).unwrap();
        assert_eq!(m.mode() & 0o7777, mode, "{name}");
        assert_eq!(m.uid(), who.uid(), "{name}");
        for b in backups(&a.data, &name) {
            assert_eq!(fs::metadata(&b).unwrap().mode() & 0o7777, mode, "{b:?}");
        }
    }
}

#[test]
fn setuid_setgid_and_sticky_bits_survive_the_owners_own_writes() {
    special_bits_kept(Who::Me);
}

#[test]
#[ignore = "needs root: the owner is user 65534, who has no CAP_FSETID"]
fn setuid_setgid_bits_survive_an_unprivileged_owners_writes() {
    require_root();
    special_bits_kept(Who::Nobody);
}

#[test]
#[ignore = "needs root: root edits a file of user 65534 in that user's directory"]
fn root_editing_a_users_file_keeps_its_bits_and_hands_the_state_to_the_user() {
    require_root();
    let a = Arena::new(Who::Nobody);
    let p = a.file("prog.json", b"{\"a\": 1}");
    // chown first: it clears setuid/setgid.
    fs::set_permissions(&p, fs::Permissions::from_mode(0o6755)).unwrap();
    let root = Who::Me;
    root.run(&a.data, &["merge", "prog.json", r#"{"b": 2}"#])
        .ok();
    let m = fs::metadata(&p).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.uid(), m.gid()),
        (0o6755, NOBODY, NOBODY)
    );
    let b = backups(&a.data, "prog.json");
    assert_eq!(b.len(), 1);
    let bm = fs::metadata(&b[0]).unwrap();
    assert_eq!((bm.mode() & 0o7777, bm.uid()), (0o6755, NOBODY));
    // A file root creates there: its state belongs to the user too.
    root.run(&a.data, &["merge", "fresh.json", r#"{"c": 3}"#])
        .ok();
    for p in walk_dirs_and_files(&a.data.join(".jsafe")) {
        let m = fs::symlink_metadata(&p).unwrap();
        assert_eq!(m.uid(), NOBODY, "{} belongs to root", p.display());
        assert_eq!(m.mode() & 0o002, 0, "{} is writable by all", p.display());
    }
    // The user keeps working, with backups.
    a.ok(&["merge", "prog.json", r#"{"c": 3}"#]);
    a.ok(&["merge", "fresh.json", r#"{"d": 4}"#]);
    assert_eq!(backups(&a.data, "prog.json").len(), 2);
    assert_eq!(backups(&a.data, "fresh.json").len(), 1);
    a.ok(&["restore", "--latest", "prog.json"]);
    assert_eq!(parse_file(&p), serde_json::json!({"a": 1, "b": 2}));
    assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o6755);
}

/// Everything under `dir` (itself included), not following symlinks.
fn walk_dirs_and_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk_dirs_and_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
