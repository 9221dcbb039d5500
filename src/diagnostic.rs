//! The one diagnostic type of kiln and what it is made of. A [`Diagnostic`]
//! is an error (exit 2, from [`crate::Error`]) or a finding of `validate` and
//! `plan` (an error fails the check, exit 1; a warning does not): a severity,
//! a stable code, a message, the primary [`Span`] to edit (a values key with
//! file, line, column and key path wherever kiln knows one), related spans
//! ("also set here"), the rendered object concerned, notes and help. One text
//! printer ([`print`]) and one JSON form (serde) serve every command. Also
//! here: locations in input files and the closest known name for a
//! misspelled one.

pub mod print;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::scope::ScopeRef;

/// A position in an input file, shown as `path:line:column` (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(path: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location { path: path.into(), line, column }
    }

    /// The start of a file, for problems that belong to the whole file.
    pub fn file(path: &Path) -> Self {
        Location::new(path, 1, 1)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", display_path(&self.path), self.line, self.column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Where a diagnostic points: a file, the line and column when known, and
/// the values key path when the file is a values file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Span {
    /// A position in an input file, with the key path written there.
    pub fn at(location: &Location, key: impl ToString) -> Span {
        let key = key.to_string();
        Span {
            file: display_path(&location.path),
            line: Some(location.line),
            column: Some(location.column),
            key: (!key.is_empty()).then_some(key),
        }
    }

    /// A whole file (or a location kiln only has as text).
    pub fn file(file: impl Into<String>) -> Span {
        Span { file: file.into(), line: None, column: None, key: None }
    }

    /// Whether this points into `values/`.
    pub fn is_values(&self) -> bool {
        self.file.starts_with("values/")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Another place that matters to a diagnostic, and why (`also set here`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Related {
    pub label: String,
    pub span: Span,
}

/// The rendered object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `Kind.group namespace/name`.
    pub identity: String,
    /// `rendered/...`, where the object is written.
    pub file: String,
    /// Field path inside the object (`spec.template.spec.containers[0].image`); empty for the whole object.
    pub field: String,
    /// The template that rendered it, and for which document of its output.
    pub template: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable: `schema`, a policy or plan ID (findings); the kind of error (errors).
    pub code: String,
    pub message: String,
    /// What to edit: a values key where kiln knows it, else the file at fault.
    pub span: Option<Span>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// The scope instance whose values produced it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// Further lines of explanation (`cause: …`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// The reason given in values when an acknowledgement covers this finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            code: code.into(),
            message: message.into(),
            span: None,
            related: Vec::new(),
            scope: None,
            object: None,
            notes: Vec::new(),
            help: None,
            acknowledged: None,
        }
    }

    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_related(mut self, label: impl Into<String>, span: Span) -> Self {
        self.related.push(Related { label: label.into(), span });
        self
    }

    pub fn with_scope(mut self, scope: ScopeRef) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The order diagnostics print in: errors first, then by file, line and column.
    pub fn sort_key(&self) -> impl Ord + '_ {
        let span = self.span.as_ref();
        (
            self.severity,
            span.map(|span| span.file.as_str()),
            span.and_then(|span| span.line),
            span.and_then(|span| span.column),
            self.object.as_ref().map(|object| (&object.identity, &object.field)),
            &self.code,
            &self.message,
        )
    }
}

/// Paths in messages always use `/`, so messages read the same on every OS.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Returns the candidate closest to `name`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min()
        .map(|(_, candidate)| candidate)
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let last_line = before.rsplit(|&byte| byte == b'\n').next().unwrap_or(before);
    let column = String::from_utf8_lossy(last_line).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["replicas", "image", "ports"];
        assert_eq!(did_you_mean("replcas", known), Some("replicas"));
        assert_eq!(did_you_mean("imgae", known), Some("image"));
        assert_eq!(did_you_mean("volumes", known), None);
    }

    #[test]
    fn finds_line_and_column_of_offset() {
        assert_eq!(line_column(b"a: 1\nbc: 2\n", 6), (2, 2));
        assert_eq!(line_column(b"abc", 0), (1, 1));
    }

    #[test]
    fn location_prints_with_forward_slashes() {
        let location = Location::new("values\\nodes\\pc2.yaml", 3, 7);
        assert_eq!(location.to_string(), "values/nodes/pc2.yaml:3:7");
    }
}
