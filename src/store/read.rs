//! The read fast path: a document's bytes for `read FILE` without a filter
//! or a flag that reformats, the file printed as it is.
//!
//! One read of the file and one validating scan, then the same bytes go to
//! stdout: no style detection (nothing is rendered), no tree, no lock (every
//! jsafe write is an atomic rename, so the bytes read are one whole version;
//! `read --lock` takes the general path). Anything but a valid document
//! (missing, corrupt, a symlink loop, an etcd URL...) is left to the general
//! path, which reads again and says exactly what it always has: the fast
//! path never prints an error of its own.

use std::path::Path;

use super::Target;
use crate::json;

/// FILE's bytes if it is a valid JSON document now; None for anything the
/// general path must look at.
pub(crate) fn valid_document(file: &Path) -> Option<Vec<u8>> {
    if super::Backend::is_etcd(file) {
        return None;
    }
    let t = Target::resolve_any(file).ok()?;
    let (_file, _st, bytes) = t.read().ok()??;
    json::validate(&bytes).is_ok().then_some(bytes)
}
