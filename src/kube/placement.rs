//! Which nodes a pod may be placed on by its own constraints, as
//! kube-scheduler's filters decide it: the nodeSelector must match every
//! label, one required node-affinity term must hold (an empty term matches
//! nothing), and every `NoSchedule`/`NoExecute` taint must be tolerated — a
//! toleration with `operator: Exists` matches any value (and, without a key,
//! any taint), an empty effect matches every effect
//! (<https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/>,
//! <https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/>).
//! `plan` schedules with these rules and `validate` checks GPU placement and
//! DaemonSet pod counts with them.

use std::fmt;

use super::nodes::{Node, Taint};
use super::workloads::{NodeTerm, Toleration, Workload};

/// Why a pod's nodeSelector or required node affinity rules a node out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unselected {
    /// The node lacks label `key=value` of the nodeSelector.
    NodeSelector(String, String),
    NodeAffinity,
}

impl fmt::Display for Unselected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unselected::NodeSelector(key, value) => write!(f, "nodeSelector `{key}={value}` does not match"),
            Unselected::NodeAffinity => write!(f, "required node affinity does not match"),
        }
    }
}

/// Whether the pod's nodeSelector and required node affinity rule the node out.
pub fn selection_reason(workload: &Workload, node: &Node) -> Option<Unselected> {
    for (key, value) in &workload.node_selector {
        if node.labels.get(key) != Some(value) {
            return Some(Unselected::NodeSelector(key.clone(), value.clone()));
        }
    }
    if !workload.required_terms.is_empty() && !workload.required_terms.iter().any(|term| term_matches(term, node)) {
        return Some(Unselected::NodeAffinity);
    }
    None
}

/// The first taint of the node that keeps the pod off it.
pub fn untolerated<'n>(workload: &Workload, node: &'n Node) -> Option<&'n Taint> {
    node.taints.iter().find(|taint| taint.repels() && !workload.tolerations.iter().any(|t| tolerates(t, taint)))
}

/// Whether a node-affinity term (required or preferred) holds for the node.
pub fn term_matches(term: &NodeTerm, node: &Node) -> bool {
    (!term.labels.is_empty() || !term.names.is_empty())
        && term.labels.iter().all(|expression| expression.matches(node.labels.get(&expression.key)))
        && term.names.iter().all(|expression| expression.matches(Some(&node.name)))
}

pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.is_empty() || toleration.effect == taint.effect;
    let key = match toleration.operator.as_str() {
        "Exists" => toleration.key.is_empty() || toleration.key == taint.key,
        _ => toleration.key == taint.key && toleration.value == taint.value,
    };
    effect && key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerations_follow_kubernetes_matching() {
        let taint = Taint { key: "gpu".into(), value: "true".into(), effect: "NoSchedule".into() };
        let toleration = |key: &str, operator: &str, value: &str, effect: &str| Toleration {
            key: key.into(),
            operator: operator.into(),
            value: value.into(),
            effect: effect.into(),
        };
        assert!(tolerates(&toleration("gpu", "Equal", "true", "NoSchedule"), &taint));
        assert!(tolerates(&toleration("gpu", "Exists", "", ""), &taint));
        assert!(tolerates(&toleration("", "Exists", "", ""), &taint));
        assert!(!tolerates(&toleration("gpu", "Equal", "false", ""), &taint));
        assert!(!tolerates(&toleration("gpu", "Exists", "", "NoExecute"), &taint));
    }

    #[test]
    fn an_empty_affinity_term_matches_no_node() {
        let node = Node {
            name: "n1".into(),
            labels: [("gpu".to_string(), "true".to_string())].into(),
            taints: Vec::new(),
            allocatable: Default::default(),
            platform: Default::default(),
            gpus: 0,
            gpu_memory_mib: Vec::new(),
            gpu_slices: 1,
            gpu_model: None,
            default_runtime: None,
        };
        assert!(!term_matches(&NodeTerm::default(), &node));
        let by_name = NodeTerm {
            labels: Vec::new(),
            names: vec![crate::kube::Expression {
                key: "metadata.name".into(),
                operator: "In".into(),
                values: vec!["n1".into()],
            }],
        };
        assert!(term_matches(&by_name, &node));
    }
}
