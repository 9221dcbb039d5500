//! The cluster's network as its NetworkPolicies shape it: which pod may open
//! a connection to which pod or outside address, on which port.
//!
//! [`policy`] reads the rendered `NetworkPolicy` objects into typed rules,
//! [`cidr`] answers which addresses `ipBlock`s cover, and [`evaluate`]
//! decides a connection with Kubernetes' semantics (sources in each module);
//! [`flows`] checks the declared flows through it and [`privilege`] the paths
//! it allows that no flow declares.
//! Entry point: [`Network::of`], the network of an assembled tree.

pub mod cidr;
pub mod evaluate;
pub mod flows;
pub mod policy;
pub mod privilege;

use std::collections::BTreeMap;

pub use evaluate::{ContainerPort, Decision, Destination, Network, Pod, Verdict};
pub use policy::{Policy, Protocol};

use crate::kube;
use crate::output::object::Object;

impl Network {
    /// The policies and namespace labels of `objects`.
    pub fn of(objects: &[Object]) -> Network {
        let policies = objects.iter().filter_map(Policy::of).collect();
        let namespaces = objects
            .iter()
            .filter(|object| object.identity.kind == "Namespace" && object.identity.group.is_empty())
            .map(|object| {
                (object.identity.name.clone(), kube::string_map(kube::get(&object.value, &["metadata", "labels"])))
            })
            .collect::<BTreeMap<_, _>>();
        Network::new(policies, namespaces)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::output::object::{Identity, Object, Origin};

    /// An object from YAML with `kind` and `metadata`; NetworkPolicies get their group.
    pub(crate) fn object(yaml: &str) -> Object {
        let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        let text = |path: &[&str]| crate::kube::get_str(&value, path).map(str::to_string);
        let kind = text(&["kind"]).unwrap();
        Object {
            identity: Identity {
                group: if kind == "NetworkPolicy" { "networking.k8s.io".into() } else { String::new() },
                namespace: text(&["metadata", "namespace"]),
                name: text(&["metadata", "name"]).unwrap(),
                kind,
            },
            value,
            origin: Origin::for_tests(),
        }
    }

    #[test]
    fn namespace_labels_come_from_the_namespace_objects() {
        let objects = [
            object("kind: Namespace\nmetadata: {name: core, labels: {team: ai}}\n"),
            object("kind: NetworkPolicy\nmetadata: {name: p, namespace: infra}\nspec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ai}}}]}]\n"),
        ];
        let network = super::Network::of(&objects);
        let none = Default::default();
        let from = super::Pod { namespace: "core", labels: &none, ports: &[] };
        let other = super::Pod { namespace: "gpu", labels: &none, ports: &[] };
        let to = super::Destination::Pod(super::Pod { namespace: "infra", labels: &none, ports: &[] });
        assert!(network.verdict(&from, &to, 80, super::Protocol::Tcp).allowed());
        assert!(!network.verdict(&other, &to, 80, super::Protocol::Tcp).allowed());
    }
}
