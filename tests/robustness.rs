//! Never a panic: hundreds of mutated versions of the example specs (a node
//! replaced by null, a number, a string, an empty object or array, or removed)
//! must each generate or fail with an error, never panic. Deterministic
//! (seeded), so a failure names the exact mutation to reproduce.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "support/mutation.rs"]
mod mutation;

use mutation::{Rng, pointers, remove};

fn mutate(doc: &mut Value, pointer: &str, kind: usize) {
    let replacement = match kind {
        0 => Value::Null,
        1 => Value::from(42),
        2 => Value::from("x.{y}.*"),
        3 => Value::Object(Default::default()),
        4 => Value::Array(Vec::new()),
        _ => {
            remove(doc, pointer);
            return;
        }
    };
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = replacement;
    }
}

fn load_json(path: &Path) -> Value {
    let source = asyncapi_nats::load::Source::load(path).unwrap();
    source.get(&source.root_id()).unwrap().clone()
}

#[test]
fn mutated_specs_never_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let specs = [
        "specs/allocation.yaml",
        "specs/allocation-v2.yaml",
        "specs/shop.yaml",
        "specs/hostile-names.yaml",
        "tests/fixtures/faststream/faststream-3.0.json",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut generated, mut rejected) = (0, 0);
    for spec in specs {
        let original = load_json(&root.join(spec));
        let mut all = Vec::new();
        pointers(&original, String::new(), &mut all);
        for case in 0..80 {
            let mut doc = original.clone();
            let mut applied = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let pointer = all[rng.below(all.len())].clone();
                let kind = rng.below(6);
                mutate(&mut doc, &pointer, kind);
                applied.push((pointer, kind));
            }
            let path = dir.path().join("mutated.json");
            std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
            let outcome = std::panic::catch_unwind(|| asyncapi_nats::Config::new().generate_crate(&path).is_ok());
            match outcome {
                Ok(true) => generated += 1,
                Ok(false) => rejected += 1,
                Err(_) => panic!("{spec} case {case}: mutations {applied:?} made the generator panic"),
            }
        }
    }
    // Both paths are exercised: many mutations still generate, many are rejected with errors.
    assert!(generated > 40 && rejected > 40, "generated {generated}, rejected {rejected}");
}
