#!/bin/sh
# bench_flood.sh: what a flood of unfinished openings at the members' Raft
# ports costs a stage 10 group's clients (`make bench-flood`;
# docs/10-raft-security.md, "Who may talk to a member").
#
#   sh scripts/bench_flood.sh BUILD
#
# One group of three (`kv DIR cluster --members 3`, TLS on), settled; then
# three kinds of flood, each BENCH_FLOOD_ROUNDS (5) pairs of runs, one
# right after the other: the clients alone, then the clients while
# build/bench/peer_flood floods, started 3 s before the clients (past the
# members' deadlines: the flood at its height) and stopped after them.
# The kinds: `unfinished`, BENCH_FLOOD_CONNS (1,000) unfinished openings at
# each member's Raft port (idle, half an opening, an opening then nothing,
# an opening and a TLS ClientHello then nothing; each one a member closes
# opened again at once), from 127.0.0.1, the members' own address (held to
# the bound in all only); `storm-leader`, a storm of handshakes
# (BENCH_FLOOD_STORM, 32, in flight: each sends the opening and a
# ClientHello, and resets as soon as the member's first answer comes, then
# connects again) from BENCH_FLOOD_FROM (127.0.0.2, a stranger's address)
# at the leader's Raft port; `storm-follower`, the same at a follower's.  The clients:
# build/bench/raft_load --proto resp -c 50 -n BENCH_FLOOD_N (100,000) at
# the leader.  Each pair gives a ratio, flooded over alone; the script
# prints every pair and the median ratio, the flooder's own CPU, and the
# members' refusals by reason, into BUILD/bench-flood/ (rounds.csv,
# results.txt).  Every process shares this host's cores: the flooder's CPU
# is taken from the members and the clients too, and is part of what the
# flood costs here.
set -eu
build=${1:?usage: bench_flood.sh BUILD}
rounds=${BENCH_FLOOD_ROUNDS:-5}
conns=${BENCH_FLOOD_CONNS:-1000}
n=${BENCH_FLOOD_N:-100000}
storm=${BENCH_FLOOD_STORM:-32}
storm_from=${BENCH_FLOOD_FROM:-127.0.0.2}
out=$build/bench-flood
rm -rf "$out"
mkdir -p "$out"
port=${BENCH_FLOOD_PORT:-17491}
raft=$((port + 100))
"$build/10-raft/kv" "$out/group" cluster --members 3 --port "$port" --raft-port "$raft" \
    >"$out/group.txt" 2>&1 &
group=$!
trap 'kill $group 2>/dev/null; wait $group 2>/dev/null || true' EXIT INT TERM

info() { redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }
lead=
i=0
while [ $i -lt 300 ] && [ -z "$lead" ]; do
    for p in $port $((port + 1)) $((port + 2)); do
        [ "$(info "$p" raft_state)" = leader ] && lead=$p
    done
    [ -n "$lead" ] || sleep 0.1
    i=$((i + 1))
done
[ -n "$lead" ] || { echo "bench-flood: no leader in 30 s (see $out/group.txt)"; exit 1; }
sleep 1
echo "kind,round,alone_rps,flooded_rps,ratio,flood_opened,flood_closed,flood_cpu_s,answers" \
    >"$out/rounds.csv"
follower=$((lead == port ? port + 1 : port))
lead_raft=$((raft + lead - port))
follower_raft=$((raft + follower - port))

# flood_rounds KIND PEER_FLOOD_ARGS...: the pairs of one kind of flood.
flood_rounds() {
    kind=$1
    shift
    r=1
    while [ "$r" -le "$rounds" ]; do
        alone=$("$build/bench/raft_load" --proto resp --port "$lead" -c 50 -n "$n" | cut -d, -f1)
        "$build/bench/peer_flood" "$@" >"$out/flood.txt" &
        flood=$!
        sleep 3
        flooded=$("$build/bench/raft_load" --proto resp --port "$lead" -c 50 -n "$n" | cut -d, -f1)
        kill -TERM $flood
        wait $flood || true
        ratio=$(echo "$flooded $alone" | awk '{printf "%.3f", $1 / $2}')
        echo "$kind,$r,$alone,$flooded,$ratio,$(cat "$out/flood.txt")" >>"$out/rounds.csv"
        echo "$kind round $r: alone $alone, flooded $flooded requests a second: $ratio"
        r=$((r + 1))
    done
}
median() {
    grep "^$1," "$out/rounds.csv" | cut -d, -f5 | sort -n |
        awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
flood_rounds unfinished -c "$conns" $raft $((raft + 1)) $((raft + 2))
flood_rounds storm-leader --from "$storm_from" -c "$storm" -k 4 $lead_raft
flood_rounds storm-follower --from "$storm_from" -c "$storm" -k 4 $follower_raft
{
    echo "bench-flood: $rounds pairs of raft_load -c 50 -n $n at the leader, alone and flooded;"
    echo "the clients keep (median of the pairs' ratios; at least 0.85 asked):"
    echo "  $(median unfinished) with $conns unfinished openings at each of 3 members' Raft ports"
    echo "  $(median storm-leader) with a storm of handshakes from $storm_from ($storm in flight) at the leader's"
    echo "  $(median storm-follower) with the same storm at a follower's"
    for kind in storm-leader storm-follower; do
        grep "^$kind," "$out/rounds.csv" | awk -F, -v k="$kind" '
            { a += $9; s += $8 } END { printf "  %s: %d handshakes answered in %d rounds, the storm'"'"'s CPU %.2f s\n", k, a, NR, s }'
    done
    for p in $port $((port + 1)) $((port + 2)); do
        printf 'member at %s: ' "$p"
        redis-cli -p "$p" cluster info | tr -d '\r' | grep -E '^raft_peer_refused_[a-z_]+:[1-9]' |
            tr '\n' ' '
        echo
    done
    echo "$(uname -n), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$out/results.txt"
