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
# values/cluster.yaml declares a stand-in sealing certificate: nothing sealed for it can ever be unsealed.
echo "sealing.placeholder is set in values/cluster.yaml: declare your controller's certificate, re-seal every secret and render (README, \"Runbook: sealing a secret\"); \`kiln seal --list-placeholders\` lists what is left" >&2
exit 1
sealing_key=/root/kiln-secrets/sealing.key
test -s "$sealing_key" || { echo "missing the sealing key $sealing_key, the private key of sealing.certificate (see README, \"Runbook: bootstrap\")" >&2; exit 1; }
repo_credentials=/root/kiln-secrets/repo-credentials.env
test -s "$repo_credentials" || { echo "missing the repository credential $repo_credentials (see README, \"Runbook: bootstrap\")" >&2; exit 1; }
install -D -m 0644 "$here/etc/rancher/k3s/config.yaml" /etc/rancher/k3s/config.yaml
# The API server reads these at start (kube-apiserver-arg in config.yaml); its
# audit log directory must exist, readable by root only.
install -D -m 0600 "$here/etc/rancher/k3s/psa.yaml" /etc/rancher/k3s/psa.yaml
install -D -m 0600 "$here/etc/rancher/k3s/audit-policy.yaml" /etc/rancher/k3s/audit-policy.yaml
mkdir -p -m 0700 /var/lib/rancher/k3s/server/logs
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
# The secrets git never holds reach the cluster from this machine before Argo
# CD exists: Argo CD is installed only once its manifests are applied below.
tries=0
until k3s kubectl get --raw /readyz >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -le 60 ] || { echo "the API server was not ready after 5 minutes" >&2; exit 1; }
  sleep 5
done
# The Sealed Secrets controller's key, as its "bring your own certificates"
# docs install one: a kube-system TLS Secret labelled
# sealedsecrets.bitnami.com/sealed-secrets-key=active. kubectl refuses a key
# that does not match the declared certificate (sealing-certificate.pem).
k3s kubectl -n kube-system create secret tls kiln-sealing-key --cert="$here/sealing-certificate.pem" --key="$sealing_key" --dry-run=client -o yaml | k3s kubectl apply -f -
k3s kubectl -n kube-system label --overwrite secret kiln-sealing-key sealedsecrets.bitnami.com/sealed-secrets-key=active
# Argo CD's repository credential (Argo CD declarative setup: a Secret labelled
# argocd.argoproj.io/secret-type=repository), from an env file of
# type=git, url=, username= and password= lines.
k3s kubectl create namespace argocd --dry-run=client -o yaml | k3s kubectl apply -f -
k3s kubectl -n argocd create secret generic repo-kiln-cluster --from-env-file="$repo_credentials" --dry-run=client -o yaml | k3s kubectl apply -f -
k3s kubectl -n argocd label --overwrite secret repo-kiln-cluster argocd.argoproj.io/secret-type=repository
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
# node-exporter's textfile collector directory (values/cluster.yaml,
# prometheus-node-exporter.extraArgs); on every node, since node-exporter
# reports a missing directory as a scrape error.
install -d -m 0755 /var/lib/node_exporter/textfile_collector
# The off-box copy of the etcd snapshots (etcd-snapshot-copy.sh): a systemd
# timer, since k3s itself can only upload to S3.
command -v mount.nfs >/dev/null || echo "warning: mount.nfs not found (nfs-common); the etcd snapshot copy to the NAS will fail" >&2
install -D -m 0755 "$here/etcd-snapshot-copy.sh" /usr/local/sbin/kiln-etcd-snapshot-copy
install -D -m 0644 "$here/etc/systemd/system/kiln-etcd-snapshot-copy.service" /etc/systemd/system/kiln-etcd-snapshot-copy.service
install -D -m 0644 "$here/etc/systemd/system/kiln-etcd-snapshot-copy.timer" /etc/systemd/system/kiln-etcd-snapshot-copy.timer
systemctl daemon-reload
systemctl enable --now kiln-etcd-snapshot-copy.timer
# One run now, so the copy's metric exists from the start (EtcdSnapshotNotOffsite
# fires on its absence) and a NAS that cannot be mounted shows up here.
systemctl start kiln-etcd-snapshot-copy.service || echo "warning: the etcd snapshot copy to the NAS failed: journalctl -u kiln-etcd-snapshot-copy" >&2
echo k3s v1.31.7+k3s1 running on mainpc as server
