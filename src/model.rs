//! AsyncAPI 2.x and 3.0 normalised into one version-neutral IR.
//!
//! 2.x semantics: `publish` = the application *receives*, `subscribe` = it *sends*.

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
    pub name: String,
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
}

/// Options that affect the model.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// Name of the assumed stream when the document declares none (default: from `info.title`).
    pub default_stream: Option<String>,
}

pub fn build(source: &Source, options: &ModelOptions) -> Result<Api> {
    let root = source.root_id();
    let doc = source.get(&root).unwrap_or(&Value::Null);
    let version_text = doc.get("asyncapi").and_then(Value::as_str).ok_or_else(|| {
        source
            .error(&root, "not an AsyncAPI document: no `asyncapi` version field")
            .hint("the root must contain `asyncapi: 3.0.0` or `asyncapi: 2.6.0`")
    })?;
    let version = match version_text.split('.').next() {
        Some("3") if version_text.starts_with("3.0") => SpecVersion::V3,
        Some("2") => SpecVersion::V2,
        _ => {
            return Err(source
                .error(&root.child("asyncapi"), format!("unsupported AsyncAPI version {version_text}"))
                .hint("asyncapi-nats reads AsyncAPI 3.0.x and 2.x (2.6 recommended)"));
        }
    };
    let info = root.child("info");
    let title = str_at(source, &info.child("title")).unwrap_or_else(|| "asyncapi service".into());
    let mut b = Builder { source, messages: BTreeMap::new() };
    let (channels, operations) = match version {
        SpecVersion::V3 => b.v3(&root)?,
        SpecVersion::V2 => b.v2(&root)?,
    };
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
    assign_streams(source, &root, &mut api, options)?;
    Ok(api)
}

fn str_at(source: &Source, id: &NodeId) -> Option<String> {
    source.get(id).and_then(Value::as_str).map(str::to_string)
}

struct Builder<'a> {
    source: &'a Source,
    messages: BTreeMap<NodeId, Message>,
}

impl Builder<'_> {
    fn v3(&mut self, root: &NodeId) -> Result<(Vec<Channel>, Vec<Operation>)> {
        let source = self.source;
        let mut channels = Vec::new();
        let mut channel_index = BTreeMap::new();
        let mut inboxes: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        for (key, node) in entries(source, &root.child("channels")) {
            let (def, value) = source.deref(&node)?;
            let binding_subject = value.pointer("/bindings/nats/subject").and_then(Value::as_str);
            let mut messages = Vec::new();
            for (_, m) in entries(source, &def.child("messages")) {
                messages.push(self.message(&m, &key)?);
            }
            let address = match (value.get("address"), binding_subject) {
                (Some(Value::String(a)), _) => a.clone(),
                (_, Some(s)) => s.to_string(),
                _ => {
                    // `address: null`: a dynamic subject such as the requester's reply inbox.
                    inboxes.insert(node.clone(), messages.clone());
                    inboxes.insert(def, messages);
                    continue;
                }
            };
            let mut channel = self.channel(&def, key.clone(), &address, value, messages)?;
            channel.node = node.clone();
            channel_index.insert(node, channels.len());
            channel_index.insert(def, channels.len());
            channels.push(channel);
        }
        let mut operations = Vec::new();
        for (name, node) in entries(source, &root.child("operations")) {
            let (def, value) = source.deref(&node)?;
            let action = match value.get("action").and_then(Value::as_str) {
                Some("send") => Action::Send,
                Some("receive") => Action::Receive,
                other => {
                    return Err(source
                        .error(&def.child("action"), format!("operation `{name}` has action {other:?}"))
                        .hint("`action` must be `send` or `receive`"));
                }
            };
            let channel = self.channel_ref(&def.child("channel"), &channel_index)?;
            let mut messages = self.message_refs(&def.child("messages"))?;
            if messages.is_empty() {
                messages = channels[channel].messages.clone();
            }
            let reply = match source.get(&def.child("reply")) {
                None => None,
                Some(_) => {
                    let (reply_def, _) = source.deref(&def.child("reply"))?;
                    let mut reply_channel = None;
                    let mut reply_messages = self.message_refs(&reply_def.child("messages"))?;
                    let at = reply_def.child("channel");
                    if source.get(&at).is_some() {
                        let target = self.ref_target(&at)?;
                        if let Some(inbox_messages) = inboxes.get(&target) {
                            if reply_messages.is_empty() {
                                reply_messages = inbox_messages.clone();
                            }
                        } else {
                            let c = self.channel_ref(&at, &channel_index)?;
                            if reply_messages.is_empty() {
                                reply_messages = channels[c].messages.clone();
                            }
                            reply_channel = Some(c);
                        }
                    }
                    Some(Reply { channel: reply_channel, messages: reply_messages })
                }
            };
            operations.push(self.operation(&def, name, action, channel, messages, reply)?);
        }
        Ok((channels, operations))
    }

    fn v2(&mut self, root: &NodeId) -> Result<(Vec<Channel>, Vec<Operation>)> {
        let source = self.source;
        let mut channels = Vec::new();
        let mut operations = Vec::new();
        for (key, node) in entries(source, &root.child("channels")) {
            let (def, value) = source.deref(&node)?;
            // FastStream's 2.6 output keeps the subject only in the channel binding.
            let address = value.pointer("/bindings/nats/subject").and_then(Value::as_str).unwrap_or(&key).to_string();
            let index = channels.len();
            let mut channel_messages = Vec::new();
            let mut ops = Vec::new();
            for (verb, action) in [("publish", Action::Receive), ("subscribe", Action::Send)] {
                let op_node = def.child(verb);
                if source.get(&op_node).is_none() {
                    continue;
                }
                let (op_def, op_value) = source.deref(&op_node)?;
                let mut messages = Vec::new();
                let msg_node = op_def.child("message");
                if source.get(&msg_node).is_some() {
                    let (msg_def, msg_value) = source.deref(&msg_node)?;
                    if msg_value.get("oneOf").is_some() {
                        for (_, m) in entries(source, &msg_def.child("oneOf")) {
                            messages.push(self.message(&m, &key)?);
                        }
                    } else {
                        messages.push(self.message(&msg_node, &key)?);
                    }
                }
                let name = op_value
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{verb} {address}"));
                for m in &messages {
                    if !channel_messages.contains(m) {
                        channel_messages.push(m.clone());
                    }
                }
                ops.push((op_def, name, action, messages));
            }
            channels.push(self.channel(&def, key, &address, value, channel_messages)?);
            for (op_def, name, action, messages) in ops {
                operations.push(self.operation(&op_def, name, action, index, messages, None)?);
            }
        }
        Ok((channels, operations))
    }

    fn channel(
        &self,
        def: &NodeId,
        key: String,
        address: &str,
        value: &Value,
        messages: Vec<NodeId>,
    ) -> Result<Channel> {
        let source = self.source;
        let subject = SubjectTemplate::parse(address).map_err(|e| {
            source
                .error(def, format!("channel `{key}`: invalid NATS subject: {e}"))
                .hint("subjects are dot-separated tokens; parameters are whole tokens like `orders.{region}.created`")
        })?;
        let mut parameters = Vec::new();
        for name in subject.params() {
            let p_node = def.child("parameters").child(name);
            let description = match source.get(&p_node) {
                Some(_) => {
                    let (_, p) = source.deref(&p_node)?;
                    p.get("description").and_then(Value::as_str).map(str::to_string)
                }
                None => None,
            };
            parameters.push(Parameter { name: name.to_string(), description });
        }
        for (declared, p_node) in entries(source, &def.child("parameters")) {
            if !subject.params().any(|p| p == declared) {
                return Err(source
                    .error(&p_node, format!("parameter `{declared}` does not appear in subject `{subject}`"))
                    .hint("each declared parameter must be used as `{name}` in the address"));
            }
        }
        let ext: ChannelExt = jetstream::read(source, def)?.unwrap_or_default();
        Ok(Channel {
            node: def.clone(),
            key,
            subject,
            parameters,
            description: value.get("description").and_then(Value::as_str).map(str::to_string),
            stream: ext.stream,
            queue: value.pointer("/bindings/nats/queue").and_then(Value::as_str).map(str::to_string),
            messages,
        })
    }

    fn operation(
        &self,
        def: &NodeId,
        name: String,
        action: Action,
        channel: usize,
        messages: Vec<NodeId>,
        reply: Option<Reply>,
    ) -> Result<Operation> {
        let source = self.source;
        let value = source.get(def).unwrap_or(&Value::Null);
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
        let (consumer, send) = match action {
            Action::Receive => {
                if source.get(&def.child("x-jetstream")).is_some_and(|v| v.get("msgId").is_some()) {
                    return Err(source
                        .error(&def.child("x-jetstream").child("msgId"), "`msgId` is for send operations")
                        .hint("remove it, or move it to the operation that publishes"));
                }
                (jetstream::read::<ConsumerSpec>(source, def)?, SendExt::default())
            }
            Action::Send => (None, jetstream::read::<SendExt>(source, def)?.unwrap_or_default()),
        };
        Ok(Operation {
            node: def.clone(),
            name,
            action,
            channel,
            messages,
            summary: text("summary"),
            description: text("description"),
            queue: value.pointer("/bindings/nats/queue").and_then(Value::as_str).map(str::to_string),
            consumer,
            send,
            reply,
        })
    }

    fn ref_target(&self, at: &NodeId) -> Result<NodeId> {
        let source = self.source;
        let reference = source.get(at).and_then(|v| v.get("$ref")).and_then(Value::as_str).ok_or_else(|| {
            source.error(at, "missing channel reference").hint("write `channel: {$ref: '#/channels/<id>'}`")
        })?;
        source.resolve_ref(at, reference)
    }

    fn channel_ref(&self, at: &NodeId, index: &BTreeMap<NodeId, usize>) -> Result<usize> {
        let target = self.ref_target(at)?;
        index.get(&target).copied().ok_or_else(|| {
            self.source
                .error(at, "this is not a channel with an address")
                .hint("reference an entry of `channels` that has an `address` (NATS subject)")
        })
    }

    /// 3.0 `messages: [{$ref: '#/channels/x/messages/y'}]`.
    fn message_refs(&mut self, at: &NodeId) -> Result<Vec<NodeId>> {
        let mut out = Vec::new();
        for (_, m) in entries(self.source, at) {
            out.push(self.message(&m, "")?);
        }
        Ok(out)
    }

    /// Registers the message behind `node` (following `$ref`s) and returns its canonical id.
    fn message(&mut self, node: &NodeId, context: &str) -> Result<NodeId> {
        let source = self.source;
        let (def, value) = source.deref(node)?;
        if self.messages.contains_key(&def) {
            return Ok(def);
        }
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
        let name = text("name")
            .or_else(|| def.last_token().filter(|t| !t.chars().all(|c| c.is_ascii_digit())))
            .unwrap_or_else(|| format!("{context} message"));
        let payload = value.get("payload").map(|_| {
            let p = def.child("payload");
            // 3.0 multi-format schema object: {schemaFormat, schema}
            match value.get("payload") {
                Some(v) if v.get("schemaFormat").is_some() && v.get("schema").is_some() => p.child("schema"),
                _ => p,
            }
        });
        if let Some(format) = value.pointer("/payload/schemaFormat").and_then(Value::as_str) {
            let json_like = format.contains("json") || format.contains("asyncapi");
            if !json_like {
                return Err(source
                    .error(&def.child("payload").child("schemaFormat"), format!("unsupported schemaFormat `{format}`"))
                    .hint("asyncapi-nats generates types from AsyncAPI/JSON Schema payloads only"));
            }
        }
        let message = Message {
            node: def.clone(),
            name,
            title: text("title"),
            summary: text("summary"),
            description: text("description"),
            payload,
            headers: value.get("headers").map(|_| def.child("headers")),
            correlation_id: match value.get("correlationId") {
                Some(_) => {
                    let (_, c) = source.deref(&def.child("correlationId"))?;
                    c.get("location").and_then(Value::as_str).map(str::to_string)
                }
                None => None,
            },
            content_type: text("contentType"),
        };
        self.messages.insert(def.clone(), message);
        Ok(def)
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

fn assign_streams(source: &Source, root: &NodeId, api: &mut Api, options: &ModelOptions) -> Result<()> {
    let ext: RootExt = jetstream::read(source, root)?.unwrap_or_default();
    if ext.streams.is_empty() {
        if let Some(c) = api.channels.iter().find(|c| c.stream.is_some()) {
            return Err(source
                .error(
                    &c.node.child("x-jetstream"),
                    format!("channel `{}` names a stream but the document declares none", c.key),
                )
                .hint("declare streams under the root `x-jetstream.streams`"));
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
        for (i, channel) in api.channels.iter_mut().enumerate() {
            if !core[i] {
                channel.stream = Some(name.clone());
            }
        }
        api.streams.insert(name, StreamSpec::default());
        api.default_stream = true;
    } else {
        for (name, spec) in &ext.streams {
            let at = root.child("x-jetstream").child("streams").child(name);
            crate::naming::check_jetstream_name(name)
                .map_err(|e| source.error(&at, format!("stream name `{name}`: {e}")))?;
            for (field, value) in [("maxAge", &spec.max_age), ("duplicateWindow", &spec.duplicate_window)] {
                if let Some(v) = value {
                    crate::duration::parse(v).map_err(|e| source.error(&at.child(field), e))?;
                }
            }
        }
        for channel in &api.channels {
            if let Some(stream) = &channel.stream {
                if !ext.streams.contains_key(stream) {
                    return Err(source
                        .error(&channel.node.child("x-jetstream").child("stream"), format!("unknown stream `{stream}`"))
                        .hint(format!(
                            "declared streams: {}",
                            ext.streams.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                }
            }
        }
        api.streams = ext.streams;
    }
    for op in &api.operations {
        let channel = &api.channels[op.channel];
        if op.action == Action::Receive && op.consumer.is_some() && channel.stream.is_none() {
            return Err(source
                .error(
                    &op.node.child("x-jetstream"),
                    format!(
                        "operation `{}` has consumer settings but channel `{}` is in no stream",
                        op.name, channel.key
                    ),
                )
                .hint("add `x-jetstream: {stream: NAME}` to the channel, or remove the consumer settings"));
        }
        if op.action == Action::Send && channel.subject.has_wildcard() {
            return Err(source
                .error(
                    &channel.node,
                    format!("operation `{}` sends to wildcard subject `{}`", op.name, channel.subject),
                )
                .hint("wildcard addresses are valid for receiving only; use `{param}` tokens to send"));
        }
        if let Some(spec) = &op.consumer {
            let at = op.node.child("x-jetstream");
            if let Some(d) = &spec.durable {
                crate::naming::check_jetstream_name(d)
                    .map_err(|e| source.error(&at.child("durable"), format!("durable `{d}`: {e}")))?;
            }
            if spec.filter_subject.is_some() && spec.filter_subjects.is_some() {
                return Err(source
                    .error(&at, "both `filterSubject` and `filterSubjects` are set")
                    .hint("keep one of them"));
            }
            let durations = [
                ("ackWait", spec.ack_wait.as_ref()),
                ("inactiveThreshold", spec.inactive_threshold.as_ref()),
                ("pull/expires", spec.pull.expires.as_ref()),
            ];
            for (field, value) in durations.into_iter().chain(spec.backoff.iter().map(|b| ("backoff", Some(b)))) {
                if let Some(v) = value {
                    let node = field.split('/').fold(at.clone(), |n, f| n.child(f));
                    crate::duration::parse(v).map_err(|e| source.error(&node, e))?;
                }
            }
        }
    }
    Ok(())
}
