//! `kiln render`: output layout, determinism, ownership and atomicity.

use crate::harness::Repo;

#[test]
fn renders_objects_hashes_and_lock() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0).stdout("rendered 2 objects into 4 files: 4 added, 0 changed, 0 removed");
    assert!(repo.exists("rendered/namespaces/apps/deployment-web.yaml"));
    assert!(repo.exists("rendered/namespaces/apps/configmap-web-env.yaml"));
    let sums = repo.read("rendered/SHA256SUMS");
    assert!(sums.contains("  namespaces/apps/deployment-web.yaml\n"), "{sums}");
    assert!(sums.contains("  kiln.lock\n"), "{sums}");
    let status = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(repo.path().join("rendered"))
        .status()
        .expect("sha256sum");
    assert!(status.success(), "coreutils sha256sum -c must accept SHA256SUMS");
}

#[test]
fn second_render_changes_nothing() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    repo.kiln(&["render"]).code(0).stdout("rendered 2 objects into 4 files: 0 added, 0 changed, 0 removed");
    assert_eq!(before, repo.snapshot());
    repo.kiln(&["render", "--diff"]).code(0).stdout("in sync: 0 added, 0 changed, 0 removed");
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn regression_plain_secret_with_data_is_refused() {
    let repo = Repo::minimal().file(
        "templates/namespaces/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n",
    );
    repo.kiln(&["render"]).code(2).stderr(
        "error: document 1: Secret `db` carries data in plaintext; kiln never writes secret values to Git
  --> templates/namespaces/secret.yaml (rendering namespace apps)
  = help: declare it as a sealed secret under `secrets:` in the namespace values (kubeseal ciphertext) and reference it",
    );
    assert!(!repo.exists("rendered"));
}
