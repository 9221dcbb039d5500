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

/// The workloads some ingress rule selecting `destination` names.
fn candidates<'e, 'a>(
    network: &Network,
    destination: &Endpoint,
    by_namespace: &BTreeMap<&str, Vec<&'e Endpoint<'a>>>,
) -> Vec<&'e Endpoint<'a>> {
    let mut found: BTreeMap<(&str, &str), &Endpoint> = BTreeMap::new();
    let policies = network.policies(destination.namespace);
    for policy in policies.iter().filter(|policy| policy.selector.matches(destination.pod.labels)) {
        for rule in policy.ingress.iter().flatten() {
            for (namespace, pods) in by_namespace {
                let admitted = |endpoint: &Endpoint| match &rule.peers {
                    None => true,
                    Some(peers) => peers.iter().any(|peer| match peer {
                        Peer::Pods { namespaces, pods } => {
                            let namespace_ok = match namespaces {
                                None => *namespace == policy.namespace,
                                Some(selector) => selector.matches(&network.namespace_labels(namespace)),
                            };
                            namespace_ok && pods.as_ref().is_none_or(|selector| selector.matches(endpoint.pod.labels))
                        }
                        Peer::Block(_) | Peer::Unreadable => false,
                    }),
                };
                for endpoint in pods.iter().copied().filter(|endpoint| admitted(endpoint)) {
                    found.entry((endpoint.namespace, endpoint.name)).or_insert(endpoint);
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
