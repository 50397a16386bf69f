//! Backups and quarantine.
//!
//! A backup is the replaced version itself, hard-linked into
//! `.jsafe/backups/<key>/<seq>.<stamp>.json` before the new version is written:
//! O(1) whatever the size, and safe because jsafe never writes that inode again
//! (it is replaced, not rewritten). Where links are impossible, a copy with the
//! same mode and owner is made through a temp name. If the write then fails
//! before its rename, the link is removed again (`Taken::undo`): a failed
//! write leaves the backups as they were. Rotation to the newest `keep`
//! happens only after the new version is in place.
//!
//! A corrupt version is never backed up or deleted: it goes to
//! `.jsafe/quarantine/<key>.<stamp>.corrupt`, where nothing ever removes it.
//!
//! A write that stopped between its link and its rename leaves the current
//! version linked as a backup (or quarantined copy); the next write reuses
//! that link instead of making another, and counts such links as the file's
//! own when it checks for hard links.
//!
//! Read back ([`Backups`]) is only what jsafe could have written: a regular
//! file (not a symlink), with one link (more only when it is the current
//! version, as above), owned by the data file's owner or root, on the data
//! directory's device. Anything else in the directory is listed as untrusted
//! and never restored.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use super::dir::{self, Dir};
use super::failpoint::{self, Step};
use super::layout::{self, BackupName};
use crate::json;

/// One backup of a file, as listed.
#[derive(Clone, Debug)]
pub struct Backup {
    /// The name `restore --from` takes.
    pub name: String,
    /// Version order.
    pub seq: u64,
    /// When it was replaced (from its name).
    pub time: SystemTime,
    /// Size in bytes.
    pub size: u64,
    /// Why it is not restored, when it is not what jsafe writes.
    pub untrusted: Option<String>,
    ino: u64,
}

/// A file's backups: the directory (when it exists) and its entries, oldest
/// first.
#[derive(Debug)]
pub struct Backups {
    dir: Option<Dir>,
    /// Every entry whose name is a backup name, oldest first (trusted or not).
    pub list: Vec<Backup>,
}

/// Who may own a trusted backup, and where it must live.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expect {
    /// The data file's owner (or, for a missing file, the directory's).
    pub owner: u32,
    /// The data directory's device.
    pub dev: u64,
    /// The current data file's inode, if any (it may be linked here too).
    pub current_ino: Option<u64>,
}

impl Backups {
    /// List the backups in `dir` (None: there is no backup directory).
    pub(crate) fn read(dir: Option<Dir>, expect: &Expect) -> io::Result<Backups> {
        failpoint::hit(Step::BackupList)?;
        let Some(d) = dir else {
            return Ok(Backups {
                dir: None,
                list: Vec::new(),
            });
        };
        let mut list = Vec::new();
        for (name, _) in d.entries()? {
            let Some(parsed) = BackupName::parse(&name) else {
                continue;
            };
            let Some(st) = d.lstat(&name)? else {
                continue; // rotated away while we looked
            };
            list.push(Backup {
                name: name.to_string_lossy().into_owned(),
                seq: parsed.seq,
                time: parsed.time,
                size: u64::try_from(st.st_size).unwrap_or(0),
                untrusted: distrust(&st, expect),
                ino: st.st_ino,
            });
        }
        list.sort_by(|a, b| (a.seq, a.time, &a.name).cmp(&(b.seq, b.time, &b.name)));
        Ok(Backups { dir: Some(d), list })
    }

    /// The backup named `name`.
    pub fn find(&self, name: &str) -> Option<&Backup> {
        self.list.iter().find(|b| b.name == name)
    }

    /// The content of a trusted backup; an error for an untrusted one.
    pub fn load(&self, b: &Backup) -> io::Result<Vec<u8>> {
        if let Some(why) = &b.untrusted {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("not restored: {why}"),
            ));
        }
        let Some(d) = &self.dir else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let (file, st) = d
            .open_regular(OsStr::new(&b.name))?
            .ok_or(io::ErrorKind::NotFound)?;
        // The name may have been swapped for something else since the listing.
        if st.st_ino != b.ino {
            return Err(io::Error::other("it changed while being read"));
        }
        dir::read_to_end(&file, &st, Step::Read)
    }

    /// The content of a trusted backup if it is valid JSON.
    pub fn load_valid(&self, b: &Backup) -> Option<Vec<u8>> {
        let bytes = self.load(b).ok()?;
        json::validate(&bytes).ok()?;
        Some(bytes)
    }

    /// The newest trusted backup that is valid JSON, with its content.
    pub fn newest_valid(&self) -> Option<(&Backup, Vec<u8>)> {
        self.list
            .iter()
            .rev()
            .filter(|b| b.untrusted.is_none())
            .find_map(|b| self.load_valid(b).map(|bytes| (b, bytes)))
    }

    /// How many of the backups are the inode `ino` (the current data file,
    /// linked here by writes that stopped between backup and rename).
    pub(crate) fn links_to(&self, ino: u64) -> usize {
        self.list.iter().filter(|b| b.ino == ino).count()
    }

    pub(super) fn dir(&self) -> Option<&Dir> {
        self.dir.as_ref()
    }
}

fn distrust(st: &Stat, expect: &Expect) -> Option<String> {
    let t = FileType::from_raw_mode(st.st_mode);
    if t != FileType::RegularFile {
        return Some(dir::not_regular(t).to_string());
    }
    if st.st_uid != expect.owner && st.st_uid != 0 {
        return Some(format!(
            "owned by uid {}, not by the file's owner (uid {}) or root",
            st.st_uid, expect.owner
        ));
    }
    if dir::dev(st) != expect.dev {
        return Some("on another filesystem than the file".to_owned());
    }
    // The current version may have more names: its own, and backups or
    // quarantined copies of it left by writes that stopped before their
    // rename. Its content is what the data file shows anyway.
    let current = expect.current_ino == Some(st.st_ino);
    if st.st_nlink != 1 && !current {
        return Some(format!("has {} hard links (a backup has one)", st.st_nlink));
    }
    None
}

/// A backup just made, which the write may still take back.
#[derive(Debug)]
pub(super) struct Taken {
    /// Its name.
    pub name: String,
    /// It was there before this write (an earlier write stopped after linking
    /// it): an undo leaves it.
    reused: bool,
}

impl Taken {
    /// Remove it: the write failed before its rename.
    pub(super) fn undo(&self, backups: &Dir) {
        if !self.reused {
            let _ = rustix::fs::unlinkat(backups.fd(), self.name.as_str(), AtFlags::empty());
        }
    }
}

/// Keep the current version `data_name` (open as `data`, with content
/// `bytes`) as the next backup in `backups`.
pub(super) fn take(
    backups: &Backups,
    data_dir: &Dir,
    data_name: &OsStr,
    data: &Stat,
    bytes: &[u8],
) -> io::Result<Taken> {
    let dir = backups
        .dir()
        .ok_or_else(|| io::Error::other("no backup directory"))?;
    // A write that stopped between its backup and its rename already linked
    // this very version: that backup stands (one link per version, however
    // many writes were cut short).
    if let Some(b) = backups
        .list
        .iter()
        .rev()
        .find(|b| b.ino == data.st_ino && b.untrusted.is_none())
    {
        return Ok(Taken {
            name: b.name.clone(),
            reused: true,
        });
    }
    let mut seq = backups.list.iter().map(|b| b.seq).max().unwrap_or(0) + 1;
    for _ in 0..1000 {
        let name = BackupName {
            seq,
            time: SystemTime::now(),
        }
        .name();
        match preserve(
            dir,
            &name,
            data_dir,
            data_name,
            data,
            bytes,
            Step::BackupLink,
        ) {
            Ok(()) => {
                return Ok(Taken {
                    name,
                    reused: false,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => seq += 1,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free backup name"))
}

/// Move the corrupt current version aside into `quarantine`; returns the name
/// it got there.
pub(super) fn quarantine(
    quarantine: &Dir,
    key: &OsStr,
    data_dir: &Dir,
    data_name: &OsStr,
    data: &Stat,
    bytes: &[u8],
) -> io::Result<OsString> {
    // A write that stopped between quarantine and rename already kept this
    // very version: that copy stands.
    for (name, _) in quarantine.entries()? {
        if layout::quarantine_key(&name).as_deref() == Some(key)
            && matches!(quarantine.lstat(&name)?, Some(st) if st.st_ino == data.st_ino && st.st_dev == data.st_dev)
        {
            return Ok(name);
        }
    }
    let mut t = SystemTime::now();
    for _ in 0..1000 {
        let name = layout::quarantine_name(key, t);
        match preserve(
            quarantine,
            &name,
            data_dir,
            data_name,
            data,
            bytes,
            Step::BackupLink,
        ) {
            Ok(()) => return Ok(name),
            // Same nanosecond as an earlier one: the next keeps names in order.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => t += Duration::from_nanos(1),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free quarantine name"))
}

/// Link the data file into `dir` as `name`; where links are impossible, copy
/// `bytes` (its content) there with its mode and owner.
fn preserve(
    dir: &Dir,
    name: impl AsRef<OsStr>,
    data_dir: &Dir,
    data_name: &OsStr,
    data: &Stat,
    bytes: &[u8],
    step: Step,
) -> io::Result<()> {
    let name = name.as_ref();
    let linked = failpoint::hit(step)
        .map_err(|e| rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))
        .and_then(|()| {
            rustix::fs::linkat(data_dir.fd(), data_name, dir.fd(), name, AtFlags::empty())
        });
    match linked {
        Ok(()) => {
            // Linked by name: make sure it is the inode that was read.
            match dir.lstat(name)? {
                Some(st) if st.st_ino == data.st_ino && st.st_dev == data.st_dev => Ok(()),
                _ => {
                    let _ = rustix::fs::unlinkat(dir.fd(), name, AtFlags::empty());
                    copy(dir, name, data, bytes)
                }
            }
        }
        Err(rustix::io::Errno::EXIST) => Err(io::ErrorKind::AlreadyExists.into()),
        Err(
            e @ (rustix::io::Errno::NOSPC
            | rustix::io::Errno::DQUOT
            | rustix::io::Errno::ROFS
            | rustix::io::Errno::IO
            | rustix::io::Errno::NOENT),
        ) => Err(e.into()),
        // No hard links here (some FUSE and network filesystems, or
        // protected_hardlinks for a file we may replace but not write): copy.
        Err(_) => copy(dir, name, data, bytes),
    }
}

fn copy(dir: &Dir, name: &OsStr, data: &Stat, bytes: &[u8]) -> io::Result<()> {
    failpoint::hit(Step::BackupCopy)?;
    let mut partial = OsString::from(".partial.");
    partial.push(name);
    let _ = rustix::fs::unlinkat(dir.fd(), &partial, AtFlags::empty());
    let mode = data.st_mode & 0o7777;
    let mut f: File = dir.open_file(
        &partial,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
        Mode::from_raw_mode(mode & 0o666),
    )?;
    let done = (|| {
        f.write_all(bytes)?;
        super::replace::keep_mode_and_owner(&f, data)?;
        match rustix::fs::renameat_with(
            dir.fd(),
            &partial,
            dir.fd(),
            name,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::EXIST) => Err(io::ErrorKind::AlreadyExists.into()),
            Err(e) => Err(io::Error::from(e)),
        }
    })();
    if done.is_err() {
        let _ = rustix::fs::unlinkat(dir.fd(), &partial, AtFlags::empty());
    }
    done
}

/// Delete all but the newest `keep` trusted backups; `just_taken` is never
/// among those deleted. Untrusted entries are left alone (status reports
/// them).
pub(super) fn rotate(backups: &Backups, just_taken: Option<&str>, keep: usize) -> io::Result<()> {
    let Some(dir) = backups.dir() else {
        return Ok(());
    };
    let mut trusted: Vec<&str> = backups
        .list
        .iter()
        .filter(|b| b.untrusted.is_none())
        .map(|b| b.name.as_str())
        .collect();
    if let Some(t) = just_taken {
        trusted.push(t);
    }
    if trusted.len() <= keep {
        return Ok(());
    }
    let excess = trusted.len() - keep;
    for name in trusted.iter().take(excess) {
        if Some(*name) == just_taken {
            continue;
        }
        failpoint::hit(Step::Rotate)?;
        match rustix::fs::unlinkat(dir.fd(), *name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
