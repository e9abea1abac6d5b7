//! Byte-for-byte determinism of the generated output.
//!
//! - The same input gives the same bytes, whatever the run, the current directory, the path the spec
//!   is given by (relative, absolute, with `..`, through a symlink) or where the spec lives: file
//!   headers name the spec relative to its own folder, never by absolute path.
//! - The order of keys in *unrelated* parts of the document does not matter. Unrelated means every
//!   mapping whose order carries no meaning in AsyncAPI or JSON Schema: `channels`, `operations`,
//!   `components.*`, `x-jetstream.streams`, message and parameter maps, the keywords inside a schema
//!   (`type` before or after `properties`), and so on — in every file reached through `$ref`. The one
//!   mapping whose order *is* related is a schema's `properties`: it is the field order of the struct
//!   (and of the serialized JSON), so it is kept. Sequences (`enum`, `required`, `oneOf`, operation
//!   `messages`) are ordered by definition and are kept as well.
//! - Changing one schema changes only the output that depends on it: one file, one hunk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SPECS: &[&str] = &[
    "specs/allocation.yaml",
    "specs/allocation-v2.yaml",
    "specs/multi-file/asyncapi.yaml",
    "specs/shop.yaml",
    "tests/fixtures/faststream/faststream-3.0.yaml",
    "tests/fixtures/faststream/faststream-2.6.yaml",
    "tests/fixtures/faststream/faststream-3.0.json",
    "tests/fixtures/faststream/faststream-2.6.json",
];

type Files = BTreeMap<PathBuf, String>;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `asyncapi-nats gen SPEC -o OUT` in `cwd` and returns every file written.
fn cli_gen(cwd: &Path, spec: &Path, out: &Path) -> Files {
    let output = Command::new(env!("CARGO_BIN_EXE_asyncapi-nats"))
        .arg("gen")
        .arg(spec)
        .arg("-o")
        .arg(out)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}: {}", spec.display(), String::from_utf8_lossy(&output.stderr));
    read_tree(out)
}

fn read_tree(dir: &Path) -> Files {
    fn walk(root: &Path, dir: &Path, out: &mut Files) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut files = Files::new();
    walk(dir, dir, &mut files);
    files
}

fn library_gen(spec: &Path) -> Files {
    let generated =
        asyncapi_nats::Config::new().generate_crate(spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
    generated.files.into_iter().map(|f| (f.path, f.contents)).collect()
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

/// The first difference between two outputs, for a readable failure.
fn first_difference(a: &Files, b: &Files) -> String {
    let names = |f: &Files| f.keys().cloned().collect::<Vec<_>>();
    if names(a) != names(b) {
        return format!("different files: {:?} vs {:?}", names(a), names(b));
    }
    for (path, left) in a {
        let right = &b[path];
        if left != right {
            let line = left.lines().zip(right.lines()).position(|(x, y)| x != y).unwrap_or(0);
            return format!(
                "{}: line {}:\n  {:?}\n  {:?}",
                path.display(),
                line + 1,
                left.lines().nth(line).unwrap_or_default(),
                right.lines().nth(line).unwrap_or_default()
            );
        }
    }
    String::new()
}

fn assert_same(what: &str, expected: &Files, actual: &Files) {
    assert!(expected == actual, "{what}: {}", first_difference(expected, actual));
}

#[test]
fn same_input_same_bytes_whatever_the_run_directory_or_path() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path().canonicalize().unwrap();
    for (i, spec) in SPECS.iter().enumerate() {
        let relative = Path::new(spec);
        let folder = repo().join(relative.parent().unwrap());
        let file = relative.file_name().unwrap();
        // The spec's folder copied elsewhere, deeper, and reached through a symlink.
        let copy = tmp.join(format!("copies/{i}/somewhere/deeper"));
        copy_dir(&folder, &copy);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&copy, tmp.join(format!("link-{i}"))).unwrap();
        let out = |n: usize| tmp.join(format!("out/{i}/{n}"));

        let reference = library_gen(&repo().join(relative));
        let mut runs = vec![
            ("library, again", library_gen(&repo().join(relative))),
            ("cli, from the repository, relative path", cli_gen(&repo(), relative, &out(1))),
            ("cli, from the spec's folder, file name only", cli_gen(&folder, Path::new(file), &out(2))),
            ("cli, from /, absolute path of a copy", cli_gen(Path::new("/"), &copy.join(file), &out(3))),
            (
                "cli, from the copy's parent, path with `..`",
                cli_gen(&copy.join(".."), &Path::new("deeper/../deeper").join(file), &out(4)),
            ),
            ("cli, in the temp dir, out dir given relative", {
                let mut command = Command::new(env!("CARGO_BIN_EXE_asyncapi-nats"));
                let output = command
                    .arg("gen")
                    .arg(copy.join(file))
                    .args(["-o", &format!("out/{i}/5")])
                    .current_dir(&tmp)
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                read_tree(&out(5))
            }),
        ];
        #[cfg(unix)]
        runs.push((
            "cli, through a symlinked folder",
            cli_gen(&tmp, &Path::new(&format!("link-{i}")).join(file), &out(6)),
        ));
        for (how, files) in &runs {
            assert_same(&format!("{spec} ({how})"), &reference, files);
        }
        for (path, contents) in &reference {
            for private in [repo().to_string_lossy(), tmp.to_string_lossy()] {
                assert!(!contents.contains(&*private), "{spec}: {} mentions {private}", path.display());
            }
        }
    }
}

/// Every mapping's keys in reverse order, except the order of `properties` (the field order).
fn reverse_keys(value: &Value, key_of_parent: Option<&str>) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if key_of_parent != Some("properties") {
                entries.reverse();
            }
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), reverse_keys(v, Some(k)))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| reverse_keys(v, None)).collect()),
        other => other.clone(),
    }
}

/// Rewrites every YAML/JSON file under `dir` with `edit` applied (as JSON, which is also YAML).
fn rewrite_documents(dir: &Path, edit: &dyn Fn(&Value) -> Value) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rewrite_documents(&path, edit);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => serde_yaml::from_str(&text).unwrap(),
            Some("json") => serde_json::from_str(&text).unwrap(),
            _ => continue,
        };
        std::fs::write(&path, serde_json::to_string_pretty(&edit(&value)).unwrap()).unwrap();
    }
}

/// Generates each spec from a copy whose documents had `edit` applied; returns (spec, before, after).
fn with_reordered_keys() -> Vec<(&'static str, Files, Files)> {
    SPECS
        .iter()
        .map(|spec| {
            let tmp = tempfile::tempdir().unwrap();
            let folder = repo().join(Path::new(spec).parent().unwrap());
            let file = Path::new(spec).file_name().unwrap();
            copy_dir(&folder, tmp.path());
            let before = library_gen(&tmp.path().join(file));
            rewrite_documents(tmp.path(), &|v| reverse_keys(v, None));
            (*spec, before, library_gen(&tmp.path().join(file)))
        })
        .collect()
}

fn only(files: &Files, keep: impl Fn(&Path) -> bool) -> Files {
    files.iter().filter(|(p, _)| keep(p)).map(|(p, c)| (p.clone(), c.clone())).collect()
}

#[test]
fn the_order_of_keys_in_unrelated_parts_of_the_spec_does_not_matter() {
    for (spec, before, after) in with_reordered_keys() {
        let code = |files: &Files| only(files, |p| !p.starts_with("deploy"));
        assert_same(&format!("{spec}, keys reversed"), &code(&before), &code(&after));
        let deploy = |files: &Files| only(files, |p| p.starts_with("deploy"));
        assert_same(&format!("{spec} manifests, keys reversed"), &deploy(&before), &deploy(&after));
    }
}

/// The changed lines between two texts, as (removed, added), assuming one contiguous hunk.
fn hunk(old: &str, new: &str) -> (Vec<String>, Vec<String>, usize) {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let removed = old[prefix..old.len() - suffix].iter().map(|s| s.to_string()).collect();
    let added = new[prefix..new.len() - suffix].iter().map(|s| s.to_string()).collect();
    (removed, added, prefix)
}

/// Generates from a copy of the multi-file spec before and after `edit` (file, old text, new text) and
/// returns the changed files.
fn changed_by(edit: (&str, &str, &str)) -> (Files, Files, Vec<PathBuf>) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("specs/multi-file"), tmp.path());
    let before = library_gen(&tmp.path().join("asyncapi.yaml"));
    let (file, old, new) = edit;
    let text = std::fs::read_to_string(tmp.path().join(file)).unwrap();
    assert!(text.contains(old), "{file} contains {old:?}");
    std::fs::write(tmp.path().join(file), text.replacen(old, new, 1)).unwrap();
    let after = library_gen(&tmp.path().join("asyncapi.yaml"));
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "same files");
    let changed = before.iter().filter(|(path, contents)| after[*path] != **contents).map(|(p, _)| p.clone()).collect();
    (before, after, changed)
}

/// The lines of the item `pub struct|enum NAME` (with its docs and attributes) in `text`, as a range.
fn item_range(text: &str, name: &str) -> std::ops::Range<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let decl = lines
        .iter()
        .position(|l| l.starts_with(&format!("pub struct {name} ")) || l.starts_with(&format!("pub enum {name} ")))
        .unwrap_or_else(|| panic!("no item {name}"));
    let start = lines[..decl].iter().rposition(|l| l.is_empty()).map_or(0, |i| i + 1);
    let end = decl + lines[decl..].iter().position(|l| *l == "}").unwrap() + 1;
    start..end
}

#[test]
fn adding_a_property_changes_only_that_type() {
    // GeoPoint lives in schemas/common/geo.json, three `$ref`s away from the document.
    let (before, after, changed) = changed_by((
        "schemas/common/geo.json",
        r#""longitude": {"#,
        r#""altitude": {"type": "number", "description": "Altitude in metres."},
        "longitude": {"#,
    ));
    assert_eq!(changed, [PathBuf::from("src/types.rs")]);
    let (old, new) = (&before[Path::new("src/types.rs")], &after[Path::new("src/types.rs")]);
    let (removed, added, at) = hunk(old, new);
    assert!(removed.is_empty(), "only additions: {removed:?}");
    assert!(added.iter().any(|l| l.contains("pub altitude: ::std::option::Option<f64>,")), "{added:?}");
    assert!(added.len() <= 4, "one field: {added:?}");
    let item = item_range(new, "GeoPoint");
    assert!(item.contains(&at) && item.contains(&(at + added.len() - 1)), "the hunk is inside GeoPoint: {added:?}");
}

#[test]
fn editing_a_description_changes_only_that_doc_line() {
    let (before, after, changed) = changed_by((
        "schemas/shipment.yaml",
        "Outer dimensions of a parcel in millimetres.",
        "Outer size of a parcel.",
    ));
    assert_eq!(changed, [PathBuf::from("src/types.rs")]);
    let (old, new) = (&before[Path::new("src/types.rs")], &after[Path::new("src/types.rs")]);
    let (removed, added, at) = hunk(old, new);
    assert_eq!(removed, ["/// Outer dimensions of a parcel in millimetres."]);
    assert_eq!(added, ["/// Outer size of a parcel."]);
    assert!(item_range(new, "Dimensions").contains(&at));
}

#[test]
fn adding_an_enum_value_changes_only_that_enum() {
    let (before, after, changed) = changed_by(("schemas/enums.yaml", "    - US\n", "    - US\n    - IT\n"));
    assert_eq!(changed, [PathBuf::from("src/types.rs")]);
    let (old, new) = (&before[Path::new("src/types.rs")], &after[Path::new("src/types.rs")]);
    let (removed, added, at) = hunk(old, new);
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(item_range(new, "CountryCode").contains(&at));
}

#[test]
fn editing_consumer_settings_does_not_touch_the_types() {
    let (_, _, changed) = changed_by(("asyncapi.yaml", "maxAckPending: 50", "maxAckPending: 60"));
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|p| !p.starts_with("src/types.rs") && !p.starts_with("src/publishers.rs")),
        "{changed:?}"
    );
}
