//! Monitoring over this repository's own values and templates, copied into a
//! temporary repository and rendered by the real `kiln`: the HPA ↔
//! prometheus-adapter link, PromQL of every alert, Grafana dashboards,
//! ServiceMonitor selection, DCGM placement and tracing injection.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};
use serde_yaml::Value;

use crate::harness::Repo;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Metric names the rules and dashboards may query, by the exporter that
/// produces them. DCGM names are not listed: they must be among the counters
/// the dcgm-exporter Application is configured to emit (`customMetrics`).
const KNOWN_METRICS: &[&str] = &[
    // Prometheus itself
    "up",
    "ALERTS",
    // kube-state-metrics v2
    "kube_node_info",
    "kube_node_status_condition",
    "kube_node_status_allocatable",
    "kube_pod_info",
    "kube_pod_status_phase",
    "kube_pod_container_resource_requests",
    "kube_pod_container_resource_limits",
    "kube_pod_container_info",
    "kube_pod_container_status_ready",
    "kube_pod_container_status_restarts_total",
    "kube_pod_container_status_waiting_reason",
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
    "kube_deployment_status_condition",
    "kube_deployment_status_observed_generation",
    "kube_deployment_metadata_generation",
    "kube_statefulset_replicas",
    "kube_statefulset_status_replicas_ready",
    "kube_daemonset_status_number_ready",
    "kube_daemonset_status_desired_number_scheduled",
    "kube_cronjob_status_active",
    "kube_cronjob_status_last_successful_time",
    "kube_cronjob_created",
    "kube_job_status_succeeded",
    "kube_job_status_failed",
    "kube_horizontalpodautoscaler_info",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_condition",
    "kube_persistentvolumeclaim_access_mode",
    "kube_persistentvolumeclaim_info",
    // node-exporter
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    // kubelet and its cAdvisor
    "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_capacity_bytes",
    "kubelet_volume_stats_used_bytes",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    // k3s (API server endpoint): process and etcd snapshot metrics
    "process_start_time_seconds",
    "k3s_etcd_snapshot_save_duration_seconds_count",
    // Argo CD application controller
    "argocd_app_info",
    // node-exporter's textfile collector: written by the hosts' etcd snapshot copy
    // (templates/nodes/etcd-snapshot-copy.yaml)
    "kiln_etcd_snapshot_copy_last_success_timestamp_seconds",
];

/// A temporary repository holding this repository's values/ and templates/.
fn this_repo() -> Repo {
    let repo = Repo::new();
    for dir in ["values", "templates"] {
        for path in files_under(&Path::new(ROOT).join(dir)) {
            let relative = path.strip_prefix(ROOT).unwrap().to_string_lossy().replace('\\', "/");
            repo.write(&relative, &std::fs::read(&path).unwrap());
        }
    }
    repo
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// This repository rendered into a temporary copy, with its objects parsed.
struct Rendered {
    repo: Repo,
    objects: Vec<Value>,
}

/// This repository with the migration plan's GPU HPA on reasoning-suite,
/// which this repository cannot run (README, "GPU memory"), and a model
/// small enough for three replicas on the 4090: the custom-metric chain as a
/// GPU HPA would use it.
fn with_gpu_hpa() -> Repo {
    let repo = this_repo();
    let path = "values/namespaces/ai-system-gpu.yaml";
    let values = repo.read(path);
    let hpa = "    hpa:\n      name: reasoning-gpu-hpa\n      minReplicas: 1\n      maxReplicas: 3\n      podsMetrics:\n        - {name: nvidia_gpu_utilization_percent, averageValue: \"70\"}\n    resources:\n      requests: {cpu: \"1\", memory: 3Gi}";
    let values = values
        .replacen("NVIDIA-GeForce-RTX-4090, memoryGiB: 12}", "NVIDIA-GeForce-RTX-4090, memoryGiB: 1}", 1)
        .replacen("    resources:\n      requests: {cpu: \"1\", memory: 3Gi}", hpa, 1);
    repo.write(path, values.as_bytes());
    repo
}

impl Rendered {
    fn new() -> Rendered {
        Rendered::of(this_repo())
    }

    fn of(repo: Repo) -> Rendered {
        repo.kiln(&["render"]).code(0);
        let objects = files_under(&repo.path().join("rendered"))
            .into_iter()
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == "yaml") && !path.to_string_lossy().contains("/nodes/")
            })
            .map(|path| serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap())
            .collect();
        Rendered { repo, objects }
    }

    fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Value> + 'a {
        let kind = kind.to_string();
        self.objects.iter().filter(move |object| object["kind"] == kind.as_str())
    }

    /// An object by kind, namespace ("" for cluster-scoped) and name.
    fn object(&self, kind: &str, namespace: &str, name: &str) -> &Value {
        self.of_kind(kind)
            .find(|object| {
                let in_namespace = object["metadata"]["namespace"].as_str().unwrap_or_default() == namespace;
                in_namespace && object["metadata"]["name"] == name
            })
            .unwrap_or_else(|| panic!("no {kind} {namespace}/{name} rendered"))
    }

    /// The Helm values of the Argo CD Application deploying `chart`.
    fn chart_values(&self, chart: &str) -> &Value {
        self.of_kind("Application")
            .find_map(|app| {
                let spec = &app["spec"];
                std::iter::once(&spec["source"])
                    .chain(spec["sources"].as_sequence().into_iter().flatten())
                    .find(|source| source["chart"] == chart)
            })
            .map(|source| &source["helm"]["valuesObject"])
            .unwrap_or_else(|| panic!("no Application for chart {chart}"))
    }

    /// DCGM fields the exporter is configured to emit.
    fn dcgm_fields(&self) -> BTreeSet<String> {
        let csv = self.chart_values("dcgm-exporter")["customMetrics"].as_str().expect("customMetrics");
        csv.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| line.split(',').next().unwrap().trim().to_string())
            .collect()
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value:?}"))
}

/// The vector selectors of an expression (those inside range selectors too).
fn selectors<'a>(expr: &'a Expr, out: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::Aggregate(aggregate) => {
            selectors(&aggregate.expr, out);
            if let Some(param) = &aggregate.param {
                selectors(param, out);
            }
        }
        Expr::Unary(unary) => selectors(&unary.expr, out),
        Expr::Binary(binary) => {
            selectors(&binary.lhs, out);
            selectors(&binary.rhs, out);
        }
        Expr::Paren(paren) => selectors(&paren.expr, out),
        Expr::Subquery(subquery) => selectors(&subquery.expr, out),
        Expr::VectorSelector(selector) => out.push(selector),
        Expr::MatrixSelector(matrix) => out.push(&matrix.vs),
        Expr::Call(call) => call.args.args.iter().for_each(|arg| selectors(arg, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Metric names an expression selects.
fn metric_names(expr: &Expr, out: &mut BTreeSet<String>) {
    let mut found = Vec::new();
    selectors(expr, &mut found);
    out.extend(found.into_iter().filter_map(|selector| selector.name.clone()));
}

/// DCGM fields dcgm-exporter 4.5.3-4.8.2 reads per process in
/// KUBERNETES_VIRTUAL_GPUS mode (`isPerProcessMetric`): they come as the
/// device-level series and one series per pod. Every other field comes as
/// per-pod copies of the device value, without the device-level series while
/// pods use the GPU (docs/monitoring.md, "Time-slicing attribution").
const DCGM_PER_PROCESS: &[&str] = &["DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED"];

/// Where a query mixes or misses DCGM's series shapes: a per-process field
/// without an `exported_pod` matcher (`=""` for the device, `!=""` for pods)
/// adds both shapes up (D-10); a device field with `exported_pod=""` matches
/// nothing whenever a pod uses the GPU.
fn dcgm_shape_problems(query: &str) -> Result<Vec<String>, String> {
    let expr = parser::parse(query)?;
    let mut found = Vec::new();
    selectors(&expr, &mut found);
    let mut problems = Vec::new();
    for selector in found {
        let Some(name) = selector.name.as_deref().filter(|name| name.starts_with("DCGM_")) else { continue };
        let pod = selector.matchers.matchers.iter().find(|matcher| matcher.name == "exported_pod");
        let picks = |op: fn(&MatchOp) -> bool| pod.is_some_and(|m| op(&m.op) && m.value.is_empty());
        let device = picks(|op| matches!(op, MatchOp::Equal));
        let pods = picks(|op| matches!(op, MatchOp::NotEqual));
        if DCGM_PER_PROCESS.contains(&name) && !device && !pods {
            problems.push(format!("{name} without exported_pod=\"\" or exported_pod!=\"\""));
        }
        if !DCGM_PER_PROCESS.contains(&name) && device {
            problems.push(format!("{name} with exported_pod=\"\""));
        }
    }
    Ok(problems)
}

/// Parses a query and returns the metric names it uses that no exporter produces.
fn unknown_metrics(query: &str, dcgm: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let expr = parser::parse(query)?;
    let mut names = BTreeSet::new();
    metric_names(&expr, &mut names);
    Ok(names.into_iter().filter(|name| !KNOWN_METRICS.contains(&name.as_str()) && !dcgm.contains(name)).collect())
}

#[test]
fn hpa_metrics_are_served_by_the_adapter_rule() {
    let rendered = Rendered::of(with_gpu_hpa());
    let hpa = rendered.object("HorizontalPodAutoscaler", "ai-system-gpu", "reasoning-gpu-hpa");
    let metric = &hpa["spec"]["metrics"][0];
    assert_eq!(metric["type"], "Pods");
    assert_eq!(metric["pods"]["metric"]["name"], "nvidia_gpu_utilization_percent");
    let rules = &rendered.chart_values("prometheus-adapter")["rules"];
    assert_eq!(rules["default"], false, "the broad default rules stay off");
    let rule = &rules["custom"][0];
    assert_eq!(rule["name"]["as"], "nvidia_gpu_utilization_percent");
    assert!(text(&rule["seriesQuery"]).starts_with("DCGM_FI_DEV_GPU_UTIL{"), "{rule:?}");
    // honorLabels false (the chart default) renames the workload's labels to exported_*:
    // the rule must map those, not the exporter pod's own namespace/pod.
    let dcgm = &rendered.chart_values("dcgm-exporter")["serviceMonitor"];
    assert_eq!(dcgm["honorLabels"], false);
    let overrides = rule["resources"]["overrides"].as_mapping().unwrap();
    let mapped: BTreeMap<&str, &str> =
        overrides.iter().map(|(label, target)| (text(label), text(&target["resource"]))).collect();
    assert_eq!(mapped, BTreeMap::from([("exported_namespace", "namespace"), ("exported_pod", "pod")]));
    // The GPU dashboard shows the HPA's replicas.
    let dashboard_texts: Vec<&str> = rendered
        .objects
        .iter()
        .filter(|object| object["kind"] == "ConfigMap")
        .filter_map(|object| object["data"].as_mapping())
        .flat_map(|data| data.values().filter_map(Value::as_str))
        .collect();
    assert!(
        dashboard_texts.iter().any(|text| text.contains("horizontalpodautoscaler=~\\\"reasoning-gpu-hpa\\\"")),
        "the GPU HPA from values"
    );
    // The adapter queries the Service kube-prometheus-stack names after its release.
    assert_eq!(
        rendered.chart_values("prometheus-adapter")["prometheus"]["url"],
        "http://kube-prometheus-stack-prometheus.monitoring.svc"
    );
}

#[test]
fn hpa_metric_without_adapter_rule_fails_render() {
    let repo = with_gpu_hpa();
    let path = "values/namespaces/ai-system-gpu.yaml";
    let values = repo.read(path).replace(
        "{name: nvidia_gpu_utilization_percent, averageValue: \"70\"}",
        "{name: nvidia_gpu_busy_percent, averageValue: \"70\"}",
    );
    repo.write(path, values.as_bytes());
    repo.kiln(&["render"]).code(1).stderr(
        "error[hpa-metric-served]: HorizontalPodAutoscaler ai-system-gpu/reasoning-gpu-hpa scales on Pods metric `nvidia_gpu_busy_percent` that no prometheus-adapter rule serves
  --> values/namespaces/ai-system-gpu.yaml:158:5
  = key: workloads.reasoning-suite.hpa
  = object: HorizontalPodAutoscaler.autoscaling ai-system-gpu/reasoning-gpu-hpa, at spec.metrics[0]
  = rendered: rendered/namespaces/ai-system-gpu/horizontalpodautoscaler-reasoning-gpu-hpa.yaml from templates/workloads/autoscaling.yaml (rendering workload ai-system-gpu/reasoning-suite, document 1)
  = help: Application argocd/prometheus-adapter serves `nvidia_gpu_utilization_percent`; add a rule exposing `nvidia_gpu_busy_percent` to its `rules.custom` (values/cluster.yaml) or fix the metric name

warning[plan-gpu-hpa]: at maxReplicas 3, every pod of Deployment.apps ai-system-gpu/reasoning-suite runs on the one GPU of node `mainpc`: scaling out adds no GPU compute (the replicas take turns on the same card), only copies of the model in its memory
  --> values/namespaces/ai-system-gpu.yaml:123:3
  = key: workloads.reasoning-suite
  = object: HorizontalPodAutoscaler.autoscaling ai-system-gpu/reasoning-gpu-hpa, at spec.maxReplicas
  = rendered: rendered/namespaces/ai-system-gpu/horizontalpodautoscaler-reasoning-gpu-hpa.yaml from templates/workloads/autoscaling.yaml (rendering workload ai-system-gpu/reasoning-suite, document 1)
  = help: let the replicas reach other GPUs that can hold the model (maxReplicas no more than those GPUs), or drop the HPA and batch requests inside one replica

1 error, 1 warning in 1 file (5 acknowledged in values, not shown)
error: validation or plan found errors; nothing was written (see `kiln validate` and `kiln plan`)",
    );
    assert!(!repo.exists("rendered"), "a failed check writes nothing");
    repo.kiln(&["render", "--diff"]).code(1);
}

#[test]
fn regression_adapter_rule_removed_while_hpa_still_needs_it() {
    let repo = with_gpu_hpa();
    let path = "values/cluster.yaml";
    let values = repo.read(path).replace("as: nvidia_gpu_utilization_percent", "as: nvidia_gpu_util");
    repo.write(path, values.as_bytes());
    let run = repo.kiln(&["render"]);
    run.code(1);
    assert!(
        run.stderr.contains("Pods metric `nvidia_gpu_utilization_percent` that no prometheus-adapter rule serves"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("serves `nvidia_gpu_util`;"), "{}", run.stderr);
}

#[test]
fn every_alert_is_valid_promql_on_known_metrics_with_a_runbook() {
    let rendered = Rendered::new();
    let dcgm = rendered.dcgm_fields();
    let runbooks = std::fs::read_to_string(Path::new(ROOT).join("docs/runbooks/alerts.md")).unwrap();
    let anchors: BTreeSet<String> =
        runbooks.lines().filter_map(|line| line.strip_prefix("## ")).map(|title| title.trim().to_lowercase()).collect();
    let mut alerts = BTreeSet::new();
    for rule_object in rendered.of_kind("PrometheusRule") {
        for group in rule_object["spec"]["groups"].as_sequence().unwrap() {
            for rule in group["rules"].as_sequence().unwrap() {
                let name = text(&rule["alert"]).to_string();
                let expr = text(&rule["expr"]);
                assert_eq!(unknown_metrics(expr, &dcgm), Ok(vec![]), "alert {name}: {expr}");
                let severity = text(&rule["labels"]["severity"]);
                assert!(["critical", "warning", "info"].contains(&severity), "alert {name}: severity {severity}");
                for key in ["summary", "description", "runbook_url"] {
                    assert!(rule["annotations"][key].is_string(), "alert {name} has no {key}");
                }
                let url = text(&rule["annotations"]["runbook_url"]);
                let (page, anchor) = url.split_once('#').unwrap();
                assert!(page.ends_with("/docs/runbooks/alerts.md"), "{url}");
                assert!(anchors.contains(anchor), "alert {name}: no `## {name}` in docs/runbooks/alerts.md");
                assert!(alerts.insert(name.clone()), "alert {name} is defined twice");
            }
        }
    }
    for required in [
        "GPUTemperatureHigh",
        "GPUMemoryNearlyFull",
        "GPUUtilisationPinned",
        "GPUExporterMissing",
        "PodCrashLooping",
        "DeploymentRolloutStuck",
        "HPAMaxedOut",
        "LocalPathFilesystemNearlyFull",
        "NFSExportNearlyFull",
        "BackupTooOld",
        "EtcdSnapshotNotOffsite",
        "NodeNotReady",
        "EtcdSnapshotFailed",
        "EtcdSnapshotMissing",
        "EtcdSnapshotMetricsAbsent",
        "ArgoCDAppOutOfSync",
        "ArgoCDAppDegraded",
    ] {
        assert!(alerts.contains(required), "alert {required} is missing");
    }
    // The checks above can fail: a syntax error and an unknown metric are caught.
    assert!(unknown_metrics("sum(rate(x[5m])", &dcgm).is_err());
    assert_eq!(
        unknown_metrics("DCGM_FI_PROF_GR_ENGINE_ACTIVE > 0", &dcgm),
        Ok(vec!["DCGM_FI_PROF_GR_ENGINE_ACTIVE".into()])
    );
}

#[test]
fn gpu_alerts_cover_every_gpu_node_from_values() {
    let rendered = Rendered::new();
    let rule = rendered.object("PrometheusRule", "monitoring", "kiln-gpu");
    let rules = rule["spec"]["groups"][0]["rules"].as_sequence().unwrap();
    let expr = |alert: &str| text(&rules.iter().find(|r| r["alert"] == alert).unwrap()["expr"]).to_string();
    let missing = expr("GPUExporterMissing");
    let memory = expr("GPUMemoryNearlyFull");
    for (node, free_mib) in [("mainpc", "1229"), ("pc2", "614")] {
        assert!(missing.contains(&format!("absent(up{{job=\"dcgm-exporter\", node=\"{node}\"}})")), "{missing}");
        // 5 % of the memory the node values declare (24 and 12 GiB).
        assert!(memory.contains(&format!("DCGM_FI_DEV_FB_FREE{{node=\"{node}\"}}) < {free_mib}")), "{memory}");
    }
}

/// D-10: GPU utilisation is not double-counted. Every alert and dashboard query
/// on DCGM picks the device-level or the per-pod series on purpose.
#[test]
fn gpu_utilisation_is_double_counted_nowhere() {
    let rendered = Rendered::new();
    let mut queries = Vec::new();
    for rule_object in rendered.of_kind("PrometheusRule") {
        for group in rule_object["spec"]["groups"].as_sequence().unwrap() {
            for rule in group["rules"].as_sequence().unwrap() {
                queries.push((format!("alert {}", text(&rule["alert"])), text(&rule["expr"]).to_string()));
            }
        }
    }
    for config_map in rendered.of_kind("ConfigMap") {
        let Some(data) = config_map["data"].as_mapping() else { continue };
        for (key, json) in data.iter().filter(|(key, _)| text(key).ends_with(".json")) {
            let dashboard: serde_json::Value = serde_json::from_str(text(json)).unwrap();
            for panel in dashboard["panels"].as_array().unwrap() {
                for target in panel["targets"].as_array().into_iter().flatten() {
                    let expr = target["expr"].as_str().unwrap().replace("$__rate_interval", "5m");
                    queries.push((format!("{} `{}`", text(key), panel["title"].as_str().unwrap()), expr));
                }
            }
        }
    }
    let dcgm_queries = queries.iter().filter(|(_, expr)| expr.contains("DCGM_FI_DEV_GPU_UTIL")).count();
    assert!(dcgm_queries >= 4, "the alert, the GPU panels and the namespace panels: {dcgm_queries}");
    for (place, expr) in &queries {
        assert_eq!(dcgm_shape_problems(expr), Ok(vec![]), "{place}: {expr}");
    }
    let pinned = queries.iter().find(|(place, _)| place == "alert GPUUtilisationPinned").unwrap();
    assert_eq!(pinned.1, r#"max by (node, gpu) (DCGM_FI_DEV_GPU_UTIL{exported_pod=""}) >= 95"#);
    // The check can fail: kiln's expressions before D-10, and the opposite trap.
    assert_eq!(
        dcgm_shape_problems("clamp_max(sum by (node, gpu) (DCGM_FI_DEV_GPU_UTIL), 100) >= 95"),
        Ok(vec![r#"DCGM_FI_DEV_GPU_UTIL without exported_pod="" or exported_pod!="""#.to_string()])
    );
    assert_eq!(
        dcgm_shape_problems(r#"max by (node, gpu) (DCGM_FI_DEV_FB_FREE{exported_pod=""}) < 1229"#),
        Ok(vec![r#"DCGM_FI_DEV_FB_FREE with exported_pod="""#.to_string()])
    );
}

#[test]
fn dashboards_are_valid_grafana_json_on_known_metrics() {
    let rendered = Rendered::new();
    let dcgm = rendered.dcgm_fields();
    let grafana = &rendered.chart_values("kube-prometheus-stack")["grafana"];
    let sidecar = &grafana["sidecar"]["dashboards"];
    let datasource = text(&grafana["sidecar"]["datasources"]["uid"]);
    let mut uids = BTreeSet::new();
    let mut dashboards = BTreeMap::new();
    for config_map in rendered.of_kind("ConfigMap") {
        let labels = &config_map["metadata"]["labels"];
        if labels[text(&sidecar["label"])] != sidecar["labelValue"] {
            continue;
        }
        for (key, json) in config_map["data"].as_mapping().unwrap() {
            let key = text(key);
            assert!(key.ends_with(".json"), "{key}");
            let dashboard: serde_json::Value =
                serde_json::from_str(text(json)).unwrap_or_else(|e| panic!("{key}: {e}"));
            for field in ["uid", "title", "panels", "schemaVersion", "time"] {
                assert!(dashboard.get(field).is_some(), "{key} lacks {field}");
            }
            let uid = dashboard["uid"].as_str().unwrap().to_string();
            assert!(uid.len() <= 40, "{key}: uid {uid} is longer than Grafana's 40 characters");
            assert!(uids.insert(uid.clone()), "uid {uid} is used twice");
            let mut ids = BTreeSet::new();
            for panel in dashboard["panels"].as_array().unwrap() {
                let title = panel["title"].as_str().unwrap_or_default();
                assert!(ids.insert(panel["id"].as_u64().unwrap()), "{key}: panel id of `{title}` repeats");
                let grid = &panel["gridPos"];
                let (x, w) = (grid["x"].as_u64().unwrap(), grid["w"].as_u64().unwrap());
                assert!(x + w <= 24 && grid["y"].is_u64() && grid["h"].is_u64(), "{key}: `{title}` gridPos {grid}");
                if panel["type"] == "row" {
                    continue;
                }
                assert_eq!(panel["datasource"]["uid"], datasource, "{key}: `{title}`");
                let targets = panel["targets"].as_array().unwrap();
                assert!(!targets.is_empty(), "{key}: `{title}` has no query");
                for target in targets {
                    let expr = target["expr"].as_str().unwrap().replace("$__rate_interval", "5m");
                    assert_eq!(unknown_metrics(&expr, &dcgm), Ok(vec![]), "{key}: `{title}`: {expr}");
                }
            }
            dashboards.insert(uid, dashboard);
        }
    }
    // Generated from values: each dashboard's variable lists what the values
    // declare (nodes, GPU nodes, a namespace's workloads) and a row repeats per value.
    let variable = |uid: &str| -> (String, String) {
        let variable = &dashboards[uid]["templating"]["list"][0];
        (variable["name"].as_str().unwrap().to_string(), variable["query"].as_str().unwrap().to_string())
    };
    let repeated = |uid: &str| -> Vec<String> {
        dashboards[uid]["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|panel| panel["repeat"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(variable("kiln-cluster"), ("node".into(), "mainpc,pc2".into()));
    assert_eq!(variable("kiln-gpu"), ("node".into(), "mainpc,pc2".into()), "the nodes with GPUs");
    assert_eq!(variable("kiln-ns-ai-system-infra"), ("workload".into(), "nats,redis".into()));
    assert_eq!(
        variable("kiln-ns-ai-system-core"),
        (
            "workload".into(),
            "memory-db-backup,memory-stack,utility-suite,vector-store,vector-store-backup,web-interface".into()
        )
    );
    for uid in ["kiln-cluster", "kiln-gpu", "kiln-ns-ai-system-gpu"] {
        let (name, _) = variable(uid);
        assert_eq!(repeated(uid), [name], "{uid}: one row repeated per value of its variable");
    }
    // No GPU workload scales here (README, "GPU memory"), so no autoscaling row.
    let gpu_panels = dashboards["kiln-gpu"]["panels"].to_string();
    assert!(!gpu_panels.contains("Autoscaling on custom metrics"), "{gpu_panels}");
    let namespaces: Vec<&String> = dashboards.keys().filter(|uid| uid.starts_with("kiln-ns-")).collect();
    assert_eq!(namespaces, ["kiln-ns-ai-system-core", "kiln-ns-ai-system-gpu", "kiln-ns-ai-system-infra"]);
}

#[test]
fn service_monitors_are_selected_and_match_their_services() {
    let rendered = Rendered::new();
    let spec = &rendered.chart_values("kube-prometheus-stack")["prometheus"]["prometheusSpec"];
    for selector in ["serviceMonitorSelectorNilUsesHelmValues", "ruleSelectorNilUsesHelmValues"] {
        assert_eq!(spec[selector], false, "{selector}: Prometheus would select only release-labelled objects");
    }
    for narrowing in
        ["serviceMonitorSelector", "serviceMonitorNamespaceSelector", "ruleSelector", "ruleNamespaceSelector"]
    {
        assert!(spec[narrowing].is_null(), "{narrowing} would narrow what Prometheus selects");
    }
    let mut monitored = Vec::new();
    for monitor in rendered.of_kind("ServiceMonitor") {
        let namespace = text(&monitor["metadata"]["namespace"]);
        if !namespace.starts_with("ai-system") {
            continue;
        }
        let wanted = monitor["spec"]["selector"]["matchLabels"].as_mapping().unwrap();
        let service = rendered
            .of_kind("Service")
            .find(|service| {
                service["metadata"]["namespace"] == namespace
                    && wanted.iter().all(|(key, value)| &service["metadata"]["labels"][text(key)] == value)
            })
            .unwrap_or_else(|| {
                panic!("ServiceMonitor {namespace}/{:?} selects no Service", monitor["metadata"]["name"])
            });
        for endpoint in monitor["spec"]["endpoints"].as_sequence().unwrap() {
            let ports = service["spec"]["ports"].as_sequence().unwrap();
            assert!(
                ports.iter().any(|port| port["name"] == endpoint["port"]),
                "{endpoint:?} is not a port of the Service"
            );
        }
        monitored.push(format!("{namespace}/{}", text(&monitor["metadata"]["name"])));
    }
    monitored.sort();
    // Every workload whose values declare `metrics`.
    assert_eq!(
        monitored,
        [
            "ai-system-core/utility-suite",
            "ai-system-gpu/coordination",
            "ai-system-gpu/reasoning-suite",
            "ai-system-gpu/speech-pipeline",
            "ai-system-gpu/tutoring",
            "ai-system-gpu/vision-dream",
        ]
    );
}

#[test]
fn metrics_port_must_be_a_declared_port() {
    let repo = this_repo();
    let path = "values/namespaces/ai-system-gpu.yaml";
    let values = repo.read(path).replacen("metrics: {port: metrics}", "metrics: {port: prom}", 1);
    repo.write(path, values.as_bytes());
    repo.kiln(&["render"]).code(2).stderr(
        "error: `metrics.port` is `prom`, not one of its ports (`http`, `metrics`)
  --> values/namespaces/ai-system-gpu.yaml:105:15
  = key: workloads.coordination.metrics.port
  = help: checked by templates/workloads/monitoring.yaml while rendering workload ai-system-gpu/coordination",
    );
}

#[test]
fn dcgm_exporter_runs_on_every_gpu_node_without_profiling() {
    let rendered = Rendered::new();
    let values = rendered.chart_values("dcgm-exporter");
    assert_eq!(values["runtimeClassName"], "nvidia");
    assert_eq!(values["nodeSelector"]["nvidia.com/gpu.present"], "true");
    let tolerations = values["tolerations"].as_sequence().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t["key"] == "nvidia.com/gpu" && t["value"] == "rtx3060" && t["effect"] == "NoSchedule"),
        "pc2's taint is tolerated: {tolerations:?}"
    );
    assert_eq!(values["securityContext"]["capabilities"]["add"], Value::Sequence(vec![]), "no SYS_ADMIN");
    assert!(rendered.dcgm_fields().iter().all(|field| !field.starts_with("DCGM_FI_PROF_")), "GeForce has no profiling");
    // Both nodes time-slice their GPU: one series per sharing pod, per-process values.
    assert_eq!(values["hostPID"], true);
    assert_eq!(values["extraEnv"][0]["name"], "KUBERNETES_VIRTUAL_GPUS");
    let namespace = rendered.object("Namespace", "", "monitoring");
    assert_eq!(namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
    assert!(text(&namespace["metadata"]["annotations"]["kiln.dev/pod-security-reason"]).contains("DCGM"));
}

#[test]
fn traced_workloads_get_the_otlp_endpoint_and_grafana_gets_jaeger() {
    let rendered = Rendered::new();
    let env = &rendered.object("ConfigMap", "ai-system-gpu", "reasoning-suite-env")["data"];
    assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://jaeger.monitoring.svc.cluster.local:4318");
    assert_eq!(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
    assert_eq!(env["OTEL_SERVICE_NAME"], "reasoning-suite");
    assert_eq!(env["OTEL_METRICS_EXPORTER"], "none");
    assert_eq!(env["MODEL_ID"], "Qwen/Qwen2.5-14B-Instruct-AWQ", "the workload's own env stays");
    let deployment = rendered.object("Deployment", "ai-system-core", "web-interface");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["envFrom"][0]["configMapRef"]["name"], "web-interface-env");
    let untraced = &rendered.object("ConfigMap", "ai-system-core", "memory-stack-env")["data"];
    assert!(untraced.as_mapping().unwrap().keys().all(|key| !text(key).starts_with("OTEL_")), "{untraced:?}");
    let sources =
        rendered.chart_values("kube-prometheus-stack")["grafana"]["additionalDataSources"].as_sequence().unwrap();
    let jaeger = sources.iter().find(|source| source["type"] == "jaeger").expect("a Jaeger data source");
    assert_eq!(jaeger["url"], "http://jaeger.monitoring.svc.cluster.local:16686");
}

#[test]
fn tracing_needs_egress_to_the_jaeger_namespace() {
    let repo = this_repo();
    let path = "values/namespaces/ai-system-infra.yaml";
    let values = repo.read(path).replace(
        "    description: Event bus (JetStream) between the coordination and GPU services\n",
        "    description: Event bus (JetStream) between the coordination and GPU services\n    tracing: true\n",
    );
    repo.write(path, values.as_bytes());
    repo.kiln(&["render"]).code(2).stderr(
        "error: `tracing` is set, but namespace ai-system-infra denies egress to `monitoring`, where traces go; add it to networkPolicy.egressTo
  --> values/namespaces/ai-system-infra.yaml:61:5
  = key: workloads.nats.tracing
  = help: checked by templates/workloads/config.yaml while rendering workload ai-system-infra/nats",
    );
}

#[test]
fn kube_prometheus_stack_syncs_its_namespace_and_crds_first() {
    let rendered = Rendered::new();
    let app = rendered.object("Application", "argocd", "kube-prometheus-stack");
    let sources = app["spec"]["sources"].as_sequence().unwrap();
    assert_eq!(sources[0]["path"], "rendered/namespaces/monitoring");
    assert_eq!(sources[1]["chart"], "kube-prometheus-stack");
    assert_eq!(sources[1]["targetRevision"], "88.5.3");
    assert!(app["spec"]["syncPolicy"]["syncOptions"].as_sequence().unwrap().contains(&"ServerSideApply=true".into()));
    let wave = |name: &str| -> i64 {
        let app = rendered.object("Application", "argocd", name);
        text(&app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]).parse().unwrap()
    };
    for dependent in ["dcgm-exporter", "prometheus-adapter", "jaeger", "ns-ai-system-gpu"] {
        assert!(wave("kube-prometheus-stack") < wave(dependent), "{dependent} ships CRs of the stack's CRDs");
    }
    assert!(wave("sealed-secrets") < wave("kube-prometheus-stack"), "Grafana's admin secret is sealed");
    assert!(!rendered.repo.exists("rendered/namespaces/argocd/application-ns-monitoring.yaml"), "synced twice");
}

/// The GPU dashboard's "Time-slices in use" counts the slots pods hold, not
/// those of finished Job pods, which kube-state-metrics keeps reporting
/// until the pod is deleted (cluster review D-28). Evaluated by promtool.
#[test]
fn time_slices_in_use_counts_only_pods_that_hold_a_slot() {
    let repo = Repo::this_repository();
    repo.kiln(&["render"]).code(0);
    let config_map: Value =
        serde_yaml::from_str(&repo.read("rendered/namespaces/monitoring/configmap-dashboard-gpu.yaml")).unwrap();
    let (_, json) = config_map["data"].as_mapping().unwrap().iter().next().unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
    let panel = dashboard["panels"].as_array().unwrap().iter().find(|p| p["title"] == "Time-slices in use").unwrap();
    let expr = panel["targets"][0]["expr"].as_str().unwrap().replace("$node", "mainpc");
    let rules =
        format!("groups:\n  - name: panel\n    rules:\n      - record: slices:in_use\n        expr: '{expr}'\n");
    let tests = "rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'kube_pod_container_resource_requests{node=\"mainpc\", resource=\"nvidia_com_gpu\", namespace=\"gpu\", pod=\"server\"}'
        values: '1x5'
      - series: 'kube_pod_container_resource_requests{node=\"mainpc\", resource=\"nvidia_com_gpu\", namespace=\"gpu\", pod=\"train-done\"}'
        values: '1x5'
      - series: 'kube_pod_status_phase{namespace=\"gpu\", pod=\"server\", phase=\"Running\"}'
        values: '1x5'
      - series: 'kube_pod_status_phase{namespace=\"gpu\", pod=\"train-done\", phase=\"Running\"}'
        values: '0x5'
      - series: 'kube_pod_status_phase{namespace=\"gpu\", pod=\"train-done\", phase=\"Succeeded\"}'
        values: '1x5'
    promql_expr_test:
      - expr: slices:in_use
        eval_time: 5m
        exp_samples:
          - labels: 'slices:in_use'
            value: 1
";
    repo.write("rules.yaml", rules.as_bytes());
    repo.write("tests.yaml", tests.as_bytes());
    let output = std::process::Command::new("promtool")
        .args(["test", "rules", "tests.yaml"])
        .current_dir(repo.path())
        .output()
        .expect("promtool is needed (Debian package prometheus; .ci/run installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
