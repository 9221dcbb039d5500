//! `kiln verify`: rendered/ against SHA256SUMS and the lock against today's
//! inputs, without running templates. Exit 0 ok, 1 failed check, 2 error.

use crate::harness::{Repo, MINIMAL_NAMESPACE};

const FAILED: &str = "verify failed: run `kiln render` and commit rendered/, or restore the edited files";

fn rendered() -> Repo {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo
}

#[test]
fn fresh_render_verifies() {
    rendered()
        .kiln(&["verify"])
        .code(0)
        .stderr("")
        .stdout("verified: 5 files match SHA256SUMS and the lock matches the inputs");
}

#[test]
fn tampered_file() {
    let repo = rendered();
    let path = "rendered/namespaces/apps/deployment-web.yaml";
    repo.write(path, repo.read(path).replace("replicas: 1", "replicas: 3").as_bytes());
    repo.kiln(&["verify"]).code(1).stderr("").stdout(&format!(
        "modified (hash differs from SHA256SUMS): rendered/namespaces/apps/deployment-web.yaml\n{FAILED}"
    ));
}

#[test]
fn missing_listed_file() {
    let repo = rendered();
    repo.remove("rendered/namespaces/apps/configmap-web-env.yaml");
    repo.kiln(&["verify"])
        .code(1)
        .stdout(&format!("missing (listed in SHA256SUMS): rendered/namespaces/apps/configmap-web-env.yaml\n{FAILED}"));
}

#[test]
fn unlisted_file() {
    let repo = rendered();
    repo.write("rendered/namespaces/apps/secret-web.yaml", b"kind: Secret\n");
    repo.kiln(&["verify"])
        .code(1)
        .stdout(&format!("unlisted (not in SHA256SUMS): rendered/namespaces/apps/secret-web.yaml\n{FAILED}"));
}

#[test]
fn values_edited_but_not_rendered_names_the_stale_input() {
    let repo = rendered();
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("prod", "dev").as_bytes());
    repo.kiln(&["verify"])
        .code(1)
        .stdout(&format!("input changed since the last render: values/namespaces/apps.yaml\n{FAILED}"));
    repo.kiln(&["render"]).code(0);
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn added_and_removed_inputs_are_stale_too() {
    let repo = rendered();
    repo.write("values/nodes/n2.yaml", b"name: n2\nrole: agent\n");
    repo.remove("templates/workloads/deployment.yaml");
    repo.write("templates/workloads/app.yaml", crate::harness::MINIMAL_TEMPLATE.as_bytes());
    repo.kiln(&["verify"]).code(1).stdout(&format!(
        "input changed since the last render: templates/workloads/app.yaml
input changed since the last render: templates/workloads/deployment.yaml
input changed since the last render: values/nodes/n2.yaml
{FAILED}"
    ));
}

#[test]
fn verify_does_not_run_templates() {
    // A template that no longer parses is only a stale input to verify.
    let repo = rendered();
    repo.write("templates/workloads/deployment.yaml", b"{{ broken\n");
    repo.kiln(&["verify"])
        .code(1)
        .stdout(&format!("input changed since the last render: templates/workloads/deployment.yaml\n{FAILED}"));
}

#[test]
fn edited_lock_is_caught() {
    let repo = rendered();
    let lock = repo.read("rendered/kiln.lock");
    let digest = lock.lines().find(|line| line.starts_with("inputsDigest: ")).unwrap().to_string();
    let edited = lock.replace(&digest, &format!("inputsDigest: {}", "0".repeat(64)));
    repo.write("rendered/kiln.lock", edited.as_bytes());
    // Both the lock's own hash and its digest disagree.
    repo.kiln(&["verify"]).code(1).stdout(&format!(
        "modified (hash differs from SHA256SUMS): rendered/kiln.lock
input changed since the last render: kiln.lock
{FAILED}"
    ));
}

#[test]
fn every_problem_is_listed_at_once() {
    let repo = rendered();
    repo.write("rendered/namespaces/apps/deployment-web.yaml", b"tampered\n");
    repo.remove("rendered/namespaces/apps/configmap-web-env.yaml");
    repo.write("rendered/extra.yaml", b"x: 1\n");
    repo.write("values/nodes/n1.yaml", b"name: n1\nrole: agent\n");
    repo.kiln(&["verify"]).code(1).stdout(&format!(
        "modified (hash differs from SHA256SUMS): rendered/namespaces/apps/deployment-web.yaml
missing (listed in SHA256SUMS): rendered/namespaces/apps/configmap-web-env.yaml
unlisted (not in SHA256SUMS): rendered/extra.yaml
input changed since the last render: values/nodes/n1.yaml
{FAILED}"
    ));
    repo.kiln(&["verify", "--format", "json"]).code(1).stdout(
        r#"{
  "modified": [
    "namespaces/apps/deployment-web.yaml"
  ],
  "missing": [
    "namespaces/apps/configmap-web-env.yaml"
  ],
  "unlisted": [
    "extra.yaml"
  ],
  "special": [],
  "sumsNotCanonical": false,
  "outputsDigestMismatch": false,
  "staleInputs": [
    "values/nodes/n1.yaml"
  ],
  "filesChecked": 4
}"#,
    );
}

#[test]
fn agrees_with_sha256sum() {
    let repo = rendered();
    repo.write("rendered/namespaces/apps/deployment-web.yaml", b"tampered\n");
    let status = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(repo.path().join("rendered"))
        .output()
        .expect("sha256sum");
    assert!(!status.status.success());
    assert_eq!(String::from_utf8_lossy(&status.stdout), "namespaces/apps/deployment-web.yaml: FAILED\n");
    repo.kiln(&["verify"]).code(1);
}

#[test]
fn nothing_rendered_is_an_error() {
    Repo::minimal().kiln(&["verify"]).code(2).stdout("").stderr(
        "error: rendered/ has no SHA256SUMS
  --> <repo>/rendered/SHA256SUMS
  = help: run `kiln render` to create the tree and its hashes",
    );
}

#[test]
fn unreadable_sha256sums_is_an_error() {
    let repo = rendered();
    repo.write("rendered/SHA256SUMS", b"not a checksum line\n");
    repo.kiln(&["verify"]).code(2).stderr(
        "error: SHA256SUMS is not in `<sha256>  <path>` format
  --> <repo>/rendered/SHA256SUMS
  = help: restore it from git (`git checkout -- rendered/SHA256SUMS`) and render again",
    );
}

#[test]
fn deleted_lock_is_a_missing_file() {
    let repo = rendered();
    repo.remove("rendered/kiln.lock");
    repo.kiln(&["verify"])
        .code(1)
        .stderr("")
        .stdout(&format!("missing (listed in SHA256SUMS): rendered/kiln.lock\n{FAILED}"));
}

#[test]
fn damaged_lock_is_a_modified_file() {
    let repo = rendered();
    repo.write("rendered/kiln.lock", b"{{ merge conflict\n");
    repo.kiln(&["verify"])
        .code(1)
        .stderr("")
        .stdout(&format!("modified (hash differs from SHA256SUMS): rendered/kiln.lock\n{FAILED}"));
}

#[test]
fn lock_that_sha256sums_does_not_list_is_an_error() {
    let repo = rendered();
    repo.remove("rendered/kiln.lock");
    let sums = repo.read("rendered/SHA256SUMS");
    let sums: String =
        sums.lines().filter(|line| !line.ends_with("  kiln.lock")).map(|line| format!("{line}\n")).collect();
    repo.write("rendered/SHA256SUMS", sums.as_bytes());
    repo.kiln(&["verify"]).code(2).stdout("").stderr(
        "error: rendered/ has no kiln.lock
  --> <repo>/rendered/kiln.lock
  = help: run `kiln render` to write it",
    );
}
