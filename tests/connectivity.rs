//! `kiln plan`'s connectivity: declared flows through the rendered
//! NetworkPolicies, the cluster DNS, outside destinations, and Service names
//! in the environment that no flow declares.

use crate::harness::{Repo, MINIMAL_CLUSTER, MINIMAL_NETWORK_POLICY, MINIMAL_NODE};

/// A Deployment with the workload's ports, and a Service for a workload that has any.
const WORKLOAD: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ workload.name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ workload.name }}}
  template:
    metadata:
      labels: {app: {{ workload.name }}}
    spec:
      containers:
        - name: app
          image: {{ workload.image }}
{%- if workload.ports %}
          ports:
{%- for port in workload.ports %}
            - {name: {{ port.name }}, containerPort: {{ port.port }}}
{%- endfor %}
{%- endif %}
{%- if workload.env %}
          env:
{%- for key, value in workload.env %}
            - {name: {{ key }}, value: {{ value }}}
{%- endfor %}
{%- endif %}
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
{%- if workload.ports %}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ workload.name }}
spec:
  selector: {app: {{ workload.name }}}
  ports:
{%- for port in workload.ports %}
    - {name: {{ port.name }}, port: {{ port.port }}, targetPort: {{ port.name }}}
{%- endfor %}
{%- endif %}
";

const APPS: &str = "\
name: apps
workloads:
  web:
    image: nginx:1.27
    flows:
      - {service: data/db, port: postgres}
";

const DATA: &str = "\
name: data
workloads:
  db:
    image: postgres:17.2
    ports:
      - {name: postgres, port: 5432}
";

/// Egress from `apps` to `data` pods on 5432, and ingress to them from `apps`.
const ALLOW_APPS_TO_DB: &str = "\
{%- if namespace.name == \"apps\" %}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: to-db
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: data}}, podSelector: {matchLabels: {app: db}}}]
      ports: [{port: 5432}]
{%- else %}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: from-apps
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: apps}}}]
      ports: [{port: postgres}]
{%- endif %}
";

fn repo(apps: &str) -> Repo {
    Repo::new()
        .file("values/cluster.yaml", &format!("{MINIMAL_CLUSTER}    kind: Deployment\n"))
        .file("values/nodes/n1.yaml", MINIMAL_NODE)
        .file("values/namespaces/apps.yaml", apps)
        .file("values/namespaces/data.yaml", DATA)
        .file("templates/workloads/workload.yaml", WORKLOAD)
        .file("templates/namespaces/network-policy.yaml", MINIMAL_NETWORK_POLICY)
}

/// The findings and the connectivity table of `kiln plan`.
fn connectivity(stdout: &str) -> String {
    let start = stdout.find("\nconnectivity").map_or(stdout.len(), |start| start + 1);
    stdout.get(start..).unwrap_or_default().to_string()
}

#[test]
fn declared_flow_denied_by_default_deny_names_both_sides() {
    let run = repo(APPS).kiln(&["plan"]);
    run.code(1);
    assert_eq!(
        connectivity(&run.stdout),
        "connectivity (declared flows through the NetworkPolicies)
  from      to                verdict  detail
  apps/web  data/db:5432/TCP  DENIED   egress denied (apps/default-deny, apps/allow-dns allow none of it); ingress denied (data/default-deny allow none of it)

error[plan-flow]: flow `apps/web` → `data/db:5432`/TCP: egress denied (apps/default-deny, apps/allow-dns allow none of it); ingress denied (data/default-deny allow none of it)
  --> values/namespaces/apps.yaml:6:9
  = key: workloads.web.flows[0]
  = help: allow it in a NetworkPolicy: egress from `apps/web` and ingress to `data/db` on port 5432

1 error, 0 warnings in 1 file
"
    );
}

#[test]
fn declared_flow_allowed_by_both_sides_is_shown_with_its_policies() {
    let run = repo(APPS).file("templates/namespaces/allow.yaml", ALLOW_APPS_TO_DB).kiln(&["plan"]);
    run.code(0);
    assert_eq!(
        connectivity(&run.stdout),
        "connectivity (declared flows through the NetworkPolicies)
  from      to                verdict  detail
  apps/web  data/db:5432/TCP  ok       egress by apps/to-db; ingress by data/from-apps

0 errors, 0 warnings in 0 files
"
    );
    let json: serde_json::Value = serde_json::from_str(
        &repo(APPS)
            .file("templates/namespaces/allow.yaml", ALLOW_APPS_TO_DB)
            .kiln(&["plan", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(
        json["connectivity"]["flows"],
        serde_json::json!([{
            "from": "apps/web", "to": "data/db:5432", "protocol": "TCP", "allowed": true,
            "detail": "egress by apps/to-db; ingress by data/from-apps"
        }])
    );
}

#[test]
fn flow_to_a_missing_service_or_port_is_an_error_at_the_flow() {
    let missing = APPS.replace("data/db", "data/cache");
    let run = repo(&missing).kiln(&["plan"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "error[plan-flow]: flow `apps/web` → `data/cache:postgres`: there is no Service `cache` in namespace `data`
  --> values/namespaces/apps.yaml:6:9
  = key: workloads.web.flows[0]
  = help: name a Service that is rendered: a workload's own name, with its namespace (`namespace/name`)"
        ),
        "{}",
        run.stdout
    );
    let wrong_port = APPS.replace("port: postgres", "port: 5433");
    let run = repo(&wrong_port).kiln(&["plan"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "error[plan-flow]: flow `apps/web` → `data/db:5433`: Service `data/db` has no port `5433`/TCP (it has postgres 5432/TCP)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn workload_with_flows_and_no_dns_egress_cannot_look_up_names() {
    let deny_only = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
";
    let run = repo(APPS)
        .file("templates/namespaces/network-policy.yaml", deny_only)
        .file("templates/namespaces/allow.yaml", ALLOW_APPS_TO_DB)
        .kiln(&["plan"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "error[plan-flow]: `apps/web` cannot look up names: egress to the cluster DNS (kube-system, `k8s-app: kube-dns`) on UDP 53 is denied (apps/to-db, apps/default-deny allow none of it)
  --> values/namespaces/apps.yaml:5:5
  = key: workloads.web.flows
  = help: set `networkPolicy.allowDns: true` in the namespace's values"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn internet_flow_needs_egress_to_every_public_address() {
    let apps = "\
name: apps
workloads:
  web:
    image: nginx:1.27
    flows:
      - {host: huggingface.co, port: 443, reason: model downloads}
";
    let run = repo(apps).kiln(&["plan"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "error[plan-flow]: flow `apps/web` → `huggingface.co:443`/TCP: egress denied (apps/default-deny, apps/allow-dns allow none of it)
  --> values/namespaces/apps.yaml:6:9
  = key: workloads.web.flows[0]
  = help: allow egress to every public IPv4 address on port 443 for this workload (an `ipBlock` in a NetworkPolicy of `apps`), e.g. `networkPolicy.egressCidrs` in the namespace's values"
        ),
        "{}",
        run.stdout
    );
    let internet = "\
{%- if namespace.name == \"apps\" %}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: internet
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}]
      ports: [{port: 443}]
{%- endif %}
";
    let run = repo(apps).file("templates/namespaces/internet.yaml", internet).kiln(&["plan"]);
    run.code(0);
    assert!(
        run.stdout.contains("  apps/web  huggingface.co:443/TCP  ok       egress by apps/internet\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn env_naming_a_service_without_a_flow_is_a_warning_at_the_env_line() {
    let apps = "\
name: apps
workloads:
  web:
    image: nginx:1.27
    env:
      DATABASE_URL: postgres://db.data.svc.cluster.local:5432/app
";
    let run = repo(apps).kiln(&["plan"]);
    run.code(0);
    assert!(
        run.stdout.contains(
            "warning[plan-flow-undeclared]: env `DATABASE_URL` names Service `data/db`, but no flow of `apps/web` declares it
  --> values/namespaces/apps.yaml:6:7
  = key: workloads.web.env.DATABASE_URL
  = help: declare it under `flows:` (`- {service: data/db, port: <port>}`) so the plan proves the NetworkPolicies let it through"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn flow_with_two_destinations_or_a_named_outside_port_is_refused_when_values_load() {
    let two =
        APPS.replace("{service: data/db, port: postgres}", "{service: data/db, host: db.example.com, port: 5432}");
    repo(&two).kiln(&["plan"]).code(2).stderr(
        "error: flow names 2 destinations (`service`, `host`)
  --> values/namespaces/apps.yaml:6:9
  = key: workloads.web.flows[0]
  = help: set one of `service: <namespace>/<name>`, `host: <dns name>` or `cidr: <address>/<prefix>`",
    );
    let named = APPS.replace("{service: data/db, port: postgres}", "{host: db.example.com, port: https}");
    repo(&named).kiln(&["plan"]).code(2).stderr(
        "error: port `https` is a name, but only a Service has named ports
  --> values/namespaces/apps.yaml:6:32
  = key: workloads.web.flows[0].port
  = help: write the port number the outside destination listens on, e.g. `443`",
    );
    let waited =
        APPS.replace("{service: data/db, port: postgres}", "{host: db.example.com, port: 5432, waitBeforeStart: true}");
    repo(&waited).kiln(&["plan"]).code(2).stderr(
        "error: only a flow to a `service` can be waited for
  --> values/namespaces/apps.yaml:6:44
  = key: workloads.web.flows[0].waitBeforeStart
  = help: remove `waitBeforeStart`: kiln waits for a Service of the cluster to have a ready pod, not for an outside address",
    );
    let udp = APPS.replace(
        "{service: data/db, port: postgres}",
        "{service: data/db, port: 53, protocol: UDP, waitBeforeStart: true}",
    );
    repo(&udp).kiln(&["plan"]).code(2).stderr(
        "error: only a TCP port can be waited for
  --> values/namespaces/apps.yaml:6:53
  = key: workloads.web.flows[0].waitBeforeStart
  = help: remove `waitBeforeStart`: the wait opens a TCP connection, which a UDP or SCTP port never accepts",
    );
}

#[test]
fn flow_into_a_workload_that_needs_a_credential_must_read_it_in_its_own_namespace() {
    let data = format!("{DATA}    clientCredential: {{secret: db-auth, keys: [PASSWORD]}}\n");
    let run = repo(APPS)
        .file("values/namespaces/data.yaml", &data)
        .file("templates/namespaces/allow.yaml", ALLOW_APPS_TO_DB)
        .kiln(&["plan"]);
    run.code(1);
    assert!(
        run.stdout.contains(
            "error[plan-flow-credential]: flow `apps/web` → `data/db:5432`: `data/db` requires clients to present `db-auth` key `PASSWORD`, which `apps/web` does not read
  --> values/namespaces/apps.yaml:6:9
  = key: workloads.web.flows[0]
  = help: declare secret `db-auth` in namespace `apps` too (sealed for it: `kiln seal`) and read it: `secretEnv: {PASSWORD: {secret: db-auth, key: PASSWORD}}`"
        ),
        "{}",
        run.stdout
    );
    // With its own copy of the secret, read into the environment, the flow passes.
    let sealed = crate::values_trust::sealed_placeholder();
    let reading = APPS
        .replace("    flows:", "    secretEnv:\n      PASSWORD: {secret: db-auth, key: PASSWORD}\n    flows:")
        + &format!("secrets:\n  db-auth:\n    encryptedData:\n      PASSWORD: {sealed}\n");
    repo(&reading)
        .file("values/namespaces/data.yaml", &data)
        .file("templates/namespaces/allow.yaml", ALLOW_APPS_TO_DB)
        .kiln(&["plan"])
        .code(0);
}

/// Issue 13, least privilege: ai-system-infra admitted every pod of three
/// namespaces (`ingressFrom`), so every workload there could reach redis and
/// nats though only a few declare a flow. Put back, each is a warning at the
/// destination naming the first witnesses and the policy that lets them in.
#[test]
fn allowed_but_undeclared_paths_between_ai_system_namespaces_are_warnings() {
    let repo = Repo::this_repository();
    let infra = repo.read("values/namespaces/ai-system-infra.yaml");
    repo.write(
        "values/namespaces/ai-system-infra.yaml",
        infra
            .replacen(
                "  defaultDeny: true\n",
                "  defaultDeny: true\n  ingressFrom: [ai-system-infra, ai-system-core, ai-system-gpu]\n",
                1,
            )
            .as_bytes(),
    );
    let run = repo.kiln(&["plan"]);
    run.code(0);
    let warnings: Vec<&str> =
        run.stdout.lines().filter(|line| line.starts_with("warning[plan-flow-least-privilege]")).collect();
    assert_eq!(warnings.len(), 2, "{}", run.stdout);
    let redis = "warning[plan-flow-least-privilege]: the NetworkPolicies let `ai-system-core/memory-db-backup` → 6379/TCP, `ai-system-core/memory-stack` → 6379/TCP, `ai-system-core/vector-store` → 6379/TCP, `ai-system-core/vector-store-backup` → 6379/TCP, `ai-system-core/web-interface` → 6379/TCP and more into `ai-system-infra/redis` without a declared flow (ingress by ai-system-infra/allow-ingress-from-namespaces): more than its clients need";
    assert!(run.stdout.contains(&format!("{redis}\n  --> values/namespaces/ai-system-infra.yaml:")), "{}", run.stdout);
    assert!(run.stdout.contains("  = key: workloads.redis\n  = object: StatefulSet.apps ai-system-infra/redis\n"));
    assert!(run.stdout.contains("  = help: admit only the workloads that declare a flow to it: drop the namespace's `ingressFrom` (in a namespace with `defaultDeny`, kiln admits each workload's declared clients on their ports), or declare the flow if it is meant\n"));
    // The declared clients (coordination, utility-suite) are not listed.
    assert!(!warnings.iter().any(|w| w.contains("`ai-system-gpu/coordination` → 6379")), "{warnings:?}");
}

/// With ingress per workload from its declared clients, the NetworkPolicies
/// allow nothing between the ai-system namespaces that no flow needs.
#[test]
fn this_repository_allows_no_undeclared_path() {
    let run = Repo::this_repository().kiln(&["plan"]);
    run.code(0);
    assert!(!run.stdout.contains("plan-flow-least-privilege"), "{}", run.stdout);
}
