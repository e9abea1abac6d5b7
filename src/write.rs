//! Writing generated files: only files whose bytes changed are rewritten, so
//! Cargo and editors see no spurious modifications.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A generated file, path relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// What `write_files` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
}

/// Writes `files` under `dir`, skipping files whose contents are already identical.
pub fn write_files(dir: &Path, files: &[GeneratedFile]) -> Result<WriteReport> {
    let mut report = WriteReport::default();
    for file in files {
        let path = dir.join(&file.path);
        if std::fs::read(&path).is_ok_and(|old| old == file.contents.as_bytes()) {
            report.unchanged.push(file.path.clone());
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        std::fs::write(&path, &file.contents).map_err(|e| io_error(&path, e))?;
        report.written.push(file.path.clone());
    }
    Ok(report)
}

/// A difference between `dir` and what would be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Missing(PathBuf),
    Changed {
        path: PathBuf,
        diff: String,
    },
    /// A file in a generated folder that the generator would not write.
    Extra(PathBuf),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "missing: {}", p.display()),
            Drift::Changed { path, diff } => write!(f, "changed: {}\n{diff}", path.display()),
            Drift::Extra(p) => write!(f, "extra: {} (not generated; remove it)", p.display()),
        }
    }
}

/// Compares `dir` with `files` without writing. Extra files are looked for in
/// the folders that contain generated files.
pub fn check_files(dir: &Path, files: &[GeneratedFile]) -> Vec<Drift> {
    let mut drift = Vec::new();
    let mut folders = std::collections::BTreeSet::new();
    for file in files {
        folders.insert(file.path.parent().map(Path::to_path_buf).unwrap_or_default());
        match std::fs::read_to_string(dir.join(&file.path)) {
            Err(_) => drift.push(Drift::Missing(file.path.clone())),
            Ok(old) if old != file.contents => {
                drift.push(Drift::Changed { path: file.path.clone(), diff: short_diff(&old, &file.contents) })
            }
            Ok(_) => {}
        }
    }
    for folder in folders.iter().filter(|f| !f.as_os_str().is_empty()) {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
        let mut names: Vec<PathBuf> =
            entries.filter_map(|e| e.ok()).filter(|e| e.path().is_file()).map(|e| folder.join(e.file_name())).collect();
        names.sort();
        for name in names {
            if !files.iter().any(|f| f.path == name) {
                drift.push(Drift::Extra(name));
            }
        }
    }
    drift
}

/// The first differing lines, enough to see what changed.
fn short_diff(old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let first = old_lines.iter().zip(&new_lines).take_while(|(a, b)| a == b).count();
    let mut out = format!("  @@ line {} @@\n", first + 1);
    for line in old_lines.iter().skip(first).take(5) {
        out.push_str(&format!("  - {line}\n"));
    }
    for line in new_lines.iter().skip(first).take(5) {
        out.push_str(&format!("  + {line}\n"));
    }
    out
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(format!("cannot write {}: {e}", path.display())).hint("check that the output directory is writable")
}
