//! AsyncAPI 2.0–2.6 and 3.0–3.2 normalised into one version-neutral IR.
//!
//! 2.x semantics: `publish` = the application *receives*, `subscribe` = it *sends*.
//!
//! Real documents describe other brokers too: a channel whose address is not a NATS subject
//! (and is not mapped to one) keeps its message types but loses its publishers and subscribers,
//! each with a located warning. Nothing lossy is silent.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Result;
use crate::jetstream::{self, ChannelExt, ConsumerSpec, RootExt, SendExt, StreamSpec};
use crate::load::{NodeId, Source};
use crate::subject::SubjectTemplate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    V2,
    V3,
}

#[derive(Debug, Clone)]
pub struct Api {
    pub version: SpecVersion,
    pub title: String,
    pub api_version: String,
    pub description: Option<String>,
    /// In document order.
    pub channels: Vec<Channel>,
    /// In document order.
    pub operations: Vec<Operation>,
    /// Keyed by the message definition's canonical node.
    pub messages: BTreeMap<NodeId, Message>,
    pub streams: BTreeMap<String, StreamSpec>,
    /// True when no `x-jetstream.streams` was declared and one stream was assumed.
    pub default_stream: bool,
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub node: NodeId,
    pub key: String,
    pub subject: SubjectTemplate,
    pub parameters: Vec<Parameter>,
    pub description: Option<String>,
    pub stream: Option<String>,
    /// Queue group from FastStream's channel binding.
    pub queue: Option<String>,
    pub messages: Vec<NodeId>,
    /// Its `x-jetstream.stream` names no declared stream (reported; `stream` is `None`).
    pub stream_error: bool,
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Send,
    Receive,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub node: NodeId,
    /// The 3.x operation key or 2.x `operationId` (2.x without one: `<channel key> (<verb>)`).
    pub name: String,
    /// What publishers, subscriber modules and default durables are named after: `name`, except
    /// for ids a tool derived from the subject (see `base_name`).
    pub base_name: String,
    pub action: Action,
    /// Index into `Api::channels`.
    pub channel: usize,
    pub messages: Vec<NodeId>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub queue: Option<String>,
    /// Receive operations on a stream channel.
    pub consumer: Option<ConsumerSpec>,
    pub send: SendExt,
    pub reply: Option<Reply>,
}

#[derive(Debug, Clone)]
pub struct Reply {
    /// Index into `Api::channels` when the reply has a fixed channel.
    pub channel: Option<usize>,
    pub messages: Vec<NodeId>,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub node: NodeId,
    /// `name`, else the component key.
    pub name: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub payload: Option<NodeId>,
    pub headers: Option<NodeId>,
    /// Runtime expression of the correlation id (`$message.header#/traceId`).
    pub correlation_id: Option<String>,
    pub content_type: Option<String>,
    /// How the payload travels on the wire (from `contentType` / `defaultContentType` and `schemaFormat`).
    pub encoding: Encoding,
}

/// The wire format of a message payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON (no content type, or one naming JSON): serde_json.
    Json,
    /// `text/plain`.
    Text,
    /// Anything else (`application/octet-stream`, XML, Avro, Protobuf, …).
    Bytes,
}

/// Options that affect the model.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// Name of the assumed stream when the document declares none (default: from `info.title`).
    pub default_stream: Option<String>,
    /// Map `/`-separated addresses (`comment/{commentId}/changed`, `/rooms/{roomId}`, URLs) to
    /// NATS subjects by turning each path segment into a token (`comment.{commentId}.changed`).
    pub path_subjects: bool,
}

pub fn build(source: &Source, options: &ModelOptions) -> Result<Api> {
    let root = source.root_id();
    let doc = source.get(&root).unwrap_or(&Value::Null);
    let version_text = match doc.get("asyncapi") {
        Some(Value::String(text)) => text.as_str(),
        Some(other) => {
            return Err(source
                .error(&root.child("asyncapi"), format!("`asyncapi: {other}` is not a version string"))
                .hint("write the full version as a string, e.g. `asyncapi: 3.0.0` or `asyncapi: '2.6.0'`"));
        }
        None => {
            return Err(source
                .error(&root, "not an AsyncAPI document: no `asyncapi` version field")
                .hint("the root must contain `asyncapi: 3.0.0` or `asyncapi: 2.6.0`"));
        }
    };
    let version = match parse_version(version_text) {
        Some(version) => version,
        None => {
            return Err(source
                .error(&root.child("asyncapi"), format!("unsupported AsyncAPI version {version_text}"))
                .hint("asyncapi-nats reads AsyncAPI 2.0–2.6 and 3.0–3.2"));
        }
    };
    let info = root.child("info");
    let title = str_at(source, &info.child("title")).unwrap_or_else(|| "asyncapi service".into());
    let default_content_type = str_at(source, &root.child("defaultContentType"));
    let mut b = Builder { source, messages: BTreeMap::new(), options, default_content_type, version };
    // Errors in one channel, operation or message are reported (`Source::report`) and the rest of
    // the model is still built, so a run lists every independent error at once.
    let (channels, mut operations) = match version {
        SpecVersion::V3 => b.v3(&root),
        SpecVersion::V2 => b.v2(&root),
    };
    // One wire format per operation (and per reply): JSON, text or bytes.
    operations.retain(|op| {
        let mixed = |ids: &[NodeId]| {
            let mut formats = ids.iter().map(|m| b.messages[m].encoding);
            formats.next().is_some_and(|first| formats.any(|f| f != first))
        };
        let reply_messages = op.reply.as_ref().map_or(&[][..], |r| &r.messages[..]);
        let is_mixed = mixed(&op.messages) || mixed(reply_messages);
        if is_mixed {
            source.warn(source.error(&op.node, format!("operation `{}` skipped: its messages have different content types", op.name)).hint(
                "publishers and subscribers use one wire format per operation; split the operation by content type",
            ));
        }
        !is_mixed
    });
    let mut warned = std::collections::BTreeSet::new();
    for op in &operations {
        let reply_messages = op.reply.iter().flat_map(|r| &r.messages);
        for id in op.messages.iter().chain(reply_messages) {
            let m = &b.messages[id];
            if m.encoding == Encoding::Bytes && m.content_type.is_some() && warned.insert(id.clone()) {
                let what = m.content_type.as_deref().unwrap_or_default();
                source.warn(
                    source
                        .error(&m.node, format!("message `{}` (content type `{what}`) is exchanged as raw bytes (`Vec<u8>`)", m.name))
                        .hint("asyncapi-nats encodes JSON (serde_json) and `text/plain` (`String`); other content types are passed through as bytes, never JSON-encoded"),
                );
            }
        }
    }
    for op in &mut operations {
        op.base_name = base_name(op, &channels[op.channel], version, source);
    }
    let mut api = Api {
        version,
        title: title.clone(),
        api_version: str_at(source, &info.child("version")).unwrap_or_default(),
        description: str_at(source, &info.child("description")),
        channels,
        operations,
        messages: b.messages,
        streams: BTreeMap::new(),
        default_stream: false,
    };
    assign_streams(source, &root, &mut api, options);
    Ok(api)
}

/// Names for what an application does, the same whichever AsyncAPI version a tool wrote. An
/// explicit id (3.x operation key, 2.x `operationId`) is kept, except ids a tool derived from the
/// subject and handler — FastStream's `orders.created:Publisher` and
/// `events.ready_to_process.*:MessageHandlerSubscribe` (keys with `:`) — and 2.x operations
/// without `operationId` (named after their verb, whose meaning is the opposite of what the
/// application does). Those are named after the subject's literal tokens: what is received
/// (`events ready_to_process`) or sent (`publish orders created`), so a FastStream app's 2.6 and
/// 3.0 documents generate the same names.
fn base_name(op: &Operation, channel: &Channel, version: SpecVersion, source: &Source) -> String {
    let has_id = match version {
        SpecVersion::V3 => true,
        SpecVersion::V2 => source.get(&op.node.child("operationId")).is_some(),
    };
    let literals: Vec<&str> = channel.subject.literals().collect();
    if (has_id && !op.name.contains(':')) || literals.is_empty() {
        return op.name.clone();
    }
    match op.action {
        Action::Receive => literals.join(" "),
        Action::Send => format!("publish {}", literals.join(" ")),
    }
}

/// `2.0.0`–`2.6.x` and `3.0.x`–`3.2.x` (the minor versions each of which the official JSON
/// Schemas describe; 3.1 and 3.2 only add bindings and loosen examples, see `tests/fixtures/asyncapi-schemas/README.md`).
fn parse_version(text: &str) -> Option<SpecVersion> {
    let mut parts = text.split('.');
    let major = parts.next()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    match major {
        "2" if minor <= 6 => Some(SpecVersion::V2),
        "3" if minor <= 2 => Some(SpecVersion::V3),
        _ => None,
    }
}

fn str_at(source: &Source, id: &NodeId) -> Option<String> {
    source.get(id).and_then(Value::as_str).map(str::to_string)
}

struct Builder<'a> {
    source: &'a Source,
    messages: BTreeMap<NodeId, Message>,
    options: &'a ModelOptions,
    default_content_type: Option<String>,
    version: SpecVersion,
}

/// The 3.x channels operations may reference, by node (entry and definition).
#[derive(Default)]
struct ChannelTargets {
    index: BTreeMap<NodeId, usize>,
    /// Channels without an address: reply inboxes, with their messages.
    inboxes: BTreeMap<NodeId, Vec<NodeId>>,
    /// Channels whose address is no NATS subject, with the reason.
    skipped: BTreeMap<NodeId, String>,
    /// Channels with a reported error (operations on them are left out without a further error).
    failed: std::collections::BTreeSet<NodeId>,
}

enum Target {
    Channel(usize),
    Inbox(Vec<NodeId>),
    Skipped(String),
    Failed,
}

/// `comment/{commentId}/changed`, `/rooms/{roomId}`, `https://example.com/books/{id}` →
/// `comment.{commentId}.changed`, `rooms.{roomId}`, `books.{id}`; `None` for what is no path.
pub fn path_subject(address: &str) -> Option<String> {
    let path = match address.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None if address.contains('/') => address,
        None => return None,
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    (!segments.iter().any(|s| s.is_empty())).then(|| segments.join("."))
}

impl<'a> Builder<'a> {
    fn v3(&mut self, root: &NodeId) -> (Vec<Channel>, Vec<Operation>) {
        let source = self.source;
        let mut channels = Vec::new();
        let mut targets = ChannelTargets::default();
        for (key, node) in entries(source, &root.child("channels")) {
            let Some((def, value)) = source.reported(self.definition(&node, "a channel")) else {
                targets.failed.insert(node);
                continue;
            };
            let mut messages = Vec::new();
            for (_, m) in entries(source, &def.child("messages")) {
                messages.extend(source.reported(self.message(&m, &key)));
            }
            let (address, at, explicit) = match (self.subject_override(&node, &def), value.get("address")) {
                (Some((subject, at)), _) => (subject, at, true),
                (None, Some(Value::String(a))) => (a.clone(), def.child("address"), false),
                _ => {
                    // `address: null` or none: a dynamic subject such as the requester's reply inbox.
                    targets.inboxes.insert(node.clone(), messages.clone());
                    targets.inboxes.insert(def, messages);
                    continue;
                }
            };
            match self.subject(&at, &key, &address, explicit) {
                Ok(subject) => {
                    let mut channel = self.channel(&node, &def, key.clone(), subject, value, messages);
                    channel.node = node.clone();
                    targets.index.insert(node, channels.len());
                    targets.index.insert(def, channels.len());
                    channels.push(channel);
                }
                Err(reason) => {
                    targets.skipped.insert(node, reason.clone());
                    targets.skipped.insert(def, reason);
                }
            }
        }
        let mut operations = Vec::new();
        for (name, node) in entries(source, &root.child("operations")) {
            let Some((def, value)) = source.reported(self.definition(&node, "an operation")) else { continue };
            let action = match value.get("action").and_then(Value::as_str) {
                Some("send") => Action::Send,
                Some("receive") => Action::Receive,
                other => {
                    source.report(
                        source
                            .error(&def.child("action"), format!("operation `{name}` has action {other:?}"))
                            .hint("`action` must be `send` or `receive`"),
                    );
                    continue;
                }
            };
            let Some(target) = source.reported(self.channel_target(&def.child("channel"), &targets)) else { continue };
            let channel = match target {
                Target::Failed => continue,
                Target::Channel(c) => c,
                Target::Inbox(_) => {
                    let reason = "its channel has no address (a dynamic subject); give the channel a `bindings.nats.subject` (e.g. in an overlay) to generate it";
                    self.skip(&def, &name, reason.into());
                    continue;
                }
                Target::Skipped(reason) => {
                    self.skip(&def, &name, reason);
                    continue;
                }
            };
            let mut messages = self.message_refs(&def.child("messages"));
            if messages.is_empty() {
                messages = channels[channel].messages.clone();
            }
            let reply = match value.get("reply") {
                None => None,
                Some(_) => {
                    let Some((reply_def, _)) = source.reported(source.deref(&def.child("reply"))) else { continue };
                    let mut reply_channel = None;
                    let mut reply_messages = self.message_refs(&reply_def.child("messages"));
                    let at = reply_def.child("channel");
                    if source.get(&at).is_some() {
                        let Some(target) = source.reported(self.channel_target(&at, &targets)) else { continue };
                        let found = match target {
                            Target::Failed => continue,
                            Target::Inbox(inbox_messages) => inbox_messages,
                            Target::Channel(c) => {
                                reply_channel = Some(c);
                                channels[c].messages.clone()
                            }
                            Target::Skipped(reason) => {
                                self.skip(&def, &name, format!("its reply channel is skipped: {reason}"));
                                continue;
                            }
                        };
                        if reply_messages.is_empty() {
                            reply_messages = found;
                        }
                    }
                    Some(Reply { channel: reply_channel, messages: reply_messages })
                }
            };
            if value.get("reply").is_some_and(|r| r.get("address").is_some()) {
                source.warn(
                    source
                        .error(
                            &def.child("reply").child("address"),
                            format!("reply `address` of operation `{name}` ignored"),
                        )
                        .hint("over NATS, replies go to the request's reply subject (an inbox the client chooses)"),
                );
            }
            operations.push(self.operation(&def, name, action, channel, messages, reply));
        }
        (channels, operations)
    }

    fn v2(&mut self, root: &NodeId) -> (Vec<Channel>, Vec<Operation>) {
        let source = self.source;
        let mut channels = Vec::new();
        let mut operations = Vec::new();
        for (key, node) in entries(source, &root.child("channels")) {
            let Some((def, value)) = source.reported(self.definition(&node, "a channel")) else { continue };
            // FastStream's 2.6 output keeps the subject only in the channel binding.
            let (address, at, explicit) = match self.subject_override(&node, &def) {
                Some((subject, at)) => (subject, at, true),
                None => (key.clone(), node.clone(), false),
            };
            let index = channels.len();
            let mut channel_messages = Vec::new();
            let mut ops = Vec::new();
            for (verb, action) in [("publish", Action::Receive), ("subscribe", Action::Send)] {
                let op_node = def.child(verb);
                if source.get(&op_node).is_none() {
                    continue;
                }
                let Some((op_def, op_value)) = source.reported(source.deref(&op_node)) else { continue };
                let mut messages = Vec::new();
                let msg_node = op_def.child("message");
                if source.get(&msg_node).is_some() {
                    match source.reported(source.deref(&msg_node)) {
                        Some((msg_def, msg_value)) if msg_value.get("oneOf").is_some() => {
                            for (_, m) in entries(source, &msg_def.child("oneOf")) {
                                messages.extend(source.reported(self.message(&m, &key)));
                            }
                        }
                        Some(_) => messages.extend(source.reported(self.message(&msg_node, &key))),
                        None => {}
                    }
                }
                let name = op_value
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    // Without an id, named in diagnostics by the channel and the 2.x keyword (not
                    // `publish <subject>`, which reads as sending while 2.x `publish` receives).
                    .unwrap_or_else(|| format!("{key} ({verb})"));
                for m in &messages {
                    if !channel_messages.contains(m) {
                        channel_messages.push(m.clone());
                    }
                }
                ops.push((op_def, name, action, messages));
            }
            let subject = match self.subject(&at, &key, &address, explicit) {
                Ok(subject) => subject,
                Err(reason) => {
                    for (op_def, name, ..) in ops {
                        self.skip(&op_def, &name, reason.clone());
                    }
                    continue;
                }
            };
            channels.push(self.channel(&node, &def, key, subject, value, channel_messages));
            for (op_def, name, action, messages) in ops {
                operations.push(self.operation(&op_def, name, action, index, messages, None));
            }
        }
        (channels, operations)
    }

    /// The object behind a channel or operation entry, following `$ref`s; anything else (a
    /// string, a list, `$ref: 123`) is a located error, not silently an empty definition.
    fn definition(&self, node: &NodeId, what: &str) -> Result<(NodeId, &'a Value)> {
        let source = self.source;
        let (def, value) = source.deref(node)?;
        if value.is_object() && value.get("$ref").is_none() {
            return Ok((def, value));
        }
        let found = match value.get("$ref") {
            Some(r) => format!("`$ref: {r}` (a $ref must be a string)"),
            None => format!("a {}", json_kind(value)),
        };
        Err(source
            .error(&def, format!("{what} must be a mapping or a `$ref` to one; found {found}"))
            .hint("write it as a mapping, or as `$ref: '#/...'` to one"))
    }

    /// `bindings.nats.subject` of a channel (FastStream writes it; an overlay may set it to give a
    /// channel whose address is not a NATS subject one), next to a `$ref` or in the definition.
    fn subject_override(&self, node: &NodeId, def: &NodeId) -> Option<(String, NodeId)> {
        [node, def].into_iter().find_map(|n| {
            let at = n.child("bindings").child("nats").child("subject");
            self.source.get(&at).and_then(Value::as_str).map(|s| (s.to_string(), at))
        })
    }

    /// The channel's subject, or why it has none (warned once here, at the address). With
    /// `path_subjects`, every `/`-separated address (not an explicit `bindings.nats.subject`) is
    /// mapped, so one document's subjects stay uniform (`user/signedup` → `user.signedup`).
    fn subject(
        &self,
        at: &NodeId,
        key: &str,
        address: &str,
        explicit: bool,
    ) -> std::result::Result<SubjectTemplate, String> {
        let source = self.source;
        let mapped = if explicit { None } else { path_subject(address) };
        let (candidate, mapped) = match mapped {
            Some(mapped) if self.options.path_subjects => (mapped, None),
            other => (address.to_string(), other),
        };
        let problem = match SubjectTemplate::parse(&candidate) {
            Ok(subject) => return Ok(subject),
            Err(e) => e,
        };
        let hint = match mapped {
            Some(mapped) => format!(
                "map `/`-separated paths to subjects with `--path-subjects` / `Config::path_subjects` (`{address}` → `{mapped}`), or set the channel's `bindings.nats.subject` (e.g. in an overlay)"
            ),
            None => "set the channel's `bindings.nats.subject` to a NATS subject (e.g. in an overlay)".into(),
        };
        source.warn(
            source
                .error(at, format!("channel `{key}`: `{candidate}` is not a NATS subject ({problem}); its publishers and subscribers are skipped, its types are generated"))
                .hint(hint),
        );
        Err(format!("channel `{key}` has no NATS subject"))
    }

    /// Warns that operation `name` is not generated, and why.
    fn skip(&self, def: &NodeId, name: &str, reason: String) {
        let source = self.source;
        source.warn(
            source
                .error(def, format!("operation `{name}` skipped: {reason}"))
                .hint("its message types are generated; no publisher or subscriber is"),
        );
    }

    /// `node` is the entry under `channels` (settings an overlay put next to a `$ref` are read there).
    fn channel(
        &self,
        node: &NodeId,
        def: &NodeId,
        key: String,
        subject: SubjectTemplate,
        value: &Value,
        messages: Vec<NodeId>,
    ) -> Channel {
        let source = self.source;
        let mut parameters = Vec::new();
        for name in subject.params() {
            let p_node = def.child("parameters").child(name);
            let description = match source.get(&p_node) {
                Some(_) => source
                    .reported(source.deref(&p_node))
                    .and_then(|(_, p)| p.get("description").and_then(Value::as_str).map(str::to_string)),
                None => None,
            };
            parameters.push(Parameter { name: name.to_string(), description });
        }
        for (declared, p_node) in entries(source, &def.child("parameters")) {
            if !subject.params().any(|p| p == declared) {
                source.warn(
                    source
                        .error(
                            &p_node,
                            format!("parameter `{declared}` does not appear in subject `{subject}`; ignored"),
                        )
                        .hint("use it as `{name}` in the address (or in `bindings.nats.subject`), or remove it"),
                );
            }
        }
        let owner = if source.get(&node.child("x-jetstream")).is_some() { node } else { def };
        let ext: ChannelExt = source.reported(jetstream::read(source, owner)).flatten().unwrap_or_default();
        let queue = [node, def]
            .into_iter()
            .find_map(|n| source.get(&n.child("bindings").child("nats").child("queue")).and_then(Value::as_str));
        Channel {
            node: def.clone(),
            key,
            subject,
            parameters,
            description: value.get("description").and_then(Value::as_str).map(str::to_string),
            stream: ext.stream,
            queue: queue.map(str::to_string),
            messages,
            stream_error: false,
        }
    }
    fn operation(
        &self,
        def: &NodeId,
        name: String,
        action: Action,
        channel: usize,
        messages: Vec<NodeId>,
        reply: Option<Reply>,
    ) -> Operation {
        let source = self.source;
        let value = source.get(def).unwrap_or(&Value::Null);
        // Operation traits fill what the operation lacks (what asyncapi-nats reads of them: summary,
        // description, the NATS queue group); 2.x merges them over the operation.
        let mut traits = Vec::new();
        for (_, t) in entries(source, &def.child("traits")) {
            traits.extend(source.reported(source.deref(&t)).map(|(_, v)| v));
        }
        // Member by member (`Value::pointer` copies each token of the path).
        let at = |mut v: &'a Value, path: &[&str]| -> Option<&'a Value> {
            for key in path {
                v = v.get(key)?;
            }
            Some(v)
        };
        let field = |path: &[&str]| -> Option<&Value> {
            let own = at(value, path);
            let from_trait = traits.iter().rev().find_map(|t| at(t, path));
            match self.version {
                SpecVersion::V3 => own.or(from_trait),
                SpecVersion::V2 => from_trait.or(own),
            }
        };
        let text = |path: &[&str]| field(path).and_then(Value::as_str).map(str::to_string);
        let (consumer, send) = match action {
            Action::Receive => {
                if source.get(&def.child("x-jetstream")).is_some_and(|v| v.get("msgId").is_some()) {
                    source.report(
                        source
                            .error(&def.child("x-jetstream").child("msgId"), "`msgId` is for send operations")
                            .hint("remove it, or move it to the operation that publishes"),
                    );
                }
                (source.reported(jetstream::read::<ConsumerSpec>(source, def)).flatten(), SendExt::default())
            }
            Action::Send => {
                (None, source.reported(jetstream::read::<SendExt>(source, def)).flatten().unwrap_or_default())
            }
        };
        Operation {
            node: def.clone(),
            base_name: name.clone(),
            name,
            action,
            channel,
            messages,
            summary: text(&["summary"]),
            description: text(&["description"]),
            queue: text(&["bindings", "nats", "queue"]),
            consumer,
            send,
            reply,
        }
    }

    fn ref_target(&self, at: &NodeId) -> Result<NodeId> {
        let source = self.source;
        let reference = source.get(at).and_then(|v| v.get("$ref")).and_then(Value::as_str).ok_or_else(|| {
            source.error(at, "missing channel reference").hint("write `channel: {$ref: '#/channels/<id>'}`")
        })?;
        source.resolve_ref(at, reference)
    }

    fn channel_target(&self, at: &NodeId, targets: &ChannelTargets) -> Result<Target> {
        let target = self.ref_target(at)?;
        if let Some(&c) = targets.index.get(&target) {
            return Ok(Target::Channel(c));
        }
        if let Some(messages) = targets.inboxes.get(&target) {
            return Ok(Target::Inbox(messages.clone()));
        }
        if let Some(reason) = targets.skipped.get(&target) {
            return Ok(Target::Skipped(reason.clone()));
        }
        if targets.failed.contains(&target) {
            return Ok(Target::Failed);
        }
        Err(self.source.error(at, "this is not a channel").hint("reference an entry of `channels` (`#/channels/<id>`)"))
    }

    /// 3.0 `messages: [{$ref: '#/channels/x/messages/y'}]`.
    /// Messages with an error are reported and left out.
    fn message_refs(&mut self, at: &NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        for (_, m) in entries(self.source, at) {
            out.extend(self.source.reported(self.message(&m, "")));
        }
        out
    }

    /// Registers the message behind `node` (following `$ref`s) and returns its canonical id.
    fn message(&mut self, node: &NodeId, context: &str) -> Result<NodeId> {
        let source = self.source;
        let (def, value) = source.deref(node)?;
        if self.messages.contains_key(&def) {
            return Ok(def);
        }
        if !value.is_object() || value.get("$ref").is_some() {
            let what = match value.get("$ref") {
                Some(r) => format!("`$ref: {r}` (a $ref must be a string)"),
                None => format!("a {}", json_kind(value)),
            };
            return Err(source
                .error(&def, format!("a message must be a Message Object or a `$ref` to one; found {what}"))
                .hint("write the message as a mapping (`payload: …`) or `$ref: '#/components/messages/<name>'`"));
        }
        // Message traits (`traits: [{$ref: …}]`) contribute what the message itself lacks (3.x) or
        // override it (2.x: JSON Merge Patch of each trait into the message, in order).
        let mut traits = Vec::new();
        for (_, t) in entries(source, &def.child("traits")) {
            traits.extend(source.reported(source.deref(&t)));
        }
        let field = |k: &str| -> Option<(NodeId, &Value)> {
            let own = value.get(k).map(|v| (def.child(k), v));
            let from_trait = traits.iter().rev().find_map(|(id, t)| t.get(k).map(|v| (id.child(k), v)));
            match self.version {
                SpecVersion::V3 => own.or(from_trait),
                SpecVersion::V2 => from_trait.or(own),
            }
        };
        let text = |k: &str| field(k).and_then(|(_, v)| v.as_str()).map(str::to_string);
        let name = text("name")
            .or_else(|| def.last_token().filter(|t| !t.chars().all(|c| c.is_ascii_digit())))
            .unwrap_or_else(|| format!("{context} message"));
        // 3.x multi-format schema object `{schemaFormat, schema}`; 2.x message-level `schemaFormat`.
        let (format, format_at) = match value.get("payload") {
            Some(p) if p.get("schemaFormat").is_some() && p.get("schema").is_some() => {
                (p.get("schemaFormat").and_then(Value::as_str), def.child("payload").child("schemaFormat"))
            }
            _ => match field("schemaFormat") {
                Some((at, v)) => (v.as_str(), at),
                None => (None, def.child("schemaFormat")),
            },
        };
        let json_schema = format.is_none_or(crate::load::is_json_schema_format);
        let payload = match value.get("payload") {
            None => None,
            Some(_) if !json_schema => {
                source.warn(
                    source
                        .error(&format_at, format!("message `{name}`: payload schema format `{}` is not JSON Schema; no type is generated for it, its payload is raw bytes (`Vec<u8>`)", format.unwrap_or_default()))
                        .hint("JSON Schema (JSON or YAML) and the AsyncAPI schema format are read; other formats are passed through as bytes"),
                );
                None
            }
            Some(v) if v.get("schemaFormat").is_some() && v.get("schema").is_some() => {
                Some(def.child("payload").child("schema"))
            }
            Some(_) => Some(def.child("payload")),
        };
        let content_type = text("contentType").or_else(|| self.default_content_type.clone());
        let encoding = match content_type.as_deref().map(media_type) {
            _ if !json_schema => Encoding::Bytes,
            None => Encoding::Json,
            Some(t) if t == "application/json" || t == "text/json" || t.ends_with("+json") => Encoding::Json,
            Some(t) if t == "text/plain" => Encoding::Text,
            Some(_) => Encoding::Bytes,
        };
        let message = Message {
            node: def.clone(),
            name,
            title: text("title"),
            summary: text("summary"),
            description: text("description"),
            payload,
            headers: field("headers").map(|(at, _)| at),
            correlation_id: match field("correlationId") {
                Some((at, _)) => source
                    .reported(source.deref(&at))
                    .and_then(|(_, c)| c.get("location").and_then(Value::as_str).map(str::to_string)),
                None => None,
            },
            content_type,
            encoding,
        };
        self.messages.insert(def.clone(), message);
        Ok(def)
    }
}

/// `Application/JSON; charset=utf-8` → `application/json`.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// The entries of the object (or array) at `id`, in document order.
pub fn entries(source: &Source, id: &NodeId) -> Vec<(String, NodeId)> {
    match source.get(id) {
        Some(Value::Object(map)) => map.keys().map(|k| (k.clone(), id.child(k))).collect(),
        Some(Value::Array(items)) => (0..items.len()).map(|i| (i.to_string(), id.child(i.to_string()))).collect(),
        _ => Vec::new(),
    }
}

fn assign_streams(source: &Source, root: &NodeId, api: &mut Api, options: &ModelOptions) {
    let ext: RootExt = source.reported(jetstream::read(source, root)).flatten().unwrap_or_default();
    if ext.streams.is_empty() {
        for c in api.channels.iter().filter(|c| c.stream.is_some()) {
            source.report(
                source
                    .error(
                        &c.node.child("x-jetstream"),
                        format!("channel `{}` names a stream but the document declares none", c.key),
                    )
                    .hint("declare streams under the root `x-jetstream.streams`"),
            );
        }
        // No declared streams: one stream holds every channel, except request/reply
        // channels and channels received in a queue group (core NATS semantics).
        let name = options.default_stream.clone().unwrap_or_else(|| crate::naming::stream_name(&api.title));
        let mut core = vec![false; api.channels.len()];
        for (i, channel) in api.channels.iter().enumerate() {
            core[i] = channel.queue.is_some();
        }
        for op in &api.operations {
            if op.queue.is_some() {
                core[op.channel] = true;
            }
            if let Some(reply) = &op.reply {
                core[op.channel] = true;
                if let Some(c) = reply.channel {
                    core[c] = true;
                }
            }
        }
        // Nothing to store (everything is request/reply or queue-grouped): a core NATS service.
        if core.iter().all(|&c| c) {
            check_operations(source, api);
            return;
        }
        for (i, channel) in api.channels.iter_mut().enumerate() {
            if !core[i] {
                channel.stream = Some(name.clone());
            }
        }
        api.streams.insert(name, StreamSpec::default());
        api.default_stream = true;
    } else {
        // Names, numbers and durations of the streams are checked in `validate`.
        for channel in &mut api.channels {
            if let Some(stream) = &channel.stream {
                if !ext.streams.contains_key(stream) {
                    source.report(
                        source
                            .error(
                                &channel.node.child("x-jetstream").child("stream"),
                                format!("unknown stream `{stream}`"),
                            )
                            .hint(format!(
                                "declared streams: {}",
                                ext.streams.keys().cloned().collect::<Vec<_>>().join(", ")
                            )),
                    );
                    // Reported; later stages see a channel in no stream (its consumer settings are
                    // not checked again against a stream that does not exist).
                    channel.stream = None;
                    channel.stream_error = true;
                }
            }
        }
        api.streams = ext.streams;
    }
    check_operations(source, api)
}

/// Checks each operation against its channel once streams are assigned; warns about what a
/// JetStream subscriber does not use.
fn check_operations(source: &Source, api: &Api) {
    for op in &api.operations {
        if op.action == Action::Send && op.queue.is_some() {
            source.warn(
                source
                    .error(
                        &op.node.child("bindings").child("nats").child("queue"),
                        format!("queue group of send operation `{}` ignored", op.name),
                    )
                    .hint("queue groups are for receiving; publishers do not use them"),
            );
        }
        let channel = &api.channels[op.channel];
        if op.action == Action::Receive && channel.stream.is_some() && op.reply.is_none() {
            let queue_at = if op.queue.is_some() {
                Some(op.node.child("bindings").child("nats").child("queue"))
            } else if channel.queue.is_some() {
                Some(channel.node.child("bindings").child("nats").child("queue"))
            } else {
                None
            };
            if let Some(at) = queue_at {
                source.warn(source.error(&at, format!(
                    "queue group of operation `{}` ignored: channel `{}` is stored in stream `{}`, and its subscriber binds a durable pull consumer",
                    op.name, channel.key, channel.stream.as_deref().unwrap_or_default()
                )).hint("instances bound to one durable pull consumer already share its messages; for FastStream's `queue=` + `durable=` (a push consumer with a deliver group), provision the durable as a pull consumer"));
            }
            for m in &op.messages {
                let Some(payload) = &api.messages[m].payload else { continue };
                let is_array = source
                    .deref(payload)
                    .ok()
                    .is_some_and(|(_, v)| v.get("type").and_then(Value::as_str) == Some("array"));
                if is_array {
                    source.warn(source.error(payload, format!(
                        "operation `{}` receives JetStream messages whose payload is documented as an array; each message is decoded as one array",
                        op.name
                    )).hint("if this is FastStream's `PullSub(batch=True)`, each message on the wire is one item: point the message's `payload` at the item schema in an overlay"));
                }
            }
        }
    }
    for op in &api.operations {
        let channel = &api.channels[op.channel];
        if op.action == Action::Receive && op.consumer.is_some() && channel.stream.is_none() && !channel.stream_error {
            source.report(
                source
                    .error(
                        &op.node.child("x-jetstream"),
                        format!(
                            "operation `{}` has consumer settings but channel `{}` is in no stream",
                            op.name, channel.key
                        ),
                    )
                    .hint("add `x-jetstream: {stream: NAME}` to the channel, or remove the consumer settings"),
            );
        }
        if op.action == Action::Send && channel.subject.has_wildcard() {
            source.report(
                source
                    .error(
                        &channel.node,
                        format!("operation `{}` sends to wildcard subject `{}`", op.name, channel.subject),
                    )
                    .hint("wildcard addresses are valid for receiving only; use `{param}` tokens to send"),
            );
        }
    }
}
