//! `kiln verify`: checks `rendered/` against its own SHA256SUMS and the lock
//! against today's inputs, without running any template.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::disk::OnDisk;
use super::tree::{digest_lines, Lock, LOCK_FILE, SUMS_FILE};
use crate::render::filters::hex;
use crate::{Error, Result};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Listed in SHA256SUMS but the bytes differ.
    pub modified: Vec<String>,
    /// Listed in SHA256SUMS but absent.
    pub missing: Vec<String>,
    /// Present but not listed.
    pub unlisted: Vec<String>,
    /// Inputs whose hash differs from the lock (added, removed or edited since the last render).
    pub stale_inputs: Vec<String>,
    pub files_checked: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.modified.is_empty() && self.missing.is_empty() && self.unlisted.is_empty() && self.stale_inputs.is_empty()
    }
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
    let mut report = Report::default();
    for (path, expected) in &on_disk.sums {
        match on_disk.files.get(path) {
            None => report.missing.push(path.clone()),
            Some(bytes) => {
                report.files_checked += 1;
                if hex(&Sha256::digest(bytes)) != *expected {
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
    let today = digest_lines(inputs.iter().map(|(path, sha)| (path.as_str(), sha.as_str())));
    if today != lock.inputs_digest {
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
        if report.stale_inputs.is_empty() {
            // The per-file list agrees but the digest does not: the lock was edited.
            report.stale_inputs.push(LOCK_FILE.into());
        }
    }
    Ok(report)
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
