//! Command-line front-end: a thin layer over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use asyncapi_nats::error::{MAX_ERRORS, plural};
use asyncapi_nats::manifests::ManifestOptions;
use asyncapi_nats::{Config, Generated, Timings};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "asyncapi-nats",
    version,
    about = "Typed Rust NATS/JetStream clients and NACK manifests from AsyncAPI 2.0–2.6 / 3.0–3.2"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a Rust crate (and its NACK manifests under DIR/deploy) from an AsyncAPI document.
    Gen {
        /// The AsyncAPI document (YAML or JSON).
        spec: PathBuf,
        /// Output directory of the crate (default: a folder named after the crate, in the current directory).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Package name (default: from info.title).
        #[arg(long)]
        crate_name: Option<String>,
        /// Print the wall time of each stage (load, model, types, manifests and subjects beside the types, view, subscribers beside the view, render+fmt, write) to stderr.
        #[arg(short = 'v', long = "timings")]
        timings: bool,
        /// Depend on the asyncapi-nats-runtime crate instead of copying its source into the crate:
        /// a version (`0.1`), `path:<dir>` or `git:<url>[#<rev>]` (default: `vendored`).
        #[arg(long, value_name = "SPEC")]
        runtime_dependency: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Generate only the ops files: NACK Stream/Consumer manifests, kustomization, NATS permissions.
    Manifests {
        /// The AsyncAPI document (YAML or JSON).
        spec: PathBuf,
        /// Output directory.
        #[arg(short, long)]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Create or update the streams and consumers of a manifests folder on a live server
    /// (local development and tests; production uses the NACK controller).
    Apply {
        /// Folder with the generated manifests (e.g. OUT/deploy).
        dir: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Compare a live server's streams and consumers with the manifests, field by field; exit 1 on drift.
    Diff {
        /// Folder with the generated manifests (e.g. OUT/deploy).
        dir: PathBuf,
        #[command(flatten)]
        server: Server,
    },
}

#[derive(Args)]
struct Server {
    /// NATS server URL; repeat it for the nodes of a cluster (the client fails over between them).
    #[arg(long = "server", value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    servers: Vec<String>,
    /// Credentials file.
    #[arg(long)]
    creds: Option<PathBuf>,
    /// User name (with --password).
    #[arg(long)]
    user: Option<String>,
    /// Password (with --user); prefer the NATS_PASSWORD environment variable.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Use this replica count for every stream instead of the manifests' (e.g. 1 on a single local server).
    #[arg(long)]
    replicas: Option<u32>,
}

impl Server {
    fn manifests(&self, dir: &Path) -> asyncapi_nats::Result<asyncapi_nats::ops::ManifestSet> {
        let set = asyncapi_nats::ops::read_dir(dir)?;
        Ok(match self.replicas {
            Some(r) => set.with_replicas(r),
            None => set,
        })
    }
}

impl Server {
    /// Connects and runs `f` with a JetStream context on a current-thread runtime.
    fn run<T>(
        &self,
        f: impl AsyncFnOnce(async_nats::jetstream::Context) -> asyncapi_nats::Result<T>,
    ) -> asyncapi_nats::Result<T> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| asyncapi_nats::Error::new(format!("cannot start runtime: {e}")))?;
        runtime.block_on(async {
            let mut options = async_nats::ConnectOptions::new();
            if let Some(creds) = &self.creds {
                options = options
                    .credentials_file(creds)
                    .await
                    .map_err(|e| asyncapi_nats::Error::new(format!("cannot read {}: {e}", creds.display())))?;
            }
            if let (Some(user), Some(password)) = (&self.user, &self.password) {
                options = options.user_and_password(user.clone(), password.clone());
            }
            let addresses = self
                .servers
                .iter()
                .map(|url| {
                    url.parse::<async_nats::ServerAddr>().map_err(|e| {
                        asyncapi_nats::Error::new(format!("invalid --server {url}: {e}")).hint(
                            "use a NATS URL such as nats://host:4222 (repeat --server for each node of a cluster)",
                        )
                    })
                })
                .collect::<asyncapi_nats::Result<Vec<_>>>()?;
            let client = options.connect(addresses).await.map_err(|e| {
                asyncapi_nats::Error::new(format!("cannot connect to {}: {e}", self.servers.join(", ")))
                    .hint("check --server and that the server runs with JetStream enabled (-js)")
            })?;
            f(async_nats::jetstream::new(client)).await
        })
    }
}

#[derive(Args)]
struct Common {
    /// Stream assumed when the document declares no x-jetstream streams (default: from info.title).
    #[arg(long)]
    stream: Option<String>,
    /// A YAML/JSON document merged into the spec first (JSON Merge Patch), e.g. x-jetstream
    /// settings for a FastStream-generated document; its `x-asyncapi-nats` section names
    /// operations by generated name and channels by subject (one overlay for 2.x and 3.x). Repeatable.
    #[arg(long = "overlay", value_name = "FILE")]
    overlays: Vec<PathBuf>,
    /// Write nothing; exit 1 when OUT differs from what would be generated.
    #[arg(long)]
    check: bool,
    /// Folder that file $refs may not leave (default: the spec's repository or Cargo workspace).
    #[arg(long, value_name = "DIR")]
    ref_root: Option<PathBuf>,
    /// Treat warnings (dropped keywords, skipped channels, approximated types) as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// Decode date-times as strict RFC 3339 (default: offset-less date-times, as pydantic writes
    /// naive datetimes, are accepted and read as UTC).
    #[arg(long)]
    strict_datetimes: bool,
    /// Map channel addresses that are `/`-separated paths (`comment/{id}/changed`, URLs) to NATS
    /// subjects, one token per segment (`comment.{id}.changed`).
    #[arg(long)]
    path_subjects: bool,
    /// Generate only the operations whose generated name (subscriber module, publisher function)
    /// matches PATTERN (`*`: any characters), with their channels, messages, types, streams,
    /// consumers and permissions: one service's crate from a whole platform's document. Repeatable.
    #[arg(long = "only", value_name = "PATTERN")]
    only: Vec<String>,
    /// Do not set `preventDelete: true` on Stream manifests.
    #[arg(long)]
    no_prevent_delete: bool,
    /// Kubernetes namespace of the manifests.
    #[arg(long)]
    namespace: Option<String>,
    /// NACK Account resource the streams and consumers belong to.
    #[arg(long)]
    account: Option<String>,
    /// NATS server URL for the NACK resources (repeatable).
    #[arg(long = "server")]
    servers: Vec<String>,
    /// Credentials file path for the NACK resources.
    #[arg(long)]
    creds: Option<String>,
}

impl Common {
    fn config(&self) -> Config {
        let mut config = Config::new();
        config.deny_warnings(self.deny_warnings);
        if let Some(dir) = &self.ref_root {
            config.ref_root(dir);
        }
        config.strict_datetimes(self.strict_datetimes);
        config.path_subjects(self.path_subjects);
        for overlay in &self.overlays {
            config.overlay(overlay);
        }
        for pattern in &self.only {
            config.only(pattern);
        }
        if let Some(stream) = &self.stream {
            config.default_stream(stream);
        }
        config.manifest_options(ManifestOptions {
            prevent_delete: !self.no_prevent_delete,
            namespace: self.namespace.clone(),
            account: self.account.clone(),
            servers: self.servers.clone(),
            creds: self.creds.clone(),
        });
        config
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Everything the run found, at once: its warnings, every error, then the count.
            print_warnings(e.warnings());
            eprintln!("error: {e}");
            eprintln!("{}", counts(e.count(), e.warnings().len()));
            ExitCode::from(2)
        }
    }
}

/// `3 errors, 2 warnings` (a run that succeeded: `2 warnings`).
fn counts(errors: usize, warnings: usize) -> String {
    let warned = format!("{warnings} warning{}", plural(warnings));
    if errors == 0 { warned } else { format!("{errors} error{}, {warned}", plural(errors)) }
}

/// Each warning (located, with help), the first [`MAX_ERRORS`] of them: a hostile document's
/// millions of warnings stay a bounded report.
fn print_warnings(warnings: &[asyncapi_nats::Error]) {
    for warning in warnings.iter().take(MAX_ERRORS) {
        eprintln!("warning: {warning}");
    }
    if warnings.len() > MAX_ERRORS {
        let more = warnings.len() - MAX_ERRORS;
        eprintln!("warning: and {more} more warning{} (the first {MAX_ERRORS} are listed)", plural(more));
    }
}

fn run(cli: Cli) -> asyncapi_nats::Result<ExitCode> {
    match cli.command {
        Command::Gen { spec, out, crate_name, timings: show_timings, runtime_dependency, common } => {
            let mut config = common.config();
            if let Some(name) = crate_name {
                config.crate_name(name);
            }
            if let Some(dependency) = runtime_dependency {
                config.runtime_dependency(dependency.parse()?);
            }
            let mut timings = Timings::default();
            let generated = config.generate_crate_timed(&spec, &mut timings)?;
            // Without -o: a folder named after the crate (the `name` of the generated Cargo.toml).
            let out = out.unwrap_or_else(|| PathBuf::from(&generated.crate_name));
            let code = timings.time("write", || emit(&spec, &out, &generated, common.check, "gen"));
            // The process ends next and the system takes its memory back at once: freeing the
            // generated files (tens of MB at thousands of channels) first would only cost time.
            // The library frees them; only this command leaks, right before it exits.
            std::mem::forget(generated);
            let code = code?;
            if show_timings {
                eprintln!("{timings}");
            }
            Ok(code)
        }
        Command::Manifests { spec, out, common } => {
            emit(&spec, &out, &common.config().generate_manifests(&spec)?, common.check, "manifests")
        }
        Command::Apply { dir, server } => {
            let set = server.manifests(&dir)?;
            for action in server.run(async |js| asyncapi_nats::ops::apply(&js, &set).await)? {
                println!("{action}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { dir, server } => {
            let set = server.manifests(&dir)?;
            let differences = server.run(async |js| asyncapi_nats::ops::diff(&js, &set).await)?;
            if differences.is_empty() {
                println!(
                    "no drift: {} stream(s), {} consumer(s) match {}",
                    set.streams.len(),
                    set.consumers.len(),
                    dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            for d in &differences {
                println!("{d}");
            }
            println!("{} difference(s) between {} and {}", differences.len(), dir.display(), server.servers.join(", "));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Writes the files (only those that changed), or with `check` compares them.
fn emit(spec: &Path, out: &Path, generated: &Generated, check: bool, command: &str) -> asyncapi_nats::Result<ExitCode> {
    print_warnings(&generated.warnings);
    if !generated.warnings.is_empty() {
        eprintln!("{}", counts(0, generated.warnings.len()));
    }
    if check {
        let drift = asyncapi_nats::write::check_files(out, &generated.files);
        if drift.is_empty() {
            println!("{} is up to date ({} files)", out.display(), generated.files.len());
            return Ok(ExitCode::SUCCESS);
        }
        for d in &drift {
            println!("{d}");
        }
        println!("{} file(s) differ from what `asyncapi-nats {command}` would write; regenerate", drift.len());
        return Ok(ExitCode::FAILURE);
    }
    let report = asyncapi_nats::write::write_files_and_prune(out, &generated.files)?;
    println!(
        "generated {} into {} ({} written, {} unchanged, {} removed)",
        spec.display(),
        out.display(),
        report.written.len(),
        report.unchanged.len(),
        report.removed.len()
    );
    for removed in &report.removed {
        println!("removed stale generated file {}", removed.display());
    }
    Ok(ExitCode::SUCCESS)
}
