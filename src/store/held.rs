//! A lock held by another process of the same job: `jsafe lock FILE -- CMD`
//! takes FILE's lock and hands it to CMD as an inherited descriptor; jsafe
//! commands run inside CMD on the same FILE adopt it ([`adopt_lock`]) instead
//! of waiting for their own parent.
//!
//! flock(2) locks belong to an open file description, which an inherited
//! descriptor shares: a process holding such a descriptor holds the lock.
//! A descriptor is adopted only when it is open on FILE's lock file (same
//! device and inode as the name `.jsafe/locks/<key>.lock`, which a sweeper
//! never removes while it is held) and the lock is held *through it*: a
//! non-blocking flock(2) on that very descriptor, in the mode the lock is
//! held in, succeeds (for the description that holds it, taking a lock it
//! holds again changes nothing), and a fresh open of the lock file still
//! cannot take it. Anyone may open a lock file and name the descriptor in
//! `JSAFE_LOCK_FD`; such a forged, stale or foreign descriptor is ignored and
//! the lock is taken as usual (waiting for its real holder). Whether it is
//! held shared or exclusively is read from the kernel, not from the
//! environment.
//!
//! What this cannot tell apart: a descriptor that did not hold the lock but
//! gets it in that flock (the holder let go in between, or a shared lock,
//! which any number of descriptions may hold). Then the lock is really held
//! through it from that moment, so no other writer runs meanwhile; only the
//! process that forged the variable keeps that lock, through its own copy
//! of the descriptor, until it closes it.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{FlockOperation, OFlags};

use super::dir::Dir;
use super::layout::{self};
use super::lock::{self, Lock, Mode};
use super::{Target, dev};
use crate::error::{Error, Kind, Result, Untouched};

/// Adopt `fd`, an inherited descriptor, as `file`'s lock when it is one and
/// it is held (see the module head). None: it is not this file's lock (the
/// caller locks as usual). Creates nothing.
pub fn adopt_lock(file: &Path, fd: OwnedFd) -> Result<Option<Lock>> {
    let Ok(t) = Target::resolve_any(file) else {
        return Ok(None);
    };
    let Some(locks) = t.existing_locks()? else {
        return Ok(None);
    };
    let name = layout::lock_name(&t.key);
    let (Ok(mine), Ok(Some(named))) = (rustix::fs::fstat(&fd), locks.lstat(&name)) else {
        return Ok(None);
    };
    if dev(&mine) != dev(&named) || mine.st_ino != named.st_ino {
        return Ok(None);
    }
    let Some(mode) = held_through(&locks, &name, &fd) else {
        return Ok(None);
    };
    lock::adopt(std::fs::File::from(fd), &locks, &t.key, mode)
        .map(Some)
        .map_err(|e| Error::io("cannot use the inherited lock of", file, e))
}

/// How `fd` holds the lock file `name`: None unless the lock is held through
/// this very open file description (see the module head).
fn held_through(locks: &Dir, name: &OsStr, fd: &OwnedFd) -> Option<Mode> {
    let mode = held_mode(locks, name)?;
    let again = match mode {
        Mode::Exclusive => FlockOperation::NonBlockingLockExclusive,
        Mode::Shared => FlockOperation::NonBlockingLockShared,
    };
    // Refused (EWOULDBLOCK) for any description but the holder's.
    rustix::fs::flock(fd, again).ok()?;
    // Still held: our own open cannot take it.
    held_mode(locks, name)?;
    Some(mode)
}

/// How the lock file `name` is held now, asked through a descriptor of our
/// own: None when it is free (an inherited descriptor then holds nothing).
fn held_mode(locks: &Dir, name: &OsStr) -> Option<Mode> {
    let probe = locks
        .open_file(name, OFlags::RDONLY, rustix::fs::Mode::empty())
        .ok()?;
    if rustix::fs::flock(&probe, FlockOperation::NonBlockingLockExclusive).is_ok() {
        return None; // free; released when `probe` closes
    }
    if rustix::fs::flock(&probe, FlockOperation::NonBlockingLockShared).is_ok() {
        return Some(Mode::Shared);
    }
    Some(Mode::Exclusive)
}

/// `held`, checked to be exclusive: a change under a shared lock is refused
/// (a shared lock cannot become exclusive without letting others in).
pub(super) fn exclusive<'l>(held: &'l Lock, file: &Path) -> Result<&'l Lock> {
    match held.mode() {
        Mode::Exclusive => Ok(held),
        Mode::Shared => Err(shared_refusal(file)),
    }
}

/// The error for a change of `file` under the shared lock `jsafe lock
/// --shared` holds.
pub fn shared_refusal(file: &Path) -> Error {
    Error::new(
        Kind::LockTimeout,
        format!(
            "{}: refused: this runs under `jsafe lock --shared` on the file, and a shared lock cannot become exclusive (a change needs `jsafe lock` without --shared)",
            file.display()
        ),
    )
    .unchanged(Untouched::Changed)
}
