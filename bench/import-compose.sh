#!/usr/bin/env bash
# kiln import compose benchmark: imports a synthetic compose file of 50 and
# 500 services (bench/compose.py) into a copy of this repository's values
# with --dry-run (the whole import: load, map, plan the edits, seal the
# placeholders, prove the result loads; only the final write is skipped)
# and reports the best wall time of REPEAT runs. Targets (issue 15): 50
# services ≤ 100 ms, 500 ≤ 1 s.
#
#   bench/import-compose.sh
#   REPEAT=10 SIZES="50 500 2000" bench/import-compose.sh
set -euo pipefail

cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-5}
SIZES=${SIZES:-"50 500"}
WORK=$(mktemp -d -t kiln-import-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cargo build --release --quiet
KILN=$PWD/target/release/kiln
cp -r values templates "$WORK/"

for size in $SIZES; do
    python3 bench/compose.py "$size" > "$WORK/compose-$size.yaml"
    best=""
    for _ in $(seq "$REPEAT"); do
        start=$(date +%s%N)
        status=0
        "$KILN" -C "$WORK" import compose -f "$WORK/compose-$size.yaml" --namespace bench --dry-run > /dev/null 2>&1 || status=$?
        end=$(date +%s%N)
        if [ "$status" -ne 1 ]; then
            echo "import of $size services exited $status, not 1" >&2
            exit 1
        fi
        ms=$(( (end - start) / 1000000 ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "import compose, $size services: ${best} ms"
done
