//! The container's command line and identity: `entrypoint`, `command`,
//! `working_dir`, `user`, `image`/`build`, `pull_policy`,
//! `stop_grace_period`, `extra_hosts`, and the keys that name a container
//! (`container_name`, `hostname`, `domainname`), which Kubernetes names
//! itself.
//!
//! `entrypoint` replaces the image's ENTRYPOINT and `command` its CMD
//! (compose-spec `05-services.md`); Kubernetes' `command` and `args` are
//! exactly those two (Kubernetes docs, "Define a Command and Arguments for a
//! Container": "command overrides ENTRYPOINT, args overrides CMD"). Setting
//! `entrypoint` also drops the image's CMD, as it does in Kubernetes when
//! only `command` is set. A string is split into words as a POSIX shell
//! would, without running one (Compose splits with go-shellwords): blanks
//! separate words, single quotes keep everything, double quotes keep all
//! but `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes
//! escapes the next character. The kubelet expands `$(VAR)` in command and
//! args and turns `$$` into `$` (Kubernetes `third_party/forked/golang/expansion`),
//! so a `$` before `(` or `$` is doubled to stay literal.

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use super::units::{duration_micros, seconds_at_least_one};
use crate::values::schema::{HostAlias, Security, Workload};
use crate::Result;

pub fn map(ctx: &mut Ctx<'_>, project: &str, workload: &mut Workload) -> Result<()> {
    if let Some(entrypoint) = ctx.take("entrypoint") {
        workload.command = Some(words(ctx, "entrypoint", entrypoint)?);
    }
    if let Some(command) = ctx.take("command") {
        workload.args = Some(words(ctx, "command", command)?);
    }
    if let Some(dir) = ctx.take("working_dir").and_then(text) {
        workload.working_dir = Some(dir);
    }
    user(ctx, workload);
    image(ctx, project, workload);
    if let Some(policy) = ctx.take("pull_policy").and_then(text) {
        match policy.as_str() {
            "always" => workload.image_pull_policy = Some("Always".into()),
            "never" => workload.image_pull_policy = Some("Never".into()),
            "missing" | "if_not_present" => workload.image_pull_policy = Some("IfNotPresent".into()),
            other => ctx.report(
                "pull_policy",
                Status::Approximated,
                format!("`pull_policy: {other}` has no Kubernetes equivalent: IfNotPresent"),
            ),
        }
    }
    if let Some(grace) = ctx.take("stop_grace_period") {
        let micros = text(grace).and_then(|grace| duration_micros(&grace)).ok_or_else(|| {
            ctx.invalid(
                "stop_grace_period",
                "`stop_grace_period` is not a duration",
                "write e.g. `stop_grace_period: 1m`",
            )
        })?;
        workload.termination_grace_period_seconds = Some(seconds_at_least_one(micros));
    }
    hosts(ctx, workload)?;
    for key in ["container_name", "hostname", "domainname"] {
        if let Some(value) = ctx.take(key).and_then(text) {
            ctx.report(
                key,
                Status::Dropped,
                format!(
                    "`{value}`: Kubernetes names pods itself; clients reach the workload by its Service name `{}`",
                    ctx.name()
                ),
            );
        }
    }
    Ok(())
}

fn words(ctx: &Ctx<'_>, key: &str, value: &Value) -> Result<Vec<String>> {
    let words = match value {
        Value::Sequence(items) => items.iter().map(|item| text(item).unwrap_or_default()).collect(),
        Value::Null => Vec::new(),
        other => {
            let line = text(other).unwrap_or_default();
            split(&line).ok_or_else(|| {
                ctx.invalid(
                    key,
                    format!("`{key}` has an unterminated quote"),
                    "close the quote, or write the command as a list",
                )
            })?
        }
    };
    Ok(words.iter().map(|word| literal_for_kubelet(word)).collect())
}

/// Shell-like word splitting without expansion; `None` on an open quote.
pub fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\' | '$' | '`') => word.push(escaped),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Doubles each `$` that the kubelet would otherwise read as the start of
/// `$(VAR)` or of a `$$` escape.
fn literal_for_kubelet(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && matches!(chars.peek(), Some('(' | '$')) {
            out.push('$');
        }
    }
    out
}

/// `user: UID[:GID]` → `security.runAsUser`/`runAsGroup`; names and root
/// cannot be expressed (Kubernetes needs numbers, restricted pod security
/// non-root).
fn user(ctx: &mut Ctx<'_>, workload: &mut Workload) {
    let Some(user) = ctx.take("user").and_then(text) else { return };
    let (uid, gid) = user.split_once(':').map_or((user.as_str(), None), |(uid, gid)| (uid, Some(gid)));
    let number = |text: &str| text.parse::<u32>().ok();
    match (number(uid), gid.map(number)) {
        (Some(0), _) => ctx.report("user", Status::Dropped, "root: restricted pod security runs containers as non-root; kiln's default user applies (security.runAsUser)"),
        (Some(uid), None | Some(Some(_))) => {
            let security = workload.security.get_or_insert_with(Security::default);
            security.run_as_user = Some(uid);
            security.run_as_group = gid.and_then(number).or(Some(uid));
            security.fs_group = security.run_as_group;
        }
        _ => ctx.report("user", Status::Dropped, format!("`{user}`: Kubernetes needs a numeric UID[:GID]; kiln's default user applies (security.runAsUser)")),
    }
}

/// `image`, and `build`, which needs an image pushed to a registry.
fn image(ctx: &mut Ctx<'_>, project: &str, workload: &mut Workload) {
    let image = ctx.take("image").and_then(text);
    let build = ctx.take("build").is_some();
    match (image, build) {
        (Some(image), build) => {
            if build {
                ctx.report("build", Status::Approximated, format!("the cluster cannot build: push the built image as `{image}` to a registry the nodes can pull from"));
            }
            workload.image = Some(image);
        }
        (None, true) => {
            let name = format!("{project}-{}:latest", ctx.name());
            ctx.report("build", Status::Dropped, format!("no `image` beside `build`: the workload is disabled until an image is pushed and named (Compose would tag it `{name}`)"));
            workload.image = Some(name);
            workload.enabled = Some(false);
        }
        (None, false) => {}
    }
}

/// `extra_hosts` (a list of `HOST:IP` or `HOST=IP`, or a mapping) → `hostAliases`.
fn hosts(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<()> {
    let Some(hosts) = ctx.take("extra_hosts") else { return Ok(()) };
    let entries: Vec<(String, String)> = match hosts {
        Value::Mapping(map) => map.iter().filter_map(|(host, ip)| Some((text(host)?, text(ip)?))).collect(),
        Value::Sequence(list) => list
            .iter()
            .filter_map(text)
            .filter_map(|entry| {
                let (host, ip) = entry.split_once('=').or_else(|| entry.split_once(':'))?;
                Some((host.to_string(), ip.to_string()))
            })
            .collect(),
        _ => {
            return Err(ctx.invalid(
                "extra_hosts",
                "`extra_hosts` must be a list or a mapping",
                "write `extra_hosts: [\"db.lan=192.168.1.20\"]`",
            ))
        }
    };
    let mut aliases: Vec<HostAlias> = Vec::new();
    for (host, ip) in entries {
        let ip = ip.trim_start_matches('[').trim_end_matches(']').to_string();
        if ip.parse::<std::net::IpAddr>().is_err() {
            ctx.report(
                "extra_hosts",
                Status::Dropped,
                format!("`{host}` → `{ip}`: hostAliases need an IP address (`host-gateway` is Docker's own)"),
            );
            continue;
        }
        match aliases.iter_mut().find(|alias| alias.ip.as_deref() == Some(ip.as_str())) {
            Some(alias) => alias.hostnames.get_or_insert_with(Vec::new).push(host),
            None => aliases.push(HostAlias { ip: Some(ip), hostnames: Some(vec![host]) }),
        }
    }
    if !aliases.is_empty() {
        workload.host_aliases = Some(aliases);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_split_like_a_shell_without_one() {
        assert_eq!(
            split("python -m vllm --model 'Qwen/Qwen 7B'").unwrap(),
            ["python", "-m", "vllm", "--model", "Qwen/Qwen 7B"]
        );
        assert_eq!(split(r#"sh -c "echo \"hi\" \$HOME" a\ b"#).unwrap(), ["sh", "-c", "echo \"hi\" $HOME", "a b"]);
        assert_eq!(split("''").unwrap(), [""]);
        assert!(split("echo 'open").is_none());
    }

    #[test]
    fn kubelet_expansion_is_escaped() {
        assert_eq!(literal_for_kubelet("echo $(date) $HOME $$"), "echo $$(date) $HOME $$$");
    }
}
