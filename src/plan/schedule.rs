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

use crate::kube::nodes::{Node, Taint};
use crate::kube::placement::{selection_reason, term_matches, untolerated, Unselected};
use crate::kube::resources::{Amount, Shortfall};
use crate::kube::workloads::{Kind, Workload};

/// Why a pod cannot go to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Down,
    Unselected(Unselected),
    Taint(Taint),
    Insufficient(Vec<Shortfall>),
    AntiAffinity(String),
    Pinned { claims: Vec<String>, node: String },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Down => write!(f, "node is lost"),
            Reason::Unselected(unselected) => write!(f, "{unselected}"),
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
                            let Some(peer) = workloads.get(other) else { continue };
                            if term.selector.is_empty() || !term.selector.matches(&peer.labels) {
                                continue;
                            }
                            if hard {
                                if let Some(list) = conflicts.get_mut(index) {
                                    list.push((other, term.topology_key.clone()));
                                }
                                if other != index {
                                    if let Some(list) = conflicts.get_mut(other) {
                                        list.push((index, term.topology_key.clone()));
                                    }
                                }
                            } else if let Some(list) = soft_conflicts.get_mut(index) {
                                list.push((other, term.topology_key.clone()));
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
        // The index ends each key, so keys are distinct and an unstable sort is a stable one.
        let mut keys: Vec<_> = workloads
            .iter()
            .zip(&ruled_out)
            .enumerate()
            .map(|(index, (workload, out))| {
                let eligible = out.iter().filter(|out| !**out).count();
                (
                    workload.kind != Kind::DaemonSet,
                    std::cmp::Reverse(workload.request.gpu),
                    eligible,
                    std::cmp::Reverse(size(workload)),
                    index,
                )
            })
            .collect();
        keys.sort_unstable();
        let order: Vec<usize> = keys.into_iter().map(|(.., index)| index).collect();
        Cluster { nodes, workloads, ruled_out, conflicts, soft_conflicts, order }
    }

    /// Nodes a workload's pods could ever use (selector, affinity, taints).
    pub fn eligible(&self, workload: usize) -> impl Iterator<Item = usize> + '_ {
        row(&self.ruled_out, workload).iter().enumerate().filter(|(_, out)| !**out).map(|(node, _)| node)
    }

    /// Why `workload` cannot go to `node` in `state`, or `None` when it can.
    /// A node or workload index outside the cluster names nothing a pod
    /// could use, so it reads as a lost node.
    pub fn reason(&self, state: &State, workload: usize, node: usize) -> Option<Reason> {
        let (Some(pod), Some(info)) = (self.workloads.get(workload), self.nodes.get(node)) else {
            return Some(Reason::Down);
        };
        if state.down.get(node).copied().unwrap_or(true) {
            return Some(Reason::Down);
        }
        if row(&self.ruled_out, workload).get(node).copied().unwrap_or(false) {
            return static_reason(pod, info);
        }
        let mut free = info.allocatable;
        if let Some(used) = state.used.get(node) {
            free.sub(used);
        }
        let shortfalls = free.shortfalls(&pod.request);
        if !shortfalls.is_empty() {
            return Some(Reason::Insufficient(shortfalls));
        }
        row(&self.conflicts, workload).iter().find_map(|(other, key)| {
            let peer = self.workloads.get(*other)?;
            self.domain(node, key)
                .any(|domain_node| state.count(domain_node, *other) > 0)
                .then(|| Reason::AntiAffinity(peer.describe()))
        })
    }

    /// Nodes in the same topology domain as `node` for `key` (none when the node lacks the label).
    fn domain<'s>(&'s self, node: usize, key: &'s str) -> impl Iterator<Item = usize> + 's {
        let value = self.nodes.get(node).and_then(|info| info.labels.get(key));
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, peer)| value.is_some() && peer.labels.get(key) == value)
            .map(|(index, _)| index)
    }

    fn score(&self, state: &State, workload: usize, node: usize) -> i128 {
        // Only scored after `reason` found both indices in the cluster.
        let (Some(pod), Some(node_info)) = (self.workloads.get(workload), self.nodes.get(node)) else { return 0 };
        let request = &pod.request;
        let allocatable = &node_info.allocatable;
        let used = state.used.get(node).copied().unwrap_or_default();
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
        let preferred: i128 = pod
            .preferred_terms
            .iter()
            .filter(|(_, term)| term_matches(term, node_info))
            .map(|(weight, _)| i128::from(*weight))
            .sum();
        let crowded = row(&self.soft_conflicts, workload)
            .iter()
            .filter(|(other, key)| self.domain(node, key).any(|peer| state.count(peer, *other) > 0))
            .count();
        least_allocated + preferred - 100 * i128::try_from(crowded).unwrap_or(0)
    }

    /// Places one pod of `workload`, on `pin` only when given; returns the node or why not.
    pub fn place(&self, state: &mut State, workload: usize, pin: Option<usize>) -> Result<usize, WhyNot> {
        let mut why = Vec::new();
        let mut best: Option<(i128, usize)> = None;
        for (node, info) in self.nodes.iter().enumerate() {
            if let Some(pinned) = pin {
                if pinned != node {
                    let claims = self.workloads.get(workload).map(|pod| pod.local_claims.clone()).unwrap_or_default();
                    let pinned_name = self.nodes.get(pinned).map(|pinned| pinned.name.clone()).unwrap_or_default();
                    why.push((info.name.clone(), Reason::Pinned { claims, node: pinned_name }));
                    continue;
                }
            }
            match self.reason(state, workload, node) {
                Some(reason) => why.push((info.name.clone(), reason)),
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

/// Row `index` of a per-workload table; empty for an index outside it.
fn row<T>(rows: &[Vec<T>], index: usize) -> &[T] {
    rows.get(index).map(Vec::as_slice).unwrap_or_default()
}

fn static_reason(workload: &Workload, node: &Node) -> Option<Reason> {
    selection_reason(workload, node)
        .map(Reason::Unselected)
        .or_else(|| untolerated(workload, node).map(|taint| Reason::Taint(taint.clone())))
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
        self.present.get(node).and_then(|present| present.get(&workload)).copied().unwrap_or(0)
    }

    /// The node of each pod of `workload`, in placement order.
    pub fn pods_of(&self, workload: usize) -> &[usize] {
        row(&self.pods, workload)
    }

    /// Indices outside the cluster change nothing (and journal nothing).
    fn add(&mut self, cluster: &Cluster, workload: usize, node: usize) {
        let (Some(used), Some(present), Some(pods), Some(pod)) = (
            self.used.get_mut(node),
            self.present.get_mut(node),
            self.pods.get_mut(workload),
            cluster.workloads.get(workload),
        ) else {
            return;
        };
        used.add(&pod.request);
        *present.entry(workload).or_default() += 1;
        pods.push(node);
        self.journal.push(Change::Added(workload, node));
    }

    /// Removes one pod of `workload` from `node` (the most recently placed there).
    pub fn remove(&mut self, cluster: &Cluster, workload: usize, node: usize) {
        let (Some(used), Some(present), Some(pods), Some(pod)) = (
            self.used.get_mut(node),
            self.present.get_mut(node),
            self.pods.get_mut(workload),
            cluster.workloads.get(workload),
        ) else {
            return;
        };
        let Some(position) = pods.iter().rposition(|&n| n == node) else { return };
        pods.remove(position);
        used.sub(&pod.request);
        if let Some(count) = present.get_mut(&workload) {
            *count -= 1;
            if *count == 0 {
                present.remove(&workload);
            }
        }
        self.journal.push(Change::Removed(workload, node));
    }

    pub fn set_down(&mut self, node: usize) {
        if let Some(down) = self.down.get_mut(node) {
            *down = true;
            self.journal.push(Change::Down(node));
        }
    }

    /// Workloads with pods on `node`, and how many.
    pub fn on_node(&self, node: usize) -> Vec<(usize, u32)> {
        let mut pods: Vec<(usize, u32)> = self.present.get(node).into_iter().flatten().map(|(w, c)| (*w, *c)).collect();
        pods.sort_unstable();
        pods
    }

    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    /// Reverts every change made since `mark`.
    pub fn undo(&mut self, cluster: &Cluster, mark: usize) {
        while self.journal.len() > mark {
            let length = self.journal.len() - 1;
            match self.journal.pop() {
                // Reverting journals the reverse change; drop that entry again.
                Some(Change::Added(workload, node)) => {
                    self.remove(cluster, workload, node);
                    self.journal.truncate(length);
                }
                Some(Change::Removed(workload, node)) => {
                    self.add(cluster, workload, node);
                    self.journal.truncate(length);
                }
                Some(Change::Down(node)) => {
                    if let Some(down) = self.down.get_mut(node) {
                        *down = false;
                    }
                }
                None => break,
            }
        }
    }
}
