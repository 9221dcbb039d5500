//! Who owns what Argo CD syncs, and what deleting an owner takes with it.
//! Entry point: [`check`], which also runs the AppProject checks
//! ([`super::projects`]) and the known controller mutations
//! ([`super::mutations`]) on one [`Model`].
//!
//! - `argocd-shared-owner` (error): an object two Applications manage
//!   (each applies its copy and prunes it when its own copy goes; Argo CD
//!   only refuses this with `FailOnSharedResource=true`,
//!   argoproj/argo-cd:docs/user-guide/sync-options.md), or one an
//!   Application manages while a server's script puts its file into k3s's
//!   auto-deploy directory `/var/lib/rancher/k3s/server/manifests`, whose
//!   deploy controller force-applies every file there at each k3s start
//!   (k3s `pkg/deploy/controller.go`: the first pass after start skips the
//!   checksum) and retries failed files every 15 seconds, so a k3s restart
//!   brings the file's copy back over what Argo CD synced since. kiln reads
//!   the scripts it renders for a server: a command line (not a comment)
//!   that installs, copies, links or moves into that directory counts, and
//!   every object rendered under that node's directory is taken as
//!   deployed by it (kiln does not run the shell; a custom `data-dir` is not
//!   followed).
//! - `argocd-destination-namespace` (error): an Application whose
//!   destination namespace no Application manages as a Namespace, that it
//!   does not create (`CreateNamespace=true`), that no k3s HelmChart
//!   creates (`createNamespace` with that `targetNamespace`) and that is not
//!   one Kubernetes creates itself (`default`, `kube-system`,
//!   `kube-public`, `kube-node-lease`): its namespaced objects fail to apply.
//! - `argocd-prune-blast-radius` (warning): an Application with the
//!   resources finalizer (`resources-finalizer.argocd.argoproj.io`, or its
//!   `/background` form: deleting the Application deletes what it manages,
//!   argoproj/argo-cd:docs/user-guide/app_deletion.md) or automated prune
//!   (a bad path prunes everything) that manages a Namespace other
//!   Applications deploy into, or a PersistentVolume(Claim), unprotected by
//!   `Prune=false` (for prune) and `Delete=false` (for the finalizer) on the
//!   object or the Application. Deleting a Namespace deletes everything in
//!   it, claims included, and local-path volumes are reclaimed with
//!   `Delete`.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::model::{Application, Model};
use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::output::object::{Identity, Object};
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;

pub const SHARED_OWNER: &str = "argocd-shared-owner";
pub const DESTINATION_NAMESPACE: &str = "argocd-destination-namespace";
pub const BLAST_RADIUS: &str = "argocd-prune-blast-radius";

/// k3s's auto-deploy directory (default data dir).
pub const AUTO_DEPLOY_DIR: &str = "/var/lib/rancher/k3s/server/manifests";
const FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Namespaces the API server creates itself.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Every ownership, permission and mutation finding of a build.
pub fn check(build: &Build, model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut found = shared_owners(build, model, locator);
    found.extend(destination_namespaces(build, model, locator));
    found.extend(blast_radius(model, locator));
    found.extend(super::projects::check(build, model, locator));
    found.extend(super::mutations::check(build, model, locator));
    found
}

/// A finding about an Application, at the values that declare it: a
/// component's `components.<name>` (then `.<key>`), a namespace's file, else
/// the Application's own scope.
pub fn app_finding(
    build: &Build,
    locator: &Locator,
    app: &Application,
    code: &str,
    severity: Severity,
    field: &str,
    message: String,
) -> Diagnostic {
    let mut diagnostic = locator.finding(app.object, code, severity, field, message);
    let components = build.values.cluster.typed.components.as_ref();
    let span = if components.is_some_and(|c| c.contains_key(&app.name)) {
        locator.span(&ScopeRef::Cluster, &KeyPath::root().key("components").key(app.name.clone()))
    } else {
        // The Application that syncs a namespace's rendered directory.
        let rendered = |ns: &&str| {
            let dir = format!("{}/namespaces/{ns}", rendered_path(build));
            app.sources.iter().any(|source| source.path.as_deref().map(|p| p.trim_matches('/')) == Some(dir.as_str()))
        };
        let namespace = app.destination.namespace.as_deref().filter(|ns| build.values.namespaces.contains_key(*ns));
        namespace.filter(rendered).and_then(|ns| locator.span(&ScopeRef::Namespace(ns.to_string()), &KeyPath::root()))
    };
    if let Some(span) = span {
        diagnostic.span = Some(span);
    }
    diagnostic
}

fn rendered_path(build: &Build) -> String {
    let git = build.values.cluster.typed.git.as_ref();
    git.and_then(|git| git.path.clone()).unwrap_or_else(|| "rendered".into())
}

fn names(apps: &[&str]) -> String {
    apps.iter().map(|app| format!("`{app}`")).collect::<Vec<_>>().join(", ")
}

fn shared_owners(build: &Build, model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut owners: BTreeMap<&Identity, (&Object, Vec<&str>)> = BTreeMap::new();
    for app in &model.applications {
        for managed in &app.managed {
            let entry = owners.entry(&managed.object.identity).or_insert((managed.object, Vec::new()));
            entry.1.push(&app.name);
        }
    }
    let k3s = auto_deployed(build);
    let mut found = Vec::new();
    for (identity, (object, apps)) in &owners {
        if apps.len() > 1 {
            let message = format!(
                "{identity} is managed by Applications {}: each applies its own copy, and one prunes it when its copy goes",
                names(apps)
            );
            found.push(
                locator
                    .finding(object, SHARED_OWNER, Severity::Error, "metadata", message)
                    .with_help("let one Application's source select it (directory include/exclude, or another path)"),
            );
        }
        if let Some(script) = k3s.get(identity) {
            let message = format!(
                "{identity} is managed by Application {} and deployed by k3s from {AUTO_DEPLOY_DIR} ({script} puts it there): k3s re-applies that copy at every start, over what Argo CD synced since",
                names(apps)
            );
            found.push(locator.finding(object, SHARED_OWNER, Severity::Error, "metadata", message).with_help(
                "apply it once (e.g. `k3s kubectl apply -f`) instead of leaving it in k3s's auto-deploy directory, or leave it to k3s alone",
            ));
        }
    }
    found
}

/// The objects a server's rendered script puts into k3s's auto-deploy
/// directory, with `rendered/<script>:<line>`.
fn auto_deployed(build: &Build) -> BTreeMap<&Identity, String> {
    let mut deployed = BTreeMap::new();
    for (path, entry) in &build.tree.files {
        let Some(node) = path.strip_prefix("nodes/").and_then(|rest| rest.split('/').next()) else { continue };
        if entry.object.is_some() || !path.ends_with(".sh") {
            continue;
        }
        let text = String::from_utf8_lossy(&entry.bytes);
        let Some(line) = text.lines().position(copies_into_auto_deploy) else { continue };
        let prefix = format!("nodes/{node}/");
        let script = format!("rendered/{path}:{}", line + 1);
        for (other, object) in build.tree.files.range(prefix.clone()..) {
            if !other.starts_with(&prefix) {
                break;
            }
            if let Some(identity) = &object.object {
                deployed.entry(identity).or_insert_with(|| script.clone());
            }
        }
    }
    deployed
}

/// A shell line that writes a file into the auto-deploy directory.
fn copies_into_auto_deploy(line: &str) -> bool {
    let line = line.trim();
    let command = line.split_whitespace().next().unwrap_or_default();
    !line.starts_with('#')
        && line.contains(AUTO_DEPLOY_DIR)
        && ["install", "cp", "ln", "mv", "rsync", "tee"].contains(&command)
        && !line.split_whitespace().any(|word| word == "-d")
}

fn destination_namespaces(build: &Build, model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut existing: BTreeSet<String> = SYSTEM_NAMESPACES.iter().map(|ns| ns.to_string()).collect();
    for app in &model.applications {
        for managed in &app.managed {
            let identity = &managed.object.identity;
            if identity.group.is_empty() && identity.kind == "Namespace" {
                existing.insert(identity.name.clone());
            }
        }
    }
    for object in
        build.objects.iter().filter(|o| o.identity.group == "helm.cattle.io" && o.identity.kind == "HelmChart")
    {
        let spec = object.value.get("spec");
        let creates = spec.and_then(|s| s.get("createNamespace")).and_then(Value::as_bool) == Some(true);
        if let Some(target) = spec.and_then(|s| s.get("targetNamespace")).and_then(Value::as_str).filter(|_| creates) {
            existing.insert(target.to_string());
        }
    }
    let mut found = Vec::new();
    for app in &model.applications {
        let Some(namespace) = app.destination.namespace.as_deref().filter(|ns| !ns.is_empty()) else { continue };
        if existing.contains(namespace) || app.option("CreateNamespace") {
            continue;
        }
        let message = format!(
            "Application `{}` deploys into namespace `{namespace}`, which no Application manages and nothing creates: its namespaced objects fail to apply",
            app.name
        );
        found.push(
            app_finding(build, locator, app, DESTINATION_NAMESPACE, Severity::Error, "spec.destination.namespace", message)
                .with_help(format!(
                    "declare the namespace (values/namespaces/{namespace}.yaml), or add CreateNamespace=true to the Application's syncOptions"
                )),
        );
    }
    found
}

fn blast_radius(model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    // Which Applications deploy into each namespace.
    let mut tenants: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for app in &model.applications {
        if let Some(ns) = app.destination.namespace.as_deref() {
            tenants.entry(ns).or_default().insert(&app.name);
        }
        for managed in &app.managed {
            if let Some(ns) = managed.object.identity.namespace.as_deref() {
                tenants.entry(ns).or_default().insert(&app.name);
            }
        }
    }
    let mut found = Vec::new();
    for app in &model.applications {
        let finalizer = app.finalizers.iter().any(|f| f == FINALIZER || f.starts_with(&format!("{FINALIZER}/")));
        let prune = app.automated.is_some_and(|automated| automated.prune);
        if !finalizer && !prune {
            continue;
        }
        for managed in &app.managed {
            let identity = &managed.object.identity;
            let volume = identity.group.is_empty()
                && (identity.kind == "PersistentVolumeClaim" || identity.kind == "PersistentVolume");
            let others: Vec<&str> = if identity.group.is_empty() && identity.kind == "Namespace" {
                let all = tenants.get(identity.name.as_str()).into_iter().flatten();
                all.copied().filter(|other| *other != app.name).collect()
            } else {
                Vec::new()
            };
            if !volume && others.is_empty() {
                continue;
            }
            // A resource's option overrides the Application's (sync-options.md).
            let off = |option: &str| {
                let own = &managed.annotations.sync_options;
                let set = |options: &[String]| options.iter().any(|o| o.replace(' ', "") == format!("{option}=false"));
                set(own) || (!own.iter().any(|o| o.starts_with(option)) && set(&app.sync_options))
            };
            let mut ways = Vec::new();
            if finalizer && !off("Delete") {
                ways.push("deleting or renaming it (resources finalizer)");
            }
            if prune && !off("Prune") {
                ways.push("a path that no longer selects it (automated prune)");
            }
            if ways.is_empty() {
                continue;
            }
            let what = if volume {
                "its data".to_string()
            } else {
                format!("everything in it, the objects of Applications {} and their volumes included", names(&others))
            };
            let message = format!("{identity} goes with Application `{}` on {}: {what}", app.name, ways.join(" or "));
            found.push(locator.finding(managed.object, BLAST_RADIUS, Severity::Warning, "metadata.annotations", message).with_help(
                "annotate it `argocd.argoproj.io/sync-options: Prune=false,Delete=false` (Argo CD then neither prunes nor cascade-deletes it)",
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commands_that_write_into_the_auto_deploy_directory_count() {
        let copy = r#"  install -m 0600 "$manifest" /var/lib/rancher/k3s/server/manifests/kiln-x.yaml"#;
        assert!(copies_into_auto_deploy(copy));
        assert!(copies_into_auto_deploy("cp manifests/a.yaml /var/lib/rancher/k3s/server/manifests/"));
        assert!(!copies_into_auto_deploy("rm -f /var/lib/rancher/k3s/server/manifests/kiln-*.yaml"));
        assert!(!copies_into_auto_deploy("# k3s applies /var/lib/rancher/k3s/server/manifests at start"));
        assert!(!copies_into_auto_deploy("install -d -m 0700 /var/lib/rancher/k3s/server/manifests"));
    }
}
