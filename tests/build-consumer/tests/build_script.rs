//! How the build-script integration behaves under Cargo: dependencies, rerun-if-changed, errors.
//!
//! The rerun and error tests build small probe crates (a copy of this crate's spec and a build
//! script that calls the library), kept with their target directory under `target/tmp` at fixed
//! paths, so only the first run compiles the library's dependencies (~15 s on 2 cores; then ~2 s).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(command: &mut Command) -> Output {
    command.output().expect("cannot run cargo")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn build_script_users_do_not_compile_cli_dependencies() {
    let output = run(cargo()
        .args([
            "tree",
            "--offline",
            "-p",
            "build-consumer",
            "-e",
            "normal,build",
            "--prefix",
            "depth",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml")));
    assert!(output.status.success(), "{}", text(&output));
    let tree = String::from_utf8(output.stdout).unwrap();
    // `1asyncapi-nats v0.1.0 (…)` then its dependencies, deeper, until the next depth-1 line.
    let lines: Vec<(usize, &str)> = tree
        .lines()
        .filter_map(|l| {
            let digits = l.find(|c: char| !c.is_ascii_digit())?;
            Some((l[..digits].parse().ok()?, l[digits..].split_whitespace().next()?))
        })
        .collect();
    let start = lines.iter().position(|(d, n)| *d == 1 && *n == "asyncapi-nats").expect("the build dependency");
    let library: Vec<&str> =
        lines[start + 1..].iter().take_while(|(depth, _)| *depth > 1).map(|(_, name)| *name).collect();
    assert!(library.contains(&"syn") && library.contains(&"minijinja"), "the library's own dependencies:\n{tree}");
    for cli_only in ["clap", "async-nats", "tokio"] {
        assert!(!library.contains(&cli_only), "{cli_only} is compiled for a build-script user:\n{tree}");
    }
}

/// A crate whose build script generates `shipping.rs` from `spec/asyncapi.yaml`, next to an unrelated file.
struct Probe {
    name: &'static str,
    dir: PathBuf,
    target: PathBuf,
}

const BUILD_RS: &str =
    "fn main() { asyncapi_nats::Config::new().module_name(\"shipping\").compile_or_exit(\"spec/asyncapi.yaml\"); }\n";

impl Probe {
    /// A fresh copy of the probe crate `name` (a fixed path, so its build directory is reused).
    fn new(name: &'static str) -> Probe {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("build-script-probe");
        let dir = root.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        // Build folders of earlier runs (another generator version hashes to another folder) would
        // leave more than one generated file to find; the dependencies' builds are kept.
        if let Ok(entries) = std::fs::read_dir(root.join("target/debug/build")) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&format!("{name}-")) {
                    std::fs::remove_dir_all(entry.path()).unwrap();
                }
            }
        }
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("spec"), &dir.join("spec"));
        std::fs::write(dir.join("spec/NOTES.md"), "Not referenced by the spec.\n").unwrap();
        let manifest = format!(
            r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[build-dependencies]
asyncapi-nats = {{ path = {:?}, default-features = false }}

[workspace]

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false
"#,
            repo().display().to_string()
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        std::fs::write(dir.join("build.rs"), BUILD_RS).unwrap();
        std::fs::create_dir(dir.join("src")).unwrap();
        // The library only embeds the generated text: the test is about when it is regenerated.
        std::fs::write(
            dir.join("src/lib.rs"),
            "pub const GENERATED: &str = include_str!(concat!(env!(\"OUT_DIR\"), \"/shipping.rs\"));\n",
        )
        .unwrap();
        Probe { name, dir, target: root.join("target") }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// `cargo build -v`: (success, output, whether the build script ran).
    fn build(&self) -> (bool, String, bool) {
        let started = Instant::now();
        let output = run(cargo()
            .args(["build", "-v", "--offline"])
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target));
        let log = text(&output);
        let ran = log.lines().any(|l| l.trim_start().starts_with("Running") && l.contains("build-script-build"));
        eprintln!("cargo build: {:?} (build script ran: {ran})", started.elapsed());
        (output.status.success(), log, ran)
    }

    fn generated(&self) -> PathBuf {
        let build = self.target.join("debug/build");
        let prefix = format!("{}-", self.name);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&build)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path().join("out/shipping.rs"))
            .filter(|p| p.exists())
            .collect();
        assert_eq!(found.len(), 1, "one generated file: {found:?}");
        found.pop().unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Sets a file's modification time to now (as `touch` does), a little later than the last build.
fn touch(path: &Path) {
    std::thread::sleep(Duration::from_millis(20));
    let file = std::fs::File::options().append(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
}

#[test]
fn touching_a_referenced_file_reruns_the_build_script_and_an_unrelated_file_does_not() {
    let probe = Probe::new("probe-rerun");
    let (ok, log, ran) = probe.build();
    assert!(ok && ran, "first build:\n{log}");
    let generated = probe.generated();
    let written = generated.metadata().unwrap().modified().unwrap();

    let (ok, log, ran) = probe.build();
    assert!(ok && !ran, "a no-op build must not rerun the build script:\n{log}");

    touch(&probe.path("spec/NOTES.md"));
    touch(&probe.path("Cargo.lock"));
    let (ok, log, ran) = probe.build();
    assert!(ok && !ran, "touching files the spec does not reference must not rerun the build script:\n{log}");

    // A file reached only through nested `$ref`s (asyncapi.yaml → shipment.yaml → address.json → geo.json).
    touch(&probe.path("spec/schemas/common/geo.json"));
    let (ok, log, ran) = probe.build();
    assert!(ok && ran, "touching a $ref'd file must rerun the build script:\n{log}");
    assert_eq!(
        generated.metadata().unwrap().modified().unwrap(),
        written,
        "same bytes: the generated file is not rewritten"
    );

    let geo = probe.path("spec/schemas/common/geo.json");
    let text = std::fs::read_to_string(&geo).unwrap().replace("A WGS 84 coordinate.", "A WGS 84 position.");
    std::fs::write(&geo, text).unwrap();
    let (ok, log, ran) = probe.build();
    assert!(ok && ran, "editing a $ref'd file must rerun the build script:\n{log}");
    let contents = std::fs::read_to_string(&generated).unwrap();
    assert!(contents.contains("/// A WGS 84 position."), "the edit is regenerated");

    let (ok, log, ran) = probe.build();
    assert!(ok && !ran, "and then the build is a no-op again:\n{log}");
}

#[test]
fn spec_errors_are_reported_by_cargo_with_file_location_and_hint() {
    let probe = Probe::new("probe-error");
    let shipment = probe.path("spec/schemas/shipment.yaml");
    let text = std::fs::read_to_string(&shipment).unwrap().replace("#/Dimensions", "#/Dimension");
    std::fs::write(&shipment, text).unwrap();
    let (ok, log, _) = probe.build();
    assert!(!ok, "the build must fail:\n{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("error: probe-error@0.0.0: ")).collect();
    assert!(errors.len() >= 2, "the error is shown by cargo as `error:` lines:\n{log}");
    let shown = errors.join("\n");
    assert!(shown.contains("#/Dimension"), "{shown}");
    assert!(shown.contains("--> schemas/shipment.yaml:"), "file and line of the bad $ref:\n{shown}");
    assert!(shown.contains("= help:"), "a hint:\n{shown}");
    assert!(shown.contains("generating code from spec/asyncapi.yaml"), "which spec:\n{shown}");
    assert!(!log.contains("panicked"), "not a panic:\n{log}");
}
