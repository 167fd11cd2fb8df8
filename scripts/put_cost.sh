#!/bin/sh
# put_cost.sh [--num=N] KVBENCH...: what one put of kvbench's fillrandom
# costs each engine (16-byte keys, 100-byte values, sync = 0), in figures
# that do not depend on the machine's load:
#   - instructions per put, counted by callgrind over N puts (default
#     200,000): the engine's put call alone (kv_put, or leveldb_put; "-"
#     if the binary has no symbol of that name), the memtable insert in
#     it (stage 04's memtable_add; "-" for the others), the writer's thread
#     (kvbench's loop included: its keys, timing and histogram, some 400),
#     every other thread (the flush or compaction), and the process;
#   - system calls per put, as kvbench prints them from /proc/self/io
#     (read-like, write-like; fsync, open and rename are in neither), from
#     a run without valgrind, which makes calls of its own.
# docs/perf-04-lsm.md, "The put: instructions, system calls, time", quotes it.  Needs valgrind
# (callgrind_annotate comes with it).  Example:
#   sh scripts/put_cost.sh build/04-lsm/kvbench build/bench/kvbench-leveldb
set -eu
num=200000
case ${1:-} in
--num=*)
    num=${1#*=}
    shift
    ;;
esac
if [ $# = 0 ]; then
    echo "usage: put_cost.sh [--num=N] KVBENCH..." >&2
    exit 2
fi
command -v valgrind >/dev/null || {
    echo "put_cost.sh: valgrind is not installed" >&2
    exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# per TOTAL: TOTAL / num, rounded.
per() { awk -v t="$1" -v n="$num" 'BEGIN { printf "%d", t / n + 0.5 }'; }

printf '%-28s %8s %8s %8s %8s %8s  %s\n' engine put insert writer others process \
    "syscalls/put (read, write)"
for bin in "$@"; do
    # kvbench runs the workload in a child process; callgrind follows it
    # (fork), and writes one file per thread of each process.
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.%p" \
        "$bin" --num="$num" --benchmarks=fillrandom --db="$tmp/db" >"$tmp/log" 2>&1
    rm -rf "$tmp/db"
    # The child: the process that ran the most instructions.
    pid=$(sed -n 's/^==\([0-9]*\)== Collected : *\([0-9]*\).*/\2 \1/p' "$tmp/log" |
        sort -n | tail -1 | cut -d' ' -f2)
    child=$tmp/cg.$pid
    writer=0 others=0
    for f in "$child"-*; do
        ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
        case $f in
        *-01) writer=$ir ;;
        *) others=$((others + ir)) ;;
        esac
    done
    callgrind_annotate --inclusive=yes "$child"-01 >"$tmp/incl" 2>/dev/null
    put=$(awk '$0 ~ /[:?]((kv_put)|(leveldb_put)) \[/ { gsub(",", "", $1); print $1; exit }' "$tmp/incl")
    insert=$(awk '$0 ~ /:memtable_add \[/ { gsub(",", "", $1); print $1; exit }' "$tmp/incl")
    rm -f "$tmp"/cg.*
    sc=$("$bin" --num="$num" --benchmarks=fillrandom --db="$tmp/db" |
        sed -n 's/^fillrandom  .*syscalls\/op \([0-9.]*\) read, \([0-9.]*\) write.*/\1, \2/p')
    rm -rf "$tmp/db"
    printf '%-28s %8s %8s %8s %8s %8s  %s\n' "$bin" "$(if [ -n "$put" ]; then per "$put"; else echo -; fi)" \
        "$(if [ -n "$insert" ]; then per "$insert"; else echo -; fi)" \
        "$(per "$writer")" "$(per "$others")" "$(per $((writer + others)))" "$sc"
done
