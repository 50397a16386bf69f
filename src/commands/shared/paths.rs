//! The paths `status` and `cleanup-locks` look under, and how they show them.

use std::path::{Path, PathBuf};

/// The paths to look under: those given, or the current directory.
pub(crate) fn roots(given: &[PathBuf]) -> Vec<PathBuf> {
    if given.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        given.to_vec()
    }
}

/// A path for people: without a leading `./`.
pub(crate) fn scan_shown(path: &Path) -> String {
    path.strip_prefix(".")
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
