//! `kiln plan` and GPU memory (issue 13, D-8, D-9, D-12): time-slicing shares
//! a GPU's compute and none of its memory, so the plan sums the memory the
//! pods on each card declare, in every scenario. Each test changes this
//! repository's values back to one of the review's defects.

use crate::harness::Repo;

const GPU_VALUES: &str = "values/namespaces/ai-system-gpu.yaml";

/// This repository with `old` replaced by `new` in the GPU namespace's values.
fn gpu_values_with(old: &str, new: &str) -> Repo {
    let repo = Repo::this_repository();
    let values = repo.read(GPU_VALUES);
    assert!(values.contains(old), "{old}");
    repo.write(GPU_VALUES, values.replacen(old, new, 1).as_bytes());
    repo
}

/// The headline and help lines of each finding with this code.
fn findings(output: &str, code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut inside = false;
    for line in output.lines() {
        if line.starts_with("error[") || line.starts_with("warning[") {
            inside = line.contains(&format!("[{code}]"));
            if inside {
                found.push(line.to_string());
            }
        } else if let (true, Some(rest)) = (inside, line.strip_prefix("  --> ")) {
            found.push(format!("--> {rest}"));
        } else if let (true, Some(help)) = (inside, line.strip_prefix("  = help: ")) {
            found.push(format!("help: {help}"));
        }
    }
    found
}

#[test]
fn this_repository_fits_its_gpus_and_shows_the_table() {
    let run = Repo::this_repository().kiln(&["plan"]);
    run.code(0);
    assert!(run.stdout.contains(GPU_TABLE), "{}", run.stdout);
}

const GPU_TABLE: &str = "\
GPU memory (gpu.memoryGiB of the pods on each node's GPUs; time-slicing shares no memory)
  node    gpus              steady state                                                                                                                  peak                              verdict
  mainpc  RTX 4090, 24 GiB  23.5/24 GiB (97%): reasoning-suite 1 × 12 GiB, learning-train 1 × 6 GiB, speech-pipeline 1 × 3.5 GiB, coordination 1 × 2 GiB  23.5/24 GiB (97%) (steady state)  fits
  pc2     RTX 3060, 12 GiB  11.5/12 GiB (95%): vision-dream 1 × 8 GiB, tutoring 1 × 3.5 GiB                                                               11.5/12 GiB (95%) (steady state)  fits
";

/// D-8: SDXL-turbo and Phi-3.5-mini in bf16 on the 3060 fit by time slices
/// (2 of 4) but not by memory.
#[test]
fn gpu_memory_oversubscribed_by_time_slicing_is_an_error() {
    let repo = gpu_values_with(
        "gpu: {count: 1, product: NVIDIA-GeForce-RTX-3060, memoryGiB: 3.5}",
        "gpu: {count: 1, product: NVIDIA-GeForce-RTX-3060, memoryGiB: 7.6}",
    );
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(findings(&run.stdout, "plan-gpu-memory"), [
            "error[plan-gpu-memory]: steady state: the GPU memory of node `pc2` (RTX 3060, 12 GiB) is oversubscribed: its pods need 15.6 GiB (vision-dream 1 × 8 GiB, tutoring 1 × 7.6 GiB); time-slicing shares a GPU's compute, not its memory, so the last model to load fails with out-of-memory",
            "--> values/nodes/pc2.yaml:25:1",
            "help: lower replicas or `hpa.maxReplicas` of what shares this GPU, use `strategy: {type: Recreate}` or `maxSurge: 0` where a second copy cannot fit, or move a workload to another GPU (`gpu.product`, `node`)",
        ]);
}

/// A workload on a time-sliced card must say how much of its memory it uses.
#[test]
fn a_workload_on_a_shared_gpu_must_declare_its_memory() {
    let repo = gpu_values_with(
        "gpu: {count: 1, product: NVIDIA-GeForce-RTX-3060, memoryGiB: 8}",
        "gpu: {count: 1, product: NVIDIA-GeForce-RTX-3060}",
    );
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(findings(&run.stdout, "plan-gpu-memory"), [
            "error[plan-gpu-memory]: Deployment.apps ai-system-gpu/vision-dream shares the time-sliced GPU of node `pc2` but declares no `gpu.memoryGiB`: kiln cannot tell whether its model fits beside the others",
            "--> values/namespaces/ai-system-gpu.yaml:259:3",
            "help: declare the GPU memory one pod uses (`gpu.memoryGiB`), from the model's size and the server's cache settings",
        ]);
}

/// D-8: the plan's GPU rollout (maxSurge 1) loads a second copy of the model
/// onto the same card.
#[test]
fn a_rollout_surge_that_loads_a_second_model_copy_overflows() {
    let repo = gpu_values_with(
        "gpu: {count: 1, product: NVIDIA-GeForce-RTX-3060, memoryGiB: 8}",
        "gpu: {count: 1, product: NVIDIA-GeForce-RTX-3060, memoryGiB: 8}\n    strategy: {type: RollingUpdate, maxSurge: 1, maxUnavailable: 0}",
    );
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(findings(&run.stdout, "plan-gpu-memory"), [
            "error[plan-gpu-memory]: rollout of Deployment.apps ai-system-gpu/vision-dream: the GPU memory of node `pc2` (RTX 3060, 12 GiB) is oversubscribed: its pods need 19.5 GiB (vision-dream 2 × 8 GiB, tutoring 1 × 3.5 GiB); time-slicing shares a GPU's compute, not its memory, so the last model to load fails with out-of-memory",
            "--> values/nodes/pc2.yaml:25:1",
            "help: lower replicas or `hpa.maxReplicas` of what shares this GPU, use `strategy: {type: Recreate}` or `maxSurge: 0` where a second copy cannot fit, or move a workload to another GPU (`gpu.product`, `node`)",
        ]);
}

const REASONING_HPA: &str = "    hpa:\n      name: reasoning-gpu-hpa\n      minReplicas: 1\n      maxReplicas: 3\n      podsMetrics:\n        - {name: nvidia_gpu_utilization_percent, averageValue: \"70\"}\n    resources:\n      requests: {cpu: \"1\", memory: 3Gi}";

/// D-9: the migration plan's HPA 1–3 puts every reasoning replica on the one
/// 4090: three copies of a 12 GiB model, and no more compute.
#[test]
fn a_gpu_hpa_confined_to_one_card_overflows_and_adds_no_compute() {
    let repo = gpu_values_with("    resources:\n      requests: {cpu: \"1\", memory: 3Gi}", REASONING_HPA);
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(findings(&run.stdout, "plan-gpu-memory"), [
            "error[plan-gpu-memory]: every HPA at maxReplicas: the GPU memory of node `mainpc` (RTX 4090, 24 GiB) is oversubscribed: its pods need 47.5 GiB (reasoning-suite 3 × 12 GiB, learning-train 1 × 6 GiB, speech-pipeline 1 × 3.5 GiB, coordination 1 × 2 GiB); time-slicing shares a GPU's compute, not its memory, so the last model to load fails with out-of-memory",
            "--> values/nodes/mainpc.yaml:22:1",
            "help: lower replicas or `hpa.maxReplicas` of what shares this GPU, use `strategy: {type: Recreate}` or `maxSurge: 0` where a second copy cannot fit, or move a workload to another GPU (`gpu.product`, `node`)",
        ]);
    assert_eq!(findings(&run.stdout, "plan-gpu-hpa"), [
            "warning[plan-gpu-hpa]: at maxReplicas 3, every pod of Deployment.apps ai-system-gpu/reasoning-suite runs on the one GPU of node `mainpc`: scaling out adds no GPU compute (the replicas take turns on the same card), only copies of the model in its memory",
            "--> values/namespaces/ai-system-gpu.yaml:123:3",
            "help: let the replicas reach other GPUs that can hold the model (maxReplicas no more than those GPUs), or drop the HPA and batch requests inside one replica",
        ]);
}

/// D-12: a rollout is simulated at every HPA's maximum too. A 2 GiB surge of
/// coordination fits beside one 6 GiB reasoning replica, not beside two.
#[test]
fn a_rollout_that_fits_in_steady_state_can_overflow_at_hpa_max() {
    let repo = gpu_values_with(
        "    resources:\n      requests: {cpu: \"1\", memory: 3Gi}",
        &REASONING_HPA.replace("maxReplicas: 3", "maxReplicas: 2"),
    );
    let values = repo
        .read(GPU_VALUES)
        .replacen("NVIDIA-GeForce-RTX-4090, memoryGiB: 12}", "NVIDIA-GeForce-RTX-4090, memoryGiB: 6}", 1)
        .replacen(
            "gpu: {count: 1, memoryGiB: 2}",
            "gpu: {count: 1, memoryGiB: 2}\n    strategy: {type: RollingUpdate, maxSurge: 1, maxUnavailable: 0}",
            1,
        );
    repo.write(GPU_VALUES, values.as_bytes());
    let run = repo.kiln(&["plan"]);
    run.code(1);
    assert_eq!(findings(&run.stdout, "plan-gpu-memory"), [
            "error[plan-gpu-memory]: rollout of Deployment.apps ai-system-gpu/coordination with every HPA at maxReplicas: the GPU memory of node `mainpc` (RTX 4090, 24 GiB) is oversubscribed: its pods need 25.5 GiB (reasoning-suite 2 × 6 GiB, learning-train 1 × 6 GiB, coordination 2 × 2 GiB, speech-pipeline 1 × 3.5 GiB); time-slicing shares a GPU's compute, not its memory, so the last model to load fails with out-of-memory",
            "--> values/nodes/mainpc.yaml:22:1",
            "help: lower replicas or `hpa.maxReplicas` of what shares this GPU, use `strategy: {type: Recreate}` or `maxSurge: 0` where a second copy cannot fit, or move a workload to another GPU (`gpu.product`, `node`)",
        ]);
}
