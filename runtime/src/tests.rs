//! Unit tests of the pure parts: backoff choice, header encoding, binding
//! checks, filter coverage, outcome mapping, retry classification.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, AckPolicy};
use async_nats::jetstream::context::PublishErrorKind;

use crate::runtime::{
    Failure, ack_subject_info, classify, config_problem, encode, header_text, pointer_text, reconnect_pause,
};
use crate::{ConsumerSettings, Format, Location, MsgId, Outcome, PublishError, PublishRetry, filter_covers};

const BACKOFF: &[Duration] = &[Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30)];

fn settings() -> ConsumerSettings {
    ConsumerSettings {
        stream: "orders",
        durable: "worker",
        filter_subjects: &["orders.*.created"],
        batch: 10,
        expires: Duration::from_secs(30),
        max_bytes: 0,
        backoff: BACKOFF,
        max_deliver: 4,
        correlation_id: None,
        format: Format::Json,
    }
}

fn pull_consumer(filter: &str) -> consumer::Config {
    consumer::Config {
        durable_name: Some("worker".into()),
        ack_policy: AckPolicy::Explicit,
        filter_subject: filter.into(),
        ..Default::default()
    }
}

#[test]
fn retry_delay_follows_the_backoff_by_delivery_and_repeats_its_last_step() {
    let s = settings();
    assert_eq!(s.retry_delay(1), Some(Duration::from_secs(1)));
    assert_eq!(s.retry_delay(2), Some(Duration::from_secs(5)));
    assert_eq!(s.retry_delay(3), Some(Duration::from_secs(30)));
    assert_eq!(s.retry_delay(9), Some(Duration::from_secs(30)));
    assert_eq!(s.retry_delay(0), Some(Duration::from_secs(1)), "a missing delivery count is the first");
    let none = ConsumerSettings { backoff: &[], ..settings() };
    assert_eq!(none.retry_delay(3), None, "no backoff: redeliver at once");
}

#[test]
fn heartbeat_notices_a_lost_pull_within_seconds() {
    assert_eq!(settings().heartbeat(), Duration::from_secs(1));
    let short = ConsumerSettings { expires: Duration::from_secs(2), ..settings() };
    assert_eq!(short.heartbeat(), Duration::from_millis(500));
}

#[test]
fn reconnect_pause_grows_and_is_capped() {
    let pauses: Vec<u128> = (1..=8).map(|n| reconnect_pause(n).as_millis()).collect();
    assert_eq!(pauses, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    assert_eq!(reconnect_pause(u32::MAX), Duration::from_secs(2));
}

#[test]
fn publish_retry_pauses_double_up_to_the_maximum() {
    let r = PublishRetry::DEFAULT;
    let pauses: Vec<u128> = (1..=6).map(|n| r.pause_after(n).as_millis()).collect();
    assert_eq!(pauses, [100, 200, 400, 800, 1000, 1000]);
    assert_eq!(r.pause_after(u32::MAX), Duration::from_secs(1));
    assert_eq!(PublishRetry::default(), PublishRetry::DEFAULT);
    assert_eq!(PublishRetry::NEVER.deadline, Duration::ZERO);
}

#[test]
fn only_safe_publish_failures_are_retried() {
    // 503 no responders: a missing or a leaderless stream; the server is asked which.
    assert_eq!(classify(PublishErrorKind::StreamNotFound, false, false), Failure::NoResponders);
    // A lost acknowledgement: the message may be stored; retried only when de-duplicated.
    assert_eq!(classify(PublishErrorKind::TimedOut, false, true), Failure::Transient);
    assert_eq!(classify(PublishErrorKind::TimedOut, false, false), Failure::Fatal);
    assert_eq!(classify(PublishErrorKind::BrokenPipe, false, true), Failure::Transient);
    assert_eq!(classify(PublishErrorKind::BrokenPipe, false, false), Failure::Fatal);
    // JetStream answered "503 unavailable": nothing stored.
    assert_eq!(classify(PublishErrorKind::Other, true, false), Failure::Transient);
    assert_eq!(classify(PublishErrorKind::Other, false, true), Failure::Fatal);
    assert_eq!(classify(PublishErrorKind::WrongLastSequence, false, true), Failure::Fatal);
    assert_eq!(classify(PublishErrorKind::MaxPayloadExceeded, false, true), Failure::Fatal);
}

#[derive(serde::Serialize)]
struct Payload {
    id: &'static str,
    count: u32,
}

#[derive(serde::Serialize)]
struct Headers {
    #[serde(rename = "traceId")]
    trace_id: &'static str,
    attempt: u32,
    skipped: Option<u32>,
}

#[test]
fn encoding_writes_the_payload_and_one_header_per_property() {
    let headers = Headers { trace_id: "t-1", attempt: 2, skipped: None };
    let encoded = encode(&Payload { id: "a-1", count: 3 }, Format::Json, Some(&headers), None).unwrap();
    assert_eq!(&encoded.body[..], br#"{"id":"a-1","count":3}"#);
    assert_eq!(encoded.headers.get("traceId").unwrap().as_str(), "t-1");
    assert_eq!(encoded.headers.get("attempt").unwrap().as_str(), "2");
    assert!(encoded.headers.get("skipped").is_none(), "null properties are not sent");
    assert!(!encoded.has_msg_id);
}

#[test]
fn encoding_without_headers_sends_none() {
    let encoded = encode(&Payload { id: "a-1", count: 3 }, Format::Json, None::<&()>, None).unwrap();
    assert!(encoded.headers.is_empty(), "a plain PUB, no empty header block");
}

#[test]
fn msg_id_comes_from_the_payload_or_a_header() {
    let payload = Payload { id: "a-1", count: 3 };
    let headers = Headers { trace_id: "t-1", attempt: 2, skipped: None };
    let from_payload = encode(&payload, Format::Json, Some(&headers), Some(MsgId::Payload("/id"))).unwrap();
    assert_eq!(from_payload.headers.get("Nats-Msg-Id").unwrap().as_str(), "a-1");
    assert!(from_payload.has_msg_id);
    let from_header = encode(&payload, Format::Json, Some(&headers), Some(MsgId::Header("/traceId"))).unwrap();
    assert_eq!(from_header.headers.get("Nats-Msg-Id").unwrap().as_str(), "t-1");
    let number = encode(&payload, Format::Json, None::<&()>, Some(MsgId::Payload("/count"))).unwrap();
    assert_eq!(number.headers.get("Nats-Msg-Id").unwrap().as_str(), "3");
    let missing = encode(&payload, Format::Json, None::<&()>, Some(MsgId::Payload("/nope"))).unwrap();
    assert!(!missing.has_msg_id && missing.headers.is_empty());
}

#[test]
fn header_values_with_line_breaks_are_refused() {
    #[derive(serde::Serialize)]
    struct Bad {
        x: &'static str,
    }
    let error = encode(&1, Format::Json, Some(&Bad { x: "a\r\nInjected: yes" }), None).err().unwrap();
    assert!(matches!(&error, PublishError::Header(text) if text.contains("line break")), "{error}");
}

#[test]
fn locations_read_received_payloads_and_headers() {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("trace/id", "t-9");
    assert_eq!(Location::Header("/trace~1id").find(b"{}", Some(&headers)), Some("t-9".into()));
    assert_eq!(Location::Payload("/a/b").find(br#"{"a":{"b":7}}"#, None), Some("7".into()));
    assert_eq!(Location::Payload("/a").find(b"not json", None), None);
    assert_eq!(Location::Header("/x").find(b"{}", None), None);
}

#[test]
fn filter_coverage_follows_nats_wildcards() {
    assert!(filter_covers("orders.*.created", "orders.eu.created"));
    assert!(filter_covers("orders.*.created", "orders.*.created"));
    assert!(filter_covers("orders.>", "orders.eu.created"));
    assert!(filter_covers("orders.>", "orders.*.>"));
    assert!(!filter_covers("orders.>", "orders"));
    assert!(!filter_covers("orders.*.created", "orders.>"));
    assert!(!filter_covers("orders.*", "orders.eu.created"));
    assert!(!filter_covers("orders.eu.created", "orders.*.created"));
}

#[test]
fn binding_accepts_the_documented_consumer() {
    assert_eq!(config_problem(&pull_consumer("orders.*.created"), &settings()), None);
    assert_eq!(config_problem(&pull_consumer("orders.eu.created"), &settings()), None, "a narrower filter");
}

#[test]
fn binding_rejects_consumers_that_differ_from_the_document() {
    let s = settings();
    let problem = |config: consumer::Config| config_problem(&config, &s).expect("a problem");
    assert!(problem(pull_consumer("orders.>")).contains("which this subscriber does not expect"));
    assert!(problem(pull_consumer("")).contains("no filter subject"));
    let push = consumer::Config { deliver_subject: Some("deliver.here".into()), ..pull_consumer("orders.*.created") };
    assert!(problem(push).contains("push consumer"));
    let none = consumer::Config { ack_policy: AckPolicy::None, ..pull_consumer("orders.*.created") };
    assert!(problem(none).contains("ack policy"));
    let small = consumer::Config { max_batch: 5, ..pull_consumer("orders.*.created") };
    assert!(problem(small).contains("max batch 5"));
    let short = consumer::Config { max_expires: Duration::from_secs(5), ..pull_consumer("orders.*.created") };
    assert!(problem(short).contains("max expires"));
}

#[test]
fn outcomes_map_to_acknowledgements() {
    let s = settings();
    assert_eq!(&Outcome::Ack.ack_body(&s, 1)[..], b"+ACK");
    let backoff = Outcome::Retry { delay: None };
    assert_eq!(&backoff.ack_body(&s, 2)[..], b"-NAK {\"delay\":5000000000}", "the backoff step of delivery 2");
    let explicit = Outcome::Retry { delay: Some(Duration::from_millis(250)) };
    assert_eq!(&explicit.ack_body(&s, 2)[..], b"-NAK {\"delay\":250000000}");
    let at_once = ConsumerSettings { backoff: &[], ..settings() };
    assert_eq!(&backoff.ack_body(&at_once, 1)[..], b"-NAK");
    let reject = Outcome::Reject { reason: "bad\r\norder".into() };
    assert_eq!(&reject.ack_body(&s, 1)[..], b"+TERM bad  order", "no line break reaches the protocol");
    assert_eq!([Outcome::Ack.name(), backoff.name(), reject.name()], ["ack", "retry", "reject"]);
}

#[test]
fn headers_decode_into_typed_structs() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Typed {
        trace: String,
        attempt: u32,
    }
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("trace", "t-1");
    headers.insert("attempt", "3");
    let typed: Typed = crate::decode_headers(Some(&headers)).unwrap();
    assert_eq!(typed, Typed { trace: "t-1".into(), attempt: 3 });
    assert!(crate::decode_headers::<Typed>(None).is_err());
}

#[test]
fn pointer_text_agrees_with_value_pointer() {
    let doc = br#"{"a":{"b":[10,{"c":"x"},null],"a/b":1,"m~n":true,"s":"text"},"n":1.5,"esc\"k":"q","o":{}}"#;
    let value: serde_json::Value = serde_json::from_slice(doc).unwrap();
    for pointer in [
        "", "/a", "/a/b", "/a/b/0", "/a/b/1/c", "/a/b/2", "/a/b/3", "/a/a~1b", "/a/m~0n", "/a/s", "/n", "/esc\"k",
        "/o", "/zz", "/a/s/x", "/a/b/x",
    ] {
        assert_eq!(pointer_text(doc, pointer), value.pointer(pointer).and_then(header_text), "{pointer}");
    }
    // Top-level keys take a scanner instead of the parser; it must agree too.
    let top = br#" { "k" : "v1" , "n":[1,{"k":"no"},"]}\"",{}], "e":"a\"b", "o":{"k":"x"},"m":-1.5e3,"t":true,"z":null, "k2":"last"} "#;
    let value: serde_json::Value = serde_json::from_slice(top).unwrap();
    for pointer in ["/k", "/n", "/e", "/o", "/m", "/t", "/z", "/k2", "/missing"] {
        assert_eq!(pointer_text(top, pointer), value.pointer(pointer).and_then(header_text), "{pointer}");
    }
    assert_eq!(pointer_text(b"{}", "/k"), None);
    assert_eq!(pointer_text(b"[1]", "/0"), Some("1".into()));
    assert_eq!(pointer_text(br#"{"k":"a","k":"b"}"#, "/k"), Some("b".into()));
    assert_eq!(pointer_text(br#"{"k":"#, "/k"), None);
    assert_eq!(pointer_text(br#"{"k":"unterminated"#, "/k"), None);
    assert_eq!(pointer_text(b"not json", "/a"), None);
    assert_eq!(
        pointer_text(br#"{"a":1,"a":2}"#, "/a"),
        Some("2".into()),
        "the last of duplicate keys, as serde_json::Value"
    );
}

#[test]
fn text_and_bytes_payloads_travel_as_is() {
    assert_eq!(crate::encode_body(Format::Text, "héllo").unwrap(), "héllo".as_bytes());
    assert_eq!(crate::encode_body(Format::Bytes, &vec![0u8, 255, 7]).unwrap(), vec![0u8, 255, 7]);
    assert_eq!(crate::encode_body(Format::Json, "x").unwrap(), b"\"x\"");
    assert!(crate::encode_body(Format::Text, &3).is_err());
    let text: String = crate::decode_body(Format::Text, "héllo".as_bytes()).unwrap();
    assert_eq!(text, "héllo");
    let bytes: Vec<u8> = crate::decode_body(Format::Bytes, &[0, 255, 7]).unwrap();
    assert_eq!(bytes, [0, 255, 7]);
    assert!(crate::decode_body::<String>(Format::Text, &[0xff]).is_err());
}

#[test]
fn ack_subjects_give_sequence_delivery_count_and_pending_in_both_formats() {
    // ADR-15: the original 9-token subject, and the one with domain and account hash (and more tokens).
    assert_eq!(ack_subject_info("$JS.ACK.orders.worker.3.1042.17.1700000000000000000.9"), Some((1042, 3, 9)));
    assert_eq!(ack_subject_info("$JS.ACK._.HASH.orders.worker.1.7.7.1700000000000000000.0"), Some((7, 1, 0)));
    assert_eq!(ack_subject_info("$JS.ACK.hub.HASH.orders.worker.2.8.5.1700000000000000000.4.rnd.x"), Some((8, 2, 4)));
    for bad in [
        "",
        "_INBOX.x",
        "$JS.ACK.orders.worker.3.1042.17.1700000000000000000",
        "$JS.ACK.a.b.c.orders.worker.3.1042.17.1700000000000000000",
        "$JS.ACK.orders.worker.x.1042.17.1700000000000000000.9",
        "$JS.ACK.orders.worker.3.-1.17.1700000000000000000.9",
    ] {
        assert_eq!(ack_subject_info(bad), None, "{bad}");
    }
}
