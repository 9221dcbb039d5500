//! The typed errors kiln reports. Each variant carries what its message needs
//! (file, line/column, key path, template, scope) and renders in one layout:
//! a headline, a `-->` location line, the key path and a `help:` line.
//! Positions in values files are [`Location`]s, positions in templates
//! [`TemplateSpan`]s, made where the parser, Tera or kiln's template checks
//! report them.

use std::fmt;
use std::path::PathBuf;

use crate::diagnostic::{display_path, print, Diagnostic, Location, Severity, Span};
use crate::root::Boundary;
use crate::scope::ScopeRef;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// A filesystem operation failed.
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    /// A directory kiln needs does not exist.
    MissingDir { path: PathBuf, what: &'static str },
    /// An entry under `values/` or `templates/` that is not a regular file
    /// (a FIFO would block the read, a device never end it).
    NotAFile { path: PathBuf, kind: &'static str },
    /// An input file is not valid UTF-8.
    NotUtf8 { location: Location },
    /// An input file is empty or holds only comments.
    EmptyFile { path: PathBuf, what: &'static str },
    /// YAML syntax error in a values file.
    YamlSyntax { location: Location, message: String },
    /// A values file breaks kiln's schema or a cross-check.
    Values { location: Location, key_path: String, message: String, help: Option<String> },
    /// Two layers give one key different shapes: `location` is the
    /// overriding layer, `also` where the layer below sets it (boxed to keep
    /// `Error` small).
    ValuesClash { location: Location, also: Box<Location>, key_path: String, message: String, help: Option<String> },
    /// A template failed to parse (`scope` empty) or to render. `location` is
    /// where the failing expression is (which may be in a partial);
    /// `also` counts the other scope instances that failed the same way.
    Template {
        template: String,
        location: Box<TemplateSpan>,
        scope: Option<Box<ScopeRef>>,
        causes: Vec<String>,
        also: usize,
    },
    /// A template rendered output kiln cannot accept (invalid YAML, unsafe name, ...),
    /// or the template itself is wrong (front matter, placement, a lint; `scope` empty).
    /// Positions are boxed to keep `Error` small.
    Output { template: Box<TemplateSpan>, scope: Option<Box<ScopeRef>>, message: String, help: Option<String> },
    /// Two rendered objects or files claim the same identity or path.
    Duplicate { what: String, first: String, second: String },
    /// The committed `rendered/` tree is not in a state kiln can work with.
    Rendered { path: PathBuf, message: String, help: Option<String> },
    /// Another `kiln render` holds the lock on `rendered/` (its pid, when it
    /// has written it yet).
    Busy { pid: Option<u32> },
    /// Reading a git repository or revision failed (`kiln diff`).
    Git { repo: PathBuf, message: String, cause: Option<String>, help: Option<String> },
    /// No directory from `start` up to `stop` is a kiln repository
    /// (`crate::root`); `partial` names the nearest one that nearly is.
    NoRepository { start: PathBuf, stop: PathBuf, boundary: Boundary, partial: Option<String> },
    /// A Compose file `kiln import compose` reads is invalid, or loading it
    /// as Docker Compose would fails (a `${X:?}` variable unset, an
    /// `extends` cycle, a schema violation).
    Compose { location: Location, key_path: String, message: String, help: Option<String> },
    /// An argument or its combination is invalid.
    Usage { message: String },
    /// Several independent errors, all reported.
    Many(Vec<Error>),
}

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    /// Collapses a list of errors: none is `Ok`, one is itself, more is `Many`.
    pub fn from_list(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

impl Error {
    /// This error as a diagnostic (a `Many` as its first), for the one printer.
    pub fn diagnostic(&self) -> Diagnostic {
        let error = |message: String| Diagnostic::new(Severity::Error, "", message);
        let path_of = |path: &std::path::Path| Span::file(display_path(path));
        match self {
            Error::Io { action, path, source } => error(format!("could not {action} `{}`: {source}", path.display())),
            Error::MissingDir { path, what } => error(format!("{what} directory `{}` does not exist", path.display()))
                .with_help("run kiln from the repository root or pass `-C <dir>`"),
            Error::NotUtf8 { location } => error("file is not valid UTF-8".into())
                .with_span(Span::at(location, ""))
                .with_help("save the file as UTF-8"),
            Error::EmptyFile { path, what } => {
                error(format!("{what} `{}` is empty", path.display())).with_help("declare its keys or delete the file")
            }
            Error::YamlSyntax { location, message } => {
                error(format!("invalid YAML: {message}")).with_span(Span::at(location, ""))
            }
            Error::Values { location, key_path, message, help } => {
                error(message.clone()).with_span(Span::at(location, key_path)).with_help_opt(help.clone())
            }
            Error::ValuesClash { location, also, key_path, message, help } => error(message.clone())
                .with_span(Span::at(location, key_path))
                .with_related("also set here", Span::at(also, ""))
                .with_help_opt(help.clone()),
            Error::Template { template, location, scope, causes, also } => {
                let mut headline = match scope {
                    None => format!("template `{template}` does not parse"),
                    Some(scope) => format!("template `{template}` failed while rendering {scope}"),
                };
                match also {
                    0 => {}
                    1 => headline.push_str(" (and 1 other scope)"),
                    n => headline.push_str(&format!(" (and {n} other scopes)")),
                }
                let mut diagnostic = error(headline).with_span(location.span(None));
                diagnostic.scope = scope.as_deref().cloned();
                diagnostic.notes = causes.iter().map(|cause| format!("cause: {cause}")).collect();
                diagnostic.with_help_opt(template_help(causes, scope.as_deref()))
            }
            Error::Output { template, scope, message, help } => {
                let mut diagnostic =
                    error(message.clone()).with_span(template.span(scope.as_deref())).with_help_opt(help.clone());
                diagnostic.scope = scope.as_deref().cloned();
                diagnostic
            }
            Error::Duplicate { what, first, second } => error(format!("{what} is produced twice"))
                .with_span(Span::file(first.clone()))
                .with_related("produced again by", Span::file(second.clone()))
                .with_help("rename one of them or render it from one template only"),
            Error::NotAFile { path, kind } => error(format!(
                "`{}` is {kind}, not a regular file; kiln reads only regular files as inputs",
                path.display()
            ))
            .with_help("replace it with a regular file or move it out of values/ and templates/"),
            Error::Rendered { path, message, help } => {
                error(message.clone()).with_span(path_of(path)).with_help_opt(help.clone())
            }
            Error::Busy { pid } => {
                let pid = pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
                error(format!("another kiln render{pid} is writing rendered/; nothing was changed"))
                    .with_help("wait for it to finish, then render again")
            }
            Error::Git { repo, message, cause, help } => {
                let diagnostic = error(message.clone()).with_span(path_of(repo));
                let diagnostic = match cause {
                    Some(cause) => diagnostic.with_note(format!("git: {cause}")),
                    None => diagnostic,
                };
                diagnostic.with_help_opt(help.clone())
            }
            Error::NoRepository { start, stop, boundary, partial } => {
                let looked = if start == stop {
                    format!(
                        "kiln looked for `values/` and `templates/` in `{}` only, {}",
                        start.display(),
                        boundary.describe()
                    )
                } else {
                    format!(
                        "kiln looked for `values/` and `templates/` from `{}` up to `{}`, {}",
                        start.display(),
                        stop.display(),
                        boundary.describe()
                    )
                };
                let diagnostic =
                    error(format!("no kiln repository in `{}` or its parent directories", start.display()))
                        .with_note(format!("note: {looked}"));
                let diagnostic = match partial {
                    Some(partial) => diagnostic.with_note(format!("note: {partial}")),
                    None => diagnostic,
                };
                diagnostic.with_help(
                    "run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)",
                )
            }
            Error::Compose { location, key_path, message, help } => {
                error(message.clone()).with_span(Span::at(location, key_path)).with_help_opt(help.clone())
            }
            Error::Usage { message } => error(message.clone()),
            Error::Many(errors) => errors.first().map_or_else(|| error("no error".into()), Error::diagnostic),
        }
    }

    /// The text kiln prints for this error, coloured on a terminal.
    pub fn to_text(&self, color: bool) -> String {
        match self {
            Error::Many(errors) => {
                let texts: Vec<String> = errors.iter().map(|error| error.to_text(color)).collect();
                format!("{}\nerror: {} problems found, nothing was written", texts.join("\n\n"), errors.len())
            }
            error => print::one(&error.diagnostic(), color),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_text(false))
    }
}

/// What to do about the Tera failures users hit most; Tera's own text says
/// what went wrong but not how to fix it in kiln's terms.
fn template_help(causes: &[String], scope: Option<&ScopeRef>) -> Option<String> {
    causes.iter().rev().find_map(|cause| {
        if let Some(rest) = cause.strip_prefix("Variable `") {
            let variable = rest.split('`').next()?;
            let scope = scope?;
            // A misspelt top-level name is no value to set.
            let first = variable.split(['.', '[']).next().unwrap_or(variable);
            let names = crate::render::context::names(scope);
            if !names.contains(&first) {
                let set = names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
                let close = crate::diagnostic::did_you_mean(first, names.iter().copied())
                    .map(|close| format!("did you mean `{close}`? "))
                    .unwrap_or_default();
                return Some(format!(
                    "{close}`{first}` is not a name kiln sets for {scope}: templates there see {set} (and variables they set themselves)"
                ));
            }
            return Some(format!(
                "`{variable}` is not set for {scope}: set it in values, or write `{variable} | default(value=...)` or `{{% if {variable} is defined %}}` in the template"
            ));
        }
        if cause.starts_with("Template '[") && cause.ends_with("]' not found") {
            return Some("include partials by their path below templates/, e.g. `{% include \"_parts/labels.yaml\" %}` for templates/_parts/labels.yaml".into());
        }
        None
    })
}

/// A position in a template: its path (`templates/…`), the macro it is in
/// when it is one, and the line and column where they are known. Shown as
/// `path[::macro][:line[:column]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpan {
    pub path: String,
    pub macro_name: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl TemplateSpan {
    /// A whole template.
    pub fn file(path: impl Into<String>) -> Self {
        TemplateSpan { path: path.into(), macro_name: None, line: None, column: None }
    }

    /// A line (and column, when known) of a template.
    pub fn at(path: impl Into<String>, line: usize, column: Option<usize>) -> Self {
        TemplateSpan { line: Some(line), column, ..TemplateSpan::file(path) }
    }

    /// A macro of a template.
    pub fn in_macro(path: impl Into<String>, name: impl Into<String>) -> Self {
        TemplateSpan { macro_name: Some(name.into()), ..TemplateSpan::file(path) }
    }

    /// The diagnostic span of this position. The printer's `-->` line shows
    /// a span as `file:line:column`, so a position it cannot say that way (in
    /// a macro, or while rendering one scope instance, which is named after
    /// the position) is spelt out as the span's file.
    pub fn span(&self, rendering: Option<&ScopeRef>) -> Span {
        match (rendering, &self.macro_name) {
            (None, None) => Span { file: self.path.clone(), line: self.line, column: self.column, key: None },
            (None, Some(_)) => Span::file(self.to_string()),
            (Some(scope), _) => Span::file(format!("{self} (rendering {scope})")),
        }
    }
}

impl fmt::Display for TemplateSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(name) = &self.macro_name {
            write!(f, "::{name}")?;
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_spans_show_path_macro_line_and_column() {
        assert_eq!(TemplateSpan::file("templates/a.yaml").to_string(), "templates/a.yaml");
        assert_eq!(TemplateSpan::at("templates/a.yaml", 3, None).to_string(), "templates/a.yaml:3");
        assert_eq!(TemplateSpan::at("templates/a.yaml", 3, Some(7)).to_string(), "templates/a.yaml:3:7");
        assert_eq!(TemplateSpan::in_macro("templates/_lib/m.tera", "pod").to_string(), "templates/_lib/m.tera::pod");
    }

    #[test]
    fn a_template_position_is_a_typed_span_unless_it_names_a_scope_or_macro() {
        let at = TemplateSpan::at("templates/a.yaml", 3, Some(7));
        assert_eq!(at.span(None), Span { file: "templates/a.yaml".into(), line: Some(3), column: Some(7), key: None });
        let scope = ScopeRef::Namespace("apps".into());
        assert_eq!(at.span(Some(&scope)).to_string(), format!("templates/a.yaml:3:7 (rendering {scope})"));
        assert_eq!(TemplateSpan::in_macro("templates/m.tera", "pod").span(None), Span::file("templates/m.tera::pod"));
    }
}
