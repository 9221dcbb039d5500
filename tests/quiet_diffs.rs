//! Issue 11, "Quiet diffs": adding a namespace, a node or a workload changes
//! only the rendered files whose Kubernetes content changes (the cluster
//! scope's provenance header does not list every values file), and the
//! summaries do not count SHA256SUMS and kiln.lock as changes of the cluster.

use std::collections::BTreeMap;

use crate::harness::{read_tree, Repo, MINIMAL_NAMESPACE};

/// `+`, `~` or `-` and the path of every file below `rendered/` that differs.
fn changed_files(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut changes = Vec::new();
    for (path, bytes) in after {
        match before.get(path) {
            None => changes.push(format!("+ {path}")),
            Some(old) if old != bytes => changes.push(format!("~ {path}")),
            Some(_) => {}
        }
    }
    changes.extend(before.keys().filter(|path| !after.contains_key(*path)).map(|path| format!("- {path}")));
    changes.sort_by(|a, b| a[2..].cmp(&b[2..]));
    changes
}

/// Renders, applies `change`, renders again with exactly `summary`, and
/// returns which rendered files differ.
fn change_and_render(repo: &Repo, change: impl FnOnce(&Repo), summary: &str) -> Vec<String> {
    let before = read_tree(&repo.path().join("rendered"));
    change(repo);
    repo.kiln(&["render"]).code(0).stdout(summary);
    changed_files(&before, &read_tree(&repo.path().join("rendered")))
}

#[test]
fn adding_a_namespace_changes_only_its_own_files() {
    let repo = Repo::fixture("homelab", false);
    repo.kiln(&["render"]).code(0);

    // A namespace: its Namespace object and its namespace-scope objects.
    let namespace = |repo: &Repo| repo.write("values/namespaces/tools.yaml", b"name: tools\n");
    assert_eq!(
        change_and_render(&repo, namespace, "rendered 21 objects into 25 files: 3 added, 0 changed, 0 removed"),
        [
            "~ SHA256SUMS",
            "+ cluster/namespace-tools.yaml",
            "~ kiln.lock",
            "+ namespaces/tools/networkpolicy-allow.yaml",
            "+ namespaces/tools/networkpolicy-default-deny.yaml",
        ]
    );
    // The cluster scope's header names no values file, so no other cluster object changed.
    assert_eq!(
        repo.read("rendered/cluster/namespace-tools.yaml").lines().take(2).collect::<Vec<_>>(),
        ["# Source: templates/cluster/namespaces.yaml", "# Values: every file in values/ (cluster scope)"]
    );
    assert_eq!(
        repo.read("rendered/namespaces/tools/networkpolicy-allow.yaml").lines().take(2).collect::<Vec<_>>(),
        ["# Source: templates/namespaces/policy.yaml", "# Values: values/cluster.yaml, values/namespaces/tools.yaml"]
    );

    // A node: its own host files only.
    let node = |repo: &Repo| {
        let beta = repo.read("values/nodes/beta.yaml");
        let gamma = beta.replace("name: beta", "name: gamma").replace("192.168.1.11", "192.168.1.12");
        repo.write("values/nodes/gamma.yaml", gamma.as_bytes());
    };
    assert_eq!(
        change_and_render(&repo, node, "rendered 21 objects into 27 files: 2 added, 0 changed, 0 removed"),
        ["~ SHA256SUMS", "~ kiln.lock", "+ nodes/gamma/bin/setup.sh", "+ nodes/gamma/k3s/config.yaml"]
    );

    // A workload: its objects, and the Namespace whose workload count label changed.
    let workload = |repo: &Repo| {
        let apps = repo.read("values/namespaces/apps.yaml");
        let api = "  api:\n    kind: Deployment\n    image: ghcr.io/example/api:1.0\n    ports:\n      - name: http\n        port: 8081\n";
        repo.write("values/namespaces/apps.yaml", format!("{apps}{api}").as_bytes());
    };
    let changes =
        change_and_render(&repo, workload, "rendered 23 objects into 29 files: 2 added, 1 changed, 0 removed");
    assert_eq!(
        changes,
        [
            "~ SHA256SUMS",
            "~ cluster/namespace-apps.yaml",
            "~ kiln.lock",
            "+ namespaces/apps/deployment-api.yaml",
            "+ namespaces/apps/service-api.yaml",
        ]
    );
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn summary_does_not_count_bookkeeping_files() {
    let repo = Repo::minimal();
    // A first render adds the cluster's four files; SHA256SUMS and kiln.lock are not counted.
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 4 added, 0 changed, 0 removed");

    // A change to one object: one file changed, whatever the lock and SHA256SUMS do.
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("nginx:1.27", "nginx:1.28").as_bytes());
    repo.kiln(&["render", "--diff", "--stat"])
        .code(1)
        .stdout("~ Deployment.apps apps/web  (rendered/namespaces/apps/deployment-web.yaml)\ndrift: 0 added, 1 changed, 0 removed");
    let diff = repo.kiln(&["render", "--diff"]);
    assert!(!diff.stdout.contains("rendered/SHA256SUMS"), "no diff of the bookkeeping files:\n{}", diff.stdout);
    assert!(!diff.stdout.contains("rendered/kiln.lock"), "no diff of the bookkeeping files:\n{}", diff.stdout);
    repo.kiln(&["render", "--diff", "--format", "json"]).code(1).stdout(
        r#"{
  "inSync": false,
  "added": [],
  "changed": [
    {
      "path": "namespaces/apps/deployment-web.yaml",
      "object": "Deployment.apps apps/web"
    }
  ],
  "removed": [],
  "bookkeeping": [
    "SHA256SUMS",
    "kiln.lock"
  ],
  "foreign": [],
  "foreignManifests": [],
  "special": []
}"#,
    );
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 0 added, 1 changed, 0 removed");

    // A comment in values changes only the inputs the lock records: the
    // bookkeeping files are all that is stale, and the line says so.
    let commented = format!("# The web tier.\n{}", MINIMAL_NAMESPACE.replace("nginx:1.27", "nginx:1.28"));
    repo.write("values/namespaces/apps.yaml", commented.as_bytes());
    let before = repo.snapshot();
    repo.kiln(&["render", "--diff", "--stat"])
        .code(1)
        .stdout("drift: 0 added, 0 changed, 0 removed; only SHA256SUMS and kiln.lock are out of date");
    assert_eq!(before, repo.snapshot(), "--diff never writes");
    repo.kiln(&["render"]).code(0).stdout(
        "rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed; only SHA256SUMS and kiln.lock were rewritten",
    );
    repo.kiln(&["render", "--diff", "--stat"]).code(0).stdout("in sync: 0 added, 0 changed, 0 removed");

    // A symlink where the lock belongs is a special entry (never followed),
    // not a bookkeeping change; render replaces it, and only it.
    repo.write("elsewhere.txt", b"not a lock\n");
    std::fs::remove_file(repo.path().join("rendered/kiln.lock")).unwrap();
    std::os::unix::fs::symlink(repo.path().join("elsewhere.txt"), repo.path().join("rendered/kiln.lock")).unwrap();
    repo.kiln(&["render", "--diff", "--stat"]).code(1).stdout(
        "! rendered/kiln.lock  (a symbolic link, never followed)\ndrift: 0 added, 0 changed, 0 removed, 1 special file",
    );
    repo.kiln(&["render"])
        .code(0)
        .stdout("rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed; only kiln.lock was rewritten");
    repo.kiln(&["verify"]).code(0);
}
