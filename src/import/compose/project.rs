//! The loaded Compose project: what `load` hands to `map`.
//!
//! Loading follows the Compose specification's loading model (files merged,
//! `include`d, `extends` resolved, `!reset`/`!override` applied, variables
//! interpolated, profiles evaluated); mapping then reads each service's
//! definition as the merged, interpolated YAML it is, short and long syntax
//! alike, and never re-reads a file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use crate::diagnostic::Location;
use crate::values::key_path::KeyPath;

/// A whole Compose project after loading.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The top-level `name`, else the project directory's base name.
    pub name: String,
    /// The project directory: relative paths (bind mounts, `env_file`,
    /// `configs.file`) resolve against it.
    pub directory: PathBuf,
    /// Every service, profiled ones included (all profiles are imported).
    pub services: BTreeMap<String, Service>,
    /// Top-level `volumes`, `secrets`, `configs` and `networks`, by name.
    pub volumes: BTreeMap<String, Value>,
    pub secrets: BTreeMap<String, Value>,
    pub configs: BTreeMap<String, Value>,
    pub networks: BTreeMap<String, Value>,
    /// Top-level `x-*` keys: ignored by the mapping, named in the report.
    pub extensions: Vec<String>,
    /// Where each key of the merged project was written, by key path from
    /// the project root (`services.web.ports[0]`): the file that won the merge.
    pub locations: BTreeMap<KeyPath, Location>,
    /// Variables that were unset and had no default, each with the key path
    /// of the value that named it (interpolated as an empty string, as
    /// Compose does), in key-path order.
    pub unresolved: Vec<(String, KeyPath)>,
    /// The variables of `.env` (or the `--env-file`s): Compose resolves a
    /// service's bare `environment` keys and its `env_file`s from them.
    pub environment: BTreeMap<String, String>,
}

/// One service, merged and interpolated.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub name: String,
    /// The service's mapping as the files define it after merging, with
    /// anchors and `<<` merge keys applied and no `extends`, `!reset` or
    /// `!override` left.
    pub definition: Mapping,
    /// The service's `profiles`; empty when it is always on.
    pub profiles: Vec<String>,
    /// Whether Compose would start it: no profiles, or one of the selected
    /// `--profile`s.
    pub enabled: bool,
}

impl Project {
    /// Where `key_path` (from the project root) was written: the nearest
    /// written parent when the exact key has no position.
    pub fn locate(&self, key_path: &KeyPath) -> Option<&Location> {
        (0..=key_path.0.len()).rev().find_map(|length| self.locations.get(&KeyPath(key_path.0.get(..length)?.to_vec())))
    }
}
