//! How a [`Plan`](super::Plan) prints: the nodes, then per scenario a table of
//! allocatable against requested per node and a verdict per workload, the GPU
//! memory per node, the declared flows, then the findings; or everything as JSON. Both are written as they are made: a
//! plan of thousands of rollouts over hundreds of nodes prints a table row
//! per node and rollout, more than is worth holding at once. The cells of
//! the shared baseline's rows are formatted once and reused by every
//! scenario, which formats only the rows it changed.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use super::usage::Usage;
use super::{NodeUsage, Plan};
use crate::kube::resources::{format, Amount, GPU};

impl Plan {
    pub fn write_text(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        let mut text = String::new();
        text.push_str(
            "nodes (allocatable = capacity - reserved; GPUs × time-slicing replicas; platform = the charts' pods, held back from workloads)\n",
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
        table(&mut text, &rows);
        out.write_all(text.as_bytes())?;
        let mut tables = UsageTables::default();
        for scenario in &self.scenarios {
            writeln!(out, "\n{}: {}", scenario.title, scenario.verdict)?;
            tables.write(out, &scenario.nodes)?;
            for verdict in &scenario.workloads {
                let mark = if verdict.ok { "ok  " } else { "FAIL" };
                writeln!(out, "  {mark} {}: {}", verdict.workload, verdict.detail)?;
            }
        }
        let mut text = String::new();
        if !self.gpu_memory.is_empty() {
            text.push_str(
                "\nGPU memory (gpu.memoryGiB of the pods on each node's GPUs; time-slicing shares no memory)\n",
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
            table(&mut text, &rows);
        }
        if !self.connectivity.flows.is_empty() {
            text.push_str("\nconnectivity (declared flows through the NetworkPolicies)\n");
            let mut rows = vec![row(&["  from", "to", "verdict", "detail"])];
            for flow in &self.connectivity.flows {
                rows.push(vec![
                    format!("  {}", flow.from),
                    format!("{}/{}", flow.to, flow.protocol),
                    if flow.allowed { "ok".into() } else { "DENIED".into() },
                    flow.detail.clone(),
                ]);
            }
            table(&mut text, &rows);
        }
        text.push('\n');
        if !self.findings.findings.is_empty() {
            text.push_str(&self.findings.to_text(color));
        } else {
            text.push_str(&self.findings.summary());
        }
        out.write_all(text.as_bytes())
    }

    pub fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(out, self).map_err(io::Error::from)
    }
}

const USAGE_HEADER: [&str; 5] = ["  node", "cpu", "memory", GPU, "pods"];

/// The cells of one node's row in a usage table.
type Cells = [String; 5];

/// The formatted rows of the baseline the scenarios' tables share, and per
/// column the baseline rows by width, widest first, to find the widest row a
/// scenario left as it was.
#[derive(Default)]
struct UsageTables {
    baseline: Option<Arc<[NodeUsage]>>,
    rows: Vec<Cells>,
    widest: [Vec<(usize, usize)>; 5],
}

impl UsageTables {
    fn write(&mut self, out: &mut impl Write, usage: &Usage) -> io::Result<()> {
        if !self.baseline.as_ref().is_some_and(|baseline| Arc::ptr_eq(baseline, usage.baseline())) {
            self.rows = usage.baseline().iter().map(cells).collect();
            self.widest = Default::default();
            for (index, cells) in self.rows.iter().enumerate() {
                for (widest, cell) in self.widest.iter_mut().zip(cells) {
                    widest.push((width(cell), index));
                }
            }
            for widest in &mut self.widest {
                widest.sort_unstable_by(|a, b| b.cmp(a));
            }
            self.baseline = Some(Arc::clone(usage.baseline()));
        }
        let changed: BTreeMap<usize, Cells> = usage.changed().iter().map(|(index, row)| (*index, cells(row))).collect();
        let mut widths = [0usize; 5];
        for (column, ((width, header), widest)) in widths.iter_mut().zip(USAGE_HEADER).zip(&self.widest).enumerate() {
            let unchanged =
                widest.iter().find(|(_, index)| !changed.contains_key(index)).map_or(0, |(width, _)| *width);
            let new = changed.values().filter_map(|cells| cells.get(column)).map(|cell| self::width(cell)).max();
            *width = self::width(header).max(unchanged).max(new.unwrap_or(0));
        }
        let mut line = String::new();
        write_row(out, &mut line, &USAGE_HEADER, &widths)?;
        for (index, cells) in self.rows.iter().enumerate() {
            write_row(out, &mut line, changed.get(&index).unwrap_or(cells), &widths)?;
        }
        Ok(())
    }
}

fn cells(usage: &NodeUsage) -> Cells {
    let cell = |resource: &str, amount: fn(&Amount) -> u128| {
        let (used, total) = (amount(&usage.requested), amount(&usage.allocatable));
        let percent = (used * 100).checked_div(total).map(|p| format!(" ({p}%)")).unwrap_or_default();
        format!("{}/{}{percent}", format(resource, used), format(resource, total))
    };
    let name = if usage.lost { format!("  {} (lost)", usage.node) } else { format!("  {}", usage.node) };
    [name, cell("cpu", |a| a.cpu), cell("memory", |a| a.memory), cell(GPU, |a| a.gpu), cell("pods", |a| a.pods)]
}

/// `23.5/24 GiB (97%)`.
fn used(mib: u64, capacity: u64) -> String {
    let percent = (mib * 100).checked_div(capacity).map(|p| format!(" ({p}%)")).unwrap_or_default();
    format!("{}/{}{percent}", super::gpu::gib(mib).trim_end_matches(" GiB"), super::gpu::gib(capacity))
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| cell.to_string()).collect()
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

/// Left-aligned columns separated by two spaces; no trailing spaces.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| rows.iter().filter_map(|row| row.get(column)).map(|cell| width(cell)).max().unwrap_or(0))
        .collect();
    let mut line = String::new();
    for row in rows {
        pad_row(&mut line, row, &widths);
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn write_row(out: &mut impl Write, line: &mut String, cells: &[impl AsRef<str>], widths: &[usize]) -> io::Result<()> {
    pad_row(line, cells, widths);
    out.write_all(line.trim_end().as_bytes())?;
    out.write_all(b"\n")
}

/// One row of a table into `line`, each cell but the last padded to its column's width.
fn pad_row(line: &mut String, cells: &[impl AsRef<str>], widths: &[usize]) {
    line.clear();
    for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let cell = cell.as_ref();
        if column > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if column + 1 < cells.len() {
            line.extend(std::iter::repeat_n(' ', width.saturating_sub(self::width(cell))));
        }
    }
}
