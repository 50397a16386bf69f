//! The command `jsafe lock` runs while it holds a lock (a local file's, or
//! an etcd key's lease): how it is named in the lock record, and how it is
//! run to its end.

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use crate::commands::diag;
use crate::error::{Error, Kind, Result};

/// The holder's name in the lock record: "jsafe lock (<CMD's name>)", never
/// its arguments, at most 64 characters, no control characters (the record
/// is shown in tables).
pub(crate) fn holder_command(program: &OsStr) -> String {
    let name: String = Path::new(program)
        .file_name()
        .unwrap_or(program)
        .to_string_lossy()
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("jsafe lock ({name})")
}

/// Run `cmd` (whose program is `program`, set up for exec) to its end and
/// return its exit
/// status: 128+N when it died of signal N; 127 when it is not found, 126
/// when it cannot be run (as a shell says). `started` is told its pid once
/// it runs.
pub(crate) fn run(mut cmd: Command, program: &OsStr, started: impl FnOnce(u32)) -> Result<i32> {
    let running = crate::sys::ChildRunning::start();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            drop(running);
            let shown = Path::new(program).display();
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                diag(&format!("{shown}: command not found"));
                127
            } else {
                diag(&format!("{shown}: cannot run: {e}"));
                126
            };
            return Ok(code);
        }
    };
    started(child.id());
    let status = child
        .wait()
        .map_err(|e| Error::new(Kind::Io, format!("cannot wait for the command: {e}")))?;
    drop(running);
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    })
}
