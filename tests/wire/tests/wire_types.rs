//! The generated `wire` date/time types: what they accept, what they write, and that no input
//! makes them panic (they decode untrusted payloads).

use pydantic_orders::types::wire::{Date, DateTime, Duration, Time};

#[test]
fn date_times_accept_what_producers_write_and_write_rfc_3339() {
    let cases = [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.123456789+05:30", "2026-01-02T03:04:05.123456789+05:30"),
        ("2026-01-02T03:04:05.100Z", "2026-01-02T03:04:05.1Z"),
        // pydantic's naive datetimes: read as UTC.
        ("2026-01-02T03:04:05", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.123456", "2026-01-02T03:04:05.123456Z"),
        ("2026-01-02 03:04:05", "2026-01-02T03:04:05Z"),
    ];
    for (input, output) in cases {
        let parsed = DateTime::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(serde_json::to_value(parsed).unwrap(), serde_json::json!(output), "{input}");
    }
    for bad in
        ["2026-01-02", "2026-13-02T03:04:05Z", "2026-01-02T03:04:05+25:00", "yesterday", "2026-01-02T03:04:05 Z", ""]
    {
        assert!(DateTime::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn dates_times_and_durations_round_trip() {
    assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
    assert!(Date::parse("2023-02-29").is_none() && Date::parse("2024-2-29").is_none());
    for t in ["03:04:05", "03:04:05.5", "23:59:59.123456789Z", "00:00:00-05:30"] {
        assert_eq!(Time::parse(t).unwrap().to_string(), t);
    }
    assert!(Time::parse("24:00:00").is_none() && Time::parse("03:04:05.").is_none());
    for (input, output) in [
        ("P1DT2H30M0.5S", "P1DT2H30M0.5S"),
        ("PT90M", "PT1H30M"),
        ("-PT5S", "-PT5S"),
        ("P2W", "P14D"),
        ("PT0S", "PT0S"),
    ] {
        assert_eq!(Duration::parse(input).unwrap().to_string(), output, "{input}");
    }
    for bad in ["P1Y", "P1M", "PT", "P", "1D", "PT1.5H", "P99999999999999999999D", "P9999999999999999DT1S"] {
        assert!(Duration::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn no_input_makes_the_parsers_panic() {
    // Seeded mutations of valid inputs (multi-byte characters included), 200,000 runs.
    let seeds = ["2026-01-02T03:04:05.123456+05:30", "2024-02-29", "23:59:59.5Z", "P1DT2H30M0.5S", "ü€😀"];
    let alphabet: Vec<char> = "0123456789-:.TZPDHMSW+ zé€😀\u{0}".chars().collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..200_000 {
        let mut chars: Vec<char> = seeds[i % seeds.len()].chars().collect();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % (chars.len() + 1);
            let c = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 if at < chars.len() => chars[at] = c,
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.insert(at, c),
            }
        }
        let text: String = chars.into_iter().collect();
        let _ = (DateTime::parse(&text), Date::parse(&text), Time::parse(&text), Duration::parse(&text));
        let _ = serde_json::from_value::<DateTime>(serde_json::Value::String(text));
    }
}

#[test]
fn deeply_nested_payloads_are_refused_without_overflowing_the_stack() {
    // `Tree` is a recursive untagged union; 100,000 levels of nesting on a 2 MiB test thread.
    let depth = 100_000;
    let payload = format!("{}{}", r#"{"children":["#.repeat(depth), "]}".repeat(depth));
    let result = serde_json::from_str::<wire_types::types::Tree>(&payload);
    assert!(result.is_err());
    // Within the limit it decodes.
    let payload = format!("{}\"leaf\"{}", r#"{"children":["#.repeat(60), "]}".repeat(60));
    assert!(serde_json::from_str::<wire_types::types::Tree>(&payload).is_ok());
}
