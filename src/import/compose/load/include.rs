//! `include` (compose-spec 14-include.md): each entry, short (a path) or
//! long (`path` as a string or a list of files merged in order,
//! `project_directory`, `env_file` as a string or list), is loaded as a
//! project of its own, relative paths resolving against the including
//! project's directory. The included project's directory defaults to its
//! first file's; its variables come from its `env_file`s, or else the `.env`
//! in its directory, with the including project's variables taking
//! precedence. `include` applies recursively, and a file that includes
//! itself through the chain is refused with the chain named, as compose-go
//! does.
//!
//! Its services, volumes, networks, secrets, configs and models are then
//! copied into the including file. The spec says Compose does not merge a
//! resource whose name is already taken: kiln refuses such a conflict,
//! naming both definitions, unless the two are identical (the same file
//! included twice). An including project that means to change an included
//! service does so from a later `-f` file, which merges as usual.

use std::path::{Path, PathBuf};

use super::interpolate::Environment;
use super::node::{Kind, Node};
use super::{paths, Loader};
use crate::values::key_path::KeyPath;
use crate::{Error, Result};

/// The top-level keys whose entries an include imports.
const RESOURCES: [&str; 6] = ["services", "volumes", "networks", "secrets", "configs", "models"];

/// Loads the `include`s of `document` (a file of the project in
/// `directory`, with variables `env`) and imports their resources into it.
pub fn apply(
    loader: &Loader,
    document: &mut Node,
    directory: &Path,
    env: &Environment,
    chain: &[PathBuf],
) -> Result<()> {
    let Some(include) = document.remove("include") else { return Ok(()) };
    let error = |node: &Node, path: &KeyPath, message: String, help: &str| Error::Compose {
        location: node.at.location(),
        key_path: path.to_string(),
        message,
        help: Some(help.to_string()),
    };
    let root = KeyPath::root().key("include");
    let Kind::Seq(entries) = &include.kind else {
        return Err(error(
            &include,
            &root,
            "`include` must be a list".into(),
            "list the files to include: `include: [common.yaml]`",
        ));
    };
    for (index, entry) in entries.iter().enumerate() {
        let at = root.index(index);
        let strings = |node: Option<&Node>| -> Option<Vec<String>> {
            match &node?.kind {
                Kind::Str(text) => Some(vec![text.clone()]),
                Kind::Seq(items) => items.iter().map(|item| item.as_str().map(str::to_string)).collect(),
                _ => None,
            }
        };
        let (files, project_directory, env_files) = match &entry.kind {
            Kind::Str(path) => (vec![path.clone()], None, None),
            Kind::Map(_) => (
                strings(entry.get("path")).unwrap_or_default(),
                entry.get("project_directory").and_then(Node::as_str).map(str::to_string),
                strings(entry.get("env_file")),
            ),
            _ => (Vec::new(), None, None),
        };
        let Some(first) = files.first() else {
            return Err(error(
                entry,
                &at,
                "an `include` entry needs a `path`: a file, or a list of files".into(),
                "write `- common.yaml` or `- path: [common.yaml, override.yaml]`",
            ));
        };
        let files: Vec<PathBuf> = files.iter().map(|file| paths::normalize(&directory.join(file))).collect();
        let main = paths::normalize(&directory.join(first));
        if chain.contains(&main) {
            let names: Vec<String> = chain.iter().chain([&main]).map(|path| path.display().to_string()).collect();
            return Err(error(
                entry,
                &at,
                format!("include cycle: {}", names.join(" includes ")),
                "a file cannot include itself, directly or through the files it includes",
            ));
        }
        let included_directory = match &project_directory {
            Some(dir) => paths::normalize(&directory.join(dir)),
            None => main.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        };
        let env_files: Vec<PathBuf> = match env_files {
            Some(list) => list.iter().filter(|file| *file != "/dev/null").map(|file| directory.join(file)).collect(),
            None => {
                let default = included_directory.join(".env");
                if loader.files.is_file(&default) {
                    vec![default]
                } else {
                    Vec::new()
                }
            }
        };
        // The including project's variables take precedence over the included one's own.
        let mut included_env = loader.environment(&env_files, &Environment::new())?;
        included_env.extend(env.iter().map(|(key, value)| (key.clone(), value.clone())));
        let mut next_chain = chain.to_vec();
        next_chain.push(main.clone());
        let mut model = loader.model(&files, &included_directory, &included_env, &next_chain)?;
        let offset = paths::offset(&loader.project, &included_directory);
        if let Some(Kind::Map(services)) = model.get_mut("services").map(|node| &mut node.kind) {
            for (_, service) in services.iter_mut() {
                paths::rebase_service(service, &offset);
            }
        }
        for key in ["configs", "secrets"] {
            if let Some(resources) = model.get_mut(key) {
                paths::rebase_files(resources, &offset);
            }
        }
        import(document, model, &main)?;
    }
    Ok(())
}

/// Copies the resources of `model` (loaded from `file`) into `document`.
fn import(document: &mut Node, model: Node, file: &Path) -> Result<()> {
    let Kind::Map(sections) = model.kind else { return Ok(()) };
    for (key, section) in sections {
        if !RESOURCES.contains(&key.as_str()) {
            continue;
        }
        let Kind::Map(resources) = section.kind else { continue };
        if document.get(&key).is_none_or(|node| node.kind == Kind::Null) {
            document.insert(&key, Node::new(Kind::Map(Vec::new()), section.at.clone()));
        }
        let Some(target) = document.get_mut(&key) else { continue };
        for (name, resource) in resources {
            match target.get(&name) {
                None => target.insert(&name, resource),
                Some(existing) if existing.to_value() == resource.to_value() => {}
                Some(existing) => {
                    let singular = key.trim_end_matches('s');
                    return Err(Error::Compose {
                        location: existing.at.location(),
                        key_path: KeyPath::root().key(key.clone()).key(name.clone()).to_string(),
                        message: format!(
                            "{singular} `{name}` is defined here and by the included project `{}` (at {})",
                            file.display(),
                            resource.at.location()
                        ),
                        help: Some(format!(
                            "Compose does not merge an included {singular} with another of the same name: rename one, or change the included one from a later `-f` file"
                        )),
                    });
                }
            }
        }
    }
    Ok(())
}
