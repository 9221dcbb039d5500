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

/// Reorders an object's keys canonically, moving (not copying) its contents.
pub fn order(mut value: Value) -> Value {
    order_with(&mut value, Level::Top);
    value
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
    fn rank<'k>(priority: &[&str], key: &'k Value) -> (usize, &'k str) {
        let text = key.as_str().unwrap_or_default();
        (priority.iter().position(|p| *p == text).unwrap_or(priority.len()), text)
    }
    let child_level = |key: &Value| {
        if level == Level::Top && key.as_str() == Some("metadata") {
            Level::Metadata
        } else {
            Level::Nested
        }
    };
    match value {
        // Most mappings are already in order (templates tend to write them
        // so); those are only walked, not rebuilt.
        Value::Mapping(map) if map.keys().is_sorted_by(|a, b| rank(priority, a) <= rank(priority, b)) => {
            for (key, child) in map.iter_mut() {
                order_with(child, child_level(key));
            }
        }
        Value::Mapping(map) => {
            let mut entries: Vec<(Value, Value)> = std::mem::take(map).into_iter().collect();
            // Stable, so keys that rank equal (non-string keys) keep their order.
            entries.sort_by(|(a, _), (b, _)| rank(priority, a).cmp(&rank(priority, b)));
            *map = serde_yaml::Mapping::with_capacity(entries.len());
            for (key, mut child) in entries {
                order_with(&mut child, child_level(&key));
                map.insert(key, child);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|item| order_with(item, Level::Nested)),
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
