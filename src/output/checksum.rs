//! Adds `checksum/configmap-<name>` and `checksum/secret-<name>` annotations
//! to the pod template of every workload that mounts or references a rendered
//! ConfigMap, Secret or SealedSecret, so changing the config rolls the pods.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::{Mapping, Value};

use super::canonical;
use super::object::Object;

use crate::hash;

/// Annotates pod templates in place.
pub fn annotate(objects: &mut [Object]) {
    // Digest only what some pod references: large config nobody mounts (Grafana
    // dashboards) would otherwise cost a canonical serialization each.
    let mut referenced: BTreeSet<(String, &'static str, String)> = BTreeSet::new();
    for object in objects.iter() {
        let (Some(namespace), Some(template)) =
            (&object.identity.namespace, pod_template_ref(&object.value, &object.identity.kind))
        else {
            continue;
        };
        for (kind, name) in references(template.get("spec").unwrap_or(&Value::Null)) {
            referenced.insert((namespace.clone(), kind, name));
        }
    }
    let mut digests: BTreeMap<(String, &'static str, String), String> = BTreeMap::new();
    for object in objects.iter() {
        let Some(namespace) = &object.identity.namespace else {
            continue;
        };
        let kind = match object.identity.kind.as_str() {
            "ConfigMap" => "configmap",
            "Secret" | "SealedSecret" => "secret",
            _ => continue,
        };
        let key = (namespace.clone(), kind, object.identity.name.clone());
        if !referenced.contains(&key) {
            continue;
        }
        let content = match object.identity.kind.as_str() {
            "ConfigMap" => pick(&object.value, &["data", "binaryData"]),
            "Secret" => pick(&object.value, &["data", "stringData", "type"]),
            _ => object.value.get("spec").cloned().unwrap_or(Value::Null),
        };
        let digest = hash::sha256(canonical::to_yaml(&canonical::order(content)).as_bytes());
        digests.insert(key, digest);
    }
    for object in objects.iter_mut() {
        let Some(namespace) = object.identity.namespace.clone() else {
            continue;
        };
        let Some(template) = pod_template(&mut object.value, &object.identity.kind) else {
            continue;
        };
        let references = references(template.get("spec").unwrap_or(&Value::Null));
        let mut annotations = BTreeMap::new();
        for (kind, name) in references {
            if let Some(digest) = digests.get(&(namespace.clone(), kind, name.clone())) {
                annotations.insert(annotation_key(kind, &name), digest.clone());
            }
        }
        if annotations.is_empty() {
            continue;
        }
        let Value::Mapping(template) = template else {
            continue;
        };
        let metadata = template.entry("metadata".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
        let Value::Mapping(metadata) = metadata else {
            continue;
        };
        let existing = metadata.entry("annotations".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
        if let Value::Mapping(existing) = existing {
            for (key, digest) in annotations {
                existing.insert(Value::String(key), Value::String(digest));
            }
        }
    }
}

fn pick(value: &Value, keys: &[&str]) -> Value {
    let mut out = Mapping::new();
    for key in keys {
        if let Some(child) = value.get(*key) {
            out.insert(Value::String((*key).to_string()), child.clone());
        }
    }
    Value::Mapping(out)
}

/// The pod template of a workload kind, if it has one (read-only).
fn pod_template_ref<'v>(value: &'v Value, kind: &str) -> Option<&'v Value> {
    let spec = value.get("spec")?;
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => spec.get("template"),
        "CronJob" => spec.get("jobTemplate")?.get("spec")?.get("template"),
        _ => None,
    }
}

/// The pod template of a workload kind, if it has one.
fn pod_template<'v>(value: &'v mut Value, kind: &str) -> Option<&'v mut Value> {
    let spec = value.get_mut("spec")?;
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => spec.get_mut("template"),
        "CronJob" => spec.get_mut("jobTemplate")?.get_mut("spec")?.get_mut("template"),
        _ => None,
    }
}

/// ConfigMaps and Secrets a pod spec references, by (kind, name).
fn references(pod: &Value) -> BTreeSet<(&'static str, String)> {
    let mut found = BTreeSet::new();
    let mut add = |kind: &'static str, name: Option<&Value>| {
        if let Some(name) = name.and_then(Value::as_str) {
            found.insert((kind, name.to_string()));
        }
    };
    for volume in list(pod, "volumes") {
        add("configmap", volume.get("configMap").and_then(|v| v.get("name")));
        add("secret", volume.get("secret").and_then(|v| v.get("secretName")));
        for source in volume.get("projected").map(|p| list(p, "sources")).unwrap_or_default() {
            add("configmap", source.get("configMap").and_then(|v| v.get("name")));
            add("secret", source.get("secret").and_then(|v| v.get("name")));
        }
    }
    for container in list(pod, "containers").into_iter().chain(list(pod, "initContainers")) {
        for from in list(container, "envFrom") {
            add("configmap", from.get("configMapRef").and_then(|v| v.get("name")));
            add("secret", from.get("secretRef").and_then(|v| v.get("name")));
        }
        for env in list(container, "env") {
            let source = env.get("valueFrom");
            add("configmap", source.and_then(|v| v.get("configMapKeyRef")).and_then(|v| v.get("name")));
            add("secret", source.and_then(|v| v.get("secretKeyRef")).and_then(|v| v.get("name")));
        }
    }
    found
}

fn list<'v>(value: &'v Value, key: &str) -> Vec<&'v Value> {
    value.get(key).and_then(Value::as_sequence).map(|items| items.iter().collect()).unwrap_or_default()
}

/// `checksum/<kind>-<name>`; the name part of an annotation key may hold at
/// most 63 characters, so long names are shortened with a hash suffix. The
/// cut falls on a character boundary: a name kiln refuses later (non-ASCII)
/// must not crash it here first.
fn annotation_key(kind: &str, name: &str) -> String {
    let full = format!("{kind}-{name}");
    if full.len() <= 63 {
        return format!("checksum/{full}");
    }
    let digest = hash::sha256(full.as_bytes());
    let suffix = digest.get(..8).unwrap_or(&digest);
    let cut = (0..=54).rev().find(|&index| full.is_char_boundary(index)).unwrap_or(0);
    format!("checksum/{}-{suffix}", full.get(..cut).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::object::{Identity, Origin};

    fn object(kind: &str, name: &str, yaml: &str) -> Object {
        Object {
            identity: Identity {
                group: String::new(),
                kind: kind.into(),
                namespace: Some("ns".into()),
                name: name.into(),
            },
            value: serde_yaml::from_str(yaml).unwrap(),
            origin: Origin::for_tests(),
        }
    }

    #[test]
    fn annotates_pod_templates_that_reference_config() {
        let mut objects = vec![
            object("ConfigMap", "web-env", "data: {A: '1'}"),
            object(
                "Deployment",
                "web",
                "spec: {template: {spec: {containers: [{name: c, envFrom: [{configMapRef: {name: web-env}}]}]}}}",
            ),
        ];
        annotate(&mut objects);
        let annotations = &objects[1].value["spec"]["template"]["metadata"]["annotations"];
        let digest = annotations["checksum/configmap-web-env"].as_str().unwrap().to_string();
        assert_eq!(digest.len(), 64);

        objects[0].value = serde_yaml::from_str("data: {A: '2'}").unwrap();
        annotate(&mut objects);
        let changed = objects[1].value["spec"]["template"]["metadata"]["annotations"]["checksum/configmap-web-env"]
            .as_str()
            .unwrap();
        assert_ne!(digest, changed, "a config change must change the pod template");
    }

    #[test]
    fn long_names_are_shortened() {
        let key = annotation_key("configmap", &"x".repeat(80));
        assert!(key.len() - "checksum/".len() <= 63, "{key}");
    }

    #[test]
    fn long_non_ascii_names_are_cut_on_a_character_boundary() {
        // "configmap-a" is 11 bytes and each `é` 2, so byte 54 falls inside one.
        let key = annotation_key("configmap", &format!("a{}", "é".repeat(40)));
        assert!(key.starts_with(&format!("checksum/configmap-a{}-", "é".repeat(21))), "{key}");
        assert!(key.len() - "checksum/".len() <= 63, "{key}");
    }
}
