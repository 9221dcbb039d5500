//! The order of one Application's sync: phase, wave, kind, name
//! (`gitops-engine/pkg/sync/sync_tasks.go`), with a CRD of the same sync
//! moved to the wave of its first custom resource (`adjustDeps`), and the
//! health check Argo CD waits on for each kind (`pkg/health/health.go`).

use std::collections::BTreeMap;

use super::model::{Application, Managed};
use super::resource::Phase;

/// Helm's install order, as gitops-engine's `kindOrder`; any other kind sorts after.
const KIND_ORDER: [&str; 35] = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

fn kind_rank(kind: &str) -> usize {
    KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len())
}

/// What Argo CD waits on before a task of a multi-step sync succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No health check: succeeds once applied.
    None,
    /// A built-in check (Deployment available, Service load balancer, ...).
    Healthy,
    /// Job: Progressing until Complete, Degraded when Failed.
    JobComplete,
    /// SealedSecret's Lua: Progressing until the controller decrypts it.
    Decrypted,
    /// A child Application through the health Lua: its own health.
    Application,
}

/// The health check of a kind; an Application has one only with the Lua.
pub fn health(group: &str, kind: &str, application_lua: bool) -> Health {
    match (group, kind) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet")
        | ("" | "extensions" | "networking.k8s.io", "Ingress")
        | ("apiregistration.k8s.io", "APIService")
        | ("", "Service" | "PersistentVolumeClaim" | "Pod")
        | ("autoscaling", "HorizontalPodAutoscaler") => Health::Healthy,
        ("batch", "Job") => Health::JobComplete,
        ("bitnami.com", "SealedSecret") => Health::Decrypted,
        ("argoproj.io", "Application") if application_lua => Health::Application,
        _ => Health::None,
    }
}

/// One step of a sync: a phase and wave and its tasks in order.
pub struct Step<'a, 'b> {
    pub phase: Phase,
    pub wave: i64,
    pub tasks: Vec<&'a Managed<'b>>,
}

/// The steps of an Application's sync, in order.
pub fn steps<'a, 'b>(app: &'a Application<'b>) -> Vec<Step<'a, 'b>> {
    let mut waves: Vec<(Phase, i64, &Managed)> =
        app.managed.iter().map(|m| (m.annotations.phase(), m.annotations.wave, m)).collect();
    // adjustDeps: a CRD syncs no later than the first custom resource of its kind.
    let mut first_use: BTreeMap<(String, String), (Phase, i64)> = BTreeMap::new();
    for (phase, wave, managed) in &waves {
        let key = (managed.object.identity.group.clone(), managed.object.identity.kind.clone());
        let entry = first_use.entry(key).or_insert((*phase, *wave));
        *entry = (*entry).min((*phase, *wave));
    }
    for (phase, wave, managed) in &mut waves {
        if let Some(key) = crd_defines(managed) {
            if let Some(&first) = first_use.get(&key) {
                if first < (*phase, *wave) {
                    (*phase, *wave) = first;
                }
            }
        }
    }
    waves.sort_by(|(pa, wa, a), (pb, wb, b)| {
        (pa, wa, kind_rank(&a.object.identity.kind), &a.object.identity.name).cmp(&(
            pb,
            wb,
            kind_rank(&b.object.identity.kind),
            &b.object.identity.name,
        ))
    });
    let mut steps: Vec<Step> = Vec::new();
    for (phase, wave, managed) in waves {
        match steps.last_mut() {
            Some(step) if step.phase == phase && step.wave == wave => step.tasks.push(managed),
            _ => steps.push(Step { phase, wave, tasks: vec![managed] }),
        }
    }
    steps
}

/// The group and kind a rendered CRD defines.
pub fn crd_defines(managed: &Managed) -> Option<(String, String)> {
    let identity = &managed.object.identity;
    if identity.kind != "CustomResourceDefinition" || identity.group != "apiextensions.k8s.io" {
        return None;
    }
    let spec = managed.object.value.get("spec")?;
    let group = spec.get("group")?.as_str()?;
    let kind = spec.get("names")?.get("kind")?.as_str()?;
    Some((group.to_string(), kind.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_helms_install_order_and_custom_resources_go_last() {
        // sync_tasks.go kindOrder: Namespace first, APIService last of the list.
        assert!(kind_rank("Namespace") < kind_rank("ConfigMap"));
        assert!(kind_rank("CustomResourceDefinition") < kind_rank("Deployment"));
        assert!(kind_rank("Job") < kind_rank("Ingress"));
        assert_eq!(kind_rank("SealedSecret"), kind_rank("Application"));
        assert!(kind_rank("APIService") < kind_rank("SealedSecret"));
    }

    #[test]
    fn health_checks_are_the_built_in_ones() {
        assert_eq!(health("apps", "Deployment", false), Health::Healthy);
        assert_eq!(health("batch", "Job", false), Health::JobComplete);
        assert_eq!(health("batch", "CronJob", false), Health::None);
        assert_eq!(health("helm.cattle.io", "HelmChart", true), Health::None);
        assert_eq!(health("apiextensions.k8s.io", "CustomResourceDefinition", true), Health::None);
        assert_eq!(health("argoproj.io", "Application", false), Health::None);
        assert_eq!(health("argoproj.io", "Application", true), Health::Application);
        assert_eq!(health("bitnami.com", "SealedSecret", false), Health::Decrypted);
    }
}
