//! `kiln render --diff`: text, `--stat` and JSON output, colour, exit 0 in
//! sync and 1 on drift, and never a write.

use crate::harness::{Repo, MINIMAL_NAMESPACE};

/// A rendered minimal repository whose values then changed `MODE: prod` to `dev`.
fn drifted() -> Repo {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("values/namespaces/apps.yaml", MINIMAL_NAMESPACE.replace("prod", "dev").as_bytes());
    repo
}

#[test]
fn in_sync_exits_zero() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.kiln(&["render", "--diff"]).code(0).stderr("").stdout("in sync: 0 added, 0 changed, 0 removed");
    repo.kiln(&["render", "--diff", "--stat"]).code(0).stdout("in sync: 0 added, 0 changed, 0 removed");
    repo.kiln(&["render", "--diff", "--format", "json"]).code(0).stdout(
        r#"{
  "inSync": true,
  "added": [],
  "changed": [],
  "removed": [],
  "bookkeeping": [],
  "foreign": [],
  "foreignManifests": [],
  "special": []
}"#,
    );
}

#[test]
fn drift_shows_unified_diffs_and_exits_one() {
    let repo = drifted();
    let before = repo.snapshot();
    let run = repo.kiln(&["render", "--diff"]);
    run.code(1).stderr("");
    assert!(
        run.stdout.contains(
            "--- a/rendered/namespaces/apps/configmap-web-env.yaml
+++ b/rendered/namespaces/apps/configmap-web-env.yaml
@@ -6,4 +6,4 @@
   name: web-env
   namespace: apps
 data:
-  MODE: prod
+  MODE: dev
"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("+++ b/rendered/namespaces/apps/deployment-web.yaml\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("-        checksum/configmap-web-env: "),
        "the pod template checksum follows the config"
    );
    assert!(!run.stdout.contains('\x1b'), "no colour when NO_COLOR is set or stdout is not a terminal");
    assert!(
        run.stdout.ends_with(
            "~ ConfigMap apps/web-env  (rendered/namespaces/apps/configmap-web-env.yaml)
~ Deployment.apps apps/web  (rendered/namespaces/apps/deployment-web.yaml)
drift: 0 added, 2 changed, 0 removed
"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(before, repo.snapshot(), "--diff never writes");
}

#[test]
fn stat_prints_only_the_summary() {
    drifted().kiln(&["render", "--diff", "--stat"]).code(1).stdout(
        "~ ConfigMap apps/web-env  (rendered/namespaces/apps/configmap-web-env.yaml)
~ Deployment.apps apps/web  (rendered/namespaces/apps/deployment-web.yaml)
drift: 0 added, 2 changed, 0 removed",
    );
}

#[test]
fn json_for_machines() {
    let repo = drifted();
    repo.write("rendered/notes.md", b"mine\n");
    repo.kiln(&["render", "--diff", "--format", "json"]).code(1).stdout(
        r#"{
  "inSync": false,
  "added": [],
  "changed": [
    {
      "path": "namespaces/apps/configmap-web-env.yaml",
      "object": "ConfigMap apps/web-env"
    },
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
  "foreign": [
    "notes.md"
  ],
  "foreignManifests": [],
  "special": []
}"#,
    );
}

#[test]
fn added_and_removed_objects_diff_against_dev_null() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let namespace = MINIMAL_NAMESPACE.replace("  web:", "  api:");
    repo.write("values/namespaces/apps.yaml", namespace.as_bytes());
    let run = repo.kiln(&["render", "--diff"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "--- /dev/null
+++ b/rendered/namespaces/apps/configmap-api-env.yaml
@@ -0,0 +1,9 @@
+# Source: templates/workloads/deployment.yaml
"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--- a/rendered/namespaces/apps/deployment-web.yaml\n+++ /dev/null\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            "+ ConfigMap apps/api-env  (rendered/namespaces/apps/configmap-api-env.yaml)
+ Deployment.apps apps/api  (rendered/namespaces/apps/deployment-api.yaml)
- ConfigMap apps/web-env  (rendered/namespaces/apps/configmap-web-env.yaml)
- Deployment.apps apps/web  (rendered/namespaces/apps/deployment-web.yaml)
drift: 2 added, 0 changed, 2 removed
"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn nothing_rendered_yet_is_all_drift() {
    let repo = Repo::minimal();
    repo.kiln(&["render", "--diff", "--stat"]).code(1).stdout(
        "+ ConfigMap apps/web-env  (rendered/namespaces/apps/configmap-web-env.yaml)
+ Deployment.apps apps/web  (rendered/namespaces/apps/deployment-web.yaml)
+ NetworkPolicy.networking.k8s.io apps/allow-dns  (rendered/namespaces/apps/networkpolicy-allow-dns.yaml)
+ NetworkPolicy.networking.k8s.io apps/default-deny  (rendered/namespaces/apps/networkpolicy-default-deny.yaml)
drift: 4 added, 0 changed, 0 removed",
    );
    assert!(!repo.exists("rendered"), "--diff never writes");
}

#[test]
fn hand_edited_rendered_file_is_drift() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let path = "rendered/namespaces/apps/configmap-web-env.yaml";
    repo.write(path, repo.read(path).replace("prod", "hotfix").as_bytes());
    let run = repo.kiln(&["render", "--diff"]);
    run.code(1);
    assert!(run.stdout.contains("-  MODE: hotfix\n+  MODE: prod\n"), "{}", run.stdout);
}

#[test]
fn colour_when_asked_or_on_a_terminal_unless_no_color() {
    let repo = drifted();
    let run = repo.kiln(&["--color", "always", "render", "--diff"]);
    run.code(1);
    assert!(run.stdout.contains("\x1b[31m-  MODE: prod\x1b[0m\n\x1b[32m+  MODE: dev\x1b[0m\n"), "{}", run.stdout);
    repo.kiln(&["--color", "never", "render", "--diff"]).code(1);

    // `script` gives kiln a terminal as stdout.
    let kiln = crate::harness::KILN;
    let root = repo.path().display();
    let on_tty = |env: &str| {
        let output = std::process::Command::new("script")
            .args(["-qec", &format!("env -u NO_COLOR {env} {kiln} -C {root} render --diff"), "/dev/null"])
            .output()
            .expect("script(1) from util-linux runs kiln on a terminal");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(on_tty("").contains("\x1b[32m+  MODE: dev\x1b[0m"), "colour on a terminal");
    assert!(!on_tty("NO_COLOR=1").contains('\x1b'), "NO_COLOR turns colour off");
}

#[test]
fn stat_and_format_need_diff() {
    let repo = Repo::minimal();
    for args in [&["render", "--stat"][..], &["render", "--format", "json"]] {
        let run = repo.kiln(args);
        run.code(2);
        assert!(run.stderr.starts_with("error: the following required arguments were not provided:\n  --diff\n"));
    }
    assert!(!repo.exists("rendered"), "a rejected command line writes nothing");
}

#[test]
fn removed_object_is_named_with_its_api_group_like_added_ones() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write("values/namespaces/apps.yaml", b"name: apps\n");
    repo.kiln(&["render", "--diff", "--stat"]).code(1).stdout(
        "- ConfigMap apps/web-env  (rendered/namespaces/apps/configmap-web-env.yaml)
- Deployment.apps apps/web  (rendered/namespaces/apps/deployment-web.yaml)
drift: 0 added, 0 changed, 2 removed",
    );
}
