#!/bin/sh
# bench_server.sh: redis-benchmark against `kv serve` (stage 03, without
# and with --sync) and against Debian's redis-server (appendonly yes, with
# appendfsync everysec and always), in one run.  `make bench-server`.
#
#   sh scripts/bench_server.sh [BUILD_DIR [STAGE]]
#
# Each server starts on a free port with a fresh directory under
# build/bench-server/, then runs
#   redis-benchmark -t set,get -c 50 -n N -r N [-P 16] --csv
# (N = $BENCH_SERVER_N, default 1000000; -r N: random keys among N), first
# without pipelining, then with -P 16, and is shut down.  Writes
# build/bench-server/results.csv (server,pipeline,test,rps,p50_ms,p99_ms),
# results.md (the table) and rps.png (gnuplot, when installed), and prints
# the table, the machine's load before and after, and the ratios the
# targets in docs/server.md are about.
set -u
build=${1:-build}
stage=${2:-03-wal}
n=${BENCH_SERVER_N:-1000000}
out=build/bench-server
kv=$build/$stage/kv
for tool in redis-benchmark redis-cli redis-server; do
    command -v $tool >/dev/null 2>&1 || { echo "bench-server: $tool is missing (make deps DEPS=server)" >&2; exit 1; }
done
[ -x "$kv" ] || { echo "bench-server: $kv is not built" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
csv=$out/results.csv
echo "server,pipeline,test,rps,p50_ms,p99_ms" >"$csv"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ping() {
    i=0
    while [ $i -lt 100 ]; do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# run_bench NAME PORT: both runs against the server on PORT.
run_bench() {
    for pipe in 1 16; do
        redis-benchmark -p "$2" -t set,get -c 50 -n "$n" -r "$n" -P $pipe --csv 2>/dev/null |
            tr -d '"\r' | grep -E '^(SET|GET),' |
            while IFS=, read -r test rps avg min p50 p95 p99 max; do
                echo "$1,$pipe,$test,$rps,$p50,$p99" >>"$csv"
                printf '%-24s -P %-2s %-3s %12s req/s  p50 %s ms  p99 %s ms\n' "$1" $pipe "$test" "$rps" "$p50" "$p99"
            done
    done
}

# bench_kv NAME [OPTIONS]: `kv serve` on a fresh directory.
bench_kv() {
    name=$1
    shift
    port=$(free_port)
    rm -rf "$out/db-$name"
    "$kv" "$out/db-$name" serve --port "$port" "$@" 2>>"$out/server.log" &
    pid=$!
    if wait_ping "$port"; then
        run_bench "$name" "$port"
    else
        echo "bench-server: $name did not start (see $out/server.log)" >&2
    fi
    kill -TERM $pid
    wait $pid
}

# bench_redis NAME FSYNC: redis-server with an append-only file.
bench_redis() {
    port=$(free_port)
    dir=$out/redis-$1
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
        --appendfsync "$2" --daemonize no >"$dir/log" 2>&1 &
    pid=$!
    if wait_ping "$port"; then
        run_bench "$1" "$port"
    else
        echo "bench-server: redis-server did not start (see $dir/log)" >&2
    fi
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill -TERM $pid
    wait $pid
}

echo "bench-server: $n requests a run, 50 clients; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)"
    echo "cpus: $(nproc)"
    echo "redis: $(redis-server --version)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
bench_kv "kv-$stage" 
bench_kv "kv-$stage-sync" --sync
bench_redis redis-everysec everysec
bench_redis redis-always always
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
echo "bench-server: load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The table, and the ratios against redis-server.
python3 - "$csv" "$stage" >"$out/results.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
stage = sys.argv[2]
rps = {(r["server"], r["pipeline"], r["test"]): float(r["rps"]) for r in rows}
servers = []
for r in rows:
    if r["server"] not in servers:
        servers.append(r["server"])
print("| server | -P | SET req/s | GET req/s | SET p50 ms | GET p50 ms |")
print("|---|---:|---:|---:|---:|---:|")
for s in servers:
    for p in ("1", "16"):
        cell = {t: next((r for r in rows if r["server"] == s and r["pipeline"] == p and r["test"] == t), None) for t in ("SET", "GET")}
        if not cell["SET"] or not cell["GET"]:
            continue
        print("| %s | %s | %s | %s | %s | %s |" % (s, p, f'{float(cell["SET"]["rps"]):,.0f}', f'{float(cell["GET"]["rps"]):,.0f}', cell["SET"]["p50_ms"], cell["GET"]["p50_ms"]))
print()
def ratio(a, b):
    return "%.2fx" % (rps[a] / rps[b]) if a in rps and b in rps and rps[b] > 0 else "-"
k, ks = "kv-" + stage, "kv-" + stage + "-sync"
print("| target (-P 16) | ratio | wanted |")
print("|---|---:|---:|")
print("| SET, %s / redis everysec | %s | >= 0.50x |" % (k, ratio((k, "16", "SET"), ("redis-everysec", "16", "SET"))))
print("| GET, %s / redis everysec | %s | >= 0.50x |" % (k, ratio((k, "16", "GET"), ("redis-everysec", "16", "GET"))))
print("| SET, %s / redis always | %s | >= 1.00x |" % (ks, ratio((ks, "16", "SET"), ("redis-always", "16", "SET"))))
PY
cat "$out/results.md"

if command -v gnuplot >/dev/null 2>&1; then
    python3 - "$csv" >"$out/rps.dat" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    print('"%s -P%s %s" %s' % (r["server"], r["pipeline"], r["test"], r["rps"]))
PY
    gnuplot <<GP
set terminal pngcairo size 1000,560 noenhanced
set bmargin 11
set rmargin 10
set output "$out/rps.png"
set title "redis-benchmark, 50 clients, $n requests, random keys: requests per second"
set style fill solid 0.8
set boxwidth 0.7
set xtics rotate by -40
set grid ytics
set yrange [0:*]
set format y "%.0f"
plot "$out/rps.dat" using 0:2:xtic(1) with boxes notitle
GP
    echo "bench-server: chart in $out/rps.png"
fi
