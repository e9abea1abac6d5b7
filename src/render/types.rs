//! The type part of the view model: one `TypeItem` per definition, the `wire` support types
//! (date, time, duration) the definitions use, and the round-trip tests of the document's examples.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::view::{doc_lines, lit};
use crate::load::{FastMap, NodeId};
use crate::model::{Encoding, Message};
use crate::naming::{self, Namespace};
use crate::types::{Check, Kind, Ty, TypeDef, TypeSpace, UnionStyle};

#[derive(Debug, Serialize)]
pub struct TypeItem {
    pub name: String,
    /// The name as a string literal.
    pub name_lit: String,
    pub docs: Vec<String>,
    /// `struct`, `enum` (string values, derived serde), `value_enum` (any JSON values, hand-written
    /// serde), `union`, `raw` (a union kept as `serde_json::Value`), `alias`
    pub kind: &'static str,
    pub derives: String,
    pub attrs: Vec<String>,
    pub fields: Vec<FieldView>,
    pub variants: Vec<VariantView>,
    pub target: String,
    /// `fn name() -> ty { expr }` for `#[serde(default = "…")]`.
    pub defaults: Vec<DefaultFn>,
    /// Whether the type has `validate()`, and the statements of its `validate_into`.
    pub validates: bool,
    /// Written in prettyplease's layout (structs and string enums without user attributes).
    pub exact: bool,
    /// The body of `validate_into` in prettyplease's layout, when its statements have known shapes.
    pub validate_exact: Option<String>,
    /// The statements of `validate_into`, when it has no `validate_exact`.
    pub validate: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FieldView {
    pub name: String,
    pub ty: String,
    pub docs: Vec<String>,
    pub attrs: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct VariantView {
    pub name: String,
    pub attrs: Vec<String>,
    /// Empty for unit variants.
    pub ty: String,
    /// `value_enum`: the Rust expression of the JSON value, and its text for error messages.
    pub value_expr: String,
    pub value_text: String,
    /// `raw`: accessor names.
    pub decode_fn: String,
    pub encode_fn: String,
}

#[derive(Debug, Serialize)]
pub struct DefaultFn {
    pub name: String,
    pub ty: String,
    pub expr: String,
}

#[derive(Debug, Serialize)]
pub struct ExampleView {
    pub fn_name: String,
    pub ty: String,
    /// Where the example is written (`file#/pointer`), as a string literal.
    pub at: String,
    /// The example's JSON text, as a string literal.
    pub json: String,
}

/// Which `wire` support types the definitions use.
#[derive(Debug, Default, Serialize)]
pub struct WireView {
    pub any: bool,
    pub date_time: bool,
    pub date: bool,
    pub time: bool,
    pub duration: bool,
    /// Offset-less date-times are read as UTC (pydantic's naive datetimes); `false` = strict RFC 3339.
    pub lenient: bool,
}

/// Writes `Ty`s as Rust, with absolute std paths so user type names cannot shadow them.
pub struct TyWriter<'a> {
    pub space: &'a TypeSpace,
    pub overrides: &'a BTreeMap<String, String>,
    /// `space.defs` by node, hashed: every named type written, validated or checked looks its
    /// definition up (a search of the tree compares long pointers a dozen times).
    defs: FastMap<&'a NodeId, &'a TypeDef>,
}

impl<'a> TyWriter<'a> {
    pub fn new(space: &'a TypeSpace, overrides: &'a BTreeMap<String, String>) -> Self {
        let mut defs = FastMap::with_capacity_and_hasher(space.defs.len(), Default::default());
        defs.extend(space.defs.iter());
        TyWriter { space, overrides, defs }
    }

    /// The definition of `node`.
    fn def(&self, node: &NodeId) -> Option<&'a TypeDef> {
        self.defs.get(node).copied()
    }

    pub fn override_for(&self, node: &NodeId) -> Option<&String> {
        if self.overrides.is_empty() {
            return None;
        }
        let def = self.def(node)?;
        self.overrides.get(&def.name).or_else(|| self.overrides.get(&node.to_string()))
    }

    /// `prefix` is the path to the types module (`""` inside it, `super::types::` next to it).
    pub fn write(&self, ty: &Ty, prefix: &str) -> String {
        // Room for most types (`::std::option::Option<::std::string::String>`) without growing.
        let mut out = String::with_capacity(64);
        self.write_into(&mut out, ty, prefix);
        out
    }

    /// [`TyWriter::write`] appended to `out` (one buffer for the whole type: it runs for every
    /// field of every definition).
    fn write_into(&self, out: &mut String, ty: &Ty, prefix: &str) {
        let wrapped = |out: &mut String, open: &str, t: &Ty| {
            out.push_str(open);
            self.write_into(out, t, prefix);
            out.push('>');
        };
        match ty {
            Ty::Named(n) => match self.override_for(n) {
                Some(path) => out.push_str(path),
                None => {
                    out.push_str(prefix);
                    out.push_str(&self.defs[n].name);
                }
            },
            Ty::String => out.push_str("::std::string::String"),
            Ty::Bool => out.push_str("bool"),
            Ty::Int(t) => out.push_str(t),
            Ty::Float => out.push_str("f64"),
            Ty::DateTime | Ty::Date | Ty::Time | Ty::Duration => {
                out.push_str(prefix);
                out.push_str(match ty {
                    Ty::DateTime => "wire::DateTime",
                    Ty::Date => "wire::Date",
                    Ty::Time => "wire::Time",
                    _ => "wire::Duration",
                });
            }
            Ty::Uuid => out.push_str("::uuid::Uuid"),
            Ty::Any => out.push_str("::serde_json::Value"),
            Ty::Vec(t) => wrapped(out, "::std::vec::Vec<", t),
            Ty::Map(t) => wrapped(out, "::std::collections::BTreeMap<::std::string::String, ", t),
            Ty::Tuple(ts) => {
                out.push('(');
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_into(out, t, prefix);
                }
                if ts.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Ty::Option(t) => wrapped(out, "::std::option::Option<", t),
            Ty::Boxed(t) => wrapped(out, "::std::boxed::Box<", t),
        }
    }

    /// The payload type of `message` (a `String` or bytes for payloads that are not JSON).
    pub fn payload(&self, message: Option<&Message>, prefix: &str) -> String {
        match message.map(|m| m.encoding) {
            Some(Encoding::Text) => "::std::string::String".into(),
            Some(Encoding::Bytes) => "::std::vec::Vec<u8>".into(),
            _ => self.of_node(message.and_then(|m| m.payload.as_ref()), prefix),
        }
    }

    /// The type of a message part as seen from a module next to `types`.
    pub fn of_node(&self, node: Option<&NodeId>, prefix: &str) -> String {
        match node.and_then(|n| self.space.ty_of(n)) {
            Some(ty) => self.write(ty, prefix),
            None => "::serde_json::Value".into(),
        }
    }
}

const DERIVES: &str = "::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq";
const SERDE: &str = ", ::serde::Serialize, ::serde::Deserialize";

pub fn type_items(
    space: &TypeSpace,
    tys: &TyWriter,
    extra_derives: &str,
    type_attributes: &[String],
    base: usize,
) -> (Vec<TypeItem>, ValidationView) {
    let mut validation = ValidateWriter { space, tys, view: ValidationView::default() };
    let derives = format!("{DERIVES}{SERDE}{extra_derives}");
    // Validate bodies recur (structs with the same checked fields, e.g. one per entity of a
    // platform): each distinct body is laid out once.
    let mut laid_out: FastMap<Vec<String>, Option<String>> = FastMap::default();
    // Sized up front: a `filter` leaves `collect` no size, and growing a Vec of thousands of
    // large items copies them again at each doubling.
    let mut items: Vec<TypeItem> = Vec::with_capacity(space.defs.len());
    items.extend(space.defs.values().filter(|def| tys.override_for(&def.node).is_none()).map(|def| {
            let mut item = TypeItem {
                name: def.name.clone(),
                name_lit: lit(&def.name),
                docs: doc_lines(def.doc.as_deref()),
                kind: "alias",
                derives: derives.clone(),
                attrs: type_attributes.to_vec(),
                fields: Vec::new(),
                variants: Vec::new(),
                target: String::new(),
                defaults: Vec::new(),
                validates: false,
                exact: false,
                validate_exact: None,
                validate: Vec::new(),
            };
            if let Some(body) = validation.body(def) {
                item.validates = true;
                if matches!(def.kind, Kind::Struct { .. }) {
                    item.validate_exact = match laid_out.get(body.as_slice()) {
                        Some(exact) => exact.clone(),
                        None => {
                            let exact = exact_validate(&body, 8, super::layout::MARGIN - base);
                            laid_out.insert(body.clone(), exact.clone());
                            exact
                        }
                    };
                }
                // The statements one by one only when there is no laid-out body to print.
                if item.validate_exact.is_none() {
                    item.validate = body;
                }
            }
            if def.deprecated {
                item.attrs.push("deprecated".into());
            }
            match &def.kind {
                Kind::Struct { fields, additional, deny_unknown } => {
                    item.kind = "struct";
                    if *deny_unknown {
                        item.attrs.push("serde(deny_unknown_fields)".into());
                    }
                    for f in fields {
                        let mut serde = Vec::new();
                        if f.name.trim_start_matches("r#") != f.json_name {
                            serde.push(format!("rename = {}", lit(&f.json_name)));
                        }
                        let optional = matches!(f.ty, Ty::Option(_));
                        if optional && !f.required {
                            serde.push("default".to_string());
                            serde.push("skip_serializing_if = \"::std::option::Option::is_none\"".into());
                        }
                        if let Some(default) = &f.default {
                            let fn_name = format!("default_{}", f.name.trim_start_matches("r#"));
                            let ty = tys.write(&f.ty, "");
                            item.defaults.push(DefaultFn { name: fn_name.clone(), expr: default_expr(&f.ty, default), ty });
                            serde.push(format!("default = {}", lit(&format!("{}::{fn_name}", def.name))));
                        }
                        let mut attrs = if serde.is_empty() {
                            Vec::new()
                        } else {
                            let mut attr = String::from("serde(");
                            for (i, s) in serde.iter().enumerate() {
                                if i > 0 {
                                    attr.push_str(", ");
                                }
                                attr.push_str(s);
                            }
                            attr.push(')');
                            vec![attr]
                        };
                        if f.deprecated {
                            attrs.push("deprecated".into());
                        }
                        item.fields.push(FieldView {
                            name: f.name.clone(),
                            ty: tys.write(&f.ty, ""),
                            docs: doc_lines(f.doc.as_deref()),
                            attrs,
                        });
                    }
                    if let Some(extra) = additional {
                        item.fields.push(FieldView {
                            name: "additional_properties".into(),
                            ty: tys.write(&Ty::Map(Box::new(extra.clone())), ""),
                            docs: doc_lines(Some("Members not named in the schema (`additionalProperties`), kept so re-encoding loses nothing.")),
                            attrs: vec!["serde(flatten)".into()],
                        });
                    }
                }
                Kind::Enum(values) if values.iter().all(|v| v.value.is_string()) => {
                    item.kind = "enum";
                    item.variants = values
                        .iter()
                        .map(|v| VariantView {
                            name: v.name.clone(),
                            attrs: vec![rename_attr(v.value.as_str().unwrap_or_default())],
                            ..variant()
                        })
                        .collect();
                }
                Kind::Enum(values) => {
                    item.kind = "value_enum";
                    // Its JSON Schema is written by hand (values, not variant names).
                    let extra: String = extra_derives
                        .split(", ")
                        .filter(|d| !d.is_empty() && !d.ends_with("JsonSchema"))
                        .map(|d| format!(", {d}"))
                        .collect();
                    item.derives = format!("{DERIVES}{extra}");
                    item.variants = values
                        .iter()
                        .map(|v| VariantView {
                            name: v.name.clone(),
                            value_expr: value_expr(&v.value),
                            value_text: lit(&v.value.to_string()),
                            ..variant()
                        })
                        .collect();
                }
                Kind::Union(union) => {
                    let mut ns = Namespace::default();
                    let names: Vec<String> = union
                        .members
                        .iter()
                        .map(|m| match &m.tag {
                            // A tagged variant is its tag.
                            Some(tag) => ns.claim(&naming::type_name(tag)),
                            None => ns.claim(&variant_name(space, &m.ty)),
                        })
                        .collect();
                    match &union.style {
                        UnionStyle::Raw => {
                            item.kind = "raw";
                            item.attrs.push("serde(transparent)".into());
                            let mut methods = Namespace::default();
                            item.variants = union
                                .members
                                .iter()
                                .zip(names)
                                .map(|(m, name)| {
                                    let snake = naming::value_name(&name).trim_start_matches("r#").to_string();
                                    VariantView {
                                        decode_fn: methods.claim(&format!("decode_{snake}")),
                                        encode_fn: methods.claim(&format!("from_{snake}")),
                                        ty: tys.write(&m.ty, ""),
                                        name,
                                        ..variant()
                                    }
                                })
                                .collect();
                        }
                        style => {
                            item.kind = "union";
                            match style {
                                UnionStyle::Tagged(tag) => item.attrs.push(format!("serde(tag = {})", lit(tag))),
                                _ => item.attrs.push("serde(untagged)".into()),
                            }
                            item.attrs.push("allow(clippy::large_enum_variant)".into());
                            item.variants = union
                                .members
                                .iter()
                                .zip(names)
                                .map(|(m, name)| VariantView {
                                    attrs: m
                                        .tag
                                        .iter()
                                        .map(|t| format!("serde(rename = {})", lit(t)))
                                        .collect(),
                                    ty: tys.write(&m.ty, ""),
                                    name,
                                    ..variant()
                                })
                                .collect();
                        }
                    }
                }
                Kind::Alias(ty) => item.target = tys.write(ty, ""),
            }
            item
        }));
    // By name: the order is sorted as indices (comparing names), then the items are moved once; a
    // `TypeItem` is large, and sorting thousands of them moved each many times.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| items[a].name.cmp(&items[b].name));
    let mut slots: Vec<Option<TypeItem>> = items.into_iter().map(Some).collect();
    let mut items: Vec<TypeItem> = Vec::with_capacity(slots.len());
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
    // User derives and attributes are printed as they come; prettyplease may space them differently.
    let plain = extra_derives.is_empty() && type_attributes.is_empty();
    for item in &mut items {
        item.exact = plain && matches!(item.kind, "struct" | "enum");
    }
    (items, validation.view)
}

/// `serde(rename = "<name>")`.
fn rename_attr(name: &str) -> String {
    let name = lit(name);
    let mut attr = String::with_capacity(name.len() + 16);
    attr.push_str("serde(rename = ");
    attr.push_str(&name);
    attr.push(')');
    attr
}

fn variant() -> VariantView {
    VariantView {
        name: String::new(),
        attrs: Vec::new(),
        ty: String::new(),
        value_expr: String::new(),
        value_text: String::new(),
        decode_fn: String::new(),
        encode_fn: String::new(),
    }
}

/// A Rust expression building the `serde_json::Value` of an enum value.
fn value_expr(value: &Value) -> String {
    match value {
        Value::String(s) => format!("::serde_json::Value::String(::std::string::String::from({}))", lit(s)),
        Value::Bool(b) => format!("::serde_json::Value::Bool({b})"),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => format!("::serde_json::Value::from({u}_u64)"),
            (_, Some(i), _) => format!("::serde_json::Value::from({i}_i64)"),
            (_, _, Some(f)) => format!("::serde_json::Value::from({f:?}_f64)"),
            _ => "::serde_json::Value::Null".into(),
        },
        // Arrays/objects as enum values: parsed from their JSON text (valid: it came from serde_json).
        other => format!(
            "::serde_json::from_str::<::serde_json::Value>({}).unwrap_or(::serde_json::Value::Null)",
            lit(&other.to_string())
        ),
    }
}

fn default_expr(ty: &Ty, value: &Value) -> String {
    match (ty, value) {
        (Ty::String, Value::String(s)) => format!("::std::string::String::from({})", lit(s)),
        (Ty::Bool, Value::Bool(b)) => b.to_string(),
        (Ty::Float, Value::Number(n)) => format!("{:?}", n.as_f64().unwrap_or_default()),
        (Ty::Int(t), Value::Number(n)) => format!("{n}_{t}"),
        _ => "::std::default::Default::default()".into(),
    }
}

pub fn variant_name(space: &TypeSpace, ty: &Ty) -> String {
    match ty {
        Ty::Named(n) => space.name(n).to_string(),
        Ty::Boxed(t) | Ty::Option(t) => variant_name(space, t),
        Ty::String => "String".into(),
        Ty::Uuid => "Uuid".into(),
        Ty::DateTime => "DateTime".into(),
        Ty::Date => "Date".into(),
        Ty::Time => "Time".into(),
        Ty::Duration => "Duration".into(),
        Ty::Bool => "Boolean".into(),
        Ty::Int(_) => "Integer".into(),
        Ty::Float => "Number".into(),
        Ty::Vec(_) => "Array".into(),
        Ty::Tuple(_) => "Tuple".into(),
        Ty::Map(_) => "Object".into(),
        Ty::Any => "Value".into(),
    }
}

/// The `wire` support types the definitions use, and whether they use `Uuid`.
pub fn wire_view(space: &TypeSpace, lenient: bool) -> (WireView, bool) {
    let mut w = WireView { lenient, ..WireView::default() };
    let mut uuid = false;
    // One walk over every type written (thousands of definitions).
    let mut visit = |t: &Ty| match t {
        Ty::DateTime => w.date_time = true,
        Ty::Date => w.date = true,
        Ty::Time => w.time = true,
        Ty::Duration => w.duration = true,
        Ty::Uuid => uuid = true,
        _ => {}
    };
    space.each_ty(&mut |ty| ty.walk(&mut visit));
    w.any = w.date_time || w.date || w.time || w.duration;
    (w, uuid)
}

/// One test per example: decode, re-encode, compare as JSON values.
pub fn example_views(space: &TypeSpace, tys: &TyWriter) -> Vec<ExampleView> {
    let mut ns = Namespace::default();
    space
        .examples
        .iter()
        .filter(|e| !matches!(&e.ty, Ty::Named(n) if tys.override_for(n).is_some()))
        .map(|e| {
            let base = format!("{} example", variant_name(space, &e.ty));
            ExampleView {
                fn_name: ns.claim(&naming::value_name(&base)),
                ty: tys.write(&e.ty, "super::"),
                at: lit(&e.at.to_string()),
                json: lit(&e.value.to_string()),
            }
        })
        .collect()
}

/// The `validate()` support: which pattern statics exist, and whether any type validates.
#[derive(Debug, Default, Serialize)]
pub struct ValidationView {
    pub any: bool,
    /// `(static name, pattern literal)`
    pub patterns: Vec<(String, String)>,
}

/// Writes the body of `validate_into` for each struct and (non-raw) union.
pub struct ValidateWriter<'a> {
    pub space: &'a TypeSpace,
    pub tys: &'a TyWriter<'a>,
    pub view: ValidationView,
}

impl<'a> ValidateWriter<'a> {
    /// Statements of `fn validate_into(&self, path: &str, errors: &mut Vec<Violation>)`; `None`
    /// for types without the method.
    pub fn body(&mut self, def: &crate::types::TypeDef) -> Option<Vec<String>> {
        let mut out = Vec::new();
        match &def.kind {
            Kind::Struct { fields, additional, .. } => {
                for f in fields {
                    let code = self.value(&f.ty, "field", "at", &f.checks, &f.item_checks, 0);
                    if !code.is_empty() {
                        out.push(format!(
                            "{{ let field = &self.{}; let at = ::std::format!(\"{{}}{{}}\", path, {});",
                            f.name,
                            lit(&format!("/{}", pointer_token(&f.json_name)))
                        ));
                        out.extend(code);
                        out.push("}".into());
                    }
                }
                if let Some(extra) = additional {
                    let code = self.value(extra, "item", "at", &[], &[], 1);
                    if !code.is_empty() {
                        out.push(
                            "for (key, item) in &self.additional_properties { let at = validation::pointer(path, key);"
                                .into(),
                        );
                        out.extend(code);
                        out.push("}".into());
                    }
                }
            }
            Kind::Union(u) if u.style != UnionStyle::Raw => {
                let mut arms = Vec::new();
                let mut all = true;
                let names: Vec<String> = {
                    // The same names as the enum's variants.
                    let mut ns = Namespace::default();
                    u.members
                        .iter()
                        .map(|m| match &m.tag {
                            Some(tag) => ns.claim(&naming::type_name(tag)),
                            None => ns.claim(&variant_name(self.space, &m.ty)),
                        })
                        .collect()
                };
                for (m, name) in u.members.iter().zip(names) {
                    if self.validates(&m.ty) {
                        arms.push(format!("Self::{name}(value) => value.validate_into(path, errors),"));
                    } else {
                        all = false;
                    }
                }
                if !arms.is_empty() {
                    out.push("match self {".into());
                    out.extend(arms);
                    if !all {
                        out.push("_ => {}".into());
                    }
                    out.push("}".into());
                }
            }
            _ => return None,
        }
        self.view.any = true;
        Some(out)
    }

    /// The kind of the generated definition `n` (`None` when an override stands for it).
    fn named_kind(&self, n: &NodeId) -> Option<&'a Kind> {
        if self.tys.override_for(n).is_some() {
            return None;
        }
        self.tys.def(n).map(|d| &d.kind)
    }

    /// Whether values of `ty` have a `validate_into` method.
    fn validates(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Option(t) | Ty::Boxed(t) => self.validates(t),
            Ty::Named(n) => has_validate(self.named_kind(n)),
            _ => false,
        }
    }

    /// Whether anything would be checked inside values of `ty` (through containers and aliases).
    /// Each definition is looked up once per level.
    fn deep(&self, ty: &Ty, depth: usize) -> bool {
        if depth >= 8 {
            return false;
        }
        match ty {
            // `validates(t)` is the first thing `deep(t)` asks, below the depth limit.
            Ty::Option(t) | Ty::Boxed(t) => {
                if depth + 1 < 8 {
                    self.deep(t, depth + 1)
                } else {
                    self.validates(t)
                }
            }
            Ty::Vec(t) | Ty::Map(t) => self.deep(t, depth + 1),
            Ty::Named(n) => match self.named_kind(n) {
                Some(Kind::Alias(t)) => self.deep(t, depth + 1),
                kind => has_validate(kind),
            },
            _ => false,
        }
    }

    /// Statements checking `value` (a variable of type `&ty`) at `path` (a `String` variable).
    fn value(
        &mut self,
        ty: &Ty,
        value: &str,
        path: &str,
        checks: &[Check],
        item_checks: &[Check],
        depth: usize,
    ) -> Vec<String> {
        // Variable names by depth, not formatted each time (most calls write nothing).
        const V: [&str; 9] = ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"];
        const ITEM: [&str; 9] = ["item0", "item1", "item2", "item3", "item4", "item5", "item6", "item7", "item8"];
        const AT: [&str; 9] = ["at0", "at1", "at2", "at3", "at4", "at5", "at6", "at7", "at8"];
        let mut out = Vec::new();
        if depth > 8 {
            return out;
        }
        match ty {
            Ty::Option(t) | Ty::Boxed(t) => {
                let v = V[depth];
                let inner = self.value(t, v, path, checks, item_checks, depth + 1);
                if !inner.is_empty() {
                    let bind = if matches!(ty, Ty::Option(_)) {
                        format!("if let ::std::option::Option::Some({v}) = {value} {{")
                    } else {
                        format!("{{ let {v} = &**{value};")
                    };
                    out.push(bind);
                    out.extend(inner);
                    out.push("}".into());
                }
                return out;
            }
            Ty::Named(n) => {
                let kind = self.named_kind(n);
                if has_validate(kind) {
                    out.push(format!("{value}.validate_into(&{path}, errors);"));
                } else if let Some(Kind::Alias(t)) = kind {
                    return self.value(t, value, path, checks, item_checks, depth + 1);
                }
                return out;
            }
            _ => {}
        }
        let message = |text: String| lit(&text);
        for check in checks {
            let (condition, text) = match (check, ty) {
                (Check::MinLength(n), Ty::String) => {
                    (format!("{value}.chars().count() < {n}"), format!("shorter than {n} characters (minLength)"))
                }
                (Check::MaxLength(n), Ty::String) => {
                    (format!("{value}.chars().count() > {n}"), format!("longer than {n} characters (maxLength)"))
                }
                (Check::Pattern(p), Ty::String) => {
                    let name = format!("PATTERN_{}", self.view.patterns.len());
                    self.view.patterns.push((name.clone(), lit(p)));
                    (
                        format!("validation::{name}.as_ref().is_some_and(|re| !re.is_match({value}))"),
                        format!("does not match the pattern `{p}` (pattern)"),
                    )
                }
                (Check::Format(f), Ty::String) => {
                    (format!("!validation::is_{f}({value})"), format!("is not a valid {f} (format)"))
                }
                (Check::Minimum(m, excl), Ty::Int(_) | Ty::Float) => {
                    let x = number(ty, value);
                    let (op, word) = if *excl { ("<=", "exclusiveMinimum") } else { ("<", "minimum") };
                    (format!("{x} {op} {m:?}"), format!("below {m} ({word})"))
                }
                (Check::Maximum(m, excl), Ty::Int(_) | Ty::Float) => {
                    let x = number(ty, value);
                    let (op, word) = if *excl { (">=", "exclusiveMaximum") } else { (">", "maximum") };
                    (format!("{x} {op} {m:?}"), format!("above {m} ({word})"))
                }
                (Check::MultipleOf(m), Ty::Int(_) | Ty::Float) => (
                    format!("!validation::is_multiple_of({}, {m:?})", number(ty, value)),
                    format!("not a multiple of {m} (multipleOf)"),
                ),
                (Check::MinItems(n), Ty::Vec(_)) => {
                    (format!("{value}.len() < {n}"), format!("fewer than {n} items (minItems)"))
                }
                (Check::MaxItems(n), Ty::Vec(_)) => {
                    (format!("{value}.len() > {n}"), format!("more than {n} items (maxItems)"))
                }
                (Check::UniqueItems, Ty::Vec(_)) => {
                    (format!("validation::has_duplicates({value})"), "has duplicate items (uniqueItems)".into())
                }
                _ => continue,
            };
            out.push(format!("if {condition} {{ errors.push(validation::Violation {{ path: ::std::clone::Clone::clone(&{path}), message: ::std::string::String::from({}) }}); }}", message(text)));
        }
        match ty {
            Ty::Vec(t) if !item_checks.is_empty() || self.deep(t, 0) => {
                let (item, p) = (ITEM[depth], AT[depth]);
                let inner = self.value(t, item, p, item_checks, &[], depth + 1);
                if !inner.is_empty() {
                    out.push(format!("for (index{depth}, {item}) in {value}.iter().enumerate() {{ let {p} = ::std::format!(\"{{}}/{{}}\", {path}, index{depth});"));
                    out.extend(inner);
                    out.push("}".into());
                }
            }
            Ty::Map(t) if self.deep(t, 0) => {
                let (item, p) = (ITEM[depth], AT[depth]);
                let inner = self.value(t, item, p, &[], &[], depth + 1);
                if !inner.is_empty() {
                    out.push(format!(
                        "for (key{depth}, {item}) in {value} {{ let {p} = validation::pointer(&{path}, key{depth});"
                    ));
                    out.extend(inner);
                    out.push("}".into());
                }
            }
            _ => {}
        }
        out
    }
}

/// Whether a definition of this kind has a `validate_into` method.
fn has_validate(kind: Option<&Kind>) -> bool {
    match kind {
        Some(Kind::Struct { .. }) => true,
        Some(Kind::Union(u)) => u.style != UnionStyle::Raw,
        _ => false,
    }
}

/// The statements of [`ValidateWriter::body`] in prettyplease's layout at `indent`; `None` when
/// one has a shape not known here (the impl is then printed by prettyplease).
fn exact_validate(lines: &[String], indent: usize, margin: usize) -> Option<String> {
    const PUSH: &str = " { errors.push(validation::Violation { path: ::std::clone::Clone::clone(&";
    const MESSAGE: &str = "), message: ::std::string::String::from(";
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 2 * indent).sum());
    let mut depth = indent;
    // Pieces of one line at `at` (written in turn: these bodies are thousands of lines).
    let line_of = |out: &mut String, at: usize, pieces: &[&str]| {
        indent_to(out, at);
        pieces.iter().for_each(|p| out.push_str(p));
        out.push('\n');
    };
    let line = |out: &mut String, at: usize, text: &str| line_of(out, at, &[text]);
    for l in lines {
        // The structure is read outside string literals (field names are spec text).
        let m = mask_strings(l)?;
        let m = m.as_ref();
        if l == "}" {
            depth = depth.checked_sub(4).filter(|d| *d >= indent)?;
            line(&mut out, depth, "}");
        } else if let Some(rest) = l.strip_prefix("if ").filter(|r| r.ends_with(") }); }") && r.contains(PUSH)) {
            let (condition, rest) = rest.split_once(PUSH)?;
            let (path, message) = rest.strip_suffix(") }); }")?.split_once(MESSAGE)?;
            let masked_message = &m[m.len() - ") }); }".len() - message.len()..m.len() - ") }); }".len()];
            let plain = |t: &str| !t.contains(['{', '}', '"']);
            if !plain(condition) || !plain(path) || path.contains(['(', ')']) || !is_one_literal(masked_message) {
                return None;
            }
            line_of(&mut out, depth, &["if ", condition, " {"]);
            line(&mut out, depth + 4, "errors");
            line(&mut out, depth + 8, ".push(validation::Violation {");
            line_of(&mut out, depth + 12, &["path: ::std::clone::Clone::clone(&", path, "),"]);
            const FROM: &str = "message: ::std::string::String::from(";
            let flat_len = FROM.len() + message.len() + 1;
            if super::layout::fits(margin, depth + 12, depth + 12 + flat_len) {
                line_of(&mut out, depth + 12, &[FROM, message, "),"]);
            } else {
                line(&mut out, depth + 12, FROM);
                line_of(&mut out, depth + 16, &[message, ","]);
                line(&mut out, depth + 12, "),");
            }
            line(&mut out, depth + 8, "});");
            line(&mut out, depth, "}");
        } else if m.ends_with(';') && braces(m) == 0 && count(m, b';') == 1 {
            line(&mut out, depth, l);
        } else if m.ends_with(" {") && braces(m) == 1 {
            line(&mut out, depth, l);
            depth += 4;
        } else if let Some(open) = m.find("{ ").filter(|_| m.ends_with(';') && braces(m) == 1) {
            // `head { let a = …; let b = …;`: a block opened, then its first statements.
            line_of(&mut out, depth, &[&l[..open], "{"]);
            depth += 4;
            let mut start = open + 2;
            for (end, _) in m.match_indices(';') {
                line(&mut out, depth, l[start..=end].trim());
                start = end + 1;
            }
        } else {
            return None;
        }
    }
    (depth == indent).then_some(out.trim_end_matches('\n').to_string())
}

/// Appends `n` spaces.
fn indent_to(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// How many times the byte `b` occurs in `s`.
fn count(s: &str, b: u8) -> usize {
    s.bytes().filter(|&c| c == b).count()
}

/// How many braces (`{` or `}`) `s` holds.
fn braces(s: &str) -> usize {
    count(s, b'{') + count(s, b'}')
}

/// `line` with the contents of its string literals replaced by `x` (same byte offsets); `None`
/// when a literal does not end. A line without literals is itself.
fn mask_strings(line: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !line.contains('"') {
        return Some(std::borrow::Cow::Borrowed(line));
    }
    let mut out = Vec::with_capacity(line.len());
    let mut bytes = line.bytes();
    while let Some(b) = bytes.next() {
        out.push(b);
        if b != b'"' {
            continue;
        }
        loop {
            match bytes.next()? {
                b'"' => {
                    out.push(b'"');
                    break;
                }
                b'\\' => {
                    bytes.next()?;
                    out.extend(b"xx");
                }
                _ => out.push(b'x'),
            }
        }
    }
    String::from_utf8(out).ok().map(std::borrow::Cow::Owned)
}

/// Whether masked text is exactly one string literal.
fn is_one_literal(masked: &str) -> bool {
    masked.len() >= 2
        && masked.starts_with('"')
        && masked.ends_with('"')
        && masked[1..masked.len() - 1].bytes().all(|b| b == b'x')
}

fn number(ty: &Ty, value: &str) -> String {
    match ty {
        Ty::Float => format!("*{value}"),
        _ => format!("(*{value} as f64)"),
    }
}

/// A JSON pointer token (`~` → `~0`, `/` → `~1`).
fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_bodies_of_known_shapes_are_laid_out() {
        let lines: Vec<String> = [
            r#"{ let field = &self.ip; let at = ::std::format!("{}{}", path, "/a;{b}");"#,
            "if let ::std::option::Option::Some(v0) = field {",
            r#"if !validation::is_ipv4(v0) { errors.push(validation::Violation { path: ::std::clone::Clone::clone(&at), message: ::std::string::String::from("is not a valid ipv4 (format)") }); }"#,
            "}",
            "}",
        ]
        .map(String::from)
        .to_vec();
        let expected = r#"        {
            let field = &self.ip;
            let at = ::std::format!("{}{}", path, "/a;{b}");
            if let ::std::option::Option::Some(v0) = field {
                if !validation::is_ipv4(v0) {
                    errors
                        .push(validation::Violation {
                            path: ::std::clone::Clone::clone(&at),
                            message: ::std::string::String::from(
                                "is not a valid ipv4 (format)",
                            ),
                        });
                }
            }
        }"#;
        assert_eq!(exact_validate(&lines, 8, 89).as_deref(), Some(expected));
        assert_eq!(exact_validate(&["match self {".into(), "}".into(), "}".into()], 8, 89), None);
    }
}
