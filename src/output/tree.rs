//! The in-memory rendered tree: every output file by path (sorted), with its
//! bytes and sha256, plus `SHA256SUMS` and `kiln.lock`. Writing, diffing and
//! verifying all start from a [`Tree`].
//!
//! Paths: namespaced objects go to `namespaces/<ns>/<kind>-<name>.yaml`,
//! cluster-scoped ones to `cluster/<kind>-<name>.yaml`, node files and
//! node-local objects under `nodes/<node>/`.
//!
//! Every component of such a path comes from rendered output, so each is
//! checked before it is joined: the namespace must be a DNS-1123 label (what
//! the API server requires of `metadata.namespace`, apimachinery
//! `ValidateNamespaceName`), the kind an identifier (API kinds are CamelCase
//! names), the name one path component of Kubernetes name characters, and
//! the node a DNS-1123 label. None of them can hold `/` or be `..`.
//!
//! `kiln.lock` records what produced the tree: kiln's version and build
//! identity (a digest of kiln's own sources, computed by `build.rs`), the
//! inputs, one digest of the outputs, the object count and the findings of
//! `validate` and `plan`. That is everything a no-change `kiln render` prints,
//! so it can answer from the lock (`commands`). Because the build identity is
//! in the lock, the lock (and SHA256SUMS, which lists it) changes whenever
//! kiln's source does: a kiln whose code changed may render differently, and
//! must not trust a tree it did not write.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use super::bookkeeping::is_bookkeeping;
use super::canonical;
use super::object::{Identity, Object, Origin, PlainFile};
use crate::diagnostic::{display_path, Diagnostic};
use crate::error::TemplateSpan;
use crate::hash;
use crate::values::check::dns_label_problem;
use crate::values::VALUES_DIR;
use crate::{parallel, Error, Result};

pub const SUMS_FILE: &str = "SHA256SUMS";
pub const LOCK_FILE: &str = "kiln.lock";
/// The crate version, recorded in the lock.
pub const KILN_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The build identity (see `build.rs`), recorded in the lock.
pub const KILN_BUILD: &str = env!("KILN_BUILD_ID");

#[derive(Debug, Clone)]
pub struct Entry {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub object: Option<Identity>,
    /// Template and scope that produced it (empty for SHA256SUMS and the lock).
    pub origin: String,
}

impl Entry {
    fn new(bytes: Vec<u8>, object: Option<Identity>, origin: String) -> Self {
        let sha256 = hash::sha256(&bytes);
        Entry { bytes, sha256, object, origin }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub files: BTreeMap<String, Entry>,
    /// What `files` holds as `kiln.lock`, kept to re-seal the tree.
    lock: Option<Lock>,
}

impl Tree {
    pub fn objects(&self) -> usize {
        self.files.values().filter(|entry| entry.object.is_some()).count()
    }

    /// The files of the cluster: every file but SHA256SUMS and kiln.lock.
    pub fn cluster_files(&self) -> usize {
        self.files.keys().filter(|path| !is_bookkeeping(path)).count()
    }

    /// Records the findings of `validate` and `plan` in the lock, and
    /// SHA256SUMS again. The tree is built before they can run (they need
    /// it); `render` and `render --diff` call this with what they found.
    pub fn record_findings(&mut self, findings: &[Diagnostic]) {
        if let Some(lock) = &mut self.lock {
            lock.findings = findings.to_vec();
        }
        self.seal();
    }

    /// (Re)writes `kiln.lock` and `SHA256SUMS` for the other files.
    fn seal(&mut self) {
        self.files.remove(SUMS_FILE);
        if let Some(lock) = &self.lock {
            self.files.insert(LOCK_FILE.into(), Entry::new(lock.to_text().into_bytes(), None, String::new()));
        }
        let sums = sums_text(self.files.iter().map(|(path, entry)| (path, &entry.sha256)));
        self.files.insert(SUMS_FILE.into(), Entry::new(sums.into_bytes(), None, String::new()));
    }
}

/// Places objects (already in canonical key order) and files, checks uniqueness and path safety, and adds the
/// hash manifest and the lock.
pub fn build(objects: &[Object], files: Vec<PlainFile>, inputs: &BTreeMap<String, String>) -> Result<Tree> {
    let mut tree = Tree::default();
    let mut identities: BTreeMap<Identity, String> = BTreeMap::new();
    let mut errors = Vec::new();
    // Serializing and hashing is the costly part and independent per object.
    let placed = parallel::map(objects.iter().collect(), |object| {
        let described = object.origin.describe();
        object_path(object).map(|path| {
            let text = format!("{}{}", header(&object.origin, "#"), canonical::to_yaml(&object.value));
            (path, Entry::new(text.into_bytes(), Some(object.identity.clone()), described))
        })
    });
    for (object, placed) in objects.iter().zip(placed) {
        let described = object.origin.describe();
        if let Some(first) = identities.insert(object.identity.clone(), described.clone()) {
            errors.push(Error::Duplicate { what: format!("object {}", object.identity), first, second: described });
            continue;
        }
        match placed {
            Ok((path, entry)) => insert(&mut tree, path, entry, &mut errors),
            Err(error) => errors.push(error),
        }
    }
    for file in files {
        let described = file.origin.describe();
        let path = match file_path(&file) {
            Ok(path) => path,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let body = canonical::normalize_text(file.text.trim_start_matches('\n'));
        if body.is_empty() {
            // An empty rendering means "not for this node" (e.g. server-only files).
            continue;
        }
        let text = with_file_header(&path, &body, &file.origin);
        insert(&mut tree, path, Entry::new(text.into_bytes(), None, described), &mut errors);
    }
    Error::from_list(errors)?;
    add_manifests(&mut tree, inputs);
    Ok(tree)
}

fn insert(tree: &mut Tree, path: String, entry: Entry, errors: &mut Vec<Error>) {
    if let Some(previous) = tree.files.get(&path) {
        errors.push(Error::Duplicate {
            what: format!("output file `rendered/{path}`"),
            first: previous.origin.clone(),
            second: entry.origin,
        });
        return;
    }
    tree.files.insert(path, entry);
}

/// The provenance header: the template, and the values files of the scope
/// instance that rendered it. A node, namespace or workload lists its own
/// files (`values/cluster.yaml` and the node's or namespace's file), which
/// adding another node, namespace or workload does not change. The cluster
/// scope reads every values file; listing them would rewrite every
/// cluster-scope file whenever a file is added, so it says so instead
/// (`kiln explain` shows where each value was set).
fn header(origin: &Origin, comment: &str) -> String {
    let values = if origin.is_cluster_scope() {
        format!("every file in {VALUES_DIR}/ (cluster scope)")
    } else {
        origin.values.iter().map(|path| display_path(path)).collect::<Vec<_>>().join(", ")
    };
    format!("{comment} Source: {}\n{comment} Values: {values}\n", origin.template)
}

/// Files get the `# Source:` header where `#` starts a comment; a shebang stays first.
fn with_file_header(path: &str, body: &str, origin: &Origin) -> String {
    let commented = [".yaml", ".yml", ".sh", ".toml", ".conf", ".env"].iter().any(|ext| path.ends_with(ext));
    if !commented {
        return body.to_string();
    }
    let header = header(origin, "#");
    match body.strip_prefix("#!") {
        Some(rest) => {
            let (shebang, rest) = rest.split_once('\n').unwrap_or((rest, ""));
            format!("#!{shebang}\n{header}{rest}")
        }
        None => format!("{header}{body}"),
    }
}

/// Where `object` is written, relative to `rendered/`.
pub fn object_path(object: &Object) -> Result<String> {
    let identity = &object.identity;
    let file = format!("{}-{}.yaml", safe_kind(object)?.to_ascii_lowercase(), safe_name(object)?);
    if let Some(dir) = &object.origin.dir {
        let node = safe_label(object, "node", object.origin.scope.node().unwrap_or_default())?;
        return Ok(format!("nodes/{node}/{}/{file}", safe_relative(dir, &object.origin, "dir")?));
    }
    Ok(match &identity.namespace {
        Some(namespace) => format!("namespaces/{}/{file}", safe_label(object, "namespace", namespace)?),
        None => format!("cluster/{file}"),
    })
}

fn unsafe_part(object: &Object, message: String, help: &str) -> Error {
    Error::Output {
        template: Box::new(TemplateSpan::file(object.origin.template.clone())),
        scope: Some(Box::new(object.origin.scope.clone())),
        message: format!("document {}: {message}", object.origin.document),
        help: Some(help.into()),
    }
}

/// A namespace or node: a DNS-1123 label, so one safe path component.
fn safe_label<'a>(object: &Object, what: &str, label: &'a str) -> Result<&'a str> {
    match dns_label_problem(label) {
        None => Ok(label),
        Some(problem) => Err(unsafe_part(
            object,
            format!("{} {what} `{label}` {problem}", object.identity.kind),
            &format!("a {what} must be a DNS-1123 label: lower-case letters, digits and `-`, at most 63"),
        )),
    }
}

/// The kind names the file: letters and digits only, as every API kind is.
fn safe_kind(object: &Object) -> Result<&str> {
    let kind = object.identity.kind.as_str();
    let safe =
        kind.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    if safe {
        Ok(kind)
    } else {
        Err(unsafe_part(
            object,
            format!("kind `{kind}` is not a valid, path-safe kind"),
            "API kinds are CamelCase names of letters and digits, e.g. `ConfigMap`",
        ))
    }
}

/// Object names become file names: they must not escape the directory.
fn safe_name(object: &Object) -> Result<String> {
    let name = &object.identity.name;
    let safe = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b));
    if !safe {
        return Err(Error::Output {
            template: Box::new(TemplateSpan::file(object.origin.template.clone())),
            scope: Some(Box::new(object.origin.scope.clone())),
            message: format!(
                "document {}: {} name `{name}` is not a valid, path-safe object name",
                object.origin.document, object.identity.kind
            ),
            help: Some("Kubernetes names use lower-case letters, digits, `-` and `.`".into()),
        });
    }
    Ok(name.replace(':', "_"))
}

fn file_path(file: &PlainFile) -> Result<String> {
    let node = file.origin.scope.node().unwrap_or_default();
    let path = file.origin.path.as_deref().unwrap_or_default();
    Ok(format!("nodes/{node}/{}", safe_relative(path, &file.origin, "path")?))
}

/// A relative path (front matter `key`) that stays inside its directory.
fn safe_relative(path: &str, origin: &Origin, key: &str) -> Result<String> {
    let safe = !path.is_empty()
        && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
        && path.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if safe {
        Ok(path.trim_end_matches('/').to_string())
    } else {
        Err(Error::Output {
            template: Box::new(TemplateSpan::file(origin.template.clone())),
            scope: Some(Box::new(origin.scope.clone())),
            message: format!("front matter `{key}: {path}` is not a safe relative path"),
            help: Some("use a relative path of letters, digits, `-`, `_`, `.` and `/`, without `..`".into()),
        })
    }
}

/// Adds `kiln.lock` (with no findings yet) and `SHA256SUMS` for the files already in the tree.
fn add_manifests(tree: &mut Tree, inputs: &BTreeMap<String, String>) {
    let outputs_digest = digest_lines(tree.files.iter().map(|(path, entry)| (path.as_str(), entry.sha256.as_str())));
    tree.lock = Some(Lock {
        kiln_version: KILN_VERSION.to_string(),
        kiln_build: KILN_BUILD.to_string(),
        inputs_digest: inputs_digest(inputs),
        outputs_digest,
        objects: tree.objects(),
        inputs: inputs.clone(),
        findings: Vec::new(),
    });
    tree.seal();
}

/// The digest of every input file (path → sha256): it changes when any byte
/// of any input changes, and when an input is added, removed or renamed.
pub fn inputs_digest(inputs: &BTreeMap<String, String>) -> String {
    digest_lines(inputs.iter().map(|(path, sha)| (path.as_str(), sha.as_str())))
}

/// The digest the lock records for a tree's outputs, from its SHA256SUMS
/// entries (path → sha256): every file except the lock itself (SHA256SUMS
/// does not list itself).
pub fn outputs_digest(sums: &BTreeMap<String, String>) -> String {
    digest_lines(sums.iter().filter(|(path, _)| *path != LOCK_FILE).map(|(path, sha)| (path.as_str(), sha.as_str())))
}

pub use crate::hash::digest_lines;

/// `rendered/kiln.lock`: what produced the tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    pub kiln_version: String,
    /// sha256 of kiln's own sources (see `build.rs`).
    pub kiln_build: String,
    /// sha256 over the sorted `<sha256>  <path>` lines of every input file.
    pub inputs_digest: String,
    /// sha256 over the sorted `<sha256>  <path>` lines of every output file except the lock and SHA256SUMS.
    pub outputs_digest: String,
    /// Kubernetes objects in the tree.
    pub objects: usize,
    pub inputs: BTreeMap<String, String>,
    /// What `validate` and `plan` reported on the render that wrote the tree.
    /// Another kiln may have written them in another form: those are not
    /// reused (the fast path needs this build's lock anyway), not an error.
    #[serde(deserialize_with = "findings_of_any_kiln")]
    pub findings: Vec<Diagnostic>,
}

fn findings_of_any_kiln<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Diagnostic>, D::Error> {
    let value = <serde_yaml::Value as serde::Deserialize>::deserialize(deserializer)?;
    Ok(serde_yaml::from_value(value).unwrap_or_default())
}

impl Lock {
    /// Whether this kiln, built from these sources, wrote the lock.
    pub fn written_by_this_build(&self) -> bool {
        self.kiln_version == KILN_VERSION && self.kiln_build == KILN_BUILD
    }

    fn to_text(&self) -> String {
        let body = serde_yaml::to_string(self).unwrap_or_default();
        format!("# Written by `kiln render`; do not edit. `kiln verify` checks it.\n{body}")
    }
}

/// SHA256SUMS as kiln writes it: one `<sha256>  <path>` line per entry, in the given (sorted) order.
pub fn sums_text<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    entries.into_iter().map(|(path, sha)| format!("{sha}  {path}\n")).collect()
}

/// Parses SHA256SUMS text into path → sha256.
pub fn parse_sums(text: &str) -> Option<BTreeMap<String, String>> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split_once("  ").map(|(sha, path)| (path.to_string(), sha.to_string())))
        .collect()
}
