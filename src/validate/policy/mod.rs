//! Policy checks over the rendered objects, each with a stable ID and a
//! severity (see [`POLICIES`] and docs/validation.md), one file per policy
//! with its tests. A workload opts out of
//! one policy for its own objects with `policyExceptions: {<id>: "<why>"}` in
//! its values; the justification must be written out. Namespace-wide findings
//! are waived when every enabled workload of the namespace waives them (which
//! is what the namespace's `defaults.workload.policyExceptions` does).
//!
//! This module holds the registry, the walk over the objects ([`check`]) and
//! the `Context` every policy reports through; the policies read the
//! Kubernetes model in `crate::kube`.

mod crd_sync_order;
#[cfg(test)]
mod fixture;
mod gpu_placement;
pub(crate) mod hpa_metric_served;
mod hpa_target;
mod image_pinned;
mod ingress_backend;
mod namespace_network_policy;
mod pdb_allows_eviction;
mod policy_exception;
mod readiness_probe;
mod requests_limits;
mod restricted_security_context;
mod service_selector;

use std::collections::{HashMap, HashSet};

use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::kube::nodes::{self, Node};
use crate::kube::workloads::{self, Workload};
use crate::kube::{PodTemplate, Selector};
use crate::output::object::{Identity, Object};

/// A policy's stable ID and the severity of its findings; what each one
/// checks is on its ID constant and in its file.
pub struct Policy {
    pub id: &'static str,
    pub severity: Severity,
}

/// Every container sets requests.cpu, requests.memory and limits.memory.
pub const REQUESTS_LIMITS: &str = "requests-limits";
/// Every image has a version tag or digest, never `latest` or none.
pub const IMAGE_PINNED: &str = "image-pinned";
/// Containers of Deployments, StatefulSets and DaemonSets that serve ports have a readinessProbe.
pub const READINESS_PROBE: &str = "readiness-probe";
/// Pods in namespaces at the `restricted` Pod Security level meet it.
pub const RESTRICTED: &str = "restricted-security-context";
/// Pods using nvidia.com/gpu only select GPU nodes, tolerate their taints, run with the nvidia runtime and set the GPU limit.
pub const GPU_PLACEMENT: &str = "gpu-placement";
/// Not a policy finding: rendering itself refuses such a Secret (exit 2), and
/// no exception can waive it.
pub const PLAINTEXT_SECRET: &str = "no-plaintext-secret";
/// Every app namespace has a default-deny NetworkPolicy and allows DNS egress.
pub const NETWORK_POLICY: &str = "namespace-network-policy";
/// Every Service selector matches some pod template's labels.
pub const SERVICE_SELECTOR: &str = "service-selector";
/// Every Ingress backend Service and port exists.
pub const INGRESS_BACKEND: &str = "ingress-backend";
/// Every HPA's scale target exists and minReplicas ≤ maxReplicas.
pub const HPA_TARGET: &str = "hpa-target";
/// Every Pods, Object and External metric an HPA scales on is served by a rendered prometheus-adapter rule.
pub const HPA_METRIC: &str = "hpa-metric-served";
/// No PodDisruptionBudget that can never allow an eviction.
pub const PDB_EVICTION: &str = "pdb-allows-eviction";
/// Custom resources sync in a later Argo CD wave than their CRD or the operator installing it.
pub const CRD_SYNC_ORDER: &str = "crd-sync-order";
/// Every policyExceptions entry names a policy and carries a written justification.
pub const POLICY_EXCEPTION: &str = "policy-exception";

/// Every policy kiln enforces. IDs are a contract: values refer to them.
pub const POLICIES: &[Policy] = &[
    Policy { id: REQUESTS_LIMITS, severity: Severity::Error },
    Policy { id: IMAGE_PINNED, severity: Severity::Error },
    Policy { id: READINESS_PROBE, severity: Severity::Error },
    Policy { id: RESTRICTED, severity: Severity::Error },
    Policy { id: GPU_PLACEMENT, severity: Severity::Error },
    Policy { id: NETWORK_POLICY, severity: Severity::Error },
    Policy { id: SERVICE_SELECTOR, severity: Severity::Error },
    Policy { id: INGRESS_BACKEND, severity: Severity::Error },
    Policy { id: HPA_TARGET, severity: Severity::Error },
    Policy { id: HPA_METRIC, severity: Severity::Error },
    Policy { id: PDB_EVICTION, severity: Severity::Error },
    Policy { id: CRD_SYNC_ORDER, severity: Severity::Error },
    Policy { id: POLICY_EXCEPTION, severity: Severity::Error },
];

/// Runs every policy; findings waived by a justified exception are dropped.
pub fn check(build: &Build, locator: &Locator) -> Vec<Diagnostic> {
    let workloads = workloads::workloads(build);
    let mut labels: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
    let mut namespace_workloads: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, workload) in workloads.iter().enumerate() {
        namespace_workloads.entry(workload.namespace.clone()).or_default().push(index);
        for (key, value) in &workload.labels {
            labels.entry((workload.namespace.clone(), key.clone(), value.clone())).or_default().push(index);
        }
    }
    let mut context = Context {
        labels,
        namespace_workloads,
        identities: build.objects.iter().map(|object| &object.identity).collect(),
        build,
        locator,
        nodes: nodes::nodes(&build.values),
        index: workloads.iter().enumerate().map(|(index, w)| (&w.object.identity, index)).collect(),
        workloads,
        by_namespace: HashMap::new(),
        findings: Vec::new(),
    };
    for object in &build.objects {
        if let Some(namespace) = &object.identity.namespace {
            context.by_namespace.entry(namespace.as_str()).or_default().push(object);
        }
    }
    for object in &build.objects {
        if let Some(template) = PodTemplate::of(object) {
            context.pod_policies(&template);
        }
        match (object.identity.group.as_str(), object.identity.kind.as_str()) {
            ("", "Service") => context.service_selector(object),
            ("networking.k8s.io", "Ingress") => context.ingress_backend(object),
            ("autoscaling", "HorizontalPodAutoscaler") => context.hpa_target(object),
            ("policy", "PodDisruptionBudget") => context.pdb_allows_eviction(object),
            _ => {}
        }
    }
    context.namespace_network_policy();
    context.crd_sync_order();
    context.policy_exception();
    context.findings.extend(hpa_metric_served::check(build, locator));
    context.findings
}

struct Context<'b> {
    build: &'b Build,
    locator: &'b Locator<'b>,
    nodes: Vec<Node>,
    workloads: Vec<Workload<'b>>,
    /// Object identity → position in `workloads`.
    index: HashMap<&'b Identity, usize>,
    /// (namespace, label key, label value) → workloads whose pods carry that label.
    labels: HashMap<(String, String, String), Vec<usize>>,
    /// Namespace → its workloads.
    namespace_workloads: HashMap<String, Vec<usize>>,
    identities: HashSet<&'b Identity>,
    by_namespace: HashMap<&'b str, Vec<&'b Object>>,
    findings: Vec<Diagnostic>,
}

impl<'b> Context<'b> {
    fn severity(id: &str) -> Severity {
        POLICIES.iter().find(|policy| policy.id == id).map_or(Severity::Error, |policy| policy.severity)
    }

    /// The justification a workload gives for not following `id`, if any.
    fn exception(&self, namespace: &str, workload: &str, id: &str) -> Option<&'b str> {
        let workload = self.build.values.namespaces.get(namespace)?.workloads.get(workload)?;
        let reason = workload.typed.policy_exceptions.as_ref()?.get(id)?;
        (!reason.trim().is_empty()).then_some(reason.as_str())
    }

    fn report(&mut self, object: &Object, id: &str, path: impl ToString, message: String, help: &str) {
        self.report_as(Self::severity(id), object, id, path, message, help);
    }

    fn report_as(
        &mut self,
        severity: Severity,
        object: &Object,
        id: &str,
        path: impl ToString,
        message: String,
        help: &str,
    ) {
        if let Some((namespace, workload)) = object.origin.scope.workload() {
            if self.exception(namespace, workload, id).is_some() {
                return;
            }
        }
        let finding = self.locator.finding(object, id, severity, path, message);
        self.findings.push(if help.is_empty() { finding } else { finding.with_help(help) });
    }

    fn workload(&self, object: &Object) -> Option<&Workload<'b>> {
        self.index.get(&object.identity).and_then(|&index| self.workloads.get(index))
    }

    /// Workloads of `namespace` whose pod labels match `selector`; looked up
    /// through one of its labels when it has any, so large namespaces stay cheap.
    fn matching(&self, namespace: &str, selector: &Selector) -> Vec<&Workload<'b>> {
        let candidates = match selector.match_labels.iter().next() {
            Some((key, value)) => self.labels.get(&(namespace.to_string(), key.clone(), value.clone())),
            None => self.namespace_workloads.get(namespace),
        };
        candidates
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&index| self.workloads.get(index))
            .filter(|workload| selector.matches(&workload.labels))
            .collect()
    }

    fn objects_in(&self, namespace: &str) -> &[&'b Object] {
        self.by_namespace.get(namespace).map(Vec::as_slice).unwrap_or_default()
    }

    fn pod_policies(&mut self, template: &PodTemplate<'b>) {
        self.requests_limits(template);
        self.image_pinned(template);
        self.readiness_probe(template);
        self.restricted_security_context(template);
        self.gpu_placement(template);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn policy_ids_are_unique() {
        let ids: BTreeSet<&str> = POLICIES.iter().map(|policy| policy.id).collect();
        assert_eq!(ids.len(), POLICIES.len());
    }
}
