//! The floor for process start: a Rust program that does nothing.
//! Built by scripts/bench with `rustc -O`.
fn main() {}
