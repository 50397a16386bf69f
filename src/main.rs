//! The `jsafe` program. Everything it does lives in the library's command
//! layer (`src/entry.rs`, `src/cli/`, `src/commands/`), which is not part of
//! the library's API; this file only installs the allocator, provides `log2`
//! and calls it.

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
/// `no_mangle` is the one unsafe attribute outside `src/sys.rs` (a symbol
/// the linker binds by name); the body is safe code.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn log2(x: f64) -> f64 {
    libm::log2(x)
}

fn main() -> std::process::ExitCode {
    jsafe::__cli::main()
}
