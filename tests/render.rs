//! `kiln render`: output layout, ownership (prune, foreign files), no
//! needless rewrites and atomicity.

use crate::harness::{Repo, MINIMAL_NAMESPACE};

#[test]
fn renders_objects_hashes_and_lock() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0).stderr("").stdout("rendered 4 objects into 4 files: 4 added, 0 changed, 0 removed");
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
fn object_files_have_a_source_header_and_canonical_key_order() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    assert_eq!(
        repo.read("rendered/namespaces/apps/configmap-web-env.yaml"),
        "# Source: templates/workloads/deployment.yaml
# Values: values/cluster.yaml, values/namespaces/apps.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  namespace: apps
data:
  MODE: prod
"
    );
}

#[test]
fn lock_records_every_input() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let lock = repo.read("rendered/kiln.lock");
    for input in [
        "templates/workloads/deployment.yaml",
        "values/cluster.yaml",
        "values/namespaces/apps.yaml",
        "values/nodes/n1.yaml",
    ] {
        assert!(lock.contains(&format!("  {input}: ")), "{input} missing from the lock:\n{lock}");
    }
    assert!(lock.starts_with("# Written by `kiln render`; do not edit."), "{lock}");
}

#[test]
fn second_render_changes_nothing() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    let stamps = repo.stamps();
    std::thread::sleep(std::time::Duration::from_millis(20));
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed");
    assert_eq!(before, repo.snapshot());
    assert_eq!(stamps, repo.stamps(), "a render with no changes must not rewrite any file (same inode and mtime)");
    repo.kiln(&["render", "--diff"]).code(0).stdout("in sync: 0 added, 0 changed, 0 removed");
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn a_change_rewrites_only_the_affected_files() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let stamps = repo.stamps();
    std::thread::sleep(std::time::Duration::from_millis(20));
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("nginx:1.27", "nginx:1.28").as_bytes());
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 0 added, 1 changed, 0 removed");
    let after = repo.stamps();
    assert_eq!(stamps["namespaces/apps/configmap-web-env.yaml"], after["namespaces/apps/configmap-web-env.yaml"]);
    for changed in ["namespaces/apps/deployment-web.yaml", "kiln.lock", "SHA256SUMS"] {
        assert_ne!(stamps[changed], after[changed], "{changed} must be rewritten");
    }
    assert!(repo.read("rendered/namespaces/apps/deployment-web.yaml").contains("image: nginx:1.28"));
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn removed_workload_is_pruned() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("values/namespaces/apps.yaml", b"name: apps\n");
    repo.kiln(&["render"]).code(0).stderr("").stdout("rendered 2 objects into 2 files: 0 added, 0 changed, 2 removed");
    assert!(!repo.exists("rendered/namespaces/apps/deployment-web.yaml"));
    assert!(!repo.exists("rendered/namespaces/apps/configmap-web-env.yaml"));
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn prune_removes_only_files_the_previous_sha256sums_lists() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("rendered/namespaces/apps/notes.md", b"kept\n");
    repo.write("values/namespaces/apps.yaml", b"name: apps\n");
    repo.kiln(&["render"])
        .code(0)
        .stderr("note: kept rendered/namespaces/apps/notes.md, which kiln does not own")
        .stdout("rendered 2 objects into 2 files: 0 added, 0 changed, 2 removed");
    assert!(!repo.exists("rendered/namespaces/apps/deployment-web.yaml"));
    assert_eq!(repo.read("rendered/namespaces/apps/notes.md"), "kept\n");
}

#[test]
fn foreign_file_is_kept_and_reported() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("rendered/README.md", b"hand-written\n");
    repo.kiln(&["render"])
        .code(0)
        .stderr("note: kept rendered/README.md, which kiln does not own")
        .stdout("rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed");
    assert_eq!(repo.read("rendered/README.md"), "hand-written\n");
    repo.kiln(&["render", "--diff", "--stat"])
        .code(0)
        .stdout("? rendered/README.md  (not kiln's; kept)\nin sync: 0 added, 0 changed, 0 removed");
}

#[test]
fn foreign_file_survives_a_render_that_changes_things() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("rendered/README.md", b"hand-written\n");
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("prod", "dev").as_bytes());
    repo.kiln(&["render"]).code(0).stderr("note: kept rendered/README.md, which kiln does not own");
    assert_eq!(repo.read("rendered/README.md"), "hand-written\n");
}

#[test]
fn refuses_to_overwrite_a_file_it_does_not_own() {
    let repo = Repo::minimal();
    repo.write("rendered/namespaces/apps/deployment-web.yaml", b"# mine\n");
    let before = repo.snapshot();
    repo.kiln(&["render"]).code(2).stdout("").stderr(
        "error: kiln would overwrite a file it does not own (it is not in SHA256SUMS)
  --> <repo>/rendered/namespaces/apps/deployment-web.yaml
  = help: move the file out of rendered/ or delete it, then render again",
    );
    assert_eq!(before, repo.snapshot());
}

#[test]
fn refuses_to_overwrite_an_unlisted_file_in_an_owned_tree() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("rendered/namespaces/apps/deployment-api.yaml", b"# mine\n");
    let before = repo.snapshot();
    let namespace = format!("{MINIMAL_NAMESPACE}  api:\n    kind: Deployment\n    image: api:1\n    env: {{A: b}}\n");
    repo.write("values/namespaces/apps.yaml", namespace.as_bytes());
    repo.kiln(&["render"]).code(2).stderr(
        "error: kiln would overwrite a file it does not own (it is not in SHA256SUMS)
  --> <repo>/rendered/namespaces/apps/deployment-api.yaml
  = help: move the file out of rendered/ or delete it, then render again",
    );
    assert_eq!(before, repo.snapshot());
}

#[test]
fn disabled_workload_is_not_rendered() {
    let repo = Repo::minimal().file("values/namespaces/apps.yaml", &format!("{MINIMAL_NAMESPACE}    enabled: false\n"));
    repo.kiln(&["render"]).code(0).stdout("rendered 2 objects into 2 files: 2 added, 0 changed, 0 removed");
}

#[test]
fn an_error_after_rendering_started_leaves_rendered_untouched() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    let stamps = repo.stamps();
    // The values change would rewrite files, but a later template fails.
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("prod", "dev").as_bytes());
    repo.write("templates/workloads/zz-broken.yaml", b"a: {{ workload.missing }}\n");
    repo.kiln(&["render"]).code(2);
    assert_eq!(before, repo.snapshot());
    assert_eq!(stamps, repo.stamps());
    let beside: Vec<_> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".rendered.kiln-staging"))
        .collect();
    assert_eq!(beside, Vec::<String>::new(), "no staging directory is left behind");
}

#[test]
fn leftover_staging_dirs_of_a_crashed_run_do_not_break_the_next_run() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write(".rendered.kiln-staging/namespaces/apps/half-written.yaml", b"apiVersion: v");
    repo.write(".rendered.kiln-old/SHA256SUMS", b"garbage");
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("prod", "dev").as_bytes());
    // The ConfigMap and the Deployment (its checksum annotation); kiln.lock and SHA256SUMS are not counted.
    repo.kiln(&["render"]).code(0).stderr("").stdout("rendered 4 objects into 4 files: 0 added, 2 changed, 0 removed");
    assert!(!repo.exists(".rendered.kiln-staging"));
    assert!(!repo.exists(".rendered.kiln-old"));
    assert!(!repo.exists("rendered/namespaces/apps/half-written.yaml"));
    repo.kiln(&["verify"]).code(0);
}

#[test]
fn leftover_staging_dirs_are_cleaned_even_when_nothing_changes() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write(".rendered.kiln-staging/x", b"");
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed");
    assert!(!repo.exists(".rendered.kiln-staging"));
}

#[test]
fn crash_between_the_two_renames_is_recovered() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("rendered/notes.md", b"mine\n");
    // A crash after `rendered/` was moved aside and before the staged tree moved in.
    std::fs::rename(repo.path().join("rendered"), repo.path().join(".rendered.kiln-old")).unwrap();
    repo.kiln(&["render"])
        .code(0)
        .stderr("note: kept rendered/notes.md, which kiln does not own")
        .stdout("rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed");
    assert_eq!(repo.read("rendered/notes.md"), "mine\n");
    assert!(!repo.exists(".rendered.kiln-old"));
}

#[test]
fn root_from_environment_and_relative_dash_c() {
    let repo = Repo::minimal();
    let mut command = repo.command();
    command.env("KILN_ROOT", repo.path()).arg("render");
    repo.run(&mut command).code(0).stdout("rendered 4 objects into 4 files: 4 added, 0 changed, 0 removed");
    let mut command = repo.command();
    command.current_dir(repo.path().parent().unwrap()).arg("-C").arg(repo.path().file_name().unwrap()).arg("verify");
    repo.run(&mut command).code(0);
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
