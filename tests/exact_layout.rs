//! The templates write the hot items (one per channel, schema or operation) in prettyplease's
//! layout already, so they are copied instead of parsed and printed (`render::EXACT`). These
//! tests hold that copy to the reference: for every document the tests generate (the specs,
//! the corpus, the matrix shapes and the synthetic scale document), as a crate and as a
//! build.rs module, the output equals the output with every item printed by prettyplease; and
//! the reference formatter leaves every golden file as it is (formatting is idempotent).

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};

use asyncapi_nats::Config;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(document, config)` for every document the other tests generate.
fn documents() -> Vec<(PathBuf, Config)> {
    let mut out = Vec::new();
    let yaml = |dir: PathBuf| -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.to_string_lossy().contains("overlay"))
            .collect();
        paths.sort();
        paths
    };
    for spec in yaml(root().join("specs")).into_iter().chain(yaml(root().join("tests/matrix"))) {
        out.push((spec, Config::new()));
    }
    let multi = root().join("specs/multi-file/asyncapi.yaml");
    if multi.exists() {
        out.push((multi, Config::new()));
    }
    let corpus = root().join("tests/corpus");
    let tsv = std::fs::read_to_string(corpus.join("corpus.tsv")).unwrap();
    for line in tsv.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        if columns.get(3).is_some_and(|gap| !gap.is_empty()) {
            continue;
        }
        let mut config = Config::new();
        let mut flags = columns.get(2).copied().unwrap_or_default().split_whitespace();
        while let Some(flag) = flags.next() {
            match flag {
                "--path-subjects" => config.path_subjects(true),
                "--overlay" => config.overlay(corpus.join(flags.next().unwrap())),
                "--stream" => config.default_stream(flags.next().unwrap()),
                "--only" => config.only(flags.next().unwrap()),
                other => panic!("unknown corpus flag {other}"),
            };
        }
        out.push((corpus.join(columns[1]), config));
    }
    out
}

fn assert_same(spec: &Path, mut config: Config) {
    for module in [false, true] {
        let generate = |config: &Config| if module { config.generate(spec) } else { config.generate_crate(spec) };
        let Ok(fast) = generate(&config) else { continue };
        let reference = generate(config.reference_format(true)).unwrap();
        config.reference_format(false);
        assert_eq!(fast.files.len(), reference.files.len());
        for (a, b) in fast.files.iter().zip(&reference.files) {
            assert_eq!(a.path, b.path);
            if a.contents != b.contents {
                let first = a.contents.lines().zip(b.contents.lines()).position(|(x, y)| x != y).unwrap_or(0);
                let show = |t: &str| t.lines().skip(first.saturating_sub(3)).take(8).collect::<Vec<_>>().join("\n");
                panic!(
                    "{} ({}), {}: copied items differ from prettyplease at line {}:\n--- copied\n{}\n--- prettyplease\n{}",
                    spec.display(),
                    if module { "module" } else { "crate" },
                    a.path.display(),
                    first + 1,
                    show(&a.contents),
                    show(&b.contents)
                );
            }
        }
    }
}

#[test]
fn copied_items_equal_prettyplease_on_every_test_document() {
    let documents = documents();
    assert!(documents.len() > 40, "documents: {}", documents.len());
    for (spec, config) in documents {
        assert_same(&spec, config);
    }
}

#[test]
fn copied_items_equal_prettyplease_on_the_synthetic_document() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("scale.yaml");
    std::fs::write(&spec, synthetic::spec(60)).unwrap();
    assert_same(&spec, Config::new());
}

/// Longer names move the width-dependent groups across the margin: each length of an entity's name
/// from 6 to 30 characters, so every group of the synthetic items is laid out on one line and broken.
#[test]
fn copied_items_equal_prettyplease_at_every_name_length() {
    let dir = tempfile::tempdir().unwrap();
    for extra in 0..=24 {
        let spec = dir.path().join(format!("names-{extra}.yaml"));
        let name = format!("entity{}", "x".repeat(extra));
        std::fs::write(&spec, synthetic::spec(3).replace("entity", &name)).unwrap();
        assert_same(&spec, Config::new());
    }
}

/// Formatting the golden sources again changes nothing (minus their `// @generated` header line).
#[test]
fn formatting_golden_sources_is_idempotent() {
    let mut seen = 0;
    for example in std::fs::read_dir(root().join("generated-examples")).unwrap() {
        let src = example.unwrap().path().join("src");
        let Ok(files) = std::fs::read_dir(&src) else { continue };
        for file in files {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("runtime.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let (header, body) = text.split_once('\n').unwrap();
            assert!(header.starts_with("// @generated"), "{}", path.display());
            let again = asyncapi_nats::render::format_rust_with("golden", body, false, "").unwrap();
            assert!(again == body, "{} changes when formatted again", path.display());
            seen += 1;
        }
    }
    assert!(seen > 40, "golden sources: {seen}");
}
