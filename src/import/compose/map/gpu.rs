//! GPU requests: every form Compose has, to kiln's `gpu` (an
//! `nvidia.com/gpu` request, `runtimeClassName: nvidia`) placed on the
//! cluster's GPU nodes.
//!
//! The forms (compose-spec `deploy.md` "devices", `05-services.md` `gpus`,
//! and compose-go's normalisation in `transform/devices.go` and
//! `transform/gpus.go`):
//! - `deploy.resources.reservations.devices[]` with `driver: nvidia` (or
//!   `nvidia.com/gpu`, or `cdi` with `nvidia.com/gpu=…` device ids), or
//!   NVIDIA capabilities (`gpu`, `compute`, `utility`, …) without a driver;
//!   `count` a number, `"N"`, `all` or absent ("If `count` is set to `all`
//!   or not specified, Compose reserves all devices"), or `device_ids`
//!   instead (the two are mutually exclusive);
//! - service `gpus: all` or a list of device requests;
//! - `runtime: nvidia`, the nvidia-docker 2 form: the NVIDIA container
//!   runtime exposes what `NVIDIA_VISIBLE_DEVICES` lists (`all`, indices or
//!   UUIDs, `none`/`void` for none; NVIDIA container toolkit docs, "Specialized
//!   configurations with Docker"); CUDA base images set it to `all`;
//! - `devices: [/dev/nvidia0, …]`, one GPU per `/dev/nvidiaN`.
//!
//! Kubernetes has no "all GPUs": a device-plugin resource is a count
//! (Kubernetes docs, "Schedule GPUs"). kiln's documented choice for `all` is
//! **one GPU on the node with the largest GPU** (most memory), which is what
//! a single-GPU node's "all" means, and is reported. `device_ids` pinning a
//! card cannot be expressed either: the count is kept, the pin reported.
//! Placement comes from the node values: `gpu.product` of the chosen
//! node's GPU and a toleration for each of its taints. Nothing here invents a
//! GPU: a service whose merged definition has no GPU form gets none (a
//! `deploy: {}` override removes it, as the loader has already applied it).

use serde_yaml::Value;

use super::cluster::Cluster;
use super::report::Status;
use super::service::{text, Ctx};
use crate::values::schema::{GpuRequest, TaintEffect, Toleration, Workload};
use crate::Result;

/// How many GPUs one form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    All,
    Exactly(u32),
}

/// Capabilities the NVIDIA runtime understands (nvidia-container-toolkit
/// `NVIDIA_DRIVER_CAPABILITIES`), and Compose's generic `gpu`.
const NVIDIA_CAPABILITIES: [&str; 7] = ["gpu", "compute", "utility", "graphics", "video", "display", "compat32"];

pub fn map(ctx: &mut Ctx<'_>, cluster: &Cluster, workload: &mut Workload) -> Result<()> {
    let mut asks: Vec<(Count, String)> = Vec::new();
    if let Some(devices) = ctx.take("deploy.resources.reservations.devices") {
        for (index, device) in devices.as_sequence().into_iter().flatten().enumerate() {
            let at = format!("deploy.resources.reservations.devices[{index}]");
            if let Some(count) = device_request(ctx, &at, device, false)? {
                asks.push((count, at));
            }
        }
    }
    match ctx.take("gpus") {
        Some(Value::String(all)) if all == "all" => asks.push((Count::All, "gpus".into())),
        Some(Value::Sequence(requests)) => {
            for (index, request) in requests.iter().enumerate() {
                let at = format!("gpus[{index}]");
                if let Some(count) = device_request(ctx, &at, request, true)? {
                    asks.push((count, at));
                }
            }
        }
        Some(_) => {
            return Err(ctx.invalid(
                "gpus",
                "`gpus` must be `all` or a list of device requests",
                "write `gpus: all` or `gpus: [{count: 1}]`",
            ))
        }
        None => {}
    }
    asks.extend(devices(ctx));
    runtime(ctx, &mut asks);
    let Some(total) = asks.iter().map(|(count, _)| *count).reduce(|a, b| match (a, b) {
        (Count::Exactly(a), Count::Exactly(b)) => Count::Exactly(a.saturating_add(b)),
        _ => Count::All,
    }) else {
        return Ok(());
    };
    let source = asks.first().map(|(_, at)| at.clone()).unwrap_or_default();
    place(ctx, cluster, workload, total, &source);
    Ok(())
}

/// One device request (`deploy…devices[i]` or `gpus[i]`): its count when
/// it is an NVIDIA GPU, else reported.
fn device_request(ctx: &mut Ctx<'_>, at: &str, device: &Value, implicit_gpu: bool) -> Result<Option<Count>> {
    let Some(device) = device.as_mapping() else {
        return Err(ctx.invalid(
            at,
            "a device request must be a mapping",
            "write `{driver: nvidia, count: 1, capabilities: [gpu]}`",
        ));
    };
    let driver = device.get("driver").and_then(text);
    let capabilities: Vec<String> =
        device.get("capabilities").and_then(Value::as_sequence).into_iter().flatten().filter_map(text).collect();
    let ids: Option<Vec<String>> =
        device.get("device_ids").and_then(Value::as_sequence).map(|ids| ids.iter().filter_map(text).collect());
    let cdi_nvidia = ids.iter().flatten().any(|id| id.starts_with("nvidia.com/gpu"));
    let nvidia_capability =
        capabilities.iter().any(|c| NVIDIA_CAPABILITIES.contains(&c.as_str()) || c.starts_with("nvidia"));
    let is_gpu = match driver.as_deref() {
        Some("nvidia" | "nvidia.com/gpu") => true,
        Some("cdi") => cdi_nvidia,
        Some(_) => false,
        None => implicit_gpu || nvidia_capability,
    };
    if !is_gpu {
        let what =
            driver.map_or_else(|| format!("capabilities {capabilities:?}"), |driver| format!("driver `{driver}`"));
        ctx.report(
            at,
            Status::Dropped,
            format!("{what} is not an NVIDIA GPU: kiln requests `nvidia.com/gpu` only (another vendor needs its device plugin's resource)"),
        );
        return Ok(None);
    }
    if device.get("options").and_then(Value::as_mapping).is_some_and(|options| !options.is_empty()) {
        ctx.report(&format!("{at}.options"), Status::Dropped, "driver options have no Kubernetes equivalent");
    }
    let count = device.get("count");
    if count.is_some() && ids.is_some() {
        return Err(ctx.invalid(at, "`count` and `device_ids` are mutually exclusive", "keep one of them"));
    }
    if let Some(ids) = ids {
        if ids.iter().any(|id| id == "nvidia.com/gpu=all") {
            return Ok(Some(Count::All));
        }
        ctx.report(
            &format!("{at}.device_ids"),
            Status::Approximated,
            format!(
                "pins {}: Kubernetes assigns GPUs itself, so {} GPU{} requested without the pin (choose a card with gpu.product or a node)",
                ids.join(", "),
                ids.len(),
                if ids.len() == 1 { " is" } else { "s are" }
            ),
        );
        return Ok(Some(Count::Exactly(u32::try_from(ids.len()).unwrap_or(u32::MAX))));
    }
    match count {
        None => Ok(Some(Count::All)),
        Some(Value::Number(number)) if number.as_i64() == Some(-1) => Ok(Some(Count::All)),
        Some(Value::Number(number)) => match number.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(0) => Ok(None),
            Some(n) => Ok(Some(Count::Exactly(n))),
            None => Err(ctx.invalid(
                &format!("{at}.count"),
                format!("`count: {number}` is not a GPU count"),
                "write a positive number or `all`",
            )),
        },
        Some(Value::String(count)) if count == "all" || count == "-1" => Ok(Some(Count::All)),
        Some(Value::String(count)) => match count.parse::<u32>() {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(Count::Exactly(n))),
            Err(_) => Err(ctx.invalid(
                &format!("{at}.count"),
                format!("`count: {count}` is not a GPU count"),
                "write a positive number or `all`",
            )),
        },
        Some(_) => Err(ctx.invalid(
            &format!("{at}.count"),
            "`count` must be a number or `all`",
            "write a positive number or `all`",
        )),
    }
}

/// `devices:` entries: `/dev/nvidiaN` are GPUs, the NVIDIA control devices
/// come with any GPU; everything else is reported.
fn devices(ctx: &mut Ctx<'_>) -> Vec<(Count, String)> {
    let Some(devices) = ctx.take("devices") else { return Vec::new() };
    let mut gpus = 0u32;
    let mut first = None;
    for (index, device) in devices.as_sequence().into_iter().flatten().enumerate() {
        let at = format!("devices[{index}]");
        let path = match device {
            Value::Mapping(long) => long.get("source").and_then(text).unwrap_or_default(),
            other => text(other).unwrap_or_default().split(':').next().unwrap_or_default().to_string(),
        };
        let number =
            path.strip_prefix("/dev/nvidia").filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if number.is_some() {
            gpus += 1;
            first.get_or_insert(at);
        } else if path == "/dev/nvidiactl" || path.starts_with("/dev/nvidia-") {
            ctx.report(&at, Status::Note, format!("`{path}` comes with every GPU the device plugin assigns"));
        } else if path == "/dev/kfd" || path.starts_with("/dev/dri") {
            ctx.report(&at, Status::Dropped, format!("`{path}` is an AMD or Intel GPU: it needs that vendor's device plugin (`amd.com/gpu`, `gpu.intel.com/i915`), which kiln does not request"));
        } else {
            ctx.report(&at, Status::Dropped, format!("host device `{path}` needs a privileged pod with a hostPath volume, which the namespace's restricted pod security forbids"));
        }
    }
    match first {
        Some(at) => {
            ctx.report(
                &at,
                Status::Approximated,
                format!(
                    "{gpus} GPU device{} requested as `nvidia.com/gpu` without pinning the card",
                    if gpus == 1 { "" } else { "s" }
                ),
            );
            vec![(Count::Exactly(gpus), at)]
        }
        None => Vec::new(),
    }
}

/// `runtime: nvidia`: kiln sets `runtimeClassName: nvidia` on GPU workloads;
/// alone it is the legacy GPU request, sized by `NVIDIA_VISIBLE_DEVICES`.
fn runtime(ctx: &mut Ctx<'_>, asks: &mut Vec<(Count, String)>) {
    let Some(runtime) = ctx.take("runtime").and_then(text) else { return };
    if runtime != "nvidia" {
        ctx.report(
            "runtime",
            Status::Dropped,
            format!("runtime `{runtime}`: kiln pods use the node's default runtime, or `nvidia` for GPU workloads"),
        );
        return;
    }
    if !asks.is_empty() {
        return;
    }
    let visible = visible_devices(ctx);
    match visible.as_deref().map(str::trim) {
        None | Some("all") => {
            asks.push((Count::All, "runtime".into()));
        }
        Some("" | "none" | "void") => {
            ctx.report(
                "runtime",
                Status::Note,
                "`runtime: nvidia` with NVIDIA_VISIBLE_DEVICES set to none exposes no GPU: none requested",
            );
        }
        Some(list) => {
            let count = list.split(',').filter(|id| !id.trim().is_empty()).count();
            ctx.report(
                "runtime",
                Status::Approximated,
                format!(
                    "NVIDIA_VISIBLE_DEVICES={list} pins cards: {count} GPU{} requested without the pin",
                    if count == 1 { "" } else { "s" }
                ),
            );
            asks.push((Count::Exactly(u32::try_from(count).unwrap_or(u32::MAX)), "runtime".into()));
        }
    }
}

fn visible_devices(ctx: &Ctx<'_>) -> Option<String> {
    match ctx.peek("environment")? {
        Value::Mapping(map) => map.get("NVIDIA_VISIBLE_DEVICES").and_then(text),
        Value::Sequence(list) => list
            .iter()
            .filter_map(Value::as_str)
            .find_map(|entry| entry.strip_prefix("NVIDIA_VISIBLE_DEVICES=").map(str::to_string)),
        _ => None,
    }
}

/// Sets the request and its placement from the node values.
fn place(ctx: &mut Ctx<'_>, cluster: &Cluster, workload: &mut Workload, total: Count, source: &str) {
    let Some((node, (product, memory, physical))) = cluster.largest_gpu() else {
        ctx.report(source, Status::Dropped, "no node in values/nodes declares `gpus`: the workload runs without a GPU");
        return;
    };
    let count = match total {
        Count::All => {
            ctx.report(
                source,
                Status::Approximated,
                format!("all GPUs has no Kubernetes equivalent: 1 GPU requested on {} ({product}, {memory} GiB, the cluster's largest); set gpu.count for more", node.name),
            );
            1
        }
        Count::Exactly(n) => {
            if n > *physical {
                ctx.report(
                    source,
                    Status::Approximated,
                    format!(
                        "{n} GPUs requested, but {} has {physical} ({product}){}",
                        node.name,
                        if node.time_slices > 1 {
                            format!(", time-sliced {} ways: the slots share one card", node.time_slices)
                        } else {
                            String::new()
                        }
                    ),
                );
            }
            n
        }
    };
    if node.time_slices > 1 {
        // Compose says nothing of a model's size, and `kiln plan` refuses a
        // workload on a shared card that does not declare it.
        ctx.report(
            source,
            Status::Approximated,
            format!(
                "the GPU of {} is time-sliced {} ways, which shares no memory: set gpu.memoryGiB to what one pod of it uses (its model's size), or kiln render refuses it",
                node.name, node.time_slices
            ),
        );
    }
    workload.gpu = Some(GpuRequest {
        count: Some(count),
        product: (!product.is_empty()).then(|| product.clone()),
        memory_gib: None,
    });
    let tolerations: Vec<Toleration> = node
        .taints
        .iter()
        .filter(|taint| taint.effect != Some(TaintEffect::PreferNoSchedule))
        .map(|taint| Toleration {
            key: taint.key.clone(),
            operator: Some(if taint.value.is_some() { "Equal" } else { "Exists" }.into()),
            value: taint.value.clone(),
            effect: taint.effect,
        })
        .collect();
    if !tolerations.is_empty() {
        workload.tolerations.get_or_insert_with(Vec::new).extend(tolerations);
    }
}
