//! Least privilege, end to end: a nats-server runs with the generated
//! `deploy/nats-authorization.conf` (plus an admin user standing in for ops);
//! ops provision from the generated manifests; the generated subscriber and
//! publisher work with the service's credentials, and creating, updating,
//! deleting or purging streams and consumers with the same credentials is
//! denied by the server.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allocation::publishers::Publishers;
use allocation::runtime::Outcome;
use allocation::subscribers::process_ready;
use allocation::types::{
    AllocationCompleted, AllocationReadyToProcess, AllocationReadyToProcessPriority, TraceHeaders,
};
use e2e_tests::{DEADLINE, NatsServer, Shutdown, eventually};

const SERVICE_PASSWORD: &str = "service-secret";

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../generated-examples/allocation/deploy")
}

/// The generated user fragments of two services (allocation and shop), combined the way the
/// fragment's comment says, with an admin user (ops) added and the password variables defined.
fn server_config() -> String {
    let generated = std::fs::read_to_string(deploy_dir().join("nats-authorization.conf")).unwrap();
    assert!(generated.contains("password: $ALLOCATION_SERVICE_PASSWORD"), "{generated}");
    let shop = std::fs::read_to_string(deploy_dir().join("../../shop/deploy/nats-authorization.conf")).unwrap();
    format!(
        "ALLOCATION_SERVICE_PASSWORD: \"{SERVICE_PASSWORD}\"\nSHOP_BACKEND_PASSWORD: \"other\"\n{generated}{shop}\
         authorization {{ users = [ $ALLOCATION_SERVICE_USER, $SHOP_BACKEND_USER, {{ user: \"ops\", password: \"ops-secret\" }} ] }}\n"
    )
}

/// Connects as `user`, recording the server's error events (permission violations).
async fn connect(server: &NatsServer, user: &str, password: &str) -> (async_nats::Client, Arc<Mutex<Vec<String>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    let client = async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
        // The service's own inbox prefix: the only inboxes its permissions allow.
        .custom_inbox_prefix(allocation::subjects::INBOX_PREFIX)
        .event_callback(move |event| {
            let sink = sink.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    sink.lock().unwrap().push(e.to_string());
                }
            }
        })
        .connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connect as {user}: {e}"));
    (client, errors)
}

fn ready(id: &str) -> AllocationReadyToProcess {
    serde_json::from_value(serde_json::json!({
        "allocationId": id,
        "orderId": "o-1",
        "items": [{"sku": "sku-1", "quantity": 2}],
        "priority": "high",
        "requestedAt": "2026-11-27T10:00:00Z"
    }))
    .unwrap()
}

struct Recorder(Arc<Mutex<Vec<String>>>);

impl process_ready::Handler for Recorder {
    async fn handle(&self, delivery: process_ready::Delivery) -> Outcome {
        assert_eq!(delivery.payload.priority, AllocationReadyToProcessPriority::High);
        self.0.lock().unwrap().push(delivery.payload.allocation_id.to_string());
        Outcome::Ack
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_user_can_consume_and_publish_but_not_manage_streams() {
    let server = NatsServer::start_with_config(&server_config());

    // Ops provision from the generated manifests.
    let (ops, _) = connect(&server, "ops", "ops-secret").await;
    let ops_js = async_nats::jetstream::new(ops.clone());
    let set = asyncapi_nats::ops::read_dir(&deploy_dir()).unwrap();
    asyncapi_nats::ops::apply(&ops_js, &set).await.unwrap();
    let id = "3f6c2a3e-1111-4222-8333-944455556666";
    let ready_subject = allocation::subjects::events_ready_to_process(id).unwrap();
    ops_js
        .publish(ready_subject.into_string(), serde_json::to_vec(&ready(id)).unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();

    // The service: generated subscriber (bind + pull + ack) with its own credentials.
    let (service, violations) = connect(&server, "allocation-service", SERVICE_PASSWORD).await;
    let js = async_nats::jetstream::new(service.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let worker = {
        let (js, seen, stop) = (js.clone(), seen.clone(), shutdown.wait());
        tokio::spawn(async move { process_ready::run(&js, &Recorder(seen), stop).await })
    };
    eventually("the service processed the message", DEADLINE, || {
        let seen = seen.clone();
        async move { (seen.lock().unwrap().as_slice() == [id]).then_some(()) }
    })
    .await;
    let lag = eventually("the ack reached the server", DEADLINE, || {
        let js = js.clone();
        async move { process_ready::lag(&js).await.ok().filter(|l| l.ack_pending == 0 && l.pending == 0) }
    })
    .await;
    assert_eq!(lag.redelivered, 0);
    shutdown.trigger();
    worker.await.unwrap().unwrap();

    // The generated publisher: JetStream publish acknowledged by the stream.
    let publishers = Publishers::from_jetstream(js.clone());
    let completed: AllocationCompleted = serde_json::from_value(serde_json::json!({
        "allocationId": id, "warehouse": "w-1", "completedAt": "2026-11-27T10:05:00Z"
    }))
    .unwrap();
    let ack = publishers
        .announce_allocated(id, &completed, &TraceHeaders { trace_id: Some("t-1".into()) })
        .await
        .expect("the service may publish to its send subjects");
    assert_eq!(ack.stream, "allocation");
    assert!(violations.lock().unwrap().is_empty(), "no violation so far: {:?}", violations.lock().unwrap());

    // Managing infrastructure with the service's credentials is denied.
    let stream_config = async_nats::jetstream::stream::Config {
        name: "rogue".into(),
        subjects: vec!["rogue.>".into()],
        ..Default::default()
    };
    let js_short = async_nats::jetstream::ContextBuilder::new().timeout(Duration::from_secs(2)).build(service.clone());
    assert!(js_short.create_stream(stream_config).await.is_err(), "create stream must fail");
    assert!(js_short.delete_stream("allocation").await.is_err(), "delete stream must fail");
    let stream = js_short.get_stream("allocation").await.expect("stream info is allowed");
    assert!(stream.purge().await.is_err(), "purge must fail");
    let rogue_consumer =
        async_nats::jetstream::consumer::pull::Config { durable_name: Some("rogue".into()), ..Default::default() };
    assert!(stream.create_consumer(rogue_consumer).await.is_err(), "create consumer must fail");
    assert!(stream.delete_consumer("processor-ready").await.is_err(), "delete consumer must fail");
    // Other clients' replies (default `_INBOX.` prefix) are not readable by the service.
    let _snoop = service.subscribe("_INBOX.>").await.unwrap();
    service.flush().await.unwrap();
    let expected = [
        "$JS.API.STREAM.CREATE.rogue",
        "$JS.API.STREAM.DELETE.allocation",
        "$JS.API.STREAM.PURGE.allocation",
        "$JS.API.CONSUMER.CREATE.allocation",
        "$JS.API.CONSUMER.DELETE.allocation.processor-ready",
        "_INBOX.>",
    ];
    let violations = eventually("the server reported every violation", DEADLINE, || {
        let v = violations.clone();
        async move {
            let v = v.lock().unwrap().clone();
            expected.iter().all(|s| v.iter().any(|e| e.contains("Permissions Violation") && e.contains(s))).then_some(v)
        }
    })
    .await;
    assert!(violations.iter().all(|e| e.to_lowercase().contains("permissions violation")), "{violations:?}");

    // Nothing changed: the stream, its message count and the consumer are intact.
    let mut stream = ops_js.get_stream("allocation").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 2);
    assert!(ops_js.get_stream("rogue").await.is_err());
    let consumer = stream.consumer_info("processor-ready").await.unwrap();
    assert_eq!(consumer.config.durable_name.as_deref(), Some("processor-ready"));
    assert!(stream.consumer_info("rogue").await.is_err());
    assert!(asyncapi_nats::ops::diff(&ops_js, &set).await.unwrap().is_empty(), "no drift after the attempts");
}
