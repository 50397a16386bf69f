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
//! 8. **replace** — temp file in the same directory, fsync, the backup
//!    directory's fsync (beside the temp file's write, on a helper thread,
//!    for a large file), rename ([`replace`](self)).
//! 9. **journal** — one line appended to `.jsafe/journal.jsonl` and fsynced,
//!    then the data directory (`settle`): a change that returns `Ok` keeps
//!    its line through a power cut.
//! 10. **rotate** — only now, with the new version durable: old backups
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
pub(crate) mod backup;
mod dir;
pub(crate) mod etcd;
mod failpoint;
pub(crate) mod forget;
mod held;
pub(crate) mod interrupt;
pub(crate) mod journal;
pub(crate) mod layout;
pub(crate) mod lines;
pub(crate) mod lock;
pub(crate) mod read;
mod replace;
pub(crate) mod rotate;
pub(crate) mod scan;
pub(crate) mod schema;
mod storage;
pub(crate) mod watch;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rustix::fs::{FileType, Stat};

use crate::error::{Error, Kind, Result, Untouched};
use crate::json::{self, Indent, MAX_DEPTH, ParseError, Style, Value};
use crate::{process, time};

pub use backup::{Backup, Backups};
pub(crate) use dir::{Dir, dev};
pub(crate) use failpoint::Step;
pub use held::{adopt_lock, shared_refusal};
pub use lines::Format;
pub use lock::{Lock, Mode};
pub(crate) use schema::{Schema, attach_schema, schema_of};
pub(crate) use storage::Backend;

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
    /// The top-level object's members, found by the validating walk.
    outline: Option<json::Outline>,
}

impl Doc {
    /// The bytes on disk.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where the top-level object's members are in [`Doc::bytes`], when the
    /// validating walk kept that.
    pub(crate) fn outline(&self) -> Option<&json::Outline> {
        self.outline.as_ref()
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
        match json::validate_outline_noting_escapes(&bytes) {
            Ok((outline, escapes)) => {
                let style = Style::detect_after_scan(&bytes, escapes);
                Current::Valid(Doc {
                    bytes: Bytes::from(bytes),
                    style,
                    format: Format::Document,
                    outline,
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
                    outline: None,
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
    /// The default longest wait for the lock.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default number of backups kept per file.
    pub const DEFAULT_KEEP: usize = 20;

    /// The defaults, for an operation named `operation` in the journal and the
    /// lock record ("merge", "update", …).
    pub fn new(operation: &'a str) -> Options<'a> {
        Options {
            operation,
            timeout: Self::DEFAULT_TIMEOUT,
            keep: Self::DEFAULT_KEEP,
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
            Kind::NotFound => e.with_kind(Kind::Io),
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
                    format!("{}: {}", file.display(), dir::not_regular(t)),
                )
                .unchanged(Untouched::Changed));
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
        match State::existing(self)? {
            Some(state) => state.existing_sub(OsStr::new(LOCKS)),
            None => Ok(None),
        }
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

    /// Whether every user may read the file (a new one gets 0666 minus the
    /// umask): only then does the journal hold hashes of it, as a hash of a
    /// small private file can be brute-forced.
    fn is_public(&self) -> bool {
        let mode = self
            .pre
            .as_ref()
            .map_or_else(dir::new_file_mode, |s| s.st_mode);
        mode & 0o004 != 0
    }

    fn backup_expect(&self, current: Option<&Stat>) -> backup::Expect {
        backup::Expect {
            owner: current.map_or(self.at.dir_stat.st_uid, |s| s.st_uid),
            dev: dir::dev(&self.at.dir_stat),
            current_ino: current.map(|s| s.st_ino),
        }
    }
}

/// The one way into `.jsafe/`: the state directory beside a target, with the
/// trust its contents must earn and the policy for what it creates. Every
/// directory under it (locks, backups, quarantine, schemas) is opened, and
/// created on demand, through here, and named in errors as `.jsafe/<name>`.
struct State<'t> {
    t: &'t Target<'t>,
    trust: Trust,
    creation: Creation,
    root: Dir,
}

impl<'t> State<'t> {
    /// For a change: the data directory must be one a change can make
    /// durable; `.jsafe` is created when missing.
    fn open(t: &'t Target<'t>) -> Result<State<'t>> {
        t.at.dir.check_writable_durably(t.given)?;
        State::at(t, true)?.ok_or_else(|| Error::internal("the state directory was not created"))
    }

    /// `.jsafe` if it exists (never created).
    fn existing(t: &'t Target<'t>) -> Result<Option<State<'t>>> {
        State::at(t, false)
    }

    /// `.jsafe`, checked; created when missing only with `create`.
    fn at(t: &'t Target<'t>, create: bool) -> Result<Option<State<'t>>> {
        let trust = t.trust();
        let creation = t.creation();
        let root = t.at.state(&trust, create.then_some(&creation), t.given)?;
        Ok(root.map(|root| State {
            t,
            trust,
            creation,
            root,
        }))
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
    // An optimistic backend may ask for the change more than once.
    Backend::of(file)
        .storage()
        .transact(file, opts, &mut storage::once(file, change))
}

/// As [`transact`], for a change that can be applied again to a newer
/// version: an `etcd://` FILE's optimistic transaction re-applies it after a
/// conflict ([`etcd::transact`]); a local file takes its lock and applies it once.
pub(crate) fn transact_again<F>(file: &Path, opts: &Options, change: F) -> Result<Outcome>
where
    F: FnMut(&Current) -> Result<Change>,
{
    let mut change = change;
    Backend::of(file)
        .storage()
        .transact(file, opts, &mut change)
}

/// Append `lines` (compact JSON values, without newlines) to the JSON Lines
/// FILE through its backend; with no lines, only repair a torn tail (see
/// the `append` module for the local steps).
pub fn append(file: &Path, opts: &Options, lines: &[Vec<u8>]) -> Result<Outcome> {
    Backend::of(file).storage().append(file, opts, lines)
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

/// A local change in progress, after its first steps: the target resolved,
/// its state directory open, the journal checked and the exclusive lock held
/// ([`Session::begin`]). [`transact`] and [`append`] are short
/// compositions of the steps that follow; the lock is released when the
/// session is dropped.
struct Session<'s, 'o> {
    file: &'s Path,
    opts: &'s Options<'o>,
    t: &'s Target<'s>,
    state: State<'s>,
    lock: WriteLock<'o>,
    outcome: Outcome,
    started: Instant,
}

impl<'s, 'o> Session<'s, 'o> {
    /// Open state → check journal → lock, for the resolved target `t`.
    fn begin(
        file: &'s Path,
        opts: &'s Options<'o>,
        t: &'s Target<'s>,
        started: Instant,
    ) -> Result<Session<'s, 'o>> {
        let state = State::open(t)?;
        if opts.journal {
            journal::check(&state.root, &state.trust, file)?;
        }
        let mut outcome = Outcome::default();
        let lock = write_lock(t, &state, opts, file, &mut outcome)?;
        Ok(Session {
            file,
            opts,
            t,
            state,
            lock,
            outcome,
            started,
        })
    }

    fn deadline(&self) -> Option<Instant> {
        self.started.checked_add(self.opts.timeout)
    }

    /// The journal epilogue: `fsyncs` overlapped with the journal line
    /// ([`settle`]); a journal that could not be written is a warning that
    /// says the file was `done`. Returns the not-durable error, if any.
    fn settle_journal(
        &mut self,
        fsyncs: &(dyn Fn() -> Option<Error> + Sync),
        entry: &dyn Fn(&Outcome, bool) -> journal::Entry,
        done: &str,
        order: SyncOrder,
    ) -> Option<Error> {
        let outcome = &self.outcome;
        let (not_durable, journal_error) = settle(
            &self.state,
            self.opts,
            self.deadline(),
            fsyncs,
            &|not_durable| entry(outcome, not_durable),
            order,
        );
        if let Some(e) = journal_error {
            self.outcome.warnings.push(format!(
                "{}: {done}, but the journal {} could not be written: {e}",
                self.file.display(),
                self.state.root.join(journal::FILE_NAME).display()
            ));
        }
        not_durable
    }
}

/// What the read step found on disk, under the lock.
struct OnDisk {
    stat: Option<Stat>,
    /// The version read, still open: a large one's cached pages are dropped
    /// just before the new version is written ([`dir::drop_cached`]).
    opened: Option<File>,
    current: Current,
    expect: backup::Expect,
    backups: Backups,
    /// The disk holds a corrupt version (quarantined when it is replaced).
    is_corrupt: bool,
    /// Its bytes, taken out of `current`.
    corrupt: Option<Vec<u8>>,
}

/// Where the replaced version was kept: a backup taken, or the quarantine.
#[derive(Default)]
struct Kept {
    quarantine: Option<Dir>,
    taken: Option<backup::Taken>,
}

impl Kept {
    fn dir<'a>(&'a self, backups: &'a Backups) -> Option<&'a Dir> {
        match (&self.quarantine, &self.taken) {
            (Some(q), _) => Some(q),
            (None, Some(_)) => backups.dir(),
            (None, None) => None,
        }
    }
}

/// resolve → open state → check journal → lock → read current → change →
/// check schema → back up → write temp → fsync → rename → fsync dir →
/// journal. Each step is a function of its own, named as here.
fn transact_inner<F>(file: &Path, opts: &Options, change: F) -> Result<Outcome>
where
    F: FnOnce(&Current) -> Result<Change>,
{
    let started = Instant::now();
    let t = Target::resolve(file)?;
    let mut s = Session::begin(file, opts, &t, started)?;
    let mut disk = s.read_current()?;
    let Some((old, new)) = s.change(&mut disk, change)? else {
        return Ok(s.outcome);
    };
    schema::enforce(&s.state, &t, opts, &new, Format::Document)?;
    let kept = s.back_up(&mut disk, old.as_deref())?;
    // The journal's hashes are computed while the new version is written and
    // synced, not before.
    // The replaced version's hash may be known from the journal already.
    let hashes = (opts.journal && t.is_public()).then(|| {
        let known = disk
            .stat
            .as_ref()
            .and_then(|st| journal::known_hash(&s.state.root, &t.at.name, st));
        Hashes::start(old, known, new.clone())
    });
    s.replace(&disk, &kept, &new)?;
    s.complete(&disk, &kept, hashes)
}

impl Session<'_, '_> {
    /// Read the current version under the lock, list its backups, refuse a
    /// file whose other hard links a replace would split, and apply the
    /// corrupt-file policy.
    fn read_current(&mut self) -> Result<OnDisk> {
        let (file, t) = (self.file, self.t);
        let (opened, stat, current) = match t.read_for_change()? {
            None => (None, None, Current::Missing),
            Some((file, st, bytes)) => (Some(file), Some(st), Current::classify(bytes)),
        };
        self.outcome.bytes_before = stat
            .as_ref()
            .map(|st| u64::try_from(st.st_size).unwrap_or(0));
        let expect = t.backup_expect(stat.as_ref());
        let backups = Backups::read(self.state.backups(false)?, &expect)
            .map_err(|e| Error::io("cannot list the backups of", file, e))?;
        if let Some(st) = &stat
            && st.st_nlink > 1
            && !self.opts.split_links
            && st.st_nlink > 1 + own_links(&self.state, &backups, st)
        {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{}: has {} hard links; replacing it would split them (the other names would keep the old content)",
                    file.display(),
                    st.st_nlink
                ),
            )
            .unchanged_so(Untouched::Changed)
            .then(" (use --split-links to replace it anyway)"));
        }
        let mut disk = OnDisk {
            stat,
            opened,
            is_corrupt: matches!(current, Current::Corrupt { .. }),
            current,
            expect,
            backups,
            corrupt: None,
        };
        self.on_corrupt(&mut disk)?;
        Ok(disk)
    }

    /// A corrupt current version: refused, replaced (quarantined), or
    /// recovered from its newest valid backup, as the options say. Its
    /// bytes move to `disk.corrupt`.
    fn on_corrupt(&mut self, disk: &mut OnDisk) -> Result<()> {
        if let Current::Corrupt { error, .. } = &disk.current {
            match self.opts.on_corrupt {
                OnCorrupt::Fail => return Err(corrupt_error(self.file, error, Untouched::Written)),
                OnCorrupt::Quarantine => {}
                OnCorrupt::Recover => {
                    let Some((b, bytes)) = disk.backups.newest_valid() else {
                        return Err(Error::new(
                            Kind::Corrupt,
                            format!(
                                "{}: not valid JSON ({error}) and no valid backup to recover from",
                                self.file.display(),
                            ),
                        )
                        .unchanged(Untouched::Written)
                        .then(format!(
                            " (quarantined copies, if any, are in {})",
                            self.state.root.join(QUARANTINE).display()
                        )));
                    };
                    self.outcome.recovered_from = Some(b.name.clone());
                    if let Current::Corrupt { bytes, .. } =
                        std::mem::replace(&mut disk.current, Current::classify(bytes))
                    {
                        disk.corrupt = Some(bytes);
                    }
                }
            }
        }
        if let Current::Corrupt { bytes, .. } = &mut disk.current {
            disk.corrupt = Some(std::mem::take(bytes));
        }
        Ok(())
    }

    /// Apply `change` and render the new version. None: nothing to write (a
    /// missing file kept missing, or the bytes already on disk); else the
    /// replaced version's bytes (shared, not copied) and the new ones.
    #[allow(clippy::type_complexity)]
    fn change<F>(
        &mut self,
        disk: &mut OnDisk,
        change: F,
    ) -> Result<Option<(Option<Bytes>, json::Parts)>>
    where
        F: FnOnce(&Current) -> Result<Change>,
    {
        let new = match change(&disk.current)? {
            Change::Keep => match &disk.current {
                Current::Valid(d) if self.outcome.recovered_from.is_some() => {
                    Some(json::Parts::from(d.bytes.clone()))
                }
                _ => None,
            },
            other => {
                let base = base_style(&disk.current, disk.corrupt.as_deref());
                render_change(self.file, self.opts, base, other)?
            }
        };
        let Some(new) = new else {
            return Ok(None);
        };
        let old = match (disk.corrupt.take(), &disk.current) {
            (Some(b), _) => Some(Bytes::from(b)),
            (None, Current::Valid(d)) => Some(d.bytes.clone()),
            (None, _) => None,
        };
        if old.as_deref().is_some_and(|old| new.eq_bytes(old)) {
            return Ok(None);
        }
        Ok(Some((old, new)))
    }

    /// Keep the replaced version `old`, if there is one: a corrupt one in the
    /// quarantine, a valid one as a backup (unless `keep` is 0).
    fn back_up(&mut self, disk: &mut OnDisk, old: Option<&[u8]>) -> Result<Kept> {
        let (file, t) = (self.file, self.t);
        let mut kept = Kept::default();
        let (Some(st), Some(old)) = (&disk.stat, old) else {
            return Ok(kept);
        };
        if disk.is_corrupt {
            let q = self.state.sub(OsStr::new(QUARANTINE))?;
            let name =
                backup::quarantine(&q, &t.key, &t.at.dir, &t.at.name, st, old).map_err(|e| {
                    Error::io("cannot quarantine", file, e).unchanged(Untouched::Changed)
                })?;
            self.outcome.quarantined = Some(q.join(&name));
            kept.quarantine = Some(q);
        } else if self.opts.keep > 0 {
            if disk.backups.dir().is_none() {
                disk.backups = Backups::read(self.state.backups(true)?, &disk.expect)
                    .map_err(|e| Error::io("cannot list the backups of", file, e))?;
            }
            let b = backup::take(&disk.backups, &t.at.dir, &t.at.name, st, old)
                .map_err(|e| Error::io("cannot back up", file, e).unchanged(Untouched::Changed))?;
            self.outcome.backup = Some(b.name.clone());
            kept.taken = Some(b);
        }
        Ok(kept)
    }

    /// Write temp → fsync → fsync of the directory the old version was kept
    /// in → rename ([`replace::replace`]; its temp file is
    /// announced in the lock's holder record meanwhile). A failure before the
    /// rename undoes the backup just taken: nothing was changed.
    fn replace(&mut self, disk: &OnDisk, kept: &Kept, new: &json::Parts) -> Result<()> {
        let t = self.t;
        if let Some(old) = &disk.opened
            && disk
                .stat
                .as_ref()
                .is_some_and(|st| st.st_size >= dir::DROP_CACHED_FROM)
        {
            dir::drop_cached(old);
        }
        let lock = &self.lock;
        let announce = |temp: &OsStr| lock.announce_temp(temp);
        // The directory the old version was just kept in is durable before
        // the rename is. For a small file it is fsynced after the temp file,
        // whose fsync has usually committed the file system's log with the
        // link in it (ext4, XFS), so that this one finds nothing left to
        // commit. For a large one (from `Hashes::THREAD_FROM` bytes) a
        // helper thread fsyncs it while the temp file is written, which
        // takes longer than the fsync; the rename waits for it.
        let kept_in = kept.dir(&disk.backups).filter(|_| self.opts.sync);
        let replaced = std::thread::scope(|s| {
            let beside = kept_in
                .filter(|_| new.len() >= Hashes::THREAD_FROM)
                .and_then(|d| {
                    std::thread::Builder::new()
                        .spawn_scoped(s, move || d.sync(Step::BackupDirFsync))
                        .ok()
                });
            let beside = std::cell::RefCell::new(beside);
            let first = || -> std::io::Result<()> {
                match beside.borrow_mut().take() {
                    Some(helper) => helper.join().unwrap_or_else(|_| {
                        Err(std::io::Error::other("the fsync stopped unexpectedly"))
                    }),
                    None => kept_in.map_or(Ok(()), |d| d.sync(Step::BackupDirFsync)),
                }
            };
            let v = replace::NewVersion {
                dir: &t.at.dir,
                name: &t.at.name,
                key: &t.key,
                old: disk.stat.as_ref(),
                sync: self.opts.sync,
                announce: &announce,
                durable_first: kept_in.map(|_| &first as &dyn Fn() -> std::io::Result<()>),
                fine_ctime: self.opts.journal && new.len() as u64 >= journal::HINT_FROM,
            };
            replace::replace(&v, new)
        });
        lock.announce_temp(OsStr::new(""));
        if let Err(replace::Failure::Untouched(what, e)) = replaced {
            if let (Some(b), Some(d)) = (&kept.taken, disk.backups.dir()) {
                b.undo(d);
            }
            return Err(Error::io(what, self.file, e).unchanged(Untouched::Changed));
        }
        self.outcome.changed = true;
        self.outcome.bytes_after = new.len() as u64;
        Ok(())
    }

    /// Journal line → its fdatasync → fsync dir ([`settle`], in the order
    /// [`SyncOrder::LineFirst`]); then old backups beyond `keep` go.
    fn complete(mut self, disk: &OnDisk, kept: &Kept, hashes: Option<Hashes>) -> Result<Outcome> {
        let (file, t, opts, started) = (self.file, self.t, self.opts, self.started);
        // Joined when the journal line is made, before the directory's fsync
        // starts: the hashing has overlapped the temp file's write and fsync.
        let hashes = std::cell::Cell::new(hashes);
        let hashed = std::cell::OnceCell::new();
        // What vouches for the new hash at the next change (large files only).
        let len = self.outcome.bytes_after;
        let written = (opts.journal && t.is_public() && len >= journal::HINT_FROM)
            .then(|| journal::FileId::after_rename(&t.at.dir, &t.at.name, len as usize))
            .flatten();
        let (sync, data_dir) = (opts.sync, &t.at.dir);
        let (just_taken, keep) = (kept.taken.as_ref().map(|b| b.name.as_str()), opts.keep);
        let rotation = std::sync::OnceLock::new();
        // After the journal line's fsync (`settle`): the directory's fsync,
        // then the rotation. Old backups go only once the new version is
        // durable: after a failed fsync they all stay.
        let fsyncs = || -> Option<Error> {
            if sync && let Err(e) = data_dir.sync(Step::DirFsync) {
                return Some(not_durable_error(file, "cannot fsync the directory of", e));
            }
            if let Some(name) = just_taken
                && let Err(e) = backup::rotate(&disk.backups, Some(name), keep)
            {
                let _ = rotation.set(format!(
                    "{}: changed, but old backups could not be removed: {e}",
                    file.display()
                ));
            }
            None
        };
        let entry = |outcome: &Outcome, not_durable: bool| {
            let h = hashed.get_or_init(|| hashes.take().map_or((None, None), Hashes::finish));
            let mut e = journal_entry(t, opts, outcome, not_durable, started, h.clone());
            e.stat_after = written.clone().filter(|_| e.sha256_after.is_some());
            e
        };
        let not_durable = self.settle_journal(&fsyncs, &entry, "changed", SyncOrder::LineFirst);
        if let Some(warning) = rotation.into_inner() {
            self.outcome.warnings.push(warning);
        }
        match not_durable {
            Some(e) => Err(e),
            None => Ok(self.outcome),
        }
    }
}

/// The style a rendered value takes: the current version's, or a new
/// file's (keeping a corrupt version's line endings).
fn base_style(current: &Current, corrupt: Option<&[u8]>) -> Style {
    match current {
        Current::Valid(d) => d.style,
        Current::Missing => Style::new_file(),
        Current::Corrupt { bytes, .. } => {
            let mut s = Style::new_file();
            s.crlf = Style::detect(corrupt.unwrap_or(bytes)).crlf;
            s
        }
    }
}

/// The new bytes a change (other than `Keep`) asks for: checked, or
/// rendered in `style` (the options' indent wins). Shared by the local core
/// and the etcd backend.
fn render_change(
    file: &Path,
    opts: &Options,
    style: Style,
    change: Change,
) -> Result<Option<json::Parts>> {
    Ok(match change {
        Change::Keep => None,
        Change::Valid(v) => Some(v.into_parts()),
        Change::Bytes(b) => {
            json::validate(&b).map_err(|e| {
                Error::bad_input(format!(
                    "{}: the new content is not valid JSON ({e})",
                    file.display()
                ))
                .unchanged(Untouched::Written)
            })?;
            Some(json::Parts::from(b))
        }
        Change::Value(v) => {
            if v.depth() > MAX_DEPTH {
                return Err(Error::bad_input(format!(
                    "{}: the new value is nested deeper than {MAX_DEPTH} levels",
                    file.display()
                ))
                .unchanged(Untouched::Written));
            }
            let mut st = style;
            if let Some(indent) = opts.indent {
                st.indent = indent;
            }
            Some(json::Parts::from(json::render(&v, &st)))
        }
    })
}

/// One journal line for a change with no fsync to overlap it (rotate,
/// forget); Err: why it could not be written (the caller's warning).
fn journal_line(
    state: &State,
    t: &Target,
    opts: &Options,
    outcome: &Outcome,
    started: Instant,
) -> std::io::Result<()> {
    let entry = journal_entry(t, opts, outcome, false, started, (None, None));
    journal::append(
        &state.root,
        &entry,
        &state.trust,
        &state.creation,
        started.checked_add(opts.timeout),
        opts.sync,
    )
}

/// When [`settle`] fsyncs the journal line.
#[derive(Clone, Copy)]
pub(crate) enum SyncOrder {
    /// Before the change's fsyncs, one after the other. For a replace: the
    /// line's fdatasync writes its block and commits the file system's log,
    /// rename included (ext4, XFS), so the directory's fsync that follows
    /// finds it committed. Run side by side, the directory's fsync started
    /// a commit before the line's block was written, and the line waited for
    /// a second one.
    LineFirst,
    /// On the main thread while a helper runs the change's fsyncs (an
    /// append: two files' data blocks, neither committed by the other's
    /// fsync).
    Beside,
}

/// What is left once a change is in place: `fsyncs` (the fsyncs that make it
/// durable; Some error when one fails) and its journal line. The line is
/// written first, as `entry(false)`; then, by `order`, it is fsynced before
/// `fsyncs` run, or beside them. Should `fsyncs` fail, the line is rewritten
/// as `entry(true)` (the journal lock is held meanwhile). Returns the
/// not-durable error, and why the journal line could not be written (a
/// warning).
fn settle(
    state: &State,
    opts: &Options,
    deadline: Option<Instant>,
    fsyncs: &(dyn Fn() -> Option<Error> + Sync),
    entry: &dyn Fn(bool) -> journal::Entry,
    order: SyncOrder,
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
    // The line is in the journal before the fsyncs start.
    let line = journal::begin(
        &state.root,
        &entry(false),
        &state.trust,
        &state.creation,
        deadline,
    );
    let sync_line = || {
        line.as_ref()
            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))
            .and_then(|l| l.sync(&state.root))
    };
    let (not_durable, synced) = match order {
        SyncOrder::LineFirst => {
            let synced = sync_line();
            (fsyncs(), synced)
        }
        SyncOrder::Beside => std::thread::scope(|s| {
            let Ok(helper) = std::thread::Builder::new().spawn_scoped(s, fsyncs) else {
                // No thread: one after the other.
                let not_durable = fsyncs();
                return (not_durable, sync_line());
            };
            let synced = sync_line();
            let not_durable = helper.join().unwrap_or_else(|_| {
                Some(Error::internal(
                    "the fsync of the directory stopped unexpectedly",
                ))
            });
            (not_durable, synced)
        }),
    };
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
}

/// SHA-256 of the replaced and the new version for the journal, computed on
/// a helper thread while the new version is written and synced: for a large
/// file the two hashes are about a fifth of a change's CPU, and the fsync
/// leaves the CPU idle. Where no thread can be started (RLIMIT_NPROC), they
/// are computed by [`Hashes::finish`] instead.
/// The old version's hash is not computed when the journal already knows it
/// (`known`, see [`journal::known_hash`]). Below [`Hashes::THREAD_FROM`]
/// bytes hashing costs less than starting a thread, so it waits for `finish`.
enum Hashes {
    Running(std::thread::JoinHandle<(Option<String>, Option<String>)>),
    Later(Option<Bytes>, Option<String>, json::Parts),
}

impl Hashes {
    /// Bytes to hash (both versions) from which a helper thread pays.
    const THREAD_FROM: usize = 64 * 1024;

    fn start(old: Option<Bytes>, known: Option<String>, new: json::Parts) -> Hashes {
        let old_len = if known.is_some() {
            0
        } else {
            old.as_ref().map_or(0, Bytes::len)
        };
        if old_len + new.len() < Hashes::THREAD_FROM {
            return Hashes::Later(old, known, new);
        }
        let work = (old.clone(), known.clone(), new.clone());
        match std::thread::Builder::new().spawn(move || {
            let (old, known, new) = work;
            Hashes::both(old, known, &new)
        }) {
            Ok(handle) => Hashes::Running(handle),
            Err(_) => Hashes::Later(old, known, new),
        }
    }

    fn both(
        old: Option<Bytes>,
        known: Option<String>,
        new: &json::Parts,
    ) -> (Option<String>, Option<String>) {
        let before = match (old, known) {
            (Some(_), Some(k)) => Some(k),
            (old, _) => old.as_deref().map(journal::sha256_hex),
        };
        (before, Some(journal::sha256_hex_parts(new.iter())))
    }

    fn finish(self) -> (Option<String>, Option<String>) {
        match self {
            Hashes::Running(handle) => handle.join().unwrap_or((None, None)),
            Hashes::Later(old, known, new) => Hashes::both(old, known, &new),
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
    let (uid, user) = process::own_user();
    journal::Entry {
        time: time::rfc3339(SystemTime::now()),
        op: opts.operation.to_owned(),
        file: t.given.to_string_lossy().into_owned(),
        file_name: t.at.name.to_string_lossy().into_owned(),
        pid: std::process::id(),
        uid,
        user,
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
        stat_after: None,
    }
}

/// The error for a corrupt target file; `stopped` says what was not done
/// ("nothing was written", "nothing was printed").
pub fn corrupt_error(file: &Path, error: &ParseError, stopped: Untouched) -> Error {
    Error::new(
        Kind::Corrupt,
        format!("{}: not valid JSON ({error})", file.display()),
    )
    .unchanged(stopped)
    .then(format!(
        ". See `jsafe restore --list {0}`, restore with `jsafe restore --latest {0}`, or rerun with --recover",
        file.display()
    ))
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
    load_local(file, lock)
}

fn load_local(file: &Path, lock: Option<LockWait>) -> Result<Loaded> {
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
    if Backend::of(file) == Backend::Etcd {
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
    // Make what is missing only where we may; a read-only filesystem or a
    // directory we cannot write has no jsafe writer at work either.
    let may_create = |e: &Error| e.kind() == Kind::Io;
    let state = match State::at(t, true) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(None),
        Err(e) if may_create(&e) && State::existing(t)?.is_none() => return Ok(None),
        Err(e) => return Err(e),
    };
    let locks = match state.open_sub(OsStr::new(LOCKS), true) {
        Ok(Some(l)) => l,
        Ok(None) => return Ok(None),
        Err(e) if may_create(&e) => match state.existing_sub(OsStr::new(LOCKS))? {
            Some(l) => l,
            None => return Ok(None),
        },
        Err(e) => return Err(e),
    };
    let new = state.lock_file();
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
    let dir = match State::existing(&t)? {
        None => None,
        Some(state) => state.backups(false)?,
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
pub(crate) struct StatePaths {
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
pub(crate) fn state_paths(file: &Path) -> Result<StatePaths> {
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
