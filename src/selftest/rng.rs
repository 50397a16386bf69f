//! A small xorshift generator: random moments and payloads without a crate.
//! Shared with the integration tests (`tests/integration/common/mod.rs` includes this file).

// `pub`, not `pub(crate)`: the tests re-export `Rng` from their own crate,
// which a crate-visible item cannot be.
#![allow(unreachable_pub)]

use std::time::SystemTime;

/// A small xorshift generator: random moments and payloads without a crate.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock and the pid, so runs differ.
    pub fn from_clock() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng::seeded(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// Deterministic from `seed`.
    pub fn seeded(seed: u64) -> Rng {
        // xorshift never leaves 0; mixing in a constant keeps any seed usable.
        let s = seed ^ 0x9E37_79B9_7F4A_7C15;
        Rng(if s == 0 { 1 } else { s })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform enough in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}
