//! Writes a tree to `rendered/` atomically and only touching what kiln owns.
//!
//! The new tree is assembled in a staging directory next to `rendered/`:
//! unchanged files are hard-linked (so their bytes and mtime stay), changed
//! ones written, foreign files (not in the previous SHA256SUMS) carried over.
//! Then the staging directory is swapped in. Any error before the swap leaves
//! `rendered/` byte-identical; a render with no changes writes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::disk::{self, OnDisk};
use super::tree::Tree;
use crate::{fsutil, parallel, Error, Result};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Files kiln did not write and keeps.
    pub foreign: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Compares `tree` with what is on disk.
pub fn plan(tree: &Tree, on_disk: &OnDisk) -> Changes {
    let mut changes = Changes::default();
    for (path, entry) in &tree.files {
        match on_disk.files.get(path) {
            None => changes.added.push(path.clone()),
            Some(bytes) if *bytes != entry.bytes => changes.changed.push(path.clone()),
            Some(_) => {}
        }
    }
    // A symlink, FIFO or device where kiln writes a file is replaced, never
    // followed; elsewhere it is kept like any file kiln did not write.
    for path in on_disk.special.keys() {
        if tree.files.contains_key(path) {
            changes.changed.push(path.clone());
        }
    }
    changes.changed.sort();
    for path in on_disk.files.keys().chain(on_disk.special.keys()) {
        if tree.files.contains_key(path) {
            continue;
        }
        if on_disk.owns(path) {
            changes.removed.push(path.clone());
        } else {
            changes.foreign.push(path.clone());
        }
    }
    changes
}

/// Writes `tree` into `dir`.
pub fn write(tree: &Tree, dir: &Path) -> Result<Changes> {
    let staging = sibling(dir, "staging");
    let old = sibling(dir, "old");
    recover(dir, &old)?;
    // Leftovers of a run that crashed mid-write are kiln's own scratch space.
    fsutil::remove_dir_all(&staging)?;
    fsutil::remove_dir_all(&old)?;
    let on_disk = disk::read(dir)?;
    let changes = plan(tree, &on_disk);
    // A file kiln would overwrite but never wrote belongs to someone else.
    for path in &changes.changed {
        if !on_disk.owns(path) {
            return Err(Error::Rendered {
                path: dir.join(path),
                message: "kiln would overwrite a file it does not own (it is not in SHA256SUMS)".into(),
                help: Some("move the file out of rendered/ or delete it, then render again".into()),
            });
        }
    }
    if changes.is_empty() {
        return Ok(changes);
    }
    let staged = stage(tree, &on_disk, dir, &staging, &changes);
    if let Err(error) = staged {
        let _ = fsutil::remove_dir_all(&staging);
        return Err(error);
    }
    swap(dir, &staging, &old)?;
    Ok(changes)
}

/// A run that crashed between moving `rendered/` aside and moving the staged
/// tree in leaves only the old tree; put it back so ownership is not lost.
fn recover(dir: &Path, old: &Path) -> Result<()> {
    if !dir.exists() && old.is_dir() {
        fsutil::rename(old, dir)?;
    }
    Ok(())
}

fn sibling(dir: &Path, purpose: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rendered".into());
    dir.with_file_name(format!(".{name}.kiln-{purpose}"))
}

fn stage(tree: &Tree, on_disk: &OnDisk, dir: &Path, staging: &Path, changes: &Changes) -> Result<()> {
    fsutil::create_dir_all(staging)?;
    // Each directory once, up front: ten thousand files share a few hundred
    // directories, and creating parents per file costs two syscalls a file.
    let parents: BTreeSet<&Path> =
        tree.files.keys().chain(&changes.foreign).filter_map(|path| Path::new(path).parent()).collect();
    for parent in parents {
        fsutil::create_dir_all(&staging.join(parent))?;
    }
    // A set, not the lists: looking each file up in a list is quadratic on a first render.
    let rewritten: BTreeSet<&String> = changes.added.iter().chain(&changes.changed).collect();
    let mut work: Vec<(&String, Option<&[u8]>)> = tree
        .files
        .iter()
        .map(|(path, entry)| (path, rewritten.contains(path).then_some(entry.bytes.as_slice())))
        .collect();
    work.extend(changes.foreign.iter().map(|path| (path, None)));
    // Creating files is mostly file-system time, which overlaps well.
    let results = parallel::map(work, |(path, bytes)| match bytes {
        Some(bytes) => fsutil::write(&staging.join(path), bytes),
        // A link to a special entry links the entry itself (linkat without
        // AT_SYMLINK_FOLLOW); copying would follow it.
        None if on_disk.special.contains_key(path.as_str()) => fsutil::hard_link(&dir.join(path), &staging.join(path)),
        None => fsutil::link_or_copy(&dir.join(path), &staging.join(path)),
    });
    results.into_iter().collect()
}

/// Moves the old tree aside, the staged tree in, and deletes the old tree.
fn swap(dir: &Path, staging: &Path, old: &Path) -> Result<()> {
    let had_old = dir.exists();
    if had_old {
        fsutil::rename(dir, old)?;
    }
    if let Err(error) = fsutil::rename(staging, dir) {
        if had_old {
            let _ = fsutil::rename(old, dir);
        }
        let _ = fsutil::remove_dir_all(staging);
        return Err(error);
    }
    fsutil::remove_dir_all(old)
}
