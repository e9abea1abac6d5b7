//! NACK manifests (`jetstream.nats.io/v1beta2` Stream and Consumer resources)
//! and least-privilege NATS permissions, built from the model as typed structs.
//!
//! NACK's own defaults are dangerous (`storage: memory`, `ackPolicy: none`,
//! `ackWait: 1ns`), so every field that has one is written explicitly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration;
use crate::error::{Error, Result};
use crate::jetstream::{DeliverPolicy, Discard, ReplayPolicy, Retention, Storage, StreamSpec};
use crate::load::Source;
use crate::model::{Action, Api};
use crate::naming;
use crate::subject::{FilterTrie, filter_covers};
use crate::write::GeneratedFile;

pub const API_VERSION: &str = "jetstream.nats.io/v1beta2";

/// Options for the manifests.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// `preventDelete: true` on streams (default), so deleting the resource keeps the data.
    pub prevent_delete: bool,
    pub namespace: Option<String>,
    /// NACK `Account` resource the streams and consumers belong to.
    pub account: Option<String>,
    pub servers: Vec<String>,
    pub creds: Option<String>,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions { prevent_delete: true, namespace: None, account: None, servers: Vec::new(), creds: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource<S> {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Connection fields shared by both kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamResourceSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub subjects: Vec<String>,
    pub storage: Storage,
    pub retention: Retention,
    pub replicas: u32,
    pub discard: Discard,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msgs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msg_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_consumers: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msgs_per_subject: Option<i64>,
    pub duplicate_window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_delete: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_purge: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_rollup: Option<bool>,
    pub prevent_delete: bool,
    #[serde(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsumerResourceSpec {
    pub stream_name: String,
    pub durable_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub deliver_policy: DeliverPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<String>,
    pub ack_policy: AckPolicy,
    pub ack_wait: String,
    pub max_deliver: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_subjects: Option<Vec<String>>,
    pub replay_policy: ReplayPolicy,
    pub max_ack_pending: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_waiting: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_threshold: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_only: Option<bool>,
    #[serde(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckPolicy {
    None,
    All,
    Explicit,
}

pub type StreamResource = Resource<StreamResourceSpec>;
pub type ConsumerResource = Resource<ConsumerResourceSpec>;

/// Everything ops need for one service.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub streams: Vec<StreamResource>,
    pub consumers: Vec<ConsumerResource>,
    pub permissions: Permissions,
}

/// Least-privilege NATS permissions for the service's own user.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Permissions {
    /// The service's own inbox prefix (`ConnectOptions::custom_inbox_prefix`): it may read its
    /// own replies and pull deliveries, never another client's.
    pub inbox_prefix: String,
    pub publish: Allow,
    pub subscribe: Allow,
    /// Responders may publish to the reply subjects of requests they received.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_responses: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Allow {
    pub allow: Vec<String>,
}

/// Defaults written when the document does not say (never NACK's own).
pub const DEFAULT_ACK_WAIT: &str = "30s";
pub const DEFAULT_MAX_ACK_PENDING: i64 = 1000;
pub const DEFAULT_DUPLICATE_WINDOW: &str = "2m";

/// `maxDeliver` when the document gives none: more deliveries than backoff steps (the server
/// requires it), at least 5. The manifest and the subscriber's `SETTINGS.max_deliver` both use it,
/// so `Delivery::is_last_attempt` agrees with what the server does.
pub fn default_max_deliver(backoff_steps: usize) -> i64 {
    (backoff_steps as i64 + 1).max(5)
}

/// Builds and checks the manifests; errors are located in the document. Every independent error
/// is found (a stream or consumer with an error is left out and the others are still checked); they
/// are returned together (see [`Error::many`]).
pub fn build(source: &Source, api: &Api, options: &ManifestOptions) -> Result<Manifests> {
    let mut errors = Vec::new();
    let manifests = build_collecting(source, api, options, &mut errors);
    match Error::many(errors, Vec::new()) {
        Some(error) => Err(error),
        None => Ok(manifests),
    }
}

fn build_collecting(source: &Source, api: &Api, options: &ManifestOptions, errors: &mut Vec<Error>) -> Manifests {
    let labels = labels(api);
    let connection =
        Connection { account: options.account.clone(), servers: options.servers.clone(), creds: options.creds.clone() };
    let metadata_names = &mut naming::Namespace::default();
    let mut metadata = |wanted: &str| Metadata {
        name: metadata_names.claim(&dns_label(wanted)),
        namespace: options.namespace.clone(),
        labels: labels.clone(),
    };
    let stream_node = |name: &str| {
        let declared = source.root_id().child("x-jetstream").child("streams").child(name);
        if source.get(&declared).is_some() { declared } else { source.root_id() }
    };

    // Streams: explicit subjects, or the subjects of the channels stored in them.
    let mut streams = Vec::new();
    let mut tries: BTreeMap<&str, FilterTrie<()>> = BTreeMap::new();
    for (name, spec) in &api.streams {
        let at = stream_node(name);
        let mut subjects: Vec<String> = match &spec.subjects {
            Some(s) => s.clone(),
            // Derived subjects are sorted, so the document's channel order does not matter.
            None => {
                let mut derived: Vec<String> = api
                    .channels
                    .iter()
                    .filter(|c| c.stream.as_deref() == Some(name.as_str()))
                    .map(|c| c.subject.filter())
                    .collect();
                derived.sort();
                derived
            }
        };
        subjects = minimal_cover(subjects);
        if subjects.is_empty() {
            errors.push(
                source
                    .error(&at, format!("stream `{name}` stores no channel and declares no subjects"))
                    .hint("bind a channel with `x-jetstream: {stream: NAME}` or set `subjects`"),
            );
            continue;
        }
        let mut trie = FilterTrie::default();
        for s in &subjects {
            trie.insert(s, ());
        }
        for channel in api.channels.iter().filter(|c| c.stream.as_deref() == Some(name.as_str())) {
            let filter = channel.subject.filter();
            if trie.covering(&filter).is_empty() {
                errors.push(
                    source
                        .error(&channel.node, format!("channel subject `{filter}` is not captured by stream `{name}`"))
                        .hint(format!("add it to the stream's subjects (now {subjects:?})")),
                );
            }
        }
        match stream_resource(name, spec, subjects, options.prevent_delete, &connection, metadata(name)) {
            Ok(stream) => {
                tries.insert(name, trie);
                streams.push(stream);
            }
            Err(e) => errors.push(e),
        }
    }
    check_overlaps(source, &streams, &stream_node, errors);

    // Consumers: one per durable receive operation.
    let mut consumers: Vec<ConsumerResource> = Vec::new();
    let mut durables: BTreeMap<(String, String), String> = BTreeMap::new();
    for op in api.operations.iter().filter(|o| o.action == Action::Receive && o.reply.is_none()) {
        let channel = &api.channels[op.channel];
        let Some(stream) = &channel.stream else { continue };
        // A stream with a reported error: its consumers are not checked against it.
        let Some(trie) = tries.get(stream.as_str()) else { continue };
        let spec = op.consumer.clone().unwrap_or_default();
        let at = if source.get(&op.node.child("x-jetstream")).is_some() {
            op.node.child("x-jetstream")
        } else {
            op.node.clone()
        };
        let durable = spec.durable.clone().unwrap_or_else(|| naming::durable_name(&op.base_name));
        if let Some(other) = durables.insert((stream.clone(), durable.clone()), op.name.clone()) {
            errors.push(
                source
                    .error(&at, format!("durable `{durable}` on stream `{stream}` is also used by operation `{other}`"))
                    .hint("durable names must be unique per stream; set `x-jetstream.durable` on one of them"),
            );
            continue;
        }
        let filters: Vec<String> = match (&spec.filter_subject, &spec.filter_subjects) {
            (Some(f), _) => vec![f.clone()],
            (_, Some(fs)) => fs.clone(),
            _ => vec![channel.subject.filter()],
        };
        let mut consumer_errors = Vec::new();
        for f in &filters {
            if let Err(e) = crate::subject::SubjectTemplate::parse(f) {
                consumer_errors.push(source.error(&at, format!("invalid filter subject: {e}")));
                continue;
            }
            if trie.covering(f).is_empty() {
                let stream_subjects = streams
                    .iter()
                    .find(|s| &s.spec.name == stream)
                    .map(|s| s.spec.subjects.clone())
                    .unwrap_or_default();
                consumer_errors.push(source
                    .error(&at, format!("filter subject `{f}` of durable `{durable}` is not covered by stream `{stream}` ({stream_subjects:?})"))
                    .hint("the consumer would never receive anything; fix the filter or the stream's subjects"));
            }
        }
        let to_go = |field: &str, v: &Option<String>| -> Result<Option<String>> {
            v.as_deref()
                .map(|text| duration::parse(text).map(duration::format).map_err(|e| source.error(&at.child(field), e)))
                .transpose()
        };
        let backoff = spec
            .backoff
            .iter()
            .map(|b| duration::parse(b).map(duration::format).map_err(|e| source.error(&at.child("backoff"), e)))
            .collect::<Result<Vec<_>>>();
        // The server replaces ackWait with the first backoff step; say so instead of diverging silently.
        let ack_wait = to_go("ackWait", &spec.ack_wait);
        let inactive_threshold = to_go("inactiveThreshold", &spec.inactive_threshold);
        let (backoff, ack_wait, inactive_threshold) = match (backoff, ack_wait, inactive_threshold) {
            (Ok(b), Ok(a), Ok(i)) if consumer_errors.is_empty() => (b, a, i),
            (b, a, i) => {
                errors.extend(consumer_errors.into_iter().chain(b.err()).chain(a.err()).chain(i.err()));
                continue;
            }
        };
        let ack_wait = match (backoff.first(), ack_wait) {
            (Some(first), Some(wait)) if *first != wait => {
                errors.push(source
                    .error(&at.child("ackWait"), format!("ackWait {wait} has no effect: with backoff set, the server uses the first backoff step ({first}) as the ack wait"))
                    .hint(format!("remove ackWait, or start backoff with {wait}")));
                continue;
            }
            (Some(first), _) => first.clone(),
            (None, wait) => wait.unwrap_or_else(|| DEFAULT_ACK_WAIT.into()),
        };
        let max_deliver = spec.max_deliver.unwrap_or_else(|| default_max_deliver(backoff.len()));
        if !backoff.is_empty() && max_deliver != -1 && max_deliver <= backoff.len() as i64 {
            errors.push(
                source
                    .error(
                        &at.child("maxDeliver"),
                        format!(
                            "maxDeliver {max_deliver} must be greater than the number of backoff steps ({})",
                            backoff.len()
                        ),
                    )
                    .hint("the server rejects such consumers; raise maxDeliver or shorten backoff"),
            );
            continue;
        }
        let (filter_subject, filter_subjects) =
            if filters.len() == 1 { (filters.first().cloned(), None) } else { (None, Some(filters)) };
        let spec_out = ConsumerResourceSpec {
            stream_name: stream.clone(),
            durable_name: durable.clone(),
            description: spec.description.clone(),
            deliver_policy: spec.deliver_policy.unwrap_or(DeliverPolicy::All),
            opt_start_seq: spec.opt_start_seq,
            opt_start_time: spec.opt_start_time.clone(),
            ack_policy: AckPolicy::Explicit,
            ack_wait,
            max_deliver,
            backoff,
            filter_subject,
            filter_subjects,
            replay_policy: spec.replay_policy.unwrap_or(ReplayPolicy::Instant),
            max_ack_pending: spec.max_ack_pending.unwrap_or(DEFAULT_MAX_ACK_PENDING),
            max_waiting: spec.max_waiting,
            inactive_threshold,
            headers_only: spec.headers_only,
            connection: connection.clone(),
        };
        consumers.push(Resource {
            api_version: API_VERSION.into(),
            kind: "Consumer".into(),
            metadata: Metadata { name: String::new(), namespace: None, labels: BTreeMap::new() },
            spec: spec_out,
        });
    }
    // Consumers in (stream, durable) order, named in that order: independent of the document's order.
    consumers
        .sort_by(|a, b| (&a.spec.stream_name, &a.spec.durable_name).cmp(&(&b.spec.stream_name, &b.spec.durable_name)));
    for c in &mut consumers {
        c.metadata = metadata(&format!("{}-{}", c.spec.stream_name, c.spec.durable_name));
    }
    Manifests { permissions: permissions(api, &consumers), streams, consumers }
}

fn stream_resource(
    name: &str,
    spec: &StreamSpec,
    subjects: Vec<String>,
    prevent_delete: bool,
    connection: &Connection,
    metadata: Metadata,
) -> Result<StreamResource> {
    let go = |v: &Option<String>| -> Result<Option<String>> {
        v.as_deref().map(|t| duration::parse(t).map(duration::format).map_err(Error::new)).transpose()
    };
    Ok(Resource {
        api_version: API_VERSION.into(),
        kind: "Stream".into(),
        metadata,
        spec: StreamResourceSpec {
            name: name.to_string(),
            description: spec.description.clone(),
            subjects,
            storage: spec.storage.unwrap_or(Storage::File),
            retention: spec.retention.unwrap_or(Retention::Limits),
            replicas: spec.replicas.unwrap_or(1),
            discard: spec.discard.unwrap_or(Discard::Old),
            max_age: go(&spec.max_age)?,
            max_msgs: spec.max_msgs,
            max_bytes: spec.max_bytes,
            max_msg_size: spec.max_msg_size,
            max_consumers: spec.max_consumers,
            max_msgs_per_subject: spec.max_msgs_per_subject,
            duplicate_window: go(&spec.duplicate_window)?.unwrap_or_else(|| DEFAULT_DUPLICATE_WINDOW.into()),
            deny_delete: spec.deny_delete,
            deny_purge: spec.deny_purge,
            allow_rollup: spec.allow_rollup,
            prevent_delete,
            connection: connection.clone(),
        },
    })
}

/// Drops subjects covered by another subject of the same list (the server rejects overlaps within a stream).
/// Of two identical subjects the first is kept.
fn minimal_cover(subjects: Vec<String>) -> Vec<String> {
    let mut trie = FilterTrie::default();
    for (i, s) in subjects.iter().enumerate() {
        trie.insert(s, i);
    }
    let mut seen = std::collections::BTreeSet::new();
    subjects
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            let covered = trie.covering(s).into_iter().any(|&j| j != *i && (!filter_covers(s, &subjects[j]) || j < *i));
            !covered && seen.insert(s.as_str())
        })
        .map(|(_, s)| s.clone())
        .collect()
}

fn check_overlaps(
    source: &Source,
    streams: &[StreamResource],
    node: &dyn Fn(&str) -> crate::load::NodeId,
    errors: &mut Vec<Error>,
) {
    let mut trie = FilterTrie::default();
    for (i, s) in streams.iter().enumerate() {
        for subject in &s.spec.subjects {
            trie.insert(subject, (i, subject.as_str()));
        }
    }
    for (i, s) in streams.iter().enumerate() {
        for x in &s.spec.subjects {
            if let Some(&&(j, y)) = trie.overlapping(x).iter().filter(|(j, _)| *j > i).min() {
                let (first, second) = (&s.spec.name, &streams[j].spec.name);
                errors.push(
                    source
                        .error(
                            &node(second),
                            format!("streams `{first}` and `{second}` have overlapping subjects `{x}` and `{y}`"),
                        )
                        .hint("a subject may be stored in one stream only; the server rejects overlapping streams"),
                );
            }
        }
    }
}

fn labels(api: &Api) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert("app.kubernetes.io/managed-by".into(), "asyncapi-nats".into());
    labels.insert("app.kubernetes.io/part-of".into(), dns_label(&api.title));
    if !api.api_version.is_empty() {
        labels.insert("app.kubernetes.io/version".into(), label_value(&api.api_version));
    }
    labels
}

/// DNS-1123 label: lowercase alphanumerics and `-`, at most 63 characters, alphanumeric at both ends.
pub fn dns_label(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "resource".into() } else { out }
}

/// Kubernetes label value: alphanumerics, `-`, `_`, `.`; at most 63; alphanumeric at both ends.
fn label_value(raw: &str) -> String {
    let mapped: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    let trimmed: String = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(63).collect();
    trimmed.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

/// Publish: its send subjects, the JetStream API calls for its own streams and
/// durables (info, next, ack); subscribe: its core subjects, its inboxes and
/// the leader-election advisories of its durables.
/// Nothing that creates, updates, deletes or purges streams or consumers.
fn permissions(api: &Api, consumers: &[ConsumerResource]) -> Permissions {
    let mut publish = Vec::new();
    let inbox = inbox_prefix(&api.title);
    let mut subscribe = vec![format!("{inbox}.>")];
    let mut allow_responses = false;
    for op in &api.operations {
        let channel = &api.channels[op.channel];
        let filter = channel.subject.filter();
        match op.action {
            Action::Send => publish.push(filter),
            Action::Receive if channel.stream.is_none() || op.reply.is_some() => {
                subscribe.push(filter);
                allow_responses |= op.reply.is_some();
            }
            Action::Receive => {}
        }
    }
    for c in consumers {
        let (stream, durable) = (&c.spec.stream_name, &c.spec.durable_name);
        publish.push(format!("$JS.API.STREAM.INFO.{stream}"));
        publish.push(format!("$JS.API.CONSUMER.INFO.{stream}.{durable}"));
        publish.push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"));
        publish.push(format!("$JS.ACK.{stream}.{durable}.>"));
        // The run loop pulls again at once when a new consumer leader is elected.
        subscribe.push(format!("$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.{stream}.{durable}"));
    }
    publish.sort();
    publish.dedup();
    subscribe.sort();
    subscribe.dedup();
    Permissions {
        inbox_prefix: inbox,
        publish: Allow { allow: publish },
        subscribe: Allow { allow: subscribe },
        allow_responses,
    }
}

/// The service's inbox prefix, `_INBOX_<service>` (the generated crate's `INBOX_PREFIX`).
pub fn inbox_prefix(title: &str) -> String {
    format!("_INBOX_{}", dns_label(title))
}

/// The nats-server config variable holding the service's user entry: `ALLOCATION_USER`.
fn conf_variable(user: &str, suffix: &str) -> String {
    format!("{}_{suffix}", user.to_ascii_uppercase().replace('-', "_"))
}

impl Manifests {
    /// The files under `deploy/`: one per resource, a kustomization, and the permissions.
    pub fn files(&self, title: &str, header: &str) -> Vec<GeneratedFile> {
        let mut files = Vec::new();
        let mut resources = Vec::new();
        for s in &self.streams {
            let path = format!("stream-{}.yaml", s.metadata.name);
            files.push(yaml_file(&path, header, s));
            resources.push(path);
        }
        for c in &self.consumers {
            let path = format!("consumer-{}.yaml", c.metadata.name);
            files.push(yaml_file(&path, header, c));
            resources.push(path);
        }
        let kustomization = serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        });
        files.push(GeneratedFile {
            path: "kustomization.yaml".into(),
            contents: format!("# {header}\n{}", to_yaml(&kustomization)),
        });
        let user = dns_label(title);
        // JSON has no comments: the header is the first field.
        let json = serde_json::json!({ "$comment": header, "user": user, "permissions": self.permissions });
        files.push(GeneratedFile {
            path: "nats-permissions.json".into(),
            contents: format!("{}\n", serde_json::to_string_pretty(&json).expect("permissions serialize")),
        });
        files.push(GeneratedFile {
            path: "nats-authorization.conf".into(),
            contents: self.authorization_conf(&user, header),
        });
        files
    }

    /// A nats-server config fragment defining one variable, the service's user entry, so that
    /// several services' fragments combine in one server config:
    /// `include "a.conf"`, `include "b.conf"`, `authorization { users = [$A_USER, $B_USER] }`.
    pub fn authorization_conf(&self, user: &str, header: &str) -> String {
        let quote = crate::escape::nats_conf_str;
        let list = |items: &[String]| items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
        let variable = conf_variable(user, "USER");
        let password = conf_variable(user, "PASSWORD");
        let mut out = format!("# {header}\n");
        out.push_str(&format!(
            "# Least-privilege permissions of the service user {}. Include this file at the top level of\n",
            crate::escape::comment_text(user)
        ));
        out.push_str("# nats-server.conf and list the user in the authorization block, e.g.\n");
        out.push_str(&format!("#   include \"path/to/{user}/nats-authorization.conf\"\n#   authorization {{ users = [ ${variable}, $OTHER_SERVICE_USER ] }}\n"));
        out.push_str(&format!(
            "# The password comes from the server's environment variable {password}. The service must connect\n# with the inbox prefix {} (the generated crate's INBOX_PREFIX).\n",
            self.permissions.inbox_prefix
        ));
        out.push_str(&format!(
            "{variable} = {{\n  user: {}\n  password: ${password}\n  permissions: {{\n",
            quote(user)
        ));
        out.push_str(&format!("    publish: {{ allow: [{}] }}\n", list(&self.permissions.publish.allow)));
        out.push_str(&format!("    subscribe: {{ allow: [{}] }}\n", list(&self.permissions.subscribe.allow)));
        if self.permissions.allow_responses {
            out.push_str("    allow_responses: true\n");
        }
        out.push_str("  }\n}\n");
        out
    }
}

fn yaml_file(path: &str, header: &str, resource: &impl Serialize) -> GeneratedFile {
    let value = serde_json::to_value(resource).expect("resources serialize");
    GeneratedFile { path: path.into(), contents: format!("# {header}\n{}", to_yaml(&value)) }
}

/// A small deterministic YAML emitter (strings always double-quoted with JSON escapes, which YAML accepts).
pub fn to_yaml(value: &serde_json::Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out);
    out
}

fn emit(value: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')) {
                    k.clone()
                } else {
                    crate::escape::yaml_str(k)
                };
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        emit(v, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        emit(v, indent + 2, out);
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(v))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        let mut nested = String::new();
                        emit(item, indent + 2, &mut nested);
                        out.push_str(&format!("{pad}- {}", &nested[indent + 2..]));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(_) => "{}".into(),
        serde_json::Value::Array(_) => "[]".into(),
        serde_json::Value::String(s) => crate::escape::yaml_str(s),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_are_valid() {
        assert_eq!(dns_label("ORDERS"), "orders");
        assert_eq!(dns_label("allocation-processor-ready"), "allocation-processor-ready");
        assert_eq!(dns_label("a_b.c--d"), "a-b-c-d");
        assert_eq!(dns_label("--"), "resource");
        assert!(dns_label(&"x".repeat(100)).len() <= 63);
    }

    #[test]
    fn minimal_cover_drops_covered_subjects() {
        let subjects = vec!["orders.*.created".into(), "orders.>".into(), "orders.>".into(), "pay.x".into()];
        assert_eq!(minimal_cover(subjects), vec!["orders.>".to_string(), "pay.x".to_string()]);
    }

    #[test]
    fn yaml_round_trips_through_the_loader() {
        let value = serde_json::json!({"a": {"b": [1, "x: y", {"c": true, "d": ["e"]}], "e": {}}, "k/l": "\"q\"\n"});
        let text = to_yaml(&value);
        let source = crate::load::Source::from_str("m.yaml", &text).unwrap();
        assert_eq!(source.get(&source.root_id()).unwrap(), &value);
    }
}
