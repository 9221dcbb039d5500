//! Finds the templates under `templates/`, reads their front matter, parses
//! them once, refuses recursion and misplaced interpolations, and builds one
//! Tera instance per escape kind in use. The first directory names a template's scope:
//! `cluster/`, `nodes/`, `namespaces/` or `workloads/`; files and directories
//! starting with `_` are partials for `include`/`import`/`extends` only.

use std::path::Path;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use tera::Tera;

use super::escape::{self, EscapeKind};
use super::{filters, lint, names, recursion, rewrite};
use crate::diagnostic::{display_path, line_column, Location};
use crate::error::TemplateSpan;
use crate::input::InputFiles;
use crate::parallel;
use crate::{Error, Result};

pub use crate::input::TEMPLATES_DIR;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Cluster,
    Node,
    Namespace,
    Workload,
}

impl Scope {
    fn from_dir(dir: &str) -> Option<Scope> {
        match dir {
            "cluster" => Some(Scope::Cluster),
            "nodes" => Some(Scope::Node),
            "namespaces" => Some(Scope::Namespace),
            "workloads" => Some(Scope::Workload),
            _ => None,
        }
    }
}

/// What a template produces, declared in its front matter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    #[serde(default)]
    pub output: OutputKind,
    /// For `output: file`: the path under the node's directory.
    pub path: Option<String>,
    /// For objects of node templates: a directory under the node's directory
    /// (e.g. `manifests`, the server's bootstrap objects) instead of the namespace tree.
    pub dir: Option<String>,
    /// How values are escaped; objects are always `yaml`, a plain file's
    /// kind follows from its extension unless declared.
    pub escape: Option<EscapeKind>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// A YAML stream of Kubernetes objects, one file per object.
    #[default]
    Objects,
    /// A plain file written as rendered (k3s config, scripts).
    File,
}

#[derive(Debug, Clone)]
pub struct Template {
    /// Tera name: the path relative to `templates/`, with `/`.
    pub name: String,
    pub scope: Scope,
    pub front: FrontMatter,
    /// The escaping of its values (from front matter or path).
    pub escape: EscapeKind,
}

impl Template {
    /// The path shown to users, e.g. `templates/workloads/deployment.yaml`.
    pub fn display(&self) -> String {
        format!("{TEMPLATES_DIR}/{}", self.name)
    }
}

pub struct Templates {
    /// One Tera per escape kind in use, each with every template rewritten to
    /// escape for that kind (see [`rewrite`]).
    teras: BTreeMap<EscapeKind, Tera>,
    /// Renderable templates, sorted by name.
    pub templates: Vec<Template>,
    /// Source text of every template, partials included, by Tera name.
    pub sources: std::collections::BTreeMap<String, String>,
}

impl Templates {
    /// The Tera that renders templates escaped as `kind`.
    pub fn tera(&self, kind: EscapeKind) -> Option<&Tera> {
        self.teras.get(&kind)
    }
}

/// Loads every template among the inputs.
pub fn load(inputs: &InputFiles) -> Result<Templates> {
    let dir = Path::new(TEMPLATES_DIR);
    let mut sources = Vec::new();
    let mut templates = Vec::new();
    let mut errors = Vec::new();
    for (path, bytes) in inputs.under(TEMPLATES_DIR) {
        let relative = path.strip_prefix(dir).unwrap_or(path);
        let name = display_path(relative);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(error) => {
                let (line, column) = line_column(bytes, error.valid_up_to());
                errors.push(Error::NotUtf8 { location: Location::new(path, line, column) });
                continue;
            }
        };
        sources.push((name.clone(), text.clone()));
        let is_partial = relative.components().any(|part| part.as_os_str().to_string_lossy().starts_with('_'));
        if is_partial {
            continue;
        }
        let first_dir = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        let scope = match first_dir.as_deref().and_then(Scope::from_dir) {
            Some(scope) if relative.components().count() > 1 => scope,
            _ => {
                errors.push(Error::Output {
                    template: Box::new(TemplateSpan::file(format!("{TEMPLATES_DIR}/{name}"))),
                    scope: None,
                    message: "template is not in a scope directory".into(),
                    help: Some("put it under templates/cluster/, nodes/, namespaces/ or workloads/, or prefix it with `_` to make it a partial".into()),
                });
                continue;
            }
        };
        match front_matter(&name, &text, scope) {
            Ok((front, escape)) => templates.push(Template { name, scope, front, escape }),
            Err(error) => errors.push(error),
        }
    }
    Error::from_list(errors)?;

    let mut tera = Tera::default();
    filters::register(&mut tera);
    escape::register(&mut tera);
    // kiln escapes by kind itself; Tera's HTML autoescape stays off.
    tera.autoescape_on(Vec::new());
    // Parsing is most of the cost of loading; templates parse independently, so
    // they are parsed on every core and only then linked (extends, imports).
    let parsed = parallel::map(sources.iter().collect(), |(name, text)| {
        tera::Template::new(name, None, text)
            .map_err(|error| tera::Error::chain(format!("Failed to parse '{name}'"), error))
    });
    for (template, (name, _)) in parsed.into_iter().zip(&sources) {
        let template = template.map_err(|error| parse_error(&error, sources.iter().map(|(name, _)| name)))?;
        tera.templates.insert(name.clone(), template);
    }
    // Before Tera links anything: its linking recurses through extends too.
    Error::from_list(recursion::check(&tera.templates))?;
    tera.check_macro_files().map_err(|error| parse_error(&error, sources.iter().map(|(name, _)| name)))?;
    let sources: BTreeMap<String, String> = sources.into_iter().collect();
    Error::from_list(names::check(&tera, &sources))?;
    Error::from_list(lint_all(&templates, &sources, &tera.templates))?;

    let kinds: BTreeSet<EscapeKind> = templates.iter().map(|template| template.escape).collect();
    let mut teras = BTreeMap::new();
    for kind in kinds {
        let mut escaping = tera.clone();
        for template in escaping.templates.values_mut() {
            rewrite::rewrite(template, kind);
        }
        escaping.build_inheritance_chains().map_err(|error| parse_error(&error, sources.keys()))?;
        teras.insert(kind, escaping);
    }
    Ok(Templates { teras, templates, sources })
}

/// Lints every renderable template for its kind, and every partial for each
/// kind of the templates that use it (directly or through other partials).
fn lint_all(
    templates: &[Template],
    sources: &BTreeMap<String, String>,
    parsed: &HashMap<String, tera::Template>,
) -> Vec<Error> {
    let needs = recursion::dependencies(parsed);
    let mut kinds: BTreeMap<&str, BTreeSet<EscapeKind>> = BTreeMap::new();
    for template in templates {
        let mut todo = vec![template.name.as_str()];
        while let Some(file) = todo.pop() {
            if kinds.entry(file).or_default().insert(template.escape) {
                todo.extend(needs.get(file).into_iter().flatten().map(String::as_str));
            }
        }
    }
    let jobs: Vec<(&str, &String, &tera::Template, &BTreeSet<EscapeKind>)> = kinds
        .iter()
        .filter_map(|(file, file_kinds)| Some((*file, sources.get(*file)?, parsed.get(*file)?, file_kinds)))
        .collect();
    // Linting reads every template's text character by character: on every core.
    let linted = parallel::map(jobs, |(file, source, template, file_kinds)| {
        let mut seen = BTreeSet::new();
        let mut errors = Vec::new();
        for kind in file_kinds {
            for finding in lint::lint(source, template, *kind) {
                if !seen.insert((finding.offset, finding.message.clone())) {
                    continue;
                }
                let (line, column) = line_column(source.as_bytes(), finding.offset);
                errors.push(Error::Output {
                    template: Box::new(TemplateSpan::at(format!("{TEMPLATES_DIR}/{file}"), line, Some(column))),
                    scope: None,
                    message: finding.message,
                    help: Some(finding.help),
                });
            }
        }
        errors
    });
    linted.into_iter().flatten().collect()
}

const FRONT_MATTER_START: &str = "{#- kiln";

/// Reads an optional leading `{#- kiln ... -#}` comment holding YAML, and
/// the escape kind it gives the template.
fn front_matter(name: &str, text: &str, scope: Scope) -> Result<(FrontMatter, EscapeKind)> {
    let shown = format!("{TEMPLATES_DIR}/{name}");
    let Some(rest) = text.strip_prefix(FRONT_MATTER_START) else {
        return Ok((FrontMatter::default(), EscapeKind::Yaml));
    };
    let end = rest.find("#}").ok_or_else(|| Error::Output {
        template: Box::new(TemplateSpan::file(shown.clone())),
        scope: None,
        message: "front matter comment is not closed".into(),
        help: Some("end it with `-#}`".into()),
    })?;
    let body = rest.get(..end).unwrap_or_default().trim_end_matches('-');
    let front: FrontMatter = serde_yaml::from_str(body).map_err(|error| {
        // The body starts on the opening line, so its line numbers are the template's.
        let at = error.location().map_or_else(
            || TemplateSpan::file(shown.clone()),
            |at| TemplateSpan::at(shown.clone(), at.line(), Some(at.column())),
        );
        let message = error.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        Error::Output {
            template: Box::new(at),
            scope: None,
            message: format!("invalid front matter: {message}"),
            help: Some(
                "front matter keys are `output` (objects or file), `path`, `dir` and `escape` (yaml, shell or line)"
                    .into(),
            ),
        }
    })?;
    let problem = match (front.output, &front.path, &front.dir, scope) {
        (OutputKind::File, None, _, _) => Some("`output: file` needs `path`"),
        (OutputKind::File, _, _, s) | (_, _, Some(_), s) if s != Scope::Node => Some(
            "plain files and `dir` are only allowed in node templates, so Argo CD never syncs a non-Kubernetes file",
        ),
        (OutputKind::Objects, Some(_), _, _) => {
            Some("`path` is only for `output: file`; objects are named after their kind and name")
        }
        _ => None,
    };
    let invalid = |problem: String, help: Option<String>| Error::Output {
        template: Box::new(TemplateSpan::file(shown.clone())),
        scope: None,
        message: format!("invalid front matter: {problem}"),
        help,
    };
    if let Some(problem) = problem {
        return Err(invalid(problem.into(), None));
    }
    for (key, value) in [("path", &front.path), ("dir", &front.dir)] {
        if let Some(problem) = value.as_deref().and_then(path_problem) {
            return Err(invalid(
                format!("`{key}: {value}` {problem}", value = value.as_deref().unwrap_or_default()),
                Some(format!(
                    "`{key}` is a relative path below rendered/nodes/<node>/: components of letters, digits, `.`, `_` and `-`, separated by single `/`"
                )),
            ));
        }
    }
    let escape = match (front.output, front.escape, &front.path) {
        (OutputKind::Objects, None | Some(EscapeKind::Yaml), _) => EscapeKind::Yaml,
        (OutputKind::Objects, Some(kind), _) => {
            return Err(invalid(
                format!("`escape: {}` for Kubernetes objects, which are YAML", kind.name()),
                Some("remove `escape`, or declare `output: file` for a plain file".into()),
            ))
        }
        (OutputKind::File, Some(kind), _) => kind,
        (OutputKind::File, None, path) => {
            let path = path.as_deref().unwrap_or_default();
            EscapeKind::for_path(path).ok_or_else(|| {
                invalid(
                    format!("kiln cannot tell how to escape values in `{path}`"),
                    Some("declare `escape: yaml`, `escape: shell` or `escape: line` (line-oriented config: values may hold no control character); .yaml, .yml, .json and .sh files need none".into()),
                )
            })?
        }
    };
    Ok((front, escape))
}

/// Why a template-declared output path is unsafe, if it is: it must stay
/// below the node's directory, name no special entry and need no quoting.
fn path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("is empty".into());
    }
    if path.starts_with('/') {
        return Some("is absolute".into());
    }
    path.split('/').find_map(|component| match component {
        "" => Some("has an empty component (`//` or a trailing `/`)".into()),
        "." | ".." => Some(format!("has a `{component}` component")),
        _ if component.len() > 255 => Some("has a component longer than 255 bytes".into()),
        _ => component
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|c| format!("has the character {c:?} in `{component}`")),
    })
}

/// A Tera parse or link error, located in the template among `names` it quotes.
fn parse_error<'a>(error: &tera::Error, names: impl IntoIterator<Item = &'a String>) -> Error {
    let causes = cause_chain(error);
    let template = names
        .into_iter()
        .find(|name| causes.iter().any(|cause| cause.contains(&format!("'{name}'"))))
        .cloned()
        .unwrap_or_default();
    let path = format!("{TEMPLATES_DIR}/{template}");
    let location = match causes.iter().find_map(|cause| arrow_line(cause)) {
        Some(line) => TemplateSpan::at(path, line, None),
        None => TemplateSpan::file(path),
    };
    Error::Template {
        template: format!("{TEMPLATES_DIR}/{template}"),
        location: Box::new(location),
        // No scope: the template failed before any rendering.
        scope: None,
        causes,
        also: 0,
    }
}

/// The messages of an error and all its sources, outermost first.
pub fn cause_chain(error: &dyn std::error::Error) -> Vec<String> {
    let mut causes = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    causes.into_iter().map(|cause| cause.trim().replace('\n', "\n    ")).collect()
}

/// Tera's parse errors contain `--> line:column`.
fn arrow_line(message: &str) -> Option<usize> {
    let (_, rest) = message.split_once("--> ")?;
    rest.split(':').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_front_matter() {
        let (front, escape) =
            front_matter("nodes/k3s.yaml", "{#- kiln\noutput: file\npath: config.yaml\n-#}\nbody", Scope::Node)
                .unwrap();
        assert_eq!(escape, EscapeKind::Yaml);
        assert_eq!(front.output, OutputKind::File);
        assert_eq!(front.path.as_deref(), Some("config.yaml"));
    }

    #[test]
    fn plain_files_only_in_node_scope() {
        let error =
            front_matter("cluster/x.sh", "{#- kiln\noutput: file\npath: x.sh\n-#}", Scope::Cluster).unwrap_err();
        assert!(error.to_string().contains("only allowed in node templates"), "{error}");
    }

    #[test]
    fn finds_arrow_line() {
        assert_eq!(arrow_line("  --> 3:5\n  |"), Some(3));
    }
}
