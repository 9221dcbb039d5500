//! Renders every template once per instance of its scope (the cluster, each
//! node, each namespace, each enabled workload) and returns the raw text with
//! where it came from. Entry point: [`render`].

pub mod context;
pub mod filters;
pub mod templates;

use std::path::PathBuf;

use context::Contexts;
use templates::{cause_chain, OutputKind, Scope, Template, Templates};

use crate::values::Values;
use crate::{parallel, Error, Result};

/// The output of one template for one scope instance.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Template path as shown to users (`templates/...`).
    pub template: String,
    /// Human description of the scope instance, e.g. `workload ai-system-gpu/reasoning-suite`.
    pub scope: String,
    /// Values files the scope's values were layered from.
    pub values: Vec<PathBuf>,
    pub output: OutputKind,
    /// The scope's node, for node templates.
    pub node: Option<String>,
    /// The scope's namespace, for namespace and workload templates.
    pub namespace: Option<String>,
    /// For files: the path below the node directory. For objects: an optional directory below it.
    pub path: Option<String>,
    pub dir: Option<String>,
    pub text: String,
}

/// Renders all templates over all scope instances, collecting every error.
///
/// Each scope instance's context is built once, used for every template of
/// that scope and dropped; instances render in parallel. Outputs and errors
/// still come in template order, then instance order.
pub fn render(templates: &Templates, values: &Values) -> Result<Vec<Rendered>> {
    let contexts = Contexts::new(values);
    let mut outputs: Vec<Vec<Rendered>> = templates.templates.iter().map(|_| Vec::new()).collect();
    let mut errors: Vec<Vec<Error>> = templates.templates.iter().map(|_| Vec::new()).collect();
    for scope in [Scope::Cluster, Scope::Node, Scope::Namespace, Scope::Workload] {
        let of_scope: Vec<(usize, &Template)> =
            templates.templates.iter().enumerate().filter(|(_, template)| template.scope == scope).collect();
        if of_scope.is_empty() {
            continue;
        }
        let results = parallel::map(instances(scope, values), |instance| {
            let context = match instance.of {
                Of::Cluster => contexts.cluster_scope(),
                Of::Node(node) => contexts.node_scope(node),
                Of::Namespace(namespace) => contexts.namespace_scope(namespace),
                Of::Workload(namespace, workload) => contexts.workload_scope(namespace, workload),
            };
            of_scope
                .iter()
                .map(|&(index, template)| {
                    let result = match templates.tera.render(&template.name, &context) {
                        Ok(text) => Ok(Rendered {
                            template: template.display(),
                            scope: instance.label.clone(),
                            values: instance.values.clone(),
                            output: template.front.output,
                            node: instance.node.clone(),
                            namespace: instance.namespace.clone(),
                            path: template.front.path.clone(),
                            dir: template.front.dir.clone(),
                            text,
                        }),
                        Err(error) => Err(render_error(template, &instance.label, &error)),
                    };
                    (index, result)
                })
                .collect::<Vec<_>>()
        });
        for (index, result) in results.into_iter().flatten() {
            match result {
                Ok(rendered) => outputs[index].push(rendered),
                Err(error) => errors[index].push(error),
            }
        }
    }
    Error::from_list(errors.into_iter().flatten().collect())?;
    Ok(outputs.into_iter().flatten().collect())
}

/// One instance of a scope; its context is built where it is rendered.
struct Instance<'v> {
    label: String,
    of: Of<'v>,
    values: Vec<PathBuf>,
    node: Option<String>,
    namespace: Option<String>,
}

enum Of<'v> {
    Cluster,
    Node(&'v str),
    Namespace(&'v str),
    Workload(&'v str, &'v str),
}

/// The instances of `scope` in name order: the cluster, each node, each
/// namespace, or each enabled workload.
fn instances(scope: Scope, values: &Values) -> Vec<Instance<'_>> {
    match scope {
        Scope::Cluster => vec![Instance {
            label: "the cluster".into(),
            of: Of::Cluster,
            values: values.files.iter().map(|file| file.path.clone()).collect(),
            node: None,
            namespace: None,
        }],
        Scope::Node => values
            .nodes
            .iter()
            .map(|(name, node)| Instance {
                label: format!("node {name}"),
                of: Of::Node(name),
                values: scope_files(&values.cluster.files, &node.files),
                node: Some(name.clone()),
                namespace: None,
            })
            .collect(),
        Scope::Namespace => values
            .namespaces
            .iter()
            .map(|(name, ns)| Instance {
                label: format!("namespace {name}"),
                of: Of::Namespace(name),
                values: ns.namespace.files.clone(),
                node: None,
                namespace: Some(name.clone()),
            })
            .collect(),
        Scope::Workload => values
            .namespaces
            .iter()
            .flat_map(|(ns_name, ns)| {
                ns.workloads.iter().filter(|(_, workload)| workload.typed.enabled != Some(false)).map(
                    move |(name, workload)| Instance {
                        label: format!("workload {ns_name}/{name}"),
                        of: Of::Workload(ns_name, name),
                        values: workload.files.clone(),
                        node: None,
                        namespace: Some(ns_name.clone()),
                    },
                )
            })
            .collect(),
    }
}

fn scope_files(cluster: &[PathBuf], own: &[PathBuf]) -> Vec<PathBuf> {
    cluster.iter().chain(own).cloned().collect()
}

fn render_error(template: &Template, scope: &str, error: &tera::Error) -> Error {
    let causes = cause_chain(error);
    Error::Template {
        template: template.display(),
        line: guess_line(&template.source, &template.name, &causes),
        scope: scope.to_string(),
        causes,
    }
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
        let source = "a: 1
{% include \"_parts/b.yaml\" %}
";
        let causes =
            vec!["Failed to render 'workloads/x.yaml'".to_string(), "Template '[_parts/b.yaml]' not found".to_string()];
        assert_eq!(guess_line(source, "workloads/x.yaml", &causes), Some(2));
    }
}
