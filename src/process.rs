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
