//! Reads what is on disk under `rendered/`: every regular file by relative
//! path, the entries that are neither regular files nor directories (symlinks,
//! FIFOs, sockets, devices: listed, never followed or read), and the set of
//! files kiln owns (those listed in the committed SHA256SUMS).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::tree::{parse_sums, SUMS_FILE};
use crate::diagnostic::display_path;
use crate::{fsutil, parallel, Error, Result};

/// What a non-regular entry under `rendered/` is. kiln never follows or reads
/// one: a symlink could point anywhere, `/dev/zero` never ends, a FIFO blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Special {
    Symlink,
    Fifo,
    Socket,
    Device,
}

impl Special {
    fn of(file_type: std::fs::FileType) -> Option<Special> {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_symlink() {
            Some(Special::Symlink)
        } else if file_type.is_fifo() {
            Some(Special::Fifo)
        } else if file_type.is_socket() {
            Some(Special::Socket)
        } else if file_type.is_block_device() || file_type.is_char_device() {
            Some(Special::Device)
        } else {
            None
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Special::Symlink => "a symbolic link",
            Special::Fifo => "a FIFO",
            Special::Socket => "a socket",
            Special::Device => "a device file",
        }
    }
}

#[derive(Debug, Default)]
pub struct OnDisk {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Entries that are not regular files or directories, by relative path.
    pub special: BTreeMap<String, Special>,
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
    let mut special = BTreeMap::new();
    // walkdir does not follow symlinks unless asked, and reports them as such.
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name().min_depth(1) {
        let entry = entry.map_err(|error| Error::io("read directory", dir, error.into()))?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        if let Some(kind) = Special::of(file_type) {
            let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            special.insert(display_path(relative), kind);
        } else {
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
    let mut on_disk = from_files(dir, files)?;
    on_disk.special = special;
    Ok(on_disk)
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
