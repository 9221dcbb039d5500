//! Compose `secrets` and `configs` a service uses.
//!
//! A Compose secret is a file the container reads at `/run/secrets/<target>`
//! (`target` defaults to the secret's name; an absolute target is used as
//! is), filled from the top-level definition's `file`, `environment` or an
//! `external` store (compose-spec `09-secrets.md`, `05-services.md`
//! "secrets"). Its content is never copied: each becomes a sealed secret of
//! the namespace, named after the Compose secret, holding a placeholder
//! until the operator seals the real value with the `kiln seal` command the
//! report prints, and it is mounted as exactly that file (`secretMounts`
//! with `key`, a subPath mount), not as a directory (kompose's wrong path,
//! kubernetes/kompose#1280). `uid`, `gid` and `mode` are reported.
//!
//! A Compose config (`08-configs.md`) is plain configuration mounted at
//! `target` (default `/<name>`): `file` and `content` become `configFiles`
//! with their text; `environment` and `external` configs are reported.

use std::path::Path;

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{ConfigFile, SecretMount, Workload};
use crate::Result;

/// A compose secret the namespace must hold: `(secret, key, from, how to seal)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    pub secret: String,
    pub key: String,
    pub from: String,
    /// The value's source for the seal command: `--from-file KEY=PATH`, or stdin.
    pub file: Option<String>,
    pub variable: Option<String>,
}

pub fn map(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<Vec<Needed>> {
    let mut needed = Vec::new();
    let Some(list) = ctx.take("secrets") else { return Ok(needed) };
    for (index, entry) in list.as_sequence().into_iter().flatten().enumerate() {
        let at = format!("secrets[{index}]");
        let (source, target, long) = match entry {
            Value::Mapping(long) => {
                let source = long.get("source").and_then(text).unwrap_or_default();
                (source.clone(), long.get("target").and_then(text).unwrap_or(source), Some(long))
            }
            other => {
                let source = text(other).unwrap_or_default();
                (source.clone(), source, None)
            }
        };
        let Some(definition) = ctx.project.secrets.get(&source) else {
            return Err(ctx.invalid(
                &at,
                format!("secret `{source}` is not defined under the top-level `secrets`"),
                "define it with `file`, `environment` or `external`",
            ));
        };
        for key in ["uid", "gid", "mode"] {
            if long.is_some_and(|long| long.get(key).is_some()) {
                ctx.report(
                    &format!("{at}.{key}"),
                    Status::Dropped,
                    "a secret file's owner and mode follow the pod's fsGroup",
                );
            }
        }
        let mount_path = if target.starts_with('/') { target.clone() } else { format!("/run/secrets/{target}") };
        let key = data_key(
            Path::new(&mount_path).file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
        );
        let secret = dns_name(&source);
        let (file, variable) =
            match (definition.get("file").and_then(text), definition.get("environment").and_then(text)) {
                (Some(file), _) => (Some(file), None),
                (None, Some(variable)) => (None, Some(variable)),
                _ => (None, None),
            };
        if definition.get("external").and_then(Value::as_bool) == Some(true) {
            ctx.report(&at, Status::Note, format!("`{source}` is external: seal its value from where it is kept"));
        }
        workload.secret_mounts.get_or_insert_with(Vec::new).push(SecretMount {
            secret: Some(secret.clone()),
            mount_path: Some(mount_path),
            key: Some(key.clone()),
        });
        needed.push(Needed { secret, key, from: format!("secrets.{source}"), file, variable });
    }
    Ok(needed)
}

pub fn configs(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<()> {
    let Some(list) = ctx.take("configs") else { return Ok(()) };
    for (index, entry) in list.as_sequence().into_iter().flatten().enumerate() {
        let at = format!("configs[{index}]");
        let (source, target) = match entry {
            Value::Mapping(long) => {
                let source = long.get("source").and_then(text).unwrap_or_default();
                (source.clone(), long.get("target").and_then(text).unwrap_or_else(|| format!("/{source}")))
            }
            other => {
                let source = text(other).unwrap_or_default();
                (source.clone(), format!("/{source}"))
            }
        };
        let Some(definition) = ctx.project.configs.get(&source) else {
            return Err(ctx.invalid(
                &at,
                format!("config `{source}` is not defined under the top-level `configs`"),
                "define it with `file` or `content`",
            ));
        };
        let content = if let Some(content) = definition.get("content").and_then(text) {
            Some(content)
        } else if let Some(file) = definition.get("file").and_then(text) {
            let path = ctx.project.directory.join(&file);
            match std::fs::read(&path).ok().and_then(|bytes| String::from_utf8(bytes).ok()) {
                Some(content) => Some(content),
                None => {
                    ctx.report(&at, Status::Dropped, format!("config file `{file}` cannot be read as text"));
                    None
                }
            }
        } else {
            ctx.report(&at, Status::Dropped, format!("config `{source}` comes from the environment or an external store: write its content into configFiles"));
            None
        };
        if let Some(content) = content {
            workload
                .config_files
                .get_or_insert_with(Vec::new)
                .push(ConfigFile { mount_path: Some(target), content: Some(content) });
        }
    }
    Ok(())
}

/// A DNS-1123 subdomain for a Kubernetes object name.
pub fn dns_name(name: &str) -> String {
    let mut out: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches(|c| c == '-' || c == '.').chars().take(63).collect::<String>();
    if out.is_empty() {
        "secret".into()
    } else {
        out
    }
}

/// A Secret data key (`[-._a-zA-Z0-9]+`).
fn data_key(name: String) -> String {
    let key: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' }).collect();
    if key.is_empty() {
        "value".into()
    } else {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::{Project, Service};

    #[test]
    fn a_secret_is_mounted_as_its_file_and_never_read() {
        let mut project = Project::default();
        project.secrets.insert("db_password".into(), serde_yaml::from_str("file: ./db_password.txt").unwrap());
        project.secrets.insert("api".into(), serde_yaml::from_str("environment: API_TOKEN").unwrap());
        let service = Service {
            name: "db".into(),
            definition: serde_yaml::from_str(
                "secrets: [db_password, {source: api, target: /etc/app/token, mode: 0400}]",
            )
            .unwrap(),
            ..Service::default()
        };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        let needed = map(&mut ctx, &mut workload).unwrap();
        let mounts: Vec<(String, String, String)> = workload
            .secret_mounts
            .unwrap()
            .into_iter()
            .map(|m| (m.secret.unwrap(), m.mount_path.unwrap(), m.key.unwrap()))
            .collect();
        assert_eq!(
            mounts,
            [
                ("db-password".into(), "/run/secrets/db_password".into(), "db_password".into()),
                ("api".into(), "/etc/app/token".into(), "token".into())
            ]
        );
        assert_eq!(needed[0].file.as_deref(), Some("./db_password.txt"));
        assert_eq!(needed[1].variable.as_deref(), Some("API_TOKEN"));
        assert_eq!(ctx.entries[0].key, "services.db.secrets[1].mode");
    }
}
