//! The `.jsafe` layout, both ways: the names the store makes for a data file,
//! and those names parsed back (for `status`, `cleanup-locks` and rotation).
//! This is the only module that knows how the names are spelled.
//!
//! ```text
//! <dir>/<name>                                        the data file
//! <dir>/.jsafe/locks/<key>.lock                       lock file + holder record
//! <dir>/.jsafe/backups/<key>/<seq>.<stamp>.json       replaced versions
//! <dir>/.jsafe/quarantine/<key>.<stamp>.corrupt       corrupt versions, never deleted
//! <dir>/.jsafe/schemas/<key>.json                     the JSON Schema attached to a file
//! <dir>/.jsafe/journal.jsonl, journal.<n>.jsonl       audit journal and its rotations
//! <dir>/.jsafe/journal.lock                           guards journal appends and rotation
//! <dir>/.jsafe-tmp.<key>.<8 random>                   a write in progress
//! ```
//!
//! The **key** of a data file is its name when that is at most
//! [`PLAIN_NAME_MAX`] bytes; a longer name (up to the filesystem's 255) becomes
//! its first [`KEY_PREFIX`] bytes, `~` and 16 hex digits of its SHA-256, exactly
//! [`PLAIN_NAME_MAX`] + 1 bytes long. Keys of the two kinds never collide (their
//! lengths differ), and every name made from a key fits in 255 bytes. A long
//! key maps back to its data file by computing the keys of the directory's
//! names.
//!
//! Backup names start with a sequence number, one more than the largest
//! present, zero-padded so that names sort as text in version order whatever
//! the clock did; the UTC time in the name is for people.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::time;

/// Name of the state directory beside managed files.
pub(crate) const STATE_DIR: &str = ".jsafe";
/// Lock files, in `.jsafe/`.
pub(crate) const LOCKS: &str = "locks";
/// Backup directories (one per data file), in `.jsafe/`.
pub(crate) const BACKUPS: &str = "backups";
/// Quarantined corrupt versions, in `.jsafe/`.
pub(crate) const QUARANTINE: &str = "quarantine";
/// Attached JSON Schemas (one per data file), in `.jsafe/`.
pub(crate) const SCHEMAS: &str = "schemas";
/// The journal, in `.jsafe/`.
pub(crate) const JOURNAL: &str = "journal.jsonl";
/// The journal's own lock, in `.jsafe/`: only writers can open it (it is
/// never readable by others), so no reader can stall a writer through it.
pub(crate) const JOURNAL_LOCK: &str = "journal.lock";
/// Suffix of lock files.
pub(crate) const LOCK_SUFFIX: &str = ".lock";
/// Prefix of temp files in the data directory.
pub(crate) const TEMP_PREFIX: &str = ".jsafe-tmp.";
/// Length of the random part of a temp file name.
pub(crate) const TEMP_RANDOM: usize = 8;
/// Longest data file name used as its key unchanged.
pub(crate) const PLAIN_NAME_MAX: usize = 199;
/// Bytes of a long name kept in its key.
pub(crate) const KEY_PREFIX: usize = PLAIN_NAME_MAX - 16;
/// Digits of a backup's sequence number.
const SEQ_DIGITS: usize = 10;

/// The key of data file `name` (see the module head).
pub(crate) fn key(name: &OsStr) -> OsString {
    let b = name.as_bytes();
    if b.len() <= PLAIN_NAME_MAX {
        return name.to_os_string();
    }
    let digest = Sha256::digest(b);
    let mut out = b[..KEY_PREFIX].to_vec();
    out.push(b'~');
    for byte in &digest[..8] {
        out.extend_from_slice(format!("{byte:02x}").as_bytes());
    }
    OsString::from_vec(out)
}

/// Whether `key` is the key of `name`.
pub(crate) fn is_key_of(key: &OsStr, name: &OsStr) -> bool {
    self::key(name) == key
}

/// The data file name a key stands for, when it is the name itself (short
/// names); None for a long name's key, which needs the directory's names.
pub(crate) fn plain_name(key: &OsStr) -> Option<&OsStr> {
    (key.len() <= PLAIN_NAME_MAX).then_some(key)
}

/// `<key>.lock`
pub(crate) fn lock_name(key: &OsStr) -> OsString {
    let mut n = key.to_os_string();
    n.push(LOCK_SUFFIX);
    n
}

/// `x.json.lock` → key `x.json`.
pub(crate) fn lock_key(lock_name: &OsStr) -> Option<OsString> {
    let stem = lock_name.as_bytes().strip_suffix(LOCK_SUFFIX.as_bytes())?;
    valid_key(stem).then(|| OsStr::from_bytes(stem).to_os_string())
}

/// `.jsafe-tmp.<key>.<random>`
pub(crate) fn temp_name(key: &OsStr, random: &str) -> OsString {
    let mut n = OsString::from(TEMP_PREFIX);
    n.push(key);
    n.push(".");
    n.push(random);
    n
}

/// `.jsafe-tmp.x.json.Ab3dE6gH` → key `x.json`.
pub(crate) fn temp_key(name: &OsStr) -> Option<OsString> {
    let b = name.as_bytes().strip_prefix(TEMP_PREFIX.as_bytes())?;
    let dot = b.iter().rposition(|&c| c == b'.')?;
    let (key, random) = (&b[..dot], &b[dot + 1..]);
    if !valid_key(key)
        || random.len() != TEMP_RANDOM
        || !random.iter().all(u8::is_ascii_alphanumeric)
    {
        return None;
    }
    Some(OsStr::from_bytes(key).to_os_string())
}

/// The random part of a temp file name.
pub(crate) fn temp_random(name: &OsStr) -> Option<String> {
    temp_key(name)?;
    let b = name.as_bytes();
    let random = &b[b.len() - TEMP_RANDOM..];
    Some(String::from_utf8_lossy(random).into_owned())
}

/// A backup's name, parsed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BackupName {
    /// Version order: one more than the largest before it (0 for names of the
    /// older, time-only form, which sort before every numbered one).
    pub seq: u64,
    /// When the version was replaced, by the clock of the writer.
    pub time: SystemTime,
}

impl BackupName {
    /// `<seq>.<stamp>.json`
    pub(crate) fn name(&self) -> String {
        format!(
            "{:0width$}.{}.json",
            self.seq,
            time::stamp(self.time),
            width = SEQ_DIGITS
        )
    }

    /// Parse a backup file name: `<seq>.<stamp>.json`, or `<stamp>.json` as
    /// earlier versions wrote.
    pub(crate) fn parse(name: &OsStr) -> Option<BackupName> {
        let s = name.to_str()?.strip_suffix(".json")?;
        if let Some((seq, stamp)) = s.split_once('.')
            && seq.len() == SEQ_DIGITS
            && seq.bytes().all(|b| b.is_ascii_digit())
        {
            return Some(BackupName {
                seq: seq.parse().ok()?,
                time: time::parse_stamp(stamp)?,
            });
        }
        Some(BackupName {
            seq: 0,
            time: time::parse_stamp(s)?,
        })
    }
}

/// `<key>.<stamp>.corrupt`
pub(crate) fn quarantine_name(key: &OsStr, t: SystemTime) -> OsString {
    let mut n = key.to_os_string();
    n.push(format!(".{}.corrupt", time::stamp(t)));
    n
}

/// `x.json.<stamp>.corrupt` → key `x.json`.
pub(crate) fn quarantine_key(name: &OsStr) -> Option<OsString> {
    let b = name.as_bytes().strip_suffix(b".corrupt")?;
    let cut = b.len().checked_sub(time::STAMP_LEN + 1)?;
    if b.get(cut) != Some(&b'.') {
        return None;
    }
    let stamp = std::str::from_utf8(&b[cut + 1..]).ok()?;
    time::parse_stamp(stamp)?;
    let key = &b[..cut];
    valid_key(key).then(|| OsStr::from_bytes(key).to_os_string())
}

/// `<key>.json`: the schema attached to the data file of `key`, in
/// `.jsafe/schemas/`.
pub(crate) fn schema_name(key: &OsStr) -> OsString {
    let mut n = key.to_os_string();
    n.push(".json");
    n
}

/// `journal.<n>.jsonl`
pub(crate) fn rotated_journal(n: usize) -> String {
    format!("journal.{n}.jsonl")
}

/// A key is a non-empty file name: no `/`, no NUL, not `.` or `..`.
fn valid_key(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= PLAIN_NAME_MAX + 1
        && b != b"."
        && b != b".."
        && !b.contains(&b'/')
        && !b.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn names_map_back_to_their_key() {
        let k = OsStr::new("a.b.json");
        assert_eq!(lock_key(&lock_name(k)).as_deref(), Some(k));
        assert_eq!(lock_key(OsStr::new(".lock")), None);
        assert_eq!(lock_key(OsStr::new("a.json")), None);
        assert_eq!(temp_key(&temp_name(k, "Ab3dE6gH")).as_deref(), Some(k));
        assert_eq!(temp_key(OsStr::new(".jsafe-tmp.a.json.short")), None);
        assert_eq!(temp_key(OsStr::new(".jsafe-tmp..Ab3dE6gH")), None);
        let t = UNIX_EPOCH + Duration::new(1_795_311_046, 123_456_789);
        assert_eq!(quarantine_key(&quarantine_name(k, t)).as_deref(), Some(k));
        assert_eq!(quarantine_key(OsStr::new("a.json.2026.corrupt")), None);
    }

    #[test]
    fn every_name_of_a_255_byte_name_fits() {
        for len in [1, 198, 199, 200, 236, 254, 255] {
            let name = OsString::from_vec(vec![b'n'; len]);
            let k = key(&name);
            assert!(is_key_of(&k, &name));
            assert_eq!(plain_name(&k).is_some(), len <= PLAIN_NAME_MAX);
            let t = SystemTime::now();
            for made in [
                lock_name(&k),
                temp_name(&k, "Ab3dE6gH"),
                quarantine_name(&k, t),
            ] {
                assert!(made.len() <= 255, "{len}: {}", made.len());
            }
            assert_eq!(lock_key(&lock_name(&k)), Some(k.clone()));
            assert_eq!(temp_key(&temp_name(&k, "Ab3dE6gH")), Some(k.clone()));
            assert_eq!(quarantine_key(&quarantine_name(&k, t)), Some(k.clone()));
        }
        // Two long names that share their first bytes get different keys.
        let a = OsString::from_vec([vec![b'x'; 240], b"a".to_vec()].concat());
        let b = OsString::from_vec([vec![b'x'; 240], b"b".to_vec()].concat());
        assert_ne!(key(&a), key(&b));
        assert_eq!(key(&a).len(), PLAIN_NAME_MAX + 1);
    }

    #[test]
    fn backup_names_sort_by_sequence_whatever_the_clock() {
        let late = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let early = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let first = BackupName { seq: 9, time: late };
        let second = BackupName {
            seq: 10,
            time: early,
        };
        assert!(first.name() < second.name());
        assert_eq!(BackupName::parse(OsStr::new(&first.name())), Some(first));
        let legacy = format!("{}.json", time::stamp(late));
        assert_eq!(
            BackupName::parse(OsStr::new(&legacy)),
            Some(BackupName { seq: 0, time: late })
        );
        for bad in [
            "x.json",
            "0000000001.json",
            "12.20261122T013046.123456789Z.json",
        ] {
            assert_eq!(BackupName::parse(OsStr::new(bad)), None, "{bad}");
        }
    }
}
