//! `kiln import compose`: the real binary over the corpus in
//! tests/fixtures/compose/map/ (one compose project per directory, its
//! golden values, report and stderr under `expected/`, refreshed with
//! `KILN_UPDATE_SNAPSHOTS=1`), imported into a copy of this repository;
//! the round trip renders, validates and plans; edits keep every other
//! line; nothing is written on a refusal or a dry run; no credential is
//! ever written.

use std::path::Path;

use crate::harness::{fixture_dir, read_tree, update_snapshots, Repo, Run};

/// This repository's values and templates, plus a third GPU node with room.
fn cluster() -> Repo {
    let repo = Repo::this_repository();
    repo.write("values/nodes/gpubox.yaml", &std::fs::read(fixture_dir("compose/map").join("gpubox.yaml")).unwrap());
    repo
}

/// Copies the compose project `case` to `<repo>/stack/` and runs
/// `kiln import compose` there, so paths in messages read `compose.yaml`.
fn import(repo: &Repo, case: &str, args: &[&str]) -> Run {
    for (path, bytes) in read_tree(&fixture_dir("compose/map").join(case)) {
        if !path.starts_with("expected/") {
            repo.write(&format!("stack/{path}"), &bytes);
        }
    }
    let mut command = repo.command();
    command
        .current_dir(repo.path().join("stack"))
        .args(["-C", "..", "import", "compose", "-f", "compose.yaml"])
        .args(args)
        .env("NO_COLOR", "1");
    repo.run(&mut command)
}

/// Sealed placeholders are random: each reads `<sealed>`.
fn mask(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace() || c == '"')
        .map(|token| {
            let trimmed = token.trim_end_matches(|c: char| c.is_whitespace() || c == '"');
            if trimmed.starts_with("Ag") && trimmed.len() > 300 {
                token.replacen(trimmed, "<sealed>", 1)
            } else {
                token.to_string()
            }
        })
        .collect()
}

#[track_caller]
fn golden(case: &str, name: &str, actual: &str) {
    let path = fixture_dir("compose/map").join(case).join("expected").join(name);
    let actual = mask(actual);
    if update_snapshots() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (KILN_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "{} differs (KILN_UPDATE_SNAPSHOTS=1 refreshes it; review the diff)", path.display());
}

fn values_snapshot(repo: &Repo) -> std::collections::BTreeMap<String, Vec<u8>> {
    read_tree(&repo.path().join("values"))
}

#[test]
fn ai_stack_round_trip_renders_validates_and_plans() {
    let repo = cluster();
    let run = import(&repo, "ai-stack", &["--namespace", "ai-lab", "--profile", "gpu", "--report", "report.json"]);
    run.code(1);
    golden("ai-stack", "stderr.txt", &run.stderr);
    golden("ai-stack", "ai-lab.yaml", &repo.read("values/namespaces/ai-lab.yaml"));
    golden("ai-stack", "report.json", &repo.read("stack/report.json"));
    // The report asks for each GPU workload's memory on the time-sliced card; the operator fills it in.
    let values = repo.read("values/namespaces/ai-lab.yaml");
    let sized = values
        .replace("product: NVIDIA-RTX-6000-Ada-Generation}", "product: NVIDIA-RTX-6000-Ada-Generation, memoryGiB: 8}");
    assert_eq!(sized.matches("memoryGiB: 8").count(), 3, "{values}");
    repo.write("values/namespaces/ai-lab.yaml", sized.as_bytes());
    repo.kiln(&["render"]).code(0);
    repo.kiln(&["validate"]).code(0);
    repo.kiln(&["plan"]).code(0);
    // The placeholders stand in the bootstrap gate's list until sealed for real.
    let placeholders = repo.kiln(&["seal", "--list-placeholders"]);
    assert!(
        placeholders
            .stdout
            .contains("secrets.llm-credentials (namespace ai-lab): stand-in values for `HUGGING_FACE_HUB_TOKEN`"),
        "{}",
        placeholders.stdout
    );
}

#[test]
fn depends_on_becomes_init_waits_on_the_dependencies_services() {
    let repo = cluster();
    let run = import(&repo, "depends", &["--namespace", "deps", "--report", "report.json"]);
    run.code(1);
    golden("depends", "stderr.txt", &run.stderr);
    golden("depends", "deps.yaml", &repo.read("values/namespaces/deps.yaml"));
    golden("depends", "report.json", &repo.read("stack/report.json"));
    repo.kiln(&["render"]).code(0);
    repo.kiln(&["validate"]).code(0);
    repo.kiln(&["plan"]).code(0);
    // app waits for db and cache (their Services), not for the Job, the
    // port-less worker or the optional metrics; admin for app and db.
    let waits = |workload: &str| -> Vec<(String, String)> {
        let text = repo.read(&format!("rendered/namespaces/deps/deployment-{workload}.yaml"));
        let object: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let init = &object["spec"]["template"]["spec"]["initContainers"];
        init.as_sequence()
            .into_iter()
            .flatten()
            .map(|container| {
                let env = |name: &str| {
                    container["env"].as_sequence().unwrap().iter().find(|e| e["name"] == name).unwrap()["value"]
                        .as_str()
                        .unwrap()
                        .to_string()
                };
                (container["name"].as_str().unwrap().to_string(), format!("{}:{}", env("WAIT_HOST"), env("WAIT_PORT")))
            })
            .collect()
    };
    let wait = |name: &str, target: &str| (name.to_string(), target.to_string());
    assert_eq!(
        waits("app"),
        [wait("wait-db", "db.deps.svc.cluster.local:5432"), wait("wait-cache", "cache.deps.svc.cluster.local:6379")]
    );
    assert_eq!(
        waits("admin"),
        [wait("wait-app", "app.deps.svc.cluster.local:8080"), wait("wait-db", "db.deps.svc.cluster.local:5432")]
    );
    assert_eq!(waits("probe"), []);
}

#[test]
fn credentials_are_never_written_and_the_seal_commands_are_listed() {
    let repo = cluster();
    let run = import(&repo, "ai-stack", &["--namespace", "ai-lab", "--report", "report.json"]);
    run.code(1);
    for (path, bytes) in values_snapshot(&repo) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hf_examplenotarealtoken") && !text.contains("change-me"), "{path} holds a credential");
    }
    let report = repo.read("stack/report.json");
    assert!(!report.contains("hf_examplenotarealtoken") && !report.contains("change-me"));
    assert!(
        run.stderr.contains(
            "  printf %s \"$VALUE\" | kiln seal --name webui-credentials --key WEBUI_SECRET_KEY --namespace ai-lab\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn gpu_forms_map_to_gpu_requests_placed_from_node_values() {
    let repo = cluster();
    let run = import(&repo, "gpu-forms", &["--namespace", "gpu-lab", "--report", "report.json"]);
    run.code(1);
    golden("gpu-forms", "gpu-lab.yaml", &repo.read("values/namespaces/gpu-lab.yaml"));
    golden("gpu-forms", "report.json", &repo.read("stack/report.json"));
    let values = repo.read("values/namespaces/gpu-lab.yaml");
    // The workload's key line and the lines indented below it.
    let workload = |name: &str| {
        let mut lines = values.lines().skip_while(|line| !line.starts_with(&format!("  {name}:")));
        let head = lines.next().unwrap_or_default().to_string();
        lines.take_while(|line| line.starts_with("    ")).fold(head, |block, line| format!("{block}\n{line}"))
    };
    // A `deploy: {}` override and a commented-out block leave no GPU.
    assert!(!workload("cpu-variant").contains("gpu:"), "{}", workload("cpu-variant"));
    assert!(!workload("commented-out").contains("gpu:"));
    assert!(workload("count-two").contains("gpu: {count: 2, product: NVIDIA-RTX-6000-Ada-Generation}"));
    assert!(workload("amd").contains("image:") && !workload("amd").contains("gpu:"));
}

#[test]
fn an_existing_namespace_file_keeps_every_other_line_and_reimport_replaces_only_its_own() {
    let repo = cluster();
    let before = repo.read("values/namespaces/ai-system-core.yaml");
    // Everything maps (notifier waits for scheduler's readiness, a note): exit 0.
    let run = import(&repo, "utility", &[]);
    run.code(0);
    let after = repo.read("values/namespaces/ai-system-core.yaml");
    // Removing the two imported blocks gives back the file byte for byte.
    let mut kept = String::new();
    let mut skipping = false;
    for line in after.split_inclusive('\n') {
        if line.contains("# kiln import compose: utility/") {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("    ") {
            continue;
        }
        skipping = false;
        kept.push_str(line);
    }
    assert_eq!(kept, before);
    golden("utility", "ai-system-core.diff", &after[after.find("  notifier:").unwrap()..]);
    repo.kiln(&["render"]).code(0);
    // A second import replaces its own workloads and changes nothing else.
    let again = import(&repo, "utility", &["--report", "report.json"]);
    again.code(0);
    assert_eq!(repo.read("values/namespaces/ai-system-core.yaml"), after);
    assert!(repo.read("stack/report.json").contains("\"action\": \"replaced\""));
}

#[test]
fn a_namespace_written_as_yml_is_edited_in_place() {
    let repo = cluster();
    let text = repo.read("values/namespaces/ai-system-core.yaml");
    std::fs::remove_file(repo.path().join("values/namespaces/ai-system-core.yaml")).unwrap();
    repo.write("values/namespaces/ai-system-core.yml", text.as_bytes());
    import(&repo, "utility", &[]).code(0);
    assert!(!repo.path().join("values/namespaces/ai-system-core.yaml").exists());
    assert!(repo
        .read("values/namespaces/ai-system-core.yml")
        .contains("  notifier:  # kiln import compose: utility/notifier\n"));
    repo.kiln(&["render"]).code(0);
}

#[test]
fn a_hand_written_workload_is_never_overwritten() {
    let repo = cluster();
    let core = repo.read("values/namespaces/ai-system-core.yaml");
    let line = core.lines().position(|l| l == "workloads:").unwrap() + 2;
    repo.write(
        "values/namespaces/ai-system-core.yaml",
        core.replacen("workloads:\n", "workloads:\n  scheduler:\n    kind: Deployment\n    image: nginx:1.27\n", 1)
            .as_bytes(),
    );
    let before = values_snapshot(&repo);
    let run = import(&repo, "utility", &[]);
    run.code(2).stderr(&format!(
        "error: workload `scheduler` already exists and was not written by kiln import compose: it is never overwritten\n  --> values/namespaces/ai-system-core.yaml:{line}:3\n  = key: workloads.scheduler\n  = help: rename the compose service, import it into another namespace, or remove the workload first (service `scheduler`)"
    ));
    assert_eq!(values_snapshot(&repo), before);
}

#[test]
fn dry_run_prints_the_edit_and_writes_nothing() {
    let repo = cluster();
    let before = values_snapshot(&repo);
    let run = import(&repo, "utility", &["--dry-run"]);
    run.code(0);
    assert_eq!(values_snapshot(&repo), before);
    assert!(
        run.stdout
            .starts_with("--- a/values/namespaces/ai-system-core.yaml\n+++ b/values/namespaces/ai-system-core.yaml\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("+  scheduler:  # kiln import compose: utility/scheduler\n"));
    assert!(run.stderr.starts_with("would import 2 services of `utility` into ai-system-core\n"), "{}", run.stderr);
}

#[test]
fn exit_0_when_everything_maps_exactly() {
    let repo = cluster();
    let run = import(&repo, "exact", &["--namespace", "ai-system-core"]);
    run.code(0).stderr("imported 1 service of `exact` into ai-system-core\nrun `kiln render` to update rendered/");
    repo.kiln(&["render"]).code(0);
}

#[test]
fn an_invalid_gpu_count_is_exit_2_with_file_line_and_key() {
    let repo = cluster();
    repo.write(
        "stack/compose.yaml",
        b"services:\n  llm:\n    image: x/y:1\n    deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              count: many\n              capabilities: [gpu]\n",
    );
    let before = values_snapshot(&repo);
    let mut command = repo.command();
    command
        .current_dir(repo.path().join("stack"))
        .args(["-C", "..", "import", "compose", "-f", "compose.yaml", "--namespace", "x"])
        .env("NO_COLOR", "1");
    repo.run(&mut command).code(2).stderr(
        "error: `count: many` is not a GPU count\n  --> compose.yaml:9:15\n  = key: services.llm.deploy.resources.reservations.devices[0].count\n  = help: write a positive number or `all`",
    );
    assert_eq!(values_snapshot(&repo), before);
    assert!(!Path::new(&repo.path().join("values/namespaces/x.yaml")).exists());
}
