//! Instance-guided pruning: before compiling, every property subschema that
//! no rendered object uses is replaced by `true`, and definitions that become
//! unreachable are dropped. A property schema only ever applies to a value
//! that is present, so validation results are unchanged — but the compiler no
//! longer builds the hundreds of PodSpec, volume-source and Argo CD status
//! definitions the cluster never uses. Property names stay declared, so
//! unknown fields are still reported (with "did you mean").

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value as Json;

/// Which document a schema node lives in, to resolve local `$ref`s: a kind
/// document (by name) or the shared definitions.
#[derive(Clone, Copy)]
enum Doc<'a> {
    Kind(&'a str),
    Definitions,
}

/// Property subschemas some object uses, by address: marking and pruning
/// run over the same, unmoved schema values, so the address identifies the
/// node without building a JSON pointer for every field of every object.
#[derive(Default)]
pub struct Usage {
    used: HashSet<usize>,
}

fn address(node: &Json) -> usize {
    node as *const Json as usize
}

impl Usage {
    /// Marks what `instance`, an object of the kind documented as `name`, uses.
    pub fn mark(&mut self, documents: &BTreeMap<String, Json>, definitions: &Json, name: &str, instance: &Json) {
        if let Some(schema) = documents.get(name) {
            let walker = Walker { documents, definitions };
            walker.walk(self, Doc::Kind(name), schema, instance);
        }
    }
}

struct Walker<'a> {
    documents: &'a BTreeMap<String, Json>,
    definitions: &'a Json,
}

impl<'a> Walker<'a> {
    fn walk(&self, usage: &mut Usage, doc: Doc<'a>, schema: &'a Json, instance: &Json) {
        let Json::Object(node) = schema else { return };
        if let Some(reference) = node.get("$ref").and_then(Json::as_str) {
            if let Some((target_doc, target)) = self.resolve(doc, reference) {
                self.walk(usage, target_doc, target, instance);
            }
        }
        for combinator in ["allOf", "anyOf", "oneOf"] {
            if let Some(Json::Array(branches)) = node.get(combinator) {
                for branch in branches {
                    self.walk(usage, doc, branch, instance);
                }
            }
        }
        match instance {
            Json::Object(fields) => {
                let properties = node.get("properties").and_then(Json::as_object);
                for (field, value) in fields {
                    if let Some(child) = properties.and_then(|properties| properties.get(field)) {
                        usage.used.insert(address(child));
                        self.walk(usage, doc, child, value);
                    } else if let Some(additional @ Json::Object(_)) = node.get("additionalProperties") {
                        self.walk(usage, doc, additional, value);
                    }
                }
            }
            Json::Array(items) => {
                if let Some(schema @ Json::Object(_)) = node.get("items") {
                    for item in items {
                        self.walk(usage, doc, schema, item);
                    }
                }
            }
            _ => {}
        }
    }

    fn resolve(&self, doc: Doc<'a>, reference: &str) -> Option<(Doc<'a>, &'a Json)> {
        let (base, pointer) = reference.split_once('#')?;
        let (target_doc, document) = if base.ends_with("_definitions.json") {
            (Doc::Definitions, self.definitions)
        } else if base.is_empty() {
            match doc {
                Doc::Kind(name) => (doc, self.documents.get(name)?),
                Doc::Definitions => (doc, self.definitions),
            }
        } else {
            return None;
        };
        Some((target_doc, if pointer.is_empty() { document } else { document.pointer(pointer)? }))
    }
}

/// Replaces unused property subschemas by `true` and drops unreachable definitions.
pub fn prune(documents: &mut BTreeMap<String, Json>, definitions: &mut Json, usage: &Usage) {
    for schema in documents.values_mut() {
        prune_node(schema, usage);
    }
    if let Some(Json::Object(defs)) = definitions.get_mut("$defs") {
        for schema in defs.values_mut() {
            prune_node(schema, usage);
        }
    }
    let mut reachable = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    for schema in documents.values() {
        collect_refs(schema, &mut pending);
    }
    while let Some(name) = pending.pop() {
        if reachable.insert(name.clone()) {
            if let Some(schema) = definitions.get("$defs").and_then(|defs| defs.get(&name)) {
                collect_refs(schema, &mut pending);
            }
        }
    }
    if let Some(Json::Object(defs)) = definitions.get_mut("$defs") {
        defs.retain(|name, _| reachable.contains(name));
    }
}

fn prune_node(node: &mut Json, usage: &Usage) {
    let Json::Object(map) = node else { return };
    if let Some(Json::Object(properties)) = map.get_mut("properties") {
        for child in properties.values_mut() {
            if usage.used.contains(&address(child)) {
                prune_node(child, usage);
            } else {
                *child = Json::Bool(true);
            }
        }
    }
    for key in ["additionalProperties", "items"] {
        if let Some(child) = map.get_mut(key) {
            prune_node(child, usage);
        }
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(Json::Array(branches)) = map.get_mut(combinator) {
            branches.iter_mut().for_each(|branch| prune_node(branch, usage));
        }
    }
}

/// Names of the shared definitions a schema references.
fn collect_refs(node: &Json, out: &mut Vec<String>) {
    match node {
        Json::Object(map) => {
            for (key, value) in map {
                if key == "$ref" {
                    if let Some(name) = value.as_str().and_then(|r| r.split_once("#/$defs/")).map(|(_, name)| name) {
                        out.push(name.replace("~1", "/").replace("~0", "~"));
                    }
                } else {
                    collect_refs(value, out);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unused_properties_and_definitions_go() {
        let mut documents = BTreeMap::new();
        documents.insert(
            "k".to_string(),
            json!({"properties": {"spec": {"$ref": "/api/_definitions.json#/$defs/Spec"}, "status": {"$ref": "/api/_definitions.json#/$defs/Status"}}}),
        );
        let mut definitions = json!({"$defs": {
            "Spec": {"properties": {"a": {"type": "string"}, "b": {"$ref": "#/$defs/B"}}, "additionalProperties": false},
            "B": {"type": "object"},
            "Status": {"type": "object"}
        }});
        let mut usage = Usage::default();
        usage.mark(&documents, &definitions, "k", &json!({"spec": {"a": 1}}));
        prune(&mut documents, &mut definitions, &usage);
        assert_eq!(documents["k"]["properties"]["status"], json!(true));
        assert_eq!(definitions["$defs"]["Spec"]["properties"]["a"], json!({"type": "string"}));
        assert_eq!(definitions["$defs"]["Spec"]["properties"]["b"], json!(true));
        assert_eq!(definitions["$defs"]["Spec"]["additionalProperties"], json!(false));
        assert!(definitions["$defs"].get("B").is_none());
        assert!(definitions["$defs"].get("Status").is_none());
    }
}
