//! The floor for a durable rewrite of a file, built by scripts/bench with
//! `rustc -O`: read FILE, write its bytes to a temp file in the same
//! directory, fsync it, rename it over FILE, fsync the directory. No lock, no
//! parsing, no backup, no journal: what any durable rewrite of the same bytes
//! must at least do, plus one process start.
//!
//! Usage: floor_rewrite FILE
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn rewrite(target: &Path) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let content = fs::read(target)?;
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".floor-tmp");
    let temp = dir.join(name);
    let mut f = File::create(&temp)?;
    f.write_all(&content)?;
    f.sync_all()?;
    fs::rename(&temp, target)?;
    File::open(dir)?.sync_all()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(target) = args.get(1) else {
        eprintln!("usage: floor_rewrite FILE");
        return ExitCode::from(2);
    };
    match rewrite(Path::new(target)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor_rewrite: {e}");
            ExitCode::FAILURE
        }
    }
}
