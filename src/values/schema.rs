//! kiln's own values schema. Every struct denies unknown keys so a typo fails
//! fast with "did you mean"; data meant only for templates lives in the
//! free-form `vars` map of each scope.
//!
//! Workload and namespace fields are all optional because they are layered:
//! cluster defaults, then namespace defaults, then the workload itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Free-form data for templates; kiln never interprets it.
pub type Vars = BTreeMap<String, serde_yaml::Value>;

/// `values/cluster.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    pub name: Option<String>,
    /// Kubernetes minor version the manifests target, e.g. `"1.31"`.
    pub kubernetes_version: Option<String>,
    /// Exact k3s release installed on the nodes, e.g. `v1.31.4+k3s1`.
    pub k3s_version: Option<String>,
    /// DNS domain under which Ingress hosts live.
    pub domain: Option<String>,
    pub git: Option<GitSource>,
    /// The Sealed Secrets certificate `kiln seal` encrypts for (`crate::seal`).
    pub sealing: Option<Sealing>,
    pub storage: Option<Storage>,
    /// The image of the init container that holds a workload's pods until
    /// the Services of its `waitBeforeStart` flows answer; it needs `sh` and
    /// a `nc` with `-z` (busybox's). Default `busybox:1.37.0`.
    pub wait_image: Option<String>,
    /// Platform components installed as pinned Helm charts through Argo CD.
    pub components: Option<BTreeMap<String, Component>>,
    pub defaults: Option<Defaults>,
    /// Standing findings of `validate` and `plan` the team has accepted, each
    /// with its reason: they are counted, not printed (see `finding`).
    pub acknowledgements: Option<Vec<Acknowledgement>>,
    /// What the platform components' pods request, per node: kiln does not
    /// render charts, so `kiln plan` counts these instead.
    pub platform: Option<Vec<PlatformFootprint>>,
    pub vars: Option<Vars>,
}

/// The pods of one platform component on one node (or on every node, for a
/// DaemonSet), as `kiln plan` counts them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlatformFootprint {
    /// The component (`components.<name>`) whose pods these are.
    pub component: String,
    /// The node they run on; absent for a DaemonSet on every node.
    pub node: Option<String>,
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    pub pods: Option<u32>,
    /// Where the numbers come from (values set here, or the chart's defaults).
    pub source: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Acknowledgement {
    /// The finding's code, e.g. `plan-node-loss`.
    pub code: String,
    /// The scope instance it is about: `cluster`, `node <name>`,
    /// `namespace <name>` or `workload <namespace>/<name>`.
    pub scope: String,
    /// Why it is accepted; required.
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitSource {
    #[serde(rename = "repoURL")]
    pub repo_url: Option<String>,
    pub revision: Option<String>,
    /// Directory of the rendered tree inside the repository (usually `rendered`).
    pub path: Option<String>,
    /// Path on the server of an env file (`type=git`, `url=…`, `username=…`,
    /// `password=…`) that bootstrap.sh turns into Argo CD's repository Secret;
    /// never committed.
    pub credentials_file: Option<String>,
}

/// The cluster's Sealed Secrets key, as far as git may know it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sealing {
    /// The controller's certificate (PEM), what `kiln seal` encrypts for.
    pub certificate: Option<String>,
    /// Path on the server of the certificate's private key (PEM), which
    /// bootstrap.sh installs as the controller's key; never committed.
    pub key_file: Option<String>,
    /// The certificate is a stand-in the operator must replace with their own.
    pub placeholder: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// StorageClass for state that may stay on one node.
    pub local_class: Option<String>,
    /// StorageClass for state that must survive the loss of a node.
    pub shared_class: Option<String>,
    pub nfs: Option<Nfs>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Nfs {
    pub server: Option<String>,
    pub path: Option<String>,
    pub mount_options: Option<Vec<String>>,
}

/// A Helm chart deployed by an Argo CD Application.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Component {
    #[serde(rename = "repoURL")]
    pub repo_url: Option<String>,
    pub chart: Option<String>,
    pub version: Option<String>,
    pub namespace: Option<String>,
    /// Argo CD sync wave; lower waves sync first.
    pub sync_wave: Option<i32>,
    pub server_side_apply: Option<bool>,
    /// Installed by k3s' helm-controller from the server's manifests directory
    /// (a `HelmChart`), not by an Argo CD Application: used for Argo CD itself.
    pub bootstrap: Option<bool>,
    pub enabled: Option<bool>,
    /// Helm values handed to the chart as-is.
    pub values: Option<Vars>,
    /// Fields of the chart's objects another controller owns (a webhook's
    /// `caBundle` that a controller patches in): the Application's
    /// `ignoreDifferences`, rendered with `RespectIgnoreDifferences=true`.
    pub ignore_differences: Option<Vec<IgnoreDifference>>,
}

/// One entry of an Argo CD Application's `spec.ignoreDifferences`
/// (section Application Level Configuration of
/// `argoproj/argo-cd:docs/user-guide/diffing.md`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IgnoreDifference {
    /// API group without the version; empty for the core group.
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub json_pointers: Option<Vec<String>>,
    pub jq_path_expressions: Option<Vec<String>>,
    pub managed_fields_managers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    pub namespace: Option<Namespace>,
    pub workload: Option<Workload>,
}

/// `values/nodes/<node>.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Node {
    pub name: Option<String>,
    pub role: Option<NodeRole>,
    /// IP address or resolvable host name of the machine.
    pub address: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub taints: Option<Vec<Taint>>,
    pub capacity: Option<Capacity>,
    /// CPU and memory held back for the OS and k3s (kubelet system-reserved).
    pub reserved: Option<Capacity>,
    pub gpus: Option<Vec<Gpu>>,
    pub time_slicing: Option<TimeSlicing>,
    pub k3s: Option<K3sNode>,
    pub vars: Option<Vars>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Server,
    Agent,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    pub key: Option<String>,
    pub value: Option<String>,
    pub effect: Option<TaintEffect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Capacity {
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    pub pods: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Gpu {
    /// Marketing name, e.g. `RTX 4090`.
    pub model: Option<String>,
    /// The `nvidia.com/gpu.product` label value, e.g. `NVIDIA-GeForce-RTX-4090`.
    pub product: Option<String>,
    #[serde(rename = "memoryGiB")]
    pub memory_gib: Option<u32>,
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimeSlicing {
    /// How many pods may share each physical GPU (1 = no sharing).
    pub replicas: Option<u32>,
}

/// Host-level k3s settings rendered into the node's `config.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct K3sNode {
    pub tls_san: Option<Vec<String>>,
    pub flannel_iface: Option<String>,
    pub kubelet_args: Option<Vec<String>>,
    pub protect_kernel_defaults: Option<bool>,
    pub etcd_snapshot_schedule: Option<String>,
    pub etcd_snapshot_retention: Option<u32>,
    /// Packaged k3s components to disable (`traefik`, `servicelb`, ...).
    pub disable: Option<Vec<String>>,
    pub default_runtime: Option<String>,
}

/// `values/namespaces/<namespace>.yaml` (and `defaults.namespace` in cluster.yaml).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Namespace {
    pub name: Option<String>,
    pub description: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub pod_security: Option<PodSecurity>,
    pub quota: Option<Quota>,
    pub limit_range: Option<LimitRange>,
    pub network_policy: Option<NetworkPolicy>,
    /// Node labels every pod in the namespace must match.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Enrol the namespace in the Istio ambient mesh (ztunnel mTLS between pods).
    pub mesh: Option<bool>,
    /// Argo CD sync wave of the namespace's Application.
    pub sync_wave: Option<i32>,
    /// Whether kiln generates an Argo CD Application for this namespace directory.
    pub argocd_application: Option<bool>,
    pub defaults: Option<NamespaceDefaults>,
    pub secrets: Option<BTreeMap<String, SealedSecret>>,
    /// Volumes of the namespace that several workloads mount (`volumes[].claim`).
    pub shared_volumes: Option<BTreeMap<String, SharedVolume>>,
    pub workloads: Option<BTreeMap<String, Workload>>,
    pub vars: Option<Vars>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceDefaults {
    pub workload: Option<Workload>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSecurity {
    pub level: Option<PodSecurityLevel>,
    /// Why a level below `restricted` is needed; required for privileged/baseline.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    Restricted,
    Baseline,
    Privileged,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Quota {
    /// Keys are Kubernetes resource names (`cpu`, `memory`, `nvidia.com/gpu`).
    pub requests: Option<BTreeMap<String, Quantity>>,
    pub limits: Option<BTreeMap<String, Quantity>>,
    pub pods: Option<u32>,
    pub persistent_volume_claims: Option<u32>,
    pub storage: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRange {
    pub default: Option<Resources>,
    pub default_request: Option<Resources>,
    pub max: Option<Resources>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPolicy {
    /// Deny all ingress and egress not allowed below.
    pub default_deny: Option<bool>,
    /// Deny the ingress not allowed below and leave egress open: for the
    /// platform's namespaces, whose charts reach the API server, Git and Helm
    /// repositories and notification services on addresses kiln cannot list.
    pub default_deny_ingress: Option<bool>,
    /// Allow DNS (UDP/TCP 53) to kube-system; nothing resolves without it.
    pub allow_dns: Option<bool>,
    /// Namespaces whose pods may connect in.
    pub ingress_from: Option<Vec<String>>,
    /// Namespaces pods may connect to.
    pub egress_to: Option<Vec<String>>,
    /// Allow ingress from the k3s Traefik ingress controller (kube-system).
    pub allow_ingress_controller: Option<bool>,
    /// Allow Prometheus in `monitoring` to scrape pods.
    pub allow_monitoring: Option<bool>,
    /// Allow egress to the Kubernetes API server.
    pub allow_api_server: Option<bool>,
    /// Allow egress to addresses outside the cluster (CIDR list, e.g. `0.0.0.0/0`).
    pub egress_cidrs: Option<Vec<String>>,
}

/// A SealedSecret: only ciphertext produced by `kiln seal` (or `kubeseal
/// --raw`), never plaintext.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SealedSecret {
    #[serde(rename = "type")]
    pub secret_type: Option<String>,
    /// Where the controller may unseal it; default `strict`.
    pub scope: Option<crate::seal::crypto::Scope>,
    /// `sha256:<hex>` of the certificate the values were sealed for.
    pub sealed_for: Option<String>,
    /// The values are stand-ins the operator must re-seal with real ones.
    pub placeholder: Option<bool>,
    pub encrypted_data: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
}

/// One workload: a few lines of values instead of a new template.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workload {
    pub kind: Option<WorkloadKind>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
    /// The Docker Compose group the service came from (label `ai-system/compose-group`).
    pub group: Option<String>,
    pub component: Option<String>,
    pub image: Option<String>,
    pub image_pull_policy: Option<String>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    /// The container's working directory (Compose `working_dir`).
    pub working_dir: Option<String>,
    pub replicas: Option<u32>,
    pub ports: Option<Vec<Port>>,
    /// Plain environment, rendered into a ConfigMap.
    pub env: Option<BTreeMap<String, EnvValue>>,
    /// Environment taken from Secrets declared in the namespace.
    pub secret_env: Option<BTreeMap<String, SecretKeyRef>>,
    pub secret_mounts: Option<Vec<SecretMount>>,
    pub resources: Option<ResourceRequirements>,
    pub gpu: Option<GpuRequest>,
    /// Pin to one node by name.
    pub node: Option<String>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub tolerations: Option<Vec<Toleration>>,
    pub anti_affinity: Option<AntiAffinity>,
    pub probes: Option<Probes>,
    /// Paths that get a writable emptyDir under the read-only root filesystem.
    pub writable_paths: Option<Vec<String>>,
    /// The `sizeLimit` of each `writablePaths` emptyDir: past it the kubelet
    /// evicts the pod instead of letting it fill the node's disk.
    pub writable_size_limit: Option<Quantity>,
    /// Memory-backed emptyDirs with a size limit (`/dev/shm`, tmpfs mounts).
    pub memory_volumes: Option<Vec<MemoryVolume>>,
    /// Files mounted read-only from the workload's `<name>-files` ConfigMap.
    pub config_files: Option<Vec<ConfigFile>>,
    /// Extra `/etc/hosts` entries (Compose `extra_hosts`).
    pub host_aliases: Option<Vec<HostAlias>>,
    pub volumes: Option<Vec<Volume>>,
    pub strategy: Option<Strategy>,
    pub hpa: Option<Hpa>,
    pub pdb: Option<Pdb>,
    pub service: Option<Service>,
    pub ingress: Option<Ingress>,
    /// The connections the workload opens; `kiln plan` proves the
    /// NetworkPolicies let each one through (`network::flows`).
    pub flows: Option<Vec<Flow>>,
    /// The credential a client must present (a `--requirepass`, a database
    /// password): every workload with a flow to this one must read these keys
    /// of a secret of this name in its own namespace.
    pub client_credential: Option<ClientCredential>,
    pub job: Option<Job>,
    pub metrics: Option<Metrics>,
    pub tracing: Option<bool>,
    pub security: Option<Security>,
    pub priority_class: Option<String>,
    pub termination_grace_period_seconds: Option<u32>,
    /// Policy ID → written justification for not following it.
    pub policy_exceptions: Option<BTreeMap<String, String>>,
    pub vars: Option<Vars>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    pub name: Option<String>,
    pub port: Option<u16>,
    pub protocol: Option<String>,
}

/// An environment value; numbers and booleans are accepted and kept as text,
/// because Kubernetes environment values are always strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        scalar_text(deserializer, "an environment value (string, number or boolean)").map(EnvValue)
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub secret: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretMount {
    pub secret: Option<String>,
    pub mount_path: Option<String>,
    /// Mount only this key of the secret, as the file `mountPath` (a subPath).
    pub key: Option<String>,
}

/// An emptyDir in memory (`medium: Memory`); `size` is its `sizeLimit`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemoryVolume {
    pub mount_path: Option<String>,
    pub size: Option<Quantity>,
}

/// One file of configuration, mounted read-only at `mountPath`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    pub mount_path: Option<String>,
    pub content: Option<String>,
}

/// A pod `hostAliases` entry: `hostnames` resolve to `ip` in the containers.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostAlias {
    pub ip: Option<String>,
    pub hostnames: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceRequirements {
    pub requests: Option<Resources>,
    pub limits: Option<Resources>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    #[serde(rename = "ephemeral-storage")]
    pub ephemeral_storage: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GpuRequest {
    /// `nvidia.com/gpu` units (time-slices when the node shares its GPU).
    pub count: Option<u32>,
    /// Restrict to nodes whose GPU has this `product` (see node values).
    pub product: Option<String>,
    /// GPU memory one pod uses (its model's weights, cache and activations):
    /// required where the GPU is time-sliced, which isolates no memory.
    #[serde(rename = "memoryGiB")]
    pub memory_gib: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    pub key: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
    pub effect: Option<TaintEffect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    None,
    Preferred,
    Required,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probes {
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
    pub startup: Option<Probe>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probe {
    /// HTTP GET path; probes the first port unless `port` is set.
    pub http_path: Option<String>,
    /// Plain TCP check.
    pub tcp: Option<bool>,
    pub exec: Option<Vec<String>>,
    /// Port name or number.
    pub port: Option<serde_yaml::Value>,
    pub initial_delay_seconds: Option<u32>,
    pub period_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub failure_threshold: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    pub name: Option<String>,
    pub mount_path: Option<String>,
    /// A `sharedVolumes` entry of the namespace to mount instead of a claim of its own.
    pub claim: Option<String>,
    pub read_only: Option<bool>,
    pub size: Option<Quantity>,
    /// `local` (node-pinned local-path) or `shared` (NFS), or a StorageClass name.
    pub storage: Option<String>,
    pub access_mode: Option<String>,
}

/// A PersistentVolumeClaim of the namespace, mounted by the workloads that name it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SharedVolume {
    pub description: Option<String>,
    pub size: Option<Quantity>,
    /// `shared` (NFS, the default) or `local`, or a StorageClass name.
    pub storage: Option<String>,
    pub access_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Strategy {
    #[serde(rename = "type")]
    pub strategy_type: Option<StrategyType>,
    pub max_surge: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
    /// Why the strategy differs from the plan's default.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum StrategyType {
    RollingUpdate,
    Recreate,
    OnDelete,
}

/// An integer or a percentage string such as `25%`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrPercent {
    Int(u32),
    Percent(String),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Hpa {
    pub name: Option<String>,
    pub min_replicas: Option<u32>,
    pub max_replicas: Option<u32>,
    /// Target average CPU utilisation in percent of requests.
    pub cpu_utilization: Option<u32>,
    pub memory_utilization: Option<u32>,
    /// Per-pod custom metrics served by prometheus-adapter.
    pub pods_metrics: Option<Vec<PodsMetric>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodsMetric {
    pub name: Option<String>,
    pub average_value: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pdb {
    pub min_available: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    #[serde(rename = "type")]
    pub service_type: Option<String>,
    pub headless: Option<bool>,
}

/// One connection a workload opens: to a workload's Service (`service`), or
/// outside the cluster (`host` or `cidr`). Exactly one of the three.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Flow {
    /// `name` (a Service of the same namespace) or `namespace/name`.
    pub service: Option<String>,
    /// A DNS name outside the cluster, e.g. `huggingface.co`.
    pub host: Option<String>,
    /// Addresses outside the cluster, e.g. `192.168.1.20/32`.
    pub cidr: Option<String>,
    /// A Service port (number or name) for `service`; a port number otherwise.
    pub port: Option<FlowPort>,
    /// `TCP` (the default), `UDP` or `SCTP`.
    pub protocol: Option<String>,
    /// Why the workload needs it (shown in `kiln plan`).
    pub reason: Option<String>,
    /// Start the workload's containers only once this Service port accepts
    /// a connection, which it does once a pod behind it is ready: an init
    /// container waits (`render::waits`). Only for `service` flows.
    pub wait_before_start: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientCredential {
    /// The secret's name; each client namespace holds its own copy.
    pub secret: Option<String>,
    pub keys: Option<Vec<String>>,
}

/// A port as a number or a name; numbers are kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowPort(pub String);

impl<'de> Deserialize<'de> for FlowPort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        scalar_text(deserializer, "a port number or name").map(FlowPort)
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingress {
    /// Host name; a bare label is joined with the cluster domain.
    pub host: Option<String>,
    pub path: Option<String>,
    /// Port name of the backend; the first port when unset.
    pub port: Option<String>,
    pub tls_secret: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Job {
    /// Cron schedule; only for `CronJob`.
    pub schedule: Option<String>,
    pub concurrency_policy: Option<String>,
    pub backoff_limit: Option<u32>,
    pub completions: Option<u32>,
    pub parallelism: Option<u32>,
    pub active_deadline_seconds: Option<u32>,
    pub ttl_seconds_after_finished: Option<u32>,
    pub suspend: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Name of the port serving metrics.
    pub port: Option<String>,
    pub path: Option<String>,
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Security {
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub fs_group: Option<u32>,
    pub read_only_root_filesystem: Option<bool>,
}

/// A Kubernetes resource quantity (`500m`, `2`, `16Gi`), checked when loaded
/// and always written as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quantity(pub String);

impl Quantity {
    /// The value in milli-units (CPU millicores, or bytes × 1000 for memory).
    pub fn milli(&self) -> Option<u128> {
        parse_quantity_milli(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = scalar_text(deserializer, "a quantity such as `500m`, `2` or `16Gi`")?;
        if parse_quantity_milli(&text).is_none() {
            return Err(serde::de::Error::custom(format!(
                "`{text}` is not a Kubernetes quantity (examples: `500m`, `2`, `512Mi`, `16Gi`)"
            )));
        }
        Ok(Quantity(text))
    }
}

/// Parses a quantity into milli-units; `None` when it is not a valid quantity.
pub fn parse_quantity_milli(text: &str) -> Option<u128> {
    const SUFFIXES: [(&str, u128); 13] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("Pi", 1 << 50),
        ("Ei", 1 << 60),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("P", 1_000_000_000_000_000),
        ("E", 1_000_000_000_000_000_000),
        ("m", 0),
    ];
    let text = text.trim();
    let (number, multiplier) = SUFFIXES
        .iter()
        .find_map(|(suffix, multiplier)| text.strip_suffix(suffix).map(|number| (number, *multiplier)))
        .unwrap_or((text, 1));
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 9
    {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
    let mantissa: u128 = format!("{whole}{fraction}").parse().ok()?;
    if multiplier == 0 {
        // milli suffix: the number already is in milli-units
        return (fraction.is_empty()).then_some(mantissa);
    }
    mantissa.checked_mul(multiplier)?.checked_mul(1000).map(|value| value / scale)
}

fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D, expected: &'static str) -> Result<String, D::Error> {
    struct Text(&'static str);
    impl serde::de::Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<String, E> {
            Ok(value.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<String, E> {
            Ok(value.to_string())
        }
    }
    deserializer.deserialize_any(Text(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quantities_into_milli_units() {
        assert_eq!(parse_quantity_milli("500m"), Some(500));
        assert_eq!(parse_quantity_milli("2"), Some(2000));
        assert_eq!(parse_quantity_milli("1.5"), Some(1500));
        assert_eq!(parse_quantity_milli("1Ki"), Some(1_024_000));
        assert_eq!(parse_quantity_milli("16Gi"), Some(16 * (1 << 30) * 1000));
        assert_eq!(parse_quantity_milli("abc"), None);
        assert_eq!(parse_quantity_milli("1.5m"), None);
        assert_eq!(parse_quantity_milli(""), None);
    }

    #[test]
    fn env_values_accept_numbers_and_booleans() {
        let env: BTreeMap<String, EnvValue> = serde_yaml::from_str("A: 1\nB: true\nC: text\n").unwrap();
        assert_eq!(env["A"], EnvValue("1".into()));
        assert_eq!(env["B"], EnvValue("true".into()));
    }
}
