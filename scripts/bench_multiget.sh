#!/bin/sh
# bench_multiget.sh: `make bench-multiget`: runs build/ring_read
# (bench/ring_read.c: the I/O layer's batched read alone, on each backend),
# then build/S/multiget (bench/multiget.c) on each stage, and gathers their
# tables, with the
# run's description (date, commit, machine, load average), in
# build/bench/multiget/results.md; each stage's whole output is beside it
# (S.log).  --publish also copies the results to
# bench/results/multiget-results.md and updates the pages that quote them
# (scripts/docs_figures.sh: docs/io.md).
#
#   sh scripts/bench_multiget.sh BUILD_DIR "STAGES" [--publish] [MULTIGET-ARGS...]
set -u
if [ $# -lt 2 ]; then
    echo "usage: sh scripts/bench_multiget.sh BUILD_DIR \"STAGES\" [--publish] [ARGS...]" >&2
    exit 2
fi
build=$1 stages=$2
shift 2
publish=0
if [ "${1:-}" = --publish ]; then
    publish=1
    shift
fi
out=build/bench/multiget
mkdir -p "$out"
res=$out/results.md

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- common include bench stages 2>/dev/null; then
    commit="$commit (with changes not committed)"
fi
{
    echo "## multiget: kv_multi_get against a loop of kv_get"
    echo
    echo "### The run"
    echo
    echo "    date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "    command: make bench-multiget MULTIGET_STAGES=\"$stages\" MULTIGET_ARGS=\"$*\""
    echo "    cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
    echo "    kernel: $(uname -sr)"
    echo "    filesystem: $(df -T /var/tmp 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') (/var/tmp)"
    echo "    commit: $commit"
    echo "    load average: $(cut -d ' ' -f 1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    echo
} >"$res"

echo "bench-multiget: the I/O layer alone (its lines go to $out/ring_read.log)"
if ! nice "$build/ring_read" >"$out/ring_read.log" 2>&1; then
    cat "$out/ring_read.log"
    echo "bench-multiget: $build/ring_read failed" >&2
    exit 1
fi
for s in $stages; do
    echo "bench-multiget: stage $s (its lines go to $out/$s.log)"
    # shellcheck disable=SC2086 # the arguments are words
    if ! nice "$build/$s/multiget" "$@" >"$out/$s.log" 2>&1; then
        cat "$out/$s.log"
        echo "bench-multiget: $build/$s/multiget failed" >&2
        exit 1
    fi
done

{
    echo "### The I/O layer alone"
    echo
    echo "io_read_batch (build/ring_read) of 4 KiB ranges, each a different page of a file, on"
    echo "each backend:"
    echo
    grep '^|' "$out/ring_read.log" || grep '^ring_read: io_uring' "$out/ring_read.log"
    echo
    echo "### Keys per second"
    echo
    first=1
    for s in $stages; do
        if [ "$first" = 1 ]; then
            grep '^|' "$out/$s.log"
            first=0
        else
            grep '^|' "$out/$s.log" | tail -n +3
        fi
    done
    echo
    for s in $stages; do
        grep '^(ratio' "$out/$s.log" | head -n 1
        break
    done
    echo
    echo "### Backends"
    echo
    for s in $stages; do
        grep '^multiget: io=' "$out/$s.log" | sed "s/^multiget: /    $s: /"
    done
    echo "    load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
} >>"$res"
cat "$res"
if [ "$publish" = 1 ]; then
    cp "$res" bench/results/multiget-results.md
    sh scripts/docs_figures.sh docs/io.md
    echo "bench-multiget: published bench/results/multiget-results.md and docs/io.md"
fi
