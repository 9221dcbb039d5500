#!/bin/sh
# Vendors a pinned Helm chart's default values.yaml (and those of the
# subcharts kiln sets values under) from the chart's upstream git repository
# at its release tag, with the repository's LICENSE and a SOURCE file.
#
#   schemas/charts/vendor.sh <chart> <version>
#
# Run it from the repository root after bumping `components.*.version` in
# values/cluster.yaml, then list the new directory in src/validate/catalog.rs
# (a unit test fails until it is) and carry over or rewrite the old version's
# `template-keys` file after checking the new templates (docs/charts.md). `KILN_VENDOR_GIT=<dir>` reads the
# repositories from local clones at <dir>/<owner>+<name>/repo instead of
# cloning them from GitHub.
set -eu

chart=$1
version=$2
out=schemas/charts/$chart/$version

# chart → upstream repository, tag, chart directory in it; subcharts as
# alias=<repository>,<tag>,<directory> (their versions are the ones the
# parent's Chart.yaml pins).
subcharts=""
case $chart in
argo-cd) repo=argoproj/argo-helm tag=argo-cd-$version dir=charts/argo-cd ;;
sealed-secrets) repo=bitnami-labs/sealed-secrets tag=helm-v$version dir=helm/sealed-secrets ;;
nvidia-device-plugin) repo=NVIDIA/k8s-device-plugin tag=v$version dir=deployments/helm/nvidia-device-plugin ;;
nfs-subdir-external-provisioner)
  repo=kubernetes-sigs/nfs-subdir-external-provisioner tag=nfs-subdir-external-provisioner-$version
  dir=charts/nfs-subdir-external-provisioner ;;
base) repo=istio/istio tag=$version dir=manifests/charts/base ;;
istiod) repo=istio/istio tag=$version dir=manifests/charts/istio-control/istio-discovery ;;
cni) repo=istio/istio tag=$version dir=manifests/charts/istio-cni ;;
ztunnel) repo=istio/istio tag=$version dir=manifests/charts/ztunnel ;;
dcgm-exporter) repo=NVIDIA/dcgm-exporter tag=$(echo "*-$version") dir=deployment ;;
prometheus-adapter) repo=prometheus-community/helm-charts tag=prometheus-adapter-$version dir=charts/prometheus-adapter ;;
jaeger) repo=jaegertracing/helm-charts tag=jaeger-$version dir=charts/jaeger ;;
kube-prometheus-stack)
  repo=prometheus-community/helm-charts tag=kube-prometheus-stack-$version dir=charts/kube-prometheus-stack
  subcharts="crds=prometheus-community/helm-charts,kube-prometheus-stack-$version,charts/kube-prometheus-stack/charts/crds" ;;
*) echo "vendor.sh: no upstream recorded for chart $chart" >&2; exit 2 ;;
esac

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The git directory of an upstream repository, cloned once per run.
git_dir() {
  if [ -n "${KILN_VENDOR_GIT:-}" ]; then
    echo "$KILN_VENDOR_GIT/$(echo "$1" | tr / +)/repo"
  else
    clone=$scratch/$(echo "$1" | tr / +)
    [ -d "$clone" ] || git clone --quiet --bare --filter=blob:none "https://github.com/$1" "$clone"
    echo "$clone"
  fi
}

# The one tag matching a pattern (dcgm-exporter tags are <exporter>-<chart>).
resolve_tag() {
  found=$(git -C "$1" tag --list "$2")
  [ "$(echo "$found" | wc -w)" -eq 1 ] || { echo "vendor.sh: tag $2 in $1: '${found}'" >&2; exit 2; }
  echo "$found"
}

# A subchart version the parent's Chart.yaml pins, by dependency name.
pinned() {
  awk -v name="$2" '
    /^dependencies:/ { deps = 1; next }
    deps && /^[^ -]/ { deps = 0 }
    deps && $1 == "-" && $2 == "name:" { current = $3 }
    deps && $1 == "name:" { current = $2 }
    deps && current == name && $1 == "version:" { gsub(/"/, "", $2); print $2; exit }
  ' "$1"
}

git=$(git_dir "$repo")
tag=$(resolve_tag "$git" "$tag")
commit=$(git -C "$git" rev-parse "$tag^{commit}")
mkdir -p "$out"
git -C "$git" show "$commit:$dir/values.yaml" >"$out/values.yaml"
git -C "$git" show "$commit:LICENSE" >"$out/LICENSE"
git -C "$git" show "$commit:$dir/Chart.yaml" >"$scratch/Chart.yaml"
{
  echo "The default values of Helm chart $chart $version, unchanged, from"
  echo "https://github.com/$repo at tag $tag (commit $commit), file $dir/values.yaml."
  echo "License: the repository's LICENSE, copied here."
  echo "Chart.yaml there says: $(grep -E '^version:' "$scratch/Chart.yaml")"
  [ "$repo" != istio/istio ] || echo "(Istio's release build stamps the release version into Chart.yaml.)"
} >"$out/SOURCE"

# Subcharts of kube-prometheus-stack published from other directories or repositories.
if [ "$chart" = kube-prometheus-stack ]; then
  for name in kube-state-metrics prometheus-node-exporter; do
    sub=$(pinned "$scratch/Chart.yaml" "$name")
    subcharts="$subcharts $name=prometheus-community/helm-charts,$name-$sub,charts/$name"
  done
  sub=$(pinned "$scratch/Chart.yaml" grafana)
  subcharts="$subcharts grafana=grafana-community/helm-charts,grafana-$sub,charts/grafana"
fi

for entry in $subcharts; do
  alias=${entry%%=*}
  rest=${entry#*=}
  sub_repo=${rest%%,*}
  rest=${rest#*,}
  sub_tag=${rest%%,*}
  sub_dir=${rest#*,}
  sub_git=$(git_dir "$sub_repo")
  sub_commit=$(git -C "$sub_git" rev-parse "$sub_tag^{commit}")
  mkdir -p "$out/charts/$alias"
  git -C "$sub_git" show "$sub_commit:$sub_dir/values.yaml" >"$out/charts/$alias/values.yaml"
  [ "$sub_repo" = "$repo" ] || git -C "$sub_git" show "$sub_commit:LICENSE" >"$out/charts/$alias/LICENSE"
  {
    echo "Subchart $alias: https://github.com/$sub_repo at tag $sub_tag (commit $sub_commit),"
    echo "file $sub_dir/values.yaml, into charts/$alias/values.yaml."
  } >>"$out/SOURCE"
done
