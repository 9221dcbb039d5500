//! The terminal form of a diff report: a summary of every added, removed,
//! changed and moved object with its changed field paths, head's findings,
//! the drift gate, a count line, then the unified diffs. Coloured when asked to.

use std::fmt::Write as _;

use super::checks::Checks;
use super::{ChangeKind, Report, SideInfo};
use crate::diagnostic::Severity;
use crate::finding::plural;
use crate::output::bookkeeping;
use crate::output::drift::colorize;

/// Renders the report; `stat` leaves out the unified diffs.
pub fn text(report: &Report, stat: bool, color: bool) -> String {
    let paint = |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
    let mut out = String::new();
    let _ = writeln!(out, "kiln diff {} → {}", describe(&report.base), describe(&report.head));
    if let Some(fallback) = &report.fallback {
        let _ = writeln!(
            out,
            "{} the base does not render with this kiln, so the committed rendered/ trees are compared instead\n  = cause: {}",
            paint("33", "note:"),
            fallback.reason
        );
    }
    for change in &report.changes {
        let code = match change.change {
            ChangeKind::Added => "32",
            ChangeKind::Removed => "31",
            ChangeKind::Changed => "33",
        };
        let secret = if change.secret { "  (secret: values not shown)" } else { "" };
        let _ = writeln!(out, "{}{secret}", paint(code, &format!("{} {}", change.change.mark(), change.display)));
        for field in &change.fields {
            let _ = writeln!(out, "    {} {}", field.change.mark(), field.path);
        }
    }
    for moved in &report.moved {
        let mut how = Vec::new();
        if moved.base_source != moved.head_source {
            let source = |s: &Option<String>| s.clone().unwrap_or_else(|| "no template".into());
            how.push(format!("template {} → {}", source(&moved.base_source), source(&moved.head_source)));
        }
        if moved.base_path != moved.head_path {
            how.push(format!("rendered/{} → rendered/{}", moved.base_path, moved.head_path));
        }
        let line = format!("= {}  (unchanged; {})", moved.display, how.join(", "));
        let _ = writeln!(out, "{}", paint("36", &line));
    }
    checks(&mut out, &report.checks, &paint);
    let drift = &report.drift;
    // `kiln render` refuses to write while head has errors: say so instead.
    let advice = if report.checks.has_errors() {
        "fix head's errors (above), then run `kiln render` and commit rendered/"
    } else {
        "run `kiln render` and commit rendered/"
    };
    if drift.in_sync {
        let _ = writeln!(out, "drift gate: head's rendered/ is what its inputs render to");
    } else {
        let _ = writeln!(
            out,
            "{} head's rendered/ is not what its inputs render to ({} to add, {} to change, {} to remove{}); {advice}",
            paint("31", "drift gate:"),
            drift.added.len(),
            drift.changed.len(),
            drift.removed.len(),
            not_kilns(drift)
        );
        for (mark, paths) in [("+", &drift.added), ("~", &drift.changed), ("-", &drift.removed)] {
            for path in paths {
                let _ = writeln!(out, "    {mark} rendered/{path}");
            }
        }
        for path in &drift.foreign_manifests {
            let _ = writeln!(out, "    ! rendered/{path}  (not kiln's, and Argo CD would sync it)");
        }
        for entry in &drift.special {
            let _ = writeln!(out, "    ! rendered/{}  ({}, never followed)", entry.path, entry.kind.describe());
        }
    }
    let summary = &report.summary;
    let _ = write!(
        out,
        "{}: {} added, {} removed, {} changed, {} unchanged, {} moved",
        if report.changes.is_empty() { "no changes" } else { "changes" },
        summary.added,
        summary.removed,
        summary.changed,
        summary.unchanged,
        summary.moved
    );
    if !stat && !report.changes.is_empty() {
        out.push_str("\n\n");
        for change in &report.changes {
            out.push_str(&if color { colorize(&change.diff) } else { change.diff.clone() });
        }
        while out.ends_with('\n') {
            out.pop();
        }
    }
    out
}

/// Head's findings: a count line, then each error and new finding, marked
/// `+` when base does not have it, `=` when it does, `*` when base was not
/// checked; the warnings base had too by id; and, with errors, that
/// `kiln render` would refuse.
fn checks(out: &mut String, checks: &Checks, paint: &dyn Fn(&str, &str) -> String) {
    let (errors, warnings) = (checks.errors, checks.warnings);
    let mut line = format!(
        "checks: {errors} {}, {warnings} {} in head",
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings")
    );
    if !checks.findings.is_empty() {
        if checks.base_checked {
            let _ = write!(line, " ({} new, {} also in base)", checks.new, checks.findings.len() - checks.new);
        } else {
            line.push_str(" (base not checked: it does not render)");
        }
    }
    let _ = writeln!(out, "{}", if errors > 0 { paint("31", &line) } else { line });
    for checked in checks.listed() {
        let finding = &checked.finding;
        let mark = match checked.in_base {
            Some(false) => "+",
            Some(true) => "=",
            None => "*",
        };
        let code = if finding.severity == Severity::Error { "31" } else { "33" };
        let label = paint(code, &format!("{}[{}]", finding.severity.as_str(), finding.code));
        let _ = writeln!(out, "  {mark} {label}: {}", finding.message);
        if let Some(span) = &finding.span {
            let key = span.key.as_deref().map(|key| format!(" ({key})")).unwrap_or_default();
            let _ = writeln!(out, "      in: {span}{key}");
        }
        if let Some(object) = &finding.object {
            match object.field.as_str() {
                "" => {
                    let _ = writeln!(out, "      object: {}", object.identity);
                }
                field => {
                    let _ = writeln!(out, "      object: {}, at {field}", object.identity);
                }
            }
        }
        if let Some(help) = &finding.help {
            let _ = writeln!(out, "      help: {help}");
        }
    }
    let standing = checks.standing();
    if !standing.is_empty() {
        let count: usize = standing.iter().map(|(_, count)| count).sum();
        let ids: Vec<String> = standing.iter().map(|(id, count)| format!("{id} ×{count}")).collect();
        let _ = writeln!(out, "  = {count} {} also in base: {}", plural(count, "warning", "warnings"), ids.join(", "));
    }
    if errors > 0 {
        let _ = writeln!(
            out,
            "{} `kiln render` would refuse to write head's rendered/ until the {errors} {} fixed",
            paint("31", "error:"),
            plural(errors, "error above is", "errors above are")
        );
    }
}

/// `origin/main (1a2b3c4)` or `the working tree`.
pub fn describe(side: &SideInfo) -> String {
    match (&side.rev, &side.commit) {
        (Some(rev), Some(commit)) => format!("{rev} ({})", &commit[..commit.len().min(7)]),
        _ => "the working tree".to_string(),
    }
}

/// The drift that is not the cluster's files, as the render summary counts it.
fn not_kilns(drift: &super::DriftGate) -> String {
    let mut counts = String::new();
    let (manifests, special) = (drift.foreign_manifests.len(), drift.special.len());
    if manifests > 0 {
        let _ = write!(counts, ", {manifests} {}", plural(manifests, "foreign manifest", "foreign manifests"));
    }
    if special > 0 {
        let _ = write!(counts, ", {special} {}", plural(special, "special file", "special files"));
    }
    let others = drift.added.len() + drift.changed.len() + drift.removed.len() + manifests + special;
    if let Some(only) = bookkeeping::only(&drift.bookkeeping, others, bookkeeping::OUT_OF_DATE) {
        let _ = write!(counts, "; {only}");
    }
    counts
}
