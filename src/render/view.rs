//! The view model: everything the templates print, computed here in Rust.
//! Templates never decide names, types or escaping.

use std::collections::BTreeMap;

use heck::ToShoutySnakeCase;
use serde::Serialize;

use crate::duration;
use crate::error::Result;
use crate::escape;
use crate::load::FastMap;
use crate::model::{Action, Api, Channel, Encoding, Message};
use crate::naming::{self, Namespace};
use crate::subject::Token;
use crate::types::TypeSpace;

pub use super::types::{ExampleView, FieldView, TyWriter, TypeItem, ValidationView, VariantView, WireView};

/// What to emit (build scripts may want only some parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub types: bool,
    pub publishers: bool,
    pub subscribers: bool,
}

#[derive(Debug, Serialize)]
pub struct CrateView {
    pub crate_name: String,
    pub crate_version: String,
    /// TOML string literal.
    pub crate_description: String,
    pub docs: Vec<String>,
    pub uses_time: bool,
    pub uses_uuid: bool,
    pub emit_types: bool,
    pub emit_publishers: bool,
    pub emit_subscribers: bool,
    /// The `Cargo.toml` line depending on the runtime crate; `None` when its source is vendored.
    pub runtime_dependency: Option<String>,
    pub extra_derives: String,
    pub type_attributes: Vec<String>,
    pub types: Vec<TypeItem>,
    /// Date/time support types the types use.
    pub wire: WireView,
    /// Support of the generated `validate()` methods.
    pub validation: ValidationView,
    /// Whether the types use `regex` (schema `pattern`s).
    pub uses_regex: bool,
    /// Whether the types implement `schemars::JsonSchema`: behind the crate's `schemars` feature
    /// (`schemars_feature`), or because `Config::derive` asks for it (module mode).
    pub schemars: bool,
    pub schemars_feature: bool,
    /// Indentation of the items in the output file: 0 in a crate's module files, 4 in the single
    /// file of [`crate::Config::generate`] (its modules are nested), for the items written in
    /// prettyplease's layout.
    pub base: usize,
    /// Round-trip tests of the document's examples.
    pub examples: Vec<ExampleView>,
    pub publishers: Vec<PublisherView>,
    // The subjects and subscribers are not here: `subjects.rs` and `subscribers.rs` are rendered
    // from them while the view is made ([`build_view`]; [`SubjectsGlobals`]).
}

#[derive(Debug, Serialize)]
pub struct SubjectView {
    pub fn_name: String,
    pub parse_fn: String,
    pub params_struct: String,
    pub filter_const: String,
    pub template: String,
    /// The template for prose (`orders.{region}.created`), without quotes.
    pub template_text: String,
    pub filter: String,
    pub docs: Vec<String>,
    pub params: Vec<ParamView>,
    /// Only channels without wildcards get a builder.
    pub buildable: bool,
    /// `format!` string with `{}` for each parameter.
    pub format: String,
    /// The address is one parameter (`{queue}`): the subject is the value itself, no `format!`.
    pub single_param: bool,
    pub tokens: Vec<TokenView>,
}

#[derive(Debug, Serialize)]
pub struct ParamView {
    pub name: String,
    /// String literal of the spec name, for errors.
    pub spec_name: String,
    pub docs: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenView {
    /// `literal`, `param`, `star`, `rest`
    pub kind: &'static str,
    /// String literal for literals, parameter variable for params.
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct PublisherView {
    pub fn_name: String,
    pub docs: Vec<String>,
    pub subject_fn: String,
    pub fallible_subject: bool,
    pub params: Vec<String>,
    pub payload_ty: String,
    pub headers_ty: Option<String>,
    /// The `headers` argument of the runtime call.
    pub headers_arg: String,
    pub jetstream: bool,
    /// The `msg_id` argument of the runtime call.
    pub msg_id_arg: String,
    /// Reply payload type for request/reply.
    pub reply_ty: Option<String>,
    pub many_args: bool,
    /// `runtime::Format` of the payload and of the reply.
    pub format: String,
    pub reply_format: String,
}

#[derive(Debug, Serialize)]
pub struct SubscriberView {
    pub mod_name: String,
    pub docs: Vec<String>,
    /// `jetstream`, `core`, `responder`
    pub kind: &'static str,
    pub stream: String,
    pub durable: String,
    pub filter_subjects: Vec<String>,
    pub batch: u32,
    pub expires_ms: u64,
    pub max_bytes: u64,
    pub backoff_ms: Vec<u64>,
    pub max_deliver: i64,
    /// The `correlation_id` field of the consumer settings (`None` or `Some(…Location::…)`).
    pub correlation_id_arg: String,
    pub queue: Option<String>,
    pub payload_ty: String,
    /// Variants `(name, type)` when the operation accepts several messages.
    pub payload_variants: Vec<(String, String)>,
    /// Headers type of the operation's message, when it declares a `headers` schema.
    pub headers_ty: Option<String>,
    pub reply_ty: Option<String>,
    pub parse_fn: Option<String>,
    pub params_struct: Option<String>,
    /// `runtime::Format` of the payload and of the reply.
    pub format: String,
    pub reply_format: String,
}

/// Options for the view that come from `Config`.
pub struct ViewOptions<'a> {
    pub crate_name: Option<&'a str>,
    pub parts: Parts,
    pub extra_derives: &'a [String],
    pub type_attributes: &'a [String],
    /// Schema (component key or node) → existing Rust type path.
    pub type_overrides: &'a BTreeMap<String, String>,
    /// Refuse date-times without an offset (strict RFC 3339).
    pub strict_datetimes: bool,
    /// Derive `schemars::JsonSchema` behind the generated crate's `schemars` feature (crate mode:
    /// a module for `include!` cannot declare features).
    pub schemars_feature: bool,
    /// See [`CrateView::base`].
    pub base: usize,
}

/// The subject builders, one per distinct address (`subject_of[channel]` indexes them): from the
/// model alone, so `subjects.rs` can be made while the types are built (`Config::prepare`).
pub struct Subjects {
    pub views: Vec<SubjectView>,
    pub subject_of: Vec<usize>,
}

impl Subjects {
    pub fn of(api: &Api) -> Subjects {
        let (views, subject_of) = subject_views(api);
        Subjects { views, subject_of }
    }

    /// Whether some subject builder validates parameters (else `check_parameter` would be dead code).
    fn use_check_parameter(&self) -> bool {
        self.views.iter().any(|s| s.buildable && !s.params.is_empty())
    }
}

/// What `subjects.rs.jinja` reads besides the subjects.
#[derive(Debug, Serialize)]
pub struct SubjectsGlobals {
    /// Whether the output uses async-nats (types-only output does not).
    pub needs_nats: bool,
    /// String literal: the inbox prefix the generated permissions allow.
    pub inbox_prefix: String,
    /// Whether some subject builder validates parameters (else `check_parameter` would be dead code).
    pub uses_check_parameter: bool,
    /// See [`CrateView::base`].
    pub base: usize,
}

impl SubjectsGlobals {
    pub fn new(api: &Api, subjects: &Subjects, options: &ViewOptions) -> SubjectsGlobals {
        SubjectsGlobals {
            needs_nats: options.parts.publishers || options.parts.subscribers,
            inbox_prefix: lit(&crate::manifests::inbox_prefix(&api.title)),
            uses_check_parameter: subjects.use_check_parameter(),
            base: options.base,
        }
    }
}

/// The view model; the document must have passed `validate::check`. `subjects`: [`Subjects::of`]
/// `api`, from which `subjects.rs` was rendered already (they are not in the view).
/// `make_subscribers` is handed the subscriber views on the thread that made them, while the
/// types' views are made on another (they are not in the view either); its result is returned
/// beside the view.
///
/// `api` and `space` are freed by whichever thread is done with them last (the calling thread,
/// after the types' views, while the other renders `subscribers.rs`): 17 ms at 5,000 channels
/// off the stage.
pub fn build_view<R: Send>(
    api: Api,
    space: TypeSpace,
    options: &ViewOptions,
    subjects: Subjects,
    make_subscribers: &(dyn Fn(Vec<SubscriberView>) -> R + Sync),
) -> Result<(CrateView, R)> {
    let mut extra_derives = String::new();
    for d in options.extra_derives {
        extra_derives.push_str(", ");
        extra_derives.push_str(d);
    }
    let crate_name = options.crate_name.map(str::to_string).unwrap_or_else(|| naming::crate_name(&api.title));
    let mut docs = Vec::new();
    docs.push(format!("{} {}", api.title, api.api_version).trim().to_string());
    if let Some(d) = &api.description {
        docs.push(String::new());
        docs.push(d.clone());
    }
    let version_ok = |v: &str| {
        v.split('.').count() == 3 && v.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    let crate_version = if version_ok(&api.api_version) { api.api_version.clone() } else { "0.1.0".into() };
    let crate_description =
        escape::toml_str(&format!("NATS client for {} (generated from its AsyncAPI document)", api.title));
    let inputs = std::sync::Arc::new((api, space));
    // The types on one core, the publishers and subscribers on another.
    let ((types, validation, examples), (wire, uses_uuid), channels) = std::thread::scope(|scope| {
        let theirs = std::sync::Arc::clone(&inputs);
        let channels = scope.spawn(move || -> Result<_> {
            let (api, space) = &*theirs;
            // Each thread indexes the types itself (4 ms at 5,000 channels, on both cores at
            // once): one index shared by both would keep the model and the types alive until
            // both threads end, and freeing them then takes 17 ms.
            let tys = TyWriter::new(space, options.type_overrides);
            let Subjects { views: subjects, subject_of } = subjects;
            let publishers =
                if options.parts.publishers { publisher_views(api, &tys, &subjects, &subject_of)? } else { Vec::new() };
            let subscribers = if options.parts.subscribers {
                subscriber_views(api, &tys, &subjects, &subject_of)
            } else {
                Vec::new()
            };
            // Done with the document's model and types (the other thread frees them).
            drop(theirs);
            Ok((publishers, make_subscribers(subscribers)))
        });
        let mine = inputs;
        let types = if options.parts.types {
            let space = &mine.1;
            let tys = TyWriter::new(space, options.type_overrides);
            let (types, validation) =
                super::types::type_items(space, &tys, &extra_derives, options.type_attributes, options.base);
            (types, validation, super::types::example_views(space, &tys))
        } else {
            (Vec::new(), ValidationView::default(), Vec::new())
        };
        // Here, not beside the publishers' views: that thread renders `subscribers.rs` too.
        let wire = super::types::wire_view(&mine.1, !options.strict_datetimes);
        drop(mine);
        (types, wire, channels.join().expect("view thread panicked"))
    });
    let (publishers, made) = channels?;
    let view = CrateView {
        crate_name,
        crate_version,
        crate_description,
        docs: doc_lines(Some(&docs.join("\n"))),
        uses_time: options.parts.types && (wire.date_time || wire.date || wire.time),
        uses_uuid: options.parts.types && uses_uuid,
        emit_types: options.parts.types,
        emit_publishers: options.parts.publishers,
        emit_subscribers: options.parts.subscribers,
        runtime_dependency: None,
        extra_derives,
        type_attributes: options.type_attributes.to_vec(),
        examples,
        wire,
        uses_regex: !validation.patterns.is_empty(),
        schemars: options.parts.types
            && (options.schemars_feature || options.extra_derives.iter().any(|d| d.ends_with("JsonSchema"))),
        schemars_feature: options.parts.types && options.schemars_feature,
        base: options.base,
        validation,
        types,
        publishers,
    };
    Ok((view, made))
}

/// One builder per distinct subject template, in document order; `subject_of[channel]` indexes it.
fn subject_views(api: &Api) -> (Vec<SubjectView>, Vec<usize>) {
    let mut views: Vec<SubjectView> = Vec::new();
    let mut by_template: BTreeMap<String, usize> = BTreeMap::new();
    let mut fns = Namespace::with_reserved(&["check_parameter"]);
    let mut subject_of = vec![0; api.channels.len()];
    // By address, then channel key: neither the output order nor collision suffixes depend on the
    // order of `channels` in the document.
    let mut order: Vec<usize> = (0..api.channels.len()).collect();
    order.sort_by_cached_key(|&i| (api.channels[i].subject.to_string(), api.channels[i].key.clone()));
    // Parameter descriptions recur across channels (`tenantId: Tenant of the entity.`): their doc
    // lines are written once each.
    let mut param_docs: FastMap<Option<&str>, Vec<String>> = FastMap::default();
    for index in order {
        let channel = &api.channels[index];
        let template = channel.subject.to_string();
        if let Some(&i) = by_template.get(&template) {
            subject_of[index] = i;
            continue;
        }
        let literals: Vec<&str> = channel.subject.literals().collect();
        let base = naming::value_name(&if literals.is_empty() { "subject".to_string() } else { literals.join("_") });
        // Claim the whole family (`x`, `parse_x`) so no two channels share a derived name.
        let fn_name = loop {
            let candidate = fns.claim(&base);
            let bare = candidate.trim_start_matches("r#");
            let parse = format!("parse_{bare}");
            if fns.is_free(&parse) {
                fns.claim(&parse);
                break candidate;
            }
        };
        let bare = fn_name.trim_start_matches("r#").to_string();
        let mut params_ns = Namespace::with_reserved(&["subject"]);
        let param_names: BTreeMap<String, String> =
            channel.subject.params().map(|p| (p.to_string(), params_ns.claim(&naming::value_name(p)))).collect();
        let params = channel
            .parameters
            .iter()
            .map(|p| ParamView {
                name: param_names[&p.name].clone(),
                spec_name: lit(&p.name),
                docs: param_docs
                    .entry(p.description.as_deref())
                    .or_insert_with(|| doc_lines(p.description.as_deref()))
                    .clone(),
            })
            .collect();
        let tokens = channel
            .subject
            .tokens
            .iter()
            .map(|t| match t {
                Token::Literal(l) => TokenView { kind: "literal", value: lit(l) },
                Token::Param(p) => TokenView { kind: "param", value: param_names[p].clone() },
                Token::Star => TokenView { kind: "star", value: String::new() },
                Token::Rest => TokenView { kind: "rest", value: String::new() },
            })
            .collect();
        let format = channel
            .subject
            .tokens
            .iter()
            .map(|t| match t {
                Token::Literal(l) => l.clone(),
                _ => "{}".into(),
            })
            .collect::<Vec<_>>()
            .join(".");
        let mut docs = channel.description.clone().unwrap_or_default();
        if !docs.is_empty() {
            docs.push_str("\n\n");
        }
        docs.push_str(&format!("Subject: `{template}`"));
        by_template.insert(template.clone(), views.len());
        subject_of[index] = views.len();
        views.push(SubjectView {
            parse_fn: format!("parse_{bare}"),
            params_struct: format!("{}Params", naming::type_name(&bare)),
            filter_const: format!("{}_FILTER", bare.to_shouty_snake_case()),
            template: lit(&template),
            template_text: escape::comment_text(&template.replace('`', "")),
            filter: lit(&channel.subject.filter()),
            docs: doc_lines(Some(&docs)),
            params,
            buildable: !channel.subject.has_wildcard(),
            single_param: format == "{}",
            format: lit(&format),
            tokens,
            fn_name,
        });
    }
    (views, subject_of)
}

/// The operations with `action`, by name: neither the output order nor collision suffixes depend
/// on the order of `operations` (or of 2.x channels) in the document.
fn sorted_operations(api: &Api, action: Action) -> Vec<&crate::model::Operation> {
    let mut ops: Vec<_> = api.operations.iter().filter(|o| o.action == action).collect();
    ops.sort_by(|a, b| (&a.base_name, &a.name, &a.node).cmp(&(&b.base_name, &b.name, &b.node)));
    ops
}

fn publisher_views(
    api: &Api,
    tys: &TyWriter,
    subjects: &[SubjectView],
    subject_of: &[usize],
) -> Result<Vec<PublisherView>> {
    let mut ns = Namespace::with_reserved(&["new", "from_jetstream", "client", "jetstream"]);
    let mut out = Vec::new();
    for op in sorted_operations(api, Action::Send) {
        let channel = &api.channels[op.channel];
        let subject = &subjects[subject_of[op.channel]];
        let messages: Vec<&Message> = op.messages.iter().map(|m| &api.messages[m]).collect();
        let reply_message = op.reply.as_ref().and_then(|r| r.messages.first()).map(|m| &api.messages[m]);
        let reply_ty = op.reply.as_ref().map(|_| tys.payload(reply_message, "super::types::"));
        let msg_id = match &op.send.msg_id {
            None => None,
            Some(expr) => Some(parse_runtime_expression(expr).ok_or_else(|| {
                crate::error::Error::new(format!("unsupported msgId expression `{expr}`")).hint(
                    "this is a bug in asyncapi-nats (validate::check accepted it); please report it with the spec",
                )
            })?),
        };
        let variants: Vec<Option<&Message>> =
            if messages.is_empty() { vec![None] } else { messages.iter().copied().map(Some).collect() };
        for message in &variants {
            let base = match message {
                Some(m) if variants.len() > 1 => format!("{} {}", op.base_name, m.name),
                _ => op.base_name.clone(),
            };
            let headers_ty = message.and_then(|m| m.headers.as_ref()).map(|h| tys.of_node(Some(h), "super::types::"));
            let mut docs = op_docs(op.summary.as_deref(), op.description.as_deref());
            if let Some(m) = message {
                docs.push_str(&message_docs(m));
            }
            docs.push_str(&format!(
                "\n\nSubject: `{}`{}",
                channel.subject,
                if channel.stream.is_some() {
                    " (JetStream: waits for the stream's acknowledgement)"
                } else {
                    " (core NATS)"
                }
            ));
            out.push(PublisherView {
                fn_name: ns.claim(&naming::value_name(&base)),
                docs: doc_lines(Some(&docs)),
                subject_fn: subject.fn_name.clone(),
                fallible_subject: !subject.params.is_empty(),
                params: subject.params.iter().map(|p| p.name.clone()).collect(),
                payload_ty: tys.payload(*message, "super::types::"),
                headers_ty: headers_ty.clone(),
                headers_arg: if headers_ty.is_some() {
                    "Some(headers)".into()
                } else {
                    "::std::option::Option::<&()>::None".into()
                },
                jetstream: channel.stream.is_some() && op.reply.is_none(),
                msg_id_arg: msg_id.clone().unwrap_or_else(|| "None".into()),
                reply_ty: reply_ty.clone(),
                many_args: subject.params.len() + 3 > 7,
                format: format_arg(*message, "super::runtime"),
                reply_format: format_arg(reply_message, "super::runtime"),
            });
        }
    }
    Ok(out)
}

/// `$message.payload#/a/b` → `Some(…MsgId::Payload("/a/b"))`; `$message.header#/X` → `…MsgId::Header("/X")`.
fn parse_runtime_expression(expr: &str) -> Option<String> {
    location_expression(expr, "super::runtime::MsgId")
}

/// Like [`parse_runtime_expression`], as a `runtime::Location` seen from a subscriber module.
fn subscriber_location(expr: &str) -> Option<String> {
    location_expression(expr, "super::super::runtime::Location")
}

fn location_expression(expr: &str, ty: &str) -> Option<String> {
    let (part, pointer) = crate::validate::message_location(expr)?;
    let variant = match part {
        crate::validate::MessagePart::Payload => "Payload",
        crate::validate::MessagePart::Header => "Header",
    };
    Some(format!("Some({ty}::{variant}({}))", lit(pointer)))
}

fn subscriber_views(api: &Api, tys: &TyWriter, subjects: &[SubjectView], subject_of: &[usize]) -> Vec<SubscriberView> {
    let mut ns = Namespace::default();
    let mut out = Vec::new();
    for op in sorted_operations(api, Action::Receive) {
        let channel: &Channel = &api.channels[op.channel];
        let subject = &subjects[subject_of[op.channel]];
        let spec = op.consumer.clone().unwrap_or_default();
        let kind = match (&channel.stream, &op.reply) {
            (_, Some(_)) => "responder",
            (Some(_), None) => "jetstream",
            (None, None) => "core",
        };
        let filter_subjects = match (&spec.filter_subject, &spec.filter_subjects) {
            (Some(f), _) => vec![f.clone()],
            (_, Some(fs)) => fs.clone(),
            _ => vec![channel.subject.filter()],
        };
        let ms = |d: &Option<String>, default: u64| {
            d.as_deref().and_then(|v| duration::parse(v).ok()).map_or(default, |d| d.as_millis() as u64)
        };
        let messages: Vec<&Message> = op.messages.iter().map(|m| &api.messages[m]).collect();
        let payload_variants: Vec<(String, String)> = if messages.len() > 1 {
            let mut vns = Namespace::default();
            messages
                .iter()
                .map(|m| (vns.claim(&naming::type_name(&m.name)), tys.payload(Some(m), "super::super::types::")))
                .collect()
        } else {
            Vec::new()
        };
        let payload_ty = match messages.as_slice() {
            [only] => tys.payload(Some(only), "super::super::types::"),
            [] => "::serde_json::Value".into(),
            _ => "Payload".into(),
        };
        let reply_message = op.reply.as_ref().and_then(|r| r.messages.first()).map(|m| &api.messages[m]);
        let mut docs = op_docs(op.summary.as_deref(), op.description.as_deref());
        for m in &messages {
            docs.push_str(&message_docs(m));
        }
        out.push(SubscriberView {
            mod_name: ns.claim(&naming::value_name(&op.base_name)),
            docs: doc_lines(Some(&docs)),
            kind,
            stream: lit(channel.stream.as_deref().unwrap_or_default()),
            durable: lit(&spec.durable.clone().unwrap_or_else(|| naming::durable_name(&op.base_name))),
            filter_subjects: filter_subjects.iter().map(|s| lit(s)).collect(),
            batch: spec.pull.batch.unwrap_or(100).max(1),
            expires_ms: ms(&spec.pull.expires, 30_000),
            max_bytes: spec.pull.max_bytes.unwrap_or(0),
            backoff_ms: spec
                .backoff
                .iter()
                .filter_map(|b| duration::parse(b).ok())
                .map(|d| d.as_millis() as u64)
                .collect(),
            max_deliver: spec.max_deliver.unwrap_or_else(|| crate::manifests::default_max_deliver(spec.backoff.len())),
            // The first message's correlation id location (all messages of a channel share it in practice).
            correlation_id_arg: messages
                .iter()
                .find_map(|m| m.correlation_id.as_deref().and_then(subscriber_location))
                .unwrap_or_else(|| "None".into()),
            queue: op.queue.clone().or_else(|| channel.queue.clone()).map(|q| lit(&q)),
            payload_ty,
            payload_variants,
            // With several messages, the first declared headers schema (they describe one channel).
            headers_ty: messages
                .iter()
                .find_map(|m| m.headers.as_ref())
                .map(|h| tys.of_node(Some(h), "super::super::types::")),
            reply_ty: op.reply.as_ref().map(|_| tys.payload(reply_message, "super::super::types::")),
            format: format_arg(messages.first().copied(), "super::super::runtime"),
            reply_format: format_arg(reply_message, "super::super::runtime"),
            parse_fn: (!subject.params.is_empty()).then(|| subject.parse_fn.clone()),
            params_struct: (!subject.params.is_empty()).then(|| subject.params_struct.clone()),
        });
    }
    out
}

/// `runtime::Format` of a message (JSON when there is none).
fn format_arg(message: Option<&Message>, runtime: &str) -> String {
    let variant = match message.map(|m| m.encoding) {
        Some(Encoding::Text) => "Text",
        Some(Encoding::Bytes) => "Bytes",
        _ => "Json",
    };
    format!("{runtime}::Format::{variant}")
}

fn op_docs(summary: Option<&str>, description: Option<&str>) -> String {
    [summary, description].into_iter().flatten().collect::<Vec<_>>().join("\n\n")
}

fn message_docs(m: &Message) -> String {
    let mut s = format!("\n\nMessage `{}`", m.name);
    if let Some(part) = [&m.summary, &m.title, &m.description].into_iter().flatten().find(|p| **p != m.name) {
        s.push_str(&format!(": {part}"));
    }
    s
}

/// A Rust string literal.
pub fn lit(s: &str) -> String {
    // Printable ASCII other than `"` and `\` is written as itself by `{:?}` (`escape::rust_str`):
    // most names and values are, and a literal is made for each of them.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return out;
    }
    escape::rust_str(s)
}

/// Rustdoc lines as string literals for `#[doc = …]` (see [`escape::doc_lines`]).
pub fn doc_lines(text: Option<&str>) -> Vec<String> {
    escape::doc_lines(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lit`'s shortcut writes what `escape::rust_str` writes, for every byte and some text.
    #[test]
    fn literals_are_rust_str() {
        let mut cases: Vec<String> = (0u32..0x250).filter_map(char::from_u32).map(|c| format!("a{c}b")).collect();
        cases.extend(
            [
                "",
                "plain",
                "with space",
                "quote\"",
                "back\\slash",
                "tab\t",
                "it's",
                "{braces}",
                "\u{7f}",
                "é",
                "\u{202e}",
            ]
            .map(String::from),
        );
        for case in &cases {
            assert_eq!(lit(case), escape::rust_str(case), "{case:?}");
        }
    }
}
