#!/bin/sh
# bench_vlog.sh: `make bench-vlog`: keys apart from values, measured.  For
# each value size, build/S/kvbench (bench/kvbench.c) on stages 07 and 08
# and LevelDB with its bloom filter (build/bench/kvbench-leveldb,
# KVBENCH_BLOOM_BITS=10), one after the other in one run: fillrandom,
# overwrite, readrandom, seekrandom (a seek, then 10 nexts), then compact
# (kv_compact: on stage 08 also one pass of the value log's collection).
# From each: the operations per second, the bytes written to the device
# per byte the user wrote (/proc/self/io write_bytes over the keys and
# values of the fill and the overwrite), and the directory's size over
# the live keys and values right after the overwrite (no compaction asked)
# and after compact.  The tables, with the run's
# description (date, commit, machine, load average), go to
# build/bench/vlog/results.md; each run's whole output is beside it.
# --publish also copies them to bench/results/vlog-results.md and updates
# the pages that quote them (scripts/docs_figures.sh: docs/08-vlog-reference.md).
#
#   sh scripts/bench_vlog.sh BUILD_DIR [--publish] [--num=N] [--sizes="100 1024 4096"]
#
# The databases go to /var/tmp (a disk, not memory); the machine's memory
# may hold all of them in its page cache, which the results say.
set -u
if [ $# -lt 1 ]; then
    echo "usage: sh scripts/bench_vlog.sh BUILD_DIR [--publish] [--num=N] [--sizes=LIST]" >&2
    exit 2
fi
build=$1
shift
publish=0 num=1000000 sizes="100 1024 4096"
for a in "$@"; do
    case $a in
    --publish) publish=1 ;;
    --num=*) num=${a#--num=} ;;
    --sizes=*) sizes=${a#--sizes=} ;;
    *) echo "bench_vlog.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done
out=build/bench/vlog
mkdir -p "$out"
res=$out/results.md
engines="$build/07-txn/kvbench $build/08-vlog/kvbench $build/bench/kvbench-leveldb"
for e in $engines; do
    [ -x "$e" ] || { echo "bench_vlog.sh: $e is missing (make bench-vlog builds it)" >&2; exit 2; }
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- common include bench stages 2>/dev/null; then
    commit="$commit (with changes not committed)"
fi
{
    echo "## vlog: keys apart from values"
    echo
    echo "### The run"
    echo
    echo "    date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "    command: make bench-vlog VLOG_ARGS=\"$*\""
    echo "    cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
    echo "    memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) (the page cache may hold every database)"
    echo "    kernel: $(uname -sr)"
    echo "    filesystem: $(df -T /var/tmp 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') (/var/tmp)"
    echo "    commit: $commit"
    echo "    load average: $(cut -d ' ' -f 1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    echo
} >"$res"

# ops/s of workload w in log f.
ops() { awk -v w="$1" '$1 == w && $2 == ":" { for (i = 1; i <= NF; i++) if ($(i + 1) == "ops/sec;") { print $i; exit } }' "$2"; }
table() {
    echo "| value bytes | engine | fillrandom ops/s | overwrite ops/s | readrandom ops/s | seekrandom ops/s (seek + 10 nexts) | device bytes per user byte | space after overwrite / live (no compaction asked) | space after overwrite and compact / live |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
}

runs=""
for size in $sizes; do
    for e in $engines; do
        name=$(basename "$e")
        case $name in
        kvbench) name=$(basename "$(dirname "$e")") ;;
        kvbench-leveldb) name=leveldb-bloom ;;
        esac
        log=$out/$name-$size.log
        echo "bench-vlog: $name, values of $size bytes (its lines go to $log)"
        db=$(mktemp -d /var/tmp/kvbench-vlog.XXXXXX)
        env KVBENCH_BLOOM_BITS=10 nice "$e" --num="$num" --value_size="$size" \
            --benchmarks=fillrandom,overwrite,readrandom,seekrandom,compact \
            --seconds=10 --fill_seconds=900 --db="$db" >"$log" 2>&1
        st=$?
        rm -rf "$db"
        if [ $st -ne 0 ]; then
            cat "$log"
            echo "bench-vlog: $e failed" >&2
            exit 1
        fi
        runs="$runs $name-$size"
    done
done

{
    echo "### Operations per second, write and space amplification"
    echo
    echo "$num keys of 16 bytes; each engine in a process of its own, one after the other."
    echo
    table
    for r in $runs; do
        log=$out/$r.log
        size=${r##*-}
        name=${r%-*}
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$name" \
            "$(ops fillrandom "$log")" "$(ops overwrite "$log")" "$(ops readrandom "$log")" \
            "$(ops seekrandom "$log")" "$(awk '$1 == "fillrandom" && $2 == "db" { for (i = 1; i < NF; i++) if ($i == "write" && $(i + 1) == "amp") { v = $(i + 2); gsub(/[;,]/, "", v); print v } }' "$log")" \
            "$(awk '$1 == "fillrandom" && $2 == "db" { for (i = 1; i < NF; i++) if ($i == "overwrite" && $(i + 1) ~ /^\(/) { v = $(i + 1); gsub(/[(]/, "", v); print v } }' "$log")" \
            "$(awk '$1 == "fillrandom" && $2 == "db" { for (i = 1; i < NF; i++) if ($i == "space" && $(i + 1) == "amp") { v = $(i + 2); gsub(/[;,]/, "", v); print v } }' "$log")"
    done
    echo
    echo "### Stage 08 against LevelDB and stage 07 (ratios of the rates above)"
    echo
    echo "| value bytes | workload | 08 / leveldb-bloom | 08 / 07 |"
    echo "|---:|---|---:|---:|"
    for size in $sizes; do
        for w in fillrandom overwrite readrandom seekrandom; do
            a=$(ops "$w" "$out/08-vlog-$size.log") l=$(ops "$w" "$out/leveldb-bloom-$size.log")
            s=$(ops "$w" "$out/07-txn-$size.log")
            awk -v z="$size" -v w="$w" -v a="$a" -v l="$l" -v s="$s" \
                'BEGIN { printf "| %s | %s | %.2f | %.2f |\n", z, w, (l > 0 ? a / l : 0), (s > 0 ? a / s : 0) }'
        done
    done
    echo
    echo "    load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
} >>"$res"
cat "$res"
if [ "$publish" = 1 ]; then
    cp "$res" bench/results/vlog-results.md
    sh scripts/docs_figures.sh docs/08-vlog-reference.md
    echo "bench-vlog: published bench/results/vlog-results.md and docs/08-vlog-reference.md"
fi
