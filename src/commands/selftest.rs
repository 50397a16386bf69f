//! `jsafe test [SUITE...]` (not built yet).

use super::Global;
use crate::cli::TestArgs;
use crate::error::{Error, Result};

/// Returns the exit code: 0 when every check passed.
pub fn run(_g: &Global, _args: &TestArgs) -> Result<i32> {
    Err(Error::internal("test is not built yet"))
}
