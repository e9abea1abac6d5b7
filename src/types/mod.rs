//! JSON Schema → Rust type IR. Entries are keyed by the schema's canonical
//! node (file + pointer), kept in BTreeMaps, and named in one deterministic pass.
//!
//! `convert` turns schemas into definitions (following `$ref`s through a work list, so
//! long reference chains never deepen the stack), `unions` decides how each `oneOf`/`anyOf`
//! is told apart on the wire, `graph` boxes recursion and refuses recursion that a decoder
//! could follow without consuming input.

mod check;
mod convert;
mod graph;
mod unions;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Result;
pub(crate) use crate::load::{FastMap, FastSet};
use crate::load::{NodeId, Source};
use crate::naming::{self, Namespace};

/// How a value's type is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ty {
    Named(NodeId),
    String,
    Bool,
    /// `i32`, `u64`, … from `format`.
    Int(&'static str),
    /// Always `f64`: every JSON producer we meet writes doubles.
    Float,
    /// RFC 3339 date-time, decoded leniently (see the generated `wire` module).
    DateTime,
    Date,
    Time,
    /// ISO 8601 duration.
    Duration,
    Uuid,
    Any,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    Tuple(Vec<Ty>),
    Option(Box<Ty>),
    Boxed(Box<Ty>),
}

impl Ty {
    /// Visits this type and every type inside it.
    pub fn walk(&self, f: &mut dyn FnMut(&Ty)) {
        f(self);
        match self {
            Ty::Vec(t) | Ty::Map(t) | Ty::Option(t) | Ty::Boxed(t) => t.walk(f),
            Ty::Tuple(ts) => ts.iter().for_each(|t| t.walk(f)),
            _ => {}
        }
    }

    /// Visits every definition this type names (in `walk` order), borrowing from the type.
    pub fn each_named<'t>(&'t self, f: &mut dyn FnMut(&'t NodeId)) {
        match self {
            Ty::Named(n) => f(n),
            Ty::Vec(t) | Ty::Map(t) | Ty::Option(t) | Ty::Boxed(t) => t.each_named(f),
            Ty::Tuple(ts) => ts.iter().for_each(|t| t.each_named(f)),
            _ => {}
        }
    }
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub node: NodeId,
    pub name: String,
    pub doc: Option<String>,
    pub deprecated: bool,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Struct {
        fields: Vec<Field>,
        /// Unknown members kept in a flattened map (`additionalProperties` schema or `true`).
        additional: Option<Ty>,
        deny_unknown: bool,
    },
    /// `enum`/`const` values (nulls are the nullability of the uses).
    Enum(Vec<EnumValue>),
    Union(Union),
    Alias(Ty),
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub name: String,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub struct Union {
    pub style: UnionStyle,
    pub members: Vec<Member>,
    /// `discriminator` property name (AsyncAPI string form or OpenAPI `propertyName`).
    pub discriminator: Option<String>,
    /// OpenAPI `discriminator.mapping`: tag value → schema node.
    pub mapping: Vec<(String, NodeId)>,
}

#[derive(Debug, Clone)]
pub struct Member {
    /// The `oneOf`/`anyOf` item.
    pub node: NodeId,
    pub ty: Ty,
    /// The tag value, for tagged unions.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnionStyle {
    /// Not decided yet (during conversion).
    Pending,
    /// Internally tagged: `{"<tag>": "<value>", …}`; the variant structs do not have the tag field.
    Tagged(String),
    /// Tried in order; only used when no value of one variant can decode as an earlier one.
    Untagged,
    /// Variants cannot be told apart: the value is kept whole, with typed accessors.
    Raw,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub json_name: String,
    pub name: String,
    pub ty: Ty,
    pub required: bool,
    pub doc: Option<String>,
    pub deprecated: bool,
    /// A `default` the generated code can write as a literal (field is then not an `Option`).
    pub default: Option<Value>,
    /// Constraints on the value (`minLength`, `maximum`, …), checked by the generated `validate()`.
    pub checks: Vec<Check>,
    /// Constraints on each item, when the value is an array.
    pub item_checks: Vec<Check>,
}

/// A JSON Schema constraint the generated `validate()` checks (decoding already enforces types,
/// enums and typed formats).
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    MinLength(u64),
    MaxLength(u64),
    Pattern(String),
    /// `(bound, exclusive)`
    Minimum(f64, bool),
    Maximum(f64, bool),
    MultipleOf(f64),
    MinItems(u64),
    MaxItems(u64),
    UniqueItems,
    /// `email`, `hostname`, `ipv4`, `ipv6`, `uri`
    Format(&'static str),
}

/// An `example`/`examples` payload from the document, for a generated round-trip test.
#[derive(Debug, Clone)]
pub struct Example {
    /// Where the example is written.
    pub at: NodeId,
    /// The type it must decode as.
    pub ty: Ty,
    pub value: Value,
}

#[derive(Debug, Default)]
pub struct TypeSpace {
    pub defs: BTreeMap<NodeId, TypeDef>,
    pub examples: Vec<Example>,
    /// The type of each root.
    roots: BTreeMap<NodeId, Ty>,
    /// Name hint of each definition (priority, text): looked up while converting, put in node
    /// order once to assign names.
    hints: FastMap<NodeId, (u8, String)>,
    /// The roots and definitions whose schema has `examples`/`example` (noted when their schema
    /// is read, so finding examples does not resolve every node again).
    with_examples: BTreeSet<NodeId>,
}

/// Schemas deeper than this (inline nesting in one schema) are refused with a located error.
pub const MAX_DEPTH: usize = 64;

impl TypeSpace {
    /// Converts every root schema (`(node, name hint)`) and everything it reaches.
    /// `messages` are `(message node, payload node, payload is JSON)`, for message `examples`.
    pub fn build(
        source: &Source,
        roots: &[(NodeId, String)],
        messages: &[(NodeId, NodeId, bool)],
        reserved: &[&str],
    ) -> Result<TypeSpace> {
        let mut space = TypeSpace::default();
        convert::run(source, &mut space, roots)?;
        let payload_roots: Vec<NodeId> = messages.iter().map(|(_, p, _)| p.clone()).collect();
        unions::classify(source, &mut space, &payload_roots)?;
        space.drop_unused_inline();
        space.assign_names(reserved);
        graph::check_and_box(source, &mut space)?;
        space.collect_examples(source, messages);
        // Only the build needs these; the space lives on through rendering.
        space.hints = FastMap::default();
        space.with_examples = BTreeSet::new();
        Ok(space)
    }

    /// The type of a root converted by `build`.
    pub fn ty_of(&self, node: &NodeId) -> Option<&Ty> {
        self.roots.get(node)
    }

    pub fn name(&self, node: &NodeId) -> &str {
        &self.defs[node].name
    }

    /// Every type written in a definition.
    pub fn all_tys(&self) -> impl Iterator<Item = &Ty> {
        self.defs.values().flat_map(|d| -> Vec<&Ty> {
            match &d.kind {
                Kind::Struct { fields, additional, .. } => fields.iter().map(|f| &f.ty).chain(additional).collect(),
                Kind::Union(u) => u.members.iter().map(|m| &m.ty).collect(),
                Kind::Alias(t) => vec![t],
                Kind::Enum(_) => Vec::new(),
            }
        })
    }

    /// Every type written in a definition, then the type of every root (as `all_tys` chained
    /// with the roots, without collecting each definition's types into a Vec).
    pub fn each_ty<'s>(&'s self, f: &mut dyn FnMut(&'s Ty)) {
        for d in self.defs.values() {
            match &d.kind {
                Kind::Struct { fields, additional, .. } => {
                    fields.iter().for_each(|x| f(&x.ty));
                    additional.iter().for_each(&mut *f);
                }
                Kind::Union(u) => u.members.iter().for_each(|m| f(&m.ty)),
                Kind::Alias(t) => f(t),
                Kind::Enum(_) => {}
            }
        }
        self.roots.values().for_each(f);
    }

    /// Inline definitions nothing refers to any more (the constant type of a tag field removed
    /// from a tagged union's variant) are dropped; named schemas always stay.
    fn drop_unused_inline(&mut self) {
        loop {
            // Membership only (never iterated), so a hash set keeps the output deterministic.
            let mut used: FastSet<&NodeId> = FastSet::with_capacity_and_hasher(self.defs.len(), Default::default());
            self.each_ty(&mut |ty| {
                ty.each_named(&mut |n| {
                    used.insert(n);
                })
            });
            let unused: Vec<NodeId> = self
                .defs
                .keys()
                .filter(|n| !used.contains(*n) && self.hints.get(*n).is_none_or(|h| h.0 == 2))
                .cloned()
                .collect();
            if unused.is_empty() {
                return;
            }
            for n in unused {
                self.defs.remove(&n);
                self.hints.remove(&n);
            }
        }
    }

    fn assign_names(&mut self, reserved: &[&str]) {
        // Schemas with a name of their own (components, referenced files) claim first; then by
        // location. The hints put in node order, a stable sort by priority does that. Each
        // definition has its hint, so they usually have the same nodes: then the tree of
        // definitions gives the order without sorting.
        let same_nodes = self.hints.len() == self.defs.len();
        let in_def_order: Option<Vec<(&NodeId, &(u8, String))>> =
            if same_nodes { self.defs.keys().map(|n| self.hints.get_key_value(n)).collect() } else { None };
        let hints = in_def_order.unwrap_or_else(|| {
            let mut hints: Vec<(&NodeId, &(u8, String))> = self.hints.iter().collect();
            hints.sort_unstable_by(|a, b| a.0.cmp(b.0));
            hints
        });
        let mut order: Vec<usize> = (0..hints.len()).collect();
        order.sort_by_key(|&i| hints[i].1.0);
        let mut ns = Namespace::with_reserved(reserved);
        let mut names: Vec<String> = vec![String::new(); hints.len()];
        for i in order {
            names[i] = ns.claim(&naming::type_name(&hints[i].1.1));
        }
        // Both maps are in node order: walk them together instead of searching one per name.
        let mut named = hints.iter().map(|(n, _)| *n).zip(names).peekable();
        for (node, def) in self.defs.iter_mut() {
            while named.next_if(|(n, _)| *n < node).is_some() {}
            if let Some((_, name)) = named.next_if(|(n, _)| *n == node) {
                def.name = name;
            }
        }
    }

    /// Message `examples[].payload` and schema `examples`/`example` of every definition and root.
    ///
    /// Examples of messages that do not travel as JSON (XML, YAML, … per `contentType`) are written
    /// in that format: they are no JSON round-trip tests. The schema examples of such a payload are
    /// kept only when they are also JSON values of the type (Avro documents write JSON examples),
    /// and dropped without a warning otherwise (an XML string is no mistake). Any other example that
    /// contradicts its own schema is reported as a located warning and gets no test, so the
    /// generated crate's tests do not fail because a document is wrong.
    fn collect_examples(&mut self, source: &Source, messages: &[(NodeId, NodeId, bool)]) {
        let mut out = Vec::new();
        for (message, payload, json) in messages {
            let Some(ty) = self.roots.get(payload) else { continue };
            if !json {
                continue;
            }
            let examples = message.child("examples");
            if let Some(Value::Array(items)) = source.get(&examples) {
                for (i, item) in items.iter().enumerate() {
                    if let Some(value) = item.get("payload") {
                        out.push(Example {
                            at: examples.child(i.to_string()).child("payload"),
                            ty: ty.clone(),
                            value: value.clone(),
                        });
                    }
                }
            }
        }
        let payload_schema = |payload: &NodeId| -> Vec<NodeId> {
            let mut nodes = vec![payload.clone()];
            if let Some(Ty::Named(n)) = self.roots.get(payload) {
                nodes.push(n.clone());
            }
            nodes
        };
        let json_payloads: BTreeSet<NodeId> =
            messages.iter().filter(|m| m.2).flat_map(|(_, p, _)| payload_schema(p)).collect();
        let not_json: BTreeSet<NodeId> = messages
            .iter()
            .filter(|m| !m.2)
            .flat_map(|(_, p, _)| payload_schema(p))
            .filter(|n| !json_payloads.contains(n))
            .collect();
        // Every definition (as the type it names), then every root.
        let defs = self.with_examples.iter().filter(|n| self.defs.contains_key(*n)).map(|n| (n, Ty::Named(n.clone())));
        let roots = self.with_examples.iter().filter_map(|n| Some((n, self.roots.get(n)?.clone())));
        for (node, ty) in defs.chain(roots) {
            for (at, value) in schema_examples(source, node) {
                if not_json.contains(node) && check::mismatch(self, &ty, &value).is_some() {
                    continue;
                }
                out.push(Example { at, ty: ty.clone(), value });
            }
        }
        out.sort_by(|a, b| a.at.cmp(&b.at));
        out.dedup_by(|a, b| a.at == b.at);
        out.retain(|e| match check::mismatch(self, &e.ty, &e.value) {
            None => true,
            Some(why) => {
                // Member names and values are the document's text: one visible line.
                let why = crate::escape::visible(&why);
                source.warn(
                    source
                        .error(
                            &e.at,
                            format!(
                                "this example does not match its schema: {why}; no round-trip test is generated for it"
                            ),
                        )
                        .hint("correct the example (or the schema) in the document so that they agree"),
                );
                false
            }
        });
        self.examples = out;
    }
}

/// Keyword lookup in a schema object. Schema objects hold a handful of members, so comparing
/// the keys in turn (lengths first) is cheaper than hashing the keyword with `Map::get`'s
/// SipHash; the converter looks up dozens of keywords per schema.
pub(super) trait Keywords {
    fn kw(&self, key: &str) -> Option<&Value>;

    #[inline(always)]
    fn has(&self, key: &str) -> bool {
        self.kw(key).is_some()
    }
}

impl Keywords for serde_json::Map<String, Value> {
    // Inlined, so that comparing with a literal keyword compiles to a length and word compare.
    #[inline(always)]
    fn kw(&self, key: &str) -> Option<&Value> {
        if self.len() <= 12 { self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v) } else { self.get(key) }
    }
}

impl Keywords for Value {
    #[inline(always)]
    fn kw(&self, key: &str) -> Option<&Value> {
        self.as_object()?.kw(key)
    }
}

/// `node.child(key)` (same pointer escaping) without `NodeId::child`'s temporary strings: it
/// runs for every property and item of every schema.
pub(super) fn child(node: &NodeId, key: &str) -> NodeId {
    let mut pointer = String::with_capacity(node.pointer.len() + 1 + key.len());
    pointer.push_str(&node.pointer);
    pointer.push('/');
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
    NodeId { file: node.file.clone(), pointer }
}

/// `(where, value)` of the `examples` items and `example` of the schema at `node`.
pub(super) fn schema_examples(source: &Source, node: &NodeId) -> Vec<(NodeId, Value)> {
    let mut out = Vec::new();
    let Some(Value::Object(schema)) = source.get(node) else { return out };
    if let Some(Value::Array(items)) = schema.kw("examples") {
        for (i, value) in items.iter().enumerate() {
            out.push((node.child("examples").child(i.to_string()), value.clone()));
        }
    }
    if let Some(value) = schema.kw("example") {
        out.push((node.child("example"), value.clone()));
    }
    out
}

/// Rustdoc for a schema: its `description`, else its `title` (generators such
/// as pydantic put a title on everything, usually just the name again), plus
/// notes on `readOnly`/`writeOnly`/`default`.
pub fn doc_of(schema: &serde_json::Map<String, Value>) -> Option<String> {
    let mut doc = ["description", "title"]
        .iter()
        .find_map(|k| schema.kw(k).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_default();
    let mut note = |text: String| {
        if !doc.is_empty() {
            doc.push_str("\n\n");
        }
        doc.push_str(&text);
    };
    if schema.kw("readOnly") == Some(&Value::Bool(true)) {
        note("Read-only: sent by the service, ignored when received.".into());
    }
    if schema.kw("writeOnly") == Some(&Value::Bool(true)) {
        note("Write-only: accepted by the service, never sent back.".into());
    }
    if let Some(default) = schema.kw("default").filter(|d| !d.is_null()) {
        note(format!("Default: `{}`", default.to_string().replace('`', "'")));
    }
    (!doc.is_empty()).then_some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_escapes_like_node_id_child() {
        let node = NodeId { file: "a.yaml".into(), pointer: "/components/schemas/X~0/properties".into() };
        for key in ["plain", "a/b", "~", "~1", "/~0/", "", "é/~x", "0"] {
            assert_eq!(child(&node, key), node.child(key), "{key:?}");
        }
    }
}
