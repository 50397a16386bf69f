//! Rotating a JSON Lines log ([`rotate`]): `LOG` becomes `LOG.1` (older
//! ones shift to `LOG.2` … `LOG.<keep>`, the oldest beyond that are
//! removed) and a new empty `LOG` with the old one's mode and owner takes
//! its place.
//!
//! # The contract
//! 1. **resolve, state, lock** — as [`super::append`]: the same lock file,
//!    so an append waits while the log is moved and then opens the new log
//!    by name. No line is lost or split between two files: every append
//!    writes whole lines while holding that lock.
//! 2. **decide** — under the lock: a missing or empty log is never rotated;
//!    with `max_size`/`max_age` the log is rotated only when it is at least
//!    that big or that old (either one is enough).
//! 3. **shift** — rotated files beyond `keep` are removed, the others
//!    renamed one up, `LOG` renamed to `LOG.1` (with `keep` 0 it is
//!    removed), the new `LOG` created, the directory fsynced, one journal
//!    line written. Then the lock is released.
//! 4. **compress** (optional) — outside the lock, `LOG.1` is gzipped into
//!    a `.partial` file beside it and fsynced; the lock is taken again for
//!    a moment to rename it to `LOG.1.gz` and remove `LOG.1`, but only if
//!    `LOG.1` is still the file just rotated (a second rotation in between
//!    leaves it uncompressed: a warning, nothing lost).
//!
//! Only regular files are renamed or removed; a rotated file is never
//! written through its name.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode as FileMode, OFlags, Stat};

use super::dir::Dir;
use super::failpoint::Step;
use super::{Options, Outcome, State, Target, replace};
use crate::error::{Error, Kind, Result, Untouched};

/// How to rotate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rotation {
    /// Rotated files kept (`LOG.1` … `LOG.<keep>`); 0 drops the old lines.
    pub keep: usize,
    /// gzip `LOG.1` into `LOG.1.gz`.
    pub compress: bool,
    /// Rotate only when the log has at least this many bytes…
    pub max_size: Option<u64>,
    /// …or was started at least this long ago.
    pub max_age: Option<Duration>,
}

/// What a rotation did.
#[derive(Debug, Default)]
pub(crate) struct Rotated {
    /// The log was moved to `LOG.1` (or dropped with `keep` 0).
    pub rotated: bool,
    /// Why not, when it was not rotated.
    pub skipped: Option<String>,
    /// Bytes the rotated log held.
    pub bytes: u64,
    /// Where the old lines went (`LOG.1` or `LOG.1.gz`; None with `keep` 0).
    pub moved_to: Option<PathBuf>,
    /// Rotated files removed because they were beyond `keep`.
    pub removed: Vec<PathBuf>,
    /// Problems that did not stop the rotation.
    pub warnings: Vec<String>,
}

/// Rotate the JSON Lines log `file`. See the module head.
pub(crate) fn rotate(file: &Path, opts: &Options, how: &Rotation) -> Result<Rotated> {
    let started = Instant::now();
    let t = Target::resolve(file)?;
    let mut done = Rotated::default();
    if t.pre.is_none() {
        done.skipped = Some("no such file".to_owned());
        return Ok(done);
    }
    let state = State::open(&t)?;
    let mut outcome = Outcome::default();
    let lock = super::write_lock(&t, &state, opts, file, &mut outcome)?;
    let dir = &t.at.dir;
    let name = &t.at.name;
    let real = t.real();
    // Looked at again under the lock: the log as the appenders see it.
    let Some(st) = dir
        .lstat(name)
        .map_err(|e| Error::io("cannot check", &real, e))?
    else {
        done.skipped = Some("no such file".to_owned());
        return Ok(done);
    };
    may_rotate(file, &st)?;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if let Some(why) = reason_to_wait(dir, name, &st, size, how) {
        done.skipped = Some(why);
        return Ok(done);
    }

    let first = shift(dir, name, &real, how, &mut done)?;
    done.rotated = true;
    done.bytes = size;
    done.moved_to = (how.keep > 0).then(|| dir.join(&first));
    // The new, empty log, as the old one was. Should this fail, the next
    // append creates it: nothing is lost.
    if let Err(e) = new_empty(dir, name, &st) {
        done.warnings.push(format!(
            "{}: rotated, but the new empty log could not be created ({e}); the next append creates it",
            file.display()
        ));
    }
    if opts.sync
        && let Err(e) = dir.sync(Step::DirFsync)
    {
        return Err(super::not_durable_error(
            file,
            "cannot fsync the directory of",
            e,
        ));
    }
    if opts.journal {
        outcome.changed = true;
        outcome.bytes_before = Some(size);
        outcome.bytes_after = 0;
        if let Err(e) = super::journal_line(&state, &t, opts, &outcome, started) {
            done.warnings.push(format!(
                "{}: rotated, but the journal could not be written: {e}",
                file.display()
            ));
        }
    }
    // Appenders go on now; compressing is not theirs to wait for.
    drop(lock);

    if how.compress && how.keep > 0 {
        match compress(&t, &state, opts, &first, &mut outcome) {
            Ok(true) => done.moved_to = Some(dir.join(rotated_name(name, 1, true))),
            Ok(false) => done.warnings.push(format!(
                "{}: rotated again while it was being compressed; {} is left uncompressed",
                file.display(),
                dir.join(&first).display()
            )),
            Err(e) => done.warnings.push(format!(
                "{}: rotated, but {} could not be compressed: {}",
                file.display(),
                dir.join(&first).display(),
                e.message()
            )),
        }
    }
    Ok(done)
}

/// Shift: the rotated files beyond `keep` go, the others move one up, and
/// the log becomes `LOG.1` (or goes, with `keep` 0). Returns `LOG.1`'s name.
fn shift(
    dir: &Dir,
    name: &OsStr,
    real: &Path,
    how: &Rotation,
    done: &mut Rotated,
) -> Result<OsString> {
    // Shift: the oldest beyond `keep` go, the others move one up.
    for (i, gz) in rotated_files(dir, name) {
        if i >= how.keep {
            let old = rotated_name(name, i, gz);
            remove_regular(dir, &old).map_err(|e| {
                Error::io("cannot remove", &dir.join(&old), e)
                    .map_message(|m| format!("{m}; the log was not rotated"))
            })?;
            done.removed.push(dir.join(&old));
        }
    }
    for i in (1..how.keep).rev() {
        for gz in [false, true] {
            let from = rotated_name(name, i, gz);
            if is_regular(dir, &from) {
                let to = rotated_name(name, i + 1, gz);
                rustix::fs::renameat(dir.fd(), &from, dir.fd(), &to).map_err(|e| {
                    Error::io("cannot rename", &dir.join(&from), e.into())
                        .map_message(|m| format!("{m}; the log was not rotated"))
                })?;
            }
        }
    }
    let first = rotated_name(name, 1, false);
    if how.keep == 0 {
        remove_regular(dir, name)
    } else {
        rustix::fs::renameat(dir.fd(), name, dir.fd(), &first).map_err(io::Error::from)
    }
    .map_err(|e| {
        Error::io("cannot move", real, e).map_message(|m| format!("{m}; the log was not rotated"))
    })?;
    Ok(first)
}

/// Only a regular file with one name is rotated.
fn may_rotate(file: &Path, st: &Stat) -> Result<()> {
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind != FileType::RegularFile {
        return Err(super::append::not_regular_error(file, kind));
    }
    if st.st_nlink > 1 {
        return Err(Error::new(
            Kind::Io,
            format!(
                "{}: has {} hard links; rotating would leave the other names on the old lines",
                file.display(),
                st.st_nlink
            ),
        )
        .unchanged_so(Untouched::Changed));
    }
    Ok(())
}

/// Why the log is not rotated yet (None: rotate it).
fn reason_to_wait(dir: &Dir, name: &OsStr, st: &Stat, size: u64, how: &Rotation) -> Option<String> {
    if size == 0 {
        return Some("empty".to_owned());
    }
    if how.max_size.is_none() && how.max_age.is_none() {
        return None;
    }
    if how.max_size.is_some_and(|max| size >= max) {
        return None;
    }
    if let Some(max) = how.max_age {
        match started(dir, name, st) {
            Some(t) if SystemTime::now().duration_since(t).unwrap_or_default() >= max => {
                return None;
            }
            None => return None,
            Some(_) => {}
        }
    }
    let why = match (how.max_size, how.max_age) {
        (Some(_), Some(_)) => "smaller than --max-size and younger than --max-age",
        (Some(_), None) => "smaller than --max-size",
        _ => "younger than --max-age",
    };
    Some(format!("{why} ({size} bytes)"))
}

/// When the log was started: its birth time where the filesystem records
/// one, else the time of the last rotation (`LOG.1`'s or `LOG.1.gz`'s
/// change time, which the rotation's rename sets). None: unknown (never
/// rotated, no birth time), and the log counts as old.
fn started(dir: &Dir, name: &OsStr, st: &Stat) -> Option<SystemTime> {
    let _ = st;
    if let Ok(x) = rustix::fs::statx(
        dir.fd(),
        name,
        AtFlags::SYMLINK_NOFOLLOW,
        rustix::fs::StatxFlags::BTIME,
    ) && x.stx_mask & rustix::fs::StatxFlags::BTIME.bits() != 0
    {
        return time_of(x.stx_btime.tv_sec, x.stx_btime.tv_nsec);
    }
    [false, true]
        .iter()
        .filter_map(|&gz| dir.lstat(&rotated_name(name, 1, gz)).ok().flatten())
        .filter_map(|s| time_of(s.st_ctime, u32::try_from(s.st_ctime_nsec).unwrap_or(0)))
        .max()
}

fn time_of(secs: i64, nanos: u32) -> Option<SystemTime> {
    let secs = u64::try_from(secs).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos.min(999_999_999)))
}

/// `LOG.<i>` or `LOG.<i>.gz`.
pub(crate) fn rotated_name(name: &OsStr, i: usize, gz: bool) -> OsString {
    let mut n = name.to_os_string();
    n.push(format!(".{i}{}", if gz { ".gz" } else { "" }));
    n
}

/// The rotated files of `name` present in `dir` (index, gzipped), regular
/// files only, oldest first.
fn rotated_files(dir: &Dir, name: &OsStr) -> Vec<(usize, bool)> {
    let mut found: Vec<(usize, bool)> = dir
        .entries()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, t)| *t == FileType::RegularFile || *t == FileType::Unknown)
        .filter_map(|(entry, _)| {
            let rest = entry.as_bytes().strip_prefix(name.as_bytes())?;
            let rest = rest.strip_prefix(b".")?;
            let (digits, gz) = match rest.strip_suffix(b".gz") {
                Some(d) => (d, true),
                None => (rest, false),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits[0] == b'0' {
                return None;
            }
            let i: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
            Some((i, gz))
        })
        .filter(|&(i, gz)| is_regular(dir, &rotated_name(name, i, gz)))
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found
}

fn is_regular(dir: &Dir, name: &OsStr) -> bool {
    matches!(dir.lstat(name), Ok(Some(st)) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
}

fn remove_regular(dir: &Dir, name: &OsStr) -> io::Result<()> {
    if !is_regular(dir, name) {
        return Ok(());
    }
    match rustix::fs::unlinkat(dir.fd(), name, AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn new_empty(dir: &Dir, name: &OsStr, old: &Stat) -> io::Result<()> {
    let f = dir.open_file(
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
        FileMode::from_raw_mode(0o600),
    )?;
    replace::keep_mode_and_owner(&f, old)
}

/// gzip `LOG.1` (named `first`) into `LOG.1.gz`: written outside the lock,
/// named under it. Ok(false): `LOG.1` changed meanwhile; left as it is.
fn compress(
    t: &Target,
    state: &State,
    opts: &Options,
    first: &OsStr,
    outcome: &mut Outcome,
) -> Result<bool> {
    let dir = &t.at.dir;
    let shown = dir.join(first);
    let Some((src, st)) = dir
        .open_regular(first)
        .map_err(|e| Error::io("cannot read", &shown, e))?
    else {
        return Ok(false);
    };
    let gz = rotated_name(&t.at.name, 1, true);
    let mut partial = gz.clone();
    partial.push(format!(".{}.partial", std::process::id()));
    let written = write_gz(dir, &partial, &src, &st, opts.sync);
    if let Err(e) = written {
        let _ = rustix::fs::unlinkat(dir.fd(), &partial, AtFlags::empty());
        return Err(Error::io("cannot compress", &shown, e));
    }
    let lock = super::write_lock(t, state, opts, t.given, outcome)?;
    let same = matches!(dir.lstat(first), Ok(Some(now)) if now.st_ino == st.st_ino && now.st_dev == st.st_dev);
    if !same || is_regular(dir, &gz) {
        let _ = rustix::fs::unlinkat(dir.fd(), &partial, AtFlags::empty());
        return Ok(false);
    }
    let named = rustix::fs::renameat(dir.fd(), &partial, dir.fd(), &gz)
        .and_then(|()| rustix::fs::unlinkat(dir.fd(), first, AtFlags::empty()));
    drop(lock);
    if let Err(e) = named {
        let _ = rustix::fs::unlinkat(dir.fd(), &partial, AtFlags::empty());
        return Err(Error::io(
            "cannot rename the compressed copy of",
            &shown,
            e.into(),
        ));
    }
    if opts.sync {
        dir.sync(Step::DirFsync)
            .map_err(|e| Error::io("cannot fsync the directory of", &shown, e))?;
    }
    Ok(true)
}

fn write_gz(dir: &Dir, partial: &OsStr, src: &File, st: &Stat, sync: bool) -> io::Result<()> {
    let out = dir.open_file(
        partial,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
        FileMode::from_raw_mode(0o600),
    )?;
    replace::keep_mode_and_owner(&out, st)?;
    let mut enc = flate2::write::GzEncoder::new(&out, flate2::Compression::default());
    io::copy(&mut &*src, &mut enc)?;
    enc.finish()?.flush()?;
    if sync {
        out.sync_all()?;
    }
    Ok(())
}
