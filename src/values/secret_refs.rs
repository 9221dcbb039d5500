//! Every `secretEnv` and `secretMounts` entry of a workload must name a
//! sealed secret declared in its namespace's values (`secrets.<name>`, layered
//! on `defaults.namespace.secrets` of the cluster file), and every
//! `secretEnv.*.key` a key that secret has.
//!
//! Why this models the cluster: the templates render `secretEnv` as
//! `valueFrom.secretKeyRef` and `secretMounts` as a `secret` volume, both
//! without `optional`. The kubelet then refuses to start the container when
//! the Secret or the key is absent (kubernetes `pkg/kubelet/kubelet_pods.go`,
//! `makeEnvironmentVariables`: "couldn't find key … in Secret …", the pod
//! stays in `CreateContainerConfigError`). The Secret's keys are exactly the
//! SealedSecret's `encryptedData` keys: the controller decrypts each of them
//! into the Secret's `data` (bitnami-labs/sealed-secrets
//! `pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go`, `Unseal`),
//! and kiln's template adds no `template.data`.
//!
//! A Secret kiln does not declare (made by a chart or an operator) is refused
//! too: the templates order sealed secrets before the workloads that read
//! them (sync wave −1) and roll pods when their content changes
//! (`checksum/secret-<name>`), which only holds for secrets kiln renders, and
//! values have no way to declare a Secret that something else creates.

use std::collections::{BTreeMap, BTreeSet};

use super::check::join;
use super::key_path::KeyPath;
use super::schema::Workload;
use super::{Scoped, Values};
use crate::diagnostic::{did_you_mean, Location};
use crate::Error;

/// Secret name → its keys, as declared in one namespace's values.
type Sealed<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

pub fn check(values: &Values) -> Vec<Error> {
    let mut refs = References { values, errors: Vec::new(), seen: BTreeSet::new() };
    for namespace in values.namespaces.values() {
        let sealed: Sealed<'_> = namespace
            .namespace
            .typed
            .secrets
            .iter()
            .flatten()
            .map(|(name, secret)| {
                (name.as_str(), secret.encrypted_data.iter().flatten().map(|(key, _)| key.as_str()).collect())
            })
            .collect();
        for (name, workload) in &namespace.workloads {
            refs.workload(&sealed, workload, &KeyPath::root().key("workloads").key(name.clone()));
        }
    }
    refs.errors
}

struct References<'v> {
    values: &'v Values,
    errors: Vec<Error>,
    /// A reference inherited from defaults is reported once, where it is written.
    seen: BTreeSet<(String, String)>,
}

impl References<'_> {
    fn workload(&mut self, sealed: &Sealed<'_>, scope: &Scoped<Workload>, shown: &KeyPath) {
        let workload = &scope.typed;
        for (env, reference) in workload.secret_env.iter().flatten() {
            let entry = KeyPath::root().key("secretEnv").key(env.clone());
            let Some(keys) = self.secret(sealed, scope, shown, &entry, reference.secret.as_ref()) else { continue };
            let secret = reference.secret.as_deref().unwrap_or_default();
            let path = entry.key("key");
            match &reference.key {
                None => self.add(
                    scope,
                    shown,
                    &path,
                    "secret reference without `key`".into(),
                    format!("name the key to read: {}", key_list(secret, keys)),
                ),
                Some(key) if !keys.contains(key.as_str()) => {
                    let help = match did_you_mean(key, keys.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`? {}", key_list(secret, keys)),
                        None => format!(
                            "{}; seal a new key under `secrets.{secret}.encryptedData` (see README, Secrets)",
                            key_list(secret, keys)
                        ),
                    };
                    self.add(scope, shown, &path, format!("secret `{secret}` has no key `{key}`"), help);
                }
                Some(_) => {}
            }
        }
        for (index, mount) in workload.secret_mounts.iter().flatten().enumerate() {
            let entry = KeyPath::root().key("secretMounts").index(index);
            let keys = self.secret(sealed, scope, shown, &entry, mount.secret.as_ref());
            // A mount of one key (a subPath) needs that key, as `secretEnv` does.
            if let (Some(keys), Some(key), Some(secret)) = (keys, &mount.key, &mount.secret) {
                if !keys.contains(key.as_str()) {
                    let path = entry.key("key");
                    let help = format!(
                        "{}; seal it under `secrets.{secret}.encryptedData` (see README, Secrets)",
                        key_list(secret, keys)
                    );
                    self.add(scope, shown, &path, format!("secret `{secret}` has no key `{key}`"), help);
                }
            }
        }
    }

    /// Checks the `secret:` of the reference at `entry`; the declared
    /// secret's keys when it names one.
    fn secret<'s>(
        &mut self,
        sealed: &'s Sealed<'_>,
        scope: &Scoped<Workload>,
        shown: &KeyPath,
        entry: &KeyPath,
        secret: Option<&String>,
    ) -> Option<&'s BTreeSet<&'s str>> {
        // Point at the `secret:` key itself, or at its entry when it is absent.
        let path = entry.key("secret");
        let Some(secret) = secret else {
            self.add(scope, shown, &path, "secret reference without `secret`".into(), String::new());
            return None;
        };
        let keys = sealed.get(secret.as_str());
        if keys.is_none() {
            let help = did_you_mean(secret, sealed.keys().copied())
                .map(|close| format!("did you mean `{close}`?"))
                .unwrap_or_else(|| "declare it under `secrets:` in this namespace file".into());
            self.add(scope, shown, &path, format!("reference to undeclared secret `{secret}`"), help);
        }
        keys
    }

    fn add(&mut self, scope: &Scoped<Workload>, shown: &KeyPath, path: &KeyPath, message: String, help: String) {
        let location = scope.locate(path);
        if self.seen.insert((location.to_string(), message.clone())) {
            let key_path = written_path(self.values, &location, shown, path);
            self.errors.push(Error::Values {
                location,
                key_path: key_path.to_string(),
                message,
                help: (!help.is_empty()).then_some(help),
            });
        }
    }
}

/// The key path of `path` (relative to the workload at `own`) as written
/// where `location` points: the workload's own entry, or the namespace's or
/// the cluster's `defaults.workload` it inherits the key from.
fn written_path(values: &Values, location: &Location, own: &KeyPath, path: &KeyPath) -> KeyPath {
    let defaults = KeyPath::parse("defaults.workload");
    let at = Some((location.line, location.column));
    let file = values.files.iter().find(|file| file.path == location.path);
    // A missing key is located at its nearest written parent.
    let written = |prefix: &KeyPath| {
        (0..=path.0.len()).rev().any(|length| {
            let parent = KeyPath(path.0.get(..length).unwrap_or_default().to_vec());
            file.is_some_and(|file| file.positions.get(&prefix.join(&parent)) == at)
        })
    };
    let prefix = if !written(own) && written(&defaults) { &defaults } else { own };
    prefix.join(path)
}

fn key_list(secret: &str, keys: &BTreeSet<&str>) -> String {
    if keys.is_empty() {
        format!("secret `{secret}` has no keys")
    } else {
        format!("secret `{secret}` has keys {}", join(keys.iter()))
    }
}
