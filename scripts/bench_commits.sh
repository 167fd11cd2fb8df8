#!/bin/sh
# bench_commits.sh: stages' engines at several commits against LevelDB,
# in one run, to tell whether a change moved a stage's ratios
# (`make bench-commits`).
#
#   sh scripts/bench_commits.sh BUILD "STAGE..." N REPS COMMIT...
#
# Each COMMIT's stages STAGE... are built in a worktree of its own (under
# $TMPDIR, removed at the end) and each libkv.a linked with this tree's
# kvbench (BUILD/obj/bench), so that every engine runs the same harness
# (a commit is built as committed: the working tree's changes are not in
# it).  LevelDB
# with a 10-bit bloom filter (BUILD/bench/kvbench-leveldb) runs beside
# them.  Each of REPS rounds runs every engine once on a fresh database in
# $TMPDIR (default /dev/shm): fillrandom, overwrite, readrandom, readzipf and
# seekrandom at N keys, the order reversed every other round.  Printed:
# each engine's throughput / LevelDB's, round by round and the median, and
# the median of each round's ratio to the first COMMIT's.  The rounds
# swing by several percent with the machine's other load: read the
# medians, and more rounds where two medians differ by about that much.
set -eu
[ $# -ge 5 ] || { echo "usage: $0 BUILD \"STAGE...\" N REPS COMMIT..." >&2; exit 2; }
# BENCH_STATE=settled: each engine's compaction (kvbench's settle) runs
# between the overwrite and the reads, which then read a settled database
# (nothing pending in LevelDB either), and the seeks run both ways (a new
# iterator per seek, and one iterator for all: seekonce).
state=${BENCH_STATE:-fresh}
case $state in
fresh) workloads=fillrandom,overwrite,readrandom,readzipf,seekrandom ;;
settled) workloads=fillrandom,overwrite,settle,readrandom,readzipf,seekrandom,seekonce ;;
*) echo "bench_commits: BENCH_STATE is fresh or settled, not $state" >&2; exit 2 ;;
esac
build=$1 stages=$2 num=$3 reps=$4
shift 4
tmp=${TMPDIR:-/dev/shm}
me=bench_commits
# shellcheck source=scripts/kvbench_at.sh
TMPDIR=$tmp . "$(dirname "$0")/kvbench_at.sh"

ldb=$build/bench/kvbench-leveldb
[ -x "$ldb" ] || { echo "bench_commits: $ldb was not built (make deps DEPS=peers)" >&2; exit 2; }

names=
for c in "$@"; do
    sha=$(git rev-parse --short "$c")
    for stage in $stages; do
        # The engine's name: the stage's number and the commit (08@1a2b3c4).
        name=${stage%%-*}@$sha
        kvbench_at "$stage" "$c" "$name"
        names="$names $name"
    done
done

out=$work/rounds.txt
r=1
while [ "$r" -le "$reps" ]; do
    order="leveldb$names"
    if [ $((r % 2)) = 0 ]; then
        reversed=
        for e in $order; do reversed="$e $reversed"; done
        order=$reversed
    fi
    for e in $order; do
        bin=$work/kvbench-$e
        bits=
        [ "$e" = leveldb ] && bin=$ldb && bits=10
        db=$(mktemp -d "$tmp/bench-commits-db.XXXXXX")
        KVBENCH_BLOOM_BITS=$bits "$bin" --num="$num" --db="$db" \
            --benchmarks="$workloads" 2>&1 |
            awk -v e="$e" -v r="$r" '$2 == ":" && $6 == "ops/sec;" { print r, e, $1, $5 }' >>"$out"
        rm -rf "$db"
    done
    echo "bench_commits: round $r of $reps done"
    r=$((r + 1))
done

echo "stages $stages, $num keys, $reps rounds, reads on a $state database, commit $(git rev-parse --short HEAD) tree," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
# shellcheck disable=SC2086 # the commits are words
python3 - "$out" $names <<'EOF'
import collections, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
engines = sys.argv[2:]
ops = collections.defaultdict(dict)
for r, e, w, v in rows:
    ops[(int(r), w)][e] = float(v)
measured = {w for (_, w) in ops}
# Each engine against its own stage at the first commit.
base = {}
for e in engines:
    base.setdefault(e.split("@")[0], e)
for w in ("fillrandom", "overwrite", "readrandom", "readzipf", "seekrandom", "seekonce"):
    if w not in measured:
        continue  # not in this state's workloads
    print("%s: throughput / LevelDB's, round by round; median; median of the ratio to its stage "
          "at the first commit" % w)
    for e in engines:
        b = base[e.split("@")[0]]
        mine, rel = [], []
        for (r, ww), m in sorted(ops.items()):
            if ww == w and "leveldb" in m and e in m and b in m:
                mine.append(m[e] / m["leveldb"])
                rel.append(m[e] / m[b])
        if mine:
            print("  %-12s %s  median %.3f  vs %s %.3f (min %.3f, max %.3f)"
                  % (e, " ".join("%.2f" % x for x in mine), statistics.median(mine),
                     b, statistics.median(rel), min(rel), max(rel)))
EOF
