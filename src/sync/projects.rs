//! `argocd-project-permits` (error): what an Application needs that its
//! AppProject does not permit, so Argo CD refuses the sync (or the
//! resource). Argo CD's rules (argoproj/argo-cd
//! `pkg/apis/application/v1alpha1/app_project_types.go`, `types.go`;
//! field docs in docs/operator-manual/project.yaml):
//!
//! - the project must exist; `default` exists in every installation and
//!   permits everything unless changed, so kiln assumes it does;
//! - each source's `repoURL` must match a `sourceRepos` glob (`*` any; `/`
//!   separates segments; a `!` pattern that does not match denies), URLs
//!   compared normalized (lower case, without a trailing `.git` or `/`);
//! - the destination must match a `destinations` entry: `server` (or `name`)
//!   and `namespace` globs, with `!` deny patterns; every namespaced object
//!   it manages is checked against the namespace it lands in;
//! - a cluster-scoped kind must be in `clusterResourceWhitelist` (an empty
//!   or missing list permits none) and not in `clusterResourceBlacklist`; a
//!   namespaced kind must be in `namespaceResourceWhitelist` when the list is
//!   set (a missing one permits all, an empty one none) and not in
//!   `namespaceResourceBlacklist`; group and kind are `filepath.Match`
//!   globs, and a cluster entry's optional `name` glob narrows it.
//!
//! kiln checks the objects it renders; what a chart source installs is
//! unknown to it, so only the chart's source repository and destination
//! are checked for chart sources.

use serde_yaml::Value;

use super::glob;
use super::model::{Application, Model, Project};
use super::owners::app_finding;
use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::output::object::Identity;

pub const CODE: &str = "argocd-project-permits";

pub fn check(build: &Build, model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for app in &model.applications {
        let report = |field: &str, message: String, help: String| {
            app_finding(build, locator, app, CODE, Severity::Error, field, message).with_help(help)
        };
        let Some(project) = model.project(&app.project) else {
            if app.project != "default" {
                found.push(report(
                    "spec.project",
                    format!("Application `{}` is in project `{}`, which no AppProject declares", app.name, app.project),
                    "declare the AppProject in the rendered tree, or use an existing project".into(),
                ));
            }
            continue;
        };
        for source in &app.sources {
            if !source_permitted(project, &source.repo_url) {
                found.push(report(
                    "spec.source.repoURL",
                    format!(
                        "project `{}` does not permit the source repository {} of Application `{}`",
                        project.name, source.repo_url, app.name
                    ),
                    format!("add {} to the project's sourceRepos", source.repo_url),
                ));
            }
        }
        let namespace = app.destination.namespace.clone().unwrap_or_default();
        if !destination_permitted(project, app, &namespace) {
            found.push(report(
                "spec.destination",
                format!(
                    "project `{}` does not permit the destination {} of Application `{}`",
                    project.name,
                    destination_text(app, &namespace),
                    app.name
                ),
                "add the server and namespace to the project's destinations".into(),
            ));
        }
        for managed in &app.managed {
            let identity = &managed.object.identity;
            let problem = match identity.namespace.as_deref() {
                None if !cluster_kind_permitted(project, identity) => {
                    Some(format!("cluster-scoped {} (not in clusterResourceWhitelist, or blacklisted)", kind(identity)))
                }
                Some(_) if !namespaced_kind_permitted(project, identity) => {
                    Some(format!("{} (not in namespaceResourceWhitelist, or blacklisted)", kind(identity)))
                }
                Some(ns) if !destination_permitted(project, app, ns) => {
                    Some(format!("objects in namespace `{ns}` (not among its destinations)"))
                }
                _ => None,
            };
            if let Some(problem) = problem {
                found.push(report(
                    "spec.source",
                    format!(
                        "project `{}` does not permit {problem}: Application `{}` syncs {identity}",
                        project.name, app.name
                    ),
                    "permit it in the AppProject, or move the object to an Application whose project does".into(),
                ));
            }
        }
    }
    found
}

fn kind(identity: &Identity) -> String {
    let group = if identity.group.is_empty() { "core" } else { identity.group.as_str() };
    format!("{}/{}", group, identity.kind)
}

fn destination_text(app: &Application, namespace: &str) -> String {
    let cluster = app.destination.server.clone().or_else(|| app.destination.name.clone()).unwrap_or_default();
    if namespace.is_empty() {
        format!("{cluster} (no namespace)")
    } else {
        format!("{cluster}, namespace `{namespace}`")
    }
}

fn normalize_url(url: &str) -> String {
    let lower = url.trim().to_lowercase();
    let trimmed = lower.trim_end_matches('/');
    trimmed.strip_suffix(".git").unwrap_or(trimmed).to_string()
}

/// `globMatch` with negation: a `!pattern` matches what `pattern` does not.
fn glob_match(pattern: &str, value: &str, separator: Option<char>) -> bool {
    if let Some(denied) = pattern.strip_prefix('!') {
        return !glob_match(denied, value, separator);
    }
    if pattern == "*" {
        return true;
    }
    match separator {
        None => glob::matches(pattern, value).unwrap_or(false),
        Some(separator) => {
            let patterns: Vec<&str> = pattern.split(separator).collect();
            let values: Vec<&str> = value.split(separator).collect();
            patterns.len() == values.len()
                && patterns.iter().zip(&values).all(|(p, v)| glob::matches(p, v).unwrap_or(false))
        }
    }
}

fn source_permitted(project: &Project, repo_url: &str) -> bool {
    let wanted = normalize_url(repo_url);
    let mut matched = false;
    for pattern in &project.source_repos {
        let normalized = match pattern.strip_prefix('!') {
            Some(denied) => format!("!{}", normalize_url(denied)),
            None => normalize_url(pattern),
        };
        if glob_match(&normalized, &wanted, Some('/')) {
            matched = true;
        } else if normalized.starts_with('!') {
            return false;
        }
    }
    matched
}

fn destination_permitted(project: &Project, app: &Application, namespace: &str) -> bool {
    let server = app.destination.server.as_deref().unwrap_or_default();
    let name = app.destination.name.as_deref().unwrap_or_default();
    let mut matched = false;
    for item in &project.destinations {
        let item_server = item.server.as_deref().unwrap_or_default();
        let item_name = item.name.as_deref().unwrap_or_default();
        let item_namespace = item.namespace.as_deref().unwrap_or_default();
        let name_ok = !name.is_empty() && glob_match(item_name, name, None);
        let server_ok = !server.is_empty() && glob_match(item_server, server, None);
        let namespace_ok = glob_match(item_namespace, namespace, None);
        if (server_ok || name_ok) && namespace_ok {
            matched = true;
        } else if ((!name_ok && item_name.starts_with('!')) || (!server_ok && item_server.starts_with('!')))
            && namespace_ok
            || (!namespace_ok && item_namespace.starts_with('!') && server_ok)
        {
            return false;
        }
    }
    matched
}

/// The raw list at `spec.<key>`: `None` when the key is absent.
fn list<'v>(project: &'v Project, key: &str) -> Option<&'v Vec<Value>> {
    project.object.value.get("spec")?.get(key)?.as_sequence()
}

fn in_list(items: &[Value], identity: &Identity, with_name: bool) -> bool {
    items.iter().any(|item| {
        let field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
        glob::matches(field("kind"), &identity.kind).unwrap_or(false)
            && glob::matches(field("group"), &identity.group).unwrap_or(false)
            && (!with_name || field("name").is_empty() || glob::matches(field("name"), &identity.name).unwrap_or(false))
    })
}

fn cluster_kind_permitted(project: &Project, identity: &Identity) -> bool {
    let white = list(project, "clusterResourceWhitelist").is_some_and(|items| in_list(items, identity, true));
    let black = list(project, "clusterResourceBlacklist").is_some_and(|items| in_list(items, identity, true));
    white && !black
}

fn namespaced_kind_permitted(project: &Project, identity: &Identity) -> bool {
    let white = list(project, "namespaceResourceWhitelist").is_none_or(|items| in_list(items, identity, false));
    let black = list(project, "namespaceResourceBlacklist").is_some_and(|items| in_list(items, identity, false));
    white && !black
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_globs_match_per_segment_and_negation_denies() {
        assert!(glob_match("https://github.com/org/*", "https://github.com/org/repo", Some('/')));
        assert!(!glob_match("https://github.com/*", "https://github.com/org/repo", Some('/')));
        assert!(glob_match("*", "https://anything/at/all", Some('/')));
        assert!(glob_match("!https://github.com/evil/*", "https://github.com/org/repo", Some('/')));
        assert_eq!(normalize_url("https://GitHub.com/Org/Repo.git/"), "https://github.com/org/repo");
    }
}
