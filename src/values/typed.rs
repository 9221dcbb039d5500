//! Deserializes values into kiln's strict schema and turns serde's errors into
//! located messages: the key path, where it is written, and "did you mean".

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::key_path::{KeyPath, Segment};
use crate::diagnostic::{did_you_mean, Location};
use crate::Error;

/// Deserializes `value` (found at `base` in its file) into `T`. `locate` maps a
/// key path relative to `value` to the place it is written.
pub fn deserialize<T: DeserializeOwned>(
    value: &Value,
    base: &KeyPath,
    locate: impl Fn(&KeyPath) -> Location,
) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let mut key_path = convert_path(error.path());
        let inner = error.inner().to_string();
        let (message, help) = match parse_unknown_field(&inner) {
            Some((field, expected)) => {
                // serde reports the unknown field at its parent; point at the key itself.
                if key_path.0.last() != Some(&Segment::Key(field.clone())) {
                    key_path = key_path.key(field.clone());
                }
                let help = match did_you_mean(&field, expected.iter().map(String::as_str)) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None if expected.is_empty() => "this mapping takes no keys".to_string(),
                    None => format!("known keys here: {}", expected.join(", ")),
                };
                (format!("unknown key `{field}`"), Some(help))
            }
            None => describe(&inner),
        };
        Error::Values { location: locate(&key_path), key_path: base.join(&key_path).to_string(), message, help }
    })
}

fn convert_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment as S;
    KeyPath(
        path.iter()
            .filter_map(|segment| match segment {
                S::Seq { index } => Some(Segment::Index(*index)),
                S::Map { key } => Some(Segment::Key(key.clone())),
                S::Enum { variant } => Some(Segment::Key(variant.clone())),
                S::Unknown => None,
            })
            .collect(),
    )
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" into its parts.
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).map(str::to_string).collect();
    Some((field.to_string(), expected))
}

/// Rewrites serde's type and value errors in the vocabulary of YAML users,
/// with a hint when the fix is mechanical (quote a scalar, fix a typo).
fn describe(message: &str) -> (String, Option<String>) {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = parse_unknown_field(&format!("unknown field `{rest}")).unwrap_or_default();
        let help = did_you_mean(&value, expected.iter().map(String::as_str)).map(|s| format!("did you mean `{s}`?"));
        let expected = expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
        return (format!("unknown value `{value}`; expected one of {expected}"), help);
    }
    let (found, expected) = match message.split_once(", expected ") {
        Some((found, expected)) => (found, expected),
        None => return (message.to_string(), None),
    };
    let found = found
        .replace("invalid type: ", "wrong type: found ")
        .replace("unit value", "null")
        .replace("found sequence", "found a list")
        .replace("found map", "found a mapping");
    let expected = match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number of 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a map" => "a mapping",
        "a sequence" => "a list",
        other if other.starts_with("struct ") => "a mapping",
        other => other,
    };
    let scalar = ["found boolean", "found integer", "found floating point"].iter().any(|f| found.contains(f));
    let help = (scalar && expected == "a string").then(|| {
        let value = found.split('`').nth(1).unwrap_or_default();
        format!("quote it to make it text: `\"{value}\"`")
    });
    (format!("{found}, expected {expected}"), help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_type_errors_in_yaml_terms() {
        assert_eq!(
            describe("invalid type: string \"many\", expected u32"),
            ("wrong type: found string \"many\", expected a whole number from 0 to 4294967295".into(), None)
        );
        assert_eq!(
            describe("invalid type: sequence, expected a map").0,
            "wrong type: found a list, expected a mapping"
        );
        assert_eq!(
            describe("invalid type: boolean `true`, expected a string"),
            (
                "wrong type: found boolean `true`, expected a string".into(),
                Some("quote it to make it text: `\"true\"`".into())
            )
        );
        assert_eq!(
            describe("unknown variant `Deploymnet`, expected `Deployment` or `Job`"),
            (
                "unknown value `Deploymnet`; expected one of `Deployment`, `Job`".into(),
                Some("did you mean `Deployment`?".into())
            )
        );
    }

    #[test]
    fn parses_unknown_field_messages() {
        let (field, expected) =
            parse_unknown_field("unknown field `replcas`, expected one of `kind`, `replicas`").unwrap();
        assert_eq!(field, "replcas");
        assert_eq!(expected, ["kind", "replicas"]);
        let (_, single) = parse_unknown_field("unknown field `x`, expected `name`").unwrap();
        assert_eq!(single, ["name"]);
        let (_, none) = parse_unknown_field("unknown field `x`, there are no fields").unwrap();
        assert!(none.is_empty());
    }
}
