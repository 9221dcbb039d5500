//! The data each template scope sees. Contexts are built from kiln's typed
//! effective values (so templates see the documented schema, not file
//! layout), with unset keys left out so Tera's `default` and `is defined` work.
//!
//! | scope     | variables                                                  |
//! |-----------|------------------------------------------------------------|
//! Every scope sees `cluster`, `nodes` and `namespace_names`, plus:
//!
//! | scope     | variables                                              |
//! |-----------|--------------------------------------------------------|
//! | cluster   | `namespaces` (each with its `workloads`)               |
//! | node      | `node`                                                 |
//! | namespace | `namespace` (with its `workloads`)                     |
//! | workload  | `namespace` (without `workloads`), `workload`, `clients` (the workloads declaring a flow to it, [`super::clients`]), `waits` (the Services it waits for before starting, [`super::waits`]) |

use serde::Serialize;
use serde_json::{Map, Value};

use crate::scope::ScopeRef;
use crate::values::{NamespaceValues, Values};

/// Builds each scope's context. The variables every scope shares are inserted
/// once into a Tera context that each rendering thread keeps (see
/// [`Contexts::shared`]) and reuses for every render; only the variables of
/// the scope at hand are swapped, so 10,000 workloads do not copy the cluster
/// values 10,000 times. `Contexts` itself is read-only and shared by threads.
pub struct Contexts {
    shared: tera::Context,
    nodes: Map<String, Value>,
    namespaces: Map<String, Value>,
    /// Namespaces without their `workloads`, for workload scope.
    bare_namespaces: Map<String, Value>,
    /// Each workload's declared clients, for workload scope.
    clients: super::clients::Clients,
    /// Each workload's waits before start, for workload scope.
    waits: super::waits::Waits,
}

impl Contexts {
    pub fn new(values: &Values) -> Self {
        let mut cluster = json(&values.cluster.typed);
        set_default_name(&mut cluster, values.cluster.typed.name.as_deref().unwrap_or_default());
        let nodes = values.nodes.iter().map(|(name, node)| named(name, &node.typed)).collect::<Map<_, _>>();
        let bare_namespaces: Map<String, Value> =
            values.namespaces.iter().map(|(name, ns)| (name.clone(), namespace_value(name, ns))).collect();
        let namespaces = values
            .namespaces
            .iter()
            .map(|(name, ns)| {
                let mut value = bare_namespaces.get(name).cloned().unwrap_or(Value::Null);
                if let Some(map) = value.as_object_mut() {
                    let workloads = ns.workloads.iter().map(|(workload, values)| named(workload, &values.typed));
                    map.insert("workloads".into(), Value::Object(workloads.collect()));
                }
                (name.clone(), value)
            })
            .collect::<Map<_, _>>();
        let namespace_names: Vec<&String> = values.namespaces.keys().collect();
        let mut shared = tera::Context::new();
        shared.insert("cluster", &cluster);
        shared.insert("nodes", &nodes);
        shared.insert("namespace_names", &namespace_names);
        Contexts {
            shared,
            nodes,
            namespaces,
            bare_namespaces,
            clients: super::clients::index(values),
            waits: super::waits::index(values),
        }
    }

    /// A context holding the variables every scope sees, for one rendering
    /// thread to pass to the `*_scope` methods again and again.
    pub fn shared(&self) -> tera::Context {
        self.shared.clone()
    }

    pub fn cluster_scope<'c>(&self, context: &'c mut tera::Context) -> &'c tera::Context {
        reset(context);
        context.insert("namespaces", &self.namespaces);
        context
    }

    pub fn node_scope<'c>(&self, context: &'c mut tera::Context, node: &str) -> &'c tera::Context {
        reset(context);
        context.insert("node", self.nodes.get(node).unwrap_or(&Value::Null));
        context
    }

    pub fn namespace_scope<'c>(&self, context: &'c mut tera::Context, namespace: &str) -> &'c tera::Context {
        reset(context);
        context.insert("namespace", self.namespaces.get(namespace).unwrap_or(&Value::Null));
        context
    }

    pub fn workload_scope<'c>(
        &self,
        context: &'c mut tera::Context,
        namespace: &str,
        workload_name: &str,
    ) -> &'c tera::Context {
        reset(context);
        context.insert("namespace", self.bare_namespaces.get(namespace).unwrap_or(&Value::Null));
        let workload = self.namespaces.get(namespace).and_then(|ns| ns.get("workloads")?.get(workload_name));
        context.insert("workload", workload.unwrap_or(&Value::Null));
        let key = (namespace.to_string(), workload_name.to_string());
        context.insert("clients", self.clients.get(&key).map_or(&[][..], Vec::as_slice));
        context.insert("waits", self.waits.get(&key).map_or(&[][..], Vec::as_slice));
        context
    }
}

/// The top-level names a template rendering for `scope` sees.
pub fn names(scope: &ScopeRef) -> &'static [&'static str] {
    match scope {
        ScopeRef::Cluster => &["cluster", "nodes", "namespace_names", "namespaces"],
        ScopeRef::Node(_) => &["cluster", "nodes", "namespace_names", "node"],
        ScopeRef::Namespace(_) => &["cluster", "nodes", "namespace_names", "namespace"],
        ScopeRef::Workload { .. } => {
            &["cluster", "nodes", "namespace_names", "namespace", "workload", "clients", "waits"]
        }
    }
}

/// Removes the previous scope's own variables from a reused context.
fn reset(context: &mut tera::Context) {
    for key in ["namespaces", "node", "namespace", "workload", "clients", "waits"] {
        context.remove(key);
    }
}

/// A namespace's values without its defaults and workloads.
fn namespace_value(name: &str, ns: &NamespaceValues) -> Value {
    let mut value = json(&ns.namespace.typed);
    set_default_name(&mut value, name);
    if let Some(map) = value.as_object_mut() {
        map.remove("defaults");
        map.remove("workloads");
    }
    value
}

/// `(name, values)` for a context map, with `name` filled in from the map key.
fn named<T: Serialize>(name: &str, typed: &T) -> (String, Value) {
    let mut value = json(typed);
    set_default_name(&mut value, name);
    (name.to_string(), value)
}

fn set_default_name(value: &mut Value, name: &str) {
    if let Some(map) = value.as_object_mut() {
        map.entry("name").or_insert_with(|| Value::String(name.to_string()));
    }
}

/// Serializes typed values and drops unset (null) keys.
fn json<T: Serialize>(typed: &T) -> Value {
    let mut value = serde_json::to_value(typed).unwrap_or(Value::Null);
    strip_nulls(&mut value);
    value
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, child| !child.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
