//! The input files of a render — everything under `values/` and `templates/`
//! except hidden files — read once into memory. Later stages never touch the
//! filesystem for inputs, so the same pipeline renders the working tree or a
//! git revision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::display_path;
use crate::hash;
use crate::{fsutil, parallel, Error, Result};

pub const VALUES_DIR: &str = "values";
pub const TEMPLATES_DIR: &str = "templates";

#[derive(Debug, Clone, Default)]
pub struct InputFiles {
    /// Path relative to the repository root (with `/`) → bytes.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

impl InputFiles {
    /// Reads `values/` and `templates/` under `root`; both must exist.
    pub fn from_dir(root: &Path) -> Result<Self> {
        let mut files = BTreeMap::new();
        for (dir, what) in [(VALUES_DIR, "values"), (TEMPLATES_DIR, "templates")] {
            let base = root.join(dir);
            if !base.is_dir() {
                return Err(Error::MissingDir { path: base, what });
            }
            let walker = walkdir::WalkDir::new(&base).sort_by_file_name().min_depth(1).into_iter();
            for entry in walker.filter_entry(|entry| !entry.file_name().to_string_lossy().starts_with('.')) {
                let entry = entry.map_err(|error| Error::io("read directory", base.clone(), error.into()))?;
                if entry.file_type().is_dir() {
                    continue;
                }
                let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
                // A symlink counts as what it points to; only regular files are read.
                let metadata = std::fs::metadata(entry.path())
                    .map_err(|error| Error::io("read", entry.path().to_path_buf(), error))?;
                if !metadata.is_file() {
                    let kind = special_kind(metadata.file_type());
                    return Err(Error::NotAFile { path: relative.to_path_buf(), kind });
                }
                files.insert(PathBuf::from(display_path(relative)), fsutil::read(entry.path())?);
            }
        }
        Ok(InputFiles { files })
    }

    /// Files below `dir` (e.g. `values`), sorted by path.
    pub fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a PathBuf, &'a Vec<u8>)> + 'a {
        self.files.iter().filter(move |(path, _)| path.starts_with(dir))
    }

    pub fn get(&self, path: &Path) -> Option<&Vec<u8>> {
        self.files.get(path)
    }

    /// sha256 of every input, keyed by display path, as recorded in the lock.
    pub fn hashes(&self) -> BTreeMap<String, String> {
        // Every render hashes its inputs before anything else (to know whether
        // it may answer from the lock): on every core.
        let hashed =
            parallel::map(self.files.iter().collect(), |(path, bytes)| (display_path(path), hash::sha256(bytes)));
        hashed.into_iter().collect()
    }
}

fn special_kind(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device file"
    } else {
        "a special file"
    }
}
