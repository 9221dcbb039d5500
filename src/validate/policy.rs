//! Policy checks over the rendered objects, each with a stable ID and a
//! severity (see [`POLICIES`] and docs/validation.md). A workload opts out of
//! one policy for its own objects with `policyExceptions: {<id>: "<why>"}` in
//! its values; the justification must be written out. Namespace-wide findings
//! are waived when every enabled workload of the namespace waives them (which
//! is what the namespace's `defaults.workload.policyExceptions` does).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_yaml::Value;

use crate::build::Build;
use crate::diagnostic::{did_you_mean, Diagnostic, Severity, Span};
use crate::finding::Locator;
use crate::kube::{self, PodTemplate, Selector};
use crate::output::object::{Identity, Object};
use crate::plan::nodes::{self, Node};
use crate::plan::schedule::{selection_reason, untolerated};
use crate::plan::workloads::{self, int_or_percent, Kind, Workload};
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;
use crate::values::schema::PodSecurityLevel;

pub struct Policy {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

pub const REQUESTS_LIMITS: &str = "requests-limits";
pub const IMAGE_PINNED: &str = "image-pinned";
pub const READINESS_PROBE: &str = "readiness-probe";
pub const RESTRICTED: &str = "restricted-security-context";
pub const GPU_PLACEMENT: &str = "gpu-placement";
/// Not a policy finding: rendering itself refuses such a Secret (exit 2), and
/// no exception can waive it.
pub const PLAINTEXT_SECRET: &str = "no-plaintext-secret";
pub const NETWORK_POLICY: &str = "namespace-network-policy";
pub const SERVICE_SELECTOR: &str = "service-selector";
pub const INGRESS_BACKEND: &str = "ingress-backend";
pub const HPA_TARGET: &str = "hpa-target";
pub const HPA_METRIC: &str = "hpa-metric-served";
pub const PDB_EVICTION: &str = "pdb-allows-eviction";
pub const CRD_SYNC_ORDER: &str = "crd-sync-order";
pub const POLICY_EXCEPTION: &str = "policy-exception";

/// Every policy kiln enforces. IDs are a contract: values refer to them.
pub const POLICIES: &[Policy] = &[
    Policy { id: REQUESTS_LIMITS, severity: Severity::Error, summary: "every container sets requests.cpu, requests.memory and limits.memory" },
    Policy { id: IMAGE_PINNED, severity: Severity::Error, summary: "every image has a version tag or digest, never `latest` or none" },
    Policy { id: READINESS_PROBE, severity: Severity::Error, summary: "containers of Deployments, StatefulSets and DaemonSets that serve ports have a readinessProbe" },
    Policy { id: RESTRICTED, severity: Severity::Error, summary: "pods in namespaces at the `restricted` Pod Security level meet it" },
    Policy { id: GPU_PLACEMENT, severity: Severity::Error, summary: "pods using nvidia.com/gpu only select GPU nodes, tolerate their taints, run with the nvidia runtime and set the GPU limit" },
    Policy { id: NETWORK_POLICY, severity: Severity::Error, summary: "every app namespace has a default-deny NetworkPolicy and allows DNS egress" },
    Policy { id: SERVICE_SELECTOR, severity: Severity::Error, summary: "every Service selector matches some pod template's labels" },
    Policy { id: INGRESS_BACKEND, severity: Severity::Error, summary: "every Ingress backend Service and port exists" },
    Policy { id: HPA_TARGET, severity: Severity::Error, summary: "every HPA's scale target exists and minReplicas ≤ maxReplicas" },
    Policy { id: HPA_METRIC, severity: Severity::Error, summary: "every Pods, Object and External metric an HPA scales on is served by a rendered prometheus-adapter rule" },
    Policy { id: PDB_EVICTION, severity: Severity::Error, summary: "no PodDisruptionBudget that can never allow an eviction" },
    Policy { id: CRD_SYNC_ORDER, severity: Severity::Error, summary: "custom resources sync in a later Argo CD wave than their CRD or the operator installing it" },
    Policy { id: POLICY_EXCEPTION, severity: Severity::Error, summary: "every policyExceptions entry names a policy and carries a written justification" },
];

/// Who installs the CRDs of a group the cluster uses.
enum Provider {
    /// Present before Argo CD syncs anything (k3s packaged components, Argo CD's own bootstrap).
    Preinstalled,
    /// Installed by an Argo CD Application of one of these Helm charts.
    Charts(&'static [&'static str]),
}

const PROVIDERS: &[(&str, Provider)] = &[
    // Argo CD's own bootstrap installs these before it syncs anything.
    ("argoproj.io", Provider::Preinstalled),
    // k3s itself and its packaged Traefik (unless a node disables `traefik`).
    ("helm.cattle.io", Provider::Preinstalled),
    ("k3s.cattle.io", Provider::Preinstalled),
    ("traefik.io", Provider::Preinstalled),
    ("monitoring.coreos.com", Provider::Charts(&["kube-prometheus-stack", "prometheus-operator-crds"])),
    ("bitnami.com", Provider::Charts(&["sealed-secrets"])),
    ("jaegertracing.io", Provider::Charts(&["jaeger-operator"])),
    ("opentelemetry.io", Provider::Charts(&["opentelemetry-operator"])),
    ("external-secrets.io", Provider::Charts(&["external-secrets"])),
];

/// Runs every policy; findings waived by a justified exception are dropped.
pub fn check(build: &Build, locator: &Locator) -> Vec<Diagnostic> {
    let workloads = workloads::workloads(build);
    let mut labels: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
    let mut namespace_workloads: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, workload) in workloads.iter().enumerate() {
        namespace_workloads.entry(workload.namespace.clone()).or_default().push(index);
        for (key, value) in &workload.labels {
            labels.entry((workload.namespace.clone(), key.clone(), value.clone())).or_default().push(index);
        }
    }
    let mut context = Context {
        labels,
        namespace_workloads,
        identities: build.objects.iter().map(|object| &object.identity).collect(),
        build,
        locator,
        nodes: nodes::nodes(&build.values),
        index: workloads.iter().enumerate().map(|(index, w)| (&w.object.identity, index)).collect(),
        workloads,
        by_namespace: HashMap::new(),
        findings: Vec::new(),
    };
    for object in &build.objects {
        if let Some(namespace) = &object.identity.namespace {
            context.by_namespace.entry(namespace.as_str()).or_default().push(object);
        }
    }
    for object in &build.objects {
        if let Some(template) = PodTemplate::of(object) {
            context.pod_policies(&template);
        }
        match (object.identity.group.as_str(), object.identity.kind.as_str()) {
            ("", "Service") => context.service_selector(object),
            ("networking.k8s.io", "Ingress") => context.ingress_backends(object),
            ("autoscaling", "HorizontalPodAutoscaler") => context.hpa_target(object),
            ("policy", "PodDisruptionBudget") => context.pdb(object),
            _ => {}
        }
    }
    context.network_policies();
    context.crd_sync_order();
    context.exceptions();
    context.findings
}

struct Context<'b> {
    build: &'b Build,
    locator: &'b Locator<'b>,
    nodes: Vec<Node>,
    workloads: Vec<Workload<'b>>,
    /// Object identity → position in `workloads`.
    index: HashMap<&'b Identity, usize>,
    /// (namespace, label key, label value) → workloads whose pods carry that label.
    labels: HashMap<(String, String, String), Vec<usize>>,
    /// Namespace → its workloads.
    namespace_workloads: HashMap<String, Vec<usize>>,
    identities: std::collections::HashSet<&'b Identity>,
    by_namespace: HashMap<&'b str, Vec<&'b Object>>,
    findings: Vec<Diagnostic>,
}

/// The workload values scope an object was rendered for, from its origin.
pub fn workload_of(object: &Object) -> Option<(&str, &str)> {
    object.origin.scope.workload()
}

impl<'b> Context<'b> {
    fn severity(id: &str) -> Severity {
        POLICIES.iter().find(|policy| policy.id == id).map_or(Severity::Error, |policy| policy.severity)
    }

    /// The justification a workload gives for not following `id`, if any.
    fn exception(&self, namespace: &str, workload: &str, id: &str) -> Option<&'b str> {
        let workload = self.build.values.namespaces.get(namespace)?.workloads.get(workload)?;
        let reason = workload.typed.policy_exceptions.as_ref()?.get(id)?;
        (!reason.trim().is_empty()).then_some(reason.as_str())
    }

    fn report(&mut self, object: &Object, id: &str, path: impl ToString, message: String, help: &str) {
        self.report_as(Self::severity(id), object, id, path, message, help);
    }

    fn report_as(
        &mut self,
        severity: Severity,
        object: &Object,
        id: &str,
        path: impl ToString,
        message: String,
        help: &str,
    ) {
        if let Some((namespace, workload)) = workload_of(object) {
            if self.exception(namespace, workload, id).is_some() {
                return;
            }
        }
        let finding = self.locator.finding(object, id, severity, path, message);
        self.findings.push(if help.is_empty() { finding } else { finding.with_help(help) });
    }

    fn workload(&self, object: &Object) -> Option<&Workload<'b>> {
        self.index.get(&object.identity).and_then(|&index| self.workloads.get(index))
    }

    /// Workloads of `namespace` whose pod labels match `selector`; looked up
    /// through one of its labels when it has any, so large namespaces stay cheap.
    fn matching(&self, namespace: &str, selector: &Selector) -> Vec<&Workload<'b>> {
        let candidates = match selector.match_labels.iter().next() {
            Some((key, value)) => self.labels.get(&(namespace.to_string(), key.clone(), value.clone())),
            None => self.namespace_workloads.get(namespace),
        };
        candidates
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&index| self.workloads.get(index))
            .filter(|workload| selector.matches(&workload.labels))
            .collect()
    }

    fn objects_in(&self, namespace: &str) -> &[&'b Object] {
        self.by_namespace.get(namespace).map(Vec::as_slice).unwrap_or_default()
    }

    fn pod_policies(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        let serves = matches!(object.identity.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet");
        for (path, container, init) in template.containers() {
            let name = kube::get_str(container, &["name"]).unwrap_or("?").to_string();
            let missing: Vec<&str> = [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
                .iter()
                .filter(|(field, resource)| kube::get(container, &["resources", field, resource]).is_none())
                .map(|(field, resource)| match (*field, *resource) {
                    ("requests", "cpu") => "requests.cpu",
                    ("requests", _) => "requests.memory",
                    _ => "limits.memory",
                })
                .collect();
            if !missing.is_empty() {
                self.report(
                    object,
                    REQUESTS_LIMITS,
                    path.key("resources"),
                    format!("container `{name}` sets no {}", missing.join(", ")),
                    "set `resources` in the workload's values: requests place the pod, a memory limit contains leaks",
                );
            }
            match kube::get_str(container, &["image"]) {
                None => self.report(
                    object,
                    IMAGE_PINNED,
                    path.key("image"),
                    format!("container `{name}` has no image"),
                    "set `image` to `<name>:<version>` or `<name>@sha256:<digest>`",
                ),
                Some(image) => {
                    if let Some(problem) = image_problem(image) {
                        self.report(
                            object,
                            IMAGE_PINNED,
                            path.key("image"),
                            format!("image `{image}` {problem}"),
                            "pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image",
                        );
                    }
                }
            }
            let ports = !kube::seq(container.get("ports")).is_empty();
            if serves && !init && ports && container.get("readinessProbe").is_none() {
                self.report(
                    object,
                    READINESS_PROBE,
                    path.key("readinessProbe"),
                    format!("container `{name}` serves ports but has no readinessProbe"),
                    "declare `probes.readiness` in the workload's values so Services only route to ready pods",
                );
            }
        }
        self.restricted(template);
        self.gpu_placement(template);
    }

    /// The Pod Security level pods of `namespace` are admitted under.
    fn level(&self, namespace: &str) -> PodSecurityLevel {
        if let Some(values) = self.build.values.namespaces.get(namespace) {
            return values
                .namespace
                .typed
                .pod_security
                .as_ref()
                .and_then(|p| p.level)
                .unwrap_or(PodSecurityLevel::Restricted);
        }
        let label = self.build.objects.iter().find_map(|object| {
            (object.identity.kind == "Namespace" && object.identity.name == namespace)
                .then(|| kube::get_str(&object.value, &["metadata", "labels", "pod-security.kubernetes.io/enforce"]))
                .flatten()
        });
        match label {
            Some("privileged") => PodSecurityLevel::Privileged,
            Some("baseline") => PodSecurityLevel::Baseline,
            // k3s's hardening guide exempts kube-system from Pod Security admission.
            None if namespace == "kube-system" => PodSecurityLevel::Privileged,
            _ => PodSecurityLevel::Restricted,
        }
    }

    fn restricted(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        if self.level(&namespace) != PodSecurityLevel::Restricted {
            return;
        }
        let spec = template.spec;
        let mut problems: Vec<(KeyPath, String)> = Vec::new();
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if spec.get(field).and_then(Value::as_bool) == Some(true) {
                problems.push((template.path.key(field), format!("pod sets `{field}: true`")));
            }
        }
        for (index, volume) in kube::seq(spec.get("volumes")).iter().enumerate() {
            if volume.get("hostPath").is_some() {
                let name = kube::get_str(volume, &["name"]).unwrap_or("?");
                problems.push((
                    template.path.key("volumes").index(index).key("hostPath"),
                    format!("volume `{name}` mounts a hostPath"),
                ));
            }
        }
        let pod = spec.get("securityContext");
        let pod_field = |field: &str| pod.and_then(|sc| sc.get(field));
        if pod_field("runAsUser").and_then(Value::as_i64) == Some(0) {
            problems.push((template.path.key("securityContext").key("runAsUser"), "pod runs as user 0 (root)".into()));
        }
        for (path, container, _) in template.containers() {
            let name = kube::get_str(container, &["name"]).unwrap_or("?");
            let sc = container.get("securityContext");
            let own = |field: &str| sc.and_then(|sc| sc.get(field));
            let at = path.key("securityContext");
            if own("privileged").and_then(Value::as_bool) == Some(true) {
                problems.push((at.key("privileged"), format!("container `{name}` is privileged")));
            }
            if own("allowPrivilegeEscalation").and_then(Value::as_bool) != Some(false) {
                problems.push((
                    at.key("allowPrivilegeEscalation"),
                    format!("container `{name}` does not set `allowPrivilegeEscalation: false`"),
                ));
            }
            let non_root = own("runAsNonRoot").or_else(|| pod_field("runAsNonRoot")).and_then(Value::as_bool);
            if non_root != Some(true) {
                problems.push((
                    at.key("runAsNonRoot"),
                    format!(
                        "container `{name}` does not set `runAsNonRoot: true` (in its or the pod's securityContext)"
                    ),
                ));
            }
            if own("runAsUser").and_then(Value::as_i64) == Some(0) {
                problems.push((at.key("runAsUser"), format!("container `{name}` runs as user 0 (root)")));
            }
            let seccomp = own("seccompProfile").or_else(|| pod_field("seccompProfile"));
            if !matches!(seccomp.and_then(|s| kube::get_str(s, &["type"])), Some("RuntimeDefault" | "Localhost")) {
                problems.push((
                    at.key("seccompProfile"),
                    format!("container `{name}` has no seccompProfile of type RuntimeDefault or Localhost (in its or the pod's securityContext)"),
                ));
            }
            let capabilities = own("capabilities");
            let dropped: Vec<String> =
                kube::seq(capabilities.and_then(|c| c.get("drop"))).iter().filter_map(kube::scalar).collect();
            if !dropped.iter().any(|cap| cap == "ALL") {
                problems.push((
                    at.key("capabilities").key("drop"),
                    format!("container `{name}` does not drop ALL capabilities"),
                ));
            }
            for added in kube::seq(capabilities.and_then(|c| c.get("add"))).iter().filter_map(kube::scalar) {
                if added != "NET_BIND_SERVICE" {
                    problems.push((
                        at.key("capabilities").key("add"),
                        format!("container `{name}` adds capability `{added}`"),
                    ));
                }
            }
            for (index, port) in kube::seq(container.get("ports")).iter().enumerate() {
                if let Some(host_port) = kube::int(port.get("hostPort")).filter(|p| *p != 0) {
                    problems.push((
                        path.key("ports").index(index).key("hostPort"),
                        format!("container `{name}` uses hostPort {host_port}"),
                    ));
                }
            }
        }
        for (path, message) in problems {
            self.report(
                object,
                RESTRICTED,
                path,
                message,
                &format!("namespace `{namespace}` enforces the `restricted` Pod Security level, which rejects this pod; fix the template's securityContext, or lower the namespace's `podSecurity.level` with a `reason`"),
            );
        }
    }

    fn gpu_placement(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        let gpu = |container: &Value, field: &str| {
            kube::get(container, &["resources", field, "nvidia.com/gpu"]).and_then(kube::scalar)
        };
        let mut uses_gpu = false;
        for (path, container, _) in template.containers() {
            let (request, limit) = (gpu(container, "requests"), gpu(container, "limits"));
            uses_gpu |= request.as_deref().is_some_and(|r| r != "0") || limit.as_deref().is_some_and(|l| l != "0");
            if let Some(request) = request {
                if limit.as_deref() != Some(request.as_str()) {
                    let name = kube::get_str(container, &["name"]).unwrap_or("?");
                    self.report(
                        object,
                        GPU_PLACEMENT,
                        path.key("resources").key("limits").key("nvidia.com/gpu"),
                        format!("container `{name}` requests nvidia.com/gpu {request} without an equal limit"),
                        "extended resources need `limits` equal to `requests` (the API server rejects the pod otherwise); set the limit",
                    );
                }
            }
        }
        if !uses_gpu {
            return;
        }
        let Some(workload) = self.workload(object) else { return };
        let selected: Vec<&Node> =
            self.nodes.iter().filter(|node| selection_reason(workload, node).is_none()).collect();
        let mut problems: Vec<(KeyPath, String, String)> = Vec::new();
        if selected.is_empty() {
            problems.push((
                template.path.key("nodeSelector"),
                "pod requests nvidia.com/gpu but its nodeSelector and node affinity match no declared node".into(),
                "select the GPU nodes by a label they declare in values/nodes/".into(),
            ));
        }
        for node in selected.iter().filter(|node| !node.has_gpu()) {
            problems.push((
                template.path.key("nodeSelector"),
                format!("pod requests nvidia.com/gpu but may be scheduled on `{}`, which has no GPU", node.name),
                "pin it to GPU nodes with a nodeSelector or node affinity on a GPU node label (or `gpu.product` in the workload's values)".into(),
            ));
        }
        for node in selected.iter().filter(|node| node.has_gpu()) {
            if let Some(taint) = untolerated(workload, node) {
                problems.push((
                    template.path.key("tolerations"),
                    format!("pod does not tolerate taint `{taint}` of GPU node `{}`", node.name),
                    "add the toleration, or select only the GPU nodes it should run on".into(),
                ));
            }
            if workload.runtime_class.as_deref() != Some("nvidia") && node.default_runtime.as_deref() != Some("nvidia")
            {
                problems.push((
                    template.path.key("runtimeClassName"),
                    format!("pod sets no `runtimeClassName: nvidia` and GPU node `{}` does not default to the nvidia runtime", node.name),
                    "set `runtimeClassName: nvidia` (k3s ships that RuntimeClass) or `k3s.defaultRuntime: nvidia` in the node's values".into(),
                ));
            }
        }
        for (path, message, help) in problems {
            self.report(object, GPU_PLACEMENT, path, message, &help);
        }
    }

    fn service_selector(&mut self, object: &'b Object) {
        let value = &object.value;
        if kube::get_str(value, &["spec", "type"]) == Some("ExternalName") {
            return;
        }
        let selector = kube::string_map(kube::get(value, &["spec", "selector"]));
        if selector.is_empty() {
            return;
        }
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        if !self.matching(&namespace, &Selector::from_map(selector.clone())).is_empty() {
            return;
        }
        let labels: Vec<&BTreeMap<String, String>> = self
            .namespace_workloads
            .get(&namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&index| self.workloads.get(index))
            .map(|workload| &workload.labels)
            .collect();
        let shown: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let (key, value) = selector.iter().next().map(|(k, v)| (k.as_str(), v.as_str())).unwrap_or_default();
        let candidates: BTreeSet<&str> =
            labels.iter().filter_map(|labels| labels.get(key)).map(String::as_str).collect();
        let help = match did_you_mean(value, candidates.iter().copied()) {
            Some(close) => format!("did you mean `{key}={close}`?"),
            None => "make the selector match the labels of the workload's pod template".into(),
        };
        self.report(
            object,
            SERVICE_SELECTOR,
            "spec.selector",
            format!("selector `{}` matches no pod template in namespace `{namespace}`", shown.join(", ")),
            &help,
        );
    }

    fn ingress_backends(&mut self, object: &'b Object) {
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
            let ports = kube::seq(kube::get(&service.value, &["spec", "ports"]));
            let (wanted, matches): (String, bool) = match (
                kube::get(backend, &["port", "number"]).and_then(Value::as_i64),
                kube::get_str(backend, &["port", "name"]),
            ) {
                (Some(number), _) => {
                    (number.to_string(), ports.iter().any(|p| kube::int(p.get("port")) == Some(number)))
                }
                (None, Some(port)) => {
                    (port.to_string(), ports.iter().any(|p| kube::get_str(p, &["name"]) == Some(port)))
                }
                (None, None) => continue,
            };
            if !matches {
                let known: Vec<String> = ports
                    .iter()
                    .map(|p| match (kube::get_str(p, &["name"]), kube::int(p.get("port"))) {
                        (Some(name), Some(port)) => format!("{port} ({name})"),
                        (None, Some(port)) => port.to_string(),
                        (Some(name), None) => name.to_string(),
                        (None, None) => "?".into(),
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

    fn hpa_target(&mut self, object: &'b Object) {
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        let target = |field: &str| kube::get_str(&object.value, &["spec", "scaleTargetRef", field]).unwrap_or_default();
        let (api_version, kind, name) = (target("apiVersion"), target("kind"), target("name"));
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        let wanted = Identity {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: Some(namespace.clone()),
            name: name.to_string(),
        };
        let exists = self.identities.contains(&wanted);
        if !exists {
            let same_kind = self
                .objects_in(&namespace)
                .iter()
                .filter(|o| o.identity.kind == kind)
                .map(|o| o.identity.name.as_str());
            let help = match did_you_mean(name, same_kind) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "point scaleTargetRef at a rendered Deployment or StatefulSet".into(),
            };
            self.report(
                object,
                HPA_TARGET,
                "spec.scaleTargetRef",
                format!("scale target {kind} `{name}` (`{api_version}`) does not exist in namespace `{namespace}`"),
                &help,
            );
        }
        let min = kube::int(kube::get(&object.value, &["spec", "minReplicas"])).unwrap_or(1);
        if let Some(max) = kube::int(kube::get(&object.value, &["spec", "maxReplicas"])) {
            if min > max {
                self.report(
                    object,
                    HPA_TARGET,
                    "spec.minReplicas",
                    format!("minReplicas {min} is greater than maxReplicas {max}"),
                    "",
                );
            }
        }
    }

    fn pdb(&mut self, object: &'b Object) {
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        let selector = Selector::parse(kube::get(&object.value, &["spec", "selector"]));
        let mut total = 0u32;
        let mut selected = Vec::new();
        for workload in self.matching(&namespace, &selector) {
            if workload.kind == Kind::Job {
                continue;
            }
            let pods = match workload.kind {
                Kind::DaemonSet => {
                    let fits = |node: &&Node| {
                        selection_reason(workload, node).is_none() && untolerated(workload, node).is_none()
                    };
                    u32::try_from(self.nodes.iter().filter(fits).count()).unwrap_or(u32::MAX)
                }
                _ => workload.replicas,
            };
            total += pods;
            selected.push(format!("{} with {pods}", workload.describe()));
        }
        if selected.is_empty() {
            return;
        }
        let spec = object.value.get("spec");
        let field = |name: &str| spec.and_then(|spec| spec.get(name));
        let shown = |value: &Value| kube::scalar(value).unwrap_or_default();
        let problem = if let Some(min) = field("minAvailable") {
            int_or_percent(Some(min), total, true)
                .filter(|needed| *needed >= total)
                .map(|_| ("spec.minAvailable", format!("minAvailable {} keeps all {total} selected pods", shown(min))))
        } else if let Some(max) = field("maxUnavailable") {
            int_or_percent(Some(max), total, true)
                .filter(|allowed| *allowed == 0)
                .map(|_| ("spec.maxUnavailable", format!("maxUnavailable {} allows no pod to be evicted", shown(max))))
        } else {
            None
        };
        if let Some((path, reason)) = problem {
            self.report(
                object,
                PDB_EVICTION,
                path,
                format!("PodDisruptionBudget can never allow an eviction: {reason} ({})", selected.join(", ")),
                "use `maxUnavailable: 1`, or drop the PDB of a single-replica workload; as it is, draining the node never finishes",
            );
        }
    }

    /// App namespaces (declared in values, with an enabled workload) need a
    /// default-deny NetworkPolicy and one allowing DNS egress for all pods.
    fn network_policies(&mut self) {
        let build = self.build;
        for (name, values) in &build.values.namespaces {
            let enabled: Vec<&String> = values
                .workloads
                .iter()
                .filter(|(_, workload)| workload.typed.enabled != Some(false))
                .map(|(workload, _)| workload)
                .collect();
            if enabled.is_empty()
                || enabled.iter().all(|workload| self.exception(name, workload, NETWORK_POLICY).is_some())
            {
                continue;
            }
            // Only policies selecting every pod count: an empty podSelector.
            let policies: Vec<&Object> = self
                .objects_in(name)
                .iter()
                .copied()
                .filter(|o| o.identity.group == "networking.k8s.io" && o.identity.kind == "NetworkPolicy")
                .filter(|o| Selector::parse(kube::get(&o.value, &["spec", "podSelector"])).is_empty())
                .collect();
            let types = |policy: &Object| -> Vec<String> {
                kube::seq(kube::get(&policy.value, &["spec", "policyTypes"])).iter().filter_map(kube::scalar).collect()
            };
            let denies = |direction: &str, rules: &str| {
                policies.iter().any(|policy| {
                    types(policy).iter().any(|t| t == direction)
                        && kube::seq(kube::get(&policy.value, &["spec", rules])).is_empty()
                })
            };
            let dns = policies.iter().any(|policy| {
                types(policy).iter().any(|t| t == "Egress")
                    && kube::seq(kube::get(&policy.value, &["spec", "egress"])).iter().any(|rule| {
                        kube::seq(rule.get("ports")).iter().any(|port| {
                            kube::int(port.get("port")) == Some(53) && kube::get_str(port, &["protocol"]) == Some("UDP")
                        })
                    })
            });
            let mut missing = Vec::new();
            if !(denies("Ingress", "ingress") && denies("Egress", "egress")) {
                missing
                    .push("default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)");
            }
            if !dns {
                missing.push("NetworkPolicy allowing DNS egress (UDP port 53) for all pods");
            }
            if missing.is_empty() {
                continue;
            }
            let namespace_object = build
                .objects
                .iter()
                .find(|o| o.identity.group.is_empty() && o.identity.kind == "Namespace" && o.identity.name == *name);
            let help = format!(
                "set `networkPolicy: {{defaultDeny: true, allowDns: true}}` in values/namespaces/{name}.yaml and render the policies"
            );
            for what in missing {
                let message = format!("app namespace `{name}` has no {what}");
                let finding = match namespace_object {
                    Some(object) => {
                        self.locator.finding(object, NETWORK_POLICY, Self::severity(NETWORK_POLICY), "", message)
                    }
                    None => {
                        let scope = ScopeRef::Namespace(name.clone());
                        let mut finding = Diagnostic::new(Self::severity(NETWORK_POLICY), NETWORK_POLICY, message);
                        finding.span = self.locator.span(&scope, &KeyPath::parse("networkPolicy"));
                        finding.with_scope(scope)
                    }
                };
                self.findings.push(finding.with_help(help.clone()));
            }
        }
    }

    fn crd_sync_order(&mut self) {
        let build = self.build;
        let git_path = build
            .values
            .cluster
            .typed
            .git
            .as_ref()
            .and_then(|git| git.path.clone())
            .unwrap_or_else(|| crate::settings::RENDERED_DIR.to_string());
        let applications: Vec<Application> = build
            .objects
            .iter()
            .filter(|o| o.identity.group == "argoproj.io" && o.identity.kind == "Application")
            .map(Application::of)
            .collect();
        let files: HashMap<&Identity, &str> = build
            .tree
            .files
            .iter()
            .filter_map(|(path, entry)| entry.object.as_ref().map(|identity| (identity, path.as_str())))
            .collect();
        // The Application whose directory holds the object, if any: its wave orders the object's sync.
        let covering = |object: &Object| -> Option<&Application> {
            let path = format!("{git_path}/{}", files.get(&object.identity)?);
            applications
                .iter()
                .filter(|app| app.covers(&path))
                .max_by_key(|app| app.paths.iter().map(|(p, _)| p.len()).max().unwrap_or(0))
        };
        let position = |object: &Object| -> (i64, String) {
            match covering(object) {
                Some(app) => (app.wave, format!("wave {} (Application `{}`)", app.wave, app.name)),
                None => (kube::sync_wave(object), format!("wave {}", kube::sync_wave(object))),
            }
        };
        let crds: HashMap<(String, String), &Object> = build
            .objects
            .iter()
            .filter(|o| o.identity.kind == "CustomResourceDefinition")
            .filter_map(|o| {
                let group = kube::get_str(&o.value, &["spec", "group"])?.to_string();
                let kind = kube::get_str(&o.value, &["spec", "names", "kind"])?.to_string();
                Some(((group, kind), o))
            })
            .collect();
        let disabled_traefik = build.values.nodes.values().any(|node| {
            node.typed
                .k3s
                .as_ref()
                .and_then(|k3s| k3s.disable.as_ref())
                .is_some_and(|d| d.iter().any(|c| c == "traefik"))
        });
        for object in &build.objects {
            let group = object.identity.group.as_str();
            if group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io") {
                continue;
            }
            let help = "give the custom resource (or the Application that syncs it) a higher `argocd.argoproj.io/sync-wave` than its CRD's";
            if let Some(crd) = crds.get(&(group.to_string(), object.identity.kind.clone())) {
                let same_app = match (covering(object), covering(crd)) {
                    (Some(a), Some(b)) => a.name == b.name,
                    (None, None) => true,
                    _ => false,
                };
                let (mine, crd_wave) = if same_app {
                    let own = |o: &Object| (kube::sync_wave(o), format!("wave {}", kube::sync_wave(o)));
                    (own(object), own(crd))
                } else {
                    (position(object), position(crd))
                };
                if mine.0 <= crd_wave.0 {
                    self.report(
                        object,
                        CRD_SYNC_ORDER,
                        "metadata.annotations",
                        format!(
                            "custom resource syncs in {} but its CustomResourceDefinition `{}` in {}; it must come later",
                            mine.1, crd.identity.name, crd_wave.1
                        ),
                        help,
                    );
                }
                continue;
            }
            let provider = PROVIDERS.iter().find(|(g, _)| *g == group).map(|(_, provider)| provider);
            let charts: &[&str] = match provider {
                None => continue,
                Some(Provider::Preinstalled) if !(group == "traefik.io" && disabled_traefik) => continue,
                Some(Provider::Preinstalled) => &["traefik"],
                Some(Provider::Charts(charts)) => charts,
            };
            let installers: Vec<&Application> =
                applications.iter().filter(|app| app.charts.iter().any(|c| charts.contains(&c.as_str()))).collect();
            // Synced by the Application that installs the CRDs (a chart plus a
            // directory as sources): one sync applies the chart's CRDs (wave 0,
            // kind order) before custom resources of the same or a later wave.
            if let Some(app) = covering(object).filter(|app| installers.iter().any(|i| i.name == app.name)) {
                let own = kube::sync_wave(object);
                if own < 0 {
                    self.report(
                        object,
                        CRD_SYNC_ORDER,
                        "metadata.annotations",
                        format!(
                            "custom resource syncs in wave {own} of Application `{}`, before the CRDs its chart installs in wave 0 of the same sync",
                            app.name
                        ),
                        "give it a sync wave of 0 or more",
                    );
                }
                continue;
            }
            let Some(installer) = installers.iter().min_by_key(|app| app.wave) else {
                // The operator may be installed outside this tree; the order cannot be checked.
                self.report_as(
                    Severity::Warning,
                    object,
                    CRD_SYNC_ORDER,
                    "apiVersion",
                    format!(
                        "no Argo CD Application in the tree installs the CRDs of `{group}` (expected a chart named {}), so the sync order cannot be checked",
                        charts.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or ")
                    ),
                    "add the operator as a component in values/cluster.yaml, or make sure it is installed before this syncs",
                );
                continue;
            };
            // In the Application that installs the chart, Argo CD applies CRDs
            // before custom resources of the same sync and skips their dry run.
            if covering(object).is_some_and(|app| app.name == installer.name) {
                continue;
            }
            let mine = position(object);
            if mine.0 <= installer.wave {
                self.report(
                    object,
                    CRD_SYNC_ORDER,
                    "metadata.annotations",
                    format!(
                        "custom resource syncs in {} but Application `{}`, which installs its CRDs (chart `{}`), syncs in wave {}; it must come later",
                        mine.1,
                        installer.name,
                        installer.charts.iter().find(|c| charts.contains(&c.as_str())).map_or("", String::as_str),
                        installer.wave
                    ),
                    "give the namespace (or component) that holds it a higher `syncWave` than the operator's",
                );
            }
        }
    }

    /// `policyExceptions` entries must name a known policy and say why.
    fn exceptions(&mut self) {
        let build = self.build;
        for (namespace, values) in &build.values.namespaces {
            for (name, workload) in &values.workloads {
                for (id, reason) in workload.typed.policy_exceptions.iter().flatten() {
                    let key = KeyPath::root().key("policyExceptions").key(id.clone());
                    let location = workload.locate(&key);
                    let (message, help) = if id == PLAINTEXT_SECRET {
                        (
                            format!("`{id}` cannot be waived: kiln refuses to render a Secret with data or stringData"),
                            "seal the value with kubeseal and declare it under `secrets:` in the namespace values"
                                .to_string(),
                        )
                    } else if !POLICIES.iter().any(|policy| policy.id == id) {
                        let help = match did_you_mean(id, POLICIES.iter().map(|policy| policy.id)) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!(
                                "policy IDs: {}",
                                POLICIES.iter().map(|policy| policy.id).collect::<Vec<_>>().join(", ")
                            ),
                        };
                        (format!("policyExceptions names unknown policy `{id}`"), help)
                    } else if reason.trim().is_empty() {
                        (
                            format!("the exception from `{id}` has no written justification"),
                            "say why this workload cannot follow the policy; an empty reason waives nothing"
                                .to_string(),
                        )
                    } else {
                        continue;
                    };
                    let own = KeyPath::root().key("workloads").key(name.clone()).join(&key);
                    self.findings.push(
                        Diagnostic::new(Self::severity(POLICY_EXCEPTION), POLICY_EXCEPTION, message)
                            .with_span(Span::at(&location, own))
                            .with_scope(ScopeRef::Workload { namespace: namespace.clone(), name: name.clone() })
                            .with_help(help),
                    );
                }
            }
        }
    }
}

/// Why an image reference is not pinned, if it is not.
fn image_problem(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("has no tag, which means `latest`"),
        Some((_, "")) => Some("has an empty tag"),
        Some((_, "latest")) => Some("uses the mutable tag `latest`"),
        Some(_) => None,
    }
}

/// What kiln needs of an Argo CD Application: its wave, the repository
/// directories it syncs, and the Helm charts it installs.
struct Application {
    name: String,
    wave: i64,
    /// (path in the repository, recurse into subdirectories)
    paths: Vec<(String, bool)>,
    charts: Vec<String>,
}

impl Application {
    fn of(object: &Object) -> Application {
        let mut sources: Vec<&Value> = kube::get(&object.value, &["spec", "source"]).into_iter().collect();
        sources.extend(kube::seq(kube::get(&object.value, &["spec", "sources"])));
        Application {
            name: object.identity.name.clone(),
            wave: kube::sync_wave(object),
            paths: sources
                .iter()
                .filter_map(|source| {
                    let path = kube::get_str(source, &["path"])?.trim_matches('/').to_string();
                    let recurse = kube::get(source, &["directory", "recurse"]).and_then(Value::as_bool) == Some(true);
                    Some((path, recurse))
                })
                .collect(),
            charts: sources.iter().filter_map(|s| kube::get_str(s, &["chart"])).map(str::to_string).collect(),
        }
    }

    fn covers(&self, file: &str) -> bool {
        self.paths.iter().any(|(dir, recurse)| {
            let Some(rest) = file.strip_prefix(dir.as_str()).and_then(|rest| rest.strip_prefix('/')) else {
                return false;
            };
            *recurse || !rest.contains('/')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_need_a_tag_or_digest() {
        assert_eq!(image_problem("nginx"), Some("has no tag, which means `latest`"));
        assert_eq!(image_problem("nginx:latest"), Some("uses the mutable tag `latest`"));
        assert_eq!(image_problem("registry:5000/team/app"), Some("has no tag, which means `latest`"));
        assert_eq!(image_problem("registry:5000/team/app:1.2"), None);
        assert_eq!(image_problem("nginx@sha256:abc"), None);
    }

    #[test]
    fn policy_ids_are_unique() {
        let ids: BTreeSet<&str> = POLICIES.iter().map(|policy| policy.id).collect();
        assert_eq!(ids.len(), POLICIES.len());
    }

    #[test]
    fn applications_cover_their_directory() {
        let app = Application {
            name: "a".into(),
            wave: 0,
            paths: vec![("rendered/namespaces/x".into(), false)],
            charts: vec![],
        };
        assert!(app.covers("rendered/namespaces/x/deployment-a.yaml"));
        assert!(!app.covers("rendered/namespaces/x/sub/deployment-a.yaml"));
        assert!(!app.covers("rendered/namespaces/xy/deployment-a.yaml"));
    }
}
