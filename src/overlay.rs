//! The version-neutral section of an overlay, `x-asyncapi-nats`: settings addressed by what the
//! generator generates — an operation by its generated name, a channel by its NATS subject —
//! instead of by where one AsyncAPI version keeps them (2.x: a channel's `publish` /
//! `subscribe`; 3.x: `operations.<key>`). The same app documented as 2.6 and as 3.0 (FastStream
//! writes both) generates the same names, so one overlay serves both documents.
//!
//! ```yaml
//! x-asyncapi-nats:
//!   operations:
//!     events_ready_to_process:          # subscriber module / publisher function name
//!       x-jetstream: {durable: processor-ready, pull: {batch: 10}}
//!       message:                        # merged into each of the operation's messages
//!         payload: {$ref: '#/components/schemas/Item'}
//!   channels:
//!     payments.{region}.settled:        # the channel's NATS subject
//!       x-jetstream: {stream: allocation}
//! ```
//!
//! The section is merged after the rest of every overlay, each entry as a JSON Merge Patch into
//! the node the document version keeps it in. A name or subject the document does not generate,
//! one that names several operations or channels, and a key outside the few the section sets
//! are errors located in the overlay: overlays stay typo-proof.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::load::{NodeId, Source};
use crate::model::{self, ModelOptions};

/// The key of the section in an overlay (never merged into the document as such).
pub const SECTION: &str = "x-asyncapi-nats";

/// What an operation entry may set (`message`: each of the operation's messages).
const OPERATION_KEYS: &[&str] = &["x-jetstream", "bindings", "summary", "description", "message"];
/// What a channel entry may set.
const CHANNEL_KEYS: &[&str] = &["x-jetstream", "bindings", "description"];

/// A patch for one node of the document, and where the overlay writes it.
struct Patch {
    target: NodeId,
    value: Value,
    /// The entry in the overlay.
    at: NodeId,
}

/// Merges the `x-asyncapi-nats` section of each overlay (in order) into the document; all
/// errors of all sections at once, and nothing merged when there is one.
pub fn apply(source: &mut Source, options: &ModelOptions) -> Result<()> {
    let sections: Vec<NodeId> = source
        .overlays
        .iter()
        .map(|o| NodeId { file: o.as_str().into(), pointer: format!("/{SECTION}") })
        .filter(|id| source.get(id).is_some())
        .collect();
    if sections.is_empty() {
        return Ok(());
    }
    // The names the generated code has, from the document with the overlays' other parts merged
    // (its diagnostics are reported by the real run, after this one).
    let api = source.quietly(|s| model::build(s, options))?;
    let operations: Vec<(String, &model::Operation)> =
        api.operations.iter().map(|op| (generated_name(&op.base_name), op)).collect();
    let channels_at = source.root_id().child("channels");
    let channels: Vec<(String, NodeId)> =
        api.channels.iter().map(|c| (c.subject.to_string(), channels_at.child(&c.key))).collect();

    let mut errors = Vec::new();
    let mut patches = Vec::new();
    for section in sections {
        let Some(Value::Object(map)) = source.get(&section).cloned() else {
            errors.push(
                source
                    .error(&section, format!("`{SECTION}` must be a mapping"))
                    .hint("write `x-asyncapi-nats: {operations: {<generated name>: …}, channels: {<subject>: …}}`"),
            );
            continue;
        };
        for (key, entries) in &map {
            let at = section.child(key);
            let Value::Object(entries) = entries else {
                errors.push(source.error(&at, format!("`{key}` must be a mapping")));
                continue;
            };
            match key.as_str() {
                "operations" => {
                    for (name, patch) in entries {
                        let entry_at = at.child(name);
                        let found: Vec<&model::Operation> =
                            operations.iter().filter(|(n, _)| n == name).map(|(_, op)| *op).collect();
                        let known = || operations.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>();
                        let Some(op) = one(source, &entry_at, "operation", name, &found, known, &mut errors) else {
                            continue;
                        };
                        let Some(patch) = checked(source, &entry_at, patch, OPERATION_KEYS, &mut errors) else {
                            continue;
                        };
                        let mut op_patch = patch.clone();
                        if let Some(message) = op_patch.remove("message") {
                            for m in &op.messages {
                                patches.push(Patch {
                                    target: m.clone(),
                                    value: message.clone(),
                                    at: entry_at.child("message"),
                                });
                            }
                        }
                        patches.push(Patch { target: op.node.clone(), value: Value::Object(op_patch), at: entry_at });
                    }
                }
                "channels" => {
                    for (subject, patch) in entries {
                        let entry_at = at.child(subject);
                        let found: Vec<&NodeId> =
                            channels.iter().filter(|(s, _)| s == subject).map(|(_, node)| node).collect();
                        let known = || channels.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>();
                        let Some(node) = one(source, &entry_at, "channel", subject, &found, known, &mut errors) else {
                            continue;
                        };
                        let Some(patch) = checked(source, &entry_at, patch, CHANNEL_KEYS, &mut errors) else {
                            continue;
                        };
                        patches.push(Patch { target: node.clone(), value: Value::Object(patch.clone()), at: entry_at });
                    }
                }
                _ => errors.push(
                    source
                        .error(&at, format!("`{SECTION}` has no `{key}`"))
                        .hint("it sets `operations` (by generated name) and `channels` (by NATS subject)"),
                ),
            }
        }
    }
    if let Some(error) = Error::many(errors, Vec::new()) {
        return Err(error);
    }
    for patch in patches {
        source.merge_at(&patch.target, &patch.value, &patch.at.file, &patch.at.pointer);
    }
    Ok(())
}

/// The name of an operation's subscriber module or publisher function (without the message
/// suffix of a multi-message publisher, and without `r#`).
pub fn generated_name(base_name: &str) -> String {
    crate::naming::value_name(base_name).trim_start_matches("r#").to_string()
}

/// The single match of `key`, or a located error (none: the names there are; several: ambiguous).
fn one<'a, T>(
    source: &Source,
    at: &NodeId,
    what: &str,
    key: &str,
    found: &[&'a T],
    known: impl Fn() -> Vec<&'a str>,
    errors: &mut Vec<Error>,
) -> Option<&'a T> {
    match found {
        [one] => Some(*one),
        [] => {
            let mut known = known();
            known.sort_unstable();
            known.dedup();
            let listed = if known.len() > 12 {
                format!("{}, … ({} in all)", known[..12].join(", "), known.len())
            } else {
                known.join(", ")
            };
            let by = if what == "operation" { "generated names" } else { "NATS subjects" };
            errors.push(
                source
                    .error(at, format!("overlay names {what} `{key}`, which the document does not generate"))
                    .hint(format!("check the spelling (matched exactly); the document's {what} {by}: {listed}")),
            );
            None
        }
        _ => {
            errors.push(
                source.error(at, format!("overlay names {what} `{key}`, which is {} {what}s", found.len())).hint(
                    format!(
                        "set them one by one under `{}` (by their keys in the document)",
                        if what == "operation" { "operations" } else { "channels" }
                    ),
                ),
            );
            None
        }
    }
}

/// The entry as a mapping whose keys are all in `allowed`, or located errors.
fn checked<'a>(
    source: &Source,
    at: &NodeId,
    patch: &'a Value,
    allowed: &[&str],
    errors: &mut Vec<Error>,
) -> Option<&'a serde_json::Map<String, Value>> {
    let Value::Object(map) = patch else {
        errors.push(source.error(at, "an entry must be a mapping").hint(format!("it may set {}", allowed.join(", "))));
        return None;
    };
    let unknown: Vec<&String> = map.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
    for key in &unknown {
        errors.push(
            source
                .error(&at.child(key.as_str()), format!("`{key}` cannot be set here"))
                .hint(format!("an entry of `{SECTION}` sets {}", allowed.join(", "))),
        );
    }
    unknown.is_empty().then_some(map)
}
