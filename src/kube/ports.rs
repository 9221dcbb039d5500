//! Ports as Kubernetes names them, and a Service's ports: the types both
//! the NetworkPolicy model (`network`) and the Ingress checks (`validate`)
//! read. A `ServicePort`'s `targetPort` defaults to its `port` and its
//! `protocol` to TCP (Kubernetes API, `ServicePort`); a Service port is
//! named by its number or its `name`.

use serde_yaml::Value;

use crate::kube;
use crate::output::object::Object;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn parse(text: &str) -> Option<Protocol> {
        match text {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// A port as a policy or a Service names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    /// A container port's `name` on the destination pod.
    Name(String),
}

impl PortRef {
    pub fn parse(value: &Value) -> Option<PortRef> {
        match value {
            Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()).map(PortRef::Number),
            Value::String(text) => match text.parse::<u16>() {
                Ok(number) => Some(PortRef::Number(number)),
                Err(_) => Some(PortRef::Name(text.clone())),
            },
            _ => None,
        }
    }
}

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    /// The pod port it forwards to.
    pub target: PortRef,
    pub protocol: Protocol,
}

impl ServicePort {
    /// Whether `wanted` (a number or a name) names this port.
    pub fn answers(&self, wanted: &PortRef) -> bool {
        match wanted {
            PortRef::Number(number) => self.port == *number,
            PortRef::Name(name) => self.name.as_deref() == Some(name.as_str()),
        }
    }

    /// `name port/PROTOCOL`, or `port/PROTOCOL` for an unnamed port.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} {}/{}", self.port, self.protocol.as_str()),
            None => format!("{}/{}", self.port, self.protocol.as_str()),
        }
    }
}

/// The ports of a core `Service` object (`None` for any other object). A
/// port whose number or protocol is not one is left out: it answers no one.
pub fn service_ports(object: &Object) -> Option<Vec<ServicePort>> {
    if object.identity.kind != "Service" || !object.identity.group.is_empty() {
        return None;
    }
    let ports = kube::seq(kube::get(&object.value, &["spec", "ports"]))
        .iter()
        .filter_map(|port| {
            let number = kube::int(port.get("port")).and_then(|n| u16::try_from(n).ok())?;
            let target = port.get("targetPort").and_then(PortRef::parse).unwrap_or(PortRef::Number(number));
            Some(ServicePort {
                name: kube::get_str(port, &["name"]).map(str::to_string),
                port: number,
                target,
                protocol: kube::get_str(port, &["protocol"]).map_or(Some(Protocol::Tcp), Protocol::parse)?,
            })
        })
        .collect();
    Some(ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::object;

    #[test]
    fn a_service_port_defaults_its_target_to_itself_and_its_protocol_to_tcp() {
        let service = object(
            "kind: Service\nmetadata: {name: db, namespace: data}\nspec:\n  ports:\n    - {name: pg, port: 5432}\n    - {port: 9187, targetPort: metrics, protocol: UDP}\n    - {port: 70000}\n    - {port: 53, protocol: ICMP}\n",
        );
        let ports = service_ports(&service).unwrap();
        assert_eq!(
            ports,
            [
                ServicePort {
                    name: Some("pg".into()),
                    port: 5432,
                    target: PortRef::Number(5432),
                    protocol: Protocol::Tcp
                },
                ServicePort {
                    name: None,
                    port: 9187,
                    target: PortRef::Name("metrics".into()),
                    protocol: Protocol::Udp
                },
            ]
        );
        assert!(ports[0].answers(&PortRef::Name("pg".into())) && ports[0].answers(&PortRef::Number(5432)));
        assert!(!ports[1].answers(&PortRef::Name("metrics".into())));
        assert_eq!(ports[1].describe(), "9187/UDP");
        assert!(service_ports(&object("kind: ConfigMap\nmetadata: {name: db}\n")).is_none());
    }
}
