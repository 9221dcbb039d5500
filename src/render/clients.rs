//! The declared clients of each workload: every enabled workload whose
//! `flows` name a Service of it, resolved to the container port the flow
//! reaches. Workload templates see them as `clients`, so a NetworkPolicy can
//! admit exactly the pods that declare a flow, on exactly that port (least
//! privilege), instead of a whole namespace.
//!
//! A flow names a Service (`name` in the client's namespace, or
//! `namespace/name`) and one of its ports by name or number. kiln renders a
//! workload's Service under the workload's name, each port with
//! `targetPort` set to the container port of the same name
//! (`templates/workloads/service.yaml`), so the flow reaches that container
//! port; NetworkPolicies act on pod ports, after the Service's translation
//! (kubernetes.io, "Network Policies"). A flow that names no such workload or
//! port admits nothing here: `kiln plan` reports it (`plan-flow`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::network::flows::service_key;
use crate::values::schema::Workload;
use crate::values::Values;

/// One client of a workload, as the template sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Client {
    pub namespace: String,
    /// The client workload's name (`name`, as a workload's, so
    /// `meta::selector` selects its pods).
    pub name: String,
    /// The destination's container port.
    pub port: u16,
    pub protocol: String,
}

/// `(namespace, workload)` → its clients, sorted, without duplicates.
pub type Clients = BTreeMap<(String, String), Vec<Client>>;

pub fn index(values: &Values) -> Clients {
    let mut found: BTreeMap<(String, String), BTreeSet<Client>> = BTreeMap::new();
    for (namespace, ns) in &values.namespaces {
        for (name, workload) in &ns.workloads {
            if workload.typed.enabled == Some(false) {
                continue;
            }
            for flow in workload.typed.flows.iter().flatten() {
                let (Some(service), Some(port)) = (&flow.service, &flow.port) else { continue };
                let key = service_key(service, namespace);
                let Some(target) = target(values, &key) else { continue };
                let Some((number, protocol)) = container_port(target, &port.0) else { continue };
                found.entry(key).or_default().insert(Client {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    port: number,
                    protocol,
                });
            }
        }
    }
    found.into_iter().map(|(key, clients)| (key, clients.into_iter().collect())).collect()
}

/// The enabled workload a Service name stands for.
pub(super) fn target<'v>(values: &'v Values, (namespace, name): &(String, String)) -> Option<&'v Workload> {
    let workload = &values.namespaces.get(namespace)?.workloads.get(name)?.typed;
    (workload.enabled != Some(false)).then_some(workload)
}

/// The container port (and protocol) behind the Service port `wanted`, a
/// port name or number.
pub(super) fn container_port(workload: &Workload, wanted: &str) -> Option<(u16, String)> {
    workload.ports.iter().flatten().find_map(|port| {
        let number = port.port?;
        let named = port.name.as_deref() == Some(wanted);
        (named || number.to_string() == wanted)
            .then(|| (number, port.protocol.clone().unwrap_or_else(|| "TCP".to_string())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::schema::Port;

    fn workload(ports: &[(&str, u16)]) -> Workload {
        Workload {
            ports: Some(
                ports
                    .iter()
                    .map(|(name, port)| Port { name: Some(name.to_string()), port: Some(*port), protocol: None })
                    .collect(),
            ),
            ..Workload::default()
        }
    }

    #[test]
    fn a_flow_port_resolves_by_name_or_number_to_the_container_port() {
        let redis = workload(&[("redis", 6379), ("metrics", 9121)]);
        assert_eq!(container_port(&redis, "redis"), Some((6379, "TCP".to_string())));
        assert_eq!(container_port(&redis, "9121"), Some((9121, "TCP".to_string())));
        assert_eq!(container_port(&redis, "http"), None);
        assert_eq!(container_port(&redis, "6380"), None);
    }
}
