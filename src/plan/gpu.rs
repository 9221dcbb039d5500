//! GPU memory: what the pods placed on each physical GPU need of its memory.
//!
//! The scheduler counts `nvidia.com/gpu` slots only; with time-slicing a GPU
//! advertises several slots, and the NVIDIA device plugin's docs say plainly
//! that time-slicing gives "no memory or fault-isolation between replicas"
//! (the k8s-device-plugin README's section on shared access to GPUs). So pods that fit by
//! slots can still need more memory than the GPU has, and the last model to
//! load fails with CUDA out-of-memory. kiln sums the memory workloads declare
//! (`gpu.memoryGiB`) per physical GPU in every scenario of the plan: the
//! pods on a node are packed onto its GPUs largest first (the device plugin
//! picks the GPU; with one GPU per node, as here, there is no choice), and
//! what does not fit is an overflow. A workload on a shared GPU must declare
//! its memory. An HPA whose replicas all land on one physical GPU adds no GPU
//! compute: the replicas take turns on the same card and each holds a copy of
//! the model.

use std::collections::BTreeMap;

use serde::Serialize;

use super::schedule::{Cluster, State};
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::kube::nodes::Node;
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;

/// A scenario needs more GPU memory than a GPU has.
pub const GPU_MEMORY: &str = "plan-gpu-memory";
/// An HPA scales onto one physical GPU only.
pub const GPU_HPA: &str = "plan-gpu-hpa";

/// The pods on one node that use GPU memory: `(workload, pods, MiB each)`.
type Tenants = Vec<(usize, u32, u64)>;

/// Only the workloads that declare GPU memory are looked at, so a cluster
/// of many workloads and few (or no) GPU ones costs little per look.
fn tenants(cluster: &Cluster, state: &State, node: usize) -> Tenants {
    cluster
        .gpu_workloads
        .iter()
        .filter_map(|&index| cluster.workloads.get(index).map(|workload| (index, workload.gpu_memory_mib)))
        .map(|(index, mib)| (index, state.count(node, index), mib))
        .filter(|(_, pods, _)| *pods > 0)
        .collect()
}

fn total(tenants: &Tenants) -> u64 {
    tenants.iter().map(|(_, pods, mib)| u64::from(*pods) * mib).sum()
}

/// Whether the pods fit the GPUs: first-fit decreasing, one pod on one GPU.
fn fits(tenants: &Tenants, gpus: &[u64]) -> bool {
    let mut pods: Vec<u64> =
        tenants.iter().flat_map(|(_, count, mib)| std::iter::repeat_n(*mib, *count as usize)).collect();
    pods.sort_unstable_by(|a, b| b.cmp(a));
    let mut free = gpus.to_vec();
    pods.iter().all(|pod| match free.iter_mut().find(|free| **free >= *pod) {
        Some(gpu) => {
            *gpu -= pod;
            true
        }
        None => false,
    })
}

/// The largest GPU memory use seen per node, and what made it up.
#[derive(Default)]
pub struct Peak {
    nodes: BTreeMap<usize, Tenants>,
}

impl Peak {
    pub fn observe(&mut self, cluster: &Cluster, state: &State) {
        if cluster.gpu_workloads.is_empty() {
            return;
        }
        for node in 0..cluster.nodes.len() {
            let now = tenants(cluster, state, node);
            let before = self.nodes.get(&node).map_or(0, total);
            if total(&now) > before {
                self.nodes.insert(node, now);
            }
        }
    }

    /// Nodes whose GPU tenants are the same in both peaks.
    pub fn same_nodes(&self, other: &Peak) -> std::collections::BTreeSet<usize> {
        let nodes = self.nodes.keys().chain(other.nodes.keys());
        nodes.filter(|node| self.nodes.get(node) == other.nodes.get(node)).copied().collect()
    }

    /// Forgets these nodes (their findings belong to another scenario).
    pub fn without(mut self, nodes: &std::collections::BTreeSet<usize>) -> Peak {
        self.nodes.retain(|node, _| !nodes.contains(node));
        self
    }

    /// A peak of one state.
    pub fn of(cluster: &Cluster, state: &State) -> Peak {
        let mut peak = Peak::default();
        peak.observe(cluster, state);
        peak
    }

    /// Overflow findings of the scenario this peak was observed in; with a
    /// `baseline` (the state the scenario started from), only on nodes whose
    /// pods the scenario changed, since the baseline's own overflow is
    /// reported by its scenario.
    pub fn overflows(
        &self,
        cluster: &Cluster,
        locator: &Locator,
        scenario: &str,
        severity: Severity,
        baseline: Option<&Peak>,
    ) -> Vec<Diagnostic> {
        let mut found = Vec::new();
        for (node_index, tenants) in &self.nodes {
            if baseline.and_then(|base| base.nodes.get(node_index)) == Some(tenants) {
                continue;
            }
            let Some(node) = cluster.nodes.get(*node_index) else { continue };
            if node.gpu_memory_mib.iter().all(|mib| *mib == 0) || fits(tenants, &node.gpu_memory_mib) {
                continue;
            }
            let parts = describe(cluster, tenants);
            let card = card(node);
            let message = format!(
                "{scenario}: the GPU memory of node `{}` ({card}) is oversubscribed: its pods need {} ({}); time-slicing shares a GPU's compute, not its memory, so the last model to load fails with out-of-memory",
                node.name,
                gib(total(tenants)),
                parts.join(", ")
            );
            let scope = ScopeRef::Node(node.name.clone());
            let mut diagnostic = Diagnostic::new(severity, GPU_MEMORY, message).with_scope(scope.clone());
            diagnostic.span = locator.span(&scope, &KeyPath::root().key("gpus"));
            found.push(diagnostic.with_help(
                "lower replicas or `hpa.maxReplicas` of what shares this GPU, use `strategy: {type: Recreate}` or `maxSurge: 0` where a second copy cannot fit, or move a workload to another GPU (`gpu.product`, `node`)",
            ));
        }
        found
    }
}

/// One node's GPUs in the plan's GPU memory table: what steady state puts on
/// them, and the most any scenario does.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuMemory {
    pub node: String,
    /// The cards, as the node values name them (`RTX 4090, 24 GiB`).
    pub gpus: String,
    pub capacity_mib: u64,
    pub steady_mib: u64,
    /// `workload pods × GiB` of steady state.
    pub steady: Vec<String>,
    pub peak_mib: u64,
    /// The first scenario that reached the peak.
    pub peak_scenario: String,
    /// Whether every scenario's pods fit the cards.
    pub fits: bool,
}

/// Gathers the GPU memory table over the scenarios of one simulation.
#[derive(Default)]
pub struct Ledger {
    steady: Peak,
    peak: BTreeMap<usize, (u64, String)>,
    overflowed: std::collections::BTreeSet<usize>,
}

impl Ledger {
    pub fn steady(&mut self, cluster: &Cluster, state: &State) {
        self.steady = Peak::of(cluster, state);
        self.observe(cluster, state, "steady state");
    }

    /// The GPU tenants of the steady state.
    pub fn steady_tenants(&self) -> &Peak {
        &self.steady
    }

    pub fn observe(&mut self, cluster: &Cluster, state: &State, scenario: &str) {
        self.observe_peak(cluster, &Peak::of(cluster, state), scenario);
    }

    pub fn observe_peak(&mut self, cluster: &Cluster, peak: &Peak, scenario: &str) {
        for (node, tenants) in &peak.nodes {
            let used = total(tenants);
            if self.peak.get(node).is_none_or(|(before, _)| used > *before) {
                self.peak.insert(*node, (used, scenario.to_string()));
            }
            let gpus = cluster.nodes.get(*node).map_or(&[][..], |node| node.gpu_memory_mib.as_slice());
            if gpus.iter().any(|mib| *mib > 0) && !fits(tenants, gpus) {
                self.overflowed.insert(*node);
            }
        }
    }

    /// The table's rows: nodes whose GPUs declare their memory.
    pub fn rows(&self, cluster: &Cluster) -> Vec<GpuMemory> {
        cluster
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.gpu_memory_mib.iter().any(|mib| *mib > 0))
            .map(|(index, node)| {
                let steady = self.steady.nodes.get(&index).cloned().unwrap_or_default();
                let (peak_mib, peak_scenario) = self.peak.get(&index).cloned().unwrap_or_default();
                GpuMemory {
                    node: node.name.clone(),
                    gpus: card(node),
                    capacity_mib: node.gpu_memory_mib.iter().sum(),
                    steady_mib: total(&steady),
                    steady: describe(cluster, &steady),
                    peak_mib,
                    peak_scenario,
                    fits: !self.overflowed.contains(&index),
                }
            })
            .collect()
    }
}

/// `reasoning-suite 1 × 12 GiB`, largest first.
fn describe(cluster: &Cluster, tenants: &Tenants) -> Vec<String> {
    let mut tenants = tenants.clone();
    tenants.sort_by(|a, b| (u64::from(b.1) * b.2).cmp(&(u64::from(a.1) * a.2)));
    tenants
        .iter()
        .filter_map(|(index, pods, mib)| {
            let workload = cluster.workloads.get(*index)?;
            Some(format!("{} {pods} × {}", workload.object.identity.name, gib(*mib)))
        })
        .collect()
}

fn card(node: &Node) -> String {
    match (&node.gpu_model, node.gpu_memory_mib.as_slice()) {
        (Some(model), [one]) => format!("{model}, {}", gib(*one)),
        (None, [one]) => gib(*one),
        (_, many) => format!("{} GPUs of {}", many.len(), many.iter().map(|m| gib(*m)).collect::<Vec<_>>().join(", ")),
    }
}

/// Overflows of one state, beyond those of `baseline`.
pub fn overflows(
    cluster: &Cluster,
    state: &State,
    locator: &Locator,
    scenario: &str,
    severity: Severity,
    baseline: Option<&Peak>,
) -> Vec<Diagnostic> {
    Peak::of(cluster, state).overflows(cluster, locator, scenario, severity, baseline)
}

/// Workloads placed on a time-sliced GPU without declaring their memory.
pub fn undeclared(cluster: &Cluster, state: &State, locator: &Locator) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (index, workload) in cluster.workloads.iter().enumerate() {
        // Only a values workload can declare its memory (`gpu.memoryGiB`): a
        // controller a template writes by hand has nowhere to say it, and is not counted.
        let scope = workload.object.origin.scope.workload();
        let of_values = scope.is_some_and(|(_, name)| name == workload.object.identity.name);
        if workload.request.gpu == 0 || workload.gpu_memory_mib > 0 || !of_values {
            continue;
        }
        let shared =
            state.pods_of(index).iter().filter_map(|node| cluster.nodes.get(*node)).find(|node| node.gpu_slices > 1);
        if let Some(node) = shared {
            found.push(
                locator
                    .finding(
                        workload.object,
                        GPU_MEMORY,
                        Severity::Error,
                        "",
                        format!(
                            "{} shares the time-sliced GPU of node `{}` but declares no `gpu.memoryGiB`: kiln cannot tell whether its model fits beside the others",
                            workload.describe(),
                            node.name
                        ),
                    )
                    .with_help("declare the GPU memory one pod uses (`gpu.memoryGiB`), from the model's size and the server's cache settings"),
            );
        }
    }
    found
}

/// HPAs at `maxReplicas` whose pods all share one physical GPU.
pub fn hpa_on_one_gpu(cluster: &Cluster, state: &State, locator: &Locator) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (index, workload) in cluster.workloads.iter().enumerate() {
        let Some((hpa, max)) = workload.hpa else { continue };
        if workload.request.gpu == 0 || max < 2 {
            continue;
        }
        let nodes: std::collections::BTreeSet<usize> = state.pods_of(index).iter().copied().collect();
        let [only] = nodes.iter().copied().collect::<Vec<_>>()[..] else { continue };
        let Some(node) = cluster.nodes.get(only).filter(|node| node.gpus == 1) else { continue };
        found.push(
            locator
                .finding(
                    hpa,
                    GPU_HPA,
                    Severity::Warning,
                    "spec.maxReplicas",
                    format!(
                        "at maxReplicas {max}, every pod of {} runs on the one GPU of node `{}`: scaling out adds no GPU compute (the replicas take turns on the same card), only copies of the model in its memory",
                        workload.describe(),
                        node.name
                    ),
                )
                .with_help("let the replicas reach other GPUs that can hold the model (maxReplicas no more than those GPUs), or drop the HPA and batch requests inside one replica"),
        );
    }
    found
}

pub(crate) fn gib(mib: u64) -> String {
    if mib.is_multiple_of(1024) {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{:.1} GiB", mib as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_pack_onto_gpus_largest_first_and_never_span_two() {
        let tenants: Tenants = vec![(0, 2, 10 * 1024), (1, 1, 4 * 1024)];
        assert!(fits(&tenants, &[24 * 1024]));
        assert!(!fits(&tenants, &[20 * 1024]));
        // 10 + 10 + 4 on two 12 GiB cards: 10 | 10, then 4 fits on neither.
        assert!(!fits(&tenants, &[12 * 1024, 12 * 1024]));
        assert!(fits(&tenants, &[14 * 1024, 12 * 1024]));
        assert!(fits(&Vec::new(), &[]));
    }

    #[test]
    fn sizes_print_in_gib() {
        assert_eq!(gib(24 * 1024), "24 GiB");
        assert_eq!(gib(3584), "3.5 GiB");
    }
}
