//! The declared nodes as the scheduler sees them: labels, taints and
//! allocatable resources, all from node values. Allocatable is `capacity`
//! minus `reserved` (the kubelet's `system-reserved`: the OS and k3s); GPUs
//! are `gpus[].count` × `timeSlicing.replicas`. A node that declares no
//! capacity has none: only pods that request nothing fit.
//!
//! The platform's pods (Argo CD, the monitoring stack, the mesh, the device
//! plugin) come from charts kiln does not render, so their requests are
//! declared in the cluster values (`platform`, per component and node, or
//! every node for a DaemonSet) and held back from what the workloads of
//! values may use: the scheduler counts them against the same allocatable.

use std::collections::BTreeMap;

use serde::Serialize;

use super::resources::Amount;
use crate::values::check::node_labels;
use crate::values::schema::{self, NodeRole, TaintEffect};
use crate::values::Values;

/// Pods per node when values declare none: the kubelet's default `maxPods`.
pub const DEFAULT_MAX_PODS: u128 = 110;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub allocatable: Amount,
    /// What the platform's pods request on this node (`platform` in the
    /// cluster values); the workloads of values get `allocatable` minus this.
    pub platform: Amount,
    /// Physical GPUs (before time-slicing).
    pub gpus: u32,
    /// The memory of each physical GPU, in MiB (`gpus[].memoryGiB`, one entry per GPU).
    #[serde(skip)]
    pub gpu_memory_mib: Vec<u64>,
    /// Pods per physical GPU (time-slicing replicas; 1 = not shared).
    #[serde(skip)]
    pub gpu_slices: u32,
    /// The GPUs' model, for messages (`RTX 4090`).
    #[serde(skip)]
    pub gpu_model: Option<String>,
    /// containerd's default runtime (k3s `default-runtime`), e.g. `nvidia`.
    #[serde(skip)]
    pub default_runtime: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

impl std::fmt::Display for Taint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect)
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

impl Taint {
    /// Whether the taint keeps pods that do not tolerate it off the node
    /// (`PreferNoSchedule` only discourages).
    pub fn repels(&self) -> bool {
        self.effect != "PreferNoSchedule"
    }
}

impl Node {
    /// A k3s server (it carries the control-plane role label k3s sets).
    pub fn is_server(&self) -> bool {
        self.labels.contains_key("node-role.kubernetes.io/control-plane")
    }

    pub fn has_gpu(&self) -> bool {
        self.gpus > 0
    }
}

/// Every declared node, sorted by name.
pub fn nodes(values: &Values) -> Vec<Node> {
    let cluster = &values.cluster.typed;
    // `k3s` is what k3s itself runs as pods (CoreDNS, metrics-server, ...): always there.
    let enabled = |component: &str| {
        component == "k3s"
            || cluster
                .components
                .as_ref()
                .and_then(|components| components.get(component))
                .is_some_and(|c| c.enabled != Some(false))
    };
    values
        .nodes
        .iter()
        .map(|(name, node)| {
            let mut node = node_of(name, &node.typed);
            for footprint in cluster.platform.iter().flatten() {
                if enabled(&footprint.component) && footprint.node.as_ref().is_none_or(|on| *on == node.name) {
                    node.platform.add(&platform_amount(footprint));
                }
            }
            node
        })
        .collect()
}

fn platform_amount(footprint: &schema::PlatformFootprint) -> Amount {
    let milli = |quantity: Option<&schema::Quantity>| quantity.and_then(schema::Quantity::milli).unwrap_or(0);
    Amount {
        cpu: milli(footprint.cpu.as_ref()),
        memory: milli(footprint.memory.as_ref()),
        gpu: 0,
        pods: u128::from(footprint.pods.unwrap_or(0)),
    }
}

impl Node {
    /// What the workloads of values may request: allocatable less the platform.
    pub fn available(&self) -> Amount {
        Amount {
            cpu: self.allocatable.cpu.saturating_sub(self.platform.cpu),
            memory: self.allocatable.memory.saturating_sub(self.platform.memory),
            gpu: self.allocatable.gpu.saturating_sub(self.platform.gpu),
            pods: self.allocatable.pods.saturating_sub(self.platform.pods),
        }
    }

    /// The node as the workloads of values see it: allocatable less the platform.
    pub fn for_workloads(&self) -> Node {
        Node { allocatable: self.available(), platform: Amount::default(), ..self.clone() }
    }
}

fn node_of(name: &str, node: &schema::Node) -> Node {
    let mut labels: BTreeMap<String, String> =
        node_labels(name, node).map(|(key, value)| (key.to_string(), value.to_string())).collect();
    if node.role == Some(NodeRole::Server) {
        // k3s labels its servers so; templates select on them.
        labels.insert("node-role.kubernetes.io/control-plane".into(), "true".into());
        labels.insert("node-role.kubernetes.io/master".into(), "true".into());
    }
    let milli = |quantity: Option<&schema::Quantity>| quantity.and_then(schema::Quantity::milli).unwrap_or(0);
    let capacity = node.capacity.clone().unwrap_or_default();
    let reserved = node.reserved.clone().unwrap_or_default();
    let gpus: u32 = node.gpus.iter().flatten().map(|gpu| gpu.count.unwrap_or(1)).fold(0, u32::saturating_add);
    let slices = node.time_slicing.as_ref().and_then(|slicing| slicing.replicas).unwrap_or(1).max(1);
    let allocatable = Amount {
        cpu: milli(capacity.cpu.as_ref()).saturating_sub(milli(reserved.cpu.as_ref())),
        memory: milli(capacity.memory.as_ref()).saturating_sub(milli(reserved.memory.as_ref())),
        gpu: u128::from(gpus) * u128::from(slices) * 1000,
        pods: capacity.pods.map_or(DEFAULT_MAX_PODS, u128::from),
    };
    let taints = node
        .taints
        .iter()
        .flatten()
        .map(|taint| Taint {
            key: taint.key.clone().unwrap_or_default(),
            value: taint.value.clone().unwrap_or_default(),
            effect: match taint.effect {
                Some(TaintEffect::NoExecute) => "NoExecute",
                Some(TaintEffect::PreferNoSchedule) => "PreferNoSchedule",
                _ => "NoSchedule",
            }
            .to_string(),
        })
        .collect();
    Node {
        name: name.to_string(),
        labels,
        taints,
        allocatable,
        platform: Amount::default(),
        gpus,
        gpu_memory_mib: node
            .gpus
            .iter()
            .flatten()
            .flat_map(|gpu| {
                let mib = u64::from(gpu.memory_gib.unwrap_or(0)) * 1024;
                std::iter::repeat_n(mib, gpu.count.unwrap_or(1) as usize)
            })
            .collect(),
        gpu_slices: slices,
        gpu_model: node.gpus.iter().flatten().find_map(|gpu| gpu.model.clone()),
        default_runtime: node.k3s.as_ref().and_then(|k3s| k3s.default_runtime.clone()),
    }
}
