//! `kiln plan`: each scenario failing in a known way, the GPU rollout trap,
//! how Jobs count, the output formats, and `render` failing on plan errors.

use crate::harness::{Repo, MINIMAL_CLUSTER};

const TWO_NODES_N2: &str = "name: n2\nrole: agent\ncapacity: {cpu: \"4\", memory: 8Gi}\n";

/// The minimal repository plus one more workload template.
fn with_extra(yaml: &str) -> Repo {
    Repo::minimal().file("templates/workloads/extra.yaml", yaml)
}

/// A policy-clean Deployment `extra` with the given spec lines (before the
/// template), pod spec lines, and container resources.
fn deployment(spec: &str, pod: &str, resources: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: extra
spec:
{spec}  selector:
    matchLabels: {{app: extra}}
  template:
    metadata:
      labels: {{app: extra}}
    spec:
{pod}      containers:
        - name: app
          image: nginx:1.27
          resources: {resources}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {{drop: [ALL]}}
            seccompProfile: {{type: RuntimeDefault}}
"
    )
}

/// The headline, object field (`at: …`) and help of each finding in plan
/// output, for exact comparison; the values spans are asserted on their own.
fn finding_lines(stdout: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line.starts_with("error[") || line.starts_with("warning[") {
            inside = true;
            lines.push(line.to_string());
        } else if let (true, Some(object)) = (inside, line.strip_prefix("  = object: ")) {
            if let Some((_, field)) = object.rsplit_once(", at ") {
                lines.push(format!("at: {field}"));
            }
        } else if let (true, Some(help)) = (inside, line.strip_prefix("  = help: ")) {
            lines.push(format!("help: {help}"));
        } else if !line.starts_with("  ") {
            inside = false;
        }
    }
    lines
}

#[test]
fn minimal_repository_plan() {
    Repo::minimal().kiln(&["plan"]).code(0).stdout(
        "nodes (allocatable = capacity - reserved; GPUs × time-slicing replicas; platform = the charts' pods, held back from workloads)
node  cpu  memory  nvidia.com/gpu  pods  platform  taints
n1    4    8Gi     0               110   -         -

steady state: fits
  node  cpu         memory         nvidia.com/gpu  pods
  n1    0.1/4 (2%)  64Mi/8Gi (0%)  0/0             1/110 (0%)
  ok   Deployment.apps apps/web: 1 on n1

every HPA at maxReplicas: no HPAs
  node  cpu         memory         nvidia.com/gpu  pods
  n1    0.1/4 (2%)  64Mi/8Gi (0%)  0/0             1/110 (0%)

rollout of Deployment.apps apps/web (maxSurge 1, maxUnavailable 0): completes
  node  cpu         memory          nvidia.com/gpu  pods
  n1    0.2/4 (5%)  128Mi/8Gi (1%)  0/0             2/110 (1%)
  ok   Deployment.apps apps/web: completes: new pods 1 on n1

0 errors, 0 warnings in 0 files",
    );
}

#[test]
fn steady_state_that_does_not_fit_fails_plan_and_render() {
    let repo = with_extra(&deployment(
        "  replicas: 2\n",
        "",
        "{requests: {cpu: \"3\", memory: 64Mi}, limits: {memory: 128Mi}}",
    ));
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "error[plan-steady]: 1 of 2 pods cannot be scheduled in steady state: n1: insufficient cpu (needs 3, 1 free)",
            "at: spec.template.spec",
            "help: lower its requests or replicas, relax its node selection, or declare more node capacity",
        ]
    );
    assert!(run.stdout.contains("steady state: 1 workload does not fit\n"), "{}", run.stdout);
    let render = repo.kiln(&["render"]);
    render.code(1);
    assert!(render.stderr.contains("error[plan-steady]"), "{}", render.stderr);
    assert!(!repo.exists("rendered"));
}

#[test]
fn taints_keep_pods_off_nodes() {
    let repo = with_extra(&deployment("", "", "{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}")).file(
        "values/nodes/n1.yaml",
        &format!("{}taints: [{{key: dedicated, value: gpu, effect: NoSchedule}}]\n", crate::harness::MINIMAL_NODE),
    );
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(
        finding_lines(&run.stdout)[0],
        "error[plan-steady]: 1 of 1 pods cannot be scheduled in steady state: n1: taint `dedicated=gpu:NoSchedule` is not tolerated"
    );
}

#[test]
fn hpa_max_shortfall_is_a_warning() {
    let repo = with_extra(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 50\n",
    );
    let run = repo.kiln(&["plan"]);
    run.code(0);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "warning[plan-hpa-max]: at maxReplicas 50, 10 of 50 pods of Deployment.apps apps/web cannot be scheduled: n1: insufficient cpu (needs 0.1, 0 free)",
            "at: spec.maxReplicas",
            "help: lower maxReplicas to what the nodes can hold, or lower the pods' requests",
        ]
    );
    assert!(
        run.stdout.contains(
            "  = rendered: rendered/namespaces/apps/horizontalpodautoscaler-web.yaml from templates/workloads/extra.yaml"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn rollout_blocked_by_required_anti_affinity_never_completes() {
    let pod = "      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: extra}}}\n";
    let repo = with_extra(&deployment(
        "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n",
        pod,
        "{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}",
    ));
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "error[plan-rollout]: rollout can never complete: 1 new pod(s) stay Pending (n1: pod anti-affinity with Deployment.apps apps/extra) and maxUnavailable 0 keeps the 1 old pod(s) running",
            "at: spec.strategy",
            "help: use `strategy: {type: Recreate}` or `maxSurge: 0, maxUnavailable: 1`, or leave a spare slot (another node, or GPU time-slicing)",
        ]
    );
}

/// Required anti-affinity by `zone`: pods of the same topology domain are
/// the pods on every node with the same value of the label (Kubernetes API
/// reference, `PodAffinityTerm.topologyKey`), so n2 is refused for the pod
/// on n1 although no pod runs on n2, and n3 (zone b) for the pod there.
#[test]
fn anti_affinity_counts_pods_per_topology_domain_not_per_node() {
    let pod = "      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            - {topologyKey: zone, labelSelector: {matchLabels: {app: extra}}}\n";
    let node = |name: &str, zone: &str| {
        format!("name: {name}\nrole: agent\nlabels: {{zone: {zone}}}\ncapacity: {{cpu: \"4\", memory: 8Gi}}\n")
    };
    let repo = with_extra(&deployment(
        "  replicas: 2\n  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n",
        pod,
        "{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}",
    ))
    .file("values/nodes/n1.yaml", &crate::harness::MINIMAL_NODE.replace("  gpu: \"true\"\n", "  zone: a\n"))
    .file("values/nodes/n2.yaml", &node("n2", "a"))
    .file("values/nodes/n3.yaml", &node("n3", "b"));
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert!(run.stdout.contains("  ok   Deployment.apps apps/extra: 1 on n2, 1 on n3\n"), "{}", run.stdout);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "error[plan-rollout]: rollout can never complete: 1 new pod(s) stay Pending (n1: pod anti-affinity with Deployment.apps apps/extra; n2: pod anti-affinity with Deployment.apps apps/extra; n3: pod anti-affinity with Deployment.apps apps/extra) and maxUnavailable 0 keeps the 2 old pod(s) running",
            "at: spec.strategy",
            "help: use `strategy: {type: Recreate}` or `maxSurge: 0, maxUnavailable: 1`, or leave a spare slot (another node, or GPU time-slicing)",
            // Losing n3, its pod may not join zone a's; losing n2, it moves to n1.
            "warning[plan-node-loss]: if node `n3` is lost, 1 of 1 displaced pods of Deployment.apps apps/extra cannot run: n1: pod anti-affinity with Deployment.apps apps/extra; n2: pod anti-affinity with Deployment.apps apps/extra",
            "at: spec.template.spec",
            "help: leave headroom on the other nodes, or accept the outage",
            "warning[plan-node-loss]: if node `n1` is lost, the cluster is down: it is the only k3s server, so the API server, scheduler and controllers go with it and nothing is rescheduled (1 of its pods stop until it returns); pods on other nodes keep running without the control plane",
            "help: accept it (one server is this cluster's design), or run three servers with embedded etcd for a control plane that survives one loss",
        ]
    );
    assert!(
        run.stdout.contains("  ok   Deployment.apps apps/extra: 1 pod moves: 1 on n1, 1 on n3\n"),
        "{}",
        run.stdout
    );
    // The rollout's table lists every node, the ones it did not touch as in steady state.
    assert!(
        run.stdout.contains(
            "rollout of Deployment.apps apps/extra (maxSurge 1, maxUnavailable 0): never completes
  node  cpu         memory         nvidia.com/gpu  pods
  n1    0.1/4 (2%)  64Mi/8Gi (0%)  0/0             1/110 (0%)
  n2    0.1/4 (2%)  64Mi/8Gi (0%)  0/0             1/110 (0%)
  n3    0.1/4 (2%)  64Mi/8Gi (0%)  0/0             1/110 (0%)
"
        ),
        "{}",
        run.stdout
    );
}

/// One whole RTX 3060 without time-slicing, a GPU Deployment pinned to it with
/// the plan's `maxSurge: 1, maxUnavailable: 0`: the surge pod can never be
/// scheduled, so the rollout hangs until ProgressDeadlineExceeded.
#[test]
fn regression_gpu_rollout_trap() {
    let gpu_node = "name: gpu1\nrole: agent\nlabels: {nvidia.com/gpu.present: \"true\"}\ncapacity: {cpu: \"8\", memory: 16Gi}\ngpus: [{model: RTX 3060, product: NVIDIA-GeForce-RTX-3060, count: 1}]\n";
    let pod = "      nodeSelector: {nvidia.com/gpu.present: \"true\"}\n      runtimeClassName: nvidia\n";
    let gpu = "{requests: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1}, limits: {memory: 2Gi, nvidia.com/gpu: 1}}";
    let repo = with_extra(&deployment("  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n", pod, gpu))
        .file("values/nodes/gpu1.yaml", gpu_node);
    repo.kiln(&["validate"]).code(0);
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "error[plan-rollout]: rollout can never complete: 1 new pod(s) stay Pending (gpu1: insufficient nvidia.com/gpu (needs 1, 0 free); n1: nodeSelector `nvidia.com/gpu.present=true` does not match) and maxUnavailable 0 keeps the 1 old pod(s) running",
            "at: spec.strategy",
            "help: use `strategy: {type: Recreate}` or `maxSurge: 0, maxUnavailable: 1`, or leave a spare slot (another node, or GPU time-slicing)",
            "warning[plan-node-loss]: if node `gpu1` is lost, 1 of 1 displaced pods of Deployment.apps apps/extra cannot run: n1: nodeSelector `nvidia.com/gpu.present=true` does not match",
            "at: spec.template.spec",
            "help: leave headroom on the other nodes, or accept the outage",
            "warning[plan-node-loss]: if node `n1` is lost, the cluster is down: it is the only k3s server, so the API server, scheduler and controllers go with it and nothing is rescheduled (1 of its pods stop until it returns); pods on other nodes keep running without the control plane",
            "help: accept it (one server is this cluster's design), or run three servers with embedded etcd for a control plane that survives one loss",
        ]
    );
    assert!(
        run.stdout.contains("rollout of Deployment.apps apps/extra (maxSurge 1, maxUnavailable 0): never completes\n"),
        "{}",
        run.stdout
    );
    // render runs the findings-only simulation (no scenario tables); it must
    // find exactly what `kiln plan` reports.
    let render = repo.kiln(&["render"]);
    render.code(1);
    assert_eq!(finding_lines(&render.stderr), finding_lines(&run.stdout), "{}", render.stderr);

    // Each documented way out passes: Recreate, surge 0 / unavailable 1, or a second time-slice.
    for strategy in
        ["  strategy: {type: Recreate}\n", "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n"]
    {
        repo.write("templates/workloads/extra.yaml", deployment(strategy, pod, gpu).as_bytes());
        repo.kiln(&["plan"]).code(0);
    }
    repo.write(
        "templates/workloads/extra.yaml",
        deployment("  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n", pod, gpu).as_bytes(),
    );
    repo.write("values/nodes/gpu1.yaml", format!("{gpu_node}timeSlicing: {{replicas: 2}}\n").as_bytes());
    repo.kiln(&["plan"]).code(0);
}

/// A policy-clean StatefulSet `db` with the given pod spec placement line
/// and, after its template, the given StatefulSet spec lines.
fn db_statefulset(placement: &str, after_template: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata:
      labels: {{app: db}}
    spec:
      {placement}
      containers:
        - name: db
          image: postgres:16.4
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{memory: 128Mi}}}}
          securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}, seccompProfile: {{type: RuntimeDefault}}}}
{after_template}"
    )
}

#[test]
fn node_loss_with_node_local_volume_is_a_warning() {
    let statefulset = db_statefulset(
        "nodeSelector: {kubernetes.io/hostname: n2}",
        "  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec: {accessModes: [ReadWriteOnce], storageClassName: local-path, resources: {requests: {storage: 1Gi}}}\n",
    );
    let repo = with_extra(&statefulset).file("values/nodes/n2.yaml", TWO_NODES_N2);
    let run = repo.kiln(&["plan"]);
    run.code(0);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "warning[plan-node-loss]: if node `n2` is lost, 1 of 1 displaced pods of StatefulSet.apps apps/db cannot run: its volume is `data` on node-local storage on `n2`",
            "at: spec.volumeClaimTemplates",
            "help: use the shared storage class for state that must survive a node, or accept the outage",
            "warning[plan-node-loss]: if node `n1` is lost, the cluster is down: it is the only k3s server, so the API server, scheduler and controllers go with it and nothing is rescheduled (1 of its pods stop until it returns); pods on other nodes keep running without the control plane",
            "help: accept it (one server is this cluster's design), or run three servers with embedded etcd for a control plane that survives one loss",
        ]
    );
    assert!(run.stdout.contains("node n2 lost: 1 workload cannot run\n"), "{}", run.stdout);
    // n1 is the only k3s server: losing it is the cluster down, not pods moving.
    assert!(
        run.stdout.contains("node n1 lost: cluster down: the only k3s server; nothing is rescheduled\n"),
        "{}",
        run.stdout
    );
}

/// A StatefulSet pod on an unreachable node is not replaced (its identity
/// is only freed when the node returns or is tainted out-of-service), even
/// without a node-local volume (cluster review D-11).
#[test]
fn statefulset_pods_on_a_lost_agent_stay_until_it_returns() {
    let statefulset = db_statefulset(
        "affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 1, preference: {matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [n2]}]}}]}}",
        "",
    );
    let run = with_extra(&statefulset).file("values/nodes/n2.yaml", TWO_NODES_N2).kiln(&["plan"]);
    run.code(0);
    assert_eq!(
        finding_lines(&run.stdout).first().map(String::as_str),
        Some("warning[plan-node-loss]: if node `n2` is lost, 1 of 1 displaced pods of StatefulSet.apps apps/db cannot run: StatefulSet pods stay on `n2` until it returns or is tainted `node.kubernetes.io/out-of-service`"),
        "{}",
        run.stdout
    );
}

#[test]
fn jobs_count_at_their_parallelism_unless_suspended() {
    let cronjob = |suspend: bool| {
        format!(
            "apiVersion: batch/v1
kind: CronJob
metadata:
  name: train
spec:
  schedule: \"0 3 * * *\"
  suspend: {suspend}
  jobTemplate:
    spec:
      parallelism: 2
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: train
              image: trainer:2.1
              resources: {{requests: {{cpu: \"1\", memory: 1Gi}}, limits: {{memory: 1Gi}}}}
              securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}, seccompProfile: {{type: RuntimeDefault}}}}
"
        )
    };
    let repo = with_extra(&cronjob(false));
    let run = repo.kiln(&["plan"]);
    run.code(0);
    assert!(run.stdout.contains("  n1    2.1/4 (52%)"), "{}", run.stdout);
    assert!(run.stdout.contains("  ok   CronJob.batch apps/train: 2 on n1\n"), "{}", run.stdout);
    repo.write("templates/workloads/extra.yaml", cronjob(true).as_bytes());
    let run = repo.kiln(&["plan"]);
    assert!(run.stdout.contains("  ok   CronJob.batch apps/train: no pods\n"), "{}", run.stdout);
}

#[test]
fn json_format_has_scenarios_nodes_and_findings() {
    let repo = Repo::minimal().file("values/nodes/n2.yaml", TWO_NODES_N2);
    let run = repo.kiln(&["plan", "--format", "json"]);
    run.code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON output");
    assert_eq!(json["nodes"][1]["name"], "n2");
    assert_eq!(json["nodes"][1]["allocatable"]["cpu"], "4");
    let kinds: Vec<&str> = json["scenarios"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["steady", "hpa-max", "rollout", "node-loss", "node-loss"]);
    let steady = &json["scenarios"][0];
    assert_eq!(steady["ok"], true);
    assert_eq!(steady["nodes"][0]["requested"]["memory"], "64Mi");
    assert_eq!(steady["workloads"][0]["workload"], "Deployment.apps apps/web");
    assert_eq!(json["findings"]["errors"], 0);
}

/// D-12: the platform's pods (charts kiln does not render) request from the
/// same allocatable as the workloads of values, so the plan holds them back.
#[test]
fn platform_pods_are_held_back_from_the_workloads() {
    let cluster = format!(
        "{MINIMAL_CLUSTER}platform:\n  - {{component: k3s, cpu: 3950m, memory: 1Gi, pods: 5, source: CoreDNS and the rest}}\n"
    );
    let repo = Repo::minimal().file("values/cluster.yaml", &cluster);
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert!(
        run.stdout.contains("n1    4    8Gi     0               110   3.95 cpu, 1Gi memory, 5 pods  -\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  n1    0/0.05 (0%)  0/7Gi (0%)  0/0             0/105 (0%)\n"), "{}", run.stdout);
    assert_eq!(
        finding_lines(&run.stdout),
        [
            "error[plan-steady]: 1 of 1 pods cannot be scheduled in steady state: n1: insufficient cpu (needs 0.1, 0.05 free)",
            "at: spec.template.spec",
            "help: lower its requests or replicas, relax its node selection, or declare more node capacity",
        ]
    );
}

#[test]
fn a_platform_entry_must_name_a_component_and_a_node() {
    let cluster =
        format!("{MINIMAL_CLUSTER}platform:\n  - {{component: argo, node: n9, cpu: 100m, source: chart defaults}}\n");
    Repo::minimal().file("values/cluster.yaml", &cluster).kiln(&["plan"]).code(2).stderr(
        "error: `argo` is not a component of the cluster values
  --> values/cluster.yaml:10:6
  = key: platform[0].component
  = help: the cluster values declare no `components`; `k3s` names the pods k3s itself runs

error: `n9` is not a node in values/nodes/
  --> values/cluster.yaml:10:23
  = key: platform[0].node
  = help: name one of `n1`, or leave `node` out for a DaemonSet on every node
error: 2 problems found, nothing was written",
    );
}

/// A node-local claim binds to the node of its first pod; a second workload
/// that mounts it from another node stays Pending. The plan placed each
/// workload's pods as if the claim were its own, so pc2's GPU services
/// mounting mainpc's model cache "fit".
#[test]
fn a_local_claim_two_workloads_share_binds_them_to_one_node() {
    let repo = Repo::this_repository();
    let gpu = repo.read("values/namespaces/ai-system-gpu.yaml");
    repo.write(
        "values/namespaces/ai-system-gpu.yaml",
        gpu.replace("claim: model-cache-pc2,", "claim: model-cache-mainpc,").as_bytes(),
    );
    let run = repo.kiln(&["plan"]);
    run.code(1);
    let errors: Vec<&str> = run.stdout.lines().filter(|line| line.starts_with("error[")).collect();
    let refused = "error[plan-steady]: 1 of 1 pods cannot be scheduled in steady state: mainpc: nodeSelector `kubernetes.io/hostname=pc2` does not match; pc2: volume `model-cache-mainpc` is on node-local storage on `mainpc`";
    assert_eq!(errors, [refused, refused], "{}", run.stdout);
    assert!(run.stdout.contains("= object: Deployment.apps ai-system-gpu/tutoring, at spec.template.spec"));
    assert!(run.stdout.contains("= object: Deployment.apps ai-system-gpu/vision-dream, at spec.template.spec"));
}
