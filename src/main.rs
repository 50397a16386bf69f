//! The `jsafe` program. Everything it does lives in the library's command
//! layer (`src/entry.rs`, `src/cli/`, `src/commands/`), which is not part of
//! the library's API; this file only installs the allocator, provides `log2`
//! and calls it.
//!
//! On Linux with glibc this is the C `main` itself (`no_main`): Rust's
//! runtime start-up reads `/proc/self/maps` to find the main thread's stack
//! guard, which costs a small call about a tenth of its time; the parts of
//! that start-up jsafe needs are done by `main_without_runtime` instead
//! (docs/decisions/startup.md). Elsewhere, and in this file's own unit-test
//! build, Rust's `main` stays.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

#[global_allocator]
static ALLOC: jsafe::__cli::Counting = jsafe::__cli::Counting;

/// C's `log2`, defined here so that the program never loads libm.so.
///
/// It is the only symbol the binary would take from libm: num-bigint (under
/// jaq-json and jsonschema) calls `f64::log2` to size its radix conversions,
/// and the compiler lowers that to a call of `log2`. Loading libm costs every
/// start about 80 µs (its mapping, relocations and symbol scope;
/// docs/decisions/startup.md). The libm crate's `log2` (a port of musl's,
/// within 1 ulp) serves that caller as well. Only the program defines it: a
/// library user's `log2` stays their C library's.
///
/// `no_mangle` here and on `main` below are the unsafe attributes outside
/// `src/sys.rs` (symbols the linker and the C library bind by name); the
/// bodies are safe code.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn log2(x: f64) -> f64 {
    libm::log2(x)
}

/// The C library's entry calls this. The arguments are also read by Rust's
/// standard library itself (glibc hands them to its initialisers), so
/// `std::env::args` works as with Rust's `main`.
#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    jsafe::__cli::main_without_runtime()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(test))))]
fn main() -> std::process::ExitCode {
    jsafe::__cli::main()
}
