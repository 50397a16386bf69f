//! Finding managed files and their state, for `status` and `cleanup-locks`.
//!
//! Promises:
//! - [`walk`] goes down directories through handles (`openat` with
//!   `O_NOFOLLOW` from the parent), so a symlink is never followed below a
//!   root and no path is resolved twice; it visits each directory once (by
//!   device and inode), never descends into a `.jsafe` directory (its content
//!   is read once per data directory by [`StateView`]), never enters kernel
//!   pseudo-filesystems (`/proc`, `/sys`, …), and with `one_file_system` stays
//!   on each root's filesystem. Only the current path's directories are open
//!   at once.
//! - Nothing here creates, changes or locks anything (the sweeper's changes
//!   go through [`super::lock::sweep`]). Errors are collected as one line
//!   each, never fatal.
//! - A *managed* file is a name with a lock file `.jsafe/locks/<key>.lock`, a
//!   backup directory `.jsafe/backups/<key>/`, or (read by `status`) an entry
//!   in that directory's journal. [`managed`] maps all of them (and temp
//!   files) back to the data files they stand for, once, as [`Managed`]
//!   records that `status` and `cleanup-locks` both render.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::FileType;

use super::backup::{Backups, Expect};
use super::dir::{self, Dir, Trust};
use super::journal::{self, Entry};
use super::layout::{self, BACKUPS, LOCKS, QUARANTINE, SCHEMAS, STATE_DIR, TEMP_PREFIX};
use super::lock::{self, Probe};
use crate::error::Result;

/// What one data directory holds, as far as jsafe cares.
#[derive(Debug)]
pub(crate) struct Listing<'a> {
    /// The directory, open.
    pub dir: &'a Dir,
    /// It has a `.jsafe` entry.
    pub has_state: bool,
    /// Regular files named `*.json`, `*.jsonl`, `*.ndjson` (not temp files).
    pub json_files: Vec<OsString>,
    /// Regular files named `.jsafe-tmp.*`: temp files of writes, live or dead.
    pub temp_files: Vec<OsString>,
    /// Symbolic links (to files, or to directories, which are not followed).
    pub links: Vec<OsString>,
}

/// What [`walk`] found, handed to its visitor.
pub(crate) enum Found<'a> {
    /// A directory, listed.
    Dir(&'a Listing<'a>),
    /// A root that is not a directory: a file (or link to one) given directly.
    File(&'a Path),
}

/// How a walk went.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    /// One line per directory that could not be read.
    pub errors: Vec<String>,
    /// Roots that could be looked at, at least in part.
    pub roots_scanned: usize,
    /// Roots that do not exist.
    pub missing_roots: Vec<PathBuf>,
}

/// Walk `roots`: directories recursively, anything else as a file given
/// directly. See the module head.
pub(crate) fn walk(
    roots: &[PathBuf],
    one_file_system: bool,
    visit: &mut dyn FnMut(Found),
) -> Walked {
    let mut out = Walked::default();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    for root in roots {
        // A root that is a symlink to a directory is followed: the user named it.
        match Dir::open(root) {
            Ok(d) => {
                let dev = d.stat().map(|s| dir::dev(&s)).unwrap_or(0);
                let limit = one_file_system.then_some(dev);
                if walk_dir(&d, &mut seen, limit, &mut out, visit) {
                    out.roots_scanned += 1;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                visit(Found::File(root));
                out.roots_scanned += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A dangling link names a file that does not exist yet.
                if std::fs::symlink_metadata(root).is_ok() {
                    visit(Found::File(root));
                    out.roots_scanned += 1;
                } else {
                    out.missing_roots.push(root.clone());
                }
            }
            Err(e) => out
                .errors
                .push(format!("cannot read {}: {e}", root.display())),
        }
    }
    out
}

/// Returns whether `dir` itself could be read.
fn walk_dir(
    dir: &Dir,
    seen: &mut HashSet<(u64, u64)>,
    one_fs: Option<u64>,
    out: &mut Walked,
    visit: &mut dyn FnMut(Found),
) -> bool {
    let unreadable = |out: &mut Walked, e: io::Error| {
        out.errors.push(format!(
            "cannot read directory {}: {e}",
            dir.path().display()
        ));
        false
    };
    let st = match dir.stat() {
        Ok(st) => st,
        Err(e) => return unreadable(out, e),
    };
    if !seen.insert((dir::dev(&st), st.st_ino)) {
        return true;
    }
    if pseudo_filesystem(dir) || one_fs.is_some_and(|d| d != dir::dev(&st)) {
        return true;
    }
    let entries = match dir.entries() {
        Ok(e) => e,
        Err(e) => return unreadable(out, e),
    };
    let mut listing = Listing {
        dir,
        has_state: false,
        json_files: Vec::new(),
        temp_files: Vec::new(),
        links: Vec::new(),
    };
    let mut subdirs = Vec::new();
    for (name, mut kind) in entries {
        if kind == FileType::Unknown {
            // Some filesystems do not say in the listing.
            kind = match dir.lstat(&name) {
                Ok(Some(st)) => FileType::from_raw_mode(st.st_mode),
                _ => continue,
            };
        }
        let b = name.as_bytes();
        if b == STATE_DIR.as_bytes() {
            listing.has_state = true;
        } else if kind == FileType::Directory {
            subdirs.push(name);
        } else if kind == FileType::Symlink {
            listing.links.push(name);
        } else if kind == FileType::RegularFile {
            if b.starts_with(TEMP_PREFIX.as_bytes()) {
                listing.temp_files.push(name);
            } else if is_json_name(b) {
                listing.json_files.push(name);
            }
        }
    }
    visit(Found::Dir(&listing));
    subdirs.sort();
    for name in subdirs {
        match dir.child_dir(&name) {
            Ok(child) => {
                walk_dir(&child, seen, one_fs, out, visit);
            }
            // Replaced by a symlink since the listing, or gone: not followed.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => out.errors.push(format!(
                "cannot read directory {}: {e}",
                dir.join(&name).display()
            )),
        }
    }
    true
}

/// `*.json`, `*.jsonl`, `*.ndjson`.
pub(crate) fn is_json_name(b: &[u8]) -> bool {
    b.ends_with(b".json") || b.ends_with(b".jsonl") || b.ends_with(b".ndjson")
}

/// Kernel pseudo-filesystems, which hold no data files and can be endless.
fn pseudo_filesystem(dir: &Dir) -> bool {
    const MAGICS: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x1cd1,      // devpts
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0x7363_6673, // securityfs
        0xcafe_4a11, // bpf
        0x6165_676c, // pstore
        0x6265_6570, // configfs
        0x6573_5543, // fusectl
        0x1980_0202, // mqueue
        0x4249_4e4d, // binfmt_misc
    ];
    rustix::fs::fstatfs(dir.fd()).is_ok_and(|s| {
        #[allow(clippy::unnecessary_cast)]
        let t = s.f_type as i64;
        MAGICS.contains(&t)
    })
}

/// What one `.jsafe` directory records, read without creating anything.
#[derive(Debug, Default)]
pub(crate) struct StateView {
    locks: Option<Dir>,
    backups: Option<Dir>,
    schemas: Option<Dir>,
    state: Option<Dir>,
    /// Keys with a lock file.
    pub lock_keys: BTreeSet<OsString>,
    /// Keys with a backup directory.
    pub backup_keys: BTreeSet<OsString>,
    /// Number of quarantined versions per key.
    pub quarantined: HashMap<OsString, usize>,
    /// One line per part that could not be read or was refused.
    pub errors: Vec<String>,
}

impl StateView {
    /// The state of a listed directory: read when it has a `.jsafe` entry,
    /// else empty.
    pub(crate) fn of(listing: &Listing) -> StateView {
        if listing.has_state {
            StateView::open(listing.dir)
        } else {
            StateView::default()
        }
    }

    /// The state of the data directory `data` (`.jsafe` and its parts opened
    /// without following symlinks, checked as a write would check them;
    /// refused parts are reported in `errors` and not read).
    pub(crate) fn open(data: &Dir) -> StateView {
        let mut v = StateView::default();
        let Ok(dir_stat) = data.stat() else {
            return v;
        };
        let trust = Trust::new(&dir_stat, None);
        let shown = data.join(STATE_DIR);
        let state =
            match dir::state_dir(data, OsStr::new(STATE_DIR), STATE_DIR, &trust, None, &shown) {
                Ok(s) => s,
                Err(e) => {
                    v.errors.push(e.message().to_owned());
                    None
                }
            };
        let Some(state) = state else {
            return v;
        };
        let mut sub = |name: &str| -> Option<Dir> {
            let what = format!("{STATE_DIR}/{name}");
            match dir::state_dir(&state, OsStr::new(name), &what, &trust, None, &shown) {
                Ok(d) => d,
                Err(e) => {
                    v.errors.push(e.message().to_owned());
                    None
                }
            }
        };
        let locks = sub(LOCKS);
        let backups = sub(BACKUPS);
        let quarantine = sub(QUARANTINE);
        let schemas = sub(SCHEMAS);
        let mut list = |d: &Option<Dir>, each: &mut dyn FnMut(OsString, FileType)| {
            let Some(d) = d else {
                return;
            };
            match d.entries() {
                Ok(entries) => entries.into_iter().for_each(|(n, t)| each(n, t)),
                Err(e) => v
                    .errors
                    .push(format!("cannot read directory {}: {e}", d.path().display())),
            }
        };
        let mut lock_keys = BTreeSet::new();
        list(&locks, &mut |name, _| {
            if let Some(k) = layout::lock_key(&name) {
                lock_keys.insert(k);
            }
        });
        let mut backup_keys = BTreeSet::new();
        list(&backups, &mut |name, kind| {
            if kind == FileType::Directory {
                backup_keys.insert(name);
            }
        });
        let mut quarantined = HashMap::new();
        list(&quarantine, &mut |name, _| {
            if let Some(k) = layout::quarantine_key(&name) {
                *quarantined.entry(k).or_insert(0) += 1;
            }
        });
        v.lock_keys = lock_keys;
        v.backup_keys = backup_keys;
        v.quarantined = quarantined;
        v.locks = locks;
        v.backups = backups;
        v.schemas = schemas;
        v.state = Some(state);
        v
    }

    /// `.jsafe/locks`, if it exists and could be used.
    pub(crate) fn locks(&self) -> Option<&Dir> {
        self.locks.as_ref()
    }

    /// Probe the lock of `key`.
    pub(crate) fn probe(&self, key: &OsStr) -> Probe {
        lock::probe(self.locks.as_ref(), key)
    }

    /// The backups of `key`, read as `restore` reads them; `data_owner` and
    /// `data_ino` describe the data file (None when it is missing).
    pub(crate) fn backups(
        &self,
        data: &Dir,
        key: &OsStr,
        data_file: Option<&rustix::fs::Stat>,
    ) -> Result<Backups> {
        let dir_stat = data
            .stat()
            .map_err(|e| crate::error::Error::io("cannot check", data.path(), e))?;
        let expect = Expect {
            owner: data_file.map_or(dir_stat.st_uid, |s| s.st_uid),
            dev: dir::dev(&dir_stat),
            current_ino: data_file.map(|s| s.st_ino),
        };
        let dir = match &self.backups {
            None => None,
            Some(b) => {
                let trust = Trust::new(&dir_stat, data_file.map(|s| s.st_uid));
                let what = format!("{STATE_DIR}/{BACKUPS}/{}", key.to_string_lossy());
                dir::state_dir(b, key, &what, &trust, None, &data.join(key))?
            }
        };
        Backups::read(dir, &expect)
            .map_err(|e| crate::error::Error::io("cannot list the backups in", data.path(), e))
    }

    /// The schema attached to `key` (its bytes): None when there is none,
    /// Some(Err) when it cannot be read.
    pub(crate) fn schema(&self, key: &OsStr) -> Option<std::result::Result<Vec<u8>, String>> {
        let dir = self.schemas.as_ref()?;
        let name = layout::schema_name(key);
        match dir.open_regular(&name) {
            Ok(None) => None,
            Ok(Some((f, st))) => {
                if usize::try_from(st.st_size).map_or(true, |s| s > super::schema::MAX_SCHEMA) {
                    return Some(Err(format!("{} is too large", dir.join(&name).display())));
                }
                Some(
                    dir::read_to_end(&f, &st, super::Step::Read)
                        .map_err(|e| format!("cannot read {}: {e}", dir.join(&name).display())),
                )
            }
            Err(e) => Some(Err(format!(
                "cannot read {}: {e}",
                dir.join(&name).display()
            ))),
        }
    }

    /// The last journal entry per data file name.
    pub(crate) fn journal(&self) -> HashMap<String, Entry> {
        self.state
            .as_ref()
            .map(journal::last_entries)
            .unwrap_or_default()
    }
}

/// One data file of a directory and the state that names it: the file ↔
/// lock key ↔ backup key ↔ journal name ↔ temp files mapping. Its attached
/// schema, if any, is [`StateView::schema`] of its key.
#[derive(Debug)]
pub(crate) struct Managed {
    /// The data file's name in its directory (the key itself when no name
    /// of the directory has that key: a long name whose file is gone).
    pub name: OsString,
    /// Its key: the name of its lock file, backup directory, schema and
    /// temp files.
    pub key: OsString,
    /// It has a lock file in `.jsafe/locks/`.
    pub lock: bool,
    /// It has a backup directory in `.jsafe/backups/`.
    pub backups: bool,
    /// The directory's journal names it (looked at only when the journal
    /// was given).
    pub journal: bool,
    /// A regular file named `*.json`, `*.jsonl`, `*.ndjson` of the listing.
    pub json_named: bool,
    /// Its temp files (`.jsafe-tmp.<key>.*`), live or dead.
    pub temps: Vec<OsString>,
}

impl Managed {
    fn new(name: OsString, key: OsString) -> Managed {
        Managed {
            name,
            key,
            lock: false,
            backups: false,
            journal: false,
            json_named: false,
            temps: Vec::new(),
        }
    }

    /// Something in `.jsafe/` names it (not only a temp file or its name).
    pub(crate) fn has_state(&self) -> bool {
        self.lock || self.backups || self.journal
    }
}

/// Every data file of `listing` that its state (`view`, and `journal` when
/// given: the directory's last entry per name), its temp files or its
/// `*.json` name speak of, by name.
pub(crate) fn managed(
    listing: &Listing,
    view: &StateView,
    journal: Option<&HashMap<String, Entry>>,
) -> Vec<Managed> {
    let mut names = Names {
        listing,
        all: None,
        found: BTreeMap::new(),
    };
    for key in &view.lock_keys {
        names.by_key(key).lock = true;
    }
    for key in &view.backup_keys {
        names.by_key(key).backups = true;
    }
    for n in journal.into_iter().flat_map(HashMap::keys) {
        if let Some(name) = names.journal_name(n) {
            names.by_name(name).journal = true;
        }
    }
    for name in &listing.json_files {
        names.by_name(name.clone()).json_named = true;
    }
    for t in &listing.temp_files {
        if let Some(k) = layout::temp_key(t) {
            names.by_key(&k).temps.push(t.clone());
        }
    }
    names.found.into_values().collect()
}

/// The records of one directory as they are found.
struct Names<'a> {
    listing: &'a Listing<'a>,
    /// Every name of the directory, read only when the listing's names do
    /// not explain a key or a journal name.
    all: Option<Vec<OsString>>,
    found: BTreeMap<OsString, Managed>,
}

impl Names<'_> {
    fn all(&mut self) -> &[OsString] {
        self.all.get_or_insert_with(|| file_names(self.listing.dir))
    }

    /// The record of the file whose key is `key`.
    fn by_key(&mut self, key: &OsStr) -> &mut Managed {
        let listed = self
            .listing
            .json_files
            .iter()
            .chain(self.listing.temp_files.iter())
            .map(OsString::as_os_str);
        let name = name_of_key(key, listed)
            .or_else(|| name_of_key(key, self.all().iter().map(OsString::as_os_str)))
            .unwrap_or_else(|| key.to_os_string());
        self.found
            .entry(name.clone())
            .or_insert_with(|| Managed::new(name, key.to_os_string()))
    }

    /// The record of the file named `name`.
    fn by_name(&mut self, name: OsString) -> &mut Managed {
        self.found.entry(name.clone()).or_insert_with(|| {
            let key = layout::key(&name);
            Managed::new(name, key)
        })
    }

    /// The file a journal line's name `n` stands for. A journal line names
    /// a file of this directory; anything else in `file_name` is not ours to
    /// follow. The journal holds names as UTF-8 (a name that is not becomes
    /// lossy): such a name is the file whose lossy form it is, when there is
    /// one.
    fn journal_name(&mut self, n: &str) -> Option<OsString> {
        if n.is_empty() || n.contains('/') || n == "." || n == ".." {
            return None;
        }
        let lossy = |x: &&OsString| x.to_string_lossy() == n;
        if let Some(known) = self.found.keys().find(lossy) {
            return Some(known.clone());
        }
        let real = if n.contains(char::REPLACEMENT_CHARACTER) {
            self.all().iter().find(lossy).cloned()
        } else {
            None
        };
        Some(real.unwrap_or_else(|| OsString::from(n)))
    }
}

/// A file given directly (resolved), as a [`Managed`] record: its state in
/// `view` (and `journal`). Its temp files are not looked for (that reads its
/// whole directory): [`temp_files`] when they are wanted.
pub(crate) fn managed_file(
    fv: &FileView,
    view: &StateView,
    journal: Option<&HashMap<String, Entry>>,
) -> Managed {
    let mut m = Managed::new(fv.name.clone(), fv.key.clone());
    m.lock = view.lock_keys.contains(&fv.key);
    m.backups = view.backup_keys.contains(&fv.key);
    m.journal = journal.is_some_and(|j| j.contains_key(fv.name.to_string_lossy().as_ref()));
    m.json_named = is_json_name(fv.name.as_bytes());
    m
}

/// The temp files of the data file whose key is `key` in `dir`.
pub(crate) fn temp_files(dir: &Dir, key: &OsStr) -> Vec<OsString> {
    dir.entries()
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| layout::temp_key(n).as_deref() == Some(key))
        .collect()
}

/// The data file a key stands for among `names` (the directory's entries):
/// the key itself for short names, else the name whose key it is.
pub(crate) fn name_of_key<'a>(
    key: &'a OsStr,
    names: impl IntoIterator<Item = &'a OsStr>,
) -> Option<OsString> {
    if let Some(n) = layout::plain_name(key) {
        return Some(n.to_os_string());
    }
    names
        .into_iter()
        .find(|n| layout::is_key_of(key, n))
        .map(OsStr::to_os_string)
}

/// Names in `dir` that can be data files (regular files and symlinks), for
/// mapping a long name's key or a journal's lossy name back to the file when
/// the walk's listing does not hold it (a name that does not end in `.json`).
/// Empty when the directory cannot be read.
pub(crate) fn file_names(dir: &Dir) -> Vec<OsString> {
    dir.entries()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, t)| *t != FileType::Directory)
        .map(|(n, _)| n)
        .collect()
}

/// A data file's state directory view and where the file really is, for a
/// file given directly (symlinks of its last component followed as a write
/// follows them).
pub(crate) struct FileView {
    /// The real file's directory, open.
    pub dir: Dir,
    /// The real file's name.
    pub name: OsString,
    /// Its key.
    pub key: OsString,
}

/// Resolve a file given directly.
pub(crate) fn resolve(file: &Path) -> Result<FileView> {
    let r = dir::resolve(file)?;
    let key = layout::key(&r.name);
    Ok(FileView {
        dir: r.dir,
        name: r.name,
        key,
    })
}

/// Open a data file as status reads it: a regular file (anything else is an
/// error), read no further than `fstat` said. None when it is missing.
pub(crate) fn read_data(
    dir: &Dir,
    name: &OsStr,
) -> io::Result<Option<(rustix::fs::Stat, Vec<u8>)>> {
    let Some((file, st)) = dir.open_regular(name)? else {
        return Ok(None);
    };
    let bytes = dir::read_to_end(&file, &st, super::Step::Read)?;
    Ok(Some((st, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Lock keys (a long name's too), backup keys, temp files and `*.json`
    /// names come back as one record per data file, under its real name.
    #[test]
    fn managed_records_map_state_back_to_files() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let long = format!("{}.json", "l".repeat(240));
        let long_key = layout::key(OsStr::new(&long));
        assert_ne!(long_key, OsString::from(&long));
        fs::create_dir_all(d.join(".jsafe/locks")).unwrap();
        fs::create_dir_all(d.join(".jsafe/backups/b.json")).unwrap();
        fs::create_dir_all(d.join(".jsafe/backups/a.json")).unwrap();
        fs::write(d.join(".jsafe/locks/a.json.lock"), "").unwrap();
        fs::write(
            d.join(".jsafe/locks").join(layout::lock_name(&long_key)),
            "",
        )
        .unwrap();
        for f in ["a.json", long.as_str(), "c.json", "plain.json"] {
            fs::write(d.join(f), "{}").unwrap();
        }
        fs::write(d.join(".jsafe-tmp.c.json.Ab3dE6gH"), "").unwrap();
        let mut found = Vec::new();
        let mut errors = Vec::new();
        walk(&[d.to_path_buf()], false, &mut |f| {
            if let Found::Dir(listing) = f {
                let view = StateView::of(listing);
                errors.extend(view.errors.clone());
                found = managed(listing, &view, None);
            }
        });
        assert_eq!(errors, Vec::<String>::new());
        let names: Vec<String> = found
            .iter()
            .map(|m| m.name.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["a.json", "b.json", "c.json", long.as_str(), "plain.json"]
        );
        let by = |n: &str| found.iter().find(|m| m.name == OsStr::new(n)).unwrap();
        let a = by("a.json");
        assert!(a.lock && a.backups && a.json_named && a.has_state());
        let b = by("b.json");
        assert!(b.backups && !b.lock && !b.json_named);
        let c = by("c.json");
        assert!(!c.has_state() && c.json_named);
        assert_eq!(c.temps, [OsString::from(".jsafe-tmp.c.json.Ab3dE6gH")]);
        let l = by(&long);
        assert!(l.lock && l.json_named);
        assert_eq!(l.key, long_key);
        assert!(!by("plain.json").has_state());
    }
}
