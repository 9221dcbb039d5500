//! Template errors that point at what to fix (issue 11, "template-side checks
//! that point at values"): `fail()` lands on the values line, a misspelt
//! filter or context name is named as such, and a template whose output is
//! not YAML is reported once.

use crate::harness::{rejects, web_with};

#[test]
fn misspelt_filter_on_an_unset_value_is_named_as_a_filter() {
    rejects(
        |repo| repo.write("templates/workloads/extra.yaml", b"x: {{ workload.nothing | defualt(value=1) }}\n"),
        "error: unknown filter `defualt`
  --> templates/workloads/extra.yaml:1:26
  = help: did you mean `default`? filters: abs, addslashes, as_str, b64decode, b64encode, capitalize, concat, default, \
escape, escape_xml, filter, first, float, from_yaml, get, group_by, ident, indent, int, join, json_encode, last, length, \
linebreaksbr, lower, map, merge, nindent, nth, pluralize, quote, replace, required, reverse, round, safe, sha256, slice, \
sort, spaceless, split, striptags, title, to_json, to_yaml, trim, trim_end, trim_end_matches, trim_start, \
trim_start_matches, truncate, unique, upper, wordcount",
    );
}

#[test]
fn misspelt_context_name_gets_did_you_mean() {
    rejects(
        |repo| {
            repo.write(
                "templates/workloads/extra.yaml",
                b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ namspace.name }}\n",
            )
        },
        "error: template `templates/workloads/extra.yaml` failed while rendering workload apps/web
  --> templates/workloads/extra.yaml:4
  = cause: Failed to render 'workloads/extra.yaml'
  = cause: Variable `namspace.name` not found in context while rendering 'workloads/extra.yaml'
  = help: did you mean `namespace`? `namspace` is not a name kiln sets for workload apps/web: templates there see \
`cluster`, `nodes`, `namespace_names`, `namespace`, `workload`, `clients`, `waits` (and variables they set themselves)",
    );
}

#[test]
fn fail_points_at_the_values_line_of_its_key() {
    rejects(
        |repo| {
            repo.write(
                "templates/workloads/extra.yaml",
                b"{%- if workload.image is ending_with(\"1.27\") %}{{ fail(key=\"image\", message=\"nginx 1.27 is not allowed here\") }}{% endif %}\n",
            )
        },
        "error: nginx 1.27 is not allowed here
  --> values/namespaces/apps.yaml:5:5
  = key: workloads.web.image
  = help: checked by templates/workloads/extra.yaml while rendering workload apps/web",
    );
}

#[test]
fn invalid_yaml_from_a_template_is_reported_once() {
    let two_workloads = web_with("  api:\n    kind: Deployment\n    image: nginx:1.27\n    env: {MODE: prod}\n");
    rejects(
        |repo| {
            repo.write("values/namespaces/apps.yaml", two_workloads.as_bytes());
            repo.write("templates/workloads/extra.yaml", b"a: b: c\n");
        },
        "error: template output is not valid YAML: mapping values are not allowed in this context (and 1 other scope)
  --> templates/workloads/extra.yaml (rendering workload apps/api)
  = help: output line 1, column 5: `a: b: c`; check the indentation of the expression that produced it (`nindent`/`to_yaml` help)",
    );
}
