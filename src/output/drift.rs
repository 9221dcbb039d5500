//! `render --diff`: compares the in-memory tree with `rendered/` on disk and
//! reports drift per file and per object, as text (unified diff, coloured on
//! a terminal) or JSON. Never writes.
//!
//! The gate must see everything Argo CD would sync, not only kiln's files. An
//! Argo CD directory source reads every file whose name matches
//! `^.*\.(yaml|yml|json|jsonnet)$` (`manifestFile` in `findManifests`,
//! argoproj/argo-cd `reposerver/repository/repository.go`; `.jsonnet` is
//! evaluated when Jsonnet is enabled), in the Application's `path` and, with
//! `directory.recurse`, below it, filtered by the `include`/`exclude` globs
//! (Argo CD user guide, "Directory"). The walk reads symbolic links as the
//! files they point to. kiln does not know every Application's path, recurse
//! and globs, so a file it does not own whose name matches, anywhere under
//! `rendered/`, is drift (`foreignManifests`); kiln still never deletes it.
//! Other foreign files (`README.md`, …) are kept and listed (`foreign`).
//! Entries that are not regular files or directories (symlinks, FIFOs,
//! sockets, devices) are drift wherever they are (`special`), and are never
//! followed or read: a symlink could point anywhere, `/dev/zero` never ends
//! and a FIFO blocks.
//!
//! `added`, `changed` and `removed` list the cluster's files; `SHA256SUMS`
//! and `kiln.lock` are drift too, but listed apart (`bookkeeping`, see
//! [`super::bookkeeping`]) and not diffed.

use std::fmt::Write as _;

use serde::Serialize;
use similar::TextDiff;

use super::bookkeeping::{self, split_off};
use super::disk::OnDisk;
use super::object::Identity;
use super::tree::Tree;
use super::verify::{special_entries, SpecialEntry};
use super::write::{plan, Changes};
use crate::finding::plural;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    pub in_sync: bool,
    pub added: Vec<FileChange>,
    pub changed: Vec<FileChange>,
    pub removed: Vec<FileChange>,
    /// `SHA256SUMS` and `kiln.lock` when a render would write them: drift, not counted as the cluster's changes.
    pub bookkeeping: Vec<String>,
    /// Files in `rendered/` that kiln does not own and Argo CD would not read; kept, never compared.
    pub foreign: Vec<String>,
    /// Files kiln does not own that Argo CD would sync (`*.yaml`, `*.yml`, `*.json`, `*.jsonnet`): drift.
    pub foreign_manifests: Vec<String>,
    /// Entries that are not regular files or directories: drift, never followed or read.
    pub special: Vec<SpecialEntry>,
}

#[derive(Debug, Serialize)]
pub struct FileChange {
    pub path: String,
    /// `Kind namespace/name` when the file holds a Kubernetes object.
    pub object: Option<String>,
    #[serde(skip)]
    pub diff: String,
}

impl Drift {
    /// What `compare` finds when disk holds exactly the tree.
    pub fn in_sync() -> Drift {
        Drift { in_sync: true, ..Drift::default() }
    }
}

/// Whether Argo CD's directory source would read a file of this name (see the module docs).
pub fn argo_cd_reads(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    [".yaml", ".yml", ".json", ".jsonnet"].iter().any(|extension| name.ends_with(extension))
}

/// Computes the drift between the expected tree and disk.
pub fn compare(tree: &Tree, on_disk: &OnDisk) -> Drift {
    let Changes { mut added, mut changed, mut removed, foreign } = plan(tree, on_disk);
    // Special entries are reported on their own, wherever they are, and never
    // diffed (where kiln writes a file, `plan` lists one as added and changed).
    added.retain(|path| !on_disk.special.contains_key(path));
    changed.retain(|path| !on_disk.special.contains_key(path));
    let mut bookkeeping = Vec::new();
    for paths in [&mut added, &mut changed, &mut removed] {
        split_off(paths, &mut bookkeeping);
    }
    bookkeeping.sort();
    let (foreign_manifests, foreign): (Vec<String>, Vec<String>) =
        foreign.into_iter().filter(|path| !on_disk.special.contains_key(path)).partition(|path| argo_cd_reads(path));
    let special = special_entries(on_disk);
    let change = |path: String| {
        let expected = tree.files.get(&path).map(|entry| &entry.bytes);
        let actual = on_disk.files.get(&path);
        let object = tree
            .files
            .get(&path)
            .and_then(|entry| entry.object.as_ref().map(ToString::to_string))
            .or_else(|| actual.and_then(|bytes| object_of(bytes)));
        FileChange { diff: unified(&path, actual, expected), path, object }
    };
    Drift {
        in_sync: added.is_empty()
            && changed.is_empty()
            && removed.is_empty()
            && bookkeeping.is_empty()
            && foreign_manifests.is_empty()
            && special.is_empty(),
        added: added.into_iter().map(change).collect(),
        changed: changed.into_iter().map(change).collect(),
        removed: removed.into_iter().map(change).collect(),
        bookkeeping,
        foreign,
        foreign_manifests,
        special,
    }
}

/// Identity of an object file on disk, read from its apiVersion/kind/metadata
/// and shown like the identities of rendered objects.
fn object_of(bytes: &[u8]) -> Option<String> {
    let value: serde_yaml::Value = serde_yaml::from_slice(bytes).ok()?;
    let api_version = value.get("apiVersion")?.as_str()?;
    let metadata = value.get("metadata")?;
    let identity = Identity {
        group: api_version.rsplit_once('/').map_or(String::new(), |(group, _)| group.to_string()),
        kind: value.get("kind")?.as_str()?.to_string(),
        namespace: metadata.get("namespace").and_then(|n| n.as_str()).map(str::to_string),
        name: metadata.get("name")?.as_str()?.to_string(),
    };
    Some(identity.to_string())
}

/// A unified diff of one file; a side that does not exist is `/dev/null`, as in git.
fn unified(path: &str, old: Option<&Vec<u8>>, new: Option<&Vec<u8>>) -> String {
    let label = |side: &str, bytes: Option<&Vec<u8>>| match bytes {
        Some(_) => format!("{side}/rendered/{path}"),
        None => "/dev/null".to_string(),
    };
    let (old_label, new_label) = (label("a", old), label("b", new));
    let old = String::from_utf8_lossy(old.map_or(&[][..], Vec::as_slice));
    let new = String::from_utf8_lossy(new.map_or(&[][..], Vec::as_slice));
    TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&old_label, &new_label)
        .to_string()
}

impl Drift {
    /// One summary line per changed file, then a count line.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (mark, list) in [("+", &self.added), ("~", &self.changed), ("-", &self.removed)] {
            for change in list {
                match &change.object {
                    Some(object) => {
                        let _ = writeln!(out, "{mark} {object}  (rendered/{})", change.path);
                    }
                    None => {
                        let _ = writeln!(out, "{mark} rendered/{}", change.path);
                    }
                }
            }
        }
        for path in &self.foreign_manifests {
            let _ = writeln!(out, "! rendered/{path}  (not kiln's, and Argo CD would sync it; kept)");
        }
        for entry in &self.special {
            let _ = writeln!(out, "! rendered/{}  ({}, never followed)", entry.path, entry.kind.describe());
        }
        for path in &self.foreign {
            let _ = writeln!(out, "? rendered/{path}  (not kiln's; kept)");
        }
        let _ = write!(
            out,
            "{}: {} added, {} changed, {} removed",
            if self.in_sync { "in sync" } else { "drift" },
            self.added.len(),
            self.changed.len(),
            self.removed.len()
        );
        let (manifests, special) = (self.foreign_manifests.len(), self.special.len());
        if manifests > 0 {
            let _ = write!(out, ", {manifests} {}", plural(manifests, "foreign manifest", "foreign manifests"));
        }
        if special > 0 {
            let _ = write!(out, ", {special} {}", plural(special, "special file", "special files"));
        }
        let others = self.added.len() + self.changed.len() + self.removed.len() + manifests + special;
        if let Some(only) = bookkeeping::only(&self.bookkeeping, others, bookkeeping::OUT_OF_DATE) {
            let _ = write!(out, "; {only}");
        }
        out
    }

    /// The unified diffs of every changed file, coloured when asked to.
    pub fn diffs(&self, color: bool) -> String {
        let mut out = String::new();
        for change in self.added.iter().chain(&self.changed).chain(&self.removed) {
            if color {
                out.push_str(&colorize(&change.diff));
            } else {
                out.push_str(&change.diff);
            }
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Colours the lines of a unified diff with ANSI codes (added green, removed red, hunks cyan).
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.split_inclusive('\n') {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let body = line.trim_end_matches('\n');
            let _ = write!(out, "\x1b[{code}m{body}\x1b[0m");
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
