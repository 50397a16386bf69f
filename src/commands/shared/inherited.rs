//! The lock of a FILE handed down by an enclosing `jsafe lock`: an
//! inherited descriptor named in `JSAFE_LOCK_FD=<fd>:<dev>:<ino>` (a
//! comma-separated list when `jsafe lock` runs inside another on a
//! different file). jsafe commands inside the locked command adopt it
//! instead of waiting for their own parent.

use std::ffi::OsStr;
use std::path::Path;

use crate::error::Result;
use crate::store::{self, Lock, Mode};

/// The environment variable naming inherited locks.
pub(crate) const ENV: &str = "JSAFE_LOCK_FD";
/// Most inherited locks looked at (nesting deeper than this is not adopted).
const MAX_ENTRIES: usize = 32;

/// The lock of `file` handed down by an enclosing `jsafe lock`, if any
/// (shared or exclusive, as the kernel says).
pub(crate) fn inherited(file: &Path) -> Result<Option<Lock>> {
    let Some(list) = std::env::var_os(ENV) else {
        return Ok(None);
    };
    for (fd, dev, ino) in entries(&list) {
        let Ok(own) = crate::sys::inherited_fd(fd) else {
            continue;
        };
        match rustix::fs::fstat(&own) {
            Ok(st) if store::dev(&st) == dev && st.st_ino == ino => {}
            _ => continue,
        }
        if let Some(lock) = store::adopt_lock(file, own)? {
            return Ok(Some(lock));
        }
    }
    Ok(None)
}

/// The inherited lock of `file` for a change: it must be exclusive.
pub(crate) fn inherited_for_change(file: &Path) -> Result<Option<Lock>> {
    match inherited(file)? {
        Some(l) if l.mode() == Mode::Shared => Err(store::shared_refusal(file)),
        other => Ok(other),
    }
}

/// `<fd>:<dev>:<ino>` entries; anything malformed is skipped.
fn entries(list: &OsStr) -> Vec<(i32, u64, u64)> {
    let Some(text) = list.to_str() else {
        return Vec::new();
    };
    text.split(',')
        .take(MAX_ENTRIES)
        .filter_map(|e| {
            let mut p = e.split(':');
            let fd = p.next()?.parse::<i32>().ok().filter(|&fd| fd > 2)?;
            let dev = p.next()?.parse::<u64>().ok()?;
            let ino = p.next()?.parse::<u64>().ok()?;
            p.next().is_none().then_some((fd, dev, ino))
        })
        .collect()
}
