//! Benchmark of the checks `render` runs: how long `validate` and `plan` take
//! next to the build (load values, render templates, assemble the tree), for
//! this repository's cluster and for synthetic clusters of about 100, 1,000
//! and 10,000 objects. The `flows` column is the part of `plan` that checks
//! the declared flows against the NetworkPolicies (`network::flows::check`),
//! timed on its own.
//!
//! ```text
//! cargo run --release --example bench_checks                # this repository
//! cargo run --release --example bench_checks -- DIR...      # other repositories
//! ```
//!
//! Each figure is the median of several runs in one process; every run starts
//! from nothing (schemas are compiled afresh), as a `kiln` process would.

use std::path::Path;
use std::time::{Duration, Instant};

use kiln::finding::Locator;
use kiln::input::InputFiles;
use kiln::{build, network, plan, validate};

fn main() {
    // Other repositories may be large: fewer runs of each.
    let mut roots: Vec<(String, String, usize)> = std::env::args().skip(1).map(|dir| (dir.clone(), dir, 5)).collect();
    if roots.is_empty() {
        roots.push(("this repository".into(), env!("CARGO_MANIFEST_DIR").to_string(), 30));
    }
    println!(
        "{:<28} {:>8} {:>10} {:>10} {:>8} {:>8} {:>9} {:>8}",
        "cluster", "objects", "build", "validate", "plan", "flows", "overhead", "µs/obj"
    );
    for (name, root, runs) in &roots {
        measure(name, &InputFiles::from_dir(Path::new(root)).expect("read repository"), *runs);
    }
    for (namespaces, runs) in [(4, 30), (40, 10), (400, 3)] {
        let dir = tempdir(namespaces);
        let inputs = InputFiles::from_dir(&dir).expect("read synthetic repository");
        measure(&format!("synthetic, {namespaces} namespaces"), &inputs, runs);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn measure(name: &str, inputs: &InputFiles, runs: usize) {
    let mut times = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut objects = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let build = build::build(inputs).expect("build");
        times[0].push(start.elapsed());
        let start = Instant::now();
        let findings = validate::validate(&build);
        times[1].push(start.elapsed());
        let start = Instant::now();
        let plan = plan::plan(&build);
        times[2].push(start.elapsed());
        let start = Instant::now();
        let (connectivity, _) = network::flows::check(&build, &Locator::new(&build));
        times[3].push(start.elapsed());
        assert_eq!(connectivity.flows.len(), plan.connectivity.flows.len());
        assert!(
            !findings.has_errors() && !plan.findings.has_errors(),
            "{}{}",
            findings.to_text(false),
            plan.findings.to_text(false)
        );
        objects = build.objects.len();
    }
    let [build, validate, plan, flows] = times.map(median);
    let overhead = (validate + plan).as_secs_f64() / build.as_secs_f64() * 100.0;
    let per_object = (validate + plan).as_secs_f64() * 1e6 / objects.max(1) as f64;
    println!(
        "{name:<28} {objects:>8} {:>8.1}ms {:>8.1}ms {:>6.1}ms {:>6.1}ms {:>8.0}% {:>8.1}",
        ms(build),
        ms(validate),
        ms(plan),
        ms(flows),
        overhead,
        per_object
    );
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A synthetic repository: 3 nodes, `namespaces` namespaces of 5 workloads,
/// each rendering a Deployment, ConfigMap, Service, HPA and PDB (5 objects),
/// plus two NetworkPolicies per namespace.
fn tempdir(namespaces: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-bench-checks-{}-{namespaces}", std::process::id()));
    let write = |path: &str, text: &str| {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write(
        "values/cluster.yaml",
        "name: bench\nkubernetesVersion: \"1.31\"\ngit:\n  repoURL: https://example.com/r.git\n  revision: main\n",
    );
    for node in 0..3 {
        let role = if node == 0 { "server" } else { "agent" };
        write(
            &format!("values/nodes/n{node}.yaml"),
            &format!("name: n{node}\nrole: {role}\ncapacity: {{cpu: \"1000\", memory: 4000Gi, pods: 10000}}\n"),
        );
    }
    for namespace in 0..namespaces {
        let mut text = format!("name: ns{namespace}\nworkloads:\n");
        for workload in 0..5 {
            text.push_str(&format!(
                "  w{workload}:\n    kind: Deployment\n    image: example/app:1.{workload}\n    replicas: 2\n    env: {{MODE: prod, LEVEL: \"{workload}\"}}\n"
            ));
        }
        write(&format!("values/namespaces/ns{namespace}.yaml"), &text);
    }
    write("templates/namespaces/network-policies.yaml", NETWORK_POLICIES);
    write("templates/workloads/app.yaml", WORKLOAD);
    dir
}

const NETWORK_POLICIES: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}]
";

const WORKLOAD: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ workload.name }}-env}
data: {{ workload.env | to_yaml | nindent(width=2) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ workload.name }}
  labels: {app: {{ workload.name }}}
spec:
  selector: {matchLabels: {app: {{ workload.name }}}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata:
      labels: {app: {{ workload.name }}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: {matchLabels: {app: {{ workload.name }}}}
      containers:
        - name: app
          image: {{ workload.image }}
          envFrom: [{configMapRef: {name: {{ workload.name }}-env}}]
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /ready, port: http}}
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: {{ workload.name }}}
spec:
  selector: {app: {{ workload.name }}}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: {{ workload.name }}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ workload.name }}}
  minReplicas: 2
  maxReplicas: 4
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: {{ workload.name }}}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: {{ workload.name }}}}
";
