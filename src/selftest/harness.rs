//! The self-test's process harness: the worker binary and its environment
//! ([`Ctx`]), a finished worker ([`Ran`]), the work directory, and small file
//! helpers the suites share.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use super::report::Progress;
use crate::error::Error;
use crate::store::layout::TEMP_PREFIX;

/// What every suite needs: the binary, its own directory, the flags.
pub(crate) struct Ctx {
    pub exe: PathBuf,
    pub root: PathBuf,
    /// Durable writes (no --no-sync given).
    pub sync: bool,
    pub workers: usize,
    pub ops: usize,
    pub(crate) terminal: bool,
}

impl Ctx {
    /// A fresh directory for one suite inside the work dir.
    pub(crate) fn suite_dir(&self, suite: &str) -> std::result::Result<PathBuf, String> {
        let dir = self.root.join(suite);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// "durable writes" or "--no-sync writes", for details.
    pub(crate) fn durability(&self) -> &'static str {
        if self.sync {
            "durable writes"
        } else {
            "--no-sync writes"
        }
    }

    /// A worker command: this binary with a clean environment and the inherited
    /// global flags, followed by `args`.
    pub(crate) fn command(&self, args: &[&OsStr]) -> Command {
        let mut cmd = Command::new(&self.exe);
        self.prepare(&mut cmd);
        cmd.args(self.inherited()).args(args);
        cmd
    }

    /// A worker started through `wrapper` (`sh -c …`, `setpriv …`): the wrapper's
    /// arguments, then this binary and its arguments.
    pub(crate) fn command_via(&self, wrapper: &[&OsStr], args: &[&OsStr]) -> Command {
        let (program, rest) = match wrapper.split_first() {
            Some((p, r)) => (*p, r),
            None => (self.exe.as_os_str(), &[][..]),
        };
        let mut cmd = Command::new(program);
        self.prepare(&mut cmd);
        cmd.args(rest)
            .arg(&self.exe)
            .args(self.inherited())
            .args(args);
        cmd
    }

    pub(crate) fn prepare(&self, cmd: &mut Command) {
        // The operator's JSAFE_* settings must not change what is measured; only
        // --no-sync is passed on, explicitly.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("JSAFE_") {
                cmd.env_remove(key);
            }
        }
        cmd.stdin(Stdio::null());
    }

    pub(crate) fn inherited(&self) -> Vec<OsString> {
        if self.sync {
            Vec::new()
        } else {
            vec![OsString::from("--no-sync")]
        }
    }

    /// Run a worker to completion.
    pub(crate) fn run(&self, args: &[&OsStr]) -> std::result::Result<Ran, String> {
        Ran::of(self.command(args), None)
    }

    /// Run a worker with `input` on its stdin.
    pub(crate) fn run_with_input(
        &self,
        args: &[&OsStr],
        input: &[u8],
    ) -> std::result::Result<Ran, String> {
        Ran::of(self.command(args), Some(input))
    }

    /// A progress line for a stage of `total` steps (0: unknown).
    pub(crate) fn progress(&self, label: &str, total: usize) -> Progress {
        Progress::new(label, total, self.terminal)
    }
}

/// A finished worker.
#[derive(Debug)]
pub(crate) struct Ran {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Ran {
    /// Run `cmd`, feeding `input` on stdin if given, and collect its output.
    pub(crate) fn of(mut cmd: Command, input: Option<&[u8]>) -> std::result::Result<Ran, String> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            // A child that fails early stops reading; its exit status tells why.
            let _ = stdin.write_all(bytes);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("cannot wait for {program}: {e}"))?;
        Ok(Ran {
            status: out.status,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub(crate) fn ok(&self) -> bool {
        self.status.success()
    }

    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// "exit 3: jsafe: …" or "killed by signal 9", for a detail line.
    pub(crate) fn why(&self) -> String {
        let status = describe_status(self.status);
        match self.stderr.lines().find(|l| !l.trim().is_empty()) {
            Some(line) => format!("{status}: {}", line.trim()),
            None => status,
        }
    }

    /// Ok if the worker succeeded, else an error naming what it did.
    pub(crate) fn require_ok(self, what: &str) -> std::result::Result<Ran, String> {
        if self.ok() {
            Ok(self)
        } else {
            Err(format!("{what} failed ({})", self.why()))
        }
    }
}

/// "exit 3" or "killed by signal 9".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended without a status".to_owned(),
    }
}

/// The directory the test works in; removed when done.
pub(crate) struct WorkDir {
    pub(crate) path: PathBuf,
    temp: Option<tempfile::TempDir>,
    removed: bool,
}

impl WorkDir {
    pub(crate) fn create(under: Option<&Path>) -> std::result::Result<WorkDir, String> {
        let Some(dir) = under else {
            let temp =
                tempfile::tempdir().map_err(|e| format!("cannot create a temp directory: {e}"))?;
            return Ok(WorkDir {
                path: temp.path().to_path_buf(),
                temp: Some(temp),
                removed: false,
            });
        };
        let path = dir.join(format!(".jsafe-selftest-{}", std::process::id()));
        // The name is ours: one left over can only be from an earlier self-test
        // that was killed with the same pid.
        if fs::symlink_metadata(&path).is_ok() {
            remove_tree(&path)
                .map_err(|e| format!("cannot remove the leftover {}: {e}", path.display()))?;
        }
        fs::create_dir(&path)
            .map_err(|e| Error::io("cannot create the test directory", &path, e).to_string())?;
        Ok(WorkDir {
            path,
            temp: None,
            removed: false,
        })
    }

    /// Remove the directory and everything the suites left in it.
    pub(crate) fn remove(mut self) -> std::result::Result<(), String> {
        self.removed = true;
        let result = remove_tree(&self.path);
        if let Some(temp) = self.temp.take() {
            // Already gone; this only stops TempDir from trying again.
            let _ = temp.close();
        }
        result.map_err(|e| {
            format!(
                "could not remove the test directory {}: {e}; remove it by hand",
                self.path.display()
            )
        })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.removed {
            let _ = remove_tree(&self.path);
        }
    }
}

/// `rm -rf`, first giving back write permission on directories a suite made
/// read-only and did not restore.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    make_writable(path);
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

pub(crate) fn make_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            make_writable(&entry.path());
        }
    }
}

/// The mount holding a path.
pub(crate) struct Mount {
    pub source: String,
    pub mount_point: String,
    pub fs_type: String,
}

/// The mount holding `path`: the longest mount point that contains it.
pub(crate) fn mount_of(path: &Path) -> Option<Mount> {
    let real = fs::canonicalize(path).ok()?;
    let table = fs::read_to_string("/proc/self/mounts").ok()?;
    let mut best: Option<Mount> = None;
    for line in table.lines() {
        let mut fields = line.split(' ');
        let (Some(source), Some(point), Some(fs_type)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let point = unescape_mount_field(point);
        if !real.starts_with(&point) {
            continue;
        }
        // Later lines mount over earlier ones at the same point.
        if best
            .as_ref()
            .is_none_or(|b| point.len() >= b.mount_point.len())
        {
            best = Some(Mount {
                source: unescape_mount_field(source),
                mount_point: point,
                fs_type: fs_type.to_owned(),
            });
        }
    }
    best
}

/// The kernel writes space, tab, newline and backslash in mount fields as octal
/// escapes (`\040`).
pub(crate) fn unescape_mount_field(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `.jsafe-tmp.*` files in `dir` (temp files of writes that did not finish).
pub(crate) fn temp_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect();
    names.sort();
    names
}

/// Read a whole file, as a check's error text on failure.
pub(crate) fn read_bytes(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(buf)
}

/// Parse a worker's output or a file as JSON for checking.
pub(crate) fn parse_json(
    bytes: &[u8],
    what: &str,
) -> std::result::Result<serde_json::Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

/// Where a program is on PATH.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}
