//! The one place with `unsafe`: process-wide signal dispositions and the
//! memory counter, which neither std nor rustix's safe API offers. Everything
//! here is about how the process ends; every call's return value is checked.
//!
//! - **SIGXFSZ** is ignored: writing past `RLIMIT_FSIZE` then fails with EFBIG,
//!   the temp file is removed, and the user gets one line and exit 7 instead
//!   of a silent kill.
//! - **SIGINT, SIGTERM, SIGHUP**: the temp file of a write in progress (if it
//!   has a name at that moment, see `jsafe::store::interrupt`) is removed and
//!   the process exits with 128 + the signal number, as a shell reports it.
//!   The target is untouched: the rename had not happened, or it had and the
//!   change is complete.
//! - **SIGSEGV/SIGBUS** on the alternate signal stack: a jq filter that
//!   recursed without end overflowed the stack. One line, exit 4 while a
//!   filter runs (nothing has been written then), 1 otherwise.
//! - **SIGALRM** ends a filter that runs past its time limit (a timer, so no
//!   thread is needed): one line, exit 4. Firing and disarming exclude each
//!   other, so once the message is printed nothing is written.
//! - **The memory counter** ([`Counting`], the binary's global allocator)
//!   ends a filter whose allocations pass its limit: one line, exit 4,
//!   instead of an abort when memory runs out.
//! - **A contained filter** (`update --stream` runs its filter on a worker
//!   thread, [`contain_this_thread`]): passing the memory limit or
//!   overflowing the stack there stops that thread only, so the main thread
//!   can commit the values before the failing one and then exit 4.
//! - **`jsafe lock`**: while its command runs ([`ChildRunning`]), SIGINT,
//!   SIGTERM and SIGHUP do not end jsafe (they reach the command, which is
//!   in the same process group, and jsafe waits for it and exits with its
//!   status); the command starts with SIGXFSZ at its default
//!   ([`child_defaults`]), and writes its own pid into the holder record
//!   before exec ([`record_child_pid`]). An inherited descriptor is taken
//!   over by duplicating it ([`inherited_fd`]).
//!
//! - **In place of Rust's runtime start-up** ([`stand_in_for_runtime`]): on
//!   Linux with glibc, `src/main.rs` is the C `main` itself, because the
//!   runtime's start-up reads `/proc/self/maps` to find the main thread's
//!   stack guard, about a tenth of a small call. What jsafe needs of that
//!   start-up is done here instead: closed descriptors 0, 1 and 2 are opened
//!   on `/dev/null`, SIGPIPE is ignored, and the main thread (like a
//!   contained filter's thread, [`contain_this_thread`]) gets an alternate
//!   signal stack for `on_fault`.
//! - **A large read buffer** is advised to the kernel for transparent huge
//!   pages ([`advise_huge_pages`], `madvise(2)`): the read that fills it then
//!   faults once per 2 MiB instead of once per 4 KiB page.
//!
//! Handlers only do async-signal-safe things: atomics, `write(2)`,
//! `unlinkat(2)`, `_exit(2)`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use crate::store::interrupt;

/// Exit code of a runaway filter: bad input.
const FILTER_EXIT: i32 = 4;

/// True while a jq filter compiles or runs: a stack overflow then is the
/// filter's doing (bad input).
static FILTER_RUNNING: AtomicBool = AtomicBool::new(false);

/// A message prepared in advance for a handler: (pointer, length) of a leaked
/// byte string, swapped atomically.
struct Message {
    ptr: AtomicPtr<u8>,
    len: AtomicUsize,
    /// The text last set (never touched by a handler): setting the same
    /// text again, as a stream re-arming its limits per value does, leaks
    /// nothing more.
    last: std::sync::Mutex<String>,
}

impl Message {
    const fn new() -> Message {
        Message {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            len: AtomicUsize::new(0),
            last: std::sync::Mutex::new(String::new()),
        }
    }

    /// Set the text (leaked: one per distinct text, a handful per process).
    fn set(&self, text: String) {
        if let Ok(mut last) = self.last.lock() {
            if *last == text {
                return;
            }
            last.clone_from(&text);
        }
        let bytes: &'static mut [u8] = Box::leak(text.into_bytes().into_boxed_slice());
        self.len.store(0, Ordering::SeqCst);
        self.ptr.store(bytes.as_mut_ptr(), Ordering::SeqCst);
        self.len.store(bytes.len(), Ordering::SeqCst);
    }

    /// Write it (or `fallback`) to stderr; async-signal-safe.
    fn write_or(&self, fallback: &[u8]) {
        let ptr = self.ptr.load(Ordering::SeqCst);
        let len = self.len.load(Ordering::SeqCst);
        let (p, n) = if ptr.is_null() || len == 0 {
            (fallback.as_ptr(), fallback.len())
        } else {
            (ptr.cast_const(), len)
        };
        // SAFETY: (p, n) is a leaked, never freed byte string or a static one;
        // write(2) is async-signal-safe. A failed write changes nothing.
        unsafe {
            libc::write(2, p.cast(), n);
        }
    }
}

static TIMEOUT_MESSAGE: Message = Message::new();
static MEMORY_MESSAGE: Message = Message::new();

fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(code) }
}

/// Install the dispositions described in the module head. Called once at
/// start-up, before any thread exists. Errors are returned, not ignored.
pub(crate) fn install() -> std::io::Result<()> {
    // SAFETY: each call sets a disposition for one signal with a valid,
    // zero-initialised sigaction whose handler only does async-signal-safe
    // things; no thread exists yet.
    unsafe {
        set_disposition(libc::SIGXFSZ, libc::SIG_IGN, 0)?;
        let stop = on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            set_disposition(sig, stop, 0)?;
        }
        let fault = on_fault as extern "C" fn(libc::c_int) as libc::sighandler_t;
        set_disposition(libc::SIGSEGV, fault, libc::SA_ONSTACK)?;
        set_disposition(libc::SIGBUS, fault, libc::SA_ONSTACK)?;
        let alarm = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        set_disposition(libc::SIGALRM, alarm, 0)?;
    }
    Ok(())
}

/// # Safety
/// `handler` must be SIG_IGN, SIG_DFL, or an `extern "C" fn(c_int)` that only
/// does async-signal-safe things.
unsafe fn set_disposition(
    sig: libc::c_int,
    handler: libc::sighandler_t,
    flags: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the caller
    // vouches for the handler.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler;
        act.sa_flags = flags;
        if libc::sigemptyset(&mut act.sa_mask) != 0
            || libc::sigaction(sig, &act, std::ptr::null_mut()) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// True while `jsafe lock` waits for its command.
static CHILD_RUNNING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(sig: libc::c_int) {
    if CHILD_RUNNING.load(Ordering::SeqCst) {
        // The command got it too (same process group) and decides; jsafe
        // waits for it. Nothing of ours is in flight meanwhile.
        return;
    }
    let mut name = [0u8; interrupt::NAME_ROOM];
    if let Some((fd, _)) = interrupt::in_flight(&mut name) {
        // SAFETY: `name` is NUL-terminated by `in_flight`; unlinkat(2) is
        // async-signal-safe; a stale descriptor makes it fail harmlessly.
        unsafe {
            libc::unlinkat(fd, name.as_ptr().cast(), 0);
        }
    }
    exit_now(128 + sig);
}

/// What a filter's stack overflow prints when the command has not said
/// more (a command that writes adds that nothing was written, see
/// [`set_overflow_line`]; a read has nothing to say about writing).
const FILTER_OVERFLOW: &[u8] =
    b"jsafe: the jq filter recursed or nested too deeply (stack overflow)\n";
static OVERFLOW_MESSAGE: Message = Message::new();

/// The line (without "jsafe: " and newline) a filter's stack overflow
/// prints from now on.
pub(crate) fn set_overflow_line(line: &str) {
    OVERFLOW_MESSAGE.set(format!("jsafe: {line}\n"));
}
const INTERNAL_FAULT: &[u8] =
    b"jsafe: internal error: stack overflow or memory fault (this is a bug in jsafe)\n";

extern "C" fn on_fault(_sig: libc::c_int) {
    if FILTER_RUNNING.load(Ordering::SeqCst) && CONTAINED.get() {
        // A contained filter's thread overflowed its stack: the thread that
        // waits for it commits what came before and ends the process.
        contained_stop(Stop::StackOverflow);
    }
    if FILTER_RUNNING.load(Ordering::SeqCst) {
        OVERFLOW_MESSAGE.write_or(FILTER_OVERFLOW);
        exit_now(FILTER_EXIT);
    }
    // SAFETY: static buffer, async-signal-safe write.
    unsafe {
        libc::write(2, INTERNAL_FAULT.as_ptr().cast(), INTERNAL_FAULT.len());
    }
    exit_now(1);
}

/// Marks `jsafe lock`'s command as running while it lives: stop signals
/// then leave jsafe waiting for it.
pub(crate) struct ChildRunning(());

impl ChildRunning {
    /// The command is about to start.
    pub(crate) fn start() -> ChildRunning {
        CHILD_RUNNING.store(true, Ordering::SeqCst);
        ChildRunning(())
    }
}

impl Drop for ChildRunning {
    fn drop(&mut self) {
        CHILD_RUNNING.store(false, Ordering::SeqCst);
    }
}

/// Start `cmd` with the signal dispositions a program expects: SIGXFSZ,
/// which jsafe ignores, back at its default (caught signals are reset by
/// exec itself).
pub(crate) fn child_defaults(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls signal(2), which is async-signal-safe; its result is checked.
    unsafe {
        cmd.pre_exec(|| {
            if libc::signal(libc::SIGXFSZ, libc::SIG_DFL) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Have the child `cmd` starts write its own pid into `jsafe lock`'s holder
/// record before it execs: `head`, the pid in decimal and `tail` at offset 0
/// of the lock file `fd` (open in the child until exec), cut there. So the
/// record names the command's pid before the command can run or print. Best
/// effort, as every holder record: a failed write leaves the record written
/// when the lock was taken, and never stops the command.
pub(crate) fn record_child_pid(
    cmd: &mut std::process::Command,
    fd: std::os::fd::RawFd,
    head: Vec<u8>,
    tail: Vec<u8>,
) {
    use std::os::unix::process::CommandExt;
    let at = head.len();
    let mut line = head;
    // Room for every pid and the tail now: nothing is allocated in the child.
    line.reserve_exact(10 + tail.len());
    // SAFETY: the closure runs in the child between fork and exec. It only
    // writes into `line` within the capacity reserved above (no allocation,
    // no lock) and calls getpid(2), pwrite(2) and ftruncate(2), which are
    // async-signal-safe; their failure is ignored (best effort).
    unsafe {
        cmd.pre_exec(move || {
            let mut pid = u32::try_from(libc::getpid()).unwrap_or(0);
            let mut digits = [0u8; 10];
            let mut start = digits.len();
            loop {
                start -= 1;
                digits[start] = b'0' + (pid % 10) as u8;
                pid /= 10;
                if pid == 0 {
                    break;
                }
            }
            line.truncate(at);
            line.extend_from_slice(&digits[start..]);
            line.extend_from_slice(&tail);
            let wrote = libc::pwrite(fd, line.as_ptr().cast(), line.len(), 0);
            if usize::try_from(wrote).is_ok_and(|n| n == line.len()) {
                let len = libc::off_t::try_from(line.len()).unwrap_or(libc::off_t::MAX);
                libc::ftruncate(fd, len);
            }
            Ok(())
        });
    }
}

/// A descriptor of our own for the inherited descriptor number `raw`
/// (closed on exec), sharing its open file description — and so any flock
/// held through it. Err (EBADF) when `raw` is not open. The number itself is
/// left alone: it may be in use by code that does not know about us.
pub(crate) fn inherited_fd(raw: i32) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if raw < 0 {
        return Err(std::io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on any number is defined (EBADF when it
    // is not open) and returns a new descriptor that nothing else owns.
    let new = unsafe { libc::fcntl(raw, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `new` was just created for us and is owned by nothing else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(new) })
}

/// Marks a filter as running (for the fault handler) while it lives.
pub(crate) struct FilterRunning(());

impl FilterRunning {
    /// A filter starts compiling or running.
    pub(crate) fn start() -> FilterRunning {
        FILTER_RUNNING.store(true, Ordering::SeqCst);
        FilterRunning(())
    }
}

impl Drop for FilterRunning {
    fn drop(&mut self) {
        FILTER_RUNNING.store(false, Ordering::SeqCst);
    }
}

/// Why a contained filter stopped (see [`contain_this_thread`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// It allocated past its memory limit.
    Memory,
    /// It overflowed its thread's stack.
    StackOverflow,
}

thread_local! {
    /// True on a thread whose filter runs are contained.
    static CONTAINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
/// True once a contained thread exists: a limit passed on another thread is
/// then not a filter's doing.
static CONTAINING: AtomicBool = AtomicBool::new(false);
/// 0 while no contained filter has stopped; else 1 + the [`Stop`].
static STOPPED: AtomicU8 = AtomicU8::new(0);

/// Contain the filter runs of this thread (a worker that runs nothing
/// else): a filter that passes its memory limit or overflows the stack here
/// does not end the process. The thread stops for good where it is (it
/// holds no lock of ours), [`contained_stopped`] says why, and the thread
/// waiting for it decides: `update --stream` commits the values before the
/// failing one, then exits 4. The time limit of a contained run is the
/// waiting thread's to keep (no timer signal).
pub(crate) fn contain_this_thread() {
    CONTAINED.set(true);
    CONTAINING.store(true, Ordering::SeqCst);
    THREAD_ALT_STACK.with(|_| {});
}

thread_local! {
    /// The alternate signal stack of a contained filter's thread, given up
    /// when the thread ends.
    static THREAD_ALT_STACK: Option<AltStack> = AltStack::install();
}

/// Bytes of an alternate signal stack: `on_fault` needs little (atomics,
/// `write`, `_exit`), the kernel's signal frame some kilobytes more.
const ALT_STACK_SIZE: usize = 64 << 10;

/// An alternate signal stack in place for the thread that installed it,
/// until dropped. Without one, a thread whose stack overflows cannot run a
/// handler and is killed by SIGSEGV.
struct AltStack {
    /// Capacity only: a stack needs no initial contents, and pages nothing
    /// has written are not faulted in (`vec![0; n]` would zero them all).
    memory: Vec<u8>,
}

impl AltStack {
    /// None where the system refuses (the thread then has none, as before).
    fn install() -> Option<AltStack> {
        let mut memory: Vec<u8> = Vec::with_capacity(ALT_STACK_SIZE);
        let stack = libc::stack_t {
            ss_sp: memory.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: memory.capacity(),
        };
        // SAFETY: `stack` describes memory this value owns; it stays
        // allocated until `drop`, which disables the stack first.
        let r = unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) };
        (r == 0).then_some(AltStack { memory })
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let off = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling this thread's alternate stack before its memory
        // (`self.memory`) is freed; no handler runs on it now (a handler
        // ends the process or the thread).
        unsafe { libc::sigaltstack(&off, std::ptr::null_mut()) };
        let _ = self.memory.capacity();
    }
}

/// What Rust's runtime start-up does that jsafe needs, for a program whose
/// C `main` is its own (`src/main.rs` on Linux with glibc; see the module
/// head). Called first, before any thread exists:
/// - descriptors 0, 1 and 2, when closed, are opened on `/dev/null` (as the
///   runtime does), so that no file jsafe opens later takes their number
///   and receives its output or messages;
/// - SIGPIPE is ignored: writing to a closed pipe is an EPIPE error, which
///   the output code ends quietly on (a child started with
///   `std::process::Command` gets the default back, as before);
/// - the main thread gets an alternate signal stack, kept for the whole run.
///
/// Err only when a closed descriptor cannot be opened on `/dev/null`.
pub(crate) fn stand_in_for_runtime() -> std::io::Result<()> {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd; timeout 0.
    let polled = loop {
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
        if r != -1 {
            break true;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            // poll unusable here (as the runtime allows): ask each descriptor.
            _ => break false,
        }
    };
    for pfd in &fds {
        let closed = if polled {
            pfd.revents & libc::POLLNVAL != 0
        } else {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            let r = unsafe { libc::fcntl(pfd.fd, libc::F_GETFD) };
            r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
        };
        if closed {
            // SAFETY: a constant, NUL-terminated path. Descriptors below this
            // one are open by now, so the lowest free number is this one.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd == -1 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    // SAFETY: ignoring a signal; no thread exists yet.
    unsafe { set_disposition(libc::SIGPIPE, libc::SIG_IGN, 0)? };
    std::mem::forget(AltStack::install());
    Ok(())
}

/// Why the contained filter stopped, if it did.
pub(crate) fn contained_stopped() -> Option<Stop> {
    match STOPPED.load(Ordering::SeqCst) {
        1 => Some(Stop::Memory),
        2 => Some(Stop::StackOverflow),
        _ => None,
    }
}

/// Record `why` and stop this thread for good; async-signal-safe (called
/// from the fault handler on the alternate stack, and from the allocator).
fn contained_stop(why: Stop) -> ! {
    let code = match why {
        Stop::Memory => 1,
        Stop::StackOverflow => 2,
    };
    let _ = STOPPED.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
    loop {
        // SAFETY: pause(2) is async-signal-safe; it only waits. The
        // process ends from another thread.
        unsafe {
            libc::pause();
        }
    }
}

const DISARMED: u8 = 0;
const ARMED: u8 = 1;
const FIRED: u8 = 2;
static TIMER: AtomicU8 = AtomicU8::new(DISARMED);

extern "C" fn on_alarm(_sig: libc::c_int) {
    if TIMER
        .compare_exchange(ARMED, FIRED, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        TIMEOUT_MESSAGE
            .write_or(b"jsafe: the jq filter ran past its time limit; nothing was written\n");
        exit_now(FILTER_EXIT);
    }
}

/// A filter's limits, armed while it lives: time (a timer signal) and memory
/// (the counting allocator). Dropping it disarms both; if the timer fired
/// meanwhile, the process is already ending and the drop never returns.
pub(crate) struct Limits(());

impl Limits {
    /// Arm `time` and `memory` (bytes the filter may allocate beyond what the
    /// process holds now); `what` is the one line printed when one of them
    /// ends the process (without "jsafe: " and newline). Err when the timer
    /// cannot be armed: the filter must not run unguarded.
    pub(crate) fn arm(
        time: Option<Duration>,
        memory: Option<usize>,
        timeout_line: &str,
        memory_line: &str,
    ) -> std::io::Result<Limits> {
        TIMEOUT_MESSAGE.set(format!("jsafe: {timeout_line}\n"));
        MEMORY_MESSAGE.set(format!("jsafe: {memory_line}\n"));
        if let Some(extra) = memory {
            let live = LIVE.load(Ordering::SeqCst);
            LIMIT.store(live.saturating_add(extra).max(1), Ordering::SeqCst);
        }
        if let Some(t) = time.filter(|t| !t.is_zero()) {
            TIMER.store(ARMED, Ordering::SeqCst);
            if let Err(e) = set_timer(t) {
                TIMER.store(DISARMED, Ordering::SeqCst);
                LIMIT.store(0, Ordering::SeqCst);
                return Err(e);
            }
        }
        Ok(Limits(()))
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        LIMIT.store(0, Ordering::SeqCst);
        if TIMER
            .compare_exchange(ARMED, DISARMED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
            && TIMER.load(Ordering::SeqCst) == FIRED
        {
            // The handler is printing the timeout and exiting: never return
            // to the write.
            loop {
                std::thread::park();
            }
        }
        let _ = set_timer(Duration::ZERO);
    }
}

fn set_timer(t: Duration) -> std::io::Result<()> {
    let secs = libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX);
    let value = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: secs,
            tv_usec: libc::suseconds_t::from(t.subsec_micros()),
        },
    };
    // SAFETY: a valid itimerval; the old value is not asked for.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &value, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Bytes the process holds through the global allocator.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Above this, while a filter runs, the process ends (0: no limit).
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// The binary's global allocator: the system allocator, counting what is held
/// so that a filter's memory limit can be enforced.
pub struct Counting;

impl Counting {
    /// Called before an allocation of `by` more bytes: ends the process when
    /// a running filter would pass its limit.
    #[inline]
    fn check(by: usize) {
        let limit = LIMIT.load(Ordering::Relaxed);
        if limit != 0
            && LIVE.load(Ordering::Relaxed).saturating_add(by) > limit
            && FILTER_RUNNING.load(Ordering::Relaxed)
        {
            if CONTAINED.get() {
                contained_stop(Stop::Memory);
            }
            if !CONTAINING.load(Ordering::Relaxed) {
                Counting::out_of_memory();
            }
        }
    }

    /// An allocation failed or would pass the limit while a filter runs.
    fn out_of_memory() -> ! {
        if CONTAINED.get() {
            contained_stop(Stop::Memory);
        }
        MEMORY_MESSAGE
            .write_or(b"jsafe: the jq filter used more memory than allowed; nothing was written\n");
        exit_now(FILTER_EXIT)
    }

    #[inline]
    fn done(p: *mut u8, by: usize) -> *mut u8 {
        if p.is_null() {
            if FILTER_RUNNING.load(Ordering::Relaxed) {
                Counting::out_of_memory();
            }
        } else {
            LIVE.fetch_add(by, Ordering::Relaxed);
        }
        p
    }
}

// SAFETY: every call is passed to the system allocator unchanged; the counter
// only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::check(layout.size());
        // SAFETY: forwarded with the caller's layout.
        Counting::done(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Counting::check(layout.size());
        // SAFETY: forwarded with the caller's layout.
        Counting::done(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grows = new_size.saturating_sub(layout.size());
        Counting::check(grows);
        // SAFETY: forwarded; `ptr` came from this allocator with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            return Counting::done(p, 0);
        }
        if new_size >= layout.size() {
            LIVE.fetch_add(grows, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        p
    }
}

/// Ask the kernel to back the part of `buf` (a read buffer not yet written)
/// that covers whole 2 MiB pages with transparent huge pages
/// (`MADV_HUGEPAGE`). Advice only: its result is ignored on purpose (a kernel
/// without transparent huge pages says EINVAL and reads as before), and
/// nothing is read or written through the pointer.
pub(crate) fn advise_huge_pages(buf: &mut [std::mem::MaybeUninit<u8>]) {
    const HUGE: usize = 2 << 20;
    let start = buf.as_mut_ptr() as usize;
    let Some(end) = start.checked_add(buf.len()) else {
        return;
    };
    let Some(first) = start.checked_next_multiple_of(HUGE) else {
        return;
    };
    let last = end - end % HUGE;
    if last <= first {
        return;
    }
    // SAFETY: [first, last) lies inside `buf`, memory this process owns for
    // the whole call; MADV_HUGEPAGE changes how that memory is backed, never
    // its contents or whether it is mapped.
    let _ = unsafe {
        libc::madvise(
            first as *mut libc::c_void,
            last - first,
            libc::MADV_HUGEPAGE,
        )
    };
}
