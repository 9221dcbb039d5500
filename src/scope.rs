//! Scope references: which instance of a values scope (the cluster, a node, a
//! namespace, a workload) something was rendered for. Created where render
//! instantiates scopes and carried by every rendered object, so a check can
//! find the values that produced an object — and their lines — without
//! parsing labels back.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::diagnostic::Location;
use crate::values::key_path::KeyPath;
use crate::values::Values;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeRef {
    Cluster,
    Node(String),
    Namespace(String),
    Workload { namespace: String, name: String },
}

impl ScopeRef {
    /// The node of a node scope.
    pub fn node(&self) -> Option<&str> {
        match self {
            ScopeRef::Node(name) => Some(name),
            _ => None,
        }
    }

    /// The namespace of a namespace or workload scope.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            ScopeRef::Namespace(namespace) | ScopeRef::Workload { namespace, .. } => Some(namespace),
            _ => None,
        }
    }

    /// The namespace and name of a workload scope.
    pub fn workload(&self) -> Option<(&str, &str)> {
        match self {
            ScopeRef::Workload { namespace, name } => Some((namespace, name)),
            _ => None,
        }
    }

    /// Where `key` (a path inside the scope's own values, e.g. `image`) is
    /// set for this scope: the layer that set it, with the key path as
    /// written there (`defaults.workload.image` in values/cluster.yaml, or
    /// `workloads.web.image`). When no layer sets it, the scope's own key
    /// (`workloads.<name>` for a workload, the top of its file otherwise), so
    /// every finding lands on a values line.
    pub fn locate(&self, values: &Values, key: &KeyPath) -> Option<Located> {
        let (origins, files, prefixes, own) = match self {
            ScopeRef::Cluster => (&values.cluster.origins, &values.cluster.files, vec![KeyPath::root()], None),
            ScopeRef::Node(name) => {
                let node = values.nodes.get(name)?;
                (&node.origins, &node.files, vec![KeyPath::root()], None)
            }
            ScopeRef::Namespace(name) => {
                let namespace = &values.namespaces.get(name)?.namespace;
                let prefixes = vec![KeyPath::root(), KeyPath::parse("defaults.namespace")];
                (&namespace.origins, &namespace.files, prefixes, None)
            }
            ScopeRef::Workload { namespace, name } => {
                let workload = values.namespaces.get(namespace)?.workloads.get(name)?;
                let own = KeyPath::root().key("workloads").key(name.clone());
                let prefixes = vec![own.clone(), KeyPath::parse("defaults.workload")];
                (&workload.origins, &workload.files, prefixes, Some(own))
            }
        };
        let file = files.last().map_or_else(|| Path::new("values").to_path_buf(), Clone::clone);
        let own_at = own.map(|own| (values.position(&file, &own).unwrap_or_else(|| Location::file(&file)), own));
        let Some(at) = origins.locate(key).filter(|_| !key.0.is_empty()) else {
            return Some(match own_at {
                Some((at, key)) => Located { at, key, own: None },
                None => Located { at: Location::file(&file), key: KeyPath::root(), own: None },
            });
        };
        // The key as written in the layer that set it: the first prefix and
        // ancestor of `key` whose position is the origin's.
        let written = prefixes
            .iter()
            .flat_map(|prefix| (0..=key.0.len()).rev().map(move |length| (prefix, length)))
            .filter_map(|(prefix, length)| Some(prefix.join(&KeyPath(key.0.get(..length)?.to_vec()))))
            .find(|candidate| values.position(&at.path, candidate).as_ref() == Some(at));
        let key = written.unwrap_or_else(|| key.clone());
        // Set by a default: say which workload it is about, too.
        let own = own_at.filter(|(_, own)| !key.starts_with(own));
        Some(Located { at: at.clone(), key, own })
    }
}

/// Where a scope's key is set ([`ScopeRef::locate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub at: Location,
    /// The key path as written at `at`.
    pub key: KeyPath,
    /// The scope's own key, when `at` is a default outside it.
    pub own: Option<(Location, KeyPath)>,
}

impl fmt::Display for ScopeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeRef::Cluster => write!(f, "the cluster"),
            ScopeRef::Node(name) => write!(f, "node {name}"),
            ScopeRef::Namespace(name) => write!(f, "namespace {name}"),
            ScopeRef::Workload { namespace, name } => write!(f, "workload {namespace}/{name}"),
        }
    }
}

impl std::str::FromStr for ScopeRef {
    type Err = String;

    /// Reads the form [`Display`](fmt::Display) writes: `the cluster`,
    /// `node <name>`, `namespace <name>`, `workload <namespace>/<name>`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "the cluster" || text == "cluster" {
            return Ok(ScopeRef::Cluster);
        }
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let rest = rest.trim();
        let scope = match (word, rest.split_once('/')) {
            ("node", None) if !rest.is_empty() => ScopeRef::Node(rest.into()),
            ("namespace", None) if !rest.is_empty() => ScopeRef::Namespace(rest.into()),
            ("workload", Some((namespace, name))) if !namespace.is_empty() && !name.is_empty() => {
                ScopeRef::Workload { namespace: namespace.into(), name: name.into() }
            }
            _ => {
                return Err(format!(
                    "`{text}` is not a scope: write `cluster`, `node <name>`, `namespace <name>` or `workload <namespace>/<name>`"
                ))
            }
        };
        Ok(scope)
    }
}

impl Serialize for ScopeRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScopeRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        for scope in [
            ScopeRef::Cluster,
            ScopeRef::Node("mainpc".into()),
            ScopeRef::Namespace("ai-system".into()),
            ScopeRef::Workload { namespace: "ai-system".into(), name: "reasoning".into() },
        ] {
            assert_eq!(scope.to_string().parse::<ScopeRef>(), Ok(scope));
        }
        assert_eq!("cluster".parse::<ScopeRef>(), Ok(ScopeRef::Cluster));
        assert_eq!(
            "workload reasoning".parse::<ScopeRef>(),
            Err("`workload reasoning` is not a scope: write `cluster`, `node <name>`, `namespace <name>` or `workload <namespace>/<name>`".into())
        );
    }
}
