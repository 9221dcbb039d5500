//! What the mapping needs to know about the cluster it imports into, read
//! once from the repository's values: the nodes' GPUs, labels and taints
//! (GPU and CPU-pool placement), whether shared (ReadWriteMany) storage is
//! declared, the sealing certificate, and each namespace's default
//! resource requests.

use std::collections::BTreeMap;

use crate::seal::crypto::SealingCertificate;
use crate::values::schema::{Quantity, Taint};
use crate::values::Values;

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// `(product, memory GiB, count)` of each GPU model on the node.
    pub gpus: Vec<(String, u32, u32)>,
    pub time_slices: u32,
}

#[derive(Debug, Default)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub shared_storage: bool,
    pub certificate: Option<SealingCertificate>,
    /// Namespace → the default requests a workload there gets (cpu, memory), in milli-units.
    pub default_requests: BTreeMap<String, (Option<u128>, Option<u128>)>,
    pub cluster_default_requests: (Option<u128>, Option<u128>),
    pub namespaces: Vec<String>,
}

impl Cluster {
    pub fn from_values(values: &Values) -> Cluster {
        let nodes = values
            .nodes
            .iter()
            .map(|(name, scoped)| {
                let node = &scoped.typed;
                Node {
                    name: name.clone(),
                    labels: node.labels.clone().unwrap_or_default(),
                    taints: node.taints.clone().unwrap_or_default(),
                    gpus: node
                        .gpus
                        .iter()
                        .flatten()
                        .map(|gpu| {
                            (
                                gpu.product.clone().unwrap_or_default(),
                                gpu.memory_gib.unwrap_or(0),
                                gpu.count.unwrap_or(1),
                            )
                        })
                        .collect(),
                    time_slices: node.time_slicing.as_ref().and_then(|slicing| slicing.replicas).unwrap_or(1),
                }
            })
            .collect();
        let cluster = &values.cluster.typed;
        let requests = |workload: Option<&crate::values::schema::Workload>| {
            let requests = workload.and_then(|w| w.resources.as_ref()).and_then(|r| r.requests.as_ref());
            (
                requests.and_then(|r| r.cpu.as_ref()).and_then(Quantity::milli),
                requests.and_then(|r| r.memory.as_ref()).and_then(Quantity::milli),
            )
        };
        let cluster_default_requests = requests(cluster.defaults.as_ref().and_then(|d| d.workload.as_ref()));
        let default_requests = values
            .namespaces
            .iter()
            .map(|(name, namespace)| {
                let own = requests(
                    namespace.namespace.typed.defaults.as_ref().and_then(|defaults| defaults.workload.as_ref()),
                );
                (name.clone(), (own.0.or(cluster_default_requests.0), own.1.or(cluster_default_requests.1)))
            })
            .collect();
        Cluster {
            nodes,
            shared_storage: cluster.storage.as_ref().and_then(|storage| storage.shared_class.as_ref()).is_some(),
            certificate: crate::seal::check::declared(values),
            default_requests,
            cluster_default_requests,
            namespaces: values.namespaces.keys().cloned().collect(),
        }
    }

    /// The default (cpu, memory) requests of a workload in `namespace`.
    pub fn requests_in(&self, namespace: &str) -> (Option<u128>, Option<u128>) {
        self.default_requests.get(namespace).copied().unwrap_or(self.cluster_default_requests)
    }

    /// The node with the largest GPU (by memory, then name), with that GPU.
    pub fn largest_gpu(&self) -> Option<(&Node, &(String, u32, u32))> {
        let mut best: Option<(&Node, &(String, u32, u32))> = None;
        for node in &self.nodes {
            for gpu in &node.gpus {
                if best.is_none_or(|(_, chosen)| gpu.1 > chosen.1) {
                    best = Some((node, gpu));
                }
            }
        }
        best
    }
}
