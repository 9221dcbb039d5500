//! Findings: what `validate` and `plan` report, as [`Diagnostic`]s. A
//! finding about a rendered object points first at the values that produced
//! it: the scope instance's key the check concerns (`workloads.web.image` for
//! an unpinned image), where the layer that set it wrote it, else the
//! scope's own key (`workloads.web`); the object, its rendered file, field
//! and template follow. Standing findings can be acknowledged in values
//! (`acknowledgements:` in values/cluster.yaml: code, scope and reason);
//! acknowledged ones are not printed, only counted, and an acknowledgement
//! that matches nothing is itself a finding.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::build::Build;
use crate::diagnostic::{print, Diagnostic, ObjectRef, Severity, Span};
use crate::output::object::{Identity, Object};
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;
use crate::values::Values;

/// The code of a finding about an acknowledgement that matches nothing.
pub const STALE_ACKNOWLEDGEMENT: &str = "stale-acknowledgement";

/// The values key (inside a workload's or namespace's values) a check is
/// about, so its finding lands on the line to edit.
fn values_key(code: &str) -> Option<&'static str> {
    Some(match code {
        "image-pinned" => "image",
        "requests-limits" => "resources",
        "readiness-probe" => "probes",
        "restricted-security-context" => "security",
        "gpu-placement" => "gpu",
        "service-selector" => "service",
        "ingress-backend" => "ingress",
        "hpa-target" | "hpa-metric-served" | "plan-hpa-max" => "hpa",
        "pdb-allows-eviction" => "pdb",
        "plan-steady" | "plan-node-loss" => "replicas",
        "plan-rollout" => "strategy",
        "namespace-network-policy" => "networkPolicy",
        _ => return None,
    })
}

/// Where findings about rendered objects point: the values behind the
/// object, then the object's file and origin.
pub struct Locator<'b> {
    values: &'b Values,
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
        Locator { values: &build.values, files }
    }

    /// A finding about `object` at field `field`.
    pub fn finding(
        &self,
        object: &Object,
        code: &str,
        severity: Severity,
        field: impl ToString,
        message: impl Into<String>,
    ) -> Diagnostic {
        let scope = &object.origin.scope;
        let key = values_key(code).map_or_else(KeyPath::root, KeyPath::parse);
        let mut diagnostic = Diagnostic::new(severity, code, message).with_scope(scope.clone());
        if let Some(located) = scope.locate(self.values, &key) {
            diagnostic.span = Some(Span::at(&located.at, &located.key));
            if let Some((at, own)) = located.own {
                diagnostic = diagnostic.with_related(format!("for {scope}"), Span::at(&at, own));
            }
        }
        diagnostic.object = Some(ObjectRef {
            identity: object.identity.to_string(),
            file: self.file(&object.identity),
            field: field.to_string(),
            template: object.origin.describe(),
        });
        diagnostic
    }

    /// Where `key` of `scope`'s values is set (see [`ScopeRef::locate`]).
    pub fn span(&self, scope: &ScopeRef, key: &KeyPath) -> Option<Span> {
        scope.locate(self.values, key).map(|located| Span::at(&located.at, located.key))
    }

    pub fn file(&self, identity: &Identity) -> String {
        self.files.get(identity).map_or_else(|| format!("({identity})"), |path| format!("rendered/{path}"))
    }
}

/// A set of findings, errors first, then by file, line and column.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    pub findings: Vec<Diagnostic>,
    pub errors: usize,
    pub warnings: usize,
    /// Findings an acknowledgement in values covers (counted in `errors` and `warnings` too).
    pub acknowledged: usize,
}

impl Findings {
    pub fn new(mut findings: Vec<Diagnostic>) -> Self {
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup();
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        let acknowledged = findings.iter().filter(|f| f.acknowledged.is_some()).count();
        Findings { warnings: findings.len() - errors, errors, acknowledged, findings }
    }

    pub fn extend(&mut self, other: Findings) {
        let mut all = std::mem::take(&mut self.findings);
        all.extend(other.findings);
        *self = Findings::new(all);
    }

    /// Errors fail a check; acknowledgements cover warnings only.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The findings a reader must see: not acknowledged.
    pub fn shown(&self) -> Vec<&Diagnostic> {
        self.findings.iter().filter(|f| f.acknowledged.is_none()).collect()
    }

    /// Every finding not acknowledged, then the summary.
    pub fn to_text(&self, color: bool) -> String {
        let shown = self.shown();
        let mut out = print::text(&shown, color);
        if !shown.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&self.summary());
        out
    }

    pub fn summary(&self) -> String {
        let shown = self.shown();
        let files: BTreeSet<&str> =
            shown.iter().filter_map(|f| f.span.as_ref().map(|span| span.file.as_str())).collect();
        let errors = shown.iter().filter(|f| f.severity == Severity::Error).count();
        let warnings = shown.len() - errors;
        let mut summary = format!(
            "{} {}, {} {} in {} {}",
            errors,
            plural(errors, "error", "errors"),
            warnings,
            plural(warnings, "warning", "warnings"),
            files.len(),
            plural(files.len(), "file", "files")
        );
        if self.acknowledged > 0 {
            summary.push_str(&format!(" ({} acknowledged in values, not shown)", self.acknowledged));
        }
        summary
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Which checks ran, so an acknowledgement of a check that did not run is
/// not called stale.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    pub validate: bool,
    pub plan: bool,
}

/// Marks the findings that an acknowledgement in values covers (same code,
/// same scope) and adds a warning for every acknowledgement that covers
/// nothing among the checks that ran: a risk that went away, or a typo.
pub fn acknowledge(findings: &mut Findings, values: &Values, ran: Ran) {
    let key = KeyPath::root().key("acknowledgements");
    let mut stale = Vec::new();
    // Findings by code and scope, so that each acknowledgement looks up its
    // own: a large cluster has thousands of both.
    let mut by_subject: HashMap<(String, ScopeRef), Vec<usize>> = HashMap::new();
    for (index, finding) in findings.findings.iter().enumerate() {
        if let Some(scope) = &finding.scope {
            by_subject.entry((finding.code.clone(), scope.clone())).or_default().push(index);
        }
    }
    let codes: BTreeSet<String> = findings.findings.iter().map(|finding| finding.code.clone()).collect();
    for (index, acknowledgement) in values.cluster.typed.acknowledgements.iter().flatten().enumerate() {
        let at = values.cluster.locate(&key.index(index));
        let span = Span::at(&at, key.index(index));
        // values::load checks the scope parses; a scope that does not covers nothing.
        let scope: Option<ScopeRef> = acknowledgement.scope.parse().ok();
        let mut matched = false;
        let mut errors = false;
        let covered = scope.and_then(|scope| by_subject.get(&(acknowledgement.code.clone(), scope)));
        for &covered in covered.into_iter().flatten() {
            let Some(finding) = findings.findings.get_mut(covered) else { continue };
            // Only warnings: an error must be fixed, or its policy waived
            // for the workload with a justified `policyExceptions` entry.
            if finding.severity == Severity::Warning {
                finding.acknowledged = Some(acknowledgement.reason.clone());
                matched = true;
            } else {
                errors = true;
            }
        }
        if errors && !matched {
            let message = format!(
                "acknowledgement of `{}` for {} covers an error; only warnings can be acknowledged",
                acknowledgement.code, acknowledgement.scope
            );
            stale.push(
                Diagnostic::new(Severity::Warning, STALE_ACKNOWLEDGEMENT, message)
                    .with_span(span)
                    .with_scope(ScopeRef::Cluster)
                    .with_help(
                        "fix the error, or waive the policy for the workload with `policyExceptions` and a reason",
                    ),
            );
            continue;
        }
        let ran_its_check = if acknowledgement.code.starts_with("plan-") { ran.plan } else { ran.validate };
        if !matched && ran_its_check {
            let help = match crate::diagnostic::did_you_mean(&acknowledgement.code, codes.iter().map(String::as_str)) {
                Some(close) if close != acknowledgement.code => format!("did you mean `{close}`? Otherwise remove it"),
                _ => "the finding is gone (or its scope changed): remove the acknowledgement".to_string(),
            };
            let message = format!(
                "acknowledgement of `{}` for {} matches no finding",
                acknowledgement.code, acknowledgement.scope
            );
            stale.push(
                Diagnostic::new(Severity::Warning, STALE_ACKNOWLEDGEMENT, message)
                    .with_span(span)
                    .with_scope(ScopeRef::Cluster)
                    .with_help(help),
            );
        }
    }
    let mut all = std::mem::take(&mut findings.findings);
    all.extend(stale);
    *findings = Findings::new(all);
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
    use crate::diagnostic::Location;

    fn finding(file: &str, line: usize, severity: Severity, message: &str) -> Diagnostic {
        Diagnostic::new(severity, "x", message).with_span(Span::at(&Location::new(file, line, 3), "a.b"))
    }

    #[test]
    fn errors_first_then_by_file_and_line() {
        let mut acknowledged = finding("values/a.yaml", 1, Severity::Warning, "old news");
        acknowledged.acknowledged = Some("known".into());
        let findings = Findings::new(vec![
            finding("values/b.yaml", 10, Severity::Warning, "w10"),
            finding("values/b.yaml", 9, Severity::Warning, "w9"),
            finding("values/c.yaml", 2, Severity::Error, "e"),
            finding("values/c.yaml", 2, Severity::Error, "e"),
            acknowledged,
        ]);
        assert_eq!((findings.errors, findings.warnings, findings.acknowledged), (1, 3, 1));
        assert_eq!(
            findings.to_text(false),
            "error[x]: e\n  --> values/c.yaml:2:3\n  = key: a.b\n\n\
             warning[x]: w9\n  --> values/b.yaml:9:3\n  = key: a.b\n\n\
             warning[x]: w10\n  --> values/b.yaml:10:3\n  = key: a.b\n\n\
             1 error, 2 warnings in 2 files (1 acknowledged in values, not shown)"
        );
    }
}
