#!/usr/bin/env python3
"""Times `kiln diff --base` against one `kiln render`, on this repository and
on a synthetic cluster of N objects (default 10,000), and prints the numbers.

    bench/diff.py [--kiln target/release/kiln] [--objects 10000] [--runs 5]

Each case is a throwaway git repository in a temporary directory: its base
commit is rendered and committed, then the working tree gets a change and is
rendered again, so `kiln diff --base HEAD` renders two different revisions and
the drift gate is in sync. "one render" is `kiln render` of the working tree
when rendered/ is already up to date (read, render, compare; nothing written).
Needs git and a release build of kiln.
"""

import argparse
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

CLUSTER = """\
name: synthetic
kubernetesVersion: "1.31"
git:
  repoURL: https://example.com/synthetic.git
  revision: main
defaults:
  workload:
    replicas: 1
"""

NODE = "name: n1\nrole: server\nlabels:\n  gpu: \"true\"\n"

# Two objects per workload: a ConfigMap with its environment and a Deployment
# whose pod template carries the ConfigMap's checksum.
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ workload.name }}-env
data: {{ workload.env | to_yaml | nindent(width=2) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ workload.name }}
  labels: {app: {{ workload.name }}, tier: synthetic}
spec:
  replicas: {{ workload.replicas }}
  selector:
    matchLabels: {app: {{ workload.name }}}
  template:
    metadata:
      labels: {app: {{ workload.name }}}
    spec:
      containers:
        - name: app
          image: {{ workload.image }}
          ports: [{name: http, containerPort: 8080}]
          envFrom: [{configMapRef: {name: {{ workload.name }}-env}}]
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
"""

WORKLOADS_PER_NAMESPACE = 100


def namespace(index, workloads, mode):
    lines = [f"name: ns-{index:03}", "workloads:"]
    for w in range(workloads):
        lines += [
            f"  app-{w:03}:",
            "    kind: Deployment",
            f"    image: registry.example.com/app-{w:03}:1.{index}.{w}",
            "    env:",
            f"      MODE: {mode}",
            f"      SHARD: \"{index}-{w}\"",
        ]
    return "\n".join(lines) + "\n"


def write(root, path, text):
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, stdout=subprocess.DEVNULL)


def commit_all(root):
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "base")


def kiln(binary, root, *args, check=True):
    result = subprocess.run([binary, "-C", str(root), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if check and result.returncode not in (0, 1):
        sys.exit(f"kiln {' '.join(args)} failed:\n{result.stderr.decode()}")


def timed(binary, root, args, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        kiln(binary, root, *args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def synthetic(root, objects):
    namespaces = max(1, objects // (2 * WORKLOADS_PER_NAMESPACE))
    write(root, "values/cluster.yaml", CLUSTER)
    write(root, "values/nodes/n1.yaml", NODE)
    write(root, "templates/workloads/deployment.yaml", TEMPLATE)
    for n in range(namespaces):
        write(root, f"values/namespaces/ns-{n:03}.yaml", namespace(n, WORKLOADS_PER_NAMESPACE, "prod"))


def synthetic_change(root, objects):
    # A large pull request: 5 namespaces change their environment (1,000
    # objects), one namespace gains and one loses 10 workloads.
    namespaces = max(1, objects // (2 * WORKLOADS_PER_NAMESPACE))
    for n in range(min(5, namespaces)):
        write(root, f"values/namespaces/ns-{n:03}.yaml", namespace(n, WORKLOADS_PER_NAMESPACE, "debug"))
    if namespaces > 6:
        write(root, "values/namespaces/ns-005.yaml", namespace(5, WORKLOADS_PER_NAMESPACE + 10, "prod"))
        write(root, "values/namespaces/ns-006.yaml", namespace(6, WORKLOADS_PER_NAMESPACE - 10, "prod"))


def this_repository(root):
    for directory in ("values", "templates", "rendered"):
        shutil.copytree(ROOT / directory, root / directory)


def this_repository_change(root):
    # Different inputs, same output: both revisions really render.
    template = sorted((root / "templates").rglob("*.yaml"))[0]
    template.write_text(template.read_text() + "{# bench #}\n")


def case(name, binary, runs, build, change, objects=None):
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        if objects is None:
            build(root)
        else:
            build(root, objects)
        kiln(binary, root, "render")
        commit_all(root)
        if objects is None:
            change(root)
        else:
            change(root, objects)
        kiln(binary, root, "render")
        render, render_min = timed(binary, root, ["render"], runs)
        rows = [("render", render, render_min)]
        for fmt in ("text", "json", "markdown"):
            median, fastest = timed(binary, root, ["diff", "--base", "HEAD", "--format", fmt], runs)
            rows.append((f"diff --base HEAD --format {fmt}", median, fastest))
        print(f"\n{name}")
        for label, median, fastest in rows:
            print(f"  {label:38} median {median * 1000:8.1f} ms  min {fastest * 1000:8.1f} ms  "
                  f"{median / render:5.2f}x render")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=str(ROOT / "target/release/kiln"))
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    binary = str(pathlib.Path(args.kiln).resolve())
    case("this repository", binary, args.runs, this_repository, this_repository_change)
    case(f"synthetic cluster, {args.objects} objects", binary, args.runs, synthetic, synthetic_change, args.objects)


if __name__ == "__main__":
    main()
