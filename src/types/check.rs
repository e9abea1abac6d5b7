//! A light, generation-time check of a document's example against the type it must decode as.
//!
//! Examples become round-trip tests in the generated crate; an example that contradicts its own
//! schema (a vendor's mistake) would make that crate's `cargo test` fail out of the box. This check
//! finds such examples so they are reported as located warnings instead of failing tests. It walks
//! the type IR (what the generated decoder accepts), not full JSON Schema: types, `enum`/`const`,
//! required members, discriminator values, undeclared members a struct would drop, and the same
//! for nested properties, items and map values.

use serde_json::Value;

use super::{Kind, Ty, TypeSpace, UnionStyle};

/// Deeper than this, the check accepts (recursive types with deep examples are rare and the
/// generated test still runs).
const MAX_DEPTH: usize = 64;

/// Why `value` would not decode as `ty` and come back the same, with the JSON pointer inside
/// the example; `None` when it would (as far as this check can tell).
pub fn mismatch(space: &TypeSpace, ty: &Ty, value: &Value) -> Option<String> {
    check(space, ty, value, "", 0).err()
}

fn check(space: &TypeSpace, ty: &Ty, value: &Value, at: &str, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let here = || if at.is_empty() { "the example".to_string() } else { format!("`{at}`") };
    let kind = |expected: &str| Err(format!("{} is {}, expected {expected}", here(), describe(value)));
    match ty {
        Ty::Any => Ok(()),
        Ty::Option(t) => {
            if value.is_null() {
                Ok(())
            } else {
                check(space, t, value, at, depth + 1)
            }
        }
        Ty::Boxed(t) => check(space, t, value, at, depth + 1),
        Ty::String => {
            if value.is_string() {
                Ok(())
            } else {
                kind("a string")
            }
        }
        Ty::DateTime | Ty::Date | Ty::Time | Ty::Duration => {
            if value.is_string() {
                Ok(())
            } else {
                kind("a string (date/time)")
            }
        }
        Ty::Uuid => match value.as_str() {
            Some(s) if is_uuid(s) => Ok(()),
            Some(_) => Err(format!("{} is not a UUID: {value}", here())),
            None => kind("a UUID string"),
        },
        Ty::Bool => {
            if value.is_boolean() {
                Ok(())
            } else {
                kind("a boolean")
            }
        }
        Ty::Float => {
            if value.is_number() {
                Ok(())
            } else {
                kind("a number")
            }
        }
        Ty::Int(t) => {
            if int_fits(t, value) {
                Ok(())
            } else {
                kind(&format!("an integer that fits `{t}`"))
            }
        }
        Ty::Vec(t) => match value {
            Value::Array(items) => {
                items.iter().enumerate().try_for_each(|(i, v)| check(space, t, v, &format!("{at}/{i}"), depth + 1))
            }
            _ => kind("an array"),
        },
        Ty::Tuple(ts) => match value {
            Value::Array(items) if items.len() == ts.len() => ts
                .iter()
                .zip(items)
                .enumerate()
                .try_for_each(|(i, (t, v))| check(space, t, v, &format!("{at}/{i}"), depth + 1)),
            _ => kind(&format!("an array of {} items", ts.len())),
        },
        Ty::Map(t) => match value {
            Value::Object(members) => {
                members.iter().try_for_each(|(k, v)| check(space, t, v, &format!("{at}/{}", escape(k)), depth + 1))
            }
            _ => kind("an object"),
        },
        Ty::Named(n) => {
            let Some(def) = space.defs.get(n) else { return Ok(()) };
            match &def.kind {
                Kind::Alias(t) => check(space, t, value, at, depth + 1),
                Kind::Enum(values) => {
                    if values.iter().any(|v| same_scalar(&v.value, value)) {
                        Ok(())
                    } else {
                        let allowed: Vec<String> = values.iter().map(|v| v.value.to_string()).collect();
                        Err(format!(
                            "{} is {}, not one of the schema's values ({})",
                            here(),
                            describe(value),
                            allowed.join(", ")
                        ))
                    }
                }
                Kind::Struct { .. } => check_object(space, n, value, at, None, depth),
                Kind::Union(u) => match &u.style {
                    UnionStyle::Raw | UnionStyle::Pending => Ok(()),
                    UnionStyle::Tagged(tag) => {
                        let Value::Object(members) = value else { return kind("an object") };
                        let Some(found) = members.get(tag) else {
                            return Err(format!("{} lacks the discriminator `{tag}`", here()));
                        };
                        let Some(member) = u.members.iter().find(|m| m.tag.as_deref() == found.as_str()) else {
                            let allowed: Vec<&str> = u.members.iter().filter_map(|m| m.tag.as_deref()).collect();
                            return Err(format!(
                                "{}: discriminator `{tag}` is {found}, not one of the variants ({})",
                                here(),
                                allowed.join(", ")
                            ));
                        };
                        match strip_wrappers(&member.ty) {
                            Ty::Named(s) if matches!(space.defs.get(s).map(|d| &d.kind), Some(Kind::Struct { .. })) => {
                                check_object(space, s, value, at, Some(tag), depth + 1)
                            }
                            t => check(space, t, value, at, depth + 1),
                        }
                    }
                    UnionStyle::Untagged => {
                        let mut reasons = Vec::new();
                        for m in &u.members {
                            match check(space, &m.ty, value, at, depth + 1) {
                                Ok(()) => return Ok(()),
                                Err(e) => reasons.push(e),
                            }
                        }
                        Err(format!("{} matches no variant of `{}` ({})", here(), def.name, reasons.join("; ")))
                    }
                },
            }
        }
    }
}

/// A struct: required members present, declared members of the right type, undeclared members
/// kept (`additionalProperties`) or else reported (the generated type would drop or refuse them).
fn check_object(
    space: &TypeSpace,
    node: &crate::load::NodeId,
    value: &Value,
    at: &str,
    tag: Option<&str>,
    depth: usize,
) -> Result<(), String> {
    let here = if at.is_empty() { "the example".to_string() } else { format!("`{at}`") };
    let Some(Kind::Struct { fields, additional, deny_unknown }) = space.defs.get(node).map(|d| &d.kind) else {
        return Ok(());
    };
    let Value::Object(members) = value else {
        return Err(format!("{here} is {}, expected an object", describe(value)));
    };
    for f in fields {
        match members.get(&f.json_name) {
            Some(v) => check(space, &f.ty, v, &format!("{at}/{}", escape(&f.json_name)), depth + 1)?,
            None if f.required && f.default.is_none() && !matches!(f.ty, Ty::Option(_)) => {
                return Err(format!("{here} lacks the required member `{}`", f.json_name));
            }
            None => {}
        }
    }
    for (k, v) in members {
        if Some(k.as_str()) == tag || fields.iter().any(|f| &f.json_name == k) {
            continue;
        }
        match additional {
            Some(t) => check(space, t, v, &format!("{at}/{}", escape(k)), depth + 1)?,
            None if *deny_unknown => {
                return Err(format!("{here} has the member `{k}`, which the schema does not allow"));
            }
            None => {
                return Err(format!(
                    "{here} has the member `{k}`, which the schema does not declare (the generated type ignores it, so it would not survive a round trip)"
                ));
            }
        }
    }
    Ok(())
}

fn strip_wrappers(ty: &Ty) -> &Ty {
    match ty {
        Ty::Option(t) | Ty::Boxed(t) => strip_wrappers(t),
        t => t,
    }
}

fn int_fits(t: &str, value: &Value) -> bool {
    let Value::Number(n) = value else { return false };
    match t {
        "u64" => n.as_u64().is_some(),
        "u32" => n.as_u64().is_some_and(|v| u32::try_from(v).is_ok()),
        "u16" => n.as_u64().is_some_and(|v| u16::try_from(v).is_ok()),
        "u8" => n.as_u64().is_some_and(|v| u8::try_from(v).is_ok()),
        "i32" => n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
        "i16" => n.as_i64().is_some_and(|v| i16::try_from(v).is_ok()),
        "i8" => n.as_i64().is_some_and(|v| i8::try_from(v).is_ok()),
        _ => n.as_i64().is_some(),
    }
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn is_uuid(s: &str) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let text = value.to_string();
    if text.len() > 60 || matches!(value, Value::Array(_) | Value::Object(_)) {
        kind.to_string()
    } else {
        format!("{kind} ({text})")
    }
}

/// JSON pointer escaping of one token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
