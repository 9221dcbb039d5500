#!/usr/bin/env python3
"""Generates a synthetic kiln repository (values/ + templates/) of about
--objects rendered Kubernetes objects, for bench/run.sh and bench/diff.py.

Shape: an Argo CD Application for the sealed-secrets chart and two
PriorityClasses; M namespaces, each with a Namespace, an Argo CD Application,
a ResourceQuota, a LimitRange, three NetworkPolicies (default deny, DNS egress,
allowed namespaces) and one SealedSecret; workloads spread evenly over the
namespaces, each rendering a ConfigMap, a Deployment or StatefulSet and a
Service, and declaring a flow (which `kiln plan` checks against the
NetworkPolicies) to the previous workload of its namespace, or for the first
one to the first workload of the namespace that admits it; N nodes (every
fourth with a time-sliced GPU, whose ConfigMap is a node-local object), each
with a k3s config and a setup script. The templates are bench/templates/.

The cluster passes `kiln validate` and `kiln plan` without findings, so
`kiln render` writes it: pods meet the `restricted` Pod Security level and have
readiness and liveness probes, every namespace denies by default and allows
DNS, and there are enough nodes that every pod fits in steady state, during
each rollout and when any one node is lost.

Output is deterministic for given arguments.
"""

import argparse
import json
import math
import os
import shutil

# ConfigMap, Deployment/StatefulSet, Service, and the NetworkPolicy admitting its
# declared clients (every workload has one but the last of each namespace)
OBJECTS_PER_WORKLOAD = 4
# Namespace, Application, ResourceQuota, LimitRange, 3 NetworkPolicies, SealedSecret,
# less the ingress policy its last workload does without
OBJECTS_PER_NAMESPACE = 7
CLUSTER_OBJECTS = 3  # 2 PriorityClasses, the sealed-secrets Application
# Sealed for a throwaway key by tests/fixtures/seal-placeholder.py: the layout kiln checks.
CIPHERTEXT = "AQA6z2RMY7p/8FdraE97+6pzWSjeCQdcNnsCRTu1GWEDHbMytP//gxha8MmPFGsQ8iLucbt+G97Qa/Okskh/5NPNTN7oMX77wu7i4TkeCRQSnYqBYUZ3Opy0lCOuFoJXLZ4bkZUiviWe6uG/0mvxHVm+NuohlnKE/Z5JYNOO7IhlVBAImsKWa2opga9NLO86tUfhutvvC4UYCkGbvCgyu0gomLVVn+2TfbE8vNtYf1LhruZ6d2VrrwaGZwIwBbqUtNO6zGGmTTYRoZlvHpEFRMs09OVuvZwaEug4DlJDzuffZUjfZH58Cu/TMeEcjQCLlq6huty3kz857rypz7VjoWiBps5KTZ0wQz43TBcKDsg5+Q74zAIPtfWQjnT8"

# Every node: 32 cores and 128 GiB, of which k3s and the OS keep 1 core and 4
# GiB, and the kubelet's default 110 pods.
NODE_CPU, RESERVED_CPU = 32, 1
NODE_MEMORY_GI, RESERVED_MEMORY_GI = 128, 4
NODE_PODS = 110
# Fill nodes to at most this share in steady state: the rest is headroom for
# rollouts (one surge pod at a time) and for the pods of a lost node.
FILL = 0.7


def workload_shape(index):
    """(kind, replicas, cpu millicores, memory MiB) of workload `index` of a namespace."""
    kind = "StatefulSet" if index % 5 == 0 else "Deployment"
    replicas = 2 if index % 7 == 0 else 1
    large = index % 10 == 3
    return kind, replicas, 500 if large else 100, 512 if large else 128


def cluster_yaml():
    return """name: bench
kubernetesVersion: "1.31"
k3sVersion: v1.31.4+k3s1
domain: bench.example
git:
  repoURL: https://git.example/ops/bench.git
  revision: main
  path: rendered
components:
  sealed-secrets:
    repoURL: https://bitnami-labs.github.io/sealed-secrets
    chart: sealed-secrets
    version: 2.18.5
    namespace: kube-system
    syncWave: -9
defaults:
  namespace:
    podSecurity:
      level: restricted
    networkPolicy:
      defaultDeny: true
      allowDns: true
  workload:
    replicas: 1
    imagePullPolicy: IfNotPresent
    strategy:
      type: RollingUpdate
      maxSurge: 1
      maxUnavailable: 0
    security:
      runAsUser: 10001
      runAsGroup: 10001
      fsGroup: 10001
    resources:
      requests:
        cpu: 100m
        memory: 128Mi
      limits:
        memory: 256Mi
vars:
  owner: platform
  priorityClasses:
    interactive: 1000
    batch: 100
"""


def node_yaml(index, server):
    name = f"node-{index:03d}"
    gpu = index % 4 == 0
    lines = [
        f"name: {name}",
        f"role: {'server' if server else 'agent'}",
        f"address: 10.0.{index // 250}.{index % 250 + 1}",
        "labels:",
        f"  gpu: \"{'true' if gpu else 'false'}\"",
        f"  zone: zone-{index % 3}",
        "capacity:",
        f"  cpu: \"{NODE_CPU}\"",
        f"  memory: {NODE_MEMORY_GI}Gi",
        f"  pods: {NODE_PODS}",
        "reserved:",
        f"  cpu: \"{RESERVED_CPU}\"",
        f"  memory: {RESERVED_MEMORY_GI}Gi",
    ]
    if gpu:
        lines += [
            "gpus:",
            "  - model: RTX 4090",
            "    product: NVIDIA-GeForce-RTX-4090",
            "    memoryGiB: 24",
            "    count: 1",
            "timeSlicing:",
            "  replicas: 4",
        ]
    if server:
        lines += ["k3s:", "  tlsSan:", f"    - {name}.bench.example", "  disable:", "    - traefik"]
    return name, "\n".join(lines) + "\n"


def namespace_yaml(name, workloads, upstream):
    """Its first workload connects to `upstream`'s first; ingress follows the flows."""
    # Workloads come last: bench/diff.py edits the file by its final `  app-` block.
    lines = [
        f"name: {name}",
        f"description: Synthetic namespace {name}",
        "quota:",
        "  requests:",
        "    cpu: \"64\"",
        "    memory: 128Gi",
        "  pods: 500",
        "limitRange:",
        "  default:",
        "    cpu: 500m",
        "    memory: 256Mi",
        "  defaultRequest:",
        "    cpu: 100m",
        "    memory: 128Mi",
    ]
    if upstream:
        lines += ["networkPolicy:"]
        lines += ["  egressTo:", f"    - {upstream}"]
    lines += [
        "secrets:",
        "  app-db:",
        "    type: Opaque",
        "    encryptedData:",
        f"      password: {CIPHERTEXT}",
        "workloads:",
    ]
    for index in range(workloads):
        kind, replicas, cpu, memory = workload_shape(index)
        lines += [
            f"  app-{index:04d}:",
            f"    kind: {kind}",
            f"    image: registry.example/{name}/app-{index:04d}:1.{index % 10}",
            f"    description: Workload {index} of {name}",
            "    ports:",
            "      - name: http",
            f"        port: {8000 + index % 1000}",
            "    env:",
            "      MODE: prod",
            f"      SHARD: {index}",
            "    secretEnv:",
            "      DB_PASSWORD:",
            "        secret: app-db",
            "        key: password",
            "    probes:",
            "      readiness: {httpPath: /healthz, periodSeconds: 10}",
            "      liveness: {tcp: true, initialDelaySeconds: 10, periodSeconds: 20}",
        ]
        if index > 0:
            lines += ["    flows:", f"      - {{service: app-{index - 1:04d}, port: http}}"]
        elif upstream:
            lines += ["    flows:", f"      - {{service: {upstream}/app-0000, port: http}}"]
        if replicas != 1:
            lines += [f"    replicas: {replicas}"]
        if kind == "StatefulSet":
            lines += ["    priorityClass: interactive"]
        if cpu != 100:
            lines += [
                "    resources:",
                f"      requests: {{cpu: {cpu}m, memory: {memory}Mi}}",
                f"      limits: {{memory: {memory * 2}Mi}}",
            ]
    return "\n".join(lines) + "\n"


def nodes_needed(shares):
    """Nodes for the pods of namespaces with these workload counts, filled to FILL."""
    pods = cpu = memory = 0
    for share in shares:
        for index in range(share):
            _, replicas, pod_cpu, pod_memory = workload_shape(index)
            pods += replicas
            cpu += replicas * pod_cpu
            memory += replicas * pod_memory
    # How many whole nodes the pods would fill, by their scarcest resource.
    cpu_milli = (NODE_CPU - RESERVED_CPU) * 1000
    memory_mi = (NODE_MEMORY_GI - RESERVED_MEMORY_GI) * 1024
    full = max(pods / NODE_PODS, cpu / cpu_milli, memory / memory_mi)
    # When a node is lost, the others take its pods: fill them to 90 % at most
    # then, as pods of different sizes do not pack perfectly.
    return max(2, math.ceil(full / FILL), math.ceil(full / 0.9) + 1)


def split(total, parts):
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, required=True, help="approximate number of rendered objects")
    parser.add_argument("--out", required=True, help="repository root to (re)create")
    parser.add_argument("--nodes", type=int, help="default: enough for every pod, a rollout and a lost node")
    parser.add_argument("--namespaces", type=int, help="default: objects / 200, at least 1")
    args = parser.parse_args()

    namespaces = args.namespaces or max(1, args.objects // 200)
    fixed = namespaces * OBJECTS_PER_NAMESPACE + CLUSTER_OBJECTS
    # GPU nodes add a ConfigMap each, and the node count follows the workloads:
    # size the nodes for the workloads without them (an upper bound), then take
    # their ConfigMaps off the workloads.
    workloads = max(namespaces, (args.objects - fixed) // OBJECTS_PER_WORKLOAD)
    # At least three, so the control plane has three servers (one server's
    # loss is the cluster down, which the node-loss acknowledgements below
    # do not model).
    nodes = args.nodes or max(3, nodes_needed(split(workloads, namespaces)))
    gpu_nodes = len(range(0, nodes, 4))
    fixed += gpu_nodes
    workloads = max(namespaces, (args.objects - fixed) // OBJECTS_PER_WORKLOAD)

    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    values = os.path.join(args.out, "values")
    os.makedirs(os.path.join(values, "nodes"))
    os.makedirs(os.path.join(values, "namespaces"))
    shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
                    os.path.join(args.out, "templates"))
    with open(os.path.join(values, "cluster.yaml"), "w") as out:
        out.write(cluster_yaml())
    # Three servers where there are three nodes, so losing one is not losing the control plane.
    servers = 3 if nodes >= 3 else 1
    for index in range(nodes):
        name, text = node_yaml(index, server=index < servers)
        with open(os.path.join(values, "nodes", f"{name}.yaml"), "w") as out:
            out.write(text)
    names = [f"ns-{index:03d}" for index in range(namespaces)]
    for name, share, index in zip(names, split(workloads, namespaces), range(namespaces)):
        # Each namespace's first workload connects to the previous namespace's;
        # the workloads' ingress admits exactly their declared clients.
        upstream = names[index - 1] if namespaces > 1 else None
        with open(os.path.join(values, "namespaces", f"{name}.yaml"), "w") as out:
            out.write(namespace_yaml(name, share, upstream))
    # Standing node-loss findings, acknowledged as a real cluster would: a
    # StatefulSet pod waits for its lost node (it is not replaced elsewhere),
    # and with one server its loss is the cluster down.
    acknowledgements = []
    if servers == 1:
        acknowledgements.append(("node node-000", "the only server: its loss stops the control plane"))
    for name, share in zip(names, split(workloads, namespaces)):
        for index in range(share):
            if workload_shape(index)[0] == "StatefulSet":
                acknowledgements.append((f"workload {name}/app-{index:04d}", "StatefulSet pods wait for their node"))
    if acknowledgements:
        with open(os.path.join(values, "cluster.yaml"), "a") as out:
            out.write("acknowledgements:\n")
            for scope, reason in acknowledgements:
                # Quoted: a reason may hold ": ", which a plain YAML scalar cannot.
                out.write(f"  - code: plan-node-loss\n    scope: {scope}\n    reason: {json.dumps(reason)}\n")
    total = fixed + workloads * OBJECTS_PER_WORKLOAD
    print(f"{args.out}: {nodes} nodes, {namespaces} namespaces, {workloads} workloads, {total} objects")


if __name__ == "__main__":
    main()
