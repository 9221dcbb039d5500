//! Template filters Helm users reach for: `to_yaml`, `from_yaml`, `to_json`,
//! `indent`, `nindent`, `quote`, `b64encode`, `b64decode`, `sha256`,
//! `required` and `merge`, plus the `dict` function. (`default` is Tera's
//! own; `ident` and the escape filters live in [`super::escape`].) All are
//! pure, so output stays deterministic.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;
use tera::{Error, Result, Tera};

use crate::hash;

pub fn register(tera: &mut Tera) {
    tera.register_filter("to_yaml", to_yaml);
    tera.register_filter("from_yaml", from_yaml);
    tera.register_filter("to_json", to_json);
    tera.register_filter("indent", indent);
    tera.register_filter("nindent", nindent);
    tera.register_filter("quote", quote);
    tera.register_filter("b64encode", b64encode);
    tera.register_filter("b64decode", b64decode);
    tera.register_filter("sha256", sha256);
    tera.register_filter("required", required);
    tera.register_filter("merge", merge);
    tera.register_function("dict", dict);
    tera.register_function("fail", fail);
}

type Args = HashMap<String, Value>;

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// YAML text of a value, without the trailing newline, ready for `nindent`.
fn to_yaml(value: &Value, _: &Args) -> Result<Value> {
    let text = serde_yaml::to_string(value).map_err(|error| Error::msg(format!("to_yaml: {error}")))?;
    Ok(Value::String(text.trim_end_matches('\n').to_string()))
}

/// Parses YAML text (e.g. a macro's output) into a value, so it can be merged
/// or turned into JSON; empty text is null.
fn from_yaml(value: &Value, _: &Args) -> Result<Value> {
    let text = text_of(value);
    serde_yaml::from_str::<Value>(&text).map_err(|error| Error::msg(format!("from_yaml: {error}")))
}

/// JSON text of a value: compact, or indented with `pretty=true` (for JSON
/// documents such as Grafana dashboards that people read in diffs).
fn to_json(value: &Value, args: &Args) -> Result<Value> {
    let text = if args.get("pretty").and_then(Value::as_bool).unwrap_or(false) {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.map(|text| Value::String(super::escape::yaml_safe_json(&text)))
        .map_err(|error| Error::msg(format!("to_json: {error}")))
}

fn width(args: &Args, filter: &str) -> Result<Option<usize>> {
    match args.get("width") {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| Error::msg(format!("{filter}: `width` must be a non-negative integer"))),
        Some(other) => Err(Error::msg(format!("{filter}: `width` must be an integer, got {other}"))),
    }
}

/// The line breaks of YAML 1.1: LF, CR, NEL, U+2028 and U+2029 (YAML 1.2.2
/// §5.4, <https://yaml.org/spec/1.2.2/#54-line-break-characters>, on what 1.1
/// supported). libyaml, kiln's YAML emitter and parser, keeps NEL,
/// U+2028 and U+2029 literal inside block scalars and indents the line after
/// them, so `to_yaml` output has lines that end in them; `indent` must indent
/// those lines too, or the parse ends the block scalar there and the rest of
/// the string becomes keys (found by the `render_values` fuzz target). CR is
/// left out: the emitter always escapes it, and CRLF stays one line break.
const LINE_BREAKS: [char; 4] = ['\n', '\u{85}', '\u{2028}', '\u{2029}'];

/// Helm semantics with `width=N`: every non-blank line, the first included, is
/// indented by N spaces. Tera's own `prefix`/`first`/`blank` arguments also work.
fn indent(value: &Value, args: &Args) -> Result<Value> {
    let text = text_of(value);
    let (prefix, first) = match width(args, "indent")? {
        Some(width) => (" ".repeat(width), true),
        None => {
            let prefix = args.get("prefix").and_then(Value::as_str).unwrap_or("    ").to_string();
            (prefix, args.get("first").and_then(Value::as_bool).unwrap_or(false))
        }
    };
    let blank = args.get("blank").and_then(Value::as_bool).unwrap_or(false);
    let mut out = String::with_capacity(text.len() + prefix.len() * 8);
    // Each line with the break that ends it; text that ends in a break (or is
    // empty) has an empty last line.
    let mut lines: Vec<&str> = text.split_inclusive(LINE_BREAKS).collect();
    if text.is_empty() || text.ends_with(LINE_BREAKS) {
        lines.push("");
    }
    for (index, line) in lines.into_iter().enumerate() {
        let content = line.strip_suffix(LINE_BREAKS).unwrap_or(line);
        if (index > 0 || first) && (blank || !content.trim().is_empty()) {
            out.push_str(&prefix);
        }
        out.push_str(line);
    }
    Ok(Value::String(out))
}

/// A newline, then the value indented by `width` spaces (Helm's `nindent`).
fn nindent(value: &Value, args: &Args) -> Result<Value> {
    let width = width(args, "nindent")?
        .ok_or_else(|| Error::msg("nindent: missing argument `width`, e.g. `nindent(width=4)`"))?;
    let mut indent_args = Args::new();
    indent_args.insert("width".into(), Value::from(width));
    let indented = indent(value, &indent_args)?;
    Ok(Value::String(format!("\n{}", indented.as_str().unwrap_or_default())))
}

/// The value's text as one double-quoted YAML scalar, escaped as kiln
/// escapes every YAML value (also a JSON string).
fn quote(value: &Value, _: &Args) -> Result<Value> {
    Ok(Value::String(super::escape::yaml(&Value::String(text_of(value)))))
}

fn b64encode(value: &Value, _: &Args) -> Result<Value> {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(text_of(value))))
}

fn b64decode(value: &Value, _: &Args) -> Result<Value> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text_of(value).trim())
        .map_err(|error| Error::msg(format!("b64decode: input is not base64: {error}")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| Error::msg("b64decode: decoded bytes are not UTF-8"))
}

/// Hex sha256 of the value's text (of its JSON form for non-strings).
fn sha256(value: &Value, _: &Args) -> Result<Value> {
    Ok(Value::String(hash::sha256(text_of(value).as_bytes())))
}

/// Fails the render when the value is null or empty, naming the values path
/// given as `path` (or `msg`), e.g. `workload.image | required(path="workload.image")`.
fn required(value: &Value, args: &Args) -> Result<Value> {
    let missing = match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if !missing {
        return Ok(value.clone());
    }
    let path = args.get("path").or_else(|| args.get("msg")).and_then(Value::as_str).unwrap_or("a value");
    Err(Error::msg(format!("required value `{path}` is missing or empty; set it in values")))
}

/// Merge of two mappings; keys of `with` win. A missing side (null or
/// `false`, as `default(value=false)` gives) counts as empty. With
/// `deep=true` nested mappings merge key by key (Helm's values semantics);
/// lists and scalars are replaced whole.
fn merge(value: &Value, args: &Args) -> Result<Value> {
    let mut merged = match value {
        Value::Object(map) => map.clone(),
        Value::Null | Value::Bool(false) => serde_json::Map::new(),
        other => return Err(Error::msg(format!("merge: expected a mapping, got {other}"))),
    };
    let deep = args.get("deep").and_then(Value::as_bool).unwrap_or(false);
    match args.get("with") {
        Some(Value::Object(map)) if deep => deep_merge(&mut merged, map),
        Some(Value::Object(map)) => merged.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
        Some(Value::Null | Value::Bool(false)) | None => {}
        Some(other) => return Err(Error::msg(format!("merge: `with` must be a mapping, got {other}"))),
    }
    Ok(Value::Object(merged))
}

fn deep_merge(into: &mut serde_json::Map<String, Value>, from: &serde_json::Map<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => deep_merge(existing, incoming),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A one-entry mapping, for keys such as `kubernetes.io/hostname` that cannot
/// be written as Tera keyword arguments: `dict(key="a/b", value=x)`.
fn dict(args: &Args) -> Result<Value> {
    let key =
        args.get("key").and_then(Value::as_str).ok_or_else(|| Error::msg("dict: missing string argument `key`"))?;
    let value = args.get("value").cloned().unwrap_or(Value::Null);
    let mut map = serde_json::Map::new();
    map.insert(key.to_string(), value);
    Ok(Value::Object(map))
}

/// Marks a `fail()` in Tera's error chain:
/// `<mark><scope or empty><unit separator><key><unit separator><message>`.
pub const FAIL_MARK: &str = "kiln fail()\u{1f}";

/// `fail(key="metrics.port", message="…")`: a template's check of a value,
/// reported at the values line of `key`, a path inside the values of the
/// scope being rendered (a workload's `metrics.port`), or of `scope` when
/// given (`scope="namespace monitoring"`, written as kiln prints scopes).
fn fail(args: &Args) -> Result<Value> {
    let text = |name: &str| {
        args.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::msg(format!("fail: missing string argument `{name}`")))
    };
    let (key, message) = (text("key")?, text("message")?);
    let scope = args.get("scope").and_then(Value::as_str).unwrap_or_default();
    Err(Error::msg(format!("{FAIL_MARK}{scope}\u{1f}{key}\u{1f}{message}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(pairs: &[(&str, Value)]) -> Args {
        pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
    }

    #[test]
    fn indent_with_width_indents_every_line() {
        let out = indent(&json!("a: 1\n\nb: 2"), &args(&[("width", json!(2))])).unwrap();
        assert_eq!(out, json!("  a: 1\n\n  b: 2"));
    }

    #[test]
    fn indent_indents_after_every_yaml_line_break() {
        let out = indent(&json!("a\u{2028}b\u{85}c\u{2029}d\r\ne\n\nf\n"), &args(&[("width", json!(2))])).unwrap();
        assert_eq!(out, json!("  a\u{2028}  b\u{85}  c\u{2029}  d\r\n  e\n\n  f\n"));
        let blank = args(&[("prefix", json!("> ")), ("first", json!(true)), ("blank", json!(true))]);
        assert_eq!(indent(&json!("a\n"), &blank).unwrap(), json!("> a\n> "));
        assert_eq!(indent(&json!(""), &blank).unwrap(), json!("> "));
    }

    #[test]
    fn to_yaml_under_nindent_reads_back_a_string_with_line_separators() {
        // The string the fuzz target found: `?` after U+2028 became a key.
        let values = json!({"storage": "v{%\n\u{2028}?", "size": "a\nb\u{85}c\u{2029}: d"});
        let text = to_yaml(&values, &Args::new()).unwrap();
        let nested = nindent(&text, &args(&[("width", json!(4))])).unwrap();
        let document = format!("spec:\n  claim:{}\n  other: 1\n", nested.as_str().unwrap());
        let parsed: serde_yaml::Value = serde_yaml::from_str(&document).unwrap();
        let claim: Value = serde_json::to_value(&parsed["spec"]["claim"]).unwrap();
        assert_eq!(claim, json!({"storage": "v{%\n\u{2028}?", "size": "a\nb\u{85}c\u{2029}: d"}), "{document}");
    }

    #[test]
    fn nindent_starts_with_newline() {
        let out = nindent(&json!("a: 1"), &args(&[("width", json!(4))])).unwrap();
        assert_eq!(out, json!("\n    a: 1"));
    }

    #[test]
    fn to_yaml_has_no_trailing_newline() {
        assert_eq!(to_yaml(&json!({"a": [1, 2]}), &Args::new()).unwrap(), json!("a:\n- 1\n- 2"));
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(&json!("say \"hi\""), &Args::new()).unwrap(), json!("\"say \\\"hi\\\"\""));
        assert_eq!(quote(&json!(5), &Args::new()).unwrap(), json!("\"5\""));
    }

    #[test]
    fn base64_round_trip_and_sha256() {
        let encoded = b64encode(&json!("kiln"), &Args::new()).unwrap();
        assert_eq!(encoded, json!("a2lsbg=="));
        assert_eq!(b64decode(&encoded, &Args::new()).unwrap(), json!("kiln"));
        assert_eq!(
            sha256(&json!("abc"), &Args::new()).unwrap(),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn merge_lets_the_argument_win_and_dict_builds_one_entry() {
        let merged = merge(&json!({"a": 1, "b": 1}), &args(&[("with", json!({"b": 2}))])).unwrap();
        assert_eq!(merged, json!({"a": 1, "b": 2}));
        assert_eq!(merge(&Value::Null, &Args::new()).unwrap(), json!({}));
        let entry = dict(&args(&[("key", json!("kubernetes.io/hostname")), ("value", json!("pc2"))])).unwrap();
        assert_eq!(entry, json!({"kubernetes.io/hostname": "pc2"}));
    }

    #[test]
    fn deep_merge_merges_nested_mappings_and_replaces_lists() {
        let base = json!({"a": {"x": 1, "y": [1, 2]}, "b": 1});
        let with = json!({"a": {"y": [3], "z": 2}});
        let merged = merge(&base, &args(&[("with", with.clone()), ("deep", json!(true))])).unwrap();
        assert_eq!(merged, json!({"a": {"x": 1, "y": [3], "z": 2}, "b": 1}));
        let shallow = merge(&base, &args(&[("with", with)])).unwrap();
        assert_eq!(shallow, json!({"a": {"y": [3], "z": 2}, "b": 1}));
    }

    #[test]
    fn from_yaml_parses_text_and_to_json_pretty_prints() {
        let value = from_yaml(&json!("a:\n  - 1\nb: x\n"), &Args::new()).unwrap();
        assert_eq!(value, json!({"a": [1], "b": "x"}));
        assert_eq!(from_yaml(&json!(""), &Args::new()).unwrap(), Value::Null);
        let error = from_yaml(&json!("a: [1"), &Args::new()).unwrap_err();
        assert!(error.to_string().starts_with("from_yaml: "), "{error}");
        let pretty = to_json(&json!({"a": 1}), &args(&[("pretty", json!(true))])).unwrap();
        assert_eq!(pretty, json!("{\n  \"a\": 1\n}"));
    }

    #[test]
    fn required_names_the_path() {
        let error = required(&Value::Null, &args(&[("path", json!("workload.image"))])).unwrap_err();
        assert_eq!(error.to_string(), "required value `workload.image` is missing or empty; set it in values");
        assert_eq!(required(&json!("x"), &Args::new()).unwrap(), json!("x"));
    }
}
