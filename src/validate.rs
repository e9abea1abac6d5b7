//! Checks on the model before anything is written: every name the generator
//! writes where a grammar applies (subjects, stream/durable names, queue
//! groups), numbers in range, durations in Go syntax, and addresses that would hand the service more
//! rights than it needs. Each problem is located in the document.

use crate::duration;
use crate::jetstream::DeliverPolicy;
use crate::load::{NodeId, Source};
use crate::model::{Action, Api};
use crate::naming;
use crate::subject::{SubjectTemplate, Token};

/// Runs every check; errors are reported to `source` (all of them: each check is independent),
/// and so are warnings.
pub fn check(source: &Source, api: &Api) {
    check_streams(source, api);
    check_channels(source, api);
    check_consumers(source, api);
    check_sends(source, api);
    check_correlation_ids(source, api);
}

/// `correlationId.location` of messages: one the subscribers cannot read is left out, said here.
fn check_correlation_ids(source: &Source, api: &Api) {
    for message in api.messages.values() {
        let Some(location) = &message.correlation_id else { continue };
        if message_location(location).is_none() {
            source.warn(
                source
                    .error(
                        &message.node.child("correlationId"),
                        format!("correlation id location `{location}` is not supported; subscribers do not read it"),
                    )
                    .hint("use `$message.header#/<header name>` or `$message.payload#/<json pointer>`"),
            );
        }
    }
}

/// `x-jetstream.msgId` of send operations: a runtime expression the publishers can evaluate
/// (checked here too, not only when rendering, so it is reported with the document's other errors).
fn check_sends(source: &Source, api: &Api) {
    for op in api.operations.iter().filter(|o| o.action == Action::Send) {
        let Some(expr) = &op.send.msg_id else { continue };
        if message_location(expr).is_none() {
            source.report(
                source
                    .error(
                        &op.node.child("x-jetstream").child("msgId"),
                        format!("unsupported msgId expression `{expr}`"),
                    )
                    .hint("use `$message.payload#/<json pointer>` or `$message.header#/<header name>`"),
            );
        }
    }
}

/// The part of a message a runtime expression reads.
pub enum MessagePart {
    Payload,
    Header,
}

/// `$message.payload#/<pointer>` or `$message.header#/<name>`: the one grammar of runtime
/// expressions, checked here and read by the renderer.
pub fn message_location(expr: &str) -> Option<(MessagePart, &str)> {
    let (part, pointer) = expr.split_once('#')?;
    let part = match part {
        "$message.payload" => MessagePart::Payload,
        "$message.header" => MessagePart::Header,
        _ => return None,
    };
    pointer.starts_with('/').then_some((part, pointer))
}

const DURATION_HINT: &str = "write a Go duration such as `30s`, `5m` or `1h30m`";
const QUEUE_HINT: &str =
    "name the queue group with printable ASCII, without spaces and wildcards (e.g. `order-workers`)";

fn stream_node(source: &Source, name: &str) -> NodeId {
    let declared = source.root_id().child("x-jetstream").child("streams").child(name);
    if source.get(&declared).is_some() { declared } else { source.root_id() }
}

fn check_streams(source: &Source, api: &Api) {
    for (name, spec) in &api.streams {
        let at = stream_node(source, name);
        source.reported(naming::check_jetstream_name(name).map_err(|e| {
            source.error(&at, format!("stream name `{}`: {e}", name.escape_default())).hint(if api.default_stream {
                "the default stream is named after info.title or --stream / Config::default_stream; pass a valid name"
            } else {
                "rename the stream under x-jetstream.streams"
            })
        }));
        for (field, value) in [("maxAge", &spec.max_age), ("duplicateWindow", &spec.duplicate_window)] {
            if let Some(v) = value {
                source.reported(duration::parse(v).map_err(|e| source.error(&at.child(field), e).hint(DURATION_HINT)));
            }
        }
        if let Some(r) = spec.replicas {
            if !(1..=5).contains(&r) {
                source.report(
                    source
                        .error(&at.child("replicas"), format!("replicas {r} is out of range"))
                        .hint("JetStream streams have 1 to 5 replicas"),
                );
            }
        }
        for (field, value) in [
            ("maxMsgs", spec.max_msgs),
            ("maxBytes", spec.max_bytes),
            ("maxMsgSize", spec.max_msg_size),
            ("maxConsumers", spec.max_consumers),
            ("maxMsgsPerSubject", spec.max_msgs_per_subject),
        ] {
            if let Some(v) = value {
                if v < -1 {
                    source.report(
                        source
                            .error(&at.child(field), format!("{field} {v} is negative"))
                            .hint("use a positive limit, or -1 (or omit the field) for no limit"),
                    );
                }
            }
        }
        for (i, subject) in spec.subjects.iter().flatten().enumerate() {
            let checked = check_filter(subject).map_err(|e| {
                source
                    .error(&at.child("subjects").child(i.to_string()), format!("stream subject: {e}"))
                    .hint("stream subjects are NATS subjects or filters such as `orders.>`, without `{param}`")
            });
            let checked = checked.and_then(|()| {
                check_not_everything(subject).map_err(|e| {
                    source
                        .error(&at.child("subjects").child(i.to_string()), format!("stream subject: {e}"))
                        .hint("name the subjects the stream stores, e.g. `orders.>`")
                })
            });
            source.reported(checked);
        }
    }
}

fn check_channels(source: &Source, api: &Api) {
    for channel in &api.channels {
        let subject = channel.subject.to_string();
        let first = channel.subject.tokens.first();
        let literal = |t: Option<&Token>| match t {
            Some(Token::Literal(l)) => Some(l.clone()),
            _ => None,
        };
        if let Some(head) = literal(first) {
            if matches!(head.as_str(), "$JS" | "$SYS" | "_INBOX" | "$JSC" | "$KV" | "$O" | "$SRV" | "$MQTT" | "$G") {
                source.report(source
                    .error(&channel.node, format!("channel `{}` addresses the system subject space `{subject}`", channel.key))
                    .hint(match head.as_str() {
                        "_INBOX" => "reply inboxes are per request: model replies with `reply` (3.0) instead of a channel",
                        _ => "system subjects ($JS, $SYS, $KV, …) manage the server; a service must not be granted them through its document",
                    }));
            } else if head.starts_with('$') {
                source.warn(
                    source
                        .error(
                            &channel.node,
                            format!("channel `{}` uses `$`-prefixed subject `{subject}`", channel.key),
                        )
                        .hint("subjects starting with `$` are reserved for the server and its APIs"),
                );
            }
        }
        if matches!(first, Some(Token::Rest)) {
            source.report(
                source
                    .error(&channel.node, format!("channel `{}` matches every subject (`{subject}`)", channel.key))
                    .hint("a full wildcard would grant the service every subject; name the subjects it uses"),
            );
        }
        if matches!(first, Some(Token::Star)) {
            source.warn(
                source
                    .error(&channel.node, format!("channel `{}` starts with a wildcard (`{subject}`)", channel.key))
                    .hint("the generated permissions grant this wildcard to the service; prefer a literal first token"),
            );
        }
        if let Some(q) = &channel.queue {
            source.reported(naming::check_queue_name(q).map_err(|e| {
                source
                    .error(&channel.node.child("bindings").child("nats").child("queue"), format!("queue group: {e}"))
                    .hint(QUEUE_HINT)
            }));
        }
    }
    for op in &api.operations {
        if let Some(q) = &op.queue {
            source.reported(naming::check_queue_name(q).map_err(|e| {
                source
                    .error(&op.node.child("bindings").child("nats").child("queue"), format!("queue group: {e}"))
                    .hint(QUEUE_HINT)
            }));
        }
    }
}

fn check_consumers(source: &Source, api: &Api) {
    for op in api.operations.iter().filter(|o| o.action == Action::Receive) {
        let Some(spec) = &op.consumer else { continue };
        let at = op.node.child("x-jetstream");
        if let Some(d) = &spec.durable {
            source.reported(naming::check_jetstream_name(d).map_err(|e| {
                source
                    .error(&at.child("durable"), format!("durable `{}`: {e}", d.escape_default()))
                    .hint("rename it: the durable name is the consumer's name on the server")
            }));
        }
        if spec.filter_subject.is_some() && spec.filter_subjects.is_some() {
            source.report(
                source.error(&at, "both `filterSubject` and `filterSubjects` are set").hint("keep one of them"),
            );
        }
        let durations = [
            ("ackWait", spec.ack_wait.as_ref()),
            ("inactiveThreshold", spec.inactive_threshold.as_ref()),
            ("pull/expires", spec.pull.expires.as_ref()),
        ];
        for (field, value) in durations.into_iter().chain(spec.backoff.iter().map(|b| ("backoff", Some(b)))) {
            if let Some(v) = value {
                let node = field.split('/').fold(at.clone(), |n, f| n.child(f));
                source.reported(duration::parse(v).map_err(|e| source.error(&node, e).hint(DURATION_HINT)));
            }
        }
        let range = |field: &str, value: Option<i64>, ok: &dyn Fn(i64) -> bool, hint: &str| {
            if let Some(v) = value.filter(|&v| !ok(v)) {
                source.report(source.error(&at.child(field), format!("{field} {v} is out of range")).hint(hint));
            }
        };
        range("maxDeliver", spec.max_deliver, &|v| v >= 1 || v == -1, "at least 1, or -1 for unlimited redeliveries");
        range("maxAckPending", spec.max_ack_pending, &|v| v >= 1 || v == -1, "at least 1, or -1 for no limit");
        range("maxWaiting", spec.max_waiting, &|v| v >= 1, "at least 1 (pull requests waiting at once)");
        if spec.pull.batch == Some(0) {
            source.report(
                source
                    .error(&at.child("pull").child("batch"), "pull batch 0 would never fetch anything")
                    .hint("use a batch of at least 1"),
            );
        }
        let policy = spec.deliver_policy.unwrap_or(DeliverPolicy::All);
        match (policy, spec.opt_start_seq, &spec.opt_start_time) {
            (DeliverPolicy::ByStartSequence, None, _) => {
                source.report(
                    source
                        .error(&at.child("deliverPolicy"), "deliverPolicy byStartSequence without optStartSeq")
                        .hint("set optStartSeq to the first stream sequence to deliver"),
                );
            }
            (DeliverPolicy::ByStartTime, _, None) => {
                source.report(
                    source
                        .error(&at.child("deliverPolicy"), "deliverPolicy byStartTime without optStartTime")
                        .hint("set optStartTime to an RFC 3339 time such as 2026-01-02T03:04:05Z"),
                );
            }
            (p, Some(_), _) if p != DeliverPolicy::ByStartSequence => {
                source.report(
                    source
                        .error(&at.child("optStartSeq"), "optStartSeq is only used with deliverPolicy byStartSequence")
                        .hint("set deliverPolicy: byStartSequence, or remove optStartSeq"),
                );
            }
            (p, _, Some(_)) if p != DeliverPolicy::ByStartTime => {
                source.report(
                    source
                        .error(&at.child("optStartTime"), "optStartTime is only used with deliverPolicy byStartTime")
                        .hint("set deliverPolicy: byStartTime, or remove optStartTime"),
                );
            }
            _ => {}
        }
        if let Some(t) = &spec.opt_start_time {
            if !is_rfc3339(t) {
                source.report(
                    source
                        .error(
                            &at.child("optStartTime"),
                            format!("optStartTime `{}` is not an RFC 3339 time", t.escape_default()),
                        )
                        .hint("write it like 2026-01-02T03:04:05Z or 2026-01-02T03:04:05.5+01:00"),
                );
            }
        }
        let filters = spec.filter_subject.iter().map(|f| (at.child("filterSubject"), f)).chain(
            spec.filter_subjects
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, f)| (at.child("filterSubjects").child(i.to_string()), f)),
        );
        for (node, f) in filters {
            source.reported(check_filter(f).map_err(|e| {
                source
                    .error(&node, format!("filter subject: {e}"))
                    .hint("write a NATS filter such as `orders.*.created`")
            }));
        }
    }
}

/// A subject filter as the server takes it: tokens, `*`, a trailing `>`, no `{param}`.
pub fn check_filter(filter: &str) -> Result<(), String> {
    let parsed = SubjectTemplate::parse(filter)?;
    if let Some(p) = parsed.params().next() {
        return Err(format!(
            "`{}` contains the parameter `{{{p}}}`; filters take `*` where a parameter goes",
            filter.escape_default()
        ));
    }
    Ok(())
}

fn check_not_everything(filter: &str) -> Result<(), String> {
    if filter == ">" {
        Err("`>` would store every subject, including system and reply subjects".into())
    } else {
        Ok(())
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, with field ranges.
fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let num = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap_or(u32::MAX);
    if b.len() < 20
        || !(digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13) && digits(14..16) && digits(17..19))
    {
        return false;
    }
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return false;
    }
    if !((1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 61)
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
                && (*h1 - b'0') * 10 + (*h2 - b'0') < 24
                && (*m1 - b'0') * 10 + (*m2 - b'0') < 60
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert!(is_rfc3339("2026-01-02T03:04:05Z"));
        assert!(is_rfc3339("2026-01-02T03:04:05.123456789+01:00"));
        assert!(!is_rfc3339("yesterday"));
        assert!(!is_rfc3339("2026-13-02T03:04:05Z"));
        assert!(!is_rfc3339("2026-01-02T03:04:05"));
        assert!(!is_rfc3339("2026-01-02T03:04:05.Z"));
        assert!(!is_rfc3339("2026-01-02T03:04:05+1:00"));
    }

    #[test]
    fn filters() {
        assert!(check_filter("orders.*.created").is_ok());
        assert!(check_filter("orders.>").is_ok());
        for bad in ["b c", "", "x..y", "z.>.q", "a.{id}"] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
    }
}
