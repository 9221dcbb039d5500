//! The data each template scope sees. Contexts are built from kiln's typed
//! effective values (so templates see the documented schema, not file
//! layout), with unset keys left out so Tera's `default` and `is defined` work.
//!
//! | scope     | variables                                                  |
//! |-----------|------------------------------------------------------------|
//! | cluster   | `cluster`, `nodes`, `namespaces` (with their `workloads`)  |
//! | node      | `cluster`, `nodes`, `namespace_names`, `node`              |
//! | namespace | `cluster`, `nodes`, `namespace_names`, `namespace` (with `workloads`) |
//! | workload  | `cluster`, `nodes`, `namespace_names`, `namespace`, `workload` |

use serde::Serialize;
use serde_json::{Map, Value};

use crate::values::{NamespaceValues, Values};

/// Shared, pre-serialized parts of every context.
pub struct Contexts {
    pub cluster: Value,
    pub nodes: Value,
    pub namespace_names: Value,
    /// Every namespace with its `workloads`, as cluster and namespace templates see it.
    pub namespaces: Value,
    /// Every namespace without `workloads`, as workload templates see it: a
    /// workload's context then costs the same however many siblings it has.
    pub bare_namespaces: Map<String, Value>,
    /// `cluster`, `nodes` and `namespace_names`, converted to Tera's form once;
    /// cloning it per instance is cheaper than serializing them again.
    base: tera::Context,
}

impl Contexts {
    pub fn new(values: &Values) -> Self {
        let mut cluster = json(&values.cluster.typed);
        set_default_name(&mut cluster, values.cluster.typed.name.as_deref().unwrap_or_default());
        let nodes = values
            .nodes
            .iter()
            .map(|(name, node)| {
                let mut value = json(&node.typed);
                set_default_name(&mut value, name);
                (name.clone(), value)
            })
            .collect::<Map<_, _>>();
        let bare_namespaces: Map<String, Value> =
            values.namespaces.iter().map(|(name, ns)| (name.clone(), namespace_value(name, ns))).collect();
        let namespaces = values
            .namespaces
            .iter()
            .map(|(name, ns)| {
                let mut value = bare_namespaces[name].clone();
                if let Some(map) = value.as_object_mut() {
                    map.insert("workloads".into(), workloads_value(ns));
                }
                (name.clone(), value)
            })
            .collect::<Map<_, _>>();
        let namespace_names = Value::Array(values.namespaces.keys().cloned().map(Value::String).collect());
        let nodes = Value::Object(nodes);
        let mut base = tera::Context::new();
        base.insert("cluster", &cluster);
        base.insert("nodes", &nodes);
        base.insert("namespace_names", &namespace_names);
        Contexts { cluster, nodes, namespace_names, namespaces: Value::Object(namespaces), bare_namespaces, base }
    }

    pub fn cluster_scope(&self) -> tera::Context {
        let mut context = tera::Context::new();
        context.insert("cluster", &self.cluster);
        context.insert("nodes", &self.nodes);
        context.insert("namespaces", &self.namespaces);
        context
    }

    fn base(&self) -> tera::Context {
        self.base.clone()
    }

    pub fn node_scope(&self, node: &str) -> tera::Context {
        let mut context = self.base();
        context.insert("node", &self.nodes[node]);
        context
    }

    pub fn namespace_scope(&self, namespace: &str) -> tera::Context {
        let mut context = self.base();
        context.insert("namespace", &self.namespaces[namespace]);
        context
    }

    /// The workload's namespace is given without its `workloads`.
    pub fn workload_scope(&self, namespace: &str, workload: &str) -> tera::Context {
        let mut context = self.base();
        context.insert("namespace", &self.bare_namespaces[namespace]);
        context.insert("workload", &self.namespaces[namespace]["workloads"][workload]);
        context
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

/// The effective values of a namespace's workloads, by name.
fn workloads_value(ns: &NamespaceValues) -> Value {
    let workloads = ns
        .workloads
        .iter()
        .map(|(workload_name, workload)| {
            let mut value = json(&workload.typed);
            set_default_name(&mut value, workload_name);
            (workload_name.clone(), value)
        })
        .collect::<Map<_, _>>();
    Value::Object(workloads)
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
