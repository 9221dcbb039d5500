//! `restricted-security-context`: pods in namespaces that enforce the
//! `restricted` Pod Security level meet it, as the Pod Security Standards
//! define it (<https://kubernetes.io/docs/concepts/security/pod-security-standards/>):
//! no host namespaces, hostPath volumes or hostPorts, no privileged container
//! or privilege escalation, non-root, a RuntimeDefault or Localhost seccomp
//! profile, and ALL capabilities dropped (only NET_BIND_SERVICE may be added).
//! Admission rejects any other pod, so the workload would never start.

use serde_yaml::Value;

use super::{Context, RESTRICTED};
use crate::kube::{self, PodTemplate};
use crate::values::key_path::KeyPath;
use crate::values::schema::PodSecurityLevel;

impl<'b> Context<'b> {
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

    pub(super) fn restricted_security_context(&mut self, template: &PodTemplate<'b>) {
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
}

#[cfg(test)]
mod tests {
    use super::RESTRICTED;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    #[test]
    fn host_network_and_added_capabilities_break_the_restricted_level() {
        let container = GOOD_CONTAINER.replace("drop: [ALL]", "drop: [ALL], add: [NET_BIND_SERVICE, NET_ADMIN]");
        assert_eq!(
            Cluster::new(WEB, &deployment("hostNetwork: true", &container)).findings(RESTRICTED),
            [
                "spec.template.spec.containers[0].securityContext.capabilities.add: container `app` adds capability `NET_ADMIN`",
                "spec.template.spec.hostNetwork: pod sets `hostNetwork: true`",
            ]
        );
    }

    #[test]
    fn a_container_without_a_security_context_breaks_every_restricted_rule() {
        let container = "image: nginx:1.27";
        assert_eq!(
            Cluster::new(WEB, &deployment("", container)).findings(RESTRICTED),
            [
                "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation: container `app` does not set `allowPrivilegeEscalation: false`",
                "spec.template.spec.containers[0].securityContext.capabilities.drop: container `app` does not drop ALL capabilities",
                "spec.template.spec.containers[0].securityContext.runAsNonRoot: container `app` does not set `runAsNonRoot: true` (in its or the pod's securityContext)",
                "spec.template.spec.containers[0].securityContext.seccompProfile: container `app` has no seccompProfile of type RuntimeDefault or Localhost (in its or the pod's securityContext)",
            ]
        );
    }

    #[test]
    fn a_baseline_namespace_is_not_held_to_the_restricted_level() {
        let namespace = format!(
            "name: apps\npodSecurity: {{level: baseline, reason: needs host networking}}\nworkloads:\n  web:\n{WEB}"
        );
        let cluster = Cluster::new(WEB, &deployment("hostNetwork: true", GOOD_CONTAINER))
            .file("values/namespaces/apps.yaml", &namespace);
        assert!(cluster.findings(RESTRICTED).is_empty());
    }
}
