//! Command-line front-end: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "asyncapi-nats",
    version,
    about = "Typed Rust NATS/JetStream clients and NACK manifests from AsyncAPI 3.0 / 2.6"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a Rust crate from an AsyncAPI document.
    Gen {
        /// The AsyncAPI document (YAML or JSON).
        spec: PathBuf,
        /// Output directory of the crate.
        #[arg(short, long)]
        out: PathBuf,
        /// Package name (default: from info.title).
        #[arg(long)]
        crate_name: Option<String>,
        /// Stream assumed when the document declares no x-jetstream streams (default: from info.title).
        #[arg(long)]
        stream: Option<String>,
        /// Write nothing; exit 1 when OUT differs from what would be generated.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> asyncapi_nats::Result<ExitCode> {
    match cli.command {
        Command::Gen { spec, out, crate_name, stream, check } => {
            let mut config = asyncapi_nats::Config::new();
            if let Some(name) = crate_name {
                config.crate_name(name);
            }
            if let Some(stream) = stream {
                config.default_stream(stream);
            }
            let generated = config.generate_crate(&spec)?;
            if check {
                let drift = asyncapi_nats::write::check_files(&out, &generated.files);
                if drift.is_empty() {
                    println!("{} is up to date ({} files)", out.display(), generated.files.len());
                    return Ok(ExitCode::SUCCESS);
                }
                for d in &drift {
                    println!("{d}");
                }
                println!("{} file(s) differ from what `asyncapi-nats gen` would write; regenerate", drift.len());
                return Ok(ExitCode::FAILURE);
            }
            let report = asyncapi_nats::write::write_files(&out, &generated.files)?;
            println!(
                "generated {} into {} ({} written, {} unchanged)",
                spec.display(),
                out.display(),
                report.written.len(),
                report.unchanged.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
