#!/bin/sh
# profile_reads.sh KVBENCH [N]: where a get of a settled database spends its
# time (`make profile-reads`).  KVBENCH is a kvbench binary (a stage's, or a
# peer's: build/bench/kvbench-leveldb with KVBENCH_BLOOM_BITS=10 set).
#
# kvbench fills N keys (default 1,000,000) in random order, settles them
# (each engine's full compaction) and reads N random present keys; perf
# samples the CPU (cpu-clock, 4999 Hz: a virtual machine has no hardware
# counters) from the moment the fill and the settle are over, which a
# first run without perf measures.  It prints the readrandom line and the
# functions that took at least 1% of the samples, by their own time.
# perf's delay is approximate: a few samples of the settle may remain.
set -eu
bin=$1
n=${2:-1000000}
command -v perf >/dev/null 2>&1 || {
    echo "profile_reads: perf is not installed (Debian: linux-perf)" >&2
    exit 2
}
tmp=$(mktemp -d /dev/shm/profile-reads.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s%N)
"$bin" --num="$n" --db="$tmp/db" --benchmarks=fillrandom,settle >/dev/null
rm -rf "$tmp/db"
delay=$((($(date +%s%N) - start) / 1000000 + 100))
perf record -q -F 4999 -D "$delay" -o "$tmp/perf.data" \
    "$bin" --num="$n" --seconds=10 --db="$tmp/db" --benchmarks=fillrandom,settle,readrandom \
    2>&1 | grep '^readrandom' | cut -d'(' -f1
perf report -q -i "$tmp/perf.data" --no-children --stdio --percent-limit 1 \
    --sort symbol 2>/dev/null | sed 's/ *$//'
