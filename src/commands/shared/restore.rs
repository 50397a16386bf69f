//! What `restore` says, for a local file and an etcd key alike.

use std::path::Path;

use crate::commands::Global;
use crate::error::{Error, Kind};

/// `--from NAME` names no backup.
pub(crate) fn no_backup_named(file: &Path, name: &str) -> Error {
    Error::new(
        Kind::NotFound,
        format!(
            "{}: no backup named {name} (see `jsafe restore --list {0}`)",
            file.display()
        ),
    )
}

/// `--from NAME` names a backup that is not valid JSON.
pub(crate) fn backup_not_valid(file: &Path, name: &str) -> Error {
    Error::new(
        Kind::Corrupt,
        format!(
            "{}: backup {name} is not valid JSON; choose another from `jsafe restore --list {0}`",
            file.display()
        ),
    )
}

/// `--latest` finds no valid backup.
pub(crate) fn no_valid_backup(file: &Path) -> Error {
    Error::new(
        Kind::NotFound,
        format!("{}: no valid backup to restore", file.display()),
    )
}

/// The notice after a restore of backup `name` (`changed`: the file was
/// not already equal to it).
pub(crate) fn restored(g: &Global, file: &Path, name: &str, changed: bool) {
    if changed {
        g.notice(&format!("{}: restored backup {name}", file.display()));
    } else {
        g.notice(&format!(
            "{}: already equal to backup {name}; nothing written",
            file.display()
        ));
    }
}
