//! `ingress-backend`: every backend of an Ingress (the default backend and
//! each rule's paths) names a Service of its namespace and a port that Service
//! declares, by number or by name
//! (<https://kubernetes.io/docs/concepts/services-networking/ingress/>),
//! read as `kube::ports` reads a Service's ports.

use serde_yaml::Value;

use super::{Context, INGRESS_BACKEND};
use crate::diagnostic::did_you_mean;
use crate::kube;
use crate::kube::ports::{service_ports, PortRef};
use crate::output::object::Object;
use crate::values::key_path::KeyPath;

impl<'b> Context<'b> {
    pub(super) fn ingress_backend(&mut self, object: &'b Object) {
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        let mut backends: Vec<(KeyPath, &Value)> = Vec::new();
        if let Some(service) = kube::get(&object.value, &["spec", "defaultBackend", "service"]) {
            backends.push((KeyPath::parse("spec.defaultBackend.service"), service));
        }
        for (rule_index, rule) in kube::seq(kube::get(&object.value, &["spec", "rules"])).iter().enumerate() {
            for (path_index, path) in kube::seq(kube::get(rule, &["http", "paths"])).iter().enumerate() {
                if let Some(service) = kube::get(path, &["backend", "service"]) {
                    let at = KeyPath::root()
                        .key("spec")
                        .key("rules")
                        .index(rule_index)
                        .key("http")
                        .key("paths")
                        .index(path_index)
                        .key("backend")
                        .key("service");
                    backends.push((at, service));
                }
            }
        }
        let services: Vec<&Object> = self
            .objects_in(&namespace)
            .iter()
            .copied()
            .filter(|o| o.identity.group.is_empty() && o.identity.kind == "Service")
            .collect();
        for (path, backend) in backends {
            let name = kube::get_str(backend, &["name"]).unwrap_or_default();
            let Some(service) = services.iter().find(|service| service.identity.name == name) else {
                let help = match did_you_mean(name, services.iter().map(|s| s.identity.name.as_str())) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "render the Service or point the backend at an existing one".into(),
                };
                self.report(
                    object,
                    INGRESS_BACKEND,
                    path.key("name"),
                    format!("backend Service `{name}` does not exist in namespace `{namespace}`"),
                    &help,
                );
                continue;
            };
            let ports = service_ports(service).unwrap_or_default();
            let (wanted, port) = match (
                kube::get(backend, &["port", "number"]).and_then(Value::as_i64),
                kube::get_str(backend, &["port", "name"]),
            ) {
                (Some(number), _) => (number.to_string(), u16::try_from(number).ok().map(PortRef::Number)),
                (None, Some(name)) => (name.to_string(), Some(PortRef::Name(name.to_string()))),
                (None, None) => continue,
            };
            if !port.is_some_and(|port| ports.iter().any(|candidate| candidate.answers(&port))) {
                let known: Vec<String> = ports
                    .iter()
                    .map(|p| match &p.name {
                        Some(name) => format!("{} ({name})", p.port),
                        None => p.port.to_string(),
                    })
                    .collect();
                self.report(
                    object,
                    INGRESS_BACKEND,
                    path.key("port"),
                    format!("Service `{name}` has no port `{wanted}`"),
                    &format!("its ports: {}", if known.is_empty() { "none".into() } else { known.join(", ") }),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::INGRESS_BACKEND;
    use crate::validate::policy::fixture::Cluster;

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    fn ingress(backend: &str) -> String {
        format!(
            "apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{ports: [{{name: http, port: 80}}]}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web}}
spec:
  rules:
    - http:
        paths:
          - {{path: /, pathType: Prefix, backend: {{service: {backend}}}}}
"
        )
    }

    #[test]
    fn a_backend_naming_a_missing_service_or_port_is_reported() {
        assert_eq!(
            Cluster::new(WEB, &ingress("{name: wbe, port: {number: 80}}")).findings(INGRESS_BACKEND),
            ["spec.rules[0].http.paths[0].backend.service.name: backend Service `wbe` does not exist in namespace `apps`"]
        );
        assert_eq!(
            Cluster::new(WEB, &ingress("{name: web, port: {number: 8080}}")).findings(INGRESS_BACKEND),
            ["spec.rules[0].http.paths[0].backend.service.port: Service `web` has no port `8080`"]
        );
    }

    #[test]
    fn a_backend_port_may_be_named() {
        assert!(Cluster::new(WEB, &ingress("{name: web, port: {name: http}}")).findings(INGRESS_BACKEND).is_empty());
    }
}
