//! A crate that generates its NATS client in `build.rs` and `include!`s it.
#![deny(warnings)]

/// The generated client: `types`, `subjects`, `publishers`, `subscribers`, `runtime`.
pub mod shipping {
    include!(concat!(env!("OUT_DIR"), "/shipping.rs"));
}

/// The same client, with `runtime` re-exporting the `asyncapi-nats-runtime` crate instead of its vendored source.
pub mod shipping_runtime_crate {
    include!(concat!(env!("OUT_DIR"), "/shipping_runtime_crate.rs"));
}

/// Types (and subjects) only.
pub mod types_only {
    include!(concat!(env!("OUT_DIR"), "/types_only.rs"));
}

/// Types, subjects and publishers.
pub mod types_publishers {
    include!(concat!(env!("OUT_DIR"), "/types_publishers.rs"));
}

/// Subjects only.
pub mod subjects_only {
    include!(concat!(env!("OUT_DIR"), "/subjects_only.rs"));
}

/// Types, subjects and subscribers.
pub mod types_subscribers {
    include!(concat!(env!("OUT_DIR"), "/types_subscribers.rs"));
}

/// Extra derive and attribute, and `Category` mapped to the hand-written type below.
pub mod customised {
    include!(concat!(env!("OUT_DIR"), "/customised.rs"));
}

/// A hand-written type that replaces the generated `Category` in [`customised`].
pub mod category {
    /// A node of the category tree, with an extra method.
    #[derive(Debug, Clone, PartialEq, PartialOrd, serde::Serialize, serde::Deserialize)]
    pub struct Category {
        pub id: String,
        pub name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub hazardous: Option<bool>,
        pub children: Vec<Category>,
    }

    impl Category {
        /// Number of nodes in this subtree.
        pub fn size(&self) -> usize {
            1 + self.children.iter().map(Category::size).sum::<usize>()
        }
    }
}

use shipping::runtime::{Outcome, PublishError};
use shipping::subscribers::handle_shipment_request as requests;
use shipping::types::{ShipmentDispatched, ShipmentRequest};

/// What to do with a shipment request received on `subject` (pure, so it is easy to test).
pub fn decide(subject: &str, request: &ShipmentRequest) -> Outcome {
    let Some(params) = requests::parse_subject(subject) else {
        return Outcome::Reject { reason: format!("unexpected subject {subject}") };
    };
    if request.parcels.is_empty() {
        return Outcome::Reject {
            reason: format!("shipment {} from {} has no parcels", request.shipment_id, params.warehouse_id),
        };
    }
    if request.parcels.iter().any(|p| p.weight_grams > 31_500) {
        return Outcome::Retry { delay: Some(std::time::Duration::from_secs(60)) };
    }
    Outcome::Ack
}

/// Books a carrier for each shipment request: the handler the generated run loop drives.
pub struct CarrierBooking;

impl requests::Handler for CarrierBooking {
    async fn handle(&self, delivery: requests::Delivery) -> Outcome {
        decide(&delivery.subject, &delivery.payload)
    }
}

/// Runs the booking workers on the provisioned `shipping` stream until `shutdown`.
pub async fn run_workers(
    jetstream: &async_nats::jetstream::Context,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), shipping::runtime::RunError> {
    requests::run(jetstream, &CarrierBooking, shutdown).await
}

/// Announces a dispatched shipment (JetStream, de-duplicated by shipment id).
pub async fn announce(
    publishers: &shipping::publishers::Publishers,
    warehouse: &str,
    dispatched: &ShipmentDispatched,
) -> Result<(), PublishError> {
    publishers.publish_shipment_dispatched(warehouse, dispatched).await.map(|_ack| ())
}
