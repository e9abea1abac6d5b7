//! How each `oneOf`/`anyOf` is told apart on the wire:
//! - a `discriminator`, or a required property with one constant value per variant, makes an
//!   internally tagged enum; the tag field is removed from the variant structs (copied first
//!   when a struct is also used elsewhere), so encoding always writes the right tag;
//! - otherwise untagged, only when no value of a variant can decode as an earlier one;
//! - otherwise the value is kept whole (`serde_json::Value` with typed accessors), with a warning.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::convert::is_component;
use super::{Field, Kind, Member, Ty, TypeDef, TypeSpace, UnionStyle};
use crate::error::Result;
use crate::load::{NodeId, Source};

pub(super) fn classify(source: &Source, space: &mut TypeSpace, payload_roots: &[NodeId]) -> Result<()> {
    let unions: Vec<NodeId> =
        space.defs.iter().filter(|(_, d)| matches!(d.kind, Kind::Union(_))).map(|(n, _)| n.clone()).collect();
    for node in &unions {
        let Kind::Union(union) = &space.defs[node].kind else { continue };
        let mut union = union.clone();
        let tagged = match &union.discriminator {
            Some(tag) => declared_tags(source, space, node, &union.members, tag, &union.mapping),
            None => inferred_tags(space, &union.members),
        };
        match tagged {
            Some((tag, values)) => {
                for (m, v) in union.members.iter_mut().zip(values) {
                    m.tag = Some(v);
                }
                union.style = UnionStyle::Tagged(tag);
            }
            None => {
                union.members.sort_by_key(|m| rank(&shape(space, &m.ty, 0)));
                match first_conflict(space, &union.members) {
                    None => union.style = UnionStyle::Untagged,
                    Some((a, b)) => {
                        source.warn(
                            source
                                .error(
                                    node,
                                    format!(
                                        "the variants of this union cannot be told apart on the wire (a value of `{}` also decodes as `{}`); the value is kept whole as serde_json::Value with typed accessors",
                                        b.pointer, a.pointer
                                    ),
                                )
                                .hint("add a `discriminator`, or give each variant a required property the others do not have (or `additionalProperties: false`)"),
                        );
                        union.style = UnionStyle::Raw;
                    }
                }
            }
        }
        space.defs.get_mut(node).expect("union node").kind = Kind::Union(union);
    }
    strip_tags(source, space, &unions, payload_roots);
    refuse_exponential_untagged(source, space, &unions);
    Ok(())
}

/// An untagged union tries its variants in turn, each decoding the nested input before it can
/// fail; when two variants contain the union again, nested input costs 2^depth attempts. Such a
/// union keeps the value whole instead (decoding it is linear), with a warning.
fn refuse_exponential_untagged(source: &Source, space: &mut TypeSpace, unions: &[NodeId]) {
    let untagged = |n: &NodeId| matches!(&space.defs[n].kind, Kind::Union(u) if u.style == UnionStyle::Untagged);
    if !unions.iter().any(untagged) {
        return;
    }
    let edges: BTreeMap<NodeId, Vec<NodeId>> = space
        .defs
        .iter()
        .map(|(n, d)| {
            let mut out = Vec::new();
            let tys: Vec<&Ty> = match &d.kind {
                Kind::Struct { fields, additional, .. } => fields.iter().map(|f| &f.ty).chain(additional).collect(),
                Kind::Union(u) if u.style != UnionStyle::Raw => u.members.iter().map(|m| &m.ty).collect(),
                Kind::Alias(t) => vec![t],
                _ => Vec::new(),
            };
            for ty in tys {
                ty.walk(&mut |t| {
                    if let Ty::Named(target) = t {
                        out.push(target.clone());
                    }
                });
            }
            (n.clone(), out)
        })
        .collect();
    let reaches = |from: &NodeId, goal: &NodeId| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            if &n == goal {
                return true;
            }
            if seen.insert(n.clone()) {
                stack.extend(edges.get(&n).into_iter().flatten().cloned());
            }
        }
        false
    };
    for node in unions {
        let Some(Kind::Union(u)) = space.defs.get(node).map(|d| &d.kind) else { continue };
        if u.style != UnionStyle::Untagged {
            continue;
        }
        let recursive: Vec<&Member> = u
            .members
            .iter()
            .filter(|m| {
                let mut targets = Vec::new();
                m.ty.walk(&mut |t| {
                    if let Ty::Named(n) = t {
                        targets.push(n.clone());
                    }
                });
                targets.iter().any(|t| reaches(t, node))
            })
            .collect();
        if recursive.len() >= 2 {
            source.warn(
                source
                    .error(node, format!("{} variants of this union contain it again: decoding them in turn would take time exponential in the nesting depth; the value is kept whole as serde_json::Value with typed accessors", recursive.len()))
                    .hint("add a `discriminator` (a tagged union decodes in linear time)"),
            );
            if let Some(Kind::Union(u)) = space.defs.get_mut(node).map(|d| &mut d.kind) {
                u.style = UnionStyle::Raw;
            }
        }
    }
}

/// The struct a union member stands for.
fn struct_node<'a>(space: &'a TypeSpace, ty: &'a Ty) -> Option<&'a NodeId> {
    match ty {
        Ty::Named(n) => match &space.defs.get(n)?.kind {
            Kind::Struct { .. } => Some(n),
            _ => None,
        },
        Ty::Option(t) | Ty::Boxed(t) => struct_node(space, t),
        _ => None,
    }
}

fn fields_of<'a>(space: &'a TypeSpace, node: &NodeId) -> &'a [Field] {
    match &space.defs[node].kind {
        Kind::Struct { fields, .. } => fields,
        _ => &[],
    }
}

/// The single string value a field may have (`const`, or a one-value `enum`).
fn single_value(space: &TypeSpace, field: &Field) -> Option<String> {
    let inner = match &field.ty {
        Ty::Option(t) => t,
        t => t,
    };
    match inner {
        Ty::Named(n) => match &space.defs.get(n)?.kind {
            Kind::Enum(values) if values.len() == 1 => values[0].value.as_str().map(str::to_string),
            _ => None,
        },
        _ => None,
    }
}

/// Tag values from `discriminator` (mapping, then the variant's constant, then the component key).
fn declared_tags(
    source: &Source,
    space: &TypeSpace,
    node: &NodeId,
    members: &[Member],
    tag: &str,
    mapping: &[(String, NodeId)],
) -> Option<(String, Vec<String>)> {
    let mut values = Vec::new();
    for m in members {
        let Some(s) = struct_node(space, &m.ty) else {
            source.warn(
                source
                    .error(&m.node, format!("discriminator `{tag}` ignored: this variant is not an object schema"))
                    .hint("every variant of a discriminated union must be an object with the tag property"),
            );
            return None;
        };
        let from_mapping = mapping.iter().find(|(_, n)| n == s).map(|(v, _)| v.clone());
        let from_const = fields_of(space, s).iter().find(|f| f.json_name == tag).and_then(|f| single_value(space, f));
        let from_key = is_component(s).then(|| s.last_token()).flatten();
        match from_mapping.or(from_const).or(from_key) {
            Some(v) => values.push(v),
            None => {
                source.warn(
                    source
                        .error(&m.node, format!("discriminator `{tag}` ignored: no tag value for this variant"))
                        .hint("add a `mapping` to the discriminator, or `const` to the variant's tag property"),
                );
                return None;
            }
        }
    }
    let distinct: BTreeSet<&String> = values.iter().collect();
    if distinct.len() != values.len() {
        source.warn(
            source
                .error(
                    &node.child("discriminator"),
                    format!("discriminator `{tag}` ignored: two variants have the same tag value"),
                )
                .hint("give each variant its own tag value"),
        );
        return None;
    }
    Some((tag.to_string(), values))
}

/// A required property with one constant string per variant, all different.
fn inferred_tags(space: &TypeSpace, members: &[Member]) -> Option<(String, Vec<String>)> {
    let structs: Vec<&NodeId> = members.iter().map(|m| struct_node(space, &m.ty)).collect::<Option<_>>()?;
    let candidates: Vec<&Field> =
        fields_of(space, structs[0]).iter().filter(|f| f.required && single_value(space, f).is_some()).collect();
    'candidate: for c in candidates {
        let mut values = Vec::new();
        for s in &structs {
            let Some(f) = fields_of(space, s).iter().find(|f| f.json_name == c.json_name && f.required) else {
                continue 'candidate;
            };
            match single_value(space, f) {
                Some(v) if !values.contains(&v) => values.push(v),
                _ => continue 'candidate,
            }
        }
        return Some((c.json_name.clone(), values));
    }
    None
}

/// Removes the tag field from the variant structs: in place when the union is the struct's only
/// use, otherwise from a copy defined at the `oneOf` item (so the struct keeps its tag elsewhere).
/// A struct reached directly — a property, a message payload, or its own `examples` (which
/// become tests of the struct itself) — keeps its tag field.
fn strip_tags(source: &Source, space: &mut TypeSpace, unions: &[NodeId], payload_roots: &[NodeId]) {
    let tagged = |n: &NodeId| matches!(&space.defs[n].kind, Kind::Union(u) if matches!(u.style, UnionStyle::Tagged(_)));
    if !unions.iter().any(tagged) {
        return;
    }
    let mut uses: BTreeMap<NodeId, usize> = BTreeMap::new();
    let roots: Vec<&Ty> = payload_roots.iter().filter_map(|p| space.roots.get(p)).collect();
    for ty in space.all_tys().chain(roots) {
        ty.walk(&mut |t| {
            if let Ty::Named(n) = t {
                *uses.entry(n.clone()).or_default() += 1;
            }
        });
    }
    for node in space.with_examples.iter().filter(|n| space.defs.contains_key(*n)) {
        *uses.entry(node.clone()).or_default() += 1;
    }
    for node in unions {
        let Kind::Union(union) = &space.defs[node].kind else { continue };
        let UnionStyle::Tagged(tag) = &union.style else { continue };
        let (tag, mut members) = (tag.clone(), union.members.clone());
        let union_hint = space.hints.get(node).map(|h| h.1.clone()).unwrap_or_default();
        for m in &mut members {
            let Some(s) = struct_node(space, &m.ty).cloned() else { continue };
            let has_tag = fields_of(space, &s).iter().any(|f| f.json_name == tag);
            if !has_tag {
                continue;
            }
            let target = if uses.get(&s).copied().unwrap_or(0) <= 1 {
                s.clone()
            } else {
                let mut copy: TypeDef = space.defs[&s].clone();
                copy.node = m.node.clone();
                space.defs.insert(m.node.clone(), copy);
                if !super::schema_examples(source, &m.node).is_empty() {
                    space.with_examples.insert(m.node.clone());
                }
                let hint = format!("{union_hint} {}", m.tag.as_deref().unwrap_or("variant"));
                space.hints.insert(m.node.clone(), (2, hint));
                m.ty = Ty::Named(m.node.clone());
                m.node.clone()
            };
            if let Kind::Struct { fields, .. } = &mut space.defs.get_mut(&target).expect("struct").kind {
                fields.retain(|f| f.json_name != tag);
            }
        }
        if let Kind::Union(u) = &mut space.defs.get_mut(node).expect("union").kind {
            u.members = members;
        }
    }
}

/// What a decoder accepts, coarsely.
#[derive(Debug, Clone)]
enum Shape {
    Enum,
    Bool,
    Int,
    Num,
    /// A string with a format (uuid, date-time, …): accepts only some strings.
    FormattedStr,
    Str,
    Tuple(usize),
    Array(Box<Shape>),
    Object {
        props: BTreeSet<String>,
        required: BTreeMap<String, Option<Vec<Value>>>,
        closed: bool,
    },
    Map,
    /// Anything (serde_json::Value, nested unions, unknown).
    Any,
}

fn rank(shape: &Shape) -> u8 {
    match shape {
        Shape::Enum => 0,
        Shape::Bool => 1,
        Shape::Int => 2,
        Shape::Num => 3,
        Shape::FormattedStr => 4,
        Shape::Str => 5,
        Shape::Tuple(_) => 6,
        Shape::Array(_) => 7,
        Shape::Object { .. } => 8,
        Shape::Map => 9,
        Shape::Any => 10,
    }
}

fn shape(space: &TypeSpace, ty: &Ty, depth: usize) -> Shape {
    if depth > 16 {
        return Shape::Any;
    }
    match ty {
        Ty::Named(n) => match space.defs.get(n).map(|d| &d.kind) {
            Some(Kind::Struct { fields, additional, deny_unknown }) => Shape::Object {
                props: fields.iter().map(|f| f.json_name.clone()).collect(),
                required: fields
                    .iter()
                    .filter(|f| f.required)
                    .map(|f| (f.json_name.clone(), enum_values(space, &f.ty)))
                    .collect(),
                closed: *deny_unknown && additional.is_none(),
            },
            Some(Kind::Enum(_)) => Shape::Enum,
            Some(Kind::Alias(t)) => shape(space, t, depth + 1),
            _ => Shape::Any,
        },
        Ty::String => Shape::Str,
        Ty::Uuid | Ty::DateTime | Ty::Date | Ty::Time | Ty::Duration => Shape::FormattedStr,
        Ty::Bool => Shape::Bool,
        Ty::Int(_) => Shape::Int,
        Ty::Float => Shape::Num,
        Ty::Vec(t) => Shape::Array(Box::new(shape(space, t, depth + 1))),
        Ty::Tuple(ts) => Shape::Tuple(ts.len()),
        Ty::Map(_) => Shape::Map,
        Ty::Option(t) | Ty::Boxed(t) => shape(space, t, depth + 1),
        Ty::Any => Shape::Any,
    }
}

fn enum_values(space: &TypeSpace, ty: &Ty) -> Option<Vec<Value>> {
    match ty {
        Ty::Named(n) => match &space.defs.get(n)?.kind {
            Kind::Enum(values) => Some(values.iter().map(|v| v.value.clone()).collect()),
            _ => None,
        },
        _ => None,
    }
}

/// The first pair (earlier, later) where a value of the later variant decodes as the earlier one
/// and comes back different (or as the wrong variant).
fn first_conflict<'a>(space: &TypeSpace, members: &'a [Member]) -> Option<(&'a NodeId, &'a NodeId)> {
    let shapes: Vec<Shape> = members.iter().map(|m| shape(space, &m.ty, 0)).collect();
    for j in 1..members.len() {
        for i in 0..j {
            if conflicts(&shapes[i], &shapes[j]) {
                return Some((&members[i].node, &members[j].node));
            }
        }
    }
    None
}

/// Whether a decoder for `a` accepts values of `b` that are not also `a`'s by their JSON.
fn conflicts(a: &Shape, b: &Shape) -> bool {
    use Shape::*;
    match (a, b) {
        (Any, _) => true,
        (_, Any) => !matches!(a, Bool | Int | Num | Str | FormattedStr | Enum),
        (Array(x), Array(y)) => conflicts(x, y),
        (Tuple(n), Tuple(m)) => n == m,
        (Object { required, .. }, Map) => required.is_empty(),
        (Map, Object { .. }) => true,
        (Object { props: pa, required: ra, closed: ca }, Object { props: pb, required: rb, closed: _ }) => {
            let a_needs_missing = ra.keys().any(|r| !pb.contains(r));
            let a_rejects_extra = *ca && rb.keys().any(|r| !pa.contains(r));
            let consts_differ = ra
                .iter()
                .any(|(k, va)| matches!((va, rb.get(k)), (Some(x), Some(Some(y))) if x.iter().all(|v| !y.contains(v))));
            !(a_needs_missing || a_rejects_extra || consts_differ)
        }
        // Same JSON kind, same text back: no loss (e.g. two integer variants, an enum before a string).
        _ => false,
    }
}
