//! Recoverability: every replaced version is kept as a backup (a hard link of the
//! old inode), rotated to `--keep`; a change that changes nothing makes no backup;
//! `restore` lists backups, brings one back exactly, skips corrupt ones with
//! `--latest`, and goes through the same write core as every change.

use crate::common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

/// The bytes jsafe writes for version `i` of a new file.
fn version(i: usize) -> String {
    format!("{{\n  \"version\": {i}\n}}\n")
}

/// Write versions 0..n of `f.json` through jsafe with extra `args`.
fn write_versions(dir: &Path, n: usize, args: &[&str]) {
    for i in 0..n {
        let json = format!("{{\"version\": {i}}}");
        let mut all = args.to_vec();
        all.extend(["write", "f.json", json.as_str()]);
        run(dir, &all).ok();
        assert_eq!(text(&dir.join("f.json")), version(i));
    }
}

fn backup_texts(dir: &Path) -> Vec<String> {
    backups(dir, "f.json").iter().map(|p| text(p)).collect()
}

#[test]
fn n_writes_of_a_new_file_leave_n_minus_1_backups_of_the_earlier_versions() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // The first write creates the file: there is nothing to back up yet.
    write_versions(dir, 5, &[]);
    let want: Vec<String> = (0..4).map(version).collect();
    assert_eq!(backup_texts(dir), want);
    for b in backups(dir, "f.json") {
        parse_file(&b);
    }
    // One journal line per change, naming the backup it made.
    let j = journal_lines(dir);
    assert_eq!(j.len(), 5);
    assert!(j[0]["backup"].is_null());
    let names: Vec<String> = backups(dir, "f.json")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (line, name) in j[1..].iter().zip(&names) {
        assert_eq!(line["backup"], name.as_str());
    }
}

#[test]
fn keep_3_after_10_writes_leaves_the_3_newest() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_versions(dir, 10, &["--keep", "3"]);
    assert_eq!(backup_texts(dir), vec![version(6), version(7), version(8)]);
    // Lowering keep later trims at the next write.
    write_versions(dir, 1, &["--keep", "1"]);
    assert_eq!(backup_texts(dir), vec![version(9)]);
}

#[test]
fn no_backup_makes_none_and_keeps_the_old_ones() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_versions(dir, 3, &["--no-backup"]);
    assert!(backups(dir, "f.json").is_empty());
    assert!(!dir.join(".jsafe/backups/f.json").exists() || backup_texts(dir).is_empty());
    run(dir, &["write", "f.json", "{\"version\": 10}"]).ok();
    assert_eq!(backup_texts(dir), vec![version(2)]);
    run(
        dir,
        &["--no-backup", "merge", "f.json", "{\"version\": 11}"],
    )
    .ok();
    assert_eq!(backup_texts(dir), vec![version(2)]);
    // --keep 0 is the same as --no-backup.
    run(
        dir,
        &["--keep", "0", "merge", "f.json", "{\"version\": 12}"],
    )
    .ok();
    assert_eq!(backup_texts(dir), vec![version(2)]);
}

#[test]
fn a_change_that_changes_nothing_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    write_versions(dir, 2, &[]);
    let ino = fs::metadata(&file).unwrap().ino();
    let journal = journal_lines(dir).len();
    let bks = backup_texts(dir);
    run(dir, &["write", "f.json", "{\"version\": 1}"]).ok();
    run(dir, &["write", "f.json", "{ \"version\" : 1 }"]).ok();
    run(dir, &["merge", "f.json", "{\"version\": 1}"]).ok();
    run(dir, &["merge", "f.json", "{\"absent\": null}"]).ok();
    run(dir, &["update", "f.json", "."]).ok();
    run(dir, &["update", "f.json", ".version |= . * 1"]).ok();
    assert_eq!(
        fs::metadata(&file).unwrap().ino(),
        ino,
        "the file was replaced"
    );
    assert_eq!(journal_lines(dir).len(), journal);
    assert_eq!(backup_texts(dir), bks);
    // Not even a merge into a missing file with an empty patch creates it... it
    // creates `{}`, which is a change.
    run(dir, &["merge", "new.json", "{}"]).ok();
    assert_eq!(text(&dir.join("new.json")), "{}\n");
}

#[test]
fn backups_are_hard_links_of_the_replaced_version() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    write_versions(dir, 1, &[]);
    for i in 1..4 {
        let before = fs::metadata(&file).unwrap().ino();
        run(dir, &["write", "f.json", &format!("{{\"version\": {i}}}")]).ok();
        let newest = backups(dir, "f.json").pop().unwrap();
        let meta = fs::metadata(&newest).unwrap();
        assert_eq!(meta.ino(), before, "backup of version {}", i - 1);
        assert_ne!(fs::metadata(&file).unwrap().ino(), before);
        // Only the backup holds the old inode now.
        assert_eq!(meta.nlink(), 1);
    }
}

#[test]
fn restore_list_shows_name_time_size_and_validity() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_versions(dir, 4, &[]);
    let names: Vec<String> = backups(dir, "f.json")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3);

    let out = run(dir, &["restore", "--list", "f.json"]);
    let listing = out.ok().stdout_str();
    for name in &names {
        let line = listing
            .lines()
            .find(|l| l.starts_with(name.as_str()))
            .unwrap_or_else(|| panic!("{name} not listed: {listing}"));
        let size = version(0).len().to_string();
        assert!(line.split_whitespace().any(|w| w == size), "{line}");
        assert!(line.contains("valid"), "{line}");
        assert!(line.contains('T') && line.contains('Z'), "no time: {line}");
    }
    // Without an action, restore lists.
    assert_eq!(run(dir, &["restore", "f.json"]).ok().stdout_str(), listing);

    let out = run(dir, &["restore", "--list", "--json", "f.json"]);
    let rows = out.ok().json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // Newest first.
    let listed: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut newest_first = names.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    for r in rows {
        assert_eq!(r["size"], version(0).len());
        assert_eq!(r["valid"], true);
        assert!(r["time"].as_str().unwrap().ends_with('Z'));
    }

    // A file without backups: nothing listed, said on stderr, still exit 0.
    fs::write(dir.join("g.json"), "{}").unwrap();
    let out = run(dir, &["restore", "--list", "g.json"]);
    assert_eq!(out.ok().stdout_str(), "");
    out.stderr_has("no backups");
    let out = run(dir, &["restore", "--list", "--json", "g.json"]);
    assert_eq!(out.ok().json(), serde_json::json!([]));
}

#[test]
fn restore_from_brings_one_back_exactly_through_the_write_core() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    // A version in an unusual style must come back byte for byte.
    fs::write(&file, "{\"version\":0,  \"odd\" :[1.50]}").unwrap();
    for i in 1..3 {
        let json = format!("{{\"version\": {i}}}");
        run(dir, &["write", "--indent", "2", "f.json", &json]).ok();
    }
    let first = backups(dir, "f.json")[0].clone();
    let name = first.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(text(&first), "{\"version\":0,  \"odd\" :[1.50]}");

    let out = run(dir, &["restore", "f.json", "--from", &name]);
    out.ok().stderr_has(&name);
    assert_eq!(text(&file), "{\"version\":0,  \"odd\" :[1.50]}");
    // The version it replaced became a backup, and the journal says restore.
    // (--indent changed the layout, not the missing final newline.)
    assert_eq!(backup_texts(dir).last().unwrap(), "{\n  \"version\": 2\n}");
    let j = journal_lines(dir);
    assert_eq!(j.last().unwrap()["op"], "restore");

    // Restoring what is already there writes nothing.
    let count = backups(dir, "f.json").len();
    run(dir, &["restore", "f.json", "--from", &name]).ok();
    assert_eq!(backups(dir, "f.json").len(), count);
    assert_eq!(journal_lines(dir).len(), j.len());
}

#[test]
fn restore_latest_skips_a_corrupt_newer_backup() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    write_versions(dir, 4, &[]);
    let bks = backups(dir, "f.json");
    let newest = bks.last().unwrap();
    let newest_name = newest.file_name().unwrap().to_str().unwrap().to_owned();
    // Backups are hard links of old versions: replace the file, do not write
    // through the link.
    fs::remove_file(newest).unwrap();
    fs::write(newest, "{\"version\": 2, \"trunc").unwrap();

    let out = run(dir, &["restore", "--list", "f.json"]);
    let listing = out.ok().stdout_str();
    let line = listing
        .lines()
        .find(|l| l.starts_with(&newest_name))
        .unwrap();
    assert!(line.contains("INVALID"), "{line}");
    let rows = run(dir, &["restore", "--list", "--json", "f.json"]).json();
    assert_eq!(rows[0]["name"], newest_name.as_str());
    assert_eq!(rows[0]["valid"], false);
    assert_eq!(rows[1]["valid"], true);

    run(dir, &["restore", "--latest", "f.json"]).ok();
    assert_eq!(text(&file), version(1));
    // The corrupt backup itself cannot be restored by name.
    run(dir, &["restore", "f.json", "--from", &newest_name]).fails(5);
    assert_eq!(text(&file), version(1));
}

#[test]
fn restore_of_an_unknown_backup_or_without_backups_exits_6() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_versions(dir, 2, &[]);
    run(
        dir,
        &[
            "restore",
            "f.json",
            "--from",
            "20000101T000000.000000000Z.json",
        ],
    )
    .fails(6)
    .stderr_has("--list");
    run(dir, &["restore", "f.json", "--from", "../../f.json"]).fails(6);
    fs::write(dir.join("g.json"), "{}").unwrap();
    run(dir, &["restore", "g.json", "--latest"]).fails(6);
    assert_eq!(text(&dir.join("f.json")), version(1));
    assert_eq!(text(&dir.join("g.json")), "{}");
}

#[test]
fn restore_brings_back_a_deleted_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_versions(dir, 3, &[]);
    fs::remove_file(dir.join("f.json")).unwrap();
    run(dir, &["restore", "--latest", "f.json"]).ok();
    assert_eq!(text(&dir.join("f.json")), version(1));
}

#[test]
fn restore_over_a_corrupt_file_quarantines_it() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_versions(dir, 3, &[]);
    fs::remove_file(dir.join("f.json")).unwrap();
    fs::write(dir.join("f.json"), "{\"half\": tru").unwrap();
    let bks = backup_texts(dir);
    let out = run(dir, &["restore", "--latest", "f.json"]);
    out.ok().stderr_has("quarantine");
    assert_eq!(text(&dir.join("f.json")), version(1));
    let q = quarantined(dir);
    assert_eq!(q.len(), 1);
    assert_eq!(text(&q[0]), "{\"half\": tru");
    // The corrupt version is not a backup.
    assert_eq!(backup_texts(dir), bks);
}

#[test]
fn backups_of_different_files_stay_apart() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for i in 0..3 {
        run(dir, &["write", "a.json", &format!("[{i}]")]).ok();
        run(dir, &["write", "b.json", &format!("{{\"b\": {i}}}")]).ok();
    }
    assert_eq!(backups(dir, "a.json").len(), 2);
    assert_eq!(backups(dir, "b.json").len(), 2);
    for b in backups(dir, "a.json") {
        assert!(parse_file(&b).is_array());
    }
    run(dir, &["restore", "--latest", "a.json"]).ok();
    assert_eq!(parse_file(&dir.join("a.json")), serde_json::json!([1]));
    assert_eq!(parse_file(&dir.join("b.json")), serde_json::json!({"b": 2}));
}
