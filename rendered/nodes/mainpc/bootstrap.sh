#!/bin/sh
# Source: templates/nodes/bootstrap.yaml
# Values: values/cluster.yaml, values/nodes/mainpc.yaml
# Installs k3s v1.31.7+k3s1 on mainpc (server) from this rendered
# directory. Run as root from a checkout of the repository:
#   sudo sh rendered/nodes/mainpc/bootstrap.sh
# Prerequisites: NVIDIA driver and nvidia-container-toolkit installed (k3s detects
# the runtime at start), nfs-common for NFS volumes, and the join token in
# /etc/rancher/k3s/token (mode 0600; see README, "Runbook: bootstrap").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
test -s /etc/rancher/k3s/token || { echo "missing /etc/rancher/k3s/token (see README)" >&2; exit 1; }
command -v nvidia-container-runtime >/dev/null || echo "warning: nvidia-container-runtime not found; GPU pods will not start" >&2
install -D -m 0644 "$here/etc/rancher/k3s/config.yaml" /etc/rancher/k3s/config.yaml
if [ -f "$here/etc/sysctl.d/90-kubelet.conf" ]; then
  install -D -m 0644 "$here/etc/sysctl.d/90-kubelet.conf" /etc/sysctl.d/90-kubelet.conf
  sysctl --system >/dev/null
fi
# Earlier versions left Argo CD's manifests in k3s's auto-deploy directory, whose
# controller re-applies every file there at each k3s start: gone before k3s restarts.
rm -f /var/lib/rancher/k3s/server/manifests/kiln-*.yaml
if ! command -v k3s >/dev/null || ! k3s --version | grep -qF -- v1.31.7+k3s1; then
  curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.31.7+k3s1 INSTALL_K3S_EXEC=server sh -s -
else
  systemctl restart k3s
fi
# Argo CD (a k3s HelmChart), the bootstrap project and the root Application:
# applied once from this checkout, then owned by Argo CD's bootstrap Application
# alone. Not through k3s's auto-deploy directory: its controller force-applies
# every file there at each k3s start (k3s pkg/deploy/controller.go), so a restart
# would bring back this copy over what Argo CD synced since. The root Application
# and the project need Argo CD's CRDs, which exist once k3s has installed the
# chart: retry until then (15 minutes at most).
tries=0
until k3s kubectl apply -f "$here/manifests" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 180 ]; then
    k3s kubectl apply -f "$here/manifests" || true
    echo "the Argo CD bootstrap manifests did not apply in 15 minutes (errors above)" >&2
    exit 1
  fi
  sleep 5
done
echo k3s v1.31.7+k3s1 running on mainpc as server
