//! The etcd backend: a FILE of the form `etcd://HOST:PORT[,HOST:PORT…]/KEY`
//! names the document stored under the etcd key `/KEY`, byte for byte (so
//! `etcdctl get /KEY` reads the same JSON).
//!
//! Promises, as for a local file:
//! - **Isolated without a lock server**: a change reads the value and its
//!   `mod_revision`, applies the change, and commits with
//!   `txn(compare mod_revision == seen) put`; on a conflict it reads again
//!   and applies the change again (jittered back-off, within `--timeout`).
//! - **Backups and journal in the same transaction**: the replaced version
//!   goes under `/.jsafe/backups<KEY>/<its mod_revision>`, the journal
//!   record under `/.jsafe/journal<KEY>/<operation id>`; keys, not MVCC
//!   history, so restore works after the cluster compacts.
//! - **Truthful outcomes**: a commit that got no answer is resolved before
//!   answering. Its operation id (the journal key) is read back: present,
//!   it committed; absent while the value moved on, it never can (its
//!   compare fails for ever); absent while the value is unchanged, the same
//!   transaction is sent again (the compare lets at most one copy apply).
//!   Exit 8 only when no answer comes within `--timeout`; exit 7 when no
//!   member received anything.
//! - **Fenced locks**: `jsafe lock` holds `/.jsafe/locks<KEY>` under a
//!   lease. A change made under it compares that the lock key still has the
//!   lease ([`HELD_ENV`]); any other change compares that there is no lock
//!   key, and waits while there is one.
//!
//! Nothing here is reached by a local path: a local command never pays for
//! this module at start-up.

mod base64;
pub(crate) mod client;
mod http;
pub(crate) mod lines;
pub(crate) mod lock;
pub(crate) mod status;
mod tls;
pub(crate) mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value as J, json};

use self::client::{CallError, Client, Kv, jitter, kvs, prefix_end};
use super::{Change, Current, OnCorrupt, Options, Outcome};
use crate::error::{Error, Kind, Result, Untouched};
use crate::json;
use crate::{process, time};

/// Where jsafe keeps what belongs to a key (backups, journal, locks,
/// quarantine). Keys under it are refused as documents.
pub(crate) const RESERVED: &str = "/.jsafe/";

/// The environment variable naming the etcd locks a `jsafe lock` hands to
/// CMD: lines of `<lease id> <etcd URL>`.
pub(crate) const HELD_ENV: &str = "JSAFE_ETCD_LOCK";

/// etcd's default `--max-request-bytes` (1.5 MiB); `JSAFE_ETCD_MAX_REQUEST_BYTES`
/// for a cluster that raised it.
pub(crate) const DEFAULT_MAX_REQUEST: usize = 1536 * 1024;

/// Room kept in a request for its keys, the journal record and framing.
const OVERHEAD: usize = 4096;

/// Journal records kept per key (`JSAFE_ETCD_JOURNAL_KEEP`): older ones are
/// deleted by later changes, once also older than [`journal_min_age`].
const JOURNAL_KEEP: i64 = 1000;

/// Oldest journal records looked at (and at most deleted) per change: one
/// change adds one record and may delete this many, so trimming catches up
/// (net 3 per change) while each snapshot read carries only a few key names.
const JOURNAL_TRIM_BATCH: i64 = 4;

/// Journal records younger than this are never deleted
/// (`JSAFE_ETCD_JOURNAL_MIN_AGE`, seconds; default one day): a record is the
/// operation id an unanswered commit is resolved by, and must outlive any
/// writer still resolving it. A writer whose resolution runs past half of
/// it answers exit 8 instead of reading the record's absence as "not
/// applied" (half: room for clock skew between machines, as the age is read
/// from the id's wall-clock time).
fn journal_min_age() -> Duration {
    std::env::var("JSAFE_ETCD_JOURNAL_MIN_AGE")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(86400), Duration::from_secs)
}

fn journal_keep() -> i64 {
    std::env::var("JSAFE_ETCD_JOURNAL_KEEP")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(JOURNAL_KEEP, |n| n.max(1))
}

/// The journal records of a change's snapshot that it deletes: beyond the
/// newest `keep` and older than `min_age` (by the time in their id).
fn journal_trim(oldest: &[Kv], count: i64, prefix: &str) -> Vec<Vec<u8>> {
    let surplus = usize::try_from(count - journal_keep()).unwrap_or(0);
    let min_age = journal_min_age();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    oldest
        .iter()
        .take(surplus)
        .filter(|kv| {
            let id = kv.key.get(prefix.len()..).unwrap_or_default();
            let made = std::str::from_utf8(id.get(..20).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<u128>().ok());
            made.is_some_and(|t| now.saturating_sub(t) >= min_age.as_nanos())
        })
        .map(|kv| kv.key.clone())
        .collect()
}

/// A parsed `etcd://` FILE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// The members, "host:port".
    pub hosts: Vec<String>,
    /// The key, leading slash included.
    pub key: String,
    /// `etcds://`: TLS to every member.
    pub tls: bool,
}

impl Url {
    /// Parse `etcd://HOST:PORT[,HOST:PORT…]/KEY`.
    pub(crate) fn parse(file: &Path) -> Result<Url> {
        Url::parse_as(file, false)
    }

    /// Parse a URL naming a key or a prefix (`status`): `/` alone is every key.
    pub(crate) fn parse_prefix(file: &Path) -> Result<Url> {
        Url::parse_as(file, true)
    }

    fn parse_as(file: &Path, prefix: bool) -> Result<Url> {
        let usage = |why: &str| {
            Error::new(
                Kind::Usage,
                format!(
                    "{}: {why} (the form is etcd://HOST:PORT[,HOST:PORT…]/KEY)",
                    file.display()
                ),
            )
        };
        let Some(text) = file.to_str() else {
            return Err(usage("not UTF-8"));
        };
        let (tls, rest) = match (text.strip_prefix("etcds://"), text.strip_prefix("etcd://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => return Err(usage("not an etcd URL")),
        };
        let (hosts, key) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => return Err(usage("no key")),
        };
        if key.len() < 2 && !prefix {
            return Err(usage("no key"));
        }
        if key.starts_with(RESERVED) || key == "/.jsafe" {
            return Err(usage(&format!("keys under {RESERVED} are jsafe's own")));
        }
        let hosts: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| {
                if h.rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    h.to_owned()
                } else {
                    format!("{h}:2379")
                }
            })
            .collect();
        if hosts.is_empty() {
            return Err(usage("no member named"));
        }
        Ok(Url {
            hosts,
            key: key.to_owned(),
            tls,
        })
    }

    fn under(&self, what: &str) -> String {
        format!("/.jsafe/{what}{}", self.key)
    }
    /// Prefix of the backup keys.
    pub(crate) fn backups(&self) -> String {
        self.under("backups") + "/"
    }
    /// Prefix of the journal keys.
    pub(crate) fn journal(&self) -> String {
        self.under("journal") + "/"
    }
    /// The lock key.
    pub(crate) fn lock(&self) -> String {
        self.under("locks")
    }
    /// Prefix of the quarantined versions.
    pub(crate) fn quarantine(&self) -> String {
        self.under("quarantine") + "/"
    }
    /// The key holding the schema attached to this key.
    pub(crate) fn schema(&self) -> String {
        self.under("schemas")
    }
}

/// A deadline `timeout` from now (a very long one for "for ever").
pub(crate) fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86400))
}

/// The client for a URL.
pub(crate) fn connect(url: &Url, file: &Path) -> Result<Client> {
    if url.tls {
        tls::enable().map_err(|why| {
            Error::new(Kind::Io, format!("{}: {why}", file.display())).unchanged(Untouched::Changed)
        })?;
    }
    Client::new(&url.hosts)
        .map_err(|why| Error::new(Kind::Io, format!("{}: {why}", file.display())))
}

/// The error for a call that failed before anything changed.
pub(crate) fn unchanged_error(file: &Path, e: &CallError) -> Error {
    Error::new(Kind::Io, format!("{}: {}", file.display(), e.describe()))
        .unchanged(Untouched::Changed)
}

fn b64(s: impl AsRef<[u8]>) -> String {
    base64::encode(s.as_ref())
}

fn range(key: &str) -> J {
    json!({"request_range": {"key": b64(key)}})
}

fn range_prefix(prefix: &str, keys_only: bool) -> J {
    json!({"request_range": {
        "key": b64(prefix),
        "range_end": b64(prefix_end(prefix.as_bytes())),
        "keys_only": keys_only,
    }})
}

/// The kvs of the n-th response of a txn answer.
fn response_kvs(v: &J, n: usize) -> Vec<Kv> {
    v.get("responses")
        .and_then(J::as_array)
        .and_then(|r| r.get(n))
        .and_then(|r| r.get("response_range"))
        .map(kvs)
        .unwrap_or_default()
}

fn succeeded(v: &J) -> bool {
    v.get("succeeded").and_then(J::as_bool).unwrap_or(false)
}

/// The lease of the etcd lock an enclosing `jsafe lock` holds on `url`.
pub(crate) fn held_lease(url: &Url) -> Option<i64> {
    let list = std::env::var(HELD_ENV).ok()?;
    list.lines().find_map(|line| {
        let (lease, file) = line.split_once(' ')?;
        let held = Url::parse(Path::new(file)).ok()?;
        (held.key == url.key).then(|| lease.parse().ok())?
    })
}

/// What is stored under a key, read without a lock.
pub(crate) fn load(file: &Path, timeout: Duration) -> Result<Current> {
    let url = Url::parse(file)?;
    let mut client = connect(&url, file)?;
    let fail = |e: CallError| Error::new(Kind::Io, format!("{}: {}", file.display(), e.describe()));
    if super::Format::of(file) == super::Format::Lines {
        let log = lines::load(&mut client, &url, deadline(timeout)).map_err(fail)?;
        return Ok(log.map_or(Current::Missing, Current::classify));
    }
    let v = client
        .read(
            "/v3/kv/range",
            &json!({"key": b64(&url.key)}),
            deadline(timeout),
        )
        .map_err(fail)?;
    Ok(match kvs(&v).into_iter().next() {
        None => Current::Missing,
        Some(kv) => Current::classify(kv.value),
    })
}

/// One read of everything a change needs, in one request.
struct Snapshot {
    value: Option<Kv>,
    lock: Option<Kv>,
    backups: Vec<Kv>,
    schema: Option<Kv>,
    /// The oldest journal records (keys only) and how many there are.
    journal_oldest: Vec<Kv>,
    journal_count: i64,
}

fn snapshot(
    client: &mut Client,
    url: &Url,
    until: Instant,
) -> std::result::Result<Snapshot, CallError> {
    let body = json!({
        "success": [range(&url.key), range(&url.lock()), range_prefix(&url.backups(), true), range(&url.schema()),
            {"request_range": {
                "key": b64(url.journal()),
                "range_end": b64(prefix_end(url.journal().as_bytes())),
                "keys_only": true,
                "sort_order": "ASCEND",
                "sort_target": "KEY",
                "limit": JOURNAL_TRIM_BATCH.to_string(),
            }}],
    });
    let v = client.read("/v3/kv/txn", &body, until)?;
    let journal_count = v
        .get("responses")
        .and_then(|r| r.get(4))
        .and_then(|r| r.get("response_range"))
        .map_or(0, |r| client::int(r, "count"));
    Ok(Snapshot {
        value: response_kvs(&v, 0).into_iter().next(),
        lock: response_kvs(&v, 1).into_iter().next(),
        backups: response_kvs(&v, 2),
        schema: response_kvs(&v, 3).into_iter().next(),
        journal_oldest: response_kvs(&v, 4),
        journal_count,
    })
}

/// The schema attached to `file` (kept in `kv`), compiled; an attached
/// schema that cannot be compiled refuses every change.
fn compile_schema(file: &Path, url: &Url, kv: &Kv) -> Result<super::Schema> {
    super::Schema::compile(&kv.value).map_err(|why| {
        Error::new(
            Kind::Io,
            format!(
                "{}: has a schema attached ({}) that cannot be checked: {why}",
                file.display(),
                url.schema()
            ),
        )
        .unchanged(Untouched::Changed)
        .then(format!(
            " (`jsafe schema --detach {}` removes it)",
            file.display()
        ))
    })
}

/// Check `bytes` against the schema attached to `file`, if any.
fn check_schema(
    file: &Path,
    url: &Url,
    schema: Option<&Kv>,
    bytes: &[u8],
    format: super::Format,
) -> Result<()> {
    let Some(kv) = schema else { return Ok(()) };
    compile_schema(file, url, kv)?
        .check(bytes, format)
        .map_err(|why| {
            Error::bad_input(format!(
                "{}: the result does not match the key's schema {why}",
                file.display()
            ))
            .unchanged(Untouched::Written)
        })
}

/// The schema attached to an etcd key (its bytes), if any.
pub(crate) fn schema_of(file: &Path, timeout: Duration) -> Result<Option<Vec<u8>>> {
    let url = Url::parse(file)?;
    let mut client = connect(&url, file)?;
    let v = client
        .read(
            "/v3/kv/range",
            &json!({"key": b64(url.schema())}),
            deadline(timeout),
        )
        .map_err(|e| Error::new(Kind::Io, format!("{}: {}", file.display(), e.describe())))?;
    Ok(kvs(&v).into_iter().next().map(|kv| kv.value))
}

/// Attach `schema` to an etcd key (None: detach), in one transaction that
/// compares the key's revision (unless `force`, its current content must
/// validate) and the lock (held by the caller's `jsafe lock`, or nobody's).
pub(crate) fn attach_schema(
    file: &Path,
    opts: &Options,
    schema: Option<&[u8]>,
    format: super::Format,
    force: bool,
) -> Result<super::schema::Attached> {
    use super::schema::Attached;
    let compiled = match schema {
        Some(bytes) => Some(super::Schema::compile(bytes).map_err(|why| {
            Error::bad_input(format!("the schema is refused: {why}")).unchanged(Untouched::Attached)
        })?),
        None => None,
    };
    let url = Url::parse(file)?;
    let until = deadline(opts.timeout);
    let mut client = connect(&url, file)?;
    let held = held_lease(&url);
    let unattached = |e: CallError| {
        Error::new(Kind::Io, format!("{}: {}", file.display(), e.describe()))
            .unchanged(Untouched::Attached)
    };
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        // The document (a log: its lines), the lock and the schema key.
        let lines_prefix = lines::prefix(&url);
        let value_range = if format == super::Format::Lines {
            range_prefix(&lines_prefix, false)
        } else {
            range(&url.key)
        };
        let body = json!({"success": [value_range, range(&url.lock()), range(&url.schema())]});
        let v = client
            .read("/v3/kv/txn", &body, until)
            .map_err(unattached)?;
        let values = response_kvs(&v, 0);
        let lock_kv = response_kvs(&v, 1).into_iter().next();
        let had = response_kvs(&v, 2).into_iter().next();
        let mut compare = vec![attach_lock_compare(file, &url, lock_kv.as_ref(), held)?];
        let op = match (schema, &compiled) {
            (Some(bytes), Some(compiled)) => {
                if !force {
                    compare.push(check_document(file, &url, compiled, &values, format)?);
                }
                json!({"request_put": {"key": b64(url.schema()), "value": b64(bytes)}})
            }
            _ => {
                if had.is_none() {
                    return Ok(Attached::NoneAttached);
                }
                json!({"request_delete_range": {"key": b64(url.schema())}})
            }
        };
        let txn = json!({"compare": compare, "success": [op]});
        match client.write("/v3/kv/txn", &txn, until) {
            Ok(v) if succeeded(&v) => {
                return Ok(if schema.is_some() {
                    Attached::Attached
                } else {
                    Attached::Detached
                });
            }
            Ok(_) if held.is_some() && lock_kv.is_some() => {
                // Our lock's lease may be gone; the next read tells.
            }
            Ok(_) => {}
            Err(e) if e.certainly_not_applied() => return Err(unattached(e)),
            Err(e) => {
                // Attaching is idempotent: the same put (or delete) again
                // is harmless, so an unanswered one is simply re-done.
                if Instant::now() >= until {
                    return Err(Error::new(
                        Kind::NotDurable,
                        format!(
                            "{}: {}; the schema change may or may not be in place (check with `jsafe schema {0}`)",
                            file.display(),
                            e.describe()
                        ),
                    ));
                }
            }
        }
        attach_back_off(file, attempt, until)?;
    }
}

/// After an attach that did not apply: a pause, or the timeout.
fn attach_back_off(file: &Path, attempt: u32, until: Instant) -> Result<()> {
    if Instant::now() >= until {
        return Err(Error::new(
            Kind::LockTimeout,
            format!(
                "{}: the document kept changing; not attached within --timeout ({attempt} tries)",
                file.display()
            ),
        )
        .unchanged(Untouched::Attached));
    }
    std::thread::sleep(Duration::from_millis(jitter(
        u64::from(attempt.min(20)) * 5 + 5,
    )));
    Ok(())
}

/// Attaching compares the lock: ours (fenced by its lease) or nobody's; a
/// lock held by someone else refuses it.
fn attach_lock_compare(
    file: &Path,
    url: &Url,
    lock_kv: Option<&Kv>,
    held: Option<i64>,
) -> Result<J> {
    match (lock_kv, held) {
        (Some(l), Some(lease)) if l.lease == lease => Ok(
            json!({"target": "LEASE", "key": b64(url.lock()), "lease": lease.to_string(), "result": "EQUAL"}),
        ),
        (Some(l), _) => Err(Error::new(
            Kind::LockTimeout,
            format!("{}: locked by {}", file.display(), lock::describe(&l.value)),
        )
        .unchanged(Untouched::Attached)
        .then(" (run it under that `jsafe lock`, or when it ends)")),
        (None, _) => Ok(
            json!({"target": "CREATE", "key": b64(url.lock()), "create_revision": "0", "result": "EQUAL"}),
        ),
    }
}

/// The document in place (`values`: the key's, or a log's lines) must
/// validate against the schema being attached; returns the compare that
/// makes the attach apply to that very content.
fn check_document(
    file: &Path,
    url: &Url,
    compiled: &super::Schema,
    values: &[Kv],
    format: super::Format,
) -> Result<J> {
    let current = if format == super::Format::Lines {
        (!values.is_empty()).then(|| lines::join(values.to_vec()))
    } else {
        values.first().map(|kv| kv.value.clone())
    };
    if let Some(bytes) = current {
        match Current::classify_as(bytes, format) {
            Current::Valid(d) => compiled.check(d.bytes(), format).map_err(|why| {
                Error::bad_input(format!(
                    "{}: does not match the schema {why}",
                    file.display()
                ))
                .unchanged(Untouched::Attached)
                .then(" (fix the document first, or attach with --force)")
            })?,
            Current::Corrupt { error, .. } => {
                return Err(super::corrupt_error(file, &error, Untouched::Attached));
            }
            Current::Missing => {}
        }
    }
    // The content checked is the content in place.
    Ok(if format == super::Format::Lines {
        let lines_prefix = lines::prefix(url);
        let newest = values.iter().map(|kv| kv.mod_revision).max().unwrap_or(0);
        json!({"target": "MOD", "key": b64(&lines_prefix), "range_end": b64(prefix_end(lines_prefix.as_bytes())), "mod_revision": (newest + 1).to_string(), "result": "LESS"})
    } else {
        let seen = values.first().map_or(0, |kv| kv.mod_revision);
        json!({"target": "MOD", "key": b64(&url.key), "mod_revision": seen.to_string(), "result": "EQUAL"})
    })
}

/// A unique, time-ordered operation id.
fn operation_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut r = [0u8; 6];
    let _ = rustix::rand::getrandom(&mut r, rustix::rand::GetRandomFlags::empty());
    let mut id = format!("{nanos:020}-");
    for b in r {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// A backup's name: the mod_revision of the version it keeps.
fn backup_name(key: &[u8], prefix: &str) -> String {
    let name = key.get(prefix.len()..).unwrap_or_default();
    String::from_utf8_lossy(name)
        .trim_start_matches('0')
        .to_owned()
}

fn max_request() -> usize {
    std::env::var("JSAFE_ETCD_MAX_REQUEST_BYTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_MAX_REQUEST)
}

/// How a commit ended.
enum Commit {
    Done,
    Conflict,
}

/// Run one change on an etcd key: read → change → render → txn(compare) put
/// + backup + journal, again on a conflict. See the module head.
pub(crate) fn transact<F>(file: &Path, opts: &Options, mut change: F) -> Result<Outcome>
where
    F: FnMut(&Current) -> Result<Change>,
{
    let started = Instant::now();
    let url = Url::parse(file)?;
    let until = deadline(opts.timeout);
    let mut client = connect(&url, file)?;
    let held = held_lease(&url);
    let op_id = operation_id();
    let journal_key = format!("{}{op_id}", url.journal());
    let mut attempt = 0u32;
    let mut waited = false;
    loop {
        attempt += 1;
        let snap = snapshot(&mut client, &url, until).map_err(|e| unchanged_error(file, &e))?;
        if !lock_free(
            &mut client,
            &url,
            file,
            opts,
            &snap,
            (held, until),
            &mut waited,
        )? {
            continue;
        }
        let mut outcome = Outcome::default();
        let (seen, old) = match &snap.value {
            Some(kv) => (kv.mod_revision, Some(kv.value.clone())),
            None => (0, None),
        };
        outcome.bytes_before = old.as_ref().map(|b| b.len() as u64);
        let (current, quarantine) = on_corrupt(
            &mut client,
            &url,
            file,
            opts,
            old.as_deref(),
            until,
            &mut outcome,
        )?;
        let Some(new) = new_version(file, opts, &current, &outcome, &mut change)? else {
            return Ok(outcome);
        };
        if old.as_deref() == Some(new.as_slice()) {
            return Ok(outcome);
        }
        check_schema(
            file,
            &url,
            snap.schema.as_ref(),
            &new,
            super::Format::Document,
        )?;
        if let Some(check) = opts.check {
            check(&new)?;
        }
        // Keep the replaced version: a backup, or quarantine when corrupt.
        let (mut puts, extra) = keep_old(&url, opts, &snap, quarantine.as_deref(), &mut outcome);
        fits(file, new.len(), extra)?;
        outcome.changed = true;
        outcome.bytes_after = new.len() as u64;
        let record = journal_record(&url, opts, &outcome, &op_id, started);
        puts.push(
            json!({"request_put": {"key": b64(&journal_key), "value": b64(record.to_string())}}),
        );
        // The schema checked is the schema in place: attaching one in
        // between makes this a conflict, checked again.
        let schema_seen = snap.schema.as_ref().map_or(0, |kv| kv.mod_revision);
        let txn = change_txn(&url, &snap, &new, puts, (seen, schema_seen), held);
        match commit(
            &mut client,
            &url,
            file,
            &txn,
            &journal_key,
            (seen, schema_seen),
            (started, until),
        )? {
            // The journal record is written even with --no-journal: it is
            // the operation id that resolves an unanswered commit.
            Commit::Done => return Ok(outcome),
            Commit::Conflict => back_off(file, attempt, until)?,
        }
    }
}

/// After a conflict: a pause that grows with `attempt`, or the timeout.
fn back_off(file: &Path, attempt: u32, until: Instant) -> Result<()> {
    if Instant::now() >= until {
        return Err(Error::new(
            Kind::LockTimeout,
            format!(
                "{}: other writers kept changing it; not applied within --timeout ({attempt} tries)",
                file.display()
            ),
        )
        .unchanged(Untouched::Written));
    }
    let pause = Duration::from_millis(jitter(u64::from(attempt.min(20)) * 5 + 5));
    std::thread::sleep(pause.min(until.saturating_duration_since(Instant::now())));
    Ok(())
}

/// The new version `change` asks for (None: nothing to write); a `Keep`
/// after a recovery writes the recovered version back.
fn new_version(
    file: &Path,
    opts: &Options,
    current: &Current,
    outcome: &Outcome,
    change: &mut dyn FnMut(&Current) -> Result<Change>,
) -> Result<Option<Vec<u8>>> {
    let asked = change(current)?;
    let base = super::base_style(current, None);
    Ok(match super::render_change(file, opts, base, asked)? {
        Some(b) => Some(b.to_vec()),
        None if outcome.recovered_from.is_some() => match current {
            Current::Valid(d) => Some(d.bytes.to_vec()),
            _ => None,
        },
        None => None,
    })
}

/// The transaction of a change: the new value first, then `puts` (backup,
/// journal record), the journal trimmed of its oldest records beyond the
/// newest JOURNAL_KEEP (once old enough); compared on the value's and the
/// schema's revisions (`seen`) and the lock (ours, or nobody's).
fn change_txn(
    url: &Url,
    snap: &Snapshot,
    new: &[u8],
    mut puts: Vec<J>,
    (seen, schema_seen): (i64, i64),
    held: Option<i64>,
) -> J {
    for key in journal_trim(&snap.journal_oldest, snap.journal_count, &url.journal()) {
        puts.push(json!({"request_delete_range": {"key": b64(&key)}}));
    }
    puts.insert(
        0,
        json!({"request_put": {"key": b64(&url.key), "value": b64(new)}}),
    );
    let mut compare = vec![
        json!({"target": "MOD", "key": b64(&url.key), "mod_revision": seen.to_string(), "result": "EQUAL"}),
        json!({"target": "MOD", "key": b64(url.schema()), "mod_revision": schema_seen.to_string(), "result": "EQUAL"}),
    ];
    match held {
        Some(lease) => compare.push(json!({"target": "LEASE", "key": b64(url.lock()), "lease": lease.to_string(), "result": "EQUAL"})),
        None => compare.push(json!({"target": "CREATE", "key": b64(url.lock()), "create_revision": "0", "result": "EQUAL"})),
    }
    json!({"compare": compare, "success": puts})
}

/// The lock: ours (fenced by its lease) or nobody's. false: it was held,
/// and is released now (read again); an error when it was not released in
/// time or the lock handed down is gone.
fn lock_free(
    client: &mut Client,
    url: &Url,
    file: &Path,
    opts: &Options,
    snap: &Snapshot,
    (held, until): (Option<i64>, Instant),
    waited: &mut bool,
) -> Result<bool> {
    match (&snap.lock, held) {
        (Some(l), Some(lease)) if l.lease == lease => Ok(true),
        (_, Some(_)) => Err(Error::new(
            Kind::LockTimeout,
            format!(
                "{}: the lock this command was given is no longer held (its lease expired)",
                file.display()
            ),
        )
        .unchanged(Untouched::Written)),
        (Some(l), None) => {
            if !*waited {
                if let Some(f) = opts.on_wait {
                    f(&lock::describe(&l.value));
                }
                *waited = true;
            }
            lock::wait_released(client, url, l, until).map_err(|e| match e {
                None => Error::new(
                    Kind::LockTimeout,
                    format!(
                        "{}: locked by {} for longer than --timeout",
                        file.display(),
                        lock::describe(&l.value)
                    ),
                )
                .unchanged(Untouched::Written),
                Some(e) => unchanged_error(file, &e),
            })?;
            Ok(false)
        }
        (None, None) => Ok(true),
    }
}

/// The current version (`old`), with the corrupt-file policy applied: a
/// corrupt one refused, or kept for the quarantine (the second value) and
/// replaced, or recovered from the newest valid backup.
fn on_corrupt(
    client: &mut Client,
    url: &Url,
    file: &Path,
    opts: &Options,
    old: Option<&[u8]>,
    until: Instant,
    outcome: &mut Outcome,
) -> Result<(Current, Option<Vec<u8>>)> {
    let current = match old {
        None => Current::Missing,
        Some(b) => Current::classify(b.to_vec()),
    };
    let Current::Corrupt { error, bytes } = &current else {
        return Ok((current, None));
    };
    match opts.on_corrupt {
        OnCorrupt::Fail => Err(super::corrupt_error(file, error, Untouched::Written)),
        OnCorrupt::Quarantine => {
            let q = bytes.clone();
            Ok((current, Some(q)))
        }
        OnCorrupt::Recover => {
            let (name, bytes_ok) = newest_valid_backup(client, url, until)
                .map_err(|e| unchanged_error(file, &e))?
                .ok_or_else(|| {
                    Error::new(
                        Kind::Corrupt,
                        format!(
                            "{}: not valid JSON ({error}) and no valid backup to recover from",
                            file.display()
                        ),
                    )
                    .unchanged(Untouched::Written)
                })?;
            let q = bytes.clone();
            outcome.recovered_from = Some(name);
            Ok((Current::classify(bytes_ok), Some(q)))
        }
    }
}

/// The puts that keep the replaced version: a backup (and the rotation of
/// the oldest beyond `--keep`, in the same transaction), or the quarantine
/// when it is corrupt. Returns them and the bytes they add to the request.
fn keep_old(
    url: &Url,
    opts: &Options,
    snap: &Snapshot,
    quarantine: Option<&[u8]>,
    outcome: &mut Outcome,
) -> (Vec<J>, usize) {
    let mut puts: Vec<J> = Vec::new();
    let mut extra = 0usize;
    if let (Some(q), Some(kv)) = (quarantine, &snap.value) {
        let key = format!("{}{:020}", url.quarantine(), kv.mod_revision);
        puts.push(json!({"request_put": {"key": b64(&key), "value": b64(q)}}));
        outcome.quarantined = Some(PathBuf::from(key));
        extra += q.len();
    } else if let (Some(kv), true) = (&snap.value, opts.keep > 0) {
        let key = format!("{}{:020}", url.backups(), kv.mod_revision);
        puts.push(json!({"request_put": {"key": b64(&key), "value": b64(&kv.value)}}));
        outcome.backup = Some(kv.mod_revision.to_string());
        extra += kv.value.len();
        let mut names: Vec<&Kv> = snap.backups.iter().collect();
        names.sort_by(|a, b| a.key.cmp(&b.key));
        let surplus = (names.len() + 1).saturating_sub(opts.keep);
        for old in names.iter().take(surplus) {
            puts.push(json!({"request_delete_range": {"key": b64(&old.key)}}));
        }
    }
    (puts, extra)
}

/// The new version of `new_len` bytes, with `extra` bytes of backup, fits
/// in one etcd request.
fn fits(file: &Path, new_len: usize, extra: usize) -> Result<()> {
    let limit = max_request();
    if new_len + extra + OVERHEAD <= limit {
        return Ok(());
    }
    let why = if new_len + OVERHEAD > limit {
        format!("the new version is {new_len} bytes")
    } else {
        format!(
            "the new version ({new_len} bytes) with the backup of the old one ({extra} bytes) is too large; --no-backup would fit"
        )
    };
    Err(Error::bad_input(format!(
        "{}: {why}, and etcd accepts requests up to {limit} bytes (its --max-request-bytes; set JSAFE_ETCD_MAX_REQUEST_BYTES if the cluster allows more)",
        file.display()
    ))
    .unchanged(Untouched::Changed)
    .then(". Keep the document smaller or split it across keys"))
}

/// Send the commit and learn its outcome; see the module head.
fn commit(
    client: &mut Client,
    url: &Url,
    file: &Path,
    txn: &J,
    journal_key: &str,
    (seen, schema_seen): (i64, i64),
    (started, until): (Instant, Instant),
) -> Result<Commit> {
    let mut sent_once = false;
    loop {
        match client.write("/v3/kv/txn", txn, until) {
            Ok(v) if succeeded(&v) => return Ok(Commit::Done),
            Ok(_) if !sent_once => return Ok(Commit::Conflict),
            // A resend that failed its compare: was the first copy applied?
            Ok(_) => {}
            Err(e) if !sent_once && e.certainly_not_applied() => {
                return Err(unchanged_error(file, &e));
            }
            Err(_) => {}
        }
        sent_once = true;
        // The outcome is unknown: learn it.
        loop {
            if Instant::now() >= until {
                return Err(Error::new(
                    Kind::NotDurable,
                    format!(
                        "{}: the change was sent but no etcd member confirmed within --timeout whether it was applied; it may be in place (do not retry blindly; check with `jsafe read {0}`)",
                        file.display()
                    ),
                ));
            }
            let body =
                json!({"success": [range(journal_key), range(&url.key), range(&url.schema())]});
            match client.read("/v3/kv/txn", &body, until) {
                Ok(v) => {
                    if !response_kvs(&v, 0).is_empty() {
                        return Ok(Commit::Done);
                    }
                    let now = response_kvs(&v, 1).first().map_or(0, |kv| kv.mod_revision);
                    let schema_now = response_kvs(&v, 2).first().map_or(0, |kv| kv.mod_revision);
                    if (now != seen || schema_now != schema_seen)
                        && started.elapsed() >= journal_min_age() / 2
                    {
                        // Our record may have been applied and trimmed
                        // since: its absence proves nothing any more.
                        return Err(Error::new(
                            Kind::NotDurable,
                            format!(
                                "{}: the change was sent long ago (past half of JSAFE_ETCD_JOURNAL_MIN_AGE) and its outcome can no longer be learned; it may be in place (check with `jsafe read {0}`)",
                                file.display()
                            ),
                        ));
                    }
                    if now != seen || schema_now != schema_seen {
                        // Moved on without our id: ours can never apply.
                        return Ok(Commit::Conflict);
                    }
                    break; // unchanged: send the same transaction again
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20 + jitter(30))),
            }
        }
    }
}

fn journal_record(
    url: &Url,
    opts: &Options,
    outcome: &Outcome,
    op_id: &str,
    started: Instant,
) -> J {
    let uid = rustix::process::getuid().as_raw();
    json!({
        "time": time::rfc3339(SystemTime::now()),
        "op": opts.operation,
        "key": url.key,
        "op_id": op_id,
        "pid": std::process::id(),
        "uid": uid,
        "user": process::user_name(uid),
        "host": process::host_name(),
        "bytes_before": outcome.bytes_before,
        "bytes_after": outcome.bytes_after,
        "backup": outcome.backup,
        "recovered_from": outcome.recovered_from,
        "duration_ms": (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        "result": if outcome.recovered_from.is_some() { "recovered" } else if outcome.quarantined.is_some() { "replaced-corrupt" } else { "ok" },
    })
}

/// Delete a key and everything jsafe keeps for it (backups, journal, lock,
/// schema, quarantine, a log's lines): for scratch keys (`jsafe test --etcd`).
pub(crate) fn remove(file: &Path, timeout: Duration) -> Result<()> {
    let url = Url::parse(file)?;
    let mut client = connect(&url, file)?;
    let del = |prefix: &str| json!({"request_delete_range": {"key": b64(prefix), "range_end": b64(prefix_end(prefix.as_bytes()))}});
    let lines = format!("{}/", url.key);
    let body = json!({"success": [
        {"request_delete_range": {"key": b64(&url.key)}},
        {"request_delete_range": {"key": b64(url.lock())}},
        {"request_delete_range": {"key": b64(url.schema())}},
        del(&url.backups()), del(&url.journal()), del(&url.quarantine()), del(&lines),
    ]});
    client
        .write("/v3/kv/txn", &body, deadline(timeout))
        .map(|_| ())
        .map_err(|e| Error::new(Kind::Io, format!("{}: {}", file.display(), e.describe())))
}

/// One backup: name (the revision of the version it keeps) and bytes.
#[derive(Debug)]
pub(crate) struct Backup {
    /// Its name, for `restore --from`.
    pub name: String,
    /// The kept bytes.
    pub bytes: Vec<u8>,
}

/// The backups of a key, oldest first.
pub(crate) fn backups(file: &Path, timeout: Duration) -> Result<Vec<Backup>> {
    let url = Url::parse(file)?;
    let mut client = connect(&url, file)?;
    let prefix = url.backups();
    let v = client
        .read(
            "/v3/kv/txn",
            &json!({"success": [range_prefix(&prefix, false)]}),
            deadline(timeout),
        )
        .map_err(|e| Error::new(Kind::Io, format!("{}: {}", file.display(), e.describe())))?;
    let mut list: Vec<Kv> = response_kvs(&v, 0);
    list.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(list
        .into_iter()
        .map(|kv| Backup {
            name: backup_name(&kv.key, &prefix),
            bytes: kv.value,
        })
        .collect())
}

fn newest_valid_backup(
    client: &mut Client,
    url: &Url,
    until: Instant,
) -> std::result::Result<Option<(String, Vec<u8>)>, CallError> {
    let prefix = url.backups();
    let v = client.read(
        "/v3/kv/txn",
        &json!({"success": [range_prefix(&prefix, false)]}),
        until,
    )?;
    let mut list = response_kvs(&v, 0);
    list.sort_by(|a, b| b.key.cmp(&a.key));
    Ok(list
        .into_iter()
        .find(|kv| json::validate(&kv.value).is_ok())
        .map(|kv| (backup_name(&kv.key, &prefix), kv.value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_members_and_key() {
        let u = Url::parse(Path::new("etcd://a:1,b:2/app/state.json")).unwrap();
        assert_eq!(u.hosts, ["a:1", "b:2"]);
        assert_eq!(u.key, "/app/state.json");
        assert_eq!(u.backups(), "/.jsafe/backups/app/state.json/");
        assert_eq!(
            Url::parse(Path::new("etcd://h/k")).unwrap().hosts,
            ["h:2379"]
        );
        assert!(Url::parse(Path::new("etcd://h:1")).is_err());
        assert!(Url::parse(Path::new("etcd://h:1/")).is_err());
        assert!(Url::parse(Path::new("etcd://h:1/.jsafe/locks/x")).is_err());
        let t = Url::parse(Path::new("etcds://h:1/k")).unwrap();
        assert!(t.tls && t.hosts == ["h:1"] && t.key == "/k");
        assert!(!u.tls);
        let is_url = super::super::Backend::is_etcd;
        assert!(is_url(Path::new("etcd://x/y")) && !is_url(Path::new("./etcd://x")));
    }

    #[test]
    fn operation_ids_order_by_time() {
        let a = operation_id();
        std::thread::sleep(Duration::from_millis(1));
        let b = operation_id();
        assert!(a < b, "{a} {b}");
    }
}
