#!/bin/sh
# bench_raft.sh: SET through a Raft group of stage 10 against one stage 09
# server, with redis-benchmark, on this host.  `make bench-raft`.
#
#   sh scripts/bench_raft.sh [BUILD_DIR]
#
# The servers, each on free ports with fresh directories under
# build/bench-raft/, one after the other:
#   raft-3         three stage 10 members (`kv DIR cluster --members 3`),
#                  redis-benchmark at the leader: a write answered once a
#                  majority holds it in its synced log, and it is applied
#   kv-09-sync     one stage 09 `kv serve --sync`: a write answered once
#                  it is fsynced, no replica
#   redis-always   Debian's redis-server, appendonly yes, appendfsync
#                  always, with two replicas (asynchronous: a write is
#                  answered before any replica has it, so this is not the
#                  same promise; WAIT 1 after each write would be, and
#                  redis-benchmark cannot send it)
# Each: redis-benchmark -t set -c 50 -n N -r N [-P 16] --csv (N =
# $BENCH_RAFT_N, default 200000), first without pipelining, then with
# -P 16.  All members share this host's two cores and one disk: the
# figures say what a group costs here, not what three machines would do.
# Writes build/bench-raft/results.csv (server,pipeline,rps,p50_ms,p99_ms),
# results.md and machine.txt, and prints the table.
set -u
build=${1:-build}
n=${BENCH_RAFT_N:-200000}
out=build/bench-raft
for tool in redis-benchmark redis-cli redis-server; do
    command -v $tool >/dev/null 2>&1 || { echo "bench-raft: $tool is missing (make deps DEPS=server)" >&2; exit 1; }
done
for s in 10-raft 09-cache; do
    [ -x "$build/$s/kv" ] || { echo "bench-raft: $build/$s/kv is not built" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
csv=$out/results.csv
echo "server,pipeline,rps,p50_ms,p99_ms" >"$csv"

free_run() { # the first of $1 consecutive free ports
    python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
while True:
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", p))
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

wait_ping() {
    i=0
    while [ $i -lt 150 ]; do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

run_bench() { # NAME PORT
    for pipe in 1 16; do
        redis-benchmark -p "$2" -t set -c 50 -n "$n" -r "$n" -P $pipe --csv 2>/dev/null |
            tr -d '"\r' | grep -E '^SET,' |
            while IFS=, read -r test rps avg min p50 p95 p99 max; do
                echo "$1,$pipe,$rps,$p50,$p99" >>"$csv"
                printf '%-14s -P %-2s SET %10s req/s  p50 %s ms  p99 %s ms\n' "$1" $pipe "$rps" "$p50" "$p99"
            done
    done
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)"
    echo "cpus: $(nproc)"
    echo "libraft: $(dpkg-query -W -f '${Version}' libraft-dev 2>/dev/null)"
    echo "redis: $(redis-server --version)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
echo "bench-raft: $n SETs a run, 50 clients; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# raft-3: the group, redis-benchmark at its leader.
port=$(free_run 6)
"$build/10-raft/kv" "$out/raft" cluster --members 3 --port "$port" --raft-port $((port + 3)) \
    >"$out/cluster.txt" 2>&1 &
cpid=$!
lead=""
i=0
while [ -z "$lead" ] && [ $i -lt 300 ]; do
    for p in $port $((port + 1)) $((port + 2)); do
        redis-cli -p $p cluster info 2>/dev/null | grep -q 'raft_state:leader' && lead=$p
    done
    sleep 0.1
    i=$((i + 1))
done
if [ -n "$lead" ]; then
    run_bench raft-3 "$lead"
else
    echo "bench-raft: the group elected no leader (see $out/cluster.txt)" >&2
fi
kill -INT $cpid
wait $cpid

# kv-09-sync: one server, every write fsynced.
port=$(free_run 1)
"$build/09-cache/kv" "$out/kv09" serve --port "$port" --sync 2>>"$out/server.log" &
pid=$!
wait_ping "$port" && run_bench kv-09-sync "$port"
kill -TERM $pid
wait $pid

# redis-always: a primary that fsyncs each write, two replicas.
port=$(free_run 3)
pids=""
for k in 0 1 2; do
    dir=$out/redis-$k
    mkdir -p "$dir"
    extra=""
    [ $k -gt 0 ] && extra="--replicaof 127.0.0.1 $port"
    # shellcheck disable=SC2086
    redis-server --port $((port + k)) --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
        --appendfsync always --daemonize no $extra >"$dir/log" 2>&1 &
    pids="$pids $!"
done
wait_ping "$port" && wait_ping $((port + 1)) && wait_ping $((port + 2)) && sleep 1 &&
    run_bench redis-always "$port"
for k in 0 1 2; do
    redis-cli -p $((port + k)) shutdown nosave >/dev/null 2>&1
done
for p in $pids; do
    wait "$p"
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 - "$csv" >"$out/results.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| server | -P | SET req/s | p50 ms | p99 ms |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    print("| %s | %s | %s | %s | %s |" % (r["server"], r["pipeline"], f'{float(r["rps"]):,.0f}',
                                         r["p50_ms"], r["p99_ms"]))
PY
cat "$out/results.md"
cat "$out/machine.txt"
