//! Everything that touches the disk for a managed file.
//!
//! # The contract
//! Every change to a managed file is one call of [`transact`]; no command opens a
//! data file for writing, takes a lock or writes a backup on its own. In order:
//!
//! 1. **resolve** — a symlinked target is followed; the real file is replaced and
//!    the link stays a link. All state lives beside the real file in
//!    `<dir>/.jsafe/` ([`Paths`]).
//! 2. **lock** — exclusive lock on `.jsafe/locks/<name>.lock` ([`lock`]), waiting
//!    up to `timeout` (then [`Kind::LockTimeout`], naming the holder).
//! 3. **load** — read and parse the current bytes: [`Current::Missing`],
//!    [`Current::Valid`], or [`Current::Corrupt`]. A corrupt file stops the
//!    transaction ([`Kind::Corrupt`], nothing written) unless the options say to
//!    quarantine it (write, restore) or to recover from the newest valid backup.
//! 4. **change** — the caller's closure computes the new content.
//! 5. **render** — in the old file's formatting style; bytes identical to what is
//!    on disk end the transaction: nothing written, no backup, no journal line.
//! 6. **backup** — the version being replaced is hard-linked into
//!    `.jsafe/backups/<name>/` and the backups rotated ([`backup`]); a corrupt
//!    version goes to `.jsafe/quarantine/` instead, and is never deleted.
//! 7. **replace** — temp file in the same directory, fsync, rename, fsync of the
//!    directory ([`replace`]), then fsync of the backup directory.
//! 8. **journal** — one line appended to `.jsafe/journal.jsonl` ([`journal`]).
//! 9. **unlock** — the lock is dropped.
//!
//! # Failure
//! Any error before step 7's rename leaves the target as it was and removes the
//! temp file; the error carries the file's path, the next step for the user, and a
//! kind that maps to the exit code. `Ok` means the new version is on disk (unless
//! `sync` was turned off).

pub mod backup;
pub mod journal;
pub mod lock;
pub mod replace;

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Kind, Result};
use crate::json::{self, Indent, MAX_DEPTH, ParseError, Style, Value};
use crate::{process, time};

pub use lock::{Holder, Lock, Mode};

/// Name of the state directory beside managed files.
pub const STATE_DIR: &str = ".jsafe";
/// Suffix of lock files in `.jsafe/locks/`.
pub const LOCK_SUFFIX: &str = ".lock";

/// Where a file and its state live.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The path as the user gave it.
    pub given: PathBuf,
    /// The file that is read and replaced (symlinks of the last component followed).
    pub real: PathBuf,
    /// Directory of `real`.
    pub dir: PathBuf,
    /// File name of `real`.
    pub name: OsString,
}

impl Paths {
    /// Resolve `file`: follow symlinks of its last component (a dangling link names
    /// the file to create).
    pub fn resolve(file: &Path) -> Result<Paths> {
        let mut real = file.to_path_buf();
        let mut hops = 0;
        while let Ok(meta) = fs::symlink_metadata(&real) {
            if !meta.file_type().is_symlink() {
                break;
            }
            hops += 1;
            if hops > 40 {
                return Err(Error::new(
                    Kind::Io,
                    format!("{}: too many levels of symbolic links", file.display()),
                ));
            }
            let target = fs::read_link(&real).map_err(|e| Error::io("cannot follow", &real, &e))?;
            real = match real.parent() {
                Some(parent) if target.is_relative() => parent.join(target),
                _ => target,
            };
        }
        let name = real.file_name().map(|n| n.to_os_string()).ok_or_else(|| {
            Error::new(Kind::Usage, format!("{}: not a file name", file.display()))
        })?;
        let dir = match real.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Paths {
            given: file.to_path_buf(),
            real,
            dir,
            name,
        })
    }

    /// `<dir>/.jsafe`
    pub fn state(&self) -> PathBuf {
        self.dir.join(STATE_DIR)
    }
    /// `<dir>/.jsafe/locks/<name>.lock`
    pub fn lock(&self) -> PathBuf {
        let mut n = self.name.clone();
        n.push(LOCK_SUFFIX);
        self.state().join("locks").join(n)
    }
    /// `<dir>/.jsafe/backups/<name>/`
    pub fn backups(&self) -> PathBuf {
        self.state().join("backups").join(&self.name)
    }
    /// `<dir>/.jsafe/quarantine/`
    pub fn quarantine(&self) -> PathBuf {
        self.state().join("quarantine")
    }
    /// `<dir>/.jsafe/journal.jsonl`
    pub fn journal(&self) -> PathBuf {
        self.state().join(journal::FILE_NAME)
    }
}

/// What is on disk now.
#[derive(Debug)]
pub enum Current {
    Missing,
    Valid(Loaded),
    Corrupt { bytes: Vec<u8>, error: ParseError },
}

/// A valid current version.
#[derive(Debug)]
pub struct Loaded {
    pub bytes: Vec<u8>,
    pub value: Value,
    pub style: Style,
}

impl Current {
    /// The current value, if valid.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Current::Valid(l) => Some(&l.value),
            _ => None,
        }
    }

    /// Take the current value out (leaving null), if valid: a change that builds
    /// on it needs no copy of a large document. Bytes and style stay for rendering.
    pub fn take_value(&mut self) -> Option<Value> {
        match self {
            Current::Valid(l) => Some(std::mem::replace(&mut l.value, Value::Null)),
            _ => None,
        }
    }
}

/// What a change wants stored.
#[derive(Debug)]
pub enum Change {
    /// Leave the file as it is.
    Keep,
    /// Store this value, rendered in the file's style.
    Value(Value),
    /// Store exactly these bytes (a restored backup).
    Bytes(Vec<u8>),
}

/// What to do when the current file is not valid JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCorrupt {
    /// Stop with [`Kind::Corrupt`]; nothing written (merge, update).
    Fail,
    /// The change does not need the old content: quarantine it and go on (write, restore).
    Quarantine,
    /// Quarantine it, start from the newest valid backup, and go on (`--recover`).
    Recover,
}

/// How to run a transaction.
pub struct Options<'a> {
    /// Operation name for the journal ("merge", "update", …).
    pub operation: &'static str,
    pub timeout: Duration,
    /// Backups kept; 0 disables backups.
    pub keep: usize,
    pub sync: bool,
    pub journal: bool,
    /// Formatting override; None keeps the file's own style.
    pub indent: Option<Indent>,
    pub on_corrupt: OnCorrupt,
    /// Told who holds the lock when we have to wait.
    pub on_wait: &'a dyn Fn(Option<&Holder>),
}

/// What a transaction did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// A new version was written.
    pub changed: bool,
    /// Name of the backup of the replaced version.
    pub backup: Option<String>,
    /// Where a corrupt version was moved.
    pub quarantined: Option<PathBuf>,
    /// Name of the backup a corrupt file was recovered from.
    pub recovered_from: Option<String>,
    pub bytes_before: Option<u64>,
    pub bytes_after: u64,
    /// Problems that did not stop the change (a journal that could not be written).
    pub warnings: Vec<String>,
}

/// Read `path`: (content, metadata), or None when it does not exist.
pub fn read_file(path: &Path) -> Result<Option<(Vec<u8>, Metadata)>> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read", path, &e)),
    };
    let meta = f
        .metadata()
        .map_err(|e| Error::io("cannot read", path, &e))?;
    if meta.is_dir() {
        return Err(Error::new(
            Kind::Io,
            format!("{}: is a directory, not a JSON file", path.display()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    f.read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, &e))?;
    Ok(Some((bytes, meta)))
}

/// Parse loaded bytes into a [`Current`].
pub fn classify(bytes: Vec<u8>) -> Current {
    match json::parse(&bytes) {
        Ok(value) => {
            let style = Style::detect(&bytes);
            Current::Valid(Loaded {
                bytes,
                value,
                style,
            })
        }
        Err(error) => Current::Corrupt { bytes, error },
    }
}

/// The error for a corrupt target file; `stopped` says what was not done
/// ("nothing was written", "nothing was printed").
pub fn corrupt_error(file: &Path, error: &ParseError, stopped: &str) -> Error {
    Error::new(
        Kind::Corrupt,
        format!(
            "{}: not valid JSON ({error}); {stopped}. See `jsafe restore --list {0}`, restore with `jsafe restore --latest {0}`, or rerun with --recover",
            file.display()
        ),
    )
}

/// Run one change through lock → load → change → render → backup → replace →
/// journal → unlock. See the module head for the contract.
pub fn transact<F>(file: &Path, opts: &Options, change: F) -> Result<Outcome>
where
    F: FnOnce(&mut Current) -> Result<Change>,
{
    let started = Instant::now();
    let paths = Paths::resolve(file)?;
    if !paths.dir.is_dir() {
        return Err(Error::new(
            Kind::Io,
            format!(
                "{}: directory {} does not exist",
                file.display(),
                paths.dir.display()
            ),
        ));
    }
    let _lock = lock::acquire(
        &paths.lock(),
        file,
        Mode::Exclusive,
        opts.timeout,
        opts.on_wait,
    )?;

    let (disk, meta) = match read_file(&paths.real)? {
        Some((bytes, meta)) => (Some(bytes), Some(meta)),
        None => (None, None),
    };
    let mut outcome = Outcome {
        bytes_before: disk.as_ref().map(|b| b.len() as u64),
        ..Outcome::default()
    };
    let mut current = match &disk {
        None => Current::Missing,
        Some(bytes) => classify(bytes.clone()),
    };
    let mut disk_is_corrupt = false;
    if let Current::Corrupt { error, .. } = &current {
        disk_is_corrupt = true;
        match opts.on_corrupt {
            OnCorrupt::Fail => return Err(corrupt_error(file, error, "nothing was written")),
            OnCorrupt::Quarantine => {}
            OnCorrupt::Recover => {
                let Some((b, bytes, value)) = backup::newest_valid(&paths)? else {
                    return Err(Error::new(
                        Kind::Corrupt,
                        format!(
                            "{}: not valid JSON ({error}) and no valid backup to recover from; nothing was written (quarantined copies, if any, are in {})",
                            file.display(),
                            paths.quarantine().display()
                        ),
                    ));
                };
                outcome.recovered_from = Some(b.name);
                let style = Style::detect(&bytes);
                current = Current::Valid(Loaded {
                    bytes,
                    value,
                    style,
                });
            }
        }
    }

    let change = change(&mut current)?;
    let new_bytes = match change {
        Change::Keep => match &current {
            Current::Valid(l) => Some(l.bytes.clone()),
            _ => None,
        },
        Change::Bytes(b) => Some(b),
        Change::Value(v) => {
            if v.depth() > MAX_DEPTH {
                return Err(Error::bad_input(format!(
                    "{}: the new value is nested deeper than {MAX_DEPTH} levels; nothing was written",
                    file.display()
                )));
            }
            let mut style = match &current {
                Current::Valid(l) => l.style,
                Current::Missing => Style::new_file(),
                Current::Corrupt { bytes, .. } => {
                    let mut s = Style::new_file();
                    s.crlf = Style::detect(bytes).crlf;
                    s
                }
            };
            if let Some(indent) = opts.indent {
                style.indent = indent;
            }
            Some(json::render(&v, &style))
        }
    };
    // Nothing to write: the change kept a missing file missing, or its bytes are
    // the ones already on disk.
    let Some(new_bytes) = new_bytes else {
        return Ok(outcome);
    };
    if disk.as_deref() == Some(new_bytes.as_slice()) {
        return Ok(outcome);
    }

    // Where the replaced version was kept (backups or quarantine), if anywhere.
    let kept_in = match (&disk, disk_is_corrupt) {
        (None, _) => None,
        (Some(_), true) => {
            outcome.quarantined = Some(backup::quarantine(&paths)?);
            Some(paths.quarantine())
        }
        (Some(_), false) if opts.keep > 0 => {
            outcome.backup = Some(backup::take(&paths, opts.keep)?);
            Some(paths.backups())
        }
        (Some(_), false) => None,
    };
    replace::replace(&paths, &new_bytes, meta.as_ref(), opts.sync)?;
    // Exit 0 promises the backup too. After the data directory's fsync this one
    // is nearly free on journaling filesystems, which commit metadata in order
    // (the link went into the journal before the rename); before the rename it
    // would cost a full extra fsync on every write. The new version is in place
    // by now, so a failure here is a warning, not an error.
    if let (Some(dir), true) = (&kept_in, opts.sync)
        && let Err(e) = replace::sync_dir(dir)
    {
        outcome.warnings.push(format!(
            "{}: changed, but the backup could not be made durable: {e}",
            file.display()
        ));
    }
    outcome.changed = true;
    outcome.bytes_after = new_bytes.len() as u64;

    if opts.journal {
        let entry = journal_entry(&paths, opts, &outcome, disk.as_deref(), &new_bytes, started);
        if let Err(e) = journal::append(&paths.journal(), &entry) {
            outcome.warnings.push(format!(
                "{}: changed, but the journal {} could not be written: {e}",
                file.display(),
                paths.journal().display()
            ));
        }
    }
    Ok(outcome)
}

fn journal_entry(
    paths: &Paths,
    opts: &Options,
    outcome: &Outcome,
    old: Option<&[u8]>,
    new: &[u8],
    started: Instant,
) -> serde_json::Value {
    let result = if outcome.recovered_from.is_some() {
        "recovered"
    } else if outcome.quarantined.is_some() {
        "replaced-corrupt"
    } else {
        "ok"
    };
    let uid = rustix::process::getuid().as_raw();
    let user = process::user_name(uid);
    serde_json::json!({
        "time": time::rfc3339(SystemTime::now()),
        "op": opts.operation,
        "file": paths.given.to_string_lossy(),
        "file_name": paths.name.to_string_lossy(),
        "pid": std::process::id(),
        "uid": uid,
        "user": user,
        "host": process::host_name(),
        "bytes_before": outcome.bytes_before,
        "bytes_after": outcome.bytes_after,
        "sha256_before": old.map(journal::sha256_hex),
        "sha256_after": journal::sha256_hex(new),
        "backup": outcome.backup,
        "quarantined": outcome.quarantined.as_ref().map(|p| p.to_string_lossy()),
        "recovered_from": outcome.recovered_from,
        "duration_ms": (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        "result": result,
    })
}
