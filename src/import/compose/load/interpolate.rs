//! Variable interpolation, compose-spec 12-interpolation.md: `$VAR` and
//! `${VAR}`; `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset);
//! `${VAR:?error}` and `${VAR?error}`; `${VAR:+alternative}` (set and
//! non-empty) and `${VAR+alternative}` (set); defaults, alternatives and
//! error texts are themselves interpolated, so `${A:-${B:-x}}` nests; `$$` is
//! a literal `$`. Names are `[_a-zA-Z][_a-zA-Z0-9]*`, and a `$` followed by
//! anything else stays as written (compose-go `template/template.go`).
//! Values are interpolated, keys never. A variable unset and given no
//! default becomes the empty string, as Compose does; the loader records it
//! on the node so the report can name it. Nesting is bounded at
//! [`MAX_NESTING`] levels, so no input recurses without end.
//!
//! Compose then casts the interpolated text at the keys whose type is not a
//! string (`ports[].target`, `privileged`, `deploy.replicas`, ...); the list
//! here is compose-go's `interpolateTypeCastMapping` (`loader/interpolate.go`),
//! booleans accepting YAML 1.1's `yes`/`no`/`on`/`off` as it does.

use std::collections::BTreeMap;

use super::node::{Kind, Node};
use crate::values::key_path::{KeyPath, Segment};
use crate::{Error, Result};

/// How deep `${A:-${B:-...}}` may nest.
pub const MAX_NESTING: usize = 32;

/// The variables interpolation reads.
pub type Environment = BTreeMap<String, String>;

#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// `${` without a name or closing `}`: the text of the whole template.
    Invalid,
    /// `${X:?reason}` or `${X?reason}` with X missing.
    Required {
        variable: String,
        reason: String,
    },
    TooDeep,
}

impl Problem {
    fn message(&self, template: &str) -> (String, String) {
        match self {
            Problem::Invalid => (
                format!("invalid interpolation: {}", serde_json::to_string(template).unwrap_or_default()),
                "write `${NAME}` or `$NAME` for a variable, and `$$` for a literal `$`".into(),
            ),
            Problem::Required { variable, reason } if reason.is_empty() => (
                format!("required variable {variable} is missing a value"),
                format!("set {variable} in the project's .env file or an --env-file"),
            ),
            Problem::Required { variable, reason } => (
                format!("required variable {variable} is missing a value: {reason}"),
                format!("set {variable} in the project's .env file or an --env-file"),
            ),
            Problem::TooDeep => (
                format!("interpolation nests deeper than {MAX_NESTING} levels of `${{...}}`"),
                "a default rarely needs more than two levels; simplify it".into(),
            ),
        }
    }
}

/// Substitutes the variables in `template`, appending the names of unset
/// variables without a default to `unresolved`.
pub fn substitute(template: &str, env: &Environment, unresolved: &mut Vec<String>) -> Result<String, Problem> {
    substitute_at(template, env, unresolved, 0)
}

fn substitute_at(
    template: &str,
    env: &Environment,
    unresolved: &mut Vec<String>,
    depth: usize,
) -> Result<String, Problem> {
    if depth > MAX_NESTING {
        return Err(Problem::TooDeep);
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(rest.get(..dollar).unwrap_or_default());
        let after = rest.get(dollar + 1..).unwrap_or_default();
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if after.starts_with('{') {
            let close = closing_brace(after).ok_or(Problem::Invalid)?;
            let inner = after.get(1..close).ok_or(Problem::Invalid)?;
            out.push_str(&braced(inner, env, unresolved, depth)?);
            rest = after.get(close + 1..).unwrap_or_default();
        } else if let Some(name) = name_at(after) {
            match env.get(name) {
                Some(value) => out.push_str(value),
                None => unresolved.push(name.to_string()),
            }
            rest = after.get(name.len()..).unwrap_or_default();
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing the `{` that `text` starts with, counting
/// nested `${`.
fn closing_brace(text: &str) -> Option<usize> {
    let mut open = 0usize;
    let mut bytes = text.bytes().enumerate();
    while let Some((index, byte)) = bytes.next() {
        match byte {
            b'}' => {
                open = open.checked_sub(1)?;
                if open == 0 {
                    return Some(index);
                }
            }
            b'{' => {
                open += 1;
                // As compose-go does: the character after a `{` is not a brace.
                bytes.next();
            }
            _ => {}
        }
    }
    None
}

fn name_at(text: &str) -> Option<&str> {
    let first = text.bytes().next()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let length = text.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    text.get(..length)
}

fn braced(inner: &str, env: &Environment, unresolved: &mut Vec<String>, depth: usize) -> Result<String, Problem> {
    let name = name_at(inner).ok_or(Problem::Invalid)?;
    let operation = inner.get(name.len()..).unwrap_or_default();
    let value = env.get(name);
    let empty = value.is_none_or(|value| value.is_empty());
    let nested = |text: &str, unresolved: &mut Vec<String>| substitute_at(text, env, unresolved, depth + 1);
    if operation.is_empty() {
        return Ok(match value {
            Some(value) => value.clone(),
            None => {
                unresolved.push(name.to_string());
                String::new()
            }
        });
    }
    let (operator, argument) = [":?", "?", ":-", "-", ":+", "+"]
        .iter()
        .find_map(|operator| operation.strip_prefix(operator).map(|argument| (*operator, argument)))
        .ok_or(Problem::Invalid)?;
    let present = |value: Option<&String>| value.cloned().unwrap_or_default();
    match operator {
        ":-" if empty => nested(argument, unresolved),
        "-" if value.is_none() => nested(argument, unresolved),
        ":-" | "-" => Ok(present(value)),
        ":?" if empty => Err(Problem::Required { variable: name.into(), reason: nested(argument, unresolved)? }),
        "?" if value.is_none() => {
            Err(Problem::Required { variable: name.into(), reason: nested(argument, unresolved)? })
        }
        ":?" | "?" => Ok(present(value)),
        ":+" if !empty => nested(argument, unresolved),
        "+" if value.is_some() => nested(argument, unresolved),
        _ => Ok(present(value)),
    }
}

/// Interpolates every string value of a file's document in place.
pub fn interpolate(document: &mut Node, env: &Environment) -> Result<()> {
    walk(document, &KeyPath::root(), env)
}

fn walk(node: &mut Node, path: &KeyPath, env: &Environment) -> Result<()> {
    match &mut node.kind {
        Kind::Str(text) => {
            if text.contains('$') {
                let mut unresolved = Vec::new();
                let replaced = substitute(text, env, &mut unresolved).map_err(|problem| {
                    let (message, help) = problem.message(text);
                    Error::Compose {
                        location: node.at.location(),
                        key_path: path.to_string(),
                        message,
                        help: Some(help),
                    }
                })?;
                *text = replaced;
                node.unresolved = unresolved;
            }
            if let Some(cast) = cast_for(path) {
                cast_value(node, cast, path)?;
            }
        }
        Kind::Seq(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                walk(item, &path.index(index), env)?;
            }
        }
        Kind::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                walk(value, &path.key(key.clone()), env)?;
            }
        }
        Kind::Null | Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) => {}
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Cast {
    Int,
    Float,
    Bool,
}

/// compose-go's `interpolateTypeCastMapping`, by key path.
fn cast_for(path: &KeyPath) -> Option<Cast> {
    let parts: Vec<&str> = path
        .0
        .iter()
        .map(|segment| match segment {
            Segment::Key(key) => key.as_str(),
            Segment::Index(_) => "[]",
        })
        .collect();
    match parts.as_slice() {
        ["services", _, rest @ ..] => match rest {
            ["cpu_count" | "cpu_period" | "cpu_quota" | "cpu_rt_period" | "cpu_rt_runtime" | "cpu_shares"]
            | ["oom_score_adj" | "pids_limit" | "scale"]
            | ["deploy", "replicas"]
            | ["deploy", "update_config" | "rollback_config", "parallelism"]
            | ["deploy", "restart_policy", "max_attempts"]
            | ["deploy", "placement", "max_replicas_per_node"]
            | ["healthcheck", "retries"]
            | ["ports", "[]", "target"]
            | ["ulimits", _]
            | ["ulimits", _, "hard" | "soft"] => Some(Cast::Int),
            ["cpu_percent" | "cpus"] | ["deploy", "update_config" | "rollback_config", "max_failure_ratio"] => {
                Some(Cast::Float)
            }
            ["init" | "oom_kill_disable" | "privileged" | "read_only" | "stdin_open" | "tty"]
            | ["depends_on", _, "required" | "restart"]
            | ["healthcheck", "disable"]
            | ["volumes", "[]", "read_only"]
            | ["volumes", "[]", "volume", "nocopy"] => Some(Cast::Bool),
            _ => None,
        },
        ["networks", _, "external" | "internal" | "attachable" | "enable_ipv4" | "enable_ipv6"]
        | ["volumes" | "secrets" | "configs", _, "external"] => Some(Cast::Bool),
        _ => None,
    }
}

fn cast_value(node: &mut Node, cast: Cast, path: &KeyPath) -> Result<()> {
    let Kind::Str(text) = &node.kind else { return Ok(()) };
    let kind = match cast {
        Cast::Int => text.trim().parse().ok().map(Kind::Int),
        Cast::Float => text.trim().parse().ok().map(Kind::Float),
        Cast::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "y" | "yes" | "on" => Some(Kind::Bool(true)),
            "false" | "n" | "no" | "off" => Some(Kind::Bool(false)),
            _ => None,
        },
    };
    let Some(kind) = kind else {
        let expected = match cast {
            Cast::Int => "an integer",
            Cast::Float => "a number",
            Cast::Bool => "a boolean (true or false)",
        };
        return Err(Error::Compose {
            location: node.at.location(),
            key_path: path.to_string(),
            message: format!("`{text}` is not {expected}"),
            help: Some(format!("`{}` takes {expected}; check the value and the variables it names", path)),
        });
    };
    node.kind = kind;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        [("A", "a"), ("EMPTY", ""), ("PORT", "8080"), ("N", "2")]
            .into_iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn sub(template: &str) -> Result<String, Problem> {
        substitute(template, &env(), &mut Vec::new())
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(sub("$A-${A}-x${PORT}y"), Ok("a-a-x8080y".into()));
        assert_eq!(sub("${A}${A}"), Ok("aa".into()));
        assert_eq!(sub("$A_B"), Ok("".into()), "the name runs to the last name character");
    }

    #[test]
    fn defaults_tell_unset_from_empty() {
        assert_eq!(sub("${UNSET:-d}"), Ok("d".into()));
        assert_eq!(sub("${EMPTY:-d}"), Ok("d".into()));
        assert_eq!(sub("${UNSET-d}"), Ok("d".into()));
        assert_eq!(sub("${EMPTY-d}"), Ok("".into()));
        assert_eq!(sub("${A:-d}"), Ok("a".into()));
        assert_eq!(sub("${UNSET:-}"), Ok("".into()));
        assert_eq!(sub("${A-b:-c}"), Ok("a".into()));
        assert_eq!(sub("${UNSET-b:-c}"), Ok("b:-c".into()), "the first operator splits");
    }

    #[test]
    fn alternatives_need_the_variable_set() {
        assert_eq!(sub("${A:+alt}"), Ok("alt".into()));
        assert_eq!(sub("${EMPTY:+alt}"), Ok("".into()));
        assert_eq!(sub("${EMPTY+alt}"), Ok("alt".into()));
        assert_eq!(sub("${UNSET+alt}"), Ok("".into()));
    }

    #[test]
    fn required_variables_fail_with_their_reason() {
        assert_eq!(
            sub("${UNSET:?set it}"),
            Err(Problem::Required { variable: "UNSET".into(), reason: "set it".into() })
        );
        assert_eq!(sub("${EMPTY:?}"), Err(Problem::Required { variable: "EMPTY".into(), reason: "".into() }));
        assert_eq!(sub("${EMPTY?x}"), Ok("".into()));
        assert_eq!(
            sub("${UNSET?need $A}"),
            Err(Problem::Required { variable: "UNSET".into(), reason: "need a".into() })
        );
    }

    #[test]
    fn defaults_nest() {
        assert_eq!(sub("${UNSET:-${ALSO:-x}}"), Ok("x".into()));
        assert_eq!(sub("${UNSET:-${A}}/y"), Ok("a/y".into()));
        assert_eq!(sub("${UNSET:-${ALSO:-${N}}}"), Ok("2".into()));
        let deep = format!("{}x{}", "${U:-".repeat(MAX_NESTING + 2), "}".repeat(MAX_NESTING + 2));
        assert_eq!(sub(&deep), Err(Problem::TooDeep));
    }

    #[test]
    fn dollars_escape_and_stray_dollars_stay() {
        assert_eq!(sub("$$A $${A} a$ $1 $-"), Ok("$A ${A} a$ $1 $-".into()));
        assert_eq!(sub("${}"), Err(Problem::Invalid));
        assert_eq!(sub("${A"), Err(Problem::Invalid));
        assert_eq!(sub("${A B}"), Err(Problem::Invalid));
        assert_eq!(sub("${1}"), Err(Problem::Invalid));
    }

    #[test]
    fn unset_variables_without_default_are_recorded() {
        let mut unresolved = Vec::new();
        assert_eq!(substitute("$X ${Y} ${Z:-z} ${W:+w}", &env(), &mut unresolved), Ok("  z ".into()));
        assert_eq!(unresolved, ["X", "Y"]);
    }

    fn doc(text: &str) -> Node {
        let file = std::sync::Arc::from(std::path::Path::new("compose.yaml"));
        super::super::parse::parse(&file, text.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn values_are_interpolated_and_keys_are_not() {
        let mut node = doc("services:\n  web:\n    image: img:${A}\n    labels:\n      $A: ${UNSET}\n");
        interpolate(&mut node, &env()).unwrap();
        let web = node.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("image").unwrap().as_str(), Some("img:a"));
        let label = web.get("labels").unwrap().get("$A").unwrap();
        assert_eq!((label.as_str(), label.unresolved.as_slice()), (Some(""), ["UNSET".to_string()].as_slice()));
    }

    #[test]
    fn typed_keys_are_cast_after_interpolation() {
        let mut node = doc("services:\n  web:\n    privileged: '${T:-yes}'\n    deploy:\n      replicas: ${N}\n    ports:\n      - target: '${PORT}'\n    cpus: '0.5'\n");
        interpolate(&mut node, &env()).unwrap();
        let web = node.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("privileged").unwrap().kind, Kind::Bool(true));
        assert_eq!(web.get("deploy").unwrap().get("replicas").unwrap().kind, Kind::Int(2));
        assert_eq!(web.get("ports").unwrap().items()[0].get("target").unwrap().kind, Kind::Int(8080));
        assert_eq!(web.get("cpus").unwrap().kind, Kind::Float(0.5));
        let mut bad = doc("services:\n  web:\n    privileged: '${A}'\n");
        assert_eq!(
            interpolate(&mut bad, &env()).unwrap_err().to_string(),
            "error: `a` is not a boolean (true or false)\n  --> compose.yaml:3:5\n  = key: services.web.privileged\n  = help: `services.web.privileged` takes a boolean (true or false); check the value and the variables it names"
        );
    }

    #[test]
    fn a_required_variable_error_names_file_line_and_key() {
        let mut node = doc("services:\n  web:\n    image: ${IMAGE:?pick an image}\n");
        assert_eq!(
            interpolate(&mut node, &env()).unwrap_err().to_string(),
            "error: required variable IMAGE is missing a value: pick an image\n  --> compose.yaml:3:5\n  = key: services.web.image\n  = help: set IMAGE in the project's .env file or an --env-file"
        );
    }
}
