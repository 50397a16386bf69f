//! `jsafe status [PATH...]` (not built yet).

use super::Global;
use crate::cli::StatusArgs;
use crate::error::{Error, Result};

/// Returns the exit code: 0 healthy, 1 problems, 5 a corrupt file.
pub fn run(_g: &Global, _args: &StatusArgs) -> Result<i32> {
    Err(Error::internal("status is not built yet"))
}
