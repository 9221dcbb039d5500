//! Renders every template once per instance of its scope (the cluster, each
//! node, each namespace, each enabled workload) and returns the raw text with
//! where it came from. Entry point: [`render`]. Each template renders through
//! the Tera of its escape kind ([`escape`]), whose templates were rewritten so
//! every interpolation escapes its value (`rewrite`); loading also checks
//! where interpolations stand (`lint`) and refuses recursion (`recursion`).

pub mod clients;
pub mod context;
pub mod escape;
pub mod filters;
pub mod guard;
mod lint;
mod names;
mod recursion;
mod rewrite;
pub mod templates;
pub mod waits;

use std::path::PathBuf;

use context::Contexts;
use templates::{cause_chain, OutputKind, Scope, Template, Templates, TEMPLATES_DIR};

use crate::error::TemplateSpan;
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;
use crate::values::Values;
use crate::{parallel, Error, Result};

/// The output of one template for one scope instance.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Template path as shown to users (`templates/...`).
    pub template: String,
    /// The scope instance, e.g. `workload ai-system-gpu/reasoning-suite`.
    pub scope: ScopeRef,
    /// Values files the scope's values were layered from.
    pub values: Vec<PathBuf>,
    pub output: OutputKind,
    /// For files: the path below the node directory. For objects: an optional directory below it.
    pub path: Option<String>,
    pub dir: Option<String>,
    pub text: String,
}

/// Renders all templates over all scope instances, collecting every error.
///
/// Scope instances render in parallel, each thread with its own reused Tera
/// context; an instance's context is set up once for all templates of its
/// scope. Outputs and errors still come in template order, then instance
/// order, whatever the scheduling.
pub fn render(templates: &Templates, values: &Values) -> Result<Vec<Rendered>> {
    let contexts = Contexts::new(values);
    let all_files: Vec<PathBuf> = values.files.iter().map(|file| file.path.clone()).collect();
    const SCOPES: [Scope; 4] = [Scope::Cluster, Scope::Node, Scope::Namespace, Scope::Workload];
    let by_scope: Vec<Vec<(usize, &Template)>> = SCOPES
        .iter()
        .map(|scope| templates.templates.iter().enumerate().filter(|(_, template)| template.scope == *scope).collect())
        .collect();
    let work: Vec<(Instance, &[(usize, &Template)])> = SCOPES
        .into_iter()
        .zip(&by_scope)
        .filter(|(_, of_scope)| !of_scope.is_empty())
        .flat_map(|(scope, of_scope)| {
            instances(scope, values, &all_files).into_iter().map(move |instance| (instance, of_scope.as_slice()))
        })
        .collect();
    let results = parallel::map_with(
        work,
        || contexts.shared(),
        |context, (instance, of_scope)| {
            let context = match &instance.scope {
                ScopeRef::Workload { namespace, name } => contexts.workload_scope(context, namespace, name),
                ScopeRef::Namespace(namespace) => contexts.namespace_scope(context, namespace),
                ScopeRef::Node(node) => contexts.node_scope(context, node),
                ScopeRef::Cluster => contexts.cluster_scope(context),
            };
            let rendered = of_scope.iter().map(|&(index, template)| {
                let rendered = match templates.tera(template.escape) {
                    Some(tera) => guard::render(tera, &template.name, context),
                    None => Err(tera::Error::msg(format!("no {} renderer was built", template.escape.name()))),
                };
                let result = match rendered {
                    Ok(text) => Ok(Rendered {
                        template: template.display(),
                        scope: instance.scope.clone(),
                        values: instance.values.clone(),
                        output: template.front.output,
                        path: template.front.path.clone(),
                        dir: template.front.dir.clone(),
                        text,
                    }),
                    Err(error) => Err(render_error(templates, values, template, &instance.scope, &error)),
                };
                (index, result)
            });
            rendered.collect::<Vec<_>>()
        },
    );
    let mut outputs: Vec<Vec<Rendered>> = templates.templates.iter().map(|_| Vec::new()).collect();
    let mut errors: Vec<Vec<Error>> = templates.templates.iter().map(|_| Vec::new()).collect();
    for (index, result) in results.into_iter().flatten() {
        // `index` enumerates `templates.templates`, as both vectors do.
        match (result, outputs.get_mut(index), errors.get_mut(index)) {
            (Ok(rendered), Some(outputs), _) => outputs.push(rendered),
            (Err(error), _, Some(errors)) => errors.push(error),
            _ => {}
        }
    }
    Error::from_list(merge_repeats(errors.into_iter().flatten().collect()))?;
    Ok(outputs.into_iter().flatten().collect())
}

/// One broken expression fails every scope instance; report it once, with a count.
fn merge_repeats(errors: Vec<Error>) -> Vec<Error> {
    let mut merged: Vec<Error> = Vec::new();
    for error in errors {
        if let Error::Template { template, causes, .. } = &error {
            let same = merged.iter_mut().find_map(|seen| match seen {
                Error::Template { template: t, causes: c, also, .. } if t == template && c == causes => Some(also),
                _ => None,
            });
            if let Some(also) = same {
                *also += 1;
                continue;
            }
        }
        merged.push(error);
    }
    merged
}

/// One instance of a scope (the cluster, a node, a namespace or a workload)
/// and the values files its values were layered from.
struct Instance {
    scope: ScopeRef,
    values: Vec<PathBuf>,
}

fn instances(scope: Scope, values: &Values, all_files: &[PathBuf]) -> Vec<Instance> {
    match scope {
        Scope::Cluster => vec![Instance { scope: ScopeRef::Cluster, values: all_files.to_vec() }],
        Scope::Node => values
            .nodes
            .iter()
            .map(|(name, node)| Instance {
                scope: ScopeRef::Node(name.clone()),
                values: values.cluster.files.iter().chain(&node.files).cloned().collect(),
            })
            .collect(),
        Scope::Namespace => values
            .namespaces
            .iter()
            .map(|(name, ns)| Instance { scope: ScopeRef::Namespace(name.clone()), values: ns.namespace.files.clone() })
            .collect(),
        Scope::Workload => values
            .namespaces
            .iter()
            .flat_map(|(ns_name, ns)| {
                ns.workloads.iter().filter(|(_, workload)| workload.typed.enabled != Some(false)).map(
                    move |(name, workload)| Instance {
                        scope: ScopeRef::Workload { namespace: ns_name.clone(), name: name.clone() },
                        values: workload.files.clone(),
                    },
                )
            })
            .collect(),
    }
}

fn render_error(
    templates: &Templates,
    values: &Values,
    template: &Template,
    scope: &ScopeRef,
    error: &tera::Error,
) -> Error {
    if let Some(failed) = failed_check(values, template, scope, error) {
        return failed;
    }
    // kiln's escape filters are internal: their own message says what failed.
    let mut causes = cause_chain(error);
    causes.retain(|cause| !cause.starts_with("Filter call '__kiln_escape_"));
    // Tera names the innermost template being rendered ("while rendering
    // '_lib/pod.tera'"): the failing expression is there, maybe in a partial.
    let innermost = causes
        .iter()
        .rev()
        .find_map(|cause| cause.split("while rendering '").nth(1).and_then(|rest| rest.split('\'').next()))
        .filter(|name| templates.sources.contains_key(*name))
        .unwrap_or(&template.name);
    let source = templates.sources.get(innermost).map_or("", String::as_str);
    let path = format!("{TEMPLATES_DIR}/{innermost}");
    let location = match guess_line(source, innermost, &causes) {
        Some(line) => TemplateSpan::at(path, line, None),
        None => TemplateSpan::file(path),
    };
    Error::Template {
        template: template.display(),
        location: Box::new(location),
        scope: Some(Box::new(scope.clone())),
        causes,
        also: 0,
    }
}

/// A template's `fail(key=…, message=…)`: an error at the values line of `key`
/// for the scope being rendered, naming the template that raised it.
fn failed_check(values: &Values, template: &Template, scope: &ScopeRef, error: &tera::Error) -> Option<Error> {
    let cause = cause_chain(error).into_iter().find_map(|cause| {
        let (_, rest) = cause.split_once(filters::FAIL_MARK)?;
        let (named, rest) = rest.split_once('\u{1f}')?;
        let (key, message) = rest.split_once('\u{1f}')?;
        Some((named.to_string(), key.to_string(), message.to_string()))
    })?;
    let (named, key, message) = cause;
    let about = if named.is_empty() { scope.clone() } else { named.parse::<ScopeRef>().ok()? };
    let located = about.locate(values, &KeyPath::parse(&key))?;
    Some(Error::Values {
        location: located.at,
        key_path: located.key.to_string(),
        message,
        help: Some(format!("checked by {} while rendering {scope}", template.display())),
    })
}

/// Tera's render errors carry no line number, but they quote the variable,
/// filter or function that failed; the first source line containing that
/// quoted name is almost always the culprit. The template's own name (quoted
/// in "while rendering 'x'") is skipped; Tera brackets missing include names.
fn guess_line(source: &str, name: &str, causes: &[String]) -> Option<usize> {
    let mut needles = Vec::new();
    for cause in causes.iter().rev() {
        for quote in ['`', '\''] {
            let mut parts = cause.split(quote);
            parts.next();
            while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
                needles.push(inside.to_string());
            }
        }
    }
    needles.retain(|needle| needle.len() >= 3 && needle != name && !needle.contains(' '));
    needles.iter().find_map(|needle| {
        let bare = needle.trim_end_matches("()").trim_start_matches('[').trim_end_matches(']');
        source.lines().position(|line| line.contains(bare)).map(|index| index + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_line_of_missing_variable() {
        let source = "a: 1\nimage: {{ workload.imag }}\n";
        let causes = vec![
            "Failed to render 'workloads/x.yaml'".to_string(),
            "Variable `workload.imag` not found in context while rendering 'workloads/x.yaml'".to_string(),
        ];
        assert_eq!(guess_line(source, "workloads/x.yaml", &causes), Some(2));
    }

    #[test]
    fn guesses_line_of_missing_include() {
        let source = "a: 1\n{% include \"_parts/b.yaml\" %}\n";
        let causes =
            vec!["Failed to render 'workloads/x.yaml'".to_string(), "Template '[_parts/b.yaml]' not found".to_string()];
        assert_eq!(guess_line(source, "workloads/x.yaml", &causes), Some(2));
    }
}
