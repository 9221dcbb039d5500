//! Head's findings in a diff report: `kiln diff` runs on head the checks that
//! `kiln render` runs (validate and plan), so a pull request that `kiln render`
//! would refuse fails review too, and marks each finding that base had as
//! well, so reviewers see what the change brings. Findings are the same when
//! their code, severity, scope, object, field, message and values key agree
//! (not the line and column, which move with any edit above them). Findings
//! acknowledged in values are accepted already and left out.

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Findings;

/// What the report says about head's findings.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checks {
    pub errors: usize,
    pub warnings: usize,
    /// Findings that base does not have; all of them when base was not checked.
    pub new: usize,
    /// Whether base was checked: `false` when it did not render (see `fallback`).
    pub base_checked: bool,
    /// Errors first, then new before old, each in file order.
    pub findings: Vec<CheckedFinding>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedFinding {
    #[serde(flatten)]
    pub finding: Diagnostic,
    /// Base has the same finding; `None` when base was not checked.
    pub in_base: Option<bool>,
}

impl Checks {
    /// Marks each of head's findings with whether `base` (when it was checked) has it.
    pub fn new(head: Findings, base: Option<&Findings>) -> Checks {
        let in_base = |finding: &Diagnostic| base.map(|base| base.findings.iter().any(|other| same(other, finding)));
        let mut findings: Vec<CheckedFinding> = head
            .findings
            .into_iter()
            .filter(|finding| finding.acknowledged.is_none())
            .map(|finding| CheckedFinding { in_base: in_base(&finding), finding })
            .collect();
        // Stable: within each group the findings keep their file order.
        findings.sort_by_key(|checked| (checked.finding.severity != Severity::Error, checked.in_base == Some(true)));
        let errors = findings.iter().filter(|checked| checked.finding.severity == Severity::Error).count();
        Checks {
            errors,
            warnings: findings.len() - errors,
            new: findings.iter().filter(|checked| checked.in_base != Some(true)).count(),
            base_checked: base.is_some(),
            findings,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// What the text and markdown forms list one by one: every error and
    /// every finding base does not have. Warnings base had too only stand,
    /// and are counted by [`Checks::standing`].
    pub fn listed(&self) -> impl Iterator<Item = &CheckedFinding> {
        self.findings.iter().filter(|checked| !checked.is_standing())
    }

    /// Warnings base had too, counted by id in order of first appearance.
    pub fn standing(&self) -> Vec<(&str, usize)> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for checked in self.findings.iter().filter(|checked| checked.is_standing()) {
            match counts.iter_mut().find(|(code, _)| *code == checked.finding.code) {
                Some((_, count)) => *count += 1,
                None => counts.push((&checked.finding.code, 1)),
            }
        }
        counts
    }
}

impl CheckedFinding {
    fn is_standing(&self) -> bool {
        self.finding.severity == Severity::Warning && self.in_base == Some(true)
    }
}

fn same(a: &Diagnostic, b: &Diagnostic) -> bool {
    let key = |finding: &Diagnostic| finding.span.as_ref().map(|span| (span.file.clone(), span.key.clone()));
    (&a.code, a.severity, &a.scope, &a.object, &a.message) == (&b.code, b.severity, &b.scope, &b.object, &b.message)
        && key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Location, Span};

    fn finding(code: &str, severity: Severity, file: &str, line: usize) -> Diagnostic {
        Diagnostic::new(severity, code, "m").with_span(Span::at(&Location::new(file, line, 1), "workloads.web"))
    }

    #[test]
    fn marks_findings_base_had_and_puts_errors_and_new_ones_first() {
        let head = Findings::new(vec![
            finding("a", Severity::Warning, "values/x.yaml", 9),
            finding("b", Severity::Warning, "values/b.yaml", 1),
            finding("c", Severity::Error, "values/c.yaml", 1),
        ]);
        // The same warning, located two lines higher in base.
        let base = Findings::new(vec![finding("a", Severity::Warning, "values/x.yaml", 7)]);
        let checks = Checks::new(head, Some(&base));
        let order: Vec<(&str, Option<bool>)> =
            checks.findings.iter().map(|checked| (checked.finding.code.as_str(), checked.in_base)).collect();
        assert_eq!(order, [("c", Some(false)), ("b", Some(false)), ("a", Some(true))]);
        assert_eq!((checks.errors, checks.warnings, checks.new, checks.base_checked), (1, 2, 2, true));
        let listed: Vec<&str> = checks.listed().map(|checked| checked.finding.code.as_str()).collect();
        assert_eq!(listed, ["c", "b"]);
        assert_eq!(checks.standing(), [("a", 1)]);
    }

    #[test]
    fn without_base_every_finding_counts_as_new() {
        let checks = Checks::new(Findings::new(vec![finding("a", Severity::Warning, "values/a.yaml", 1)]), None);
        assert_eq!((checks.new, checks.base_checked, checks.findings[0].in_base), (1, false, None));
    }
}
