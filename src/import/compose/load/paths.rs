//! Relative paths in a file that lives in another directory than the
//! project's: Compose resolves the paths of an `include`d project against
//! its own project directory (compose-spec 14-include.md) and those of a
//! service reached through `extends` against the file that defines it
//! (compose-go `paths.ResolveRelativePaths`). The mapping reads every path
//! against `Project.directory`, so the loader rewrites such paths to stay
//! relative, but to the project directory: `./data` in `common/compose.yaml`
//! becomes `./common/data`. The keys are the ones compose-go resolves:
//! `build` (its `context`), `env_file`, `label_file`, bind-mount `volumes`
//! sources, and the `file` of top-level `configs` and `secrets`.

use std::path::{Component, Path, PathBuf};

use super::node::{Kind, Node};

/// `directory` (of a file or included project) as seen from `project`:
/// relative when it is below it, else as it is.
pub fn offset(project: &Path, directory: &Path) -> PathBuf {
    let project = normalize(project);
    let directory = normalize(directory);
    directory.strip_prefix(&project).map_or(directory.clone(), Path::to_path_buf)
}

/// Rewrites the relative paths of one service definition by `offset`.
pub fn rebase_service(service: &mut Node, offset: &Path) {
    if offset.as_os_str().is_empty() {
        return;
    }
    if let Some(build) = service.get_mut("build") {
        match &mut build.kind {
            Kind::Str(context) => rebase(context, offset),
            Kind::Map(_) => {
                if let Some(Kind::Str(context)) = build.get_mut("context").map(|node| &mut node.kind) {
                    rebase(context, offset);
                }
            }
            _ => {}
        }
    }
    for key in ["env_file", "label_file"] {
        let Some(files) = service.get_mut(key) else { continue };
        match &mut files.kind {
            Kind::Str(path) => rebase(path, offset),
            Kind::Seq(items) => {
                for item in items {
                    match &mut item.kind {
                        Kind::Str(path) => rebase(path, offset),
                        Kind::Map(_) => {
                            if let Some(Kind::Str(path)) = item.get_mut("path").map(|node| &mut node.kind) {
                                rebase(path, offset);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let Some(Kind::Seq(volumes)) = service.get_mut("volumes").map(|node| &mut node.kind) else { return };
    for volume in volumes {
        let bind = volume.get("type").and_then(Node::as_str) == Some("bind");
        match &mut volume.kind {
            Kind::Str(text) => {
                let Some((source, rest)) = text.split_once(':') else { continue };
                if is_relative_bind(source) {
                    let mut source = source.to_string();
                    rebase(&mut source, offset);
                    *text = format!("{source}:{rest}");
                }
            }
            Kind::Map(_) if bind => {
                if let Some(Kind::Str(source)) = volume.get_mut("source").map(|node| &mut node.kind) {
                    rebase(source, offset);
                }
            }
            _ => {}
        }
    }
}

/// Rewrites the `file` of each top-level config or secret by `offset`.
pub fn rebase_files(resources: &mut Node, offset: &Path) {
    if offset.as_os_str().is_empty() {
        return;
    }
    let Kind::Map(entries) = &mut resources.kind else { return };
    for (_, resource) in entries {
        if let Some(Kind::Str(file)) = resource.get_mut("file").map(|node| &mut node.kind) {
            rebase(file, offset);
        }
    }
}

/// A short-syntax volume source that is a relative host path (Compose
/// reads `./x`, `../x` and `.` as paths, a bare name as a named volume).
fn is_relative_bind(source: &str) -> bool {
    source == "." || source == ".." || source.starts_with("./") || source.starts_with("../")
}

fn rebase(path: &mut String, offset: &Path) {
    let written = Path::new(path.as_str());
    if written.is_absolute() || path.starts_with('~') || path.contains("://") || path.starts_with("git@") {
        return;
    }
    let joined = normalize(&offset.join(written));
    let text = joined.to_string_lossy();
    *path = if joined.is_absolute() || text.starts_with("..") { text.into_owned() } else { format!("./{text}") };
}

/// Removes `.` and resolves `..` without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                None | Some(Component::ParentDir) => out.push(".."),
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(_) => {
                    out.pop();
                }
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn service_paths_become_relative_to_the_project() {
        let file: Arc<Path> = Arc::from(Path::new("c.yaml"));
        let text = "build: ./app\nenv_file: [.env, {path: ./x.env}]\nvolumes:\n  - ./data:/data:ro\n  - named:/n\n  - /abs:/abs\n  - {type: bind, source: ../up, target: /u}\n";
        let mut service = super::super::parse::parse(&file, text.as_bytes()).unwrap().remove(0);
        rebase_service(&mut service, Path::new("common"));
        assert_eq!(
            service.to_value(),
            serde_yaml::from_str::<serde_yaml::Value>(
                "build: ./common/app\nenv_file: [./common/.env, {path: ./common/x.env}]\nvolumes:\n  - ./common/data:/data:ro\n  - named:/n\n  - /abs:/abs\n  - {type: bind, source: ./up, target: /u}\n"
            )
            .unwrap()
        );
    }

    #[test]
    fn offsets_are_relative_below_the_project() {
        assert_eq!(offset(Path::new("/p"), Path::new("/p/./sub/x/..")), PathBuf::from("sub"));
        assert_eq!(offset(Path::new("/p"), Path::new("/q")), PathBuf::from("/q"));
        assert_eq!(normalize(Path::new("../a/../../b")), PathBuf::from("../../b"));
    }
}
