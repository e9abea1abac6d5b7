//! Parse-level hostile input (issue 8): every malformed YAML/JSON file gets a located,
//! readable error — never a panic, a stack overflow, a hang, memory exhaustion, or a
//! value silently chosen for the user.

use std::path::Path;

use asyncapi_nats::load::Source;

fn generate_bytes(name: &str, bytes: &[u8]) -> Result<asyncapi_nats::Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    asyncapi_nats::Config::new().generate_crate(&path).map_err(|e| e.to_string())
}

fn error(name: &str, text: &str) -> String {
    error_bytes(name, text.as_bytes())
}

fn error_bytes(name: &str, bytes: &[u8]) -> String {
    match generate_bytes(name, bytes) {
        Ok(_) => panic!("expected an error for {}", String::from_utf8_lossy(bytes)),
        Err(e) => {
            assert!(!e.contains("Sequence(") && !e.contains("Mapping("), "debug dump in: {e}");
            e
        }
    }
}

const HEAD: &str = "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\n";

/// A small valid spec; `{max_deliver}` is spliced in as YAML text.
fn spec_with_max_deliver(max_deliver: &str) -> String {
    format!(
        "{HEAD}channels:\n  c:\n    address: a.b\noperations:\n  r:\n    action: receive\n    channel: {{$ref: '#/channels/c'}}\n    x-jetstream:\n      durable: d\n      maxDeliver: {max_deliver}\n"
    )
}

#[test]
fn alias_bombs_stop_at_a_bounded_expansion() {
    let mut spec = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let prev = (b'a' + level - 1) as char;
        let this = (b'a' + level) as char;
        spec.push_str(&format!("{this}: &{this} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    let start = std::time::Instant::now();
    let e = error("spec.yaml", &spec);
    assert!(e.contains("aliases expand to more than 1000000 nodes"), "{e}");
    assert!(e.contains("spec.yaml:6:36 (at #/f/7)"), "{e}");
    assert!(e.contains("alias bomb"), "{e}");
    // Not a timing assertion on speed, a guard against expanding 10^12 nodes first.
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn ordinary_anchors_and_aliases_still_work() {
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a.b\n    messages:\n      m: {{payload: &p {{type: object, properties: {{id: {{type: string}}}}}}}}\n  d:\n    address: a.c\n    messages:\n      m: {{payload: *p}}\n"
    );
    generate_bytes("spec.yaml", spec.as_bytes()).unwrap();
}

#[test]
fn empty_files_are_located() {
    for text in ["", "\n\n", "# only a comment\n"] {
        let e = error("spec.yaml", text);
        assert!(e.contains("the file is empty") && e.contains("spec.yaml:1:1"), "{e}");
    }
    let e = error("spec.json", "");
    assert!(e.contains("spec.json:1:"), "{e}");
}

#[test]
fn a_second_yaml_document_is_located() {
    let e = error("spec.yaml", &format!("{HEAD}---\nkind: Pod\n"));
    assert!(e.contains("more than one YAML document") && e.contains("spec.yaml:3:1"), "{e}");
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let spec = spec_with_max_deliver("5");
    let plain = generate_bytes("spec.yaml", spec.as_bytes()).unwrap();
    let with_bom = generate_bytes("spec.yaml", format!("\u{feff}{spec}").as_bytes()).unwrap();
    assert_eq!(plain.files, with_bom.files);
    let json =
        r#"{"asyncapi": "3.0.0", "info": {"title": "T", "version": "1.0.0"}, "channels": {"c": {"address": "a.b"}}}"#;
    let plain = generate_bytes("spec.json", json.as_bytes()).unwrap();
    let with_bom = generate_bytes("spec.json", format!("\u{feff}{json}").as_bytes()).unwrap();
    assert_eq!(plain.files, with_bom.files);
}

#[test]
fn invalid_utf8_is_located_by_line_and_byte_offset() {
    let mut bytes = b"asyncapi: 3.0.0\ninfo: {title: \"".to_vec();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(b"\", version: 1.0.0}\n");
    let e = error_bytes("spec.yaml", &bytes);
    assert!(e.contains("not valid UTF-8 (byte offset 31)"), "{e}");
    assert!(e.contains("spec.yaml:2:16"), "{e}");
    assert!(e.contains("save the document as UTF-8"), "{e}");
}

#[test]
fn collections_as_mapping_keys_are_clear_located_errors() {
    let e = error("spec.yaml", &format!("{HEAD}channels:\n  [a, b]: x\n"));
    assert!(e.contains("a sequence is used as a mapping key") && e.contains("spec.yaml:4:3"), "{e}");
    assert!(e.contains("(at #/channels)"), "{e}");
    let e = error("spec.yaml", &format!("{HEAD}channels:\n  ? {{a: 1}}\n  : x\n"));
    assert!(e.contains("a mapping is used as a mapping key") && e.contains("spec.yaml:4:"), "{e}");
    let e = error("spec.yaml", &format!("{HEAD}channels:\n  ~: x\n"));
    assert!(e.contains("mapping key is empty or null") && e.contains("spec.yaml:4:3"), "{e}");
}

#[test]
fn infinite_and_nan_numbers_name_the_field() {
    for value in [".inf", "-.inf", ".nan", "+.INF"] {
        let e = error("spec.yaml", &spec_with_max_deliver(value));
        assert!(e.contains(&format!("`{value}` is not a finite number")), "{e}");
        assert!(e.contains("spec.yaml:12:19 (at #/operations/r/x-jetstream/maxDeliver)"), "{e}");
        assert!(e.contains("JSON has no infinity"), "{e}");
    }
}

#[test]
fn integers_beyond_64_bits_are_clear_errors() {
    for value in ["18446744073709551616", "-9223372036854775809", "99999999999999999999999999999999999999999"] {
        let e = error("spec.yaml", &spec_with_max_deliver(value));
        assert!(e.contains(&format!("`{value}` is an integer out of range")), "{e}");
        assert!(e.contains("(at #/operations/r/x-jetstream/maxDeliver)"), "{e}");
        assert!(!e.contains("fix the YAML syntax"), "{e}");
    }
    // The extremes still load.
    for value in ["18446744073709551615", "-9223372036854775808"] {
        let spec = spec_with_max_deliver(value);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.yaml");
        std::fs::write(&path, spec).unwrap();
        let source = Source::load(&path).unwrap();
        let node = source.get(&source.root_id()).unwrap();
        assert_eq!(node["operations"]["r"]["x-jetstream"]["maxDeliver"].to_string(), value);
    }
}

#[test]
fn duplicate_keys_are_located_errors() {
    let e = error("spec.yaml", &format!("{HEAD}channels:\n  c:\n    address: a.b\n    address: a.c\n"));
    assert!(e.contains("duplicate key `address` (first at line 5, column 5)"), "{e}");
    assert!(e.contains("spec.yaml:6:5 (at #/channels/c/address)"), "{e}");
    let e = error("spec.yaml", &format!("{HEAD}channels: {{c: {{address: a.b}}, c: {{address: a.c}}}}\n"));
    assert!(e.contains("duplicate key `c`") && e.contains("spec.yaml:3:"), "{e}");
    let json =
        "{\"asyncapi\": \"3.0.0\",\n \"info\": {\"title\": \"T\", \"version\": \"1\"},\n \"asyncapi\": \"2.6.0\"}";
    let e = error("spec.json", json);
    assert!(e.contains("duplicate key `asyncapi` (first at line 1, column 2)"), "{e}");
    assert!(e.contains("spec.json:3:2 (at #/asyncapi)"), "{e}");
}

#[test]
fn deep_nesting_is_a_located_error_not_a_stack_overflow() {
    let depth = 100_000;
    let flow = format!("{HEAD}x: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let e = error("spec.yaml", &flow);
    assert!(e.contains("nests deeper than 128 levels") && e.contains("spec.yaml:3:"), "{e}");
    let mut block = String::from(HEAD);
    for level in 0..5_000 {
        block.push_str(&format!("{}k:\n", " ".repeat(level)));
    }
    let e = error("spec.yaml", &block);
    assert!(e.contains("nests deeper than 128 levels") && e.contains("spec.yaml:"), "{e}");
    let json = format!("{{\"a\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    let e = error("spec.json", &json);
    assert!(e.contains("nests deeper than 128 levels") && e.contains("spec.json:1:"), "{e}");
    // Up to the limit is fine for the parser (what the model makes of it is another matter).
    let ok = format!("{HEAD}x-deep: {}{}\n", "[".repeat(100), "]".repeat(100));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), ok).unwrap();
    Source::load(&dir.path().join("s.yaml")).unwrap();
}

/// The single-pass parser resolves scalars as serde_yaml did: the same values for every
/// YAML document in the repository (specs and third-party fixtures).
#[test]
fn values_match_serde_yaml_on_every_yaml_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["specs", "specs/multi-file", "specs/multi-file/schemas", "tests/fixtures/faststream"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 5, "documents found: {files:?}");
    for path in files {
        let expected: serde_json::Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let source = Source::load(&path).unwrap();
        assert_eq!(source.get(&source.root_id()).unwrap(), &expected, "{}", path.display());
    }
    // Scalar resolution corner cases (YAML 1.2 core schema as serde_yaml applies it).
    let text = "a: [~, null, '', true, False, 0x1F, 0o17, 0b11, +5, -7, 012, 1e3, 1.5, -0.0, '5', \"true\", !!str 7, yes, 1_000, 0.1.2]\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    let source = Source::load(&dir.path().join("s.yaml")).unwrap();
    let expected: serde_json::Value = serde_yaml::from_str(text).unwrap();
    assert_eq!(source.get(&source.root_id()).unwrap(), &expected);
}
