//! Maps a loaded Compose project onto kiln workloads, one rule module per
//! concern, and reports every key it could not map exactly.
//!
//! Each service becomes one workload of `values/namespaces/<ns>.yaml`, in the
//! schema of `values::schema`: its namespace and group (`groups`), command
//! line and image (`command`), ports (`ports`), environment and credentials
//! (`env`), secrets and configs (`secrets`), probes (`health`), volumes
//! (`volumes`), resources (`resources`), GPU (`gpu`), host-level keys
//! (`security`), kind (`kind`) and ordering (`depends`). A key no rule reads
//! is reported as dropped (`service::Ctx::finish`), so nothing is lost
//! silently. Profiled services are imported with `enabled` on only for the
//! selected `--profile`s.

pub mod cluster;
mod command;
mod depends;
mod env;
mod gpu;
pub mod groups;
mod health;
mod kind;
mod ports;
pub mod report;
mod resources;
mod secrets;
mod security;
mod service;
pub mod units;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use self::cluster::Cluster;
use self::depends::Target;
use self::groups::Placement;
use self::report::{Report, Status, ToSeal};
use self::service::Ctx;
use super::project::Project;
use crate::values::schema::{SharedVolume, Workload, WorkloadKind};
use crate::Result;

/// What one namespace receives.
#[derive(Debug, Default)]
pub struct NamespaceImport {
    /// `(workload name, service name, workload)` in service order.
    pub workloads: Vec<(String, String, Workload)>,
    pub shared_volumes: BTreeMap<String, SharedVolume>,
    /// Secret → the keys it must hold.
    pub secrets: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Default)]
pub struct Mapped {
    pub namespaces: BTreeMap<String, NamespaceImport>,
    pub report: Report,
}

struct Pending<'a> {
    ctx: Ctx<'a>,
    namespace: String,
    workload_name: String,
    workload: Workload,
}

pub fn map(project: &Project, cluster: &Cluster, placement: &Placement) -> Result<Mapped> {
    let usage = volumes::Usage::of(project);
    let mut mapped = Mapped::default();
    mapped.report.project = project.name.clone();
    let mut pending = Vec::new();
    let mut names: BTreeMap<(String, String), String> = BTreeMap::new();
    for service in project.services.values() {
        let mut ctx = Ctx::new(project, service);
        let liveness = ctx.peek("x-kiln").and_then(|x| x.get("liveness")).and_then(Value::as_bool) == Some(true);
        let (group, namespace) = groups::resolve(&mut ctx, placement)?;
        let workload_name = workload_name(&service.name);
        if workload_name != service.name {
            ctx.report("", Status::Note, format!("workload and Service named `{workload_name}` (Kubernetes names are lowercase letters, digits and `-`): clients that use `{}` must use `{workload_name}`", service.name));
        }
        if let Some(other) = names.insert((namespace.clone(), workload_name.clone()), service.name.clone()) {
            return Err(ctx.invalid(
                "",
                format!(
                    "services `{other}` and `{}` both become workload `{workload_name}` in namespace {namespace}",
                    service.name
                ),
                "rename one of them",
            ));
        }
        let mut workload = Workload { group: group.clone(), ..Workload::default() };
        command::map(&mut ctx, &project.name, &mut workload)?;
        if workload.image.is_none() {
            return Err(ctx.invalid(
                "",
                format!("service `{}` has neither `image` nor `build`", service.name),
                "give it an `image`",
            ));
        }
        ports::map(&mut ctx, &mut workload)?;
        let credentials = env::map(&mut ctx, &mut workload)?;
        let needed = secrets::map(&mut ctx, &mut workload)?;
        secrets::configs(&mut ctx, &mut workload)?;
        health::map(&mut ctx, &mut workload, liveness)?;
        let (shared, own_data) = volumes::map(&mut ctx, &usage, cluster.shared_storage, &mut workload)?;
        resources::map(&mut ctx, cluster.requests_in(&namespace), &mut workload)?;
        gpu::map(&mut ctx, cluster, &mut workload)?;
        security::map(&mut ctx, &mut workload);
        kind::map(&mut ctx, own_data, &mut workload)?;
        groups::cpu_pool(cluster, group.as_deref(), &mut workload);
        ctx.take("profiles");
        if !service.profiles.is_empty() {
            workload.enabled = Some(workload.enabled.unwrap_or(true) && service.enabled);
            ctx.report(
                "profiles",
                Status::Note,
                format!(
                    "profiles {}: `enabled` is on only when one of them is selected with --profile",
                    service.profiles.join(", ")
                ),
            );
        }
        let into = mapped.namespaces.entry(namespace.clone()).or_default();
        into.shared_volumes.extend(shared);
        for (key, from) in credentials {
            let secret = format!("{workload_name}-credentials");
            into.secrets.entry(secret.clone()).or_default().insert(key.clone());
            mapped.report.seal.push(ToSeal {
                command: format!(
                    "printf %s \"$VALUE\" | kiln seal --name {secret} --key {key} --namespace {namespace}"
                ),
                namespace: namespace.clone(),
                secret,
                key,
                from: ctx.key(&from).to_string(),
            });
        }
        for item in needed {
            into.secrets.entry(item.secret.clone()).or_default().insert(item.key.clone());
            let command = match (&item.file, &item.variable) {
                (Some(file), _) => format!(
                    "kiln seal --name {} --from-file {}={} --namespace {namespace}",
                    item.secret,
                    item.key,
                    project.directory.join(file).display()
                ),
                (None, Some(variable)) => format!(
                    "printf %s \"${variable}\" | kiln seal --name {} --key {} --namespace {namespace}",
                    item.secret, item.key
                ),
                (None, None) => format!(
                    "printf %s \"$VALUE\" | kiln seal --name {} --key {} --namespace {namespace}",
                    item.secret, item.key
                ),
            };
            mapped.report.seal.push(ToSeal {
                namespace: namespace.clone(),
                secret: item.secret,
                key: item.key,
                from: item.from,
                command,
            });
        }
        pending.push(Pending { ctx, namespace, workload_name, workload });
    }
    let targets: BTreeMap<String, Target> = pending
        .iter()
        .map(|p| {
            let serves = !matches!(p.workload.kind, Some(WorkloadKind::Job | WorkloadKind::CronJob));
            let port = p.workload.ports.iter().flatten().next().and_then(|port| port.name.clone()).filter(|_| serves);
            // Without a healthcheck the readiness probe is a TCP one (`health`): ready once started.
            let health_check = p
                .workload
                .probes
                .as_ref()
                .and_then(|probes| probes.readiness.as_ref())
                .is_some_and(|probe| probe.tcp != Some(true));
            (
                p.ctx.name().to_string(),
                Target {
                    workload: p.workload_name.clone(),
                    namespace: p.namespace.clone(),
                    port,
                    job: !serves,
                    health_check,
                },
            )
        })
        .collect();
    for mut p in pending {
        depends::map(&mut p.ctx, &p.namespace, &targets, &mut p.workload)?;
        mapped.report.workloads.push(report::Imported {
            service: p.ctx.name().to_string(),
            namespace: p.namespace.clone(),
            workload: p.workload_name.clone(),
            kind: format!("{:?}", p.workload.kind.unwrap_or(WorkloadKind::Deployment)),
            enabled: p.workload.enabled != Some(false),
            action: "added".into(),
        });
        let service = p.ctx.name().to_string();
        p.ctx.finish(&mut mapped.report);
        mapped.namespaces.entry(p.namespace).or_default().workloads.push((p.workload_name, service, p.workload));
    }
    for extension in &project.extensions {
        mapped.report.push(
            "",
            &crate::values::key_path::KeyPath::root().key(extension.clone()),
            Status::Note,
            "extension ignored",
        );
    }
    mapped.report.seal.sort_by(|a, b| (&a.namespace, &a.secret, &a.key).cmp(&(&b.namespace, &b.secret, &b.key)));
    mapped.report.seal.dedup_by(|a, b| (&a.namespace, &a.secret, &a.key) == (&b.namespace, &b.secret, &b.key));
    Ok(mapped)
}

/// A DNS-1123 label for the workload (and its Service) from the service name.
fn workload_name(service: &str) -> String {
    let mut name: String =
        service.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name: String = name.trim_matches('-').chars().take(50).collect();
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "service".into()
    } else {
        name
    }
}
