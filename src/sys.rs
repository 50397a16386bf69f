//! The one place with `unsafe`: a libc call std does not offer.
//!
//! Writing past `RLIMIT_FSIZE` raises SIGXFSZ, whose default action kills the
//! process before it can say anything. jsafe ignores the signal so that the write
//! fails with EFBIG instead, the temp file is removed, and the user gets one clear
//! line and exit code 7. Neither std nor rustix's safe API can set a signal
//! disposition, hence this small declaration of `signal(2)`.

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
pub fn ignore_file_size_signal() {
    const SIGXFSZ: i32 = 25;
    const SIG_IGN: usize = 1;
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: setting SIG_IGN for one signal touches no memory of ours and is
    // async-signal-safe; it happens once at start-up before any thread exists.
    unsafe {
        signal(SIGXFSZ, SIG_IGN);
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
pub fn ignore_file_size_signal() {}
