#!/usr/bin/env python3
"""Generates a synthetic kiln repository (values/ + templates/) of about
--objects rendered Kubernetes objects, for bench/run.sh.

Shape: N nodes (every fourth with a GPU), M namespaces each with a quota,
limit range, network policy and one sealed secret, and workloads spread
evenly over the namespaces, each rendering a ConfigMap, a Deployment or
StatefulSet and a Service. The templates are those of the snapshot test's
fixture (tests/fixtures/homelab/templates), which exercise every scope.

Output is deterministic for given arguments.
"""

import argparse
import os
import shutil

OBJECTS_PER_WORKLOAD = 3  # ConfigMap, Deployment/StatefulSet, Service
OBJECTS_PER_NAMESPACE = 5  # Namespace, ResourceQuota, LimitRange, NetworkPolicy, SealedSecret
PRIORITY_CLASSES = 2
CIPHERTEXT = "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq0123456789abcdefghijklmnopqrstuvwxyzABCDEF=="


def cluster_yaml():
    return """name: bench
kubernetesVersion: "1.31"
k3sVersion: v1.31.4+k3s1
domain: bench.example
git:
  repoURL: https://git.example/ops/bench.git
  revision: main
  path: rendered
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
        "  cpu: \"16\"",
        "  memory: 64Gi",
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


def namespace_yaml(name, workloads, peers):
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
        "networkPolicy:",
        "  ingressFrom:",
    ]
    lines += [f"    - {peer}" for peer in peers]
    lines += [
        "secrets:",
        "  app-db:",
        "    type: Opaque",
        "    encryptedData:",
        f"      password: {CIPHERTEXT}",
        "workloads:",
    ]
    for index in range(workloads):
        kind = "StatefulSet" if index % 5 == 0 else "Deployment"
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
        ]
        if index % 7 == 0:
            lines += ["    replicas: 2"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, required=True, help="approximate number of rendered objects")
    parser.add_argument("--out", required=True, help="repository root to (re)create")
    parser.add_argument("--nodes", type=int, help="default: objects / 1000, at least 2")
    parser.add_argument("--namespaces", type=int, help="default: objects / 200, at least 1")
    args = parser.parse_args()

    nodes = args.nodes or max(2, args.objects // 1000)
    namespaces = args.namespaces or max(1, args.objects // 200)
    gpu_nodes = len([i for i in range(nodes) if i % 4 == 0])
    fixed = namespaces * OBJECTS_PER_NAMESPACE + PRIORITY_CLASSES + gpu_nodes
    workloads = max(namespaces, (args.objects - fixed) // OBJECTS_PER_WORKLOAD)

    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    values = os.path.join(args.out, "values")
    os.makedirs(os.path.join(values, "nodes"))
    os.makedirs(os.path.join(values, "namespaces"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copytree(os.path.join(root, "tests", "fixtures", "homelab", "templates"),
                    os.path.join(args.out, "templates"))
    with open(os.path.join(values, "cluster.yaml"), "w") as out:
        out.write(cluster_yaml())
    for index in range(nodes):
        name, text = node_yaml(index, server=index == 0)
        with open(os.path.join(values, "nodes", f"{name}.yaml"), "w") as out:
            out.write(text)
    names = [f"ns-{index:03d}" for index in range(namespaces)]
    for index, name in enumerate(names):
        share = workloads // namespaces + (1 if index < workloads % namespaces else 0)
        peers = [names[(index + 1) % namespaces]] if namespaces > 1 else []
        with open(os.path.join(values, "namespaces", f"{name}.yaml"), "w") as out:
            out.write(namespace_yaml(name, share, peers))
    total = fixed + workloads * OBJECTS_PER_WORKLOAD
    print(f"{args.out}: {nodes} nodes, {namespaces} namespaces, {workloads} workloads, {total} objects")


if __name__ == "__main__":
    main()
