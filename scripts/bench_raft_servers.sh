# shellcheck shell=sh disable=SC2154
# (build, out, n, fill_value and note come from scripts/bench_raft.sh)
# bench_raft_servers.sh: starts, settles and stops the servers that
# scripts/bench_raft.sh compares (`make bench-raft`, docs/perf-10-raft.md);
# sourced by it, with $build (the build directory) and $out
# (build/bench-raft) set and a note function defined.
#
# Every start takes a fresh directory and free ports on 127.0.0.1, and
# returns once the server is settled, or names what it waited for in the
# notes and leaves the port variable empty:
#   group_start DIR [OPTION...]   three stage 10 members, `kv DIR cluster
#                                 --members 3`, OPTIONs given to every
#                                 member; sets gpid, gport, graft, lead
#   etcd_start DIR                three etcd members with peer TLS; sets
#                                 epids, elead
#   kv09_start DIR                one stage 09 `kv serve --sync`; kpid, kport
#   redis_start DIR               redis-server, appendfsync always, two
#                                 replicas; rpids, rport
# Settled, for a group of three: a leader elected, every member naming it,
# every member's commit index at the leader's last index (nothing still
# travelling), then the page cache written out (sync) and one quiet second
# (BENCH_RAFT_SETTLE).  server_cpu PID... sums the CPU time (user +
# system, in clock ticks) the processes have used, to say what a run cost
# the servers.

settle=${BENCH_RAFT_SETTLE:-1}

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

quiet_second() {
    sync
    sleep "$settle"
}

server_cpu() { # PID...: their user + system CPU time so far, in clock ticks
    for p in "$@"; do
        cat "/proc/$p/stat" 2>/dev/null
    done | awk '{ t += $14 + $15 } END { print t + 0 }'
}

# group_idle MAX_S: waits until the group's members used under 5 clock
# ticks of CPU (0.05 s) in a whole second, which on this page means their
# engines have ended the flushes, compactions and snapshots a fill left
# them, or until MAX_S seconds have passed; prints the seconds it waited
# (MAX_S if the group never went quiet).
group_idle() {
    waited=0
    while [ "$waited" -lt "$1" ]; do
        # shellcheck disable=SC2046
        before=$(server_cpu $(group_pids))
        sleep 1
        # shellcheck disable=SC2046
        after=$(server_cpu $(group_pids))
        waited=$((waited + 1))
        [ $((after - before)) -lt 5 ] && break
    done
    echo "$waited"
}

# A run's servers leave their logs (top-level files of DIR) and lose their
# data (its folders): etcd alone preallocates 64 MiB of log a member.
drop_data() { # DIR
    find "$1" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
}

# ---- stage 10's group ------------------------------------------------------
# Client ports gport..gport+2, Raft ports graft..graft+2 (member k + 1 on
# gport + k and graft + k).

# group_info PORT FIELD: FIELD of that member's CLUSTER INFO.
group_info() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}
# member_in STATE: the client port of the first member whose CLUSTER INFO
# says raft_state:STATE, or nothing.
member_in() {
    for p in $gport $((gport + 1)) $((gport + 2)); do
        [ "$(group_info "$p" raft_state)" = "$1" ] && echo "$p" && return
    done
}
# group_settled: the leader's client port if settled (above), else nothing.
group_settled() {
    l=$(member_in leader)
    [ -n "$l" ] || return
    id=$(group_info "$l" raft_id)
    last=$(group_info "$l" raft_last_index)
    for p in $gport $((gport + 1)) $((gport + 2)); do
        [ "$(group_info "$p" raft_leader)" = "$id" ] || return
        [ "$(group_info "$p" raft_commit_index)" = "$last" ] || return
    done
    echo "$l"
}
group_start() { # DIR [OPTION...]
    gdir=$1
    shift
    gport=$(free_run 6)
    graft=$((gport + 3))
    "$build/10-raft/kv" "$gdir" cluster --members 3 --port "$gport" --raft-port "$graft" "$@" \
        >"$gdir.txt" 2>&1 &
    gpid=$!
    lead=""
    i=0
    while [ -z "$lead" ] && [ $i -lt 300 ]; do
        kill -0 "$gpid" 2>/dev/null || break
        lead=$(group_settled)
        [ -n "$lead" ] || sleep 0.1
        i=$((i + 1))
    done
    if [ -n "$lead" ]; then
        quiet_second
    elif kill -0 "$gpid" 2>/dev/null; then
        note "the group in $gdir ($*) did not settle in 30 s (see $gdir.txt)"
    else
        note "the group in $gdir ($*) stopped before it settled: $(tail -n 1 "$gdir.txt")"
    fi
}
group_pids() {
    echo "$gpid" "$(ps --ppid "$gpid" -o pid= 2>/dev/null | tr '\n' ' ')"
}
# group_speaks_tls: whether the group's first Raft port answers a TLS
# handshake with a certificate.  A member's connection opens with 16
# bytes in the clear ("kvpeer", version 1, mode 1 for TLS, the caller's
# Raft id, here 2: stages/10-raft/peer/peer_hello.h), then
# TLS; this client has no certificate, so the member refuses it once the
# handshake is done, and says so in its log.
group_speaks_tls() {
    python3 - "$graft" <<'PY'
import socket, ssl, struct, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
        s.sendall(b"kvpeer" + bytes([1, 1]) + struct.pack("<Q", 2))
        with ctx.wrap_socket(s) as t:
            sys.exit(0 if t.getpeercert(binary_form=True) else 1)
except OSError:  # ssl.SSLError is one
    sys.exit(1)
PY
}
group_stop() {
    kill -INT "$gpid" 2>/dev/null
    wait "$gpid"
}
# Sets follow to a follower's client port once it has applied the fill (its
# READONLY GET of the fill's last key answers the value); empty after 30 s.
group_follower() {
    follow=""
    i=0
    while [ -z "$follow" ] && [ $i -lt 300 ]; do
        follow=$(member_in follower)
        if [ -n "$follow" ]; then
            last=$(printf 'READONLY\nGET key:%012d\n' $((n - 1)) | redis-cli -p "$follow" 2>/dev/null |
                sed -n 2p)
            [ "$last" = "$fill_value" ] || follow=""
        fi
        [ -n "$follow" ] || sleep 0.1
        i=$((i + 1))
    done
    [ -n "$follow" ] || note "no follower of the group at $gport had applied the fill in 30 s"
}

# ---- etcd, peer TLS on -------------------------------------------------------
# A CA and a certificate for each of the three members, made once a run
# with the openssl command in $out/etcd-pki: EC P-256 keys, the members'
# certificates for IP 127.0.0.1 and both TLS roles (a member is a server
# to its peers and a client of them), signed by the CA, valid two days.
etcd_pki() {
    pki=$out/etcd-pki
    [ -f "$pki/m2.crt" ] && return 0
    mkdir -p "$pki"
    printf '%s\n' 'basicConstraints = critical, CA:FALSE' \
        'keyUsage = critical, digitalSignature' \
        'extendedKeyUsage = serverAuth, clientAuth' \
        'subjectAltName = IP:127.0.0.1' >"$pki/member.ext"
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 2 -subj "/CN=bench-raft etcd CA" \
        >"$pki/openssl.log" 2>&1 || return 1
    for k in 0 1 2; do
        openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout "$pki/m$k.key" -out "$pki/m$k.csr" -subj "/CN=m$k" >>"$pki/openssl.log" 2>&1 &&
            openssl x509 -req -in "$pki/m$k.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
                -CAcreateserial -days 2 -extfile "$pki/member.ext" -out "$pki/m$k.crt" \
                >>"$pki/openssl.log" 2>&1 || return 1
    done
}

# etcd_settled: the leader's client port if settled (above: the same
# leader and the same Raft index, applied, at every member), else nothing.
etcd_settled() {
    ETCDCTL_API=3 etcdctl --endpoints="$eps" --command-timeout=2s endpoint status -w json 2>/dev/null |
        python3 -c '
import json, sys
try:
    members = json.load(sys.stdin)
except ValueError:
    sys.exit()
s = [m["Status"] for m in members]
leaders = {x.get("leader") for x in s}
index = {x.get("raftIndex") for x in s}
applied = {x.get("raftAppliedIndex", x.get("raftIndex")) for x in s}
if len(s) == 3 and len(leaders) == 1 and 0 not in leaders and len(index) == 1 and applied == index:
    for m in members:
        if m["Status"]["header"]["member_id"] == m["Status"]["leader"]:
            print(m["Endpoint"].rsplit(":", 1)[1])
'
}
# Client ports eport..eport+2 (plain gRPC), peer ports eport+3.. (https).
etcd_start() { # DIR
    edir=$1
    epids=""
    elead=""
    etcd_pki || { note "etcd: openssl could not make the certificates (see $out/etcd-pki/openssl.log)"; return; }
    eport=$(free_run 6)
    cluster=""
    eps=""
    for k in 0 1 2; do
        cluster="$cluster${cluster:+,}m$k=https://127.0.0.1:$((eport + 3 + k))"
        eps="$eps${eps:+,}127.0.0.1:$((eport + k))"
    done
    mkdir -p "$edir"
    for k in 0 1 2; do
        client_url=http://127.0.0.1:$((eport + k))
        peer_url=https://127.0.0.1:$((eport + 3 + k))
        etcd --name m$k --data-dir "$edir/m$k" \
            --listen-client-urls $client_url --advertise-client-urls $client_url \
            --listen-peer-urls $peer_url --initial-advertise-peer-urls $peer_url \
            --initial-cluster "$cluster" \
            --initial-cluster-token bench-raft --initial-cluster-state new \
            --peer-client-cert-auth --peer-trusted-ca-file "$pki/ca.crt" \
            --peer-cert-file "$pki/m$k.crt" --peer-key-file "$pki/m$k.key" >"$edir/m$k.log" 2>&1 &
        epids="$epids $!"
    done
    i=0
    while [ -z "$elead" ] && [ $i -lt 300 ]; do
        elead=$(etcd_settled)
        [ -n "$elead" ] || sleep 0.1
        i=$((i + 1))
    done
    if [ -n "$elead" ]; then
        quiet_second
    else
        note "etcd in $edir: not settled in 30 s (see $edir/m*.log)"
    fi
}
etcd_stop() {
    for p in $epids; do
        kill -TERM "$p"
    done
    for p in $epids; do
        wait "$p" 2>/dev/null # etcd ends by the signal it was sent: the shell says so
    done
}

# ---- one stage 09 server; Redis ------------------------------------------------

kv09_start() { # DIR: sets kpid, kport
    kport=$(free_run 1)
    "$build/09-cache/kv" "$1" serve --port "$kport" --sync 2>>"$out/server.log" &
    kpid=$!
    wait_ping "$kport" || note "stage 09's server on $kport did not answer"
}
kv09_stop() {
    kill -TERM "$kpid"
    wait "$kpid"
}

# A primary that fsyncs each write and two replicas; sets rport and rpids,
# and waits until both replicas are online (synced), 30 s at most.
redis_start() { # DIR
    rport=$(free_run 3)
    rpids=""
    for k in 0 1 2; do
        rdir=$1-$k
        mkdir -p "$rdir"
        extra=""
        [ $k -gt 0 ] && extra="--replicaof 127.0.0.1 $rport"
        # shellcheck disable=SC2086
        redis-server --port $((rport + k)) --bind 127.0.0.1 --dir "$rdir" --save '' --appendonly yes \
            --appendfsync always --daemonize no $extra >"$rdir/log" 2>&1 &
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
