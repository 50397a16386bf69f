//! Directory handles: the data directory is opened once, and everything the
//! store does afterwards is relative to it (`openat`, `mkdirat`, `linkat`,
//! `renameat`, `unlinkat`, `fstatat`), never through a path twice. `.jsafe`
//! and its parts are opened with `O_DIRECTORY|O_NOFOLLOW` and checked before
//! use; every state file is opened with `O_NOFOLLOW` and checked with `fstat`.
//!
//! The threat: local users who can write the data directory, or who once
//! could, plant symlinks, hard links, FIFOs and files in `.jsafe/` for a more
//! privileged jsafe (root, from cron) to follow. The rules:
//!
//! - A component of `.jsafe` that is a symlink, not a directory, writable by
//!   every user, or owned by an untrusted user is refused ([`Trust`]).
//! - The last component of a data file's path is followed by jsafe itself
//!   (a symlinked data file stays a link), under the kernel's
//!   `fs.protected_symlinks` rule: in a sticky world-writable directory, a
//!   link is followed only if it belongs to the follower or to the directory's
//!   owner. There, a file is replaced only by its owner or the directory's
//!   owner (`fs.protected_regular`, [`may_replace`]).
//! - Only regular files are data, state or backups; they are read no further
//!   than `fstat` said (a file that grows while read is re-checked, a few
//!   times, then refused).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use super::failpoint::{self, Step};
use super::layout::STATE_DIR;
use crate::error::{Error, Kind, Result, Untouched};

/// Symlink hops followed for one data file before giving up (as the kernel's
/// own limit).
const MAX_HOPS: usize = 40;
/// Rounds of re-reading a file that grows while it is read.
const MAX_GROWTH_ROUNDS: usize = 4;

/// An open directory and the path it was reached by (for messages only).
///
/// A directory this user may search but not read (mode 0711 of another
/// user) is opened with `O_PATH`: enough to reach, open, stat and create
/// entries in it (every `*at` call), as `cat dir/file` does. Listing it
/// ([`Dir::entries`]) and fsyncing it ([`Dir::sync`]) need read permission
/// and say so; a change in such a directory is refused before anything is
/// written ([`Dir::check_writable_durably`]).
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
    /// Opened with `O_PATH`: search permission only.
    search_only: bool,
}

/// Open a directory relative to `at` (or the current directory for an
/// absolute or cwd-relative path): read-only, or with `O_PATH` where this
/// user has search permission only. `flags` adds to `O_DIRECTORY|O_CLOEXEC`.
fn open_dir_at(
    at: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: OFlags,
) -> io::Result<(OwnedFd, bool)> {
    let open = |access: OFlags| {
        let all = access | flags | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match at {
            Some(fd) => rustix::fs::openat(fd, path, all, Mode::empty()),
            None => rustix::fs::open(path, all, Mode::empty()),
        }
    };
    match open(OFlags::RDONLY) {
        Ok(fd) => Ok((fd, false)),
        // O_PATH needs only search permission on it; with O_NOFOLLOW and
        // O_DIRECTORY it refuses a symlink or non-directory just the same.
        Err(rustix::io::Errno::ACCESS) => Ok((open(OFlags::PATH)?, true)),
        Err(e) => Err(e.into()),
    }
}

impl Dir {
    /// Open the directory at `path`, following symlinks in it: the user named it.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let (fd, search_only) = open_dir_at(None, path, OFlags::empty())?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
            search_only,
        })
    }

    /// Opened with search permission only (see the type's head).
    pub(crate) fn search_only(&self) -> bool {
        self.search_only
    }

    /// A change in this directory must be made durable with an fsync of it,
    /// which needs read permission: refused (exit 7) before anything is
    /// written where it is only searchable. `data` names the file.
    pub(crate) fn check_writable_durably(&self, data: &Path) -> Result<()> {
        if !self.search_only {
            return Ok(());
        }
        Err(Error::new(
            Kind::Io,
            format!(
                "{}: refused: this user may search directory {} but not read it, and a change needs read permission on it to fsync it (make it durable)",
                data.display(),
                self.path.display()
            ),
        )
        .unchanged(Untouched::Changed))
    }

    /// The path for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `path/name` for messages.
    pub(crate) fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// The descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// fstat of the directory itself.
    pub(crate) fn stat(&self) -> io::Result<Stat> {
        Ok(rustix::fs::fstat(&self.fd)?)
    }

    /// A subdirectory, never through a symlink. Not checked (the store checks state directories before use).
    pub(crate) fn child_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let (fd, search_only) =
            open_dir_at(Some(self.fd.as_fd()), Path::new(name), OFlags::NOFOLLOW)?;
        Ok(Dir {
            fd,
            path: self.path.join(name),
            search_only,
        })
    }

    /// lstat of an entry; None when there is none.
    pub(crate) fn lstat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Open an entry as a file: never through a symlink, never blocking on a
    /// FIFO or device, never becoming the controlling terminal (a planted
    /// tty node), closed on exec.
    pub(crate) fn open_file(&self, name: &OsStr, flags: OFlags, mode: Mode) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            mode,
        )?;
        Ok(File::from(fd))
    }

    /// Open an existing regular file for reading; None when there is none.
    /// Anything else under the name (symlink, FIFO, device, socket,
    /// directory) is an error, found without opening it.
    pub(crate) fn open_regular(&self, name: &OsStr) -> io::Result<Option<(File, Stat)>> {
        match self.lstat(name)? {
            None => return Ok(None),
            Some(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                return Err(not_regular(FileType::from_raw_mode(st.st_mode)));
            }
            Some(_) => {}
        }
        let file = match self.open_file(name, OFlags::RDONLY, Mode::empty()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // O_NOFOLLOW met a symlink put there since the lstat.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                return Err(not_regular(FileType::Symlink));
            }
            Err(e) => return Err(e),
        };
        let st = rustix::fs::fstat(&file)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Ok(Some((file, st))),
            other => Err(not_regular(other)),
        }
    }

    /// Names and types of the entries (without `.` and `..`).
    pub(crate) fn entries(&self) -> io::Result<Vec<(OsString, FileType)>> {
        if self.search_only {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "Permission denied: this user may search the directory but not read it, and listing it needs read permission",
            ));
        }
        let mut dir = rustix::fs::Dir::read_from(&self.fd)?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            out.push((OsStr::from_bytes(name).to_os_string(), entry.file_type()));
        }
        Ok(out)
    }

    /// fsync the directory: names created or removed in it become durable.
    pub(crate) fn sync(&self, step: Step) -> io::Result<()> {
        failpoint::hit(step)?;
        if self.search_only {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "Permission denied: fsync of a directory needs read permission on it",
            ));
        }
        Ok(rustix::fs::fsync(&self.fd)?)
    }
}

/// A stat's device number as u64, whatever width the platform gives it.
#[allow(clippy::useless_conversion)]
pub(crate) fn dev(st: &Stat) -> u64 {
    u64::from(st.st_dev)
}

/// What a file type is, for messages ("a symbolic link").
pub(super) fn describe(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        _ => "not a regular file",
    }
}

/// The error for a name that is not a regular file.
pub(super) fn not_regular(t: FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {}; jsafe only manages regular files", describe(t)),
    )
}

/// The mode `open(O_CREAT)` with 0666 gives a new file under this process's
/// umask: what a new data file gets, so what its lock file may have and
/// whether its content is readable by every user.
pub(super) fn new_file_mode() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let umask = *UMASK.get_or_init(|| {
        // umask(2) can only be read by setting it; set it back at once. A file
        // created by another thread meanwhile gets the stricter 077.
        let old = rustix::process::umask(Mode::from_raw_mode(0o077));
        rustix::process::umask(old);
        old.as_raw_mode()
    });
    0o666 & !umask
}

/// Read a regular file opened with its `fstat`: never more than the size it
/// reported at each round, no allocation trusted to a reported size that the
/// allocator refuses, and a file that keeps growing is refused.
/// From this size on, [`read_to_end`] asks for huge pages.
#[cfg(feature = "cli")]
const HUGE_READ: usize = 8 << 20;

pub(super) fn read_to_end(mut file: &File, st: &Stat, step: Step) -> io::Result<Vec<u8>> {
    failpoint::hit(step)?;
    let mut want = u64::try_from(st.st_size).unwrap_or(0);
    let mut bytes: Vec<u8> = Vec::new();
    for _ in 0..MAX_GROWTH_ROUNDS {
        let more = usize::try_from(want)
            .ok()
            .and_then(|w| w.checked_sub(bytes.len()))
            .ok_or_else(too_large)?;
        bytes.try_reserve_exact(more + 1).map_err(|_| too_large())?;
        // A big file is read into huge pages: far fewer page faults (the
        // 19 MB read of `read F` takes about a fifth less time).
        #[cfg(feature = "cli")]
        if bytes.is_empty() && more >= HUGE_READ {
            crate::sys::advise_huge_pages(bytes.spare_capacity_mut());
        }
        let limit = u64::try_from(more + 1).map_err(|_| too_large())?;
        file.by_ref().take(limit).read_to_end(&mut bytes)?;
        if (bytes.len() as u64) <= want {
            return Ok(bytes); // EOF at or before the size fstat gave
        }
        // It grew while we read: look again.
        let now = rustix::fs::fstat(file)?;
        want = u64::try_from(now.st_size)
            .unwrap_or(0)
            .max(bytes.len() as u64);
    }
    Err(io::Error::other("the file kept growing while it was read"))
}

/// From this size on, the version a change replaces has its cached pages
/// dropped before the new version is written ([`drop_cached`]).
pub(super) const DROP_CACHED_FROM: i64 = 8 << 20;

/// Drops the page cache of `file`, the version a change is about to
/// replace, once it has been read: from the rename on it is only a backup,
/// which only a restore reads again. The kernel frees its clean pages at
/// once (dirty ones, which no jsafe writer leaves, are written back and
/// kept), and the new version's temp file, written next, takes them from
/// the free lists. Otherwise every change of a big file takes as much
/// memory again as the file's size, and a virtual machine that hands free
/// memory back to its host (free page reporting, ballooning) has to fault
/// such memory in from the host first: writing a 19 MB temp file took
/// 30-50 ms that way instead of 4-5 ms (docs/decisions/page-cache.md).
/// Advice only: a failure changes nothing and is ignored.
pub(super) fn drop_cached(file: &File) {
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
}

/// Read at most `cap` bytes (a holder record); None when there are more.
pub(super) fn read_capped(mut file: &File, cap: usize) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::with_capacity(cap.min(4096) + 1);
    file.by_ref()
        .take(u64::try_from(cap + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() <= cap).then_some(bytes))
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        "the file is too large to read into memory",
    )
}

/// Whose `.jsafe` we trust: root, ourselves, the data file's owner and the
/// data directory's owner — and, in a group-writable directory without the
/// sticky bit, a state directory of the directory's group (any member could
/// have made it, and could change the data file directly anyway).
#[derive(Clone, Debug)]
pub(super) struct Trust {
    uids: [u32; 4],
    group_dir: Option<u32>,
}

impl Trust {
    /// The trust for files in `data_dir` (stat) whose data file is owned by
    /// `data_owner` (None: the file does not exist yet).
    pub(super) fn new(data_dir: &Stat, data_owner: Option<u32>) -> Trust {
        let me = rustix::process::geteuid().as_raw();
        let mode = data_dir.st_mode;
        let group_writable = mode & 0o020 != 0 && mode & 0o1000 == 0 && mode & 0o002 == 0;
        Trust {
            uids: [0, me, data_owner.unwrap_or(me), data_dir.st_uid],
            group_dir: group_writable.then_some(data_dir.st_gid),
        }
    }

    /// May a state directory or file with this owner be used?
    pub(super) fn owner_ok(&self, st: &Stat) -> bool {
        self.uids.contains(&st.st_uid) || self.group_dir == Some(st.st_gid)
    }

    /// Check a state directory: owned by someone trusted, not writable by
    /// every user. `what` names it in the error (".jsafe/locks").
    pub(super) fn check_dir(&self, dir: &Dir, what: &str, data: &Path) -> Result<()> {
        let st = dir
            .stat()
            .map_err(|e| Error::io("cannot check", dir.path(), e))?;
        if !self.owner_ok(&st) {
            return Err(refused(
                data,
                what,
                &format!(
                    "is owned by uid {}, not by the file's owner, the directory's owner or root",
                    st.st_uid
                ),
            ));
        }
        if st.st_mode & 0o002 != 0 {
            return Err(refused(data, what, "is writable by every user"));
        }
        Ok(())
    }
}

/// The error for a state component that cannot be used.
pub(super) fn refused(data: &Path, what: &str, why: &str) -> Error {
    Error::new(
        Kind::Io,
        format!(
            "{}: refused: {what} {why}; jsafe will not use it (remove or fix it, see the README's Security section)",
            data.display()
        ),
    )
}

/// How to create a state directory or file: mode bits, and (when running as
/// root in another user's directory) the owner it is given.
#[derive(Clone, Copy, Debug)]
pub(super) struct Creation {
    /// Directory mode (before the umask).
    pub dir_mode: u32,
    /// Owner and group given to what root creates; None: keep the creator's.
    pub owner: Option<(u32, u32)>,
}

impl Creation {
    /// State directories take the data directory's mode without write bits
    /// for every user; root gives what it creates to the directory's owner.
    pub(super) fn new(data_dir: &Stat) -> Creation {
        let root = rustix::process::geteuid().is_root();
        Creation {
            dir_mode: (data_dir.st_mode & 0o775) | 0o700,
            owner: (root && data_dir.st_uid != 0).then_some((data_dir.st_uid, data_dir.st_gid)),
        }
    }

    /// Give a freshly created file or directory its owner.
    pub(super) fn chown(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        if let Some((uid, gid)) = self.owner {
            rustix::fs::fchown(
                fd,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )?;
        }
        Ok(())
    }
}

/// Open (and with `create`, make) the state directory `parent/name`, checked.
/// None: it does not exist and `create` is None.
pub(super) fn state_dir(
    parent: &Dir,
    name: &OsStr,
    what: &str,
    trust: &Trust,
    create: Option<&Creation>,
    data: &Path,
) -> Result<Option<Dir>> {
    let dir = match parent.child_dir(name) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(c) = create else {
                return Ok(None);
            };
            let fail = |e: io::Error, what: &str, path: &Path| {
                Error::io(what, path, e)
                    .map_message(|m| format!("{}: {m}", data.display()))
                    .unchanged(Untouched::Changed)
            };
            failpoint::hit(Step::StateDir)
                .map_err(|e| fail(e, "cannot create", &parent.join(name)))?;
            match rustix::fs::mkdirat(parent.fd(), name, Mode::from_raw_mode(c.dir_mode)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(fail(e.into(), "cannot create", &parent.join(name))),
            }
            let d = parent
                .child_dir(name)
                .map_err(|e| component_error(data, what, parent, name, e))?;
            c.chown(d.fd())
                .map_err(|e| fail(e, "cannot give to the directory's owner", d.path()))?;
            d
        }
        Err(e) => return Err(component_error(data, what, parent, name, e)),
    };
    trust.check_dir(&dir, what, data)?;
    Ok(Some(dir))
}

/// The error for a state directory that could not be opened. `O_DIRECTORY`
/// meets a symlink (with `O_NOFOLLOW`) as ENOTDIR or ELOOP: the entry is
/// looked at again to say what it is.
fn component_error(data: &Path, what: &str, parent: &Dir, name: &OsStr, e: io::Error) -> Error {
    let code = e.raw_os_error();
    let loop_or_notdir = [rustix::io::Errno::LOOP, rustix::io::Errno::NOTDIR]
        .iter()
        .any(|c| code == Some(c.raw_os_error()));
    if !loop_or_notdir {
        return Error::io("cannot open", &parent.join(name), e)
            .map_message(|m| format!("{}: {m}", data.display()))
            .unchanged(Untouched::Changed);
    }
    let why = match parent.lstat(name) {
        Ok(Some(st)) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => "is not a directory".to_owned(),
            t => format!("is {}, not a directory", describe(t)),
        },
        _ => "is not a directory".to_owned(),
    };
    refused(data, what, &why)
}

/// A data file, resolved: its directory (open) and its name there.
#[derive(Debug)]
pub(super) struct Resolved {
    /// The directory holding the real file.
    pub dir: Dir,
    /// The real file's name in `dir`.
    pub name: OsString,
    /// fstat of `dir`.
    pub dir_stat: Stat,
}

impl Resolved {
    /// The `.jsafe` directory beside the file, checked; None when it does not
    /// exist and `create` is None.
    pub(super) fn state(
        &self,
        trust: &Trust,
        create: Option<&Creation>,
        data: &Path,
    ) -> Result<Option<Dir>> {
        state_dir(
            &self.dir,
            OsStr::new(STATE_DIR),
            STATE_DIR,
            trust,
            create,
            data,
        )
    }
}

/// Resolve `file`: open its directory and follow symlinks of its last
/// component ourselves (a dangling link names the file to create), under the
/// kernel's protected-symlinks rule.
pub(super) fn resolve(file: &Path) -> Result<Resolved> {
    let name = file
        .file_name()
        .filter(|_| !file.as_os_str().as_bytes().ends_with(b"/"))
        .ok_or_else(|| Error::new(Kind::Usage, format!("{}: not a file name", file.display())))?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut dir = open_data_dir(file, &parent)?;
    let mut name = name.to_os_string();
    for _ in 0..MAX_HOPS {
        let dir_stat = dir
            .stat()
            .map_err(|e| Error::io("cannot check", dir.path(), e))?;
        let st = dir
            .lstat(&name)
            .map_err(|e| Error::io("cannot check", &dir.join(&name), e))?;
        let Some(st) = st.filter(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
        else {
            return Ok(Resolved {
                dir,
                name,
                dir_stat,
            });
        };
        // fs.protected_symlinks: in a sticky world-writable directory, follow
        // only links of the follower or of the directory's owner.
        let me = rustix::process::geteuid().as_raw();
        let sticky_shared = dir_stat.st_mode & 0o1002 == 0o1002;
        if sticky_shared && st.st_uid != me && st.st_uid != dir_stat.st_uid {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{}: refused: {} is a symbolic link owned by uid {} in a shared sticky directory; it is followed only for its owner or the directory's owner (as the kernel's protected_symlinks rule)",
                    file.display(),
                    dir.join(&name).display(),
                    st.st_uid
                ),
            ));
        }
        let target = rustix::fs::readlinkat(dir.fd(), &name, Vec::new())
            .map_err(|e| Error::io("cannot follow", &dir.join(&name), e.into()))?;
        let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
        let Some(next_name) = target
            .file_name()
            .filter(|_| !target.as_os_str().as_bytes().ends_with(b"/"))
        else {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{}: the symbolic link {} does not name a file ({})",
                    file.display(),
                    dir.join(&name).display(),
                    target.display()
                ),
            ));
        };
        let next_name = next_name.to_os_string();
        dir = match target.parent() {
            Some(p) if p.as_os_str().is_empty() => dir,
            Some(p) if p.is_absolute() => open_data_dir(file, p)?,
            Some(p) => {
                let (fd, search_only) = open_dir_at(Some(dir.fd()), p, OFlags::empty())
                    .map_err(|e| Error::io("cannot follow", &dir.join(&name), e))?;
                Dir {
                    fd,
                    path: dir.join(p),
                    search_only,
                }
            }
            None => dir,
        };
        name = next_name;
    }
    Err(Error::new(
        Kind::Io,
        format!("{}: too many levels of symbolic links", file.display()),
    ))
}

/// The kernel's `fs.protected_regular` rule for a file about to be replaced:
/// in a sticky world-writable directory, only the file's owner or the
/// directory's owner replaces it. Anyone else is stopped there by the sticky
/// bit itself (the rename fails); root is not, and would put its data into
/// a file another user made in advance (`/tmp/state.json`), keeping that
/// user as its owner.
pub(super) fn may_replace(at: &Resolved, file_st: &Stat, given: &Path) -> Result<()> {
    let me = rustix::process::geteuid().as_raw();
    let sticky_shared = at.dir_stat.st_mode & 0o1002 == 0o1002;
    if !sticky_shared || file_st.st_uid == me || file_st.st_uid == at.dir_stat.st_uid {
        return Ok(());
    }
    Err(Error::new(
        Kind::Io,
        format!(
            "{}: refused: {} is owned by uid {} in a shared sticky directory; only its owner or the directory's owner changes it there (as the kernel's protected_regular rule)",
            given.display(),
            at.dir.join(&at.name).display(),
            file_st.st_uid
        ),
    )
    .unchanged(Untouched::Changed))
}

fn open_data_dir(file: &Path, dir: &Path) -> Result<Dir> {
    Dir::open(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::new(
            Kind::NotFound,
            format!(
                "{}: directory {} does not exist",
                file.display(),
                dir.display()
            ),
        ),
        io::ErrorKind::NotADirectory => Error::new(
            Kind::Io,
            format!("{}: {} is not a directory", file.display(), dir.display()),
        ),
        _ => Error::io("cannot open directory", dir, e),
    })
}
