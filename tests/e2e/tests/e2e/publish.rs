//! Publishers (6): JetStream publish awaits the PublishAck; typed NoStream
//! error; Nats-Msg-Id de-duplication from the spec's msgId; typed headers;
//! correlation id carried to the subscriber.

use std::sync::{Arc, Mutex};

use allocation::publishers::Publishers;
use allocation::runtime::PublishError;
use allocation::types::{AllocationCompleted, TraceHeaders};
use e2e_tests::{DEADLINE, NatsServer, Shutdown, completed, connect, eventually, provision, uuid};

#[tokio::test]
async fn publish_without_a_stream_is_a_typed_no_stream_error() {
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    let publishers = Publishers::new(client);
    let id = uuid(1);
    let err = publishers
        .announce_allocated(&id, &completed(1), &TraceHeaders { trace_id: None })
        .await
        .expect_err("no stream captures events.allocated.*");
    match &err {
        PublishError::NoStream { subject } => assert_eq!(subject, &format!("events.allocated.{id}")),
        other => panic!("expected NoStream, got {other:?}"),
    }
    assert!(err.to_string().contains("must be provisioned"), "{err}");
    assert_eq!(futures::StreamExt::count(js.stream_names()).await, 0, "publishing created nothing");
}

#[tokio::test]
async fn publish_awaits_the_ack_dedups_by_msg_id_and_carries_typed_headers() {
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::create_stream(&js, provision::allocation_stream()).await;
    let publishers = Publishers::new(client);
    let id = uuid(7);
    let headers = TraceHeaders { trace_id: Some("trace-7".into()) };

    let first = publishers.announce_allocated(&id, &completed(7), &headers).await.expect("publish");
    assert_eq!((first.stream.as_str(), first.sequence, first.duplicate), ("allocation", 1, false));
    // Retried publish (same allocationId → same Nats-Msg-Id): stored once.
    let second = publishers.announce_allocated(&id, &completed(7), &headers).await.expect("publish again");
    assert!(second.duplicate, "{second:?}");
    assert_eq!(second.sequence, 1);
    let other = publishers.announce_allocated(&uuid(8), &completed(8), &headers).await.expect("publish other");
    assert_eq!((other.sequence, other.duplicate), (2, false));

    let mut stream = js.get_stream("allocation").await.expect("stream");
    assert_eq!(stream.info().await.expect("info").state.messages, 2);
    let stored = stream.get_raw_message(1).await.expect("stored message");
    assert_eq!(stored.subject.as_str(), format!("events.allocated.{id}"));
    assert_eq!(stored.headers.get("Nats-Msg-Id").map(|v| v.as_str()), Some(id.as_str()));
    // Typed headers → NATS headers; `traceId` is also the spec's correlationId location.
    assert_eq!(stored.headers.get("traceId").map(|v| v.as_str()), Some("trace-7"));
    let payload: AllocationCompleted = serde_json::from_slice(&stored.payload).expect("typed payload");
    assert_eq!(payload, completed(7));

    // Invalid parameter: refused before anything is sent.
    let err = publishers.announce_allocated("a.>", &completed(9), &headers).await.expect_err("injection");
    assert!(matches!(err, PublishError::Subject { .. }), "{err:?}");
    assert_eq!(stream.info().await.expect("info").state.messages, 2);
}

#[tokio::test]
async fn msg_id_from_a_header_and_correlation_id_reach_the_subscriber() {
    use shop::subscribers::on_payment_settled;
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::create_stream(&js, provision::shop_payments_stream()).await;
    provision::create_consumer(&js, "PAYMENTS", provision::on_payment_settled_consumer()).await;
    let publishers = shop::publishers::Publishers::new(client.clone());

    // requestRefund: msgId '$message.header#/Idempotency-Key'.
    let refund: shop::types::RefundRequested = serde_json::from_value(serde_json::json!({
        "refundId": uuid(1), "paymentId": uuid(2), "amount": {"amountMinor": 1250, "currency": "EUR"},
        "requestedBy": "support",
    }))
    .expect("valid RefundRequested");
    let headers =
        shop::types::RefundHeaders { idempotency_key: "refund-key-1".into(), traceparent: Some("00-abc-01".into()) };
    let a = publishers.request_refund(&refund, &headers).await.expect("publish");
    let b = publishers.request_refund(&refund, &headers).await.expect("publish again");
    assert!(!a.duplicate && b.duplicate && a.sequence == b.sequence, "{a:?} {b:?}");
    let stored = js.get_stream("PAYMENTS").await.unwrap().get_raw_message(a.sequence).await.expect("stored");
    assert_eq!(stored.headers.get("Nats-Msg-Id").map(|v| v.as_str()), Some("refund-key-1"));
    assert_eq!(stored.headers.get("Idempotency-Key").map(|v| v.as_str()), Some("refund-key-1"));

    // onPaymentSettled: correlationId '$message.header#/traceparent' → Delivery::correlation_id.
    let mut h = async_nats::HeaderMap::new();
    h.insert("traceparent", "00-trace-42-01");
    let settled = serde_json::json!({
        "paymentId": uuid(3), "orderId": uuid(4), "amount": {"amountMinor": 999, "currency": "EUR"},
        "settledAt": "2026-01-01T00:00:00Z",
    });
    let subject = shop::subjects::payments_settled("eu").expect("valid");
    js.publish_with_headers(subject.into_string(), h, serde_json::to_vec(&settled).unwrap().into())
        .await
        .unwrap()
        .await
        .expect("stored");

    type Seen = Arc<Mutex<Vec<(Option<String>, String)>>>;
    struct Worker(Seen);
    impl on_payment_settled::Handler for Worker {
        async fn handle(&self, d: on_payment_settled::Delivery) -> shop::runtime::Outcome {
            let region = on_payment_settled::parse_subject(&d.subject).expect("subject").region;
            self.0.lock().unwrap().push((d.correlation_id.clone(), region));
            shop::runtime::Outcome::Ack
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let (worker, stop, js2) = (Worker(seen.clone()), shutdown.wait(), js.clone());
    let task = tokio::spawn(async move { on_payment_settled::run(&js2, &worker, stop).await });
    eventually("settled payment handled", DEADLINE, || async { (!seen.lock().unwrap().is_empty()).then_some(()) })
        .await;
    shutdown.trigger();
    task.await.expect("join").expect("run");
    assert_eq!(*seen.lock().unwrap(), vec![(Some("00-trace-42-01".to_string()), "eu".to_string())]);
}

/// Typed headers round trip: the shop's refund publisher writes `RefundHeaders`
/// as NATS headers (and `Idempotency-Key` as `Nats-Msg-Id`), the refund worker
/// decodes them back into the same type. Provisioned from the shop's manifests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_headers_round_trip_from_publisher_to_subscriber() {
    use shop::subscribers::process_refund;

    struct Worker(Arc<Mutex<Vec<shop::types::RefundHeaders>>>);
    impl process_refund::Handler for Worker {
        async fn handle(&self, delivery: process_refund::Delivery) -> shop::runtime::Outcome {
            match delivery.typed_headers::<process_refund::Headers>() {
                Ok(headers) => {
                    self.0.lock().unwrap().push(headers);
                    shop::runtime::Outcome::Ack
                }
                Err(e) => shop::runtime::Outcome::Reject { reason: e.to_string() },
            }
        }
    }

    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::apply(&js, "shop").await;
    let publishers = shop::publishers::Publishers::new(client);
    let refund: shop::types::RefundRequested = serde_json::from_value(serde_json::json!({
        "refundId": uuid(7), "paymentId": uuid(8), "amount": {"amountMinor": 1250, "currency": "EUR"},
        "requestedBy": "support"
    }))
    .expect("valid RefundRequested");
    let headers =
        shop::types::RefundHeaders { idempotency_key: "refund-7".into(), traceparent: Some("00-abc-def-01".into()) };
    publishers.request_refund(&refund, &headers).await.expect("published");
    let duplicate = publishers.request_refund(&refund, &headers).await.expect("published again");
    assert!(duplicate.duplicate, "Idempotency-Key is the Nats-Msg-Id: the second publish is a duplicate");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let worker = {
        let (js, seen, stop) = (js.clone(), seen.clone(), shutdown.wait());
        tokio::spawn(async move { process_refund::run(&js, &Worker(seen), stop).await })
    };
    eventually("the refund worker decoded the headers", DEADLINE, || async {
        (seen.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");
    assert_eq!(seen.lock().unwrap()[0], headers);
}
