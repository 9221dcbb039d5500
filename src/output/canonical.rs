//! Canonical serialization: the same object always becomes the same bytes.
//! Top-level keys come as `apiVersion, kind, metadata, spec, data, stringData,
//! binaryData, type`, then the rest alphabetically; `metadata` starts with
//! `name, namespace, labels, annotations`; every other mapping puts `name`
//! first and sorts the rest. Lists keep their order. Output is LF-only with
//! one trailing newline.

use serde_yaml::Value;

const TOP_LEVEL: [&str; 8] = ["apiVersion", "kind", "metadata", "spec", "data", "stringData", "binaryData", "type"];
const METADATA: [&str; 4] = ["name", "namespace", "labels", "annotations"];
const NESTED: [&str; 1] = ["name"];

/// Reorders an object's keys canonically.
pub fn order(value: &Value) -> Value {
    let mut ordered = value.clone();
    order_in_place(&mut ordered);
    ordered
}

/// Reorders an object's keys canonically without copying it: entries are
/// moved, and each key's rank is computed once, not per comparison.
pub fn order_in_place(value: &mut Value) {
    order_with(value, Level::Top);
}

/// Where a mapping sits, which decides the keys that come first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Metadata,
    Nested,
}

fn order_with(value: &mut Value, level: Level) {
    let priority: &[&str] = match level {
        Level::Top => &TOP_LEVEL,
        Level::Metadata => &METADATA,
        Level::Nested => &NESTED,
    };
    match value {
        Value::Mapping(map) => {
            let mut entries: Vec<(usize, Value, Value)> = std::mem::take(map)
                .into_iter()
                .map(|(key, child)| {
                    let rank = key.as_str().and_then(|text| priority.iter().position(|p| *p == text));
                    (rank.unwrap_or(priority.len()), key, child)
                })
                .collect();
            entries.sort_by(|(rank_a, key_a, _), (rank_b, key_b, _)| {
                (rank_a, key_a.as_str().unwrap_or_default()).cmp(&(rank_b, key_b.as_str().unwrap_or_default()))
            });
            for (_, key, mut child) in entries {
                let child_level = if level == Level::Top && key.as_str() == Some("metadata") {
                    Level::Metadata
                } else {
                    Level::Nested
                };
                order_with(&mut child, child_level);
                map.insert(key, child);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|item| order_with(item, Level::Nested)),
        // Tags carry no meaning in Kubernetes objects; the tagged value is kept.
        Value::Tagged(tagged) => {
            let inner = std::mem::take(&mut tagged.value);
            *value = inner;
            order_with(value, level);
        }
        _ => {}
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
        let text = to_yaml(&order(&value));
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
