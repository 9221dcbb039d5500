//! The loader's own YAML tree: every node keeps the file, line and column it
//! was written at through anchors, merges, `include`, `extends` and
//! interpolation, so the merged project can say where each of its keys came
//! from (the file that won the merge) and errors found late (schema, `:?`
//! variables) can point at the line to edit. Compose's `!reset` and
//! `!override` tags (compose-spec 13-merge.md, "Reset value" and "Replace
//! value") ride on the nodes until the merge applies them.

use std::path::Path;
use std::sync::Arc;

use serde_yaml::{Mapping, Number, Value};

use crate::diagnostic::Location;
use crate::values::key_path::KeyPath;

/// Where a node is written: a mapping value at its key, a list item at the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl At {
    pub fn location(&self) -> Location {
        Location::new(self.file.as_ref(), self.line, self.column)
    }
}

/// The merge tag a node carries (compose-spec 13-merge.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    None,
    /// `!reset`: the key is removed from what it overrides.
    Reset,
    /// `!override`: the value replaces what it overrides instead of merging.
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in written order; keys are unique (the parser refuses duplicates).
    Map(Vec<(String, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub at: At,
    pub tag: Tag,
    /// Variables this value named that were unset, in order (interpolation
    /// replaced each with an empty string).
    pub unresolved: Vec<String>,
}

impl Node {
    pub fn new(kind: Kind, at: At) -> Node {
        Node { kind, at, tag: Tag::None, unresolved: Vec::new() }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(name, _)| name == key).map(|(_, node)| node),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.kind {
            Kind::Map(entries) => entries.iter_mut().find(|(name, _)| name == key).map(|(_, node)| node),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(text) => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    /// Removes `key` from a mapping, returning its node.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let Kind::Map(entries) = &mut self.kind else { return None };
        let index = entries.iter().position(|(name, _)| name == key)?;
        Some(entries.remove(index).1)
    }

    /// Sets `key` in a mapping, replacing its value where it is present.
    pub fn insert(&mut self, key: &str, node: Node) {
        let Kind::Map(entries) = &mut self.kind else { return };
        match entries.iter_mut().find(|(name, _)| name == key) {
            Some((_, existing)) => *existing = node,
            None => entries.push((key.to_string(), node)),
        }
    }

    /// The scalar as text, the way Compose writes a scalar into a
    /// `KEY=VALUE` entry; `None` for null and collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Bool(value) => Some(value.to_string()),
            Kind::Int(value) => Some(value.to_string()),
            Kind::Float(value) => Some(value.to_string()),
            Kind::Str(text) => Some(text.clone()),
            Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
        }
    }

    /// The value as serde_yaml sees it: merge tags gone.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(value) => Value::Bool(*value),
            Kind::Int(value) => Value::Number(Number::from(*value)),
            Kind::Float(value) => Value::Number(Number::from(*value)),
            Kind::Str(text) => Value::String(text.clone()),
            Kind::Seq(items) => Value::Sequence(items.iter().map(Node::to_value).collect()),
            Kind::Map(entries) => Value::Mapping(
                entries.iter().map(|(key, node)| (Value::String(key.clone()), node.to_value())).collect::<Mapping>(),
            ),
        }
    }

    /// The value as JSON, for the schema; non-finite floats (YAML's `.inf`)
    /// have no JSON form and become null, which the schema then refuses
    /// wherever a number is expected.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.kind {
            Kind::Null => Json::Null,
            Kind::Bool(value) => Json::Bool(*value),
            Kind::Int(value) => Json::from(*value),
            Kind::Float(value) => serde_json::Number::from_f64(*value).map_or(Json::Null, Json::Number),
            Kind::Str(text) => Json::String(text.clone()),
            Kind::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => {
                Json::Object(entries.iter().map(|(key, node)| (key.clone(), node.to_json())).collect())
            }
        }
    }

    /// Visits this node and every node below it with its key path from `path`.
    pub fn walk<'a>(&'a self, path: &KeyPath, visit: &mut dyn FnMut(&KeyPath, &'a Node)) {
        visit(path, self);
        match &self.kind {
            Kind::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    item.walk(&path.index(index), visit);
                }
            }
            Kind::Map(entries) => {
                for (key, node) in entries {
                    node.walk(&path.key(key.clone()), visit);
                }
            }
            _ => {}
        }
    }
}
