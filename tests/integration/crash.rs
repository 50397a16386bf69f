//! Crash safety: jsafe processes rewriting a ~3 MB file are SIGKILLed at random
//! moments, again and again, while other writers keep going. After every kill the
//! file must parse and be exactly one version that some process was asked to
//! write; nothing is ever quarantined (the file was never seen corrupt); backups
//! and journal lines are whole; and what killed writers leave behind (temp files)
//! never gets in the way.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const WRITERS: usize = 4;
const MIN_KILLS: usize = 200;
const MIN_SUCCESSES: usize = 5;
const ITEMS: usize = 30_000;
/// Give up (and fail) if the kills and successes take longer than this: a hang,
/// not a slow machine.
const SAFETY_LIMIT: Duration = Duration::from_secs(300);

const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";

/// The deterministic ~3 MB document with this id (compact, no final newline).
/// Every item names the id, so a mix of two versions cannot pass for either.
fn payload(id: &str) -> String {
    let h = id
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let mut s = String::with_capacity(ITEMS * 100 + 64);
    s.push_str("{\"id\":\"");
    s.push_str(id);
    s.push_str("\",\"body\":[");
    for k in 0..ITEMS {
        if k > 0 {
            s.push(',');
        }
        let off = ((h as usize) + k) % 32;
        s.push('"');
        s.push_str(id);
        s.push_str(&format!("-{k:05}-"));
        s.push_str(&ALPHABET[off..off + 64]);
        s.push('"');
    }
    s.push_str("]}");
    s
}

/// The id at the start of a payload's bytes.
fn id_of(bytes: &[u8]) -> Option<String> {
    let rest = bytes.strip_prefix(b"{\"id\":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    String::from_utf8(rest[..end].to_vec()).ok()
}

/// FNV-1a, to remember each version's bytes cheaply.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Check that `bytes` is exactly the version with a known id. Returns the id.
fn check_version(bytes: &[u8], known: &Mutex<HashMap<String, u64>>, what: &str) -> String {
    let Some(id) = id_of(bytes) else {
        let v: Result<serde_json::Value, _> = serde_json::from_slice(bytes);
        panic!(
            "{what}: not a payload (parses: {}); starts {:?}",
            v.is_ok(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
    };
    let Some(&print) = known.lock().unwrap().get(&id) else {
        panic!("{what}: version {id} was never written");
    };
    if fingerprint(bytes) != print {
        let expected = payload(&id);
        // Not byte-identical: fail with what differs (parse both to tell a torn
        // file from a formatting change).
        let got: Result<serde_json::Value, _> = serde_json::from_slice(bytes);
        let want: serde_json::Value = serde_json::from_str(&expected).unwrap();
        match got {
            Err(e) => panic!("{what}: version {id} does not parse: {e}"),
            Ok(v) if v != want => panic!("{what}: version {id} has other content"),
            Ok(_) => panic!("{what}: version {id} has the right content but other bytes"),
        }
    }
    id
}

/// When a child is to be killed.
#[derive(Clone, Copy, Debug)]
enum Fate {
    /// This long after it was started (mostly while it reads and parses its input).
    Early(Duration),
    /// This long after it was seen holding the file's lock: the part that reads
    /// the old version, renders, backs up, writes the temp file, renames and
    /// journals.
    Holding(Duration),
    /// As soon as its temp file shows up while it holds the lock (it dies between
    /// creating the temp file and renaming it).
    AtTempFile,
    /// Let it finish.
    Spared,
}

struct Running {
    child: Child,
    started: Instant,
    fate: Fate,
    /// When the lock file first named this child as its holder.
    holding_since: Option<Instant>,
}

struct Shared {
    dir: PathBuf,
    slots: Vec<Mutex<Option<Running>>>,
    /// Every version some process was given: id → fingerprint of its bytes.
    known: Mutex<HashMap<String, u64>>,
    stop: AtomicBool,
    kills: AtomicUsize,
    successes: AtomicUsize,
    /// Running estimate of how long a write holds the lock, in ms.
    hold_ms: AtomicU64,
    failures: Mutex<Vec<String>>,
}

fn writer(shared: &Shared, w: usize, seed: u64) {
    let mut rng = Rng::seeded(seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let file = shared.dir.join("f.json");
    let mut seq = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        seq += 1;
        let id = format!("w{w}-{seq}");
        let body = payload(&id);
        shared
            .known
            .lock()
            .unwrap()
            .insert(id.clone(), fingerprint(body.as_bytes()));
        let mut cmd = common::command(bin());
        let mut child = cmd
            .args(["--no-sync", "write", "f.json", "-"])
            .current_dir(&shared.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        // Most die within 30 ms of their start; many at a random moment of their
        // turn with the lock, a third of those near its end (temp file, rename,
        // journal); some right after creating their temp file; a few are let
        // through so the file keeps changing.
        let hold = shared.hold_ms.load(Ordering::Relaxed);
        let fate = match rng.below(20) {
            0..=12 => Fate::Early(Duration::from_millis(rng.below(31))),
            13..=15 => Fate::Holding(Duration::from_millis(rng.below(hold * 6 / 5 + 1))),
            16..=17 => Fate::Holding(Duration::from_millis(
                hold * 3 / 5 + rng.below(hold / 2 + 1),
            )),
            18 => Fate::AtTempFile,
            _ => Fate::Spared,
        };
        *shared.slots[w].lock().unwrap() = Some(Running {
            child,
            started: Instant::now(),
            fate,
            holding_since: None,
        });
        // A killed child closes the pipe: the error is expected.
        let _ = stdin.write_all(body.as_bytes());
        drop(stdin);
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        let Running {
            mut child,
            holding_since,
            ..
        } = shared.slots[w].lock().unwrap().take().unwrap();
        let status = child.wait().unwrap();
        match (status.code(), status.signal()) {
            (_, Some(9)) => {
                shared.kills.fetch_add(1, Ordering::Relaxed);
                let bytes = fs::read(&file).unwrap();
                check_version(&bytes, &shared.known, &format!("after killing {id}"));
            }
            (Some(0), _) => {
                shared.successes.fetch_add(1, Ordering::Relaxed);
                if let Some(t) = holding_since {
                    let old = shared.hold_ms.load(Ordering::Relaxed);
                    let new = (old * 3 + t.elapsed().as_millis() as u64) / 4;
                    shared.hold_ms.store(new.max(1), Ordering::Relaxed);
                }
                no_panic(&err);
            }
            _ => shared
                .failures
                .lock()
                .unwrap()
                .push(format!("{id}: {status}: {err}")),
        }
    }
}

/// The pid recorded in the lock file (the current or last holder).
fn holder_pid(lock: &Path) -> Option<u32> {
    let text = fs::read_to_string(lock).ok()?;
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    u32::try_from(v.get("pid")?.as_u64()?).ok()
}

fn killer(shared: &Shared, seed: u64) {
    let mut rng = Rng::seeded(seed);
    let lock = shared.dir.join(".jsafe/locks/f.json.lock");
    let mut old_temps: HashSet<String> = HashSet::new();
    while !shared.stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_micros(500 + rng.below(2000)));
        let holder = holder_pid(&lock);
        for slot in &shared.slots {
            let mut slot = slot.lock().unwrap();
            let Some(r) = slot.as_mut() else { continue };
            let holding = holder == Some(r.child.id());
            if r.holding_since.is_none() && holding {
                r.holding_since = Some(Instant::now());
            }
            let due = match r.fate {
                Fate::Early(d) => r.started.elapsed() >= d,
                Fate::Holding(d) => r.holding_since.is_some_and(|t| t.elapsed() >= d),
                // Only the lock holder writes a temp file, so a new one is its.
                Fate::AtTempFile => {
                    holding
                        && temp_files(&shared.dir)
                            .iter()
                            .any(|t| !old_temps.contains(t))
                }
                Fate::Spared => false,
            };
            if due {
                // Not yet reaped, so the pid is still this child's even if it
                // just exited; then the kill is a no-op and not counted.
                let _ = r.child.kill();
                r.fate = Fate::Spared;
            }
        }
        old_temps.extend(temp_files(&shared.dir));
    }
}

fn leftovers_are_harmless(dir: &Path, known: &Mutex<HashMap<String, u64>>) {
    let temps = temp_files(dir);
    eprintln!(
        "temp files left by killed writers: {} {:?}",
        temps.len(),
        temps
    );
    let cleanup = run(dir, &["cleanup-locks", "--older-than", "0s"]);
    if cleanup.code == 0 {
        let left = temp_files(dir);
        assert!(left.is_empty(), "cleanup-locks left temp files: {left:?}");
        eprintln!("cleanup-locks removed them");
    } else if cleanup.stderr.contains("not built yet") {
        eprintln!(
            "NOTE: cleanup-locks is not built yet; checking instead that the {} leftover temp files are ignored",
            temps.len()
        );
    } else {
        panic!("cleanup-locks failed: {}", cleanup.stderr);
    }
    // Either way: the data file is whole and jsafe reads it.
    let bytes = fs::read(dir.join("f.json")).unwrap();
    let id = check_version(&bytes, known, "at the end");
    let out = run(dir, &["read", "f.json", ".id", "-r"]);
    assert_eq!(out.ok().stdout_str(), format!("{id}\n"));
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_torn_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let seed = Rng::from_clock().next_u64();
    eprintln!("crash test seed: {seed}");
    fs::write(dir.join("f.json"), payload("init")).unwrap();
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        slots: (0..WRITERS).map(|_| Mutex::new(None)).collect(),
        known: Mutex::new(HashMap::from([(
            "init".to_owned(),
            fingerprint(payload("init").as_bytes()),
        )])),
        stop: AtomicBool::new(false),
        kills: AtomicUsize::new(0),
        successes: AtomicUsize::new(0),
        hold_ms: AtomicU64::new(300),
        failures: Mutex::new(Vec::new()),
    });
    let began = Instant::now();
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&shared);
        threads.push(thread::spawn(move || writer(&s, w, seed)));
    }
    {
        let s = Arc::clone(&shared);
        threads.push(thread::spawn(move || killer(&s, seed)));
    }
    while (shared.kills.load(Ordering::Relaxed) < MIN_KILLS
        || shared.successes.load(Ordering::Relaxed) < MIN_SUCCESSES)
        && shared.failures.lock().unwrap().is_empty()
        && threads.iter().all(|t| !t.is_finished())
        && began.elapsed() < SAFETY_LIMIT
    {
        thread::sleep(Duration::from_millis(50));
    }
    shared.stop.store(true, Ordering::Relaxed);
    for t in threads {
        if let Err(e) = t.join() {
            std::panic::resume_unwind(e);
        }
    }
    let kills = shared.kills.load(Ordering::Relaxed);
    let successes = shared.successes.load(Ordering::Relaxed);
    eprintln!(
        "{kills} kills, {successes} completed writes in {:.1}s (lock held {} ms per write)",
        began.elapsed().as_secs_f64(),
        shared.hold_ms.load(Ordering::Relaxed)
    );
    let failures = shared.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "writers failed: {failures:#?}");
    assert!(kills >= MIN_KILLS, "only {kills} kills");
    assert!(
        successes >= MIN_SUCCESSES,
        "only {successes} writes completed"
    );

    // The file was never seen corrupt.
    assert!(quarantined(dir).is_empty(), "{:?}", quarantined(dir));
    // Every backup is a whole earlier version.
    let bks = backups(dir, "f.json");
    assert!(!bks.is_empty());
    for b in &bks {
        check_version(&bytes(b), &shared.known, &b.display().to_string());
    }
    // Every journal line is whole (a killed writer never tears one).
    let journal = journal_lines(dir);
    assert!(journal.len() >= successes.min(1));

    // A normal write still works after all that, and nothing left over matters.
    let final_id = "final".to_owned();
    let final_body = payload(&final_id);
    shared
        .known
        .lock()
        .unwrap()
        .insert(final_id.clone(), fingerprint(final_body.as_bytes()));
    run_stdin(
        dir,
        &["--no-sync", "write", "f.json", "-"],
        final_body.as_bytes(),
    )
    .ok();
    assert_eq!(
        check_version(&bytes(&dir.join("f.json")), &shared.known, "final write"),
        final_id
    );
    leftovers_are_harmless(dir, &shared.known);
}
