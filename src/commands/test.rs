//! `jsafe test [SUITE...]`: the self-test, whose harness and suites live in
//! `src/selftest/`.

use super::{Global, print};
use crate::cli::TestArgs;
use crate::error::Result;
use crate::selftest;

/// Returns the exit code: 0, or 9 when a check failed.
pub(crate) fn run(g: &Global, args: &TestArgs) -> Result<i32> {
    if args.list {
        let mut out = selftest::SUITES.join("\n");
        out.push('\n');
        print(out.as_bytes())?;
        return Ok(0);
    }
    if let Some(url) = &args.etcd {
        return super::etcd::selftest(g, args, url);
    }
    selftest::run(g, args)
}
