//! The keys that reach past the container into the host: privileges,
//! capabilities, namespaces shared with the host, sysctls, ulimits, and the
//! runtime details Kubernetes handles itself. kiln renders every pod with
//! the restricted Pod Security Standard (non-root, no privilege escalation,
//! all capabilities dropped, a read-only root filesystem), so each is
//! reported with the level it would need (Kubernetes docs, "Pod Security
//! Standards": baseline forbids privileged containers, host namespaces and
//! capabilities beyond its default list; restricted also forbids every
//! added capability but `NET_BIND_SERVICE`). `ipc: host`, which GPU
//! frameworks use for shared memory, becomes a memory-backed `/dev/shm`.

use serde_yaml::Value;

use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{MemoryVolume, Workload};

/// Capabilities the baseline level allows to add.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Keys reported as they are, with why.
const DROPPED: [(&str, &str); 14] = [
    ("security_opt", "seccomp, AppArmor and SELinux options: kiln pods use RuntimeDefault seccomp"),
    ("sysctls", "kiln renders no pod sysctls (unsafe ones need the kubelet's --allowed-unsafe-sysctls)"),
    ("ulimits", "Kubernetes has no per-container ulimits: they come from the container runtime's defaults on the node"),
    ("pid", "sharing the host's PID namespace needs hostPID (privileged level)"),
    ("init", "Kubernetes injects no init process: the image's entrypoint is PID 1"),
    ("tty", "kiln renders no TTY for containers"),
    ("stdin_open", "kiln renders no stdin for containers"),
    ("stop_signal", "Kubernetes stops containers with SIGTERM (the image's STOPSIGNAL applies)"),
    ("dns", "kiln renders no per-pod dnsConfig: pods use the cluster DNS"),
    ("dns_search", "kiln renders no per-pod dnsConfig: pods use the cluster DNS"),
    ("dns_opt", "kiln renders no per-pod dnsConfig: pods use the cluster DNS"),
    ("device_cgroup_rules", "device cgroup rules need a privileged pod"),
    ("cgroup_parent", "the kubelet places pods in cgroups itself"),
    ("group_add", "kiln sets one fsGroup (security.fsGroup), no supplemental groups"),
];

/// Keys that change nothing in a cluster, noted.
const NOTED: [(&str, &str); 4] = [
    ("logging", "container logs are the node runtime's; the cluster's log collection applies"),
    (
        "networks",
        "pods share one flat network; which pods may connect is the namespace's NetworkPolicies (networkPolicy, flows)",
    ),
    ("platform", "the image is pulled for the node's platform"),
    ("labels", "kiln labels its objects itself (app.kubernetes.io/*); compose labels are not copied"),
];

pub fn map(ctx: &mut Ctx<'_>, workload: &mut Workload) {
    if ctx.take("privileged").and_then(Value::as_bool) == Some(true) {
        ctx.report(
            "privileged",
            Status::Dropped,
            "a privileged container needs the privileged level, and kiln renders every container restricted",
        );
    }
    if let Some(added) = ctx.take("cap_add") {
        let added: Vec<String> = added
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(text)
            .map(|c| c.trim_start_matches("CAP_").to_string())
            .collect();
        let level = if added.iter().all(|c| c == "NET_BIND_SERVICE") {
            "restricted allows it, but kiln drops all capabilities"
        } else if added.iter().all(|c| BASELINE_CAPABILITIES.contains(&c.as_str())) {
            "this needs the baseline level"
        } else {
            "this needs the privileged level"
        };
        ctx.report("cap_add", Status::Dropped, format!("adding {}: {level}", added.join(", ")));
    }
    if ctx.take("cap_drop").is_some() {
        ctx.report("cap_drop", Status::Note, "kiln drops every capability already");
    }
    match ctx.take("read_only").and_then(Value::as_bool) {
        Some(true) => {}
        _ => ctx.report("", Status::Note, "kiln runs the root filesystem read-only with /tmp writable: add writablePaths for other paths the image writes"),
    }
    match ctx.take("ipc").and_then(text).as_deref() {
        None | Some("private") => {}
        Some("host" | "shareable") => {
            let volumes = workload.memory_volumes.get_or_insert_with(Vec::new);
            if !volumes.iter().any(|volume| volume.mount_path.as_deref() == Some("/dev/shm")) {
                volumes.push(MemoryVolume { mount_path: Some("/dev/shm".into()), size: None });
            }
            ctx.report("ipc", Status::Approximated, "host IPC (hostIPC, privileged level) replaced by a memory-backed /dev/shm, bounded by the container's memory limit; set shm_size for a size");
        }
        Some(other) => ctx.report(
            "ipc",
            Status::Dropped,
            format!(
                "`ipc: {other}`: containers share IPC only within one pod, and kiln renders one container per workload"
            ),
        ),
    }
    match ctx.take("network_mode").and_then(text).as_deref() {
        None | Some("bridge" | "default") => {}
        Some("host") => ctx.report("network_mode", Status::Dropped, "the host's network needs hostNetwork (privileged level): the pod gets its own address and the Service"),
        Some(other) if other.starts_with("service:") || other.starts_with("container:") => ctx.report("network_mode", Status::Dropped, format!("`{other}`: containers sharing a network namespace are one pod's containers, and kiln renders one container per workload")),
        Some(other) => ctx.report("network_mode", Status::Dropped, format!("`network_mode: {other}` has no Kubernetes equivalent")),
    }
    for (key, why) in DROPPED {
        if ctx.take(key).is_some() {
            ctx.report(key, Status::Dropped, why);
        }
    }
    for (key, why) in NOTED {
        if ctx.take(key).is_some() {
            ctx.report(key, Status::Note, why);
        }
    }
}
