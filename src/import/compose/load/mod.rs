//! Loads a Compose project. This first version reads the first `-f` file as
//! plain YAML; the full Compose loading model replaces it.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::project::{Project, Service};
use crate::diagnostic::Location;
use crate::values::key_path::KeyPath;
use crate::{Error, Result};

/// What `kiln import compose` was asked to load.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-f` files, in order; later files override earlier ones.
    pub files: Vec<PathBuf>,
    /// `--project-directory`; else the first file's directory.
    pub project_directory: Option<PathBuf>,
    /// `--env-file`s, after the project directory's `.env`.
    pub env_files: Vec<PathBuf>,
    /// `--profile`s to mark enabled.
    pub profiles: Vec<String>,
}

pub fn load(options: &Options) -> Result<Project> {
    let Some(file) = options.files.first() else {
        return Err(Error::Usage { message: "kiln import compose needs at least one `-f FILE`".into() });
    };
    let bytes = std::fs::read(file).map_err(|source| Error::io("read", file, source))?;
    let source = crate::values::source::parse(file, &bytes)?;
    let directory = options
        .project_directory
        .clone()
        .unwrap_or_else(|| file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf));
    let mut project = Project {
        name: directory.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
        directory,
        ..Project::default()
    };
    for (key_path, (line, column)) in source.file.positions.below(&KeyPath::root()) {
        project.locations.insert(key_path.clone(), Location::new(file, line, column));
    }
    let Value::Mapping(root) = source.value else { return Ok(project) };
    for (key, value) in root {
        let Value::String(key) = key else { continue };
        match (key.as_str(), value) {
            ("name", Value::String(name)) => project.name = name,
            ("services", Value::Mapping(services)) => {
                for (name, definition) in services {
                    let (Value::String(name), Value::Mapping(definition)) = (name, definition) else { continue };
                    let profiles: Vec<String> = definition
                        .get("profiles")
                        .and_then(Value::as_sequence)
                        .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        .unwrap_or_default();
                    let enabled = profiles.is_empty() || profiles.iter().any(|p| options.profiles.contains(p));
                    project.services.insert(name.clone(), Service { name, definition, profiles, enabled });
                }
            }
            ("volumes", Value::Mapping(map)) => project.volumes = named(map),
            ("secrets", Value::Mapping(map)) => project.secrets = named(map),
            ("configs", Value::Mapping(map)) => project.configs = named(map),
            ("networks", Value::Mapping(map)) => project.networks = named(map),
            (other, _) if other.starts_with("x-") => project.extensions.push(other.to_string()),
            _ => {}
        }
    }
    Ok(project)
}

fn named(map: serde_yaml::Mapping) -> std::collections::BTreeMap<String, Value> {
    map.into_iter().filter_map(|(key, value)| Some((key.as_str()?.to_string(), value))).collect()
}
