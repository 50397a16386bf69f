//! Who a process is: our own identity for lock holder records, and whether a
//! recorded holder is still alive (sysinfo, with the start time so that a
//! recycled PID is not mistaken for the holder). The write path only calls the
//! cheap `self_*` functions; sysinfo is for status and the sweeper.

use std::sync::OnceLock;

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

/// Start time of this process in seconds since the Unix epoch, computed the way
/// sysinfo computes it (boot time + start ticks / clock ticks per second).
pub fn self_start_time() -> Option<u64> {
    start_time_of("self")
}

/// Start time of process `pid` (on this host), as for [`self_start_time`].
pub fn start_time_of(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and ')': skip past the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    // After ")" come fields 3.. ; starttime is field 22, i.e. index 19 here.
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let hz = rustix::param::clock_ticks_per_second();
    if hz == 0 {
        return None;
    }
    Some(boot_time()? + ticks / hz)
}

fn boot_time() -> Option<u64> {
    static BOOT: OnceLock<Option<u64>> = OnceLock::new();
    *BOOT.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        stat.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
    })
}

/// The name of user `uid`: `$USER`/`$LOGNAME` when set (what the user calls
/// themselves), else the first `/etc/passwd` entry with that uid (cron and
/// service environments often set neither), else empty.
pub fn user_name(uid: u32) -> String {
    if let Some(name) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
    {
        return name;
    }
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else {
        return String::new();
    };
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id: u32 = fields.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_owned())
        })
        .unwrap_or_default()
}

/// This process's command line, shortened for a lock record.
pub fn self_command_line() -> String {
    let mut cmd = std::env::args().collect::<Vec<_>>().join(" ");
    if cmd.len() > 300 {
        let mut cut = 300;
        while !cmd.is_char_boundary(cut) {
            cut -= 1;
        }
        cmd.truncate(cut);
        cmd.push('…');
    }
    cmd
}

/// Whether the process recorded as a lock holder still exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
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
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Alive => "alive",
            Liveness::Dead => "dead",
            Liveness::Recycled => "recycled",
            Liveness::OtherHost => "other-host",
            Liveness::Unknown => "unknown",
        }
    }

    /// The holder is certainly gone (on this host).
    pub fn is_gone(self) -> bool {
        matches!(self, Liveness::Dead | Liveness::Recycled)
    }
}

/// Start times are compared with this slack, in seconds: the recorded one and
/// sysinfo's are both whole seconds derived from boot time and clock ticks, and
/// may round differently.
pub const START_TIME_TOLERANCE: u64 = 2;

/// Judge every holder at once: one sysinfo refresh of just the PIDs needed, so a
/// scan of thousands of lock files costs one pass over a few `/proc` entries.
/// The answers are in the order of `holders`.
pub fn liveness(holders: &[&crate::store::Holder]) -> Vec<Liveness> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

    let here = host_name();
    let me = std::process::id();
    let mut pids: Vec<Pid> = holders
        .iter()
        .filter(|h| h.host == here && h.pid != 0)
        .map(|h| Pid::from_u32(h.pid))
        .collect();
    if pids.is_empty() {
        return holders
            .iter()
            .map(|h| {
                if h.host != here {
                    Liveness::OtherHost
                } else {
                    Liveness::Unknown
                }
            })
            .collect();
    }
    // Our own PID tells whether process information is readable at all.
    pids.push(Pid::from_u32(me));
    pids.sort_unstable();
    pids.dedup();
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&pids),
        true,
        ProcessRefreshKind::nothing(),
    );
    let readable = system.process(Pid::from_u32(me)).is_some();
    // Many lock files may name the same gone PID: probe each once.
    let mut unseen: std::collections::HashMap<u32, Liveness> = std::collections::HashMap::new();

    holders
        .iter()
        .map(|h| {
            if h.host != here {
                return Liveness::OtherHost;
            }
            if h.pid == 0 || !readable {
                return Liveness::Unknown;
            }
            match system.process(Pid::from_u32(h.pid)) {
                Some(p) if p.status() == ProcessStatus::Zombie => Liveness::Dead,
                Some(p) => match h.start_time {
                    Some(t) if p.start_time().abs_diff(t) > START_TIME_TOLERANCE => {
                        Liveness::Recycled
                    }
                    _ => Liveness::Alive,
                },
                None => *unseen.entry(h.pid).or_insert_with(|| exists_unseen(h.pid)),
            }
        })
        .collect()
}

/// A PID sysinfo did not see: gone, or there but hidden from us (a `/proc`
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Holder;

    fn holder(pid: u32, host: &str, start_time: Option<u64>) -> Holder {
        Holder {
            pid,
            host: host.to_owned(),
            start_time,
            command: "test".to_owned(),
            acquired: 0.0,
        }
    }

    /// A PID no process has: past the kernel's maximum.
    fn unused_pid() -> u32 {
        let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4_194_304);
        max + 1
    }

    #[test]
    fn judges_each_holder() {
        let me = Holder::me();
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
        let start = start_time_of(&pid.to_string());
        let h = holder(pid, &host_name(), start);
        assert_eq!(liveness(&[&h]), vec![Liveness::Alive]);
        child.kill().unwrap();
        // Unreaped, it is a zombie: it holds no files any more. The kernel
        // finishes the kill asynchronously, hence the bounded wait.
        let mut seen = liveness(&[&h]);
        for _ in 0..100 {
            if seen == vec![Liveness::Dead] {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            seen = liveness(&[&h]);
        }
        assert_eq!(seen, vec![Liveness::Dead]);
        child.wait().unwrap();
        assert_eq!(liveness(&[&h]), vec![Liveness::Dead]);
    }

    #[test]
    fn no_holders_no_answers() {
        assert!(liveness(&[]).is_empty());
    }
}
