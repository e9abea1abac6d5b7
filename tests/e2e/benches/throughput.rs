//! Consumption throughput of the generated run loop against a real
//! nats-server, compared in the same run with a naive loop that awaits the
//! server's confirmation of every ack before taking the next message (what
//! "acks serialise throughput" looks like). Prints messages/second and ratios.
//!
//! Run: `cargo bench -p e2e-tests --bench throughput` (needs scripts/install-nats-server.sh).

use std::time::{Duration, Instant};

use allocation::runtime::Outcome;
use allocation::subscribers::process_ready;
use e2e_tests::{NatsServer, Shutdown, connect, provision, publish_ready};
use futures::StreamExt as _;

const MESSAGES: u64 = 20_000;

struct Noop;

impl process_ready::Handler for Noop {
    async fn handle(&self, _delivery: process_ready::Delivery) -> Outcome {
        Outcome::Ack
    }
}

/// Handler with 1 ms of simulated I/O (a database call, say).
struct Io;

impl process_ready::Handler for Io {
    async fn handle(&self, _delivery: process_ready::Delivery) -> Outcome {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Outcome::Ack
    }
}

async fn drained(js: &async_nats::jetstream::Context) {
    loop {
        if process_ready::lag(js).await.is_ok_and(|lag| lag.pending == 0 && lag.ack_pending == 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn generated<H: process_ready::Handler + Send + 'static>(handler: H) -> f64 {
    let server = NatsServer::start();
    let (_c, js) = connect(&server).await;
    provision::allocation(&js).await;
    publish_ready(&js, 0, MESSAGES).await;
    let shutdown = Shutdown::new();
    let start = Instant::now();
    let worker = {
        let (js, stop) = (js.clone(), shutdown.wait());
        tokio::spawn(async move { process_ready::run(&js, &handler, stop).await })
    };
    drained(&js).await;
    let elapsed = start.elapsed();
    shutdown.trigger();
    worker.await.unwrap().unwrap();
    MESSAGES as f64 / elapsed.as_secs_f64()
}

/// Same consumer and batch size, one message at a time, each ack confirmed by the server.
async fn naive(io: bool) -> f64 {
    let server = NatsServer::start();
    let (_c, js) = connect(&server).await;
    provision::allocation(&js).await;
    publish_ready(&js, 0, MESSAGES).await;
    let start = Instant::now();
    let consumer = process_ready::bind(&js).await.unwrap();
    let mut messages =
        consumer.stream().max_messages_per_batch(process_ready::SETTINGS.batch).messages().await.unwrap();
    let mut done = 0;
    while done < MESSAGES {
        let message = messages.next().await.unwrap().unwrap();
        let _payload: process_ready::Payload = serde_json::from_slice(&message.payload).unwrap();
        if io {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        message.double_ack().await.unwrap();
        done += 1;
    }
    MESSAGES as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("{MESSAGES} messages, batch {} (specs/allocation.yaml pull settings)", process_ready::SETTINGS.batch);
    let naive_noop = naive(false).await;
    let generated_noop = generated(Noop).await;
    let naive_io = naive(true).await;
    let generated_io = generated(Io).await;
    println!("{:<28} {:>12} {:>12} {:>8}", "handler", "naive msg/s", "generated", "ratio");
    println!("{:<28} {naive_noop:>12.0} {generated_noop:>12.0} {:>8.2}", "no-op", generated_noop / naive_noop);
    println!("{:<28} {naive_io:>12.0} {generated_io:>12.0} {:>8.2}", "1 ms of I/O", generated_io / naive_io);
}
