//! `volumes`, `tmpfs`, `shm_size` and `volumes_from` → kiln's volume kinds.
//!
//! Compose (compose-spec `05-services.md` "volumes", "tmpfs", "shm_size";
//! `07-volumes.md`): the short form `[SOURCE:]TARGET[:MODE]` (a SOURCE that
//! is a path, `.`/`/`/`~` first, is a bind mount; otherwise a named volume;
//! none is an anonymous volume) and the long form `{type, source, target,
//! read_only, bind: {create_host_path, propagation, selinux}, volume:
//! {nocopy, subpath}, tmpfs: {size, mode}}`. Each mount is classified:
//!
//! | Compose | kiln |
//! |---|---|
//! | named volume used by one service | `volumes[]` claim of its own (the service becomes a StatefulSet) |
//! | named volume or bound directory used by several | a namespace `sharedVolumes` entry (ReadWriteMany on the shared storage class) mounted with `claim` |
//! | bind of a single file | `configFiles[]`, its content read from disk (a ConfigMap) |
//! | bind of a directory | a claim, like a named volume (the data is not copied) |
//! | Docker socket, `/dev`, `/sys`, `/proc` | reported: they need a privileged pod with hostPath |
//! | anonymous volume | `writablePaths` (an emptyDir) |
//! | `tmpfs`, `type: tmpfs`, `shm_size` | `memoryVolumes[]` (an emptyDir in memory with `sizeLimit`), `/dev/shm` for `shm_size` |
//!
//! Compose volumes have no size: a claim gets `x-kiln: {size: …}` of the
//! top-level volume, else 10Gi, reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use super::units::{bytes, memory_quantity};
use crate::import::compose::project::Project;
use crate::values::schema::{ConfigFile, MemoryVolume, Quantity, SharedVolume, Volume, Workload};
use crate::Result;

const DEFAULT_SIZE: &str = "10Gi";
/// A ConfigMap holds at most 1 MiB (Kubernetes `MaxSecretSize` and the
/// ConfigMap limit alike); a larger file is data, not configuration.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// One mount as written, before classification.
#[derive(Debug, Clone)]
struct Mount {
    at: String,
    kind: Kind,
    source: String,
    target: String,
    read_only: bool,
    /// Long-syntax options and short-syntax modes kiln cannot express.
    lost: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Volume,
    Bind,
    Anonymous,
    Tmpfs { size: Option<u64> },
    Other,
}

/// Which services use each named volume (`volume:<name>`) or bound
/// directory (`bind:<path>`): used by more than one, it is shared.
#[derive(Debug, Default)]
pub struct Usage(BTreeMap<String, BTreeSet<String>>);

impl Usage {
    pub fn of(project: &Project) -> Usage {
        let mut usage = Usage::default();
        for service in project.services.values() {
            for mount in mounts_of(service.definition.get("volumes")) {
                if let Some(key) = share_key(project, &mount) {
                    usage.0.entry(key).or_default().insert(service.name.clone());
                }
            }
        }
        usage
    }

    fn shared(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|users| users.len() > 1)
    }
}

fn share_key(project: &Project, mount: &Mount) -> Option<String> {
    match mount.kind {
        Kind::Volume => Some(format!("volume:{}", mount.source)),
        Kind::Bind => Some(format!("bind:{}", resolve(&project.directory, &mount.source).display())),
        _ => None,
    }
}

/// A `sharedVolumes` entry the namespace needs.
pub type Shared = (String, SharedVolume);

/// Maps the service's mounts; returns the shared volumes it mounts and
/// whether it has persistent data of its own.
pub fn map(
    ctx: &mut Ctx<'_>,
    usage: &Usage,
    shared_storage: bool,
    workload: &mut Workload,
) -> Result<(Vec<Shared>, bool)> {
    let mut shared = Vec::new();
    let mut own_data = false;
    let mounts = mounts_of(ctx.take("volumes"));
    let project = ctx.project;
    for mount in mounts {
        for (key, why) in &mount.lost {
            ctx.report(&format!("{}{key}", mount.at), Status::Dropped, why.clone());
        }
        match mount.kind {
            Kind::Anonymous => {
                workload.writable_paths.get_or_insert_with(|| vec!["/tmp".into()]).push(mount.target.clone())
            }
            Kind::Tmpfs { size } => memory(workload, &mount.target, size),
            Kind::Other => {
                ctx.report(&mount.at, Status::Dropped, "this volume type has no Kubernetes equivalent kiln renders")
            }
            Kind::Volume | Kind::Bind => {
                let path = resolve(&project.directory, &mount.source);
                if mount.kind == Kind::Bind {
                    if let Some(why) = host_only(&mount.source) {
                        ctx.report(&mount.at, Status::Dropped, why);
                        continue;
                    }
                    if path.is_file() {
                        config_file(ctx, &mount, &path, workload);
                        continue;
                    }
                }
                let key = share_key(project, &mount).unwrap_or_default();
                let name = volume_name(&mount, &path);
                let size = size_of(ctx, &mount, &name);
                let what = if mount.kind == Kind::Bind {
                    if path.is_dir() {
                        format!("bound directory `{}` becomes a claim: its files are not copied", mount.source)
                    } else {
                        format!(
                            "`{}` does not exist: Compose would create an empty directory, kiln an empty claim",
                            mount.source
                        )
                    }
                } else {
                    format!("volume `{}`: its data in Docker is not copied into the claim", mount.source)
                };
                ctx.report(&mount.at, Status::Note, what);
                if usage.shared(&key) {
                    if !shared_storage {
                        ctx.report(&mount.at, Status::Approximated, "several services mount it but the cluster declares no shared storage class (`storage.sharedClass`): a ReadWriteOnce local claim, so its pods must share a node");
                    }
                    shared.push((
                        name.clone(),
                        SharedVolume {
                            description: Some(format!(
                                "compose {} `{}`",
                                if mount.kind == Kind::Bind { "directory" } else { "volume" },
                                mount.source
                            )),
                            size: Some(size),
                            storage: Some(if shared_storage { "shared" } else { "local" }.into()),
                            access_mode: Some(if shared_storage { "ReadWriteMany" } else { "ReadWriteOnce" }.into()),
                        },
                    ));
                    workload.volumes.get_or_insert_with(Vec::new).push(Volume {
                        name: Some(name.clone()),
                        mount_path: Some(mount.target.clone()),
                        claim: Some(name),
                        read_only: mount.read_only.then_some(true),
                        ..Volume::default()
                    });
                } else {
                    own_data = true;
                    workload.volumes.get_or_insert_with(Vec::new).push(Volume {
                        name: Some(name),
                        mount_path: Some(mount.target.clone()),
                        read_only: mount.read_only.then_some(true),
                        size: Some(size),
                        ..Volume::default()
                    });
                }
            }
        }
    }
    tmpfs(ctx, workload)?;
    if let Some(size) = ctx.take("shm_size") {
        let size = text(size)
            .and_then(|size| bytes(&size))
            .ok_or_else(|| ctx.invalid("shm_size", "`shm_size` is not a byte value", "write e.g. `shm_size: 8gb`"))?;
        memory(workload, "/dev/shm", Some(size));
    }
    if ctx.take("volumes_from").is_some() {
        ctx.report(
            "volumes_from",
            Status::Dropped,
            "mounting another container's volumes has no equivalent: mount the same volumes by name",
        );
    }
    Ok((shared, own_data))
}

fn memory(workload: &mut Workload, target: &str, size: Option<u64>) {
    let volumes = workload.memory_volumes.get_or_insert_with(Vec::new);
    volumes.retain(|volume| volume.mount_path.as_deref() != Some(target));
    volumes.push(MemoryVolume {
        mount_path: Some(target.to_string()),
        size: size.map(|size| Quantity(memory_quantity(size))),
    });
}

/// The service-level `tmpfs`: a path or a list, each `PATH[:size=N,mode=M]`.
fn tmpfs(ctx: &mut Ctx<'_>, workload: &mut Workload) -> Result<()> {
    let entries: Vec<String> = match ctx.take("tmpfs") {
        None => return Ok(()),
        Some(Value::Sequence(list)) => list.iter().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
    };
    for (index, entry) in entries.iter().enumerate() {
        let (target, options) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
        let mut size = None;
        for option in options.split(',').filter(|option| !option.is_empty()) {
            match option.split_once('=') {
                Some(("size", value)) => {
                    size = Some(bytes(value).ok_or_else(|| {
                        ctx.invalid(
                            &format!("tmpfs[{index}]"),
                            format!("`{value}` is not a byte value"),
                            "write e.g. `size=64m`",
                        )
                    })?)
                }
                _ => ctx.report(
                    &format!("tmpfs[{index}]"),
                    Status::Dropped,
                    format!("tmpfs option `{option}` has no emptyDir equivalent"),
                ),
            }
        }
        memory(workload, target, size);
    }
    Ok(())
}

fn config_file(ctx: &mut Ctx<'_>, mount: &Mount, path: &Path, workload: &mut Workload) {
    let size = std::fs::metadata(path).map(|metadata| metadata.len()).unwrap_or(u64::MAX);
    let content = (size <= MAX_CONFIG_BYTES)
        .then(|| std::fs::read(path).ok())
        .flatten()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(content) = content else {
        ctx.report(
            &mount.at,
            Status::Dropped,
            format!("`{}` is not a text file of at most 1 MiB: it cannot be a ConfigMap", mount.source),
        );
        return;
    };
    if !mount.read_only {
        ctx.report(
            &mount.at,
            Status::Approximated,
            format!("`{}` is mounted read-only from a ConfigMap: writes to it fail", mount.source),
        );
    }
    ctx.report(
        &mount.at,
        Status::Note,
        format!("content of `{}` copied into configFiles: edit it there from now on", mount.source),
    );
    workload
        .config_files
        .get_or_insert_with(Vec::new)
        .push(ConfigFile { mount_path: Some(mount.target.clone()), content: Some(content) });
}

/// Why a host path cannot be mounted, if it is one of the host's own.
fn host_only(source: &str) -> Option<String> {
    let path = source.trim_end_matches('/');
    if path.ends_with("docker.sock") || path.ends_with(".sock") {
        return Some(format!(
            "`{source}` is a host socket: pods cannot reach Docker; this needs a privileged pod with hostPath"
        ));
    }
    ["/dev", "/sys", "/proc"]
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
        .then(|| format!("`{source}` is the host's own: it needs a privileged pod with hostPath, which restricted pod security forbids"))
}

fn size_of(ctx: &mut Ctx<'_>, mount: &Mount, name: &str) -> Quantity {
    let declared = (mount.kind == Kind::Volume)
        .then(|| ctx.project.volumes.get(&mount.source))
        .flatten()
        .and_then(|volume| volume.get("x-kiln")?.get("size"))
        .and_then(text)
        .filter(|size| crate::values::schema::parse_quantity_milli(size).is_some());
    match declared {
        Some(size) => Quantity(size),
        None => {
            ctx.report(&mount.at, Status::Approximated, format!("Compose volumes have no size: claim `{name}` gets {DEFAULT_SIZE} (set `x-kiln: {{size: …}}` on the volume, or `size` in values)"));
            Quantity(DEFAULT_SIZE.into())
        }
    }
}

/// A DNS label for the claim: the volume's name, or the bound directory's.
fn volume_name(mount: &Mount, path: &Path) -> String {
    let base = match mount.kind {
        Kind::Volume => mount.source.clone(),
        _ => path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "data".into()),
    };
    let mut name: String =
        base.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name: String = name.trim_matches('-').chars().take(40).collect();
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "data".into()
    } else {
        name
    }
}

fn resolve(directory: &Path, source: &str) -> PathBuf {
    let path = Path::new(source);
    if path.is_absolute() || source.starts_with('~') {
        path.to_path_buf()
    } else {
        directory.join(path)
    }
}

fn mounts_of(value: Option<&Value>) -> Vec<Mount> {
    value
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, entry)| {
            let at = format!("volumes[{index}]");
            match entry {
                Value::Mapping(long) => Some(long_mount(at, long)),
                other => text(other).map(|short| short_mount(at, &short)),
            }
        })
        .collect()
}

fn is_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

fn short_mount(at: String, written: &str) -> Mount {
    let parts: Vec<&str> = written.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [source, target] => (*source, *target, ""),
        [source, target, mode, ..] => (*source, *target, *mode),
        [] => ("", "", ""),
    };
    let kind = if source.is_empty() {
        Kind::Anonymous
    } else if is_path(source) {
        Kind::Bind
    } else {
        Kind::Volume
    };
    let mut lost = Vec::new();
    let mut read_only = false;
    for flag in mode.split(',').filter(|flag| !flag.is_empty()) {
        match flag {
            "ro" => read_only = true,
            "rw" => {}
            "z" | "Z" => lost
                .push((String::new(), format!("SELinux relabelling `:{flag}` is the node's business in Kubernetes"))),
            other => lost.push((String::new(), format!("mount option `{other}` has no Kubernetes equivalent"))),
        }
    }
    Mount { at, kind, source: source.to_string(), target: target.to_string(), read_only, lost }
}

fn long_mount(at: String, long: &serde_yaml::Mapping) -> Mount {
    let get = |key: &str| long.get(key).and_then(text);
    let source = get("source").unwrap_or_default();
    let kind = match get("type").as_deref() {
        Some("volume") if source.is_empty() => Kind::Anonymous,
        Some("volume") | None => {
            if source.is_empty() {
                Kind::Anonymous
            } else if is_path(&source) {
                Kind::Bind
            } else {
                Kind::Volume
            }
        }
        Some("bind") => Kind::Bind,
        Some("tmpfs") => {
            Kind::Tmpfs { size: long.get("tmpfs").and_then(|t| t.get("size")).and_then(text).and_then(|s| bytes(&s)) }
        }
        Some(_) => Kind::Other,
    };
    let mut lost = Vec::new();
    for (section, key, why) in [
        ("bind", "propagation", "mount propagation is not expressible in kiln's volumes"),
        ("bind", "selinux", "SELinux relabelling is the node's business in Kubernetes"),
        ("volume", "subpath", "kiln mounts whole claims: a subPath is not expressible"),
        ("volume", "nocopy", "a new claim starts empty: nothing is copied from the image either way"),
        ("tmpfs", "mode", "an emptyDir's mode follows the pod's fsGroup"),
    ] {
        if long.get(section).and_then(|s| s.get(key)).is_some() {
            lost.push((format!(".{section}.{key}"), why.to_string()));
        }
    }
    if long.get("bind").and_then(|b| b.get("create_host_path")).is_some() {
        lost.push((
            ".bind.create_host_path".into(),
            "only hostPath volumes create host paths; a claim always exists".into(),
        ));
    }
    let read_only = long.get("read_only").and_then(Value::as_bool).unwrap_or(false);
    Mount { at, kind, source, target: get("target").unwrap_or_default(), read_only, lost }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::project::Service;

    fn project(yaml: &str) -> Project {
        let services: BTreeMap<String, Value> = serde_yaml::from_str(yaml).unwrap();
        Project {
            directory: PathBuf::from("/nonexistent"),
            services: services
                .into_iter()
                .map(|(name, definition)| {
                    let definition = definition.as_mapping().cloned().unwrap();
                    (name.clone(), Service { name, definition, ..Service::default() })
                })
                .collect(),
            ..Project::default()
        }
    }

    fn mapped(project: &Project, service: &str) -> (Workload, Vec<Shared>, bool, Vec<String>) {
        let usage = Usage::of(project);
        let mut ctx = Ctx::new(project, &project.services[service]);
        let mut workload = Workload::default();
        let (shared, own) = map(&mut ctx, &usage, true, &mut workload).unwrap();
        (
            workload,
            shared,
            own,
            ctx.entries.iter().map(|e| format!("{} {}: {}", e.status.as_str(), e.key, e.message)).collect(),
        )
    }

    #[test]
    fn a_named_volume_of_two_services_stays_one_shared_volume() {
        let project = project("a: {volumes: [\"models:/models\"]}\nb: {volumes: [{type: volume, source: models, target: /m, read_only: true}]}\nc: {volumes: [\"db_data:/var/lib/db\"]}");
        let (a, shared, own, _) = mapped(&project, "a");
        assert_eq!(shared[0].0, "models");
        assert_eq!(shared[0].1.access_mode.as_deref(), Some("ReadWriteMany"));
        assert_eq!(a.volumes.unwrap()[0].claim.as_deref(), Some("models"));
        assert!(!own);
        let (b, _, _, _) = mapped(&project, "b");
        assert_eq!(b.volumes.unwrap()[0].read_only, Some(true));
        let (c, shared, own, report) = mapped(&project, "c");
        assert!(shared.is_empty() && own);
        let volume = &c.volumes.unwrap()[0];
        assert_eq!(
            (volume.name.as_deref(), volume.size.as_ref().map(|q| q.0.as_str())),
            (Some("db-data"), Some("10Gi"))
        );
        assert!(
            report
                .iter()
                .any(|line| line.starts_with("approximated services.c.volumes[0]: Compose volumes have no size")),
            "{report:?}"
        );
    }

    #[test]
    fn sockets_and_devices_are_reported_tmpfs_and_shm_are_memory() {
        let project = project("a: {volumes: [\"/var/run/docker.sock:/var/run/docker.sock\", \"/dev/snd:/dev/snd\", \"/cache\", {type: tmpfs, target: /scratch, tmpfs: {size: 67108864}}], tmpfs: [\"/run:size=64m\"], shm_size: 8gb}");
        let (a, _, own, report) = mapped(&project, "a");
        assert!(!own);
        assert_eq!(a.writable_paths.unwrap(), ["/tmp", "/cache"]);
        let memory: Vec<(String, Option<String>)> =
            a.memory_volumes.unwrap().into_iter().map(|m| (m.mount_path.unwrap(), m.size.map(|q| q.0))).collect();
        assert_eq!(
            memory,
            [
                ("/scratch".into(), Some("64Mi".into())),
                ("/run".into(), Some("64Mi".into())),
                ("/dev/shm".into(), Some("8Gi".into()))
            ]
        );
        assert!(
            report[0].starts_with("dropped services.a.volumes[0]: `/var/run/docker.sock` is a host socket"),
            "{report:?}"
        );
        assert!(report[1].starts_with("dropped services.a.volumes[1]: `/dev/snd` is the host's own"), "{report:?}");
    }
}
