//! `kiln validate` checks every value set for a pinned Helm chart against
//! the chart version's vendored `values.yaml` (issue 14, D-29), over this
//! repository with one defect put back; and the D-29 project dedupe.

use crate::harness::Repo;

const JAEGER_VALUES: &str = "      jaeger:\n        resources:\n";

#[test]
fn this_repository_sets_only_chart_keys() {
    let out = Repo::this_repository().validate(0);
    assert!(!out.contains("component-value"), "{out}");
}

#[test]
fn jaeger_provision_data_store_is_not_a_chart_key() {
    let repo = Repo::this_repository_edited(&[(
        "values/cluster.yaml",
        JAEGER_VALUES,
        "      provisionDataStore:\n        cassandra: false\n      jaeger:\n        resources:\n",
    )]);
    let out = repo.validate(1);
    let expected = "error[component-value-unknown]: `provisionDataStore` is not a value of chart jaeger 4.11.1
  --> values/cluster.yaml:396:7
  = key: components.jaeger.values.provisionDataStore
  = object: Application.argoproj.io argocd/jaeger, at spec.source.helm.valuesObject.provisionDataStore
  = rendered: rendered/namespaces/argocd/application-jaeger.yaml from templates/cluster/argocd/applications.yaml (rendering the cluster, document 7)
  = help: it is not a key of jaeger 4.11.1's values.yaml (schemas/charts/jaeger/4.11.1/values.yaml), so Helm ignores it; remove it or check the chart's values";
    assert!(out.contains(expected), "{out}");
    assert!(out.contains("1 error, 0 warnings in 1 file"), "{out}");
}

#[test]
fn unknown_chart_key_is_an_error_at_its_values_line() {
    // A misspelt key deep in a subchart's values: kube-prometheus-stack's grafana.
    let repo = Repo::this_repository_edited(&[(
        "values/cluster.yaml",
        "        persistence:\n          enabled: false\n",
        "        persistence:\n          enabeld: false\n",
    )]);
    let out = repo.validate(1);
    let expected = "error[component-value-unknown]: `grafana.persistence.enabeld` is not a value of chart kube-prometheus-stack 88.5.3 (did you mean `enabled`?)
  --> values/cluster.yaml:285:11
  = key: components.kube-prometheus-stack.values.grafana.persistence.enabeld
  = object: Application.argoproj.io argocd/kube-prometheus-stack, at spec.sources[1].helm.valuesObject.grafana.persistence.enabeld";
    assert!(out.contains(expected), "{out}");
}

#[test]
fn a_chart_version_without_vendored_values_is_reported() {
    let repo = Repo::this_repository_edited(&[(
        "values/cluster.yaml",
        "    chart: jaeger\n    version: 4.11.1\n",
        "    chart: jaeger\n    version: 4.12.0\n",
    )]);
    let out = repo.validate(0);
    let expected = "warning[component-values-unchecked]: no vendored values.yaml for chart jaeger 4.12.0, so its values are not checked
  --> values/cluster.yaml:388:5
  = key: components.jaeger.version
  = object: Application.argoproj.io argocd/jaeger, at spec.source.helm.valuesObject
  = rendered: rendered/namespaces/argocd/application-jaeger.yaml from templates/cluster/argocd/applications.yaml (rendering the cluster, document 7)
  = help: vendor the chart's defaults with `schemas/charts/vendor.sh jaeger 4.12.0` and list them in src/validate/catalog.rs (docs/charts.md)";
    assert!(out.contains(expected), "{out}");
}

#[test]
fn platform_project_lists_each_namespace_once() {
    let repo = Repo::this_repository();
    repo.kiln(&["render"]).code(0);
    let project = repo.read("rendered/namespaces/argocd/appproject-platform.yaml");
    let value: serde_yaml::Value = serde_yaml::from_str(&project).unwrap();
    let namespaces: Vec<&str> =
        value["spec"]["destinations"].as_sequence().unwrap().iter().map(|d| d["namespace"].as_str().unwrap()).collect();
    let mut unique = namespaces.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(namespaces, unique, "destinations sorted, each once");
    assert!(namespaces.contains(&"kube-system"), "{namespaces:?}");
    let repos: Vec<&str> =
        value["spec"]["sourceRepos"].as_sequence().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let mut unique_repos = repos.clone();
    unique_repos.sort();
    unique_repos.dedup();
    assert_eq!(repos.len(), unique_repos.len(), "{repos:?}");
    // Istio is off, so its chart repository is not permitted (README, "Service mesh (opt-in)").
    assert!(!repos.contains(&"https://istio-release.storage.googleapis.com/charts"), "{repos:?}");
}
