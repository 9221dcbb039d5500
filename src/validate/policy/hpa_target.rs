//! `hpa-target`: every HorizontalPodAutoscaler's `scaleTargetRef` names a
//! rendered object of its namespace, and `minReplicas` (default 1) is at most
//! `maxReplicas` (<https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>).

use super::{Context, HPA_TARGET};
use crate::diagnostic::did_you_mean;
use crate::kube;
use crate::output::object::{Identity, Object};

impl<'b> Context<'b> {
    pub(super) fn hpa_target(&mut self, object: &'b Object) {
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        let target = |field: &str| kube::get_str(&object.value, &["spec", "scaleTargetRef", field]).unwrap_or_default();
        let (api_version, kind, name) = (target("apiVersion"), target("kind"), target("name"));
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        let wanted = Identity {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: Some(namespace.clone()),
            name: name.to_string(),
        };
        let exists = self.identities.contains(&wanted);
        if !exists {
            let same_kind = self
                .objects_in(&namespace)
                .iter()
                .filter(|o| o.identity.kind == kind)
                .map(|o| o.identity.name.as_str());
            let help = match did_you_mean(name, same_kind) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "point scaleTargetRef at a rendered Deployment or StatefulSet".into(),
            };
            self.report(
                object,
                HPA_TARGET,
                "spec.scaleTargetRef",
                format!("scale target {kind} `{name}` (`{api_version}`) does not exist in namespace `{namespace}`"),
                &help,
            );
        }
        let min = kube::int(kube::get(&object.value, &["spec", "minReplicas"])).unwrap_or(1);
        if let Some(max) = kube::int(kube::get(&object.value, &["spec", "maxReplicas"])) {
            if min > max {
                self.report(
                    object,
                    HPA_TARGET,
                    "spec.minReplicas",
                    format!("minReplicas {min} is greater than maxReplicas {max}"),
                    "",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HPA_TARGET;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    fn hpa(target: &str, min: u32, max: u32) -> String {
        format!(
            "{}---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web}}\nspec: {{scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {target}}}, minReplicas: {min}, maxReplicas: {max}}}\n",
            deployment("", GOOD_CONTAINER)
        )
    }

    #[test]
    fn a_missing_scale_target_and_min_above_max_are_reported() {
        assert_eq!(
            Cluster::new(WEB, &hpa("wbe", 3, 2)).findings(HPA_TARGET),
            [
                "spec.minReplicas: minReplicas 3 is greater than maxReplicas 2",
                "spec.scaleTargetRef: scale target Deployment `wbe` (`apps/v1`) does not exist in namespace `apps`",
            ]
        );
        assert!(Cluster::new(WEB, &hpa("web", 1, 2)).findings(HPA_TARGET).is_empty());
    }
}
