//! Shared support of the end-to-end tests (tests/e2e/tests): the real
//! nats-server harness, provisioning as ops would do it, observers of what the
//! generated code sends to the server, log capture, and polling helpers.
//!
//! No helper synchronises by sleeping: conditions are polled against the
//! server (or the test's own records) with a deadline.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::Context;
use futures::StreamExt as _;

pub mod cluster;
#[path = "../../support/nats_server.rs"]
pub mod nats_server;
pub mod provision;

pub use nats_server::NatsServer;

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);

/// Connects a client (unlimited reconnects, as a service would run) and a JetStream context.
pub async fn connect(server: &NatsServer) -> (async_nats::Client, Context) {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| Duration::from_millis(50 * (attempt as u64).min(10)))
        .connect(server.url())
        .await
        .expect("connect to nats-server");
    let js = async_nats::jetstream::new(client.clone());
    (client, js)
}

/// Polls `check` until it returns `Some`, failing with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for: {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// A shutdown signal for the generated run loops.
#[derive(Clone)]
pub struct Shutdown(Arc<tokio::sync::Notify>, Arc<std::sync::atomic::AtomicBool>);

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Shutdown(Arc::new(tokio::sync::Notify::new()), Arc::new(std::sync::atomic::AtomicBool::new(false)))
    }

    pub fn trigger(&self) {
        self.1.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.notify_waiters();
    }

    /// Completes once `trigger` was called (before or after).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let this = self.clone();
        async move {
            loop {
                let notified = this.0.notified();
                if this.1.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                notified.await;
            }
        }
    }
}

/// A JetStream acknowledgement seen on the wire (`$JS.ACK.…` subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckSeen {
    pub stream_sequence: u64,
    pub delivered: u64,
    /// `+ACK`, `-NAK {"delay":…}`, `+WPI`, `+TERM reason`, …
    pub body: String,
}

/// Records every acknowledgement sent for a consumer, by subscribing to its
/// ack subjects with a separate client (core NATS fan-out: the server's
/// JetStream handling is unaffected).
#[derive(Clone)]
pub struct AckObserver {
    seen: Arc<Mutex<Vec<AckSeen>>>,
}

impl AckObserver {
    pub async fn start(server: &NatsServer, stream: &str, durable: &str) -> AckObserver {
        let client = async_nats::connect(server.url()).await.expect("observer connect");
        let mut sub = client.subscribe("$JS.ACK.>").await.expect("subscribe to acks");
        client.flush().await.expect("flush observer subscription");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stream, durable) = (stream.to_string(), durable.to_string());
        let sink = seen.clone();
        tokio::spawn(async move {
            let _client = client;
            while let Some(msg) = sub.next().await {
                if let Some(ack) = parse_ack(&msg.subject, &stream, &durable, &msg.payload) {
                    sink.lock().unwrap().push(ack);
                }
            }
        });
        AckObserver { seen }
    }

    pub fn all(&self) -> Vec<AckSeen> {
        self.seen.lock().unwrap().clone()
    }

    /// Acks (of any kind) for one stream sequence, in order.
    pub fn for_sequence(&self, seq: u64) -> Vec<AckSeen> {
        self.all().into_iter().filter(|a| a.stream_sequence == seq).collect()
    }

    /// Number of final `+ACK`s per stream sequence.
    pub fn acks_per_sequence(&self) -> BTreeMap<u64, usize> {
        let mut map = BTreeMap::new();
        for a in self.all().into_iter().filter(|a| a.body == "+ACK") {
            *map.entry(a.stream_sequence).or_default() += 1;
        }
        map
    }
}

/// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (v1) or
/// `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.…` (v2).
fn parse_ack(subject: &str, stream: &str, durable: &str, body: &[u8]) -> Option<AckSeen> {
    let t: Vec<&str> = subject.split('.').collect();
    let base = match t.len() {
        9 => 2,
        n if n >= 11 => 4,
        _ => return None,
    };
    if t[base] != stream || t[base + 1] != durable {
        return None;
    }
    Some(AckSeen {
        delivered: t[base + 2].parse().ok()?,
        stream_sequence: t[base + 3].parse().ok()?,
        body: String::from_utf8_lossy(body).into_owned(),
    })
}

/// Records the pull requests a consumer receives (`$JS.API.CONSUMER.MSG.NEXT.…`).
#[derive(Clone)]
pub struct PullObserver {
    seen: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl PullObserver {
    pub async fn start(server: &NatsServer, stream: &str, durable: &str) -> PullObserver {
        let client = async_nats::connect(server.url()).await.expect("observer connect");
        let mut sub =
            client.subscribe(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}")).await.expect("subscribe");
        client.flush().await.expect("flush");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        tokio::spawn(async move {
            let _client = client;
            while let Some(msg) = sub.next().await {
                if let Ok(v) = serde_json::from_slice(&msg.payload) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        PullObserver { seen }
    }

    pub fn all(&self) -> Vec<serde_json::Value> {
        self.seen.lock().unwrap().clone()
    }
}

/// Captures the generated crates' `tracing` output (fmt, no ANSI, DEBUG and
/// above) in memory, through one process-wide subscriber: per-test scoped
/// subscribers miss events when tests run in parallel (callsite interest is
/// cached globally), so tests select their lines by a unique subject instead.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// The process-wide capture (installed as the global subscriber on first use).
    pub fn global() -> LogCapture {
        static GLOBAL: std::sync::OnceLock<LogCapture> = std::sync::OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                use tracing_subscriber::layer::SubscriberExt as _;
                let capture = LogCapture::default();
                let targets = tracing_subscriber::filter::Targets::new()
                    .with_target("allocation", tracing::Level::DEBUG)
                    .with_target("shop", tracing::Level::DEBUG);
                let subscriber = tracing_subscriber::registry()
                    .with(tracing_subscriber::fmt::layer().with_writer(capture.clone()).with_ansi(false))
                    .with(targets);
                tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
                capture
            })
            .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Captured lines containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text().lines().filter(|l| l.contains(needle)).map(str::to_owned).collect()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// GET on the server's monitoring port; returns the body.
pub fn monitor_get(server: &NatsServer, path: &str) -> String {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, server.monitor_port())).expect("monitor connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("monitor write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok();
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

/// A deterministic UUID for message number `n`.
pub fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// An `AllocationCompleted` (specs/allocation.yaml) for message `n`.
pub fn completed(n: u64) -> allocation::types::AllocationCompleted {
    serde_json::from_value(serde_json::json!({
        "allocationId": uuid(n),
        "warehouse": "ams1",
        "completedAt": "2026-01-02T03:04:05Z",
    }))
    .expect("valid AllocationCompleted")
}

/// An `AllocationReadyToProcess` payload (specs/allocation.yaml) for message `n`.
pub fn ready_payload(n: u64) -> serde_json::Value {
    serde_json::json!({
        "allocationId": uuid(n),
        "orderId": format!("order-{n}"),
        "items": [{"sku": "sku-1", "quantity": 1}],
        "priority": "normal",
        "requestedAt": "2026-01-01T00:00:00Z",
    })
}

/// Publishes `count` ready-to-process events (ids `first..first+count`), pipelined,
/// each awaited for the stream's ack. Returns the stream sequences, sorted.
pub async fn publish_ready(js: &Context, first: u64, count: u64) -> Vec<u64> {
    let mut acks = futures::stream::iter(first..first + count)
        .map(|n| {
            let js = js.clone();
            async move {
                let subject = allocation::subjects::events_ready_to_process(&uuid(n)).expect("valid id");
                let body = serde_json::to_vec(&ready_payload(n)).expect("json");
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let ack = js.publish(subject.to_string(), body.clone().into()).await.expect("publish");
                    match ack.await {
                        Ok(ack) => return ack.sequence,
                        // Right after ops create a stream on a cluster, its subjects' interest may
                        // not have reached this node yet: "no responders", no server took the
                        // message. Retried, as the generated publishers do.
                        Err(e)
                            if e.kind() == async_nats::jetstream::context::PublishErrorKind::StreamNotFound
                                && Instant::now() < deadline =>
                        {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("stream ack: {e}"),
                    }
                }
            }
        })
        .buffer_unordered(256)
        .collect::<Vec<u64>>()
        .await;
    assert_eq!(acks.len() as u64, count);
    acks.sort_unstable();
    acks
}
