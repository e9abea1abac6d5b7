//! The `x-jetstream` extension vocabulary (documented in README.md).
//! Field names follow NACK's camelCase so the manifests map one to one.
//! Unknown keys are errors: a typo must not silently fall back to a default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::load::{NodeId, Source};

/// Root `x-jetstream`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RootExt {
    #[serde(default)]
    pub streams: BTreeMap<String, StreamSpec>,
}

/// Channel `x-jetstream`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChannelExt {
    pub stream: Option<String>,
}

/// Send-operation `x-jetstream`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendExt {
    /// Runtime expression for the `Nats-Msg-Id` de-duplication header
    /// (`$message.payload#/orderId` or `$message.header#/idempotencyKey`).
    pub msg_id: Option<String>,
}

/// A stream, in NACK's Stream spec vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_msgs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_msg_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_consumers: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_msgs_per_subject: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discard: Option<Discard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_purge: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_rollup: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    File,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    Limits,
    Interest,
    Workqueue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Discard {
    Old,
    New,
}

/// Receive-operation `x-jetstream`: a durable pull consumer, in NACK's Consumer vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsumerSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_deliver: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ack_pending: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliver_policy: Option<DeliverPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_policy: Option<ReplayPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_subjects: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_waiting: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactive_threshold: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers_only: Option<bool>,
    #[serde(default, skip_serializing)]
    pub pull: PullSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliverPolicy {
    All,
    Last,
    New,
    ByStartSequence,
    ByStartTime,
    LastPerSubject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayPolicy {
    Instant,
    Original,
}

/// Client-side fetch tuning (FastStream's `PullSub(batch_size, timeout)`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PullSpec {
    pub batch: Option<u32>,
    pub expires: Option<String>,
    pub max_bytes: Option<u64>,
}

/// Reads `x-jetstream` under `owner`, if present; a wrong key, type or value is reported at the
/// field itself (`#/…/x-jetstream/pull/batch`), naming it.
pub fn read<T: for<'de> Deserialize<'de> + Default>(source: &Source, owner: &NodeId) -> Result<Option<T>> {
    let id = owner.child("x-jetstream");
    let Some(value) = source.get(&id) else { return Ok(None) };
    serde_path_to_error::deserialize::<_, T>(value).map(Some).map_err(|e| {
        // The path to the field that failed; an unknown key is reported at the key itself.
        let mut at = id.clone();
        let mut field = String::new();
        for segment in e.path().iter() {
            let token = match segment {
                serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                    key.clone()
                }
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Unknown => continue,
            };
            at = at.child(&token);
            field = token;
        }
        let inner = e.into_inner().to_string();
        if let Some(unknown) = unknown_field(&inner).filter(|u| *u != field) {
            at = at.child(unknown);
            field = unknown.to_string();
        }
        let what = if field.is_empty() { String::new() } else { format!(" `{field}`") };
        source
            .error(&at, format!("invalid x-jetstream{what}: {inner}"))
            .hint("see the x-jetstream vocabulary in README.md; NACK field names are camelCase")
    })
}

fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}
