//! `readiness-probe`: containers of Deployments, StatefulSets, DaemonSets and
//! ReplicaSets that declare ports have a readinessProbe. A Service's endpoints
//! include a pod as soon as it runs unless a readiness probe says otherwise
//! (<https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/>);
//! init containers and Jobs serve no traffic and are exempt.

use super::{Context, READINESS_PROBE};
use crate::kube::{self, PodTemplate};

impl<'b> Context<'b> {
    pub(super) fn readiness_probe(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        if !matches!(object.identity.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") {
            return;
        }
        for (path, container, init) in template.containers() {
            let name = kube::get_str(container, &["name"]).unwrap_or("?").to_string();
            let ports = !kube::seq(container.get("ports")).is_empty();
            if !init && ports && container.get("readinessProbe").is_none() {
                self.report(
                    object,
                    READINESS_PROBE,
                    path.key("readinessProbe"),
                    format!("container `{name}` serves ports but has no readinessProbe"),
                    "declare `probes.readiness` in the workload's values so Services only route to ready pods",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::READINESS_PROBE;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    #[test]
    fn a_deployment_serving_ports_without_readiness_probe_is_reported() {
        let container = format!("{GOOD_CONTAINER}, ports: [{{containerPort: 80}}]");
        assert_eq!(
            Cluster::new(WEB, &deployment("", &container)).findings(READINESS_PROBE),
            ["spec.template.spec.containers[0].readinessProbe: container `app` serves ports but has no readinessProbe"]
        );
        let probed = format!("{container}, readinessProbe: {{tcpSocket: {{port: 80}}}}");
        assert!(Cluster::new(WEB, &deployment("", &probed)).findings(READINESS_PROBE).is_empty());
    }

    #[test]
    fn jobs_serve_no_traffic_and_need_no_readiness_probe() {
        let job = format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - {{name: app, {GOOD_CONTAINER}, ports: [{{containerPort: 80}}]}}\n"
        );
        assert!(Cluster::new("    kind: Job\n    image: nginx:1.27\n", &job).findings(READINESS_PROBE).is_empty());
    }
}
