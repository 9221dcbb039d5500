//! Loads a Compose project the way Docker Compose does (compose-go's
//! `loader` is the reference implementation; the compose-spec documents
//! cited per file are the normative text). For each `-f` file in order, and
//! each YAML document in it:
//!
//! 1. parse, bounded, with anchors, aliases and `<<` merge keys applied and
//!    `!reset`/`!override` kept ([`parse`]);
//! 2. interpolate every value with the project's variables ([`interpolate`]);
//! 3. refuse a unique resource listed twice ([`merge::refuse_duplicates`]);
//! 4. load each `include`d project and import its resources ([`include`]);
//! 5. resolve `extends`, in the file and from other files ([`extends`]);
//! 6. merge the document over the files before it ([`merge`]).
//!
//! The merged project then loses the obsolete `version` key (compose-spec
//! 04-version-and-name.md: "ignored"), is validated against the compose-spec
//! JSON schema ([`schema`]) and compose-go's consistency checks
//! ([`checks`]), and becomes a [`Project`], every service kept whatever its
//! profiles ([`profiles`]).
//!
//! Variables come from the env files: the `--env-file`s in order (a later
//! file wins), or, when none is given, `.env` in the project directory if it
//! exists, which is Docker Compose's rule (compose-go `cli.WithEnvFiles`:
//! explicit env files replace the default `.env`). Unlike Docker Compose,
//! kiln never reads its own process environment: what an import writes
//! must depend only on files that can be reviewed and committed, not on
//! the shell that ran it; to set a variable, put it in an env file. A
//! variable left unset with no default is recorded in
//! [`Project::unresolved`] for the report.

mod checks;
pub mod dotenv;
mod extends;
mod include;
mod interpolate;
mod merge;
mod node;
mod parse;
mod paths;
mod profiles;
mod schema;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use interpolate::Environment;
use node::{Kind, Node};

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
    /// `--env-file`s, in order (a later one wins); when there are none, the
    /// project directory's `.env`, as Docker Compose does.
    pub env_files: Vec<PathBuf>,
    /// `--profile`s to mark enabled (`*` enables every profile).
    pub profiles: Vec<String>,
}

/// Where the loader reads files from: the disk, or memory (the fuzz target).
pub trait Files {
    /// The bytes of `path`, at most [`parse::MAX_FILE_BYTES`] + 1 of them.
    fn read(&self, path: &Path) -> Result<Vec<u8>>;
    fn is_file(&self, path: &Path) -> bool;
}

/// The filesystem, read in bounded amounts and only from regular files (a
/// FIFO would block a read, a device never end it).
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        let file = std::fs::File::open(path).map_err(|source| Error::io("read", path, source))?;
        let metadata = file.metadata().map_err(|source| Error::io("read", path, source))?;
        if !metadata.is_file() {
            let kind = if metadata.is_dir() { "a directory" } else { "a special file" };
            return Err(Error::NotAFile { path: path.to_path_buf(), kind });
        }
        let mut bytes = Vec::new();
        let limit = u64::try_from(parse::MAX_FILE_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        file.take(limit).read_to_end(&mut bytes).map_err(|source| Error::io("read", path, source))?;
        Ok(bytes)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// Files held in memory, by path.
pub struct Memory(pub BTreeMap<PathBuf, Vec<u8>>);

impl Files for Memory {
    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        self.0.get(path).cloned().ok_or_else(|| {
            Error::io("read", path, std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"))
        })
    }

    fn is_file(&self, path: &Path) -> bool {
        self.0.contains_key(path)
    }
}

pub fn load(options: &Options) -> Result<Project> {
    load_with(options, &Disk)
}

/// Loads the project from `files`.
pub fn load_with(options: &Options, files: &dyn Files) -> Result<Project> {
    let Some(first) = options.files.first() else {
        return Err(Error::Usage { message: "kiln import compose needs at least one `-f FILE`".into() });
    };
    let directory = options
        .project_directory
        .clone()
        .unwrap_or_else(|| first.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf));
    let env_files = match options.env_files.is_empty() {
        true => vec![directory.join(".env")].into_iter().filter(|path| files.is_file(path)).collect(),
        false => options.env_files.clone(),
    };
    let loader = Loader { files, project: directory.clone() };
    let env = loader.environment(&env_files, &Environment::new())?;
    let mut model = loader.model(&options.files, &directory, &env, &[])?;
    if model.entries().is_empty() {
        return Err(Error::Compose {
            location: Location::file(first),
            key_path: String::new(),
            message: "the Compose files define nothing".into(),
            help: Some("a Compose file declares at least `services:`".into()),
        });
    }
    model.remove("version");
    schema::validate(&model)?;
    checks::check(&model)?;
    let mut project = project(&model, directory, &options.profiles);
    project.environment = env;
    Ok(project)
}

struct Loader<'a> {
    files: &'a dyn Files,
    /// The project directory: paths of other directories' files are rebased onto it.
    project: PathBuf,
}

impl Loader<'_> {
    /// The variables of `env_files` in order, over `base`.
    fn environment(&self, env_files: &[PathBuf], base: &Environment) -> Result<Environment> {
        let mut env = base.clone();
        for path in env_files {
            let bytes = self.files.read(path)?;
            let text = std::str::from_utf8(&bytes).map_err(|error| {
                let (line, column) = crate::diagnostic::line_column(&bytes, error.valid_up_to());
                Error::NotUtf8 { location: Location::new(path, line, column) }
            })?;
            dotenv::parse_into(path, text, &mut env)?;
        }
        Ok(env)
    }

    fn documents(&self, path: &Path) -> Result<Vec<Node>> {
        let bytes = self.files.read(path)?;
        let file: Arc<Path> = Arc::from(path);
        let documents = parse::parse(&file, &bytes)?;
        for document in &documents {
            if !matches!(document.kind, Kind::Map(_)) {
                return Err(Error::Compose {
                    location: document.at.location(),
                    key_path: String::new(),
                    message: "the top level of a Compose file must be a mapping".into(),
                    help: Some("start the file with keys such as `services:`".into()),
                });
            }
        }
        Ok(documents)
    }

    /// The merged model of `files`, a project in `directory` with the
    /// variables `env`; `chain` is the `include` chain that led here.
    fn model(&self, files: &[PathBuf], directory: &Path, env: &Environment, chain: &[PathBuf]) -> Result<Node> {
        let mut model: Option<Node> = None;
        for file in files {
            for mut document in self.documents(file)? {
                interpolate::interpolate(&mut document, env)?;
                merge::refuse_duplicates(&document)?;
                include::apply(self, &mut document, directory, env, chain)?;
                extends::apply(self, &mut document, file, directory, env)?;
                let mut merged = match model.take() {
                    None => document,
                    Some(base) => merge::merge(base, document, &[])?,
                };
                // Unicity first: a `!reset` entry replaces the entry it resets, then goes.
                merge::enforce_unicity(&mut merged, &mut Vec::new());
                merge::clean(&mut merged);
                model = Some(merged);
            }
        }
        let at =
            node::At { file: Arc::from(files.first().map_or(Path::new(""), PathBuf::as_path)), line: 1, column: 1 };
        Ok(model.unwrap_or_else(|| Node::new(Kind::Map(Vec::new()), at)))
    }
}

/// The project a validated model describes.
fn project(model: &Node, directory: PathBuf, selected: &[String]) -> Project {
    let name = model
        .get("name")
        .and_then(Node::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| profiles::project_name(&directory));
    let mut project = Project { name, directory, ..Project::default() };
    let named = |key: &str| -> BTreeMap<String, serde_yaml::Value> {
        model
            .get(key)
            .map(|node| node.entries().iter().map(|(name, node)| (name.clone(), node.to_value())).collect())
            .unwrap_or_default()
    };
    project.volumes = named("volumes");
    project.secrets = named("secrets");
    project.configs = named("configs");
    project.networks = named("networks");
    for (name, service) in model.get("services").map(Node::entries).unwrap_or_default() {
        let serde_yaml::Value::Mapping(definition) = service.to_value() else { continue };
        let service_profiles = profiles::of(service);
        let enabled = profiles::enabled(&service_profiles, selected);
        project
            .services
            .insert(name.clone(), Service { name: name.clone(), definition, profiles: service_profiles, enabled });
    }
    project.extensions =
        model.entries().iter().filter(|(key, _)| key.starts_with("x-")).map(|(key, _)| key.clone()).collect();
    model.walk(&KeyPath::root(), &mut |path, node| {
        if !path.0.is_empty() {
            project.locations.insert(path.clone(), node.at.location());
        }
        for variable in &node.unresolved {
            project.unresolved.push((variable.clone(), path.clone()));
        }
    });
    project
}
