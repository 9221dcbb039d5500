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
//! | workload  | `namespace` (without `workloads`), `workload`          |

use serde::Serialize;
use serde_json::{Map, Value};

use crate::values::{NamespaceValues, Values};

/// Builds each scope's context. Shared variables are inserted once into a
/// single Tera context that is reused for every render; only the variables of
/// the scope at hand are swapped, so 10,000 workloads do not copy the cluster
/// values 10,000 times. Each rendering thread works on its own clone.
#[derive(Clone)]
pub struct Contexts {
    context: tera::Context,
    nodes: Map<String, Value>,
    namespaces: Map<String, Value>,
    /// Namespaces without their `workloads`, for workload scope.
    bare_namespaces: Map<String, Value>,
}

impl Contexts {
    pub fn new(values: &Values) -> Self {
        let mut cluster = json(&values.cluster.typed);
        set_default_name(&mut cluster, values.cluster.typed.name.as_deref().unwrap_or_default());
        let nodes = values.nodes.iter().map(|(name, node)| named(name, &node.typed)).collect::<Map<_, _>>();
        let namespaces = values
            .namespaces
            .iter()
            .map(|(name, ns)| (name.clone(), namespace_value(name, ns, true)))
            .collect::<Map<_, _>>();
        let bare_namespaces =
            values.namespaces.iter().map(|(name, ns)| (name.clone(), namespace_value(name, ns, false))).collect();
        let namespace_names: Vec<&String> = values.namespaces.keys().collect();
        let mut context = tera::Context::new();
        context.insert("cluster", &cluster);
        context.insert("nodes", &nodes);
        context.insert("namespace_names", &namespace_names);
        Contexts { context, nodes, namespaces, bare_namespaces }
    }

    fn reset(&mut self) -> &mut tera::Context {
        for key in ["namespaces", "node", "namespace", "workload"] {
            self.context.remove(key);
        }
        &mut self.context
    }

    pub fn cluster_scope(&mut self) -> &tera::Context {
        let namespaces = Value::Object(self.namespaces.clone());
        let context = self.reset();
        context.insert("namespaces", &namespaces);
        context
    }

    pub fn node_scope(&mut self, node: &str) -> &tera::Context {
        let value = self.nodes[node].clone();
        let context = self.reset();
        context.insert("node", &value);
        context
    }

    pub fn namespace_scope(&mut self, namespace: &str) -> &tera::Context {
        let value = self.namespaces[namespace].clone();
        let context = self.reset();
        context.insert("namespace", &value);
        context
    }

    pub fn workload_scope(&mut self, namespace: &str, workload: &str) -> &tera::Context {
        let bare = self.bare_namespaces[namespace].clone();
        let workload = self.namespaces[namespace]["workloads"][workload].clone();
        let context = self.reset();
        context.insert("namespace", &bare);
        context.insert("workload", &workload);
        context
    }
}

fn namespace_value(name: &str, ns: &NamespaceValues, with_workloads: bool) -> Value {
    let mut value = json(&ns.namespace.typed);
    set_default_name(&mut value, name);
    if let Some(map) = value.as_object_mut() {
        map.remove("defaults");
        map.remove("workloads");
        if with_workloads {
            let workloads =
                ns.workloads.iter().map(|(workload_name, workload)| named(workload_name, &workload.typed)).collect();
            map.insert("workloads".into(), Value::Object(workloads));
        }
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
    strip_nulls(serde_json::to_value(typed).unwrap_or(Value::Null))
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}
