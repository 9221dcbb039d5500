//! `restart`, `deploy.restart_policy`, `deploy.mode`, `deploy.replicas`
//! and `scale` → the workload kind, its replicas and its Job settings.
//!
//! Compose restarts a container by `restart` (`no`, `always`,
//! `on-failure[:N]`, `unless-stopped`; compose-spec `05-services.md`) or,
//! winning over it, `deploy.restart_policy.condition` (`none`,
//! `on-failure`, `any`) with `max_attempts` (`deploy.md`). A container
//! that is not restarted once it exits, or only on failure, runs to
//! completion: a Kubernetes Job, whose `backoffLimit` counts the retries
//! (Kubernetes docs, "Jobs": 6 when unset), so `no` is 0 and `on-failure:N`
//! is N. Every other service is a Deployment, or a StatefulSet when it keeps
//! persistent data of its own, as the migration plan's mapping table does
//! for its database groups (infra_core, memory_stack); `deploy.mode:
//! global` is a DaemonSet.

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{Job, Workload, WorkloadKind};
use crate::Result;

const KUBERNETES_DEFAULT_BACKOFF: u32 = 6;

pub fn map(ctx: &mut Ctx<'_>, own_data: bool, workload: &mut Workload) -> Result<()> {
    let restart = ctx.take("restart").and_then(text);
    let policy = ctx.take("deploy.restart_policy").and_then(Value::as_mapping);
    let condition = policy.and_then(|p| p.get("condition")).and_then(text);
    let attempts =
        policy.and_then(|p| p.get("max_attempts")).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
    for key in ["delay", "window"] {
        if policy.is_some_and(|p| p.get(key).is_some()) {
            ctx.report(
                &format!("deploy.restart_policy.{key}"),
                Status::Dropped,
                "Kubernetes backs off restarts itself (10s doubling to 5m)",
            );
        }
    }
    let backoff: Option<(Option<u32>, &str)> = match (condition.as_deref(), restart.as_deref()) {
        (Some("none"), _) => Some((Some(0), "deploy.restart_policy")),
        (Some("on-failure"), _) => Some((attempts, "deploy.restart_policy")),
        (Some(_), _) => None,
        // An unquoted `no` is YAML 1.1's false, which some loaders produce.
        (None, Some("no" | "false")) => Some((Some(0), "restart")),
        (None, Some(on_failure)) if on_failure.starts_with("on-failure") => {
            let limit = on_failure.strip_prefix("on-failure:").map(|n| n.parse::<u32>()).transpose().map_err(|_| {
                ctx.invalid(
                    "restart",
                    format!("`restart: {on_failure}` is not a restart policy"),
                    "write `no`, `always`, `on-failure[:N]` or `unless-stopped`",
                )
            })?;
            Some((limit, "restart"))
        }
        (None, None | Some("always" | "unless-stopped")) => None,
        (None, Some(other)) => {
            return Err(ctx.invalid(
                "restart",
                format!("`restart: {other}` is not a restart policy"),
                "write `no`, `always`, `on-failure[:N]` or `unless-stopped`",
            ))
        }
    };
    let mode = ctx.take("deploy.mode").and_then(text);
    let replicas = ctx.take("deploy.replicas").or_else(|| ctx.peek("scale")).and_then(Value::as_u64);
    ctx.take("scale");
    let replicas = replicas.and_then(|n| u32::try_from(n).ok());
    if let Some((limit, key)) = backoff {
        workload.kind = Some(WorkloadKind::Job);
        let limit = limit.unwrap_or_else(|| {
            ctx.report(key, Status::Approximated, format!("Compose retries a failing container without end; the Job retries {KUBERNETES_DEFAULT_BACKOFF} times (set job.backoffLimit)"));
            KUBERNETES_DEFAULT_BACKOFF
        });
        workload.job = Some(Job {
            backoff_limit: Some(limit),
            completions: replicas.filter(|n| *n > 1),
            parallelism: replicas.filter(|n| *n > 1),
            ..Job::default()
        });
        if ctx.peek("ports").is_some() || ctx.peek("expose").is_some() {
            ctx.report(key, Status::Approximated, "a service that is not restarted is a Job, and kiln renders no Service for Jobs: if it serves clients, give it `restart: unless-stopped`");
        }
        ctx.report(key, Status::Note, "Argo CD does not apply one-off Jobs (kiln marks them `hook: Skip`): create it with `kubectl create -f` from rendered/");
        return Ok(());
    }
    workload.kind = Some(match mode.as_deref() {
        Some("global") => WorkloadKind::DaemonSet,
        _ if own_data => WorkloadKind::StatefulSet,
        _ => WorkloadKind::Deployment,
    });
    if workload.kind != Some(WorkloadKind::DaemonSet) {
        workload.replicas = replicas;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::{Project, Service};

    fn kind(yaml: &str, own_data: bool) -> (Option<WorkloadKind>, Option<u32>) {
        let project = Project::default();
        let service =
            Service { name: "s".into(), definition: serde_yaml::from_str(yaml).unwrap(), ..Service::default() };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        map(&mut ctx, own_data, &mut workload).unwrap();
        (workload.kind, workload.job.and_then(|job| job.backoff_limit))
    }

    #[test]
    fn restart_no_and_on_failure_are_jobs_with_their_backoff() {
        assert_eq!(kind("restart: \"no\"", false), (Some(WorkloadKind::Job), Some(0)));
        assert_eq!(kind("restart: on-failure:3", false), (Some(WorkloadKind::Job), Some(3)));
        assert_eq!(kind("restart: on-failure", false), (Some(WorkloadKind::Job), Some(6)));
        assert_eq!(
            kind("restart: always\ndeploy: {restart_policy: {condition: on-failure, max_attempts: 2}}", false),
            (Some(WorkloadKind::Job), Some(2))
        );
    }

    #[test]
    fn long_running_services_are_deployments_or_statefulsets() {
        assert_eq!(kind("restart: unless-stopped", false).0, Some(WorkloadKind::Deployment));
        assert_eq!(kind("{}", true).0, Some(WorkloadKind::StatefulSet));
        assert_eq!(kind("deploy: {mode: global}", false).0, Some(WorkloadKind::DaemonSet));
        assert_eq!(
            kind("restart: \"no\"\ndeploy: {restart_policy: {condition: any}}", false).0,
            Some(WorkloadKind::Deployment)
        );
    }
}
