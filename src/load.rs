//! Loading: YAML/JSON files into `serde_json::Value`s, every file reached
//! through `$ref`, and a pointer → line:column index for diagnostics.
//!
//! All YAML handling is here: one pass of yaml-rust2's event parser yields the
//! values and their positions together (serde_yaml, deprecated upstream, is no
//! longer used; its scalar resolution is kept so values do not change).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use yaml_rust2::parser::{Event, ParseResult, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::error::{Error, Location, Result};

/// Hash tables keyed by node ids or names that are looked up, never iterated (output order never
/// depends on them): a fast hasher with a fixed seed, cheaper than the default SipHash.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// The address of a node: a file (by display name) and a JSON pointer in it.
///
/// The file name is shared (`Arc`): ids are cloned and compared millions of times in a large
/// document, almost always within one file, so a clone does not copy the name and a comparison
/// of two ids sharing it compares the pointers only. The order is that of `(file, pointer)`.
#[derive(Debug, Clone, Eq)]
pub struct NodeId {
    pub file: Arc<str>,
    pub pointer: String,
}

impl PartialEq for NodeId {
    fn eq(&self, other: &Self) -> bool {
        self.pointer == other.pointer && (Arc::ptr_eq(&self.file, &other.file) || self.file == other.file)
    }
}

// The pointer only: equal ids have equal pointers (so they hash alike), ids of other files with the
// same pointer are told apart by `eq`, and hashing the file name of every id again is not free.
impl std::hash::Hash for NodeId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.pointer.hash(state);
    }
}

impl Ord for NodeId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.file, &other.file) {
            return self.pointer.cmp(&other.pointer);
        }
        (&*self.file, &self.pointer).cmp(&(&*other.file, &other.pointer))
    }
}

impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl NodeId {
    /// The node one level down, under `key` (an object key or an array index).
    pub fn child(&self, key: impl AsRef<str>) -> NodeId {
        let key = key.as_ref();
        let mut pointer = String::with_capacity(self.pointer.len() + 1 + key.len());
        pointer.push_str(&self.pointer);
        push_token(&mut pointer, key);
        NodeId { file: self.file.clone(), pointer }
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
    /// Pointer → (line, column), for diagnostics only (looked up, never iterated).
    positions: Positions,
    /// Whether a `$ref` in it may name another file (when not, it is not searched for them).
    file_refs: bool,
    /// Pointers whose value came from an overlay file (display name), for diagnostics.
    overlaid: BTreeMap<String, Overlaid>,
}

/// Where a node an overlay set is written in the overlay.
#[derive(Debug, Clone)]
struct Overlaid {
    /// The overlay's display name.
    overlay: String,
    /// Its pointer in the overlay, when not the same as in the document (a version-neutral
    /// section, merged by generated names).
    at: Option<String>,
}

/// The root document and every file it reaches through `$ref`.
#[derive(Debug)]
pub struct Source {
    /// Display name of the root file.
    pub root: String,
    /// The same, shared by the ids of its nodes (see [`NodeId`]).
    root_file: Arc<str>,
    /// Display names of the overlays merged into it, in order.
    pub overlays: Vec<String>,
    files: BTreeMap<String, SourceFile>,
    /// File `$ref`s must resolve inside this folder (canonical).
    ref_root: PathBuf,
    /// Located warnings collected by every stage (what was dropped, approximated or skipped).
    warnings: std::sync::Mutex<Vec<Error>>,
    /// Located errors of the stages that go on after one, so a run reports all of them at once.
    errors: std::sync::Mutex<crate::error::Collected>,
}

impl Source {
    /// Loads `path` and, transitively, every relative file `$ref`, with the default `$ref` root.
    pub fn load(path: &Path) -> Result<Source> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// Loads `path` and, transitively, every relative file `$ref` under the `$ref` root.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Source> {
        let canonical = path.canonicalize().map_err(|e| {
            Error::new(format!("cannot read {}: {e}", path.display())).hint("check the path to the AsyncAPI document")
        })?;
        let base = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
        let ref_root = match &options.ref_root {
            Some(dir) => dir.canonicalize().map_err(|e| {
                Error::new(format!("cannot use $ref root {}: {e}", dir.display()))
                    .hint("--ref-root / Config::ref_root must be an existing folder")
            })?,
            None => default_ref_root(&base),
        };
        let root = display_name(&canonical, &base);
        let mut files = BTreeMap::new();
        let mut queue = VecDeque::from([(canonical, None::<Location>)]);
        while let Some((file_path, referrer)) = queue.pop_front() {
            let name = display_name(&file_path, &base);
            if files.contains_key(&name) {
                continue;
            }
            let bytes = read_file(&file_path).map_err(|err| match referrer.clone() {
                Some(loc) => err.at(loc),
                None => err,
            })?;
            let text = decode_utf8(&name, bytes).map_err(|err| match &referrer {
                Some(loc) => err.hint(format!("the file is referenced at {loc}; is it a binary file?")),
                None => err,
            })?;
            let file = parse_file(&name, &file_path, &text)?;
            let mut found = BTreeSet::new();
            file.each_file_ref(&mut |pointer, reference| {
                found.insert((pointer.to_string(), reference.to_string()));
            });
            for (pointer, reference) in found {
                let from = NodeId { file: name.as_str().into(), pointer };
                let location = file.location(&from);
                let target = resolve_file_part(&file_path, &reference, location.clone(), &ref_root)?;
                queue.push_back((target, Some(location)));
            }
            files.insert(name, file);
        }
        Ok(Source {
            root_file: root.as_str().into(),
            root,
            overlays: Vec::new(),
            files,
            ref_root,
            warnings: Default::default(),
            errors: Default::default(),
        })
    }

    /// Parses a document held in memory (tests, and `generate` on strings).
    pub fn from_str(name: &str, text: &str) -> Result<Source> {
        let file = parse_file(name, Path::new(name), text)?;
        let mut refs = Vec::new();
        file.each_file_ref(&mut |p, r| refs.push((p.to_string(), r.to_string())));
        if let Some((pointer, reference)) = refs.first() {
            let loc = file.location(&NodeId { file: name.into(), pointer: pointer.clone() });
            return Err(Error::new(format!("external $ref `{reference}` in a document loaded from memory"))
                .at(loc)
                .hint("load the document from a file so relative references can be resolved"));
        }
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), file);
        Ok(Source {
            root_file: name.into(),
            root: name.to_string(),
            overlays: Vec::new(),
            files,
            ref_root: PathBuf::new(),
            warnings: Default::default(),
            errors: Default::default(),
        })
    }

    /// Records a located warning (built like an error: `source.warn(source.error(&id, "…").hint("…"))`).
    pub fn warn(&self, warning: Error) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(warning);
    }

    /// Drops the warnings recorded so far for which `keep` is false.
    pub fn retain_warnings(&self, keep: impl Fn(&Error) -> bool) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).retain(|w| keep(w));
    }

    /// The warnings recorded so far, sorted by location and de-duplicated (deterministic output).
    pub fn warnings(&self) -> Vec<Error> {
        let mut all = self.warnings.lock().unwrap_or_else(|e| e.into_inner()).clone();
        crate::error::sort_located(&mut all);
        all
    }

    /// Records a located error (and every error it carries) and lets the stage go on with what
    /// does not depend on it; [`Source::check_errors`] then fails the run with all of them.
    pub fn report(&self, error: Error) {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).push(error);
    }

    /// [`Source::report`]s the error of `result`, if any; the value otherwise.
    pub fn reported<T>(&self, result: Result<T>) -> Option<T> {
        result.map_err(|e| self.report(e)).ok()
    }

    /// Whether an error was reported.
    pub fn has_errors(&self) -> bool {
        !self.errors.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Fails with every error reported so far (document order, capped, with the warnings), if any.
    pub fn check_errors(&self) -> Result<()> {
        let errors = std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()));
        match errors.into_error(self.warnings()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The root node of the root document.
    pub fn root_id(&self) -> NodeId {
        NodeId { file: self.root_file.clone(), pointer: String::new() }
    }

    /// Sorts every file's index of positions now (it is otherwise sorted when a diagnostic first
    /// needs it): called on another core while the model is built.
    pub fn index_positions(&self) {
        for file in self.files.values() {
            file.positions.sorted();
        }
    }

    /// Every file read, as canonical paths, sorted (for `cargo:rerun-if-changed`).
    pub fn paths(&self) -> Vec<&Path> {
        self.files.values().map(|f| f.path.as_path()).collect()
    }

    pub fn get(&self, id: &NodeId) -> Option<&Value> {
        let file = self.files.get(&*id.file)?;
        if id.pointer.is_empty() { Some(&file.value) } else { resolve_pointer(&file.value, &id.pointer) }
    }

    /// Where `id` is, for an error message.
    pub fn location(&self, id: &NodeId) -> Location {
        let Some(file) = self.files.get(&*id.file) else {
            return Location { file: id.file.to_string(), line_col: None, pointer: id.pointer.clone() };
        };
        // A node an overlay put there is located in the overlay (same pointer, or where the
        // version-neutral section wrote it; its own positions).
        let mut pointer = id.pointer.as_str();
        loop {
            if let Some(Overlaid { overlay, at }) = file.overlaid.get(pointer) {
                if let Some(overlay_file) = self.files.get(overlay) {
                    let in_overlay = match at {
                        Some(at) => format!("{at}{}", &id.pointer[pointer.len()..]),
                        None => id.pointer.clone(),
                    };
                    return overlay_file.location(&NodeId { file: overlay.as_str().into(), pointer: in_overlay });
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
        let text = decode_utf8(&name, read_file(&canonical)?)?;
        let overlay = parse_file(&name, &canonical, &text)?;
        let mut external = None;
        overlay.each_file_ref(&mut |p, r| {
            external.get_or_insert((p.to_string(), r.to_string()));
        });
        if let Some((pointer, reference)) = external {
            return Err(Error::new(format!("overlay $ref `{reference}` names a file"))
                .at(overlay.location(&NodeId { file: name.into(), pointer }))
                .hint(
                    "an overlay is merged into the document; reference the document's own nodes (`#/components/...`)",
                ));
        }
        if !overlay.value.is_object() {
            return Err(Error::new("an overlay must be a mapping merged into the document")
                .at(overlay.location(&NodeId { file: name.into(), pointer: String::new() })));
        }
        check_overlay_targets(&self.files[&self.root].value, &overlay, &name)?;
        // The version-neutral section (see `crate::overlay`) is merged later, by generated names.
        let mut patch = overlay.value.clone();
        if let Some(map) = patch.as_object_mut() {
            map.remove(crate::overlay::SECTION);
        }
        let root = self.files.get_mut(&self.root).expect("root file is loaded");
        merge_patch(&mut root.value, &patch, &mut String::new(), &mut |pointer| {
            root.overlaid.insert(pointer.to_string(), Overlaid { overlay: name.clone(), at: None });
        });
        self.overlays.push(name.clone());
        self.files.insert(name, overlay);
        Ok(())
    }

    /// Merges `patch` (JSON Merge Patch) into the node `target` of a loaded file; the nodes it sets
    /// are located in the overlay `overlay` (at their pointer under `patch_at` there).
    pub(crate) fn merge_at(&mut self, target: &NodeId, patch: &Value, overlay: &str, patch_at: &str) {
        let Some(file) = self.files.get_mut(&*target.file) else { return };
        let node =
            if target.pointer.is_empty() { Some(&mut file.value) } else { file.value.pointer_mut(&target.pointer) };
        let Some(node) = node else { return };
        let mut pointer = target.pointer.clone();
        let overlaid = &mut file.overlaid;
        merge_patch(node, patch, &mut pointer, &mut |p| {
            let at = format!("{patch_at}{}", &p[target.pointer.len()..]);
            overlaid.insert(p.to_string(), Overlaid { overlay: overlay.to_string(), at: Some(at) });
        });
    }

    /// Runs `f` with the diagnostics it records dropped (a trial run, e.g. naming operations).
    pub(crate) fn quietly<T>(&self, f: impl FnOnce(&Self) -> T) -> T {
        let warnings = std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()));
        let errors = std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()));
        let out = f(self);
        *self.warnings.lock().unwrap_or_else(|e| e.into_inner()) = warnings;
        *self.errors.lock().unwrap_or_else(|e| e.into_inner()) = errors;
        out
    }

    /// An error located at `id`.
    pub fn error(&self, id: &NodeId, message: impl Into<String>) -> Error {
        Error::new(message).at(self.location(id))
    }

    /// Resolves the `$ref` string found at `from` (the object holding `$ref`).
    pub fn resolve_ref(&self, from: &NodeId, reference: &str) -> Result<NodeId> {
        self.resolve_ref_value(from, reference).map(|(id, _)| id)
    }

    /// [`Source::resolve_ref`], with the value found there (resolving the pointer once).
    fn resolve_ref_value(&self, from: &NodeId, reference: &str) -> Result<(NodeId, &Value)> {
        let (file_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file_part.is_empty() {
            from.file.clone()
        } else {
            let referrer = &self.files[&*from.file].path;
            let target = resolve_file_part(referrer, reference, self.location(from), &self.ref_root)?;
            let base = self.files[&self.root].path.parent().unwrap_or(Path::new("/")).to_path_buf();
            let name = display_name(&target, &base);
            // Shares the name with the ids of the same file where it is at hand (see `NodeId`).
            if *name == *from.file {
                from.file.clone()
            } else if *name == *self.root_file {
                self.root_file.clone()
            } else {
                name.into()
            }
        };
        let pointer = decode_fragment(fragment).map_err(|e| {
            self.error(from, format!("invalid $ref `{reference}`: {e}"))
                .hint("a $ref fragment must be a JSON pointer such as `#/components/schemas/Order`")
        })?;
        let id = NodeId { file, pointer };
        match self.get(&id) {
            Some(value) => Ok((id, value)),
            None => Err(self
                .error(from, format!("$ref `{reference}` points to nothing"))
                .hint(format!("no node at `{}#{}`; check the spelling of the pointer", id.file, id.pointer))),
        }
    }

    /// Follows `$ref` chains from `id` until a node that is not a reference.
    /// Sibling keywords next to `$ref` are ignored here (schemas handle them themselves).
    pub fn deref(&self, id: &NodeId) -> Result<(NodeId, &Value)> {
        let value = self.get(id).ok_or_else(|| self.error(id, "missing node"))?;
        self.follow_refs(id, id.clone(), value, BTreeSet::new())
    }

    /// [`Source::deref`] of `from`, whose object holds the `$ref` string `reference` (in the
    /// caller's hands: the node is not resolved again).
    pub fn deref_ref(&self, from: &NodeId, reference: &str) -> Result<(NodeId, &Value)> {
        let (target, value) = self.resolve_ref_value(from, reference)?;
        self.follow_refs(from, target, value, BTreeSet::from([from.clone()]))
    }

    /// Follows `$ref`s from `current` (whose value is `value`); `seen` holds the references
    /// already followed from `id`, where errors are located.
    fn follow_refs<'s>(
        &'s self,
        id: &NodeId,
        mut current: NodeId,
        mut value: &'s Value,
        mut seen: BTreeSet<NodeId>,
    ) -> Result<(NodeId, &'s Value)> {
        loop {
            match ref_of(value) {
                Some(reference) => {
                    if !seen.insert(current.clone()) {
                        return Err(self
                            .error(id, "circular $ref chain")
                            .hint("a $ref must eventually point to a definition"));
                    }
                    // The target's value comes with it (a resolved `$ref` always points to a node).
                    (current, value) = self.resolve_ref_value(&current, reference)?;
                }
                None => return Ok((current, value)),
            }
        }
    }
}

impl SourceFile {
    /// Calls `found(pointer, reference)` for every `$ref` naming another file (see [`collect_file_refs`]).
    fn each_file_ref(&self, found: &mut dyn FnMut(&str, &str)) {
        if self.file_refs {
            collect_file_refs(&self.value, &mut String::new(), found);
        }
    }

    fn location(&self, id: &NodeId) -> Location {
        // The nearest recorded ancestor (pointers into JSON strings have no own entry).
        let line_col = self.positions.nearest(&id.pointer);
        Location { file: id.file.to_string(), line_col, pointer: id.pointer.clone() }
    }
}

/// Overlay keys that name a channel, operation or message (and, in 2.x, a channel's `publish` /
/// `subscribe`) must name one the document has: a typo, or an overlay written for the other
/// AsyncAPI version, would otherwise add an unused node and its settings would silently not apply.
fn check_overlay_targets(doc: &Value, overlay: &SourceFile, name: &str) -> Result<()> {
    let at = |pointer: &str| overlay.location(&NodeId { file: name.into(), pointer: pointer.to_string() });
    let v2 = doc.get("asyncapi").and_then(Value::as_str).is_some_and(|v| v.starts_with('2'));
    let mut errors = Vec::new();
    for section in [&["channels"][..], &["operations"], &["components", "messages"]] {
        let pointer: String = section.iter().map(|k| format!("/{}", escape_token(k))).collect();
        let Some(Value::Object(patch)) = overlay.value.pointer(&pointer) else { continue };
        let what = section.last().copied().unwrap_or_default();
        let Some(existing) = doc.pointer(&pointer).and_then(Value::as_object) else {
            let hint = if what == "operations" && v2 {
                "this is an AsyncAPI 2.x document: its operations are the `publish` / `subscribe` of each channel (`channels: {<key>: {publish: {x-jetstream: …}}}`), or name them by their generated names under `x-asyncapi-nats: {operations: …}`".to_string()
            } else {
                format!(
                    "the document has no `{}`; an overlay only adds settings to what the document describes",
                    &pointer[1..]
                )
            };
            errors.push(
                Error::new(format!("overlay patches `{}`, which the document does not have", &pointer[1..]))
                    .at(at(&pointer))
                    .hint(hint),
            );
            continue;
        };
        for (key, value) in patch {
            let key_pointer = format!("{pointer}/{}", escape_token(key));
            let Some(target) = existing.get(key) else {
                let mut known: Vec<&str> = existing.keys().map(String::as_str).collect();
                known.truncate(12);
                errors.push(
                    Error::new(format!("overlay names {} `{key}`, which the document does not have", singular(what)))
                        .at(at(&key_pointer))
                        .hint(format!(
                            "check the spelling (keys are matched exactly); the document's {what}: {}",
                            known.join(", ")
                        )),
                );
                continue;
            };
            if !(v2 && what == "channels") || target.get("$ref").is_some() {
                continue;
            }
            for verb in ["publish", "subscribe"] {
                if value.get(verb).is_some_and(|v| !v.is_null()) && target.get(verb).is_none() {
                    errors.push(
                        Error::new(format!(
                            "overlay patches `{verb}` of channel `{key}`, which has no `{verb}` operation"
                        ))
                        .at(at(&format!("{key_pointer}/{verb}")))
                        .hint(
                            "in AsyncAPI 2.x, `publish` is what the application receives and `subscribe` what it sends",
                        ),
                    );
                }
            }
        }
    }
    Error::many(errors, Vec::new()).map_or(Ok(()), Err)
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
        push_token(pointer, key);
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value, pointer, replaced);
        }
        pointer.truncate(len);
    }
}

fn parse_file(name: &str, path: &Path, text: &str) -> Result<SourceFile> {
    // A byte order mark is valid at the start of a YAML or JSON stream; neither parser skips it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        // serde_json keeps JSON's exact number and escape rules; the YAML pass (JSON is YAML)
        // adds positions and the checks serde_json does not make (duplicate keys). It builds no
        // values, and runs first: yaml-rust2 holds every token of a flow collection until it
        // ends (for JSON, the whole document: more memory than the values), so it is done before
        // they exist. serde_json's errors still come first.
        let yaml = parse_yaml(name, text, false);
        let value: Value = parse_json(text).map_err(|e| {
            let line_col = Some((saturate(e.line()), saturate(e.column())));
            let whole = Location { file: name.to_string(), line_col, pointer: String::new() };
            if e.to_string().starts_with("recursion limit exceeded") {
                Error::new(format!("the JSON nests deeper than {MAX_DEPTH} levels"))
                    .at(whole)
                    .hint("flatten the document, e.g. move nested schemas to components and $ref them")
            } else {
                Error::new(format!("invalid JSON: {e}")).at(whole).hint("fix the JSON syntax")
            }
        })?;
        match yaml {
            Ok(yaml) => ParsedYaml { value, ..yaml },
            // Positions are for diagnostics only; a JSON subtlety the YAML parser refuses must not fail loading.
            Err(e) if e.message.starts_with("invalid YAML") => {
                ParsedYaml { value, positions: Positions::default(), file_refs: true }
            }
            Err(e) => return Err(e),
        }
    } else {
        parse_yaml(name, text, true)?
    };
    Ok(SourceFile {
        path: path.to_path_buf(),
        value: parsed.value,
        positions: parsed.positions,
        file_refs: parsed.file_refs,
        overlaid: BTreeMap::new(),
    })
}

/// `serde_json::from_str::<Value>`, with each object and array built at its exact size.
fn parse_json(text: &str) -> serde_json::Result<Value> {
    use serde::de::DeserializeSeed;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = ExactValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Deserializes a `Value` as `serde_json::Value` does, but collects each object's entries
/// before building its map (with exact capacity): a map grown entry by entry keeps up to twice
/// the room it needs, and a large document has hundreds of thousands of them.
struct ExactValue;

impl<'de> serde::de::DeserializeSeed<'de> for ExactValue {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ExactValue {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> std::result::Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ExactValue)? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key::<String>()? {
            entries.push((key, access.next_value_seed(ExactValue)?));
        }
        // A repeated key replaces the value in place, as in `serde_json::Value`.
        let mut map = serde_json::Map::with_capacity(entries.len());
        for (key, value) in entries {
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Decodes a file's bytes; invalid UTF-8 is located (line, column and byte offset).
pub(crate) fn decode_utf8(name: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let offset = e.utf8_error().valid_up_to();
        let before = &bytes[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        Error::new(format!("the file is not valid UTF-8 (byte offset {offset})"))
            .at(Location {
                file: name.to_string(),
                line_col: Some((saturate(line), saturate(column))),
                pointer: String::new(),
            })
            .hint("save the document as UTF-8")
    })
}

/// Deepest nesting of mappings and sequences accepted (serde_json's own limit): deeper
/// documents are not AsyncAPI, and every later pass walks the tree recursively.
const MAX_DEPTH: usize = 128;

/// Nodes that aliases may expand to in one file: real documents use a handful of
/// anchors; a "billion laughs" document expands to billions.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// A YAML file as JSON values, with the position of every node.
struct ParsedYaml {
    /// `Value::Null` when only the positions were asked for.
    value: Value,
    positions: Positions,
    /// Whether a `$ref` names another file (a string not starting with `#`), anywhere.
    file_refs: bool,
}

/// Pointer → (line, column) of every node, for diagnostics: (pointer hash, line, column),
/// sorted by hash. Keyed by a 64-bit hash of the pointer rather than the pointer itself: a
/// 5,000-channel document has over a million nodes, and their pointer strings took more memory
/// than the values. The hash is built token by token (a child's from its parent's), so the
/// parser never spells a pointer out. Two pointers of one file sharing a hash (odds about
/// 10⁻⁷ at a million nodes) would only misplace a diagnostic's line.
///
/// Recorded in document order while parsing; sorted when first looked up, or beside the model
/// ([`Source::index_positions`]): sorting the 575,000 positions of a 5,000-channel document took
/// 11 ms at the end of loading, where nothing else can run.
#[derive(Debug, Default)]
struct Positions {
    recorded: std::sync::Mutex<Vec<(u64, u32, u32)>>,
    sorted: std::sync::OnceLock<Vec<(u64, u32, u32)>>,
}

impl Positions {
    /// The hash of the empty pointer (the document).
    const ROOT: u64 = 0x243f_6a88_85a3_08d3;

    /// The hash of `parent`'s child named `token` (as written in a pointer: `~`-escaped).
    /// Deterministic; for one parent, tokens of one length never collide.
    fn child(parent: u64, token: &[u8]) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = parent ^ (token.len() as u64).wrapping_mul(K);
        for chunk in token.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        // MurmurHash3's finalizer (a bijection): every bit of the result depends on every bit.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    /// The hash of a sequence's item `index`.
    fn item(parent: u64, index: usize) -> u64 {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = index;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self::child(parent, &digits[at..])
    }

    /// The hash of a mapping's child under `key` (unescaped).
    fn key(parent: u64, key: &str) -> u64 {
        if key.contains(['~', '/']) {
            Self::child(parent, escape_token(key).as_bytes())
        } else {
            Self::child(parent, key.as_bytes())
        }
    }

    /// The hashes of `pointer`'s ancestors and itself, the document first (none when it is not
    /// a pointer).
    fn lineage(pointer: &str) -> Vec<u64> {
        let mut hashes = vec![Self::ROOT];
        if pointer.is_empty() {
            return hashes;
        }
        let Some(rest) = pointer.strip_prefix('/') else { return Vec::new() };
        let mut hash = Self::ROOT;
        for token in rest.split('/') {
            hash = Self::child(hash, token.as_bytes());
            hashes.push(hash);
        }
        hashes
    }

    fn recorded(&mut self) -> &mut Vec<(u64, u32, u32)> {
        self.recorded.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&mut self, hash: u64, (line, col): (usize, usize)) {
        self.recorded().push((hash, saturate(line), saturate(col)));
    }

    /// While parsing (unsorted): the position recorded for `hash` (a duplicate key's first one).
    fn find_unsorted(&mut self, hash: u64) -> Option<(u32, u32)> {
        self.recorded().iter().find(|e| e.0 == hash).map(|&(_, line, col)| (line, col))
    }

    /// The index sorted by hash, one entry per hash (the first in document order); sorted by
    /// the first caller, the others wait for it.
    fn sorted(&self) -> &[(u64, u32, u32)] {
        self.sorted.get_or_init(|| {
            let mut all = std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|e| e.into_inner()));
            all.sort_unstable();
            all.dedup_by_key(|e| e.0);
            all.shrink_to_fit();
            all
        })
    }

    fn get_hash(&self, hash: u64) -> Option<(u32, u32)> {
        let sorted = self.sorted();
        let i = sorted.binary_search_by_key(&hash, |e| e.0).ok()?;
        let (_, line, col) = sorted[i];
        Some((line, col))
    }

    #[cfg(test)]
    fn get(&self, pointer: &str) -> Option<(u32, u32)> {
        self.get_hash(*Self::lineage(pointer).last()?)
    }

    /// The position of `pointer`, or of its nearest recorded ancestor (pointers into JSON
    /// strings, and nodes an alias copied, have no own entry).
    fn nearest(&self, pointer: &str) -> Option<(u32, u32)> {
        Self::lineage(pointer).into_iter().rev().find_map(|hash| self.get_hash(hash))
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The keys are hashes already.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Mappings with more keys than this find duplicates through a hash set rather than by scanning.
const SCAN_KEYS: usize = 16;

/// A mapping or sequence being built. Its entries are on the builder's shared stacks (reused
/// for every collection) until it ends, so the finished `Map` or `Vec` gets its exact size: a
/// map grown entry by entry keeps up to twice the room it needs, over a million nodes.
enum Open {
    Map {
        /// Where its entries start in `YamlBuilder::entries`.
        start: usize,
        /// Hash of its pointer (see [`Positions`]).
        hash: u64,
        /// The key read, waiting for its value, and the hash of the value's pointer.
        key: Option<(String, u64)>,
        /// A sequence item: positioned at its first key, as diagnostics look it up.
        unplaced: bool,
        /// Hashes of its keys' pointers, once it has more than [`SCAN_KEYS`].
        keys: Option<std::collections::HashSet<u64, std::hash::BuildHasherDefault<IdentityHasher>>>,
        anchor: usize,
    },
    Seq {
        /// Where its items start in `YamlBuilder::items`.
        start: usize,
        hash: u64,
        anchor: usize,
    },
}

/// Builds values and the pointer → (line, column) index in one pass over the YAML
/// event stream, without recursion (so nesting depth cannot overflow the stack).
/// Scalars resolve as serde_yaml 0.9 resolved them (YAML 1.2 core schema), so the
/// values are those the generator always saw.
struct YamlBuilder<'a> {
    file: &'a str,
    stack: Vec<Open>,
    /// Entries of the open mappings: key, value, hash of the value's pointer.
    entries: Vec<(String, Value, u64)>,
    /// Items of the open sequences.
    items: Vec<Value>,
    /// Whether values are kept (not for a JSON file, which serde_json reads).
    keep_values: bool,
    /// Whether a `$ref` names another file.
    file_refs: bool,
    positions: Positions,
    /// Anchored nodes: (value, node count).
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    root: Option<Value>,
}

/// Parses YAML (JSON is YAML) into a value and its positions; with `keep_values` false, only
/// the positions and the checks are made (the value is `Null`).
/// Files from this size on are scanned on a thread of their own while the values are built.
const READ_AHEAD_BYTES: usize = 256 * 1024;
/// Events handed over at a time (about 1.5 MB of events; at most 4 batches wait). With 2,048,
/// a run in four had its two threads share one core (the load took the sum of both, +50 %):
/// a reader that hands over often keeps being woken where its consumer runs.
const EVENT_BATCH: usize = 16384;

/// Calls `consume` with a source of the parser's events for `text`. For a large file the parser
/// runs on another thread, batches of events ahead: scanning is half of loading, building the
/// values the other half. The events and their order are the same either way.
fn with_events<R>(text: &str, consume: impl FnOnce(&mut dyn FnMut() -> ParseResult) -> R) -> R {
    with_events_from(text, READ_AHEAD_BYTES, consume)
}

/// [`with_events`], reading ahead from `min_bytes` on.
fn with_events_from<R>(text: &str, min_bytes: usize, consume: impl FnOnce(&mut dyn FnMut() -> ParseResult) -> R) -> R {
    if text.len() < min_bytes {
        let mut parser = Parser::new_from_str(text);
        return consume(&mut || parser.next_token());
    }
    std::thread::scope(|scope| {
        let (sender, batches) = std::sync::mpsc::sync_channel::<Vec<ParseResult>>(4);
        let reader = std::thread::Builder::new().name("yaml".into()).spawn_scoped(scope, move || {
            let mut parser = Parser::new_from_str(text);
            loop {
                let mut batch = Vec::with_capacity(EVENT_BATCH);
                let mut last = false;
                while !last && batch.len() < EVENT_BATCH {
                    let event = parser.next_token();
                    last = matches!(event, Ok((Event::StreamEnd, _)) | Err(_));
                    batch.push(event);
                }
                // Stops when the consumer stopped (an error) or at the end.
                if sender.send(batch).is_err() || last {
                    return;
                }
            }
        });
        let Ok(reader) = reader else {
            // No thread to be had: read on this one.
            let mut parser = Parser::new_from_str(text);
            return consume(&mut || parser.next_token());
        };
        let mut batch = Vec::new().into_iter();
        let mut last_mark: Option<Marker> = None;
        let mut fallback: Option<Parser<_>> = None;
        // Owns the receiving end: dropping it stops a reader still sending (after an error).
        let mut next = move || -> ParseResult {
            if let Some(parser) = &mut fallback {
                return parser.next_token();
            }
            loop {
                if let Some(event) = batch.next() {
                    if let Ok((_, mark)) = &event {
                        last_mark = Some(*mark);
                    }
                    return event;
                }
                match (batches.recv(), last_mark) {
                    (Ok(events), _) => batch = events.into_iter(),
                    // The reader stopped before its first batch: read here instead.
                    (Err(_), None) => return fallback.insert(Parser::new_from_str(text)).next_token(),
                    (Err(_), Some(mark)) => return Err(ScanError::new(mark, "the YAML reader stopped unexpectedly")),
                }
            }
        };
        let result = consume(&mut next);
        drop(next);
        // A reader that panicked has been reported as an error above; it is not a panic here.
        let _ = reader.join();
        result
    })
}

fn parse_yaml(name: &str, text: &str, keep_values: bool) -> Result<ParsedYaml> {
    with_events(text, |next| parse_events(name, YamlBuilder::new(name, keep_values), next))
}

/// Builds the values and positions from the parser's events.
fn parse_events(name: &str, mut builder: YamlBuilder<'_>, next: &mut dyn FnMut() -> ParseResult) -> Result<ParsedYaml> {
    let mut documents = 0;
    loop {
        let (event, mark) = next().map_err(|e| {
            let at = builder.location(builder.current_pointer(), e.marker());
            if e.info() == "recursion limit exceeded" {
                // The scanner's own limit on flow nesting (`[[[…`), reached before ours.
                return Error::new(format!("the document nests deeper than {MAX_DEPTH} levels"))
                    .at(at)
                    .hint("flatten the document, e.g. move nested schemas to components and $ref them");
            }
            Error::new(format!("invalid YAML: {}", e.info())).at(at).hint("fix the YAML syntax")
        })?;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(Error::new("the file holds more than one YAML document")
                        .at(builder.location(String::new(), &mark))
                        .hint("an AsyncAPI document is one YAML document: remove the `---` line and what follows, or split the file"));
                }
            }
            Event::Scalar(text, style, anchor, tag) => builder.scalar(text, style, anchor, tag.as_ref(), &mark)?,
            Event::Alias(anchor) => builder.alias(anchor, &mark)?,
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let is_map = matches!(event, Event::MappingStart(..));
                builder.open(is_map, anchor, &mark)?;
            }
            Event::MappingEnd | Event::SequenceEnd => builder.close(&mark)?,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
    }
    let Some(value) = builder.root else {
        return Err(Error::new("the file is empty")
            .at(Location { file: name.to_string(), line_col: Some((1, 1)), pointer: String::new() })
            .hint("an AsyncAPI document is a YAML or JSON mapping starting with `asyncapi:`"));
    };
    let mut positions = builder.positions;
    // The growth slack back (the index is sorted later).
    positions.recorded().shrink_to_fit();
    Ok(ParsedYaml { value, positions, file_refs: builder.file_refs })
}

impl<'a> YamlBuilder<'a> {
    fn new(file: &'a str, keep_values: bool) -> Self {
        YamlBuilder {
            file,
            stack: Vec::new(),
            entries: Vec::new(),
            items: Vec::new(),
            keep_values,
            file_refs: false,
            positions: Positions::default(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            root: None,
        }
    }
}

impl YamlBuilder<'_> {
    fn location(&self, pointer: String, mark: &Marker) -> Location {
        Location {
            file: self.file.to_string(),
            line_col: Some((saturate(mark.line()), saturate(mark.col() + 1))),
            pointer,
        }
    }

    /// Records the position of the next node, the way diagnostics look it up: a key's position
    /// is its value's; a mapping's is its first key; a sequence item's is its own.
    fn place_next(&mut self, mark: &Marker, starts_mapping: bool) {
        let pos = (mark.line(), mark.col() + 1);
        match self.stack.last_mut() {
            None => self.positions.push(Positions::ROOT, pos),
            // Recorded with the key.
            Some(Open::Map { key: Some(_), .. }) => {}
            // A key: its mapping, when an item of a sequence, is positioned at the first one.
            Some(Open::Map { hash, unplaced, .. }) => {
                if std::mem::take(unplaced) {
                    self.positions.push(*hash, pos);
                }
            }
            Some(Open::Seq { start, hash, .. }) => {
                if !starts_mapping {
                    let child = Positions::item(*hash, self.items.len() - *start);
                    self.positions.push(child, pos);
                }
            }
        }
    }

    /// The pointer hash of the next node (not a key).
    fn next_hash(&self) -> u64 {
        match self.stack.last() {
            None => Positions::ROOT,
            Some(Open::Map { key, hash, .. }) => key.as_ref().map_or(*hash, |(_, child)| *child),
            Some(Open::Seq { start, hash, .. }) => Positions::item(*hash, self.items.len() - start),
        }
    }

    /// Puts a finished node into its parent (or makes it the document).
    fn attach(&mut self, value: Value) {
        let value = if self.keep_values { value } else { Value::Null };
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Open::Map { key, .. }) => {
                let (key, hash) = key.take().expect("a value follows its key");
                self.entries.push((key, value, hash));
            }
            Some(Open::Seq { .. }) => self.items.push(value),
        }
    }

    /// Notes a file `$ref` (so the files it names are read without walking the whole document).
    fn note_ref(&mut self, value: &Value) {
        if let (Some(Open::Map { key: Some((key, _)), .. }), Value::String(reference)) = (self.stack.last(), value) {
            if key == "$ref" && !reference.starts_with('#') {
                self.file_refs = true;
            }
        }
    }

    /// A mapping key: must be a scalar; duplicates are errors (parsers disagree on which wins).
    fn key(&mut self, key: String, mark: &Marker) -> Result<()> {
        let pos = (mark.line(), mark.col() + 1);
        let Some(Open::Map { start, hash, keys, .. }) = self.stack.last_mut() else {
            unreachable!("keys are read in mappings")
        };
        let child = Positions::key(*hash, &key);
        let siblings = &self.entries[*start..];
        let seen = match keys {
            Some(keys) => keys.contains(&child),
            None => siblings.iter().any(|e| e.2 == child),
        };
        // A hash matching is a duplicate only if the key does too.
        if seen && siblings.iter().any(|e| e.0 == key) {
            let first = self
                .positions
                .find_unsorted(child)
                .map_or(String::new(), |(line, col)| format!(" (first at line {line}, column {col})"));
            let mut pointer = self.current_pointer();
            push_token(&mut pointer, &key);
            return Err(Error::new(format!("duplicate key `{key}`{first}"))
                .at(self.location(pointer, mark))
                .hint("remove or rename one of them: YAML and JSON tools disagree on which one wins"));
        }
        match keys {
            Some(keys) => {
                keys.insert(child);
            }
            None if siblings.len() >= SCAN_KEYS => {
                *keys = Some(siblings.iter().map(|e| e.2).chain([child]).collect());
            }
            None => {}
        }
        self.positions.push(child, pos);
        if let Some(Open::Map { key: pending, .. }) = self.stack.last_mut() {
            *pending = Some((key, child));
        }
        Ok(())
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Open::Map { key: None, .. }))
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        mark: &Marker,
    ) -> Result<()> {
        let is_key = self.expects_key();
        self.place_next(mark, false);
        let value = resolve_scalar(text, style, tag).map_err(|problem| {
            let at = self.here();
            let what = if is_key { "mapping key" } else { "value" };
            Error::new(format!("{what} {problem}")).at(self.location(at, mark)).hint(match problem {
                ScalarProblem::NotFinite(_) => "JSON has no infinity or NaN: use a finite number, or a string",
                ScalarProblem::OutOfRange(_) => "integers must fit in 64 bits (−9223372036854775808 to 18446744073709551615); quote the value if it is an identifier",
                ScalarProblem::Tag(..) => "remove the tag or fix the value",
            })
        })?;
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        if is_key {
            self.key(key_text(value, || self.location(self.current_pointer(), mark))?, mark)
        } else {
            self.note_ref(&value);
            self.attach(value);
            Ok(())
        }
    }

    fn alias(&mut self, anchor: usize, mark: &Marker) -> Result<()> {
        let is_key = self.expects_key();
        self.place_next(mark, false);
        let Some(&(_, nodes)) = self.anchors.get(&anchor) else {
            return Err(Error::new("an alias refers to the node that contains it")
                .at(self.location(self.here(), mark))
                .hint("a recursive structure has no JSON form; repeat the content instead"));
        };
        self.alias_nodes += nodes;
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(Error::new(format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"))
                .at(self.location(self.here(), mark))
                .hint("the document repeats anchored content exponentially (an alias bomb); write the content out"));
        }
        let value = self.anchors[&anchor].0.clone();
        if is_key {
            let key = key_text(value, || self.location(self.here(), mark))?;
            self.key(key, mark)
        } else {
            self.note_ref(&value);
            self.attach(value);
            Ok(())
        }
    }

    /// The pointer of the next node, or of its mapping when it is a key.
    fn here(&self) -> String {
        self.next_pointer().unwrap_or_else(|| self.current_pointer())
    }

    /// The pointer of the open collection (for a diagnostic: spelt out from the stack).
    fn current_pointer(&self) -> String {
        self.pointer_to(self.stack.len().saturating_sub(1))
    }

    /// The pointer of the next node, or `None` when it is a mapping key.
    fn next_pointer(&self) -> Option<String> {
        match self.stack.last() {
            Some(Open::Map { key: None, .. }) => None,
            _ => Some(self.pointer_to(self.stack.len())),
        }
    }

    /// The pointer of the child the `depth` outermost open collections lead to: the key each
    /// has read, or the index of its next item.
    fn pointer_to(&self, depth: usize) -> String {
        // A sequence's items end where the next open sequence's start (one stack for all).
        let mut tokens = Vec::with_capacity(depth);
        let mut items_end = self.items.len();
        for open in self.stack.iter().rev() {
            match open {
                Open::Map { key, .. } => tokens.push(key.as_ref().map_or("", |(k, _)| k).to_string()),
                Open::Seq { start, .. } => {
                    tokens.push((items_end - start).to_string());
                    items_end = *start;
                }
            }
        }
        let mut pointer = String::new();
        for token in tokens.iter().rev().take(depth) {
            push_token(&mut pointer, token);
        }
        pointer
    }

    fn open(&mut self, is_map: bool, anchor: usize, mark: &Marker) -> Result<()> {
        if self.expects_key() {
            let kind = if is_map { "mapping" } else { "sequence" };
            return Err(Error::new(format!("a {kind} is used as a mapping key"))
                .at(self.location(self.current_pointer(), mark))
                .hint("keys must be strings (a `?` complex key or `[a, b]: x` has no JSON form); quote the key"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error::new(format!("the document nests deeper than {MAX_DEPTH} levels"))
                .at(self.location(self.current_pointer(), mark))
                .hint("flatten the document, e.g. move nested schemas to components and $ref them"));
        }
        let in_seq = matches!(self.stack.last(), Some(Open::Seq { .. }));
        self.place_next(mark, is_map);
        let hash = self.next_hash();
        self.stack.push(if is_map {
            Open::Map { start: self.entries.len(), hash, key: None, unplaced: in_seq, keys: None, anchor }
        } else {
            Open::Seq { start: self.items.len(), hash, anchor }
        });
        Ok(())
    }

    fn close(&mut self, mark: &Marker) -> Result<()> {
        let (value, anchor) = match self.stack.pop() {
            Some(Open::Map { start, anchor, .. }) => {
                let value = if self.keep_values {
                    let mut map = serde_json::Map::with_capacity(self.entries.len() - start);
                    for (key, value, _) in self.entries.drain(start..) {
                        map.insert(key, value);
                    }
                    Value::Object(map)
                } else {
                    self.entries.truncate(start);
                    Value::Null
                };
                (value, anchor)
            }
            Some(Open::Seq { start, anchor, .. }) => {
                let value = if self.keep_values {
                    Value::Array(self.items.drain(start..).collect())
                } else {
                    self.items.truncate(start);
                    Value::Null
                };
                (value, anchor)
            }
            None => {
                return Err(
                    Error::new("invalid YAML: unbalanced end of collection").at(self.location(String::new(), mark))
                );
            }
        };
        if anchor > 0 {
            let nodes = count_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        self.attach(value);
        Ok(())
    }
}

/// Nodes in `value` (iteratively: anchored values may be deep).
fn count_nodes(value: &Value) -> usize {
    let mut count = 0;
    let mut todo = vec![value];
    while let Some(v) = todo.pop() {
        count += 1;
        match v {
            Value::Object(map) => todo.extend(map.values()),
            Value::Array(items) => todo.extend(items),
            _ => {}
        }
    }
    count
}

/// A key as JSON needs it: strings as they are, numbers and booleans stringified
/// (as YAML 1.2 JSON-schema tools do); null and collections are errors.
fn key_text(value: Value, at: impl FnOnce() -> Location) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(Error::new("a mapping key is empty or null")
            .at(at())
            .hint("give the entry a name, or quote `null`/`~` to use it as a name")),
        _ => Err(Error::new("a mapping or sequence is used as a mapping key (through an alias)")
            .at(at())
            .hint("keys must be strings; quote the key")),
    }
}

/// Why a scalar has no JSON value.
#[derive(Debug)]
enum ScalarProblem {
    NotFinite(String),
    OutOfRange(String),
    Tag(String, String),
}

impl std::fmt::Display for ScalarProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalarProblem::NotFinite(text) => write!(f, "`{text}` is not a finite number"),
            ScalarProblem::OutOfRange(text) => write!(f, "`{text}` is an integer out of range"),
            ScalarProblem::Tag(tag, text) => write!(f, "`{text}` is not a valid `!!{tag}`"),
        }
    }
}

/// A scalar's JSON value, resolved like serde_yaml 0.9 does: plain scalars by the YAML 1.2
/// core schema (null, booleans, integers in decimal/hex/octal/binary, floats), quoted and
/// block scalars as strings, `!!bool`/`!!int`/`!!float`/`!!null` tags enforced.
fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> std::result::Result<Value, ScalarProblem> {
    let core = tag.filter(|t| t.handle == "tag:yaml.org,2002:").map(|t| t.suffix.as_str());
    let plain = style == TScalarStyle::Plain;
    match core {
        Some("str") => return Ok(Value::String(text)),
        Some("null") if is_null(&text) => return Ok(Value::Null),
        Some("bool") if parse_bool(&text).is_some() => return Ok(Value::Bool(parse_bool(&text).unwrap_or_default())),
        Some("int") if looks_integer(&text) => return resolve_number(text),
        Some("float") if parse_f64(&text).is_some() => return resolve_number(text),
        Some(other @ ("null" | "bool" | "int" | "float")) => return Err(ScalarProblem::Tag(other.to_string(), text)),
        _ if !plain => return Ok(Value::String(text)),
        _ => {}
    }
    if text.is_empty() || is_null(&text) {
        return Ok(Value::Null);
    }
    if let Some(b) = parse_bool(&text) {
        return Ok(Value::Bool(b));
    }
    resolve_number(text)
}

/// A plain scalar that is not null or a boolean: a number, or else a string.
fn resolve_number(text: String) -> std::result::Result<Value, ScalarProblem> {
    // Every number (and `.inf`, `.nan`) starts so; most scalars are words, decided here at once
    // (Rust's float syntax also reads `inf` and `nan`, which are not finite: strings here too).
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Ok(Value::String(text));
    }
    if let Some(u) = parse_unsigned_int(&text, u64::from_str_radix) {
        return Ok(Value::from(u));
    }
    if let Some(i) = parse_negative_int(&text, i64::from_str_radix) {
        return Ok(Value::from(i));
    }
    if parse_unsigned_int(&text, u128::from_str_radix).is_some()
        || parse_negative_int(&text, i128::from_str_radix).is_some()
        || (looks_integer(&text) && !digits_but_not_number(&text))
    {
        return Err(ScalarProblem::OutOfRange(text));
    }
    if !digits_but_not_number(&text) {
        if let Some(f) = parse_f64(&text) {
            return serde_json::Number::from_f64(f).map(Value::Number).ok_or(ScalarProblem::NotFinite(text));
        }
    }
    Ok(Value::String(text))
}

fn is_null(text: &str) -> bool {
    matches!(text, "null" | "Null" | "NULL" | "~")
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Optional sign and decimal digits only (for the out-of-range message).
fn looks_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse_unsigned_int<T>(
    scalar: &str,
    from_str_radix: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from_str_radix(rest, radix) {
                return Some(int);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

fn parse_negative_int<T>(
    scalar: &str,
    from_str_radix: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = scalar.strip_prefix(prefix) {
            if let Ok(int) = from_str_radix(&format!("-{rest}"), radix) {
                return Some(int);
            }
        }
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(scalar, 10).ok()
}

fn parse_f64(scalar: &str) -> Option<f64> {
    let unpositive = match scalar.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => scalar,
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = scalar {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = scalar {
        return Some(f64::NAN);
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Leading zeros followed by digits is a string in YAML 1.2 (`0123`).
fn digits_but_not_number(scalar: &str) -> bool {
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
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
                push_token(pointer, key);
                collect_file_refs(child, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = pointer.len();
                use std::fmt::Write;
                let _ = write!(pointer, "/{i}");
                collect_file_refs(child, pointer, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn resolve_file_part(referrer: &Path, reference: &str, at: Location, ref_root: &Path) -> Result<PathBuf> {
    let file_part = reference.split_once('#').map_or(reference, |(f, _)| f);
    if file_part.contains("://") || file_part.starts_with("//") {
        return Err(Error::new(format!("remote $ref `{reference}` is not supported"))
            .at(at)
            .hint("download the referenced document next to the spec and use a relative path"));
    }
    let decoded = percent_encoding::percent_decode_str(file_part).decode_utf8_lossy();
    let joined = referrer.parent().unwrap_or(Path::new("/")).join(decoded.as_ref());
    let target = joined.canonicalize().map_err(|e| {
        Error::new(format!("$ref `{reference}`: cannot read {}: {e}", joined.display()))
            .at(at.clone())
            .hint("relative $ref paths are resolved against the folder of the file that contains them")
    })?;
    // Checked after following symlinks and `..`: what is read must be inside the root.
    if !target.starts_with(ref_root) {
        return Err(Error::new(format!(
            "$ref `{reference}` resolves to {}, outside the $ref root {}",
            target.display(),
            ref_root.display()
        ))
        .at(at)
        .hint("a document may only reference files in its repository or Cargo workspace; widen it with --ref-root / Config::ref_root if this file is trusted"));
    }
    Ok(target)
}

/// Options of [`Source::load_with`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Folder that file `$ref`s may not leave (default: [`default_ref_root`]).
    pub ref_root: Option<PathBuf>,
}

/// The nearest ancestor of `dir` (itself included) holding `.git` or a Cargo workspace
/// manifest; `dir` itself when there is none.
pub fn default_ref_root(dir: &Path) -> PathBuf {
    for ancestor in dir.ancestors() {
        if ancestor.join(".git").exists() {
            return ancestor.to_path_buf();
        }
        let manifest = ancestor.join("Cargo.toml");
        if manifest.is_file()
            && read_file(&manifest)
                .is_ok_and(|t| String::from_utf8_lossy(&t).lines().any(|l| l.trim() == "[workspace]"))
        {
            return ancestor.to_path_buf();
        }
    }
    dir.to_path_buf()
}

/// Largest file read (a document, an overlay, a `$ref`ed file).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a regular file of at most [`MAX_FILE_BYTES`]: no directories, devices, FIFOs
/// (which would block) or endless files like `/dev/zero`.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let fail = |what: String, hint: &str| Error::new(format!("cannot read {}: {what}", path.display())).hint(hint);
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(e.to_string(), "the file does not exist or is not readable; $ref paths are relative to the referring file")
    })?;
    if meta.is_dir() {
        return Err(fail("it is a directory".into(), "name a YAML or JSON file"));
    }
    if !meta.is_file() {
        return Err(fail("it is not a regular file (a device, FIFO or socket)".into(), "name a YAML or JSON file"));
    }
    let too_big = |len: u64| {
        fail(
            format!("it has {len} bytes, more than the limit of {MAX_FILE_BYTES}"),
            "split the document into files referenced with $ref",
        )
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string(), "check the file's permissions"))?;
    // The file can change between `metadata` and reading: never read more than the limit.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string(), "check the file"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
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

/// Appends `/` and `token`, `~`-escaped, to `pointer`.
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    if token.contains(['~', '/']) {
        pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(token);
    }
}

pub fn escape_token(token: &str) -> String {
    if token.contains(['~', '/']) { token.replace('~', "~0").replace('/', "~1") } else { token.to_string() }
}

pub fn unescape_token(token: &str) -> String {
    if token.contains('~') { token.replace("~1", "/").replace("~0", "~") } else { token.to_string() }
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

/// `Value::pointer` without allocating two strings per token (it is on the hot path of every
/// node lookup: the type stage resolves millions of pointers in a large document).
/// The `$ref` string of an object (members compared in turn for the usual small objects, as in
/// [`resolve_pointer`]).
fn ref_of(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    let found = if map.len() <= 8 { map.iter().find(|(k, _)| *k == "$ref").map(|(_, v)| v) } else { map.get("$ref") };
    found?.as_str()
}

fn resolve_pointer<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    // The tokens (as `rest.split('/')`) and whether each holds an escape, in one pass over the
    // bytes: every node id met in the type stages is resolved here.
    let bytes = rest.as_bytes();
    let mut target = value;
    let mut start = 0;
    loop {
        let mut end = start;
        let mut escaped = false;
        while end < bytes.len() && bytes[end] != b'/' {
            escaped |= bytes[end] == b'~';
            end += 1;
        }
        let raw = &rest[start..end];
        let token: std::borrow::Cow<str> =
            if escaped { raw.replace("~1", "/").replace("~0", "~").into() } else { raw.into() };
        target = match target {
            // Most objects on a path hold a handful of members: comparing keys in turn is cheaper
            // than hashing the token (SipHash); the large maps (channels, schemas) are hashed.
            Value::Object(map) if map.len() <= 8 => {
                map.iter().find(|(k, _)| k.as_str() == token.as_ref()).map(|(_, v)| v)
            }
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => {
                // As serde_json: no sign, no leading zero.
                let valid = !token.starts_with('+') && (!token.starts_with('0') || token.len() == 1);
                valid.then(|| token.parse::<usize>().ok()).flatten().and_then(|i| list.get(i))
            }
            _ => None,
        }?;
        if end == bytes.len() {
            return Some(target);
        }
        start = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file is scanned on another thread, a few batches ahead: the same values, positions
    /// and errors as scanned where the values are built.
    #[test]
    fn reading_ahead_gives_the_same_values_positions_and_errors() {
        let parse = |text: &str, min_bytes: usize| {
            with_events_from(text, min_bytes, |next| parse_events("t.yaml", YamlBuilder::new("t.yaml", true), next))
        };
        let mut text = String::from("asyncapi: 3.0.0\nchannels:\n");
        for i in 0..8000 {
            text.push_str(&format!("  c{i}:\n    address: a.{i}\n    tags: [{{name: x}}, y{i}]\n    n: {i}\n"));
        }
        // Several batches of events.
        let mut parser = Parser::new_from_str(&text);
        let events = std::iter::from_fn(|| parser.next_token().ok().filter(|(e, _)| *e != Event::StreamEnd)).count();
        assert!(events > EVENT_BATCH * 5, "{events} events");
        let (ahead, here) = (parse(&text, 0).unwrap(), parse(&text, usize::MAX).unwrap());
        assert_eq!(ahead.value, here.value);
        for pointer in ["/channels/c0/address", "/channels/c1234/tags/1", "/channels/c2999/n", "/channels"] {
            assert_eq!(ahead.positions.get(pointer), here.positions.get(pointer), "{pointer}");
            assert!(ahead.positions.get(pointer).is_some(), "{pointer}");
        }
        // An error late in the file, and one early (the reader is stopped while batches wait).
        for bad in [format!("{text}  c9: [\n"), format!("asyncapi: 3.0.0\nx: [\n: -\n{text}")] {
            let (ahead, here) = (parse(&bad, 0).err().unwrap(), parse(&bad, usize::MAX).err().unwrap());
            assert_eq!(ahead.to_string(), here.to_string());
            assert!(ahead.location.is_some(), "{ahead}");
        }
    }

    fn index_positions(text: &str) -> Option<std::collections::BTreeMap<&'static str, (u32, u32)>> {
        let positions = parse_yaml("t.yaml", text, true).ok()?.positions;
        let pointers = ["/asyncapi", "/channels/a~1b/address", "/channels/a~1b/tags/0", "/info/title"];
        Some(pointers.into_iter().filter_map(|p| Some((p, positions.get(p)?))).collect())
    }

    #[test]
    fn pointers_resolve_like_serde_json() {
        let v = serde_json::json!({"a/b": {"~x": [1, 2, {"c": 3}]}, "": {"0": true}});
        for p in [
            "/a~1b",
            "/a~1b/~0x",
            "/a~1b/~0x/2/c",
            "/a~1b/~0x/02",
            "/a~1b/~0x/+1",
            "/a~1b/~0x/9",
            "//0",
            "/x",
            "x",
            "/",
            "/a~1b/",
            "/a~1b//",
            "/a~1b/~0x/2/c/",
            "/a~0b",
            "/~1",
        ] {
            assert_eq!(resolve_pointer(&v, p), v.pointer(p), "{p}");
        }
    }

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
            Path::new("/x"),
        )
        .unwrap_err();
        assert!(err.message.contains("remote $ref"));
    }

    #[test]
    fn errors_in_nested_sequences_name_the_item() {
        let text = "a:\n  - b:\n      - 1\n      - c: [1, 2, 0x1ffffffffffffffffffff]\n";
        let loc = Source::from_str("n.yaml", text).unwrap_err().location.unwrap();
        assert_eq!((loc.line_col, loc.pointer.as_str()), (Some((4, 19)), "/a/0/b/1/c/2"));
    }

    #[test]
    fn duplicate_keys_are_found_in_large_mappings() {
        let mut text = "big:\n".to_string();
        for i in 0..40 {
            text += &format!("  k{i}: {i}\n");
        }
        text += "  k7: again\n";
        let err = Source::from_str("d.yaml", &text).unwrap_err();
        assert!(err.message.contains("duplicate key `k7` (first at line 9, column 3)"), "{}", err.message);
        assert_eq!(err.location.unwrap().pointer, "/big/k7");
    }

    #[test]
    fn sequence_items_that_are_mappings_are_at_their_first_key() {
        let src = Source::from_str("s.yaml", "a:\n  -   x: 1\n      y: 2\n  - {}\n").unwrap();
        let at = |p: &str| src.location(&NodeId { file: "s.yaml".into(), pointer: p.into() }).line_col;
        assert_eq!(at("/a/0"), Some((2, 7)));
        assert_eq!(at("/a/0/y"), Some((3, 7)));
        // No position of its own: its parent's.
        assert_eq!(at("/a/1"), Some((1, 1)));
        assert_eq!(at("/a/0/y/deeper"), Some((3, 7)));
    }

    #[test]
    fn words_that_rust_reads_as_floats_stay_strings() {
        let src = Source::from_str("w.yaml", "a: [inf, NaN, Infinity, e5, x1, 1e5, .5, -.inf1, 0x1f]\n").unwrap();
        let expected = serde_json::json!(["inf", "NaN", "Infinity", "e5", "x1", 100000.0, 0.5, "-.inf1", 31]);
        assert_eq!(src.get(&src.root_id().child("a")), Some(&expected));
        let err = Source::from_str("w.yaml", "a: .inf\n").unwrap_err();
        assert!(err.message.contains("not a finite number"), "{}", err.message);
    }

    #[test]
    fn json_syntax_errors_come_before_the_yaml_pass_errors() {
        let parse = |text| parse_file("d.json", Path::new("d.json"), text).unwrap_err().message;
        assert!(parse("{\"a\": 1, \"a\": 2,}").starts_with("invalid JSON"));
        assert!(parse("{\"a\": 1, \"a\": 2}").starts_with("duplicate key `a`"));
        let file = parse_file("d.json", Path::new("d.json"), "{\"a\": [1, {\"b\": 2.50}]}").unwrap();
        assert_eq!(file.value, serde_json::json!({"a": [1, {"b": 2.5}]}));
        assert_eq!(file.positions.get("/a/1/b"), Some((1, 12)));
    }

    #[test]
    fn json_values_are_those_of_serde_json() {
        let texts = [
            r#"{"b": [1, -2, 18446744073709551615, -9223372036854775808, 1.5e300, 123456789012345678901234567890],
               "a": {"x": null, "y": true, "z": "\u00e9\ud83d\ude00\n", "x": [], "w": {}}, "": [[{}], []]}"#,
            "[]",
            "  \"s\" ",
            "-0.0",
            "{\"a\": 1,}",
            "[1, 2",
            "{\"a\": 1} x",
            "1e400",
            &format!("{}{}", "[".repeat(129), "]".repeat(129)),
        ];
        for text in texts {
            let ours = parse_json(text).map(|v| serde_json::to_string(&v).unwrap()).map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<Value>(text)
                .map(|v| serde_json::to_string(&v).unwrap())
                .map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn circular_ref_chains_are_errors() {
        let src = Source::from_str("s.yaml", "a:\n  $ref: '#/b'\nb:\n  $ref: '#/a'\n").unwrap();
        let err = src.deref(&src.root_id().child("a")).unwrap_err();
        assert!(err.message.contains("circular"));
    }
}
