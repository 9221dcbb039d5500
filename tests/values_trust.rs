//! Issue 10, values side: no values input panics, hangs or reshapes the
//! output. Each test breaks the minimal repository one way and checks the
//! exact message (exit 2), and that `rendered/` is byte-identical afterwards.

use crate::harness::{rejects, web_with, Repo, MINIMAL_NAMESPACE};

#[test]
fn yaml_tag_on_a_values_mapping_is_an_error_not_a_panic() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("    vars: !Ref\n      a: 1\n").as_bytes()),
        "error: YAML tag `!Ref` is not supported in values
  --> values/namespaces/apps.yaml:8:11
  = key: workloads.web.vars
  = help: values are plain YAML: remove the tag, and quote the value if it should stay text (`key: \"!Ref x\"`)",
    );
}

#[test]
fn yaml_tag_on_a_scalar_or_list_is_an_error() {
    rejects(
        |repo| repo.write("values/cluster.yaml", b"name: !custom demo\n"),
        "error: YAML tag `!custom` is not supported in values
  --> values/cluster.yaml:1:7
  = key: name
  = help: values are plain YAML: remove the tag, and quote the value if it should stay text (`key: \"!Ref x\"`)",
    );
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\ntaints: !!seq []\n"),
        "error: YAML tag `!!seq` is not supported in values
  --> values/nodes/n1.yaml:3:9
  = key: taints
  = help: values are plain YAML: remove the tag, and quote the value if it should stay text (`key: \"!Ref x\"`)",
    );
}

#[test]
fn deep_flow_nesting_is_refused_in_linear_time() {
    let levels = 100_000;
    let text = format!("name: apps\nvars:\n  deep: {}{}\n", "[".repeat(levels), "]".repeat(levels));
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", text.as_bytes()),
        "error: values nest deeper than 64 levels of mappings and lists
  --> values/namespaces/apps.yaml:3:264
  = key: vars.deep
  = help: flatten the structure; kiln reads at most 64 levels",
    );
}

#[test]
fn deep_block_nesting_is_refused_where_it_crosses_the_limit() {
    let text: String = (0..70).map(|level| format!("{}k{level}:\n", "  ".repeat(level + 1))).collect();
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", format!("name: apps\nvars:\n{text}").as_bytes()),
        "error: values nest deeper than 64 levels of mappings and lists
  --> values/namespaces/apps.yaml:66:132
  = key: vars.k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15.k16.k17.k18.k19.k20.k21.k22.k23.k24.k25.k26.k27.k28.k29.k30.k31.k32.k33.k34.k35.k36.k37.k38.k39.k40.k41.k42.k43.k44.k45.k46.k47.k48.k49.k50.k51.k52.k53.k54.k55.k56.k57.k58.k59.k60.k61.k62
  = help: flatten the structure; kiln reads at most 64 levels",
    );
}

#[test]
fn oversized_values_file_is_refused_before_parsing() {
    let text = format!("name: apps\nvars:\n  blob: {}\n", "x".repeat(9 * 1024 * 1024));
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", text.as_bytes()),
        "error: values file is larger than 8 MiB (9437210 bytes)
  --> values/namespaces/apps.yaml:3:8388592
  = help: split it, or move large data (dashboards, scripts) into template files",
    );
}

#[test]
fn namespace_with_dot_dot_cannot_escape_the_tree() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: ../../../x\n";
    repo.write("templates/workloads/escape.yaml", template.as_bytes());
    for args in [&["render"][..], &["render", "--diff"], &["validate"]] {
        repo.kiln(args).code(2).stdout("").stderr(
            "error: document 1: ConfigMap namespace `../../../x` may only contain lower-case letters, digits and `-`
  --> templates/workloads/escape.yaml (rendering workload apps/web)
  = help: a namespace must be a DNS-1123 label: lower-case letters, digits and `-`, at most 63",
        );
    }
    assert_eq!(before, repo.snapshot(), "a failed render must leave rendered/ byte-identical");
    let parent = repo.path().parent().unwrap();
    assert!(!parent.join("x").exists() && !repo.path().join("x").exists(), "nothing is written outside rendered/");
    let entries: Vec<String> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut entries = entries;
    entries.sort();
    // The writer's lock file beside rendered/ is the one sibling kiln keeps.
    assert_eq!(entries, [".rendered.kiln-lock", "rendered", "templates", "values"]);
}

#[test]
fn kind_with_a_separator_cannot_name_a_path() {
    rejects(
        |repo| {
            let template = "apiVersion: v1\nkind: ../Evil\nmetadata:\n  name: x\n";
            repo.write("templates/workloads/escape.yaml", template.as_bytes());
        },
        "error: document 1: kind `../Evil` is not a valid, path-safe kind
  --> templates/workloads/escape.yaml (rendering workload apps/web)
  = help: API kinds are CamelCase names of letters and digits, e.g. `ConfigMap`",
    );
}

#[test]
fn long_non_ascii_configmap_name_does_not_panic() {
    rejects(
        |repo| {
            let name = format!("a{}", "é".repeat(40));
            let template = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {{a: b}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other\nspec:\n  selector: {{matchLabels: {{app: other}}}}\n  template:\n    metadata: {{labels: {{app: other}}}}\n    spec:\n      containers: [{{name: c, image: nginx:1.27, envFrom: [{{configMapRef: {{name: {name}}}}}]}}]\n"
            );
            repo.write("templates/workloads/extra.yaml", template.as_bytes());
        },
        &format!(
            "error: document 1: ConfigMap name `a{}` is not a valid, path-safe object name
  --> templates/workloads/extra.yaml (rendering workload apps/web)
  = help: Kubernetes names use lower-case letters, digits, `-` and `.`",
            "é".repeat(40)
        ),
    );
}

const KEY_HELP: &str = "seal it under `secrets:` in a namespace file and reference the Secret by name (a key such as `existingSecret` or `*SecretName`, or a value naming the sealed secret); see README, Secrets";
const URL_HELP: &str = "keep the password in a sealed secret: put it in a `secretEnv` variable and write `$(VAR)` in its place, or use the chart's existing-secret setting";

#[test]
fn sixty_four_alphanumerics_are_not_a_sealed_secret() {
    rejects(
        |repo| {
            let values = format!("name: apps\nsecrets:\n  db:\n    encryptedData:\n      password: {}\n", "a".repeat(64));
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: secret value `password` is not SealedSecret ciphertext: it declares a 27046-byte session key, but sealing keys (RSA 2048, 3072 or 4096 bits) give 256, 384 or 512
  --> values/namespaces/apps.yaml:5:7
  = key: secrets.db.encryptedData.password
  = help: never commit plaintext: seal it with `kiln seal --namespace <ns> --name <secret> --key <key>` (see README, Secrets)",
    );
}

#[test]
fn truncated_ciphertext_is_not_a_sealed_secret() {
    // A 4096-bit session key's length prefix, then far fewer bytes than it needs.
    rejects(
        |repo| {
            let values = format!("name: apps\nsecrets:\n  db:\n    encryptedData:\n      password: AgA{}\n", "B".repeat(97));
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: secret value `password` is not SealedSecret ciphertext: it decodes to 75 bytes, shorter than the 530 a 4096-bit key's session key and the AES-GCM tag take
  --> values/namespaces/apps.yaml:5:7
  = key: secrets.db.encryptedData.password
  = help: never commit plaintext: seal it with `kiln seal --namespace <ns> --name <secret> --key <key>` (see README, Secrets)",
    );
}

#[test]
fn credentials_in_a_database_url_are_refused() {
    rejects(
        |repo| {
            let values = web_with("      DATABASE_URL: postgres://admin:pw@db:5432/app\n");
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        &format!(
            "error: `DATABASE_URL` holds a URL with a plaintext password (`postgres://admin:***@db:5432`)
  --> values/namespaces/apps.yaml:8:7
  = key: workloads.web.env.DATABASE_URL
  = help: {URL_HELP}"
        ),
    );
}

#[test]
fn password_only_redis_url_in_args_is_refused() {
    rejects(
        |repo| {
            let values = web_with("    args: [--cache, 'redis://:pw@cache:6379']\n");
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        &format!(
            "error: `args` holds a URL with a plaintext password (`redis://:***@cache:6379`)
  --> values/namespaces/apps.yaml:8:21
  = key: workloads.web.args[1]
  = help: {URL_HELP}"
        ),
    );
}

#[test]
fn url_whose_password_is_an_env_reference_is_accepted() {
    let repo = Repo::minimal()
        .file("values/namespaces/apps.yaml", &web_with("      DATABASE_URL: postgres://admin:$(DB_PASSWORD)@db/app\n"));
    repo.kiln(&["render"]).code(0);
}

#[test]
fn argocd_admin_password_in_helm_values_is_refused() {
    rejects(
        |repo| {
            let cluster = format!(
                "{}components:\n  argo-cd:\n    chart: argo-cd\n    values:\n      configs:\n        secret:\n          argocdServerAdminPassword: \"$2a$10$abcdefghijklmnopqrstuv\"\n",
                crate::harness::MINIMAL_CLUSTER
            );
            repo.write("values/cluster.yaml", cluster.as_bytes());
        },
        &format!(
            "error: `argocdServerAdminPassword` looks like a credential but holds plaintext
  --> values/cluster.yaml:15:11
  = key: components.argo-cd.values.configs.secret.argocdServerAdminPassword
  = help: {KEY_HELP}"
        ),
    );
}

#[test]
fn credential_in_workload_vars_is_refused_but_secret_references_pass() {
    rejects(
        |repo| {
            let values = format!(
                "{}secrets:\n  db:\n    encryptedData:\n      password: {}\n",
                web_with("    vars:\n      existingSecret: db\n      adminSecret: db\n      ref: {secret: db, key: password}\n      clientSecret: s3cr3t\n"),
                sealed_placeholder()
            );
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        &format!(
            "error: `clientSecret` looks like a credential but holds plaintext
  --> values/namespaces/apps.yaml:12:7
  = key: workloads.web.vars.clientSecret
  = help: {KEY_HELP}"
        ),
    );
}

#[test]
fn credential_url_in_node_vars_is_refused() {
    rejects(
        |repo| {
            let node =
                format!("{}vars:\n  mirror: https://bot:hunter2@registry.example/v2\n", crate::harness::MINIMAL_NODE);
            repo.write("values/nodes/n1.yaml", node.as_bytes());
        },
        &format!(
            "error: `mirror` holds a URL with a plaintext password (`https://bot:***@registry.example`)
  --> values/nodes/n1.yaml:9:3
  = key: vars.mirror
  = help: {URL_HELP}"
        ),
    );
}

/// A structurally valid sealed value (tests/fixtures/seal-placeholder.py).
pub(crate) fn sealed_placeholder() -> String {
    let mut bytes = 256u16.to_be_bytes().to_vec();
    bytes.extend([7u8; 256 + 16 + 4]);
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn replicas_of_four_billion_is_refused_before_planning() {
    for args in [&["render"][..], &["plan"]] {
        let repo = Repo::minimal();
        repo.kiln(&["render"]).code(0);
        let before = repo.snapshot();
        repo.write("values/namespaces/apps.yaml", web_with("    replicas: 4000000000\n").as_bytes());
        repo.kiln(args).code(2).stdout("").stderr(
            "error: `replicas: 4000000000` is more pods than the declared nodes can run (110, the sum of their `capacity.pods`)
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.replicas
  = help: lower it, or declare more nodes or a higher `capacity.pods`; a namespace `quota.pods` bounds it instead when set",
        );
        assert_eq!(before, repo.snapshot());
    }
}

#[test]
fn hpa_max_beyond_the_namespace_pod_quota_is_refused() {
    rejects(
        |repo| {
            let values = format!(
                "name: apps\nquota:\n  pods: 10\n{}",
                web_with("    hpa: {minReplicas: 2, maxReplicas: 40, cpuUtilization: 80}\n")
                    .trim_start_matches("name: apps\n")
            );
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: `maxReplicas: 40` is more pods than the namespace's `quota.pods: 10` admits
  --> values/namespaces/apps.yaml:10:27
  = key: workloads.web.hpa.maxReplicas
  = help: lower it, or raise `quota.pods` in the namespace file",
    );
}

#[test]
fn hpa_min_above_max_is_refused() {
    rejects(
        |repo| {
            let values = web_with("    hpa: {minReplicas: 5, maxReplicas: 3, cpuUtilization: 80}\n");
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: `maxReplicas: 3` is below `minReplicas: 5`
  --> values/namespaces/apps.yaml:8:27
  = key: workloads.web.hpa.maxReplicas
  = help: the API server refuses an HPA whose maxReplicas is below minReplicas",
    );
}

#[test]
fn node_pod_capacity_and_gpu_counts_are_bounded() {
    rejects(
        |repo| {
            let node = format!(
                "{}  pods: 4000000000\ngpus: [{{count: 100000}}]\ntimeSlicing: {{replicas: 4000000000}}\n",
                crate::harness::MINIMAL_NODE
            );
            repo.write("values/nodes/n1.yaml", node.as_bytes());
        },
        "error: `pods: 4000000000` is more than the 1000 pods per node kiln accepts
  --> values/nodes/n1.yaml:8:3
  = key: capacity.pods
  = help: declare what the machine really has (README, Values reference)

error: `count: 100000` is more than the 64 GPUs per node kiln accepts
  --> values/nodes/n1.yaml:9:9
  = key: gpus[0].count
  = help: declare what the machine really has (README, Values reference)

error: `replicas: 4000000000` is more than the 1000 pods per GPU kiln accepts
  --> values/nodes/n1.yaml:10:15
  = key: timeSlicing.replicas
  = help: declare what the machine really has (README, Values reference)
error: 3 problems found, nothing was written",
    );
}

#[test]
fn job_parallelism_is_bounded_like_replicas() {
    rejects(
        |repo| {
            let values = MINIMAL_NAMESPACE.replace("kind: Deployment", "kind: Job") + "    job: {parallelism: 4000000000}\n";
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: `parallelism: 4000000000` is more pods than the declared nodes can run (110, the sum of their `capacity.pods`)
  --> values/namespaces/apps.yaml:8:11
  = key: workloads.web.job.parallelism
  = help: lower it, or declare more nodes or a higher `capacity.pods`; a namespace `quota.pods` bounds it instead when set",
    );
}

#[test]
fn a_template_replica_count_is_simulated_only_up_to_what_the_nodes_hold() {
    let template =
        crate::harness::MINIMAL_TEMPLATE.replace("replicas: {{ workload.replicas }}", "replicas: 4000000000");
    let repo = Repo::minimal().file("templates/workloads/deployment.yaml", &template);
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert!(run.stdout.contains("3999999960 of 4000000000 pods cannot be scheduled in steady state"), "{}", run.stdout);
}

/// Writes `text` to `path` of the rendered minimal repository and checks the refusal.
#[track_caller]
fn refuses_syntax(path: &str, text: &str, expected: &str) {
    rejects(|repo| repo.write(path, text.as_bytes()), expected);
}

#[test]
fn k3s_version_with_shell_quotes_is_refused_when_loaded() {
    let cluster = crate::harness::MINIMAL_CLUSTER
        .replace("kubernetesVersion", "k3sVersion: 'v1.31.7+k3s1\"; touch /tmp/x; \"'\nkubernetesVersion");
    refuses_syntax(
        "values/cluster.yaml",
        &cluster,
        "error: k3s version `v1.31.7+k3s1\\\"; touch /tmp/x; \\\"` is not a k3s release (`v<major>.<minor>.<patch>+k3s<n>`, e.g. `v1.31.7+k3s1`)
  --> values/cluster.yaml:2:1
  = key: k3sVersion
  = help: use a k3s release tag from https://github.com/k3s-io/k3s/releases, e.g. `v1.31.7+k3s1`",
    );
}

#[test]
fn node_label_value_with_a_shell_command_is_refused() {
    refuses_syntax(
        "values/nodes/n1.yaml",
        &crate::harness::MINIMAL_NODE.replace("gpu: \"true\"", "gpu: \"gpu;touch /tmp/x\""),
        "error: label value `gpu;touch /tmp/x` may only hold letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit
  --> values/nodes/n1.yaml:4:3
  = key: labels.gpu
  = help: label values are at most 63 letters, digits, `-`, `_` and `.`, or empty",
    );
}

#[test]
fn workload_group_with_a_newline_is_refused() {
    refuses_syntax(
        "values/namespaces/apps.yaml",
        &web_with("    group: \"core\\nkind: Secret\"\n"),
        "error: label value `core\\nkind: Secret` may only hold letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.group
  = help: label values are at most 63 letters, digits, `-`, `_` and `.`, or empty",
    );
}

#[test]
fn writable_path_with_a_newline_is_refused() {
    refuses_syntax(
        "values/namespaces/apps.yaml",
        &web_with("    writablePaths: [\"/tmp\\n        - name: evil\"]\n"),
        "error: container path `/tmp\\n        - name: evil` contains whitespace or a control character
  --> values/namespaces/apps.yaml:8:21
  = key: workloads.web.writablePaths[0]
  = help: write one absolute path, e.g. `/var/cache/app`",
    );
}

#[test]
fn label_keys_annotation_keys_and_selectors_are_checked() {
    refuses_syntax(
        "values/namespaces/apps.yaml",
        "name: apps\nlabels:\n  \"kind: Secret\": x\nannotations:\n  \"a/b/c\": free text stays free\nnodeSelector:\n  gpu: \"true\"\n  \"-bad\": x\n",
        "error: label key `kind: Secret` must be an optional DNS prefix and `/`, then letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit
  --> values/namespaces/apps.yaml:3:3
  = key: labels.\"kind: Secret\"
  = help: keys are `[prefix/]name`: an optional DNS subdomain and `/`, then at most 63 letters, digits, `-`, `_` and `.`

error: annotation key `a/b/c` must be an optional DNS prefix and `/`, then letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit
  --> values/namespaces/apps.yaml:5:3
  = key: annotations.a/b/c
  = help: keys are `[prefix/]name`: an optional DNS subdomain and `/`, then at most 63 letters, digits, `-`, `_` and `.`

error: label key `-bad` must be an optional DNS prefix and `/`, then letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit
  --> values/namespaces/apps.yaml:8:3
  = key: nodeSelector.-bad
  = help: keys are `[prefix/]name`: an optional DNS subdomain and `/`, then at most 63 letters, digits, `-`, `_` and `.`

error: no declared node has label `-bad=x`
  --> values/namespaces/apps.yaml:8:3
  = key: nodeSelector.-bad
  = help: add the label to a node file or fix the selector
error: 4 problems found, nothing was written",
    );
}

#[test]
fn image_reference_is_checked() {
    refuses_syntax(
        "values/namespaces/apps.yaml",
        &MINIMAL_NAMESPACE.replace("image: nginx:1.27", "image: \"Nginx:1.27 --privileged\""),
        "error: image `Nginx:1.27 --privileged` is not an image reference (`[registry/]repository[:tag][@sha256:digest]`, repository in lower case)
  --> values/namespaces/apps.yaml:5:5
  = key: workloads.web.image
  = help: pin an image as `registry/repository:tag`, e.g. `ghcr.io/org/app:1.2.3`",
    );
}

#[test]
fn node_address_taints_and_tls_sans_are_checked() {
    refuses_syntax(
        "values/nodes/n1.yaml",
        &format!(
            "{}address: 192.168.1.300\ntaints:\n  - {{key: \"a b\", value: ok, effect: NoSchedule}}\nk3s:\n  tlsSan: [\"mainpc;reboot\"]\n",
            crate::harness::MINIMAL_NODE
        ),
        "error: host `192.168.1.300` is not a valid IPv4 address
  --> values/nodes/n1.yaml:8:1
  = key: address
  = help: use an IP address or a lower-case DNS name such as `mainpc.lan`

error: label key `a b` must be an optional DNS prefix and `/`, then letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit
  --> values/nodes/n1.yaml:10:6
  = key: taints[0].key
  = help: keys are `[prefix/]name`: an optional DNS subdomain and `/`, then at most 63 letters, digits, `-`, `_` and `.`

error: host `mainpc;reboot` is neither an IP address nor a DNS-1123 host name
  --> values/nodes/n1.yaml:12:12
  = key: k3s.tlsSan[0]
  = help: use an IP address or a lower-case DNS name such as `mainpc.lan`
error: 3 problems found, nothing was written",
    );
}

#[test]
fn egress_cidrs_domain_and_ingress_host_are_checked() {
    refuses_syntax(
        "values/namespaces/apps.yaml",
        &format!(
            "{}    ingress: {{host: \"ai.lan/x\", path: \"api\"}}\nnetworkPolicy:\n  egressCidrs: [10.0.0.0/33]\n",
            web_with("")
        ),
        "error: CIDR `10.0.0.0/33` has prefix length `33`; it must be a number from 0 to 32
  --> values/namespaces/apps.yaml:10:17
  = key: networkPolicy.egressCidrs[0]
  = help: write an address and prefix length, e.g. `192.168.1.0/24` or `0.0.0.0/0`

error: host name `ai.lan/x` is not a DNS-1123 subdomain (lower-case letters, digits, `-` and `.`)
  --> values/namespaces/apps.yaml:8:15
  = key: workloads.web.ingress.host
  = help: use an IP address or a lower-case DNS name such as `mainpc.lan`

error: HTTP path `api` does not start with `/`
  --> values/namespaces/apps.yaml:8:33
  = key: workloads.web.ingress.path
  = help: write a path starting with `/`, e.g. `/healthz`
error: 3 problems found, nothing was written",
    );
}

#[test]
fn ports_env_names_and_secret_keys_are_checked() {
    refuses_syntax(
        "values/namespaces/apps.yaml",
        &format!(
            "{}    ports: [{{name: HTTP, port: 0, protocol: tcp}}]\n    secretEnv:\n      \"1BAD\": {{secret: db, key: \"a/b\"}}\nsecrets:\n  db:\n    encryptedData:\n      \"../x\": {}\n",
            web_with("      \"MY VAR\": x\n"),
            sealed_placeholder()
        ),
        "error: secret key `../x` may only hold letters, digits, `-`, `_` and `.`
  --> values/namespaces/apps.yaml:15:7
  = key: secrets.db.encryptedData.\"../x\"
  = help: secret keys are letters, digits, `-`, `_` and `.`, e.g. `tls.crt`

error: port name `HTTP` is not a port name (at most 15 lower-case letters, digits and `-`, with a letter, no `-` at either end or twice)
  --> values/namespaces/apps.yaml:9:14
  = key: workloads.web.ports[0].name
  = help: name ports like `http` or `metrics`

error: protocol `tcp` is not `TCP`, `UDP` or `SCTP`
  --> values/namespaces/apps.yaml:9:35
  = key: workloads.web.ports[0].protocol
  = help: set `protocol: TCP` (the default), `UDP` or `SCTP`

error: port `0` is not a port number
  --> values/namespaces/apps.yaml:9:26
  = key: workloads.web.ports[0].port
  = help: ports are numbers from 1 to 65535

error: environment variable name `MY VAR` is not an environment variable name (letters, digits, `_`, `-` and `.`, not starting with a digit)
  --> values/namespaces/apps.yaml:8:7
  = key: workloads.web.env.\"MY VAR\"
  = help: environment names are letters, digits, `_`, `-` and `.`, e.g. `LOG_LEVEL`

error: environment variable name `1BAD` is not an environment variable name (letters, digits, `_`, `-` and `.`, not starting with a digit)
  --> values/namespaces/apps.yaml:11:7
  = key: workloads.web.secretEnv.1BAD
  = help: environment names are letters, digits, `_`, `-` and `.`, e.g. `LOG_LEVEL`

error: secret key `a/b` may only hold letters, digits, `-`, `_` and `.`
  --> values/namespaces/apps.yaml:11:28
  = key: workloads.web.secretEnv.1BAD.key
  = help: secret keys are letters, digits, `-`, `_` and `.`, e.g. `tls.crt`

error: secret `db` has no key `a/b`
  --> values/namespaces/apps.yaml:11:28
  = key: workloads.web.secretEnv.1BAD.key
  = help: secret `db` has keys `../x`; seal a new key under `secrets.db.encryptedData` (see README, Secrets)
error: 8 problems found, nothing was written",
    );
}
