//! What real documents contain: addresses that are not NATS subjects, channels without an address,
//! services with nothing to store, other schema formats and content types, malformed messages,
//! overlays with typos, FastStream's JetStream shapes. Each is generated (with located warnings for
//! what is dropped) or refused with a located error — never silently.

use std::path::{Path, PathBuf};

use asyncapi_nats::{Config, Generated};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `files` into a temporary folder and generates a crate from the first one.
fn generate_with(files: &[(&str, &str)], configure: impl FnOnce(&mut Config, &Path)) -> Result<Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let mut config = Config::new();
    configure(&mut config, dir.path());
    config.generate_crate(dir.path().join(files[0].0)).map_err(|e| e.to_string())
}

fn generate(files: &[(&str, &str)]) -> Generated {
    generate_with(files, |_, _| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn file<'a>(generated: &'a Generated, name: &str) -> &'a str {
    &generated.files.iter().find(|f| f.path.ends_with(name)).unwrap_or_else(|| panic!("no {name}")).contents
}

fn warnings(generated: &Generated) -> String {
    generated.warnings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

const PATHS: &str = "asyncapi: 2.6.0
info: {title: Comments, version: 1.0.0}
channels:
  comment/{commentId}/changed:
    parameters:
      commentId: {schema: {type: string}}
    subscribe:
      operationId: commentChanged
      message:
        name: CommentChanged
        payload: {type: object, properties: {text: {type: string}}}
";

#[test]
fn path_addresses_keep_their_types_and_are_skipped_with_a_located_warning() {
    let generated = generate(&[("spec.yaml", PATHS)]);
    let w = warnings(&generated);
    assert!(w.contains("`comment/{commentId}/changed` is not a NATS subject"), "{w}");
    assert!(w.contains("spec.yaml:4:3 (at #/channels/comment~1{commentId}~1changed)"), "{w}");
    assert!(w.contains("--path-subjects") && w.contains("`comment.{commentId}.changed`"), "{w}");
    assert!(w.contains("operation `commentChanged` skipped"), "{w}");
    assert!(file(&generated, "types.rs").contains("pub struct CommentChanged"));
    assert!(!file(&generated, "publishers.rs").contains("comment_changed"));
}

#[test]
fn path_subjects_maps_segments_to_tokens() {
    let generated = generate_with(&[("spec.yaml", PATHS)], |c, _| {
        c.path_subjects(true);
    })
    .unwrap();
    assert!(generated.warnings.is_empty(), "{}", warnings(&generated));
    let subjects = file(&generated, "subjects.rs");
    assert!(subjects.contains("\"comment.{}.changed\""), "{subjects}");
    assert!(subjects.contains("check_parameter(\"commentId\", comment_id)?"), "{subjects}");
    assert!(file(&generated, "publishers.rs").contains("pub async fn comment_changed("));
    assert_eq!(asyncapi_nats::model::path_subject("https://example.com/books/{id}").as_deref(), Some("books.{id}"));
    assert_eq!(
        asyncapi_nats::model::path_subject("/rooms/{roomId}/{resource}").as_deref(),
        Some("rooms.{roomId}.{resource}")
    );
    assert_eq!(asyncapi_nats::model::path_subject("a//b"), None);
    assert_eq!(asyncapi_nats::model::path_subject("orders.created"), None);
}

/// An overlay gives a channel a subject with `bindings.nats.subject`, for a key containing `/`
/// and for a channel that is a `$ref` to another file (the binding is read next to the `$ref`).
#[test]
fn an_overlay_sets_the_subject_of_path_and_file_ref_channels() {
    let spec = "asyncapi: 3.0.0
info: {title: Lights, version: 1.0.0}
channels:
  light/{id}/measured:
    address: light/{id}/measured
    messages:
      measured: {payload: {type: number}}
  shared:
    $ref: 'channels.yaml#/dimmed'
operations:
  sendMeasured:
    action: send
    channel: {$ref: '#/channels/light~1{id}~1measured'}
  sendDimmed:
    action: send
    channel: {$ref: '#/channels/shared'}
";
    let channels = "dimmed:\n  address: /light/{id}/dim\n  messages:\n    dimmed: {payload: {type: integer}}\n";
    let overlay = "channels:
  light/{id}/measured:
    bindings: {nats: {subject: 'lights.{id}.measured'}}
  shared:
    bindings: {nats: {subject: 'lights.{id}.dimmed'}}
";
    let generated =
        generate_with(&[("spec.yaml", spec), ("channels.yaml", channels), ("overlay.yaml", overlay)], |c, dir| {
            c.overlay(dir.join("overlay.yaml"));
        })
        .unwrap();
    assert!(generated.warnings.is_empty(), "{}", warnings(&generated));
    let subjects = file(&generated, "subjects.rs");
    assert!(subjects.contains("\"lights.{}.measured\"") && subjects.contains("\"lights.{}.dimmed\""), "{subjects}");
    let publishers = file(&generated, "publishers.rs");
    assert!(publishers.contains("pub async fn send_measured(") && publishers.contains("pub async fn send_dimmed("));
}

#[test]
fn operations_on_a_channel_without_address_are_skipped_with_a_warning() {
    let spec = "asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
channels:
  dynamic:
    messages:
      event: {payload: {type: object, properties: {id: {type: string}}}}
operations:
  publishEvent:
    action: send
    channel: {$ref: '#/channels/dynamic'}
";
    let generated = generate(&[("spec.yaml", spec)]);
    let w = warnings(&generated);
    assert!(w.contains("operation `publishEvent` skipped: its channel has no address"), "{w}");
    assert!(w.contains("bindings.nats.subject") && w.contains("(at #/operations/publishEvent)"), "{w}");
    assert!(file(&generated, "types.rs").contains("pub struct Event"));
}

/// Everything request/reply or queue-grouped: a core NATS service, no stream, no error.
#[test]
fn nothing_to_store_is_a_core_nats_service() {
    let spec = std::fs::read_to_string(root().join("tests/matrix/request-reply-only.yaml")).unwrap();
    let generated = generate(&[("spec.yaml", &spec)]);
    assert!(generated.warnings.is_empty(), "{}", warnings(&generated));
    assert!(!generated.files.iter().any(|f| f.path.to_string_lossy().contains("stream-")));
    assert!(!file(&generated, "nats-permissions.json").contains("$JS.API"));
    assert!(file(&generated, "subscribers.rs").contains("run_core"));
}

#[test]
fn schema_formats_json_schema_in_yaml_is_read_and_avro_is_opaque_with_a_warning() {
    let spec = "asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
channels:
  c:
    address: a.b
    messages:
      yamlSchema:
        payload:
          schemaFormat: application/schema+yaml;version=draft-07
          schema: {type: object, properties: {n: {type: integer}}}
      avro:
        payload:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema: {type: record, name: User, fields: [{name: n, type: int}]}
operations:
  sendYaml:
    action: send
    channel: {$ref: '#/channels/c'}
    messages: [{$ref: '#/channels/c/messages/yamlSchema'}]
  sendAvro:
    action: send
    channel: {$ref: '#/channels/c'}
    messages: [{$ref: '#/channels/c/messages/avro'}]
";
    let generated = generate(&[("spec.yaml", spec)]);
    let w = warnings(&generated);
    assert!(w.contains("schema format `application/vnd.apache.avro;version=1.9.0` is not JSON Schema"), "{w}");
    assert!(w.contains("(at #/channels/c/messages/avro/payload/schemaFormat)"), "{w}");
    assert!(w.contains("its payload is raw bytes (`Vec<u8>`)"), "{w}");
    assert!(file(&generated, "types.rs").contains("pub struct YamlSchema"));
    let publishers = file(&generated, "publishers.rs");
    assert!(publishers.contains("pub async fn send_yaml("));
    let avro = &publishers[publishers.find("pub async fn send_avro(").unwrap()..];
    assert!(avro.contains("payload: &::std::vec::Vec<u8>") && avro.contains("Format::Bytes"), "{avro}");
}

/// JSON content types use serde_json, `text/plain` is a `String` sent as UTF-8, anything else
/// (XML, octet-stream) is raw bytes with a warning: never JSON-encoded.
#[test]
fn content_types_choose_the_wire_format() {
    let spec = "asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
defaultContentType: application/xml
channels:
  c:
    address: a.b
    messages:
      xml: {payload: {type: object, properties: {n: {type: integer}}}}
      text: {contentType: text/plain, payload: {type: string}}
      cloudEvent: {contentType: application/cloudevents+json; charset=utf-8, payload: {type: object}}
operations:
  sendXml:
    action: send
    channel: {$ref: '#/channels/c'}
    messages: [{$ref: '#/channels/c/messages/xml'}]
  sendText:
    action: send
    channel: {$ref: '#/channels/c'}
    messages: [{$ref: '#/channels/c/messages/text'}]
  sendCloudEvent:
    action: send
    channel: {$ref: '#/channels/c'}
    messages: [{$ref: '#/channels/c/messages/cloudEvent'}]
  mixed:
    action: receive
    channel: {$ref: '#/channels/c'}
";
    let generated = generate(&[("spec.yaml", spec)]);
    let w = warnings(&generated);
    assert!(w.contains("message `xml` (content type `application/xml`) is exchanged as raw bytes (`Vec<u8>`)"), "{w}");
    assert!(w.contains("(at #/channels/c/messages/xml)") && w.contains("never JSON-encoded"), "{w}");
    assert!(w.contains("operation `mixed` skipped: its messages have different content types"), "{w}");
    assert!(!w.contains("`text`") && !w.contains("cloudEvent"), "{w}");
    let publishers = file(&generated, "publishers.rs");
    let xml = &publishers[publishers.find("pub async fn send_xml(").unwrap()..];
    assert!(xml.contains("payload: &::std::vec::Vec<u8>") && xml.contains("super::runtime::Format::Bytes"), "{xml}");
    let text = &publishers[publishers.find("pub async fn send_text(").unwrap()..];
    assert!(
        text.contains("payload: &::std::string::String") && text.contains("super::runtime::Format::Text"),
        "{text}"
    );
    let cloud = &publishers[publishers.find("pub async fn send_cloud_event(").unwrap()..];
    assert!(cloud.contains("super::runtime::Format::Json"), "{cloud}");
}

#[test]
fn a_message_that_is_not_a_message_object_is_a_located_error() {
    for (message, found) in [("'just a string'", "found a string"), ("{$ref: 123}", "`$ref: 123`")] {
        let spec = format!(
            "asyncapi: 3.0.0\ninfo: {{title: T, version: 1.0.0}}\nchannels:\n  c:\n    address: a.b\n    messages:\n      m: {message}\n"
        );
        let e = generate_with(&[("spec.yaml", &spec)], |_, _| {}).unwrap_err();
        assert!(e.contains("a message must be a Message Object") && e.contains(found), "{e}");
        assert!(e.contains("spec.yaml:7:") && e.contains("(at #/channels/c/messages/m)"), "{e}");
    }
}

fn overlay_error(spec: &str, overlay: &str) -> String {
    generate_with(&[("spec.yaml", spec), ("overlay.yaml", overlay)], |c, dir| {
        c.overlay(dir.join("overlay.yaml"));
    })
    .unwrap_err()
}

#[test]
fn overlays_are_typo_proof() {
    let v3 = std::fs::read_to_string(root().join("tests/fixtures/faststream/faststream-3.0.yaml")).unwrap();
    let e = overlay_error(
        &v3,
        "operations:\n  events.ready_to_process.*:MessageHandlerSubscrib:\n    x-jetstream: {durable: d}\n",
    );
    assert!(e.contains("overlay names operation `events.ready_to_process.*:MessageHandlerSubscrib`"), "{e}");
    assert!(e.contains("overlay.yaml:2:3") && e.contains("events.ready_to_process.*:MessageHandlerSubscribe"), "{e}");
    let e = overlay_error(&v3, "channels:\n  orders.created:Publisherr:\n    x-jetstream: {stream: s}\n");
    assert!(e.contains("overlay names channel `orders.created:Publisherr`"), "{e}");
    let e = overlay_error(&v3, "components:\n  messages:\n    Nope: {payload: {type: string}}\n");
    assert!(e.contains("overlay names message `Nope`"), "{e}");
    // A 3.0-shaped overlay applied to the 2.6 document of the same app.
    let v2 = std::fs::read_to_string(root().join("tests/fixtures/faststream/faststream-2.6.yaml")).unwrap();
    let overlay = "operations:\n  events.ready_to_process.*:MessageHandlerSubscribe:\n    x-jetstream: {durable: d}\n";
    let e = overlay_error(&v2, overlay);
    assert!(e.contains("overlay patches `operations`, which the document does not have"), "{e}");
    assert!(e.contains("AsyncAPI 2.x document") && e.contains("publish") && e.contains("x-asyncapi-nats"), "{e}");
    // 2.x: `publish` is what the application receives; this channel only sends.
    let e =
        overlay_error(&v2, "channels:\n  orders.created:Publisher:\n    publish:\n      x-jetstream: {durable: d}\n");
    assert!(e.contains("overlay patches `publish` of channel `orders.created:Publisher`"), "{e}");
    assert!(e.contains("overlay.yaml:3:5"), "{e}");
}

/// The version-neutral section is typo-proof too: names and subjects the document does not
/// generate, and keys the section does not set, are errors located in the overlay — all at once.
#[test]
fn version_neutral_overlay_sections_are_typo_proof() {
    for version in ["3.0", "2.6"] {
        let doc = std::fs::read_to_string(root().join(format!("tests/fixtures/faststream/faststream-{version}.yaml")))
            .unwrap();
        let overlay = "x-asyncapi-nats:
  operations:
    events_ready_to_proces:
      x-jetstream: {durable: d}
    payments_settled:
      x-jetsream: {durable: d}
  channels:
    payments.*.settled:
      x-jetstream: {stream: s}
  streams: {}
";
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spec.yaml"), &doc).unwrap();
        std::fs::write(dir.path().join("overlay.yaml"), overlay).unwrap();
        let e = Config::new().overlay(dir.path().join("overlay.yaml")).generate_crate(dir.path().join("spec.yaml"));
        let e = e.unwrap_err();
        let found: Vec<(String, String)> =
            e.errors().iter().map(|e| (e.message.clone(), e.location.as_ref().unwrap().to_string())).collect();
        let expected = [
            (
                "overlay names operation `events_ready_to_proces`, which the document does not generate",
                "overlay.yaml:3:5 (at #/x-asyncapi-nats/operations/events_ready_to_proces)",
            ),
            (
                "`x-jetsream` cannot be set here",
                "overlay.yaml:6:7 (at #/x-asyncapi-nats/operations/payments_settled/x-jetsream)",
            ),
            (
                "overlay names channel `payments.*.settled`, which the document does not generate",
                "overlay.yaml:8:5 (at #/x-asyncapi-nats/channels/payments.*.settled)",
            ),
            ("`x-asyncapi-nats` has no `streams`", "overlay.yaml:10:3 (at #/x-asyncapi-nats/streams)"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(m, a)| (m.to_string(), a.to_string())).collect();
        assert_eq!(found, expected, "{version}: {e}");
        let hint = e.hint.as_deref().unwrap_or_default();
        assert!(hint.contains("events_ready_to_process") && hint.contains("publish_orders_created"), "{hint}");
    }
}

/// Errors in what the version-neutral section set are located where the overlay writes it.
#[test]
fn version_neutral_overlay_settings_are_located_in_the_overlay() {
    let doc = std::fs::read_to_string(root().join("tests/fixtures/faststream/faststream-2.6.yaml")).unwrap();
    let overlay = "x-jetstream:\n  streams:\n    s: {}\nx-asyncapi-nats:\n  channels:\n    payments.{region}.settled:\n      x-jetstream: {stream: s}\n  operations:\n    payments_settled:\n      x-jetstream: {durable: d, ackWait: soon}\n";
    let e = overlay_error(&doc, overlay);
    assert_eq!(e.matches("`soon` is not a duration").count(), 1, "{e}");
    assert!(
        e.contains("overlay.yaml:10:33 (at #/x-asyncapi-nats/operations/payments_settled/x-jetstream/ackWait)"),
        "{e}"
    );
}

fn workers(version: &str, overlay: bool) -> Generated {
    let mut config = Config::new();
    if overlay {
        config.overlay(root().join("tests/corpus/faststream/workers.overlay.yaml"));
    }
    config.generate_crate(root().join(format!("tests/corpus/faststream/workers-{version}.yaml"))).unwrap()
}

/// FastStream `queue=` + `durable=` on a JetStream subscriber (a push consumer with a deliver
/// group): mapped to the durable pull consumer, with a warning that the queue group is not used.
#[test]
fn faststream_push_consumer_with_deliver_group_maps_to_a_pull_consumer_with_a_warning() {
    for version in ["3.0", "2.6"] {
        let generated = workers(version, true);
        let w = warnings(&generated);
        assert_eq!(generated.warnings.len(), 1, "{w}");
        assert!(
            w.contains("queue group of operation") && w.contains("ignored") && w.contains("durable pull consumer"),
            "{w}"
        );
        assert!(
            w.contains(&format!("workers-{version}.yaml:")) && w.contains("OnShipmentBooked/bindings/nats/queue"),
            "{w}"
        );
        // A 2.x operation without `operationId` is named by its channel and keyword, not as
        // `publish <subject>` (2.x `publish` is what the application receives).
        if version == "2.6" {
            assert!(w.contains("operation `shipments.booked:OnShipmentBooked (publish)`"), "{w}");
        }
        let subscribers = file(&generated, "subscribers.rs");
        assert!(subscribers.contains("pub mod shipments_booked {"), "{subscribers}");
        assert!(subscribers.contains("pub const DURABLE: &str = \"booking-workers\";"), "{subscribers}");
        assert!(
            file(&generated, "consumer-shipments-booking-workers.yaml").contains("durableName: \"booking-workers\"")
        );
    }
}

/// FastStream `PullSub(batch=True)` documents an array payload while each message is one item:
/// a warning says so; the documented overlay points the payload at the item schema.
#[test]
fn faststream_batch_subscriber_is_warned_and_mapped_by_the_overlay() {
    for version in ["3.0", "2.6"] {
        let plain = workers(version, false);
        let w = warnings(&plain);
        assert!(w.contains("documented as an array") && w.contains("PullSub(batch=True)"), "{w}");
        let mapped = workers(version, true);
        let subscribers = file(&mapped, "subscribers.rs");
        let tracking = &subscribers[subscribers.find("pub mod shipments_tracking {").unwrap()..];
        assert!(tracking.contains("pub type Payload = super::super::types::TrackingEvent;"), "{tracking}");
        assert!(tracking.contains("batch: 50,"), "{tracking}");
    }
}

#[test]
fn deny_warnings_reports_every_warning_at_once() {
    let e = generate_with(&[("spec.yaml", PATHS)], |c, _| {
        c.deny_warnings(true);
    })
    .unwrap_err();
    // Each denied warning is an error of its own, located, in document order.
    assert_eq!(e.matches("(a warning, denied by Config::deny_warnings / --deny-warnings)").count(), 2, "{e}");
    assert!(e.contains("is not a NATS subject") && e.contains("operation `commentChanged` skipped"), "{e}");
    assert!(e.find("is not a NATS subject") < e.find("operation `commentChanged` skipped"), "{e}");
    assert_eq!(e.matches("\n  --> spec.yaml:").count(), 2, "{e}");
}

/// Message traits contribute headers, correlation id and content type (3.x: the message's own
/// fields win; 2.x: traits are merged over the message); operation traits contribute the queue group.
#[test]
fn message_and_operation_traits_are_applied() {
    let spec = "asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
channels:
  c:
    address: a.b
    messages:
      signedUp:
        traits: [{$ref: '#/components/messageTraits/common'}]
        payload: {type: object, properties: {id: {type: string}}}
operations:
  onSignedUp:
    action: receive
    channel: {$ref: '#/channels/c'}
    traits: [{bindings: {nats: {queue: q}}}]
components:
  messageTraits:
    common:
      headers: {type: object, properties: {my-app-header: {type: integer}}}
";
    let generated = generate(&[("spec.yaml", spec)]);
    assert!(file(&generated, "types.rs").contains("pub struct SignedUpHeaders"), "{}", file(&generated, "types.rs"));
    assert!(file(&generated, "subscribers.rs").contains("pub type Headers = super::super::types::SignedUpHeaders;"));
    assert!(generated.warnings.is_empty(), "{}", warnings(&generated));
    // The operation trait's queue group applies: a core NATS subscriber in group `q`.
    let subscribers = file(&generated, "subscribers.rs");
    assert!(subscribers.contains("::std::option::Option<&str> = Some(\"q\");"), "{subscribers}");
}

/// `$ref`s inside opaque schemas (Avro) and other protocols' bindings are never loaded, so a
/// remote `.avsc` reference does not stop generation (the AsyncAPI 3.0.0 ADEO example).
#[test]
fn refs_in_opaque_schemas_and_foreign_bindings_are_not_loaded() {
    let spec = "asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
channels:
  c:
    address: a.b
    messages:
      avro:
        bindings: {kafka: {key: {$ref: 'https://example.com/Key.avsc'}}}
        payload:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema: {$ref: 'https://example.com/Value.avsc'}
      json: {bindings: {kafka: {key: {$ref: 'missing.json'}}}, payload: {type: string}}
";
    let generated = generate(&[("spec.yaml", spec)]);
    assert!(warnings(&generated).contains("is not JSON Schema"), "{}", warnings(&generated));
    let remote = "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  c:\n    address: a.b\n    bindings: {nats: {x: {$ref: 'https://example.com/x.json'}}}\n";
    let e = generate_with(&[("spec.yaml", remote)], |_, _| {}).unwrap_err();
    assert!(e.contains("remote $ref"), "{e}");
}

#[test]
fn channels_and_operations_that_are_not_mappings_are_located_errors() {
    let head = "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\n";
    let e = generate_with(&[("spec.yaml", &format!("{head}channels:\n  c: {{$ref: 123}}\n"))], |_, _| {}).unwrap_err();
    assert!(
        e.contains("a channel must be a mapping") && e.contains("`$ref: 123`") && e.contains("(at #/channels/c)"),
        "{e}"
    );
    let e = generate_with(&[("spec.yaml", &format!("{head}operations:\n  o: just text\n"))], |_, _| {}).unwrap_err();
    assert!(e.contains("an operation must be a mapping"), "{e}");
    assert!(e.contains("found a string") && e.contains("spec.yaml:4:"), "{e}");
    let e = generate_with(
        &[("spec.yaml", "asyncapi: 2.6.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  a.b: [1]\n")],
        |_, _| {},
    )
    .unwrap_err();
    assert!(e.contains("a channel must be a mapping") && e.contains("found a list"), "{e}");
}

#[test]
fn a_correlation_id_location_subscribers_cannot_read_is_a_located_warning() {
    let spec = "asyncapi: 3.0.0
info: {title: T, version: 1.0.0}
channels:
  c:
    address: a.b
    messages:
      read: {payload: {type: string}, correlationId: {location: '$message.header#/cid'}}
      unread: {payload: {type: string}, correlationId: {location: '$message.payload.id'}}
operations:
  r: {action: receive, channel: {$ref: '#/channels/c'}}
";
    let generated = generate(&[("spec.yaml", spec)]);
    let warnings = warnings(&generated);
    assert!(
        warnings.contains("correlation id location `$message.payload.id` is not supported")
            && warnings.contains("spec.yaml:8:")
            && warnings.contains("#/channels/c/messages/unread/correlationId"),
        "{warnings}"
    );
    assert!(!warnings.contains("$message.header#/cid"), "{warnings}");
}
