//! The loss report: every compose key that was not mapped exactly, and what
//! the operator must seal. Its JSON form (`--report FILE`) is a documented
//! contract (docs/import-compose.md, "The report"); a short form goes to
//! stderr.
//!
//! Three statuses: `approximated` (mapped, but not to the same behaviour),
//! `dropped` (not mapped, with the reason and what would be needed) and
//! `note` (nothing lost, but worth knowing, such as ignored `x-*`
//! extensions). The exit code is 1 when there is an approximation, a drop or
//! a value to seal, else 0.

use serde::Serialize;

use crate::diagnostic::{display_path, Location};
use crate::values::key_path::KeyPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Approximated,
    Dropped,
    Note,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Approximated => "approximated",
            Status::Dropped => "dropped",
            Status::Note => "note",
        }
    }
}

/// One compose key that did not map exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The service, empty for top-level keys.
    pub service: String,
    /// The compose key path from the project root, e.g. `services.llm.ports[0]`.
    pub key: String,
    pub status: Status,
    pub message: String,
    /// Where the key is written, when the loader knows.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "location_json")]
    pub location: Option<Location>,
}

/// One value the operator must seal: it was a plaintext credential in the
/// compose project and is now a placeholder in values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToSeal {
    pub namespace: String,
    pub secret: String,
    pub key: String,
    /// Where the value came from: `services.db.environment.POSTGRES_PASSWORD`
    /// or `secrets.db_password`.
    pub from: String,
    /// The `kiln seal` command line that seals the real value.
    pub command: String,
}

/// One imported service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub service: String,
    pub namespace: String,
    pub workload: String,
    pub kind: String,
    pub enabled: bool,
    /// `added`, or `replaced` (a workload this importer wrote before).
    pub action: String,
}

/// One values file the import writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    pub path: String,
    /// `created` or `edited`.
    pub action: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub project: String,
    /// `mapped` (exit 0) or `approximated` (exit 1).
    pub outcome: &'static str,
    pub dry_run: bool,
    pub workloads: Vec<Imported>,
    pub entries: Vec<Entry>,
    pub seal: Vec<ToSeal>,
    pub files: Vec<Written>,
}

impl Report {
    pub fn push(&mut self, service: &str, key: &KeyPath, status: Status, message: impl Into<String>) {
        self.entries.push(Entry {
            service: service.to_string(),
            key: key.to_string(),
            status,
            message: message.into(),
            location: None,
        });
    }

    /// Whether everything mapped exactly (exit 0).
    pub fn exact(&self) -> bool {
        self.seal.is_empty() && self.entries.iter().all(|entry| entry.status == Status::Note)
    }

    /// Sorts entries by service and key, and sets the outcome.
    pub fn finish(&mut self) {
        self.entries.sort_by(|a, b| (&a.service, &a.key, a.status).cmp(&(&b.service, &b.key, b.status)));
        self.entries.dedup();
        self.outcome = if self.exact() { "mapped" } else { "approximated" };
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The short form for stderr: what was imported, one line per
    /// approximation or drop, the count of notes, the commands to seal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let namespaces: std::collections::BTreeSet<&str> =
            self.workloads.iter().map(|imported| imported.namespace.as_str()).collect();
        out.push_str(&format!(
            "{} {} service{} of `{}` into {}\n",
            if self.dry_run { "would import" } else { "imported" },
            self.workloads.len(),
            if self.workloads.len() == 1 { "" } else { "s" },
            self.project,
            namespaces.into_iter().collect::<Vec<_>>().join(", ")
        ));
        for entry in self.entries.iter().filter(|entry| entry.status != Status::Note) {
            let at = entry.location.as_ref().map(|location| format!("{location}: ")).unwrap_or_default();
            out.push_str(&format!("{at}{}: {}: {}\n", entry.status.as_str(), entry.key, entry.message));
        }
        let notes = self.entries.iter().filter(|entry| entry.status == Status::Note).count();
        if notes > 0 {
            out.push_str(&format!("{notes} note{} (see --report)\n", if notes == 1 { "" } else { "s" }));
        }
        if !self.seal.is_empty() {
            out.push_str(&format!(
                "{} placeholder value{} to seal with the real one:\n",
                self.seal.len(),
                if self.seal.len() == 1 { "" } else { "s" }
            ));
            for item in &self.seal {
                out.push_str(&format!("  {}\n", item.command));
            }
        }
        out
    }
}

fn location_json<S: serde::Serializer>(location: &Option<Location>, serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Json {
        path: String,
        line: usize,
        column: usize,
    }
    match location {
        Some(location) => Json { path: display_path(&location.path), line: location.line, column: location.column }
            .serialize(serializer),
        None => serializer.serialize_none(),
    }
}
