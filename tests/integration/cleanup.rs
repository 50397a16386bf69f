//! `jsafe cleanup-locks`: what is removed, what is never removed, and that a
//! sweeper beside live writers loses no update.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::common;
use common::{jsafe, ok};

/// (exit code, stdout, stderr) of `jsafe cleanup-locks ARGS`.
fn cleanup(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = jsafe(dir).arg("cleanup-locks").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn cleanup_json(dir: &Path, args: &[&str]) -> Value {
    let (code, out, err) = cleanup(dir, &[&["--json"], args].concat());
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn lock_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(".jsafe/locks").join(format!("{name}.lock"))
}

/// Write a lock file with this holder record (as jsafe writes it) and this age.
fn fake_lock(dir: &Path, name: &str, holder: &Value, age: Duration) -> PathBuf {
    let path = lock_path(dir, name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, format!("{holder}\n")).unwrap();
    let f = File::options().write(true).open(&path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
    path
}

fn holder(pid: u32, host: &str, start_time: Option<u64>) -> Value {
    serde_json::json!({
        "pid": pid, "host": host, "start_time": start_time,
        "command": "jsafe update f.json .n", "acquired": 1.0e9,
        "acquired_at": "2001-09-09T01:46:40.000Z",
    })
}

fn this_host() -> String {
    jsafe::__internals::host_name()
}

fn start_time(pid: u32) -> u64 {
    jsafe::__internals::start_time_of(pid).unwrap()
}

/// A PID no process can have: past the kernel's maximum.
fn unused_pid() -> u32 {
    let max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4_194_304);
    max + 1
}

/// A live process to lend its PID to a lock record.
fn sleeper() -> Child {
    common::command("sleep").arg("60").spawn().unwrap()
}

/// `jsafe update` with a filter that runs until killed, holding the lock.
fn long_update(dir: &Path, name: &str) -> Child {
    ok(dir, &["merge", name, r#"{"n":0}"#]);
    let mut child = jsafe(dir)
        .args([
            "update",
            name,
            "last(range(1e18))",
            "--filter-timeout",
            "60",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the child has recorded itself in the lock file.
    let lock = lock_path(dir, name);
    for _ in 0..400 {
        let _ = &lock;
        if jsafe::probe(&dir.join(name))
            .is_ok_and(|p| p.holder.is_some_and(|h| h.pid == child.id()))
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("the update never took the lock");
}

#[test]
fn a_lock_of_a_killed_process_is_removed_and_a_live_one_never() {
    if !common::clean_process() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut killed = long_update(dir, "killed.json");
    let mut live = long_update(dir, "live.json");
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    assert!(lock_path(dir, "killed.json").exists());

    // An ordinary left-over is no news for cron's mail: only -v says it.
    let (code, out, err) = cleanup(dir, &["-v", "--older-than", "0s"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "removed .jsafe/locks/killed.json.lock (free; its holder pid {} has exited)\n",
            killed.id()
        )),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
    assert!(!lock_path(dir, "killed.json").exists());
    assert!(lock_path(dir, "live.json").exists());

    // -v says why the live one is kept.
    let (code, out, _) = cleanup(dir, &["-v", "--older-than", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "kept .jsafe/locks/live.json.lock (held by pid {} on host ",
            live.id()
        )),
        "{out}"
    );
    assert!(out.trim_end().ends_with("(alive))"), "{out}");
    let doc = cleanup_json(dir, &["--older-than", "0s"]);
    assert_eq!(doc["removed"], serde_json::json!([]));
    assert_eq!(doc["kept"][0]["kind"], "lock");
    assert_eq!(doc["kept"][0]["file"], "live.json");
    assert_eq!(doc["kept"][0]["holder"]["pid"], live.id());
    assert_eq!(doc["kept"][0]["holder"]["alive"], "alive");
    assert!(lock_path(dir, "live.json").exists());

    live.kill().unwrap();
    live.wait().unwrap();
    // Both updates were killed before writing: the data is as it was.
    for f in ["killed.json", "live.json"] {
        let v: Value = serde_json::from_slice(&fs::read(dir.join(f)).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"n": 0}));
    }
}

#[test]
fn a_lock_held_with_std_file_lock_is_never_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "{}"]);
    let path = lock_path(dir, "f.json");
    let held = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    held.lock().unwrap();
    // The record names the writer that finished (dead), and the file is old:
    // still, the kernel lock is held, so it stays.
    held.set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    let (code, out, _) = cleanup(dir, &["--older-than", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(out, "");
    assert!(path.exists());
    drop(held);
    common::wait_until_free(&path);
    let (_, out, _) = cleanup(dir, &["-v", "--older-than", "0s"]);
    assert!(
        out.starts_with("removed .jsafe/locks/f.json.lock (free; its holder pid "),
        "{out}"
    );
    assert!(!path.exists());
}

#[test]
fn a_recycled_pid_is_an_orphan_but_a_live_holder_keeps_a_young_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut other = sleeper();
    let pid = other.id();
    let real = start_time(pid);
    let host = this_host();
    let young = Duration::from_secs(5);
    // The PID is alive, but started long after the recorded holder did.
    let recycled = fake_lock(
        dir,
        "recycled.json",
        &holder(pid, &host, Some(real - 1000)),
        young,
    );
    // The PID is alive with the recorded start time: its holder is alive. The
    // kernel lock is free and the file young, so the lock is kept (it is
    // likely to be taken again); only --older-than removes it.
    let alive = fake_lock(dir, "alive.json", &holder(pid, &host, Some(real)), young);
    // No start time recorded: judged by PID only, alive.
    let no_start = fake_lock(dir, "nostart.json", &holder(pid, &host, None), young);
    let dead = fake_lock(
        dir,
        "dead.json",
        &holder(unused_pid(), &host, Some(real)),
        young,
    );
    // Another host: never judged by PID (this PID is alive here, and the dead
    // one would be dead here); only the free kernel lock and age count.
    let remote_young = fake_lock(
        dir,
        "remote-young.json",
        &holder(unused_pid(), "other-host.invalid", Some(real)),
        young,
    );
    let remote_old = fake_lock(
        dir,
        "remote-old.json",
        &holder(pid, "other-host.invalid", Some(real)),
        Duration::from_secs(7200),
    );
    let unrecorded = fake_lock(dir, "empty.json", &Value::Null, young);
    fs::write(&unrecorded, "").unwrap();

    let doc = cleanup_json(dir, &[]);
    let reasons = |list: &str| -> Vec<(String, String)> {
        doc[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["file"].as_str().unwrap().to_owned(),
                    e["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let removed = reasons("removed");
    let kept = reasons("kept");
    let files = |v: &[(String, String)]| v.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
    assert_eq!(
        files(&removed),
        ["dead.json", "recycled.json", "remote-old.json"],
        "{doc:#}"
    );
    assert_eq!(
        files(&kept),
        [
            "alive.json",
            "empty.json",
            "nostart.json",
            "remote-young.json"
        ],
        "{doc:#}"
    );
    assert!(removed[1].1.contains(&format!(
        "pid {pid} of its holder now belongs to another process"
    )));
    assert!(
        removed[2].1.starts_with("free; last taken 2h ago"),
        "{}",
        removed[2].1
    );
    assert!(kept[0].1.contains("younger than 1h"), "{}", kept[0].1);
    assert!(kept[0].1.ends_with("(alive)"), "{}", kept[0].1);
    assert!(
        kept[3].1.ends_with("on host other-host.invalid"),
        "{}",
        kept[3].1
    );
    let alive_of = |list: &str, file: &str| {
        doc[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["file"] == file)
            .unwrap()["holder"]["alive"]
            .clone()
    };
    assert_eq!(alive_of("removed", "recycled.json"), "recycled");
    assert_eq!(alive_of("removed", "dead.json"), "dead");
    assert_eq!(alive_of("kept", "alive.json"), "alive");
    assert_eq!(alive_of("kept", "remote-young.json"), "other-host");
    assert_eq!(alive_of("kept", "empty.json"), Value::Null);
    for p in [&recycled, &dead, &remote_old] {
        assert!(!p.exists(), "{}", p.display());
    }
    for p in [&alive, &no_start, &remote_young, &unrecorded] {
        assert!(p.exists(), "{}", p.display());
    }

    // Past --older-than, every free lock file goes, whoever recorded it.
    let (code, out, _) = cleanup(dir, &["-v", "--older-than", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "{out}");
    for p in [&alive, &no_start, &remote_young, &unrecorded] {
        assert!(!p.exists(), "{}", p.display());
    }
    other.kill().unwrap();
    other.wait().unwrap();
}

#[test]
fn dry_run_removes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "{}"]);
    fs::write(dir.join(".jsafe-tmp.f.json.Ab3dE6gH"), "{\"half").unwrap();
    // Without -v only the news: the temp file of a write that died.
    let (code, out, _) = cleanup(dir, &["--dry-run", "--older-than", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "would remove .jsafe-tmp.f.json.Ab3dE6gH (temp file of a write that did not finish (its writer died))\n"
    );
    let (code, out, _) = cleanup(dir, &["-v", "--dry-run", "--older-than", "0s"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("would remove .jsafe/locks/f.json.lock (free;")),
        "{out}"
    );
    assert!(lock_path(dir, "f.json").exists());
    assert!(dir.join(".jsafe-tmp.f.json.Ab3dE6gH").exists());
    let doc = cleanup_json(dir, &["--dry-run", "--older-than", "0s"]);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 2);
    assert!(lock_path(dir, "f.json").exists());
}

#[test]
fn temp_files_of_dead_writes_go_but_not_while_their_lock_is_held() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::create_dir(dir.join("sub")).unwrap();
    ok(dir, &["write", "sub/a.json", "{}"]);
    ok(dir, &["write", "sub/b.json", "{}"]);
    let dead_temp = dir.join("sub/.jsafe-tmp.a.json.Q1w2E3r4");
    let live_temp = dir.join("sub/.jsafe-tmp.b.json.Z9x8C7v6");
    // A temp file of a name that has no lock file at all.
    let orphan_temp = dir.join("sub/.jsafe-tmp.c.json.M5n6B7v8");
    // Not ours: wrong shape of name.
    let foreign = dir.join("sub/.jsafe-tmp.notes");
    for t in [&dead_temp, &live_temp, &orphan_temp, &foreign] {
        fs::write(t, "partial").unwrap();
    }
    let held = File::open(lock_path(&dir.join("sub"), "b.json")).unwrap();
    held.lock().unwrap();

    let (code, out, err) = cleanup(dir, &["-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(!dead_temp.exists());
    assert!(!orphan_temp.exists());
    assert!(live_temp.exists());
    assert!(foreign.exists());
    assert!(
        out.contains(
            "removed sub/.jsafe-tmp.a.json.Q1w2E3r4 (temp file of a write that did not finish (its writer died))"
        ),
        "{out}"
    );
    assert!(
        out.contains("removed sub/.jsafe-tmp.c.json.M5n6B7v8 (temp file"),
        "{out}"
    );
    assert!(
        out.contains(
            "kept sub/.jsafe-tmp.b.json.Z9x8C7v6 (its lock is held: a write may be in progress)"
        ),
        "{out}"
    );
    // The lock file made to remove c.json's temp file is not left behind.
    assert!(!lock_path(&dir.join("sub"), "c.json").exists());
    // Data files are never touched.
    assert!(dir.join("sub/a.json").exists() && dir.join("sub/b.json").exists());

    drop(held);
    common::wait_until_free(&lock_path(&dir.join("sub"), "b.json"));
    let (_, out, _) = cleanup(dir, &["sub/b.json"]);
    assert_eq!(
        out.lines().next().unwrap(),
        "removed sub/.jsafe-tmp.b.json.Z9x8C7v6 (temp file of a write that did not finish (its writer died))"
    );
    assert!(!live_temp.exists());
}

#[test]
fn nothing_to_do_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "{}"]);
    // The writer is dead, so its lock goes in the first sweep, silently: an
    // ordinary write leaves its lock file, which is no news for cron's mail.
    let (code, out, err) = cleanup(dir, &[]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(!lock_path(dir, "f.json").exists());
    let (code, out, err) = cleanup(dir, &[]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    // The data and its backups are untouched; the next write makes a fresh lock.
    ok(dir, &["merge", "f.json", r#"{"a":1}"#]);
    assert!(lock_path(dir, "f.json").exists());
}

#[test]
fn a_symlinked_lock_file_is_not_followed_and_fails_the_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "{}"]);
    let path = lock_path(dir, "f.json");
    fs::remove_file(&path).unwrap();
    let target = dir.join("precious");
    fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let (code, out, err) = cleanup(dir, &["--older-than", "0s"]);
    assert_eq!(code, 7, "{out}{err}");
    assert!(err.contains("f.json.lock"), "{err}");
    assert!(
        fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
}

#[test]
fn sweeping_in_a_loop_beside_concurrent_writers_loses_no_update() {
    const WRITERS: usize = 8;
    const UPDATES: usize = 200;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    ok(&dir, &["write", "count.json", r#"{"n":0}"#]);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let dir = dir.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut sweeps, mut removed) = (0usize, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (code, out, err) = cleanup(&dir, &["-v", "--older-than", "0s"]);
                assert_eq!(code, 0, "{err}");
                removed += out
                    .lines()
                    .filter(|l| l.contains("count.json.lock"))
                    .count();
                sweeps += 1;
            }
            (sweeps, removed)
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for _ in 0..UPDATES {
                    ok(&dir, &["--no-backup", "update", "count.json", ".n += 1"]);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sweeps, removed) = sweeper.join().unwrap();
    eprintln!("{sweeps} sweeps removed the lock file {removed} times");
    let v: Value = serde_json::from_slice(&fs::read(dir.join("count.json")).unwrap()).unwrap();
    assert_eq!(v["n"], WRITERS * UPDATES);
    // The race was real: the sweeper did remove the lock file under the writers.
    assert!(removed > 0, "{sweeps} sweeps never removed the lock");
    let temps = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".jsafe-tmp.")
        })
        .count();
    assert_eq!(temps, 0);
}

#[test]
fn json_output_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["write", "f.json", "{}"]);
    let doc = cleanup_json(dir, &["--older-than", "90m"]);
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["older_than_secs"], 5400.0);
    assert_eq!(doc["errors"], serde_json::json!([]));
    assert_eq!(doc["exit_code"], 0);
    let r = &doc["removed"][0];
    assert_eq!(r["path"], ".jsafe/locks/f.json.lock");
    assert_eq!(r["kind"], "lock");
    assert_eq!(r["file"], "f.json");
    assert_eq!(r["holder"]["alive"], "dead");
    assert!(r["holder"]["pid"].as_u64().is_some());
}
