//! `extends` (compose-spec 05-services.md "extends"): `extends: base` or
//! `extends: {service: base, file: other.yaml}`. The referenced service,
//! with its own `extends` resolved first (chains, across files), is the base
//! the service's own definition merges over, by the rules of [`super::merge`],
//! the `extends` key then removed. `file` is relative to the project
//! directory, or, for a file reached through `extends`, to that file's
//! directory (compose-go `getExtendsBaseFromFile`); the file is read and
//! interpolated with the project's variables, and its relative paths are
//! rebased onto the project directory ([`super::paths`]). The referenced
//! service's own `!reset`s are applied before the merge, so they affect it
//! alone. A service not found, a file not found, and a cycle are errors; the
//! cycle is named service by service.

use std::path::{Path, PathBuf};

use super::interpolate::{interpolate, Environment};
use super::node::{Kind, Node};
use super::{merge, paths, Loader};
use crate::values::key_path::KeyPath;
use crate::{Error, Result};

/// Resolves the `extends` of every service of `document`, read from `file`
/// of the project in `directory`.
pub fn apply(loader: &Loader, document: &mut Node, file: &Path, directory: &Path, env: &Environment) -> Result<()> {
    let Some(services) = document.get("services") else { return Ok(()) };
    if !services.entries().iter().any(|(_, service)| service.get("extends").is_some()) {
        return Ok(());
    }
    let source =
        Source { file: paths::normalize(file), directory: directory.to_path_buf(), services: services.clone() };
    let mut resolved = Vec::new();
    for (name, service) in services.entries() {
        if service.get("extends").is_some() {
            let mut chain = Vec::new();
            resolved.push((name.clone(), resolve(loader, &source, name, env, &mut chain)?));
        }
    }
    if let Some(services) = document.get_mut("services") {
        for (name, service) in resolved {
            services.insert(&name, service);
        }
    }
    Ok(())
}

/// The services of one file, and where relative `file`s resolve from.
struct Source {
    file: PathBuf,
    directory: PathBuf,
    services: Node,
}

fn resolve(
    loader: &Loader,
    source: &Source,
    name: &str,
    env: &Environment,
    chain: &mut Vec<(PathBuf, String)>,
) -> Result<Node> {
    let Some(service) = source.services.get(name) else {
        return Err(Error::Compose {
            location: crate::diagnostic::Location::file(&source.file),
            key_path: KeyPath::root().key("services").key(name).to_string(),
            message: format!("service `{name}` is not defined in `{}`", source.file.display()),
            help: None,
        });
    };
    let path = KeyPath::root().key("services").key(name).key("extends");
    let Some(extends) = service.get("extends") else { return Ok(service.clone()) };
    let error = |node: &Node, key_path: &KeyPath, message: String, help: &str| Error::Compose {
        location: node.at.location(),
        key_path: key_path.to_string(),
        message,
        help: Some(help.to_string()),
    };
    let (reference, other) = match &extends.kind {
        Kind::Str(reference) => (reference.clone(), None),
        Kind::Map(_) => match extends.get("service").and_then(Node::as_str) {
            Some(reference) => (reference.to_string(), extends.get("file").and_then(Node::as_str).map(str::to_string)),
            None => {
                return Err(error(
                    extends,
                    &path,
                    format!("`extends` of service `{name}` names no `service`"),
                    "write `extends: {service: base}` or `extends: base`",
                ));
            }
        },
        _ => {
            return Err(error(
                extends,
                &path,
                format!("`extends` of service `{name}` must be a service name or a mapping"),
                "write `extends: {service: base, file: other.yaml}` or `extends: base`",
            ));
        }
    };
    chain.push((source.file.clone(), name.to_string()));
    let base = match other {
        None => {
            if source.services.get(&reference).is_none() {
                return Err(error(
                    extends,
                    &path,
                    format!(
                        "service `{name}` extends `{reference}`, which is not defined in `{}`",
                        source.file.display()
                    ),
                    "define that service, or name the file it is in with `extends: {file: ..., service: ...}`",
                ));
            }
            refuse_cycle(chain, &source.file, &reference, extends, &path)?;
            resolve(loader, source, &reference, env, chain)?
        }
        Some(other) => {
            let file = paths::normalize(&source.directory.join(&other));
            let directory = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let mut services = other_services(loader, &file, env)?;
            let offset = paths::offset(&loader.project, &directory);
            if let Kind::Map(entries) = &mut services.kind {
                for (_, service) in entries.iter_mut() {
                    paths::rebase_service(service, &offset);
                }
            }
            if services.get(&reference).is_none() {
                return Err(error(
                    extends,
                    &path,
                    format!("service `{name}` extends `{reference}`, which is not defined in `{}`", file.display()),
                    "check the service name and the file's `services:`",
                ));
            }
            refuse_cycle(chain, &file, &reference, extends, &path)?;
            let next = Source { file, directory, services };
            resolve(loader, &next, &reference, env, chain)?
        }
    };
    chain.pop();
    let mut base = base;
    merge::clean(&mut base);
    let mut own = service.clone();
    own.remove("extends");
    merge::merge(base, own, &["services", name])
}

/// The `services` of another file, read and interpolated.
fn other_services(loader: &Loader, file: &Path, env: &Environment) -> Result<Node> {
    let mut services: Option<Node> = None;
    for mut document in loader.documents(file)? {
        interpolate(&mut document, env)?;
        let Some(found) = document.remove("services") else { continue };
        services = Some(match services.take() {
            None => found,
            Some(base) => merge::merge(base, found, &["services"])?,
        });
    }
    services.ok_or_else(|| Error::Compose {
        location: crate::diagnostic::Location::file(file),
        key_path: String::new(),
        message: format!("`{}` has no `services:` to extend", file.display()),
        help: Some("`extends.file` names a Compose file that defines the service".into()),
    })
}

fn refuse_cycle(chain: &[(PathBuf, String)], file: &Path, reference: &str, at: &Node, path: &KeyPath) -> Result<()> {
    let Some(start) = chain.iter().position(|(seen, name)| seen == file && name == reference) else { return Ok(()) };
    let first_file = chain.first().map(|(file, _)| file.clone());
    let step = |(file, name): &(PathBuf, String)| match Some(file) == first_file.as_ref() {
        true => format!("`{name}`"),
        false => format!("`{name}` ({})", file.display()),
    };
    let names: Vec<String> =
        chain.iter().skip(start).chain([&(file.to_path_buf(), reference.to_string())]).map(step).collect();
    Err(Error::Compose {
        location: at.at.location(),
        key_path: path.to_string(),
        message: format!("`extends` cycle: {}", names.join(" extends ")),
        help: Some("a service cannot extend itself, directly or through the services it extends".into()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{load_with, Memory, Options};

    fn load(files: &[(&str, &str)]) -> crate::Result<crate::import::compose::project::Project> {
        let memory = Memory(
            files.iter().map(|(path, text)| (path.into(), text.as_bytes().to_vec())).collect::<BTreeMap<_, _>>(),
        );
        load_with(&Options { files: vec!["p/compose.yaml".into()], ..Options::default() }, &memory)
    }

    fn service(project: &crate::import::compose::project::Project, name: &str) -> serde_yaml::Value {
        serde_yaml::Value::Mapping(project.services[name].definition.clone())
    }

    fn yaml(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn a_service_extends_one_in_the_same_file_through_a_chain() {
        let project = load(&[(
            "p/compose.yaml",
            "services:\n  base:\n    image: busybox\n    user: root\n  common:\n    image: busybox\n    extends: {service: base}\n  cli:\n    extends: common\n    environment: {PORT: 8080}\n",
        )])
        .unwrap();
        assert_eq!(service(&project, "cli"), yaml("image: busybox\nuser: root\nenvironment: {PORT: 8080}\n"));
    }

    #[test]
    fn extends_merges_environment_and_volumes_by_key() {
        let project = load(&[(
            "p/compose.yaml",
            "services:\n  common:\n    image: busybox\n    environment: {TZ: utc, PORT: 80}\n    volumes: ['common-volume:/var/lib/backup/data:rw']\n  cli:\n    extends: {service: common}\n    environment: {PORT: 8080}\n    volumes: ['cli-volume:/var/lib/backup/data:ro']\nvolumes:\n  common-volume: {}\n  cli-volume: {}\n",
        )])
        .unwrap();
        assert_eq!(
            service(&project, "cli"),
            yaml("image: busybox\nenvironment: [PORT=8080, TZ=utc]\nvolumes: ['cli-volume:/var/lib/backup/data:ro']\n")
        );
    }

    #[test]
    fn extends_reads_other_files_and_rebases_their_paths() {
        let project = load(&[
            (
                "p/compose.yaml",
                "services:\n  web:\n    extends: {file: common/base.yaml, service: app}\n    image: web\n",
            ),
            (
                "p/common/base.yaml",
                "services:\n  app:\n    extends: {file: ../more/root.yaml, service: root}\n    build: ./app\n",
            ),
            ("p/more/root.yaml", "services:\n  root:\n    image: root\n    volumes: ['./data:/data']\n"),
        ])
        .unwrap();
        assert_eq!(service(&project, "web"), yaml("image: web\nvolumes: ['./more/data:/data']\nbuild: ./common/app\n"));
        assert_eq!(
            project.locate(&crate::values::key_path::KeyPath::parse("services.web.build")).unwrap().to_string(),
            "p/common/base.yaml:4:5"
        );
    }

    #[test]
    fn extends_of_an_unknown_service_names_it() {
        let error = load(&[("p/compose.yaml", "services:\n  web:\n    image: x\n    extends: base\n")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "error: service `web` extends `base`, which is not defined in `p/compose.yaml`\n  --> p/compose.yaml:4:5\n  = key: services.web.extends\n  = help: define that service, or name the file it is in with `extends: {file: ..., service: ...}`"
        );
        let error = load(&[
            ("p/compose.yaml", "services:\n  web:\n    extends: {file: other.yaml, service: base}\n"),
            ("p/other.yaml", "services:\n  app: {image: x}\n"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("error: service `web` extends `base`, which is not defined in `p/other.yaml`"),
            "{error}"
        );
        let error = load(&[("p/compose.yaml", "services:\n  web:\n    extends: {file: gone.yaml, service: base}\n")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("error: could not read `p/gone.yaml`"), "{error}");
    }

    #[test]
    fn extends_cycles_are_refused_with_the_chain_named() {
        let error = load(&[(
            "p/compose.yaml",
            "services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n",
        )])
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "error: `extends` cycle: `a` extends `b` extends `c` extends `a`\n  --> p/compose.yaml:8:5\n  = key: services.c.extends\n  = help: a service cannot extend itself, directly or through the services it extends"
        );
        let error = load(&[
            ("p/compose.yaml", "services:\n  a:\n    extends: {file: o.yaml, service: b}\n"),
            ("p/o.yaml", "services:\n  b:\n    extends: {file: compose.yaml, service: a}\n"),
        ])
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("error: `extends` cycle: `a` extends `b` (p/o.yaml) extends `a`"), "{error}");
    }

    #[test]
    fn reset_in_the_extending_service_removes_what_the_base_sets() {
        let project = load(&[(
            "p/compose.yaml",
            "services:\n  base:\n    image: x\n    ports: ['80']\n    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}}}\n  cpu:\n    extends: base\n    deploy: !reset {}\n    ports: !override ['81']\n",
        )])
        .unwrap();
        assert_eq!(service(&project, "cpu"), yaml("image: x\nports: ['81']\n"));
    }
}
