//! 8. Request/reply over core NATS; 9. core NATS queue group subscriber (specs/shop.yaml).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use e2e_tests::{DEADLINE, NatsServer, Shutdown, connect, eventually, monitor_get};
use shop::subscribers::{quote_price, send_email};

struct Pricing;

impl quote_price::Handler for Pricing {
    async fn handle(&self, d: quote_price::Delivery) -> Option<quote_price::Reply> {
        let quote = serde_json::json!({
            "sku": d.payload.sku,
            "unitPrice": {"amountMinor": 100 * i64::from(d.payload.quantity), "currency": "EUR"},
            "validUntil": "2026-01-01T00:00:00Z",
        });
        Some(serde_json::from_value(quote).expect("valid PriceQuote"))
    }
}

/// Number of subscriptions on `subject` (in queue group `queue`, if given) the server has.
fn subscriptions(server: &NatsServer, subject: &str, queue: Option<&str>) -> usize {
    let body = monitor_get(server, "/connz?subs=detail");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let conns = v["connections"].as_array().cloned().unwrap_or_default();
    conns
        .iter()
        .flat_map(|c| c["subscriptions_list_detail"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["subject"] == subject && queue.is_none_or(|q| s["qgroup"] == q))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_request_and_responder_over_core_nats() {
    let server = NatsServer::start();
    let (client, _js) = connect(&server).await;
    assert_eq!(quote_price::QUEUE, Some("pricing"));
    let shutdown = Shutdown::new();
    let (responder_client, _) = connect(&server).await;
    let stop = shutdown.wait();
    let responder = tokio::spawn(async move { quote_price::run(&responder_client, &Pricing, stop).await });
    eventually("responder subscribed in queue group `pricing`", DEADLINE, || async {
        (subscriptions(&server, "pricing.quote", Some("pricing")) == 1).then_some(())
    })
    .await;

    let publishers = shop::publishers::Publishers::new(client);
    let request: shop::types::PriceQuoteRequest =
        serde_json::from_value(serde_json::json!({"sku": "sku-9", "quantity": 3, "region": "eu"})).unwrap();
    let quote: shop::types::PriceQuote = publishers.request_price_quote(&request).await.expect("typed reply");
    assert_eq!(quote.sku, "sku-9");
    assert_eq!(quote.unit_price.amount_minor, 300);
    assert_eq!(quote.unit_price.currency, "EUR");

    shutdown.trigger();
    responder.await.expect("join").expect("responder stops");
    let err = publishers.request_price_quote(&request).await.expect_err("no responder after shutdown");
    assert!(matches!(err, shop::runtime::RequestError::Request(_)), "{err:?}");
}

struct Mailer(usize, Arc<Mutex<BTreeMap<String, Vec<usize>>>>);

impl send_email::Handler for Mailer {
    async fn handle(&self, d: send_email::Delivery) {
        self.1.lock().unwrap().entry(d.payload.subject.clone()).or_default().push(self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_subscriber_uses_the_bindings_queue_group() {
    const N: usize = 200;
    let server = NatsServer::start();
    let (client, _js) = connect(&server).await;
    assert_eq!(send_email::QUEUE, Some("email-senders"));
    let seen: Arc<Mutex<BTreeMap<String, Vec<usize>>>> = Arc::default();
    let shutdown = Shutdown::new();
    let mut tasks = Vec::new();
    for instance in 0..2 {
        let (c, _) = connect(&server).await;
        let (mailer, stop) = (Mailer(instance, seen.clone()), shutdown.wait());
        tasks.push(tokio::spawn(async move { send_email::run(&c, &mailer, stop).await }));
    }
    eventually("two members in queue group email-senders", DEADLINE, || async {
        (subscriptions(&server, "notifications.email", Some("email-senders")) == 2).then_some(())
    })
    .await;
    for n in 0..N {
        let email = serde_json::json!({"to": ["a@example.com"], "subject": format!("mail-{n}"), "templateId": "t"});
        client
            .publish(shop::subjects::notifications_email().into_string(), serde_json::to_vec(&email).unwrap().into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    eventually("every e-mail handled", DEADLINE, || async { (seen.lock().unwrap().len() == N).then_some(()) }).await;
    shutdown.trigger();
    for t in tasks {
        t.await.expect("join").expect("run");
    }
    let seen = seen.lock().unwrap();
    assert!(seen.values().all(|who| who.len() == 1), "each e-mail handled by exactly one member");
    let a = seen.values().filter(|who| who[0] == 0).count();
    eprintln!("queue group: instance A {a}, instance B {}", N - a);
    assert!(a > 0 && a < N, "both members got work: {a} / {}", N - a);
}

/// Interop with FastStream: a message published the way FastStream does (JSON
/// body, `correlation_id` header) reaches the Rust subscriber generated from
/// FastStream's own AsyncAPI document (+ overlay), in the app's queue group,
/// typed and with its correlation id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_generated_from_faststream_docs_reads_a_faststream_message() {
    use faststream_allocation::subscribers::notifications_email as send_email_fs;

    /// (recipient, correlation id) of each handled message.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    struct Mailer(Seen);
    impl send_email_fs::Handler for Mailer {
        async fn handle(&self, d: send_email_fs::Delivery) {
            self.0.lock().unwrap().push((d.payload.to.clone(), d.correlation_id.clone()));
        }
    }

    let server = NatsServer::start();
    let (client, _js) = connect(&server).await;
    assert_eq!(send_email_fs::QUEUE, Some("mailers"), "queue group from FastStream's channel binding");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let worker = {
        let (c, seen, stop) = (client.clone(), seen.clone(), shutdown.wait());
        tokio::spawn(async move { send_email_fs::run(&c, &Mailer(seen), stop).await })
    };
    eventually("subscribed in queue group mailers", DEADLINE, || async {
        (subscriptions(&server, "notifications.email", Some("mailers")) == 1).then_some(())
    })
    .await;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("correlation_id", "6f1d2c3b-fast-stream");
    let body = serde_json::json!({"to": "ops@example.com", "subject": "hello"});
    client.publish_with_headers("notifications.email", headers, body.to_string().into()).await.unwrap();
    client.flush().await.unwrap();
    eventually("the message was handled", DEADLINE, || async { (!seen.lock().unwrap().is_empty()).then_some(()) })
        .await;
    shutdown.trigger();
    worker.await.unwrap().unwrap();
    assert_eq!(*seen.lock().unwrap(), [("ops@example.com".to_string(), Some("6f1d2c3b-fast-stream".to_string()))]);
}
