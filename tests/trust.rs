//! The drift gate and `verify` see everything in `rendered/`, never follow
//! what is not a regular file, check the lock, and the no-change fast path
//! answers exactly as the full render would, and never when anything changed.

use std::os::unix::fs::symlink;
use std::process::Command;

use crate::harness::{read_tree, Repo, Run, KILN};

const FAILED: &str = "verify failed: run `kiln render` and commit rendered/, or restore the edited files";

const CLUSTER_ADMIN: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: backdoor
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: apps}]
";

fn rendered() -> Repo {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo
}

/// Runs kiln under coreutils `timeout`, so a kiln that blocks fails the test instead of hanging it.
fn kiln_within_20s(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new("timeout");
    command.args(["20", KILN, "-C"]).arg(repo.path()).args(args).env("NO_COLOR", "1").env_remove("KILN_ROOT");
    command.envs(env.iter().copied());
    let run = repo.run(&mut command);
    assert_ne!(run.code, 124, "kiln {args:?} did not finish within 20 s");
    run
}

#[test]
fn drift_gate_misses_added_files() {
    let repo = rendered();
    repo.write("rendered/cluster/clusterrolebinding-backdoor.yaml", CLUSTER_ADMIN.as_bytes());
    repo.write("rendered/namespaces/apps/extra.json", b"{}\n");
    repo.write("rendered/README.md", b"notes, not a manifest\n");
    let before = repo.snapshot();
    repo.kiln(&["render", "--diff"]).code(1).stderr("").stdout(
        "! rendered/cluster/clusterrolebinding-backdoor.yaml  (not kiln's, and Argo CD would sync it; kept)
! rendered/namespaces/apps/extra.json  (not kiln's, and Argo CD would sync it; kept)
? rendered/README.md  (not kiln's; kept)
drift: 0 added, 0 changed, 0 removed, 2 foreign manifests",
    );
    repo.kiln(&["render", "--diff", "--format", "json"]).code(1).stdout(
        r#"{
  "inSync": false,
  "added": [],
  "changed": [],
  "removed": [],
  "bookkeeping": [],
  "foreign": [
    "README.md"
  ],
  "foreignManifests": [
    "cluster/clusterrolebinding-backdoor.yaml",
    "namespaces/apps/extra.json"
  ],
  "special": []
}"#,
    );
    assert_eq!(before, repo.snapshot(), "--diff never writes");
    // render keeps them (kiln never deletes a file it does not own); the gate still fails.
    repo.kiln(&["render"]).code(0);
    assert_eq!(repo.read("rendered/cluster/clusterrolebinding-backdoor.yaml"), CLUSTER_ADMIN);
    repo.kiln(&["render", "--diff", "--stat"]).code(1);
}

#[test]
fn only_names_argo_cd_reads_are_foreign_manifests() {
    let repo = rendered();
    for name in ["a.yaml", "b.yml", "c.json", "d.jsonnet", "e.md", "f.yaml.orig", "g.YAML"] {
        repo.write(&format!("rendered/namespaces/apps/{name}"), b"x\n");
    }
    repo.kiln(&["render", "--diff", "--stat"]).code(1).stdout(
        "! rendered/namespaces/apps/a.yaml  (not kiln's, and Argo CD would sync it; kept)
! rendered/namespaces/apps/b.yml  (not kiln's, and Argo CD would sync it; kept)
! rendered/namespaces/apps/c.json  (not kiln's, and Argo CD would sync it; kept)
! rendered/namespaces/apps/d.jsonnet  (not kiln's, and Argo CD would sync it; kept)
? rendered/namespaces/apps/e.md  (not kiln's; kept)
? rendered/namespaces/apps/f.yaml.orig  (not kiln's; kept)
? rendered/namespaces/apps/g.YAML  (not kiln's; kept)
drift: 0 added, 0 changed, 0 removed, 4 foreign manifests",
    );
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("id(1)");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

#[test]
fn special_files_are_followed() {
    let repo = rendered();
    let rendered = repo.path().join("rendered");
    // A symlink where kiln writes a file, pointing at a file whose content must not be shown.
    let owned = "namespaces/apps/configmap-web-env.yaml";
    repo.write("outside/secret.txt", b"TOP-SECRET\n");
    std::fs::remove_file(rendered.join(owned)).unwrap();
    symlink(repo.path().join("outside/secret.txt"), rendered.join(owned)).unwrap();
    symlink("/dev/zero", rendered.join("zero.yaml")).unwrap();
    let fifo = rendered.join("namespaces/apps/pipe.yaml");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo(1)");
    assert!(status.success());
    let mut expected_diff = vec![
        "! rendered/zero.yaml  (a symbolic link, never followed)",
        "! rendered/namespaces/apps/configmap-web-env.yaml  (a symbolic link, never followed)",
    ];
    let mut expected_verify = vec![
        "not a regular file (a symbolic link, never followed): rendered/zero.yaml",
        "not a regular file (a symbolic link, never followed): rendered/namespaces/apps/configmap-web-env.yaml",
    ];
    // Device nodes need root: like /dev/zero, reading one never ends.
    if is_root() {
        let device = rendered.join("namespaces/apps/zero.yaml");
        let status = Command::new("mknod").arg(&device).args(["c", "1", "5"]).status().expect("mknod(1)");
        assert!(status.success());
        expected_diff.push("! rendered/namespaces/apps/pipe.yaml  (a FIFO, never followed)");
        expected_diff.push("! rendered/namespaces/apps/zero.yaml  (a device file, never followed)");
        expected_verify.push("not a regular file (a FIFO, never followed): rendered/namespaces/apps/pipe.yaml");
        expected_verify.push("not a regular file (a device file, never followed): rendered/namespaces/apps/zero.yaml");
    } else {
        eprintln!("special_files_are_followed: not root, so no device node (mknod needs root); skipped that case");
        expected_diff.push("! rendered/namespaces/apps/pipe.yaml  (a FIFO, never followed)");
        expected_verify.push("not a regular file (a FIFO, never followed): rendered/namespaces/apps/pipe.yaml");
    }
    // Listed by path.
    expected_diff.sort_by_key(|line| line.split("  ").next().unwrap_or_default().to_string());
    expected_verify.sort_by_key(|line| line.rsplit(' ').next().unwrap_or_default().to_string());
    let specials = expected_diff.len();
    let run = kiln_within_20s(&repo, &["render", "--diff"], &[]);
    run.code(1).stderr("");
    assert!(!run.stdout.contains("TOP-SECRET"), "a symlink's target is never read:\n{}", run.stdout);
    assert!(
        run.stdout.ends_with(&format!(
            "{}\ndrift: 0 added, 0 changed, 0 removed, {specials} special files\n",
            expected_diff.join("\n")
        )),
        "{}",
        run.stdout
    );
    let json = kiln_within_20s(&repo, &["render", "--diff", "--format", "json"], &[]);
    json.code(1);
    assert!(json.stdout.contains("{\n      \"path\": \"zero.yaml\",\n      \"kind\": \"symlink\"\n    }"));
    assert!(json.stdout.contains("\"kind\": \"fifo\""), "{}", json.stdout);
    kiln_within_20s(&repo, &["verify"], &[])
        .code(1)
        .stderr("")
        .stdout(&format!("{}\n{FAILED}", expected_verify.join("\n")));
    let json = kiln_within_20s(&repo, &["verify", "--format", "json"], &[]);
    json.code(1);
    assert!(
        json.stdout.contains("{\n      \"path\": \"zero.yaml\",\n      \"kind\": \"symlink\"\n    }"),
        "{}",
        json.stdout
    );
    assert_eq!(read_tree(&repo.path().join("outside")).len(), 1, "nothing written through the link");
}

/// Rewrites `rendered/kiln.lock` with `edit` and SHA256SUMS to match, as someone covering their tracks would.
fn forge_lock(repo: &Repo, edit: impl Fn(&str) -> String) {
    use sha2::{Digest, Sha256};
    let lock = edit(&repo.read("rendered/kiln.lock"));
    let sha: String = Sha256::digest(lock.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    let sums: String = repo
        .read("rendered/SHA256SUMS")
        .lines()
        .map(|line| if line.ends_with("  kiln.lock") { format!("{sha}  kiln.lock\n") } else { format!("{line}\n") })
        .collect();
    repo.write("rendered/kiln.lock", lock.as_bytes());
    repo.write("rendered/SHA256SUMS", sums.as_bytes());
}

fn replace_line(text: &str, key: &str, value: &str) -> String {
    text.lines()
        .map(|line| if line.starts_with(key) { format!("{key}{value}\n") } else { format!("{line}\n") })
        .collect()
}

#[test]
fn the_lock_is_not_checked() {
    // A forged outputs digest, SHA256SUMS updated to match the forged lock.
    let repo = rendered();
    forge_lock(&repo, |lock| replace_line(lock, "outputsDigest: ", &"0".repeat(64)));
    let before = repo.snapshot();
    repo.kiln(&["verify"]).code(1).stderr("").stdout(&format!(
        "lock does not match SHA256SUMS (its outputs digest is not the digest of the listed files): rendered/kiln.lock\n{FAILED}"
    ));
    let json = repo.kiln(&["verify", "--format", "json"]);
    json.code(1);
    assert!(json.stdout.contains("\"outputsDigestMismatch\": true"), "{}", json.stdout);

    // An object edited and its SHA256SUMS line updated, the lock left as it was.
    let repo = rendered();
    let path = "namespaces/apps/deployment-web.yaml";
    let edited = repo.read(&format!("rendered/{path}")).replace("replicas: 1", "replicas: 9");
    repo.write(&format!("rendered/{path}"), edited.as_bytes());
    use sha2::{Digest, Sha256};
    let sha: String = Sha256::digest(edited.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    let sums: String = repo
        .read("rendered/SHA256SUMS")
        .lines()
        .map(|line| if line.ends_with(&format!("  {path}")) { format!("{sha}  {path}\n") } else { format!("{line}\n") })
        .collect();
    repo.write("rendered/SHA256SUMS", sums.as_bytes());
    repo.kiln(&["verify"]).code(1).stdout(&format!(
        "lock does not match SHA256SUMS (its outputs digest is not the digest of the listed files): rendered/kiln.lock\n{FAILED}"
    ));

    // The lock's per-input list edited: it no longer agrees with its own digest.
    let repo = rendered();
    forge_lock(&repo, |lock| lock.replace("values/cluster.yaml: ", "values/cluster.yaml: 00"));
    repo.kiln(&["verify"]).code(1).stdout(&format!("input changed since the last render: kiln.lock\n{FAILED}"));

    // SHA256SUMS with an extra blank line still parses, but is not what kiln wrote.
    let repo = rendered();
    let sums = repo.read("rendered/SHA256SUMS");
    repo.write("rendered/SHA256SUMS", format!("{sums}\n").as_bytes());
    repo.kiln(&["verify"])
        .code(1)
        .stdout(&format!("not as kiln writes it (sorted `<sha256>  <path>` lines): rendered/SHA256SUMS\n{FAILED}"));
    assert_eq!(before.len(), repo.snapshot().len());
}

/// `kiln <args>` with `KILN_FAST_PATH` set to `mode`.
fn kiln_path(repo: &Repo, mode: &str, args: &[&str]) -> Run {
    kiln_within_20s(repo, args, &[("KILN_FAST_PATH", mode)])
}

const ANSWERED: &str = "kiln: answered from rendered/kiln.lock\n";

#[test]
fn no_change_renders_are_free() {
    // The fixture's plan warns, so stderr carries findings on both paths.
    let repo = Repo::fixture("homelab", false);
    repo.kiln(&["render"]).code(0);
    let stamps = repo.stamps();
    for args in [
        &["render"][..],
        &["render", "--diff"],
        &["render", "--diff", "--stat"],
        &["render", "--diff", "--format", "json"],
        &["--color", "always", "render", "--diff"],
    ] {
        let full = kiln_path(&repo, "off", args);
        let fast = kiln_path(&repo, "on", args);
        assert!(full.stderr.contains("warning["), "{args:?}: the fixture has findings:\n{}", full.stderr);
        assert_eq!(full.code, 0, "{args:?}");
        assert_eq!((fast.code, &fast.stdout, &fast.stderr), (full.code, &full.stdout, &full.stderr), "{args:?}");
        let traced = kiln_path(&repo, "trace", args);
        assert_eq!(traced.stderr, format!("{ANSWERED}{}", full.stderr), "{args:?} took the fast path");
        assert_eq!(traced.stdout, full.stdout);
    }
    assert_eq!(stamps, repo.stamps(), "neither path rewrote a file");
    let run = kiln_path(&repo, "sometimes", &["render"]);
    run.code(2).stderr("error: KILN_FAST_PATH must be `on`, `off` or `trace`");
}

/// `render --diff --stat` traced: the full path ran, for the given reason.
#[track_caller]
fn assert_full_path(repo: &Repo, reason: &str, what: &str) -> Run {
    let run = kiln_path(repo, "trace", &["render", "--diff", "--stat"]);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("kiln: full render: {reason}"), "{what}:\n{}", run.stderr);
    run
}

#[test]
fn fast_path_never_hides_a_change() {
    let repo = Repo::fixture("homelab", false);
    repo.kiln(&["render"]).code(0);
    let rendered = read_tree(&repo.path().join("rendered"));
    let inputs: Vec<String> = ["values", "templates"]
        .iter()
        .flat_map(|dir| read_tree(&repo.path().join(dir)).into_keys().map(move |path| format!("{dir}/{path}")))
        .collect();
    assert!(inputs.len() > 10);

    // Any byte of any input: the lock's inputs change, so the tree is stale.
    for path in &inputs {
        let original = std::fs::read(repo.path().join(path)).unwrap();
        let mut edited = original.clone();
        edited.push(b'\n');
        repo.write(path, &edited);
        let run = assert_full_path(&repo, "the inputs changed since rendered/kiln.lock was written", path);
        run.code(1);
        let json = kiln_path(&repo, "on", &["render", "--diff", "--format", "json"]);
        assert!(
            json.stdout.contains("\"bookkeeping\": [\n    \"SHA256SUMS\",\n    \"kiln.lock\"\n  ]"),
            "{path}:\n{}",
            json.stdout
        );
        repo.write(path, &original);
    }
    // An input added or removed.
    repo.write("templates/_unused.tera", b"{% macro unused() %}{% endmacro %}\n");
    assert_full_path(&repo, "the inputs changed since rendered/kiln.lock was written", "added").code(1);
    repo.remove("templates/_unused.tera");
    let removed = "templates/nodes/setup.sh";
    let original = std::fs::read(repo.path().join(removed)).unwrap();
    repo.remove(removed);
    assert_full_path(&repo, "the inputs changed since rendered/kiln.lock was written", "removed").code(1);
    repo.write(removed, &original);

    // Another kiln version or build wrote the lock (SHA256SUMS made to match, so the tree verifies).
    for (key, value) in [("kilnBuild: ", "0".repeat(64)), ("kilnVersion: ", "0.0.0".to_string())] {
        forge_lock(&repo, |lock| replace_line(lock, key, &value));
        repo.kiln(&["verify"]).code(0);
        let run = assert_full_path(&repo, "rendered/kiln.lock was written by another kiln version or build", key);
        run.code(1).stdout("drift: 0 added, 0 changed, 0 removed; only SHA256SUMS and kiln.lock are out of date");
        for (path, bytes) in &rendered {
            repo.write(&format!("rendered/{path}"), bytes);
        }
    }

    // Any byte of any rendered file: changed in the middle, or one byte appended.
    for (path, bytes) in &rendered {
        let middle = bytes.len() / 2;
        let mut flipped = bytes.clone();
        flipped[middle] = if flipped[middle] == b'x' { b'y' } else { b'x' };
        let mut appended = bytes.clone();
        appended.push(b'\n');
        for edited in [flipped, appended] {
            repo.write(&format!("rendered/{path}"), &edited);
            let run = kiln_path(&repo, "trace", &["render", "--diff", "--stat"]);
            assert!(run.stderr.starts_with("kiln: full render: "), "{path}:\n{}", run.stderr);
            assert_ne!(run.code, 0, "{path}: the full render sees the change\n{}", run.stdout);
            repo.write(&format!("rendered/{path}"), bytes);
        }
    }
    // A file added to the tree, and leftovers of a render that stopped.
    repo.write("rendered/notes.md", b"mine\n");
    assert_full_path(&repo, "rendered/ does not verify (see `kiln verify`)", "notes.md").code(0);
    repo.remove("rendered/notes.md");
    // Leftovers of a render that stopped are tidied by the reader's recovery
    // (the writer lock is free) before the lock is trusted.
    repo.write(".rendered.kiln-staging/x", b"");
    kiln_path(&repo, "trace", &["render", "--diff", "--stat"]).code(0);
    assert!(!repo.exists(".rendered.kiln-staging"), "render --diff recovers before answering");

    // Restored: the fast path answers again.
    let run = kiln_path(&repo, "trace", &["render", "--diff", "--stat"]);
    assert!(run.stderr.starts_with(ANSWERED), "{}", run.stderr);
    run.code(0);
}

#[test]
fn special_files_among_the_inputs_are_refused_not_read() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    let fifo = repo.path().join("values/namespaces/pipe.yaml");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo(1)");
    assert!(status.success());
    for args in [&["render"][..], &["render", "--diff"], &["validate"], &["verify"]] {
        kiln_within_20s(&repo, args, &[]).code(2).stderr(
            "error: `values/namespaces/pipe.yaml` is a FIFO, not a regular file; kiln reads only regular files as inputs\n  = help: replace it with a regular file or move it out of values/ and templates/",
        );
    }
    assert_eq!(before, repo.snapshot(), "rendered/ is untouched");
}
