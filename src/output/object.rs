//! Parses each template's output back as a YAML stream and turns every
//! document into a Kubernetes object with an identity, or a plain file.

use serde_yaml::{Mapping, Value};

use crate::error::TemplateSpan;
use crate::render::templates::OutputKind;
use crate::render::Rendered;
use crate::scope::ScopeRef;
use crate::{Error, Result};

/// apiVersion group, kind, namespace and name: what makes an object unique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group.is_empty() { self.kind.clone() } else { format!("{}.{}", self.kind, self.group) };
        match &self.namespace {
            Some(namespace) => write!(f, "{kind} {namespace}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

/// A rendered Kubernetes object and the template run that produced it.
#[derive(Debug, Clone)]
pub struct Object {
    pub identity: Identity,
    pub value: Value,
    pub origin: Origin,
}

/// A plain (non-Kubernetes) file.
#[derive(Debug, Clone)]
pub struct PlainFile {
    pub text: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Origin {
    pub template: String,
    pub scope: ScopeRef,
    pub values: Vec<std::path::PathBuf>,
    pub path: Option<String>,
    pub dir: Option<String>,
    /// 1-based index of the document in the template's output stream; 0 for plain files.
    pub document: usize,
}

impl Origin {
    /// An origin for unit tests' hand-made objects: the cluster scope, no template.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Origin {
        Origin { template: String::new(), scope: ScopeRef::Cluster, values: vec![], path: None, dir: None, document: 1 }
    }

    /// Whether the cluster scope rendered it: the one scope without a node or
    /// namespace, and the one that reads every values file.
    pub fn is_cluster_scope(&self) -> bool {
        self.scope == ScopeRef::Cluster
    }

    pub fn describe(&self) -> String {
        match self.document {
            0 => format!("{} (rendering {})", self.template, self.scope),
            document => format!("{} (rendering {}, document {document})", self.template, self.scope),
        }
    }
}

/// Kinds that are not namespaced, among those kiln users render.
pub const CLUSTER_SCOPED_KINDS: [&str; 17] = [
    "APIService",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterSecretStore",
    "CSIDriver",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingWebhookConfiguration",
    "VolumeSnapshotClass",
];

pub enum Parsed {
    Objects(Vec<Object>),
    File(PlainFile),
}

/// Splits one template run into objects (or keeps it as a file).
pub fn parse(rendered: Rendered) -> Result<Parsed> {
    let origin = Origin {
        template: rendered.template,
        scope: rendered.scope,
        values: rendered.values,
        path: rendered.path,
        dir: rendered.dir,
        document: 0,
    };
    if rendered.output == OutputKind::File {
        return Ok(Parsed::File(PlainFile { text: rendered.text, origin }));
    }
    let mut objects = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(&rendered.text).enumerate() {
        let origin = Origin { document: index + 1, ..origin.clone() };
        let value = super::compact::value(document).map_err(|error| invalid_yaml(&origin, &rendered.text, &error))?;
        if value.is_null() {
            continue;
        }
        objects.push(object(value, origin)?);
    }
    Ok(Parsed::Objects(objects))
}

fn invalid_yaml(origin: &Origin, text: &str, error: &serde_yaml::Error) -> Error {
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    // Output lines rarely match template lines one to one, so show the
    // offending output line itself; the template is named on the `-->` line.
    let shown = match error.location() {
        Some(at) => {
            let line = text.lines().nth(at.line().saturating_sub(1)).unwrap_or_default();
            format!("output line {}, column {}: `{line}`; ", at.line(), at.column())
        }
        None => String::new(),
    };
    Error::Output {
        template: Box::new(TemplateSpan::file(origin.template.clone())),
        scope: Some(Box::new(origin.scope.clone())),
        message: format!("template output is not valid YAML: {message}"),
        help: Some(format!(
            "{shown}check the indentation of the expression that produced it (`nindent`/`to_yaml` help)"
        )),
    }
}

fn object(value: Value, origin: Origin) -> Result<Object> {
    let fail = |message: String| Error::Output {
        template: Box::new(TemplateSpan::file(origin.template.clone())),
        scope: Some(Box::new(origin.scope.clone())),
        message: format!("document {}: {message}", origin.document),
        help: Some(
            "every document a template outputs must be a Kubernetes object with apiVersion, kind and metadata.name"
                .into(),
        ),
    };
    let Value::Mapping(mut map) = value else {
        return Err(fail("is not a mapping".into()));
    };
    let api_version = string_at(&map, &["apiVersion"]).ok_or_else(|| fail("has no string `apiVersion`".into()))?;
    let kind = string_at(&map, &["kind"]).ok_or_else(|| fail("has no string `kind`".into()))?;
    let name =
        string_at(&map, &["metadata", "name"]).ok_or_else(|| fail(format!("{kind} has no string `metadata.name`")))?;
    let mut namespace = string_at(&map, &["metadata", "namespace"]);
    if CLUSTER_SCOPED_KINDS.contains(&kind.as_str()) {
        if namespace.is_some() {
            return Err(fail(format!("{kind} `{name}` is cluster-scoped but sets metadata.namespace")));
        }
    } else if namespace.is_none() {
        // Namespace and workload templates may leave the namespace implicit.
        let Some(scope_namespace) = origin.scope.namespace().map(str::to_string) else {
            return Err(fail(format!("{kind} `{name}` has no metadata.namespace")));
        };
        if let Some(Value::Mapping(metadata)) = map.get_mut("metadata") {
            metadata.insert("namespace".into(), Value::String(scope_namespace.clone()));
        }
        namespace = Some(scope_namespace);
    }
    let group = api_version.rsplit_once('/').map_or(String::new(), |(group, _)| group.to_string());
    if group.is_empty() && kind == "Secret" && ["data", "stringData"].iter().any(|key| map.contains_key(*key)) {
        return Err(Error::Output {
            template: Box::new(TemplateSpan::file(origin.template.clone())),
            scope: Some(Box::new(origin.scope.clone())),
            message: format!("document {}: Secret `{name}` carries data in plaintext; kiln never writes secret values to Git", origin.document),
            help: Some("declare it as a sealed secret under `secrets:` in the namespace values (kubeseal ciphertext) and reference it".into()),
        });
    }
    Ok(Object { identity: Identity { group, kind, namespace, name }, value: Value::Mapping(map), origin })
}

fn string_at(map: &Mapping, path: &[&str]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let mut node = map.get(*first)?;
    for key in rest {
        node = node.as_mapping()?.get(*key)?;
    }
    node.as_str().map(str::to_string)
}
