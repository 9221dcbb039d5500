//! Every kind of bad input: exit 2, an exact message naming the file,
//! line/column and key path with what to do, nothing on stdout, and
//! `rendered/` byte-identical afterwards.

use crate::harness::{rejects, web_with, Repo, MINIMAL_NAMESPACE};

#[test]
fn malformed_yaml_names_position_and_open_construct() {
    rejects(
        |repo| repo.write("values/cluster.yaml", b"name: demo\nkubernetesVersion: [\"1.31\"\n"),
        "error: invalid YAML: did not find expected ',' or ']', while parsing a flow sequence at line 2 column 20
  --> values/cluster.yaml:3:1",
    );
}

#[test]
fn tab_indentation_says_to_use_spaces() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: apps\nworkloads:\n\tweb: {}\n"),
        "error: invalid YAML: found character that cannot start any token, while scanning for the next token
  --> values/namespaces/apps.yaml:3:1
  = help: YAML indentation must use spaces, not tabs",
    );
}

#[test]
fn second_yaml_document_in_values_file() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\n---\nname: n2\n"),
        "error: invalid YAML: deserializing from YAML containing more than one document is not supported
  --> values/nodes/n1.yaml:1:1
  = help: a values file holds one YAML document; remove the `---` separator and merge the documents",
    );
}

#[test]
fn wrong_type_names_expected_type() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("    replicas: many\n").as_bytes()),
        "error: wrong type: found string \"many\", expected a whole number from 0 to 4294967295
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.replicas",
    );
}

#[test]
fn unquoted_boolean_where_text_is_expected_suggests_quoting() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\nlabels:\n  gpu: true\n"),
        "error: wrong type: found boolean `true`, expected a string
  --> values/nodes/n1.yaml:4:3
  = key: labels.gpu
  = help: quote it to make it text: `\"true\"`",
    );
}

#[test]
fn list_where_mapping_is_expected() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\nlabels: [gpu]\n"),
        "error: wrong type: found a list, expected a mapping
  --> values/nodes/n1.yaml:3:1
  = key: labels",
    );
}

#[test]
fn values_file_that_is_not_a_mapping() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"- n1\n- server\n"),
        "error: expected a mapping, found a list
  --> values/nodes/n1.yaml:1:1",
    );
}

#[test]
fn unknown_enum_value_lists_the_choices() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: servr\n"),
        "error: unknown value `servr`; expected one of `server`, `agent`
  --> values/nodes/n1.yaml:2:1
  = key: role
  = help: did you mean `server`?",
    );
}

#[test]
fn invalid_quantity() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\ncapacity:\n  memory: 16GB\n"),
        "error: `16GB` is not a Kubernetes quantity (examples: `500m`, `2`, `512Mi`, `16Gi`)
  --> values/nodes/n1.yaml:4:3
  = key: capacity.memory",
    );
}

#[test]
fn unknown_key_suggests_the_known_one() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("    replcas: 2\n").as_bytes()),
        "error: unknown key `replcas`
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.replcas
  = help: did you mean `replicas`?",
    );
}

#[test]
fn unknown_key_in_cluster_defaults_is_reported_where_written() {
    rejects(
        |repo| {
            let cluster =
                crate::harness::MINIMAL_CLUSTER.replace("replicas: 1", "replicas: 1\n    imagePullPolicey: Always");
            repo.write("values/cluster.yaml", cluster.as_bytes());
        },
        "error: unknown key `imagePullPolicey`
  --> values/cluster.yaml:9:5
  = key: defaults.workload.imagePullPolicey
  = help: did you mean `imagePullPolicy`?",
    );
}

#[test]
fn unknown_node_reference() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("    node: n2\n").as_bytes()),
        "error: workload is pinned to undeclared node `n2`
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.node
  = help: did you mean `n1`?",
    );
}

#[test]
fn unknown_node_reference_without_close_match_lists_nodes() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("    node: mainpc\n").as_bytes()),
        "error: workload is pinned to undeclared node `mainpc`
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.node
  = help: declared nodes: `n1`",
    );
}

#[test]
fn unknown_secret_reference_points_at_the_secret_key() {
    rejects(
        |repo| {
            let values = web_with("    secretEnv:\n      DB_PASSWORD:\n        secret: db\n        key: password\n");
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: reference to undeclared secret `db`
  --> values/namespaces/apps.yaml:10:9
  = key: workloads.web.secretEnv.DB_PASSWORD.secret
  = help: declare it under `secrets:` in this namespace file",
    );
}

#[test]
fn unknown_namespace_in_network_policy() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: apps\nnetworkPolicy:\n  ingressFrom: [monitoring]\n"),
        "error: network policy names undeclared namespace `monitoring`
  --> values/namespaces/apps.yaml:3:17
  = key: networkPolicy.ingressFrom[0]
  = help: declared and system namespaces: `apps`, `default`, `kube-node-lease`, `kube-public`, `kube-system`",
    );
}

#[test]
fn misspelled_namespace_in_network_policy_suggests_it() {
    rejects(
        |repo| {
            repo.write("values/namespaces/apps.yaml", b"name: apps\nnetworkPolicy:\n  egressTo:\n    - kube-sytem\n")
        },
        "error: network policy names undeclared namespace `kube-sytem`
  --> values/namespaces/apps.yaml:4:7
  = key: networkPolicy.egressTo[0]
  = help: declared and system namespaces: `apps`, `default`, `kube-node-lease`, `kube-public`, `kube-system`",
    );
}

#[test]
fn node_selector_label_no_node_has() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: apps\nnodeSelector:\n  gpu: \"false\"\n"),
        "error: no declared node has label `gpu=false`
  --> values/namespaces/apps.yaml:3:3
  = key: nodeSelector.gpu
  = help: add the label to a node file or fix the selector",
    );
}

#[test]
fn workload_node_selector_label_no_node_has() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("    nodeSelector:\n      disk: ssd\n").as_bytes()),
        "error: no declared node has label `disk=ssd`
  --> values/namespaces/apps.yaml:9:7
  = key: workloads.web.nodeSelector.disk
  = help: add the label to a node file or fix the selector",
    );
}

#[test]
fn duplicate_workload_key_points_at_the_second_one() {
    rejects(
        |repo| {
            let values = format!("{MINIMAL_NAMESPACE}  web:\n    kind: Job\n    image: busybox\n");
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: invalid YAML: key `web` appears twice in the same mapping
  --> values/namespaces/apps.yaml:8:3
  = key: workloads.web
  = help: a key may appear once per mapping; merge the two entries or rename one",
    );
}

#[test]
fn duplicate_top_level_key() {
    rejects(
        |repo| repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\nrole: agent\n"),
        "error: invalid YAML: key `role` appears twice in the same mapping
  --> values/nodes/n1.yaml:3:1
  = key: role
  = help: a key may appear once per mapping; merge the two entries or rename one",
    );
}

#[test]
fn two_objects_with_the_same_identity() {
    rejects(
        |repo| {
            let template =
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ workload.name ~ \"-env\" }}\ndata: {}\n";
            repo.write("templates/workloads/extra.yaml", template.as_bytes());
        },
        "error: object ConfigMap apps/web-env is produced twice
  --> templates/workloads/deployment.yaml (rendering workload apps/web, document 1)
  = produced again by: templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: rename one of them or render it from one template only",
    );
}

#[test]
fn same_name_in_another_api_group_is_a_different_object() {
    let repo = Repo::minimal().file(
        "templates/workloads/extra.yaml",
        "apiVersion: example.com/v1\nkind: ConfigMap\nmetadata:\n  name: {{ workload.name ~ \"-env\" }}\n",
    );
    // Different identity (group) but the same output path: still refused, by path.
    repo.kiln(&["render"]).code(2).stderr(
        "error: output file `rendered/namespaces/apps/configmap-web-env.yaml` is produced twice
  --> templates/workloads/deployment.yaml (rendering workload apps/web, document 1)
  = produced again by: templates/workloads/extra.yaml (rendering workload apps/web, document 1)
  = help: rename one of them or render it from one template only",
    );
    assert!(!repo.exists("rendered"), "nothing may be written");
}

#[test]
fn two_files_with_the_same_path() {
    rejects(
        |repo| {
            let file = "{#- kiln\noutput: file\npath: config.yaml\n-#}\nnode: {{ node.name }}\n";
            repo.write("templates/nodes/a.yaml", file.as_bytes());
            repo.write("templates/nodes/b.yaml", file.as_bytes());
        },
        "error: output file `rendered/nodes/n1/config.yaml` is produced twice
  --> templates/nodes/a.yaml (rendering node n1)
  = produced again by: templates/nodes/b.yaml (rendering node n1)
  = help: rename one of them or render it from one template only",
    );
}

#[test]
fn two_nodes_declaring_the_same_name() {
    rejects(
        |repo| repo.write("values/nodes/n2.yaml", b"name: n1\nrole: agent\n"),
        "error: node is named `n1` but its file is `n2.yaml`
  --> values/nodes/n2.yaml:1:1
  = key: name
  = help: rename the file to `n1.yaml` or set `name: n2`",
    );
}

#[test]
fn non_utf8_values_file() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: apps\nvars:\n  motd: caf\xe9\n"),
        "error: file is not valid UTF-8
  --> values/namespaces/apps.yaml:3:12
  = help: save the file as UTF-8",
    );
}

#[test]
fn non_utf8_template() {
    rejects(
        |repo| repo.write("templates/workloads/deployment.yaml", b"# caf\xe9\n"),
        "error: file is not valid UTF-8
  --> templates/workloads/deployment.yaml:1:6
  = help: save the file as UTF-8",
    );
}

#[test]
fn empty_values_file() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b""),
        "error: values file `values/namespaces/apps.yaml` is empty
  = help: declare its keys or delete the file",
    );
}

#[test]
fn comment_only_values_file_is_empty() {
    rejects(
        |repo| repo.write("values/cluster.yaml", b"# nothing yet\n"),
        "error: values file `values/cluster.yaml` is empty
  = help: declare its keys or delete the file",
    );
}

#[test]
fn missing_cluster_values_file() {
    rejects(
        |repo| repo.remove("values/cluster.yaml"),
        "error: missing values file `values/cluster.yaml`
  --> values/cluster.yaml:1:1
  = help: every repository declares its cluster-wide settings there",
    );
}

#[test]
fn values_file_kiln_does_not_read() {
    rejects(
        |repo| repo.write("values/namespaces/apps/extra.yaml", b"name: extra\n"),
        "error: kiln does not read this file
  --> values/namespaces/apps/extra.yaml:1:1
  = help: values are `values/cluster.yaml`, `values/nodes/<node>.yaml` and `values/namespaces/<namespace>.yaml`; move or remove it",
    );
}

// Without `values/` or `templates/` the directory is no kiln repository, and
// the walk up stops at the top of the git repository.
#[test]
fn missing_values_dir() {
    rejects(
        |repo| {
            repo.write(".git/HEAD", b"ref: refs/heads/main\n");
            std::fs::remove_dir_all(repo.path().join("values")).unwrap();
        },
        "error: no kiln repository in `<repo>` or its parent directories
  = note: kiln looked for `values/` and `templates/` in `<repo>` only, the top of its git repository
  = note: `<repo>` has `templates/` but no `values/`
  = help: run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)",
    );
}

#[test]
fn missing_templates_dir() {
    rejects(
        |repo| {
            repo.write(".git/HEAD", b"ref: refs/heads/main\n");
            std::fs::remove_dir_all(repo.path().join("templates")).unwrap();
        },
        "error: no kiln repository in `<repo>` or its parent directories
  = note: kiln looked for `values/` and `templates/` in `<repo>` only, the top of its git repository
  = note: `<repo>` has `values/` but no `templates/`
  = help: run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)",
    );
}

#[test]
fn missing_required_cluster_keys_are_all_reported() {
    rejects(
        |repo| repo.write("values/cluster.yaml", b"name: demo\n"),
        "error: missing required key `kubernetesVersion` in the cluster values
  --> values/cluster.yaml:1:1
  = key: kubernetesVersion
  = help: add it, e.g. `kubernetesVersion: \"1.31\"`

error: missing required key `git` in the cluster values
  --> values/cluster.yaml:1:1
  = key: git
  = help: add it, e.g. `git: {repoURL: <url>, revision: main}`
error: 2 problems found, nothing was written",
    );
}

#[test]
fn missing_required_workload_key() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: apps\nworkloads:\n  web:\n    kind: Deployment\n"),
        "error: missing required key `image`
  --> values/namespaces/apps.yaml:3:3
  = key: workloads.web.image
  = help: set `image:` on the workload or in `defaults.workload`",
    );
}

#[test]
fn template_that_does_not_parse() {
    rejects(
        |repo| repo.write("templates/workloads/extra.yaml", b"a: 1\nb: {{ workload.name \n"),
        "error: template `templates/workloads/extra.yaml` does not parse
  --> templates/workloads/extra.yaml:3
  = cause: Failed to parse 'workloads/extra.yaml'
  = cause: --> 3:1
      |
    3 | 
      | ^---
      |
      = expected `or`, `and`, `not`, `<=`, `>=`, `<`, `>`, `==`, `!=`, `+`, `-`, `*`, `/`, `%`, a filter, or a variable end (`}}`)",
    );
}

#[test]
fn template_referencing_a_missing_value() {
    rejects(
        |repo| repo.write("templates/workloads/extra.yaml", b"# comment\nport: {{ workload.port }}\n"),
        "error: template `templates/workloads/extra.yaml` failed while rendering workload apps/web
  --> templates/workloads/extra.yaml:2
  = cause: Failed to render 'workloads/extra.yaml'
  = cause: Variable `workload.port` not found in context while rendering 'workloads/extra.yaml'
  = help: `workload.port` is not set for workload apps/web: set it in values, or write `workload.port | default(value=...)` or `{% if workload.port is defined %}` in the template",
    );
}

#[test]
fn template_with_an_unknown_filter() {
    rejects(
        |repo| repo.write("templates/workloads/extra.yaml", b"a: {{ workload.name | toYaml }}\n"),
        "error: unknown filter `toYaml`
  --> templates/workloads/extra.yaml:1:23
  = help: did you mean `to_yaml`? filters: abs, addslashes, as_str, b64decode, b64encode, capitalize, concat, default, \
escape, escape_xml, filter, first, float, from_yaml, get, group_by, ident, indent, int, join, json_encode, last, length, \
linebreaksbr, lower, map, merge, nindent, nth, pluralize, quote, replace, required, reverse, round, safe, sha256, slice, \
sort, spaceless, split, striptags, title, to_json, to_yaml, trim, trim_end, trim_end_matches, trim_start, \
trim_start_matches, truncate, unique, upper, wordcount",
    );
}

#[test]
fn template_including_a_missing_partial() {
    rejects(
        |repo| repo.write("templates/workloads/extra.yaml", b"a: 1\n{% include \"_parts/labels.yaml\" %}\n"),
        "error: template `templates/workloads/extra.yaml` failed while rendering workload apps/web
  --> templates/workloads/extra.yaml:2
  = cause: Failed to render 'workloads/extra.yaml'
  = cause: Template '[_parts/labels.yaml]' not found
  = help: include partials by their path below templates/, e.g. `{% include \"_parts/labels.yaml\" %}` for templates/_parts/labels.yaml",
    );
}

#[test]
fn required_filter_failing() {
    rejects(
        |repo| {
            repo.write("values/namespaces/apps.yaml", web_with("    vars:\n      owner: \"\"\n").as_bytes());
            let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owner\ndata:\n  owner: {{ workload.vars.owner | required(path=\"workload.vars.owner\") }}\n";
            repo.write("templates/workloads/extra.yaml", template.as_bytes());
        },
        "error: template `templates/workloads/extra.yaml` failed while rendering workload apps/web
  --> templates/workloads/extra.yaml:6
  = cause: Failed to render 'workloads/extra.yaml'
  = cause: Filter call 'required' failed
  = cause: required value `workload.vars.owner` is missing or empty; set it in values",
    );
}

#[test]
fn template_output_that_is_not_yaml() {
    rejects(
        |repo| {
            let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: 1\n b: {{ workload.name }}\n";
            repo.write("templates/workloads/extra.yaml", template.as_bytes());
        },
        "error: template output is not valid YAML: did not find expected key
  --> templates/workloads/extra.yaml (rendering workload apps/web)
  = help: output line 7, column 2: ` b: \"web\"`; check the indentation of the expression that produced it (`nindent`/`to_yaml` help)",
    );
}

#[test]
fn template_output_that_is_not_an_object() {
    rejects(
        |repo| repo.write("templates/workloads/extra.yaml", b"name: {{ workload.name }}\n"),
        "error: document 1: has no string `apiVersion`
  --> templates/workloads/extra.yaml (rendering workload apps/web)
  = help: every document a template outputs must be a Kubernetes object with apiVersion, kind and metadata.name",
    );
}

#[test]
fn object_name_that_is_not_path_safe() {
    rejects(
        |repo| {
            let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ \"../../\" ~ workload.name }}\n";
            repo.write("templates/workloads/extra.yaml", template.as_bytes());
        },
        "error: document 1: ConfigMap name `../../web` is not a valid, path-safe object name
  --> templates/workloads/extra.yaml (rendering workload apps/web)
  = help: Kubernetes names use lower-case letters, digits, `-` and `.`",
    );
}

#[test]
fn plain_file_path_that_escapes_the_node_dir() {
    rejects(
        |repo| repo.write("templates/nodes/x.sh", b"{#- kiln\noutput: file\npath: ../../etc/passwd\n-#}\nroot\n"),
        "error: invalid front matter: `path: ../../etc/passwd` has a `..` component
  --> templates/nodes/x.sh
  = help: `path` is a relative path below rendered/nodes/<node>/: components of letters, digits, `.`, `_` and `-`, separated by single `/`",
    );
}

#[test]
fn invalid_front_matter_points_at_the_line() {
    rejects(
        |repo| repo.write("templates/nodes/x.yaml", b"{#- kiln\noutput: files\n-#}\n"),
        "error: invalid front matter: output: unknown variant `files`, expected `objects` or `file`
  --> templates/nodes/x.yaml:2:9
  = help: front matter keys are `output` (objects or file), `path`, `dir` and `escape` (yaml, shell or line)",
    );
}

#[test]
fn plain_file_outside_node_scope() {
    rejects(
        |repo| repo.write("templates/cluster/x.sh", b"{#- kiln\noutput: file\npath: x.sh\n-#}\necho\n"),
        "error: invalid front matter: plain files and `dir` are only allowed in node templates, so Argo CD never syncs a non-Kubernetes file
  --> templates/cluster/x.sh",
    );
}

#[test]
fn template_outside_a_scope_directory() {
    rejects(
        |repo| repo.write("templates/deployment.yaml", b"a: 1\n"),
        "error: template is not in a scope directory
  --> templates/deployment.yaml
  = help: put it under templates/cluster/, nodes/, namespaces/ or workloads/, or prefix it with `_` to make it a partial",
    );
}

#[test]
fn namespaced_object_from_a_node_template_needs_a_namespace() {
    rejects(
        |repo| repo.write("templates/nodes/x.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
        "error: document 1: ConfigMap `x` has no metadata.namespace
  --> templates/nodes/x.yaml (rendering node n1)
  = help: every document a template outputs must be a Kubernetes object with apiVersion, kind and metadata.name",
    );
}

#[test]
fn file_name_and_declared_namespace_name_differ() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: web-apps\n"),
        "error: namespace is named `web-apps` but its file is `apps.yaml`
  --> values/namespaces/apps.yaml:1:1
  = key: name
  = help: rename the file to `web-apps.yaml` or set `name: apps`",
    );
}

#[test]
fn name_that_is_not_a_dns_label() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: Apps\n"),
        "error: namespace name `Apps` may only contain lower-case letters, digits and `-`
  --> values/namespaces/apps.yaml:1:1
  = key: name
  = help: names must be DNS-1123 labels, e.g. `ai-system-gpu`",
    );
}

#[test]
fn plaintext_secret_value() {
    rejects(
        |repo| {
            let values = "name: apps\nsecrets:\n  db:\n    encryptedData:\n      password: hunter2\n";
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: secret value `password` is not SealedSecret ciphertext: it is not base64
  --> values/namespaces/apps.yaml:5:7
  = key: secrets.db.encryptedData.password
  = help: never commit plaintext: seal it with `kiln seal --namespace <ns> --name <secret> --key <key>` (see README, Secrets)",
    );
}

#[test]
fn secret_looking_env_key() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", web_with("      API_TOKEN: abc123\n").as_bytes()),
        "error: `API_TOKEN` looks like a secret but is plain environment
  --> values/namespaces/apps.yaml:8:7
  = key: workloads.web.env.API_TOKEN
  = help: seal it into a namespace secret and reference it under `secretEnv:`",
    );
}

#[test]
fn pod_security_below_restricted_needs_a_reason() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", b"name: apps\npodSecurity:\n  level: privileged\n"),
        "error: a pod-security level below `restricted` needs a written `reason`
  --> values/namespaces/apps.yaml:2:1
  = key: podSecurity.reason
  = help: add `reason:` under `podSecurity:` saying which workload needs the weaker level and why",
    );
}

#[test]
fn independent_problems_are_reported_together() {
    rejects(
        |repo| {
            repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\nlabels: {gpu: \"true\"}\nrol: agent\n");
            repo.write("values/namespaces/apps.yaml", web_with("    replcas: 2\n").as_bytes());
        },
        "error: unknown key `rol`
  --> values/nodes/n1.yaml:4:1
  = key: rol
  = help: did you mean `role`?

error: unknown key `replcas`
  --> values/namespaces/apps.yaml:8:5
  = key: workloads.web.replcas
  = help: did you mean `replicas`?
error: 2 problems found, nothing was written",
    );
}

#[test]
fn root_that_is_not_a_directory() {
    let repo = Repo::minimal();
    let missing = repo.path().join("nope");
    let mut command = repo.command();
    command.arg("-C").arg(&missing).arg("render");
    repo.run(&mut command).code(2).stdout("").stderr("error: `<repo>/nope` is not a directory (given with -C)");
}
