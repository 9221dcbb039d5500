//! `pdb-allows-eviction`: no PodDisruptionBudget that can never allow an
//! eviction. With `minAvailable` at or above the pods it selects, or
//! `maxUnavailable` of 0, the eviction API refuses every voluntary disruption
//! (<https://kubernetes.io/docs/tasks/run-application/configure-pdb/>) and
//! `kubectl drain` never finishes. Selected pods are counted as the planner
//! counts them: replicas, or one per fitting node for a DaemonSet; Jobs are
//! not counted.

use serde_yaml::Value;

use super::{Context, PDB_EVICTION};
use crate::kube::nodes::Node;
use crate::kube::placement::{selection_reason, untolerated};
use crate::kube::workloads::{int_or_percent, Kind};
use crate::kube::{self, Selector};
use crate::output::object::Object;

impl<'b> Context<'b> {
    pub(super) fn pdb_allows_eviction(&mut self, object: &'b Object) {
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        let selector = Selector::parse(kube::get(&object.value, &["spec", "selector"]));
        let mut total = 0u32;
        let mut selected = Vec::new();
        for workload in self.matching(&namespace, &selector) {
            if workload.kind == Kind::Job {
                continue;
            }
            let pods = match workload.kind {
                Kind::DaemonSet => {
                    let fits = |node: &&Node| {
                        selection_reason(workload, node).is_none() && untolerated(workload, node).is_none()
                    };
                    u32::try_from(self.nodes.iter().filter(fits).count()).unwrap_or(u32::MAX)
                }
                _ => workload.replicas,
            };
            total += pods;
            selected.push(format!("{} with {pods}", workload.describe()));
        }
        if selected.is_empty() {
            return;
        }
        let spec = object.value.get("spec");
        let field = |name: &str| spec.and_then(|spec| spec.get(name));
        let shown = |value: &Value| kube::scalar(value).unwrap_or_default();
        let problem = if let Some(min) = field("minAvailable") {
            int_or_percent(Some(min), total, true)
                .filter(|needed| *needed >= total)
                .map(|_| ("spec.minAvailable", format!("minAvailable {} keeps all {total} selected pods", shown(min))))
        } else if let Some(max) = field("maxUnavailable") {
            int_or_percent(Some(max), total, true)
                .filter(|allowed| *allowed == 0)
                .map(|_| ("spec.maxUnavailable", format!("maxUnavailable {} allows no pod to be evicted", shown(max))))
        } else {
            None
        };
        if let Some((path, reason)) = problem {
            self.report(
                object,
                PDB_EVICTION,
                path,
                format!("PodDisruptionBudget can never allow an eviction: {reason} ({})", selected.join(", ")),
                "use `maxUnavailable: 1`, or drop the PDB of a single-replica workload; as it is, draining the node never finishes",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PDB_EVICTION;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    fn pdb(budget: &str) -> String {
        format!(
            "{}---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: web}}\nspec: {{selector: {{matchLabels: {{app: web}}}}, {budget}}}\n",
            deployment("", GOOD_CONTAINER)
        )
    }

    #[test]
    fn a_budget_keeping_every_selected_pod_is_reported() {
        assert_eq!(
            Cluster::new(WEB, &pdb("minAvailable: 1")).findings(PDB_EVICTION),
            ["spec.minAvailable: PodDisruptionBudget can never allow an eviction: minAvailable 1 keeps all 1 selected pods (Deployment.apps apps/web with 1)"]
        );
        assert_eq!(
            Cluster::new(WEB, &pdb("maxUnavailable: 0%")).findings(PDB_EVICTION),
            ["spec.maxUnavailable: PodDisruptionBudget can never allow an eviction: maxUnavailable 0% allows no pod to be evicted (Deployment.apps apps/web with 1)"]
        );
    }

    #[test]
    fn a_budget_allowing_one_eviction_passes() {
        assert!(Cluster::new(WEB, &pdb("maxUnavailable: 1")).findings(PDB_EVICTION).is_empty());
    }
}
