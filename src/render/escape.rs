//! What an interpolated value may become in the output, per kind of output.
//!
//! Every `{{ }}` of a template is rewritten (see `render::rewrite`) to end in
//! its kind's escape filter, so a value can never add a key, list item,
//! document or shell word:
//!
//! - **yaml** (objects, `.yaml`/`.yml`/`.json` files): a string becomes one
//!   double-quoted scalar on one line. Inside double quotes only `"`, `\` and
//!   line breaks have a meaning (YAML 1.2.2 §7.3.1, <https://yaml.org/spec/1.2.2/#731-double-quoted-style>),
//!   so those are escaped, and so is every character outside the printable
//!   set (§5.1: C0 controls, DEL, C1 controls) and the characters YAML 1.1
//!   parsers take as line breaks or a byte order mark (NEL U+0085, U+2028,
//!   U+2029, U+FEFF, §5.4), using the `\n`/`\t`/`\r`/`\"`/`\\`/`\uXXXX`
//!   escapes of §5.7. Those escapes are also JSON's (RFC 8259 §7), so the
//!   output is a valid JSON string too, for `.json` files and JSON documents
//!   inside YAML. Everything else stays literal, so `https://host:6443` reads
//!   as itself. Numbers and booleans are written as themselves, null as
//!   `null`, lists and mappings as one-line JSON flow collections with their
//!   strings escaped the same way.
//! - **shell** (`.sh` files): a value becomes exactly one word. A string of
//!   only `[A-Za-z0-9_./:@%+=,-]` (no character the shell treats specially,
//!   POSIX shell §2.2 and §2.6) stays bare; any other string is single-quoted,
//!   since single quotes preserve every character but `'` itself (POSIX
//!   §2.2.2, <https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html#tag_18_02_02>),
//!   and `'` is written `'\''`. A control character is refused: a newline would
//!   end a comment and start a command. Null is `''`; a list or a mapping is
//!   refused, it is not one word.
//! - **line** (line-oriented configuration such as sysctl.d): a value is
//!   written as is but may not contain a control character other than tab,
//!   so it can never start another line.
//!
//! A template asks for structure or a raw name through a *structure filter*
//! ([`EscapeKind::is_structure_filter`]) as its last filter: those results are
//! trusted, as they are built by kiln (`to_yaml`, `to_json`, numbers, hashes)
//! or checked to be a plain name (`ident`).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::Value;
use tera::{Error, Result, Tera};

/// How the values of a template are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EscapeKind {
    Yaml,
    Shell,
    Line,
}

/// Filters whose output is a number, a hash or a checked name: safe in every kind.
const PLAIN_FILTERS: [&str; 8] = ["ident", "int", "float", "round", "length", "sha256", "b64encode", "safe"];
/// Filters that build YAML or JSON text on purpose: safe in YAML only. (In a
/// shell script `to_json` or `quote` output inside `"…"` would still expand `$(…)`.)
const YAML_FILTERS: [&str; 5] = ["to_yaml", "to_json", "indent", "nindent", "quote"];

impl EscapeKind {
    pub fn name(self) -> &'static str {
        match self {
            EscapeKind::Yaml => "yaml",
            EscapeKind::Shell => "shell",
            EscapeKind::Line => "line",
        }
    }

    /// The internal filter the rewrite appends to every interpolation.
    pub fn filter_name(self) -> &'static str {
        match self {
            EscapeKind::Yaml => "__kiln_escape_yaml",
            EscapeKind::Shell => "__kiln_escape_shell",
            EscapeKind::Line => "__kiln_escape_line",
        }
    }

    /// Whether an interpolation whose last filter is `filter` is written unescaped.
    pub fn is_structure_filter(self, filter: &str) -> bool {
        PLAIN_FILTERS.contains(&filter) || (self == EscapeKind::Yaml && YAML_FILTERS.contains(&filter))
    }

    /// The kind a plain file's path implies, if any.
    pub fn for_path(path: &str) -> Option<EscapeKind> {
        let extension = path.rsplit_once('.').map(|(_, extension)| extension)?;
        match extension {
            "yaml" | "yml" | "json" => Some(EscapeKind::Yaml),
            "sh" => Some(EscapeKind::Shell),
            _ => None,
        }
    }
}

type Args = HashMap<String, Value>;

pub fn register(tera: &mut Tera) {
    tera.register_filter(EscapeKind::Yaml.filter_name(), |value: &Value, _: &Args| Ok(Value::String(yaml(value))));
    tera.register_filter(EscapeKind::Shell.filter_name(), |value: &Value, _: &Args| shell(value).map(Value::String));
    tera.register_filter(EscapeKind::Line.filter_name(), |value: &Value, _: &Args| line(value).map(Value::String));
    tera.register_filter("ident", ident);
}

/// A value as one YAML scalar or one-line flow collection (valid JSON too).
pub fn yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(value, &mut out);
    out
}

fn write_yaml(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => yaml_string(text, out),
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_yaml(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                yaml_string(key, out);
                out.push_str(": ");
                write_yaml(item, out);
            }
            out.push('}');
        }
    }
}

fn yaml_string(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_yaml_escape(c) => {
                // Every such character is in the BMP, so four digits suffice.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JSON text made safe to embed in YAML: characters JSON leaves literal but
/// YAML does not read as printable (DEL, C1 controls, U+2028/2029, BOM…) can
/// only occur inside JSON strings, where `\uXXXX` means the same character.
/// (Newlines and tabs are JSON's own whitespace in pretty output; inside its
/// strings JSON has escaped them already.)
pub fn yaml_safe_json(json: &str) -> String {
    let escape = |c: char| needs_yaml_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escape) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if escape(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Outside YAML's printable set (§5.1), or a line break or BOM to YAML 1.1.
fn needs_yaml_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// A value as exactly one POSIX shell word.
pub fn shell(value: &Value) -> Result<String> {
    match value {
        Value::String(text) => shell_word(text),
        Value::Null => Ok("''".into()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Array(_) => Err(Error::msg("a list cannot be one shell word; loop over it with {% for %}")),
        Value::Object(_) => Err(Error::msg("a mapping cannot be one shell word; loop over it with {% for %}")),
    }
}

fn is_bare_shell(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c)
}

fn shell_word(text: &str) -> Result<String> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(Error::msg(format!(
            "the value {} contains the control character U+{:04X}, which no shell word can hold safely (a newline would start a command)",
            shown(text),
            u32::from(c)
        )));
    }
    if text.is_empty() {
        return Ok("''".into());
    }
    if text.chars().all(is_bare_shell) {
        return Ok(text.to_string());
    }
    Ok(format!("'{}'", text.replace('\'', "'\\''")))
}

/// A value as text on one line.
pub fn line(value: &Value) -> Result<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match text.chars().find(|&c| c.is_control() && c != '\t') {
        Some(c) => Err(Error::msg(format!(
            "the value {} contains the control character U+{:04X}; a line-oriented file takes one value per line",
            shown(&text),
            u32::from(c)
        ))),
        None => Ok(text),
    }
}

/// The longest name `ident` accepts: a DNS subdomain, the longest Kubernetes name.
const IDENT_MAX: usize = 253;

/// Passes a plain name through unescaped, for names inside strings: PromQL
/// label matchers, JSON strings of a dashboard, URLs. The name must be 1 to
/// 253 characters of `[A-Za-z0-9._/-]`: none of those has a meaning inside a
/// YAML or JSON string, a PromQL string, a URL or a shell word.
fn ident(value: &Value, _: &Args) -> Result<Value> {
    let fits = |text: &str| {
        (1..=IDENT_MAX).contains(&text.len())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
    };
    match value {
        Value::String(text) if fits(text) => Ok(value.clone()),
        Value::String(text) => Err(Error::msg(format!(
            "ident: {} is not a name: a name is 1 to {IDENT_MAX} characters of letters, digits, `.`, `_`, `/` and `-`",
            shown(text)
        ))),
        other => Err(Error::msg(format!("ident: expected a string, got {other}"))),
    }
}

/// A value quoted for an error message, cut short when long.
fn shown(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{:?}…", text.get(..end).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NASTY: [&str; 14] = [
        "",
        "plain",
        "a: b",
        "- item",
        "x\n  injected: true",
        "\"quoted\" and 'single'",
        "back\\slash \\n",
        "# comment",
        "[1, {a: b}]",
        "tab\there\r\nCRLF",
        "nul\0bell\u{7}del\u{7f}",
        "nel\u{85}ls\u{2028}ps\u{2029}bom\u{feff}",
        "--- \n...\n%YAML",
        "ünïcödé ✓ 🚀 *alias &anchor !tag",
    ];

    #[test]
    fn yaml_strings_round_trip_as_one_scalar() {
        for text in NASTY {
            let escaped = yaml(&json!(text));
            assert!(!escaped.contains('\n'), "{escaped}");
            let parsed: serde_yaml::Value = serde_yaml::from_str(&format!("key: {escaped}")).unwrap();
            assert_eq!(parsed["key"].as_str(), Some(text), "{escaped}");
            let mapping = parsed.as_mapping().unwrap();
            assert_eq!(mapping.len(), 1, "{escaped}");
            // The same text is a JSON string.
            assert_eq!(serde_json::from_str::<Value>(&escaped).unwrap(), json!(text), "{escaped}");
        }
    }

    #[test]
    fn yaml_keeps_readable_text_literal() {
        assert_eq!(yaml(&json!("https://10.0.0.1:6443")), "\"https://10.0.0.1:6443\"");
        assert_eq!(yaml(&json!("a\"b\\c\nd\u{2028}")), "\"a\\\"b\\\\c\\nd\\u2028\"");
    }

    #[test]
    fn yaml_numbers_bools_null_and_collections() {
        assert_eq!(yaml(&json!(3)), "3");
        assert_eq!(yaml(&json!(1.5)), "1.5");
        assert_eq!(yaml(&json!(true)), "true");
        assert_eq!(yaml(&Value::Null), "null");
        let nested = json!({"a\nb": ["x: y", 1, null], "c": {"d": false}});
        let escaped = yaml(&nested);
        assert_eq!(escaped, r#"{"a\nb": ["x: y", 1, null], "c": {"d": false}}"#);
        let parsed: Value = serde_yaml::from_str(&format!("key: {escaped}")).unwrap();
        assert_eq!(parsed["key"], nested);
    }

    #[test]
    fn json_with_characters_yaml_cannot_print_stays_valid_json_and_yaml() {
        let text = "v;\u{7f}\u{85}\u{2028}\u{feff}";
        let json = yaml_safe_json(&serde_json::to_string(&[text]).unwrap());
        assert_eq!(serde_json::from_str::<Vec<String>>(&json).unwrap(), [text]);
        assert_eq!(serde_yaml::from_str::<Vec<String>>(&json).unwrap(), [text]);
    }

    #[test]
    fn shell_words_survive_sh_unchanged() {
        let texts = NASTY.iter().filter(|text| !text.chars().any(char::is_control)).copied().chain([
            "v1.31.7+k3s1\"; touch /tmp/x; \"",
            "gpu;touch /tmp/x",
            "it's $(id) `id` ${HOME} *",
            "'",
            "''\\'",
            "~user",
            "-n",
        ]);
        for text in texts {
            let word = shell(&json!(text)).unwrap();
            let output = std::process::Command::new("sh").arg("-c").arg(format!("printf %s {word}")).output().unwrap();
            assert!(output.status.success(), "{word}");
            assert_eq!(String::from_utf8(output.stdout).unwrap(), text, "{word}");
            // One word: `set --` counts it.
            let count = std::process::Command::new("sh").arg("-c").arg(format!("set -- {word}; printf %s $#")).output();
            assert_eq!(String::from_utf8(count.unwrap().stdout).unwrap(), "1", "{word}");
        }
    }

    #[test]
    fn shell_bare_words_and_refusals() {
        assert_eq!(shell(&json!("v1.31.7+k3s1")).unwrap(), "v1.31.7+k3s1");
        assert_eq!(shell(&json!("ai-system/gpu=true")).unwrap(), "ai-system/gpu=true");
        assert_eq!(shell(&json!("it's")).unwrap(), "'it'\\''s'");
        assert_eq!(shell(&json!(7)).unwrap(), "7");
        assert_eq!(shell(&Value::Null).unwrap(), "''");
        let error = shell(&json!("a\nb")).unwrap_err().to_string();
        assert_eq!(
            error,
            "the value \"a\\nb\" contains the control character U+000A, which no shell word can hold safely (a newline would start a command)"
        );
        assert_eq!(
            shell(&json!(["a"])).unwrap_err().to_string(),
            "a list cannot be one shell word; loop over it with {% for %}"
        );
    }

    #[test]
    fn line_values_stay_on_their_line() {
        assert_eq!(line(&json!("10")).unwrap(), "10");
        assert_eq!(line(&json!("32768\t60999")).unwrap(), "32768\t60999");
        assert_eq!(line(&json!(1)).unwrap(), "1");
        for text in ["a\nb", "a\rb", "a\u{85}b", "a\0b"] {
            assert!(line(&json!(text)).is_err(), "{text:?}");
        }
    }

    #[test]
    fn ident_accepts_names_only() {
        assert_eq!(ident(&json!("ai-system/gpu.v1_2"), &Args::new()).unwrap(), json!("ai-system/gpu.v1_2"));
        for bad in [json!(""), json!("a\"b"), json!("a b"), json!("x|y"), json!(5), json!("a".repeat(254))] {
            assert!(ident(&bad, &Args::new()).is_err(), "{bad}");
        }
        assert_eq!(
            ident(&json!("a\"}"), &Args::new()).unwrap_err().to_string(),
            "ident: \"a\\\"}\" is not a name: a name is 1 to 253 characters of letters, digits, `.`, `_`, `/` and `-`"
        );
    }

    #[test]
    fn kinds_from_paths_and_structure_filters() {
        assert_eq!(EscapeKind::for_path("etc/rancher/k3s/config.yaml"), Some(EscapeKind::Yaml));
        assert_eq!(EscapeKind::for_path("a.json"), Some(EscapeKind::Yaml));
        assert_eq!(EscapeKind::for_path("bootstrap.sh"), Some(EscapeKind::Shell));
        assert_eq!(EscapeKind::for_path("etc/sysctl.d/90-kubelet.conf"), None);
        assert!(EscapeKind::Yaml.is_structure_filter("to_json"));
        assert!(!EscapeKind::Shell.is_structure_filter("to_json"));
        assert!(!EscapeKind::Shell.is_structure_filter("quote"));
        assert!(EscapeKind::Shell.is_structure_filter("ident"));
        assert!(!EscapeKind::Yaml.is_structure_filter("default"));
    }
}
