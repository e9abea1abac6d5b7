//! The `schemars` feature of a generated crate: `schemars::JsonSchema` on every type. The schema it
//! derives for pydantic's `Order` accepts every payload real producers wrote.

use std::path::Path;

use pydantic_orders::types::Order;
use wire_types::types::{Parcel, Reading};

#[test]
fn the_derived_schema_accepts_every_producer_payload() {
    let schema = serde_json::to_value(schemars::schema_for!(Order)).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut checked = 0;
    for fixture in ["orders.pydantic.jsonl", "orders.js.jsonl", "orders.go.jsonl"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/pydantic").join(fixture);
        for (n, line) in std::fs::read_to_string(path).unwrap().lines().enumerate() {
            let instance: serde_json::Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{fixture}:{}: {errors:?}", n + 1);
            checked += 1;
        }
    }
    assert_eq!(checked, 600);
}

#[test]
fn wire_types_and_value_enums_describe_their_json() {
    let schema = serde_json::to_value(schemars::schema_for!(Reading)).unwrap();
    let text = schema.to_string();
    assert!(text.contains(r#""format":"date-time""#) && text.contains(r#""format":"date""#), "{text}");
    assert!(text.contains(r#""format":"duration""#) && text.contains(r#""format":"time""#), "{text}");
    // The integer enum `level` is [1, 2, 3], not variant names.
    assert!(text.contains(r#""enum":[1,2,3]"#), "{text}");
    let parcel = serde_json::to_value(schemars::schema_for!(Parcel)).unwrap();
    assert!(parcel["properties"]["code"].is_object(), "{parcel}");
}

#[test]
fn a_build_script_module_derives_json_schema() {
    use wire_tests::wire_module::types::Reading;
    let text = serde_json::to_value(schemars::schema_for!(Reading)).unwrap().to_string();
    assert!(text.contains(r#""enum":[1,2,3]"#) && text.contains(r#""format":"date-time""#), "{text}");
}
