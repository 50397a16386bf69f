//! `rollback`: a write that fails part-way leaves the original intact and no
//! `.jsafe-tmp.*` file behind, with exit code 7. Two ways to fail: the
//! file-size limit (`ulimit -f`, so writing the temp file hits EFBIG), and a
//! directory the writer may not write. As root permission bits do not stop a
//! write, so that case runs as user 65534 through `setpriv` (skipped, with the
//! reason, when setpriv is missing).

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{Ctx, Finding, Ran, Report, args, find_program, read_bytes, temp_files};

const SUITE: &str = "rollback";
const ORIGINAL: &str = r#"{"v":"original"}"#;
const CHANGED: &str = r#"{"v":"changed"}"#;
/// The unprivileged user of the read-only-directory check.
const NOBODY: &str = "65534";

type Outcome = std::result::Result<Finding, String>;

pub(super) fn run(ctx: &Ctx, report: &mut Report) {
    let dir = match ctx.suite_dir(SUITE) {
        Ok(d) => d,
        Err(why) => return report.check(SUITE, "setup", || Err(why)),
    };
    report.check(SUITE, "fsize-limit", || file_size_limit(ctx, &dir));
    report.check(SUITE, "readonly-dir", || read_only_dir(ctx, &dir));
}

/// The verdict shared by both checks.
fn judge(ran: &Ran, file: &Path, before: &[u8], how: &str) -> Outcome {
    let dir = file.parent().unwrap_or(Path::new("."));
    let intact = read_bytes(file)? == before;
    let temps = temp_files(dir);
    let ok = ran.code() == Some(7) && intact && temps.is_empty();
    Ok(Finding::verdict(
        ok,
        format!(
            "{how}: {}; original {}, {} temp files left",
            ran.why(),
            if intact { "intact" } else { "CHANGED" },
            temps.len()
        ),
    )
    .with("exit_code", ran.code())
    .with("original_intact", intact)
    .with("temp_files", temps.len()))
}

fn file_size_limit(ctx: &Ctx, dir: &Path) -> Outcome {
    let Some(sh) = find_program("sh") else {
        return Ok(Finding::skip(
            "no sh on PATH to lower the file-size limit with ulimit -f",
        ));
    };
    let file = dir.join("limit.json");
    ctx.run(args!["write", file, ORIGINAL])?
        .require_ok("write")?;
    let before = read_bytes(&file)?;
    let big = format!(r#"{{"v":"{}"}}"#, "x".repeat(64 * 1024));
    // Shells count ulimit -f in 512- or 1024-byte blocks; 8 blocks is far below
    // the 64 KiB this write needs either way. jsafe ignores SIGXFSZ, so the
    // write fails with EFBIG instead of the process being killed.
    let cmd = ctx.command_via(
        args![sh, "-c", r#"ulimit -f 8 && exec "$0" "$@""#],
        args!["write", file, "-"],
    );
    let ran = Ran::of(cmd, Some(big.as_bytes()))?;
    judge(&ran, &file, &before, "a 64 KiB write under ulimit -f 8")
}

fn read_only_dir(ctx: &Ctx, dir: &Path) -> Outcome {
    let ro = dir.join("readonly");
    fs::create_dir_all(&ro).map_err(|e| format!("cannot create {}: {e}", ro.display()))?;
    let file = ro.join("data.json");
    ctx.run(args!["write", file, ORIGINAL])?
        .require_ok("write")?;
    let before = read_bytes(&file)?;
    let chmod = |path: &Path, mode: u32| {
        fs::set_permissions(path, Permissions::from_mode(mode))
            .map_err(|e| format!("cannot chmod {}: {e}", path.display()))
    };

    if !rustix::process::geteuid().is_root() {
        chmod(&ro, 0o555)?;
        let ran = ctx.run(args!["write", file, CHANGED]);
        chmod(&ro, 0o755)?;
        return judge(&ran?, &file, &before, "a write into a mode-555 directory");
    }

    let Some(setpriv) = find_program("setpriv") else {
        return Ok(Finding::skip(
            "running as root, where permission bits do not stop a write, and setpriv (util-linux) is not installed to drop to an unprivileged user",
        ));
    };
    // The unprivileged user must be able to reach and read the file.
    for d in [ctx.root.as_path(), dir, ro.as_path()] {
        chmod(d, 0o755)?;
    }
    chmod(&file, 0o644)?;
    let uid = format!("--reuid={NOBODY}");
    let gid = format!("--regid={NOBODY}");
    let wrapper = args![setpriv, uid, gid, "--clear-groups"];
    let probe = Ran::of(ctx.command_via(wrapper, args!["read", file]), None)?;
    if !probe.ok() {
        return Ok(Finding::skip(format!(
            "user {NOBODY} cannot read {} ({}): a directory above it is closed to other users",
            file.display(),
            probe.why()
        )));
    }
    // Backups live in .jsafe/, which that user cannot write either; without
    // them the failure comes from the data directory itself.
    let ran = Ran::of(
        ctx.command_via(wrapper, args!["--no-backup", "write", file, CHANGED]),
        None,
    )?;
    judge(
        &ran,
        &file,
        &before,
        &format!("a write as user {NOBODY} (setpriv) into a root-owned mode-755 directory"),
    )
}
