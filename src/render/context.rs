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
    pub namespaces: Value,
    /// Each namespace without its `workloads`, as workload scopes see it.
    bare_namespaces: Map<String, Value>,
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
        let namespaces = values
            .namespaces
            .iter()
            .map(|(name, ns)| (name.clone(), namespace_value(name, ns, true)))
            .collect::<Map<_, _>>();
        let namespace_names = values.namespaces.keys().cloned().map(Value::String).collect();
        let bare_namespaces =
            values.namespaces.iter().map(|(name, ns)| (name.clone(), namespace_value(name, ns, false))).collect();
        Contexts {
            cluster,
            nodes: Value::Object(nodes),
            namespace_names: Value::Array(namespace_names),
            namespaces: Value::Object(namespaces),
            bare_namespaces,
        }
    }

    pub fn cluster_scope(&self) -> tera::Context {
        let mut context = tera::Context::new();
        context.insert("cluster", &self.cluster);
        context.insert("nodes", &self.nodes);
        context.insert("namespaces", &self.namespaces);
        context
    }

    fn base(&self) -> tera::Context {
        let mut context = tera::Context::new();
        context.insert("cluster", &self.cluster);
        context.insert("nodes", &self.nodes);
        context.insert("namespace_names", &self.namespace_names);
        context
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

    /// The workload's namespace is given without its `workloads`, so a
    /// namespace with many workloads does not cost quadratic time.
    pub fn workload_scope(&self, namespace: &str, workload: &str) -> tera::Context {
        let mut context = self.base();
        context.insert("namespace", &self.bare_namespaces[namespace]);
        context.insert("workload", &self.namespaces[namespace]["workloads"][workload]);
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
            let workloads = ns
                .workloads
                .iter()
                .map(|(workload_name, workload)| {
                    let mut value = json(&workload.typed);
                    set_default_name(&mut value, workload_name);
                    (workload_name.clone(), value)
                })
                .collect::<Map<_, _>>();
            map.insert("workloads".into(), Value::Object(workloads));
        }
    }
    value
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
