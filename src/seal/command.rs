//! `kiln seal`: what each form of the command reads and writes.
//!
//! - `--raw`: the base64 ciphertext of stdin (or `--from-file`) for one
//!   namespace and name, like `kubeseal --raw`; nothing is written.
//! - default: seals each given key for every target namespace (the
//!   `--namespace`s, else every namespace file that declares
//!   `secrets.<name>`) and writes `encryptedData.<key>`, `sealedFor` and,
//!   for a non-strict scope, `scope` into `values/namespaces/<ns>.yaml`
//!   ([`super::edit`]); `--print` prints the snippet instead. All files are
//!   sealed and edited in memory first, so a refusal writes none.
//! - `--list-placeholders`: the values marked `placeholder: true`; exit 1
//!   when there is any, so a bootstrap gate can run it.
//!
//! Plaintext comes from stdin or a file, never from the command line, where
//! it would land in shell history and in every process listing.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::crypto::{Scope, SealingCertificate};
use super::edit::Document;
use crate::cli::SealArguments;
use crate::input::InputFiles;
use crate::settings::Settings;
use crate::values::key_path::KeyPath;
use crate::values::{self, Keep, Values};
use crate::{fsutil, Error, Outcome, Result};

/// Kubernetes refuses a Secret larger than 1 MiB (`MaxSecretSize`,
/// kubernetes `pkg/apis/core/validation`).
const MAX_PLAINTEXT_BYTES: u64 = 1024 * 1024;

pub fn run(settings: &Settings, arguments: &SealArguments) -> Result<Outcome> {
    if arguments.list_placeholders {
        let values = load(settings)?;
        return Ok(list_placeholders(&values));
    }
    let name = arguments.name.as_deref().unwrap_or_default();
    if arguments.raw {
        return raw(settings, arguments, name);
    }
    let values = load(settings)?;
    let certificate = certificate(arguments.cert.as_deref(), Some(&values))?;
    let plaintexts = plaintexts(arguments)?;
    let targets = targets(&values, name, &arguments.namespaces)?;
    let mut edits = Vec::new();
    for namespace in &targets {
        let sealed = Sealed::new(&values, namespace, name, arguments.scope, &certificate, &plaintexts)?;
        if arguments.print {
            print!("{}", sealed.snippet(arguments.placeholder));
        } else {
            edits.push(sealed.edit(settings, arguments.placeholder)?);
        }
    }
    for (path, text, summary) in &edits {
        write_atomically(&settings.root.join(path), text.as_bytes())?;
        eprintln!("{summary}");
    }
    if !edits.is_empty() {
        eprintln!("run `kiln render` to update rendered/");
    }
    Ok(Outcome::Ok)
}

fn load(settings: &Settings) -> Result<Values> {
    values::load(&InputFiles::from_dir(&settings.root)?, Keep::Typed)
}

fn raw(settings: &Settings, arguments: &SealArguments, name: &str) -> Result<Outcome> {
    let [namespace] = arguments.namespaces.as_slice() else {
        return Err(Error::Usage { message: "`kiln seal --raw` needs exactly one `--namespace`".into() });
    };
    if arguments.key.is_some() || arguments.from_file.len() > 1 {
        return Err(Error::Usage {
            message: "`kiln seal --raw` seals one value: give no `--key`, and at most one `--from-file FILE`".into(),
        });
    }
    let values = match &arguments.cert {
        Some(_) => None,
        None => Some(load(settings)?),
    };
    let certificate = certificate(arguments.cert.as_deref(), values.as_ref())?;
    let plaintext = read_plaintext(arguments.from_file.first().map(Path::new))?;
    let scope = arguments.scope.unwrap_or_default();
    let sealed = certificate.seal(&plaintext, &scope.label(namespace, name)).map_err(seal_failed)?;
    println!("{sealed}");
    Ok(Outcome::Ok)
}

fn seal_failed(why: String) -> Error {
    Error::Usage { message: format!("sealing failed: {why}") }
}

/// The certificate of `--cert`, else the one declared in values.
fn certificate(file: Option<&Path>, values: Option<&Values>) -> Result<SealingCertificate> {
    if let Some(file) = file {
        let bytes = fsutil::read(file)?;
        let pem = String::from_utf8_lossy(&bytes);
        return SealingCertificate::from_pem(&pem)
            .map_err(|problem| Error::Usage { message: format!("`{}` {problem}", file.display()) });
    }
    values.and_then(super::check::declared).ok_or_else(|| Error::Usage {
        message: "no sealing certificate: declare `sealing.certificate` in values/cluster.yaml (see README, \"Runbook: sealing a secret\") or pass `--cert FILE`".into(),
    })
}

/// `(key, plaintext)` for each key to seal: `--key` with stdin or one
/// `--from-file FILE`, or `--from-file KEY=FILE` for each key.
fn plaintexts(arguments: &SealArguments) -> Result<Vec<(String, Vec<u8>)>> {
    if let Some(key) = &arguments.key {
        if arguments.from_file.len() > 1 {
            return Err(Error::Usage { message: "with `--key`, give at most one `--from-file FILE`".into() });
        }
        return Ok(vec![(key.clone(), read_plaintext(arguments.from_file.first().map(Path::new))?)]);
    }
    if arguments.from_file.is_empty() {
        return Err(Error::Usage {
            message: "name the key to seal: `--key KEY` (plaintext on stdin or `--from-file FILE`), or `--from-file KEY=FILE` for each key".into(),
        });
    }
    let mut seen = BTreeSet::new();
    let mut keys = Vec::new();
    for entry in &arguments.from_file {
        let Some((key, file)) = entry.split_once('=').filter(|(key, file)| !key.is_empty() && !file.is_empty()) else {
            return Err(Error::Usage {
                message: format!("`--from-file {entry}`: without `--key`, write `--from-file KEY=FILE`"),
            });
        };
        if !seen.insert(key) {
            return Err(Error::Usage { message: format!("key `{key}` is given twice") });
        }
        keys.push((key.to_string(), read_plaintext(Some(Path::new(file)))?));
    }
    Ok(keys)
}

fn read_plaintext(file: Option<&Path>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let (path, result) = match file {
        Some(path) => {
            let opened = std::fs::File::open(path).map_err(|source| Error::io("read", path, source))?;
            (path.to_path_buf(), opened.take(MAX_PLAINTEXT_BYTES + 1).read_to_end(&mut bytes))
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::Usage {
                    message: "kiln seal reads the plaintext from stdin: pipe it in (`printf %s \"$value\" | kiln seal …`) or pass `--from-file FILE`".into(),
                });
            }
            (PathBuf::from("<stdin>"), stdin.lock().take(MAX_PLAINTEXT_BYTES + 1).read_to_end(&mut bytes))
        }
    };
    result.map_err(|source| Error::io("read", &path, source))?;
    if bytes.len() as u64 > MAX_PLAINTEXT_BYTES {
        return Err(Error::Usage {
            message: format!("`{}` is larger than 1 MiB, more than a Kubernetes Secret can hold", path.display()),
        });
    }
    Ok(bytes)
}

/// The namespaces to seal for.
fn targets(values: &Values, name: &str, given: &[String]) -> Result<Vec<String>> {
    if !given.is_empty() {
        for namespace in given {
            if !values.namespaces.contains_key(namespace) {
                let known: Vec<&str> = values.namespaces.keys().map(String::as_str).collect();
                return Err(Error::Usage {
                    message: format!(
                        "no namespace `{namespace}` in values (values/namespaces/{namespace}.yaml); namespaces: {}",
                        known.join(", ")
                    ),
                });
            }
        }
        let mut unique: Vec<String> = given.to_vec();
        unique.sort();
        unique.dedup();
        return Ok(unique);
    }
    let declared: Vec<String> =
        values.namespaces.keys().filter(|namespace| own_file(values, namespace, name).is_some()).cloned().collect();
    if declared.is_empty() {
        return Err(Error::Usage {
            message: format!(
                "no namespace file declares `secrets.{name}`: pass `--namespace NS` (repeatable) to add it there"
            ),
        });
    }
    Ok(declared)
}

/// The namespace's own values file, when it declares `secrets.<name>`.
fn own_file<'v>(values: &'v Values, namespace: &str, name: &str) -> Option<&'v Path> {
    let file = values.namespaces.get(namespace)?.namespace.files.last()?;
    let at = KeyPath::root().key("secrets").key(name);
    values.position(file, &at).map(|_| file.as_path())
}

/// One secret sealed for one namespace, ready to print or write.
struct Sealed {
    namespace: String,
    name: String,
    scope: Scope,
    /// The scope must be written: not strict and not declared.
    write_scope: bool,
    fingerprint: String,
    keys: Vec<(String, String)>,
    /// Every key of the secret is sealed in this run.
    complete: bool,
}

impl Sealed {
    fn new(
        values: &Values,
        namespace: &str,
        name: &str,
        scope: Option<Scope>,
        certificate: &SealingCertificate,
        plaintexts: &[(String, Vec<u8>)],
    ) -> Result<Self> {
        let scoped = values.namespaces.get(namespace).map(|values| &values.namespace);
        let declared = scoped.and_then(|scoped| scoped.typed.secrets.as_ref()?.get(name));
        let base = KeyPath::root().key("secrets").key(name);
        let scope = match (scope, declared.and_then(|secret| secret.scope)) {
            (Some(given), Some(written)) if given != written => {
                return Err(Error::Values {
                    location: values_location(values, namespace, &base.key("scope")),
                    key_path: base.key("scope").to_string(),
                    message: format!(
                        "secret `{name}` is declared `scope: {}`, not `{}`",
                        written.as_str(),
                        given.as_str()
                    ),
                    help: Some("change `scope` in values first: every key of a secret is sealed for one scope".into()),
                });
            }
            (given, written) => given.or(written).unwrap_or_default(),
        };
        let sealing: BTreeSet<&str> = plaintexts.iter().map(|(key, _)| key.as_str()).collect();
        let others: Vec<&str> = declared
            .and_then(|secret| secret.encrypted_data.as_ref())
            .into_iter()
            .flatten()
            .map(|(key, _)| key.as_str())
            .filter(|key| !sealing.contains(key))
            .collect();
        let sealed_for = declared.and_then(|secret| secret.sealed_for.as_deref());
        if !others.is_empty() && sealed_for != Some(certificate.fingerprint.as_str()) {
            let at = base.key("sealedFor");
            return Err(Error::Values {
                location: values_location(values, namespace, &at),
                key_path: at.to_string(),
                message: format!(
                    "secret `{name}` in namespace {namespace} also has {}, not sealed for this certificate",
                    others.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
                ),
                help: Some(
                    "seal every key in the same run (`--from-file KEY=FILE` for each), so the whole secret is sealed for one certificate"
                        .into(),
                ),
            });
        }
        let label = scope.label(namespace, name);
        let mut keys = Vec::new();
        for (key, plaintext) in plaintexts {
            keys.push((key.clone(), certificate.seal(plaintext, &label).map_err(seal_failed)?));
        }
        Ok(Sealed {
            namespace: namespace.to_string(),
            name: name.to_string(),
            scope,
            write_scope: scope != Scope::Strict && declared.and_then(|secret| secret.scope).is_none(),
            fingerprint: certificate.fingerprint.clone(),
            keys,
            complete: others.is_empty(),
        })
    }

    fn file(&self) -> PathBuf {
        PathBuf::from(values::VALUES_DIR).join("namespaces").join(format!("{}.yaml", self.namespace))
    }

    fn snippet(&self, placeholder: bool) -> String {
        let mut out = format!("# {}\nsecrets:\n  {}:\n", self.file().display(), self.name);
        if self.write_scope {
            out.push_str(&format!("    scope: {}\n", self.scope.as_str()));
        }
        if placeholder {
            out.push_str("    placeholder: true\n");
        }
        out.push_str(&format!("    sealedFor: {}\n    encryptedData:\n", self.fingerprint));
        for (key, sealed) in &self.keys {
            out.push_str(&format!("      {}: {sealed}\n", yaml_key(key)));
        }
        out
    }

    /// The namespace file's path, its edited text and what to tell the operator.
    fn edit(&self, settings: &Settings, placeholder: bool) -> Result<(PathBuf, String, String)> {
        let path = self.file();
        let text = String::from_utf8(fsutil::read(&settings.root.join(&path))?)
            .map_err(|_| Error::NotUtf8 { location: crate::diagnostic::Location::file(&path) })?;
        let mut document = Document::parse(&path, text)?;
        let base = KeyPath::root().key("secrets").key(self.name.clone());
        for (key, sealed) in &self.keys {
            document.set(&base.key("encryptedData").key(key.clone()), sealed, Value::String(sealed.clone()))?;
        }
        if self.write_scope {
            let scope = self.scope.as_str();
            document.set(&base.key("scope"), scope, Value::String(scope.into()))?;
        }
        document.set(&base.key("sealedFor"), &self.fingerprint, Value::String(self.fingerprint.clone()))?;
        let mark = base.key("placeholder");
        if placeholder {
            document.set(&mark, "true", Value::Bool(true))?;
        } else if self.complete {
            document.remove(&mark)?;
        }
        let keys: Vec<String> = self.keys.iter().map(|(key, _)| format!("`{key}`")).collect();
        let summary = format!(
            "sealed {} of secret `{}` for namespace {} ({} scope) into {}",
            keys.join(", "),
            self.name,
            self.namespace,
            self.scope.as_str(),
            path.display()
        );
        Ok((path, document.text().to_string(), summary))
    }
}

fn values_location(values: &Values, namespace: &str, at: &KeyPath) -> crate::diagnostic::Location {
    match values.namespaces.get(namespace) {
        Some(scoped) => scoped.namespace.locate(at),
        None => crate::diagnostic::Location::file(Path::new(values::VALUES_DIR)),
    }
}

/// A key as a plain YAML scalar when it can be one, else double-quoted.
fn yaml_key(key: &str) -> String {
    if key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        key.to_string()
    } else {
        serde_json::to_string(key).unwrap_or_default()
    }
}

/// Writes beside the file, then renames over it: a crash leaves the old file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.kiln-seal"));
    fsutil::write(&temporary, bytes)?;
    fsutil::rename(&temporary, path)
}

/// Prints every value marked `placeholder: true`; exit 1 when there is one.
fn list_placeholders(values: &Values) -> Outcome {
    let mut lines = Vec::new();
    if values.cluster.typed.sealing.as_ref().and_then(|sealing| sealing.placeholder) == Some(true) {
        let at = KeyPath::parse("sealing.placeholder");
        lines.push(format!(
            "{}: sealing.certificate: a stand-in certificate: declare your controller's certificate, then re-seal every secret",
            values.cluster.locate(&at)
        ));
    }
    for (namespace, scoped) in &values.namespaces {
        for (name, secret) in scoped.namespace.typed.secrets.iter().flatten() {
            if secret.placeholder == Some(true) {
                let at = KeyPath::root().key("secrets").key(name.clone()).key("placeholder");
                let keys: Vec<String> =
                    secret.encrypted_data.iter().flatten().map(|(key, _)| format!("`{key}`")).collect();
                lines.push(format!(
                    "{}: secrets.{name} (namespace {namespace}): stand-in values for {}: seal the real ones with `kiln seal`",
                    scoped.namespace.locate(&at),
                    if keys.is_empty() { "no keys".into() } else { keys.join(", ") }
                ));
            }
        }
    }
    if lines.is_empty() {
        println!("no placeholders");
        return Outcome::Ok;
    }
    for line in &lines {
        println!("{line}");
    }
    let count = lines.len();
    println!(
        "{count} placeholder{}: replace {} before bootstrap (README, \"Runbook: sealing a secret\")",
        if count == 1 { "" } else { "s" },
        if count == 1 { "it" } else { "them" }
    );
    Outcome::CheckFailed
}
