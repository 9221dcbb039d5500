//! `kiln import compose`: validates the arguments, loads the project (and,
//! side by side, this repository's values), maps it, plans the values edits
//! (proved to load before anything is written), then writes them (or prints
//! them with `--dry-run`), writes the JSON report of `--report`, and prints
//! the short report on stderr. Exit 0 when everything mapped exactly, 1 when
//! something was approximated, dropped or left to seal, 2 on invalid input
//! (an `Error`).

use std::collections::BTreeMap;
use std::path::Path;

use super::load::{self, Options};
use super::map::cluster::Cluster;
use super::map::groups::Placement;
use super::{map, write};
use crate::cli::ComposeArguments;
use crate::input::InputFiles;
use crate::settings::Settings;
use crate::values::{self, Keep, Values};
use crate::{fsutil, parallel, Error, Outcome, Result};

pub fn run(settings: &Settings, arguments: &ComposeArguments) -> Result<Outcome> {
    let placement = placement(arguments)?;
    // The project and this repository's values do not depend on each other:
    // both are read at once, and a broken project is still reported first.
    let (project, repository) = parallel::join(
        || {
            load::load(&Options {
                files: arguments.files.clone(),
                project_directory: arguments.project_directory.clone(),
                env_files: arguments.env_files.clone(),
                profiles: arguments.profiles.clone(),
            })
        },
        || load_values(&settings.root),
    );
    let project = project?;
    let (inputs, values) = repository?;
    let cluster = Cluster::from_values(&values);
    let mut mapped = map::map(&project, &cluster, &placement)?;
    let edits = write::plan(&inputs, values, &mut mapped, &cluster, &project.name)?;
    let report = &mut mapped.report;
    report.dry_run = arguments.dry_run;
    report.finish();
    if arguments.dry_run {
        print!("{}", write::preview(&edits));
    } else {
        write::write(&settings.root, &edits)?;
    }
    if let Some(path) = &arguments.report {
        fsutil::write(path, format!("{}\n", report.to_json()).as_bytes())?;
    }
    eprint!("{}", report.to_text());
    if !arguments.dry_run && !edits.is_empty() {
        eprintln!("run `kiln render` to update rendered/");
    }
    Ok(if report.exact() { Outcome::Ok } else { Outcome::CheckFailed })
}

/// This repository's input files and its values as `kiln render` loads them.
fn load_values(root: &Path) -> Result<(InputFiles, Values)> {
    let inputs = InputFiles::from_dir(root)?;
    let values = values::load(&inputs, Keep::Typed)?;
    Ok((inputs, values))
}

/// `--namespace` or the `--group-map` entries, checked.
fn placement(arguments: &ComposeArguments) -> Result<Placement> {
    let mut group_map = BTreeMap::new();
    for entry in &arguments.group_map {
        let Some((group, namespace)) = entry.split_once('=').filter(|(g, n)| !g.is_empty() && !n.is_empty()) else {
            return Err(Error::Usage { message: format!("`--group-map {entry}`: write `--group-map GROUP=NS`") });
        };
        check_namespace(namespace, "--group-map")?;
        let group = group.trim().to_ascii_lowercase().replace('-', "_");
        if group_map.insert(group.clone(), namespace.to_string()).is_some() {
            return Err(Error::Usage { message: format!("group `{group}` is given twice with `--group-map`") });
        }
    }
    if let Some(namespace) = &arguments.namespace {
        check_namespace(namespace, "--namespace")?;
    }
    Ok(Placement { namespace: arguments.namespace.clone(), group_map })
}

/// A namespace name is a DNS-1123 label (Kubernetes `ValidateNamespaceName`).
fn check_namespace(namespace: &str, flag: &str) -> Result<()> {
    let label = (1..=63).contains(&namespace.len())
        && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if label {
        Ok(())
    } else {
        Err(Error::Usage { message: format!("`{flag} {namespace}`: a namespace name is at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit") })
    }
}
