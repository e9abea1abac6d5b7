//! NATS subject templates: `orders.{region}.created`, `audit.>`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Token {
    Literal(String),
    Param(String),
    /// `*`: one token, any value (receive only).
    Star,
    /// `>`: one or more trailing tokens (receive only).
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SubjectTemplate {
    pub tokens: Vec<Token>,
}

impl SubjectTemplate {
    /// Parses an address; the error says what is wrong with it.
    pub fn parse(address: &str) -> Result<Self, String> {
        if address.is_empty() {
            return Err("the subject is empty".into());
        }
        let parts: Vec<&str> = address.split('.').collect();
        let mut tokens = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let token = if part.is_empty() {
                return Err(format!("`{address}` has an empty token (two dots, or a leading/trailing dot)"));
            } else if *part == "*" {
                Token::Star
            } else if *part == ">" {
                if i + 1 != parts.len() {
                    return Err(format!("`{address}`: `>` must be the last token"));
                }
                Token::Rest
            } else if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                // AsyncAPI's own grammar for parameter keys; anything else (line breaks, quotes,
                // `macro_rules!`) would have to be escaped everywhere the name is printed.
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')) {
                    return Err(format!(
                        "`{}`: parameter `{}` must be named with ASCII letters, digits, `_` and `-`",
                        address.escape_default(),
                        part.escape_default()
                    ));
                }
                Token::Param(name.to_string())
            } else if part.contains(['{', '}']) {
                return Err(format!(
                    "`{address}`: parameter in `{part}` must be a whole subject token (write `a.{{id}}.b`, not `a.x{{id}}.b`)"
                ));
            } else if part.contains(['*', '>']) || part.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("`{address}`: token `{part}` contains a wildcard or whitespace"));
            } else {
                Token::Literal(part.to_string())
            };
            tokens.push(token);
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &tokens {
            if let Token::Param(p) = t {
                if !seen.insert(p) {
                    return Err(format!("`{address}`: parameter `{{{p}}}` appears twice"));
                }
            }
        }
        Ok(SubjectTemplate { tokens })
    }

    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|t| match t {
            Token::Param(p) => Some(p.as_str()),
            _ => None,
        })
    }

    pub fn has_wildcard(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::Star | Token::Rest))
    }

    /// The filter form: parameters become `*`.
    pub fn filter(&self) -> String {
        self.render(|t| match t {
            Token::Literal(l) => l.clone(),
            Token::Param(_) | Token::Star => "*".into(),
            Token::Rest => ">".into(),
        })
    }

    /// The literal tokens, for naming (`orders.{region}.created` → `orders`, `created`).
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|t| match t {
            Token::Literal(l) => Some(l.as_str()),
            _ => None,
        })
    }

    fn render(&self, f: impl Fn(&Token) -> String) -> String {
        self.tokens.iter().map(f).collect::<Vec<_>>().join(".")
    }
}

impl fmt::Display for SubjectTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.render(|t| match t {
            Token::Literal(l) => l.clone(),
            Token::Param(p) => format!("{{{p}}}"),
            Token::Star => "*".into(),
            Token::Rest => ">".into(),
        });
        f.write_str(&s)
    }
}

/// Whether every subject matched by filter `inner` is also matched by filter `outer`.
pub fn filter_covers(outer: &str, inner: &str) -> bool {
    let o: Vec<&str> = outer.split('.').collect();
    let i: Vec<&str> = inner.split('.').collect();
    for (idx, ot) in o.iter().enumerate() {
        match *ot {
            ">" => return i.len() > idx,
            _ if idx >= i.len() => return false,
            "*" => {
                if i[idx] == ">" {
                    return false;
                }
            }
            lit => {
                if i[idx] != lit {
                    return false;
                }
            }
        }
    }
    o.len() == i.len()
}

/// Whether some subject is matched by both filters.
pub fn filters_overlap(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.split('.').collect();
    let b: Vec<&str> = b.split('.').collect();
    for idx in 0..a.len().max(b.len()) {
        match (a.get(idx), b.get(idx)) {
            (Some(&">"), Some(_)) | (Some(_), Some(&">")) => return true,
            (Some(x), Some(y)) => {
                if *x != "*" && *y != "*" && x != y {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parameters_and_wildcards() {
        let s = SubjectTemplate::parse("orders.{region}.created").unwrap();
        assert_eq!(s.filter(), "orders.*.created");
        assert_eq!(s.params().collect::<Vec<_>>(), ["region"]);
        assert!(SubjectTemplate::parse("audit.>").unwrap().has_wildcard());
        assert!(SubjectTemplate::parse("a.x{id}").is_err());
        assert!(SubjectTemplate::parse("a..b").is_err());
        assert!(SubjectTemplate::parse("a.>.b").is_err());
        assert!(SubjectTemplate::parse("a.{x}.{x}").is_err());
        assert!(SubjectTemplate::parse("a.{x\npub const EVIL: u8 = 1;\n//}").is_err());
        assert!(SubjectTemplate::parse("a.{user-id_2}").is_ok());
    }

    #[test]
    fn coverage_and_overlap() {
        assert!(filter_covers("orders.>", "orders.*.created"));
        assert!(filter_covers("orders.*.created", "orders.eu.created"));
        assert!(!filter_covers("orders.*", "orders.>"));
        assert!(!filter_covers("orders.*.created", "orders.>"));
        assert!(filters_overlap("orders.*", "orders.eu"));
        assert!(filters_overlap("a.>", "a.b.c"));
        assert!(!filters_overlap("a.b", "a.c"));
        assert!(!filters_overlap("a.b", "a.b.c"));
    }
}

/// Filter subjects indexed token by token, so coverage and overlap queries
/// over thousands of subjects are not all-pairs comparisons.
#[derive(Debug)]
pub struct FilterTrie<T> {
    root: TrieNode<T>,
}

#[derive(Debug)]
struct TrieNode<T> {
    children: std::collections::BTreeMap<String, TrieNode<T>>,
    values: Vec<T>,
}

impl<T> Default for TrieNode<T> {
    fn default() -> Self {
        TrieNode { children: Default::default(), values: Vec::new() }
    }
}

impl<T> Default for FilterTrie<T> {
    fn default() -> Self {
        FilterTrie { root: TrieNode::default() }
    }
}

impl<T> FilterTrie<T> {
    pub fn insert(&mut self, filter: &str, value: T) {
        let mut node = &mut self.root;
        for token in filter.split('.') {
            node = node.children.entry(token.to_string()).or_default();
        }
        node.values.push(value);
    }

    /// Values of stored filters that match every subject `filter` matches.
    pub fn covering(&self, filter: &str) -> Vec<&T> {
        fn walk<'a, T>(node: &'a TrieNode<T>, tokens: &[&str], out: &mut Vec<&'a T>) {
            let Some((first, rest)) = tokens.split_first() else {
                out.extend(&node.values);
                return;
            };
            if let Some(gt) = node.children.get(">") {
                out.extend(&gt.values);
            }
            if *first != ">" {
                if let Some(star) = node.children.get("*") {
                    walk(star, rest, out);
                }
            }
            if *first != "*" && *first != ">" {
                if let Some(lit) = node.children.get(*first) {
                    walk(lit, rest, out);
                }
            }
        }
        let tokens: Vec<&str> = filter.split('.').collect();
        let mut out = Vec::new();
        walk(&self.root, &tokens, &mut out);
        out
    }

    /// Values of stored filters that match at least one subject `filter` also matches.
    pub fn overlapping(&self, filter: &str) -> Vec<&T> {
        fn all<'a, T>(node: &'a TrieNode<T>, out: &mut Vec<&'a T>) {
            for child in node.children.values() {
                out.extend(&child.values);
                all(child, out);
            }
        }
        fn walk<'a, T>(node: &'a TrieNode<T>, tokens: &[&str], out: &mut Vec<&'a T>) {
            let Some((first, rest)) = tokens.split_first() else {
                out.extend(&node.values);
                return;
            };
            if *first == ">" {
                all(node, out);
                return;
            }
            if let Some(gt) = node.children.get(">") {
                out.extend(&gt.values);
            }
            if *first == "*" {
                for (key, child) in &node.children {
                    if key != ">" {
                        walk(child, rest, out);
                    }
                }
            } else {
                if let Some(star) = node.children.get("*") {
                    walk(star, rest, out);
                }
                if let Some(lit) = node.children.get(*first) {
                    walk(lit, rest, out);
                }
            }
        }
        let tokens: Vec<&str> = filter.split('.').collect();
        let mut out = Vec::new();
        walk(&self.root, &tokens, &mut out);
        out
    }
}

#[cfg(test)]
mod trie_tests {
    use super::*;

    /// The trie agrees with the pairwise definitions on every pair of a varied set.
    #[test]
    fn trie_matches_pairwise_semantics() {
        let filters = ["a", "a.b", "a.*", "a.>", "*", ">", "*.b", "a.b.c", "a.*.c", "b.>", "a.b.>", "*.*"];
        let mut trie = FilterTrie::default();
        for (i, f) in filters.iter().enumerate() {
            trie.insert(f, i);
        }
        for q in filters {
            let mut covering: Vec<usize> = trie.covering(q).into_iter().copied().collect();
            covering.sort();
            let expected: Vec<usize> = (0..filters.len()).filter(|&i| filter_covers(filters[i], q)).collect();
            assert_eq!(covering, expected, "covering {q}");
            let mut overlapping: Vec<usize> = trie.overlapping(q).into_iter().copied().collect();
            overlapping.sort();
            let expected: Vec<usize> = (0..filters.len()).filter(|&i| filters_overlap(filters[i], q)).collect();
            assert_eq!(overlapping, expected, "overlapping {q}");
        }
    }
}
