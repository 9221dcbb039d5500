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
            None => (humanize(&inner), None),
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

/// Rewrites serde's type errors in the vocabulary of YAML users.
fn humanize(message: &str) -> String {
    let message = message
        .replace("invalid type: ", "wrong type: found ")
        .replace("unit value", "null")
        .replace("sequence", "a list")
        .replace("map,", "a mapping,")
        .replace("struct ", "mapping ")
        .replace("unknown variant", "unknown value");
    message.split(" at line ").next().unwrap_or(&message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
