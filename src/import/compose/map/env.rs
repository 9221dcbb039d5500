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
//! all files. Env files are read by the loader's dotenv parser
//! (`load::dotenv`, compose-go's format), interpolated as compose-go does:
//! from the project's `.env` variables, then the service's `environment`,
//! then what earlier env files set. A bare `environment` key takes its
//! value from the project's `.env` variables, as Compose resolves it.
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
use crate::diagnostic::Location;
use crate::import::compose::load::dotenv;
use crate::values::schema::{EnvValue, SecretKeyRef, Workload};
use crate::values::secrets::{looks_like_secret_key, names_a_secret, names_a_secret_file, url_with_password};
use crate::{Error, Result};

/// Variable → value.
type Environment = BTreeMap<String, String>;

/// One `KEY=VALUE` of an env file.
type Variable = (String, String);

/// A credential found in the environment: `(variable, where it was written)`.
pub type Credential = (String, String);

pub fn map(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<Vec<Credential>> {
    let own = environment(ctx)?;
    let project = &ctx.project.environment;
    // Bare keys resolve from the project's variables (compose-go `Resolve`).
    let own: Vec<(String, Option<String>, String)> = own
        .into_iter()
        .map(|(key, value, at)| {
            let value = value.or_else(|| project.get(&key).cloned());
            (key, value, at)
        })
        .collect();
    let service: Environment = own.iter().filter_map(|(key, value, _)| Some((key.clone(), value.clone()?))).collect();
    let mut lookup = service.clone();
    lookup.extend(project.iter().map(|(key, value)| (key.clone(), value.clone())));
    // Variable → (value, compose key it came from).
    let mut variables: BTreeMap<String, (String, String)> = BTreeMap::new();
    // The files see the service's environment, then what earlier files set.
    for (file, from) in env_files(ctx, &lookup, &service)? {
        for (key, value) in file {
            variables.insert(key, (value, from.clone()));
        }
    }
    for (key, value, at) in own {
        match value {
            Some(value) => {
                variables.insert(key, (value, at));
            }
            None => unset(ctx, &at, &key),
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

/// The service's `environment`: each key, its value (`None` when unset)
/// and the compose key it is written at.
fn environment(ctx: &mut Ctx<'_>) -> Result<Vec<(String, Option<String>, String)>> {
    match ctx.take("environment") {
        None => Ok(Vec::new()),
        Some(Value::Mapping(map)) => Ok(map
            .iter()
            .filter_map(|(key, value)| {
                let key = text(key)?;
                let at = format!("environment.{key}");
                let value = match value {
                    Value::Null => None,
                    other => Some(text(other).unwrap_or_default()),
                };
                Some((key, value, at))
            })
            .collect()),
        Some(Value::Sequence(list)) => Ok(list
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let entry = text(entry).unwrap_or_default();
                let at = format!("environment[{index}]");
                match entry.split_once('=') {
                    Some((key, value)) => (key.to_string(), Some(value.to_string()), at),
                    None => (entry, None, at),
                }
            })
            .collect()),
        Some(_) => Err(ctx.invalid(
            "environment",
            "`environment` must be a mapping or a list",
            "write `environment: {KEY: value}` or `- KEY=value`",
        )),
    }
}

/// Each `env_file`'s variables, in order, with the key it came from;
/// `lookup` and `known` resolve their interpolations ([`dotenv::statements`]).
fn env_files(ctx: &mut Ctx<'_>, lookup: &Environment, known: &Environment) -> Result<Vec<(Vec<Variable>, String)>> {
    let entries: Vec<(Value, String)> = match ctx.take("env_file") {
        None => return Ok(Vec::new()),
        Some(Value::Sequence(list)) => {
            list.iter().enumerate().map(|(i, v)| (v.clone(), format!("env_file[{i}]"))).collect()
        }
        Some(other) => vec![(other.clone(), "env_file".into())],
    };
    let mut known = known.clone();
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
                let content = std::str::from_utf8(&bytes).map_err(|error| {
                    let (line, column) = crate::diagnostic::line_column(&bytes, error.valid_up_to());
                    Error::NotUtf8 { location: Location::new(&full, line, column) }
                })?;
                let variables =
                    if raw { raw_lines(content) } else { dotenv::statements(&full, content, lookup, &known)? };
                known.extend(variables.iter().cloned());
                files.push((variables, at));
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

/// `format: raw`: every `KEY=VALUE` line taken literally, no quotes, no
/// interpolation.
fn raw_lines(content: &str) -> Vec<Variable> {
    content
        .lines()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("export ").unwrap_or(line).split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.to_string()))
        .collect()
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
    fn env_files_and_bare_keys_resolve_as_compose_resolves_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("app.env"),
            "URL=\"http://${HOST}:${PORT}\"\nMULTI=\"one\ntwo\"\nCOLON: yes\nFROM_PROJECT\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("raw.env"), "LITERAL='${HOST}'\n").unwrap();
        let project = Project {
            directory: dir.path().to_path_buf(),
            environment: [("HOST".to_string(), "web".to_string()), ("FROM_PROJECT".into(), "p".into())].into(),
            ..Project::default()
        };
        let yaml = "environment: {PORT: '8080', HOST: ignored, BARE: null, FROM_PROJECT: null}\nenv_file: [app.env, {path: raw.env, format: raw}]";
        let service =
            Service { name: "app".into(), definition: serde_yaml::from_str(yaml).unwrap(), ..Service::default() };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        map(&mut ctx, &mut workload).unwrap();
        let env = workload.env.unwrap();
        let value = |key: &str| env.get(key).map(|value| value.0.as_str());
        // The project's HOST wins over the service's in the env file; the service's own HOST wins in the end.
        assert_eq!(value("URL"), Some("http://web:8080"));
        assert_eq!(value("HOST"), Some("ignored"));
        assert_eq!(value("MULTI"), Some("one\ntwo"));
        assert_eq!(value("COLON"), Some("yes"));
        assert_eq!(value("FROM_PROJECT"), Some("p"));
        assert_eq!(value("LITERAL"), Some("'${HOST}'"));
        assert_eq!(value("BARE"), None);
        let report: Vec<String> = ctx.entries.iter().map(|e| format!("{} {}", e.status.as_str(), e.key)).collect();
        assert_eq!(report, ["dropped services.app.environment.BARE"]);
    }
}
