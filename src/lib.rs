//! asyncapi-nats: generate typed Rust NATS/JetStream clients and NACK
//! manifests from AsyncAPI 3.0 and 2.6 documents.
//!
//! The pipeline: [`load`] (YAML/JSON + `$ref`) → [`model`] (2.6 and 3.0 into
//! one IR) → [`types`] (JSON Schema → Rust type IR) → [`render`] (view model +
//! templates + prettyplease) → [`write`].
//!
//! From a build script:
//!
//! ```no_run
//! asyncapi_nats::Config::new().compile("asyncapi.yaml").unwrap();
//! ```

pub mod duration;
pub mod error;
pub mod jetstream;
pub mod load;
pub mod manifests;
pub mod model;
pub mod naming;
#[cfg(feature = "live")]
pub mod ops;
pub mod render;
pub mod subject;
pub mod types;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use render::view::Parts;
pub use write::{Drift, GeneratedFile, WriteReport};

use load::{NodeId, Source};
use model::Api;
use render::Renderer;
use types::TypeSpace;

/// Generator settings, in the style of `prost_build::Config`.
#[derive(Debug, Clone)]
pub struct Config {
    crate_name: Option<String>,
    module_name: Option<String>,
    default_stream: Option<String>,
    parts: Parts,
    extra_derives: Vec<String>,
    type_attributes: Vec<String>,
    type_overrides: BTreeMap<String, String>,
    out_dir: Option<PathBuf>,
    overlays: Vec<PathBuf>,
    manifests: manifests::ManifestOptions,
    deny_warnings: bool,
    strict_datetimes: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            crate_name: None,
            module_name: None,
            default_stream: None,
            parts: Parts { types: true, publishers: true, subscribers: true },
            extra_derives: Vec::new(),
            type_attributes: Vec::new(),
            type_overrides: BTreeMap::new(),
            out_dir: None,
            overlays: Vec::new(),
            manifests: manifests::ManifestOptions::default(),
            deny_warnings: false,
            strict_datetimes: false,
        }
    }
}

/// Everything generated from one document, plus the files it was read from.
#[derive(Debug, Clone)]
pub struct Generated {
    pub files: Vec<GeneratedFile>,
    /// Every input file (the spec and each file reached through `$ref`), canonical paths.
    pub inputs: Vec<PathBuf>,
    /// What was dropped, approximated or skipped, located like errors.
    pub warnings: Vec<Error>,
}

impl Config {
    pub fn new() -> Self {
        Config::default()
    }

    /// Package name of a generated crate (default: from `info.title`).
    pub fn crate_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.crate_name = Some(name.into());
        self
    }

    /// File name (without `.rs`) written by [`Config::compile`] (default: the spec's file stem).
    pub fn module_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.module_name = Some(name.into());
        self
    }

    /// Stream assumed when the document declares none (default: from `info.title`).
    pub fn default_stream(&mut self, name: impl Into<String>) -> &mut Self {
        self.default_stream = Some(name.into());
        self
    }

    /// Which parts to emit; subjects and runtime support are always emitted when needed.
    pub fn parts(&mut self, parts: Parts) -> &mut Self {
        self.parts = parts;
        self
    }

    /// An extra derive for every generated struct and enum, e.g. `"::schemars::JsonSchema"`.
    pub fn derive(&mut self, path: impl Into<String>) -> &mut Self {
        self.extra_derives.push(path.into());
        self
    }

    /// An extra attribute (without `#[…]`) for every generated type, e.g. `"non_exhaustive"`.
    pub fn type_attribute(&mut self, attribute: impl Into<String>) -> &mut Self {
        self.type_attributes.push(attribute.into());
        self
    }

    /// Use an existing Rust type for a schema (by generated type name, or `file#/pointer`).
    pub fn type_override(&mut self, schema: impl Into<String>, rust_path: impl Into<String>) -> &mut Self {
        self.type_overrides.insert(schema.into(), rust_path.into());
        self
    }

    /// A YAML/JSON document merged into the spec before generation (JSON Merge Patch,
    /// RFC 7386), e.g. `x-jetstream` settings for a document another tool generates.
    /// Repeatable; applied in order.
    pub fn overlay(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.overlays.push(path.into());
        self
    }

    /// Decode date-times as strict RFC 3339 (default: also accept date-times without an offset, as
    /// pydantic writes naive `datetime`s, and read them as UTC).
    pub fn strict_datetimes(&mut self, strict: bool) -> &mut Self {
        self.strict_datetimes = strict;
        self
    }

    /// Treat warnings (dropped keywords, skipped channels, approximated types) as errors.
    pub fn deny_warnings(&mut self, deny: bool) -> &mut Self {
        self.deny_warnings = deny;
        self
    }

    /// The result of a run: `files`, with every warning; with [`Config::deny_warnings`], an
    /// error listing all of them when there is any.
    fn finish(&self, source: &Source, files: Vec<GeneratedFile>) -> Result<Generated> {
        let warnings = source.warnings();
        if self.deny_warnings && !warnings.is_empty() {
            let listed: Vec<String> = warnings.iter().map(|w| format!("warning: {w}")).collect();
            return Err(Error::new(format!(
                "{} warning(s) denied (Config::deny_warnings / --deny-warnings):\n{}",
                warnings.len(),
                listed.join("\n")
            ))
            .hint("fix the document (or an overlay) so nothing is dropped, or allow warnings"));
        }
        Ok(Generated { files, inputs: source.paths().into_iter().map(Path::to_path_buf).collect(), warnings })
    }

    fn load(&self, spec: &Path) -> Result<Source> {
        let mut source = Source::load(spec)?;
        for overlay in &self.overlays {
            source.apply_overlay(overlay)?;
        }
        Ok(source)
    }

    /// Output directory of [`Config::compile`] (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Options of the NACK manifests (namespace, account, `preventDelete`, …).
    pub fn manifest_options(&mut self, options: manifests::ManifestOptions) -> &mut Self {
        self.manifests = options;
        self
    }

    /// Generates the ops files only (`deploy/` of [`Config::generate_crate`], paths without `deploy/`).
    pub fn generate_manifests(&self, spec: impl AsRef<Path>) -> Result<Generated> {
        let source = self.load(spec.as_ref())?;
        let api = model::build(&source, &model::ModelOptions { default_stream: self.default_stream.clone() })?;
        let files = manifests::build(&source, &api, &self.manifests)?.files(&api.title, &header(&source));
        self.finish(&source, files)
    }

    /// Generates a whole crate (`Cargo.toml`, `src/*.rs`, and the NACK manifests under `deploy/`) from `spec`, without writing.
    pub fn generate_crate(&self, spec: impl AsRef<Path>) -> Result<Generated> {
        let prepared = self.prepare(spec.as_ref(), true)?;
        let renderer = Renderer::new();
        let header = header(&prepared.source);
        let mut files = Vec::new();
        let cargo = renderer.text("Cargo.toml.jinja", &prepared.view)?;
        files.push(GeneratedFile { path: "Cargo.toml".into(), contents: format!("# {header}\n{cargo}") });
        // The generator formats its output; rustfmt must not, or `gen --check` would report drift.
        files.push(GeneratedFile {
            path: "rustfmt.toml".into(),
            contents: format!("# {header}\n# Formatted by the generator; rustfmt leaves it as is so `gen --check` stays exact.\ndisable_all_formatting = true\n"),
        });
        let modules = self.module_bodies(&renderer, &prepared)?;
        let names: Vec<&str> = modules.iter().map(|(n, _)| *n).collect();
        let lib =
            renderer.rust("lib.rs.jinja", &serde_json::json!({ "docs": prepared.view.docs, "modules": names }))?;
        files.push(GeneratedFile { path: "src/lib.rs".into(), contents: format!("// {header}\n{lib}") });
        for (name, body) in modules {
            files.push(GeneratedFile {
                path: format!("src/{name}.rs").into(),
                contents: format!("// {header}\n{body}"),
            });
        }
        let ops = manifests::build(&prepared.source, &prepared.api, &self.manifests)?;
        for file in ops.files(&prepared.api.title, &header) {
            files.push(GeneratedFile { path: Path::new("deploy").join(file.path), contents: file.contents });
        }
        self.finish(&prepared.source, files)
    }

    /// Generates one module file (for `include!`) from `spec`, without writing.
    pub fn generate(&self, spec: impl AsRef<Path>) -> Result<Generated> {
        let spec = spec.as_ref();
        let prepared = self.prepare(spec, false)?;
        let renderer = Renderer::new();
        let modules: Vec<serde_json::Value> = self
            .module_bodies(&renderer, &prepared)?
            .into_iter()
            .map(|(name, body)| serde_json::json!({ "name": name, "body": body }))
            .collect();
        let text = renderer.rust("module.rs.jinja", &serde_json::json!({ "modules": modules }))?;
        let name = self.module_name.clone().unwrap_or_else(|| {
            naming::value_name(spec.file_stem().and_then(|s| s.to_str()).unwrap_or("asyncapi"))
                .trim_start_matches("r#")
                .to_string()
        });
        let contents = format!("// {}\n{text}", header(&prepared.source));
        self.finish(&prepared.source, vec![GeneratedFile { path: format!("{name}.rs").into(), contents }])
    }

    /// For build scripts: generates the module into `$OUT_DIR` (or [`Config::out_dir`]),
    /// writing only when the bytes changed, and prints `cargo:rerun-if-changed`
    /// for the spec and every file reached through `$ref`.
    pub fn compile(&self, spec: impl AsRef<Path>) -> Result<WriteReport> {
        let generated = self.generate(spec)?;
        for input in &generated.inputs {
            println!("cargo:rerun-if-changed={}", input.display());
        }
        for warning in &generated.warnings {
            print!("{}", cargo_warning(warning));
        }
        let dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                Error::new("OUT_DIR is not set").hint("call compile() from a build script, or set Config::out_dir")
            })?,
        };
        write::write_files(&dir, &generated.files)
    }

    /// For build scripts: [`Config::compile`], reporting an error to Cargo instead of returning it.
    ///
    /// On error, prints it as `cargo::error=` lines (the message, `--> file:line:col (at #/pointer)`
    /// and `= help: …`), so `cargo build` shows where the spec is wrong and what to do, and exits
    /// with status 1 — no panic, no backtrace.
    pub fn compile_or_exit(&self, spec: impl AsRef<Path>) -> WriteReport {
        let spec = spec.as_ref();
        match self.compile(spec) {
            Ok(report) => report,
            Err(e) => {
                print!("{}", cargo_error(&e));
                let relative = if e.location.is_some() { "; paths above are relative to its folder" } else { "" };
                println!("cargo::error=  = note: asyncapi-nats was generating code from {}{relative}", spec.display());
                std::process::exit(1)
            }
        }
    }

    /// `crate_mode`: a whole crate (its own `Cargo.toml` features) rather than a module for `include!`.
    fn prepare(&self, spec: &Path, crate_mode: bool) -> Result<Prepared> {
        if !self.parts.types && (self.parts.publishers || self.parts.subscribers) {
            return Err(Error::new("publishers and subscribers need the generated types, but Parts::types is false")
                .hint("set `types: true`, or emit no publishers and subscribers (`Parts { types: false, publishers: false, subscribers: false }` emits the subjects only)"));
        }
        let source = self.load(spec)?;
        let api = model::build(&source, &model::ModelOptions { default_stream: self.default_stream.clone() })?;
        let messages: Vec<(NodeId, NodeId)> =
            api.messages.values().filter_map(|m| Some((m.node.clone(), m.payload.clone()?))).collect();
        let space = TypeSpace::build(&source, &type_roots(&source, &api), &messages, &["wire"])?;
        let view = render::build_view(
            &source,
            &api,
            &space,
            &render::view::ViewOptions {
                crate_name: self.crate_name.as_deref(),
                parts: self.parts,
                extra_derives: &self.extra_derives,
                type_attributes: &self.type_attributes,
                type_overrides: &self.type_overrides,
                strict_datetimes: self.strict_datetimes,
                schemars_feature: crate_mode,
            },
        )?;
        Ok(Prepared { source, api, view })
    }

    /// `(module name, formatted body)` for each emitted module.
    fn module_bodies(&self, renderer: &Renderer, prepared: &Prepared) -> Result<Vec<(&'static str, String)>> {
        let view = &prepared.view;
        let mut out = Vec::new();
        if self.parts.types {
            out.push(("types", renderer.rust("types.rs.jinja", view)?));
        }
        out.push(("subjects", renderer.rust("subjects.rs.jinja", view)?));
        if self.parts.publishers {
            out.push(("publishers", renderer.rust("publishers.rs.jinja", view)?));
        }
        if self.parts.subscribers {
            out.push(("subscribers", renderer.rust("subscribers.rs.jinja", view)?));
        }
        if self.parts.publishers || self.parts.subscribers {
            out.push(("runtime", renderer.rust("runtime.rs.jinja", view)?));
        }
        Ok(out)
    }
}

struct Prepared {
    source: Source,
    api: Api,
    view: render::CrateView,
}

/// `error` as `cargo::error=` directives (Cargo 1.84+), one per line since a directive cannot span
/// lines: for build scripts that handle [`Config::compile`]'s error themselves.
pub fn cargo_error(error: &Error) -> String {
    error.to_string().lines().map(|line| format!("cargo::error={line}\n")).collect()
}

/// `warning` as `cargo::warning=` directives, one per line.
pub fn cargo_warning(warning: &Error) -> String {
    warning.to_string().lines().map(|line| format!("cargo::warning={line}\n")).collect()
}

fn header(source: &Source) -> String {
    let overlays: String = source.overlays.iter().map(|o| format!(" + {o}")).collect();
    format!("@generated by asyncapi-nats {} from {}{overlays}. DO NOT EDIT.", env!("CARGO_PKG_VERSION"), source.root)
}

/// Schemas to generate types for: every component schema, and each message's payload and headers.
fn type_roots(source: &Source, api: &Api) -> Vec<(NodeId, String)> {
    let mut roots = Vec::new();
    let components = source.root_id().child("components").child("schemas");
    for (key, node) in model::entries(source, &components) {
        roots.push((node, key));
    }
    for message in api.messages.values() {
        if let Some(p) = &message.payload {
            roots.push((p.clone(), message.name.clone()));
        }
        if let Some(h) = &message.headers {
            roots.push((h.clone(), format!("{} headers", message.name)));
        }
    }
    roots
}
