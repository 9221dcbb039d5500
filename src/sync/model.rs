//! The Argo CD objects of a build, read from their rendered YAML: every
//! `argoproj.io` Application and AppProject, and what each Application
//! manages. Parsing never fails: a field of the wrong type counts as unset
//! (the schema check reports it), so the model describes what Argo CD would
//! act on as far as it can.
//!
//! An Application manages, for each source:
//! - a git source whose `repoURL` is `cluster.git.repoURL` and whose `path`
//!   lies inside the rendered tree: the rendered objects in that directory,
//!   top level only unless `directory.recurse`, filtered by
//!   `directory.include`/`exclude` on the path relative to the source path
//!   (Argo CD docs, user-guide/directory.md), minus `hook: Skip` objects (never
//!   applied);
//! - a `chart` source: a Helm release kiln does not render. The model records
//!   the chart ([`ChartRelease`]); what kiln knows of its objects is the CRD
//!   table in [`super::crds`].

use std::collections::HashMap;

use serde_yaml::Value;

use super::glob;
use super::resource::{has_option, Annotations};
use crate::build::Build;
use crate::output::object::{Identity, Object};
use crate::output::tree::object_path;

pub const GROUP: &str = "argoproj.io";
/// The argo-cd chart's values key holding the Application health Lua
/// (Argo CD's operator-manual/health.md, "Argo CD App"; argo-helm `configs.cm`).
pub const HEALTH_LUA_KEY: &str = "resource.customizations.health.argoproj.io_Application";

/// Everything Argo CD would act on. Stable API: the ownership and permission
/// checks build on it.
pub struct Model<'b> {
    pub applications: Vec<Application<'b>>,
    pub projects: Vec<Project<'b>>,
    /// The Application health Lua, when the argo-cd component configures it.
    pub health_lua: Option<HealthLua>,
    /// `cluster.git.repoURL`: sources with this URL read the rendered tree.
    pub repo_url: Option<String>,
    /// `cluster.git.path` (default `rendered`).
    pub rendered_path: String,
    /// What each workload's pods wait for before they start (`waitBeforeStart`).
    pub waits: crate::render::waits::Waits,
    /// Every rendered object, synced or not.
    pub objects: &'b [Object],
    /// Index of each Application by name, and the indexes of its parents.
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
}

/// Where the Application health Lua is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthLua {
    /// The values component (chart `argo-cd`) that sets it.
    pub component: String,
    /// Whether it is the documented snippet, which copies the child's
    /// `status.health.status` (kiln does not interpret other Lua).
    pub copies_child_health: bool,
}

pub struct Application<'b> {
    pub object: &'b Object,
    /// `rendered/...`.
    pub file: String,
    pub name: String,
    pub project: String,
    /// The Application object's own annotations (wave, ignore-healthcheck).
    pub annotations: Annotations,
    pub sources: Vec<Source>,
    pub destination: Destination,
    /// `syncPolicy.automated`, when set.
    pub automated: Option<Automated>,
    /// `syncPolicy.syncOptions` as written.
    pub sync_options: Vec<String>,
    pub ignore_differences: Vec<IgnoreDifference>,
    pub finalizers: Vec<String>,
    /// The rendered objects its git sources select, in the build's (template) order.
    pub managed: Vec<Managed<'b>>,
    /// The Helm charts its chart sources install.
    pub charts: Vec<ChartRelease>,
}

impl Application<'_> {
    /// An app-level sync option (`syncPolicy.syncOptions`), e.g. `CreateNamespace`.
    pub fn option(&self, name: &str) -> bool {
        has_option(&self.sync_options, name)
    }

    /// Whether it manages the Application named `name`.
    pub fn manages_application(&self, name: &str) -> bool {
        self.managed.iter().any(|m| is_application(&m.object.identity) && m.object.identity.name == name)
    }
}

/// A rendered object an Application manages.
pub struct Managed<'b> {
    pub object: &'b Object,
    /// `rendered/...`.
    pub file: String,
    pub annotations: Annotations,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub repo_url: String,
    pub path: Option<String>,
    pub chart: Option<String>,
    pub target_revision: Option<String>,
    pub directory: Directory,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub recurse: bool,
    pub include: Option<String>,
    pub exclude: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    pub server: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Automated {
    pub prune: bool,
    pub self_heal: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreDifference {
    pub group: String,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub json_pointers: Vec<String>,
    pub jq_path_expressions: Vec<String>,
    pub managed_fields_managers: Vec<String>,
}

/// A Helm release of a chart source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRelease {
    pub chart: String,
    pub repo_url: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

pub struct Project<'b> {
    pub object: &'b Object,
    pub file: String,
    pub name: String,
    pub annotations: Annotations,
    pub source_repos: Vec<String>,
    pub destinations: Vec<Destination>,
    pub cluster_resource_whitelist: Vec<GroupKind>,
    pub cluster_resource_blacklist: Vec<GroupKind>,
    pub namespace_resource_whitelist: Vec<GroupKind>,
    pub namespace_resource_blacklist: Vec<GroupKind>,
}

pub fn is_application(identity: &Identity) -> bool {
    identity.group == GROUP && identity.kind == "Application"
}

impl<'b> Model<'b> {
    /// The model of a build; linear in the number of objects (plus, per
    /// recursive source, one pass over them).
    pub fn new(build: &'b Build) -> Model<'b> {
        let cluster = &build.values.cluster.typed;
        let git = cluster.git.as_ref();
        let repo_url = git.and_then(|git| git.repo_url.clone());
        let rendered_path = git.and_then(|git| git.path.clone()).unwrap_or_else(|| "rendered".into());
        let files: Vec<(&Object, String)> = build
            .objects
            .iter()
            .filter_map(|object| object_path(object).ok().map(|path| (object, format!("{rendered_path}/{path}"))))
            .collect();
        let mut by_dir: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, (_, file)) in files.iter().enumerate() {
            by_dir.entry(parent(file)).or_default().push(index);
        }
        let mut applications = Vec::new();
        let mut projects = Vec::new();
        for (object, file) in &files {
            if object.identity.group != GROUP {
                continue;
            }
            match object.identity.kind.as_str() {
                "Application" => applications.push(application(object, file.clone())),
                "AppProject" => projects.push(project(object, file.clone())),
                _ => {}
            }
        }
        for application in &mut applications {
            let mut selected: Vec<usize> = Vec::new();
            for source in application.sources.iter().filter(|s| s.chart.is_none()) {
                if repo_url.as_deref() != Some(source.repo_url.as_str()) {
                    continue;
                }
                let Some(dir) = source.path.as_deref().map(|p| p.trim_matches('/')) else { continue };
                if dir != rendered_path && !dir.starts_with(&format!("{rendered_path}/")) {
                    continue;
                }
                let candidates: Vec<usize> = if source.directory.recurse {
                    let prefix = format!("{dir}/");
                    (0..files.len()).filter(|&i| files.get(i).is_some_and(|(_, f)| f.starts_with(&prefix))).collect()
                } else {
                    by_dir.get(dir).cloned().unwrap_or_default()
                };
                for index in candidates {
                    let Some((_, file)) = files.get(index) else { continue };
                    let relative = file.strip_prefix(dir).unwrap_or(file).trim_start_matches('/');
                    if source.directory.selects(relative) {
                        selected.push(index);
                    }
                }
            }
            selected.sort_unstable();
            selected.dedup();
            application.managed = selected
                .into_iter()
                .filter_map(|index| files.get(index))
                .map(|(object, file)| Managed { object, file: file.clone(), annotations: Annotations::of(object) })
                .filter(|managed| !managed.annotations.skipped())
                .collect();
        }
        let index: HashMap<String, usize> =
            applications.iter().enumerate().rev().map(|(i, app)| (app.name.clone(), i)).collect();
        let mut parents = vec![Vec::new(); applications.len()];
        for (parent, app) in applications.iter().enumerate() {
            for managed in app.managed.iter().filter(|m| is_application(&m.object.identity)) {
                if let Some(list) = index.get(&managed.object.identity.name).and_then(|&child| parents.get_mut(child)) {
                    list.push(parent);
                }
            }
        }
        let waits = crate::render::waits::index(&build.values);
        Model {
            applications,
            projects,
            health_lua: health_lua(build),
            repo_url,
            rendered_path,
            waits,
            objects: &build.objects,
            index,
            parents,
        }
    }

    /// The index in `applications` of the Application named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn application(&self, name: &str) -> Option<&Application<'b>> {
        self.applications.get(self.position(name)?)
    }

    pub fn project(&self, name: &str) -> Option<&Project<'b>> {
        self.projects.iter().find(|project| project.name == name)
    }

    /// The Applications that manage the Application named `name`.
    pub fn parents_of(&self, name: &str) -> Vec<&Application<'b>> {
        let parents = self.position(name).and_then(|i| self.parents.get(i));
        parents.into_iter().flatten().filter_map(|&i| self.applications.get(i)).collect()
    }

    /// Where syncs start: the Applications k3s applies itself (a server's
    /// `nodes/<node>/manifests` directory, which k3s's deploy controller
    /// applies before Argo CD runs), then those no Application manages; when
    /// every one is managed by another, the first.
    pub fn roots(&self) -> Vec<&Application<'b>> {
        let bootstrap_dir = format!("{}/nodes/", self.rendered_path);
        let applied_by_k3s = |app: &Application| {
            app.file.strip_prefix(&bootstrap_dir).is_some_and(|rest| parent(rest).ends_with("/manifests"))
        };
        let mut roots: Vec<&Application<'b>> = self.applications.iter().filter(|app| applied_by_k3s(app)).collect();
        roots.extend(
            self.applications.iter().filter(|app| !applied_by_k3s(app) && self.parents_of(&app.name).is_empty()),
        );
        // Every Application managed by another (a cycle): the sync starts where someone applied the first.
        if roots.is_empty() {
            roots.extend(self.applications.first());
        }
        roots
    }
}

impl Directory {
    /// Whether the file (relative to the source path) is read.
    fn selects(&self, relative: &str) -> bool {
        let manifest = [".yaml", ".yml", ".json"].iter().any(|ext| relative.ends_with(ext));
        let excluded = self.exclude.as_deref().is_some_and(|p| glob::matches(p, relative).unwrap_or(false));
        let included = self.include.as_deref().is_none_or(|p| glob::matches(p, relative).unwrap_or(false));
        manifest && !excluded && included
    }
}

fn parent(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn texts(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_sequence)
        .map(|items| items.iter().filter_map(|item| text(Some(item))).collect())
        .unwrap_or_default()
}

fn flag(value: Option<&Value>) -> bool {
    value.and_then(Value::as_bool).unwrap_or(false)
}

fn source(value: &Value) -> Source {
    let directory = value.get("directory");
    Source {
        repo_url: text(value.get("repoURL")).unwrap_or_default(),
        path: text(value.get("path")),
        chart: text(value.get("chart")),
        target_revision: text(value.get("targetRevision")),
        directory: Directory {
            recurse: flag(directory.and_then(|d| d.get("recurse"))),
            include: text(directory.and_then(|d| d.get("include"))),
            exclude: text(directory.and_then(|d| d.get("exclude"))),
        },
    }
}

fn destination(value: Option<&Value>) -> Destination {
    Destination {
        server: text(value.and_then(|v| v.get("server"))),
        name: text(value.and_then(|v| v.get("name"))),
        namespace: text(value.and_then(|v| v.get("namespace"))),
    }
}

fn application<'b>(object: &'b Object, file: String) -> Application<'b> {
    let value = &object.value;
    let spec = value.get("spec");
    let get = |key: &str| spec.and_then(|spec| spec.get(key));
    // `sources` wins over `source` when both are set (multi-source docs).
    let sources: Vec<Source> = match get("sources").and_then(Value::as_sequence) {
        Some(items) => items.iter().map(source).collect(),
        None => get("source").map(source).into_iter().collect(),
    };
    let policy = get("syncPolicy");
    let automated = policy
        .and_then(|p| p.get("automated"))
        .filter(|a| a.is_mapping())
        .map(|automated| Automated { prune: flag(automated.get("prune")), self_heal: flag(automated.get("selfHeal")) });
    let ignore_differences = get("ignoreDifferences")
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .map(|item| IgnoreDifference {
                    group: text(item.get("group")).unwrap_or_default(),
                    kind: text(item.get("kind")).unwrap_or_default(),
                    name: text(item.get("name")),
                    namespace: text(item.get("namespace")),
                    json_pointers: texts(item.get("jsonPointers")),
                    jq_path_expressions: texts(item.get("jqPathExpressions")),
                    managed_fields_managers: texts(item.get("managedFieldsManagers")),
                })
                .collect()
        })
        .unwrap_or_default();
    let charts = sources
        .iter()
        .filter_map(|s| {
            s.chart.clone().map(|chart| ChartRelease {
                chart,
                repo_url: s.repo_url.clone(),
                version: s.target_revision.clone(),
            })
        })
        .collect();
    Application {
        object,
        file,
        name: object.identity.name.clone(),
        project: text(get("project")).unwrap_or_else(|| "default".into()),
        annotations: Annotations::of(object),
        destination: destination(get("destination")),
        automated,
        sync_options: texts(policy.and_then(|p| p.get("syncOptions"))),
        ignore_differences,
        finalizers: texts(value.get("metadata").and_then(|m| m.get("finalizers"))),
        managed: Vec::new(),
        charts,
        sources,
    }
}

fn group_kinds(value: Option<&Value>) -> Vec<GroupKind> {
    value
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .map(|item| GroupKind {
                    group: text(item.get("group")).unwrap_or_default(),
                    kind: text(item.get("kind")).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn project<'b>(object: &'b Object, file: String) -> Project<'b> {
    let spec = object.value.get("spec");
    let get = |key: &str| spec.and_then(|spec| spec.get(key));
    Project {
        object,
        file,
        name: object.identity.name.clone(),
        annotations: Annotations::of(object),
        source_repos: texts(get("sourceRepos")),
        destinations: get("destinations")
            .and_then(Value::as_sequence)
            .map(|items| items.iter().map(|item| destination(Some(item))).collect())
            .unwrap_or_default(),
        cluster_resource_whitelist: group_kinds(get("clusterResourceWhitelist")),
        cluster_resource_blacklist: group_kinds(get("clusterResourceBlacklist")),
        namespace_resource_whitelist: group_kinds(get("namespaceResourceWhitelist")),
        namespace_resource_blacklist: group_kinds(get("namespaceResourceBlacklist")),
    }
}

/// The Application health Lua of the argo-cd component (`configs.cm`), if set.
fn health_lua(build: &Build) -> Option<HealthLua> {
    let components = build.values.cluster.typed.components.as_ref()?;
    components.iter().find_map(|(name, component)| {
        if component.chart.as_deref() != Some("argo-cd") || component.enabled == Some(false) {
            return None;
        }
        let lua = component.values.as_ref()?.get("configs")?.get("cm")?.get(HEALTH_LUA_KEY)?.as_str()?;
        (!lua.trim().is_empty()).then(|| HealthLua {
            component: name.clone(),
            copies_child_health: lua.contains("obj.status.health.status"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputFiles;

    fn this_repository() -> Build {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::build::build(&InputFiles::from_dir(root).unwrap()).unwrap()
    }

    #[test]
    fn this_repository_is_an_app_of_apps_rooted_in_the_bootstrap_manifests() {
        let build = this_repository();
        let model = Model::new(&build);
        let root = model.application("root").unwrap();
        assert_eq!(root.file, "rendered/nodes/mainpc/manifests/application-root.yaml");
        assert_eq!(root.project, "bootstrap");
        assert!(root.manages_application("bootstrap-mainpc") && root.manages_application("cluster"));
        let bootstrap = model.application("bootstrap-mainpc").unwrap();
        assert_eq!(bootstrap.annotations.wave, -30);
        let managed: Vec<String> = bootstrap.managed.iter().map(|m| m.object.identity.to_string()).collect();
        assert_eq!(
            managed,
            [
                "HelmChart.helm.cattle.io kube-system/argo-cd",
                "AppProject.argoproj.io argocd/bootstrap",
                "Application.argoproj.io argocd/root"
            ]
        );
        let sealed = model.application("sealed-secrets").unwrap();
        assert_eq!(sealed.charts.first().map(|c| c.chart.as_str()), Some("sealed-secrets"));
        assert!(sealed.managed.is_empty());
        let kps = model.application("kube-prometheus-stack").unwrap();
        assert!(kps.managed.iter().any(|m| m.object.identity.kind == "PrometheusRule"));
        assert_eq!(model.health_lua.as_ref().map(|lua| lua.copies_child_health), Some(true));
        assert!(model.project("platform").is_some() && model.project("bootstrap").is_some());
    }

    #[test]
    fn recurse_and_globs_select_files_as_argo_cd_reads_them() {
        let directory =
            Directory { recurse: true, include: Some("{*.yaml,sub/*}".into()), exclude: Some("config.yaml".into()) };
        assert!(directory.selects("a.yaml") && directory.selects("sub/b.yaml"));
        assert!(!directory.selects("config.yaml") && !directory.selects("run.sh"));
        assert!(!Directory::default().selects("notes.txt"));
    }
}
