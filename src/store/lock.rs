//! Sidecar locks: `<dir>/.jsafe/locks/<name>.lock`, never the data file itself
//! (a rename swaps the data file's inode under any lock held on it).
//!
//! Contract:
//! - [`acquire`] opens the lock file without following symlinks, tries the kernel
//!   lock (flock through std's `File::lock` family), and when it is contended
//!   reports the recorded holder through `on_wait`, then blocks on a helper thread
//!   so the waiter wakes the moment the lock is released — no polling — until the
//!   timeout (error kind `LockTimeout`, naming the holder).
//! - Once granted, it checks that the path still names the inode it locked: a
//!   sweeper may have unlinked the file between our open and our lock. If not, it
//!   retries on a fresh lock file. This is what makes `cleanup-locks` safe beside
//!   live writers.
//! - An exclusive holder records itself in the file (pid, host, process start
//!   time, command line, time acquired) for `status`, timeouts and the sweeper.
//! - Dropping the [`Lock`] releases it (closing the descriptor). The lock file is
//!   never unlinked on release; only the sweeper removes it, while holding it.
//!
//! A kernel lock dies with its process, so a left-over lock file never blocks
//! anyone; it is only a record.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Kind, Result};
use crate::{process, time};

/// Exclusive for writers, shared for `read --lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Exclusive,
    Shared,
}

/// A granted lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Lock {
    /// The locked file (for the sweeper, which unlinks it while holding it).
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Who holds (or last held) a lock, as recorded in the lock file.
#[derive(Clone, Debug, PartialEq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// Process start, seconds since the Unix epoch (to tell a recycled PID).
    pub start_time: Option<u64>,
    pub command: String,
    /// When the lock was granted, seconds since the Unix epoch.
    pub acquired: f64,
}

impl Holder {
    /// This process, now.
    pub fn me() -> Holder {
        Holder {
            pid: std::process::id(),
            host: process::host_name(),
            start_time: process::self_start_time(),
            command: process::self_command_line(),
            acquired: time::unix(SystemTime::now()),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(self.acquired.max(0.0));
        serde_json::json!({
            "pid": self.pid,
            "host": self.host,
            "start_time": self.start_time,
            "command": self.command,
            "acquired": self.acquired,
            "acquired_at": time::rfc3339(at),
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Holder> {
        Some(Holder {
            pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
            host: v.get("host")?.as_str()?.to_owned(),
            start_time: v.get("start_time").and_then(|t| t.as_u64()),
            command: v
                .get("command")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .to_owned(),
            acquired: v.get("acquired").and_then(|a| a.as_f64()).unwrap_or(0.0),
        })
    }

    /// How long it has held the lock.
    pub fn held_for(&self) -> Duration {
        let now = time::unix(SystemTime::now());
        Duration::try_from_secs_f64((now - self.acquired).max(0.0)).unwrap_or(Duration::ZERO)
    }

    /// "pid 123 on host h (jsafe update …) for 12s".
    pub fn describe(&self) -> String {
        format!(
            "pid {} on host {} ({}) for {}",
            self.pid,
            self.host,
            self.command,
            time::human(self.held_for())
        )
    }
}

/// The holder recorded in a lock file, if any can be read.
pub fn read_holder(lock_path: &Path) -> Option<Holder> {
    let text = fs::read_to_string(lock_path).ok()?;
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    Holder::from_json(&v)
}

/// Open (creating if needed) a lock file without following symlinks.
pub fn open(lock_path: &Path) -> io::Result<File> {
    let nofollow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    let open_rw = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(nofollow)
            .open(lock_path)
    };
    match open_rw() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = lock_path.parent() {
                fs::create_dir_all(parent)?;
            }
            open_rw()
        }
        // Another user's lock file: flock works on a read-only descriptor too.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => OpenOptions::new()
            .read(true)
            .custom_flags(nofollow)
            .open(lock_path),
        other => other,
    }
}

/// Try to take the kernel lock without waiting: Ok(true) granted, Ok(false) held elsewhere.
pub fn try_take(file: &File, mode: Mode) -> io::Result<bool> {
    let r = match mode {
        Mode::Exclusive => file.try_lock(),
        Mode::Shared => file.try_lock_shared(),
    };
    match r {
        Ok(()) => Ok(true),
        Err(fs::TryLockError::WouldBlock) => Ok(false),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Does `path` still name the inode `file` is open on?
pub fn still_linked(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Take the lock at `lock_path` guarding `data` (named in messages).
pub fn acquire(
    lock_path: &Path,
    data: &Path,
    mode: Mode,
    timeout: Duration,
    on_wait: &dyn Fn(Option<&Holder>),
) -> Result<Lock> {
    // None: a timeout too large to add to the clock, i.e. wait for ever.
    let deadline = Instant::now().checked_add(timeout);
    let mut told = false;
    loop {
        let file = open(lock_path).map_err(|e| lock_io_error(lock_path, data, &e))?;
        let granted = try_take(&file, mode).map_err(|e| lock_io_error(lock_path, data, &e))?;
        let file = if granted {
            file
        } else {
            let holder = read_holder(lock_path);
            if !told {
                on_wait(holder.as_ref());
                told = true;
            }
            let remaining = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            match wait(file, mode, remaining) {
                Ok(Some(file)) => file,
                Ok(None) => return Err(timeout_error(lock_path, data, timeout)),
                Err(e) => return Err(lock_io_error(lock_path, data, &e)),
            }
        };
        if still_linked(&file, lock_path) {
            if mode == Mode::Exclusive {
                record(&file);
            }
            return Ok(Lock { file });
        }
        // The sweeper removed this lock file between our open and our lock; a
        // fresh one is created on the next round.
        drop(file);
        if deadline.is_some_and(|d| Instant::now() >= d) && timeout > Duration::ZERO {
            return Err(timeout_error(lock_path, data, timeout));
        }
    }
}

/// Block on a helper thread until granted (Some) or `limit` passes (None). If the
/// lock comes after we gave up, the thread's send fails and the lock is dropped
/// at once, so an abandoned wait never keeps a lock.
fn wait(file: File, mode: Mode, limit: Duration) -> io::Result<Option<File>> {
    if limit.is_zero() {
        return Ok(None);
    }
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("jsafe-lock-wait".into())
        .spawn(move || {
            let r = match mode {
                Mode::Exclusive => file.lock(),
                Mode::Shared => file.lock_shared(),
            };
            let _ = tx.send(r.map(|()| file));
        })?;
    match rx.recv_timeout(limit) {
        Ok(Ok(file)) => Ok(Some(file)),
        Ok(Err(e)) => Err(e),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("lock wait thread stopped"))
        }
    }
}

/// Write our holder record; best effort (a read-only lock file cannot take it).
fn record(file: &File) {
    let mut line = Holder::me().to_json().to_string();
    line.push('\n');
    if file.set_len(0).is_ok() {
        let _ = file.write_all_at(line.as_bytes(), 0);
    }
}

fn timeout_error(lock_path: &Path, data: &Path, timeout: Duration) -> Error {
    let who = match read_holder(lock_path) {
        Some(h) => format!("held by {}", h.describe()),
        None => "held by an unknown process".to_owned(),
    };
    Error::new(
        Kind::LockTimeout,
        format!(
            "{}: lock not granted within {}s, {who} (lock file {}; raise --timeout, or see `jsafe status`)",
            data.display(),
            timeout.as_secs_f64(),
            lock_path.display()
        ),
    )
}

fn lock_io_error(lock_path: &Path, data: &Path, e: &io::Error) -> Error {
    // ENOLCK / EOPNOTSUPP: the filesystem (some NFS set-ups) cannot lock. jsafe
    // never goes on without the lock.
    let hint = match e.raw_os_error() {
        Some(37) | Some(95) => {
            "; this filesystem does not support locks (check with `jsafe test --dir`)"
        }
        _ => "",
    };
    Error::new(
        Kind::Io,
        format!(
            "{}: cannot lock {}: {e}{hint}",
            data.display(),
            lock_path.display()
        ),
    )
}
