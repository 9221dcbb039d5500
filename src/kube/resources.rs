//! Resource amounts the planner adds up: CPU and memory in milli-units (as
//! `parse_quantity_milli` returns them), `nvidia.com/gpu` in milli-GPUs and a
//! pod count. Also how one pod's request follows from its containers.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_yaml::Value;

use crate::kube;
use crate::values::schema::parse_quantity_milli;

pub const GPU: &str = "nvidia.com/gpu";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount {
    pub cpu: u128,
    pub memory: u128,
    pub gpu: u128,
    pub pods: u128,
}

impl Amount {
    pub fn add(&mut self, other: &Amount) {
        self.cpu += other.cpu;
        self.memory += other.memory;
        self.gpu += other.gpu;
        self.pods += other.pods;
    }

    pub fn sub(&mut self, other: &Amount) {
        self.cpu = self.cpu.saturating_sub(other.cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.gpu = self.gpu.saturating_sub(other.gpu);
        self.pods = self.pods.saturating_sub(other.pods);
    }

    /// Each resource at the larger of the two.
    pub fn max(&self, other: &Amount) -> Amount {
        Amount {
            cpu: self.cpu.max(other.cpu),
            memory: self.memory.max(other.memory),
            gpu: self.gpu.max(other.gpu),
            pods: self.pods.max(other.pods),
        }
    }

    /// Whether `request` fits in `self` (free): [`Amount::shortfalls`] is empty.
    pub fn holds(&self, request: &Amount) -> bool {
        request.cpu <= self.cpu && request.memory <= self.memory && request.gpu <= self.gpu && request.pods <= self.pods
    }

    /// The resources of `request` that do not fit in `self` (free) — empty when it fits.
    pub fn shortfalls(&self, request: &Amount) -> Vec<Shortfall> {
        [
            ("cpu", self.cpu, request.cpu),
            ("memory", self.memory, request.memory),
            (GPU, self.gpu, request.gpu),
            ("pods", self.pods, request.pods),
        ]
        .into_iter()
        .filter(|(_, free, needed)| needed > free)
        .map(|(resource, free, needed)| Shortfall { resource, free, needed })
        .collect()
    }
}

/// One resource a pod needs more of than a node has free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub resource: &'static str,
    pub free: u128,
    pub needed: u128,
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "insufficient {} (needs {}, {} free)",
            self.resource,
            format(self.resource, self.needed),
            format(self.resource, self.free)
        )
    }
}

/// An amount as people write it: `1.5` cores, `512Mi`, `2` GPUs, `14` pods.
pub fn format(resource: &str, milli: u128) -> String {
    match resource {
        "memory" => {
            let bytes = milli / 1000;
            for (suffix, unit) in [("Gi", 1u128 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
                if bytes >= unit {
                    return format!("{}{suffix}", decimal(bytes * 1000 / unit));
                }
            }
            bytes.to_string()
        }
        "pods" => milli.to_string(),
        _ => decimal(milli),
    }
}

/// Milli-units as a decimal with at most two fraction digits (`1500` → `1.5`).
fn decimal(milli: u128) -> String {
    let whole = milli / 1000;
    let fraction = (milli % 1000) / 10;
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{fraction:02}").trim_end_matches('0').to_string()
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = BTreeMap::new();
        map.insert("cpu", format("cpu", self.cpu));
        map.insert("memory", format("memory", self.memory));
        map.insert(GPU, format(GPU, self.gpu));
        map.insert("pods", format("pods", self.pods));
        map.serialize(serializer)
    }
}

/// Container defaults a namespace's LimitRange applies to containers that set none.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub request: BTreeMap<String, u128>,
}

impl Defaults {
    /// Reads `type: Container` limits of a LimitRange: `defaultRequest`, then `default`
    /// (a default limit also becomes the request when no request is given).
    pub fn from_limit_range(value: &Value) -> Defaults {
        let mut request = BTreeMap::new();
        for limit in kube::seq(kube::get(value, &["spec", "limits"])) {
            if kube::get_str(limit, &["type"]) != Some("Container") {
                continue;
            }
            for field in ["default", "defaultRequest"] {
                for (name, quantity) in kube::string_map(limit.get(field)) {
                    if let Some(milli) = parse_quantity_milli(&quantity) {
                        request.insert(name, milli);
                    }
                }
            }
        }
        Defaults { request }
    }
}

/// The request of one pod: the sum over containers (and sidecar init
/// containers), or the largest plain init container if that is larger, per
/// resource — as kube-scheduler computes it. A resource with only a limit is
/// requested at its limit.
pub fn pod_request(spec: &Value, defaults: &Defaults) -> Amount {
    let container = |container: &Value| -> Amount {
        let read = |name: &str| {
            let quantity = |field: &str| {
                kube::get(container, &["resources", field, name])
                    .and_then(kube::scalar)
                    .and_then(|q| parse_quantity_milli(&q))
            };
            quantity("requests")
                .or_else(|| quantity("limits"))
                .or_else(|| defaults.request.get(name).copied())
                .unwrap_or(0)
        };
        Amount { cpu: read("cpu"), memory: read("memory"), gpu: read(GPU), pods: 0 }
    };
    let mut total = Amount::default();
    for item in kube::seq(spec.get("containers")) {
        total.add(&container(item));
    }
    let mut init_peak = Amount::default();
    for item in kube::seq(spec.get("initContainers")) {
        let amount = container(item);
        if kube::get_str(item, &["restartPolicy"]) == Some("Always") {
            total.add(&amount);
        } else {
            init_peak.cpu = init_peak.cpu.max(amount.cpu);
            init_peak.memory = init_peak.memory.max(amount.memory);
            init_peak.gpu = init_peak.gpu.max(amount.gpu);
        }
    }
    Amount {
        cpu: total.cpu.max(init_peak.cpu),
        memory: total.memory.max(init_peak.memory),
        gpu: total.gpu.max(init_peak.gpu),
        pods: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_amounts_for_people() {
        assert_eq!(format("cpu", 1500), "1.5");
        assert_eq!(format("cpu", 250), "0.25");
        assert_eq!(format("cpu", 16000), "16");
        assert_eq!(format("memory", 512 * (1 << 20) * 1000), "512Mi");
        assert_eq!(format("memory", 3 * (1 << 29) * 1000), "1.5Gi");
        assert_eq!(format(GPU, 2000), "2");
        assert_eq!(format("pods", 14), "14");
    }

    #[test]
    fn pod_request_sums_containers_and_takes_init_peak() {
        let spec: Value = serde_yaml::from_str(
            "containers:\n  - resources: {requests: {cpu: 500m, memory: 1Gi}}\n  - resources: {limits: {cpu: '1', nvidia.com/gpu: 1}}\n  - {}\ninitContainers:\n  - resources: {requests: {cpu: '4'}}\n",
        )
        .unwrap();
        let defaults = Defaults { request: [("memory".to_string(), 100)].into() };
        let request = pod_request(&spec, &defaults);
        assert_eq!(request.cpu, 4000);
        assert_eq!(request.memory, (1u128 << 30) * 1000 + 200);
        assert_eq!(request.gpu, 1000);
        assert_eq!(request.pods, 1);
    }
}
