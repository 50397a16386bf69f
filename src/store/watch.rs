//! Waiting for a data file to change, without polling: inotify on the real
//! file's directory (symlinks of the last component followed as a write
//! follows them), which sees the rename that every jsafe change ends with,
//! a file created or removed, and (for JSON Lines files) appends.
//!
//! # Contract
//! - [`Watch::new`] registers the watch before the caller's first read, so
//!   a change committed between that read and the first [`Watch::wait`] is
//!   still reported: nothing committed is missed.
//! - [`Watch::wait`] returns when something happened to the file's name
//!   (several changes may be reported as one: the caller reads the newest
//!   version), when the timeout passes, or when the directory itself went
//!   away. It never reads the file: callers read with
//!   [`super::load`] (whole versions only) or [`read_new_lines`].
//! - The watch is on the directory handle jsafe opened (through
//!   `/proc/self/fd`), so a directory renamed or replaced after resolution is
//!   not confused with another.
//! - inotify needs read permission on what it watches. In a directory this
//!   user may search but not read (mode 0711 of another user), the file
//!   itself is watched instead: its content changing, and its inode losing
//!   its name (a jsafe change renames a new version over it). Before a
//!   change is reported, the watch moves to the file now under the name, so
//!   a change made after the caller's next read is seen too. While there is
//!   no file under the name, there is nothing to watch: the name is looked
//!   at again every [`ABSENT_RECHECK`] until a file appears.

use std::ffi::OsString;
use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use super::{Format, Target, dev, lines};
use crate::error::{Error, Kind, Result};

/// What [`Watch::wait`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Something happened to the file (read it again).
    Changed,
    /// The timeout passed first.
    TimedOut,
    /// The directory was removed or moved away: nothing more will be seen.
    DirGone,
    /// The reader of the output went away (only when the program waits while writing to a pipe; never from [`Watch::wait`]).
    OutputClosed,
}

/// A watch on one data file.
pub struct Watch {
    inotify: OwnedFd,
    name: OsString,
    /// The real file, for messages.
    real: PathBuf,
    /// Set when the file itself is watched (its directory cannot be read).
    on_file: Option<OnFile>,
}

/// The file watched in place of its directory (see the module head).
struct OnFile {
    /// `/proc/self/fd/<dir>/<name>` (or the path), to find the file again.
    at: PathBuf,
    /// Keeps the directory handle `at` goes through open.
    _dir: super::Dir,
    /// The watch on the file now under the name; None: there is none.
    wd: Option<i32>,
}

/// How often a watched name without a file is looked at again, in a
/// directory that cannot be read (no inotify on it).
pub(crate) const ABSENT_RECHECK: Duration = Duration::from_millis(200);

/// What is watched on the file itself: what a change of its content or of
/// its name does to its inode.
fn file_mask() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::ATTRIB
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::DONT_FOLLOW
}

impl OnFile {
    /// Watch the file now under the name (and no longer an earlier one).
    fn rearm(&mut self, inotify: &OwnedFd) -> std::io::Result<()> {
        let now = match inotify::add_watch(inotify, self.at.as_path(), file_mask()) {
            Ok(wd) => Some(wd),
            Err(rustix::io::Errno::NOENT) => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(old) = self.wd
            && Some(old) != now
        {
            // Its IN_IGNORED event is not about the file now watched.
            let _ = inotify::remove_watch(inotify, old);
        }
        self.wd = now;
        Ok(())
    }
}

impl Watch {
    /// Watch `file`; JSON Lines files are also watched for appends.
    pub fn new(file: &Path, format: Format) -> Result<Watch> {
        let t = Target::resolve(file)?;
        let inotify = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .map_err(|e| Error::io("cannot watch", file, e.into()))?;
        let mut mask = WatchFlags::MOVED_TO
            | WatchFlags::CREATE
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR;
        if format == Format::Lines {
            mask |= WatchFlags::MODIFY;
        }
        let by_fd = format!("/proc/self/fd/{}", t.at.dir.fd().as_raw_fd());
        let added = inotify::add_watch(&inotify, by_fd.as_str(), mask)
            .or_else(|_| inotify::add_watch(&inotify, t.at.dir.path(), mask));
        if matches!(added, Err(rustix::io::Errno::ACCESS)) && t.at.dir.search_only() {
            let at = if Path::new(&by_fd).exists() {
                Path::new(&by_fd).join(&t.at.name)
            } else {
                t.real()
            };
            let mut on_file = OnFile {
                at,
                _dir: t.at.dir,
                wd: None,
            };
            on_file
                .rearm(&inotify)
                .map_err(|e| Error::io("cannot watch", file, e))?;
            let real = on_file._dir.join(&t.at.name);
            return Ok(Watch {
                inotify,
                real,
                name: t.at.name,
                on_file: Some(on_file),
            });
        }
        added.map_err(|e| {
            let e: std::io::Error = e.into();
            let hint = if e.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error()) {
                " (the inotify watch limit is reached: raise fs.inotify.max_user_watches)"
            } else {
                ""
            };
            Error::io("cannot watch the directory of", file, e)
                .map_message(|m| format!("{m}{hint}"))
        })?;
        Ok(Watch {
            inotify,
            real: t.real(),
            name: t.at.name,
            on_file: None,
        })
    }

    /// The real file watched (symlinks followed).
    pub fn real(&self) -> &Path {
        &self.real
    }

    /// Wait for a change of the file, at most `timeout` (None: for ever).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Event> {
        self.wait_writing_to(timeout, None)
    }

    /// As [`Watch::wait`], also returning [`Event::OutputClosed`] when `out`
    /// (a pipe the caller prints to) has lost its reader: `watch F | head -1`
    /// ends with `head`, not at the next change.
    pub(crate) fn wait_writing_to(
        &mut self,
        timeout: Option<Duration>,
        out: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> Result<Event> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Some(e) = self.drain()? {
                return Ok(e);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(Event::TimedOut);
            }
            // No file to watch under the name: look again now and then.
            let left = match &self.on_file {
                Some(f) if f.wd.is_none() => {
                    Some(left.map_or(ABSENT_RECHECK, |l| l.min(ABSENT_RECHECK)))
                }
                _ => left,
            };
            let ts = left.map(|l| Timespec {
                tv_sec: i64::try_from(l.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(l.subsec_nanos()),
            });
            let mut fds = vec![PollFd::new(&self.inotify, PollFlags::IN)];
            if let Some(o) = out {
                fds.push(PollFd::from_borrowed_fd(o, PollFlags::empty()));
            }
            match rustix::event::poll(&mut fds, ts.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Error::io("cannot watch", &self.real, e.into())),
            }
            if fds
                .get(1)
                .is_some_and(|f| f.revents().intersects(PollFlags::ERR | PollFlags::HUP))
            {
                return Ok(Event::OutputClosed);
            }
        }
    }

    /// Read every pending event; what they add up to (None: nothing about
    /// our file).
    fn drain(&mut self) -> Result<Option<Event>> {
        if self.on_file.is_some() {
            return self.drain_file();
        }
        let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
        let mut reader = inotify::Reader::new(self.inotify.as_fd(), &mut buf);
        let mut seen = None;
        loop {
            let ev = match reader.next() {
                Ok(ev) => ev,
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return Ok(seen),
                Err(e) => return Err(Error::io("cannot watch", &self.real, e.into())),
            };
            let flags = ev.events();
            if flags.intersects(
                ReadFlags::DELETE_SELF
                    | ReadFlags::MOVE_SELF
                    | ReadFlags::IGNORED
                    | ReadFlags::UNMOUNT,
            ) {
                return Ok(Some(Event::DirGone));
            }
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                seen = Some(Event::Changed);
                continue;
            }
            if ev
                .file_name()
                .is_some_and(|n| n.to_bytes() == self.name.as_bytes())
            {
                seen = Some(Event::Changed);
            }
        }
    }
}

impl Watch {
    /// [`Watch::drain`] when the file itself is watched: any event of the
    /// watch on the current file is a change (events of a file watched
    /// before are not); the watch then moves to the file now under the name,
    /// before the change is reported.
    fn drain_file(&mut self) -> Result<Option<Event>> {
        let Some(on_file) = self.on_file.as_mut() else {
            return Ok(None);
        };
        let mut seen = None;
        {
            let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
            let mut reader = inotify::Reader::new(self.inotify.as_fd(), &mut buf);
            loop {
                let ev = match reader.next() {
                    Ok(ev) => ev,
                    Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => break,
                    Err(e) => return Err(Error::io("cannot watch", &self.real, e.into())),
                };
                if ev.events().contains(ReadFlags::QUEUE_OVERFLOW) || on_file.wd == Some(ev.wd()) {
                    seen = Some(Event::Changed);
                }
            }
        }
        let before = on_file.wd;
        on_file
            .rearm(&self.inotify)
            .map_err(|e| Error::io("cannot watch", &self.real, e))?;
        // A file appeared under a name that had none.
        if before.is_none() && on_file.wd.is_some() {
            seen = Some(Event::Changed);
        }
        Ok(seen)
    }
}

/// Where a reader of a JSON Lines file got to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cursor {
    /// (device, inode) of the file read.
    file: Option<(u64, u64)>,
    /// Bytes read and handed out as whole lines.
    offset: u64,
    /// Inside a line over the JSON Lines limit, passed over to its newline.
    skipping: bool,
}

/// Lines appended since the cursor.
#[derive(Debug, Default)]
pub(crate) struct NewLines {
    /// Whole lines (without their newline), blank ones included.
    pub lines: Vec<Vec<u8>>,
    /// The file was replaced or cut back since the cursor: `lines` start
    /// from its beginning again.
    pub restarted: bool,
    /// More was there than one call reads: call again before waiting (the
    /// next change may never come).
    pub more: bool,
    /// Lines passed over because they are longer than the JSON Lines limit
    /// ([`lines::MAX_LINE`]); counted in line numbers, not in `lines`.
    pub too_long: usize,
}

/// Most bytes read in one call (the rest comes with the next): one line of
/// the JSON Lines limit and its newline.
const MAX_READ: u64 = lines::MAX_LINE as u64 + 1;

/// The whole lines added to the JSON Lines `file` since `cursor`, which is
/// moved past them. A last line without its newline yet is left for later
/// (an append in progress). A missing file gives nothing.
pub(crate) fn read_new_lines(file: &Path, cursor: &mut Cursor) -> Result<NewLines> {
    let t = match Target::resolve_any(file) {
        Ok(t) => t,
        Err(e) if e.kind() == Kind::NotFound => return Ok(NewLines::default()),
        Err(e) => return Err(e),
    };
    let opened =
        t.at.dir
            .open_regular(&t.at.name)
            .map_err(|e| Error::io("cannot read", file, e))?;
    let Some((f, st)) = opened else {
        let restarted = cursor.file.is_some();
        *cursor = Cursor::default();
        return Ok(NewLines {
            restarted,
            ..NewLines::default()
        });
    };
    let id = (dev(&st), st.st_ino);
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let mut out = NewLines::default();
    if cursor.file != Some(id) || size < cursor.offset {
        out.restarted = cursor.file.is_some();
        *cursor = Cursor {
            file: Some(id),
            offset: 0,
            skipping: false,
        };
    }
    let left = size.saturating_sub(cursor.offset);
    let want = left.min(MAX_READ);
    out.more = left > want;
    let bytes = read_at(&f, cursor.offset, want).map_err(|e| Error::io("cannot read", file, e))?;
    if cursor.skipping {
        // The rest of a line over the limit: up to and with its newline.
        match bytes.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                cursor.offset += nl as u64 + 1;
                cursor.skipping = false;
                out.more = true;
            }
            None => cursor.offset += bytes.len() as u64,
        }
        return Ok(out);
    }
    let Some(last_nl) = bytes.iter().rposition(|&b| b == b'\n') else {
        if bytes.len() as u64 == MAX_READ {
            // No newline within the limit: this line is over it.
            out.too_long = 1;
            cursor.offset += bytes.len() as u64;
            cursor.skipping = true;
        }
        return Ok(out);
    };
    out.lines = bytes[..last_nl]
        .split(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    cursor.offset += last_nl as u64 + 1;
    Ok(out)
}

fn read_at(f: &File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("too large"))?;
    let mut buf = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match f.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}
