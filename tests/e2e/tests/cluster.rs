//! Faults a production cluster has, on a real 3-node nats-server cluster on
//! loopback (e2e_tests::cluster): the `allocation` stream is provisioned R3
//! from the generated manifests, clients get all three URLs, and nodes are
//! killed with SIGKILL.
//!
//! Gates: no message lost, `run` never fails, publishes all acknowledged.
//! Resume times and duplicates are printed (`FAULT …` lines), not asserted.
//!
//! Three servers per test are heavy for a 2-core CI machine, so these tests
//! are `#[ignore]`d in `cargo test --workspace` and run as their own step of
//! scripts/test.sh: `cargo test -p e2e-tests --test cluster -- --ignored --test-threads 1`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allocation::publishers::Publishers;
use allocation::runtime::{Outcome, RunError};
use allocation::subscribers::process_ready;
use allocation::types::TraceHeaders;
use async_nats::jetstream::Context;
use e2e_tests::cluster::{NatsCluster, connect_all};
use e2e_tests::{Shutdown, completed, eventually, provision, publish_ready, uuid};
use futures::StreamExt as _;

const DEADLINE: Duration = Duration::from_secs(120);
const STREAM: &str = "allocation";

/// What the handler saw: every call (with its time) and the distinct allocations.
#[derive(Default)]
struct Record {
    calls: AtomicU64,
    distinct: Mutex<BTreeSet<String>>,
    times: Mutex<Vec<Instant>>,
}

impl Record {
    fn distinct(&self) -> u64 {
        self.distinct.lock().unwrap().len() as u64
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// The longest pause between two handler calls from `from` until `until`: how long
    /// consumption stalled around a fault at `from`.
    fn stall(&self, from: Instant, until: Instant) -> Duration {
        let times = self.times.lock().unwrap();
        let mut window: Vec<Instant> = times.iter().copied().filter(|t| *t >= from && *t <= until).collect();
        window.sort();
        let mut previous = from;
        let mut longest = Duration::ZERO;
        for t in window {
            longest = longest.max(t - previous);
            previous = t;
        }
        longest
    }
}

/// Records every call; takes `pace` per message (so that faults hit consumption under way).
struct Handler(Arc<Record>, Duration);

impl process_ready::Handler for Handler {
    async fn handle(&self, delivery: process_ready::Delivery) -> Outcome {
        let record = &self.0;
        if !self.1.is_zero() {
            tokio::time::sleep(self.1).await;
        }
        record.times.lock().unwrap().push(Instant::now());
        record.distinct.lock().unwrap().insert(delivery.payload.allocation_id.to_string());
        record.calls.fetch_add(1, Ordering::SeqCst);
        Outcome::Ack
    }
}

/// Starts `process_ready::run` on its own task with its own connection to every node.
async fn spawn_worker(
    cluster: &NatsCluster,
    record: &Arc<Record>,
    pace: Duration,
    shutdown: &Shutdown,
) -> tokio::task::JoinHandle<Result<(), RunError>> {
    let (_client, js) = connect_all(cluster).await;
    let (handler, stop) = (Handler(record.clone(), pace), shutdown.wait());
    tokio::spawn(async move { process_ready::run(&js, &handler, stop).await })
}

async fn stream_leader(js: &Context) -> String {
    eventually("stream leader known", DEADLINE, || async {
        let info = js.get_stream(STREAM).await.ok()?.info().await.ok()?.clone();
        info.cluster.and_then(|c| c.leader)
    })
    .await
}

async fn consumer_leader(js: &Context) -> String {
    eventually("consumer leader known", DEADLINE, || async {
        let stream = js.get_stream_no_info(STREAM).await.ok()?;
        let info = stream.consumer_info(process_ready::DURABLE).await.ok()?;
        info.cluster.and_then(|c| c.leader)
    })
    .await
}

async fn drained(js: &Context) {
    eventually("consumer drained", DEADLINE, || async {
        let lag = process_ready::lag(js).await.ok()?;
        (lag.pending == 0 && lag.ack_pending == 0).then_some(())
    })
    .await;
}

async fn provisioned() -> (NatsCluster, Context) {
    let cluster = tokio::task::block_in_place(NatsCluster::start);
    let (_client, js) = connect_all(&cluster).await;
    // As ops would on a cluster: `asyncapi-nats apply deploy/ --replicas 3` (same mapping).
    provision::apply_replicated(&js, "allocation", 3).await;
    (cluster, js)
}

/// Kills the node named `leader`; returns when it was killed.
fn kill(cluster: &mut NatsCluster, leader: &str) -> Instant {
    let i = cluster.index_of(leader);
    tokio::task::block_in_place(|| cluster.kill9(i));
    Instant::now()
}

fn restart(cluster: &mut NatsCluster, name: &str) {
    let i = cluster.index_of(name);
    tokio::task::block_in_place(|| cluster.restart(i));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "3-node cluster: its own step in scripts/test.sh"]
async fn stream_and_consumer_leader_kills_during_consumption_lose_nothing() {
    const N: u64 = 20_000;
    let (mut cluster, js) = provisioned().await;
    publish_ready(&js, 0, N).await;
    let record = Arc::new(Record::default());
    let shutdown = Shutdown::new();
    let logs = e2e_tests::LogCapture::global();
    // 5 ms per message, 10 at once: about 2,000 messages/s, so both kills hit consumption under way.
    let worker = spawn_worker(&cluster, &record, Duration::from_millis(5), &shutdown).await;

    let mut report = Vec::new();
    for phase in ["stream leader", "consumer leader"] {
        eventually("consumption under way", DEADLINE, || async { (record.distinct() >= 3_000).then_some(()) }).await;
        assert!(record.distinct() < N, "{phase} killed during consumption");
        let leader = if phase == "stream leader" { stream_leader(&js).await } else { consumer_leader(&js).await };
        let calls_at_kill = record.calls();
        let killed = kill(&mut cluster, &leader);
        eventually("consumption resumed after the kill", DEADLINE, || async {
            (record.calls() >= calls_at_kill + 2_000 || record.distinct() == N).then_some(())
        })
        .await;
        let stall = record.stall(killed, Instant::now());
        restart(&mut cluster, &leader);
        report.push(format!("{phase} {leader} killed after {calls_at_kill} calls: consumption stalled {stall:.2?}"));
    }
    eventually("every message processed", DEADLINE, || async { (record.distinct() == N).then_some(()) }).await;
    drained(&js).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run never fails");

    let stored = js.get_stream(STREAM).await.unwrap().info().await.unwrap().state.messages;
    let (calls, distinct) = (record.calls(), record.distinct());
    eprintln!(
        "FAULT cluster consumption: sent {N}, stored {stored}, handler calls {calls}, distinct {distinct}, \
         duplicates {}, lost {}",
        calls - distinct,
        N - distinct
    );
    for line in &report {
        eprintln!("FAULT   {line}");
    }
    // How the loop re-established its pulls (the capture is process-wide; tests run one at a time).
    for line in logs
        .lines_with("allocation::runtime")
        .iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("leader elected"))
        .take(30)
    {
        eprintln!("  {line}");
    }
    assert_eq!(stored, N, "the R3 stream kept every message");
    assert_eq!(distinct, N, "no message lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "3-node cluster: its own step in scripts/test.sh"]
async fn publishing_through_a_stream_leader_kill_loses_and_duplicates_nothing() {
    const N: u64 = 20_000;
    const IN_FLIGHT: usize = 256;
    let (mut cluster, js) = provisioned().await;
    let (client, _) = connect_all(&cluster).await;
    let publishers = Publishers::new(client);
    let leader = stream_leader(&js).await;
    let acked = Arc::new(AtomicU64::new(0));
    let ack_times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let headers = TraceHeaders { trace_id: None };

    let publishing = {
        let (acked, ack_times, headers) = (acked.clone(), ack_times.clone(), headers.clone());
        tokio::spawn(async move {
            futures::stream::iter(0..N)
                .map(|n| {
                    let (publishers, acked, ack_times, headers) =
                        (publishers.clone(), acked.clone(), ack_times.clone(), headers.clone());
                    async move {
                        let started = Instant::now();
                        // The generated publisher, with its default retry deadline (30 s).
                        let result = publishers.announce_allocated(&uuid(n), &completed(n), &headers).await;
                        if result.is_ok() {
                            acked.fetch_add(1, Ordering::SeqCst);
                            ack_times.lock().unwrap().push(Instant::now());
                        }
                        (result.map_err(|e| e.to_string()), started.elapsed())
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
        })
    };
    eventually("publishing under way", DEADLINE, || async { (acked.load(Ordering::SeqCst) >= 3_000).then_some(()) })
        .await;
    let acked_at_kill = acked.load(Ordering::SeqCst);
    let killed = kill(&mut cluster, &leader);
    let results = publishing.await.expect("join");
    let done = Instant::now();
    restart(&mut cluster, &leader);

    let failures: Vec<&String> = results.iter().filter_map(|(r, _)| r.as_ref().err()).collect();
    let slowest = results.iter().map(|(_, t)| *t).max().unwrap_or_default();
    let stall = {
        let times = ack_times.lock().unwrap();
        let mut after: Vec<Instant> = times.iter().copied().filter(|t| *t >= killed).collect();
        after.sort();
        let mut previous = killed;
        let mut longest = Duration::ZERO;
        for t in after {
            longest = longest.max(t - previous);
            previous = t;
        }
        longest
    };
    let stored = eventually("stream info after the election", DEADLINE, || async {
        Some(js.get_stream(STREAM).await.ok()?.info().await.ok()?.state.messages)
    })
    .await;
    eprintln!(
        "FAULT cluster publishing: {N} publishes ({IN_FLIGHT} in flight), stream leader {leader} killed after \
         {acked_at_kill} acks; failed {}, acknowledged {}, stored {stored} (duplicates {}), acks stalled {stall:.2?}, \
         slowest publish {slowest:.2?}, all done {:.2?} after the kill",
        failures.len(),
        acked.load(Ordering::SeqCst),
        stored.saturating_sub(N),
        done - killed,
    );
    assert!(failures.is_empty(), "{} publishes failed, e.g. {:?}", failures.len(), failures.first());
    assert_eq!(stored, N, "every message stored once (Nats-Msg-Id de-duplicates retries)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "3-node cluster: its own step in scripts/test.sh"]
async fn a_service_started_during_an_election_waits_and_runs() {
    const N: u64 = 2_000;
    let (mut cluster, js) = provisioned().await;
    publish_ready(&js, 0, N).await;
    let leader = consumer_leader(&js).await;
    let killed = kill(&mut cluster, &leader);
    // Started right after the kill, while the consumer has no leader.
    let record = Arc::new(Record::default());
    let shutdown = Shutdown::new();
    let worker = spawn_worker(&cluster, &record, Duration::ZERO, &shutdown).await;
    eventually("every message processed", DEADLINE, || async {
        assert!(!worker.is_finished(), "run returned during the election");
        (record.distinct() == N).then_some(())
    })
    .await;
    let first = record.times.lock().unwrap().iter().min().copied().expect("a message");
    eprintln!(
        "FAULT cluster start during an election: consumer leader {leader} killed, run started; first message \
         {:.2?} after the kill, handler calls {}, distinct {}",
        first - killed,
        record.calls(),
        record.distinct()
    );
    restart(&mut cluster, &leader);
    drained(&js).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run never fails");
    assert_eq!(record.distinct(), N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "3-node cluster: its own step in scripts/test.sh"]
async fn consumer_deleted_while_run_is_live_is_waited_for_and_never_recreated() {
    let (cluster, js) = provisioned().await;
    let logs = e2e_tests::LogCapture::global();
    publish_ready(&js, 0, 100).await;
    let record = Arc::new(Record::default());
    let shutdown = Shutdown::new();
    let worker = spawn_worker(&cluster, &record, Duration::ZERO, &shutdown).await;
    eventually("first batch processed", DEADLINE, || async { (record.distinct() == 100).then_some(()) }).await;
    drained(&js).await;

    let stream = js.get_stream_no_info(STREAM).await.unwrap();
    stream.delete_consumer(process_ready::DURABLE).await.expect("ops deletes the consumer");
    // The loop notices (its pull is ended by the server) and looks the consumer up again.
    eventually("the deletion is noticed", DEADLINE, || async {
        logs.lines_with("does not exist").iter().any(|l| l.contains(process_ready::DURABLE)).then_some(())
    })
    .await;
    let streams_consumers = stream.consumer_names().count().await;
    assert_eq!(streams_consumers, 0, "run never re-creates the consumer");
    assert!(!worker.is_finished(), "run keeps waiting");

    // Ops re-creates it (from the manifests); new messages are consumed.
    provision::apply_replicated(&js, "allocation", 3).await;
    let recreated = Instant::now();
    publish_ready(&js, 100, 100).await;
    eventually("messages after the re-creation processed", DEADLINE, || async {
        (record.distinct() == 200).then_some(())
    })
    .await;
    let resumed = record.times.lock().unwrap().iter().copied().filter(|t| *t >= recreated).min().unwrap();
    eprintln!("FAULT consumer deleted while run is live: resumed {:.2?} after ops re-created it", resumed - recreated);
    shutdown.trigger();
    worker.await.expect("join").expect("run never fails");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "3-node cluster: its own step in scripts/test.sh"]
async fn slow_handlers_keep_their_messages_with_in_progress_and_max_ack_pending_bounds_them() {
    // Handlers slower than the consumer's ack wait (the first backoff step: 30 s would make the test
    // slow, so ops' manifest is applied with a 1 s ack wait, as a slow consumer would be tuned).
    let cluster = tokio::task::block_in_place(NatsCluster::start);
    let (_client, js) = connect_all(&cluster).await;
    let mut set = provision::manifests("allocation").with_replicas(3);
    for consumer in &mut set.consumers {
        consumer.spec.backoff = Vec::new();
        consumer.spec.ack_wait = "1s".into();
        consumer.spec.max_ack_pending = 4;
    }
    asyncapi_nats::ops::apply(&js, &set).await.expect("apply");
    const N: u64 = 12;
    publish_ready(&js, 0, N).await;

    let running = Arc::new(AtomicU64::new(0));
    let most = Arc::new(AtomicU64::new(0));
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let (_c, worker_js) = connect_all(&cluster).await;
    let worker = {
        let (running, most, deliveries, stop) = (running.clone(), most.clone(), deliveries.clone(), shutdown.wait());
        tokio::spawn(async move {
            let handler = crate_handler(move |d: process_ready::Delivery| {
                let (running, most, deliveries) = (running.clone(), most.clone(), deliveries.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    deliveries.lock().unwrap().push(d.delivered);
                    // 2.5 ack waits of work, reporting progress every 400 ms.
                    for _ in 0..6 {
                        tokio::time::sleep(Duration::from_millis(400)).await;
                        d.in_progress().await.expect("in progress");
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    Outcome::Ack
                }
            });
            process_ready::run(&worker_js, &handler, stop).await
        })
    };
    eventually("every slow message handled", DEADLINE, || async {
        (deliveries.lock().unwrap().len() as u64 >= N && running.load(Ordering::SeqCst) == 0).then_some(())
    })
    .await;
    drained(&js).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run never fails");
    let deliveries = deliveries.lock().unwrap().clone();
    eprintln!(
        "FAULT slow consumer: {} deliveries of {N} messages, at most {} handlers at once (maxAckPending 4, batch {})",
        deliveries.len(),
        most.load(Ordering::SeqCst),
        process_ready::SETTINGS.batch
    );
    assert!(deliveries.iter().all(|d| *d == 1), "in_progress kept every message from redelivery: {deliveries:?}");
    assert!(most.load(Ordering::SeqCst) <= 4, "maxAckPending bounds the messages held at once");
}

/// A `process_ready::Handler` from a closure.
struct FnHandler<F>(F);

impl<F, Fut> process_ready::Handler for FnHandler<F>
where
    F: Fn(process_ready::Delivery) -> Fut + Sync,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    fn handle(&self, delivery: process_ready::Delivery) -> impl std::future::Future<Output = Outcome> + Send {
        (self.0)(delivery)
    }
}

fn crate_handler<F>(f: F) -> FnHandler<F> {
    FnHandler(f)
}
