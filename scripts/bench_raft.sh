#!/bin/sh
# bench_raft.sh: SET and GET through a Raft group of stage 10 against one
# stage 09 server, and SET against Redis with replicas and etcd, on this
# host.  `make bench-raft`.
#
#   sh scripts/bench_raft.sh [BUILD_DIR]
#
# The servers, each on free ports with fresh directories under
# build/bench-raft/, one after the other, and what a write's answer
# promises on each:
#   raft-3         three stage 10 members (`kv DIR cluster --members 3`),
#                  driven at the leader: a write answered once a majority
#                  holds it in its synced log, and it is applied
#   kv-09-sync     one stage 09 `kv serve --sync`: a write answered once
#                  it is fsynced, no replica
#   redis-always   Debian's redis-server, appendonly yes, appendfsync
#                  always, with two replicas (asynchronous: a write is
#                  answered once the primary has fsynced it, before any
#                  replica has it, so this is not the same promise)
#   redis-wait1    the same three, each SET followed by WAIT 1 1000 in the
#                  same write: answered once the primary has fsynced it and
#                  one replica holds it (in memory: the replicas keep no
#                  log of their own here)
#   etcd-3         three etcd 3.4 members (Debian's etcd-server), default
#                  fsync behaviour, driven at the leader through etcd's
#                  JSON gateway (HTTP/1.1): a write answered once a
#                  majority holds it in its synced log, and it is applied;
#                  skipped if etcd is not installed (make deps DEPS=etcd)
# Two clients, 50 connections and N requests each (N = $BENCH_RAFT_N,
# default 200000) over random keys of [0, N) and values of 3 bytes:
#   redis-benchmark -t set -c 50 -n N -r N [-P 16] --csv, first without
#     pipelining, then with -P 16: raft-3, kv-09-sync, redis-always
#   build/bench/raft_load (bench/raft_load.c), closed loops of one request
#     each, no pipelining: raft-3 and kv-09-sync (--proto resp, plain
#     SET), redis-wait1 (--proto resp-wait) and etcd-3 (--proto etcd),
#     so that the group and etcd are driven by the same client
# Reads (op GET), on raft-3 and kv-09-sync only, each after that server's
# SET run and after a fill that writes every key of [0, N) once (3 bytes,
# redis-cli --pipe, in key order), so that every GET finds a value, as on
# a server that holds its data set (a GET of a missing key would cost the
# group the same barrier, but might cost a lone engine less):
#   raft-3           redis-benchmark -t get, -P 1 and -P 16, and raft_load
#                    --proto resp-get, at the leader: linearizable reads,
#                    each waiting for a read index (a barrier committed by
#                    a majority; the reads of one server pass share one)
#   raft-3-follower  raft_load --proto resp-readonly-get at a follower, once
#                    it has applied the fill: READONLY reads of its own
#                    engine, possibly stale, no barrier
#   kv-09-sync       the same three as raft-3: a lone server's reads
# There is no leader lease in this stage: a leader's read always waits for
# a read index, never for a clock.
# Each server is started afresh for each client.  All members share this
# host's cores and disk: the figures say what a group costs here, not what
# three machines would do.  Writes build/bench-raft/results.csv
# (server,client,op,pipeline,rps,p50_ms,p99_ms; op SET or GET), results.md,
# notes.txt and machine.txt, and prints the table.
set -u
build=${1:-build}
n=${BENCH_RAFT_N:-200000}
out=build/bench-raft
load=$build/bench/raft_load
for tool in redis-benchmark redis-cli redis-server; do
    command -v $tool >/dev/null 2>&1 || { echo "bench-raft: $tool is missing (make deps DEPS=server)" >&2; exit 1; }
done
for s in 10-raft/kv 09-cache/kv bench/raft_load; do
    [ -x "$build/$s" ] || { echo "bench-raft: $build/$s is not built" >&2; exit 1; }
done
have_etcd=1
command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 || have_etcd=0
rm -rf "$out"
mkdir -p "$out"
csv=$out/results.csv
notes=$out/notes.txt
echo "server,client,op,pipeline,rps,p50_ms,p99_ms" >"$csv"
: >"$notes"
# The fill: SET of every key of [0, N), in key order, as RESP for
# redis-cli --pipe.
fill=$out/fill.resp
awk -v n="$n" 'BEGIN {
    for (i = 0; i < n; i++) {
        k = sprintf("key:%012d", i)
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n", length(k), k
    }
}' >"$fill"

note() {
    echo "bench-raft: $*" >&2
    echo "$*" >>"$notes"
}

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

# One row, to the CSV and to the screen (which names raft_load's protocol).
row() { # SERVER CLIENT OP PIPELINE RPS P50 P99 [CLIENT_SHOWN]
    echo "$1,$2,$3,$4,$5,$6,$7" >>"$csv"
    printf '%-15s %-27s %-3s -P %-2s %10s req/s  p50 %s ms  p99 %s ms\n' "$1" "${8:-$2}" "$3" \
        "$4" "$5" "$6" "$7"
}

run_bench() { # NAME PORT OP: redis-benchmark -t OP (set, get), without and with -P 16
    op=$(echo "$3" | tr '[:lower:]' '[:upper:]')
    for pipe in 1 16; do
        raw=$out/$1-$3-P$pipe.txt
        redis-benchmark -p "$2" -t "$3" -c 50 -n "$n" -r "$n" -P $pipe --csv >"$raw" 2>&1
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
    line=$("$load" --proto "$2" --port "$3" -c 50 -n "$n" -r "$n" 2>"$out/$1-$2.err")
    rc=$?
    if [ -n "$line" ]; then
        echo "$line" | while IFS=, read -r rps p50 p99; do
            row "$1" raft_load "$4" 1 "$rps" "$p50" "$p99" "raft_load:$2"
        done
    fi
    [ $rc -eq 0 ] || note "$1 (raft_load --proto $2): exit $rc: $(tr '\n' ' ' <"$out/$1-$2.err")"
}

# Every key of [0, N) written once through the server at PORT (a group's
# leader), each answer checked.
run_fill() { # NAME PORT
    got=$(redis-cli -p "$2" --pipe <"$fill" 2>&1 | tail -n 1)
    [ "$got" = "errors: 0, replies: $n" ] || note "$1: the fill of $n keys ended with: $got"
}

# The group: three stage 10 members in one process; sets gpid, gport (the
# first member's client port), and lead to the leader's client port (empty
# if none was elected in 30 s).
# member_in STATE: the client port of the group's first member (of gport,
# gport + 1, gport + 2) whose CLUSTER INFO says raft_state:STATE, or nothing.
member_in() {
    for p in $gport $((gport + 1)) $((gport + 2)); do
        redis-cli -p "$p" cluster info 2>/dev/null | grep -q "raft_state:$1" && echo "$p" && return
    done
}
group_start() { # DIR
    port=$(free_run 6)
    gport=$port
    "$build/10-raft/kv" "$1" cluster --members 3 --port "$port" --raft-port $((port + 3)) \
        >"$1.txt" 2>&1 &
    gpid=$!
    lead=""
    i=0
    while [ -z "$lead" ] && [ $i -lt 300 ]; do
        lead=$(member_in leader)
        sleep 0.1
        i=$((i + 1))
    done
    [ -n "$lead" ] || note "the group in $1 elected no leader (see $1.txt)"
}
# Sets follow to a follower's client port, found as group_start finds the
# leader, once it has applied the fill (its READONLY GET of the fill's last
# key answers the value); empty after 30 s.
group_follower() {
    follow=""
    i=0
    while [ -z "$follow" ] && [ $i -lt 300 ]; do
        follow=$(member_in follower)
        if [ -n "$follow" ]; then
            last=$(printf 'READONLY\nGET key:%012d\n' $((n - 1)) | redis-cli -p "$follow" 2>/dev/null |
                sed -n 2p)
            [ "$last" = xxx ] || follow=""
        fi
        [ -n "$follow" ] || sleep 0.1
        i=$((i + 1))
    done
    [ -n "$follow" ] || note "no follower of the group at $gport had applied the fill in 30 s"
}
group_stop() {
    kill -INT $gpid
    wait $gpid
}

kv09_start() { # DIR: sets kpid, kport
    kport=$(free_run 1)
    "$build/09-cache/kv" "$1" serve --port "$kport" --sync 2>>"$out/server.log" &
    kpid=$!
    wait_ping "$kport" || note "stage 09's server on $kport did not answer"
}
kv09_stop() {
    kill -TERM $kpid
    wait $kpid
}

# A primary that fsyncs each write and two replicas; sets rport and rpids,
# and waits until both replicas are online (synced), 30 s at most.
redis_start() { # DIR
    rport=$(free_run 3)
    rpids=""
    for k in 0 1 2; do
        dir=$1-$k
        mkdir -p "$dir"
        extra=""
        [ $k -gt 0 ] && extra="--replicaof 127.0.0.1 $rport"
        # shellcheck disable=SC2086
        redis-server --port $((rport + k)) --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
            --appendfsync always --daemonize no $extra >"$dir/log" 2>&1 &
        rpids="$rpids $!"
    done
    if ! { wait_ping "$rport" && wait_ping $((rport + 1)) && wait_ping $((rport + 2)); }; then
        note "redis-server in $1-* did not answer"
        return
    fi
    i=0
    while [ "$(redis-cli -p "$rport" info replication | grep -c 'state=online')" != 2 ]; do
        i=$((i + 1))
        [ $i -lt 300 ] || { note "redis in $1-*: the replicas did not come online"; return; }
        sleep 0.1
    done
}
redis_stop() {
    for k in 0 1 2; do
        redis-cli -p $((rport + k)) shutdown nosave >/dev/null 2>&1
    done
    for p in $rpids; do
        wait "$p"
    done
}

# Three etcd members: client ports eport..eport+2, peer ports eport+3..;
# sets epids, and elead to the leader's client port (empty if the members
# were not healthy with a leader in 30 s).
etcd_start() { # DIR
    eport=$(free_run 6)
    cluster=""
    eps=""
    for k in 0 1 2; do
        cluster="$cluster${cluster:+,}m$k=http://127.0.0.1:$((eport + 3 + k))"
        eps="$eps${eps:+,}http://127.0.0.1:$((eport + k))"
    done
    epids=""
    for k in 0 1 2; do
        c=http://127.0.0.1:$((eport + k))
        p=http://127.0.0.1:$((eport + 3 + k))
        mkdir -p "$1-$k"
        etcd --name m$k --data-dir "$1-$k/data" --listen-client-urls $c --advertise-client-urls $c \
            --listen-peer-urls $p --initial-advertise-peer-urls $p --initial-cluster "$cluster" \
            --initial-cluster-token bench-raft --initial-cluster-state new >"$1-$k/log" 2>&1 &
        epids="$epids $!"
    done
    elead=""
    i=0
    while [ -z "$elead" ] && [ $i -lt 300 ]; do
        if ETCDCTL_API=3 etcdctl --endpoints="$eps" endpoint health >/dev/null 2>&1; then
            elead=$(ETCDCTL_API=3 etcdctl --endpoints="$eps" endpoint status 2>/dev/null |
                awk -F', ' '$5 == "true" { sub(/.*:/, "", $1); print $1 }')
        fi
        sleep 0.1
        i=$((i + 1))
    done
    [ -n "$elead" ] || note "etcd in $1-*: no healthy group with a leader in 30 s (see $1-*/log)"
}
etcd_stop() {
    for p in $epids; do
        kill -TERM "$p"
    done
    for p in $epids; do
        wait "$p" 2>/dev/null # etcd ends by the signal it was sent: the shell says so
    done
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)"
    echo "cpus: $(nproc)"
    echo "libraft: $(dpkg-query -W -f '${Version}' libraft-dev 2>/dev/null)"
    echo "redis: $(redis-server --version)"
    echo "etcd: $(dpkg-query -W -f '${Version}' etcd-server 2>/dev/null)"
    echo "requests per run: $n, 50 connections"
    echo "file system of $out: $(df -T "$out" | awk 'NR == 2 { print $1, $2 }')"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
echo "bench-raft: $n requests a run, 50 clients; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# raft-3: the group, each client at its leader; after the SETs and the
# fill, GETs at the leader, then (raft_load) READONLY GETs at a follower.
group_start "$out/raft"
if [ -n "$lead" ]; then
    run_bench raft-3 "$lead" set
    run_fill raft-3 "$lead"
    run_bench raft-3 "$lead" get
fi
group_stop
group_start "$out/raft-load"
if [ -n "$lead" ]; then
    run_load raft-3 resp "$lead" SET
    run_fill raft-3 "$lead"
    run_load raft-3 resp-get "$lead" GET
    group_follower
    [ -n "$follow" ] && run_load raft-3-follower resp-readonly-get "$follow" GET
fi
group_stop

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

# redis-always, then redis-wait1: a primary that fsyncs each write, two
# replicas; WAIT 1 after each write for the second.
redis_start "$out/redis"
run_bench redis-always "$rport" set
redis_stop
redis_start "$out/redis-wait"
run_load redis-wait1 resp-wait "$rport" SET
redis_stop

# etcd-3: three etcd members, at the leader, through the JSON gateway.
if [ $have_etcd = 1 ]; then
    etcd_start "$out/etcd"
    [ -n "$elead" ] && run_load etcd-3 etcd "$elead" SET
    etcd_stop
    note "etcd-3 is driven through etcd's HTTP/JSON gateway (POST /v3/kv/put), which costs etcd a translation to gRPC in the server that its native Go clients do not pay"
else
    note "etcd-3 skipped: etcd and etcdctl are not installed (make deps DEPS=etcd)"
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 - "$csv" >"$out/results.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| server | client | op | -P | req/s | p50 ms | p99 ms |")
print("|---|---|---|---:|---:|---:|---:|")
for r in rows:
    print("| %s | %s | %s | %s | %s | %s | %s |" % (
        r["server"], r["client"], r["op"], r["pipeline"], f'{float(r["rps"]):,.0f}',
        r["p50_ms"], r["p99_ms"]))
PY
cat "$out/results.md"
[ -s "$notes" ] && { echo; sed 's/^/note: /' "$notes"; }
cat "$out/machine.txt"
