//! `jsafe lock FILE [--shared] [-E N] -- CMD [ARGS...]`: run CMD while
//! holding FILE's lock — the same lock every jsafe change of FILE takes — so
//! that several steps of a script happen as one.
//!
//! The lock is handed to CMD as an inherited descriptor named in
//! `JSAFE_LOCK_FD=<fd>:<dev>:<ino>` (a comma-separated list when `jsafe lock`
//! runs inside another on a different file). jsafe commands inside CMD on
//! the same FILE adopt it ([`super::shared::inherited`]) instead of waiting for their own
//! parent; other files lock as usual. Under `--shared`, a nested change of
//! FILE is refused (a shared lock cannot become exclusive).
//!
//! The holder record names jsafe's pid, "jsafe lock (<CMD's name>)" (never
//! its arguments) and CMD's pid, so `status` and timeout messages name the
//! command. Exit status: CMD's; 128+N if CMD died of signal N; 127 when CMD
//! is not found, 126 when it cannot be run (as a shell); 3 (or `-E N`) when
//! the lock is not granted within --timeout.

use std::os::fd::AsRawFd;
use std::process::Command;

use super::shared::child;
use super::shared::inherited::{ENV, inherited};
use super::{Global, diag};
use crate::cli::LockArgs;
use crate::error::{Error, Kind, Result};
use crate::process::Holder;
use crate::store::{self, Lock, Mode};

pub(crate) fn run(g: &Global, args: &LockArgs) -> Result<i32> {
    let file = &args.file;
    if store::Backend::is_etcd(file) {
        return super::etcd::lock(g, args);
    }
    let Some(program) = args.command.first() else {
        return Err(Error::new(Kind::Usage, "no command given after --"));
    };
    let command = child::holder_command(program);
    let mode = if args.shared {
        Mode::Shared
    } else {
        Mode::Exclusive
    };
    let conflict = |e: Error| -> Result<i32> {
        match (e.kind(), args.conflict_exit_code) {
            (Kind::LockTimeout, Some(code)) => {
                diag(e.message());
                Ok(i32::from(code))
            }
            _ => Err(e),
        }
    };
    let inherited = inherited(file)?;
    let mut taken: Option<Lock> = None;
    let lock: &Lock = match &inherited {
        // Already held by an enclosing `jsafe lock`: exclusive covers both.
        Some(l) if l.mode() == Mode::Exclusive || mode == Mode::Shared => l,
        Some(_) => return conflict(store::shared_refusal(file)),
        None => {
            let wait = g.waiter(file);
            match store::lock_file(file, mode, g.timeout, &wait, &command) {
                Ok(l) => &*taken.insert(l),
                Err(e) => return conflict(e),
            }
        }
    };

    // The descriptor CMD inherits: a duplicate without close-on-exec.
    let handed = rustix::io::dup(lock.file())
        .and_then(|fd| {
            rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty())?;
            Ok(fd)
        })
        .map_err(|e| Error::io("cannot hand the lock to the command:", file, e.into()))?;
    let st = rustix::fs::fstat(&handed)
        .map_err(|e| Error::io("cannot check the lock of", file, e.into()))?;
    let entry = format!("{}:{}:{}", handed.as_raw_fd(), store::dev(&st), st.st_ino);
    let value = match std::env::var(ENV) {
        Ok(outer) if !outer.is_empty() && outer.len() < 4096 => format!("{outer},{entry}"),
        _ => entry,
    };

    let mut cmd = Command::new(program);
    cmd.args(&args.command[1..]).env(ENV, value);
    crate::sys::child_defaults(&mut cmd);
    // The record naming the command and its pid is written by the command's
    // own process before exec: it is there before the command can run.
    if let Some(l) = &taken
        && mode == Mode::Exclusive
        && l.records()
    {
        let (head, tail) = Holder::me(&command).line_around_child_pid();
        crate::sys::record_child_pid(&mut cmd, l.file().as_raw_fd(), head, tail);
    }
    child::run(cmd, program, |pid| {
        drop(handed);
        g.detail(&format!(
            "{}: lock held ({}) while pid {pid} runs",
            file.display(),
            if mode == Mode::Shared {
                "shared"
            } else {
                "exclusive"
            },
        ));
    })
}
