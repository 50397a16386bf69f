//! Backups and quarantine.
//!
//! A backup is the replaced version itself, hard-linked into
//! `.jsafe/backups/<name>/<UTC stamp>.json` just before the rename: O(1) whatever
//! the size, and safe because jsafe never writes that inode again (it is replaced,
//! not rewritten). Where links are impossible, a copy that keeps the mode is made
//! (through a temp name, so a crash never leaves a half backup under a real name).
//! The newest `keep` are kept.
//!
//! A corrupt version is never backed up or deleted: it goes to
//! `.jsafe/quarantine/<name>.<stamp>.corrupt`, where nothing ever removes it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Paths;
use crate::error::{Error, Result};
use crate::json::{self, Value};
use crate::time;

/// One backup of a file.
#[derive(Clone, Debug)]
pub struct Backup {
    /// The name `restore --from` takes.
    pub name: String,
    pub path: PathBuf,
    /// When it was replaced (from its name).
    pub time: SystemTime,
    pub size: u64,
}

impl Backup {
    /// Its content, parsed, if it is valid JSON.
    pub fn load(&self) -> Option<(Vec<u8>, Value)> {
        let bytes = fs::read(&self.path).ok()?;
        let value = json::parse(&bytes).ok()?;
        Some((bytes, value))
    }
}

/// Back up the current version of `paths.real`; returns the backup's name.
pub fn take(paths: &Paths, keep: usize) -> Result<String> {
    let dir = paths.backups();
    let name = preserve(&paths.real, &dir, |t| format!("{}.json", time::stamp(t)))
        .map_err(|e| Error::io("cannot back up", &paths.real, &e))?;
    rotate(&dir, keep).map_err(|e| Error::io("cannot rotate backups in", &dir, &e))?;
    Ok(name)
}

/// Move the corrupt current version aside into quarantine; returns its path.
pub fn quarantine(paths: &Paths) -> Result<PathBuf> {
    let dir = paths.quarantine();
    let base = paths.name.to_string_lossy().into_owned();
    let name = preserve(&paths.real, &dir, |t| {
        format!("{base}.{}.corrupt", time::stamp(t))
    })
    .map_err(|e| Error::io("cannot quarantine", &paths.real, &e))?;
    Ok(dir.join(name))
}

/// Link (or copy) `src` into `dir` under a fresh name made by `name_for`.
fn preserve(src: &Path, dir: &Path, name_for: impl Fn(SystemTime) -> String) -> io::Result<String> {
    let mut t = SystemTime::now();
    for _ in 0..1000 {
        let name = name_for(t);
        let dest = dir.join(&name);
        match fs::hard_link(src, &dest) {
            Ok(()) => return Ok(name),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Same nanosecond as an earlier backup: the next one keeps names sorted.
                t += Duration::from_nanos(1);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !dir.exists() => {
                fs::create_dir_all(dir)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
            Err(_) => {
                // No hard links here (some FUSE and network filesystems): copy.
                let partial = dir.join(format!(".partial.{name}"));
                fs::copy(src, &partial)?;
                fs::rename(&partial, &dest)?;
                return Ok(name);
            }
        }
    }
    Err(io::Error::other("no free backup name"))
}

/// Delete all but the newest `keep` backups in `dir`.
pub fn rotate(dir: &Path, keep: usize) -> io::Result<()> {
    let mut names = backup_names(dir)?;
    if names.len() <= keep {
        return Ok(());
    }
    names.sort();
    let excess = names.len() - keep;
    for name in &names[..excess] {
        super::replace::remove_if_present(&dir.join(name))?;
    }
    Ok(())
}

fn backup_names(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name
            .strip_suffix(".json")
            .and_then(time::parse_stamp)
            .is_some()
        {
            names.push(name);
        }
    }
    Ok(names)
}

/// A file's backups, oldest first.
pub fn list(paths: &Paths) -> Result<Vec<Backup>> {
    let dir = paths.backups();
    let mut names =
        backup_names(&dir).map_err(|e| Error::io("cannot list backups in", &dir, &e))?;
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let Ok(meta) = fs::metadata(&path) else {
            continue; // rotated away while we looked
        };
        let time = name
            .strip_suffix(".json")
            .and_then(time::parse_stamp)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        out.push(Backup {
            name,
            path,
            time,
            size: meta.len(),
        });
    }
    Ok(out)
}

/// The newest backup that parses, with its content.
pub fn newest_valid(paths: &Paths) -> Result<Option<(Backup, Vec<u8>, Value)>> {
    Ok(list(paths)?
        .into_iter()
        .rev()
        .find_map(|b| b.load().map(|(bytes, v)| (b, bytes, v))))
}
