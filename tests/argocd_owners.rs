//! Ownership, permission and drift checks on the Argo CD layer (issue 12:
//! D-13, D-19, D-20, D-21 and the AppProject and destination checks), each
//! over this repository with one defect put back.

use crate::harness::Repo;

#[test]
fn this_repository_passes_the_ownership_checks() {
    let out = Repo::this_repository().validate(0);
    assert!(!out.contains("argocd-"), "{out}");
}

/// D-13: istiod patches its webhooks' failurePolicy and caBundle.
#[test]
fn istiod_webhooks_without_ignore_differences_fight_istiod() {
    let repo = Repo::this_repository_with_istio().edited(&[("values/cluster.yaml", "    ignoreDifferences:\n      - group: admissionregistration.k8s.io\n        kind: ValidatingWebhookConfiguration\n        name: istio-validator-istio-system\n        jqPathExpressions: [\".webhooks[]?.failurePolicy\", \".webhooks[]?.clientConfig.caBundle\"]\n      - group: admissionregistration.k8s.io\n        kind: MutatingWebhookConfiguration\n        name: istio-sidecar-injector\n        jqPathExpressions: [\".webhooks[]?.clientConfig.caBundle\"]\n", "")]);
    let expected = r#"error[argocd-controller-mutation]: istiod's validation webhook controller changes `.webhooks[].failurePolicy`, `.webhooks[].clientConfig.caBundle` of ValidatingWebhookConfiguration istio-validator-istio-system, which Application `istiod` syncs without `ignoreDifferences` on it: Argo CD reports the change as drift, and selfHeal or the next sync sets the desired value back
  --> values/cluster.yaml:188:3
  = key: components.istiod
  = object: Application.argoproj.io argocd/istiod, at spec.ignoreDifferences
  = rendered: rendered/namespaces/argocd/application-istiod.yaml from templates/cluster/argocd/applications.yaml (rendering the cluster, document 9)
  = help: add to the component's `ignoreDifferences`: {group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration, name: istio-validator-istio-system, jqPathExpressions: [".webhooks[]?.failurePolicy", ".webhooks[]?.clientConfig.caBundle"]} (kiln renders it with RespectIgnoreDifferences=true)

error[argocd-controller-mutation]: istiod's webhook cert patcher changes `.webhooks[].clientConfig.caBundle` of MutatingWebhookConfiguration istio-sidecar-injector, which Application `istiod` syncs without `ignoreDifferences` on it: Argo CD reports the change as drift, and selfHeal or the next sync sets the desired value back
  --> values/cluster.yaml:188:3
  = key: components.istiod
  = object: Application.argoproj.io argocd/istiod, at spec.ignoreDifferences
  = rendered: rendered/namespaces/argocd/application-istiod.yaml from templates/cluster/argocd/applications.yaml (rendering the cluster, document 9)
  = help: add to the component's `ignoreDifferences`: {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration, name: istio-sidecar-injector, jqPathExpressions: [".webhooks[]?.clientConfig.caBundle"]} (kiln renders it with RespectIgnoreDifferences=true)

2 errors, 0 warnings in 1 file"#;
    assert_eq!(repo.validate(1).trim_end(), expected);
}

/// D-19: the old `loop.first` branch renders no ignoreDifferences for these namespaces; with replicas in the Deployments the HPAs fight Argo CD.
#[test]
fn hpa_target_that_sets_replicas_without_ignore_differences_is_reported() {
    let repo = Repo::this_repository_edited(&[
        (
            "templates/cluster/argocd/applications.yaml",
            "{%- if workload.hpa and (workload.kind == \"Deployment\" or workload.kind == \"StatefulSet\") %}",
            "{%- if workload.hpa and loop.first %}",
        ),
        (
            "templates/workloads/controller.yaml",
            "{%- if not workload.hpa %}\n  replicas: {{ workload.replicas | default(value=1) }}\n{%- endif %}",
            "  replicas: {{ workload.replicas | default(value=1) }}",
        ),
    ]);
    let expected = r#"error[argocd-controller-mutation]: HorizontalPodAutoscaler utility-cpu-hpa changes `.spec.replicas` of Deployment utility-suite, which Application `ns-ai-system-core` syncs without `ignoreDifferences` on it: Argo CD reports the change as drift, and selfHeal or the next sync sets the desired value back
  --> values/namespaces/ai-system-core.yaml:130:3
  = key: workloads.utility-suite
  = object: HorizontalPodAutoscaler.autoscaling ai-system-core/utility-cpu-hpa, at spec.scaleTargetRef
  = rendered: rendered/namespaces/ai-system-core/horizontalpodautoscaler-utility-cpu-hpa.yaml from templates/workloads/autoscaling.yaml (rendering workload ai-system-core/utility-suite, document 1)
  = help: leave `replicas` out of Deployment utility-suite (the HPA owns it), or ignore /spec/replicas of it in Application `ns-ai-system-core` with RespectIgnoreDifferences=true

1 error, 0 warnings in 1 file"#;
    assert_eq!(repo.validate(1).trim_end(), expected);
}

/// D-20: the old bootstrap.sh copied the manifests into k3s's auto-deploy directory.
#[test]
fn bootstrap_manifests_copied_into_the_k3s_auto_deploy_directory_have_two_owners() {
    let repo = Repo::this_repository_edited(&[("templates/nodes/bootstrap.yaml", "rm -f /var/lib/rancher/k3s/server/manifests/kiln-*.yaml\n", "for manifest in \"$here\"/manifests/*.yaml; do\n  install -m 0600 \"$manifest\" /var/lib/rancher/k3s/server/manifests/kiln-\"$(basename \"$manifest\")\"\ndone\n")]);
    let expected = r#"error[argocd-shared-owner]: AppProject.argoproj.io argocd/bootstrap is managed by Application `bootstrap-mainpc` and deployed by k3s from /var/lib/rancher/k3s/server/manifests (rendered/nodes/mainpc/bootstrap.sh:34 puts it there): k3s re-applies that copy at every start, over what Argo CD synced since
  --> values/nodes/mainpc.yaml:1:1
  = object: AppProject.argoproj.io argocd/bootstrap, at metadata
  = rendered: rendered/nodes/mainpc/manifests/appproject-bootstrap.yaml from templates/nodes/argocd-bootstrap.yaml (rendering node mainpc, document 2)
  = help: apply it once (e.g. `k3s kubectl apply -f`) instead of leaving it in k3s's auto-deploy directory, or leave it to k3s alone

error[argocd-shared-owner]: Application.argoproj.io argocd/root is managed by Application `bootstrap-mainpc` and deployed by k3s from /var/lib/rancher/k3s/server/manifests (rendered/nodes/mainpc/bootstrap.sh:34 puts it there): k3s re-applies that copy at every start, over what Argo CD synced since
  --> values/nodes/mainpc.yaml:1:1
  = object: Application.argoproj.io argocd/root, at metadata
  = rendered: rendered/nodes/mainpc/manifests/application-root.yaml from templates/nodes/argocd-bootstrap.yaml (rendering node mainpc, document 3)
  = help: apply it once (e.g. `k3s kubectl apply -f`) instead of leaving it in k3s's auto-deploy directory, or leave it to k3s alone

error[argocd-shared-owner]: HelmChart.helm.cattle.io kube-system/argo-cd is managed by Application `bootstrap-mainpc` and deployed by k3s from /var/lib/rancher/k3s/server/manifests (rendered/nodes/mainpc/bootstrap.sh:34 puts it there): k3s re-applies that copy at every start, over what Argo CD synced since
  --> values/nodes/mainpc.yaml:1:1
  = object: HelmChart.helm.cattle.io kube-system/argo-cd, at metadata
  = rendered: rendered/nodes/mainpc/manifests/helmchart-argo-cd.yaml from templates/nodes/argocd-bootstrap.yaml (rendering node mainpc, document 1)
  = help: apply it once (e.g. `k3s kubectl apply -f`) instead of leaving it in k3s's auto-deploy directory, or leave it to k3s alone

3 errors, 0 warnings in 1 file"#;
    assert_eq!(repo.validate(1).trim_end(), expected);
}

/// A component moved to a namespace no values file declares.
#[test]
fn application_destination_namespace_nothing_creates_is_reported() {
    let repo = Repo::this_repository_edited(&[(
        "values/cluster.yaml",
        "    chart: nvidia-device-plugin\n    version: 0.20.0\n    namespace: nvidia-device-plugin",
        "    chart: nvidia-device-plugin\n    version: 0.20.0\n    namespace: nvidia-system",
    )]);
    let expected = r#"error[argocd-destination-namespace]: Application `nvidia-device-plugin` deploys into namespace `nvidia-system`, which no Application manages and nothing creates: its namespaced objects fail to apply
  --> values/cluster.yaml:152:3
  = key: components.nvidia-device-plugin
  = object: Application.argoproj.io argocd/nvidia-device-plugin, at spec.destination.namespace
  = rendered: rendered/namespaces/argocd/application-nvidia-device-plugin.yaml from templates/cluster/argocd/applications.yaml (rendering the cluster, document 10)
  = help: declare the namespace (values/namespaces/nvidia-system.yaml), or add CreateNamespace=true to the Application's syncOptions

1 error, 0 warnings in 1 file"#;
    assert_eq!(repo.validate(1).trim_end(), expected);
}

/// The bootstrap project without HelmChart in its namespaceResourceWhitelist.
#[test]
fn app_project_that_does_not_permit_a_kind_its_application_syncs_is_reported() {
    let repo = Repo::this_repository_edited(&[(
        "templates/nodes/argocd-bootstrap.yaml",
        "    - {group: helm.cattle.io, kind: HelmChart}\n",
        "",
    )]);
    let expected = r#"error[argocd-project-permits]: project `bootstrap` does not permit helm.cattle.io/HelmChart (not in namespaceResourceWhitelist, or blacklisted): Application `bootstrap-mainpc` syncs HelmChart.helm.cattle.io kube-system/argo-cd
  --> values/cluster.yaml:1:1
  = object: Application.argoproj.io argocd/bootstrap-mainpc, at spec.source
  = rendered: rendered/namespaces/argocd/application-bootstrap-mainpc.yaml from templates/cluster/argocd/applications.yaml (rendering the cluster, document 2)
  = help: permit it in the AppProject, or move the object to an Application whose project does

1 error, 0 warnings in 1 file"#;
    assert_eq!(repo.validate(1).trim_end(), expected);
}

/// A second Application whose include selects one file root already syncs.
#[test]
fn object_selected_by_two_applications_is_reported() {
    let repo = Repo::this_repository_edited(&[("templates/cluster/argocd/applications.yaml", "{%- for name in servers %}", "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: projects\n  namespace: argocd\nspec:\n  project: platform\n  source:\n    repoURL: {{ cluster.git.repoURL }}\n    targetRevision: {{ cluster.git.revision }}\n    path: {{ path ~ \"/namespaces/argocd\" }}\n    directory: {include: appproject-ai-system.yaml}\n  destination:\n    server: {{ server }}\n    namespace: argocd\n{%- for name in servers %}")]);
    let expected = r#"error[argocd-shared-owner]: AppProject.argoproj.io argocd/ai-system is managed by Applications `projects`, `root`: each applies its own copy, and one prunes it when its copy goes
  --> values/cluster.yaml:1:1
  = object: AppProject.argoproj.io argocd/ai-system, at metadata
  = rendered: rendered/namespaces/argocd/appproject-ai-system.yaml from templates/cluster/argocd/projects.yaml (rendering the cluster, document 2)
  = help: let one Application's source select it (directory include/exclude, or another path)

1 error, 0 warnings in 1 file"#;
    assert_eq!(repo.validate(1).trim_end(), expected);
}

/// D-21: the Namespaces without Prune=false,Delete=false go with the `cluster` Application.
#[test]
fn namespaces_without_prune_and_delete_protection_go_with_the_cluster_application() {
    let repo = Repo::this_repository_edited(&[(
        "templates/namespaces/namespace.yaml",
        "    argocd.argoproj.io/sync-options: Prune=false,Delete=false\n",
        "",
    )]);
    let out = repo.validate(0);
    let first = r#"warning[argocd-prune-blast-radius]: Namespace ai-system-core goes with Application `cluster` on deleting or renaming it (resources finalizer) or a path that no longer selects it (automated prune): everything in it, the objects of Applications `ns-ai-system-core` and their volumes included
  --> values/namespaces/ai-system-core.yaml:1:1
  = object: Namespace ai-system-core, at metadata.annotations
  = rendered: rendered/cluster/namespace-ai-system-core.yaml from templates/namespaces/namespace.yaml (rendering namespace ai-system-core, document 1)
  = help: annotate it `argocd.argoproj.io/sync-options: Prune=false,Delete=false` (Argo CD then neither prunes nor cascade-deletes it)"#;
    assert!(out.starts_with(first), "{out}");
    assert_eq!(out.matches("warning[argocd-prune-blast-radius]: Namespace ").count(), 7, "{out}");
    assert!(out.trim_end().ends_with(r#"0 errors, 7 warnings in 7 files"#), "{out}");
}
