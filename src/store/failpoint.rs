//! Fail points: every I/O step of the write core calls [`hit`] first. In a
//! build with the `failpoints` feature (the test build enables it through a
//! dev-dependency; a release build never has it), the environment variable
//! `JSAFE_FAILPOINT=<step>:<n>:<action>[,…]` makes the `n`th call of `step`
//! (1 is the first) fail with an errno (`EIO`, `ENOSPC`, `EFBIG`, `EACCES`,
//! `EROFS`, `EPERM`, `EINTR`, `ENOLCK`), or with `crash` kill the process on
//! the spot with SIGKILL (as a power cut or the OOM killer would), or with
//! `sleep` pause there for 30 s (for tests that send a signal mid-write).
//! When `JSAFE_FAILPOINT_LOG` names a file, every point that fires appends
//! `<step>:<n>:<action>` to it first. Without the feature, [`hit`] is an
//! empty inline function.

use std::io;

/// The I/O steps of the write core, in the order a write meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Creating `.jsafe` or one of its directories.
    StateDir,
    /// Opening (or creating) the lock file.
    LockOpen,
    /// Taking the kernel lock.
    Lock,
    /// Writing the holder record.
    HolderRecord,
    /// Reading the data file.
    Read,
    /// Listing the backups (sequence number, trust checks, rotation).
    BackupList,
    /// Hard-linking the backup.
    BackupLink,
    /// Copying the backup (where links are impossible).
    BackupCopy,
    /// Creating the temp file.
    TempCreate,
    /// Writing the new bytes to the temp file.
    TempWrite,
    /// fsync of the temp file.
    TempFsync,
    /// Renaming the temp file over the target.
    Rename,
    /// fsync of the data directory.
    DirFsync,
    /// fsync of the backup (or quarantine) directory.
    BackupDirFsync,
    /// Removing old backups.
    Rotate,
    /// Appending the journal line.
    JournalAppend,
    /// fsync of the journal line.
    JournalFsync,
    /// Rotating the journal.
    JournalRotate,
}

// Used by the fail points themselves, which exist only with the feature.
#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
impl Step {
    /// Every step, for test loops.
    pub(crate) const ALL: &'static [Step] = &[
        Step::StateDir,
        Step::LockOpen,
        Step::Lock,
        Step::HolderRecord,
        Step::Read,
        Step::BackupList,
        Step::BackupLink,
        Step::BackupCopy,
        Step::TempCreate,
        Step::TempWrite,
        Step::TempFsync,
        Step::Rename,
        Step::DirFsync,
        Step::BackupDirFsync,
        Step::Rotate,
        Step::JournalAppend,
        Step::JournalFsync,
        Step::JournalRotate,
    ];

    /// The name used in `JSAFE_FAILPOINT`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::StateDir => "state-dir",
            Step::LockOpen => "lock-open",
            Step::Lock => "lock",
            Step::HolderRecord => "holder-record",
            Step::Read => "read",
            Step::BackupList => "backup-list",
            Step::BackupLink => "backup-link",
            Step::BackupCopy => "backup-copy",
            Step::TempCreate => "temp-create",
            Step::TempWrite => "temp-write",
            Step::TempFsync => "temp-fsync",
            Step::Rename => "rename",
            Step::DirFsync => "dir-fsync",
            Step::BackupDirFsync => "backup-dir-fsync",
            Step::Rotate => "rotate",
            Step::JournalAppend => "journal-append",
            Step::JournalFsync => "journal-fsync",
            Step::JournalRotate => "journal-rotate",
        }
    }
}

/// Called before each I/O step: Ok unless a fail point says otherwise.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(super) fn hit(_step: Step) -> io::Result<()> {
    Ok(())
}

/// Called before each I/O step: Ok unless a fail point says otherwise.
#[cfg(feature = "failpoints")]
pub(super) fn hit(step: Step) -> io::Result<()> {
    armed::hit(step)
}

#[cfg(feature = "failpoints")]
mod armed {
    use super::Step;
    use std::io::{self, Write};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone, Copy)]
    enum Action {
        Fail(rustix::io::Errno),
        Crash,
        Sleep,
    }

    struct Point {
        step: &'static str,
        nth: usize,
        action: Action,
        spec: String,
    }

    static POINTS: OnceLock<Vec<Point>> = OnceLock::new();
    /// Calls per step, in the order of `Step::ALL`.
    static CALLS: [AtomicUsize; 18] = [const { AtomicUsize::new(0) }; 18];

    fn parse(spec: &str) -> Option<Point> {
        let mut parts = spec.split(':');
        let name = parts.next()?;
        let step = Step::ALL.iter().find(|s| s.name() == name)?.name();
        let nth = parts.next()?.parse().ok()?;
        use rustix::io::Errno;
        let action = match parts.next()? {
            "crash" => Action::Crash,
            "sleep" => Action::Sleep,
            "EIO" => Action::Fail(Errno::IO),
            "ENOSPC" => Action::Fail(Errno::NOSPC),
            "EFBIG" => Action::Fail(Errno::FBIG),
            "EACCES" => Action::Fail(Errno::ACCESS),
            "EROFS" => Action::Fail(Errno::ROFS),
            "EPERM" => Action::Fail(Errno::PERM),
            "EINTR" => Action::Fail(Errno::INTR),
            "ENOLCK" => Action::Fail(Errno::NOLCK),
            _ => return None,
        };
        Some(Point {
            step,
            nth,
            action,
            spec: spec.to_owned(),
        })
    }

    pub(super) fn hit(step: Step) -> io::Result<()> {
        let points = POINTS.get_or_init(|| {
            std::env::var("JSAFE_FAILPOINT")
                .map(|s| s.split(',').filter_map(parse).collect())
                .unwrap_or_default()
        });
        if points.is_empty() {
            return Ok(());
        }
        let index = Step::ALL.iter().position(|s| *s == step).unwrap_or(0);
        let n = CALLS[index % CALLS.len()].fetch_add(1, Ordering::SeqCst) + 1;
        let Some(p) = points.iter().find(|p| p.step == step.name() && p.nth == n) else {
            return Ok(());
        };
        if let Some(log) = std::env::var_os("JSAFE_FAILPOINT_LOG") {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .and_then(|mut f| writeln!(f, "{}", p.spec));
        }
        match p.action {
            Action::Fail(errno) => Err(errno.into()),
            Action::Sleep => {
                std::thread::sleep(std::time::Duration::from_secs(30));
                Ok(())
            }
            Action::Crash => {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::KILL,
                );
                // SIGKILL cannot be caught; nothing after this runs.
                std::process::abort()
            }
        }
    }
}
