//! Writes the mapped workloads into `values/namespaces/<ns>.yaml`.
//!
//! An existing file is edited surgically (`seal::edit::Document`): only
//! `workloads.<name>` of each imported service is added or replaced, a
//! `sharedVolumes` entry or a secret key the import needs is added when it
//! is missing, and every other line (comments, order, quoting) stays as
//! written. A workload the importer wrote carries the marker comment
//! `# kiln import compose: <project>/<service>` on its key line; a workload
//! of the same name without it was written by hand and is never
//! overwritten (exit 2, naming its line). A namespace without a file gets a
//! new one with what a namespace needs to render and pass kiln's checks: its
//! `name` and a default-deny NetworkPolicy that lets its own workloads and
//! their declared flows through.
//!
//! Credentials are never written: each secret key the workloads reference
//! is sealed for the cluster's certificate from a stand-in value and marked
//! `placeholder: true`, so `kiln render` works and `kiln seal
//! --list-placeholders` (the bootstrap gate) lists it until the operator
//! seals the real value with the command the report prints.
//!
//! Every edited file must load with the rest of values before anything is
//! written (`values::load_edited`: what `values::load` of the edited
//! inputs gives, layering only the edited files again); files are then
//! replaced atomically (written beside, renamed over), so a refusal or a
//! crash leaves values as they were.

pub mod emit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::map::cluster::Cluster;
use super::map::report::{Status, Written};
use super::map::{Mapped, NamespaceImport};
use crate::input::InputFiles;
use crate::seal::crypto::Scope;
use crate::seal::edit::{Block, Document};
use crate::values::key_path::KeyPath;
use crate::values::{self, Keep, Values};
use crate::{fsutil, Error, Result};

pub const TOOL: &str = "kiln import compose";
/// What each placeholder secret value holds until it is sealed for real.
const PLACEHOLDER: &[u8] = b"kiln-import-compose-placeholder";

/// One values file to write: its path from the repository root, the text
/// it has now (`None` when it is new) and the text to write.
#[derive(Debug)]
pub struct FileEdit {
    pub path: PathBuf,
    pub old: Option<String>,
    pub new: String,
}

/// Computes every edit in memory and proves the result loads with the rest
/// of `values`, what `values::load` returned for `inputs`.
pub fn plan(
    inputs: &InputFiles,
    values: Values,
    mapped: &mut Mapped,
    cluster: &Cluster,
    project: &str,
) -> Result<Vec<FileEdit>> {
    let mut edits = Vec::new();
    let mut edited = Vec::new();
    let namespaces = std::mem::take(&mut mapped.namespaces);
    for (namespace, import) in &namespaces {
        // The namespace's file, `.yml` when that is the one there.
        let dir = PathBuf::from(values::VALUES_DIR).join("namespaces");
        let yml = dir.join(format!("{namespace}.yml"));
        let path = if inputs.get(&yml).is_some() { yml } else { dir.join(format!("{namespace}.yaml")) };
        let old = match inputs.get(&path) {
            Some(bytes) => Some(
                String::from_utf8(bytes.clone())
                    .map_err(|_| Error::NotUtf8 { location: crate::diagnostic::Location::file(&path) })?,
            ),
            None => None,
        };
        let start = old.clone().unwrap_or_else(|| new_namespace(namespace, project, import));
        let mut document = Document::parse(&path, start)?.for_tool(TOOL);
        // Replacements in place; everything new is added in as few edits as
        // there are parents (one re-parse each), a parent new to the file
        // with the other new top-level keys in one.
        let mut additions: Vec<(&str, Vec<Block<'_>>)> = Vec::new();
        let mut workloads = Vec::new();
        for (name, service, workload) in &import.workloads {
            let at = KeyPath::root().key("workloads").key(name.clone());
            let value = without_nulls(serde_yaml::to_value(workload).unwrap_or(Value::Null));
            let comment = format!("  # {TOOL}: {project}/{service}");
            let Some(line) = document.key_line(&at) else {
                workloads.push(block(name.clone(), comment, value));
                continue;
            };
            if !line.contains(TOOL) {
                let location = values_location(&document, &path, &at);
                return Err(Error::Values {
                    location,
                    key_path: at.to_string(),
                    message: format!("workload `{name}` already exists and was not written by {TOOL}: it is never overwritten"),
                    help: Some(format!("rename the compose service, import it into another namespace, or remove the workload first (service `{service}`)")),
                });
            }
            if let Some(imported) =
                mapped.report.workloads.iter_mut().find(|w| &w.namespace == namespace && &w.workload == name)
            {
                imported.action = "replaced".into();
            }
            let map = value.as_mapping().cloned().unwrap_or_default();
            document.set_block(&at, &comment, &|indent| emit::block(&map, indent), value)?;
        }
        additions.push(("workloads", workloads));
        let mut volumes = Vec::new();
        for (name, volume) in &import.shared_volumes {
            let at = KeyPath::root().key("sharedVolumes").key(name.clone());
            if document.has(&at) {
                mapped.report.push(
                    "",
                    &KeyPath::root().key("volumes").key(name.clone()),
                    Status::Note,
                    format!("namespace {namespace} already declares sharedVolumes.{name}: kept as it is"),
                );
                continue;
            }
            volumes.push(block(
                name.clone(),
                String::new(),
                without_nulls(serde_yaml::to_value(volume).unwrap_or(Value::Null)),
            ));
        }
        additions.push(("sharedVolumes", volumes));
        additions.push(("secrets", seal_placeholders(&mut document, namespace, &import.secrets, cluster)?));
        let mut top = Vec::new();
        for (parent, blocks) in additions {
            if blocks.is_empty() {
                continue;
            }
            if document.has(&KeyPath::root().key(parent)) {
                document.add_blocks(&KeyPath::root().key(parent), &blocks)?;
            } else {
                top.push(nest(parent, blocks));
            }
        }
        document.add_blocks(&KeyPath::root(), &top)?;
        if old.as_deref() != Some(document.text()) {
            edits.push(FileEdit { path, old, new: document.text().to_string() });
            edited.push(document.into_source());
        }
    }
    mapped.namespaces = namespaces;
    // Every edited file loads with the rest of values, or nothing is written.
    values::load_edited(values, inputs, edited, Keep::Typed)?;
    mapped.report.files = edits
        .iter()
        .map(|edit| Written {
            path: crate::diagnostic::display_path(&edit.path),
            action: if edit.old.is_some() { "edited" } else { "created" }.into(),
        })
        .collect();
    Ok(edits)
}

fn values_location(document: &Document, path: &Path, at: &KeyPath) -> crate::diagnostic::Location {
    crate::values::source::parse(path, document.text().as_bytes())
        .map(|source| source.locate(at))
        .unwrap_or_else(|_| crate::diagnostic::Location::file(path))
}

/// Adds each missing key of a declared secret as a sealed stand-in marked
/// placeholder, and returns the secrets to add whole.
fn seal_placeholders<'a>(
    document: &mut Document,
    namespace: &str,
    secrets: &BTreeMap<String, BTreeSet<String>>,
    cluster: &Cluster,
) -> Result<Vec<Block<'a>>> {
    let placeholders = seal_each(document, namespace, secrets, cluster)?;
    let mut new_secrets = Vec::new();
    for (secret, keys) in secrets {
        let base = KeyPath::root().key("secrets").key(secret.clone());
        let missing: Vec<&String> =
            keys.iter().filter(|key| !document.has(&base.key("encryptedData").key((*key).clone()))).collect();
        // Every key of one secret holds the same stand-in, and a strict
        // scope's label is the namespace and name: one ciphertext serves them all.
        let (Some(value), Some(certificate)) = (placeholders.get(secret), &cluster.certificate) else { continue };
        if !document.has(&base) {
            let sealed: Mapping =
                missing.iter().map(|key| (Value::String((*key).clone()), Value::String(value.clone()))).collect();
            let mut declared = Mapping::new();
            declared.insert("encryptedData".into(), Value::Mapping(sealed));
            declared.insert("sealedFor".into(), Value::String(certificate.fingerprint.clone()));
            declared.insert("placeholder".into(), Value::Bool(true));
            new_secrets.push(block(secret.clone(), String::new(), Value::Mapping(declared)));
            continue;
        }
        for key in missing {
            document.set(&base.key("encryptedData").key(key.clone()), value, Value::String(value.clone()))?;
        }
        document.set(&base.key("placeholder"), "true", Value::Bool(true))?;
    }
    Ok(new_secrets)
}

/// A sealed stand-in for each secret that misses a key, sealed side by side
/// (RSA-OAEP with the cluster's key is the costly step of a large import).
fn seal_each(
    document: &Document,
    namespace: &str,
    secrets: &BTreeMap<String, BTreeSet<String>>,
    cluster: &Cluster,
) -> Result<BTreeMap<String, String>> {
    let wanted: Vec<&String> = secrets
        .iter()
        .filter(|(secret, keys)| {
            let base = KeyPath::root().key("secrets").key((*secret).clone()).key("encryptedData");
            keys.iter().any(|key| !document.has(&base.key(key.clone())))
        })
        .map(|(secret, _)| secret)
        .collect();
    let Some(certificate) = &cluster.certificate else {
        return match wanted.first() {
            Some(secret) => Err(Error::Usage {
                message: format!("the import needs secret `{secret}` in namespace {namespace}, and values declare no sealing certificate to seal its placeholder for: declare `sealing.certificate` in values/cluster.yaml (README, \"Runbook: sealing a secret\")"),
            }),
            None => Ok(BTreeMap::new()),
        };
    };
    crate::parallel::map(wanted, |secret| {
        let label = Scope::Strict.label(namespace, secret);
        certificate.seal(PLACEHOLDER, &label).map(|sealed| (secret.clone(), sealed))
    })
    .into_iter()
    .collect::<Result<_, String>>()
    .map_err(|why| Error::Usage { message: format!("sealing a placeholder failed: {why}") })
}

/// A key whose value is written as a block mapping.
fn block<'a>(key: String, comment: String, value: Value) -> Block<'a> {
    let map = value.as_mapping().cloned().unwrap_or_default();
    Block { key, comment, value, body: Box::new(move |indent| emit::block(&map, indent)) }
}

/// `parent:` holding `blocks`, for a parent the file does not have yet.
fn nest<'a>(parent: &str, blocks: Vec<Block<'a>>) -> Block<'a> {
    let value: Mapping = blocks.iter().map(|block| (Value::String(block.key.clone()), block.value.clone())).collect();
    let body = move |indent: usize| {
        blocks
            .iter()
            .map(|block| format!("{}{}:{}\n{}", " ".repeat(indent), block.key, block.comment, (block.body)(indent + 2)))
            .collect::<String>()
    };
    Block { key: parent.to_string(), comment: String::new(), value: Value::Mapping(value), body: Box::new(body) }
}

/// The start of a new namespace file.
fn new_namespace(namespace: &str, project: &str, import: &NamespaceImport) -> String {
    let mut egress: BTreeSet<String> = BTreeSet::from([namespace.to_string()]);
    for (_, _, workload) in &import.workloads {
        for flow in workload.flows.iter().flatten() {
            if let Some((other, _)) = flow.service.as_deref().and_then(|service| service.split_once('/')) {
                egress.insert(other.to_string());
            }
        }
    }
    let egress: Vec<String> = egress.into_iter().collect();
    format!(
        "# Created by {TOOL} from the Docker Compose project `{project}`.\n\
         name: {namespace}\n\
         description: {}\n\
         networkPolicy:\n  defaultDeny: true\n  allowDns: true\n  ingressFrom: [{namespace}]\n  egressTo: [{}]\n",
        emit::scalar(&Value::String(format!("Imported from Docker Compose project {project}")), false),
        egress.join(", ")
    )
}

/// Writes every edit atomically, relative to `root`.
pub fn write(root: &Path, edits: &[FileEdit]) -> Result<()> {
    for edit in edits {
        let path = root.join(&edit.path);
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = path.with_file_name(format!(".{name}.kiln-import"));
        fsutil::write(&temporary, edit.new.as_bytes())?;
        fsutil::rename(&temporary, &path)?;
    }
    Ok(())
}

/// What `--dry-run` prints: new files whole, edited ones as a unified diff.
pub fn preview(edits: &[FileEdit]) -> String {
    let mut out = String::new();
    for edit in edits {
        let path = crate::diagnostic::display_path(&edit.path);
        match &edit.old {
            None => {
                out.push_str(&format!("--- /dev/null\n+++ b/{path}\n"));
                for line in edit.new.lines() {
                    out.push_str(&format!("+{line}\n"));
                }
            }
            Some(old) => out.push_str(
                &similar::TextDiff::from_lines(old.as_str(), edit.new.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), &format!("b/{path}"))
                    .to_string(),
            ),
        }
    }
    out
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Mapping(map) => Value::Mapping(
            map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect::<Mapping>(),
        ),
        Value::Sequence(list) => Value::Sequence(list.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
