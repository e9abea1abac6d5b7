//! Hostile documents: spec text is untrusted input. Each case either fails with a located error
//! naming the field, or generates output that is proven safe:
//! - the generated Rust has exactly the items of the same document with harmless text
//!   (parsed with syn), so nothing from the spec became code;
//! - every code block in the generated rustdoc is a ```` ```text ```` block (parsed with
//!   pulldown-cmark, the parser rustdoc uses), so nothing from the spec becomes a doctest;
//! - no output file holds a control, bidi or line-separator character;
//! - `Cargo.toml` parses with only the expected keys, each manifest is exactly one YAML document
//!   with the expected keys, and `nats-authorization.conf` passes `nats-server -t`.

#[path = "support/nats_server.rs"]
mod nats_server;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use asyncapi_nats::{Config, Generated};
use serde_json::{Value, json};

/// A document with every free-text field, one parameterized channel in a declared stream,
/// a durable pull consumer and a publisher. `text` goes into each field named in `fields`.
fn document(text: &str, fields: &[&str]) -> Value {
    let t = |field: &str| if fields.contains(&field) { text.to_string() } else { format!("plain {field}") };
    json!({
        "asyncapi": "3.0.0",
        "info": {"title": t("title"), "version": "1.0.0", "description": t("info")},
        "x-jetstream": {"streams": {"orders": {"subjects": ["orders.>"], "description": t("stream")}}},
        "channels": {
            "created": {
                "address": "orders.{id}.created",
                "description": t("channel"),
                "x-jetstream": {"stream": "orders"},
                "parameters": {"id": {"description": t("parameter")}},
                "messages": {"Created": {"$ref": "#/components/messages/Created"}}
            }
        },
        "operations": {
            "onCreated": {
                "action": "receive",
                "channel": {"$ref": "#/channels/created"},
                "summary": t("summary"),
                "description": t("operation"),
                "x-jetstream": {"durable": "worker", "description": t("consumer")}
            },
            "sendCreated": {"action": "send", "channel": {"$ref": "#/channels/created"}}
        },
        "components": {
            "messages": {
                "Created": {
                    "name": "Created",
                    "title": t("message title"),
                    "summary": t("message summary"),
                    "description": t("message"),
                    "payload": {"$ref": "#/components/schemas/Order"}
                }
            },
            "schemas": {
                "Order": {
                    "type": "object",
                    "description": t("schema"),
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string", "description": t("property")},
                        "state": {"type": "string", "enum": ["open", t("enum")]}
                    }
                }
            }
        }
    })
}

const FIELDS: &[&str] = &[
    "title",
    "info",
    "stream",
    "channel",
    "parameter",
    "summary",
    "operation",
    "consumer",
    "message title",
    "message summary",
    "message",
    "schema",
    "property",
    "enum",
];

const TEXTS: &[&str] = &[
    "```rust\nstd::fs::write(\"pwned\", \"\").unwrap();\n```",
    "~~~\npanic!(\"tilde fence\");\n~~~",
    "```should_panic\nassert!(true);\n```",
    "````\n```rust\ncompile_error!(\"inner\");\n```\n````",
    "``` rust,no_run\nloop {}",
    "right-to-left \u{202E} override \u{2066} isolate",
    "lone CR \r inside",
    "NUL \0 and DEL \u{7f} and NEL \u{85}",
    "line separator \u{2028} paragraph \u{2029}",
    "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: evil}",
    "\n[target.'cfg(all())'.dependencies]\nevil = \"1\"",
    "*/ pub const EVIL: u8 = 1; /* \"]\n#[doc = \"",
    "e\u{301} combining, BOM \u{feff}",
];

fn write_spec(dir: &Path, name: &str, spec: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    path
}

fn generate(spec: &Value) -> Result<Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write_spec(dir.path(), "spec.json", spec);
    Config::new().generate_crate(&path).map_err(|e| e.to_string())
}

fn file<'a>(generated: &'a Generated, path: &str) -> &'a str {
    &generated.files.iter().find(|f| f.path == Path::new(path)).unwrap_or_else(|| panic!("no {path}")).contents
}

/// `(kind, name)` of every item, field, variant and associated item, with its module path.
fn items(source: &str) -> BTreeSet<String> {
    fn walk(items: &[syn::Item], at: &str, out: &mut BTreeSet<String>) {
        for item in items {
            match item {
                syn::Item::Mod(m) => {
                    let path = format!("{at}::{}", m.ident);
                    out.insert(format!("mod {path}"));
                    if let Some((_, inner)) = &m.content {
                        walk(inner, &path, out);
                    }
                }
                syn::Item::Struct(s) => {
                    out.insert(format!("struct {at}::{}", s.ident));
                    for (i, f) in s.fields.iter().enumerate() {
                        let name = f.ident.as_ref().map_or(i.to_string(), ToString::to_string);
                        out.insert(format!("field {at}::{}.{name}", s.ident));
                    }
                }
                syn::Item::Enum(e) => {
                    out.insert(format!("enum {at}::{}", e.ident));
                    out.insert(format!("variants {at}::{} {}", e.ident, e.variants.len()));
                }
                syn::Item::Fn(f) => {
                    out.insert(format!("fn {at}::{}", f.sig.ident));
                }
                syn::Item::Const(c) => {
                    out.insert(format!("const {at}::{}", c.ident));
                }
                syn::Item::Static(s) => {
                    out.insert(format!("static {at}::{}", s.ident));
                }
                syn::Item::Type(t) => {
                    out.insert(format!("type {at}::{}", t.ident));
                }
                syn::Item::Trait(t) => {
                    out.insert(format!("trait {at}::{} {}", t.ident, t.items.len()));
                }
                syn::Item::Impl(i) => {
                    let ty = match &*i.self_ty {
                        syn::Type::Path(p) => p.path.segments.last().map_or(String::new(), |s| s.ident.to_string()),
                        _ => "?".into(),
                    };
                    let of = i.trait_.as_ref().and_then(|(p, _)| p.segments.last()).map(|s| s.ident.to_string());
                    for item in &i.items {
                        match item {
                            syn::ImplItem::Fn(f) => out.insert(format!("impl {of:?} fn {at}::{ty}::{}", f.sig.ident)),
                            syn::ImplItem::Type(t) => out.insert(format!("impl {of:?} type {at}::{ty}::{}", t.ident)),
                            syn::ImplItem::Const(c) => out.insert(format!("impl {of:?} const {at}::{ty}::{}", c.ident)),
                            _ => out.insert(format!("impl {of:?} other {at}::{ty}")),
                        };
                    }
                }
                syn::Item::Use(_) => {
                    out.insert(format!("use {at}"));
                }
                syn::Item::Macro(m) => {
                    let name = m.mac.path.segments.last().map_or(String::new(), |s| s.ident.to_string());
                    out.insert(format!("macro {at} {name}"));
                }
                syn::Item::ExternCrate(e) => {
                    out.insert(format!("extern crate {at} {}", e.ident));
                }
                _ => {
                    out.insert(format!("other item {at}"));
                }
            }
        }
    }
    let file = syn::parse_file(source).unwrap_or_else(|e| panic!("generated Rust does not parse: {e}"));
    let mut out = BTreeSet::new();
    walk(&file.items, "crate", &mut out);
    out
}

/// Every doc comment block (consecutive `#[doc]` attributes of one owner), as markdown.
fn doc_blocks(source: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Vec<String> = Vec::new();
    // prettyplease prints doc attributes as `///` / `//!` comments.
    for line in source.lines() {
        let t = line.trim_start();
        if let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) {
            current.push(doc.to_string());
        } else if !current.is_empty() {
            blocks.push(current.join("\n"));
            current.clear();
        }
    }
    if !current.is_empty() {
        blocks.push(current.join("\n"));
    }
    blocks
}

/// Rustdoc turns a code block into a doctest unless its info string says it is not Rust.
fn assert_no_doctest(markdown: &str, context: &str) {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    for event in Parser::new(markdown) {
        if let Event::Start(Tag::CodeBlock(kind)) = event {
            match kind {
                CodeBlockKind::Fenced(info) if &*info == "text" => {}
                other => panic!("{context}: a code block rustdoc would run ({other:?}) in:\n{markdown}"),
            }
        }
    }
}

fn assert_no_unsafe_chars(text: &str, context: &str) {
    if let Some(c) = text.chars().find(|&c| c != '\n' && asyncapi_nats::escape::is_unsafe_in_text(c)) {
        panic!("{context}: raw {:?} in output", c);
    }
}

fn assert_cargo_toml(text: &str, context: &str) {
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{context}: Cargo.toml: {e}\n{text}"));
    for key in table.keys() {
        assert!(["dependencies", "package", "features"].contains(&key.as_str()), "{context}: [{key}] in {text}");
    }
    for (feature, _) in table.get("features").and_then(toml::Value::as_table).into_iter().flatten() {
        assert_eq!(feature, "schemars", "{context}: unexpected feature");
    }
    let package = table["package"].as_table().unwrap();
    for key in package.keys() {
        assert!(["name", "version", "edition", "description", "publish"].contains(&key.as_str()), "{context}: {key}");
    }
    for (name, _) in table["dependencies"].as_table().unwrap() {
        assert!(
            ["async-nats", "bytes", "futures", "serde", "serde_json", "tokio", "tracing", "time", "uuid", "schemars"]
                .contains(&name.as_str())
                || name.starts_with("asyncapi-nats"),
            "{context}: unexpected dependency {name}"
        );
    }
}

fn assert_manifest(name: &str, text: &str, context: &str) {
    // The project's loader refuses a stream of several YAML documents.
    let source = asyncapi_nats::load::Source::from_str(name, text)
        .unwrap_or_else(|e| panic!("{context}: {name} is not one YAML document: {e}\n{text}"));
    let value = source.get(&source.root_id()).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    let kind = value["kind"].as_str().unwrap();
    match kind {
        "Stream" | "Consumer" => assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"], "{context}: {name}"),
        "Kustomization" => assert_eq!(keys, ["apiVersion", "kind", "resources"], "{context}: {name}"),
        other => panic!("{context}: {name} has kind {other}"),
    }
}

fn assert_conf_valid(text: &str, context: &str) {
    let dir = tempfile::tempdir().unwrap();
    let user = text.lines().find_map(|l| l.strip_suffix(" = {")).expect("one user variable").to_string();
    let password = user.replace("_USER", "_PASSWORD");
    let conf = format!("{text}authorization {{ users = [ ${user} ] }}\n");
    let path = dir.path().join("server.conf");
    std::fs::write(&path, conf).unwrap();
    let out = std::process::Command::new(nats_server::binary())
        .args(["-t", "-c"])
        .arg(&path)
        .env(&password, "secret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{context}: nats-server -t: {}\n{text}", String::from_utf8_lossy(&out.stderr));
}

/// All output checks of one generation; returns the Rust item set for comparison.
fn assert_safe(generated: &Generated, context: &str) -> BTreeSet<String> {
    let mut all_items = BTreeSet::new();
    for f in &generated.files {
        let path = f.path.to_string_lossy();
        assert_no_unsafe_chars(&f.contents, &format!("{context}: {path}"));
        if path.ends_with(".rs") {
            for item in items(&f.contents) {
                all_items.insert(format!("{path}: {item}"));
            }
            for block in doc_blocks(&f.contents) {
                assert_no_doctest(&block, &format!("{context}: {path}"));
            }
        } else if path == "Cargo.toml" {
            assert_cargo_toml(&f.contents, context);
        } else if path.ends_with(".yaml") {
            assert_manifest(&path, &f.contents, context);
        } else if path.ends_with(".conf") {
            assert_conf_valid(&f.contents, context);
        } else if path.ends_with(".json") {
            serde_json::from_str::<Value>(&f.contents).unwrap_or_else(|e| panic!("{context}: {path}: {e}"));
        }
    }
    all_items
}

/// 14 fields × 13 texts = 182 cases: output is safe and has exactly the items of the same
/// document with harmless text (enum values name variants, so only their count is compared).
#[test]
fn free_text_never_becomes_code_doctests_keys_or_config() {
    let baseline = assert_safe(&generate(&document("plain", &[])).unwrap(), "baseline");
    let mut cases = 0;
    for field in FIELDS {
        for text in TEXTS {
            let context = format!("{field} = {text:?}");
            let generated = generate(&document(text, &[field])).unwrap_or_else(|e| panic!("{context}: {e}"));
            let found = assert_safe(&generated, &context);
            if *field != "enum" {
                assert_eq!(found, baseline, "{context}: the generated items differ");
            } else {
                assert_eq!(found.len(), baseline.len(), "{context}");
            }
            cases += 1;
        }
    }
    assert_eq!(cases, FIELDS.len() * TEXTS.len());
}

/// File names are text too: they appear in the `@generated` header of every file.
#[test]
fn hostile_file_names_stay_in_their_comment() {
    let names = [
        "a\n---\napiVersion: v1\nkind: Pod.json",
        "b\n[target.'cfg(all())'.dependencies]\nevil = \"1\".json",
        "c\r\u{202e}nosj.json",
        "d \u{2028}pub const X: u8 = 1;\u{85}.json",
    ];
    let baseline = assert_safe(&generate(&document("plain", &[])).unwrap(), "baseline");
    for name in names {
        let dir = tempfile::tempdir().unwrap();
        let spec = write_spec(dir.path(), name, &document("plain", &[]));
        let overlay = dir.path().join(format!("{name}.overlay.json"));
        std::fs::write(&overlay, "{\"info\": {\"description\": \"overlaid\"}}").unwrap();
        let generated = Config::new().overlay(&overlay).generate_crate(&spec).unwrap();
        let found = assert_safe(&generated, &format!("file {name:?}"));
        assert_eq!(found, baseline, "file {name:?}");
        for f in generated.files.iter().filter(|f| !f.path.to_string_lossy().ends_with(".json")) {
            let first = f.contents.lines().next().unwrap();
            assert_eq!(first.matches("@generated").count(), 1, "{}", f.path.display());
            assert_eq!(f.contents.matches("@generated").count(), 1, "{}", f.path.display());
        }
    }
}

/// One expected failure: a mutation of the document, and what the error must contain.
struct Refused {
    what: &'static str,
    mutate: Box<dyn Fn(&mut Value)>,
    expect: Vec<&'static str>,
}

fn refused(what: &'static str, mutate: impl Fn(&mut Value) + 'static, expect: &[&'static str]) -> Refused {
    Refused { what, mutate: Box::new(mutate), expect: expect.to_vec() }
}

fn set(pointer: &'static str, value: Value) -> impl Fn(&mut Value) {
    move |doc: &mut Value| {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = doc.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
        target.as_object_mut().unwrap().insert(key.replace("~1", "/"), value.clone());
    }
}

fn rename_stream(name: &'static str) -> impl Fn(&mut Value) {
    move |doc: &mut Value| {
        let spec = doc["x-jetstream"]["streams"].as_object_mut().unwrap().remove("orders").unwrap();
        doc["x-jetstream"]["streams"][name] = spec;
        doc["channels"]["created"]["x-jetstream"]["stream"] = json!(name);
    }
}

fn refused_cases() -> Vec<Refused> {
    const CONSUMER: &str = "/operations/onCreated/x-jetstream";
    let mut cases = vec![
        // System subject spaces and full wildcards.
        refused(
            "send to the stream delete API",
            |d: &mut Value| {
                d["channels"]["created"]["address"] = json!("$JS.API.STREAM.DELETE.{id}");
                d["channels"]["created"].as_object_mut().unwrap().remove("x-jetstream");
                d["operations"]["onCreated"].as_object_mut().unwrap().remove("x-jetstream");
            },
            &["system subject space", "$JS.API.STREAM.DELETE.{id}"],
        ),
        refused(
            "core receive on >",
            |d: &mut Value| {
                d["channels"]["created"]["address"] = json!(">");
                d["channels"]["created"]["parameters"] = json!({});
                d["channels"]["created"].as_object_mut().unwrap().remove("x-jetstream");
                d["operations"]["onCreated"].as_object_mut().unwrap().remove("x-jetstream");
                d["operations"].as_object_mut().unwrap().remove("sendCreated");
            },
            &["every subject"],
        ),
    ];
    for (address, what) in [("$SYS.{id}", "$SYS"), ("_INBOX.{id}", "_INBOX"), ("$KV.bucket.{id}", "$KV")] {
        cases.push(refused(
            what,
            move |d: &mut Value| {
                d["channels"]["created"]["address"] = json!(address);
                d["channels"]["created"].as_object_mut().unwrap().remove("x-jetstream");
                d["operations"]["onCreated"].as_object_mut().unwrap().remove("x-jetstream");
            },
            &["system subject space"],
        ));
    }
    // Stream and durable names (JetStream's rules, and safe in config and permission subjects).
    for name in [">", "", "a b", "a.b", "a\u{301}", "x/y", "$x", "a*", "tab\tname", "a\nb"] {
        cases.push(refused("stream name", rename_stream(name), &["stream name", "/x-jetstream/streams"]));
    }
    for name in [">", "", "a b", "a.b", "d\u{301}", "x\\y", "a\"b"] {
        cases.push(refused(
            "durable name",
            set("/operations/onCreated/x-jetstream/durable", json!(name)),
            &["durable"],
        ));
    }
    // Numbers out of range.
    for (field, value) in [("replicas", json!(0)), ("replicas", json!(99)), ("replicas", json!(6))] {
        cases.push(refused(
            "replicas",
            move |d: &mut Value| d["x-jetstream"]["streams"]["orders"][field] = value.clone(),
            &["replicas", "/x-jetstream/streams/orders/replicas"],
        ));
    }
    cases.push(refused(
        "negative replicas",
        set("/x-jetstream/streams/orders/replicas", json!(-1)),
        &["replicas", "/x-jetstream/streams/orders/replicas"],
    ));
    for field in ["maxMsgs", "maxBytes", "maxMsgSize", "maxConsumers", "maxMsgsPerSubject"] {
        cases.push(refused(
            "negative limit",
            move |d: &mut Value| d["x-jetstream"]["streams"]["orders"][field] = json!(-5),
            &["negative", "/x-jetstream/streams/orders/"],
        ));
    }
    for (field, value) in [
        ("maxDeliver", json!(0)),
        ("maxDeliver", json!(-2)),
        ("maxAckPending", json!(0)),
        ("maxAckPending", json!(-7)),
        ("maxWaiting", json!(0)),
    ] {
        cases.push(refused(
            "consumer limit",
            move |d: &mut Value| d["operations"]["onCreated"]["x-jetstream"][field] = value.clone(),
            &["out of range", CONSUMER],
        ));
    }
    cases.push(refused(
        "integer overflow",
        set("/operations/onCreated/x-jetstream/maxDeliver", json!(u64::MAX)),
        &["maxDeliver", CONSUMER],
    ));
    cases.push(refused(
        "wrong type",
        set("/operations/onCreated/x-jetstream/pull", json!({"batch": "ten"})),
        &["`batch`", "/x-jetstream/pull/batch"],
    ));
    cases.push(refused("batch 0", set("/operations/onCreated/x-jetstream/pull", json!({"batch": 0})), &["batch"]));
    cases.push(refused(
        "unknown enum value",
        set("/x-jetstream/streams/orders/storage", json!("disk")),
        &["`storage`", "/x-jetstream/streams/orders/storage"],
    ));
    // Deliver policies and their start fields.
    for (policy, extra, expect) in [
        ("byStartTime", json!({"optStartTime": "yesterday"}), "RFC 3339"),
        ("byStartTime", json!({}), "without optStartTime"),
        ("byStartSequence", json!({}), "without optStartSeq"),
        ("all", json!({"optStartSeq": 5}), "optStartSeq is only used"),
        ("new", json!({"optStartTime": "2026-01-01T00:00:00Z"}), "optStartTime is only used"),
    ] {
        cases.push(refused(
            "deliver policy",
            move |d: &mut Value| {
                let c = d["operations"]["onCreated"]["x-jetstream"].as_object_mut().unwrap();
                c.insert("deliverPolicy".into(), json!(policy));
                for (k, v) in extra.as_object().unwrap() {
                    c.insert(k.clone(), v.clone());
                }
            },
            &[expect, CONSUMER],
        ));
    }
    // Subjects written where the server takes them literally.
    for subject in ["b c", "", "x..y", "z.>.q", ">", "a.{id}", "tab\t.x"] {
        cases.push(refused(
            "stream subject",
            move |d: &mut Value| d["x-jetstream"]["streams"]["orders"]["subjects"] = json!(["orders.>", subject]),
            &["stream subject", "/x-jetstream/streams/orders/subjects/1"],
        ));
    }
    for (field, value) in [
        ("filterSubject", json!("orders.{id}.created")),
        ("filterSubject", json!("orders. x")),
        ("filterSubjects", json!(["orders.*.created", "b c"])),
    ] {
        cases.push(refused(
            "filter subject",
            move |d: &mut Value| d["operations"]["onCreated"]["x-jetstream"][field] = value.clone(),
            &["filter subject", CONSUMER],
        ));
    }
    // Durations: Go syntax, within Go's range.
    for (pointer, value) in [
        ("/operations/onCreated/x-jetstream/ackWait", json!("999999999999999999999999999999h1ns")),
        ("/operations/onCreated/x-jetstream/inactiveThreshold", json!("3 days")),
        ("/operations/onCreated/x-jetstream/backoff", json!(["1s", "-1s"])),
        ("/x-jetstream/streams/orders/maxAge", json!("2562048h")),
        ("/x-jetstream/streams/orders/duplicateWindow", json!("1e9h")),
    ] {
        cases.push(refused("duration", set(pointer, value), &["duration"]));
    }
    // Queue groups.
    for queue in ["a b", "", "q\n", "q*"] {
        cases.push(refused(
            "queue group",
            move |d: &mut Value| {
                d["channels"]["created"].as_object_mut().unwrap().remove("x-jetstream");
                d["operations"]["onCreated"].as_object_mut().unwrap().remove("x-jetstream");
                d["channels"]["created"]["bindings"] = json!({"nats": {"queue": queue}});
            },
            &["queue group", "/channels/created/bindings/nats/queue"],
        ));
    }
    cases
}

/// Code injection through a parameter name: such an address is not a NATS subject, so the
/// channel's publishers and subscribers are skipped with a located warning (an error with
/// `deny_warnings`); the name reaches no output.
#[test]
fn injected_parameter_names_reach_no_output() {
    let addresses = [
        "a.{x\npub const EVIL: u8 = 1;\n//}",
        "a.{macro_rules! format (($($t:tt)*) => (\"evil\"))}",
        "a.{x\"}",
        "a.{x y}",
        "a.{é}",
        "a.{}",
        "a.{x}}\n#[doc = \"",
    ];
    for address in addresses {
        let mut doc = document("plain", &[]);
        doc["channels"]["created"]["address"] = json!(address);
        let generated = generate(&doc).unwrap_or_else(|e| panic!("{address:?}: {e}"));
        let items = assert_safe(&generated, address);
        assert!(!items.iter().any(|i| i.contains("EVIL") || i.starts_with("macro")), "{address:?}: {items:?}");
        for f in &generated.files {
            assert!(!f.contents.contains("EVIL") && !f.contents.contains("macro_rules"), "{address:?}");
        }
        let warning = generated.warnings.iter().map(ToString::to_string).find(|w| w.contains("not a NATS subject"));
        let warning = warning.unwrap_or_else(|| panic!("{address:?}: no warning in {:?}", generated.warnings));
        assert!(warning.contains("spec.json:") && warning.contains("/channels/created/address"), "{warning}");
        let dir = tempfile::tempdir().unwrap();
        let path = write_spec(dir.path(), "spec.json", &doc);
        let denied = Config::new().deny_warnings(true).generate_crate(&path).unwrap_err().to_string();
        assert!(denied.contains("not a NATS subject"), "{denied}");
    }
}

/// Every refused case fails with a located error that contains the expected text.
#[test]
fn invalid_values_are_located_errors() {
    let cases = refused_cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    for case in &cases {
        let mut doc = document("plain", &[]);
        (case.mutate)(&mut doc);
        let err = match generate(&doc) {
            Ok(_) => panic!("{}: accepted", case.what),
            Err(e) => e,
        };
        assert!(err.contains("spec.json:"), "{}: not located: {err}", case.what);
        for fragment in &case.expect {
            assert!(err.contains(fragment), "{}: `{fragment}` missing in:\n{err}", case.what);
        }
    }
}

#[test]
fn names_given_to_the_generator_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), "spec.json", &document("plain", &[]));
    for name in ["x\"\nbuild = \"pwn.rs", "std", "test", "core", "", "1abc", "a/b", "é"] {
        let err = Config::new().crate_name(name).generate_crate(&spec).unwrap_err().to_string();
        assert!(err.contains("crate name"), "{name:?}: {err}");
    }
    for name in ["../x", "a/b", "a-b", "type", ""] {
        let err = Config::new().module_name(name).generate(&spec).unwrap_err().to_string();
        assert!(err.contains("module name"), "{name:?}: {err}");
    }
    // The default stream (no x-jetstream): --stream is a JetStream name.
    let mut plain = document("plain", &[]);
    plain.as_object_mut().unwrap().remove("x-jetstream");
    plain["channels"]["created"].as_object_mut().unwrap().remove("x-jetstream");
    let spec = write_spec(dir.path(), "plain.json", &plain);
    for name in [">", "", "a.b", "é", "a b"] {
        let err = Config::new().default_stream(name).generate_crate(&spec).unwrap_err().to_string();
        assert!(err.contains("stream name"), "{name:?}: {err}");
    }
    // A title made only of hostile characters still gives valid names.
    let mut odd = document("plain", &[]);
    odd["info"]["title"] = json!("\u{202e}\u{7f}test");
    let generated = generate(&odd).unwrap();
    assert!(file(&generated, "Cargo.toml").contains("name = \"test-client\""));
}

/// `$ref` reads only regular UTF-8 files under the root (the spec's repository or workspace).
#[test]
fn refs_read_only_regular_files_under_the_root() {
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("api/dir")).unwrap();
    std::fs::write(top.path().join("secret.yaml"), "type: string\ndescription: SECRET TEXT\n").unwrap();
    std::fs::write(repo.join("api/ok.yaml"), "type: string\n").unwrap();
    std::fs::write(repo.join("api/binary.yaml"), b"\xff\xfe\x00binary").unwrap();
    std::os::unix::fs::symlink(top.path().join("secret.yaml"), repo.join("api/link.yaml")).unwrap();
    let fifo = repo.join("api/fifo.yaml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = std::fs::File::create(repo.join("api/big.yaml")).unwrap();
    big.set_len(asyncapi_nats::load::MAX_FILE_BYTES + 1).unwrap(); // sparse
    let secret = top.path().join("secret.yaml").to_string_lossy().into_owned();
    let cases: Vec<(String, &str)> = vec![
        ("/dev/zero".into(), "outside the $ref root"),
        (secret.clone(), "outside the $ref root"),
        ("../../secret.yaml".into(), "outside the $ref root"),
        ("%2e%2e/%2e%2e/secret.yaml".into(), "outside the $ref root"),
        ("link.yaml".into(), "outside the $ref root"),
        ("fifo.yaml".into(), "not a regular file"),
        ("dir".into(), "is a directory"),
        ("binary.yaml".into(), "not valid UTF-8"),
        ("big.yaml".into(), "more than the limit"),
        ("missing.yaml".into(), "cannot read"),
    ];
    for (reference, expect) in &cases {
        let mut doc = document("plain", &[]);
        doc["components"]["schemas"]["Order"]["properties"]["id"] = json!({"$ref": reference});
        let spec = write_spec(&repo.join("api"), "spec.json", &doc);
        let err = Config::new().generate_crate(&spec).unwrap_err().to_string();
        assert!(err.contains(expect), "{reference}: {err}");
        assert!(err.contains("spec.json:") && err.contains("/properties/id"), "{reference}: not located: {err}");
        assert!(!err.contains("SECRET TEXT"));
    }
    // Inside the root, and outside it when the user widens the root.
    let mut doc = document("plain", &[]);
    doc["components"]["schemas"]["Order"]["properties"]["id"] = json!({"$ref": "ok.yaml"});
    Config::new().generate_crate(write_spec(&repo.join("api"), "spec.json", &doc)).unwrap();
    doc["components"]["schemas"]["Order"]["properties"]["id"] = json!({"$ref": "../../secret.yaml"});
    let spec = write_spec(&repo.join("api"), "spec.json", &doc);
    let generated = Config::new().ref_root(top.path()).generate_crate(&spec).unwrap();
    assert!(file(&generated, "src/types.rs").contains("SECRET TEXT"), "the widened root reads the file");
    // The document and overlays themselves: regular files only.
    let err = Config::new().generate_crate(&fifo).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let clean = write_spec(&repo.join("api"), "clean.json", &document("plain", &[]));
    let err = Config::new().overlay(repo.join("api/dir")).generate_crate(&clean).unwrap_err().to_string();
    assert!(err.contains("is a directory"), "{err}");
}

/// The hostile-docs golden crate is compiled and its doctests run in CI; here: the generated
/// source of every golden example holds no raw control or bidi character.
#[test]
fn golden_examples_hold_no_unsafe_characters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated-examples");
    let mut files = 0;
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                assert_no_unsafe_chars(&text, &path.display().to_string());
                if path.extension().is_some_and(|e| e == "rs") {
                    for block in doc_blocks(&text) {
                        assert_no_doctest(&block, &path.display().to_string());
                    }
                }
                files += 1;
            }
        }
    }
    assert!(files > 50, "{files}");
}
