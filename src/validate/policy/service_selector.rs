//! `service-selector`: every Service selector matches the labels of some pod
//! template in its namespace. A Service whose selector matches no pod has no
//! endpoints (<https://kubernetes.io/docs/concepts/services-networking/service/>),
//! so every connection to it fails; ExternalName Services select nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, SERVICE_SELECTOR};
use crate::diagnostic::did_you_mean;
use crate::kube::{self, Selector};
use crate::output::object::Object;

impl<'b> Context<'b> {
    pub(super) fn service_selector(&mut self, object: &'b Object) {
        let value = &object.value;
        if kube::get_str(value, &["spec", "type"]) == Some("ExternalName") {
            return;
        }
        let selector = kube::string_map(kube::get(value, &["spec", "selector"]));
        if selector.is_empty() {
            return;
        }
        let namespace = object.identity.namespace.clone().unwrap_or_default();
        if !self.matching(&namespace, &Selector::from_map(selector.clone())).is_empty() {
            return;
        }
        let labels: Vec<&BTreeMap<String, String>> = self
            .namespace_workloads
            .get(&namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&index| self.workloads.get(index))
            .map(|workload| &workload.labels)
            .collect();
        let shown: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let (key, value) = selector.iter().next().map(|(k, v)| (k.as_str(), v.as_str())).unwrap_or_default();
        let candidates: BTreeSet<&str> =
            labels.iter().filter_map(|labels| labels.get(key)).map(String::as_str).collect();
        let help = match did_you_mean(value, candidates.iter().copied()) {
            Some(close) => format!("did you mean `{key}={close}`?"),
            None => "make the selector match the labels of the workload's pod template".into(),
        };
        self.report(
            object,
            SERVICE_SELECTOR,
            "spec.selector",
            format!("selector `{}` matches no pod template in namespace `{namespace}`", shown.join(", ")),
            &help,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::SERVICE_SELECTOR;
    use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};

    const WEB: &str = "    kind: Deployment\n    image: nginx:1.27\n";

    fn service(selector: &str) -> String {
        format!(
            "{}---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {selector}, ports: [{{port: 80}}]}}\n",
            deployment("", GOOD_CONTAINER)
        )
    }

    #[test]
    fn a_service_selecting_no_pod_template_is_reported() {
        assert_eq!(
            Cluster::new(WEB, &service("{app: wbe}")).findings(SERVICE_SELECTOR),
            ["spec.selector: selector `app=wbe` matches no pod template in namespace `apps`"]
        );
        assert!(Cluster::new(WEB, &service("{app: web}")).findings(SERVICE_SELECTOR).is_empty());
    }
}
