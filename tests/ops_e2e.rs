//! `apply` and `diff` against a real nats-server (started by the test), through the CLI binary.
#![cfg(feature = "live")]

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::nats_server::NatsServer;

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_asyncapi-nats")).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn deploy(example: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("generated-examples")
        .join(example)
        .join("deploy")
        .display()
        .to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn apply_then_diff_detects_drift_field_by_field() {
    let server = NatsServer::start();
    let url = server.url();
    let dir = deploy("shop");

    let (code, out) = cli(&["apply", &dir, "--server", &url, "--replicas", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created Stream ORDERS") && out.contains("created Consumer PAYMENTS/refund-worker"), "{out}");
    let (code, out) = cli(&["diff", &dir, "--server", &url, "--replicas", "1"]);
    assert_eq!(code, 0, "fresh apply must not drift: {out}");
    assert!(out.contains("no drift: 3 stream(s), 4 consumer(s)"), "{out}");

    // What the server holds is what the manifests say (not NACK's defaults).
    let client = async_nats::connect(&url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut orders = js.get_stream("ORDERS").await.unwrap();
    let info = orders.info().await.unwrap().config.clone();
    assert_eq!(info.storage, async_nats::jetstream::stream::StorageType::File);
    assert_eq!(info.num_replicas, 1, "--replicas 1 overrides R3 on a single server");
    assert_eq!(info.max_age, std::time::Duration::from_secs(30 * 24 * 3600));
    let payments = js.get_stream("PAYMENTS").await.unwrap();
    let consumer = payments.consumer_info("refund-worker").await.unwrap().config;
    assert_eq!(consumer.ack_policy, async_nats::jetstream::consumer::AckPolicy::Explicit);
    assert!(consumer.deliver_subject.is_none());
    assert_eq!(consumer.max_ack_pending, 10);

    // Drift: someone changes the consumer by hand.
    let mut drifted: async_nats::jetstream::consumer::pull::Config =
        serde_json::from_value(serde_json::to_value(&consumer).unwrap()).unwrap();
    drifted.max_ack_pending = 999;
    drifted.max_deliver = 12;
    payments.update_consumer(drifted).await.unwrap();
    let (code, out) = cli(&["diff", &dir, "--server", &url, "--replicas", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Consumer PAYMENTS/refund-worker: maxAckPending: manifest 10 ≠ server 999"), "{out}");
    assert!(out.contains("Consumer PAYMENTS/refund-worker: maxDeliver: manifest 8 ≠ server 12"), "{out}");
    assert!(out.contains("2 difference(s)"), "{out}");

    // apply repairs it.
    let (code, out) = cli(&["apply", &dir, "--server", &url, "--replicas", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("updated Consumer PAYMENTS/refund-worker") && out.contains("unchanged Stream ORDERS"),
        "{out}"
    );
    assert_eq!(cli(&["diff", &dir, "--server", &url, "--replicas", "1"]).0, 0);

    // A deleted consumer is drift too.
    payments.delete_consumer("refund-worker").await.unwrap();
    let (code, out) = cli(&["diff", &dir, "--server", &url, "--replicas", "1"]);
    assert_eq!(code, 1);
    assert!(out.contains("Consumer PAYMENTS/refund-worker: <missing>"), "{out}");
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let (code, out) = cli(&["diff", &deploy("allocation"), "--server", "nats://127.0.0.1:1"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot connect to nats://127.0.0.1:1"), "{out}");
}

#[test]
fn apply_and_diff_take_every_node_of_a_cluster() {
    let server = NatsServer::start();
    let url = server.url();
    let dir = deploy("allocation");
    // A dead node first: the client fails over to the next URL, as it would in a cluster.
    let servers = ["--server", "nats://127.0.0.1:1", "--server", url.as_str()];
    let (code, out) = cli(&[&["apply", dir.as_str()][..], &servers, &["--replicas", "1"]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("created Stream allocation"), "{out}");
    let (code, out) = cli(&[&["diff", dir.as_str()][..], &servers, &["--replicas", "1"]].concat());
    assert_eq!(code, 0, "{out}");

    let (code, out) = cli(&["diff", &dir, "--server", "nats://127.0.0.1:1", "--server", "nats://127.0.0.1:2"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot connect to nats://127.0.0.1:1, nats://127.0.0.1:2"), "{out}");
    let (code, out) = cli(&["diff", &dir, "--server", "nats://bad host"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("invalid --server nats://bad host"), "{out}");
}
