//! The placement engine: a greedy, deterministic imitation of kube-scheduler.
//! A pod may go to a node that is up, matches its nodeSelector and required
//! node affinity, tolerates the node's NoSchedule/NoExecute taints, has the
//! free CPU, memory, `nvidia.com/gpu` and pod slots, and breaks no required
//! pod anti-affinity (either way round). Among those it picks the node with
//! the most free CPU and memory after placing (LeastAllocated), adjusted by
//! preferred node affinity and preferred anti-affinity; ties go to the first
//! node by name. Changes are journaled so scenarios can be undone cheaply.
//!
//! Cost: what does not change while pods move is worked out once, in
//! [`Cluster::new`]. The nodes a workload's own rules allow (nodeSelector,
//! required node affinity, tolerations) are listed once per distinct set of
//! rules, which workloads share. Every label key an anti-affinity term names
//! as its `topologyKey` is interned, and each node's value of it becomes a
//! domain number: pods are "co-located" when they run on nodes whose values
//! of that label match (Kubernetes API reference, `PodAffinityTerm.topologyKey`),
//! and a node without the label is in no domain. [`State`] counts the pods of
//! each workload some term watches per domain, on place, remove and undo, so
//! an anti-affinity check is one lookup, and placing a pod is one pass over
//! the nodes its rules allow. The reasons a pod fits nowhere are only worked
//! out when it fits nowhere.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::kube::nodes::{Node, Taint};
use crate::kube::placement::{selection_reason, term_matches, untolerated, Unselected};
use crate::kube::resources::{Amount, Shortfall};
use crate::kube::workloads::{Kind, NodeTerm, Toleration, Workload};

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
    /// Per workload: its set of static rules, an index into `allowed` and `ruled_out`.
    rules: Vec<usize>,
    /// Per set of rules: the nodes it allows, in node order.
    allowed: Vec<Vec<usize>>,
    /// Per set of rules and node: whether a static reason (selector,
    /// affinity, taint) rules the node out. The reason itself is worked out
    /// again when a message needs it, so no labels or taints are cloned.
    ruled_out: Vec<Vec<bool>>,
    topology: Topology,
    /// Pods of other workloads this one's must not share a topology domain with.
    conflicts: Vec<Vec<Conflict>>,
    /// The same for preferred anti-affinity.
    soft_conflicts: Vec<Vec<Conflict>>,
    /// Order in which steady state places workloads.
    pub order: Vec<usize>,
    /// Each workload's position in `order`.
    rank: Vec<usize>,
    /// The workloads that declare GPU memory, in workload order: the only
    /// ones the GPU ledger counts (`super::gpu`).
    pub gpu_workloads: Vec<usize>,
}

/// An anti-affinity term between a workload and the pods of `other`, whose
/// pods per domain of topology key `key` are State's counter `counter`.
#[derive(Debug, Clone, Copy)]
struct Conflict {
    other: usize,
    key: usize,
    counter: usize,
}

/// The topology keys anti-affinity terms name, each node's domain for each,
/// and the per-domain pod counters a [`State`] keeps.
#[derive(Debug, Default)]
struct Topology {
    keys: HashMap<String, usize>,
    /// `[key][node]`: the node's domain for the key (`None`: no such label).
    domains: Vec<Vec<Option<usize>>>,
    /// Per key: how many domains it has.
    sizes: Vec<usize>,
    /// `(workload, key)` → counter of that workload's pods per domain of the key.
    counters: HashMap<(usize, usize), usize>,
    /// Per counter: its key.
    counter_keys: Vec<usize>,
    /// Per workload: the counters its pods add to, and their keys.
    feeds: Vec<Vec<(usize, usize)>>,
}

impl Topology {
    fn new(workloads: usize) -> Self {
        Topology { feeds: vec![Vec::new(); workloads], ..Topology::default() }
    }

    /// The key's number; the first time, each node's value of the label becomes a domain number.
    fn key(&mut self, nodes: &[Node], key: &str) -> usize {
        if let Some(&known) = self.keys.get(key) {
            return known;
        }
        let mut values: HashMap<&str, usize> = HashMap::new();
        let domains = nodes
            .iter()
            .map(|node| {
                let value = node.labels.get(key)?;
                let next = values.len();
                Some(*values.entry(value.as_str()).or_insert(next))
            })
            .collect();
        let number = self.domains.len();
        self.domains.push(domains);
        self.sizes.push(values.len());
        self.keys.insert(key.to_string(), number);
        number
    }

    /// The counter of `workload`'s pods per domain of `key`.
    fn counter(&mut self, workload: usize, key: usize) -> usize {
        if let Some(&known) = self.counters.get(&(workload, key)) {
            return known;
        }
        let number = self.counter_keys.len();
        self.counter_keys.push(key);
        self.counters.insert((workload, key), number);
        if let Some(feeds) = self.feeds.get_mut(workload) {
            feeds.push((number, key));
        }
        number
    }

    fn domain(&self, key: usize, node: usize) -> Option<usize> {
        self.domains.get(key).and_then(|domains| domains.get(node)).copied().flatten()
    }
}

/// The rules that decide, once for all, which nodes a workload may use.
type StaticRules<'w> = (&'w BTreeMap<String, String>, &'w [NodeTerm], &'w [Toleration]);

impl<'a> Cluster<'a> {
    pub fn new(nodes: &'a [Node], workloads: &'a [Workload<'a>]) -> Self {
        let mut rule_sets: HashMap<StaticRules, usize> = HashMap::new();
        let mut ruled_out: Vec<Vec<bool>> = Vec::new();
        let rules: Vec<usize> = workloads
            .iter()
            .map(|workload| {
                let key =
                    (&workload.node_selector, workload.required_terms.as_slice(), workload.tolerations.as_slice());
                *rule_sets.entry(key).or_insert_with(|| {
                    ruled_out.push(nodes.iter().map(|node| static_reason(workload, node).is_some()).collect());
                    ruled_out.len() - 1
                })
            })
            .collect();
        let allowed: Vec<Vec<usize>> = ruled_out
            .iter()
            .map(|out| out.iter().enumerate().filter(|(_, out)| !**out).map(|(node, _)| node).collect())
            .collect();
        let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, workload) in workloads.iter().enumerate() {
            by_namespace.entry(workload.namespace.as_str()).or_default().push(index);
        }
        let mut topology = Topology::new(workloads.len());
        let mut conflicts = vec![Vec::new(); workloads.len()];
        let mut soft_conflicts = vec![Vec::new(); workloads.len()];
        for (index, workload) in workloads.iter().enumerate() {
            for (terms, hard) in [(&workload.anti_affinity, true), (&workload.preferred_anti_affinity, false)] {
                for term in terms {
                    let key = topology.key(nodes, &term.topology_key);
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
                            let conflict = Conflict { other, key, counter: topology.counter(other, key) };
                            if hard {
                                if let Some(list) = conflicts.get_mut(index) {
                                    list.push(conflict);
                                }
                                if other != index {
                                    let back = Conflict { other: index, key, counter: topology.counter(index, key) };
                                    if let Some(list) = conflicts.get_mut(other) {
                                        list.push(back);
                                    }
                                }
                            } else if let Some(list) = soft_conflicts.get_mut(index) {
                                list.push(conflict);
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
            .zip(&rules)
            .enumerate()
            .map(|(index, (workload, rules))| {
                let eligible = allowed.get(*rules).map_or(0, Vec::len);
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
        let mut rank = vec![usize::MAX; workloads.len()];
        for (position, &index) in order.iter().enumerate() {
            if let Some(slot) = rank.get_mut(index) {
                *slot = position;
            }
        }
        let gpu_workloads =
            workloads.iter().enumerate().filter(|(_, w)| w.gpu_memory_mib > 0).map(|(index, _)| index).collect();
        Cluster {
            nodes,
            workloads,
            rules,
            allowed,
            ruled_out,
            topology,
            conflicts,
            soft_conflicts,
            order,
            rank,
            gpu_workloads,
        }
    }

    /// Nodes a workload's pods could ever use (selector, affinity, taints).
    pub fn eligible(&self, workload: usize) -> impl Iterator<Item = usize> + '_ {
        self.allowed_nodes(workload).iter().copied()
    }

    fn allowed_nodes(&self, workload: usize) -> &[usize] {
        self.rules.get(workload).and_then(|rules| self.allowed.get(*rules)).map(Vec::as_slice).unwrap_or_default()
    }

    /// Where steady state places `workload` among the others (`usize::MAX` for none).
    pub fn rank(&self, workload: usize) -> usize {
        self.rank.get(workload).copied().unwrap_or(usize::MAX)
    }

    /// Whether a static reason rules `node` out for `workload`.
    fn is_ruled_out(&self, workload: usize, node: usize) -> bool {
        self.rules
            .get(workload)
            .and_then(|rules| self.ruled_out.get(*rules))
            .and_then(|row| row.get(node))
            .copied()
            .unwrap_or(false)
    }

    /// Whether pods the conflict names run in `node`'s domain of its key.
    fn crowds(&self, state: &State, conflict: &Conflict, node: usize) -> bool {
        self.topology.domain(conflict.key, node).is_some_and(|domain| state.in_domain(conflict.counter, domain) > 0)
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
        if self.is_ruled_out(workload, node) {
            return static_reason(pod, info);
        }
        let mut free = info.allocatable;
        if let Some(used) = state.used.get(node) {
            free.sub(used);
        }
        if !free.holds(&pod.request) {
            return Some(Reason::Insufficient(free.shortfalls(&pod.request)));
        }
        row(&self.conflicts, workload).iter().find_map(|conflict| {
            let peer = self.workloads.get(conflict.other)?;
            self.crowds(state, conflict, node).then(|| Reason::AntiAffinity(peer.describe()))
        })
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
        let crowded =
            row(&self.soft_conflicts, workload).iter().filter(|conflict| self.crowds(state, conflict, node)).count();
        least_allocated + preferred - 100 * i128::try_from(crowded).unwrap_or(0)
    }

    /// Places one pod of `workload`, on `pin` only when given; returns the node or why not.
    pub fn place(&self, state: &mut State, workload: usize, pin: Option<usize>) -> Result<usize, WhyNot> {
        let candidates = match &pin {
            Some(pinned) => std::slice::from_ref(pinned),
            None => self.allowed_nodes(workload),
        };
        let mut best: Option<(i128, usize)> = None;
        for &node in candidates {
            if self.reason(state, workload, node).is_none() {
                let score = self.score(state, workload, node);
                if best.is_none_or(|(top, _)| score > top) {
                    best = Some((score, node));
                }
            }
        }
        match best {
            Some((_, node)) => {
                state.add(self, workload, node);
                Ok(node)
            }
            None => Err(self.why_not(state, workload, pin)),
        }
    }

    /// Every node's reason for refusing a pod of `workload` that fits nowhere.
    fn why_not(&self, state: &State, workload: usize, pin: Option<usize>) -> WhyNot {
        let mut why = Vec::new();
        for (node, info) in self.nodes.iter().enumerate() {
            if let Some(pinned) = pin {
                if pinned != node {
                    let claims = self.workloads.get(workload).map(|pod| pod.local_claims.clone()).unwrap_or_default();
                    let pinned_name = self.nodes.get(pinned).map(|pinned| pinned.name.clone()).unwrap_or_default();
                    why.push((info.name.clone(), Reason::Pinned { claims, node: pinned_name }));
                    continue;
                }
            }
            if let Some(reason) = self.reason(state, workload, node) {
                why.push((info.name.clone(), reason));
            }
        }
        why
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

/// Where pods are: resources used per node, pods per (node, workload), pods
/// per topology domain of the workloads anti-affinity watches, and the node
/// of each pod per workload. Every change is journaled.
#[derive(Debug, Clone)]
pub struct State {
    pub used: Vec<Amount>,
    present: Vec<HashMap<usize, u32>>,
    /// `[counter][domain]`: pods of the counter's workload in each domain of its key.
    in_domain: Vec<Vec<u32>>,
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
    /// No pods anywhere, every node up.
    pub fn new(cluster: &Cluster) -> Self {
        let (nodes, workloads) = (cluster.nodes.len(), cluster.workloads.len());
        let topology = &cluster.topology;
        State {
            used: vec![Amount::default(); nodes],
            present: vec![HashMap::new(); nodes],
            in_domain: topology
                .counter_keys
                .iter()
                .map(|key| vec![0; topology.sizes.get(*key).copied().unwrap_or(0)])
                .collect(),
            down: vec![false; nodes],
            pods: vec![Vec::new(); workloads],
            journal: Vec::new(),
        }
    }

    pub fn count(&self, node: usize, workload: usize) -> u32 {
        self.present.get(node).and_then(|present| present.get(&workload)).copied().unwrap_or(0)
    }

    /// Pods counted by `counter` in `domain`.
    fn in_domain(&self, counter: usize, domain: usize) -> u32 {
        self.in_domain.get(counter).and_then(|domains| domains.get(domain)).copied().unwrap_or(0)
    }

    /// The node of each pod of `workload`, in placement order.
    pub fn pods_of(&self, workload: usize) -> &[usize] {
        row(&self.pods, workload)
    }

    /// Counts one pod of `workload` more (or less) in `node`'s domain of every key watching it.
    fn count_domains(&mut self, cluster: &Cluster, workload: usize, node: usize, added: bool) {
        for &(counter, key) in row(&cluster.topology.feeds, workload) {
            let Some(domain) = cluster.topology.domain(key, node) else { continue };
            if let Some(count) = self.in_domain.get_mut(counter).and_then(|domains| domains.get_mut(domain)) {
                *count = if added { *count + 1 } else { count.saturating_sub(1) };
            }
        }
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
        self.count_domains(cluster, workload, node, true);
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
        self.count_domains(cluster, workload, node, false);
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

    /// Nodes whose pods changed since `mark` (once per change).
    fn changed_since(&self, mark: usize) -> impl Iterator<Item = usize> + '_ {
        self.journal.get(mark..).unwrap_or_default().iter().filter_map(|change| match change {
            Change::Added(_, node) | Change::Removed(_, node) => Some(*node),
            Change::Down(_) => None,
        })
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

/// The most each node requested at the moments a rollout is looked at, for
/// the nodes whose pods changed since [`Peak::new`]: a rollout touches a few
/// nodes, so only those are kept. A node's peak over the rollout is the
/// higher of this and what it requested before (what [`State::undo`]
/// restores); nodes not listed requested that throughout.
#[derive(Debug)]
pub struct Peak {
    seen: usize,
    top: BTreeMap<usize, Amount>,
}

impl Peak {
    pub fn new(state: &State) -> Self {
        Peak { seen: state.mark(), top: BTreeMap::new() }
    }

    /// Raises the peak of every node changed since the last look to what it requests now.
    pub fn look(&mut self, state: &State) {
        for node in state.changed_since(self.seen) {
            let Some(used) = state.used.get(node) else { continue };
            let top = self.top.entry(node).or_insert(*used);
            *top = top.max(used);
        }
        self.seen = state.mark();
    }

    /// The highest request seen of each node that changed, in node order.
    pub fn nodes(&self) -> impl Iterator<Item = (usize, &Amount)> + '_ {
        self.top.iter().map(|(node, top)| (*node, top))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::workloads::{AntiTerm, Strategy};
    use crate::kube::Selector;
    use crate::output::object::{Identity, Object, Origin};

    fn node(name: &str, zone: Option<&str>) -> Node {
        let mut labels = BTreeMap::from([("kubernetes.io/hostname".to_string(), name.to_string())]);
        if let Some(zone) = zone {
            labels.insert("zone".to_string(), zone.to_string());
        }
        let allocatable = Amount { cpu: 4000, memory: 8 << 30, gpu: 0, pods: 110 };
        Node {
            name: name.into(),
            labels,
            taints: Vec::new(),
            allocatable,
            platform: Amount::default(),
            gpus: 0,
            gpu_memory_mib: Vec::new(),
            gpu_slices: 1,
            gpu_model: None,
            default_runtime: None,
        }
    }

    fn object(name: &str) -> Object {
        Object {
            identity: Identity {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: Some("ns".into()),
                name: name.into(),
            },
            value: serde_yaml::Value::Null,
            origin: Origin::for_tests(),
        }
    }

    /// A workload of one small pod, labelled `app: <name>`, that must not
    /// share a `zone` with `app: <avoid>` (when given).
    fn workload<'o>(object: &'o Object, avoid: Option<&str>, required: bool) -> Workload<'o> {
        let term = |app: &str| AntiTerm {
            selector: Selector::from_map(BTreeMap::from([("app".to_string(), app.to_string())])),
            namespaces: Vec::new(),
            topology_key: "zone".into(),
        };
        let terms: Vec<AntiTerm> = avoid.map(term).into_iter().collect();
        let (anti_affinity, preferred_anti_affinity) = if required { (terms, Vec::new()) } else { (Vec::new(), terms) };
        Workload {
            object,
            kind: Kind::Deployment,
            namespace: "ns".into(),
            labels: BTreeMap::from([("app".to_string(), object.identity.name.clone())]),
            request: Amount { cpu: 100, memory: 1 << 20, gpu: 0, pods: 1 },
            gpu_memory_mib: 0,
            replicas: 1,
            hpa: None,
            node_selector: BTreeMap::new(),
            required_terms: Vec::new(),
            preferred_terms: Vec::new(),
            tolerations: Vec::new(),
            anti_affinity,
            preferred_anti_affinity,
            strategy: Strategy::Recreate,
            local_claims: Vec::new(),
            shared_local_claims: Vec::new(),
            runtime_class: None,
        }
    }

    /// The definition the counters stand for: a pod of `other` on any node
    /// whose value of the key equals `node`'s.
    fn crowded_by_scan(cluster: &Cluster, state: &State, node: usize, other: usize, key: &str) -> bool {
        let Some(value) = cluster.nodes[node].labels.get(key) else { return false };
        (0..cluster.nodes.len())
            .any(|peer| cluster.nodes[peer].labels.get(key) == Some(value) && state.count(peer, other) > 0)
    }

    #[test]
    fn required_anti_affinity_keeps_a_whole_zone_and_spares_nodes_without_the_label() {
        let nodes = [node("a1", Some("a")), node("a2", Some("a")), node("b1", Some("b")), node("bare", None)];
        let (db, web) = (object("db"), object("web"));
        let workloads = [workload(&db, None, true), workload(&web, Some("db"), true)];
        let cluster = Cluster::new(&nodes, &workloads);
        let mut state = State::new(&cluster);
        assert_eq!(cluster.place(&mut state, 0, Some(0)), Ok(0));
        let web_reasons: Vec<Option<Reason>> = (0..nodes.len()).map(|node| cluster.reason(&state, 1, node)).collect();
        let anti = Some(Reason::AntiAffinity("Deployment.apps ns/db".into()));
        assert_eq!(web_reasons, [anti.clone(), anti, None, None]);
        // Either way round: db's second pod may not join web's zone.
        let mark = state.mark();
        assert_eq!(cluster.place(&mut state, 1, Some(2)), Ok(2));
        assert_eq!(cluster.reason(&state, 0, 2), Some(Reason::AntiAffinity("Deployment.apps ns/web".into())));
        assert_eq!(cluster.reason(&state, 0, 3), None);
        // Undo forgets web's pod in zone b.
        state.undo(&cluster, mark);
        assert_eq!(cluster.reason(&state, 0, 2), None);
        for node in 0..nodes.len() {
            assert_eq!(cluster.reason(&state, 1, node).is_some(), crowded_by_scan(&cluster, &state, node, 0, "zone"));
        }
    }

    #[test]
    fn domain_counters_agree_with_a_scan_of_every_node_through_moves_and_undo() {
        let nodes = [node("a1", Some("a")), node("a2", Some("a")), node("b1", Some("b")), node("c1", None)];
        let (db, web) = (object("db"), object("web"));
        let workloads = [workload(&db, Some("db"), false), workload(&web, Some("db"), false)];
        let cluster = Cluster::new(&nodes, &workloads);
        let mut state = State::new(&cluster);
        let check = |state: &State| {
            for node in 0..nodes.len() {
                let soft = row(&cluster.soft_conflicts, 1).first().unwrap();
                assert_eq!(
                    cluster.crowds(state, soft, node),
                    crowded_by_scan(&cluster, state, node, 0, "zone"),
                    "node {node}"
                );
            }
        };
        check(&state);
        let mark = state.mark();
        for node in [0, 1, 2, 3, 1] {
            cluster.place(&mut state, 0, Some(node)).unwrap();
            check(&state);
        }
        state.remove(&cluster, 0, 1);
        check(&state);
        state.remove(&cluster, 0, 0);
        check(&state);
        state.set_down(2);
        state.remove(&cluster, 0, 2);
        check(&state);
        state.undo(&cluster, mark);
        check(&state);
        assert!((0..nodes.len()).all(|node| !cluster.crowds(
            &state,
            row(&cluster.soft_conflicts, 1).first().unwrap(),
            node
        )));
    }

    #[test]
    fn preferred_anti_affinity_spreads_pods_over_zones_first() {
        let nodes = [node("a1", Some("a")), node("a2", Some("a")), node("b1", Some("b"))];
        let web = object("web");
        let workloads = [workload(&web, Some("web"), false)];
        let cluster = Cluster::new(&nodes, &workloads);
        let mut state = State::new(&cluster);
        let placed: Vec<usize> = (0..3).map(|_| cluster.place(&mut state, 0, None).unwrap()).collect();
        // a1 first (ties go to the first node), then zone b, then back to zone a's free node.
        assert_eq!(placed, [0, 2, 1]);
    }

    #[test]
    fn a_peak_keeps_the_highest_request_of_the_nodes_a_rollout_touched() {
        let nodes = [node("n1", None), node("n2", None)];
        let web = object("web");
        let workloads = [workload(&web, None, false)];
        let cluster = Cluster::new(&nodes, &workloads);
        let mut state = State::new(&cluster);
        cluster.place(&mut state, 0, Some(0)).unwrap();
        let before = state.used.clone();
        let mut peak = Peak::new(&state);
        cluster.place(&mut state, 0, Some(1)).unwrap();
        peak.look(&state);
        let surge = state.used[1];
        state.remove(&cluster, 0, 1);
        state.remove(&cluster, 0, 0);
        peak.look(&state);
        let seen: Vec<(usize, Amount)> = peak.nodes().map(|(node, top)| (node, *top)).collect();
        // n1 was only seen below where it started (its peak is its start), n2 at the surge.
        assert_eq!(seen, [(0, Amount::default()), (1, surge)]);
        assert_eq!(before[0].max(&seen[0].1), before[0]);
    }
}
