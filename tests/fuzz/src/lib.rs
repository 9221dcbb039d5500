//! What the fuzz targets and the shape property test share: this repository's
//! inputs, the string leaves of its values files, a mutation that puts any
//! string into one leaf, and the *shape* of a build — every object reduced to
//! its kind and its key structure, scalars replaced by their YAML type.
//!
//! The invariant the targets check is kiln's output promise: a string value
//! may change what a scalar says, never which objects exist, which keys they
//! have, how long their lists are, or what type a scalar has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln::build::Build;
use kiln::input::InputFiles;
use kiln::render::templates::{self, Templates};
use serde_yaml::Value;

/// The `values/` and `templates/` of the repository at `root`.
pub fn repo_inputs(root: &Path) -> InputFiles {
    InputFiles::from_dir(root).unwrap_or_else(|error| panic!("read {}: {error}", root.display()))
}

/// The `render_values` fuzz target's inputs: the small cluster in
/// `<fuzz_dir>/base-render/values/` (one GPU node, a workloads namespace and
/// the monitoring one) through every template of this repository, so an
/// execution renders each template for a few scope instances instead of the
/// whole repository.
pub fn render_fixture(fuzz_dir: &Path) -> InputFiles {
    let mut inputs = repo_inputs(&fuzz_dir.join("base-render"));
    let repo = repo_inputs(&fuzz_dir.join("../.."));
    inputs.files.extend(repo.files.into_iter().filter(|(path, _)| path.starts_with("templates")));
    inputs
}

/// A values set rendered once through templates loaded once: what every
/// build with one string changed is compared with.
pub struct Base {
    /// Only the `values/` files: the templates are in `templates` already, and
    /// leaving them out spares each case cloning and hashing them.
    pub values: InputFiles,
    /// Each values file parsed once; a case edits a copy of one of them.
    documents: BTreeMap<PathBuf, Value>,
    pub templates: Templates,
    pub leaves: Vec<Leaf>,
    pub shape: Shape,
}

impl Base {
    /// Loads the templates of `inputs` and builds its values, which must build.
    pub fn new(mut inputs: InputFiles) -> Base {
        let templates = templates::load(&inputs).unwrap_or_else(|error| panic!("templates: {error}"));
        inputs.files.retain(|path, _| path.starts_with("values"));
        let build = kiln::build::build_with(&templates, &inputs).unwrap_or_else(|error| panic!("build: {error}"));
        let shape = shape(&build);
        let documents: BTreeMap<PathBuf, Value> = inputs
            .files
            .iter()
            .filter_map(|(file, bytes)| Some((file.clone(), serde_yaml::from_slice(bytes).ok()?)))
            .collect();
        let mut leaves = Vec::new();
        for (file, document) in &documents {
            collect(document, &mut Vec::new(), &mut |path| leaves.push(Leaf { file: file.clone(), path }));
        }
        Base { values: inputs, documents, templates, leaves, shape }
    }

    /// The leaf two bytes of fuzz input choose, and the string the rest spell.
    pub fn case(&self, data: &[u8]) -> Option<(&Leaf, String)> {
        let (index, rest) = data.split_first_chunk::<2>()?;
        let leaf = self.leaves.get(usize::from(u16::from_le_bytes(*index)) % self.leaves.len().max(1))?;
        Some((leaf, nasty_string(rest)))
    }

    /// What changed in the output's shape with `text` at `leaf`; `None` when
    /// kiln refused the value or the shape is the base one.
    pub fn shape_change(&self, leaf: &Leaf, text: &str) -> Option<String> {
        let build = kiln::build::build_with(&self.templates, &self.with_string(leaf, text)).ok()?;
        shape(&build)
            .first_difference(&self.shape)
            .map(|difference| format!("{text:?} at {leaf:?} changed the shape: {difference}"))
    }

    /// The values with the string at `leaf` replaced by `text` (its file is
    /// re-serialized; comments are lost, values are not).
    pub fn with_string(&self, leaf: &Leaf, text: &str) -> InputFiles {
        let mut changed = self.values.clone();
        let Some(mut document) = self.documents.get(&leaf.file).cloned() else { return changed };
        let mut slot = &mut document;
        for step in &leaf.path {
            let next = match step {
                Step::Key(key) => slot.get_mut(key.as_str()),
                Step::Index(index) => slot.get_mut(*index),
            };
            match next {
                Some(next) => slot = next,
                None => return changed,
            }
        }
        *slot = Value::String(text.to_string());
        if let Ok(text) = serde_yaml::to_string(&document) {
            changed.files.insert(leaf.file.clone(), text.into_bytes());
        }
        changed
    }
}

/// One step from a values file's root to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A string scalar in one of the values files.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub file: PathBuf,
    pub path: Vec<Step>,
}

/// Calls `found` with the path of every string scalar below `value`, in document order.
fn collect(value: &Value, path: &mut Vec<Step>, found: &mut impl FnMut(Vec<Step>)) {
    match value {
        Value::String(_) => found(path.clone()),
        Value::Mapping(map) => {
            for (key, child) in map {
                if let Some(key) = key.as_str() {
                    path.push(Step::Key(key.to_string()));
                    collect(child, path, found);
                    path.pop();
                }
            }
        }
        Value::Sequence(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(Step::Index(index));
                collect(child, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The shape of a build: for every object its kind and key skeleton, sorted,
/// and for every YAML plain file its skeleton, by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub objects: Vec<(String, String)>,
    pub yaml_files: BTreeMap<String, String>,
}

impl Shape {
    /// The first entry that differs from `expected`, for a readable failure.
    pub fn first_difference(&self, expected: &Shape) -> Option<String> {
        if self.objects.len() != expected.objects.len() {
            return Some(format!("{} objects instead of {}", self.objects.len(), expected.objects.len()));
        }
        let objects = self.objects.iter().zip(&expected.objects).find(|(got, want)| got != want);
        if let Some(((kind, got), (_, want))) = objects {
            return Some(format!("a {kind} became\n  {got}\ninstead of\n  {want}"));
        }
        let files = self.yaml_files.iter().zip(&expected.yaml_files).find(|(got, want)| got != want);
        if let Some(((path, got), (_, want))) = files {
            return Some(format!("{path} became\n  {got}\ninstead of\n  {want}"));
        }
        (self.yaml_files.len() != expected.yaml_files.len()).then(|| "a different set of YAML files".to_string())
    }
}

pub fn shape(build: &Build) -> Shape {
    let mut objects: Vec<(String, String)> =
        build.objects.iter().map(|object| (object.identity.kind.clone(), skeleton(&object.value))).collect();
    objects.sort();
    let yaml_files = build
        .tree
        .files
        .iter()
        .filter(|(path, entry)| entry.object.is_none() && (path.ends_with(".yaml") || path.ends_with(".yml")))
        .filter_map(|(path, entry)| {
            let value: Value = serde_yaml::from_slice(&entry.bytes).ok()?;
            Some((path.clone(), skeleton(&value)))
        })
        .collect();
    Shape { objects, yaml_files }
}

/// Keys and list lengths kept, scalars replaced by their type.
fn skeleton(value: &Value) -> String {
    match value {
        Value::Null => "~".into(),
        Value::Bool(_) => "b".into(),
        Value::Number(_) => "n".into(),
        Value::String(_) => "s".into(),
        Value::Sequence(items) => format!("[{}]", items.iter().map(skeleton).collect::<Vec<_>>().join(",")),
        Value::Mapping(map) => {
            let mut entries: Vec<String> =
                map.iter().map(|(key, child)| format!("{}:{}", key.as_str().unwrap_or("?"), skeleton(child))).collect();
            entries.sort();
            format!("{{{}}}", entries.join(","))
        }
        Value::Tagged(tagged) => format!("!{}", skeleton(&tagged.value)),
    }
}

/// Fragments that mean something to YAML, a shell, Tera or a line-based file.
#[rustfmt::skip]
pub const NASTY: &[&str] = &[
    "\"", "'", "\n", "\r\n", ": ", "- ", " #", "---\n", "{{", "}}", "{%", "$(touch /tmp/x)", "`id`", ";", "&&", "|",
    ">", "\u{2028}", "\u{85}", "\t", "*a", "&a ", "!tag ", "%", "@", "? ", "[", "]", "{", "}", ", ", "\\", "\0",
    "\n        - name: evil", "\nkind: Secret", "é", "\u{feff}", "~", "0x1f", "true", "null", "1e3",
];

/// A string built from fuzzer bytes: a letter, always one nasty fragment (so
/// a key that holds a name must refuse it: only free text can take it), then
/// more fragments and raw characters.
pub fn nasty_string(bytes: &[u8]) -> String {
    let first = bytes.first().map_or(0, |&byte| usize::from(byte));
    // The last fragments spell YAML scalars of other types and are valid in names.
    let breakers = NASTY.len() - 4;
    let mut text = format!("v{}", NASTY.get(first % breakers).copied().unwrap_or("'"));
    for &byte in bytes {
        match byte % 4 {
            0 => text.push_str(NASTY.get(usize::from(byte / 4) % NASTY.len()).copied().unwrap_or("")),
            _ => text.push(char::from(byte.max(1))),
        }
    }
    text
}

/// One `compose_loader` case: `data` as the `compose.yaml` of a project
/// whose `.env` sets two variables. The loader must answer with a project or
/// an error that names a file (the Compose file, or one it includes or
/// extends, which are absent here); a panic fails the case.
pub fn compose_case(data: &[u8]) {
    use kiln::import::compose::load::{load_with, Memory, Options};
    let files = Memory(BTreeMap::from([
        (PathBuf::from("p/compose.yaml"), data.to_vec()),
        (PathBuf::from("p/.env"), b"TAG=1.0\nGPU_COUNT=all\n".to_vec()),
    ]));
    let options = Options { files: vec![PathBuf::from("p/compose.yaml")], ..Options::default() };
    if let Err(error) = load_with(&options, &files) {
        let text = error.to_string();
        assert!(text.contains("p/") || text.contains("could not read"), "an error that names no file: {text}");
    }
}
