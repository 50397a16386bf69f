//! The audit journal: `<dir>/.jsafe/journal.jsonl`, one JSON line per successful
//! change (never for failed or no-change operations).
//!
//! Each line is written with a single `write` on a descriptor opened with
//! O_APPEND, under the changed file's lock, so lines from concurrent writers are
//! whole and never interleaved. At [`ROTATE_AT`] bytes the journal is renamed to
//! `journal.1.jsonl` (older ones shift up to `journal.<KEEP>.jsonl`); rotation
//! takes a lock on the journal itself, because writers of different files in one
//! directory share it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Size at which the journal is rotated.
pub const ROTATE_AT: u64 = 1 << 20;
/// Rotated journals kept.
pub const KEEP: usize = 3;
/// File name of the journal in `.jsafe/`.
pub const FILE_NAME: &str = "journal.jsonl";

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Append one entry (a JSON object) as one line.
pub fn append(journal: &Path, entry: &serde_json::Value) -> io::Result<()> {
    let mut line = entry.to_string();
    line.push('\n');
    let mut f = OpenOptions::new().create(true).append(true).open(journal)?;
    f.write_all(line.as_bytes())?;
    if f.metadata()?.len() >= ROTATE_AT {
        rotate(journal, &f)?;
    }
    Ok(())
}

fn rotated(journal: &Path, n: usize) -> PathBuf {
    journal.with_file_name(format!("journal.{n}.jsonl"))
}

fn rotate(journal: &Path, f: &File) -> io::Result<()> {
    f.lock()?;
    // Someone else may have rotated while we waited: only rotate the file that
    // is still the journal and still too big.
    let same = fs::metadata(journal)
        .map(|m| m.ino() == f.metadata().map(|n| n.ino()).unwrap_or(0))
        .unwrap_or(false);
    if !same || f.metadata()?.len() < ROTATE_AT {
        return Ok(());
    }
    for n in (1..KEEP).rev() {
        let from = rotated(journal, n);
        if from.exists() {
            fs::rename(&from, rotated(journal, n + 1))?;
        }
    }
    fs::rename(journal, rotated(journal, 1))
}

/// The last journal entry per file name (the `file_name` field) in the journal
/// of one `.jsafe` directory. Reads only the tail of the journal, falling back to
/// the newest rotated one for names not found there.
pub fn last_entries(state_dir: &Path) -> std::collections::HashMap<String, serde_json::Value> {
    let mut found = std::collections::HashMap::new();
    let journal = state_dir.join(FILE_NAME);
    for path in [journal.clone(), rotated(&journal, 1)] {
        let Ok(mut f) = File::open(&path) else {
            continue;
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let start = len.saturating_sub(256 * 1024);
        if f.seek(SeekFrom::Start(start)).is_err() {
            continue;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            continue;
        }
        let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        if start > 0 && !lines.is_empty() {
            lines.remove(0); // probably a partial line
        }
        for line in lines.iter().rev() {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(name) = v.get("file_name").and_then(|n| n.as_str()) {
                found.entry(name.to_owned()).or_insert(v);
            }
        }
    }
    found
}

/// Every entry of a journal file, in order (for tests and audits).
pub fn read_all(journal: &Path) -> io::Result<Vec<serde_json::Value>> {
    let f = File::open(journal)?;
    let mut out = Vec::new();
    for line in io::BufReader::new(f).lines() {
        let line = line?;
        out.push(
            serde_json::from_str(&line)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
        );
    }
    Ok(out)
}
