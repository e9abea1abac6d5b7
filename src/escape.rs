//! Escaping for every output language. Spec text is untrusted: it reaches
//! generated files only through these functions (or through serde, for JSON).
//!
//! - Rust string literals: [`rust_str`].
//! - Rust doc text: [`doc_lines`] (no control or bidi characters, no code block rustdoc would run,
//!   no intra-doc link, raw HTML or bare URL that rustdoc's lints would reject).
//! - One-line comments (`//`, `#`) such as the `@generated` header: [`comment_text`].
//! - TOML basic strings: [`toml_str`]; YAML double-quoted scalars: [`yaml_str`];
//!   nats-server config strings: [`nats_conf_str`].

/// Characters that reorder text when displayed (the "Trojan Source" set, CVE-2021-42574) or
/// are invisible format controls; rustc rejects the former in comments.
fn is_bidi_or_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// A character that must not appear raw in comments or doc text.
pub fn is_unsafe_in_text(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_or_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Replaces every character unsafe in text with a visible `\u{…}` escape (tabs become spaces).
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\t' {
            out.push(' ');
        } else if is_unsafe_in_text(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Text for a one-line comment: no line breaks, controls or bidi characters survive.
pub fn comment_text(text: &str) -> String {
    visible(text)
}

/// A Rust string literal (`"…"`), escaping everything that is not printable.
pub fn rust_str(text: &str) -> String {
    format!("{text:?}")
}

/// Rustdoc lines as Rust string literals for `#[doc = …]`.
///
/// Markdown is kept, but: indentation is dropped (no indented code blocks), control and bidi
/// characters become visible escapes, and every fenced code block (` ``` ` or `~~~`, whatever
/// its info string) is re-fenced as ` ```text `, so rustdoc never compiles or runs spec prose as
/// a doctest. A fence left open is closed. Outside code, [`inert_markdown`] keeps rustdoc's lints
/// quiet, so `cargo doc` of a generated crate never fails on spec prose.
pub fn doc_lines(text: Option<&str>) -> Vec<String> {
    let Some(text) = text else { return Vec::new() };
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    // The fence that opened the current code block: its character and length.
    let mut open: Option<(char, usize)> = None;
    let mut out = Vec::new();
    // `lines()` keeps lone CRs and other separators inside a line; they are escaped below.
    for raw in text.split('\n') {
        let line = visible(raw.trim_end_matches('\r').trim());
        let fence = fence_of(&line);
        let line = match (open, fence) {
            (None, Some((c, n))) => {
                open = Some((c, n));
                "```text".to_string()
            }
            // A closing fence: same character, at least as long, nothing after it.
            (Some((c, n)), Some((fc, fnn))) if fc == c && fnn >= n && line.trim_start_matches(c).trim().is_empty() => {
                open = None;
                "```".to_string()
            }
            // Inside a block, a line that could close our ``` fence early must not.
            (Some(_), _) if line.starts_with("```") || line.starts_with("~~~") => format!("\\{line}"),
            (Some(_), _) => line,
            (None, _) => inert_markdown(&line),
        };
        out.push(rust_str(&format!(" {line}")));
    }
    if open.is_some() {
        out.push(rust_str(" ```"));
    }
    out
}

/// One line of prose as Markdown that rustdoc renders without a lint firing:
/// - `[` and `]` are escaped (`[Order]` would be an intra-doc link to an item that does not
///   exist: `broken_intra_doc_links`), except around inline links to a URL (`[text](https://…)`);
/// - `<` is escaped (`List<String>` is an unclosed HTML tag: `invalid_html_tags`; raw HTML from a
///   spec has no place in the docs anyway), except in autolinks (`<https://…>`);
/// - bare `http(s)://` URLs become autolinks (`bare_urls`).
///
/// Code spans (`` `…` ``) are copied unchanged.
pub fn inert_markdown(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            let run = rest.len() - rest.trim_start_matches('`').len();
            let closing = rest[run..].find(&rest[..run]).map(|at| run + at + run);
            // A closing run of exactly the same length (not part of a longer one) ends the span.
            let closing = closing.filter(|end| !rest[*end..].starts_with('`'));
            let span = closing.unwrap_or(run);
            out.push_str(&rest[..span]);
            rest = &rest[span..];
            continue;
        }
        if c == '[' {
            if let Some(link) = url_link(rest) {
                out.push_str(&rest[..link]);
                rest = &rest[link..];
                continue;
            }
        }
        if c == '<' {
            if let Some(end) = url_at(&rest[1..]).filter(|n| rest[1 + n..].starts_with('>')) {
                out.push_str(&rest[..end + 2]);
                rest = &rest[end + 2..];
                continue;
            }
        }
        if let Some(n) = url_at(rest) {
            // Trailing punctuation ends the sentence, not the URL.
            let n = rest[..n].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"']).len();
            out.push('<');
            out.push_str(&rest[..n]);
            out.push('>');
            rest = &rest[n..];
            continue;
        }
        match c {
            '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of an `http(s)://` URL at the start of `text` (up to whitespace or `<>`).
/// It is asked at every character of every doc line: the scheme is compared in place (no
/// lower-cased copy, which was of the whole rest of the line where byte 8 is inside a character).
fn url_at(text: &str) -> Option<usize> {
    let starts =
        |scheme: &str| text.as_bytes().get(..scheme.len()).is_some_and(|b| b.eq_ignore_ascii_case(scheme.as_bytes()));
    let scheme = if starts("http://") {
        "http://".len()
    } else if starts("https://") {
        "https://".len()
    } else {
        return None;
    };
    let n = text.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '`').unwrap_or(text.len());
    (n > scheme).then_some(n)
}

/// The length of `[text](url)` at the start of `text` when `url` is an `http(s)` URL and the
/// link text holds no brackets, backticks or `<`; `None` otherwise.
fn url_link(text: &str) -> Option<usize> {
    // Stops at the next bracket, so a line of many `[` stays linear.
    let close = 1 + text[1..].find(['[', ']'])?;
    if !text[close..].starts_with("](") || text[1..close].contains(['`', '<']) {
        return None;
    }
    let dest = &text[close + 2..];
    let n = url_at(dest)?;
    let end = dest[..n].find(')')?;
    Some(close + 2 + end + 1)
}

/// ` ```rust ` → `('`', 3)`; `~~~~` → `('~', 4)`; `None` for other lines.
fn fence_of(line: &str) -> Option<(char, usize)> {
    let c = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = line.chars().take_while(|x| *x == c).count();
    // A backtick fence's info string may not contain backticks (CommonMark).
    (n >= 3 && (c == '~' || !line[n..].contains('`'))).then_some((c, n))
}

/// A TOML basic string (`"…"`): JSON escapes are valid TOML escapes, plus DEL, which TOML
/// forbids raw and JSON leaves alone.
pub fn toml_str(text: &str) -> String {
    let json = serde_json::to_string(text).expect("strings serialize");
    escape_nonprintable(&json)
}

/// A YAML double-quoted scalar: JSON escapes, plus the characters YAML does not allow raw
/// (DEL, C1 controls, BOM, non-characters) as `\uXXXX`.
pub fn yaml_str(text: &str) -> String {
    let json = serde_json::to_string(text).expect("strings serialize");
    escape_nonprintable(&json)
}

/// A nats-server config string: double-quoted with JSON escapes; characters the config
/// lexer does not take raw are escaped too.
pub fn nats_conf_str(text: &str) -> String {
    yaml_str(text)
}

fn escape_nonprintable(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        let code = c as u32;
        let raw_ok = !(c == '\u{7f}'
            || (0x80..=0x9f).contains(&code)
            || is_bidi_or_format(c)
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}'));
        if raw_ok {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{code:04X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `url_at` as it was written before it compared the scheme in place.
    fn url_at_lowercasing(text: &str) -> Option<usize> {
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return None;
        }
        let n = text.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '`').unwrap_or(text.len());
        (n > lower.find("//").unwrap_or(0) + 2).then_some(n)
    }

    #[test]
    fn url_at_finds_what_it_found_before() {
        let heads = [
            "http://",
            "https://",
            "HTTP://",
            "hTtPs://",
            "http:/",
            "https:",
            "http",
            "htt",
            "",
            "ftp://",
            "httpss://",
        ];
        let tails = ["", "x", "a.b/c d", "é", "日本", " ", "<", ">x", "`", "x.y)", "\u{a0}z"];
        for head in heads {
            for tail in tails {
                for prefix in ["", "é"] {
                    let text = format!("{prefix}{head}{tail}");
                    for (at, _) in text.char_indices() {
                        assert_eq!(url_at(&text[at..]), url_at_lowercasing(&text[at..]), "{:?}", &text[at..]);
                    }
                }
            }
        }
    }

    fn doc(text: &str) -> String {
        doc_lines(Some(text)).iter().map(|l| serde_json::from_str::<String>(l).unwrap()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn every_fence_becomes_text() {
        for fence in ["```", "```rust", "```should_panic", "~~~", "~~~rust", "````", "``` rust,no_run"] {
            let d = doc(&format!("x\n{fence}\nstd::fs::write(\"pwn\", \"\").unwrap();\n{}\ny", &fence[..3]));
            assert!(d.contains(" ```text\n"), "{fence}: {d}");
            assert!(!d.contains("rust") && !d.contains("should_panic") && !d.contains("~~~"), "{fence}: {d}");
        }
        // An unclosed fence is closed; a longer closer is still a closer.
        assert!(doc("```rust\nlet x = 1;").ends_with(" ```"));
        assert_eq!(doc("````\na\n`````\nb"), " ```text\n a\n ```\n b");
    }

    #[test]
    fn prose_cannot_trip_rustdoc_lints() {
        let cases = [
            ("See [Order] and [x::y].", "See \\[Order\\] and \\[x::y\\]."),
            ("[link][ref] and [`Missing`]", "\\[link\\]\\[ref\\] and \\[`Missing`\\]"),
            ("A List<String> with <b>html</b>", "A List&lt;String> with &lt;b>html&lt;/b>"),
            ("Docs at https://example.com/a?b=1.", "Docs at <https://example.com/a?b=1>."),
            ("(see http://x.org)", "(see <http://x.org>)"),
            // Kept: links to URLs, autolinks, code spans, inline code with brackets.
            ("[the spec](https://asyncapi.com/docs) ok", "[the spec](https://asyncapi.com/docs) ok"),
            ("<https://asyncapi.com>", "<https://asyncapi.com>"),
            ("`Vec<[u8; 4]>` and ``a ` [b]``", "`Vec<[u8; 4]>` and ``a ` [b]``"),
            // A lone backtick is not a span: what follows is still escaped.
            ("a ` [b]", "a ` \\[b\\]"),
            // A link to something that is not a URL is an intra-doc link: escaped.
            ("[x](crate::nope)", "\\[x\\](crate::nope)"),
            ("https:// alone", "https:// alone"),
        ];
        for (prose, expected) in cases {
            assert_eq!(inert_markdown(prose), expected, "{prose}");
        }
        // Hostile sizes stay linear (a quadratic scan of 1 MB would not finish).
        let brackets = "[".repeat(1 << 20);
        assert_eq!(inert_markdown(&brackets).len(), 2 << 20);
        // Inside fenced blocks nothing is touched.
        assert_eq!(doc("```\n[Order] <T>\n```"), " ```text\n [Order] <T>\n ```");
    }

    #[test]
    fn a_shorter_or_other_fence_inside_a_block_cannot_reopen_rust() {
        let d = doc("````\n```rust\nx\n```\n````");
        assert!(!d.lines().any(|l| l.trim_start().starts_with("```rust")), "{d}");
        assert!(d.lines().filter(|l| l.trim() == "```").count() == 1, "{d}");
    }

    #[test]
    fn controls_and_bidi_are_visible() {
        let d = doc("a\u{202E}b\rc\0d\u{7f}e\u{2066}");
        assert_eq!(d, " a\\u{202e}b\\u{d}c\\u{0}d\\u{7f}e\\u{2066}");
        assert_eq!(comment_text("x\ny\u{202e}"), "x\\u{a}y\\u{202e}");
    }

    #[test]
    fn toml_and_yaml_escape_del_and_c1() {
        assert_eq!(toml_str("a\u{7f}b\"\n"), "\"a\\u007Fb\\\"\\n\"");
        assert_eq!(yaml_str("\u{85}\u{feff}"), "\"\\u0085\\uFEFF\"");
    }
}
