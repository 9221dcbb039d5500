//! Whether a connection gets through the cluster's NetworkPolicies.
//!
//! Kubernetes semantics (kubernetes.io/docs/concepts/services-networking/
//! network-policies, "The two sorts of pod isolation", and the
//! `NetworkPolicySpec` API reference): a pod is isolated for a direction
//! once any policy in its namespace selects it and has that direction in its
//! policy types; an isolated pod's connections in that direction are those
//! at least one rule of those policies allows (policies are a union of
//! allows, never a deny); a connection needs both the source's egress and
//! the destination's ingress to allow it. A peer with only `podSelector`
//! selects pods of the policy's namespace, with only `namespaceSelector` all
//! pods of the selected namespaces, with both the selected pods in the
//! selected namespaces. Namespaces carry `kubernetes.io/metadata.name`
//! (set by the API server on every namespace since Kubernetes 1.22). A
//! named port in a rule refers to the destination pod's container port.
//!
//! `ipBlock`s are counted for destinations outside the cluster only: the
//! docs say they "should be cluster-external IPs, since Pod IPs are
//! ephemeral and unpredictable", and whether one matches a pod's address
//! after the CNI's rewriting "is not defined". Traffic from a pod's own node
//! (the kubelet's probes) is always allowed, so it is not modelled.
//!
//! Cost: policies are kept by namespace, so a verdict reads the policies of
//! the source's and the destination's namespaces only, and checking every
//! declared flow costs flows × policies per namespace, whatever the size of
//! the cluster.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::cidr::{self, External};
use super::policy::{Peer, Policy, Protocol, Rule};

/// A pod's namespace, labels and container ports.
#[derive(Debug, Clone, Copy)]
pub struct Pod<'p> {
    pub namespace: &'p str,
    pub labels: &'p BTreeMap<String, String>,
    pub ports: &'p [ContainerPort],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub number: u16,
    pub protocol: Protocol,
}

/// Where a connection goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'d> {
    Pod(Pod<'d>),
    External(&'d External),
}

/// One direction's answer for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No policy isolates the pod in this direction.
    Open,
    /// Isolated, and allowed by these policies (`namespace/name`).
    Allowed(Vec<String>),
    /// Isolated by these policies, none of which allows it.
    Denied(Vec<String>),
}

impl Decision {
    pub fn allows(&self) -> bool {
        !matches!(self, Decision::Denied(_))
    }
}

/// A connection's two halves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub egress: Decision,
    /// `None` for a destination outside the cluster.
    pub ingress: Option<Decision>,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.egress.allows() && self.ingress.as_ref().is_none_or(Decision::allows)
    }
}

/// The policies of a cluster, by namespace, and its namespaces' labels.
#[derive(Debug, Default)]
pub struct Network {
    policies: HashMap<String, Vec<Policy>>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl Network {
    /// `namespaces`: each namespace's labels as declared; the
    /// `kubernetes.io/metadata.name` label is added.
    pub fn new(policies: Vec<Policy>, namespaces: BTreeMap<String, BTreeMap<String, String>>) -> Network {
        let mut by_namespace: HashMap<String, Vec<Policy>> = HashMap::new();
        for policy in policies {
            by_namespace.entry(policy.namespace.clone()).or_default().push(policy);
        }
        let namespaces = namespaces
            .into_iter()
            .map(|(name, mut labels)| {
                labels.insert(METADATA_NAME.to_string(), name.clone());
                (name, labels)
            })
            .collect();
        Network { policies: by_namespace, namespaces }
    }

    /// A namespace's labels; one kiln does not render (kube-system) has the
    /// API server's name label only.
    pub(crate) fn namespace_labels(&self, namespace: &str) -> Cow<'_, BTreeMap<String, String>> {
        match self.namespaces.get(namespace) {
            Some(labels) => Cow::Borrowed(labels),
            None => Cow::Owned(BTreeMap::from([(METADATA_NAME.to_string(), namespace.to_string())])),
        }
    }

    pub fn policies(&self, namespace: &str) -> &[Policy] {
        self.policies.get(namespace).map_or(&[], Vec::as_slice)
    }

    /// Whether `from` may open a connection to `to` on `port`/`protocol`
    /// (for a pod, the container port it lands on).
    pub fn verdict(&self, from: &Pod, to: &Destination, port: u16, protocol: Protocol) -> Verdict {
        let name = match to {
            Destination::Pod(pod) => port_name(pod, port, protocol),
            Destination::External(_) => None,
        };
        match to {
            Destination::Pod(pod) => Verdict {
                egress: self.decide(
                    from,
                    |policy| policy.egress.as_deref(),
                    |rule, policy| rule_admits(rule, port, protocol, name) && self.pod_peer(rule, policy, pod),
                ),
                ingress: Some(self.decide(
                    pod,
                    |policy| policy.ingress.as_deref(),
                    |rule, policy| rule_admits(rule, port, protocol, name) && self.pod_peer(rule, policy, from),
                )),
            },
            Destination::External(external) => {
                Verdict { egress: self.external_egress(from, external, port, protocol), ingress: None }
            }
        }
    }

    /// Egress to addresses outside the cluster: every address of the
    /// destination must be allowed by some rule, so the blocks of all rules
    /// (of every policy isolating the pod) that admit the port are joined.
    fn external_egress(&self, from: &Pod, external: &External, port: u16, protocol: Protocol) -> Decision {
        let mut isolating = Vec::new();
        let mut contributing = Vec::new();
        let mut blocks = Vec::new();
        let mut open_rule = false;
        for policy in self.policies(from.namespace).iter().filter(|policy| policy.selector.matches(from.labels)) {
            let Some(rules) = policy.egress.as_deref() else { continue };
            isolating.push(policy.label());
            let mut contributes = false;
            for rule in rules.iter().filter(|rule| rule_admits(rule, port, protocol, None)) {
                match &rule.peers {
                    None => {
                        open_rule = true;
                        contributes = true;
                    }
                    Some(peers) => {
                        for peer in peers {
                            if let Peer::Block(block) = peer {
                                blocks.push(block);
                                contributes = true;
                            }
                        }
                    }
                }
            }
            if contributes {
                contributing.push(policy.label());
            }
        }
        if isolating.is_empty() {
            Decision::Open
        } else if open_rule || cidr::covers(blocks, external) {
            Decision::Allowed(contributing)
        } else {
            Decision::Denied(isolating)
        }
    }

    /// One direction at `pod`: the policies selecting it that have rules for
    /// the direction, and whether one of their rules lets the connection in.
    fn decide<'n>(
        &'n self,
        pod: &Pod,
        rules: impl Fn(&'n Policy) -> Option<&'n [Rule]>,
        admits: impl Fn(&Rule, &Policy) -> bool,
    ) -> Decision {
        let mut isolating = Vec::new();
        let mut allowing = Vec::new();
        for policy in self.policies(pod.namespace).iter().filter(|policy| policy.selector.matches(pod.labels)) {
            let Some(direction) = rules(policy) else { continue };
            isolating.push(policy.label());
            if direction.iter().any(|rule| admits(rule, policy)) {
                allowing.push(policy.label());
            }
        }
        match (isolating.is_empty(), allowing.is_empty()) {
            (true, _) => Decision::Open,
            (false, false) => Decision::Allowed(allowing),
            (false, true) => Decision::Denied(isolating),
        }
    }

    /// Whether some peer of the rule selects `pod`.
    fn pod_peer(&self, rule: &Rule, policy: &Policy, pod: &Pod) -> bool {
        let Some(peers) = &rule.peers else { return true };
        peers.iter().any(|peer| match peer {
            Peer::Pods { namespaces, pods } => {
                let namespace_ok = match namespaces {
                    None => pod.namespace == policy.namespace,
                    Some(selector) => selector.matches(&self.namespace_labels(pod.namespace)),
                };
                namespace_ok && pods.as_ref().is_none_or(|selector| selector.matches(pod.labels))
            }
            Peer::Block(_) | Peer::Unreadable => false,
        })
    }
}

const METADATA_NAME: &str = "kubernetes.io/metadata.name";

fn port_name<'p>(pod: &Pod<'p>, port: u16, protocol: Protocol) -> Option<&'p str> {
    pod.ports.iter().find(|p| p.number == port && p.protocol == protocol).and_then(|p| p.name.as_deref())
}

fn rule_admits(rule: &Rule, port: u16, protocol: Protocol, name: Option<&str>) -> bool {
    rule.ports.is_empty() || rule.ports.iter().any(|rule_port| rule_port.matches(port, protocol, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::policy::Policy;
    use crate::network::tests::object;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn network(policies: &[&str], namespaces: &[(&str, &[(&str, &str)])]) -> Network {
        Network::new(
            policies.iter().map(|yaml| Policy::of(&object(yaml)).unwrap()).collect(),
            namespaces.iter().map(|(name, pairs)| (name.to_string(), labels(pairs))).collect(),
        )
    }

    const TCP: Protocol = Protocol::Tcp;

    /// The reference example of the Kubernetes docs ("The NetworkPolicy
    /// resource"): pods `role=db` in `default` accept TCP 6379 from
    /// 172.17.0.0/16 except 172.17.1.0/24, from any pod of a namespace
    /// labelled `project=myproject` and from `role=frontend` pods of
    /// `default`; they may connect to 10.0.0.0/24 on TCP 5978.
    const DOCS_EXAMPLE: &str = "
kind: NetworkPolicy
metadata: {name: test-network-policy, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
        - namespaceSelector: {matchLabels: {project: myproject}}
        - podSelector: {matchLabels: {role: frontend}}
      ports: [{protocol: TCP, port: 6379}]
  egress:
    - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
      ports: [{protocol: TCP, port: 5978}]
";

    #[test]
    fn the_docs_reference_example() {
        let net = network(&[DOCS_EXAMPLE], &[("default", &[]), ("team", &[("project", "myproject")]), ("other", &[])]);
        let db_labels = labels(&[("role", "db")]);
        let frontend_labels = labels(&[("role", "frontend")]);
        let anyone = labels(&[("app", "x")]);
        let db = Pod { namespace: "default", labels: &db_labels, ports: &[] };
        let cases = [
            (Pod { namespace: "default", labels: &frontend_labels, ports: &[] }, 6379, true),
            (Pod { namespace: "default", labels: &frontend_labels, ports: &[] }, 6380, false),
            (Pod { namespace: "default", labels: &anyone, ports: &[] }, 6379, false),
            (Pod { namespace: "team", labels: &anyone, ports: &[] }, 6379, true),
            // A frontend pod of another namespace: podSelector alone is the policy's namespace.
            (Pod { namespace: "other", labels: &frontend_labels, ports: &[] }, 6379, false),
        ];
        for (from, port, allowed) in cases {
            let verdict = net.verdict(&from, &Destination::Pod(db), port, TCP);
            assert_eq!(verdict.allowed(), allowed, "{} {:?} → db:{port}", from.namespace, from.labels);
        }
        // The db pod's own egress: 10.0.0.0/24 on 5978 only; the frontend is not isolated.
        let inside: External = External::Cidr("10.0.0.7/32".parse().unwrap());
        let outside: External = External::Cidr("10.0.1.7/32".parse().unwrap());
        assert!(net.verdict(&db, &Destination::External(&inside), 5978, TCP).allowed());
        assert!(!net.verdict(&db, &Destination::External(&inside), 5979, TCP).allowed());
        assert!(!net.verdict(&db, &Destination::External(&outside), 5978, TCP).allowed());
        let frontend = Pod { namespace: "default", labels: &frontend_labels, ports: &[] };
        assert_eq!(net.verdict(&frontend, &Destination::External(&outside), 1, TCP).egress, Decision::Open);
    }

    /// The docs' "Behavior of to and from selectors": one element with both
    /// selectors is an AND, two elements an OR.
    #[test]
    fn one_peer_with_both_selectors_is_an_and() {
        let and = "
kind: NetworkPolicy
metadata: {name: and, namespace: default}
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {user: alice}}
          podSelector: {matchLabels: {role: client}}
";
        let or = and.replace("name: and", "name: or").replace("          podSelector", "        - podSelector");
        let namespaces: &[(&str, &[(&str, &str)])] = &[("default", &[]), ("alice", &[("user", "alice")])];
        let client = labels(&[("role", "client")]);
        let other = labels(&[("role", "other")]);
        let target_labels = labels(&[]);
        let target = Destination::Pod(Pod { namespace: "default", labels: &target_labels, ports: &[] });
        let from = |namespace, labels| Pod { namespace, labels, ports: &[] };
        let table = [
            (from("alice", &client), true, true),
            (from("alice", &other), false, true),
            (from("default", &client), false, true),
            (from("default", &other), false, false),
        ];
        let and_net = network(&[and], namespaces);
        let or_net = network(&[or.as_str()], namespaces);
        for (source, with_and, with_or) in table {
            assert_eq!(and_net.verdict(&source, &target, 80, TCP).allowed(), with_and, "and: {source:?}");
            assert_eq!(or_net.verdict(&source, &target, 80, TCP).allowed(), with_or, "or: {source:?}");
        }
    }

    /// The docs' default policies: deny all ingress, allow all ingress, deny
    /// all egress, allow all egress, deny both.
    #[test]
    fn the_docs_default_policies() {
        let deny_ingress = "kind: NetworkPolicy\nmetadata: {name: default-deny-ingress, namespace: n}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
        let allow_ingress = "kind: NetworkPolicy\nmetadata: {name: allow-all-ingress, namespace: n}\nspec: {podSelector: {}, ingress: [{}], policyTypes: [Ingress]}\n";
        let deny_egress = "kind: NetworkPolicy\nmetadata: {name: default-deny-egress, namespace: n}\nspec: {podSelector: {}, policyTypes: [Egress]}\n";
        let allow_egress = "kind: NetworkPolicy\nmetadata: {name: allow-all-egress, namespace: n}\nspec: {podSelector: {}, egress: [{}], policyTypes: [Egress]}\n";
        let deny_all = "kind: NetworkPolicy\nmetadata: {name: default-deny-all, namespace: n}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n";
        let pod_labels = labels(&[("app", "a")]);
        let pod = Pod { namespace: "n", labels: &pod_labels, ports: &[] };
        let to = Destination::Pod(pod);
        let cases: [(&[&str], bool); 6] = [
            (&[], true),
            (&[deny_ingress], false),
            (&[deny_ingress, allow_ingress], true),
            (&[deny_egress], false),
            (&[deny_egress, allow_egress], true),
            (&[deny_all, allow_ingress, allow_egress], true),
        ];
        for (policies, allowed) in cases {
            assert_eq!(network(policies, &[]).verdict(&pod, &to, 80, TCP).allowed(), allowed, "{policies:?}");
        }
        let verdict = network(&[deny_all], &[]).verdict(&pod, &to, 80, TCP);
        assert_eq!(verdict.egress, Decision::Denied(vec!["n/default-deny-all".to_string()]));
        assert_eq!(verdict.ingress, Some(Decision::Denied(vec!["n/default-deny-all".to_string()])));
    }

    /// A namespace selector by the API server's name label, as kiln's
    /// templates write it, and named ports of the destination pod.
    #[test]
    fn namespaces_by_name_and_named_ports() {
        let policy = "
kind: NetworkPolicy
metadata: {name: from-core, namespace: infra}
spec:
  podSelector: {matchLabels: {app: redis}}
  policyTypes: [Ingress]
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: core}}}]
      ports: [{port: redis}]
";
        let net = network(&[policy], &[("core", &[]), ("infra", &[])]);
        let redis_labels = labels(&[("app", "redis")]);
        let ports = [ContainerPort { name: Some("redis".to_string()), number: 6379, protocol: TCP }];
        let redis = Destination::Pod(Pod { namespace: "infra", labels: &redis_labels, ports: &ports });
        let client_labels = labels(&[]);
        let core = Pod { namespace: "core", labels: &client_labels, ports: &[] };
        let gpu = Pod { namespace: "gpu", labels: &client_labels, ports: &[] };
        assert!(net.verdict(&core, &redis, 6379, TCP).allowed());
        assert!(!net.verdict(&core, &redis, 6380, TCP).allowed());
        assert!(!net.verdict(&core, &redis, 6379, Protocol::Udp).allowed());
        assert!(!net.verdict(&gpu, &redis, 6379, TCP).allowed());
    }

    /// Internet egress needs an ipBlock that covers every public address; an
    /// egress rule with no `to` allows any destination.
    #[test]
    fn internet_egress() {
        let policy = |name: &str, to: &str| {
            format!(
                "kind: NetworkPolicy\nmetadata: {{name: {name}, namespace: n}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n    - {to}ports: [{{port: 443}}]\n"
            )
        };
        let lan = policy("lan", "to: [{ipBlock: {cidr: 192.168.1.0/24}}]\n      ");
        let internet =
            policy("internet", "to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 192.168.0.0/16]}}]\n      ");
        let any = policy("any-443", "");
        let pod_labels = labels(&[]);
        let pod = Pod { namespace: "n", labels: &pod_labels, ports: &[] };
        let internet_host = External::Internet;
        let to = Destination::External(&internet_host);
        assert!(!network(&[lan.as_str()], &[]).verdict(&pod, &to, 443, TCP).allowed());
        assert!(network(&[lan.as_str(), internet.as_str()], &[]).verdict(&pod, &to, 443, TCP).allowed());
        assert!(!network(&[internet.as_str()], &[]).verdict(&pod, &to, 80, TCP).allowed());
        assert!(network(&[any.as_str()], &[]).verdict(&pod, &to, 443, TCP).allowed());
        // Two policies that each allow half of the address space allow every address.
        let low = policy("low", "to: [{ipBlock: {cidr: 0.0.0.0/1}}]\n      ");
        let high = policy("high", "to: [{ipBlock: {cidr: 128.0.0.0/1}}]\n      ");
        assert_eq!(
            network(&[low.as_str(), high.as_str()], &[]).verdict(&pod, &to, 443, TCP).egress,
            Decision::Allowed(vec!["n/low".to_string(), "n/high".to_string()])
        );
    }
}
