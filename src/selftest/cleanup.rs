//! `cleanup`: `jsafe cleanup-locks` removes the lock file of a writer that was
//! killed while holding it, and never a lock file whose kernel lock is held,
//! not even with `--older-than 0s`.

use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use super::{Ctx, Finding, Report, args};
use crate::store::{self, Mode};

const SUITE: &str = "cleanup";
/// A filter that never ends: the update holds the file's lock until killed.
const FOREVER: &str = "until(false; .)";

type Outcome = std::result::Result<Finding, String>;

pub(super) fn run(ctx: &Ctx, report: &mut Report) {
    let dir = match ctx.suite_dir(SUITE) {
        Ok(d) => d,
        Err(why) => return report.check(SUITE, "setup", || Err(why)),
    };
    report.check(SUITE, "orphan", || orphan(ctx, &dir));
    report.check(SUITE, "held", || held(ctx, &dir));
}

fn lock_path_of(file: &Path) -> std::result::Result<std::path::PathBuf, String> {
    Ok(store::state_paths(file).map_err(|e| e.to_string())?.lock)
}

fn orphan(ctx: &Ctx, dir: &Path) -> Outcome {
    let file = dir.join("orphan.json");
    ctx.run(args!["write", file, r#"{"v":1}"#])?
        .require_ok("write")?;
    let lock_path = lock_path_of(&file)?;

    let mut cmd = ctx.command(args!["update", file, FOREVER, "--filter-timeout", "600"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start a worker: {e}"))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let holding = loop {
        if store::probe(&file).is_ok_and(|p| p.holder.is_some_and(|h| h.pid == pid)) {
            break true;
        }
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            break false;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let _ = child.kill();
    let _ = child.wait();
    if !holding {
        return Err(format!(
            "a worker running an endless filter (pid {pid}) did not record itself in {} within 10 s",
            lock_path.display()
        ));
    }

    // A kernel lock dies with its process: the record is all that is left.
    // Probed, not taken: taking it would record this process as its holder.
    let free = store::probe(&file).is_ok_and(|p| p.state == store::lock::State::Free);
    if !free {
        return Err(format!(
            "{} is still locked after its holder (pid {pid}) was killed",
            lock_path.display()
        ));
    }
    ctx.run(args!["cleanup-locks", dir, "--dry-run"])?
        .require_ok("cleanup-locks --dry-run")?;
    if !lock_path.exists() {
        return Err("cleanup-locks --dry-run removed a lock file".to_owned());
    }
    let swept = ctx
        .run(args!["-v", "cleanup-locks", dir])?
        .require_ok("cleanup-locks")?;
    if lock_path.exists() {
        return Err(format!(
            "cleanup-locks left {}, whose recorded holder (pid {pid}) is dead: {}",
            lock_path.display(),
            swept.stdout_text().trim()
        ));
    }
    ctx.run(args!["--timeout", "5", "write", file, r#"{"v":2}"#])?
        .require_ok("a write after the sweep")?;
    Ok(Finding::pass(format!(
        "holder pid {pid} killed with SIGKILL: lock free at once; --dry-run kept the lock file, cleanup-locks removed it; writes still work"
    ))
    .with("holder_pid", pid))
}

fn held(ctx: &Ctx, dir: &Path) -> Outcome {
    let file = dir.join("held.json");
    ctx.run(args!["write", file, r#"{"v":1}"#])?
        .require_ok("write")?;
    let lock_path = lock_path_of(&file)?;
    // Held by this process; the sweeper is another process, so the kernel lock
    // conflicts exactly as with any other writer.
    let held = store::lock_file(
        &file,
        Mode::Exclusive,
        Duration::from_secs(10),
        &|_| {},
        "jsafe test",
    )
    .map_err(|e| e.to_string())?;
    let swept = ctx.run(args!["cleanup-locks", dir, "--older-than", "0s"]);
    let kept = held.is_linked();
    drop(held);
    swept?.require_ok("cleanup-locks --older-than 0s")?;
    if !kept {
        return Err(format!(
            "cleanup-locks --older-than 0s removed {} while its lock was held",
            lock_path.display()
        ));
    }
    // Released, the same sweep removes it: the kernel lock protected it, not the
    // live holder recorded in it.
    ctx.run(args!["cleanup-locks", dir, "--older-than", "0s"])?
        .require_ok("cleanup-locks --older-than 0s")?;
    Ok(Finding::verdict(
        !lock_path.exists(),
        if lock_path.exists() {
            "a held lock file survived cleanup-locks --older-than 0s, but once released the same sweep left it too"
        } else {
            "a held lock file survived cleanup-locks --older-than 0s; once released, the same sweep removed it"
        },
    ))
}
