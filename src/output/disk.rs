//! Reads what is on disk under `rendered/`: every file by relative path, and
//! the set of files kiln owns (those listed in the committed SHA256SUMS).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::tree::{parse_sums, SUMS_FILE};
use crate::diagnostic::display_path;
use crate::{fsutil, parallel, Error, Result};

#[derive(Debug, Default)]
pub struct OnDisk {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Paths listed in SHA256SUMS (plus SHA256SUMS itself); `None` when there is none.
    pub owned: Option<BTreeSet<String>>,
    pub sums: BTreeMap<String, String>,
}

impl OnDisk {
    pub fn owns(&self, path: &str) -> bool {
        self.owned.as_ref().is_some_and(|owned| owned.contains(path))
    }
}

/// Reads `dir` (which may not exist yet).
pub fn read(dir: &Path) -> Result<OnDisk> {
    if !dir.exists() {
        return Ok(OnDisk::default());
    }
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name().min_depth(1) {
        let entry = entry.map_err(|error| Error::io("read directory", dir, error.into()))?;
        if !entry.file_type().is_dir() {
            paths.push(entry.into_path());
        }
    }
    // Ten thousand small reads are mostly system-call time, which overlaps well.
    let mut files = BTreeMap::new();
    for (path, bytes) in parallel::map(paths, |path| {
        let bytes = fsutil::read(&path);
        (path, bytes)
    }) {
        let relative = path.strip_prefix(dir).unwrap_or(&path);
        files.insert(display_path(relative), bytes?);
    }
    from_files(dir, files)
}

/// A rendered tree already in memory (e.g. read from a git revision); `dir`
/// names it in messages.
pub fn from_files(dir: &Path, files: BTreeMap<String, Vec<u8>>) -> Result<OnDisk> {
    let mut on_disk = OnDisk { files, ..OnDisk::default() };
    if let Some(bytes) = on_disk.files.get(SUMS_FILE) {
        let sums = std::str::from_utf8(bytes).ok().and_then(parse_sums).ok_or_else(|| Error::Rendered {
            path: dir.join(SUMS_FILE),
            message: "SHA256SUMS is not in `<sha256>  <path>` format".into(),
            help: Some("restore it from git (`git checkout -- rendered/SHA256SUMS`) and render again".into()),
        })?;
        let mut owned: BTreeSet<String> = sums.keys().cloned().collect();
        owned.insert(SUMS_FILE.into());
        on_disk.owned = Some(owned);
        on_disk.sums = sums;
    }
    Ok(on_disk)
}
