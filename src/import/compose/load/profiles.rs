//! Profiles (compose-spec 15-profiles.md): a service with no `profiles` is
//! always enabled, one with profiles only when one of them is selected, and
//! `*` selects every profile (as `docker compose --profile '*'`). kiln
//! imports every service, enabled or not (issue 15: each profiled service
//! gets an `enabled` switch), so profiles only decide [`enabled`]. Also here:
//! the project name Compose derives from the project directory.

use std::path::Path;

use super::node::Node;

/// The `profiles` a service lists, in order.
pub fn of(service: &Node) -> Vec<String> {
    service.get("profiles").map(|list| list.items().iter().filter_map(Node::scalar_text).collect()).unwrap_or_default()
}

pub fn enabled(profiles: &[String], selected: &[String]) -> bool {
    profiles.is_empty() || selected.iter().any(|name| name == "*" || profiles.contains(name))
}

/// The project directory's base name as Compose normalizes it into a
/// project name (compose-go `loader.NormalizeProjectName`): lower case, only
/// `a-z`, `0-9`, `_` and `-`, starting with a letter or digit.
pub fn project_name(directory: &Path) -> String {
    let base = std::path::absolute(directory)
        .ok()
        .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let kept: String = base
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profiled_service_is_enabled_by_a_selected_profile_or_star() {
        let gpu = vec!["gpu".to_string()];
        assert!(enabled(&[], &[]));
        assert!(!enabled(&gpu, &[]));
        assert!(!enabled(&gpu, &["cpu".into()]));
        assert!(enabled(&gpu, &["cpu".into(), "gpu".into()]));
        assert!(enabled(&gpu, &["*".into()]));
    }

    #[test]
    fn directory_names_normalize_like_compose() {
        assert_eq!(project_name(Path::new("/x/My App_1")), "myapp_1");
        assert_eq!(project_name(Path::new("/x/-.stack")), "stack");
    }
}
