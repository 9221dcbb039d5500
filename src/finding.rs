//! Findings: what `validate` and `plan` report about rendered objects. Each
//! names the rendered file, the object, the field path and the template and
//! values that produced it, and prints grouped by file or as JSON.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::build::Build;
use crate::diagnostic::display_path;
use crate::output::object::{Identity, Object};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem, located as precisely as kiln can. It also deserializes:
/// `rendered/kiln.lock` records the findings of the render that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `schema` for schema violations, otherwise the stable policy or plan ID.
    pub id: String,
    pub severity: Severity,
    /// `rendered/...` for object findings, the values file for values findings.
    pub file: String,
    /// `Kind namespace/name`, when the finding is about one object.
    pub object: Option<String>,
    /// Field path inside the object (`spec.template.spec.containers[0].image`) or values key path.
    pub path: String,
    pub message: String,
    pub help: Option<String>,
    /// Template and scope that rendered the object.
    pub template: Option<String>,
    /// Values files the object's scope was layered from.
    pub values: Vec<String>,
}

/// Where findings about rendered objects point: the object's file and origin.
pub struct Locator<'b> {
    files: HashMap<&'b Identity, &'b str>,
}

impl<'b> Locator<'b> {
    pub fn new(build: &'b Build) -> Self {
        let files = build
            .tree
            .files
            .iter()
            .filter_map(|(path, entry)| entry.object.as_ref().map(|identity| (identity, path.as_str())))
            .collect();
        Locator { files }
    }

    /// A finding about `object` at field `path`.
    pub fn finding(
        &self,
        object: &Object,
        id: &str,
        severity: Severity,
        path: impl ToString,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            id: id.to_string(),
            severity,
            file: self.file(&object.identity),
            object: Some(object.identity.to_string()),
            path: path.to_string(),
            message: message.into(),
            help: None,
            template: Some(object.origin.describe()),
            values: object.origin.values.iter().map(|path| display_path(path)).collect(),
        }
    }

    pub fn file(&self, identity: &Identity) -> String {
        self.files.get(identity).map_or_else(|| format!("({identity})"), |path| format!("rendered/{path}"))
    }
}

impl Finding {
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A set of findings, sorted by file, object and path.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
}

impl Findings {
    pub fn new(mut findings: Vec<Finding>) -> Self {
        findings.sort_by(|a, b| {
            (file_key(&a.file), &a.object, a.severity, &a.path, &a.id, &a.message).cmp(&(
                file_key(&b.file),
                &b.object,
                b.severity,
                &b.path,
                &b.id,
                &b.message,
            ))
        });
        findings.dedup();
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        Findings { warnings: findings.len() - errors, errors, findings }
    }

    pub fn extend(&mut self, other: Findings) {
        let mut all = std::mem::take(&mut self.findings);
        all.extend(other.findings);
        *self = Findings::new(all);
    }

    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// Human output grouped by file: the object and its origin once, then one
    /// block per finding.
    pub fn to_text(&self) -> String {
        // Findings are sorted by file already; group neighbours.
        let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
        for finding in &self.findings {
            match groups.last_mut() {
                Some((file, group)) if *file == finding.file => group.push(finding),
                _ => groups.push((&finding.file, vec![finding])),
            }
        }
        let mut out = String::new();
        for (file, findings) in &groups {
            // Every group is created with its first finding, so none is empty.
            let Some(first) = findings.first() else { continue };
            let _ = writeln!(out, "{file}");
            if let Some(object) = &first.object {
                let _ = writeln!(out, "  object: {object}");
            }
            if let Some(template) = &first.template {
                let _ = writeln!(out, "  from: {template}");
            }
            if !first.values.is_empty() {
                let _ = writeln!(out, "  values: {}", first.values.join(", "));
            }
            for finding in findings {
                let _ = writeln!(out, "  {}[{}]: {}", finding.severity.as_str(), finding.id, finding.message);
                if !finding.path.is_empty() {
                    let _ = writeln!(out, "    at: {}", finding.path);
                }
                if let Some(help) = &finding.help {
                    let _ = writeln!(out, "    help: {help}");
                }
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out
    }

    pub fn summary(&self) -> String {
        let files = self.findings.iter().map(|f| f.file.as_str()).collect::<std::collections::BTreeSet<_>>().len();
        format!(
            "{} {}, {} {} in {} {}",
            self.errors,
            plural(self.errors, "error", "errors"),
            self.warnings,
            plural(self.warnings, "warning", "warnings"),
            files,
            plural(files, "file", "files")
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Sorts `values/x.yaml:9:7` before `values/x.yaml:10:7`.
fn file_key(file: &str) -> (&str, usize, usize) {
    let mut parts = file.splitn(3, ':');
    let path = parts.next().unwrap_or_default();
    let mut number = || parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let line = number();
    (path, line, number())
}

pub fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(file: &str, severity: Severity, message: &str) -> Finding {
        Finding {
            id: "x".into(),
            severity,
            file: file.into(),
            object: Some("ConfigMap a/b".into()),
            path: "data".into(),
            message: message.into(),
            help: None,
            template: Some("templates/t.yaml (rendering the cluster, document 1)".into()),
            values: vec!["values/cluster.yaml".into()],
        }
    }

    #[test]
    fn groups_by_file_and_counts() {
        let findings = Findings::new(vec![
            finding("rendered/b.yaml", Severity::Warning, "w"),
            finding("rendered/a.yaml", Severity::Error, "e"),
            finding("rendered/a.yaml", Severity::Error, "e"),
        ]);
        assert_eq!(findings.errors, 1);
        assert_eq!(findings.warnings, 1);
        assert_eq!(
            findings.to_text(),
            "rendered/a.yaml\n  object: ConfigMap a/b\n  from: templates/t.yaml (rendering the cluster, document 1)\n  values: values/cluster.yaml\n  error[x]: e\n    at: data\n\nrendered/b.yaml\n  object: ConfigMap a/b\n  from: templates/t.yaml (rendering the cluster, document 1)\n  values: values/cluster.yaml\n  warning[x]: w\n    at: data\n\n1 error, 1 warning in 2 files"
        );
    }
}
