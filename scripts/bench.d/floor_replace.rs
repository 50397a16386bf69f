//! The floor for a durable replace, built by scripts/bench with `rustc -O`:
//! write the new content to a temp file in the same directory, fsync it,
//! rename it over the target, fsync the directory. No lock, no backup, no
//! parsing: what any durable writer must at least do.
//!
//! Usage: floor_replace FILE CONTENT
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn replace(target: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".floor-tmp");
    let temp = dir.join(name);
    let mut f = File::create(&temp)?;
    f.write_all(content)?;
    f.sync_all()?;
    fs::rename(&temp, target)?;
    File::open(dir)?.sync_all()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(target), Some(content)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: floor_replace FILE CONTENT");
        return ExitCode::from(2);
    };
    match replace(Path::new(target), content.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor_replace: {e}");
            ExitCode::FAILURE
        }
    }
}
