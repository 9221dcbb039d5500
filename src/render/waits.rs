//! The waits of each workload: every `flows` entry with `waitBeforeStart`,
//! resolved to the Service's DNS name and port number, for the init
//! containers of `templates/_lib/pod.tera` (the template sees them as
//! `waits`). They are how kiln orders start-up across workloads, Docker
//! Compose's `depends_on` included.
//!
//! A pod's init containers run one after another, each to completion,
//! before its app containers start, and an init container that fails is
//! restarted (kubernetes.io, "Init Containers"). Each wait retries a TCP
//! connect to the Service port until one succeeds. A Service forwards only
//! to endpoints whose pods are ready (kubernetes.io, "Service": "only
//! ready endpoints"; a readiness probe gates readiness, and a pod without
//! one is ready once its containers run), and kube-proxy rejects
//! connections to a Service with no ready endpoint. So the connect
//! succeeds exactly when a pod behind the Service is ready: Compose's
//! `service_healthy` when that pod has the imported `healthcheck` as its
//! readiness probe, `service_started` when it has none.
//!
//! kiln renders a workload's Service under the workload's name, with each
//! Service port numbered as its container port
//! (`templates/workloads/service.yaml`), in the cluster domain k3s uses by
//! default, `cluster.local` (k3s `--cluster-domain`). A StatefulSet's
//! Service is headless: its name resolves only to ready pods
//! (`publishNotReadyAddresses: false`), so the connect means the same. Jobs
//! and CronJobs get no Service and cannot be waited for. The connect is made
//! with busybox's `nc -z -w 2`: `-z` and `-w` come with its
//! `NC_110_COMPAT` option, on in busybox's default configuration
//! (`networking/nc.c`). The host and port reach the shell as environment
//! variables, never as script text, so no value can change the command.
//! A wait that names no enabled workload with a Service, or no TCP port of
//! it, is left out:
//! nothing could answer it, and `kiln plan` reports its flow (`plan-flow`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::clients::{container_port, target};
use crate::network::flows::service_key;
use crate::values::schema::WorkloadKind;
use crate::values::Values;

/// One wait, as the template sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    /// The init container's name: `wait-<service>`, or `wait-<n>` when that
    /// is taken or too long for a container name.
    pub name: String,
    /// The Service's DNS name.
    pub host: String,
    pub port: u16,
    /// The waited-for workload, `(namespace, name)`.
    #[serde(skip)]
    pub service: (String, String),
    /// The index of its flow in the workload's `flows`.
    #[serde(skip)]
    pub flow: usize,
}

/// `(namespace, workload)` → its waits, in the order of its flows.
pub type Waits = BTreeMap<(String, String), Vec<Wait>>;

/// A container name is a DNS-1123 label: at most 63 characters.
const MAX_NAME: usize = 63;

pub fn index(values: &Values) -> Waits {
    let mut found = Waits::new();
    for (namespace, ns) in &values.namespaces {
        for (name, workload) in &ns.workloads {
            if workload.typed.enabled == Some(false) {
                continue;
            }
            let mut waits: Vec<Wait> = Vec::new();
            for (index, flow) in workload.typed.flows.iter().flatten().enumerate() {
                let (Some(service), Some(port), Some(true)) = (&flow.service, &flow.port, flow.wait_before_start)
                else {
                    continue;
                };
                let key = service_key(service, namespace);
                let Some(backend) = target(values, &key) else { continue };
                if matches!(backend.kind, Some(WorkloadKind::Job | WorkloadKind::CronJob)) {
                    continue;
                }
                // The connect is TCP; a UDP port's flow fails `kiln plan` (`plan-flow`).
                let Some((number, protocol)) = container_port(backend, &port.0) else { continue };
                if protocol != "TCP" {
                    continue;
                }
                let (service_namespace, service_name) = &key;
                let mut container = format!("wait-{service_name}");
                if container.len() > MAX_NAME || waits.iter().any(|wait| wait.name == container) {
                    container = format!("wait-{}", waits.len());
                }
                waits.push(Wait {
                    name: container,
                    host: format!("{service_name}.{service_namespace}.svc.cluster.local"),
                    port: number,
                    service: key.clone(),
                    flow: index,
                });
            }
            if !waits.is_empty() {
                found.insert((namespace.clone(), name.clone()), waits);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::input::InputFiles;
    use crate::values::{self, Keep};

    const CLUSTER: &str = "name: demo\nkubernetesVersion: \"1.31\"\ngit: {repoURL: https://example.com/repo.git, revision: main}\ndefaults: {workload: {kind: Deployment}}\n";

    fn waits(namespaces: &[(&str, &str)]) -> Waits {
        let mut inputs = InputFiles::default();
        inputs.files.insert(PathBuf::from("values/cluster.yaml"), CLUSTER.into());
        for (name, text) in namespaces {
            inputs.files.insert(PathBuf::from(format!("values/namespaces/{name}.yaml")), text.as_bytes().to_vec());
        }
        index(&values::load(&inputs, Keep::Typed).unwrap())
    }

    fn wait(name: &str, host: &str, port: u16, service: (&str, &str), flow: usize) -> Wait {
        Wait { name: name.into(), host: host.into(), port, service: (service.0.into(), service.1.into()), flow }
    }

    #[test]
    fn a_wait_resolves_the_service_port_by_name_or_number_across_namespaces() {
        let found = waits(&[
            (
                "apps",
                "name: apps\nworkloads:\n  web:\n    image: a:1\n    flows:\n      - {service: db, port: pg, waitBeforeStart: true}\n      - {service: infra/cache, port: 6379, waitBeforeStart: true}\n      - {service: db, port: pg}\n  db:\n    image: a:1\n    ports: [{name: pg, port: 5432}]\n",
            ),
            ("infra", "name: infra\nworkloads:\n  cache:\n    image: a:1\n    ports: [{name: redis, port: 6379}]\n"),
        ]);
        let key = ("apps".to_string(), "web".to_string());
        assert_eq!(
            found.get(&key).unwrap(),
            &[
                wait("wait-db", "db.apps.svc.cluster.local", 5432, ("apps", "db"), 0),
                wait("wait-cache", "cache.infra.svc.cluster.local", 6379, ("infra", "cache"), 1),
            ]
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn nothing_is_waited_for_that_could_never_answer() {
        let found = waits(&[(
            "apps",
            "name: apps\nworkloads:\n  web:\n    image: a:1\n    flows:\n      - {service: gone, port: http, waitBeforeStart: true}\n      - {service: off, port: http, waitBeforeStart: true}\n      - {service: once, port: http, waitBeforeStart: true}\n      - {service: db, port: admin, waitBeforeStart: true}\n      - {service: dns, port: dns, waitBeforeStart: true}\n  dns:\n    image: a:1\n    ports: [{name: dns, port: 53, protocol: UDP}]\n  off:\n    enabled: false\n    image: a:1\n    ports: [{name: http, port: 80}]\n  once:\n    kind: Job\n    image: a:1\n    ports: [{name: http, port: 80}]\n  db:\n    image: a:1\n    ports: [{name: pg, port: 5432}]\n",
        )]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_taken_or_too_long_container_name_falls_back_to_the_position() {
        let long = "a".repeat(60);
        let found = waits(&[
            (
                "apps",
                &format!("name: apps\nworkloads:\n  web:\n    image: a:1\n    flows:\n      - {{service: db, port: pg, waitBeforeStart: true}}\n      - {{service: other/db, port: pg, waitBeforeStart: true}}\n      - {{service: {long}, port: pg, waitBeforeStart: true}}\n  db:\n    image: a:1\n    ports: [{{name: pg, port: 5432}}]\n  {long}:\n    image: a:1\n    ports: [{{name: pg, port: 5432}}]\n"),
            ),
            ("other", "name: other\nworkloads:\n  db:\n    image: a:1\n    ports: [{name: pg, port: 5432}]\n"),
        ]);
        let names: Vec<&str> =
            found.get(&("apps".to_string(), "web".to_string())).unwrap().iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["wait-db", "wait-1", "wait-2"]);
    }
}
