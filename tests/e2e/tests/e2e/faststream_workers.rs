//! The documented mappings of FastStream's JetStream subscriber shapes, on the crate generated from
//! real `faststream docs gen` output (tests/corpus/faststream/workers-3.0.yaml) plus its overlay
//! (generated-examples/faststream-workers), against a real server provisioned from the generated
//! manifests. Messages are published the way FastStream's publisher sends them: one JSON object
//! per message, with its `correlation_id` and `content-type` headers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use e2e_tests::{DEADLINE, NatsServer, Shutdown, connect, eventually, provision};
use faststream_workers::runtime::Outcome;
use faststream_workers::subscribers::{shipments_booked, shipments_tracking};

async fn publish_like_faststream(js: &async_nats::jetstream::Context, subject: &str, body: serde_json::Value, n: u64) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("correlation_id", format!("corr-{n}").as_str());
    headers.insert("content-type", "application/json");
    let ack = js
        .publish_with_headers(subject.to_string(), headers, serde_json::to_vec(&body).unwrap().into())
        .await
        .expect("publish");
    ack.await.expect("stream ack");
}

struct Tracking(Arc<Mutex<Vec<String>>>);

impl shipments_tracking::Handler for Tracking {
    async fn handle(&self, d: shipments_tracking::Delivery) -> Outcome {
        self.0.lock().unwrap().push(d.payload.tracking_number.clone());
        Outcome::Ack
    }
}

/// `PullSub(batch=True)`: documented as an array; the overlay maps the payload to the item, and
/// each wire message (one object) is decoded as one `TrackingEvent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_subscriber_gets_one_item_per_message() {
    let server = NatsServer::start();
    let (_client, js) = connect(&server).await;
    provision::apply(&js, "faststream-workers").await;
    for n in 0..5 {
        let event = serde_json::json!({"tracking_number": format!("T{n}"), "status": "in_transit", "scanned_at": "2026-01-01T00:00:00Z"});
        publish_like_faststream(&js, "shipments.tracking", event, n).await;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let (_c, worker_js) = connect(&server).await;
    let (handler, stop) = (Tracking(seen.clone()), shutdown.wait());
    let worker = tokio::spawn(async move { shipments_tracking::run(&worker_js, &handler, stop).await });
    eventually("5 tracking events", DEADLINE, || async { (seen.lock().unwrap().len() == 5).then_some(()) }).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["T0", "T1", "T2", "T3", "T4"]);
}

struct Booking(Arc<Mutex<BTreeMap<String, usize>>>, usize);

impl shipments_booked::Handler for Booking {
    async fn handle(&self, d: shipments_booked::Delivery) -> Outcome {
        let mut seen = self.0.lock().unwrap();
        *seen.entry(format!("{}@{}", d.payload.shipment_id, self.1)).or_default() += 1;
        Outcome::Ack
    }
}

/// `queue=` + `durable=` (FastStream: a push consumer with a deliver group) is mapped to the
/// durable pull consumer of the manifests; two instances bound to it share the messages, each
/// handled exactly once — what the deliver group gave FastStream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_group_maps_to_instances_sharing_one_pull_consumer() {
    let server = NatsServer::start();
    let (_client, js) = connect(&server).await;
    provision::apply(&js, "faststream-workers").await;
    let consumer = js.get_stream("shipments").await.unwrap().consumer_info(shipments_booked::DURABLE).await.unwrap();
    assert!(consumer.config.deliver_subject.is_none(), "provisioned as a pull consumer");
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let shutdown = Shutdown::new();
    let mut workers = Vec::new();
    for instance in 0..2 {
        let (_c, worker_js) = connect(&server).await;
        let (handler, stop) = (Booking(seen.clone(), instance), shutdown.wait());
        workers.push(tokio::spawn(async move { shipments_booked::run(&worker_js, &handler, stop).await }));
    }
    for n in 0..40 {
        let booked = serde_json::json!({"shipment_id": format!("S{n:02}"), "carrier": "dhl", "booked_at": "2026-01-01T00:00:00Z"});
        publish_like_faststream(&js, "shipments.booked", booked, n).await;
    }
    eventually("40 bookings handled", DEADLINE, || async { (seen.lock().unwrap().len() >= 40).then_some(()) }).await;
    shutdown.trigger();
    for w in workers {
        w.await.expect("join").expect("run");
    }
    let seen = seen.lock().unwrap().clone();
    let mut per_shipment: BTreeMap<String, usize> = BTreeMap::new();
    for (key, count) in &seen {
        *per_shipment.entry(key.split('@').next().unwrap().to_string()).or_default() += count;
    }
    assert_eq!(per_shipment.len(), 40, "{seen:?}");
    assert!(per_shipment.values().all(|&n| n == 1), "each message handled once: {seen:?}");
}
