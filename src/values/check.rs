//! Cross-checks that need the whole declared cluster: required keys, names
//! that are valid DNS-1123 labels and match their file, references that point
//! at declared nodes, namespaces and labels, and no plaintext secrets.
//! References to secrets and their keys are checked in [`super::secret_refs`].

use std::collections::BTreeSet;

use super::key_path::KeyPath;
use super::schema::{self, Workload};
use super::secrets;
use super::{NamespaceValues, Scoped, Values};
use crate::diagnostic::did_you_mean;
use crate::{Error, Result};

/// Namespaces that exist in every cluster without being declared in values.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

pub fn cross_check(values: &Values) -> Result<()> {
    let mut problems = Problems::default();
    check_cluster(values, &mut problems);
    check_free_form(values, &mut problems);
    problems.0.extend(super::bounds::check(values));
    problems.0.extend(super::wellformed::check(values));
    for (stem, node) in &values.nodes {
        check_node(stem, node, &mut problems);
    }
    for (stem, namespace) in &values.namespaces {
        check_namespace(values, stem, namespace, &mut problems);
    }
    problems.0.extend(super::secret_refs::check(values));
    problems.0.extend(crate::seal::check::values_problems(values));
    Error::from_list(problems.0)
}

#[derive(Default)]
struct Problems(Vec<Error>);

impl Problems {
    fn add<T>(&mut self, scope: &Scoped<T>, key_path: KeyPath, shown: &KeyPath, message: String, help: Option<String>) {
        self.0.push(Error::Values { location: scope.locate(&key_path), key_path: shown.to_string(), message, help });
    }
}

/// Returns why `name` is not a DNS-1123 label, if it is not one.
pub fn dns_label_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > 63 {
        Some("is longer than 63 characters")
    } else if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Some("may only contain lower-case letters, digits and `-`")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("must start and end with a letter or digit")
    } else {
        None
    }
}

/// Checks a node's or namespace's `name` against DNS-1123 and its file name
/// (`stem`). A file name has no line, so a bad file name is reported at the
/// `name` key, or at the start of the file when the key is missing, and the
/// message says that it is the file name that must change.
fn check_name<T>(scope: &Scoped<T>, declared: Option<&String>, stem: &str, what: &str, problems: &mut Problems) {
    let key = KeyPath::root().key("name");
    let bad_stem = dns_label_problem(stem).map(|problem| format!("the file name `{stem}` {problem}"));
    match declared {
        None => {
            let help = match &bad_stem {
                None => format!("add `name: {stem}`"),
                Some(bad_stem) => format!("add `name:` and rename the file to `<name>.yaml`: {bad_stem}"),
            };
            problems.add(
                scope,
                key.clone(),
                &key,
                format!("missing required key `name` for {what} `{stem}`"),
                Some(help),
            );
        }
        Some(name) => {
            if let Some(problem) = dns_label_problem(name) {
                problems.add(
                    scope,
                    key.clone(),
                    &key,
                    format!("{what} name `{name}` {problem}"),
                    Some("names must be DNS-1123 labels, e.g. `ai-system-gpu`".into()),
                );
            } else if name != stem {
                let help = match &bad_stem {
                    None => format!("rename the file to `{name}.yaml` or set `name: {stem}`"),
                    Some(bad_stem) => format!("rename the file to `{name}.yaml`: {bad_stem}"),
                };
                problems.add(
                    scope,
                    key.clone(),
                    &key,
                    format!("{what} is named `{name}` but its file is `{stem}.yaml`"),
                    Some(help),
                );
            }
        }
    }
}

fn check_cluster(values: &Values, problems: &mut Problems) {
    let cluster = &values.cluster;
    for (key, present, example) in [
        ("name", cluster.typed.name.is_some(), "name: home"),
        ("kubernetesVersion", cluster.typed.kubernetes_version.is_some(), "kubernetesVersion: \"1.31\""),
        ("git", cluster.typed.git.is_some(), "git: {repoURL: <url>, revision: main}"),
    ] {
        if !present {
            let path = KeyPath::root().key(key);
            problems.add(
                cluster,
                path.clone(),
                &path,
                format!("missing required key `{key}` in the cluster values"),
                Some(format!("add it, e.g. `{example}`")),
            );
        }
    }
    if let Some(name) = &cluster.typed.name {
        if let Some(problem) = dns_label_problem(name) {
            let path = KeyPath::root().key("name");
            problems.add(cluster, path.clone(), &path, format!("cluster name `{name}` {problem}"), None);
        }
    }
    let components = cluster.typed.components.as_ref();
    for (index, footprint) in cluster.typed.platform.iter().flatten().enumerate() {
        let entry = KeyPath::root().key("platform").index(index);
        // `k3s` stands for what k3s itself deploys as pods (CoreDNS, metrics-server, ...).
        let known = footprint.component == "k3s"
            || components.is_some_and(|components| components.contains_key(&footprint.component));
        if !known {
            let path = entry.key("component");
            let names = components.map(|components| join(components.keys())).unwrap_or_default();
            problems.add(
                cluster,
                path.clone(),
                &path,
                format!("`{}` is not a component of the cluster values", footprint.component),
                Some(if names.is_empty() {
                    "the cluster values declare no `components`; `k3s` names the pods k3s itself runs".to_string()
                } else {
                    format!("name one of `components` ({names}), or `k3s` for the pods k3s itself runs")
                }),
            );
        }
        if let Some(node) = &footprint.node {
            if !values.nodes.contains_key(node) {
                let path = entry.key("node");
                problems.add(
                    cluster,
                    path.clone(),
                    &path,
                    format!("`{node}` is not a node in values/nodes/"),
                    Some(format!(
                        "name one of {}, or leave `node` out for a DaemonSet on every node",
                        join(values.nodes.keys())
                    )),
                );
            }
        }
    }
}

fn check_node(stem: &str, node: &Scoped<schema::Node>, problems: &mut Problems) {
    check_name(node, node.typed.name.as_ref(), stem, "node", problems);
    if node.typed.role.is_none() {
        let path = KeyPath::root().key("role");
        problems.add(
            node,
            path.clone(),
            &path,
            format!("missing required key `role` for node `{stem}`"),
            Some("set `role: server` or `role: agent`".into()),
        );
    }
}

fn check_namespace(values: &Values, stem: &str, namespace: &NamespaceValues, problems: &mut Problems) {
    let scope = &namespace.namespace;
    check_name(scope, scope.typed.name.as_ref(), stem, "namespace", problems);
    let typed = &scope.typed;
    if let Some(selector) = &typed.node_selector {
        check_node_selector(
            values,
            scope,
            &KeyPath::root().key("nodeSelector"),
            &KeyPath::root().key("nodeSelector"),
            selector,
            problems,
        );
    }
    if let Some(policy) = &typed.network_policy {
        if policy.default_deny == Some(true) && policy.default_deny_ingress == Some(true) {
            let path = KeyPath::root().key("networkPolicy").key("defaultDenyIngress");
            problems.add(
                scope,
                path.clone(),
                &path,
                "`defaultDenyIngress` and `defaultDeny` are both set: `defaultDeny` already denies ingress, and egress too".into(),
                Some("keep `defaultDeny` to isolate both directions, or only `defaultDenyIngress` to leave egress open".into()),
            );
        }
        for (field, list) in [("ingressFrom", &policy.ingress_from), ("egressTo", &policy.egress_to)] {
            for (index, target) in list.iter().flatten().enumerate() {
                if !values.namespaces.contains_key(target) && !SYSTEM_NAMESPACES.contains(&target.as_str()) {
                    let path = KeyPath::root().key("networkPolicy").key(field).index(index);
                    let help = did_you_mean(target, values.namespaces.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| {
                            let known = values.namespaces.keys().map(String::as_str).chain(SYSTEM_NAMESPACES);
                            Some(format!("declared and system namespaces: {}", join(known)))
                        });
                    problems.add(
                        scope,
                        path.clone(),
                        &path,
                        format!("network policy names undeclared namespace `{target}`"),
                        help,
                    );
                }
            }
        }
    }
    if typed.mesh == Some(true) {
        check_mesh(values, scope, problems);
    }
    if let Some(level) = typed.pod_security.as_ref().and_then(|p| p.level) {
        let reason = typed.pod_security.as_ref().and_then(|p| p.reason.as_ref());
        if level != schema::PodSecurityLevel::Restricted && reason.is_none_or(|r| r.trim().is_empty()) {
            let path = KeyPath::parse("podSecurity.reason");
            problems.add(
                scope,
                path.clone(),
                &path,
                "a pod-security level below `restricted` needs a written `reason`".into(),
                Some("add `reason:` under `podSecurity:` saying which workload needs the weaker level and why".into()),
            );
        }
    }
    for (name, secret) in typed.secrets.iter().flatten() {
        let base = KeyPath::root().key("secrets").key(name.clone());
        check_object_name(scope, &base, &base, name, "secret", problems);
        for (key, ciphertext) in secret.encrypted_data.iter().flatten() {
            if let Some(problem) = secrets::sealed_problem(ciphertext) {
                let path = base.key("encryptedData").key(key.clone());
                problems.add(scope, path.clone(), &path, format!("secret value `{key}` is not SealedSecret ciphertext: it {problem}"), Some("never commit plaintext: seal it with `kiln seal --namespace <ns> --name <secret> --key <key>` (see README, Secrets)".into()));
            }
        }
    }
    for (name, workload) in &namespace.workloads {
        let shown = KeyPath::root().key("workloads").key(name.clone());
        check_object_name(workload, &KeyPath::root(), &shown, name, "workload", problems);
        check_workload(values, namespace, workload, &shown, problems);
    }
}

/// The charts Istio's ambient data plane needs on the cluster: istiod (the
/// control plane), the CNI node agent that redirects a meshed pod's traffic
/// and ztunnel, the node proxy (istio.io, "Install with Helm" for ambient
/// mode: base, istiod with `profile: ambient`, cni, ztunnel). Without them the
/// `istio.io/dataplane-mode: ambient` label does nothing: no mTLS, no mesh.
const AMBIENT_CHARTS: [&str; 3] = ["istiod", "cni", "ztunnel"];

/// `mesh: true` needs Istio's ambient charts enabled in the cluster values.
fn check_mesh(values: &Values, scope: &Scoped<schema::Namespace>, problems: &mut Problems) {
    let components = values.cluster.typed.components.iter().flatten();
    let enabled: BTreeSet<&str> = components
        .filter(|(_, component)| component.enabled != Some(false))
        .filter_map(|(_, component)| component.chart.as_deref())
        .collect();
    let missing: Vec<&str> = AMBIENT_CHARTS.into_iter().filter(|chart| !enabled.contains(chart)).collect();
    if missing.is_empty() {
        return;
    }
    let path = KeyPath::root().key("mesh");
    problems.add(
        scope,
        path.clone(),
        &path,
        format!(
            "`mesh: true` enrols the namespace in Istio's ambient mesh, but no enabled component installs the chart{} {}, so nothing would carry its traffic",
            if missing.len() == 1 { "" } else { "s" },
            join(missing.iter())
        ),
        Some("turn Istio on in values/cluster.yaml (README, \"Service mesh (opt-in)\"), or remove `mesh: true`".into()),
    );
}

/// Checks the name of the object declared at `at` in `scope` (`shown` in messages).
fn check_object_name<T>(
    scope: &Scoped<T>,
    at: &KeyPath,
    shown: &KeyPath,
    name: &str,
    what: &str,
    problems: &mut Problems,
) {
    if let Some(problem) = dns_label_problem(name) {
        problems.add(
            scope,
            at.clone(),
            shown,
            format!("{what} name `{name}` {problem}"),
            Some("names must be DNS-1123 labels".into()),
        );
    }
}

fn check_workload(
    values: &Values,
    namespace: &NamespaceValues,
    scope: &Scoped<Workload>,
    shown: &KeyPath,
    problems: &mut Problems,
) {
    let workload = &scope.typed;
    let at = |key: &str| (KeyPath::root().key(key), shown.key(key));
    for (key, present, help) in [
        ("kind", workload.kind.is_some(), "set `kind:` to Deployment, StatefulSet, DaemonSet, Job or CronJob"),
        ("image", workload.image.is_some(), "set `image:` on the workload or in `defaults.workload`"),
    ] {
        if !present {
            // An unset key has no origin of its own: this points at the workload's entry.
            let (path, display) = at(key);
            problems.add(scope, path, &display, format!("missing required key `{key}`"), Some(help.into()));
        }
    }
    if let Some(node) = &workload.node {
        if !values.nodes.contains_key(node) {
            let (path, display) = at("node");
            let help =
                did_you_mean(node, values.nodes.keys().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
            problems.add(
                scope,
                path,
                &display,
                format!("workload is pinned to undeclared node `{node}`"),
                help.or(Some(format!("declared nodes: {}", join(values.nodes.keys())))),
            );
        }
    }
    if let Some(selector) = &workload.node_selector {
        let (path, display) = at("nodeSelector");
        check_node_selector(values, scope, &path, &display, selector, problems);
    }
    for (key, value) in workload.env.iter().flatten() {
        let (path, display) = at("env");
        if let Some(url) = secrets::url_with_password(&value.0) {
            problems.add(
                scope,
                path.key(key.clone()),
                &display.key(key.clone()),
                format!("`{key}` holds a URL with a plaintext password (`{url}`)"),
                Some(URL_HELP.into()),
            );
        } else if secrets::looks_like_secret_key(key) && !value.0.is_empty() {
            problems.add(
                scope,
                path.key(key.clone()),
                &display.key(key.clone()),
                format!("`{key}` looks like a secret but is plain environment"),
                Some("seal it into a namespace secret and reference it under `secretEnv:`".into()),
            );
        }
    }
    for (field, list) in [("command", &workload.command), ("args", &workload.args)] {
        for (index, item) in list.iter().flatten().enumerate() {
            if let Some(url) = secrets::url_with_password(item) {
                let (path, display) = at(field);
                problems.add(
                    scope,
                    path.index(index),
                    &display.index(index),
                    format!("`{field}` holds a URL with a plaintext password (`{url}`)"),
                    Some(URL_HELP.into()),
                );
            }
        }
    }
    let sealed: BTreeSet<&str> =
        namespace.namespace.typed.secrets.iter().flatten().map(|(name, _)| name.as_str()).collect();
    scan_free_form(scope, &KeyPath::root().key("vars"), &shown.key("vars"), workload.vars.as_ref(), &sealed, problems);
    if let Some(product) = workload.gpu.as_ref().and_then(|gpu| gpu.product.as_ref()) {
        let known: BTreeSet<&str> = values
            .nodes
            .values()
            .flat_map(|n| n.typed.gpus.iter().flatten())
            .filter_map(|g| g.product.as_deref())
            .collect();
        if !known.contains(product.as_str()) {
            let (path, display) = at("gpu");
            problems.add(
                scope,
                path.key("product"),
                &display.key("product"),
                format!("no node has a GPU with product `{product}`"),
                Some(format!("declared GPU products: {}", join(known.iter()))),
            );
        }
    }
}

fn check_node_selector<T>(
    values: &Values,
    scope: &Scoped<T>,
    path: &KeyPath,
    display: &KeyPath,
    selector: &std::collections::BTreeMap<String, String>,
    problems: &mut Problems,
) {
    for (key, wanted) in selector {
        let matches = values
            .nodes
            .iter()
            .any(|(name, node)| node_labels(name, &node.typed).any(|(label, value)| label == key && value == wanted));
        if !matches {
            problems.add(
                scope,
                path.key(key.clone()),
                &display.key(key.clone()),
                format!("no declared node has label `{key}={wanted}`"),
                Some("add the label to a node file or fix the selector".into()),
            );
        }
    }
}

/// The labels a node carries: declared ones plus the hostname label Kubernetes sets.
pub fn node_labels<'a>(name: &'a str, node: &'a schema::Node) -> impl Iterator<Item = (&'a str, &'a str)> {
    node.labels
        .iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .chain(std::iter::once(("kubernetes.io/hostname", name)))
}

const URL_HELP: &str = "keep the password in a sealed secret: put it in a `secretEnv` variable and write `$(VAR)` in its place, or use the chart's existing-secret setting";

const KEY_HELP: &str = "seal it under `secrets:` in a namespace file and reference the Secret by name (a key such as `existingSecret` or `*SecretName`, or a value naming the sealed secret); see README, Secrets";

/// Reports plaintext credentials in a free-form map (`vars`, Helm `values`)
/// found at `path` in `scope` (`shown` in messages).
fn scan_free_form<T>(
    scope: &Scoped<T>,
    path: &KeyPath,
    shown: &KeyPath,
    map: Option<&schema::Vars>,
    sealed: &BTreeSet<&str>,
    problems: &mut Problems,
) {
    let Some(map) = map else { return };
    let map = serde_yaml::Value::Mapping(
        map.iter().map(|(key, value)| (serde_yaml::Value::String(key.clone()), value.clone())).collect(),
    );
    for leak in secrets::scan(&map, sealed) {
        let help = if leak.message.contains("URL") { URL_HELP } else { KEY_HELP };
        problems.add(scope, path.join(&leak.path), &shown.join(&leak.path), leak.message, Some(help.into()));
    }
}

/// Every scope's `vars` and every component's Helm `values`; cluster and node
/// scopes may name a secret sealed in any namespace.
fn check_free_form(values: &Values, problems: &mut Problems) {
    let all_sealed: BTreeSet<&str> = values
        .namespaces
        .values()
        .flat_map(|namespace| namespace.namespace.typed.secrets.iter().flatten().map(|(name, _)| name.as_str()))
        .collect();
    let cluster = &values.cluster;
    let vars = KeyPath::root().key("vars");
    scan_free_form(cluster, &vars, &vars, cluster.typed.vars.as_ref(), &all_sealed, problems);
    for (name, component) in cluster.typed.components.iter().flatten() {
        let path = KeyPath::root().key("components").key(name.clone()).key("values");
        scan_free_form(cluster, &path, &path, component.values.as_ref(), &all_sealed, problems);
    }
    for node in values.nodes.values() {
        scan_free_form(node, &vars, &vars, node.typed.vars.as_ref(), &all_sealed, problems);
    }
    for namespace in values.namespaces.values() {
        let scope = &namespace.namespace;
        let sealed: BTreeSet<&str> = scope.typed.secrets.iter().flatten().map(|(name, _)| name.as_str()).collect();
        scan_free_form(scope, &vars, &vars, scope.typed.vars.as_ref(), &sealed, problems);
    }
}

pub(super) fn join<'a>(items: impl Iterator<Item = impl AsRef<str> + 'a>) -> String {
    let items: Vec<String> = items.map(|item| format!("`{}`", item.as_ref())).collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label_problem("ai-system-gpu"), None);
        assert_eq!(dns_label_problem("AI"), Some("may only contain lower-case letters, digits and `-`"));
        assert_eq!(dns_label_problem("-x"), Some("must start and end with a letter or digit"));
        assert_eq!(dns_label_problem(&"a".repeat(64)), Some("is longer than 63 characters"));
    }
}
