//! NACK manifests: every generated manifest validates against the vendored
//! NACK v0.22.4 CRD `openAPIV3Schema` (made strict about unknown fields, like
//! `kubectl apply --validate=strict`), the validator itself catches bad input,
//! and the generation-time checks reject inconsistent documents with located errors.

use std::path::{Path, PathBuf};

use asyncapi_nats::load::Source;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `spec` schema of each served CRD version, by kind.
fn crd_spec_schema(kind: &str) -> Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/nack/crds.yml")).unwrap();
    for doc in text.split("\n---") {
        if doc.trim().is_empty() {
            continue;
        }
        let source = Source::from_str("crds.yml", doc).unwrap();
        let crd = source.get(&source.root_id()).unwrap();
        if crd.pointer("/spec/names/kind").and_then(Value::as_str) != Some(kind) {
            continue;
        }
        for version in crd.pointer("/spec/versions").unwrap().as_array().unwrap() {
            if version["name"] == "v1beta2" && version["served"] == true {
                let mut schema = version.pointer("/schema/openAPIV3Schema/properties/spec").unwrap().clone();
                make_strict(&mut schema);
                return schema;
            }
        }
    }
    panic!("no served v1beta2 CRD for {kind}");
}

/// Objects with `properties` reject unknown fields (the API server prunes them silently otherwise).
fn make_strict(schema: &mut Value) {
    if let Value::Object(map) = schema {
        if map.contains_key("properties")
            && !map.contains_key("additionalProperties")
            && !map.contains_key("x-kubernetes-preserve-unknown-fields")
        {
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
        for v in map.values_mut() {
            make_strict(v);
        }
    } else if let Value::Array(items) = schema {
        items.iter_mut().for_each(make_strict);
    }
}

fn violations(kind: &str, spec: &Value) -> Vec<String> {
    let schema = crd_spec_schema(kind);
    let validator = jsonschema::draft4::new(&schema).unwrap();
    validator.iter_errors(spec).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn load(path: &Path) -> Value {
    let source = Source::load(path).unwrap();
    source.get(&source.root_id()).unwrap().clone()
}

#[test]
fn every_generated_manifest_validates_against_the_crd() {
    let mut checked = 0;
    for example in std::fs::read_dir(root().join("generated-examples")).unwrap() {
        let deploy = example.unwrap().path().join("deploy");
        let mut entries: Vec<_> = std::fs::read_dir(&deploy).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
            let resource = load(path);
            let kind = resource["kind"].as_str().unwrap();
            if kind == "Kustomization" {
                for r in resource["resources"].as_array().unwrap() {
                    assert!(deploy.join(r.as_str().unwrap()).exists(), "{}: lists missing {r}", path.display());
                }
                continue;
            }
            assert_eq!(resource["apiVersion"], "jetstream.nats.io/v1beta2", "{}", path.display());
            let name = resource.pointer("/metadata/name").and_then(Value::as_str).unwrap();
            assert!(
                name.len() <= 63
                    && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !name.starts_with('-')
                    && !name.ends_with('-'),
                "{}: metadata.name `{name}` is not DNS-1123",
                path.display()
            );
            let errors = violations(kind, &resource["spec"]);
            assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
            // Never rely on NACK's dangerous defaults.
            let spec = &resource["spec"];
            match kind {
                "Stream" => {
                    for field in ["storage", "retention", "replicas", "discard", "preventDelete", "subjects"] {
                        assert!(spec.get(field).is_some(), "{}: {field} must be explicit", path.display());
                    }
                }
                "Consumer" => {
                    assert_eq!(spec["ackPolicy"], "explicit", "{}", path.display());
                    for field in ["ackWait", "maxDeliver", "deliverPolicy", "replayPolicy", "durableName", "streamName"]
                    {
                        assert!(spec.get(field).is_some(), "{}: {field} must be explicit", path.display());
                    }
                    assert!(spec.get("filterSubject").is_some() != spec.get("filterSubjects").is_some());
                    assert!(spec.get("deliverSubject").is_none(), "pull consumers have no deliver subject");
                }
                other => panic!("unexpected kind {other}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} manifests checked");
}

#[test]
fn the_validator_catches_wrong_enum_type_and_unknown_field() {
    let good = load(&root().join("generated-examples/allocation/deploy/stream-allocation.yaml"))["spec"].clone();
    assert!(violations("Stream", &good).is_empty());
    for (field, value, what) in [
        ("storage", Value::from("disk"), "wrong enum"),
        ("replicas", Value::from("three"), "wrong type"),
        ("maxAgeDays", Value::from(3), "unknown field"),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        assert!(!violations("Stream", &bad).is_empty(), "{what} not caught");
    }
    let consumer = load(&root().join("generated-examples/allocation/deploy/consumer-allocation-processor-ready.yaml"));
    let mut bad = consumer["spec"].clone();
    bad["ackPolicy"] = Value::from("sometimes");
    assert!(!violations("Consumer", &bad).is_empty());
}

/// Generates manifests for `spec_text` (written to a temp file) and returns the error text.
fn manifest_error(spec_text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec_text).unwrap();
    match asyncapi_nats::Config::new().generate_manifests(&path) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

const BASE: &str = r#"asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
x-jetstream:
  streams:
    A: {subjects: ["a.>"]}
    B: {subjects: [STREAM_B]}
channels:
  c:
    address: a.{id}.x
    parameters: {id: {}}
    x-jetstream: {stream: A}
operations:
  r:
    action: receive
    channel: {$ref: '#/channels/c'}
    x-jetstream: CONSUMER
"#;

fn spec(stream_b: &str, consumer: &str) -> String {
    BASE.replace("STREAM_B", stream_b).replace("CONSUMER", consumer)
}

#[test]
fn overlapping_streams_are_rejected_with_location() {
    let e = manifest_error(&spec("a.*.x", "{durable: d}"));
    assert!(e.contains("overlapping subjects"), "{e}");
    assert!(e.contains("spec.yaml:6:5"), "located at stream B: {e}");
}

#[test]
fn uncovered_filters_are_rejected() {
    let e = manifest_error(&spec("b", "{durable: d, filterSubject: b.x}"));
    assert!(e.contains("not covered by stream `A`"), "{e}");
    assert!(e.contains("#/operations/r/x-jetstream"), "{e}");
}

#[test]
fn both_filter_forms_are_rejected() {
    let e = manifest_error(&spec("b", "{durable: d, filterSubject: a.x, filterSubjects: [a.y]}"));
    assert!(e.contains("both `filterSubject` and `filterSubjects`"), "{e}");
}

#[test]
fn durable_names_are_unique_per_stream() {
    let text = spec("b", "{durable: d}").replace(
        "operations:\n",
        "operations:\n  r2:\n    action: receive\n    channel: {$ref: '#/channels/c'}\n    x-jetstream: {durable: d}\n",
    );
    let e = manifest_error(&text);
    assert!(e.contains("durable `d` on stream `A` is also used"), "{e}");
}

#[test]
fn durations_are_validated_and_converted() {
    let e = manifest_error(&spec("b", "{durable: d, ackWait: 3 days}"));
    assert!(e.contains("Go syntax"), "{e}");
    assert!(e.contains("#/operations/r/x-jetstream/ackWait"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec("b", "{durable: d, ackWait: 1d}")).unwrap();
    let files = asyncapi_nats::Config::new().generate_manifests(&path).unwrap().files;
    let consumer = files.iter().find(|f| f.path.to_string_lossy().starts_with("consumer-")).unwrap();
    assert!(consumer.contents.contains("ackWait: \"24h\""), "{}", consumer.contents);
    std::fs::write(&path, spec("b", "{durable: d, backoff: [90s, 3d]}")).unwrap();
    let files = asyncapi_nats::Config::new().generate_manifests(&path).unwrap().files;
    let consumer = files.iter().find(|f| f.path.to_string_lossy().starts_with("consumer-")).unwrap();
    assert!(consumer.contents.contains("ackWait: \"1m30s\""), "backoff[0] is the ack wait: {}", consumer.contents);
    assert!(consumer.contents.contains("- \"72h\""), "{}", consumer.contents);
}

#[test]
fn backoff_longer_than_max_deliver_is_rejected() {
    let e = manifest_error(&spec("b", "{durable: d, maxDeliver: 2, backoff: [1s, 2s]}"));
    assert!(e.contains("maxDeliver 2 must be greater"), "{e}");
}

#[test]
fn prevent_delete_is_on_by_default_and_can_be_turned_off() {
    let spec = root().join("specs/allocation.yaml");
    let on = asyncapi_nats::Config::new().generate_manifests(&spec).unwrap().files;
    let stream = on.iter().find(|f| f.path.to_string_lossy().starts_with("stream-")).unwrap();
    assert!(stream.contents.contains("preventDelete: true"));
    let off = asyncapi_nats::Config::new()
        .manifest_options(asyncapi_nats::manifests::ManifestOptions { prevent_delete: false, ..Default::default() })
        .generate_manifests(&spec)
        .unwrap()
        .files;
    let stream = off.iter().find(|f| f.path.to_string_lossy().starts_with("stream-")).unwrap();
    assert!(stream.contents.contains("preventDelete: false"));
}

#[test]
fn permissions_grant_no_stream_or_consumer_management() {
    for example in ["allocation", "shop", "multi-file", "faststream-3.0"] {
        let text = std::fs::read_to_string(
            root().join("generated-examples").join(example).join("deploy/nats-permissions.json"),
        )
        .unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        let publish: Vec<&str> = json
            .pointer("/permissions/publish/allow")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for subject in &publish {
            for forbidden in ["CREATE", "UPDATE", "DELETE", "PURGE", "$JS.API.>", "$JS.>", ">"] {
                assert!(!subject.contains(forbidden) || subject.starts_with("$JS.ACK."), "{example}: {subject}");
            }
            assert_ne!(*subject, ">", "{example}: full wildcard");
        }
    }
}

#[test]
fn ack_wait_that_backoff_overrides_is_rejected() {
    let e = manifest_error(&spec("b", "{durable: d, ackWait: 30s, backoff: [1s, 5s]}"));
    assert!(e.contains("ackWait 30s has no effect"), "{e}");
    assert!(e.contains("#/operations/r/x-jetstream/ackWait"), "{e}");
}
