//! Who a process is: our own identity for lock holder records ([`Holder`]),
//! and whether a recorded holder is still alive ([`liveness`], from `/proc`
//! with the process start time, so that a recycled PID is not mistaken for the
//! holder). Depends only on [`crate::time`].
//!
//! Every number here may come from a hostile lock file: conversions are
//! checked, and nothing read from a record can panic.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::time;

/// Who holds (or last held) a lock, as recorded in the lock file: one JSON
/// line, written by the exclusive holder right after it is granted. It names
/// the process, never what it was asked to write (no JSON, no filter, no
/// arguments): lock files may be readable where the data is not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id (on `host`).
    pub pid: u32,
    /// Host name of the holder's machine.
    pub host: String,
    /// Process start, seconds since the Unix epoch (tells a recycled PID).
    #[serde(default)]
    pub start_time: Option<u64>,
    /// Real user id of the holder.
    #[serde(default)]
    pub uid: Option<u32>,
    /// What holds it: `jsafe <subcommand>`, or for `jsafe lock` the command
    /// name it runs (no arguments).
    #[serde(default)]
    pub command: String,
    /// When the lock was granted, seconds since the Unix epoch.
    #[serde(default)]
    pub acquired: f64,
    /// `acquired` for people (RFC 3339, UTC); ignored when read back.
    #[serde(default, skip_deserializing)]
    pub acquired_at: String,
    /// For `jsafe lock`: the pid of the command it runs while holding the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_pid: Option<u32>,
    /// The random part of the temp file name this holder is about to give a
    /// name (see `store::layout`): if the holder dies, the next one removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp: Option<String>,
}

/// Longest holder record read back (a record is one short line).
pub(crate) const MAX_RECORD: usize = 4096;

impl Holder {
    /// This process, now, doing `command` (e.g. "jsafe merge").
    pub(crate) fn me(command: &str) -> Holder {
        let now = SystemTime::now();
        Holder {
            pid: std::process::id(),
            host: host_name(),
            start_time: self_start_time(),
            uid: Some(rustix::process::getuid().as_raw()),
            command: command.chars().take(200).collect(),
            acquired: time::unix(now),
            acquired_at: time::rfc3339(now),
            child_pid: None,
            temp: None,
        }
    }

    /// The record as one line (with its newline).
    pub(crate) fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    /// The record as one line with `child_pid` still to be filled in: the
    /// bytes before the pid's digits and the bytes after them (for
    /// `jsafe lock`, whose command writes its own pid, see `sys`).
    pub(crate) fn line_around_child_pid(&self) -> (Vec<u8>, Vec<u8>) {
        let mut without = self.clone();
        without.child_pid = None;
        let mut head = serde_json::to_string(&without).unwrap_or_default();
        // A struct serializes as an object: its last byte is the closing brace.
        if head.ends_with('}') {
            head.pop();
        }
        head.push_str(",\"child_pid\":");
        (head.into_bytes(), b"}\n".to_vec())
    }

    /// Parse a record; None for anything that is not one (empty, garbage,
    /// binary, too long, numbers out of range).
    pub(crate) fn parse(bytes: &[u8]) -> Option<Holder> {
        if bytes.len() > MAX_RECORD {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?.trim();
        let mut h: Holder = serde_json::from_str(text).ok()?;
        if !h.acquired.is_finite() || h.acquired < 0.0 || h.acquired > 1e11 {
            h.acquired = 0.0;
        }
        h.acquired_at = h.acquired_time().map(time::rfc3339).unwrap_or_default();
        Some(h)
    }

    /// When it took the lock, if the record says so sensibly.
    pub fn acquired_time(&self) -> Option<SystemTime> {
        if self.acquired <= 0.0 {
            return None;
        }
        let d = Duration::try_from_secs_f64(self.acquired).ok()?;
        SystemTime::UNIX_EPOCH.checked_add(d)
    }

    /// How long it has held the lock (zero when unknown or in the future).
    pub fn held_for(&self) -> Duration {
        self.acquired_time()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or(Duration::ZERO)
    }

    /// "pid 123 on host h (jsafe update) for 12s".
    pub fn describe(&self) -> String {
        let command = if self.command.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.command)
        };
        let child = self
            .child_pid
            .map_or(String::new(), |c| format!(", running pid {c}"));
        format!(
            "pid {} on host {}{command}{child} for {}",
            self.pid,
            self.host,
            time::human(self.held_for())
        )
    }
}

/// This machine's host name.
pub fn host_name() -> String {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    })
    .clone()
}

/// Start time of this process in seconds since the Unix epoch.
pub(crate) fn self_start_time() -> Option<u64> {
    stat_of("self").map(|s| s.start_time)
}

/// Start time of process `pid` (on this host), as for `self_start_time`.
pub fn start_time_of(pid: u32) -> Option<u64> {
    stat_of(&pid.to_string()).map(|s| s.start_time)
}

/// What `/proc/<pid>/stat` says that we need.
struct ProcStat {
    zombie: bool,
    /// Seconds since the Unix epoch: boot time + start ticks / ticks per second.
    start_time: u64,
}

fn stat_of(pid: &str) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and ')': skip past the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after.split_whitespace();
    // Field 3 is the state; starttime is field 22.
    let state = fields.next()?;
    let ticks: u64 = fields.nth(18)?.parse().ok()?;
    let hz = rustix::param::clock_ticks_per_second();
    if hz == 0 {
        return None;
    }
    Some(ProcStat {
        zombie: state == "Z" || state == "X",
        start_time: boot_time()?.checked_add(ticks / hz)?,
    })
}

/// Boot time in seconds since the Unix epoch, as `/proc/stat`'s `btime`
/// gives it. The kernel computes `btime` as the real-time clock minus the
/// boot-time clock; so does this, from two clock reads (vDSO, no system
/// call), instead of reading and parsing `/proc/stat` on every lock. The two
/// reads are nanoseconds apart, so the whole seconds can differ from the
/// kernel's by one only when the difference sits that close to a whole
/// second, which [`START_TIME_TOLERANCE`] covers (docs/decisions/startup.md).
fn boot_time() -> Option<u64> {
    static BOOT: OnceLock<Option<u64>> = OnceLock::new();
    *BOOT.get_or_init(|| {
        use rustix::time::{ClockId, Timespec, clock_gettime};
        let ns = |t: Timespec| i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec);
        let real = ns(clock_gettime(ClockId::Realtime));
        let boot = ns(clock_gettime(ClockId::Boottime));
        u64::try_from((real - boot).div_euclid(1_000_000_000)).ok()
    })
}

/// The name of user `uid` from the system's user database (NSS: files, LDAP,
/// sssd, …), never from the environment; empty when it has none.
pub(crate) fn user_name(uid: u32) -> String {
    uzers::get_user_by_uid(uid)
        .map(|u| u.name().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// This process's real user id and its name ([`user_name`]), looked up once
/// per process (the journal line of each change asks for it).
pub(crate) fn own_user() -> (u32, String) {
    static OWN: OnceLock<(u32, String)> = OnceLock::new();
    OWN.get_or_init(|| {
        let uid = rustix::process::getuid().as_raw();
        (uid, user_name(uid))
    })
    .clone()
}

/// Whether the process recorded as a lock holder still exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// The PID exists on this host and (when a start time was recorded) started
    /// within [`START_TIME_TOLERANCE`] seconds of the recorded start.
    Alive,
    /// No such process on this host (or only its zombie, which holds no files).
    Dead,
    /// The PID exists on this host but belongs to a process started at another
    /// time: the holder is gone and its PID was reused.
    Recycled,
    /// The holder ran on another host; its PID says nothing here.
    OtherHost,
    /// Cannot tell: process information is not readable here (no /proc, or the
    /// PID exists but is hidden from us), or the record has no usable PID.
    Unknown,
}

impl Liveness {
    /// The word used in reports and JSON output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Liveness::Alive => "alive",
            Liveness::Dead => "dead",
            Liveness::Recycled => "recycled",
            Liveness::OtherHost => "other-host",
            Liveness::Unknown => "unknown",
        }
    }

    /// The holder is certainly gone (on this host).
    pub(crate) fn is_gone(self) -> bool {
        matches!(self, Liveness::Dead | Liveness::Recycled)
    }
}

/// Start times are compared with this slack, in seconds: both are whole
/// seconds derived from boot time and clock ticks, and may round differently.
pub(crate) const START_TIME_TOLERANCE: u64 = 2;

/// Judge every holder; the answers are in the order of `holders`. Each PID is
/// looked up once however many records name it.
pub(crate) fn liveness(holders: &[&Holder]) -> Vec<Liveness> {
    let here = host_name();
    // Our own entry tells whether process information is readable at all.
    let readable = stat_of("self").is_some();
    let mut seen: HashMap<u32, Option<ProcStat>> = HashMap::new();
    holders
        .iter()
        .map(|h| {
            if h.host != here {
                return Liveness::OtherHost;
            }
            if h.pid == 0 || !readable {
                return Liveness::Unknown;
            }
            let stat = seen
                .entry(h.pid)
                .or_insert_with(|| stat_of(&h.pid.to_string()));
            match stat {
                Some(p) if p.zombie => Liveness::Dead,
                Some(p) => match h.start_time {
                    Some(t) if p.start_time.abs_diff(t) > START_TIME_TOLERANCE => {
                        Liveness::Recycled
                    }
                    _ => Liveness::Alive,
                },
                None => exists_unseen(h.pid),
            }
        })
        .collect()
}

/// Most descriptors of one process looked at by [`holds_flock`]: the check
/// runs only on the path that reports a contended lock, and must stay bounded.
const MAX_FDS_LOOKED_AT: usize = 4096;

/// Whether process `pid` holds a flock on the file `(dev, ino)` through one of
/// its descriptors: the kernel lists the locks an open file holds in
/// `/proc/<pid>/fdinfo/<fd>` ("lock:" lines; a wait is not listed). Some(true)
/// or Some(false) when its descriptors could be looked at (all of them, up to
/// a bound); None when they cannot (no `/proc`, another user's process, too
/// many descriptors).
pub(crate) fn holds_flock(pid: u32, dev: u64, ino: u64) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_FDS_LOOKED_AT {
            return None;
        }
        // A descriptor closed while we look is simply not this file.
        let Ok(entry) = entry else { continue };
        let Ok(m) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if m.dev() != dev || m.ino() != ino {
            continue;
        }
        let info = format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy());
        let Ok(text) = std::fs::read_to_string(info) else {
            return None;
        };
        if text
            .lines()
            .any(|l| l.starts_with("lock:") && l.contains(" FLOCK "))
        {
            return Some(true);
        }
    }
    Some(false)
}

/// A PID `/proc` does not show: gone, or there but hidden from us (a `/proc`
/// mounted with `hidepid`)? A signal-0 probe tells without touching it.
fn exists_unseen(pid: u32) -> Liveness {
    let Ok(raw) = i32::try_from(pid) else {
        return Liveness::Unknown;
    };
    let Some(pid) = rustix::process::Pid::from_raw(raw) else {
        return Liveness::Unknown;
    };
    match rustix::process::test_kill_process(pid) {
        Err(rustix::io::Errno::SRCH) => Liveness::Dead,
        _ => Liveness::Unknown,
    }
}

/// A PID no process has: past the kernel's maximum (for tests).
#[cfg(test)]
pub(crate) fn unused_pid() -> u32 {
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4_194_304);
    max + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(pid: u32, host: &str, start_time: Option<u64>) -> Holder {
        let mut h = Holder::me("test");
        h.pid = pid;
        h.host = host.to_owned();
        h.start_time = start_time;
        h
    }

    /// The boot time from the clocks is the one /proc/stat gives (the
    /// kernel's `btime`), to the second or, at a second's edge, one off.
    #[test]
    fn boot_time_from_the_clocks_is_proc_stats_btime() {
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat is readable");
        let btime: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
            .expect("/proc/stat has a btime line");
        let ours = boot_time().expect("the clocks give a boot time");
        assert!(
            ours.abs_diff(btime) <= 1,
            "clocks: {ours}, /proc/stat: {btime}"
        );
    }

    #[test]
    fn judges_each_holder() {
        let me = Holder::me("test");
        let start = me.start_time.expect("our own start time is readable");
        let here = host_name();
        let holders = [
            me.clone(),
            holder(me.pid, &here, None),
            holder(me.pid, &here, Some(start - 3600)),
            holder(me.pid, &here, Some(start + START_TIME_TOLERANCE)),
            holder(unused_pid(), &here, Some(start)),
            holder(me.pid, "some-other-host.invalid", Some(start)),
            holder(0, &here, None),
        ];
        let refs: Vec<&Holder> = holders.iter().collect();
        assert_eq!(
            liveness(&refs),
            vec![
                Liveness::Alive,
                Liveness::Alive,
                Liveness::Recycled,
                Liveness::Alive,
                Liveness::Dead,
                Liveness::OtherHost,
                Liveness::Unknown,
            ]
        );
    }

    #[test]
    fn a_reaped_child_is_dead_and_a_running_one_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let h = holder(pid, &host_name(), start_time_of(pid));
        assert_eq!(liveness(&[&h]), vec![Liveness::Alive]);
        child.kill().unwrap();
        // Unreaped, it is a zombie: it holds no files any more. The kernel
        // finishes the kill asynchronously, hence the bounded wait.
        let mut seen = liveness(&[&h]);
        for _ in 0..100 {
            if seen == vec![Liveness::Dead] {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            seen = liveness(&[&h]);
        }
        assert_eq!(seen, vec![Liveness::Dead]);
        child.wait().unwrap();
        assert_eq!(liveness(&[&h]), vec![Liveness::Dead]);
    }

    #[test]
    fn records_round_trip_and_hostile_ones_are_refused_or_tamed() {
        let me = Holder::me("jsafe merge");
        let back = Holder::parse(me.to_line().as_bytes()).unwrap();
        assert_eq!(back.pid, me.pid);
        assert_eq!(back.command, "jsafe merge");
        for bad in [
            &b""[..],
            b"garbage",
            b"\xff\xfe\x00",
            br#"{"pid": -1, "host": "h"}"#,
            br#"{"pid": 1e300, "host": "h"}"#,
            br#"{"pid": 99999999999, "host": "h"}"#,
        ] {
            assert_eq!(Holder::parse(bad), None, "{bad:?}");
        }
        let huge = vec![b' '; MAX_RECORD + 1];
        assert_eq!(Holder::parse(&huge), None);
        for acquired in ["1e300", "-1", "1e11", "0"] {
            let text = format!(r#"{{"pid": 1, "host": "h", "acquired": {acquired}}}"#);
            let h = Holder::parse(text.as_bytes()).unwrap();
            assert_eq!(h.held_for(), Duration::ZERO, "{acquired}");
            assert!(h.describe().contains("pid 1"));
        }
    }

    #[test]
    fn no_holders_no_answers() {
        assert!(liveness(&[]).is_empty());
    }

    #[test]
    fn user_names_come_from_the_user_database() {
        assert_eq!(user_name(0), "root");
        assert_eq!(user_name(u32::MAX - 7), "");
    }
}
