//! The command line itself: `explain`, `completions`, `--help`, `--version`
//! and usage errors (exit 2).

use crate::harness::{Repo, MINIMAL_NAMESPACE};

#[test]
fn explain_workload_shows_each_value_and_where_it_was_set() {
    Repo::minimal().kiln(&["explain", "workload", "apps/web"]).code(0).stderr("").stdout(
        r#"replicas = 1    # values/cluster.yaml:8:5
kind = "Deployment"    # values/namespaces/apps.yaml:4:5
image = "nginx:1.27"    # values/namespaces/apps.yaml:5:5
env.MODE = "prod"    # values/namespaces/apps.yaml:7:7"#,
    );
}

#[test]
fn explain_other_scopes() {
    let repo = Repo::minimal();
    repo.kiln(&["explain", "node", "n1"]).code(0).stdout(
        r#"name = "n1"    # values/nodes/n1.yaml:1:1
role = "server"    # values/nodes/n1.yaml:2:1
labels.gpu = "true"    # values/nodes/n1.yaml:4:3
capacity.cpu = "4"    # values/nodes/n1.yaml:6:3
capacity.memory = "8Gi"    # values/nodes/n1.yaml:7:3"#,
    );
    let run = repo.kiln(&["explain", "cluster"]);
    run.code(0);
    assert!(run.stdout.starts_with("name = \"demo\"    # values/cluster.yaml:1:1\n"), "{}", run.stdout);
    // Workloads are scopes of their own: the namespace view lists only the namespace's keys.
    let run = repo.kiln(&["explain", "namespace", "apps"]);
    run.code(0);
    assert!(run.stdout.starts_with("name = \"apps\"    # values/namespaces/apps.yaml:1:1\n"), "{}", run.stdout);
    assert!(!run.stdout.contains("workloads."), "{}", run.stdout);
    let run = repo.kiln(&["explain", "workload", "apps/web"]);
    run.code(0);
    assert!(run.stdout.contains("image = \"nginx:1.27\"    # values/namespaces/apps.yaml:5:5"), "{}", run.stdout);
}

#[test]
fn explain_unknown_names_and_scopes() {
    let repo = Repo::minimal();
    repo.kiln(&["explain", "node", "n9"]).code(2).stdout("").stderr("error: no node `n9`; declared: n1");
    repo.kiln(&["explain", "namespace", "web"]).code(2).stderr("error: no namespace `web`; declared: apps");
    repo.kiln(&["explain", "workload", "apps/api"]).code(2).stderr("error: no workload `apps/api`; declared: apps/web");
    repo.kiln(&["explain", "workload", "web"]).code(2).stderr("error: name a workload as `<namespace>/<workload>`");
    repo.kiln(&["explain", "pod", "x"])
        .code(2)
        .stderr("error: explain takes `cluster`, `node <name>`, `namespace <name>` or `workload <namespace>/<name>`");
}

#[test]
fn explain_reports_bad_values_like_render() {
    let repo = Repo::minimal().file("values/nodes/n1.yaml", "name: n1\nrole: server\nrol: agent\n");
    repo.kiln(&["explain", "cluster"]).code(2).stderr(
        "error: unknown key `rol`
  --> values/nodes/n1.yaml:3:1
  = key: rol
  = help: did you mean `role`?",
    );
}

#[test]
fn bash_completions() {
    let run = Repo::new().kiln(&["completions", "bash"]);
    run.code(0).stderr("");
    assert!(run.stdout.starts_with("_kiln() {\n"), "{}", run.stdout);
    for word in ["render", "verify", "explain", "completions", "--diff", "--stat", "--format"] {
        assert!(run.stdout.contains(word), "completions lack {word}");
    }
    assert!(run.stdout.contains("complete -F _kiln"), "{}", run.stdout);
}

#[test]
fn completions_for_an_unknown_shell() {
    let run = Repo::new().kiln(&["completions", "tcsh"]);
    run.code(2);
    assert!(run.stderr.starts_with("error: invalid value 'tcsh' for '<SHELL>'"), "{}", run.stderr);
}

#[test]
fn help_lists_commands_examples_and_exit_codes() {
    let run = Repo::new().kiln(&["--help"]);
    run.code(0).stderr("");
    for text in [
        "Usage: kiln [OPTIONS] <COMMAND>",
        "  render ",
        "  verify ",
        "  explain ",
        "  completions ",
        "-C <DIR>",
        "Examples:\n  kiln render ",
        "kiln render --diff --stat",
        "Exit codes: 0 ok / in sync, 1 drift or check failed, 2 error.",
    ] {
        assert!(run.stdout.contains(text), "--help lacks {text:?}:\n{}", run.stdout);
    }
    let run = Repo::new().kiln(&["render", "--help"]);
    run.code(0);
    assert!(run.stdout.contains("--diff"), "{}", run.stdout);
}

#[test]
fn version() {
    Repo::new().kiln(&["--version"]).code(0).stdout(&format!("kiln {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_two() {
    let repo = Repo::new();
    for args in [&[][..], &["bogus"], &["render", "--bogus"], &["verify", "--format", "yaml"]] {
        let run = repo.kiln(args);
        run.code(2);
        assert!(run.stderr.starts_with("error: ") || run.stderr.starts_with("Usage: "), "{args:?}: {}", run.stderr);
    }
}

/// Runs kiln in `dir` (below the repository) without `-C`.
fn kiln_in(repo: &Repo, dir: &str, args: &[&str]) -> crate::harness::Run {
    let mut command = repo.command();
    command.current_dir(repo.path().join(dir)).args(args).env("NO_COLOR", "1");
    repo.run(&mut command)
}

#[test]
fn kiln_finds_the_root_from_a_subdirectory() {
    let repo = Repo::minimal().file(".git/HEAD", "ref: refs/heads/main\n");
    // Some tool's own `values/` below the root is not mistaken for it.
    repo.write("charts/web/values/defaults.yaml", b"a: 1\n");
    kiln_in(&repo, "values/namespaces", &["render"])
        .code(0)
        .stderr("")
        .stdout("rendered 4 objects into 4 files: 4 added, 0 changed, 0 removed");
    kiln_in(&repo, "rendered/namespaces", &["render", "--diff", "--stat"]).code(0).stderr("");
    kiln_in(&repo, "charts/web/values", &["verify"]).code(0).stderr("");
    // Paths in messages stay relative to the repository root.
    repo.write("values/nodes/n1.yaml", b"name: n1\nrole: server\nrol: agent\n");
    kiln_in(&repo, "templates/workloads", &["explain", "cluster"]).code(2).stderr(
        "error: unknown key `rol`
  --> values/nodes/n1.yaml:3:1
  = key: rol
  = help: did you mean `role`?",
    );
    // `-C` starts the walk elsewhere, as the current directory does.
    let mut command = repo.command();
    command.current_dir(repo.path().join("charts")).args(["-C", "../values/nodes", "explain", "cluster"]);
    repo.run(&mut command).code(2).stderr(
        "error: unknown key `rol`
  --> values/nodes/n1.yaml:3:1
  = key: rol
  = help: did you mean `role`?",
    );
}

#[test]
fn kiln_says_where_it_looked_for_the_root() {
    let repo = Repo::new().file(".git/HEAD", "ref: refs/heads/main\n").file("docs/values/a.yaml", "a: 1\n");
    kiln_in(&repo, "docs/values", &["render"]).code(2).stdout("").stderr(
        "error: no kiln repository in `<repo>/docs/values` or its parent directories
  = note: kiln looked for `values/` and `templates/` from `<repo>/docs/values` up to `<repo>`, the top of its git repository
  = note: `<repo>/docs` has `values/` but no `templates/`
  = help: run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)",
    );
    // The walk never leaves the git repository, even for a kiln root above it.
    let outer = Repo::minimal();
    outer.write("nested/.git", b"gitdir: ../.git/modules/nested\n");
    let mut command = outer.command();
    command.current_dir(outer.path().join("nested")).arg("render").env("NO_COLOR", "1");
    outer.run(&mut command).code(2).stderr(
        "error: no kiln repository in `<repo>/nested` or its parent directories
  = note: kiln looked for `values/` and `templates/` in `<repo>/nested` only, the top of its git repository
  = help: run kiln in the repository or a directory below it, or pass `-C <dir>` (or set KILN_ROOT)",
    );
    assert!(!outer.exists("rendered"), "nothing was rendered into the outer repository");
    // Completions need no repository.
    kiln_in(&repo, "docs", &["completions", "bash"]).code(0);
}

#[test]
fn explain_quotes_keys_the_same_way_everywhere() {
    let namespace = |value: &str| {
        MINIMAL_NAMESPACE.replace("      MODE: prod\n", &format!("      MODE: prod\n      log.level: {value}\n"))
    };
    let repo = Repo::minimal().file("values/namespaces/apps.yaml", &namespace("debug"));
    repo.kiln(&["explain", "workload", "apps/web"]).code(0).stdout(
        r#"replicas = 1    # values/cluster.yaml:8:5
kind = "Deployment"    # values/namespaces/apps.yaml:4:5
image = "nginx:1.27"    # values/namespaces/apps.yaml:5:5
env.MODE = "prod"    # values/namespaces/apps.yaml:7:7
env."log.level" = "debug"    # values/namespaces/apps.yaml:8:7"#,
    );
    // An error at that key names it as explain does.
    repo.write("values/namespaces/apps.yaml", namespace("[debug]").as_bytes());
    repo.kiln(&["explain", "workload", "apps/web"]).code(2).stderr(
        "error: wrong type: found a list, expected an environment value (string, number or boolean)
  --> values/namespaces/apps.yaml:8:7
  = key: workloads.web.env.\"log.level\"",
    );
}

#[test]
fn every_format_option_has_help_text() {
    let repo = Repo::new();
    let format_line = |command: &str| {
        let run = repo.kiln(&[command, "-h"]);
        run.code(0);
        run.stdout.lines().find(|line| line.contains("--format")).map(str::trim).unwrap_or_default().to_string()
    };
    let plain = "--format <FORMAT>  Output format: text for people, json for scripts [default: text] [possible values: text, json]";
    for command in ["verify", "validate", "plan"] {
        assert_eq!(format_line(command), plain, "kiln {command} -h");
    }
    assert_eq!(
        format_line("render"),
        "--format <FORMAT>  Output format of --diff: text for people, json for scripts [default: text] [possible values: text, json]"
    );
    assert_eq!(
        format_line("diff"),
        "--format <FORMAT>  Output format: text for people, json for scripts (schema in docs/pr-workflow.md), markdown for a pull-request comment [default: text] [possible values: text, json, markdown]"
    );
}
