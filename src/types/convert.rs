//! Schemas → definitions. Every schema that needs a definition of its own (objects, enums,
//! unions, `$ref` targets, roots) is put on a work list instead of being converted where it
//! is met, so the stack depth does not grow with reference chains or object nesting; only
//! plain nesting (arrays of arrays, …) recurses, bounded by [`MAX_DEPTH`].

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, VecDeque};

use serde_json::{Map, Value};

use super::{
    Check, EnumValue, FastMap, Field, Keywords, Kind, MAX_DEPTH, Member, Ty, TypeDef, TypeSpace, Union, UnionStyle,
    child, doc_of,
};
use crate::error::Result;
use crate::load::{NodeId, Source};
use crate::naming::{self, Namespace};

/// Keywords we do not model: the value is kept as `serde_json::Value` (plain schemas) or the
/// constraint is not enforced (objects), with a warning either way.
const UNSUPPORTED: &[&str] =
    &["not", "if", "then", "else", "dependentSchemas", "dependencies", "unevaluatedProperties", "propertyNames"];

/// Every schema with an error is reported (all of them: a run lists each independent error), the
/// others are still converted.
pub(super) fn run(source: &Source, space: &mut TypeSpace, roots: &[(NodeId, String)]) -> Result<()> {
    let mut conv = Converter { source, space, queue: VecDeque::new(), value_names: FastMap::default() };
    // Bounded however many schemas fail (a hostile document).
    let mut errors = crate::error::Collected::default();
    for (node, hint) in roots {
        match conv.root(node, hint) {
            Ok(ty) => {
                conv.space.roots.insert(node.clone(), ty);
            }
            Err(e) => errors.push(e),
        }
    }
    while let Some((node, value)) = conv.queue.pop_front() {
        if let Err(e) = conv.define(&node, value) {
            errors.push(e);
        }
    }
    errors.into_error(Vec::new()).map_or(Ok(()), Err)
}

struct Converter<'a> {
    source: &'a Source,
    space: &'a mut TypeSpace,
    /// Scheduled nodes with their value (read where they were met).
    queue: VecDeque<(NodeId, &'a Value)>,
    /// `naming::value_name` of each property name met (the same names recur in most schemas).
    /// Looked up, never iterated.
    value_names: FastMap<String, String>,
}

type Schema = Map<String, Value>;
/// Discriminator `mapping`: tag value → schema node.
type Mapping = Vec<(String, NodeId)>;

impl<'a> Converter<'a> {
    /// A root always gets a definition of its own, so it can be named in APIs.
    fn root(&mut self, node: &NodeId, hint: &str) -> Result<Ty> {
        let source = self.source;
        let Some(value @ Value::Object(schema)) = source.get(node) else { return Ok(Ty::Any) };
        self.note_examples(node, schema);
        if schema.has("$ref") {
            return self.reference(node, schema);
        }
        let priority = if is_component(node) { 0 } else { 1 };
        self.request(node, hint, priority, value);
        Ok(nullable_ty(Ty::Named(node.clone()), nullable(schema)))
    }

    /// Schedules a definition for `node`, named from `hint` unless a stronger hint came first.
    fn request(&mut self, node: &NodeId, hint: &str, priority: u8, value: &'a Value) {
        // One search of the map (cloning the id is cheaper than searching twice).
        match self.space.hints.entry(node.clone()) {
            Entry::Occupied(mut h) => {
                if h.get().0 > priority {
                    h.insert((priority, hint.to_string()));
                }
            }
            // First request (hints are only written here while converting): schedule it.
            Entry::Vacant(h) => {
                self.queue.push_back((h.key().clone(), value));
                h.insert((priority, hint.to_string()));
            }
        }
    }

    /// The type of a `$ref` use: the target's definition (a message object stands for its payload).
    fn reference(&mut self, node: &NodeId, schema: &Schema) -> Result<Ty> {
        let (target, value) = self.follow(node, schema)?;
        // A message's payload is named after the message (`…/messages/Item/payload` → `Item`).
        let message_key = target
            .pointer
            .strip_suffix("/payload")
            .filter(|m| m.rsplit_once('/').is_some_and(|(parent, _)| parent.ends_with("/messages")))
            .and_then(|m| NodeId { file: target.file.clone(), pointer: m.to_string() }.last_token());
        let hint = message_key
            .or_else(|| target.last_token())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| file_stem(&target.file));
        let priority = if is_component(&target) { 0 } else { 1 };
        self.request(&target, &hint, priority, value);
        let nullable = value.as_object().is_some_and(nullable) || schema.kw("nullable") == Some(&Value::Bool(true));
        Ok(nullable_ty(Ty::Named(target), nullable))
    }

    /// Follows `$ref`s from `node`; a message object where a schema is expected means its payload.
    /// `holder` is the object at `node` when the caller has it (else empty).
    fn follow(&self, node: &NodeId, holder: &Schema) -> Result<(NodeId, &'a Value)> {
        let source = self.source;
        let (target, value) = match holder.kw("$ref").and_then(Value::as_str) {
            // The `$ref` in hand: resolve it instead of resolving `node` again. Any failure takes
            // the general path, so errors are the same (and located at `node`).
            Some(reference) => match source.deref_ref(node, reference) {
                Ok(found) => found,
                Err(_) => source.deref(node)?,
            },
            None => source.deref(node)?,
        };
        if is_message_object(&target, value) {
            return match value.kw("payload") {
                Some(_) => source.deref(&target.child("payload")),
                None => Err(source
                    .error(node, "this $ref points to a message that has no payload, where a schema is expected")
                    .hint(
                        "reference the message's payload schema (`…/payload`) or a schema under `components/schemas`",
                    )),
            };
        }
        Ok((target, value))
    }

    /// Remembers that the schema at `node` (a root or a definition) has examples (see
    /// [`TypeSpace::with_examples`]).
    fn note_examples(&mut self, node: &NodeId, schema: &Schema) {
        if schema.has("examples") || schema.has("example") {
            self.space.with_examples.insert(node.clone());
        }
    }

    /// Builds the definition of a scheduled node (each node is scheduled once, see `request`);
    /// `value` is the node's value.
    fn define(&mut self, node: &NodeId, value: &'a Value) -> Result<()> {
        let source = self.source;
        let hint = self.space.hints.get(node).map(|h| h.1.clone()).unwrap_or_default();
        let (kind, doc, deprecated) = match value {
            Value::Object(schema) => {
                self.note_examples(node, schema);
                let kind = match self.kind(node, schema, &hint)? {
                    Some(k) => k,
                    None => Kind::Alias(self.body(node, schema, None, &hint, 0)?),
                };
                (kind, doc_of(schema), schema.kw("deprecated") == Some(&Value::Bool(true)))
            }
            Value::Bool(_) => (Kind::Alias(Ty::Any), None, false),
            _ => {
                return Err(source
                    .error(node, "a schema must be an object or a boolean")
                    .hint("write a JSON Schema object such as `{type: string}`"));
            }
        };
        self.space
            .defs
            .insert(node.clone(), TypeDef { node: node.clone(), name: String::new(), doc, deprecated, kind });
        Ok(())
    }

    /// The type of a schema met inline (a property, an item, a variant): `value` is the node's
    /// value, already in hand where the parent was read (resolving the pointer again is not free).
    fn convert(&mut self, node: &NodeId, value: &'a Value, hint: &str, depth: usize) -> Result<Ty> {
        let source = self.source;
        if depth > MAX_DEPTH {
            return Err(source
                .error(node, format!("schema nested deeper than {MAX_DEPTH} levels"))
                .hint("move inner schemas to `components/schemas` and reference them with $ref"));
        }
        let schema = match value {
            Value::Object(map) => map,
            Value::Bool(_) => return Ok(Ty::Any),
            _ => {
                return Err(source
                    .error(node, "a schema must be an object or a boolean")
                    .hint("write a JSON Schema object such as `{type: string}`"));
            }
        };
        if schema.has("$ref") {
            return self.reference(node, schema);
        }
        if needs_def(schema) {
            self.request(node, hint, 2, value);
            return Ok(nullable_ty(Ty::Named(node.clone()), nullable(schema)));
        }
        let ty = self.body(node, schema, None, hint, depth)?;
        Ok(nullable_ty(ty, nullable(schema)))
    }

    /// The definition for schemas that need one (objects, enums, unions); `None` for plain types.
    fn kind(&mut self, node: &NodeId, schema: &'a Schema, hint: &str) -> Result<Option<Kind>> {
        if let Some(values) = enum_values(schema) {
            return Ok(Some(Kind::Enum(enum_kind(values.into_iter().map(|v| (v, None)).collect()))));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(values) = self.const_members(node, schema, key) {
                return Ok(Some(Kind::Enum(enum_kind(values))));
            }
        }
        if schema.has("allOf") {
            return self.all_of(node, schema, hint).map(Some);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(items)) = schema.kw(key) {
                let non_null: Vec<usize> = (0..items.len()).filter(|&i| !is_null_schema(&items[i])).collect();
                if non_null.len() < 2 {
                    return Ok(None);
                }
                if schema.has("properties") && !self.is_polymorphic_base(node, schema, key) {
                    self.source.warn(
                        self.source
                            .error(
                                &node.child("properties"),
                                format!("`properties` next to `{key}` are not merged into its variants"),
                            )
                            .hint(
                                "list the common properties in each variant (e.g. each variant `allOf`s a base schema)",
                            ),
                    );
                }
                let mut members = Vec::new();
                for (n, i) in non_null.into_iter().enumerate() {
                    let at = child(&child(node, key), &i.to_string());
                    let ty = self.convert(&at, &items[i], &format!("{hint} variant {}", n + 1), 1)?;
                    members.push(Member { node: at, ty, tag: None });
                }
                let (discriminator, mapping) = self.discriminator(node, schema)?;
                return Ok(Some(Kind::Union(Union { style: UnionStyle::Pending, members, discriminator, mapping })));
            }
        }
        let types = types_of(schema);
        if types.len() >= 2 {
            let mut members = Vec::new();
            for (i, t) in types.iter().enumerate() {
                let ty = self.body(node, schema, Some(t), &format!("{hint} {t}"), 1)?;
                members.push(Member { node: node.child("type").child(i.to_string()), ty, tag: None });
            }
            return Ok(Some(Kind::Union(Union {
                style: UnionStyle::Pending,
                members,
                discriminator: None,
                mapping: Vec::new(),
            })));
        }
        if is_object_def(schema) {
            return self.object(&[(node.clone(), schema)], hint, false).map(Some);
        }
        Ok(None)
    }

    /// `oneOf: [{const: 1, title: One}, …]`: an enum of those values, named from the titles.
    fn const_members(&self, node: &NodeId, schema: &Schema, key: &str) -> Option<Vec<(Value, Option<String>)>> {
        let Some(Value::Array(items)) = schema.kw(key) else { return None };
        let mut out = Vec::new();
        for i in 0..items.len() {
            let (_, v) = self.source.deref(&node.child(key).child(i.to_string())).ok()?;
            let v = v.as_object()?;
            let value = match (v.kw("const"), v.kw("enum")) {
                (Some(c), _) => c.clone(),
                (None, Some(Value::Array(e))) if e.len() == 1 => e[0].clone(),
                _ => return None,
            };
            if !value.is_null() {
                out.push((value, v.kw("title").and_then(Value::as_str).map(str::to_string)));
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Whether this schema's `oneOf` lists subtypes that each `allOf` it (the Java/OpenAPI polymorphism pattern).
    fn is_polymorphic_base(&self, node: &NodeId, schema: &Schema, key: &str) -> bool {
        let Some(Value::Array(items)) = schema.kw(key) else { return false };
        (0..items.len()).all(|i| {
            let Ok((_, v)) = self.source.deref(&node.child(key).child(i.to_string())) else { return false };
            self.all_of_refers_to(v, node)
        })
    }

    fn all_of_refers_to(&self, value: &Value, node: &NodeId) -> bool {
        let Some(Value::Array(parts)) = value.kw("allOf") else { return false };
        parts.iter().any(|p| {
            p.kw("$ref").and_then(Value::as_str).is_some_and(|r| {
                // Refs are resolved relative to the file holding them; same-file refs are the common case.
                r.split_once('#').is_some_and(|(file, frag)| {
                    (file.is_empty() || node.file.ends_with(file))
                        && crate::load::NodeId { file: node.file.clone(), pointer: percent_decode(frag) } == *node
                })
            })
        })
    }

    /// `discriminator: kind` (AsyncAPI) or `discriminator: {propertyName, mapping}` (OpenAPI).
    fn discriminator(&self, node: &NodeId, schema: &Schema) -> Result<(Option<String>, Mapping)> {
        let source = self.source;
        match schema.kw("discriminator") {
            None => Ok((None, Vec::new())),
            Some(Value::String(tag)) => Ok((Some(tag.clone()), Vec::new())),
            Some(Value::Object(d)) => {
                let Some(tag) = d.kw("propertyName").and_then(Value::as_str) else {
                    return Err(source
                        .error(&node.child("discriminator"), "discriminator without `propertyName`")
                        .hint(
                            "write `discriminator: {propertyName: kind}` or the AsyncAPI form `discriminator: kind`",
                        ));
                };
                let mut mapping = Vec::new();
                if let Some(Value::Object(m)) = d.kw("mapping") {
                    for (value, reference) in m {
                        let at = node.child("discriminator").child("mapping").child(value);
                        let Some(reference) = reference.as_str() else {
                            return Err(source.error(&at, "a discriminator mapping value must be a $ref string"));
                        };
                        let target = if reference.contains('#') || reference.contains('/') {
                            source.resolve_ref(&at, reference)?
                        } else {
                            // A bare schema name.
                            source.root_id().child("components").child("schemas").child(reference)
                        };
                        let (target, _) = source.deref(&target)?;
                        mapping.push((value.clone(), target));
                    }
                }
                Ok((Some(tag.to_string()), mapping))
            }
            Some(_) => Err(source
                .error(&node.child("discriminator"), "discriminator must be a property name or an object")
                .hint("write `discriminator: kind`")),
        }
    }

    fn all_of(&mut self, node: &NodeId, schema: &'a Schema, hint: &str) -> Result<Kind> {
        let source = self.source;
        let all_of = node.child("allOf");
        // Flatten nested allOf and $refs into a list of schemas, visiting each node once
        // (`A: {allOf: [{$ref: A}]}` and longer cycles add nothing).
        // (node of the schema, schema, the allOf item it came from when reached through `$ref`)
        let mut parts: Vec<(NodeId, &Schema, Option<NodeId>)> = vec![(node.clone(), schema, None)];
        let mut seen = BTreeSet::from([node.clone()]);
        let mut i = 0;
        while i < parts.len() {
            let (id, s, _) = parts[i].clone();
            if let Some(Value::Array(items)) = s.kw("allOf") {
                for (j, holder) in items.iter().enumerate() {
                    let item = id.child("allOf").child(j.to_string());
                    let (target, v) = self.follow(&item, holder.as_object().unwrap_or(&Schema::new()))?;
                    let Value::Object(m) = v else {
                        return Err(source
                            .error(&item, "allOf items must be schema objects")
                            .hint("write each item as a schema such as `{$ref: ...}` or `{type: object, ...}`"));
                    };
                    if !seen.insert(target.clone()) {
                        if target == *node {
                            source.warn(
                                source
                                    .error(&item, "allOf refers back to the schema itself; the reference adds nothing and is ignored")
                                    .hint("remove the self reference"),
                            );
                        }
                        continue;
                    }
                    let via = (target != item).then(|| item.clone());
                    parts.push((target, m, via));
                }
            }
            i += 1;
        }
        let (objects, others): (Vec<_>, Vec<_>) =
            parts.iter().filter(|(_, s, _)| is_structural(s)).partition(|(_, s, _)| is_object_like(s));
        for (id, s, _) in &parts[1..] {
            for key in ["oneOf", "anyOf"] {
                if s.has(key) && !self.is_polymorphic_base(id, s, key) {
                    source.warn(
                        source
                            .error(&id.child(key), format!("`{key}` inside an allOf member is not merged"))
                            .hint("put oneOf/anyOf at the top level, or list the variants that allOf a common base"),
                    );
                }
            }
        }
        match (objects.is_empty(), others.as_slice()) {
            (_, []) => {
                let parts: Vec<(NodeId, &Schema)> = objects.iter().map(|(n, s, _)| (n.clone(), *s)).collect();
                self.object(&parts, hint, true)
            }
            (true, [(id, s, via)]) => {
                // `allOf: [{$ref: CommentId}, {description: …}]`: the one typed member, annotated.
                let ty = match via {
                    Some(item) => self.reference(item, &Schema::new())?,
                    None => nullable_ty(self.body(id, s, None, hint, 1)?, nullable(s)),
                };
                Ok(Kind::Alias(ty))
            }
            _ => {
                let describe = |s: &Schema| match s.kw("type") {
                    Some(t) => t.to_string(),
                    None => "untyped".into(),
                };
                let kinds: Vec<String> = others.iter().map(|(_, s, _)| describe(s)).collect();
                Err(source
                    .error(&all_of, format!("allOf combines schemas that cannot be merged into one type ({} and {} object part(s))", kinds.join(", "), objects.len()))
                    .hint("allOf may merge object schemas, or annotate a single schema of another type (`allOf: [{$ref: Id}, {description: …}]`)"))
            }
        }
    }

    fn object(&mut self, parts: &[(NodeId, &'a Schema)], hint: &str, merged: bool) -> Result<Kind> {
        let source = self.source;
        let mut required: Vec<String> = Vec::new();
        for (_, s) in parts {
            if let Some(Value::Array(r)) = s.kw("required") {
                for name in r.iter().filter_map(Value::as_str) {
                    if !required.iter().any(|x| x == name) {
                        required.push(name.to_string());
                    }
                }
            }
        }
        // Sized up front: a Field is large, and doubling would leave up to half the Vec unused.
        let declared = parts.iter().map(|(_, s)| s.kw("properties").and_then(Value::as_object).map_or(0, Map::len));
        let mut fields: Vec<Field> = Vec::with_capacity(declared.sum());
        let mut ns = Namespace::with_reserved(&["additional_properties"]);
        let mut additional = None;
        let mut deny_unknown = false;
        for (id, s) in parts {
            for key in UNSUPPORTED {
                if s.has(key) {
                    source.warn(
                        source.error(&id.child(key), format!("`{key}` is not enforced by the generated type")).hint(
                            "the generated type accepts values this keyword would reject; validate them in your code",
                        ),
                    );
                }
            }
            if let Some(Value::Object(props)) = s.kw("properties") {
                let props_node = child(id, "properties");
                for (prop, pvalue) in props {
                    if fields.iter().any(|f| &f.json_name == prop) {
                        continue;
                    }
                    let at = child(&props_node, prop);
                    let mut ty = self.convert(&at, pvalue, &sub_hint(hint, prop), 1)?;
                    let is_required = required.contains(prop);
                    let pschema = pvalue.as_object();
                    let mut default = None;
                    if !is_required {
                        match (pschema.and_then(|p| p.kw("default")), &ty) {
                            (Some(d), t) if literal_default(t, d) => default = Some(d.clone()),
                            _ => ty = nullable_ty(ty, true),
                        }
                    }
                    let (checks, item_checks) = self.constraints(&at, pvalue);
                    fields.push(Field {
                        json_name: prop.clone(),
                        name: ns.claim(self.value_name(prop)),
                        ty,
                        required: is_required,
                        doc: pschema.and_then(doc_of),
                        deprecated: pschema.and_then(|p| p.kw("deprecated")) == Some(&Value::Bool(true)),
                        default,
                        checks,
                        item_checks,
                    });
                }
            }
            match s.kw("additionalProperties") {
                Some(Value::Bool(false)) if !merged => deny_unknown = true,
                Some(Value::Bool(true)) => additional = additional.or(Some(Ty::Any)),
                Some(value @ Value::Object(_)) => {
                    let at = child(id, "additionalProperties");
                    additional = Some(self.convert(&at, value, &sub_hint(hint, "value"), 1)?);
                }
                _ => {
                    if let Some(Value::Object(patterns)) = s.kw("patternProperties") {
                        let ty = match patterns.iter().collect::<Vec<_>>().as_slice() {
                            [(one, value)] => {
                                let at = id.child("patternProperties").child(one);
                                self.convert(&at, value, &sub_hint(hint, "value"), 1)?
                            }
                            _ => Ty::Any,
                        };
                        additional = Some(ty);
                    }
                }
            }
        }
        // `required` names without a property schema: any JSON value, still required.
        for name in &required {
            if !fields.iter().any(|f| &f.json_name == name) {
                fields.push(Field {
                    json_name: name.clone(),
                    name: ns.claim(&naming::value_name(name)),
                    ty: Ty::Any,
                    required: true,
                    doc: Some("Listed in `required` without a schema: any JSON value.".into()),
                    deprecated: false,
                    default: None,
                    checks: Vec::new(),
                    item_checks: Vec::new(),
                });
            }
        }
        fields.shrink_to_fit();
        Ok(Kind::Struct { fields, additional, deny_unknown })
    }

    fn value_name(&mut self, prop: &str) -> &str {
        if !self.value_names.contains_key(prop) {
            self.value_names.insert(prop.to_string(), naming::value_name(prop));
        }
        &self.value_names[prop]
    }

    /// Constraints of a property (its own keywords, and those of a plain schema it references),
    /// and of its items.
    fn constraints(&self, node: &NodeId, value: &Value) -> (Vec<Check>, Vec<Check>) {
        let source = self.source;
        let mut own = Vec::new();
        let mut items = Vec::new();
        let visit = |at: &NodeId, schema: &Schema, out: &mut Vec<Check>| {
            checks_of(source, at, schema, out);
        };
        if let Value::Object(schema) = value {
            visit(node, schema, &mut own);
            if schema.has("$ref") {
                // The `$ref` in hand is resolved from here (`deref(node)` would resolve `node` again).
                let found = match schema.kw("$ref").and_then(Value::as_str) {
                    Some(reference) => source.deref_ref(node, reference),
                    None => source.deref(node),
                };
                if let Ok((target, Value::Object(t))) = found {
                    if !needs_def(t) {
                        visit(&target, t, &mut own);
                    }
                }
            }
            if let Some(Value::Object(item)) = schema.kw("items") {
                visit(&child(node, "items"), item, &mut items);
            }
        }
        (own, items)
    }

    /// Plain (unnamed) types; nullability is the caller's. `only_type` stands for the schema's
    /// `type` (one member of a multi-type schema).
    fn body(
        &mut self,
        node: &NodeId,
        schema: &'a Schema,
        only_type: Option<&str>,
        hint: &str,
        depth: usize,
    ) -> Result<Ty> {
        let source = self.source;
        if let Some(key) = UNSUPPORTED.iter().find(|k| schema.has(k)) {
            source.warn(
                source
                    .error(
                        &node.child(key),
                        format!("`{key}` is not supported; the value is kept as serde_json::Value"),
                    )
                    .hint("describe the value without this keyword to get a typed field"),
            );
            return Ok(Ty::Any);
        }
        // oneOf/anyOf with one non-null variant: that variant (the caller adds the Option).
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(items)) = schema.kw(key) {
                let non_null: Vec<usize> = (0..items.len()).filter(|&i| !is_null_schema(&items[i])).collect();
                match non_null[..] {
                    [only] => {
                        let at = child(&child(node, key), &only.to_string());
                        return self.convert(&at, &items[only], hint, depth + 1);
                    }
                    [] => return Ok(Ty::Any),
                    _ => {}
                }
            }
        }
        let mut types = match only_type {
            Some(t) => vec![t],
            None => types_of(schema),
        };
        if types.is_empty() {
            if ["properties", "additionalProperties", "patternProperties"].iter().any(|k| schema.has(k)) {
                types.push("object");
            } else if schema.has("items") || schema.has("prefixItems") {
                types.push("array");
            } else if schema.kw("format").and_then(Value::as_str).is_some_and(is_string_format) {
                types.push("string");
            }
        }
        let format = schema.kw("format").and_then(Value::as_str).unwrap_or("");
        Ok(match types.as_slice() {
            [] => Ty::Any,
            ["string"] => match format {
                "date-time" => Ty::DateTime,
                "date" => Ty::Date,
                "time" => Ty::Time,
                "duration" => Ty::Duration,
                "uuid" => Ty::Uuid,
                _ => Ty::String,
            },
            ["integer"] => Ty::Int(int_type(format, schema)),
            ["number"] => Ty::Float,
            ["boolean"] => Ty::Bool,
            ["array"] => self.array(node, schema, hint, depth)?,
            ["object"] => {
                let value_node = match (schema.kw("additionalProperties"), schema.kw("patternProperties")) {
                    (Some(v @ Value::Object(_)), _) => Some((child(node, "additionalProperties"), v)),
                    (None, Some(Value::Object(p))) if p.len() == 1 => {
                        p.iter().next().map(|(k, v)| (node.child("patternProperties").child(k), v))
                    }
                    _ => None,
                };
                match value_node {
                    Some((at, v)) => Ty::Map(Box::new(self.convert(&at, v, &sub_hint(hint, "value"), depth + 1)?)),
                    None => Ty::Map(Box::new(Ty::Any)),
                }
            }
            [other] => {
                source.warn(
                    source
                        .error(
                            &node.child("type"),
                            format!("unknown type `{other}`; the value is kept as serde_json::Value"),
                        )
                        .hint("use one of string, integer, number, boolean, array, object, null"),
                );
                Ty::Any
            }
            _ => Ty::Any,
        })
    }

    fn array(&mut self, node: &NodeId, schema: &'a Schema, hint: &str, depth: usize) -> Result<Ty> {
        let source = self.source;
        let item_hint = sub_hint(hint, "item");
        // Tuples: `prefixItems` (2020-12) or `items: [...]` (draft 4–7).
        let tuple_key = match (schema.kw("prefixItems"), schema.kw("items")) {
            (Some(Value::Array(_)), _) => Some(("prefixItems", "items")),
            (_, Some(Value::Array(_))) => Some(("items", "additionalItems")),
            _ => None,
        };
        if let Some((key, rest)) = tuple_key {
            let Some(Value::Array(items)) = schema.kw(key) else { unreachable!("checked above") };
            let mut tys = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let at = child(&child(node, key), &i.to_string());
                tys.push(self.convert(&at, item, &format!("{item_hint} {}", i + 1), depth + 1)?);
            }
            let closed = schema.kw(rest) == Some(&Value::Bool(false))
                || schema.kw("maxItems").and_then(Value::as_u64) == Some(items.len() as u64);
            if !closed {
                source.warn(
                    source
                        .error(&node.child(key), "tuple with open length: extra items are refused when decoding")
                        .hint(format!("add `{rest}: false` (or `maxItems`) if the tuple has exactly these items")),
                );
            }
            return Ok(Ty::Tuple(tys));
        }
        Ok(match schema.kw("items") {
            Some(value @ (Value::Object(_) | Value::Bool(_))) => {
                Ty::Vec(Box::new(self.convert(&child(node, "items"), value, &item_hint, depth + 1)?))
            }
            _ => Ty::Vec(Box::new(Ty::Any)),
        })
    }
}

/// The checkable constraints of one schema object; a `pattern` the Rust `regex` crate cannot
/// compile (look-around, back-references) is skipped with a warning.
fn checks_of(source: &Source, node: &NodeId, schema: &Schema, out: &mut Vec<Check>) {
    let num = |k: &str| schema.kw(k).and_then(Value::as_f64);
    let count = |k: &str| schema.kw(k).and_then(Value::as_u64);
    if let Some(n) = count("minLength") {
        out.push(Check::MinLength(n));
    }
    if let Some(n) = count("maxLength") {
        out.push(Check::MaxLength(n));
    }
    if let Some(Value::String(p)) = schema.kw("pattern") {
        if regex_syntax::Parser::new().parse(p).is_ok() {
            out.push(Check::Pattern(p.clone()));
        } else {
            source.warn(
                source
                    .error(
                        &node.child("pattern"),
                        "this pattern uses syntax the Rust regex crate does not support; validate() does not check it",
                    )
                    .hint("write the pattern without look-around and back-references"),
            );
        }
    }
    // Draft 4 writes `exclusiveMinimum: true` next to `minimum`; later drafts give the bound itself.
    let exclusive = |k: &str| schema.kw(k) == Some(&Value::Bool(true));
    if let Some(m) = num("minimum") {
        out.push(Check::Minimum(m, exclusive("exclusiveMinimum")));
    }
    if let Some(m) = num("exclusiveMinimum") {
        out.push(Check::Minimum(m, true));
    }
    if let Some(m) = num("maximum") {
        out.push(Check::Maximum(m, exclusive("exclusiveMaximum")));
    }
    if let Some(m) = num("exclusiveMaximum") {
        out.push(Check::Maximum(m, true));
    }
    if let Some(m) = num("multipleOf").filter(|m| *m > 0.0) {
        out.push(Check::MultipleOf(m));
    }
    if let Some(n) = count("minItems") {
        out.push(Check::MinItems(n));
    }
    if let Some(n) = count("maxItems") {
        out.push(Check::MaxItems(n));
    }
    if schema.kw("uniqueItems") == Some(&Value::Bool(true)) {
        out.push(Check::UniqueItems);
    }
    match schema.kw("format").and_then(Value::as_str) {
        Some("email" | "idn-email") => out.push(Check::Format("email")),
        Some("hostname" | "idn-hostname") => out.push(Check::Format("hostname")),
        Some("ipv4") => out.push(Check::Format("ipv4")),
        Some("ipv6") => out.push(Check::Format("ipv6")),
        Some("uri" | "iri") => out.push(Check::Format("uri")),
        _ => {}
    }
}

/// `"{hint} {word}"`, the name hint of a nested schema (without `format!`: one per property).
fn sub_hint(hint: &str, word: &str) -> String {
    let mut out = String::with_capacity(hint.len() + 1 + word.len());
    out.push_str(hint);
    out.push(' ');
    out.push_str(word);
    out
}

fn percent_decode(fragment: &str) -> String {
    percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().into_owned()
}

pub(super) fn nullable_ty(ty: Ty, nullable: bool) -> Ty {
    match ty {
        Ty::Option(_) | Ty::Any => ty,
        t if nullable => Ty::Option(Box::new(t)),
        t => t,
    }
}

/// Whether `null` is a valid value of the schema itself.
fn nullable(schema: &Schema) -> bool {
    schema.kw("nullable") == Some(&Value::Bool(true))
        || matches!(schema.kw("type"), Some(Value::Array(ts)) if ts.iter().any(|t| t == "null"))
        || matches!(schema.kw("enum"), Some(Value::Array(vs)) if vs.iter().any(Value::is_null))
        || ["oneOf", "anyOf"]
            .iter()
            .any(|k| matches!(schema.kw(k), Some(Value::Array(items)) if items.iter().any(is_null_schema)))
}

fn is_null_schema(v: &Value) -> bool {
    v.kw("type").and_then(Value::as_str) == Some("null")
        || v.kw("const").is_some_and(Value::is_null)
        || matches!(v.kw("enum"), Some(Value::Array(e)) if e.len() == 1 && e[0].is_null())
}

/// Non-null `type` names.
fn types_of(schema: &Schema) -> Vec<&str> {
    match schema.kw("type") {
        Some(Value::String(t)) if t != "null" => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    }
}

fn is_object_def(schema: &Schema) -> bool {
    schema.has("properties") || schema.has("required")
}

/// Whether a schema needs a definition of its own (see `Converter::kind`).
fn needs_def(schema: &Schema) -> bool {
    enum_values(schema).is_some()
        || schema.has("allOf")
        || is_object_def(schema)
        || types_of(schema).len() >= 2
        || ["oneOf", "anyOf"].iter().any(|k| match schema.kw(k) {
            Some(Value::Array(items)) => {
                items.iter().filter(|i| !is_null_schema(i)).count() >= 2
                    || items.iter().all(|i| i.kw("const").is_some())
            }
            _ => false,
        })
}

/// Keywords that shape the value (an allOf member with none of them only annotates).
fn is_structural(s: &Schema) -> bool {
    [
        "type",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "items",
        "prefixItems",
        "enum",
        "const",
        "oneOf",
        "anyOf",
        "format",
    ]
    .iter()
    .any(|k| s.has(k))
}

fn is_object_like(s: &Schema) -> bool {
    match s.kw("type") {
        Some(t) => t == "object",
        None => ["properties", "required", "additionalProperties", "patternProperties", "oneOf", "anyOf"]
            .iter()
            .any(|k| s.has(k)),
    }
}

/// `enum` values without nulls, or a `const`.
fn enum_values(schema: &Schema) -> Option<Vec<Value>> {
    if let Some(c) = schema.kw("const") {
        return (!c.is_null()).then(|| vec![c.clone()]);
    }
    let Some(Value::Array(values)) = schema.kw("enum") else { return None };
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if !v.is_null() && !out.contains(v) {
            out.push(v.clone());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Enum variants, named from titles or values.
fn enum_kind(values: Vec<(Value, Option<String>)>) -> Vec<EnumValue> {
    let mut ns = Namespace::default();
    let mut out: Vec<EnumValue> = Vec::new();
    for (value, title) in values {
        if out.iter().any(|e| e.value == value) {
            continue;
        }
        let base = match (&title, &value) {
            (Some(t), _) if !naming::type_name(t).is_empty() => naming::type_name(t),
            (_, Value::String(s)) if s.is_empty() => "Empty".into(),
            (_, Value::String(s)) => naming::type_name(s),
            (_, Value::Number(n)) => {
                let text = n.to_string();
                let digits: String = text.chars().map(|c| if c == '.' { 'p' } else { c }).collect();
                match digits.strip_prefix('-') {
                    Some(rest) => format!("Minus{rest}"),
                    None => format!("V{digits}"),
                }
            }
            (_, Value::Bool(b)) => if *b { "True" } else { "False" }.into(),
            _ => "Value".into(),
        };
        out.push(EnumValue { name: ns.claim(&base), value });
    }
    out
}

/// Whether `default` can be written as a literal for a field of type `ty`.
fn literal_default(ty: &Ty, default: &Value) -> bool {
    match (ty, default) {
        (Ty::String, Value::String(_)) | (Ty::Bool, Value::Bool(_)) => true,
        (Ty::Float, Value::Number(_)) => true,
        (Ty::Vec(_), Value::Array(a)) => a.is_empty(),
        (Ty::Map(_), Value::Object(o)) => o.is_empty(),
        (Ty::Int(t), Value::Number(n)) => match *t {
            "u64" => n.as_u64().is_some(),
            "u32" => n.as_u64().is_some_and(|v| v <= u32::MAX as u64),
            "u16" => n.as_u64().is_some_and(|v| v <= u16::MAX as u64),
            "u8" => n.as_u64().is_some_and(|v| v <= u8::MAX as u64),
            "i32" => n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            "i16" => n.as_i64().is_some_and(|v| i16::try_from(v).is_ok()),
            "i8" => n.as_i64().is_some_and(|v| i8::try_from(v).is_ok()),
            _ => n.as_i64().is_some(),
        },
        _ => false,
    }
}

/// Integer type from `format`; without one, `i64` unless the range needs `u64`.
fn int_type(format: &str, schema: &Schema) -> &'static str {
    match format {
        "int8" => "i8",
        "int16" => "i16",
        "int32" => "i32",
        "int64" => "i64",
        "uint8" => "u8",
        "uint16" => "u16",
        "uint32" => "u32",
        "uint64" => "u64",
        _ => {
            let non_negative = schema.kw("minimum").and_then(Value::as_f64).is_some_and(|m| m >= 0.0);
            let beyond_i64 = schema.kw("maximum").is_some_and(|m| m.as_u64().is_some_and(|v| v > i64::MAX as u64));
            if non_negative && beyond_i64 { "u64" } else { "i64" }
        }
    }
}

fn is_string_format(format: &str) -> bool {
    matches!(
        format,
        "date-time" | "date" | "time" | "duration" | "uuid" | "email" | "uri" | "hostname" | "ipv4" | "ipv6"
    )
}

pub(super) fn is_component(node: &NodeId) -> bool {
    let mut parts = node.pointer.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("components"), Some("schemas"), Some(_), None)
    )
}

/// A message object (`components/messages/X`, or anything with `payload` and no schema keywords).
fn is_message_object(node: &NodeId, value: &Value) -> bool {
    let Some(map) = value.as_object() else { return false };
    let _ = node;
    map.has("payload") && !map.has("type") && !map.has("properties")
}

fn file_stem(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.split('.').next().unwrap_or(name).to_string()
}
