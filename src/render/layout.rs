//! Lines laid out the way prettyplease prints them, for the items the templates mark
//! [`super::EXACT`]: a group (parameters, derives, generic arguments, struct fields) stays on
//! one line when the whole line fits in [`MARGIN`] columns (prettyplease measures a group up
//! to the next line break after it), else it is broken one element per line with a trailing
//! comma. A line these helpers cannot guarantee is left too long, so the item is printed by
//! prettyplease after all (see `exact_body`).

/// prettyplease's line width. The helpers take the width left for the text they lay out
/// (`margin`: less when the file nests it in a module, as `Config::generate` does) and the
/// indentation they write.
pub const MARGIN: usize = 89;

/// prettyplease gives a line at least this many columns after its indentation, however deep.
pub const MIN_SPACE: usize = 60;

/// Whether a line `len` columns long (with its indentation `indent`) fits in `margin`.
pub fn fits(margin: usize, indent: usize, len: usize) -> bool {
    len <= margin.max(indent + MIN_SPACE)
}

/// A list that prettyplease breaks one element per line: kept on one line whether it fits or not
/// (a line that does not fit makes prettyplease print the item), for lists whose broken layout
/// is not pinned down by a test.
pub fn flat(head: &str, items: &[String], close: &str) -> String {
    format!("{head}{}{close}", items.join(", "))
}

/// `head` + `items` joined by `, ` + `close` + `tail` on one line when that fits at `indent`
/// (`pad` inside the delimiters: `" "` for braces), else `head`, each item on its own line at
/// `indent + 4` followed by a comma (`last_comma`: the last one too), and `close` + `tail` at `indent`.
/// Text without the first line's indentation.
#[allow(clippy::too_many_arguments)] // Each is one part of the printed text.
pub fn group<S: AsRef<str>>(
    margin: usize,
    indent: usize,
    head: &str,
    items: &[S],
    pad: &str,
    close: &str,
    tail: &str,
    last_comma: bool,
) -> String {
    let flat_len: usize = indent
        + head.len()
        + items.iter().map(|i| i.as_ref().len() + 2).sum::<usize>()
        + 2 * pad.len()
        + close.len()
        + tail.len();
    if items.is_empty() {
        return concat(&[head, close, tail]);
    }
    if fits(margin, indent, flat_len - 2) && !items.iter().any(|i| i.as_ref().contains('\n')) {
        let mut out = String::with_capacity(flat_len - indent);
        out.push_str(head);
        out.push_str(pad);
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            out.push_str(item.as_ref());
        }
        out.push_str(pad);
        out.push_str(close);
        out.push_str(tail);
        return out;
    }
    let mut out = String::from(head);
    push_lines(&mut out, items, indent + 4, last_comma);
    push_newline(&mut out, indent);
    out.push_str(close);
    out.push_str(tail);
    out
}

/// A struct literal `path { fields }` after `lead` (e.g. `Some(`), then `close`: prettyplease keeps
/// it on one line only when `path { fields ` is at most 34 columns wide and the line fits.
pub fn struct_lit(margin: usize, indent: usize, lead: &str, path: &str, fields: &[String], close: &str) -> String {
    let width = path.len() + 3 + fields.iter().map(|f| f.len() + 2).sum::<usize>() - 1;
    let head = format!("{lead}{path} {{");
    if width > 34 && !fields.is_empty() {
        let mut out = head;
        push_lines(&mut out, fields, indent + 4, true);
        push_newline(&mut out, indent);
        out.push('}');
        out.push_str(close);
        return out;
    }
    group(margin, indent, &head, fields, " ", &format!("}}{close}"), "", true)
}

/// A `fn` signature through its `{`: `head` is `pub fn name`, `params` the parameters, `ret`
/// the return type (empty for none).
pub fn signature(margin: usize, indent: usize, head: &str, params: &[String], ret: &str) -> String {
    let tail = if ret.is_empty() { " {".to_string() } else { format!(" -> {ret} {{") };
    let laid = group(margin, indent, &format!("{head}("), params, "", ")", &tail, true);
    match laid.rsplit_once('\n') {
        // Parameters broken: the return type's generic arguments break too when `) -> … {` is too long.
        Some((before, _)) if !ret.is_empty() => {
            format!("{before}\n{}{}", " ".repeat(indent), ty(margin, indent, ") -> ", ret, " {"))
        }
        _ => laid,
    }
}

/// `head(args).await` as a method's last expression: on one line when it fits; when even
/// `head(args)` does not fit, the arguments one per line at `indent + 8` and `)` and `.await`
/// at `indent + 4` (prettyplease's layout of a broken call in a chain). In between, one long
/// line (printed by prettyplease then).
pub fn awaited_call(margin: usize, indent: usize, head: &str, args: &[String]) -> String {
    let flat = format!("{head}({})", args.join(", "));
    if fits(margin, indent, indent + flat.len()) || args.is_empty() {
        return format!("{flat}.await");
    }
    let mut out = format!("{head}(");
    push_lines(&mut out, args, indent + 8, true);
    push_newline(&mut out, indent + 4);
    out.push(')');
    push_newline(&mut out, indent + 4);
    out.push_str(".await");
    out
}

/// `#[derive(…)]` of `list` (`a, b, c`): one per line, without a trailing comma, when too long.
pub fn derive(margin: usize, indent: usize, list: &str) -> String {
    // The line `#[derive(list)]` is measured without cutting the list (once per type).
    if fits(margin, indent, indent + "#[derive(".len() + list.len() + ")]".len()) && !list.contains('\n') {
        return concat(&["#[derive(", list, ")]"]);
    }
    // Every type of a document has the same list: the last one laid out on this thread is kept.
    thread_local! {
        static LAST: std::cell::RefCell<(usize, usize, String, String)> = const {
            std::cell::RefCell::new((0, 0, String::new(), String::new()))
        };
    }
    LAST.with_borrow_mut(|(last_margin, last_indent, last_list, laid)| {
        if (*last_margin, *last_indent, last_list.as_str()) != (margin, indent, list) {
            let items: Vec<&str> = list.split(", ").collect();
            *laid = group(margin, indent, "#[derive(", &items, "", ")]", "", false);
            (*last_margin, *last_indent) = (margin, indent);
            list.clone_into(last_list);
        }
        laid.clone()
    })
}

/// `#[text]` for an attribute `name(a, b = "…")`: one line when it fits, else its arguments one
/// per line without a trailing comma (as prettyplease prints `#[serde(…)]` and `#[derive(…)]`).
/// Arguments are split at top-level commas outside string literals; text of another shape stays
/// on one line.
pub fn attr(margin: usize, indent: usize, text: &str) -> String {
    let flat = || concat(&["#[", text, "]"]);
    if fits(margin, indent, indent + text.len() + "#[]".len()) {
        return flat();
    }
    let Some((name, args)) = text.split_once('(') else { return flat() };
    let Some(args) = args.strip_suffix(')') else { return flat() };
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return flat();
    }
    let Some(parts) = split_top_level(args) else { return flat() };
    group(margin, indent, &concat(&["#[", name, "("]), &parts, "", ")]", "", false)
}

/// `text` split at commas outside brackets and string literals, trimmed; `None` when a literal
/// does not end or brackets do not balance.
fn split_top_level(text: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut in_str, mut escaped) = (0i32, 0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b')' | b']' | b'}' | b'>' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    if in_str || depth != 0 {
        return None;
    }
    parts.push(text[start..].trim());
    Some(parts)
}

/// `lead` + the type `ty` + `trail` (e.g. `pub name: ` + ty + `,`) on one line when it fits,
/// else with the outermost generic arguments broken one per line (inner ones stay on their line:
/// when one is still too long, prettyplease prints the item). Types with tuples or references are
/// left on one line.
pub fn ty(margin: usize, indent: usize, lead: &str, ty: &str, trail: &str) -> String {
    let mut out = String::with_capacity(lead.len() + ty.len() + trail.len());
    out.push_str(lead);
    push_ty(&mut out, margin, indent, indent + lead.len(), ty, trail);
    out
}

/// [`ty`] without `lead`, starting at `column`, appended to `out`.
fn push_ty(out: &mut String, margin: usize, indent: usize, column: usize, ty: &str, trail: &str) {
    let flat = |out: &mut String| {
        out.push_str(ty);
        out.push_str(trail);
    };
    if fits(margin, indent, column + ty.len() + trail.len()) || ty.contains(['(', '&']) {
        return flat(out);
    }
    let Some(lt) = ty.find('<') else { return flat(out) };
    let Some(inner) = ty[lt + 1..].strip_suffix('>') else { return flat(out) };
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    out.push_str(&ty[..=lt]);
    push_lines(out, &args, indent + 4, true);
    push_newline(out, indent);
    out.push('>');
    out.push_str(trail);
}

/// The `///` line prettyplease prints for `#[doc = lit]`, `lit` a literal of [`crate::escape::doc_lines`].
pub fn doc_comment(lit: &str) -> Option<String> {
    let value = unescape(lit)?;
    if value.contains('\n') || value.starts_with('/') {
        return None;
    }
    Some(format!("///{}", value.trim_end_matches(' ')))
}

/// The value of a string literal as `{:?}` writes it.
fn unescape(lit: &str) -> Option<String> {
    let body = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'u' => {
                let rest = chars.as_str();
                let close = rest.find('}')?;
                let code = u32::from_str_radix(rest.get(1..close)?, 16).ok()?;
                chars = rest[close + 1..].chars();
                char::from_u32(code)?
            }
            _ => return None,
        });
    }
    Some(out)
}

/// A line break, then `indent` spaces.
fn push_newline(out: &mut String, indent: usize) {
    const SPACES: &str = "                                                                ";
    out.push('\n');
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// `parts` joined into one string, allocated once.
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Each item on a line of its own at `indent`, followed by a comma (the last only with `last_comma`).
fn push_lines<S: AsRef<str>>(out: &mut String, items: &[S], indent: usize, last_comma: bool) {
    for (k, item) in items.iter().enumerate() {
        push_newline(out, indent);
        out.push_str(item.as_ref());
        if k + 1 < items.len() || last_comma {
            out.push(',');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `derive` keeps the last list it laid out: interleaved lists, margins and indentations
    /// give what laying each out afresh gives.
    #[test]
    fn derives_equal_the_group_they_stand_for() {
        let short = "Debug, Clone";
        let long =
            "::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::serde::Serialize, ::serde::Deserialize";
        let cases =
            [(89, 0, long), (89, 0, long), (89, 4, long), (85, 4, long), (89, 0, short), (89, 0, long), (200, 0, long)];
        for (margin, indent, list) in cases {
            let items: Vec<&str> = list.split(", ").collect();
            assert_eq!(derive(margin, indent, list), group(margin, indent, "#[derive(", &items, "", ")]", "", false));
        }
        assert!(derive(89, 0, long).contains('\n') && !derive(200, 0, long).contains('\n'));
    }

    #[test]
    fn doc_comments_decode_debug_literals() {
        assert_eq!(doc_comment(r#"" a \"b\" \\ \u{202e}x  ""#).unwrap(), "/// a \"b\" \\ \u{202e}x");
        assert_eq!(doc_comment(r#"" ""#).unwrap(), "///");
        assert_eq!(doc_comment(r#""/x""#), None);
    }

    #[test]
    fn long_types_break_at_the_outermost_generic_arguments() {
        let t = "::std::option::Option<::std::collections::BTreeMap<::std::string::String, ::std::string::String>>";
        assert_eq!(
            ty(MARGIN, 4, "pub labels: ", t, ","),
            "pub labels: ::std::option::Option<\n        ::std::collections::BTreeMap<::std::string::String, ::std::string::String>,\n    >,"
        );
        assert_eq!(ty(MARGIN, 4, "pub a: ", "::std::vec::Vec<u8>", ","), "pub a: ::std::vec::Vec<u8>,");
    }
}
