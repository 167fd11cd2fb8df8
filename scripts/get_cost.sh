#!/bin/sh
# get_cost.sh: where a get goes, counted: the instructions and the
# simulated cache misses of each read workload of kvbench on a database
# kept by an earlier run (kvbench --use_existing_db=1), per operation, and
# the functions that took them, grouped into the steps of a get
# (`make get-cost`; docs/perf-09-cache.md).
#
#   sh scripts/get_cost.sh KVBENCH DB N WORKLOADS [OPS] [ENV=VALUE...]
#   (GET_COST_WARMUP=W: operations made first, not counted; default 1000000;
#    GET_COST_THREADS=main: the thread that makes the operations counted
#    alone, not the engine's background threads, which work while the
#    gets run as much as the scheduler lets them: stage 05's check-ahead
#    thread checks the blocks no get has read yet, a count that moves
#    between runs under valgrind)
#
# KVBENCH is a kvbench binary (a stage's build/S/kvbench or a peer's
# build/bench/kvbench-P), DB the --db its database was filled in with N
# keys (--benchmarks=fillrandom,settle --use_existing_db=1), WORKLOADS
# kvbench's read workloads, comma-separated (readrandom,readzipf), OPS the
# operations of each (default 20000), each after W operations of other
# keys that are not counted (kvbench --warmup: the steady state a long run
# reads in, every block it touches read once before).  ENV=VALUE pairs go to kvbench's
# environment (KVBENCH_BLOOM_BITS=10 for leveldb-bloom).  Callgrind
# (--cache-sim=yes: a first-level data cache and a last-level cache of
# this machine's L3's size, simulated) counts each workload alone: kvbench
# starts and dumps the count around it.  Printed for each workload: its
# instructions (Ir), first-level data-cache misses (D1mr + D1mw) and
# last-level misses (DLmr + DLmw: the ones that go to memory) per
# operation, then each step's share (scripts/get_cost_steps.awk: a
# function's own cost goes to the step its name says), then the 15
# functions with the most instructions of their own.  A count does not
# depend on the machine's other load, so it can be taken on a busy
# machine; what it leaves out is the time a miss costs, the system calls
# and the page faults (a mapped page read for the first time).
set -eu
[ $# -ge 4 ] || { echo "usage: $0 KVBENCH DB N WORKLOADS [OPS] [ENV=VALUE...]" >&2; exit 2; }
bin=$1 db=$2 num=$3 workloads=$4
shift 4
ops=20000
case ${1:-} in
'' | *=*) ;;
*) ops=$1; shift ;;
esac
command -v valgrind >/dev/null || { echo "get_cost: valgrind is not installed (make deps DEPS=perf)" >&2; exit 2; }
[ -d "$db/main" ] || { echo "get_cost: no database in $db/main (fill it first: $bin --num=$num --db=$db --use_existing_db=1 --benchmarks=fillrandom,settle)" >&2; exit 2; }
tmp=$(mktemp -d)
[ -n "${GET_COST_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
here=$(dirname "$0")
# LMDB's map under valgrind: twice its file, not kvbench's 64 GiB.
if [ -f "$db/main/data.mdb" ]; then
    set -- KVBENCH_LMDB_MAP_MB=$(($(stat -c %s "$db/main/data.mdb") / 524288 + 64)) "$@"
fi
# The last-level cache simulated is this machine's L3 (lscpu), 16-way; a
# first-level data cache of callgrind's choosing (the host's).
ll=$(lscpu -B 2>/dev/null | awk '/^L3 cache:/ { print $3 }')
case $ll in '' | *[!0-9]*) ll=33554432 ;; esac
threads=no
[ "${GET_COST_THREADS:-}" = main ] && threads=yes
# shellcheck disable=SC2086 # ENV=VALUE words
env "$@" valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes --LL="$ll,16,64" \
    --separate-threads="$threads" \
    --callgrind-out-file="$tmp/cg.%p" "$bin" --num="$num" --db="$db" --use_existing_db=1 \
    --seconds=1000000 --reads="$ops" --warmup="${GET_COST_WARMUP:-1000000}" --benchmarks="$workloads" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; exit 1; }
echo "$("$bin" --describe); $num keys in $db; $ops operations a workload after ${GET_COST_WARMUP:-1000000} not counted, counted by callgrind"
files="$tmp/cg.*.*"
[ "$threads" = yes ] && files="$tmp/cg.*.*-01" # thread 1: kvbench's own
for f in $files; do
    w=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
    done_ops=$(awk -v w="$w" '$1 == w && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "ops" && $(i + 1) == "in") print substr($(i - 1), 2) }' "$tmp/out")
    [ -n "$done_ops" ] || done_ops=$ops
    callgrind_annotate --inclusive=no --auto=no --threshold=100 "$f" 2>/dev/null >"$tmp/ann"
    awk -v w="$w" -v ops="$done_ops" -f "$here/get_cost_steps.awk" "$tmp/ann"
done
