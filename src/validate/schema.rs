//! Strict schema validation of every rendered object: built-in kinds against
//! the upstream Kubernetes JSON schemas of the cluster's version, custom
//! resources against the CRD rendered in the tree or else the vendored CRD
//! schema. Unknown fields, wrong types and missing required fields are errors.
//! Schemas are compiled once per kind present, on first use.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{JsonType, Registry, ValidationError, Validator};
use serde_json::Value as Json;

use super::catalog::{KubeVersion, CRDS, KUBERNETES};
use crate::build::Build;
use crate::diagnostic::did_you_mean;
use crate::finding::{Finding, Locator, Severity};
use crate::kube;
use crate::output::object::Object;
use crate::values::key_path::KeyPath;

pub const ID: &str = "schema";
const DEFINITIONS_URI: &str = "https://kubernetes.io/api/_definitions.json";
const OBJECT_META: &str = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Validates every object of the build against its schema.
pub fn check(build: &Build, locator: &Locator) -> Vec<Finding> {
    let (version, mut findings) = select_version(build);
    let mut schemas = Schemas::new(version, &build.objects);
    for object in &build.objects {
        findings.extend(schemas.check(object, locator));
    }
    findings
}

/// The vendored Kubernetes version matching `kubernetesVersion`, or the closest one with a warning.
fn select_version(build: &Build) -> (&'static KubeVersion, Vec<Finding>) {
    let cluster = &build.values.cluster;
    let wanted = cluster.typed.kubernetes_version.clone().unwrap_or_default();
    if let Some(exact) = KUBERNETES.iter().find(|version| version.version == wanted) {
        return (exact, Vec::new());
    }
    let minor = |text: &str| text.trim_start_matches('v').split('.').nth(1).and_then(|m| m.parse::<i64>().ok());
    let wanted_minor = minor(&wanted).unwrap_or(i64::MAX);
    let closest = KUBERNETES
        .iter()
        .min_by_key(|version| (minor(version.version).unwrap_or(0) - wanted_minor).abs())
        .unwrap_or(&KUBERNETES[0]);
    let key = KeyPath::root().key("kubernetesVersion");
    let location = cluster.locate(&key);
    let finding = Finding {
        id: ID.into(),
        severity: Severity::Warning,
        file: location.to_string(),
        object: None,
        path: key.to_string(),
        message: format!(
            "kiln vendors no Kubernetes schemas for `{wanted}`; validating against {}, the closest it has",
            closest.version
        ),
        help: Some(format!(
            "vendored versions: {}; add one with schemas/kubernetes/vendor.py",
            KUBERNETES.iter().map(|version| version.version).collect::<Vec<_>>().join(", ")
        )),
        template: None,
        values: vec![location.path.to_string_lossy().into_owned()],
    };
    (closest, vec![finding])
}

/// A compiled validator and the documents its error locations point into.
struct Compiled {
    validator: Validator,
    documents: HashMap<String, Arc<Json>>,
}

struct Schemas<'b> {
    version: &'static KubeVersion,
    /// apiVersion → kinds served by the API server of `version`.
    builtin: BTreeMap<String, Vec<String>>,
    builtin_groups: HashSet<String>,
    /// CustomResourceDefinitions rendered in the tree, by (group, kind).
    crds: HashMap<(String, String), &'b Object>,
    definitions: Option<(Arc<Json>, Registry<'static>)>,
    compiled: HashMap<(String, String), Result<Arc<Compiled>, Problem>>,
}

/// Why an object has no schema to validate against.
#[derive(Clone)]
struct Problem {
    path: &'static str,
    message: String,
    help: String,
}

impl<'b> Schemas<'b> {
    fn new(version: &'static KubeVersion, objects: &'b [Object]) -> Self {
        let builtin: BTreeMap<String, Vec<String>> = serde_json::from_str(version.builtin).unwrap_or_default();
        let builtin_groups = builtin.keys().map(|api| group_of(api).to_string()).collect();
        let crds = objects
            .iter()
            .filter(|object| object.identity.kind == "CustomResourceDefinition")
            .filter_map(|object| {
                let group = kube::get_str(&object.value, &["spec", "group"])?;
                let kind = kube::get_str(&object.value, &["spec", "names", "kind"])?;
                Some(((group.to_string(), kind.to_string()), object))
            })
            .collect();
        Schemas { version, builtin, builtin_groups, crds, definitions: None, compiled: HashMap::new() }
    }

    fn check(&mut self, object: &Object, locator: &Locator) -> Vec<Finding> {
        let api_version = kube::get_str(&object.value, &["apiVersion"]).unwrap_or_default().to_string();
        let kind = object.identity.kind.clone();
        let key = (api_version.clone(), kind.clone());
        if !self.compiled.contains_key(&key) {
            let compiled = self.compile(&api_version, &kind).map(Arc::new);
            self.compiled.insert(key.clone(), compiled);
        }
        match &self.compiled[&key] {
            Err(problem) => vec![locator
                .finding(object, ID, Severity::Error, problem.path, problem.message.clone())
                .with_help(problem.help.clone())],
            Ok(compiled) => {
                let instance = to_json(&object.value);
                compiled
                    .validator
                    .iter_errors(&instance)
                    .flat_map(|error| describe(&error, compiled))
                    .map(|(path, message, help)| {
                        let finding = locator.finding(object, ID, Severity::Error, path, message);
                        match help {
                            Some(help) => finding.with_help(help),
                            None => finding,
                        }
                    })
                    .collect()
            }
        }
    }

    fn compile(&mut self, api_version: &str, kind: &str) -> Result<Compiled, Problem> {
        let group = group_of(api_version);
        if group.is_empty() || self.builtin_groups.contains(group) {
            return self.compile_builtin(api_version, kind);
        }
        let version = api_version.rsplit('/').next().unwrap_or_default();
        if let Some(crd) = self.crds.get(&(group.to_string(), kind.to_string())).copied() {
            let schema = rendered_crd_schema(crd, version).map_err(|message| Problem {
                path: "apiVersion",
                message,
                help: format!("fix the CustomResourceDefinition `{}` or the object's apiVersion", crd.identity.name),
            })?;
            return self.compile_crd(schema, &format!("{group}/{version}/{kind}"));
        }
        let vendored: Vec<_> = CRDS.iter().filter(|crd| crd.group == group && crd.kind == kind).collect();
        match vendored.iter().find(|crd| crd.version == version) {
            Some(crd) => {
                let schema: Json = serde_json::from_str(crd.schema).map_err(|error| Problem {
                    path: "apiVersion",
                    message: format!("vendored schema `{}` is not valid JSON: {error}", crd.file),
                    help: "re-vendor the file from the operator's CRD".into(),
                })?;
                self.compile_crd(schema, &format!("{group}/{version}/{kind}"))
            }
            None if !vendored.is_empty() => Err(Problem {
                path: "apiVersion",
                message: format!("kiln vendors the CRD schema of `{kind}.{group}` only for {}, not `{version}`", {
                    let versions: Vec<_> = vendored.iter().map(|crd| format!("`{}/{}`", group, crd.version)).collect();
                    versions.join(", ")
                }),
                help: "use a vendored apiVersion, or vendor the CRD schema of this version into schemas/crds/".into(),
            }),
            None => Err(Problem {
                path: "apiVersion",
                message: format!(
                    "no schema for custom resource `{kind}` (`{api_version}`): its CRD is neither vendored in schemas/crds/ nor rendered in the tree"
                ),
                help: match did_you_mean(kind, CRDS.iter().map(|crd| crd.kind)) {
                    Some(close) => format!("did you mean `{close}`? Otherwise vendor the operator's CRD schema (see docs/validation.md)"),
                    None => "vendor the operator's CRD schema into schemas/crds/<group>/ (see docs/validation.md), or render the CustomResourceDefinition".into(),
                },
            }),
        }
    }

    fn compile_builtin(&mut self, api_version: &str, kind: &str) -> Result<Compiled, Problem> {
        let version = self.version.version;
        let served = self.builtin.get(api_version).is_some_and(|kinds| kinds.iter().any(|k| k == kind));
        if !served {
            let elsewhere: Vec<String> = self
                .builtin
                .iter()
                .filter(|(_, kinds)| kinds.iter().any(|k| k == kind))
                .map(|(api, _)| format!("`{api}`"))
                .collect();
            if elsewhere.is_empty() {
                let known = self.builtin.get(api_version).map(Vec::as_slice).unwrap_or_default();
                return Err(Problem {
                    path: "kind",
                    message: format!("Kubernetes {version} has no kind `{kind}` in `{api_version}`"),
                    help: match did_you_mean(kind, known.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("`{api_version}` serves: {}", known.join(", ")),
                    },
                });
            }
            return Err(Problem {
                path: "apiVersion",
                message: format!("Kubernetes {version} does not serve `{kind}` as `{api_version}`"),
                help: format!("use apiVersion {}", elsewhere.join(" or ")),
            });
        }
        let Some(builtin) = self.version.kinds.iter().find(|k| k.api_version == api_version && k.kind == kind) else {
            return Err(Problem {
                path: "kind",
                message: format!("kiln vendors no schema for built-in kind `{kind}` (`{api_version}`)"),
                help: "add it to KINDS in schemas/kubernetes/vendor.py, re-run it and list the file in src/validate/catalog.rs".into(),
            });
        };
        let schema: Json = serde_json::from_str(builtin.schema).map_err(|error| Problem {
            path: "kind",
            message: format!("vendored schema `{}` is not valid JSON: {error}", builtin.file),
            help: "re-vendor it with schemas/kubernetes/vendor.py".into(),
        })?;
        let id = schema.get("$id").and_then(Json::as_str).unwrap_or_default().to_string();
        self.build(schema, &id)
    }

    fn compile_crd(&mut self, mut schema: Json, name: &str) -> Result<Compiled, Problem> {
        strictify(&mut schema);
        if let Some(Json::Object(properties)) = schema.get_mut("properties") {
            // CRD schemas leave metadata open; the API server checks it as ObjectMeta.
            properties.insert("metadata".into(), serde_json::json!({ "$ref": OBJECT_META }));
        }
        let id = format!("https://kiln.invalid/crds/{name}");
        if let Json::Object(map) = &mut schema {
            map.insert("$id".into(), Json::String(id.clone()));
        }
        self.build(schema, &id)
    }

    fn build(&mut self, schema: Json, id: &str) -> Result<Compiled, Problem> {
        let (definitions, registry) = self.definitions()?;
        let schema = Arc::new(schema);
        let validator = jsonschema::options()
            .with_registry(registry)
            .should_validate_formats(false)
            .build(&schema)
            .map_err(|error| Problem {
                path: "kind",
                message: format!("schema for this kind does not compile: {error}"),
                help: "re-vendor the schema; this is a bug in the vendored file".into(),
            })?;
        let mut documents = HashMap::new();
        documents.insert(DEFINITIONS_URI.to_string(), definitions);
        documents.insert(id.to_string(), schema);
        Ok(Compiled { validator, documents })
    }

    fn definitions(&mut self) -> Result<(Arc<Json>, &Registry<'static>), Problem> {
        if self.definitions.is_none() {
            let problem = |message: String| Problem {
                path: "kind",
                message,
                help: "re-vendor the schemas with schemas/kubernetes/vendor.py".into(),
            };
            let value: Json = serde_json::from_str(self.version.definitions)
                .map_err(|error| problem(format!("vendored Kubernetes definitions are not valid JSON: {error}")))?;
            let value = Arc::new(value);
            let registry = Registry::new()
                .add(DEFINITIONS_URI, Arc::clone(&value))
                .and_then(|builder| builder.prepare())
                .map_err(|error| problem(format!("vendored Kubernetes definitions do not load: {error}")))?;
            self.definitions = Some((value, registry));
        }
        let (value, registry) = self.definitions.as_ref().expect("definitions were just loaded");
        Ok((Arc::clone(value), registry))
    }
}

/// `apps/v1` → `apps`, `v1` → `` (core).
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// The openAPIV3Schema of `version` in a rendered CRD.
fn rendered_crd_schema(crd: &Object, version: &str) -> Result<Json, String> {
    let versions = kube::seq(kube::get(&crd.value, &["spec", "versions"]));
    let Some(served) = versions.iter().find(|v| kube::get_str(v, &["name"]) == Some(version)) else {
        let names: Vec<String> =
            versions.iter().filter_map(|v| kube::get_str(v, &["name"])).map(|n| format!("`{n}`")).collect();
        return Err(format!(
            "the rendered CustomResourceDefinition `{}` has no version `{version}` (it has {})",
            crd.identity.name,
            names.join(", ")
        ));
    };
    kube::get(served, &["schema", "openAPIV3Schema"])
        .map(to_json)
        .ok_or_else(|| format!("the rendered CustomResourceDefinition `{}` has no schema for `{version}`", crd.identity.name))
}

/// Makes a CRD's structural schema strict the way the API server prunes it:
/// objects with `properties` reject unknown fields unless they preserve them,
/// `nullable` admits null, and `x-kubernetes-int-or-string` admits both.
fn strictify(schema: &mut Json) {
    match schema {
        Json::Object(map) => {
            let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true));
            if preserve {
                if map.get("additionalProperties") == Some(&Json::Bool(false)) {
                    map.remove("additionalProperties");
                }
            } else if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Json::Bool(false));
            }
            if map.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true)) {
                map.remove("type");
                map.insert("anyOf".into(), serde_json::json!([{ "type": "integer" }, { "type": "string" }]));
            }
            if map.get("nullable") == Some(&Json::Bool(true)) {
                if let Some(Json::String(kind)) = map.get("type") {
                    let kind = kind.clone();
                    map.insert("type".into(), serde_json::json!([kind, "null"]));
                }
            }
            for (key, value) in map.iter_mut() {
                // Property names and enum values are data, not schemas.
                if key == "properties" || key == "patternProperties" || key == "$defs" || key == "definitions" {
                    if let Json::Object(children) = value {
                        children.values_mut().for_each(strictify);
                    }
                } else if key != "enum" && key != "default" && key != "example" {
                    strictify(value);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(strictify),
        _ => {}
    }
}

/// YAML → JSON as the API server sees it: keys become strings, tags are dropped.
pub fn to_json(value: &serde_yaml::Value) -> Json {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Json::Null,
        Y::Bool(flag) => Json::Bool(*flag),
        Y::Number(number) => {
            if let Some(int) = number.as_i64() {
                Json::from(int)
            } else if let Some(uint) = number.as_u64() {
                Json::from(uint)
            } else {
                number.as_f64().and_then(serde_json::Number::from_f64).map_or(Json::Null, Json::Number)
            }
        }
        Y::String(text) => Json::String(text.clone()),
        Y::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Y::Mapping(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (kube::scalar(key).unwrap_or_else(|| format!("{key:?}")), to_json(value)))
                .collect(),
        ),
        Y::Tagged(tagged) => to_json(&tagged.value),
    }
}

/// One schema error as (field path, message, help); `additionalProperties`
/// yields one entry per unknown field.
fn describe(error: &ValidationError<'_>, compiled: &Compiled) -> Vec<(String, String, Option<String>)> {
    let path = key_path(error);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = known_properties(error, compiled);
            unexpected
                .iter()
                .map(|field| {
                    let help = match did_you_mean(field, known.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None if known.is_empty() => "this object takes no fields".to_string(),
                        None => format!("known fields here: {}", known.join(", ")),
                    };
                    (path.key(field.clone()).to_string(), format!("unknown field `{field}`"), Some(help))
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            vec![(path.key(name.clone()).to_string(), format!("missing required field `{name}`"), None)]
        }
        ValidationErrorKind::Type { kind } => {
            vec![(path.to_string(), wrong_type(error.instance(), expected_types(kind)), None)]
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let mut expected = Vec::new();
            let all_types = context.iter().flatten().all(|inner| match inner.kind() {
                ValidationErrorKind::Type { kind } => {
                    expected.extend(expected_types(kind));
                    true
                }
                _ => false,
            });
            if all_types && !expected.is_empty() {
                expected.dedup();
                vec![(path.to_string(), wrong_type(error.instance(), expected), None)]
            } else {
                vec![(path.to_string(), error.to_string(), None)]
            }
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> =
                options.as_array().map(|items| items.iter().map(|item| format!("`{}`", plain(item))).collect()).unwrap_or_default();
            vec![(
                path.to_string(),
                format!("`{}` is not one of {}", plain(error.instance()), options.join(", ")),
                None,
            )]
        }
        _ => vec![(path.to_string(), error.to_string(), None)],
    }
}

fn plain(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn expected_types(kind: &TypeKind) -> Vec<&'static str> {
    let types: Vec<JsonType> = match kind {
        TypeKind::Single(single) => vec![*single],
        TypeKind::Multiple(set) => set.iter().collect(),
    };
    // Every upstream field admits null; saying so in each message is noise.
    types.into_iter().filter(|t| *t != JsonType::Null).map(|t| t.as_str()).collect()
}

fn wrong_type(instance: &Json, expected: Vec<&str>) -> String {
    let found = match instance {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    };
    let shown = match instance {
        Json::Array(_) | Json::Object(_) => String::new(),
        other => format!(" `{}`", plain(other)),
    };
    format!("wrong type: found {found}{shown}, expected {}", expected.join(" or "))
}

fn key_path(error: &ValidationError<'_>) -> KeyPath {
    error.instance_path().iter().fold(KeyPath::root(), |path, segment| match segment {
        LocationSegment::Property(name) => path.key(name.into_owned()),
        LocationSegment::Index(index) => path.index(index),
    })
}

/// The properties the schema object that rejected a field declares, for "did you mean".
fn known_properties(error: &ValidationError<'_>, compiled: &Compiled) -> Vec<String> {
    let Some(location) = error.absolute_keyword_location() else { return Vec::new() };
    let location = location.as_str();
    let (base, pointer) = location.split_once('#').unwrap_or((location, ""));
    let Some(document) = compiled.documents.get(base) else { return Vec::new() };
    let parent = pointer.strip_suffix("/additionalProperties").unwrap_or(pointer);
    let node = if parent.is_empty() { Some(document.as_ref()) } else { document.pointer(parent) };
    node.and_then(|node| node.get("properties"))
        .and_then(Json::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictify_closes_objects_but_respects_preserve_unknown_fields() {
        let mut schema = serde_json::json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {"a": {"type": "string", "nullable": true}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "additionalProperties": false, "properties": {}},
                "port": {"x-kubernetes-int-or-string": true, "type": "string"}
            }
        });
        strictify(&mut schema);
        assert_eq!(schema["additionalProperties"], Json::Bool(false));
        assert_eq!(schema["properties"]["spec"]["additionalProperties"], Json::Bool(false));
        assert_eq!(schema["properties"]["spec"]["properties"]["a"]["type"], serde_json::json!(["string", "null"]));
        assert!(schema["properties"]["free"].get("additionalProperties").is_none());
        assert!(schema["properties"]["port"].get("type").is_none());
    }

    #[test]
    fn yaml_keys_become_strings() {
        let yaml: serde_yaml::Value = serde_yaml::from_str("1: a\ntrue: [2, 2.5]\n").unwrap();
        assert_eq!(to_json(&yaml), serde_json::json!({"1": "a", "true": [2, 2.5]}));
    }
}
