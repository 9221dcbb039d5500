//! One service being mapped: its definition, which of its keys the rules
//! have read, and the report entries about it. Whatever no rule read is
//! reported as dropped at the end (`unread`), so no key is lost silently.

use std::collections::BTreeSet;

use serde_yaml::{Mapping, Value};

use super::report::{Entry, Report, Status};
use crate::import::compose::project::{Project, Service};
use crate::values::key_path::KeyPath;
use crate::Error;

/// Mappings whose own keys are tracked one by one: an unknown key below
/// them is reported by its full path, not hidden by its parent.
const NESTED: [&str; 4] = ["deploy", "deploy.resources", "deploy.resources.limits", "deploy.resources.reservations"];

pub struct Ctx<'a> {
    pub project: &'a Project,
    pub service: &'a Service,
    read: BTreeSet<String>,
    pub entries: Vec<Entry>,
}

impl<'a> Ctx<'a> {
    pub fn new(project: &'a Project, service: &'a Service) -> Self {
        Ctx { project, service, read: BTreeSet::new(), entries: Vec::new() }
    }

    pub fn name(&self) -> &str {
        &self.service.name
    }

    /// The value at dotted `path` (`deploy.resources.limits`), marked read.
    pub fn take(&mut self, path: &str) -> Option<&'a Value> {
        let value = lookup(&self.service.definition, path)?;
        self.read.insert(path.to_string());
        Some(value)
    }

    /// The value at `path` without marking it read.
    pub fn peek(&self, path: &str) -> Option<&'a Value> {
        lookup(&self.service.definition, path)
    }

    /// The key path of `relative` (`ports[0]`) from the project root.
    pub fn key(&self, relative: &str) -> KeyPath {
        let service = KeyPath::root().key("services").key(self.service.name.clone());
        if relative.is_empty() {
            return service;
        }
        service.join(&KeyPath::parse(relative))
    }

    pub fn report(&mut self, relative: &str, status: Status, message: impl Into<String>) {
        let key = self.key(relative);
        self.entries.push(Entry {
            service: self.service.name.clone(),
            location: self.project.locate(&key).cloned(),
            key: key.to_string(),
            status,
            message: message.into(),
        });
    }

    /// An input error at `relative`: exit 2 with the file, line and key.
    pub fn invalid(&self, relative: &str, message: impl Into<String>, help: impl Into<String>) -> Error {
        let key = self.key(relative);
        Error::Values {
            location: self.project.locate(&key).cloned().unwrap_or_else(|| {
                crate::diagnostic::Location::file(self.project.directory.join("compose.yaml").as_path())
            }),
            key_path: key.to_string(),
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// Reports every key no rule read, then hands the entries over.
    pub fn finish(mut self, report: &mut Report) {
        let mut unread = Vec::new();
        collect_unread(&self.service.definition, "", &self.read, &mut unread);
        for path in unread {
            if path.starts_with("x-") {
                self.report(&path, Status::Note, "extension ignored (only `x-kiln` is read)");
            } else {
                self.report(&path, Status::Dropped, "kiln has no equivalent for this key");
            }
        }
        report.entries.extend(self.entries);
    }
}

fn collect_unread(map: &Mapping, prefix: &str, read: &BTreeSet<String>, out: &mut Vec<String>) {
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
        match value {
            Value::Mapping(inner) if NESTED.contains(&path.as_str()) => collect_unread(inner, &path, read, out),
            _ if read.contains(&path) => {}
            _ => out.push(path),
        }
    }
}

/// The value at a dotted path of mapping keys.
pub fn lookup<'v>(map: &'v Mapping, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.as_mapping()?.get(part)?;
    }
    Some(value)
}

/// A scalar as text (numbers and booleans as written), `None` otherwise.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
