//! The self-test's suites, in the order a default run takes them: the one
//! table, used by `jsafe test`, its completion and the integration tests.

/// Suite names.
pub(crate) const SUITES: &[&str] = &[
    "basic",
    "concurrent",
    "crash",
    "cleanup",
    "rollback",
    "performance",
];
