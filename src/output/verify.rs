//! `kiln verify`: checks `rendered/` against its own SHA256SUMS and the lock
//! against today's inputs, without running any template.
//!
//! It checks a chain, each link once: every file on disk against its
//! SHA256SUMS line (and no file outside the list, no entry that is not a
//! regular file or directory: those are named, never followed or read); then
//! the lock's outputs digest against the files SHA256SUMS lists. When both
//! hold, the lock's outputs digest is the digest of the tree on disk, so a
//! forged `kiln.lock` fails whether or not SHA256SUMS was edited to match it.
//! Last, the lock's inputs digest against today's inputs.
//!
//! [`reusable`] is the same check as a precondition: a tree that verifies,
//! whose lock names today's inputs and this kiln build, is what a render
//! would write again, so `kiln render` and `render --diff` answer from the
//! lock (see `commands`). It reads the lock alone first, so a render whose
//! inputs changed pays one small read for it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::bookkeeping::is_bookkeeping;
use super::disk::{self, OnDisk, Special};
use super::tree::{inputs_digest, outputs_digest, sums_text, Lock, LOCK_FILE, SUMS_FILE};
use crate::hash;
use crate::{parallel, Error, Result};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Listed in SHA256SUMS but the bytes differ.
    pub modified: Vec<String>,
    /// Listed in SHA256SUMS but absent.
    pub missing: Vec<String>,
    /// Present but not listed.
    pub unlisted: Vec<String>,
    /// Entries that are not regular files or directories (listed or not); never followed or read.
    pub special: Vec<SpecialEntry>,
    /// SHA256SUMS parses but is not byte for byte what kiln writes for its entries.
    pub sums_not_canonical: bool,
    /// The lock's outputs digest is not the digest of the files SHA256SUMS lists.
    pub outputs_digest_mismatch: bool,
    /// Inputs whose hash differs from the lock (added, removed or edited since the last render).
    pub stale_inputs: Vec<String>,
    pub files_checked: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecialEntry {
    pub path: String,
    pub kind: Special,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.modified.is_empty()
            && self.missing.is_empty()
            && self.unlisted.is_empty()
            && self.special.is_empty()
            && !self.sums_not_canonical
            && !self.outputs_digest_mismatch
            && self.stale_inputs.is_empty()
    }
}

/// The entries of `on_disk` that are not regular files or directories.
pub fn special_entries(on_disk: &OnDisk) -> Vec<SpecialEntry> {
    on_disk.special.iter().map(|(path, kind)| SpecialEntry { path: path.clone(), kind: *kind }).collect()
}

/// Verifies `on_disk` (read from `dir`) against `inputs` (path → sha256 of every input file today).
pub fn verify(dir: &Path, on_disk: &OnDisk, inputs: &BTreeMap<String, String>) -> Result<Report> {
    if on_disk.owned.is_none() {
        return Err(Error::Rendered {
            path: dir.join(SUMS_FILE),
            message: "rendered/ has no SHA256SUMS".into(),
            help: Some("run `kiln render` to create the tree and its hashes".into()),
        });
    }
    // Every byte of the tree counts: the entries' hashes cover the other
    // files, and SHA256SUMS itself must be exactly what kiln writes for them.
    let canonical = sums_text(&on_disk.sums);
    let sums_not_canonical = on_disk.files.get(SUMS_FILE).is_some_and(|bytes| *bytes != canonical.as_bytes());
    let mut report = Report { special: special_entries(on_disk), sums_not_canonical, ..Report::default() };
    // Hashing is most of verify's work and independent per file.
    let listed: Vec<(&String, &String)> = on_disk.sums.iter().collect();
    let matches = parallel::map(listed, |(path, expected)| {
        (path, on_disk.files.get(path).map(|bytes| hash::sha256(bytes) == *expected))
    });
    for (path, matched) in matches {
        match matched {
            // Reported as special already: it is there, but not a file.
            None if on_disk.special.contains_key(path) => {}
            None => report.missing.push(path.clone()),
            Some(matched) => {
                report.files_checked += 1;
                if !matched {
                    report.modified.push(path.clone());
                }
            }
        }
    }
    for path in on_disk.files.keys() {
        if path != SUMS_FILE && !on_disk.sums.contains_key(path) {
            report.unlisted.push(path.clone());
        }
    }
    // A deleted or damaged lock that SHA256SUMS lists is already reported
    // above, as a failed check; the inputs cannot be compared against it.
    let lock_reported = report.missing.iter().chain(&report.modified).any(|path| path == LOCK_FILE);
    let lock = match read_lock(dir, on_disk) {
        Ok(lock) => lock,
        Err(_) if lock_reported => return Ok(report),
        Err(error) => return Err(error),
    };
    report.outputs_digest_mismatch = lock.outputs_digest != outputs_digest(&on_disk.sums);
    if inputs_digest(&lock.inputs) != lock.inputs_digest {
        // Its per-file list and its digest disagree: the lock was edited.
        report.stale_inputs.push(LOCK_FILE.into());
    } else if inputs_digest(inputs) != lock.inputs_digest {
        for (path, sha) in inputs {
            if lock.inputs.get(path) != Some(sha) {
                report.stale_inputs.push(path.clone());
            }
        }
        for path in lock.inputs.keys() {
            if !inputs.contains_key(path) {
                report.stale_inputs.push(path.clone());
            }
        }
        report.stale_inputs.sort();
    }
    Ok(report)
}

/// Whether a render can answer from `rendered/kiln.lock`.
pub enum Reuse {
    /// The tree verifies and its lock was written by this build from these
    /// inputs; `files` counts the cluster's files (not SHA256SUMS and the lock).
    Lock { lock: Lock, files: usize },
    /// Why the full render must run.
    Render(&'static str),
}

/// Checks whether the tree in `dir` is what rendering `inputs` (path →
/// sha256) with this kiln would write. Any doubt means a full render, which
/// then reports whatever is wrong in its own words.
pub fn reusable(dir: &Path, inputs: &BTreeMap<String, String>) -> Reuse {
    // A staging or set-aside tree (of a render killed midway, or of one
    // running now): the full render recovers or waits for it.
    if super::swap::has_leftovers(&super::swap::Names::of(dir)) {
        return Reuse::Render("a render that stopped midway left its staging directories");
    }
    let path = dir.join(LOCK_FILE);
    // Only a regular file is read: never a symlink, FIFO or device.
    if !std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_file()) {
        return Reuse::Render("rendered/kiln.lock is absent or not a regular file");
    }
    let Ok(bytes) = std::fs::read(&path) else {
        return Reuse::Render("rendered/kiln.lock cannot be read");
    };
    let Ok(lock) = serde_yaml::from_slice::<Lock>(&bytes) else {
        return Reuse::Render("rendered/kiln.lock is not a lock this kiln reads");
    };
    if !lock.written_by_this_build() {
        return Reuse::Render("rendered/kiln.lock was written by another kiln version or build");
    }
    if lock.inputs_digest != inputs_digest(inputs) {
        return Reuse::Render("the inputs changed since rendered/kiln.lock was written");
    }
    let Ok(on_disk) = disk::read(dir) else {
        return Reuse::Render("rendered/ cannot be read");
    };
    // The lock that verifies must be the one checked above.
    if on_disk.files.get(LOCK_FILE) != Some(&bytes) {
        return Reuse::Render("rendered/kiln.lock changed while kiln read it");
    }
    match verify(dir, &on_disk, inputs) {
        Ok(report) if report.ok() => {
            Reuse::Lock { lock, files: on_disk.sums.keys().filter(|path| !is_bookkeeping(path)).count() }
        }
        _ => Reuse::Render("rendered/ does not verify (see `kiln verify`)"),
    }
}

fn read_lock(dir: &Path, on_disk: &OnDisk) -> Result<Lock> {
    let bytes = on_disk.files.get(LOCK_FILE).ok_or_else(|| Error::Rendered {
        path: dir.join(LOCK_FILE),
        message: "rendered/ has no kiln.lock".into(),
        help: Some("run `kiln render` to write it".into()),
    })?;
    serde_yaml::from_slice(bytes).map_err(|error| Error::Rendered {
        path: dir.join(LOCK_FILE),
        message: format!("kiln.lock is not readable: {error}"),
        help: Some("restore it from git or run `kiln render`".into()),
    })
}

impl Report {
    pub fn to_text(&self) -> String {
        let mut lines = Vec::new();
        for (label, list) in [
            ("modified (hash differs from SHA256SUMS)", &self.modified),
            ("missing (listed in SHA256SUMS)", &self.missing),
            ("unlisted (not in SHA256SUMS)", &self.unlisted),
        ] {
            for path in list {
                lines.push(format!("{label}: rendered/{path}"));
            }
        }
        for entry in &self.special {
            lines.push(format!(
                "not a regular file ({}, never followed): rendered/{}",
                entry.kind.describe(),
                entry.path
            ));
        }
        if self.sums_not_canonical {
            lines.push(format!("not as kiln writes it (sorted `<sha256>  <path>` lines): rendered/{SUMS_FILE}"));
        }
        if self.outputs_digest_mismatch {
            lines.push(format!(
                "lock does not match SHA256SUMS (its outputs digest is not the digest of the listed files): rendered/{LOCK_FILE}"
            ));
        }
        for path in &self.stale_inputs {
            lines.push(format!("input changed since the last render: {path}"));
        }
        if self.ok() {
            lines.push(format!(
                "verified: {} files match SHA256SUMS and the lock matches the inputs",
                self.files_checked
            ));
        } else {
            lines
                .push("verify failed: run `kiln render` and commit rendered/, or restore the edited files".to_string());
        }
        lines.join("\n")
    }
}
