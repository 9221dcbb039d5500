//! renovate.json does what docs/pr-workflow.md ("Version upkeep: Renovate") says: its custom
//! managers find every chart version, workload image tag and the k3s version in this repository's
//! values, each exactly once and as the right dependency, and nothing else.
//!
//! The test models Renovate's regex custom manager as its documentation
//! (docs.renovatebot.com/modules/manager/regex, /configuration-options/#custommanagers) and its
//! source (lib/modules/manager/custom/regex/strategies.ts, utils.ts) describe it:
//! - a file is a manager's package file when one of its `managerFilePatterns` matches the path
//!   relative to the repository root; a pattern written `/…/` is a regular expression
//!   (docs.renovatebot.com/string-pattern-matching); renovate.json uses only that form;
//! - with the default `matchStringsStrategy` `any`, each of `matchStrings` is compiled with the
//!   `g` flag only (so `^` and `$` are the file's ends) and every match in the whole file is one
//!   dependency;
//! - a dependency's fields come from the named groups `depName`, `packageName`, `currentValue`,
//!   `currentDigest`, `datasource`, `versioning` and `registryUrl`, a `<field>Template` replacing
//!   the group (renovate.json's templates are literals, no Handlebars);
//! - a match without a `depName` or `packageName`, or without a `currentValue` or
//!   `currentDigest`, is dropped.
//!
//! Renovate runs JavaScript regular expressions (through RE2); renovate.json sticks to the syntax
//! that means the same in JavaScript, RE2 and the `regex` crate (no look-around, no
//! backreferences, `(?<name>…)` groups), so the `regex` crate stands in for it here.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::harness::root;

/// One dependency as Renovate's regex manager extracts it (the fields renovate.json sets).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Dependency {
    file: String,
    dep_name: String,
    package_name: Option<String>,
    datasource: String,
    versioning: Option<String>,
    current_value: Option<String>,
    current_digest: Option<String>,
    registry_url: Option<String>,
}

fn config() -> Json {
    serde_json::from_str(&std::fs::read_to_string(root().join("renovate.json")).unwrap()).unwrap()
}

fn managers(config: &Json) -> &Vec<Json> {
    config["customManagers"].as_array().expect("customManagers is a list")
}

/// The regular expression of a `/…/` pattern (the only form renovate.json uses).
fn file_pattern(pattern: &str) -> Regex {
    let body = pattern.strip_prefix('/').and_then(|rest| rest.strip_suffix('/')).unwrap_or_else(|| {
        panic!("managerFilePatterns entry {pattern:?} is not a /regex/ (this model knows no globs)")
    });
    Regex::new(body).unwrap()
}

/// A manager's literal `<field>Template`, or the named group `field` of the match.
fn field(manager: &Json, captures: &regex::Captures, name: &str) -> Option<String> {
    if let Some(template) = manager[format!("{name}Template")].as_str() {
        assert!(!template.contains("{{"), "this model takes templates literally, {name}Template is {template:?}");
        return Some(template.to_string());
    }
    captures.name(name).map(|group| group.as_str().to_string()).filter(|value| !value.trim().is_empty())
}

/// What `manager` extracts from one file, in match order.
fn extract(manager: &Json, file: &str, content: &str) -> Vec<Dependency> {
    assert_eq!(manager["customType"], "regex");
    let strategy = manager.get("matchStringsStrategy").and_then(Json::as_str).unwrap_or("any");
    assert_eq!(strategy, "any", "this model knows only the default matchStringsStrategy");
    let mut found = Vec::new();
    for match_string in manager["matchStrings"].as_array().unwrap() {
        let regex = Regex::new(match_string.as_str().unwrap()).unwrap();
        for captures in regex.captures_iter(content) {
            let package_name = field(manager, &captures, "packageName");
            let current_value = field(manager, &captures, "currentValue");
            let current_digest = field(manager, &captures, "currentDigest");
            let Some(dep_name) = field(manager, &captures, "depName").or_else(|| package_name.clone()) else {
                continue;
            };
            if current_value.is_none() && current_digest.is_none() {
                continue;
            }
            found.push(Dependency {
                file: file.to_string(),
                dep_name,
                package_name,
                datasource: field(manager, &captures, "datasource").expect("every manager names a datasource"),
                versioning: field(manager, &captures, "versioning"),
                current_value,
                current_digest,
                registry_url: field(manager, &captures, "registryUrl"),
            });
        }
    }
    found
}

/// Every file of the repository (as Renovate's clone has it: no `target/`, no `.git`), relative.
fn repository_files() -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(root())
        .into_iter()
        .filter_entry(|entry| !matches!(entry.file_name().to_str(), Some(".git" | "target")))
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.path().strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/"))
        .collect();
    files.sort();
    files
}

/// What every manager of `config` extracts from `files` (path → content; `None` reads the file).
fn extract_all(config: &Json, files: &BTreeMap<String, Option<String>>) -> Vec<Dependency> {
    let mut found = Vec::new();
    for manager in managers(config) {
        let patterns: Vec<Regex> = manager["managerFilePatterns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| file_pattern(p.as_str().unwrap()))
            .collect();
        for (path, content) in files {
            if patterns.iter().any(|pattern| pattern.is_match(path)) {
                let content = content.clone().unwrap_or_else(|| std::fs::read_to_string(root().join(path)).unwrap());
                found.extend(extract(manager, path, &content));
            }
        }
    }
    found.sort();
    found
}

fn helm(file: &str, component: &str, entry: &Yaml) -> Dependency {
    let text = |key: &str| entry[key].as_str().unwrap_or_else(|| panic!("components.{component}.{key}")).to_string();
    Dependency {
        file: file.to_string(),
        dep_name: component.to_string(),
        package_name: Some(text("chart")),
        datasource: "helm".to_string(),
        versioning: None,
        current_value: Some(text("version")),
        current_digest: None,
        registry_url: Some(text("repoURL")),
    }
}

const K3S_VERSIONING: &str = r"regex:^v(?<major>\d+)\.(?<minor>\d+)\.(?<patch>\d+)\+k3s(?<build>\d+)$";

/// What the values say Renovate must find in values/cluster.yaml: each component's chart and the
/// k3s version.
fn expected_in_cluster(file: &str, text: &str) -> Vec<Dependency> {
    let cluster: Yaml = serde_yaml::from_str(text).unwrap();
    let mut expected: Vec<Dependency> = cluster["components"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, entry)| helm(file, name.as_str().unwrap(), entry))
        .collect();
    expected.push(Dependency {
        file: file.to_string(),
        dep_name: "k3s-io/k3s".to_string(),
        package_name: None,
        datasource: "github-releases".to_string(),
        versioning: Some(K3S_VERSIONING.to_string()),
        current_value: Some(cluster["k3sVersion"].as_str().unwrap().to_string()),
        current_digest: None,
        registry_url: None,
    });
    expected
}

/// Every `image:` value anywhere in a namespace file, split as a Docker reference (the tag after
/// the last `:` that follows the last `/`).
fn expected_images(file: &str, node: &Yaml, into: &mut Vec<Dependency>) {
    match node {
        Yaml::Mapping(mapping) => {
            for (key, value) in mapping {
                if let (Some("image"), Some(reference)) = (key.as_str(), value.as_str()) {
                    let (image, digest) = match reference.split_once('@') {
                        Some((image, digest)) => (image, Some(digest.to_string())),
                        None => (reference, None),
                    };
                    let slash = image.rfind('/').map_or(0, |at| at + 1);
                    let colon = slash + image[slash..].rfind(':').expect("every image has a tag");
                    into.push(Dependency {
                        file: file.to_string(),
                        dep_name: image[..colon].to_string(),
                        package_name: None,
                        datasource: "docker".to_string(),
                        versioning: Some("docker".to_string()),
                        current_value: Some(image[colon + 1..].to_string()),
                        current_digest: digest,
                        registry_url: None,
                    });
                } else {
                    expected_images(file, value, into);
                }
            }
        }
        Yaml::Sequence(items) => items.iter().for_each(|item| expected_images(file, item, into)),
        _ => {}
    }
}

/// What renovate.json extracts that the values do not hold, and what it misses, counting
/// repeats (an image used by two workloads is two dependencies).
fn mismatch(found: &[Dependency], expected: &[Dependency]) -> Vec<String> {
    let mut missing = expected.to_vec();
    let mut unexpected = Vec::new();
    for dep in found {
        match missing.iter().position(|other| other == dep) {
            Some(at) => drop(missing.remove(at)),
            None => unexpected.push(dep),
        }
    }
    let missing = missing.into_iter().map(|dep| format!("not found: {dep:?}"));
    missing.chain(unexpected.into_iter().map(|dep| format!("unexpected: {dep:?}"))).collect()
}

#[test]
fn renovate_finds_every_chart_image_and_the_k3s_version_once_and_nothing_else() {
    let files: BTreeMap<String, Option<String>> = repository_files().into_iter().map(|path| (path, None)).collect();
    let found = extract_all(&config(), &files);

    let mut expected = expected_in_cluster(
        "values/cluster.yaml",
        &std::fs::read_to_string(root().join("values/cluster.yaml")).unwrap(),
    );
    let namespaces = root().join("values/namespaces");
    for entry in std::fs::read_dir(&namespaces).unwrap() {
        let path = entry.unwrap().path();
        let file = format!("values/namespaces/{}", path.file_name().unwrap().to_str().unwrap());
        let values: Yaml = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        expected_images(&file, &values, &mut expected);
    }
    expected.sort();

    assert_eq!(mismatch(&found, &expected), Vec::<String>::new());
    assert_eq!(found, expected);
    // So that a values walk that found nothing cannot pass: this repository has all three kinds.
    for datasource in ["helm", "docker", "github-releases"] {
        assert!(found.iter().any(|dep| dep.datasource == datasource), "no {datasource} dependency found");
    }
}

/// values/cluster.yaml with `component` inserted as the first entry under `components:`.
fn cluster_with(component: &str) -> String {
    let text = std::fs::read_to_string(root().join("values/cluster.yaml")).unwrap();
    let at = text.find("\ncomponents:\n").unwrap() + "\ncomponents:\n".len();
    format!("{}{component}{}", &text[..at], &text[at..])
}

#[test]
fn renovate_picks_up_a_component_added_to_cluster_yaml() {
    let text = cluster_with(
        "  cert-manager:\n    repoURL: https://charts.jetstack.io\n    chart: cert-manager\n    version: v1.16.2\n    namespace: cert-manager\n",
    );
    let files = BTreeMap::from([("values/cluster.yaml".to_string(), Some(text.clone()))]);
    let found = extract_all(&config(), &files);

    let mut expected = expected_in_cluster("values/cluster.yaml", &text);
    expected.sort();
    assert_eq!(found, expected);
    let added = found.iter().find(|dep| dep.dep_name == "cert-manager").unwrap();
    assert_eq!(added.package_name.as_deref(), Some("cert-manager"));
    assert_eq!(added.registry_url.as_deref(), Some("https://charts.jetstack.io"));
    assert_eq!((added.datasource.as_str(), added.current_value.as_deref()), ("helm", Some("v1.16.2")));
}

#[test]
fn a_component_whose_keys_are_in_another_order_is_reported_not_found() {
    // The chart manager relies on repoURL, chart, version coming first and in that order (README's
    // "Values reference" writes them so); the coverage test above is what catches a component
    // written otherwise, which Renovate would silently never bump.
    let text = cluster_with(
        "  cert-manager:\n    chart: cert-manager\n    repoURL: https://charts.jetstack.io\n    version: v1.16.2\n",
    );
    let files = BTreeMap::from([("values/cluster.yaml".to_string(), Some(text.clone()))]);
    let found = extract_all(&config(), &files);
    let mut expected = expected_in_cluster("values/cluster.yaml", &text);
    expected.sort();
    let added = expected.iter().find(|dep| dep.dep_name == "cert-manager").unwrap();
    assert_eq!(mismatch(&found, &expected), vec![format!("not found: {added:?}")]);
}

#[test]
fn renovate_groups_the_istio_charts_that_share_one_release() {
    let config = config();
    let rules = config["packageRules"].as_array().unwrap();
    let istio = rules.iter().find(|rule| rule["groupName"] == "istio").expect("a packageRule grouping istio");
    let grouped: Vec<&str> =
        istio["matchDepNames"].as_array().unwrap().iter().map(|name| name.as_str().unwrap()).collect();

    let cluster: Yaml =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("values/cluster.yaml")).unwrap()).unwrap();
    let components = cluster["components"].as_mapping().unwrap();
    let from_istio: Vec<(&str, &str)> = components
        .iter()
        .filter(|(_, entry)| entry["repoURL"] == "https://istio-release.storage.googleapis.com/charts")
        .map(|(name, entry)| (name.as_str().unwrap(), entry["version"].as_str().unwrap()))
        .collect();
    assert_eq!(grouped, from_istio.iter().map(|(name, _)| *name).collect::<Vec<_>>());
    assert!(from_istio.iter().all(|(_, version)| *version == from_istio[0].1), "{from_istio:?}");
}

#[test]
fn k3s_versioning_takes_releases_and_refuses_release_candidates() {
    // Renovate's regex versioning: a version is one the pattern matches, compared by
    // major.minor.patch, then build (docs.renovatebot.com/modules/versioning/regex).
    let config = config();
    let k3s = managers(&config).iter().find(|manager| manager["depNameTemplate"] == "k3s-io/k3s").unwrap();
    let pattern = k3s["versioningTemplate"].as_str().unwrap();
    assert_eq!(pattern, K3S_VERSIONING);
    let versioning = Regex::new(pattern.strip_prefix("regex:").unwrap()).unwrap();
    let parts = |tag: &str| {
        versioning
            .captures(tag)
            .map(|c| ["major", "minor", "patch", "build"].map(|name| c[name].parse::<u32>().unwrap()))
    };
    assert_eq!(parts("v1.31.7+k3s1"), Some([1, 31, 7, 1]));
    assert!(parts("v1.31.7+k3s2") > parts("v1.31.7+k3s1"));
    assert!(parts("v1.31.10+k3s1") > parts("v1.31.9+k3s1"));
    assert_eq!(parts("v1.32.0-rc1+k3s1"), None);
    assert_eq!(parts("v1.31.7"), None);

    // Minor (and major) k3s releases wait for the Dependency Dashboard, one minor per pull
    // request: they move kubernetesVersion too and must not skip a minor.
    let rules = config["packageRules"].as_array().unwrap();
    let for_k3s: Vec<&Json> =
        rules.iter().filter(|rule| rule["matchDepNames"] == serde_json::json!(["k3s-io/k3s"])).collect();
    let gated = for_k3s.iter().find(|rule| rule["dependencyDashboardApproval"] == true).unwrap();
    assert_eq!(gated["matchUpdateTypes"], serde_json::json!(["major", "minor"]));
    assert!(for_k3s.iter().any(|rule| rule["separateMultipleMinor"] == true && rule.get("matchUpdateTypes").is_none()));
}

#[test]
fn renovate_renders_with_the_one_command_its_workflow_allows() {
    let config = config();
    let tasks = &config["postUpgradeTasks"];
    assert_eq!(tasks["commands"], serde_json::json!(["kiln render"]));
    assert_eq!(tasks["fileFilters"], serde_json::json!(["rendered/**"]));
    assert_eq!(tasks["executionMode"], "branch");

    let workflow: Yaml =
        serde_yaml::from_str(&std::fs::read_to_string(root().join(".github/workflows/renovate.yml")).unwrap()).unwrap();
    let steps = workflow["jobs"]["renovate"]["steps"].as_sequence().unwrap();
    let step = steps.iter().find(|step| step["name"] == "renovate").unwrap();
    let allowed: Vec<String> =
        serde_json::from_str(step["env"]["RENOVATE_ALLOWED_COMMANDS"].as_str().unwrap()).unwrap();
    assert_eq!(allowed, vec!["^kiln render$".to_string()]);
    let allowed = Regex::new(&allowed[0]).unwrap();
    assert!(allowed.is_match("kiln render"));
    assert!(!allowed.is_match("kiln render; curl evil"));
    // The version the step runs is the one docs/pr-workflow.md says was validated.
    let run = step["run"].as_str().unwrap();
    let version = Regex::new(r"renovate@(\d+\.\d+\.\d+)").unwrap().captures(run).unwrap()[1].to_string();
    let docs = std::fs::read_to_string(root().join("docs/pr-workflow.md")).unwrap();
    assert!(docs.contains(&format!("renovate@{version}")), "docs/pr-workflow.md does not name renovate@{version}");
}

#[test]
fn renovate_reads_an_image_with_a_registry_port_and_a_digest() {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let text = format!(
        "workloads:\n  a:\n    image: registry.lan:5000/team/app:1.2.3@{digest}\n  b:\n    image: \"busybox:1.37\"\n"
    );
    let files = BTreeMap::from([("values/namespaces/apps.yaml".to_string(), Some(text.clone()))]);
    let found = extract_all(&config(), &files);

    let mut expected = Vec::new();
    expected_images("values/namespaces/apps.yaml", &serde_yaml::from_str(&text).unwrap(), &mut expected);
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(found[1].dep_name, "registry.lan:5000/team/app");
    assert_eq!(found[1].current_value.as_deref(), Some("1.2.3"));
    assert_eq!(found[1].current_digest.as_deref(), Some(digest.as_str()));
    assert_eq!((found[0].dep_name.as_str(), found[0].current_value.as_deref()), ("busybox", Some("1.37")));
}
