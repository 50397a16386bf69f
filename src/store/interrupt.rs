//! What a signal handler must clean up when the process is told to stop in the
//! middle of a write: the name of the temp file that exists at that moment,
//! if any. The store publishes it here for the instants a temp file has a
//! name; a program that ends on SIGINT/SIGTERM/SIGHUP calls [`in_flight`] from
//! its handler and removes it with `unlinkat(2)` (the `jsafe` binary does).
//!
//! Everything here is lock-free and allocation-free, so [`in_flight`] is
//! async-signal-safe. A handler may race with the write it interrupts: if the
//! rename already happened, the name is gone and the unlink fails harmlessly;
//! if the unlink comes first, the rename fails and the target is untouched.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};

/// Room for a file name (255 bytes on Linux filesystems) and its NUL.
pub(crate) const NAME_ROOM: usize = 256;

static DIR_FD: AtomicI32 = AtomicI32::new(-1);
static LEN: AtomicUsize = AtomicUsize::new(0);
static NAME: [AtomicU8; NAME_ROOM] = [const { AtomicU8::new(0) }; NAME_ROOM];

/// Publish `name` in `dir` as the temp file in flight.
pub(super) fn set(dir: BorrowedFd<'_>, name: &OsStr) {
    let bytes = name.as_bytes();
    if bytes.len() >= NAME_ROOM {
        return;
    }
    DIR_FD.store(-1, Ordering::SeqCst);
    for (slot, b) in NAME.iter().zip(bytes) {
        slot.store(*b, Ordering::Relaxed);
    }
    NAME[bytes.len()].store(0, Ordering::Relaxed);
    LEN.store(bytes.len(), Ordering::SeqCst);
    DIR_FD.store(dir.as_raw_fd(), Ordering::SeqCst);
}

/// No temp file has a name any more.
pub(super) fn clear() {
    DIR_FD.store(-1, Ordering::SeqCst);
}

/// The temp file in flight: the directory descriptor it lives in, with its
/// NUL-terminated name copied into `buf` (length without the NUL). None when
/// no temp file has a name. Async-signal-safe.
pub(crate) fn in_flight(buf: &mut [u8; NAME_ROOM]) -> Option<(RawFd, usize)> {
    let fd = DIR_FD.load(Ordering::SeqCst);
    if fd < 0 {
        return None;
    }
    let len = LEN.load(Ordering::SeqCst).min(NAME_ROOM - 1);
    for (b, slot) in buf.iter_mut().zip(NAME.iter()).take(len) {
        *b = slot.load(Ordering::Relaxed);
    }
    buf[len] = 0;
    // Cleared meanwhile: the name may be half overwritten; report nothing.
    (DIR_FD.load(Ordering::SeqCst) == fd).then_some((fd, len))
}
