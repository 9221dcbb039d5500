//! Least privilege between the namespaces that deny by default: every
//! connection the NetworkPolicies allow from one workload's pods to another's
//! should be one a declared flow needs. A path they allow that no flow
//! declares is a warning at the destination (`plan-flow-least-privilege`).
//!
//! Which namespaces: those whose values set `networkPolicy.defaultDeny`, so
//! both directions are isolated and traffic between their workloads is meant
//! to follow the flows. Sources and destinations are the rendered pod
//! templates of workloads there; traffic from other namespaces (Traefik,
//! Prometheus) is each namespace's own allow rule and not judged here.
//!
//! A connection is allowed with Kubernetes' semantics ([`super::evaluate`]):
//! the source's egress and the destination's ingress, each isolated by the
//! policies that select the pod for that direction and opened by any of their
//! rules. Candidates are only the pods some ingress rule of the destination
//! names (its peers' namespace and pod selectors, or everyone for a rule
//! without `from`), so the cost follows what the policies admit, not the
//! square of the workloads; each destination stops at the first few witnesses.

use std::collections::{BTreeMap, BTreeSet};

use super::evaluate::{Destination, Network, Pod};
use super::policy::Peer;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::output::object::Object;

pub const LEAST_PRIVILEGE: &str = "plan-flow-least-privilege";

/// Witnesses listed per destination before "and more".
const SHOWN: usize = 5;

/// A workload's pods, as the check sees them.
pub struct Endpoint<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub object: &'a Object,
    pub pod: Pod<'a>,
}

/// A connection a declared flow needs: source, destination (namespace and
/// workload each) and the destination's container port.
pub type Declared<'a> = BTreeSet<((&'a str, &'a str), (&'a str, &'a str), u16)>;

pub fn check(
    network: &Network,
    endpoints: &[Endpoint],
    declared: &Declared,
    isolated: &BTreeSet<&str>,
    locator: &Locator,
) -> Vec<Diagnostic> {
    let mut by_namespace: BTreeMap<&str, Vec<&Endpoint>> = BTreeMap::new();
    for endpoint in endpoints.iter().filter(|endpoint| isolated.contains(endpoint.namespace)) {
        by_namespace.entry(endpoint.namespace).or_default().push(endpoint);
    }
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for destination in by_namespace.values().flatten() {
        if !seen.insert((destination.namespace, destination.name)) {
            continue;
        }
        if let Some(finding) =
            judge(network, destination, &candidates(network, destination, &by_namespace), declared, locator)
        {
            findings.push(finding);
        }
    }
    findings
}

/// The workloads some ingress rule selecting `destination` names. Each
/// peer's namespace selector is tried once per namespace, and only the
/// namespaces it selects have their pods looked at.
fn candidates<'e, 'a>(
    network: &Network,
    destination: &Endpoint,
    by_namespace: &BTreeMap<&str, Vec<&'e Endpoint<'a>>>,
) -> Vec<&'e Endpoint<'a>> {
    let mut found: BTreeMap<(&str, &str), &Endpoint> = BTreeMap::new();
    let mut admit = |pods: &[&'e Endpoint<'a>], selector: Option<&crate::kube::Selector>| {
        for endpoint in pods.iter().copied().filter(|endpoint| selector.is_none_or(|s| s.matches(endpoint.pod.labels)))
        {
            found.entry((endpoint.namespace, endpoint.name)).or_insert(endpoint);
        }
    };
    let policies = network.policies(destination.namespace);
    for policy in policies.iter().filter(|policy| policy.selector.matches(destination.pod.labels)) {
        for rule in policy.ingress.iter().flatten() {
            let Some(peers) = &rule.peers else {
                // No `from`: every source.
                for pods in by_namespace.values() {
                    admit(pods, None);
                }
                continue;
            };
            for peer in peers {
                let Peer::Pods { namespaces, pods: selector } = peer else { continue };
                match namespaces {
                    None => {
                        if let Some(pods) = by_namespace.get(policy.namespace.as_str()) {
                            admit(pods, selector.as_ref());
                        }
                    }
                    Some(namespaces) => {
                        for (namespace, pods) in by_namespace {
                            if namespaces.matches(&network.namespace_labels(namespace)) {
                                admit(pods, selector.as_ref());
                            }
                        }
                    }
                }
            }
        }
    }
    found.into_values().collect()
}

/// The finding for `destination`, when some candidate reaches one of its
/// ports without a declared flow.
fn judge(
    network: &Network,
    destination: &Endpoint,
    candidates: &[&Endpoint],
    declared: &Declared,
    locator: &Locator,
) -> Option<Diagnostic> {
    let to = (destination.namespace, destination.name);
    let mut witnesses: Vec<String> = Vec::new();
    let mut by: BTreeSet<String> = BTreeSet::new();
    let mut more = false;
    'sources: for source in candidates {
        if (source.namespace, source.name) == to {
            continue;
        }
        for port in destination.pod.ports {
            if declared.contains(&((source.namespace, source.name), to, port.number)) {
                continue;
            }
            let verdict = network.verdict(&source.pod, &Destination::Pod(destination.pod), port.number, port.protocol);
            if !verdict.allowed() {
                continue;
            }
            if witnesses.len() == SHOWN {
                more = true;
                break 'sources;
            }
            if let Some(super::Decision::Allowed(policies)) = verdict.ingress {
                by.extend(policies);
            }
            witnesses.push(format!(
                "`{}/{}` → {}/{}",
                source.namespace,
                source.name,
                port.number,
                port.protocol.as_str()
            ));
        }
    }
    if witnesses.is_empty() {
        return None;
    }
    let message = format!(
        "the NetworkPolicies let {}{} into `{}/{}` without a declared flow (ingress by {}): more than its clients need",
        witnesses.join(", "),
        if more { " and more" } else { "" },
        destination.namespace,
        destination.name,
        by.into_iter().collect::<Vec<_>>().join(", ")
    );
    let finding = locator.finding(destination.object, LEAST_PRIVILEGE, Severity::Warning, "", message);
    Some(finding.with_help(
        "admit only the workloads that declare a flow to it: drop the namespace's `ingressFrom` (in a namespace with `defaultDeny`, kiln admits each workload's declared clients on their ports), or declare the flow if it is meant",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::policy::Policy;
    use crate::network::tests::object;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The reference example of the Kubernetes docs ("The NetworkPolicy
    /// resource"): `role=db` pods of `default` admit `role=frontend` pods of
    /// `default` and every pod of a namespace labelled `project=myproject`.
    #[test]
    fn candidates_are_the_pods_the_destination_ingress_rules_name() {
        let policy = "
kind: NetworkPolicy
metadata: {name: test-network-policy, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {project: myproject}}
        - podSelector: {matchLabels: {role: frontend}}
      ports: [{protocol: TCP, port: 6379}]
";
        let network = Network::new(
            vec![Policy::of(&object(policy)).unwrap()],
            [("default", labels(&[])), ("team", labels(&[("project", "myproject")])), ("other", labels(&[]))]
                .into_iter()
                .map(|(name, labels)| (name.to_string(), labels))
                .collect(),
        );
        let dummy = object("kind: ConfigMap\nmetadata: {name: x}\n");
        let (db, frontend, cache, api) =
            (labels(&[("role", "db")]), labels(&[("role", "frontend")]), labels(&[("role", "cache")]), labels(&[]));
        let endpoint = |namespace, name, labels| Endpoint {
            namespace,
            name,
            object: &dummy,
            pod: Pod { namespace, labels, ports: &[] },
        };
        let endpoints = [
            endpoint("default", "db", &db),
            endpoint("default", "frontend", &frontend),
            endpoint("default", "cache", &cache),
            endpoint("team", "api", &api),
            endpoint("other", "api", &api),
        ];
        let mut by_namespace: BTreeMap<&str, Vec<&Endpoint>> = BTreeMap::new();
        for endpoint in &endpoints {
            by_namespace.entry(endpoint.namespace).or_default().push(endpoint);
        }
        let found: Vec<(&str, &str)> =
            candidates(&network, &endpoints[0], &by_namespace).iter().map(|e| (e.namespace, e.name)).collect();
        assert_eq!(found, [("default", "frontend"), ("team", "api")]);
    }
}
