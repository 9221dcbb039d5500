//! Which namespace each service lands in, and its compose group.
//!
//! The migration plan (k3s-migration-plan, "Service Mapping") groups the
//! compose services and maps each group to a namespace and a workload
//! strategy:
//!
//! | group | namespace | strategy |
//! |---|---|---|
//! | infra_core | ai-system-infra | StatefulSet (persistent storage) |
//! | coordination | ai-system-gpu | Deployment + GPU nodeSelector |
//! | memory_stack | ai-system-core | StatefulSet (database volumes) |
//! | speech_gpu | ai-system-gpu | Deployment + anti-affinity |
//! | learning_gpu | ai-system-gpu | Job/CronJob for training |
//! | utility_cpu | ai-system-core | Deployment + CPU nodeSelector |
//!
//! A service's group is its `x-kiln: {group: …}` or its label
//! `ai-system/compose-group` (the label kiln puts on the workload's
//! objects). Its namespace is, first to last: `--namespace`, its
//! `x-kiln: {namespace: …}`, `--group-map GROUP=NS`, the plan's table. The
//! strategies follow from the mapping itself (volumes make StatefulSets,
//! `restart: no` Jobs, GPUs a GPU placement); `utility_cpu` adds the CPU
//! pool's node selector (`ai-system/cpu-pool`) where nodes declare one.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::cluster::Cluster;
use super::service::{text, Ctx};
use crate::values::schema::{TaintEffect, Toleration, Workload};
use crate::Result;

pub const PLAN: [(&str, &str); 6] = [
    ("infra_core", "ai-system-infra"),
    ("coordination", "ai-system-gpu"),
    ("memory_stack", "ai-system-core"),
    ("speech_gpu", "ai-system-gpu"),
    ("learning_gpu", "ai-system-gpu"),
    ("utility_cpu", "ai-system-core"),
];

pub const GROUP_LABEL: &str = "ai-system/compose-group";
const CPU_POOL_LABEL: &str = "ai-system/cpu-pool";

/// Where the request says services go.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub namespace: Option<String>,
    pub group_map: BTreeMap<String, String>,
}

/// The service's group (normalised to the plan's spelling) and namespace.
pub fn resolve(ctx: &mut Ctx<'_>, placement: &Placement) -> Result<(Option<String>, String)> {
    let extension = ctx.take("x-kiln").and_then(Value::as_mapping);
    let group = extension
        .and_then(|x| x.get("group"))
        .and_then(text)
        .or_else(|| ctx.peek("labels").and_then(|labels| label(labels, GROUP_LABEL)))
        .map(|group| group.trim().to_ascii_lowercase().replace('-', "_"));
    let namespace = placement
        .namespace
        .clone()
        .or_else(|| extension.and_then(|x| x.get("namespace")).and_then(text))
        .or_else(|| group.as_ref().and_then(|group| placement.group_map.get(group).cloned()))
        .or_else(|| {
            group.as_ref().and_then(|group| PLAN.iter().find(|(g, _)| g == group).map(|(_, ns)| ns.to_string()))
        });
    match namespace {
        Some(namespace) => Ok((group, namespace)),
        None => Err(ctx.invalid(
            "",
            match &group {
                Some(group) => format!("service `{}` is in group `{group}`, which neither `--group-map` nor the migration plan maps to a namespace", ctx.name()),
                None => format!("service `{}` has no namespace: it names no group (label `{GROUP_LABEL}` or `x-kiln: {{group: …}}`)", ctx.name()),
            },
            "pass `--namespace NS` for every service, `--group-map GROUP=NS`, or set `x-kiln: {namespace: NS}` on the service",
        )),
    }
}

/// `labels` as a mapping or a `KEY=VALUE` list.
fn label(labels: &Value, key: &str) -> Option<String> {
    match labels {
        Value::Mapping(map) => map.get(key).and_then(text),
        Value::Sequence(list) => list
            .iter()
            .filter_map(Value::as_str)
            .find_map(|entry| entry.strip_prefix(key)?.strip_prefix('=').map(str::to_string)),
        _ => None,
    }
}

/// The plan's CPU pool for `utility_cpu`: the nodes labelled
/// `ai-system/cpu-pool: "true"`, with tolerations for their taints.
pub fn cpu_pool(cluster: &Cluster, group: Option<&str>, workload: &mut Workload) {
    if group != Some("utility_cpu") || workload.gpu.is_some() {
        return;
    }
    let pool: Vec<_> = cluster
        .nodes
        .iter()
        .filter(|node| node.labels.get(CPU_POOL_LABEL).map(String::as_str) == Some("true"))
        .collect();
    if pool.is_empty() {
        return;
    }
    workload.node_selector.get_or_insert_with(BTreeMap::new).insert(CPU_POOL_LABEL.into(), "true".into());
    for taint in
        pool.iter().flat_map(|node| &node.taints).filter(|taint| taint.effect != Some(TaintEffect::PreferNoSchedule))
    {
        let toleration = Toleration {
            key: taint.key.clone(),
            operator: Some(if taint.value.is_some() { "Equal" } else { "Exists" }.into()),
            value: taint.value.clone(),
            effect: taint.effect,
        };
        let tolerations = workload.tolerations.get_or_insert_with(Vec::new);
        if !tolerations
            .iter()
            .any(|t| t.key == toleration.key && t.value == toleration.value && t.effect == toleration.effect)
        {
            tolerations.push(toleration);
        }
    }
}
