//! The terminal form of a diff report: a summary of every added, removed,
//! changed and moved object with its changed field paths, the drift gate,
//! a count line, then the unified diffs. Coloured when asked to.

use std::fmt::Write as _;

use super::{ChangeKind, Report, SideInfo};
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
    let drift = &report.drift;
    if drift.in_sync {
        let _ = writeln!(out, "drift gate: head's rendered/ is what its inputs render to");
    } else {
        let _ = writeln!(
            out,
            "{} head's rendered/ is not what its inputs render to ({} to add, {} to change, {} to remove{}); run `kiln render` and commit rendered/",
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
