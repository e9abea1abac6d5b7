//! Rendering: a view model prepared in Rust, printed by minijinja templates,
//! then parsed with syn and formatted with prettyplease. Template rules are in
//! `templates/README.md`.

pub mod view;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::{Error, Result};

pub use view::{CrateView, build_view};

/// Templates are embedded so build scripts need no files on disk.
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml.jinja", include_str!("../../templates/Cargo.toml.jinja")),
    ("lib.rs.jinja", include_str!("../../templates/lib.rs.jinja")),
    ("module.rs.jinja", include_str!("../../templates/module.rs.jinja")),
    ("types.rs.jinja", include_str!("../../templates/types.rs.jinja")),
    ("subjects.rs.jinja", include_str!("../../templates/subjects.rs.jinja")),
    ("publishers.rs.jinja", include_str!("../../templates/publishers.rs.jinja")),
    ("subscribers.rs.jinja", include_str!("../../templates/subscribers.rs.jinja")),
];

pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("default delimiters are valid"),
        );
        for (name, text) in TEMPLATES {
            env.add_template(name, text).expect("embedded templates are valid");
        }
        Renderer { env }
    }

    /// Renders a template to text (no formatting).
    pub fn text(&self, template: &str, ctx: &impl Serialize) -> Result<String> {
        let tmpl = self.env.get_template(template).map_err(|e| Error::new(format!("template {template}: {e}")))?;
        tmpl.render(minijinja::value::Serde(ctx)).map_err(|e| {
            Error::new(format!("template {template} failed: {e:#}"))
                .hint("this is a bug in asyncapi-nats; please report it with the spec")
        })
    }

    /// Renders a template that produces Rust and formats it; invalid Rust is an error naming the template.
    pub fn rust(&self, template: &str, ctx: &impl Serialize) -> Result<String> {
        let text = self.text(template, ctx)?;
        format_rust(template, &text)
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// Parses and pretty-prints generated Rust.
pub fn format_rust(origin: &str, text: &str) -> Result<String> {
    let file = syn::parse_file(text).map_err(|e| {
        let line = e.span().start().line;
        let snippet: String = text.lines().skip(line.saturating_sub(3)).take(5).collect::<Vec<_>>().join("\n");
        Error::new(format!("template {origin} produced invalid Rust: {e} (line {line})\n{snippet}"))
            .hint("this is a bug in asyncapi-nats; please report it with the spec")
    })?;
    Ok(space_items(&prettyplease::unparse(&file)))
}

/// prettyplease puts items back to back; a blank line between items at the
/// same depth makes generated files readable in review.
fn space_items(text: &str) -> String {
    const ITEM_STARTS: &[&str] = &[
        "///", "#[", "pub ", "impl", "fn ", "const ", "type ", "mod ", "use ", "enum ", "struct ", "trait ", "async fn",
    ];
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut prev: Option<&str> = None;
    for line in text.lines() {
        if let Some(p) = prev {
            let indent = line.len() - line.trim_start().len();
            let p_indent = p.len() - p.trim_start().len();
            let p_trim = p.trim();
            let ends_item =
                (p_trim == "}" || (p_trim.ends_with(';') && !p_trim.starts_with("//"))) && p_indent == indent;
            let after_inner_doc = p_trim.starts_with("//!") && !line.trim_start().starts_with("//!");
            let starts_item = ITEM_STARTS.iter().any(|s| line.trim_start().starts_with(s));
            if starts_item && (ends_item || after_inner_doc) {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        prev = Some(line);
    }
    out
}
