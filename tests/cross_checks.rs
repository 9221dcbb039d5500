//! Cross-checks of values that need more than one key: secret references
//! against the secrets' keys, names located at their own key, and type
//! clashes between layers naming both layers.

use crate::harness::{rejects, web_with, Repo, MINIMAL_CLUSTER, MINIMAL_NAMESPACE};
use crate::values_trust::sealed_placeholder;

/// The minimal namespace with a sealed secret of two keys and a `secretEnv`
/// entry reading `key` from it.
fn reading_key(key: &str) -> String {
    let sealed = sealed_placeholder();
    format!(
        "{}secrets:\n  memory-db-credentials:\n    encryptedData:\n      POSTGRES_PASSWORD: {sealed}\n      QDRANT_API_KEY: {sealed}\n",
        web_with(&format!("    secretEnv:\n      POSTGRES_PASSWORD: {{secret: memory-db-credentials, key: {key}}}\n"))
    )
}

#[test]
fn misspelt_secret_env_key_is_refused_at_its_line() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    repo.write("values/namespaces/apps.yaml", reading_key("POSTGRES_PASSWD").as_bytes());
    for args in [&["render"][..], &["render", "--diff"]] {
        repo.kiln(args).code(2).stdout("").stderr(
            "error: secret `memory-db-credentials` has no key `POSTGRES_PASSWD`
  --> values/namespaces/apps.yaml:9:58
  = key: workloads.web.secretEnv.POSTGRES_PASSWORD.key
  = help: did you mean `POSTGRES_PASSWORD`? secret `memory-db-credentials` has keys `POSTGRES_PASSWORD`, `QDRANT_API_KEY`",
        );
    }
    assert_eq!(before, repo.snapshot(), "a failed render must leave rendered/ byte-identical");
    // The key the secret has passes.
    repo.write("values/namespaces/apps.yaml", reading_key("POSTGRES_PASSWORD").as_bytes());
    repo.kiln(&["render"]).code(0);
}

#[test]
fn secret_env_key_unlike_any_key_lists_the_secrets_keys() {
    rejects(
        |repo| repo.write("values/namespaces/apps.yaml", reading_key("password").as_bytes()),
        "error: secret `memory-db-credentials` has no key `password`
  --> values/namespaces/apps.yaml:9:58
  = key: workloads.web.secretEnv.POSTGRES_PASSWORD.key
  = help: secret `memory-db-credentials` has keys `POSTGRES_PASSWORD`, `QDRANT_API_KEY`; seal a new key under `secrets.memory-db-credentials.encryptedData` (see README, Secrets)",
    );
}

#[test]
fn bad_workload_name_is_located_at_its_key() {
    let long = "a".repeat(300);
    rejects(
        |repo| {
            let workload = |name: &str| format!("  {name}:\n    kind: Deployment\n    image: nginx:1.27\n");
            let values = format!("{MINIMAL_NAMESPACE}{}{}", workload("../../etc"), workload(&long));
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        &format!(
            "error: workload name `../../etc` may only contain lower-case letters, digits and `-`
  --> values/namespaces/apps.yaml:8:3
  = key: workloads.\"../../etc\"
  = help: names must be DNS-1123 labels

error: workload name `{long}` is longer than 63 characters
  --> values/namespaces/apps.yaml:11:3
  = key: workloads.{long}
  = help: names must be DNS-1123 labels
error: 2 problems found, nothing was written"
        ),
    );
}

#[test]
fn namespace_file_name_that_is_no_name_is_named_as_the_file() {
    rejects(
        |repo| {
            repo.remove("values/namespaces/apps.yaml");
            repo.write("values/namespaces/Apps.yaml", MINIMAL_NAMESPACE.as_bytes());
        },
        "error: namespace is named `apps` but its file is `Apps.yaml`
  --> values/namespaces/Apps.yaml:1:1
  = key: name
  = help: rename the file to `apps.yaml`: the file name `Apps` may only contain lower-case letters, digits and `-`",
    );
}

#[test]
fn type_clash_names_both_layers() {
    rejects(
        |repo| {
            let cluster = MINIMAL_CLUSTER.replace("replicas: 1", "replicas: 1\n    vars:\n      tier: {name: web}");
            repo.write("values/cluster.yaml", cluster.as_bytes());
            repo.write("values/namespaces/apps.yaml", web_with("    vars:\n      tier: web\n").as_bytes());
        },
        "error: `tier` is a string here but a mapping in the layer below
  --> values/namespaces/apps.yaml:9:7
  = key: workloads.web.vars.tier
  = also set here: values/cluster.yaml:10:7
  = help: use the same shape in both layers, or a key of another name for the other shape",
    );
}

#[test]
fn misspelt_secret_key_in_defaults_is_reported_once_where_written() {
    rejects(
        |repo| {
            let sealed = sealed_placeholder();
            let values = format!(
                "name: apps
defaults:
  workload:
    secretEnv:
      TOKEN: {{secret: api, key: TOKN}}
secrets:
  api:
    encryptedData:
      TOKEN: {sealed}
workloads:
  web:
    kind: Deployment
    image: nginx:1.27
  worker:
    kind: Deployment
    image: nginx:1.27
"
            );
            repo.write("values/namespaces/apps.yaml", values.as_bytes());
        },
        "error: secret `api` has no key `TOKN`
  --> values/namespaces/apps.yaml:5:28
  = key: defaults.workload.secretEnv.TOKEN.key
  = help: did you mean `TOKEN`? secret `api` has keys `TOKEN`",
    );
}
