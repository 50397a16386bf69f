//! `crash`: a few writers keep replacing a 2 MiB file (`jsafe write FILE -`)
//! while the test kills them with SIGKILL at random moments, max(20, ops/4)
//! times. After every kill and at the end the file must parse and be one
//! complete version that a writer wrote: each version is `{"id", "payload"}`,
//! its payload derived from its id, so a torn or mixed file cannot pass. No
//! write may ever have found the file corrupt (the quarantine stays empty).
//! Afterwards a normal write must work, and `cleanup-locks --older-than 0s` must
//! sweep the temp files the killed writers left.
//!
//! The writes are durable unless `--no-sync` was given: fsync is part of what a
//! kill may interrupt.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{Ctx, Finding, Report, Rng, args, parse_json, read_bytes, temp_files};
use crate::store;

const SUITE: &str = "crash";
const CHUNKS: usize = 32;
const CHUNK_LEN: usize = 64 * 1024;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub(super) fn run(ctx: &Ctx, report: &mut Report) {
    let dir = match ctx.suite_dir(SUITE) {
        Ok(d) => d,
        Err(why) => return report.check(SUITE, "setup", || Err(why)),
    };
    let file = dir.join("big.json");
    let issued = Mutex::new(HashSet::from(["init".to_owned()]));
    let mut ready = false;
    report.check(SUITE, "kills", || {
        let found = kills(ctx, &file, &issued)?;
        ready = true;
        Ok(found)
    });
    if !ready {
        return;
    }
    report.check(SUITE, "final", || {
        let id = verify(&read_bytes(&file)?, &issued)?;
        let quarantine = store::state_paths(&file).map_err(|e| e.to_string())?.quarantine;
        let quarantined = std::fs::read_dir(&quarantine).map_or(0, |d| d.count());
        Ok(Finding::verdict(
            quarantined == 0,
            format!(
                "the file is complete version {id}; {quarantined} corrupt versions met by any write (quarantine)"
            ),
        )
        .with("quarantined", quarantined))
    });
    report.check(SUITE, "sweep", || {
        let left = temp_files(&dir).len();
        ctx.run_with_input(args!["write", file, "-"], &version_text("final"))?
            .require_ok("a normal write after the kills")?;
        let id = verify(&read_bytes(&file)?, &issued_with(&issued, "final"))?;
        if id != "final" {
            return Err(format!("after a normal write the file is version {id}"));
        }
        ctx.run(args!["cleanup-locks", dir, "--older-than", "0s"])?
            .require_ok("cleanup-locks --older-than 0s")?;
        let remaining = temp_files(&dir);
        Ok(Finding::verdict(
            remaining.is_empty(),
            format!(
                "a normal write works; cleanup-locks --older-than 0s found {left} temp files of killed writers, {} remain{}",
                remaining.len(),
                remaining.first().map_or(String::new(), |n| format!(" ({n}…)"))
            ),
        )
        .with("temp_files_left", left)
        .with("temp_files_remaining", remaining.len()))
    });
}

fn issued_with(issued: &Mutex<HashSet<String>>, id: &str) -> Mutex<HashSet<String>> {
    let mut set = issued.lock().map(|s| s.clone()).unwrap_or_default();
    set.insert(id.to_owned());
    Mutex::new(set)
}

/// What the writers and the killer share.
struct Shared<'a> {
    ctx: &'a Ctx,
    file: &'a Path,
    issued: &'a Mutex<HashSet<String>>,
    /// Each writer's running `jsafe write`, for the killer.
    slots: Vec<Mutex<Option<Child>>>,
    stop: AtomicBool,
    completed: AtomicUsize,
    killed: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

impl Shared<'_> {
    fn fail(&self, what: String) {
        if let Ok(mut f) = self.failures.lock() {
            f.push(what);
        }
    }
}

fn kills(
    ctx: &Ctx,
    file: &Path,
    issued: &Mutex<HashSet<String>>,
) -> std::result::Result<Finding, String> {
    let started = Instant::now();
    ctx.run_with_input(args!["write", file, "-"], &version_text("init"))?
        .require_ok("the first write")?;
    let one_write = started.elapsed();
    verify(&read_bytes(file)?, issued)?;

    let writers = ctx.workers.clamp(1, 3);
    let target = (ctx.ops / 4).max(20);
    let shared = Shared {
        ctx,
        file,
        issued,
        slots: (0..writers).map(|_| Mutex::new(None)).collect(),
        stop: AtomicBool::new(false),
        completed: AtomicUsize::new(0),
        killed: AtomicUsize::new(0),
        failures: Mutex::new(Vec::new()),
    };
    // Kills land anywhere in a write: start-up, reading stdin, waiting for the
    // lock, writing the temp file, fsync, rename, journal.
    let window_ms = ((one_write.as_secs_f64() * 1500.0) as u64).max(20);
    let progress = ctx.progress(SUITE, target);
    let mut rng = Rng::from_clock();
    let mut sent = 0usize;
    let mut seen = HashSet::new();
    let mut problem = None;
    thread::scope(|s| {
        for w in 0..writers {
            let shared = &shared;
            s.spawn(move || writer(shared, w));
        }
        let mut attempts = 0;
        while sent < target && attempts < target * 50 {
            attempts += 1;
            if shared.failures.lock().is_ok_and(|f| !f.is_empty()) {
                break;
            }
            thread::sleep(Duration::from_millis(rng.below(window_ms)));
            let w = rng.below(writers as u64) as usize;
            if !kill_running(&shared.slots[w]) {
                continue;
            }
            sent += 1;
            progress.tick();
            match read_bytes(file).and_then(|b| verify(&b, issued)) {
                Ok(id) => {
                    seen.insert(id);
                }
                Err(p) => {
                    problem = Some(format!("after kill {sent}: {p}"));
                    break;
                }
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
    });
    drop(progress);

    let completed = shared.completed.load(Ordering::Relaxed);
    let killed = shared.killed.load(Ordering::Relaxed);
    let failures = shared
        .failures
        .lock()
        .map(|f| f.clone())
        .unwrap_or_default();
    let size_mib = (CHUNKS * CHUNK_LEN) as f64 / (1024.0 * 1024.0);
    let mut detail = format!(
        "{sent} SIGKILLs at random moments into {writers} writers of a {size_mib:.0} MiB file ({}): ",
        ctx.durability()
    );
    match (&problem, failures.first()) {
        (Some(p), _) => detail.push_str(p),
        (None, Some(f)) => detail.push_str(&format!(
            "{} writes failed without being killed, first: {f}",
            failures.len()
        )),
        (None, None) if sent < target => detail.push_str(&format!(
            "only {sent} of {target} kills landed (writers stopped running?)"
        )),
        (None, None) => detail.push_str(&format!(
            "valid after each; {} distinct complete versions seen, {completed} writes completed",
            seen.len()
        )),
    }
    let ok = problem.is_none() && failures.is_empty() && sent == target;
    Ok(Finding::verdict(ok, detail)
        .with("kills", sent)
        .with("expected_kills", target)
        .with("killed_writes", killed)
        .with("completed_writes", completed)
        .with("distinct_versions_seen", seen.len())
        .with("writers", writers)
        .with("bytes", CHUNKS * CHUNK_LEN))
}

/// SIGKILL the writer's running `jsafe write`, if one is running.
fn kill_running(slot: &Mutex<Option<Child>>) -> bool {
    let Ok(mut guard) = slot.lock() else {
        return false;
    };
    let Some(child) = guard.as_mut() else {
        return false;
    };
    // An unreaped child's pid cannot be reused, so this kills the right one.
    matches!(child.try_wait(), Ok(None)) && child.kill().is_ok()
}

/// One writer: replace the file with new complete versions until told to stop.
fn writer(shared: &Shared, w: usize) {
    let mut seq = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        seq += 1;
        let id = format!("w{w}-{seq}");
        let body = version_text(&id);
        if let Ok(mut set) = shared.issued.lock() {
            set.insert(id.clone());
        }
        let mut cmd = shared.ctx.command(args!["write", shared.file, "-"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return shared.fail(format!("cannot start a writer: {e}")),
        };
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        match shared.slots[w].lock() {
            Ok(mut slot) => *slot = Some(child),
            Err(_) => return,
        }
        if let Some(mut stdin) = stdin {
            // Fails with EPIPE when the writer was killed first.
            let _ = stdin.write_all(&body);
        }
        let Some(status) = reap(&shared.slots[w]) else {
            return shared.fail(format!("{id}: lost track of the writer process"));
        };
        let mut message = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut message);
        }
        if status.success() {
            shared.completed.fetch_add(1, Ordering::Relaxed);
        } else if status.signal() == Some(9) {
            shared.killed.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.fail(format!(
                "{id}: {}: {}",
                super::describe_status(status),
                message.trim()
            ));
        }
    }
}

/// Wait for the slot's child to end (the killer may end it first) and empty the slot.
fn reap(slot: &Mutex<Option<Child>>) -> Option<ExitStatus> {
    loop {
        {
            let mut guard = slot.lock().ok()?;
            match guard.as_mut()?.try_wait() {
                Ok(Some(status)) => {
                    *guard = None;
                    return Some(status);
                }
                Ok(None) => {}
                Err(_) => {
                    *guard = None;
                    return None;
                }
            }
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// FNV-1a: the payload's seed from its id.
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The payload chunks of version `id`: deterministic, so a reader can tell a
/// complete version from a torn or mixed one.
fn payload(id: &str) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = Rng::seeded(seed_of(id));
    (0..CHUNKS).map(move |_| {
        let mut chunk = Vec::with_capacity(CHUNK_LEN);
        while chunk.len() < CHUNK_LEN {
            let mut r = rng.next_u64();
            for _ in 0..10 {
                chunk.push(ALPHABET[(r & 63) as usize]);
                r >>= 6;
            }
        }
        chunk.truncate(CHUNK_LEN);
        chunk
    })
}

/// Version `id` as compact JSON: `{"id":…,"payload":["…",…]}`.
fn version_text(id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHUNKS * (CHUNK_LEN + 3) + 64);
    out.extend_from_slice(
        serde_json::json!({ "id": id })
            .to_string()
            .trim_end_matches('}')
            .as_bytes(),
    );
    out.extend_from_slice(b",\"payload\":[");
    for (i, chunk) in payload(id).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(&chunk);
        out.push(b'"');
    }
    out.extend_from_slice(b"]}");
    out
}

/// The id of the complete version `bytes` hold, or what is wrong with them.
fn verify(bytes: &[u8], issued: &Mutex<HashSet<String>>) -> std::result::Result<String, String> {
    let v = parse_json(bytes, &format!("the file ({} bytes)", bytes.len()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "the file is not an object".to_owned())?;
    let id = obj
        .get("id")
        .and_then(|i| i.as_str())
        .ok_or_else(|| "the file has no \"id\"".to_owned())?;
    let known = issued.lock().is_ok_and(|s| s.contains(id));
    if !known {
        return Err(format!(
            "the file holds version {id}, which no writer wrote"
        ));
    }
    let chunks = obj
        .get("payload")
        .and_then(|p| p.as_array())
        .ok_or_else(|| format!("version {id} has no payload array"))?;
    if obj.len() != 2 || chunks.len() != CHUNKS {
        return Err(format!(
            "version {id} has {} members and {} payload chunks, expected 2 and {CHUNKS}",
            obj.len(),
            chunks.len()
        ));
    }
    for (i, (got, want)) in chunks.iter().zip(payload(id)).enumerate() {
        if got.as_str().map(str::as_bytes) != Some(want.as_slice()) {
            return Err(format!(
                "version {id}: payload chunk {i} is not the one written"
            ));
        }
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_verifies_and_a_damaged_one_does_not() {
        let issued = Mutex::new(HashSet::from(["w0-1".to_owned()]));
        let text = version_text("w0-1");
        assert_eq!(verify(&text, &issued).unwrap(), "w0-1");
        assert!(text.len() >= CHUNKS * CHUNK_LEN);

        let torn = &text[..text.len() / 2];
        assert!(verify(torn, &issued).is_err());

        let mut mixed = text.clone();
        let at = mixed.len() - 100;
        mixed[at] = if mixed[at] == b'A' { b'B' } else { b'A' };
        assert!(verify(&mixed, &issued).unwrap_err().contains("chunk 31"));

        let other = version_text("w1-1");
        assert!(
            verify(&other, &issued)
                .unwrap_err()
                .contains("no writer wrote")
        );
    }
}
