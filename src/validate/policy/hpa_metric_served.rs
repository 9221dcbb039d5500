//! The link between HorizontalPodAutoscalers and prometheus-adapter. An HPA
//! that scales on a Pods or Object metric reads it from the custom metrics
//! API, which prometheus-adapter serves from its `rules.custom` (External
//! metrics: `rules.external`). A metric no rule serves never arrives: the HPA
//! sits at ScalingActive=False and never scales. kiln catches that at render
//! time by reading the rules of every rendered prometheus-adapter Argo CD
//! Application and every rendered HPA: the policy `hpa-metric-served`, an
//! error finding at the workload's `hpa` values. Entry point: [`check`].
//!
//! A rule serves the name in `name.as`, or the series name of `seriesQuery`
//! rewritten by `name.matches`/`name.as` as the adapter does. When the adapter
//! keeps its default rules (which expose every namespaced series), or a rule's
//! name depends on series only Prometheus knows, the metric cannot be
//! disproved and passes.

use regex::Regex;
use serde_yaml::Value;

use super::HPA_METRIC;
use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::output::object::Object;

const ADAPTER_CHART: &str = "prometheus-adapter";

/// Every HPA metric that no rendered prometheus-adapter rule serves, unless
/// the workload waives the policy with a justified `policyExceptions` entry.
pub fn check(build: &Build, locator: &Locator) -> Vec<Diagnostic> {
    let waived = |object: &Object| {
        let Some((namespace, name)) = object.origin.scope.workload() else { return false };
        let workload = build.values.namespaces.get(namespace).and_then(|values| values.workloads.get(name));
        let reason = workload.and_then(|workload| workload.typed.policy_exceptions.as_ref()?.get(HPA_METRIC));
        reason.is_some_and(|reason| !reason.trim().is_empty())
    };
    unserved_metrics(&build.objects)
        .into_iter()
        .filter(|unserved| !waived(unserved.hpa))
        .map(|unserved| {
            locator
                .finding(unserved.hpa, HPA_METRIC, Severity::Error, unserved.field, unserved.message)
                .with_help(unserved.help)
        })
        .collect()
}

/// One HPA metric no rule serves.
struct Unserved<'o> {
    hpa: &'o Object,
    /// `spec.metrics[i]`.
    field: String,
    message: String,
    help: String,
}

fn unserved_metrics(objects: &[Object]) -> Vec<Unserved<'_>> {
    let adapters: Vec<Adapter> = objects.iter().filter_map(Adapter::from_object).collect();
    let mut found = Vec::new();
    for hpa in objects.iter().filter(|o| o.identity.kind == "HorizontalPodAutoscaler") {
        let metrics = hpa.value.get("spec").and_then(|spec| spec.get("metrics")).and_then(Value::as_sequence);
        for (index, metric) in metrics.into_iter().flatten().enumerate() {
            if let Some(wanted) = Wanted::from_metric(metric) {
                if let Some(problem) = unserved(&adapters, &wanted) {
                    let (message, help) = report(hpa, &adapters, &wanted, problem);
                    found.push(Unserved { hpa, field: format!("spec.metrics[{index}]"), message, help });
                }
            }
        }
    }
    found
}

/// A metric an HPA asks the custom (or external) metrics API for.
struct Wanted {
    kind: &'static str,
    name: String,
    /// The Kubernetes resource the metric describes (`pod` for Pods metrics).
    resource: Option<String>,
}

impl Wanted {
    fn from_metric(metric: &Value) -> Option<Wanted> {
        let name_of = |key: &str| text(metric.get(key)?.get("metric")?.get("name")?);
        match metric.get("type").and_then(Value::as_str)? {
            "Pods" => Some(Wanted { kind: "Pods", name: name_of("pods")?, resource: Some("pod".into()) }),
            "Object" => {
                let described = text(metric.get("object")?.get("describedObject")?.get("kind")?)?;
                Some(Wanted { kind: "Object", name: name_of("object")?, resource: Some(described.to_lowercase()) })
            }
            "External" => Some(Wanted { kind: "External", name: name_of("external")?, resource: None }),
            _ => None,
        }
    }
}

enum Problem {
    NoAdapter,
    NoRule,
    /// Served, but by rules that cannot associate it with the HPA's object.
    NotMapped,
}

fn unserved(adapters: &[Adapter], wanted: &Wanted) -> Option<Problem> {
    if adapters.is_empty() {
        return Some(Problem::NoAdapter);
    }
    let mut named = false;
    for adapter in adapters {
        if wanted.resource.is_some() && adapter.default_rules {
            return None;
        }
        let rules = if wanted.resource.is_some() { &adapter.custom } else { &adapter.external };
        for rule in rules.iter().filter(|rule| rule.serves(&wanted.name)) {
            named = true;
            match &wanted.resource {
                Some(resource) if !rule.maps(resource) => {}
                _ => return None,
            }
        }
    }
    Some(if named { Problem::NotMapped } else { Problem::NoRule })
}

/// The message and help for one unserved metric.
fn report(hpa: &Object, adapters: &[Adapter], wanted: &Wanted, problem: Problem) -> (String, String) {
    let identity = &hpa.identity;
    let subject = format!("{} {} scales on {} metric `{}`", identity.kind, described(hpa), wanted.kind, wanted.name);
    match problem {
        Problem::NoAdapter => (
            format!("{subject}, but no prometheus-adapter Application is rendered to serve it"),
            format!(
                "add a `{ADAPTER_CHART}` component to values/cluster.yaml with a rule that exposes `{}`",
                wanted.name
            ),
        ),
        Problem::NoRule => {
            let served: Vec<String> = adapters
                .iter()
                .flat_map(|adapter| if wanted.resource.is_some() { &adapter.custom } else { &adapter.external })
                .filter_map(|rule| rule.name.clone())
                .map(|name| format!("`{name}`"))
                .collect();
            let served = if served.is_empty() { "none".to_string() } else { served.join(", ") };
            let list = if wanted.resource.is_some() { "rules.custom" } else { "rules.external" };
            let apps: Vec<String> = adapters.iter().map(|adapter| adapter.app.clone()).collect();
            (
                format!("{subject} that no prometheus-adapter rule serves"),
                format!(
                    "{} serves {served}; add a rule exposing `{}` to its `{list}` (values/cluster.yaml) or fix the metric name",
                    apps.join(", "),
                    wanted.name
                ),
            )
        }
        Problem::NotMapped => {
            let resource = wanted.resource.clone().unwrap_or_default();
            (
                format!("{subject}, but the prometheus-adapter rules serving it map no `{resource}` resource"),
                format!(
                    "give the rule a `resources.overrides` entry whose `resource` is `{resource}` (the label that names the {resource})"
                ),
            )
        }
    }
}

fn described(object: &Object) -> String {
    match &object.identity.namespace {
        Some(namespace) => format!("{namespace}/{}", object.identity.name),
        None => object.identity.name.clone(),
    }
}

/// The rules of one rendered prometheus-adapter Application.
struct Adapter {
    app: String,
    default_rules: bool,
    custom: Vec<Rule>,
    external: Vec<Rule>,
}

impl Adapter {
    fn from_object(object: &Object) -> Option<Adapter> {
        if object.identity.kind != "Application" || object.identity.group != "argoproj.io" {
            return None;
        }
        let spec = object.value.get("spec")?;
        let sources = spec
            .get("source")
            .into_iter()
            .chain(spec.get("sources").and_then(Value::as_sequence).into_iter().flatten());
        let source =
            sources.into_iter().find(|source| source.get("chart").and_then(Value::as_str) == Some(ADAPTER_CHART))?;
        let helm = source.get("helm");
        // `valuesObject` wins over the `values` string, as in Argo CD.
        let values = match helm.and_then(|helm| helm.get("valuesObject")) {
            Some(values) => values.clone(),
            None => helm
                .and_then(|helm| helm.get("values"))
                .and_then(Value::as_str)
                .and_then(|text| serde_yaml::from_str(text).ok())
                .unwrap_or(Value::Null),
        };
        let rules = values.get("rules");
        let list = |key: &str| -> Vec<Rule> {
            rules
                .and_then(|rules| rules.get(key))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(Rule::new)
                .collect()
        };
        Some(Adapter {
            app: format!("Application {}", described(object)),
            // The chart's default is `rules.default: true`.
            default_rules: rules.and_then(|rules| rules.get("default")).and_then(Value::as_bool).unwrap_or(true),
            custom: list("custom"),
            external: list("external"),
        })
    }
}

struct Rule {
    /// The exposed metric name; `None` when it depends on series only Prometheus knows.
    name: Option<String>,
    /// Resources its labels map to (lower case, singular); `None` maps every resource (a template).
    resources: Option<Vec<String>>,
}

impl Rule {
    fn new(rule: &Value) -> Rule {
        let overrides = rule.get("resources").and_then(|r| r.get("overrides")).and_then(Value::as_mapping);
        let templated = rule.get("resources").and_then(|r| r.get("template")).is_some_and(|t| !t.is_null());
        let resources = (!templated).then(|| {
            overrides
                .into_iter()
                .flatten()
                .filter_map(|(_, target)| text(target.get("resource")?))
                .map(|resource| singular(&resource))
                .collect()
        });
        Rule { name: exposed_name(rule), resources }
    }

    fn serves(&self, metric: &str) -> bool {
        self.name.as_deref().is_none_or(|name| name == metric)
    }

    fn maps(&self, resource: &str) -> bool {
        self.resources.as_ref().is_none_or(|resources| resources.iter().any(|r| r == &singular(resource)))
    }
}

/// The name the adapter exposes for a rule: `name.as` when literal; else the
/// series name from `seriesQuery` rewritten by `name.matches` with `name.as`
/// (default `$1` with a capture group, `$0` without).
fn exposed_name(rule: &Value) -> Option<String> {
    let name = rule.get("name");
    let matches = name.and_then(|n| n.get("matches")).and_then(text);
    let replacement = name.and_then(|n| n.get("as")).and_then(text).filter(|as_| !as_.is_empty());
    if let Some(literal) = replacement.as_ref().filter(|as_| !as_.contains('$')) {
        return Some(literal.clone());
    }
    let query = rule.get("seriesQuery").and_then(text)?;
    let series: String =
        query.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
    if series.is_empty() {
        return None;
    }
    let Some(matches) = matches else {
        return Some(series);
    };
    let regex = Regex::new(&matches).ok()?;
    let captures = regex.captures(&series)?;
    let template = replacement.unwrap_or_else(|| if captures.len() > 1 { "$1".into() } else { "$0".into() });
    let mut expanded = String::new();
    captures.expand(&template, &mut expanded);
    Some(expanded)
}

fn singular(resource: &str) -> String {
    let lower = resource.to_ascii_lowercase();
    let bare = lower.rsplit('/').next().unwrap_or(&lower);
    bare.strip_suffix('s').unwrap_or(bare).to_string()
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::object::{parse, Parsed};
    use crate::render::templates::OutputKind;
    use crate::render::Rendered;
    use crate::scope::ScopeRef;

    const ADAPTER: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: prometheus-adapter, namespace: argocd}
spec:
  source:
    chart: prometheus-adapter
    helm:
      valuesObject:
        rules:
          default: false
          custom:
            - seriesQuery: 'DCGM_FI_DEV_GPU_UTIL{exported_pod!=\"\"}'
              resources: {overrides: {exported_namespace: {resource: namespace}, exported_pod: {resource: pod}}}
              name: {matches: ^DCGM_FI_DEV_GPU_UTIL$, as: nvidia_gpu_utilization_percent}
            - seriesQuery: 'http_requests_total{namespace!=\"\"}'
              resources: {overrides: {namespace: {resource: namespace}, service: {resource: services}}}
              name: {matches: '^(.*)_total$', as: '${1}_per_second'}
";

    fn hpa(metric: &str) -> String {
        format!(
            "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web-hpa, namespace: apps}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  maxReplicas: 3
  metrics:
    - {metric}
"
        )
    }

    fn objects(text: &str) -> Vec<Object> {
        let rendered = Rendered {
            template: "templates/workloads/autoscaling.yaml".into(),
            scope: ScopeRef::Workload { namespace: "apps".into(), name: "web".into() },
            values: vec![],
            output: OutputKind::Objects,
            path: None,
            dir: None,
            text: text.into(),
        };
        match parse(rendered) {
            Ok(Parsed::Objects(objects)) => objects,
            Ok(Parsed::File(_)) => panic!("fixture is a file"),
            Err(error) => panic!("fixture does not parse: {error}"),
        }
    }

    fn errors(text: &str) -> Vec<String> {
        let objects = objects(text);
        let found = unserved_metrics(&objects);
        found
            .iter()
            .map(|unserved| format!("{}: {}\n  = help: {}", unserved.field, unserved.message, unserved.help))
            .collect()
    }

    #[test]
    fn served_pods_and_object_metrics_pass() {
        let pods = "{type: Pods, pods: {metric: {name: nvidia_gpu_utilization_percent}, target: {type: AverageValue, averageValue: '70'}}}";
        assert_eq!(errors(&format!("{ADAPTER}---\n{}", hpa(pods))), Vec::<String>::new());
        let object = "{type: Object, object: {describedObject: {apiVersion: v1, kind: Service, name: web}, metric: {name: http_requests_per_second}, target: {type: Value, value: '10'}}}";
        assert_eq!(errors(&format!("{ADAPTER}---\n{}", hpa(object))), Vec::<String>::new());
        let cpu = "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}";
        assert_eq!(errors(&hpa(cpu)), Vec::<String>::new());
    }

    #[test]
    fn unserved_pods_metric_names_hpa_file_and_served_names() {
        let pods = "{type: Pods, pods: {metric: {name: gpu_busy}, target: {type: AverageValue, averageValue: '70'}}}";
        assert_eq!(
            errors(&format!("{ADAPTER}---\n{}", hpa(pods))),
            vec![
                "spec.metrics[0]: HorizontalPodAutoscaler apps/web-hpa scales on Pods metric `gpu_busy` that no prometheus-adapter rule serves
  = help: Application argocd/prometheus-adapter serves `nvidia_gpu_utilization_percent`, `http_requests_per_second`; add a rule exposing `gpu_busy` to its `rules.custom` (values/cluster.yaml) or fix the metric name"
            ]
        );
    }

    #[test]
    fn pods_metric_from_a_rule_without_pod_mapping_is_reported() {
        let pods = "{type: Pods, pods: {metric: {name: http_requests_per_second}, target: {type: AverageValue, averageValue: '1'}}}";
        assert_eq!(
            errors(&format!("{ADAPTER}---\n{}", hpa(pods))),
            vec![
                "spec.metrics[0]: HorizontalPodAutoscaler apps/web-hpa scales on Pods metric `http_requests_per_second`, but the prometheus-adapter rules serving it map no `pod` resource
  = help: give the rule a `resources.overrides` entry whose `resource` is `pod` (the label that names the pod)"
            ]
        );
    }

    #[test]
    fn custom_metric_without_any_adapter_is_reported() {
        let pods = "{type: Pods, pods: {metric: {name: nvidia_gpu_utilization_percent}, target: {type: AverageValue, averageValue: '70'}}}";
        assert_eq!(
            errors(&hpa(pods)),
            vec![
                "spec.metrics[0]: HorizontalPodAutoscaler apps/web-hpa scales on Pods metric `nvidia_gpu_utilization_percent`, but no prometheus-adapter Application is rendered to serve it
  = help: add a `prometheus-adapter` component to values/cluster.yaml with a rule that exposes `nvidia_gpu_utilization_percent`"
            ]
        );
    }

    #[test]
    fn default_rules_and_external_rules() {
        let defaults = ADAPTER.replace("default: false", "default: true");
        let pods = "{type: Pods, pods: {metric: {name: anything}, target: {type: AverageValue, averageValue: '1'}}}";
        assert_eq!(errors(&format!("{defaults}---\n{}", hpa(pods))), Vec::<String>::new());
        let external = "{type: External, external: {metric: {name: queue_depth}, target: {type: Value, value: '5'}}}";
        let found = errors(&format!("{defaults}---\n{}", hpa(external)));
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("External metric `queue_depth` that no prometheus-adapter rule serves"), "{found:?}");
        assert!(
            found[0].contains("serves none; add a rule exposing `queue_depth` to its `rules.external`"),
            "{found:?}"
        );
    }

    #[test]
    fn exposed_names_follow_the_adapter() {
        let rule = |yaml: &str| exposed_name(&serde_yaml::from_str(yaml).unwrap());
        assert_eq!(rule("{seriesQuery: 'up{job=\"x\"}'}"), Some("up".into()));
        assert_eq!(rule("{seriesQuery: 'a_total', name: {matches: '^(.*)_total$'}}"), Some("a".into()));
        assert_eq!(rule("{seriesQuery: 'a_total', name: {matches: '^a_total$'}}"), Some("a_total".into()));
        assert_eq!(rule("{seriesQuery: 'x', name: {as: fixed}}"), Some("fixed".into()));
        assert_eq!(rule("{seriesQuery: '{__name__=~\"^container_.*\"}'}"), None);
        assert_eq!(singular("Pods"), "pod");
        assert_eq!(singular("apps/deployments"), "deployment");
    }
}
