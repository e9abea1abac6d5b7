//! Throughput of the generated code against what a competent user writes with
//! async-nats alone, measured in one process against one nats-server, in
//! alternating rounds; prints msg/s, ratios (generated / raw) and peak RSS.
//!
//! - Consume, for pull batches 10, 100 and 500, with a no-op and a 1 ms
//!   handler: raw = `consumer.stream().max_messages_per_batch(B).messages()`,
//!   handlers run `for_each_concurrent(B)`, each decodes into the same
//!   generated type and `ack()`s; generated = `runtime::run` with the
//!   document's settings but batch B. Both read the same stream through a
//!   fresh durable with the manifest's configuration (`maxAckPending` raised
//!   to 1000 so batch 500 is not capped), until the server reports every
//!   message acknowledged.
//! - Publish: raw = `jetstream.publish_with_headers` (same subject, payload
//!   and `Nats-Msg-Id`) awaiting each ack; generated = the typed publisher;
//!   both with 256 acknowledgements in flight (`buffer_unordered(256)`).
//!
//! - Buffering: with every handler stuck, the peak number of messages
//!   delivered to the client but not handed to a handler, for pull batch 10
//!   and 100 (the server's unacknowledged count minus the handlers started).
//!
//! Run: `cargo bench -p e2e-tests --bench throughput` (needs
//! scripts/install-nats-server.sh). `BENCH_MESSAGES` (default 100000) and
//! `BENCH_ROUNDS` (default 3) tune it; `BENCH_FILTER` keeps the cases whose
//! name contains it (or one of its `|`-separated parts), `BENCH_VARIANT=raw|generated` measures only one side
//! (for profiling, e.g. under `perf record`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use allocation::publishers::Publishers;
use allocation::runtime::{ConsumerSettings, Outcome};
use allocation::subscribers::process_ready;
use allocation::types::{AllocationCompleted, TraceHeaders};
use async_nats::jetstream::Context;
use e2e_tests::{NatsServer, Shutdown, completed, connect, provision, publish_ready, uuid};
use futures::StreamExt as _;

const IN_FLIGHT: usize = 256;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU time (user + system) this process has used, in seconds (`/proc/self/stat`, 100 ticks/s):
/// unlike wall-clock rates, it hardly changes when other jobs compete for the cores.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The process's resident set size (VmRSS), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Highest RSS sampled (every 5 ms, by a thread) since the last reset.
static PEAK_KIB: AtomicU64 = AtomicU64::new(0);

fn start_rss_sampler() {
    std::thread::spawn(|| {
        loop {
            PEAK_KIB.fetch_max(rss_kib(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

fn reset_peak_rss() {
    PEAK_KIB.store(rss_kib(), Ordering::Relaxed);
}

/// Peak RSS since the last reset, in MiB.
fn peak_rss_mib() -> f64 {
    PEAK_KIB.load(Ordering::Relaxed).max(rss_kib()) as f64 / 1024.0
}

#[derive(Clone, Copy, PartialEq)]
enum Handler {
    Noop,
    Io,
}

impl Handler {
    async fn call(self) {
        if self == Handler::Io {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[derive(Clone, Copy)]
enum Variant {
    Raw,
    Generated,
}

/// A fresh durable reading the whole stream, configured as the manifest says.
async fn fresh_consumer(js: &Context, name: &str) {
    let mut config = provision::process_ready_consumer();
    config.durable_name = Some(name.to_string());
    config.max_ack_pending = 1000;
    provision::create_consumer(js, "allocation", config).await;
}

async fn drained(js: &Context, name: &str) {
    let stream = js.get_stream_no_info("allocation").await.unwrap();
    loop {
        let info = stream.consumer_info(name).await.unwrap();
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Consumes all `n` messages once; returns (msg/s, peak RSS MiB, CPU µs per message).
async fn consume(js: &Context, n: u64, batch: usize, handler: Handler, variant: Variant, id: usize) -> (f64, f64, f64) {
    let durable: &'static str = Box::leak(format!("bench-{id}").into_boxed_str());
    fresh_consumer(js, durable).await;
    let settings = ConsumerSettings { durable, batch, ..process_ready::SETTINGS };
    reset_peak_rss();
    let cpu = cpu_seconds();
    let start = Instant::now();
    match variant {
        Variant::Raw => {
            // On a runtime worker, like the generated loop (the main task runs on its own thread).
            let raw_js = js.clone();
            tokio::spawn(async move {
                let stream = raw_js.get_stream_no_info("allocation").await.unwrap();
                let consumer: async_nats::jetstream::consumer::PullConsumer =
                    stream.get_consumer(durable).await.unwrap();
                let messages = consumer.stream().max_messages_per_batch(batch).messages().await.unwrap();
                messages
                    .take(n as usize)
                    .for_each_concurrent(batch, |message| async move {
                        let message = message.expect("message");
                        let payload: process_ready::Payload = serde_json::from_slice(&message.payload).expect("decode");
                        std::hint::black_box(&payload);
                        handler.call().await;
                        message.ack().await.expect("ack");
                    })
                    .await;
            })
            .await
            .unwrap();
            drained(js, durable).await;
        }
        Variant::Generated => {
            // The n-th handler wakes this task (no polling, which would cost the generated side CPU).
            let done = Arc::new((AtomicU64::new(0), tokio::sync::Notify::new()));
            let shutdown = Shutdown::new();
            let worker = {
                let (js, stop, done) = (js.clone(), shutdown.wait(), done.clone());
                tokio::spawn(async move {
                    let handler = move |delivery: process_ready::Delivery| {
                        let done = done.clone();
                        async move {
                            std::hint::black_box(&delivery.payload);
                            handler.call().await;
                            if done.0.fetch_add(1, Ordering::Relaxed) + 1 == n {
                                done.1.notify_one();
                            }
                            Outcome::Ack
                        }
                    };
                    allocation::runtime::run(&js, &settings, handler, stop).await
                })
            };
            done.1.notified().await;
            drained(js, durable).await;
            shutdown.trigger();
            worker.await.unwrap().unwrap();
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let cpu = (cpu_seconds() - cpu) * 1e6 / n as f64;
    let rss = peak_rss_mib();
    js.get_stream_no_info("allocation").await.unwrap().delete_consumer(durable).await.unwrap();
    (rate, rss, cpu)
}

/// While every handler is stuck, for `seconds`: the most messages delivered to the client but not
/// handed to a handler (the server's count of unacknowledged messages minus the handlers
/// started, sampled every 50 ms). Returns (handlers started, peak buffered).
async fn buffered(js: &Context, batch: usize, seconds: u64, id: usize) -> (u64, u64) {
    let durable: &'static str = Box::leak(format!("buffer-{id}").into_boxed_str());
    let mut config = provision::process_ready_consumer();
    config.durable_name = Some(durable.to_string());
    config.max_ack_pending = 10_000;
    config.ack_wait = Duration::from_secs(seconds + 30);
    provision::create_consumer(js, "allocation", config).await;
    let settings = ConsumerSettings { durable, batch, ..process_ready::SETTINGS };
    let started = Arc::new(AtomicU64::new(0));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let shutdown = Shutdown::new();
    let worker = {
        let (js, stop, started, release) = (js.clone(), shutdown.wait(), started.clone(), release.clone());
        tokio::spawn(async move {
            let handler = move |_: process_ready::Delivery| {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    release.acquire().await.expect("semaphore").forget();
                    Outcome::Ack
                }
            };
            allocation::runtime::run(&js, &settings, handler, stop).await
        })
    };
    let stream = js.get_stream_no_info("allocation").await.unwrap();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut peak = 0;
    while Instant::now() < until {
        let in_flight = started.load(Ordering::SeqCst);
        let unacknowledged = stream.consumer_info(durable).await.unwrap().num_ack_pending as u64;
        peak = peak.max(unacknowledged.saturating_sub(in_flight));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.trigger();
    release.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    worker.await.unwrap().unwrap();
    stream.delete_consumer(durable).await.unwrap();
    (started.load(Ordering::SeqCst), peak)
}

/// Publishes `n` AllocationCompleted events (ids from `first`), 256 acks in flight; returns
/// (msg/s, peak RSS MiB, CPU µs per message).
async fn publish(client: &async_nats::Client, js: &Context, first: u64, n: u64, variant: Variant) -> (f64, f64, f64) {
    let messages: Vec<(String, AllocationCompleted)> = (first..first + n).map(|i| (uuid(i), completed(i))).collect();
    let publishers = Publishers::new(client.clone());
    let headers = TraceHeaders { trace_id: None };
    reset_peak_rss();
    let cpu = cpu_seconds();
    let start = Instant::now();
    match variant {
        Variant::Raw => {
            futures::stream::iter(&messages)
                .map(|(id, payload)| async move {
                    let subject = format!("events.allocated.{id}");
                    let body = serde_json::to_vec(payload).expect("encode");
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Nats-Msg-Id", id.as_str());
                    js.publish_with_headers(subject, headers, body.into()).await.expect("publish").await.expect("ack")
                })
                .buffer_unordered(IN_FLIGHT)
                .for_each(|_| async {})
                .await;
        }
        Variant::Generated => {
            futures::stream::iter(&messages)
                .map(|(id, payload)| publishers.announce_allocated(id, payload, &headers))
                .buffer_unordered(IN_FLIGHT)
                .for_each(|ack| async move {
                    ack.expect("publish");
                })
                .await;
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    (rate, peak_rss_mib(), (cpu_seconds() - cpu) * 1e6 / n as f64)
}

#[derive(Default)]
struct Row {
    raw: Vec<f64>,
    generated: Vec<f64>,
    raw_cpu: Vec<f64>,
    generated_cpu: Vec<f64>,
    raw_rss: f64,
    generated_rss: f64,
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_or("BENCH_MESSAGES", 100_000);
    let rounds = env_or("BENCH_ROUNDS", 3) as usize;
    start_rss_sampler();
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::create_stream(&js, provision::allocation_stream()).await;
    publish_ready(&js, 0, n).await;
    println!(
        "{n} messages per measurement, {rounds} rounds, raw and generated alternating; {}; RSS is the whole process's, sampled every 5 ms",
        server.version()
    );

    // Buffering with stuck handlers (`BENCH_BUFFER_SECONDS`, default 25: longer than the
    // expiry + 5 s after which async-nats re-sends a pull by itself).
    let buffer_seconds = env_or("BENCH_BUFFER_SECONDS", 25);
    if buffer_seconds > 0 {
        println!(
            "| pull batch | handlers stuck | peak buffered (delivered, not handed to a handler) | over {buffer_seconds} s |"
        );
        println!("|---|---|---|---|");
        for (i, batch) in [10, 100].into_iter().enumerate() {
            let (in_flight, peak) = buffered(&js, batch, buffer_seconds, i).await;
            println!("| {batch} | {in_flight} | {peak} ({:.1} × batch) | |", peak as f64 / batch as f64);
        }
    }

    let mut cases: Vec<(String, Option<(usize, Handler)>)> = Vec::new();
    for handler in [Handler::Noop, Handler::Io] {
        for batch in [10, 100, 500] {
            let name = if handler == Handler::Noop { "no-op" } else { "1 ms" };
            cases.push((format!("consume batch {batch}, {name} handler"), Some((batch, handler))));
        }
    }
    cases.push((format!("publish, {IN_FLIGHT} acks in flight"), None));
    if let Ok(filter) = std::env::var("BENCH_FILTER") {
        cases.retain(|(name, _)| filter.split('|').any(|f| name.contains(f)));
    }
    let only = std::env::var("BENCH_VARIANT").ok();
    let mut rows: Vec<Row> = cases.iter().map(|_| Row::default()).collect();
    let mut id = 0;
    let mut published = 1_000_000;
    for round in 0..rounds {
        for (i, (_, case)) in cases.iter().enumerate() {
            // Alternate which variant goes first, so warm-up and drift do not favour one.
            let order =
                if round % 2 == 0 { [Variant::Raw, Variant::Generated] } else { [Variant::Generated, Variant::Raw] };
            for variant in order {
                let name = match variant {
                    Variant::Raw => "raw",
                    Variant::Generated => "generated",
                };
                if only.as_deref().is_some_and(|only| only != name) {
                    continue;
                }
                id += 1;
                let (rate, rss, cpu) = match case {
                    Some((batch, handler)) => consume(&js, n, *batch, *handler, variant, id).await,
                    None => {
                        published += n;
                        publish(&client, &js, published, n, variant).await
                    }
                };
                let row = &mut rows[i];
                match variant {
                    Variant::Raw => {
                        row.raw_cpu.push(cpu);
                        row.raw.push(rate);
                        row.raw_rss = row.raw_rss.max(rss);
                    }
                    Variant::Generated => {
                        row.generated_cpu.push(cpu);
                        row.generated.push(rate);
                        row.generated_rss = row.generated_rss.max(rss);
                    }
                }
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    println!(
        "| {:<36} | {:>10} | {:>10} | {:>17} | {:>7} | {:>7} | {:>9} | {:>7} |",
        "case", "raw msg/s", "generated", "ratio (min..max)", "raw CPU", "gen CPU", "CPU ratio", "RSS"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|{}|",
        "-".repeat(38),
        "-".repeat(12),
        "-".repeat(12),
        "-".repeat(19),
        "-".repeat(9),
        "-".repeat(9),
        "-".repeat(11),
        "-".repeat(9)
    );
    for ((name, _), row) in cases.iter().zip(&rows) {
        // Ratios of the two measurements of each round (taken back to back, so under the same load).
        let ratios: Vec<f64> = row.generated.iter().zip(&row.raw).map(|(g, r)| g / r).collect();
        let (lo, hi) = ratios.iter().fold((f64::NAN, f64::NAN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        // CPU per message, raw / generated: above 1 when the generated code needs less.
        let (raw_cpu, gen_cpu) = (median(&row.raw_cpu), median(&row.generated_cpu));
        println!(
            "| {:<36} | {:>10.0} | {:>10.0} | {:>5.2} ({:.2}..{:.2}) | {:>4.1} µs | {:>4.1} µs | {:>9.2} | {:>3.0} MiB |",
            name,
            median(&row.raw),
            median(&row.generated),
            median(&ratios),
            lo,
            hi,
            raw_cpu,
            gen_cpu,
            raw_cpu / gen_cpu,
            row.raw_rss.max(row.generated_rss),
        );
    }
}
