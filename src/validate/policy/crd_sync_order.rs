//! `crd-sync-order`: custom resources sync in a later Argo CD wave than their
//! CustomResourceDefinition or the Application whose chart installs it. Argo CD
//! applies waves in order and a resource of an unknown kind fails its dry run
//! (<https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/>); within
//! one Application it applies CRDs before the custom resources of the same
//! wave. A custom resource is ordered by the Application whose directory holds
//! its file, else by its own `argocd.argoproj.io/sync-wave`.

use std::collections::HashMap;

use serde_yaml::Value;

use super::{Context, CRD_SYNC_ORDER};
use crate::diagnostic::Severity;
use crate::kube;
use crate::output::object::{Identity, Object};

impl<'b> Context<'b> {
    pub(super) fn crd_sync_order(&mut self) {
        let build = self.build;
        let git_path = build
            .values
            .cluster
            .typed
            .git
            .as_ref()
            .and_then(|git| git.path.clone())
            .unwrap_or_else(|| crate::settings::RENDERED_DIR.to_string());
        let applications: Vec<Application> = build
            .objects
            .iter()
            .filter(|o| o.identity.group == "argoproj.io" && o.identity.kind == "Application")
            .map(Application::of)
            .collect();
        let files: HashMap<&Identity, &str> = build
            .tree
            .files
            .iter()
            .filter_map(|(path, entry)| entry.object.as_ref().map(|identity| (identity, path.as_str())))
            .collect();
        // The Application whose directory holds the object, if any: its wave orders the object's sync.
        let covering = |object: &Object| -> Option<&Application> {
            let path = format!("{git_path}/{}", files.get(&object.identity)?);
            applications
                .iter()
                .filter(|app| app.covers(&path))
                .max_by_key(|app| app.paths.iter().map(|(p, _)| p.len()).max().unwrap_or(0))
        };
        let position = |object: &Object| -> (i64, String) {
            match covering(object) {
                Some(app) => (app.wave, format!("wave {} (Application `{}`)", app.wave, app.name)),
                None => (kube::sync_wave(object), format!("wave {}", kube::sync_wave(object))),
            }
        };
        let crds: HashMap<(String, String), &Object> = build
            .objects
            .iter()
            .filter(|o| o.identity.kind == "CustomResourceDefinition")
            .filter_map(|o| {
                let group = kube::get_str(&o.value, &["spec", "group"])?.to_string();
                let kind = kube::get_str(&o.value, &["spec", "names", "kind"])?.to_string();
                Some(((group, kind), o))
            })
            .collect();
        let disabled_traefik = build.values.nodes.values().any(|node| {
            node.typed
                .k3s
                .as_ref()
                .and_then(|k3s| k3s.disable.as_ref())
                .is_some_and(|d| d.iter().any(|c| c == "traefik"))
        });
        for object in &build.objects {
            let group = object.identity.group.as_str();
            if group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io") {
                continue;
            }
            let help = "give the custom resource (or the Application that syncs it) a higher `argocd.argoproj.io/sync-wave` than its CRD's";
            if let Some(crd) = crds.get(&(group.to_string(), object.identity.kind.clone())) {
                let same_app = match (covering(object), covering(crd)) {
                    (Some(a), Some(b)) => a.name == b.name,
                    (None, None) => true,
                    _ => false,
                };
                let (mine, crd_wave) = if same_app {
                    let own = |o: &Object| (kube::sync_wave(o), format!("wave {}", kube::sync_wave(o)));
                    (own(object), own(crd))
                } else {
                    (position(object), position(crd))
                };
                if mine.0 <= crd_wave.0 {
                    self.report(
                        object,
                        CRD_SYNC_ORDER,
                        "metadata.annotations",
                        format!(
                            "custom resource syncs in {} but its CustomResourceDefinition `{}` in {}; it must come later",
                            mine.1, crd.identity.name, crd_wave.1
                        ),
                        help,
                    );
                }
                continue;
            }
            let provider = PROVIDERS.iter().find(|(g, _)| *g == group).map(|(_, provider)| provider);
            let charts: &[&str] = match provider {
                None => continue,
                Some(Provider::Preinstalled) if !(group == "traefik.io" && disabled_traefik) => continue,
                Some(Provider::Preinstalled) => &["traefik"],
                Some(Provider::Charts(charts)) => charts,
            };
            let installers: Vec<&Application> =
                applications.iter().filter(|app| app.charts.iter().any(|c| charts.contains(&c.as_str()))).collect();
            // Synced by the Application that installs the CRDs (a chart plus a
            // directory as sources): one sync applies the chart's CRDs (wave 0,
            // kind order) before custom resources of the same or a later wave.
            if let Some(app) = covering(object).filter(|app| installers.iter().any(|i| i.name == app.name)) {
                let own = kube::sync_wave(object);
                if own < 0 {
                    self.report(
                        object,
                        CRD_SYNC_ORDER,
                        "metadata.annotations",
                        format!(
                            "custom resource syncs in wave {own} of Application `{}`, before the CRDs its chart installs in wave 0 of the same sync",
                            app.name
                        ),
                        "give it a sync wave of 0 or more",
                    );
                }
                continue;
            }
            let Some(installer) = installers.iter().min_by_key(|app| app.wave) else {
                // The operator may be installed outside this tree; the order cannot be checked.
                self.report_as(
                    Severity::Warning,
                    object,
                    CRD_SYNC_ORDER,
                    "apiVersion",
                    format!(
                        "no Argo CD Application in the tree installs the CRDs of `{group}` (expected a chart named {}), so the sync order cannot be checked",
                        charts.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or ")
                    ),
                    "add the operator as a component in values/cluster.yaml, or make sure it is installed before this syncs",
                );
                continue;
            };
            // In the Application that installs the chart, Argo CD applies CRDs
            // before custom resources of the same sync and skips their dry run.
            if covering(object).is_some_and(|app| app.name == installer.name) {
                continue;
            }
            let mine = position(object);
            if mine.0 <= installer.wave {
                self.report(
                    object,
                    CRD_SYNC_ORDER,
                    "metadata.annotations",
                    format!(
                        "custom resource syncs in {} but Application `{}`, which installs its CRDs (chart `{}`), syncs in wave {}; it must come later",
                        mine.1,
                        installer.name,
                        installer.charts.iter().find(|c| charts.contains(&c.as_str())).map_or("", String::as_str),
                        installer.wave
                    ),
                    "give the namespace (or component) that holds it a higher `syncWave` than the operator's",
                );
            }
        }
    }
}

/// Who installs the CRDs of a group the cluster uses.
enum Provider {
    /// Present before Argo CD syncs anything (k3s packaged components, Argo CD's own bootstrap).
    Preinstalled,
    /// Installed by an Argo CD Application of one of these Helm charts.
    Charts(&'static [&'static str]),
}

const PROVIDERS: &[(&str, Provider)] = &[
    // Argo CD's own bootstrap installs these before it syncs anything.
    ("argoproj.io", Provider::Preinstalled),
    // k3s itself and its packaged Traefik (unless a node disables `traefik`).
    ("helm.cattle.io", Provider::Preinstalled),
    ("k3s.cattle.io", Provider::Preinstalled),
    ("traefik.io", Provider::Preinstalled),
    ("monitoring.coreos.com", Provider::Charts(&["kube-prometheus-stack", "prometheus-operator-crds"])),
    ("bitnami.com", Provider::Charts(&["sealed-secrets"])),
    ("jaegertracing.io", Provider::Charts(&["jaeger-operator"])),
    ("opentelemetry.io", Provider::Charts(&["opentelemetry-operator"])),
    ("external-secrets.io", Provider::Charts(&["external-secrets"])),
];

/// What kiln needs of an Argo CD Application: its wave, the repository
/// directories it syncs, and the Helm charts it installs.
struct Application {
    name: String,
    wave: i64,
    /// (path in the repository, recurse into subdirectories)
    paths: Vec<(String, bool)>,
    charts: Vec<String>,
}

impl Application {
    fn of(object: &Object) -> Application {
        let mut sources: Vec<&Value> = kube::get(&object.value, &["spec", "source"]).into_iter().collect();
        sources.extend(kube::seq(kube::get(&object.value, &["spec", "sources"])));
        Application {
            name: object.identity.name.clone(),
            wave: kube::sync_wave(object),
            paths: sources
                .iter()
                .filter_map(|source| {
                    let path = kube::get_str(source, &["path"])?.trim_matches('/').to_string();
                    let recurse = kube::get(source, &["directory", "recurse"]).and_then(Value::as_bool) == Some(true);
                    Some((path, recurse))
                })
                .collect(),
            charts: sources.iter().filter_map(|s| kube::get_str(s, &["chart"])).map(str::to_string).collect(),
        }
    }

    fn covers(&self, file: &str) -> bool {
        self.paths.iter().any(|(dir, recurse)| {
            let Some(rest) = file.strip_prefix(dir.as_str()).and_then(|rest| rest.strip_prefix('/')) else {
                return false;
            };
            *recurse || !rest.contains('/')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_cover_their_directory() {
        let app = Application {
            name: "a".into(),
            wave: 0,
            paths: vec![("rendered/namespaces/x".into(), false)],
            charts: vec![],
        };
        assert!(app.covers("rendered/namespaces/x/deployment-a.yaml"));
        assert!(!app.covers("rendered/namespaces/x/sub/deployment-a.yaml"));
        assert!(!app.covers("rendered/namespaces/xy/deployment-a.yaml"));
    }

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
";

    fn widget(wave: i64) -> String {
        format!(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: web, annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}}}\n"
        )
    }

    #[test]
    fn a_custom_resource_must_sync_after_its_crd() {
        use crate::validate::policy::fixture::Cluster;
        let findings = |wave| {
            Cluster::new("    kind: Deployment\n    image: nginx:1.27\n", &widget(wave))
                .file("templates/cluster/crd.yaml", CRD)
                .findings(CRD_SYNC_ORDER)
        };
        assert_eq!(
            findings(0),
            ["metadata.annotations: custom resource syncs in wave 0 but its CustomResourceDefinition `widgets.example.com` in wave 0; it must come later"]
        );
        assert!(findings(1).is_empty());
    }
}
