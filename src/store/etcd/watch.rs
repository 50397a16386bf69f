//! Watching an etcd key: every version after the one first read, in order,
//! from whichever member answers. The stream resumes after a reconnect from
//! the revision after the last one seen, so no version is missed across a
//! member failure or a leader change; if the cluster compacted that history
//! meanwhile, the current version is reported instead (and says so).
//!
//! A JSON Lines log (`*.jsonl`, one key per line under `/KEY/`) is watched
//! as the prefix: each line is reported once, when its key is created, in
//! commit order; a resend of the same line (same key) is not a new line.
//! After a compaction the lines created since the resume point are still
//! keys, so they are read back and none is missed.

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value as J, json};

use super::client::{Client, int, jitter, kvs, prefix_end};
use super::http::Conn;
use super::{Url, b64, connect, deadline};
use crate::error::{Error, Kind, Result};

/// What the watch saw.
// The revisions of versions, deletions and lines are read by nothing (the
// watch keeps its own resume point). Removing them means changing the
// commands' match arms (src/commands/watch.rs), left to that module's next
// change.
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) enum Seen {
    /// A new version (its bytes and revision).
    Version(Vec<u8>, i64),
    /// The key was deleted.
    Deleted(i64),
    /// History was compacted past the resume point: the current version,
    /// versions in between are gone.
    Compacted(Option<Vec<u8>>, i64),
    /// New lines of a log, in commit order (and the revision seen).
    Lines(Vec<Vec<u8>>, i64),
    /// Nothing before the deadline.
    TimedOut,
}

/// A watch on one key.
pub(crate) struct Watcher {
    url: Url,
    client: Client,
    at: usize,
    conn: Option<Conn>,
    buf: Vec<u8>,
    next_rev: i64,
    pending: VecDeque<Seen>,
    /// Watching a log's line keys (the prefix `/KEY/`), not one key.
    lines: bool,
}

impl Watcher {
    /// Read the current value (None: missing) and start watching after it.
    pub(crate) fn start(file: &Path, timeout: Duration) -> Result<(Watcher, Option<Vec<u8>>)> {
        let url = Url::parse(file)?;
        let mut client = connect(&url, file)?;
        let (value, rev) = current(&mut client, &url, deadline(timeout))
            .map_err(|why| Error::new(Kind::Io, format!("{}: {why}", file.display())))?;
        Ok((Watcher::after(url, client, rev, false), value))
    }

    /// A watcher of `url` for the revisions after `rev`.
    fn after(url: Url, client: Client, rev: i64, lines: bool) -> Watcher {
        Watcher {
            url,
            client,
            at: 0,
            conn: None,
            buf: Vec::new(),
            next_rev: rev + 1,
            pending: VecDeque::new(),
            lines,
        }
    }

    /// Read a log's lines now and start watching for new ones after them.
    pub(crate) fn start_lines(file: &Path, timeout: Duration) -> Result<(Watcher, Vec<Vec<u8>>)> {
        let url = Url::parse(file)?;
        let mut client = connect(&url, file)?;
        let (lines, rev) = lines_since(&mut client, &url, 0, deadline(timeout))
            .map_err(|why| Error::new(Kind::Io, format!("{}: {why}", file.display())))?;
        Ok((Watcher::after(url, client, rev, true), lines))
    }

    /// The next event, waiting until `until` (None: for ever).
    pub(crate) fn next(&mut self, until: Option<Instant>) -> Seen {
        loop {
            if let Some(s) = self.pending.pop_front() {
                return s;
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                return Seen::TimedOut;
            }
            // Reads wait at most a minute before the stream is renewed.
            let read_until = until.unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
            if self.conn.is_none() && !self.open(read_until) {
                let pause = Duration::from_millis(100 + jitter(200));
                let left = read_until.saturating_duration_since(Instant::now());
                std::thread::sleep(pause.min(left));
                continue;
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match conn.chunk(read_until) {
                Ok(Some(c)) => self.buf.extend_from_slice(&c),
                Ok(None) | Err(_) => {
                    // Ended, timed out or broken: resume from the next
                    // revision, on the next member if this one failed.
                    self.conn = None;
                    self.buf.clear();
                    if until.is_none_or(|u| Instant::now() < u) {
                        self.at += 1;
                    }
                    continue;
                }
            }
            while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                if let Ok(v) = serde_json::from_slice::<J>(&line) {
                    self.take(&v, read_until);
                }
            }
        }
    }

    fn open(&mut self, until: Instant) -> bool {
        let hosts = self.client.hosts().to_vec();
        let Some(host) = hosts.get(self.at % hosts.len().max(1)) else {
            return false;
        };
        let Ok(mut conn) = Conn::open(host, until) else {
            self.at += 1;
            return false;
        };
        let body = if self.lines {
            let p = super::lines::prefix(&self.url);
            json!({"create_request": {
                "key": b64(&p),
                "range_end": b64(prefix_end(p.as_bytes())),
                "start_revision": self.next_rev.to_string(),
            }})
        } else {
            json!({"create_request": {
                "key": b64(&self.url.key),
                "start_revision": self.next_rev.to_string(),
            }})
        };
        let token = self.client.login(&mut conn, until);
        match conn.post_stream(
            "/v3/watch",
            body.to_string().as_bytes(),
            token.as_deref(),
            until,
        ) {
            Ok(200) => {
                self.conn = Some(conn);
                true
            }
            _ => {
                self.at += 1;
                false
            }
        }
    }

    fn take(&mut self, v: &J, until: Instant) {
        let r = v.get("result").unwrap_or(v);
        let compacted = int(r, "compact_revision");
        if compacted > 0 && self.lines {
            self.conn = None;
            self.buf.clear();
            // The lines themselves are keys: those created since the resume
            // point are all still there.
            if let Ok((lines, rev)) = lines_since(&mut self.client, &self.url, self.next_rev, until)
            {
                self.next_rev = rev + 1;
                if !lines.is_empty() {
                    self.pending.push_back(Seen::Lines(lines, rev));
                }
            }
            return;
        }
        if compacted > 0 {
            self.conn = None;
            self.buf.clear();
            if let Ok((value, rev)) = current(&mut self.client, &self.url, until) {
                self.next_rev = rev + 1;
                self.pending.push_back(Seen::Compacted(value, rev));
            }
            return;
        }
        if r.get("canceled").and_then(J::as_bool) == Some(true) {
            self.conn = None;
            self.buf.clear();
            self.at += 1;
            return;
        }
        if self.lines {
            let mut new: Vec<(i64, Vec<u8>, Vec<u8>)> = Vec::new();
            let mut last = 0;
            for e in r.get("events").and_then(J::as_array).into_iter().flatten() {
                let Some(kv) = e.get("kv") else { continue };
                let rev = int(kv, "mod_revision");
                if rev < self.next_rev {
                    continue;
                }
                last = last.max(rev);
                // A line is new when its key is created; a resend of the
                // same append rewrites the same key and is not.
                if e.get("type").and_then(J::as_str) == Some("DELETE")
                    || int(kv, "create_revision") != rev
                {
                    continue;
                }
                let field = |f: &str| {
                    kv.get(f)
                        .and_then(J::as_str)
                        .and_then(super::base64::decode)
                        .unwrap_or_default()
                };
                new.push((rev, field("key"), field("value")));
            }
            if last > 0 {
                self.next_rev = last + 1;
            }
            new.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            if !new.is_empty() {
                self.pending
                    .push_back(Seen::Lines(new.into_iter().map(|n| n.2).collect(), last));
            }
            return;
        }
        for e in r.get("events").and_then(J::as_array).into_iter().flatten() {
            let Some(kv) = e.get("kv") else { continue };
            let rev = int(kv, "mod_revision");
            if rev < self.next_rev {
                continue;
            }
            self.next_rev = rev + 1;
            if e.get("type").and_then(J::as_str) == Some("DELETE") {
                self.pending.push_back(Seen::Deleted(rev));
            } else {
                let value = kv
                    .get("value")
                    .and_then(J::as_str)
                    .and_then(super::base64::decode)
                    .unwrap_or_default();
                self.pending.push_back(Seen::Version(value, rev));
            }
        }
    }
}

/// A log's lines created at or after revision `from`, in commit order, and
/// the revision they were read at.
fn lines_since(
    client: &mut Client,
    url: &Url,
    from: i64,
    until: Instant,
) -> std::result::Result<(Vec<Vec<u8>>, i64), String> {
    let p = super::lines::prefix(url);
    let v = client
        .read(
            "/v3/kv/range",
            &json!({"key": b64(&p), "range_end": b64(prefix_end(p.as_bytes()))}),
            until,
        )
        .map_err(|e| e.describe())?;
    let rev = v.get("header").map_or(0, |h| int(h, "revision"));
    let mut lines: Vec<_> = kvs(&v)
        .into_iter()
        .filter(|kv| kv.create_revision >= from)
        .collect();
    lines.sort_by(|a, b| (a.create_revision, &a.key).cmp(&(b.create_revision, &b.key)));
    Ok((lines.into_iter().map(|kv| kv.value).collect(), rev))
}

/// The current value and the revision it was read at.
fn current(
    client: &mut Client,
    url: &Url,
    until: Instant,
) -> std::result::Result<(Option<Vec<u8>>, i64), String> {
    let v = client
        .read("/v3/kv/range", &json!({"key": b64(&url.key)}), until)
        .map_err(|e| e.describe())?;
    let rev = v.get("header").map_or(0, |h| int(h, "revision"));
    Ok((kvs(&v).into_iter().next().map(|kv| kv.value), rev))
}
