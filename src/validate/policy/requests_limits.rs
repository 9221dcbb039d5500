//! `requests-limits`: every container sets `requests.cpu`, `requests.memory`
//! and `limits.memory`. The scheduler places a pod by its requests only
//! (<https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>),
//! so a container without them lands anywhere; without a memory limit a leak
//! grows until the node's OOM killer picks a victim.

use super::{Context, REQUESTS_LIMITS};
use crate::kube::{self, PodTemplate};

impl<'b> Context<'b> {
    pub(super) fn requests_limits(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        for (path, container, _) in template.containers() {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{deployment, Cluster, GOOD_CONTAINER};
    use super::REQUESTS_LIMITS;

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    #[test]
    fn a_container_without_requests_or_memory_limit_is_reported() {
        let objects = deployment("", "image: nginx:1.27, resources: {limits: {cpu: 200m}}");
        assert_eq!(
            Cluster::new(WEB, &objects).findings(REQUESTS_LIMITS),
            ["spec.template.spec.containers[0].resources: container `app` sets no requests.cpu, requests.memory, limits.memory"]
        );
    }

    #[test]
    fn a_container_with_requests_and_memory_limit_passes() {
        assert!(Cluster::new(WEB, &deployment("", GOOD_CONTAINER)).findings(REQUESTS_LIMITS).is_empty());
    }
}
