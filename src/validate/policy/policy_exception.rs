//! `policy-exception`: every `policyExceptions` entry of a workload names a
//! policy of [`POLICIES`] and carries a written
//! justification; `no-plaintext-secret` cannot be waived at all, since
//! rendering refuses such a Secret before any policy runs.

use super::{Context, PLAINTEXT_SECRET, POLICIES, POLICY_EXCEPTION};
use crate::diagnostic::{did_you_mean, Diagnostic, Span};
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;

impl<'b> Context<'b> {
    /// `policyExceptions` entries must name a known policy and say why.
    pub(super) fn policy_exception(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::POLICY_EXCEPTION;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    fn findings(exceptions: &str) -> Vec<String> {
        let web = format!("    kind: Deployment\n    image: nginx:1.27\n    policyExceptions: {exceptions}\n");
        Cluster::new(&web, &deployment("", GOOD_CONTAINER)).findings(POLICY_EXCEPTION)
    }

    #[test]
    fn an_exception_must_name_a_policy_and_say_why() {
        assert_eq!(
            findings("{image-pined: pinned by digest upstream}"),
            ["values/namespaces/apps.yaml:workloads.web.policyExceptions.image-pined: policyExceptions names unknown policy `image-pined`"]
        );
        assert_eq!(
            findings("{image-pinned: \" \"}"),
            ["values/namespaces/apps.yaml:workloads.web.policyExceptions.image-pinned: the exception from `image-pinned` has no written justification"]
        );
        assert_eq!(
            findings("{no-plaintext-secret: legacy app}"),
            ["values/namespaces/apps.yaml:workloads.web.policyExceptions.no-plaintext-secret: `no-plaintext-secret` cannot be waived: kiln refuses to render a Secret with data or stringData"]
        );
        assert!(findings("{image-pinned: the vendor publishes only latest}").is_empty());
    }
}
