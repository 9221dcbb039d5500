#!/bin/sh
# Source: templates/nodes/node-config.yaml
# Values: values/cluster.yaml, values/nodes/mainpc.yaml
# Brings node mainpc to its declared labels and taints. k3s applies
# node-label/node-taint only when a node first registers, so changes made later
# in values/nodes/mainpc.yaml are applied by running this script (with a
# kubeconfig for the cluster). Safe to run any number of times.
set -eu
node=mainpc
kubectl get node "$node" >/dev/null
kubectl label node "$node" ai-system/node-class=gpu-primary --overwrite
kubectl label node "$node" nvidia.com/device-plugin.config=mainpc --overwrite
kubectl label node "$node" nvidia.com/gpu.present=true --overwrite
kubectl label node "$node" nvidia.com/gpu.product=NVIDIA-GeForce-RTX-4090 --overwrite
# Remove kiln-managed labels (ai-system/*) that are no longer declared.
for label in $(kubectl get node "$node" -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}{{"\n"}}{{end}}' | grep '^ai-system/' || true); do
  case "$label" in
    ai-system/node-class) ;;
    *) kubectl label node "$node" "$label-" ;;
  esac
done
# No taints are declared for this node.
echo "node $node matches" values/nodes/mainpc.yaml
