//! `kiln validate`: schema errors of each kind, each policy with its exact
//! message, justified exceptions, output formats, exit codes, and the checks
//! `render` and `render --diff` run.

use crate::harness::Repo;

/// The minimal repository plus one more workload template.
fn with_extra(yaml: &str) -> Repo {
    Repo::minimal().file("templates/workloads/extra.yaml", yaml)
}

/// A compliant Deployment named `extra` whose container is given by `container`
/// (indented for the containers list) and pod spec extras by `pod`.
fn deployment(container: &str, pod: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: extra
spec:
  selector:
    matchLabels: {{app: extra}}
  template:
    metadata:
      labels: {{app: extra}}
    spec:
{pod}      containers:
        - name: app
          image: nginx:1.27
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{memory: 128Mi}}}}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {{drop: [ALL]}}
            seccompProfile: {{type: RuntimeDefault}}
{container}"
    )
}

#[test]
fn minimal_repository_is_clean() {
    Repo::minimal().kiln(&["validate"]).code(0).stdout("0 errors, 0 warnings in 0 files");
}

#[test]
fn schema_unknown_field() {
    let repo = with_extra(&deployment("", "").replace("  selector:", "  replcas: 2\n  selector:"));
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: unknown field `replcas`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.replcas
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: did you mean `replicas`?

1 error, 0 warnings in 1 file");
}

#[test]
fn schema_wrong_type_integer_env_value() {
    let repo = with_extra(&deployment("          env: [{name: WORKERS, value: 4}]\n", ""));
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: wrong type: found integer `4`, expected string
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].env[0].value
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)

1 error, 0 warnings in 1 file");
}

#[test]
fn schema_missing_required_field() {
    let repo = with_extra(&deployment("          env: [{value: \"4\"}]\n", ""));
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: missing required field `name`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].env[0].name
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)

1 error, 0 warnings in 1 file");
}

#[test]
fn schema_api_version_not_served() {
    let repo = with_extra(
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: extra\nspec:\n  maxUnavailable: 1\n",
    );
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: Kubernetes 1.31 does not serve `PodDisruptionBudget` as `policy/v1beta1`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: PodDisruptionBudget.policy apps/extra, at apiVersion
  = rendered: rendered/namespaces/apps/poddisruptionbudget-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: use apiVersion `policy/v1`

1 error, 0 warnings in 1 file");
}

#[test]
fn schema_custom_resource_without_crd() {
    let repo = with_extra("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: extra\nspec: {}\n");
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: no schema for custom resource `Widget` (`example.com/v1`): its CRD is neither vendored in schemas/crds/ nor rendered in the tree
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Widget.example.com apps/extra, at apiVersion
  = rendered: rendered/namespaces/apps/widget-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: vendor the operator's CRD schema into schemas/crds/<group>/ (see docs/validation.md), or render the CustomResourceDefinition

1 error, 0 warnings in 1 file");
}

#[test]
fn schema_custom_resource_against_vendored_crd() {
    let repo = with_extra(
        "apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata:\n  name: traefik\n  labelz: {a: b}\nspec:\n  valuesContent: \"x: 1\"\n  failurePolicy: abort\n  timeout: 5m\n",
    );
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: unknown field `labelz`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: HelmChartConfig.helm.cattle.io apps/traefik, at metadata.labelz
  = rendered: rendered/namespaces/apps/helmchartconfig-traefik.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: did you mean `labels`?

error[schema]: unknown field `timeout`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: HelmChartConfig.helm.cattle.io apps/traefik, at spec.timeout
  = rendered: rendered/namespaces/apps/helmchartconfig-traefik.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: known fields here: failurePolicy, values, valuesContent, valuesSecrets

2 errors, 0 warnings in 1 file");
}

const WIDGET_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
                port: {x-kubernetes-int-or-string: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

#[test]
fn schema_custom_resource_against_rendered_crd() {
    let repo = Repo::minimal().file("templates/cluster/crd.yaml", WIDGET_CRD).file(
        "templates/workloads/extra.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: extra\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\nspec:\n  size: big\n  port: http\n  colour: red\n  extra: {anything: [1, 2]}\n",
    );
    repo.kiln(&["validate"]).code(1).stdout("error[schema]: unknown field `colour`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Widget.example.com apps/extra, at spec.colour
  = rendered: rendered/namespaces/apps/widget-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: known fields here: extra, port, size

error[schema]: wrong type: found string `big`, expected integer
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Widget.example.com apps/extra, at spec.size
  = rendered: rendered/namespaces/apps/widget-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)

2 errors, 0 warnings in 1 file");
}

#[test]
fn policy_requests_limits() {
    let repo = with_extra(&deployment("", "").replace(
        "          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}\n",
        "          resources: {requests: {cpu: 100m}}\n",
    ));
    repo.kiln(&["validate"]).code(1).stdout("error[requests-limits]: container `app` sets no requests.memory, limits.memory
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].resources
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: set `resources` in the workload's values: requests place the pod, a memory limit contains leaks

1 error, 0 warnings in 1 file");
}

#[test]
fn policy_image_pinned() {
    let repo = with_extra(&deployment("", "").replace("nginx:1.27", "nginx:latest"));
    repo.kiln(&["validate"]).code(1).stdout("error[image-pinned]: image `nginx:latest` uses the mutable tag `latest`
  --> values/namespaces/apps.yaml:5:5
  = key: workloads.web.image
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].image
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image

1 error, 0 warnings in 1 file");
}

#[test]
fn policy_readiness_probe() {
    let repo = with_extra(&deployment("          ports: [{name: http, containerPort: 8080}]\n", ""));
    repo.kiln(&["validate"]).code(1).stdout("error[readiness-probe]: container `app` serves ports but has no readinessProbe
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].readinessProbe
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: declare `probes.readiness` in the workload's values so Services only route to ready pods

1 error, 0 warnings in 1 file");
}

#[test]
fn policy_restricted_security_context() {
    let repo = with_extra(&deployment("", "").replace("allowPrivilegeEscalation: false", "privileged: true"));
    repo.kiln(&["validate"]).code(1).stdout("error[restricted-security-context]: container `app` does not set `allowPrivilegeEscalation: false`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: namespace `apps` enforces the `restricted` Pod Security level, which rejects this pod; fix the template's securityContext, or lower the namespace's `podSecurity.level` with a `reason`

error[restricted-security-context]: container `app` is privileged
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].securityContext.privileged
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: namespace `apps` enforces the `restricted` Pod Security level, which rejects this pod; fix the template's securityContext, or lower the namespace's `podSecurity.level` with a `reason`

2 errors, 0 warnings in 1 file");
}

#[test]
fn policy_restricted_does_not_apply_to_privileged_namespaces() {
    let repo = with_extra(&deployment("", "").replace("allowPrivilegeEscalation: false", "privileged: true")).file(
        "values/namespaces/apps.yaml",
        &format!(
            "{}podSecurity: {{level: privileged, reason: the node agent needs host access}}\n",
            crate::harness::MINIMAL_NAMESPACE
        ),
    );
    repo.kiln(&["validate"]).code(0);
}

const GPU_NODE: &str = "name: gpu1\nrole: agent\nlabels: {nvidia.com/gpu.present: \"true\"}\ncapacity: {cpu: \"8\", memory: 16Gi}\ngpus: [{model: RTX 3060, product: NVIDIA-GeForce-RTX-3060, count: 1}]\ntaints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]\n";

#[test]
fn policy_gpu_placement() {
    let repo = with_extra(
        &deployment("", "").replace("limits: {memory: 128Mi}", "limits: {memory: 128Mi, nvidia.com/gpu: 1}"),
    )
    .file("values/nodes/gpu1.yaml", GPU_NODE);
    repo.kiln(&["validate"]).code(1).stdout("error[gpu-placement]: pod requests nvidia.com/gpu but may be scheduled on `n1`, which has no GPU
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.nodeSelector
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: pin it to GPU nodes with a nodeSelector or node affinity on a GPU node label (or `gpu.product` in the workload's values)

error[gpu-placement]: pod sets no `runtimeClassName: nvidia` and GPU node `gpu1` does not default to the nvidia runtime
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.runtimeClassName
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: set `runtimeClassName: nvidia` (k3s ships that RuntimeClass) or `k3s.defaultRuntime: nvidia` in the node's values

error[gpu-placement]: pod does not tolerate taint `nvidia.com/gpu=present:NoSchedule` of GPU node `gpu1`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Deployment.apps apps/extra, at spec.template.spec.tolerations
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: add the toleration, or select only the GPU nodes it should run on

3 errors, 0 warnings in 1 file");
    let pinned = deployment("", "      nodeSelector: {nvidia.com/gpu.present: \"true\"}\n      runtimeClassName: nvidia\n      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n")
        .replace("limits: {memory: 128Mi}", "limits: {memory: 128Mi, nvidia.com/gpu: 1}");
    repo.write("templates/workloads/extra.yaml", pinned.as_bytes());
    repo.kiln(&["validate"]).code(0);
}

#[test]
fn policy_namespace_network_policy() {
    let repo = Repo::minimal();
    repo.remove("templates/namespaces/network-policy.yaml");
    repo.kiln(&["validate"]).code(1).stdout("error[namespace-network-policy]: app namespace `apps` has no NetworkPolicy allowing DNS egress (UDP port 53) for all pods
  --> values/namespaces/apps.yaml:1:1
  = help: set `networkPolicy: {defaultDeny: true, allowDns: true}` in values/namespaces/apps.yaml and render the policies

error[namespace-network-policy]: app namespace `apps` has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)
  --> values/namespaces/apps.yaml:1:1
  = help: set `networkPolicy: {defaultDeny: true, allowDns: true}` in values/namespaces/apps.yaml and render the policies

2 errors, 0 warnings in 1 file");
}

#[test]
fn policy_service_selector() {
    let repo = with_extra("apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  selector: {app: wbe}\n  ports: [{port: 80}]\n");
    repo.kiln(&["validate"]).code(1).stdout("error[service-selector]: selector `app=wbe` matches no pod template in namespace `apps`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Service apps/extra, at spec.selector
  = rendered: rendered/namespaces/apps/service-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: did you mean `app=web`?

1 error, 0 warnings in 1 file");
}

#[test]
fn policy_ingress_backend() {
    let repo = with_extra(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80}]\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: extra\nspec:\n  rules:\n    - host: web.example.com\n      http:\n        paths:\n          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: https}}}}\n          - {path: /api, pathType: Prefix, backend: {service: {name: wbe, port: {number: 80}}}}\n",
    );
    repo.kiln(&["validate"]).code(1).stdout("error[ingress-backend]: Service `web` has no port `https`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Ingress.networking.k8s.io apps/extra, at spec.rules[0].http.paths[0].backend.service.port
  = rendered: rendered/namespaces/apps/ingress-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 2)
  = help: its ports: 80 (http)

error[ingress-backend]: backend Service `wbe` does not exist in namespace `apps`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Ingress.networking.k8s.io apps/extra, at spec.rules[0].http.paths[1].backend.service.name
  = rendered: rendered/namespaces/apps/ingress-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 2)
  = help: did you mean `web`?

2 errors, 0 warnings in 1 file");
}

#[test]
fn policy_hpa_target() {
    let repo = with_extra(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: extra\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: wbe}\n  minReplicas: 3\n  maxReplicas: 2\n",
    );
    repo.kiln(&["validate"]).code(1).stdout("error[hpa-target]: minReplicas 3 is greater than maxReplicas 2
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: HorizontalPodAutoscaler.autoscaling apps/extra, at spec.minReplicas
  = rendered: rendered/namespaces/apps/horizontalpodautoscaler-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)

error[hpa-target]: scale target Deployment `wbe` (`apps/v1`) does not exist in namespace `apps`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: HorizontalPodAutoscaler.autoscaling apps/extra, at spec.scaleTargetRef
  = rendered: rendered/namespaces/apps/horizontalpodautoscaler-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: did you mean `web`?

2 errors, 0 warnings in 1 file");
}

#[test]
fn policy_pdb_allows_eviction() {
    let repo = with_extra(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: extra\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: web}}\n",
    );
    repo.kiln(&["validate"]).code(1).stdout("error[pdb-allows-eviction]: PodDisruptionBudget can never allow an eviction: minAvailable 1 keeps all 1 selected pods (Deployment.apps apps/web with 1)
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: PodDisruptionBudget.policy apps/extra, at spec.minAvailable
  = rendered: rendered/namespaces/apps/poddisruptionbudget-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: use `maxUnavailable: 1`, or drop the PDB of a single-replica workload; as it is, draining the node never finishes

1 error, 0 warnings in 1 file");
}

#[test]
fn policy_crd_sync_order() {
    let repo = Repo::minimal()
        .file(
            "templates/cluster/crd.yaml",
            &WIDGET_CRD.replace(
                "  name: widgets.example.com\n",
                "  name: widgets.example.com\n  annotations: {argocd.argoproj.io/sync-wave: \"5\"}\n",
            ),
        )
        .file(
            "templates/workloads/extra.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: extra\nspec:\n  size: 1\n",
        );
    repo.kiln(&["validate"]).code(1).stdout("error[crd-sync-order]: custom resource syncs in wave 0 but its CustomResourceDefinition `widgets.example.com` in wave 5; it must come later
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: Widget.example.com apps/extra, at metadata.annotations
  = rendered: rendered/namespaces/apps/widget-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: give the custom resource (or the Application that syncs it) a higher `argocd.argoproj.io/sync-wave` than its CRD's

1 error, 0 warnings in 1 file");
}

#[test]
fn policy_crd_sync_order_warns_when_the_operator_is_not_in_the_tree() {
    let repo = with_extra(
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: extra\nspec:\n  selector: {matchLabels: {app: web}}\n  endpoints: [{port: http}]\n",
    );
    repo.kiln(&["validate"]).code(0).stdout("warning[crd-sync-order]: no Argo CD Application in the tree installs the CRDs of `monitoring.coreos.com` (expected a chart named `kube-prometheus-stack` or `prometheus-operator-crds`), so the sync order cannot be checked
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: ServiceMonitor.monitoring.coreos.com apps/extra, at apiVersion
  = rendered: rendered/namespaces/apps/servicemonitor-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: add the operator as a component in values/cluster.yaml, or make sure it is installed before this syncs

0 errors, 1 warning in 1 file");
}

#[test]
fn justified_exception_waives_the_policy_for_that_workload() {
    let repo = with_extra(&deployment("", "").replace("nginx:1.27", "nginx:latest")).file(
        "values/namespaces/apps.yaml",
        &format!(
            "{}    policyExceptions:\n      image-pinned: upstream publishes only `latest`; digest pinned by the registry mirror\n",
            crate::harness::MINIMAL_NAMESPACE
        ),
    );
    repo.kiln(&["validate"]).code(0).stdout("0 errors, 0 warnings in 0 files");
}

#[test]
fn exception_without_justification_is_an_error() {
    let repo = with_extra(&deployment("", "").replace("nginx:1.27", "nginx:latest")).file(
        "values/namespaces/apps.yaml",
        &format!(
            "{}    policyExceptions:\n      image-pinned: \"  \"\n      readiness-probes: not needed\n",
            crate::harness::MINIMAL_NAMESPACE
        ),
    );
    repo.kiln(&["validate"]).code(1).stdout("error[image-pinned]: image `nginx:latest` uses the mutable tag `latest`
  --> values/namespaces/apps.yaml:5:5
  = key: workloads.web.image
  = object: Deployment.apps apps/extra, at spec.template.spec.containers[0].image
  = rendered: rendered/namespaces/apps/deployment-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image

error[policy-exception]: the exception from `image-pinned` has no written justification
  --> values/namespaces/apps.yaml:9:7
  = key: workloads.web.policyExceptions.image-pinned
  = help: say why this workload cannot follow the policy; an empty reason waives nothing

error[policy-exception]: policyExceptions names unknown policy `readiness-probes`
  --> values/namespaces/apps.yaml:10:7
  = key: workloads.web.policyExceptions.readiness-probes
  = help: did you mean `readiness-probe`?

3 errors, 0 warnings in 1 file");
}

#[test]
fn json_format_lists_findings_with_their_origin() {
    let repo = with_extra(&deployment("", "").replace("nginx:1.27", "nginx"));
    let run = repo.kiln(&["validate", "--format", "json"]);
    run.code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON output");
    assert_eq!(json["errors"], 1);
    assert_eq!(json["warnings"], 0);
    let finding = &json["findings"][0];
    assert_eq!(
        finding,
        &serde_json::json!({
            "severity": "error",
            "code": "image-pinned",
            "message": "image `nginx` has no tag, which means `latest`",
            "span": {"file": "values/namespaces/apps.yaml", "line": 5, "column": 5, "key": "workloads.web.image"},
            "scope": "workload apps/web",
            "object": {
                "identity": "Deployment.apps apps/extra",
                "file": "rendered/namespaces/apps/deployment-extra.yaml",
                "field": "spec.template.spec.containers[0].image",
                "template": "templates/workloads/extra.yaml (rendering workload apps/web, document 1)"
            },
            "help": "pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image"
        })
    );
}

#[test]
fn validate_exits_2_when_it_cannot_run() {
    let repo = Repo::minimal().file("values/cluster.yaml", "name: demo\nkubernetesVersion: [\n");
    let run = repo.kiln(&["validate"]);
    run.code(2);
    assert!(run.stderr.starts_with("error: invalid YAML"), "{}", run.stderr);
}

#[test]
fn render_fails_on_errors_and_writes_nothing() {
    let repo = with_extra(&deployment("", "").replace("nginx:1.27", "nginx"));
    let run = repo.kiln(&["render"]);
    run.code(1).stdout("");
    assert!(
        run.stderr.contains("error[image-pinned]: image `nginx` has no tag, which means `latest`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with(
        "error: validation or plan found errors; nothing was written (see `kiln validate` and `kiln plan`)\n"
    ));
    assert!(!repo.exists("rendered"));
    let run = repo.kiln(&["render", "--diff"]);
    run.code(1).stdout("");
    assert!(run.stderr.contains("error[image-pinned]"), "{}", run.stderr);
}

#[test]
fn render_prints_warnings_and_still_writes() {
    let repo =
        Repo::minimal().file("values/cluster.yaml", &crate::harness::MINIMAL_CLUSTER.replace("\"1.31\"", "\"1.32\""));
    let run = repo.kiln(&["render"]);
    run.code(0);
    assert!(run.stderr.contains(
        "warning[schema]: kiln vendors no Kubernetes schemas for `1.32`; validating against 1.31, the closest it has"
    ), "{}", run.stderr);
    assert!(repo.exists("rendered/namespaces/apps/deployment-web.yaml"));
}

#[test]
fn plaintext_secret_cannot_be_waived() {
    let repo = Repo::minimal().file(
        "values/namespaces/apps.yaml",
        &format!(
            "{}    policyExceptions:\n      no-plaintext-secret: we really want to\n",
            crate::harness::MINIMAL_NAMESPACE
        ),
    );
    repo.kiln(&["validate"]).code(1).stdout("error[policy-exception]: `no-plaintext-secret` cannot be waived: kiln refuses to render a Secret with data or stringData
  --> values/namespaces/apps.yaml:9:7
  = key: workloads.web.policyExceptions.no-plaintext-secret
  = help: seal the value with kubeseal and declare it under `secrets:` in the namespace values

1 error, 0 warnings in 1 file");
}

/// What the Argo CD ownership checks ask of an Application that installs
/// kube-prometheus-stack into a namespace no Application declares.
const ARGOCD_OWNERSHIP: &str = "  ignoreDifferences:\n  - {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration, jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle']}\n  - {group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration, jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle']}\n  syncPolicy: {syncOptions: [CreateNamespace=true, RespectIgnoreDifferences=true]}\n";

#[test]
fn policy_crd_sync_order_after_the_operator_application() {
    let app = |name: &str, wave: i32, source: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n  annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}\nspec:\n  project: default\n  source: {source}\n  destination: {{server: https://kubernetes.default.svc, namespace: apps}}\n{ARGOCD_OWNERSHIP}"
        )
    };
    let apps = format!(
        "{}---\n{}",
        app("kube-prometheus-stack", 0, "{repoURL: https://prometheus-community.github.io/helm-charts, chart: kube-prometheus-stack, targetRevision: 88.5.3}"),
        app("apps", 0, "{repoURL: https://example.com/repo.git, targetRevision: main, path: rendered/namespaces/apps}")
    );
    let repo = with_extra(
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: extra\nspec:\n  selector: {matchLabels: {app: web}}\n  endpoints: [{port: http}]\n",
    )
    .file("templates/cluster/applications.yaml", &apps);
    repo.kiln(&["validate"]).code(1).stdout("error[crd-sync-order]: custom resource syncs in wave 0 (Application `apps`) but Application `kube-prometheus-stack`, which installs its CRDs (chart `kube-prometheus-stack`), syncs in wave 0; it must come later
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: ServiceMonitor.monitoring.coreos.com apps/extra, at metadata.annotations
  = rendered: rendered/namespaces/apps/servicemonitor-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: give the namespace (or component) that holds it a higher `syncWave` than the operator's

1 error, 0 warnings in 1 file");
    repo.write(
        "templates/cluster/applications.yaml",
        apps.replacen("sync-wave: \"0\"", "sync-wave: \"-1\"", 1).as_bytes(),
    );
    repo.kiln(&["validate"]).code(0);
}

#[test]
fn policy_crd_sync_order_inside_the_installing_application() {
    // The chart and the namespace directory as two sources of one Application:
    // its sync applies the chart's CRDs before the custom resources (kube-prometheus-stack here).
    let app = &format!("{}{ARGOCD_OWNERSHIP}", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: kube-prometheus-stack\n  namespace: argocd\n  annotations: {argocd.argoproj.io/sync-wave: \"0\"}\nspec:\n  project: default\n  sources:\n    - {repoURL: https://example.com/repo.git, targetRevision: main, path: rendered/namespaces/apps}\n    - {repoURL: https://prometheus-community.github.io/helm-charts, chart: kube-prometheus-stack, targetRevision: 88.5.3}\n  destination: {server: https://kubernetes.default.svc, namespace: apps}\n");
    let monitor = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: extra\nspec:\n  selector: {matchLabels: {app: web}}\n  endpoints: [{port: http}]\n";
    let repo = with_extra(monitor).file("templates/cluster/applications.yaml", app);
    repo.kiln(&["validate"]).code(0);
    let early =
        monitor.replace("  name: extra\n", "  name: extra\n  annotations: {argocd.argoproj.io/sync-wave: \"-1\"}\n");
    let repo = with_extra(&early).file("templates/cluster/applications.yaml", app);
    repo.kiln(&["validate"]).code(1).stdout("error[crd-sync-order]: custom resource syncs in wave -1 of Application `kube-prometheus-stack`, before the CRDs its chart installs in wave 0 of the same sync
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web
  = object: ServiceMonitor.monitoring.coreos.com apps/extra, at metadata.annotations
  = rendered: rendered/namespaces/apps/servicemonitor-extra.yaml from templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: give it a sync wave of 0 or more

1 error, 0 warnings in 1 file");
}

const SERVICE_MONITOR: &str = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: extra\nspec:\n  selector: {matchLabels: {app: web}}\n  endpoints: [{port: http}]\n";

/// Issue 11: standing warnings buried every new finding; an acknowledgement
/// in values counts them instead, and one that matches nothing is reported.
#[test]
fn acknowledged_warnings_are_counted_and_stale_acknowledgements_reported() {
    let cluster = |code: &str| {
        format!(
            "{}acknowledgements:\n  - code: {code}\n    scope: workload apps/web\n    reason: the operator is installed by hand before Argo CD\n",
            crate::harness::MINIMAL_CLUSTER
        )
    };
    let repo = with_extra(SERVICE_MONITOR).file("values/cluster.yaml", &cluster("crd-sync-order"));
    repo.kiln(&["validate"]).code(0).stdout("0 errors, 0 warnings in 0 files (1 acknowledged in values, not shown)");
    repo.kiln(&["render"]).code(0).stderr("");
    let repo = with_extra(SERVICE_MONITOR).file("values/cluster.yaml", &cluster("crd-sync-ordr"));
    let run = repo.kiln(&["validate"]);
    run.code(0);
    assert!(
        run.stdout.starts_with(
            "warning[stale-acknowledgement]: acknowledgement of `crd-sync-ordr` for workload apps/web matches no finding
  --> values/cluster.yaml:10:9
  = key: acknowledgements[0]
  = help: did you mean `crd-sync-order`? Otherwise remove it"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn errors_cannot_be_acknowledged() {
    let cluster = format!(
        "{}acknowledgements:\n  - code: image-pinned\n    scope: workload apps/web\n    reason: later\n",
        crate::harness::MINIMAL_CLUSTER
    );
    let repo =
        with_extra(&deployment("", "").replace("nginx:1.27", "nginx:latest")).file("values/cluster.yaml", &cluster);
    let run = repo.kiln(&["validate"]);
    run.code(1);
    assert!(
        run.stdout.contains("error[image-pinned]: image `nginx:latest` uses the mutable tag `latest`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "warning[stale-acknowledgement]: acknowledgement of `image-pinned` for workload apps/web covers an error; only warnings can be acknowledged"
        ),
        "{}",
        run.stdout
    );
}
