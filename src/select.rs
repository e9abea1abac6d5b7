//! `--only`: one service's crate from a platform's document. A document that describes thousands
//! of channels makes a crate that takes minutes and gigabytes to compile; a service uses a few of
//! them. The selection keeps the operations whose generated names (the subscriber module and
//! publisher function names, the keys of the `x-asyncapi-nats` overlay section) match a pattern,
//! the channels they use, the messages those exchange and the streams those channels are stored
//! in; types are generated for those messages and what they reference, and the manifests and
//! permissions cover only what is kept.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::load::NodeId;
use crate::model::Api;
use crate::overlay::generated_name;

/// Keeps what the operations matching `patterns` need (nothing is removed without patterns).
/// A pattern that matches no operation is an error: a typo would otherwise make a crate without
/// the operation the service needs.
pub fn select(api: &mut Api, patterns: &[String]) -> Result<()> {
    if patterns.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = api.operations.iter().map(|op| generated_name(&op.base_name)).collect();
    let mut errors = crate::error::Collected::default();
    for pattern in patterns {
        if !names.iter().any(|name| matches(pattern, name)) {
            let mut known: Vec<&str> = names.iter().map(String::as_str).collect();
            known.sort_unstable();
            let shown = known.iter().take(12).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            let more = if known.len() > 12 { format!(" and {} more", known.len() - 12) } else { String::new() };
            errors.push(
                Error::new(format!("--only `{}` matches no operation", crate::escape::visible(pattern)))
                    .hint(format!("patterns match generated operation names (`*` for any characters): {shown}{more}")),
            );
        }
    }
    if let Some(error) = errors.into_error(Vec::new()) {
        return Err(error);
    }
    let keep: Vec<bool> = names.iter().map(|name| patterns.iter().any(|p| matches(p, name))).collect();
    let mut keep = keep.into_iter();
    api.operations.retain(|_| keep.next().unwrap_or(false));

    // Channels the kept operations use (their own and their reply channels), renumbered.
    let mut used = vec![false; api.channels.len()];
    for op in &api.operations {
        used[op.channel] = true;
        if let Some(c) = op.reply.as_ref().and_then(|r| r.channel) {
            used[c] = true;
        }
    }
    let mut index = vec![usize::MAX; api.channels.len()];
    let mut next = 0;
    for (i, u) in used.iter().enumerate() {
        if *u {
            index[i] = next;
            next += 1;
        }
    }
    let mut used_iter = used.iter();
    api.channels.retain(|_| *used_iter.next().unwrap_or(&false));
    for op in &mut api.operations {
        op.channel = index[op.channel];
        if let Some(reply) = &mut op.reply {
            reply.channel = reply.channel.map(|c| index[c]);
        }
    }

    // Messages the kept operations exchange. A kept channel's other messages are left out: in
    // 2.x they belong to the channel's other operation; in 3.x an operation that names none
    // exchanges all of its channel's (the model has copied them into the operation already).
    let mut messages: BTreeSet<NodeId> = BTreeSet::new();
    for op in &api.operations {
        messages.extend(op.messages.iter().cloned());
        messages.extend(op.reply.iter().flat_map(|r| r.messages.iter().cloned()));
    }
    api.messages.retain(|node, _| messages.contains(node));
    for channel in &mut api.channels {
        channel.messages.retain(|m| messages.contains(m));
    }

    let streams: BTreeSet<&str> = api.channels.iter().filter_map(|c| c.stream.as_deref()).collect();
    api.streams.retain(|name, _| streams.contains(name.as_str()));
    Ok(())
}

/// Whether a warning at `at` concerns what the selection left out: it is in the root document's
/// `channels`, `operations` or `components/messages` (where the model warns about channels,
/// operations and messages it skips or approximates) and not inside a kept channel, operation or
/// message. Inside a kept channel, what is in one of its operations (2.x `publish`/`subscribe`)
/// or messages counts as kept only inside a kept operation or message. A service's crate is not
/// held to the rest of the platform's document.
pub fn left_out(api: &Api, root: &str, at: &crate::error::Location) -> bool {
    let sections = ["/channels/", "/operations/", "/components/messages/"];
    if at.file != root || !sections.iter().any(|s| at.pointer.starts_with(s)) {
        return false;
    }
    // What of `at` is below `node`: `Some("")` at the node itself.
    let below = |node: &NodeId| -> Option<&str> {
        if *node.file != *at.file {
            return None;
        }
        at.pointer.strip_prefix(node.pointer.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let in_kept_operation_or_message =
        api.operations.iter().map(|o| &o.node).chain(api.messages.keys()).any(|n| below(n).is_some());
    if in_kept_operation_or_message {
        return false;
    }
    let in_kept_channel = api.channels.iter().filter_map(|c| below(&c.node)).any(|rest| {
        let member = rest.split('/').nth(1).unwrap_or_default();
        !matches!(member, "publish" | "subscribe" | "messages")
    });
    !in_kept_channel
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (none included).
pub fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_matches_any_run_of_characters() {
        assert!(matches("consume_orders", "consume_orders"));
        assert!(!matches("consume_orders", "consume_orders_eu"));
        assert!(matches("consume_*", "consume_orders"));
        assert!(matches("*_orders", "consume_orders"));
        assert!(matches("*", "anything"));
        assert!(matches("c*o*s", "consume_orders"));
        assert!(matches("a*a", "aa"));
        assert!(!matches("a*a", "a"));
        assert!(!matches("a*b*c", "acb"));
        assert!(matches("**", ""));
        assert!(!matches("publish_*", "consume_orders"));
    }
}
