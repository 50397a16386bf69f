//! UTC timestamps without a calendar crate: backup names that sort by time, and
//! RFC 3339 strings for records and reports.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// (year, month, day, hour, minute, second, nanosecond) in UTC.
fn civil(t: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = if month <= 2 { y + 1 } else { y };
    (
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos(),
    )
}

/// Length of a [`stamp`].
pub(crate) const STAMP_LEN: usize = 26;

/// `20261122T013046.123456789Z`: fixed width, so names sort by time.
pub(crate) fn stamp(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ns) = civil(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}.{ns:09}Z")
}

/// `2026-11-22T01:30:46.123Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ns) = civil(t);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ns / 1_000_000
    )
}

/// The time a [`stamp`] names, if it is one.
pub(crate) fn parse_stamp(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != STAMP_LEN || !b.is_ascii() || b[8] != b'T' || b[15] != b'.' || b[25] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec, ns) = (num(9..11)?, num(11..13)?, num(13..15)?, num(16..25)?);
    // Inverse of `civil` (days-from-civil).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, u32::try_from(ns).ok()?))
}

/// "3s", "12m", "5h", "2d": how long, for people.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        3600 => "1h".to_owned(),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A duration as given in options: "30s", "1.5s", "2m", "1h30m", "forever".
pub(crate) fn human_precise(d: Duration) -> String {
    if d.as_secs() >= 100 * 365 * 86_400 {
        return "forever".to_owned();
    }
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        return format!("{}s", d.as_secs_f64());
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, len) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    if rest > 0 || out.is_empty() {
        out.push_str(&format!("{rest}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let t = UNIX_EPOCH + Duration::new(1_795_311_046, 123_456_789);
        assert_eq!(stamp(t), "20261122T013046.123456789Z");
        assert_eq!(rfc3339(t), "2026-11-22T01:30:46.123Z");
        assert_eq!(parse_stamp(&stamp(t)), Some(t));
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
        assert_eq!(parse_stamp(&stamp(leap)), Some(leap));
        assert_eq!(parse_stamp("20261122T013046Z"), None);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(3600)), "1h");
        assert_eq!(human(Duration::from_secs(5400)), "90m");
        assert_eq!(human(Duration::from_secs(3 * 86_400)), "3d");
        assert_eq!(human_precise(Duration::from_secs(30)), "30s");
        assert_eq!(human_precise(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_precise(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_precise(Duration::ZERO), "0s");
        assert_eq!(human_precise(Duration::MAX), "forever");
    }
}
