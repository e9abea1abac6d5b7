//! End-to-end tests of the generated crates (generated-examples/allocation and
//! shop) against a real nats-server started per test (tests/support).
//! Streams and consumers are provisioned as ops would (e2e_tests::provision),
//! never by the generated subscribers.

mod bind;
mod consume;
mod content_types;
mod core_nats;
mod faststream_app;
mod faststream_workers;
mod faults;
mod publish;
mod subjects;

use std::future::Future;

use allocation::runtime::Outcome;
use allocation::subscribers::process_ready;

/// A `process_ready::Handler` from a closure.
pub struct FnHandler<F>(pub F);

impl<F, Fut> process_ready::Handler for FnHandler<F>
where
    F: Fn(process_ready::Delivery) -> Fut + Sync,
    Fut: Future<Output = Outcome> + Send,
{
    fn handle(&self, delivery: process_ready::Delivery) -> impl Future<Output = Outcome> + Send {
        (self.0)(delivery)
    }
}

/// Starts `process_ready::run` on its own task with a fresh connection.
pub async fn spawn_worker<F, Fut>(
    server: &e2e_tests::NatsServer,
    shutdown: &e2e_tests::Shutdown,
    handler: F,
) -> tokio::task::JoinHandle<Result<(), allocation::runtime::RunError>>
where
    F: Fn(process_ready::Delivery) -> Fut + Sync + Send + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let (_client, js) = e2e_tests::connect(server).await;
    let stop = shutdown.wait();
    tokio::spawn(async move { process_ready::run(&js, &FnHandler(handler), stop).await })
}
