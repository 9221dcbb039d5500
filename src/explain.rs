//! `kiln explain`: prints the effective values of one scope, one line per
//! value, each with the file and line that set it.

use std::fmt::Write as _;
use std::path::Path;

use serde_yaml::Value;

use crate::input::InputFiles;
use crate::values::key_path::KeyPath;
use crate::values::merge::Origins;
use crate::values::{self, Values};
use crate::{Error, Result};

/// Explains `scope` (`cluster`, `node`, `namespace`, `workload`) named `name`.
pub fn explain(root: &Path, scope: &str, name: Option<&str>) -> Result<String> {
    let values = values::load(&InputFiles::from_dir(root)?, values::Keep::Effective)?;
    let (value, origins) = select(&values, scope, name)?;
    let mut out = String::new();
    walk(value, &KeyPath::root(), origins, &mut out);
    Ok(out.trim_end().to_string())
}

fn select<'v>(values: &'v Values, scope: &str, name: Option<&str>) -> Result<(&'v Value, &'v Origins)> {
    let missing = |what: &str, known: Vec<&str>| Error::Usage {
        message: format!("no {what} `{}`; declared: {}", name.unwrap_or_default(), known.join(", ")),
    };
    match (scope, name) {
        ("cluster", None) => Ok((&values.cluster.value, &values.cluster.origins)),
        ("node", Some(name)) => values
            .nodes
            .get(name)
            .map(|node| (&node.value, &node.origins))
            .ok_or_else(|| missing("node", values.nodes.keys().map(String::as_str).collect())),
        ("namespace", Some(name)) => values
            .namespaces
            .get(name)
            .map(|ns| (&ns.namespace.value, &ns.namespace.origins))
            .ok_or_else(|| missing("namespace", values.namespaces.keys().map(String::as_str).collect())),
        ("workload", Some(qualified)) => {
            let (namespace, workload) = qualified
                .split_once('/')
                .ok_or_else(|| Error::Usage { message: "name a workload as `<namespace>/<workload>`".into() })?;
            values
                .namespaces
                .get(namespace)
                .and_then(|ns| ns.workloads.get(workload))
                .map(|w| (&w.value, &w.origins))
                .ok_or_else(|| {
                    let known = values
                        .namespaces
                        .iter()
                        .flat_map(|(ns, v)| v.workloads.keys().map(move |w| format!("{ns}/{w}")))
                        .collect::<Vec<_>>();
                    Error::Usage { message: format!("no workload `{qualified}`; declared: {}", known.join(", ")) }
                })
        }
        _ => Err(Error::Usage {
            message: "explain takes `cluster`, `node <name>`, `namespace <name>` or `workload <namespace>/<name>`"
                .into(),
        }),
    }
}

fn walk(value: &Value, at: &KeyPath, origins: &Origins, out: &mut String) {
    match value {
        Value::Mapping(map) if !map.is_empty() => {
            for (key, child) in map {
                let key = key
                    .as_str()
                    .map_or_else(|| serde_yaml::to_string(key).unwrap_or_default().trim().to_string(), str::to_string);
                walk(child, &at.key(key), origins, out);
            }
        }
        Value::Sequence(items) if !items.is_empty() => {
            for (index, child) in items.iter().enumerate() {
                walk(child, &at.index(index), origins, out);
            }
        }
        leaf => {
            let text = serde_json::to_string(leaf).unwrap_or_default();
            let origin = origins.locate(at).map(ToString::to_string).unwrap_or_default();
            let _ = writeln!(out, "{at} = {text}    # {origin}");
        }
    }
}
