//! The typed errors kiln reports. Each variant carries what its message needs
//! (file, line/column, key path, template, scope) and renders in one layout:
//! a headline, a `-->` location line, the key path and a `help:` line.

use std::fmt;
use std::path::PathBuf;

use crate::diagnostic::Location;
use crate::root::Boundary;

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
    /// A template failed to parse (`scope` empty) or to render. `location` is
    /// `file:line` of the failing expression (which may be in a partial);
    /// `also` counts the other scope instances that failed the same way.
    Template { template: String, location: String, scope: String, causes: Vec<String>, also: usize },
    /// A template rendered output kiln cannot accept (invalid YAML, unsafe name, ...),
    /// or its front matter is wrong (`scope` empty).
    Output { template: String, scope: String, message: String, help: Option<String> },
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

fn write_help(f: &mut fmt::Formatter<'_>, help: &Option<String>) -> fmt::Result {
    match help {
        Some(help) => write!(f, "\n  = help: {help}"),
        None => Ok(()),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { action, path, source } => {
                write!(f, "error: could not {action} `{}`: {source}", path.display())
            }
            Error::MissingDir { path, what } => write!(
                f,
                "error: {what} directory `{}` does not exist\n  = help: run kiln from the repository root or pass `-C <dir>`",
                path.display()
            ),
            Error::NotUtf8 { location } => write!(
                f,
                "error: file is not valid UTF-8\n  --> {location}\n  = help: save the file as UTF-8"
            ),
            Error::EmptyFile { path, what } => write!(
                f,
                "error: {what} `{}` is empty\n  = help: declare its keys or delete the file",
                path.display()
            ),
            Error::YamlSyntax { location, message } => {
                write!(f, "error: invalid YAML: {message}\n  --> {location}")
            }
            Error::Values { location, key_path, message, help } => {
                write!(f, "error: {message}\n  --> {location}")?;
                if !key_path.is_empty() {
                    write!(f, "\n  = key: {key_path}")?;
                }
                write_help(f, help)
            }
            Error::Template { template, location, scope, causes, also } => {
                if scope.is_empty() {
                    write!(f, "error: template `{template}` does not parse")?;
                } else {
                    write!(f, "error: template `{template}` failed while rendering {scope}")?;
                }
                match also {
                    0 => {}
                    1 => write!(f, " (and 1 other scope)")?,
                    n => write!(f, " (and {n} other scopes)")?,
                }
                write!(f, "\n  --> {location}")?;
                for cause in causes {
                    write!(f, "\n  = cause: {cause}")?;
                }
                write_help(f, &template_help(causes, scope))
            }
            Error::Output { template, scope, message, help } => {
                write!(f, "error: {message}\n  --> {template}")?;
                if !scope.is_empty() {
                    write!(f, " (rendering {scope})")?;
                }
                write_help(f, help)
            }
            Error::Duplicate { what, first, second } => write!(
                f,
                "error: {what} is produced twice\n  --> first: {first}\n  --> again: {second}\n  = help: rename one of them or render it from one template only"
            ),
            Error::NotAFile { path, kind } => write!(
                f,
                "error: `{}` is {kind}, not a regular file; kiln reads only regular files as inputs\n  = help: replace it with a regular file or move it out of values/ and templates/",
                path.display()
            ),
            Error::Rendered { path, message, help } => {
                write!(f, "error: {message}\n  --> {}", path.display())?;
                write_help(f, help)
            }
            Error::Busy { pid } => {
                let pid = pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
                write!(
                    f,
                    "error: another kiln render{pid} is writing rendered/; nothing was changed\n  = help: wait for it to finish, then render again"
                )
            }
            Error::Git { repo, message, cause, help } => {
                write!(f, "error: {message}\n  --> {}", repo.display())?;
                if let Some(cause) = cause {
                    write!(f, "\n  = git: {cause}")?;
                }
                write_help(f, help)
            }
            Error::NoRepository { start, stop, boundary, partial } => {
                write!(f, "error: no kiln repository in `{}` or its parent directories", start.display())?;
                if start == stop {
                    write!(f, "\n  = note: kiln looked for `values/` and `templates/` in `{}` only, {}", start.display(), boundary.describe())?;
                } else {
                    write!(
                        f,
                        "\n  = note: kiln looked for `values/` and `templates/` from `{}` up to `{}`, {}",
                        start.display(),
                        stop.display(),
                        boundary.describe()
                    )?;
                }
                if let Some(partial) = partial {
                    write!(f, "\n  = note: {partial}")?;
                }
                write!(f, "\n  = help: run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)")
            }
            Error::Usage { message } => write!(f, "error: {message}"),
            Error::Many(errors) => {
                for (index, error) in errors.iter().enumerate() {
                    if index > 0 {
                        writeln!(f)?;
                    }
                    writeln!(f, "{error}")?;
                }
                write!(f, "error: {} problems found, nothing was written", errors.len())
            }
        }
    }
}

/// What to do about the Tera failures users hit most; Tera's own text says
/// what went wrong but not how to fix it in kiln's terms.
fn template_help(causes: &[String], scope: &str) -> Option<String> {
    causes.iter().rev().find_map(|cause| {
        if let Some(rest) = cause.strip_prefix("Variable `") {
            let variable = rest.split('`').next()?;
            return Some(format!(
                "`{variable}` is not set for {scope}: set it in values, or write `{variable} | default(value=...)` or `{{% if {variable} is defined %}}` in the template"
            ));
        }
        if cause.starts_with("Template '[") && cause.ends_with("]' not found") {
            return Some("include partials by their path below templates/, e.g. `{% include \"_parts/labels.yaml\" %}` for templates/_parts/labels.yaml".into());
        }
        if cause.starts_with("Filter '") && cause.ends_with("' not found") {
            return Some("kiln adds the filters to_yaml, to_json, indent, nindent, quote, b64encode, b64decode, sha256 and required to Tera's built-ins".into());
        }
        None
    })
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
