//! JSON Schema → Rust type IR. Entries are keyed by the schema's canonical
//! node (file + pointer), kept in BTreeMaps, and named in one deterministic pass.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Result;
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
    Float(&'static str),
    DateTime,
    Uuid,
    Any,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    Option(Box<Ty>),
    Boxed(Box<Ty>),
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub node: NodeId,
    pub name: String,
    pub doc: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Struct {
        fields: Vec<Field>,
        additional: Option<Ty>,
        deny_unknown: bool,
    },
    /// String enum: (variant name, JSON value).
    Enum(Vec<(String, String)>),
    /// oneOf/anyOf, untagged: variants are tried in order. A discriminator property
    /// with `const`/single `enum` values makes each variant match only its own tag.
    Union(Vec<Ty>),
    Alias(Ty),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub json_name: String,
    pub name: String,
    pub ty: Ty,
    pub required: bool,
    pub doc: Option<String>,
}

#[derive(Debug, Default)]
pub struct TypeSpace {
    pub defs: BTreeMap<NodeId, TypeDef>,
    /// The type of each converted schema node.
    memo: BTreeMap<NodeId, Ty>,
    hints: BTreeMap<NodeId, (u8, String)>,
}

impl TypeSpace {
    /// Converts every root schema (`(node, name hint)`) and everything it reaches.
    pub fn build(source: &Source, roots: &[(NodeId, String)], reserved: &[&str]) -> Result<TypeSpace> {
        let mut space = TypeSpace::default();
        let mut conv = Converter { source, space: &mut space, following: BTreeSet::new() };
        for (node, hint) in roots {
            conv.root(node, hint)?;
        }
        space.assign_names(reserved);
        space.box_recursion(source)?;
        Ok(space)
    }

    /// The type of a root converted by `build`.
    pub fn ty_of(&self, node: &NodeId) -> Option<&Ty> {
        self.memo.get(node)
    }

    pub fn name(&self, node: &NodeId) -> &str {
        &self.defs[node].name
    }

    pub fn uses(&self, pred: &dyn Fn(&Ty) -> bool) -> bool {
        fn walk(ty: &Ty, pred: &dyn Fn(&Ty) -> bool) -> bool {
            pred(ty)
                || match ty {
                    Ty::Vec(t) | Ty::Map(t) | Ty::Option(t) | Ty::Boxed(t) => walk(t, pred),
                    _ => false,
                }
        }
        self.defs.values().any(|d| match &d.kind {
            Kind::Struct { fields, additional, .. } => {
                fields.iter().any(|f| walk(&f.ty, pred)) || additional.as_ref().is_some_and(|t| walk(t, pred))
            }
            Kind::Union(variants) => variants.iter().any(|t| walk(t, pred)),
            Kind::Alias(t) => walk(t, pred),
            Kind::Enum(_) => false,
        })
    }

    fn assign_names(&mut self, reserved: &[&str]) {
        let mut order: Vec<(&(u8, String), &NodeId)> = self.hints.iter().map(|(n, h)| (h, n)).collect();
        // Schemas with a name of their own (components, referenced files) claim first; then by location.
        order.sort_by(|a, b| (a.0.0, a.1).cmp(&(b.0.0, b.1)));
        let mut ns = Namespace::with_reserved(reserved);
        let names: Vec<(NodeId, String)> =
            order.into_iter().map(|((_, hint), node)| (node.clone(), ns.claim(&naming::type_name(hint)))).collect();
        for (node, name) in names {
            if let Some(def) = self.defs.get_mut(&node) {
                def.name = name;
            }
        }
    }

    /// Boxes direct self-containment (`Option<Category>` inside `Category`), found with Tarjan's SCCs.
    fn box_recursion(&mut self, source: &Source) -> Result<()> {
        fn direct(ty: &Ty, out: &mut Vec<NodeId>) {
            match ty {
                Ty::Named(n) => out.push(n.clone()),
                Ty::Option(t) => direct(t, out),
                _ => {}
            }
        }
        let ids: Vec<NodeId> = self.defs.keys().cloned().collect();
        let index: BTreeMap<&NodeId, usize> = ids.iter().enumerate().map(|(i, n)| (n, i)).collect();
        let edges: Vec<Vec<usize>> = ids
            .iter()
            .map(|id| {
                let mut out = Vec::new();
                match &self.defs[id].kind {
                    Kind::Struct { fields, .. } => fields.iter().for_each(|f| direct(&f.ty, &mut out)),
                    Kind::Union(variants) => variants.iter().for_each(|t| direct(t, &mut out)),
                    Kind::Alias(t) => alias_refs(t, &mut out),
                    Kind::Enum(_) => {}
                }
                out.iter().filter_map(|n| index.get(n).copied()).collect()
            })
            .collect();
        let scc = tarjan(&edges);
        let mut cyclic_alias = None;
        for (i, id) in ids.iter().enumerate() {
            let def = self.defs.get_mut(id).expect("id from defs");
            let same = |t: &Ty| matches!(t, Ty::Named(n) if index.get(n).is_some_and(|&j| scc[j] == scc[i]));
            match &mut def.kind {
                Kind::Struct { fields, .. } => {
                    for f in fields {
                        box_if(&mut f.ty, &same);
                    }
                }
                Kind::Union(variants) => {
                    for t in variants {
                        box_if(t, &same);
                    }
                }
                Kind::Alias(_) if edges[i].iter().any(|&j| scc[j] == scc[i]) => cyclic_alias = Some(id.clone()),
                _ => {}
            }
        }
        if let Some(id) = cyclic_alias {
            return Err(source
                .error(&id, "recursive schema that is not an object cannot be represented")
                .hint("wrap the recursion in an object property, e.g. `{type: object, properties: {children: {type: array, items: {$ref: ...}}}}`"));
        }
        Ok(())
    }
}

fn alias_refs(ty: &Ty, out: &mut Vec<NodeId>) {
    match ty {
        Ty::Named(n) => out.push(n.clone()),
        Ty::Vec(t) | Ty::Map(t) | Ty::Option(t) | Ty::Boxed(t) => alias_refs(t, out),
        _ => {}
    }
}

fn box_if(ty: &mut Ty, same: &dyn Fn(&Ty) -> bool) {
    match ty {
        Ty::Option(inner) => box_if(inner, same),
        t if same(t) => *t = Ty::Boxed(Box::new(t.clone())),
        _ => {}
    }
}

/// Strongly connected components; returns the component of each vertex.
fn tarjan(edges: &[Vec<usize>]) -> Vec<usize> {
    struct State<'a> {
        edges: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        comp: Vec<usize>,
        next: usize,
        comps: usize,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for i in 0..s.edges[v].len() {
            let w = s.edges[v][i];
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                s.comp[w] = s.comps;
                if w == v {
                    break;
                }
            }
            s.comps += 1;
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        comp: vec![0; n],
        next: 0,
        comps: 0,
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.comp
}

struct Converter<'a> {
    source: &'a Source,
    space: &'a mut TypeSpace,
    /// `$ref` nodes being followed, to detect reference cycles.
    following: BTreeSet<NodeId>,
}

/// Where a schema sits, for naming inline types and for date-time support.
#[derive(Clone, Copy)]
struct Ctx<'h> {
    hint: &'h str,
    /// `time` needs `#[serde(with)]`, possible only for a field or an `Option` field.
    direct: bool,
}

impl Converter<'_> {
    fn root(&mut self, node: &NodeId, hint: &str) -> Result<Ty> {
        // A root always gets a definition of its own, so it can be named in APIs.
        let ty = self.convert(node, Ctx { hint, direct: true }, true)?;
        self.space.memo.insert(node.clone(), ty.clone());
        Ok(ty)
    }

    fn convert(&mut self, node: &NodeId, ctx: Ctx, named: bool) -> Result<Ty> {
        if let Some(ty) = self.space.memo.get(node) {
            return Ok(ty.clone());
        }
        let source = self.source;
        let value = match source.get(node) {
            Some(v) => v,
            None => return Err(source.error(node, "missing schema")),
        };
        let schema = match value {
            Value::Bool(_) => return Ok(Ty::Any),
            Value::Object(map) => map,
            _ => {
                return Err(source
                    .error(node, "a schema must be an object or a boolean")
                    .hint("write a JSON Schema object such as `{type: string}`"));
            }
        };
        if let Some(Value::String(reference)) = schema.get("$ref") {
            let target = source.resolve_ref(node, reference)?;
            // A chain of pure `$ref`s that comes back to itself defines nothing.
            if !self.following.insert(node.clone()) {
                return Err(source
                    .error(node, "circular $ref chain")
                    .hint("a $ref must eventually point to a schema definition"));
            }
            // `$ref` + `description`/`default`: the siblings annotate the use, the type is the target's.
            let hint = target.last_token().filter(|t| !t.is_empty()).unwrap_or_else(|| file_stem(&target.file));
            let ty = self.convert(&target, Ctx { hint: &hint, direct: ctx.direct }, true)?;
            self.following.remove(node);
            let nullable = schema.get("nullable") == Some(&Value::Bool(true));
            return Ok(if nullable { option(ty) } else { ty });
        }
        let doc = doc_of(schema);
        let hint_owned;
        let hint = match schema.get("title").and_then(Value::as_str) {
            Some(t) if !named => {
                hint_owned = t.to_string();
                &hint_owned
            }
            _ => ctx.hint,
        };
        let named_here = named || needs_def(schema);
        if named_here {
            // Register before descending so recursion terminates.
            let priority = if is_component(node) {
                0
            } else if named {
                1
            } else {
                2
            };
            self.space.hints.insert(node.clone(), (priority, hint.to_string()));
            self.space.memo.insert(node.clone(), Ty::Named(node.clone()));
            let kind = self.kind(node, schema, hint)?;
            let kind = match kind {
                Some(k) => k,
                None => Kind::Alias(self.inline(node, schema, Ctx { hint, direct: false })?),
            };
            self.space.defs.insert(node.clone(), TypeDef { node: node.clone(), name: String::new(), doc, kind });
            Ok(Ty::Named(node.clone()))
        } else {
            let ty = self.inline(node, schema, Ctx { hint, direct: ctx.direct })?;
            self.space.memo.insert(node.clone(), ty.clone());
            Ok(ty)
        }
    }

    /// The definition for schemas that need one (objects, enums, unions); `None` for plain types.
    fn kind(&mut self, node: &NodeId, schema: &serde_json::Map<String, Value>, hint: &str) -> Result<Option<Kind>> {
        if let Some(values) = string_enum(schema) {
            let mut ns = Namespace::default();
            let variants = values
                .into_iter()
                .map(|v| {
                    let name = if v.is_empty() { "Empty".to_string() } else { naming::type_name(&v) };
                    (ns.claim(&name), v)
                })
                .collect();
            return Ok(Some(Kind::Enum(variants)));
        }
        if schema.contains_key("allOf") {
            return self.all_of(node, schema, hint).map(Some);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(items)) = schema.get(key) {
                let non_null: Vec<usize> = (0..items.len()).filter(|&i| !is_null_schema(&items[i])).collect();
                if non_null.len() < 2 {
                    return Ok(None);
                }
                let mut variants = Vec::new();
                for (n, i) in non_null.into_iter().enumerate() {
                    let child = node.child(key).child(i.to_string());
                    let vh = format!("{hint} variant {}", n + 1);
                    variants.push(self.convert(&child, Ctx { hint: &vh, direct: false }, false)?);
                }
                return Ok(Some(Kind::Union(variants)));
            }
        }
        if schema.contains_key("properties") || schema.contains_key("required") {
            return self.object(&[(node.clone(), schema)], hint).map(Some);
        }
        Ok(None)
    }

    fn all_of(&mut self, node: &NodeId, schema: &serde_json::Map<String, Value>, hint: &str) -> Result<Kind> {
        let source = self.source;
        // Flatten nested allOf and $refs into a list of object schemas.
        let mut parts: Vec<(NodeId, &serde_json::Map<String, Value>)> = vec![(node.clone(), schema)];
        let mut i = 0;
        while i < parts.len() {
            let (id, s) = parts[i].clone();
            if let Some(Value::Array(items)) = s.get("allOf") {
                for j in 0..items.len() {
                    let (target, v) = source.deref(&id.child("allOf").child(j.to_string()))?;
                    match v {
                        Value::Object(m) => parts.push((target, m)),
                        _ => return Err(source.error(&id.child("allOf"), "allOf items must be schema objects")),
                    }
                }
            }
            i += 1;
        }
        for (id, s) in &parts {
            let kind_ok = s.get("type").is_none_or(|t| t == "object");
            if !kind_ok || s.contains_key("oneOf") || s.contains_key("anyOf") {
                return Err(source
                    .error(id, "allOf is supported for object schemas only")
                    .hint("combine object schemas with allOf; put oneOf/anyOf at the top level"));
            }
        }
        self.object(&parts, hint)
    }

    fn object(&mut self, parts: &[(NodeId, &serde_json::Map<String, Value>)], hint: &str) -> Result<Kind> {
        let mut required = BTreeSet::new();
        for (_, s) in parts {
            if let Some(Value::Array(r)) = s.get("required") {
                required.extend(r.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut ns = Namespace::with_reserved(&["additional_properties"]);
        let mut additional = None;
        let mut deny_unknown = false;
        for (id, s) in parts {
            if let Some(Value::Object(props)) = s.get("properties") {
                for (prop, pschema) in props {
                    if fields.iter().any(|f| &f.json_name == prop) {
                        continue;
                    }
                    let child = id.child("properties").child(prop);
                    let field_hint = format!("{hint} {prop}");
                    let mut ty = self.convert(&child, Ctx { hint: &field_hint, direct: true }, false)?;
                    let is_required = required.contains(prop);
                    if !is_required && !matches!(ty, Ty::Option(_)) {
                        ty = Ty::Option(Box::new(ty));
                    }
                    let doc = pschema.as_object().and_then(doc_of);
                    fields.push(Field {
                        json_name: prop.clone(),
                        name: ns.claim(&naming::value_name(prop)),
                        ty,
                        required: is_required,
                        doc,
                    });
                }
            }
            match s.get("additionalProperties") {
                Some(Value::Bool(false)) if parts.len() == 1 => deny_unknown = true,
                Some(Value::Object(_)) => {
                    let h = format!("{hint} value");
                    additional = Some(self.convert(
                        &id.child("additionalProperties"),
                        Ctx { hint: &h, direct: false },
                        false,
                    )?);
                }
                _ => {}
            }
        }
        Ok(Kind::Struct { fields, additional, deny_unknown })
    }

    /// Plain (unnamed) types.
    fn inline(&mut self, node: &NodeId, schema: &serde_json::Map<String, Value>, ctx: Ctx) -> Result<Ty> {
        let mut nullable = schema.get("nullable") == Some(&Value::Bool(true));
        let mut types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if types.contains(&"null") {
            nullable = true;
            types.retain(|t| *t != "null");
        }
        // oneOf/anyOf with one non-null variant: that variant, nullable.
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(items)) = schema.get(key) {
                let non_null: Vec<usize> = (0..items.len()).filter(|&i| !is_null_schema(&items[i])).collect();
                if non_null.len() < items.len() {
                    nullable = true;
                }
                if let [only] = non_null[..] {
                    let ty = self.convert(&node.child(key).child(only.to_string()), ctx, false)?;
                    return Ok(if nullable { option(ty) } else { ty });
                }
            }
        }
        if types.is_empty() && (schema.contains_key("properties") || schema.contains_key("additionalProperties")) {
            types.push("object");
        }
        if types.is_empty() && schema.contains_key("items") {
            types.push("array");
        }
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let ty = match types.as_slice() {
            ["string"] => match format {
                "date-time" if ctx.direct => Ty::DateTime,
                "uuid" => Ty::Uuid,
                _ => Ty::String,
            },
            ["integer"] => Ty::Int(match format {
                "int8" => "i8",
                "int16" => "i16",
                "int32" => "i32",
                "uint8" => "u8",
                "uint16" => "u16",
                "uint32" => "u32",
                "uint64" => "u64",
                _ => "i64",
            }),
            ["number"] => Ty::Float(if format == "float" { "f32" } else { "f64" }),
            ["boolean"] => Ty::Bool,
            ["array"] => {
                let item_hint = format!("{} item", ctx.hint);
                match schema.get("items") {
                    Some(Value::Object(_)) | Some(Value::Bool(_)) => Ty::Vec(Box::new(self.convert(
                        &node.child("items"),
                        Ctx { hint: &item_hint, direct: false },
                        false,
                    )?)),
                    _ => Ty::Vec(Box::new(Ty::Any)),
                }
            }
            ["object"] => match schema.get("additionalProperties") {
                Some(Value::Object(_)) => {
                    let h = format!("{} value", ctx.hint);
                    Ty::Map(Box::new(self.convert(
                        &node.child("additionalProperties"),
                        Ctx { hint: &h, direct: false },
                        false,
                    )?))
                }
                _ => Ty::Map(Box::new(Ty::Any)),
            },
            _ => Ty::Any,
        };
        Ok(if nullable { option(ty) } else { ty })
    }
}

fn option(ty: Ty) -> Ty {
    match ty {
        Ty::Option(_) | Ty::Any => ty,
        t => Ty::Option(Box::new(t)),
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

fn needs_def(schema: &serde_json::Map<String, Value>) -> bool {
    string_enum(schema).is_some()
        || schema.contains_key("properties")
        || schema.contains_key("allOf")
        || ["oneOf", "anyOf"].iter().any(|k| match schema.get(*k) {
            Some(Value::Array(items)) => items.iter().filter(|i| !is_null_schema(i)).count() >= 2,
            _ => false,
        })
}

/// String values of `enum` (nulls dropped), when all are strings.
/// A string `const` is a one-value enum, so untagged unions discriminate on it.
fn string_enum(schema: &serde_json::Map<String, Value>) -> Option<Vec<String>> {
    if let Some(Value::String(c)) = schema.get("const") {
        return Some(vec![c.clone()]);
    }
    let Some(Value::Array(values)) = schema.get("enum") else { return None };
    let mut out = Vec::new();
    for v in values {
        match v {
            Value::String(s) => {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            Value::Null => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

fn is_component(node: &NodeId) -> bool {
    let mut parts = node.pointer.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("components"), Some("schemas"), Some(_), None)
    )
}

fn file_stem(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.split('.').next().unwrap_or(name).to_string()
}

/// Rustdoc for a schema: its `description`, else its `title` (generators such
/// as pydantic put a title on everything, usually just the name again).
pub fn doc_of(schema: &serde_json::Map<String, Value>) -> Option<String> {
    ["description", "title"].iter().find_map(|k| schema.get(*k).and_then(Value::as_str)).map(str::to_string)
}
