//! Secrets and SealedSecrets in diffs: which keys changed is shown, their
//! values never are, not even as ciphertext or a hash. Values are replaced
//! by a marker before any text is diffed, so no output format can leak them.

use serde_yaml::{Mapping, Value};

use super::fields::{key_text, push_key};
use crate::output::object::Identity;

pub const REDACTED: &str = "<redacted>";
pub const REDACTED_CHANGED: &str = "<redacted, changed>";

/// Whether an object holds secret values.
pub fn is_secret(identity: &Identity) -> bool {
    (identity.kind == "Secret" && identity.group.is_empty()) || identity.kind == "SealedSecret"
}

/// The mappings of a secret kind whose values are secret.
fn secret_maps(identity: &Identity) -> &'static [&'static [&'static str]] {
    if identity.kind == "SealedSecret" {
        &[&["spec", "encryptedData"], &["spec", "template", "data"]]
    } else {
        &[&["data"], &["stringData"], &["binaryData"]]
    }
}

/// Whether a changed field path lies inside secret data; such paths name a key
/// (`data.password`), never a value.
pub fn is_secret_path(identity: &Identity, path: &str) -> bool {
    secret_maps(identity).iter().any(|segments| {
        let prefix = segments.join(".");
        path == prefix || path.strip_prefix(&prefix).is_some_and(|rest| rest.starts_with(['.', '[']))
    })
}

/// Both versions with every secret value replaced: by [`REDACTED`], or on the
/// head side by [`REDACTED_CHANGED`] where the value differs from the base, so
/// the line diff still shows that it changed.
pub fn redact(identity: &Identity, base: Option<&Value>, head: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let mut base_out = base.cloned();
    let mut head_out = head.cloned();
    for segments in secret_maps(identity) {
        let old = base.and_then(|value| lookup(value, segments));
        if let Some(target) = base_out.as_mut().and_then(|value| lookup_mut(value, segments)) {
            *target = mask(target, None);
        }
        if let Some(target) = head_out.as_mut().and_then(|value| lookup_mut(value, segments)) {
            *target = mask(target, old);
        }
    }
    (base_out, head_out)
}

/// The path of every secret key in `value`, e.g. `spec.encryptedData.password`.
pub fn key_paths(identity: &Identity, value: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    for segments in secret_maps(identity) {
        if let Some(Value::Mapping(map)) = lookup(value, segments) {
            for key in map.keys() {
                let mut path = String::new();
                for segment in *segments {
                    push_key(&mut path, segment);
                }
                push_key(&mut path, &key_text(key));
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
}

fn mask(value: &Value, previous: Option<&Value>) -> Value {
    let marker = |now: &Value, before: Option<&Value>| match before {
        Some(before) if before != now => Value::String(REDACTED_CHANGED.into()),
        _ => Value::String(REDACTED.into()),
    };
    match value {
        Value::Mapping(map) => {
            let previous = previous.and_then(Value::as_mapping);
            let masked: Mapping =
                map.iter().map(|(key, now)| (key.clone(), marker(now, previous.and_then(|p| p.get(key))))).collect();
            Value::Mapping(masked)
        }
        other => marker(other, previous),
    }
}

fn lookup<'v>(value: &'v Value, segments: &[&str]) -> Option<&'v Value> {
    segments.iter().try_fold(value, |node, key| node.get(*key))
}

fn lookup_mut<'v>(value: &'v mut Value, segments: &[&str]) -> Option<&'v mut Value> {
    segments.iter().try_fold(value, |node, key| node.get_mut(*key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::canonical;

    fn identity(kind: &str, group: &str) -> Identity {
        Identity { group: group.into(), kind: kind.into(), namespace: Some("a".into()), name: "db".into() }
    }

    #[test]
    fn sealed_secret_values_are_masked_and_changes_marked() {
        let base: Value = serde_yaml::from_str("spec: {encryptedData: {user: AgB1, password: AgB2}}").unwrap();
        let head: Value =
            serde_yaml::from_str("spec: {encryptedData: {user: AgB1, password: AgB3, token: AgB4}}").unwrap();
        let id = identity("SealedSecret", "bitnami.com");
        let (base, head) = redact(&id, Some(&base), Some(&head));
        let text = |value: Option<Value>| canonical::to_yaml(&value.unwrap());
        assert_eq!(text(base), "spec:\n  encryptedData:\n    user: <redacted>\n    password: <redacted>\n");
        let head = text(head);
        assert_eq!(
            head,
            "spec:\n  encryptedData:\n    user: <redacted>\n    password: <redacted, changed>\n    token: <redacted>\n"
        );
        assert!(!head.contains("AgB"));
    }

    #[test]
    fn plain_secret_data_is_masked() {
        let value: Value = serde_yaml::from_str("data: {a: c2VjcmV0}\nstringData: {b: hunter2}\ntype: Opaque").unwrap();
        let (masked, _) = redact(&identity("Secret", ""), Some(&value), None);
        let text = serde_yaml::to_string(&masked.unwrap()).unwrap();
        assert!(!text.contains("c2VjcmV0") && !text.contains("hunter2"), "{text}");
        assert!(text.contains("type: Opaque"));
    }

    #[test]
    fn key_paths_name_every_key() {
        let value: Value = serde_yaml::from_str("data: {tls.crt: x, user: y}\nstringData: {z: w}").unwrap();
        assert_eq!(key_paths(&identity("Secret", ""), &value), ["data.\"tls.crt\"", "data.user", "stringData.z"]);
    }

    #[test]
    fn secret_paths() {
        let id = identity("Secret", "");
        assert!(is_secret_path(&id, "data.password"));
        assert!(is_secret_path(&id, "data.\"tls.crt\""));
        assert!(!is_secret_path(&id, "dataset"));
        assert!(!is_secret(&identity("Secret", "example.com")));
    }
}
