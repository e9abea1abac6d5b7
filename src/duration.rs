//! Go duration syntax (`72h`, `1m30s`, `500ms`), the only form NACK and the
//! NATS server accept. `d` (days) is accepted on input and converted.

use std::time::Duration;

/// `i64::MAX` nanoseconds: the largest Go `time.Duration`.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses a Go duration (plus `d` for days). Returns a message saying what is wrong.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; use Go syntax such as `30s`, `5m`, `72h` or `1h30m`");
    // Go's time.Duration is an int64 of nanoseconds (about 292 years); the server accepts no more.
    let too_long = || format!("`{text}` is too long a duration (at most 2562047h, Go's time.Duration)");
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut nanos: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale: f64 = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        // Checked in floating point first: `as` saturates, and a sum of saturated parts would overflow.
        let part = (number * scale).round();
        if !part.is_finite() || part > MAX_NANOS as f64 {
            return Err(too_long());
        }
        nanos = nanos.checked_add(part as u128).filter(|n| *n <= MAX_NANOS).ok_or_else(too_long)?;
    }
    u64::try_from(nanos).map(Duration::from_nanos).map_err(|_| too_long())
}

/// Formats like Go's `time.Duration.String()` minus zero units: `72h`, `1m30s`, `500ms`.
pub fn format(d: Duration) -> String {
    let total = d.as_nanos();
    if total == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = total;
    for (unit, size) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        let n = rest / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax_and_days() {
        assert_eq!(parse("72h").unwrap(), Duration::from_secs(72 * 3600));
        assert_eq!(parse("3d").unwrap(), Duration::from_secs(72 * 3600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse("3 days").is_err());
        assert!(parse("s").is_err());
        assert!(parse("10").is_err());
        assert!(parse("999999999999999999999999999999h1ns").unwrap_err().contains("too long"));
        assert!(parse("2562047h1h").unwrap_err().contains("too long"));
        assert!(parse("1e400s").is_err());
        assert!(parse("2562047h").is_ok());
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(format(parse("3d").unwrap()), "72h");
        assert_eq!(format(parse("90s").unwrap()), "1m30s");
        assert_eq!(format(parse("1ns").unwrap()), "1ns");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
