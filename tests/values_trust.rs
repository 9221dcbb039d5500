//! Issue 10, values side: no values input panics, hangs or reshapes the
//! output. Each test breaks the minimal repository one way and checks the
//! exact message (exit 2), and that `rendered/` is byte-identical afterwards.

use crate::harness::{Repo, MINIMAL_NAMESPACE};

/// Renders the minimal repository, breaks it with `change`, then checks that
/// `render` fails with exactly `expected` on stderr and leaves the tree as it was.
#[track_caller]
fn rejects(change: impl FnOnce(&Repo), expected: &str) {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    change(&repo);
    repo.kiln(&["render"]).code(2).stdout("").stderr(expected);
    assert_eq!(before, repo.snapshot(), "a failed render must leave rendered/ byte-identical");
}

/// The minimal namespace with `extra` appended to its `web` workload.
fn web_with(extra: &str) -> String {
    format!("{MINIMAL_NAMESPACE}{extra}")
}

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
