//! `apply` and `diff`: the manifests against a live server, with the field
//! mapping the NACK controller uses (manifest camelCase → JetStream API JSON).
//! For local development, CI and drift detection; production uses NACK.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::duration;
use crate::error::{Error, Result};
use crate::load::Source;
use crate::manifests::{ConsumerResource, StreamResource};

/// How a manifest field maps to the JetStream API.
#[derive(Clone, Copy)]
enum Conv {
    Same,
    /// Go duration string ↔ nanoseconds.
    Duration,
    Durations,
    /// `byStartSequence` ↔ `by_start_sequence`.
    Enum,
    /// Limits where the server reports "unset" as -1 and accepts 0 for it.
    Limit,
    /// Booleans the API omits when false.
    Flag,
    /// Values the API omits when empty/zero (descriptions, filters, …).
    Optional,
}

/// (manifest field, JetStream API field, conversion). Fields not listed
/// (`streamName`, `preventDelete`, `account`, `servers`, `creds`) are not server config.
const STREAM_FIELDS: &[(&str, &str, Conv)] = &[
    ("name", "name", Conv::Same),
    ("description", "description", Conv::Optional),
    ("subjects", "subjects", Conv::Same),
    ("storage", "storage", Conv::Enum),
    ("retention", "retention", Conv::Enum),
    ("replicas", "num_replicas", Conv::Same),
    ("discard", "discard", Conv::Enum),
    ("maxAge", "max_age", Conv::Duration),
    ("maxMsgs", "max_msgs", Conv::Limit),
    ("maxBytes", "max_bytes", Conv::Limit),
    ("maxMsgSize", "max_msg_size", Conv::Limit),
    ("maxConsumers", "max_consumers", Conv::Limit),
    ("maxMsgsPerSubject", "max_msgs_per_subject", Conv::Limit),
    ("duplicateWindow", "duplicate_window", Conv::Duration),
    ("denyDelete", "deny_delete", Conv::Flag),
    ("denyPurge", "deny_purge", Conv::Flag),
    ("allowRollup", "allow_rollup_hdrs", Conv::Flag),
];

const CONSUMER_FIELDS: &[(&str, &str, Conv)] = &[
    ("durableName", "durable_name", Conv::Same),
    ("description", "description", Conv::Optional),
    ("deliverPolicy", "deliver_policy", Conv::Enum),
    ("optStartSeq", "opt_start_seq", Conv::Optional),
    ("optStartTime", "opt_start_time", Conv::Optional),
    ("ackPolicy", "ack_policy", Conv::Enum),
    ("ackWait", "ack_wait", Conv::Duration),
    ("maxDeliver", "max_deliver", Conv::Same),
    ("backoff", "backoff", Conv::Durations),
    ("filterSubject", "filter_subject", Conv::Optional),
    ("filterSubjects", "filter_subjects", Conv::Optional),
    ("replayPolicy", "replay_policy", Conv::Enum),
    ("maxAckPending", "max_ack_pending", Conv::Same),
    ("maxWaiting", "max_waiting", Conv::Same),
    ("inactiveThreshold", "inactive_threshold", Conv::Duration),
    ("headersOnly", "headers_only", Conv::Flag),
];

/// The Stream and Consumer manifests of a folder (other files are ignored).
#[derive(Debug, Clone, Default)]
pub struct ManifestSet {
    pub streams: Vec<StreamResource>,
    pub consumers: Vec<ConsumerResource>,
}

impl ManifestSet {
    /// Overrides every stream's `replicas` (a single local server cannot hold R3 streams).
    pub fn with_replicas(mut self, replicas: u32) -> Self {
        for s in &mut self.streams {
            s.spec.replicas = replicas;
        }
        self
    }
}

/// Reads every `*.yaml`/`*.yml`/`*.json` Stream or Consumer resource in `dir`, sorted by file name.
pub fn read_dir(dir: &Path) -> Result<ManifestSet> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::new(format!("cannot read {}: {e}", dir.display()))
            .hint("pass the folder with the generated manifests (e.g. OUT/deploy)")
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
        .collect();
    paths.sort();
    let mut set = ManifestSet::default();
    for path in paths {
        let source = Source::load(&path)?;
        let root = source.root_id();
        let value = source.get(&root).cloned().unwrap_or(Value::Null);
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        let api = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if !api.starts_with("jetstream.nats.io/") {
            continue;
        }
        let bad = |e: serde_json::Error| {
            source
                .error(&root, format!("invalid {kind} manifest: {e}"))
                .hint("regenerate it with `asyncapi-nats manifests`")
        };
        match kind.as_str() {
            "Stream" => set.streams.push(serde_json::from_value(value).map_err(bad)?),
            "Consumer" => set.consumers.push(serde_json::from_value(value).map_err(bad)?),
            _ => {}
        }
    }
    if set.streams.is_empty() && set.consumers.is_empty() {
        return Err(Error::new(format!("no Stream or Consumer manifests in {}", dir.display()))
            .hint("generate them with `asyncapi-nats manifests SPEC -o DIR`"));
    }
    Ok(set)
}

/// Manifest spec → JetStream API config JSON.
fn to_api(spec: &Value, fields: &[(&str, &str, Conv)]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (from, to, conv) in fields {
        let Some(v) = spec.get(*from) else { continue };
        let converted = match conv {
            Conv::Same | Conv::Limit | Conv::Flag | Conv::Optional => v.clone(),
            Conv::Enum => Value::from(snake(v.as_str().unwrap_or_default())),
            Conv::Duration => Value::from(nanos(v)?),
            Conv::Durations => Value::Array(
                v.as_array().into_iter().flatten().map(nanos).map(|r| r.map(Value::from)).collect::<Result<_>>()?,
            ),
        };
        out.insert(to.to_string(), converted);
    }
    Ok(out)
}

fn nanos(v: &Value) -> Result<u64> {
    let text = v.as_str().unwrap_or_default();
    duration::parse(text).map(|d| d.as_nanos() as u64).map_err(Error::new)
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// One field that differs between a manifest and the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `Stream ORDERS` or `Consumer ORDERS/processor`.
    pub resource: String,
    /// Manifest field name (or `<missing>` when the resource does not exist).
    pub field: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: manifest {} ≠ server {}", self.resource, self.field, self.expected, self.actual)
    }
}

/// Compares the fields a manifest sets with the live config (JetStream API JSON).
fn compare(resource: &str, spec: &Value, live: &Value, fields: &[(&str, &str, Conv)], out: &mut Vec<Difference>) {
    for (from, to, conv) in fields {
        let Some(expected) = spec.get(*from) else { continue };
        let actual = live.get(*to).cloned().unwrap_or(Value::Null);
        let (e, a) = match conv {
            Conv::Duration => (nanos(expected).ok().map(Value::from).unwrap_or(Value::Null), actual.clone()),
            Conv::Durations => (
                Value::Array(
                    expected.as_array().into_iter().flatten().filter_map(|v| nanos(v).ok()).map(Value::from).collect(),
                ),
                if actual.is_null() { Value::Array(Vec::new()) } else { actual.clone() },
            ),
            Conv::Enum => (Value::from(snake(expected.as_str().unwrap_or_default())), actual.clone()),
            Conv::Limit => {
                let norm = |v: &Value| if v.as_i64() == Some(0) || v.is_null() { Value::from(-1) } else { v.clone() };
                (norm(expected), norm(&actual))
            }
            Conv::Flag => {
                (Value::Bool(expected.as_bool().unwrap_or(false)), Value::Bool(actual.as_bool().unwrap_or(false)))
            }
            Conv::Optional => {
                let empty = |v: &Value| v.is_null() || v == "" || v.as_array().is_some_and(Vec::is_empty);
                let norm = |v: &Value| if empty(v) { Value::Null } else { v.clone() };
                (norm(expected), norm(&actual))
            }
            Conv::Same => (expected.clone(), actual.clone()),
        };
        if e != a {
            let show = |v: &Value| match conv {
                Conv::Duration => v
                    .as_u64()
                    .map(|n| duration::format(std::time::Duration::from_nanos(n)))
                    .unwrap_or_else(|| v.to_string()),
                Conv::Durations => v
                    .as_array()
                    .map(|a| {
                        format!(
                            "{:?}",
                            a.iter()
                                .filter_map(Value::as_u64)
                                .map(|n| duration::format(std::time::Duration::from_nanos(n)))
                                .collect::<Vec<_>>()
                        )
                    })
                    .unwrap_or_else(|| v.to_string()),
                _ => v.to_string(),
            };
            out.push(Difference {
                resource: resource.into(),
                field: from.to_string(),
                expected: show(&e),
                actual: show(&a),
            });
        }
    }
}

/// What `apply` did to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Created(String),
    Updated(String),
    Unchanged(String),
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Created(r) => write!(f, "created {r}"),
            Action::Updated(r) => write!(f, "updated {r}"),
            Action::Unchanged(r) => write!(f, "unchanged {r}"),
        }
    }
}

fn nats_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(format!("{what}: {e}"))
}

/// The JetStream stream config a Stream manifest stands for (the NACK controller's mapping).
pub fn stream_config(resource: &StreamResource) -> Result<async_nats::jetstream::stream::Config> {
    let spec = serde_json::to_value(&resource.spec).expect("serializes");
    serde_json::from_value(Value::Object(to_api(&spec, STREAM_FIELDS)?))
        .map_err(|e| nats_error(&format!("Stream {}", resource.spec.name), e))
}

/// The durable pull consumer config a Consumer manifest stands for.
pub fn consumer_config(resource: &ConsumerResource) -> Result<async_nats::jetstream::consumer::pull::Config> {
    let spec = serde_json::to_value(&resource.spec).expect("serializes");
    let label = format!("Consumer {}/{}", resource.spec.stream_name, resource.spec.durable_name);
    serde_json::from_value(Value::Object(to_api(&spec, CONSUMER_FIELDS)?)).map_err(|e| nats_error(&label, e))
}

type Js = async_nats::jetstream::Context;

/// The live config of stream `name` as JetStream API JSON; `None` when it does not exist.
async fn live_stream(js: &Js, name: &str) -> Result<Option<Value>> {
    use async_nats::jetstream::context::GetStreamErrorKind;
    match js.get_stream(name).await {
        Ok(mut stream) => {
            let info = stream.info().await.map_err(|e| nats_error(&format!("Stream {name}"), e))?;
            Ok(Some(serde_json::to_value(&info.config).expect("serializes")))
        }
        Err(e) if matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND) => {
            Ok(None)
        }
        Err(e) => Err(nats_error(&format!("Stream {name}"), e)),
    }
}

/// The live config of durable `durable` on `stream`; `None` when it (or its stream) does not exist.
async fn live_consumer(js: &Js, stream: &str, durable: &str) -> Result<Option<Value>> {
    use async_nats::jetstream::context::ConsumerInfoErrorKind;
    if live_stream(js, stream).await?.is_none() {
        return Ok(None);
    }
    let label = format!("Consumer {stream}/{durable}");
    let handle = js.get_stream(stream).await.map_err(|e| nats_error(&label, e))?;
    match handle.consumer_info(durable).await {
        Ok(info) => Ok(Some(serde_json::to_value(&info.config).expect("serializes"))),
        Err(e) if matches!(e.kind(), ConsumerInfoErrorKind::NotFound | ConsumerInfoErrorKind::StreamNotFound) => {
            Ok(None)
        }
        Err(e) => Err(nats_error(&label, e)),
    }
}

fn stream_label(s: &StreamResource) -> String {
    format!("Stream {}", s.spec.name)
}

fn consumer_label(c: &ConsumerResource) -> String {
    format!("Consumer {}/{}", c.spec.stream_name, c.spec.durable_name)
}

/// Differences of one consumer; a push consumer (deliver subject) is drift too.
fn consumer_differences(c: &ConsumerResource, live: &Value, out: &mut Vec<Difference>) {
    let label = consumer_label(c);
    if let Some(deliver) = live.get("deliver_subject").filter(|v| !v.is_null()) {
        out.push(Difference {
            resource: label.clone(),
            field: "deliverSubject".into(),
            expected: "none (pull)".into(),
            actual: deliver.to_string(),
        });
    }
    compare(&label, &serde_json::to_value(&c.spec).expect("serializes"), live, CONSUMER_FIELDS, out);
}

fn missing(resource: String) -> Difference {
    Difference { resource, field: "<missing>".into(), expected: "exists".into(), actual: "absent".into() }
}

/// How long `apply` and `diff` keep retrying while a cluster cannot answer yet (a leader election,
/// peers still joining, JetStream starting up). The NACK controller reconciles until it succeeds; a
/// one-shot `apply` must not fail on what passes by itself.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Failures that pass by themselves: request timeouts, no responders (JetStream not ready yet), and
/// the cluster's "temporarily unavailable", "no suitable peers", "not leader" and "offline" codes.
fn transient(e: &Error) -> bool {
    const PASSING: &[&str] = &[
        "timed out",
        "no responders",
        "code 503,",
        "error code 10005)",
        "error code 10006)",
        "error code 10007)",
        "error code 10008)",
        "error code 10009)",
        "error code 10118)",
        "error code 10119)",
    ];
    let message = e.message.to_ascii_lowercase();
    PASSING.iter().any(|p| message.contains(p))
}

/// Runs `step` until it succeeds, fails for good, or [`PATIENCE`] runs out. Each attempt reads the
/// live state again, so a create that timed out but reached the server is seen as done.
async fn patiently<T>(mut step: impl AsyncFnMut() -> Result<T>) -> Result<T> {
    let deadline = Instant::now() + PATIENCE;
    let mut pause = Duration::from_millis(100);
    loop {
        match step().await {
            Err(e) if transient(&e) && Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) if transient(&e) => {
                return Err(e.hint(format!(
                    "the server kept failing for {}s; check that the JetStream cluster has a quorum \
                     (a majority of its nodes up)",
                    PATIENCE.as_secs()
                )));
            }
            done => return done,
        }
    }
}

async fn apply_stream(js: &Js, s: &StreamResource) -> Result<Action> {
    let (label, config) = (stream_label(s), stream_config(s)?);
    Ok(match live_stream(js, &s.spec.name).await? {
        None => {
            js.create_stream(config).await.map_err(|e| nats_error(&label, e))?;
            Action::Created(label)
        }
        Some(live) => {
            let mut diff = Vec::new();
            compare(&label, &serde_json::to_value(&s.spec).expect("serializes"), &live, STREAM_FIELDS, &mut diff);
            if diff.is_empty() {
                Action::Unchanged(label)
            } else {
                js.update_stream(config).await.map_err(|e| nats_error(&label, e))?;
                Action::Updated(label)
            }
        }
    })
}

async fn apply_consumer(js: &Js, c: &ConsumerResource) -> Result<Action> {
    let (label, config) = (consumer_label(c), consumer_config(c)?);
    let live = live_consumer(js, &c.spec.stream_name, &c.spec.durable_name).await?;
    let stream = js.get_stream(&c.spec.stream_name).await.map_err(|e| nats_error(&label, e))?;
    Ok(match live {
        None => {
            stream.create_consumer(config).await.map_err(|e| nats_error(&label, e))?;
            Action::Created(label)
        }
        Some(live) => {
            let mut diff = Vec::new();
            consumer_differences(c, &live, &mut diff);
            if diff.is_empty() {
                Action::Unchanged(label)
            } else {
                stream.update_consumer(config).await.map_err(|e| nats_error(&label, e))?;
                Action::Updated(label)
            }
        }
    })
}

/// Creates or updates the streams, then the consumers, like the NACK controller; transient cluster
/// failures are retried for up to [`PATIENCE`].
pub async fn apply(js: &Js, set: &ManifestSet) -> Result<Vec<Action>> {
    let mut actions = Vec::new();
    for s in &set.streams {
        actions.push(patiently(async || apply_stream(js, s).await).await?);
    }
    for c in &set.consumers {
        actions.push(patiently(async || apply_consumer(js, c).await).await?);
    }
    Ok(actions)
}

/// Field-by-field differences between the manifests and the server (empty: no drift).
pub async fn diff(js: &Js, set: &ManifestSet) -> Result<Vec<Difference>> {
    let mut out = Vec::new();
    for s in &set.streams {
        match patiently(async || live_stream(js, &s.spec.name).await).await? {
            Some(live) => compare(
                &stream_label(s),
                &serde_json::to_value(&s.spec).expect("serializes"),
                &live,
                STREAM_FIELDS,
                &mut out,
            ),
            None => out.push(missing(stream_label(s))),
        }
    }
    for c in &set.consumers {
        match patiently(async || live_consumer(js, &c.spec.stream_name, &c.spec.durable_name).await).await? {
            Some(live) => consumer_differences(c, &live, &mut out),
            None => out.push(missing(consumer_label(c))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_that_pass_by_themselves_are_retried() {
        use async_nats::jetstream::Error as ApiError;
        let api = |code: u16, err_code: u64, text: &str| {
            let json = serde_json::json!({"code": code, "err_code": err_code, "description": text});
            let e: ApiError = serde_json::from_value(json).unwrap();
            nats_error("Consumer S/d", e)
        };
        assert!(transient(&nats_error("Consumer S/d", "timed out")));
        assert!(transient(&nats_error("Stream S", "jetstream request timed out")));
        assert!(transient(&nats_error("Stream S", "no responders")));
        assert!(transient(&api(503, 10008, "JetStream system temporarily unavailable")));
        assert!(transient(&api(500, 10005, "no suitable peers for placement")));
        assert!(transient(&api(500, 10119, "consumer is offline")));
        assert!(!transient(&api(404, 10059, "stream not found")));
        assert!(!transient(&api(400, 10058, "stream name already in use with a different configuration")));
        assert!(!transient(&api(400, 10100, "consumer config does not match")));
    }

    #[test]
    fn manifest_fields_map_to_the_jetstream_api() {
        let spec = serde_json::json!({"name": "S", "replicas": 3, "maxAge": "72h", "storage": "file", "retention": "workqueue", "discard": "new"});
        let api = to_api(&spec, STREAM_FIELDS).unwrap();
        assert_eq!(api["num_replicas"], 3);
        assert_eq!(api["max_age"], 72 * 3600 * 1_000_000_000u64);
        let consumer = serde_json::json!({"deliverPolicy": "byStartSequence", "backoff": ["1s", "1m"]});
        let api = to_api(&consumer, CONSUMER_FIELDS).unwrap();
        assert_eq!(api["deliver_policy"], "by_start_sequence");
        assert_eq!(api["backoff"], serde_json::json!([1_000_000_000u64, 60_000_000_000u64]));
    }

    #[test]
    fn compare_reports_fields_in_manifest_terms() {
        let spec = serde_json::json!({"ackWait": "30s", "maxAckPending": 100, "maxMsgs": -1});
        let live = serde_json::json!({"ack_wait": 10_000_000_000u64, "max_ack_pending": 100});
        let mut out = Vec::new();
        compare("Consumer S/d", &spec, &live, CONSUMER_FIELDS, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to_string(), "Consumer S/d: ackWait: manifest 30s ≠ server 10s");
    }
}
