//! `depends_on` → a declared flow to the dependency, and the ordering that
//! Kubernetes gives instead of Compose's start order.
//!
//! Compose starts a service after its dependencies have started
//! (`service_started`, the short form's meaning), are healthy
//! (`service_healthy`) or have exited 0 (`service_completed_successfully`);
//! `required: false` tolerates a missing dependency and `restart: true`
//! restarts the dependent when the dependency is updated (compose-spec
//! `05-services.md` "depends_on"). Kubernetes starts every pod at once and
//! has no start order between workloads (Argo CD waves order the sync of
//! objects, not the readiness of pods inside one Application). The
//! ordering kiln documents is Kubernetes' own: the dependency's Service
//! sends traffic only to pods whose readiness probe passes (the imported
//! `healthcheck`), and a dependent that exits because it cannot reach it yet
//! is restarted with backoff until it can. Each dependency is therefore
//! reported as approximated, and the connection is declared as a flow
//! (`flows: [{service, port}]`) so `kiln plan` proves the NetworkPolicies
//! let it through.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{Flow, FlowPort, Workload};
use crate::Result;

/// What `map` needs of each imported service: its workload name, namespace
/// and first port name.
pub struct Target {
    pub workload: String,
    pub namespace: String,
    pub port: Option<String>,
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
        let why = match condition.as_str() {
            "service_healthy" => format!("Kubernetes starts pods together: `{}` must retry until `{dependency}` is ready (its Service serves only pods whose readiness probe passes)", ctx.name()),
            "service_completed_successfully" => format!("Kubernetes does not wait for `{dependency}` to complete: run it first, or make `{}` retry until its result exists", ctx.name()),
            _ => format!("Kubernetes starts pods together: `{}` must retry until `{dependency}` answers (a container that exits is restarted with backoff)", ctx.name()),
        };
        ctx.report(&at, Status::Approximated, why);
        let Some(port) = &target.port else {
            ctx.report(&at, Status::Note, format!("`{dependency}` listens on no port: no flow declared"));
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
            ..Flow::default()
        });
    }
    Ok(())
}
