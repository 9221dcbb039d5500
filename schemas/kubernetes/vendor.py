#!/usr/bin/env python3
"""Vendors the Kubernetes JSON schemas kiln validates against.

Source: the `kubernetes-validate` wheel from PyPI, which bundles the upstream
OpenAPI definitions converted to JSON Schema (draft 2020-12), in a "strict"
variant where every object has `additionalProperties: false`.

    python3 schemas/kubernetes/vendor.py 1.37.0 1.31

downloads the wheel (pip download), takes `v<k8s>.0-local-strict`, and writes
`schemas/kubernetes/v<k8s>/`:

* one `<kind>-<group>-<version>.json` per kind in KINDS, unchanged except that
  `description` texts are dropped (they are never used for validation and make
  up most of the bytes);
* `_definitions.json`, pruned to the definitions those kinds reference;
* `builtin.json`, every apiVersion and kind the API server serves in that
  release, so kiln can tell a built-in kind without a vendored schema (an
  error: add it here) from a custom resource;
* `SOURCE`, what was vendored from where.

Re-run it after changing KINDS; the output is deterministic.
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile

# Built-in kinds the cluster renders. Add a kind here and re-run when a
# template starts rendering one that kiln reports as "no schema vendored".
KINDS = [
    "apiservice-apiregistration-v1",
    "clusterrole-rbac-v1",
    "clusterrolebinding-rbac-v1",
    "configmap-v1",
    "cronjob-batch-v1",
    "csidriver-storage-v1",
    "customresourcedefinition-apiextensions-v1",
    "daemonset-apps-v1",
    "deployment-apps-v1",
    "horizontalpodautoscaler-autoscaling-v2",
    "ingress-networking-v1",
    "ingressclass-networking-v1",
    "job-batch-v1",
    "limitrange-v1",
    "mutatingwebhookconfiguration-admissionregistration-v1",
    "namespace-v1",
    "networkpolicy-networking-v1",
    "persistentvolume-v1",
    "persistentvolumeclaim-v1",
    "pod-v1",
    "poddisruptionbudget-policy-v1",
    "priorityclass-scheduling-v1",
    "resourcequota-v1",
    "role-rbac-v1",
    "rolebinding-rbac-v1",
    "runtimeclass-node-v1",
    "secret-v1",
    "service-v1",
    "serviceaccount-v1",
    "statefulset-apps-v1",
    "storageclass-storage-v1",
    "validatingwebhookconfiguration-admissionregistration-v1",
]

REF = re.compile(r"#/\$defs/([^\"]+)")


def strip_descriptions(node):
    """Drops `description` annotations, keeping properties that are named `description`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: strip_descriptions(schema) for name, schema in value.items()}
            else:
                out[key] = strip_descriptions(value)
        return out
    if isinstance(node, list):
        return [strip_descriptions(item) for item in node]
    return node


def main():
    wheel_version, k8s = sys.argv[1], sys.argv[2]
    out = pathlib.Path(__file__).resolve().parent / f"v{k8s}"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, f"kubernetes-validate=={wheel_version}"],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{k8s}.0-local-strict/"
        with zipfile.ZipFile(wheel) as archive:
            read = lambda name: json.loads(archive.read(prefix + name))
            definitions = read("_definitions.json")
            kinds = {name: read(name + ".json") for name in KINDS}
            license_text = next(
                archive.read(name).decode() for name in archive.namelist() if name.endswith("LICENSE")
            )

    defs = definitions["$defs"]
    builtin = {}
    for schema in defs.values():
        gvks = schema.get("x-kubernetes-group-version-kind", [])
        # Meta types such as DeleteOptions list every group; real kinds list one.
        if len(gvks) != 1 or gvks[0]["kind"].endswith("List"):
            continue
        gvk = gvks[0]
        api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
        builtin.setdefault(api_version, set()).add(gvk["kind"])

    needed, pending = set(), []
    for schema in kinds.values():
        pending.extend(REF.findall(json.dumps(schema)))
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        pending.extend(REF.findall(json.dumps(defs[name])))

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    write = lambda name, value: (out / name).write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    pruned = dict(definitions)
    pruned["$defs"] = {name: strip_descriptions(defs[name]) for name in sorted(needed)}
    write("_definitions.json", pruned)
    for name, schema in kinds.items():
        write(name + ".json", strip_descriptions(schema))
    write("builtin.json", {api: sorted(names) for api, names in sorted(builtin.items())})
    (out / "LICENSE").write_text(license_text)
    (out / "SOURCE").write_text(
        f"PyPI kubernetes-validate {wheel_version}, directory v{k8s}.0-local-strict\n"
        f"(upstream Kubernetes v{k8s}.0 OpenAPI definitions as JSON Schema, strict variant).\n"
        "Written by schemas/kubernetes/vendor.py: descriptions dropped, definitions pruned.\n"
    )


if __name__ == "__main__":
    main()
