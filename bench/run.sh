#!/usr/bin/env bash
# kiln benchmark: builds release, generates synthetic clusters of about 100,
# 1,000 and 10,000 objects (bench/gen.py) and reports wall time, CPU time and
# peak RSS of render, a no-change re-render and render --diff (answered from
# rendered/kiln.lock, and in full with KILN_FAST_PATH=off), `kiln plan` and
# verify, next to `sha256sum -c` over the same files, and a render of this
# repository's own cluster, then checks the issues' targets.
#
#   bench/run.sh                      # all sizes, 5 runs each
#   REPEAT=10 SIZES="1000 10000" bench/run.sh
#   REPEAT=3 SIZES="10000 100000" bench/run.sh   # the no-change targets at 100,000 objects
#   REPEAT=2 SIZES="1000 10000 100000" bench/run.sh   # the plan's scaling targets
#   WORK=/tmp/kiln-bench bench/run.sh # keep the generated repositories
#   KILN=/tmp/kiln-old bench/run.sh   # measure another kiln binary (no build)
#
# Wall time is the best of REPEAT runs (the least disturbed by other load on
# the machine); CPU is user+sys of that run; RSS is the largest seen.
# Needs python3, GNU time (/usr/bin/time, Debian package `time`) and coreutils.
set -euo pipefail

cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-5}
SIZES=${SIZES:-"100 1000 10000"}
WORK=${WORK:-$(mktemp -d -t kiln-bench.XXXXXX)}
mkdir -p "$WORK"

if [ ! -x /usr/bin/time ]; then
    echo "bench/run.sh needs GNU time: apt-get install time" >&2
    exit 2
fi

if [ -z "${KILN:-}" ]; then
    cargo build --release --quiet
    KILN=$PWD/target/release/kiln
fi

# measure NAME EXPECTED_EXIT [--fresh] -- COMMAND...: runs COMMAND REPEAT
# times and appends "NAME wall_ms cpu_ms rss_mb" to $WORK/results. Output goes
# to $WORK/out.txt, or to $OUT when set (/dev/null for the plan, whose text
# grows with nodes × rollouts: a gigabyte at 100,000 objects). With
# --fresh, every run gets its own copy of $REPO's inputs, named @RUN in COMMAND (a first
# render, into an empty rendered/); the copies are deleted only after the
# last run, because deleting ten thousand files right before creating ten
# thousand makes ext4's inode allocator scan for recently freed inodes, which
# would measure the file system's bookkeeping rather than kiln.
measure() {
    local name=$1 expected=$2 fresh=no
    shift 2
    if [ "$1" = --fresh ]; then
        fresh=yes
        shift
    fi
    shift # --
    local best_wall='' best_cpu='' max_rss=0 status
    for run in $(seq "$REPEAT"); do
        RUN=$REPO
        if [ $fresh = yes ]; then
            RUN=$WORK/fresh-$run
            rm -rf "$RUN"
            mkdir -p "$RUN"
            cp -r "$REPO/values" "$REPO/templates" "$RUN/"
            # Flush the copy now, so its write-back does not stall the timed file creation.
            sync
        fi
        local start end
        start=$(date +%s%N)
        status=0
        if [ -n "${OUT:-}" ]; then
            /usr/bin/time -f '%M %U %S' -o "$WORK/time.txt" "${@/#@RUN/$RUN}" >"$OUT" 2>"$WORK/out.txt" || status=$?
        else
            /usr/bin/time -f '%M %U %S' -o "$WORK/time.txt" "${@/#@RUN/$RUN}" >"$WORK/out.txt" 2>&1 || status=$?
        fi
        end=$(date +%s%N)
        if [ "$status" != "$expected" ]; then
            echo "$name: exit $status, expected $expected" >&2
            cat "$WORK/out.txt" >&2
            exit 1
        fi
        local wall=$(((end - start) / 1000000))
        read -r rss user sys <"$WORK/time.txt"
        local cpu
        cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')
        if [ -z "$best_wall" ] || [ "$wall" -lt "$best_wall" ]; then
            best_wall=$wall
            best_cpu=$cpu
        fi
        [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    done
    echo "$name $best_wall $best_cpu $((max_rss / 1024))" >>"$WORK/results"
    [ $fresh = no ] || rm -rf "$WORK"/fresh-*
}

# stamps: inode, mtime and path of every rendered file, to prove no rewrite.
stamps() {
    find "$REPO/rendered" -type f -printf '%i %T@ %p\n' | sort
}

: >"$WORK/results"
for size in $SIZES; do
    REPO=$WORK/cluster-$size
    python3 bench/gen.py --objects "$size" --out "$REPO" >/dev/null
    measure "render/$size" 0 --fresh -- "$KILN" -C @RUN render
    # out.txt also holds stderr (validation and plan findings, if any).
    objects=$(awk '/^rendered [0-9]+ objects/ { print $2 }' "$WORK/out.txt")
    "$KILN" -C "$REPO" render >/dev/null
    files=$(find "$REPO/rendered" -type f | wc -l)
    echo "size $size: $objects objects, $files files" >>"$WORK/results"
    before=$(stamps)
    # Nothing changed: answered from the lock, and in full (as before the fast path).
    measure "rerender/$size" 0 -- "$KILN" -C "$REPO" render
    if ! grep -q ': 0 added, 0 changed, 0 removed' "$WORK/out.txt" || [ "$before" != "$(stamps)" ]; then
        echo "a render with no changes rewrote files" >&2
        exit 1
    fi
    if [ "$(KILN_FAST_PATH=trace "$KILN" -C "$REPO" render 2>&1 >/dev/null | head -n 1)" != "kiln: answered from rendered/kiln.lock" ]; then
        echo "a render with no changes did not answer from the lock" >&2
        exit 1
    fi
    measure "rerenderfull/$size" 0 -- env KILN_FAST_PATH=off "$KILN" -C "$REPO" render
    [ "$before" = "$(stamps)" ] || { echo "a full render with no changes rewrote files" >&2; exit 1; }
    measure "diff/$size" 0 -- "$KILN" -C "$REPO" render --diff --stat
    measure "difffull/$size" 0 -- env KILN_FAST_PATH=off "$KILN" -C "$REPO" render --diff --stat
    OUT=/dev/null measure "plan/$size" 0 -- "$KILN" -C "$REPO" plan
    measure "verify/$size" 0 -- "$KILN" -C "$REPO" verify
    measure "sha256sum/$size" 0 -- env -C "$REPO/rendered" sha256sum -c --quiet SHA256SUMS
done

# This repository's own cluster, the everyday case: a copy of its inputs,
# rendered once, then timed re-rendering with nothing changed (so the
# working tree's rendered/ is never touched).
REPO=$WORK/this-repository
rm -rf "$REPO"
mkdir -p "$REPO"
cp -r values templates "$REPO/"
"$KILN" -C "$REPO" render >/dev/null 2>&1
measure "this/repository" 0 -- "$KILN" -C "$REPO" render
measure "thisfull/repository" 0 -- env KILN_FAST_PATH=off "$KILN" -C "$REPO" render

awk -v sizes="$SIZES" '
    /^size / { objects[$2 + 0] = $3; files[$2 + 0] = $5; next }
    { split($1, key, "/"); wall[key[1], key[2]] = $2; cpu[key[1], key[2]] = $3; rss[key[1], key[2]] = $4 }
    END {
        n = split(sizes, size, " ")
        printf "| command | %s |\n", join(size, n, " objects | ") " objects"
        printf "|---|%s\n", repeat("---|", n)
        ncommands = split("render rerender rerenderfull diff difffull plan verify sha256sum", commands, " ")
        label["render"] = "`kiln render` (empty rendered/)"
        label["rerender"] = "`kiln render`, nothing changed (from the lock)"
        label["rerenderfull"] = "`kiln render`, nothing changed, in full"
        label["diff"] = "`kiln render --diff --stat` (from the lock)"
        label["difffull"] = "`kiln render --diff --stat`, in full"
        label["plan"] = "`kiln plan`"
        label["verify"] = "`kiln verify`"
        label["sha256sum"] = "`sha256sum -c SHA256SUMS`"
        for (c = 1; c <= ncommands; c++) {
            line = "| " label[commands[c]] " |"
            for (i = 1; i <= n; i++) {
                s = size[i]
                line = line sprintf(" %d ms (cpu %d ms, %d MB) |", wall[commands[c], s], cpu[commands[c], s], rss[commands[c], s])
            }
            print line
        }
        printf "\nthis repository, `kiln render` with nothing changed: %d ms (cpu %d ms, %d MB) from the lock, %d ms (cpu %d ms, %d MB) in full\n", wall["this", "repository"], cpu["this", "repository"], rss["this", "repository"], wall["thisfull", "repository"], cpu["thisfull", "repository"], rss["thisfull", "repository"]
        printf "objects rendered:"
        for (i = 1; i <= n; i++) printf " %s (%s files)", objects[size[i]], files[size[i]]
        print ""
        # Targets of the render engine issue.
        check("this repository renders in <= 50 ms (in full)", wall["thisfull", "repository"] <= 50, wall["thisfull", "repository"] " ms")
        # No-change renders are free: at the cost of verify, <= 150 ms at 10,000 objects, <= 1.5 s at 100,000.
        for (i = 1; i <= n; i++) {
            s = size[i]
            limit = s + 0 == 10000 ? 150 : (s + 0 == 100000 ? 1500 : 0)
            if (!limit) continue
            check(sprintf("%d objects, %s <= %d ms", s, label["rerender"], limit), wall["rerender", s] <= limit, wall["rerender", s] " ms")
            check(sprintf("%d objects, %s <= %d ms", s, label["diff"], limit), wall["diff", s] <= limit, wall["diff", s] " ms")
        }
        big = 0
        for (i = 1; i <= n; i++) if (size[i] + 0 == 10000) big = size[i]
        nrendering = split("render rerenderfull difffull", rendering, " ")
        if (big) {
            for (c = 1; c <= 3; c++) {
                m = rendering[c]
                check("10,000 objects, " label[m] " <= 1500 ms", wall[m, big] <= 1500, wall[m, big] " ms")
                check("10,000 objects, " label[m] " peak RSS <= 300 MB", rss[m, big] <= 300, rss[m, big] " MB")
            }
            ratio = wall["verify", big] / (wall["sha256sum", big] > 0 ? wall["sha256sum", big] : 1)
            check("verify within 1.5x of sha256sum -c", ratio <= 1.5, sprintf("%.2fx", ratio))
        }
        # Targets of the plan issue: near-linear render, plan and diff; <= 2 GB at 100,000 objects.
        rendering[++nrendering] = "plan"
        for (i = 1; i <= n; i++) {
            if (size[i] + 0 != 100000) continue
            split("render plan", large, " ")
            for (c = 1; c <= 2; c++) {
                m = large[c]
                check("100,000 objects, " label[m] " peak RSS <= 2000 MB", rss[m, size[i]] <= 2000, rss[m, size[i]] " MB")
            }
        }
        for (i = 2; i <= n; i++) {
            if (size[i] != 10 * size[i - 1]) continue
            for (c = 1; c <= nrendering; c++) {
                m = rendering[c]
                r = wall[m, size[i]] / (wall[m, size[i - 1]] > 0 ? wall[m, size[i - 1]] : 1)
                what = sprintf("10x objects (%s -> %s), %s <= 11x time", size[i - 1], size[i], label[m])
                check(what, r <= 11, sprintf("%.1fx", r))
            }
        }
    }
    function join(a, n, sep,    out, i) { out = a[1]; for (i = 2; i <= n; i++) out = out sep a[i]; return out }
    function repeat(s, n,    out, i) { out = ""; for (i = 0; i < n; i++) out = out s; return out }
    function check(what, ok, value) { printf "%s %s: %s\n", ok ? "PASS" : "FAIL", what, value }
' "$WORK/results"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); repositories in $WORK"
