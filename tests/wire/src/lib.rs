//! Helpers of the wire tests: JSON comparison as the generated example tests do it.

use serde_json::Value;

/// Every member sent comes back equal as a JSON value: numbers by value (`1e+308` and `1e308`),
/// date-times by instant (`…05.100Z` and `…05.1Z`, or an offset-less date-time read as UTC), a
/// `null` member the same as an absent one. Counts the scalar values compared in `values`.
pub fn same(sent: &Value, returned: &Value, values: &mut usize) -> bool {
    match (sent, returned) {
        (Value::Object(a), Value::Object(b)) => a.iter().all(|(k, v)| match b.get(k) {
            Some(w) => same(v, w, values),
            None => v.is_null(),
        }),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w, values)),
        (Value::String(a), Value::String(b)) => {
            *values += 1;
            a == b || same_text(a, b)
        }
        (Value::Number(a), Value::Number(b)) => {
            *values += 1;
            a == b || a.as_f64() == b.as_f64()
        }
        _ => {
            *values += 1;
            sent == returned
        }
    }
}

fn same_text(a: &str, b: &str) -> bool {
    use pydantic_orders::types::wire::{DateTime, Duration, Time};
    if let (Ok(x), Ok(y)) = (DateTime::parse(a), DateTime::parse(b)) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (Duration::parse(a), Duration::parse(b)) {
        return x == y;
    }
    matches!((Time::parse(a), Time::parse(b)), (Some(x), Some(y)) if x == y)
}
