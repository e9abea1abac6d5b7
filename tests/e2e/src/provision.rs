//! Provisioning the way ops would, isolated so that it can be swapped for the
//! generated NACK manifests: streams and durable consumers are created here
//! with the settings written in the AsyncAPI documents (`specs/*.yaml`),
//! never by the generated subscriber code.
//!
//! Names and filter subjects are read from the constants the generated crates
//! expose; ack wait, max deliver, backoff and the other consumer settings are
//! copied from the spec's `x-jetstream` blocks. One deliberate deviation:
//! `replicas` is 1, because the test server is a single node.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, ReplayPolicy, pull};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const HOUR: u64 = 3600;

/// Single filter as `filter_subject`, several as `filter_subjects` (like NACK).
fn filters(config: &mut pull::Config, subjects: &[&str]) {
    match subjects {
        [one] => config.filter_subject = (*one).to_string(),
        many => config.filter_subjects = many.iter().map(|s| (*s).to_string()).collect(),
    }
}

/// specs/allocation.yaml `x-jetstream.streams.allocation`.
pub fn allocation_stream() -> stream::Config {
    stream::Config {
        name: "allocation".into(),
        description: Some("Allocation lifecycle events.".into()),
        // Default: the subjects of the channels stored in it, params as `*`.
        subjects: vec![
            allocation::subjects::EVENTS_READY_TO_PROCESS_FILTER.into(),
            allocation::subjects::EVENTS_ALLOCATED_FILTER.into(),
        ],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        num_replicas: 1,
        max_age: secs(72 * HOUR),
        ..Default::default()
    }
}

/// specs/allocation.yaml operation `processReady`.
pub fn process_ready_consumer() -> pull::Config {
    use allocation::subscribers::process_ready;
    let mut config = pull::Config {
        durable_name: Some(process_ready::DURABLE.into()),
        name: Some(process_ready::DURABLE.into()),
        description: Some("Warehouse workers processing ready allocations.".into()),
        ack_policy: AckPolicy::Explicit,
        // No `ackWait` in the spec: with a backoff the server's ack wait is backoff[0].
        max_deliver: 5,
        max_ack_pending: 100,
        backoff: vec![secs(30), secs(60), secs(300)],
        deliver_policy: DeliverPolicy::All,
        replay_policy: ReplayPolicy::Instant,
        ..Default::default()
    };
    filters(&mut config, process_ready::FILTER_SUBJECTS);
    config
}

/// specs/shop.yaml `x-jetstream.streams.ORDERS`.
pub fn shop_orders_stream() -> stream::Config {
    stream::Config {
        name: "ORDERS".into(),
        description: Some("Order lifecycle events, kept for 30 days.".into()),
        subjects: vec![shop::subjects::ORDERS_CREATED_FILTER.into(), shop::subjects::ORDERS_CANCELLED_FILTER.into()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        num_replicas: 1,
        max_age: secs(720 * HOUR),
        max_messages_per_subject: 1000,
        max_message_size: 1_048_576,
        discard: DiscardPolicy::Old,
        duplicate_window: secs(120),
        deny_delete: true,
        deny_purge: true,
        ..Default::default()
    }
}

/// specs/shop.yaml `x-jetstream.streams.PAYMENTS`.
pub fn shop_payments_stream() -> stream::Config {
    stream::Config {
        name: "PAYMENTS".into(),
        description: Some("Payment commands and results; every message is processed by exactly one worker.".into()),
        // The channels' subjects; `payments.refund.requested` is covered by
        // `payments.*.requested` (as in the generated stream manifest).
        subjects: vec![
            shop::subjects::PAYMENTS_REQUESTED_FILTER.into(),
            shop::subjects::PAYMENTS_SETTLED_FILTER.into(),
        ],
        storage: StorageType::File,
        retention: RetentionPolicy::WorkQueue,
        num_replicas: 1,
        max_age: secs(168 * HOUR),
        max_message_size: 65_536,
        max_consumers: 8,
        discard: DiscardPolicy::New,
        duplicate_window: secs(600),
        deny_delete: true,
        ..Default::default()
    }
}

/// specs/shop.yaml operation `onPaymentSettled`.
pub fn on_payment_settled_consumer() -> pull::Config {
    use shop::subscribers::on_payment_settled;
    let mut config = pull::Config {
        durable_name: Some(on_payment_settled::DURABLE.into()),
        name: Some(on_payment_settled::DURABLE.into()),
        description: Some("Order service consumer of settled payments.".into()),
        ack_policy: AckPolicy::Explicit,
        max_deliver: 5,
        max_ack_pending: 200,
        backoff: vec![secs(30), secs(60), secs(300)],
        deliver_policy: DeliverPolicy::All,
        replay_policy: ReplayPolicy::Instant,
        ..Default::default()
    };
    filters(&mut config, on_payment_settled::FILTER_SUBJECTS);
    config
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

/// specs/allocation.yaml: the `allocation` stream and the `processor-ready` durable.
pub async fn allocation(js: &Context) {
    create_stream(js, allocation_stream()).await;
    create_consumer(js, "allocation", process_ready_consumer()).await;
}
