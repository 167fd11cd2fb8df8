#!/bin/sh
# bench_raft_options.sh: writes a second at the leader of a stage 10 group
# run with two sets of member options, in alternating rounds (a shared
# machine's load moves under both alike).  `make bench-raft-blocks` runs
# it with `--raft-log-block 4096` (libraft's own unit here) against the
# default; docs/perf-10-raft.md, "The log's blocks", has its figures.
#
#   sh scripts/bench_raft_options.sh BUILD "OPTIONS A" "OPTIONS B"
#
# A run: three members, `kv DIR cluster --members 3 OPTIONS` (peer TLS
# on), started on empty directories and settled (bench_raft_servers.sh),
# then BUILD/bench/raft_load --proto resp -c C -n N -r 1000000 -d 100 at
# the leader: C clients, each with one SET in flight, 100-byte values
# over a million random keys.  C goes through $BENCH_OPT_CLIENTS ("1 50");
# N is 3,000 a client, at most $BENCH_OPT_N (30000).  A round is a run
# of each option set at each C, the order of the two sets swapped from
# round to round; $BENCH_OPT_ROUNDS (6) rounds.  Each run's figure and
# the host's load average just before it go to
# build/bench-raft-options/rounds.csv (round,clients,set,wps,p50_ms,
# p99_ms,load1); printed at the end, for each C: each set's median and
# range, and B over A round by round with the median of those ratios.
set -u
build=${1:?usage: bench_raft_options.sh BUILD "OPTIONS A" "OPTIONS B"}
opts_a=${2?usage: bench_raft_options.sh BUILD "OPTIONS A" "OPTIONS B"}
opts_b=${3?usage: bench_raft_options.sh BUILD "OPTIONS A" "OPTIONS B"}
clients=${BENCH_OPT_CLIENTS:-1 50}
rounds=${BENCH_OPT_ROUNDS:-6}
n_max=${BENCH_OPT_N:-30000}
out=build/bench-raft-options
for f in "$build/10-raft/kv" "$build/bench/raft_load"; do
    [ -x "$f" ] || { echo "bench-raft-options: $f is not built" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
note() {
    echo "bench-raft-options: $*" >&2
}
. scripts/bench_raft_servers.sh

csv=$out/rounds.csv
echo "round,clients,set,wps,p50_ms,p99_ms,load1" >"$csv"
echo "A: ${opts_a:-(the defaults)}"
echo "B: ${opts_b:-(the defaults)}"
r=1
while [ "$r" -le "$rounds" ]; do
    order="A B"
    [ $((r % 2)) -eq 0 ] && order="B A"
    for c in $clients; do
        n=$((c * 3000))
        [ "$n" -gt "$n_max" ] && n=$n_max
        for set in $order; do
            opts=$opts_a
            [ "$set" = B ] && opts=$opts_b
            dir=$out/run
            rm -rf "$dir" "$dir.txt"
            mkdir -p "$dir"
            # shellcheck disable=SC2086
            group_start "$dir" $opts
            if [ -z "$lead" ]; then
                group_stop
                continue
            fi
            load=$(cut -d' ' -f1 /proc/loadavg)
            line=$("$build/bench/raft_load" --proto resp --port "$lead" -c "$c" -n "$n" \
                -r 1000000 -d 100 2>"$out/raft_load.err") || line=""
            group_stop
            if [ -z "$line" ]; then
                note "round $r, $c clients, set $set: raft_load failed: $(tail -n 1 "$out/raft_load.err")"
                continue
            fi
            echo "$r,$c,$set,$line,$load" >>"$csv"
            echo "round $r, $c clients, set $set: $line (writes/s,p50 ms,p99 ms), load $load"
        done
    done
    r=$((r + 1))
done
rm -rf "$out/run" "$out/run.txt"

python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for c in sorted({int(r["clients"]) for r in rows}):
    at = [r for r in rows if int(r["clients"]) == c]
    print("%d client%s:" % (c, "" if c == 1 else "s"))
    for s in "AB":
        w = [float(r["wps"]) for r in at if r["set"] == s]
        if w:
            print("  %s: median %.0f writes/s over %d runs (%.0f to %.0f)"
                  % (s, statistics.median(w), len(w), min(w), max(w)))
    ratios = []
    for rnd in sorted({int(r["round"]) for r in at}):
        a = [float(r["wps"]) for r in at if int(r["round"]) == rnd and r["set"] == "A"]
        b = [float(r["wps"]) for r in at if int(r["round"]) == rnd and r["set"] == "B"]
        if a and b and a[0] > 0:
            ratios.append(b[0] / a[0])
    if ratios:
        print("  B over A, round by round: %s; median %.2fx"
              % (", ".join("%.2f" % x for x in ratios), statistics.median(ratios)))
PY
