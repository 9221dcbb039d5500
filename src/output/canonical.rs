//! Canonical serialization: the same object always becomes the same bytes.
//! Top-level keys come as `apiVersion, kind, metadata, spec, data, stringData,
//! binaryData, type`, then the rest alphabetically; `metadata` starts with
//! `name, namespace, labels, annotations`; every other mapping puts `name`
//! first and sorts the rest. Lists keep their order. Output is LF-only with
//! one trailing newline.

use serde_yaml::{Mapping, Value};

const TOP_LEVEL: [&str; 8] = ["apiVersion", "kind", "metadata", "spec", "data", "stringData", "binaryData", "type"];
const METADATA: [&str; 4] = ["name", "namespace", "labels", "annotations"];
const NESTED: [&str; 1] = ["name"];

/// Reorders an object's keys canonically, moving (not copying) its contents.
pub fn order(value: Value) -> Value {
    order_with(value, &TOP_LEVEL)
}

fn order_with(value: Value, priority: &[&str]) -> Value {
    match value {
        Value::Mapping(map) => {
            let mut entries: Vec<(Value, Value)> = map.into_iter().collect();
            entries.sort_by_cached_key(|(key, _)| {
                let text = key.as_str().unwrap_or_default();
                let rank = priority.iter().position(|p| *p == text).unwrap_or(priority.len());
                (rank, text.to_string())
            });
            let top_level = priority == TOP_LEVEL;
            entries
                .into_iter()
                .map(|(key, child)| {
                    let child_priority: &[&str] =
                        if top_level && key.as_str() == Some("metadata") { &METADATA } else { &NESTED };
                    let child = order_with(child, child_priority);
                    (key, child)
                })
                .collect::<Mapping>()
                .into()
        }
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(|item| order_with(item, &NESTED)).collect()),
        Value::Tagged(tagged) => order_with(tagged.value, priority),
        other => other,
    }
}

/// Serializes an already ordered value as YAML with LF endings and a single trailing newline.
pub fn to_yaml(value: &Value) -> String {
    let text = serde_yaml::to_string(value).unwrap_or_default();
    normalize_text(&text)
}

/// LF line endings and exactly one trailing newline (none for empty text).
pub fn normalize_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let trimmed = text.trim_end_matches('\n');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_top_level_metadata_and_nested_keys() {
        let value: Value = serde_yaml::from_str(
            "spec: {b: 1, a: 2, name: n}\nmetadata: {labels: {}, name: x, annotations: {}, namespace: y}\nkind: K\nzeta: 1\napiVersion: v1\n",
        )
        .unwrap();
        let text = to_yaml(&order(value));
        assert_eq!(
            text,
            "apiVersion: v1\nkind: K\nmetadata:\n  name: x\n  namespace: y\n  labels: {}\n  annotations: {}\nspec:\n  name: n\n  a: 2\n  b: 1\nzeta: 1\n"
        );
    }

    #[test]
    fn normalizes_line_endings_and_trailing_newline() {
        assert_eq!(normalize_text("a\r\nb\n\n\n"), "a\nb\n");
        assert_eq!(normalize_text("\n"), "");
    }
}
