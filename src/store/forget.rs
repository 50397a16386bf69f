//! Forgetting a managed file that is gone ([`forget`]): its lock file
//! always, its backups and attached schema only when the caller says so,
//! and one journal line (`op` "forget") that tells `status` to stop
//! reporting the file as missing.
//!
//! The lock is taken without waiting, as `cleanup-locks` takes it (a held
//! lock means someone is writing the file: nothing is done), and the data
//! file is checked again while holding it: a file that exists is never
//! forgotten. The lock file is unlinked while held, so a writer that opened
//! it starts again on a fresh one.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustix::fs::{AtFlags, FileType};

use super::dir::Dir;
use super::layout::{self, BACKUPS, LOCKS, SCHEMAS};
use super::lock::{self, Swept};
use super::{Options, Outcome, State, Target};
use crate::error::{Error, Kind, Result, Untouched};

/// What [`forget`] did or found.
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    /// There was state of this name (a lock file, backups, a schema).
    pub had_state: bool,
    /// The lock file was removed.
    pub lock_removed: bool,
    /// Backups removed (with `everything`).
    pub backups_removed: usize,
    /// The attached schema was removed (with `everything`).
    pub schema_removed: bool,
    /// Backups left in place (without `everything`), and where.
    pub backups_kept: usize,
    /// The directory of the kept backups.
    pub backups_dir: Option<PathBuf>,
    /// An attached schema left in place (without `everything`).
    pub schema_kept: bool,
    /// Problems that did not stop it.
    pub warnings: Vec<String>,
}

/// How many backups and whether a schema `file` has (for a confirmation
/// question), without changing anything. Errors as [`forget`]'s.
pub(crate) fn forget_preview(file: &Path) -> Result<Forgotten> {
    let t = gone(file)?;
    let mut seen = Forgotten::default();
    let Some(state) = existing_state(&t)? else {
        return Ok(seen);
    };
    seen.backups_kept = count_backups(&state)?;
    seen.schema_kept = schema_present(&state)?;
    seen.had_state = seen.backups_kept > 0 || seen.schema_kept || lock_present(&state, &t)?;
    Ok(seen)
}

/// Drop the state of `file`, which must not exist. See the module head.
pub(crate) fn forget(file: &Path, opts: &Options, everything: bool) -> Result<Forgotten> {
    let started = Instant::now();
    let t = gone(file)?;
    let mut done = Forgotten::default();
    let Some(state) = existing_state(&t)? else {
        return Ok(done);
    };
    let locks = state.existing_sub(OsStr::new(LOCKS))?;
    let lock_existed = lock_present(&state, &t)?;
    let mut reappeared = false;
    let mut removal: Result<()> = Ok(());
    let mut under_lock = |free: &lock::Free| -> bool {
        let _ = free;
        if !matches!(t.at.dir.lstat(&t.at.name), Ok(None)) {
            reappeared = true;
            return false;
        }
        removal = remove_state(&state, &t, everything, &mut done);
        true
    };
    let swept = match &locks {
        Some(l) => lock::sweep(
            l,
            &t.at.dir,
            &t.key,
            Some(state.lock_file()),
            false,
            &mut under_lock,
        ),
        None => {
            // No lock directory: nobody has written it since; nothing to hold.
            under_lock(&lock::Free {
                holder: None,
                age: std::time::Duration::ZERO,
                made_now: true,
                data_dir: &t.at.dir,
            });
            Ok(Swept::Missing)
        }
    };
    let swept = swept.map_err(|e| {
        Error::io("cannot take the lock of", file, e).unchanged(Untouched::Forgotten)
    })?;
    if let Swept::Held(..) = swept {
        return Err(Error::new(
            Kind::LockTimeout,
            format!(
                "{}: its lock is held (a writer is creating it?)",
                file.display()
            ),
        )
        .unchanged(Untouched::Forgotten));
    }
    if reappeared {
        return Err(exists(file));
    }
    removal?;
    done.lock_removed = lock_existed && matches!(swept, Swept::Removed | Swept::Missing);
    done.had_state = done.had_state || lock_existed;
    if done.had_state
        && opts.journal
        && let Err(e) = super::journal_line(&state, &t, opts, &Outcome::default(), started)
    {
        done.warnings.push(format!(
            "{}: forgotten, but the journal could not be written ({e}): status goes on reporting it while backups of it are left",
            file.display()
        ));
    }
    Ok(done)
}

/// The target, which must be gone.
fn gone(file: &Path) -> Result<Target<'_>> {
    let t = Target::resolve_any(file)?;
    if t.pre.is_some() {
        return Err(exists(file));
    }
    Ok(t)
}

fn exists(file: &Path) -> Error {
    Error::new(
        Kind::Io,
        format!(
            "{}: exists; forget drops the state of a file that is gone",
            file.display()
        ),
    )
    .unchanged_so(Untouched::Forgotten)
    .then(format!(
        " (delete the file first, or `jsafe schema {} --detach` to stop checking it)",
        file.display()
    ))
}

/// The state beside the file, when there is any (never created).
fn existing_state<'t>(t: &'t Target<'t>) -> Result<Option<State<'t>>> {
    if State::existing(t)?.is_none() {
        return Ok(None);
    }
    State::open(t).map(Some)
}

fn lock_present(state: &State, t: &Target) -> Result<bool> {
    Ok(match state.existing_sub(OsStr::new(LOCKS))? {
        Some(l) => matches!(l.lstat(&layout::lock_name(&t.key)), Ok(Some(_))),
        None => false,
    })
}

fn count_backups(state: &State) -> Result<usize> {
    Ok(match state.backups(false)? {
        Some(b) => b.entries().map(|e| e.len()).unwrap_or(0),
        None => 0,
    })
}

fn schema_present(state: &State) -> Result<bool> {
    Ok(match state.existing_sub(OsStr::new(SCHEMAS))? {
        Some(s) => matches!(s.lstat(&layout::schema_name(&state.t.key)), Ok(Some(_))),
        None => false,
    })
}

/// Under the lock: the backups and schema go (with `everything`) or are
/// counted as kept.
fn remove_state(state: &State, t: &Target, everything: bool, done: &mut Forgotten) -> Result<()> {
    let backups = state.backups(false)?;
    let schemas = state.existing_sub(OsStr::new(SCHEMAS))?;
    let schema_name = layout::schema_name(&t.key);
    let has_schema = schemas
        .as_ref()
        .is_some_and(|s| matches!(s.lstat(&schema_name), Ok(Some(_))));
    let names = match &backups {
        Some(b) => b
            .entries()
            .map_err(|e| Error::io("cannot list", b.path(), e))?,
        None => Vec::new(),
    };
    done.had_state = done.had_state || !names.is_empty() || has_schema;
    if !everything {
        done.backups_kept = names.len();
        done.backups_dir = backups.as_ref().map(|b| b.path().to_path_buf());
        done.schema_kept = has_schema;
        return Ok(());
    }
    if let Some(b) = &backups {
        for (name, kind) in &names {
            remove_in(b, name, *kind == FileType::Directory)?;
            done.backups_removed += 1;
        }
        // The empty `backups/<key>` directory itself.
        let parent = state.existing_sub(OsStr::new(BACKUPS))?;
        if let Some(p) = parent {
            remove_in(&p, &t.key, true)?;
        }
    }
    if let (Some(s), true) = (&schemas, has_schema) {
        remove_in(s, &schema_name, false)?;
        done.schema_removed = true;
    }
    Ok(())
}

fn remove_in(dir: &Dir, name: &OsStr, is_dir: bool) -> Result<()> {
    let flags = if is_dir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    match rustix::fs::unlinkat(dir.fd(), name, flags) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(Error::io("cannot remove", &dir.join(name), e.into())),
    }
}
