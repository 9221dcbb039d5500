//! The consistency checks compose-go makes after the schema, which a schema
//! cannot express (compose-go `loader/validate.go` `checkConsistency` and
//! `validation/validation.go`): every service has an `image` or a `build`;
//! `depends_on`, `networks`, named `volumes`, `secrets` and `configs` name
//! what the project defines (a `depends_on` with `required: false` may name
//! a missing service); `network_mode` and `networks` exclude each other; a
//! `healthcheck.test` list starts with `CMD`, `CMD-SHELL` or `NONE`; a GPU
//! or device request sets `count` or `device_ids`, not both; `scale` and
//! `deploy.replicas` agree; no two of a service's `volumes` and `tmpfs`
//! mount the same target; a top-level secret has `file` or `environment`
//! unless `external`. The first problem found is reported, at its key.

use super::node::{Kind, Node};
use crate::values::key_path::KeyPath;
use crate::{Error, Result};

pub fn check(model: &Node) -> Result<()> {
    let services = model.get("services");
    for (name, service) in services.map(Node::entries).unwrap_or_default() {
        let path = KeyPath::root().key("services").key(name.clone());
        check_service(model, name, service, &path)?;
    }
    for (name, secret) in model.get("secrets").map(Node::entries).unwrap_or_default() {
        let external = secret.get("external").is_some_and(|node| node.kind == Kind::Bool(true));
        if !external
            && secret.get("file").is_none()
            && secret.get("environment").is_none()
            && secret.get("driver").is_none()
        {
            return Err(problem(
                secret,
                &KeyPath::root().key("secrets").key(name.clone()),
                format!("secret `{name}` declares neither `file` nor `environment`"),
                "give it `file: ./path` or `environment: VARIABLE`, or `external: true` for one created outside Compose",
            ));
        }
    }
    Ok(())
}

fn problem(node: &Node, path: &KeyPath, message: String, help: &str) -> Error {
    Error::Compose { location: node.at.location(), key_path: path.to_string(), message, help: Some(help.to_string()) }
}

fn defined(model: &Node, section: &str, name: &str) -> bool {
    model.get(section).is_some_and(|node| node.get(name).is_some())
}

fn check_service(model: &Node, name: &str, service: &Node, path: &KeyPath) -> Result<()> {
    if service.get("image").is_none() && service.get("build").is_none() && service.get("provider").is_none() {
        return Err(problem(
            service,
            path,
            format!("service `{name}` has neither an `image` nor a `build`"),
            "name the image to run (`image: ...`), or the build context it is built from (`build: ./dir`)",
        ));
    }
    if let Some(depends_on) = service.get("depends_on") {
        let entries: Vec<(String, &Node, bool)> = match &depends_on.kind {
            Kind::Seq(items) => items.iter().filter_map(|item| Some((item.scalar_text()?, item, true))).collect(),
            Kind::Map(entries) => entries
                .iter()
                .map(|(dependency, node)| {
                    let required = node.get("required").is_none_or(|required| required.kind != Kind::Bool(false));
                    (dependency.clone(), node, required)
                })
                .collect(),
            _ => Vec::new(),
        };
        for (index, (dependency, node, required)) in entries.iter().enumerate() {
            if *required && !defined(model, "services", dependency) {
                let at = match depends_on.kind {
                    Kind::Seq(_) => path.key("depends_on").index(index),
                    _ => path.key("depends_on").key(dependency.clone()),
                };
                return Err(problem(
                    node,
                    &at,
                    format!("service `{name}` depends on `{dependency}`, which the project does not define"),
                    "define that service, or mark the dependency `required: false`",
                ));
            }
        }
    }
    if service.get("network_mode").is_some() && service.get("networks").is_some() {
        return Err(problem(
            service.get("networks").unwrap_or(service),
            &path.key("networks"),
            format!("service `{name}` sets both `network_mode` and `networks`"),
            "keep one: `network_mode` replaces the service's networks",
        ));
    }
    if let Some(networks) = service.get("networks") {
        let names: Vec<(String, &Node)> = match &networks.kind {
            Kind::Seq(items) => items.iter().filter_map(|item| Some((item.scalar_text()?, item))).collect(),
            Kind::Map(entries) => entries.iter().map(|(network, node)| (network.clone(), node)).collect(),
            _ => Vec::new(),
        };
        for (network, node) in names {
            if network != "default" && !defined(model, "networks", &network) {
                return Err(problem(
                    node,
                    &path.key("networks"),
                    format!("service `{name}` joins network `{network}`, which the project does not define"),
                    "declare it under the top-level `networks:`",
                ));
            }
        }
    }
    check_references(model, name, service, path)?;
    check_healthcheck(name, service, path)?;
    check_devices(name, service, path)?;
    check_mounts(name, service, path)?;
    let replicas = service.get("deploy").and_then(|deploy| deploy.get("replicas"));
    if let (Some(scale), Some(replicas)) = (service.get("scale"), replicas) {
        if scale.kind != replicas.kind {
            return Err(problem(
                scale,
                &path.key("scale"),
                format!("service `{name}` sets `scale` and `deploy.replicas` to different values"),
                "keep one of the two",
            ));
        }
    }
    Ok(())
}

/// Named volumes, secrets and configs a service uses must be declared.
fn check_references(model: &Node, name: &str, service: &Node, path: &KeyPath) -> Result<()> {
    for (index, volume) in service.get("volumes").map(Node::items).unwrap_or_default().iter().enumerate() {
        let source = match &volume.kind {
            Kind::Str(text) => text.split_once(':').map(|(source, _)| source.to_string()),
            Kind::Map(_) if volume.get("type").and_then(Node::as_str) == Some("volume") => {
                volume.get("source").and_then(Node::scalar_text)
            }
            _ => None,
        };
        let Some(source) = source else { continue };
        let path_like = source.is_empty() || source.starts_with(['.', '/', '~', '$']) || source.contains(['/', '\\']);
        if !path_like && !defined(model, "volumes", &source) {
            return Err(problem(
                volume,
                &path.key("volumes").index(index),
                format!("service `{name}` mounts volume `{source}`, which the project does not define"),
                "declare it under the top-level `volumes:`, or write `./` before a host directory",
            ));
        }
    }
    for section in ["secrets", "configs"] {
        for (index, entry) in service.get(section).map(Node::items).unwrap_or_default().iter().enumerate() {
            let source = match &entry.kind {
                Kind::Map(_) => entry.get("source").and_then(Node::scalar_text),
                _ => entry.scalar_text(),
            };
            let Some(source) = source else { continue };
            if !defined(model, section, &source) {
                let singular = section.trim_end_matches('s');
                return Err(problem(
                    entry,
                    &path.key(section).index(index),
                    format!("service `{name}` uses {singular} `{source}`, which the project does not define"),
                    &format!("declare it under the top-level `{section}:`"),
                ));
            }
        }
    }
    Ok(())
}

fn check_healthcheck(name: &str, service: &Node, path: &KeyPath) -> Result<()> {
    let Some(test) = service.get("healthcheck").and_then(|healthcheck| healthcheck.get("test")) else { return Ok(()) };
    let Some(first) = test.items().first() else { return Ok(()) };
    match first.as_str() {
        Some("CMD" | "CMD-SHELL" | "NONE") => Ok(()),
        _ => Err(problem(
            first,
            &path.key("healthcheck").key("test").index(0),
            format!("the healthcheck of service `{name}` must start with `CMD`, `CMD-SHELL` or `NONE`"),
            "write `[CMD, program, arg...]`, `[CMD-SHELL, \"shell line\"]`, or the shell line as a string",
        )),
    }
}

fn check_devices(name: &str, service: &Node, path: &KeyPath) -> Result<()> {
    let reservations = service
        .get("deploy")
        .and_then(|deploy| deploy.get("resources"))
        .and_then(|resources| resources.get("reservations"))
        .and_then(|reservations| reservations.get("devices"));
    let devices = path.key("deploy").key("resources").key("reservations").key("devices");
    let lists = [(reservations, devices), (service.get("gpus"), path.key("gpus"))];
    for (list, list_path) in lists {
        for (index, request) in list.map(Node::items).unwrap_or_default().iter().enumerate() {
            if request.get("count").is_some() && request.get("device_ids").is_some() {
                return Err(problem(
                    request,
                    &list_path.index(index),
                    format!("a device request of service `{name}` sets both `count` and `device_ids`"),
                    "ask for a number of devices (`count`) or for specific ones (`device_ids`), not both",
                ));
            }
        }
    }
    Ok(())
}

fn check_mounts(name: &str, service: &Node, path: &KeyPath) -> Result<()> {
    let mut mounted: Vec<(String, KeyPath)> = Vec::new();
    let tmpfs: Vec<&Node> = match service.get("tmpfs").map(|node| &node.kind) {
        Some(Kind::Seq(items)) => items.iter().collect(),
        Some(Kind::Str(_)) => service.get("tmpfs").into_iter().collect(),
        _ => Vec::new(),
    };
    let volumes = service.get("volumes").map(Node::items).unwrap_or_default();
    let targets = tmpfs
        .iter()
        .enumerate()
        .map(|(index, node)| {
            (
                node.as_str().map(|text| text.split(':').next().unwrap_or_default().to_string()),
                *node,
                path.key("tmpfs").index(index),
            )
        })
        .chain(volumes.iter().enumerate().map(|(index, node)| {
            let target = match &node.kind {
                Kind::Map(_) => node.get("target").and_then(Node::scalar_text),
                _ => node.as_str().map(|text| {
                    let mut parts = text.split(':');
                    let first = parts.next().unwrap_or_default();
                    parts.next().unwrap_or(first).to_string()
                }),
            };
            (target, node, path.key("volumes").index(index))
        }));
    for (target, node, at) in targets {
        let Some(target) = target else { continue };
        if let Some((_, first)) = mounted.iter().find(|(known, _)| *known == target) {
            return Err(problem(
                node,
                &at,
                format!("service `{name}` mounts `{target}` twice: here and as {first}"),
                "mount one volume or tmpfs per target",
            ));
        }
        mounted.push((target, at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn run(text: &str) -> std::result::Result<(), String> {
        let file: Arc<Path> = Arc::from(Path::new("compose.yaml"));
        let model = super::super::parse::parse(&file, text.as_bytes()).unwrap().remove(0);
        check(&model).map_err(|error| error.to_string())
    }

    #[test]
    fn a_service_needs_an_image_or_a_build() {
        assert_eq!(
            run("services:\n  web:\n    ports: ['80']\n").unwrap_err(),
            "error: service `web` has neither an `image` nor a `build`\n  --> compose.yaml:2:3\n  = key: services.web\n  = help: name the image to run (`image: ...`), or the build context it is built from (`build: ./dir`)"
        );
    }

    #[test]
    fn references_must_name_what_the_project_defines() {
        let error = run("services:\n  web:\n    image: x\n    depends_on: [db]\n").unwrap_err();
        assert!(error.starts_with("error: service `web` depends on `db`, which the project does not define\n  --> compose.yaml:4:18\n  = key: services.web.depends_on[0]"), "{error}");
        run("services:\n  web:\n    image: x\n    depends_on: {db: {condition: service_started, required: false}}\n")
            .unwrap();
        let error = run("services:\n  web:\n    image: x\n    volumes: ['data:/data', './here:/here']\n").unwrap_err();
        assert!(
            error.starts_with("error: service `web` mounts volume `data`, which the project does not define"),
            "{error}"
        );
        run("services:\n  web:\n    image: x\n    volumes: ['data:/data', './here:/here', '/abs:/abs']\nvolumes: {data: {}}\n").unwrap();
        let error = run("services:\n  web:\n    image: x\n    secrets: [token]\n").unwrap_err();
        assert!(
            error.starts_with("error: service `web` uses secret `token`, which the project does not define"),
            "{error}"
        );
        let error = run("services:\n  web:\n    image: x\n    networks: [back]\n").unwrap_err();
        assert!(error.starts_with("error: service `web` joins network `back`"), "{error}");
    }

    #[test]
    fn a_volume_and_a_tmpfs_on_one_target_are_refused() {
        assert_eq!(
            run("services:\n  web:\n    image: x\n    tmpfs: [/cache]\n    volumes: ['./c:/cache']\n").unwrap_err(),
            "error: service `web` mounts `/cache` twice: here and as services.web.tmpfs[0]\n  --> compose.yaml:5:15\n  = key: services.web.volumes[0]\n  = help: mount one volume or tmpfs per target"
        );
    }

    #[test]
    fn device_requests_take_count_or_device_ids() {
        let error = run("services:\n  llm:\n    image: x\n    deploy:\n      resources:\n        reservations:\n          devices:\n            - {driver: nvidia, count: 1, device_ids: ['0'], capabilities: [gpu]}\n").unwrap_err();
        assert!(
            error.starts_with(
                "error: a device request of service `llm` sets both `count` and `device_ids`\n  --> compose.yaml:8:15"
            ),
            "{error}"
        );
    }

    #[test]
    fn healthchecks_scale_and_secrets() {
        let error = run("services:\n  web:\n    image: x\n    healthcheck: {test: [curl, x]}\n").unwrap_err();
        assert!(
            error.starts_with("error: the healthcheck of service `web` must start with `CMD`, `CMD-SHELL` or `NONE`"),
            "{error}"
        );
        let error = run("services:\n  web:\n    image: x\n    scale: 2\n    deploy: {replicas: 3}\n").unwrap_err();
        assert!(
            error.starts_with("error: service `web` sets `scale` and `deploy.replicas` to different values"),
            "{error}"
        );
        let error = run("services: {}\nsecrets:\n  token: {name: t}\n").unwrap_err();
        assert!(error.starts_with("error: secret `token` declares neither `file` nor `environment`"), "{error}");
    }
}
