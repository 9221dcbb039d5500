//! `.env` files, in the format of compose-go's `dotenv` package (the one
//! Docker Compose reads): `KEY=VALUE` or `KEY: VALUE` statements, an
//! optional `export ` prefix, `#` comment lines; an unquoted value ends at
//! the line's end or at ` #`, and is trimmed; a single-quoted value is
//! literal; a double-quoted value takes the escapes `\n`, `\t`, `\\`, `\"`
//! and `\$`; both quoted forms may span lines. Unquoted and double-quoted
//! values are interpolated with the variables defined before them (earlier
//! lines, earlier files). A bare `KEY` line inherits `KEY` from the process
//! environment in Compose; kiln never reads the process environment (see
//! the loader's docs), so such a line sets nothing.
//!
//! A service's `env_file`s are read by the same parser ([`statements`]),
//! with compose-go's lookup for them (`types/project.go`
//! `WithServicesEnvironmentResolved`, `dotenv/godotenv.go`
//! `expandVariables`): a variable resolves from the project's environment
//! (`.env` or `--env-file`), then the service's `environment`, then what the
//! env files defined before it; a bare `KEY` takes its value from the same
//! lookup.

use std::path::Path;

use super::interpolate::{substitute, Environment};
use crate::diagnostic::Location;
use crate::{Error, Result};

/// Adds the variables of the env file `path` (its text `text`) to `env`;
/// later definitions replace earlier ones.
pub fn parse_into(path: &Path, text: &str, env: &mut Environment) -> Result<()> {
    for (key, value) in statements(path, text, &Environment::new(), env)? {
        env.insert(key, value);
    }
    Ok(())
}

/// The variables the env file `path` (its text `text`) sets, in order.
/// Interpolation looks in `lookup` first, then in `known` with what this
/// file set before (compose-go's order); a bare `KEY` line takes `lookup`'s
/// value, or sets nothing.
pub fn statements(path: &Path, text: &str, lookup: &Environment, known: &Environment) -> Result<Vec<(String, String)>> {
    let mut env = known.clone();
    let mut set = Vec::new();
    // `env` holds `known` and this file's statements; `lookup` wins over both.
    let expand_here = |text: &str, env: &Environment| {
        if lookup.is_empty() {
            return expand(text, env);
        }
        let mut all = env.clone();
        all.extend(lookup.iter().map(|(key, value)| (key.clone(), value.clone())));
        expand(text, &all)
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut cursor = Cursor { rest: text, line: 1 };
    let error = |line: usize, message: String, help: &str| Error::Compose {
        location: Location::new(path, line, 1),
        key_path: String::new(),
        message,
        help: Some(help.to_string()),
    };
    loop {
        cursor.skip_blank_and_comments();
        if cursor.rest.is_empty() {
            return Ok(set);
        }
        let line = cursor.line;
        if let Some(rest) = cursor.rest.strip_prefix("export") {
            if rest.starts_with([' ', '\t']) {
                cursor.rest = rest.trim_start_matches([' ', '\t']);
            }
        }
        let end = cursor.rest.find(['=', ':', '\n']).unwrap_or(cursor.rest.len());
        let key = cursor.rest.get(..end).unwrap_or_default().trim_end();
        let separator = cursor.rest.get(end..).and_then(|rest| rest.chars().next());
        if let Some(bad) = key.chars().find(|c| !(c.is_alphanumeric() || "_.-[]".contains(*c))) {
            let statement = cursor.rest.lines().next().unwrap_or_default();
            return Err(error(
                line,
                format!("unexpected character {bad:?} in variable name {statement:?}"),
                "an env file line is `NAME=value`; names use letters, digits, `_`, `.`, `-`",
            ));
        }
        let key = key.to_string();
        cursor.rest = cursor.rest.get(end..).unwrap_or_default();
        match separator {
            // `KEY` alone inherits from the lookup (for `.env`, the process
            // environment, which kiln does not read).
            None | Some('\n') => {
                if let Some(value) = lookup.get(&key) {
                    env.insert(key.clone(), value.clone());
                    set.push((key, value.clone()));
                }
                continue;
            }
            Some(_) => cursor.rest = cursor.rest.get(1..).unwrap_or_default().trim_start_matches([' ', '\t']),
        }
        let value = match cursor.rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let raw = cursor.quoted(quote).ok_or_else(|| {
                    error(line, format!("unterminated quoted value for {key}"), "close the quote the value opens")
                })?;
                if quote == '"' {
                    expand_here(&escapes(&raw), &env).map_err(|message| {
                        error(line, message, "set the variable earlier in this file or in an earlier env file")
                    })?
                } else {
                    raw
                }
            }
            _ => {
                let end = cursor.rest.find('\n').unwrap_or(cursor.rest.len());
                let raw = cursor.rest.get(..end).unwrap_or_default();
                let raw = raw.split_once(" #").map_or(raw, |(value, _)| value).trim_end();
                let value = expand_here(raw, &env).map_err(|message| {
                    error(line, message, "set the variable earlier in this file or in an earlier env file")
                })?;
                cursor.rest = cursor.rest.get(end..).unwrap_or_default();
                value
            }
        };
        env.insert(key.clone(), value.clone());
        set.push((key, value));
    }
}

fn expand(text: &str, env: &Environment) -> std::result::Result<String, String> {
    substitute(text, env, &mut Vec::new()).map_err(|problem| match problem {
        super::interpolate::Problem::Required { variable, reason } if reason.is_empty() => {
            format!("required variable {variable} is missing a value")
        }
        super::interpolate::Problem::Required { variable, reason } => {
            format!("required variable {variable} is missing a value: {reason}")
        }
        super::interpolate::Problem::Invalid => format!("invalid interpolation: {text:?}"),
        super::interpolate::Problem::TooDeep => format!("interpolation nests too deep: {text:?}"),
    })
}

/// Double-quoted escapes; `\$` stays an escaped dollar for interpolation.
fn escapes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('$') => out.push_str("$$"),
            Some(other @ ('\\' | '"')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

struct Cursor<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn skip_blank_and_comments(&mut self) {
        loop {
            let trimmed = self.rest.trim_start();
            let skipped = self.rest.len().saturating_sub(trimmed.len());
            self.line += self.rest.get(..skipped).map_or(0, |blank| blank.matches('\n').count());
            self.rest = trimmed;
            if !self.rest.starts_with('#') {
                return;
            }
            self.rest = self.rest.find('\n').and_then(|end| self.rest.get(end..)).unwrap_or_default();
        }
    }

    /// The text inside the quote that `rest` starts with, backslash-escaped
    /// quotes included; `rest` then continues after the closing quote.
    fn quoted(&mut self, quote: char) -> Option<String> {
        let mut out = String::new();
        let mut escaped = false;
        for (index, c) in self.rest.char_indices().skip(1) {
            if c == '\n' {
                self.line += 1;
            }
            if escaped {
                escaped = false;
                if c != quote {
                    out.push('\\');
                }
                out.push(c);
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                self.rest = self.rest.get(index + c.len_utf8()..).unwrap_or_default();
                return Some(out);
            } else {
                out.push(c);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Environment {
        let mut env = Environment::new();
        parse_into(Path::new(".env"), text, &mut env).unwrap();
        env
    }

    #[test]
    fn statements_comments_and_export() {
        let env = parse("# comment\nA=1\nexport B = two words  # note\nC: 3\n\nD=\nINHERITED\n");
        let pairs: Vec<(&str, &str)> = env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        assert_eq!(pairs, [("A", "1"), ("B", "two words"), ("C", "3"), ("D", "")]);
    }

    #[test]
    fn quotes_escapes_and_multiple_lines() {
        let env = parse("S='lit $A \\n'\nA=a\nD=\"x\\ty ${A} \\$A \\\"q\\\"\"\nM=\"one\ntwo\"\nH=a#b\n");
        assert_eq!(env["S"], "lit $A \\n");
        assert_eq!(env["D"], "x\ty a $A \"q\"");
        assert_eq!(env["M"], "one\ntwo");
        assert_eq!(env["H"], "a#b");
    }

    #[test]
    fn values_interpolate_what_was_defined_before() {
        let env = parse("HOST=db\nURL=postgres://${HOST}:${PORT:-5432}\n");
        assert_eq!(env["URL"], "postgres://db:5432");
    }

    #[test]
    fn an_env_file_resolves_from_the_lookup_first_then_what_came_before() {
        let lookup: Environment = [("HOST".to_string(), "project".to_string()), ("ONLY".into(), "x".into())].into();
        let known: Environment = [("HOST".to_string(), "service".to_string()), ("PORT".into(), "5432".into())].into();
        let set =
            statements(Path::new("app.env"), "URL=${HOST}:${PORT}\nONLY\nMISSING\nPORT=1\nB=$PORT\n", &lookup, &known)
                .unwrap();
        let pairs: Vec<(&str, &str)> = set.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        assert_eq!(pairs, [("URL", "project:5432"), ("ONLY", "x"), ("PORT", "1"), ("B", "1")]);
    }

    #[test]
    fn errors_name_the_line() {
        let mut env = Environment::new();
        let error = parse_into(Path::new(".env"), "A=1\n\nB C=2\n", &mut env).unwrap_err().to_string();
        assert_eq!(
            error,
            "error: unexpected character ' ' in variable name \"B C=2\"\n  --> .env:3:1\n  = help: an env file line is `NAME=value`; names use letters, digits, `_`, `.`, `-`"
        );
        let error = parse_into(Path::new(".env"), "A='open\n", &mut env).unwrap_err().to_string();
        assert!(error.starts_with("error: unterminated quoted value for A\n  --> .env:1:1"), "{error}");
        let error = parse_into(Path::new(".env"), "A=${NEED:?x}\n", &mut env).unwrap_err().to_string();
        assert!(error.starts_with("error: required variable NEED is missing a value: x\n  --> .env:1:1"), "{error}");
    }
}
