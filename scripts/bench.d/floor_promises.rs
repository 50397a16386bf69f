//! The floor for a durable rewrite that keeps jsafe's promises, built by
//! scripts/bench with `rustc -O`: what `floor_rewrite` does (read FILE, write
//! a temp copy, fsync it, rename it over FILE, fsync the directory), plus the
//! least the promises add, done the cheapest way a program can: the replaced
//! version hard-linked into a backups directory that is fsynced before the
//! rename (Recoverable), a journal line of 460 bytes appended and fsynced
//! before the exit (Durable), and backups beyond ten removed once the rename
//! is durable. No lock, no parsing, no hashing, no user-name lookup, no
//! checks: nothing a real writer can do without, beside what the disk needs.
//!
//! The fsyncs come in the order that costs least on ext4 and XFS (each
//! file-system log commit carries what the next fsync would have asked for):
//! temp file, backups directory, rename, journal line, directory.
//!
//! Usage: floor_promises FILE (backups in FILE.backups/, journal FILE.journal)
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const KEEP: usize = 10;

fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    target.with_file_name(name)
}

fn rewrite(target: &Path) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let content = fs::read(target)?;
    let backups = sibling(target, ".backups");
    if !backups.is_dir() {
        fs::create_dir(&backups)?;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    fs::hard_link(target, backups.join(format!("{now:024}.json")))?;
    let temp = sibling(target, ".floor-tmp");
    let mut f = File::create(&temp)?;
    f.write_all(&content)?;
    f.sync_all()?;
    File::open(&backups)?.sync_all()?;
    fs::rename(&temp, target)?;
    let mut journal = OpenOptions::new()
        .append(true)
        .create(true)
        .open(sibling(target, ".journal"))?;
    let mut line = format!("{{\"time\":{now},\"op\":\"merge\",\"pad\":\"");
    while line.len() < 457 {
        line.push('x');
    }
    line.push_str("\"}\n");
    journal.write_all(line.as_bytes())?;
    journal.sync_data()?;
    File::open(dir)?.sync_all()?;
    let mut old: Vec<PathBuf> = fs::read_dir(&backups)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    old.sort();
    let extra = old.len().saturating_sub(KEEP);
    for p in &old[..extra] {
        fs::remove_file(p)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(target) = args.get(1) else {
        eprintln!("usage: floor_promises FILE");
        return ExitCode::from(2);
    };
    match rewrite(Path::new(target)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor_promises: {e}");
            ExitCode::FAILURE
        }
    }
}
