//! A first sync and a day-2 sync of each root Application, simulated step by
//! step: each Application's steps in order ([`super::order`]), the child
//! Applications a step creates (synced inside it when the step waits on
//! their health, afterwards when it does not), what each step waits on, and
//! the stops: a health cycle, a custom resource whose CRD is not installed
//! yet (first sync), a workload waited on whose pods wait for a workload not
//! applied yet (first sync), a Job re-created by `Replace`/`Force` (day 2).
//!
//! A pod with a `waitBeforeStart` flow starts only once the Service it waits
//! for has a ready pod ([`crate::render::waits`]), so its controller is not
//! Healthy before that: a step that waits on it can end only if the
//! waited-for workload is applied by then, in this step or an earlier one,
//! or belongs to an Application that exists by then (Argo CD syncs every
//! Application on its own once it exists). Otherwise the sync stops there
//! (`sync-wait-order`): a Deployment turns Degraded once it passes its
//! progress deadline (`progressDeadlineSeconds`, 600 s by default) and the
//! sync fails; a StatefulSet or DaemonSet has no deadline and stays
//! Progressing (gitops-engine `pkg/health/health_deployment.go`,
//! `health_statefulset.go`, `health_daemonset.go`).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::crds;
use super::health;
use super::model::{is_application, Application, Managed, Model};
use super::order::{self, Health};
use crate::output::object::Object;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    First,
    Day2,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::First => "first sync",
            Kind::Day2 => "day-2 sync",
        }
    }
}

/// One step of one Application's sync.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Nesting: 0 for the root's steps, 1 for a child's inside them, ...
    pub depth: usize,
    pub app: String,
    pub phase: &'static str,
    pub wave: i64,
    /// `Kind namespace/name` of every task, in order.
    pub objects: Vec<String>,
    /// What the step waits on before the next one starts.
    pub waits_on: Vec<String>,
    /// Why a child Application's sync is shown where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a sync stops, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stop {
    /// The finding code (`sync-health-cycle`, `sync-crd-order`, `sync-replace-job`).
    pub code: &'static str,
    /// Index of the step it stops at in `steps`.
    pub step: usize,
    pub app: String,
    pub message: String,
    /// The object concerned, `Kind namespace/name`.
    pub object: String,
    /// For `sync-wait-order`: the index of the waiting flow in the
    /// workload's `flows`, where the finding points.
    #[serde(skip)]
    pub flow: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    pub kind: Kind,
    pub root: String,
    pub steps: Vec<StepRecord>,
    /// Every stop, in order; the sync stops at the first.
    pub stops: Vec<Stop>,
}

impl SyncRun {
    pub fn completes(&self) -> bool {
        self.stops.is_empty()
    }
}

/// The first and day-2 sync of every root Application, roots in model order.
pub fn runs(model: &Model) -> Vec<SyncRun> {
    let graph = health::Graph::new(model);
    let controllers = controllers(model);
    let mut runs = Vec::new();
    for root in model.roots() {
        for kind in [Kind::First, Kind::Day2] {
            let mut sim = Sim {
                model,
                graph: &graph,
                kind,
                steps: Vec::new(),
                stops: Vec::new(),
                synced: BTreeSet::new(),
                completed: BTreeSet::new(),
                providers: HashMap::new(),
                applied: BTreeSet::new(),
                created: BTreeSet::from([root.name.clone()]),
                controllers: &controllers,
            };
            sim.sync(root, 0, None);
            runs.push(SyncRun { kind, root: root.name.clone(), steps: sim.steps, stops: sim.stops });
        }
    }
    runs
}

struct Sim<'m, 'b> {
    model: &'m Model<'b>,
    graph: &'m health::Graph,
    kind: Kind,
    steps: Vec<StepRecord>,
    stops: Vec<Stop>,
    /// Applications whose sync has started (each syncs once per run).
    synced: BTreeSet<String>,
    /// Applications a finished step waited on: healthy from then on.
    completed: BTreeSet<String>,
    /// Per custom group and kind: the Applications whose charts install its
    /// CRD, or `None` when k3s or a bootstrap HelmChart does (computed once).
    providers: HashMap<(String, String), Option<Vec<String>>>,
    /// Workload controllers applied so far, `(namespace, workload)`.
    applied: BTreeSet<(String, String)>,
    /// Applications whose Application object exists so far.
    created: BTreeSet<String>,
    /// Each workload controller's Application, `(namespace, workload)` → name.
    controllers: &'m HashMap<(String, String), String>,
}

impl<'m, 'b> Sim<'m, 'b> {
    /// Simulates `app`'s sync, its children inside or after it.
    fn sync(&mut self, app: &'m Application<'b>, depth: usize, mut note: Option<String>) {
        self.synced.insert(app.name.clone());
        let steps = order::steps(app);
        if steps.is_empty() {
            self.steps.push(StepRecord {
                depth,
                app: app.name.clone(),
                phase: "Sync",
                wave: 0,
                objects: app
                    .charts
                    .iter()
                    .map(|c| format!("chart {} {}", c.chart, c.version.as_deref().unwrap_or("(no version)")))
                    .collect(),
                waits_on: Vec::new(),
                note: note.take(),
            });
            return;
        }
        let multi_step = steps.len() > 1;
        let own_crds: BTreeSet<(String, String)> = app.managed.iter().filter_map(order::crd_defines).collect();
        let lua = self.model.health_lua.is_some();
        let mut later: Vec<&'m Application<'b>> = Vec::new();
        for step in &steps {
            let index = self.steps.len();
            let mut waits_on = Vec::new();
            let mut children = Vec::new();
            for task in &step.tasks {
                if let Some(workload) = controller(task) {
                    self.applied.insert(workload);
                }
                if is_application(&task.object.identity) {
                    self.created.insert(task.object.identity.name.clone());
                }
            }
            for task in &step.tasks {
                let identity = &task.object.identity;
                // Without the Lua no step waits on an Application: the order is the retries'.
                if self.kind == Kind::First && lua {
                    self.check_crd(app, &own_crds, task, index);
                }
                let health = order::health(&identity.group, &identity.kind, lua);
                if self.kind == Kind::Day2 && replaced_job(app, task) {
                    self.stop("sync-replace-job", index, app, task, replace_message(app, task));
                }
                if is_application(identity) {
                    if let Some(child) = self.model.application(&identity.name) {
                        if child.name != app.name && !self.synced.contains(&child.name) {
                            let waited = multi_step && health == Health::Application;
                            if waited {
                                children.push(child)
                            } else {
                                later.push(child)
                            }
                        }
                    }
                }
                if multi_step || task.annotations.is_hook() {
                    if let Some(wait) = wait_text(health, task) {
                        waits_on.push(wait);
                        if self.kind == Kind::First {
                            self.check_waits(app, task, index);
                        }
                    }
                }
            }
            self.steps.push(StepRecord {
                depth,
                app: app.name.clone(),
                phase: step.phase.as_str(),
                wave: step.wave,
                objects: step.tasks.iter().map(|t| short(t)).collect(),
                waits_on,
                note: note.take(),
            });
            for child in children {
                let child_index = self.model.position(&child.name);
                if let Some(cycle) = child_index.and_then(|i| self.graph.ungrounded(i)).cloned() {
                    let task = step
                        .tasks
                        .iter()
                        .find(|t| t.object.identity.name == child.name && is_application(&t.object.identity));
                    if let Some(task) = task {
                        self.stop("sync-health-cycle", index, app, task, cycle_message(&cycle));
                    }
                }
                self.sync(child, depth + 1, Some(format!("inside {} wave {}", app.name, step.wave)));
            }
            for task in step.tasks.iter().filter(|t| is_application(&t.object.identity)) {
                // Healthy means every Application whose health it takes is Healthy too.
                if multi_step && lua {
                    for index in self
                        .model
                        .position(&task.object.identity.name)
                        .map(|i| self.graph.subtree(i))
                        .unwrap_or_default()
                    {
                        if let Some(done) = self.model.applications.get(index) {
                            self.completed.insert(done.name.clone());
                        }
                    }
                }
            }
        }
        for child in later {
            if !self.synced.contains(&child.name) {
                let why = if lua { "one-wave sync" } else { "no Application health check" };
                self.sync(child, depth + 1, Some(format!("after {}, not waited on: {why}", app.name)));
            }
        }
    }

    /// A custom resource whose CRD no Application synced before this one installs.
    fn check_crd(
        &mut self,
        app: &'m Application<'b>,
        own_crds: &BTreeSet<(String, String)>,
        task: &Managed,
        index: usize,
    ) {
        let identity = &task.object.identity;
        if !crds::is_custom(&identity.group) || crds::k3s_serves(&identity.group, &identity.kind) {
            return;
        }
        let key = (identity.group.clone(), identity.kind.clone());
        if own_crds.contains(&key) {
            return;
        }
        let model = self.model;
        let providers = self.providers.entry(key).or_insert_with_key(|(group, kind)| {
            if crds::k3s_serves(group, kind) || bootstrap_installs(model, group, kind) {
                return None;
            }
            let installs =
                |p: &&Application| p.charts.iter().any(|c| crds::chart_installs(&c.chart, &c.repo_url, group, kind));
            Some(model.applications.iter().filter(installs).map(|p| p.name.clone()).collect())
        });
        let Some(providers) = providers.clone() else { return };
        if providers.is_empty() || providers.contains(&app.name) {
            return;
        }
        if !providers.iter().any(|p| self.completed.contains(p)) {
            let names: Vec<String> = providers.iter().map(|p| format!("`{p}`")).collect();
            let message =
                format!(
                "{} in Application `{}` (wave {}) is synced before Application {}, which installs its CRD, is Healthy",
                identity, app.name, task.annotations.wave, names.join(", ")
            );
            self.stop("sync-crd-order", index, app, task, message);
        }
    }

    /// A waited-on controller whose pods wait for a workload that is not
    /// applied yet and whose Application does not exist yet.
    fn check_waits(&mut self, app: &Application, task: &Managed, index: usize) {
        let Some(workload) = controller(task) else { return };
        let Some(waits) = self.model.waits.get(&workload) else { return };
        for wait in waits {
            if self.applied.contains(&wait.service) {
                continue;
            }
            let Some(owner) = self.controllers.get(&wait.service) else { continue };
            if *owner != app.name && self.created.contains(owner) {
                continue;
            }
            let (namespace, name) = &wait.service;
            let later = if *owner == app.name {
                format!("in a later wave of Application `{owner}`")
            } else {
                format!("by Application `{owner}`, which this sync creates only later")
            };
            let end = if task.object.identity.kind == "Deployment" {
                "the sync fails when the Deployment passes its progress deadline"
            } else {
                "the sync waits until someone ends it"
            };
            let message = format!(
                "{} waits for {namespace}/{name} before its pods start (`waitBeforeStart`), but {namespace}/{name} is applied {later}: this step never becomes Healthy, and {end}",
                short(task)
            );
            let object = task.object.identity.to_string();
            let flow = Some(wait.flow);
            self.push(Stop { code: "sync-wait-order", step: index, app: app.name.clone(), message, object, flow });
        }
    }

    fn stop(&mut self, code: &'static str, step: usize, app: &Application, task: &Managed, message: String) {
        let object = task.object.identity.to_string();
        self.push(Stop { code, step, app: app.name.clone(), message, object, flow: None });
    }

    fn push(&mut self, stop: Stop) {
        if !self.stops.contains(&stop) {
            self.stops.push(stop);
        }
    }
}

/// The workload of a task that runs long-lived pods Argo CD waits on.
fn controller(task: &Managed) -> Option<(String, String)> {
    controller_of(task.object)
}

/// The workload whose long-lived pods `object` runs (a Deployment,
/// StatefulSet or DaemonSet rendered for it).
pub fn controller_of(object: &Object) -> Option<(String, String)> {
    let identity = &object.identity;
    let runs_pods =
        identity.group == "apps" && matches!(identity.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet");
    let (namespace, name) = object.origin.scope.workload()?;
    runs_pods.then(|| (namespace.to_string(), name.to_string()))
}

/// Which Application syncs each workload's controller.
fn controllers(model: &Model) -> HashMap<(String, String), String> {
    let mut found = HashMap::new();
    for app in &model.applications {
        for task in &app.managed {
            if let Some(workload) = controller(task) {
                found.entry(workload).or_insert_with(|| app.name.clone());
            }
        }
    }
    found
}

/// Whether a `bootstrap` HelmChart (k3s installs it before Argo CD runs) installs the CRD.
fn bootstrap_installs(model: &Model, group: &str, kind: &str) -> bool {
    model.applications.iter().flat_map(|app| &app.managed).any(|m| {
        let identity = &m.object.identity;
        identity.group == "helm.cattle.io" && identity.kind == "HelmChart" && {
            let spec = m.object.value.get("spec");
            let chart = spec.and_then(|s| s.get("chart")).and_then(|c| c.as_str()).unwrap_or_default();
            let repo = spec.and_then(|s| s.get("repo")).and_then(|c| c.as_str()).unwrap_or_default();
            crds::chart_installs(chart, repo, group, kind)
        }
    })
}

/// A Job or CronJob Argo CD deletes and re-creates on every sync.
pub fn replaced_job(app: &Application, task: &Managed) -> bool {
    let identity = &task.object.identity;
    identity.group == "batch"
        && matches!(identity.kind.as_str(), "Job" | "CronJob")
        && !task.annotations.is_hook()
        && (task.annotations.option("Replace") || task.annotations.option("Force") || app.option("Replace"))
}

pub fn replace_message(app: &Application, task: &Managed) -> String {
    let options: Vec<&str> = ["Force", "Replace"]
        .into_iter()
        .filter(|o| task.annotations.option(o) || (*o == "Replace" && app.option(o)))
        .collect();
    let options = options.iter().map(|o| format!("{o}=true")).collect::<Vec<_>>().join(",");
    let identity = &task.object.identity;
    if identity.kind == "Job" {
        format!("{identity} carries {options}: every sync of Application `{}` deletes and re-creates it, re-running it, and waits until it completes", app.name)
    } else {
        format!("{identity} carries {options}: every sync of Application `{}` deletes and re-creates it, with the Jobs it started", app.name)
    }
}

pub fn cycle_message(cycle: &[String]) -> String {
    format!(
        "Applications {} take their health from each other through the Application health Lua: a sync that waits on one never ends",
        cycle.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(" → ")
    )
}

fn wait_text(health: Health, task: &Managed) -> Option<String> {
    let what = short(task);
    Some(match health {
        Health::None if task.annotations.is_hook() => format!("{what} (hook) to finish"),
        Health::None => return None,
        // A Service is Healthy at once unless it waits for a load balancer (health_service.go).
        Health::Healthy if task.object.identity.kind == "Service" && !load_balancer(task) => return None,
        Health::Healthy => format!("{what} Healthy"),
        Health::JobComplete => format!("{what} Complete"),
        Health::Decrypted => format!("{what} decrypted"),
        Health::Application => format!("{what} Healthy"),
    })
}

fn load_balancer(task: &Managed) -> bool {
    let kind = task.object.value.get("spec").and_then(|spec| spec.get("type")).and_then(|t| t.as_str());
    kind == Some("LoadBalancer")
}

/// `Kind name` or `Kind namespace/name`, without the group.
fn short(task: &Managed) -> String {
    let identity = &task.object.identity;
    match &identity.namespace {
        Some(namespace) if namespace != "argocd" || identity.group != super::model::GROUP => {
            format!("{} {namespace}/{}", identity.kind, identity.name)
        }
        _ => format!("{} {}", identity.kind, identity.name),
    }
}
