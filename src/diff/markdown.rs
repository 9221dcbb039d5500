//! The pull-request comment form of a diff report: head's findings and a
//! summary table first, then one collapsible `<details>` diff per object, always within GitHub's
//! 65,536-character comment limit. The summary is never cut: when it is too
//! long it is shown with less detail (fewer field paths, then counts, then one
//! row per kind). The diffs share what is left: the largest are shortened
//! first, to a common length, and left out entirely when even a short excerpt
//! does not fit; the comment says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::checks::Checks;
use super::text::describe;
use super::{Change, ChangeKind, Report};
use crate::diagnostic::Severity;
use crate::finding::plural;
use crate::output::bookkeeping;

/// GitHub's limit on the body of an issue or pull-request comment.
pub const LIMIT: usize = 65_536;

/// First line of every comment, so CI can find and update its own comment.
pub const MARKER: &str = "<!-- kiln diff -->";

/// Room kept after the summary for the truncation note.
const RESERVE: usize = 1_024;

/// A shortened diff shows at least this many bytes, or is left out.
const MIN_EXCERPT: usize = 400;

/// Paths of the drift gate listed before "and N more".
const DRIFT_PATHS: usize = 10;

/// Rows of head's findings listed before "and N more".
const FINDING_ROWS: usize = 20;

#[derive(Debug, Clone, Copy)]
enum Detail {
    /// One row per object with up to this many field paths.
    Fields(usize),
    /// One row per object with the number of changed fields.
    Counts,
    /// One row per change and kind.
    Grouped,
    /// Only the counts.
    Totals,
}

/// The comment for `report`; its length in bytes (and so in characters) never exceeds [`LIMIT`].
pub fn markdown(report: &Report) -> String {
    markdown_within(report, LIMIT)
}

fn markdown_within(report: &Report, limit: usize) -> String {
    let details = [Detail::Fields(10), Detail::Fields(3), Detail::Counts, Detail::Grouped, Detail::Totals];
    let summary = details
        .iter()
        .map(|detail| summary(report, *detail))
        .find(|summary| summary.len() + RESERVE <= limit)
        .unwrap_or_else(|| summary(report, Detail::Totals));
    let budget = limit.saturating_sub(summary.len() + RESERVE);
    let entries: Vec<Entry> = report.changes.iter().map(Entry::new).collect();
    let threshold = threshold(&entries, budget);
    let mut diffs = String::new();
    let (mut shortened, mut omitted) = (0, 0);
    for entry in &entries {
        match entry.render(threshold) {
            Some((text, cut)) => {
                diffs.push_str(&text);
                shortened += usize::from(cut);
            }
            None => omitted += 1,
        }
    }
    let mut out = summary;
    if shortened + omitted > 0 {
        let _ = write!(
            out,
            "> [!NOTE]\n> To fit GitHub's 65,536-character comment limit the largest diffs were cut first: {shortened} \
             shortened, {omitted} left out. Run {} locally to see them all.\n\n",
            inline(&command(report, ""))
        );
    }
    out.push_str(&diffs);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

fn summary(report: &Report, detail: Detail) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let base = match (&report.base.rev, &report.base.commit) {
        (Some(rev), Some(commit)) => {
            format!("{} ({})", inline(&shorten(rev, 200)), inline(&commit[..7.min(commit.len())]))
        }
        _ => describe(&report.base),
    };
    let head = match (&report.head.rev, &report.head.commit) {
        (Some(rev), Some(commit)) => {
            format!("{} ({})", inline(&shorten(rev, 200)), inline(&commit[..7.min(commit.len())]))
        }
        _ => describe(&report.head),
    };
    let _ = writeln!(out, "### kiln diff: {base} → {head}\n");
    let s = &report.summary;
    let counts = format!(
        "{} added · {} removed · {} changed · {} unchanged · {} moved",
        s.added, s.removed, s.changed, s.unchanged, s.moved
    );
    if report.changes.is_empty() {
        let _ = writeln!(out, "**No change to the cluster**: {counts}\n");
    } else {
        let _ = writeln!(out, "**{} objects and files change**: {counts}\n", report.changes.len());
    }
    if let Some(fallback) = &report.fallback {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> The base does not render with this kiln ({}), so the committed `rendered/` trees of both \
             revisions were compared instead.\n",
            inline(&shorten(&fallback.reason, 300))
        );
    }
    // The least detailed summary keeps only the counts of findings.
    checks(&mut out, &report.checks, if matches!(detail, Detail::Totals) { 0 } else { FINDING_ROWS });
    let drift = &report.drift;
    if !drift.in_sync {
        let not_kilns = drift.foreign_manifests.iter().chain(drift.special.iter().map(|entry| &entry.path));
        let paths: Vec<String> = [("+", &drift.added), ("~", &drift.changed), ("-", &drift.removed)]
            .into_iter()
            .flat_map(|(mark, paths)| paths.iter().map(move |path| format!("{mark} rendered/{path}")))
            .chain(not_kilns.map(|path| format!("! rendered/{path}")))
            .collect();
        let mut listed: Vec<String> = paths.iter().take(DRIFT_PATHS).map(|path| inline(&shorten(path, 200))).collect();
        if paths.len() > DRIFT_PATHS {
            listed.push(format!("and {} more", paths.len() - DRIFT_PATHS));
        }
        let backticked: Vec<String> = drift.bookkeeping.iter().map(|path| format!("`{path}`")).collect();
        listed.extend(bookkeeping::only(&backticked, paths.len(), bookkeeping::OUT_OF_DATE));
        let advice = if report.checks.has_errors() { "Fix head's errors, then run" } else { "Run" };
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **Drift:** head's committed `rendered/` is not what its inputs render to: {}. {advice} \
             `kiln render` and commit `rendered/`.\n",
            listed.join(", ")
        );
    }
    if report.changes.is_empty() && report.moved.is_empty() {
        return out;
    }
    match detail {
        Detail::Fields(_) | Detail::Counts => {
            out.push_str("| | Object | Changed fields |\n|---|---|---|\n");
            for change in &report.changes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    label(change.change, change.secret),
                    inline(&change.display),
                    fields_cell(change, detail)
                );
            }
            for moved in &report.moved {
                let mut how = Vec::new();
                if moved.base_source != moved.head_source {
                    let source = |s: &Option<String>| inline(s.as_deref().unwrap_or("no template"));
                    how.push(format!("template {} → {}", source(&moved.base_source), source(&moved.head_source)));
                }
                if moved.base_path != moved.head_path {
                    how.push(format!("file {} → {}", inline(&moved.base_path), inline(&moved.head_path)));
                }
                let _ = writeln!(out, "| ↪️ moved | {} | unchanged; {} |", inline(&moved.display), how.join(", "));
            }
        }
        Detail::Grouped => {
            let mut groups: BTreeMap<(String, String), usize> = BTreeMap::new();
            for change in &report.changes {
                let kind = change.object.as_ref().map_or("file".to_string(), kind_of);
                *groups.entry((label(change.change, change.secret).to_string(), kind)).or_default() += 1;
            }
            for moved in &report.moved {
                let kind = moved.object.as_ref().map_or("file".to_string(), kind_of);
                *groups.entry(("↪️ moved".to_string(), kind)).or_default() += 1;
            }
            out.push_str("| | Kind | Objects |\n|---|---|---|\n");
            for ((label, kind), count) in groups {
                let _ = writeln!(out, "| {label} | {} | {count} |", inline(&kind));
            }
        }
        Detail::Totals => {}
    }
    if !matches!(detail, Detail::Fields(_)) {
        let _ = writeln!(
            out,
            "\nToo many changes to list every field here; run {} for all of them.",
            inline(&command(report, " --format json"))
        );
    }
    out.push('\n');
    out
}

/// Head's findings: counts, a caution when `kiln render` would refuse, and up
/// to `rows` rows, errors and new findings first.
fn checks(out: &mut String, checks: &Checks, rows: usize) {
    let (errors, warnings) = (checks.errors, checks.warnings);
    let counts = format!(
        "{errors} {}, {warnings} {}",
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings")
    );
    let new = match (checks.findings.is_empty(), checks.base_checked) {
        (true, _) => String::new(),
        (false, true) => format!(" ({} new, {} also in base)", checks.new, checks.findings.len() - checks.new),
        (false, false) => " (base not checked: it does not render)".to_string(),
    };
    if errors > 0 {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **`kiln render` would refuse** to write head's `rendered/`: {counts}{new}. Fix the \
             errors below; `kiln validate` and `kiln plan` show every finding.\n"
        );
    } else {
        let _ = writeln!(out, "**Checks** (`kiln validate`, `kiln plan`): {counts} in head{new}\n");
    }
    if rows == 0 {
        return;
    }
    let listed: Vec<_> = checks.listed().collect();
    if !listed.is_empty() {
        out.push_str("| | Finding | Object | Message |\n|---|---|---|---|\n");
    }
    for checked in listed.iter().take(rows) {
        let finding = &checked.finding;
        let new = match checked.in_base {
            Some(false) => "🆕 new",
            Some(true) => "in base",
            None => "",
        };
        let icon = if finding.severity == Severity::Error { "❌" } else { "⚠️" };
        let id = inline(&format!("{}[{}]", finding.severity.as_str(), shorten(&finding.code, 100)));
        let span = finding.span.as_ref().map(ToString::to_string).unwrap_or_default();
        let object = inline(&shorten(finding.object.as_ref().map_or(span.as_str(), |object| &object.identity), 200));
        let _ = writeln!(
            out,
            "| {new} | {icon} {id} | {object} | {} |",
            inline(&shorten(&finding.message.replace('\n', " "), 300))
        );
    }
    if listed.len() > rows {
        let _ = writeln!(out, "\nand {} more.", listed.len() - rows);
    }
    let standing = checks.standing();
    if !standing.is_empty() {
        let count: usize = standing.iter().map(|(_, count)| count).sum();
        let ids: Vec<String> =
            standing.iter().map(|(id, count)| format!("{} ×{count}", inline(&shorten(id, 100)))).collect();
        if !listed.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{count} {} also in base: {}.", plural(count, "warning", "warnings"), ids.join(", "));
    }
    if !listed.is_empty() || !standing.is_empty() {
        out.push('\n');
    }
}

/// The command that repeats this comparison, by commit id (also right for `--merge-base`).
fn command(report: &Report, options: &str) -> String {
    let short = |side: &super::SideInfo| side.commit.as_deref().map(|commit| commit[..7.min(commit.len())].to_string());
    let base = short(&report.base).unwrap_or_else(|| "<rev>".into());
    match short(&report.head) {
        Some(head) => format!("kiln diff --base {base} --head {head}{options}"),
        None => format!("kiln diff --base {base}{options}"),
    }
}

fn kind_of(object: &super::ObjectRef) -> String {
    if object.group.is_empty() {
        object.kind.clone()
    } else {
        format!("{}.{}", object.kind, object.group)
    }
}

fn label(change: ChangeKind, secret: bool) -> &'static str {
    match (change, secret) {
        (_, true) => match change {
            ChangeKind::Added => "🔒 added",
            ChangeKind::Removed => "🔒 removed",
            ChangeKind::Changed => "🔒 changed",
        },
        (ChangeKind::Added, _) => "🟢 added",
        (ChangeKind::Removed, _) => "🔴 removed",
        (ChangeKind::Changed, _) => "🟡 changed",
    }
}

fn fields_cell(change: &Change, detail: Detail) -> String {
    let limit = match detail {
        Detail::Fields(limit) => limit,
        _ => 0,
    };
    let mut cell: Vec<String> = change
        .fields
        .iter()
        .take(limit)
        .map(|field| inline(&format!("{} {}", field.change.mark(), shorten(&field.path, 200))))
        .collect();
    let rest = change.fields.len() - cell.len();
    if rest > 0 {
        cell.push(if cell.is_empty() { format!("{rest} fields") } else { format!("and {rest} more") });
    }
    let mut text = cell.join(", ");
    if change.secret {
        text = if text.is_empty() { "values not shown".into() } else { format!("keys: {text} (values not shown)") };
    }
    text
}

/// One object's collapsible diff.
struct Entry<'r> {
    head: String,
    body: &'r str,
    tail: String,
}

/// Upper bound of the "shortened" line inside a cut diff.
const CUT_NOTE: usize = 80;

impl<'r> Entry<'r> {
    fn new(change: &'r Change) -> Entry<'r> {
        let fence = fence(&change.diff);
        let head = format!(
            "<details>\n<summary>{} <code>{}</code></summary>\n\n{fence}diff\n",
            label(change.change, change.secret),
            html(&change.display)
        );
        let tail = format!("{fence}\n\n</details>\n\n");
        Entry { head, body: &change.diff, tail }
    }

    /// What this entry costs when diffs are cut to `threshold` bytes.
    fn cost(&self, threshold: usize) -> usize {
        if self.body.len() <= threshold {
            self.head.len() + self.body.len() + self.tail.len()
        } else if threshold >= MIN_EXCERPT {
            self.head.len() + threshold + CUT_NOTE + self.tail.len()
        } else {
            0
        }
    }

    /// The entry's text and whether it was cut; `None` when left out.
    fn render(&self, threshold: usize) -> Option<(String, bool)> {
        if self.body.len() <= threshold {
            return Some((format!("{}{}{}", self.head, self.body, self.tail), false));
        }
        if threshold < MIN_EXCERPT {
            return None;
        }
        let mut end = threshold.min(self.body.len());
        while !self.body.is_char_boundary(end) {
            end -= 1;
        }
        let cut = &self.body[..self.body[..end].rfind('\n').map_or(0, |i| i + 1)];
        let shown = cut.lines().count();
        let total = self.body.lines().count();
        let note = format!("… shortened: {shown} of {total} lines shown\n");
        Some((format!("{}{cut}{note}{}", self.head, self.tail), true))
    }
}

/// The largest per-diff length that fits `budget`: every diff longer than it
/// is cut to it (or left out below [`MIN_EXCERPT`]). Costs grow with the
/// threshold, so a binary search finds it.
fn threshold(entries: &[Entry], budget: usize) -> usize {
    let total = |threshold: usize| entries.iter().map(|entry| entry.cost(threshold)).sum::<usize>();
    let (mut low, mut high) = (0, entries.iter().map(|entry| entry.body.len()).max().unwrap_or(0));
    if total(high) <= budget {
        return high;
    }
    while low < high {
        let middle = (low + high).div_ceil(2);
        if total(middle) <= budget {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    low
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Inline code that is safe inside a table cell: delimited by more backticks
/// than any run inside it, with `|` escaped for the table.
fn inline(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{}{pad}{ticks}", text.replace('|', "\\|"))
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// At most `max` bytes of `text`, cut at a character boundary, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::fields::{Field, FieldChange};
    use crate::diff::{Compared, DriftGate, ObjectRef, SideInfo, Summary};

    fn change(name: &str, lines: usize) -> Change {
        let mut diff = format!("--- a/rendered/{name}\n+++ b/rendered/{name}\n@@ -1,{lines} +1,{lines} @@\n");
        for line in 0..lines {
            let _ = writeln!(diff, "-  key{line}: old value number {line}\n+  key{line}: new value number {line}");
        }
        Change {
            change: ChangeKind::Changed,
            object: Some(ObjectRef {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace: Some("apps".into()),
                name: name.into(),
            }),
            display: format!("ConfigMap apps/{name}"),
            base_path: Some(format!("namespaces/apps/configmap-{name}.yaml")),
            head_path: Some(format!("namespaces/apps/configmap-{name}.yaml")),
            base_source: None,
            head_source: None,
            secret: false,
            fields: (0..lines)
                .map(|line| Field { path: format!("data.key{line}"), change: FieldChange::Changed })
                .collect(),
            diff,
        }
    }

    fn report(changes: Vec<Change>) -> Report {
        let side = |rev: &str| SideInfo {
            rev: Some(rev.into()),
            commit: Some("0123456789abcdef".into()),
            worktree: false,
            compared: Compared::Inputs,
        };
        Report {
            schema_version: 2,
            base: side("main"),
            head: side("topic"),
            fallback: None,
            summary: Summary { changed: changes.len(), ..Summary::default() },
            changes,
            moved: Vec::new(),
            drift: DriftGate { in_sync: true, ..DriftGate::default() },
            checks: Checks::default(),
        }
    }

    #[test]
    fn inline_code_survives_backticks_and_pipes() {
        assert_eq!(inline("a|b"), "`a\\|b`");
        assert_eq!(inline("unknown key `x`"), "`` unknown key `x` ``");
    }

    #[test]
    fn drift_lists_ten_files_then_counts_the_rest() {
        let mut report = report(Vec::new());
        report.drift = DriftGate {
            in_sync: false,
            changed: (0..15).map(|i| format!("namespaces/apps/f{i:02}.yaml")).collect(),
            ..DriftGate::default()
        };
        let text = markdown(&report);
        assert!(text.contains("**No change to the cluster**"), "{text}");
        assert!(
            text.contains(
                "> [!CAUTION]\n> **Drift:** head's committed `rendered/` is not what its inputs render to: \
                 `~ rendered/namespaces/apps/f00.yaml`, "
            ),
            "{text}"
        );
        assert!(text.contains("`~ rendered/namespaces/apps/f09.yaml`, and 5 more. Run `kiln render`"), "{text}");
        assert!(!text.contains("f10.yaml"));
    }

    #[test]
    fn thousands_of_objects_are_summarised_per_kind() {
        let changes: Vec<Change> = (0..3_000).map(|i| change(&format!("c{i}"), 2)).collect();
        let text = markdown(&report(changes));
        assert!(text.len() <= LIMIT, "{}", text.len());
        assert!(text.contains("**3000 objects and files change**"), "{}", &text[..400]);
        assert!(
            text.contains("| | Kind | Objects |\n|---|---|---|\n| 🟡 changed | `ConfigMap` | 3000 |\n"),
            "{}",
            &text[..600]
        );
        assert!(
            text.contains("run `kiln diff --base 0123456 --head 0123456 --format json` for all of them."),
            "{text}"
        );
    }

    #[test]
    fn small_reports_are_complete() {
        let text = markdown(&report(vec![change("a", 2)]));
        assert!(
            text.starts_with("<!-- kiln diff -->\n### kiln diff: `main` (`0123456`) → `topic` (`0123456`)\n"),
            "{text}"
        );
        assert!(text.contains("| 🟡 changed | `ConfigMap apps/a` | `~ data.key0`, `~ data.key1` |"), "{text}");
        assert!(text.contains("<details>\n<summary>🟡 changed <code>ConfigMap apps/a</code></summary>\n\n```diff\n"));
        assert!(!text.contains("[!NOTE]"));
    }

    #[test]
    fn the_largest_diffs_are_cut_first_and_the_note_says_so() {
        let changes = vec![change("small", 3), change("big", 2_000), change("huge", 5_000)];
        let text = markdown_within(&report(changes), 40_000);
        assert!(text.len() <= 40_000, "{}", text.len());
        assert!(text.contains("`~ data.key0`"), "the summary is kept");
        assert!(text.contains("+  key2: new value number 2\n```\n"), "the small diff is whole");
        assert!(text.contains("shortened, 0 left out"), "{}", &text[..2000]);
        assert_eq!(text.matches("… shortened:").count(), 2);
    }

    #[test]
    fn diffs_are_left_out_when_no_excerpt_fits() {
        let changes: Vec<Change> = (0..300).map(|i| change(&format!("c{i}"), 40)).collect();
        let text = markdown_within(&report(changes), 20_000);
        assert!(text.len() <= 20_000, "{}", text.len());
        assert!(text.contains("left out"), "{text}");
        assert!(text.contains("Too many changes"), "the summary loses detail instead of rows being cut");
    }
}
