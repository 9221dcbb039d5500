//! What Argo CD reads from any synced object's annotations: its sync wave,
//! hook types and delete policies, per-resource sync options and whether its
//! health is ignored. Values Argo CD would not recognise are kept as written
//! where a check needs to name them, and otherwise fall back as Argo CD does
//! (an unparsable wave is 0, an unknown hook type is no hook).

use serde_yaml::Value;

use crate::output::object::Object;

pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
pub const HOOK: &str = "argocd.argoproj.io/hook";
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
pub const IGNORE_HEALTHCHECK: &str = "argocd.argoproj.io/ignore-healthcheck";

/// The sync phase a task runs in (`sync_tasks.go` `syncPhaseOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Phase {
    PreSync,
    Sync,
    PostSync,
    SyncFail,
}

impl Phase {
    fn parse(text: &str) -> Option<Phase> {
        Some(match text {
            "PreSync" => Phase::PreSync,
            "Sync" => Phase::Sync,
            "PostSync" => Phase::PostSync,
            "SyncFail" => Phase::SyncFail,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreSync => "PreSync",
            Phase::Sync => "Sync",
            Phase::PostSync => "PostSync",
            Phase::SyncFail => "SyncFail",
        }
    }
}

/// The Argo CD annotations of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub wave: i64,
    /// Hook types as written (`PostSync`, `Skip`, ...); empty: not a hook.
    pub hooks: Vec<String>,
    /// `hook-delete-policy` values as written; empty: none set.
    pub delete_policies: Vec<String>,
    /// `sync-options` entries as written (`Replace=true`).
    pub sync_options: Vec<String>,
    pub ignore_healthcheck: bool,
}

impl Annotations {
    pub fn of(object: &Object) -> Annotations {
        Annotations::of_value(&object.value)
    }

    pub fn of_value(value: &Value) -> Annotations {
        let annotations = value.get("metadata").and_then(|metadata| metadata.get("annotations"));
        let text = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
        let csv = |key: &str| -> Vec<String> {
            text(key)
                .map(|text| text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
                .unwrap_or_default()
        };
        Annotations {
            wave: text(SYNC_WAVE).and_then(|text| text.trim().parse().ok()).unwrap_or(0),
            hooks: csv(HOOK),
            delete_policies: csv(HOOK_DELETE_POLICY),
            sync_options: csv(SYNC_OPTIONS),
            ignore_healthcheck: text(IGNORE_HEALTHCHECK) == Some("true"),
        }
    }

    /// `hook: Skip` alone: Argo CD never applies the object (`hook.go` `Skip`).
    pub fn skipped(&self) -> bool {
        self.hooks.len() == 1 && self.hooks.iter().all(|hook| hook == "Skip")
    }

    /// A hook Argo CD runs: an `argocd.argoproj.io/hook` it knows, not `Skip` alone.
    pub fn is_hook(&self) -> bool {
        !self.hooks.is_empty() && !self.skipped()
    }

    /// The phase the object syncs in; plain resources sync in `Sync`.
    pub fn phase(&self) -> Phase {
        self.hooks.iter().find_map(|hook| Phase::parse(hook)).unwrap_or(Phase::Sync)
    }

    /// Whether a sync option is set (`Replace=true` → `option("Replace")`).
    pub fn option(&self, name: &str) -> bool {
        has_option(&self.sync_options, name)
    }
}

/// Whether `options` (entries `Key=value`) sets `name=true`.
pub fn has_option(options: &[String], name: &str) -> bool {
    options
        .iter()
        .any(|option| option.split_once('=').is_some_and(|(key, value)| key.trim() == name && value.trim() == "true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(yaml: &str) -> Annotations {
        Annotations::of_value(&serde_yaml::from_str(yaml).unwrap())
    }

    #[test]
    fn waves_default_to_zero_and_parse_negative() {
        assert_eq!(annotations("metadata: {}").wave, 0);
        assert_eq!(annotations("metadata: {annotations: {argocd.argoproj.io/sync-wave: '-30'}}").wave, -30);
        assert_eq!(annotations("metadata: {annotations: {argocd.argoproj.io/sync-wave: 'x'}}").wave, 0);
    }

    #[test]
    fn skip_alone_is_not_a_hook() {
        let skip = annotations("metadata: {annotations: {argocd.argoproj.io/hook: Skip}}");
        assert!(skip.skipped() && !skip.is_hook());
        let post = annotations("metadata: {annotations: {argocd.argoproj.io/hook: PostSync}}");
        assert!(post.is_hook() && post.phase() == Phase::PostSync);
    }

    #[test]
    fn sync_options_are_comma_separated() {
        let job = annotations("metadata: {annotations: {argocd.argoproj.io/sync-options: 'Force=true, Replace=true'}}");
        assert!(job.option("Force") && job.option("Replace") && !job.option("Prune"));
    }
}
