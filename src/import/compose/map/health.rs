//! `healthcheck` → a readiness probe, a startup probe for `start_period`,
//! and a liveness probe only when asked (`x-kiln: {liveness: true}`).
//!
//! Compose (compose-spec `05-services.md` "healthcheck"): `test` is a
//! string (run by the container's default shell, as `CMD-SHELL`) or a list
//! whose first item is `NONE`, `CMD` (exec the rest) or `CMD-SHELL` (run the
//! rest through `/bin/sh -c`); `interval` (default 30s), `timeout` (30s),
//! `retries` (3), `start_period` (0), `start_interval` (5s);
//! `disable: true` turns it off. Docker runs the check as a process in the
//! container, so `CMD-SHELL` is `["/bin/sh", "-c", line]`, not one argv
//! element holding the whole line (kompose's bug: its own golden
//! `healthcheck/output-healthcheck-k8s.yaml` has `command: - echo "liveness"`).
//!
//! "Healthy" is what a readiness probe means in Kubernetes: it gates the
//! Service's endpoints, which is what `depends_on: service_healthy` waits
//! for. A health check failing in Compose marks the container unhealthy and
//! never restarts it; a failing liveness probe restarts it, which on a slow
//! GPU model load is a restart loop, so liveness is opt-in. During
//! `start_period` Compose ignores failures and probes every `start_interval`:
//! the startup probe runs at that period for the start period plus the
//! `retries` Compose then allows, and hands over to the readiness probe.

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use super::units::{duration_micros, seconds_at_least_one};
use crate::values::schema::{Probe, Probes, Workload};
use crate::Result;

const DEFAULT_INTERVAL: u64 = 30_000_000;
const DEFAULT_TIMEOUT: u64 = 30_000_000;
const DEFAULT_START_INTERVAL: u64 = 5_000_000;
const DEFAULT_RETRIES: u32 = 3;

pub fn map(ctx: &mut Ctx<'_>, workload: &mut Workload, liveness: bool) -> Result<()> {
    let Some(check) = ctx.take("healthcheck") else {
        tcp_readiness(ctx, workload);
        return Ok(());
    };
    let Some(check) = check.as_mapping() else {
        return Err(ctx.invalid(
            "healthcheck",
            "`healthcheck` must be a mapping",
            "write `healthcheck: {test: [CMD, …]}`",
        ));
    };
    if check.get("disable").and_then(Value::as_bool) == Some(true) {
        tcp_readiness(ctx, workload);
        return Ok(());
    }
    let command: Vec<String> = match check.get("test") {
        None => {
            ctx.report(
                "healthcheck",
                Status::Dropped,
                "no `test`: the image's own HEALTHCHECK is not known to kiln, so no probe",
            );
            return Ok(());
        }
        Some(Value::String(line)) => shell(line),
        Some(Value::Sequence(items)) => {
            let items: Vec<String> = items.iter().filter_map(text).collect();
            match items.split_first() {
                Some((first, _)) if first == "NONE" => {
                    tcp_readiness(ctx, workload);
                    return Ok(());
                }
                Some((first, rest)) if first == "CMD" && !rest.is_empty() => rest.to_vec(),
                Some((first, rest)) if first == "CMD-SHELL" && !rest.is_empty() => shell(&rest.join(" ")),
                _ => {
                    return Err(ctx.invalid(
                        "healthcheck.test",
                        "`test` must start with `NONE`, `CMD` or `CMD-SHELL` and name a command",
                        "write `test: [CMD, curl, -f, http://localhost/]` or `test: [CMD-SHELL, \"curl -f http://localhost/ || exit 1\"]`",
                    ))
                }
            }
        }
        Some(_) => {
            return Err(ctx.invalid(
                "healthcheck.test",
                "`test` must be a string or a list",
                "see the Compose specification, healthcheck",
            ))
        }
    };
    let duration = |ctx: &Ctx<'_>, key: &str, default: u64| -> Result<u64> {
        match check.get(key) {
            None => Ok(default),
            Some(value) => text(value).and_then(|value| duration_micros(&value)).ok_or_else(|| {
                ctx.invalid(
                    &format!("healthcheck.{key}"),
                    format!("`{key}` is not a duration"),
                    "write a duration such as `30s` or `1m30s`",
                )
            }),
        }
    };
    let interval = duration(ctx, "interval", DEFAULT_INTERVAL)?;
    let timeout = duration(ctx, "timeout", DEFAULT_TIMEOUT)?;
    let start_period = duration(ctx, "start_period", 0)?;
    let start_interval = duration(ctx, "start_interval", DEFAULT_START_INTERVAL)?;
    let retries = match check.get("retries") {
        None => DEFAULT_RETRIES,
        Some(value) => value.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0).ok_or_else(|| {
            ctx.invalid("healthcheck.retries", "`retries` must be a positive number", "write e.g. `retries: 3`")
        })?,
    };
    let probe = |period: u64, failures: u32| Probe {
        exec: Some(command.clone()),
        period_seconds: Some(seconds_at_least_one(period)),
        timeout_seconds: Some(seconds_at_least_one(timeout)),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    let readiness = probe(interval, retries);
    let startup = (start_period > 0).then(|| {
        let during = u32::try_from(start_period.div_ceil(start_interval.max(1))).unwrap_or(u32::MAX);
        probe(start_interval, during.saturating_add(retries))
    });
    if interval < 1_000_000 || timeout < 1_000_000 {
        ctx.report(
            "healthcheck",
            Status::Approximated,
            "Kubernetes probes count whole seconds: sub-second interval or timeout rounded up to 1s",
        );
    }
    workload.probes =
        Some(Probes { liveness: liveness.then(|| readiness.clone()), readiness: Some(readiness), startup });
    Ok(())
}

/// A service without a health check that listens on a port: Compose counts
/// it started once it runs; kiln requires a readiness probe on every
/// workload that serves ports, so it is ready once the first port accepts
/// connections (a TCP probe), reported.
fn tcp_readiness(ctx: &mut Ctx<'_>, workload: &mut Workload) {
    let Some(port) = workload.ports.iter().flatten().next().and_then(|port| port.name.clone()) else { return };
    ctx.report(
        "",
        Status::Approximated,
        format!("no health check: ready once port `{port}` accepts connections (a TCP readiness probe)"),
    );
    let readiness = Probe { tcp: Some(true), port: Some(Value::String(port)), ..Probe::default() };
    workload.probes = Some(Probes { readiness: Some(readiness), ..Probes::default() });
}

/// `CMD-SHELL` and the string form: the line through `/bin/sh -c`.
fn shell(line: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), line.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::{Project, Service};

    fn mapped(yaml: &str, liveness: bool) -> (Option<Probes>, Vec<String>) {
        let project = Project::default();
        let service =
            Service { name: "web".into(), definition: serde_yaml::from_str(yaml).unwrap(), ..Service::default() };
        let mut ctx = Ctx::new(&project, &service);
        let mut workload = Workload::default();
        map(&mut ctx, &mut workload, liveness).unwrap();
        (workload.probes, ctx.entries.iter().map(|e| e.message.clone()).collect())
    }

    #[test]
    fn cmd_shell_runs_through_sh_c_not_as_one_argv_element() {
        let (probes, _) = mapped("healthcheck: {test: [CMD-SHELL, \"curl -f http://localhost/ || exit 1\"]}", false);
        let readiness = probes.unwrap().readiness.unwrap();
        assert_eq!(readiness.exec.unwrap(), ["/bin/sh", "-c", "curl -f http://localhost/ || exit 1"]);
        let (probes, _) = mapped("healthcheck: {test: \"pg_isready -U app\"}", false);
        assert_eq!(probes.unwrap().readiness.unwrap().exec.unwrap(), ["/bin/sh", "-c", "pg_isready -U app"]);
    }

    #[test]
    fn cmd_is_exec_with_the_compose_defaults() {
        let (probes, _) = mapped("healthcheck: {test: [CMD, redis-cli, ping]}", false);
        let probes = probes.unwrap();
        let readiness = probes.readiness.unwrap();
        assert_eq!(readiness.exec.unwrap(), ["redis-cli", "ping"]);
        assert_eq!(
            (readiness.period_seconds, readiness.timeout_seconds, readiness.failure_threshold),
            (Some(30), Some(30), Some(3))
        );
        assert!(probes.startup.is_none() && probes.liveness.is_none());
    }

    #[test]
    fn start_period_becomes_a_startup_probe() {
        let (probes, _) = mapped(
            "healthcheck: {test: [CMD, curl, -f, localhost:8000/health], interval: 10s, retries: 5, start_period: 10m}",
            false,
        );
        let startup = probes.unwrap().startup.unwrap();
        // 600 s at the default start_interval of 5 s, then the 5 retries.
        assert_eq!((startup.period_seconds, startup.failure_threshold), (Some(5), Some(125)));
    }

    #[test]
    fn disable_and_none_give_no_probe_and_liveness_only_when_asked() {
        assert!(mapped("healthcheck: {test: [CMD, x], disable: true}", false).0.is_none());
        assert!(mapped("healthcheck: {test: [NONE]}", false).0.is_none());
        assert!(mapped("{}", false).0.is_none());
        let (probes, _) = mapped("healthcheck: {test: [CMD, x]}", true);
        assert_eq!(probes.unwrap().liveness.unwrap().exec.unwrap(), ["x"]);
    }
}
