//! O(1) appends to JSON Lines files ([`append`]): the one change of a data
//! file that does not go through [`super::transact`], because a log is
//! never rewritten. It keeps the write core's other promises:
//!
//! 1. **resolve, state, lock** — exactly as `transact` (the same lock file,
//!    the same checks; a lock handed down by `jsafe lock` is used as is).
//! 2. **check** — each new line is a compact JSON value without a newline,
//!    accepted by the file's attached schema and the caller's check;
//!    otherwise nothing is written.
//! 3. **tail** — the file is opened `O_APPEND` (created when missing; a
//!    file with a second hard link is refused, as appending would change the
//!    other names too) and only its end is read: a torn last line (see [`super::lines`]) is copied
//!    to `.jsafe/quarantine/<key>.<stamp>.corrupt`, made durable there, and
//!    cut off the file; a last whole line without its newline gets one. The
//!    last whole line must be JSON, or the file is not JSON Lines (exit 5).
//! 4. **append** — all new lines in one `write(2)`, then fsync (and, for a
//!    new file, fsync of the directory). A failed write is cut back off.
//! 5. **journal** — one line (`op` as the options say, no hashes: hashing
//!    a growing log would make every append O(n)).
//!
//! No backup is taken: the old content is not replaced but extended, and
//! what a crash can damage — the line being written — is what the
//! quarantine keeps.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Instant, SystemTime};

use rustix::fs::{FileType, Mode as FileMode, OFlags};

use super::dir::Dir;
use super::failpoint::Step;
use super::layout::{self, QUARANTINE};
use super::{Format, Options, Outcome, Session, Target, lines, replace, schema};
use crate::error::{Error, Kind, Result, Untouched};
use crate::json;

/// Longest last line read back to check it, newline included (a longer
/// one is refused): the JSON Lines limit.
const MAX_LAST_LINE: u64 = lines::MAX_LINE as u64 + 1;
/// Bytes read per step when looking back for the last newline.
const CHUNK: u64 = 64 << 10;

/// Append `lines` (compact JSON values, without newlines) to the JSON Lines
/// file `file`; with no lines, only repair a torn tail. See the module head:
/// the steps are the write core's ([`Session`]) where they are the same.
pub(super) fn append_local(file: &Path, opts: &Options, new_lines: &[Vec<u8>]) -> Result<Outcome> {
    let started = Instant::now();
    check_lines(file, new_lines)?;
    let t = Target::resolve(file)?;
    let mut s = Session::begin(file, opts, &t, started)?;
    let guard = schema::Guard::load(&s.state, &t)?;
    for l in new_lines {
        // Each new line is one value: checked as a document of its own.
        guard.check(file, opts, l, Format::Document)?;
    }
    let (f, created) = open_for_append(&t, file)?;
    let (keep_len, needs_newline) = s.repair_tail(&f, created)?;
    let written = s.append_lines(&f, keep_len, needs_newline, new_lines)?;
    if !s.outcome.changed {
        return Ok(s.outcome);
    }
    s.complete_append(&f, created, written)
}

/// Each new line is one compact JSON value within the line limit.
fn check_lines(file: &Path, new_lines: &[Vec<u8>]) -> Result<()> {
    for (i, l) in new_lines.iter().enumerate() {
        if l.len() > lines::MAX_LINE {
            return Err(Error::bad_input(format!(
                "{}: value {} to append is {} bytes on one line, longer than a JSON Lines line may be ({})",
                file.display(),
                i + 1,
                l.len(),
                lines::max_line_text()
            ))
            .unchanged(Untouched::Appended));
        }
        if l.contains(&b'\n') || json::validate(l).is_err() {
            return Err(Error::bad_input(format!(
                "{}: value {} to append is not one compact JSON value",
                file.display(),
                i + 1
            ))
            .unchanged(Untouched::Appended));
        }
    }
    Ok(())
}

impl Session<'_, '_> {
    /// Read the end of the open log `f`: refuse a second hard link or a last
    /// line that is not JSON; move a torn tail to the quarantine and cut it
    /// off. Returns the length kept and whether a newline must come first.
    fn repair_tail(&mut self, f: &File, created: bool) -> Result<(u64, bool)> {
        let (file, t) = (self.file, self.t);
        let st = rustix::fs::fstat(f).map_err(|e| Error::io("cannot check", file, e.into()))?;
        if st.st_nlink > 1 {
            // Appending writes into the inode: every other name would change too
            // (and a planted link would lead the append somewhere else).
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{}: has {} hard links; appending would change the other names' content too",
                    file.display(),
                    st.st_nlink
                ),
            )
            .unchanged_so(Untouched::Appended));
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        self.outcome.bytes_before = (!created).then_some(size);
        let end = Tail::read(f, size).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                // Not a log jsafe wrote: its last line passes the limit.
                Error::new(Kind::Corrupt, format!("{}: {e}", file.display()))
                    .unchanged(Untouched::Appended)
            } else {
                Error::io("cannot read", file, e)
            }
        })?;
        if let Some(bad) = &end.bad_last_line {
            return Err(not_json_lines(
                file,
                &format!("its last line is not valid JSON ({bad})"),
            ));
        }
        if end.tail.is_empty() {
            return Ok((size, false));
        }
        if lines::tail_is_whole(&end.tail) {
            return Ok((size, end.tail.iter().any(|b| !b.is_ascii_whitespace())));
        }
        if !lines::could_be_torn(&end.tail) {
            // Not the beginning of a line cut short (the `]` that ends a
            // pretty-printed document, say): not JSON Lines, never cut.
            return Err(not_json_lines(
                file,
                "its last line is not JSON and not a line cut short by an append",
            ));
        }
        let q = self.state.sub(OsStr::new(QUARANTINE))?;
        let name = quarantine_tail(&q, &t.key, &end.tail, &st, self.opts.sync).map_err(|e| {
            Error::io("cannot quarantine the torn last line of", file, e)
                .unchanged(Untouched::Changed)
        })?;
        f.set_len(end.start)
            .and_then(|()| {
                if self.opts.sync {
                    f.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| {
                Error::io("cannot cut the torn last line off", file, e)
                    .then(format!("; a copy of it is in {}", q.join(&name).display()))
            })?;
        self.outcome.quarantined = Some(q.join(&name));
        self.outcome.changed = true;
        Ok((end.start, false))
    }

    /// All new lines in one `write(2)` after the `keep_len` bytes kept; a
    /// failed write is cut back off. Returns whether anything was written.
    fn append_lines(
        &mut self,
        f: &File,
        keep_len: u64,
        needs_newline: bool,
        new_lines: &[Vec<u8>],
    ) -> Result<bool> {
        let mut buf = Vec::with_capacity(new_lines.iter().map(|l| l.len() + 1).sum::<usize>() + 1);
        if needs_newline && !new_lines.is_empty() {
            buf.push(b'\n');
        }
        for l in new_lines {
            buf.extend_from_slice(l);
            buf.push(b'\n');
        }
        self.outcome.bytes_after = keep_len + buf.len() as u64;
        if buf.is_empty() {
            return Ok(false);
        }
        let wrote = super::failpoint::hit(Step::TempWrite).and_then(|()| (&*f).write_all(&buf));
        if let Err(e) = wrote {
            // Whole lines or nothing: we hold the lock, the end is ours.
            let e = Error::io("cannot append to", self.file, e);
            return Err(if f.set_len(keep_len).is_ok() {
                e.unchanged(Untouched::Appended)
            } else {
                e.then("; part of a line may be left at the end (the next append moves it to quarantine)")
            });
        }
        self.outcome.changed = true;
        Ok(true)
    }

    /// fsync (and, for a new file, fsync of its directory) of what was
    /// `written` → journal, overlapped as the write core's epilogue is.
    fn complete_append(mut self, f: &File, created: bool, written: bool) -> Result<Outcome> {
        let (file, t, opts, started) = (self.file, self.t, self.opts, self.started);
        let (sync, data_dir) = (opts.sync && written, &t.at.dir);
        let fsyncs = || -> Option<Error> {
            if !sync {
                return None;
            }
            super::failpoint::hit(Step::TempFsync)
                .and_then(|()| f.sync_data())
                .and_then(|()| {
                    if created {
                        data_dir.sync(Step::DirFsync)
                    } else {
                        Ok(())
                    }
                })
                .err()
                .map(|e| super::not_durable_error(file, "cannot fsync", e))
        };
        let entry = |outcome: &Outcome, not_durable: bool| {
            let mut entry =
                super::journal_entry(t, opts, outcome, not_durable, started, (None, None));
            if outcome.quarantined.is_some() && !not_durable {
                entry.result = "torn-tail-quarantined".to_owned();
            }
            entry
        };
        match self.settle_journal(&fsyncs, &entry, "appended", super::SyncOrder::Beside) {
            Some(e) => Err(e),
            None => Ok(self.outcome),
        }
    }
}

/// A log whose end is not JSON Lines (`why`): nothing is appended.
fn not_json_lines(file: &Path, why: &str) -> Error {
    Error::new(
        Kind::Corrupt,
        format!(
            "{}: {why}: not a JSON Lines file, or damaged",
            file.display()
        ),
    )
    .unchanged(Untouched::Appended)
    .then(status_hint(file))
}

/// Open the data file for appending, creating it (with the mode a new file
/// gets from `transact`) when missing; only a regular file.
fn open_for_append(t: &Target, file: &Path) -> Result<(File, bool)> {
    let name = &t.at.name;
    let open = |flags| {
        t.at.dir.open_file(
            name,
            OFlags::RDWR | OFlags::APPEND | flags,
            FileMode::from_raw_mode(0o666),
        )
    };
    let (f, created) = match open(OFlags::empty()) {
        Ok(f) => (f, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match open(OFlags::CREATE | OFlags::EXCL) {
                Ok(f) => (f, true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
                    open(OFlags::empty()).map_err(|e| Error::io("cannot open", file, e))?,
                    false,
                ),
                Err(e) => return Err(Error::io("cannot create", file, e)),
            }
        }
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(not_regular_error(file, FileType::Symlink));
        }
        Err(e) => return Err(Error::io("cannot open", file, e)),
    };
    let st = rustix::fs::fstat(&f).map_err(|e| Error::io("cannot check", file, e.into()))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind != FileType::RegularFile {
        return Err(not_regular_error(file, kind));
    }
    // Checked again on the descriptor written to, as the name was before the
    // lock: in a shared sticky directory another user can make the file while
    // the append waits for the lock.
    super::dir::may_replace(&t.at, &st, file)?;
    // O_NONBLOCK came with the handle's open; appends must block normally.
    let _ = rustix::fs::fcntl_setfl(&f, OFlags::APPEND);
    Ok((f, created))
}

/// The end of a JSON Lines file: the tail after its last newline, and what is
/// wrong with the last whole line before it (if anything).
struct Tail {
    /// Offset of the tail.
    start: u64,
    tail: Vec<u8>,
    bad_last_line: Option<String>,
}

impl Tail {
    fn read(f: &File, size: u64) -> std::io::Result<Tail> {
        let tail_start = last_newline_before(f, size, size)?.map_or(0, |nl| nl + 1);
        let tail = read_range(f, tail_start, size)?;
        let mut bad_last_line = None;
        if tail_start > 0 {
            let line_end = tail_start - 1;
            let line_start = last_newline_before(f, line_end, size)?.map_or(0, |nl| nl + 1);
            let line = read_range(f, line_start, line_end)?;
            if line.len() > lines::MAX_LINE
                || (line.iter().any(|b| !b.is_ascii_whitespace()) && json::validate(&line).is_err())
            {
                // Numbered as `read` and `status` number it: counting the
                // lines before it costs a read of the file, on this error
                // path only.
                let line_no = count_newlines(f, line_start)? + 1;
                let start = usize::try_from(line_start).unwrap_or(usize::MAX);
                if let Err(e) = lines::check_line(line_no, start, &line) {
                    bad_last_line = Some(e.to_string());
                }
            }
        }
        Ok(Tail {
            start: tail_start,
            tail,
            bad_last_line,
        })
    }
}

/// The offset of the last `\n` before `end`, looking back no further than
/// [`MAX_LAST_LINE`] bytes.
fn last_newline_before(f: &File, end: u64, size: u64) -> std::io::Result<Option<u64>> {
    let mut hi = end.min(size);
    let floor = end.saturating_sub(MAX_LAST_LINE);
    let mut buf = vec![0u8; usize::try_from(CHUNK).unwrap_or(65536)];
    while hi > 0 {
        if hi <= floor && floor > 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "its last line is longer than a JSON Lines line may be ({}): not a JSON Lines file, or damaged",
                    lines::max_line_text()
                ),
            ));
        }
        let lo = hi.saturating_sub(CHUNK);
        let n = usize::try_from(hi - lo).unwrap_or(0);
        f.read_exact_at(&mut buf[..n], lo)?;
        if let Some(p) = buf[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + p as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// Newlines in the first `end` bytes of `f`.
fn count_newlines(f: &File, end: u64) -> std::io::Result<usize> {
    let mut buf = vec![0u8; usize::try_from(CHUNK).unwrap_or(65536)];
    let (mut at, mut count) = (0u64, 0usize);
    while at < end {
        let n = usize::try_from((end - at).min(CHUNK)).unwrap_or(0);
        f.read_exact_at(&mut buf[..n], at)?;
        count += buf[..n].iter().filter(|&&b| b == b'\n').count();
        at += n as u64;
    }
    Ok(count)
}

fn read_range(f: &File, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(to.saturating_sub(from))
        .map_err(|_| std::io::Error::other("the last line is too long"))?;
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, from)?;
    Ok(buf)
}

/// Keep a torn tail's bytes as a new file in the quarantine, durable before
/// the data file is cut.
fn quarantine_tail(
    q: &Dir,
    key: &OsStr,
    tail: &[u8],
    data: &rustix::fs::Stat,
    sync: bool,
) -> std::io::Result<OsString> {
    let mut when = SystemTime::now();
    for _ in 0..1000 {
        let name = layout::quarantine_name(key, when);
        let f = match q.open_file(
            &name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            FileMode::from_raw_mode(data.st_mode & 0o666),
        ) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                when += std::time::Duration::from_nanos(1);
                continue;
            }
            Err(e) => return Err(e),
        };
        let written = (&f).write_all(tail).and_then(|()| {
            replace::keep_mode_and_owner(&f, data)?;
            if sync {
                f.sync_data()?;
                q.sync(Step::BackupDirFsync)?;
            }
            Ok(())
        });
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(q.fd(), &name, rustix::fs::AtFlags::empty());
            return Err(e);
        }
        return Ok(name);
    }
    Err(std::io::Error::other("no free quarantine name"))
}

/// "`jsafe status FILE` checks every line", after a refused append.
fn status_hint(file: &Path) -> String {
    format!(" (`jsafe status {}` checks every line)", file.display())
}

/// The error for a FILE that is not a regular file (a change refuses it).
pub(crate) fn not_regular_error(file: &Path, kind: FileType) -> Error {
    Error::new(
        Kind::Io,
        format!("{}: {}", file.display(), super::dir::not_regular(kind)),
    )
    .unchanged(Untouched::Changed)
}
