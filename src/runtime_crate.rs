//! Where generated code gets its runtime support (`runtime` module) from:
//! the `asyncapi-nats-runtime` crate's source, vendored verbatim (default),
//! or a dependency on that crate.

use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The runtime crate's only vendored file, embedded when the generator is built:
/// the single source of truth for the generated `runtime` module. It is read through a symlink
/// inside this package (to `runtime/src/runtime.rs`) so that `cargo package` packs the file: the
/// runtime's folder is a package of its own and would be left out.
pub const SOURCE: &str = include_str!("runtime.rs.link");

// A checkout without symlinks (git's `core.symlinks=false`) turns the link into a one-line file
// holding its target's path, which would be vendored as the runtime: refuse to build instead.
const _: () = assert!(
    SOURCE.len() > 1000,
    "src/runtime.rs.link is not a symlink to runtime/src/runtime.rs: check out with symlinks enabled"
);

/// Package name of the runtime crate.
pub const PACKAGE: &str = "asyncapi-nats-runtime";

/// Version of the runtime crate this generator's output is written against
/// (the workspace keeps both at the same version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How generated code gets the runtime.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RuntimeDependency {
    /// Copy the runtime's source into the generated code: it builds with nothing published.
    #[default]
    Vendored,
    /// Depend on the published crate: a version requirement such as `0.1`.
    Version(String),
    /// Depend on a local checkout of the crate (its folder, e.g. `../asyncapi-nats/runtime`).
    Path(PathBuf),
    /// Depend on the crate from a git repository, optionally at a revision.
    Git {
        /// Repository URL.
        url: String,
        /// Commit, tag or branch (`rev = …`).
        rev: Option<String>,
    },
}

impl FromStr for RuntimeDependency {
    type Err = Error;

    /// `vendored`, a version requirement (`0.1`, `=0.1.0`), `path:<dir>`, or `git:<url>[#<rev>]`.
    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = |why: &str| {
            Error::new(format!("invalid runtime dependency `{text}`: {why}"))
                .hint("use `vendored`, a version such as `0.1`, `path:<dir>` or `git:<url>[#<rev>]`")
        };
        if text == "vendored" {
            Ok(RuntimeDependency::Vendored)
        } else if let Some(dir) = text.strip_prefix("path:") {
            if dir.is_empty() {
                return Err(bad("the path is empty"));
            }
            Ok(RuntimeDependency::Path(dir.into()))
        } else if let Some(spec) = text.strip_prefix("git:") {
            let (url, rev) = match spec.split_once('#') {
                Some((url, rev)) => (url, Some(rev.to_string())),
                None => (spec, None),
            };
            if url.is_empty() || rev.as_deref() == Some("") {
                return Err(bad("the URL or revision is empty"));
            }
            Ok(RuntimeDependency::Git { url: url.to_string(), rev })
        } else if !text.is_empty()
            && text.chars().all(|c| c.is_ascii_alphanumeric() || ".*^~=<>, -+".contains(c))
            && text.chars().any(|c| c.is_ascii_digit())
        {
            Ok(RuntimeDependency::Version(text.to_string()))
        } else {
            Err(bad("not a version requirement"))
        }
    }
}

impl RuntimeDependency {
    /// The `[dependencies]` line of the generated `Cargo.toml`, if any.
    pub fn cargo_line(&self) -> Option<String> {
        let value = match self {
            RuntimeDependency::Vendored => return None,
            RuntimeDependency::Version(req) => crate::escape::toml_str(req),
            RuntimeDependency::Path(dir) => format!("{{ path = {} }}", crate::escape::toml_str(&dir.to_string_lossy())),
            RuntimeDependency::Git { url, rev: None } => format!("{{ git = {} }}", crate::escape::toml_str(url)),
            RuntimeDependency::Git { url, rev: Some(rev) } => {
                format!("{{ git = {}, rev = {} }}", crate::escape::toml_str(url), crate::escape::toml_str(rev))
            }
        };
        Some(format!("{PACKAGE} = {value}"))
    }

    /// The generated `runtime` module's source.
    pub fn module(&self) -> String {
        match self {
            RuntimeDependency::Vendored => SOURCE.to_string(),
            _ => format!(
                "//! Runtime support: the `{PACKAGE}` crate (version {VERSION} when this was generated), re-exported.\n\npub use ::asyncapi_nats_runtime::*;\n"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("vendored".parse::<RuntimeDependency>().unwrap(), RuntimeDependency::Vendored);
        assert_eq!("0.1".parse::<RuntimeDependency>().unwrap(), RuntimeDependency::Version("0.1".into()));
        assert_eq!("path:../rt".parse::<RuntimeDependency>().unwrap(), RuntimeDependency::Path("../rt".into()));
        assert_eq!(
            "git:https://example.com/r.git#v1".parse::<RuntimeDependency>().unwrap(),
            RuntimeDependency::Git { url: "https://example.com/r.git".into(), rev: Some("v1".into()) }
        );
        for bad in ["", "path:", "git:", "git:u#", "latest", "0.1\"\n[x]"] {
            assert!(bad.parse::<RuntimeDependency>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cargo_lines_escape_toml() {
        assert_eq!(RuntimeDependency::Vendored.cargo_line(), None);
        assert_eq!(
            RuntimeDependency::Path("a\"b\\c".into()).cargo_line().unwrap(),
            r#"asyncapi-nats-runtime = { path = "a\"b\\c" }"#
        );
        assert_eq!(
            RuntimeDependency::Git { url: "u".into(), rev: Some("r".into()) }.cargo_line().unwrap(),
            r#"asyncapi-nats-runtime = { git = "u", rev = "r" }"#
        );
        assert_eq!(RuntimeDependency::Version("0.1".into()).cargo_line().unwrap(), r#"asyncapi-nats-runtime = "0.1""#);
    }
}
