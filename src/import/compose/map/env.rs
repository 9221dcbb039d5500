//! `environment` and `env_file` → `env`, with every credential moved to
//! `secretEnv` and listed for sealing instead of copied.
//!
//! Compose (compose-spec `05-services.md` "environment", "env_file"):
//! `environment` is a mapping or a list of `KEY=VALUE` (split at the first
//! `=`, so values may hold `=`); a key without a value is unset and
//! Compose would take it from the shell that runs `docker compose`, which the
//! importer never reads; `env_file` is a path, a list, or `{path,
//! required, format}` entries (relative to the project directory; a
//! missing required file is an error; `format: raw` takes each line
//! literally). Later files win over earlier ones and `environment` over
//! all files. The dotenv lines read here are `KEY=VALUE`, `export KEY=VALUE`,
//! `#` comments and blank lines, single-quoted values literal, double-quoted
//! ones with `\n`, `\"` and `\\` escapes, unquoted ones trimmed up to ` #`.
//!
//! A value is a credential when its key says so (the names kiln's own values
//! check refuses in plaintext, `values::secrets`) or it holds a URL with a
//! password: it becomes `secretEnv: {secret: <workload>-credentials, key}`
//! and a placeholder to seal. `NVIDIA_VISIBLE_DEVICES` is the device
//! plugin's to set: a value such as `all` would expose every GPU of the node
//! to the pod past the plugin's accounting, so it is dropped.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{EnvValue, SecretKeyRef, Workload};
use crate::values::secrets::{looks_like_secret_key, names_a_secret, names_a_secret_file, url_with_password};
use crate::Result;

/// One `KEY=VALUE` of an env file.
type Variable = (String, String);

/// A credential found in the environment: `(variable, where it was written)`.
pub type Credential = (String, String);

pub fn map(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<Vec<Credential>> {
    // Variable → (value, compose key it came from).
    let mut variables: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (file, from) in env_files(ctx)? {
        for (key, value) in file {
            variables.insert(key, (value, from.clone()));
        }
    }
    match ctx.take("environment") {
        None => {}
        Some(Value::Mapping(map)) => {
            for (key, value) in map {
                let Some(key) = text(key) else { continue };
                let at = format!("environment.{key}");
                match value {
                    Value::Null => unset(ctx, &at, &key),
                    other => {
                        variables.insert(key, (text(other).unwrap_or_default(), at));
                    }
                }
            }
        }
        Some(Value::Sequence(list)) => {
            for (index, entry) in list.iter().enumerate() {
                let entry = text(entry).unwrap_or_default();
                let at = format!("environment[{index}]");
                match entry.split_once('=') {
                    Some((key, value)) => {
                        variables.insert(key.to_string(), (value.to_string(), at));
                    }
                    None => unset(ctx, &at, &entry),
                }
            }
        }
        Some(_) => {
            return Err(ctx.invalid(
                "environment",
                "`environment` must be a mapping or a list",
                "write `environment: {KEY: value}` or `- KEY=value`",
            ))
        }
    }
    let mut credentials = Vec::new();
    let secret = format!("{}-credentials", ctx.name());
    for (key, (value, from)) in variables {
        if key == "NVIDIA_VISIBLE_DEVICES" {
            ctx.report(&from, Status::Dropped, "NVIDIA_VISIBLE_DEVICES is set by the device plugin for the GPUs it assigns; kept, it could expose every GPU of the node");
            continue;
        }
        let credential = !value.is_empty()
            && ((looks_like_secret_key(&key) && !names_a_secret(&key) && !names_a_secret_file(&key, &value))
                || url_with_password(&value).is_some());
        if credential {
            workload
                .secret_env
                .get_or_insert_with(BTreeMap::new)
                .insert(key.clone(), SecretKeyRef { secret: Some(secret.clone()), key: Some(key.clone()) });
            credentials.push((key, from));
        } else {
            workload.env.get_or_insert_with(BTreeMap::new).insert(key, EnvValue(value));
        }
    }
    Ok(credentials)
}

fn unset(ctx: &mut Ctx<'_>, at: &str, key: &str) {
    ctx.report(
        at,
        Status::Dropped,
        format!(
            "`{key}` has no value: Compose takes it from the shell running it, which kiln never reads; set it in env"
        ),
    );
}

/// Each `env_file`'s variables, in order, with the key it came from.
fn env_files(ctx: &mut Ctx<'_>) -> Result<Vec<(Vec<Variable>, String)>> {
    let entries: Vec<(Value, String)> = match ctx.take("env_file") {
        None => return Ok(Vec::new()),
        Some(Value::Sequence(list)) => {
            list.iter().enumerate().map(|(i, v)| (v.clone(), format!("env_file[{i}]"))).collect()
        }
        Some(other) => vec![(other.clone(), "env_file".into())],
    };
    let mut files = Vec::new();
    for (entry, at) in entries {
        let (path, required, raw) = match &entry {
            Value::Mapping(long) => (
                long.get("path").and_then(text).unwrap_or_default(),
                long.get("required").and_then(Value::as_bool).unwrap_or(true),
                long.get("format").and_then(text).as_deref() == Some("raw"),
            ),
            other => (text(other).unwrap_or_default(), true, false),
        };
        let full = ctx.project.directory.join(&path);
        match std::fs::read(&full) {
            Ok(bytes) => {
                let content = String::from_utf8_lossy(&bytes);
                files.push((parse(&content, raw), at));
            }
            Err(_) if !required => {
                ctx.report(&at, Status::Note, format!("`{path}` does not exist and is not required: skipped"))
            }
            Err(error) => {
                return Err(ctx.invalid(
                    &at,
                    format!("env file `{}` cannot be read: {error}", full.display()),
                    "create it, or mark it `required: false`",
                ))
            }
        }
    }
    Ok(files)
}

/// The variables of a dotenv file.
pub fn parse(content: &str, raw: bool) -> Vec<Variable> {
    let mut out = Vec::new();
    for line in content.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim().to_string();
        let value = if raw { value.to_string() } else { unquote(value) };
        out.push((key, value));
    }
    out
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('\'').and_then(|rest| rest.split_once('\'')) {
        return inner.0.to_string();
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                },
                other => out.push(other),
            }
        }
        return out;
    }
    value.split(" #").next().unwrap_or_default().trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::{Project, Service};

    fn mapped(yaml: &str) -> (Workload, Vec<Credential>, Vec<String>) {
        let project = Project::default();
        let service =
            Service { name: "db".into(), definition: serde_yaml::from_str(yaml).unwrap(), ..Service::default() };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        let credentials = map(&mut ctx, &mut workload).unwrap();
        (workload, credentials, ctx.entries.iter().map(|e| format!("{} {}", e.status.as_str(), e.key)).collect())
    }

    #[test]
    fn credentials_become_secret_references_and_the_rest_env() {
        let (workload, credentials, report) = mapped(
            "environment: [POSTGRES_USER=app, POSTGRES_PASSWORD=hunter2, \"DATABASE_URL=postgres://app:hunter2@db/app\", OPTS=a=b, HOME_DIR, POSTGRES_PASSWORD_FILE=/run/secrets/db]",
        );
        let env = workload.env.unwrap();
        assert_eq!(env["POSTGRES_USER"], EnvValue("app".into()));
        assert_eq!(env["OPTS"], EnvValue("a=b".into()));
        assert_eq!(env["POSTGRES_PASSWORD_FILE"], EnvValue("/run/secrets/db".into()));
        assert!(!format!("{env:?}").contains("hunter2"));
        let secret_env = workload.secret_env.unwrap();
        assert_eq!(secret_env["POSTGRES_PASSWORD"].secret.as_deref(), Some("db-credentials"));
        assert!(secret_env.contains_key("DATABASE_URL"));
        assert_eq!(
            credentials,
            [("DATABASE_URL".into(), "environment[2]".into()), ("POSTGRES_PASSWORD".into(), "environment[1]".into())]
        );
        assert_eq!(report, ["dropped services.db.environment[4]"]);
    }

    #[test]
    fn dotenv_lines_are_read_as_compose_writes_them() {
        let vars = parse("# c\nexport A=1\nB='x # y'\nC=\"l1\\nl2\"\nD=plain # comment\n\nE=\n", false);
        assert_eq!(
            vars,
            [
                ("A".into(), "1".into()),
                ("B".into(), "x # y".into()),
                ("C".into(), "l1\nl2".into()),
                ("D".into(), "plain".into()),
                ("E".into(), String::new())
            ]
        );
    }
}
