//! Finds the repository root from any directory below it, as git finds the
//! top of its working tree.
//!
//! From the start directory (the current directory, or `-C DIR` /
//! `KILN_ROOT`), kiln looks at that directory and then each parent. The first
//! one holding both a `values/` and a `templates/` directory, what
//! [`crate::input::InputFiles::from_dir`] reads, is the root. A `values/`
//! alone is not enough: other tools use that name, and stopping there would
//! point kiln at the wrong tree. The walk stops without a root:
//!
//! - at a directory holding `.git` (a directory, or the file of a linked
//!   worktree or submodule): the top of a git working tree. git stops at the
//!   first `.git` it meets, and a kiln root may sit below that top but not
//!   above it, so a repository nested in another never finds the outer one;
//! - at a bare git repository (`HEAD`, `objects/` and `refs/`, see
//!   gitrepository-layout(5)), which only `kiln diff --head <rev>` can read;
//! - where another filesystem is mounted, as git does by default (git(1),
//!   `GIT_DISCOVERY_ACROSS_FILESYSTEM`; libgit2's `git_repository_discover`
//!   likewise stops "when the filesystem changes");
//! - at the filesystem root.
//!
//! A root found at the start directory keeps the spelling it was given
//! (`.`, a relative `-C`); one found above it is an absolute path. Input paths
//! in every message stay relative to the root (`values/…:line:col`).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::input::{TEMPLATES_DIR, VALUES_DIR};
use crate::{Error, Result};

/// What the walk up from the start directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A directory holding `values/` and `templates/`.
    Root(PathBuf),
    /// A bare git repository, before any kiln root.
    Bare(PathBuf),
}

/// Why the walk ended without a root; the text completes "up to `<dir>`, ...".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    GitTop,
    Mount,
    FilesystemRoot,
}

impl Boundary {
    pub fn describe(self) -> &'static str {
        match self {
            Boundary::GitTop => "the top of its git repository",
            Boundary::Mount => "where another filesystem is mounted",
            Boundary::FilesystemRoot => "the filesystem root",
        }
    }
}

/// Walks up from `start`; see the module docs.
pub fn find(start: &Path) -> Result<Found> {
    let canonical = start.canonicalize().map_err(|error| Error::io("resolve", start, error))?;
    let start_device = device(&canonical)?;
    let mut partial = None;
    let mut dir = canonical.as_path();
    loop {
        let values = dir.join(VALUES_DIR).is_dir();
        let templates = dir.join(TEMPLATES_DIR).is_dir();
        if values && templates {
            let root = if dir == canonical { start.to_path_buf() } else { dir.to_path_buf() };
            return Ok(Found::Root(root));
        }
        if partial.is_none() && (values || templates) {
            let (has, lacks) = if values { (VALUES_DIR, TEMPLATES_DIR) } else { (TEMPLATES_DIR, VALUES_DIR) };
            partial = Some(format!("`{}` has `{has}/` but no `{lacks}/`", dir.display()));
        }
        let boundary = if dir.join(".git").symlink_metadata().is_ok() {
            Some(Boundary::GitTop)
        } else if is_bare_repository(dir) {
            return Ok(Found::Bare(dir.to_path_buf()));
        } else {
            match dir.parent() {
                None => Some(Boundary::FilesystemRoot),
                Some(parent) if device(parent)? != start_device => Some(Boundary::Mount),
                Some(parent) => {
                    dir = parent;
                    None
                }
            }
        };
        if let Some(boundary) = boundary {
            return Err(Error::NoRepository { start: canonical.clone(), stop: dir.to_path_buf(), boundary, partial });
        }
    }
}

fn device(dir: &Path) -> Result<u64> {
    Ok(dir.metadata().map_err(|error| Error::io("read", dir, error))?.dev())
}

/// A bare repository's own directory, as gitrepository-layout(5) describes it.
fn is_bare_repository(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkdir(path: &Path) {
        std::fs::create_dir_all(path).unwrap();
    }

    #[test]
    fn finds_the_nearest_directory_with_values_and_templates() {
        let temp = tempfile::tempdir().unwrap();
        let top = temp.path().canonicalize().unwrap();
        mkdir(&top.join(".git"));
        mkdir(&top.join("infra/values/namespaces"));
        mkdir(&top.join("infra/templates"));
        // A `values/` alone (a Helm chart's, say) is not a root.
        mkdir(&top.join("infra/charts/x/values"));
        let found = find(&top.join("infra/charts/x/values")).unwrap();
        assert_eq!(found, Found::Root(top.join("infra")));
        assert_eq!(find(&top.join("infra/values/namespaces")).unwrap(), Found::Root(top.join("infra")));
        // Found at the start: the path as given.
        assert_eq!(find(&top.join("infra/./")).unwrap(), Found::Root(top.join("infra/./")));
    }

    #[test]
    fn stops_at_the_top_of_a_git_repository() {
        let temp = tempfile::tempdir().unwrap();
        let outer = temp.path().canonicalize().unwrap();
        mkdir(&outer.join("values"));
        mkdir(&outer.join("templates"));
        // A submodule's `.git` is a file.
        mkdir(&outer.join("nested/docs"));
        mkdir(&outer.join("nested/templates"));
        std::fs::write(outer.join("nested/.git"), "gitdir: ../.git/modules/nested\n").unwrap();
        let Err(error) = find(&outer.join("nested/docs")) else { panic!("found a root outside the git repository") };
        assert_eq!(
            error.to_string(),
            format!(
                "error: no kiln repository in `{0}/nested/docs` or its parent directories\n  \
                 = note: kiln looked for `values/` and `templates/` from `{0}/nested/docs` up to `{0}/nested`, the top of its git repository\n  \
                 = note: `{0}/nested` has `templates/` but no `values/`\n  \
                 = help: run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)",
                outer.display()
            )
        );
    }

    #[test]
    fn a_bare_repository_is_reported_as_such() {
        let temp = tempfile::tempdir().unwrap();
        let bare = temp.path().canonicalize().unwrap().join("cluster.git");
        mkdir(&bare.join("objects"));
        mkdir(&bare.join("refs"));
        std::fs::write(bare.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        assert_eq!(find(&bare).unwrap(), Found::Bare(bare));
    }
}
