//! Layered merge of values with provenance: maps merge deeply, lists and
//! scalars replace, `null` removes a key. For every node of the result the
//! merge keeps the file and line that set it.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::key_path::{KeyPath, Segment};
use super::source::Source;
use crate::diagnostic::Location;
use crate::{Error, Result};

/// One layer: the subtree at `prefix` of a values file.
pub struct Layer<'a> {
    pub source: &'a Source,
    pub prefix: KeyPath,
}

impl<'a> Layer<'a> {
    pub fn new(source: &'a Source, prefix: KeyPath) -> Self {
        Layer { source, prefix }
    }

    fn value(&self) -> Option<&'a Value> {
        lookup(&self.source.value, &self.prefix)
    }
}

/// The effective value of a scope and where each of its parts was set.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub value: Value,
    pub origins: Origins,
}

/// Key path (relative to the scope) → location that set it.
#[derive(Debug, Clone, Default)]
pub struct Origins(pub BTreeMap<KeyPath, Location>);

impl Origins {
    /// The location that set `key_path`, or the nearest parent that was set.
    pub fn locate(&self, key_path: &KeyPath) -> Option<&Location> {
        (0..=key_path.0.len()).rev().find_map(|length| self.0.get(key_path.0.get(..length)?))
    }

    /// Drops `path` and everything below it. Descendants sort right after
    /// their parent, so this is a range walk, not a scan of every origin.
    pub fn forget_below(&mut self, path: &KeyPath) {
        let doomed: Vec<KeyPath> =
            self.0.range(path.clone()..).map(|(key, _)| key).take_while(|key| key.starts_with(path)).cloned().collect();
        for key in doomed {
            self.0.remove(&key);
        }
    }
}

/// Looks up the node at `path` in `value`.
pub fn lookup<'v>(value: &'v Value, path: &KeyPath) -> Option<&'v Value> {
    path.0.iter().try_fold(value, |node, segment| match segment {
        Segment::Key(key) => node.as_mapping()?.get(key.as_str()),
        Segment::Index(index) => node.as_sequence()?.get(*index),
    })
}

/// Merges the layers in order; later layers win.
pub fn merge(layers: &[Layer<'_>]) -> Result<Merged> {
    let mut merged = Merged { value: Value::Mapping(Mapping::new()), origins: Origins::default() };
    for layer in layers {
        let Some(value) = layer.value() else { continue };
        if value.is_null() {
            continue;
        }
        if !value.is_mapping() {
            let location = layer.source.locate(&layer.prefix);
            return Err(Error::Values {
                location,
                key_path: layer.prefix.to_string(),
                message: format!("expected a mapping, found {}", kind_of(value)),
                help: None,
            });
        }
        let (Value::Mapping(target), Value::Mapping(incoming)) = (&mut merged.value, value) else {
            continue;
        };
        merge_into(target, incoming, layer, &KeyPath::root(), &mut merged.origins)?;
    }
    Ok(merged)
}

fn merge_into(
    target_map: &mut Mapping,
    incoming_map: &Mapping,
    layer: &Layer<'_>,
    at: &KeyPath,
    origins: &mut Origins,
) -> Result<()> {
    for (key, value) in incoming_map {
        let Some(key_text) = key_text(key) else {
            continue;
        };
        let child = at.key(key_text.clone());
        if value.is_null() {
            target_map.remove(key);
            origins.forget_below(&child);
            continue;
        }
        match (target_map.get_mut(key), value) {
            (Some(Value::Mapping(existing)), Value::Mapping(value)) => {
                origins.0.insert(child.clone(), layer.source.locate(&layer.prefix.join(&child)));
                merge_into(existing, value, layer, &child, origins)?;
            }
            (Some(existing), value) if existing.is_mapping() != value.is_mapping() => {
                let location = layer.source.locate(&layer.prefix.join(&child));
                let key_path = layer.prefix.join(&child).to_string();
                let message =
                    format!("`{key_text}` is {} here but {} in the layer below", kind_of(value), kind_of(existing));
                let help =
                    Some("use the same shape in both layers, or a key of another name for the other shape".into());
                // Every merged key has an origin; without one only this layer can be named.
                return Err(match origins.locate(&child).cloned() {
                    Some(also) => Error::ValuesClash { location, also: Box::new(also), key_path, message, help },
                    None => Error::Values { location, key_path, message, help },
                });
            }
            _ => {
                origins.forget_below(&child);
                record_origins(value, layer, &child, origins);
                target_map.insert(key.clone(), strip_nulls(value));
            }
        }
    }
    Ok(())
}

fn record_origins(value: &Value, layer: &Layer<'_>, at: &KeyPath, origins: &mut Origins) {
    let mut full = layer.prefix.join(at);
    record_below(value, layer.source, &mut full, layer.prefix.0.len(), origins);
}

/// Records `value` at `full` (a path in the file; the scope's path starts at
/// `base`) and everything below it, growing and shrinking one path instead of
/// copying it per node: values files of big clusters have many thousand nodes.
fn record_below(value: &Value, source: &Source, full: &mut KeyPath, base: usize, origins: &mut Origins) {
    origins.0.insert(KeyPath(full.0.get(base..).unwrap_or_default().to_vec()), source.locate(full));
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if let Some(key) = key_text(key) {
                    full.0.push(Segment::Key(key));
                    record_below(child, source, full, base, origins);
                    full.0.pop();
                }
            }
        }
        Value::Sequence(items) => {
            for (index, child) in items.iter().enumerate() {
                full.0.push(Segment::Index(index));
                record_below(child, source, full, base, origins);
                full.0.pop();
            }
        }
        _ => {}
    }
}

/// Removes `key: null` entries, which only mean "remove" while merging.
pub fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .filter(|(_, child)| !child.is_null())
                .map(|(key, child)| (key.clone(), strip_nulls(child)))
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.iter().map(strip_nulls).collect()),
        Value::Tagged(tagged) => strip_nulls(&tagged.value),
        other => other.clone(),
    }
}

fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::source;

    fn source(name: &str, text: &str) -> Source {
        source::parse(std::path::Path::new(name), text.as_bytes()).unwrap()
    }

    #[test]
    fn maps_merge_lists_replace_null_removes() {
        let base = source("base.yaml", "a:\n  x: 1\n  y: 2\nlist: [1, 2]\ngone: 3\n");
        let top = source("top.yaml", "a:\n  y: 20\nlist: [9]\ngone: null\n");
        let merged = merge(&[Layer::new(&base, KeyPath::root()), Layer::new(&top, KeyPath::root())]).unwrap();
        let expected: Value = serde_yaml::from_str("a:\n  x: 1\n  y: 20\nlist: [9]\n").unwrap();
        assert_eq!(merged.value, expected);
        assert_eq!(merged.origins.locate(&KeyPath::parse("a.x")).unwrap().to_string(), "base.yaml:2:3");
        assert_eq!(merged.origins.locate(&KeyPath::parse("a.y")).unwrap().to_string(), "top.yaml:2:3");
        assert_eq!(merged.origins.locate(&KeyPath::parse("list[0]")).unwrap().to_string(), "top.yaml:3:8");
        assert!(merged.origins.locate(&KeyPath::parse("gone")).is_none());
    }

    #[test]
    fn map_replaced_by_scalar_is_an_error_naming_both_sides() {
        let base = source("base.yaml", "a:\n  x: 1\n");
        let top = source("top.yaml", "a: 5\n");
        let error = merge(&[Layer::new(&base, KeyPath::root()), Layer::new(&top, KeyPath::root())]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: `a` is a number here but a mapping in the layer below\n  --> top.yaml:1:1\n  = key: a\n  = also set here: base.yaml:1:1\n  = help: use the same shape in both layers, or a key of another name for the other shape"
        );
    }

    #[test]
    fn prefix_layers_take_subtrees() {
        let cluster = source("cluster.yaml", "defaults:\n  workload:\n    replicas: 1\n");
        let namespace = source("ns.yaml", "workloads:\n  web:\n    image: nginx:1.27\n");
        let merged = merge(&[
            Layer::new(&cluster, KeyPath::parse("defaults.workload")),
            Layer::new(&namespace, KeyPath::parse("workloads.web")),
        ])
        .unwrap();
        assert_eq!(merged.origins.locate(&KeyPath::parse("replicas")).unwrap().to_string(), "cluster.yaml:3:5");
        assert_eq!(merged.origins.locate(&KeyPath::parse("image")).unwrap().to_string(), "ns.yaml:3:5");
    }
}
