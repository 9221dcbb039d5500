#!/bin/sh
# Source: templates/nodes/etcd-snapshot-copy.yaml
# Values: values/cluster.yaml, values/nodes/mainpc.yaml
# Copies the etcd snapshots of mainpc to the NAS and keeps the newest
# 28 scheduled ones there; then records the time of this successful
# run for node-exporter's textfile collector, which the EtcdSnapshotNotOffsite
# alert reads. Rendered by kiln from values/nodes/mainpc.yaml; do not edit.
#
# k3s writes its scheduled snapshots as etcd-snapshot-<node>-<unix time> (and
# `k3s etcd-snapshot save` ones as on-demand-<node>-<unix time>) into
# ${data-dir}/server/db/snapshots, /var/lib/rancher/k3s/server/db/snapshots
# with the default data-dir (docs.k3s.io, "etcd-snapshot"). k3s prunes only
# its local copies; this script prunes the NAS's scheduled copies the same way,
# newest by name (the unix time has 10 digits until 2286), and keeps on-demand
# ones, as k3s does.
set -eu
snapshots=/var/lib/rancher/k3s/server/db/snapshots
nas=192.168.1.20:/export/k3s
options=nfsvers=4.1,hard,timeo=600
directory=etcd-snapshots/mainpc
keep=28
textfile_dir=/var/lib/node_exporter/textfile_collector
case "$keep" in
  '' | *[!0-9]* | 0) echo "vars.etcdSnapshotCopy.keep must be a positive number, not '$keep'" >&2; exit 2 ;;
esac

mnt=$(mktemp -d /run/kiln-etcd-snapshot-copy.XXXXXX)
mounted=
cleanup() {
  if [ -n "$mounted" ]; then umount "$mnt"; fi
  rmdir "$mnt"
}
trap cleanup EXIT
mount -t nfs ${options:+-o "$options"} "$nas" "$mnt"
mounted=yes
target="$mnt/$directory"
mkdir -p "$target"
copied=0
for snapshot in "$snapshots"/etcd-snapshot-* "$snapshots"/on-demand-*; do
  [ -f "$snapshot" ] || continue
  name=${snapshot##*/}
  [ -f "$target/$name" ] && continue
  # Under a hidden name until complete, so an interrupted copy is never taken for a snapshot.
  cp -p "$snapshot" "$target/.$name.partial"
  mv "$target/.$name.partial" "$target/$name"
  copied=$((copied + 1))
done
ls -1 "$target" | grep '^etcd-snapshot-' | sort -r | tail -n +"$((keep + 1))" |
  while read -r old; do rm -f "$target/$old"; echo "deleted $old from $nas"; done
echo "copied $copied snapshot(s) to $nas/$directory"

# The textfile collector reads *.prom files; written under another name and
# renamed, so node-exporter never reads half a file.
mkdir -p "$textfile_dir"
metric=kiln_etcd_snapshot_copy_last_success_timestamp_seconds
printf '# HELP %s Unix time of the last successful copy of the etcd snapshots to the NAS.\n# TYPE %s gauge\n%s %s\n' "$metric" "$metric" "$metric" "$(date +%s)" >"$textfile_dir/.kiln-etcd-snapshot-copy.prom.tmp"
mv "$textfile_dir/.kiln-etcd-snapshot-copy.prom.tmp" "$textfile_dir/kiln-etcd-snapshot-copy.prom"
