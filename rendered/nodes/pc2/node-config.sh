#!/bin/sh
# Source: templates/nodes/node-config.yaml
# Values: values/cluster.yaml, values/nodes/pc2.yaml
# Brings node pc2 to exactly its declared labels and taints. k3s applies
# node-label/node-taint only when a node first registers, so changes made later
# in values/nodes/pc2.yaml are applied by running this script (with a
# kubeconfig for the cluster). Safe to run any number of times.
#
# kiln owns the labels and taints it declares, and only those: the node's
# annotations kiln.dev/owned-labels and kiln.dev/owned-taints record what the
# last run declared, so one removed from values is removed from the node, and
# labels and taints others set (k3s, the device plugin, an operator) are left.
set -eu
node=pc2
labels=ai-system/cpu-pool,ai-system/node-class,nvidia.com/device-plugin.config,nvidia.com/gpu.present,nvidia.com/gpu.product
taints=nvidia.com/gpu:NoSchedule
kubectl get node "$node" >/dev/null
# The word is in the comma-separated list.
listed() { case ",$2," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
owned_labels=$(kubectl get node "$node" -o jsonpath='{.metadata.annotations.kiln\.dev/owned-labels}')
owned_taints=$(kubectl get node "$node" -o jsonpath='{.metadata.annotations.kiln\.dev/owned-taints}')
current_labels=$(kubectl get node "$node" -o go-template='{{range $k, $v := .metadata.labels}}{{$k}},{{end}}')
current_taints=$(kubectl get node "$node" -o go-template='{{range .spec.taints}}{{.key}}:{{.effect}},{{end}}')
if [ -z "$owned_labels" ]; then
  # Before the first run kiln's labels are the ones k3s set at registration
  # from this node's config; of those, the ai-system/* ones are surely kiln's.
  owned_labels=$(printf '%s' "$current_labels" | tr ',' '\n' | grep '^ai-system/' | paste -sd, - || true)
fi
for label in $(printf '%s' "$owned_labels" | tr ',' ' '); do
  if ! listed "$label" "$labels" && listed "$label" "$current_labels"; then
    kubectl label node "$node" "$label-"
  fi
done
for taint in $(printf '%s' "$owned_taints" | tr ',' ' '); do
  if ! listed "$taint" "$taints" && listed "$taint" "$current_taints"; then
    kubectl taint node "$node" "$taint-"
  fi
done
kubectl label node "$node" ai-system/cpu-pool=true --overwrite
kubectl label node "$node" ai-system/node-class=gpu-secondary --overwrite
kubectl label node "$node" nvidia.com/device-plugin.config=pc2 --overwrite
kubectl label node "$node" nvidia.com/gpu.present=true --overwrite
kubectl label node "$node" nvidia.com/gpu.product=NVIDIA-GeForce-RTX-3060 --overwrite
kubectl taint node "$node" nvidia.com/gpu=rtx3060:NoSchedule --overwrite
kubectl annotate node "$node" kiln.dev/owned-labels="$labels" kiln.dev/owned-taints="$taints" --overwrite >/dev/null
echo "node $node matches" values/nodes/pc2.yaml
