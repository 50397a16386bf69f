//! The `jsafe` program. Everything it does lives in the library's command
//! layer (`src/entry.rs`, `src/cli/`, `src/commands/`), which is not part of
//! the library's API; this file only installs the allocator and calls it.

#[global_allocator]
static ALLOC: jsafe::__cli::Counting = jsafe::__cli::Counting;

fn main() -> std::process::ExitCode {
    jsafe::__cli::main()
}
