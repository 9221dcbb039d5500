//! One side of a comparison: every object (by identity) and plain file (by
//! path) that a revision renders to, or that its committed `rendered/` tree
//! holds. kiln's `# Source:` / `# Values:` header is split off, so moving an
//! object to another template is not mistaken for a change of the object.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use crate::build::Build;
use crate::output::bookkeeping::is_bookkeeping;
use crate::output::object::Identity;
use crate::output::tree::{parse_sums, SUMS_FILE};

/// What items are paired by: objects by identity, plain files by path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Object(Identity),
    File(String),
}

#[derive(Debug, Clone)]
pub struct Item {
    /// Path below `rendered/`.
    pub path: String,
    /// The template named in the file's `# Source:` header, if it has one.
    pub source: Option<String>,
    /// The file's text without kiln's header.
    pub body: String,
    /// The parsed object (`None` for plain files).
    pub value: Option<Value>,
}

#[derive(Debug, Default)]
pub struct Side {
    pub items: BTreeMap<Key, Item>,
}

impl Side {
    /// The objects and files of an in-memory render.
    pub fn from_build(build: Build) -> Side {
        let mut values: BTreeMap<Identity, Value> =
            build.objects.into_iter().map(|object| (object.identity, object.value)).collect();
        let mut items = BTreeMap::new();
        for (path, entry) in build.tree.files {
            if is_bookkeeping(&path) {
                continue;
            }
            let (source, body) = split_header(&String::from_utf8_lossy(&entry.bytes));
            let (key, value) = match entry.object {
                Some(identity) => {
                    let value = values.remove(&identity);
                    (Key::Object(identity), value)
                }
                None => (Key::File(path.clone()), None),
            };
            items.insert(key, Item { path, source, body, value });
        }
        Side { items }
    }

    /// The objects and files of a committed `rendered/` tree (path below
    /// `rendered/` → bytes). When the tree has a SHA256SUMS, only the files it
    /// lists are kiln's and compared.
    pub fn from_rendered(files: &BTreeMap<String, Vec<u8>>) -> Side {
        let owned: Option<BTreeSet<String>> = files
            .get(SUMS_FILE)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(parse_sums)
            .map(|sums| sums.into_keys().collect());
        let mut items = BTreeMap::new();
        for (path, bytes) in files {
            if is_bookkeeping(path) || owned.as_ref().is_some_and(|owned| !owned.contains(path)) {
                continue;
            }
            let (source, body) = split_header(&String::from_utf8_lossy(bytes));
            let object = if path.ends_with(".yaml") || path.ends_with(".yml") { parse_object(&body) } else { None };
            let (key, value) = match object {
                Some((identity, value)) if !items.contains_key(&Key::Object(identity.clone())) => {
                    (Key::Object(identity), Some(value))
                }
                _ => (Key::File(path.clone()), None),
            };
            items.insert(key, Item { path: path.clone(), source, body, value });
        }
        Side { items }
    }
}

/// Splits kiln's two header lines (after a shebang, if any) off a rendered
/// file and returns the template they name and the rest of the text.
pub fn split_header(text: &str) -> (Option<String>, String) {
    let (shebang, rest) = match text.strip_prefix("#!") {
        Some(_) => text.split_once('\n').map_or((text, ""), |(first, rest)| (first, rest)),
        None => ("", text),
    };
    let mut lines = rest.splitn(3, '\n');
    let (Some(source), Some(values)) = (lines.next(), lines.next()) else {
        return (None, text.to_string());
    };
    let (Some(template), true) = (source.strip_prefix("# Source: "), values.starts_with("# Values: ")) else {
        return (None, text.to_string());
    };
    let body = lines.next().unwrap_or_default();
    let body = if shebang.is_empty() { body.to_string() } else { format!("{shebang}\n{body}") };
    (Some(template.to_string()), body)
}

/// A committed file that holds one Kubernetes object: its identity and value.
fn parse_object(text: &str) -> Option<(Identity, Value)> {
    let value: Value = serde_yaml::from_str(text).ok()?;
    let string = |node: Option<&Value>| node.and_then(Value::as_str).map(str::to_string);
    let api_version = string(value.get("apiVersion"))?;
    let kind = string(value.get("kind"))?;
    let metadata = value.get("metadata");
    let name = string(metadata.and_then(|m| m.get("name")))?;
    let namespace = string(metadata.and_then(|m| m.get("namespace")));
    let group = api_version.rsplit_once('/').map_or(String::new(), |(group, _)| group.to_string());
    Some((Identity { group, kind, namespace, name }, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_split_off_after_a_shebang() {
        let (source, body) = split_header("#!/bin/sh\n# Source: templates/a.sh\n# Values: values/x.yaml\necho hi\n");
        assert_eq!(source.as_deref(), Some("templates/a.sh"));
        assert_eq!(body, "#!/bin/sh\necho hi\n");
        let (source, body) = split_header("# Source: t.yaml\n# Values: v.yaml\napiVersion: v1\n");
        assert_eq!(source.as_deref(), Some("t.yaml"));
        assert_eq!(body, "apiVersion: v1\n");
        assert_eq!(split_header("{\"a\": 1}\n"), (None, "{\"a\": 1}\n".to_string()));
    }

    #[test]
    fn committed_tree_compares_only_files_listed_in_sha256sums() {
        let mut files = BTreeMap::new();
        files.insert(
            "namespaces/a/configmap-x.yaml".to_string(),
            b"# Source: t\n# Values: v\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: a\n"
                .to_vec(),
        );
        files.insert("nodes/n1/config.yaml".to_string(), b"token-file: /x\n".to_vec());
        files.insert("notes.txt".to_string(), b"not kiln's".to_vec());
        files.insert(SUMS_FILE.to_string(), b"00  namespaces/a/configmap-x.yaml\n00  nodes/n1/config.yaml\n".to_vec());
        let side = Side::from_rendered(&files);
        let keys: Vec<&Key> = side.items.keys().collect();
        let identity =
            Identity { group: String::new(), kind: "ConfigMap".into(), namespace: Some("a".into()), name: "x".into() };
        assert_eq!(keys, [&Key::Object(identity), &Key::File("nodes/n1/config.yaml".into())]);
    }
}
