//! Bad input gets a clear error: file, line:column, JSON pointer and what to do.
//! Never a panic, never silently wrong code.

use std::path::Path;

fn generate(files: &[(&str, &str)]) -> Result<asyncapi_nats::Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    asyncapi_nats::Config::new().generate_crate(dir.path().join(files[0].0)).map_err(|e| e.to_string())
}

fn error(files: &[(&str, &str)]) -> String {
    match generate(files) {
        Ok(_) => panic!("expected an error for {}", files[0].1),
        Err(e) => e,
    }
}

const HEAD: &str = "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\n";

/// A temporary folder holding `spec.yaml`: channel `c` (`a.b`) and receive operation `r`.
fn one_receive_operation() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!("{HEAD}channels:\n  c:\n    address: a.b\noperations:\n  r:\n    action: receive\n    channel: {{$ref: '#/channels/c'}}\n"),
    )
    .unwrap();
    (dir, spec)
}

#[test]
fn unknown_x_jetstream_keys_point_at_the_key() {
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a.b\noperations:\n  r:\n    action: receive\n    channel: {{$ref: '#/channels/c'}}\n    x-jetstream:\n      durable: d\n      ackwait: 30s\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("unknown field `ackwait`"), "{e}");
    assert!(e.contains("spec.yaml:12:7 (at #/operations/r/x-jetstream/ackwait)"), "{e}");
    assert!(e.contains("help:") && e.contains("camelCase"), "{e}");
}

#[test]
fn unsupported_versions_are_refused() {
    let e = error(&[("spec.yaml", "asyncapi: 1.2.0\ninfo: {title: T, version: '1'}\n")]);
    assert!(e.contains("unsupported AsyncAPI version 1.2.0") && e.contains("spec.yaml:1:1"), "{e}");
    let e = error(&[("spec.yaml", "openapi: 3.1.0\n")]);
    assert!(e.contains("not an AsyncAPI document"), "{e}");
}

#[test]
fn syntax_errors_have_positions() {
    let e = error(&[("spec.yaml", "asyncapi: 3.0.0\ninfo: [unclosed\n")]);
    assert!(e.contains("invalid YAML") && e.contains("spec.yaml:"), "{e}");
    let e = error(&[("spec.json", "{\"asyncapi\": \"3.0.0\",\n \"info\": }")]);
    assert!(e.contains("invalid JSON") && e.contains("spec.json:2:"), "{e}");
}

#[test]
fn parameters_must_be_whole_tokens() {
    // Not a NATS subject: a located warning (types still generate), an error with deny_warnings.
    let spec = format!("{HEAD}channels:\n  c:\n    address: orders.x{{id}}.created\n");
    let generated = generate(&[("spec.yaml", &spec)]).unwrap();
    let w = generated.warnings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(w.contains("must be a whole subject token") && w.contains("#/channels/c/address"), "{w}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), &spec).unwrap();
    let e = asyncapi_nats::Config::new().deny_warnings(true).generate_crate(dir.path().join("spec.yaml")).unwrap_err();
    assert!(e.to_string().contains("must be a whole subject token"), "{e}");
}

#[test]
fn wildcards_are_for_receiving_only() {
    let spec = format!(
        "{HEAD}channels:\n  audit:\n    address: audit.>\noperations:\n  s:\n    action: send\n    channel: {{$ref: '#/channels/audit'}}\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("sends to wildcard subject `audit.>`") && e.contains("receiving only"), "{e}");
}

#[test]
fn missing_and_remote_refs_are_located() {
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a\n    messages:\n      m:\n        $ref: '#/components/messages/Nope'\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("points to nothing") && e.contains("spec.yaml:7:7"), "{e}");
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a\n    messages:\n      m:\n        $ref: 'https://example.com/m.yaml'\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("remote $ref") && e.contains("relative path"), "{e}");
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a\n    messages:\n      m:\n        payload: {{$ref: './schemas/missing.yaml#/X'}}\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("missing.yaml") && e.contains("spec.yaml:8:9"), "{e}");
}

#[test]
fn errors_in_referenced_files_name_that_file() {
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a\n    messages:\n      m:\n        payload: {{$ref: 'schemas/order.yaml#/Order'}}\n"
    );
    let order = "Order:\n  type: object\n  properties:\n    line:\n      $ref: '#/Line'\n";
    let e = error(&[("spec.yaml", &spec), ("schemas/order.yaml", order)]);
    assert!(e.contains("schemas/order.yaml:4:5 (at #/Order/properties/line)"), "{e}");
}

#[test]
fn unknown_streams_and_consumer_settings_on_core_channels() {
    let spec = format!(
        "{HEAD}x-jetstream:\n  streams:\n    S: {{}}\nchannels:\n  c:\n    address: a\n    x-jetstream: {{stream: T}}\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("unknown stream `T`") && e.contains("declared streams: S"), "{e}");
    let spec = format!(
        "{HEAD}x-jetstream:\n  streams:\n    S: {{subjects: [x]}}\nchannels:\n  c:\n    address: a\noperations:\n  r:\n    action: receive\n    channel: {{$ref: '#/channels/c'}}\n    x-jetstream: {{durable: d}}\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("channel `c` is in no stream"), "{e}");
}

#[test]
fn invalid_names_and_durations() {
    let spec = format!(
        "{HEAD}x-jetstream:\n  streams:\n    'bad.name': {{maxAge: 3 days}}\nchannels:\n  c:\n    address: a\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("stream name `bad.name`") && e.contains("`.`"), "{e}");
}

#[test]
fn recursive_refs_do_not_loop() {
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a\n    messages:\n      m:\n        payload: {{$ref: '#/components/schemas/Node'}}\ncomponents:\n  schemas:\n    Node:\n      type: object\n      properties:\n        next: {{$ref: '#/components/schemas/Node'}}\n        children: {{type: array, items: {{$ref: '#/components/schemas/Node'}}}}\n    Loop: {{$ref: '#/components/schemas/Loop2'}}\n    Loop2: {{$ref: '#/components/schemas/Loop'}}\n"
    );
    let e = error(&[("spec.yaml", &spec)]);
    assert!(e.contains("circular $ref") || e.contains("recursive"), "{e}");
    let ok = spec.replace(
        "    Loop: {$ref: '#/components/schemas/Loop2'}\n    Loop2: {$ref: '#/components/schemas/Loop'}\n",
        "",
    );
    let generated = generate(&[("spec.yaml", &ok)]).unwrap();
    let types = generated.files.iter().find(|f| f.path == Path::new("src/types.rs")).unwrap();
    assert!(types.contents.contains("pub next: ::std::option::Option<::std::boxed::Box<Node>>"), "{}", types.contents);
    assert!(
        types.contents.contains("pub children: ::std::option::Option<::std::vec::Vec<Node>>"),
        "{}",
        types.contents
    );
}

#[test]
fn sibling_keywords_next_to_ref_annotate_the_field() {
    let spec = format!(
        "{HEAD}channels:\n  c:\n    address: a\n    messages:\n      m:\n        payload:\n          type: object\n          properties:\n            state:\n              $ref: '#/components/schemas/State'\n              description: The state at publication time.\ncomponents:\n  schemas:\n    State: {{type: string, enum: [on, off]}}\n"
    );
    let generated = generate(&[("spec.yaml", &spec)]).unwrap();
    let types = generated.files.iter().find(|f| f.path == Path::new("src/types.rs")).unwrap();
    assert!(
        types.contents.contains("/// The state at publication time.\n    #[serde(default, skip_serializing_if"),
        "{}",
        types.contents
    );
    assert!(types.contents.contains("pub state: ::std::option::Option<State>"), "{}", types.contents);
}

#[test]
fn overlays_merge_and_their_errors_name_the_overlay_file() {
    let (dir, spec) = one_receive_operation();
    let overlay = dir.path().join("ops.overlay.yaml");
    std::fs::write(&overlay, "operations:\n  r:\n    x-jetstream:\n      durable: worker\n      pull: {batch: 5}\n")
        .unwrap();
    let generated = asyncapi_nats::Config::new().overlay(&overlay).generate_crate(&spec).unwrap();
    let subscribers = generated.files.iter().find(|f| f.path == Path::new("src/subscribers.rs")).unwrap();
    assert!(subscribers.contents.contains("pub const DURABLE: &str = \"worker\";"), "{}", subscribers.contents);
    assert!(subscribers.contents.lines().next().unwrap().contains("from spec.yaml + ops.overlay.yaml"));
    assert!(generated.inputs.iter().any(|p| p.ends_with("ops.overlay.yaml")), "overlays are inputs (rerun-if-changed)");

    std::fs::write(&overlay, "operations:\n  r:\n    x-jetstream:\n      durable: worker\n      batch: 5\n").unwrap();
    let e = asyncapi_nats::Config::new().overlay(&overlay).generate_crate(&spec).unwrap_err().to_string();
    assert!(e.contains("unknown field `batch`") && e.contains("ops.overlay.yaml:5:7"), "{e}");
    // `null` removes: the operation without its channel is reported in the document.
    std::fs::write(&overlay, "operations:\n  r:\n    channel: null\n").unwrap();
    let e = asyncapi_nats::Config::new().overlay(&overlay).generate_crate(&spec).unwrap_err().to_string();
    assert!(e.contains("missing channel reference"), "{e}");
}

#[test]
fn a_numeric_version_is_named_as_such() {
    let e = error(&[("spec.yaml", "asyncapi: 3\ninfo: {title: T, version: '1'}\n")]);
    assert!(e.contains("`asyncapi: 3` is not a version string") && e.contains("spec.yaml:1:1 (at #/asyncapi)"), "{e}");
}

/// `tests/fixtures/errors/many.yaml` has independent errors of every stage in different places.
const MANY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/errors/many.yaml");

/// (message, where) of each error of `many.yaml`, in document order.
const MANY_ERRORS: &[(&str, &str)] = &[
    ("replicas 9 is out of range", "many.yaml:6:38 (at #/x-jetstream/streams/ORDERS/replicas)"),
    ("operation `sendAudit` sends to wildcard subject `audit.>`", "many.yaml:14:3 (at #/channels/audit)"),
    ("addresses the system subject space `$JS.API.INFO`", "many.yaml:16:3 (at #/channels/system)"),
    ("unknown field `ackwait`", "many.yaml:24:43 (at #/operations/processOrder/x-jetstream/ackwait)"),
    ("durable `bad.durable`", "many.yaml:28:19 (at #/operations/reviewOrder/x-jetstream/durable)"),
    ("unsupported msgId expression `orderId`", "many.yaml:32:19 (at #/operations/sendAudit/x-jetstream/msgId)"),
    ("operation `shout` has action", "many.yaml:34:5 (at #/operations/shout/action)"),
    (
        "$ref `#/components/schemas/Line` points to nothing",
        "many.yaml:45:30 (at #/components/schemas/Created/properties/lines/items)",
    ),
];

#[test]
fn one_run_reports_every_independent_error_in_document_order() {
    let crate_mode = asyncapi_nats::Config::new().generate_crate(MANY).unwrap_err();
    let module_mode = asyncapi_nats::Config::new().generate(MANY).unwrap_err();
    let manifests = asyncapi_nats::Config::new().generate_manifests(MANY).unwrap_err();
    for e in [&crate_mode, &module_mode] {
        assert_eq!(e.count(), MANY_ERRORS.len(), "{e}");
        let errors = e.errors();
        for (error, (message, at)) in errors.iter().zip(MANY_ERRORS) {
            assert!(error.message.contains(message), "{message}:\n{error}");
            assert_eq!(error.location.as_ref().map(ToString::to_string).as_deref(), Some(*at), "{error}");
            assert!(error.hint.is_some(), "every error says what to do: {error}");
            assert!(error.more.is_none() && error.errors().len() == 1, "one by one");
        }
        // The run's warnings come with its errors.
        let warnings: Vec<String> = e.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("`rooms/{roomId}` is not a NATS subject"), "{warnings:?}");
        // Display lists them all, each after the first as `error: …`.
        let text = e.to_string();
        assert_eq!(text.matches("\nerror: ").count(), MANY_ERRORS.len() - 1, "{text}");
    }
    // The manifests need no types: every error but the schema's.
    assert_eq!(manifests.count(), MANY_ERRORS.len() - 1, "{manifests}");
    // For build scripts: each error starts with a `cargo::error=<message>` line.
    let cargo = asyncapi_nats::cargo_error(&module_mode);
    let starts: Vec<&str> =
        cargo.lines().filter(|l| l.starts_with("cargo::error=") && !l.starts_with("cargo::error= ")).collect();
    assert_eq!(starts.len(), MANY_ERRORS.len(), "{cargo}");
    assert!(cargo.lines().all(|l| l.starts_with("cargo::error=")), "{cargo}");
}

#[test]
fn a_run_with_very_many_errors_lists_the_first_fifty_and_counts_the_rest() {
    let mut spec = format!("{HEAD}channels:\n  c:\n    address: a\noperations:\n");
    for i in 0..2000 {
        spec.push_str(&format!("  op{i:04}:\n    action: yell\n    channel: {{$ref: '#/channels/c'}}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), &spec).unwrap();
    let e = asyncapi_nats::Config::new().generate_crate(dir.path().join("spec.yaml")).unwrap_err();
    assert_eq!(e.count(), 2000);
    let errors = e.errors();
    assert_eq!(errors.len(), asyncapi_nats::error::MAX_ERRORS);
    // The first fifty in document order.
    assert!(errors[0].message.contains("`op0000`") && errors[49].message.contains("`op0049`"), "{}", errors[49]);
    let text = e.to_string();
    assert!(text.ends_with("\nerror: and 1950 more errors (the first 50 are listed)"), "{}", &text[text.len() - 200..]);
}

#[test]
fn every_overlay_error_is_reported_at_once() {
    let (dir, spec) = one_receive_operation();
    let first = dir.path().join("first.yaml");
    std::fs::write(&first, "channels:\n  cc: {description: typo}\noperations:\n  rr: {x-jetstream: {durable: w}}\n")
        .unwrap();
    let second = dir.path().join("second.yaml");
    std::fs::write(&second, "components:\n  messages:\n    Nope: {name: n}\n").unwrap();
    let e = asyncapi_nats::Config::new().overlay(&first).overlay(&second).generate_crate(&spec).unwrap_err();
    let at: Vec<String> = e.errors().iter().map(|e| e.location.as_ref().unwrap().to_string()).collect();
    assert_eq!(
        at,
        [
            "first.yaml:2:3 (at #/channels/cc)",
            "first.yaml:4:3 (at #/operations/rr)",
            "second.yaml:2:3 (at #/components/messages)"
        ],
        "{e}"
    );
}
