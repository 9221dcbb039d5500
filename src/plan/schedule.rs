//! The placement engine: a greedy, deterministic imitation of kube-scheduler.
//! A pod may go to a node that is up, matches its nodeSelector and required
//! node affinity, tolerates the node's NoSchedule/NoExecute taints, has the
//! free CPU, memory, `nvidia.com/gpu` and pod slots, and breaks no required
//! pod anti-affinity (either way round). Among those it picks the node with
//! the most free CPU and memory after placing (LeastAllocated), adjusted by
//! preferred node affinity and preferred anti-affinity; ties go to the first
//! node by name. Changes are journaled so scenarios can be undone cheaply.

use std::collections::HashMap;
use std::fmt;

use super::nodes::{Node, Taint};
use super::resources::{Amount, Shortfall};
use super::workloads::{Kind, NodeTerm, Toleration, Workload};

/// Why a pod cannot go to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Down,
    NodeSelector(String, String),
    NodeAffinity,
    Taint(Taint),
    Insufficient(Vec<Shortfall>),
    AntiAffinity(String),
    Pinned { claims: Vec<String>, node: String },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Down => write!(f, "node is lost"),
            Reason::NodeSelector(key, value) => write!(f, "nodeSelector `{key}={value}` does not match"),
            Reason::NodeAffinity => write!(f, "required node affinity does not match"),
            Reason::Taint(taint) => write!(f, "taint `{taint}` is not tolerated"),
            Reason::Insufficient(shortfalls) => {
                let parts: Vec<String> = shortfalls.iter().map(ToString::to_string).collect();
                write!(f, "{}", parts.join(", "))
            }
            Reason::AntiAffinity(other) => write!(f, "pod anti-affinity with {other}"),
            Reason::Pinned { claims, node } => write!(
                f,
                "volume {} is on node-local storage on `{node}`",
                claims.iter().map(|claim| format!("`{claim}`")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Per-node reasons a pod found no place.
pub type WhyNot = Vec<(String, Reason)>;

pub fn explain(why: &WhyNot) -> String {
    why.iter().map(|(node, reason)| format!("{node}: {reason}")).collect::<Vec<_>>().join("; ")
}

/// Workloads and nodes with everything that does not change while pods move.
pub struct Cluster<'a> {
    pub nodes: &'a [Node],
    pub workloads: &'a [Workload<'a>],
    /// `[workload][node]`: whether a static reason (selector, affinity,
    /// taint) rules the node out. The reason itself is worked out again when a
    /// message needs it, so workloads × nodes hold no cloned labels or taints.
    ruled_out: Vec<Vec<bool>>,
    /// Workloads whose pods must not share a topology domain with this one's, and the key.
    conflicts: Vec<Vec<(usize, String)>>,
    soft_conflicts: Vec<Vec<(usize, String)>>,
    /// Order in which steady state places workloads.
    pub order: Vec<usize>,
}

impl<'a> Cluster<'a> {
    pub fn new(nodes: &'a [Node], workloads: &'a [Workload<'a>]) -> Self {
        let ruled_out: Vec<Vec<bool>> =
            workloads.iter().map(|w| nodes.iter().map(|n| static_reason(w, n).is_some()).collect()).collect();
        let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, workload) in workloads.iter().enumerate() {
            by_namespace.entry(workload.namespace.as_str()).or_default().push(index);
        }
        let mut conflicts = vec![Vec::new(); workloads.len()];
        let mut soft_conflicts = vec![Vec::new(); workloads.len()];
        for (index, workload) in workloads.iter().enumerate() {
            for (terms, hard) in [(&workload.anti_affinity, true), (&workload.preferred_anti_affinity, false)] {
                for term in terms {
                    let namespaces: Vec<&str> = if term.namespaces.is_empty() {
                        vec![workload.namespace.as_str()]
                    } else {
                        term.namespaces.iter().map(String::as_str).collect()
                    };
                    for namespace in namespaces {
                        for &other in by_namespace.get(namespace).map(Vec::as_slice).unwrap_or_default() {
                            if term.selector.is_empty() || !term.selector.matches(&workloads[other].labels) {
                                continue;
                            }
                            if hard {
                                conflicts[index].push((other, term.topology_key.clone()));
                                if other != index {
                                    conflicts[other].push((index, term.topology_key.clone()));
                                }
                            } else {
                                soft_conflicts[index].push((other, term.topology_key.clone()));
                            }
                        }
                    }
                }
            }
        }
        let total = nodes.iter().fold(Amount::default(), |mut sum, node| {
            sum.add(&node.allocatable);
            sum
        });
        let size = |w: &Workload| {
            let part = |used: u128, total: u128| (used * 1_000_000).checked_div(total).unwrap_or(0);
            part(w.request.cpu, total.cpu) + part(w.request.memory, total.memory)
        };
        let mut order: Vec<usize> = (0..workloads.len()).collect();
        order.sort_by_key(|&index| {
            let workload = &workloads[index];
            let eligible = ruled_out[index].iter().filter(|out| !**out).count();
            (
                workload.kind != Kind::DaemonSet,
                std::cmp::Reverse(workload.request.gpu),
                eligible,
                std::cmp::Reverse(size(workload)),
                index,
            )
        });
        Cluster { nodes, workloads, ruled_out, conflicts, soft_conflicts, order }
    }

    /// Nodes a workload's pods could ever use (selector, affinity, taints).
    pub fn eligible(&self, workload: usize) -> impl Iterator<Item = usize> + '_ {
        self.ruled_out[workload].iter().enumerate().filter(|(_, out)| !**out).map(|(node, _)| node)
    }

    /// Why `workload` cannot go to `node` in `state`, or `None` when it can.
    pub fn reason(&self, state: &State, workload: usize, node: usize) -> Option<Reason> {
        if state.down[node] {
            return Some(Reason::Down);
        }
        if self.ruled_out[workload][node] {
            return static_reason(&self.workloads[workload], &self.nodes[node]);
        }
        let mut free = self.nodes[node].allocatable;
        free.sub(&state.used[node]);
        let shortfalls = free.shortfalls(&self.workloads[workload].request);
        if !shortfalls.is_empty() {
            return Some(Reason::Insufficient(shortfalls));
        }
        self.conflicts[workload]
            .iter()
            .find(|(other, key)| self.domain(node, key).any(|peer| state.count(peer, *other) > 0))
            .map(|(other, _)| Reason::AntiAffinity(self.workloads[*other].describe()))
    }

    /// Nodes in the same topology domain as `node` for `key` (none when the node lacks the label).
    fn domain<'s>(&'s self, node: usize, key: &'s str) -> impl Iterator<Item = usize> + 's {
        let value = self.nodes[node].labels.get(key);
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, peer)| value.is_some() && peer.labels.get(key) == value)
            .map(|(index, _)| index)
    }

    fn score(&self, state: &State, workload: usize, node: usize) -> i128 {
        let request = &self.workloads[workload].request;
        let allocatable = &self.nodes[node].allocatable;
        let used = &state.used[node];
        let mut sum = 0i128;
        let mut count = 0i128;
        for (total, taken, wanted) in
            [(allocatable.cpu, used.cpu, request.cpu), (allocatable.memory, used.memory, request.memory)]
        {
            if total > 0 {
                let free = total.saturating_sub(taken + wanted);
                sum += i128::try_from(free * 100 / total).unwrap_or(0);
                count += 1;
            }
        }
        let least_allocated = if count > 0 { sum / count } else { 0 };
        let node_info = &self.nodes[node];
        let preferred: i128 = self.workloads[workload]
            .preferred_terms
            .iter()
            .filter(|(_, term)| term_matches(term, node_info))
            .map(|(weight, _)| i128::from(*weight))
            .sum();
        let crowded = self.soft_conflicts[workload]
            .iter()
            .filter(|(other, key)| self.domain(node, key).any(|peer| state.count(peer, *other) > 0))
            .count();
        least_allocated + preferred - 100 * i128::try_from(crowded).unwrap_or(0)
    }

    /// Places one pod of `workload`, on `pin` only when given; returns the node or why not.
    pub fn place(&self, state: &mut State, workload: usize, pin: Option<usize>) -> Result<usize, WhyNot> {
        let mut why = Vec::new();
        let mut best: Option<(i128, usize)> = None;
        for node in 0..self.nodes.len() {
            if let Some(pinned) = pin {
                if pinned != node {
                    let claims = self.workloads[workload].local_claims.clone();
                    why.push((
                        self.nodes[node].name.clone(),
                        Reason::Pinned { claims, node: self.nodes[pinned].name.clone() },
                    ));
                    continue;
                }
            }
            match self.reason(state, workload, node) {
                Some(reason) => why.push((self.nodes[node].name.clone(), reason)),
                None => {
                    let score = self.score(state, workload, node);
                    if best.is_none_or(|(top, _)| score > top) {
                        best = Some((score, node));
                    }
                }
            }
        }
        match best {
            Some((_, node)) => {
                state.add(self, workload, node);
                Ok(node)
            }
            None => Err(why),
        }
    }
}

fn static_reason(workload: &Workload, node: &Node) -> Option<Reason> {
    selection_reason(workload, node).or_else(|| untolerated(workload, node).map(|taint| Reason::Taint(taint.clone())))
}

/// Whether the pod's nodeSelector and required node affinity rule the node out.
pub fn selection_reason(workload: &Workload, node: &Node) -> Option<Reason> {
    for (key, value) in &workload.node_selector {
        if node.labels.get(key) != Some(value) {
            return Some(Reason::NodeSelector(key.clone(), value.clone()));
        }
    }
    if !workload.required_terms.is_empty() && !workload.required_terms.iter().any(|term| term_matches(term, node)) {
        return Some(Reason::NodeAffinity);
    }
    None
}

/// The first taint of the node that keeps the pod off it.
pub fn untolerated<'n>(workload: &Workload, node: &'n Node) -> Option<&'n Taint> {
    node.taints.iter().find(|taint| taint.repels() && !workload.tolerations.iter().any(|t| tolerates(t, taint)))
}

fn term_matches(term: &NodeTerm, node: &Node) -> bool {
    let name = node.name.clone();
    (!term.labels.is_empty() || !term.names.is_empty())
        && term.labels.iter().all(|expression| expression.matches(node.labels.get(&expression.key)))
        && term.names.iter().all(|expression| expression.matches(Some(&name)))
}

pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.is_empty() || toleration.effect == taint.effect;
    let key = match toleration.operator.as_str() {
        "Exists" => toleration.key.is_empty() || toleration.key == taint.key,
        _ => toleration.key == taint.key && toleration.value == taint.value,
    };
    effect && key
}

/// Where pods are: resources used per node, pods per (node, workload), and
/// the node of each pod per workload. Every change is journaled.
#[derive(Debug, Clone)]
pub struct State {
    pub used: Vec<Amount>,
    present: Vec<HashMap<usize, u32>>,
    pub down: Vec<bool>,
    pub pods: Vec<Vec<usize>>,
    journal: Vec<Change>,
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Added(usize, usize),
    Removed(usize, usize),
    Down(usize),
}

impl State {
    pub fn new(nodes: usize, workloads: usize) -> Self {
        State {
            used: vec![Amount::default(); nodes],
            present: vec![HashMap::new(); nodes],
            down: vec![false; nodes],
            pods: vec![Vec::new(); workloads],
            journal: Vec::new(),
        }
    }

    pub fn count(&self, node: usize, workload: usize) -> u32 {
        self.present[node].get(&workload).copied().unwrap_or(0)
    }

    fn add(&mut self, cluster: &Cluster, workload: usize, node: usize) {
        self.used[node].add(&cluster.workloads[workload].request);
        *self.present[node].entry(workload).or_default() += 1;
        self.pods[workload].push(node);
        self.journal.push(Change::Added(workload, node));
    }

    /// Removes one pod of `workload` from `node` (the most recently placed there).
    pub fn remove(&mut self, cluster: &Cluster, workload: usize, node: usize) {
        let Some(position) = self.pods[workload].iter().rposition(|&n| n == node) else { return };
        self.pods[workload].remove(position);
        self.used[node].sub(&cluster.workloads[workload].request);
        if let Some(count) = self.present[node].get_mut(&workload) {
            *count -= 1;
            if *count == 0 {
                self.present[node].remove(&workload);
            }
        }
        self.journal.push(Change::Removed(workload, node));
    }

    pub fn set_down(&mut self, node: usize) {
        self.down[node] = true;
        self.journal.push(Change::Down(node));
    }

    /// Workloads with pods on `node`, and how many.
    pub fn on_node(&self, node: usize) -> Vec<(usize, u32)> {
        let mut pods: Vec<(usize, u32)> = self.present[node].iter().map(|(w, c)| (*w, *c)).collect();
        pods.sort_unstable();
        pods
    }

    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    /// Reverts every change made since `mark`.
    pub fn undo(&mut self, cluster: &Cluster, mark: usize) {
        while self.journal.len() > mark {
            match self.journal.pop() {
                Some(Change::Added(workload, node)) => {
                    self.remove(cluster, workload, node);
                    self.journal.pop();
                }
                Some(Change::Removed(workload, node)) => {
                    self.add(cluster, workload, node);
                    self.journal.pop();
                }
                Some(Change::Down(node)) => self.down[node] = false,
                None => break,
            }
        }
    }
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
}
