//! Naming policy: turning spec names (`orders.created:ValidateOrder:SubscribeMessage`,
//! `2fa`, `type`) into Rust identifiers, and resolving collisions deterministically.

use heck::ToKebabCase;

use crate::load::{FastMap, FastSet};

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Splits on anything that is not alphanumeric so heck sees word boundaries.
fn words(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect()
}

/// Calls `word` with each word of `raw` as heck's case conversions find them after [`words`]:
/// anything but an ASCII letter or digit separates words, and inside a run of letters and digits a
/// word ends before an upper-case letter that follows a lower-case one (`orderId` → `order`,
/// `Id`) and before the last upper-case letter of a run followed by a lower-case one (`HTTPServer`
/// → `HTTP`, `Server`); digits continue the word. Names are converted hundreds of thousands of
/// times at 5,000 channels: this does it without heck's formatter and `words`' copy (the same
/// words; see the test comparing them).
fn each_word(raw: &str, mut word: impl FnMut(&str)) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Boundary,
        Lower,
        Upper,
    }
    for run in raw.split(|c: char| !c.is_ascii_alphanumeric()) {
        let b = run.as_bytes();
        let mut init = 0;
        let mut mode = Mode::Boundary;
        for i in 0..b.len() {
            let c = b[i];
            let Some(&next) = b.get(i + 1) else {
                word(&run[init..]);
                break;
            };
            let next_mode = if c.is_ascii_lowercase() {
                Mode::Lower
            } else if c.is_ascii_uppercase() {
                Mode::Upper
            } else {
                mode
            };
            if next_mode == Mode::Lower && next.is_ascii_uppercase() {
                word(&run[init..=i]);
                init = i + 1;
                mode = Mode::Boundary;
            } else if mode == Mode::Upper && c.is_ascii_uppercase() && next.is_ascii_lowercase() {
                word(&run[init..i]);
                init = i;
                mode = Mode::Boundary;
            } else {
                mode = next_mode;
            }
        }
    }
}

/// `words(raw).to_pascal_case()`: each word capitalized, joined.
fn pascal_case(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    each_word(raw, |w| {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    });
    out
}

/// `words(raw).to_snake_case()`: words lower-cased, joined with `_`.
fn snake_case(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    each_word(raw, |w| {
        if !out.is_empty() {
            out.push('_');
        }
        out.extend(w.chars().map(|c| c.to_ascii_lowercase()));
    });
    out
}

/// `orders.created:ValidateOrder` → `OrdersCreatedValidateOrder`; never empty, never a keyword.
pub fn type_name(raw: &str) -> String {
    let mut name = pascal_case(raw);
    if name.is_empty() {
        name = "Unnamed".into();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'T');
    }
    if name == "Self" {
        name.push('_');
    }
    name
}

/// `allocationId` → `allocation_id`; keywords become raw identifiers (`r#type`).
pub fn value_name(raw: &str) -> String {
    let mut name = snake_case(raw);
    if name.is_empty() {
        name = "value".into();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "n_");
    }
    escape_keyword(name)
}

/// `SCREAMING_CASE` constant name.
pub fn const_name(raw: &str) -> String {
    let name = value_name(raw);
    name.trim_start_matches("r#").to_uppercase()
}

pub fn escape_keyword(name: String) -> String {
    match name.as_str() {
        "self" | "super" | "crate" | "Self" | "_" => format!("{name}_"),
        n if KEYWORDS.contains(&n) => format!("r#{name}"),
        _ => name,
    }
}

/// Crate names: `Allocation Service` → `allocation-service`; always a valid, non-reserved Cargo name.
pub fn crate_name(raw: &str) -> String {
    let name = words(raw).to_kebab_case();
    let mut name = if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("api-{name}").trim_end_matches('-').to_string()
    } else {
        name
    };
    name.truncate(MAX_CRATE_NAME - "-client".len());
    let name = name.trim_end_matches('-').to_string();
    if is_reserved_crate_name(&name) { format!("{name}-client") } else { name }
}

const MAX_CRATE_NAME: usize = 64;

/// Names a package must not have: Rust keywords and the built-in crates (`test` would break
/// `#[test]` in every dependent crate), Cargo's own output folders, and Windows device names.
fn is_reserved_crate_name(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "core",
        "std",
        "alloc",
        "proc_macro",
        "proc-macro",
        "test",
        "build",
        "deps",
        "examples",
        "incremental",
        "con",
        "prn",
        "aux",
        "nul",
        "com1",
        "com2",
        "com3",
        "com4",
        "com5",
        "com6",
        "com7",
        "com8",
        "com9",
        "lpt1",
        "lpt2",
        "lpt3",
        "lpt4",
        "lpt5",
        "lpt6",
        "lpt7",
        "lpt8",
        "lpt9",
    ];
    let lower = name.to_ascii_lowercase();
    RESERVED.contains(&lower.as_str()) || KEYWORDS.contains(&lower.replace('-', "_").as_str())
}

/// A package name given by the user (`--crate-name`): Cargo's rules, and not a reserved name.
pub fn check_crate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_CRATE_NAME {
        return Err(format!("must be 1 to {MAX_CRATE_NAME} characters long"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with an ASCII letter".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))) {
        return Err(format!("contains `{}`; use ASCII letters, digits, `-` and `_`", c.escape_default()));
    }
    if is_reserved_crate_name(name) {
        return Err("is a Rust keyword or a reserved crate name (`test`, `core`, `std`, …)".into());
    }
    Ok(())
}

/// A module/file name given by the user (`Config::module_name`): a plain Rust identifier.
pub fn check_module_name(name: &str) -> Result<(), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name != "_"
        && name.len() <= 64
        && !KEYWORDS.contains(&name);
    if valid { Ok(()) } else { Err("must be a snake_case Rust identifier (it names a file and a module)".into()) }
}

/// Default stream name from a title: `Allocation Service` → `allocation-service`.
pub fn stream_name(title: &str) -> String {
    let name = words(title).to_kebab_case();
    if name.is_empty() { "default".into() } else { name }
}

/// Default durable name from an operation name: `processReady` → `process-ready`.
pub fn durable_name(operation: &str) -> String {
    let name = words(operation).to_kebab_case();
    if name.is_empty() { "consumer".into() } else { name }
}

/// JetStream stream/consumer names. The server forbids whitespace, `.`, `*`, `>` and path
/// separators; names also end up in permission subjects, NACK manifests and server config, so
/// only ASCII letters, digits, `-` and `_` are accepted (the NATS naming recommendation), ≤ 255 bytes.
pub fn check_jetstream_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > 255 {
        return Err("is longer than 255 bytes".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))) {
        return Err(format!(
            "contains `{}`; stream and consumer names may contain only ASCII letters, digits, `-` and `_`",
            c.escape_default()
        ));
    }
    Ok(())
}

/// A queue group name: one NATS token list without whitespace, wildcards or control characters.
pub fn check_queue_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("must be 1 to 255 bytes long".into());
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii_graphic() || matches!(c, '*' | '>')) {
        return Err(format!(
            "contains `{}`; queue groups may not contain whitespace, wildcards, control or non-ASCII characters",
            c.escape_default()
        ));
    }
    Ok(())
}

/// A scope of names: hands out `wanted`, or `wanted2`, `wanted3`, … when taken
/// (`wanted_2` for snake_case names). Callers must ask in a deterministic order.
///
/// The sets are hash sets: only asked whether they hold a name, never iterated (a type
/// namespace holds tens of thousands of names at 5,000 channels).
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    taken: FastSet<String>,
    /// The next suffix to try per base name, so n claims of one name cost O(n) in total.
    next: FastMap<String, u64>,
}

/// `name` without its leading `r#`s (as `trim_start_matches("r#")`, without a substring searcher).
fn bare(name: &str) -> &str {
    let mut bare = name;
    while let Some(rest) = bare.strip_prefix("r#") {
        bare = rest;
    }
    bare
}

impl Namespace {
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Namespace { taken: reserved.iter().map(|s| s.to_string()).collect(), next: FastMap::default() }
    }

    /// Whether `name` is still free.
    pub fn is_free(&self, name: &str) -> bool {
        !self.taken.contains(bare(name))
    }

    pub fn claim(&mut self, wanted: &str) -> String {
        let bare = bare(wanted);
        if self.taken.insert(bare.to_string()) {
            return wanted.to_string();
        }
        // Type names (`Self_`, `Order`) get `Self2`, `Order2` (an `_` before a digit would break
        // `non_camel_case_types`); snake_case names get `order_id_2`.
        let camel = bare.starts_with(|c: char| c.is_ascii_uppercase());
        let (base, sep) = if camel {
            (bare.trim_end_matches('_'), "")
        } else if bare.ends_with('_') {
            (bare, "")
        } else {
            (bare, "_")
        };
        let next = self.next.entry(format!("{base}{sep}")).or_insert(2);
        loop {
            let candidate = format!("{base}{sep}{next}");
            *next += 1;
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word splitting of `type_name`/`value_name` is heck's, on every kind of input.
    #[test]
    fn case_conversions_are_hecks() {
        use heck::{ToPascalCase, ToSnakeCase};
        let alphabet: Vec<char> = "aAbBzZ09_ -.:{}/é\u{3a3}xYQq1".chars().collect();
        let mut cases: Vec<String> = [
            "orders.created:ValidateOrder",
            "HTTPServer",
            "XMLHttpRequest2",
            "a1B2c3",
            "ABC",
            "aBC",
            "AbC",
            "Entity0Line kind",
            "2fa",
            "",
            "  __  ",
            "getHTTP2Response",
            "ΣΑΣ ok",
        ]
        .map(String::from)
        .to_vec();
        // Every string of up to 4 characters of the alphabet, and longer pseudo-random ones.
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            if s.chars().count() < 4 {
                for c in &alphabet {
                    stack.push(format!("{s}{c}"));
                }
            }
            cases.push(s);
        }
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let s: String =
                (0..seed % 16).map(|k| alphabet[((seed >> (k * 3)) as usize + k as usize) % alphabet.len()]).collect();
            cases.push(s);
        }
        for raw in &cases {
            assert_eq!(pascal_case(raw), words(raw).to_pascal_case(), "{raw:?}");
            assert_eq!(snake_case(raw), words(raw).to_snake_case(), "{raw:?}");
        }
    }

    #[test]
    fn sanitises_faststream_keys_and_keywords() {
        assert_eq!(
            type_name("orders.created:ValidateOrder:SubscribeMessage"),
            "OrdersCreatedValidateOrderSubscribeMessage"
        );
        assert_eq!(type_name("payments.{region}.settled:OnSettled:Message"), "PaymentsRegionSettledOnSettledMessage");
        assert_eq!(type_name("2fa"), "T2fa");
        assert_eq!(type_name("self"), "Self_");
        assert_eq!(value_name("type"), "r#type");
        assert_eq!(value_name("self"), "self_");
        assert_eq!(value_name("allocationId"), "allocation_id");
        assert_eq!(value_name("2fa"), "n_2fa");
        assert_eq!(value_name("audit.>"), "audit");
        assert_eq!(const_name("type"), "TYPE");
    }

    #[test]
    fn collisions_get_deterministic_suffixes() {
        let mut ns = Namespace::with_reserved(&["Subject"]);
        assert_eq!(ns.claim("Subject"), "Subject2");
        assert_eq!(ns.claim("Order"), "Order");
        assert_eq!(ns.claim("Order"), "Order2");
        assert_eq!(ns.claim("order_id"), "order_id");
        assert_eq!(ns.claim("order_id"), "order_id_2");
        assert_eq!(ns.claim("r#type"), "r#type");
        assert_eq!(ns.claim("r#type"), "type_2");
        assert_eq!(ns.claim("Order2"), "Order22");
    }

    #[test]
    fn keyword_like_type_names_stay_camel_case() {
        let mut ns = Namespace::default();
        // Enum values `self` and `Self` both sanitise to `Self_`.
        assert_eq!(ns.claim(&type_name("Self")), "Self_");
        assert_eq!(ns.claim(&type_name("self")), "Self2");
        let mut ns = Namespace::default();
        assert_eq!(ns.claim("self_"), "self_");
        assert_eq!(ns.claim("self_"), "self_2");
    }

    #[test]
    fn many_equal_names_are_claimed_in_linear_time() {
        // 20,000 claims of one name took 63 s when each claim scanned the suffixes from 2.
        let mut ns = Namespace::default();
        let names: Vec<String> = (0..20_000).map(|_| ns.claim("Value")).collect();
        assert_eq!(names[0], "Value");
        assert_eq!(names[19_999], "Value20000");
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), 20_000);
    }

    #[test]
    fn jetstream_names() {
        assert!(check_jetstream_name("processor-ready").is_ok());
        assert!(check_jetstream_name("a.b").is_err());
        assert!(check_jetstream_name("a b").is_err());
        assert!(check_jetstream_name("a\u{301}").is_err());
        assert!(check_jetstream_name(">").is_err());
        assert_eq!(crate_name("test"), "test-client");
        assert_eq!(crate_name("Core"), "core-client");
        assert_eq!(crate_name("2fa"), "api-2fa");
        assert_eq!(crate_name("\u{202e}"), "api");
        assert!(crate_name(&"long ".repeat(40)).len() <= 64);
        assert!(check_crate_name("x\"\nbuild = \"pwn.rs").is_err());
        assert!(check_crate_name("std").is_err());
        assert!(check_crate_name("my-service_2").is_ok());
        assert!(check_module_name("../x").is_err());
        assert!(check_module_name("api_types").is_ok());
        assert_eq!(stream_name("Allocation Service"), "allocation-service");
        assert_eq!(durable_name("processReady"), "process-ready");
    }
}
