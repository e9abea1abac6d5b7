//! The command line: `gen` writes a crate (only files whose bytes changed), `gen --check` writes
//! nothing and reports drift (exit 0 up to date, 1 drift, 2 error).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cli(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asyncapi-nats")).args(args).current_dir(dir).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file under `dir`: relative path → (bytes, modification time).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, SystemTime)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let modified = path.metadata().unwrap().modified().unwrap();
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), (std::fs::read(&path).unwrap(), modified));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A temp dir with `out/` generated from the multi-file spec.
fn generated() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let generate = cli(&["gen", "specs/multi-file/asyncapi.yaml", "-o", out.to_str().unwrap()], &repo());
    assert!(generate.status.success(), "{}{}", stdout(&generate), stderr(&generate));
    (tmp, out)
}

fn check(out: &Path) -> Output {
    cli(&["gen", "specs/multi-file/asyncapi.yaml", "-o", out.to_str().unwrap(), "--check"], &repo())
}

#[test]
fn gen_writes_only_changed_files() {
    let (_tmp, out) = generated();
    let before = snapshot(&out);
    assert!(before.contains_key(Path::new("Cargo.toml")) && before.contains_key(Path::new("src/types.rs")));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = cli(&["gen", "specs/multi-file/asyncapi.yaml", "-o", out.to_str().unwrap()], &repo());
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("(0 written,"), "{}", stdout(&again));
    assert_eq!(snapshot(&out), before, "nothing rewritten, not even the modification times");
}

#[test]
fn check_passes_on_an_up_to_date_crate_and_writes_nothing() {
    let (_tmp, out) = generated();
    let before = snapshot(&out);
    let output = check(&out);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("is up to date"), "{}", stdout(&output));
    assert_eq!(snapshot(&out), before);
}

#[test]
fn check_lists_changed_missing_and_extra_files_with_a_diff_and_writes_nothing() {
    let (_tmp, out) = generated();
    let types = out.join("src/types.rs");
    let edited = std::fs::read_to_string(&types).unwrap().replace("/// A WGS 84 coordinate.", "/// Hand edited.");
    std::fs::write(&types, &edited).unwrap();
    std::fs::remove_file(out.join("src/subjects.rs")).unwrap();
    std::fs::write(out.join("src/extra.rs"), "// not generated\n").unwrap();
    // Files outside the generated folders are the user's business (README, target/, …).
    std::fs::write(out.join("NOTES.md"), "mine\n").unwrap();
    let before = snapshot(&out);

    let output = check(&out);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}{}", stderr(&output));
    assert!(text.contains("changed: src/types.rs"), "{text}");
    assert!(text.contains("  - /// Hand edited."), "the old line:\n{text}");
    assert!(text.contains("  + /// A WGS 84 coordinate."), "the new line:\n{text}");
    assert!(text.contains("missing: src/subjects.rs"), "{text}");
    assert!(text.contains("extra: src/extra.rs"), "{text}");
    assert!(!text.contains("NOTES.md"), "{text}");
    assert!(text.contains("3 file(s) differ"), "{text}");
    assert_eq!(snapshot(&out), before, "--check writes nothing");
}

#[test]
fn check_of_a_directory_that_does_not_exist_reports_every_file_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nothing-here");
    let output = check(&out);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("missing: src/lib.rs"), "{}", stdout(&output));
    assert!(!out.exists(), "--check creates nothing");
}

#[test]
fn errors_exit_2_with_file_location_and_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("asyncapi.yaml");
    std::fs::write(
        &spec,
        "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  a:\n    address: a.b\n    x-jetstream: {strem: s}\n",
    )
    .unwrap();
    for check in [false, true] {
        let mut args = vec!["gen", "asyncapi.yaml", "-o", "out"];
        if check {
            args.push("--check");
        }
        let output = cli(&args, tmp.path());
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let err = stderr(&output);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("--> asyncapi.yaml:6:"), "file and line:\n{err}");
        assert!(err.contains("= help:"), "a hint:\n{err}");
        assert!(!tmp.path().join("out").exists(), "nothing written on error");
    }
}

#[test]
fn manifests_writes_only_the_ops_files_and_checks_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ops");
    let o = out.to_str().unwrap();
    let written = cli(&["manifests", "specs/shop.yaml", "-o", o, "--namespace", "messaging"], &repo());
    assert!(written.status.success(), "{}", stderr(&written));
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.contains(&"kustomization.yaml".to_string()) && names.contains(&"nats-permissions.json".to_string()));
    assert!(names.iter().all(|n| !n.ends_with(".rs") && n != "Cargo.toml"), "{names:?}");
    let stream = std::fs::read_to_string(out.join("stream-orders.yaml")).unwrap();
    assert!(stream.contains("namespace: \"messaging\""), "{stream}");

    let ok = cli(&["manifests", "specs/shop.yaml", "-o", o, "--namespace", "messaging", "--check"], &repo());
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    // Same spec, other options: the committed manifests drift.
    let drift = cli(&["manifests", "specs/shop.yaml", "-o", o, "--check"], &repo());
    assert_eq!(drift.status.code(), Some(1));
    assert!(
        stdout(&drift).contains("changed: stream-orders.yaml") && stdout(&drift).contains("namespace"),
        "{}",
        stdout(&drift)
    );
    std::fs::write(out.join("consumer-old.yaml"), "# @generated by asyncapi-nats 0.0.9 from shop.yaml. DO NOT EDIT.\n")
        .unwrap();
    std::fs::write(out.join("notes.md"), "ops notes, not generated").unwrap();
    let extra = cli(&["manifests", "specs/shop.yaml", "-o", o, "--namespace", "messaging", "--check"], &repo());
    assert_eq!(extra.status.code(), Some(1));
    assert!(stdout(&extra).contains("extra: consumer-old.yaml"), "{}", stdout(&extra));
    assert!(!stdout(&extra).contains("notes.md"), "{}", stdout(&extra));
    // Regenerating removes the stale generated file, and only that one.
    let again = cli(&["manifests", "specs/shop.yaml", "-o", o, "--namespace", "messaging"], &repo());
    assert!(again.status.success());
    assert!(!out.join("consumer-old.yaml").exists() && out.join("notes.md").exists());
    assert!(stdout(&again).contains("1 removed"), "{}", stdout(&again));
}

/// `gen SPEC` without `-o` writes into a folder named after the crate and says where.
#[test]
fn gen_without_out_writes_a_folder_named_after_the_crate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("tests/matrix/no-parameters.yaml"), dir.path().join("spec.yaml")).unwrap();
    let output = cli(&["gen", "spec.yaml"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("no-parameters/Cargo.toml").exists());
    assert!(stdout(&output).contains("into no-parameters ("), "{}", stdout(&output));
    let output = cli(&["gen", "spec.yaml", "--crate-name", "np-client"], dir.path());
    assert!(output.status.success() && dir.path().join("np-client/src/lib.rs").exists(), "{}", stderr(&output));
    let output = cli(&["gen", "spec.yaml", "--check"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn gen_timings_name_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let spec = repo().join("specs/shop.yaml");
    let quiet = cli(&["gen", spec.to_str().unwrap(), "-o", out.to_str().unwrap()], dir.path());
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("render+fmt"), "{}", stderr(&quiet));
    let output = cli(&["gen", "-v", spec.to_str().unwrap(), "-o", out.to_str().unwrap()], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    for stage in
        ["load", "model", "types", "manifests", "subjects", "view", "subscribers", "render+fmt", "write", "total"]
    {
        assert!(err.lines().any(|l| l.trim_start().starts_with(stage)), "no {stage} in:\n{err}");
    }
    assert!(err.contains("wall ms") && err.contains("cpu ms") && err.contains("RSS MB"), "{err}");
}

#[test]
fn every_error_and_warning_of_a_run_is_printed_at_once_with_a_count() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = repo().join("tests/fixtures/errors/many.yaml");
    let output = cli(&["gen", spec.to_str().unwrap(), "-o", "out"], tmp.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    // The warning, then each error located and with its help, in document order, then the count.
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("warning: channel `skipped`"), "{err}");
    let located: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("  --> many.yaml:")).collect();
    assert_eq!(located.len(), 9, "one warning and eight errors:\n{err}");
    let line_numbers: Vec<u32> = located.iter().map(|l| l.split(':').next().unwrap().parse().unwrap()).collect();
    assert!(line_numbers[1..].is_sorted(), "errors in document order: {line_numbers:?}\n{err}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("error: ")).count(), 8, "{err}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("  = help: ")).count(), 9, "{err}");
    assert_eq!(lines.last(), Some(&"8 errors, 1 warning"), "{err}");
    assert!(!tmp.path().join("out").exists(), "nothing written on error");
}
