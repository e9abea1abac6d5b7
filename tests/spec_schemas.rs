//! The project's own AsyncAPI documents are valid AsyncAPI: each validates against the official
//! JSON Schema of its version (vendored in `tests/fixtures/asyncapi-schemas/`, with provenance).
//! The documents that asyncapi-nats accepts and the schemas it vendors must also agree.

use std::path::{Path, PathBuf};

use asyncapi_nats::load::Source;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs = Vec::new();
    for dir in ["specs", "tests/matrix", "tests/corpus/faststream"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if (name.ends_with(".yaml") || name.ends_with(".json")) && !name.contains("overlay") {
                docs.push(path);
            }
        }
    }
    docs.push(root().join("specs/multi-file/asyncapi.yaml"));
    for name in ["faststream-2.6.yaml", "faststream-3.0.yaml", "faststream-2.6.json", "faststream-3.0.json"] {
        docs.push(root().join("tests/fixtures/faststream").join(name));
    }
    // Deliberately not valid AsyncAPI: it also holds OpenAPI's `discriminator: {propertyName, mapping}`
    // form, which real documents contain and the generator accepts (tests/types.rs covers it).
    docs.retain(|d| !d.ends_with("specs/wire-types.yaml"));
    docs.sort();
    docs
}

fn schema(version: &str) -> Value {
    let minor = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let path = root().join(format!("tests/fixtures/asyncapi-schemas/{minor}.0.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn load(path: &Path) -> Value {
    let source = Source::load(path).unwrap();
    source.get(&source.root_id()).unwrap().clone()
}

#[test]
fn project_documents_validate_against_the_official_schema_of_their_version() {
    let mut failures = Vec::new();
    let docs = documents();
    assert!(docs.len() >= 15, "{docs:?}");
    for doc in docs {
        let value = load(&doc);
        let version = value["asyncapi"].as_str().unwrap().to_string();
        let validator = jsonschema::draft7::new(&schema(&version)).unwrap();
        for error in validator.iter_errors(&value) {
            failures.push(format!("{} ({version}) at {}: {error}", doc.display(), error.instance_path()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Documents of every vendored schema's version are accepted; 3.1 reads like 3.0.
#[test]
fn every_vendored_version_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for version in ["2.0.0", "2.3.0", "2.6.0", "3.0.0", "3.1.0", "3.2.0"] {
        let spec = dir.path().join(format!("{version}.yaml"));
        let body = if version.starts_with('2') {
            "channels:\n  a.b:\n    subscribe:\n      operationId: send\n      message: {payload: {type: string}}\n"
        } else {
            "channels:\n  c:\n    address: a.b\n    messages:\n      m: {payload: {type: string}}\noperations:\n  send:\n    action: send\n    channel: {$ref: '#/channels/c'}\n"
        };
        std::fs::write(&spec, format!("asyncapi: {version}\ninfo: {{title: T, version: 1.0.0}}\n{body}")).unwrap();
        let generated = asyncapi_nats::Config::new().generate_crate(&spec).unwrap_or_else(|e| panic!("{version}: {e}"));
        let publishers = generated.files.iter().find(|f| f.path.ends_with("publishers.rs")).unwrap();
        assert!(publishers.contents.contains("pub async fn send("), "{version}");
    }
    for version in ["1.2.0", "2.7.0", "3.3.0", "4.0.0"] {
        let spec = dir.path().join(format!("{version}.yaml"));
        std::fs::write(&spec, format!("asyncapi: {version}\ninfo: {{title: T, version: 1.0.0}}\n")).unwrap();
        let e = asyncapi_nats::Config::new().generate_crate(&spec).unwrap_err();
        assert!(e.to_string().contains("unsupported AsyncAPI version"), "{version}: {e}");
    }
}
