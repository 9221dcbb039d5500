//! What each rendered workload asks of the scheduler: pods, per-pod request,
//! placement constraints, replicas (HPA min and max), rollout strategy and
//! node-local volumes.
//!
//! Counting: Deployments and StatefulSets run `spec.replicas` pods (default
//! 1), or the HPA's `minReplicas` when an HPA targets them; DaemonSets one pod
//! per node they tolerate and select. Jobs and CronJobs count as running, at
//! `parallelism` pods (default 1), in every scenario: a job that cannot start
//! beside everything else would stay Pending when it fires. Suspended ones
//! count as nothing. Bare Pods count as one.

use std::collections::{BTreeMap, HashMap};

use serde_yaml::Value;

use super::resources::{pod_request, Amount, Defaults};
use crate::build::Build;
use crate::kube::{self, PodTemplate, Selector};
use crate::output::object::Object;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    Pod,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Old pods go first: always completes when the steady state fits.
    Recreate,
    /// Pods are only replaced by hand.
    OnDelete,
    /// Deployment: up to `surge` extra pods, at most `unavailable` missing.
    Rolling { surge: u32, unavailable: u32 },
    /// StatefulSet: one pod at a time, deleted before it is recreated.
    OneAtATime,
}

/// A required or preferred pod anti-affinity term.
#[derive(Debug, Clone)]
pub struct AntiTerm {
    pub selector: Selector,
    /// Namespaces the selector looks at; empty means the pod's own.
    pub namespaces: Vec<String>,
    pub topology_key: String,
}

/// One `nodeSelectorTerm`: all expressions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodeTerm {
    pub labels: Vec<kube::Expression>,
    /// `matchFields` on `metadata.name`.
    pub names: Vec<kube::Expression>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Toleration {
    pub key: String,
    pub operator: String,
    pub value: String,
    pub effect: String,
}

pub struct Workload<'b> {
    pub object: &'b Object,
    pub kind: Kind,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub request: Amount,
    /// Pods in steady state.
    pub replicas: u32,
    /// The HPA that scales it and its `maxReplicas`.
    pub hpa: Option<(&'b Object, u32)>,
    pub node_selector: BTreeMap<String, String>,
    /// `requiredDuringScheduling…` node affinity: any term may match.
    pub required_terms: Vec<NodeTerm>,
    pub preferred_terms: Vec<(i64, NodeTerm)>,
    pub tolerations: Vec<Toleration>,
    pub anti_affinity: Vec<AntiTerm>,
    pub preferred_anti_affinity: Vec<AntiTerm>,
    pub strategy: Strategy,
    /// PersistentVolumeClaims on node-local storage: once bound, the pod stays on that node.
    pub local_claims: Vec<String>,
    /// The local claims the pod template names itself (not a StatefulSet's
    /// per-pod templates): one volume, bound to one node, for every pod of
    /// every workload that mounts it.
    pub shared_local_claims: Vec<String>,
    pub runtime_class: Option<String>,
    /// GPU memory one pod uses, in MiB (`gpu.memoryGiB` in values; 0 when undeclared).
    pub gpu_memory_mib: u64,
}

impl Workload<'_> {
    pub fn describe(&self) -> String {
        self.object.identity.to_string()
    }
}

/// Storage classes whose volumes live on one node.
pub struct Storage {
    pub local: Vec<String>,
    pub default_class: String,
}

impl Storage {
    pub fn of(build: &Build) -> Storage {
        let storage = build.values.cluster.typed.storage.clone().unwrap_or_default();
        let mut local = vec!["local-path".to_string()];
        local.extend(storage.local_class);
        let default_class = build
            .objects
            .iter()
            .find(|object| {
                object.identity.kind == "StorageClass"
                    && kube::get_str(
                        &object.value,
                        &["metadata", "annotations", "storageclass.kubernetes.io/is-default-class"],
                    ) == Some("true")
            })
            // k3s makes its local-path class the default.
            .map_or_else(|| "local-path".to_string(), |object| object.identity.name.clone());
        Storage { local, default_class }
    }

    fn is_local(&self, class: Option<&str>) -> bool {
        let class = class.unwrap_or(&self.default_class);
        self.local.iter().any(|local| local == class)
    }
}

/// Every workload among the rendered objects, in object order.
pub fn workloads(build: &Build) -> Vec<Workload<'_>> {
    let storage = Storage::of(build);
    let mut defaults: HashMap<&str, Defaults> = HashMap::new();
    let mut claims: HashMap<(&str, &str), &Object> = HashMap::new();
    let mut hpas: HashMap<(&str, &str, &str), (&Object, u32, u32)> = HashMap::new();
    for object in &build.objects {
        let namespace = object.identity.namespace.as_deref().unwrap_or_default();
        match object.identity.kind.as_str() {
            "LimitRange" => {
                let found = Defaults::from_limit_range(&object.value);
                defaults.entry(namespace).or_default().request.extend(found.request);
            }
            "PersistentVolumeClaim" => {
                claims.insert((namespace, object.identity.name.as_str()), object);
            }
            "HorizontalPodAutoscaler" => {
                let target = |field: &str| kube::get_str(&object.value, &["spec", "scaleTargetRef", field]);
                if let (Some(kind), Some(name)) = (target("kind"), target("name")) {
                    let min = kube::int(kube::get(&object.value, &["spec", "minReplicas"])).unwrap_or(1);
                    let max = kube::int(kube::get(&object.value, &["spec", "maxReplicas"])).unwrap_or(min);
                    hpas.insert((namespace, kind, name), (object, clamp(min), clamp(max)));
                }
            }
            _ => {}
        }
    }
    let no_defaults = Defaults::default();
    build
        .objects
        .iter()
        .filter_map(|object| {
            let template = PodTemplate::of(object)?;
            let namespace = object.identity.namespace.clone().unwrap_or_default();
            let spec = template.spec;
            let value = &object.value;
            let kind = match object.identity.kind.as_str() {
                "Deployment" | "ReplicaSet" => Kind::Deployment,
                "StatefulSet" => Kind::StatefulSet,
                "DaemonSet" => Kind::DaemonSet,
                "Job" | "CronJob" => Kind::Job,
                _ => Kind::Pod,
            };
            let hpa = hpas.get(&(namespace.as_str(), object.identity.kind.as_str(), object.identity.name.as_str()));
            let replicas = match kind {
                Kind::Deployment | Kind::StatefulSet => match hpa {
                    Some((_, min, _)) => *min,
                    None => clamp(kube::int(kube::get(value, &["spec", "replicas"])).unwrap_or(1)),
                },
                Kind::Job => job_pods(object),
                Kind::DaemonSet | Kind::Pod => 1,
            };
            let request = pod_request(spec, defaults.get(namespace.as_str()).unwrap_or(&no_defaults));
            let affinity = spec.get("affinity");
            let node_affinity = affinity.and_then(|a| a.get("nodeAffinity"));
            let anti = affinity.and_then(|a| a.get("podAntiAffinity"));
            let mut local_claims: Vec<String> = kube::seq(spec.get("volumes"))
                .iter()
                .filter_map(|volume| kube::get_str(volume, &["persistentVolumeClaim", "claimName"]))
                .filter(|claim| {
                    claims
                        .get(&(namespace.as_str(), *claim))
                        .is_none_or(|pvc| storage.is_local(kube::get_str(&pvc.value, &["spec", "storageClassName"])))
                })
                .map(str::to_string)
                .collect();
            let shared_local_claims = local_claims.clone();
            if kind == Kind::StatefulSet {
                local_claims.extend(
                    kube::seq(kube::get(value, &["spec", "volumeClaimTemplates"]))
                        .iter()
                        .filter(|claim| storage.is_local(kube::get_str(claim, &["spec", "storageClassName"])))
                        .filter_map(|claim| kube::get_str(claim, &["metadata", "name"]))
                        .map(str::to_string),
                );
            }
            let gpu_memory_mib = object
                .origin
                .scope
                .workload()
                .filter(|(_, name)| *name == object.identity.name)
                .and_then(|(namespace, name)| build.values.namespaces.get(namespace)?.workloads.get(name))
                .and_then(|values| values.typed.gpu.as_ref()?.memory_gib)
                .filter(|gib| gib.is_finite() && *gib > 0.0)
                .map_or(0, |gib| (gib * 1024.0).round() as u64);
            Some(Workload {
                object,
                gpu_memory_mib,
                kind,
                labels: template.labels.clone(),
                request,
                replicas,
                hpa: hpa.map(|(hpa, _, max)| (*hpa, *max)),
                node_selector: kube::string_map(spec.get("nodeSelector")),
                required_terms: kube::seq(kube::get(
                    node_affinity.unwrap_or(&Value::Null),
                    &["requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"],
                ))
                .iter()
                .map(node_term)
                .collect(),
                preferred_terms: kube::seq(
                    node_affinity.and_then(|n| n.get("preferredDuringSchedulingIgnoredDuringExecution")),
                )
                .iter()
                .map(|item| {
                    (
                        kube::int(item.get("weight")).unwrap_or(1),
                        node_term(item.get("preference").unwrap_or(&Value::Null)),
                    )
                })
                .collect(),
                tolerations: kube::seq(spec.get("tolerations"))
                    .iter()
                    .map(|item| {
                        let text = |field: &str| kube::get(item, &[field]).and_then(kube::scalar).unwrap_or_default();
                        Toleration {
                            key: text("key"),
                            operator: if text("operator").is_empty() { "Equal".into() } else { text("operator") },
                            value: text("value"),
                            effect: text("effect"),
                        }
                    })
                    .collect(),
                anti_affinity: kube::seq(anti.and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution")))
                    .iter()
                    .map(anti_term)
                    .collect(),
                preferred_anti_affinity: kube::seq(
                    anti.and_then(|a| a.get("preferredDuringSchedulingIgnoredDuringExecution")),
                )
                .iter()
                .map(|item| anti_term(item.get("podAffinityTerm").unwrap_or(&Value::Null)))
                .collect(),
                strategy: strategy(object, replicas),
                local_claims,
                shared_local_claims,
                runtime_class: kube::get_str(spec, &["runtimeClassName"]).map(str::to_string),
                namespace,
            })
        })
        .collect()
}

fn clamp(count: i64) -> u32 {
    u32::try_from(count.max(0)).unwrap_or(u32::MAX)
}

/// Pods a Job or CronJob runs at once; 0 when suspended.
fn job_pods(object: &Object) -> u32 {
    let value = &object.value;
    let job_spec = if object.identity.kind == "CronJob" {
        if kube::get(value, &["spec", "suspend"]).and_then(Value::as_bool) == Some(true) {
            return 0;
        }
        kube::get(value, &["spec", "jobTemplate", "spec"])
    } else {
        kube::get(value, &["spec"])
    };
    let Some(job_spec) = job_spec else { return 1 };
    if job_spec.get("suspend").and_then(Value::as_bool) == Some(true) {
        return 0;
    }
    clamp(kube::int(job_spec.get("parallelism")).unwrap_or(1))
}

fn node_term(value: &Value) -> NodeTerm {
    NodeTerm {
        labels: kube::expressions(value.get("matchExpressions")),
        names: kube::expressions(value.get("matchFields"))
            .into_iter()
            .filter(|expression| expression.key == "metadata.name")
            .collect(),
    }
}

fn anti_term(value: &Value) -> AntiTerm {
    AntiTerm {
        selector: Selector::parse(value.get("labelSelector")),
        namespaces: kube::seq(value.get("namespaces")).iter().filter_map(kube::scalar).collect(),
        topology_key: kube::get_str(value, &["topologyKey"]).unwrap_or("kubernetes.io/hostname").to_string(),
    }
}

/// The rollout strategy with Kubernetes' defaults applied (25 % surge rounded
/// up, 25 % unavailable rounded down, of the replicas).
fn strategy(object: &Object, replicas: u32) -> Strategy {
    let value = &object.value;
    match object.identity.kind.as_str() {
        "Deployment" => {
            if kube::get_str(value, &["spec", "strategy", "type"]) == Some("Recreate") {
                return Strategy::Recreate;
            }
            let rolling = kube::get(value, &["spec", "strategy", "rollingUpdate"]);
            let field = |name: &str| rolling.and_then(|r| r.get(name));
            Strategy::Rolling {
                surge: int_or_percent(field("maxSurge"), replicas, true).unwrap_or_else(|| percent(25, replicas, true)),
                unavailable: int_or_percent(field("maxUnavailable"), replicas, false)
                    .unwrap_or_else(|| percent(25, replicas, false)),
            }
        }
        "StatefulSet" => match kube::get_str(value, &["spec", "updateStrategy", "type"]) {
            Some("OnDelete") => Strategy::OnDelete,
            _ => Strategy::OneAtATime,
        },
        _ => Strategy::OneAtATime,
    }
}

/// An `IntOrString` count: an integer, or a percentage of `total` rounded up or down.
pub fn int_or_percent(value: Option<&Value>, total: u32, round_up: bool) -> Option<u32> {
    match value? {
        Value::Number(number) => number.as_u64().map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        Value::String(text) => match text.strip_suffix('%') {
            Some(number) => number.trim().parse().ok().map(|p| percent(p, total, round_up)),
            None => text.trim().parse().ok(),
        },
        _ => None,
    }
}

fn percent(percent: u32, total: u32, round_up: bool) -> u32 {
    let scaled = u64::from(percent) * u64::from(total);
    let value = if round_up { scaled.div_ceil(100) } else { scaled / 100 };
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_like_the_deployment_controller() {
        assert_eq!(percent(25, 1, true), 1);
        assert_eq!(percent(25, 1, false), 0);
        assert_eq!(percent(25, 8, false), 2);
        let text = Value::String("50%".into());
        assert_eq!(int_or_percent(Some(&text), 3, true), Some(2));
        assert_eq!(int_or_percent(Some(&Value::from(2)), 3, true), Some(2));
        assert_eq!(int_or_percent(None, 3, true), None);
    }
}
