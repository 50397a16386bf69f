//! The audit journal: `<dir>/.jsafe/journal.jsonl`, one JSON line ([`Entry`])
//! per successful change (never for failed or no-change operations).
//!
//! - Each entry reaches the file as one whole line or not at all: it is
//!   written with one `write` call under the journal's own lock
//!   (`.jsafe/journal.lock`, which only writers can open, so no reader can
//!   stall a writer through it), and a short write is cut back off. If the
//!   file does not end with a newline (a line cut by a crash), the new entry
//!   starts on a fresh line.
//! - The journal lock is tried, then waited for at growing intervals, never
//!   past the caller's deadline: a journal that cannot be written in time is a
//!   warning, the change itself stands.
//! - A line is as durable as the change it records: with `sync` (the
//!   default) it is fsynced before the change returns (and the `.jsafe`
//!   directory with it when the journal file is new), so a change that
//!   exited 0 keeps its line through a power cut. The write core overlaps
//!   that fsync with the fsync of the data directory (`Line`); a line whose
//!   fsync fails is a warning, as an unwritten one is.
//! - At [`ROTATE_AT`] bytes the journal is renamed to `journal.1.jsonl` (older
//!   ones shift up to `journal.<KEEP>.jsonl`), under the same lock.
//! - An entry holds no data and no arguments: names, sizes, who and when. A
//!   content hash is recorded only for files every user may read.
//! - For a file of [`HINT_FROM`] bytes or more, the entry also records what
//!   `stat` said of the new version right after its rename ([`FileId`]). The
//!   next change of that file takes the replaced version's hash from that
//!   line instead of hashing it again, when the file on disk is still the
//!   very same ([`known_hash`]; docs/decisions/journal-hash.md says what
//!   "the same" takes).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FileType, FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dir::{self, Creation, Dir, Trust};
use super::failpoint::{self, Step};
use super::layout::{self, JOURNAL, JOURNAL_LOCK};

/// Size at which the journal is rotated.
pub(crate) const ROTATE_AT: u64 = 1 << 20;
/// Rotated journals kept.
pub(crate) const KEEP: usize = 3;
/// File name of the journal in `.jsafe/`.
pub(crate) const FILE_NAME: &str = JOURNAL;

/// One journal line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Entry {
    /// When the change was made (RFC 3339, UTC).
    pub time: String,
    /// The operation: write, merge, update, restore, recover, append, …
    pub op: String,
    /// The file as the user named it.
    pub file: String,
    /// The real file's name in this directory.
    pub file_name: String,
    /// The writer's process id.
    pub pid: u32,
    /// The writer's real user id.
    pub uid: u32,
    /// Its name in the system's user database (empty when it has none).
    pub user: String,
    /// Host name.
    pub host: String,
    /// Size before (null for a new file).
    pub bytes_before: Option<u64>,
    /// Size after.
    pub bytes_after: u64,
    /// SHA-256 of the old content, only for a file every user may read.
    pub sha256_before: Option<String>,
    /// SHA-256 of the new content, only for a file every user may read.
    pub sha256_after: Option<String>,
    /// Name of the backup of the replaced version.
    pub backup: Option<String>,
    /// Where a corrupt version was quarantined (`.jsafe/quarantine/<name>`,
    /// relative to the data file's directory).
    pub quarantined: Option<String>,
    /// The backup a corrupt file was recovered from.
    pub recovered_from: Option<String>,
    /// Time from start to the change in place.
    pub duration_ms: f64,
    /// "ok", "recovered", "replaced-corrupt" or "not-durable".
    pub result: String,
    /// The new version as `stat` saw it right after its rename, for a large
    /// file whose `sha256_after` is recorded; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stat_after: Option<FileId>,
}

/// Size from which a change looks up the replaced version's hash in the
/// journal (and records the new version's [`FileId`]) instead of hashing it:
/// below it, hashing costs less than reading the journal's tail.
pub(crate) const HINT_FROM: u64 = 1 << 20;

/// Bytes of the journal's tail searched for the file's last line.
const HINT_TAIL: u64 = 64 * 1024;

/// What identifies one version of a file on disk: its inode (device and
/// number), size, and modification and change times in nanoseconds. Any
/// write to the file changes its change time, which no user can set back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
}

impl FileId {
    /// The identity of the file `st` describes; None if a time does not fit.
    pub(crate) fn of(st: &rustix::fs::Stat) -> Option<FileId> {
        let ns = |sec: i64, nsec: i64| sec.checked_mul(1_000_000_000)?.checked_add(nsec);
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        Some(FileId {
            dev: super::dir::dev(st),
            ino: u64::from(st.st_ino),
            size: u64::try_from(st.st_size).ok()?,
            mtime_ns: ns(st.st_mtime as i64, st.st_mtime_nsec as i64)?,
            ctime_ns: ns(st.st_ctime as i64, st.st_ctime_nsec as i64)?,
        })
    }

    /// The identity of the version just renamed into place as `name` in
    /// `dir` (`len` bytes), if it can vouch for that content later: a
    /// regular file of that size with one link, whose change time a later
    /// write cannot repeat. Writes are stamped from the kernel's coarse
    /// clock, so a later write could repeat the change time only within
    /// the same tick, or on a filesystem that keeps coarser times. Hence
    /// the change time must have sub-microsecond digits (the filesystem
    /// keeps nanoseconds) and differ from the coarse clock read after the
    /// `lstat`: older, the clock has moved past it and a later write is
    /// stamped later; newer, the kernel stamps this file finely once its
    /// times were looked at (Linux 6.13 and later), and a later write is
    /// stamped later too. Otherwise None: the next change hashes the file.
    pub(super) fn after_rename(dir: &Dir, name: &OsStr, len: usize) -> Option<FileId> {
        let st = dir.lstat(name).ok()??;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_nlink != 1 {
            return None;
        }
        let id = FileId::of(&st)?;
        if id.size != len as u64 {
            return None;
        }
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        let now = now
            .tv_sec
            .checked_mul(1_000_000_000)?
            .checked_add(now.tv_nsec)?;
        (id.ctime_ns % 1000 != 0 && id.ctime_ns != now).then_some(id)
    }
}

/// The hash of the file `st` describes (named `name` in the directory of the
/// `.jsafe` directory `state`), from the last journal line of that name,
/// when that line recorded this very version ([`FileId`]) with its hash.
/// None when the file is small, the line is not in the journal's tail or
/// is of another version: the caller hashes the bytes.
pub(super) fn known_hash(state: &Dir, name: &OsStr, st: &rustix::fs::Stat) -> Option<String> {
    let id = FileId::of(st)?;
    if id.size < HINT_FROM {
        return None;
    }
    let (f, jst) = state.open_regular(OsStr::new(JOURNAL)).ok()??;
    if jst.st_nlink != 1 {
        return None;
    }
    let len = u64::try_from(jst.st_size).ok()?;
    let start = len.saturating_sub(HINT_TAIL);
    let mut buf = vec![0u8; usize::try_from(len - start).ok()?];
    f.read_exact_at(&mut buf, start).ok()?;
    let mut needle = b"\"file_name\":".to_vec();
    serde_json::to_writer(&mut needle, &name.to_string_lossy()).ok()?;
    let mut lines = buf.split(|&b| b == b'\n').rev();
    if start > 0 {
        // The first piece may be the end of a longer line: never looked at.
        lines.next_back();
    }
    for line in lines {
        if !line.windows(needle.len()).any(|w| w == needle.as_slice()) {
            continue;
        }
        let Ok(e) = serde_json::from_slice::<Entry>(line) else {
            continue;
        };
        if e.file_name != name.to_string_lossy() {
            continue;
        }
        // The last line of this file decides.
        return match (e.stat_after, e.sha256_after) {
            (Some(recorded), Some(hash)) if recorded == id && hash.len() == 64 => Some(hash),
            _ => None,
        };
    }
    None
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha256_hex_parts(std::iter::once(bytes))
}

/// [`sha256_hex`] of the bytes `parts` spell one after the other.
pub(crate) fn sha256_hex_parts<'a>(parts: impl Iterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Append `entry` as one line, waiting for the journal lock no later than
/// `deadline`; with `sync`, the line is fsynced before the lock is dropped.
pub(super) fn append(
    state: &Dir,
    entry: &Entry,
    trust: &Trust,
    creation: &Creation,
    deadline: Option<Instant>,
    sync: bool,
) -> io::Result<()> {
    let line = begin(state, entry, trust, creation, deadline)?;
    if sync {
        line.sync(state)?;
    }
    line.finish(state)
}

/// A journal line written under the journal lock, which is held until
/// [`Line::finish`]: meanwhile the line can be fsynced, and replaced (the tail
/// of the journal past [`Line::start`] is ours alone).
pub(super) struct Line {
    journal: File,
    _lock: File,
    /// The journal's size before the line.
    start: u64,
    /// The line's length, with the newline put before it when the journal
    /// did not end with one.
    len: u64,
    /// A newline went before the line (a line cut by a crash ends the journal).
    fresh_line: bool,
}

/// Take the journal lock (waiting no later than `deadline`) and write `entry`
/// as one line, not yet synced.
pub(super) fn begin(
    state: &Dir,
    entry: &Entry,
    trust: &Trust,
    creation: &Creation,
    deadline: Option<Instant>,
) -> io::Result<Line> {
    let lock = open_checked(
        state,
        OsStr::new(JOURNAL_LOCK),
        OFlags::RDWR,
        // Owner (and a writing group) only: nobody who merely reads can hold it.
        0o600
            | if creation.dir_mode & 0o020 != 0 {
                0o060
            } else {
                0
            },
        trust,
        creation,
    )?;
    take_before(&lock, deadline)?;
    failpoint::hit(Step::JournalAppend)?;
    let journal = open_checked(
        state,
        OsStr::new(JOURNAL),
        OFlags::RDWR | OFlags::APPEND,
        creation.dir_mode & 0o664,
        trust,
        creation,
    )?;
    let start = journal.metadata()?.len();
    let mut fresh_line = false;
    if start > 0 {
        let mut last = [0u8; 1];
        journal.read_exact_at(&mut last, start - 1)?;
        fresh_line = last[0] != b'\n';
    }
    let mut line = Line {
        journal,
        _lock: lock,
        start,
        len: 0,
        fresh_line,
    };
    line.write(entry)?;
    Ok(line)
}

impl Line {
    /// Write `entry` at the end: one `write`, whole or cut back off.
    fn write(&mut self, entry: &Entry) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(512);
        if self.fresh_line {
            bytes.push(b'\n');
        }
        serde_json::to_writer(&mut bytes, entry).map_err(io::Error::other)?;
        bytes.push(b'\n');
        match rustix::io::write(&self.journal, &bytes) {
            Ok(n) if n == bytes.len() => {
                self.len = bytes.len() as u64;
                Ok(())
            }
            other => {
                // Whole line or nothing: we hold the journal lock, so the
                // tail past `start` is ours alone.
                let _ = self.journal.set_len(self.start);
                self.len = 0;
                Err(match other {
                    Ok(_) => io::Error::new(io::ErrorKind::StorageFull, "short write"),
                    Err(e) => e.into(),
                })
            }
        }
    }

    /// Replace the line with `entry` (not synced).
    pub(super) fn rewrite(&mut self, entry: &Entry) -> io::Result<()> {
        self.journal.set_len(self.start)?;
        self.len = 0;
        self.write(entry)
    }

    /// fsync the line. For the journal's first line, the `.jsafe` directory
    /// too: the journal's name is new (after a rotation, or ever).
    pub(super) fn sync(&self, state: &Dir) -> io::Result<()> {
        failpoint::hit(Step::JournalFsync)?;
        self.journal.sync_data()?;
        if self.start == 0 {
            rustix::fs::fsync(state.fd())?;
        }
        Ok(())
    }

    /// Rotate the journal if it has reached [`ROTATE_AT`], and drop the lock.
    pub(super) fn finish(self, state: &Dir) -> io::Result<()> {
        if self.start + self.len >= ROTATE_AT {
            failpoint::hit(Step::JournalRotate)?;
            rotate(state)?;
        }
        Ok(())
    }
}

/// Check, before a change, that the journal and its lock can be used when the
/// change is done: each is missing or a regular file with one link and a
/// trusted owner. Without this, a planted symlink, FIFO, hard link or
/// another user's file would be found only after the change, as a warning;
/// with it the change is refused and nothing is written. (The append checks
/// again on the descriptor it opens.)
pub(super) fn check(state: &Dir, trust: &Trust, data: &Path) -> crate::error::Result<()> {
    for name in [JOURNAL, JOURNAL_LOCK] {
        let what = format!("{}/{name}", layout::STATE_DIR);
        let st = state
            .lstat(OsStr::new(name))
            .map_err(|e| crate::error::Error::io("cannot check", &state.join(name), e))?;
        let Some(st) = st else {
            continue;
        };
        let t = FileType::from_raw_mode(st.st_mode);
        let why = if t != FileType::RegularFile {
            format!("is {}", dir::describe(t))
        } else if st.st_nlink != 1 {
            format!("has {} hard links (a journal has one)", st.st_nlink)
        } else if !trust.owner_ok(&st) {
            format!(
                "is owned by uid {}, not by the file's owner, the directory's owner or root",
                st.st_uid
            )
        } else {
            continue;
        };
        return Err(dir::refused(
            data,
            &what,
            &format!("{why} (--no-journal writes without it)"),
        ));
    }
    Ok(())
}

/// Open (creating if missing) a journal file: regular, one link, trusted owner.
fn open_checked(
    state: &Dir,
    name: &OsStr,
    flags: OFlags,
    mode: u32,
    trust: &Trust,
    creation: &Creation,
) -> io::Result<File> {
    let f = match state.open_file(name, flags, Mode::empty()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match state.open_file(
                name,
                flags | OFlags::CREATE | OFlags::EXCL,
                Mode::from_raw_mode(mode),
            ) {
                Ok(f) => {
                    use std::os::fd::AsFd;
                    creation.chown(f.as_fd())?;
                    f
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    state.open_file(name, flags, Mode::empty())?
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let st = rustix::fs::fstat(&f)?;
    let t = FileType::from_raw_mode(st.st_mode);
    if t != FileType::RegularFile {
        return Err(dir::not_regular(t));
    }
    if st.st_nlink != 1 {
        return Err(io::Error::other(format!(
            "{} has {} hard links; refused",
            name.to_string_lossy(),
            st.st_nlink
        )));
    }
    if !trust.owner_ok(&st) {
        return Err(io::Error::other(format!(
            "{} is owned by uid {}; refused",
            name.to_string_lossy(),
            st.st_uid
        )));
    }
    Ok(f)
}

/// The journal lock: tried, then tried again at growing intervals (it is only
/// ever held for one append) until `deadline`.
fn take_before(lock: &File, deadline: Option<Instant>) -> io::Result<()> {
    let mut pause = Duration::from_micros(200);
    loop {
        match rustix::fs::flock(lock, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK) => {}
            Err(e) => return Err(e.into()),
        }
        let left = deadline.map_or(pause, |d| d.saturating_duration_since(Instant::now()));
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the journal's lock stayed busy until the timeout",
            ));
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn rotate(state: &Dir) -> io::Result<()> {
    for n in (1..KEEP).rev() {
        let from = layout::rotated_journal(n);
        match rustix::fs::renameat(
            state.fd(),
            from.as_str(),
            state.fd(),
            layout::rotated_journal(n + 1).as_str(),
        ) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(rustix::fs::renameat(
        state.fd(),
        JOURNAL,
        state.fd(),
        layout::rotated_journal(1).as_str(),
    )?)
}

/// Bytes of a journal's tail read to find the last entries.
const TAIL: u64 = 256 * 1024;

/// The last entry per file name (the `file_name` field) in the journal of one
/// `.jsafe` directory. Reads only the tail of the journal, falling back to the
/// newest rotated one for names not found there. Lines that are not entries
/// are skipped, and so is a journal that is not a regular file with one link.
pub(crate) fn last_entries(state: &Dir) -> HashMap<String, Entry> {
    let mut found = HashMap::new();
    for name in [JOURNAL.to_owned(), layout::rotated_journal(1)] {
        let Ok(Some((mut f, st))) = state.open_regular(OsStr::new(&name)) else {
            continue;
        };
        // A journal has one link; a second name makes it someone else's
        // file, whose lines status would print.
        if st.st_nlink != 1 {
            continue;
        }
        let len = u64::try_from(st.st_size).unwrap_or(0);
        let start = len.saturating_sub(TAIL);
        if f.seek(SeekFrom::Start(start)).is_err() {
            continue;
        }
        let mut buf = Vec::new();
        if f.by_ref().take(TAIL).read_to_end(&mut buf).is_err() {
            continue;
        }
        let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        if start > 0 && !lines.is_empty() {
            lines.remove(0); // probably a partial line
        }
        for line in lines.iter().rev() {
            let Ok(e) = serde_json::from_slice::<Entry>(line) else {
                continue;
            };
            if !e.file_name.is_empty() {
                found.entry(e.file_name.clone()).or_insert(e);
            }
        }
    }
    found
}

/// Every entry of a `.jsafe` directory's journal and its rotations, oldest
/// first (rotations that do not exist are skipped).
pub(crate) fn read_all_rotated(state_dir: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for n in (1..=KEEP).rev() {
        match read_all(&state_dir.join(layout::rotated_journal(n))) {
            Ok(e) => out.extend(e),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    out.extend(read_all(&state_dir.join(JOURNAL))?);
    Ok(out)
}

/// Every entry of a journal file, in order; lines that are not entries are
/// skipped (for audits and tests).
pub(crate) fn read_all(journal: &Path) -> io::Result<Vec<Entry>> {
    let bytes = std::fs::read(journal)?;
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        _tmp: tempfile::TempDir,
        state: Dir,
        path: std::path::PathBuf,
        trust: Trust,
        creation: Creation,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".jsafe");
        std::fs::create_dir(&path).unwrap();
        let state = Dir::open(&path).unwrap();
        let st = Dir::open(tmp.path()).unwrap().stat().unwrap();
        Fixture {
            trust: Trust::new(&st, None),
            creation: Creation::new(&st),
            _tmp: tmp,
            state,
            path,
        }
    }

    fn entry(n: u64) -> Entry {
        Entry {
            file_name: format!("f{}.json", n % 3),
            // The pid field carries the sequence; `file` pads the line.
            pid: u32::try_from(n).unwrap(),
            file: "x".repeat(4000),
            ..Entry::default()
        }
    }

    /// Append entries for f0..f2.json in turn until the journal has been
    /// rotated twice, then `extra` more; returns the number of entries.
    fn rotated(f: &Fixture, extra: u64) -> u64 {
        let mut n = 0u64;
        while !f.path.join("journal.2.jsonl").exists() {
            assert!(n < 10_000, "the journal never rotated");
            append(&f.state, &entry(n), &f.trust, &f.creation, None, false).unwrap();
            n += 1;
        }
        for _ in 0..extra {
            append(&f.state, &entry(n), &f.trust, &f.creation, None, false).unwrap();
            n += 1;
        }
        n
    }

    #[test]
    fn the_journal_rotates_without_losing_or_cutting_a_line() {
        let f = fixture();
        let n = rotated(&f, 5);
        let journal = f.path.join(FILE_NAME);
        assert!(std::fs::metadata(&journal).unwrap().len() < ROTATE_AT);
        assert!(
            std::fs::metadata(f.path.join("journal.1.jsonl"))
                .unwrap()
                .len()
                >= ROTATE_AT
        );
        assert!(!f.path.join(format!("journal.{}.jsonl", KEEP + 1)).exists());
        let all = read_all_rotated(&f.path).unwrap();
        let numbers: Vec<u64> = all.iter().map(|e| u64::from(e.pid)).collect();
        assert_eq!(numbers, (0..n).collect::<Vec<_>>());
        let last = last_entries(&f.state);
        for k in 0..3u64 {
            let expected = (0..n).rev().find(|i| i % 3 == k).unwrap();
            assert_eq!(u64::from(last[&format!("f{k}.json")].pid), expected);
        }
    }

    #[test]
    fn right_after_a_rotation_the_last_entries_come_from_the_rotated_journal() {
        let f = fixture();
        // One line after the rotation: the other two names are only in journal.1.
        let n = rotated(&f, 1);
        let last = last_entries(&f.state);
        for k in 0..3u64 {
            let expected = (0..n).rev().find(|i| i % 3 == k).unwrap();
            assert_eq!(
                last.get(&format!("f{k}.json")).map(|e| u64::from(e.pid)),
                Some(expected)
            );
        }
    }

    #[test]
    fn a_cut_last_line_is_never_glued_to_the_next_entry() {
        let f = fixture();
        append(&f.state, &entry(1), &f.trust, &f.creation, None, false).unwrap();
        // A crash cut the next line short.
        let journal = f.path.join(FILE_NAME);
        let mut bytes = std::fs::read(&journal).unwrap();
        bytes.extend_from_slice(br#"{"time":"2026-1"#);
        std::fs::write(&journal, &bytes).unwrap();
        append(&f.state, &entry(2), &f.trust, &f.creation, None, true).unwrap();
        let text = std::fs::read_to_string(&journal).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[1], r#"{"time":"2026-1"#);
        assert_eq!(
            read_all(&journal)
                .unwrap()
                .iter()
                .map(|e| e.pid)
                .collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn a_held_journal_lock_delays_a_writer_only_until_its_deadline() {
        let f = fixture();
        append(&f.state, &entry(1), &f.trust, &f.creation, None, false).unwrap();
        let lock = std::fs::File::open(f.path.join(JOURNAL_LOCK)).unwrap();
        rustix::fs::flock(&lock, FlockOperation::LockExclusive).unwrap();
        let deadline = Instant::now() + Duration::from_millis(200);
        let e = append(
            &f.state,
            &entry(2),
            &f.trust,
            &f.creation,
            Some(deadline),
            false,
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(Instant::now() >= deadline);
        drop(lock);
        append(
            &f.state,
            &entry(3),
            &f.trust,
            &f.creation,
            Some(Instant::now() + Duration::from_secs(5)),
            true,
        )
        .unwrap();
        let pids: Vec<u32> = read_all(&f.path.join(FILE_NAME))
            .unwrap()
            .iter()
            .map(|e| e.pid)
            .collect();
        assert_eq!(pids, [1, 3]);
    }

    #[test]
    fn the_journal_lock_is_not_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let f = fixture();
        append(&f.state, &entry(1), &f.trust, &f.creation, None, false).unwrap();
        let mode = std::fs::metadata(f.path.join(JOURNAL_LOCK))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o007, 0, "{mode:o}");
    }
}
