//! Rendering: a view model prepared in Rust, printed by minijinja templates,
//! then parsed with syn and formatted with prettyplease. Template rules are in
//! `templates/README.md`.

pub mod layout;
mod types;
pub mod view;

use std::sync::{Arc, Mutex};

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
        // Strings are written as they are; the default formatter writes them through `Display`
        // with its padding checks (3 % of rendering `types.rs`). minijinja still refuses to print
        // an undefined value (strict undefined) before it calls this.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) => out.write_str(text).map_err(minijinja::Error::from),
            None => minijinja::escape_formatter(out, state, value),
        });
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("default delimiters are valid"),
        );
        // Layout helpers of the items written in prettyplease's layout (`layout.rs`).
        env.add_filter("doc", |lit: &str| {
            layout::doc_comment(lit).ok_or_else(|| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("not a doc line literal: {lit}"))
            })
        });
        // The width left for items nested `base` deeper by the single-file output. Looked up once
        // per render: a lookup walks the context (8 % of rendering `types.rs` when done per call).
        struct Margin(usize);
        fn margin(state: &mut minijinja::State) -> usize {
            if let Some(Margin(margin)) = state.get_extension::<Margin>() {
                return *margin;
            }
            let margin = MARGIN - state.lookup("base").and_then(|b| usize::try_from(b).ok()).unwrap_or(0);
            state.get_or_insert_extension(Margin(margin)).0
        }
        env.add_function("attr", |state: &mut minijinja::State, indent: usize, text: &str| {
            layout::attr(margin(state), indent, text)
        });
        env.add_function("derive_attr", |state: &mut minijinja::State, indent: usize, list: &str| {
            layout::derive(margin(state), indent, list)
        });
        env.add_function("typed", |state: &mut minijinja::State, indent: usize, lead: &str, ty: &str, trail: &str| {
            layout::ty(margin(state), indent, lead, ty, trail)
        });
        env.add_function(
            "signature",
            |state: &mut minijinja::State, indent: usize, head: &str, params: Vec<String>, ret: &str| {
                layout::signature(margin(state), indent, head, &params, ret)
            },
        );
        // `head(args)` + `tail` (`let x = f(a, b)?;`): one line when it fits, else the arguments one per line.
        env.add_function(
            "call",
            |state: &mut minijinja::State, indent: usize, head: &str, args: Vec<String>, tail: &str| {
                layout::group(margin(state), indent, &format!("{head}("), &args, "", ")", tail, true)
            },
        );
        env.add_function("flat", |head: &str, items: Vec<String>, close: &str| layout::flat(head, &items, close));
        env.add_function(
            "awaited_call",
            |state: &mut minijinja::State, indent: usize, head: &str, args: Vec<String>| {
                layout::awaited_call(margin(state), indent, head, &args)
            },
        );
        // `lead` + the struct literal `path { fields }` + `close`.
        env.add_function(
            "struct_lit",
            |state: &mut minijinja::State, indent: usize, lead: &str, path: &str, fields: Vec<String>| {
                layout::struct_lit(margin(state), indent, lead, path, &fields, ")")
            },
        );
        // `pattern` with `{}` replaced by each of `names` (`[a, b]`, `"{}: &str"` → `[a: &str, b: &str]`).
        env.add_function("each", |names: Vec<minijinja::Value>, pattern: &str| {
            names.into_iter().map(|n| pattern.replace("{}", &n.to_string())).collect::<Vec<_>>()
        });
        for (name, text) in TEMPLATES {
            env.add_template(name, text).expect("embedded templates are valid");
        }
        Renderer { env }
    }

    /// Renders a template to text (no formatting).
    pub fn text(&self, template: &str, ctx: &impl Serialize) -> Result<String> {
        self.text_with(template, minijinja::Value::from(minijinja::value::Serde(ctx)))
    }

    /// [`Renderer::text`] with a context already converted (once for several templates:
    /// converting the whole view model costs as much as rendering a small template).
    pub fn text_with(&self, template: &str, ctx: minijinja::Value) -> Result<String> {
        let tmpl = self.env.get_template(template).map_err(|e| Error::new(format!("template {template}: {e}")))?;
        tmpl.render(ctx).map_err(|e| {
            Error::new(format!("template {template} failed: {e:#}"))
                .hint("this is a bug in asyncapi-nats; please report it with the spec")
        })
    }

    /// The template context for `view`. Its lists (types, publishers,
    /// examples) are taken out of `view` and handed to the templates item by item: an item is
    /// converted to a template value when a template reaches it and dropped after, instead of
    /// the whole view converted at once (~100 MB at 5,000 channels, on one core).
    pub fn context(view: &mut CrateView) -> ViewContext {
        let types: TypeItems =
            Arc::new(std::mem::take(&mut view.types).into_iter().map(|t| Mutex::new(Some(t))).collect());
        let publishers = Lazy::all(std::mem::take(&mut view.publishers));
        let examples = Lazy::all(std::mem::take(&mut view.examples));
        let rest = minijinja::Value::from(minijinja::value::Serde(&*view));
        // `types` (with `types_head`, `types_tail`) is added for each slice of them ([`Renderer::render_slice`]).
        let value = minijinja::context! { publishers, examples, ..rest };
        ViewContext { value, types }
    }

    /// Renders several templates with one context, on every core; results in the order given.
    /// `types.rs` is rendered in slices of its types (on every core too), concatenated.
    pub fn texts(&self, templates: &[&str], ctx: &ViewContext) -> Result<Vec<String>> {
        Ok(self.texts_sliced(templates, ctx, TYPES_PER_SLICE)?.into_iter().map(|parts| parts.concat()).collect())
    }

    /// [`Renderer::texts`], each text in its parts: `types.rs` in its slices (not joined, so the
    /// formatter reads them one after the other: [`format_rust_parts`]).
    pub fn text_parts(&self, templates: &[&str], ctx: &ViewContext) -> Result<Vec<Vec<String>>> {
        self.texts_sliced(templates, ctx, TYPES_PER_SLICE)
    }

    /// [`Renderer::texts`] with `per_slice` types in each slice of `types.rs`.
    pub(crate) fn texts_sliced(
        &self,
        templates: &[&str],
        ctx: &ViewContext,
        per_slice: usize,
    ) -> Result<Vec<Vec<String>>> {
        let jobs = jobs_of(templates, ctx, per_slice);
        let texts: Vec<Result<String>> = parallel_map(&jobs, |job| self.render_job(job, ctx));
        let texts: Vec<String> = texts.into_iter().collect::<Result<_>>()?;
        // Each template's text in its parts: the slices of `types.rs` are one text.
        let mut out: Vec<Vec<String>> = Vec::with_capacity(templates.len());
        for ((_, slice), text) in jobs.iter().zip(texts) {
            match slice {
                Some(range) if range.start > 0 => out.last_mut().expect("the first slice comes first").push(text),
                _ => out.push(vec![text]),
            }
        }
        Ok(out)
    }

    /// Renders and formats `templates` with one context, on every core: the formatted texts, each
    /// starting with `prefix`, in the order given (`exact` as in [`format_rust_with`]). Each job (a
    /// template, or a slice of `types.rs`) is rendered and formatted by the thread that takes it, so
    /// besides the output only one job's rendered text per core is alive, and the cutting into
    /// items runs on every core too. The same bytes as [`Renderer::texts`] then [`format_rust_with`].
    ///
    /// The context is used up: each slice of types is taken out of it by the job that renders it
    /// and freed after (clones of `ctx` lose them too), and each job's text is appended to its
    /// file as soon as the jobs before it are done — neither the whole view's types nor all the
    /// formatted jobs are alive beside the output (~90 MB each at 5,000 channels).
    pub fn rust_texts(&self, templates: &[&str], ctx: ViewContext, exact: bool, prefix: &str) -> Result<Vec<String>> {
        self.rust_texts_sliced(templates, ctx, exact, prefix, TYPES_PER_SLICE)
    }

    pub(crate) fn rust_texts_sliced(
        &self,
        templates: &[&str],
        ctx: ViewContext,
        exact: bool,
        prefix: &str,
        per_slice: usize,
    ) -> Result<Vec<String>> {
        let jobs = jobs_of(templates, &ctx, per_slice);
        let slices: Vec<bool> = jobs.iter().map(|(_, slice)| slice.is_some()).collect();
        let index =
            |template: &str| templates.iter().position(|t| *t == template).expect("a job of one of the templates");
        let counts: Vec<usize> = templates.iter().map(|&t| jobs.iter().filter(|(j, _)| *j == t).count()).collect();
        let mut out: Vec<Option<Spacer>> = templates.iter().map(|_| None).collect();
        let mut failed = None;
        whole_templates_first(
            &slices,
            |i| {
                let text = self.render_job_taking(&jobs[i], &ctx)?;
                format_job_or_whole(jobs[i].0, &text, exact)
            },
            |i, formatted: Result<String>| {
                let t = index(jobs[i].0);
                match formatted {
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                    Ok(part) => match &mut out[t] {
                        Some(spacer) => spacer.append(&part),
                        None => {
                            // Reserved for the template's every job at about this one's size.
                            let mut spacer = Spacer::new(prefix, part.len().saturating_mul(counts[t]));
                            spacer.append(&part);
                            out[t] = Some(spacer);
                        }
                    },
                }
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(out.into_iter().map(|s| s.map(|s| s.out).unwrap_or_else(|| prefix.to_string())).collect())
    }

    /// The text of `subjects.rs.jinja`, rendered from the subjects and the few values the
    /// template reads besides them (the same text as from the whole view's context) — the model
    /// alone, so it is made while the types are built. The subjects are handed back.
    pub fn subjects_text(
        &self,
        subjects: view::Subjects,
        globals: &view::SubjectsGlobals,
    ) -> Result<(String, view::Subjects)> {
        let views = Arc::new(subjects.views);
        let value = minijinja::context! {
            subjects => Lazy::value(views.clone(), 0..views.len()),
            ..minijinja::Value::from(minijinja::value::Serde(globals))
        };
        let text = self.text_with("subjects.rs.jinja", value);
        // The template is done with the subjects: handed back for the publishers and subscribers.
        let views = Arc::try_unwrap(views).map_err(|_| Error::new("the subjects outlived their template"))?;
        Ok((text?, view::Subjects { views, subject_of: subjects.subject_of }))
    }

    /// The text of `subscribers.rs.jinja`, rendered from these views alone — the template reads
    /// nothing else (and the indentation `base`) — so it is made while the types' views are.
    pub fn subscribers_text(&self, subscribers: Vec<view::SubscriberView>, base: usize) -> Result<String> {
        self.text_with("subscribers.rs.jinja", minijinja::context! { subscribers => Lazy::all(subscribers), base })
    }

    /// The text of `module` rendered ahead, formatted and starting with `prefix`, as one job of
    /// [`Renderer::rust_texts`] (the same bytes).
    pub fn format_module(module: &str, text: &str, exact: bool, prefix: &str) -> Result<String> {
        let formatted = format_job_or_whole(&format!("{module}.rs.jinja"), text, exact)?;
        let mut spacer = Spacer::new(prefix, formatted.len());
        spacer.append(&formatted);
        Ok(spacer.out)
    }

    /// The single-file output ([`crate::Config::generate`]): `modules` (`(name, template)`, or
    /// `(name, text)` for `verbatim` ones) wrapped by `wrapper` (a template taking `modules` of
    /// `{name, body}`), formatted; the same bytes as rendering the wrapper around the rendered
    /// bodies and formatting that whole text, rendered and formatted in jobs on every core as
    /// [`Renderer::rust_texts`]. A module small enough for `plan` to leave whole is printed
    /// whole. `None` when the wrapper cannot be cut at its modules (before anything is rendered;
    /// the whole text is then formatted as before). Each slice of types is taken out of `ctx`.
    /// With `out.flush`, the text goes there as it is made, a megabyte or more at a time, and what
    /// is returned is the rest.
    pub(crate) fn module_file(
        &self,
        wrapper: &str,
        modules: &[(&str, Body<'_>)],
        ctx: &ViewContext,
        exact: bool,
        out: FileOut<'_, '_>,
        per_slice: usize,
    ) -> Result<Option<String>> {
        let FileOut { prefix, mut flush, flush_at } = out;
        // The wrapper around each body, from the wrapper template itself.
        let sentinel = "\u{1}body\u{1}";
        let names: Vec<minijinja::Value> =
            modules.iter().map(|(name, _)| minijinja::context! { name => *name, body => sentinel }).collect();
        let frame = self.text_with(wrapper, minijinja::context! { modules => names })?;
        let Some(items) = items(&frame) else { return Ok(None) };
        if items.len() != modules.len() {
            return Ok(None);
        }
        let mut frames = Vec::new();
        for item in &items {
            let Some((open, inner)) = split_module(item) else { return Ok(None) };
            let Some((before, after)) = inner.split_once(sentinel) else { return Ok(None) };
            frames.push((open, before, after));
        }
        let templates: Vec<&str> = modules
            .iter()
            .filter_map(|(_, body)| match body {
                Body::Template(t) => Some(*t),
                Body::Verbatim(_) => None,
            })
            .collect();
        let mut jobs: Vec<(usize, Job<'_>)> = Vec::new();
        let mut rendered = jobs_of(&templates, ctx, per_slice).into_iter().peekable();
        for (m, (_, body)) in modules.iter().enumerate() {
            match body {
                Body::Template(t) => {
                    while let Some(job) = rendered.next_if(|(template, _)| template == t) {
                        jobs.push((m, job));
                    }
                }
                Body::Verbatim(_) => jobs.push((m, ("", None))),
            }
        }
        // Each module's header (its attributes through `{`) as `plan` prints it for a module it cuts.
        let mut headers = Vec::new();
        for (open, _, _) in &frames {
            let Some(header) = format_piece(&Piece::Header { opens: vec![open] }) else { return Ok(None) };
            headers.push(header);
        }
        // From here on the text is made in jobs whatever it holds (nothing falls back to the
        // whole file): each slice of types is taken out of `ctx` and freed once rendered.
        let slices: Vec<bool> = jobs.iter().map(|(_, (_, slice))| slice.is_some()).collect();
        // Each job's text goes into the file as soon as the jobs before it are done.
        let mut spacer = Spacer::new(prefix, 0);
        let mut state: Result<()> = Ok(());
        // The current module's jobs while it may still be printed whole (small and unmarked),
        // and its length as `plan` measures the module's item.
        let mut pending: Vec<ModuleJob> = Vec::new();
        let mut pending_len = 0;
        let mut cut = false;
        whole_templates_first(
            &slices,
            |i| -> Result<ModuleJob> {
                let (m, job) = &jobs[i];
                let (open, before, after) = frames[*m];
                let mut text = match &modules[*m].1 {
                    Body::Verbatim(text) => text.to_string(),
                    Body::Template(_) => self.render_job_taking(job, ctx)?,
                };
                let first = i == 0 || jobs[i - 1].0 != *m;
                let last = i + 1 == jobs.len() || jobs[i + 1].0 != *m;
                if first {
                    text.insert_str(0, before);
                }
                if last {
                    text.push_str(after);
                }
                // A module is cut at its items when it is large or holds marked items (as `plan`
                // decides); a job that is either cuts its module.
                let big = text.len() > BATCH_BYTES || (exact && text.contains(EXACT));
                let formatted = match format_job_in(&text, exact, &[open]) {
                    Some(formatted) => formatted,
                    // Text the cutter does not follow: printed whole inside its module.
                    None => format_nested(wrapper, open, &text)?,
                };
                Ok(ModuleJob { formatted, raw: (!big).then_some(text) })
            },
            |i, done| {
                if state.is_err() {
                    return;
                }
                let done = match done {
                    Ok(done) => done,
                    Err(e) => return state = Err(e),
                };
                let m = jobs[i].0;
                if i == 0 || jobs[i - 1].0 != m {
                    if spacer.out.capacity() == spacer.out.len() && flush.is_none() {
                        // Reserved at about the size of the first job times the number of jobs.
                        spacer.out.reserve(done.formatted.len().saturating_mul(jobs.len()));
                    }
                    pending.clear();
                    pending_len = frames[m].0.len() + 1;
                    cut = false;
                }
                if cut {
                    spacer.append(&done.formatted);
                } else {
                    pending_len = pending_len.saturating_add(done.raw.as_ref().map_or(usize::MAX, String::len));
                    pending.push(done);
                    if pending_len > BATCH_BYTES {
                        cut = true;
                        spacer.push(&headers[m]);
                        for job in pending.drain(..) {
                            spacer.append(&job.formatted);
                        }
                    }
                }
                if i + 1 == jobs.len() || jobs[i + 1].0 != m {
                    if cut {
                        spacer.push("}\n");
                    } else {
                        // Small and unmarked: printed whole, as `plan` prints such a module.
                        let raw: String = pending.drain(..).filter_map(|job| job.raw).collect();
                        let item = format!("{}{raw}}}", frames[m].0);
                        match format_nested(wrapper, "", &item) {
                            Ok(printed) => spacer.append(&printed),
                            Err(e) => return state = Err(e),
                        }
                    }
                }
                if let Some(flush) = flush.as_mut().filter(|_| spacer.out.len() >= flush_at) {
                    if let Err(e) = flush(&spacer.out) {
                        return state = Err(e);
                    }
                    spacer.out.clear();
                }
            },
        );
        state.map(|()| Some(spacer.out))
    }

    fn render_job(&self, (template, slice): &Job<'_>, ctx: &ViewContext) -> Result<String> {
        match slice {
            None => self.text_with(template, ctx.value.clone()),
            Some(range) => self.render_slice(template, range, Shared::value(ctx.types.clone(), range.clone()), ctx),
        }
    }

    /// [`Renderer::render_job`], taking the slice's types out of `ctx` (freed when rendered).
    fn render_job_taking(&self, (template, slice): &Job<'_>, ctx: &ViewContext) -> Result<String> {
        match slice {
            None => self.text_with(template, ctx.value.clone()),
            Some(range) => {
                let items: Option<Vec<view::TypeItem>> = ctx.types[range.clone()]
                    .iter()
                    .map(|t| t.lock().unwrap_or_else(|e| e.into_inner()).take())
                    .collect();
                let items = items.ok_or_else(|| {
                    Error::new(format!("template {template}: a slice of types was rendered twice"))
                        .hint("this is a bug in asyncapi-nats; please report it with the spec")
                })?;
                self.render_slice(template, range, Lazy::all(items), ctx)
            }
        }
    }

    fn render_slice(
        &self,
        template: &str,
        range: &std::ops::Range<usize>,
        types: minijinja::Value,
        ctx: &ViewContext,
    ) -> Result<String> {
        let value = minijinja::context! {
            types,
            types_head => range.start == 0,
            types_tail => range.end == ctx.types.len(),
            ..ctx.value.clone()
        };
        self.text_with(template, value)
    }

    /// Renders a template that produces Rust and formats it; invalid Rust is an error naming the template.
    pub fn rust(&self, template: &str, ctx: &impl Serialize) -> Result<String> {
        let text = self.text(template, ctx)?;
        format_rust(template, &text)
    }
}

/// `job(i)` for every job on every core, whole templates first (each is one large job; the small
/// slices of `types.rs` then keep every core busy to the end); `deliver(i, result)` in job order,
/// each as soon as the jobs before it are done (by the thread that finished last), so results do
/// not pile up until the end. `slices[i]`: job `i` is a slice of `types.rs`.
fn whole_templates_first<R: Send>(
    slices: &[bool],
    job: impl Fn(usize) -> R + Sync,
    deliver: impl FnMut(usize, R) + Send,
) {
    let mut order: Vec<usize> = (0..slices.len()).collect();
    order.sort_by_key(|&i| slices[i]);
    parallel_in_order(&order, job, deliver);
}

/// `f(i)` for each `i` of `order` on up to [`threads()`] scoped threads, taken in that order;
/// `deliver(i, result)` for `i` = 0, 1, 2, … (`order` holds each index below its length once),
/// each as soon as the results before it are in.
fn parallel_in_order<R: Send>(order: &[usize], f: impl Fn(usize) -> R + Sync, deliver: impl FnMut(usize, R) + Send) {
    struct Pending<R, D> {
        next: usize,
        waiting: std::collections::BTreeMap<usize, R>,
        deliver: D,
    }
    let pending = Mutex::new(Pending { next: 0, waiting: std::collections::BTreeMap::new(), deliver });
    let taken = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        loop {
            let k = taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break };
            let result = f(i);
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            p.waiting.insert(i, result);
            loop {
                let next = p.next;
                let Some(result) = p.waiting.remove(&next) else { break };
                (p.deliver)(next, result);
                p.next += 1;
            }
        }
    };
    let workers = threads().min(order.len());
    if workers <= 1 {
        return work();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        work();
        for h in handles {
            h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
    });
}

/// One job of [`Renderer::module_file`]: its text formatted as items of its module, and the text
/// as rendered while its module may still be printed whole (small and unmarked).
struct ModuleJob {
    formatted: String,
    raw: Option<String>,
}

/// `items` printed by prettyplease inside the module `open` (through its `{`; top level when
/// empty) and spaced: a piece `plan` would not cut.
fn format_nested(origin: &str, open: &str, items: &str) -> Result<String> {
    let opens: Vec<&str> = if open.is_empty() { Vec::new() } else { vec![open] };
    match format_piece(&Piece::Batch(Batch { opens, items })) {
        Some(printed) => {
            let mut spacer = Spacer::new("", printed.len());
            spacer.push(&printed);
            Ok(spacer.out)
        }
        None => {
            // When it does not parse, the error says where.
            parse_whole(origin, &format!("{open}{items}{}", if open.is_empty() { "" } else { "}" }))?;
            Err(Error::new(format!("template {origin}: a module could not be formatted"))
                .hint("this is a bug in asyncapi-nats; please report it with the spec"))
        }
    }
}

/// Where [`Renderer::module_file`] puts the single file: `prefix` first, then the text, handed
/// to `flush` as it is made (a file written piece by piece) or, without, returned whole.
pub(crate) struct FileOut<'a, 'f> {
    pub prefix: &'a str,
    pub flush: Option<&'f mut Flush<'f>>,
    /// How much of the file is gathered before it goes to `flush` ([`FLUSH_BYTES`]).
    pub flush_at: usize,
}

/// Takes the single file's text as it is made ([`FileOut::flush`]).
pub(crate) type Flush<'f> = dyn FnMut(&str) -> Result<()> + Send + 'f;

/// How much of the single file is gathered before it goes to [`FileOut::flush`]: large writes,
/// and a buffer small beside the file.
pub(crate) const FLUSH_BYTES: usize = 1 << 20;

/// A module body of the single-file output: rendered from a template, or a text as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    Template(&'a str),
    Verbatim(&'a str),
}

/// A template to render, with the slice of types for `types.rs.jinja`.
type Job<'a> = (&'a str, Option<std::ops::Range<usize>>);

/// The jobs for `templates`, in order: `types.rs.jinja` in slices of `per_slice` types.
fn jobs_of<'a>(templates: &[&'a str], ctx: &ViewContext, per_slice: usize) -> Vec<Job<'a>> {
    let mut jobs = Vec::new();
    for &template in templates {
        if template != "types.rs.jinja" {
            jobs.push((template, None));
            continue;
        }
        let n = ctx.types.len();
        let mut start: usize = 0;
        loop {
            let end = start.saturating_add(per_slice).min(n);
            jobs.push((template, Some(start..end)));
            if end == n {
                break;
            }
            start = end;
        }
    }
    jobs
}

/// [`format_job`]; when the cut fails (never on valid Rust), the job's text formatted whole, or
/// the located error: a job is a run of whole items, so these are the same bytes.
fn format_job_or_whole(template: &str, text: &str, exact: bool) -> Result<String> {
    match format_job(text, exact) {
        Some(formatted) => Ok(formatted),
        None => format_rust_with(template, text, exact, ""),
    }
}

/// One job's text formatted on this thread, spaced on its own (see [`Spacer::append`]);
/// `None` when it cannot be cut or a piece does not parse.
fn format_job(text: &str, exact: bool) -> Option<String> {
    format_job_in(text, exact, &[])
}

/// [`format_job`] for items inside the modules `opens`.
fn format_job_in(text: &str, exact: bool, opens: &[&str]) -> Option<String> {
    let mut pieces = Vec::new();
    plan_items(text, &items(text)?, opens, BATCH_BYTES, exact, &mut pieces)?;
    let mut spacer = Spacer::new("", text.len());
    for piece in &pieces {
        match piece {
            // Copied at no extra indentation: its lines go to the spacer as they are (what
            // `format_piece` would return, without the intermediate copy).
            Piece::Exact { text, indent: 0 } => spacer.push(text.trim_end()),
            _ => spacer.push(&format_piece(piece)?),
        }
    }
    Some(spacer.out)
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// Types per slice of `types.rs` rendered on its own (a few hundred kB of text).
pub(crate) const TYPES_PER_SLICE: usize = 512;

/// [`Renderer::context`]: the template context, and the types `types.rs` is rendered from in slices.
#[derive(Clone)]
pub struct ViewContext {
    pub value: minijinja::Value,
    types: TypeItems,
}

/// The view's types, each taken out by the job rendering it when rendering uses the context up
/// ([`Renderer::rust_texts`]).
type TypeItems = Arc<Vec<Mutex<Option<view::TypeItem>>>>;

/// A slice of [`TypeItems`] as a template sequence, each item converted when read (a type
/// already taken out is undefined: an error, as undefined values are).
#[derive(Debug)]
struct Shared<T> {
    items: Arc<Vec<Mutex<Option<T>>>>,
    range: std::ops::Range<usize>,
}

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> Shared<T> {
    fn value(items: Arc<Vec<Mutex<Option<T>>>>, range: std::ops::Range<usize>) -> minijinja::Value {
        minijinja::Value::from_object(Shared { items, range })
    }
}

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> minijinja::value::Object for Shared<T> {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let item = self.items[self.range.clone()].get(key.as_usize()?)?.lock().unwrap_or_else(|e| e.into_inner());
        Some(minijinja::Value::from(minijinja::value::Serde(item.as_ref()?)))
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.range.len())
    }
}

/// A slice of a list of the view model as a template sequence, each item converted when read.
#[derive(Debug)]
struct Lazy<T> {
    items: Arc<Vec<T>>,
    range: std::ops::Range<usize>,
}

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> Lazy<T> {
    fn value(items: Arc<Vec<T>>, range: std::ops::Range<usize>) -> minijinja::Value {
        minijinja::Value::from_object(Lazy { items, range })
    }

    fn all(items: Vec<T>) -> minijinja::Value {
        let range = 0..items.len();
        Lazy::value(Arc::new(items), range)
    }
}

impl<T: Serialize + std::fmt::Debug + Send + Sync + 'static> minijinja::value::Object for Lazy<T> {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let item = self.items[self.range.clone()].get(key.as_usize()?)?;
        Some(minijinja::Value::from(minijinja::value::Serde(item)))
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.range.len())
    }
}

/// Marks an item a template wrote in prettyplease's layout already (the line before the item's
/// docs, see `templates/README.md`): it is copied instead of parsed and printed, unless one of
/// its lines comes near the width limit (then prettyplease decides the line breaks, and drops
/// the marker with the other `//` comments).
pub const EXACT: &str = "//@exact\n";

use layout::MARGIN;

/// Parses and pretty-prints generated Rust.
///
/// Items marked [`EXACT`] are copied; the others are cut at their top-level item boundaries (and a
/// large module or `impl` block, as in the single-file output of [`crate::Config::generate`], or one
/// holding marked items, at its own items) and each batch of items is parsed and printed on its
/// own, on every core. prettyplease prints a file as its inner attributes followed by each item
/// ending in a hard line break (a module: its header, its items the same way, `}`), so the
/// concatenation is byte-identical to printing the whole file — while syn's AST of only one batch
/// per core is alive at a time (a 5,000-channel `types.rs` as one AST takes over a gigabyte).
/// When the cut fails (it never should on valid Rust) or a batch does not parse, the whole file is
/// parsed, for the located error.
pub fn format_rust(origin: &str, text: &str) -> Result<String> {
    format_rust_with(origin, text, true, "")
}

/// [`format_rust`]; with `exact` false, marked items are printed by prettyplease too (the
/// reference the copied items are tested against). The result starts with `prefix` (a header
/// line: written into the same buffer, a large file is not copied again).
pub fn format_rust_with(origin: &str, text: &str, exact: bool, prefix: &str) -> Result<String> {
    let mut spacer = Spacer::new(prefix, text.len());
    if let Some(pieces) = plan(text, BATCH_BYTES, exact) {
        if format_pieces(&pieces, &mut spacer).is_some() {
            return Ok(spacer.out);
        }
    }
    let mut spacer = Spacer::new(prefix, text.len());
    spacer.push(&prettyplease::unparse(&parse_whole(origin, text)?));
    Ok(spacer.out)
}

/// [`format_rust_with`] of the concatenation of `parts`, each cut at item boundaries (the slices of
/// [`Renderer::text_parts`]), formatted one after the other without joining them first.
pub fn format_rust_parts(origin: &str, parts: &[String], exact: bool, prefix: &str) -> Result<String> {
    let mut spacer = Spacer::new(prefix, parts.iter().map(String::len).sum());
    // The spacer reads lines, so the blank lines between items do not depend on where the parts end.
    let planned = parts
        .iter()
        .all(|part| plan(part, BATCH_BYTES, exact).and_then(|pieces| format_pieces(&pieces, &mut spacer)).is_some());
    match planned {
        true => Ok(spacer.out),
        false => format_rust_with(origin, &parts.concat(), exact, prefix),
    }
}

#[cfg(test)]
fn format_whole(origin: &str, text: &str) -> Result<String> {
    Ok(space_items(&prettyplease::unparse(&parse_whole(origin, text)?)))
}

fn parse_whole(origin: &str, text: &str) -> Result<syn::File> {
    syn::parse_file(text).map_err(|e| {
        let line = e.span().start().line;
        let snippet: String = text.lines().skip(line.saturating_sub(3)).take(5).collect::<Vec<_>>().join("\n");
        Error::new(format!("template {origin} produced invalid Rust: {e} (line {line})\n{snippet}"))
            .hint("this is a bug in asyncapi-nats; please report it with the spec")
    })
}

/// Text per batch: the first holds the inner attributes and doc comments too.
const BATCH_BYTES: usize = 32 * 1024;

/// A part of the output, in order.
#[derive(Debug, Clone, PartialEq)]
enum Piece<'a> {
    /// Items printed together by prettyplease.
    Batch(Batch<'a>),
    /// A marked item (without its marker), copied with `indent` spaces before each line.
    Exact { text: &'a str, indent: usize },
    /// The header of the innermost of `opens` (its attributes, through `{`), printed by prettyplease.
    Header { opens: Vec<&'a str> },
    /// The closing `}` of a module or `impl` block at `indent`.
    Close { indent: usize },
}

/// Items printed together: at the top level, or inside modules / `impl` blocks.
#[derive(Debug, Clone, PartialEq)]
struct Batch<'a> {
    /// For items inside modules: each enclosing module's text up to and including its `{`.
    opens: Vec<&'a str>,
    items: &'a str,
}

/// The share of `text`'s bytes in items that are copied rather than printed by prettyplease.
#[cfg(test)]
pub(crate) fn copied_share(text: &str) -> f64 {
    let pieces = plan(text, BATCH_BYTES, true).expect("balanced");
    let copied: usize = pieces.iter().map(|p| if let Piece::Exact { text, .. } = p { text.len() } else { 0 }).sum();
    copied as f64 / text.len() as f64
}

/// Cuts `text` into pieces: batches of about `batch_bytes` of whole items, and marked items.
fn plan(text: &str, batch_bytes: usize, exact: bool) -> Option<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    plan_items(text, &items(text)?, &[], batch_bytes, exact, &mut pieces)?;
    Some(pieces)
}

/// Plans `items` (consecutive slices of `text`) inside the modules `opens`.
fn plan_items<'a>(
    text: &'a str,
    items: &[&'a str],
    opens: &[&'a str],
    batch_bytes: usize,
    exact: bool,
    pieces: &mut Vec<Piece<'a>>,
) -> Option<()> {
    let indent = 4 * opens.len();
    let offset = |s: &str| s.as_ptr() as usize - text.as_ptr() as usize;
    // The run of items not yet planned: `(start, end)` offsets in `text`.
    let mut run: Option<(usize, usize)> = None;
    let flush = |run: &mut Option<(usize, usize)>, pieces: &mut Vec<Piece<'a>>| {
        if let Some((s, e)) = run.take() {
            pieces.push(Piece::Batch(Batch { opens: opens.to_vec(), items: &text[s..e] }));
        }
    };
    for &item in items {
        let (from, to) = (offset(item), offset(item) + item.len());
        if exact {
            if let Some((body, extra)) = exact_body(item, indent) {
                flush(&mut run, pieces);
                pieces.push(Piece::Exact { text: body, indent: extra });
                continue;
            }
        }
        if let Some((open, inner)) = split_module(item) {
            if item.len() > batch_bytes || (exact && inner.contains(EXACT)) {
                flush(&mut run, pieces);
                let mut inner_opens = opens.to_vec();
                inner_opens.push(open);
                pieces.push(Piece::Header { opens: inner_opens.clone() });
                plan_items(inner, &self::items(inner)?, &inner_opens, batch_bytes, exact, pieces)?;
                pieces.push(Piece::Close { indent });
                continue;
            }
        }
        let (s, _) = *run.get_or_insert((from, to));
        run = Some((s, to));
        if to - s >= batch_bytes {
            flush(&mut run, pieces);
        }
    }
    flush(&mut run, pieces);
    Some(())
}

/// Lines of the marked templates longer than [`MARGIN`] that prettyplease prints on one line
/// anyway, at any depth (they hold no place where it could break).
const LONG_LINES: &[&str] =
    &["    pub const SETTINGS: super::super::runtime::ConsumerSettings = super::super::runtime::ConsumerSettings {"];

/// The text of a marked item and the indentation to add to it, when every line fits at `indent`
/// (the depth of its module; the template writes the marker at the item's own indentation at the
/// top of a file). Doc comments may be longer: prettyplease never breaks them.
fn exact_body(item: &str, indent: usize) -> Option<(&str, usize)> {
    let start = item.find(EXACT)?;
    let before = &item[..start];
    let written = before.len() - before.rfind('\n').map_or(0, |n| n + 1);
    if !before.trim().is_empty() {
        return None;
    }
    // Items nested by the single-file output move right by the modules around them.
    let extra = indent.checked_sub(written)?;
    let body = &item[start + EXACT.len()..];
    let fits = body.lines().all(|l| {
        let (indent, trimmed) = split_indent(l);
        layout::fits(MARGIN, indent + extra, l.len() + extra)
            || trimmed.starts_with("//")
            || LONG_LINES.contains(&l)
            || unbreakable_use(l)
    });
    fits.then_some((body, extra))
}

/// A `use` of one path (`pub use a::b::c as d;`): prettyplease has no place to break it (it
/// breaks use trees only inside braces), so it stays on one line however long.
fn unbreakable_use(line: &str) -> bool {
    let l = line.trim_start();
    (l.starts_with("use ") || l.starts_with("pub use ")) && l.ends_with(';') && !l.contains(['{', '/', '"'])
}

/// `(header through '{', body)` when `item` is a module with a body (`pub mod name { .. }`) or
/// an inherent `impl Name { .. }` block.
fn split_module(item: &str) -> Option<(&str, &str)> {
    let mut brace = None;
    scan(item, |i, b, depth| {
        if depth == 0 && (b == b'{' || b == b';') {
            brace = Some((i, b));
            false
        } else {
            true
        }
    })?;
    let (open, b'{') = brace? else { return None };
    let header = &item[..=open];
    let line = header.lines().last()?.trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    let is_module = matches!(words.as_slice(), ["pub", "mod", name, "{"] | ["mod", name, "{"] | ["pub(crate)", "mod", name, "{"] | ["impl", name, "{"]
        if name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    let close = item.trim_end().len().checked_sub(1)?;
    (is_module && item.as_bytes()[close] == b'}').then(|| (header, &item[open + 1..close]))
}

/// Prints one piece; `None` when it does not parse (or prints unexpectedly).
fn format_piece(piece: &Piece<'_>) -> Option<String> {
    match piece {
        Piece::Exact { text, indent } => {
            let mut out = String::with_capacity(text.len() + text.len() / 8 + 1);
            for line in text.trim_end().lines() {
                if !line.is_empty() {
                    out.extend(std::iter::repeat_n(' ', *indent));
                }
                out.push_str(line);
                out.push('\n');
            }
            Some(out)
        }
        Piece::Close { indent } => Some(format!("{}}}\n", " ".repeat(*indent))),
        Piece::Header { opens } => {
            let (printed, lines, headers) = print_nested(opens, "fn __header() {}")?;
            let from = if headers.len() > 1 { headers[headers.len() - 2] + 1 } else { 0 };
            Some(text_of_lines(&printed, &lines[from..=*headers.last()?]))
        }
        Piece::Batch(batch) if batch.opens.is_empty() => {
            syn::parse_file(batch.items).ok().map(|file| prettyplease::unparse(&file))
        }
        Piece::Batch(batch) => {
            let (printed, lines, headers) = print_nested(&batch.opens, batch.items)?;
            Some(text_of_lines(&printed, &lines[*headers.last()? + 1..lines.len() - batch.opens.len()]))
        }
    }
}

/// The lines `lines` (ranges in `printed`, each without its line break) of `printed`, each ending in one.
fn text_of_lines(printed: &str, lines: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        out.push_str(&printed[line.clone()]);
        out.push('\n');
    }
    out
}

/// `items` printed inside the modules `opens`: the printed text, its lines (ranges without the
/// line break), and the index of each module's header line (the one ending in `{`).
fn print_nested(opens: &[&str], items: &str) -> Option<(String, Vec<std::ops::Range<usize>>, Vec<usize>)> {
    let mut wrapped = opens.concat();
    wrapped.push_str(items);
    for _ in opens {
        wrapped.push_str("\n}");
    }
    let printed = prettyplease::unparse(&syn::parse_file(&wrapped).ok()?);
    drop(wrapped);
    let mut lines = Vec::new();
    let mut start = 0;
    for line in printed.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        lines.push(start..start + body.strip_suffix('\r').map_or(body.len(), str::len));
        start += line.len();
    }
    let line = |i: usize| &printed[lines[i].clone()];
    let mut headers = Vec::new();
    let mut from = 0;
    for depth in 0..opens.len() {
        let indent = 4 * depth;
        let at = (from..lines.len()).find(|&i| {
            let l = line(i);
            l.len() > indent
                && l.bytes().take(indent).all(|b| b == b' ')
                && !l[indent..].starts_with([' ', '#', '/'])
                && l.ends_with(" {")
        })?;
        headers.push(at);
        from = at + 1;
    }
    let closes_ok = (0..opens.len()).all(|depth| {
        let l = lines.len().checked_sub(1 + depth).map(line);
        l.is_some_and(|l| l.trim() == "}" && l.len() == 4 * depth + 1)
    });
    (closes_ok && from <= lines.len() - opens.len()).then_some((printed, lines, headers))
}

/// Formats pieces on up to [`threads()`] threads into `spacer`, a slice at a time (only one
/// slice's printed text is held besides the output); `None` when one does not parse.
fn format_pieces(pieces: &[Piece<'_>], spacer: &mut Spacer) -> Option<()> {
    for slice in pieces.chunks(256) {
        for text in parallel_map(slice, format_piece) {
            spacer.push(&text?);
        }
    }
    Some(())
}

/// `f` over `items` on up to [`threads()`] scoped threads taking the next item as they finish
/// (items differ widely in cost); results in the order of `items`.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = threads().min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else { break mine };
            mine.push((i, f(item)));
        }
    };
    // The calling thread is one of the workers: what it allocates reuses the memory this thread
    // freed before (each thread allocates from an arena of its own).
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut done = vec![work()];
        done.extend(handles.into_iter().map(|h| h.join().expect("worker thread panicked")));
        done
    });
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for (i, result) in done.into_iter().flatten() {
        slots[i] = Some(result);
    }
    slots.into_iter().map(|s| s.expect("every item is mapped")).collect()
}

/// Worker threads for formatting and rendering: the machine's cores, at most 8.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// Cuts `text` into its top-level items (the first with the inner attributes before it,
/// each with the comments and whitespace before it, the last with what follows).
/// A top-level item ends at a `;` or a closing `}` at nesting depth 0 (a `}` followed
/// by `;`, as in `const X: T = T { .. };`, ends at the `;`). `None` when the nesting does not balance.
fn items(text: &str) -> Option<Vec<&str>> {
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut start = 0;
    let depth = scan(text, |i, b, depth| {
        let ends_item = match b {
            b'}' => depth == 1 && next_significant(bytes, i + 1) != Some(b';'),
            b';' => depth == 0,
            _ => false,
        };
        if ends_item {
            items.push(&text[start..i + 1]);
            start = i + 1;
        }
        true
    })?;
    if depth != 0 {
        return None;
    }
    if start < text.len() {
        match items.last_mut() {
            // Trailing whitespace stays with the last item (which ends at `start`).
            Some(last) if text[start..].trim().is_empty() => *last = &text[start - last.len()..],
            _ => items.push(&text[start..]),
        }
    }
    Some(items)
}

/// Calls `visit(index, byte, depth before it)` for every bracket and `;` of `text` outside
/// comments, strings and character literals, until it returns false. Returns the final depth;
/// `None` when a closing bracket has no opening one or a literal does not end.
fn scan(text: &str, mut visit: impl FnMut(usize, u8, usize) -> bool) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth: usize = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Most bytes are neither brackets nor the start of a comment or literal: skipped
        // through a table (this pass reads every byte of the generated code).
        if !SCANNED[bytes[i] as usize] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr_newline(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i)?;
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1)?;
                continue;
            }
            b'r' if is_raw_string_start(bytes, i) => {
                i = skip_raw_string(bytes, i + 1)?;
                continue;
            }
            b'\'' => {
                i = skip_char_or_lifetime(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                if !visit(i, b, depth) {
                    return Some(depth);
                }
                depth += 1;
            }
            b')' | b']' | b'}' => {
                if !visit(i, b, depth) {
                    return Some(depth);
                }
                depth = depth.checked_sub(1)?;
            }
            b';' if !visit(i, b, depth) => return Some(depth),
            _ => {}
        }
        i += 1;
    }
    Some(depth)
}

/// The bytes [`scan`] looks at: brackets, `;`, and what may open a comment or a literal.
static SCANNED: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let bytes = b"/\"r'()[]{};";
    while k < bytes.len() {
        table[bytes[k] as usize] = true;
        k += 1;
    }
    table
};

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |p| from + p)
}

/// Past the end of the block comment opening at `from` (block comments nest in Rust).
fn skip_block_comment(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Past the closing quote of a string whose body starts at `from`.
fn skip_string(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// `r"` or `r#` starting a raw string (`br"` too), not the end of an identifier such as `for`.
fn is_raw_string_start(bytes: &[u8], i: usize) -> bool {
    let prev_ident = i > 0 && {
        let p = bytes[i - 1];
        (p.is_ascii_alphanumeric() || p == b'_') && !(p == b'b' && (i < 2 || !is_ident_byte(bytes[i - 2])))
    };
    !prev_ident && matches!(bytes.get(i + 1), Some(b'"' | b'#')) && {
        let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
        bytes.get(i + 1 + hashes) == Some(&b'"')
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Past a raw string whose `#`s (or quote) start at `from`.
fn skip_raw_string(bytes: &[u8], from: usize) -> Option<usize> {
    let hashes = bytes[from..].iter().take_while(|&&b| b == b'#').count();
    let mut i = from + hashes + 1;
    while i < bytes.len() {
        if bytes[i] == b'"' && bytes[i + 1..].iter().take(hashes).filter(|&&b| b == b'#').count() == hashes {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    None
}

/// Past a character literal (`'x'`, `'\''`, `'\u{..}'`) or the quote of a lifetime (`'a`).
fn skip_char_or_lifetime(bytes: &[u8], from: usize) -> usize {
    if bytes.get(from + 1) == Some(&b'\\') {
        let mut i = from + 3;
        while i < bytes.len() && bytes[i] != b'\'' {
            i += 1;
        }
        return i + 1;
    }
    // One (possibly multi-byte) character then a quote: a character literal.
    let len = match bytes.get(from + 1) {
        Some(&b) if b < 0x80 => 1,
        Some(&b) if b >= 0xF0 => 4,
        Some(&b) if b >= 0xE0 => 3,
        Some(_) => 2,
        None => return from + 1,
    };
    if bytes.get(from + 1 + len) == Some(&b'\'') { from + 2 + len } else { from + 1 }
}

/// The next byte that is not whitespace or part of a comment.
fn next_significant(bytes: &[u8], mut i: usize) -> Option<u8> {
    loop {
        match bytes.get(i)? {
            b if b.is_ascii_whitespace() => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = memchr_newline(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i)?,
            &b => return Some(b),
        }
    }
}

/// prettyplease puts items back to back; a blank line between items at the
/// same depth makes generated files readable in review.
#[cfg(test)]
fn space_items(text: &str) -> String {
    let mut spacer = Spacer::new("", text.len());
    spacer.push(text);
    spacer.out
}

/// Lines that start an item (after a blank line when the previous item ends at the same depth).
const ITEM_STARTS: &[&str] =
    &["///", "#[", "pub ", "impl", "fn ", "const ", "type ", "mod ", "use ", "enum ", "struct ", "trait ", "async fn"];

/// Printed text fed piece by piece, with a blank line between items (see `space_items`).
struct Spacer {
    out: String,
    /// The previous line: its indentation, whether it ends an item (`}` or a `;` outside a
    /// comment), whether it is an inner doc comment.
    prev: Option<(usize, bool, bool)>,
}

impl Spacer {
    fn new(prefix: &str, size: usize) -> Spacer {
        let mut out = String::with_capacity(prefix.len() + size + size / 16);
        out.push_str(prefix);
        Spacer { out, prev: None }
    }

    fn push(&mut self, text: &str) {
        for line in text.lines() {
            if self.prev.is_some_and(|prev| blank_between(prev, line)) {
                self.out.push('\n');
            }
            self.out.push_str(line);
            self.out.push('\n');
            self.prev = Some(line_state(line));
        }
    }

    /// Appends `text` spaced by a `Spacer` of its own: the same bytes as pushing its lines here
    /// (a line's spacing depends only on the line before it).
    fn append(&mut self, text: &str) {
        let (Some(first), Some(last)) = (text.lines().next(), text.lines().next_back()) else { return };
        if self.prev.is_some_and(|prev| blank_between(prev, first)) {
            self.out.push('\n');
        }
        self.out.push_str(text);
        self.prev = Some(line_state(last));
    }
}

/// A line's indentation, whether it ends an item (`}` or a `;` outside a comment), whether it is
/// an inner doc comment.
fn line_state(line: &str) -> (usize, bool, bool) {
    let (indent, trimmed) = split_indent(line);
    let t = trimmed.trim_end();
    (indent, t == "}" || (t.ends_with(';') && !t.starts_with("//")), t.starts_with("//!"))
}

/// Whether a blank line goes between a line of state `prev` and `line`.
fn blank_between((p_indent, p_ends, p_inner_doc): (usize, bool, bool), line: &str) -> bool {
    // Most lines follow one that neither ends an item nor is an inner doc comment.
    if !p_ends && !p_inner_doc {
        return false;
    }
    let (indent, trimmed) = split_indent(line);
    let after_inner_doc = p_inner_doc && !trimmed.starts_with("//!");
    ((p_ends && p_indent == indent) || after_inner_doc) && ITEM_STARTS.iter().any(|s| trimmed.starts_with(s))
}

/// `line`'s indentation width and the rest, as `line.trim_start()` has it (the spaces that
/// indent generated code are counted byte by byte: every line of the output comes here).
fn split_indent(line: &str) -> (usize, &str) {
    let spaces = line.bytes().take_while(|&b| b == b' ').count();
    let rest = &line[spaces..];
    match rest.chars().next() {
        Some(c) if c.is_whitespace() => {
            let trimmed = line.trim_start();
            (line.len() - trimmed.len(), trimmed)
        }
        _ => (spaces, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formatter writes strings as they are and other values as minijinja does; printing an
    /// undefined value (a member the view lacks) is still an error (strict undefined).
    #[test]
    fn values_print_as_minijinja_prints_them_and_undefined_is_an_error() {
        let mut env = Renderer::new().env;
        // Strict undefined fails at the lookup; a value that is undefined otherwise fails printing.
        env.add_function("undefined", || minijinja::Value::UNDEFINED);
        assert_eq!(env.render_str("[{{ 'x' if false }}]", ()).unwrap(), "[]", "an `if` without `else` prints nothing");
        let ctx = minijinja::context! { s => "a {b} \"c\"", n => 42, f => 1.5, t => true, none => (), list => vec![1, 2], m => minijinja::context! { a => 1 } };
        let template = "{{ s }}|{{ n }}|{{ f }}|{{ t }}|{{ none }}|{{ list }}|{{ s ~ n }}";
        let printed = env.render_str(template, &ctx).unwrap();
        assert_eq!(printed, "a {b} \"c\"|42|1.5|True|None|[1, 2]|a {b} \"c\"42");
        let mut default = Environment::new();
        default.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        assert_eq!(printed, default.render_str(template, &ctx).unwrap());
        for template in ["{{ missing }}", "{{ s.missing }}", "x{{ list[5] }}", "{{ m.missing }}", "{{ undefined() }}"] {
            assert!(env.render_str(template, &ctx).is_err(), "{template} printed");
        }
    }

    /// `split_indent` is `trim_start` (Unicode whitespace too), counted.
    #[test]
    fn split_indent_is_trim_start() {
        for line in ["", "   ", "x", "    fn a() {", "\tx", "  \t x", " \u{2003}y", "\u{a0}z", "   é", "    }"] {
            let trimmed = line.trim_start();
            assert_eq!(split_indent(line), (line.len() - trimmed.len(), trimmed), "{line:?}");
        }
    }

    /// Results are delivered in job order, each once, whatever the order the jobs are taken in.
    #[test]
    fn parallel_in_order_delivers_in_job_order() {
        for n in [0, 1, 2, 17, 200] {
            // Taken back to front, odd jobs first.
            let mut order: Vec<usize> = (0..n).rev().collect();
            order.sort_by_key(|i| i % 2 == 0);
            let mut delivered = Vec::new();
            parallel_in_order(&order, |i| i * 10, |i, r| delivered.push((i, r)));
            assert_eq!(delivered, (0..n).map(|i| (i, i * 10)).collect::<Vec<_>>());
        }
    }

    /// Cut after every item: printing batch by batch equals printing the whole file.
    fn assert_batches_match_whole(text: &str) {
        let whole = format_whole("test", text).unwrap();
        let pieces = plan(text, 0, true).expect("balanced");
        assert!(pieces.len() > 1 || text.len() < 200, "not cut: {text}");
        let mut spacer = Spacer::new("", 0);
        format_pieces(&pieces, &mut spacer).expect("every batch parses");
        assert_eq!(spacer.out, whole);
        // The same items inside a module (the single-file output), cut inside the module.
        let nested = format!("#[allow(dead_code)]\npub mod m {{\n{text}\n}}\n");
        let whole = format_whole("test", &nested).unwrap();
        let pieces = plan(&nested, 0, true).expect("balanced");
        assert!(pieces.len() > 1 || items(text).unwrap().len() < 2, "not cut: {nested}");
        assert!(pieces.iter().all(|p| !matches!(p, Piece::Batch(b) if b.opens.is_empty())), "{pieces:?}");
        let mut spacer = Spacer::new("", 0);
        format_pieces(&pieces, &mut spacer).expect("every batch parses");
        assert_eq!(spacer.out, whole);
    }

    #[test]
    fn tricky_tokens_do_not_move_item_boundaries() {
        assert_batches_match_whole(
            r##"//! Inner docs.
#![allow(clippy::all)]
/// Doc with } and ; and "quote and 'x
pub struct A { pub s: ::std::string::String }
const S: &str = "}; \" {";
const R: &str = r#"}"; {"#;
const C: char = '}';
const Q: char = '\'';
const U: char = '\u{7d}';
const B: &[u8] = b"}{";
/* block } /* nested { */ */
pub const X: A = A { s: ::std::string::String::new() };
pub fn f<'a>(x: &'a str) -> &'a str { let _ = '{'; x }
impl A { fn r#type(&self) -> bool { true } }
mod m { pub fn g() {} }
pub type T = (u8, [u16; 2]);
"##,
        );
    }

    #[test]
    fn golden_outputs_format_the_same_in_batches() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("generated-examples");
        let mut seen = 0;
        for example in std::fs::read_dir(root).unwrap() {
            let src = example.unwrap().path().join("src");
            let Ok(files) = std::fs::read_dir(&src) else { continue };
            for file in files {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    assert_batches_match_whole(&std::fs::read_to_string(&path).unwrap());
                    seen += 1;
                }
            }
        }
        assert!(seen > 10, "golden sources found: {seen}");
    }

    /// Text cut anywhere between lines, each part spaced on its own and appended, is spaced as
    /// the whole text (what joining the jobs of [`Renderer::rust_texts`] relies on).
    #[test]
    fn parts_spaced_on_their_own_append_to_the_whole() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("generated-examples/shop/src");
        let mut seen = 0;
        for file in std::fs::read_dir(root).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            // Unspaced: the printer's output has no blank lines between items.
            let unspaced: String = text.lines().filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect();
            let whole = space_items(&unspaced);
            let lines: Vec<&str> = unspaced.lines().collect();
            for every in [1, 2, 3, 7, 50] {
                let mut joined = Spacer::new("", 0);
                for chunk in lines.chunks(every) {
                    let mut own = Spacer::new("", 0);
                    own.push(&chunk.join("\n"));
                    joined.append(&own.out);
                }
                assert_eq!(joined.out, whole, "cut every {every} lines");
            }
            seen += 1;
        }
        assert!(seen >= 3, "{seen}");
    }

    /// prettyplease prints a `use` of one path on one line however long (no place to break it),
    /// so a marked item holding one is still copied when nesting pushes it past the margin.
    #[test]
    fn a_long_use_of_one_path_stays_on_one_line() {
        let long = format!("pub use super::super::subjects::parse_{}_changed as parse_subject;", "x".repeat(80));
        let nested = format!("pub mod a {{\n pub mod b {{\n {long}\n pub fn f() {{}}\n }}\n}}\n");
        let printed = format_whole("test", &nested).unwrap();
        assert!(printed.lines().any(|l| l == format!("        {long}")), "{printed}");
        let item = format!("{EXACT}pub mod b {{\n    {long}\n}}\n");
        assert!(exact_body(&item, 4).is_some());
        assert!(unbreakable_use(&long) && !unbreakable_use("use a::{b, c};"));
    }

    #[test]
    fn unbalanced_text_is_not_cut() {
        assert!(plan("fn f() {", 0, true).is_none());
        assert!(plan("fn f() }", 0, true).is_none());
        assert!(format_rust("t.jinja", "fn f() {").unwrap_err().message.contains("t.jinja produced invalid Rust"));
    }
}
