//! 7. Subject injection is impossible (property tests on the generated builders/parsers).

use proptest::prelude::*;

/// What the builders must accept: non-empty printable ASCII without `.`, `*`,
/// `>` and not starting with `$`.
fn acceptable(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= allocation::subjects::MAX_PARAMETER_LEN
        && !v.starts_with('$')
        && v.bytes().all(|b| b.is_ascii_graphic() && !b".*>".contains(&b))
}

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('.'),
        Just('*'),
        Just('>'),
        Just(' '),
        Just('\t'),
        Just('\r'),
        Just('\n'),
        Just('\u{0}'),
        Just('\u{7f}'),
        Just('\u{a0}'),
        Just('é'),
        Just('\u{2028}'),
        Just('🦀'),
        (0x80u32..0x11_0000).prop_filter_map("scalar", char::from_u32),
        (0u32..0x20).prop_filter_map("control", char::from_u32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn values_with_a_hostile_character_are_rejected(prefix in "[!-~]{0,8}", bad in hostile_char(), suffix in "[!-~]{0,8}") {
        let value = format!("{prefix}{bad}{suffix}");
        prop_assert!(allocation::subjects::events_ready_to_process(&value).is_err(), "accepted {value:?}");
        prop_assert!(shop::subjects::orders_created(&value).is_err());
        prop_assert!(shop::subjects::orders_cancelled("eu", &value).is_err());
        prop_assert!(shop::subjects::orders_cancelled(&value, "o-1").is_err());
    }

    #[test]
    fn empty_and_dollar_values_are_rejected(rest in "[!-~]{0,12}") {
        let dollar = format!("${rest}");
        prop_assert!(allocation::subjects::events_ready_to_process("").is_err());
        prop_assert!(allocation::subjects::events_ready_to_process(&dollar).is_err());
        prop_assert!(shop::subjects::inventory_reserve(&dollar).is_err());
    }

    #[test]
    fn builders_accept_exactly_safe_values_which_round_trip(value in any::<String>(), other in "[!-~]{1,12}") {
        let built = allocation::subjects::events_ready_to_process(&value);
        prop_assert_eq!(built.is_ok(), acceptable(&value), "value {:?}", value);
        if let Ok(subject) = built {
            let parsed = allocation::subjects::parse_events_ready_to_process(subject.as_str());
            prop_assert_eq!(parsed.map(|p| p.allocation_id), Some(value.clone()));
            prop_assert_eq!(subject.as_str().split('.').count(), 3);
        }
        if acceptable(&other) {
            let subject = shop::subjects::orders_cancelled(&other, &other).expect("safe values");
            let p = shop::subjects::parse_orders_cancelled(subject.as_str()).expect("round trip");
            prop_assert_eq!((p.region, p.order_id), (other.clone(), other.clone()));
        }
    }

    #[test]
    fn safe_values_round_trip(value in "[!-~&&[^.*>$]][!-~&&[^.*>]]{0,23}") {
        prop_assert!(acceptable(&value));
        let subject = shop::subjects::inventory_reserved(&value).expect("safe");
        let p = shop::subjects::parse_inventory_reserved(subject.as_str()).expect("round trip");
        prop_assert_eq!(p.warehouse_id, value);
    }
}

#[test]
fn publishing_with_an_injected_parameter_fails_before_sending() {
    let err = allocation::subjects::events_ready_to_process("a.b").unwrap_err();
    assert_eq!(err.parameter, "allocationId");
    assert!(err.to_string().contains("allocationId"));
    // Past the limit, a subject would approach nats-server's control-line limit (the server
    // closes the publisher's connection); at the limit it is fine.
    assert!(allocation::subjects::events_ready_to_process(&"x".repeat(256)).is_ok());
    assert!(allocation::subjects::events_ready_to_process(&"x".repeat(257)).is_err());
    for bad in ["", "$SYS", "a b", "a*", ">", "ü", "x\ny"] {
        assert!(allocation::subjects::events_ready_to_process(bad).is_err(), "{bad:?}");
    }
}
