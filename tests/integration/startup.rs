//! What the program's start-up depends on (docs/decisions/startup.md): on
//! Linux with glibc the binary is position-dependent (no relocations for the
//! loader to apply) and loads no libm.so (the one function it took from it,
//! `log2`, is defined by src/main.rs). Read from the ELF file itself.

use crate::common;

/// The ELF type (2 = executable, 3 = shared object / PIE) and the
/// libraries the binary names as needed (DT_NEEDED).
fn elf_type_and_needed(path: &str) -> (u16, Vec<String>) {
    let b = std::fs::read(path).expect("the binary is readable");
    assert_eq!(&b[..4], b"\x7fELF", "{path} is an ELF file");
    assert_eq!(b[4], 2, "64-bit ELF");
    assert_eq!(b[5], 1, "little-endian ELF");
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let usize_at = |o: usize| usize::try_from(u64_at(o)).expect("offset fits");
    let e_type = u16_at(16);
    let shoff = usize_at(0x28);
    let shentsize = usize::from(u16_at(0x3a));
    let shnum = usize::from(u16_at(0x3c));
    // Section headers: type (4 bytes at +4), offset (+0x18), size (+0x20),
    // link (+0x28: for SHT_DYNAMIC, the string table's section index).
    let section = |i: usize| shoff + i * shentsize;
    let dynamic = (0..shnum)
        .map(section)
        .find(|&h| u32_at(h + 4) == 6)
        .expect("the binary is dynamically linked (SHT_DYNAMIC)");
    let strtab = usize_at(section(u32_at(dynamic + 0x28) as usize) + 0x18);
    let (start, size) = (usize_at(dynamic + 0x18), usize_at(dynamic + 0x20));
    let mut needed = Vec::new();
    for entry in (start..start + size).step_by(16) {
        match u64_at(entry) {
            0 => break,
            1 => {
                let name = strtab + usize_at(entry + 8);
                let end = b[name..].iter().position(|&c| c == 0).expect("terminated");
                needed.push(String::from_utf8_lossy(&b[name..name + end]).into_owned());
            }
            _ => {}
        }
    }
    (e_type, needed)
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_program_is_position_dependent_and_loads_no_libm() {
    let (e_type, needed) = elf_type_and_needed(common::bin());
    assert_eq!(e_type, 2, "ET_EXEC (non-PIE), not {e_type}");
    assert!(
        needed.iter().any(|n| n.starts_with("libc.so")),
        "the reading is right: libc is needed ({needed:?})"
    );
    assert!(
        !needed.iter().any(|n| n.starts_with("libm.so")),
        "libm.so is needed again ({needed:?}): some new code calls a C math function"
    );
}

/// The `log2` the program defines serves num-bigint's radix conversions:
/// big integers still print and parse digit for digit.
#[test]
fn big_integers_convert_through_the_programs_log2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = "123456789012345678901234567890123456789";
    let out = common::run_stdin(
        dir.path(),
        &["read", "-", "-c", "(.[0] | tostring), (.[1] | tojson)"],
        format!("[{big}, {big}0]").as_bytes(),
    );
    out.ok();
    assert_eq!(out.stdout_str(), format!("\"{big}\"\n\"{big}0\"\n"));
}

/// Every file under `dir` (the state directory included), read whole.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
        }
    }
    out
}

/// Started with descriptors 0, 1 and 2 closed, jsafe works as with them on
/// /dev/null: a command under its lock gets /dev/null, a read exits 0 (its
/// output goes nowhere), a change is made, and the message of a refused
/// change lands in no file jsafe opened.
#[test]
fn closed_standard_descriptors_behave_as_dev_null() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f.json"), "{\"a\": 1}\n").expect("write");
    std::fs::write(dir.path().join("bad.json"), "{\"a\":").expect("write");
    let closed = |args: &[&str]| {
        common::command("sh")
            .current_dir(dir.path())
            .args(["-c", "exec \"$0\" \"$@\" <&- >&- 2>&-", common::bin()])
            .args(args)
            .status()
            .expect("sh runs")
    };
    // What a command run under the lock inherits as its descriptors 0 and
    // 2: jsafe's own, /dev/null. Left closed, the first file jsafe opened
    // would take number 0: the lock file, which the command would then
    // read as its stdin.
    assert_eq!(
        closed(&[
            "lock",
            "f.json",
            "--",
            "sh",
            "-c",
            "readlink /proc/$$/fd/0 /proc/$$/fd/2 > fds.txt; true"
        ])
        .code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fds.txt")).expect("written"),
        "/dev/null\n/dev/null\n"
    );
    std::fs::remove_file(dir.path().join("fds.txt")).expect("removed");
    assert_eq!(closed(&["read", "f.json", ".a"]).code(), Some(0));
    assert_eq!(closed(&["merge", "f.json", "{\"a\": 2}"]).code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.json")).expect("read"),
        "{\"a\": 2}\n"
    );
    // Corrupt: refused with its documented code, after the state directory,
    // lock and journal were opened.
    assert_eq!(closed(&["merge", "bad.json", "{\"b\": 1}"]).code(), Some(5));
    for (path, bytes) in all_files(dir.path()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("jsafe:"),
            "a message landed in {}",
            path.display()
        );
    }
}

/// A reader that stops early (`jsafe read F | head -c 10`) ends jsafe
/// quietly with exit 0: SIGPIPE is ignored and the EPIPE error ends the
/// output, as before the program's own C `main`.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let big: Vec<String> = (0..100_000).map(|i| format!("{{\"n\": {i}}}")).collect();
    std::fs::write(
        dir.path().join("big.json"),
        format!("[{}]\n", big.join(",\n")),
    )
    .expect("write");
    let mut child = common::jsafe(dir.path())
        .args(["read", "big.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("jsafe starts");
    let mut first = [0u8; 10];
    child
        .stdout
        .take()
        .expect("piped")
        .read_exact(&mut first)
        .expect("some output");
    // The read end is closed here (dropped); the rest of the output has
    // nowhere to go.
    let out = child.wait_with_output().expect("jsafe ends");
    assert_eq!(&first[..2], b"[{", "the output began with the file");
    assert_eq!(out.status.code(), Some(0), "status {:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
