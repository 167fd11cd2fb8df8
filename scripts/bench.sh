#!/bin/sh
# bench.sh: runs kvbench for every stage and every installed peer engine, in
# one series, and summarizes (`make bench`, `make bench-full`).
#
#   sh scripts/bench.sh quick|full BUILD "STAGES" "PEERS" [OPTION...]
#
#   quick   N = 10,000 and 100,000; 1 s per read workload; 3 repetitions
#   full    N = 10,000, 100,000 and 1,000,000; 10 s per read workload; 3 reps
# Options (also through `make bench BENCH_ARGS=...`):
#   --reps=R  --sizes="N1 N2 ..."  --seconds=S  --fill_seconds=S  --threads=T
#   --benchmarks=a,b  kvbench's workloads to run (default: all of them)
#   --publish   also copy the results and charts to bench/results/ (the
#               figures docs/benchmarks.md shows) and update every page of
#               docs/ that quotes them (scripts/docs_figures.sh)
#   --publish-as=NAME  the same for a run published beside the main one:
#               bench/results/NAME-results.md, NAME-machine.txt and
#               NAME-medians.csv (no charts), then the pages (`make bench-10m`)
#   --peers="P1 P2 ..."  run these peers only, in this order (instead of
#               PEERS with their bloom variants), e.g. --peers="leveldb-bloom"
#
# LevelDB and RocksDB run twice each: as they come (no bloom filter) and as
# leveldb-bloom and rocksdb-bloom, with the 10-bit bloom filter a user
# would configure (the same binary with KVBENCH_BLOOM_BITS=10:
# bench/engine_leveldb.c, bench/engine_rocksdb.c).  --peers may also name
# rocksdb-cache: RocksDB with the read path stage 09 is measured against
# (KVBENCH_ROCKSDB_CACHE=1: a row cache, partitioned index and filters,
# sizes matched; bench/engine_rocksdb.c).
#
# Binaries: BUILD/S/kvbench for each stage S, BUILD/bench/kvbench-P for each
# peer P; a peer without its binary (its Debian package is missing) is
# skipped with a message.  The engines take turns: repetition r runs every
# size, and for each size every engine once, starting with a different
# engine each repetition, so that slow drifts of a shared machine spread
# over all of them.  Each kvbench run appends its rows to
# build/bench/results.csv (every repetition); its full output goes to
# build/bench/log.txt.  build/bench/machine.txt describes the run: date,
# command, machine, packages, commit, load average before and after, one
# `engine:` line per engine (kvbench --describe: its version and whether
# sync = 1 makes it fsync, which the report marks) and how long the runs
# took.  Then scripts/bench_report.sh writes the medians, the
# Markdown tables and the charts, and prints the tables.
set -u

mode=${1:-quick}
build=${2:-build}
stages=${3:-}
peers=${4:-}
if [ $# -ge 4 ]; then shift 4; else shift $#; fi

case $mode in
quick) sizes="10000 100000" reps=3 seconds=1 fill_seconds=20 ;;
full) sizes="10000 100000 1000000" reps=3 seconds=10 fill_seconds=300 ;;
*)
    echo "bench.sh: unknown mode '$mode' (quick or full)" >&2
    exit 2
    ;;
esac
threads=1
publish=0
publish_as=
benchmarks=
peers_only=
for arg in "$@"; do
    case $arg in
    --reps=*) reps=${arg#*=} ;;
    --sizes=*) sizes=${arg#*=} ;;
    --seconds=*) seconds=${arg#*=} ;;
    --fill_seconds=*) fill_seconds=${arg#*=} ;;
    --threads=*) threads=${arg#*=} ;;
    --benchmarks=*) benchmarks=${arg#*=} ;;
    --peers=*) peers_only=${arg#*=} ;;
    --publish) publish=1 ;;
    --publish-as=*) publish_as=${arg#*=} ;;
    *)
        echo "bench.sh: unknown option '$arg'" >&2
        exit 2
        ;;
    esac
done

out=build/bench
db=$out/db
mkdir -p "$out" || exit 2
csv=$out/results.csv
log=$out/log.txt
rm -f "$csv" "$log"

# The engines that will run, in their table order: stages, then peers;
# each with the environment it runs in (envs: KVBENCH_BLOOM_BITS=N).
names=
bins=
envs=
for s in $stages; do
    if [ -x "$build/$s/kvbench" ]; then
        names="$names $s"
        bins="$bins $build/$s/kvbench"
        envs="$envs KVBENCH_BLOOM_BITS="
    else
        echo "bench: skipping stage $s: $build/$s/kvbench was not built" >&2
    fi
done
if [ -n "$peers_only" ]; then
    peers=$peers_only
else
    with_bloom=
    for p in $peers; do
        case $p in
        leveldb | rocksdb) with_bloom="$with_bloom $p $p-bloom" ;;
        *) with_bloom="$with_bloom $p" ;;
        esac
    done
    peers=$with_bloom
fi
for p in $peers; do
    base=${p%-bloom}
    ev=KVBENCH_BLOOM_BITS=
    [ "$base" != "$p" ] && ev=KVBENCH_BLOOM_BITS=10
    if [ "$p" = rocksdb-cache ]; then
        base=rocksdb
        ev=KVBENCH_ROCKSDB_CACHE=1
    fi
    if [ -x "$build/bench/kvbench-$base" ]; then
        names="$names $p"
        bins="$bins $build/bench/kvbench-$base"
        envs="$envs $ev"
    else
        case $base in
        leveldb) pkg=libleveldb-dev ;;
        rocksdb) pkg=librocksdb-dev ;;
        lmdb) pkg=liblmdb-dev ;;
        sqlite) pkg=libsqlite3-dev ;;
        *) pkg="its library" ;;
        esac
        echo "bench: skipping $p: $pkg is not installed (as root: make deps DEPS=peers)"
    fi
done
count=$(echo "$names" | wc -w)
if [ "$count" = 0 ]; then
    echo "bench: nothing to run" >&2
    exit 2
fi

# The machine, for the report.
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command: $mode: sizes $sizes; $reps repetitions; $seconds s per read workload," \
        "$fill_seconds s per write workload; $threads reader thread(s)${benchmarks:+; workloads $benchmarks}"
    echo "cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
    echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    mkdir -p "$db"
    echo "filesystem: $(df -T "$db" | awk 'NR == 2 { print $2 " on " $1 }') ($db)"
    echo "compiler: $(${CC:-cc} --version | head -1)"
    for p in libleveldb-dev librocksdb-dev liblmdb-dev libsqlite3-dev; do
        v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) && echo "package: $p $v"
    done
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    # Each engine names itself and says what sync = 1 does (fsync or not):
    # the report marks the fillsync figures that no fsync paid for.
    k=0
    for bin in $bins; do
        k=$((k + 1))
        ev=$(echo "$envs" | awk -v k="$k" '{ print $k }')
        echo "engine: $(env "$ev" "$bin" --describe 2>/dev/null || echo "$bin: --describe failed")"
    done
} >"$out/machine.txt"

nsizes=$(echo "$sizes" | wc -w)
runs_total=$((reps * nsizes * count))
echo "bench: $mode run: engines:$names; sizes $sizes; $reps repetitions: $runs_total runs," \
    "a line as each ends; output in $out/"
started=$(date +%s)
failures=0
done_runs=0
r=1
while [ "$r" -le "$reps" ]; do
    for n in $sizes; do
        # Rotate the starting engine by one each repetition.
        i=0
        while [ "$i" -lt "$count" ]; do
            k=$(((i + r - 1) % count + 1))
            bin=$(echo "$bins" | awk -v k="$k" '{ print $k }')
            name=$(echo "$names" | awk -v k="$k" '{ print $k }')
            ev=$(echo "$envs" | awk -v k="$k" '{ print $k }')
            t0=$(date +%s.%N)
            env "$ev" "$bin" --num="$n" --seconds="$seconds" --fill_seconds="$fill_seconds" \
                --threads="$threads" --rep="$r" --db="$db" --csv="$csv" \
                ${benchmarks:+--benchmarks="$benchmarks"} >>"$log" 2>&1
            rc=$?
            t1=$(date +%s.%N)
            status=
            if [ "$rc" != 0 ]; then
                status="  FAILED (exit $rc; see $log)"
                failures=$((failures + 1))
            fi
            done_runs=$((done_runs + 1))
            awk -v r="$r" -v R="$reps" -v n="$n" -v e="$name" -v a="$t0" -v b="$t1" -v s="$status" \
                -v k="$done_runs" -v K="$runs_total" -v el="$(($(date +%s) - started))" \
                'BEGIN { printf "  [%d/%d] rep %d/%d  N=%-8d %-13s %6.1f s (%d s so far)%s\n",
                                k, K, r, R, n, e, b - a, el, s }'
            i=$((i + 1))
        done
    done
    r=$((r + 1))
done
rm -rf "$db"
echo "bench: runs took $(($(date +%s) - started)) s; $failures failed"
echo "runs: $(($(date +%s) - started)) s; $failures failed; load average after: $(cut -d' ' -f1-3 /proc/loadavg)" \
    >>"$out/machine.txt"

echo "bench: writing the report and the charts"
sh scripts/bench_report.sh "$out" "$names" || exit 2
if [ "$publish" = 1 ]; then
    mkdir -p bench/results
    cp "$out"/results.csv "$out"/medians.csv "$out"/results.md "$out"/machine.txt \
        "$out"/*.png bench/results/ && echo "bench: copied to bench/results/" &&
        sh scripts/docs_figures.sh
fi
if [ -n "$publish_as" ]; then
    mkdir -p bench/results
    cp "$out"/results.md "bench/results/$publish_as-results.md" &&
        cp "$out"/machine.txt "bench/results/$publish_as-machine.txt" &&
        cp "$out"/medians.csv "bench/results/$publish_as-medians.csv" &&
        echo "bench: copied to bench/results/$publish_as-*" &&
        sh scripts/docs_figures.sh
fi
[ "$failures" = 0 ]
