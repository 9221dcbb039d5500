//! A scenario's table of requested resources per node, kept as the rows
//! where it differs from one baseline table that every scenario of a plan
//! shares (the steady state's). A rollout changes the few nodes its pods
//! use, so a plan of thousands of rollouts over hundreds of nodes holds a
//! few rows per rollout rather than a full table each; it reads, prints and
//! serializes as the full table.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::schedule::State;
use super::NodeUsage;
use crate::kube::nodes::Node;

#[derive(Debug, Clone)]
pub struct Usage {
    baseline: Arc<[NodeUsage]>,
    /// Rows that differ from the baseline, by node index.
    changed: BTreeMap<usize, NodeUsage>,
}

/// Every node's row in `state`.
pub fn table(nodes: &[Node], state: &State) -> Arc<[NodeUsage]> {
    nodes
        .iter()
        .zip(state.down.iter().zip(&state.used))
        .map(|(node, (down, used))| NodeUsage {
            node: node.name.clone(),
            lost: *down,
            allocatable: node.allocatable,
            requested: *used,
        })
        .collect()
}

impl Usage {
    /// The table of `state`, as its differences from `baseline` (a table of the same nodes).
    pub fn of(baseline: &Arc<[NodeUsage]>, state: &State) -> Usage {
        let changed = baseline
            .iter()
            .zip(state.down.iter().zip(&state.used))
            .enumerate()
            .filter(|(_, (row, (down, used)))| row.lost != **down || row.requested != **used)
            .map(|(index, (row, (down, used)))| {
                (
                    index,
                    NodeUsage { node: row.node.clone(), lost: *down, allocatable: row.allocatable, requested: *used },
                )
            })
            .collect();
        Usage { baseline: Arc::clone(baseline), changed }
    }

    /// Node `index`'s row, to change it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut NodeUsage> {
        let row = self.baseline.get(index)?;
        Some(self.changed.entry(index).or_insert_with(|| row.clone()))
    }

    /// Every row, in node order.
    pub fn iter(&self) -> impl Iterator<Item = &NodeUsage> + '_ {
        let mut changed = self.changed.iter().peekable();
        self.baseline.iter().enumerate().map(move |(index, row)| match changed.next_if(|(node, _)| **node == index) {
            Some((_, changed)) => changed,
            None => row,
        })
    }

    pub fn baseline(&self) -> &Arc<[NodeUsage]> {
        &self.baseline
    }

    /// The rows that differ from the baseline, by node index.
    pub fn changed(&self) -> &BTreeMap<usize, NodeUsage> {
        &self.changed
    }
}

impl Serialize for Usage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut rows = serializer.serialize_seq(Some(self.baseline.len()))?;
        for row in self.iter() {
            rows.serialize_element(row)?;
        }
        rows.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::Amount;

    fn row(node: &str, pods: u128) -> NodeUsage {
        NodeUsage {
            node: node.into(),
            lost: false,
            allocatable: Amount { pods: 110, ..Amount::default() },
            requested: Amount { pods, ..Amount::default() },
        }
    }

    #[test]
    fn reads_and_serializes_as_the_full_table() {
        let baseline: Arc<[NodeUsage]> = vec![row("a", 1), row("b", 2), row("c", 3)].into();
        let mut usage = Usage { baseline: Arc::clone(&baseline), changed: BTreeMap::new() };
        usage.get_mut(1).unwrap().requested.pods = 7;
        usage.get_mut(2).unwrap().lost = true;
        assert!(usage.get_mut(3).is_none());
        let full = vec![row("a", 1), row("b", 7), NodeUsage { lost: true, ..row("c", 3) }];
        let rows: Vec<(String, bool, u128)> =
            usage.iter().map(|r| (r.node.clone(), r.lost, r.requested.pods)).collect();
        assert_eq!(rows, [("a".into(), false, 1), ("b".into(), false, 7), ("c".into(), true, 3)]);
        assert_eq!(serde_json::to_string(&usage).unwrap(), serde_json::to_string(&full).unwrap());
        assert_eq!(
            serde_json::to_string(&Usage { baseline, changed: BTreeMap::new() }).unwrap().matches("\"node\"").count(),
            3
        );
    }
}
