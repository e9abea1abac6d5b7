//! Golden tests: every spec in `specs/` (and the FastStream fixtures) is
//! regenerated and compared byte for byte with `generated-examples/`, which
//! are workspace members and therefore compiled (and clippy-checked) by the
//! test command. Refresh with `UPDATE_GOLDEN=1 cargo test --test golden`.

use std::path::{Path, PathBuf};

use asyncapi_nats::{Config, GeneratedFile};

/// (spec, folder under generated-examples, crate name); a spec `a + b` is spec `a` with overlay `b`.
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("specs/allocation.yaml", "allocation", "allocation"),
    ("specs/allocation-v2.yaml", "allocation-v2", "allocation-v2"),
    ("specs/multi-file/asyncapi.yaml", "multi-file", "multi-file"),
    ("specs/shop.yaml", "shop", "shop"),
    ("specs/hostile-names.yaml", "hostile-names", "hostile-names"),
    ("specs/content-types.yaml", "content-types", "content-types"),
    ("tests/fixtures/faststream/faststream-3.0.yaml", "faststream-3.0", "faststream-v3"),
    ("tests/fixtures/faststream/faststream-2.6.yaml", "faststream-2.6", "faststream-v2"),
    (
        "tests/fixtures/faststream/faststream-3.0.yaml + specs/faststream-allocation.overlay.yaml",
        "faststream-allocation",
        "faststream-allocation",
    ),
    (
        "tests/corpus/faststream/workers-3.0.yaml + tests/corpus/faststream/workers-3.0.overlay.yaml",
        "faststream-workers",
        "faststream-workers",
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(spec: &str, crate_name: &str) -> Vec<GeneratedFile> {
    let mut config = Config::new();
    config.crate_name(crate_name);
    let (document, overlay) = spec.split_once(" + ").map_or((spec, None), |(d, o)| (d, Some(o)));
    if let Some(overlay) = overlay {
        config.overlay(root().join(overlay));
    }
    config.generate_crate(root().join(document)).unwrap_or_else(|e| panic!("{spec}: {e}")).files
}

#[test]
fn generated_examples_are_up_to_date() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (spec, dir, crate_name) in EXAMPLES {
        let files = generate(spec, crate_name);
        let out = root().join("generated-examples").join(dir);
        if update {
            asyncapi_nats::write::write_files(&out, &files).unwrap();
            for drift in asyncapi_nats::write::check_files(&out, &files) {
                if let asyncapi_nats::Drift::Extra(path) = drift {
                    std::fs::remove_file(out.join(path)).unwrap();
                }
            }
        }
        for drift in asyncapi_nats::write::check_files(&out, &files) {
            failures.push(format!("{dir}: {drift}"));
        }
    }
    assert!(
        failures.is_empty(),
        "generated-examples are stale (refresh with UPDATE_GOLDEN=1):\n{}",
        failures.join("\n")
    );
}

/// Source files without the `@generated … from <file>` header line.
fn sources(files: &[GeneratedFile]) -> Vec<(String, String)> {
    files
        .iter()
        .filter(|f| f.path.starts_with("src"))
        .map(|f| (f.path.display().to_string(), f.contents.split_once('\n').unwrap().1.to_string()))
        .collect()
}

#[test]
fn the_same_api_in_2_6_and_3_0_generates_identical_code() {
    let v3 = generate("specs/allocation.yaml", "x");
    let v2 = generate("specs/allocation-v2.yaml", "x");
    assert_eq!(sources(&v3), sources(&v2));
}

/// FastStream's 2.6 and 3.0 documents of one app name operations differently (no `operationId`
/// vs `<subject>:<Handler>Subscribe`); both generate the same items, named for what they
/// receive or send. Only the doc lines quoting the messages' keys differ.
#[test]
fn faststream_2_6_and_3_0_documents_generate_the_same_names() {
    let strip = |files: Vec<GeneratedFile>| -> Vec<(String, String)> {
        sources(&files)
            .into_iter()
            .map(|(path, text)| {
                (path, text.lines().filter(|l| !l.contains("/// Message `")).collect::<Vec<_>>().join("\n"))
            })
            .collect()
    };
    let v3 = strip(generate("tests/fixtures/faststream/faststream-3.0.yaml", "x"));
    let v2 = strip(generate("tests/fixtures/faststream/faststream-2.6.yaml", "x"));
    assert_eq!(v3, v2);
    let subscribers = &v3.iter().find(|(p, _)| p.ends_with("subscribers.rs")).unwrap().1;
    for module in ["events_ready_to_process", "payments_settled", "notifications_email", "orders_create"] {
        assert!(subscribers.contains(&format!("pub mod {module} {{")), "{module}");
    }
    let publishers = &v3.iter().find(|(p, _)| p.ends_with("publishers.rs")).unwrap().1;
    assert!(publishers.contains("pub async fn publish_orders_created("));
}

#[test]
fn json_and_yaml_forms_generate_identical_code() {
    for version in ["3.0", "2.6"] {
        let yaml = generate(&format!("tests/fixtures/faststream/faststream-{version}.yaml"), "x");
        let json = generate(&format!("tests/fixtures/faststream/faststream-{version}.json"), "x");
        assert_eq!(sources(&yaml), sources(&json), "FastStream {version}");
    }
}

#[test]
fn every_generated_file_carries_the_generated_header() {
    for (spec, _, name) in EXAMPLES {
        for file in generate(spec, name) {
            let first = file.contents.lines().find(|l| l.contains("@generated")).unwrap_or_default();
            assert!(file.contents.lines().take(2).any(|l| l.contains("@generated")), "{spec}: {}", file.path.display());
            assert!(
                first.contains("@generated by asyncapi-nats") && first.contains("DO NOT EDIT"),
                "{spec}: {}",
                file.path.display()
            );
            assert!(!first.contains(&*root().to_string_lossy()), "absolute path in header of {}", file.path.display());
        }
    }
}

#[test]
fn generated_crates_are_workspace_members() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("\"generated-examples/*\""),
        "generated examples must be compiled by `cargo build --workspace`"
    );
    for (_, dir, _) in EXAMPLES {
        assert!(Path::new(&root().join("generated-examples").join(dir).join("Cargo.toml")).exists(), "{dir}");
    }
}
