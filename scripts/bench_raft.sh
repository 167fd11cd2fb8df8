#!/bin/sh
# bench_raft.sh: SET through a Raft group of stage 10, with its peer TLS on
# and off, against etcd with its peer TLS on, in alternating rounds; then,
# one run each, SET and GET through the group against one stage 09 server,
# and SET against Redis with replicas, on this host.  `make bench-raft`.
#
#   sh scripts/bench_raft.sh [BUILD_DIR]
#
# Part 1, the rounds.  Servers that make the same promise (a write
# answered once a majority holds it in its synced log, and it is applied),
# every peer connection of the first three authenticated and encrypted:
#   etcd-tls-shared  three etcd 3.4 members (Debian's etcd-server), default
#                    fsync behaviour, peer TLS with client certificates
#                    (--peer-client-cert-auth, a CA and member certificates
#                    made with the openssl command: bench_raft_servers.sh),
#                    driven at the leader over gRPC by build/bench/etcd_load
#                    (bench/etcd_load/main.go, etcd's Go client library),
#                    its clients sharing one gRPC connection (--conns
#                    shared: one clientv3.Client, a stream per request)
#   etcd-tls-each    the same, each client its own connection (--conns
#                    each); at 1 client the two are the same run, made once
#   raft-tls         three stage 10 members, `kv DIR cluster --members 3`
#                    (which makes the group's CA and certificates: mutual
#                    TLS on the Raft port), driven at the leader by
#                    build/bench/raft_load --proto resp (bench/raft_load.c),
#                    a connection a client
#   raft-insecure    the same with --raft-insecure (given to every member):
#                    plain TCP between the members
# $BENCH_RAFT_ETCD_CONNS (shared each) says which etcd rows run; the first
# is the headline's.  A workload is a value size and a key space: each
# write puts a random key of [0, KEYS) with a value of that many bytes.
# The headline's is $BENCH_RAFT_VALUE (100) bytes over $BENCH_RAFT_KEYS
# (1000000) keys, at every client count of $BENCH_RAFT_CLIENTS (1 10 50
# 200: closed loops, each one write at a time); a second workload, labelled
# as such, $BENCH_RAFT_SMALL (3:200000:50: VALUE:KEYS:CLIENTS..., empty
# for none), is the small-value run this benchmark published first.  Each
# run starts its server afresh on empty directories, settled
# (bench_raft_servers.sh), writes $BENCH_RAFT_PER_CLIENT requests a client
# (1000; at least 3 and at most 100 times that: 3000, 10000, 50000,
# 100000), into a database that holds nothing but those writes, then stops
# it and removes its data; every workload's client counts against every
# server in turn is a round, $BENCH_RAFT_ROUNDS of them (5).  Every run's
# figures, and the CPU time its servers and its client used, go to
# rounds.csv; results.csv and results.md hold the median of the rounds for
# each row (each says its value size, key space, clients and connections),
# and ratios.txt the ratios of medians (and of each round's pair):
# raft-tls against each etcd row, how much etcd's connection method moves
# that ratio, and raft-tls against raft-insecure.
#
# Part 2, one run each (BENCH_RAFT_ONE_RUN=0 leaves it out), 50 connections,
# $BENCH_RAFT_VALUE-byte values, N requests a run over random keys of [0, N)
# (N = $BENCH_RAFT_N, 200000), each server started afresh:
#   raft-tls       the group as above: redis-benchmark -t set -c 50 -n N
#                  -r N -d VALUE, -P 1 and -P 16; then reads (below)
#   kv-09-sync     one stage 09 `kv serve --sync`: a write answered once
#                  fsynced, no replica; redis-benchmark as raft-tls, and
#                  raft_load --proto resp
#   redis-always   Debian's redis-server, appendonly yes, appendfsync
#                  always, two replicas (asynchronous: answered once the
#                  primary has fsynced it); redis-benchmark -t set
#   redis-wait1    the same three, raft_load --proto resp-wait: each SET
#                  with WAIT 1 1000, answered once one replica holds it (in
#                  memory)
# Reads (op GET), on raft-tls and kv-09-sync, after a fill that writes
# every key of [0, N) once (VALUE bytes, redis-cli --pipe, in key order),
# so that every GET finds a value:
#   raft-tls          redis-benchmark -t get, -P 1 and -P 16, and raft_load
#                     --proto resp-get, at the leader: linearizable reads
#   raft-tls-follower raft_load --proto resp-readonly-get at a follower,
#                     once it has applied the fill: READONLY reads of its
#                     own engine, possibly stale
#   kv-09-sync        the same three as raft-tls: a lone server's reads
# All servers and clients share this host's cores and disk: the figures
# say what each costs here, not what three machines would do.  Writes
# build/bench-raft/results.csv (server,client,op,pipeline,value_bytes,
# keys,clients,connections,rounds,rps,p50_ms,p99_ms), rounds.csv,
# ratios.txt, results.md, notes.txt and machine.txt, and prints results.md
# and the notes.
set -u
build=${1:-build}
n=${BENCH_RAFT_N:-200000}
rounds=${BENCH_RAFT_ROUNDS:-5}
client_counts=${BENCH_RAFT_CLIENTS:-1 10 50 200}
value=${BENCH_RAFT_VALUE:-100}
keys=${BENCH_RAFT_KEYS:-1000000}
small=${BENCH_RAFT_SMALL-3:200000:50}
etcd_conns=${BENCH_RAFT_ETCD_CONNS:-shared each}
per_client=${BENCH_RAFT_PER_CLIENT:-1000}
one_run=${BENCH_RAFT_ONE_RUN:-1}
for m in $etcd_conns; do
    case $m in
    shared | each) ;;
    *) echo "bench-raft: BENCH_RAFT_ETCD_CONNS: '$m' is neither shared nor each" >&2; exit 2 ;;
    esac
done
# The workloads of a round, VALUE:KEYS:CLIENTS... each, the headline first.
workloads="$value:$keys:$(echo "$client_counts" | tr ' ' ':') $small"
out=build/bench-raft
load=$build/bench/raft_load
etcd_load=$build/bench/etcd_load
for tool in redis-benchmark redis-cli redis-server; do
    command -v $tool >/dev/null 2>&1 || { echo "bench-raft: $tool is missing (make deps DEPS=server)" >&2; exit 1; }
done
for tool in etcd etcdctl openssl; do
    command -v $tool >/dev/null 2>&1 || { echo "bench-raft: $tool is missing (make deps DEPS=etcd)" >&2; exit 1; }
done
for s in 10-raft/kv 09-cache/kv bench/raft_load bench/etcd_load; do
    [ -x "$build/$s" ] || { echo "bench-raft: $build/$s is not built" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
notes=$out/notes.txt
: >"$notes"
note() {
    echo "bench-raft: $*" >&2
    echo "$*" >>"$notes"
}
. scripts/bench_raft_servers.sh

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)"
    echo "cpus: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "libraft: $(dpkg-query -W -f '${Version}' libraft-dev 2>/dev/null)"
    echo "openssl: $(openssl version)"
    echo "redis: $(redis-server --version)"
    echo "etcd: $(dpkg-query -W -f '${Version}' etcd-server 2>/dev/null)," \
        "client library $(dpkg-query -W -f '${Version}' golang-etcd-server-dev 2>/dev/null)," \
        "$(go version 2>/dev/null | cut -d' ' -f3)"
    echo "rounds: $rounds of workloads (value bytes:key space:clients...) $workloads, etcd's connections: $etcd_conns; $per_client requests a client"
    echo "one-run part: $one_run, $value-byte values over keys [0, $n)"
    echo "file system of $out: $(df -T "$out" | awk 'NR == 2 { print $1, $2 }')"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
echo "bench-raft: $rounds rounds of workloads (value bytes:key space:clients...) $workloads; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- part 1: the rounds ------------------------------------------------------

rounds_csv=$out/rounds.csv
echo "round,server,client,op,pipeline,value_bytes,keys,clients,connections,rps,p50_ms,p99_ms,requests,server_cpu_s,client_cpu_s" \
    >"$rounds_csv"
ticks=$(getconf CLK_TCK)
# children_cpu: sets children_s to the CPU time (user + system, seconds)
# of this shell's children so far, from the shell's own `times` (run here,
# not in a subshell, which would start from nothing).
children_cpu() {
    times >"$out/.times"
    children_s=$(awk 'NR == 2 {
        for (i = 1; i <= 2; i++) { split($i, t, "m"); sub("s", "", t[2]); s += t[1] * 60 + t[2] }
        print s + 0 }' "$out/.times")
}

# round_run ROUND SERVER VALUE KEYS CLIENTS: start SERVER afresh, settle
# it, write, stop it; one line of rounds.csv.
round_run() {
    # (Names bench_raft_servers.sh's loops do not use: they set k and p.)
    r=$1 server=$2 val_bytes=$3 key_space=$4 c=$5
    requests=$((per_client * c))
    [ $requests -ge $((3 * per_client)) ] || requests=$((3 * per_client))
    [ $requests -le $((100 * per_client)) ] || requests=$((100 * per_client))
    dir=$out/r$r-v$val_bytes-k$key_space-c$c-$server
    case $server in
    etcd-tls-*)
        etcd_start "$dir"
        port=$elead pids=$epids client=etcd_load conns=${server#etcd-tls-}
        if [ "$conns" = shared ]; then connections=1; else connections=$c; fi
        ;;
    raft-tls | raft-insecure)
        if [ "$server" = raft-tls ]; then group_start "$dir"; else group_start "$dir" --raft-insecure; fi
        port=$lead pids=$(group_pids) client=raft_load connections=$c
        ;;
    esac
    if [ -n "$port" ]; then
        # shellcheck disable=SC2086
        cpu0=$(server_cpu $pids)
        children_cpu
        client0=$children_s
        if [ "$client" = etcd_load ]; then
            line=$("$etcd_load" --endpoint "127.0.0.1:$port" --conns "$conns" -c "$c" -n $requests \
                -r "$key_space" -d "$val_bytes" 2>"$dir.err")
        else
            line=$("$load" --proto resp --port "$port" -c "$c" -n $requests -r "$key_space" \
                -d "$val_bytes" 2>"$dir.err")
        fi
        rc=$?
        children_cpu
        # shellcheck disable=SC2086
        cpu=$(( $(server_cpu $pids) - cpu0 ))
        [ $rc -eq 0 ] || note "$server, round $r, $val_bytes-byte values, clients $c: $client exit $rc: $(tr '\n' ' ' <"$dir.err")"
        cpus=$(echo "$cpu $ticks $children_s $client0" | awk '{ printf "%.2f,%.2f", $1 / $2, $3 - $4 }')
        [ -n "$line" ] &&
            echo "$r,$server,$client,SET,1,$val_bytes,$key_space,$c,$connections,$line,$requests,$cpus" >>"$rounds_csv"
        printf '%-15s round %d, %4d-byte values, keys %7d, clients %3d (connections %3d): %s\n' \
            "$server" "$r" "$val_bytes" "$key_space" "$c" "$connections" "${line:-none}"
        if [ "$server" = raft-tls ] && ! group_speaks_tls; then
            note "raft-tls, round $r, clients $c: the group's Raft port answered no TLS handshake: this row ran without peer TLS"
        fi
    fi
    case $server in
    etcd-tls-*) etcd_stop ;;
    *) group_stop ;;
    esac
    drop_data "$dir"
}

r=1
while [ $r -le "$rounds" ]; do
    for w in $workloads; do
        wv=${w%%:*} rest=${w#*:}
        wk=${rest%%:*}
        for wc in $(echo "${rest#*:}" | tr ':' ' '); do
            for m in $etcd_conns; do
                # At one client, one connection either way: the each row is the shared one.
                [ "$wc" = 1 ] && [ "$m" = each ] && echo " $etcd_conns " | grep -q ' shared ' && continue
                round_run "$r" "etcd-tls-$m" "$wv" "$wk" "$wc"
            done
            for s in raft-tls raft-insecure; do
                round_run "$r" "$s" "$wv" "$wk" "$wc"
            done
        done
    done
    r=$((r + 1))
done

# ---- part 2: one run each --------------------------------------------------------

one_csv=$out/one-run.csv
echo "server,client,op,pipeline,value_bytes,keys,clients,connections,rounds,rps,p50_ms,p99_ms" >"$one_csv"
row() { # SERVER CLIENT OP PIPELINE RPS P50 P99
    echo "$1,$2,$3,$4,$value,$n,50,50,1,$5,$6,$7" >>"$one_csv"
    printf '%-17s %-15s %-3s -P %-2s %10s req/s  p50 %s ms  p99 %s ms\n' "$@"
}

run_bench() { # NAME PORT OP: redis-benchmark -t OP (set, get), without and with -P 16
    op=$(echo "$3" | tr '[:lower:]' '[:upper:]')
    for pipe in 1 16; do
        raw=$out/$1-$3-P$pipe.txt
        redis-benchmark -p "$2" -t "$3" -c 50 -n "$n" -r "$n" -d "$value" -P $pipe --csv >"$raw" 2>&1
        # redis-benchmark counts no failures; it prints an error answer
        # (at most one a second) and may then stop without a result.
        grep -q 'Error' "$raw" && note "$1 (redis-benchmark -t $3 -P $pipe): $(grep -m 1 'Error' "$raw")"
        tr -d '"\r' <"$raw" | grep -E "^$op," |
            while IFS=, read -r _ rps _ _ p50 _ p99 _; do
                row "$1" redis-benchmark "$op" $pipe "$rps" "$p50" "$p99"
            done
    done
}

run_load() { # NAME PROTO PORT OP: raft_load, 50 closed loops
    line=$("$load" --proto "$2" --port "$3" -c 50 -n "$n" -r "$n" -d "$value" 2>"$out/$1-$2.err")
    rc=$?
    if [ -n "$line" ]; then
        echo "$line" | while IFS=, read -r rps p50 p99; do
            row "$1" "raft_load" "$4" 1 "$rps" "$p50" "$p99"
        done
    fi
    [ $rc -eq 0 ] || note "$1 (raft_load --proto $2): exit $rc: $(tr '\n' ' ' <"$out/$1-$2.err")"
}

# Every key of [0, N) written once through the server at PORT (a group's
# leader), each answer checked; the value is raft_load's and
# redis-benchmark's: VALUE bytes of x.
fill=$out/fill.resp
fill_value=$(printf "%${value}s" '' | tr ' ' x)
run_fill() { # NAME PORT
    [ -f "$fill" ] || awk -v n="$n" -v v="$fill_value" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = sprintf("key:%012d", i)
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
        }
    }' >"$fill"
    got=$(redis-cli -p "$2" --pipe <"$fill" 2>&1 | tail -n 1)
    [ "$got" = "errors: 0, replies: $n" ] || note "$1: the fill of $n keys ended with: $got"
}

if [ "$one_run" != 0 ]; then
    # raft-tls: SETs, the fill, GETs at the leader and at a follower.
    group_start "$out/raft"
    if [ -n "$lead" ]; then
        run_bench raft-tls "$lead" set
        run_fill raft-tls "$lead"
        run_bench raft-tls "$lead" get
        run_load raft-tls resp-get "$lead" GET
        group_follower
        [ -n "$follow" ] && run_load raft-tls-follower resp-readonly-get "$follow" GET
        group_speaks_tls ||
            note "raft-tls, one run: the group's Raft port answered no TLS handshake: these rows ran without peer TLS"
    fi
    group_stop
    drop_data "$out/raft"

    # kv-09-sync: one server, every write fsynced; its GETs after the fill.
    kv09_start "$out/kv09"
    run_bench kv-09-sync "$kport" set
    run_fill kv-09-sync "$kport"
    run_bench kv-09-sync "$kport" get
    kv09_stop
    kv09_start "$out/kv09-load"
    run_load kv-09-sync resp "$kport" SET
    run_fill kv-09-sync "$kport"
    run_load kv-09-sync resp-get "$kport" GET
    kv09_stop
    rm -rf "$out/kv09" "$out/kv09-load"

    # redis-always, then redis-wait1: a primary that fsyncs each write, two
    # replicas; WAIT 1 after each write for the second.
    redis_start "$out/redis"
    run_bench redis-always "$rport" set
    redis_stop
    redis_start "$out/redis-wait"
    run_load redis-wait1 resp-wait "$rport" SET
    redis_stop
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 scripts/bench_raft_summary.py "$out" "$rounds" "$value" "$keys" "$(echo "$etcd_conns" | awk '{ print $1 }')"
cat "$out/results.md"
[ -s "$notes" ] && { echo; sed 's/^/note: /' "$notes"; }
cat "$out/machine.txt"
