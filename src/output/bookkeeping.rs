//! `SHA256SUMS` and `kiln.lock` are kiln's bookkeeping, not files of the
//! cluster: Argo CD's directory source reads only `*.yaml`, `*.yml`,
//! `*.json` and `*.jsonnet` files (see [`super::drift`]), so it syncs
//! neither. They change whenever any other file does (SHA256SUMS lists every
//! file's hash, the lock the digest of them all), and alone when kiln's build
//! or the findings the lock records change.
//!
//! So the summaries of `render`, `render --diff` and `kiln diff`'s drift gate
//! count and list only the cluster's files (objects and host files). They
//! name the bookkeeping files only when those are all that differs, where a
//! count of zero would otherwise hide that kiln wrote something, or why the
//! gate failed.

use super::tree::{LOCK_FILE, SUMS_FILE};

/// Whether `path` (below `rendered/`) is `SHA256SUMS` or `kiln.lock`.
pub fn is_bookkeeping(path: &str) -> bool {
    path == SUMS_FILE || path == LOCK_FILE
}

/// Moves the bookkeeping files out of `paths` into `bookkeeping`.
pub fn split_off(paths: &mut Vec<String>, bookkeeping: &mut Vec<String>) {
    let (kept, moved): (Vec<String>, Vec<String>) = paths.drain(..).partition(|path| !is_bookkeeping(path));
    *paths = kept;
    bookkeeping.extend(moved);
}

/// `only SHA256SUMS and kiln.lock <state>`, when the bookkeeping files are
/// all that differs (`others` counts everything else the summary reports);
/// `state` is said of one file and of two, e.g. `("was rewritten", "were rewritten")`.
pub fn only(bookkeeping: &[String], others: usize, state: (&str, &str)) -> Option<String> {
    let state = if bookkeeping.len() == 1 { state.0 } else { state.1 };
    (others == 0 && !bookkeeping.is_empty()).then(|| format!("only {} {state}", bookkeeping.join(" and ")))
}

/// The state of stale bookkeeping files, for `render --diff` and `kiln diff`.
pub const OUT_OF_DATE: (&str, &str) = ("is out of date", "are out of date");
/// The state of rewritten bookkeeping files, for `render`.
pub const REWRITTEN: (&str, &str) = ("was rewritten", "were rewritten");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bookkeeping_files_are_split_off() {
        let mut paths = vec!["SHA256SUMS".to_string(), "cluster/namespace-a.yaml".into(), "kiln.lock".into()];
        let mut bookkeeping = Vec::new();
        split_off(&mut paths, &mut bookkeeping);
        assert_eq!(paths, ["cluster/namespace-a.yaml"]);
        assert_eq!(bookkeeping, ["SHA256SUMS", "kiln.lock"]);
    }

    #[test]
    fn they_are_named_only_when_nothing_else_differs() {
        let both = ["SHA256SUMS".to_string(), "kiln.lock".into()];
        assert_eq!(only(&both, 0, REWRITTEN).as_deref(), Some("only SHA256SUMS and kiln.lock were rewritten"));
        assert_eq!(only(&both[1..], 0, OUT_OF_DATE).as_deref(), Some("only kiln.lock is out of date"));
        assert_eq!(only(&both, 1, REWRITTEN), None);
        assert_eq!(only(&[], 0, REWRITTEN), None);
    }
}
