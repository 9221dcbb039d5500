//! `kiln diff`: two revisions of throwaway git repositories (built with git2)
//! compared object by object, in every output format, with secrets redacted.

use std::path::Path;

use git2::{IndexAddOption, Repository, Signature, Time};

use crate::harness::{Repo, MINIMAL_NAMESPACE};

/// Ciphertext as kubeseal would print it, sealed for a throwaway key by
/// tests/fixtures/seal-placeholder.py (the layout kiln checks).
const CIPHER_A: &str = "AQCU/foSzsuG5U6mogoSRCzGiJhoc4MaDnnuJAPUCuFBrPXg/koLUVkbRGvYH8VBw+mDwXCfuDd8nn4BYPz1X+zUCUcKm7ThgSASdTqY9BoiWc41Iy50xrKWcr1plXU+DieFajxw5qqlE1VuRUYF1mHx3HE3KzGQM/73I19YFkVgPFDzmMKFXYVBM1EWNLPOpCqDfrJY6aXBDb6IWzeBjYx+fC4dgRdfvdMtBqzU3h4Cix1XuvLwg/x5O4PjXG/ybXqZ9ylHN4Gk3sYOfRasVQaqulSKFSV7jz0/SWWPmw3akADEfmQ8p4xDSFjd9bfNPQIIKrFYzOOZUCjpbJU6rjNJavP8wsg8XPETxlfJm2oEmuk=";
const CIPHER_B: &str = "AQC4m/oCypMGh+jr3H/SkQ1QjHbSm0/z0s6IjcDJeQPF6PTA6qlMm7/73i3K15hEtxAwfHdcqrrXsDIAUSGbCfPsS4m763BmqhLu+PxipPIYoJmSMTztRvTUJk4Zhse0s95XcKpaX+k8fsHHFnlebPm3H9XKPAxl9RrHx3sN+fDAqIizMPPcAX/yW/vbtuf41xzUGH19ZDwFvYQ1F1zPHXw5N8fcuOi3ErFgsGhtOp6g5X4e7G7BRZM/tfAxBDLFHEWLuiCiijOzUGDVWlaiYPFiy5eZ1q2iTOJHepyDK51FNst05YsnM6vi4vuV+em6rm+EJd1YaoFHuMOX3DqgSBHf3YbEstyYadq2Efw8ZLFQKL8=";
const CIPHER_C: &str = "AQChU0+p2t+Yh4km4rDGLJEWPTFSpdMCnazq6vFr6vDrVQZ8Suv3nK1zSkkylb62scJFqxsL1zgfJ4UODsrVJTntkTIjSLgu/AElpcZebxoZJSkE61cUGAeOo/WPY1nwgQOTcmw3xfFnvkTRMkH2ALU1NOb80AIg0HN8SbNARzQ9kMWu8fSHIBhMJeDFGklNWZ13RMcdx90GJMTZwoDccGLk5Sm8JriCfVLj1D1ldliaCvLEm/qs2oRlIlNwTvES0iShW28UnNvQ77RxNbfTmIDyeIlbUGxvTVO0r69tJTxzUXOMmPx2+w0YQ8gfRc1bcSInM2/Si0Vip+hyA7RkzkIpigyqJu47t7vUUt1bO8SNycI=";

const SEALED_TEMPLATE: &str = "\
{% if namespace.secrets %}{% for name, secret in namespace.secrets %}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: {{ name }}
spec:
  encryptedData: {{ secret.encryptedData | to_yaml | nindent(width=4) }}
{% endfor %}{% endif %}
";

/// A git repository around a fixture: commits everything with a fixed
/// author and time, so commit ids are the same on every run.
struct Git {
    repo: Repository,
}

impl Git {
    fn init(fixture: &Repo) -> Git {
        Git { repo: Repository::init(fixture.path()).expect("git init") }
    }

    /// Stages every change (including deletions) and commits; returns the commit id.
    fn commit(&self, message: &str) -> String {
        let mut index = self.repo.index().unwrap();
        index.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = Signature::new("kiln", "kiln@example.com", &Time::new(1_700_000_000, 0)).unwrap();
        let parent = self.repo.head().ok().and_then(|head| head.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).unwrap().to_string()
    }
}

fn short(commit: &str) -> &str {
    &commit[..7]
}

/// The minimal fixture plus a sealed secret, rendered and committed.
fn base() -> (Repo, Git, String) {
    let repo = Repo::minimal()
        .file(
            "values/namespaces/apps.yaml",
            &format!("{MINIMAL_NAMESPACE}secrets:\n  db:\n    encryptedData:\n      password: {CIPHER_A}\n"),
        )
        .file("templates/namespaces/sealed-secrets.yaml", SEALED_TEMPLATE);
    repo.kiln(&["render"]).code(0);
    let git = Git::init(&repo);
    let commit = git.commit("base");
    (repo, git, commit)
}

fn edit(repo: &Repo, path: &str, from: &str, to: &str) {
    let text = repo.read(path);
    assert!(text.contains(from), "{path} has no `{from}`:\n{text}");
    repo.write(path, text.replacen(from, to, 1).as_bytes());
}

#[test]
fn value_change_lists_changed_fields_then_the_diff() {
    let (repo, _git, base) = base();
    edit(
        &repo,
        "values/namespaces/apps.yaml",
        "    env:\n      MODE: prod\n",
        "    replicas: 2\n    env:\n      MODE: dev\n",
    );
    repo.kiln(&["render"]).code(0);
    let run = repo.kiln(&["diff", "--base", "HEAD"]);
    run.code(1);
    let summary = format!(
        "\
kiln diff HEAD ({}) → the working tree
~ ConfigMap apps/web-env
    ~ data.MODE
~ Deployment.apps apps/web
    ~ spec.replicas
    ~ spec.template.metadata.annotations.checksum/configmap-web-env
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is what its inputs render to
changes: 0 added, 0 removed, 2 changed, 3 unchanged, 0 moved
",
        short(&base)
    );
    assert!(run.stdout.starts_with(&summary), "{}", run.stdout);
    let diffs = &run.stdout[summary.len()..];
    assert!(diffs.starts_with("\n--- a/rendered/namespaces/apps/configmap-web-env.yaml\n"), "{diffs}");
    assert!(diffs.contains("\n-  MODE: prod\n+  MODE: dev\n"), "{diffs}");
    assert!(diffs.contains("\n-  replicas: 1\n+  replicas: 2\n"), "{diffs}");
    assert!(!diffs.contains("# Source:"), "kiln's header is not part of the object diff");

    repo.kiln(&["diff", "--base", "HEAD", "--stat"]).code(1).stdout(&summary);
}

#[test]
fn no_change_exits_zero() {
    let (repo, _git, base) = base();
    repo.kiln(&["diff", "--base", "HEAD"]).code(0).stdout(&format!(
        "\
kiln diff HEAD ({}) → the working tree
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is what its inputs render to
no changes: 0 added, 0 removed, 0 changed, 5 unchanged, 0 moved",
        short(&base)
    ));
}

#[test]
fn added_and_removed_workloads() {
    let (repo, git, base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "  web:\n", "  api:\n");
    repo.kiln(&["render"]).code(0);
    let head = git.commit("rename web to api");
    repo.kiln(&["diff", "--base", "HEAD~1", "--head", "HEAD", "--stat"]).code(1).stdout(&format!(
        "\
kiln diff HEAD~1 ({}) → HEAD ({})
+ ConfigMap apps/api-env
- ConfigMap apps/web-env
+ Deployment.apps apps/api
- Deployment.apps apps/web
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is what its inputs render to
changes: 2 added, 2 removed, 0 changed, 3 unchanged, 0 moved",
        short(&base),
        short(&head)
    ));
}

#[test]
fn merge_base_shows_only_what_the_branch_changed() {
    let (repo, git, base) = base();
    // The base branch moves on after the topic branch left it.
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    repo.kiln(&["render"]).code(0);
    let moved_on = git.commit("base branch moves on");
    let mainline = git.repo.find_commit(git2::Oid::from_str(&moved_on).unwrap()).unwrap();
    git.repo.branch("mainline", &mainline, false).unwrap();
    let fork = git.repo.find_commit(git2::Oid::from_str(&base).unwrap()).unwrap();
    git.repo.branch("topic", &fork, false).unwrap();
    git.repo.set_head("refs/heads/topic").unwrap();
    git.repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())).unwrap();
    edit(&repo, "values/namespaces/apps.yaml", "    env:\n", "    replicas: 2\n    env:\n");
    repo.kiln(&["render"]).code(0);

    let run = repo.kiln(&["diff", "--base", "mainline", "--stat"]);
    assert!(run.stdout.contains("\n    ~ data.MODE\n"), "the tip of mainline differs in MODE too:\n{}", run.stdout);
    repo.kiln(&["diff", "--base", "mainline", "--merge-base", "--stat"]).code(1).stdout(&format!(
        "\
kiln diff merge base of mainline and HEAD ({}) → the working tree
~ Deployment.apps apps/web
    ~ spec.replicas
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is what its inputs render to
changes: 0 added, 0 removed, 1 changed, 4 unchanged, 0 moved",
        short(&base)
    ));
}

#[test]
fn renamed_template_is_a_move_not_a_change() {
    let (repo, _git, base) = base();
    let template = repo.read("templates/workloads/deployment.yaml");
    repo.remove("templates/workloads/deployment.yaml");
    repo.write("templates/workloads/web.yaml", template.as_bytes());
    repo.kiln(&["render"]).code(0);
    repo.kiln(&["diff", "--base", "HEAD"]).code(0).stdout(&format!(
        "\
kiln diff HEAD ({}) → the working tree
= ConfigMap apps/web-env  (unchanged; template templates/workloads/deployment.yaml → templates/workloads/web.yaml)
= Deployment.apps apps/web  (unchanged; template templates/workloads/deployment.yaml → templates/workloads/web.yaml)
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is what its inputs render to
no changes: 0 added, 0 removed, 0 changed, 3 unchanged, 2 moved",
        short(&base)
    ));
    let json = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        json["moved"][1],
        serde_json::json!({
            "object": {"group": "apps", "kind": "Deployment", "namespace": "apps", "name": "web"},
            "display": "Deployment.apps apps/web",
            "basePath": "namespaces/apps/deployment-web.yaml",
            "headPath": "namespaces/apps/deployment-web.yaml",
            "baseSource": "templates/workloads/deployment.yaml",
            "headSource": "templates/workloads/web.yaml"
        })
    );
    let markdown = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]);
    markdown.code(0);
    assert!(
        markdown.stdout.contains(
            "**No change to the cluster**: 0 added · 0 removed · 0 changed · 3 unchanged · 2 moved\n\n\
             **Checks** (`kiln validate`, `kiln plan`): 0 errors, 1 warning in head (0 new, 1 also in base)\n\n\
             1 warning also in base: `crd-sync-order` ×1.\n\n\
             | | Object | Changed fields |\n|---|---|---|\n\
             | ↪️ moved | `ConfigMap apps/web-env` | unchanged; template `templates/workloads/deployment.yaml` → `templates/workloads/web.yaml` |\n"
        ),
        "{}",
        markdown.stdout
    );
    assert!(!markdown.stdout.contains("<details>"));
}

/// Changes the sealed password and adds a token; returns the repo.
fn secret_change() -> (Repo, String) {
    let (repo, _git, base) = base();
    edit(
        &repo,
        "values/namespaces/apps.yaml",
        &format!("      password: {CIPHER_A}\n"),
        &format!("      password: {CIPHER_B}\n      token: {CIPHER_C}\n"),
    );
    repo.kiln(&["render"]).code(0);
    (repo, base)
}

fn assert_no_ciphertext(output: &str) {
    for cipher in [CIPHER_A, CIPHER_B, CIPHER_C] {
        assert!(!output.contains(&cipher[..40]), "ciphertext leaked:\n{output}");
    }
}

#[test]
fn secret_change_names_keys_and_never_values() {
    let (repo, base) = secret_change();
    let run = repo.kiln(&["diff", "--base", "HEAD"]);
    run.code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "\
kiln diff HEAD ({}) → the working tree
~ SealedSecret.bitnami.com apps/db  (secret: values not shown)
    ~ spec.encryptedData.password
    + spec.encryptedData.token
",
            short(&base)
        )),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("\n-    password: <redacted>\n+    password: <redacted, changed>\n+    token: <redacted>\n"));
    assert_no_ciphertext(&run.stdout);
    for format in ["json", "markdown"] {
        let run = repo.kiln(&["diff", "--base", "HEAD", "--format", format]);
        run.code(1);
        assert_no_ciphertext(&run.stdout);
        assert!(run.stdout.contains("<redacted, changed>"), "{format}: {}", run.stdout);
    }
}

#[test]
fn removed_secret_lists_its_keys() {
    let (repo, _git, _base) = base();
    edit(
        &repo,
        "values/namespaces/apps.yaml",
        &format!("secrets:\n  db:\n    encryptedData:\n      password: {CIPHER_A}\n"),
        "",
    );
    repo.kiln(&["render"]).code(0);
    let run = repo.kiln(&["diff", "--base", "HEAD", "--stat"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "\n- SealedSecret.bitnami.com apps/db  (secret: values not shown)\n    - spec.encryptedData.password\n"
        ),
        "{}",
        run.stdout
    );
    let run = repo.kiln(&["diff", "--base", "HEAD"]);
    assert!(run.stdout.contains("\n-    password: <redacted>\n"), "{}", run.stdout);
    assert_no_ciphertext(&run.stdout);
}

#[test]
fn json_schema() {
    let (repo, base) = secret_change();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    run.code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["schemaVersion"], 2);
    assert_eq!(
        json["base"],
        serde_json::json!({"rev": "HEAD", "commit": base, "worktree": false, "compared": "inputs"})
    );
    assert_eq!(json["head"], serde_json::json!({"rev": null, "commit": null, "worktree": true, "compared": "inputs"}));
    assert_eq!(json["fallback"], serde_json::Value::Null);
    assert_eq!(
        json["summary"],
        serde_json::json!({"added": 0, "removed": 0, "changed": 3, "unchanged": 2, "moved": 0})
    );
    let changes = json["changes"].as_array().unwrap();
    let displays: Vec<&str> = changes.iter().map(|change| change["display"].as_str().unwrap()).collect();
    assert_eq!(displays, ["ConfigMap apps/web-env", "Deployment.apps apps/web", "SealedSecret.bitnami.com apps/db"]);
    let change = &changes[2];
    assert_eq!(change["change"], "changed");
    assert_eq!(
        change["object"],
        serde_json::json!({"group": "bitnami.com", "kind": "SealedSecret", "namespace": "apps", "name": "db"})
    );
    assert_eq!(change["display"], "SealedSecret.bitnami.com apps/db");
    assert_eq!(change["basePath"], "namespaces/apps/sealedsecret-db.yaml");
    assert_eq!(change["headSource"], "templates/namespaces/sealed-secrets.yaml");
    assert_eq!(change["secret"], true);
    assert_eq!(
        change["fields"],
        serde_json::json!([
            {"path": "spec.encryptedData.password", "change": "changed"},
            {"path": "spec.encryptedData.token", "change": "added"}
        ])
    );
    assert!(change["diff"].as_str().unwrap().starts_with("--- a/rendered/namespaces/apps/sealedsecret-db.yaml\n"));
    assert_eq!(json["moved"], serde_json::json!([]));
    // values changed but rendered/ was not: the drift gate names the files.
    assert_eq!(
        json["drift"],
        serde_json::json!({
            "inSync": false,
            "added": [],
            "changed": [
                "namespaces/apps/configmap-web-env.yaml",
                "namespaces/apps/deployment-web.yaml"
            ],
            "removed": [],
            "bookkeeping": ["SHA256SUMS", "kiln.lock"],
            "foreignManifests": [],
            "special": []
        })
    );
    // The checks of `kiln render` on head, each finding marked with whether base had it.
    assert_eq!(json["checks"]["errors"], 0);
    assert_eq!(json["checks"]["warnings"], 1);
    assert_eq!(json["checks"]["new"], 0);
    assert_eq!(json["checks"]["baseChecked"], true);
    assert_eq!(json["checks"]["findings"][0]["code"], "crd-sync-order");
    assert_eq!(json["checks"]["findings"][0]["inBase"], true);
}

#[test]
fn markdown_comment() {
    let (repo, base) = secret_change();
    edit(&repo, "values/namespaces/apps.yaml", "  web:\n", "  api:\n");
    repo.kiln(&["render"]).code(0);
    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]);
    run.code(1);
    let expected_top = format!(
        "\
<!-- kiln diff -->
### kiln diff: `HEAD` (`{}`) → the working tree

**5 objects and files change**: 2 added · 2 removed · 1 changed · 2 unchanged · 0 moved

**Checks** (`kiln validate`, `kiln plan`): 0 errors, 1 warning in head (0 new, 1 also in base)

1 warning also in base: `crd-sync-order` ×1.

| | Object | Changed fields |
|---|---|---|
| 🟢 added | `ConfigMap apps/api-env` |  |
| 🔴 removed | `ConfigMap apps/web-env` |  |
| 🟢 added | `Deployment.apps apps/api` |  |
| 🔴 removed | `Deployment.apps apps/web` |  |
| 🔒 changed | `SealedSecret.bitnami.com apps/db` | keys: `~ spec.encryptedData.password`, `+ spec.encryptedData.token` (values not shown) |

<details>
<summary>🟢 added <code>ConfigMap apps/api-env</code></summary>

```diff
--- /dev/null
+++ b/rendered/namespaces/apps/configmap-api-env.yaml
",
        short(&base)
    );
    assert!(run.stdout.starts_with(&expected_top), "{}", run.stdout);
    assert_eq!(run.stdout.matches("<details>").count(), 5);
    assert_eq!(run.stdout.matches("</details>").count(), 5);
    assert!(run.stdout.ends_with("</details>\n"));
    assert_no_ciphertext(&run.stdout);
}

#[test]
fn markdown_comment_fits_github_limit_for_a_huge_change() {
    // 300 ConfigMaps of 60 keys each; changing the salt changes every line.
    let template = "\
{% for i in range(end=300) %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ 'big-' ~ i }}
  namespace: apps
data:
{% for j in range(end=60) %}  {{ 'key-' ~ j }}: {{ cluster.vars.salt ~ '-' ~ i ~ '-' ~ j ~ '-padding-padding-padding' }}
{% endfor %}{% endfor %}
";
    let repo = Repo::minimal()
        .file("templates/cluster/big.yaml", template)
        .file("values/cluster.yaml", &format!("{}vars:\n  salt: old\n", crate::harness::MINIMAL_CLUSTER));
    repo.kiln(&["render"]).code(0);
    let git = Git::init(&repo);
    git.commit("base");
    edit(&repo, "values/cluster.yaml", "salt: old", "salt: new");
    repo.kiln(&["render"]).code(0);
    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]);
    run.code(1);
    let text = &run.stdout;
    assert!(text.chars().count() <= 65_536, "{} characters", text.chars().count());
    assert!(text.len() <= 65_536, "{} bytes", text.len());
    assert!(text.contains("**300 objects and files change**: 0 added · 0 removed · 300 changed"), "{}", &text[..500]);
    for i in 0..300 {
        assert!(text.contains(&format!("| 🟡 changed | `ConfigMap apps/big-{i}` |")), "summary row {i} missing");
    }
    assert!(
        text.contains("> [!NOTE]\n> To fit GitHub's 65,536-character comment limit the largest diffs were cut first")
    );
    assert!(text.contains("… shortened:") || text.contains(" left out."), "{}", &text[text.len() - 2000..]);
}

#[test]
fn base_that_does_not_render_falls_back_to_committed_trees() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let git = Git::init(&repo);
    // The base's values use a key this kiln does not know (an older schema);
    // its committed rendered/ is still what it deployed.
    edit(&repo, "values/cluster.yaml", "defaults:\n", "legacyFlag: true\ndefaults:\n");
    let base = git.commit("old schema");
    edit(&repo, "values/cluster.yaml", "legacyFlag: true\n", "");
    edit(&repo, "values/cluster.yaml", "replicas: 1", "replicas: 3");
    repo.kiln(&["render"]).code(0);
    edit(&repo, "values/namespaces/apps.yaml", "image: nginx:1.27", "image: nginx");
    let run = repo.kiln(&["diff", "--base", "HEAD", "--stat"]);
    run.code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "\
kiln diff HEAD ({}) → the working tree
note: the base does not render with this kiln, so the committed rendered/ trees are compared instead
  = cause: unknown key `legacyFlag`",
            short(&base)
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n~ Deployment.apps apps/web\n    ~ spec.replicas\n"), "{}", run.stdout);
    // Base's findings are unknown: each of head's is marked `*`, none as new or old.
    assert!(
        run.stdout.contains(
            "\nchecks: 1 error, 0 warnings in head (base not checked: it does not render)\n  * error[image-pinned]: "
        ),
        "{}",
        run.stdout
    );
    let json = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["base"]["compared"], "rendered");
    assert_eq!((&json["checks"]["baseChecked"], &json["checks"]["new"]), (&false.into(), &1.into()));
    assert_eq!(json["checks"]["findings"][0]["inBase"], serde_json::Value::Null);
    assert!(json["fallback"]["error"].as_str().unwrap().contains("values/cluster.yaml"), "{}", json["fallback"]);
    let markdown = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]);
    assert!(
        markdown
            .stdout
            .contains("> [!WARNING]\n> The base does not render with this kiln (`` unknown key `legacyFlag` ``), so"),
        "{}",
        markdown.stdout
    );
}

#[test]
fn drift_gate_reports_stale_rendered_tree() {
    let (repo, _git, base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    repo.kiln(&["diff", "--base", "HEAD", "--stat"]).code(1).stdout(&format!(
        "\
kiln diff HEAD ({}) → the working tree
~ ConfigMap apps/web-env
    ~ data.MODE
~ Deployment.apps apps/web
    ~ spec.template.metadata.annotations.checksum/configmap-web-env
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is not what its inputs render to (0 to add, 2 to change, 0 to remove); run `kiln render` and commit rendered/
    ~ rendered/namespaces/apps/configmap-web-env.yaml
    ~ rendered/namespaces/apps/deployment-web.yaml
changes: 0 added, 0 removed, 2 changed, 3 unchanged, 0 moved",
        short(&base)
    ));
}

/// Issue 11, "Quiet diffs": the drift gate counts and lists the cluster's
/// files; SHA256SUMS and kiln.lock are named only when they alone are stale.
#[test]
fn drift_gate_does_not_count_bookkeeping_files() {
    let (repo, _git, base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "name: apps\n", "# The web tier.\nname: apps\n");
    repo.kiln(&["diff", "--base", "HEAD", "--stat"]).code(1).stdout(&format!(
        "kiln diff HEAD ({}) → the working tree
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is not what its inputs render to (0 to add, 0 to change, 0 to remove; only SHA256SUMS and kiln.lock are out of date); run `kiln render` and commit rendered/
no changes: 0 added, 0 removed, 0 changed, 5 unchanged, 0 moved",
        short(&base)
    ));
    let json = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["drift"]["changed"], serde_json::json!([]));
    assert_eq!(json["drift"]["bookkeeping"], serde_json::json!(["SHA256SUMS", "kiln.lock"]));
    let markdown = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]).stdout;
    assert!(
        markdown.contains(
            "**Drift:** head's committed `rendered/` is not what its inputs render to: only `SHA256SUMS` and \
             `kiln.lock` are out of date. Run `kiln render`"
        ),
        "{markdown}"
    );
}

/// Issue 10: the drift gate of `kiln diff` saw only kiln's own files, while
/// `render --diff` also fails on what Argo CD would sync or follow.
#[test]
fn diff_drift_gate_misses_foreign_manifests_and_special_files() {
    let (repo, _git, base) = base();
    repo.write("rendered/namespaces/apps/backdoor.yaml", b"kind: ClusterRoleBinding\n");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("rendered/passwd.yaml")).unwrap();
    repo.kiln(&["diff", "--base", "HEAD", "--stat"]).code(1).stdout(&format!(
        "\
kiln diff HEAD ({}) → the working tree
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is not what its inputs render to (0 to add, 0 to change, 0 to remove, 1 foreign manifest, 1 special file); run `kiln render` and commit rendered/
    ! rendered/namespaces/apps/backdoor.yaml  (not kiln's, and Argo CD would sync it)
    ! rendered/passwd.yaml  (a symbolic link, never followed)
no changes: 0 added, 0 removed, 0 changed, 5 unchanged, 0 moved",
        short(&base)
    ));
    let json = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["drift"]["foreignManifests"], serde_json::json!(["namespaces/apps/backdoor.yaml"]));
    assert_eq!(json["drift"]["special"], serde_json::json!([{"path": "passwd.yaml", "kind": "symlink"}]));
    let markdown = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]).stdout;
    assert!(
        markdown.contains("`! rendered/namespaces/apps/backdoor.yaml`, `! rendered/passwd.yaml`. Run `kiln render`"),
        "{markdown}"
    );
}

#[test]
fn reading_revisions_changes_neither_the_working_tree_nor_the_index() {
    let (repo, git, _base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: staged");
    let mut index = git.repo.index().unwrap();
    index.add_path(Path::new("values/namespaces/apps.yaml")).unwrap();
    index.write().unwrap();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: staged", "MODE: unstaged");
    let status = |repo: &Repository| -> Vec<(String, git2::Status)> {
        let statuses = repo.statuses(None).unwrap();
        statuses.iter().map(|entry| (entry.path().unwrap().to_string(), entry.status())).collect()
    };
    let before = status(&git.repo);
    let index_before = std::fs::read(repo.path().join(".git/index")).unwrap();
    let head_before = git.repo.head().unwrap().target();
    repo.kiln(&["diff", "--base", "HEAD", "--head", "HEAD", "--stat"]).code(0);
    repo.kiln(&["diff", "--base", "HEAD"]).code(1);
    assert_eq!(before, status(&git.repo));
    assert_eq!(index_before, std::fs::read(repo.path().join(".git/index")).unwrap());
    assert_eq!(head_before, git.repo.head().unwrap().target());
    assert!(repo.read("values/namespaces/apps.yaml").contains("MODE: unstaged"));
}

#[test]
fn colour_only_when_asked() {
    let (repo, _git, _base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    repo.kiln(&["render"]).code(0);
    let plain = repo.kiln(&["diff", "--base", "HEAD"]);
    assert!(!plain.stdout.contains('\x1b'), "NO_COLOR and a pipe mean no colour");
    let coloured = repo.kiln(&["--color", "always", "diff", "--base", "HEAD"]);
    assert!(coloured.stdout.contains("\x1b[33m~ ConfigMap apps/web-env\x1b[0m"), "{}", coloured.stdout);
    assert!(coloured.stdout.contains("\x1b[32m+  MODE: dev\x1b[0m"), "{}", coloured.stdout);
}

#[test]
fn merge_base_of_unrelated_histories() {
    let (repo, git, _base) = base();
    let head = git.repo.head().unwrap().peel_to_commit().unwrap();
    let signature = Signature::new("kiln", "kiln@example.com", &Time::new(1_700_000_000, 0)).unwrap();
    git.repo
        .commit(Some("refs/heads/orphan"), &signature, &signature, "unrelated", &head.tree().unwrap(), &[])
        .unwrap();
    repo.kiln(&["diff", "--base", "orphan", "--merge-base"]).code(2).stdout("").stderr(
        "\
error: `orphan` and `HEAD` have no common ancestor
  --> <repo>
  = help: compare with `orphan` itself: drop `--merge-base`",
    );
}

#[test]
fn bare_clone_needs_a_head_revision() {
    let (repo, git, base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    repo.kiln(&["render"]).code(0);
    let head = git.commit("second");
    let mirror = tempfile::tempdir().unwrap();
    let bare = mirror.path().join("cluster.git");
    git2::build::RepoBuilder::new().bare(true).clone(repo.path().to_str().unwrap(), &bare).unwrap();
    let kiln = |args: &[&str]| {
        std::process::Command::new(crate::harness::KILN)
            .arg("-C")
            .arg(&bare)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let output = kiln(&["diff", "--base", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        format!("error: `{}` is a bare repository without a working tree; pass `--head <rev>`", bare.display())
    );
    let output = kiln(&["render"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        format!(
            "error: `{}` is a bare git repository without a working tree; run kiln in a clone (`kiln diff --head <rev>` reads revisions from a bare one)",
            bare.canonicalize().unwrap().display()
        )
    );
    let output = kiln(&["diff", "--base", "HEAD~1", "--head", "HEAD", "--stat"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim_end(),
        format!(
            "\
kiln diff HEAD~1 ({}) → HEAD ({})
~ ConfigMap apps/web-env
    ~ data.MODE
~ Deployment.apps apps/web
    ~ spec.template.metadata.annotations.checksum/configmap-web-env
checks: 0 errors, 1 warning in head (0 new, 1 also in base)
  = 1 warning also in base: crd-sync-order ×1
drift gate: head's rendered/ is what its inputs render to
changes: 0 added, 0 removed, 2 changed, 3 unchanged, 0 moved",
            short(&base),
            short(&head)
        )
    );
}

#[test]
fn not_a_git_repository() {
    let repo = Repo::minimal();
    let run = repo.kiln(&["diff", "--base", "main"]);
    run.code(2).stdout("");
    // The temporary directory may sit inside some other checkout on a
    // developer's machine; the message only applies where it does not.
    if Repository::discover(repo.path()).is_err() {
        // The harness shows the repository path as `<repo>`.
        run.stderr(
            "\
error: not a git repository (or any of its parents)
  --> <repo>
  = help: `kiln diff` reads both revisions from git: run it inside a clone, or use `kiln render --diff` to compare with rendered/ on disk",
        );
    }
}

#[test]
fn base_revision_that_does_not_exist() {
    let (repo, _git, _base) = base();
    // The harness shows the repository path as `<repo>`.
    let workdir = "<repo>";
    repo.kiln(&["diff", "--base", "origin/main"]).code(2).stdout("").stderr(&format!(
        "\
error: revision `origin/main` does not exist
  --> {workdir}
  = help: check it with `git rev-parse --verify origin/main`; a branch of a remote must be fetched first (`git fetch origin <branch>`)"
    ));
}

#[test]
fn shallow_clone_missing_the_base() {
    let (repo, git, _base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    let head = git.commit("second");
    repo.kiln(&["diff", "--base", "HEAD~1", "--stat"]).code(1);
    // What `git clone --depth 1` leaves: the newest commit is a shallow root.
    std::fs::write(repo.path().join(".git/shallow"), format!("{head}\n")).unwrap();
    // The harness shows the repository path as `<repo>`.
    let workdir = "<repo>";
    repo.kiln(&["diff", "--base", "HEAD~1"]).code(2).stdout("").stderr(&format!(
        "\
error: revision `HEAD~1` is not in this shallow clone
  --> {workdir}
  = help: fetch the history it needs (`git fetch --unshallow`, or `fetch-depth: 0` with actions/checkout)"
    ));
}

/// The warning every `base()` repository has: nothing installs the SealedSecret CRDs.
const STANDING_WARNING: &str = "  = 1 warning also in base: crd-sync-order ×1\n";

const IMAGE_ERROR: &str = "\
error[image-pinned]: image `nginx` has no tag, which means `latest`
      in: values/namespaces/apps.yaml:5:5 (workloads.web.image)
      object: Deployment.apps apps/web, at spec.template.spec.containers[0].image
      help: pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image
";

#[test]
fn diff_reports_heads_policy_errors() {
    let (repo, _git, base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "image: nginx:1.27", "image: nginx");
    let before = repo.snapshot();
    // Not "run `kiln render` and commit": kiln render refuses, and says so.
    repo.kiln(&["diff", "--base", "HEAD", "--stat"]).code(1).stderr("").stdout(&format!(
        "kiln diff HEAD ({}) → the working tree
~ Deployment.apps apps/web
    ~ spec.template.spec.containers[name=app].image
checks: 1 error, 1 warning in head (1 new, 1 also in base)
  + error[image-pinned]: image `nginx` has no tag, which means `latest`
      in: values/namespaces/apps.yaml:5:5 (workloads.web.image)
      object: Deployment.apps apps/web, at spec.template.spec.containers[0].image
      help: pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image
  = 1 warning also in base: crd-sync-order ×1
error: `kiln render` would refuse to write head's rendered/ until the 1 error above is fixed
drift gate: head's rendered/ is not what its inputs render to (0 to add, 1 to change, 0 to remove); fix head's errors (above), then run `kiln render` and commit rendered/
    ~ rendered/namespaces/apps/deployment-web.yaml
changes: 0 added, 0 removed, 1 changed, 4 unchanged, 0 moved",
        short(&base)
    ));
    let run = repo.kiln(&["render"]);
    run.code(1).stdout("");
    assert!(run.stderr.contains("error[image-pinned]: image `nginx` has no tag"), "{}", run.stderr);
    assert_eq!(before, repo.snapshot(), "neither diff nor the refused render writes rendered/");

    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    run.code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let checks = &json["checks"];
    assert_eq!(
        (&checks["errors"], &checks["warnings"], &checks["new"], &checks["baseChecked"]),
        (&1.into(), &1.into(), &1.into(), &true.into())
    );
    let findings = checks["findings"].as_array().unwrap();
    let summary: Vec<(&str, &str, bool)> = findings
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap(), f["inBase"].as_bool().unwrap()))
        .collect();
    assert_eq!(summary, [("image-pinned", "error", false), ("crd-sync-order", "warning", true)]);
    assert_eq!(findings[0]["object"]["field"], "spec.template.spec.containers[0].image");
    assert_eq!(findings[0]["object"]["file"], "rendered/namespaces/apps/deployment-web.yaml");
    assert_eq!(findings[0]["span"]["key"], "workloads.web.image");

    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "\
> [!CAUTION]
> **`kiln render` would refuse** to write head's `rendered/`: 1 error, 1 warning (1 new, 1 also in base). Fix the errors below; `kiln validate` and `kiln plan` show every finding.

| | Finding | Object | Message |
|---|---|---|---|
| 🆕 new | ❌ `error[image-pinned]` | `Deployment.apps apps/web` | `` image `nginx` has no tag, which means `latest` `` |

1 warning also in base: `crd-sync-order` ×1.

> [!CAUTION]
> **Drift:** head's committed `rendered/` is not what its inputs render to: `~ rendered/namespaces/apps/deployment-web.yaml`. Fix head's errors, then run `kiln render` and commit `rendered/`.
"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn diff_says_when_base_had_the_same_findings() {
    let (repo, git, _) = base();
    // Base already has the error (its rendered/ is stale: kiln render refused).
    edit(&repo, "values/namespaces/apps.yaml", "image: nginx:1.27", "image: nginx");
    let base = git.commit("untagged image");
    edit(&repo, "values/namespaces/apps.yaml", "MODE: prod", "MODE: dev");
    let run = repo.kiln(&["diff", "--base", "HEAD", "--stat"]);
    run.code(1).stderr("");
    let checks = format!(
        "\
kiln diff HEAD ({}) → the working tree
~ ConfigMap apps/web-env
    ~ data.MODE
~ Deployment.apps apps/web
    ~ spec.template.metadata.annotations.checksum/configmap-web-env
checks: 1 error, 1 warning in head (0 new, 2 also in base)
  = {IMAGE_ERROR}{STANDING_WARNING}\
error: `kiln render` would refuse to write head's rendered/ until the 1 error above is fixed
drift gate: ",
        short(&base)
    );
    assert!(run.stdout.starts_with(&checks), "{}", run.stdout);
    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["checks"]["new"], 0);
    let in_base: Vec<&serde_json::Value> =
        json["checks"]["findings"].as_array().unwrap().iter().map(|f| &f["inBase"]).collect();
    assert_eq!(in_base, [&serde_json::Value::Bool(true), &serde_json::Value::Bool(true)]);
    let run = repo.kiln(&["diff", "--base", "HEAD", "--format", "markdown"]);
    assert!(
        run.stdout.contains("| in base | ❌ `error[image-pinned]` | `Deployment.apps apps/web` | "),
        "{}",
        run.stdout
    );
}

/// One path notation everywhere: the field `kiln explain` prints as
/// `env."log.level"` renders to the ConfigMap key that diff names `data."log.level"`.
#[test]
fn diff_quotes_keys_as_explain_does() {
    let (repo, _git, _base) = base();
    edit(&repo, "values/namespaces/apps.yaml", "      MODE: prod\n", "      MODE: prod\n      log.level: debug\n");
    let run = repo.kiln(&["diff", "--base", "HEAD", "--stat"]);
    assert!(run.stdout.contains("\n~ ConfigMap apps/web-env\n    + data.\"log.level\"\n"), "{}", run.stdout);
    let run = repo.kiln(&["explain", "workload", "apps/web"]);
    assert!(
        run.stdout.contains("\nenv.\"log.level\" = \"debug\"    # values/namespaces/apps.yaml:8:7"),
        "{}",
        run.stdout
    );
}
