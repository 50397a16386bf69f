//! `basic`: each command's round trip through the binary (write, read, merge,
//! update, restore, recover, an unchanged write), and the exit codes scripts
//! branch on. The checks build on each other, one file through five versions.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use super::{Ctx, Finding, Report, args, parse_json, read_bytes};
use crate::store::{self, Mode};

const SUITE: &str = "basic";

/// The first version: a big integer and a decimal whose text must survive.
const FIRST: &str = r#"{"name":"jsafe","n":1,"big":123456789012345678901234567890,"dec":1.50,"list":[1,"two",null]}"#;

type Outcome = std::result::Result<Finding, String>;

pub(super) fn run(ctx: &Ctx, report: &mut Report) {
    let dir = match ctx.suite_dir(SUITE) {
        Ok(d) => d,
        Err(why) => return report.check(SUITE, "setup", || Err(why)),
    };
    let file = dir.join("basic.json");
    report.check(SUITE, "round-trip", || round_trip(ctx, &file));
    report.check(SUITE, "merge", || merge(ctx, &file));
    let mut fourth = None;
    report.check(SUITE, "update", || {
        let (finding, bytes) = update(ctx, &file)?;
        fourth = Some(bytes);
        Ok(finding)
    });
    report.check(SUITE, "restore", || restore(ctx, &file));
    report.check(SUITE, "unchanged", || unchanged(ctx, &file));
    report.check(SUITE, "recover", || match &fourth {
        Some(bytes) => recover(ctx, &file, bytes),
        None => Err("not run: the update check failed".to_owned()),
    });
    report.check(SUITE, "exit-codes", || exit_codes(ctx, &dir, &file));
}

fn jsafe_value(bytes: &[u8], what: &str) -> std::result::Result<crate::json::Value, String> {
    crate::json::parse(bytes).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

fn round_trip(ctx: &Ctx, file: &Path) -> Outcome {
    ctx.run(args!["write", file, FIRST])?.require_ok("write")?;
    let out = ctx.run(args!["read", file])?.require_ok("read")?;
    let got = jsafe_value(&out.stdout, "read's output")?;
    let want = jsafe_value(FIRST.as_bytes(), "the written value")?;
    let text = out.stdout_text();
    if got != want {
        return Err(format!("read gave {} instead of {FIRST}", text.trim()));
    }
    for kept in ["123456789012345678901234567890", "1.50"] {
        if !text.contains(kept) {
            return Err(format!(
                "the number {kept} was not kept as written: {}",
                text.trim()
            ));
        }
    }
    Ok(Finding::pass(
        "write then read gives the value back; number text kept (123456789012345678901234567890, 1.50)",
    ))
}

fn merge(ctx: &Ctx, file: &Path) -> Outcome {
    ctx.run(args!["merge", file, r#"{"n":null,"added":{"x":true}}"#])?
        .require_ok("merge")?;
    let out = ctx.run(args!["read", file, "-c"])?.require_ok("read")?;
    let v = parse_json(&out.stdout, "read's output")?;
    let keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let want_keys = ["name", "big", "dec", "list", "added"];
    let ok = keys == want_keys && v["added"]["x"] == serde_json::Value::Bool(true);
    if !ok {
        return Err(format!(
            "after merging {{\"n\":null,\"added\":{{\"x\":true}}}} the file is {}",
            out.stdout_text().trim()
        ));
    }
    Ok(Finding::pass(
        "RFC 7386 patch applied (null removed \"n\", \"added\" appended), key order kept",
    ))
}

fn update(ctx: &Ctx, file: &Path) -> std::result::Result<(Finding, Vec<u8>), String> {
    ctx.run(args!["update", file, ".count = 41 + 1"])?
        .require_ok("update")?;
    ctx.run(args![
        "update",
        file,
        ".who = $who",
        "--arg",
        "who",
        "operator"
    ])?
    .require_ok("update --arg")?;
    let count = ctx.run(args!["read", file, ".count"])?.require_ok("read")?;
    let who = ctx
        .run(args!["read", "-r", file, ".who"])?
        .require_ok("read -r")?;
    let (count, who) = (count.stdout_text(), who.stdout_text());
    if count.trim() != "42" || who.trim() != "operator" {
        return Err(format!(
            "expected .count = 42 and .who = operator, read {} and {}",
            count.trim(),
            who.trim()
        ));
    }
    let bytes = read_bytes(file)?;
    Ok((
        Finding::pass("filters applied (.count = 42, --arg who); read FILTER and -r agree"),
        bytes,
    ))
}

fn backup_count(ctx: &Ctx, file: &Path) -> std::result::Result<usize, String> {
    let out = ctx
        .run(args!["restore", file, "--list", "--json"])?
        .require_ok("restore --list --json")?;
    let v = parse_json(&out.stdout, "restore --list --json")?;
    v.as_array()
        .map(Vec::len)
        .ok_or_else(|| format!("restore --list --json printed {}", out.stdout_text().trim()))
}

fn restore(ctx: &Ctx, file: &Path) -> Outcome {
    // Versions so far: write, merge, two updates; each change backed up the one before.
    let before = backup_count(ctx, file)?;
    if before != 3 {
        return Err(format!(
            "{before} backups listed after 3 changes, expected 3"
        ));
    }
    ctx.run(args!["restore", "--latest", file])?
        .require_ok("restore --latest")?;
    let out = ctx.run(args!["read", "-c", file])?.require_ok("read")?;
    let v = parse_json(&out.stdout, "the restored file")?;
    if v.get("who").is_some() || v["count"] != serde_json::json!(42) {
        return Err(format!(
            "restore --latest should bring back the version before the last update; the file is {}",
            out.stdout_text().trim()
        ));
    }
    let after = backup_count(ctx, file)?;
    if after != before + 1 {
        return Err(format!(
            "the restore did not back up the version it replaced ({after} backups, expected {})",
            before + 1
        ));
    }
    Ok(Finding::pass(format!(
        "{before} backups listed; --latest brought back the version before the last update and backed up the one it replaced"
    ))
    .with("backups", after))
}

fn unchanged(ctx: &Ctx, file: &Path) -> Outcome {
    let before = read_bytes(file)?;
    let inode = fs::metadata(file).map_err(|e| e.to_string())?.ino();
    let backups = backup_count(ctx, file)?;
    let compact = ctx.run(args!["read", "-c", file])?.require_ok("read -c")?;
    let same = compact.stdout_text();
    ctx.run(args!["write", file, same.trim()])?
        .require_ok("write")?;
    let after = read_bytes(file)?;
    let inode_after = fs::metadata(file).map_err(|e| e.to_string())?.ino();
    let backups_after = backup_count(ctx, file)?;
    if after != before || inode != inode_after || backups != backups_after {
        return Err(format!(
            "writing the value the file already holds changed something: bytes {}, inode {}, backups {backups} → {backups_after}",
            if after == before { "same" } else { "differ" },
            if inode == inode_after {
                "same"
            } else {
                "replaced"
            },
        ));
    }
    Ok(Finding::pass(
        "writing the value the file already holds wrote nothing (same inode, no new backup)",
    ))
}

fn recover(ctx: &Ctx, file: &Path, newest_backup: &[u8]) -> Outcome {
    // An outside program truncates the file mid-write.
    let garbage = br#"{"name": "jsa"#;
    fs::write(file, garbage).map_err(|e| format!("cannot corrupt {}: {e}", file.display()))?;
    let refused = ctx.run(args!["update", file, ".n = 1"])?;
    if refused.code() != Some(5) {
        return Err(format!(
            "update on a corrupt file: expected exit 5, got {}",
            refused.why()
        ));
    }
    if read_bytes(file)? != garbage {
        return Err("update changed a corrupt file although it failed".to_owned());
    }
    ctx.run(args!["read", "--recover", file])?
        .require_ok("read --recover")?;
    if read_bytes(file)? != newest_backup {
        return Err("read --recover did not restore the newest valid backup".to_owned());
    }
    let quarantine = store::state_paths(file)
        .map_err(|e| e.to_string())?
        .quarantine;
    let kept: Vec<Vec<u8>> = fs::read_dir(&quarantine)
        .map_err(|e| format!("no quarantine directory {}: {e}", quarantine.display()))?
        .flatten()
        .filter_map(|e| fs::read(e.path()).ok())
        .collect();
    if !kept.iter().any(|k| k == garbage) {
        return Err(format!(
            "the corrupt bytes were not kept in {}",
            quarantine.display()
        ));
    }
    Ok(Finding::pass(
        "corrupt file: update refused (exit 5, untouched); read --recover quarantined it and restored the newest valid backup",
    ))
}

fn exit_codes(ctx: &Ctx, dir: &Path, file: &Path) -> Outcome {
    let corrupt = dir.join("corrupt.json");
    fs::write(&corrupt, b"{\"a\":")
        .map_err(|e| format!("cannot write {}: {e}", corrupt.display()))?;
    let missing = dir.join("missing.json");
    let no_dir = dir.join("no-such-dir").join("x.json");

    let before = read_bytes(file)?;
    let mut cases = vec![
        ("missing file", 6, ctx.run(args!["read", missing])?),
        ("bad JSON", 4, ctx.run(args!["write", file, "not json"])?),
        ("bad filter", 4, ctx.run(args!["update", file, ".["])?),
        ("two results", 4, ctx.run(args!["update", file, ".a, .b"])?),
        (
            "corrupt target",
            5,
            ctx.run(args!["update", corrupt, ".a = 1"])?,
        ),
        (
            "missing directory",
            7,
            ctx.run(args!["write", no_dir, "{}"])?,
        ),
        ("usage", 2, ctx.run(args!["merge", file])?),
    ];

    // The lock is held here, by this process, while a worker tries.
    let held = store::lock_file(
        file,
        Mode::Exclusive,
        Duration::from_secs(10),
        &|_| {},
        "jsafe test",
    )
    .map_err(|e| e.to_string())?;
    let timed_out = ctx.run(args!["--timeout", "0.3", "merge", file, r#"{"x":1}"#])?;
    drop(held);
    let mut wrong = Vec::new();
    let holder = format!("pid {}", std::process::id());
    if timed_out.code() == Some(3) && !timed_out.stderr.contains(&holder) {
        wrong.push(format!(
            "lock timeout: the message does not name the holder ({holder}): {}",
            timed_out.stderr.trim()
        ));
    }
    cases.push(("lock timeout", 3, timed_out));

    let mut seen = Vec::new();
    for (label, want, ran) in cases {
        if ran.code() == Some(want) {
            seen.push(format!("{want} {label}"));
        } else {
            wrong.push(format!("{label}: expected exit {want}, got {}", ran.why()));
        }
    }
    if read_bytes(file)? != before {
        wrong.push("the failed commands changed the file".to_owned());
    }
    if wrong.is_empty() {
        Ok(Finding::pass(seen.join(", ")))
    } else {
        Err(wrong.join("; "))
    }
}
