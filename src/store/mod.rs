//! Everything that touches the disk for a managed file.
//!
//! # The contract
//! Every change to a managed file is one call of [`transact`]; nothing else
//! opens a data file for writing, takes its lock or writes a backup. In order:
//!
//! 1. **resolve** — the data directory is opened once; everything after is
//!    relative to that handle. A symlinked target is followed by jsafe itself
//!    (the real file is replaced, the link stays a link), under the kernel's
//!    protected-symlinks rule. Only a regular file is data: a directory, FIFO,
//!    socket or device is refused before anything is created.
//! 2. **state** — `<dir>/.jsafe` and its parts are opened without following
//!    symlinks, created when missing, and checked (owner, mode): see
//!    [`dir`](self) rules in the README's Security section.
//! 3. **lock** — exclusive lock on `.jsafe/locks/<key>.lock` ([`lock`]),
//!    waiting up to the timeout ([`Kind::LockTimeout`], naming the holder).
//!    The temp files of writers of this file that died are removed now.
//! 4. **load** — read the current bytes (no further than `fstat` says) and
//!    validate them without building a tree: [`Current::Missing`],
//!    [`Current::Valid`] or [`Current::Corrupt`]. A corrupt file stops the
//!    transaction ([`Kind::Corrupt`], nothing written) unless the options say
//!    to quarantine it or to recover from the newest valid backup. A file with
//!    a second hard link is refused unless splitting it is allowed.
//! 5. **change** — the caller's closure computes the new content.
//! 6. **render** — in the old file's formatting style; bytes identical to what
//!    is on disk end the transaction: nothing written, no backup, no journal.
//! 7. **backup** — the version being replaced is hard-linked into
//!    `.jsafe/backups/<key>/` under the next sequence number; a corrupt one
//!    goes to `.jsafe/quarantine/` instead, and is never deleted.
//! 8. **replace** — temp file in the same directory, fsync, rename, fsync of
//!    the directory, then of the backup directory ([`replace`](self)).
//! 9. **journal** — one line appended to `.jsafe/journal.jsonl` and fsynced,
//!    while step 8's directory fsyncs run on a helper thread (`settle`): a
//!    change that returns `Ok` keeps its line through a power cut.
//! 10. **rotate** — only now, with the new version in place: old backups
//!     beyond `keep` are removed.
//! 11. **unlock** — the lock is dropped.
//!
//! # Failure
//! - Any error before step 8's rename leaves the target, its backups and the
//!   journal as they were (a backup link made in step 7 is removed again) and
//!   removes the temp file. The error carries the file's path, the next step
//!   for the user, and a [`Kind`] that maps to an exit code.
//! - After the rename, a failed fsync is [`Kind::NotDurable`]: the message says
//!   the change is in place (a retry would apply it twice).
//! - A failed rotation or journal append after a durable change is a warning
//!   in [`Outcome::warnings`]; the result is `Ok`.
//! - `Ok` means the new version is on disk (unless `sync` was turned off).

mod append;
pub mod backup;
mod dir;
pub mod etcd;
mod failpoint;
pub mod forget;
mod held;
pub mod interrupt;
pub mod journal;
pub mod layout;
pub mod lines;
pub mod lock;
mod replace;
pub mod rotate;
pub mod scan;
pub mod schema;
pub mod watch;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rustix::fs::{FileType, Stat};

use crate::error::{Error, Kind, Result};
use crate::json::{self, Indent, MAX_DEPTH, ParseError, Style, Value};
use crate::{process, time};

pub use append::append;
pub use backup::{Backup, Backups};
pub use dir::{Dir, dev};
pub use failpoint::Step;
pub use held::{adopt_lock, shared_refusal};
pub use lines::Format;
pub use lock::{Lock, Mode};
pub use schema::{Schema, attach_schema, schema_of};

use dir::{Creation, Resolved, Trust};
use layout::{BACKUPS, LOCKS, QUARANTINE};

/// What is on disk now.
#[derive(Debug)]
pub enum Current {
    /// There is no file.
    Missing,
    /// A valid JSON document.
    Valid(Doc),
    /// Bytes that are not valid JSON.
    Corrupt {
        /// The bytes on disk.
        bytes: Vec<u8>,
        /// Where and why parsing fails.
        error: ParseError,
    },
}

/// A valid current version: its bytes, validated, and their formatting style.
/// The value is parsed only when asked for.
#[derive(Debug)]
pub struct Doc {
    /// Shareable, so that a reader can keep slices of it (strings of a
    /// filter's input) without a copy.
    bytes: Bytes,
    style: Style,
    format: Format,
}

impl Doc {
    /// The bytes on disk.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes on disk, shared (no copy). Holding them past the change
    /// makes the store copy the old version instead of reusing it.
    pub fn shared(&self) -> Bytes {
        self.bytes.clone()
    }

    /// The formatting style detected in them.
    pub fn style(&self) -> &Style {
        &self.style
    }

    /// The value, parsed now. A JSON Lines file has no one value: an error
    /// (read its lines with [`Doc::values`]).
    pub fn value(&self) -> Result<Value> {
        if self.format == Format::Lines {
            return Err(Error::bad_input(
                "a JSON Lines file holds one value per line, not one document",
            ));
        }
        json::parse(&self.bytes)
            .map_err(|e| Error::internal(format!("a validated document does not parse: {e}")))
    }

    /// How the bytes were validated: one document, or JSON Lines.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The values: the document's one value, or a JSON Lines file's values
    /// line by line (each parsed when the iterator reaches it).
    pub fn values(&self) -> Box<dyn Iterator<Item = Result<Value>> + '_> {
        match self.format {
            Format::Document => Box::new(std::iter::once(self.value())),
            Format::Lines => Box::new(lines::values(&self.bytes).map(|(n, l)| {
                json::parse(l).map_err(|e| {
                    Error::internal(format!("a validated line {n} does not parse: {e}"))
                })
            })),
        }
    }

    /// The bytes, giving up the document (no copy unless they are shared).
    pub fn into_bytes(self) -> Vec<u8> {
        Vec::from(self.bytes)
    }
}

impl Current {
    /// Classify loaded bytes: validated without building a tree.
    pub fn classify(bytes: Vec<u8>) -> Current {
        match json::validate(&bytes) {
            Ok(()) => {
                let style = Style::detect(&bytes);
                Current::Valid(Doc {
                    bytes: Bytes::from(bytes),
                    style,
                    format: Format::Document,
                })
            }
            Err(error) => Current::Corrupt { bytes, error },
        }
    }

    /// Classify loaded bytes as `format` says (JSON Lines: every line).
    pub fn classify_as(bytes: Vec<u8>, format: Format) -> Current {
        match format {
            Format::Document => Current::classify(bytes),
            Format::Lines => match lines::validate(&bytes) {
                Ok(()) => Current::Valid(Doc {
                    bytes: Bytes::from(bytes),
                    style: Style::new_file(),
                    format,
                }),
                Err(error) => Current::Corrupt { bytes, error },
            },
        }
    }

    /// The same bytes classified again as `format` (what `load` read is
    /// classified as a document).
    pub fn reclassify(self, format: Format) -> Current {
        match self {
            Current::Missing => Current::Missing,
            Current::Valid(d) if d.format == format => Current::Valid(d),
            Current::Valid(d) => Current::classify_as(Vec::from(d.bytes), format),
            Current::Corrupt { bytes, .. } => Current::classify_as(bytes, format),
        }
    }

    /// The current document, if valid.
    pub fn doc(&self) -> Option<&Doc> {
        match self {
            Current::Valid(d) => Some(d),
            _ => None,
        }
    }

    /// The current value, parsed, if valid.
    pub fn value(&self) -> Result<Option<Value>> {
        self.doc().map(Doc::value).transpose()
    }

    /// The current value, parsed, if valid (None also when it cannot be parsed).
    pub fn take_value(&self) -> Option<Value> {
        self.value().ok().flatten()
    }
}

/// What a change wants stored.
#[derive(Debug)]
pub enum Change {
    /// Leave the file as it is.
    Keep,
    /// Store this value, rendered in the file's style.
    Value(Value),
    /// Store exactly these bytes; the store checks that they are valid JSON.
    Bytes(Vec<u8>),
    /// Store these bytes, already proven valid (no second scan).
    Valid(json::Valid),
}

/// What to do when the current file is not valid JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCorrupt {
    /// Stop with [`Kind::Corrupt`]; nothing written (merge, update).
    Fail,
    /// The change does not need the old content: quarantine it and go on
    /// (write, restore).
    Quarantine,
    /// Quarantine it, start from the newest valid backup, and go on (`--recover`).
    Recover,
}

/// How to run a transaction. `Options::new("merge")` gives the defaults: wait
/// 30 s for the lock, keep 20 backups, fsync, journal, keep the file's style,
/// stop on a corrupt file, refuse to split hard links.
pub struct Options<'a> {
    operation: &'a str,
    timeout: Duration,
    keep: usize,
    sync: bool,
    journal: bool,
    indent: Option<Indent>,
    on_corrupt: OnCorrupt,
    split_links: bool,
    on_wait: Option<&'a dyn Fn(&str)>,
    held: Option<&'a Lock>,
    check: Option<&'a Check<'a>>,
}

/// A check of a change's new bytes (see [`Options::check`]).
pub type Check<'a> = dyn Fn(&[u8]) -> Result<()> + 'a;

impl<'a> Options<'a> {
    /// The defaults, for an operation named `operation` in the journal and the
    /// lock record ("merge", "update", …).
    pub fn new(operation: &'a str) -> Options<'a> {
        Options {
            operation,
            timeout: Duration::from_secs(30),
            keep: 20,
            sync: true,
            journal: true,
            indent: None,
            on_corrupt: OnCorrupt::Fail,
            split_links: false,
            on_wait: None,
            held: None,
            check: None,
        }
    }

    /// Longest wait for the lock (`Duration::MAX`: for ever).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Backups kept; 0 takes none.
    pub fn keep(mut self, keep: usize) -> Self {
        self.keep = keep;
        self
    }

    /// fsync the new version and directories (default); off is not durable.
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// Append a journal line (default).
    pub fn journal(mut self, journal: bool) -> Self {
        self.journal = journal;
        self
    }

    /// Format with this indent instead of the file's own style.
    pub fn indent(mut self, indent: Option<Indent>) -> Self {
        self.indent = indent;
        self
    }

    /// What a corrupt current file means.
    pub fn on_corrupt(mut self, on_corrupt: OnCorrupt) -> Self {
        self.on_corrupt = on_corrupt;
        self
    }

    /// Replace a file that has other hard links (they keep the old content).
    pub fn split_links(mut self, split: bool) -> Self {
        self.split_links = split;
        self
    }

    /// Called once, with who holds the lock, when the transaction must wait.
    pub fn on_wait(mut self, f: &'a dyn Fn(&str)) -> Self {
        self.on_wait = Some(f);
        self
    }

    /// Use this lock, already held exclusively on the file (by `jsafe lock`),
    /// instead of taking it.
    pub fn held(mut self, lock: Option<&'a Lock>) -> Self {
        self.held = lock;
        self
    }

    /// Check the new bytes before anything is kept or written (after the
    /// file's attached schema, if any, accepted them): an error refuses the
    /// change, nothing written. For [`append`], called on each new line.
    /// `jsafe --schema FILE` uses it for a one-off schema check.
    pub fn check(mut self, check: Option<&'a Check<'a>>) -> Self {
        self.check = check;
        self
    }
}

/// What a transaction did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Outcome {
    /// A new version was written.
    pub changed: bool,
    /// Name of the backup of the replaced version.
    pub backup: Option<String>,
    /// Where a corrupt version was moved.
    pub quarantined: Option<PathBuf>,
    /// Name of the backup a corrupt file was recovered from.
    pub recovered_from: Option<String>,
    /// Size before (None: there was no file).
    pub bytes_before: Option<u64>,
    /// Size after.
    pub bytes_after: u64,
    /// Temp files of writers that died, removed before this write.
    pub removed_temps: Vec<PathBuf>,
    /// Problems that did not stop the change (a journal that could not be written).
    pub warnings: Vec<String>,
}

/// A resolved data file: the real file's directory (open) and name, and what
/// is known about it.
struct Target<'p> {
    given: &'p Path,
    at: Resolved,
    key: OsString,
    /// lstat of the real file before anything was opened (None: missing).
    pre: Option<Stat>,
}

impl<'p> Target<'p> {
    /// Resolve for a change: a missing directory is an I/O error (jsafe
    /// creates no directories but its own).
    fn resolve(file: &'p Path) -> Result<Target<'p>> {
        let t = Target::resolve_any(file).map_err(|e| match e.kind() {
            Kind::NotFound => Error::new(Kind::Io, e.message().to_owned()),
            _ => e,
        })?;
        if let Some(st) = &t.pre {
            dir::may_replace(&t.at, st, file)?;
        }
        Ok(t)
    }

    /// Resolve; a missing directory is [`Kind::NotFound`].
    fn resolve_any(file: &'p Path) -> Result<Target<'p>> {
        let at = dir::resolve(file)?;
        let pre = at
            .dir
            .lstat(&at.name)
            .map_err(|e| Error::io("cannot check", &at.dir.join(&at.name), e))?;
        if let Some(st) = &pre {
            let t = FileType::from_raw_mode(st.st_mode);
            if t != FileType::RegularFile {
                return Err(Error::new(
                    Kind::Io,
                    format!(
                        "{}: {}; nothing was changed",
                        file.display(),
                        dir::not_regular(t)
                    ),
                ));
            }
        }
        let key = layout::key(&at.name);
        Ok(Target {
            given: file,
            at,
            key,
            pre,
        })
    }

    /// `.jsafe/locks` beside the file, checked, when it exists (created never).
    fn existing_locks(&self) -> Result<Option<Dir>> {
        let trust = self.trust();
        let Some(state) = self.at.state(&trust, None, self.given)? else {
            return Ok(None);
        };
        dir::state_dir(
            &state,
            OsStr::new(LOCKS),
            ".jsafe/locks",
            &trust,
            None,
            self.given,
        )
    }

    fn real(&self) -> PathBuf {
        self.at.dir.join(&self.at.name)
    }

    fn trust(&self) -> Trust {
        Trust::new(&self.at.dir_stat, self.pre.as_ref().map(|s| s.st_uid))
    }

    fn creation(&self) -> Creation {
        Creation::new(&self.at.dir_stat)
    }

    /// Read the current file as a regular file; None when missing.
    fn read(&self) -> Result<Option<(File, Stat, Vec<u8>)>> {
        self.read_checked(false)
    }

    /// [`Target::read`] for a change, under its lock: the file opened is
    /// checked again as [`Target::resolve`] checked the name before the
    /// lock (a regular file; its owner under the protected_regular rule),
    /// because in a shared sticky directory another user can make the file
    /// while the change waits for the lock. The fd read is the one checked.
    fn read_for_change(&self) -> Result<Option<(File, Stat, Vec<u8>)>> {
        self.read_checked(true)
    }

    fn read_checked(&self, for_change: bool) -> Result<Option<(File, Stat, Vec<u8>)>> {
        let real = self.real();
        let opened = self
            .at
            .dir
            .open_regular(&self.at.name)
            .map_err(|e| Error::io("cannot read", &real, e))?;
        let Some((file, st)) = opened else {
            return Ok(None);
        };
        if for_change {
            dir::may_replace(&self.at, &st, self.given)?;
        }
        let bytes = dir::read_to_end(&file, &st, Step::Read)
            .map_err(|e| Error::io("cannot read", &real, e))?;
        Ok(Some((file, st, bytes)))
    }

    fn backup_expect(&self, current: Option<&Stat>) -> backup::Expect {
        backup::Expect {
            owner: current.map_or(self.at.dir_stat.st_uid, |s| s.st_uid),
            dev: dir::dev(&self.at.dir_stat),
            current_ino: current.map(|s| s.st_ino),
        }
    }
}

/// The state directories a write uses, opened (and created) on demand.
struct State<'t> {
    t: &'t Target<'t>,
    trust: Trust,
    creation: Creation,
    root: Dir,
}

impl<'t> State<'t> {
    fn open(t: &'t Target<'t>) -> Result<State<'t>> {
        t.at.dir.check_writable_durably(t.given)?;
        let trust = t.trust();
        let creation = t.creation();
        let root =
            t.at.state(&trust, Some(&creation), t.given)?
                .ok_or_else(|| Error::internal("the state directory was not created"))?;
        Ok(State {
            t,
            trust,
            creation,
            root,
        })
    }

    /// `.jsafe/<name>`, opened or created, checked.
    fn sub(&self, name: &OsStr) -> Result<Dir> {
        self.open_sub(name, true)?
            .ok_or_else(|| Error::internal("a state directory was not created"))
    }

    /// `.jsafe/<name>` if it exists, checked (None: it does not).
    fn existing_sub(&self, name: &OsStr) -> Result<Option<Dir>> {
        self.open_sub(name, false)
    }

    fn open_sub(&self, name: &OsStr, create: bool) -> Result<Option<Dir>> {
        let what = format!("{}/{}", layout::STATE_DIR, name.to_string_lossy());
        dir::state_dir(
            &self.root,
            name,
            &what,
            &self.trust,
            create.then_some(&self.creation),
            self.t.given,
        )
    }

    /// How many entries of `.jsafe/quarantine` are this file's inode `ino`
    /// (left by writes that stopped between quarantine and rename).
    fn quarantined_links(&self, ino: u64) -> usize {
        let Ok(Some(q)) = self.existing_sub(OsStr::new(QUARANTINE)) else {
            return 0;
        };
        let Ok(entries) = q.entries() else {
            return 0;
        };
        entries
            .iter()
            .filter(|(name, _)| layout::quarantine_key(name).as_deref() == Some(&*self.t.key))
            .filter(|(name, _)| matches!(q.lstat(name), Ok(Some(st)) if st.st_ino == ino))
            .count()
    }

    /// `.jsafe/backups/<key>`, checked; created only with `create`.
    fn backups(&self, create: bool) -> Result<Option<Dir>> {
        let what = format!("{}/{BACKUPS}", layout::STATE_DIR);
        let creation = create.then_some(&self.creation);
        let Some(parent) = dir::state_dir(
            &self.root,
            OsStr::new(BACKUPS),
            &what,
            &self.trust,
            creation,
            self.t.given,
        )?
        else {
            return Ok(None);
        };
        let what = format!("{what}/{}", self.t.key.to_string_lossy());
        dir::state_dir(
            &parent,
            &self.t.key,
            &what,
            &self.trust,
            creation,
            self.t.given,
        )
    }

    fn lock_file(&self) -> lock::NewLockFile {
        let st = self.t.pre.as_ref();
        lock::NewLockFile {
            mode: st.map_or_else(dir::new_file_mode, |s| s.st_mode & 0o666),
            owner: self
                .creation
                .owner
                .map(|dir_owner| st.map_or(dir_owner, |s| (s.st_uid, s.st_gid))),
        }
    }
}

/// How many of the data file's links (inode `ino`) are jsafe's own: backups
/// and quarantined copies of the current version, left by writes that stopped
/// before their rename. The quarantine is looked at only when the backups do
/// not account for every link.
fn own_links(state: &State<'_>, backups: &Backups, st: &Stat) -> u64 {
    let in_backups = backups.links_to(st.st_ino) as u64;
    if st.st_nlink > 1 + in_backups {
        in_backups + state.quarantined_links(st.st_ino) as u64
    } else {
        in_backups
    }
}

/// Run one change through resolve → state → lock → load → change → render →
/// backup → replace → rotate → journal → unlock. See the module head for the
/// contract.
pub fn transact<F>(file: &Path, opts: &Options, change: F) -> Result<Outcome>
where
    F: FnOnce(&Current) -> Result<Change>,
{
    if etcd::is_url(file) {
        // An optimistic transaction may apply its change more than once.
        let mut once = Some(change);
        return etcd::transact(file, opts, |current| match once.take() {
            Some(f) => f(current),
            None => Err(Error::internal(format!(
                "{}: this change cannot be applied again after a conflict",
                file.display()
            ))),
        });
    }
    // An I/O error before the rename changed nothing: say so, so that a script
    // (and its author) can tell it from exit 8.
    transact_inner(file, opts, change).map_err(|e| {
        if e.kind() == Kind::Io && !e.message().contains("nothing was changed") {
            e.map_message(|m| format!("{m}; nothing was changed"))
        } else {
            e
        }
    })
}

/// As [`transact`], for a change that can be applied again to a newer
/// version: an `etcd://` FILE's optimistic transaction re-applies it after a
/// conflict ([`etcd::transact`]); a local file takes its lock and applies it once.
pub fn transact_again<F>(file: &Path, opts: &Options, change: F) -> Result<Outcome>
where
    F: FnMut(&Current) -> Result<Change>,
{
    if etcd::is_url(file) {
        return etcd::transact(file, opts, change);
    }
    transact(file, opts, change)
}

/// A change's exclusive lock: taken here, or the one `jsafe lock` holds.
enum WriteLock<'a> {
    Taken(Box<Lock>),
    Held(&'a Lock),
}

impl std::ops::Deref for WriteLock<'_> {
    type Target = Lock;
    fn deref(&self) -> &Lock {
        match self {
            WriteLock::Taken(l) => l,
            WriteLock::Held(l) => l,
        }
    }
}

/// Every change starts here, after its state directories are open: the
/// exclusive lock (taken, or the one held by `jsafe lock`), then the temp
/// files of writers of the file that died, which are removed.
fn write_lock<'a>(
    t: &Target,
    state: &State,
    opts: &Options<'a>,
    file: &Path,
    outcome: &mut Outcome,
) -> Result<WriteLock<'a>> {
    let lock = match opts.held {
        Some(h) => WriteLock::Held(held::exclusive(h, file)?),
        None => {
            let locks = state.sub(OsStr::new(LOCKS))?;
            let no_wait = |_: &str| {};
            WriteLock::Taken(Box::new(lock::acquire(&lock::Request {
                locks: &locks,
                key: &t.key,
                data: file,
                mode: Mode::Exclusive,
                timeout: opts.timeout,
                on_wait: opts.on_wait.unwrap_or(&no_wait),
                missing: lock::Missing::Create(state.lock_file()),
                command: &format!("jsafe {}", opts.operation),
            })?))
        }
    };
    // The name, checked before the lock, is checked again now that the lock
    // is held (a change that opens the file checks its descriptor as well):
    // while it waited, another user may have made the file.
    if let Some(st) =
        t.at.dir
            .lstat(&t.at.name)
            .map_err(|e| Error::io("cannot check", &t.real(), e))?
    {
        dir::may_replace(&t.at, &st, file)?;
    }
    // Every temp file of this file whose writer died, not only the one the
    // holder record names: a power cut can take the record with it.
    for temp in replace::remove_dead(&t.at.dir, &t.key) {
        outcome.removed_temps.push(t.at.dir.join(&temp));
    }
    Ok(lock)
}

fn transact_inner<F>(file: &Path, opts: &Options, change: F) -> Result<Outcome>
where
    F: FnOnce(&Current) -> Result<Change>,
{
    let started = Instant::now();
    let deadline = started.checked_add(opts.timeout);
    let t = Target::resolve(file)?;
    let state = State::open(&t)?;
    if opts.journal {
        journal::check(&state.root, &state.trust, file)?;
    }
    let mut outcome = Outcome::default();
    let lock = write_lock(&t, &state, opts, file, &mut outcome)?;

    let (disk_stat, mut current) = match t.read_for_change()? {
        None => (None, Current::Missing),
        Some((_file, st, bytes)) => (Some(st), Current::classify(bytes)),
    };
    outcome.bytes_before = disk_stat
        .as_ref()
        .map(|st| u64::try_from(st.st_size).unwrap_or(0));
    let expect = t.backup_expect(disk_stat.as_ref());
    let mut backups = Backups::read(state.backups(false)?, &expect)
        .map_err(|e| Error::io("cannot list the backups of", file, e))?;

    if let Some(st) = &disk_stat
        && st.st_nlink > 1
        && !opts.split_links
        && st.st_nlink > 1 + own_links(&state, &backups, st)
    {
        return Err(Error::new(
            Kind::Io,
            format!(
                "{}: has {} hard links; replacing it would split them (the other names would keep the old content), so nothing was changed (use --split-links to replace it anyway)",
                file.display(),
                st.st_nlink
            ),
        ));
    }

    // The corrupt bytes on disk, when a change replaces a corrupt file.
    let disk_is_corrupt = matches!(current, Current::Corrupt { .. });
    let mut corrupt_on_disk: Option<Vec<u8>> = None;
    if let Current::Corrupt { error, .. } = &current {
        match opts.on_corrupt {
            OnCorrupt::Fail => return Err(corrupt_error(file, error, "nothing was written")),
            OnCorrupt::Quarantine => {}
            OnCorrupt::Recover => {
                let Some((b, bytes)) = backups.newest_valid() else {
                    return Err(Error::new(
                        Kind::Corrupt,
                        format!(
                            "{}: not valid JSON ({error}) and no valid backup to recover from; nothing was written (quarantined copies, if any, are in {})",
                            file.display(),
                            state.root.join(QUARANTINE).display()
                        ),
                    ));
                };
                outcome.recovered_from = Some(b.name.clone());
                if let Current::Corrupt { bytes, .. } =
                    std::mem::replace(&mut current, Current::classify(bytes))
                {
                    corrupt_on_disk = Some(bytes);
                }
            }
        }
    }
    if let Current::Corrupt { bytes, .. } = &mut current {
        corrupt_on_disk = Some(std::mem::take(bytes));
    }

    let change = change(&current)?;
    let new_bytes = match change {
        Change::Keep => match &current {
            Current::Valid(d) if outcome.recovered_from.is_some() => Some(d.bytes.to_vec()),
            _ => None,
        },
        Change::Valid(v) => Some(v.into_bytes()),
        Change::Bytes(b) => {
            json::validate(&b).map_err(|e| {
                Error::bad_input(format!(
                    "{}: the new content is not valid JSON ({e}); nothing was written",
                    file.display()
                ))
            })?;
            Some(b)
        }
        Change::Value(v) => {
            if v.depth() > MAX_DEPTH {
                return Err(Error::bad_input(format!(
                    "{}: the new value is nested deeper than {MAX_DEPTH} levels; nothing was written",
                    file.display()
                )));
            }
            let mut st = match &current {
                Current::Valid(d) => d.style,
                Current::Missing => Style::new_file(),
                Current::Corrupt { .. } => {
                    let mut s = Style::new_file();
                    s.crlf = corrupt_on_disk
                        .as_deref()
                        .is_some_and(|b| Style::detect(b).crlf);
                    s
                }
            };
            if let Some(indent) = opts.indent {
                st.indent = indent;
            }
            Some(json::render(&v, &st))
        }
    };
    // Nothing to write: the change kept a missing file missing, or its bytes
    // are the ones already on disk.
    let Some(new_bytes) = new_bytes else {
        return Ok(outcome);
    };
    // Shared, not copied, even if the change still holds slices of them.
    let old_bytes: Option<Bytes> = match (corrupt_on_disk, current) {
        (Some(b), _) => Some(Bytes::from(b)),
        (None, Current::Valid(d)) => Some(d.bytes),
        (None, _) => None,
    };
    if old_bytes.as_deref() == Some(new_bytes.as_slice()) {
        return Ok(outcome);
    }
    schema::enforce(&state, &t, opts, &new_bytes, Format::Document)?;
    // Hashes only of what every user may read: a hash of a small private file
    // can be brute-forced. A new file gets 0666 minus the umask.
    let mode = t
        .pre
        .as_ref()
        .map_or_else(dir::new_file_mode, |s| s.st_mode);
    let public = mode & 0o004 != 0;

    // Keep the replaced version (backups or quarantine), if there is one.
    let quarantine_dir;
    let mut kept_in: Option<&Dir> = None;
    let mut taken: Option<backup::Taken> = None;
    if let (Some(st), Some(old)) = (&disk_stat, &old_bytes) {
        if disk_is_corrupt {
            quarantine_dir = state.sub(OsStr::new(QUARANTINE))?;
            let name = backup::quarantine(&quarantine_dir, &t.key, &t.at.dir, &t.at.name, st, old)
                .map_err(|e| {
                    Error::io("cannot quarantine", file, e)
                        .map_message(|m| format!("{m}; nothing was changed"))
                })?;
            outcome.quarantined = Some(quarantine_dir.join(&name));
            kept_in = Some(&quarantine_dir);
        } else if opts.keep > 0 {
            if backups.dir().is_none() {
                backups = Backups::read(state.backups(true)?, &expect)
                    .map_err(|e| Error::io("cannot list the backups of", file, e))?;
            }
            let b = backup::take(&backups, &t.at.dir, &t.at.name, st, old).map_err(|e| {
                Error::io("cannot back up", file, e)
                    .map_message(|m| format!("{m}; nothing was changed"))
            })?;
            outcome.backup = Some(b.name.clone());
            kept_in = backups.dir();
            taken = Some(b);
        }
    }
    // The journal's hashes are computed while the new version is written and
    // synced, not before.
    let new_bytes = Bytes::from(new_bytes);
    let hashes = (opts.journal && public).then(|| Hashes::start(old_bytes, new_bytes.clone()));

    let announce = |temp: &OsStr| lock.announce_temp(temp);
    let v = replace::NewVersion {
        dir: &t.at.dir,
        name: &t.at.name,
        key: &t.key,
        old: disk_stat.as_ref(),
        sync: opts.sync,
        announce: &announce,
    };
    if let Err(replace::Failure::Untouched(what, e)) = replace::replace(&v, &new_bytes) {
        if let (Some(b), Some(d)) = (&taken, backups.dir()) {
            b.undo(d);
        }
        lock.announce_temp(OsStr::new(""));
        return Err(Error::io(what, file, e).map_message(|m| format!("{m}; nothing was changed")));
    }
    lock.announce_temp(OsStr::new(""));
    outcome.changed = true;
    outcome.bytes_after = new_bytes.len() as u64;
    // Joined when the journal line is made: by then the directory's fsync
    // runs on the helper thread, so a large file's hashing overlaps it too.
    let hashes = std::cell::Cell::new(hashes);
    let hashed = std::cell::OnceCell::new();
    let (sync, data_dir) = (opts.sync, &t.at.dir);
    let fsyncs = || -> Option<Error> {
        if !sync {
            return None;
        }
        if let Err(e) = data_dir.sync(Step::DirFsync) {
            return Some(not_durable_error(file, "cannot fsync the directory of", e));
        }
        if let Some(d) = kept_in
            && let Err(e) = d.sync(Step::BackupDirFsync)
        {
            return Some(not_durable_error(
                file,
                "cannot fsync the backup directory of",
                e,
            ));
        }
        None
    };
    let entry = |not_durable: bool| {
        let h = hashed.get_or_init(|| hashes.take().map_or((None, None), Hashes::finish));
        journal_entry(&t, opts, &outcome, not_durable, started, h.clone())
    };
    let (not_durable, journal_error) = settle(&state, opts, deadline, &fsyncs, &entry);
    if let Some(e) = journal_error {
        outcome.warnings.push(format!(
            "{}: changed, but the journal {} could not be written: {e}",
            file.display(),
            state.root.join(journal::FILE_NAME).display()
        ));
    }
    if let Some(b) = &taken
        && let Err(e) = backup::rotate(&backups, Some(&b.name), opts.keep)
    {
        outcome.warnings.push(format!(
            "{}: changed, but old backups could not be removed: {e}",
            file.display()
        ));
    }
    match not_durable {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// What is left once a change is in place: `fsyncs` (the fsyncs that make it
/// durable; Some error when one fails) and its journal line, overlapped.
/// `fsyncs` runs on a helper thread while the line is written and fsynced
/// here, so that the two fsyncs wait for one commit of the file system's log
/// where it groups them (ext4, XFS) instead of two in a row. The line is
/// written as `entry(false)` and, should `fsyncs` fail, rewritten as
/// `entry(true)` (the journal lock is held meanwhile). Where no thread can be
/// started, the same happens one after the other. Returns the not-durable
/// error, and why the journal line could not be written (a warning).
fn settle(
    state: &State,
    opts: &Options,
    deadline: Option<Instant>,
    fsyncs: &(dyn Fn() -> Option<Error> + Sync),
    entry: &dyn Fn(bool) -> journal::Entry,
) -> (Option<Error>, Option<std::io::Error>) {
    if !opts.journal {
        return (fsyncs(), None);
    }
    let journal = |not_durable: bool| {
        journal::append(
            &state.root,
            &entry(not_durable),
            &state.trust,
            &state.creation,
            deadline,
            opts.sync,
        )
        .err()
    };
    if !opts.sync {
        let not_durable = fsyncs();
        let journal_error = journal(not_durable.is_some());
        return (not_durable, journal_error);
    }
    std::thread::scope(|s| {
        let Ok(helper) = std::thread::Builder::new().spawn_scoped(s, fsyncs) else {
            let not_durable = fsyncs();
            let journal_error = journal(not_durable.is_some());
            return (not_durable, journal_error);
        };
        let line = journal::begin(
            &state.root,
            &entry(false),
            &state.trust,
            &state.creation,
            deadline,
        );
        let synced = line
            .as_ref()
            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))
            .and_then(|l| l.sync(&state.root));
        let not_durable = helper.join().unwrap_or_else(|_| {
            Some(Error::internal(
                "the fsync of the directory stopped unexpectedly",
            ))
        });
        let mut line = match line {
            Ok(l) => l,
            Err(e) => return (not_durable, Some(e)),
        };
        let mut journal_error = synced.err();
        if not_durable.is_some() {
            journal_error = line
                .rewrite(&entry(true))
                .and_then(|()| line.sync(&state.root))
                .err();
        }
        if let Err(e) = line.finish(&state.root) {
            journal_error.get_or_insert(e);
        }
        (not_durable, journal_error)
    })
}

/// SHA-256 of the replaced and the new version for the journal, computed on
/// a helper thread while the new version is written and synced: for a large
/// file the two hashes are about a fifth of a change's CPU, and the fsync
/// leaves the CPU idle. Where no thread can be started (RLIMIT_NPROC), they
/// are computed by [`Hashes::finish`] instead.
enum Hashes {
    Running(std::thread::JoinHandle<(Option<String>, Option<String>)>),
    Later(Option<Bytes>, Bytes),
}

impl Hashes {
    fn start(old: Option<Bytes>, new: Bytes) -> Hashes {
        let work = (old.clone(), new.clone());
        match std::thread::Builder::new().spawn(move || {
            let (old, new) = work;
            (
                old.as_deref().map(journal::sha256_hex),
                Some(journal::sha256_hex(&new)),
            )
        }) {
            Ok(handle) => Hashes::Running(handle),
            Err(_) => Hashes::Later(old, new),
        }
    }

    fn finish(self) -> (Option<String>, Option<String>) {
        match self {
            Hashes::Running(handle) => handle.join().unwrap_or((None, None)),
            Hashes::Later(old, new) => (
                old.as_deref().map(journal::sha256_hex),
                Some(journal::sha256_hex(&new)),
            ),
        }
    }
}

fn not_durable_error(file: &Path, what: &str, e: std::io::Error) -> Error {
    Error::io_kind(Kind::NotDurable, what, file, e).map_message(|m| {
        format!("{m}; the new version IS in place but may not survive a crash (do not retry the change; run `sync` or check the disk)")
    })
}

fn journal_entry(
    t: &Target,
    opts: &Options,
    outcome: &Outcome,
    not_durable: bool,
    started: Instant,
    (sha256_before, sha256_after): (Option<String>, Option<String>),
) -> journal::Entry {
    let result = if not_durable {
        "not-durable"
    } else if outcome.recovered_from.is_some() {
        "recovered"
    } else if outcome.quarantined.is_some() {
        "replaced-corrupt"
    } else {
        "ok"
    };
    let uid = rustix::process::getuid().as_raw();
    journal::Entry {
        time: time::rfc3339(SystemTime::now()),
        op: opts.operation.to_owned(),
        file: t.given.to_string_lossy().into_owned(),
        file_name: t.at.name.to_string_lossy().into_owned(),
        pid: std::process::id(),
        uid,
        user: process::user_name(uid),
        host: process::host_name(),
        bytes_before: outcome.bytes_before,
        bytes_after: outcome.bytes_after,
        sha256_before,
        sha256_after,
        backup: outcome.backup.clone(),
        quarantined: outcome.quarantined.as_ref().and_then(|p| {
            let name = p.file_name()?;
            let rel = Path::new(layout::STATE_DIR).join(QUARANTINE).join(name);
            Some(rel.to_string_lossy().into_owned())
        }),
        recovered_from: outcome.recovered_from.clone(),
        duration_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        result: result.to_owned(),
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

/// How long to wait for a shared lock, and what to call when waiting.
pub type LockWait<'a> = (Duration, &'a dyn Fn(&str));

/// A data file read without a lock and without creating anything: the current
/// content, and (with `lock`) a shared lock held while it is used.
pub struct Loaded {
    /// What is on disk.
    pub current: Current,
    /// The shared lock, when one was asked for and could be had.
    pub lock: Option<Lock>,
}

/// Read `file` for a reader: never creates `.jsafe` or a lock file, never
/// blocks on a FIFO or device, never reads past what `fstat` said. With
/// `lock`, a shared lock is taken first (waiting up to `timeout`); the lock
/// file is created only when it is missing and the directory is writable —
/// where it cannot be (a read-only filesystem), no jsafe writer can be at
/// work, and the file is read without it.
pub fn load(file: &Path, lock: Option<LockWait>) -> Result<Loaded> {
    let t = match Target::resolve_any(file) {
        Ok(t) => t,
        // A file in a directory that does not exist is a missing file.
        Err(e) if e.kind() == Kind::NotFound => {
            return Ok(Loaded {
                current: Current::Missing,
                lock: None,
            });
        }
        Err(e) => return Err(e),
    };
    let held = match lock {
        None => None,
        Some((timeout, on_wait)) => shared_lock(&t, timeout, on_wait)?,
    };
    let current = match t.read()? {
        None => Current::Missing,
        Some((_, _, bytes)) => Current::classify(bytes),
    };
    Ok(Loaded {
        current,
        lock: held,
    })
}

/// Read `file` again under a shared lock if, and only if, its lock file
/// exists: a reader that saw corrupt bytes may have met a non-jsafe writer in
/// the middle of a write, or a jsafe writer of an earlier version. Creates
/// nothing.
pub fn reload_if_locked(
    file: &Path,
    timeout: Duration,
    on_wait: &dyn Fn(&str),
) -> Result<Option<Current>> {
    if etcd::is_url(file) {
        // etcd values change atomically: there is no half-written version.
        return Ok(None);
    }
    let t = Target::resolve_any(file)?;
    let Some(locks) = t.existing_locks()? else {
        return Ok(None);
    };
    let held = lock::acquire(&lock::Request {
        locks: &locks,
        key: &t.key,
        data: file,
        mode: Mode::Shared,
        timeout,
        on_wait,
        missing: lock::Missing::Fail,
        command: "jsafe read",
    });
    let _held = match held {
        Ok(l) => l,
        Err(e) if e.kind() == Kind::Io => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(match t.read()? {
        None => Current::Missing,
        Some((_, _, bytes)) => Current::classify(bytes),
    }))
}

fn shared_lock(t: &Target, timeout: Duration, on_wait: &dyn Fn(&str)) -> Result<Option<Lock>> {
    let trust = t.trust();
    let creation = t.creation();
    // Make what is missing only where we may; a read-only filesystem or a
    // directory we cannot write has no jsafe writer at work either.
    let may_create = |e: &Error| e.kind() == Kind::Io;
    let state = match t.at.state(&trust, Some(&creation), t.given) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(None),
        Err(e) if may_create(&e) && t.at.state(&trust, None, t.given)?.is_none() => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let locks = match dir::state_dir(
        &state,
        OsStr::new(LOCKS),
        ".jsafe/locks",
        &trust,
        Some(&creation),
        t.given,
    ) {
        Ok(Some(l)) => l,
        Ok(None) => return Ok(None),
        Err(e) if may_create(&e) => match dir::state_dir(
            &state,
            OsStr::new(LOCKS),
            ".jsafe/locks",
            &trust,
            None,
            t.given,
        )? {
            Some(l) => l,
            None => return Ok(None),
        },
        Err(e) => return Err(e),
    };
    let st = t.pre.as_ref();
    let new = lock::NewLockFile {
        mode: st.map_or_else(dir::new_file_mode, |s| s.st_mode & 0o666),
        owner: creation
            .owner
            .map(|o| st.map_or(o, |s| (s.st_uid, s.st_gid))),
    };
    let req = |missing| lock::Request {
        locks: &locks,
        key: &t.key,
        data: t.given,
        mode: Mode::Shared,
        timeout,
        on_wait,
        missing,
        command: "jsafe read",
    };
    match lock::acquire(&req(lock::Missing::Create(new))) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == Kind::Io => match lock::acquire(&req(lock::Missing::Fail)) {
            Ok(l) => Ok(Some(l)),
            Err(e2)
                if e2.kind() == Kind::Io
                    && locks
                        .lstat(&layout::lock_name(&t.key))
                        .ok()
                        .flatten()
                        .is_none() =>
            {
                Ok(None)
            }
            Err(e2) => Err(e2),
        },
        Err(e) => Err(e),
    }
}

/// Take `file`'s lock without changing anything (for `jsafe lock`): the same
/// lock, state directories and checks as a write.
pub fn lock_file(
    file: &Path,
    mode: Mode,
    timeout: Duration,
    on_wait: &dyn Fn(&str),
    command: &str,
) -> Result<Lock> {
    let t = Target::resolve(file)?;
    let state = State::open(&t)?;
    let locks = state.sub(OsStr::new(LOCKS))?;
    lock::acquire(&lock::Request {
        locks: &locks,
        key: &t.key,
        data: file,
        mode,
        timeout,
        on_wait,
        missing: lock::Missing::Create(state.lock_file()),
        command,
    })
}

/// A file's backups (never creating anything), oldest first, and its real
/// path; for `restore --list` and `status`.
pub fn backups(file: &Path) -> Result<(PathBuf, Backups)> {
    let t = Target::resolve_any(file)?;
    let trust = t.trust();
    let dir = match t.at.state(&trust, None, file)? {
        None => None,
        Some(state) => match dir::state_dir(
            &state,
            OsStr::new(BACKUPS),
            ".jsafe/backups",
            &trust,
            None,
            file,
        )? {
            None => None,
            Some(parent) => {
                let what = format!(".jsafe/backups/{}", t.key.to_string_lossy());
                dir::state_dir(&parent, &t.key, &what, &trust, None, file)?
            }
        },
    };
    let current = t
        .pre
        .as_ref()
        .filter(|s| FileType::from_raw_mode(s.st_mode) == FileType::RegularFile);
    let list = Backups::read(dir, &t.backup_expect(current))
        .map_err(|e| Error::io("cannot list the backups of", file, e))?;
    Ok((t.real(), list))
}

/// Where jsafe keeps a file's state, as paths: for people, tests and tools.
/// The store itself never goes through these paths.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StatePaths {
    /// `<dir>/.jsafe`
    pub state: PathBuf,
    /// `<dir>/.jsafe/locks/<key>.lock`
    pub lock: PathBuf,
    /// `<dir>/.jsafe/quarantine`
    pub quarantine: PathBuf,
    /// `<dir>/.jsafe/journal.jsonl`
    pub journal: PathBuf,
}

/// The state paths of `file` (resolving it as a write would; nothing is created).
pub fn state_paths(file: &Path) -> Result<StatePaths> {
    let t = Target::resolve(file)?;
    let state = t.at.dir.join(layout::STATE_DIR);
    Ok(StatePaths {
        lock: state.join(LOCKS).join(layout::lock_name(&t.key)),
        quarantine: state.join(QUARANTINE),
        journal: state.join(layout::JOURNAL),
        state,
    })
}

/// Probe `file`'s lock without waiting and without creating anything.
pub fn probe(file: &Path) -> Result<lock::Probe> {
    let t = Target::resolve(file)?;
    let locks = t.existing_locks()?;
    Ok(lock::probe(locks.as_ref(), &t.key))
}
