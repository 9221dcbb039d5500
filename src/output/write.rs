//! Writes a tree to `rendered/` atomically and only touching what kiln owns.
//!
//! A [`Writer`] comes first: it checks that `rendered/` can be swapped and
//! cleaned up, takes the one-writer lock ([`super::lock`]) and tidies what a
//! render that died left behind ([`super::swap`]). The new tree is then
//! assembled in `.rendered.kiln-staging.<pid>` next to `rendered/`: unchanged
//! files are hard-linked (so their bytes and mtime stay), changed ones
//! written, foreign files (not in the previous SHA256SUMS) carried over. Then
//! it is made durable and swapped in in one step. Any error before the swap
//! leaves `rendered/` byte-identical; a render with no changes writes nothing.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use super::disk::{self, OnDisk};
use super::lock::Lock;
use super::swap::{self, Names};
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

/// The one writer of a `rendered/` directory: checked, locked and tidied up
/// before anything is rendered, held until the process is done with it.
#[derive(Debug)]
pub struct Writer {
    names: Names,
    _lock: Lock,
    /// Leftovers of earlier runs that could not be removed.
    pub warnings: Vec<String>,
}

impl Writer {
    /// Refuses a place kiln could not write, takes the lock (or fails naming
    /// the render that holds it), tidies what a render that died left behind,
    /// and refuses a `rendered/` that could not be swapped and cleaned up.
    pub fn start(dir: &Path) -> Result<Writer> {
        let names = Names::of(dir);
        swap::check_place(&names).map_err(swap::into_before_swap)?;
        // Refuse before creating even the lock file; a walk that fails here
        // may be racing a running render's swap, so only a refusal counts
        // until the check under the lock.
        if let Err(refusal @ Error::Rendered { .. }) = swap::check_tree(&names) {
            return Err(refusal);
        }
        let lock = Lock::acquire(&names.lock())?;
        let warnings = swap::recover(&names).map_err(swap::into_before_swap)?;
        swap::check_tree(&names).map_err(swap::into_before_swap)?;
        Ok(Writer { names, _lock: lock, warnings })
    }
}

/// Tidies what a render that died left beside `dir`, for commands that only
/// read it. A running render holds the lock and owns those paths, so nothing
/// is touched then (the exchange lets readers see the old tree or the new
/// one); nothing is created when there is nothing to tidy.
pub fn recover_for_reading(dir: &Path) -> Result<Vec<String>> {
    let names = Names::of(dir);
    if !swap::has_leftovers(&names) {
        return Ok(Vec::new());
    }
    // Without a lock file (a read-only checkout) this reader cannot tidy.
    let Ok(Some(_lock)) = Lock::try_acquire(&names.lock()) else {
        return Ok(Vec::new());
    };
    swap::recover(&names).map_err(swap::into_before_swap)
}

/// What a write did, and what went wrong after the swap (never an error: the
/// new tree is in place and the next render cleans up).
#[derive(Debug)]
pub struct Written {
    pub changes: Changes,
    pub warnings: Vec<String>,
}

/// Writes `tree` into the writer's directory.
pub fn write(tree: &Tree, writer: &Writer) -> Result<Written> {
    let dir = &writer.names.dir;
    let on_disk = disk::read(dir).map_err(swap::into_before_swap)?;
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
        return Ok(Written { changes, warnings: Vec::new() });
    }
    let staging = writer.names.staging();
    fsutil::create_dir(&staging).map_err(swap::into_before_swap)?;
    let staged = stage(tree, &on_disk, dir, &staging, &changes).and_then(|()| swap::swap_in(&writer.names, &staging));
    match staged {
        Ok(warnings) => Ok(Written { changes, warnings }),
        Err(error) => {
            let _ = fsutil::remove_dir_all(&staging);
            Err(swap::into_before_swap(error))
        }
    }
}

fn stage(tree: &Tree, on_disk: &OnDisk, dir: &Path, staging: &Path, changes: &Changes) -> Result<()> {
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
    let place = |(path, bytes): (&String, Option<&[u8]>)| match bytes {
        Some(bytes) => fsutil::write(&staging.join(path), bytes),
        // A link to a special entry links the entry itself (linkat without
        // AT_SYMLINK_FOLLOW); copying would follow it.
        None if on_disk.special.contains_key(path.as_str()) => fsutil::hard_link(&dir.join(path), &staging.join(path)),
        None => fsutil::link_or_copy(&dir.join(path), &staging.join(path)),
    };
    if work.len() < EARLY_FLUSH_FILES {
        return parallel::map(work, place).into_iter().collect();
    }
    // The swap waits for one syncfs of the whole staged tree. Written in
    // parts, with a syncfs started on another thread after each part but the
    // last, the disk takes each part while kiln writes the next, so the final
    // syncfs waits for the last part only (the disk works while kiln does).
    let mut parts = Vec::with_capacity(EARLY_FLUSH_PARTS);
    let size = work.len().div_ceil(EARLY_FLUSH_PARTS);
    while work.len() > size {
        let rest = work.split_off(size);
        parts.push(std::mem::replace(&mut work, rest));
    }
    parts.push(work);
    std::thread::scope(|scope| {
        let last = parts.len().saturating_sub(1);
        let mut flushes = Vec::new();
        let mut written: Result<()> = Ok(());
        for (index, part) in parts.into_iter().enumerate() {
            written = parallel::map(part, place).into_iter().collect();
            if written.is_err() {
                break;
            }
            if index < last {
                flushes.push(scope.spawn(|| swap::sync_filesystem(staging)));
            }
        }
        // The scope joins every flush before it returns; the first error is kept.
        let flushed: io::Result<()> = flushes.into_iter().try_for_each(|flush| {
            flush.join().unwrap_or_else(|_| Err(io::Error::other("the flushing thread panicked")))
        });
        written?;
        flushed.map_err(|source| swap::before_swap("flush the staged tree to disk", staging, source))
    })
}

/// Parts of a large staged tree, each flushed while the next is written.
const EARLY_FLUSH_PARTS: usize = 4;

/// Below this many files the staged tree is flushed once, at the swap.
const EARLY_FLUSH_FILES: usize = 1024;
