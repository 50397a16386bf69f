//! `jsafe rotate`: a JSON Lines log moves to LOG.1 under its lock, older
//! ones shift, a new empty log starts; appenders never lose a line.

use crate::common;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::*;

/// The lines of LOG and every LOG.N (oldest file first), parsed.
fn all_lines(d: &Path) -> Vec<serde_json::Value> {
    let mut rotated: Vec<(usize, String)> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| {
            let i = n.strip_prefix("log.jsonl.")?;
            let (i, gz) = match i.strip_suffix(".gz") {
                Some(i) => (i, true),
                None => (i, false),
            };
            let text = if gz {
                let mut s = String::new();
                flate2::read::GzDecoder::new(fs::File::open(d.join(&n)).unwrap())
                    .read_to_string(&mut s)
                    .unwrap();
                s
            } else {
                text(&d.join(&n))
            };
            Some((i.parse().unwrap(), text))
        })
        .collect();
    rotated.sort_by_key(|b| std::cmp::Reverse(b.0));
    let mut texts: Vec<String> = rotated.into_iter().map(|(_, t)| t).collect();
    texts.push(text(&d.join("log.jsonl")));
    texts
        .iter()
        .flat_map(|t| {
            assert!(t.is_empty() || t.ends_with('\n'), "torn: {t:?}");
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn rotating_under_four_appenders_loses_no_line() {
    const WRITERS: usize = 4;
    const EACH: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let done = Arc::new(AtomicBool::new(false));
    let rotator = {
        let (d, done) = (d.clone(), done.clone());
        thread::spawn(move || {
            let mut rotations = 0;
            // Until the writers are done and something was rotated (after
            // they are done, one more rotation moves what is left).
            while !done.load(Ordering::SeqCst) || !d.join("log.jsonl.1").exists() {
                run(&d, &["rotate", "log.jsonl", "--keep", "10000"]).ok();
                rotations += 1;
            }
            rotations
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let d = d.clone();
            thread::spawn(move || {
                for i in 0..EACH {
                    let line = format!("{{\"w\": {w}, \"i\": {i}}}");
                    run(&d, &["append", "log.jsonl", &line]).ok();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let rotations = rotator.join().unwrap();
    assert!(rotations >= 1);
    let lines = all_lines(&d);
    assert_eq!(lines.len(), WRITERS * EACH, "lines lost or doubled");
    // Every writer's lines, in its own order, across the files.
    let mut next: HashMap<u64, u64> = HashMap::new();
    for l in &lines {
        let (w, i) = (l["w"].as_u64().unwrap(), l["i"].as_u64().unwrap());
        let expected = next.entry(w).or_insert(0);
        assert_eq!(i, *expected, "writer {w} out of order");
        *expected += 1;
    }
}

#[test]
fn keep_shifts_and_drops_the_oldest_and_compress_gzips() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for r in 0..4 {
        run(d, &["append", "log.jsonl", &format!("{{\"r\": {r}}}")]).ok();
        run(d, &["rotate", "log.jsonl", "--keep", "2", "--compress"]).ok();
    }
    let names: Vec<String> = names_in(d)
        .into_iter()
        .filter(|n| n.starts_with("log"))
        .collect();
    assert_eq!(names, ["log.jsonl", "log.jsonl.1.gz", "log.jsonl.2.gz"]);
    assert_eq!(text(&d.join("log.jsonl")), "");
    let rs: Vec<u64> = all_lines(d)
        .iter()
        .map(|l| l["r"].as_u64().unwrap())
        .collect();
    assert_eq!(rs, [2, 3]);
    // An empty log is left alone; --keep 0 empties it.
    run(d, &["rotate", "log.jsonl", "--keep", "2"]).ok();
    assert!(!d.join("log.jsonl.3.gz").exists() && d.join("log.jsonl.2.gz").exists());
    run(d, &["append", "log.jsonl", "{\"r\": 9}"]).ok();
    run(d, &["rotate", "log.jsonl", "--keep", "0"]).ok();
    assert_eq!(text(&d.join("log.jsonl")), "");
}

#[test]
fn max_size_rotates_only_a_big_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["append", "log.jsonl", "{\"a\": 1}"]).ok();
    run(d, &["rotate", "log.jsonl", "--max-size", "1K"]).ok();
    assert!(!d.join("log.jsonl.1").exists());
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(2000));
    run(d, &["append", "log.jsonl", &big]).ok();
    run(d, &["rotate", "log.jsonl", "--max-size", "1K"]).ok();
    assert!(d.join("log.jsonl.1").exists());
    assert_eq!(text(&d.join("log.jsonl")), "");
}

#[test]
fn a_json_document_is_refused_and_a_missing_log_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{}\n").unwrap();
    run(d, &["rotate", "f.json"]).fails(2);
    assert_eq!(text(&d.join("f.json")), "{}\n");
    run(d, &["rotate", "none.jsonl"]).ok();
    assert_eq!(names_in(d), ["f.json"]);
}
