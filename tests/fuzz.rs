//! Structure-aware mutation fuzzing of whole documents through the CLI binary (dev profile:
//! overflow checks on), each run in its own process with a time and memory limit, so a panic,
//! a stack overflow (abort), a hang or runaway memory is a finding, not a crashed test runner.
//!
//! Bounded for CI: `FUZZ_SECONDS` (default 30) of wall time, seeded by `FUZZ_SEED` (default
//! fixed, so a failure names a reproducible case). Longer locally:
//! `FUZZ_SECONDS=900 FUZZ_SEED=$RANDOM cargo test --test fuzz -- --nocapture` (`FUZZ_BIN` runs a copy
//! of the binary instead, so the workspace can be rebuilt meanwhile).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Per run: wall time and address-space limits.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);
const RUN_MEMORY_KIB: u64 = 2 * 1024 * 1024;

#[path = "support/mutation.rs"]
mod mutation;

use mutation::{Rng, pointers, remove};

const STRINGS: &[&str] = &[
    "",
    "x.{y}.*",
    ">",
    "a.{b\nc}",
    "```rust\npanic!()\n```",
    "\u{202e}\0\r\u{7f}",
    "$JS.API.STREAM.DELETE.x",
    "999999999999999999999999999999h",
    "-1s",
    "3.1.0",
    "2.0.0",
    "#/components/schemas",
    "../../../../etc/passwd",
    "/dev/zero",
    "%2e%2e/x.yaml",
    "orders.{id}",
    "object",
    "array",
    "null",
    "date-time",
    "byStartSequence",
];

fn random_value(rng: &mut Rng, pointers: &[String]) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(rng.next() as i64),
        2 => json!(u64::MAX),
        3 => json!(-1),
        4 => json!(1e300),
        5 => json!(rng.pick(STRINGS)),
        6 => json!({}),
        7 => json!([]),
        // A reference to some node of the document: cycles, refs to non-schemas, …
        8 | 9 => json!({"$ref": format!("#{}", rng.pick(pointers))}),
        10 => json!({"allOf": [{"$ref": format!("#{}", rng.pick(pointers))}]}),
        _ => json!({"oneOf": [{"$ref": format!("#{}", rng.pick(pointers))}, {"type": "string"}]}),
    }
}

fn set(doc: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
    }
}

/// One structure-aware mutation; returns what it did, to reproduce.
fn mutate(doc: &mut Value, rng: &mut Rng) -> String {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pointer = rng.pick(&all).clone();
    match rng.below(7) {
        0 | 1 => {
            let v = random_value(rng, &all);
            let text = format!("set {pointer} = {v}");
            set(doc, &pointer, v);
            text
        }
        2 => {
            remove(doc, &pointer);
            format!("remove {pointer}")
        }
        3 => {
            // Copy a subtree somewhere else (duplicated names, unexpected shapes).
            let from = rng.pick(&all).clone();
            let v = doc.pointer(&from).cloned().unwrap_or(Value::Null);
            set(doc, &pointer, v);
            format!("copy {from} -> {pointer}")
        }
        5 => {
            // Rename an object key to a hostile one.
            let key = rng.pick(STRINGS).to_string();
            if let Some(Value::Object(map)) = doc.pointer_mut(&pointer) {
                if let Some(first) = map.keys().next().cloned() {
                    let v = map.remove(&first).unwrap();
                    map.insert(key.clone(), v);
                    return format!("rename {pointer}/{first} -> {key:?}");
                }
            }
            format!("rename {pointer} (no-op)")
        }
        4 => {
            // A long chain of component schemas, each referencing the next (flat in the file,
            // deep for the generator), optionally closing a cycle.
            let len = 1 + rng.below(3000);
            let cycle = rng.below(2) == 0;
            let schemas = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut);
            if let Some(schemas) = schemas {
                for i in 0..len {
                    let next = if i + 1 < len {
                        format!("C{}", i + 1)
                    } else if cycle {
                        "C0".into()
                    } else {
                        String::new()
                    };
                    let schema = if next.is_empty() {
                        json!({"type": "string"})
                    } else if i % 3 == 0 {
                        json!({"allOf": [{"$ref": format!("#/components/schemas/{next}")}]})
                    } else {
                        json!({"type": "object", "properties": {"next": {"$ref": format!("#/components/schemas/{next}")}}})
                    };
                    schemas.insert(format!("C{i}"), schema);
                }
            }
            set(doc, &pointer, json!({"$ref": "#/components/schemas/C0"}));
            format!("chain of {len} schemas (cycle: {cycle}) at {pointer}")
        }
        _ => {
            // Nest deeply (JSON nesting: the parsers' recursion limits apply).
            let depth = 1 + rng.below(200);
            let mut v = json!({"type": "string"});
            for _ in 0..depth {
                v = if rng.below(2) == 0 {
                    json!({"type": "array", "items": v})
                } else {
                    json!({"type": "object", "properties": {"x": v}})
                };
            }
            set(doc, &pointer, v);
            format!("nest {pointer} depth {depth}")
        }
    }
}

fn load_json(path: &Path) -> Value {
    let source = asyncapi_nats::load::Source::load(path).unwrap();
    source.get(&source.root_id()).unwrap().clone()
}

enum Outcome {
    Generated,
    Rejected,
    Finding(String),
}

fn run(spec: &Path, out: &Path) -> Outcome {
    // FUZZ_BIN: a copy of the binary, for long runs while the workspace is rebuilt.
    let bin = std::env::var("FUZZ_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_asyncapi-nats").to_string());
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {RUN_MEMORY_KIB}; exec \"$0\" \"$@\""))
        .arg(bin)
        .arg("gen")
        .arg(spec)
        .arg("-o")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut text).ok();
        let status = child.wait();
        tx.send((status, text)).ok();
    });
    let (status, stderr) = match rx.recv_timeout(RUN_TIMEOUT) {
        Ok((status, text)) => (status.unwrap(), text),
        Err(_) => {
            Command::new("kill").arg("-9").arg(pid.to_string()).status().ok();
            return Outcome::Finding(format!("no result within {RUN_TIMEOUT:?} (hang)"));
        }
    };
    match status.code() {
        Some(0) => Outcome::Generated,
        Some(2) if !stderr.contains("panicked") => Outcome::Rejected,
        Some(code) => {
            Outcome::Finding(format!("exit {code}: {}", stderr.lines().take(6).collect::<Vec<_>>().join("\n")))
        }
        None => Outcome::Finding(format!(
            "killed by a signal (stack overflow or memory limit): {}",
            stderr.lines().take(6).collect::<Vec<_>>().join("\n")
        )),
    }
}

#[test]
fn mutated_documents_generate_or_fail_cleanly_within_limits() {
    // Deep documents are built and walked here too: a large stack for the driver.
    std::thread::Builder::new().stack_size(256 << 20).spawn(fuzz).unwrap().join().unwrap();
}

fn fuzz() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x0f0f_5eed_2026_1128);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus: Vec<(&str, Value)> = [
        "specs/allocation.yaml",
        "specs/allocation-v2.yaml",
        "specs/shop.yaml",
        "specs/hostile-names.yaml",
        "specs/hostile-docs.yaml",
        "tests/fixtures/faststream/faststream-3.0.json",
        "tests/fixtures/faststream/faststream-2.6.json",
    ]
    .iter()
    .map(|p| (*p, load_json(&root.join(p))))
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut generated, mut rejected) = (0u64, 0u64, 0u64);
    let mut findings = Vec::new();
    while Instant::now() < deadline {
        let (name, original) = rng.pick(&corpus);
        let mut doc = original.clone();
        let steps: Vec<String> = (0..1 + rng.below(4)).map(|_| mutate(&mut doc, &mut rng)).collect();
        let spec = dir.path().join(format!("case-{runs}.json"));
        std::fs::write(&spec, serde_json::to_string(&doc).unwrap()).unwrap();
        match run(&spec, &dir.path().join("out")) {
            Outcome::Generated => generated += 1,
            Outcome::Rejected => rejected += 1,
            Outcome::Finding(what) => {
                let kept = root.join("target").join(format!("fuzz-finding-{seed}-{runs}.json"));
                std::fs::copy(&spec, &kept).ok();
                findings.push(format!("{name} + {steps:?}: {what}\n  (document kept as {})", kept.display()));
            }
        }
        std::fs::remove_file(&spec).ok();
        runs += 1;
    }
    println!(
        "fuzz: seed {seed}, {runs} runs in {seconds} s: {generated} generated, {rejected} rejected, {} findings",
        findings.len()
    );
    assert!(findings.is_empty(), "{} finding(s):\n{}", findings.len(), findings.join("\n"));
    assert!(runs >= 20 && generated > 0 && rejected > 0, "{runs} runs, {generated} generated, {rejected} rejected");
}
