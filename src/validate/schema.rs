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
use super::prune::{self, Usage};
use crate::build::Build;
use crate::diagnostic::{did_you_mean, Diagnostic, Severity, Span};
use crate::finding::Locator;
use crate::kube;
use crate::output::object::Object;
use crate::parallel;
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;

pub const ID: &str = "schema";
const CRD_ID: &str = "https://kiln.invalid/crds/";
/// Above this many objects, schemas are compiled whole rather than pruned (see `check`).
const PRUNE_MAX_OBJECTS: usize = 2_000;
const DEFINITIONS_URI: &str = "https://kubernetes.io/api/_definitions.json";
const OBJECT_META: &str =
    "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Validates every object of the build against its schema. The schemas of
/// all kinds present are compiled together, once, so the definitions they
/// share (PodSpec, ObjectMeta, ...) are compiled only once.
pub fn check(build: &Build, locator: &Locator) -> Vec<Diagnostic> {
    let (version, mut findings) = select_version(build);
    let schemas = Schemas::new(version, &build.objects);
    // The shared definitions are the largest document; parse them while the
    // kinds' own schemas are resolved and the objects converted to JSON.
    let (definitions, present) = parallel::join(|| schemas.definitions(), || resolve_all(&schemas, &build.objects));
    let Present { resolved, mut documents, kinds, instances } = present;
    let compiled = definitions.and_then(|mut definitions| {
        // Pruning trades one walk over every object for a smaller compile: it
        // pays for a tree like this repository's, not for thousands of objects.
        if let Some(instances) = &instances {
            let marked: Vec<(&str, &Json)> = build
                .objects
                .iter()
                .zip(instances)
                .filter_map(|(object, instance)| Some((resolved.get(&key_of(object))?.as_deref().ok()?, instance)))
                .collect();
            let usage = parallel::map(parallel::split(&marked), |chunk| {
                let mut usage = Usage::default();
                for (name, instance) in chunk {
                    usage.mark(&documents, &definitions, name, instance);
                }
                usage
            })
            .into_iter()
            .fold(Usage::default(), Usage::union);
            prune::prune(&mut documents, &mut definitions, &usage);
        }
        // Strictness only matters for what is left; pruning first keeps this cheap.
        for schema in documents.values_mut() {
            if schema.get("$id").and_then(Json::as_str).is_some_and(|id| id.starts_with(CRD_ID)) {
                strictify(schema);
            }
        }
        compile(documents, definitions, &kinds)
    });
    // `instances`, when present, holds one entry per object in build order.
    let paired = build.objects.iter().zip(instances.iter().flatten().map(Some).chain(std::iter::repeat(None)));
    let checked = parallel::map(paired.collect(), |(object, instance)| {
        // Without pruning the JSON form of each object is made where it is
        // checked and dropped right after, so a big tree is not held twice.
        let converted;
        let instance = match instance {
            Some(instance) => instance,
            None => {
                converted = to_json(&object.value);
                &converted
            }
        };
        // `resolve_all` resolved the kind of every object of the build.
        let Some(resolution) = resolved.get(&key_of(object)) else { return Vec::new() };
        let outcome = resolution.as_ref().and_then(|name| compiled.as_ref().map(|compiled| (compiled, name)));
        match outcome {
            Err(problem) => vec![locator
                .finding(object, ID, Severity::Error, problem.path, problem.message.clone())
                .with_help(problem.help.clone())],
            // Most objects are valid; `is_valid` answers that without building errors.
            Ok((compiled, _)) if compiled.validator.is_valid(instance) => Vec::new(),
            Ok((compiled, _)) => compiled
                .validator
                .iter_errors(instance)
                .flat_map(|error| describe(&error, compiled))
                .map(|(path, message, help)| {
                    let finding = locator.finding(object, ID, Severity::Error, path, message);
                    match help {
                        Some(help) => finding.with_help(help),
                        None => finding,
                    }
                })
                .collect(),
        }
    });
    findings.extend(checked.into_iter().flatten());
    findings
}

/// An object's (apiVersion, kind), the key its schema is resolved by.
fn key_of(object: &Object) -> (&str, &str) {
    (kube::get_str(&object.value, &["apiVersion"]).unwrap_or_default(), object.identity.kind.as_str())
}

/// The kinds present in a build, with their schemas, and its objects as JSON.
struct Present<'o> {
    /// (apiVersion, kind) → the schema's name in `documents`, or why there is none.
    resolved: HashMap<(&'o str, &'o str), Result<String, Problem>>,
    /// Schema name (`Kind.apiVersion`) → schema.
    documents: BTreeMap<String, Json>,
    /// Schema name → (apiVersion, kind).
    kinds: HashMap<String, (String, String)>,
    /// Every object converted for the validator, in build order, when the
    /// schemas are pruned (small trees); big trees convert while checking.
    instances: Option<Vec<Json>>,
}

/// Resolves the schema of every kind present and converts every object to JSON.
fn resolve_all<'o>(schemas: &Schemas, objects: &'o [Object]) -> Present<'o> {
    let mut resolved = HashMap::new();
    let mut documents: BTreeMap<String, Json> = BTreeMap::new();
    let mut kinds: HashMap<String, (String, String)> = HashMap::new();
    for object in objects {
        let (api_version, kind) = key_of(object);
        resolved.entry((api_version, kind)).or_insert_with(|| {
            let schema = schemas.resolve(api_version, kind)?;
            let name = format!("{kind}.{api_version}").replace(['/', '~'], "_");
            documents.insert(name.clone(), schema);
            kinds.insert(name.clone(), (api_version.to_string(), kind.to_string()));
            Ok(name)
        });
    }
    let instances = (objects.len() <= PRUNE_MAX_OBJECTS)
        .then(|| parallel::map(objects.iter().collect(), |object| to_json(&object.value)));
    Present { resolved, documents, kinds, instances }
}

/// The vendored Kubernetes version matching `kubernetesVersion`, or the closest one with a warning.
fn select_version(build: &Build) -> (&'static KubeVersion, Vec<Diagnostic>) {
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
    let message = format!(
        "kiln vendors no Kubernetes schemas for `{wanted}`; validating against {}, the closest it has",
        closest.version
    );
    let finding = Diagnostic::new(Severity::Warning, ID, message)
        .with_span(Span::at(&location, &key))
        .with_scope(ScopeRef::Cluster)
        .with_help(format!(
            "vendored versions: {}; add one with schemas/kubernetes/vendor.py",
            KUBERNETES.iter().map(|version| version.version).collect::<Vec<_>>().join(", ")
        ));
    (closest, vec![finding])
}

/// The compiled schemas of every kind present, and where each schema's
/// `$id` sits in the compiled document (for "did you mean" lookups).
struct Compiled {
    validator: Validator,
    root: Json,
    definitions: Arc<Json>,
    ids: HashMap<String, String>,
}

struct Schemas<'b> {
    version: &'static KubeVersion,
    /// apiVersion → kinds served by the API server of `version`.
    builtin: BTreeMap<String, Vec<String>>,
    builtin_groups: HashSet<String>,
    /// CustomResourceDefinitions rendered in the tree, by (group, kind).
    crds: HashMap<(String, String), &'b Object>,
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
        Schemas { version, builtin, builtin_groups, crds }
    }

    /// The schema an object of `kind` in `api_version` must follow.
    fn resolve(&self, api_version: &str, kind: &str) -> Result<Json, Problem> {
        let group = group_of(api_version);
        if group.is_empty() || self.builtin_groups.contains(group) {
            return self.builtin(api_version, kind);
        }
        let version = api_version.rsplit('/').next().unwrap_or_default();
        if let Some(crd) = self.crds.get(&(group.to_string(), kind.to_string())).copied() {
            let schema = rendered_crd_schema(crd, version).map_err(|message| Problem {
                path: "apiVersion",
                message,
                help: format!("fix the CustomResourceDefinition `{}` or the object's apiVersion", crd.identity.name),
            })?;
            return Ok(crd_schema(schema, &format!("{group}/{version}/{kind}")));
        }
        let vendored: Vec<_> = CRDS.iter().filter(|crd| crd.group == group && crd.kind == kind).collect();
        match vendored.iter().find(|crd| crd.version == version) {
            Some(crd) => {
                let schema: Json = serde_json::from_str(crd.schema).map_err(|error| Problem {
                    path: "apiVersion",
                    message: format!("vendored schema `{}` is not valid JSON: {error}", crd.file),
                    help: "re-vendor the file from the operator's CRD".into(),
                })?;
                Ok(crd_schema(schema, &format!("{group}/{version}/{kind}")))
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

    fn builtin(&self, api_version: &str, kind: &str) -> Result<Json, Problem> {
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
        serde_json::from_str(builtin.schema).map_err(|error| Problem {
            path: "kind",
            message: format!("vendored schema `{}` is not valid JSON: {error}", builtin.file),
            help: "re-vendor it with schemas/kubernetes/vendor.py".into(),
        })
    }

    /// The shared definitions of this Kubernetes version, parsed.
    fn definitions(&self) -> Result<Json, Problem> {
        serde_json::from_str(self.version.definitions).map_err(|error| Problem {
            path: "kind",
            message: format!("vendored Kubernetes definitions are not valid JSON: {error}"),
            help: "re-vendor the schemas with schemas/kubernetes/vendor.py".into(),
        })
    }
}

/// Compiles the schemas of every kind present as one document.
fn compile(
    documents: BTreeMap<String, Json>,
    definitions: Json,
    kinds: &HashMap<String, (String, String)>,
) -> Result<Compiled, Problem> {
    let definitions = Arc::new(definitions);
    let registry = Registry::new()
        .add(DEFINITIONS_URI, Arc::clone(&definitions))
        .and_then(|builder| builder.prepare())
        .map_err(|error| Problem {
            path: "kind",
            message: format!("vendored Kubernetes definitions do not load: {error}"),
            help: "re-vendor the schemas with schemas/kubernetes/vendor.py".into(),
        })?;
    let ids = documents
        .iter()
        .filter_map(|(name, schema)| Some((schema.get("$id")?.as_str()?.to_string(), name.clone())))
        .collect();
    // One root that dispatches on apiVersion and kind: compiling it once
    // compiles every definition the kinds share once.
    let dispatch: Vec<Json> = documents
        .keys()
        .map(|name| {
            let (api_version, kind) = &kinds[name];
            serde_json::json!({
                "if": {
                    "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind}},
                    "required": ["apiVersion", "kind"]
                },
                "then": {"$ref": format!("#/$defs/{name}")}
            })
        })
        .collect();
    let root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://kiln.invalid/kinds",
        "$defs": documents,
        "allOf": dispatch,
    });
    let validator =
        jsonschema::options().with_registry(&registry).should_validate_formats(false).build(&root).map_err(
            |error| Problem {
                path: "kind",
                message: format!("the vendored schemas do not compile: {error}"),
                help: "re-vendor the schemas; this is a bug in a vendored file".into(),
            },
        )?;
    Ok(Compiled { validator, root, definitions, ids })
}

/// A CRD's schema with `metadata` checked as ObjectMeta, under its own `$id`
/// (made strict after pruning, see [`strictify`]).
fn crd_schema(mut schema: Json, name: &str) -> Json {
    if let Json::Object(map) = &mut schema {
        if let Some(Json::Object(properties)) = map.get_mut("properties") {
            // The API server always accepts apiVersion and kind, and checks metadata
            // as ObjectMeta, whatever the CRD's schema says about them.
            properties.insert("apiVersion".into(), serde_json::json!({ "type": "string" }));
            properties.insert("kind".into(), serde_json::json!({ "type": "string" }));
            properties.insert("metadata".into(), serde_json::json!({ "$ref": OBJECT_META }));
            // Controllers write status; manifests never should, and its schema is the bulk
            // of some CRDs (Argo CD's Application), so it is not compiled.
            if properties.contains_key("status") {
                properties.insert("status".into(), serde_json::json!({ "type": "object" }));
            }
        }
        map.insert("$id".into(), Json::String(format!("{CRD_ID}{name}")));
    }
    schema
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
    kube::get(served, &["schema", "openAPIV3Schema"]).map(to_json).ok_or_else(|| {
        format!("the rendered CustomResourceDefinition `{}` has no schema for `{version}`", crd.identity.name)
    })
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
            let options: Vec<String> = options
                .as_array()
                .map(|items| items.iter().map(|item| format!("`{}`", plain(item))).collect())
                .unwrap_or_default();
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
    let document = if base == DEFINITIONS_URI {
        Some(compiled.definitions.as_ref())
    } else {
        compiled.ids.get(base).and_then(|name| compiled.root.get("$defs")?.get(name))
    };
    let parent = pointer.strip_suffix("/additionalProperties").unwrap_or(pointer);
    document
        .and_then(|document| if parent.is_empty() { Some(document) } else { document.pointer(parent) })
        .and_then(|node| node.get("properties"))
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
