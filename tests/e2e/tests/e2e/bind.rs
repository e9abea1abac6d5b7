//! 1. Bind, never create.

use allocation::runtime::BindError;
use allocation::subscribers::process_ready;
use async_nats::jetstream::consumer::{AckPolicy, push};
use e2e_tests::{NatsServer, connect, provision};
use futures::TryStreamExt as _;

async fn stream_names(js: &async_nats::jetstream::Context) -> Vec<String> {
    js.stream_names().try_collect().await.expect("list streams")
}

#[tokio::test]
async fn missing_stream_is_reported_and_not_created() {
    let server = NatsServer::start();
    let (_c, js) = connect(&server).await;

    let err = process_ready::bind(&js).await.expect_err("bind must fail without a stream");
    assert!(matches!(err, BindError::StreamNotFound { stream: "allocation" }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`allocation`") && text.contains("must be provisioned"), "{text}");

    // run() fails the same way instead of creating anything.
    let run = process_ready::run(&js, &crate::FnHandler(|_d| async { allocation::runtime::Outcome::Ack }), async {})
        .await
        .expect_err("run must fail");
    assert!(matches!(run, allocation::runtime::RunError::Bind(BindError::StreamNotFound { .. })), "{run:?}");
    assert!(process_ready::lag(&js).await.is_err());

    assert_eq!(stream_names(&js).await, Vec::<String>::new(), "the server must still have no stream");
    let lookup = js.get_stream("allocation").await.expect_err("stream must not exist");
    assert!(lookup.to_string().contains("10059") || lookup.to_string().contains("not found"), "{lookup}");
}

#[tokio::test]
async fn missing_durable_is_reported_and_not_created() {
    let server = NatsServer::start();
    let (_c, js) = connect(&server).await;
    let stream = provision::create_stream(&js, provision::allocation_stream()).await;

    let err = process_ready::bind(&js).await.expect_err("bind must fail without the durable");
    assert!(matches!(err, BindError::ConsumerNotFound { stream: "allocation", durable: "processor-ready" }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`processor-ready`") && text.contains("must be provisioned"), "{text}");

    let consumers: Vec<String> = stream.consumer_names().try_collect().await.expect("list consumers");
    assert!(consumers.is_empty(), "no consumer may have been created: {consumers:?}");
    let lookup = stream.consumer_info(process_ready::DURABLE).await.expect_err("consumer must not exist");
    assert!(lookup.to_string().contains("10014") || lookup.to_string().contains("not found"), "{lookup}");
}

async fn mismatch(js: &async_nats::jetstream::Context) -> String {
    match process_ready::bind(js).await {
        Err(BindError::Mismatch { stream: "allocation", durable: "processor-ready", problem }) => problem,
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn misconfigured_consumers_are_mismatches() {
    let server = NatsServer::start();
    let (_c, js) = connect(&server).await;
    let stream = provision::create_stream(&js, provision::allocation_stream()).await;
    let filter = process_ready::FILTER_SUBJECTS[0].to_string();

    // Push consumer (deliver subject).
    stream
        .create_consumer(push::Config {
            durable_name: Some(process_ready::DURABLE.into()),
            deliver_subject: "deliver.here".into(),
            ack_policy: AckPolicy::Explicit,
            filter_subject: filter.clone(),
            ..Default::default()
        })
        .await
        .expect("create push consumer");
    let info = stream.consumer_info(process_ready::DURABLE).await.expect("info");
    assert_eq!(info.config.deliver_subject.as_deref(), Some("deliver.here"));
    let problem = mismatch(&js).await;
    assert!(problem.contains("push consumer"), "{problem}");
    stream.delete_consumer(process_ready::DURABLE).await.expect("delete");

    // Ack policy none.
    let mut config = provision::process_ready_consumer();
    config.ack_policy = AckPolicy::None;
    config.backoff.clear();
    config.max_ack_pending = 0;
    provision::create_consumer(&js, "allocation", config).await;
    let info = stream.consumer_info(process_ready::DURABLE).await.expect("info");
    assert_eq!(info.config.ack_policy, AckPolicy::None);
    let problem = mismatch(&js).await;
    assert!(problem.contains("ack policy"), "{problem}");
    stream.delete_consumer(process_ready::DURABLE).await.expect("delete");

    // A filter for another channel.
    let mut config = provision::process_ready_consumer();
    config.filter_subject = allocation::subjects::EVENTS_ALLOCATED_FILTER.into();
    provision::create_consumer(&js, "allocation", config).await;
    let info = stream.consumer_info(process_ready::DURABLE).await.expect("info");
    assert_eq!(info.config.filter_subject, "events.allocated.*");
    let problem = mismatch(&js).await;
    assert!(problem.contains("events.allocated.*"), "{problem}");
    stream.delete_consumer(process_ready::DURABLE).await.expect("delete");

    // filter_subjects with one foreign subject (read back: a >= 2.10 server keeps the list).
    let mut config = provision::process_ready_consumer();
    config.filter_subject.clear();
    config.filter_subjects = vec![filter.clone(), "events.allocated.*".into()];
    provision::create_consumer(&js, "allocation", config).await;
    let info = stream.consumer_info(process_ready::DURABLE).await.expect("info");
    assert_eq!(info.config.filter_subjects.len(), 2, "server dropped filter_subjects: {:?}", info.config);
    let problem = mismatch(&js).await;
    assert!(problem.contains("events.allocated.*"), "{problem}");
    stream.delete_consumer(process_ready::DURABLE).await.expect("delete");

    // A narrower filter is fine; the spec's exact settings bind.
    let mut config = provision::process_ready_consumer();
    config.filter_subject = "events.ready_to_process.eu-1".into();
    provision::create_consumer(&js, "allocation", config).await;
    process_ready::bind(&js).await.expect("narrower filter binds");
    stream.delete_consumer(process_ready::DURABLE).await.expect("delete");
    provision::create_consumer(&js, "allocation", provision::process_ready_consumer()).await;
    process_ready::bind(&js).await.expect("spec consumer binds");
}
