//! Pull consumption (2), durable resume (3), scaling out (5), observability
//! (10) and graceful shutdown (11), all on specs/allocation.yaml `processReady`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allocation::runtime::Outcome;
use allocation::subscribers::process_ready;
use e2e_tests::{
    AckObserver, DEADLINE, LogCapture, NatsServer, PullObserver, Shutdown, connect, eventually, provision,
    publish_ready,
};

use crate::spawn_worker;

async fn provisioned() -> (NatsServer, async_nats::Client, async_nats::jetstream::Context) {
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::allocation(&js).await;
    (server, client, js)
}

async fn consumer_info(js: &async_nats::jetstream::Context) -> async_nats::jetstream::consumer::Info {
    let stream = js.get_stream(process_ready::STREAM).await.expect("stream");
    stream.consumer_info(process_ready::DURABLE).await.expect("consumer info")
}

/// Waits until the consumer has nothing pending and nothing unacknowledged.
async fn drained(js: &async_nats::jetstream::Context) {
    eventually("consumer drained", DEADLINE, || async {
        let lag = process_ready::lag(js).await.ok()?;
        (lag.pending == 0 && lag.ack_pending == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_pull_with_spec_batch_and_expiry_acks_each_message() {
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    let pulls = PullObserver::start(&server, "allocation", "processor-ready").await;
    let seqs = publish_ready(&js, 0, 25).await;

    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let shutdown = Shutdown::new();
    let rec = seen.clone();
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let rec = rec.clone();
        async move {
            // Typed: the payload is the generated struct, the subject parses.
            let params = process_ready::parse_subject(&d.subject).expect("subject matches the channel");
            assert_eq!(params.allocation_id, d.payload.allocation_id.to_string());
            assert_eq!(d.payload.items[0].sku, "sku-1");
            rec.lock().unwrap().insert(d.stream_sequence);
            Outcome::Ack
        }
    })
    .await;
    eventually("25 acks", DEADLINE, || async { (acks.acks_per_sequence().len() == 25).then_some(()) }).await;
    drained(&js).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");

    assert_eq!(*seen.lock().unwrap(), seqs.iter().copied().collect::<BTreeSet<_>>());
    assert!(acks.acks_per_sequence().values().all(|&n| n == 1), "{:?}", acks.acks_per_sequence());
    // Pull requests carry the spec's `pull: {batch: 10, expires: 5s}`: the first asks for a whole
    // batch, later ones for what was handed out since (never more than one batch ahead).
    let requests = pulls.all();
    assert!(!requests.is_empty());
    assert_eq!(requests[0]["batch"], 10, "{}", requests[0]);
    for r in &requests {
        assert!((1..=10).contains(&r["batch"].as_u64().unwrap_or(0)), "{r}");
        assert_eq!(r["expires"], 5_000_000_000u64, "{r}");
        assert!(r["idle_heartbeat"].as_u64().unwrap_or(0) > 0, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_naks_with_given_delay_or_spec_backoff_by_delivery_count() {
    // specs/allocation.yaml processReady: backoff [30s, 1m, 5m].
    let spec_backoff = [Duration::from_secs(30), Duration::from_secs(60), Duration::from_secs(300)];
    assert_eq!(process_ready::SETTINGS.backoff, spec_backoff);
    assert_eq!(process_ready::SETTINGS.retry_delay(1), Some(spec_backoff[0]));
    assert_eq!(process_ready::SETTINGS.retry_delay(9), Some(spec_backoff[2]), "last entry beyond the end");
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    let seqs = publish_ready(&js, 0, 2).await;

    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::new();
    let rec = deliveries.clone();
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let rec = rec.clone();
        async move {
            rec.lock().unwrap().push((d.stream_sequence, d.delivered));
            match (d.stream_sequence, d.delivered) {
                // Message 1: explicit delay, then the spec's backoff for delivery 2 (1m).
                (1, 1) => Outcome::Retry { delay: Some(Duration::from_millis(100)) },
                (1, _) => Outcome::Retry { delay: None },
                // Message 2: the spec's backoff for delivery 1 (30s).
                _ => Outcome::Retry { delay: None },
            }
        }
    })
    .await;
    eventually("naks observed", DEADLINE, || async {
        (acks.for_sequence(seqs[0]).len() == 2 && acks.for_sequence(seqs[1]).len() == 1).then_some(())
    })
    .await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");

    let mut got = deliveries.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, vec![(1, 1), (1, 2), (2, 1)]);
    let bodies = |seq: u64| acks.for_sequence(seq).into_iter().map(|a| (a.delivered, a.body)).collect::<Vec<_>>();
    assert_eq!(
        bodies(seqs[0]),
        vec![(1, r#"-NAK {"delay":100000000}"#.to_string()), (2, r#"-NAK {"delay":60000000000}"#.to_string())]
    );
    assert_eq!(bodies(seqs[1]), vec![(1, r#"-NAK {"delay":30000000000}"#.to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_payload_is_terminated_logged_and_not_redelivered() {
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    let subject = allocation::subjects::events_ready_to_process("poison").expect("valid");
    let poison = js.publish(subject.into_string(), r#"{"allocationId": 42}"#.into()).await.unwrap().await.unwrap();
    let good = publish_ready(&js, 1, 1).await[0];

    let handled = Arc::new(Mutex::new(Vec::new()));
    let logs = LogCapture::global();
    let shutdown = Shutdown::new();
    let rec = handled.clone();
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let rec = rec.clone();
        async move {
            rec.lock().unwrap().push(d.stream_sequence);
            Outcome::Ack
        }
    })
    .await;
    eventually("good message acked", DEADLINE, || async { acks.acks_per_sequence().contains_key(&good).then_some(()) })
        .await;
    eventually("poison terminated", DEADLINE, || async {
        (!acks.for_sequence(poison.sequence).is_empty()).then_some(())
    })
    .await;
    drained(&js).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");

    assert_eq!(*handled.lock().unwrap(), vec![good], "the handler never sees the poison message");
    let poison_acks = acks.for_sequence(poison.sequence);
    assert_eq!(poison_acks.len(), 1, "{poison_acks:?}");
    assert!(poison_acks[0].body.starts_with("+TERM undecodable payload"), "{poison_acks:?}");
    // Terminated: not pending, not redelivered.
    let info = consumer_info(&js).await;
    assert_eq!((info.num_ack_pending, info.num_redelivered, info.num_pending), (0, 0, 0));
    assert_eq!(info.delivered.stream_sequence, good);
    let line = logs
        .lines_with("subject=events.ready_to_process.poison")
        .into_iter()
        .find(|l| l.contains("undecodable payload"))
        .unwrap_or_else(|| panic!("no log line:\n{}", logs.text()));
    assert!(line.contains(&format!("stream_sequence={}", poison.sequence)), "{line}");
    assert!(line.contains("ERROR") && line.contains("invalid type"), "decode error in the line: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_handlers_send_in_progress() {
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    let seq = publish_ready(&js, 0, 1).await[0];

    let release = Arc::new(tokio::sync::Notify::new());
    let shutdown = Shutdown::new();
    let gate = release.clone();
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let gate = gate.clone();
        async move {
            let waiting = gate.notified();
            d.in_progress().await.expect("in progress");
            waiting.await;
            Outcome::Ack
        }
    })
    .await;
    eventually("+WPI on the wire", DEADLINE, || async {
        acks.for_sequence(seq).iter().any(|a| a.body == "+WPI").then_some(())
    })
    .await;
    release.notify_one();
    eventually("final ack", DEADLINE, || async { acks.acks_per_sequence().contains_key(&seq).then_some(()) }).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");
    let bodies: Vec<String> = acks.for_sequence(seq).into_iter().map(|a| a.body).collect();
    assert_eq!(bodies, vec!["+WPI", "+ACK"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_resumes_after_the_consumer_process_stops() {
    const N: u64 = 1000;
    let (server, _c, js) = provisioned().await;
    publish_ready(&js, 0, N).await;
    let processed: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();

    // First "process": stops (graceful shutdown) after ~300 messages.
    let first = Shutdown::new();
    let (rec, stop) = (processed.clone(), first.clone());
    let worker = spawn_worker(&server, &first, move |d: process_ready::Delivery| {
        let (rec, stop) = (rec.clone(), stop.clone());
        async move {
            let mut map = rec.lock().unwrap();
            *map.entry(d.payload.allocation_id.to_string()).or_default() += 1;
            if map.len() >= 300 {
                stop.trigger();
            }
            Outcome::Ack
        }
    })
    .await;
    worker.await.expect("join").expect("first run");
    let after_first = processed.lock().unwrap().len() as u64;
    let lag = process_ready::lag(&js).await.expect("lag");
    assert!(after_first < N && lag.pending > 0, "stopped mid-stream: {after_first} processed, {lag:?}");

    // Second "process" (new connection): resumes from the durable's position.
    let second = Shutdown::new();
    let rec = processed.clone();
    let worker = spawn_worker(&server, &second, move |d: process_ready::Delivery| {
        let rec = rec.clone();
        async move {
            *rec.lock().unwrap().entry(d.payload.allocation_id.to_string()).or_default() += 1;
            Outcome::Ack
        }
    })
    .await;
    eventually("all messages processed", DEADLINE, || async {
        (processed.lock().unwrap().len() as u64 == N).then_some(())
    })
    .await;
    drained(&js).await;
    second.trigger();
    worker.await.expect("join").expect("second run");
    let map = processed.lock().unwrap();
    let total: usize = map.values().sum();
    eprintln!(
        "durable resume: sent {N}, first run {after_first}, processed {total}, distinct {}, lost {}",
        map.len(),
        N - map.len() as u64
    );
    assert_eq!(map.len() as u64, N, "none lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_durable() {
    const N: u64 = 2000;
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    publish_ready(&js, 0, N).await;

    let by_instance: Arc<Mutex<[BTreeSet<u64>; 2]>> = Arc::default();
    let shutdown = Shutdown::new();
    let mut workers = Vec::new();
    for instance in 0..2 {
        let rec = by_instance.clone();
        workers.push(
            spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
                let rec = rec.clone();
                async move {
                    tokio::task::yield_now().await;
                    rec.lock().unwrap()[instance].insert(d.stream_sequence);
                    Outcome::Ack
                }
            })
            .await,
        );
    }
    eventually("all acked", DEADLINE, || async { (acks.acks_per_sequence().len() as u64 == N).then_some(()) }).await;
    drained(&js).await;
    shutdown.trigger();
    for w in workers {
        w.await.expect("join").expect("run");
    }
    let sets = by_instance.lock().unwrap().clone();
    eprintln!("scaling out: instance A {}, instance B {}", sets[0].len(), sets[1].len());
    assert!(!sets[0].is_empty() && !sets[1].is_empty(), "work split: {} / {}", sets[0].len(), sets[1].len());
    assert_eq!(sets[0].union(&sets[1]).count() as u64, N);
    // Each delivery is acknowledged exactly once (a redelivery, if any, is a new delivery).
    let mut per_delivery: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for a in acks.all() {
        *per_delivery.entry((a.stream_sequence, a.delivered)).or_default() += 1;
    }
    assert!(per_delivery.values().all(|&n| n == 1), "a delivery was acked twice");
    let both = sets[0].intersection(&sets[1]).count();
    let redelivered = consumer_info(&js).await.num_redelivered;
    eprintln!("scaling out: handled by both instances (redeliveries): {both}, server redelivered {redelivered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_and_tracing_events() {
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    const FIRST: u64 = 7_000_000; // unique subjects: the log capture is process-wide
    publish_ready(&js, FIRST, 3).await;
    let lag = process_ready::lag(&js).await.expect("lag");
    assert_eq!((lag.pending, lag.ack_pending, lag.redelivered), (3, 0, 0));

    // Message 1: retried once, then held in the handler; others acked.
    let release = Arc::new(tokio::sync::Notify::new());
    let logs = LogCapture::global();
    let shutdown = Shutdown::new();
    let gate = release.clone();
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let gate = gate.clone();
        async move {
            if d.stream_sequence != 1 {
                return Outcome::Ack;
            }
            if d.delivered == 1 {
                return Outcome::Retry { delay: Some(Duration::from_millis(10)) };
            }
            gate.notified().await;
            Outcome::Ack
        }
    })
    .await;
    let lag = eventually("message 1 redelivered and in flight", DEADLINE, || async {
        let lag = process_ready::lag(&js).await.ok()?;
        (lag.pending == 0 && lag.ack_pending == 1 && lag.redelivered == 1).then_some(lag)
    })
    .await;
    assert_eq!((lag.pending, lag.ack_pending, lag.redelivered), (0, 1, 1));
    release.notify_one();
    eventually("all acked", DEADLINE, || async { (acks.acks_per_sequence().len() == 3).then_some(()) }).await;
    drained(&js).await;
    shutdown.trigger();
    worker.await.expect("join").expect("run");

    let lines = logs.lines_with("subject=events.ready_to_process.00000000-0000-4000-8000-0000006acf");
    let handled: Vec<&String> = lines.iter().filter(|l| l.contains("handled")).collect();
    let expect = |seq: u64, delivered: u64, outcome: &str| {
        let found = handled.iter().any(|l| {
            l.contains(&format!("subject=events.ready_to_process.{}", e2e_tests::uuid(FIRST + seq - 1)))
                && l.contains(&format!("stream_sequence={seq}"))
                && l.contains(&format!("delivered={delivered}"))
                && l.contains(&format!("outcome=\"{outcome}\""))
        });
        assert!(found, "no `handled` event for seq {seq} delivery {delivered} {outcome}:\n{}", lines.join("\n"));
    };
    expect(1, 1, "retry");
    expect(1, 2, "ack");
    expect(2, 1, "ack");
    expect(3, 1, "ack");
    assert!(lines.iter().any(|l| l.contains("jetstream_message{")), "span context printed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_and_acks_in_flight_handlers() {
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    let seqs = publish_ready(&js, 0, 5).await;

    let started = Arc::new(Mutex::new(BTreeSet::new()));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let shutdown = Shutdown::new();
    let (rec, gate) = (started.clone(), release.clone());
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let (rec, gate) = (rec.clone(), gate.clone());
        async move {
            rec.lock().unwrap().insert(d.stream_sequence);
            gate.acquire().await.expect("gate").forget();
            Outcome::Ack
        }
    })
    .await;
    eventually("5 handlers in flight", DEADLINE, || async { (started.lock().unwrap().len() == 5).then_some(()) }).await;
    shutdown.trigger();
    // Handlers are blocked, so run cannot have returned; nothing was acked yet.
    tokio::task::yield_now().await;
    assert!(!worker.is_finished(), "run returned with handlers in flight");
    assert!(acks.acks_per_sequence().is_empty());
    release.add_permits(5);
    worker.await.expect("join").expect("run returns Ok after shutdown");
    // run flushed the acks before returning: the server has them.
    drained(&js).await;
    eventually("5 acks observed", DEADLINE, || async { (acks.acks_per_sequence().len() == 5).then_some(()) }).await;
    assert_eq!(acks.acks_per_sequence().keys().copied().collect::<Vec<_>>(), seqs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_does_not_stop_the_loop_and_its_message_is_retried() {
    let logs = LogCapture::global();
    let (server, _c, js) = provisioned().await;
    let acks = AckObserver::start(&server, "allocation", "processor-ready").await;
    let seqs = publish_ready(&js, 0, 5).await;
    let poison = seqs[2];
    let shutdown = Shutdown::new();
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| async move {
        if d.stream_sequence == poison {
            panic!("bug in the handler for sequence {poison}");
        }
        Outcome::Ack
    })
    .await;
    eventually("4 acks and a nak for the panicking message", DEADLINE, || async {
        let acked = acks.acks_per_sequence().len();
        let nak = acks.for_sequence(poison).iter().any(|a| a.body.starts_with("-NAK"));
        (acked == 4 && nak).then_some(())
    })
    .await;
    for seq in seqs.iter().filter(|&&s| s != poison) {
        assert!(
            acks.for_sequence(*seq).iter().any(|a| a.body == "+ACK"),
            "sequence {seq}: {:?}",
            acks.for_sequence(*seq)
        );
    }
    // The nak uses the spec's backoff for the first delivery (30s), like any retry.
    let nak = acks.for_sequence(poison).into_iter().find(|a| a.body.starts_with("-NAK")).unwrap();
    assert!(nak.body.contains("30000000000"), "{}", nak.body);
    let lines = logs.lines_with("handler panicked");
    assert!(lines.iter().any(|l| l.contains(&format!("sequence {poison}"))), "{lines:?}");
    shutdown.trigger();
    worker.await.expect("join").expect("run returns Ok after a handler panic");
}

/// Issue 11 (memory): with every handler stuck, the messages delivered to the
/// client but not handed to a handler (the server's unacknowledged count minus
/// the handlers started) never exceed one pull batch — also past `expires` + 5 s,
/// when async-nats' `Stream` re-sends a pull although nobody reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_handlers_hold_at_most_one_batch_in_the_client() {
    const BATCH: usize = 5;
    let (server, _c, js) = provisioned().await;
    let mut config = provision::process_ready_consumer();
    config.durable_name = Some("bounded".to_string());
    config.max_ack_pending = 1_000;
    config.ack_wait = Duration::from_secs(60);
    provision::create_consumer(&js, process_ready::STREAM, config).await;
    publish_ready(&js, 0, 100).await;

    let expires = Duration::from_secs(1);
    let settings =
        allocation::runtime::ConsumerSettings { durable: "bounded", batch: BATCH, expires, ..process_ready::SETTINGS };
    let started = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let shutdown = Shutdown::new();
    let worker = {
        let (_client, js) = e2e_tests::connect(&server).await;
        let (stop, started, release) = (shutdown.wait(), started.clone(), release.clone());
        tokio::spawn(async move {
            let handler = move |_: process_ready::Delivery| {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    release.acquire().await.expect("gate").forget();
                    Outcome::Ack
                }
            };
            allocation::runtime::run(&js, &settings, handler, stop).await
        })
    };
    let stream = js.get_stream(process_ready::STREAM).await.expect("stream");
    let unacknowledged =
        || async { stream.consumer_info("bounded").await.expect("consumer info").num_ack_pending as u64 };
    eventually("every handler slot busy", DEADLINE, || async {
        (started.load(std::sync::atomic::Ordering::SeqCst) == BATCH as u64).then_some(())
    })
    .await;
    // An observation window, not a synchronisation: longer than `expires` + 5 s, the interval of
    // async-nats' unconditional re-pull, sampled as often as consumer info allows.
    let until = tokio::time::Instant::now() + expires + Duration::from_secs(6);
    let mut peak = 0;
    while tokio::time::Instant::now() < until {
        let in_flight = started.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(in_flight, BATCH as u64, "no handler starts while every slot is busy");
        peak = peak.max(unacknowledged().await.saturating_sub(in_flight));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(peak <= BATCH as u64, "{peak} messages buffered ahead of stuck handlers (batch {BATCH})");
    // The pull kept the pipe full: a batch waits, ready for the freed slots.
    assert!(peak > 0, "nothing was buffered ahead of the handlers");

    // Freed slots resume consumption: every message is handled and acknowledged.
    release.add_permits(1_000);
    eventually("all 100 handled and acknowledged", DEADLINE, || async {
        let info = stream.consumer_info("bounded").await.ok()?;
        (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
    })
    .await;
    assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 100);
    shutdown.trigger();
    worker.await.expect("join").expect("run returns Ok after shutdown");
}
