//! Both directions between the REAL FastStream app (tests/fixtures/faststream/app.py, FastStream
//! 0.7.8 + pydantic, run by tests/fixtures/faststream/peer.py in the venv of
//! scripts/install-faststream.sh) and the crate generated from its `faststream docs gen` output
//! (generated-examples/faststream-allocation), on one nats-server provisioned from the generated
//! manifests (FastStream declares nothing: `JStream(declare=False)`).
//!
//! - FastStream publishes varied values with the app's models (JetStream and core NATS) → the
//!   generated subscribers decode every message (none terminated, none dropped) to the value
//!   Python sent.
//! - The generated types are encoded by the generated runtime → the app's own subscribers (its
//!   pydantic models) accept every message, and read the value Rust sent.
//!
//! Values are compared as JSON after decode → encode. Two documented equivalences: an optional
//! member absent on one side is `null` on the other (pydantic writes `None` as `null`, the
//! generated types skip it), and date-times are compared as instants with their offsets (pydantic
//! writes `.120000`, Rust `.12`; a naive date-time is read as UTC, as the README documents).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use e2e_tests::{AckObserver, DEADLINE, NatsServer, Shutdown, connect, eventually, monitor_get, provision};
use faststream_allocation::runtime::{self, Format, Outcome, PublishRetry};
use faststream_allocation::subscribers::{
    events_ready_to_process, notifications_email, orders_create, payments_settled,
};
use faststream_allocation::types::{
    AllocationItem, AllocationReadyToProcess, EmailNotification, OrderCreated, PaymentSettled, Priority, wire,
};
use serde_json::Value;

/// Messages per model and direction.
const N: usize = 250;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faststream")
}

/// The venv python with the pinned FastStream, installed once per test binary (idempotent script).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-faststream.sh");
        let out =
            Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().expect("run install-faststream.sh");
        assert!(out.status.success(), "scripts/install-faststream.sh failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().lines().last().expect("the python path").trim())
    })
}

/// `python peer.py ARGS` against `server`; its log goes to `log`.
fn peer(server: &NatsServer, args: &[&str], log: &Path) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg("peer.py")
        .args(args)
        .current_dir(fixtures())
        .env("NATS_URL", server.url())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stderr(std::fs::File::create(log).unwrap());
    cmd
}

/// Waits for `child` to exit (killing it after the deadline) and checks it succeeded.
async fn wait_exit(child: &mut Child, what: &str, log: &Path) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {DEADLINE:?}: {what}\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{what}: {status}\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Only complete lines: the writer may be mid-line.
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}

/// What was compared, leaf by leaf.
#[derive(Default)]
struct Compared {
    floats: usize,
    integers: usize,
    strings: usize,
    datetimes: usize,
    absent_or_null: usize,
    mismatches: Vec<String>,
}

impl Compared {
    fn values(&self) -> usize {
        self.floats + self.integers + self.strings + self.datetimes + self.absent_or_null
    }

    fn figures(&self) -> String {
        format!(
            "{} values compared ({} floats, {} integers, {} strings, {} date-times, {} absent/null), {} wrong",
            self.values(),
            self.floats,
            self.integers,
            self.strings,
            self.datetimes,
            self.absent_or_null,
            self.mismatches.len()
        )
    }

    /// `python` (what pydantic wrote or read) against `rust` (what the generated types encode).
    fn same(&mut self, at: &str, python: &Value, rust: &Value) {
        match (python, rust) {
            (Value::Object(p), Value::Object(r)) => {
                let keys: std::collections::BTreeSet<&String> = p.keys().chain(r.keys()).collect();
                for key in keys {
                    let (pv, rv) = (p.get(key).unwrap_or(&Value::Null), r.get(key).unwrap_or(&Value::Null));
                    self.same(&format!("{at}/{key}"), pv, rv);
                }
            }
            (Value::Array(p), Value::Array(r)) if p.len() == r.len() => {
                for (i, (pv, rv)) in p.iter().zip(r).enumerate() {
                    self.same(&format!("{at}/{i}"), pv, rv);
                }
            }
            (Value::Number(p), Value::Number(r)) if p.is_f64() || r.is_f64() => {
                self.floats += 1;
                // Bit for bit: 1 ULP off is a wrong value.
                if p.as_f64().map(f64::to_bits) != r.as_f64().map(f64::to_bits) {
                    self.mismatches.push(format!("{at}: python {p} != rust {r}"));
                }
            }
            (Value::String(p), Value::String(r)) if p != r => {
                match (wire::DateTime::parse(p), wire::DateTime::parse(r)) {
                    (Ok(pt), Ok(rt)) if pt == rt && pt.offset() == rt.offset() => self.datetimes += 1,
                    _ => self.mismatches.push(format!("{at}: python {p:?} != rust {r:?}")),
                }
            }
            (Value::String(p), Value::String(_)) => {
                if wire::DateTime::parse(p).is_ok() {
                    self.datetimes += 1;
                } else {
                    self.strings += 1;
                }
            }
            (Value::Null, Value::Null) => self.absent_or_null += 1,
            (p, r) if p == r => self.integers += usize::from(p.is_number()) + usize::from(p.is_boolean()),
            (p, r) => self.mismatches.push(format!("{at}: python {p} != rust {r}")),
        }
    }
}

/// Records every decoded payload, re-encoded, by its id.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<BTreeMap<String, Value>>>);

impl events_ready_to_process::Handler for Received {
    async fn handle(&self, d: events_ready_to_process::Delivery) -> Outcome {
        let value = serde_json::to_value(&d.payload).expect("re-encode");
        self.0.lock().unwrap().insert(d.payload.allocation_id.to_string(), value);
        Outcome::Ack
    }
}

impl orders_create::Handler for Received {
    async fn handle(&self, d: orders_create::Delivery) {
        let value = serde_json::to_value(&d.payload).expect("re-encode");
        self.0.lock().unwrap().insert(d.payload.order_id.clone(), value);
    }
}

impl notifications_email::Handler for Received {
    async fn handle(&self, d: notifications_email::Delivery) {
        let value = serde_json::to_value(&d.payload).expect("re-encode");
        self.0.lock().unwrap().insert(d.payload.to.clone(), value);
    }
}

/// Number of subscriptions on `subject` in queue group `queue` the server has.
fn subscriptions(server: &NatsServer, subject: &str, queue: &str) -> usize {
    let body = monitor_get(server, "/connz?subs=detail");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let conns = v["connections"].as_array().cloned().unwrap_or_default();
    conns
        .iter()
        .flat_map(|c| c["subscriptions_list_detail"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["subject"] == subject && s["qgroup"] == queue)
        .count()
}

impl payments_settled::Handler for Received {
    async fn handle(&self, d: payments_settled::Delivery) -> Outcome {
        let value = serde_json::to_value(&d.payload).expect("re-encode");
        self.0.lock().unwrap().insert(d.payload.payment_id.to_string(), value);
        Outcome::Ack
    }
}

/// FastStream → generated subscribers: every message decodes, none is terminated, every value is
/// the one Python sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faststream_publishes_and_generated_subscribers_decode_every_value() {
    let server = NatsServer::start();
    let (_client, js) = connect(&server).await;
    provision::apply(&js, "faststream-allocation").await;
    let dir = tempfile::tempdir().unwrap();
    let (sent_path, log) = (dir.path().join("sent.jsonl"), dir.path().join("publish.log"));

    let acks_ready =
        AckObserver::start(&server, events_ready_to_process::STREAM, events_ready_to_process::DURABLE).await;
    let acks_paid = AckObserver::start(&server, payments_settled::STREAM, payments_settled::DURABLE).await;
    let received = Received::default();
    let shutdown = Shutdown::new();
    let mut workers = Vec::new();
    {
        let (_c, wjs) = connect(&server).await;
        let (handler, stop) = (received.clone(), shutdown.wait());
        workers.push(tokio::spawn(async move { events_ready_to_process::run(&wjs, &handler, stop).await }));
    }
    {
        let (_c, wjs) = connect(&server).await;
        let (handler, stop) = (received.clone(), shutdown.wait());
        workers.push(tokio::spawn(async move { payments_settled::run(&wjs, &handler, stop).await }));
    }
    // Core NATS keeps nothing: the subscribers must be on the server before FastStream publishes.
    {
        let (c, _) = connect(&server).await;
        let (handler, stop) = (received.clone(), shutdown.wait());
        workers.push(tokio::spawn(async move { orders_create::run(&c, &handler, stop).await }));
    }
    {
        let (c, _) = connect(&server).await;
        let (handler, stop) = (received.clone(), shutdown.wait());
        workers.push(tokio::spawn(async move { notifications_email::run(&c, &handler, stop).await }));
    }
    eventually("core subscribers on the server", DEADLINE, || async {
        let subscribed = subscriptions(&server, orders_create::SUBJECT, orders_create::QUEUE.unwrap())
            + subscriptions(&server, notifications_email::SUBJECT, notifications_email::QUEUE.unwrap());
        (subscribed == 2).then_some(())
    })
    .await;

    let mut publisher = peer(&server, &["publish", sent_path.to_str().unwrap(), &N.to_string()], &log)
        .stdout(Stdio::null())
        .spawn()
        .expect("start peer.py publish");
    wait_exit(&mut publisher, "FastStream publishing", &log).await;
    let sent = read_lines(&sent_path);
    assert_eq!(sent.len(), 4 * N, "one line per published message");

    // Every stored message gets one acknowledgement (+ACK when decoded and handled, +TERM when
    // not); every core message is handled (a core message that fails to decode is dropped).
    eventually("an acknowledgement for every JetStream message", DEADLINE, || async {
        let n = acks_ready.acks_per_sequence().len() + acks_paid.acks_per_sequence().len();
        (n >= 2 * N).then_some(())
    })
    .await;
    eventually("every message handled", DEADLINE, || async {
        (received.0.lock().unwrap().len() >= 4 * N).then_some(())
    })
    .await;
    shutdown.trigger();
    for worker in workers {
        worker.await.expect("join").expect("run");
    }

    let acks: Vec<_> = acks_ready.all().into_iter().chain(acks_paid.all()).collect();
    let not_acked: Vec<_> = acks.iter().filter(|a| a.body != "+ACK").collect();
    assert!(not_acked.is_empty(), "decode errors (terminated or retried messages): {not_acked:?}");
    let received = received.0.lock().unwrap().clone();
    assert_eq!(received.len(), 4 * N, "every message handled once");

    let mut compared = Compared::default();
    for line in &sent {
        let payload = &line["payload"];
        let id = id_of(payload);
        let got = received.get(&id).unwrap_or_else(|| panic!("{id} not received"));
        compared.same(line["subject"].as_str().unwrap(), payload, got);
    }
    println!("FastStream -> Rust: {} messages, {} decode errors, {}", sent.len(), not_acked.len(), compared.figures());
    assert!(compared.mismatches.is_empty(), "wrong values: {:#?}", compared.mismatches);
}

/// A small deterministic generator (no extra crate; the same values every run).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn float(&mut self) -> f64 {
        const EXTREMES: [f64; 8] =
            [123_456_789.123_456_79, 0.1 + 0.2, 1e-7, 5e-324, f64::MAX, -0.0, 1e16, -987_654.321_098_765_4];
        if self.next().is_multiple_of(3) {
            *self.pick(&EXTREMES)
        } else {
            // Full 53-bit mantissas over many magnitudes.
            let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            unit * 10f64.powi((self.next() % 26) as i32 - 10)
        }
    }

    fn text(&mut self) -> String {
        let texts = ["plain", "ünïcödé ✓", "quote \" and \\ backslash", "line\nbreak", "", "\u{2028}\t\u{1F600}"];
        self.pick(&texts).to_string()
    }

    /// Microseconds: what a pydantic `datetime` holds.
    fn datetime(&mut self) -> wire::DateTime {
        let offsets = [(0, 0), (5, 30), (-8, 0), (14, 0)];
        let &(h, m) = self.pick(&offsets);
        let offset = time::UtcOffset::from_hms(h, if h < 0 { -m } else { m }, 0).unwrap();
        let seconds = 1_767_225_600 + (self.next() % 1_000_000_000) as i64;
        let micros = if self.next().is_multiple_of(2) { 0 } else { (self.next() % 1_000_000) as u32 };
        let at = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap().replace_microsecond(micros).unwrap();
        wire::DateTime(at.to_offset(offset))
    }

    fn items(&mut self) -> Vec<AllocationItem> {
        let quantities = [1, 7, i64::from(i32::MAX) + 1, (1 << 53) + 1, i64::MAX];
        (0..self.next() % 4)
            .map(|k| AllocationItem { sku: format!("{}-{k}", self.text()), quantity: *self.pick(&quantities) })
            .collect()
    }

    fn maybe<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.next().is_multiple_of(2)).then(|| f(self))
    }
}

/// One value of each model per round, and where it goes (the app's subscribers' subjects).
fn rust_messages(n: usize) -> Vec<(String, String, Value)> {
    let mut g = Gen(20_261_128);
    let mut out = Vec::new();
    for k in 0..n {
        let ready = AllocationReadyToProcess {
            allocation_id: uuid::Uuid::from_u128(u128::from(g.next()) << 64 | u128::from(g.next())),
            order_id: format!("order-{k}-{}", g.text()),
            items: g.items(),
            // Every variant, and absent (pydantic's default applies).
            priority: g.pick(&[None, Some(Priority::Low), Some(Priority::Normal), Some(Priority::High)]).clone(),
            requested_at: g.datetime(),
            notes: g.maybe(Gen::text),
            metadata: g.maybe(|g| (0..g.next() % 3).map(|i| (format!("{}{i}", g.text()), g.text())).collect()),
        };
        let paid = PaymentSettled {
            payment_id: uuid::Uuid::from_u128(u128::from(g.next()) << 64 | u128::from(g.next())),
            amount: g.float(),
            currency: g.pick(&["EUR", "USD", "€"]).to_string(),
            settled_at: g.datetime(),
        };
        let order = OrderCreated {
            order_id: format!("order-{k}"),
            customer_id: *g.pick(&[0, -1, i64::MIN, i64::MAX, 42]),
            total: g.float(),
            items: g.items(),
        };
        let email =
            EmailNotification { to: format!("user{k}@example.com"), subject: g.text(), body: g.maybe(Gen::text) };
        let region = g.pick(&["eu", "us-east", "ap_south"]).to_string();
        out.push((
            format!("events.ready_to_process.{k}"),
            ready.allocation_id.to_string(),
            serde_json::to_value(&ready).unwrap(),
        ));
        out.push((
            format!("payments.{region}.settled"),
            paid.payment_id.to_string(),
            serde_json::to_value(&paid).unwrap(),
        ));
        out.push(("orders.create".to_string(), order.order_id.clone(), serde_json::to_value(&order).unwrap()));
        out.push(("notifications.email".to_string(), email.to.clone(), serde_json::to_value(&email).unwrap()));
    }
    out
}

/// What pydantic reads for a member the generated type left out: the schema `default`
/// (`priority: Priority = Priority.normal`; the generated field is `Option<Priority>`, `None` = absent).
fn with_schema_defaults(sent: &Value) -> Value {
    let mut value = sent.clone();
    if let Some(object) = value.as_object_mut().filter(|o| o.contains_key("allocation_id")) {
        object.entry("priority").or_insert_with(|| Value::from("normal"));
    }
    value
}

/// The id a message is matched by, on either side.
fn id_of(value: &Value) -> String {
    ["allocation_id", "payment_id", "order_id", "to"]
        .iter()
        .find_map(|key| value.get(key).and_then(Value::as_str))
        .expect("an id member")
        .to_string()
}

/// Generated types, encoded by the generated runtime → the app's own subscribers: pydantic accepts
/// every message and reads the value Rust sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_types_are_accepted_by_the_faststream_app() {
    let server = NatsServer::start();
    let (client, js) = connect(&server).await;
    provision::apply(&js, "faststream-allocation").await;
    let dir = tempfile::tempdir().unwrap();
    let (got_path, log) = (dir.path().join("consumed.jsonl"), dir.path().join("serve.log"));

    let mut app = peer(&server, &["serve", got_path.to_str().unwrap()], &log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start peer.py serve");
    let stdin: ChildStdin = app.stdin.take().unwrap();
    let stdout = app.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.trim() == "ready" {
                let _ = ready_tx.send(());
            }
        }
    });
    if ready_rx.recv_timeout(DEADLINE).is_err() {
        let _ = app.kill();
        panic!("the FastStream app did not start:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    let messages = rust_messages(N);
    for (subject, _, value) in &messages {
        if subject.starts_with("events.") || subject.starts_with("payments.") {
            runtime::publish_jetstream(
                &js,
                subject.clone(),
                value,
                Format::Json,
                None::<&()>,
                None,
                &PublishRetry::DEFAULT,
            )
            .await
            .expect("JetStream publish");
        } else {
            runtime::publish_core(&client, subject.clone(), value, Format::Json, None::<&()>).await.expect("publish");
        }
    }
    client.flush().await.expect("flush");

    let consumed = eventually("the app consumed every message", DEADLINE, || async {
        let lines = read_lines(&got_path);
        (lines.len() >= messages.len()).then_some(lines)
    })
    .await;
    drop(stdin); // peer.py stops the app when its stdin closes
    wait_exit(&mut app, "FastStream app stopping", &log).await;

    let rejected: Vec<_> = consumed.iter().filter(|c| c["ok"] != true).collect();
    let accepted: BTreeMap<String, &Value> =
        consumed.iter().filter(|c| c["ok"] == true).map(|c| (id_of(&c["value"]), &c["value"])).collect();
    let mut compared = Compared::default();
    for (subject, id, sent) in &messages {
        match accepted.get(id) {
            Some(read) => compared.same(subject, read, &with_schema_defaults(sent)),
            None => compared.mismatches.push(format!("{subject} {id}: not accepted")),
        }
    }
    println!(
        "Rust -> FastStream: {} messages, {} accepted, {} rejected by pydantic, {}",
        messages.len(),
        accepted.len(),
        rejected.len(),
        compared.figures()
    );
    assert!(rejected.is_empty(), "pydantic rejected: {rejected:#?}");
    assert_eq!(consumed.len(), messages.len(), "each message consumed once");
    assert!(compared.mismatches.is_empty(), "wrong values: {:#?}", compared.mismatches);
}
