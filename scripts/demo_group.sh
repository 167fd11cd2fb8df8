# shellcheck shell=sh disable=SC2154,SC2086 # kv, tmp: scripts/demo.sh's; $ports, $live: words
# demo_group.sh: the tour of stage 10, sourced by scripts/demo.sh (whose
# helpers and variables it uses).  Stage 10's engine is stage 09's,
# unchanged; what it adds is the group: three members started by
# `kv DIR cluster`, each a kv serve process with an engine of its own,
# agreeing through Raft on the order of the writes.  It talks to them
# with redis-cli (make deps DEPS=demo): a follower's MOVED, seen plain,
# then followed by redis-cli -c; each member's last, commit and applied
# index, and what entry 1 is; a follower's READONLY read; GETs at the
# leader and what each does to its commit index (read_cost_explained says
# why); the leader frozen, a new one elected, whose first read costs an
# entry (a barrier of its term: first_read_explained); the old one
# catching up.  Every index the text names is one the tour read from the
# members (CLUSTER INFO), and checked: the tour fails if they are not what
# the text says of them.

# raft_info PORT: the member at PORT in one line, from CLUSTER INFO.
raft_info() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | awk -F: '
        /^raft_id:/ { id = $2 } /^raft_state:/ { st = $2 } 
        /^raft_term:/ { t = $2 } /^raft_last_index:/ { l = $2 }
        /^raft_commit_index:/ { c = $2 } /^raft_applied_index:/ { a = $2 }
        END { if (id != "") printf "member %s: %-8s term %s; last index %s, commit index %s, applied index %s\n",
            id, st, t, l, c, a }'
}

# raft_last PORT: the member's raft_last_index.
raft_last() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^raft_last_index://p'
}

# commit_index PORT: the member's raft_commit_index.
commit_index() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^raft_commit_index://p'
}

# read_cost_explained READS ENTRIES: what READS GETs at the leader, one
# after another, cost its log (ENTRIES: how far they moved its commit
# index), and why a linearizable read needs a round of the majority at
# all.  The one place the tour says it (step 5): stage 10's leader
# confirms its reads by a round of the voters (Raft's ReadIndex:
# stages/10-raft/member/member_read.c) and writes no entry, so the first
# branch is the one it takes; the second is what a leader that commits
# a barrier for its reads would print.
read_cost_explained() {
    if [ "$2" = 0 ]; then
        echo "   No entry written.  For each GET the leader took its commit index as the"
        echo "   read's read index, asked the two others for their terms, and answered once"
        echo "   a majority (itself and one of them) had said none is past its own and its"
        echo "   engine had applied that far: Raft's ReadIndex, a round trip and no fsync"
        echo "   for one GET (reads that arrive together share one round)."
    else
        echo "   Each read cost an entry: a barrier (an empty entry) appended after the read"
        echo "   arrived, and the answer once a majority held it in their synced logs: a"
        echo "   round trip and an fsync on two members for one GET (reads that arrive"
        echo "   together share one).  A barrier is no command: the applied index stays."
        echo "   (etcd answers the same read with no entry: its leader confirms itself by"
        echo "   a round of heartbeats, ReadIndex.)"
    fi
    echo "   Why a round of the majority: a leader cut off from the others (or frozen, as"
    echo "   in step 6) still believes it leads while a newer one commits writes it lacks,"
    echo "   and only a majority hearing from it after the read arrived proves none has."
}

# first_read_explained TERM BEFORE AFTER: what the first read of a new
# leader's term did to its commit index, BEFORE to AFTER (one entry: the
# tour checks it).  Step 1 of stages/10-raft/member/member_read.c.
first_read_explained() {
    echo "   The new leader's first read of term $1 cost one entry: its commit index went"
    echo "   from $2 to $3.  A new leader's commit index may trail what the leaders before"
    echo "   it committed until an entry of its own term is committed, and libraft"
    echo "   appends none when it is elected; so the first read of a term that finds none"
    echo "   appends a barrier, an empty entry of the term (Raft's leader no-op), and is"
    echo "   answered once it is committed: the one exception to step 5's"
    echo "   \"$reads reads, 0 log entries\", once a term."
}

# leader_term PORT: the member's raft_term.
leader_term() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^raft_term://p'
}

# applied PORT: the member's raft_applied_index.
applied() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^raft_applied_index://p'
}

# leader_among PORT...: the port of the member that says it leads, or nothing.
leader_among() {
    for p in "$@"; do
        redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^raft_state:leader' && echo "$p" && return
    done
}

# group_wait SECONDS TEST...: runs TEST every 0.1 s until it succeeds;
# $waited is then the tenths of a second it took.  Fails after SECONDS.
group_wait() {
    limit=$(($1 * 10))
    shift
    waited=0
    until "$@"; do
        [ $waited -lt $limit ] || return 1
        sleep 0.1
        waited=$((waited + 1))
    done
}

group_elected() {
    kill -0 "$cluster" 2>/dev/null || demo_fail "kv cluster exited: $(cat "$tmp/cluster.out")"
    lead=$(leader_among $ports) && [ -n "$lead" ] && [ -s "$tmp/cluster.out" ]
}
group_applied_all() {
    want=$(applied "$lead")
    for p in $ports; do [ "$(applied "$p")" = "$want" ] || return 1; done
}
group_new_leader() { lead=$(leader_among $live) && [ -n "$lead" ]; }
group_caught_up() { [ "$(applied "$old")" = "$(applied "$lead")" ]; }

# tenths N: N tenths of a second, as "1.5 s".
tenths() { echo "$(($1 / 10)).$(($1 % 10)) s"; }

# demo_group_stop: the group stopped (kv cluster stops its members), the
# frozen member resumed first so that it can stop.
demo_group_stop() {
    [ -z "$frozen" ] || kill -CONT "$frozen" 2>/dev/null
    frozen=
    if [ -n "$cluster" ]; then
        kill -TERM "$cluster" 2>/dev/null
        wait "$cluster" 2>/dev/null
    fi
    cluster=
}

demo_group() {
    echo "(Not shown again: stage 09's tour, which holds for each member's engine, stage 09's unchanged.)"
    if ! command -v redis-cli >/dev/null 2>&1; then
        echo "   skipped: redis-cli is missing (make deps DEPS=demo installs it)"
        return
    fi
    # Ports below Linux's ephemeral range (32768 on), which outgoing
    # connections take: client ports P..P+2, Raft ports (kv cluster's
    # default) P+1000..P+1002.
    port=$((20000 + ($$ % 1000) * 4))
    ports="$port $((port + 1)) $((port + 2))"

    demo_step "1. Three members, each a kv serve process of its own: kv GROUP cluster starts them"
    echo "\$ kv GROUP cluster --members 3 --port $port &"
    "$kv" "$tmp/group" cluster --members 3 --port "$port" >"$tmp/cluster.out" 2>&1 &
    cluster=$!
    group_wait 30 group_elected || demo_fail "no leader in 30 s: $(cat "$tmp/cluster.out")"
    sed 's/^/   /' "$tmp/cluster.out"
    echo "   Each member listens on two ports (CLUSTER NODES): a client port, which"
    echo "   redis-cli talks to, and a Raft port, on which the members talk to each other:"
    redis-cli -p "$port" cluster nodes | tr -d '\r' | awk '{ split($2, a, "[:@]"); id = $1 + 0
        printf "   member %d: client port %s, Raft port %s%s\n",
            id, a[2], a[3], ($3 ~ /master/ ? ": it leads" : "") }' | sort
    follower=
    for p in $ports; do [ "$p" = "$lead" ] || { follower=$p; break; }; done

    demo_step "2. A write at a follower: MOVED, which redis-cli -c follows to the leader"
    echo "\$ redis-cli -p $follower set greeting \"hello, group\"      (a follower's port)"
    got=$(redis-cli -p "$follower" set greeting "hello, group" | tr -d '\r' | grep -v '^$')
    echo "$got"
    echo "$got" | grep -qx "MOVED [0-9]* 127\.0\.0\.1:$lead" ||
        demo_fail "a follower's answer to a SET: want MOVED SLOT 127.0.0.1:$lead, got $got"
    echo "   Redis Cluster's redirect, MOVED SLOT HOST:PORT: the key's slot (CRC16 of the"
    echo "   key, mod 16384) and the leader's client port.  The follower wrote nothing."
    echo "\$ redis-cli -c -p $follower set greeting \"hello, group\"   (-c: follow a MOVED)"
    got=$(redis-cli -c -p "$follower" set greeting "hello, group" | tr -d '\r')
    demo_expect "SET through the group" OK "$got"
    echo "$got"
    echo "   redis-cli -c sent the SET again to the address MOVED named, and says only"
    echo "   the leader's answer."

    demo_step "3. Each member's log (CLUSTER INFO): its last entry, committed, applied"
    first=$(for p in $ports; do echo "   $(raft_info "$p")"; done)
    term=$(leader_term "$lead")
    printf '%s\n' "$first"
    group_wait 5 group_applied_all || demo_fail "the members did not apply the write in 5 s"
    later=$(for p in $ports; do echo "   $(raft_info "$p")"; done)
    if [ "$later" != "$first" ]; then
        echo "   and within $(tenths $((waited + 1))), once the followers heard of the commit:"
        printf '%s\n' "$later"
    else
        echo "   (Each had heard of the commit and applied it already.)"
    fi
    demo_expect "the leader's last index after one SET" 2 "$(raft_last "$lead")"
    demo_expect "the leader's applied index after one SET" 2 "$(applied "$lead")"
    echo "   Entry 1 of every log is the group's configuration (its three members),"
    echo "   which each member wrote into its empty log as it started, in term 1; the"
    echo "   $([ "$term" = 2 ] && echo "first election made term 2" || echo "elections made term $term").  Entry 2 is the SET: committed once a majority"
    echo "   (the leader and one follower) held it in their synced logs, applied by the"
    echo "   leader's engine, then OK.  A follower holds entry 2 at once but learns it is"
    echo "   committed only from the leader's next message (a heartbeat within 100 ms),"
    echo "   and applies only what it knows committed: its commit index trails the"
    echo "   leader's, its applied index its commit index.  The applied index is the"
    echo "   index of the last command the engine applied (the engine keeps it with the"
    echo "   command's writes): entry 1 is Raft's own, no command, so a member that has"
    echo "   applied none reads 0, and the SET, entry 2, makes it 2."
    before=$(applied "$lead")

    demo_step "4. A read at a follower: READONLY, then GET, answered from its own engine"
    echo "\$ redis-cli -p $follower   < READONLY, GET greeting"
    got=$(printf 'READONLY\nGET greeting\n' | redis-cli -p "$follower" | tr -d '\r')
    demo_expect "a follower's read" "$(printf 'OK\nhello, group')" "$got"
    printf '%s\n' "$got"
    echo "   A follower answers as far as it has applied the log, which may be behind"
    echo "   the leader; a read at the leader waits until it knows it still leads."

    demo_step "5. A read at the leader: linearizable, and what it costs the log"
    reads=3
    c0=$(commit_index "$lead")
    echo "   The leader's commit index: $c0.  Then $reads GETs at the leader, one after another:"
    for _ in $(seq "$reads"); do
        got=$(redis-cli -p "$lead" get greeting | tr -d '\r')
        demo_expect "a GET at the leader" "hello, group" "$got"
        printf '%-44s%s\n' "\$ redis-cli -p $lead get greeting" "$got  (commit index $(commit_index "$lead"))"
    done
    c1=$(commit_index "$lead")
    if [ "$c1" -lt "$c0" ] || [ $((c1 - c0)) -gt "$reads" ]; then
        demo_fail "$reads GETs moved the leader's commit index from $c0 to $c1"
    fi
    echo "   $reads reads, $((c1 - c0)) log entr$([ $((c1 - c0)) = 1 ] && echo y || echo ies): commit index $c0 before, $c1 after."
    read_cost_explained "$reads" $((c1 - c0))

    demo_step "6. The leader frozen (kill -STOP): to the others as silent as a dead one"
    old=$lead
    frozen=$(redis-cli -p "$lead" info server | tr -d '\r' | sed -n 's/^process_id:\([0-9]*\)$/\1/p')
    [ -n "$frozen" ] || demo_fail "the leader did not say its process id"
    echo "\$ kill -STOP $frozen   (the leader's process: kv cluster stops the whole group"
    echo "   when a member's process exits, so the tour freezes the leader, not kills it)"
    kill -STOP "$frozen" || demo_fail "kill -STOP $frozen"
    live=""
    for p in $ports; do [ "$p" = "$old" ] || live="$live $p"; done
    group_wait 20 group_new_leader ||
        demo_fail "no new leader in 20 s"
    echo "   After $(tenths "$waited") (an election timeout of about 1 s) the two others elect a leader:"
    for p in $live; do echo "   $(raft_info "$p")"; done

    demo_step "7. The write read back, and 50 more written, while the old leader is frozen"
    set -- $live
    term=$(leader_term "$lead")
    r0=$(commit_index "$lead")
    echo "\$ redis-cli -c -p $1 get greeting"
    got=$(redis-cli -c -p "$1" get greeting | tr -d '\r')
    demo_expect "GET after the leader froze" "hello, group" "$got"
    echo "$got"
    r1=$(commit_index "$lead")
    demo_expect "the new leader's commit index as it was elected" "$c1" "$r0"
    demo_expect "the entries the first read of term $term cost (commit index $r0, then $r1)" \
        1 $((r1 - r0))
    first_read_explained "$term" "$r0" "$r1"
    awk 'BEGIN { for (i = 1; i <= 50; i++) printf "SET k%02d v%02d\n", i, i }' |
        redis-cli -c -p "$1" | tr -d '\r' >"$tmp/sets.out"
    demo_expect "50 SETs at the new leader" 50 "$(grep -c '^OK$' "$tmp/sets.out")"
    r2=$(commit_index "$lead")
    demo_expect "the new leader's commit index after 50 SETs" $((r1 + 50)) "$r2"
    echo "\$ redis-cli -c -p $1   < SET k01 v01, SET k02 v02, ..., SET k50 v50"
    echo "OK"
    echo "... (50 lines of OK, one for each SET)"
    echo "   Acknowledged once two of the three held each in their logs: the two running."
    echo "   They are entries $((r1 + 1)) to $r2: the leader's commit index is $r2 now."

    demo_step "8. The old leader resumed (kill -CONT): it follows the new one, catches up"
    echo "\$ kill -CONT $frozen"
    kill -CONT "$frozen" || demo_fail "kill -CONT $frozen"
    frozen=
    group_wait 10 group_caught_up || demo_fail "the old leader did not catch up in 10 s"
    echo "   $(raft_info "$old")"
    c2=$(commit_index "$old") a2=$(applied "$old")
    demo_expect "the old leader's commit index, caught up" "$r2" "$c2"
    demo_expect "the old leader's applied index, caught up" "$r2" "$a2"
    echo "   Within $(tenths $((waited + 1))) of its resuming, the new leader sent it the entries it missed:"
    echo "   its commit index was $c1, now $c2: entry $r1, the barrier of term $term, and"
    echo "   entries $((r1 + 1)) to $r2, the 50 SETs."
    echo "   Its engine applied the commands among them: its applied index, the last"
    echo "   command's, was $before, now $a2 (the barrier is no command)."
    got=$(printf 'READONLY\nGET k50\n' | redis-cli -p "$old" | tr -d '\r')
    demo_expect "the old leader's read of k50" "$(printf 'OK\nv50')" "$got"
    echo "\$ redis-cli -p $old   < READONLY, GET k50"
    printf '%s\n' "$got"
    demo_group_stop
    echo "   docs/10-raft.md says how, and what a group still gets wrong."
}
