//! Which fields of an object changed, independent of key order. Lists whose
//! items all carry a distinct `name` (containers, env, ports, volumes, ...)
//! are paired by that name, so inserting an item does not mark every later
//! one as changed; other lists are compared item by item when their lengths
//! match, and as a whole otherwise.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_yaml::Value;

use crate::values::key_path::write_key;

/// How a field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldChange {
    Added,
    Removed,
    Changed,
    /// The same named items, in another order.
    Reordered,
}

impl FieldChange {
    pub fn mark(self) -> &'static str {
        match self {
            FieldChange::Added => "+",
            FieldChange::Removed => "-",
            FieldChange::Changed => "~",
            FieldChange::Reordered => "↕",
        }
    }
}

/// One changed field, e.g. `spec.template.spec.containers[name=app].image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub path: String,
    pub change: FieldChange,
}

/// The changed fields between two versions of an object, in path order.
pub fn compare(base: &Value, head: &Value) -> Vec<Field> {
    let mut out = Vec::new();
    walk(base, head, &mut String::new(), &mut out);
    out
}

fn walk(base: &Value, head: &Value, path: &mut String, out: &mut Vec<Field>) {
    // Mapping equality ignores key order; equal subtrees need no walk.
    if base == head {
        return;
    }
    match (untag(base), untag(head)) {
        (Value::Mapping(base), Value::Mapping(head)) => {
            let only_head = head.keys().filter(|key| !base.contains_key(*key));
            let mut keys: Vec<&Value> = base.keys().chain(only_head).collect();
            keys.sort_by(|a, b| key_text(a).cmp(&key_text(b)));
            for key in keys {
                let length = path.len();
                push_key(path, &key_text(key));
                match (base.get(key), head.get(key)) {
                    (Some(old), Some(new)) => walk(old, new, path, out),
                    (None, Some(_)) => record(path, FieldChange::Added, out),
                    (Some(_), None) => record(path, FieldChange::Removed, out),
                    (None, None) => {}
                }
                path.truncate(length);
            }
        }
        (Value::Sequence(base), Value::Sequence(head)) => match (names(base), names(head)) {
            (Some(base_names), Some(head_names)) => named(base, &base_names, head, &head_names, path, out),
            _ if base.len() == head.len() => {
                for (index, (old, new)) in base.iter().zip(head).enumerate() {
                    let length = path.len();
                    path.push_str(&format!("[{index}]"));
                    walk(old, new, path, out);
                    path.truncate(length);
                }
            }
            _ => record(path, FieldChange::Changed, out),
        },
        (base, head) if base != head => record(path, FieldChange::Changed, out),
        _ => {}
    }
}

/// Pairs list items by name: changed items are walked, added and removed
/// ones reported whole, and a new order of the same names as `Reordered`.
fn named(
    base: &[Value],
    base_names: &[&str],
    head: &[Value],
    head_names: &[&str],
    path: &mut String,
    out: &mut Vec<Field>,
) {
    let base_index: BTreeMap<&str, &Value> = base_names.iter().copied().zip(base).collect();
    let head_index: BTreeMap<&str, &Value> = head_names.iter().copied().zip(head).collect();
    let common_base: Vec<&str> = base_names.iter().copied().filter(|name| head_index.contains_key(name)).collect();
    let common_head: Vec<&str> = head_names.iter().copied().filter(|name| base_index.contains_key(name)).collect();
    if common_base != common_head {
        record(path, FieldChange::Reordered, out);
    }
    let all: BTreeSet<&str> = base_names.iter().chain(head_names).copied().collect();
    for name in all {
        let length = path.len();
        path.push_str(&format!("[name={name}]"));
        match (base_index.get(name), head_index.get(name)) {
            (Some(old), Some(new)) => walk(old, new, path, out),
            (None, Some(_)) => record(path, FieldChange::Added, out),
            (Some(_), None) => record(path, FieldChange::Removed, out),
            (None, None) => {}
        }
        path.truncate(length);
    }
}

/// The `name` of every item, if every item is a mapping with a distinct string `name`.
fn names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items.iter().map(|item| item.get("name").and_then(Value::as_str)).collect::<Option<_>>()?;
    let distinct: BTreeSet<&&str> = names.iter().collect();
    (distinct.len() == names.len() && !names.is_empty()).then_some(names)
}

fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

fn record(path: &str, change: FieldChange, out: &mut Vec<Field>) {
    let path = if path.is_empty() { "(whole object)".to_string() } else { path.to_string() };
    out.push(Field { path, change });
}

pub fn key_text(key: &Value) -> Cow<'_, str> {
    match key {
        Value::String(text) => Cow::Borrowed(text),
        other => Cow::Owned(serde_yaml::to_string(other).unwrap_or_default().trim_end().to_string()),
    }
}

/// Appends `key` to a field path, written as every kiln path is
/// ([`crate::values::key_path::write_key`]).
pub fn push_key(path: &mut String, key: &str) {
    let first = path.is_empty();
    let _ = write_key(path, key, first);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(base: &str, head: &str) -> Vec<String> {
        let base: Value = serde_yaml::from_str(base).unwrap();
        let head: Value = serde_yaml::from_str(head).unwrap();
        compare(&base, &head).into_iter().map(|field| format!("{} {}", field.change.mark(), field.path)).collect()
    }

    #[test]
    fn key_order_does_not_matter() {
        assert!(fields("{a: 1, b: {c: 2, d: 3}}", "{b: {d: 3, c: 2}, a: 1}").is_empty());
    }

    #[test]
    fn reports_added_removed_and_changed_paths() {
        assert_eq!(
            fields(
                "{spec: {replicas: 1, old: x}, metadata: {labels: {app.kubernetes.io/name: a}}}",
                "{spec: {replicas: 2, new: y}, metadata: {labels: {app.kubernetes.io/name: b}}}"
            ),
            [r#"~ metadata.labels."app.kubernetes.io/name""#, "+ spec.new", "- spec.old", "~ spec.replicas"]
        );
    }

    #[test]
    fn named_lists_pair_items_by_name() {
        let base = "{containers: [{name: app, image: a:1, env: [{name: A, value: '1'}, {name: B, value: '2'}]}]}";
        let head = "{containers: [{name: side, image: s:1}, {name: app, image: a:2, env: [{name: B, value: '2'}, {name: A, value: '1'}, {name: C, value: '3'}]}]}";
        assert_eq!(
            fields(base, head),
            [
                "↕ containers[name=app].env",
                "+ containers[name=app].env[name=C]",
                "~ containers[name=app].image",
                "+ containers[name=side]",
            ]
        );
    }

    #[test]
    fn unnamed_lists_compare_by_position_or_whole() {
        assert_eq!(fields("{args: [a, b]}", "{args: [a, c]}"), ["~ args[1]"]);
        assert_eq!(fields("{args: [a]}", "{args: [a, c]}"), ["~ args"]);
        assert_eq!(fields("{a: 1}", "[1]"), ["~ (whole object)"]);
    }
}
