//! Payloads written by real producers decode into the generated types with every value intact, and
//! what the types re-encode is accepted by the producer's own model (pydantic) with the same values.
//!
//! Fixtures: `tests/fixtures/pydantic/` (made by `scripts/pydantic_fixtures.py` and
//! `scripts/js_fixtures.mjs`); pydantic comes from `scripts/install-pydantic.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use pydantic_orders::types::Order;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Decodes and re-encodes every line; returns the re-encoded lines and the number of values compared.
fn round_trip(fixture: &str) -> (Vec<String>, usize, usize) {
    let text = std::fs::read_to_string(root().join("tests/fixtures/pydantic").join(fixture)).unwrap();
    let (mut out, mut values, mut messages) = (Vec::new(), 0, 0);
    for (n, line) in text.lines().enumerate() {
        let order: Order =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{fixture}:{}: does not decode: {e}\n{line}", n + 1));
        let encoded = serde_json::to_string(&order).unwrap();
        let sent: Value = serde_json::from_str(line).unwrap();
        let returned: Value = serde_json::from_str(&encoded).unwrap();
        assert!(
            wire_tests::same(&sent, &returned, &mut values),
            "{fixture}:{}: a value changed\n  sent:     {line}\n  returned: {encoded}",
            n + 1
        );
        // Decoding what we wrote gives the same value again.
        assert_eq!(serde_json::from_str::<Order>(&encoded).unwrap(), order, "{fixture}:{}", n + 1);
        out.push(encoded);
        messages += 1;
    }
    (out, values, messages)
}

/// `scripts/pydantic_fixtures.py check`: pydantic validates every re-encoded message and compares it.
fn pydantic_accepts(fixture: &str, returned: &[String]) -> String {
    let dir = tempfile_dir();
    let path = dir.join(format!("{fixture}.returned"));
    std::fs::write(&path, returned.join("\n") + "\n").unwrap();
    let venv = root().join("target/pydantic-venv/bin/python");
    let mut command = if venv.exists() { Command::new(venv) } else { Command::new("python3") };
    command.env("PYTHONPATH", root().join("target/pydantic-lib"));
    let output = command
        .arg(root().join("scripts/pydantic_fixtures.py"))
        .arg("check")
        .arg(root().join("tests/fixtures/pydantic").join(fixture))
        .arg(&path)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pydantic check failed (install it with `bash scripts/install-pydantic.sh`):\n{stdout}\n{stderr}"
    );
    stdout
}

fn tempfile_dir() -> PathBuf {
    let dir = root().join("target/wire-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn pydantic_payloads_round_trip_and_pydantic_accepts_the_rust_encoding() {
    let (returned, values, messages) = round_trip("orders.pydantic.jsonl");
    assert_eq!(messages, 200);
    let report = pydantic_accepts("orders.pydantic.jsonl", &returned);
    println!("pydantic fixtures: {messages} messages, {values} values compared in Rust; {report}");
    assert!(report.contains("0 rejected, 0 different"), "{report}");
}

#[test]
fn javascript_payloads_round_trip_and_pydantic_accepts_the_rust_encoding() {
    let (returned, values, messages) = round_trip("orders.js.jsonl");
    assert_eq!(messages, 200);
    let report = pydantic_accepts("orders.js.jsonl", &returned);
    println!("JavaScript fixtures: {messages} messages, {values} values compared in Rust; {report}");
    assert!(report.contains("0 rejected, 0 different"), "{report}");
}

#[test]
fn go_payloads_round_trip_and_pydantic_accepts_the_rust_encoding() {
    // encoding/json: RFC 3339 with nanoseconds and zone offsets, `1e+308`, `null` for nil pointers.
    let (returned, values, messages) = round_trip("orders.go.jsonl");
    assert_eq!(messages, 200);
    let report = pydantic_accepts("orders.go.jsonl", &returned);
    println!("Go fixtures: {messages} messages, {values} values compared in Rust; {report}");
    assert!(report.contains("0 rejected, 0 different"), "{report}");
}
