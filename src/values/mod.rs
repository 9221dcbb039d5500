//! Loads `values/`: the cluster file, one file per node and one per namespace.
//! Each file is checked against kiln's strict schema, layered (cluster
//! defaults → namespace defaults → workload) with provenance, and
//! cross-checked (names, references, file names). The entry point is [`load`];
//! [`load_edited`] gives its result for edited namespace files without
//! layering the rest again.

pub mod acknowledgements;
pub mod bounds;
pub mod check;
pub mod key_path;
pub mod merge;
pub mod schema;
pub mod secret_refs;
pub mod secrets;
pub mod source;
pub mod syntax;
pub mod typed;
pub mod wellformed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use key_path::KeyPath;
use merge::{Layer, Merged, Origins};
use source::{Source, ValuesFile};

use crate::diagnostic::Location;
use crate::input::InputFiles;
use crate::{parallel, Error, Result};

/// The whole declared cluster, effective values with provenance.
#[derive(Debug)]
pub struct Values {
    pub cluster: Scoped<schema::Cluster>,
    pub nodes: BTreeMap<String, Scoped<schema::Node>>,
    pub namespaces: BTreeMap<String, NamespaceValues>,
    /// Every values file read, sorted by path.
    pub files: Vec<ValuesFile>,
}

impl Values {
    /// Where `key_path` is written in the values file `path`, if it is.
    pub fn position(&self, path: &Path, key_path: &KeyPath) -> Option<Location> {
        let index = self.files.binary_search_by(|file| file.path.as_path().cmp(path)).ok()?;
        let (line, column) = self.files.get(index)?.positions.get(key_path)?;
        Some(Location::new(path, line, column))
    }
}

#[derive(Debug)]
pub struct NamespaceValues {
    pub namespace: Scoped<schema::Namespace>,
    pub workloads: BTreeMap<String, Scoped<schema::Workload>>,
}

/// Typed effective values of one scope, its raw merged form and origins.
#[derive(Debug)]
pub struct Scoped<T> {
    pub typed: T,
    /// The merged YAML; for workloads only kept with [`Keep::Effective`].
    pub value: serde_yaml::Value,
    pub origins: Origins,
    /// Values files this scope was layered from.
    pub files: Vec<PathBuf>,
}

impl<T> Scoped<T> {
    pub fn locate(&self, key_path: &KeyPath) -> Location {
        self.origins
            .locate(key_path)
            .cloned()
            .unwrap_or_else(|| Location::file(self.files.last().map_or(Path::new("values"), PathBuf::as_path)))
    }
}

pub use crate::input::VALUES_DIR;

/// What [`load`] keeps besides the typed values and their provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Typed values and provenance only: what rendering and the checks use.
    Typed,
    /// Also each workload's merged YAML, for `kiln explain`.
    Effective,
}

/// Loads and checks every values file among the inputs.
pub fn load(inputs: &InputFiles, keep: Keep) -> Result<Values> {
    let layout = discover(inputs)?;
    let read = |path: &PathBuf| source::parse(path, inputs.get(path).map_or(&[][..], Vec::as_slice));
    let mut errors = Vec::new();
    let cluster_source = read(&layout.cluster)?;
    let mut node_sources = Vec::new();
    let mut namespace_sources = Vec::new();
    for path in &layout.nodes {
        match read(path) {
            Ok(source) => node_sources.push(source),
            Err(error) => errors.push(error),
        }
    }
    // Namespace files hold the workloads, most of a big cluster's values.
    for read in parallel::map(layout.namespaces.iter().collect(), read) {
        match read {
            Ok(source) => namespace_sources.push(source),
            Err(error) => errors.push(error),
        }
    }
    Error::from_list(errors)?;

    let cluster = single::<schema::Cluster>(&cluster_source)?;
    let mut errors = Vec::new();
    let mut nodes = BTreeMap::new();
    for source in &node_sources {
        match single::<schema::Node>(source) {
            Ok(node) => {
                nodes.insert(file_stem(source.path()), node);
            }
            Err(error) => errors.push(error),
        }
    }
    let mut namespaces = BTreeMap::new();
    let layered = parallel::map(namespace_sources.iter().collect(), |source| namespace(&cluster_source, source));
    for (source, layered) in namespace_sources.iter().zip(layered) {
        match layered {
            Ok(values) => {
                namespaces.insert(file_stem(source.path()), values);
            }
            Err(error) => errors.push(error),
        }
    }
    Error::from_list(errors)?;

    // The parsed documents served layering; from here on only each file's
    // positions are used, so a big cluster's values are not held twice.
    let mut files: Vec<ValuesFile> = std::iter::once(cluster_source)
        .chain(node_sources)
        .chain(namespace_sources)
        .map(|source| source.file)
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    checked(Values { cluster, nodes, namespaces, files }, keep)
}

/// What [`load`] returns for `inputs` with the namespace files `edited` in
/// place of theirs (or added), each as [`source::parse`] read it; `loaded`
/// is what [`load`] returned for `inputs` with the same `keep`. A namespace
/// is layered from its own file and the cluster file alone, so only the
/// edited ones are layered again, and the checks across all of values run
/// again whole: the errors are the ones [`load`] of the edited inputs
/// reports, since the other files loaded without any.
pub fn load_edited(loaded: Values, inputs: &InputFiles, edited: Vec<Source>, keep: Keep) -> Result<Values> {
    if let Some(other) = edited.iter().find(|source| place(source.path()) != Place::Namespace) {
        return Err(Error::Values {
            location: Location::file(other.path()),
            key_path: String::new(),
            message: "only a namespace file can be loaded again alone".to_string(),
            help: None,
        });
    }
    // A second file for a namespace is refused before any layering, as `discover` refuses it.
    let mut namespaces: Vec<PathBuf> = loaded
        .files
        .iter()
        .map(|file| file.path.clone())
        .chain(edited.iter().map(|source| source.path().to_path_buf()))
        .filter(|path| place(path) == Place::Namespace)
        .collect();
    namespaces.sort();
    namespaces.dedup();
    Error::from_list(two_files(&namespaces, "namespace"))?;
    let cluster_path = PathBuf::from(VALUES_DIR).join("cluster.yaml");
    let cluster_source = source::parse(&cluster_path, inputs.get(&cluster_path).map_or(&[][..], Vec::as_slice))?;
    let layered = parallel::map(edited.iter().collect(), |source| namespace(&cluster_source, source));
    let mut values = loaded;
    let mut errors = Vec::new();
    for (source, layered) in edited.iter().zip(layered) {
        match layered {
            Ok(layered) => {
                values.namespaces.insert(file_stem(source.path()), layered);
            }
            Err(error) => errors.push(error),
        }
    }
    Error::from_list(errors)?;
    for source in edited {
        let index = values.files.partition_point(|file| file.path < source.file.path);
        let replaced = usize::from(values.files.get(index).is_some_and(|file| file.path == source.file.path));
        values.files.splice(index..index + replaced, [source.file]);
    }
    checked(values, keep)
}

/// The checks across all of values, then what `keep` drops.
fn checked(mut values: Values, keep: Keep) -> Result<Values> {
    check::cross_check(&values)?;
    Error::from_list(acknowledgements::check(&values))?;
    // Templates see the typed values; a big cluster's workloads would
    // otherwise be held a second time as YAML.
    if keep == Keep::Typed {
        for workload in values.namespaces.values_mut().flat_map(|namespace| namespace.workloads.values_mut()) {
            workload.value = serde_yaml::Value::Null;
        }
    }
    Ok(values)
}

struct Layout {
    cluster: PathBuf,
    nodes: Vec<PathBuf>,
    namespaces: Vec<PathBuf>,
}

/// Finds the values files; anything kiln would silently ignore is an error instead.
fn discover(inputs: &InputFiles) -> Result<Layout> {
    let cluster = PathBuf::from(VALUES_DIR).join("cluster.yaml");
    if inputs.get(&cluster).is_none() {
        return Err(Error::Values {
            location: Location::file(&cluster),
            key_path: String::new(),
            message: "missing values file `values/cluster.yaml`".to_string(),
            help: Some("every repository declares its cluster-wide settings there".to_string()),
        });
    }
    let mut layout = Layout { cluster, nodes: Vec::new(), namespaces: Vec::new() };
    let mut errors = Vec::new();
    for (relative, _) in inputs.under(VALUES_DIR) {
        let relative = relative.clone();
        match place(&relative) {
            Place::Cluster => {}
            Place::Node => layout.nodes.push(relative),
            Place::Namespace => layout.namespaces.push(relative),
            Place::Unread => errors.push(Error::Values {
                location: Location::file(&relative),
                key_path: String::new(),
                message: "kiln does not read this file".to_string(),
                help: Some("values are `values/cluster.yaml`, `values/nodes/<node>.yaml` and `values/namespaces/<namespace>.yaml`; move or remove it".to_string()),
            }),
        }
    }
    errors.extend(two_files(&layout.nodes, "node"));
    errors.extend(two_files(&layout.namespaces, "namespace"));
    Error::from_list(errors)?;
    Ok(layout)
}

/// A node or namespace with two files (`x.yaml` and `x.yml`): kiln would
/// read one of them and silently drop the other, so each later one is an
/// error. `paths` are sorted.
fn two_files(paths: &[PathBuf], what: &str) -> Vec<Error> {
    let mut errors = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let stem = file_stem(path);
        if let Some(earlier) = paths.iter().take(index).find(|earlier| file_stem(earlier) == stem) {
            errors.push(Error::Values {
                location: Location::file(path),
                key_path: String::new(),
                message: format!(
                    "{what} `{stem}` has two files, `{}` and this one; kiln would read only one",
                    crate::diagnostic::display_path(earlier)
                ),
                help: Some("keep one file per name: merge the two and remove the other".to_string()),
            });
        }
    }
    errors
}

/// What a file below `values/` is to kiln, by its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Cluster,
    Node,
    Namespace,
    Unread,
}

fn place(relative: &Path) -> Place {
    let name = relative.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = relative.parent().and_then(Path::file_name).map(|p| p.to_string_lossy().into_owned());
    let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    match (parent.as_deref(), is_yaml) {
        (Some(VALUES_DIR), true) if name == "cluster.yaml" => Place::Cluster,
        (Some("nodes"), true) if relative.components().count() == 3 => Place::Node,
        (Some("namespaces"), true) if relative.components().count() == 3 => Place::Namespace,
        _ => Place::Unread,
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A scope read from exactly one file (cluster, node).
fn single<T: DeserializeOwned>(source: &Source) -> Result<Scoped<T>> {
    let merged = merge::merge(&[Layer::new(source, KeyPath::root())])?;
    let typed = typed_from(&merged, source, &KeyPath::root())?;
    Ok(Scoped { typed, value: merged.value, origins: merged.origins, files: vec![source.path().to_path_buf()] })
}

/// Checks the file strictly as written, then the merged result.
fn typed_from<T: DeserializeOwned>(merged: &Merged, source: &Source, base: &KeyPath) -> Result<T> {
    typed::deserialize(&merged.value, base, |key_path| {
        merged.origins.locate(key_path).cloned().unwrap_or_else(|| source.locate(&base.join(key_path)))
    })
}

fn namespace(cluster: &Source, source: &Source) -> Result<NamespaceValues> {
    // The namespace file alone must follow the schema, so a typo is reported
    // against the file it is in, before any layering.
    let _: schema::Namespace =
        typed::deserialize(&merge::strip_nulls(&source.value), &KeyPath::root(), |key_path| source.locate(key_path))?;
    let cluster_defaults = KeyPath::parse("defaults");
    let _: schema::Defaults = match merge::lookup(&cluster.value, &cluster_defaults) {
        Some(defaults) => typed::deserialize(&merge::strip_nulls(defaults), &cluster_defaults, |key_path| {
            cluster.locate(&cluster_defaults.join(key_path))
        })?,
        None => schema::Defaults::default(),
    };

    let merged = merge::merge(&[
        Layer::new(cluster, KeyPath::parse("defaults.namespace")),
        Layer::new(source, KeyPath::root()),
    ])?;
    let typed: schema::Namespace = typed_from(&merged, source, &KeyPath::root())?;
    let files = vec![cluster.path().to_path_buf(), source.path().to_path_buf()];

    let mut workloads = BTreeMap::new();
    for name in typed.workloads.iter().flat_map(BTreeMap::keys) {
        let own = KeyPath::root().key("workloads").key(name.clone());
        let mut merged = merge::merge(&[
            Layer::new(cluster, KeyPath::parse("defaults.workload")),
            Layer::new(source, KeyPath::parse("defaults.workload")),
            Layer::new(source, own.clone()),
        ])?;
        // The workload itself is where its key is written, so a problem with
        // the whole workload (its name, a missing key) points there.
        merged.origins.0.insert(KeyPath::root(), source.locate(&own));
        let workload = typed_from(&merged, source, &own)?;
        workloads.insert(
            name.clone(),
            Scoped { typed: workload, value: merged.value, origins: merged.origins, files: files.clone() },
        );
    }
    // Each workload is a scope of its own; the namespace scope keeps only the
    // namespace's own keys, so a big cluster's workloads are not held twice.
    let mut typed = typed;
    typed.workloads = None;
    let mut merged = merged;
    if let Some(map) = merged.value.as_mapping_mut() {
        map.remove("workloads");
    }
    merged.origins.forget_below(&KeyPath::root().key("workloads"));
    Ok(NamespaceValues { namespace: Scoped { typed, value: merged.value, origins: merged.origins, files }, workloads })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "name: demo\nkubernetesVersion: \"1.31\"\ngit: {repoURL: https://example.com/repo.git, revision: main}\ndefaults:\n  workload:\n    replicas: 1\n";
    const NODE: &str = "name: n1\nrole: server\ncapacity: {cpu: \"4\", memory: 8Gi}\n";
    const APPS: &str = "name: apps\nworkloads:\n  web:\n    kind: Deployment\n    image: nginx:1.27\n";

    fn inputs(more: &[(&str, &str)]) -> InputFiles {
        let mut inputs = InputFiles::default();
        let files =
            [("values/cluster.yaml", CLUSTER), ("values/nodes/n1.yaml", NODE), ("values/namespaces/apps.yaml", APPS)];
        for (path, text) in files.iter().chain(more) {
            inputs.files.insert(PathBuf::from(path), text.as_bytes().to_vec());
        }
        inputs
    }

    /// `load_edited` of one edit of `base` and `load` of the edited inputs,
    /// each as its whole result or its error.
    fn both(base: &[(&str, &str)], path: &str, text: &str) -> (String, String) {
        let loaded = load(&inputs(base), Keep::Typed).unwrap();
        let edited = source::parse(Path::new(path), text.as_bytes()).unwrap();
        let show = |result: Result<Values>| match result {
            Ok(values) => format!("{values:?}"),
            Err(error) => error.to_string(),
        };
        let mut edited_inputs = base.to_vec();
        edited_inputs.push((path, text));
        (
            show(load_edited(loaded, &inputs(base), vec![edited], Keep::Typed)),
            show(load(&inputs(&edited_inputs), Keep::Typed)),
        )
    }

    #[test]
    fn an_edited_or_added_namespace_loads_as_a_full_load_does() {
        for (path, text) in [
            (
                "values/namespaces/apps.yaml",
                "name: apps\nworkloads:\n  web:\n    kind: Deployment\n    image: nginx:1.28\n    replicas: 2\n",
            ),
            (
                "values/namespaces/blog.yaml",
                "name: blog\nworkloads:\n  api:\n    kind: Deployment\n    image: ghost:5\n",
            ),
        ] {
            let (edited, full) = both(&[], path, text);
            assert!(edited.starts_with("Values {"), "{edited}");
            assert_eq!(edited, full);
        }
    }

    #[test]
    fn an_edit_values_refuse_fails_as_a_full_load_does() {
        for (path, text) in [
            // The namespace's own layering refuses it.
            (
                "values/namespaces/apps.yaml",
                "name: apps\nworkloads:\n  web:\n    kind: Deployment\n    image: nginx:1.27\n    replicas: many\n",
            ),
            // The checks across all of values refuse it.
            ("values/namespaces/blog.yaml", "name: other\n"),
        ] {
            let (edited, full) = both(&[], path, text);
            assert!(edited.starts_with("error"), "{edited}");
            assert_eq!(edited, full);
        }
    }

    #[test]
    fn two_files_of_one_namespace_are_refused_as_in_a_full_load() {
        let web = |image: &str| format!("name: apps\nworkloads:\n  web:\n    kind: Deployment\n    image: {image}\n");
        let (edited, full) = both(&[], "values/namespaces/apps.yml", &web("nginx:1.28"));
        assert_eq!(
            edited,
            "error: namespace `apps` has two files, `values/namespaces/apps.yaml` and this one; kiln would read only one\n  --> values/namespaces/apps.yml:1:1\n  = help: keep one file per name: merge the two and remove the other"
        );
        assert_eq!(edited, full);
        let nodes = load(&inputs(&[("values/nodes/n1.yml", NODE)]), Keep::Typed).unwrap_err().to_string();
        assert!(nodes.starts_with("error: node `n1` has two files, `values/nodes/n1.yaml` and this one"), "{nodes}");
    }

    #[test]
    fn only_a_namespace_file_is_loaded_again_alone() {
        let (edited, _) = both(&[], "values/nodes/n1.yaml", NODE);
        assert!(edited.contains("only a namespace file can be loaded again alone"), "{edited}");
    }
}
