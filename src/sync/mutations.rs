//! Controllers that change fields of objects Argo CD syncs. Argo CD compares
//! the live object with Git, so such a field is OutOfSync for as long as the
//! controller runs, and selfHeal (or any later sync) writes Git's value back,
//! which the controller patches again. `spec.ignoreDifferences` takes the
//! field out of the diff, and `RespectIgnoreDifferences=true` out of the sync
//! too: without it a sync still applies Git's value
//! (argoproj/argo-cd:docs/user-guide/diffing.md,
//! argoproj/argo-cd:docs/user-guide/sync-options.md).
//!
//! The table kiln keeps, each row from the controller's own sources:
//!
//! | Application | object | fields | who patches it | source |
//! |---|---|---|---|---|
//! | chart `istiod` | ValidatingWebhookConfiguration `istio-validator-istio-system` | `failurePolicy`, `clientConfig.caBundle` | istiod's validation webhook controller (Ignore until ready, then Fail) | istio 1.27.3 `manifests/charts/istio-control/istio-discovery/templates/validatingwebhookconfiguration.yaml`, `pkg/webhooks/validation/controller/controller.go`; istio/istio#52785 |
//! | chart `istiod` | MutatingWebhookConfiguration `istio-sidecar-injector` | `clientConfig.caBundle` | istiod's webhook cert patcher | istio 1.27.3 `pkg/webhooks/webhookpatch.go`, `pilot/pkg/bootstrap/sidecarinjector.go`; argo-cd#1487 |
//! | chart `base` (Istio) | ValidatingWebhookConfiguration `istiod-default-validator` | `failurePolicy`, `clientConfig.caBundle` | istiod's validation webhook controller (it watches every configuration labelled with its revision) | istio 1.27.3 `manifests/charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml`; istio/istio#57643 |
//! | chart `kube-prometheus-stack` | Mutating- and ValidatingWebhookConfiguration `<release>-admission` | `clientConfig.caBundle` | the chart's admission-patch Job (kube-webhook-certgen `patch`, a post-install/post-upgrade hook) | kube-prometheus-stack 88.5.3 `templates/prometheus-operator/admission-webhooks/job-patch/job-patchWebhook.yaml`; prometheus-community/helm-charts#2516 |
//! | any Application managing an HPA | the HPA's Deployment or StatefulSet, when it sets `spec.replicas` | `spec.replicas` | the HorizontalPodAutoscaler controller | argoproj/argo-cd:docs/user-guide/best_practices.md |
//!
//! The chart rows assume the chart's defaults kiln's values keep (revision
//! `default`, namespace `istio-system`, `admissionWebhooks.patch.enabled`);
//! the kube-prometheus-stack names follow its `fullname` helper (the release
//! name when it contains the chart name, cut at 26 characters). A field is
//! covered by an entry of the same group and kind, naming the object or no
//! name, that lists the field as a JSON pointer (`/spec/replicas`) or as the
//! plain jq path (`.webhooks[]?.clientConfig.caBundle`, with or without `?`);
//! kiln does not interpret other jq (`select(...)`), so such an entry does not
//! count.

use serde_yaml::Value;

use super::model::{Application, IgnoreDifference, Model};
use super::owners::app_finding;
use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::output::object::Object;

pub const CODE: &str = "argocd-controller-mutation";

/// A field another controller owns, as the jq path of `ignoreDifferences`.
struct Field {
    jq: &'static str,
    /// The equivalent JSON pointer, for fields outside lists.
    pointer: Option<&'static str>,
}

const FAILURE_POLICY: Field = Field { jq: ".webhooks[].failurePolicy", pointer: None };
const CA_BUNDLE: Field = Field { jq: ".webhooks[].clientConfig.caBundle", pointer: None };
const REPLICAS: Field = Field { jq: ".spec.replicas", pointer: Some("/spec/replicas") };

enum Name {
    Fixed(&'static str),
    /// The chart's fullname (from the release name) plus a suffix.
    Release(&'static str),
}

/// One row of the table: objects a chart installs that a controller patches.
struct ChartMutation {
    chart: &'static str,
    group: &'static str,
    kind: &'static str,
    name: Name,
    fields: &'static [Field],
    controller: &'static str,
}

const WEBHOOKS: &str = "admissionregistration.k8s.io";
const ISTIOD_VALIDATION: &str = "istiod's validation webhook controller";

const CHARTS: &[ChartMutation] = &[
    ChartMutation {
        chart: "istiod",
        group: WEBHOOKS,
        kind: "ValidatingWebhookConfiguration",
        name: Name::Fixed("istio-validator-istio-system"),
        fields: &[FAILURE_POLICY, CA_BUNDLE],
        controller: ISTIOD_VALIDATION,
    },
    ChartMutation {
        chart: "istiod",
        group: WEBHOOKS,
        kind: "MutatingWebhookConfiguration",
        name: Name::Fixed("istio-sidecar-injector"),
        fields: &[CA_BUNDLE],
        controller: "istiod's webhook cert patcher",
    },
    ChartMutation {
        chart: "base",
        group: WEBHOOKS,
        kind: "ValidatingWebhookConfiguration",
        name: Name::Fixed("istiod-default-validator"),
        fields: &[FAILURE_POLICY, CA_BUNDLE],
        controller: ISTIOD_VALIDATION,
    },
    ChartMutation {
        chart: "kube-prometheus-stack",
        group: WEBHOOKS,
        kind: "MutatingWebhookConfiguration",
        name: Name::Release("-admission"),
        fields: &[CA_BUNDLE],
        controller: "the chart's admission-patch Job",
    },
    ChartMutation {
        chart: "kube-prometheus-stack",
        group: WEBHOOKS,
        kind: "ValidatingWebhookConfiguration",
        name: Name::Release("-admission"),
        fields: &[CA_BUNDLE],
        controller: "the chart's admission-patch Job",
    },
];

/// The kube-prometheus-stack `fullname` of a release (its `_helpers.tpl`).
fn fullname(release: &str, chart: &str) -> String {
    let name = if release.contains(chart) { release.to_string() } else { format!("{release}-{chart}") };
    name.chars().take(26).collect::<String>().trim_end_matches('-').to_string()
}

/// The release name of an Application's chart source: `helm.releaseName`,
/// else the Application's name (Argo CD's default).
fn release_name(app: &Application, chart: &str) -> String {
    let spec = app.object.value.get("spec");
    let sources = spec
        .and_then(|s| s.get("sources"))
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_else(|| spec.and_then(|s| s.get("source")).cloned().into_iter().collect());
    sources
        .iter()
        .find(|source| source.get("chart").and_then(Value::as_str) == Some(chart))
        .and_then(|source| source.get("helm")?.get("releaseName")?.as_str().map(String::from))
        .unwrap_or_else(|| app.name.clone())
}

fn normalized(jq: &str) -> String {
    jq.chars().filter(|c| *c != '?' && !c.is_whitespace()).collect()
}

fn covers(entry: &IgnoreDifference, group: &str, kind: &str, name: &str, field: &Field) -> bool {
    entry.group == group
        && entry.kind == kind
        && entry.name.as_deref().is_none_or(|n| n == name)
        && (entry.jq_path_expressions.iter().any(|jq| normalized(jq) == field.jq)
            || field.pointer.is_some_and(|p| entry.json_pointers.iter().any(|pointer| pointer == p)))
}

/// What an Application is missing for one patched object: the fields no
/// entry covers, and whether the sync respects the entries.
fn missing<'f>(app: &Application, group: &str, kind: &str, name: &str, fields: &'f [Field]) -> Vec<&'f str> {
    fields
        .iter()
        .filter(|field| !app.ignore_differences.iter().any(|entry| covers(entry, group, kind, name, field)))
        .map(|field| field.jq)
        .collect()
}

fn respects(app: &Application) -> bool {
    app.option("RespectIgnoreDifferences")
}

pub fn check(build: &Build, model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for app in &model.applications {
        for release in &app.charts {
            for row in CHARTS.iter().filter(|row| row.chart == release.chart) {
                let name = match row.name {
                    Name::Fixed(name) => name.to_string(),
                    Name::Release(suffix) => format!("{}{suffix}", fullname(&release_name(app, row.chart), row.chart)),
                };
                let object = format!("{} {name}", row.kind);
                let gaps = missing(app, row.group, row.kind, &name, row.fields);
                if let Some(message) = problem(app, &object, row.controller, &gaps, row.fields) {
                    found.push(
                        app_finding(build, locator, app, CODE, Severity::Error, "spec.ignoreDifferences", message)
                            .with_help(help(row.group, row.kind, &name, row.fields)),
                    );
                }
            }
        }
        found.extend(hpa_targets(app, locator));
    }
    found
}

fn problem(app: &Application, object: &str, controller: &str, gaps: &[&str], fields: &[Field]) -> Option<String> {
    if !gaps.is_empty() {
        return Some(format!(
            "{controller} changes `{}` of {object}, which Application `{}` syncs without `ignoreDifferences` on it: Argo CD reports the change as drift, and selfHeal or the next sync sets the desired value back",
            gaps.join("`, `"),
            app.name
        ));
    }
    (!respects(app)).then(|| {
        let all: Vec<&str> = fields.iter().map(|f| f.jq).collect();
        format!(
            "Application `{}` ignores `{}` of {object} in the diff but not in the sync (no `RespectIgnoreDifferences=true`): every sync sets the desired value back over {controller}'s",
            app.name,
            all.join("`, `")
        )
    })
}

fn help(group: &str, kind: &str, name: &str, fields: &[Field]) -> String {
    let paths: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.jq.replace("[]", "[]?"))).collect();
    format!(
        "add to the component's `ignoreDifferences`: {{group: {group}, kind: {kind}, name: {name}, jqPathExpressions: [{}]}} (kiln renders it with RespectIgnoreDifferences=true)",
        paths.join(", ")
    )
}

/// HPAs whose Deployment or StatefulSet, in the same Application, sets
/// `spec.replicas`: the HPA controller changes it, Git sets it back.
fn hpa_targets(app: &Application, locator: &Locator) -> Vec<Diagnostic> {
    let objects: Vec<&Object> = app.managed.iter().map(|m| m.object).collect();
    let mut found = Vec::new();
    for hpa in objects.iter().filter(|o| o.identity.kind == "HorizontalPodAutoscaler") {
        let target = hpa.value.get("spec").and_then(|s| s.get("scaleTargetRef"));
        let kind = target.and_then(|t| t.get("kind")).and_then(Value::as_str).unwrap_or_default();
        let name = target.and_then(|t| t.get("name")).and_then(Value::as_str).unwrap_or_default();
        if kind != "Deployment" && kind != "StatefulSet" {
            continue;
        }
        let scaled = objects.iter().find(|o| {
            o.identity.group == "apps"
                && o.identity.kind == kind
                && o.identity.name == name
                && o.identity.namespace == hpa.identity.namespace
        });
        let Some(scaled) = scaled else { continue };
        if scaled.value.get("spec").and_then(|s| s.get("replicas")).is_none() {
            continue;
        }
        let object = format!("{kind} {name}");
        let covered = app.ignore_differences.iter().any(|entry| {
            covers(entry, "apps", kind, name, &REPLICAS)
                && entry.namespace.as_deref().is_none_or(|ns| Some(ns) == hpa.identity.namespace.as_deref())
        });
        let gaps: Vec<&str> = if covered { Vec::new() } else { vec![REPLICAS.jq] };
        let controller = format!("HorizontalPodAutoscaler {}", hpa.identity.name);
        if let Some(message) = problem(app, &object, &controller, &gaps, &[REPLICAS]) {
            found.push(locator.finding(hpa, CODE, Severity::Error, "spec.scaleTargetRef", message).with_help(format!(
                "leave `replicas` out of {object} (the HPA owns it), or ignore /spec/replicas of it in Application `{}` with RespectIgnoreDifferences=true",
                app.name
            )));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullname_follows_the_chart_helper() {
        assert_eq!(fullname("kube-prometheus-stack", "kube-prometheus-stack"), "kube-prometheus-stack");
        assert_eq!(fullname("monitoring", "kube-prometheus-stack"), "monitoring-kube-prometheus");
        assert_eq!(fullname("abcdefghijklmnopqrstuvwxy-z", "z"), "abcdefghijklmnopqrstuvwxy");
    }

    #[test]
    fn plain_jq_paths_and_pointers_cover_a_field() {
        let entry = |jq: &[&str], pointers: &[&str], name: Option<&str>| IgnoreDifference {
            group: "apps".into(),
            kind: "Deployment".into(),
            name: name.map(String::from),
            jq_path_expressions: jq.iter().map(|s| s.to_string()).collect(),
            json_pointers: pointers.iter().map(|s| s.to_string()).collect(),
            ..IgnoreDifference::default()
        };
        assert!(covers(&entry(&[], &["/spec/replicas"], None), "apps", "Deployment", "web", &REPLICAS));
        assert!(covers(&entry(&[".spec.replicas"], &[], Some("web")), "apps", "Deployment", "web", &REPLICAS));
        assert!(!covers(&entry(&[], &["/spec/replicas"], Some("api")), "apps", "Deployment", "web", &REPLICAS));
        let hook = |jq: &str| IgnoreDifference {
            group: WEBHOOKS.into(),
            kind: "ValidatingWebhookConfiguration".into(),
            jq_path_expressions: vec![jq.into()],
            ..IgnoreDifference::default()
        };
        let kind = "ValidatingWebhookConfiguration";
        assert!(covers(&hook(".webhooks[]?.failurePolicy"), WEBHOOKS, kind, "v", &FAILURE_POLICY));
        assert!(covers(&hook(".webhooks[].failurePolicy"), WEBHOOKS, kind, "v", &FAILURE_POLICY));
        let select = r#".webhooks[] | select(.name == "x") | .failurePolicy"#;
        assert!(!covers(&hook(select), WEBHOOKS, kind, "v", &FAILURE_POLICY));
    }
}
