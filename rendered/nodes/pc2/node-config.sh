#!/bin/sh
# Source: templates/nodes/node-config.yaml
# Values: values/cluster.yaml, values/nodes/pc2.yaml
# Brings node pc2 to its declared labels and taints. k3s applies
# node-label/node-taint only when a node first registers, so changes made later
# in values/nodes/pc2.yaml are applied by running this script (with a
# kubeconfig for the cluster). Safe to run any number of times.
set -eu
node=pc2
kubectl get node "$node" >/dev/null
kubectl label node "$node" ai-system/cpu-pool=true --overwrite
kubectl label node "$node" ai-system/node-class=gpu-secondary --overwrite
kubectl label node "$node" nvidia.com/device-plugin.config=pc2 --overwrite
kubectl label node "$node" nvidia.com/gpu.present=true --overwrite
kubectl label node "$node" nvidia.com/gpu.product=NVIDIA-GeForce-RTX-3060 --overwrite
# Remove kiln-managed labels (ai-system/*) that are no longer declared.
for label in $(kubectl get node "$node" -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}{{"\n"}}{{end}}' | grep '^ai-system/' || true); do
  case "$label" in
    ai-system/cpu-pool) ;;
    ai-system/node-class) ;;
    *) kubectl label node "$node" "$label-" ;;
  esac
done
kubectl taint node "$node" nvidia.com/gpu=rtx3060:NoSchedule --overwrite
echo "node $node matches" values/nodes/pc2.yaml
