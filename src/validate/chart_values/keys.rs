//! The keys a Helm chart accepts, modelled from its default `values.yaml`
//! the way Helm merges values (see the parent module's docs for sources):
//! maps merge key by key, so a key set in a map must be one of the map's
//! default keys, unless the default map is empty (`{}`: free-form, such as
//! `podAnnotations` or `extraArgs`, whose template renders whatever is
//! there); a list, a scalar or `null` (a key the chart declares without a
//! default) is replaced as a whole, so nothing below it is checked. A
//! subchart's defaults sit under its alias, merged with what the parent's
//! `values.yaml` sets there; `global` is shared by the parent and every
//! subchart, and Helm always provides it.

use serde_yaml::{Mapping, Value};

use crate::diagnostic::did_you_mean;
use crate::validate::catalog::VendoredChart;
use crate::values::key_path::KeyPath;

/// The wrapper Istio's charts keep their defaults under; each chart's
/// `templates/zzz_profile.yaml` merges it, the selected profile and the
/// user's values into `.Values` (istio/istio 1.27.3,
/// `manifests/charts/*/templates/zzz_profile.yaml`).
const ISTIO_DEFAULTS: &str = "_internal_defaults_do_not_set";

/// Keys Istio's `zzz_profile.yaml` reads although no `values.yaml` lists
/// them: the profile, platform and compatibility-version selectors.
const ISTIO_SELECTORS: [&str; 3] = ["profile", "platform", "compatibilityVersion"];
const ISTIO_GLOBAL_SELECTORS: [&str; 2] = ["profile", "platform"];

/// A key that is set but that the chart does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The key's path inside the chart's values.
    pub path: KeyPath,
    /// The closest key the chart has beside it.
    pub suggestion: Option<String>,
}

/// The tree of keys one chart version accepts.
#[derive(Debug)]
pub struct ChartKeys {
    tree: Mapping,
}

impl ChartKeys {
    /// Builds the model of a vendored chart; `Err` names the file that does not parse.
    pub fn of(chart: &VendoredChart) -> Result<ChartKeys, String> {
        let parse = |text: &str, file: String| -> Result<Mapping, String> {
            match serde_yaml::from_str::<Value>(text) {
                Ok(Value::Mapping(map)) => Ok(map),
                Ok(Value::Null) => Ok(Mapping::new()),
                Ok(_) => Err(format!("{file} is not a mapping")),
                Err(error) => Err(format!("{file}: {error}")),
            }
        };
        let mut subcharts = Vec::new();
        for (alias, text) in chart.subcharts {
            subcharts.push((*alias, parse(text, format!("{}/charts/{alias}/values.yaml", chart.dir))?));
        }
        let template_keys = chart
            .template_keys
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(key_line)
            .collect::<Vec<_>>();
        Ok(ChartKeys::new(parse(chart.values, format!("{}/values.yaml", chart.dir))?, subcharts, &template_keys))
    }

    /// The model of `defaults` with `subcharts` (alias, defaults) and
    /// `template_keys`, keys the templates read whatever `defaults` lists.
    pub fn new(mut defaults: Mapping, subcharts: Vec<(&str, Mapping)>, template_keys: &[KeyPath]) -> ChartKeys {
        if let Some(Value::Mapping(inner)) = defaults.remove(ISTIO_DEFAULTS) {
            let outer = std::mem::replace(&mut defaults, inner);
            union(&mut defaults, outer);
            for key in ISTIO_SELECTORS {
                defaults.entry(key.into()).or_insert(Value::Null);
            }
            if let Some(global) = global_of(&mut defaults) {
                for key in ISTIO_GLOBAL_SELECTORS {
                    global.entry(key.into()).or_insert(Value::Null);
                }
            }
        }
        for (alias, mut sub) in subcharts {
            if let (Some(Value::Mapping(sub_global)), Some(global)) = (sub.remove("global"), global_of(&mut defaults)) {
                union(global, sub_global);
            }
            // The parent's values for a subchart override the subchart's defaults.
            match defaults.get_mut(alias) {
                Some(Value::Mapping(own)) => {
                    let own = std::mem::take(own);
                    union(&mut sub, own);
                    defaults.insert(alias.into(), Value::Mapping(sub));
                }
                Some(_) => {}
                None => {
                    defaults.insert(alias.into(), Value::Mapping(sub));
                }
            }
        }
        // Helm gives every chart `.Values.global`, declared or not.
        global_of(&mut defaults);
        for path in template_keys {
            declare(&mut defaults, path);
        }
        ChartKeys { tree: defaults }
    }

    /// Every key of `values` (a chart's values as rendered) the chart does
    /// not have, in document order.
    pub fn unknown(&self, values: &Value) -> Vec<Unknown> {
        let mut out = Vec::new();
        if let Value::Mapping(set) = values {
            walk(&self.tree, set, &KeyPath::root(), &mut out);
        }
        out
    }
}

fn walk(defaults: &Mapping, set: &Mapping, path: &KeyPath, out: &mut Vec<Unknown>) {
    if defaults.is_empty() {
        return;
    }
    for (key, value) in set {
        let Some(name) = key_text(key) else { continue };
        match defaults.get(key) {
            Some(Value::Mapping(below)) => {
                if let Value::Mapping(set_below) = value {
                    walk(below, set_below, &path.key(name.clone()), out);
                }
            }
            Some(_) => {}
            None => {
                let siblings = defaults.keys().filter_map(Value::as_str);
                let suggestion = did_you_mean(&name, siblings).map(str::to_string);
                out.push(Unknown { path: path.key(name), suggestion });
            }
        }
    }
}

/// A mapping key as written; keys that are not scalars are skipped.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Adds every key of `other` missing from `base`, recursively where both
/// are maps; `base` wins elsewhere. A map left empty on either side stays
/// free-form.
fn union(base: &mut Mapping, other: Mapping) {
    for (key, value) in other {
        match (base.get_mut(&key), value) {
            (None, value) => {
                base.insert(key, value);
            }
            (Some(Value::Mapping(mine)), Value::Mapping(theirs)) => {
                if mine.is_empty() || theirs.is_empty() {
                    mine.clear();
                } else {
                    union(mine, theirs);
                }
            }
            (Some(_), _) => {}
        }
    }
}

/// The `global` map of `defaults`, made a map if it is absent or not one.
fn global_of(defaults: &mut Mapping) -> Option<&mut Mapping> {
    let global = defaults.entry("global".into()).or_insert(Value::Null);
    if !global.is_mapping() {
        *global = Value::Mapping(Mapping::new());
    }
    global.as_mapping_mut()
}

/// Makes `path` a key that accepts anything, adding the maps above it.
fn declare(root: &mut Mapping, path: &KeyPath) {
    use crate::values::key_path::Segment;
    let Some((Segment::Key(last), parents)) = path.0.split_last() else { return };
    let mut node = root;
    for segment in parents {
        let Segment::Key(key) = segment else { return };
        let child = node.entry(key.as_str().into()).or_insert_with(|| Value::Mapping(Mapping::new()));
        let Value::Mapping(child) = child else { return };
        node = child;
    }
    node.insert(last.as_str().into(), Value::Null);
}

/// A `template-keys` line: keys separated by `.`, a key holding a dot in
/// double quotes (`grafana."grafana.ini"`).
fn key_line(line: &str) -> KeyPath {
    let mut path = KeyPath::root();
    let mut key = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                if !key.is_empty() {
                    path = path.key(std::mem::take(&mut key));
                }
            }
            _ => key.push(c),
        }
    }
    if !key.is_empty() {
        path = path.key(key);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Mapping {
        serde_yaml::from_str(text).unwrap()
    }

    fn unknown(keys: &ChartKeys, set: &str) -> Vec<String> {
        let value: Value = serde_yaml::from_str(set).unwrap();
        keys.unknown(&value)
            .into_iter()
            .map(|u| match u.suggestion {
                Some(s) => format!("{} ({s})", u.path),
                None => u.path.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_key_missing_from_the_defaults_is_unknown_with_its_nearest_sibling() {
        let keys = ChartKeys::new(map("jaeger:\n  resources: {}\nstorage:\n  type: memory\n"), vec![], &[]);
        assert_eq!(
            unknown(&keys, "provisionDataStore: {cassandra: false}\nstorage: {typ: x}\njaeger: {resources: {a: 1}}"),
            ["provisionDataStore", "storage.typ (type)"]
        );
    }

    #[test]
    fn an_empty_default_map_is_free_form() {
        let keys = ChartKeys::new(map("podAnnotations: {}\nextraArgs: {}\n"), vec![], &[]);
        assert!(unknown(&keys, "podAnnotations: {a: b}\nextraArgs: {log-level: debug}").is_empty());
    }

    #[test]
    fn a_list_replaces_the_default_wholesale() {
        let keys = ChartKeys::new(map("tolerations:\n  - key: a\n    operator: Exists\n"), vec![], &[]);
        assert!(unknown(&keys, "tolerations: [{anything: 1}]").is_empty());
        assert!(unknown(&keys, "tolerations: {mapped: 1}").is_empty());
    }

    #[test]
    fn a_null_default_exists_and_accepts_anything_below() {
        let keys = ChartKeys::new(map("resources:\naffinity: ~\n"), vec![], &[]);
        assert!(unknown(&keys, "resources: {requests: {cpu: 1}}\naffinity: {nodeAffinity: {}}").is_empty());
    }

    #[test]
    fn subchart_keys_are_checked_under_their_alias_against_both_defaults() {
        let parent = map("grafana:\n  enabled: true\n  admin: {existingSecret: ''}\n");
        let sub = map("persistence: {enabled: false}\nadmin: {userKey: admin-user}\n");
        let keys = ChartKeys::new(parent, vec![("grafana", sub)], &[]);
        assert!(unknown(
            &keys,
            "grafana: {enabled: true, persistence: {enabled: true}, admin: {userKey: u, existingSecret: s}}"
        )
        .is_empty());
        assert_eq!(unknown(&keys, "grafana: {persistance: {}}"), ["grafana.persistance (persistence)"]);
    }

    #[test]
    fn global_is_shared_with_subcharts_and_always_present() {
        let keys = ChartKeys::new(
            map("global: {rbac: {create: true}}\n"),
            vec![("sub", map("global: {imageRegistry: ''}\n"))],
            &[],
        );
        assert!(unknown(&keys, "global: {rbac: {create: false}, imageRegistry: r}").is_empty());
        assert_eq!(unknown(&keys, "global: {registry: r}"), ["global.registry"]);
        let bare = ChartKeys::new(map("replicas: 1\n"), vec![], &[]);
        assert!(unknown(&bare, "global: {anything: 1}").is_empty());
    }

    #[test]
    fn keys_the_templates_read_accept_anything() {
        let read = [KeyPath::parse("configs.cm"), KeyPath::parse("jaeger.resources")];
        let keys = ChartKeys::new(map("configs:\n  cm:\n    create: true\njaeger: {replicas: 1}\n"), vec![], &read);
        assert!(
            unknown(&keys, "configs: {cm: {resource.customizations: x}}\njaeger: {resources: {limits: {}}}").is_empty()
        );
        assert_eq!(unknown(&keys, "configs: {cmm: {}}"), ["configs.cmm (cm)"]);
    }

    #[test]
    fn istio_defaults_are_unwrapped_and_its_selectors_exist() {
        let keys = ChartKeys::new(map("_internal_defaults_do_not_set:\n  pilot: {resources: {}}\n"), vec![], &[]);
        assert!(
            unknown(&keys, "profile: ambient\nglobal: {platform: k3s}\npilot: {resources: {requests: {}}}").is_empty()
        );
        assert_eq!(
            unknown(&keys, "_internal_defaults_do_not_set: {}\npilots: {}"),
            ["_internal_defaults_do_not_set", "pilots (pilot)"]
        );
    }

    #[test]
    fn a_template_key_may_quote_a_key_holding_a_dot() {
        assert_eq!(
            key_line("grafana.\"grafana.ini\"").to_string(),
            KeyPath::root().key("grafana").key("grafana.ini").to_string()
        );
        assert_eq!(key_line("configs.cm").to_string(), KeyPath::parse("configs.cm").to_string());
    }

    #[test]
    fn every_vendored_chart_parses() {
        for chart in crate::validate::catalog::CHARTS {
            ChartKeys::of(chart).unwrap();
        }
    }
}
