//! `jsafe generate [DIR]` (not built yet).

use crate::cli::GenerateArgs;
use crate::error::{Error, Result};

pub fn run(_args: &GenerateArgs) -> Result<()> {
    Err(Error::internal("generate is not built yet"))
}
