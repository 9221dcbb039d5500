//! `component-value-unknown`: every value kiln hands a pinned Helm chart is
//! a key of that chart version's default `values.yaml`. Helm merges the
//! values given to a release over the chart's defaults and hands templates
//! the result; a key no template reads is silently ignored
//! (<https://helm.sh/docs/chart_template_guide/values_files/>, and
//! `pkg/chart/util/coalesce.go` in helm/helm: maps coalesce key by key, any
//! other value replaces the default, `null` removes it). A parent chart
//! sets a subchart's values under the subchart's name or alias, and
//! `global` reaches every chart of the tree
//! (<https://helm.sh/docs/chart_template_guide/subcharts_and_globals/>).
//! The key model is in [`keys`].
//!
//! The check reads the rendered objects, so the values kiln's templates
//! compute (templates/_lib/monitoring.tera) are checked with the ones
//! written in values: an Argo CD Application's `helm.valuesObject` (or
//! `helm.values`) of each chart source, and a k3s HelmChart's
//! `spec.valuesContent`. A finding points at the key in values/cluster.yaml
//! (`components.<name>.values...`) when the key is written there, else at
//! the component and the rendered field.
//!
//! The defaults are vendored per chart version under `schemas/charts/`
//! ([`catalog::CHARTS`]); a chart version without vendored defaults is a
//! `component-values-unchecked` warning, so a version bump that forgets to
//! vendor its values shows. Where a chart's templates read a key its
//! `values.yaml` leaves out or only shows in a comment (dcgm-exporter's
//! `customMetrics`), or render every key of a map whose defaults list some
//! (Argo CD's `configs.cm`), the chart's `template-keys` file says so,
//! citing the template. Istio's profile files (`files/profile-*.yaml`) are
//! not vendored: a key only a profile sets (istiod's `pilot.env`) is
//! reported.

mod keys;

use std::collections::{BTreeSet, HashMap};

use serde_yaml::Value;

use self::keys::ChartKeys;
use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::kube;
use crate::output::object::Object;
use crate::scope::ScopeRef;
use crate::validate::catalog::{self, VendoredChart};
use crate::values::key_path::KeyPath;
use crate::values::merge::lookup;

/// A value set for a chart that its version does not have.
pub const UNKNOWN: &str = "component-value-unknown";
/// A chart version whose defaults kiln has not vendored, so its values go unchecked.
pub const UNCHECKED: &str = "component-values-unchecked";

/// One chart installation among the rendered objects.
struct Install<'o> {
    object: &'o Object,
    /// The component's key in values/cluster.yaml, `components.<name>`.
    component: String,
    chart: String,
    version: String,
    /// Field of the object holding the values.
    field: KeyPath,
    values: Value,
}

/// Findings for every chart installation among the rendered objects.
pub fn check(build: &Build, locator: &Locator) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    let mut models: HashMap<(&str, &str), Result<ChartKeys, String>> = HashMap::new();
    // A bootstrap chart renders once per server: report each key once.
    let mut seen = BTreeSet::new();
    for install in build.objects.iter().flat_map(installs) {
        let Some(vendored) = vendored(&install.chart, &install.version) else {
            if seen.insert((install.component.clone(), None)) {
                findings.push(unchecked(build, locator, &install));
            }
            continue;
        };
        let model = models.entry((vendored.chart, vendored.version)).or_insert_with(|| ChartKeys::of(vendored));
        let model = match model {
            Ok(model) => model,
            Err(problem) => {
                findings.push(Diagnostic::new(Severity::Error, UNKNOWN, format!("vendored chart values: {problem}")));
                continue;
            }
        };
        for unknown in model.unknown(&install.values) {
            if seen.insert((install.component.clone(), Some(unknown.path.clone()))) {
                findings.push(unknown_key(build, locator, &install, vendored, unknown));
            }
        }
    }
    findings
}

fn vendored(chart: &str, version: &str) -> Option<&'static VendoredChart> {
    catalog::CHARTS.iter().find(|vendored| vendored.chart == chart && vendored.version == version)
}

fn unknown_key(
    build: &Build,
    locator: &Locator,
    install: &Install,
    vendored: &VendoredChart,
    unknown: keys::Unknown,
) -> Diagnostic {
    let (chart, version) = (vendored.chart, vendored.version);
    let mut message = format!("`{}` is not a value of chart {chart} {version}", unknown.path);
    if let Some(suggestion) = &unknown.suggestion {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    let help = format!(
        "it is not a key of {chart} {version}'s values.yaml ({}/values.yaml), so Helm ignores it; remove it or check the chart's values",
        vendored.dir
    );
    let field = install.field.join(&unknown.path);
    let mut finding = locator.finding(install.object, UNKNOWN, Severity::Error, field, message).with_help(help);
    let component = KeyPath::root().key("components").key(install.component.clone());
    let written = component.key("values").join(&unknown.path);
    if lookup(&build.values.cluster.value, &written).is_some() {
        finding.span = locator.span(&ScopeRef::Cluster, &written);
    } else {
        finding.span = locator.span(&ScopeRef::Cluster, &component);
        finding = finding.with_note("kiln's templates compute this value (it is not in values/)");
    }
    finding
}

fn unchecked(build: &Build, locator: &Locator, install: &Install) -> Diagnostic {
    let (chart, version) = (&install.chart, &install.version);
    let message = format!("no vendored values.yaml for chart {chart} {version}, so its values are not checked");
    let help = format!(
        "vendor the chart's defaults with `schemas/charts/vendor.sh {chart} {version}` and list them in src/validate/catalog.rs (docs/charts.md)"
    );
    let mut finding =
        locator.finding(install.object, UNCHECKED, Severity::Warning, install.field.clone(), message).with_help(help);
    let component = KeyPath::root().key("components").key(install.component.clone());
    let version_key = component.key("version");
    let key = if lookup(&build.values.cluster.value, &version_key).is_some() { version_key } else { component };
    finding.span = locator.span(&ScopeRef::Cluster, &key);
    finding
}

/// The chart installations an object declares: the Helm sources of an Argo
/// CD Application, or a k3s HelmChart.
fn installs(object: &Object) -> Vec<Install<'_>> {
    let name = object.identity.name.clone();
    match (object.identity.group.as_str(), object.identity.kind.as_str()) {
        ("argoproj.io", "Application") => {
            let spec = object.value.get("spec");
            let mut sources: Vec<(KeyPath, &Value)> = Vec::new();
            if let Some(source) = spec.and_then(|spec| spec.get("source")) {
                sources.push((KeyPath::parse("spec.source"), source));
            }
            if let Some(Value::Sequence(items)) = spec.and_then(|spec| spec.get("sources")) {
                let base = KeyPath::parse("spec.sources");
                sources.extend(items.iter().enumerate().map(|(index, source)| (base.index(index), source)));
            }
            sources
                .into_iter()
                .filter_map(|(path, source)| {
                    let chart = kube::get_str(source, &["chart"])?;
                    let version = kube::get_str(source, &["targetRevision"])?;
                    let (field, values) = match kube::get(source, &["helm", "valuesObject"]) {
                        Some(values) => (path.key("helm").key("valuesObject"), values.clone()),
                        None => {
                            (path.key("helm").key("values"), parse_values(kube::get_str(source, &["helm", "values"])))
                        }
                    };
                    Some(Install {
                        object,
                        component: name.clone(),
                        chart: chart.to_string(),
                        version: version.to_string(),
                        field,
                        values,
                    })
                })
                .collect()
        }
        ("helm.cattle.io", "HelmChart") => {
            let Some(chart) = kube::get_str(&object.value, &["spec", "chart"]) else { return Vec::new() };
            let version = kube::get_str(&object.value, &["spec", "version"]).unwrap_or_default();
            vec![Install {
                object,
                component: name,
                chart: chart.to_string(),
                version: version.to_string(),
                field: KeyPath::parse("spec.valuesContent"),
                values: parse_values(kube::get_str(&object.value, &["spec", "valuesContent"])),
            }]
        }
        _ => Vec::new(),
    }
}

/// Values given as YAML text; text that does not parse sets nothing kiln can check.
fn parse_values(text: Option<&str>) -> Value {
    text.and_then(|text| serde_yaml::from_str(text).ok()).unwrap_or(Value::Null)
}
