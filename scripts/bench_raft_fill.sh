#!/bin/sh
# bench_raft_fill.sh: SET/s at the leader of a stage 10 group, 50 clients,
# on an empty database and on one of 1,000,000 keys, for two builds in
# alternating rounds (a shared machine's load moves under both alike).
# `make bench-raft-fill` runs it with one build; docs/perf-10-raft.md,
# "Writes on an empty and on a full database", has its figures.
#
#   sh scripts/bench_raft_fill.sh BUILD [OTHER_BUILD]
#
# A run: three members, `kv DIR cluster --members 3` (peer TLS on), started
# on empty directories and settled (bench_raft_servers.sh); for the full
# state, every key of [0, KEYS) written once first (100-byte values,
# redis-cli --pipe, in key order, each answer checked), then the group
# settled again (every member's commit index at the leader's last), then
# left until its members are idle (group_idle: under 0.05 s of CPU in a
# second, their flushes, compactions and snapshots of the fill done; at
# most $BENCH_FILL_IDLE seconds, 600; 0 measures at once, while the
# engines may still be compacting); then redis-benchmark -t set -c 50
# -n $BENCH_FILL_N (200000) -r KEYS -d 100 at the leader: random keys of
# [0, KEYS), so on the full database nearly every SET replaces a value.
# KEYS is $BENCH_FILL_KEYS (1000000).  A round is, for each state, a run
# of each build, in an order that alternates from round to round;
# $BENCH_FILL_ROUNDS (3) of them ($BENCH_FILL_STATES, "empty full", says
# which states; $BENCH_FILL_P, 1, is redis-benchmark's -P: requests each
# client sends before it waits; $BENCH_FILL_OP, set, may be get: reads at
# the leader, each behind a read round).  Each run's figure, and the host's load
# average just before it, go to build/bench-raft-fill/rounds.csv
# (round,build,state,rps,p50_ms,p99_ms,load1,fill_s,idle_s: the fill's
# seconds, with the same 100-byte SETs pipelined by one client, and the
# seconds the group took to go idle after it); the medians, and each
# build's full/empty ratio, are printed at the end.
set -u
one=${1:?usage: bench_raft_fill.sh BUILD [OTHER_BUILD]}
two=${2:-}
n=${BENCH_FILL_N:-200000}
keys=${BENCH_FILL_KEYS:-1000000}
rounds=${BENCH_FILL_ROUNDS:-3}
states=${BENCH_FILL_STATES:-empty full}
pipe=${BENCH_FILL_P:-1}
op=${BENCH_FILL_OP:-set}
idle_max=${BENCH_FILL_IDLE:-600}
value=100
out=build/bench-raft-fill
for b in $one $two; do
    [ -x "$b/10-raft/kv" ] || { echo "bench-raft-fill: $b/10-raft/kv is not built" >&2; exit 1; }
done
command -v redis-benchmark >/dev/null 2>&1 || { echo "bench-raft-fill: redis-benchmark is missing" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
note() {
    echo "bench-raft-fill: $*" >&2
}
. scripts/bench_raft_servers.sh

fill=$out/fill.resp
awk -v n="$keys" -v v="$(printf "%${value}s" '' | tr ' ' x)" 'BEGIN {
    for (i = 0; i < n; i++) {
        k = sprintf("key:%012d", i)
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
    }
}' >"$fill"

csv=$out/rounds.csv
echo "round,build,state,rps,p50_ms,p99_ms,load1,fill_s,idle_s" >"$csv"
run() { # ROUND BUILD STATE
    build=$2
    group_start "$out/g"
    if [ -z "$lead" ]; then
        group_stop
        return
    fi
    fill_s=""
    idle_s=""
    if [ "$3" = full ]; then
        began=$(date +%s.%N)
        got=$(redis-cli -p "$lead" --pipe <"$fill" 2>&1 | tail -n 1)
        fill_s=$(echo "$(date +%s.%N) - $began" | bc)
        [ "$got" = "errors: 0, replies: $keys" ] || note "$2: the fill of $keys keys ended with: $got"
        i=0
        while [ -z "$(group_settled)" ] && [ $i -lt 600 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        [ "$idle_max" -gt 0 ] && idle_s=$(group_idle "$idle_max")
        [ "$idle_s" = "$idle_max" ] && note "$2: the group was still busy $idle_max s after the fill"
        quiet_second
    fi
    load=$(cut -d ' ' -f 1 /proc/loadavg)
    raw=$out/run.txt
    redis-benchmark -p "$lead" -t "$op" -c 50 -n "$n" -r "$keys" -d "$value" -P "$pipe" --csv >"$raw" 2>&1
    grep -q 'Error' "$raw" && note "$2 $3: $(grep -m 1 'Error' "$raw")"
    tr -d '"\r' <"$raw" | grep -iE "^$op," | while IFS=, read -r _ rps _ _ p50 _ p99 _; do
        echo "$1,$2,$3,$rps,$p50,$p99,$load,$fill_s,$idle_s" | tee -a "$csv"
    done
    group_stop
    drop_data "$out/g"
    rm -f "$out/g.txt"
}

r=1
while [ $r -le "$rounds" ]; do
    for state in $states; do
        if [ -z "$two" ]; then
            run $r "$one" $state
        elif [ $((r % 2)) -eq 1 ]; then
            run $r "$one" $state
            run $r "$two" $state
        else
            run $r "$two" $state
            run $r "$one" $state
        fi
    done
    r=$((r + 1))
done

python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
builds = list(dict.fromkeys(r["build"] for r in rows))
print("build | state | runs | median requests/s | range | median load1")
for b in builds:
    med = {}
    for state in ("empty", "full"):
        rs = [float(r["rps"]) for r in rows if r["build"] == b and r["state"] == state]
        ls = [float(r["load1"]) for r in rows if r["build"] == b and r["state"] == state]
        if rs:
            med[state] = statistics.median(rs)
            print("%s | %s | %d | %.0f | %.0f-%.0f | %.2f" % (
                b, state, len(rs), med[state], min(rs), max(rs), statistics.median(ls)))
    if len(med) == 2:
        print("%s: full / empty = %.2fx" % (b, med["full"] / med["empty"]))
PY
