//! The one place of this crate that needs `unsafe`: taking over a lock
//! descriptor inherited from a parent `jsafe lock` (named by number in
//! `JSAFE_LOCK_FD`), as the CLI does.

use std::os::fd::{FromRawFd, OwnedFd};

/// A descriptor of our own (closed on exec) for the inherited descriptor
/// number `raw`, sharing its open file description and so any flock held
/// through it. Err (EBADF) when `raw` is not open. The number itself is left
/// alone: code that does not know about us may use it.
pub fn inherited_fd(raw: i32) -> std::io::Result<OwnedFd> {
    if raw < 0 {
        return Err(std::io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on any number is defined (EBADF when it
    // is not open) and returns a new descriptor that nothing else owns.
    let new = unsafe { libc::fcntl(raw, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `new` was just created for us and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}
