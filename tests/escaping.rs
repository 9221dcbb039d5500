//! Context-aware output: no value can add a key, list item, document or
//! shell word, whatever template writes it (issue 10, "Values change the
//! structure of the output"). The repository's own templates and partials
//! are fed hostile strings through `vars` (free-form, so no values syntax
//! check stands between the string and the template), then the output is
//! parsed or run to count keys, objects and words.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::{Repo, MINIMAL_CLUSTER};

/// The repository's own template or partial at `path` below templates/.
fn own_template(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("read {}: {error}", full.display()))
}

/// The repository's template at `path` with `set` lines right after its front
/// matter, so its variables come from `cluster.vars`.
fn own_template_over_vars(path: &str, sets: &str) -> String {
    let text = own_template(path);
    let (front, body) = text.split_once("-#}\n").expect("front matter");
    format!("{front}-#}}\n{sets}\n{body}")
}

/// The minimal repository with `vars` in values/cluster.yaml (JSON is YAML).
fn repo_with_vars(vars: Value) -> Repo {
    Repo::minimal().file("values/cluster.yaml", &format!("{MINIMAL_CLUSTER}vars: {vars}\n"))
}

/// Runs `script` with sh in `dir`, returning stdout.
fn sh(dir: &Path, script: &str) -> String {
    let output = std::process::Command::new("sh").arg("-c").arg(script).current_dir(dir).output().expect("run sh");
    assert!(output.status.success(), "sh failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

fn parse_all(text: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize as _;
    serde_yaml::Deserializer::from_str(text).map(|document| serde_yaml::Value::deserialize(document).unwrap()).collect()
}

#[test]
fn k3s_version_cannot_break_out_of_bootstrap_quotes() {
    let repo = Repo::minimal();
    let pwned = repo.path().join("pwned");
    let version = format!("v1.31.7+k3s1\"; touch {}; \"", pwned.display());
    let repo = repo_with_vars(json!({"fake": {"k3sVersion": version}})).file(
        "templates/nodes/bootstrap.yaml",
        &own_template_over_vars("nodes/bootstrap.yaml", "{%- set cluster = cluster.vars.fake %}"),
    );
    repo.kiln(&["render"]).code(0);
    let script = repo.read("rendered/nodes/n1/bootstrap.sh");
    let word = format!("'{version}'");
    let install =
        format!("  curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION={word} INSTALL_K3S_EXEC=server sh -s -");
    assert!(script.lines().any(|line| line == install), "{script}");
    assert!(script.contains(&format!("grep -qF -- {word}; then")), "{script}");
    // The script's last line, run by a real shell, prints the version as one word.
    let last = script.lines().last().unwrap();
    assert_eq!(last, format!("echo k3s {word} running on n1 as server"));
    assert_eq!(sh(repo.path(), last), format!("k3s {version} running on n1 as server\n"));
    assert!(!pwned.exists(), "the value ran a command");
}

#[test]
fn node_label_value_stays_one_word_in_node_config() {
    let repo = Repo::minimal();
    let pwned = repo.path().join("pwned");
    let value = format!("gpu;touch {}", pwned.display());
    let node = json!({"name": "n1", "labels": {"ai-system/class": value}});
    let repo = repo_with_vars(json!({"node": node})).file(
        "templates/nodes/node-config.yaml",
        &own_template_over_vars("nodes/node-config.yaml", "{%- set node = cluster.vars.node %}"),
    );
    repo.kiln(&["render"]).code(0);
    let script = repo.read("rendered/nodes/n1/node-config.sh");
    let label = script.lines().find(|line| line.starts_with("kubectl label node")).unwrap();
    // kubectl stands in as a function printing each argument it gets.
    let words = sh(repo.path(), &format!("kubectl() {{ printf '[%s]\\n' \"$@\"; }}; node=n1; {label}"));
    assert_eq!(words, format!("[label]\n[node]\n[n1]\n[ai-system/class={value}]\n[--overwrite]\n"));
    assert!(!pwned.exists(), "the value ran a command");
}

/// A workload template over the repository's `_lib/meta.tera` and
/// `_lib/pod.tera`, with the workload from `cluster.vars.workload`.
fn repo_with_workload(workload: Value) -> Repo {
    let template = "\
{% import \"_lib/meta.tera\" as meta %}
{% import \"_lib/pod.tera\" as pod %}
{%- set workload = cluster.vars.workload %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: labels
  labels: {{ meta::labels(workload=workload, cluster=cluster) | nindent(width=4) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: evil
spec:
  selector:
    matchLabels: {{ meta::selector(workload=workload) | nindent(width=6) }}
  template: {% filter indent(width=4) %}
{{ pod::template(workload=workload, namespace=namespace, cluster=cluster, waits=waits) }}{% endfilter %}
";
    repo_with_vars(json!({"workload": workload}))
        .file("templates/_lib/meta.tera", &own_template("_lib/meta.tera"))
        .file("templates/_lib/pod.tera", &own_template("_lib/pod.tera"))
        .file("templates/workloads/evil.yaml", template)
}

fn base_workload() -> Value {
    json!({
        "name": "web",
        "image": "nginx:1.27",
        "security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    })
}

#[test]
fn workload_group_with_newline_adds_no_label_key() {
    let group = "g\n    kind: Secret\n---\nkind: Secret";
    let mut workload = base_workload();
    workload["group"] = json!(group);
    let repo = repo_with_workload(workload);
    repo.kiln(&["render"]).code(0);
    let rendered = repo.read("rendered/namespaces/apps/configmap-labels.yaml");
    let objects = parse_all(&rendered);
    assert_eq!(objects.len(), 1, "{rendered}");
    let labels = objects[0]["metadata"]["labels"].as_mapping().unwrap();
    assert_eq!(labels.len(), 7, "{rendered}");
    assert_eq!(labels.get("ai-system/compose-group").and_then(|v| v.as_str()), Some(group));
    assert!(!labels.contains_key("kind"), "{rendered}");
    assert_eq!(objects[0]["kind"], "ConfigMap");
    let files: Vec<_> = repo.snapshot().into_iter().map(|(path, _)| path).collect();
    assert!(!files.iter().any(|path| path.to_string_lossy().contains("secret")), "{files:?}");
}

#[test]
fn writable_path_with_newline_adds_no_volume_mount() {
    let path = "/tmp\n        - name: evil\n          mountPath: /etc";
    let mut workload = base_workload();
    workload["writablePaths"] = json!([path]);
    let repo = repo_with_workload(workload);
    repo.kiln(&["render"]).code(0);
    let rendered = repo.read("rendered/namespaces/apps/deployment-evil.yaml");
    let deployment = &parse_all(&rendered)[0];
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let mounts = container["volumeMounts"].as_sequence().unwrap();
    assert_eq!(mounts.len(), 1, "{rendered}");
    assert_eq!(mounts[0]["mountPath"].as_str(), Some(path));
    assert_eq!(deployment["spec"]["template"]["spec"]["volumes"].as_sequence().map(Vec::len), Some(1));
}

/// A node template writing a plain YAML file (no schema: any structure
/// shows) holding the mapping `body`.
fn repo_with_yaml_file(vars: Value, body: &str) -> Repo {
    let template = format!("{{#- kiln\noutput: file\npath: out.yaml\n-#}}\n{body}");
    repo_with_vars(vars).file("templates/nodes/out.yaml", &template)
}

fn yaml_file(repo: &Repo) -> serde_yaml::Value {
    repo.kiln(&["render"]).code(0);
    let documents = parse_all(&repo.read("rendered/nodes/n1/out.yaml"));
    assert_eq!(documents.len(), 1);
    documents[0].clone()
}

#[test]
fn string_concatenation_is_escaped() {
    let value = "v\nevil: true\n---\nkind: Secret";
    let repo = repo_with_yaml_file(json!({"x": value}), "a: {{ cluster.vars.x ~ \"-suffix\" }}\n");
    let spec = yaml_file(&repo);
    assert_eq!(spec.as_mapping().map(|m| m.len()), Some(1), "{spec:?}");
    assert_eq!(spec["a"].as_str(), Some(format!("{value}-suffix").as_str()));
}

#[test]
fn array_printed_directly_is_escaped() {
    let list = json!(["x\ny: 1", "]", {"k": "\"}\n- z"}, 3, null]);
    let repo = repo_with_yaml_file(json!({"list": list}), "a: {{ cluster.vars.list }}\nb: {{ cluster.vars.list.0 }}\n");
    let spec = yaml_file(&repo);
    assert_eq!(spec.as_mapping().map(|m| m.len()), Some(2), "{spec:?}");
    assert_eq!(serde_json::to_value(&spec["a"]).unwrap(), list);
    assert_eq!(spec["b"].as_str(), Some("x\ny: 1"));
}

#[test]
fn shell_value_with_a_newline_is_a_render_error() {
    let repo = repo_with_vars(json!({"x": "ok\nrm -rf /"}))
        .file("templates/nodes/run.sh", "{#- kiln\noutput: file\npath: run.sh\n-#}\necho {{ cluster.vars.x }}\n");
    repo.kiln(&["render"]).code(2).stdout("").stderr(
        "error: template `templates/nodes/run.sh` failed while rendering node n1
  --> templates/nodes/run.sh
  = cause: Failed to render 'nodes/run.sh'
  = cause: the value \"ok\\nrm -rf /\" contains the control character U+000A, which no shell word can hold safely (a newline would start a command)",
    );
    assert!(!repo.exists("rendered"));
}

/// Renders the minimal repository, adds `path` with `text`, and checks that
/// `render` fails at load with exactly `expected`, leaving rendered/ as it was.
#[track_caller]
fn refused_at_load(files: &[(&str, &str)], expected: &str) {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    for (path, text) in files {
        repo.write(path, text.as_bytes());
    }
    for args in [&["render"][..], &["render", "--diff"]] {
        let run = repo.kiln(args);
        run.code(2).stdout("").stderr(expected);
    }
    assert_eq!(before, repo.snapshot(), "a refused template must leave rendered/ byte-identical");
}

#[test]
fn interpolation_inside_a_yaml_string_is_refused() {
    refused_at_load(
        &[("templates/workloads/x.yaml", "kind: ConfigMap\ndata:\n  url: \"http://{{ workload.name }}/\"\n")],
        "error: `{{ workload.name }}` is inside a quoted string; kiln writes each value as a whole, quoted YAML scalar
  --> templates/workloads/x.yaml:3:16
  = help: remove the quotes around it, or build the whole string in one expression (`{{ \"text \" ~ workload.name }}`); for a name inside a string use `| ident` (`{{ workload.name | ident }}`), inside JSON drop the quotes or use `| to_json`",
    );
}

#[test]
fn interpolation_inside_a_block_scalar_is_refused() {
    refused_at_load(
        &[("templates/workloads/x.yaml", "kind: ConfigMap\ndata:\n  query: |\n    up{job=\"{{ workload.name }}\"}\n")],
        "error: `{{ workload.name }}` is inside a YAML block scalar (`|` or `>`), where kiln's quoted value would be taken literally
  --> templates/workloads/x.yaml:4:13
  = help: for a name inside a string use `| ident` (`{{ workload.name | ident }}`), or build the whole text in one expression",
    );
}

#[test]
fn interpolation_glued_to_yaml_text_is_refused() {
    refused_at_load(
        &[("templates/workloads/x.yaml", "kind: ConfigMap\nmetadata:\n  name: {{ workload.name }}-extra\n")],
        "error: `{{ workload.name }}` is part of the longer YAML scalar `{{ workload.name }}-extra`; kiln writes each value as a whole, quoted scalar
  --> templates/workloads/x.yaml:3:9
  = help: build the whole scalar in one expression: `{{ workload.name ~ \"-extra\" }}` (set a variable first if a value has filters); for a number inside text use `| int`, for a name `| ident`",
    );
}

#[test]
fn interpolation_inside_shell_quotes_or_a_heredoc_is_refused() {
    let script =
        "{#- kiln\noutput: file\npath: x.sh\n-#}\necho \"node {{ node.name }}\"\ncat <<EOF\n{{ node.name }}\nEOF\n";
    refused_at_load(
        &[("templates/nodes/x.sh", script)],
        "error: `{{ node.name }}` is inside a quoted shell string; kiln writes each value as one quoted shell word
  --> templates/nodes/x.sh:5:12
  = help: remove the quotes around it: kiln quotes the value itself (`echo {{ node.name }}`, `--flag={{ node.name }}`); for a name inside a string use `| ident`

error: `{{ node.name }}` is inside a shell here-document, where kiln's quoting would be taken literally
  --> templates/nodes/x.sh:7:1
  = help: write the line with `printf '%s\\n' {{ node.name }}` instead; for a name inside a string use `| ident`
error: 2 problems found, nothing was written",
    );
}

#[test]
fn a_partial_is_checked_for_the_kind_of_its_user() {
    // The same macro is fine in YAML (a whole scalar) and wrong in a shell string.
    refused_at_load(
        &[
            ("templates/_lib/say.tera", "{% macro say(x) %}echo \"{{ x }}\"{% endmacro say %}\n"),
            ("templates/nodes/x.sh", "{#- kiln\noutput: file\npath: x.sh\n-#}\n{% import \"_lib/say.tera\" as s %}{{ s::say(x=node.name) }}\n"),
        ],
        "error: `{{ x }}` is inside a quoted shell string; kiln writes each value as one quoted shell word
  --> templates/_lib/say.tera:1:25
  = help: remove the quotes around it: kiln quotes the value itself (`echo {{ x }}`, `--flag={{ x }}`); for a name inside a string use `| ident`",
    );
}

#[test]
fn plain_file_without_a_known_extension_must_declare_its_escaping() {
    refused_at_load(
        &[("templates/nodes/x.yaml", "{#- kiln\noutput: file\npath: etc/x.conf\n-#}\na={{ node.name }}\n")],
        "error: invalid front matter: kiln cannot tell how to escape values in `etc/x.conf`
  --> templates/nodes/x.yaml
  = help: declare `escape: yaml`, `escape: shell` or `escape: line` (line-oriented config: values may hold no control character); .yaml, .yml, .json and .sh files need none",
    );
}

#[test]
fn macro_that_calls_itself_is_refused_naming_the_chain() {
    refused_at_load(
        &[
            ("templates/_lib/a.tera", "{% macro loop(n) %}{{ self::loop(n=n) }}{% endmacro loop %}\n"),
            ("templates/workloads/x.yaml", "{% import \"_lib/a.tera\" as a %}{{ a::loop(n=1) }}\n"),
        ],
        "error: template recursion: templates/_lib/a.tera::loop → templates/_lib/a.tera::loop
  --> templates/_lib/a.tera::loop
  = help: a template may not include or extend itself, nor a macro call itself, directly or through others: rendering would never end; write the repetition as a `{% for %}` loop",
    );
}

#[test]
fn macros_that_call_each_other_are_refused_naming_the_chain() {
    refused_at_load(
        &[
            ("templates/_lib/a.tera", "{% import \"_lib/b.tera\" as b %}{% macro ping() %}{{ b::pong() }}{% endmacro ping %}\n"),
            ("templates/_lib/b.tera", "{% import \"_lib/a.tera\" as a %}{% macro pong() %}{{ a::ping() }}{% endmacro pong %}\n"),
        ],
        "error: template recursion: templates/_lib/a.tera::ping → templates/_lib/b.tera::pong → templates/_lib/a.tera::ping
  --> templates/_lib/a.tera::ping
  = help: a template may not include or extend itself, nor a macro call itself, directly or through others: rendering would never end; write the repetition as a `{% for %}` loop",
    );
}

#[test]
fn partial_that_includes_itself_is_refused_naming_the_chain() {
    refused_at_load(
        &[
            ("templates/_lib/a.tera", "{% include \"_lib/b.tera\" %}\n"),
            ("templates/_lib/b.tera", "{% include \"_lib/a.tera\" %}\n"),
            ("templates/workloads/x.yaml", "{% include \"_lib/a.tera\" %}\n"),
        ],
        "error: template recursion: templates/_lib/a.tera → templates/_lib/b.tera → templates/_lib/a.tera
  --> templates/_lib/a.tera
  = help: a template may not include or extend itself, nor a macro call itself, directly or through others: rendering would never end; write the repetition as a `{% for %}` loop",
    );
}

#[test]
fn partials_that_extend_each_other_are_refused_naming_the_chain() {
    // Tera's own check would only run after linking, which overflowed the stack one run in three.
    for _ in 0..5 {
        refused_at_load(
            &[
                ("templates/_lib/a.tera", "{% extends \"_lib/b.tera\" %}\n"),
                ("templates/_lib/b.tera", "{% extends \"_lib/a.tera\" %}\n"),
            ],
            "error: template recursion: templates/_lib/a.tera → templates/_lib/b.tera → templates/_lib/a.tera
  --> templates/_lib/a.tera
  = help: a template may not include or extend itself, nor a macro call itself, directly or through others: rendering would never end; write the repetition as a `{% for %}` loop",
        );
    }
}

#[test]
fn unsafe_declared_path_or_dir_is_refused() {
    let help = "`{key}` is a relative path below rendered/nodes/<node>/: components of letters, digits, `.`, `_` and `-`, separated by single `/`";
    for (key, value, problem) in [
        ("path", "/etc/passwd", "is absolute"),
        ("path", "bin/../../x.sh", "has a `..` component"),
        ("path", "bin//x.sh", "has an empty component (`//` or a trailing `/`)"),
        ("path", "bin/x y.sh", "has the character ' ' in `x y.sh`"),
        ("dir", "../manifests", "has a `..` component"),
        ("dir", "manifests/", "has an empty component (`//` or a trailing `/`)"),
    ] {
        let front = if key == "path" { format!("output: file\npath: {value}") } else { format!("dir: {value}") };
        let template = format!("{{#- kiln\n{front}\n-#}}\n");
        refused_at_load(
            &[("templates/nodes/x.sh", &template)],
            &format!(
                "error: invalid front matter: `{key}: {value}` {problem}\n  --> templates/nodes/x.sh\n  = help: {}",
                help.replace("{key}", key)
            ),
        );
    }
}
