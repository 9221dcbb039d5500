//! `kiln sync` and the sync checks of `kiln validate` (issue 12): a fixture
//! repository per defect, with the exact finding, and this repository's
//! first sync, which completes and names every wave.

use crate::harness::{Repo, MINIMAL_CLUSTER};

const LUA: &str = "\
components:
  argo-cd:
    repoURL: https://argoproj.github.io/argo-helm
    chart: argo-cd
    version: \"9.0.0\"
    namespace: argocd
    bootstrap: true
    values:
      configs:
        cm:
          resource.customizations.health.argoproj.io_Application: |
            hs = {}
            hs.status = \"Progressing\"
            if obj.status ~= nil and obj.status.health ~= nil then
              hs.status = obj.status.health.status
            end
            return hs
";

/// Two Applications in the argocd directory, each selecting the other's file (root also a
/// third, so its sync has two waves): each manages the other.
const TWO_APPS: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
spec:
  project: default
  source:
    repoURL: 'https://example.com/repo.git'
    targetRevision: main
    path: rendered/namespaces/argocd
    directory: {include: '{application-bootstrap.yaml,application-other.yaml}'}
  destination: {server: 'https://kubernetes.default.svc', namespace: argocd}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: bootstrap
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: \"-30\"
spec:
  project: default
  source:
    repoURL: 'https://example.com/repo.git'
    targetRevision: main
    path: rendered/namespaces/argocd
    directory: {include: application-root.yaml}
  destination: {server: 'https://kubernetes.default.svc', namespace: argocd}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: other
  namespace: argocd
spec:
  project: default
  source: {repoURL: 'https://example.com/repo.git', targetRevision: main, path: rendered/namespaces/apps}
  destination: {server: 'https://kubernetes.default.svc', namespace: apps}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
";

fn with_lua(repo: Repo) -> Repo {
    repo.file("values/cluster.yaml", &format!("{MINIMAL_CLUSTER}{LUA}"))
}

#[test]
fn a_health_cycle_between_applications_is_found() {
    let repo = with_lua(Repo::minimal()).file("templates/cluster/apps.yaml", TWO_APPS);
    let run = repo.kiln(&["validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(
            "error[sync-health-cycle]: Applications `root` → `bootstrap` → `root` take their health from each other through the Application health Lua: a sync that waits on one never ends\n  --> values/cluster.yaml:"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "= key: components.argo-cd.values.configs.cm.\"resource.customizations.health.argoproj.io_Application\""
    ));
    assert!(run.stdout.contains("= help: annotate Application `root` with `argocd.argoproj.io/ignore-healthcheck: \"true\"` so `bootstrap` no longer takes its health from it, or stop managing `root` from `bootstrap`"));
    let sync = repo.kiln(&["sync"]);
    assert_eq!(sync.code, 1, "{}", sync.stderr);
    assert!(sync.stdout.starts_with(
        "first sync of root: stops at root (sync-health-cycle); root waves: -30, 0\n  root Sync wave -30: Application bootstrap\n    waits on: Application bootstrap Healthy\n    stops: error[sync-health-cycle]: Applications `root` → `bootstrap` → `root`"
    ), "{}", sync.stdout);
}

#[test]
fn ignore_healthcheck_breaks_the_cycle() {
    let broken = TWO_APPS.replacen(
        "  name: root\n  namespace: argocd\n",
        "  name: root\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/ignore-healthcheck: \"true\"\n",
        1,
    );
    let repo = with_lua(Repo::minimal()).file("templates/cluster/apps.yaml", &broken);
    let run = repo.kiln(&["validate"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "0 errors, 0 warnings in 0 files\n"));
    assert_eq!(repo.kiln(&["sync"]).code, 0);
}

#[test]
fn without_the_health_lua_applications_do_not_wait_on_each_other() {
    let repo = Repo::minimal().file("templates/cluster/apps.yaml", TWO_APPS);
    let run = repo.kiln(&["validate"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "0 errors, 0 warnings in 0 files\n"));
}

const NS_APP: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ns-apps
  namespace: argocd
spec:
  project: default
  source: {repoURL: 'https://example.com/repo.git', targetRevision: main, path: rendered/namespaces/apps}
  destination: {server: 'https://kubernetes.default.svc', namespace: apps}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
";

const JOB: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: {{ namespace.name }}
  annotations:
    ANNOTATION
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: 'busybox:1.36'}]
";

#[test]
fn a_job_with_replace_and_force_is_re_created_on_every_sync() {
    let job = JOB.replace("ANNOTATION", "argocd.argoproj.io/sync-options: Force=true,Replace=true");
    let repo = Repo::minimal().file("templates/cluster/apps.yaml", NS_APP).file("templates/namespaces/job.yaml", &job);
    let run = repo.kiln(&["validate"]);
    assert!(run.stdout.contains(
        "error[sync-replace-job]: Job.batch apps/once carries Force=true,Replace=true: every sync of Application `ns-apps` deletes and re-creates it, re-running it, and waits until it completes\n  --> values/namespaces/apps.yaml:1:1\n"
    ), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("= object: Job.batch apps/once, at metadata.annotations.\"argocd.argoproj.io/sync-options\"\n"));
}

#[test]
fn a_hook_without_a_delete_policy_is_kept_until_the_next_sync() {
    let job = JOB.replace("ANNOTATION", "argocd.argoproj.io/hook: PostSync");
    let repo = Repo::minimal().file("templates/cluster/apps.yaml", NS_APP).file("templates/namespaces/job.yaml", &job);
    let run = repo.kiln(&["validate"]);
    assert!(run.stdout.contains(
        "warning[sync-hook-delete-policy]: hook Job.batch apps/once (PostSync) has no `argocd.argoproj.io/hook-delete-policy`: Argo CD assumes BeforeHookCreation, so the finished hook stays in the cluster until the next sync\n"
    ), "{}", run.stdout);
    let fixed = JOB.replace(
        "ANNOTATION",
        "argocd.argoproj.io/hook: PostSync\n    argocd.argoproj.io/hook-delete-policy: HookSucceeded",
    );
    let repo =
        Repo::minimal().file("templates/cluster/apps.yaml", NS_APP).file("templates/namespaces/job.yaml", &fixed);
    assert!(!repo.kiln(&["validate"]).stdout.contains("sync-hook-delete-policy"));
}

const SEALED: &str = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: creds
  namespace: {{ namespace.name }}
spec:
  encryptedData: {password: AgBy3i4OJSWK+PiTySYZZA==}
  template: {metadata: {name: creds, namespace: {{ namespace.name }}}}
";

/// An Application reading one file of the argocd directory.
fn app(name: &str, wave: &str, include: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  project: default\n  source: {{repoURL: 'https://example.com/repo.git', targetRevision: main, path: rendered/namespaces/argocd, directory: {{include: '{include}'}}}}\n  destination: {{server: 'https://kubernetes.default.svc', namespace: argocd}}\n  syncPolicy: {{syncOptions: [CreateNamespace=true]}}\n---\n"
    )
}

/// root syncs `apps-parent` (which holds ns-apps) and `platform` (which holds
/// sealed-secrets) in the given waves: the waves of ns-apps (1) and
/// sealed-secrets (-5) themselves are in order either way.
fn crd_repo(apps_parent_wave: &str) -> Repo {
    let sealed_secrets = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: sealed-secrets\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-5\"\nspec:\n  project: default\n  source: {repoURL: 'https://bitnami-labs.github.io/sealed-secrets', chart: sealed-secrets, targetRevision: 2.18.5}\n  destination: {server: 'https://kubernetes.default.svc', namespace: kube-system}\n";
    let ns_app = NS_APP.replace(
        "  namespace: argocd\n",
        "  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n",
    );
    let apps = [
        app("root", "0", "{application-root.yaml,application-platform.yaml,application-apps-parent.yaml}"),
        app("platform", "-5", "application-sealed-secrets.yaml"),
        app("apps-parent", apps_parent_wave, "application-ns-apps.yaml"),
        format!("{ns_app}---\n{sealed_secrets}"),
    ]
    .concat();
    with_lua(Repo::minimal())
        .file("templates/cluster/apps.yaml", &apps)
        .file("templates/namespaces/sealed.yaml", SEALED)
}

#[test]
fn a_custom_resource_synced_before_the_application_that_installs_its_crd_is_found() {
    let repo = crd_repo("-10");
    let run = repo.kiln(&["validate"]);
    assert!(
        run.stdout.starts_with(
            "error[sync-crd-order]: SealedSecret.bitnami.com apps/creds in Application `ns-apps` (wave 0) is synced before Application `sealed-secrets`, which installs its CRD, is Healthy\n  --> values/namespaces/apps.yaml:1:1\n"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("crd-sync-order]"), "{}", run.stdout);
    let sync = repo.kiln(&["sync"]);
    assert_eq!(sync.code, 1);
    assert!(
        sync.stdout.starts_with("first sync of root: stops at ns-apps (sync-crd-order); root waves: -10, -5, 0\n"),
        "{}",
        sync.stdout
    );
    assert!(sync.stdout.contains("day-2 sync of root: completes; root waves: -10, -5, 0\n"), "{}", sync.stdout);
    // Healthy `platform` means Healthy `sealed-secrets` (its health is the child's): ordered.
    let ordered = crd_repo("1");
    let run = ordered.kiln(&["validate"]);
    assert!(!run.stdout.contains("sync-crd-order"), "{}", run.stdout);
    assert_eq!(ordered.kiln(&["sync"]).code, 0);
}

#[test]
fn this_repositorys_first_sync_completes_and_names_every_wave() {
    let repo = Repo::this_repository();
    let run = repo.kiln(&["sync"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with(
        "first sync of root: completes; root waves: -30, -20, -10, -9, -8, -6, -5, -2, -1, 1, 2, 3\n  root Sync wave -30: Application bootstrap-mainpc\n    waits on: Application bootstrap-mainpc Healthy\n    bootstrap-mainpc (inside root wave -30) Sync wave 0: HelmChart kube-system/argo-cd, AppProject bootstrap, Application root\n"
    ), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("\nday-2 sync of root: completes; root waves: -30, -20, -10, -9, -8, -6, -5, -2, -1, 1, 2, 3\n"));
    let json: serde_json::Value = serde_json::from_str(&repo.kiln(&["sync", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["syncs"][0]["kind"], "first");
    assert_eq!(json["syncs"][0]["stops"], serde_json::json!([]));
}

/// This repository with `from` replaced by `to` in one namespace's values
/// file; the line and column (1-based) of the `waitBeforeStart` key on the
/// line holding `marker`.
fn edited(file: &str, from: &str, to: &str, marker: &str) -> (Repo, String) {
    let path = format!("values/namespaces/{file}.yaml");
    let repo = Repo::this_repository_edited(&[(&path, from, to)]);
    let text = repo.read(&path);
    let (index, line) = text.lines().enumerate().find(|(_, line)| line.contains(marker)).unwrap();
    let at = format!("{}:{}", index + 1, line.find("waitBeforeStart").unwrap() + 1);
    (repo, at)
}

#[test]
fn waiting_for_a_workload_of_a_later_wave_stops_the_first_sync() {
    // redis (ai-system-infra, wave 1) waits for coordination (ai-system-gpu, wave 3).
    let (repo, at) = edited(
        "ai-system-infra",
        "    ports:\n      - {name: redis, port: 6379}\n",
        "    ports:\n      - {name: redis, port: 6379}\n    flows:\n      - {service: ai-system-gpu/coordination, port: http, waitBeforeStart: true}\n",
        "waitBeforeStart",
    );
    let run = repo.kiln(&["validate"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let expected = format!(
        "error[sync-wait-order]: StatefulSet ai-system-infra/redis waits for ai-system-gpu/coordination before its pods start (`waitBeforeStart`), but ai-system-gpu/coordination is applied by Application `ns-ai-system-gpu`, which this sync creates only later: this step never becomes Healthy, and the sync waits until someone ends it\n  --> values/namespaces/ai-system-infra.yaml:{at}\n  = key: workloads.redis.flows[0].waitBeforeStart\n"
    );
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
    let sync = repo.kiln(&["sync"]);
    assert_eq!(sync.code, 1, "{}", sync.stdout);
    assert!(sync.stdout.starts_with("first sync of root: stops"), "{}", sync.stdout);
}

#[test]
fn workloads_that_wait_for_each_other_never_start() {
    // coordination already declares a flow to reasoning-suite; each now waits for the other.
    let (repo, at) = edited(
        "ai-system-gpu",
        "      - {service: reasoning-suite, port: http}\n",
        "      - {service: reasoning-suite, port: http, waitBeforeStart: true}\n",
        "{service: reasoning-suite, port: http, waitBeforeStart: true}",
    );
    let from = "      - {host: huggingface.co, port: 443, reason: model weights (MODEL_ID)";
    let back = format!("      - {{service: coordination, port: http, waitBeforeStart: true}}\n{from}");
    let repo = repo.edited(&[("values/namespaces/ai-system-gpu.yaml", from, &back)]);
    let run = repo.kiln(&["validate"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let expected = format!(
        "error[sync-wait-cycle]: workloads wait for each other before they start (`waitBeforeStart`): ai-system-gpu/coordination → ai-system-gpu/reasoning-suite → ai-system-gpu/coordination; none of their pods ever starts\n  --> values/namespaces/ai-system-gpu.yaml:{at}\n  = key: workloads.coordination.flows[2].waitBeforeStart\n"
    );
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
    assert_eq!(run.stdout.matches("sync-wait-cycle").count(), 1, "{}", run.stdout);
}
