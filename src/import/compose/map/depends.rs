//! `depends_on` → a declared flow to the dependency and, where Kubernetes
//! can hold a pod until the dependency is up, a wait before start.
//!
//! Compose starts a service after its dependencies have started
//! (`service_started`, the short form's meaning), are healthy
//! (`service_healthy`) or have exited 0 (`service_completed_successfully`);
//! `required: false` tolerates a missing dependency and `restart: true`
//! restarts the dependent when the dependency is updated (compose-spec
//! `05-services.md` "depends_on"). Kubernetes starts every pod at once. kiln
//! orders start-up with an init container per dependency that waits until
//! the dependency's Service answers, which it does once a pod behind it is
//! ready ([`crate::render::waits`]): the flow gets `waitBeforeStart: true`.
//! That is `service_healthy` exactly when the dependency has a `healthcheck`
//! (imported as its readiness probe), and `service_started` exactly when it
//! has none; a `service_started` dependency with a health check is waited
//! for until healthy, a little later than Compose would start the dependent
//! (a note). Nothing is waited for when Compose would not block either
//! (`required: false`), or when there is no Service to ask: a dependency
//! imported as a Job (kiln's Jobs are one-off runs Argo CD does not apply,
//! `templates/workloads/controller.yaml`) or one without ports. Those keep
//! Kubernetes' own ordering, reported as approximated: the dependent is
//! restarted with backoff until the dependency answers. Argo CD sync waves
//! are no substitute: they order the first sync of objects, not the start of
//! pods after it. Every dependency with a port is declared as a flow
//! (`flows: [{service, port}]`) so `kiln plan` proves the NetworkPolicies
//! let it (and the wait) through.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{Flow, FlowPort, Workload};
use crate::Result;

/// What `map` needs of each imported service.
pub struct Target {
    pub workload: String,
    pub namespace: String,
    /// The first port's name, when it gets a Service.
    pub port: Option<String>,
    /// Imported as a Job or CronJob.
    pub job: bool,
    /// Has a readiness probe from its `healthcheck` (not the TCP one kiln
    /// gives a service without).
    pub health_check: bool,
}

pub fn map(
    ctx: &mut Ctx<'_>,
    namespace: &str,
    targets: &BTreeMap<String, Target>,
    workload: &mut Workload,
) -> Result<()> {
    let Some(depends) = ctx.take("depends_on") else { return Ok(()) };
    let entries: Vec<(String, Option<&serde_yaml::Mapping>, String)> = match depends {
        Value::Sequence(list) => {
            list.iter().enumerate().filter_map(|(i, v)| Some((text(v)?, None, format!("depends_on[{i}]")))).collect()
        }
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(k, v)| {
                let name = text(k)?;
                Some((name.clone(), v.as_mapping(), format!("depends_on.{name}")))
            })
            .collect(),
        _ => {
            return Err(ctx.invalid(
                "depends_on",
                "`depends_on` must be a list or a mapping",
                "write `depends_on: [db]` or `depends_on: {db: {condition: service_healthy}}`",
            ))
        }
    };
    for (dependency, long, at) in entries {
        let condition =
            long.and_then(|l| l.get("condition")).and_then(text).unwrap_or_else(|| "service_started".into());
        let required = long.and_then(|l| l.get("required")).and_then(Value::as_bool).unwrap_or(true);
        if long.and_then(|l| l.get("restart")).and_then(Value::as_bool) == Some(true) {
            ctx.report(
                &format!("{at}.restart"),
                Status::Dropped,
                format!("Kubernetes does not restart `{}` when `{dependency}` changes", ctx.name()),
            );
        }
        let Some(target) = targets.get(&dependency) else {
            if required {
                return Err(ctx.invalid(
                    &at,
                    format!("`{dependency}` is not a service of this project"),
                    "name a service defined under `services`",
                ));
            }
            ctx.report(
                &at,
                Status::Note,
                format!("`{dependency}` is optional (`required: false`) and not in this project"),
            );
            continue;
        };
        let dependent = ctx.name().to_string();
        let wait = match (condition.as_str(), &target.port) {
            _ if !required => {
                ctx.report(
                    &at,
                    Status::Note,
                    format!("`{dependency}` is optional (`required: false`): `{dependent}` does not wait for it"),
                );
                false
            }
            ("service_completed_successfully", _) => {
                let why = if target.job {
                    format!("Kubernetes does not wait for `{dependency}` to complete: create its Job first (it is a one-off run Argo CD does not apply), and `{dependent}` retries until its result exists")
                } else {
                    format!("`{dependency}` is not a Job here, so nothing completes: `{dependent}` starts with it and retries until it answers")
                };
                ctx.report(&at, Status::Approximated, why);
                false
            }
            (_, None) => {
                let why = if target.job {
                    format!("`{dependency}` is a one-off Job with no Service to wait for: `{dependent}` starts at once and is restarted with backoff until it can work")
                } else {
                    format!("`{dependency}` listens on no port, so there is no Service to wait for: `{dependent}` starts at once and is restarted with backoff until it can work")
                };
                ctx.report(&at, Status::Approximated, why);
                false
            }
            ("service_healthy", Some(_)) if !target.health_check => {
                ctx.report(&at, Status::Approximated, format!("`{dependency}` has no healthcheck, so `{dependent}` waits only until it accepts connections (Compose refuses `service_healthy` without one)"));
                true
            }
            ("service_healthy", Some(_)) => true,
            (_, Some(_)) if target.health_check => {
                ctx.report(&at, Status::Note, format!("`{dependent}` waits until `{dependency}` is ready (its healthcheck passes), not only started: Kubernetes' Service answers only for ready pods"));
                true
            }
            (_, Some(_)) => true,
        };
        let Some(port) = &target.port else {
            continue;
        };
        let service = if target.namespace == namespace {
            target.workload.clone()
        } else {
            format!("{}/{}", target.namespace, target.workload)
        };
        workload.flows.get_or_insert_with(Vec::new).push(Flow {
            service: Some(service),
            port: Some(FlowPort(port.clone())),
            reason: Some(format!("compose depends_on {dependency} ({condition})")),
            wait_before_start: wait.then_some(true),
            ..Flow::default()
        });
    }
    Ok(())
}
