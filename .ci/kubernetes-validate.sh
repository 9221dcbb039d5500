#!/usr/bin/env bash
# Cross-checks kiln's output with an implementation nobody here wrote:
# `kubernetes-validate --strict` over every built-in Kubernetes object in the
# rendered tree. Custom resources (SealedSecret, Application, HelmChart, ...)
# are skipped here; kiln validates them against the vendored CRD schemas.
set -euo pipefail
rendered=${1:-rendered}
version=$(sed -n 's/^kubernetesVersion: *"\{0,1\}\([0-9.]*\)"\{0,1\}/\1/p' values/cluster.yaml)
files=()
while IFS= read -r file; do
  api=$(sed -n 's/^apiVersion: *//p' "$file" | head -n 1)
  case "$api" in
    v1|apps/v1|batch/v1|autoscaling/v2|policy/v1|networking.k8s.io/v1|rbac.authorization.k8s.io/v1|storage.k8s.io/v1|scheduling.k8s.io/v1|admissionregistration.k8s.io/v1|apiextensions.k8s.io/v1)
      files+=("$file") ;;
  esac
done < <(find "$rendered" -name '*.yaml' -not -path "$rendered/nodes/*/etc/*" | sort)
echo "kubernetes-validate --strict (Kubernetes $version.0): ${#files[@]} built-in objects"
kubernetes-validate --strict --quiet -k "$version.0" "${files[@]}"
