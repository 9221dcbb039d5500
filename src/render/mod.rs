//! Renders every template once per instance of its scope (the cluster, each
//! node, each namespace, each enabled workload) and returns the raw text with
//! where it came from. Entry point: [`render`].

pub mod context;
pub mod filters;
pub mod templates;

use std::collections::BTreeMap;
use std::path::PathBuf;

use context::Contexts;
use templates::{cause_chain, OutputKind, Scope, Template, Templates};

use crate::values::Values;
use crate::{Error, Result};

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
pub fn render(templates: &Templates, values: &Values) -> Result<Vec<Rendered>> {
    let contexts = Contexts::new(values);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // Each scope instance's context is built once and shared by every template of
    // that scope: building one deep-copies the cluster values, which dominated
    // render time when it happened per template.
    let mut scopes: BTreeMap<Scope, Vec<Instance>> = BTreeMap::new();
    for template in &templates.templates {
        let instances = scopes.entry(template.scope).or_insert_with(|| instances(template.scope, values, &contexts));
        for instance in instances.iter() {
            match templates.tera.render(&template.name, &instance.context) {
                Ok(text) => out.push(Rendered {
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
                Err(error) => errors.push(render_error(template, &instance.label, &error)),
            }
        }
    }
    Error::from_list(errors)?;
    Ok(out)
}

/// Every instance of a scope, with its template context.
fn instances(scope: Scope, values: &Values, contexts: &Contexts) -> Vec<Instance> {
    match scope {
        Scope::Cluster => vec![Instance {
            label: "the cluster".into(),
            context: contexts.cluster_scope(),
            values: values.files.iter().map(|file| file.path.clone()).collect(),
            node: None,
            namespace: None,
        }],
        Scope::Node => values
            .nodes
            .iter()
            .map(|(name, node)| Instance {
                label: format!("node {name}"),
                context: contexts.node_scope(name),
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
                context: contexts.namespace_scope(name),
                values: ns.namespace.files.clone(),
                node: None,
                namespace: Some(name.clone()),
            })
            .collect(),
        Scope::Workload => values
            .namespaces
            .iter()
            .flat_map(|(ns_name, ns)| {
                ns.workloads
                    .iter()
                    .filter(|(_, workload)| workload.typed.enabled != Some(false))
                    .map(|(name, workload)| Instance {
                        label: format!("workload {ns_name}/{name}"),
                        context: contexts.workload_scope(ns_name, name),
                        values: workload.files.clone(),
                        node: None,
                        namespace: Some(ns_name.clone()),
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
    }
}

struct Instance {
    label: String,
    context: tera::Context,
    values: Vec<PathBuf>,
    node: Option<String>,
    namespace: Option<String>,
}

fn scope_files(cluster: &[PathBuf], own: &[PathBuf]) -> Vec<PathBuf> {
    cluster.iter().chain(own).cloned().collect()
}

fn render_error(template: &Template, scope: &str, error: &tera::Error) -> Error {
    let causes = cause_chain(error);
    Error::Template {
        template: template.display(),
        line: guess_line(&template.source, &causes),
        scope: scope.to_string(),
        causes,
    }
}

/// Tera's render errors carry no line number, but they quote the variable,
/// filter or function that failed; the first source line containing that
/// quoted name is almost always the culprit.
fn guess_line(source: &str, causes: &[String]) -> Option<usize> {
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
    needles.retain(|needle| needle.len() >= 3 && !needle.contains('/') && !needle.contains(' '));
    needles.iter().find_map(|needle| {
        let bare = needle.trim_end_matches("()");
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
        assert_eq!(guess_line(source, &causes), Some(2));
    }
}
