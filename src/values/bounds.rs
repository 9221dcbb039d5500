//! Bounds on the numbers that count pods, checked when values load and so
//! before the plan simulates the scheduler (which places pods one by one).
//!
//! - A workload's `replicas`, `hpa.minReplicas`, `hpa.maxReplicas` and
//!   `job.parallelism` may not exceed the namespace's `quota.pods` when set:
//!   the ResourceQuota admission controller refuses every pod past it. Without
//!   a quota they may not exceed the pods the declared nodes can run, the sum
//!   of their `capacity.pods` (the kubelet's `maxPods`, 110 when unset).
//! - `hpa.minReplicas` is at least 1 and at most `maxReplicas`, as the API
//!   server's HorizontalPodAutoscaler validation requires.
//! - A node's `capacity.pods` is at most [`MAX_NODE_PODS`]; its
//!   `gpus[].count` at most [`MAX_NODE_GPUS`] and `timeSlicing.replicas` at
//!   most [`MAX_TIME_SLICES`].

use super::key_path::KeyPath;
use super::schema::Workload;
use super::{Scoped, Values};
use crate::Error;

/// The kubelet's default `maxPods`, used for a node that declares none.
pub const DEFAULT_NODE_PODS: u64 = 110;
/// The most pods a node may declare: about nine times the kubelet default
/// and the 110 pods per node Kubernetes' scalability limits are tested at.
pub const MAX_NODE_PODS: u32 = 1000;
/// The most physical GPUs one node may declare (the largest servers hold 16).
pub const MAX_NODE_GPUS: u32 = 64;
/// The most pods one GPU may be time-sliced between.
pub const MAX_TIME_SLICES: u32 = 1000;

pub fn check(values: &Values) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut node_pods = 0u64;
    for node in values.nodes.values() {
        let typed = &node.typed;
        let pods = typed.capacity.as_ref().and_then(|capacity| capacity.pods);
        node_pods += pods.map_or(DEFAULT_NODE_PODS, u64::from);
        let mut over = |path: KeyPath, value: u32, cap: u32, what: &str| {
            if value > cap {
                errors.push(Error::Values {
                    location: node.locate(&path),
                    key_path: path.to_string(),
                    message: format!("`{}: {value}` is more than the {cap} {what} kiln accepts", last_key(&path)),
                    help: Some("declare what the machine really has (README, Values reference)".into()),
                });
            }
        };
        if let Some(pods) = pods {
            over(KeyPath::parse("capacity.pods"), pods, MAX_NODE_PODS, "pods per node");
        }
        for (index, gpu) in typed.gpus.iter().flatten().enumerate() {
            if let Some(count) = gpu.count {
                over(KeyPath::root().key("gpus").index(index).key("count"), count, MAX_NODE_GPUS, "GPUs per node");
            }
        }
        if let Some(slices) = typed.time_slicing.as_ref().and_then(|slicing| slicing.replicas) {
            over(KeyPath::parse("timeSlicing.replicas"), slices, MAX_TIME_SLICES, "pods per GPU");
        }
    }
    for namespace in values.namespaces.values() {
        let quota = namespace.namespace.typed.quota.as_ref().and_then(|quota| quota.pods);
        let limit = match quota {
            Some(pods) => Limit::Quota(u64::from(pods)),
            None => Limit::Nodes(node_pods),
        };
        for (name, workload) in &namespace.workloads {
            let shown = KeyPath::root().key("workloads").key(name.clone());
            check_workload(workload, &shown, limit, &mut errors);
        }
    }
    errors
}

#[derive(Clone, Copy)]
enum Limit {
    Quota(u64),
    Nodes(u64),
}

fn check_workload(scope: &Scoped<Workload>, shown: &KeyPath, limit: Limit, errors: &mut Vec<Error>) {
    let workload = &scope.typed;
    let hpa = workload.hpa.as_ref();
    let counts = [
        ("replicas", workload.replicas),
        ("hpa.minReplicas", hpa.and_then(|hpa| hpa.min_replicas)),
        ("hpa.maxReplicas", hpa.and_then(|hpa| hpa.max_replicas)),
        ("job.parallelism", workload.job.as_ref().and_then(|job| job.parallelism)),
    ];
    let mut error = |key: &str, message: String, help: &str| {
        let path = KeyPath::parse(key);
        errors.push(Error::Values {
            location: scope.locate(&path),
            key_path: shown.join(&path).to_string(),
            message,
            help: Some(help.into()),
        });
    };
    for (key, count) in counts {
        let Some(count) = count else { continue };
        let name = key.rsplit('.').next().unwrap_or(key);
        match limit {
            Limit::Quota(pods) if u64::from(count) > pods => error(
                key,
                format!("`{name}: {count}` is more pods than the namespace's `quota.pods: {pods}` admits"),
                "lower it, or raise `quota.pods` in the namespace file",
            ),
            Limit::Nodes(pods) if u64::from(count) > pods => error(
                key,
                format!("`{name}: {count}` is more pods than the declared nodes can run ({pods}, the sum of their `capacity.pods`)"),
                "lower it, or declare more nodes or a higher `capacity.pods`; a namespace `quota.pods` bounds it instead when set",
            ),
            _ => {}
        }
    }
    if let Some(hpa) = hpa {
        if hpa.min_replicas == Some(0) {
            error(
                "hpa.minReplicas",
                "`minReplicas: 0` is not allowed".into(),
                "an HPA keeps at least 1 pod; set `minReplicas: 1` or remove `hpa`",
            );
        }
        if let (Some(min), Some(max)) = (hpa.min_replicas, hpa.max_replicas) {
            if min > max {
                error(
                    "hpa.maxReplicas",
                    format!("`maxReplicas: {max}` is below `minReplicas: {min}`"),
                    "the API server refuses an HPA whose maxReplicas is below minReplicas",
                );
            }
        }
    }
}

fn last_key(path: &KeyPath) -> String {
    path.to_string().rsplit('.').next().unwrap_or_default().to_string()
}
