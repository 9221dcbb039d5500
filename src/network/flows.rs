//! Declared flows against the rendered network: every connection a workload
//! declares (`flows:` in its values) must get through, and the environment
//! must not name a Service no flow declares.
//!
//! A flow to a Service resolves as the cluster does: the Service of that
//! name in the namespace, its port by number or name, the `targetPort`
//! (a number, or a container port name of each backing pod; unset means
//! the port itself, Kubernetes `ServicePort`), and the pods its selector
//! matches. NetworkPolicies are evaluated at the pod port, after the
//! Service's translation (kubernetes.io docs, "Network Policies": policies
//! act on pod IPs and ports). Each backing pod template must admit the
//! source's pods. A workload with flows must also reach the cluster DNS:
//! k3s runs CoreDNS in `kube-system` with pod label `k8s-app: kube-dns` and
//! container ports `dns` 53/UDP and `dns-tcp` 53/TCP (k3s
//! `manifests/coredns.yaml`); resolvers use UDP first.
//!
//! A workload may require a credential of its clients (`clientCredential`:
//! a secret and keys). A `secretKeyRef` names a Secret of the pod's own
//! namespace only, so every source of a flow into it must read those keys
//! of a secret of that name in its own namespace.
//!
//! An environment value names a Service when its host (after an optional
//! `scheme://` and `user@`, before `:port` or `/path`) is
//! `<name>.<namespace>.svc[.<domain>]`, `<name>.<namespace>` for a namespace
//! of the cluster, or a bare `<name>` of a Service in the workload's own
//! namespace: the names a pod's resolver expands through its search list
//! (`<ns>.svc.<domain>`, `svc.<domain>`, `<domain>`, Kubernetes "DNS for
//! Services and Pods").
//!
//! Cost: Services are looked up by namespace and name, a flow's backends
//! among the workloads of the Service's namespace, and verdicts read the
//! policies of two namespaces ([`evaluate`](super::evaluate)): linear in
//! flows × (workloads + policies) per namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::cidr::External;
use super::evaluate::{ContainerPort, Decision, Destination, Network, Pod};
use super::policy::{PortRef, Protocol};
use super::privilege::{Declared, Endpoint};
use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::kube::ports::{service_ports, ServicePort};
use crate::kube::{self, PodTemplate, Selector};
use crate::output::object::Object;
use crate::values::key_path::KeyPath;
use crate::values::schema::{Flow, FlowPort, Workload as WorkloadValues};
use crate::values::Values;

/// A declared flow that NetworkPolicies or the Services do not let through.
pub const FLOW: &str = "plan-flow";
/// An environment value naming a Service no flow declares.
pub const UNDECLARED: &str = "plan-flow-undeclared";
/// A flow to a workload whose clients need a credential the source does not read.
pub const CREDENTIAL: &str = "plan-flow-credential";

/// One declared flow and what the network makes of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowReport {
    /// `namespace/name` of the workload that opens it.
    pub from: String,
    /// `namespace/service:port`, `host:port` or `cidr:port`.
    pub to: String,
    pub protocol: &'static str,
    pub allowed: bool,
    /// The policies that let it through, or why it is stopped.
    pub detail: String,
}

/// The connectivity section of a plan.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connectivity {
    pub flows: Vec<FlowReport>,
}

/// A workload's pods as the network sees them.
struct Workload<'o> {
    namespace: &'o str,
    name: &'o str,
    object: &'o Object,
    labels: BTreeMap<String, String>,
    ports: Vec<ContainerPort>,
}

impl Workload<'_> {
    fn pod(&self) -> Pod<'_> {
        Pod { namespace: self.namespace, labels: &self.labels, ports: &self.ports }
    }

    fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The workloads of each namespace, in object order.
type ByNamespace<'w, 'o> = HashMap<&'o str, Vec<&'w Workload<'o>>>;

struct Service<'o> {
    namespace: &'o str,
    name: &'o str,
    selector: BTreeMap<String, String>,
    ports: Vec<ServicePort>,
}

/// Checks every declared flow and the Service names in the environment.
pub fn check(build: &Build, locator: &Locator) -> (Connectivity, Vec<Diagnostic>) {
    let network = Network::of(&build.objects);
    let workloads: Vec<Workload> = build.objects.iter().filter_map(workload).collect();
    // A flow's backends are looked up among its Service's namespace only.
    let mut by_namespace: ByNamespace = HashMap::new();
    for pod in &workloads {
        by_namespace.entry(pod.namespace).or_default().push(pod);
    }
    let services: BTreeMap<(&str, &str), Service> =
        build.objects.iter().filter_map(service).map(|service| ((service.namespace, service.name), service)).collect();
    let namespaces: BTreeSet<&str> = build.values.namespaces.keys().map(String::as_str).collect();
    let mut connectivity = Connectivity::default();
    let mut findings = Vec::new();
    let mut needed = Declared::new();
    let mut seen = BTreeSet::new();
    for source in &workloads {
        // A workload's pod templates share values; check its flows once.
        if !seen.insert((source.namespace, source.name)) {
            continue;
        }
        let Some(values) = build.values.namespaces.get(source.namespace).and_then(|ns| ns.workloads.get(source.name))
        else {
            continue;
        };
        let flows = values.typed.flows.as_deref().unwrap_or_default();
        let mut context = Context {
            network: &network,
            locator,
            values: &build.values,
            source,
            findings: &mut findings,
            needed: &mut needed,
        };
        for (index, flow) in flows.iter().enumerate() {
            if let Some(report) = context.flow(index, flow, &services, &by_namespace) {
                connectivity.flows.push(report);
            }
        }
        if !flows.is_empty() {
            context.dns();
        }
        let declared: BTreeSet<(String, String)> =
            flows.iter().filter_map(|flow| flow.service.as_deref().map(|s| service_key(s, source.namespace))).collect();
        for (key, value) in values.typed.env.iter().flatten() {
            let Some((namespace, name)) = named_service(&value.0, source.namespace, &namespaces, &services) else {
                continue;
            };
            if declared.contains(&(namespace.clone(), name.clone())) {
                continue;
            }
            let mut finding = locator.finding(
                source.object,
                UNDECLARED,
                Severity::Warning,
                "",
                format!(
                    "env `{key}` names Service `{namespace}/{name}`, but no flow of `{}` declares it",
                    source.label()
                ),
            );
            finding.object = None;
            if let Some(span) = locator.span(&source.object.origin.scope, &KeyPath::root().key("env").key(key.clone()))
            {
                finding.span = Some(span);
            }
            findings.push(finding.with_help(format!(
                "declare it under `flows:` (`- {{service: {namespace}/{name}, port: <port>}}`) so the plan proves the NetworkPolicies let it through"
            )));
        }
    }
    let isolated: BTreeSet<&str> = build
        .values
        .namespaces
        .iter()
        .filter(|(_, ns)| ns.namespace.typed.network_policy.as_ref().and_then(|p| p.default_deny) == Some(true))
        .map(|(name, _)| name.as_str())
        .collect();
    let endpoints: Vec<Endpoint> = workloads
        .iter()
        .map(|w| Endpoint { namespace: w.namespace, name: w.name, object: w.object, pod: w.pod() })
        .collect();
    findings.extend(super::privilege::check(&network, &endpoints, &needed, &isolated, locator));
    (connectivity, findings)
}

struct Context<'c, 'o> {
    network: &'c Network,
    locator: &'c Locator<'c>,
    values: &'c Values,
    source: &'c Workload<'o>,
    findings: &'c mut Vec<Diagnostic>,
    /// The pod-to-pod connections the declared flows need.
    needed: &'c mut Declared<'o>,
}

impl<'o> Context<'_, 'o> {
    fn fail(&mut self, index: usize, message: String, help: &str) {
        self.fail_with(FLOW, index, message, help);
    }

    fn fail_with(&mut self, code: &str, index: usize, message: String, help: &str) {
        let mut finding = self.locator.finding(self.source.object, code, Severity::Error, "", message);
        finding.object = None;
        let at = KeyPath::root().key("flows").index(index);
        if let Some(span) = self.locator.span(&self.source.object.origin.scope, &at) {
            finding.span = Some(span);
        }
        self.findings.push(finding.with_help(help));
    }

    fn flow(
        &mut self,
        index: usize,
        flow: &Flow,
        services: &BTreeMap<(&str, &str), Service>,
        workloads: &ByNamespace<'_, 'o>,
    ) -> Option<FlowReport> {
        let protocol = flow.protocol.as_deref().and_then(Protocol::parse).unwrap_or(Protocol::Tcp);
        let FlowPort(port) = flow.port.as_ref()?;
        if let Some(service) = &flow.service {
            return self.service_flow(index, service, port, protocol, services, workloads);
        }
        let number: u16 = port.parse().ok()?;
        let (external, text) = match (&flow.host, &flow.cidr) {
            (Some(host), _) => (External::Internet, host.clone()),
            (None, Some(cidr)) => (External::Cidr(cidr.parse().ok()?), cidr.clone()),
            (None, None) => return None,
        };
        let to = format!("{text}:{number}");
        let verdict = self.network.verdict(&self.source.pod(), &Destination::External(&external), number, protocol);
        let report = self.report(&to, protocol, &verdict.egress, None);
        if !report.allowed {
            let reach = if flow.host.is_some() { "every public IPv4 address" } else { "those addresses" };
            self.fail(
                index,
                format!("flow `{}` → `{to}`/{}: {}", self.source.label(), protocol.as_str(), report.detail),
                &format!("allow egress to {reach} on port {number} for this workload (an `ipBlock` in a NetworkPolicy of `{}`), e.g. `networkPolicy.egressCidrs` in the namespace's values", self.source.namespace),
            );
        }
        Some(report)
    }

    fn service_flow(
        &mut self,
        index: usize,
        service: &str,
        port: &str,
        protocol: Protocol,
        services: &BTreeMap<(&str, &str), Service>,
        workloads: &ByNamespace<'_, 'o>,
    ) -> Option<FlowReport> {
        let (namespace, name) = service_key(service, self.source.namespace);
        let target = format!("{namespace}/{name}:{port}");
        let Some(found) = services.get(&(namespace.as_str(), name.as_str())) else {
            self.fail(
                index,
                format!(
                    "flow `{}` → `{target}`: there is no Service `{name}` in namespace `{namespace}`",
                    self.source.label()
                ),
                "name a Service that is rendered: a workload's own name, with its namespace (`namespace/name`)",
            );
            return None;
        };
        let wanted = PortRef::parse(&serde_yaml::Value::String(port.to_string()))?;
        let Some(service_port) =
            found.ports.iter().find(|candidate| candidate.protocol == protocol && candidate.answers(&wanted))
        else {
            let ports: Vec<String> = found.ports.iter().map(ServicePort::describe).collect();
            self.fail(
                index,
                format!(
                    "flow `{}` → `{target}`: Service `{namespace}/{name}` has no port `{port}`/{} (it has {})",
                    self.source.label(),
                    protocol.as_str(),
                    if ports.is_empty() { "none".to_string() } else { ports.join(", ") }
                ),
                "use one of the Service's ports, by number or name",
            );
            return None;
        };
        let to = format!("{namespace}/{name}:{}", service_port.port);
        let selector = Selector::from_map(found.selector.clone());
        let backends: Vec<&Workload> = workloads
            .get(namespace.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|pod| !found.selector.is_empty() && selector.matches(&pod.labels))
            .collect();
        if backends.is_empty() {
            self.fail(
                index,
                format!(
                    "flow `{}` → `{to}`: Service `{namespace}/{name}` selects no rendered pods",
                    self.source.label()
                ),
                "the Service's selector must match the labels of a workload's pod template",
            );
            return None;
        }
        let mut first: Option<FlowReport> = None;
        for backend in backends {
            let number = match &service_port.target {
                PortRef::Number(number) => Some(*number),
                PortRef::Name(target) => backend
                    .ports
                    .iter()
                    .find(|p| p.name.as_deref() == Some(target.as_str()) && p.protocol == protocol)
                    .map(|p| p.number),
            };
            let Some(number) = number else {
                self.fail(
                    index,
                    format!(
                        "flow `{}` → `{to}`: the Service's targetPort names no container port of `{}`",
                        self.source.label(),
                        backend.label()
                    ),
                    "name the container port the Service targets in the workload's `ports`",
                );
                return None;
            };
            let verdict = self.network.verdict(&self.source.pod(), &Destination::Pod(backend.pod()), number, protocol);
            let report = self.report(&to, protocol, &verdict.egress, verdict.ingress.as_ref());
            if !report.allowed {
                self.fail(
                    index,
                    format!("flow `{}` → `{to}`/{}: {}", self.source.label(), protocol.as_str(), report.detail),
                    &format!(
                        "allow it in a NetworkPolicy: egress from `{}` and ingress to `{}` on port {number}",
                        self.source.label(),
                        backend.label()
                    ),
                );
                return Some(report);
            }
            self.needed.insert(((self.source.namespace, self.source.name), (backend.namespace, backend.name), number));
            self.credential(index, &to, backend);
            first.get_or_insert(report);
        }
        first
    }

    fn workload_values(&self, workload: &Workload) -> Option<&WorkloadValues> {
        let namespace = self.values.namespaces.get(workload.namespace)?;
        namespace.workloads.get(workload.name).map(|values| &values.typed)
    }

    /// The backend's `clientCredential`: the source must read each key of a
    /// secret of that name in its own namespace (a `secretKeyRef` can only
    /// name a Secret of the pod's namespace, Kubernetes `EnvVarSource`).
    fn credential(&mut self, index: usize, to: &str, backend: &Workload) {
        let Some(credential) = self.workload_values(backend).and_then(|values| values.client_credential.clone()) else {
            return;
        };
        let (Some(secret), Some(keys)) = (credential.secret, credential.keys) else { return };
        let Some(source) = self.workload_values(self.source) else { return };
        let mounted =
            source.secret_mounts.iter().flatten().any(|mount| mount.secret.as_deref() == Some(secret.as_str()));
        let read: BTreeSet<&str> = source
            .secret_env
            .iter()
            .flatten()
            .filter(|(_, reference)| reference.secret.as_deref() == Some(secret.as_str()))
            .filter_map(|(_, reference)| reference.key.as_deref())
            .collect();
        let missing: Vec<&str> =
            keys.iter().map(String::as_str).filter(|key| !mounted && !read.contains(key)).collect();
        if missing.is_empty() {
            return;
        }
        let first = missing.first().copied().unwrap_or_default();
        self.fail_with(
            CREDENTIAL,
            index,
            format!(
                "flow `{}` → `{to}`: `{}` requires clients to present `{secret}` {} `{}`, which `{}` does not read",
                self.source.label(),
                backend.label(),
                if missing.len() == 1 { "key" } else { "keys" },
                missing.join("`, `"),
                self.source.label()
            ),
            &format!(
                "declare secret `{secret}` in namespace `{}` too (sealed for it: `kiln seal`) and read it: `secretEnv: {{{first}: {{secret: {secret}, key: {first}}}}}`",
                self.source.namespace
            ),
        );
    }

    fn report(&self, to: &str, protocol: Protocol, egress: &Decision, ingress: Option<&Decision>) -> FlowReport {
        let side = |direction: &str, decision: &Decision| match decision {
            Decision::Open => format!("{direction} open"),
            Decision::Allowed(by) => format!("{direction} by {}", by.join(", ")),
            Decision::Denied(by) => format!("{direction} denied ({} allow none of it)", by.join(", ")),
        };
        let mut parts = vec![side("egress", egress)];
        parts.extend(ingress.map(|ingress| side("ingress", ingress)));
        let allowed = egress.allows() && ingress.is_none_or(Decision::allows);
        FlowReport {
            from: self.source.label(),
            to: to.to_string(),
            protocol: protocol.as_str(),
            allowed,
            detail: parts.join("; "),
        }
    }

    /// Egress from the workload's pods to the cluster DNS on UDP 53.
    fn dns(&mut self) {
        let labels = BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]);
        let ports = [
            ContainerPort { name: Some("dns".into()), number: 53, protocol: Protocol::Udp },
            ContainerPort { name: Some("dns-tcp".into()), number: 53, protocol: Protocol::Tcp },
        ];
        let coredns = Pod { namespace: "kube-system", labels: &labels, ports: &ports };
        let verdict = self.network.verdict(&self.source.pod(), &Destination::Pod(coredns), 53, Protocol::Udp);
        if let Decision::Denied(by) = verdict.egress {
            let mut finding = self.locator.finding(
                self.source.object,
                FLOW,
                Severity::Error,
                "",
                format!(
                    "`{}` cannot look up names: egress to the cluster DNS (kube-system, `k8s-app: kube-dns`) on UDP 53 is denied ({} allow none of it)",
                    self.source.label(),
                    by.join(", ")
                ),
            );
            finding.object = None;
            if let Some(span) = self.locator.span(&self.source.object.origin.scope, &KeyPath::root().key("flows")) {
                finding.span = Some(span);
            }
            self.findings.push(finding.with_help("set `networkPolicy.allowDns: true` in the namespace's values"));
        }
    }
}

/// `(namespace, name)` of a flow's `service`.
pub(crate) fn service_key(service: &str, own: &str) -> (String, String) {
    match service.split_once('/') {
        Some((namespace, name)) => (namespace.to_string(), name.to_string()),
        None => (own.to_string(), service.to_string()),
    }
}

fn workload(object: &Object) -> Option<Workload<'_>> {
    let (namespace, name) = object.origin.scope.workload()?;
    let template = PodTemplate::of(object)?;
    let mut ports = Vec::new();
    for (_, container, _) in template.containers() {
        for port in kube::seq(container.get("ports")) {
            let Some(number) = kube::int(port.get("containerPort")).and_then(|n| u16::try_from(n).ok()) else {
                continue;
            };
            let protocol = kube::get_str(port, &["protocol"]).map_or(Some(Protocol::Tcp), Protocol::parse);
            ports.push(ContainerPort {
                name: kube::get_str(port, &["name"]).map(str::to_string),
                number,
                protocol: protocol.unwrap_or(Protocol::Tcp),
            });
        }
    }
    Some(Workload { namespace, name, object, labels: template.labels, ports })
}

fn service(object: &Object) -> Option<Service<'_>> {
    let ports = service_ports(object)?;
    Some(Service {
        namespace: object.identity.namespace.as_deref()?,
        name: &object.identity.name,
        selector: kube::string_map(kube::get(&object.value, &["spec", "selector"])),
        ports,
    })
}

/// The Service an environment value names, if any (see the module docs).
fn named_service(
    value: &str,
    own: &str,
    namespaces: &BTreeSet<&str>,
    services: &BTreeMap<(&str, &str), Service>,
) -> Option<(String, String)> {
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = rest.split(['/', ':', '?', '#']).next()?.trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    let (namespace, name) = match labels.as_slice() {
        [name] => (own, *name),
        [name, namespace] if namespaces.contains(namespace) => (*namespace, *name),
        [name, namespace, "svc", ..] => (*namespace, *name),
        _ => return None,
    };
    services.contains_key(&(namespace, name)).then(|| (namespace.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> BTreeMap<(&'static str, &'static str), Service<'static>> {
        let redis = Service { namespace: "infra", name: "redis", selector: BTreeMap::new(), ports: vec![] };
        BTreeMap::from([(("infra", "redis"), redis)])
    }

    #[test]
    fn env_values_name_services_as_a_resolver_expands_them() {
        let namespaces = BTreeSet::from(["infra", "core"]);
        let services = services();
        let named = |value: &str, own: &str| named_service(value, own, &namespaces, &services);
        let redis = Some(("infra".to_string(), "redis".to_string()));
        assert_eq!(named("redis.infra.svc.cluster.local", "core"), redis);
        assert_eq!(named("redis://:$(REDIS_PASSWORD)@redis.infra.svc:6379/0", "core"), redis);
        assert_eq!(named("redis.infra:6379", "core"), redis);
        assert_eq!(named("redis", "infra"), redis);
        assert_eq!(named("redis", "core"), None);
        assert_eq!(named("http://redis.example.com", "core"), None);
        assert_eq!(named("info", "infra"), None);
        assert_eq!(named("Qwen/Qwen2.5-14B-Instruct-AWQ", "infra"), None);
    }
}
