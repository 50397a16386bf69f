//! Lease-backed locks on an etcd key: `/.jsafe/locks<KEY>` holds the holder
//! record (host, pid, user, since, command) and lives only as long as its
//! lease, which the holder keeps alive. A holder that stops (paused, killed,
//! cut off) loses the lock when the lease runs out, and every change it
//! makes afterwards fails its compare: the lease is the fencing token.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value as J, json};

use super::client::{CallError, Client, Kv, int, jitter, kvs};
use super::http::Conn;
use super::{Url, b64, range, response_kvs, succeeded};
use crate::{process, time};

/// Default lease time to live, in seconds (`JSAFE_ETCD_LEASE_TTL`).
pub(crate) const DEFAULT_TTL: i64 = 10;

/// The lease TTL to use.
pub(crate) fn ttl() -> i64 {
    std::env::var("JSAFE_ETCD_LEASE_TTL")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|&t| t >= 2)
        .unwrap_or(DEFAULT_TTL)
}

/// A holder record for messages: "pid N (user on host, since T)".
pub(crate) fn describe(record: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<J>(record) else {
        return "another holder".to_owned();
    };
    let s = |f: &str| {
        v.get(f)
            .map(|x| x.to_string().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    format!(
        "pid {} ({}, user {} on {}, since {})",
        s("pid"),
        s("command"),
        s("user"),
        s("host"),
        s("since")
    )
}

/// Wait until the lock key `held` changes (released, expired, taken by
/// another): watched, not polled. Ok: look again. Err(None): the deadline
/// passed. Err(Some): no member answered.
pub(crate) fn wait_released(
    client: &mut Client,
    url: &Url,
    held: &Kv,
    until: Instant,
) -> Result<(), Option<CallError>> {
    let hosts = client.hosts().to_vec();
    let mut last: Option<CallError> = None;
    for host in &hosts {
        if Instant::now() >= until {
            return Err(None);
        }
        match watch_once(client, host, &url.lock(), held.mod_revision + 1, until) {
            Ok(true) => return Ok(()),
            Ok(false) => return Err(None),
            Err(e) => last = Some(e),
        }
    }
    // Every member failed: pause briefly and let the caller read again.
    std::thread::sleep(Duration::from_millis(50 + jitter(50)));
    match last {
        Some(e @ CallError::Unreachable(_)) if Instant::now() >= until => Err(Some(e)),
        _ if Instant::now() >= until => Err(None),
        _ => Ok(()),
    }
}

/// Watch `key` from `from` on one member until an event (true) or the
/// deadline (false).
fn watch_once(
    client: &Client,
    host: &str,
    key: &str,
    from: i64,
    until: Instant,
) -> Result<bool, CallError> {
    let mut conn = Conn::open(host, until).map_err(|f| CallError::Unreachable(f.why))?;
    let token = client.login(&mut conn, until);
    let body = json!({"create_request": {"key": b64(key), "start_revision": from.to_string()}});
    let status = conn
        .post_stream(
            "/v3/watch",
            body.to_string().as_bytes(),
            token.as_deref(),
            until,
        )
        .map_err(|e| CallError::NoAnswer(e.to_string()))?;
    if status != 200 {
        return Err(CallError::Server {
            code: 2,
            message: format!("watch: HTTP {status}"),
        });
    }
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match conn.chunk(until) {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            Ok(None) => return Err(CallError::NoAnswer("watch ended".into())),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(CallError::NoAnswer(e.to_string())),
        }
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let Ok(v) = serde_json::from_slice::<J>(&line) else {
                continue;
            };
            let result = v.get("result").unwrap_or(&v);
            if result
                .get("events")
                .and_then(J::as_array)
                .is_some_and(|e| !e.is_empty())
                || result.get("canceled").and_then(J::as_bool) == Some(true)
                || int(result, "compact_revision") > 0
            {
                return Ok(true);
            }
        }
    }
}

/// A lock taken on an etcd key, kept alive until dropped (then released).
pub(crate) struct Held {
    /// The lease (the fencing token).
    pub lease: i64,
    hosts: Vec<String>,
    stop: Arc<AtomicBool>,
    keeper: Option<std::thread::JoinHandle<()>>,
}

/// Why a lock was not taken.
pub(crate) enum NotTaken {
    /// Held by another until the deadline: their record.
    Busy(Vec<u8>),
    /// The cluster did not answer.
    Failed(CallError),
}

/// Take the lock on `url`: a lease, then a put of the holder record if no
/// lock key exists; while another holds it, wait (watching) until
/// `until`. `on_wait` is told once who holds it.
pub(crate) fn acquire(
    client: &mut Client,
    url: &Url,
    command: &str,
    child_hint: Option<u32>,
    until: Instant,
    on_wait: &dyn Fn(&str),
) -> Result<Held, NotTaken> {
    let ttl = ttl();
    let grant = client
        .write("/v3/lease/grant", &json!({"TTL": ttl.to_string()}), until)
        .map_err(NotTaken::Failed)?;
    let lease = int(&grant, "ID");
    let uid = rustix::process::getuid().as_raw();
    let record = json!({
        "host": process::host_name(),
        "pid": std::process::id(),
        "user": process::user_name(uid),
        "since": time::rfc3339(SystemTime::now()),
        "command": command,
        "child_pid": child_hint,
        "lease": lease.to_string(),
        "ttl": ttl,
    });
    let lock_key = url.lock();
    let txn = json!({
        "compare": [{"target": "CREATE", "key": b64(&lock_key), "create_revision": "0", "result": "EQUAL"}],
        "success": [{"request_put": {"key": b64(&lock_key), "value": b64(record.to_string()), "lease": lease.to_string()}}],
        "failure": [range(&lock_key)],
    });
    let mut told = false;
    let held = Held {
        lease,
        hosts: client.hosts().to_vec(),
        stop: Arc::new(AtomicBool::new(false)),
        keeper: None,
    };
    loop {
        let other = match client.write("/v3/kv/txn", &txn, until) {
            Ok(v) if succeeded(&v) => return Ok(held.start()),
            Ok(v) => response_kvs(&v, 0).into_iter().next(),
            Err(e) => {
                // Maybe it was applied: the lock key tells.
                let now = client.read("/v3/kv/range", &json!({"key": b64(&lock_key)}), until);
                match now
                    .as_ref()
                    .map(kvs)
                    .ok()
                    .and_then(|k| k.into_iter().next())
                {
                    Some(kv) if kv.lease == lease => return Ok(held.start()),
                    Some(kv) => Some(kv),
                    None if Instant::now() < until && !matches!(e, CallError::Unreachable(_)) => {
                        continue;
                    }
                    None => return Err(NotTaken::Failed(e)),
                }
            }
        };
        let Some(other) = other else {
            continue;
        };
        if !told {
            on_wait(&describe(&other.value));
            told = true;
        }
        match wait_released(client, url, &other, until) {
            Ok(()) => {}
            Err(None) => return Err(NotTaken::Busy(other.value)),
            Err(Some(e)) => return Err(NotTaken::Failed(e)),
        }
    }
}

impl Held {
    /// Start keeping the lease alive (every third of its TTL).
    fn start(mut self) -> Held {
        let stop = Arc::clone(&self.stop);
        let hosts = self.hosts.clone();
        let lease = self.lease;
        let every = Duration::from_millis(u64::try_from(ttl() * 1000 / 3).unwrap_or(3000));
        self.keeper = std::thread::Builder::new()
            .name("lease keepalive".into())
            .spawn(move || {
                let Ok(mut client) = Client::new(&hosts) else {
                    return;
                };
                let mut next = Instant::now() + every;
                while !stop.load(Ordering::Relaxed) {
                    if Instant::now() >= next {
                        let until = Instant::now() + every;
                        let _ = client.read(
                            "/v3/lease/keepalive",
                            &json!({"ID": lease.to_string()}),
                            until,
                        );
                        next = Instant::now() + every;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
            .ok();
        self
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(k) = self.keeper.take() {
            let _ = k.join();
        }
        let Ok(mut client) = Client::new(&self.hosts) else {
            return;
        };
        let until = Instant::now() + Duration::from_secs(5);
        // Revoking the lease deletes the lock key with it.
        let _ = client.write(
            "/v3/lease/revoke",
            &json!({"ID": self.lease.to_string()}),
            until,
        );
    }
}
