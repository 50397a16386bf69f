//! The limits a jq filter runs under, as policy: how long an `update`'s
//! filter may run (`--filter-timeout`) and how much memory a filter may
//! allocate (`--filter-memory`). The command line only parses them.

use std::time::Duration;

/// How long an `update`'s filter may run when neither `--filter-timeout` nor
/// `JSAFE_FILTER_TIMEOUT` says.
pub(crate) const DEFAULT_FILTER_TIMEOUT: Duration = Duration::from_secs(10);

/// The least a filter may allocate under `--filter-memory auto`.
const MIN_FILTER_MEMORY: usize = 2 << 30;
/// Under `--filter-memory auto`, a filter may allocate this many times the
/// size of the file it runs on: a filter that rebuilds every value of a
/// document allocates about as much as its parsed values take (5 to 6 times
/// the text for small objects), and some builtins copy once more.
const FILTER_MEMORY_PER_BYTE: usize = 8;

/// `--filter-memory`: how much a filter may allocate beyond the document it
/// was given (reading the document is not the filter's doing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterMemory {
    /// Relative to the file: 8 times its size, at least 2G.
    Auto,
    /// This many bytes.
    Fixed(usize),
}

impl FilterMemory {
    /// The limit for a filter over a file of `file_size` bytes (0: none).
    pub(crate) fn limit(self, file_size: u64) -> usize {
        match self {
            FilterMemory::Fixed(n) => n,
            FilterMemory::Auto => usize::try_from(file_size)
                .unwrap_or(usize::MAX)
                .saturating_mul(FILTER_MEMORY_PER_BYTE)
                .max(MIN_FILTER_MEMORY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_memory_is_relative_to_the_file_unless_given() {
        assert_eq!(FilterMemory::Auto.limit(0), 2 << 30);
        assert_eq!(FilterMemory::Auto.limit(200 << 20), 2 << 30);
        assert_eq!(FilterMemory::Auto.limit(1 << 30), 8 << 30);
        assert_eq!(FilterMemory::Auto.limit(u64::MAX), usize::MAX);
        assert_eq!(FilterMemory::Fixed(64 << 20).limit(1 << 30), 64 << 20);
    }
}
