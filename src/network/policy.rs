//! `networking.k8s.io/v1` NetworkPolicy objects as typed rules.
//!
//! Read from rendered objects that passed the schema; anything odd left
//! (a port that is neither a number nor a name) makes the rule match nothing
//! rather than everything, so kiln never reports a flow as allowed that a
//! policy controller would drop. The defaults are the API's
//! (`NetworkPolicySpec`, `NetworkPolicyPort`): `policyTypes` unset means
//! Ingress, plus Egress when the policy has an `egress` section; a port's
//! protocol defaults to TCP; a rule without `from`/`to` matches every peer,
//! one without `ports` every port.

use serde_yaml::Value;

use super::cidr::{Block, Cidr};
pub use crate::kube::ports::{PortRef, Protocol};
use crate::kube::{self, Selector};
use crate::output::object::Object;

/// One entry of a rule's `ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    pub protocol: Protocol,
    /// `None`: every port of the protocol.
    pub port: Option<PortRef>,
    /// The last port of a numeric range (`endPort`).
    pub end_port: Option<u16>,
    /// A port that cannot be read: matches nothing.
    pub unreadable: bool,
}

/// One entry of a rule's `from` or `to`.
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// Pods: `namespaces` `None` means the policy's own namespace, `pods`
    /// `None` every pod of the selected namespaces.
    Pods {
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
    Block(Block),
    /// A peer that cannot be read: matches nothing.
    Unreadable,
}

/// One ingress or egress rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `None`: every peer (no `from`/`to`, or an empty list).
    pub peers: Option<Vec<Peer>>,
    /// Empty: every port.
    pub ports: Vec<PortRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub namespace: String,
    pub name: String,
    pub selector: Selector,
    /// Whether the policy isolates its pods for ingress, and what it allows.
    pub ingress: Option<Vec<Rule>>,
    pub egress: Option<Vec<Rule>>,
}

impl Policy {
    /// The policy an object declares, if it is a NetworkPolicy.
    pub fn of(object: &Object) -> Option<Policy> {
        let identity = &object.identity;
        if identity.kind != "NetworkPolicy" || identity.group != "networking.k8s.io" {
            return None;
        }
        let spec = object.value.get("spec")?;
        let types: Option<Vec<&str>> =
            spec.get("policyTypes").map(|types| kube::seq(Some(types)).iter().filter_map(Value::as_str).collect());
        let has_egress = spec.get("egress").is_some_and(|egress| !egress.is_null());
        let (ingress_type, egress_type) = match &types {
            Some(types) => (types.contains(&"Ingress"), types.contains(&"Egress")),
            None => (true, has_egress),
        };
        let rules =
            |key: &str, peers: &str| kube::seq(spec.get(key)).iter().map(|rule| Rule::parse(rule, peers)).collect();
        Some(Policy {
            namespace: identity.namespace.clone().unwrap_or_default(),
            name: identity.name.clone(),
            selector: Selector::parse(spec.get("podSelector")),
            ingress: ingress_type.then(|| rules("ingress", "from")),
            egress: egress_type.then(|| rules("egress", "to")),
        })
    }

    /// `namespace/name`, as findings name it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl Rule {
    fn parse(rule: &Value, peers_key: &str) -> Rule {
        let peers = kube::seq(rule.get(peers_key));
        Rule {
            peers: (!peers.is_empty()).then(|| peers.iter().map(Peer::parse).collect()),
            ports: kube::seq(rule.get("ports")).iter().map(PortRule::parse).collect(),
        }
    }
}

impl Peer {
    fn parse(peer: &Value) -> Peer {
        if let Some(block) = peer.get("ipBlock") {
            let cidr = kube::get_str(block, &["cidr"]).and_then(|text| text.parse::<Cidr>().ok());
            let except: Option<Vec<Cidr>> =
                kube::seq(block.get("except")).iter().map(|text| text.as_str()?.parse().ok()).collect();
            return match (cidr, except) {
                (Some(cidr), Some(except)) => Peer::Block(Block { cidr, except }),
                _ => Peer::Unreadable,
            };
        }
        let namespaces = peer.get("namespaceSelector").map(|value| Selector::parse(Some(value)));
        let pods = peer.get("podSelector").map(|value| Selector::parse(Some(value)));
        if namespaces.is_none() && pods.is_none() {
            return Peer::Unreadable;
        }
        Peer::Pods { namespaces, pods }
    }
}

impl PortRule {
    fn parse(port: &Value) -> PortRule {
        let protocol = match port.get("protocol") {
            None | Some(Value::Null) => Some(Protocol::Tcp),
            Some(value) => value.as_str().and_then(Protocol::parse),
        };
        let number = port.get("port").filter(|value| !value.is_null());
        let parsed = number.map(PortRef::parse);
        let end_port = port.get("endPort").filter(|value| !value.is_null());
        let end = end_port.map(|value| value.as_u64().and_then(|n| u16::try_from(n).ok()));
        PortRule {
            protocol: protocol.unwrap_or(Protocol::Tcp),
            port: parsed.clone().flatten(),
            end_port: end.flatten(),
            unreadable: protocol.is_none()
                || matches!(parsed, Some(None))
                || matches!(end, Some(None))
                || (end_port.is_some() && !matches!(parsed, Some(Some(PortRef::Number(_))))),
        }
    }

    /// Whether the rule lets a connection to `port`/`protocol` through, on a
    /// destination pod whose container port of that number is named `name`.
    pub fn matches(&self, port: u16, protocol: Protocol, name: Option<&str>) -> bool {
        if self.unreadable || self.protocol != protocol {
            return false;
        }
        match (&self.port, self.end_port) {
            (None, _) => true,
            (Some(PortRef::Number(first)), Some(last)) => (*first..=last).contains(&port),
            (Some(PortRef::Number(number)), None) => *number == port,
            (Some(PortRef::Name(wanted)), _) => name == Some(wanted.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn policy(yaml: &str) -> Policy {
        let object = crate::network::tests::object(yaml);
        Policy::of(&object).unwrap()
    }

    #[test]
    fn policy_types_default_to_ingress_plus_egress_when_there_is_an_egress_section() {
        let ingress_only = policy("kind: NetworkPolicy\nmetadata: {name: a, namespace: n}\nspec: {podSelector: {}}\n");
        assert_eq!((ingress_only.ingress.is_some(), ingress_only.egress.is_some()), (true, false));
        let both = policy(
            "kind: NetworkPolicy\nmetadata: {name: a, namespace: n}\nspec:\n  podSelector: {}\n  egress: [{}]\n",
        );
        assert_eq!((both.ingress.is_some(), both.egress.is_some()), (true, true));
        let egress = policy(
            "kind: NetworkPolicy\nmetadata: {name: a, namespace: n}\nspec: {podSelector: {}, policyTypes: [Egress]}\n",
        );
        assert_eq!((egress.ingress.is_some(), egress.egress.map(|rules| rules.len())), (false, Some(0)));
    }

    #[test]
    fn ports_default_to_tcp_and_ranges_need_a_number() {
        let port = |yaml: &str| PortRule::parse(&serde_yaml::from_str(yaml).unwrap());
        let any_tcp = port("{}");
        assert!(any_tcp.matches(1, Protocol::Tcp, None) && !any_tcp.matches(1, Protocol::Udp, None));
        let range = port("{port: 32000, endPort: 32768}");
        assert!(range.matches(32000, Protocol::Tcp, None) && range.matches(32768, Protocol::Tcp, None));
        assert!(!range.matches(32769, Protocol::Tcp, None));
        let named = port("{port: http, protocol: TCP}");
        assert!(named.matches(8080, Protocol::Tcp, Some("http")) && !named.matches(8080, Protocol::Tcp, None));
        let text_number = port("{port: '53', protocol: UDP}");
        assert!(text_number.matches(53, Protocol::Udp, None));
        for odd in ["{port: 70000}", "{protocol: ICMP}", "{port: http, endPort: 90}", "{port: [1]}"] {
            assert!(!port(odd).matches(70, Protocol::Tcp, Some("http")), "{odd} must match nothing");
        }
    }

    #[test]
    fn unreadable_peers_match_nothing() {
        let p = policy(
            "kind: NetworkPolicy\nmetadata: {name: a, namespace: n}\nspec:\n  podSelector: {}\n  ingress:\n    - from: [{ipBlock: {cidr: nonsense}}, {}]\n",
        );
        assert_eq!(p.ingress.unwrap()[0].peers, Some(vec![Peer::Unreadable, Peer::Unreadable]));
    }
}
