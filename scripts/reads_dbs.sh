#!/bin/sh
# reads_dbs.sh: one build of a stage reading several databases of the same
# keys, made differently (a format option on or off), in rounds that
# alternate, to tell what the way a database was written does to its gets
# (docs/perf-09-cache.md, "A hash index in each data block").
#
#   sh scripts/reads_dbs.sh BUILD STAGE N ROUNDS NAME=DB...
#       [READS_WORKLOADS=readrandom,readzipf] [READS_SECONDS=10]
#
# Each DB is a database kept by kvbench (--use_existing_db=1) holding N
# keys, read by BUILD/STAGE/kvbench with KV_COMPRESSION=none unless the
# environment sets it (the databases of `make bench-cache-10m` are stored
# raw).  To make one as bench_cache_10m.sh does, with an option of
# bench/engine_kv.c's environment:
#   KV_BLOCK_HASH=no KV_COMPRESSION=none BUILD/09-cache/kvbench --num=N \
#       --fill_seconds=1000000 --db=DIR --use_existing_db=1 \
#       --benchmarks=fillrandom,settle
# Each of ROUNDS rounds reads every database once, in a fresh process, its
# files read once first (so that each run starts from the page cache),
# each workload bounded by READS_SECONDS, the order reversed every other
# round.  Printed (scripts/rounds_summary.py): each NAME's operations per
# second round by round, the median, and the median of each round's ratio
# to the first NAME's.
set -eu
[ $# -ge 5 ] || { echo "usage: $0 BUILD STAGE N ROUNDS NAME=DB..." >&2; exit 2; }
build=$1 stage=$2 num=$3 rounds=$4
shift 4
workloads=${READS_WORKLOADS:-readrandom,readzipf}
seconds=${READS_SECONDS:-10}
KV_COMPRESSION=${KV_COMPRESSION-none}
export KV_COMPRESSION
bin=$build/$stage/kvbench
[ -x "$bin" ] || { echo "reads_dbs: no $bin (make $bin)" >&2; exit 2; }
names=
for a in "$@"; do
    db=${a#*=}
    [ -d "$db/main" ] || { echo "reads_dbs: no database in $db/main" >&2; exit 2; }
    names="$names ${a%%=*}"
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
r=1
while [ "$r" -le "$rounds" ]; do
    order=$*
    if [ $((r % 2)) = 0 ]; then
        order=
        for a in "$@"; do order="$a $order"; done
    fi
    for a in $order; do
        db=${a#*=}
        find "$db" -type f -exec cat {} + >/dev/null # from the page cache, every run
        "$bin" --num="$num" --seconds="$seconds" --db="$db" --use_existing_db=1 \
            --benchmarks="$workloads" 2>&1 |
            awk -v e="${a%%=*}" -v r="$r" '$2 == ":" && $6 == "ops/sec;" { print r, e, $1, $5 }' >>"$out"
    done
    echo "reads_dbs: round $r of $rounds done"
    r=$((r + 1))
done
echo "reads_dbs: $stage ($bin, commit $(git rev-parse --short HEAD 2>/dev/null)); $num keys;" \
    "KV_COMPRESSION=$KV_COMPRESSION; $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # the names are words
python3 "$(dirname "$0")/rounds_summary.py" "$out" $names
