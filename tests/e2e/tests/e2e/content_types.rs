//! Payloads that are not JSON (specs/content-types.yaml): `text/plain` travels as its UTF-8 text
//! and `application/octet-stream` as its bytes — never JSON-encoded — both ways, on a real server.

use std::sync::{Arc, Mutex};

use content_types::runtime::Outcome;
use content_types::subscribers::{process_blobs, read_notes};
use e2e_tests::{DEADLINE, NatsServer, Shutdown, connect, eventually, provision};
use futures::StreamExt as _;

struct Notes(Arc<Mutex<Vec<String>>>);

impl read_notes::Handler for Notes {
    async fn handle(&self, d: read_notes::Delivery) {
        self.0.lock().unwrap().push(d.payload);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_plain_is_sent_and_received_as_utf8_text() {
    let server = NatsServer::start();
    let (client, _js) = connect(&server).await;
    let mut raw = client.subscribe("notes.>").await.unwrap();
    client.flush().await.unwrap();
    let publishers = content_types::publishers::Publishers::new(client.clone());
    publishers.write_note("ann", &"héllo, \"world\"".to_string()).await.unwrap();
    let message = tokio::time::timeout(DEADLINE, raw.next()).await.unwrap().unwrap();
    assert_eq!(message.subject.as_str(), "notes.ann");
    assert_eq!(&message.payload[..], "héllo, \"world\"".as_bytes(), "not JSON-encoded");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let (subscriber_client, _) = connect(&server).await;
    let (handler, stop) = (Notes(seen.clone()), shutdown.wait());
    let worker = tokio::spawn(async move { read_notes::run(&subscriber_client, &handler, stop).await });
    // Core NATS keeps nothing: publish (as any other client would) until the subscriber has one.
    eventually("the subscriber decodes a plain-text note", DEADLINE, || async {
        client.publish("notes.bob", "plain text, no quotes".into()).await.unwrap();
        client.flush().await.unwrap();
        tokio::task::yield_now().await;
        seen.lock().unwrap().first().cloned()
    })
    .await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");
    assert_eq!(seen.lock().unwrap()[0], "plain text, no quotes");
}

struct Blobs(Arc<Mutex<Vec<Vec<u8>>>>);

impl process_blobs::Handler for Blobs {
    async fn handle(&self, d: process_blobs::Delivery) -> Outcome {
        self.0.lock().unwrap().push(d.payload);
        Outcome::Ack
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octet_stream_is_stored_and_received_as_raw_bytes() {
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::apply(&js, "content-types").await;
    let blob: Vec<u8> = vec![0, 159, 255, b'{', 10];
    let publishers = content_types::publishers::Publishers::new(client);
    let ack = publishers.upload_blob(&blob).await.unwrap();
    let stored = js.get_stream("blobs").await.unwrap().get_raw_message(ack.sequence).await.unwrap();
    assert_eq!(&stored.payload[..], &blob[..], "stored as is, not as a JSON array");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let (_c, worker_js) = connect(&server).await;
    let (handler, stop) = (Blobs(seen.clone()), shutdown.wait());
    let worker = tokio::spawn(async move { process_blobs::run(&worker_js, &handler, stop).await });
    eventually("the blob is received", DEADLINE, || async { seen.lock().unwrap().first().cloned() }).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");
    assert_eq!(seen.lock().unwrap()[0], blob);
}
