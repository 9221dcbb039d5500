//! How a [`Plan`](super::Plan) prints: the nodes, then per scenario a table of
//! allocatable against requested per node and a verdict per workload, the GPU
//! memory per node, the declared flows, then the findings; or everything as JSON.

use std::fmt::Write as _;

use super::{NodeUsage, Plan};
use crate::kube::resources::{format, Amount, GPU};

impl Plan {
    pub fn to_text(&self, color: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "nodes (allocatable = capacity - reserved; GPUs × time-slicing replicas; platform = the charts' pods, held back from workloads)"
        );
        let mut rows = vec![row(&["node", "cpu", "memory", GPU, "pods", "platform", "taints"])];
        for node in &self.nodes {
            let taints: Vec<String> = node.taints.iter().map(ToString::to_string).collect();
            let platform = &node.platform;
            rows.push(vec![
                node.name.clone(),
                format("cpu", node.allocatable.cpu),
                format("memory", node.allocatable.memory),
                format(GPU, node.allocatable.gpu),
                format("pods", node.allocatable.pods),
                if *platform == Amount::default() {
                    "-".into()
                } else {
                    format!(
                        "{} cpu, {} memory, {} pods",
                        format("cpu", platform.cpu),
                        format("memory", platform.memory),
                        format("pods", platform.pods)
                    )
                },
                if taints.is_empty() { "-".into() } else { taints.join(", ") },
            ]);
        }
        table(&mut out, &rows);
        for scenario in &self.scenarios {
            let _ = writeln!(out, "\n{}: {}", scenario.title, scenario.verdict);
            usage_table(&mut out, &scenario.nodes);
            for verdict in &scenario.workloads {
                let mark = if verdict.ok { "ok  " } else { "FAIL" };
                let _ = writeln!(out, "  {mark} {}: {}", verdict.workload, verdict.detail);
            }
        }
        if !self.gpu_memory.is_empty() {
            let _ = writeln!(
                out,
                "\nGPU memory (gpu.memoryGiB of the pods on each node's GPUs; time-slicing shares no memory)"
            );
            let mut rows = vec![row(&["  node", "gpus", "steady state", "peak", "verdict"])];
            for node in &self.gpu_memory {
                rows.push(vec![
                    format!("  {}", node.node),
                    node.gpus.clone(),
                    format!("{}: {}", used(node.steady_mib, node.capacity_mib), node.steady.join(", ")),
                    format!("{} ({})", used(node.peak_mib, node.capacity_mib), node.peak_scenario),
                    if node.fits { "fits".into() } else { "OVERFLOW".into() },
                ]);
            }
            table(&mut out, &rows);
        }
        if !self.connectivity.flows.is_empty() {
            let _ = writeln!(out, "\nconnectivity (declared flows through the NetworkPolicies)");
            let mut rows = vec![row(&["  from", "to", "verdict", "detail"])];
            for flow in &self.connectivity.flows {
                rows.push(vec![
                    format!("  {}", flow.from),
                    format!("{}/{}", flow.to, flow.protocol),
                    if flow.allowed { "ok".into() } else { "DENIED".into() },
                    flow.detail.clone(),
                ]);
            }
            table(&mut out, &rows);
        }
        out.push('\n');
        if !self.findings.findings.is_empty() {
            out.push_str(&self.findings.to_text(color));
        } else {
            out.push_str(&self.findings.summary());
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn usage_table(out: &mut String, nodes: &[NodeUsage]) {
    let mut rows = vec![row(&["  node", "cpu", "memory", GPU, "pods"])];
    for usage in nodes {
        let cell = |resource: &str, amount: fn(&Amount) -> u128| {
            let (used, total) = (amount(&usage.requested), amount(&usage.allocatable));
            let percent = (used * 100).checked_div(total).map(|p| format!(" ({p}%)")).unwrap_or_default();
            format!("{}/{}{percent}", format(resource, used), format(resource, total))
        };
        let name = if usage.lost { format!("  {} (lost)", usage.node) } else { format!("  {}", usage.node) };
        rows.push(vec![
            name,
            cell("cpu", |a| a.cpu),
            cell("memory", |a| a.memory),
            cell(GPU, |a| a.gpu),
            cell("pods", |a| a.pods),
        ]);
    }
    table(out, &rows);
}

/// `23.5/24 GiB (97%)`.
fn used(mib: u64, capacity: u64) -> String {
    let percent = (mib * 100).checked_div(capacity).map(|p| format!(" ({p}%)")).unwrap_or_default();
    format!("{}/{}{percent}", super::gpu::gib(mib).trim_end_matches(" GiB"), super::gpu::gib(capacity))
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| cell.to_string()).collect()
}

/// Left-aligned columns separated by two spaces; no trailing spaces.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| rows.iter().filter_map(|row| row.get(column)).map(|cell| cell.chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (column, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if column > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if column + 1 < row.len() {
                line.push_str(&" ".repeat(width.saturating_sub(cell.chars().count())));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
