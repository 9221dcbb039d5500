//! What the policies' unit tests share: a one-node cluster (a GPU node when
//! asked) with the namespace `apps` and its workload `web`, rendered in memory
//! from templates the test writes, and the findings of one policy over it.

use std::path::PathBuf;

use crate::build;
use crate::finding::Locator;
use crate::input::InputFiles;
use crate::render::templates;

const CLUSTER: &str =
    "name: demo\nkubernetesVersion: \"1.31\"\ngit: {repoURL: https://example.com/repo.git, revision: main}\n";
const NODE: &str = "name: n1\nrole: server\ncapacity: {cpu: \"4\", memory: 8Gi}\n";
const GPU_NODE: &str = "name: n1\nrole: server\nlabels: {gpu: \"true\"}\ncapacity: {cpu: \"4\", memory: 8Gi}\ngpus: [{model: rtx-4090, count: 1}]\ntaints: [{key: nvidia.com/gpu, value: \"true\", effect: NoSchedule}]\n";
/// Default-deny plus DNS egress, so that `namespace-network-policy` stays quiet
/// unless a test is about it.
const NETWORK_POLICIES: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{port: 53, protocol: UDP}]}]
";

/// A cluster to render: values and templates by path.
pub(super) struct Cluster {
    files: Vec<(String, String)>,
}

impl Cluster {
    /// One CPU node, the namespace `apps` with `workload` (values of `web`) and
    /// its network policies, and `objects` rendered once for `web`.
    pub(super) fn new(workload: &str, objects: &str) -> Cluster {
        Cluster {
            files: vec![
                ("values/cluster.yaml".into(), CLUSTER.into()),
                ("values/nodes/n1.yaml".into(), NODE.into()),
                ("values/namespaces/apps.yaml".into(), format!("name: apps\nworkloads:\n  web:\n{workload}")),
                ("templates/namespaces/network-policies.yaml".into(), NETWORK_POLICIES.into()),
                ("templates/workloads/objects.yaml".into(), objects.into()),
            ],
        }
    }

    /// The node declares a time-sliced GPU behind a `nvidia.com/gpu` taint.
    pub(super) fn gpu_node(mut self) -> Cluster {
        self.files.push(("values/nodes/n1.yaml".into(), GPU_NODE.into()));
        self
    }

    /// Adds or replaces one file.
    pub(super) fn file(mut self, path: &str, text: &str) -> Cluster {
        self.files.push((path.into(), text.into()));
        self
    }

    /// The findings of policy `code` as `field: message` (`file:key: message`
    /// for one about values), sorted.
    pub(super) fn findings(&self, code: &str) -> Vec<String> {
        let mut inputs = InputFiles::default();
        for (path, text) in &self.files {
            inputs.files.insert(PathBuf::from(path), text.clone().into_bytes());
        }
        let templates = templates::load(&inputs).unwrap_or_else(|error| panic!("templates: {error}"));
        let build = build::build_with(&templates, &inputs).unwrap_or_else(|error| panic!("build: {error}"));
        let mut found: Vec<String> = super::check(&build, &Locator::new(&build))
            .into_iter()
            .filter(|finding| finding.code == code)
            .map(|finding| {
                // The object's field, or the values key of a finding about values.
                let at = match (finding.object, finding.span) {
                    (Some(object), _) => object.field,
                    (None, Some(span)) => format!("{}:{}", span.file, span.key.unwrap_or_default()),
                    (None, None) => String::new(),
                };
                format!("{at}: {}", finding.message)
            })
            .collect();
        found.sort();
        found
    }
}

/// A Deployment `web` whose one container is `container` (the fields of a
/// YAML flow mapping), with pod `spec` lines (indented by six spaces after the
/// first) before it.
pub(super) fn deployment(spec: &str, container: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      {spec}
      containers:
        - {{name: app, {container}}}
"
    )
}

/// Container fields that satisfy every container policy.
pub(super) const GOOD_CONTAINER: &str = "image: nginx:1.27, resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}, securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}";
