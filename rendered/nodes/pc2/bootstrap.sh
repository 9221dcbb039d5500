#!/bin/sh
# Source: templates/nodes/bootstrap.yaml
# Values: values/cluster.yaml, values/nodes/pc2.yaml
# Installs k3s v1.31.7+k3s1 on pc2 (agent) from this rendered
# directory. Run as root from a checkout of the repository:
#   sudo sh rendered/nodes/pc2/bootstrap.sh
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
if ! command -v k3s >/dev/null || ! k3s --version | grep -qF -- v1.31.7+k3s1; then
  curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.31.7+k3s1 INSTALL_K3S_EXEC=agent sh -s -
else
  systemctl restart k3s-agent
fi
# node-exporter's textfile collector directory (values/cluster.yaml,
# prometheus-node-exporter.extraArgs); on every node, since node-exporter
# reports a missing directory as a scrape error.
install -d -m 0755 /var/lib/node_exporter/textfile_collector
echo k3s v1.31.7+k3s1 running on pc2 as agent
