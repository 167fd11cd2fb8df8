#!/bin/sh
# reads_ab.sh: one stage as built at several commits, reading the same
# database in rounds that alternate, to tell whether a change to the read
# path moved its gets (docs/perf-09-cache.md, "Where a get goes").
#
#   sh scripts/reads_ab.sh BUILD STAGE DB N ROUNDS COMMIT...
#       [READS_WORKLOADS=readrandom,readzipf] [READS_SECONDS=5]
#
# DB is a database kept by kvbench (--use_existing_db=1) holding N keys,
# such as the one `make bench-cache-10m` keeps for the stage
# (/var/tmp/kv-cache10m/09-cache, stored raw: KV_COMPRESSION=none, which
# this script sets too unless the environment does).  Each COMMIT's stage
# is built in a worktree of its own and its libkv.a linked with this
# tree's kvbench (BUILD/obj/bench: scripts/kvbench_at.sh); the
# database is only read, so every build reads the same bytes.  Each of
# ROUNDS rounds runs every build once, in a fresh process, the database's
# files read once first (so that each run starts from the page cache), each workload
# bounded by READS_SECONDS, the order reversed every other round.
# Printed: each build's operations per second round by round, the median,
# and the median of each round's ratio to the first COMMIT's.  A change
# to how a database is written (its compaction, its format) is not seen
# here: that needs a database made by each build (bench_commits.sh).
set -eu
[ $# -ge 6 ] || { echo "usage: $0 BUILD STAGE DB N ROUNDS COMMIT..." >&2; exit 2; }
build=$1 stage=$2 db=$3 num=$4 rounds=$5
shift 5
workloads=${READS_WORKLOADS:-readrandom,readzipf}
seconds=${READS_SECONDS:-5}
KV_COMPRESSION=${KV_COMPRESSION-none}
export KV_COMPRESSION
[ -d "$db/main" ] || { echo "reads_ab: no database in $db/main" >&2; exit 2; }
me=reads_ab
# shellcheck source=scripts/kvbench_at.sh
. "$(dirname "$0")/kvbench_at.sh"

names=
for c in "$@"; do
    sha=$(git rev-parse --short "$c")
    kvbench_at "$stage" "$c" "$sha"
    names="$names $sha"
done

out=$work/rounds.txt
: >"$out"
r=1
while [ "$r" -le "$rounds" ]; do
    order=$names
    if [ $((r % 2)) = 0 ]; then
        order=
        for e in $names; do order="$e $order"; done
    fi
    for e in $order; do
        find "$db" -type f -exec cat {} + >/dev/null # from the page cache, every run
        KVBENCH_NONE=1 "$work/kvbench-$e" --num="$num" --seconds="$seconds" --db="$db" \
            --use_existing_db=1 --benchmarks="$workloads" 2>&1 |
            awk -v e="$e" -v r="$r" '$2 == ":" && $6 == "ops/sec;" { print r, e, $1, $5 }' >>"$out"
    done
    echo "reads_ab: round $r of $rounds done"
    r=$((r + 1))
done

echo "reads_ab: $stage at$names; $num keys in $db; KV_COMPRESSION=$KV_COMPRESSION;" \
    "$(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # the builds are words
python3 "$(dirname "$0")/rounds_summary.py" "$out" $names
