//! The etcd v3 API through its JSON gateway: one call = one POST to one
//! member, failing over to the next member in the list. Every error says
//! whether the request may have taken effect, so a change's outcome can be
//! told truthfully.

use std::time::{Duration, Instant};

use serde_json::{Value as J, json};

use super::base64;
use super::http::{Conn, Failure};

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// No member received the request: it certainly did not take effect.
    Unreachable(String),
    /// A member received it and did not answer: it may have taken effect.
    NoAnswer(String),
    /// A member answered with an error.
    Server {
        /// The gRPC status code (3 invalid argument, 14 unavailable, 16
        /// unauthenticated, …).
        code: i64,
        /// etcd's message.
        message: String,
    },
}

impl CallError {
    /// A line for the user.
    pub(crate) fn describe(&self) -> String {
        match self {
            CallError::Unreachable(why) => format!("no etcd member answered ({why})"),
            CallError::NoAnswer(why) => format!("an etcd member did not answer ({why})"),
            CallError::Server { message, .. } => format!("etcd refused: {message}"),
        }
    }

    /// A server error that says the request was certainly not applied
    /// (refused before it was proposed).
    pub(crate) fn certainly_not_applied(&self) -> bool {
        match self {
            CallError::Unreachable(_) => true,
            CallError::NoAnswer(_) => false,
            // InvalidArgument, PermissionDenied, Unauthenticated,
            // ResourceExhausted (too large), FailedPrecondition: checked
            // before a proposal is made.
            CallError::Server { code, message } => {
                matches!(code, 3 | 7 | 8 | 9 | 16)
                    || message.contains("no leader")
                    || message.contains("not capable")
            }
        }
    }
}

/// A client of one cluster: its members, tried in order starting with the
/// one that answered last.
pub(crate) struct Client {
    hosts: Vec<String>,
    at: usize,
    conn: Option<Conn>,
    user: Option<(String, String)>,
    token: Option<String>,
}

impl Client {
    /// A client of `hosts` ("name:port"), with the user and password from
    /// `JSAFE_ETCD_USER` / `JSAFE_ETCD_PASSWORD` (or `JSAFE_ETCD_PASSWORD_FILE`).
    pub(crate) fn new(hosts: &[String]) -> Result<Client, String> {
        let user = match std::env::var("JSAFE_ETCD_USER") {
            Ok(u) if !u.is_empty() => {
                let password = match std::env::var_os("JSAFE_ETCD_PASSWORD_FILE") {
                    Some(path) => std::fs::read_to_string(&path)
                        .map_err(|e| {
                            format!(
                                "cannot read JSAFE_ETCD_PASSWORD_FILE {}: {e}",
                                std::path::Path::new(&path).display()
                            )
                        })?
                        .trim_end_matches(['\n', '\r'])
                        .to_owned(),
                    None => std::env::var("JSAFE_ETCD_PASSWORD").unwrap_or_default(),
                };
                Some((u, password))
            }
            _ => None,
        };
        Ok(Client {
            hosts: hosts.to_vec(),
            at: 0,
            conn: None,
            user,
            token: None,
        })
    }

    /// Log in on `conn` (a connection of its own, e.g. a watch) with this
    /// client's user, if any: the token to send (simple tokens are per member).
    pub(crate) fn login(&self, conn: &mut Conn, deadline: Instant) -> Option<String> {
        let (name, password) = self.user.as_ref()?;
        let body = json!({"name": name, "password": password}).to_string();
        let (status, body) = conn
            .post("/v3/auth/authenticate", body.as_bytes(), None, deadline)
            .ok()?;
        let v = parse(status, &body).ok()?;
        v.get("token").and_then(J::as_str).map(str::to_owned)
    }

    /// The members this client knows.
    pub(crate) fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// One call that changes nothing (a read), retried on every member until
    /// `deadline`.
    pub(crate) fn read(&mut self, path: &str, body: &J, deadline: Instant) -> Result<J, CallError> {
        self.call(path, body, deadline, true)
    }

    /// One call that may change something: sent to one member (failing over
    /// only while nothing was sent); a request sent without an answer is
    /// [`CallError::NoAnswer`].
    pub(crate) fn write(
        &mut self,
        path: &str,
        body: &J,
        deadline: Instant,
    ) -> Result<J, CallError> {
        self.call(path, body, deadline, false)
    }

    /// A call to exactly one member (status, health), with no failover.
    pub(crate) fn call_member(
        &mut self,
        host: &str,
        path: &str,
        body: &J,
        deadline: Instant,
    ) -> Result<J, CallError> {
        let mut conn = Conn::open(host, deadline).map_err(|f| CallError::Unreachable(f.why))?;
        let bytes = body.to_string().into_bytes();
        match conn.post(path, &bytes, None, deadline) {
            Ok((status, body)) => parse(status, &body),
            Err(f) if f.sent => Err(CallError::NoAnswer(f.why)),
            Err(f) => Err(CallError::Unreachable(f.why)),
        }
    }

    fn call(
        &mut self,
        path: &str,
        body: &J,
        deadline: Instant,
        idempotent: bool,
    ) -> Result<J, CallError> {
        let bytes = body.to_string().into_bytes();
        let mut last = String::from("timed out");
        let mut round = 0u32;
        loop {
            for _ in 0..self.hosts.len() {
                if Instant::now() >= deadline {
                    return Err(CallError::Unreachable(last));
                }
                match self.try_once(path, &bytes, deadline) {
                    Ok(v) => return Ok(v),
                    Err(Attempt::NotSent(why)) => {
                        last = why;
                        self.next_host();
                    }
                    Err(Attempt::Sent(why)) => {
                        self.next_host();
                        if !idempotent {
                            return Err(CallError::NoAnswer(why));
                        }
                        last = why;
                    }
                    Err(Attempt::Server(e)) => {
                        let retry = matches!(&e, CallError::Server { code: 14, .. })
                            || matches!(&e, CallError::Server { message, .. } if message.contains("leader") || message.contains("timed out"));
                        if retry && (idempotent || e.certainly_not_applied()) {
                            last = e.describe();
                            self.next_host();
                        } else {
                            return Err(e);
                        }
                    }
                }
            }
            round += 1;
            // Every member failed once: back off a little (jittered), then
            // go round again until the deadline.
            let pause = Duration::from_millis(20 * u64::from(round.min(10)) + jitter(30));
            let left = deadline.saturating_duration_since(Instant::now());
            std::thread::sleep(pause.min(left));
        }
    }

    fn next_host(&mut self) {
        self.conn = None;
        self.token = None;
        self.at = (self.at + 1) % self.hosts.len().max(1);
    }

    fn try_once(&mut self, path: &str, body: &[u8], deadline: Instant) -> Result<J, Attempt> {
        let Some(host) = self.hosts.get(self.at).cloned() else {
            return Err(Attempt::NotSent("no etcd member named".to_owned()));
        };
        // A member that takes this long is treated as not answering, so
        // another one gets the request while the deadline allows.
        let per_try = deadline.min(Instant::now() + Duration::from_secs(5));
        if self.conn.is_none() {
            self.conn = Some(Conn::open(&host, per_try).map_err(|f| Attempt::NotSent(f.why))?);
        }
        if self.user.is_some() && self.token.is_none() {
            self.authenticate(per_try)?;
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Attempt::NotSent(format!("{host}: not connected")));
        };
        match conn.post(path, body, self.token.as_deref(), per_try) {
            Ok((status, body)) => parse(status, &body).map_err(Attempt::Server),
            Err(Failure { sent: true, why }) => Err(Attempt::Sent(why)),
            Err(Failure { sent: false, why }) => Err(Attempt::NotSent(why)),
        }
    }

    fn authenticate(&mut self, deadline: Instant) -> Result<(), Attempt> {
        let Some((name, password)) = &self.user else {
            return Ok(());
        };
        let body = json!({"name": name, "password": password}).to_string();
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        match conn.post("/v3/auth/authenticate", body.as_bytes(), None, deadline) {
            Ok((status, body)) => {
                let v = parse(status, &body).map_err(Attempt::Server)?;
                self.token = v.get("token").and_then(J::as_str).map(str::to_owned);
                Ok(())
            }
            // Authenticating changes nothing: never an unknown outcome.
            Err(f) => Err(Attempt::NotSent(f.why)),
        }
    }
}

enum Attempt {
    NotSent(String),
    Sent(String),
    Server(CallError),
}

fn parse(status: u16, body: &[u8]) -> Result<J, CallError> {
    let v: J = serde_json::from_slice(body).map_err(|e| CallError::Server {
        code: 13,
        message: format!("HTTP {status}, an answer that is not JSON ({e})"),
    })?;
    if status == 200 && v.get("error").is_none() {
        return Ok(v);
    }
    let message = v
        .get("message")
        .or_else(|| v.get("error"))
        .and_then(J::as_str)
        .unwrap_or("unknown error")
        .to_owned();
    Err(CallError::Server {
        code: v.get("code").and_then(J::as_i64).unwrap_or(2),
        message,
    })
}

/// A few random milliseconds, up to `max`.
pub(crate) fn jitter(max: u64) -> u64 {
    let mut b = [0u8; 8];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    u64::from_le_bytes(b) % max.max(1)
}

/// An int64 field (the gateway sends them as strings).
pub(crate) fn int(v: &J, field: &str) -> i64 {
    match v.get(field) {
        Some(J::String(s)) => s.parse().unwrap_or(0),
        Some(J::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// One key-value from a range answer.
#[derive(Debug, Clone)]
pub(crate) struct Kv {
    /// The key.
    pub key: Vec<u8>,
    /// The value (empty with keys_only).
    pub value: Vec<u8>,
    /// Revision of its creation.
    pub create_revision: i64,
    /// Revision of its last change.
    pub mod_revision: i64,
    /// Its lease (0: none).
    pub lease: i64,
}

/// The key-values of a range answer.
pub(crate) fn kvs(v: &J) -> Vec<Kv> {
    let Some(list) = v.get("kvs").and_then(J::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|kv| Kv {
            key: kv
                .get("key")
                .and_then(J::as_str)
                .and_then(base64::decode)
                .unwrap_or_default(),
            value: kv
                .get("value")
                .and_then(J::as_str)
                .and_then(base64::decode)
                .unwrap_or_default(),
            create_revision: int(kv, "create_revision"),
            mod_revision: int(kv, "mod_revision"),
            lease: int(kv, "lease"),
        })
        .collect()
}

/// The end of the range of every key starting with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
