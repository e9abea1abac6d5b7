//! `Config::compile` (what build scripts call) writes the single file as it is made, compared with
//! the file there: the same bytes as `Config::generate`, written only when they change, and
//! nothing written when the run fails.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};

use asyncapi_nats::Config;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles `spec` into `out` and checks the file against `generate`'s, then that a second run
/// leaves it alone and that a changed file is put right.
fn compiles_as_generated(config: &Config, spec: &Path, out: &Path) {
    let generated = config.generate(spec).unwrap();
    let [file] = &generated.files[..] else { panic!("one file") };
    let path = out.join(&file.path);
    let _ = std::fs::remove_file(&path);
    let report = config.compile(spec).unwrap();
    assert_eq!(report.written, std::slice::from_ref(&file.path), "{}", spec.display());
    assert!(std::fs::read_to_string(&path).unwrap() == file.contents, "{}: not generate()'s bytes", spec.display());

    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let report = config.compile(spec).unwrap();
    assert_eq!(report.unchanged, std::slice::from_ref(&file.path), "{}", spec.display());
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified, "{}", spec.display());

    // A byte changed in the middle, and the file cut short: both are rewritten.
    let mut bytes = file.contents.clone().into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'x' { b'y' } else { b'x' };
    for changed in [&bytes[..], &bytes[..middle]] {
        std::fs::write(&path, changed).unwrap();
        let report = config.compile(spec).unwrap();
        assert_eq!(report.written, std::slice::from_ref(&file.path), "{}", spec.display());
        assert!(std::fs::read_to_string(&path).unwrap() == file.contents, "{}", spec.display());
    }
    let names: Vec<_> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().contains("tmp")), "temporary files left: {names:?}");
}

#[test]
fn compile_writes_what_generate_makes() {
    let out = tempfile::tempdir().unwrap();
    let mut config = Config::new();
    config.out_dir(out.path());
    let mut specs: Vec<PathBuf> = std::fs::read_dir(repo().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.to_string_lossy().contains("overlay"))
        .collect();
    specs.sort();
    specs.push(repo().join("specs/multi-file/asyncapi.yaml"));
    for spec in &specs {
        compiles_as_generated(&config, spec, out.path());
    }
}

/// Large documents: written a megabyte at a time. One whose types alone pass a megabyte while
/// its other modules are small is formatted whole after all (the pieces written so far do not
/// count).
#[test]
fn compile_writes_large_documents_piece_by_piece() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform.yaml");
    std::fs::write(&platform, synthetic::spec(120)).unwrap();
    let mut schemas = String::new();
    for i in 0..800 {
        schemas.push_str(&format!(
            "    Record{i}:\n      type: object\n      description: Record number {i}.\n      properties:\n        id: {{type: string, format: uuid}}\n        count: {{type: integer, minimum: 0}}\n        tags: {{type: array, items: {{type: string}}}}\n"
        ));
    }
    let types_only = dir.path().join("records.yaml");
    std::fs::write(
        &types_only,
        format!(
            "asyncapi: 3.0.0\ninfo: {{title: Records, version: 1.0.0}}\nchannels:\n  records:\n    address: records\n    messages: {{record: {{payload: {{$ref: '#/components/schemas/Record0'}}}}}}\noperations:\n  sendRecord: {{action: send, channel: {{$ref: '#/channels/records'}}}}\ncomponents:\n  schemas:\n{schemas}"
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut config = Config::new();
    config.out_dir(out.path());
    for spec in [&platform, &types_only] {
        let generated = config.generate(spec).unwrap();
        assert!(generated.files[0].contents.len() > 3 << 19, "{}: more than a megabyte and a half", spec.display());
        compiles_as_generated(&config, spec, out.path());
    }
}

/// A run that fails (an error, or a warning denied) writes nothing: the file there stays.
#[test]
fn a_failed_compile_leaves_the_file_there() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("feed.yaml");
    std::fs::write(
        &spec,
        "asyncapi: 3.0.0\ninfo: {title: Feed, version: 1.0.0}\nchannels:\n  feed:\n    address: feed\n    messages: {feed: {contentType: application/xml, payload: {type: string}}}\noperations:\n  sendFeed: {action: send, channel: {$ref: '#/channels/feed'}}\n",
    )
    .unwrap();
    let path = out.path().join("feed.rs");
    std::fs::write(&path, "// what was there\n").unwrap();
    let mut config = Config::new();
    config.out_dir(out.path()).deny_warnings(true);
    let error = config.compile(&spec).unwrap_err();
    assert!(error.to_string().contains("denied"), "{error}");
    // The file of the same name as a spec with errors.
    let bad = dir.path().join("feed").join("feed.yaml");
    std::fs::create_dir(dir.path().join("feed")).unwrap();
    std::fs::copy(repo().join("tests/fixtures/errors/many.yaml"), &bad).unwrap();
    assert!(Config::new().out_dir(out.path()).compile(&bad).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "// what was there\n");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
}
