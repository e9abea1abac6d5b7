//! Runtime support shared by the generated publishers and subscribers:
//! encoding, errors, publishing with retries through a stream-leader
//! election, binding to provisioned consumers (never creating them), and the
//! pull-consumer run loop.
//!
//! This is the source of the `asyncapi-nats-runtime` crate. `asyncapi-nats`
//! copies it verbatim into generated code by default (so the generated crate
//! builds with nothing published), or makes generated code depend on the
//! crate (`--runtime-dependency`).
//!
//! Nothing here creates, updates or deletes streams or consumers: streams and
//! durable consumers are infrastructure, provisioned by ops (see the NACK
//! manifests generated beside this code).
//!
//! # Connecting to a cluster
//!
//! Give the client every node's URL, so that it fails over when one dies; the
//! run loop and the publishers ride out leader elections by themselves:
//!
//! ```text
//! let client = async_nats::ConnectOptions::new()
//!     .retry_on_initial_connect()
//!     .max_reconnects(None)
//!     .connect(["nats://nats-0:4222", "nats://nats-1:4222", "nats://nats-2:4222"].as_slice())
//!     .await?;
//! let jetstream = async_nats::jetstream::new(client);
//! ```

use ::futures::StreamExt as _;

/// Failure to publish a message.
#[derive(::std::fmt::Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// A subject parameter value was rejected.
    Subject {
        /// The parameter's name in the AsyncAPI document.
        parameter: &'static str,
        /// Why the value was rejected.
        reason: &'static str,
    },
    /// The payload or headers could not be serialized.
    Encode(::serde_json::Error),
    /// A header name or value is not valid in NATS (e.g. contains a line break).
    Header(::std::string::String),
    /// No stream captures the subject (checked with the server after a
    /// "no responders" answer): the stream is not provisioned.
    NoStream {
        /// The subject that was published to.
        subject: ::std::string::String,
    },
    /// The stream did not acknowledge the message within the retry deadline
    /// ([`PublishRetry::deadline`]), e.g. because it had no leader all along.
    Unavailable {
        /// The subject that was published to.
        subject: ::std::string::String,
        /// How long the publish was retried.
        waited: ::std::time::Duration,
        /// The last failure.
        last: ::async_nats::jetstream::context::PublishError,
    },
    /// JetStream refused or did not acknowledge the message (not retried).
    JetStream(::async_nats::jetstream::context::PublishError),
    /// Core NATS publish failed.
    Core(::async_nats::PublishError),
}

impl ::std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        match self {
            PublishError::Subject { parameter, reason } => {
                write!(f, "invalid value for subject parameter `{parameter}`: {reason}")
            }
            PublishError::Encode(e) => write!(f, "cannot encode message: {e}"),
            PublishError::Header(e) => write!(f, "invalid header: {e}"),
            PublishError::NoStream { subject } => write!(
                f,
                "no JetStream stream captures subject `{subject}`: the stream must be provisioned (apply the generated NACK manifests)"
            ),
            PublishError::Unavailable { subject, waited, last } => write!(
                f,
                "JetStream did not acknowledge the message on `{subject}` within {waited:?} of retries (no stream leader?): {last}"
            ),
            PublishError::JetStream(e) => write!(f, "JetStream publish failed: {e}"),
            PublishError::Core(e) => write!(f, "publish failed: {e}"),
        }
    }
}

impl ::std::error::Error for PublishError {
    fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            PublishError::Encode(e) => Some(e),
            PublishError::JetStream(e) | PublishError::Unavailable { last: e, .. } => Some(e),
            PublishError::Core(e) => Some(e),
            PublishError::Subject { .. } | PublishError::Header(_) | PublishError::NoStream { .. } => None,
        }
    }
}

/// Failure of a request/reply exchange.
#[derive(::std::fmt::Debug)]
#[non_exhaustive]
pub enum RequestError {
    /// The request could not be built or sent.
    Publish(PublishError),
    /// No reply arrived (timeout or no responders).
    Request(::async_nats::RequestError),
    /// The reply payload does not match its schema.
    Decode(::serde_json::Error),
}

impl ::std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        match self {
            RequestError::Publish(e) => write!(f, "{e}"),
            RequestError::Request(e) => write!(f, "request failed: {e}"),
            RequestError::Decode(e) => write!(f, "cannot decode reply: {e}"),
        }
    }
}

impl ::std::error::Error for RequestError {
    fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            RequestError::Publish(e) => Some(e),
            RequestError::Request(e) => Some(e),
            RequestError::Decode(e) => Some(e),
        }
    }
}

impl ::std::convert::From<PublishError> for RequestError {
    fn from(e: PublishError) -> Self {
        RequestError::Publish(e)
    }
}

/// Where a value (the `Nats-Msg-Id` de-duplication id, a correlation id) is
/// found in a message, from an AsyncAPI runtime expression.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::cmp::PartialEq, ::std::cmp::Eq)]
pub enum Location {
    /// JSON pointer into the serialized payload (`$message.payload#/…`).
    Payload(&'static str),
    /// JSON pointer into the serialized headers (`$message.header#/…`): its
    /// first token is the header name.
    Header(&'static str),
}

/// Where the `Nats-Msg-Id` de-duplication header comes from.
pub type MsgId = Location;

impl Location {
    /// Reads the value from a received message's payload and headers.
    pub fn find(
        &self,
        payload: &[u8],
        headers: ::std::option::Option<&::async_nats::HeaderMap>,
    ) -> ::std::option::Option<::std::string::String> {
        match *self {
            Location::Payload(pointer) => pointer_text(payload, pointer),
            Location::Header(pointer) => {
                let name = pointer.strip_prefix('/')?.replace("~1", "/").replace("~0", "~");
                headers?.get(name.as_str()).map(|v| v.as_str().to_string())
            }
        }
    }
}

/// The header text of a JSON value: strings as they are, `null` as nothing,
/// anything else as JSON.
pub(crate) fn header_text(value: &::serde_json::Value) -> ::std::option::Option<::std::string::String> {
    match value {
        ::serde_json::Value::Null => None,
        ::serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The header text of the value at JSON `pointer` in the JSON document
/// `json` (as `Value::pointer` then [`header_text`]), found without building
/// the document: only the pointer's path is followed, the rest is skipped.
pub(crate) fn pointer_text(json: &[u8], pointer: &str) -> ::std::option::Option<::std::string::String> {
    use ::serde::de::DeserializeSeed as _;
    // The common `msgId: $message.payload#/id` case, a top-level string, without a parser.
    let top_level_key = pointer.strip_prefix('/').filter(|k| !k.contains(['/', '~', '\\', '"']));
    if let Some(found) = top_level_key.and_then(|key| top_level_string(json, key.as_bytes())) {
        return found;
    }
    let mut deserializer = ::serde_json::Deserializer::from_slice(json);
    PointerSeed { pointer }.deserialize(&mut deserializer).ok().flatten()
}

/// The string value of top-level `key` in the JSON object `json`:
/// `Some(Some(text))`, `Some(None)` when the object has no such key, and
/// `None` when this scanner cannot tell (escapes, a non-string value,
/// anything unexpected) and the parser must decide.
fn top_level_string(json: &[u8], key: &[u8]) -> ::std::option::Option<::std::option::Option<::std::string::String>> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(json, i + 1);
    if json.get(i) == Some(&b'}') {
        return Some(None);
    }
    let mut found = None;
    loop {
        let (name, end) = plain_string(json, i)?;
        i = skip_ws(json, end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(json, i + 1);
        if name == key {
            let (value, end) = plain_string(json, i)?;
            // Last duplicate wins, as in `serde_json::Value`.
            found = Some(::std::string::String::from_utf8(value.to_vec()).ok()?);
            i = end;
        } else {
            i = skip_value(json, i)?;
        }
        i = skip_ws(json, i);
        match json.get(i) {
            Some(b',') => i = skip_ws(json, i + 1),
            Some(b'}') => return Some(found),
            _ => return None,
        }
    }
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while matches!(json.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A string without escapes starting at `i`: its bytes and the index after it.
fn plain_string(json: &[u8], i: usize) -> ::std::option::Option<(&[u8], usize)> {
    if json.get(i) != Some(&b'"') {
        return None;
    }
    let len = json[i + 1..].iter().position(|&b| b == b'"' || b == b'\\')?;
    let end = i + 1 + len;
    (json[end] == b'"').then(|| (&json[i + 1..end], end + 1))
}

/// The index after the JSON value starting at `i` (strings may contain escapes).
fn skip_value(json: &[u8], mut i: usize) -> ::std::option::Option<usize> {
    let mut depth = 0usize;
    loop {
        match *json.get(i)? {
            b'"' => {
                i += 1;
                loop {
                    match *json.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            b',' | b'}' | b']' if depth == 0 => return Some(i),
            _ => i += 1,
        }
        if depth == 0 && matches!(json.get(i), Some(b',' | b'}' | b']') | None) {
            return Some(i);
        }
    }
}

/// Follows `pointer` (`""`: here; else `/token/…`) into the value being deserialized.
struct PointerSeed<'p> {
    pointer: &'p str,
}

impl<'de> ::serde::de::DeserializeSeed<'de> for PointerSeed<'_> {
    type Value = ::std::option::Option<::std::string::String>;

    fn deserialize<D: ::serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> ::std::result::Result<Self::Value, D::Error> {
        if self.pointer.is_empty() {
            let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer)?;
            return Ok(header_text(&value));
        }
        deserializer.deserialize_any(PointerVisitor { pointer: self.pointer })
    }
}

struct PointerVisitor<'p> {
    pointer: &'p str,
}

impl PointerVisitor<'_> {
    /// The first token (unescaped) and the rest of the pointer.
    fn split(&self) -> (::std::borrow::Cow<'_, str>, &str) {
        let path = &self.pointer[1..];
        let (token, rest) = match path.find('/') {
            Some(at) => (&path[..at], &path[at..]),
            None => (path, ""),
        };
        let token = if token.contains('~') {
            ::std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            ::std::borrow::Cow::Borrowed(token)
        };
        (token, rest)
    }
}

impl<'de> ::serde::de::Visitor<'de> for PointerVisitor<'_> {
    type Value = ::std::option::Option<::std::string::String>;

    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.write_str("an object or array on the JSON pointer's path")
    }

    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> ::std::result::Result<Self::Value, A::Error> {
        let (token, rest) = self.split();
        let mut found = None;
        while let Some(matches) = map.next_key_seed(KeyIs(&token))? {
            if matches {
                found = map.next_value_seed(PointerSeed { pointer: rest })?;
            } else {
                map.next_value::<::serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: ::serde::de::SeqAccess<'de>>(self, mut seq: A) -> ::std::result::Result<Self::Value, A::Error> {
        let (token, rest) = self.split();
        let index: ::std::option::Option<usize> = token.parse().ok();
        let mut found = None;
        let mut i = 0;
        loop {
            if Some(i) == index {
                match seq.next_element_seed(PointerSeed { pointer: rest })? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<::serde::de::IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
}

/// Whether a map key equals the token (without allocating the key).
struct KeyIs<'t>(&'t str);

impl<'de> ::serde::de::DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: ::serde::Deserializer<'de>>(self, deserializer: D) -> ::std::result::Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> ::serde::de::Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: ::serde::de::Error>(self, key: &str) -> ::std::result::Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Serializes a headers struct into NATS headers (one header per property).
fn encode_headers(
    headers: &::serde_json::Value,
    map: &mut ::async_nats::HeaderMap,
) -> ::std::result::Result<(), PublishError> {
    let ::serde_json::Value::Object(fields) = headers else {
        return Ok(());
    };
    for (name, value) in fields {
        if let Some(text) = header_text(value) {
            insert_header(map, name, &text)?;
        }
    }
    Ok(())
}

fn insert_header(
    map: &mut ::async_nats::HeaderMap,
    name: &str,
    value: &str,
) -> ::std::result::Result<(), PublishError> {
    let name: ::async_nats::HeaderName =
        name.parse().map_err(|_| PublishError::Header(format!("`{name}` is not a valid header name")))?;
    let value: ::async_nats::HeaderValue =
        value.parse().map_err(|_| PublishError::Header(format!("value of `{name}` contains a line break")))?;
    map.insert(name, value);
    Ok(())
}

/// How a payload travels on the wire (the message's `contentType`).
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::cmp::PartialEq, ::std::cmp::Eq)]
pub enum Format {
    /// JSON (serde_json).
    Json,
    /// `text/plain`: a `String`, sent as its UTF-8 bytes.
    Text,
    /// Anything else: a `Vec<u8>`, sent as is.
    Bytes,
}

/// The body of `payload` in `format` (`Text` takes a `String`, `Bytes` a `Vec<u8>`).
///
/// # Errors
/// When serialization fails, or the payload is not a string (`Text`) or bytes (`Bytes`).
pub fn encode_body<T: ::serde::Serialize + ?Sized>(
    format: Format,
    payload: &T,
) -> ::std::result::Result<::std::vec::Vec<u8>, ::serde_json::Error> {
    use ::serde::ser::Error as _;
    if format == Format::Json {
        // The common path: straight to bytes, no intermediate value.
        return ::serde_json::to_vec(payload);
    }
    match (format, ::serde_json::to_value(payload)?) {
        (Format::Text, ::serde_json::Value::String(text)) => Ok(text.into_bytes()),
        (Format::Bytes, ::serde_json::Value::Array(items)) => items
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<::std::option::Option<_>>()
            .ok_or_else(|| ::serde_json::Error::custom("a bytes payload must be a sequence of bytes")),
        _ => Err(::serde_json::Error::custom("a text payload must be a string")),
    }
}

/// Decodes a received body in `format` into `T` (`String` for `Text`, `Vec<u8>` for `Bytes`).
///
/// # Errors
/// When the body does not decode (invalid JSON, text that is not UTF-8, …).
pub fn decode_body<T: ::serde::de::DeserializeOwned>(
    format: Format,
    body: &[u8],
) -> ::std::result::Result<T, ::serde_json::Error> {
    use ::serde::de::Error as _;
    match format {
        Format::Json => ::serde_json::from_slice(body),
        Format::Text => {
            let text = ::std::str::from_utf8(body)
                .map_err(|e| ::serde_json::Error::custom(format!("text payload is not UTF-8: {e}")))?;
            ::serde_json::from_value(::serde_json::Value::String(text.to_string()))
        }
        Format::Bytes => {
            ::serde_json::from_value(::serde_json::Value::Array(body.iter().map(|b| (*b).into()).collect()))
        }
    }
}

/// An encoded message: body, NATS headers, and whether it carries a `Nats-Msg-Id`.
pub(crate) struct Encoded {
    pub(crate) body: ::bytes::Bytes,
    pub(crate) headers: ::async_nats::HeaderMap,
    pub(crate) has_msg_id: bool,
}

/// Encodes payload and headers; the `Nats-Msg-Id` header is taken from the
/// serialized payload or headers when `msg_id` says where it is.
pub(crate) fn encode<T: ::serde::Serialize, H: ::serde::Serialize>(
    payload: &T,
    format: Format,
    headers: ::std::option::Option<&H>,
    msg_id: ::std::option::Option<MsgId>,
) -> ::std::result::Result<Encoded, PublishError> {
    let body = encode_body(format, payload).map_err(PublishError::Encode)?;
    let headers = match headers {
        Some(h) => Some(::serde_json::to_value(h).map_err(PublishError::Encode)?),
        None => None,
    };
    let mut map = ::async_nats::HeaderMap::new();
    if let Some(headers) = &headers {
        encode_headers(headers, &mut map)?;
    }
    let mut has_msg_id = false;
    if let Some(id) = msg_id {
        let found = match id {
            MsgId::Payload(pointer) => pointer_text(&body, pointer),
            MsgId::Header(pointer) => headers.as_ref().and_then(|h| h.pointer(pointer)).and_then(header_text),
        };
        if let Some(text) = found {
            insert_header(&mut map, "Nats-Msg-Id", &text)?;
            has_msg_id = true;
        }
    }
    Ok(Encoded { body: ::bytes::Bytes::from(body), headers: map, has_msg_id })
}

/// How a JetStream publish rides out a stream-leader election or a lost
/// acknowledgement. While a stream has no leader, the server answers "no
/// responders"; the publisher then asks the server whether a stream captures
/// the subject: if none does, it fails at once with
/// [`PublishError::NoStream`], otherwise it retries until `deadline`.
///
/// Retrying cannot store a message twice: on "no responders" no server took
/// it, and a timed-out publish is retried only when it carries a
/// `Nats-Msg-Id` (the stream's duplicate window drops the second copy).
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::cmp::PartialEq, ::std::cmp::Eq)]
pub struct PublishRetry {
    /// How long after the first attempt a publish is retried before it fails
    /// with [`PublishError::Unavailable`]; zero disables retries.
    pub deadline: ::std::time::Duration,
    /// Pause after the first failure; it doubles up to `max_pause`.
    pub pause: ::std::time::Duration,
    /// Longest pause between two attempts.
    pub max_pause: ::std::time::Duration,
}

impl PublishRetry {
    /// 30 s deadline (a stream-leader election takes a few seconds), pauses
    /// from 100 ms doubling to 1 s.
    pub const DEFAULT: PublishRetry = PublishRetry {
        deadline: ::std::time::Duration::from_secs(30),
        pause: ::std::time::Duration::from_millis(100),
        max_pause: ::std::time::Duration::from_secs(1),
    };

    /// No retries: every failure is returned at once.
    pub const NEVER: PublishRetry = PublishRetry {
        deadline: ::std::time::Duration::ZERO,
        pause: ::std::time::Duration::ZERO,
        max_pause: ::std::time::Duration::ZERO,
    };

    /// The pause before attempt `attempt + 1` (`attempt` ≥ 1 failed attempts so far).
    pub fn pause_after(&self, attempt: u32) -> ::std::time::Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.pause.saturating_mul(factor).min(self.max_pause)
    }
}

impl ::std::default::Default for PublishRetry {
    fn default() -> Self {
        PublishRetry::DEFAULT
    }
}

/// What a failed JetStream publish means.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::cmp::PartialEq, ::std::cmp::Eq)]
pub(crate) enum Failure {
    /// "No responders": either no stream captures the subject or the stream has no leader; ask the server.
    NoResponders,
    /// Worth retrying (no server stored the message, or a retry is de-duplicated).
    Transient,
    /// Not worth retrying.
    Fatal,
}

/// Classifies a JetStream publish failure; `has_msg_id` tells whether a retry is de-duplicated.
pub(crate) fn classify(
    kind: ::async_nats::jetstream::context::PublishErrorKind,
    unavailable: bool,
    has_msg_id: bool,
) -> Failure {
    use ::async_nats::jetstream::context::PublishErrorKind;
    match kind {
        PublishErrorKind::StreamNotFound => Failure::NoResponders,
        // The server answered 503 (JetStream temporarily unavailable): nothing was stored.
        PublishErrorKind::Other if unavailable => Failure::Transient,
        // The message may have been stored with its acknowledgement lost: only a de-duplicated retry is safe.
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe if has_msg_id => Failure::Transient,
        _ => Failure::Fatal,
    }
}

/// Whether a publish error carries the server's "503 unavailable" JetStream error.
fn is_unavailable(error: &::async_nats::jetstream::context::PublishError) -> bool {
    use ::std::error::Error as _;
    error.source().and_then(|s| s.downcast_ref::<::async_nats::jetstream::Error>()).is_some_and(|e| e.code() == 503)
}

async fn send(
    jetstream: &::async_nats::jetstream::Context,
    subject: ::async_nats::Subject,
    encoded: Encoded,
) -> ::std::result::Result<::async_nats::jetstream::publish::PublishAck, ::async_nats::jetstream::context::PublishError>
{
    // Without headers, a plain PUB: an empty header block costs bytes on the wire and parsing on the server.
    let ack = if encoded.headers.is_empty() {
        jetstream.publish(subject, encoded.body).await?
    } else {
        jetstream.publish_with_headers(subject, encoded.headers, encoded.body).await?
    };
    ack.await
}

/// Publishes to a stream and waits for its acknowledgement, retrying
/// transient failures (no stream leader, a lost acknowledgement of a message
/// with a `Nats-Msg-Id`) as `retry` says.
///
/// # Errors
/// See [`PublishError`]; a missing stream is told from a leaderless one.
pub async fn publish_jetstream<T: ::serde::Serialize, H: ::serde::Serialize>(
    jetstream: &::async_nats::jetstream::Context,
    subject: ::std::string::String,
    payload: &T,
    format: Format,
    headers: ::std::option::Option<&H>,
    msg_id: ::std::option::Option<MsgId>,
    retry: &PublishRetry,
) -> ::std::result::Result<::async_nats::jetstream::publish::PublishAck, PublishError> {
    let subject = ::async_nats::Subject::from(subject);
    let mut encoded = encode(payload, format, headers, msg_id)?;
    let mut started: ::std::option::Option<::std::time::Instant> = None;
    let mut attempt: u32 = 0;
    loop {
        let has_msg_id = encoded.has_msg_id;
        let error = match send(jetstream, subject.clone(), encoded).await {
            Ok(ack) => return Ok(ack),
            Err(error) => error,
        };
        let started = *started.get_or_insert_with(::std::time::Instant::now);
        attempt = attempt.saturating_add(1);
        match classify(error.kind(), is_unavailable(&error), has_msg_id) {
            Failure::Fatal => return Err(PublishError::JetStream(error)),
            Failure::NoResponders => {
                use ::async_nats::jetstream::context::GetStreamByNameErrorKind;
                // Boxed: the rare path must not grow every publish's future.
                match ::std::boxed::Box::pin(jetstream.stream_by_subject(subject.as_str())).await {
                    Err(e) if e.kind() == GetStreamByNameErrorKind::NotFound => {
                        return Err(PublishError::NoStream { subject: subject.to_string() });
                    }
                    // The stream exists (or the lookup failed too): an election is under way.
                    _ => {}
                }
            }
            Failure::Transient => {}
        }
        let pause = retry.pause_after(attempt);
        let waited = started.elapsed();
        if waited + pause > retry.deadline {
            return Err(PublishError::Unavailable { subject: subject.to_string(), waited, last: error });
        }
        ::tracing::debug!(%subject, attempt, %error, ?pause, "publish not acknowledged; retrying");
        ::std::boxed::Box::pin(::tokio::time::sleep(pause)).await;
        encoded = encode(payload, format, headers, msg_id)?;
    }
}

/// Publishes over core NATS (fire and forget).
///
/// # Errors
/// When encoding or sending fails.
pub async fn publish_core<T: ::serde::Serialize, H: ::serde::Serialize>(
    client: &::async_nats::Client,
    subject: ::std::string::String,
    payload: &T,
    format: Format,
    headers: ::std::option::Option<&H>,
) -> ::std::result::Result<(), PublishError> {
    let Encoded { body, headers, .. } = encode(payload, format, headers, None)?;
    if headers.is_empty() {
        client.publish(subject, body).await.map_err(PublishError::Core)
    } else {
        client.publish_with_headers(subject, headers, body).await.map_err(PublishError::Core)
    }
}

/// Sends a request and decodes the reply.
///
/// # Errors
/// When encoding fails, no reply arrives, or the reply does not decode.
pub async fn request<T: ::serde::Serialize, H: ::serde::Serialize, R: ::serde::de::DeserializeOwned>(
    client: &::async_nats::Client,
    subject: ::std::string::String,
    payload: &T,
    formats: (Format, Format),
    headers: ::std::option::Option<&H>,
) -> ::std::result::Result<R, RequestError> {
    let Encoded { body, headers, .. } = encode(payload, formats.0, headers, None)?;
    let reply = client.request_with_headers(subject, headers, body).await.map_err(RequestError::Request)?;
    decode_body(formats.1, &reply.payload).map_err(RequestError::Decode)
}

/// The provisioned consumer a subscriber binds to, and its client-side fetch settings.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy)]
pub struct ConsumerSettings {
    /// Stream name.
    pub stream: &'static str,
    /// Durable consumer name.
    pub durable: &'static str,
    /// The filter subjects the consumer must have (it may not deliver anything else).
    pub filter_subjects: &'static [&'static str],
    /// Messages requested per pull; also the number of handlers run concurrently.
    pub batch: usize,
    /// How long a pull request waits on the server.
    pub expires: ::std::time::Duration,
    /// Byte limit per pull (0: none).
    pub max_bytes: usize,
    /// Redelivery delays for `Outcome::Retry { delay: None }`, by delivery count.
    pub backoff: &'static [::std::time::Duration],
    /// Deliveries after which the server gives up on a message (`maxDeliver`
    /// of the consumer manifest; -1: unlimited).
    pub max_deliver: i64,
    /// Where the messages carry their correlation id, if the document says.
    pub correlation_id: ::std::option::Option<Location>,
    /// The payload's wire format.
    pub format: Format,
}

impl ConsumerSettings {
    /// Idle heartbeat asked of the server for each pull, so that a pull lost
    /// with a dead connection, a restarted server or a killed consumer leader
    /// (pull requests are not replicated) is noticed after two missed
    /// heartbeats and replaced: a quarter of `expires`, at most 1 s.
    pub fn heartbeat(&self) -> ::std::time::Duration {
        (self.expires / 4).min(::std::time::Duration::from_secs(1))
    }

    /// The nak delay for `Outcome::Retry { delay: None }` on the given delivery
    /// (1 = first): the spec's `backoff` entry for it, the last entry beyond
    /// its end, or none (redeliver at once) without a backoff.
    pub fn retry_delay(&self, delivered: i64) -> ::std::option::Option<::std::time::Duration> {
        let index = usize::try_from(delivered.max(1) - 1).unwrap_or(usize::MAX);
        self.backoff.get(index).or(self.backoff.last()).copied()
    }
}

/// Why a subscriber could not bind to its stream and consumer.
#[derive(::std::fmt::Debug)]
#[non_exhaustive]
pub enum BindError {
    /// The stream does not exist (JetStream error 10059).
    StreamNotFound {
        /// Stream name.
        stream: &'static str,
    },
    /// The durable consumer does not exist (JetStream error 10014).
    ConsumerNotFound {
        /// Stream name.
        stream: &'static str,
        /// Durable name.
        durable: &'static str,
    },
    /// The consumer exists but is configured differently from the AsyncAPI document.
    Mismatch {
        /// Stream name.
        stream: &'static str,
        /// Durable name.
        durable: &'static str,
        /// What differs.
        problem: ::std::string::String,
    },
    /// The server could not be asked (timeout, no responders, no leader):
    /// transient, [`bind`] and `run` retry it.
    Nats(::async_nats::Error),
}

impl BindError {
    /// Whether asking again may succeed: everything but a missing stream or
    /// consumer and a consumer that differs from the document.
    pub fn is_transient(&self) -> bool {
        matches!(self, BindError::Nats(_))
    }
}

impl ::std::fmt::Display for BindError {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        match self {
            BindError::StreamNotFound { stream } => write!(
                f,
                "JetStream stream `{stream}` does not exist; it must be provisioned by ops (apply the generated NACK Stream manifest); this service never creates streams"
            ),
            BindError::ConsumerNotFound { stream, durable } => write!(
                f,
                "durable consumer `{durable}` does not exist on stream `{stream}`; it must be provisioned by ops (apply the generated NACK Consumer manifest); this service never creates consumers"
            ),
            BindError::Mismatch { stream, durable, problem } => {
                write!(f, "consumer `{durable}` on stream `{stream}` does not match the AsyncAPI document: {problem}")
            }
            BindError::Nats(e) => write!(f, "cannot look up stream or consumer: {e}"),
        }
    }
}

impl ::std::error::Error for BindError {
    fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            BindError::Nats(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Looks up the provisioned stream and durable pull consumer and checks its
/// configuration, once. Never creates or changes anything.
///
/// # Errors
/// See [`BindError`]; transient errors are returned, not retried.
pub async fn bind_once(
    jetstream: &::async_nats::jetstream::Context,
    settings: &ConsumerSettings,
) -> ::std::result::Result<::async_nats::jetstream::consumer::PullConsumer, BindError> {
    use ::async_nats::jetstream::ErrorCode;
    use ::async_nats::jetstream::context::{ConsumerInfoErrorKind, GetStreamErrorKind};
    let stream = jetstream.get_stream_no_info(settings.stream).await.map_err(|e| match e.kind() {
        GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND => {
            BindError::StreamNotFound { stream: settings.stream }
        }
        _ => BindError::Nats(e.into()),
    })?;
    let not_found = |e: &::async_nats::jetstream::context::ConsumerInfoError| match e.kind() {
        ConsumerInfoErrorKind::NotFound => {
            Some(BindError::ConsumerNotFound { stream: settings.stream, durable: settings.durable })
        }
        ConsumerInfoErrorKind::StreamNotFound => Some(BindError::StreamNotFound { stream: settings.stream }),
        ConsumerInfoErrorKind::JetStream(j) if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND => {
            Some(BindError::ConsumerNotFound { stream: settings.stream, durable: settings.durable })
        }
        ConsumerInfoErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND => {
            Some(BindError::StreamNotFound { stream: settings.stream })
        }
        _ => None,
    };
    // One CONSUMER.INFO request (no STREAM.INFO: it would wait for the stream leader).
    let consumer: ::async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer(settings.durable).await.map_err(|e| {
            match e.downcast_ref::<::async_nats::jetstream::context::ConsumerInfoError>() {
                Some(info_error) => not_found(info_error).unwrap_or(BindError::Nats(e)),
                // The lookup succeeded but the configuration is not a pull consumer's.
                None => BindError::Mismatch {
                    stream: settings.stream,
                    durable: settings.durable,
                    problem: format!("it is a push consumer ({e}); a pull consumer is required"),
                },
            }
        })?;
    if let Some(problem) = config_problem(&consumer.cached_info().config, settings) {
        return Err(BindError::Mismatch { stream: settings.stream, durable: settings.durable, problem });
    }
    Ok(consumer)
}

/// How long one lookup in a retry loop may take: while a consumer has no
/// leader its lookups go unanswered, and waiting the context's whole request
/// timeout (5 s by default) per attempt would delay noticing the new leader.
const LOOKUP_TIMEOUT: ::std::time::Duration = ::std::time::Duration::from_secs(2);

/// [`bind_once`] within [`LOOKUP_TIMEOUT`] (a timeout is transient).
async fn bind_attempt(
    jetstream: &::async_nats::jetstream::Context,
    settings: &ConsumerSettings,
) -> ::std::result::Result<::async_nats::jetstream::consumer::PullConsumer, BindError> {
    match ::tokio::time::timeout(LOOKUP_TIMEOUT, bind_once(jetstream, settings)).await {
        Ok(result) => result,
        Err(_) => Err(BindError::Nats(format!("no answer within {LOOKUP_TIMEOUT:?}").into())),
    }
}

/// Looks up the provisioned stream and durable pull consumer and checks its
/// configuration. Never creates or changes anything. Transient failures
/// (timeouts, no responders, no leader during an election) are logged and
/// retried with a pause growing from 100 ms to 2 s, so a service started
/// during a failover waits for the cluster instead of exiting.
///
/// # Errors
/// When the stream or consumer does not exist or differs from the document.
pub async fn bind(
    jetstream: &::async_nats::jetstream::Context,
    settings: &ConsumerSettings,
) -> ::std::result::Result<::async_nats::jetstream::consumer::PullConsumer, BindError> {
    let mut failures: u32 = 0;
    loop {
        match bind_attempt(jetstream, settings).await {
            Err(error) if error.is_transient() => {
                failures = failures.saturating_add(1);
                ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, failures, "cannot look up the consumer yet; retrying");
                ::tokio::time::sleep(reconnect_pause(failures)).await;
            }
            other => return other,
        }
    }
}

/// What makes a provisioned consumer unusable for this subscriber, if anything.
pub(crate) fn config_problem(
    config: &::async_nats::jetstream::consumer::Config,
    settings: &ConsumerSettings,
) -> ::std::option::Option<::std::string::String> {
    if let Some(deliver) = &config.deliver_subject {
        return Some(format!("it is a push consumer (deliver subject `{deliver}`); a pull consumer is required"));
    }
    if config.ack_policy != ::async_nats::jetstream::consumer::AckPolicy::Explicit {
        return Some(format!(
            "its ack policy is {:?}; `explicit` is required for manual acknowledgement",
            config.ack_policy
        ));
    }
    let mut server: ::std::vec::Vec<&str> = config.filter_subjects.iter().map(::std::string::String::as_str).collect();
    if !config.filter_subject.is_empty() {
        server.push(&config.filter_subject);
    }
    if server.is_empty() {
        return Some(format!(
            "it has no filter subject (a server older than 2.10 drops `filterSubjects`); expected {:?}",
            settings.filter_subjects
        ));
    }
    let foreign: ::std::vec::Vec<&str> = server
        .iter()
        .copied()
        .filter(|s| !settings.filter_subjects.iter().any(|ours| filter_covers(ours, s)))
        .collect();
    if !foreign.is_empty() {
        return Some(format!(
            "its filter subjects {server:?} deliver {foreign:?}, which this subscriber does not expect (expected {:?})",
            settings.filter_subjects
        ));
    }
    if config.max_batch > 0 && settings.batch as i64 > config.max_batch {
        return Some(format!(
            "its max batch {} is below the pull batch {} of the document",
            config.max_batch, settings.batch
        ));
    }
    if !config.max_expires.is_zero() && settings.expires > config.max_expires {
        return Some(format!(
            "its max expires {:?} is below the pull expiry {:?} of the document",
            config.max_expires, settings.expires
        ));
    }
    if config.max_bytes > 0 && (settings.max_bytes == 0 || settings.max_bytes as i64 > config.max_bytes) {
        return Some(format!(
            "its max bytes {} is below the pull byte limit {} of the document",
            config.max_bytes, settings.max_bytes
        ));
    }
    None
}

/// Whether every subject matched by filter `inner` is matched by filter `outer`.
pub fn filter_covers(outer: &str, inner: &str) -> bool {
    let outer: ::std::vec::Vec<&str> = outer.split('.').collect();
    let inner: ::std::vec::Vec<&str> = inner.split('.').collect();
    for (i, token) in outer.iter().enumerate() {
        match *token {
            ">" => return inner.len() > i,
            _ if i >= inner.len() => return false,
            "*" if inner[i] == ">" => return false,
            "*" => {}
            literal if inner[i] != literal => return false,
            _ => {}
        }
    }
    outer.len() == inner.len()
}

/// What the handler decided about a message.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::std::cmp::Eq)]
pub enum Outcome {
    /// Processed: acknowledge.
    Ack,
    /// Failed but may succeed later: negative-acknowledge for redelivery after
    /// `delay` (`None`: the document's backoff for this delivery count, or at once).
    Retry {
        /// Redelivery delay.
        delay: ::std::option::Option<::std::time::Duration>,
    },
    /// Never processable: terminate, so it is not redelivered.
    Reject {
        /// Logged with the message's stream sequence and sent to the server with the term.
        reason: ::std::string::String,
    },
}

impl Outcome {
    /// Short name used in logs and traces: `ack`, `retry`, `reject`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Ack => "ack",
            Outcome::Retry { .. } => "retry",
            Outcome::Reject { .. } => "reject",
        }
    }

    /// The acknowledgement body sent for this outcome on the `delivered`-th
    /// delivery: `+ACK`, `-NAK` with the delay (the explicit one, else the
    /// document's backoff), or `+TERM reason` (control characters replaced).
    pub fn ack_body(&self, settings: &ConsumerSettings, delivered: i64) -> ::bytes::Bytes {
        match self {
            Outcome::Ack => ::bytes::Bytes::from_static(b"+ACK"),
            Outcome::Retry { delay } => match delay.or_else(|| settings.retry_delay(delivered)) {
                Some(delay) => format!("-NAK {{\"delay\":{}}}", delay.as_nanos()).into(),
                None => ::bytes::Bytes::from_static(b"-NAK"),
            },
            Outcome::Reject { reason } => {
                let reason: ::std::string::String =
                    reason.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
                format!("+TERM {reason}").into()
            }
        }
    }
}

/// Where a received message is acknowledged: its reply subject, over the
/// run loop's client (shared: no client clone per message).
#[derive(::std::fmt::Debug, ::std::clone::Clone)]
struct AckTo {
    client: ::std::sync::Arc<::async_nats::Client>,
    reply: ::std::option::Option<::async_nats::Subject>,
}

impl AckTo {
    /// Publishes `body` to the reply subject without waiting for the server's confirmation.
    async fn send(&self, body: ::bytes::Bytes) -> ::std::result::Result<(), ::async_nats::Error> {
        let reply = self.reply.clone().ok_or("the message has no reply subject")?;
        self.client.publish(reply, body).await.map_err(::std::convert::Into::into)
    }
}

/// A decoded JetStream message. The run loop acknowledges it exactly once,
/// according to the handler's [`Outcome`]; the handler cannot ack it itself.
#[derive(::std::fmt::Debug)]
pub struct Delivery<T> {
    /// The decoded payload.
    pub payload: T,
    /// The subject it was published to.
    pub subject: ::std::string::String,
    /// Its sequence number in the stream.
    pub stream_sequence: u64,
    /// How many times it has been delivered (1 on first delivery).
    pub delivered: i64,
    /// Messages still pending for the consumer.
    pub pending: u64,
    /// NATS headers, if any.
    pub headers: ::std::option::Option<::async_nats::HeaderMap>,
    /// The correlation id, when the document defines where messages carry it.
    pub correlation_id: ::std::option::Option<::std::string::String>,
    raw: ::bytes::Bytes,
    ack: AckTo,
}

impl<T> Delivery<T> {
    /// Tells the server the handler is still working, resetting the ack wait
    /// (call it periodically from handlers slower than the consumer's `ackWait`).
    ///
    /// # Errors
    /// When the progress acknowledgement cannot be sent.
    pub async fn in_progress(&self) -> ::std::result::Result<(), ::async_nats::Error> {
        self.ack.send(::bytes::Bytes::from_static(b"+WPI")).await
    }

    /// The headers decoded into the message's headers type (see `Headers` in the operation's module).
    ///
    /// # Errors
    /// When a required header is missing or a value does not fit its type.
    pub fn typed_headers<H: ::serde::de::DeserializeOwned>(&self) -> ::std::result::Result<H, ::serde_json::Error> {
        decode_headers(self.headers.as_ref())
    }

    /// The payload bytes as received.
    pub fn raw_payload(&self) -> &[u8] {
        &self.raw
    }

    /// Whether this is the last delivery the server will make (`maxDeliver`).
    pub fn is_last_attempt(&self, settings: &ConsumerSettings) -> bool {
        settings.max_deliver > 0 && self.delivered >= settings.max_deliver
    }
}

/// Why a run loop stopped with an error.
#[derive(::std::fmt::Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The stream or consumer does not exist or differs from the document.
    Bind(BindError),
    /// Subscribing failed.
    Nats(::async_nats::Error),
}

impl ::std::fmt::Display for RunError {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        match self {
            RunError::Bind(e) => write!(f, "{e}"),
            RunError::Nats(e) => write!(f, "{e}"),
        }
    }
}

impl ::std::error::Error for RunError {
    fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            RunError::Bind(e) => Some(e),
            RunError::Nats(e) => Some(&**e),
        }
    }
}

impl ::std::convert::From<BindError> for RunError {
    fn from(e: BindError) -> Self {
        RunError::Bind(e)
    }
}

/// Consumer lag, for monitoring.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::cmp::PartialEq, ::std::cmp::Eq)]
pub struct Lag {
    /// Messages in the stream not yet delivered to the consumer.
    pub pending: u64,
    /// Messages delivered but not yet acknowledged.
    pub ack_pending: usize,
    /// Messages redelivered at least once and not yet acknowledged.
    pub redelivered: usize,
}

/// Reads the consumer's lag from the server (one attempt: for monitoring).
///
/// # Errors
/// When the stream or consumer is missing or cannot be looked up.
pub async fn lag(
    jetstream: &::async_nats::jetstream::Context,
    settings: &ConsumerSettings,
) -> ::std::result::Result<Lag, BindError> {
    let consumer = bind_once(jetstream, settings).await?;
    let info = consumer.cached_info();
    Ok(Lag { pending: info.num_pending, ack_pending: info.num_ack_pending, redelivered: info.num_redelivered })
}

/// Pause before the next lookup or pull after `failures` consecutive
/// failures: 100 ms doubling up to 2 s (an election takes a few seconds).
pub(crate) fn reconnect_pause(failures: u32) -> ::std::time::Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(5);
    (::std::time::Duration::from_millis(100) * factor).min(::std::time::Duration::from_secs(2))
}

/// Whether a pull error means the consumer itself must be looked up again
/// (deleted, replaced, or unreachable: "no responders" also means the
/// consumer is gone or leaderless, and the lookup tells which in the log).
pub(crate) fn needs_rebind(kind: ::async_nats::jetstream::consumer::pull::MessagesErrorKind) -> bool {
    use ::async_nats::jetstream::consumer::pull::MessagesErrorKind;
    matches!(
        kind,
        MessagesErrorKind::ConsumerDeleted
            | MessagesErrorKind::PushBasedConsumer
            | MessagesErrorKind::RequestLimitExceeded
            | MessagesErrorKind::NoResponders
    )
}

/// Binds, waiting out transient failures (as [`bind`]); `shutdown` ends the
/// wait between attempts (`Ok(None)`), but an attempt under way is finished
/// so a missing stream or consumer is always reported.
async fn bind_until<S>(
    jetstream: &::async_nats::jetstream::Context,
    settings: &ConsumerSettings,
    mut shutdown: &mut S,
) -> ::std::result::Result<::std::option::Option<::async_nats::jetstream::consumer::PullConsumer>, BindError>
where
    S: ::futures::future::FusedFuture<Output = ()> + ::std::marker::Unpin,
{
    use ::futures::FutureExt as _;
    let mut failures: u32 = 0;
    loop {
        match bind_attempt(jetstream, settings).await {
            Err(error) if error.is_transient() => {
                failures = failures.saturating_add(1);
                ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, failures, "cannot look up the consumer yet; retrying");
                let mut pause = ::std::pin::pin!(::tokio::time::sleep(reconnect_pause(failures)).fuse());
                ::futures::select_biased! {
                    () = shutdown => return Ok(None),
                    () = pause => {}
                }
            }
            other => return other.map(Some),
        }
    }
}

/// Binds to the provisioned consumer, then pulls from it until `shutdown` completes.
///
/// - Binding waits out transient failures (a service started during a
///   failover waits for the cluster); it fails only when the stream or
///   consumer does not exist or differs from the document.
/// - Up to `settings.batch` handlers run concurrently; acks are published
///   without waiting for the server's reply (pipelined), so they do not
///   serialise throughput, and the client is flushed before returning.
/// - A pull that fails, ends, or misses two of the server's idle heartbeats
///   (dead connection, restarted server, killed consumer leader) is replaced
///   after a pause that grows from 100 ms to 2 s while failures repeat; a
///   deleted or unreachable consumer is looked up again (never created). The
///   server's advisory that a new consumer leader was elected
///   (`$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.<stream>.<durable>`, which
///   the generated permissions allow) ends the pause and starts a new pull at
///   once; a request ended by a graceful leader change (`409 Leadership
///   Change`) or by its expiry gives back its credit and is asked for again.
///   Unacknowledged messages are redelivered by the server, so nothing is lost.
/// - Memory: at most `settings.batch` handlers run, and at most
///   `settings.batch` messages wait in the client for a handler: the loop
///   pulls with its own requests (not async-nats' `Stream`, which asks for
///   the next batch when half of the current one has arrived and re-sends a
///   pull every `expires` + 5 s even while nobody reads), each for what was
///   handed to a handler since, so the messages asked for and not yet handed
///   out never exceed one batch, however long handlers are stuck (checked by
///   `stuck_handlers_hold_at_most_one_batch_in_the_client` in tests/e2e and
///   measured by `cargo bench -p e2e-tests --bench throughput`).
/// - On `shutdown`: no new message is started, messages already received but
///   not started are nak'ed for immediate redelivery, in-flight handlers
///   finish and their outcome is sent, then the client is flushed.
///
/// # Errors
/// Only from the first binding: [`RunError::Bind`] when the stream or
/// consumer is missing or differs. Later failures are logged and retried.
pub async fn run<T, F, Fut, S>(
    jetstream: &::async_nats::jetstream::Context,
    settings: &ConsumerSettings,
    handler: F,
    shutdown: S,
) -> ::std::result::Result<(), RunError>
where
    T: ::serde::de::DeserializeOwned,
    F: Fn(Delivery<T>) -> Fut,
    Fut: ::std::future::Future<Output = Outcome>,
    S: ::std::future::Future<Output = ()>,
{
    use ::futures::FutureExt as _;
    let mut shutdown = ::std::pin::pin!(shutdown.fuse());
    let Some(mut consumer) = bind_until(jetstream, settings, &mut shutdown).await? else {
        return Ok(());
    };
    let handler = &handler;
    let client = ::std::sync::Arc::new(jetstream.client());
    let client = &client;
    let concurrency = settings.batch.max(1);
    let mut in_flight = ::futures::stream::FuturesUnordered::new();
    let mut failures: u32 = 0;
    let mut rebind = false;
    // A killed consumer leader takes the pull with it and says nothing: the server's advisory
    // that a new leader was elected starts a new pull at once, instead of after missed heartbeats
    // and a pause. Without permission to subscribe, the heartbeats remain.
    let mut elected = match client
        .subscribe(format!("$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.{}.{}", settings.stream, settings.durable))
        .await
    {
        Ok(subscriber) => Some(subscriber),
        Err(error) => {
            ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, "cannot follow consumer leader elections; a lost pull is noticed by missed heartbeats");
            None
        }
    };
    ::tracing::info!(stream = settings.stream, durable = settings.durable, batch = settings.batch, "consuming");
    'pull: loop {
        if failures > 0 {
            // Keep running in-flight handlers while waiting.
            let mut pause = ::std::pin::pin!(::tokio::time::sleep(reconnect_pause(failures)).fuse());
            loop {
                ::futures::select_biased! {
                    () = shutdown => break 'pull,
                    () = pause => break,
                    () = next_election(&mut elected).fuse() => {
                        ::tracing::info!(stream = settings.stream, durable = settings.durable, "new consumer leader elected; pulling again at once");
                        break;
                    }
                    () = in_flight.select_next_some() => {}
                }
            }
        }
        if rebind {
            // A lookup sent during an election times out; the election's end cuts it short.
            let attempt = ::futures::select_biased! {
                attempt = ::std::boxed::Box::pin(bind_attempt(jetstream, settings)).fuse() => attempt,
                () = next_election(&mut elected).fuse() => {
                    ::tracing::info!(stream = settings.stream, durable = settings.durable, "new consumer leader elected; looking the consumer up again at once");
                    failures = 0;
                    continue 'pull;
                }
            };
            match attempt {
                Ok(bound) => {
                    consumer = bound;
                    rebind = false;
                }
                Err(error) => {
                    if error.is_transient() {
                        ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, "cannot look up the consumer yet; retrying");
                    } else {
                        ::tracing::error!(stream = settings.stream, durable = settings.durable, %error, "cannot bind again; retrying until ops restore it");
                    }
                    failures = failures.saturating_add(1);
                    continue 'pull;
                }
            }
        }
        let mut messages = match Pull::start(&consumer, client, settings).await {
            Ok(pull) => pull,
            Err(error) => {
                ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, "cannot start pulling; retrying");
                failures = failures.saturating_add(1);
                continue 'pull;
            }
        };
        // Like `for_each_concurrent`: one poll takes every message that is ready (up to
        // `concurrency` handlers) and drives the handlers; `shutdown` is polled once per
        // wake-up rather than once per message, and nothing wakes the task needlessly.
        let event = ::futures::future::poll_fn(|cx| {
            use ::std::task::Poll;
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(PullEvent::Shutdown);
            }
            if let Some(advisories) = elected.as_mut() {
                match advisories.poll_next_unpin(cx) {
                    Poll::Ready(Some(_)) => return Poll::Ready(PullEvent::LeaderElected),
                    Poll::Ready(None) => elected = None,
                    Poll::Pending => {}
                }
            }
            loop {
                let mut progress = false;
                if in_flight.len() < concurrency {
                    match messages.poll_next_unpin(cx) {
                        Poll::Ready(Some(Ok(message))) => {
                            failures = 0;
                            in_flight.push(handle(message, client, settings, handler));
                            progress = true;
                        }
                        Poll::Ready(Some(Err(error))) => return Poll::Ready(PullEvent::Failed(error)),
                        Poll::Ready(None) => return Poll::Ready(PullEvent::Ended),
                        Poll::Pending => {}
                    }
                }
                if let Poll::Ready(Some(())) = in_flight.poll_next_unpin(cx) {
                    progress = true;
                }
                if !progress {
                    return Poll::Pending;
                }
            }
        })
        .await;
        match event {
            PullEvent::Shutdown => {
                messages.release(client).await;
                break 'pull;
            }
            PullEvent::Failed(error) => {
                ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, kind = ?error.kind(), "pull failed; pulling again");
                rebind = needs_rebind(error.kind());
                failures = failures.saturating_add(1);
            }
            PullEvent::Ended => {
                ::tracing::warn!(stream = settings.stream, durable = settings.durable, "pull ended; pulling again");
                failures = failures.saturating_add(1);
            }
            PullEvent::LeaderElected => {
                // The old pull may be lost with the old leader: release what it delivered and pull anew.
                ::tracing::info!(
                    stream = settings.stream,
                    durable = settings.durable,
                    "new consumer leader elected; pulling again at once"
                );
                messages.release(client).await;
                failures = 0;
            }
        }
    }
    while in_flight.next().await.is_some() {}
    if let Err(error) = jetstream.client().flush().await {
        ::tracing::warn!(stream = settings.stream, durable = settings.durable, %error, "cannot flush acknowledgements; unacknowledged messages will be redelivered");
    }
    ::tracing::info!(stream = settings.stream, durable = settings.durable, "stopped");
    Ok(())
}

/// What ends a pull in the run loop.
enum PullEvent {
    /// The shutdown future completed.
    Shutdown,
    /// The pull failed (missed heartbeats, consumer deleted, no responders, …).
    Failed(::async_nats::jetstream::consumer::pull::MessagesError),
    /// The pull's message stream ended.
    Ended,
    /// The server announced a new consumer leader (the pull may have been lost with the old one).
    LeaderElected,
}

/// A pull request being published.
type PullRequestSent = ::std::pin::Pin<
    ::std::boxed::Box<
        dyn ::std::future::Future<
                Output = ::std::result::Result<(), ::async_nats::jetstream::consumer::pull::BatchRequestError>,
            > + ::std::marker::Send,
    >,
>;

/// Pulls from a consumer without ever asking for more than one batch ahead of
/// the handlers: the messages asked for and not yet handed out (still at the
/// server, in flight, or in the subscription's channel) never exceed
/// `settings.batch`. A new request, for the difference, goes out once half of
/// that has been handed out; nothing is re-requested while nobody reads, so
/// handlers stuck for any time hold at most one batch in the client.
///
/// The server's statuses are handled like async-nats' `Stream`: idle
/// heartbeats (two missed while a request is open fail the pull), `408`/`409`
/// with `Nats-Pending-Messages` give back the credit of an ended request,
/// `409 Consumer Deleted`, `Consumer is push based` and `Exceeded MaxRequest…`
/// and `503` fail it.
struct Pull {
    consumer: ::async_nats::jetstream::consumer::PullConsumer,
    subscriber: ::async_nats::Subscriber,
    inbox: ::async_nats::Subject,
    batch: usize,
    max_bytes: usize,
    expires: ::std::time::Duration,
    heartbeat: ::std::time::Duration,
    /// Messages asked for and not yet handed out.
    requested: usize,
    /// A pull request being published.
    sending: ::std::option::Option<PullRequestSent>,
    /// Fires after two idle heartbeats without a word from the server while a request is open.
    silence: ::std::option::Option<::std::pin::Pin<::std::boxed::Box<::tokio::time::Sleep>>>,
    /// Set when releasing: no further request.
    closing: bool,
}

impl Pull {
    /// Subscribes to a new inbox; the first request goes out on the first poll.
    async fn start(
        consumer: &::async_nats::jetstream::consumer::PullConsumer,
        client: &::async_nats::Client,
        settings: &ConsumerSettings,
    ) -> ::std::result::Result<Self, ::async_nats::SubscribeError> {
        let inbox = ::async_nats::Subject::from(client.new_inbox());
        let subscriber = client.subscribe(inbox.clone()).await?;
        Ok(Self {
            consumer: consumer.clone(),
            subscriber,
            inbox,
            batch: settings.batch.max(1),
            max_bytes: settings.max_bytes,
            expires: settings.expires,
            heartbeat: settings.heartbeat(),
            requested: 0,
            sending: None,
            silence: None,
            closing: false,
        })
    }

    /// Asks for what the credit allows once half of it is free.
    fn request_more(&mut self) {
        if self.closing || self.sending.is_some() || self.requested > self.batch / 2 {
            return;
        }
        let size = self.batch - self.requested;
        self.requested = self.batch;
        let request = ::async_nats::jetstream::consumer::pull::BatchConfig {
            batch: size,
            expires: Some(self.expires),
            max_bytes: self.max_bytes,
            idle_heartbeat: self.heartbeat,
            ..::std::default::Default::default()
        };
        let (consumer, inbox) = (self.consumer.clone(), self.inbox.clone());
        self.sending = Some(::std::boxed::Box::pin(async move { consumer.request_batch(request, inbox).await }));
        // The server's first heartbeat is due one interval after this request.
        self.silence = None;
    }

    /// Naks, for immediate redelivery, what was received and not handed out,
    /// and asks for nothing more.
    async fn release(&mut self, client: &::async_nats::Client) {
        use ::futures::FutureExt as _;
        self.closing = true;
        while let Some(Some(Ok(message))) = self.next().now_or_never() {
            let Some(reply) = message.reply else { continue };
            if let Err(error) = client.publish(reply, ::bytes::Bytes::from_static(b"-NAK")).await {
                ::tracing::warn!(%error, "cannot release an unstarted message; it is redelivered after the ack wait");
            }
        }
    }
}

impl ::futures::Stream for Pull {
    type Item = ::std::result::Result<::async_nats::Message, ::async_nats::jetstream::consumer::pull::MessagesError>;

    fn poll_next(
        mut self: ::std::pin::Pin<&mut Self>,
        cx: &mut ::std::task::Context<'_>,
    ) -> ::std::task::Poll<::std::option::Option<Self::Item>> {
        use ::async_nats::StatusCode;
        use ::async_nats::jetstream::consumer::pull::{MessagesError, MessagesErrorKind};
        use ::std::task::Poll;
        let this = &mut *self;
        loop {
            this.request_more();
            if let Some(sending) = this.sending.as_mut()
                && let Poll::Ready(sent) = sending.as_mut().poll(cx)
            {
                this.sending = None;
                if let Err(error) = sent {
                    return Poll::Ready(Some(Err(MessagesError::with_source(MessagesErrorKind::Pull, error))));
                }
            }
            let message = match this.subscriber.poll_next_unpin(cx) {
                Poll::Ready(Some(message)) => message,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => break,
            };
            this.silence = None;
            match message.status.unwrap_or(StatusCode::OK) {
                StatusCode::OK => {
                    this.requested = this.requested.saturating_sub(1);
                    return Poll::Ready(Some(Ok(message)));
                }
                StatusCode::IDLE_HEARTBEAT => {}
                StatusCode::TIMEOUT | StatusCode::REQUEST_TERMINATED => {
                    let description = message.description.as_deref().unwrap_or_default();
                    let ended = if description == "Consumer Deleted" {
                        Some(MessagesError::new(MessagesErrorKind::ConsumerDeleted))
                    } else if description == "Consumer is push based" {
                        Some(MessagesError::new(MessagesErrorKind::PushBasedConsumer))
                    } else if description.starts_with("Exceeded MaxRequest") {
                        Some(MessagesError::with_source(
                            MessagesErrorKind::RequestLimitExceeded,
                            description.to_string(),
                        ))
                    } else {
                        None
                    };
                    if let Some(error) = ended {
                        return Poll::Ready(Some(Err(error)));
                    }
                    // An ended request (expired, leadership change, …) gives back what it did not deliver.
                    let undelivered = message
                        .headers
                        .as_ref()
                        .and_then(|headers| headers.get("Nats-Pending-Messages"))
                        .and_then(|pending| pending.as_str().parse().ok())
                        .unwrap_or(this.batch);
                    this.requested = this.requested.saturating_sub(undelivered);
                }
                StatusCode::NO_RESPONDERS => {
                    return Poll::Ready(Some(Err(MessagesError::new(MessagesErrorKind::NoResponders))));
                }
                status => {
                    return Poll::Ready(Some(Err(MessagesError::with_source(
                        MessagesErrorKind::Other,
                        format!("unexpected status from the pull: {status}, {:?}", message.description),
                    ))));
                }
            }
        }
        // Silence is only a failure while a request is open (none is while the credit is used up).
        if this.requested > 0 && this.sending.is_none() && !this.heartbeat.is_zero() {
            let heartbeat = this.heartbeat;
            let silence = this
                .silence
                .get_or_insert_with(|| ::std::boxed::Box::pin(::tokio::time::sleep(heartbeat.saturating_mul(2))));
            if silence.as_mut().poll(cx).is_ready() {
                this.silence = None;
                return Poll::Ready(Some(Err(MessagesError::new(MessagesErrorKind::MissingHeartbeat))));
            }
        } else {
            this.silence = None;
        }
        Poll::Pending
    }
}

/// Waits for the next consumer-leader advisory (forever without the subscription).
async fn next_election(elected: &mut ::std::option::Option<::async_nats::Subscriber>) {
    if let Some(advisories) = elected {
        if advisories.next().await.is_some() {
            return;
        }
        *elected = None;
    }
    ::futures::future::pending::<()>().await;
}

/// Starts handling one message: decodes it and calls the handler at once
/// (so the returned future, kept per in-flight message, holds only the
/// handler's future and what the acknowledgement needs), then awaits the
/// handler and sends the acknowledgement its [`Outcome`] calls for.
fn handle<'a, T, F, Fut>(
    message: ::async_nats::Message,
    client: &::std::sync::Arc<::async_nats::Client>,
    settings: &'a ConsumerSettings,
    handler: &F,
) -> impl ::std::future::Future<Output = ()> + 'a
where
    T: ::serde::de::DeserializeOwned,
    F: Fn(Delivery<T>) -> Fut,
    Fut: ::std::future::Future<Output = Outcome> + 'a,
{
    use ::tracing::Instrument as _;
    // Take the message apart: no copy of its headers or payload per message.
    let ::async_nats::Message { subject, reply, payload, headers, .. } = message;
    let (stream_sequence, delivered, pending) = reply.as_deref().and_then(ack_subject_info).unwrap_or((0, 1, 0));
    let ack = AckTo { client: client.clone(), reply };
    // Created disabled (no formatting, no allocation) unless a subscriber listens at INFO.
    let span = ::tracing::info_span!(
        "jetstream_message",
        stream = settings.stream,
        durable = settings.durable,
        %subject,
        stream_sequence,
        delivered,
        outcome = ::tracing::field::Empty,
    );
    let started = span.in_scope(|| match decode_body::<T>(settings.format, &payload) {
        Ok(payload_value) => {
            let correlation_id = settings.correlation_id.and_then(|at| at.find(&payload, headers.as_ref()));
            let delivery = Delivery {
                payload: payload_value,
                subject: ::std::string::String::from(subject.as_str()),
                stream_sequence,
                delivered,
                pending,
                headers,
                correlation_id,
                raw: payload,
                ack: ack.clone(),
            };
            Ok(handler(delivery))
        }
        Err(error) => {
            ::tracing::error!(%subject, stream_sequence, delivered, outcome = "term", %error, "undecodable payload; terminating the message so it is not redelivered");
            Err(Outcome::Reject { reason: format!("undecodable payload: {error}") })
        }
    });
    // A handle on the span for recording the outcome (a clone of a disabled span costs nothing).
    let this_span = span.clone();
    // Two stages chained with `then`, so the handler's future and the acknowledgement's
    // share their space in the future kept per in-flight message.
    let handled = match started {
        // A panicking handler must not take the loop (and every other in-flight message) down:
        // the message is retried like a transient failure.
        Ok(handling) => ::futures::future::Either::Left(::futures::FutureExt::map(
            ::futures::FutureExt::catch_unwind(::std::panic::AssertUnwindSafe(handling)),
            Ok,
        )),
        Err(undecodable) => ::futures::future::Either::Right(::futures::future::ready(Err(undecodable))),
    };
    ::futures::FutureExt::then(handled, move |result| async move {
        let outcome = match result {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(panic)) => {
                ::tracing::error!(%subject, stream_sequence, delivered, panic = panic_message(&*panic), "handler panicked; retrying the message");
                Outcome::Retry { delay: None }
            }
            Err(undecodable) => {
                this_span.record("outcome", "term");
                send_ack(&ack, undecodable.ack_body(settings, delivered), stream_sequence).await;
                return;
            }
        };
        this_span.record("outcome", outcome.name());
        match &outcome {
            Outcome::Ack => ::tracing::debug!(%subject, stream_sequence, delivered, outcome = "ack", "handled"),
            Outcome::Retry { delay } if settings.max_deliver > 0 && delivered >= settings.max_deliver => {
                ::tracing::warn!(%subject, stream_sequence, delivered, outcome = "retry", ?delay, "retry requested on the last delivery (maxDeliver); the server will not redeliver it");
            }
            Outcome::Retry { delay } => {
                ::tracing::debug!(%subject, stream_sequence, delivered, outcome = "retry", ?delay, "handled");
            }
            Outcome::Reject { reason } => {
                ::tracing::warn!(%subject, stream_sequence, delivered, outcome = "reject", %reason, "handler rejected the message; terminating it");
            }
        }
        send_ack(&ack, outcome.ack_body(settings, delivered), stream_sequence).await;
    })
    .instrument(span)
}

/// The stream sequence, delivery count and pending count carried by a
/// JetStream message's reply subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream
/// seq>.<consumer seq>.<timestamp>.<pending>`, or with `<domain>.<account hash>.`
/// before the stream and more tokens after, ADR-15). Like
/// `jetstream::Message::info` without parsing the fields the run loop does not use.
pub(crate) fn ack_subject_info(reply: &str) -> ::std::option::Option<(u64, i64, u64)> {
    // A byte scan: this runs for every message, and the tokens are short.
    let rest = reply.strip_prefix("$JS.ACK.")?.as_bytes();
    let mut dots = [0usize; 9];
    let mut count = 0;
    for (i, _) in rest.iter().enumerate().filter(|(_, b)| **b == b'.') {
        if count == dots.len() {
            break;
        }
        dots[count] = i;
        count += 1;
    }
    // Tokens: 7 (no domain), or at least 9 (domain and account hash first).
    let first = match count {
        6 => 2,
        8 | 9 => 4,
        _ => return None,
    };
    let token = |n: usize| {
        let start = if n == 0 { 0 } else { dots[n - 1] + 1 };
        let end = if n < count { dots[n] } else { rest.len() };
        digits(&rest[start..end])
    };
    Some((token(first + 1)?, i64::try_from(token(first)?).ok()?, token(first + 4)?))
}

/// The value of a decimal number without sign (`None` when empty, not digits, or over `u64`).
fn digits(text: &[u8]) -> ::std::option::Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The text of a panic payload (`panic!` with a string or a format).
fn panic_message(panic: &(dyn ::std::any::Any + ::std::marker::Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<::std::string::String>().map(::std::string::String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Sends an acknowledgement without waiting for the server's confirmation.
async fn send_ack(ack: &AckTo, body: ::bytes::Bytes, stream_sequence: u64) {
    if let Err(error) = ack.send(body).await {
        ::tracing::warn!(stream_sequence, %error, "acknowledgement failed; the message will be redelivered");
    }
}

/// Decodes NATS headers into a typed headers struct (from the message's `headers`
/// schema): each header's first value as a string; when that does not fit the
/// type, numbers and booleans are tried as such.
pub fn decode_headers<H: ::serde::de::DeserializeOwned>(
    headers: ::std::option::Option<&::async_nats::HeaderMap>,
) -> ::std::result::Result<H, ::serde_json::Error> {
    // BTreeMap: header maps iterate in hash order; the decoded value must not depend on it.
    let mut text = ::std::collections::BTreeMap::new();
    for (name, values) in headers.into_iter().flat_map(|h| h.iter()) {
        if let Some(value) = values.first() {
            text.insert(name.to_string(), value.as_str().to_string());
        }
    }
    let strings: ::serde_json::Map<::std::string::String, ::serde_json::Value> =
        text.iter().map(|(k, v)| (k.clone(), ::serde_json::Value::String(v.clone()))).collect();
    match ::serde_json::from_value(::serde_json::Value::Object(strings)) {
        Ok(typed) => Ok(typed),
        Err(first) => {
            let scalars: ::serde_json::Map<::std::string::String, ::serde_json::Value> = text
                .into_iter()
                .map(|(k, v)| {
                    let scalar = match ::serde_json::from_str::<::serde_json::Value>(&v) {
                        Ok(n @ (::serde_json::Value::Number(_) | ::serde_json::Value::Bool(_))) => n,
                        _ => ::serde_json::Value::String(v),
                    };
                    (k, scalar)
                })
                .collect();
            ::serde_json::from_value(::serde_json::Value::Object(scalars)).map_err(|_| first)
        }
    }
}

/// A decoded core NATS message.
#[derive(::std::fmt::Debug)]
pub struct CoreDelivery<T> {
    /// The decoded payload.
    pub payload: T,
    /// The subject it was published to.
    pub subject: ::std::string::String,
    /// NATS headers, if any.
    pub headers: ::std::option::Option<::async_nats::HeaderMap>,
    /// The correlation id, when the message declares `correlationId` and carries it.
    pub correlation_id: ::std::option::Option<::std::string::String>,
}

/// What a core NATS subscriber subscribes to.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy)]
pub struct CoreSettings {
    /// Subject (may contain wildcards).
    pub subject: &'static str,
    /// Queue group: instances in the same group share the messages.
    pub queue: ::std::option::Option<&'static str>,
    /// Handlers run concurrently.
    pub concurrency: usize,
    /// Where the correlation id is, from the message's `correlationId`.
    pub correlation_id: ::std::option::Option<Location>,
    /// The wire formats of the payload and of the reply.
    pub formats: (Format, Format),
}

impl<T> CoreDelivery<T> {
    /// The headers decoded into the message's headers type (see `Headers` in the operation's module).
    ///
    /// # Errors
    /// When a required header is missing or a value does not fit its type.
    pub fn typed_headers<H: ::serde::de::DeserializeOwned>(&self) -> ::std::result::Result<H, ::serde_json::Error> {
        decode_headers(self.headers.as_ref())
    }
}

/// Subscribes over core NATS (in `queue` group if given) until `shutdown`;
/// replies with the handler's answer when `reply` handlers are used.
/// On shutdown the subscription is dropped, in-flight handlers finish, and
/// the client is flushed so their replies are sent.
///
/// # Errors
/// When subscribing fails.
pub async fn run_core<T, R, F, Fut, S>(
    client: &::async_nats::Client,
    settings: &CoreSettings,
    handler: F,
    shutdown: S,
) -> ::std::result::Result<(), RunError>
where
    T: ::serde::de::DeserializeOwned,
    R: ::serde::Serialize,
    F: Fn(CoreDelivery<T>) -> Fut,
    Fut: ::std::future::Future<Output = ::std::option::Option<R>>,
    S: ::std::future::Future<Output = ()>,
{
    use ::futures::FutureExt as _;
    use ::tracing::Instrument as _;
    let CoreSettings { subject, queue, concurrency, correlation_id, formats } = *settings;
    let subscriber = match queue {
        Some(queue) => client.queue_subscribe(subject, queue.to_string()).await,
        None => client.subscribe(subject).await,
    }
    .map_err(|e| RunError::Nats(e.into()))?;
    ::tracing::info!(subject, queue, "subscribed");
    let shutdown = ::std::pin::pin!(shutdown.fuse());
    let handler = &handler;
    subscriber
        .take_until(shutdown)
        .for_each_concurrent(concurrency.max(1), |message| {
            let span = ::tracing::info_span!("nats_message", subject = %message.subject, queue);
            async move {
                let payload = match decode_body::<T>(formats.0, &message.payload) {
                    Ok(payload) => payload,
                    Err(error) => {
                        ::tracing::error!(subject = %message.subject, %error, "undecodable payload; dropped");
                        return;
                    }
                };
                let correlation_id = correlation_id.and_then(|at| at.find(&message.payload, message.headers.as_ref()));
                let delivery = CoreDelivery {
                    payload,
                    subject: message.subject.to_string(),
                    headers: message.headers.clone(),
                    correlation_id,
                };
                let answer = match ::futures::FutureExt::catch_unwind(::std::panic::AssertUnwindSafe(async { handler(delivery).await })).await {
                    Ok(answer) => answer,
                    Err(panic) => {
                        ::tracing::error!(subject = %message.subject, panic = panic_message(&*panic), "handler panicked; message dropped");
                        return;
                    }
                };
                let Some(answer) = answer else {
                    ::tracing::debug!(subject = %message.subject, "handled");
                    return;
                };
                let Some(reply) = message.reply else {
                    ::tracing::warn!(subject = %message.subject, "request without a reply subject; answer dropped");
                    return;
                };
                match encode_body(formats.1, &answer) {
                    Ok(body) => match client.publish(reply, body.into()).await {
                        Ok(()) => ::tracing::debug!(subject = %message.subject, "replied"),
                        Err(error) => ::tracing::warn!(%error, "reply failed"),
                    },
                    Err(error) => ::tracing::error!(%error, "cannot encode reply"),
                }
            }
            .instrument(span)
        })
        .await;
    if let Err(error) = client.flush().await {
        ::tracing::warn!(%error, "cannot flush replies");
    }
    ::tracing::info!(subject, queue, "stopped");
    Ok(())
}
