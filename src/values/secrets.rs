//! The guards that keep plaintext credentials out of values, and so out of
//! the rendered tree Argo CD syncs.
//!
//! **Sealed values.** `secrets.<name>.encryptedData.<key>` must be what
//! `kubeseal --raw` prints: standard base64 (Go's `base64.StdEncoding`, as
//! kubeseal writes it) of the controller's hybrid encryption output, which
//! bitnami-labs/sealed-secrets `pkg/crypto/crypto.go` (`HybridEncrypt`)
//! builds as a 2-byte big-endian length of the RSA ciphertext, the RSA-OAEP
//! (SHA-256) encryption of a 32-byte session key, then AES-256-GCM `Seal`
//! output under a zero nonce, which is the plaintext's length plus the
//! 16-byte GCM tag (the nonce is not stored). An RSA-OAEP ciphertext is
//! exactly as long as the key's modulus, and the controller's keys are RSA
//! keys of 4096 bits by default (`docs`: "Crypto details"), so the length
//! must be 256, 384 or 512 bytes (2048-, 3072- or 4096-bit keys). Anything
//! else cannot be unsealed by any controller: it is plaintext or a paste error.
//!
//! **Credential-named keys.** A key whose name says credential (`*PASSWORD*`,
//! `*TOKEN*`, `*SECRET*`, `*API_KEY*`, …) must not hold a plaintext string,
//! in `env` and in every free-form map that reaches the output: component
//! Helm `values` and `vars` at every level. Allowed, because they name a
//! secret rather than hold one: keys starting `existingSecret` or ending
//! `SecretName`, `SecretRef` or `secretKeyRef`; a value that is the name of a
//! sealed secret declared in values; an absolute path under a `*_FILE` key
//! (the official images' convention of reading the credential from that
//! file); empty strings, numbers and booleans; and
//! mappings and lists, whose own keys are checked in turn.
//!
//! **Credentials in URLs.** A string holding `scheme://user:password@host`
//! (RFC 3986 §3.2.1 userinfo, e.g. `postgres://admin:pw@db`,
//! `redis://:pw@host`) carries its password in the clear. It is refused in
//! the same places and in `command`/`args`, unless the password is a
//! Kubernetes dependent variable reference `$(VAR)` (expanded by the kubelet
//! from the container's environment, which `secretEnv` fills from a secret).

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_yaml::Value;

use super::key_path::KeyPath;

/// Bytes of the RSA-OAEP ciphertext for 2048-, 3072- and 4096-bit keys.
pub const RSA_CIPHERTEXT_BYTES: [usize; 3] = [256, 384, 512];
/// The AES-GCM authentication tag every sealed value ends with.
pub const GCM_TAG_BYTES: usize = 16;

/// Why `value` is not kubeseal output, if it is not.
pub fn sealed_problem(value: &str) -> Option<String> {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return Some("is not base64".into());
    };
    let Some((length, rest)) = bytes.split_first_chunk::<2>() else {
        return Some(format!("decodes to {} bytes, too short for a sealed value", bytes.len()));
    };
    let rsa = usize::from(u16::from_be_bytes(*length));
    if !RSA_CIPHERTEXT_BYTES.contains(&rsa) {
        return Some(format!(
            "declares a {rsa}-byte session key, but sealing keys (RSA 2048, 3072 or 4096 bits) give 256, 384 or 512"
        ));
    }
    if rest.len() < rsa + GCM_TAG_BYTES {
        return Some(format!(
            "decodes to {} bytes, shorter than the {} a {}-bit key's session key and the AES-GCM tag take",
            bytes.len(),
            2 + rsa + GCM_TAG_BYTES,
            rsa * 8
        ));
    }
    None
}

/// Keys whose values are credentials and must come from a sealed secret.
pub fn looks_like_secret_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "PRIVATEKEY", "CREDENTIAL"]
        .iter()
        .any(|marker| upper.contains(marker))
}

/// Keys that name a Secret object (Helm charts' convention) rather than hold one.
pub fn names_a_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase().replace(['-', '_'], "");
    lower.starts_with("existingsecret")
        || ["secretname", "secretref", "secretkeyref"].iter().any(|suffix| lower.ends_with(suffix))
}

/// `POSTGRES_PASSWORD_FILE=/run/secrets/db`: the Docker official images'
/// `_FILE` convention (docker-library docs, "Docker Secrets": the variable
/// names a file to read the credential from), an absolute path, not a secret.
pub fn names_a_secret_file(key: &str, text: &str) -> bool {
    key.to_ascii_uppercase().ends_with("_FILE") && text.starts_with('/') && !text.contains(char::is_whitespace)
}

/// The URL in `text` whose userinfo holds a password, shown with the
/// password masked; `None` when there is none (or it is a `$(VAR)` reference).
pub fn url_with_password(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let scheme_start = rest.get(..start)?.rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)));
        let scheme = rest.get(scheme_start.map_or(0, |index| index + 1)..start)?;
        let after = rest.get(start + 3..)?;
        let authority = after.split(['/', '?', '#', ' ', '"', '\'', '\n']).next().unwrap_or_default();
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            if let Some((user, password)) = userinfo.split_once(':') {
                if !password.is_empty() && !is_env_reference(password) && !scheme.is_empty() {
                    return Some(format!("{scheme}://{user}:***@{host}"));
                }
            }
        }
        rest = after;
    }
    None
}

/// `$(NAME)`: the kubelet expands it from the container's environment.
fn is_env_reference(text: &str) -> bool {
    text.strip_prefix("$(")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)))
}

/// One plaintext credential found in a free-form map.
#[derive(Debug, PartialEq, Eq)]
pub struct Leak {
    /// Relative to the map that was scanned.
    pub path: KeyPath,
    pub message: String,
}

/// Scans a free-form map (Helm values, `vars`) for credential-named keys
/// with plaintext values and URLs with passwords. `sealed` are the names of
/// declared sealed secrets, which a credential-named key may name.
pub fn scan(value: &Value, sealed: &BTreeSet<&str>) -> Vec<Leak> {
    let mut leaks = Vec::new();
    walk(value, None, &KeyPath::root(), sealed, &mut leaks);
    leaks
}

fn walk(value: &Value, key: Option<&str>, at: &KeyPath, sealed: &BTreeSet<&str>, leaks: &mut Vec<Leak>) {
    match value {
        Value::Mapping(map) => {
            for (child_key, child) in map {
                if let Some(child_key) = child_key.as_str() {
                    walk(child, Some(child_key), &at.key(child_key), sealed, leaks);
                }
            }
        }
        Value::Sequence(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, key, &at.index(index), sealed, leaks);
            }
        }
        Value::String(text) => {
            if let Some(message) = string_leak(key.unwrap_or_default(), text, sealed) {
                leaks.push(Leak { path: at.clone(), message });
            }
        }
        _ => {}
    }
}

/// The message for a string value under `key` that leaks a credential.
pub fn string_leak(key: &str, text: &str, sealed: &BTreeSet<&str>) -> Option<String> {
    if let Some(url) = url_with_password(text) {
        return Some(format!("`{key}` holds a URL with a plaintext password (`{url}`)"));
    }
    let plaintext = !text.is_empty() && !sealed.contains(text) && !names_a_secret_file(key, text);
    (looks_like_secret_key(key) && !names_a_secret(key) && plaintext)
        .then(|| format!("`{key}` looks like a credential but holds plaintext"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(rsa: usize, aes: usize) -> String {
        let mut bytes = u16::try_from(rsa).unwrap().to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(7u8, rsa + aes));
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn sealed_values_have_the_controllers_layout() {
        assert_eq!(sealed_problem(&sealed(512, 16 + 10)), None);
        assert_eq!(sealed_problem(&sealed(256, 16)), None);
        assert_eq!(sealed_problem("hunter2"), Some("is not base64".into()));
        assert_eq!(
            sealed_problem(&"a".repeat(64)),
            Some("declares a 27046-byte session key, but sealing keys (RSA 2048, 3072 or 4096 bits) give 256, 384 or 512".into())
        );
        assert_eq!(
            sealed_problem(&"Ag".repeat(32)),
            Some(
                "decodes to 48 bytes, shorter than the 530 a 4096-bit key's session key and the AES-GCM tag take"
                    .into()
            )
        );
        assert_eq!(
            sealed_problem(&sealed(512, 15)),
            Some(
                "decodes to 529 bytes, shorter than the 530 a 4096-bit key's session key and the AES-GCM tag take"
                    .into()
            )
        );
        assert_eq!(sealed_problem("AA=="), Some("decodes to 1 bytes, too short for a sealed value".into()));
    }

    #[test]
    fn secret_like_keys_and_references() {
        assert!(looks_like_secret_key("OPENAI_API_KEY"));
        assert!(looks_like_secret_key("db_password"));
        assert!(looks_like_secret_key("privateKey"));
        assert!(!looks_like_secret_key("LOG_LEVEL"));
        assert!(names_a_secret("existingSecret"));
        assert!(names_a_secret("existingSecretPasswordKey"));
        assert!(names_a_secret("tlsSecretName"));
        assert!(names_a_secret("admin-secret-ref"));
        assert!(!names_a_secret("clientSecret"));
    }

    #[test]
    fn a_file_path_under_a_file_key_is_not_a_credential() {
        let none = BTreeSet::new();
        assert_eq!(string_leak("POSTGRES_PASSWORD_FILE", "/run/secrets/db-password", &none), None);
        assert!(string_leak("POSTGRES_PASSWORD_FILE", "hunter2", &none).is_some());
        assert!(string_leak("POSTGRES_PASSWORD", "/run/secrets/db-password", &none).is_some());
    }

    #[test]
    fn passwords_in_urls_are_found_and_masked() {
        assert_eq!(url_with_password("postgres://admin:pw@db:5432/app"), Some("postgres://admin:***@db:5432".into()));
        assert_eq!(url_with_password("redis://:pw@host"), Some("redis://:***@host".into()));
        assert_eq!(url_with_password("--url=https://u:p@x.example/y"), Some("https://u:***@x.example".into()));
        assert_eq!(url_with_password("postgres://admin:$(DB_PASSWORD)@db"), None);
        assert_eq!(url_with_password("ssh://git@github.com/a/b"), None);
        assert_eq!(url_with_password("http://coordination:7100/api"), None);
        assert_eq!(url_with_password("https://example.com/a@b"), None);
    }

    #[test]
    fn free_form_maps_are_scanned_at_every_depth() {
        let values: Value = serde_yaml::from_str(
            "configs:\n  secret:\n    argocdServerAdminPassword: hunter2\n    existingSecret: argocd-secret\nurls: [ 'postgres://a:b@db' ]\nwebhookUrl: {secret: receivers, key: url}\nadminSecret: grafana-admin\ntokenTTL: 3600\n",
        )
        .unwrap();
        let sealed = BTreeSet::from(["receivers", "grafana-admin"]);
        let leaks = scan(&values, &sealed);
        assert_eq!(
            leaks,
            [
                Leak {
                    path: KeyPath::parse("configs.secret.argocdServerAdminPassword"),
                    message: "`argocdServerAdminPassword` looks like a credential but holds plaintext".into()
                },
                Leak {
                    path: KeyPath::parse("urls[0]"),
                    message: "`urls` holds a URL with a plaintext password (`postgres://a:***@db`)".into()
                },
            ]
        );
    }
}
