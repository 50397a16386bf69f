//! The whole lock protocol, used by writers, `read --lock`, `jsafe lock`,
//! `status` ([`probe`]) and `cleanup-locks` ([`sweep`]). Nothing else opens a
//! lock file.
//!
//! # Contract
//! - A data file's lock is `.jsafe/locks/<key>.lock`, never the data file
//!   itself (a rename swaps the data file's inode under any lock held on it).
//!   The kernel lock is flock(2): it dies with its process, so a left-over lock
//!   file never blocks anyone; it is only a record.
//! - [`acquire`] opens the lock file without following symlinks (creating it
//!   when asked, with the data file's mode bits and owner), refuses anything
//!   but a regular file with one link, tries the lock, and when it is
//!   contended reports who holds it through `on_wait`, then blocks in the
//!   kernel (no polling) until the timeout ([`Kind::LockTimeout`], naming the
//!   holder: the recorded writer only when [`record_holds`] confirms that it
//!   holds the lock now, else "another process" and its pid).
//! - Once granted, it checks that the name still refers to the inode it locked:
//!   the sweeper may have unlinked the file between our open and our lock. If
//!   not, it starts again on a fresh lock file.
//! - An exclusive holder records itself in the file ([`Holder`]: pid, host,
//!   process start time, uid, subcommand — never arguments).
//! - Dropping the [`Lock`] releases it. Lock files are unlinked only by the
//!   sweeper, and only while it holds them.
//!
//! # Waiting
//! The blocking wait happens on a helper thread so that the caller can give up
//! at its timeout. A wait given up stays blocked in the kernel until the lock
//! is released, then drops it at once: in a long-running program that is one
//! parked thread per timed-out wait, which cannot be avoided without signals
//! (flock has no timeout). When no thread can be started (RLIMIT_NPROC), the
//! wait falls back to trying the lock at growing intervals up to 100 ms.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{FileType, FlockOperation, Mode as FileMode, OFlags, Stat};

use super::dir::{self, Dir};
use super::failpoint::{self, Step};
use super::layout;
use crate::error::{Error, Kind, Result};
use crate::process::{self, Holder};

/// Exclusive for writers, shared for readers that lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One holder; writers.
    Exclusive,
    /// Many holders, no exclusive one; `read --lock`.
    Shared,
}

/// A granted lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    mode: Mode,
    /// The record we wrote (None: shared, or a lock file we may not write).
    mine: Option<Holder>,
}

impl Lock {
    /// The lock file's path (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How it is held.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The open lock file (to hand the held lock to a child process).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Whether this lock wrote a holder record (exclusive, and a lock file
    /// we may write).
    pub(crate) fn records(&self) -> bool {
        self.mine.is_some()
    }

    /// Whether the lock file's path still names the file this lock holds
    /// (a sweeper removes only free lock files, so for a held lock it does).
    pub(crate) fn is_linked(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.file.metadata(), std::fs::symlink_metadata(&self.path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// Record the temp file `name` about to exist (empty: none any more).
    pub(super) fn announce_temp(&self, name: &OsStr) {
        let Some(mine) = &self.mine else {
            return;
        };
        let mut h = mine.clone();
        h.temp = layout::temp_random(name);
        record(&self.file, &h);
    }
}

/// How a missing lock file is created.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NewLockFile {
    /// Mode bits: the data file's read/write bits (no wider than the data).
    pub mode: u32,
    /// Owner given to it when root creates it for another user.
    pub owner: Option<(u32, u32)>,
}

/// What to do about a missing lock file.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Missing {
    /// Create it.
    Create(NewLockFile),
    /// Do not create it: report [`io::ErrorKind::NotFound`].
    Fail,
}

/// Everything [`acquire`] needs.
pub(crate) struct Request<'a> {
    /// `.jsafe/locks`, opened and checked.
    pub locks: &'a Dir,
    /// The data file's key.
    pub key: &'a OsStr,
    /// The data file as the user named it (for messages).
    pub data: &'a Path,
    /// Exclusive or shared.
    pub mode: Mode,
    /// Longest wait; `Duration::MAX` waits for ever.
    pub timeout: Duration,
    /// Told who holds the lock when we have to wait.
    pub on_wait: &'a dyn Fn(&str),
    /// What a missing lock file means.
    pub missing: Missing,
    /// Recorded as the holder's command ("jsafe merge").
    pub command: &'a str,
}

/// Take the lock; see the module head.
pub(crate) fn acquire(req: &Request) -> Result<Lock> {
    let name = layout::lock_name(req.key);
    let path = req.locks.join(&name);
    // None: a timeout too large to add to the clock, i.e. wait for ever.
    let deadline = Instant::now().checked_add(req.timeout);
    let mut told = false;
    loop {
        let (file, writable) =
            open(req.locks, &name, req.missing).map_err(|e| lock_io_error(&path, req.data, e))?;
        failpoint::hit(Step::Lock).map_err(|e| lock_io_error(&path, req.data, e))?;
        let granted = try_take(&file, req.mode).map_err(|e| lock_io_error(&path, req.data, e))?;
        let file = if granted {
            file
        } else {
            if !told {
                (req.on_wait)(&who_holds(&file));
                told = true;
            }
            let remaining = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            match wait(file, req.mode, remaining) {
                Ok(Waited::Granted(file)) => file,
                Ok(Waited::TimedOut(file)) => {
                    return Err(timeout_error(&path, req.data, req.timeout, &file));
                }
                Err(e) => return Err(lock_io_error(&path, req.data, e)),
            }
        };
        if still_linked(&file, req.locks, &name) {
            let mut mine = None;
            if req.mode == Mode::Exclusive && writable {
                failpoint::hit(Step::HolderRecord)
                    .map_err(|e| lock_io_error(&path, req.data, e))?;
                let me = Holder::me(req.command);
                record(&file, &me);
                mine = Some(me);
            }
            return Ok(Lock {
                file,
                path,
                mode: req.mode,
                mine,
            });
        }
        // The sweeper removed this lock file between our open and our lock; a
        // fresh one is made on the next round.
        drop(file);
        if deadline.is_some_and(|d| Instant::now() >= d) && !req.timeout.is_zero() {
            return Err(Error::new(
                Kind::LockTimeout,
                format!(
                    "{}: lock not granted within {}: its lock file {} kept being replaced",
                    req.data.display(),
                    crate::time::human_precise(req.timeout),
                    path.display()
                ),
            ));
        }
    }
}

/// Open a lock file: read-write if we may, read-only otherwise (flock needs
/// no more). Only a regular file with one link is a lock file.
fn open(locks: &Dir, name: &OsStr, missing: Missing) -> io::Result<(File, bool)> {
    failpoint::hit(Step::LockOpen)?;
    let (file, writable) = loop {
        match locks.open_file(name, OFlags::RDWR, FileMode::empty()) {
            Ok(f) => break (f, true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Missing::Create(new) = missing else {
                    return Err(e);
                };
                match locks.open_file(
                    name,
                    OFlags::RDWR | OFlags::CREATE | OFlags::EXCL,
                    FileMode::from_raw_mode(new.mode),
                ) {
                    Ok(f) => {
                        // The umask may have cut bits; never more than asked.
                        rustix::fs::fchmod(&f, FileMode::from_raw_mode(new.mode))?;
                        if let Some((uid, gid)) = new.owner {
                            rustix::fs::fchown(
                                &f,
                                Some(rustix::fs::Uid::from_raw(uid)),
                                Some(rustix::fs::Gid::from_raw(gid)),
                            )?;
                        }
                        break (f, true);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                break (
                    locks.open_file(name, OFlags::RDONLY, FileMode::empty())?,
                    false,
                );
            }
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                return Err(dir::not_regular(FileType::Symlink));
            }
            Err(e) => return Err(e),
        }
    };
    check_lock_file(&rustix::fs::fstat(&file)?)?;
    Ok((file, writable))
}

fn check_lock_file(st: &Stat) -> io::Result<()> {
    let t = FileType::from_raw_mode(st.st_mode);
    if t != FileType::RegularFile {
        return Err(dir::not_regular(t));
    }
    // Zero links: a sweeper removed it after our open; `still_linked` sends us
    // round again. More than one: it is also something else's name.
    if st.st_nlink > 1 {
        return Err(io::Error::other(format!(
            "it has {} hard links (a lock file has one); remove it",
            st.st_nlink
        )));
    }
    Ok(())
}

/// Try the kernel lock without waiting: Ok(true) granted, Ok(false) held elsewhere.
fn try_take(file: &File, mode: Mode) -> io::Result<bool> {
    let op = match mode {
        Mode::Exclusive => FlockOperation::NonBlockingLockExclusive,
        Mode::Shared => FlockOperation::NonBlockingLockShared,
    };
    match rustix::fs::flock(file, op) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Does `name` in `locks` still refer to the inode `file` is open on?
fn still_linked(file: &File, locks: &Dir, name: &OsStr) -> bool {
    match (rustix::fs::fstat(file), locks.lstat(name)) {
        (Ok(a), Ok(Some(b))) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

enum Waited {
    Granted(File),
    TimedOut(File),
}

/// Block until granted or `limit` passes. If the lock comes after we gave up,
/// the thread's send fails and the lock is dropped at once, so an abandoned
/// wait never keeps a lock.
fn wait(file: File, mode: Mode, limit: Duration) -> io::Result<Waited> {
    if limit.is_zero() {
        return Ok(Waited::TimedOut(file));
    }
    let probe = file.try_clone()?;
    let (tx, rx) = mpsc::channel();
    let op = match mode {
        Mode::Exclusive => FlockOperation::LockExclusive,
        Mode::Shared => FlockOperation::LockShared,
    };
    let spawned = thread::Builder::new()
        .name("jsafe-lock-wait".into())
        .spawn(move || {
            let r = rustix::fs::flock(&file, op).map_err(io::Error::from);
            let _ = tx.send(r.map(|()| file));
        });
    if spawned.is_err() {
        return poll(probe, mode, limit);
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(file)) => Ok(Waited::Granted(file)),
        Ok(Err(e)) => Err(e),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(Waited::TimedOut(probe)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("lock wait thread stopped"))
        }
    }
}

/// The wait without a helper thread: try at growing intervals.
fn poll(file: File, mode: Mode, limit: Duration) -> io::Result<Waited> {
    let deadline = Instant::now().checked_add(limit);
    let mut pause = Duration::from_millis(1);
    loop {
        if try_take(&file, mode)? {
            return Ok(Waited::Granted(file));
        }
        let left = deadline.map_or(pause, |d| d.saturating_duration_since(Instant::now()));
        if left.is_zero() {
            return Ok(Waited::TimedOut(file));
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Write our holder record; best effort (a full disk must not stop a write
/// that holds its lock). A record shorter than the one in the file is padded
/// with spaces to its length (readers trim them): one `pwrite`, and no
/// `ftruncate`, which costs a metadata change on every write of a small
/// file. The file never holds more than the longest record written to it.
fn record(file: &File, holder: &Holder) {
    let mut line = holder.to_line().into_bytes();
    let on_disk = rustix::fs::fstat(file)
        .ok()
        .and_then(|st| usize::try_from(st.st_size).ok());
    match on_disk {
        Some(len) if len > line.len() && len <= process::MAX_RECORD => line.resize(len, b' '),
        Some(len) if len > line.len() => {
            if file.write_all_at(&line, 0).is_ok() {
                let _ = file.set_len(line.len() as u64);
            }
            return;
        }
        _ => {}
    }
    let _ = file.write_all_at(&line, 0);
}

/// The holder recorded in an open lock file, read with a small cap.
pub(super) fn holder_in(file: &File) -> Option<Holder> {
    let mut f = file;
    use std::io::Seek;
    f.seek(io::SeekFrom::Start(0)).ok()?;
    let bytes = dir::read_capped(file, process::MAX_RECORD).ok()??;
    Holder::parse(&bytes)
}

/// Who holds a lock we could not take, for messages: the recorded holder when
/// [`record_holds`] confirms it, else "another process" with the pids
/// `/proc/locks` names.
fn who_holds(file: &File) -> String {
    let record = holder_in(file);
    let st = rustix::fs::fstat(file).ok();
    let pids = st.as_ref().map(lock_pids).unwrap_or_default();
    match record {
        Some(h) if st.as_ref().is_some_and(|st| record_holds(&h, &pids, st)) => {
            format!("held by {}", h.describe())
        }
        _ if pids.is_empty() => "held by another process".to_owned(),
        _ => format!(
            "held by another process (pid {}; not a jsafe writer, or a reader with --lock)",
            pids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether the holder record `h` in the held lock file `st` names the process
/// that holds it now. The record is only what the last exclusive holder wrote:
/// that holder may have exited (a new holder writes its record only after
/// flock grants it, and a lock taken by flock(1) or a reader never writes
/// one), and its pid may since have gone to another process. So the record
/// counts only when
/// - its process is alive here with the start time it recorded (a record
///   without a start time cannot be checked, and does not count), and
/// - `/proc/locks` names its pid among the holders (`pids`), or, when
///   `/proc/locks` named none (unreadable, or a line missed while other locks
///   came and went), the kernel lists a flock on this file among that
///   process's open files (`/proc/PID/fdinfo`).
///
/// A record from another host is taken as it is when `/proc/locks` names no
/// holder here (nothing on this host can check it); a pid `/proc` hides must
/// be named by `/proc/locks`.
pub(crate) fn record_holds(h: &Holder, pids: &[u32], st: &Stat) -> bool {
    let Some(alive) = process::liveness(&[h]).first().copied() else {
        return false;
    };
    match alive {
        process::Liveness::Dead | process::Liveness::Recycled => false,
        process::Liveness::OtherHost => pids.is_empty(),
        process::Liveness::Unknown => pids.contains(&h.pid),
        process::Liveness::Alive if h.start_time.is_none() => false,
        process::Liveness::Alive if !pids.is_empty() => pids.contains(&h.pid),
        process::Liveness::Alive => {
            process::holds_flock(h.pid, dir::dev(st), st.st_ino) == Some(true)
        }
    }
}

/// The pids holding a lock on the file `st` describes, from `/proc/locks`
/// (empty where it cannot be read). Waiters (`->` lines) are not holders.
pub(crate) fn lock_pids(st: &Stat) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    let dev = dir::dev(st);
    let want = format!(
        "{:02x}:{:02x}:{}",
        rustix::fs::major(dev),
        rustix::fs::minor(dev),
        st.st_ino
    );
    let mut pids: Vec<u32> = text
        .lines()
        .filter(|l| !l.contains("->"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // "1: FLOCK ADVISORY WRITE <pid> <maj:min:ino> <start> <end>"
            let pid = f.get(4)?.parse::<u32>().ok()?;
            (f.get(5) == Some(&want.as_str())).then_some(pid)
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn timeout_error(path: &Path, data: &Path, timeout: Duration, file: &File) -> Error {
    Error::new(
        Kind::LockTimeout,
        format!(
            "{}: lock not granted within {}, {} (lock file {}; raise --timeout, or see `jsafe status`)",
            data.display(),
            crate::time::human_precise(timeout),
            who_holds(file),
            path.display()
        ),
    )
}

fn lock_io_error(path: &Path, data: &Path, e: io::Error) -> Error {
    // The filesystem (some NFS set-ups) cannot lock: jsafe never goes on
    // without the lock.
    let hint = match e.raw_os_error() {
        Some(c)
            if c == rustix::io::Errno::NOLCK.raw_os_error()
                || c == rustix::io::Errno::OPNOTSUPP.raw_os_error() =>
        {
            "; this filesystem does not support locks (check with `jsafe test --dir`)"
        }
        _ => "",
    };
    Error::new(
        Kind::Io,
        format!(
            "{}: cannot lock {}: {e}{hint}",
            data.display(),
            path.display()
        ),
    )
    .with_source(e)
}

/// What [`probe`](crate::probe) found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// No lock file.
    None,
    /// A lock file nobody holds.
    Free,
    /// Held exclusively.
    Held,
    /// Held by shared (reading) holders.
    HeldShared,
    /// The lock file cannot be probed (the message says why).
    Error(String),
}

/// A lock file, probed without waiting and without creating anything.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Its path.
    pub path: PathBuf,
    /// Free, held, …
    pub state: State,
    /// The record in it (the last exclusive holder's, which may have exited).
    pub holder: Option<Holder>,
    /// Pids that hold it now, per `/proc/locks` (empty when free or unknown).
    pub pids: Vec<u32>,
    /// Held exclusively, and `holder` is confirmed to be the process that
    /// holds it now (alive with its recorded start time, and named by
    /// `/proc/locks` or, failing that, by its own `/proc/PID/fdinfo`). False when the record is
    /// an earlier holder's: it exited, its pid went to another process, or it
    /// let go and the new holder has not written its record (yet).
    pub holder_holds: bool,
    /// When an exclusive holder last took it (the file's mtime).
    pub modified: Option<SystemTime>,
}

/// Probe the lock of `key` in `locks`: take it exclusively without waiting and
/// let go at once; if that fails, someone holds it. Never creates the file.
pub(crate) fn probe(locks: Option<&Dir>, key: &OsStr) -> Probe {
    let name = layout::lock_name(key);
    let mut p = Probe {
        path: locks.map_or_else(|| PathBuf::from(&name), |l| l.join(&name)),
        state: State::None,
        holder: None,
        pids: Vec::new(),
        holder_holds: false,
        modified: None,
    };
    let Some(locks) = locks else {
        return p;
    };
    let file = match open(locks, &name, Missing::Fail) {
        Ok((f, _)) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return p,
        Err(e) => {
            p.state = State::Error(format!("cannot probe lock file {}: {e}", p.path.display()));
            return p;
        }
    };
    p.holder = holder_in(&file);
    p.modified = file.metadata().and_then(|m| m.modified()).ok();
    p.state = match try_take(&file, Mode::Exclusive) {
        Ok(true) => State::Free,
        Ok(false) => match try_take(&file, Mode::Shared) {
            Ok(true) => State::HeldShared,
            _ => State::Held,
        },
        Err(e) => State::Error(format!("cannot probe lock file {}: {e}", p.path.display())),
    };
    if matches!(p.state, State::Held | State::HeldShared)
        && let Ok(st) = rustix::fs::fstat(&file)
    {
        p.pids = lock_pids(&st);
        p.holder_holds = p.state == State::Held
            && p.holder
                .as_ref()
                .is_some_and(|h| record_holds(h, &p.pids, &st));
    }
    p
}

/// A free lock, held by the sweeper while it decides.
pub(crate) struct Free<'a> {
    /// The record in it.
    pub holder: Option<Holder>,
    /// Since an exclusive holder last took it.
    pub age: Duration,
    /// It did not exist: the sweeper made it only to hold it, and it is
    /// removed again whatever the decision.
    pub made_now: bool,
    /// The data directory, to remove temp files in while holding the lock.
    pub data_dir: &'a Dir,
}

/// What [`sweep`] did.
#[derive(Debug, PartialEq)]
pub(crate) enum Swept {
    /// There is no lock file (and none was made).
    Missing,
    /// Someone holds it: nothing was done. The record, and the holders'
    /// pids per `/proc/locks`.
    Held(Option<Holder>, Vec<u32>),
    /// The name was replaced between our open and our lock: left alone.
    Replaced,
    /// Free; the decision kept it.
    Kept,
    /// Free and removed (or, in a dry run, would be).
    Removed,
}

/// The sweeper's side of the protocol: take the lock of `key` without waiting;
/// when it is free and still linked, call `decide` while holding it (it may
/// remove the data file's dead temp files then) and unlink the lock file if it
/// says so (`dry_run`: not even then). A writer that opened the old inode gets
/// the lock after the unlink, sees that its inode is no longer linked and
/// starts again on a fresh lock file: sweeping beside live writers loses no
/// update. With `make`, a missing lock file is created to be held (and
/// removed again afterwards).
pub(crate) fn sweep(
    locks: &Dir,
    data_dir: &Dir,
    key: &OsStr,
    make: Option<NewLockFile>,
    dry_run: bool,
    decide: impl FnOnce(&Free) -> bool,
) -> io::Result<Swept> {
    let name = layout::lock_name(key);
    let existed = locks.lstat(&name)?.is_some();
    let missing = match make {
        Some(new) if !dry_run => Missing::Create(new),
        _ => Missing::Fail,
    };
    let file = match open(locks, &name, missing) {
        Ok((f, _)) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if dry_run && make.is_some() {
                // Would be made to be held: decide as if it were free.
                let free = Free {
                    holder: None,
                    age: Duration::ZERO,
                    made_now: true,
                    data_dir,
                };
                decide(&free);
            }
            return Ok(Swept::Missing);
        }
        Err(e) => return Err(e),
    };
    let made_now = !existed;
    if !try_take(&file, Mode::Exclusive)? {
        let pids = rustix::fs::fstat(&file)
            .map(|st| lock_pids(&st))
            .unwrap_or_default();
        return Ok(Swept::Held(holder_in(&file), pids));
    }
    if !still_linked(&file, locks, &name) {
        return Ok(Swept::Replaced);
    }
    let age = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(Duration::ZERO);
    let free = Free {
        holder: holder_in(&file),
        age,
        made_now,
        data_dir,
    };
    let remove = decide(&free) || made_now;
    if !remove {
        return Ok(Swept::Kept);
    }
    if !dry_run {
        match rustix::fs::unlinkat(locks.fd(), &name, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The lock is released here, after the unlink.
    drop(file);
    Ok(if made_now {
        Swept::Missing
    } else {
        Swept::Removed
    })
}

/// Whether `file` is (still) a usable lock file descriptor: for a lock handed
/// down by `jsafe lock` through an inherited descriptor.
pub(crate) fn adopt(file: File, locks: &Dir, key: &OsStr, mode: Mode) -> io::Result<Lock> {
    let name = layout::lock_name(key);
    if !still_linked(&file, locks, &name) {
        return Err(io::Error::other(
            "the inherited descriptor is not this file's lock",
        ));
    }
    check_lock_file(&rustix::fs::fstat(file.as_fd())?)?;
    let mine = holder_in(&file);
    Ok(Lock {
        file,
        path: locks.join(&name),
        mode,
        mine,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::unused_pid;

    /// A shorter record overwrites a longer one in one write, padded with
    /// spaces: readers get the new record, and the file does not shrink.
    #[test]
    fn a_shorter_record_is_padded_over_a_longer_one() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.json.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        record(&file, &Holder::me("update with a long command name"));
        let long = std::fs::metadata(&path).unwrap().len();
        record(&file, &Holder::me("merge"));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, long);
        assert!(bytes.ends_with(b" "));
        assert_eq!(holder_in(&file).unwrap().command, "merge");
        // A record longer than what is there extends the file.
        record(&file, &Holder::me(&"x".repeat(150)));
        assert!(std::fs::metadata(&path).unwrap().len() > long);
        assert_eq!(holder_in(&file).unwrap().command, "x".repeat(150));
    }

    /// When `/proc/locks` names no holder (it could not be read, or its line
    /// was missed while other locks came and went), a record counts only when
    /// its process is alive with its start time and holds a flock on the file.
    #[test]
    fn without_proc_locks_a_record_counts_only_when_its_process_holds_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.json.lock");
        std::fs::write(&path, "").unwrap();
        let st = rustix::fs::stat(&path).unwrap();
        let me = Holder::me("jsafe write");

        let mut dead = me.clone();
        dead.pid = unused_pid();
        assert!(!record_holds(&dead, &[], &st), "a dead writer");

        let open = File::open(&path).unwrap();
        // Open (as a waiter has it) but not locked.
        assert!(!record_holds(&me, &[], &st), "open, not locked");
        assert!(try_take(&open, Mode::Exclusive).unwrap());
        let mut recycled = me.clone();
        recycled.start_time = me.start_time.map(|t| t - 3600);
        assert!(!record_holds(&recycled, &[], &st), "a reused pid");
        let mut unchecked = me.clone();
        unchecked.start_time = None;
        assert!(!record_holds(&unchecked, &[], &st), "no start time");
        // The control: alive, its own start time, holding the lock.
        assert!(record_holds(&me, &[], &st));
        drop(open);
        assert!(!record_holds(&me, &[], &st), "let go of it");

        // With /proc/locks naming holders, the record's pid must be one.
        assert!(!record_holds(&me, &[unused_pid()], &st));
        assert!(record_holds(&me, &[me.pid], &st));

        // Another host's record: nothing here contradicts it unless
        // /proc/locks names a holder on this host.
        let mut remote = me.clone();
        remote.host = "some-other-host.invalid".to_owned();
        assert!(record_holds(&remote, &[], &st));
        assert!(!record_holds(&remote, &[me.pid], &st));
    }
}
