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
    ("specs/hostile-docs.yaml", "hostile-docs", "hostile-docs"),
    ("specs/wire-types.yaml", "wire-types", "wire-types"),
    ("tests/fixtures/pydantic/orders.asyncapi.json", "pydantic-orders", "pydantic-orders"),
    ("specs/content-types.yaml", "content-types", "content-types"),
    ("tests/fixtures/faststream/faststream-3.0.yaml", "faststream-3.0", "faststream-v3"),
    ("tests/fixtures/faststream/faststream-2.6.yaml", "faststream-2.6", "faststream-v2"),
    (
        "tests/fixtures/faststream/faststream-3.0.yaml + specs/faststream-allocation.overlay.yaml",
        "faststream-allocation",
        "faststream-allocation",
    ),
    (
        "tests/corpus/faststream/workers-3.0.yaml + tests/corpus/faststream/workers.overlay.yaml",
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

/// One overlay serves both documents of a FastStream app: its `x-asyncapi-nats` section names
/// operations by their generated names and channels by their NATS subjects, which the 2.6 and 3.0
/// documents share (2.x keeps operation settings under `channels.<key>.publish`, 3.0 under
/// `operations.<key>`). Same manifests byte for byte, same code but for the doc lines quoting the
/// documents' message keys.
#[test]
fn one_overlay_serves_the_faststream_2_6_and_3_0_documents() {
    let apps = [
        ("tests/fixtures/faststream/faststream-VERSION.yaml", "specs/faststream-allocation.overlay.yaml"),
        ("tests/corpus/faststream/workers-VERSION.yaml", "tests/corpus/faststream/workers.overlay.yaml"),
    ];
    let without_header = |files: &[GeneratedFile], under: &str| -> Vec<(String, String)> {
        files
            .iter()
            .filter(|f| f.path.starts_with(under))
            .map(|f| {
                let text = f.contents.lines().filter(|l| !l.contains("@generated") && !l.contains("/// Message `"));
                (f.path.display().to_string(), text.collect::<Vec<_>>().join("\n"))
            })
            .collect()
    };
    for (document, overlay) in apps {
        let v3 = generate(&format!("{} + {overlay}", document.replace("VERSION", "3.0")), "x");
        let v2 = generate(&format!("{} + {overlay}", document.replace("VERSION", "2.6")), "x");
        let deploy = without_header(&v3, "deploy");
        assert!(deploy.iter().any(|(p, _)| p.contains("consumer-")), "{document}: the overlay's durables: {deploy:?}");
        assert_eq!(deploy, without_header(&v2, "deploy"), "{document}: manifests");
        assert_eq!(without_header(&v3, "src"), without_header(&v2, "src"), "{document}: code");
    }
    // The settings reached both shapes: the durables the overlay names, with its batch sizes.
    for version in ["3.0", "2.6"] {
        let files = generate(
            &format!("tests/fixtures/faststream/faststream-{version}.yaml + specs/faststream-allocation.overlay.yaml"),
            "x",
        );
        let consumer = files.iter().find(|f| f.path.ends_with("consumer-allocation-processor-ready.yaml")).unwrap();
        assert!(consumer.contents.contains("durableName: \"processor-ready\""), "{}", consumer.contents);
        assert!(consumer.contents.contains("maxDeliver: 5"), "{}", consumer.contents);
        let subscribers = files.iter().find(|f| f.path.ends_with("subscribers.rs")).unwrap();
        assert!(subscribers.contents.contains("batch: 10,"), "{version}");
    }
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

/// The vendored `src/runtime.rs` of every example is the runtime crate's source, byte for byte
/// after the `@generated` line: one source of truth, compiled and tested as `asyncapi-nats-runtime`.
#[test]
fn vendored_runtime_is_the_runtime_crate_source_verbatim() {
    let source = std::fs::read_to_string(root().join("runtime/src/runtime.rs")).unwrap();
    for (spec, _, crate_name) in EXAMPLES {
        let files = generate(spec, crate_name);
        let runtime = files.iter().find(|f| f.path == Path::new("src/runtime.rs")).expect("src/runtime.rs");
        let (header, body) = runtime.contents.split_once('\n').unwrap();
        assert!(header.starts_with("// @generated by asyncapi-nats"), "{spec}: {header}");
        assert!(body == source, "{spec}: src/runtime.rs differs from runtime/src/runtime.rs");
        let cargo = files.iter().find(|f| f.path == Path::new("Cargo.toml")).unwrap();
        assert!(!cargo.contents.contains("asyncapi-nats-runtime ="), "{spec}: no dependency when vendored");
        for used in ["bytes = ", "futures = ", "tokio = ", "tracing = "] {
            assert!(cargo.contents.contains(used), "{spec}: the vendored runtime needs {used}");
        }
    }
}

/// `runtime_dependency`: the generated crate depends on the runtime crate and re-exports it.
#[test]
fn runtime_dependency_replaces_the_vendored_source() {
    use asyncapi_nats::RuntimeDependency;
    let cases = [
        (RuntimeDependency::Version("0.1".into()), r#"asyncapi-nats-runtime = "0.1""#),
        (
            RuntimeDependency::Path("../asyncapi-nats/runtime".into()),
            r#"asyncapi-nats-runtime = { path = "../asyncapi-nats/runtime" }"#,
        ),
        (
            RuntimeDependency::Git { url: "https://example.com/asyncapi-nats.git".into(), rev: Some("v0.1.0".into()) },
            r#"asyncapi-nats-runtime = { git = "https://example.com/asyncapi-nats.git", rev = "v0.1.0" }"#,
        ),
    ];
    for (dependency, line) in cases {
        let files = Config::new()
            .crate_name("allocation")
            .runtime_dependency(dependency)
            .generate_crate(root().join("specs/allocation.yaml"))
            .unwrap()
            .files;
        let file = |path: &str| &files.iter().find(|f| f.path == Path::new(path)).unwrap().contents;
        let cargo = file("Cargo.toml");
        assert!(cargo.lines().any(|l| l == line), "{line} in\n{cargo}");
        for vendored_only in ["bytes = ", "futures = ", "tokio = ", "tracing = "] {
            assert!(!cargo.contains(vendored_only), "{vendored_only} is only needed by the vendored runtime:\n{cargo}");
        }
        let runtime = file("src/runtime.rs");
        assert!(runtime.contains("\npub use ::asyncapi_nats_runtime::*;\n"), "{runtime}");
        assert!(runtime.lines().count() < 10, "a re-export, not the source:\n{runtime}");
        // Everything else is the same code as in vendored mode.
        let vendored = generate("specs/allocation.yaml", "allocation");
        for (path, contents) in sources(&vendored).into_iter().filter(|(p, _)| p != "src/runtime.rs") {
            assert_eq!(file(&path).split_once('\n').unwrap().1, contents, "{path}");
        }
    }
}

/// The subscriber's `SETTINGS.max_deliver` is the Consumer manifest's `maxDeliver`, also when the
/// document gives none (both use `manifests::default_max_deliver`), so `is_last_attempt` is right.
#[test]
fn subscriber_max_deliver_agrees_with_the_consumer_manifests() {
    for (spec, dir, crate_name) in EXAMPLES {
        let files = generate(spec, crate_name);
        let numbers = |path_prefix: &str, key: &str| -> Vec<i64> {
            let mut found: Vec<i64> = files
                .iter()
                .filter(|f| f.path.starts_with(path_prefix))
                .flat_map(|f| f.contents.lines().filter_map(|l| l.trim().strip_prefix(key)).map(str::to_string))
                .map(|n| n.trim_end_matches(',').trim().parse().unwrap())
                .collect();
            found.sort_unstable();
            found
        };
        let settings = numbers("src/subscribers.rs", "max_deliver:");
        let manifests = numbers("deploy", "maxDeliver:");
        assert!(!settings.is_empty() || manifests.is_empty(), "{dir}");
        assert_eq!(settings, manifests, "{dir}: SETTINGS.max_deliver vs the Consumer manifests' maxDeliver");
    }
}
