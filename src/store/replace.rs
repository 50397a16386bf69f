//! Atomic replace: the new bytes go to a temp file in the target's own directory
//! (created exclusively, unpredictable name, never through a symlink), get the
//! original's mode (and owner/group where permitted), are fsynced, renamed over
//! the target, and the directory is fsynced so the rename itself is durable.
//!
//! On any failure the temp file is removed (tempfile's `NamedTempFile` deletes it
//! on drop) and the target is untouched: a reader sees the old version or the new
//! one, never a mix.

use std::fs::{self, File, Metadata, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::Paths;
use crate::error::{Error, Result};

/// Prefix of jsafe's temp files (`.jsafe-tmp.<name>.<random>`), which the sweeper
/// recognizes and `status` ignores.
pub const TEMP_PREFIX: &str = ".jsafe-tmp.";

/// Replace `paths.real` with `bytes`. `old` is the metadata of the file being
/// replaced (None for a new file).
pub fn replace(paths: &Paths, bytes: &[u8], old: Option<&Metadata>, sync: bool) -> Result<()> {
    let prefix = format!("{TEMP_PREFIX}{}.", paths.name.to_string_lossy());
    let mode = old.map_or(0o666, |m| m.mode() & 0o7777);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .rand_bytes(8)
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(&paths.dir)
        .map_err(|e| {
            Error::io(
                "cannot create a temp file in",
                &paths.dir,
                &without_temp_path(e),
            )
        })?;

    let step = |what: &str, e: &std::io::Error| Error::io(what, &paths.real, e);
    if let Some(old) = old {
        let f = tmp.as_file();
        // The umask may have cut bits from the mode given at creation.
        f.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| step("cannot set the mode of the new version of", &e))?;
        keep_owner(f, old).map_err(|e| step("cannot keep the owner of", &e))?;
    }
    // Through the File itself: NamedTempFile's own Write wraps errors with the
    // temp file's path, a name the user never chose and cannot act on.
    tmp.as_file_mut()
        .write_all(bytes)
        .map_err(|e| step("cannot write the new version of", &e))?;
    if sync {
        tmp.as_file()
            .sync_all()
            .map_err(|e| step("cannot fsync the new version of", &e))?;
    }
    tmp.persist(&paths.real)
        .map_err(|e| step("cannot rename the new version over", &e.error))?;
    if sync {
        sync_dir(&paths.dir)?;
    }
    Ok(())
}

/// fsync a directory, making the names created or removed in it durable.
pub fn sync_dir(dir: &std::path::Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot fsync directory", dir, &e))
}

/// Give the temp file the old file's owner and group. Only root can give a file
/// away; anyone may keep a group they belong to. When we are not allowed, the
/// new version belongs to the writer, as with any editor.
fn keep_owner(f: &File, old: &Metadata) -> std::io::Result<()> {
    let now = f.metadata()?;
    if now.uid() == old.uid() && now.gid() == old.gid() {
        return Ok(());
    }
    let root = rustix::process::geteuid().is_root();
    let uid = if root && now.uid() != old.uid() {
        Some(old.uid())
    } else {
        None
    };
    match std::os::unix::fs::fchown(f, uid, Some(old.gid())) {
        Ok(()) => Ok(()),
        Err(e) if !root && e.kind() == std::io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove a file, ignoring "already gone".
pub fn remove_if_present(path: &std::path::Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// tempfile appends `at path "<temp name>"` to its errors: a name the user never
/// chose and that does not exist. The directory is already in our message.
fn without_temp_path(e: std::io::Error) -> std::io::Error {
    let text = e.to_string();
    match text.find(" at path \"") {
        Some(cut) => std::io::Error::new(e.kind(), text[..cut].to_owned()),
        None => e,
    }
}
