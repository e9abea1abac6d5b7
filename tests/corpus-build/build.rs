//! Generates every document of `tests/corpus/corpus.tsv` as a crate, and every shape of
//! `tests/matrix/` (plus `specs/hostile-names.yaml`) both as a crate and as a build.rs module, into
//! `$OUT_DIR`; `src/lib.rs` compiles them all as modules of this one crate (one compile instead
//! of one per document) under `#![deny(warnings)]`, and the workspace's clippy run checks them.
//!
//! A corpus line's third column holds `asyncapi-nats gen` flags (`--path-subjects`,
//! `--overlay FILE`, `--stream NAME`); a fourth column marks a known gap: generation must fail with
//! an error containing that text (so fixing the gap shows up here, and the mark is removed).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use asyncapi_nats::{Config, Generated, write};

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let tests = here.parent().expect("tests/").to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let mut all = String::new();
    let mut problems = Vec::new();
    let mut report = String::new();

    let tsv_path = tests.join("corpus/corpus.tsv");
    println!("cargo:rerun-if-changed={}", tsv_path.display());
    let tsv = std::fs::read_to_string(&tsv_path).expect("tests/corpus/corpus.tsv");
    for line in tsv.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        let (id, document) = (columns[0], tests.join("corpus").join(columns[1]));
        let mut config = Config::new();
        config.crate_name(format!("c-{}", id.replace('.', "-")));
        let mut flags = columns.get(2).copied().unwrap_or_default().split_whitespace();
        while let Some(flag) = flags.next() {
            match flag {
                "--path-subjects" => config.path_subjects(true),
                "--overlay" => config.overlay(tests.join("corpus").join(flags.next().expect("--overlay FILE"))),
                "--stream" => config.default_stream(flags.next().expect("--stream NAME")),
                "--only" => config.only(flags.next().expect("--only PATTERN")),
                other => panic!("corpus.tsv, {id}: unknown flag {other}"),
            };
        }
        let known_gap = columns.get(3).copied().filter(|g| !g.is_empty());
        match (config.generate_crate(&document), known_gap) {
            (Ok(generated), None) => {
                let _ = writeln!(report, "{id}\t{} warning(s)", generated.warnings.len());
                let lib = write_crate(&out.join("crates").join(id), &generated);
                let _ = writeln!(all, "#[path = {:?}]\npub mod {};", lib.display().to_string(), ident("c", id));
            }
            (Ok(_), Some(gap)) => {
                problems.push(format!("{id}: generates now; remove the known gap `{gap}` from tests/corpus/corpus.tsv"))
            }
            (Err(e), Some(gap)) if e.to_string().contains(gap) => {
                let _ = writeln!(report, "{id}\tknown gap: {gap}");
            }
            (Err(e), _) => problems.push(format!("{id}: {e}")),
        }
    }

    let mut shapes: Vec<PathBuf> = std::fs::read_dir(tests.join("matrix"))
        .expect("tests/matrix")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    shapes.sort();
    shapes.push(here.join("../../specs/hostile-names.yaml"));
    println!("cargo:rerun-if-changed={}", tests.join("matrix").display());
    for spec in shapes {
        let id = spec.file_stem().and_then(|s| s.to_str()).expect("UTF-8 name").to_string();
        let mut config = Config::new();
        config.crate_name(format!("shape-{id}"));
        match config.generate_crate(&spec) {
            Ok(generated) => {
                let lib = write_crate(&out.join("crates").join(format!("shape-{id}")), &generated);
                let _ = writeln!(all, "#[path = {:?}]\npub mod {};", lib.display().to_string(), ident("crate", &id));
            }
            Err(e) => problems.push(format!("{}: {e}", spec.display())),
        }
        config.module_name(ident("module", &id));
        match config.generate(&spec) {
            Ok(generated) => {
                let dir = out.join("modules");
                write::write_files(&dir, &generated.files).expect("writable OUT_DIR");
                for input in &generated.inputs {
                    println!("cargo:rerun-if-changed={}", input.display());
                }
                let file = dir.join(&generated.files[0].path);
                let _ = writeln!(
                    all,
                    "pub mod {} {{\n    include!({:?});\n}}",
                    ident("module", &id),
                    file.display().to_string()
                );
            }
            Err(e) => problems.push(format!("{} (module): {e}", spec.display())),
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            for line in p.lines() {
                println!("cargo::error={line}");
            }
        }
        std::process::exit(1);
    }
    write::write_files(
        &out,
        &[
            asyncapi_nats::GeneratedFile { path: "all.rs".into(), contents: all },
            asyncapi_nats::GeneratedFile { path: "report.tsv".into(), contents: report },
        ],
    )
    .expect("writable OUT_DIR");
}

/// Writes a generated crate (without its ops files) and returns the path of its `src/lib.rs`.
fn write_crate(dir: &Path, generated: &Generated) -> PathBuf {
    for input in &generated.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    let files: Vec<_> = generated.files.iter().filter(|f| f.path.starts_with("src")).cloned().collect();
    write::write_files(dir, &files).expect("writable OUT_DIR");
    dir.join("src/lib.rs")
}

fn ident(prefix: &str, id: &str) -> String {
    let body: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    format!("{prefix}_{body}")
}
