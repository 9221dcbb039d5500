//! Reads revisions straight from git objects, so `kiln diff` can render any
//! commit without a checkout, a stash or any change to the working tree or the
//! index. This is the only module that uses git2; every git2 error is turned
//! into an [`Error::Git`] that names the repository. The entry point is
//! [`Git::open`]; [`InputFiles::from_git`] reads the inputs of a revision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use crate::input::{InputFiles, TEMPLATES_DIR, VALUES_DIR};
use crate::settings::RENDERED_DIR;
use crate::{Error, Result};

/// git's file mode for a symbolic link.
const SYMLINK_MODE: i32 = 0o120000;

/// A repository opened for reading, and where kiln's root sits inside it.
pub struct Git {
    repo: Repository,
    /// The working tree (or git directory of a bare repository), for messages.
    path: PathBuf,
    /// The kiln root relative to the top of the working tree (empty at the top).
    prefix: PathBuf,
}

/// A revision resolved to a commit.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The name the user gave, e.g. `origin/main`.
    pub name: String,
    /// The full commit id.
    pub commit: String,
    tree: Oid,
}

impl Revision {
    /// The abbreviated commit id shown to people.
    pub fn short(&self) -> &str {
        &self.commit[..self.commit.len().min(7)]
    }
}

impl Git {
    /// Opens the repository that contains `root` (the kiln root may be a
    /// subdirectory of the working tree).
    pub fn open(root: &Path) -> Result<Git> {
        let repo = Repository::discover(root).map_err(|error| match error.code() {
            ErrorCode::NotFound => Error::Git {
                repo: root.to_path_buf(),
                message: "not a git repository (or any of its parents)".into(),
                cause: None,
                help: Some(
                    "`kiln diff` reads both revisions from git: run it inside a clone, or use `kiln render --diff` \
                     to compare with rendered/ on disk"
                        .into(),
                ),
            },
            _ => wrap(root, "could not open the git repository", error),
        })?;
        let (path, prefix) = match repo.workdir() {
            Some(workdir) => {
                let canonical = |path: &Path| path.canonicalize().map_err(|e| Error::io("resolve", path, e));
                let prefix =
                    canonical(root)?.strip_prefix(canonical(workdir)?).map(Path::to_path_buf).unwrap_or_default();
                // Without the trailing `/` git2 puts on it, for messages.
                (workdir.components().collect(), prefix)
            }
            None => (repo.path().components().collect(), PathBuf::new()),
        };
        Ok(Git { repo, path, prefix })
    }

    /// The working tree (or the git directory of a bare repository).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_bare(&self) -> bool {
        self.repo.is_bare()
    }

    /// Resolves `name` (a branch, tag, commit id or any git revision
    /// expression) to a commit.
    pub fn resolve(&self, name: &str) -> Result<Revision> {
        let commit = self.repo.revparse_single(name).and_then(|object| object.peel_to_commit());
        match commit {
            Ok(commit) => {
                Ok(Revision { name: name.to_string(), commit: commit.id().to_string(), tree: commit.tree_id() })
            }
            Err(_) if self.repo.is_shallow() => Err(Error::Git {
                repo: self.path.clone(),
                message: format!("revision `{name}` is not in this shallow clone"),
                cause: None,
                help: Some(
                    "fetch the history it needs (`git fetch --unshallow`, or `fetch-depth: 0` with actions/checkout)"
                        .into(),
                ),
            }),
            Err(error) if matches!(error.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Err(Error::Git {
                repo: self.path.clone(),
                message: format!("revision `{name}` does not exist"),
                cause: None,
                help: Some(format!(
                    "check it with `git rev-parse --verify {name}`; a branch of a remote must be fetched first \
                     (`git fetch origin <branch>`)"
                )),
            }),
            Err(error) => Err(wrap(&self.path, &format!("could not resolve revision `{name}`"), error)),
        }
    }

    /// The best common ancestor of two revisions: comparing with it shows
    /// only what `head` changed, as GitHub shows a pull request.
    pub fn merge_base(&self, base: &Revision, head: &Revision) -> Result<Revision> {
        let id = |revision: &Revision| Oid::from_str(&revision.commit);
        let found = id(base).and_then(|b| id(head).and_then(|h| self.repo.merge_base(b, h)));
        let commit = found.and_then(|oid| self.repo.find_commit(oid)).map_err(|error| {
            let shallow = self.repo.is_shallow();
            Error::Git {
                repo: self.path.clone(),
                message: if shallow {
                    format!("`{}` and `{}` have no common ancestor in this shallow clone", base.name, head.name)
                } else {
                    format!("`{}` and `{}` have no common ancestor", base.name, head.name)
                },
                cause: (error.code() != ErrorCode::NotFound).then(|| error.message().to_string()),
                help: Some(if shallow {
                    "fetch the history it needs (`git fetch --unshallow`, or `fetch-depth: 0` with actions/checkout)"
                        .into()
                } else {
                    format!("compare with `{}` itself: drop `--merge-base`", base.name)
                }),
            }
        })?;
        Ok(Revision {
            name: format!("merge base of {} and {}", base.name, head.name),
            commit: commit.id().to_string(),
            tree: commit.tree_id(),
        })
    }

    /// Every file under `dir` (relative to the kiln root) at `revision`, keyed
    /// by its path below `dir`; hidden files and directories are skipped, as
    /// when reading from disk. `None` when the revision has no such directory.
    fn files(&self, revision: &Revision, dir: &str, skip_hidden: bool) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        let fail = |error| wrap(&self.path, &format!("could not read `{dir}/` at {}", revision.name), error);
        let root = self.repo.find_tree(revision.tree).map_err(fail)?;
        let entry = match root.get_path(&self.prefix.join(dir)) {
            Ok(entry) => entry,
            Err(error) if error.code() == ErrorCode::NotFound => return Ok(None),
            Err(error) => return Err(fail(error)),
        };
        if entry.kind() != Some(ObjectType::Tree) {
            return Ok(None);
        }
        let tree = self.repo.find_tree(entry.id()).map_err(fail)?;
        let mut blobs = Vec::new();
        let mut problem = None;
        tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
            let Ok(name) = entry.name() else {
                problem = Some(format!("a file name under `{dir}/{parent}` is not UTF-8"));
                return TreeWalkResult::Abort;
            };
            if skip_hidden && name.starts_with('.') {
                return TreeWalkResult::Skip;
            }
            let path = format!("{parent}{name}");
            match entry.kind() {
                Some(ObjectType::Tree) => {}
                Some(ObjectType::Blob) if entry.filemode() == SYMLINK_MODE => {
                    problem = Some(format!("`{dir}/{path}` is a symbolic link, which kiln cannot follow inside git"));
                    return TreeWalkResult::Abort;
                }
                Some(ObjectType::Blob) => blobs.push((path, entry.id())),
                _ => {
                    problem = Some(format!("`{dir}/{path}` is a submodule, which kiln cannot read"));
                    return TreeWalkResult::Abort;
                }
            }
            TreeWalkResult::Ok
        })
        .or_else(|error| if problem.is_some() { Ok(()) } else { Err(fail(error)) })?;
        if let Some(message) = problem {
            return Err(Error::Git {
                repo: self.path.clone(),
                message: format!("{message} (at {})", revision.name),
                cause: None,
                help: Some("replace it with a regular file".into()),
            });
        }
        let mut files = BTreeMap::new();
        for (path, id) in blobs {
            let blob = self.repo.find_blob(id).map_err(fail)?;
            files.insert(path, blob.content().to_vec());
        }
        Ok(Some(files))
    }

    /// The committed `rendered/` tree of `revision`, by path below `rendered/`
    /// (empty when the revision has none).
    pub fn rendered(&self, revision: &Revision) -> Result<BTreeMap<String, Vec<u8>>> {
        Ok(self.files(revision, RENDERED_DIR, false)?.unwrap_or_default())
    }
}

impl InputFiles {
    /// Reads `values/` and `templates/` of `revision` from git objects, the
    /// same files [`InputFiles::from_dir`] reads from the working tree.
    pub fn from_git(git: &Git, revision: &Revision) -> Result<InputFiles> {
        let mut files = BTreeMap::new();
        for dir in [VALUES_DIR, TEMPLATES_DIR] {
            let found = git.files(revision, dir, true)?.ok_or_else(|| Error::Git {
                repo: git.path.clone(),
                message: format!("revision `{}` ({}) has no `{dir}/` directory", revision.name, revision.short()),
                cause: None,
                help: Some("compare with a revision that kiln renders, or commit values/ and templates/ first".into()),
            })?;
            for (path, bytes) in found {
                files.insert(PathBuf::from(format!("{dir}/{path}")), bytes);
            }
        }
        Ok(InputFiles { files })
    }
}

fn wrap(repo: &Path, message: &str, error: git2::Error) -> Error {
    Error::Git {
        repo: repo.to_path_buf(),
        message: message.to_string(),
        cause: Some(error.message().to_string()),
        help: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, files: &[(&str, &str)]) -> Oid {
        let mut index = repo.index().unwrap();
        for (path, text) in files {
            let full = repo.workdir().unwrap().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, text).unwrap();
            index.add_path(Path::new(path)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = git2::Signature::now("kiln", "kiln@example.com").unwrap();
        let parent = repo.head().ok().and_then(|head| head.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &signature, &signature, "test", &tree, &parents).unwrap()
    }

    #[test]
    fn reads_inputs_of_a_revision_without_touching_the_working_tree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        commit(&repo, &[("values/cluster.yaml", "name: a\n"), ("templates/x.yaml", "x\n"), ("values/.hidden", "h")]);
        std::fs::write(dir.path().join("values/cluster.yaml"), "name: edited\n").unwrap();
        let git = Git::open(dir.path()).unwrap();
        let head = git.resolve("HEAD").unwrap();
        let inputs = InputFiles::from_git(&git, &head).unwrap();
        let paths: Vec<String> = inputs.files.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(paths, ["templates/x.yaml", "values/cluster.yaml"]);
        assert_eq!(inputs.files[Path::new("values/cluster.yaml")], b"name: a\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("values/cluster.yaml")).unwrap(), "name: edited\n");
    }

    #[test]
    fn kiln_root_may_be_a_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        commit(&repo, &[("deploy/values/cluster.yaml", "name: a\n"), ("deploy/templates/x.yaml", "x\n")]);
        let git = Git::open(&dir.path().join("deploy")).unwrap();
        let head = git.resolve("HEAD").unwrap();
        assert_eq!(InputFiles::from_git(&git, &head).unwrap().files.len(), 2);
        assert!(git.rendered(&head).unwrap().is_empty());
    }

    #[test]
    fn symbolic_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("values")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("values/cluster.yaml")).unwrap();
        commit(&repo, &[("templates/x.yaml", "x\n")]);
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("values/cluster.yaml")).unwrap();
        index.write().unwrap();
        commit(&repo, &[]);
        let git = Git::open(dir.path()).unwrap();
        let head = git.resolve("HEAD").unwrap();
        let error = InputFiles::from_git(&git, &head).err().unwrap().to_string();
        assert_eq!(
            error,
            format!(
                "error: `values/cluster.yaml` is a symbolic link, which kiln cannot follow inside git (at HEAD)\n  \
                 --> {}\n  = help: replace it with a regular file",
                dir.path().display()
            )
        );
    }

    #[test]
    fn missing_directory_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        commit(&repo, &[("values/cluster.yaml", "name: a\n")]);
        let git = Git::open(dir.path()).unwrap();
        let head = git.resolve("HEAD").unwrap();
        let error = InputFiles::from_git(&git, &head).err().unwrap().to_string();
        assert!(error.starts_with("error: revision `HEAD` ("), "{error}");
        assert!(error.contains(") has no `templates/` directory"), "{error}");
    }
}
