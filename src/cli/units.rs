//! The unit parsers of the command line: durations, sizes, counts. An empty
//! value (an empty variable) is the default where there is one.

use std::time::Duration;

use crate::commands::shared::limits::{DEFAULT_FILTER_TIMEOUT, FilterMemory};
use crate::store::Options;

/// Defaults used when a variable is set but empty (it counts as unset).
const DEFAULT_TIMEOUT: Duration = Options::DEFAULT_TIMEOUT;
const DEFAULT_KEEP: usize = Options::DEFAULT_KEEP;

/// `--timeout`: a duration, or `forever`/`inf`/`infinity` (wait for ever);
/// empty (an empty variable) is the default.
pub(super) fn parse_timeout(s: &str) -> Result<Duration, String> {
    if s.trim().is_empty() {
        return Ok(DEFAULT_TIMEOUT);
    }
    if matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "forever" | "inf" | "infinity"
    ) {
        return Ok(Duration::MAX);
    }
    parse_duration(s)
}

pub(super) fn parse_filter_timeout(s: &str) -> Result<Duration, String> {
    if s.trim().is_empty() {
        return Ok(DEFAULT_FILTER_TIMEOUT);
    }
    parse_duration(s)
}

pub(super) fn parse_keep(s: &str) -> Result<usize, String> {
    if s.trim().is_empty() {
        return Ok(DEFAULT_KEEP);
    }
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of backups"))
}

pub(super) fn parse_filter_memory(s: &str) -> Result<FilterMemory, String> {
    if s.trim().is_empty() || s.trim().eq_ignore_ascii_case("auto") {
        return Ok(FilterMemory::Auto);
    }
    parse_size(s).map(FilterMemory::Fixed)
}

/// A size: "1048576", "512K", "64M", "2G", "1T" (powers of 1024).
pub(super) fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (like 512M or 2G)"))?;
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use K, M, G or T)")),
    };
    n.checked_mul(1usize << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("'{s}' is out of range"))
}

/// A size for people: "2G", "512M", "1000".
pub(crate) fn show_size(n: usize) -> String {
    for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

/// A duration as systemd writes them: a bare number is seconds (`30`,
/// `0.5`, `1e19`); otherwise numbers with units, `30s`, `2m`, `1h30m`, `1w`, `500ms`,
/// `2 days` (the `humantime` crate's units: ns, us, ms, s, m, h, d, w, M, y
/// and their long names), and one number with a fraction, `1.5h`.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let shown = || format!("'{s}' is not a duration (like 30, 30s, 2m, 1h30m, 1w)");
    if t.is_empty() {
        return Err(shown());
    }
    // A bare number, as `f64` reads it (`30`, `0.5`, `1e19`): seconds.
    if t.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && let Ok(secs) = t.parse::<f64>()
    {
        return Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is out of range"));
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => Err(format!("'{s}' is out of range")),
        Err(_) => fractional(t).ok_or_else(shown)?,
    }
}

/// `1.5h`: one number with a fraction and one unit (humantime takes whole
/// numbers only). None when `t` is not of that form.
fn fractional(t: &str) -> Option<Result<Duration, String>> {
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    if !num.contains('.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let unit = humantime::parse_duration(&format!("1{}", unit.trim())).ok()?;
    Some(
        Duration::try_from_secs_f64(n * unit.as_secs_f64())
            .map_err(|_| format!("'{t}' is out of range")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = Duration::from_secs;
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30"), Ok(secs(30)));
        assert_eq!(parse_duration("30s"), Ok(secs(30)));
        assert_eq!(parse_duration(" 2m "), Ok(secs(120)));
        assert_eq!(parse_duration("1h"), Ok(secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("1h 30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("1w"), Ok(secs(7 * 86400)));
        assert_eq!(parse_duration("2d"), Ok(secs(2 * 86400)));
        assert_eq!(parse_duration("2days"), Ok(secs(2 * 86400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5h"), Ok(secs(5400)));
        assert_eq!(parse_duration("1e3"), Ok(secs(1000)));
        assert!(parse_duration("1e19").is_ok());
        for bad in [
            "",
            "1x",
            "h",
            "-1",
            "1.2.3",
            "1h-",
            "forever",
            "inf",
            "NaN",
            "1e30",
            "99999999999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(parse_timeout(""), Ok(DEFAULT_TIMEOUT));
        assert_eq!(parse_timeout("forever"), Ok(Duration::MAX));
        assert_eq!(parse_timeout("inf"), Ok(Duration::MAX));
        assert_eq!(parse_timeout("Infinity"), Ok(Duration::MAX));
        assert_eq!(parse_timeout("1m"), Ok(secs(60)));
        assert_eq!(parse_filter_timeout(""), Ok(DEFAULT_FILTER_TIMEOUT));
        assert_eq!(parse_filter_timeout("2m"), Ok(secs(120)));
        assert_eq!(parse_keep(" "), Ok(DEFAULT_KEEP));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1X").is_err());
        assert_eq!(show_size(2 << 30), "2G");
    }

    #[test]
    fn filter_memory_parses() {
        assert_eq!(parse_filter_memory("auto"), Ok(FilterMemory::Auto));
        assert_eq!(parse_filter_memory(""), Ok(FilterMemory::Auto));
        assert_eq!(
            parse_filter_memory("512M"),
            Ok(FilterMemory::Fixed(512 << 20))
        );
        assert!(parse_filter_memory("0").is_err());
    }
}
