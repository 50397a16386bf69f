//! `jsafe cleanup-locks [PATH...]` (not built yet).

use super::Global;
use crate::cli::CleanupArgs;
use crate::error::{Error, Result};

/// Returns the exit code: 0 unless the sweep itself failed.
pub fn run(_g: &Global, _args: &CleanupArgs) -> Result<i32> {
    Err(Error::internal("cleanup-locks is not built yet"))
}
