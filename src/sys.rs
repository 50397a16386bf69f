//! The one place with `unsafe`: libc calls std does not offer, both about how
//! the process dies.
//!
//! - Writing past `RLIMIT_FSIZE` raises SIGXFSZ, whose default action kills the
//!   process before it can say anything. jsafe ignores the signal so that the
//!   write fails with EFBIG instead, the temp file is removed, and the user gets
//!   one clear line and exit code 7.
//! - A jq filter that recurses without end (`def f: 1 + f; f`) or nests its own
//!   text thousands deep overflows the stack. Rust's runtime
//!   reports that with two lines and an abort; jsafe instead prints one line and
//!   exits with 4 (bad input) when a filter was running, 1 otherwise. Nothing has
//!   been written at that point (filters run before the new version exists), and
//!   the kernel drops the file's lock with the process.
//!
//! Neither std nor rustix's safe API can set a signal disposition, hence these
//! small declarations of `signal(2)` and `sigaction(2)`.

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    )
))]
mod imp {
    use std::sync::atomic::Ordering;

    const SIGBUS: i32 = 7;
    const SIGSEGV: i32 = 11;
    const SIGXFSZ: i32 = 25;
    const SIG_IGN: usize = 1;
    const SA_ONSTACK: i32 = 0x0800_0000;

    /// glibc's and musl's `struct sigaction` on these targets: handler, a
    /// 1024-bit mask, flags, restorer (u32 words keep 32-bit targets unpadded).
    #[repr(C)]
    struct SigAction {
        handler: usize,
        mask: [u32; 32],
        flags: i32,
        restorer: usize,
    }

    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
        fn sigaction(signum: i32, act: *const SigAction, old: *mut SigAction) -> i32;
        fn write(fd: i32, buf: *const u8, count: usize) -> isize;
        fn _exit(status: i32) -> !;
    }

    const FILTER_MESSAGE: &[u8] = b"jsafe: the jq filter recursed or nested too deeply (stack overflow); nothing was written\n";
    const INTERNAL_MESSAGE: &[u8] =
        b"jsafe: internal error: stack overflow or memory fault (this is a bug in jsafe)\n";

    /// Runs on the thread's alternate signal stack (std gives every thread it
    /// starts one); only async-signal-safe calls: an atomic load, write, _exit.
    extern "C" fn on_fault(_signum: i32) {
        let (message, code) = if crate::json::filter::RUNNING.load(Ordering::Relaxed) {
            (FILTER_MESSAGE, 4)
        } else {
            (INTERNAL_MESSAGE, 1)
        };
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is static.
        unsafe {
            write(2, message.as_ptr(), message.len());
            _exit(code);
        }
    }

    pub fn ignore_file_size_signal() {
        // SAFETY: setting SIG_IGN for one signal touches no memory of ours and is
        // async-signal-safe; it happens once at start-up before any thread exists.
        unsafe {
            signal(SIGXFSZ, SIG_IGN);
        }
    }

    pub fn report_stack_overflow() {
        let act = SigAction {
            handler: on_fault as extern "C" fn(i32) as usize,
            mask: [0; 32],
            flags: SA_ONSTACK,
            restorer: 0,
        };
        // SAFETY: `act` is a valid, initialized struct sigaction for this target
        // and outlives the calls; the old action is not asked for. Called once at
        // start-up before any thread exists.
        unsafe {
            sigaction(SIGSEGV, &act, std::ptr::null_mut());
            sigaction(SIGBUS, &act, std::ptr::null_mut());
        }
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    )
)))]
mod imp {
    pub fn ignore_file_size_signal() {}
    pub fn report_stack_overflow() {}
}

/// Make writes past `RLIMIT_FSIZE` fail with EFBIG instead of killing jsafe.
pub fn ignore_file_size_signal() {
    imp::ignore_file_size_signal();
}

/// Turn a stack overflow into one line on stderr and exit code 4 (a filter was
/// running) or 1.
pub fn report_stack_overflow() {
    imp::report_stack_overflow();
}
