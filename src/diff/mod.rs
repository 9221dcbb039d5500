//! `kiln diff --base <rev> [--head <rev>]`: what a change does to the
//! cluster, without a cluster. Both revisions are read from git objects (the
//! head defaults to the working tree), rendered in memory by the same pipeline
//! as `kiln render`, and compared object by object: objects are paired by
//! identity (group, kind, namespace, name), plain files by path. The report
//! lists added, removed and changed objects with the field paths that changed,
//! then unified diffs, with secret values redacted. When the base no longer
//! renders (it predates a schema change, say) the committed `rendered/` trees
//! are compared instead, and the report says so. It also says whether head's
//! committed `rendered/` is what head's inputs render to (the drift gate),
//! and what the checks of `kiln render` (validate and plan) find in head, with
//! the findings base had too marked as such ([`checks`]).
//! The entry point is [`diff`]; [`text`], [`Report::to_json`] and
//! [`markdown`] format the report.

pub mod checks;
pub mod fields;
pub mod markdown;
pub mod secret;
pub mod side;
pub mod text;

use std::path::{Path, PathBuf};

use serde::Serialize;
use similar::TextDiff;

use crate::build::{self, Build};
use crate::finding::Findings;
use crate::git::{Git, Revision};
use crate::input::InputFiles;
use crate::output::object::Identity;
use crate::output::verify::SpecialEntry;
use crate::output::{canonical, disk, drift};
use crate::settings::RENDERED_DIR;
use crate::{Error, Result};
use checks::Checks;
use fields::Field;
use side::{Item, Key, Side};

/// Version of the JSON schema (docs/pr-workflow.md); bumped on any incompatible change.
/// 2: field paths quote keys as `."key"` (1 wrote `["key"]`).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub base: SideInfo,
    pub head: SideInfo,
    /// Set when the base did not render and committed `rendered/` trees were compared.
    pub fallback: Option<Fallback>,
    pub summary: Summary,
    /// Added, removed and changed objects and files, in display order.
    pub changes: Vec<Change>,
    /// Objects and files that are unchanged but now come from another template or path.
    pub moved: Vec<Moved>,
    pub drift: DriftGate,
    /// Head's findings from the checks `kiln render` runs; errors mean it would refuse to write.
    pub checks: Checks,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideInfo {
    /// The revision as given; `None` for the working tree.
    pub rev: Option<String>,
    /// The full commit id; `None` for the working tree.
    pub commit: Option<String>,
    pub worktree: bool,
    /// What was compared: `inputs` rendered in memory, or the committed `rendered` tree.
    pub compared: Compared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compared {
    Inputs,
    Rendered,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fallback {
    /// The first line of the error that stopped the base from rendering.
    pub reason: String,
    /// The whole error message.
    pub error: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub moved: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn mark(self) -> &'static str {
        match self {
            ChangeKind::Added => "+",
            ChangeKind::Removed => "-",
            ChangeKind::Changed => "~",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// A Kubernetes object's identity as it appears in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub change: ChangeKind,
    /// `None` for plain (non-Kubernetes) files.
    pub object: Option<ObjectRef>,
    /// `Kind[.group] namespace/name`, or `rendered/<path>` for a plain file.
    pub display: String,
    pub base_path: Option<String>,
    pub head_path: Option<String>,
    pub base_source: Option<String>,
    pub head_source: Option<String>,
    /// A Secret or SealedSecret: `fields` name its keys, `diff` shows no values.
    pub secret: bool,
    /// Changed field paths; for an added or removed secret, its keys.
    pub fields: Vec<Field>,
    /// Unified diff of the file without kiln's header, secret values redacted.
    pub diff: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub object: Option<ObjectRef>,
    pub display: String,
    pub base_path: String,
    pub head_path: String,
    pub base_source: Option<String>,
    pub head_source: Option<String>,
}

/// Head's committed `rendered/` against what head's inputs render to.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftGate {
    pub in_sync: bool,
    /// Paths below `rendered/` of the cluster's files a render would add, change or remove.
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// `SHA256SUMS` and `kiln.lock` when a render would write them (drift, listed apart).
    pub bookkeeping: Vec<String>,
    /// Files kiln does not own that Argo CD would sync (`*.yaml`, `*.yml`, `*.json`, `*.jsonnet`).
    pub foreign_manifests: Vec<String>,
    /// Entries that are not regular files or directories (symlinks, FIFOs, devices), never followed.
    pub special: Vec<SpecialEntry>,
}

impl Report {
    /// Whether the exit code is 1: the cluster would change, head's
    /// `rendered/` is out of date, or head has errors `kiln render` refuses.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || !self.drift.in_sync || self.checks.has_errors()
    }

    /// The stable JSON form documented in docs/pr-workflow.md.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Compares `base` with `head` (the working tree under `root` when `None`).
/// With `merge_base`, the base is the best common ancestor of `base` and the
/// head (`HEAD` for the working tree). `check` is what `kiln render` checks a
/// build with; it runs on both sides.
pub fn diff<F>(root: &Path, base: &str, head: Option<&str>, merge_base: bool, check: F) -> Result<Report>
where
    F: Fn(&Build) -> Findings + Sync,
{
    let git = Git::open(root)?;
    let mut base_revision = git.resolve(base)?;
    let head_revision = head.map(|name| git.resolve(name)).transpose()?;
    if merge_base {
        let tip = match &head_revision {
            Some(revision) => revision.clone(),
            None => git.resolve("HEAD")?,
        };
        base_revision = git.merge_base(&base_revision, &tip)?;
    }
    if head_revision.is_none() && git.is_bare() {
        return Err(Error::Usage {
            message: format!(
                "`{}` is a bare repository without a working tree; pass `--head <rev>`",
                git.path().display()
            ),
        });
    }
    let base_inputs = InputFiles::from_git(&git, &base_revision);
    let head_inputs = match &head_revision {
        Some(revision) => InputFiles::from_git(&git, revision)?,
        None => InputFiles::from_dir(root)?,
    };
    // Identical inputs render identically: a pull request that touches
    // neither values/ nor templates/ needs one render, not two.
    let same_inputs = base_inputs.as_ref().is_ok_and(|base| base.files == head_inputs.files);
    std::thread::scope(|scope| {
        // The two renders are independent; the base renders on a second core.
        let check = &check;
        let base_job = (!same_inputs).then(|| {
            scope.spawn(move || {
                let build = base_inputs.and_then(|inputs| build::build(&inputs))?;
                let findings = check(&build);
                Ok::<_, Error>((Side::from_build(build), findings))
            })
        });
        let mut head_build = build::build(&head_inputs)?;
        let head_findings = check(&head_build);
        let head_rendered = match &head_revision {
            // Named `<rev>:rendered` in messages, as git names a tree of a revision.
            Some(revision) => {
                disk::from_files(&PathBuf::from(format!("{}:{RENDERED_DIR}", revision.name)), git.rendered(revision)?)?
            }
            None => disk::read(&root.join(RENDERED_DIR))?,
        };
        let drift = drift_gate(&mut head_build, &head_findings, &head_rendered);
        let head_side = Side::from_build(head_build);
        let base_result = base_job.map(|job| job.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        let (compared, fallback, (changes, moved, unchanged), checks) = match base_result {
            // Same inputs: the base side is the head side.
            None => {
                let checks = Checks::new(head_findings.clone(), Some(&head_findings));
                (Compared::Inputs, None, compare(&head_side, &head_side), checks)
            }
            Some(Ok((base_side, base_findings))) => {
                let checks = Checks::new(head_findings, Some(&base_findings));
                (Compared::Inputs, None, compare(&base_side, &head_side), checks)
            }
            Some(Err(error)) => {
                let base_rendered = git.rendered(&base_revision)?;
                let text = error.to_string();
                let reason = text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
                let fallback = Fallback { reason, error: text };
                let compared =
                    compare(&Side::from_rendered(&base_rendered), &Side::from_rendered(&head_rendered.files));
                (Compared::Rendered, Some(fallback), compared, Checks::new(head_findings, None))
            }
        };
        let summary = Summary {
            added: changes.iter().filter(|c| c.change == ChangeKind::Added).count(),
            removed: changes.iter().filter(|c| c.change == ChangeKind::Removed).count(),
            changed: changes.iter().filter(|c| c.change == ChangeKind::Changed).count(),
            unchanged,
            moved: moved.len(),
        };
        Ok(Report {
            schema_version: SCHEMA_VERSION,
            base: side_info(Some(&base_revision), compared),
            head: side_info(head_revision.as_ref(), compared),
            fallback,
            summary,
            changes,
            moved,
            drift,
            checks,
        })
    })
}

fn side_info(revision: Option<&Revision>, compared: Compared) -> SideInfo {
    SideInfo {
        rev: revision.map(|r| r.name.clone()),
        commit: revision.map(|r| r.commit.clone()),
        worktree: revision.is_none(),
        compared,
    }
}

fn drift_gate(build: &mut Build, findings: &Findings, committed: &disk::OnDisk) -> DriftGate {
    // The lock records the findings of the render that wrote it, as `kiln render` does.
    build.tree.record_findings(&findings.findings);
    // The same comparison as `render --diff`: foreign manifests and special
    // entries are drift too, since Argo CD would sync or follow them.
    let drift = drift::compare(&build.tree, committed);
    let paths = |changes: Vec<drift::FileChange>| changes.into_iter().map(|change| change.path).collect();
    DriftGate {
        in_sync: drift.in_sync,
        added: paths(drift.added),
        changed: paths(drift.changed),
        removed: paths(drift.removed),
        bookkeeping: drift.bookkeeping,
        foreign_manifests: drift.foreign_manifests,
        special: drift.special,
    }
}

/// Pairs the items of both sides; returns the changes and moves in display
/// order and how many items are unchanged.
pub fn compare(base: &Side, head: &Side) -> (Vec<Change>, Vec<Moved>, usize) {
    let only_head = head.items.keys().filter(|key| !base.items.contains_key(*key));
    let mut keys: Vec<&Key> = base.items.keys().chain(only_head).collect();
    keys.sort_unstable_by_key(|key| display_order(key));
    let mut changes = Vec::new();
    let mut moved = Vec::new();
    let mut unchanged = 0;
    for key in keys {
        let old = base.items.get(key);
        let new = head.items.get(key);
        let identity = match key {
            Key::Object(identity) => Some(identity),
            Key::File(_) => None,
        };
        let secret = identity.is_some_and(secret::is_secret);
        let (change, fields) = match (old, new) {
            (Some(old), Some(new)) => {
                let fields = match (&old.value, &new.value) {
                    // Canonical text is equal exactly when the objects are:
                    // most objects are unchanged and need no walk.
                    _ if old.body == new.body => Vec::new(),
                    (Some(a), Some(b)) => fields::compare(a, b),
                    _ => {
                        vec![Field { path: "(file content)".into(), change: fields::FieldChange::Changed }]
                    }
                };
                if fields.is_empty() {
                    if old.path != new.path || old.source != new.source {
                        moved.push(Moved {
                            object: identity.map(object_ref),
                            display: display(key),
                            base_path: old.path.clone(),
                            head_path: new.path.clone(),
                            base_source: old.source.clone(),
                            head_source: new.source.clone(),
                        });
                    } else {
                        unchanged += 1;
                    }
                    continue;
                }
                (ChangeKind::Changed, fields)
            }
            (None, Some(new)) => (ChangeKind::Added, secret_keys(identity, new, fields::FieldChange::Added)),
            (Some(old), None) => (ChangeKind::Removed, secret_keys(identity, old, fields::FieldChange::Removed)),
            (None, None) => continue,
        };
        let diff = match identity.filter(|identity| secret::is_secret(identity)) {
            Some(identity) => {
                let (a, b) =
                    secret::redact(identity, old.and_then(|i| i.value.as_ref()), new.and_then(|i| i.value.as_ref()));
                let text = |value: Option<serde_yaml::Value>| {
                    value.map(|value| canonical::to_yaml(&canonical::order(value))).unwrap_or_default()
                };
                unified(
                    old.as_ref().map(|i| i.path.as_str()),
                    &text(a),
                    new.as_ref().map(|i| i.path.as_str()),
                    &text(b),
                )
            }
            None => unified(
                old.as_ref().map(|i| i.path.as_str()),
                old.as_ref().map_or("", |i| i.body.as_str()),
                new.as_ref().map(|i| i.path.as_str()),
                new.as_ref().map_or("", |i| i.body.as_str()),
            ),
        };
        changes.push(Change {
            change,
            object: identity.map(object_ref),
            display: display(key),
            base_path: old.map(|i| i.path.clone()),
            head_path: new.map(|i| i.path.clone()),
            base_source: old.and_then(|i| i.source.clone()),
            head_source: new.and_then(|i| i.source.clone()),
            secret,
            fields,
            diff,
        });
    }
    (changes, moved, unchanged)
}

/// The keys of an added or removed secret, as fields; empty for other objects.
fn secret_keys(identity: Option<&Identity>, item: &Item, change: fields::FieldChange) -> Vec<Field> {
    match (identity, &item.value) {
        (Some(identity), Some(value)) if secret::is_secret(identity) => {
            secret::key_paths(identity, value).into_iter().map(|path| Field { path, change }).collect()
        }
        _ => Vec::new(),
    }
}

fn object_ref(identity: &Identity) -> ObjectRef {
    ObjectRef {
        group: identity.group.clone(),
        kind: identity.kind.clone(),
        namespace: identity.namespace.clone(),
        name: identity.name.clone(),
    }
}

fn display(key: &Key) -> String {
    match key {
        Key::Object(identity) => identity.to_string(),
        Key::File(path) => format!("{RENDERED_DIR}/{path}"),
    }
}

/// Objects by namespace (cluster-scoped first), kind and name; files last, by path.
fn display_order(key: &Key) -> (u8, &str, &str, &str, &str) {
    match key {
        Key::Object(identity) => {
            (0, identity.namespace.as_deref().unwrap_or_default(), &identity.kind, &identity.name, &identity.group)
        }
        Key::File(path) => (1, path, "", "", ""),
    }
}

fn unified(old_path: Option<&str>, old: &str, new_path: Option<&str>, new: &str) -> String {
    let label = |side: &str, path: Option<&str>| match path {
        Some(path) => format!("{side}/{RENDERED_DIR}/{path}"),
        None => "/dev/null".to_string(),
    };
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&label("a", old_path), &label("b", new_path))
        .to_string()
}
