//! Who installs the CRD of a custom resource. kiln sees the CRDs it renders
//! itself, but a Helm chart's CRDs are rendered by Argo CD from a chart kiln
//! never reads, so kiln keeps a small table of the CRDs the charts in values
//! install, each from the chart's own sources:
//!
//! | chart | API groups / kinds | source |
//! |---|---|---|
//! | `argo-cd` | argoproj.io Application, AppProject, ApplicationSet | argoproj/argo-helm `charts/argo-cd/templates/crds/` |
//! | `sealed-secrets` | bitnami.com SealedSecret | bitnami-labs/sealed-secrets `helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml` |
//! | `kube-prometheus-stack` | monitoring.coreos.com Alertmanager, AlertmanagerConfig, PodMonitor, Probe, Prometheus, PrometheusAgent, PrometheusRule, ScrapeConfig, ServiceMonitor, ThanosRuler | prometheus-community/helm-charts `charts/kube-prometheus-stack/charts/crds/crds/` |
//! | `base` (Istio) | networking.istio.io, security.istio.io, telemetry.istio.io, extensions.istio.io (every kind) | istio/istio `manifests/charts/base/files/crd-all.gen.yaml` |
//!
//! k3s itself serves helm.cattle.io HelmChart and HelmChartConfig (its
//! helm-controller, k3s docs "Helm"), before Argo CD exists. A group kiln
//! knows nothing about (another chart's CRDs, an operator installed by hand)
//! is "unknown": no check can prove its order, so none is claimed.

/// A custom resource's group and kind is one of Kubernetes' own when its
/// group has no dot (`apps`, `batch`) or ends in `.k8s.io`.
pub fn is_custom(group: &str) -> bool {
    group.contains('.') && !group.ends_with(".k8s.io")
}

/// The kinds a chart's CRDs define: every kind of a group (`None`) or a list.
struct ChartCrds {
    chart: &'static str,
    groups: &'static [(&'static str, Option<&'static [&'static str]>)],
}

const CHARTS: &[ChartCrds] = &[
    ChartCrds { chart: "argo-cd", groups: &[("argoproj.io", Some(&["Application", "AppProject", "ApplicationSet"]))] },
    ChartCrds { chart: "sealed-secrets", groups: &[("bitnami.com", Some(&["SealedSecret"]))] },
    ChartCrds {
        chart: "kube-prometheus-stack",
        groups: &[(
            "monitoring.coreos.com",
            Some(&[
                "Alertmanager",
                "AlertmanagerConfig",
                "PodMonitor",
                "Probe",
                "Prometheus",
                "PrometheusAgent",
                "PrometheusRule",
                "ScrapeConfig",
                "ServiceMonitor",
                "ThanosRuler",
            ]),
        )],
    },
    ChartCrds {
        chart: "base",
        groups: &[
            ("networking.istio.io", None),
            ("security.istio.io", None),
            ("telemetry.istio.io", None),
            ("extensions.istio.io", None),
        ],
    },
];

/// Kinds k3s serves from its own binary.
const K3S: &[(&str, &str)] = &[("helm.cattle.io", "HelmChart"), ("helm.cattle.io", "HelmChartConfig")];

/// Whether the Helm chart `chart` installs the CRD of `group`/`kind`
/// (as far as kiln's table knows). Istio's base chart is only recognised
/// from Istio's chart repository, since `base` is a common chart name.
pub fn chart_installs(chart: &str, repo_url: &str, group: &str, kind: &str) -> bool {
    if chart == "base" && !repo_url.contains("istio") {
        return false;
    }
    CHARTS
        .iter()
        .filter(|entry| entry.chart == chart)
        .flat_map(|entry| entry.groups.iter())
        .any(|(g, kinds)| *g == group && kinds.is_none_or(|kinds| kinds.contains(&kind)))
}

/// Whether k3s itself serves `group`/`kind`.
pub fn k3s_serves(group: &str, kind: &str) -> bool {
    K3S.contains(&(group, kind))
}

/// Whether any chart of the table could install `group`: a group the table
/// knows is one whose provider kiln can name.
pub fn known_group(group: &str) -> bool {
    CHARTS.iter().flat_map(|entry| entry.groups.iter()).any(|(g, _)| *g == group)
        || K3S.iter().any(|(g, _)| *g == group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_what_each_chart_installs() {
        assert!(chart_installs(
            "sealed-secrets",
            "https://bitnami-labs.github.io/sealed-secrets",
            "bitnami.com",
            "SealedSecret"
        ));
        assert!(chart_installs("kube-prometheus-stack", "x", "monitoring.coreos.com", "ServiceMonitor"));
        assert!(!chart_installs("kube-prometheus-stack", "x", "monitoring.coreos.com", "Nonsense"));
        assert!(chart_installs(
            "base",
            "https://istio-release.storage.googleapis.com/charts",
            "security.istio.io",
            "PeerAuthentication"
        ));
        assert!(!chart_installs("base", "https://example.com/charts", "security.istio.io", "PeerAuthentication"));
        assert!(k3s_serves("helm.cattle.io", "HelmChart"));
    }

    #[test]
    fn kubernetes_groups_are_not_custom() {
        assert!(!is_custom("") && !is_custom("apps") && !is_custom("networking.k8s.io"));
        assert!(is_custom("bitnami.com") && is_custom("monitoring.coreos.com"));
    }
}
