//! Loading: YAML/JSON files into `serde_json::Value`s, every file reached
//! through `$ref`, and a pointer → line:column index for diagnostics.
//!
//! This is the only module that touches `serde_yaml` (deprecated upstream):
//! a future swap stays local.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::{Error, Location, Result};

/// The address of a node: a file (by display name) and a JSON pointer in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub file: String,
    pub pointer: String,
}

impl NodeId {
    /// The node one level down, under `key` (an object key or an array index).
    pub fn child(&self, key: impl AsRef<str>) -> NodeId {
        NodeId { file: self.file.clone(), pointer: format!("{}/{}", self.pointer, escape_token(key.as_ref())) }
    }

    /// The last pointer token, decoded (the component key for `#/components/schemas/Foo`).
    pub fn last_token(&self) -> Option<String> {
        self.pointer.rsplit_once('/').map(|(_, t)| unescape_token(t))
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.file, self.pointer)
    }
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// Canonical absolute path (used to read the file and for `rerun-if-changed`).
    pub path: PathBuf,
    pub value: Value,
    positions: BTreeMap<String, (usize, usize)>,
    /// Pointers whose value came from an overlay file (display name), for diagnostics.
    overlaid: BTreeMap<String, String>,
}

/// The root document and every file it reaches through `$ref`.
#[derive(Debug)]
pub struct Source {
    /// Display name of the root file.
    pub root: String,
    /// Display names of the overlays merged into it, in order.
    pub overlays: Vec<String>,
    files: BTreeMap<String, SourceFile>,
    /// Located warnings collected by every stage (what was dropped, approximated or skipped).
    warnings: std::sync::Mutex<Vec<Error>>,
}

impl Source {
    /// Loads `path` and, transitively, every relative file `$ref`.
    pub fn load(path: &Path) -> Result<Source> {
        let canonical = path.canonicalize().map_err(|e| {
            Error::new(format!("cannot read {}: {e}", path.display())).hint("check the path to the AsyncAPI document")
        })?;
        let base = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
        let root = display_name(&canonical, &base);
        let mut files = BTreeMap::new();
        let mut queue = VecDeque::from([(canonical, None::<Location>)]);
        while let Some((file_path, referrer)) = queue.pop_front() {
            let name = display_name(&file_path, &base);
            if files.contains_key(&name) {
                continue;
            }
            let text = std::fs::read_to_string(&file_path).map_err(|e| {
                let err = Error::new(format!("cannot read {}: {e}", file_path.display()));
                match referrer.clone() {
                    Some(loc) => err
                        .at(loc)
                        .hint("the $ref names a file that does not exist; paths are relative to the referring file"),
                    None => err,
                }
            })?;
            let file = parse_file(&name, &file_path, &text)?;
            let mut found = BTreeSet::new();
            collect_file_refs(&file.value, &mut String::new(), &mut |pointer, reference| {
                found.insert((pointer.to_string(), reference.to_string()));
            });
            for (pointer, reference) in found {
                let from = NodeId { file: name.clone(), pointer };
                let location = file.location(&from);
                let target = resolve_file_part(&file_path, &reference, location.clone())?;
                queue.push_back((target, Some(location)));
            }
            files.insert(name, file);
        }
        Ok(Source { root, overlays: Vec::new(), files, warnings: Default::default() })
    }

    /// Parses a document held in memory (tests, and `generate` on strings).
    pub fn from_str(name: &str, text: &str) -> Result<Source> {
        let file = parse_file(name, Path::new(name), text)?;
        let mut refs = Vec::new();
        collect_file_refs(&file.value, &mut String::new(), &mut |p, r| refs.push((p.to_string(), r.to_string())));
        if let Some((pointer, reference)) = refs.first() {
            let loc = file.location(&NodeId { file: name.into(), pointer: pointer.clone() });
            return Err(Error::new(format!("external $ref `{reference}` in a document loaded from memory"))
                .at(loc)
                .hint("load the document from a file so relative references can be resolved"));
        }
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), file);
        Ok(Source { root: name.to_string(), overlays: Vec::new(), files, warnings: Default::default() })
    }

    /// Records a located warning (built like an error: `source.warn(source.error(&id, "…").hint("…"))`).
    pub fn warn(&self, warning: Error) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(warning);
    }

    /// The warnings recorded so far, sorted by location and de-duplicated (deterministic output).
    pub fn warnings(&self) -> Vec<Error> {
        let mut all = self.warnings.lock().unwrap_or_else(|e| e.into_inner()).clone();
        all.sort_by(|a, b| {
            let key = |e: &Error| {
                e.location.as_ref().map(|l| (l.file.clone(), l.line_col, l.pointer.clone())).unwrap_or_default()
            };
            key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
        });
        all.dedup();
        all
    }

    /// The root node of the root document.
    pub fn root_id(&self) -> NodeId {
        NodeId { file: self.root.clone(), pointer: String::new() }
    }

    /// Every file read, as canonical paths, sorted (for `cargo:rerun-if-changed`).
    pub fn paths(&self) -> Vec<&Path> {
        self.files.values().map(|f| f.path.as_path()).collect()
    }

    pub fn get(&self, id: &NodeId) -> Option<&Value> {
        let file = self.files.get(&id.file)?;
        if id.pointer.is_empty() { Some(&file.value) } else { file.value.pointer(&id.pointer) }
    }

    /// Where `id` is, for an error message.
    pub fn location(&self, id: &NodeId) -> Location {
        let Some(file) = self.files.get(&id.file) else {
            return Location { file: id.file.clone(), line_col: None, pointer: id.pointer.clone() };
        };
        // A node an overlay put there is located in the overlay (same pointer, its own positions).
        let mut pointer = id.pointer.as_str();
        loop {
            if let Some(overlay) = file.overlaid.get(pointer) {
                if let Some(overlay_file) = self.files.get(overlay) {
                    return overlay_file.location(&NodeId { file: overlay.clone(), pointer: id.pointer.clone() });
                }
            }
            match pointer.rsplit_once('/') {
                Some((parent, _)) => pointer = parent,
                None => return file.location(id),
            }
        }
    }

    /// Merges an overlay document into the root document (JSON Merge Patch, RFC 7386:
    /// objects merge key by key, `null` removes, anything else replaces). For adding
    /// `x-jetstream` settings to documents another tool generates (e.g. FastStream).
    /// `$ref`s in the overlay resolve as if written in the root document; they may not name files.
    pub fn apply_overlay(&mut self, path: &Path) -> Result<()> {
        let canonical = path.canonicalize().map_err(|e| {
            Error::new(format!("cannot read overlay {}: {e}", path.display()))
                .hint("check the path given with --overlay")
        })?;
        let base = self.files[&self.root].path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let name = display_name(&canonical, &base);
        let text = std::fs::read_to_string(&canonical)
            .map_err(|e| Error::new(format!("cannot read overlay {}: {e}", canonical.display())))?;
        let overlay = parse_file(&name, &canonical, &text)?;
        let mut external = None;
        collect_file_refs(&overlay.value, &mut String::new(), &mut |p, r| {
            external.get_or_insert((p.to_string(), r.to_string()));
        });
        if let Some((pointer, reference)) = external {
            return Err(Error::new(format!("overlay $ref `{reference}` names a file"))
                .at(overlay.location(&NodeId { file: name, pointer }))
                .hint(
                    "an overlay is merged into the document; reference the document's own nodes (`#/components/...`)",
                ));
        }
        if !overlay.value.is_object() {
            return Err(Error::new("an overlay must be a mapping merged into the document")
                .at(overlay.location(&NodeId { file: name, pointer: String::new() })));
        }
        check_overlay_targets(&self.files[&self.root].value, &overlay, &name)?;
        let root = self.files.get_mut(&self.root).expect("root file is loaded");
        merge_patch(&mut root.value, &overlay.value, &mut String::new(), &mut |pointer| {
            root.overlaid.insert(pointer.to_string(), name.clone());
        });
        self.overlays.push(name.clone());
        self.files.insert(name, overlay);
        Ok(())
    }

    /// An error located at `id`.
    pub fn error(&self, id: &NodeId, message: impl Into<String>) -> Error {
        Error::new(message).at(self.location(id))
    }

    /// Resolves the `$ref` string found at `from` (the object holding `$ref`).
    pub fn resolve_ref(&self, from: &NodeId, reference: &str) -> Result<NodeId> {
        let (file_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file_part.is_empty() {
            from.file.clone()
        } else {
            let referrer = &self.files[&from.file].path;
            let target = resolve_file_part(referrer, reference, self.location(from))?;
            let base = self.files[&self.root].path.parent().unwrap_or(Path::new("/")).to_path_buf();
            display_name(&target, &base)
        };
        let pointer = decode_fragment(fragment).map_err(|e| {
            self.error(from, format!("invalid $ref `{reference}`: {e}"))
                .hint("a $ref fragment must be a JSON pointer such as `#/components/schemas/Order`")
        })?;
        let id = NodeId { file, pointer };
        if self.get(&id).is_none() {
            return Err(self
                .error(from, format!("$ref `{reference}` points to nothing"))
                .hint(format!("no node at `{}#{}`; check the spelling of the pointer", id.file, id.pointer)));
        }
        Ok(id)
    }

    /// Follows `$ref` chains from `id` until a node that is not a reference.
    /// Sibling keywords next to `$ref` are ignored here (schemas handle them themselves).
    pub fn deref(&self, id: &NodeId) -> Result<(NodeId, &Value)> {
        let mut current = id.clone();
        let mut seen = BTreeSet::new();
        loop {
            let value = self.get(&current).ok_or_else(|| self.error(&current, "missing node"))?;
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    if !seen.insert(current.clone()) {
                        return Err(self
                            .error(id, "circular $ref chain")
                            .hint("a $ref must eventually point to a definition"));
                    }
                    current = self.resolve_ref(&current, reference)?;
                }
                None => return Ok((current, value)),
            }
        }
    }
}

impl SourceFile {
    fn location(&self, id: &NodeId) -> Location {
        // The nearest recorded ancestor (pointers into JSON strings have no own entry).
        let mut pointer = id.pointer.as_str();
        let line_col = loop {
            if let Some(pos) = self.positions.get(pointer) {
                break Some(*pos);
            }
            match pointer.rsplit_once('/') {
                Some((parent, _)) => pointer = parent,
                None => break None,
            }
        };
        Location { file: id.file.clone(), line_col, pointer: id.pointer.clone() }
    }
}

/// Overlay keys that name a channel, operation or message (and, in 2.x, a channel's `publish` /
/// `subscribe`) must name one the document has: a typo, or an overlay written for the other
/// AsyncAPI version, would otherwise add an unused node and its settings would silently not apply.
fn check_overlay_targets(doc: &Value, overlay: &SourceFile, name: &str) -> Result<()> {
    let at = |pointer: &str| overlay.location(&NodeId { file: name.to_string(), pointer: pointer.to_string() });
    let v2 = doc.get("asyncapi").and_then(Value::as_str).is_some_and(|v| v.starts_with('2'));
    for section in [&["channels"][..], &["operations"], &["components", "messages"]] {
        let pointer: String = section.iter().map(|k| format!("/{}", escape_token(k))).collect();
        let Some(Value::Object(patch)) = overlay.value.pointer(&pointer) else { continue };
        let what = section.last().copied().unwrap_or_default();
        let Some(existing) = doc.pointer(&pointer).and_then(Value::as_object) else {
            let hint = if what == "operations" && v2 {
                "this is an AsyncAPI 2.x document: its operations are the `publish` / `subscribe` of each channel (`channels: {<key>: {publish: {x-jetstream: …}}}`)".to_string()
            } else {
                format!(
                    "the document has no `{}`; an overlay only adds settings to what the document describes",
                    &pointer[1..]
                )
            };
            return Err(Error::new(format!("overlay patches `{}`, which the document does not have", &pointer[1..]))
                .at(at(&pointer))
                .hint(hint));
        };
        for (key, value) in patch {
            let key_pointer = format!("{pointer}/{}", escape_token(key));
            let Some(target) = existing.get(key) else {
                let mut known: Vec<&str> = existing.keys().map(String::as_str).collect();
                known.truncate(12);
                return Err(Error::new(format!(
                    "overlay names {} `{key}`, which the document does not have",
                    singular(what)
                ))
                .at(at(&key_pointer))
                .hint(format!(
                    "check the spelling (keys are matched exactly); the document's {what}: {}",
                    known.join(", ")
                )));
            };
            if !(v2 && what == "channels") || target.get("$ref").is_some() {
                continue;
            }
            for verb in ["publish", "subscribe"] {
                if value.get(verb).is_some_and(|v| !v.is_null()) && target.get(verb).is_none() {
                    return Err(Error::new(format!(
                        "overlay patches `{verb}` of channel `{key}`, which has no `{verb}` operation"
                    ))
                    .at(at(&format!("{key_pointer}/{verb}")))
                    .hint(
                        "in AsyncAPI 2.x, `publish` is what the application receives and `subscribe` what it sends",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn singular(section: &str) -> &str {
    match section {
        "channels" => "channel",
        "operations" => "operation",
        _ => "message",
    }
}

/// RFC 7386 merge; `replaced(pointer)` is called for every node the patch sets.
fn merge_patch(target: &mut Value, patch: &Value, pointer: &mut String, replaced: &mut dyn FnMut(&str)) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        replaced(pointer);
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
        replaced(pointer);
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        let len = pointer.len();
        pointer.push('/');
        pointer.push_str(&escape_token(key));
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value, pointer, replaced);
        }
        pointer.truncate(len);
    }
}

fn parse_file(name: &str, path: &Path, text: &str) -> Result<SourceFile> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let whole = |line_col| Location { file: name.to_string(), line_col, pointer: String::new() };
    let value: Value = if is_json {
        serde_json::from_str(text).map_err(|e| {
            Error::new(format!("invalid JSON: {e}")).at(whole(Some((e.line(), e.column())))).hint("fix the JSON syntax")
        })?
    } else {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
            let line_col = e.location().map(|l| (l.line(), l.column()));
            Error::new(format!("invalid YAML: {e}")).at(whole(line_col)).hint("fix the YAML syntax")
        })?;
        yaml_to_json(yaml).map_err(|msg| Error::new(msg).at(whole(None)))?
    };
    let positions = index_positions(text).unwrap_or_default();
    Ok(SourceFile { path: path.to_path_buf(), value, positions, overlaid: BTreeMap::new() })
}

/// YAML → JSON value; keys must be strings (numbers/bools as keys are stringified, as YAML 1.2 JSON schema tools do).
fn yaml_to_json(yaml: serde_yaml::Value) -> std::result::Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or(format!("number {f} cannot be represented in JSON"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect::<std::result::Result<_, _>>()?),
        Y::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}: keys must be strings")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

/// JSON Schema in JSON or YAML, and the AsyncAPI schema format (a JSON Schema superset) in any
/// encoding; other `schemaFormat`s (Avro, Protobuf, RAML, …) are opaque to asyncapi-nats.
pub fn is_json_schema_format(format: &str) -> bool {
    let format = format.trim().to_ascii_lowercase();
    ["application/schema+json", "application/schema+yaml", "application/vnd.aai.asyncapi"]
        .iter()
        .any(|prefix| format.starts_with(prefix))
}

/// Calls `found(pointer, reference)` for every `$ref` naming another file. Schemas in an opaque
/// format (a 3.x `{schemaFormat, schema}`, a 2.x message's `schemaFormat` + `payload`) and
/// bindings of other protocols are not followed: their `$ref`s (e.g. to a remote `.avsc`) are
/// never read.
fn collect_file_refs(value: &Value, pointer: &mut String, found: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if !reference.starts_with('#') {
                    found(pointer, reference);
                }
            }
            let opaque = match map.get("schemaFormat") {
                Some(Value::String(format)) if !is_json_schema_format(format) => {
                    if map.contains_key("schema") {
                        "schema"
                    } else {
                        "payload"
                    }
                }
                _ => "",
            };
            for (key, child) in map {
                if key == opaque {
                    continue;
                }
                if key == "bindings" {
                    // Only NATS bindings are read; other protocols' (e.g. a Kafka key's remote
                    // Avro schema) are never loaded.
                    if let Some(nats) = child.get("nats") {
                        let len = pointer.len();
                        pointer.push_str("/bindings/nats");
                        collect_file_refs(nats, pointer, found);
                        pointer.truncate(len);
                    }
                    continue;
                }
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_token(key));
                collect_file_refs(child, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                collect_file_refs(child, pointer, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn resolve_file_part(referrer: &Path, reference: &str, at: Location) -> Result<PathBuf> {
    let file_part = reference.split_once('#').map_or(reference, |(f, _)| f);
    if file_part.contains("://") || file_part.starts_with("//") {
        return Err(Error::new(format!("remote $ref `{reference}` is not supported"))
            .at(at)
            .hint("download the referenced document next to the spec and use a relative path"));
    }
    let decoded = percent_encoding::percent_decode_str(file_part).decode_utf8_lossy();
    let joined = referrer.parent().unwrap_or(Path::new("/")).join(decoded.as_ref());
    joined.canonicalize().map_err(|e| {
        Error::new(format!("$ref `{reference}`: cannot read {}: {e}", joined.display()))
            .at(at)
            .hint("relative $ref paths are resolved against the folder of the file that contains them")
    })
}

/// `#/components/messages/a.%7Bb%7D~1c` → `/components/messages/a.{b}~1c` (percent-decoded, still `~`-escaped).
fn decode_fragment(fragment: &str) -> std::result::Result<String, String> {
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .map_err(|_| "percent-encoding does not decode to UTF-8".to_string())?;
    if decoded.is_empty() || decoded.starts_with('/') {
        Ok(decoded.into_owned())
    } else {
        Err(format!("fragment `{decoded}` is not a JSON pointer (it must start with `/`)"))
    }
}

pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

pub fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Display name: relative to the root document's folder, `/`-separated (platform independent).
fn display_name(path: &Path, base: &Path) -> String {
    let rel = relative_path(path, base);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

fn relative_path(path: &Path, base: &Path) -> PathBuf {
    let path_parts: Vec<Component> = path.components().collect();
    let base_parts: Vec<Component> = base.components().collect();
    let common = path_parts.iter().zip(&base_parts).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base_parts.len() {
        out.push("..");
    }
    for part in &path_parts[common..] {
        out.push(part.as_os_str());
    }
    out
}

/// Builds the pointer → (line, column) index from the YAML event stream (JSON is YAML too).
fn index_positions(text: &str) -> Option<BTreeMap<String, (usize, usize)>> {
    let mut indexer = PositionIndexer::default();
    Parser::new_from_str(text).load(&mut indexer, false).ok()?;
    Some(indexer.positions)
}

enum Frame {
    Map { pointer: String, key: Option<String> },
    Seq { pointer: String, index: usize },
}

#[derive(Default)]
struct PositionIndexer {
    stack: Vec<Frame>,
    positions: BTreeMap<String, (usize, usize)>,
}

impl PositionIndexer {
    /// Pointer of the value node starting now, or `None` when the event is a mapping key.
    fn value_pointer(&mut self, key_text: Option<&str>, mark: Marker, starts_mapping: bool) -> Option<String> {
        let pos = (mark.line(), mark.col() + 1);
        match self.stack.last_mut() {
            None => {
                self.positions.entry(String::new()).or_insert(pos);
                Some(String::new())
            }
            Some(Frame::Map { pointer, key }) => match key.take() {
                None => {
                    // A key: remember it; its position is the position of its value's entry.
                    // A mapping's own position is its first key (block mapping marks point elsewhere).
                    self.positions.entry(pointer.clone()).or_insert(pos);
                    let k = key_text.unwrap_or_default().to_string();
                    let child = format!("{pointer}/{}", escape_token(&k));
                    self.positions.entry(child).or_insert(pos);
                    *key = Some(k);
                    None
                }
                Some(k) => Some(format!("{pointer}/{}", escape_token(&k))),
            },
            Some(Frame::Seq { pointer, index }) => {
                let child = format!("{pointer}/{index}");
                *index += 1;
                if !starts_mapping {
                    self.positions.entry(child.clone()).or_insert(pos);
                }
                Some(child)
            }
        }
    }
}

impl MarkedEventReceiver for PositionIndexer {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                self.value_pointer(Some(&text), mark, false);
            }
            Event::Alias(_) => {
                self.value_pointer(Some(""), mark, false);
            }
            Event::MappingStart(..) => {
                if let Some(pointer) = self.value_pointer(None, mark, true) {
                    self.stack.push(Frame::Map { pointer, key: None });
                } else {
                    // complex mapping keys are not valid JSON keys; index the rest anyway
                    self.stack.push(Frame::Map { pointer: "/?".into(), key: None });
                }
            }
            Event::SequenceStart(..) => {
                let pointer = self.value_pointer(None, mark, false).unwrap_or_else(|| "/?".into());
                self.stack.push(Frame::Seq { pointer, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_items() {
        let text = "asyncapi: 3.0.0\nchannels:\n  a/b:\n    address: x.y\n    tags:\n      - name: t\n";
        let idx = index_positions(text).unwrap();
        assert_eq!(idx["/asyncapi"], (1, 1));
        assert_eq!(idx["/channels/a~1b/address"], (4, 5));
        assert_eq!(idx["/channels/a~1b/tags/0"], (6, 9));
    }

    #[test]
    fn json_positions_are_indexed_too() {
        let text = "{\n  \"info\": {\n    \"title\": \"x\"\n  }\n}\n";
        let idx = index_positions(text).unwrap();
        assert_eq!(idx["/info/title"].0, 3);
    }

    #[test]
    fn percent_encoded_fragments_decode() {
        assert_eq!(
            decode_fragment("/components/messages/payments.%7Bregion%7D.settled:OnSettled:Message").unwrap(),
            "/components/messages/payments.{region}.settled:OnSettled:Message"
        );
        assert!(decode_fragment("components").is_err());
    }

    #[test]
    fn local_refs_resolve_and_missing_ones_are_located() {
        let src = Source::from_str(
            "spec.yaml",
            "components:\n  schemas:\n    a~b:\n      type: string\n    c:\n      $ref: '#/components/schemas/nope'\n",
        )
        .unwrap();
        let from = src.root_id().child("components").child("schemas").child("c");
        let err = src.resolve_ref(&from, "#/components/schemas/nope").unwrap_err();
        let loc = err.location.unwrap();
        assert_eq!(loc.line_col, Some((5, 5)));
        assert_eq!(loc.pointer, "/components/schemas/c");
        let ok = src.resolve_ref(&from, "#/components/schemas/a~0b").unwrap();
        assert_eq!(src.get(&ok).unwrap()["type"], "string");
    }

    #[test]
    fn remote_refs_are_refused() {
        let err = resolve_file_part(
            Path::new("/x/spec.yaml"),
            "https://example.com/s.json#/a",
            Location { file: "spec.yaml".into(), line_col: None, pointer: String::new() },
        )
        .unwrap_err();
        assert!(err.message.contains("remote $ref"));
    }

    #[test]
    fn circular_ref_chains_are_errors() {
        let src = Source::from_str("s.yaml", "a:\n  $ref: '#/b'\nb:\n  $ref: '#/a'\n").unwrap();
        let err = src.deref(&src.root_id().child("a")).unwrap_err();
        assert!(err.message.contains("circular"));
    }
}
