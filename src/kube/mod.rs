//! The Kubernetes model `validate` and `plan` share, read from the rendered
//! objects and the node values: where a workload keeps its pod template, label
//! selectors, typed lookups into `serde_yaml` values that never panic on odd
//! input ([this module](self)); resource quantities and pod requests
//! ([`resources`]); the declared nodes with labels, taints and allocatable
//! ([`nodes`]); what each workload asks of the scheduler ([`workloads`]); and
//! which nodes a pod's nodeSelector, node affinity and tolerations admit
//! ([`placement`]). Neither stage reaches into the other: both read this.

pub mod nodes;
pub mod placement;
pub mod ports;
pub mod resources;
pub mod workloads;

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::output::object::Object;
use crate::values::key_path::KeyPath;

/// Kinds that run pods from a template, and where the template sits.
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => Some(&["spec", "template"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// A workload's pod template (metadata + spec) and its key path in the object.
pub struct PodTemplate<'o> {
    pub object: &'o Object,
    pub path: KeyPath,
    pub labels: BTreeMap<String, String>,
    pub spec: &'o Value,
}

impl<'o> PodTemplate<'o> {
    pub fn of(object: &'o Object) -> Option<PodTemplate<'o>> {
        let (template, path) = if object.identity.kind == "Pod" && object.identity.group.is_empty() {
            (&object.value, KeyPath::root())
        } else {
            let segments = pod_template_path(&object.identity.kind)?;
            (get(&object.value, segments)?, segments.iter().fold(KeyPath::root(), |path, key| path.key(*key)))
        };
        Some(PodTemplate {
            object,
            labels: string_map(get(template, &["metadata", "labels"])),
            spec: template.get("spec")?,
            path: path.key("spec"),
        })
    }

    /// `(key path, container)` for regular containers, then init containers.
    pub fn containers(&self) -> Vec<(KeyPath, &'o Value, bool)> {
        let mut out = Vec::new();
        for (field, init) in [("containers", false), ("initContainers", true)] {
            if let Some(Value::Sequence(items)) = self.spec.get(field) {
                for (index, container) in items.iter().enumerate() {
                    out.push((self.path.key(field).index(index), container, init));
                }
            }
        }
        out
    }
}

pub fn get<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |node, key| node.get(*key))
}

pub fn get_str<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    get(value, path).and_then(Value::as_str)
}

/// A mapping of strings (labels, selectors); other entries are skipped.
pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Mapping(map)) = value else { return BTreeMap::new() };
    map.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v)?))).collect()
}

/// A scalar as text (`"1"`, `"true"`), as the API server would coerce label values.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

pub fn seq(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Sequence(items)) => items,
        _ => &[],
    }
}

pub fn int(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_i64)
}

/// The `argocd.argoproj.io/sync-wave` of an object (0 when unset or not an integer).
pub fn sync_wave(object: &Object) -> i64 {
    get_str(&object.value, &["metadata", "annotations", "argocd.argoproj.io/sync-wave"])
        .and_then(|wave| wave.trim().parse().ok())
        .unwrap_or(0)
}

/// A `metav1.LabelSelector` (`matchLabels` + `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub match_labels: BTreeMap<String, String>,
    pub expressions: Vec<Expression>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expression {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

impl Selector {
    pub fn parse(value: Option<&Value>) -> Selector {
        let Some(value) = value else { return Selector::default() };
        Selector {
            match_labels: string_map(value.get("matchLabels")),
            expressions: expressions(value.get("matchExpressions")),
        }
    }

    /// A plain `key: value` map, as Services and nodeSelectors use.
    pub fn from_map(map: BTreeMap<String, String>) -> Selector {
        Selector { match_labels: map, expressions: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(key, value)| labels.get(key) == Some(value))
            && self.expressions.iter().all(|expression| expression.matches(labels.get(&expression.key)))
    }
}

pub fn expressions(value: Option<&Value>) -> Vec<Expression> {
    seq(value)
        .iter()
        .map(|item| Expression {
            key: get_str(item, &["key"]).unwrap_or_default().to_string(),
            operator: get_str(item, &["operator"]).unwrap_or_default().to_string(),
            values: seq(item.get("values")).iter().filter_map(scalar).collect(),
        })
        .collect()
}

impl Expression {
    /// Label selector and node selector operators; an unknown operator never matches.
    pub fn matches(&self, value: Option<&String>) -> bool {
        let number = |text: &str| text.parse::<i64>().ok();
        match (self.operator.as_str(), value) {
            ("In", Some(value)) => self.values.contains(value),
            ("In", None) => false,
            ("NotIn", Some(value)) => !self.values.contains(value),
            ("NotIn", None) | ("DoesNotExist", None) | ("Exists", Some(_)) => true,
            ("Exists", None) | ("DoesNotExist", Some(_)) => false,
            ("Gt", Some(value)) => {
                matches!((number(value), self.values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a > b)
            }
            ("Lt", Some(value)) => {
                matches!((number(value), self.values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a < b)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let value: Value = serde_yaml::from_str(
            "matchLabels: {app: web}\nmatchExpressions:\n  - {key: tier, operator: In, values: [a, b]}\n  - {key: gpu, operator: DoesNotExist}\n",
        )
        .unwrap();
        let selector = Selector::parse(Some(&value));
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "c")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "a"), ("gpu", "1")])));
        assert!(Selector::default().matches(&labels(&[])));
    }

    #[test]
    fn numeric_operators_compare_integers() {
        let gt = Expression { key: "n".into(), operator: "Gt".into(), values: vec!["3".into()] };
        assert!(gt.matches(Some(&"4".to_string())));
        assert!(!gt.matches(Some(&"3".to_string())));
        assert!(!gt.matches(Some(&"x".to_string())));
        assert!(!gt.matches(None));
    }
}
