//! `gpu-placement`: pods using `nvidia.com/gpu` select only GPU nodes,
//! tolerate their taints, run with the nvidia runtime (a `runtimeClassName` or
//! the node's containerd default) and set a GPU limit equal to the request,
//! which the API server requires of extended resources
//! (<https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#extended-resources>).

use serde_yaml::Value;

use super::{Context, GPU_PLACEMENT};
use crate::kube::nodes::Node;
use crate::kube::placement::{selection_reason, untolerated};
use crate::kube::{self, PodTemplate};
use crate::values::key_path::KeyPath;

impl<'b> Context<'b> {
    pub(super) fn gpu_placement(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        let gpu = |container: &Value, field: &str| {
            kube::get(container, &["resources", field, "nvidia.com/gpu"]).and_then(kube::scalar)
        };
        let mut uses_gpu = false;
        for (path, container, _) in template.containers() {
            let (request, limit) = (gpu(container, "requests"), gpu(container, "limits"));
            uses_gpu |= request.as_deref().is_some_and(|r| r != "0") || limit.as_deref().is_some_and(|l| l != "0");
            if let Some(request) = request {
                if limit.as_deref() != Some(request.as_str()) {
                    let name = kube::get_str(container, &["name"]).unwrap_or("?");
                    self.report(
                        object,
                        GPU_PLACEMENT,
                        path.key("resources").key("limits").key("nvidia.com/gpu"),
                        format!("container `{name}` requests nvidia.com/gpu {request} without an equal limit"),
                        "extended resources need `limits` equal to `requests` (the API server rejects the pod otherwise); set the limit",
                    );
                }
            }
        }
        if !uses_gpu {
            return;
        }
        let Some(workload) = self.workload(object) else { return };
        let selected: Vec<&Node> =
            self.nodes.iter().filter(|node| selection_reason(workload, node).is_none()).collect();
        let mut problems: Vec<(KeyPath, String, String)> = Vec::new();
        if selected.is_empty() {
            problems.push((
                template.path.key("nodeSelector"),
                "pod requests nvidia.com/gpu but its nodeSelector and node affinity match no declared node".into(),
                "select the GPU nodes by a label they declare in values/nodes/".into(),
            ));
        }
        for node in selected.iter().filter(|node| !node.has_gpu()) {
            problems.push((
                template.path.key("nodeSelector"),
                format!("pod requests nvidia.com/gpu but may be scheduled on `{}`, which has no GPU", node.name),
                "pin it to GPU nodes with a nodeSelector or node affinity on a GPU node label (or `gpu.product` in the workload's values)".into(),
            ));
        }
        for node in selected.iter().filter(|node| node.has_gpu()) {
            if let Some(taint) = untolerated(workload, node) {
                problems.push((
                    template.path.key("tolerations"),
                    format!("pod does not tolerate taint `{taint}` of GPU node `{}`", node.name),
                    "add the toleration, or select only the GPU nodes it should run on".into(),
                ));
            }
            if workload.runtime_class.as_deref() != Some("nvidia") && node.default_runtime.as_deref() != Some("nvidia")
            {
                problems.push((
                    template.path.key("runtimeClassName"),
                    format!("pod sets no `runtimeClassName: nvidia` and GPU node `{}` does not default to the nvidia runtime", node.name),
                    "set `runtimeClassName: nvidia` (k3s ships that RuntimeClass) or `k3s.defaultRuntime: nvidia` in the node's values".into(),
                ));
            }
        }
        for (path, message, help) in problems {
            self.report(object, GPU_PLACEMENT, path, message, &help);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GPU_PLACEMENT;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    /// The good container with `resources` instead of its own.
    fn gpu_container(resources: &str) -> String {
        GOOD_CONTAINER.replace("{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}", resources)
    }

    #[test]
    fn a_gpu_pod_must_tolerate_the_taint_use_the_nvidia_runtime_and_set_the_limit() {
        let container =
            gpu_container("{requests: {cpu: 100m, memory: 64Mi, nvidia.com/gpu: 1}, limits: {memory: 128Mi}}");
        assert_eq!(
            Cluster::new(WEB, &deployment("", &container)).gpu_node().findings(GPU_PLACEMENT),
            [
                "spec.template.spec.containers[0].resources.limits.\"nvidia.com/gpu\": container `app` requests nvidia.com/gpu 1 without an equal limit",
                "spec.template.spec.runtimeClassName: pod sets no `runtimeClassName: nvidia` and GPU node `n1` does not default to the nvidia runtime",
                "spec.template.spec.tolerations: pod does not tolerate taint `nvidia.com/gpu=true:NoSchedule` of GPU node `n1`",
            ]
        );
    }

    #[test]
    fn a_gpu_pod_pinned_to_the_gpu_node_with_toleration_and_runtime_passes() {
        let container =
            gpu_container("{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi, nvidia.com/gpu: 1}}");
        let spec = "nodeSelector: {gpu: \"true\"}\n      runtimeClassName: nvidia\n      tolerations: [{key: nvidia.com/gpu, operator: Exists}]";
        let objects = deployment(spec, &container);
        assert!(Cluster::new(WEB, &objects).gpu_node().findings(GPU_PLACEMENT).is_empty());
    }

    #[test]
    fn a_gpu_pod_that_may_land_on_a_node_without_gpu_is_reported() {
        let container =
            gpu_container("{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi, nvidia.com/gpu: 1}}");
        assert_eq!(
            Cluster::new(WEB, &deployment("", &container)).findings(GPU_PLACEMENT),
            ["spec.template.spec.nodeSelector: pod requests nvidia.com/gpu but may be scheduled on `n1`, which has no GPU"]
        );
    }
}
