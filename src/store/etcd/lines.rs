//! JSON Lines logs on etcd (`*.jsonl`, `*.ndjson` keys): one etcd key per
//! line, `<KEY>/<operation id>-<n>`, so an append is one small put whatever
//! the log's length (never a rewrite of one growing value). Lines are read
//! back in commit order: by create revision, then by key within one commit.
//!
//! An append writes only new keys, so sending it again is harmless (the same
//! keys get the same values): a request without an answer is simply sent
//! again until one comes, or exit 8 at the deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value as J, json};

use super::client::{CallError, Client, Kv, jitter, kvs};
use super::{
    OVERHEAD, Url, b64, connect, deadline, held_lease, lock, max_request, operation_id, range,
    range_prefix, response_kvs, succeeded, unchanged_error,
};
use crate::error::{Error, Kind, Result, Untouched};
use crate::store::{Options, Outcome};

/// The prefix under which a log's lines are kept.
pub(crate) fn prefix(url: &Url) -> String {
    format!("{}/", url.key)
}

/// The whole log, one line per key, in commit order.
pub(crate) fn load(
    client: &mut super::client::Client,
    url: &Url,
    until: Instant,
) -> std::result::Result<Option<Vec<u8>>, CallError> {
    let p = prefix(url);
    let v = client.read(
        "/v3/kv/txn",
        &json!({"success": [range_prefix(&p, false)]}),
        until,
    )?;
    let lines: Vec<Kv> = response_kvs(&v, 0);
    if lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(join(lines)))
}

/// A log's line keys as its text, in commit order.
pub(crate) fn join(mut lines: Vec<Kv>) -> Vec<u8> {
    lines.sort_by(|a, b| (a.create_revision, &a.key).cmp(&(b.create_revision, &b.key)));
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(&l.value);
        out.push(b'\n');
    }
    out
}

/// Append `lines` (compact JSON values) as new keys, in one transaction.
pub(crate) fn append(file: &Path, opts: &Options, lines: &[Vec<u8>]) -> Result<Outcome> {
    let url = Url::parse(file)?;
    let until = deadline(opts.timeout);
    let mut outcome = Outcome::default();
    if lines.is_empty() {
        return Ok(outcome);
    }
    let total = check_lines(file, opts, lines)?;
    let mut client = connect(&url, file)?;
    // The attached schema applies to each line; the commit compares that it
    // is still the one checked.
    let schema = client
        .read("/v3/kv/range", &json!({"key": b64(url.schema())}), until)
        .map_err(|e| unchanged_error(file, &e))?;
    let schema = kvs(&schema).into_iter().next();
    for l in lines {
        super::check_schema(
            file,
            &url,
            schema.as_ref(),
            l,
            crate::store::Format::Document,
        )?;
    }
    let schema_seen = schema.as_ref().map_or(0, |kv| kv.mod_revision);
    let held = held_lease(&url);
    let txn = append_txn(&url, lines, schema_seen, held);
    send(
        &mut client,
        &url,
        file,
        opts,
        &txn,
        (schema_seen, held),
        until,
    )?;
    outcome.changed = true;
    outcome.bytes_after = (total + lines.len()) as u64;
    Ok(outcome)
}

/// Each line one compact JSON value that passes the caller's check, all of
/// them within one request; returns their bytes.
fn check_lines(file: &Path, opts: &Options, lines: &[Vec<u8>]) -> Result<usize> {
    for (i, l) in lines.iter().enumerate() {
        if l.contains(&b'\n') || crate::json::validate(l).is_err() {
            return Err(Error::bad_input(format!(
                "{}: value {} to append is not one compact JSON value",
                file.display(),
                i + 1
            ))
            .unchanged(Untouched::Appended));
        }
        if let Some(check) = opts.check {
            check(l)?;
        }
    }
    let total: usize = lines.iter().map(Vec::len).sum();
    let limit = max_request();
    if total + OVERHEAD + 128 * lines.len() > limit {
        return Err(Error::bad_input(format!(
            "{}: {total} bytes to append in one request, and etcd accepts requests up to {limit} bytes (its --max-request-bytes)",
            file.display()
        ))
        .unchanged(Untouched::Appended));
    }
    Ok(total)
}

/// One put per line under a new operation id, compared on the lock (ours, or
/// nobody's) and the schema's revision; on failure, both are read back.
fn append_txn(url: &Url, lines: &[Vec<u8>], schema_seen: i64, held: Option<i64>) -> J {
    let id = operation_id();
    let p = prefix(url);
    let puts: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"request_put": {"key": b64(format!("{p}{id}-{i:06}")), "value": b64(l)}}))
        .collect();
    let schema_compare = json!({"target": "MOD", "key": b64(url.schema()), "mod_revision": schema_seen.to_string(), "result": "EQUAL"});
    let compare = match held {
        Some(lease) => {
            json!([{"target": "LEASE", "key": b64(url.lock()), "lease": lease.to_string(), "result": "EQUAL"}, schema_compare])
        }
        None => {
            json!([{"target": "CREATE", "key": b64(url.lock()), "create_revision": "0", "result": "EQUAL"}, schema_compare])
        }
    };
    json!({"compare": compare, "success": puts, "failure": [range(&url.lock()), range(&url.schema())]})
}

/// The schema was attached or detached while appending: refused, or (once
/// the append was `sent`) perhaps in place.
fn schema_changed(file: &Path, sent: bool) -> Error {
    if sent {
        Error::new(
            Kind::NotDurable,
            format!(
                "{}: the append was sent, and its schema changed before it was confirmed; it may be in place (check with `jsafe read {0}`)",
                file.display()
            ),
        )
    } else {
        Error::new(
            Kind::LockTimeout,
            format!(
                "{}: its schema was attached or detached while appending",
                file.display()
            ),
        )
        .unchanged(Untouched::Appended)
        .then(" (run it again)")
    }
}

/// Send the append's transaction until it is applied: waiting for another
/// holder's lock, resending after an unanswered request, refusing when the
/// schema changed or the lock handed down is gone.
fn send(
    client: &mut Client,
    url: &Url,
    file: &Path,
    opts: &Options,
    txn: &J,
    (schema_seen, held): (i64, Option<i64>),
    until: Instant,
) -> Result<()> {
    let mut sent = false;
    loop {
        match client.write("/v3/kv/txn", txn, until) {
            Ok(v) if succeeded(&v) => return Ok(()),
            Ok(v) => {
                let schema_now = response_kvs(&v, 1).first().map_or(0, |kv| kv.mod_revision);
                if schema_now != schema_seen {
                    return Err(schema_changed(file, sent));
                }
                let Some(other) = response_kvs(&v, 0).into_iter().next() else {
                    continue;
                };
                if held.is_some() {
                    return Err(Error::new(
                        Kind::LockTimeout,
                        format!(
                            "{}: the lock this command was given is no longer held (its lease expired)",
                            file.display()
                        ),
                    )
                    .unchanged(Untouched::Appended));
                }
                if let Some(f) = opts.on_wait {
                    f(&lock::describe(&other.value));
                }
                match lock::wait_released(client, url, &other, until) {
                    Ok(()) => {}
                    Err(None) if !sent => {
                        return Err(Error::new(
                            Kind::LockTimeout,
                            format!(
                                "{}: locked by {} for longer than --timeout",
                                file.display(),
                                lock::describe(&other.value)
                            ),
                        )
                        .unchanged(Untouched::Appended));
                    }
                    Err(_) => {}
                }
            }
            Err(e) if !sent && e.certainly_not_applied() => return Err(unchanged_error(file, &e)),
            Err(_) => {
                sent = true;
                if Instant::now() >= until {
                    return Err(Error::new(
                        Kind::NotDurable,
                        format!(
                            "{}: the append was sent but no etcd member confirmed it within --timeout; it may be in place (check with `jsafe read {0}`)",
                            file.display()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(20 + jitter(30)));
            }
        }
        if Instant::now() >= until && sent {
            return Err(Error::new(
                Kind::NotDurable,
                format!(
                    "{}: the append was sent but no etcd member confirmed it within --timeout; it may be in place",
                    file.display()
                ),
            ));
        }
    }
}
