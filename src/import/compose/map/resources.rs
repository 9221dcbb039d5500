//! CPU and memory: `deploy.resources.{limits,reservations}.{cpus,memory}`
//! and the service-level `cpus`, `mem_limit`, `mem_reservation` →
//! `resources.{limits,requests}` in canonical units (`500m`, `512Mi`;
//! `units`). A limit is what the container may use and a reservation what
//! it is guaranteed, which are Kubernetes' limits and requests. Where only a
//! limit is given and the namespace's default request would exceed it
//! (Kubernetes refuses a request above its limit), the request is the limit.
//! The other CPU knobs (`cpu_shares`, `cpu_quota`, `cpuset`, …), swap and PID
//! limits have no container resource equivalent and are reported.

use super::report::Status;
use super::service::{text, Ctx};
use super::units::{bytes, cpu_quantity, memory_quantity, millicores};
use crate::values::schema::{Quantity, ResourceRequirements, Resources, Workload};
use crate::Result;

const UNMAPPED: [&str; 12] = [
    "cpu_shares",
    "cpu_quota",
    "cpu_period",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpuset",
    "cpu_count",
    "cpu_percent",
    "memswap_limit",
    "mem_swappiness",
    "pids_limit",
    "deploy.resources.limits.pids",
];

pub fn map(ctx: &mut Ctx<'_>, default_requests: (Option<u128>, Option<u128>), workload: &mut Workload) -> Result<()> {
    let limit_cpu = cpu(ctx, &["deploy.resources.limits.cpus", "cpus"])?;
    let limit_memory = memory(ctx, &["deploy.resources.limits.memory", "mem_limit"])?;
    let mut request_cpu = cpu(ctx, &["deploy.resources.reservations.cpus"])?;
    let mut request_memory = memory(ctx, &["deploy.resources.reservations.memory", "mem_reservation"])?;
    for key in UNMAPPED {
        if ctx.take(key).is_some() {
            ctx.report(key, Status::Dropped, "no container resource in Kubernetes expresses it");
        }
    }
    // milli-units throughout, as `Quantity::milli` counts them.
    let fit = |request: &mut Option<u64>, limit: Option<u64>, default: Option<u128>, scale: u128| {
        if let Some(limit) = limit {
            let effective = request.map(|r| u128::from(r) * scale).or(default);
            if effective.is_some_and(|effective| effective > u128::from(limit) * scale) {
                *request = Some(limit);
            }
        }
    };
    fit(&mut request_cpu, limit_cpu, default_requests.0, 1);
    fit(&mut request_memory, limit_memory, default_requests.1, 1000);
    let quantity_cpu = |milli: Option<u64>| milli.map(|milli| Quantity(cpu_quantity(milli)));
    let quantity_memory = |bytes: Option<u64>| bytes.map(|bytes| Quantity(memory_quantity(bytes)));
    let resources = |cpu: Option<Quantity>, memory: Option<Quantity>| {
        (cpu.is_some() || memory.is_some()).then_some(Resources { cpu, memory, ephemeral_storage: None })
    };
    let requests = resources(quantity_cpu(request_cpu), quantity_memory(request_memory));
    let limits = resources(quantity_cpu(limit_cpu), quantity_memory(limit_memory));
    if requests.is_some() || limits.is_some() {
        workload.resources = Some(ResourceRequirements { requests, limits });
    }
    Ok(())
}

/// Millicores from the first of `keys` that is set; all are marked read.
fn cpu(ctx: &mut Ctx<'_>, keys: &[&str]) -> Result<Option<u64>> {
    let mut found = None;
    for key in keys {
        if let Some(value) = ctx.take(key) {
            let milli = text(value).and_then(|value| millicores(&value)).ok_or_else(|| {
                ctx.invalid(key, format!("`{key}` is not a CPU count"), "write a number of CPUs such as `0.5` or `2`")
            })?;
            found = found.or(Some(milli));
        }
    }
    Ok(found)
}

/// Bytes from the first of `keys` that is set; all are marked read.
fn memory(ctx: &mut Ctx<'_>, keys: &[&str]) -> Result<Option<u64>> {
    let mut found = None;
    for key in keys {
        if let Some(value) = ctx.take(key) {
            let bytes = text(value).and_then(|value| bytes(&value)).ok_or_else(|| {
                ctx.invalid(key, format!("`{key}` is not a byte value"), "write a byte value such as `512m` or `2gb`")
            })?;
            found = found.or(Some(bytes));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::{Project, Service};

    fn resources(yaml: &str, defaults: (Option<u128>, Option<u128>)) -> ResourceRequirements {
        let project = Project::default();
        let service =
            Service { name: "s".into(), definition: serde_yaml::from_str(yaml).unwrap(), ..Service::default() };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        map(&mut ctx, defaults, &mut workload).unwrap();
        workload.resources.unwrap()
    }

    fn pair(resources: &Option<Resources>) -> (Option<String>, Option<String>) {
        let resources = resources.as_ref();
        (resources.and_then(|r| r.cpu.clone()).map(|q| q.0), resources.and_then(|r| r.memory.clone()).map(|q| q.0))
    }

    #[test]
    fn limits_and_reservations_in_canonical_units() {
        let r = resources(
            "deploy: {resources: {limits: {cpus: \"1.5\", memory: 8g}, reservations: {cpus: 0.25, memory: 512M}}}",
            (None, None),
        );
        assert_eq!(pair(&r.limits), (Some("1500m".into()), Some("8Gi".into())));
        assert_eq!(pair(&r.requests), (Some("250m".into()), Some("512Mi".into())));
        let r = resources("cpus: 2\nmem_limit: 1073741824\nmem_reservation: 256m", (None, None));
        assert_eq!(pair(&r.limits), (Some("2".into()), Some("1Gi".into())));
        assert_eq!(pair(&r.requests), (None, Some("256Mi".into())));
    }

    #[test]
    fn a_limit_below_the_default_request_lowers_the_request() {
        // The namespace asks 100m / 128Mi by default.
        let r = resources("mem_limit: 64m\ncpus: 0.05", (Some(100), Some(128 * (1 << 20) * 1000)));
        assert_eq!(pair(&r.requests), (Some("50m".into()), Some("64Mi".into())));
    }
}
