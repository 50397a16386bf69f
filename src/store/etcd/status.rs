//! What `status` reports for an etcd key or prefix: the documents, their
//! last operation, held locks with their holders and lease time left, and
//! the cluster's members, leader and health (each member asked directly).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value as J, json};

use super::client::{Client, Kv, int, kvs, prefix_end};
use super::{RESERVED, Url, b64, connect, deadline};
use crate::error::Result;

/// One document under the prefix.
#[derive(Debug)]
pub(crate) struct Doc {
    /// Its key.
    pub key: String,
    /// Size in bytes.
    pub size: usize,
    /// Revision of its last change.
    pub mod_revision: i64,
    /// Valid JSON.
    pub valid: bool,
    /// The newest journal record (op, time, user, host), if any.
    pub last: Option<J>,
    /// Its attached schema: None without one; Err says why the document
    /// does not match it (or why it cannot be checked).
    pub schema: Option<std::result::Result<(), String>>,
}

/// One held lock.
#[derive(Debug)]
pub(crate) struct HeldLock {
    /// The document it locks.
    pub key: String,
    /// The holder record.
    pub holder: J,
    /// Seconds of lease left (None: unknown).
    pub ttl_left: Option<i64>,
}

/// One member.
#[derive(Debug)]
pub(crate) struct Member {
    /// Its name.
    pub name: String,
    /// Its client URL (host:port).
    pub endpoint: String,
    /// Its answer to a status request, or why there was none.
    pub status: std::result::Result<J, String>,
    /// Its member id.
    pub id: String,
}

/// Everything `status` shows.
#[derive(Debug)]
pub(crate) struct Report {
    /// Documents.
    pub docs: Vec<Doc>,
    /// Locks.
    pub locks: Vec<HeldLock>,
    /// Members (from the member list, or the URL's hosts if none answered).
    pub members: Vec<Member>,
    /// The leader's member id, if any member named one.
    pub leader: Option<String>,
    /// What could not be read (the documents or locks, when no member
    /// served the reads within the timeout).
    // Not shown by `jsafe status` yet, which should say what it could not
    // read rather than show an empty list; kept for that.
    #[allow(dead_code)]
    pub unread: Vec<String>,
}

/// Each document read (`v`): its size, validity, schema check and last
/// journal record.
fn read_docs(client: &mut Client, v: &J, schemas: &[Kv], until: Instant) -> Vec<Doc> {
    let mut docs = Vec::new();
    for kv in kvs(v) {
        let key = String::from_utf8_lossy(&kv.key).into_owned();
        if key.starts_with(RESERVED) {
            continue;
        }
        let journal = format!("/.jsafe/journal{key}/");
        let last = client
            .read(
                "/v3/kv/range",
                &json!({"key": b64(&journal), "range_end": b64(prefix_end(journal.as_bytes())),
                        "sort_order": "DESCEND", "sort_target": "KEY", "limit": "1"}),
                until,
            )
            .ok()
            .and_then(|v| kvs(&v).into_iter().next())
            .and_then(|kv| serde_json::from_slice::<J>(&kv.value).ok());
        let schema_key = format!("/.jsafe/schemas{key}");
        let schema = schemas
            .iter()
            .find(|s| s.key == schema_key.as_bytes())
            .map(|s| {
                let compiled = crate::store::Schema::compile(&s.value)
                    .map_err(|why| format!("its attached schema cannot be checked: {why}"))?;
                compiled
                    .check(&kv.value, crate::store::Format::Document)
                    .map_err(|why| format!("does not match its schema {why}"))
            });
        docs.push(Doc {
            schema,
            size: kv.value.len(),
            mod_revision: kv.mod_revision,
            valid: crate::json::validate(&kv.value).is_ok(),
            key,
            last,
        });
    }
    docs
}

/// The locks held under the key or prefix, with their leases' time left.
fn read_locks(
    client: &mut Client,
    url: &Url,
    prefix: bool,
    unread: &mut Vec<String>,
    (reads_until, until): (Instant, Instant),
) -> Vec<HeldLock> {
    let lock_prefix = format!("/.jsafe/locks{}", url.key);
    let lock_range = key_range(&lock_prefix, prefix);
    let v = if unread.is_empty() {
        client
            .read("/v3/kv/range", &lock_range, reads_until)
            .unwrap_or_else(|e| {
                unread.push(format!("locks not read: {}", e.describe()));
                J::Null
            })
    } else {
        J::Null
    };
    let mut locks = Vec::new();
    for kv in kvs(&v) {
        let ttl_left = client
            .read(
                "/v3/lease/timetolive",
                &json!({"ID": kv.lease.to_string()}),
                until,
            )
            .ok()
            .map(|t| int(&t, "TTL"));
        let key = String::from_utf8_lossy(&kv.key);
        locks.push(HeldLock {
            key: key.trim_start_matches("/.jsafe/locks").to_owned(),
            holder: serde_json::from_slice(&kv.value).unwrap_or(J::Null),
            ttl_left,
        });
    }
    locks
}

/// The cluster's members, each asked directly with a short limit.
fn read_members(client: &mut Client, url: &Url, timeout: Duration, until: Instant) -> Vec<Member> {
    // Members: the cluster's list, each asked directly with a short limit.
    let per_member = Instant::now() + timeout.min(Duration::from_secs(3));
    let listed = client
        .read(
            "/v3/cluster/member/list",
            &json!({}),
            until.min(Instant::now() + timeout / 4),
        )
        .ok();
    let mut members = Vec::new();
    let list = listed
        .as_ref()
        .and_then(|l| l.get("members"))
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        for h in &url.hosts {
            members.push(Member {
                name: String::new(),
                endpoint: h.clone(),
                status: Err("not in a member list".into()),
                id: String::new(),
            });
        }
    }
    for m in &list {
        let endpoint = m
            .get("clientURLs")
            .and_then(J::as_array)
            .and_then(|u| u.first())
            .and_then(J::as_str)
            .map(|u| {
                u.trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .to_owned()
            })
            .unwrap_or_default();
        let id = m
            .get("ID")
            .map(|i| i.to_string().trim_matches('"').to_owned())
            .unwrap_or_default();
        let status = if endpoint.is_empty() {
            Err("no client URL (not started)".to_owned())
        } else {
            client
                .call_member(&endpoint, "/v3/maintenance/status", &json!({}), per_member)
                .map_err(|e| e.describe())
        };
        members.push(Member {
            name: m.get("name").and_then(J::as_str).unwrap_or("").to_owned(),
            endpoint,
            status,
            id,
        });
    }
    members
}

/// A range read of `key`, or of every key under it when it is a `prefix`.
fn key_range(key: &str, prefix: bool) -> J {
    if prefix {
        json!({"key": b64(key), "range_end": b64(prefix_end(key.as_bytes()))})
    } else {
        json!({"key": b64(key)})
    }
}

/// Gather the report for `file` (a key, or a prefix ending in `/`).
pub(crate) fn report(file: &Path, timeout: Duration) -> Result<Report> {
    let url = Url::parse_prefix(file)?;
    let mut client = connect(&url, file)?;
    let until = deadline(timeout);
    let mut unread = Vec::new();
    let prefix = url.key.ends_with('/');
    let data = key_range(&url.key, prefix);
    // Reads get part of the time: the members are asked in any case.
    let reads_until = Instant::now() + timeout / 2;
    let v = client
        .read("/v3/kv/range", &data, reads_until)
        .unwrap_or_else(|e| {
            unread.push(format!("documents not read: {}", e.describe()));
            J::Null
        });
    // The schemas attached under the same key or prefix, in one read.
    let schema_base = format!("/.jsafe/schemas{}", url.key);
    let schema_range = key_range(&schema_base, prefix);
    let schemas: Vec<_> = if unread.is_empty() {
        client
            .read("/v3/kv/range", &schema_range, reads_until)
            .map(|v| kvs(&v))
            .unwrap_or_else(|e| {
                unread.push(format!("schemas not read: {}", e.describe()));
                Vec::new()
            })
    } else {
        Vec::new()
    };
    let docs = read_docs(&mut client, &v, &schemas, until);
    let locks = read_locks(&mut client, &url, prefix, &mut unread, (reads_until, until));
    let members = read_members(&mut client, &url, timeout, until);
    let leader = members
        .iter()
        .filter_map(|m| m.status.as_ref().ok())
        .filter_map(|s| s.get("leader"))
        .map(|l| l.to_string().trim_matches('"').to_owned())
        .find(|l| l != "0");
    Ok(Report {
        docs,
        locks,
        members,
        leader,
        unread,
    })
}
