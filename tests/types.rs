//! JSON Schema → Rust types: hostile shapes terminate with a located error or safe code, and each
//! mapping rule produces the type the README table promises. (The golden `wire-types` crate
//! round-trips the document's examples; these tests look at what is generated.)

use std::fmt::Write as _;

fn generate(files: &[(&str, &str)], overlay: Option<&str>) -> Result<asyncapi_nats::Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let mut config = asyncapi_nats::Config::new();
    if let Some(o) = overlay {
        std::fs::write(dir.path().join("overlay.yaml"), o).unwrap();
        config.overlay(dir.path().join("overlay.yaml"));
    }
    config.generate_crate(dir.path().join(files[0].0)).map_err(|e| e.to_string())
}

/// A document with `schemas` (YAML, indented under `components.schemas`) and a message using `payload`.
fn spec(payload: &str, schemas: &str) -> String {
    format!(
        "asyncapi: 3.0.0\ninfo: {{title: T, version: 1.0.0}}\nchannels:\n  c:\n    address: a.{{id}}\n    messages:\n      m: {{$ref: '#/components/messages/M'}}\noperations:\n  send:\n    action: send\n    channel: {{$ref: '#/channels/c'}}\ncomponents:\n  messages:\n    M:\n      payload: {payload}\n  schemas:\n{schemas}"
    )
}

fn types_rs(generated: &asyncapi_nats::Generated) -> String {
    generated.files.iter().find(|f| f.path.ends_with("types.rs")).expect("types.rs").contents.clone()
}

fn ok(payload: &str, schemas: &str) -> (String, Vec<String>) {
    let generated = generate(&[("spec.yaml", &spec(payload, schemas))], None).unwrap_or_else(|e| panic!("{e}"));
    (types_rs(&generated), generated.warnings.iter().map(|w| w.to_string()).collect())
}

fn err(payload: &str, schemas: &str) -> String {
    match generate(&[("spec.yaml", &spec(payload, schemas))], None) {
        Ok(_) => panic!("expected an error for\n{schemas}"),
        Err(e) => e,
    }
}

const A: &str = "{$ref: '#/components/schemas/A'}";

#[test]
fn all_of_cycles_terminate() {
    // A → A: the self reference adds nothing (warning), A is an empty object.
    let (types, warnings) = ok(A, "    A:\n      allOf: [{$ref: '#/components/schemas/A'}]\n");
    assert!(types.contains("pub struct A {}"), "{types}");
    assert!(
        warnings.iter().any(|w| w.contains("refers back to the schema itself") && w.contains("spec.yaml:")),
        "{warnings:?}"
    );
    // A → B → A, each with a property of its own: both merge both.
    let (types, _) = ok(
        A,
        "    A:\n      allOf: [{$ref: '#/components/schemas/B'}, {properties: {a: {type: string}}}]\n    B:\n      allOf: [{$ref: '#/components/schemas/A'}, {properties: {b: {type: string}}}]\n",
    );
    assert!(types.contains("pub struct A {") && types.contains("pub struct B {"), "{types}");
    // Introduced by an overlay.
    let generated = generate(
        &[("spec.yaml", &spec(A, "    A:\n      type: object\n      properties: {x: {type: string}}\n"))],
        Some("components:\n  schemas:\n    A:\n      allOf: [{$ref: '#/components/schemas/A'}]\n"),
    )
    .unwrap();
    assert!(types_rs(&generated).contains("pub struct A {"));
}

#[test]
fn a_chain_of_3000_references_does_not_overflow_the_stack() {
    // Each schema has a property referencing the next: conversion follows them through a work
    // list, not recursion (this test runs on a 2 MiB test thread).
    let mut schemas = String::new();
    for i in 0..3000 {
        writeln!(
            schemas,
            "    S{i}:\n      type: object\n      properties:\n        next: {{$ref: '#/components/schemas/S{}'}}",
            i + 1
        )
        .unwrap();
    }
    schemas.push_str("    S3000: {type: string}\n");
    let (types, _) = ok("{$ref: '#/components/schemas/S0'}", &schemas);
    assert!(types.contains("pub struct S2999 {") && types.contains("pub type S3000 = ::std::string::String;"));
    // Inline nesting is bounded with a located error instead.
    let mut deep = String::from("    A:\n      ");
    for _ in 0..100 {
        deep.push_str("{type: array, items: ");
    }
    deep.push_str("{type: string}");
    deep.push_str(&"}".repeat(100));
    deep.push('\n');
    let e = err(A, &deep);
    assert!(e.contains("nested deeper than 64 levels") && e.contains("spec.yaml:"), "{e}");
}

#[test]
fn unions_that_contain_themselves_are_refused() {
    // Its decoder would recurse forever on any payload without reading input.
    let e = err(A, "    A:\n      oneOf: [{$ref: '#/components/schemas/A'}, {type: string}]\n");
    assert!(e.contains("variant of itself") && e.contains("#/components/schemas/A"), "{e}");
    let e = err(
        A,
        "    A:\n      oneOf: [{$ref: '#/components/schemas/B'}, {type: string}]\n    B:\n      anyOf: [{$ref: '#/components/schemas/A'}, {type: integer}]\n",
    );
    assert!(e.contains("variant of itself"), "{e}");
    // Recursion through an object property or an array reads input at each level: fine.
    let (types, _) = ok(
        A,
        "    A:\n      oneOf:\n        - {type: string}\n        - {type: object, required: [children], properties: {children: {type: array, items: {$ref: '#/components/schemas/A'}}}}\n",
    );
    assert!(types.contains("pub enum A {"), "{types}");
}

#[test]
fn twenty_thousand_enum_values_with_one_name() {
    // They all sanitise to `Unnamed`; name de-duplication is linear (it took 63 s).
    let values: Vec<String> = (0..20_000)
        .map(|i: u32| {
            i.to_string()
                .chars()
                .map(|c| ['!', '#', '%', '&', '(', ')', '*', '+', ',', ';'][c as usize - '0' as usize])
                .collect()
        })
        .collect();
    let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    let (types, _) = ok(A, &format!("    A:\n      type: string\n      enum: [{}]\n", list.join(", ")));
    assert!(types.contains("    Unnamed,") && types.contains("    Unnamed20000,"));
}

#[test]
fn discriminated_unions_are_internally_tagged_without_the_tag_in_the_variants() {
    let schemas = "    A:\n      discriminator: kind\n      oneOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]\n    Cat:\n      type: object\n      required: [kind]\n      properties: {kind: {type: string}, lives: {type: integer}}\n    Dog:\n      type: object\n      required: [kind]\n      properties: {kind: {type: string}, barks: {type: boolean}}\n";
    let (types, _) = ok(A, schemas);
    assert!(types.contains("#[serde(tag = \"kind\")]"), "{types}");
    // Tag values are the component keys (AsyncAPI's discriminator).
    assert!(types.contains("#[serde(rename = \"Cat\")]\n    Cat(Cat),"), "{types}");
    assert!(!types.contains("pub kind"), "{types}");
    // A variant struct that is also used on its own keeps its tag there; the union gets a copy.
    let schemas = schemas.replace("    A:\n", "    Both:\n      type: object\n      properties: {cat: {$ref: '#/components/schemas/Cat'}, any: {$ref: '#/components/schemas/A'}}\n    A:\n");
    let (types, _) = ok("{$ref: '#/components/schemas/Both'}", &schemas);
    assert!(types.contains("pub struct Cat {\n    pub kind: ::std::string::String,"), "{types}");
    assert!(types.contains("    Cat(ACat),"), "{types}");
}

#[test]
fn indistinguishable_unions_keep_the_value_whole_with_a_warning() {
    let (types, warnings) = ok(
        A,
        "    A:\n      anyOf:\n        - {type: object, properties: {a: {type: string}}}\n        - {type: object, properties: {b: {type: string}}}\n",
    );
    assert!(types.contains("pub struct A(pub ::serde_json::Value);"), "{types}");
    assert!(
        warnings.iter().any(|w| w.contains("cannot be told apart") && w.contains("(at #/components/schemas/A)")),
        "{warnings:?}"
    );
    // Required properties that differ make them distinguishable.
    let (types, warnings) = ok(
        A,
        "    A:\n      anyOf:\n        - {type: object, required: [a], properties: {a: {type: string}}}\n        - {type: object, required: [b], properties: {b: {type: string}}}\n",
    );
    assert!(types.contains("#[serde(untagged)]") && warnings.is_empty(), "{types}\n{warnings:?}");
}

#[test]
fn null_is_one_option() {
    let (types, _) = ok(
        A,
        "    A:\n      type: object\n      required: [r]\n      properties:\n        r: {oneOf: [{$ref: '#/components/schemas/N'}, {type: 'null'}]}\n        o: {oneOf: [{$ref: '#/components/schemas/N'}, {type: 'null'}]}\n        e: {enum: [a, b, null]}\n        t: {type: [object, 'null'], properties: {x: {type: string}}}\n        n: {type: string, nullable: true}\n    N:\n      type: [string, 'null']\n",
    );
    assert!(!types.contains("Option<::std::option::Option"), "{types}");
    // Required and nullable: no `skip_serializing_if`, `null` is written.
    assert!(types.contains("    pub r: ::std::option::Option<N>,"), "{types}");
    assert!(types.contains("pub e: ::std::option::Option<AE>"), "{types}");
    assert!(types.contains("pub t: ::std::option::Option<AT>"), "{types}");
}

#[test]
fn all_of_with_non_object_members() {
    // An annotation next to a string schema: the string type.
    let (types, _) = ok(
        A,
        "    Id: {type: string}\n    A:\n      allOf: [{$ref: '#/components/schemas/Id'}, {description: The id.}]\n",
    );
    assert!(types.contains("pub type A = Id;"), "{types}");
    // A string merged with an object cannot be one type: the error points at the allOf.
    let e = err(
        A,
        "    Id: {type: string}\n    A:\n      allOf: [{$ref: '#/components/schemas/Id'}, {type: object, properties: {x: {type: string}}}]\n",
    );
    assert!(e.contains("(at #/components/schemas/A/allOf)") && e.contains("cannot be merged"), "{e}");
}

#[test]
fn a_ref_to_a_message_where_a_schema_is_expected_means_its_payload() {
    let (types, warnings) = ok(
        "{$ref: '#/components/schemas/Order'}",
        "    Order:\n      type: object\n      properties: {x: {type: string}}\n    Envelope:\n      type: object\n      properties:\n        inner: {$ref: '#/components/messages/M'}\n",
    );
    assert!(types.contains("pub inner: ::std::option::Option<Order>"), "{types}");
    assert!(!types.contains("Order2") && warnings.is_empty(), "{types}");
    // An inline payload of a message only schemas reach is named after the message, not `Payload`.
    let spec = spec(
        "{type: object, properties: {item: {$ref: '#/components/messages/Item'}}}",
        "    Unused: {type: string}\n",
    )
    .replace(
        "  schemas:\n",
        "    Item:\n      payload: {type: object, properties: {sku: {type: string}}}\n  schemas:\n",
    );
    let types = types_rs(&generate(&[("spec.yaml", &spec)], None).unwrap());
    assert!(types.contains("pub struct Item {") && types.contains("pub item: ::std::option::Option<Item>"), "{types}");
    assert!(!types.contains("Payload"), "{types}");
}

#[test]
fn unsupported_keywords_are_values_with_a_warning() {
    let (types, warnings) = ok(A, "    A:\n      type: object\n      properties:\n        x: {not: {type: string}}\n");
    assert!(
        types.contains("pub x: ::std::option::Option<::serde_json::Value>")
            || types.contains("pub x: ::serde_json::Value"),
        "{types}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`not` is not supported") && w.contains("#/components/schemas/A/properties/x/not")),
        "{warnings:?}"
    );
}

#[test]
fn date_time_is_one_type_wherever_it_is_reached() {
    let (types, _) = ok(
        A,
        "    T: {type: string, format: date-time}\n    A:\n      type: object\n      required: [a, b, c, d]\n      properties:\n        a: {type: string, format: date-time}\n        b: {$ref: '#/components/schemas/T'}\n        c: {type: array, items: {type: string, format: date-time}}\n        d: {type: object, additionalProperties: {$ref: '#/components/schemas/T'}}\n",
    );
    assert!(types.contains("pub type T = wire::DateTime;"), "{types}");
    assert!(types.contains("pub a: wire::DateTime,") && types.contains("pub b: T,"), "{types}");
    assert!(types.contains("pub c: ::std::vec::Vec<wire::DateTime>,"), "{types}");
    assert!(!types.contains("serde(with"), "{types}");
}

#[test]
fn strict_datetimes_is_a_switch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(A, "    A: {type: string, format: date-time}\n")).unwrap();
    let lenient = types_rs(&asyncapi_nats::Config::new().generate_crate(&path).unwrap());
    assert!(lenient.contains("const LENIENT: bool = true;"), "{lenient}");
    let strict = types_rs(&asyncapi_nats::Config::new().strict_datetimes(true).generate_crate(&path).unwrap());
    assert!(strict.contains("const LENIENT: bool = false;"), "{strict}");
}

#[test]
fn inline_enums_are_named_from_their_property_path_not_their_title() {
    // Java generators title every inline enum `__TypeId__`: that gave `TypeId`, `TypeId2`, ….
    let (types, _) = ok(
        A,
        "    A:\n      type: object\n      properties:\n        color: {title: __TypeId__, type: string, enum: [red, blue]}\n        size: {title: __TypeId__, type: string, enum: [s, m]}\n",
    );
    assert!(types.contains("pub enum AColor {") && types.contains("pub enum ASize {"), "{types}");
    assert!(!types.contains("enum TypeId"), "{types}");
}

#[test]
fn integer_and_mixed_enums_encode_their_values() {
    let (types, _) = ok(
        A,
        "    A:\n      type: object\n      required: [level, mixed, pick]\n      properties:\n        level: {type: integer, enum: [1, 2, 3]}\n        mixed: {enum: [1, 'a', true]}\n        pick: {type: integer, oneOf: [{const: 10, title: Ten}, {const: 20, title: Twenty}]}\n",
    );
    assert!(types.contains("pub enum ALevel {\n    V1,\n    V2,\n    V3,\n}"), "{types}");
    assert!(types.contains("Self::V1 => ::serde_json::Value::from(1_u64)"), "{types}");
    assert!(types.contains("pub enum APick {\n    Ten,\n    Twenty,\n}"), "{types}");
    assert!(!types.contains("pub type ALevel = i64"), "{types}");
}

#[test]
fn untagged_unions_with_two_recursive_variants_keep_the_value_whole() {
    // Decoding `{"kids": [{"kids": [… {"b": 1}]}]}` would try A, decode all kids, fail, then try B:
    // 2^depth attempts. The union is kept as a value instead, with a warning.
    let (types, warnings) = ok(
        A,
        "    A:\n      oneOf:\n        - {type: object, required: [a, kids], properties: {a: {type: integer}, kids: {type: array, items: {$ref: '#/components/schemas/A'}}}}\n        - {type: object, required: [b, kids], properties: {b: {type: integer}, kids: {type: array, items: {$ref: '#/components/schemas/A'}}}}\n",
    );
    assert!(types.contains("pub struct A(pub ::serde_json::Value);"), "{types}");
    assert!(warnings.iter().any(|w| w.contains("exponential")), "{warnings:?}");
}

/// The `fn …()` names of the generated example round-trip tests.
fn example_tests(types: &str) -> Vec<String> {
    let Some(start) = types.find("mod examples {") else { return Vec::new() };
    types[start..]
        .split("#[test]")
        .skip(1)
        .filter_map(|t| t.trim().strip_prefix("fn ").and_then(|t| t.split('(').next()).map(str::to_string))
        .collect()
}

#[test]
fn a_variant_struct_with_its_own_examples_keeps_its_tag_field() {
    // `Electric` is reached directly by its own example (a test of `Electric` itself): the union
    // gets a copy without the tag, `Electric` keeps `kind` so its example round-trips.
    let (types, warnings) = ok(
        "{$ref: '#/components/schemas/Vehicle'}",
        "    Vehicle:\n      oneOf: [{$ref: '#/components/schemas/Electric'}, {$ref: '#/components/schemas/Gas'}]\n      discriminator: kind\n    Electric:\n      type: object\n      required: [kind]\n      properties: {kind: {type: string}, battery: {type: integer}}\n      examples: [{kind: Electric, battery: 3}]\n    Gas:\n      type: object\n      required: [kind]\n      properties: {kind: {type: string}, fuel: {type: integer}}\n",
    );
    let electric = types.split("pub struct Electric {").nth(1).expect("struct Electric").split('}').next().unwrap();
    assert!(electric.contains("pub kind: ::std::string::String"), "{types}");
    let gas = types.split("pub struct Gas {").nth(1).expect("struct Gas").split('}').next().unwrap();
    assert!(!gas.contains("kind"), "Gas is only a variant: its tag is stripped in place\n{types}");
    assert!(types.contains("tag = \"kind\""), "{types}");
    assert!(example_tests(&types).iter().any(|t| t == "electric_example"), "{types}");
    assert!(!warnings.iter().any(|w| w.contains("example")), "{warnings:?}");
}

#[test]
fn examples_of_messages_that_are_not_json_are_no_json_round_trip_tests() {
    let doc = "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  c:\n    address: a\n    messages:\n      x: {$ref: '#/components/messages/X'}\n      j: {$ref: '#/components/messages/J'}\noperations:\n  send:\n    action: send\n    channel: {$ref: '#/channels/c'}\ncomponents:\n  messages:\n    X:\n      contentType: application/xml\n      payload: {$ref: '#/components/schemas/Doc'}\n      examples: [{payload: '<doc a=\"1\"/>'}]\n    J:\n      payload: {$ref: '#/components/schemas/Json'}\n      examples: [{payload: {n: 1}}]\n  schemas:\n    Doc:\n      type: object\n      properties: {a: {type: string}}\n      examples: ['<doc a=\"1\"/>', {a: x}]\n    Json:\n      type: object\n      properties: {n: {type: integer}}\n";
    let generated = generate(&[("spec.yaml", doc)], None).unwrap();
    let mut tests = example_tests(&types_rs(&generated));
    tests.sort();
    // The XML message's example and the XML text among its schema's examples are no JSON tests; the
    // schema's example that is also a JSON value of the type stays one.
    assert_eq!(tests, ["doc_example", "json_example"]);
    let warnings: Vec<String> = generated.warnings.iter().map(|w| w.to_string()).collect();
    assert!(!warnings.iter().any(|w| w.contains("example")), "not the document's mistake: {warnings:?}");
}

#[test]
fn examples_contradicting_their_schema_are_located_warnings_not_failing_tests() {
    let (types, warnings) = ok(
        "{$ref: '#/components/schemas/Vehicle'}",
        "    Code:\n      type: string\n      example: 1\n    Good:\n      type: string\n      example: abc\n    Color:\n      enum: [red, green]\n      examples: [blue, red]\n    Vehicle:\n      oneOf: [{$ref: '#/components/schemas/Electric'}, {$ref: '#/components/schemas/Gas'}]\n      discriminator: kind\n      examples: [{kind: string, battery: 1}, {kind: Electric, battery: 1}]\n    Electric:\n      type: object\n      required: [kind, battery]\n      properties: {kind: {type: string}, battery: {type: integer, format: uint8}, pair: {type: array, items: {type: string}}}\n      examples: [{kind: Electric}, {kind: Electric, battery: 300}, {kind: Electric, battery: 1, pair: x}, {kind: Electric, battery: 1, Typo: {}}, {kind: Electric, battery: 2}, {kind: Electric, battery: 1, \"a\\nb\": 1}]\n    Gas:\n      type: object\n      properties: {kind: {type: string}}\n",
    );
    let tests = example_tests(&types);
    assert_eq!(tests, ["color_example", "electric_example", "good_example", "vehicle_example"], "{types}");
    let expect = [
        ("#/components/schemas/Code/example", "is an integer (1), expected a string"),
        ("#/components/schemas/Color/examples/0", "(\"blue\"), not one of the schema's values"),
        ("#/components/schemas/Vehicle/examples/0", "discriminator `kind` is \"string\", not one of the variants"),
        ("#/components/schemas/Electric/examples/0", "lacks the required member `battery`"),
        (
            "#/components/schemas/Electric/examples/1",
            "`/battery` is an integer (300), expected an integer that fits `u8`",
        ),
        ("#/components/schemas/Electric/examples/2", "`/pair` is a string (\"x\"), expected an array"),
        ("#/components/schemas/Electric/examples/3", "has the member `Typo`, which the schema does not declare"),
        // The document's text stays one visible line.
        ("#/components/schemas/Electric/examples/5", "has the member `a\\u{a}b`"),
    ];
    for (at, why) in expect {
        assert!(
            warnings.iter().any(|w| w.contains(at) && w.contains(why) && w.contains("spec.yaml:")),
            "no warning at {at} saying {why}: {warnings:#?}"
        );
    }
    let example_warnings = warnings.iter().filter(|w| w.contains("does not match its schema")).count();
    assert_eq!(example_warnings, expect.len(), "{warnings:#?}");
}
