//! Puts a staged tree in place of `rendered/` so that, whenever the process
//! dies, `rendered/` is the old tree or the new one; checks up front that the
//! swap can succeed; and tidies what a render that died left beside it.
//!
//! Facts this relies on (Linux man-pages, man7.org/linux/man-pages/man2/):
//! - syncfs(2): "syncfs() is like sync(), but synchronizes just the filesystem
//!   containing file referred to by the open file descriptor fd", and since
//!   Linux 5.8 it reports writeback errors. One call makes every staged file
//!   and directory durable; the staging directory is on the same filesystem as
//!   `rendered/` (checked below), so that is the filesystem that matters.
//! - rename(2), `RENAME_EXCHANGE`: "Atomically exchange oldpath and newpath.
//!   Both pathnames must exist but may be of different types (e.g., one could
//!   be a non-empty directory and the other a symbolic link)." The staged tree
//!   becomes `rendered/` and the old tree takes the staging name in one step,
//!   so a reader opens files of the old tree or of the new one, never a gap.
//!   `RENAME_NOREPLACE` ("Don't overwrite newpath of the rename") places the
//!   first tree. `EINVAL` means the filesystem does not support the flag;
//!   kernels before 3.15 (or seccomp filters) answer `ENOSYS`.
//! - rename(2) without flags can only replace an empty directory, so the
//!   fallback is two renames: `rendered/` to `.rendered.kiln-old.<pid>`, then
//!   the staged tree in. A process that dies between them leaves no
//!   `rendered/`; [`recover`] (run by every command that reads `rendered/`)
//!   renames the old tree back.
//! - rename(2), `EXDEV`: "oldpath and newpath are not on the same mounted
//!   filesystem. (Linux permits a filesystem to be mounted at multiple points,
//!   but rename() does not work across different mount points, even if the
//!   same filesystem is mounted on both.)" Hence the check compares the mount
//!   (statx(2) `STATX_MNT_ID`, Linux 5.8) as well as `st_dev`.
//! - rename(2) `EACCES` lists write permission on a directory being moved
//!   ("needed to update the .. entry"), which Linux checks only when the
//!   parent changes; the swap itself works in a read-only `rendered/`. It is
//!   removing the old tree afterwards that needs write permission on every
//!   directory of it, so the check walks them (access(2) with `AT_EACCESS`:
//!   the effective ids, which unlink uses; root passes unless the filesystem
//!   is read-only).
//! - After the swap, the parent directory is fsync'd (fsync(2): "Calling
//!   fsync() does not necessarily ensure that the entry in the directory
//!   containing the file has also reached disk. For that an explicit fsync()
//!   on a file descriptor for the directory is also needed.").

use std::io;
use std::path::{Path, PathBuf};

use crate::{fsutil, Error, Result};

/// The paths kiln uses beside `rendered/`: `.rendered.kiln-lock`,
/// `.rendered.kiln-staging.<pid>` and `.rendered.kiln-old.<pid>`.
#[derive(Debug, Clone)]
pub struct Names {
    pub dir: PathBuf,
    parent: PathBuf,
    name: String,
}

/// What a leftover beside `rendered/` was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Staging,
    Old,
}

impl Names {
    pub fn of(dir: &Path) -> Names {
        let name = dir.file_name().map_or_else(|| "rendered".into(), |name| name.to_string_lossy().into_owned());
        let parent = match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Names { dir: dir.to_path_buf(), parent, name }
    }

    pub fn lock(&self) -> PathBuf {
        self.parent.join(format!(".{}.kiln-lock", self.name))
    }

    pub fn staging(&self) -> PathBuf {
        self.sibling(Purpose::Staging)
    }

    fn sibling(&self, purpose: Purpose) -> PathBuf {
        let purpose = match purpose {
            Purpose::Staging => "staging",
            Purpose::Old => "old",
        };
        self.parent.join(format!(".{}.kiln-{purpose}.{}", self.name, std::process::id()))
    }

    /// `.rendered.kiln-staging` / `.rendered.kiln-old`, optionally `.<pid>`
    /// (older kiln versions used no pid).
    fn purpose_of(&self, file_name: &str) -> Option<Purpose> {
        let rest = file_name.strip_prefix('.')?.strip_prefix(self.name.as_str())?.strip_prefix(".kiln-")?;
        let (purpose, pid) = rest.split_once('.').unwrap_or((rest, "0"));
        if pid.is_empty() || !pid.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        match purpose {
            "staging" => Some(Purpose::Staging),
            "old" => Some(Purpose::Old),
            _ => None,
        }
    }

    /// Leftovers of earlier runs, sorted by name.
    fn leftovers(&self) -> Result<Vec<(PathBuf, Purpose)>> {
        let entries =
            std::fs::read_dir(&self.parent).map_err(|source| Error::io("read directory", &self.parent, source))?;
        let mut leftovers: Vec<(PathBuf, Purpose)> = entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let purpose = self.purpose_of(&entry.file_name().to_string_lossy())?;
                Some((entry.path(), purpose))
            })
            .collect();
        leftovers.sort_by(|(a, _), (b, _)| a.cmp(b));
        Ok(leftovers)
    }
}

const NOTHING_CHANGED: &str = "then render again; nothing was changed";

/// Refuses, before anything is created, a place kiln could not write:
/// `rendered` is not a directory, or the directory holding it is not writable.
pub fn check_place(names: &Names) -> Result<()> {
    match std::fs::symlink_metadata(&names.dir) {
        Ok(metadata) if !metadata.is_dir() => {
            let what = if metadata.file_type().is_symlink() { "a symbolic link" } else { "a file" };
            return Err(Error::Rendered {
                path: names.dir.clone(),
                message: format!("`{}` is {what}, not a directory", names.name),
                help: Some(format!(
                    "move it out of the way (kiln writes {}/ as a directory), {NOTHING_CHANGED}",
                    names.name
                )),
            });
        }
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(Error::io("inspect", &names.dir, source)),
    }
    writable(&names.parent).map_err(|source| Error::Rendered {
        path: names.parent.clone(),
        message: format!("the directory holding {}/ is not writable: {source}", names.name),
        help: Some(format!(
            "kiln stages the new tree and keeps its lock file there: make it writable (`chmod u+w`), {NOTHING_CHANGED}"
        )),
    })
}

/// Refuses, before anything is staged or renamed, a `rendered/` kiln could
/// not swap and clean up: a directory in it is not writable, or it is on
/// another mount than its parent. Runs under the lock: a tree another render
/// is swapping out would vanish under the walk.
pub fn check_tree(names: &Names) -> Result<()> {
    if !names.dir.is_dir() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(&names.dir) {
        let entry = entry.map_err(|error| Error::io("read directory", &names.dir, error.into()))?;
        if !entry.file_type().is_dir() {
            continue;
        }
        writable(entry.path()).map_err(|source| Error::Rendered {
            path: entry.path().to_path_buf(),
            message: format!("a directory in {}/ is not writable: {source}", names.name),
            help: Some(format!(
                "kiln replaces the whole tree and removes the old one: make it writable (`chmod -R u+w {}`), {NOTHING_CHANGED}",
                names.name
            )),
        })?;
    }
    if mount_of(&names.dir)? != mount_of(&names.parent)? {
        return Err(Error::Rendered {
            path: names.dir.clone(),
            message: format!(
                "{}/ is on another filesystem or mount than the directory holding it, so kiln cannot swap a new tree in",
                names.name
            ),
            help: Some(format!("make {}/ a plain directory of the repository (not a mount point), {NOTHING_CHANGED}", names.name)),
        });
    }
    Ok(())
}

fn writable(path: &Path) -> io::Result<()> {
    use rustix::fs::{accessat, Access, AtFlags, CWD};
    accessat(CWD, path, Access::WRITE_OK | Access::EXEC_OK, AtFlags::EACCESS).map_err(io::Error::from)
}

/// The device and, where the kernel reports it, the mount of `path`.
fn mount_of(path: &Path) -> Result<(u64, Option<u64>)> {
    use std::os::unix::fs::MetadataExt as _;
    let device = std::fs::metadata(path).map_err(|source| Error::io("inspect", path, source))?.dev();
    Ok((device, mount_id(path)))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn mount_id(path: &Path) -> Option<u64> {
    use rustix::fs::{statx, AtFlags, StatxFlags, CWD};
    let status = statx(CWD, path, AtFlags::empty(), StatxFlags::MNT_ID).ok()?;
    (status.stx_mask & StatxFlags::MNT_ID.bits() != 0).then_some(status.stx_mnt_id)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn mount_id(_path: &Path) -> Option<u64> {
    None
}

/// Whether a render that died left anything beside `rendered/` (read-only).
pub fn has_leftovers(names: &Names) -> bool {
    names.leftovers().is_ok_and(|leftovers| !leftovers.is_empty())
}

/// Tidies what a render that died left beside `rendered/`; the caller holds
/// the lock, so no live render owns any of it. A tree moved aside by the
/// fallback swap is put back when `rendered/` is missing; everything else is
/// scratch space and removed. Returns warnings for leftovers it could not
/// remove (they never fail a command: the next run tries again).
pub fn recover(names: &Names) -> Result<Vec<String>> {
    let mut leftovers = names.leftovers()?;
    if !names.dir.exists() {
        // Under the lock at most one render can have died between its two renames.
        let moved_aside = leftovers.iter().rposition(|(_, purpose)| *purpose == Purpose::Old);
        if let Some(index) = moved_aside {
            let (old, _) = leftovers.remove(index);
            std::fs::rename(&old, &names.dir).map_err(|source| Error::Rendered {
                path: old.clone(),
                message: format!(
                    "an interrupted render left {}/ here, and kiln could not move it back: {source}",
                    names.name
                ),
                help: Some(format!("rename it to `{}` by hand, then render again", names.dir.display())),
            })?;
        }
    }
    Ok(leftovers.iter().filter_map(|(path, _)| remove_leftover(path).err()).collect())
}

fn remove_leftover(path: &Path) -> std::result::Result<(), String> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) => Err(error),
    };
    match removed {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(format!(
            "warning: could not remove `{}`, left by an earlier render: {error}; kiln tries again on the next render, or remove it by hand",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// Makes the staged tree durable and swaps it in as `rendered/`, then
/// removes the old tree. Any error is returned before `rendered/` changed;
/// what fails after the swap is only a warning (the next run cleans up).
pub fn swap_in(names: &Names, staging: &Path) -> Result<Vec<String>> {
    sync_filesystem(staging).map_err(|source| before_swap("flush the staged tree to disk", staging, source))?;
    let old = if names.dir.exists() { replace(names, staging)? } else { place_first(names, staging)? };
    let mut warnings = Vec::new();
    if let Err(error) = std::fs::File::open(&names.parent).and_then(|parent| parent.sync_all()) {
        warnings.push(format!(
            "warning: {}/ was replaced, but flushing `{}` failed: {error}; a power loss now could bring back the previous tree",
            names.name,
            names.parent.display()
        ));
    }
    if let Some(old) = old {
        if let Err(error) = std::fs::remove_dir_all(&old) {
            warnings.push(format!(
                "warning: {}/ was replaced, but kiln could not remove the previous tree `{}`: {error}; the next render removes it",
                names.name,
                old.display()
            ));
        }
    }
    Ok(warnings)
}

/// Swaps `staging` with an existing `rendered/`; returns where the old tree is.
fn replace(names: &Names, staging: &Path) -> Result<Option<PathBuf>> {
    match exchange(staging, &names.dir) {
        Ok(()) => return Ok(Some(staging.to_path_buf())),
        Err(error) if !unsupported(&error) => return Err(before_swap("swap in the staged tree", &names.dir, error)),
        Err(_) => {}
    }
    let old = names.sibling(Purpose::Old);
    fsutil::rename(&names.dir, &old).map_err(into_before_swap)?;
    if let Err(error) = std::fs::rename(staging, &names.dir) {
        // Put the old tree back; if even that fails, recovery does it next time.
        let _ = std::fs::rename(&old, &names.dir);
        return Err(before_swap("move the staged tree in", staging, error));
    }
    Ok(Some(old))
}

/// Moves `staging` in where there is no `rendered/` yet.
fn place_first(names: &Names, staging: &Path) -> Result<Option<PathBuf>> {
    let placed = match rename_noreplace(staging, &names.dir) {
        Err(error) if unsupported(&error) => std::fs::rename(staging, &names.dir),
        placed => placed,
    };
    placed.map_err(|source| before_swap("move the staged tree in", staging, source))?;
    Ok(None)
}

fn unsupported(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(code) if code == rustix::io::Errno::INVAL.raw_os_error() || code == rustix::io::Errno::NOSYS.raw_os_error())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(staging: &Path, dir: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, staging, CWD, dir, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn rename_noreplace(staging: &Path, dir: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, staging, CWD, dir, RenameFlags::NOREPLACE).map_err(io::Error::from)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn sync_filesystem(staging: &Path) -> io::Result<()> {
    let directory = std::fs::File::open(staging)?;
    rustix::fs::syncfs(&directory).map_err(io::Error::from)
}

// Elsewhere: the two-rename fallback, and sync(2) for durability.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_staging: &Path, _dir: &Path) -> io::Result<()> {
    Err(io::Error::from(rustix::io::Errno::NOSYS))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn rename_noreplace(_staging: &Path, _dir: &Path) -> io::Result<()> {
    Err(io::Error::from(rustix::io::Errno::NOSYS))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn sync_filesystem(_staging: &Path) -> io::Result<()> {
    rustix::fs::sync();
    Ok(())
}

/// An I/O error before the swap, said as kiln says errors: `rendered/` is as it was.
pub fn before_swap(action: &str, path: &Path, source: io::Error) -> Error {
    Error::Rendered {
        path: path.to_path_buf(),
        message: format!("could not {action}: {source}"),
        help: Some(
            "rendered/ was not changed; fix the cause at that path (free space, permissions), then render again".into(),
        ),
    }
}

/// [`before_swap`] for the errors of [`fsutil`].
pub fn into_before_swap(error: Error) -> Error {
    match error {
        Error::Io { action, path, source } => before_swap(action, &path, source),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_recognised_by_name_only() {
        let names = Names::of(Path::new("/repo/rendered"));
        assert_eq!(names.purpose_of(".rendered.kiln-staging.123"), Some(Purpose::Staging));
        assert_eq!(names.purpose_of(".rendered.kiln-old.9"), Some(Purpose::Old));
        assert_eq!(names.purpose_of(".rendered.kiln-staging"), Some(Purpose::Staging));
        assert_eq!(names.purpose_of(".rendered.kiln-old"), Some(Purpose::Old));
        for foreign in
            [".rendered.kiln-lock", ".rendered.kiln-oldies", ".rendered.kiln-old.", ".rendered.kiln-old.1a", "rendered"]
        {
            assert_eq!(names.purpose_of(foreign), None, "{foreign}");
        }
        assert_eq!(names.lock(), Path::new("/repo/.rendered.kiln-lock"));
    }

    #[test]
    fn a_relative_dir_has_the_current_directory_as_parent() {
        assert_eq!(Names::of(Path::new("rendered")).lock(), Path::new("./.rendered.kiln-lock"));
    }
}
