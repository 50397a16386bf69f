//! Shared helpers for the black-box tests: run the `jsafe` binary in a directory
//! with a clean environment, look at what it printed, hold a file's lock from the
//! test process, and list what jsafe left beside a file.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_jsafe")
}

/// The variables the top man page documents, in its order (a generated-page
/// check compares them). The harness does not use this list: it clears every
/// `JSAFE_*` variable it finds (see [`command`]).
pub const ENV_VARS: &[&str] = &[
    "JSAFE_TIMEOUT",
    "JSAFE_KEEP",
    "JSAFE_SPLIT_LINKS",
    "JSAFE_NO_BACKUP",
    "JSAFE_NO_SYNC",
    "JSAFE_NO_JOURNAL",
    "JSAFE_QUIET",
    "JSAFE_VERBOSE",
    "JSAFE_FILTER_MEMORY",
    "JSAFE_FILTER_TIMEOUT",
    "JSAFE_FAILPOINT",
    "JSAFE_NO_SPLICE",
    "JSAFE_ITEMS_FROM",
];

/// Variables outside `JSAFE_*` that change what jsafe or a shell around it
/// prints, or that a CI runner sets: removed from every process a test
/// starts, so a run under CI and a run at a desk start the same processes.
const NOT_INHERITED: &[&str] = &[
    "CI",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "COLUMNS",
    "LINES",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "_CLAP_COMPLETE_INDEX",
    "_CLAP_COMPLETE_COMP_TYPE",
    "_CLAP_COMPLETE_SPACE",
    "_CLAP_IFS",
    "BASH_ENV",
    "ENV",
];

/// The one way a test starts a process (jsafe itself, or a shell, `setpriv`,
/// `strace` … that starts it): `program` with every `JSAFE_*` variable of the
/// test's own environment removed, and [`NOT_INHERITED`] removed. The
/// caller then sets only what its test asks for. The list is read from the
/// environment, not written down, so a variable added to jsafe later cannot
/// leak in either.
pub fn command<S: AsRef<OsStr>>(program: S) -> Command {
    let mut c = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.as_encoded_bytes().starts_with(b"JSAFE_") {
            c.env_remove(&name);
        }
    }
    for name in NOT_INHERITED {
        c.env_remove(name);
    }
    c
}

/// `jsafe` in `dir`, clean environment, fsync off (durability is not what most
/// tests check).
pub fn jsafe(dir: &Path) -> Command {
    let mut c = raw_jsafe(dir);
    c.env("JSAFE_NO_SYNC", "true");
    c
}

/// Run `jsafe ARGS` in `dir` and fail the test, with its stderr, unless it succeeds.
pub fn ok(dir: &Path, args: &[&str]) {
    let out = jsafe(dir).args(args).output().unwrap();
    no_panic(&String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "jsafe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `jsafe` in `dir` with none of its variables set (not even JSAFE_NO_SYNC).
pub fn raw_jsafe(dir: &Path) -> Command {
    let mut c = command(bin());
    c.current_dir(dir);
    c
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Out {
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Out {
    /// Every run's stderr is checked: no test run of jsafe may panic.
    pub fn from_output(o: std::process::Output) -> Out {
        no_panic(&String::from_utf8_lossy(&o.stderr));
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: o.stdout,
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Assert success and return self.
    #[track_caller]
    pub fn ok(&self) -> &Out {
        assert_eq!(
            self.code,
            0,
            "expected success; stderr: {}; stdout: {}",
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        self
    }

    /// Assert exit `code` and that stderr is exactly one line, without panic text.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &Out {
        assert_eq!(
            self.code,
            code,
            "expected exit {code}; stderr: {}; stdout: {}",
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        self.one_line_error();
        self
    }

    /// Stderr is one line starting with "jsafe: " and shows no panic.
    #[track_caller]
    pub fn one_line_error(&self) {
        assert!(
            self.stderr.ends_with('\n') && self.stderr.lines().count() == 1,
            "expected exactly one line on stderr, got: {:?}",
            self.stderr
        );
        assert!(
            self.stderr.starts_with("jsafe: "),
            "stderr: {:?}",
            self.stderr
        );
        no_panic(&self.stderr);
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Out {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {:?}",
            self.stderr
        );
        self
    }

    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.stdout)
            )
        })
    }
}

#[track_caller]
pub fn no_panic(stderr: &str) {
    for bad in ["panicked", "RUST_BACKTRACE", "internal error"] {
        assert!(!stderr.contains(bad), "stderr shows {bad:?}: {stderr:?}");
    }
}

/// Run `jsafe ARGS` in `dir` with empty stdin.
pub fn run<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Out {
    run_cmd(jsafe(dir).args(args), b"")
}

/// Run `jsafe ARGS` in `dir` feeding `stdin`.
pub fn run_stdin<S: AsRef<OsStr>>(dir: &Path, args: &[S], stdin: &[u8]) -> Out {
    run_cmd(jsafe(dir).args(args), stdin)
}

/// Run a prepared command feeding `stdin`.
pub fn run_cmd(cmd: &mut Command, stdin: &[u8]) -> Out {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jsafe");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    // A feeder thread: the child may stop reading early (and exit) without a deadlock.
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for jsafe");
    let _ = feeder.join();
    Out::from_output(out)
}

/// Read a file as bytes.
#[track_caller]
pub fn bytes(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Read a file as text.
#[track_caller]
pub fn text(path: &Path) -> String {
    String::from_utf8(bytes(path)).expect("UTF-8 file")
}

/// Parse a file with serde_json.
#[track_caller]
pub fn parse_file(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&bytes(path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Names of the files in `dir` (sorted), empty if it does not exist.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Backups of `name` in `dir`, oldest first (full paths).
pub fn backups(dir: &Path, name: &str) -> Vec<PathBuf> {
    let d = dir.join(".jsafe/backups").join(name);
    names_in(&d).into_iter().map(|n| d.join(n)).collect()
}

/// Files in `dir/.jsafe/quarantine` (full paths).
pub fn quarantined(dir: &Path) -> Vec<PathBuf> {
    let d = dir.join(".jsafe/quarantine");
    names_in(&d).into_iter().map(|n| d.join(n)).collect()
}

/// jsafe temp files left in `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with(".jsafe-tmp."))
        .collect()
}

/// Lines of `dir/.jsafe/journal.jsonl` (0 if it does not exist).
pub fn journal_lines(dir: &Path) -> Vec<serde_json::Value> {
    match fs::read_to_string(dir.join(".jsafe/journal.jsonl")) {
        Ok(t) => t
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Take the exclusive lock jsafe uses for `dir/name`, recording a holder with
/// `pid` and `command`. Dropping the returned file releases it.
pub fn hold_lock(dir: &Path, name: &str, pid: u32, command: &str) -> File {
    let locks = dir.join(".jsafe/locks");
    fs::create_dir_all(&locks).unwrap();
    let path = locks.join(format!("{name}.lock"));
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.lock().unwrap();
    let holder = serde_json::json!({
        "pid": pid,
        // A record as a holder on this host writes it: a record counts as the
        // holder only when its host, pid and start time check out.
        "host": jsafe::__internals::host_name(),
        "start_time": jsafe::__internals::start_time_of(pid),
        "command": command,
        "acquired": now_unix().floor(),
    });
    writeln!(f, "{holder}").unwrap();
    f.flush().unwrap();
    f
}

/// Spawn `jsafe ARGS` with piped stderr (stdin null), for tests that watch it.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jsafe")
}

/// Read stderr lines until one contains `needle`; returns the lines read. Fails
/// if stderr ends first (the process exited without saying it).
pub fn wait_for_line(stderr: &mut BufReader<ChildStderr>, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(
            n > 0,
            "stderr ended before a line containing {needle:?}: {seen:?}"
        );
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

/// Finish a spawned child whose stderr was partly consumed through `reader`.
pub fn finish(mut child: Child, mut reader: BufReader<ChildStderr>, seen: String) -> Out {
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let mut stdout = Vec::new();
    if let Some(mut so) = child.stdout.take() {
        so.read_to_end(&mut stdout).unwrap();
    }
    let status = child.wait().unwrap();
    Out {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: seen + &rest,
    }
}

/// The self-test's generator, shared: randomness without crates.
#[path = "../../../src/selftest/rng.rs"]
mod rng;
#[allow(unused_imports)]
pub use rng::Rng;

/// Are we root (needed for mounts and setpriv)?
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A tmpfs mounted on `dir` with `opts`, unmounted on drop. None when mounting
/// is impossible here (not root, no permission).
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    pub fn mount(dir: &Path, opts: &str) -> Option<Tmpfs> {
        if !is_root() {
            return None;
        }
        fs::create_dir_all(dir).ok()?;
        let st = command("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        st.success().then(|| Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    pub fn remount(&self, opts: &str) -> bool {
        command("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = command("umount")
            .arg("-l")
            .arg(&self.dir)
            .stderr(Stdio::null())
            .status();
    }
}

/// After the test process lets go of a lock, wait until nobody holds it: a
/// child that another test thread is starting at that moment shares the lock
/// (a forked copy of the descriptor) until it execs.
pub fn wait_until_free(lock: &Path) {
    for _ in 0..500 {
        let free = File::open(lock).is_ok_and(|f| f.try_lock().is_ok());
        if free {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{} stayed locked", lock.display());
}

/// The user root-only tests switch to (`nobody` on most systems).
pub const NOBODY: u32 = 65534;

/// Fail loudly unless the test runs as root: the first line of every
/// `#[ignore = "needs root: …"]` test, so that running it as another user
/// fails instead of passing without checking anything.
#[track_caller]
pub fn require_root() {
    assert!(
        is_root(),
        "this test needs root (run `cargo test -- --ignored` as root, as .ci/run does)"
    );
}

/// `jsafe` in `dir` run as user and group `uid` through `setpriv` (no
/// supplementary groups), clean environment, fsync off. Needs root.
pub fn jsafe_as(uid: u32, dir: &Path) -> Command {
    let mut c = command("setpriv");
    c.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg(bin())
        .current_dir(dir);
    c.env("JSAFE_NO_SYNC", "true");
    c
}

/// Run a prepared command feeding `stdin`, and fail the test if it has not
/// finished after `limit` (it is killed first). A hang detector with a
/// generous bound, not a speed measurement.
pub fn run_bounded(cmd: &mut Command, stdin: &[u8], limit: std::time::Duration) -> Out {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?} (killed)");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let _ = feeder.join();
    Out {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    }
}

/// One entry of a [`Snapshot`]: everything `lstat` says that matters, and
/// the bytes of a regular file or the target of a symlink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
    pub nlink: u64,
    pub size: u64,
    pub rdev: u64,
    /// File content (regular files up to 1 MiB; larger ones by size only),
    /// or a symlink's target.
    pub content: Vec<u8>,
}

/// Every entry under a directory (itself included), never following a
/// symlink, by path relative to the root.
pub type Snapshot = std::collections::BTreeMap<PathBuf, Node>;

/// Snapshot `root`, leaving out the subtrees in `except` (absolute paths).
pub fn snapshot_except(root: &Path, except: &[&Path]) -> Snapshot {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    fn walk(root: &Path, p: &Path, except: &[&Path], out: &mut Snapshot) {
        if except.contains(&p) {
            return;
        }
        let Ok(m) = fs::symlink_metadata(p) else {
            return;
        };
        let t = m.file_type();
        let kind = if t.is_symlink() {
            "symlink"
        } else if t.is_dir() {
            "dir"
        } else if t.is_file() {
            "file"
        } else if t.is_fifo() {
            "fifo"
        } else if t.is_socket() {
            "socket"
        } else if t.is_char_device() {
            "char"
        } else if t.is_block_device() {
            "block"
        } else {
            "other"
        };
        let content = if t.is_symlink() {
            std::os::unix::ffi::OsStrExt::as_bytes(fs::read_link(p).unwrap().as_os_str()).to_vec()
        } else if t.is_file() && m.len() <= 1 << 20 {
            fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        } else {
            Vec::new()
        };
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        out.insert(
            rel,
            Node {
                kind,
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
                ino: m.ino(),
                nlink: m.nlink(),
                size: if t.is_dir() { 0 } else { m.len() },
                rdev: m.rdev(),
                content,
            },
        );
        if t.is_dir() {
            let mut names: Vec<PathBuf> = fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            for n in names {
                walk(root, &n, except, out);
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, except, &mut out);
    out
}

/// Snapshot everything under `root`.
pub fn snapshot(root: &Path) -> Snapshot {
    snapshot_except(root, &[])
}

/// Assert two snapshots are the same, naming the first difference.
#[track_caller]
pub fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    for (p, n) in before {
        match after.get(p) {
            None => panic!("{what}: {} was removed", p.display()),
            Some(a) => assert_eq!(n, a, "{what}: {} changed", p.display()),
        }
    }
    for p in after.keys() {
        assert!(
            before.contains_key(p),
            "{what}: {} was created",
            p.display()
        );
    }
}

/// Change the owner of `path` and everything under it (never following a
/// symlink). Needs root.
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if fs::symlink_metadata(path).unwrap().is_dir() {
        for e in fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

/// The visible subcommands, in `jsafe --help` order.
pub const SUBCOMMANDS: &[&str] = &[
    "read",
    "write",
    "merge",
    "update",
    "restore",
    "status",
    "cleanup-locks",
    "lock",
    "watch",
    "append",
    "schema",
    "test",
    "completions",
    "man",
];

/// bash's completion answer from the binary for the last of `words`, run in
/// `dir` with `envs` added: (kind letter, word) records, each NUL-ended.
pub fn completion_records(
    dir: &Path,
    words: &[&str],
    envs: &[(&str, &OsStr)],
) -> Vec<(char, Vec<u8>)> {
    let out = command(bin())
        .current_dir(dir)
        .env("JSAFE_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .envs(envs.iter().copied())
        .arg("--")
        .args(words)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| (r[0] as char, r[1..].to_vec()))
        .collect()
}

/// The words of [`completion_records`], as text.
pub fn completion_words(dir: &Path, words: &[&str], envs: &[(&str, &OsStr)]) -> Vec<String> {
    completion_records(dir, words, envs)
        .into_iter()
        .map(|(_, w)| String::from_utf8(w).unwrap())
        .collect()
}

/// A test that cannot check what it is for here (a tool is missing, the
/// kernel refuses a setting): under CI (`CI` set and not empty) that is a
/// failure, since CI installs what every test needs; elsewhere the test says
/// SKIP with the reason on stderr and the caller returns. Use as
/// `if cond { return skip("…"); }`.
#[track_caller]
pub fn skip(reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("skipped under CI (CI is set, so this must run): {reason}");
    }
    eprintln!("SKIP: {reason}");
}

/// For a test that calls the library in this process: the library reads
/// `JSAFE_FAILPOINT` (and the etcd settings) from the process environment,
/// which the test cannot clear for itself without `unsafe`. When any
/// `JSAFE_*` variable is set, this runs the calling test again in a child
/// copy of the test binary whose environment has none, asserts that the
/// child ran exactly that test and passed, and returns false: the caller
/// returns at once. Returns true (run here) when the environment is clean.
/// Use as `if !common::clean_process() { return; }`.
#[track_caller]
pub fn clean_process() -> bool {
    let inherited = std::env::vars_os().any(|(n, _)| n.as_encoded_bytes().starts_with(b"JSAFE_"));
    if !inherited {
        return true;
    }
    let name = std::thread::current()
        .name()
        .expect("libtest names each test's thread after the test")
        .to_owned();
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = command(exe);
    child.args([
        name.as_str(),
        "--exact",
        "--include-ignored",
        "--test-threads=1",
    ]);
    if let Some(ci) = std::env::var_os("CI") {
        child.env("CI", ci);
    }
    let out = child.output().expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} in a clean environment: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
