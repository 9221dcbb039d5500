//! This repository's own cluster (values/ + templates/): the specifics the
//! migration plan asks for, checked on the rendered objects.

use serde_yaml::Value;

use crate::harness::{text, Repo};

#[test]
fn hpas_match_the_plan_where_the_hardware_allows() {
    let repo = Repo::this_repository_rendered();
    // The plan's GPU HPA 1–3 would stack copies of the model on the one 4090
    // (README, "GPU memory"): reasoning-suite runs one replica instead.
    assert!(!repo.exists("rendered/namespaces/ai-system-gpu/horizontalpodautoscaler-reasoning-gpu-hpa.yaml"));
    let reasoning = repo.object("namespaces/ai-system-gpu/deployment-reasoning-suite.yaml");
    assert_eq!(reasoning["spec"]["replicas"], 1);

    let cpu = repo.object("namespaces/ai-system-core/horizontalpodautoscaler-utility-cpu-hpa.yaml");
    assert_eq!(cpu["spec"]["scaleTargetRef"]["name"], "utility-suite");
    assert_eq!((cpu["spec"]["minReplicas"].as_u64(), cpu["spec"]["maxReplicas"].as_u64()), (Some(2), Some(6)));
    assert_eq!(cpu["spec"]["metrics"][0]["resource"]["name"], "cpu");
    assert_eq!(cpu["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);

    // HPA-managed workloads leave replicas to the HPA (Argo CD would fight it otherwise).
    let utility = repo.object("namespaces/ai-system-core/deployment-utility-suite.yaml");
    assert!(utility["spec"].get("replicas").is_none());
}

#[test]
fn rollout_strategies_follow_the_plan_except_where_a_second_copy_cannot_fit() {
    let repo = Repo::this_repository_rendered();
    let strategy = |path: &str| repo.object(path)["spec"]["strategy"].clone();
    let cpu = &strategy("namespaces/ai-system-core/deployment-utility-suite.yaml")["rollingUpdate"];
    assert_eq!((cpu["maxSurge"].as_u64(), cpu["maxUnavailable"].as_u64()), (Some(1), Some(1)));
    // A surge pod would load a second copy of its model onto a full card.
    for gpu in ["coordination", "reasoning-suite", "speech-pipeline", "vision-dream", "tutoring"] {
        let recreate = strategy(&format!("namespaces/ai-system-gpu/deployment-{gpu}.yaml"));
        assert_eq!(recreate["type"], "Recreate", "{gpu}");
        assert!(recreate.get("rollingUpdate").is_none(), "{gpu}");
    }
}

#[test]
fn gpu_workloads_are_pinned_and_tolerate_pc2() {
    let repo = Repo::this_repository_rendered();
    let pod = |path: &str| repo.object(path)["spec"]["template"]["spec"].clone();
    let coordination = pod("namespaces/ai-system-gpu/deployment-coordination.yaml");
    assert_eq!(coordination["nodeSelector"]["kubernetes.io/hostname"], "mainpc");
    assert_eq!(coordination["runtimeClassName"], "nvidia");
    assert_eq!(coordination["containers"][0]["resources"]["limits"]["nvidia.com/gpu"], 1);
    for on_pc2 in ["vision-dream", "tutoring"] {
        let spec = pod(&format!("namespaces/ai-system-gpu/deployment-{on_pc2}.yaml"));
        assert_eq!(spec["nodeSelector"]["kubernetes.io/hostname"], "pc2", "{on_pc2}");
        let toleration = &spec["tolerations"][0];
        assert_eq!((text(&toleration["key"]), text(&toleration["value"])), ("nvidia.com/gpu", "rtx3060"), "{on_pc2}");
    }
    let speech = pod("namespaces/ai-system-gpu/deployment-speech-pipeline.yaml");
    assert_eq!(speech["nodeSelector"]["kubernetes.io/hostname"], "mainpc");
    let utility = pod("namespaces/ai-system-core/deployment-utility-suite.yaml");
    assert_eq!(utility["nodeSelector"]["ai-system/cpu-pool"], "true");
    assert!(utility.get("runtimeClassName").is_none());
}

#[test]
fn network_policies_deny_by_default_and_allow_dns() {
    let repo = Repo::this_repository_rendered();
    for namespace in ["ai-system-infra", "ai-system-core", "ai-system-gpu"] {
        let deny = repo.object(&format!("namespaces/{namespace}/networkpolicy-default-deny-all.yaml"));
        assert_eq!(deny["spec"]["podSelector"], Value::Mapping(Default::default()));
        assert_eq!(deny["spec"]["policyTypes"], serde_yaml::from_str::<Value>("[Ingress, Egress]").unwrap());
        let dns = repo.object(&format!("namespaces/{namespace}/networkpolicy-allow-dns.yaml"));
        let to = &dns["spec"]["egress"][0]["to"][0];
        assert_eq!(to["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "kube-system");
        let ports: Vec<(String, u64)> = dns["spec"]["egress"][0]["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| (text(&p["protocol"]).to_string(), p["port"].as_u64().unwrap()))
            .collect();
        assert_eq!(ports, [("UDP".to_string(), 53), ("TCP".to_string(), 53)]);
    }
    // Ingress per workload, from the workloads that declare a flow to it, on
    // that port only: coordination, from the web interface on 7100.
    assert!(!repo.exists("rendered/namespaces/ai-system-gpu/networkpolicy-allow-ingress-from-namespaces.yaml"));
    let ingress = repo.object("namespaces/ai-system-gpu/networkpolicy-coordination-ingress-from-clients.yaml");
    assert_eq!(ingress["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "coordination");
    let rules = ingress["spec"]["ingress"].as_sequence().unwrap();
    assert_eq!(rules.len(), 1);
    let peer = &rules[0]["from"][0];
    assert_eq!(text(&peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]), "ai-system-core");
    assert_eq!(text(&peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]), "web-interface");
    assert_eq!(rules[0]["ports"][0]["port"].as_u64(), Some(7100));
    let egress = repo.object("namespaces/ai-system-gpu/networkpolicy-allow-egress-to-namespaces.yaml");
    assert!(serde_yaml::to_string(&egress).unwrap().contains("kubernetes.io/metadata.name: ai-system-core"));
}

#[test]
fn no_plaintext_secret_is_rendered() {
    let repo = Repo::this_repository_rendered();
    for (path, bytes) in repo.snapshot() {
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("\nkind: Secret\n"), "{} is a plain Secret", path.display());
    }
    let sealed = repo.object("namespaces/ai-system-gpu/sealedsecret-model-api-keys.yaml");
    assert_eq!(sealed["kind"], "SealedSecret");
    assert!(sealed["spec"]["encryptedData"]["HF_TOKEN"].as_str().unwrap().len() > 100);
}

#[test]
fn plaintext_secret_in_values_is_refused_and_nothing_is_written() {
    let repo = Repo::this_repository_rendered();
    let before = repo.snapshot();
    let path = "values/namespaces/ai-system-infra.yaml";
    let values = repo.read(path);
    let start = values.find("REDIS_PASSWORD: Ag").expect("sealed redis password") + "REDIS_PASSWORD: ".len();
    let end = start + values[start..].find('\n').unwrap();
    repo.write(path, format!("{}hunter2{}", &values[..start], &values[end..]).as_bytes());
    let line = values[..start].lines().count();
    repo.kiln(&["render"]).code(2).stderr(&format!(
        "error: secret value `REDIS_PASSWORD` is not SealedSecret ciphertext: it is not base64
  --> values/namespaces/ai-system-infra.yaml:{line}:7
  = key: secrets.redis-auth.encryptedData.REDIS_PASSWORD
  = help: never commit plaintext: seal it with `kiln seal --namespace <ns> --name <secret> --key <key>` (see README, Secrets)"
    ));
    assert_eq!(before, repo.snapshot());
}

#[test]
fn misspelt_secret_env_key_in_this_repository_is_refused_as_the_readme_shows() {
    let repo = Repo::this_repository_rendered();
    let before = repo.snapshot();
    let path = "values/namespaces/ai-system-core.yaml";
    let values = repo.read(path);
    let written = "key: POSTGRES_PASSWORD}";
    let start = values.find(written).expect("memory-stack's secretEnv key");
    repo.write(path, values.replacen(written, "key: POSTGRES_PASSWD}", 1).as_bytes());
    let line = values[..start].lines().count();
    let column = start - values[..start].rfind('\n').unwrap();
    let expected = format!(
        "error: secret `memory-db-credentials` has no key `POSTGRES_PASSWD`
  --> {path}:{line}:{column}
  = key: workloads.memory-stack.secretEnv.POSTGRES_PASSWORD.key
  = help: did you mean `POSTGRES_PASSWORD`? secret `memory-db-credentials` has keys `POSTGRES_PASSWORD`, `QDRANT_API_KEY`"
    );
    repo.kiln(&["render"]).code(2).stdout("").stderr(&expected);
    assert_eq!(before, repo.snapshot());
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains(&format!("```text\n{expected}\n```")), "README's example differs from:\n{expected}");
}

#[test]
fn node_files_carry_k3s_settings_and_no_token() {
    let repo = Repo::this_repository_rendered();
    let server = repo.read("rendered/nodes/mainpc/etc/rancher/k3s/config.yaml");
    for line in [
        "cluster-init: true",
        "secrets-encryption: true",
        "token-file: /etc/rancher/k3s/token",
        "flannel-backend: vxlan",
    ] {
        assert!(server.contains(line), "mainpc config lacks `{line}`");
    }
    let agent = repo.read("rendered/nodes/pc2/etc/rancher/k3s/config.yaml");
    let config: Value = serde_yaml::from_str(&agent).unwrap();
    assert_eq!(config["server"], "https://192.168.1.10:6443");
    assert_eq!(config["node-taint"][0], "nvidia.com/gpu=rtx3060:NoSchedule");
    assert_eq!(config["node-taint"].as_sequence().map(Vec::len), Some(1));
    assert!(!agent.contains("cluster-init"), "agents cannot use server-only keys");
    assert!(repo
        .read("rendered/nodes/pc2/node-config.sh")
        .contains("kubectl taint node \"$node\" nvidia.com/gpu=rtx3060:NoSchedule --overwrite"));
    assert!(repo.exists("rendered/nodes/mainpc/manifests/helmchart-argo-cd.yaml"));
    assert!(!repo.exists("rendered/nodes/pc2/manifests"), "only the server applies bootstrap manifests");
    repo.remove("rendered/nodes/pc2/node-config.sh");
    repo.kiln(&["verify"]).code(1);
}

#[test]
fn argo_cd_applications_never_point_at_host_files() {
    let repo = Repo::this_repository_rendered();
    for (path, bytes) in repo.snapshot() {
        let text = String::from_utf8(bytes).unwrap();
        if !text.contains("\nkind: Application\n") {
            continue;
        }
        let app: Value = serde_yaml::from_str(&text).unwrap();
        if let Some(source_path) = app["spec"]["source"]["path"].as_str() {
            let dir = source_path.strip_prefix("rendered/").expect("apps sync rendered/");
            for (other, _) in repo.snapshot() {
                let other = other.to_string_lossy().replace('\\', "/");
                if let Some(rest) = other.strip_prefix(&format!("{dir}/")) {
                    assert!(
                        !rest.contains('/') && other.ends_with(".yaml") && !other.contains("/etc/"),
                        "{} syncs {dir}, which holds the non-object file {other}",
                        path.display()
                    );
                }
            }
        }
    }
}

/// The `spec.ignoreDifferences` entries of an Application, as `kind/name: fields`.
fn ignored(app: &Value) -> Vec<String> {
    let entries = app["spec"]["ignoreDifferences"].as_sequence().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|entry| {
            let fields: Vec<&str> = ["jsonPointers", "jqPathExpressions"]
                .iter()
                .flat_map(|key| entry[*key].as_sequence().into_iter().flatten().map(text))
                .collect();
            format!("{}/{}: {}", text(&entry["kind"]), text(&entry["name"]), fields.join(" "))
        })
        .collect()
}

fn sync_options(app: &Value) -> Vec<&str> {
    app["spec"]["syncPolicy"]["syncOptions"].as_sequence().into_iter().flatten().map(text).collect()
}

#[test]
fn hpa_ignore_differences_cover_every_hpa_target_not_only_a_first_workload() {
    let repo = Repo::this_repository_rendered();
    // memory-stack, the first workload of ai-system-core, has no HPA; utility-suite has one.
    let core = repo.object("namespaces/argocd/application-ns-ai-system-core.yaml");
    assert_eq!(ignored(&core), ["Deployment/utility-suite: /spec/replicas"]);
    assert_eq!(sync_options(&core), ["PruneLast=true", "RespectIgnoreDifferences=true"]);
    // No HPA in ai-system-infra or ai-system-gpu: nothing to ignore.
    for namespace in ["ai-system-infra", "ai-system-gpu"] {
        let application = repo.object(&format!("namespaces/argocd/application-ns-{namespace}.yaml"));
        assert!(application["spec"].get("ignoreDifferences").is_none(), "{namespace}");
        assert_eq!(sync_options(&application), ["PruneLast=true"], "{namespace}");
    }
}

#[test]
fn istio_and_prometheus_operator_webhook_fields_are_left_to_the_controllers_that_patch_them() {
    let repo = Repo::this_repository_with_istio();
    repo.kiln(&["render"]).code(0);
    let istiod = repo.object("namespaces/argocd/application-istiod.yaml");
    assert_eq!(
        ignored(&istiod),
        [
            "ValidatingWebhookConfiguration/istio-validator-istio-system: .webhooks[]?.failurePolicy .webhooks[]?.clientConfig.caBundle",
            "MutatingWebhookConfiguration/istio-sidecar-injector: .webhooks[]?.clientConfig.caBundle",
        ]
    );
    assert_eq!(sync_options(&istiod), ["RespectIgnoreDifferences=true"]);
    let base = repo.object("namespaces/argocd/application-istio-base.yaml");
    assert_eq!(
        ignored(&base),
        ["ValidatingWebhookConfiguration/istiod-default-validator: .webhooks[]?.failurePolicy .webhooks[]?.clientConfig.caBundle"]
    );
    assert_eq!(sync_options(&base), ["ServerSideApply=true", "RespectIgnoreDifferences=true"]);
    let kps = repo.object("namespaces/argocd/application-kube-prometheus-stack.yaml");
    assert_eq!(
        ignored(&kps),
        [
            "MutatingWebhookConfiguration/kube-prometheus-stack-admission: .webhooks[]?.clientConfig.caBundle",
            "ValidatingWebhookConfiguration/kube-prometheus-stack-admission: .webhooks[]?.clientConfig.caBundle",
        ]
    );
    // A chart nothing patches gets neither.
    let jaeger = repo.object("namespaces/argocd/application-jaeger.yaml");
    assert!(jaeger["spec"].get("ignoreDifferences").is_none());
    assert!(jaeger["spec"]["syncPolicy"].get("syncOptions").is_none());
}

#[test]
fn bootstrap_manifests_are_applied_once_by_bootstrap_sh_not_left_to_k3s_auto_deploy() {
    let repo = Repo::this_repository_rendered();
    let server = repo.read("rendered/nodes/mainpc/bootstrap.sh");
    assert!(!server.contains("install -m 0600 \"$manifest\" /var/lib/rancher/k3s/server/manifests"));
    assert!(server.contains("rm -f /var/lib/rancher/k3s/server/manifests/kiln-*.yaml\n"));
    assert!(server.contains("until k3s kubectl apply -f \"$here/manifests\" >/dev/null 2>&1; do\n"));
    // The old files go before k3s (re)starts, the apply comes after it runs.
    let removed = server.find("rm -f /var/lib/rancher").unwrap();
    let started = server.find("systemctl restart k3s").unwrap();
    let applied = server.find("until k3s kubectl apply").unwrap();
    assert!(removed < started && started < applied, "{server}");
    let agent = repo.read("rendered/nodes/pc2/bootstrap.sh");
    assert!(!agent.contains("kubectl") && !agent.contains("server/manifests"), "{agent}");
}

#[test]
fn namespaces_are_neither_pruned_nor_deleted_with_their_application() {
    let repo = Repo::this_repository_rendered();
    for name in ["argocd", "monitoring", "ai-system-gpu"] {
        let namespace = repo.object(&format!("cluster/namespace-{name}.yaml"));
        let options = &namespace["metadata"]["annotations"]["argocd.argoproj.io/sync-options"];
        assert_eq!(options, "Prune=false,Delete=false", "{name}");
    }
}

/// node-config.sh against a stand-in kubectl (tests/fixtures/fake-kubectl.py):
/// labels and taints kiln declared before and no longer does are removed,
/// the declared ones set, what others set is left alone, and a second run
/// changes nothing (cluster review D-22: only `ai-system/*` labels were
/// pruned, and taints never).
#[test]
fn node_config_reconciles_exactly_the_labels_and_taints_kiln_owns() {
    let repo = Repo::this_repository_rendered();
    let bin = repo.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(crate::harness::root().join("tests/fixtures/fake-kubectl.py"), bin.join("kubectl"))
        .unwrap();
    let state = repo.path().join("node.json");
    let before = serde_json::json!({
        "name": "pc2",
        "labels": {
            "kubernetes.io/hostname": "pc2",
            "ai-system/cpu-pool": "true",
            "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-3060",
            "nvidia.com/gpu.count": "1",
            "ai-system/retired": "yes"
        },
        "taints": [
            {"key": "nvidia.com/gpu", "value": "rtx3060", "effect": "NoSchedule"},
            {"key": "maintenance", "value": "", "effect": "NoExecute"},
            {"key": "node.kubernetes.io/unschedulable", "value": "", "effect": "NoSchedule"}
        ],
        "annotations": {
            "kiln.dev/owned-labels": "ai-system/cpu-pool,ai-system/retired,nvidia.com/gpu.count,nvidia.com/gpu.product",
            "kiln.dev/owned-taints": "nvidia.com/gpu:NoSchedule,maintenance:NoExecute"
        }
    });
    std::fs::write(&state, serde_json::to_string(&before).unwrap()).unwrap();
    let run = || {
        let output = std::process::Command::new("sh")
            .arg(repo.path().join("rendered/nodes/pc2/node-config.sh"))
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
            .env("FAKE_NODE", &state)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&state).unwrap()).unwrap()
    };
    let after = run();
    assert_eq!(
        after["labels"],
        serde_json::json!({
            "kubernetes.io/hostname": "pc2",
            "ai-system/cpu-pool": "true",
            "ai-system/node-class": "gpu-secondary",
            "nvidia.com/device-plugin.config": "pc2",
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-3060"
        })
    );
    assert_eq!(
        after["taints"],
        serde_json::json!([
            {"key": "node.kubernetes.io/unschedulable", "value": "", "effect": "NoSchedule"},
            {"key": "nvidia.com/gpu", "value": "rtx3060", "effect": "NoSchedule"}
        ])
    );
    assert_eq!(after["annotations"]["kiln.dev/owned-taints"], "nvidia.com/gpu:NoSchedule");
    assert_eq!(run(), after, "a second run changes nothing");
}

/// The training jobs write their adapters to a shared NFS claim that the model
/// servers mount read-only (cluster review D-6: they wrote into an emptyDir,
/// lost with each pod); a volume naming an undeclared shared claim is refused.
#[test]
fn training_output_lives_on_a_shared_claim_the_model_servers_read() {
    let repo = Repo::this_repository_rendered();
    let claim: Value =
        serde_yaml::from_str(&repo.read("rendered/namespaces/ai-system-gpu/persistentvolumeclaim-adapters.yaml"))
            .unwrap();
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteMany");
    assert_eq!(claim["spec"]["storageClassName"], "nfs-client");
    assert_eq!(claim["metadata"]["annotations"]["argocd.argoproj.io/sync-options"], "Prune=false,Delete=false");
    let mounts = |file: &str, template: &[&str]| {
        let object: Value = serde_yaml::from_str(&repo.read(file)).unwrap();
        let mut spec = &object;
        for key in template {
            spec = &spec[*key];
        }
        let mount = spec["containers"][0]["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|mount| mount["name"] == "adapters")
            .cloned()
            .unwrap();
        let volume = spec["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == "adapters").cloned().unwrap();
        (mount["readOnly"].as_bool().unwrap_or(false), volume["persistentVolumeClaim"]["claimName"].clone())
    };
    let pod = ["spec", "template", "spec"];
    let cron = ["spec", "jobTemplate", "spec", "template", "spec"];
    assert_eq!(
        mounts("rendered/namespaces/ai-system-gpu/deployment-reasoning-suite.yaml", &pod),
        (true, "adapters".into())
    );
    assert_eq!(
        mounts("rendered/namespaces/ai-system-gpu/cronjob-learning-train.yaml", &cron),
        (false, "adapters".into())
    );
    let path = "values/namespaces/ai-system-gpu.yaml";
    let values = repo
        .read(path)
        .replace("claim: adapters, mountPath: /models/adapters}", "claim: adaptors, mountPath: /models/adapters}");
    repo.write(path, values.as_bytes());
    let run = repo.kiln(&["render"]);
    run.code(2);
    assert!(
        run.stderr.starts_with("error: volume adapters mounts claim adaptors, which is not a `sharedVolumes` entry of namespace ai-system-gpu\n"),
        "{}",
        run.stderr
    );
}

/// D-24: Istio was installed with no namespace in the mesh, for about 1.4 GiB
/// of requests. It is off by default: no Application, no namespace, nothing
/// held back from the workloads by the plan.
#[test]
fn istio_is_opt_in_and_off_by_default() {
    let repo = Repo::this_repository_rendered();
    for application in ["istio-base", "istiod", "istio-cni", "ztunnel"] {
        assert!(!repo.exists(&format!("rendered/namespaces/argocd/application-{application}.yaml")), "{application}");
    }
    assert!(!repo.exists("rendered/cluster/namespace-istio-system.yaml"));
    let plan = repo.kiln(&["plan"]);
    assert!(
        plan.stdout.contains("mainpc  14   28Gi    8               110   1.8 cpu, 4.19Gi memory, 22 pods"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("pc2     7    14Gi    4               110   0.15 cpu, 192Mi memory, 3 pods"),
        "{}",
        plan.stdout
    );
}

/// The README's opt-in turns the mesh on: the four Applications render, a
/// namespace can enrol, everything validates, and the plan holds the mesh's
/// pods back again (ztunnel and the CNI agent on both nodes, istiod on mainpc).
#[test]
fn the_readme_opt_in_turns_the_mesh_on() {
    let repo = Repo::this_repository_with_istio();
    let core = repo.read("values/namespaces/ai-system-core.yaml");
    repo.write(
        "values/namespaces/ai-system-core.yaml",
        core.replacen("\nsyncWave:", "\nmesh: true\nsyncWave:", 1).as_bytes(),
    );
    repo.kiln(&["render"]).code(0);
    for application in ["istio-base", "istiod", "istio-cni", "ztunnel"] {
        assert!(repo.exists(&format!("rendered/namespaces/argocd/application-{application}.yaml")), "{application}");
    }
    let namespace = repo.object("cluster/namespace-ai-system-core.yaml");
    assert_eq!(namespace["metadata"]["labels"]["istio.io/dataplane-mode"], "ambient");
    assert!(repo.exists("rendered/namespaces/ai-system-core/networkpolicy-allow-mesh-hbone.yaml"));
    repo.kiln(&["validate"]).code(0);
    let plan = repo.kiln(&["plan"]);
    assert!(
        plan.stdout.contains("mainpc  14   28Gi    8               110   2.2 cpu, 5.04Gi memory, 25 pods"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("pc2     7    14Gi    4               110   0.45 cpu, 804Mi memory, 5 pods"),
        "{}",
        plan.stdout
    );
}

/// `mesh: true` while the charts are off would label the namespace for a
/// data plane that is not there.
#[test]
fn mesh_without_istio_is_refused() {
    let repo = Repo::this_repository();
    let core = repo.read("values/namespaces/ai-system-core.yaml");
    repo.write(
        "values/namespaces/ai-system-core.yaml",
        core.replacen("\nsyncWave:", "\nmesh: true\nsyncWave:", 1).as_bytes(),
    );
    let before = repo.snapshot();
    let run = repo.kiln(&["render"]);
    run.code(2);
    assert_eq!(
        run.stderr,
        "error: `mesh: true` enrols the namespace in Istio's ambient mesh, but no enabled component installs the charts `istiod`, `cni`, `ztunnel`, so nothing would carry its traffic\n  --> values/namespaces/ai-system-core.yaml:4:1\n  = key: mesh\n  = help: turn Istio on in values/cluster.yaml (README, \"Service mesh (opt-in)\"), or remove `mesh: true`\n"
    );
    assert_eq!(repo.snapshot(), before);
}

/// D-16: model caches were unbounded emptyDirs, lost on every restart, and
/// `HF_HOME` pointed nowhere under the read-only root. Each node has one
/// cache on local-path that only its own GPU pods mount, the caches point
/// into it, and no pod has unbounded scratch space or no ephemeral-storage
/// request.
#[test]
fn model_caches_persist_per_node_and_scratch_is_bounded() {
    let repo = Repo::this_repository_rendered();
    for (node, size) in [("mainpc", "60Gi"), ("pc2", "40Gi")] {
        let claim = repo.object(&format!("namespaces/ai-system-gpu/persistentvolumeclaim-model-cache-{node}.yaml"));
        assert_eq!(claim["spec"]["storageClassName"], "local-path");
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], size);
    }
    let consumers = [
        ("deployment-coordination", "mainpc"),
        ("deployment-reasoning-suite", "mainpc"),
        ("deployment-speech-pipeline", "mainpc"),
        ("cronjob-learning-train", "mainpc"),
        ("job-learning-bootstrap", "mainpc"),
        ("deployment-vision-dream", "pc2"),
        ("deployment-tutoring", "pc2"),
    ];
    for (file, node) in consumers {
        let workload = repo.object(&format!("namespaces/ai-system-gpu/{file}.yaml"));
        let text = serde_yaml::to_string(&workload).unwrap();
        assert!(text.contains(&format!("claimName: model-cache-{node}\n")), "{file}");
        assert!(text.contains("mountPath: /models/cache\n"), "{file}");
        let name = file.split_once('-').unwrap().1;
        let env = repo.object(&format!("namespaces/ai-system-gpu/configmap-{name}-env.yaml"));
        assert_eq!(env["data"]["HF_HOME"], "/models/cache/huggingface", "{file}");
        assert_eq!(env["data"]["TORCH_HOME"], "/models/cache/torch", "{file}");
        assert_eq!(env["data"]["XDG_CACHE_HOME"], "/models/cache/xdg", "{file}");
    }
    // Every pod kiln renders: emptyDirs bounded, each container with an
    // ephemeral-storage request and limit.
    let mut pods = 0;
    for (path, bytes) in repo.snapshot() {
        let text = String::from_utf8(bytes).unwrap();
        if !text.contains("\n      containers:\n") && !text.contains("\n          containers:\n") {
            continue;
        }
        pods += 1;
        assert!(!text.contains("emptyDir: {}"), "{}", path.display());
        let requests = text.matches("ephemeral-storage: 256Mi").count();
        assert!(requests >= 1 && requests == text.matches("ephemeral-storage: 2Gi").count(), "{}", path.display());
    }
    assert!(pods >= 13, "{pods}");
}

/// The Helm values of the Application deploying `chart`.
fn application_values(repo: &Repo, file: &str) -> Value {
    let application = repo.object(&format!("namespaces/argocd/{file}"));
    let spec = &application["spec"];
    std::iter::once(&spec["source"])
        .chain(spec["sources"].as_sequence().into_iter().flatten())
        .find(|source| !source["chart"].is_null())
        .map(|source| source["helm"]["valuesObject"].clone())
        .unwrap()
}

/// D-25: Argo CD, Grafana and Jaeger had no Ingress though the values said
/// "TLS terminates at the Traefik ingress". Each has one now, HTTPS only,
/// with a sealed certificate, and a login in front: Argo CD's and Grafana's
/// own, and Traefik basic auth for Jaeger, which has none.
#[test]
fn argo_grafana_and_jaeger_have_a_way_in_behind_tls_and_a_login() {
    let repo = Repo::this_repository_rendered();
    let websecure = |annotations: &Value| {
        assert_eq!(annotations["traefik.ingress.kubernetes.io/router.entrypoints"], "websecure");
        assert_eq!(annotations["traefik.ingress.kubernetes.io/router.tls"], "true");
    };
    // Argo CD: installed by k3s from the HelmChart; the chart names the secret `argocd-server-tls`.
    let helmchart = repo.object("nodes/mainpc/manifests/helmchart-argo-cd.yaml");
    let argo: Value = serde_yaml::from_str(helmchart["spec"]["valuesContent"].as_str().unwrap()).unwrap();
    assert_eq!(argo["global"]["domain"], "argocd.ai.lan");
    assert_eq!(argo["configs"]["params"]["server.insecure"], true);
    let ingress = &argo["server"]["ingress"];
    assert_eq!(
        (&ingress["enabled"], &ingress["ingressClassName"], &ingress["tls"]),
        (&Value::from(true), &Value::from("traefik"), &Value::from(true))
    );
    websecure(&ingress["annotations"]);
    assert_eq!(argo["dex"]["enabled"], false);
    // Grafana: the kube-prometheus-stack subchart, its admin from the sealed secret.
    let kps = application_values(&repo, "application-kube-prometheus-stack.yaml");
    let grafana = &kps["grafana"];
    assert_eq!(grafana["ingress"]["hosts"][0], "grafana.ai.lan");
    assert_eq!(grafana["ingress"]["tls"][0]["secretName"], "observability-tls");
    assert_eq!(grafana["ingress"]["tls"][0]["hosts"][0], "grafana.ai.lan");
    websecure(&grafana["ingress"]["annotations"]);
    assert_eq!(grafana["admin"]["existingSecret"], "grafana-admin");
    assert_eq!(grafana["grafana.ini"]["server"]["root_url"], "https://grafana.ai.lan");
    // Jaeger: an IngressRoute on websecure only, basic auth before the UI.
    let route = repo.object("namespaces/monitoring/ingressroute-jaeger-ui.yaml");
    assert_eq!(route["spec"]["entryPoints"], serde_yaml::from_str::<Value>("[websecure]").unwrap());
    let rule = &route["spec"]["routes"][0];
    assert_eq!(rule["match"], "Host(`jaeger.ai.lan`)");
    assert_eq!(rule["middlewares"][0]["name"], "jaeger-basic-auth");
    assert_eq!(
        (&rule["services"][0]["name"], &rule["services"][0]["port"]),
        (&Value::from("jaeger"), &Value::from(16686))
    );
    assert_eq!(route["spec"]["tls"]["secretName"], "observability-tls");
    let auth = repo.object("namespaces/monitoring/middleware-jaeger-basic-auth.yaml");
    assert_eq!(auth["spec"]["basicAuth"]["secret"], "jaeger-users");
    // The certificates and the users are sealed for their namespaces.
    for (path, kind) in [
        ("namespaces/argocd/sealedsecret-argocd-server-tls.yaml", "kubernetes.io/tls"),
        ("namespaces/monitoring/sealedsecret-observability-tls.yaml", "kubernetes.io/tls"),
        ("namespaces/monitoring/sealedsecret-jaeger-users.yaml", "Opaque"),
    ] {
        let sealed = repo.object(path);
        assert_eq!(sealed["spec"]["template"]["type"].as_str().unwrap_or("Opaque"), kind, "{path}");
    }
}

/// A host with a backtick would end Traefik's `Host(...)` and add a rule of its own.
#[test]
fn a_jaeger_host_cannot_rewrite_the_traefik_rule() {
    let repo = Repo::this_repository();
    let monitoring = repo.read("values/namespaces/monitoring.yaml");
    repo.write(
        "values/namespaces/monitoring.yaml",
        monitoring.replace("host: jaeger.ai.lan,", "host: \"x`) || PathPrefix(`/\",").as_bytes(),
    );
    let before = repo.snapshot();
    let run = repo.kiln(&["render"]);
    run.code(2);
    assert_eq!(
        run.stderr,
        "error: jaeger ui: host `x`) || PathPrefix(`/` is not a DNS name (lower-case letters, digits, `-` and `.`)\n  --> values/namespaces/monitoring.yaml:98:10\n  = key: vars.jaeger.ui.host\n  = help: checked by templates/cluster/monitoring/ingress.yaml while rendering the cluster\n"
    );
    assert_eq!(repo.snapshot(), before);
}

/// CIS hardening (k3s hardening guide): the API server enforces `restricted`
/// Pod Security on every namespace nobody labelled, kube-system exempt, and
/// keeps a rotated audit log; bootstrap.sh installs both files and the log
/// directory before k3s starts. Agents run no API server and get neither.
#[test]
fn server_enforces_restricted_pod_security_and_keeps_an_audit_log() {
    let repo = Repo::this_repository_rendered();
    let config = repo.object("nodes/mainpc/etc/rancher/k3s/config.yaml");
    let args: Vec<&str> =
        config["kube-apiserver-arg"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "admission-control-config-file=/etc/rancher/k3s/psa.yaml",
            "audit-policy-file=/etc/rancher/k3s/audit-policy.yaml",
            "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log",
            "audit-log-maxage=30",
            "audit-log-maxbackup=10",
            "audit-log-maxsize=100",
        ]
    );
    let psa = repo.object("nodes/mainpc/etc/rancher/k3s/psa.yaml");
    assert_eq!(psa["kind"], "AdmissionConfiguration");
    let pod_security = &psa["plugins"][0];
    assert_eq!(pod_security["name"], "PodSecurity");
    let defaults = &pod_security["configuration"]["defaults"];
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(defaults[mode], "restricted", "{mode}");
    }
    assert_eq!(
        pod_security["configuration"]["exemptions"]["namespaces"],
        serde_yaml::from_str::<Value>("[kube-system]").unwrap()
    );
    // The first matching rule wins: secrets are logged without their content
    // before the rule that logs every change's request body.
    let audit = repo.object("nodes/mainpc/etc/rancher/k3s/audit-policy.yaml");
    let rules = audit["rules"].as_sequence().unwrap();
    let levels: Vec<&str> = rules.iter().map(|rule| rule["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["None", "Metadata", "Request", "Metadata"]);
    assert_eq!(rules[1]["resources"][0]["resources"][0], "secrets");
    let script = repo.read("rendered/nodes/mainpc/bootstrap.sh");
    let installed =
        script.find("install -D -m 0600 \"$here/etc/rancher/k3s/psa.yaml\" /etc/rancher/k3s/psa.yaml").unwrap();
    let audit_file = script.find("/etc/rancher/k3s/audit-policy.yaml\n").unwrap();
    let logs = script.find("mkdir -p -m 0700 /var/lib/rancher/k3s/server/logs").unwrap();
    let started = script.find("curl -sfL https://get.k3s.io").unwrap();
    assert!(installed < started && audit_file < started && logs < started, "{script}");
    assert!(!repo.exists("rendered/nodes/pc2/etc/rancher/k3s/psa.yaml"));
    assert!(!repo.exists("rendered/nodes/pc2/etc/rancher/k3s/audit-policy.yaml"));
    assert!(!repo.read("rendered/nodes/pc2/etc/rancher/k3s/config.yaml").contains("kube-apiserver-arg"));
}

/// CIS: every namespace has NetworkPolicies. The platform's namespaces had
/// none; they isolate ingress now and leave egress open.
#[test]
fn platform_namespaces_isolate_ingress() {
    let repo = Repo::this_repository_rendered();
    for namespace in ["argocd", "monitoring", "nfs-provisioner", "nvidia-device-plugin"] {
        let deny = repo.object(&format!("namespaces/{namespace}/networkpolicy-default-deny-ingress.yaml"));
        assert_eq!(deny["spec"]["podSelector"], serde_yaml::from_str::<Value>("{}").unwrap(), "{namespace}");
        assert_eq!(deny["spec"]["policyTypes"], serde_yaml::from_str::<Value>("[Ingress]").unwrap(), "{namespace}");
    }
    let sources = |namespace: &str| -> Vec<String> {
        let allow = repo.object(&format!("namespaces/{namespace}/networkpolicy-allow-ingress-from-namespaces.yaml"));
        allow["spec"]["ingress"][0]["from"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|from| {
                from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(sources("argocd"), ["argocd"]);
    assert_eq!(sources("monitoring"), ["monitoring", "ai-system-core", "ai-system-gpu", "ai-system-infra"]);
    for namespace in ["argocd", "monitoring"] {
        assert!(repo.exists(&format!("rendered/namespaces/{namespace}/networkpolicy-allow-ingress-controller.yaml")));
    }
    // Every namespace kiln renders has a policy.
    for (path, _) in repo.snapshot() {
        let path = path.to_string_lossy().to_string();
        if let Some(name) = path.strip_prefix("cluster/namespace-").and_then(|rest| rest.strip_suffix(".yaml")) {
            let prefix = format!("namespaces/{name}/networkpolicy-");
            let policies =
                repo.snapshot().into_iter().filter(|(p, _)| p.to_string_lossy().starts_with(&prefix)).count();
            assert!(policies > 0, "{name} has no NetworkPolicy");
        }
    }
}

#[test]
fn default_deny_and_default_deny_ingress_together_are_refused() {
    let repo = Repo::this_repository();
    let values = repo.read("values/namespaces/argocd.yaml");
    repo.write(
        "values/namespaces/argocd.yaml",
        values.replace("  defaultDenyIngress: true\n", "  defaultDeny: true\n  defaultDenyIngress: true\n").as_bytes(),
    );
    let run = repo.kiln(&["render"]);
    run.code(2);
    assert_eq!(
        run.stderr,
        "error: `defaultDenyIngress` and `defaultDeny` are both set: `defaultDeny` already denies ingress, and egress too\n  --> values/namespaces/argocd.yaml:18:3\n  = key: networkPolicy.defaultDenyIngress\n  = help: keep `defaultDeny` to isolate both directions, or only `defaultDenyIngress` to leave egress open\n"
    );
}
