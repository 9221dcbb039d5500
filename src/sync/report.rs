//! `kiln sync`: the first and day-2 sync of each root, as text for a
//! reviewer and JSON for scripts. Text: one header per sync (whether it
//! completes, the root's waves), one line per step (`app phase wave:
//! objects`), what the step waits on, and the stop, after which nothing is
//! printed: Argo CD would not get further.

use serde::Serialize;

use super::model::Model;
use super::run::{self, StepRecord, SyncRun};
use crate::build::Build;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub syncs: Vec<SyncRun>,
}

impl Report {
    pub fn new(build: &Build) -> Report {
        Report { syncs: run::runs(&Model::new(build)) }
    }

    /// Whether every sync completes.
    pub fn completes(&self) -> bool {
        self.syncs.iter().all(SyncRun::completes)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        if self.syncs.is_empty() {
            return "no Argo CD Application is rendered: nothing syncs".into();
        }
        let mut blocks = Vec::new();
        for sync in &self.syncs {
            blocks.push(sync_text(sync));
        }
        blocks.join("\n\n")
    }
}

fn sync_text(sync: &SyncRun) -> String {
    let mut waves: Vec<i64> = sync.steps.iter().filter(|s| s.depth == 0).map(|s| s.wave).collect();
    waves.dedup();
    let waves: Vec<String> = waves.iter().map(i64::to_string).collect();
    let verdict = match sync.stops.first() {
        None => "completes".to_string(),
        Some(stop) => format!("stops at {} ({})", stop.app, stop.code),
    };
    let mut lines =
        vec![format!("{} of {}: {verdict}; {} waves: {}", sync.kind.as_str(), sync.root, sync.root, waves.join(", "))];
    let stop_at = sync.stops.first().map(|stop| stop.step);
    for (index, step) in sync.steps.iter().enumerate() {
        lines.extend(step_text(step));
        if stop_at == Some(index) {
            if let Some(stop) = sync.stops.first() {
                lines.push(format!("{}  stops: error[{}]: {}", indent(step.depth), stop.code, stop.message));
            }
            break;
        }
    }
    lines.join("\n")
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth + 1)
}

fn step_text(step: &StepRecord) -> Vec<String> {
    let pad = indent(step.depth);
    let mut lines = Vec::new();
    let note = step.note.as_ref().map(|note| format!(" ({note})")).unwrap_or_default();
    lines.push(format!("{pad}{}{note} {} wave {}: {}", step.app, step.phase, step.wave, objects(&step.objects)));
    if !step.waits_on.is_empty() {
        lines.push(format!("{pad}  waits on: {}", step.waits_on.join(", ")));
    }
    lines
}

/// Up to three objects by name, more by count of kind.
fn objects(objects: &[String]) -> String {
    if objects.len() <= 3 {
        return objects.join(", ");
    }
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for object in objects {
        let kind = object.split(' ').next().unwrap_or_default().to_string();
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, count)) => *count += 1,
            None => kinds.push((kind, 1)),
        }
    }
    let kinds: Vec<String> = kinds.iter().map(|(kind, count)| format!("{count} {kind}")).collect();
    format!("{} objects ({})", objects.len(), kinds.join(", "))
}
