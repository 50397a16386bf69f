//! Atomic replace: the new bytes go to a temp file in the target's own
//! directory, get the original's mode (setuid/setgid/sticky included) and
//! owner/group where permitted, are fsynced, and are renamed over the target.
//! A directory that must be durable before the rename (the one the old
//! version was just linked into) is fsynced after the temp file, before the
//! rename. The caller then fsyncs the directory so the rename itself is
//! durable (after the journal line's fsync: see `super::settle`).
//!
//! The temp file is made with `O_TMPFILE` where the filesystem supports it: it
//! has no name while it is written, so a writer killed meanwhile leaves
//! nothing behind. It gets a name (`.jsafe-tmp.<key>.<random>`) only for the
//! instant between `linkat` and `renameat`. Elsewhere (FUSE, NFS, older
//! kernels) it is created with that name (`O_EXCL`, never through a symlink).
//! Either way the name is first written into the lock file's holder record,
//! and it is published to [`super::interrupt`] so that a signal handler can
//! remove it. The writer holds an flock(2) on its temp file until it is done:
//! the next writer of the file removes every temp file of the file whose
//! flock is free ([`remove_dead`]), i.e. whose writer is gone — however many
//! died, and even when a power cut took the holder record with it.
//!
//! On any failure before the rename the temp file is removed and the target is
//! untouched: a reader sees the old version or the new one, never a mix.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, Stat};

use super::dir::Dir;
use super::failpoint::{self, Step};
use super::{interrupt, layout};
use crate::json::Parts;

/// Where and how to write a new version.
pub(super) struct NewVersion<'a> {
    pub dir: &'a Dir,
    pub name: &'a std::ffi::OsStr,
    pub key: &'a std::ffi::OsStr,
    /// The version being replaced (None for a new file).
    pub old: Option<&'a Stat>,
    pub sync: bool,
    /// Told the temp file's name before it exists under it.
    pub announce: &'a dyn Fn(&std::ffi::OsStr),
    /// What must be durable before the rename, called once the temp file
    /// is fsynced (with `sync`): the fsync of the directory the old
    /// version was just linked into, or the wait for it.
    pub durable_first: Option<&'a dyn Fn() -> io::Result<()>>,
    /// Look at the temp file's times just before the rename, so that the
    /// rename stamps it with a fine-grained ctime (Linux 6.13 and later:
    /// a file whose times were looked at since its last change gets one),
    /// which the journal's `stat_after` needs (`journal::FileId::after_rename`).
    pub fine_ctime: bool,
}

/// Why a replace failed: before the rename, the target is untouched.
#[derive(Debug)]
pub(super) enum Failure {
    /// What failed, and why.
    Untouched(&'static str, io::Error),
}

/// Write `bytes` as the new version of `v.name` in `v.dir`.
pub(super) fn replace(v: &NewVersion, bytes: &Parts) -> Result<(), Failure> {
    use Failure::Untouched;
    let create_mode = v.old.map_or(0o666, |st| st.st_mode & 0o666);
    failpoint::hit(Step::TempCreate).map_err(|e| Untouched("cannot create a temp file for", e))?;
    let unnamed = rustix::fs::openat(
        v.dir.fd(),
        ".",
        OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
        Mode::from_raw_mode(create_mode),
    );
    match unnamed {
        Ok(fd) => {
            let file = File::from(fd);
            hold(&file)?;
            fill(&file, v, bytes)?;
            let temp = temp_name(v)?;
            (v.announce)(&temp);
            interrupt::set(v.dir.fd(), &temp);
            let linked = link_unnamed(&file, v.dir, &temp);
            if let Err(e) = linked {
                interrupt::clear();
                // A filesystem that makes unnamed files but cannot name them
                // (no /proc): write it again under a name.
                if e.kind() == io::ErrorKind::NotFound
                    || e.kind() == io::ErrorKind::PermissionDenied
                {
                    return named(v, bytes);
                }
                return Err(Untouched("cannot create a temp file for", e));
            }
            rename(v, &temp)
        }
        Err(
            rustix::io::Errno::OPNOTSUPP
            | rustix::io::Errno::ISDIR
            | rustix::io::Errno::INVAL
            | rustix::io::Errno::NOENT,
        ) => named(v, bytes),
        Err(e) => Err(Untouched("cannot create a temp file for", e.into())),
    }
}

/// The temp file created under its name from the start.
fn named(v: &NewVersion, bytes: &Parts) -> Result<(), Failure> {
    use Failure::Untouched;
    for _ in 0..16 {
        let temp = temp_name(v)?;
        (v.announce)(&temp);
        interrupt::set(v.dir.fd(), &temp);
        let file = match v.dir.open_file(
            &temp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Mode::from_raw_mode(v.old.map_or(0o666, |st| st.st_mode & 0o666)),
        ) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                interrupt::clear();
                return Err(Untouched("cannot create a temp file for", e));
            }
        };
        if let Err(f) = hold(&file).and_then(|()| fill(&file, v, bytes)) {
            remove(v.dir, &temp);
            interrupt::clear();
            return Err(f);
        }
        return rename(v, &temp);
    }
    Err(Untouched(
        "cannot create a temp file for",
        io::Error::other("no free temp file name"),
    ))
}

/// Content, mode, owner, fsync (then `durable_first`'s). The mode comes after the content: a write by
/// anyone but root clears setuid/setgid (the kernel's rule for written files).
fn fill(file: &File, v: &NewVersion, bytes: &Parts) -> Result<(), Failure> {
    use Failure::Untouched;
    failpoint::hit(Step::TempWrite).map_err(|e| Untouched("cannot write the new version of", e))?;
    let mut w = file;
    for part in bytes.iter() {
        w.write_all(part)
            .map_err(|e| Untouched("cannot write the new version of", e))?;
    }
    if let Some(old) = v.old {
        keep_mode_and_owner(file, old)
            .map_err(|e| Untouched("cannot keep the mode and owner of", e))?;
    }
    if v.sync {
        failpoint::hit(Step::TempFsync)
            .map_err(|e| Untouched("cannot fsync the new version of", e))?;
        rustix::fs::fsync(file)
            .map_err(|e| Untouched("cannot fsync the new version of", e.into()))?;
        if let Some(first) = v.durable_first {
            first().map_err(|e| Untouched("cannot fsync the backup directory of", e))?;
        }
    }
    Ok(())
}

fn rename(v: &NewVersion, temp: &std::ffi::OsStr) -> Result<(), Failure> {
    if v.fine_ctime {
        // Only for its side effect on the next ctime; a failure changes
        // nothing but that.
        let _ = rustix::fs::statat(v.dir.fd(), temp, AtFlags::SYMLINK_NOFOLLOW);
    }
    let renamed = failpoint::hit(Step::Rename)
        .and_then(|()| Ok(rustix::fs::renameat(v.dir.fd(), temp, v.dir.fd(), v.name)?));
    interrupt::clear();
    if let Err(e) = renamed {
        remove(v.dir, temp);
        return Err(Failure::Untouched("cannot rename the new version over", e));
    }
    Ok(())
}

/// Mark the temp file as a live writer's: an flock held until the file is
/// closed (after the rename), which dies with the process. A filesystem
/// without flock (some NFS mounts) is not an error: there the exclusive lock
/// of the data file is what keeps other writers away.
fn hold(file: &File) -> Result<(), Failure> {
    match rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) | Err(rustix::io::Errno::NOLCK | rustix::io::Errno::OPNOTSUPP) => Ok(()),
        Err(e) => Err(Failure::Untouched(
            "cannot create a temp file for",
            e.into(),
        )),
    }
}

/// Remove the temp files of `key` in `dir` whose writers are gone; returns
/// their names. Called by a writer holding the data file's exclusive lock,
/// which no other writer of the file can hold, on this host or (where the
/// lock reaches it) another: so every such temp file is a dead writer's. To
/// be safe also where that is not so — writers sharing one lock handed down
/// by `jsafe lock`, or a lock that does not reach another NFS client — a temp
/// file whose flock someone holds is left alone (its writer is alive), and so
/// is anything but a regular file.
pub(super) fn remove_dead(dir: &Dir, key: &std::ffi::OsStr) -> Vec<OsString> {
    let mut removed = Vec::new();
    let Ok(mut listing) = rustix::fs::Dir::read_from(dir.fd()) else {
        return removed;
    };
    // Only names with the temp prefix are copied out: a large directory
    // costs one pass of getdents and nothing more.
    let mut candidates = Vec::new();
    while let Some(Ok(entry)) = listing.read() {
        let name = entry.file_name().to_bytes();
        if !name.starts_with(layout::TEMP_PREFIX.as_bytes())
            || !matches!(entry.file_type(), FileType::RegularFile | FileType::Unknown)
        {
            continue;
        }
        let name = std::ffi::OsStr::from_bytes(name);
        if layout::temp_key(name).as_deref() == Some(key) {
            candidates.push(name.to_os_string());
        }
    }
    for name in candidates {
        let opened = dir
            .open_file(&name, OFlags::RDONLY, Mode::empty())
            .or_else(|_| dir.open_file(&name, OFlags::WRONLY, Mode::empty()));
        let Ok(f) = opened else {
            continue;
        };
        let regular = rustix::fs::fstat(&f)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
        if !regular {
            continue;
        }
        match rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) | Err(rustix::io::Errno::NOLCK | rustix::io::Errno::OPNOTSUPP) => {}
            Err(_) => continue, // held: a live writer's
        }
        if rustix::fs::unlinkat(dir.fd(), &name, AtFlags::empty()).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// Give an unnamed (`O_TMPFILE`) file the name `temp`.
fn link_unnamed(file: &File, dir: &Dir, temp: &std::ffi::OsStr) -> io::Result<()> {
    // Through /proc, which any user may do; AT_EMPTY_PATH would need
    // CAP_DAC_READ_SEARCH.
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file));
    match rustix::fs::linkat(
        rustix::fs::CWD,
        proc_path.as_str(),
        dir.fd(),
        temp,
        AtFlags::SYMLINK_FOLLOW,
    ) {
        Ok(()) => Ok(()),
        Err(_) if rustix::process::geteuid().is_root() => Ok(rustix::fs::linkat(
            file.as_fd(),
            "",
            dir.fd(),
            temp,
            AtFlags::EMPTY_PATH,
        )?),
        Err(e) => Err(e.into()),
    }
}

fn temp_name(v: &NewVersion) -> Result<OsString, Failure> {
    let mut raw = [0u8; layout::TEMP_RANDOM];
    rustix::rand::getrandom(&mut raw, rustix::rand::GetRandomFlags::empty())
        .map_err(|e| Failure::Untouched("cannot create a temp file for", e.into()))?;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let random: String = raw
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(layout::temp_name(v.key, &random))
}

/// Remove a temp file (best effort: it is ours and the write is failing).
pub(super) fn remove(dir: &Dir, temp: &std::ffi::OsStr) {
    let _ = rustix::fs::unlinkat(dir.fd(), temp, AtFlags::empty());
}

/// Give `file` the owner, group and full mode (setuid, setgid, sticky
/// included) of `old`. Only root can give a file away; anyone may keep a group
/// they belong to. When we are not allowed, the new version belongs to the
/// writer, as with any editor. The mode is set after the owner, because
/// changing the owner clears setuid/setgid.
pub(super) fn keep_mode_and_owner(file: &File, old: &Stat) -> io::Result<()> {
    let now = rustix::fs::fstat(file)?;
    if now.st_uid != old.st_uid || now.st_gid != old.st_gid {
        let root = rustix::process::geteuid().is_root();
        let uid = (root && now.st_uid != old.st_uid).then(|| rustix::fs::Uid::from_raw(old.st_uid));
        match rustix::fs::fchown(file, uid, Some(rustix::fs::Gid::from_raw(old.st_gid))) {
            Ok(()) => {}
            Err(rustix::io::Errno::PERM) if !root => {}
            Err(e) => return Err(e.into()),
        }
    }
    rustix::fs::fchmod(file, Mode::from_raw_mode(old.st_mode & 0o7777))?;
    Ok(())
}
