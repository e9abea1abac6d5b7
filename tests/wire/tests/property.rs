//! Property test: random instances of each generated type of `specs/wire-types.yaml`, made from the
//! JSON Schema itself (seeded), decode and re-encode to the same JSON value, and decoding the
//! re-encoding gives the same Rust value.

use std::fmt::Debug;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct Gen<'a> {
    doc: &'a Value,
    rng: Rng,
}

impl Gen<'_> {
    /// The schema behind `$ref`s (a message stands for its payload).
    fn resolve(&self, schema: &Value) -> Value {
        let mut schema = schema.clone();
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let target = self.doc.pointer(r.trim_start_matches('#')).expect("local $ref");
            schema = target.get("payload").filter(|_| target.get("type").is_none()).unwrap_or(target).clone();
        }
        schema
    }

    /// Properties and required names of an object schema, through `allOf`.
    fn object_parts(&self, schema: &Value, props: &mut Map<String, Value>, required: &mut Vec<String>, depth: usize) {
        let schema = &self.resolve(schema);
        if depth > 4 {
            return;
        }
        if let Some(Value::Object(p)) = schema.get("properties") {
            for (k, v) in p {
                props.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if let Some(Value::Array(r)) = schema.get("required") {
            required.extend(r.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            for p in parts {
                self.object_parts(p, props, required, depth + 1);
            }
        }
    }

    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        let schema = &self.resolve(schema);
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            return self.rng.pick(values).clone();
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if types.contains(&"null") && self.rng.chance(20) {
            return Value::Null;
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(members)) = schema.get(key) {
                let member = self.rng.pick(members).clone();
                let mut value = self.value(&member, depth + 1);
                // A discriminated union: the chosen member's tag.
                if let (Some(d), Value::Object(obj)) = (schema.get("discriminator"), &mut value) {
                    let tag = d.get("propertyName").and_then(Value::as_str).unwrap_or_else(|| d.as_str().unwrap_or(""));
                    let reference = member.get("$ref").and_then(Value::as_str).unwrap_or("");
                    let mapped = d
                        .get("mapping")
                        .and_then(Value::as_object)
                        .and_then(|m| m.iter().find(|(_, r)| r.as_str() == Some(reference)).map(|(k, _)| k.clone()));
                    if let Some(v) = mapped {
                        obj.insert(tag.to_string(), Value::String(v));
                    }
                }
                return value;
            }
        }
        let non_null: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
        if non_null.is_empty() && !types.is_empty() {
            return Value::Null;
        }
        let ty = if non_null.is_empty() {
            if schema.get("properties").is_some() || schema.get("allOf").is_some() { "object" } else { "any" }
        } else {
            *self.rng.pick(&non_null)
        };
        match ty {
            "string" => self.string(schema.get("format").and_then(Value::as_str).unwrap_or("")),
            "integer" => self.integer(schema),
            "number" => json!(self.number()),
            "boolean" => json!(self.rng.chance(50)),
            "array" => {
                if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
                    return Value::Array(prefix.iter().map(|s| self.value(s, depth + 1)).collect());
                }
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                let n = if depth > 3 { 0 } else { self.rng.below(4) };
                Value::Array((0..n).map(|_| self.value(&items, depth + 1)).collect())
            }
            "object" => self.object(schema, depth),
            _ => json!({"any": [1, "two", null]}),
        }
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let (mut props, mut required) = (Map::new(), Vec::new());
        self.object_parts(schema, &mut props, &mut required, 0);
        let mut out = Map::new();
        for (name, s) in &props {
            if required.contains(name) || (depth < 4 && self.rng.chance(50)) {
                out.insert(name.clone(), self.value(s, depth + 1));
            }
        }
        for name in &required {
            out.entry(name.clone()).or_insert_with(|| json!({"free": true}));
        }
        let extra = schema
            .get("additionalProperties")
            .or_else(|| schema.get("patternProperties").and_then(Value::as_object).and_then(|p| p.values().next()));
        if let Some(extra) = extra.filter(|e| **e != Value::Bool(false)) {
            for _ in 0..self.rng.below(3) {
                let key: String =
                    (0..1 + self.rng.below(6)).map(|_| (b'a' + self.rng.below(26) as u8) as char).collect();
                if !props.contains_key(&key) {
                    let v =
                        if *extra == Value::Bool(true) { json!([1, {"x": "y"}]) } else { self.value(extra, depth + 1) };
                    out.insert(key, v);
                }
            }
        }
        Value::Object(out)
    }

    fn string(&mut self, format: &str) -> Value {
        let r = &mut self.rng;
        let two = |r: &mut Rng, n: u64| format!("{:02}", r.below(n));
        Value::String(match format {
            "date-time" => {
                let fraction = match r.below(4) {
                    0 => String::new(),
                    1 => format!(".{:03}", r.below(1000)),
                    2 => format!(".{:06}", r.below(1_000_000)),
                    _ => format!(".{:09}", r.below(1_000_000_000)),
                };
                let zone = r.pick(&["Z", "+05:30", "-08:00", "", "+00:00"]).to_string();
                format!(
                    "{}-{:02}-{:02}T{}:{}:{}{fraction}{zone}",
                    1970 + r.below(100),
                    1 + r.below(12),
                    1 + r.below(28),
                    two(r, 24),
                    two(r, 60),
                    two(r, 60)
                )
            }
            "date" => format!("{}-{:02}-{:02}", 1970 + r.below(100), 1 + r.below(12), 1 + r.below(28)),
            "time" => {
                format!("{}:{}:{}{}", two(r, 24), two(r, 60), two(r, 60), r.pick(&["", ".5", ".123456", "Z", "+01:00"]))
            }
            "duration" => format!("P{}DT{}H{}M{}S", r.below(5), r.below(24), r.below(60), r.below(60)),
            "uuid" => format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                r.below(1 << 32),
                r.below(1 << 16),
                r.below(1 << 12),
                r.below(1 << 12),
                r.below(1 << 48)
            ),
            _ => r.pick(&["", "x", "ünïcödé", "quote \" backslash \\", "🚚", "a_b", "self"]).to_string(),
        })
    }

    fn integer(&mut self, schema: &Value) -> Value {
        let (lo, hi): (i128, i128) = match schema.get("format").and_then(Value::as_str) {
            Some("int8") => (i8::MIN.into(), i8::MAX.into()),
            Some("int16") => (i16::MIN.into(), i16::MAX.into()),
            Some("int32") => (i32::MIN.into(), i32::MAX.into()),
            Some("uint8") => (0, u8::MAX.into()),
            Some("uint16") => (0, u16::MAX.into()),
            Some("uint32") => (0, u32::MAX.into()),
            _ if schema.get("minimum").and_then(Value::as_f64) == Some(0.0) => (0, u64::MAX.into()),
            _ => (i64::MIN.into(), i64::MAX.into()),
        };
        let v = match self.rng.below(4) {
            0 => lo,
            1 => hi,
            _ => lo + (i128::from(self.rng.next()) % (hi - lo + 1)),
        };
        if v < 0 { json!(v as i64) } else { json!(v as u64) }
    }

    fn number(&mut self) -> f64 {
        match self.rng.below(5) {
            0 => *self.rng.pick(&[0.1, 123456789.12345679, 1e308, 5e-324, -0.0001, 1.0 / 3.0]),
            _ => f64::from_bits(self.rng.next() & !(0x7ff << 52) | ((1023 + self.rng.below(40) - 20) << 52)),
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    let mut n = 0;
    wire_tests::same(a, b, &mut n)
}

fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(generator: &mut Gen, schema: &str, runs: usize) -> usize {
    let root = json!({"$ref": format!("#/components/schemas/{schema}")});
    for run in 0..runs {
        let sent = generator.value(&root, 0);
        let decoded: T =
            serde_json::from_value(sent.clone()).unwrap_or_else(|e| panic!("{schema} run {run}: {e}\n{sent}"));
        let returned = serde_json::to_value(&decoded).unwrap();
        assert!(same(&sent, &returned), "{schema} run {run}: changed\n  sent:     {sent}\n  returned: {returned}");
        let again: T = serde_json::from_value(returned.clone()).unwrap();
        assert_eq!(again, decoded, "{schema} run {run}");
    }
    runs
}

#[test]
fn random_instances_of_each_type_round_trip() {
    use wire_types::types::*;
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/wire-types.yaml");
    let source = asyncapi_nats::load::Source::load(&spec).unwrap();
    let doc = source.get(&source.root_id()).unwrap().clone();
    let mut g = Gen { doc: &doc, rng: Rng(0x9e37_79b9_7f4a_7c15) };
    let mut total = 0;
    total += check::<Reading>(&mut g, "Reading", 2000);
    total += check::<Adoption>(&mut g, "Adoption", 2000);
    total += check::<Shape>(&mut g, "Shape", 2000);
    total += check::<Parcel>(&mut g, "Parcel", 2000);
    total += check::<Loose>(&mut g, "Loose", 500);
    total += check::<Decimal>(&mut g, "Decimal", 500);
    total += check::<Words>(&mut g, "Words", 200);
    total += check::<IntegerFormats>(&mut g, "IntegerFormats", 1000);
    println!("{total} random instances round-tripped");
}
