//! Provisioning the way ops do it: from the generated NACK manifests
//! (`generated-examples/<crate>/deploy/`), applied with the same field mapping
//! as the NACK controller (`asyncapi_nats::ops`), never by the generated
//! subscriber code. One deliberate deviation: `replicas` is 1, because the
//! test server is a single node.

use std::path::PathBuf;

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::stream;
use async_nats::jetstream::{self, Context};
use asyncapi_nats::ops::{self, ManifestSet};

/// The Stream and Consumer manifests generated for `example` (a folder of generated-examples).
pub fn manifests(example: &str) -> ManifestSet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../generated-examples").join(example).join("deploy");
    ops::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())).with_replicas(1)
}

fn stream_from(example: &str, name: &str) -> stream::Config {
    let set = manifests(example);
    let resource =
        set.streams.iter().find(|s| s.spec.name == name).unwrap_or_else(|| panic!("no Stream {name} manifest"));
    ops::stream_config(resource).unwrap()
}

fn consumer_from(example: &str, durable: &str) -> pull::Config {
    let set = manifests(example);
    let resource = set
        .consumers
        .iter()
        .find(|c| c.spec.durable_name == durable)
        .unwrap_or_else(|| panic!("no Consumer {durable} manifest"));
    ops::consumer_config(resource).unwrap()
}

/// Stream `allocation` (deploy/stream-allocation.yaml).
pub fn allocation_stream() -> stream::Config {
    stream_from("allocation", "allocation")
}

/// Durable `processor-ready` (deploy/consumer-allocation-processor-ready.yaml).
pub fn process_ready_consumer() -> pull::Config {
    consumer_from("allocation", allocation::subscribers::process_ready::DURABLE)
}

/// Stream `PAYMENTS` of the shop.
pub fn shop_payments_stream() -> stream::Config {
    stream_from("shop", "PAYMENTS")
}

/// Durable of the shop's `onPaymentSettled`.
pub fn on_payment_settled_consumer() -> pull::Config {
    consumer_from("shop", shop::subscribers::on_payment_settled::DURABLE)
}

/// Creates a stream as ops would (fails if it exists).
pub async fn create_stream(js: &Context, config: stream::Config) -> jetstream::stream::Stream {
    let name = config.name.clone();
    js.create_stream(config).await.unwrap_or_else(|e| panic!("provisioning stream {name}: {e}"))
}

/// Creates a durable pull consumer on `stream` as ops would.
pub async fn create_consumer(js: &Context, stream: &str, config: pull::Config) {
    let name = config.durable_name.clone().unwrap_or_default();
    js.create_consumer_on_stream(config, stream)
        .await
        .unwrap_or_else(|e| panic!("provisioning consumer {name} on {stream}: {e}"));
}

/// Applies every manifest of `example` (streams, then consumers), like `asyncapi-nats apply`.
pub async fn apply(js: &Context, example: &str) {
    ops::apply(js, &manifests(example)).await.unwrap_or_else(|e| panic!("applying {example} manifests: {e}"));
}

/// specs/allocation.yaml: the `allocation` stream and the `processor-ready` durable.
pub async fn allocation(js: &Context) {
    apply(js, "allocation").await;
}

/// Every manifest of `example` with `replicas` per stream (e.g. 3 on a cluster, like
/// `asyncapi-nats apply --replicas 3`).
pub async fn apply_replicated(js: &Context, example: &str, replicas: u32) {
    ops::apply(js, &manifests(example).with_replicas(replicas))
        .await
        .unwrap_or_else(|e| panic!("applying {example} manifests: {e}"));
}
