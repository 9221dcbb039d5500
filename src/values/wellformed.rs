//! Checks every value whose Kubernetes meaning has a syntax (label keys and
//! values, annotation keys, selectors, taints, images, container paths, host
//! names, addresses, CIDRs, ports, environment names, the k3s version) when
//! values load, naming the file, position and key path. The grammars are in
//! [`super::syntax`]. Free text (`description`, `reason`, `command`, `args`,
//! annotation values) is not checked: the templates' escaping protects it.
//!
//! A bad value inherited from defaults is reported once, where it is
//! written, not once per workload that inherits it.

use std::collections::{BTreeMap, BTreeSet};

use super::check::dns_label_problem;
use super::key_path::KeyPath;
use super::schema::{self, Workload};
use super::syntax;
use super::{Scoped, Values};
use crate::Error;

/// A kind of checked value: its grammar, what to call it and what to do.
#[derive(Clone, Copy)]
enum Kind {
    LabelKey,
    LabelValue,
    AnnotationKey,
    Host,
    Subdomain,
    IngressHost,
    Cidr,
    Image,
    K3sVersion,
    ContainerPath,
    HttpPath,
    EnvName,
    DataKey,
    PortName,
    Protocol,
    Name,
    ChartName,
    ChartVersion,
    Url,
    GitRevision,
}

impl Kind {
    fn problem(self, text: &str) -> Option<String> {
        match self {
            Kind::LabelKey | Kind::AnnotationKey => syntax::qualified_name(text),
            Kind::LabelValue => syntax::label_value(text),
            Kind::Host => syntax::host(text),
            Kind::Subdomain => syntax::dns_subdomain(text),
            Kind::IngressHost => syntax::dns_subdomain(text.strip_prefix("*.").unwrap_or(text)),
            Kind::Cidr => syntax::cidr(text),
            Kind::Image => syntax::image(text),
            Kind::K3sVersion => syntax::k3s_version(text),
            Kind::ContainerPath => syntax::container_path(text),
            Kind::HttpPath => syntax::http_path(text),
            Kind::EnvName => syntax::env_name(text),
            Kind::DataKey => syntax::data_key(text),
            Kind::PortName => syntax::port_name(text),
            Kind::Protocol => {
                (!["TCP", "UDP", "SCTP"].contains(&text)).then(|| "is not `TCP`, `UDP` or `SCTP`".to_string())
            }
            Kind::Name => dns_label_problem(text).map(str::to_string),
            Kind::ChartName => syntax::chart_name(text),
            Kind::ChartVersion => syntax::chart_version(text),
            Kind::Url => syntax::url(text),
            Kind::GitRevision => syntax::git_revision(text),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::LabelKey => "label key",
            Kind::LabelValue => "label value",
            Kind::AnnotationKey => "annotation key",
            Kind::Host => "host",
            Kind::Subdomain | Kind::IngressHost => "host name",
            Kind::Cidr => "CIDR",
            Kind::Image => "image",
            Kind::K3sVersion => "k3s version",
            Kind::ContainerPath => "container path",
            Kind::HttpPath => "HTTP path",
            Kind::EnvName => "environment variable name",
            Kind::DataKey => "secret key",
            Kind::PortName => "port name",
            Kind::Protocol => "protocol",
            Kind::Name => "name",
            Kind::ChartName => "chart name",
            Kind::ChartVersion => "chart version",
            Kind::Url => "URL",
            Kind::GitRevision => "Git revision",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Kind::LabelKey | Kind::AnnotationKey => {
                "keys are `[prefix/]name`: an optional DNS subdomain and `/`, then at most 63 letters, digits, `-`, `_` and `.`"
            }
            Kind::LabelValue => "label values are at most 63 letters, digits, `-`, `_` and `.`, or empty",
            Kind::Host | Kind::Subdomain | Kind::IngressHost => {
                "use an IP address or a lower-case DNS name such as `mainpc.lan`"
            }
            Kind::Cidr => "write an address and prefix length, e.g. `192.168.1.0/24` or `0.0.0.0/0`",
            Kind::Image => "pin an image as `registry/repository:tag`, e.g. `ghcr.io/org/app:1.2.3`",
            Kind::K3sVersion => "use a k3s release tag from https://github.com/k3s-io/k3s/releases, e.g. `v1.31.7+k3s1`",
            Kind::ContainerPath => "write one absolute path, e.g. `/var/cache/app`",
            Kind::HttpPath => "write a path starting with `/`, e.g. `/healthz`",
            Kind::EnvName => "environment names are letters, digits, `_`, `-` and `.`, e.g. `LOG_LEVEL`",
            Kind::DataKey => "secret keys are letters, digits, `-`, `_` and `.`, e.g. `tls.crt`",
            Kind::PortName => "name ports like `http` or `metrics`",
            Kind::Protocol => "set `protocol: TCP` (the default), `UDP` or `SCTP`",
            Kind::Name => "names must be DNS-1123 labels",
            Kind::ChartName => "use the chart's name as its repository lists it, e.g. `kube-prometheus-stack`",
            Kind::ChartVersion => "pin the chart's exact version, e.g. `65.1.1`",
            Kind::Url => "write the repository's URL, e.g. `https://prometheus-community.github.io/helm-charts`",
            Kind::GitRevision => "use a branch, tag or commit, e.g. `main`",
        }
    }
}

/// Checks one scope's fields; `shown` prefixes key paths in messages.
struct Fields<'a, T> {
    scope: &'a Scoped<T>,
    shown: KeyPath,
    errors: &'a mut Vec<Error>,
    seen: &'a mut BTreeSet<(String, String)>,
}

impl<T> Fields<'_, T> {
    fn value(&mut self, path: KeyPath, kind: Kind, text: &str) {
        let Some(problem) = kind.problem(text) else { return };
        let location = self.scope.locate(&path);
        let message = format!("{} `{}` {problem}", kind.noun(), text.escape_debug());
        if !self.seen.insert((location.to_string(), message.clone())) {
            return;
        }
        self.errors.push(Error::Values {
            location,
            key_path: self.shown.join(&path).to_string(),
            message,
            help: Some(kind.help().into()),
        });
    }

    fn error(&mut self, path: KeyPath, message: String, help: &str) {
        self.errors.push(Error::Values {
            location: self.scope.locate(&path),
            key_path: self.shown.join(&path).to_string(),
            message,
            help: Some(help.into()),
        });
    }

    fn optional_at(&mut self, path: KeyPath, kind: Kind, text: Option<&String>) {
        if let Some(text) = text {
            self.value(path, kind, text);
        }
    }

    fn optional(&mut self, key: &str, kind: Kind, text: Option<&String>) {
        if let Some(text) = text {
            self.value(KeyPath::parse(key), kind, text);
        }
    }

    fn list(&mut self, path: KeyPath, kind: Kind, items: Option<&Vec<String>>) {
        for (index, item) in items.into_iter().flatten().enumerate() {
            self.value(path.index(index), kind, item);
        }
    }

    /// A map of labels or selectors: keys and values checked.
    fn labels(&mut self, path: KeyPath, map: Option<&BTreeMap<String, String>>) {
        for (key, value) in map.into_iter().flatten() {
            self.value(path.key(key.clone()), Kind::LabelKey, key);
            self.value(path.key(key.clone()), Kind::LabelValue, value);
        }
    }

    fn keys<V>(&mut self, path: KeyPath, kind: Kind, map: Option<&BTreeMap<String, V>>) {
        for key in map.into_iter().flat_map(BTreeMap::keys) {
            self.value(path.key(key.clone()), kind, key);
        }
    }
}

pub fn check(values: &Values) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let cluster = &values.cluster;
    let mut fields = Fields { scope: cluster, shown: KeyPath::root(), errors: &mut errors, seen: &mut seen };
    let typed = &cluster.typed;
    fields.optional("k3sVersion", Kind::K3sVersion, typed.k3s_version.as_ref());
    fields.optional("domain", Kind::Subdomain, typed.domain.as_ref());
    fields.optional("waitImage", Kind::Image, typed.wait_image.as_ref());
    let nfs = typed.storage.as_ref().and_then(|storage| storage.nfs.as_ref());
    fields.optional("storage.nfs.server", Kind::Host, nfs.and_then(|nfs| nfs.server.as_ref()));
    fields.optional("storage.nfs.path", Kind::ContainerPath, nfs.and_then(|nfs| nfs.path.as_ref()));
    fields.optional("git.repoURL", Kind::Url, typed.git.as_ref().and_then(|git| git.repo_url.as_ref()));
    fields.optional("git.revision", Kind::GitRevision, typed.git.as_ref().and_then(|git| git.revision.as_ref()));
    for (name, component) in typed.components.iter().flatten() {
        let at = |key: &str| KeyPath::root().key("components").key(name.clone()).key(key);
        for (key, kind, text) in [
            ("namespace", Kind::Name, &component.namespace),
            ("chart", Kind::ChartName, &component.chart),
            ("version", Kind::ChartVersion, &component.version),
            ("repoURL", Kind::Url, &component.repo_url),
        ] {
            if let Some(text) = text {
                fields.value(at(key), kind, text);
            }
        }
    }
    for node in values.nodes.values() {
        check_node(&mut Fields { scope: node, shown: KeyPath::root(), errors: &mut errors, seen: &mut seen });
    }
    for namespace in values.namespaces.values() {
        let scope = &namespace.namespace;
        check_namespace(&mut Fields { scope, shown: KeyPath::root(), errors: &mut errors, seen: &mut seen });
        for (name, workload) in &namespace.workloads {
            let shown = KeyPath::root().key("workloads").key(name.clone());
            check_workload(&mut Fields { scope: workload, shown, errors: &mut errors, seen: &mut seen });
        }
    }
    errors
}

fn check_node(fields: &mut Fields<'_, schema::Node>) {
    let node = &fields.scope.typed;
    fields.optional("address", Kind::Host, node.address.as_ref());
    fields.labels(KeyPath::root().key("labels"), node.labels.as_ref());
    for (index, taint) in node.taints.iter().flatten().enumerate() {
        let at = KeyPath::root().key("taints").index(index);
        if let Some(key) = &taint.key {
            fields.value(at.key("key"), Kind::LabelKey, key);
        }
        if let Some(value) = &taint.value {
            fields.value(at.key("value"), Kind::LabelValue, value);
        }
    }
    for (index, gpu) in node.gpus.iter().flatten().enumerate() {
        if let Some(product) = &gpu.product {
            fields.value(KeyPath::root().key("gpus").index(index).key("product"), Kind::LabelValue, product);
        }
    }
    let tls_san = node.k3s.as_ref().and_then(|k3s| k3s.tls_san.as_ref());
    fields.list(KeyPath::parse("k3s.tlsSan"), Kind::Host, tls_san);
}

fn check_namespace(fields: &mut Fields<'_, schema::Namespace>) {
    let namespace = &fields.scope.typed;
    fields.labels(KeyPath::root().key("labels"), namespace.labels.as_ref());
    fields.keys(KeyPath::root().key("annotations"), Kind::AnnotationKey, namespace.annotations.as_ref());
    fields.labels(KeyPath::root().key("nodeSelector"), namespace.node_selector.as_ref());
    let cidrs = namespace.network_policy.as_ref().and_then(|policy| policy.egress_cidrs.as_ref());
    fields.list(KeyPath::parse("networkPolicy.egressCidrs"), Kind::Cidr, cidrs);
    for (name, secret) in namespace.secrets.iter().flatten() {
        let at = KeyPath::root().key("secrets").key(name.clone());
        fields.keys(at.key("encryptedData"), Kind::DataKey, secret.encrypted_data.as_ref());
        fields.labels(at.key("labels"), secret.labels.as_ref());
    }
}

fn check_workload(fields: &mut Fields<'_, Workload>) {
    let workload = &fields.scope.typed;
    let root = KeyPath::root();
    fields.optional("image", Kind::Image, workload.image.as_ref());
    fields.optional("group", Kind::LabelValue, workload.group.as_ref());
    fields.optional("component", Kind::LabelValue, workload.component.as_ref());
    fields.optional("priorityClass", Kind::Subdomain, workload.priority_class.as_ref());
    let hpa_name = workload.hpa.as_ref().and_then(|hpa| hpa.name.as_ref());
    fields.optional("hpa.name", Kind::Subdomain, hpa_name);
    for (index, port) in workload.ports.iter().flatten().enumerate() {
        let at = root.key("ports").index(index);
        if let Some(name) = &port.name {
            fields.value(at.key("name"), Kind::PortName, name);
        }
        if let Some(protocol) = &port.protocol {
            fields.value(at.key("protocol"), Kind::Protocol, protocol);
        }
        if port.port == Some(0) {
            fields.errors.push(Error::Values {
                location: fields.scope.locate(&at.key("port")),
                key_path: fields.shown.join(&at.key("port")).to_string(),
                message: "port `0` is not a port number".into(),
                help: Some("ports are numbers from 1 to 65535".into()),
            });
        }
    }
    fields.keys(root.key("env"), Kind::EnvName, workload.env.as_ref());
    fields.keys(root.key("secretEnv"), Kind::EnvName, workload.secret_env.as_ref());
    for (name, reference) in workload.secret_env.iter().flatten() {
        if let Some(key) = &reference.key {
            fields.value(root.key("secretEnv").key(name.clone()).key("key"), Kind::DataKey, key);
        }
    }
    for (index, mount) in workload.secret_mounts.iter().flatten().enumerate() {
        if let Some(path) = &mount.mount_path {
            fields.value(root.key("secretMounts").index(index).key("mountPath"), Kind::ContainerPath, path);
        }
        if let Some(key) = &mount.key {
            fields.value(root.key("secretMounts").index(index).key("key"), Kind::DataKey, key);
        }
    }
    fields.optional("workingDir", Kind::ContainerPath, workload.working_dir.as_ref());
    for (index, volume) in workload.memory_volumes.iter().flatten().enumerate() {
        if let Some(path) = &volume.mount_path {
            fields.value(root.key("memoryVolumes").index(index).key("mountPath"), Kind::ContainerPath, path);
        }
    }
    for (index, file) in workload.config_files.iter().flatten().enumerate() {
        if let Some(path) = &file.mount_path {
            fields.value(root.key("configFiles").index(index).key("mountPath"), Kind::ContainerPath, path);
        }
    }
    fields.list(root.key("writablePaths"), Kind::ContainerPath, workload.writable_paths.as_ref());
    for (index, volume) in workload.volumes.iter().flatten().enumerate() {
        let at = root.key("volumes").index(index);
        if let Some(name) = &volume.name {
            fields.value(at.key("name"), Kind::Name, name);
        }
        if let Some(path) = &volume.mount_path {
            fields.value(at.key("mountPath"), Kind::ContainerPath, path);
        }
    }
    fields.labels(root.key("nodeSelector"), workload.node_selector.as_ref());
    for (index, toleration) in workload.tolerations.iter().flatten().enumerate() {
        let at = root.key("tolerations").index(index);
        // An empty key with `operator: Exists` tolerates every taint.
        if let Some(key) = toleration.key.as_ref().filter(|key| !key.is_empty()) {
            fields.value(at.key("key"), Kind::LabelKey, key);
        }
        if let Some(value) = &toleration.value {
            fields.value(at.key("value"), Kind::LabelValue, value);
        }
        if let Some(operator) = toleration.operator.as_ref().filter(|op| !["Equal", "Exists"].contains(&op.as_str())) {
            let path = at.key("operator");
            fields.errors.push(Error::Values {
                location: fields.scope.locate(&path),
                key_path: fields.shown.join(&path).to_string(),
                message: format!("toleration operator `{}` is not `Equal` or `Exists`", operator.escape_debug()),
                help: Some("set `operator: Equal` (the default) or `Exists`".into()),
            });
        }
    }
    if let Some(probes) = &workload.probes {
        for (name, probe) in
            [("startup", &probes.startup), ("readiness", &probes.readiness), ("liveness", &probes.liveness)]
        {
            if let Some(path) = probe.as_ref().and_then(|probe| probe.http_path.as_ref()) {
                fields.value(root.key("probes").key(name).key("httpPath"), Kind::HttpPath, path);
            }
        }
    }
    if let Some(credential) = &workload.client_credential {
        let at = root.key("clientCredential");
        if credential.secret.is_none() || credential.keys.as_ref().is_none_or(Vec::is_empty) {
            fields.error(
                at.clone(),
                "clientCredential needs a `secret` and at least one of its `keys`".to_string(),
                "write `clientCredential: {secret: <name>, keys: [<KEY>]}`",
            );
        }
        fields.optional_at(at.key("secret"), Kind::Name, credential.secret.as_ref());
        fields.list(at.key("keys"), Kind::DataKey, credential.keys.as_ref());
    }
    for (index, flow) in workload.flows.iter().flatten().enumerate() {
        check_flow(fields, root.key("flows").index(index), flow);
    }
    let ingress = workload.ingress.as_ref();
    fields.optional("ingress.host", Kind::IngressHost, ingress.and_then(|ingress| ingress.host.as_ref()));
    fields.optional("ingress.path", Kind::HttpPath, ingress.and_then(|ingress| ingress.path.as_ref()));
    fields.optional("metrics.path", Kind::HttpPath, workload.metrics.as_ref().and_then(|m| m.path.as_ref()));
}

/// A flow names exactly one destination and a port that fits it.
fn check_flow(fields: &mut Fields<'_, Workload>, at: KeyPath, flow: &schema::Flow) {
    let destinations = [("service", &flow.service), ("host", &flow.host), ("cidr", &flow.cidr)];
    let set: Vec<&str> = destinations.iter().filter(|(_, value)| value.is_some()).map(|(key, _)| *key).collect();
    if set.len() != 1 {
        let message = if set.is_empty() {
            "flow names no destination".to_string()
        } else {
            format!("flow names {} destinations (`{}`)", set.len(), set.join("`, `"))
        };
        fields.error(
            at.clone(),
            message,
            "set one of `service: <namespace>/<name>`, `host: <dns name>` or `cidr: <address>/<prefix>`",
        );
    }
    if let Some(service) = &flow.service {
        let parts: Vec<&str> = service.split('/').collect();
        let problem = if parts.len() > 2 {
            Some("has more than one `/`".to_string())
        } else {
            parts.iter().find_map(|part| dns_label_problem(part).map(|problem| format!("`{part}` {problem}")))
        };
        if let Some(problem) = problem {
            fields.error(
                at.key("service"),
                format!("flow service `{}`: {problem}", service.escape_debug()),
                "name a workload's Service as `name` (same namespace) or `namespace/name`; both are DNS-1123 labels",
            );
        }
    }
    if flow.wait_before_start == Some(true) && flow.protocol.as_deref().is_some_and(|protocol| protocol != "TCP") {
        fields.error(
            at.key("waitBeforeStart"),
            "only a TCP port can be waited for".to_string(),
            "remove `waitBeforeStart`: the wait opens a TCP connection, which a UDP or SCTP port never accepts",
        );
    }
    if flow.wait_before_start == Some(true) && flow.service.is_none() {
        fields.error(
            at.key("waitBeforeStart"),
            "only a flow to a `service` can be waited for".to_string(),
            "remove `waitBeforeStart`: kiln waits for a Service of the cluster to have a ready pod, not for an outside address",
        );
    }
    fields.optional_at(at.key("host"), Kind::Subdomain, flow.host.as_ref());
    fields.optional_at(at.key("cidr"), Kind::Cidr, flow.cidr.as_ref());
    fields.optional_at(at.key("protocol"), Kind::Protocol, flow.protocol.as_ref());
    match &flow.port {
        None => fields.error(
            at.key("port"),
            "flow has no `port`".to_string(),
            "set the port it connects to: a Service port's number or name, or for `host`/`cidr` a number",
        ),
        Some(schema::FlowPort(port)) => match port.parse::<u32>() {
            Ok(1..=65535) => {}
            Ok(_) => fields.error(
                at.key("port"),
                format!("port `{port}` is not a port number"),
                "ports are numbers from 1 to 65535",
            ),
            Err(_) if flow.service.is_none() => fields.error(
                at.key("port"),
                format!("port `{}` is a name, but only a Service has named ports", port.escape_debug()),
                "write the port number the outside destination listens on, e.g. `443`",
            ),
            Err(_) => fields.value(at.key("port"), Kind::PortName, port),
        },
    }
}
