//! asyncapi-nats: generate typed Rust NATS/JetStream clients and NACK
//! manifests from AsyncAPI 2.0–2.6 and 3.0–3.2 documents.
//!
//! The pipeline: [`load`] (YAML/JSON + `$ref`) → [`model`] (2.x and 3.x into
//! one IR) → [`types`] (JSON Schema → Rust type IR) → [`render`] (view model +
//! templates + prettyplease) → [`write`](mod@write).
//!
//! From a build script:
//!
//! ```no_run
//! asyncapi_nats::Config::new().compile("asyncapi.yaml").unwrap();
//! ```

pub mod duration;
pub mod error;
pub mod escape;
pub mod jetstream;
pub mod load;
pub mod manifests;
pub mod model;
pub mod naming;
#[cfg(feature = "live")]
pub mod ops;
pub mod overlay;
pub mod render;
pub mod runtime_crate;
pub mod select;
pub mod subject;
pub mod types;
pub mod validate;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use render::view::Parts;
pub use runtime_crate::RuntimeDependency;
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
    only: Vec<String>,
    manifests: manifests::ManifestOptions,
    deny_warnings: bool,
    ref_root: Option<PathBuf>,
    strict_datetimes: bool,
    runtime: RuntimeDependency,
    path_subjects: bool,
    reference_format: bool,
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
            only: Vec::new(),
            manifests: manifests::ManifestOptions::default(),
            deny_warnings: false,
            ref_root: None,
            strict_datetimes: false,
            runtime: RuntimeDependency::Vendored,
            path_subjects: false,
            reference_format: false,
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
    /// Package name of the generated crate (`Cargo.toml` `name`; empty for modules and manifests).
    pub crate_name: String,
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
    /// Repeatable; applied in order. Its `x-asyncapi-nats` section names operations by their
    /// generated names and channels by their NATS subjects, so one overlay serves an app's
    /// AsyncAPI 2.x and 3.x documents alike (see [`crate::overlay`]).
    pub fn overlay(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.overlays.push(path.into());
        self
    }

    /// Generate only the operations whose generated name (subscriber module, publisher function)
    /// matches `pattern` (`*` for any characters), and what they need: their channels, messages,
    /// types, streams, consumers and permissions. Repeatable (any pattern may match). For one
    /// service's crate from a document that describes a whole platform (see [`crate::select`]).
    pub fn only(&mut self, pattern: impl Into<String>) -> &mut Self {
        self.only.push(pattern.into());
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

    /// Map channel addresses that are `/`-separated paths (`comment/{commentId}/changed`,
    /// `/rooms/{roomId}`, the path of a URL) to NATS subjects, one token per segment
    /// (`comment.{commentId}.changed`). Without it such channels keep their types but get no
    /// publishers or subscribers (with a warning each).
    pub fn path_subjects(&mut self, map: bool) -> &mut Self {
        self.path_subjects = map;
        self
    }

    /// Print every item with prettyplease, also those the templates lay out exactly (the
    /// reference the fast path is tested against; the output is the same).
    #[doc(hidden)]
    pub fn reference_format(&mut self, on: bool) -> &mut Self {
        self.reference_format = on;
        self
    }

    /// `prefix` (a header line) followed by `text` formatted.
    fn format(&self, origin: &str, text: &str, prefix: &str) -> Result<String> {
        render::format_rust_with(origin, text, !self.reference_format, prefix)
    }

    fn model_options(&self) -> model::ModelOptions {
        model::ModelOptions { default_stream: self.default_stream.clone(), path_subjects: self.path_subjects }
    }

    /// The result of a run: `files`, with every warning; with [`Config::deny_warnings`], an
    /// error listing all of them when there is any.
    fn finish(
        &self,
        warnings: Vec<Error>,
        inputs: Vec<PathBuf>,
        files: Vec<GeneratedFile>,
        crate_name: String,
    ) -> Result<Generated> {
        self.deny(&warnings)?;
        Ok(Generated { files, inputs, warnings, crate_name })
    }

    /// With [`Config::deny_warnings`], the warnings as errors.
    fn deny(&self, warnings: &[Error]) -> Result<()> {
        if self.deny_warnings {
            // Each warning becomes an error of its own, located and with its help, all at once.
            let denied = warnings.iter().map(|w| Error {
                message: format!("{} (a warning, denied by Config::deny_warnings / --deny-warnings)", w.message),
                ..w.clone()
            });
            if let Some(error) = Error::many(denied.collect(), Vec::new()) {
                return Err(error);
            }
        }
        Ok(())
    }

    /// The folder file `$ref`s may not leave (default: the spec's repository or Cargo workspace:
    /// the nearest ancestor holding `.git` or a `[workspace]` Cargo.toml, else the spec's folder).
    pub fn ref_root(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.ref_root = Some(dir.into());
        self
    }

    /// Where generated code gets its runtime support: by default the source of
    /// the `asyncapi-nats-runtime` crate is copied (vendored) into it, so it
    /// builds with nothing published; a version, path or git dependency makes
    /// the generated `runtime` module re-export that crate instead (and, for
    /// [`Config::generate_crate`], adds it to `Cargo.toml`; a build script's
    /// crate declares it itself).
    pub fn runtime_dependency(&mut self, dependency: RuntimeDependency) -> &mut Self {
        self.runtime = dependency;
        self
    }

    fn load(&self, spec: &Path) -> Result<Source> {
        let options = load::LoadOptions { ref_root: self.ref_root.clone() };
        let mut source = Source::load_with(spec, &options)?;
        // Every overlay is checked (all their errors at once); the model is not built on a document
        // an overlay could not patch, its errors would only follow from that.
        for overlay in &self.overlays {
            let result = source.apply_overlay(overlay);
            source.reported(result);
        }
        source.check_errors()?;
        // Then their version-neutral sections, by generated names.
        overlay::apply(&mut source, &self.model_options())?;
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
        let api = self.model(&source)?;
        let deploy = source.reported(manifests::build(&source, &api, &self.manifests));
        source.check_errors()?;
        let files = deploy.map(|d| d.files(&api.title, &header(&source))).unwrap_or_default();
        self.finish(source.warnings(), inputs_of(&source), files, String::new())
    }

    /// Generates a whole crate (`Cargo.toml`, `src/*.rs`, and the NACK manifests under `deploy/`) from `spec`, without writing.
    pub fn generate_crate(&self, spec: impl AsRef<Path>) -> Result<Generated> {
        self.generate_crate_timed(spec, &mut Timings::default())
    }

    /// [`Config::generate_crate`], recording the wall time of each stage in `timings`.
    pub fn generate_crate_timed(&self, spec: impl AsRef<Path>, timings: &mut Timings) -> Result<Generated> {
        let Prepared { view, header, inputs, warnings, deploy, made } = self.prepare(spec.as_ref(), true, timings)?;
        let crate_name = view.crate_name.clone();
        let renderer = Renderer::new();
        let mut files = Vec::new();
        let mut view = view;
        let ctx = timings.time(RENDER, || Renderer::context(&mut view));
        let docs = std::mem::take(&mut view.docs);
        drop(view);
        let cargo = timings.time(RENDER, || renderer.text_with("Cargo.toml.jinja", ctx.value.clone()))?;
        files.push(GeneratedFile { path: "Cargo.toml".into(), contents: format!("# {header}\n{cargo}") });
        // The generator formats its output; rustfmt must not, or `gen --check` would report drift.
        files.push(GeneratedFile {
            path: "rustfmt.toml".into(),
            contents: format!("# {header}\n# Formatted by the generator; rustfmt leaves it as is so `gen --check` stays exact.\ndisable_all_formatting = true\n"),
        });
        let modules = self.module_bodies(&renderer, ctx, made, &format!("// {header}\n"), timings)?;
        let names: Vec<&str> = modules.iter().map(|(n, _)| *n).collect();
        let lib = timings
            .time(RENDER, || renderer.text("lib.rs.jinja", &serde_json::json!({ "docs": docs, "modules": names })))?;
        let lib = timings.time(RENDER, || self.format("lib.rs.jinja", &lib, &format!("// {header}\n")))?;
        files.push(GeneratedFile { path: "src/lib.rs".into(), contents: lib });
        for (name, contents) in modules {
            files.push(GeneratedFile { path: format!("src/{name}.rs").into(), contents });
        }
        for file in deploy.into_iter().flatten() {
            files.push(GeneratedFile { path: Path::new("deploy").join(file.path), contents: file.contents });
        }
        self.finish(warnings, inputs, files, crate_name)
    }

    /// Generates one module file (for `include!`) from `spec`, without writing.
    pub fn generate(&self, spec: impl AsRef<Path>) -> Result<Generated> {
        let mut module = self.prepare_module(spec.as_ref())?;
        let (text, _) = self.module_text(&mut module, None)?;
        let files = vec![GeneratedFile { path: module.file.into(), contents: text }];
        self.finish(module.warnings, module.inputs, files, String::new())
    }

    /// For build scripts: generates the module into `$OUT_DIR` (or [`Config::out_dir`]),
    /// writing only when the bytes changed, and prints `cargo:rerun-if-changed`
    /// for the spec and every file reached through `$ref`. The file is written as it is made
    /// (compared with the file there, never whole in memory): the same bytes as
    /// [`Config::generate`]'s, with about 60 MB less at the peak at 5,000 channels.
    pub fn compile(&self, spec: impl AsRef<Path>) -> Result<WriteReport> {
        let mut module = self.prepare_module(spec.as_ref())?;
        for input in &module.inputs {
            println!("cargo:rerun-if-changed={}", input.display());
        }
        for warning in module.warnings.iter().take(error::MAX_ERRORS) {
            print!("{}", cargo_warning(warning));
        }
        if module.warnings.len() > error::MAX_ERRORS {
            let more = module.warnings.len() - error::MAX_ERRORS;
            println!(
                "cargo::warning=and {more} more warning{} (the first {} are listed)",
                error::plural(more),
                error::MAX_ERRORS
            );
        }
        let dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                Error::new("OUT_DIR is not set").hint("call compile() from a build script, or set Config::out_dir")
            })?,
        };
        std::fs::create_dir_all(&dir).map_err(|e| write::io_error(&dir, e))?;
        let mut update = write::FileUpdate::new(&dir.join(&module.file))?;
        let mut flush = |piece: &str| update.put(piece);
        let (rest, whole) = self.module_text(&mut module, Some(&mut flush))?;
        if whole {
            // Formatted whole after all: the wrapper could not be cut at its modules (known before
            // anything went to the file; started over all the same).
            update.restart()?;
        }
        update.put(&rest)?;
        let mut report = WriteReport::default();
        match update.finish()? {
            true => report.written.push(module.file.into()),
            false => report.unchanged.push(module.file.into()),
        }
        Ok(report)
    }

    /// The single file's parts, up to rendering: errors and denied warnings are reported here,
    /// before anything is written.
    fn prepare_module(&self, spec: &Path) -> Result<ModuleParts> {
        let mut prepared = self.prepare(spec, false, &mut Timings::default())?;
        if let Some(name) = &self.module_name {
            naming::check_module_name(name).map_err(|e| {
                Error::new(format!("module name `{}`: {e}", name.escape_default()))
                    .hint("pass a name such as `orders_api` to Config::module_name")
            })?;
        }
        self.deny(&prepared.warnings)?;
        let ctx = Renderer::context(&mut prepared.view);
        drop(prepared.view);
        let name = self.module_name.clone().unwrap_or_else(|| {
            naming::value_name(spec.file_stem().and_then(|s| s.to_str()).unwrap_or("asyncapi"))
                .trim_start_matches("r#")
                .to_string()
        });
        Ok(ModuleParts {
            ctx: Some(ctx),
            made: prepared.made,
            header: format!("// {}\n", prepared.header),
            inputs: prepared.inputs,
            warnings: prepared.warnings,
            file: format!("{name}.rs"),
        })
    }

    /// The single file's text: with `flush`, the text goes there as it is made and the rest is
    /// returned. `true`: the text returned is the whole file after all (what went to `flush`
    /// does not count).
    fn module_text<'f>(
        &self,
        module: &mut ModuleParts,
        flush: Option<&'f mut render::Flush<'f>>,
    ) -> Result<(String, bool)> {
        let renderer = Renderer::new();
        let ctx = module.ctx.take().ok_or_else(|| Error::new("the module was rendered twice"))?;
        let out = render::FileOut { prefix: &module.header, flush, flush_at: render::FLUSH_BYTES };
        if let Some(text) = self.module_file(&renderer, &ctx, &module.made, out)? {
            free_aside(ctx);
            return Ok((text, false));
        }
        // The modules are formatted once, inside the single file (formatting each on its own
        // first would print the same text twice: the nesting changes the line width).
        // Template values made from the texts directly (through `serde_json` each body was
        // copied once more: ~110 MB at 5,000 channels).
        let modules: Vec<minijinja::Value> = self
            .module_texts(&renderer, ctx, std::mem::take(&mut module.made), &mut Timings::default())?
            .into_iter()
            .map(|(name, _, parts)| minijinja::context! { name, body => minijinja::Value::from(parts.concat()) })
            .collect();
        // The bodies are freed with the context, once rendered.
        let text = renderer.text_with("module.rs.jinja", minijinja::context! { modules })?;
        Ok((self.format("module.rs.jinja", &text, &module.header)?, true))
    }

    /// For build scripts: [`Config::compile`], reporting an error to Cargo instead of returning it.
    ///
    /// On error, prints every error of the run as `cargo::error=` lines (the message,
    /// `--> file:line:col (at #/pointer)` and `= help: …`) after the run's warnings
    /// (`cargo::warning=`), so `cargo build` shows where the spec is wrong and what to do, and
    /// exits with status 1 — no panic, no backtrace.
    pub fn compile_or_exit(&self, spec: impl AsRef<Path>) -> WriteReport {
        let spec = spec.as_ref();
        match self.compile(spec) {
            Ok(report) => report,
            Err(e) => {
                for warning in e.warnings().iter().take(error::MAX_ERRORS) {
                    print!("{}", cargo_warning(warning));
                }
                print!("{}", cargo_error(&e));
                let relative = if e.location.is_some() { "; paths above are relative to its folder" } else { "" };
                println!("cargo::error=  = note: asyncapi-nats was generating code from {}{relative}", spec.display());
                std::process::exit(1)
            }
        }
    }

    /// `crate_mode`: a whole crate (its own `Cargo.toml` features and NACK manifests) rather than a
    /// module for `include!`. The document, the model and the type IR are freed as soon as the
    /// stages after them no longer need them (peak memory): the document before the view is built.
    fn prepare(&self, spec: &Path, crate_mode: bool, timings: &mut Timings) -> Result<Prepared> {
        if !self.parts.types && (self.parts.publishers || self.parts.subscribers) {
            return Err(Error::new("publishers and subscribers need the generated types, but Parts::types is false")
                .hint("set `types: true`, or emit no publishers and subscribers (`Parts { types: false, publishers: false, subscribers: false }` emits the subjects only)"));
        }
        if let Some(name) = &self.crate_name {
            naming::check_crate_name(name).map_err(|e| {
                Error::new(format!("crate name `{}` {e}", name.escape_default()))
                    .hint("pass a Cargo package name such as `orders-client` (--crate-name / Config::crate_name)")
            })?;
        }
        let source = timings.time("load", || self.load(spec))?;
        // From here on, stages report their errors and go on with what does not depend on them;
        // the run stops before rendering with all of them.
        // The index of positions is sorted on the other core meanwhile (a diagnostic that needs it
        // first waits for it).
        let (api, ()) =
            timings.time("model", || beside("positions", || source.index_positions(), || self.model(&source)));
        let api = api?;
        let messages: Vec<(NodeId, NodeId, bool)> = api
            .messages
            .values()
            .filter_map(|m| Some((m.node.clone(), m.payload.clone()?, m.encoding == model::Encoding::Json)))
            .collect();
        let header = header(&source);
        let view_options = render::view::ViewOptions {
            crate_name: self.crate_name.as_deref(),
            parts: self.parts,
            extra_derives: &self.extra_derives,
            type_attributes: &self.type_attributes,
            type_overrides: &self.type_overrides,
            strict_datetimes: self.strict_datetimes,
            schemars_feature: crate_mode,
            base: if crate_mode { 0 } else { 4 },
        };
        // The manifests and `subjects.rs` need only the model: made on another thread while the
        // types are built (the types stage has one core to itself).
        let exact = !self.reference_format;
        let prefix = format!("// {header}\n");
        // Made ahead: formatted in a crate; in the single file, formatted inside it with the rest.
        let made_ahead = |module: &'static str, text: Result<String>| -> Result<(&'static str, String)> {
            let text = text?;
            if crate_mode {
                Ok((module, Renderer::format_module(module, &text, exact, &prefix)?))
            } else {
                Ok((module, text))
            }
        };
        let beside_types = || {
            let (cpu, start) = (proc_stats::thread_cpu_time(), std::time::Instant::now());
            let manifests = crate_mode.then(|| {
                let manifests = source.reported(manifests::build(&source, &api, &self.manifests));
                manifests.map(|m| m.files(&api.title, &header))
            });
            let manifests_time = (start.elapsed(), proc_stats::thread_cpu_time().saturating_sub(cpu));
            let (cpu, start) = (proc_stats::thread_cpu_time(), std::time::Instant::now());
            let subjects = render::view::Subjects::of(&api);
            let globals = render::view::SubjectsGlobals::new(&api, &subjects, &view_options);
            let subjects_rs = Renderer::new()
                .subjects_text(subjects, &globals)
                .and_then(|(text, subjects)| Ok((made_ahead("subjects", Ok(text))?, subjects)));
            let subjects_time = (start.elapsed(), proc_stats::thread_cpu_time().saturating_sub(cpu));
            (manifests, manifests_time, subjects_rs, subjects_time)
        };
        let (space, (deploy, (wall, cpu), subjects_rs, (s_wall, s_cpu))) = beside("beside-types", beside_types, || {
            timings.time("types", || {
                TypeSpace::build(&source, &type_roots(&source, &api, !self.only.is_empty()), &messages, &["wire"])
            })
        });
        let space = source.reported(space);
        if deploy.is_some() {
            timings.beside("types", "manifests", wall, cpu);
        }
        timings.beside("types", "subjects", s_wall, s_cpu);
        let deploy = deploy.flatten();
        source.check_errors()?;
        // No error was reported, so the types were built.
        let space = space.ok_or_else(|| Error::new("the types were not built"))?;
        // Every stage that warns has run.
        let warnings = source.warnings();
        let inputs = inputs_of(&source);
        let (subjects_rs, subjects) = subjects_rs?;
        // `subscribers.rs` is rendered from its views on the thread that made them (with the
        // publishers' views, about as long together as the types' views on the other thread),
        // while the types' views are made: its template reads nothing else.
        let renderer = Renderer::new();
        let make_subscribers = |subscribers| {
            let (cpu, start) = (proc_stats::thread_cpu_time(), std::time::Instant::now());
            let made = match self.parts.subscribers {
                true => made_ahead("subscribers", renderer.subscribers_text(subscribers, view_options.base)).map(Some),
                false => Ok(None),
            };
            (made, start.elapsed(), proc_stats::thread_cpu_time().saturating_sub(cpu))
        };
        // Freed on this thread before the views are made: they reuse its memory (peak −30 MB
        // against freeing it on another thread while they are made; and while the publishers'
        // views are made on another, the peak was 305 MB in one run of five, 270 MB otherwise).
        // The model and the types are freed in the view, not aside: rendering reuses the memory
        // (+40 MB peak when freed on another thread).
        timings.time("view", || drop(source));
        let (view, channels) =
            timings.time("view", || render::build_view(api, space, &view_options, subjects, &make_subscribers))?;
        let (subscribers_rs, wall, cpu) = channels;
        timings.beside("view", "subscribers", wall, cpu);
        let made: Vec<(&'static str, String)> = std::iter::once(subjects_rs).chain(subscribers_rs?).collect();
        let mut view = view;
        view.runtime_dependency = self.runtime.cargo_line();
        Ok(Prepared { view, header, inputs, warnings, deploy, made })
    }

    /// The model of `source`, checked (names, numbers, subjects; see [`validate`]). Only what stops
    /// the model from being built (no or an unknown AsyncAPI version) is returned as an error; the
    /// rest is reported to `source`, and what it concerns is left out of the model.
    fn model(&self, source: &Source) -> Result<Api> {
        let mut api = model::build(source, &self.model_options())?;
        if !self.only.is_empty() {
            select::select(&mut api, &self.only)?;
            source.retain_warnings(|w| !w.location.as_ref().is_some_and(|at| select::left_out(&api, &source.root, at)));
        }
        validate::check(source, &api);
        Ok(api)
    }

    /// `(module name, prefix + formatted body)` for each emitted module, each rendered and
    /// formatted in jobs on every core ([`Renderer::rust_texts`]); `made`: modules made already.
    fn module_bodies(
        &self,
        renderer: &Renderer,
        ctx: render::ViewContext,
        made: Vec<(&'static str, String)>,
        prefix: &str,
        timings: &mut Timings,
    ) -> Result<Vec<(&'static str, String)>> {
        let render = |templates: &[&str]| {
            timings.time(RENDER, || renderer.rust_texts(templates, ctx, !self.reference_format, prefix))
        };
        let mut out: Vec<(&'static str, String)> =
            self.with_made(made, render, |text| text)?.into_iter().map(|(name, _, text)| (name, text)).collect();
        if self.parts.publishers || self.parts.subscribers {
            // The runtime crate's source is already formatted and stays byte for byte.
            out.push(("runtime", format!("{prefix}{}", self.runtime.module())));
        }
        Ok(out)
    }

    /// The single file rendered and formatted in jobs on every core ([`Renderer::module_file`]);
    /// `None` when the wrapper cannot be cut at its modules (formatted whole instead).
    /// `made`: modules rendered already (see `Prepared::made`).
    fn module_file(
        &self,
        renderer: &Renderer,
        ctx: &render::ViewContext,
        made: &[(&'static str, String)],
        out: render::FileOut<'_, '_>,
    ) -> Result<Option<String>> {
        let runtime = (self.parts.publishers || self.parts.subscribers).then(|| self.runtime.module());
        let body = |name: &str, template| match made.iter().find(|(m, _)| *m == name) {
            Some((_, text)) => render::Body::Verbatim(text),
            None => render::Body::Template(template),
        };
        let mut modules: Vec<(&str, render::Body<'_>)> =
            self.modules().into_iter().map(|(name, template)| (name, body(name, template))).collect();
        if let Some(runtime) = &runtime {
            modules.push(("runtime", render::Body::Verbatim(runtime)));
        }
        renderer.module_file("module.rs.jinja", &modules, ctx, !self.reference_format, out, render::TYPES_PER_SLICE)
    }

    /// `(module name, template, text)` of each emitted module but the vendored runtime, in order:
    /// those in `made` (see `Prepared::made`) as they are (`wrap`ped), the others from `render`,
    /// which gets their templates.
    fn with_made<T>(
        &self,
        mut made: Vec<(&'static str, String)>,
        render: impl FnOnce(&[&str]) -> Result<Vec<T>>,
        wrap: impl Fn(String) -> T,
    ) -> Result<Vec<(&'static str, &'static str, T)>> {
        let modules = self.modules();
        let is_made = |name: &str| made.iter().any(|(m, _)| *m == name);
        let templates: Vec<&str> = modules.iter().filter(|(name, _)| !is_made(name)).map(|(_, t)| *t).collect();
        let mut rendered = render(&templates)?.into_iter();
        let mut out = Vec::with_capacity(modules.len() + 1);
        for (name, template) in modules {
            let text = match made.iter().position(|(m, _)| *m == name) {
                Some(i) => Some(wrap(made.swap_remove(i).1)),
                None => rendered.next(),
            };
            out.push((name, template, text.ok_or_else(|| Error::new("a module was not rendered"))?));
        }
        Ok(out)
    }

    /// `(module name, template)` of each emitted module but the vendored runtime, in order.
    fn modules(&self) -> Vec<(&'static str, &'static str)> {
        let mut modules = Vec::new();
        if self.parts.types {
            modules.push(("types", "types.rs.jinja"));
        }
        modules.push(("subjects", "subjects.rs.jinja"));
        if self.parts.publishers {
            modules.push(("publishers", "publishers.rs.jinja"));
        }
        if self.parts.subscribers {
            modules.push(("subscribers", "subscribers.rs.jinja"));
        }
        modules
    }

    /// `(module name, template, rendered text in its parts)` for each emitted module, not yet formatted.
    /// `made`: modules rendered already (see `Prepared::made`).
    fn module_texts(
        &self,
        renderer: &Renderer,
        ctx: render::ViewContext,
        made: Vec<(&'static str, String)>,
        timings: &mut Timings,
    ) -> Result<Vec<(&'static str, &'static str, Vec<String>)>> {
        let render = |templates: &[&str]| timings.time(RENDER, || renderer.text_parts(templates, &ctx));
        let mut out = self.with_made(made, render, |text| vec![text])?;
        if self.parts.publishers || self.parts.subscribers {
            // Verbatim: the vendored file is the runtime crate's source, byte for byte.
            out.push(("runtime", RUNTIME, vec![self.runtime.module()]));
        }
        // The view's lists (hundreds of thousands of small allocations at thousands of channels).
        free_aside(ctx);
        Ok(out)
    }
}

/// `here()` on this thread while `aside()` runs on another, named `name`; when no thread can be
/// had, `aside()` runs here after. A panic of the other thread is resumed here.
fn beside<H, A: Send>(name: &str, aside: impl Fn() -> A + Sync, here: impl FnOnce() -> H) -> (H, A) {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name(name.into()).spawn_scoped(scope, &aside);
        let here = here();
        let aside = match thread {
            Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => aside(),
        };
        (here, aside)
    })
}

/// Frees `value` on another thread: the document and the type IR of thousands of channels take
/// a tenth of a second each to free, which the next stage need not wait for.
fn free_aside<T: Send + 'static>(value: T) {
    // When no thread can be started, the closure (and `value`) is dropped here.
    let _detached = std::thread::Builder::new().name("free".into()).spawn(move || drop(value));
}

/// Wall time and CPU time (all threads) of each generation stage, and the resident
/// memory after it (`gen --timings`); a stage timed twice adds up. CPU time and memory
/// are read from `/proc` (Linux; zero elsewhere).
#[derive(Debug, Default, Clone)]
pub struct Timings {
    pub stages: Vec<Stage>,
}

/// One stage's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: &'static str,
    pub wall: std::time::Duration,
    pub cpu: std::time::Duration,
    /// Resident memory after the stage, bytes.
    pub rss_after: u64,
    /// The process's peak resident memory so far (after the stage), bytes.
    pub peak_after: u64,
    /// The stage it ran beside, on another thread: its wall time is not added to the total, and
    /// its CPU time is its thread's (not counted in the other stage's).
    pub beside: Option<&'static str>,
}

impl Timings {
    /// Runs `f`, adding its wall and CPU time to `stage`.
    pub fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let cpu = proc_stats::cpu_time();
        let start = std::time::Instant::now();
        let out = f();
        let wall = start.elapsed();
        let cpu = proc_stats::cpu_time().saturating_sub(cpu);
        let rss_after = proc_stats::rss_bytes();
        let peak_after = proc_stats::peak_rss_bytes();
        match self.stages.iter_mut().find(|s| s.name == stage) {
            Some(s) => {
                s.wall += wall;
                s.cpu += cpu;
                s.rss_after = rss_after;
                s.peak_after = peak_after;
            }
            None => self.stages.push(Stage { name: stage, wall, cpu, rss_after, peak_after, beside: None }),
        }
        out
    }

    /// Records `stage`, which ran on another thread beside `during` (already recorded): `wall` and
    /// `cpu` are that thread's, and `cpu` is taken out of `during`'s (process-wide) CPU time.
    pub fn beside(
        &mut self,
        during: &'static str,
        stage: &'static str,
        wall: std::time::Duration,
        cpu: std::time::Duration,
    ) {
        if let Some(s) = self.stages.iter_mut().find(|s| s.name == during) {
            s.cpu = s.cpu.saturating_sub(cpu);
        }
        let (rss_after, peak_after) = (proc_stats::rss_bytes(), proc_stats::peak_rss_bytes());
        match self.stages.iter_mut().find(|s| s.name == stage) {
            Some(s) => {
                s.wall += wall;
                s.cpu += cpu;
            }
            None => self.stages.push(Stage { name: stage, wall, cpu, rss_after, peak_after, beside: Some(during) }),
        }
    }

    /// Wall time of the run: the stages one after the other (those beside another not added).
    pub fn total(&self) -> std::time::Duration {
        self.stages.iter().filter(|s| s.beside.is_none()).map(|s| s.wall).sum()
    }
}

impl std::fmt::Display for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.total().as_secs_f64().max(f64::MIN_POSITIVE);
        writeln!(
            f,
            "{:>11} {:>10} {:>6} {:>10} {:>9} {:>9}",
            "stage", "wall ms", "wall%", "cpu ms", "RSS MB", "peak MB"
        )?;
        for s in &self.stages {
            let secs = s.wall.as_secs_f64();
            writeln!(
                f,
                "{:>11} {:>10.1} {:>6.1} {:>10.1} {:>9.1} {:>9.1}",
                s.name,
                secs * 1e3,
                secs / total * 100.0,
                s.cpu.as_secs_f64() * 1e3,
                s.rss_after as f64 / 1048576.0,
                s.peak_after as f64 / 1048576.0
            )?;
        }
        let cpu: std::time::Duration = self.stages.iter().map(|s| s.cpu).sum();
        for s in &self.stages {
            if let Some(during) = s.beside {
                writeln!(f, "{:>11} (ran beside {during}: its wall time is not in the total)", s.name)?;
            }
        }
        write!(
            f,
            "{:>11} {:>10.1} {:>6} {:>10.1} {:>9.1} peak",
            "total",
            total * 1e3,
            "",
            cpu.as_secs_f64() * 1e3,
            proc_stats::peak_rss_bytes() as f64 / 1048576.0
        )
    }
}

/// Process CPU time and memory from `/proc/self` (Linux); zero where it does not exist.
pub mod proc_stats {
    use std::time::Duration;

    /// User + system time of every thread of this process (clock ticks of 10 ms).
    pub fn cpu_time() -> Duration {
        ticks("/proc/self/stat")
    }

    /// utime + stime of a `stat` file of `/proc`.
    fn ticks(path: &str) -> Duration {
        let Ok(stat) = std::fs::read_to_string(path) else { return Duration::ZERO };
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let Some((_, rest)) = stat.rsplit_once(')') else { return Duration::ZERO };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
        Duration::from_millis(ticks * 10)
    }

    /// User + system time of the calling thread (clock ticks of 10 ms).
    pub fn thread_cpu_time() -> Duration {
        ticks("/proc/thread-self/stat")
    }

    /// Current resident set size, bytes.
    pub fn rss_bytes() -> u64 {
        status_kb("VmRSS:") * 1024
    }

    /// Peak resident set size so far, bytes.
    pub fn peak_rss_bytes() -> u64 {
        status_kb("VmHWM:") * 1024
    }

    fn status_kb(field: &str) -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }
}

/// Stands for the template name of the vendored runtime module (its text is not a template).
const RUNTIME: &str = "the asyncapi-nats-runtime source";

/// The timing stage of rendering and formatting (one stage: each job is rendered and formatted on
/// the thread that takes it).
const RENDER: &str = "render+fmt";

/// Every file read, for `rerun-if-changed`.
fn inputs_of(source: &Source) -> Vec<PathBuf> {
    source.paths().into_iter().map(Path::to_path_buf).collect()
}

/// What generation needs after the view is built (the document and the model are freed).
struct Prepared {
    view: render::CrateView,
    header: String,
    inputs: Vec<PathBuf>,
    warnings: Vec<Error>,
    /// The NACK manifests (crate mode).
    deploy: Option<Vec<GeneratedFile>>,
    /// Modules made already, by name: `subjects` beside the types, `subscribers` beside the
    /// types' views; formatted in crate mode, rendered only for the single file (which
    /// formats them inside it).
    made: Vec<(&'static str, String)>,
}

/// The single file up to rendering ([`Config::generate`], [`Config::compile`]).
struct ModuleParts {
    /// Taken when rendered.
    ctx: Option<render::ViewContext>,
    /// Modules made already (see `Prepared::made`).
    made: Vec<(&'static str, String)>,
    /// The file's first line.
    header: String,
    inputs: Vec<PathBuf>,
    warnings: Vec<Error>,
    /// The file's name.
    file: String,
}

/// `error` — every error of the run, each starting with its message — as `cargo::error=`
/// directives (Cargo 1.84+), one per line since a directive cannot span lines: for build scripts
/// that handle [`Config::compile`]'s error themselves.
pub fn cargo_error(error: &Error) -> String {
    let mut out = String::new();
    for one in error.errors() {
        for line in one.to_string().lines() {
            out.push_str(&format!("cargo::error={line}\n"));
        }
    }
    if let Some(more) = error.more.as_ref().filter(|m| m.omitted > 0) {
        out.push_str(&format!(
            "cargo::error=and {} more error{} (the first {} are listed)\n",
            more.omitted,
            error::plural(more.omitted),
            error::MAX_ERRORS
        ));
    }
    out
}

/// `warning` as `cargo::warning=` directives, one per line.
pub fn cargo_warning(warning: &Error) -> String {
    warning.to_string().lines().map(|line| format!("cargo::warning={line}\n")).collect()
}

fn header(source: &Source) -> String {
    // File names are untrusted text too: one line, no controls, whatever the output language.
    let overlays: String = source.overlays.iter().map(|o| format!(" + {}", escape::comment_text(o))).collect();
    let root = escape::comment_text(&source.root);
    format!("@generated by asyncapi-nats {} from {root}{overlays}. DO NOT EDIT.", env!("CARGO_PKG_VERSION"))
}

/// Schemas to generate types for: every component schema, and each message's payload and headers.
fn type_roots(source: &Source, api: &Api, selected: bool) -> Vec<(NodeId, String)> {
    let mut roots = Vec::new();
    // A selection has the types its messages reach; otherwise every component schema is a type.
    let components = source.root_id().child("components").child("schemas");
    for (key, node) in model::entries(source, &components).into_iter().filter(|_| !selected) {
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

/// The synthetic scale document (the benchmarks' generator), for tests.
#[cfg(test)]
#[path = "../benches/support/synthetic.rs"]
mod synthetic;

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-channel items of the synthetic scale document are copied, not formatted (the
    /// copies themselves are held to prettyplease by `tests/exact_layout.rs`).
    #[test]
    fn most_of_the_synthetic_output_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("scale.yaml");
        std::fs::write(&spec, crate::synthetic::spec(40)).unwrap();
        let config = Config::new();
        // Module mode: its view keeps the subjects (crate mode makes `subjects.rs` beside the types).
        let mut prepared = config.prepare(&spec, false, &mut Timings::default()).unwrap();
        let renderer = Renderer::new();
        let texts = config
            .module_texts(&renderer, Renderer::context(&mut prepared.view), prepared.made, &mut Timings::default())
            .unwrap();
        for (name, template, parts) in texts.iter().filter(|(_, t, _)| *t != RUNTIME) {
            let share = render::copied_share(&parts.concat());
            assert!(share > 0.9, "{name} ({template}): {:.0} % copied", share * 100.0);
        }
    }

    /// `types.rs` rendered in slices of its types, and formatted slice after slice, is the same text
    /// as rendered and formatted at once.
    #[test]
    fn types_rendered_and_formatted_in_slices_equal_one_text() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("scale.yaml");
        std::fs::write(&spec, crate::synthetic::spec(12)).unwrap();
        for crate_mode in [true, false] {
            let config = Config::new();
            let mut prepared = config.prepare(&spec, crate_mode, &mut Timings::default()).unwrap();
            let renderer = Renderer::new();
            let ctx = Renderer::context(&mut prepared.view);
            let templates = ["types.rs.jinja", "publishers.rs.jinja"];
            let whole = renderer.texts_sliced(&templates, &ctx, usize::MAX).unwrap();
            assert_eq!(whole[0].len(), 1);
            let text = &whole[0][0];
            assert!(text.matches("pub struct ").count() > 20);
            let formatted = render::format_rust_with("types.rs.jinja", text, true, "// header\n").unwrap();
            for per_slice in [1, 7] {
                let sliced = renderer.texts_sliced(&templates, &ctx, per_slice).unwrap();
                assert!(sliced[0].len() > 3, "{per_slice}");
                assert_eq!(sliced[1], whole[1]);
                assert_eq!(&sliced[0].concat(), text, "{per_slice}");
                // Formatted slice after slice: the same bytes as the whole text formatted.
                let parts = render::format_rust_parts("types.rs.jinja", &sliced[0], true, "// header\n").unwrap();
                assert_eq!(parts, formatted, "{per_slice}");
                // Rendered and formatted job by job, then joined: the same bytes again (from a
                // context of its own: rendering in jobs uses the context's types up).
                let mut view = config.prepare(&spec, crate_mode, &mut Timings::default()).unwrap().view;
                let own = Renderer::context(&mut view);
                let jobs = renderer.rust_texts_sliced(&templates, own, true, "// header\n", per_slice).unwrap();
                assert_eq!(jobs[0], formatted, "{per_slice}");
                let publishers = render::format_rust_with("publishers.rs.jinja", &whole[1][0], true, "// header\n");
                assert_eq!(jobs[1], publishers.unwrap(), "{per_slice}");
                // The types are gone from that context (and its clones): not rendered empty a second time.
                let mut view = config.prepare(&spec, crate_mode, &mut Timings::default()).unwrap().view;
                let own = Renderer::context(&mut view);
                renderer.rust_texts_sliced(&templates, own.clone(), true, "", per_slice).unwrap();
                let err = renderer.rust_texts_sliced(&templates, own, true, "", per_slice).unwrap_err();
                assert!(err.to_string().contains("rendered twice"), "{err}");
            }
        }
    }

    /// The single file rendered and formatted in jobs equals the wrapper rendered around the whole
    /// bodies and formatted at once (the way that is still taken for small documents).
    #[test]
    fn single_file_in_jobs_equals_formatting_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("scale.yaml");
        std::fs::write(&spec, crate::synthetic::spec(30)).unwrap();
        for parts in [
            Parts { types: true, publishers: true, subscribers: true },
            Parts { types: true, publishers: false, subscribers: false },
        ] {
            let mut config = Config::new();
            config.parts(parts);
            let mut prepared = config.prepare(&spec, false, &mut Timings::default()).unwrap();
            let renderer = Renderer::new();
            let ctx = Renderer::context(&mut prepared.view);
            let modules: Vec<minijinja::Value> = config
                .module_texts(&renderer, ctx.clone(), prepared.made.clone(), &mut Timings::default())
                .unwrap()
                .into_iter()
                .map(|(name, _, parts)| minijinja::context! { name, body => parts.concat() })
                .collect();
            let text = renderer.text_with("module.rs.jinja", minijinja::context! { modules }).unwrap();
            let whole = config.format("module.rs.jinja", &text, "// header\n").unwrap();
            let runtime = config.runtime.module();
            let body = |name: &str, template| match prepared.made.iter().find(|(m, _)| *m == name) {
                Some((_, text)) => render::Body::Verbatim(text),
                None => render::Body::Template(template),
            };
            let mut bodies: Vec<(&str, render::Body<'_>)> =
                config.modules().into_iter().map(|(n, t)| (n, body(n, t))).collect();
            if parts.publishers {
                bodies.push(("runtime", render::Body::Verbatim(&runtime)));
            }
            // Each run takes the types out of its context: a fresh one each time.
            let fresh = || Renderer::context(&mut config.prepare(&spec, false, &mut Timings::default()).unwrap().view);
            for per_slice in [1, 7, 512] {
                let out = render::FileOut { prefix: "// header\n", flush: None, flush_at: 0 };
                let jobs = renderer.module_file("module.rs.jinja", &bodies, &fresh(), true, out, per_slice);
                assert_eq!(jobs.unwrap().expect("the wrapper is cut at its modules"), whole, "{per_slice}");
                // Written piece by piece (`Config::compile`): the pieces and the rest are the file.
                for flush_at in [1, 4096] {
                    let mut pieces = Vec::new();
                    let mut flush = |piece: &str| {
                        pieces.push(piece.to_string());
                        Ok(())
                    };
                    let out = render::FileOut { prefix: "// header\n", flush: Some(&mut flush), flush_at };
                    let rest = renderer.module_file("module.rs.jinja", &bodies, &fresh(), true, out, per_slice);
                    let rest = rest.unwrap().expect("the wrapper is cut at its modules");
                    assert!(pieces.len() >= 2, "{per_slice} {flush_at}: {} pieces", pieces.len());
                    assert_eq!(pieces.concat() + &rest, whole, "{per_slice} {flush_at}");
                }
            }
            assert_eq!(
                config.generate(&spec).unwrap().files[0].contents.split_once('\n').unwrap().1,
                whole.split_once('\n').unwrap().1
            );
        }
    }

    /// The single-file output formatted once equals formatting each module on its own and
    /// then the file around them (what it was before), for every spec in the repository.
    #[test]
    fn single_file_output_equals_formatting_modules_first() {
        let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&specs).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") || path.to_string_lossy().contains("overlay") {
                continue;
            }
            for parts in [
                Parts { types: true, publishers: true, subscribers: true },
                Parts { types: true, publishers: false, subscribers: false },
            ] {
                let mut config = Config::new();
                config.parts(parts);
                let new = config.generate(&path).unwrap().files.remove(0).contents;
                let mut prepared = config.prepare(&path, false, &mut Timings::default()).unwrap();
                let renderer = Renderer::new();
                // The modules rendered ahead, formatted as a crate's.
                let made = std::mem::take(&mut prepared.made)
                    .into_iter()
                    .map(|(module, text)| (module, Renderer::format_module(module, &text, true, "").unwrap()))
                    .collect();
                let bodies: Vec<serde_json::Value> = config
                    .module_bodies(&renderer, Renderer::context(&mut prepared.view), made, "", &mut Timings::default())
                    .unwrap()
                    .into_iter()
                    .map(|(name, body)| serde_json::json!({ "name": name, "body": body }))
                    .collect();
                let old = renderer.rust("module.rs.jinja", &serde_json::json!({ "modules": bodies })).unwrap();
                assert_eq!(new, format!("// {}\n{old}", prepared.header), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 8, "specs: {seen}");
    }
}
