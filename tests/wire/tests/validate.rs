//! The generated `validate()` reports every violated constraint, with JSON pointers.

use wire_types::types::Parcel;

fn violations(json: serde_json::Value) -> Vec<String> {
    let parcel: Parcel = serde_json::from_value(json).expect("decodes");
    parcel.validate().iter().map(ToString::to_string).collect()
}

#[test]
fn a_valid_value_has_no_violations() {
    assert_eq!(
        violations(
            serde_json::json!({"code": "AB-12", "weight": 2.5, "tags": ["x"], "contact": "a@b.example", "host": "10.0.0.1", "sku": "abc"})
        ),
        Vec::<String>::new()
    );
}

#[test]
fn every_violated_constraint_is_reported_with_its_path() {
    let found = violations(serde_json::json!({
        "code": "a", "weight": 1000.25, "count": 0, "tags": ["toolong", "x", "x", "y"],
        "contact": "nobody", "host": "999.1.1.1", "sku": "ABC",
        "inner": {"code": "AB-1", "weight": 0, "tags": []},
        "byName": {"a/b": {"code": "ZZ-9", "weight": 1, "tags": ["q", "q"]}}
    }));
    let expected = [
        "/code: shorter than 3 characters (minLength)",
        "/code: does not match the pattern `^[A-Z]+-[0-9]+$` (pattern)",
        "/weight: above 1000 (maximum)",
        "/weight: not a multiple of 0.5 (multipleOf)",
        "/count: below 1 (minimum)",
        "/tags: more than 3 items (maxItems)",
        "/tags: has duplicate items (uniqueItems)",
        "/tags/0: longer than 5 characters (maxLength)",
        "/contact: is not a valid email (format)",
        "/host: is not a valid ipv4 (format)",
        "/sku: does not match the pattern `^[a-z]{3}$` (pattern)",
        "/inner/weight: below 0 (exclusiveMinimum)",
        "/inner/tags: fewer than 1 items (minItems)",
        "/byName/a~1b/tags: has duplicate items (uniqueItems)",
    ];
    for e in expected {
        assert!(found.iter().any(|f| f == e), "missing {e:?} in {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}
