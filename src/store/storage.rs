//! The storage seam: where a target's document lives. A FILE names its
//! backend once, when it is resolved ([`Backend::of`]: `etcd://` and
//! `etcds://` name an etcd key, anything else a local file), and every
//! operation of the store dispatches through [`Storage`]: the local write
//! core (lock file, backups, temp + fsync + rename, journal under `.jsafe/`)
//! or the etcd backend (one transaction per change, see [`super::etcd`]).
//!
//! A second backend implements [`Storage`] and answers for the FILEs
//! [`Backend::of`] gives it; the commands do not change.

use std::path::Path;
use std::time::Duration;

use super::schema::Attached;
use super::{Change, Current, Format, Loaded, LockWait, Options, Outcome, etcd};
use crate::error::{Error, Kind, Result, Untouched};

/// The backends a FILE can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A file on a local file system.
    Local,
    /// A key in an etcd cluster (`etcd://host:port/key`).
    Etcd,
}

/// A change that may be applied more than once (an optimistic backend applies
/// it again to a newer version after a conflict).
pub(crate) type ChangeFn<'c> = dyn FnMut(&Current) -> Result<Change> + 'c;

/// What a backend does. Each operation takes the FILE as the user gave it
/// (errors name it so).
pub(crate) trait Storage: Sync {
    /// One change of the document (see [`super::transact`]).
    fn transact(&self, file: &Path, opts: &Options, change: &mut ChangeFn) -> Result<Outcome>;
    /// Append JSON Lines (see [`super::append`]).
    fn append(&self, file: &Path, opts: &Options, lines: &[Vec<u8>]) -> Result<Outcome>;
    /// Read for a reader; `lock`, where the backend has reader locks, takes
    /// one; `timeout` bounds a remote read.
    fn load(&self, file: &Path, timeout: Duration, lock: Option<LockWait>) -> Result<Loaded>;
    /// The attached schema's bytes, if any.
    fn schema_of(&self, file: &Path, timeout: Duration) -> Result<Option<Vec<u8>>>;
    /// Attach (or with None detach) a schema.
    fn attach_schema(&self, file: &Path, opts: &Options, a: &Attach) -> Result<Attached>;
}

/// What [`Storage::attach_schema`] is asked: the schema (None: detach), the
/// format the document is read in, and whether its content may fail it.
pub(crate) struct Attach<'a> {
    pub(crate) schema: Option<&'a [u8]>,
    pub(crate) format: Format,
    pub(crate) force: bool,
}

impl Backend {
    /// The backend `file` names: the one decision, made where a target is
    /// resolved.
    pub(crate) fn of(file: &Path) -> Backend {
        let b = file.as_os_str().as_encoded_bytes();
        if b.starts_with(b"etcd://") || b.starts_with(b"etcds://") {
            Backend::Etcd
        } else {
            Backend::Local
        }
    }

    /// Whether `file` names an etcd key.
    pub(crate) fn is_etcd(file: &Path) -> bool {
        Backend::of(file) == Backend::Etcd
    }

    pub(crate) fn storage(self) -> &'static dyn Storage {
        match self {
            Backend::Local => &Local,
            Backend::Etcd => &Etcd,
        }
    }

    /// Read `file` for a reader through its backend (see [`Storage::load`]).
    pub(crate) fn load(file: &Path, timeout: Duration, lock: Option<LockWait>) -> Result<Loaded> {
        Backend::of(file).storage().load(file, timeout, lock)
    }
}

/// Local files: the write core of [`super`].
struct Local;

impl Storage for Local {
    fn transact(&self, file: &Path, opts: &Options, change: &mut ChangeFn) -> Result<Outcome> {
        // An I/O error before the rename changed nothing: say so, so that a
        // script (and its author) can tell it from exit 8.
        super::transact_inner(file, opts, change).map_err(|e| {
            if e.kind() == Kind::Io {
                e.unchanged_if_unknown(Untouched::Changed)
            } else {
                e
            }
        })
    }

    fn append(&self, file: &Path, opts: &Options, lines: &[Vec<u8>]) -> Result<Outcome> {
        super::append::append_local(file, opts, lines)
    }

    fn load(&self, file: &Path, _timeout: Duration, lock: Option<LockWait>) -> Result<Loaded> {
        super::load_local(file, lock)
    }

    fn schema_of(&self, file: &Path, _timeout: Duration) -> Result<Option<Vec<u8>>> {
        super::schema::schema_of_local(file)
    }

    fn attach_schema(&self, file: &Path, opts: &Options, a: &Attach) -> Result<Attached> {
        super::schema::attach_local(file, opts, a)
    }
}

/// etcd keys: [`super::etcd`].
struct Etcd;

impl Storage for Etcd {
    fn transact(&self, file: &Path, opts: &Options, change: &mut ChangeFn) -> Result<Outcome> {
        etcd::transact(file, opts, change)
    }

    fn append(&self, file: &Path, opts: &Options, lines: &[Vec<u8>]) -> Result<Outcome> {
        etcd::lines::append(file, opts, lines)
    }

    fn load(&self, file: &Path, timeout: Duration, _lock: Option<LockWait>) -> Result<Loaded> {
        // etcd values change atomically: a reader needs no lock.
        Ok(Loaded {
            current: etcd::load(file, timeout)?,
            lock: None,
        })
    }

    fn schema_of(&self, file: &Path, timeout: Duration) -> Result<Option<Vec<u8>>> {
        etcd::schema_of(file, timeout)
    }

    fn attach_schema(&self, file: &Path, opts: &Options, a: &Attach) -> Result<Attached> {
        etcd::attach_schema(file, opts, a.schema, a.format, a.force)
    }
}

/// A change applied at most once, for a backend that may ask again.
pub(crate) fn once<F>(file: &Path, change: F) -> impl FnMut(&Current) -> Result<Change>
where
    F: FnOnce(&Current) -> Result<Change>,
{
    let mut once = Some(change);
    move |current| match once.take() {
        Some(f) => f(current),
        None => Err(Error::internal(format!(
            "{}: this change cannot be applied again after a conflict",
            file.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_names_its_backend_once() {
        assert_eq!(Backend::of(Path::new("etcd://h:2379/k")), Backend::Etcd);
        assert_eq!(Backend::of(Path::new("etcds://h:2379/k")), Backend::Etcd);
        assert_eq!(Backend::of(Path::new("./etcd://x")), Backend::Local);
        assert_eq!(Backend::of(Path::new("a.json")), Backend::Local);
    }
}
