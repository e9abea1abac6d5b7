//! Located diagnostics: every user-facing error names the file, line:column
//! (when the loader knows it), the JSON pointer, and what to do about it.

use std::fmt;

/// Where in the input a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Path of the file as shown to the user (relative to the root spec's folder when possible).
    pub file: String,
    /// 1-based line and column, when the loader recorded them.
    pub line_col: Option<(usize, usize)>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error { message: message.into(), location: None, hint: None }
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
