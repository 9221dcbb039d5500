//! The sync checks of `kiln validate`, as findings on the rendered objects:
//! - `sync-health-cycle` (error): Applications whose health depends on each
//!   other through the health Lua ([`super::health`]);
//! - `sync-replace-job` (error): a Job or CronJob with `Replace=true` or
//!   `Force=true`, deleted and re-created on every sync (a Job re-runs, and
//!   the sync waits for it again);
//! - `sync-hook-delete-policy` (warning): a hook without
//!   `hook-delete-policy`, which Argo CD treats as `BeforeHookCreation`: the
//!   finished hook stays until the next sync;
//! - `sync-crd-order` (error): a custom resource synced before the
//!   Application that installs its CRD is Healthy, on a first sync
//!   ([`super::run`]): the dry run of its Application fails;
//! - `sync-wait-order` (error): on a first sync, a step waits on a workload
//!   whose pods wait (`waitBeforeStart`) for a workload that is applied
//!   only after that step ([`super::run`]): the sync never gets past it;
//! - `sync-wait-cycle` (error): workloads that wait for each other
//!   (`waitBeforeStart`): none of their pods ever starts, so no sync that
//!   waits on them ends, and their Applications stay Progressing.

use std::collections::BTreeSet;

use super::health;
use super::model::{Application, Model, HEALTH_LUA_KEY};
use super::resource::{HOOK_DELETE_POLICY, SYNC_OPTIONS};
use super::run::{self, Kind};
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::Locator;
use crate::output::object::Object;
use crate::scope::ScopeRef;
use crate::values::key_path::KeyPath;

pub const HEALTH_CYCLE: &str = "sync-health-cycle";
pub const REPLACE_JOB: &str = "sync-replace-job";
pub const HOOK_DELETE: &str = "sync-hook-delete-policy";
pub const CRD_ORDER: &str = "sync-crd-order";
pub const WAIT_ORDER: &str = "sync-wait-order";
pub const WAIT_CYCLE: &str = "sync-wait-cycle";

/// Every sync finding of a build.
pub fn check(model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut findings = cycles(model, locator);
    findings.extend(wait_cycles(model, locator));
    for app in &model.applications {
        findings.extend(jobs_and_hooks(app, locator));
    }
    for sync in run::runs(model).iter().filter(|sync| sync.kind == Kind::First) {
        for stop in &sync.stops {
            let object = model.application(&stop.app).and_then(|app| {
                app.managed.iter().find(|m| m.object.identity.to_string() == stop.object).map(|m| m.object)
            });
            let Some(object) = object else { continue };
            match stop.code {
                CRD_ORDER => findings.push(locator.finding(object, CRD_ORDER, Severity::Error, "", stop.message.clone()).with_help(
                    "give the custom resource a later sync wave than the Application that installs its CRD (in the same parent), or move it into that Application",
                )),
                WAIT_ORDER => {
                    let finding = at_flow(
                        locator
                            .finding(object, WAIT_ORDER, Severity::Error, "", stop.message.clone())
                            .with_help("sync the waited-for workload in the same or an earlier wave (its namespace's `syncWave`), or drop `waitBeforeStart` and let the pods retry"),
                        locator,
                        object,
                        stop.flow,
                    );
                    if !findings.contains(&finding) {
                        findings.push(finding);
                    }
                }
                _ => {}
            }
        }
    }
    findings
}

fn cycles(model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    for cycle in health::Graph::new(model).cycles {
        let (Some(first), Some(last)) = (cycle.first(), cycle.iter().rev().nth(1)) else { continue };
        let Some(app) = model.application(first) else { continue };
        let mut finding = locator.finding(app.object, HEALTH_CYCLE, Severity::Error, "", run::cycle_message(&cycle)).with_help(format!(
            "annotate Application `{first}` with `argocd.argoproj.io/ignore-healthcheck: \"true\"` so `{last}` no longer takes its health from it, or stop managing `{first}` from `{last}`"
        ));
        if let Some(lua) = &model.health_lua {
            let key = KeyPath::root()
                .key("components")
                .key(lua.component.clone())
                .key("values")
                .key("configs")
                .key("cm")
                .key(HEALTH_LUA_KEY);
            if let Some(span) = locator.span(&ScopeRef::Cluster, &key) {
                finding.span = Some(span);
            }
        }
        findings.push(finding);
    }
    findings
}

/// Each cycle of waits once, from its least workload.
fn wait_cycles(model: &Model, locator: &Locator) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    for start in model.waits.keys() {
        let Some(cycle) = wait_cycle(model, start) else { continue };
        if cycle.iter().any(|member| reported.contains(member)) {
            continue;
        }
        reported.extend(cycle.iter().cloned());
        // Any rendered controller of it: a cycle deadlocks whether Argo CD syncs it or not.
        let Some(object) = model.objects.iter().find(|object| run::controller_of(object).as_ref() == Some(start))
        else {
            continue;
        };
        let names: Vec<String> = cycle.iter().chain(cycle.first()).map(|(ns, name)| format!("{ns}/{name}")).collect();
        let message = format!(
            "workloads wait for each other before they start (`waitBeforeStart`): {}; none of their pods ever starts",
            names.join(" → ")
        );
        let finding = locator
            .finding(object, WAIT_CYCLE, Severity::Error, "", message)
            .with_help("drop `waitBeforeStart` from one flow of the cycle and let that workload retry its connection");
        let next = cycle.get(1).unwrap_or(start);
        let flow = model.waits.get(start).and_then(|waits| waits.iter().find(|w| &w.service == next)).map(|w| w.flow);
        findings.push(at_flow(finding, locator, object, flow));
    }
    findings
}

/// `finding`, pointing at the `waitBeforeStart` of flow `flow` of the
/// object's workload when there is one.
fn at_flow(mut finding: Diagnostic, locator: &Locator, object: &Object, flow: Option<usize>) -> Diagnostic {
    let at = flow.map(|flow| KeyPath::root().key("flows").index(flow).key("waitBeforeStart"));
    if let Some(span) = at.and_then(|at| locator.span(&object.origin.scope, &at)) {
        finding.span = Some(span);
    }
    finding
}

/// The cycle of waits through `start`, if it is on one: `start` first, then
/// each workload it waits for in turn (each wait target followed in flow
/// order, depth first).
fn wait_cycle(model: &Model, start: &(String, String)) -> Option<Vec<(String, String)>> {
    let mut path = vec![start.clone()];
    let mut visited: BTreeSet<(String, String)> = BTreeSet::new();
    fn walk(
        model: &Model,
        start: &(String, String),
        path: &mut Vec<(String, String)>,
        visited: &mut BTreeSet<(String, String)>,
    ) -> bool {
        let Some(current) = path.last().cloned() else { return false };
        for wait in model.waits.get(&current).into_iter().flatten() {
            if &wait.service == start {
                return true;
            }
            if visited.insert(wait.service.clone()) {
                path.push(wait.service.clone());
                if walk(model, start, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(model, start, &mut path, &mut visited).then_some(path)
}

fn jobs_and_hooks(app: &Application, locator: &Locator) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    for task in &app.managed {
        if run::replaced_job(app, task) {
            let field = format!("metadata.annotations.\"{SYNC_OPTIONS}\"");
            findings.push(
                locator.finding(task.object, REPLACE_JOB, Severity::Error, field, run::replace_message(app, task)).with_help(
                    "drop Replace/Force: run a one-off Job as a hook (`argocd.argoproj.io/hook: PostSync` with `hook-delete-policy: HookSucceeded` runs on every sync too) or keep it out of the synced set with `argocd.argoproj.io/hook: Skip` and create it by hand",
                ),
            );
        }
        if task.annotations.is_hook() && task.annotations.delete_policies.is_empty() {
            let message = format!(
                "hook {} ({}) has no `{HOOK_DELETE_POLICY}`: Argo CD assumes BeforeHookCreation, so the finished hook stays in the cluster until the next sync",
                task.object.identity,
                task.annotations.hooks.join(",")
            );
            findings.push(
                locator
                    .finding(task.object, HOOK_DELETE, Severity::Warning, "metadata.annotations", message)
                    .with_help(format!("set `{HOOK_DELETE_POLICY}: HookSucceeded` (or `BeforeHookCreation` to keep it for inspection on purpose)")),
            );
        }
    }
    findings
}

/// `sync` without the `sync-crd-order` findings about objects the
/// `crd-sync-order` policy (wave order) already reports.
pub fn without_duplicates(sync: Vec<Diagnostic>, existing: &[Diagnostic]) -> Vec<Diagnostic> {
    let reported = |finding: &Diagnostic| {
        existing.iter().any(|other| {
            other.code == crate::validate::policy::CRD_SYNC_ORDER
                && other.object.as_ref().map(|o| &o.identity) == finding.object.as_ref().map(|o| &o.identity)
        })
    };
    sync.into_iter().filter(|finding| finding.code != CRD_ORDER || !reported(finding)).collect()
}
