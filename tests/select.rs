//! `--only` / `Config::only`: one service's crate from a platform's document keeps the selected
//! operations and exactly what they need, generated the same as in the whole crate.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::collections::BTreeSet;
use std::path::Path;

use asyncapi_nats::{Config, Generated};

fn generate(spec: &Path, only: &[&str]) -> asyncapi_nats::Result<Generated> {
    let mut config = Config::new();
    for pattern in only {
        config.only(*pattern);
    }
    config.generate_crate(spec)
}

fn file<'a>(generated: &'a Generated, path: &str) -> &'a str {
    let found = generated.files.iter().find(|f| f.path == Path::new(path));
    &found.unwrap_or_else(|| panic!("{path} is generated")).contents
}

fn paths(generated: &Generated) -> BTreeSet<String> {
    generated.files.iter().map(|f| f.path.display().to_string()).collect()
}

/// Names of the `pub struct` / `pub mod` / … items of a module (top level; methods for `async fn`).
fn items(text: &str, kind: &str) -> BTreeSet<String> {
    let prefix = format!("pub {kind} ");
    let method = kind == "async fn";
    text.lines()
        .map(|l| if method { l.trim_start() } else { l })
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap().to_string())
        .collect()
}

/// The text of the top-level item starting with `start` (through its closing line).
fn item<'a>(text: &'a str, start: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("{start}"));
    let len = text[from..].find("\n}\n").unwrap() + 3;
    &text[from..from + len]
}

#[test]
fn only_the_selected_operations_and_what_they_need_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("platform.yaml");
    std::fs::write(&spec, synthetic::spec(30)).unwrap();
    let whole = generate(&spec, &[]).unwrap();
    let one = generate(&spec, &["consume_entity7_changed", "publish_entity2*"]).unwrap();

    // Subscribers and publishers: the selection (`publish_entity2*` matches 2 and 20–29).
    let subscribers = file(&one, "src/subscribers.rs");
    assert_eq!(items(subscribers, "mod"), BTreeSet::from(["consume_entity7_changed".to_string()]));
    let publishers: BTreeSet<String> = items(file(&one, "src/publishers.rs"), "async fn");
    let expected: BTreeSet<String> =
        std::iter::once(2).chain(20..30).map(|i| format!("publish_entity{i}_changed")).collect();
    assert_eq!(publishers, expected);
    assert!(items(file(&whole, "src/publishers.rs"), "async fn").len() == 30);

    // Types: those of the selected messages and what they reference, nothing else.
    let types = items(file(&one, "src/types.rs"), "struct");
    assert!(types.contains("Entity7") && types.contains("Entity25Line") && types.contains("Owner"), "{types:?}");
    assert!(!types.iter().any(|t| t.starts_with("Entity1") || t.starts_with("Entity3")), "{types:?}");

    // The generated code of a selected operation is the same as in the whole crate.
    let module = "/// Message `Entity7Changed`";
    assert_eq!(item(subscribers, module), item(file(&whole, "src/subscribers.rs"), module));
    let ty = "pub struct Entity7 {";
    assert_eq!(item(file(&one, "src/types.rs"), ty), item(file(&whole, "src/types.rs"), ty));

    // Manifests: the one consumer, the streams of the kept channels (domains 7, 2, 0, 5, 6, 8, 9
    // of the synthetic document's 20 are used by entities 7, 2, 20–29), permissions to match.
    let deploy: Vec<String> = paths(&one).into_iter().filter(|p| p.starts_with("deploy/")).collect();
    let consumers: Vec<&String> = deploy.iter().filter(|p| p.contains("/consumer-")).collect();
    assert_eq!(consumers.len(), 1, "{deploy:?}");
    let streams = deploy.iter().filter(|p| p.contains("/stream-")).count();
    let all_streams = paths(&whole).iter().filter(|p| p.contains("/stream-")).count();
    assert!(streams < all_streams && streams >= 2, "{streams} of {all_streams}");
    let permissions = file(&one, "deploy/nats-permissions.json");
    assert!(permissions.contains("domain7.entity7.*.*.changed") || permissions.contains(".D7."), "{permissions}");
    assert!(!permissions.contains("entity13"), "{permissions}");
}

#[test]
fn a_pattern_that_matches_nothing_is_an_error_naming_the_operations() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("platform.yaml");
    std::fs::write(&spec, synthetic::spec(3)).unwrap();
    let error = generate(&spec, &["consume_entity1_changed", "consume_entity9*", "publish_nothing"]).unwrap_err();
    assert_eq!(error.count(), 2, "{error}");
    let text = error.to_string();
    assert!(text.contains("--only `consume_entity9*` matches no operation"), "{text}");
    assert!(text.contains("--only `publish_nothing` matches no operation"), "{text}");
    assert!(text.contains("`consume_entity1_changed`, `consume_entity2_changed`"), "{text}");
}

#[test]
fn the_cli_takes_only_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("platform.yaml");
    std::fs::write(&spec, synthetic::spec(5)).unwrap();
    let out = dir.path().join("out");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_asyncapi-nats"))
        .args(["gen", spec.to_str().unwrap(), "-o", out.to_str().unwrap(), "--only", "consume_entity3_changed"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let subscribers = std::fs::read_to_string(out.join("src/subscribers.rs")).unwrap();
    assert_eq!(items(&subscribers, "mod"), BTreeSet::from(["consume_entity3_changed".to_string()]));
    assert!(
        !out.join("src/publishers.rs").exists() || {
            let publishers = std::fs::read_to_string(out.join("src/publishers.rs")).unwrap();
            items(&publishers, "async fn").is_empty()
        }
    );
}

/// A service's crate is not held to the rest of the platform's document: warnings about the
/// channels, operations and messages the selection leaves out are dropped (so `--deny-warnings`
/// passes), those about what it keeps stay.
#[test]
fn warnings_about_what_the_selection_leaves_out_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("platform.yaml");
    std::fs::write(
        &spec,
        "asyncapi: 3.0.0\ninfo: {title: Platform, version: 1.0.0}\nchannels:\n  orders:\n    address: orders.created\n    messages: {created: {$ref: '#/components/messages/OrderCreated'}}\n  feed:\n    address: legacy.feed\n    messages: {feed: {$ref: '#/components/messages/Feed'}}\noperations:\n  receiveOrders: {action: receive, channel: {$ref: '#/channels/orders'}}\n  receiveFeed: {action: receive, channel: {$ref: '#/channels/feed'}}\ncomponents:\n  messages:\n    OrderCreated: {payload: {type: object, properties: {id: {type: string}}}}\n    Feed: {contentType: application/xml, payload: {type: string}}\n",
    )
    .unwrap();
    let warned = |generated: &Generated| generated.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let whole = generate(&spec, &[]).unwrap();
    assert_eq!(warned(&whole).len(), 1, "{:?}", warned(&whole));
    assert!(warned(&whole)[0].contains("`Feed`"), "{:?}", warned(&whole));
    assert!(warned(&generate(&spec, &["receive_orders"]).unwrap()).is_empty());
    let mut strict = Config::new();
    strict.only("receive_orders").deny_warnings(true);
    assert!(strict.generate_crate(&spec).is_ok());
    assert_eq!(warned(&generate(&spec, &["receive_feed"]).unwrap()).len(), 1);
}

/// In a 2.x document both operations of a channel live inside it: selecting one leaves the other
/// out with its messages (no type, no warning), and selecting the other keeps its warning. A 3.x
/// channel's message that no kept operation exchanges is left out too.
#[test]
fn the_other_operation_of_a_kept_channel_is_left_out_with_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2.yaml");
    std::fs::write(
        &v2,
        "asyncapi: 2.6.0\ninfo: {title: Platform, version: 1.0.0}\nchannels:\n  orders.created:\n    publish:\n      operationId: sendOrder\n      message: {name: OrderCreated, payload: {type: object, properties: {id: {type: string}}}}\n    subscribe:\n      operationId: readFeed\n      message: {name: Feed, contentType: application/xml, payload: {type: string}}\n",
    )
    .unwrap();
    let warned = |generated: &Generated| generated.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let whole = generate(&v2, &[]).unwrap();
    assert_eq!(warned(&whole).len(), 1, "{:?}", warned(&whole));
    assert!(file(&whole, "src/types.rs").contains("pub type Feed ="));

    let send = generate(&v2, &["send_order"]).unwrap();
    assert!(warned(&send).is_empty(), "{:?}", warned(&send));
    let types = file(&send, "src/types.rs");
    assert!(types.contains("pub struct OrderCreated") && !types.contains("Feed"), "{types}");
    let mut strict = Config::new();
    strict.only("send_order").deny_warnings(true);
    assert!(strict.generate_crate(&v2).is_ok());

    let read = generate(&v2, &["read_feed"]).unwrap();
    assert_eq!(warned(&read).len(), 1, "{:?}", warned(&read));
    assert!(warned(&read)[0].contains("#/channels/orders.created/subscribe/message"), "{:?}", warned(&read));
    assert!(!file(&read, "src/types.rs").contains("OrderCreated"));

    let v3 = dir.path().join("v3.yaml");
    std::fs::write(
        &v3,
        "asyncapi: 3.0.0\ninfo: {title: Platform, version: 1.0.0}\nchannels:\n  orders:\n    address: orders.created\n    messages:\n      created: {name: OrderCreated, payload: {type: object, properties: {id: {type: string}}}}\n      feed: {name: Feed, contentType: application/xml, payload: {type: string}}\noperations:\n  receiveOrders:\n    action: receive\n    channel: {$ref: '#/channels/orders'}\n    messages: [{$ref: '#/channels/orders/messages/created'}]\n",
    )
    .unwrap();
    assert!(file(&generate(&v3, &[]).unwrap(), "src/types.rs").contains("pub type Feed ="));
    let one = generate(&v3, &["receive_orders"]).unwrap();
    assert!(warned(&one).is_empty(), "{:?}", warned(&one));
    assert!(!file(&one, "src/types.rs").contains("Feed"));
}
