//! Filesystem wrappers whose errors always name the path they touched.

use std::fs;
use std::path::Path;

use crate::{Error, Result};

pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| Error::io("read", path, source))
}

/// Writes a file whose directory already exists.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|source| Error::io("write", path, source))
}

/// Creates one directory that must not exist yet.
pub fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir(path).map_err(|source| Error::io("create directory", path, source))
}

pub fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|source| Error::io("create directory", path, source))
}

pub fn remove_dir_all(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove directory", path, error)),
        _ => Ok(()),
    }
}

pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|source| Error::io("rename", from, source))
}

/// Links `from` to `to` (whose directory already exists); a symlink is linked
/// itself, never followed.
pub fn hard_link(from: &Path, to: &Path) -> Result<()> {
    fs::hard_link(from, to).map_err(|source| Error::io("link", from, source))
}

/// Links `from` to `to` (whose directory already exists) so an unchanged file
/// keeps its inode and mtime; copies when the filesystem cannot link.
pub fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(|_| ()).map_err(|source| Error::io("copy", from, source))
}
