//! Finding managed files and their state, for `status` and `cleanup-locks`.
//!
//! Promises:
//! - [`walk`] lists directories recursively with `read_dir`, never follows a
//!   directory symlink, visits each directory once (by device and inode, so
//!   nested or repeated roots and bind-mount loops cost nothing), and never
//!   descends into a `.jsafe` directory: its content is listed once per data
//!   directory by [`list_state`].
//! - Nothing here creates, changes or locks anything. Errors of the walk (an
//!   unreadable directory) are collected as one line each, never fatal.
//! - A *managed* file is a name that has a lock file `.jsafe/locks/<name>.lock`,
//!   a backup directory `.jsafe/backups/<name>/`, or (read by `status`) an entry
//!   in that directory's journal.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::store::replace::TEMP_PREFIX;
use crate::store::{Holder, LOCK_SUFFIX, STATE_DIR};
use crate::time;

/// What one data directory holds, as far as jsafe cares.
#[derive(Debug, Default)]
pub struct Listing {
    pub dir: PathBuf,
    /// It has a `.jsafe` entry.
    pub has_state: bool,
    /// Regular files named `*.json` (not jsafe temp files).
    pub json_files: Vec<OsString>,
    /// Regular files named `.jsafe-tmp.*`: temp files of writes, live or dead.
    pub temp_files: Vec<OsString>,
    /// Symbolic links (to files, or to directories, which are not followed).
    pub links: Vec<OsString>,
}

/// The result of a walk.
#[derive(Debug, Default)]
pub struct Walk {
    /// Every directory read.
    pub dirs: Vec<Listing>,
    /// Paths given that are not directories (files, missing paths, links to files).
    pub files: Vec<PathBuf>,
    /// One line per directory or root that could not be read.
    pub errors: Vec<String>,
    /// Roots that could be looked at, at least in part.
    pub roots_scanned: usize,
}

/// The paths to look under: those given, or the current directory.
pub fn roots(given: &[PathBuf]) -> Vec<PathBuf> {
    if given.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        given.to_vec()
    }
}

/// Walk `roots`: directories recursively, anything else as a file given directly.
pub fn walk(roots: &[PathBuf]) -> Walk {
    let mut out = Walk::default();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    for root in roots {
        // A root that is a symlink to a directory is followed: the user named it.
        match fs::metadata(root) {
            Ok(m) if m.is_dir() => {
                if walk_tree(root, &mut seen, &mut out) {
                    out.roots_scanned += 1;
                }
            }
            Ok(_) => {
                out.files.push(root.clone());
                out.roots_scanned += 1;
            }
            // Missing, or a dangling link: the file it names, reported as missing.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                out.files.push(root.clone());
                out.roots_scanned += 1;
            }
            Err(e) => out
                .errors
                .push(format!("cannot read {}: {e}", root.display())),
        }
    }
    out
}

/// Returns whether the root itself could be read.
fn walk_tree(root: &Path, seen: &mut HashSet<(u64, u64)>, out: &mut Walk) -> bool {
    let mut root_read = false;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let is_root = dir.as_path() == root;
        match fs::metadata(&dir) {
            Ok(m) => {
                if !seen.insert((m.dev(), m.ino())) {
                    root_read |= is_root;
                    continue;
                }
            }
            Err(e) => {
                out.errors
                    .push(format!("cannot read directory {}: {e}", dir.display()));
                continue;
            }
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                out.errors
                    .push(format!("cannot read directory {}: {e}", dir.display()));
                continue;
            }
        };
        root_read |= is_root;
        let mut listing = Listing {
            dir: dir.clone(),
            ..Listing::default()
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    out.errors
                        .push(format!("cannot read directory {}: {e}", dir.display()));
                    break;
                }
            };
            let name = entry.file_name();
            let Ok(kind) = entry.file_type() else {
                continue; // gone while we looked
            };
            if name == STATE_DIR {
                listing.has_state = true;
            } else if kind.is_dir() {
                stack.push(dir.join(&name));
            } else if kind.is_symlink() {
                listing.links.push(name);
            } else if kind.is_file() {
                if name.as_bytes().starts_with(TEMP_PREFIX.as_bytes()) {
                    listing.temp_files.push(name);
                } else if name.as_bytes().ends_with(b".json") {
                    listing.json_files.push(name);
                }
            }
        }
        out.dirs.push(listing);
    }
    root_read
}

/// What a `.jsafe` directory records, by data file name.
#[derive(Debug, Default)]
pub struct State {
    /// Names with a lock file.
    pub locks: HashSet<OsString>,
    /// Names with a backup directory.
    pub backups: HashSet<OsString>,
    /// Number of quarantined versions per name.
    pub quarantined: HashMap<OsString, usize>,
}

/// List `<state_dir>/locks`, `backups` and `quarantine` once each. Parts that
/// do not exist are empty; parts that cannot be read are named in the errors.
pub fn list_state(state_dir: &Path) -> (State, Vec<String>) {
    let mut state = State::default();
    let mut errors = Vec::new();
    let mut list = |sub: &str, each: &mut dyn FnMut(OsString, fs::FileType)| {
        let dir = state_dir.join(sub);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                errors.push(format!("cannot read directory {}: {e}", dir.display()));
                return;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) => {
                    if let Ok(kind) = entry.file_type() {
                        each(entry.file_name(), kind);
                    }
                }
                Err(e) => {
                    errors.push(format!("cannot read directory {}: {e}", dir.display()));
                    break;
                }
            }
        }
    };
    list("locks", &mut |name, _| {
        if let Some(data) = lock_target(&name) {
            state.locks.insert(data);
        }
    });
    list("backups", &mut |name, kind| {
        if kind.is_dir() {
            state.backups.insert(name);
        }
    });
    list("quarantine", &mut |name, _| {
        if let Some(data) = quarantine_target(&name) {
            *state.quarantined.entry(data).or_insert(0) += 1;
        }
    });
    (state, errors)
}

/// `x.json.lock` → `x.json`.
pub fn lock_target(lock_name: &OsStr) -> Option<OsString> {
    let b = lock_name.as_bytes();
    let stem = b.strip_suffix(LOCK_SUFFIX.as_bytes())?;
    (!stem.is_empty()).then(|| OsStr::from_bytes(stem).to_os_string())
}

/// `x.json.<stamp>.corrupt` → `x.json` (the quarantine naming of `store::backup`).
pub fn quarantine_target(name: &OsStr) -> Option<OsString> {
    let b = name.as_bytes().strip_suffix(b".corrupt")?;
    // A stamp is 26 bytes ("20261122T013046.123456789Z"), preceded by a dot.
    let cut = b.len().checked_sub(27)?;
    if cut == 0 || b[cut] != b'.' {
        return None;
    }
    let stamp = std::str::from_utf8(&b[cut + 1..]).ok()?;
    time::parse_stamp(stamp)?;
    Some(OsStr::from_bytes(&b[..cut]).to_os_string())
}

/// `.jsafe-tmp.x.json.Ab3dE6gH` → `x.json` (the temp naming of `store::replace`).
pub fn temp_target(name: &OsStr) -> Option<OsString> {
    let b = name.as_bytes().strip_prefix(TEMP_PREFIX.as_bytes())?;
    let dot = b.iter().rposition(|&c| c == b'.')?;
    let (data, random) = (&b[..dot], &b[dot + 1..]);
    if data.is_empty() || random.len() != 8 || !random.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(OsStr::from_bytes(data).to_os_string())
}

/// Open an existing lock file to probe it: read-only (flock needs no more),
/// never created, never through a symlink.
pub fn open_lock(lock_path: &Path) -> io::Result<File> {
    let nofollow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nofollow)
        .open(lock_path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The holder recorded in an open lock file.
pub fn holder_in(file: &File) -> Option<Holder> {
    let mut text = String::new();
    // A record is one short line; a lock file is never big unless something else wrote it.
    let mut limited = file.take(64 * 1024);
    limited.read_to_string(&mut text).ok()?;
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    Holder::from_json(&v)
}

/// A path for people: without a leading `./`.
pub fn shown(path: &Path) -> String {
    path.strip_prefix(".")
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_back_to_their_data_file() {
        assert_eq!(
            lock_target(OsStr::new("a.json.lock")),
            Some("a.json".into())
        );
        assert_eq!(lock_target(OsStr::new(".lock")), None);
        assert_eq!(lock_target(OsStr::new("a.json")), None);
        assert_eq!(
            quarantine_target(OsStr::new("a.b.json.20261122T013046.123456789Z.corrupt")),
            Some("a.b.json".into())
        );
        assert_eq!(quarantine_target(OsStr::new("a.json.2026.corrupt")), None);
        assert_eq!(
            temp_target(OsStr::new(".jsafe-tmp.a.b.json.Ab3dE6gH")),
            Some("a.b.json".into())
        );
        assert_eq!(temp_target(OsStr::new(".jsafe-tmp.a.json.short")), None);
        assert_eq!(temp_target(OsStr::new(".jsafe-tmp..Ab3dE6gH")), None);
        assert_eq!(shown(Path::new("./a/b.json")), "a/b.json");
        assert_eq!(shown(Path::new(".")), ".");
        assert_eq!(shown(Path::new("/x/./y")), "/x/./y");
    }

    #[test]
    fn walk_lists_state_and_skips_dir_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("sub/.jsafe/locks")).unwrap();
        fs::create_dir_all(root.join("sub/.jsafe/backups/a.json")).unwrap();
        fs::write(root.join("sub/.jsafe/locks/a.json.lock"), "").unwrap();
        fs::write(root.join("sub/.jsafe/locks/b.json.lock"), "").unwrap();
        fs::write(root.join("sub/a.json"), "{}").unwrap();
        fs::write(root.join("sub/.jsafe-tmp.a.json.Ab3dE6gH"), "").unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("loop")).unwrap();
        let w = walk(&[root.to_path_buf(), root.join("sub")]);
        assert!(w.errors.is_empty(), "{:?}", w.errors);
        assert_eq!(w.roots_scanned, 2);
        // root and sub, each once, although sub is also a root and linked.
        assert_eq!(w.dirs.len(), 2);
        let sub = w.dirs.iter().find(|l| l.dir.ends_with("sub")).unwrap();
        assert!(sub.has_state);
        assert_eq!(sub.json_files, vec![OsString::from("a.json")]);
        assert_eq!(sub.temp_files.len(), 1);
        let top = w.dirs.iter().find(|l| l.dir == root).unwrap();
        assert_eq!(top.links, vec![OsString::from("loop")]);
        let (state, errors) = list_state(&root.join("sub/.jsafe"));
        assert!(errors.is_empty());
        assert_eq!(state.locks.len(), 2);
        assert!(state.backups.contains(OsStr::new("a.json")));
    }
}
