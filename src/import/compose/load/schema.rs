//! Validates the merged, interpolated project against the Compose
//! specification's JSON schema, vendored from compose-go
//! (`schemas/compose/`, see its SOURCE), as compose-go's loader validates
//! the model before it uses it. Each violation is an error at the file,
//! line and column of the key that breaks it (the file that won the merge),
//! with its key path; an unknown key is named with the closest known one.
//! The schema is compiled once per process.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{JsonType, ValidationError, Validator};
use serde_json::Value as Json;

use super::node::{Kind, Node};
use crate::diagnostic::did_you_mean;
use crate::values::key_path::{KeyPath, Segment};
use crate::{Error, Result};

const SCHEMA: &str = include_str!(concat!(env!("OUT_DIR"), "/schemas/compose/compose-spec.json"));
/// The schema's own `$id` is relative (`compose_spec.json`); an absolute one
/// lets errors say which schema object rejected a key.
const ID: &str = "https://kiln.invalid/compose-spec.json";
/// The most violations reported at once.
const MAX_ERRORS: usize = 20;

struct Compiled {
    schema: Json,
    validator: Validator,
}

fn compiled() -> std::result::Result<&'static Compiled, String> {
    static COMPILED: OnceLock<std::result::Result<Compiled, String>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let mut schema: Json = serde_json::from_str(SCHEMA).map_err(|error| error.to_string())?;
            if let Json::Object(map) = &mut schema {
                map.insert("$id".into(), Json::String(ID.into()));
            }
            let validator = jsonschema::options()
                .should_validate_formats(false)
                .build(&schema)
                .map_err(|error| error.to_string())?;
            Ok(Compiled { schema, validator })
        })
        .as_ref()
        .map_err(Clone::clone)
}

pub fn validate(model: &Node) -> Result<()> {
    let compiled = compiled().map_err(|message| Error::Usage {
        message: format!("the vendored Compose schema does not compile: {message}; this is a bug in kiln"),
    })?;
    let instance = model.to_json();
    let mut errors: Vec<Error> = Vec::new();
    for error in compiled.validator.iter_errors(&instance) {
        for (path, message, help) in describe(&error, compiled) {
            let node = nearest(model, &path);
            errors.push(Error::Compose { location: node.at.location(), key_path: path.to_string(), message, help });
        }
        if errors.len() >= MAX_ERRORS {
            break;
        }
    }
    errors.sort_by_key(sort_key);
    errors.dedup_by(|a, b| a.to_string() == b.to_string());
    Error::from_list(errors)
}

fn sort_key(error: &Error) -> Option<(crate::diagnostic::Location, String)> {
    match error {
        Error::Compose { location, key_path, .. } => Some((location.clone(), key_path.clone())),
        _ => None,
    }
}

/// The node at `path`, or its nearest parent that exists.
fn nearest<'a>(model: &'a Node, path: &KeyPath) -> &'a Node {
    let mut node = model;
    for segment in &path.0 {
        let next = match (segment, &node.kind) {
            (Segment::Key(key), _) => node.get(key),
            (Segment::Index(index), Kind::Seq(items)) => items.get(*index),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => break,
        }
    }
    node
}

/// One violation as (key path, message, help); an `additionalProperties`
/// violation gives one per unknown key.
fn describe(error: &ValidationError<'_>, compiled: &Compiled) -> Vec<(KeyPath, String, Option<String>)> {
    let path = error.instance_path().iter().fold(KeyPath::root(), |path, segment| match segment {
        LocationSegment::Property(name) => path.key(name.into_owned()),
        LocationSegment::Index(index) => path.index(index),
    });
    let what = match path.0.is_empty() {
        true => "the top level".to_string(),
        false => format!("`{path}`"),
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = known_keys(error, compiled);
            unexpected
                .iter()
                .map(|key| {
                    let help = match did_you_mean(key, known.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`? Extensions start with `x-`"),
                        None => "Compose does not know this key; extensions start with `x-`".to_string(),
                    };
                    (path.key(key.clone()), format!("unknown key `{key}` in {what}"), Some(help))
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            vec![(path, format!("{what} needs the key `{name}`"), None)]
        }
        ValidationErrorKind::Type { kind } => {
            vec![(path.clone(), wrong_type(&what, error.instance(), &types(kind)), None)]
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let mut expected = Vec::new();
            let only_types = context.iter().flatten().all(|inner| match inner.kind() {
                ValidationErrorKind::Type { kind } => {
                    expected.extend(types(kind));
                    true
                }
                _ => false,
            });
            expected.dedup();
            let message = match only_types && !expected.is_empty() {
                true => wrong_type(&what, error.instance(), &expected),
                false => format!("{what} matches none of the forms the Compose specification allows"),
            };
            let help = spec_help(&path);
            vec![(path, message, Some(help))]
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|items| items.iter().map(|item| format!("`{}`", plain(item))).collect())
                .unwrap_or_default();
            vec![(path, format!("{what} is `{}`, not one of {}", plain(error.instance()), options.join(", ")), None)]
        }
        _ => vec![(path.clone(), format!("{what}: {error}"), Some(spec_help(&path)))],
    }
}

fn spec_help(path: &KeyPath) -> String {
    let key = path.0.iter().rev().find_map(|segment| match segment {
        Segment::Key(key) => Some(key.as_str()),
        Segment::Index(_) => None,
    });
    match key {
        Some(key) => format!("see what `{key}` takes in the Compose specification (compose-spec.json)"),
        None => "see the Compose specification (compose-spec.json)".into(),
    }
}

fn types(kind: &TypeKind) -> Vec<&'static str> {
    let types: Vec<JsonType> = match kind {
        TypeKind::Single(single) => vec![*single],
        TypeKind::Multiple(set) => set.iter().collect(),
    };
    types.into_iter().filter(|t| *t != JsonType::Null).map(|t| t.as_str()).collect()
}

fn wrong_type(what: &str, instance: &Json, expected: &[&str]) -> String {
    let found = match instance {
        Json::Null => "null".to_string(),
        Json::Bool(value) => format!("the boolean `{value}`"),
        Json::Number(number) => format!("the number `{number}`"),
        Json::String(text) => format!("the string `{text}`"),
        Json::Array(_) => "a list".to_string(),
        Json::Object(_) => "a mapping".to_string(),
    };
    let expected: Vec<&str> = expected
        .iter()
        .map(|name| match *name {
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean",
            other => other,
        })
        .collect();
    format!("{what} is {found}, but takes {}", expected.join(" or "))
}

fn plain(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The keys the schema object that refused a key declares.
fn known_keys(error: &ValidationError<'_>, compiled: &Compiled) -> Vec<String> {
    let Some(location) = error.absolute_keyword_location() else { return Vec::new() };
    let pointer = location.as_str().split_once('#').map_or("", |(_, pointer)| pointer);
    let parent = pointer.strip_suffix("/additionalProperties").unwrap_or(pointer);
    let object = if parent.is_empty() { Some(&compiled.schema) } else { compiled.schema.pointer(parent) };
    object
        .and_then(|object| object.get("properties"))
        .and_then(Json::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn check(text: &str) -> std::result::Result<(), String> {
        let file: Arc<Path> = Arc::from(Path::new("compose.yaml"));
        let model = super::super::parse::parse(&file, text.as_bytes()).unwrap().remove(0);
        validate(&model).map_err(|error| error.to_string())
    }

    #[test]
    fn the_schema_compiles_and_accepts_a_real_stack() {
        check("services:\n  llm:\n    image: vllm/vllm-openai\n    ports: ['8000:8000']\n    deploy:\n      resources:\n        reservations:\n          devices: [{driver: nvidia, count: all, capabilities: [gpu]}]\n    healthcheck: {test: [CMD-SHELL, 'curl -f localhost:8000'], start_period: 10m}\nvolumes:\n  models: {}\nx-common: {a: 1}\n").unwrap();
    }

    #[test]
    fn unknown_keys_are_named_with_the_closest_known_one() {
        assert_eq!(
            check("services:\n  web:\n    imagee: nginx\n").unwrap_err(),
            "error: unknown key `imagee` in `services.web`\n  --> compose.yaml:3:5\n  = key: services.web.imagee\n  = help: did you mean `image`? Extensions start with `x-`"
        );
        assert_eq!(
            check("servicess: {}\n").unwrap_err(),
            "error: unknown key `servicess` in the top level\n  --> compose.yaml:1:1\n  = key: servicess\n  = help: did you mean `services`? Extensions start with `x-`"
        );
    }

    #[test]
    fn wrong_types_say_what_is_there_and_what_is_taken() {
        assert_eq!(
            check("services:\n  web:\n    image: nginx\n    deploy:\n      replicas: [2]\n").unwrap_err(),
            "error: `services.web.deploy.replicas` is a list, but takes an integer or a string\n  --> compose.yaml:5:7\n  = key: services.web.deploy.replicas"
        );
    }

    #[test]
    fn several_violations_are_all_reported() {
        let error = check("services:\n  web:\n    image: 3\n    privileged: [maybe]\n").unwrap_err();
        assert!(error.ends_with("error: 2 problems found, nothing was written"), "{error}");
    }
}
