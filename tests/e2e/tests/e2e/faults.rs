//! Server restart (4): kill -9 the nats-server during consumption and restart
//! it on the same store; the run loop recovers by itself and nothing is lost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allocation::runtime::Outcome;
use allocation::subscribers::process_ready;
use e2e_tests::{NatsServer, Shutdown, connect, eventually, provision, publish_ready};

use crate::spawn_worker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_and_restart_during_consumption_loses_nothing() {
    const N: u64 = 10_000;
    const KILL_AFTER: usize = 3_000;
    let logs = e2e_tests::LogCapture::global();
    let mut server = NatsServer::start();
    let (_c, js) = connect(&server).await;
    provision::allocation(&js).await;
    publish_ready(&js, 0, N).await;

    let processed: Arc<Mutex<BTreeMap<String, u32>>> = Arc::default();
    let invocations = Arc::new(AtomicU64::new(0));
    let redeliveries = Arc::new(AtomicU64::new(0));
    let shutdown = Shutdown::new();
    let (rec, calls, again) = (processed.clone(), invocations.clone(), redeliveries.clone());
    let worker = spawn_worker(&server, &shutdown, move |d: process_ready::Delivery| {
        let (rec, calls, again) = (rec.clone(), calls.clone(), again.clone());
        async move {
            calls.fetch_add(1, Ordering::Relaxed);
            if d.delivered > 1 {
                again.fetch_add(1, Ordering::Relaxed);
            }
            *rec.lock().unwrap().entry(d.payload.allocation_id.to_string()).or_default() += 1;
            Outcome::Ack
        }
    })
    .await;

    eventually("consumption under way", Duration::from_secs(60), || async {
        (processed.lock().unwrap().len() >= KILL_AFTER).then_some(())
    })
    .await;
    let at_kill = processed.lock().unwrap().len();
    tokio::task::block_in_place(|| {
        server.kill9().expect("server was running");
        server.restart();
    });
    assert!((at_kill as u64) < N, "killed during consumption ({at_kill} of {N} processed)");

    // Nothing else is done for the worker: it must recover on its own.
    // Messages in flight at the kill are redelivered after the ack wait / backoff.
    eventually("every message processed after the restart", Duration::from_secs(100), || async {
        (processed.lock().unwrap().len() as u64 == N).then_some(())
    })
    .await;
    let (_c2, js2) = connect(&server).await;
    eventually("consumer drained after the restart", Duration::from_secs(60), || async {
        let lag = process_ready::lag(&js2).await.ok()?;
        (lag.pending == 0 && lag.ack_pending == 0).then_some(())
    })
    .await;
    shutdown.trigger();
    worker.await.expect("join").expect("run returns Ok");

    let map = processed.lock().unwrap().clone();
    let distinct = map.len() as u64;
    let calls = invocations.load(Ordering::Relaxed);
    let duplicates = calls - distinct;
    let lost = N - distinct;
    let stream = js2.get_stream("allocation").await.expect("stream after restart").info().await.unwrap().clone();
    eprintln!(
        "FAULT TEST kill -9 + restart: sent {N}, stored after restart {}, processed (handler calls) {calls}, \
         distinct {distinct}, redelivered (delivered > 1) {}, duplicates {duplicates}, lost {lost}, killed after {at_kill}",
        stream.state.messages,
        redeliveries.load(Ordering::Relaxed),
    );
    // Informational (the capture is process-wide): how the loop re-established its pull.
    for line in logs.lines_with("pull").iter().filter(|l| l.contains("WARN")).take(20) {
        eprintln!("  {line}");
    }
    assert_eq!(stream.state.messages, N, "the stream kept every message");
    assert_eq!(lost, 0);
}
