//! The schemas compiled into kiln: upstream Kubernetes JSON schemas per
//! supported version (`schemas/kubernetes/v<version>/`, vendored by
//! `schemas/kubernetes/vendor.py`) and the CRD schemas of the operators the
//! cluster installs (`schemas/crds/<group>/<kind>_<version>.json`). They are
//! embedded so kiln validates offline from any working directory; each is
//! parsed only when a rendered object needs it. The embedded copies are
//! minified and stripped of `description` prose by the build script.
//!
//! Also here: the default `values.yaml` of every pinned Helm chart version
//! (`schemas/charts/<chart>/<version>/`, vendored by
//! `schemas/charts/vendor.sh`), which `chart_values` checks component values
//! against; these are embedded as written.

/// The Kubernetes schemas of one minor version.
pub struct KubeVersion {
    /// `major.minor`, compared with `kubernetesVersion` in values/cluster.yaml.
    pub version: &'static str,
    /// Shared `$defs` that every kind schema references.
    pub definitions: &'static str,
    /// apiVersion → kinds the API server of this version serves.
    pub builtin: &'static str,
    pub kinds: &'static [BuiltinKind],
}

pub struct BuiltinKind {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub file: &'static str,
    pub schema: &'static str,
}

/// A vendored CustomResourceDefinition schema (one served version).
pub struct VendoredCrd {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub file: &'static str,
    pub schema: &'static str,
}

macro_rules! kind {
    ($api:literal, $kind:literal, $file:literal) => {
        BuiltinKind {
            api_version: $api,
            kind: $kind,
            file: concat!("schemas/kubernetes/v1.31/", $file, ".json"),
            schema: include_str!(concat!(env!("OUT_DIR"), "/schemas/kubernetes/v1.31/", $file, ".json")),
        }
    };
}

macro_rules! crd {
    ($group:literal, $version:literal, $kind:literal, $file:literal) => {
        VendoredCrd {
            group: $group,
            version: $version,
            kind: $kind,
            file: concat!("schemas/crds/", $group, "/", $file, "_", $version, ".json"),
            schema: include_str!(concat!(
                env!("OUT_DIR"),
                "/schemas/crds/",
                $group,
                "/",
                $file,
                "_",
                $version,
                ".json"
            )),
        }
    };
}

/// The default values of one Helm chart version, as its upstream repository
/// published them at the release tag (`schemas/charts/<chart>/<version>/SOURCE`).
pub struct VendoredChart {
    pub chart: &'static str,
    pub version: &'static str,
    /// `schemas/charts/<chart>/<version>`, named in messages.
    pub dir: &'static str,
    /// The chart's `values.yaml`.
    pub values: &'static str,
    /// (alias, `values.yaml`) of the subcharts vendored with it.
    pub subcharts: &'static [(&'static str, &'static str)],
    /// The `template-keys` file: keys the chart's templates read beyond what
    /// `values.yaml` lists, each accepting anything below it (one key path a
    /// line, `#` comments citing the template).
    pub template_keys: &'static str,
}

macro_rules! chart_file {
    ($($part:expr),+) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/charts/", $($part),+))
    };
}

macro_rules! chart {
    ($chart:literal, $version:literal) => {
        chart!($chart, $version, subcharts: [], template_keys: "")
    };
    ($chart:literal, $version:literal, subcharts: [$($alias:literal),*], template_keys: $template_keys:expr) => {
        VendoredChart {
            chart: $chart,
            version: $version,
            dir: concat!("schemas/charts/", $chart, "/", $version),
            values: chart_file!($chart, "/", $version, "/values.yaml"),
            subcharts: &[$(($alias, chart_file!($chart, "/", $version, "/charts/", $alias, "/values.yaml"))),*],
            template_keys: $template_keys,
        }
    };
}

/// Every vendored chart version, by chart name.
pub const CHARTS: &[VendoredChart] = &[
    chart!("argo-cd", "10.1.1", subcharts: [], template_keys: chart_file!("argo-cd/10.1.1/template-keys")),
    chart!("base", "1.27.3"),
    chart!("cni", "1.27.3"),
    chart!("dcgm-exporter", "4.8.2", subcharts: [], template_keys: chart_file!("dcgm-exporter/4.8.2/template-keys")),
    chart!("istiod", "1.27.3"),
    chart!("jaeger", "4.11.1", subcharts: [], template_keys: chart_file!("jaeger/4.11.1/template-keys")),
    chart!(
        "kube-prometheus-stack",
        "88.5.3",
        subcharts: ["crds", "grafana", "kube-state-metrics", "prometheus-node-exporter"],
        template_keys: chart_file!("kube-prometheus-stack/88.5.3/template-keys")
    ),
    chart!("nfs-subdir-external-provisioner", "4.0.18"),
    chart!("nvidia-device-plugin", "0.20.0"),
    chart!("prometheus-adapter", "5.3.0"),
    chart!("sealed-secrets", "2.18.5"),
    chart!("ztunnel", "1.27.3"),
];

/// Newest first. An array, not a slice, so that it is never empty: the
/// closest-version fallback in `schema::select_version` takes its first entry.
pub const KUBERNETES: &[KubeVersion; 1] = &[KubeVersion {
    version: "1.31",
    definitions: include_str!(concat!(env!("OUT_DIR"), "/schemas/kubernetes/v1.31/_definitions.json")),
    builtin: include_str!(concat!(env!("OUT_DIR"), "/schemas/kubernetes/v1.31/builtin.json")),
    kinds: &[
        kind!("apiregistration.k8s.io/v1", "APIService", "apiservice-apiregistration-v1"),
        kind!("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterrole-rbac-v1"),
        kind!("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebinding-rbac-v1"),
        kind!("v1", "ConfigMap", "configmap-v1"),
        kind!("batch/v1", "CronJob", "cronjob-batch-v1"),
        kind!("storage.k8s.io/v1", "CSIDriver", "csidriver-storage-v1"),
        kind!("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinition-apiextensions-v1"),
        kind!("apps/v1", "DaemonSet", "daemonset-apps-v1"),
        kind!("apps/v1", "Deployment", "deployment-apps-v1"),
        kind!("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscaler-autoscaling-v2"),
        kind!("networking.k8s.io/v1", "Ingress", "ingress-networking-v1"),
        kind!("networking.k8s.io/v1", "IngressClass", "ingressclass-networking-v1"),
        kind!("batch/v1", "Job", "job-batch-v1"),
        kind!("v1", "LimitRange", "limitrange-v1"),
        kind!(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfiguration-admissionregistration-v1"
        ),
        kind!("v1", "Namespace", "namespace-v1"),
        kind!("networking.k8s.io/v1", "NetworkPolicy", "networkpolicy-networking-v1"),
        kind!("v1", "PersistentVolume", "persistentvolume-v1"),
        kind!("v1", "PersistentVolumeClaim", "persistentvolumeclaim-v1"),
        kind!("v1", "Pod", "pod-v1"),
        kind!("policy/v1", "PodDisruptionBudget", "poddisruptionbudget-policy-v1"),
        kind!("scheduling.k8s.io/v1", "PriorityClass", "priorityclass-scheduling-v1"),
        kind!("v1", "ResourceQuota", "resourcequota-v1"),
        kind!("rbac.authorization.k8s.io/v1", "Role", "role-rbac-v1"),
        kind!("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebinding-rbac-v1"),
        kind!("node.k8s.io/v1", "RuntimeClass", "runtimeclass-node-v1"),
        kind!("v1", "Secret", "secret-v1"),
        kind!("v1", "Service", "service-v1"),
        kind!("v1", "ServiceAccount", "serviceaccount-v1"),
        kind!("apps/v1", "StatefulSet", "statefulset-apps-v1"),
        kind!("storage.k8s.io/v1", "StorageClass", "storageclass-storage-v1"),
        kind!(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfiguration-admissionregistration-v1"
        ),
    ],
}];

pub const CRDS: &[VendoredCrd] = &[
    crd!("argoproj.io", "v1alpha1", "Application", "application"),
    crd!("argoproj.io", "v1alpha1", "AppProject", "appproject"),
    crd!("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecret"),
    crd!("helm.cattle.io", "v1", "HelmChart", "helmchart"),
    crd!("helm.cattle.io", "v1", "HelmChartConfig", "helmchartconfig"),
    crd!("monitoring.coreos.com", "v1", "PodMonitor", "podmonitor"),
    crd!("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrule"),
    crd!("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitor"),
    crd!("traefik.io", "v1alpha1", "IngressRoute", "ingressroute"),
    crd!("traefik.io", "v1alpha1", "Middleware", "middleware"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vendored file is listed above, so none is silently ignored.
    #[test]
    fn every_vendored_schema_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut listed: Vec<String> = KUBERNETES
            .iter()
            .flat_map(|version| version.kinds.iter().map(|kind| kind.file.to_string()))
            .chain(CRDS.iter().map(|crd| crd.file.to_string()))
            .collect();
        listed.sort();
        let mut on_disk = Vec::new();
        for entry in walkdir::WalkDir::new(root.join("schemas")).sort_by_file_name() {
            let entry = entry.unwrap();
            // The Compose schema is `kiln import compose`'s, not a kind's (src/import/compose/load/schema.rs).
            if entry.path().starts_with(root.join("schemas/compose")) {
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            if name.ends_with(".json") && !name.starts_with('_') && name != "builtin.json" {
                on_disk.push(entry.path().strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
        on_disk.sort();
        assert_eq!(listed, on_disk);
    }

    /// Every `values.yaml` and `template-keys` under schemas/charts/ is in
    /// [`CHARTS`], and every chart directory has its SOURCE and LICENSE.
    #[test]
    fn every_vendored_chart_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut listed: Vec<String> = CHARTS
            .iter()
            .flat_map(|chart| {
                std::iter::once(format!("{}/values.yaml", chart.dir))
                    .chain(chart.subcharts.iter().map(|(alias, _)| format!("{}/charts/{alias}/values.yaml", chart.dir)))
            })
            .collect();
        listed.sort();
        let mut on_disk = Vec::new();
        for entry in walkdir::WalkDir::new(root.join("schemas/charts")).sort_by_file_name() {
            let entry = entry.unwrap();
            if entry.file_name() == "values.yaml" {
                on_disk.push(entry.path().strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
        on_disk.sort();
        assert_eq!(listed, on_disk);
        for chart in CHARTS {
            for file in ["SOURCE", "LICENSE"] {
                assert!(root.join(chart.dir).join(file).is_file(), "{}/{file}", chart.dir);
            }
            let template_keys = root.join(chart.dir).join("template-keys").is_file();
            assert_eq!(template_keys, !chart.template_keys.is_empty(), "{}/template-keys", chart.dir);
        }
    }

    /// The build script drops `description` prose but keeps a field that is
    /// named `description` (AppProject's `spec.description`).
    #[test]
    fn embedded_schemas_lose_prose_but_keep_fields_named_description() {
        let project = CRDS.iter().find(|crd| crd.kind == "AppProject").unwrap();
        let schema: serde_json::Value = serde_json::from_str(project.schema).unwrap();
        assert!(schema.get("description").is_none());
        let spec = &schema["properties"]["spec"];
        assert!(spec.get("description").is_none());
        assert_eq!(spec["properties"]["description"]["type"], "string");
        assert!(spec["properties"]["description"].get("description").is_none());
        assert!(!project.schema.contains('\n'), "embedded schemas are minified");
    }
}
