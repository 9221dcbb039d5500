//! Plan stage: simulates the scheduler over the declared nodes with what is
//! rendered, in four kinds of scenario — steady state, every HPA at
//! `maxReplicas`, each Deployment/StatefulSet rolling out alone, and each node
//! lost in turn — and reports a per-node table and per-workload verdicts.
//! Steady state not fitting and rollouts that can never complete are errors;
//! HPA-max and node-loss shortfalls are warnings. Entry point: [`plan`].
//! Nodes, workloads, resource amounts and placement rules come from the
//! shared model in `crate::kube`; this module keeps the simulation
//! ([`schedule`]) and how it prints ([`report`]).
//!
//! Cost: a pod that cannot be placed leaves the state unchanged, so the
//! remaining identical pods of that workload would fail the same way; they
//! are counted, not tried. The pods tried are thus bounded by what the nodes
//! hold, whatever a replica count says; values bound the counts before that
//! (`values::bounds`).

pub mod gpu;
pub(crate) mod report;
pub(crate) mod schedule;
pub(crate) mod usage;

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::build::Build;
use crate::diagnostic::{Diagnostic, Severity};
use crate::finding::{plural, Findings, Locator};
use crate::kube::nodes::{self, Node};
use crate::kube::resources::Amount;
use crate::kube::workloads::{self, Kind, Strategy, Workload};
use crate::network::flows::{self, Connectivity};
use schedule::{explain, Cluster, Peak, Reason, State, WhyNot};
use usage::Usage;

pub const STEADY: &str = "plan-steady";
pub const HPA_MAX: &str = "plan-hpa-max";
pub const ROLLOUT: &str = "plan-rollout";
pub const NODE_LOSS: &str = "plan-node-loss";

/// The whole simulation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub scenarios: Vec<Scenario>,
    /// The declared flows and whether the NetworkPolicies let them through.
    pub connectivity: Connectivity,
    /// Per node with GPUs: the GPU memory its pods use, steady and at the peak.
    pub gpu_memory: Vec<gpu::GpuMemory>,
    pub findings: Findings,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// `steady`, `hpa-max`, `rollout`, `rollout-hpa-max`, `node-loss`.
    pub kind: &'static str,
    pub title: String,
    pub ok: bool,
    pub verdict: String,
    /// Requested per node; for rollouts the peak during the rollout.
    pub nodes: Usage,
    pub workloads: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeUsage {
    pub node: String,
    pub lost: bool,
    pub allocatable: Amount,
    pub requested: Amount,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub workload: String,
    pub ok: bool,
    pub detail: String,
}

/// Simulates every scenario for the build.
pub fn plan(build: &Build) -> Plan {
    simulate(build, true)
}

/// Only the findings of [`plan`], for the checks every render runs: the
/// per-scenario node tables (one per rollout, a node row each) are not built.
pub fn findings(build: &Build) -> Findings {
    simulate(build, false).findings
}

fn simulate(build: &Build, detailed: bool) -> Plan {
    let declared = nodes::nodes(&build.values);
    let nodes: Vec<nodes::Node> = declared.iter().map(nodes::Node::for_workloads).collect();
    let workloads = workloads::workloads(build);
    let locator = Locator::new(build);
    let cluster = Cluster::new(&nodes, &workloads);
    let mut simulation = Simulation {
        cluster: &cluster,
        locator: &locator,
        detailed,
        findings: Vec::new(),
        scenarios: Vec::new(),
        gpu: gpu::Ledger::default(),
        baseline: OnceCell::new(),
    };
    let (mut state, pins, fits) = simulation.steady();
    simulation.hpa_max(&mut state, &pins, &fits);
    for (index, fits) in fits.iter().enumerate() {
        simulation.rollout(&mut state, &pins, index, *fits, None);
    }
    // Losing the only node is losing the cluster; there is nothing to learn.
    if nodes.len() > 1 {
        for node in 0..nodes.len() {
            simulation.node_loss(&mut state, &pins, node);
        }
    }
    let gpu_memory = simulation.gpu.rows(&cluster);
    let Simulation { mut findings, scenarios, .. } = simulation;
    let (connectivity, flow_findings) = flows::check(build, &locator);
    findings.extend(flow_findings);
    Plan { nodes: declared, scenarios, connectivity, gpu_memory, findings: Findings::new(findings) }
}

/// The scenario with every HPA at its maximum.
const HPA_MAX_TITLE: &str = "every HPA at maxReplicas";

/// Where the pods of a workload with node-local volumes must stay.
enum Pin {
    None,
    /// Every pod shares the volume on this node.
    All(usize),
    /// Pod `i` (StatefulSet ordinal) keeps the volume on `nodes[i]`.
    PerPod(Vec<usize>),
}

impl Pin {
    fn for_pod(&self, ordinal: usize) -> Option<usize> {
        match self {
            Pin::None => None,
            Pin::All(node) => Some(*node),
            Pin::PerPod(nodes) => nodes.get(ordinal).copied(),
        }
    }
}

/// The node each shared node-local claim is bound to, in steady state. A
/// local-path claim binds where its first pod runs (`WaitForFirstConsumer`;
/// local-path-provisioner's README): every later pod of any workload that
/// mounts it must run on that node, or stays Pending.
struct BoundClaims<'a> {
    cluster: &'a Cluster<'a>,
    nodes: BTreeMap<(&'a str, &'a str), usize>,
}

impl<'a> BoundClaims<'a> {
    fn new(cluster: &'a Cluster<'a>) -> Self {
        BoundClaims { cluster, nodes: BTreeMap::new() }
    }

    /// The node `workload`'s next pod must run on, if a claim it mounts is
    /// bound; why it can run nowhere when its claims are bound to two nodes.
    fn node_for(&self, workload: &'a Workload) -> Result<Option<usize>, WhyNot> {
        let mut pinned: Option<(usize, &str)> = None;
        for claim in &workload.shared_local_claims {
            let Some(&node) = self.nodes.get(&(workload.namespace.as_str(), claim.as_str())) else { continue };
            match pinned {
                Some((other, _)) if other != node => {
                    let name = |index: usize| self.cluster.nodes.get(index).map(|n| n.name.clone()).unwrap_or_default();
                    let claims = vec![claim.clone()];
                    return Err(vec![(name(other), Reason::Pinned { claims, node: name(node) })]);
                }
                _ => pinned = Some((node, claim)),
            }
        }
        Ok(pinned.map(|(node, _)| node))
    }

    fn bind(&mut self, workload: &'a Workload, node: usize) {
        for claim in &workload.shared_local_claims {
            self.nodes.entry((workload.namespace.as_str(), claim.as_str())).or_insert(node);
        }
    }
}

struct Simulation<'a> {
    cluster: &'a Cluster<'a>,
    locator: &'a Locator<'a>,
    /// Whether scenarios are recorded for the report, or only findings made.
    detailed: bool,
    findings: Vec<Diagnostic>,
    scenarios: Vec<Scenario>,
    gpu: gpu::Ledger,
    /// The first table recorded (steady state's), which the others are kept as changes of.
    baseline: OnceCell<Arc<[NodeUsage]>>,
}

impl<'a> Simulation<'a> {
    fn record(&mut self, scenario: impl FnOnce(&Self) -> Scenario) {
        if self.detailed {
            let scenario = scenario(self);
            self.scenarios.push(scenario);
        }
    }

    /// The workload at `index`; every index the simulation uses comes from
    /// `cluster.order` or an enumeration of `cluster.workloads`.
    fn workload(&self, index: usize) -> Option<&'a Workload<'a>> {
        let cluster: &'a Cluster<'a> = self.cluster;
        cluster.workloads.get(index)
    }

    fn usage(&self, state: &State) -> Usage {
        Usage::of(self.baseline.get_or_init(|| usage::table(self.cluster.nodes, state)), state)
    }

    fn placed(&self, state: &State, workload: usize) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for &node in state.pods_of(workload) {
            let Some(node) = self.cluster.nodes.get(node) else { continue };
            let name = &node.name;
            match counts.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += 1,
                None => counts.push((name.clone(), 1)),
            }
        }
        counts.sort();
        counts.iter().map(|(node, count)| format!("{count} on {node}")).collect::<Vec<_>>().join(", ")
    }

    fn finding(&self, workload: &Workload, id: &str, severity: Severity, path: &str, message: String) -> Diagnostic {
        self.locator.finding(workload.object, id, severity, path, message)
    }

    /// Every workload at its minimum; returns the state, volume pins and which workloads fit.
    fn steady(&mut self) -> (State, Vec<Pin>, Vec<bool>) {
        let cluster = self.cluster;
        let mut state = State::new(cluster);
        let mut pending: Vec<(usize, WhyNot)> = vec![(0, Vec::new()); cluster.workloads.len()];
        let mut wanted = vec![0usize; cluster.workloads.len()];
        let mut bound = BoundClaims::new(cluster);
        for &index in &cluster.order {
            let (Some(workload), Some((missing, why_not)), Some(wanted_pods)) =
                (self.workload(index), pending.get_mut(index), wanted.get_mut(index))
            else {
                continue;
            };
            if workload.kind == Kind::DaemonSet {
                let eligible: Vec<usize> = cluster.eligible(index).collect();
                *wanted_pods = eligible.len();
                for node in eligible {
                    if let Err(why) = cluster.place(&mut state, index, Some(node)) {
                        let name = cluster.nodes.get(node).map(|node| &node.name);
                        let only: WhyNot = why.into_iter().filter(|(other, _)| Some(other) == name).collect();
                        *missing += 1;
                        why_not.extend(only);
                    }
                }
                continue;
            }
            *wanted_pods = workload.replicas as usize;
            for placed in 0..workload.replicas {
                let placement = match bound.node_for(workload) {
                    Ok(pin) => cluster.place(&mut state, index, pin),
                    Err(why) => Err(why),
                };
                match placement {
                    Ok(node) => bound.bind(workload, node),
                    Err(why) => {
                        // A failed placement changes nothing, so every further
                        // pod of the workload fails the same way: count, don't try.
                        *missing = (workload.replicas - placed) as usize;
                        *why_not = why;
                        break;
                    }
                }
            }
        }
        let mut verdicts = Vec::new();
        let mut fits = Vec::new();
        for ((index, workload), ((missing, why), wanted)) in
            cluster.workloads.iter().enumerate().zip(pending.iter().zip(&wanted))
        {
            fits.push(*missing == 0);
            let placed = self.placed(&state, index);
            if *missing == 0 {
                let detail = if *wanted == 0 { "no pods".to_string() } else { placed };
                verdicts.push(Verdict { workload: workload.describe(), ok: true, detail });
                continue;
            }
            let message = format!("{missing} of {wanted} pods cannot be scheduled in steady state: {}", explain(why));
            let template =
                crate::kube::PodTemplate::of(workload.object).map(|t| t.path.to_string()).unwrap_or_default();
            self.findings.push(
                self.finding(workload, STEADY, Severity::Error, &template, message.clone()).with_help(
                    "lower its requests or replicas, relax its node selection, or declare more node capacity",
                ),
            );
            verdicts.push(Verdict { workload: workload.describe(), ok: false, detail: message });
        }
        let failing = fits.iter().filter(|ok| !**ok).count();
        self.record(|simulation| Scenario {
            kind: "steady",
            title: "steady state".into(),
            ok: failing == 0,
            verdict: if failing == 0 {
                "fits".into()
            } else {
                format!("{failing} {} not fit", plural(failing, "workload does", "workloads do"))
            },
            nodes: simulation.usage(&state),
            workloads: verdicts,
        });
        self.findings.extend(gpu::undeclared(cluster, &state, self.locator));
        self.findings.extend(gpu::overflows(cluster, &state, self.locator, "steady state", Severity::Error, None));
        self.gpu.steady(cluster, &state);
        let pins = cluster
            .workloads
            .iter()
            .enumerate()
            .map(|(index, workload)| match (workload.local_claims.is_empty(), workload.kind) {
                (true, _) => Pin::None,
                (false, Kind::StatefulSet) => Pin::PerPod(state.pods_of(index).to_vec()),
                (false, _) => state.pods_of(index).first().map_or(Pin::None, |node| Pin::All(*node)),
            })
            .collect();
        (state, pins, fits)
    }

    /// Every HPA at its maximum, then each rollout from there: a surge that
    /// fits beside the steady state may not fit beside the scaled-out pods.
    fn hpa_max(&mut self, state: &mut State, pins: &[Pin], fits: &[bool]) {
        let cluster = self.cluster;
        let mark = state.mark();
        let before = gpu::Peak::of(cluster, state);
        let mut verdicts = Vec::new();
        let mut short = 0;
        for &index in &cluster.order {
            let Some(workload) = self.workload(index) else { continue };
            let Some((hpa, max)) = workload.hpa else { continue };
            let extra = max.saturating_sub(workload.replicas);
            let mut missing = 0;
            let mut last_why = Vec::new();
            // New StatefulSet ordinals get new volumes; a shared volume stays put.
            let pin = match pins.get(index) {
                Some(Pin::All(node)) => Some(*node),
                _ => None,
            };
            for placed in 0..extra {
                if let Err(why) = cluster.place(state, index, pin) {
                    missing = extra - placed;
                    last_why = why;
                    break;
                }
            }
            if missing == 0 {
                verdicts.push(Verdict {
                    workload: workload.describe(),
                    ok: true,
                    detail: format!("{max} pods: {}", self.placed(state, index)),
                });
                continue;
            }
            short += 1;
            let message = format!(
                "at maxReplicas {max}, {missing} of {max} pods of {} cannot be scheduled: {}",
                workload.describe(),
                explain(&last_why)
            );
            self.findings.push(
                self.locator
                    .finding(hpa, HPA_MAX, Severity::Warning, "spec.maxReplicas", message.clone())
                    .with_help("lower maxReplicas to what the nodes can hold, or lower the pods' requests"),
            );
            verdicts.push(Verdict { workload: workload.describe(), ok: false, detail: message });
        }
        verdicts.sort_by(|a, b| a.workload.cmp(&b.workload));
        let verdicts_empty = verdicts.is_empty();
        self.record(|simulation| Scenario {
            kind: "hpa-max",
            title: HPA_MAX_TITLE.into(),
            ok: short == 0,
            verdict: match (verdicts.len(), short) {
                (0, _) => "no HPAs".into(),
                (_, 0) => "fits".into(),
                (_, short) => {
                    format!("{short} {} not reach maxReplicas", plural(short, "workload does", "workloads do"))
                }
            },
            nodes: simulation.usage(state),
            workloads: verdicts,
        });
        self.findings.extend(gpu::overflows(
            cluster,
            state,
            self.locator,
            HPA_MAX_TITLE,
            Severity::Error,
            Some(&before),
        ));
        self.findings.extend(gpu::hpa_on_one_gpu(cluster, state, self.locator));
        self.gpu.observe(cluster, state, HPA_MAX_TITLE);
        if !verdicts_empty {
            for (index, fits) in fits.iter().enumerate() {
                self.rollout(state, pins, index, *fits, Some(HPA_MAX_TITLE));
            }
        }
        state.undo(cluster, mark);
    }

    /// One rollout from the current state: steady (`at` is `None`), or the
    /// scenario named by `at`.
    fn rollout(&mut self, state: &mut State, pins: &[Pin], index: usize, fits: bool, at: Option<&str>) {
        let cluster = self.cluster;
        let Some(workload) = self.workload(index) else { return };
        if !matches!(workload.kind, Kind::Deployment | Kind::StatefulSet) || workload.replicas == 0 || !fits {
            return;
        }
        let mark = state.mark();
        let mut peak = Peak::new(state);
        let title = match at {
            None => format!("rollout of {}", workload.describe()),
            Some(at) => format!("rollout of {} with {at}", workload.describe()),
        };
        // Only what the rollout adds: the starting state's own overflow is reported by its scenario.
        let before = gpu::Peak::of(cluster, state);
        let mut gpu_peak = gpu::Peak::of(cluster, state);
        let outcome = match workload.strategy {
            Strategy::OnDelete => Ok("pods are replaced by hand (OnDelete)".to_string()),
            Strategy::Recreate => self.recreate(state, pins, index),
            Strategy::OneAtATime => self.one_at_a_time(state, pins, index),
            Strategy::Rolling { surge, unavailable } => {
                self.rolling(state, pins, index, (surge, unavailable), &mut peak, &mut gpu_peak)
            }
        };
        // With every HPA at its maximum, a node the HPAs left as in steady
        // state gives the same overflow as the rollout from steady state.
        let reported = match at {
            Some(_) => before.same_nodes(self.gpu.steady_tenants()),
            None => Default::default(),
        };
        let gpu_peak = gpu_peak.without(&reported);
        self.findings.extend(gpu_peak.overflows(cluster, self.locator, &title, Severity::Error, Some(&before)));
        self.gpu.observe_peak(cluster, &gpu_peak, &title);
        let (ok, detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(message) => {
                let message = match at {
                    None => message,
                    Some(at) => format!("with {at}: {message}"),
                };
                let path = if workload.kind == Kind::StatefulSet { "spec.updateStrategy" } else { "spec.strategy" };
                self.findings.push(
                    self.finding(workload, ROLLOUT, Severity::Error, path, message.clone()).with_help(
                        "use `strategy: {type: Recreate}` or `maxSurge: 0, maxUnavailable: 1`, or leave a spare slot (another node, or GPU time-slicing)",
                    ),
                );
                (false, message)
            }
        };
        // Recorded once undone: every node at what it requested before, raised to its peak.
        state.undo(cluster, mark);
        self.record(|simulation| {
            let mut nodes = simulation.usage(state);
            for (node, top) in peak.nodes() {
                if let Some(usage) = nodes.get_mut(node) {
                    usage.requested = usage.requested.max(top);
                }
            }
            Scenario {
                kind: if at.is_some() { "rollout-hpa-max" } else { "rollout" },
                title: match at {
                    None => format!("rollout of {} ({})", workload.describe(), describe_strategy(&workload.strategy)),
                    Some(at) => {
                        format!(
                            "rollout of {} with {at} ({})",
                            workload.describe(),
                            describe_strategy(&workload.strategy)
                        )
                    }
                },
                ok,
                verdict: if ok { "completes".into() } else { "never completes".into() },
                nodes,
                workloads: vec![Verdict { workload: workload.describe(), ok, detail }],
            }
        });
    }

    fn recreate(&self, state: &mut State, pins: &[Pin], index: usize) -> Result<String, String> {
        let cluster = self.cluster;
        for node in state.pods_of(index).to_vec() {
            state.remove(cluster, index, node);
        }
        for ordinal in 0..self.workload(index).map_or(0, |workload| workload.replicas as usize) {
            cluster.place(state, index, pins.get(index).and_then(|pin| pin.for_pod(ordinal))).map_err(|why| {
                format!(
                    "rollout can never complete: after the old pods stop, a new pod cannot be scheduled: {}",
                    explain(&why)
                )
            })?;
        }
        Ok("completes with downtime (Recreate)".into())
    }

    fn one_at_a_time(&self, state: &mut State, pins: &[Pin], index: usize) -> Result<String, String> {
        let cluster = self.cluster;
        let old = state.pods_of(index).to_vec();
        for (ordinal, &node) in old.iter().enumerate().rev() {
            state.remove(cluster, index, node);
            cluster.place(state, index, pins.get(index).and_then(|pin| pin.for_pod(ordinal))).map_err(|why| {
                format!("rollout can never complete: pod {ordinal} cannot be recreated: {}", explain(&why))
            })?;
        }
        Ok("completes, one pod at a time".into())
    }

    /// The Deployment controller's loop: scale the new ReplicaSet up to
    /// `replicas + surge` pods in total (Pending ones count), scale the old one
    /// down while `replicas - unavailable` pods stay available.
    fn rolling(
        &self,
        state: &mut State,
        pins: &[Pin],
        index: usize,
        (surge, unavailable): (u32, u32),
        peak: &mut Peak,
        gpu_peak: &mut gpu::Peak,
    ) -> Result<String, String> {
        let cluster = self.cluster;
        let replicas = self.workload(index).map_or(0, |workload| workload.replicas as usize);
        let (surge, unavailable) = (surge as usize, unavailable as usize);
        if surge == 0 && unavailable == 0 {
            return Err("rollout can never complete: maxSurge and maxUnavailable are both 0".into());
        }
        let pin = pins.get(index).and_then(|pin| pin.for_pod(0));
        let mut old: Vec<usize> = state.pods_of(index).to_vec();
        let (mut placed, mut pending) = (0usize, 0usize);
        let mut why: WhyNot = Vec::new();
        loop {
            let mut progress = false;
            let retry = pending;
            for _ in 0..retry {
                match cluster.place(state, index, pin) {
                    Ok(_) => {
                        pending -= 1;
                        placed += 1;
                        progress = true;
                    }
                    Err(reasons) => {
                        why = reasons;
                        break;
                    }
                }
            }
            let total = old.len() + placed + pending;
            let create = (replicas - placed - pending).min((replicas + surge).saturating_sub(total));
            for created in 0..create {
                match cluster.place(state, index, pin) {
                    Ok(_) => {
                        placed += 1;
                        progress = true;
                    }
                    Err(reasons) => {
                        // The rest fail the same way (nothing changed): all stay Pending.
                        pending += create - created;
                        why = reasons;
                        break;
                    }
                }
            }
            peak.look(state);
            // Only this workload's pods move: without GPU memory it changes no GPU's tenants.
            if self.workload(index).is_some_and(|workload| workload.gpu_memory_mib > 0) {
                gpu_peak.observe(cluster, state);
            }
            let removable = (old.len() + placed).saturating_sub(replicas.saturating_sub(unavailable)).min(old.len());
            for _ in 0..removable {
                // Prefer freeing a node that is only short of resources, where a Pending new pod would then fit.
                let choice = old
                    .iter()
                    .rposition(|&node| {
                        pending > 0
                            && matches!(cluster.reason(state, index, node), Some(schedule::Reason::Insufficient(_)))
                    })
                    .or(old.len().checked_sub(1));
                let Some(choice) = choice else { break };
                let node = old.remove(choice);
                state.remove(cluster, index, node);
                progress = true;
            }
            if placed == replicas && old.is_empty() {
                return Ok(format!("completes: new pods {}", self.placed(state, index)));
            }
            if !progress {
                return Err(format!(
                    "rollout can never complete: {pending} new pod(s) stay Pending ({}) and maxUnavailable {unavailable} keeps the {} old pod(s) running",
                    explain(&why),
                    old.len()
                ));
            }
        }
    }

    /// The only k3s server lost: no API server, scheduler or controllers, so
    /// nothing is rescheduled; pods elsewhere keep running as they were, with
    /// no cluster DNS if it ran there (k3s runs CoreDNS as one Deployment).
    fn control_plane_lost(&mut self, state: &mut State, lost: usize) {
        let cluster = self.cluster;
        let Some(node) = cluster.nodes.get(lost) else { return };
        let name = node.name.clone();
        let stranded = state.on_node(lost).iter().map(|(_, count)| *count as usize).sum::<usize>();
        let message = format!(
            "if node `{name}` is lost, the cluster is down: it is the only k3s server, so the API server, scheduler and controllers go with it and nothing is rescheduled ({stranded} of its pods stop until it returns); pods on other nodes keep running without the control plane"
        );
        let scope = crate::scope::ScopeRef::Node(name.clone());
        let mut finding = Diagnostic::new(Severity::Warning, NODE_LOSS, message.clone()).with_scope(scope.clone());
        finding.span = self.locator.span(&scope, &crate::values::key_path::KeyPath::root().key("role"));
        self.findings.push(finding.with_help(
            "accept it (one server is this cluster's design), or run three servers with embedded etcd for a control plane that survives one loss",
        ));
        self.record(|simulation| Scenario {
            kind: "node-loss",
            title: format!("node {name} lost"),
            ok: false,
            verdict: "cluster down: the only k3s server; nothing is rescheduled".into(),
            nodes: {
                let mut nodes = simulation.usage(state);
                if let Some(usage) = nodes.get_mut(lost) {
                    usage.lost = true;
                }
                nodes
            },
            workloads: Vec::new(),
        });
    }

    fn node_loss(&mut self, state: &mut State, pins: &[Pin], lost: usize) {
        let cluster = self.cluster;
        let Some(lost_node) = cluster.nodes.get(lost) else { return };
        let lost_name = lost_node.name.clone();
        let servers = cluster.nodes.iter().filter(|node| node.is_server()).count();
        if lost_node.is_server() && servers == 1 {
            self.control_plane_lost(state, lost);
            return;
        }
        let mark = state.mark();
        let before = gpu::Peak::of(cluster, state);
        state.set_down(lost);
        let displaced = state.on_node(lost);
        for &(workload, count) in &displaced {
            for _ in 0..count {
                state.remove(cluster, workload, lost);
            }
        }
        let mut verdicts = Vec::new();
        let mut short = 0;
        let mut displaced = displaced;
        displaced.sort_by_key(|(workload, _)| cluster.rank(*workload));
        for (index, count) in displaced {
            let Some(workload) = self.workload(index) else { continue };
            if workload.kind == Kind::DaemonSet {
                continue;
            }
            let pinned = match pins.get(index) {
                Some(Pin::All(node)) => *node == lost,
                Some(Pin::PerPod(nodes)) => nodes.contains(&lost),
                Some(Pin::None) | None => false,
            };
            let (mut missing, mut why, mut path) = (0, String::new(), "spec.template.spec");
            if workload.kind == Kind::StatefulSet && !pinned {
                // The StatefulSet controller creates a pod of the same identity
                // only once the old one is gone, and a pod on an unreachable
                // node is never confirmed gone: it waits for the node, or for the
                // node.kubernetes.io/out-of-service taint (Kubernetes docs,
                // "Non-graceful node shutdown handling").
                missing = count;
                why = format!(
                    "StatefulSet pods stay on `{lost_name}` until it returns or is tainted `node.kubernetes.io/out-of-service`"
                );
            } else if pinned {
                missing = count;
                why = format!(
                    "{} {} on node-local storage on `{lost_name}`",
                    plural_volume(workload.local_claims.len()),
                    workload.local_claims.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                );
                path = if workload.kind == Kind::StatefulSet {
                    "spec.volumeClaimTemplates"
                } else {
                    "spec.template.spec.volumes"
                };
            } else {
                for moved in 0..count {
                    if let Err(reasons) = cluster.place(state, index, None) {
                        missing = count - moved;
                        let others: WhyNot = reasons.into_iter().filter(|(node, _)| *node != lost_name).collect();
                        why = explain(&others);
                        break;
                    }
                }
            }
            if missing == 0 {
                verdicts.push(Verdict {
                    workload: workload.describe(),
                    ok: true,
                    detail: format!(
                        "{count} {}: {}",
                        plural(count as usize, "pod moves", "pods move"),
                        self.placed(state, index)
                    ),
                });
                continue;
            }
            short += 1;
            let message = format!(
                "if node `{lost_name}` is lost, {missing} of {count} displaced pods of {} cannot run: {why}",
                workload.describe()
            );
            let help = if pinned {
                "use the shared storage class for state that must survive a node, or accept the outage"
            } else {
                "leave headroom on the other nodes, or accept the outage"
            };
            self.findings
                .push(self.finding(workload, NODE_LOSS, Severity::Warning, path, message.clone()).with_help(help));
            verdicts.push(Verdict { workload: workload.describe(), ok: false, detail: message });
        }
        self.record(|simulation| Scenario {
            kind: "node-loss",
            title: format!("node {lost_name} lost"),
            ok: short == 0,
            verdict: if short == 0 {
                "everything still runs".into()
            } else {
                format!("{short} {} cannot run", plural(short, "workload", "workloads"))
            },
            nodes: simulation.usage(state),
            workloads: verdicts,
        });
        let scenario = format!("if node `{lost_name}` is lost");
        self.findings.extend(gpu::overflows(cluster, state, self.locator, &scenario, Severity::Warning, Some(&before)));
        self.gpu.observe(cluster, state, &scenario);
        state.undo(cluster, mark);
    }
}

fn plural_volume(count: usize) -> &'static str {
    if count == 1 {
        "its volume is"
    } else {
        "its volumes are"
    }
}

fn describe_strategy(strategy: &Strategy) -> String {
    match strategy {
        Strategy::Recreate => "Recreate".into(),
        Strategy::OnDelete => "OnDelete".into(),
        Strategy::OneAtATime => "RollingUpdate, one pod at a time".into(),
        Strategy::Rolling { surge, unavailable } => format!("maxSurge {surge}, maxUnavailable {unavailable}"),
    }
}
