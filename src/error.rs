//! Located diagnostics: every user-facing error names the file, line:column
//! (when the loader knows it), the JSON pointer, and what to do about it.

use std::fmt;

/// Where in the input a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Path of the file as shown to the user (relative to the root spec's folder when possible).
    pub file: String,
    /// 1-based line and column, when the loader recorded them (`u32`: an [`Error`] stays small).
    pub line_col: Option<(u32, u32)>,
    /// JSON pointer inside the file (`/channels/orders/address`), empty for the whole document.
    pub pointer: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.line_col {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, " (at #{})", self.pointer)
    }
}

/// A problem in the input or while generating.
///
/// A run reports every independent problem it finds at once: this error is the first (in
/// document order), and [`Error::more`] holds the others, how many were left out beyond
/// [`MAX_ERRORS`], and the warnings of the failed run. [`Error::errors`] lists them all one by one;
/// `Display` shows them all (each after `error: `, except the first, which the caller prefixes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
    /// The rest of the run's report, when it found more than this one problem (boxed: `Result`s stay small).
    pub more: Option<Box<More>>,
}

/// The other problems of a run that failed (see [`Error`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct More {
    /// The further errors, in document order (at most [`MAX_ERRORS`] in all, with the first).
    pub errors: Vec<Error>,
    /// Errors found beyond [`MAX_ERRORS`] and not listed.
    pub omitted: usize,
    /// The warnings of the run, in document order.
    pub warnings: Vec<Error>,
}

/// How many errors one run lists; a hostile document with millions of problems stays bounded
/// (the rest are counted: "and N more errors").
pub const MAX_ERRORS: usize = 50;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error { message: message.into(), location: None, hint: None, more: None }
    }

    /// One error reporting all of `errors` (any order; sorted into document order, duplicates
    /// dropped, at most [`MAX_ERRORS`] listed), with the run's `warnings`; `None` if there is none.
    pub fn many(errors: Vec<Error>, warnings: Vec<Error>) -> Option<Error> {
        let mut list = Collected::default();
        for error in errors {
            list.push(error);
        }
        list.into_error(warnings)
    }

    /// Every error of the run, one by one (each without [`Error::more`]): this one first.
    pub fn errors(&self) -> Vec<Error> {
        let mut out = vec![Error { more: None, ..self.clone() }];
        if let Some(more) = &self.more {
            out.extend(more.errors.iter().cloned());
        }
        out
    }

    /// How many errors the run found (listed and omitted).
    pub fn count(&self) -> usize {
        1 + self.more.as_ref().map_or(0, |m| m.errors.len() + m.omitted)
    }

    /// The warnings of the failed run (empty when it had none or this error was made alone).
    pub fn warnings(&self) -> &[Error] {
        self.more.as_ref().map_or(&[], |m| &m.warnings)
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Spec text quoted in diagnostics must not drive the terminal (escape sequences, bidi
/// reordering): every control character but the line break is shown escaped.
fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(|c| c != '\n' && crate::escape::is_unsafe_in_text(c)) {
        text.split('\n').map(crate::escape::visible).collect::<Vec<_>>().join("\n").into()
    } else {
        text.into()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_one(f)?;
        if let Some(more) = &self.more {
            for error in &more.errors {
                write!(f, "\nerror: ")?;
                error.fmt_one(f)?;
            }
            if more.omitted > 0 {
                write!(
                    f,
                    "\nerror: and {} more error{} (the first {MAX_ERRORS} are listed)",
                    more.omitted,
                    plural(more.omitted)
                )?;
            }
        }
        Ok(())
    }
}

/// `""` or `"s"`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Errors gathered while a run goes on after the first: bounded (when far more than
/// [`MAX_ERRORS`] arrive, only the first in document order are kept and the rest counted).
#[derive(Debug, Default)]
pub struct Collected {
    list: Vec<Error>,
    omitted: usize,
}

impl Collected {
    /// Adds `error` and every error it carries.
    pub fn push(&mut self, error: Error) {
        let omitted = error.more.as_ref().map_or(0, |m| m.omitted);
        self.omitted += omitted;
        self.list.extend(error.errors());
        if self.list.len() > 4 * MAX_ERRORS {
            self.compact();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Sorts into document order, drops duplicates, keeps the first [`MAX_ERRORS`].
    fn compact(&mut self) {
        sort_located(&mut self.list);
        if self.list.len() > MAX_ERRORS {
            self.omitted += self.list.len() - MAX_ERRORS;
            self.list.truncate(MAX_ERRORS);
        }
    }

    /// All of them as one error (see [`Error::many`]).
    pub fn into_error(mut self, warnings: Vec<Error>) -> Option<Error> {
        self.compact();
        let mut errors = self.list.into_iter();
        let mut first = errors.next()?;
        let errors: Vec<Error> = errors.collect();
        if !errors.is_empty() || self.omitted > 0 || !warnings.is_empty() {
            first.more = Some(Box::new(More { errors, omitted: self.omitted, warnings }));
        }
        Some(first)
    }
}

/// Sorts diagnostics into document order (file, line:column, pointer, then message) and drops
/// duplicates: the same message at the same place (two stages checking one value) is listed once,
/// with a hint if either has one.
pub fn sort_located(list: &mut Vec<Error>) {
    list.sort_by(|a, b| {
        let key = |e: &Error| e.location.as_ref().map(|l| (l.file.clone(), l.line_col, l.pointer.clone()));
        key(a)
            .cmp(&key(b))
            .then_with(|| a.message.cmp(&b.message))
            .then_with(|| b.hint.is_some().cmp(&a.hint.is_some()))
            .then_with(|| a.hint.cmp(&b.hint))
    });
    list.dedup_by(|later, first| later.location == first.location && later.message == first.message);
}

impl Error {
    /// This error alone: message, `--> location`, `= help: …`.
    fn fmt_one(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", terminal_safe(&self.message))?;
        if let Some(location) = &self.location {
            write!(f, "\n  --> {location}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = help: {}", terminal_safe(hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
