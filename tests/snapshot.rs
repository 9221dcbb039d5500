//! Snapshot of a rendered fixture tree, and determinism.
//!
//! `tests/fixtures/homelab/` holds values and templates exercising every
//! scope (cluster, node with plain files and node-local objects, namespace,
//! workload), layering, partials and filters; `expected/` is its rendered
//! tree. After an intended output change, refresh it with
//! `KILN_UPDATE_SNAPSHOTS=1 cargo test snapshot` and review the git diff.
//! CI refuses that variable (`CI` set): the test panics instead of writing.
//!
//! The lock records kiln's build identity, which changes with every edit to
//! kiln's source; the snapshot stores [`ANY_BUILD`] in its place (and the
//! SHA256SUMS line of the lock to match), so it changes only when output does.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::harness::{fixture_dir, read_tree, snapshot_update, update_snapshots, Repo};

const FIXTURE: &str = "homelab";
/// What the snapshot's kiln.lock says instead of the build identity.
const ANY_BUILD: &str = "any-build-see-tests-snapshot-rs";

/// Sets the lock's `kilnBuild` and the lock's SHA256SUMS line, as a render by that build would.
fn with_build(mut tree: BTreeMap<String, Vec<u8>>, build: &str) -> BTreeMap<String, Vec<u8>> {
    let lock: String = String::from_utf8(tree["kiln.lock"].clone())
        .unwrap()
        .lines()
        .map(|line| if line.starts_with("kilnBuild: ") { format!("kilnBuild: {build}\n") } else { format!("{line}\n") })
        .collect();
    let sha: String = Sha256::digest(lock.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    let sums: String = String::from_utf8(tree["SHA256SUMS"].clone())
        .unwrap()
        .lines()
        .map(|line| if line.ends_with("  kiln.lock") { format!("{sha}  kiln.lock\n") } else { format!("{line}\n") })
        .collect();
    tree.insert("kiln.lock".into(), lock.into_bytes());
    tree.insert("SHA256SUMS".into(), sums.into_bytes());
    tree
}

/// The build identity this kiln records.
fn this_build(tree: &BTreeMap<String, Vec<u8>>) -> String {
    let lock = String::from_utf8_lossy(&tree["kiln.lock"]).into_owned();
    lock.lines().find_map(|line| line.strip_prefix("kilnBuild: ")).unwrap().to_string()
}

#[test]
fn homelab_fixture_renders_exactly_the_expected_tree() {
    let repo = Repo::fixture(FIXTURE, false);
    // Validation and the plan may warn (stderr); the tree is what must not change.
    repo.kiln(&["render"]).code(0).stdout("rendered 18 objects into 22 files: 22 added, 0 changed, 0 removed");
    let actual = with_build(read_tree(&repo.path().join("rendered")), ANY_BUILD);
    let expected_dir = fixture_dir(FIXTURE).join("expected");
    if update_snapshots() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        for (path, bytes) in &actual {
            let target = expected_dir.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    }
    assert_same_tree(&read_tree(&expected_dir), &actual);
}

#[test]
fn homelab_fixture_covers_every_scope_and_output_kind() {
    let expected = read_tree(&fixture_dir(FIXTURE).join("expected"));
    for path in [
        "cluster/namespace-apps.yaml",                             // cluster scope
        "nodes/alpha/k3s/config.yaml",                             // node scope, plain file from front matter
        "nodes/alpha/bin/setup.sh",                                // plain file with a shebang
        "nodes/alpha/manifests/configmap-time-slicing-alpha.yaml", // node-local object (`dir`)
        "namespaces/apps/networkpolicy-default-deny.yaml",         // namespace scope
        "namespaces/apps/sealedsecret-web-db.yaml",                // namespace secrets
        "namespaces/gpu/statefulset-llm.yaml",                     // workload scope
        "SHA256SUMS",
        "kiln.lock",
    ] {
        assert!(expected.contains_key(path), "the fixture no longer produces {path}");
    }
    assert!(!expected.keys().any(|path| path.contains("legacy")), "disabled workloads are not rendered");
    let setup = String::from_utf8_lossy(&expected["nodes/alpha/bin/setup.sh"]).into_owned();
    assert!(setup.starts_with("#!/bin/sh\n# Source: templates/nodes/setup.sh\n"), "{setup}");
    let deployment = String::from_utf8_lossy(&expected["namespaces/apps/deployment-web.yaml"]).into_owned();
    assert!(deployment.contains("checksum/secret-web-db: "), "{deployment}");
    assert!(deployment.contains("checksum/configmap-web-env: "), "{deployment}");
}

#[test]
fn expected_tree_passes_sha256sum_and_verify() {
    let status = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(fixture_dir(FIXTURE).join("expected"))
        .status()
        .expect("sha256sum");
    assert!(status.success());
    // verify does not compare the build identity; `render --diff` does.
    let repo = Repo::fixture(FIXTURE, false);
    let expected = read_tree(&fixture_dir(FIXTURE).join("expected"));
    for (path, bytes) in &expected {
        repo.write(&format!("rendered/{path}"), bytes);
    }
    repo.kiln(&["verify"]).code(0);
    let run = repo.kiln(&["render", "--diff", "--stat"]);
    run.code(1).stdout("drift: 0 added, 0 changed, 0 removed; only SHA256SUMS and kiln.lock are out of date");
    let fresh = Repo::fixture(FIXTURE, false);
    fresh.kiln(&["render"]).code(0);
    let build = this_build(&read_tree(&fresh.path().join("rendered")));
    for (path, bytes) in with_build(expected, &build) {
        repo.write(&format!("rendered/{path}"), &bytes);
    }
    // In full: with the fast path, an up-to-date lock would answer.
    let mut command = repo.command();
    command.arg("-C").arg(repo.path()).args(["render", "--diff"]).env("KILN_FAST_PATH", "off");
    repo.run(&mut command).code(0);
}

#[test]
fn same_inputs_give_byte_identical_trees() {
    // Different temp dirs, files created in opposite orders, different
    // working directories and locale/time zone: the same bytes.
    let first = Repo::fixture(FIXTURE, false);
    let second = Repo::fixture(FIXTURE, true);
    first.kiln(&["render"]).code(0);
    let mut command = second.command();
    command
        .current_dir(second.path())
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "C")
        .env("LANG", "tr_TR.UTF-8")
        .arg("render");
    second.run(&mut command).code(0);
    assert_same_tree(&read_tree(&first.path().join("rendered")), &read_tree(&second.path().join("rendered")));
}

#[test]
fn rendering_twice_in_one_place_is_stable() {
    let repo = Repo::fixture(FIXTURE, false);
    repo.kiln(&["render"]).code(0);
    let first = read_tree(&repo.path().join("rendered"));
    std::fs::remove_dir_all(repo.path().join("rendered")).unwrap();
    repo.kiln(&["render"]).code(0);
    assert_same_tree(&first, &read_tree(&repo.path().join("rendered")));
}

/// Compares two trees, naming missing, extra and differing files with a diff-like excerpt.
#[track_caller]
fn assert_same_tree(expected: &BTreeMap<String, Vec<u8>>, actual: &BTreeMap<String, Vec<u8>>) {
    let mut problems = Vec::new();
    for (path, bytes) in expected {
        match actual.get(path) {
            None => problems.push(format!("missing: {path}")),
            Some(other) if other != bytes => {
                let (expected, actual) = (String::from_utf8_lossy(bytes), String::from_utf8_lossy(other));
                let first = expected
                    .lines()
                    .zip(actual.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
                problems.push(format!(
                    "differs: {path} (line {}):\n  expected: {:?}\n  actual:   {:?}",
                    first + 1,
                    expected.lines().nth(first).unwrap_or_default(),
                    actual.lines().nth(first).unwrap_or_default()
                ));
            }
            Some(_) => {}
        }
    }
    for path in actual.keys().filter(|path| !expected.contains_key(*path)) {
        problems.push(format!("unexpected: {path}"));
    }
    assert!(
        problems.is_empty(),
        "rendered tree differs from the snapshot (refresh with KILN_UPDATE_SNAPSHOTS=1 if intended):\n{}",
        problems.join("\n")
    );
}

#[test]
fn parallel_and_single_threaded_renders_are_identical() {
    // Enough namespaces and workloads that every parallel stage splits its work.
    let build = || {
        // A node big enough that the plan fits 100 workloads.
        let mut repo = Repo::minimal().file(
            "values/nodes/n1.yaml",
            "name: n1\nrole: server\ncapacity: {cpu: \"64\", memory: 256Gi, pods: 250}\n",
        );
        for namespace in ["alpha", "beta", "gamma", "delta"] {
            let mut values = format!("name: {namespace}\nworkloads:\n");
            for index in 0..25 {
                values.push_str(&format!(
                    "  app-{index}:\n    kind: Deployment\n    image: app:{index}\n    env:\n      INDEX: {index}\n"
                ));
            }
            repo = repo.file(&format!("values/namespaces/{namespace}.yaml"), &values);
        }
        repo
    };
    let parallel = build();
    parallel.kiln(&["render"]).code(0).stdout("rendered 212 objects into 212 files: 212 added, 0 changed, 0 removed");
    let single = build();
    // One CPU in the affinity mask makes kiln use one thread.
    let mut command = std::process::Command::new("taskset");
    command.args(["-c", "0", crate::harness::KILN, "render"]).current_dir(single.path()).env_remove("KILN_ROOT");
    single.run(&mut command).code(0);
    assert_same_tree(&read_tree(&parallel.path().join("rendered")), &read_tree(&single.path().join("rendered")));
}

#[test]
fn snapshots_cannot_be_updated_in_ci() {
    use std::ffi::OsStr;
    let some = |text: &'static str| Some(OsStr::new(text));
    let refusal = "KILN_UPDATE_SNAPSHOTS is set in CI (the CI or TF_BUILD environment variable is set): \
                   CI never rewrites snapshots, a stale one must fail; refresh them locally with \
                   `KILN_UPDATE_SNAPSHOTS=1 cargo test --locked snapshot`, review `git diff tests/fixtures` and commit";
    // .ci/run runs with CI=true; GitHub Actions, GitLab and most runners set CI=true, Azure TF_BUILD.
    for (ci, tf_build) in [(some("true"), None), (some("1"), None), (None, some("True")), (some("yes"), some("True"))] {
        assert_eq!(
            snapshot_update(some("1"), ci, tf_build),
            Err(refusal.to_string()),
            "CI={ci:?} TF_BUILD={tf_build:?}"
        );
    }
    // Outside CI (no CI, or CI explicitly off) the request is honoured; without it nothing is written.
    for ci in [None, some(""), some("0"), some("false")] {
        assert_eq!(snapshot_update(some("1"), ci, None), Ok(true), "CI={ci:?}");
        assert_eq!(snapshot_update(None, ci, None), Ok(false), "CI={ci:?}");
    }
    assert_eq!(snapshot_update(None, some("true"), None), Ok(false), "CI alone only compares");
}

#[test]
fn snapshot_test_refuses_to_update_in_ci_and_writes_nothing() {
    // The snapshot test itself, run by this test binary as CI would run it with the variable set.
    // While this run refreshes the snapshot (locally), the tree is being rewritten beside us.
    if std::env::var_os("KILN_UPDATE_SNAPSHOTS").is_some() {
        return;
    }
    let expected_dir = fixture_dir(FIXTURE).join("expected");
    let before = read_tree(&expected_dir);
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["snapshot::homelab_fixture_renders_exactly_the_expected_tree", "--exact", "--test-threads=1"])
        .env("KILN_UPDATE_SNAPSHOTS", "1")
        .env("CI", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the snapshot test must fail:\n{stdout}");
    assert!(stdout.contains("1 failed"), "exactly the snapshot test ran and failed:\n{stdout}");
    // libtest prints a failed test's panic message in its stdout report.
    assert!(stdout.contains("panicked at tests/harness.rs"), "{stdout}");
    assert!(
        stdout.contains("KILN_UPDATE_SNAPSHOTS is set in CI (the CI or TF_BUILD environment variable is set)"),
        "{stdout}"
    );
    assert_eq!(before, read_tree(&expected_dir), "a refused update must not touch the snapshot");
}
