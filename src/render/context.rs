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
    /// The scope instance the context holds now. Templates render one after
    /// another over the same instances, so consecutive cluster templates reuse
    /// the context instead of re-inserting every namespace.
    current: Option<(&'static str, String)>,
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
        Contexts { context, nodes, namespaces, bare_namespaces, current: None }
    }

    /// Whether the context already holds this scope instance; if not, removes
    /// the previous scope's variables and records the new one. The caller then
    /// inserts the scope's values straight from the maps: `insert` serializes
    /// them into the context, so cloning them first would copy them twice.
    fn switch(&mut self, scope: &'static str, instance: String) -> bool {
        let key = Some((scope, instance));
        if self.current == key {
            return false;
        }
        for variable in ["namespaces", "node", "namespace", "workload"] {
            self.context.remove(variable);
        }
        self.current = key;
        true
    }

    pub fn cluster_scope(&mut self) -> &tera::Context {
        if self.switch("cluster", String::new()) {
            self.context.insert("namespaces", &self.namespaces);
        }
        &self.context
    }

    pub fn node_scope(&mut self, node: &str) -> &tera::Context {
        if self.switch("node", node.to_string()) {
            self.context.insert("node", &self.nodes[node]);
        }
        &self.context
    }

    pub fn namespace_scope(&mut self, namespace: &str) -> &tera::Context {
        if self.switch("namespace", namespace.to_string()) {
            self.context.insert("namespace", &self.namespaces[namespace]);
        }
        &self.context
    }

    pub fn workload_scope(&mut self, namespace: &str, workload: &str) -> &tera::Context {
        if self.switch("workload", format!("{namespace}/{workload}")) {
            self.context.insert("namespace", &self.bare_namespaces[namespace]);
            self.context.insert("workload", &self.namespaces[namespace]["workloads"][workload]);
        }
        &self.context
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
