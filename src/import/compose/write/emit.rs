//! YAML text for the values the importer writes, in the style of this
//! repository's values files: block mappings, and flow `{…}` / `[…]` for
//! mappings and lists of scalars that fit on one line
//! (`- {name: http, port: 7100}`). Strings are plain where YAML reads them
//! back as the same string (YAML 1.2.2 §7.3.3: no indicator first, no `: `
//! or ` #` inside, nothing that resolves to a number, boolean or null, and
//! in flow context none of `,[]{}`), multi-line ones literal block scalars
//! (§8.1.2), the rest double-quoted (JSON's escapes are YAML's, §7.3.1).
//! The writer parses everything it emits again before it writes a byte.

use serde_yaml::{Mapping, Value};

/// Plain scalars that YAML 1.1 readers take for booleans or null (YAML 1.1
/// "bool" and "null" types); quoted so every reader sees a string.
const YAML_1_1_SCALARS: [&str; 11] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""];

/// Longest flow collection written on one line, indentation included.
const LINE: usize = 110;

/// The lines of a block mapping's content at `indent` spaces.
pub fn block(map: &Mapping, indent: usize) -> String {
    let mut out = String::new();
    for (key, value) in map {
        let key = scalar(key, false);
        entry(&mut out, indent, &format!("{key}:"), value);
    }
    out
}

/// `head` (`key:` or `-`) and its value at `indent`.
fn entry(out: &mut String, indent: usize, head: &str, value: &Value) {
    let pad = " ".repeat(indent);
    match value {
        Value::Mapping(map) if map.is_empty() => out.push_str(&format!("{pad}{head} {{}}\n")),
        Value::Sequence(list) if list.is_empty() => out.push_str(&format!("{pad}{head} []\n")),
        Value::Mapping(map) => match flow(value).filter(|flow| indent + head.len() + 1 + flow.len() <= LINE) {
            Some(flow) => out.push_str(&format!("{pad}{head} {flow}\n")),
            None if head == "-" => {
                // The first key on the dash's line, the rest aligned with it.
                let inner = block(map, indent + 2);
                out.push_str(&format!("{pad}- {}", inner.get(indent + 2..).unwrap_or_default()));
            }
            None => {
                out.push_str(&format!("{pad}{head}\n"));
                out.push_str(&block(map, indent + 2));
            }
        },
        Value::Sequence(list) => match flow(value).filter(|flow| indent + head.len() + 1 + flow.len() <= LINE) {
            Some(flow) => out.push_str(&format!("{pad}{head} {flow}\n")),
            None => {
                out.push_str(&format!("{pad}{head}\n"));
                for item in list {
                    entry(out, indent + 2, "-", item);
                }
            }
        },
        Value::String(text) if text.contains('\n') => {
            out.push_str(&format!("{pad}{head} {}", literal(text, indent + 2)))
        }
        scalar_value => out.push_str(&format!("{pad}{head} {}\n", scalar(scalar_value, false))),
    }
}

/// One-line flow form of a collection of scalars (or of flat mappings).
fn flow(value: &Value) -> Option<String> {
    match value {
        Value::Mapping(map) => {
            let mut parts = Vec::new();
            for (key, value) in map {
                parts.push(format!("{}: {}", scalar(key, true), flow_item(value)?));
            }
            Some(format!("{{{}}}", parts.join(", ")))
        }
        Value::Sequence(list) => {
            let parts: Option<Vec<String>> = list.iter().map(flow_item).collect();
            Some(format!("[{}]", parts?.join(", ")))
        }
        _ => None,
    }
}

fn flow_item(value: &Value) -> Option<String> {
    match value {
        Value::Mapping(_) | Value::Sequence(_) => None,
        Value::String(text) if text.contains('\n') => None,
        other => Some(scalar(other, true)),
    }
}

/// A scalar as YAML text; `in_flow` also keeps flow indicators out of plain scalars.
pub fn scalar(value: &Value, in_flow: bool) -> String {
    match value {
        Value::String(text) => {
            if plain_ok(text, in_flow) {
                text.clone()
            } else {
                serde_json::to_string(text).unwrap_or_default()
            }
        }
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "null".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn plain_ok(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else { return false };
    // `-` may start a plain scalar when a non-space follows (`-c`, `--flag`).
    let indicator = "?:,[]{}#&*!|>'\"%@`".contains(first) || text == "-" || text.starts_with("- ");
    let flow_bad = in_flow && text.contains([',', '[', ']', '{', '}']);
    let safe_chars = text.chars().all(|c| c == ' ' || (c.is_ascii_graphic()) || (!c.is_control() && !c.is_ascii()));
    !indicator
        && !flow_bad
        && safe_chars
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !YAML_1_1_SCALARS.contains(&text.to_ascii_lowercase().as_str())
        && (is_word(text) || reads_back(text))
}

/// Whether serde_yaml reads `text` back as this string.
fn reads_back(text: &str) -> bool {
    serde_yaml::from_str::<Value>(text).ok() == Some(Value::String(text.to_string()))
}

/// An ASCII letter, then letters, digits and `-_./`: most keys and names an
/// import writes (tens of thousands in a large one), proved to read back
/// without a parse each. serde_yaml resolves a plain scalar to a number only
/// when it starts with a digit, a sign or a dot (a word such as `inf` or
/// `nan` that Rust's float parser takes is not finite, and serde_yaml keeps
/// it a string), and to a boolean or null only as spellings in
/// [`YAML_1_1_SCALARS`], which are quoted whatever their case.
fn is_word(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

/// A literal block scalar (`|`), its chomping chosen so the text reads back exactly.
fn literal(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let body = text.strip_suffix('\n').unwrap_or(text);
    let chomp = if !text.ends_with('\n') {
        "-"
    } else if body.ends_with('\n') {
        "+"
    } else {
        ""
    };
    let indicator = if body.starts_with(' ') || body.starts_with('\n') { "2" } else { "" };
    let mut out = format!("|{indicator}{chomp}\n");
    for line in body.split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&pad);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(yaml: &str) -> String {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let text = block(value.as_mapping().unwrap(), 0);
        assert_eq!(serde_yaml::from_str::<Value>(&text).unwrap(), value, "{text}");
        text
    }

    #[test]
    fn emits_this_repositorys_style_and_reads_back() {
        let text = round_trip("kind: Deployment\nports: [{name: http, port: 80}]\ncommand: [sh, -c, 'echo a, b']\nenv: {A: '1', B: 'x: y', C: 'yes', D: ''}\nresources: {requests: {cpu: 500m}}\n");
        assert_eq!(
            text,
            "kind: Deployment\nports:\n  - {name: http, port: 80}\ncommand: [sh, -c, \"echo a, b\"]\nenv: {A: \"1\", B: \"x: y\", C: \"yes\", D: \"\"}\nresources:\n  requests: {cpu: 500m}\n"
        );
    }

    /// Whether `plain_ok` may skip the parse for `word`: it is quoted
    /// anyway, or it reads back as itself.
    fn word_reads_back(word: &str) -> bool {
        YAML_1_1_SCALARS.contains(&word.to_ascii_lowercase().as_str()) || reads_back(word)
    }

    #[test]
    fn words_that_look_like_numbers_booleans_or_null_read_back_or_are_quoted() {
        for word in ["inf", "Infinity", "NaN", "nan", "e5", "x1e5", "True", "NULL", "Off", "Y", "a.b/c-d_e", "v1.2.3"] {
            assert!(is_word(word) && word_reads_back(word), "{word}");
        }
        assert!(!is_word("1a") && !is_word(".inf") && !is_word("-a") && !is_word("a:b") && !is_word(""));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, failure_persistence: None, ..Default::default() })]
        #[test]
        fn every_word_reads_back(word in "[A-Za-z][A-Za-z0-9_./-]{0,8}") {
            proptest::prop_assert!(is_word(&word) && word_reads_back(&word), "{}", word);
        }
    }

    #[test]
    fn multi_line_and_odd_strings_read_back() {
        round_trip("content: \"server {\\n  listen 80;\\n}\\n\"\nb: \"  lead\\n\"\nc: \"no newline\\nend\"\nd: \"two\\n\\n\"\ne: \"#x\"\nf: \"-\"\ng: \"--flag\"\nh: \"tab\\there\"\n");
    }
}
