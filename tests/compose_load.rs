//! The Compose loader over the fixture projects in tests/fixtures/compose/load/:
//! each form issue 15's "Loading exactly as Docker Compose does" names, with
//! the loaded project compared to a golden file and errors to their exact
//! text. The loader is called as a library here: `kiln import compose`, which
//! runs it, is wired by the mapping's side of the issue.

use std::path::{Path, PathBuf};

use kiln::import::compose::load::{load, Options};
use kiln::import::compose::project::Project;
use kiln::values::key_path::KeyPath;

fn dir(name: &str) -> PathBuf {
    Path::new("tests/fixtures/compose/load").join(name)
}

fn options(name: &str, files: &[&str]) -> Options {
    Options { files: files.iter().map(|file| dir(name).join(file)).collect(), ..Options::default() }
}

fn error(options: &Options) -> String {
    load(options).unwrap_err().to_string()
}

/// The project as YAML: name, services (enabled, profiles, definition) and
/// the unresolved variables.
fn summary(project: &Project) -> String {
    let mut services = serde_yaml::Mapping::new();
    for (name, service) in &project.services {
        let mut entry = serde_yaml::Mapping::new();
        entry.insert("enabled".into(), service.enabled.into());
        entry.insert("profiles".into(), service.profiles.clone().into());
        entry.insert("definition".into(), serde_yaml::Value::Mapping(service.definition.clone()));
        services.insert(name.clone().into(), serde_yaml::Value::Mapping(entry));
    }
    let mut root = serde_yaml::Mapping::new();
    root.insert("name".into(), project.name.clone().into());
    root.insert("services".into(), serde_yaml::Value::Mapping(services));
    root.insert("volumes".into(), project.volumes.keys().cloned().collect::<Vec<_>>().into());
    root.insert("extensions".into(), project.extensions.clone().into());
    let unresolved: Vec<String> = project.unresolved.iter().map(|(name, path)| format!("{name} at {path}")).collect();
    root.insert("unresolved".into(), unresolved.into());
    serde_yaml::to_string(&root).unwrap()
}

fn located(project: &Project, path: &str) -> String {
    project.locate(&KeyPath::parse(path)).unwrap().to_string()
}

#[test]
fn a_stack_using_every_loading_form_loads_as_docker_compose_does() {
    let gpu = Options { profiles: vec!["gpu".into()], ..options("stack", &["compose.yaml", "compose.override.yaml"]) };
    let project = load(&gpu).unwrap();
    let golden = std::fs::read_to_string(dir("stack/expected.yaml")).unwrap();
    assert_eq!(summary(&project), golden);
}

#[test]
fn every_key_keeps_the_file_and_line_that_won_the_merge() {
    let project = load(&options("stack", &["compose.yaml", "compose.override.yaml"])).unwrap();
    let stack = "tests/fixtures/compose/load/stack";
    assert_eq!(located(&project, "services.llm.ports"), format!("{stack}/compose.override.yaml:3:5"));
    assert_eq!(located(&project, "services.llm.image"), format!("{stack}/compose.yaml:30:5"));
    // A key copied by `<<` points where its anchor wrote it.
    assert_eq!(
        located(&project, "services.llm.deploy.resources.reservations.devices[0].count"),
        format!("{stack}/compose.yaml:13:13")
    );
    assert_eq!(located(&project, "services.qdrant.volumes[0]"), format!("{stack}/vector/compose.yaml:4:15"));
    assert_eq!(located(&project, "services.trainer.volumes[0]"), format!("{stack}/common/jobs.yaml:5:15"));
    assert_eq!(located(&project, "services.webui.ports[0]"), format!("{stack}/ui/compose.extra.yaml:3:13"));
}

#[test]
fn an_env_file_replaces_the_default_dotenv_and_the_process_environment_never_leaks_in() {
    std::env::set_var("VLLM_TAG", "from-the-shell");
    std::env::set_var("OLLAMA_TAG", "from-the-shell");
    let with_env_files =
        Options { env_files: vec![dir("env/prod.env"), dir("env/later.env")], ..options("stack", &["compose.yaml"]) };
    let project = load(&with_env_files).unwrap();
    let image = |name: &str| project.services[name].definition.get("image").unwrap().as_str().unwrap().to_string();
    // prod.env sets VLLM_TAG and later.env overrides it; .env's value is not read.
    assert_eq!(image("llm"), "vllm/vllm-openai:v0.7.0");
    assert_eq!(image("llm-cpu"), "ollama/ollama:");
    assert_eq!(project.unresolved, [("OLLAMA_TAG".to_string(), KeyPath::parse("services.llm-cpu.image"))]);
    // The project's own variables still reach included projects over their .env.
    assert_eq!(image("qdrant"), "qdrant/qdrant:v1.12.0");
    assert_eq!(
        error(&Options { env_files: vec![dir("env/missing.env")], ..options("stack", &["compose.yaml"]) }),
        "error: could not read `tests/fixtures/compose/load/env/missing.env`: No such file or directory (os error 2)"
    );
}

#[test]
fn a_required_variable_left_unset_is_an_error_at_its_line_and_key() {
    assert_eq!(
        error(&options("errors", &["required.yaml"])),
        "error: required variable MODEL is missing a value: name the model to serve\n  --> tests/fixtures/compose/load/errors/required.yaml:4:5\n  = key: services.llm.command\n  = help: set MODEL in the project's .env file or an --env-file"
    );
}

#[test]
fn a_file_the_compose_schema_refuses_names_file_line_and_key() {
    assert_eq!(
        error(&options("errors", &["schema.yaml"])),
        "error: unknown key `volume` in `services.db`\n  --> tests/fixtures/compose/load/errors/schema.yaml:4:5\n  = key: services.db.volume\n  = help: did you mean `volumes`? Extensions start with `x-`"
    );
}

#[test]
fn a_service_listing_the_same_volume_twice_is_invalid() {
    assert_eq!(
        error(&options("errors", &["same-volume.yaml"])),
        "error: service `db` lists target `/var/lib/postgresql/data` twice in `volumes` (first as services.db.volumes[0] at tests/fixtures/compose/load/errors/same-volume.yaml:5:9)\n  --> tests/fixtures/compose/load/errors/same-volume.yaml:6:9\n  = key: services.db.volumes[1]\n  = help: keep one of the two entries; to change an entry from another file, override it there"
    );
}

#[test]
fn an_included_service_may_not_conflict_with_a_local_one() {
    assert_eq!(
        error(&options("errors", &["include-conflict.yaml"])),
        "error: service `qdrant` is defined here and by the included project `tests/fixtures/compose/load/stack/vector/compose.yaml` (at tests/fixtures/compose/load/stack/vector/compose.yaml:2:3)\n  --> tests/fixtures/compose/load/errors/include-conflict.yaml:4:3\n  = key: services.qdrant\n  = help: Compose does not merge an included service with another of the same name: rename one, or change the included one from a later `-f` file"
    );
}

#[test]
fn an_include_cycle_is_refused_with_the_chain() {
    assert_eq!(
        error(&options("errors", &["include-cycle.yaml"])),
        "error: include cycle: tests/fixtures/compose/load/errors/include-cycle.yaml includes tests/fixtures/compose/load/errors/include-cycle.yaml\n  --> tests/fixtures/compose/load/errors/include-cycle.yaml:2:5\n  = key: include[0]\n  = help: a file cannot include itself, directly or through the files it includes"
    );
}
