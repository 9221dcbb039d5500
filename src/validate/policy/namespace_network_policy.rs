//! `namespace-network-policy`: every app namespace (declared in values, with
//! an enabled workload) has a default-deny NetworkPolicy for ingress and egress
//! and one allowing DNS egress (UDP 53) for all pods. Only policies with an
//! empty `podSelector` select every pod of the namespace
//! (<https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies>).

use super::{Context, NETWORK_POLICY};
use crate::diagnostic::Diagnostic;
use crate::kube::{self, Selector};
use crate::output::object::Object;
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;

impl<'b> Context<'b> {
    /// App namespaces (declared in values, with an enabled workload) need a
    /// default-deny NetworkPolicy and one allowing DNS egress for all pods.
    pub(super) fn namespace_network_policy(&mut self) {
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
}

#[cfg(test)]
mod tests {
    use super::NETWORK_POLICY;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";
    const DENY_ALL: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n";

    #[test]
    fn an_app_namespace_without_dns_egress_is_reported_at_its_values() {
        let cluster = Cluster::new(WEB, &deployment("", GOOD_CONTAINER))
            .file("templates/namespaces/network-policies.yaml", DENY_ALL);
        assert_eq!(
            cluster.findings(NETWORK_POLICY),
            ["values/namespaces/apps.yaml:: app namespace `apps` has no NetworkPolicy allowing DNS egress (UDP port 53) for all pods"]
        );
    }

    #[test]
    fn a_namespace_whose_workloads_all_waive_it_is_not_reported() {
        let waived =
            format!("{WEB}    policyExceptions: {{namespace-network-policy: isolated by the host firewall}}\n");
        let cluster = Cluster::new(&waived, &deployment("", GOOD_CONTAINER))
            .file("templates/namespaces/network-policies.yaml", DENY_ALL);
        assert!(cluster.findings(NETWORK_POLICY).is_empty());
    }
}
