#!/bin/sh
# demo.sh: a guided tour of each stage, through its kv command.
#
#   sh scripts/demo.sh STAGE...      (make demo runs it for every stage)
#
# It uses build/STAGE/kv; set KV_BUILD=build/asan to tour the sanitizer
# build instead.
#
# For each stage, in a fresh temporary directory: load 1000 keys through one
# kv process reading commands from standard input, overwrite and delete a
# few, read some back; start a fresh process (as after a restart) and read
# them again; then look at the database with stats, dump and check.  From
# stage 04 on, a second database with small knobs (--memtable-bytes 4k,
# ...) shows the LSM at a scale one can count: many tables, a flush, and
# at 06 compactions into levels; `kv DB draw` pictures it in
# build/demo/STAGE.svg; at 08 values kept apart; at 10 three members of
# a Raft group, the leader killed, the write still read.  Every answer is compared with what it should be:
# the script exits 1 at the first wrong one, so the tour doubles as a smoke
# test.  It ends by naming the
# stages that come as exercises (make learn, make grade: docs/learn.md).
set -u

N=1000
tmp=
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

demo_heading() { printf '\n==== %s ====\n' "$*"; }
demo_step() { printf '\n---- %s\n' "$*"; }
demo_fail() {
    printf 'demo: FAILED: %s\n' "$*" >&2
    exit 1
}

# demo_expect WHAT EXPECTED ACTUAL: fails the tour if they differ.
demo_expect() {
    if [ "$2" != "$3" ]; then
        printf 'expected:\n%s\ngot:\n%s\n' "$2" "$3" >&2
        demo_fail "$1"
    fi
}

# demo_get KEY EXPECTED: one fresh kv process reads KEY.
demo_get() {
    printf '$ kv DB get %s\n' "$1"
    out=$("$kv" "$db" get "$1" 2>&1)
    st=$?
    if [ -z "$2" ]; then
        printf '%s\n' "$out"
        [ "$st" = 1 ] || demo_fail "get $1 should find nothing (exit 1), got exit $st"
        echo "(exit status 1: no such key)"
    else
        [ "$st" = 0 ] || demo_fail "get $1 exited $st"
        printf '%s\n' "$out"
        demo_expect "get $1" "$2" "$out"
    fi
}

# stat_of NAME: the number on `kv $1 stats`'s line "NAME: N" (database $1).
stat_of() {
    "$kv" "$1" stats | sed -n "s/^$2: \([0-9]*\).*/\1/p" | head -n 1
}

# demo_small: stage 04 on, the LSM at small scale in a second database.
demo_small() {
    small=$tmp/small
    case $stage in
    04*) knobs="--memtable-bytes 4k" ;;
    05*) knobs="--memtable-bytes 4k --block-bytes 512" ;;
    *) knobs="--memtable-bytes 4k --block-bytes 512 --l1-bytes 16k --level-ratio 4 --table-bytes 4k" ;;
    esac
    demo_step "7. The LSM at small scale: kv $knobs"
    echo "   The same $N keys in a scattered order (key i*37 mod $N), into a second"
    echo "   database SMALL, with a memtable of 4 KiB where the default is 4 MiB:"
    echo "   every 4 KiB of writes becomes a table.  (kv --help lists the knobs.)"
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "put key%04d value-%d\n", (i * 37) % n, i }' \
        >"$tmp/scattered.txt"
    case $stage in
    04* | 05*)
        # shellcheck disable=SC2086 # the knobs are words
        "$kv" $knobs "$small" <"$tmp/scattered.txt" >"$tmp/small.out" 2>&1 ||
            demo_fail "loading SMALL exited $?: $(cat "$tmp/small.out")"
        ;;
    *)
        # shellcheck disable=SC2086
        "$kv" $knobs "$small" <"$tmp/scattered.txt" >"$tmp/small.out" 2>&1 ||
            demo_fail "loading SMALL exited $?: $(cat "$tmp/small.out")"
        echo
        echo "   With level 1 at 16 KiB and each level 4 times the one above, the"
        echo "   background thread has compacted as the tables came.  The levels, as"
        echo "   a new process reads them (kv ... SMALL stats):"
        # shellcheck disable=SC2086
        "$kv" $knobs "$small" stats >"$tmp/small.stats" 2>&1 || demo_fail "stats exited $?"
        grep '^levels:\|^level\.[0-3]:\|^compact.write_amplification:' "$tmp/small.stats"
        done_=$(awk '/^level\.[0-9]:/ { n += $7 + $8 } END { print n + 0 }' "$tmp/small.stats")
        [ "$done_" -gt 0 ] || demo_fail "no compaction while loading SMALL"
        echo "   ($done_ compactions and moves.  The columns after | are totals since the"
        echo "   database was created: the loading process saved them in SMALL/STATS when"
        echo "   it closed, and this one read them back.)"
        ;;
    esac
    flushes=$(stat_of "$small" flush.count)
    [ "${flushes:-0}" -gt 0 ] || demo_fail "no flush while loading SMALL (flush.count ${flushes:-none})"
    echo "   flush.count: $flushes flushes since the database was created (kept in STATS)."
    tables=$(stat_of "$small" tables.count)
    entries=$(stat_of "$small" memtable.entries)
    echo
    echo "   $tables tables, and $entries entries still in the memtable (in its log)."
    printf '$ kv %s SMALL flush\n' "$knobs"
    # shellcheck disable=SC2086
    "$kv" $knobs "$small" flush || demo_fail "flush exited $?"
    demo_expect "memtable.entries after flush" 0 "$(stat_of "$small" memtable.entries)"
    after=$(stat_of "$small" tables.count)
    case $stage in
    04* | 05*) demo_expect "tables after flush" "$((tables + 1))" "$after" ;;
    esac
    svg=${KV_BUILD:-build}/demo/$stage.svg
    mkdir -p "$(dirname "$svg")" || demo_fail "mkdir $(dirname "$svg")"
    printf '$ kv %s SMALL draw %s\n' "$knobs" "$svg"
    # (with the knobs, the picture's level targets and scores are the small ones)
    # shellcheck disable=SC2086
    out=$("$kv" $knobs "$small" draw "$svg") || demo_fail "draw exited $?"
    printf '%s\n' "$out"
    drawn=$(grep -c 'class="table"' "$svg")
    demo_expect "tables drawn against kv_stats's tables.count" "$after" "$drawn"
    echo "   $drawn tables drawn, as kv_stats counts them: open $svg in a browser"
    echo "   (hover over a table for its file, size and keys)."
}

# demo_vlog: stage 08, values of 2 KB (above the 512-byte threshold) in
# a third database: they stay in the log that took them, and kv_compact's
# collection gives back what the overwrites left.
demo_vlog() {
    big=$tmp/big
    demo_step "8. Values kept apart: 200 keys with values of 2,000 bytes, written 3 times"
    echo "   Values of at least 512 bytes (--value-threshold) stay in the log that"
    echo "   took them; the tables keep only where each one is.  Into a third"
    echo "   database BIG:"
    awk 'BEGIN { v = sprintf("%2000s", ""); gsub(/ /, "v", v)
                 for (r = 1; r <= 3; r++) for (i = 0; i < 200; i++) printf "put big%03d %s-%d\n", i, v, r }' \
        >"$tmp/big.txt"
    "$kv" "$big" <"$tmp/big.txt" >"$tmp/big.out" 2>&1 || demo_fail "loading BIG exited $?: $(cat "$tmp/big.out")"
    echo "   $(du -k "$big" | cut -f 1) KiB on disk for 400 KB of live values: two of every"
    echo "   three values were written over.  Then kv BIG compact: the memtable is"
    echo "   flushed (its log becomes a value-log file), and the collection empties"
    echo "   what the overwrites left:"
    printf '$ kv BIG compact\n'
    "$kv" "$big" compact || demo_fail "compact of BIG exited $?"
    "$kv" "$big" stats >"$tmp/big.stats" 2>&1 || demo_fail "stats of BIG exited $?"
    grep '^values\.\(files\|bytes\|live_bytes\|garbage_bytes\|space_amplification\):' "$tmp/big.stats"
    files=$(sed -n 's/^values.files: \([0-9]*\)/\1/p' "$tmp/big.stats")
    [ "${files:-0}" -gt 0 ] || demo_fail "no value-log file in BIG after compact (values.files ${files:-none})"
    got=$("$kv" "$big" get big007) || demo_fail "get big007 from BIG exited $?"
    case $got in
    *vvv-3) [ "${#got}" = 2002 ] || demo_fail "big007 read back ${#got} bytes, not 2002" ;;
    *) demo_fail "big007 did not read back its third value" ;;
    esac
    echo "   kv BIG get big007 reads its third value (2,002 bytes) back from the value log."
}

# raft_info PORT: the member at PORT in one line, from CLUSTER INFO.
raft_info() {
    redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | awk -F: '
        /^raft_id:/ { id = $2 } /^raft_state:/ { st = $2 } /^raft_leader:/ { ld = $2 }
        /^raft_term:/ { t = $2 } /^raft_commit_index:/ { c = $2 } /^raft_applied_index:/ { a = $2 }
        END { if (id != "") printf "member %s: %s, leader %s, term %s, commit index %s, applied %s\n", id, st, ld, t, c, a }'
}

# leader_among PORT...: the port of the member that says it leads, or nothing.
leader_among() {
    for p in "$@"; do
        redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^raft_state:leader' && echo "$p" && return
    done
}

# demo_group: stage 10, three members of a Raft group, each a kv serve
# process of its own on this host; the leader killed, another elected,
# nothing acknowledged lost.  Needs redis-cli (make deps DEPS=server).
demo_group() {
    demo_step "9. Three members of a Raft group, each one kv serve process"
    if ! command -v redis-cli >/dev/null 2>&1; then
        echo "   skipped: redis-cli is missing (make deps DEPS=server installs it)"
        return
    fi
    # Ports below Linux's ephemeral range (32768 on), which outgoing
    # connections take: client ports base..base+2, Raft ports base+4..base+6.
    base=$((20000 + ($$ % 1500) * 8))
    peers="1@127.0.0.1:$((base + 4))/$base,2@127.0.0.1:$((base + 5))/$((base + 1)),3@127.0.0.1:$((base + 6))/$((base + 2))"
    pids=""
    for i in 1 2 3; do
        printf '$ kv M%d serve --port %d --raft-id %d --raft-peers %s &\n' "$i" $((base + i - 1)) "$i" "$peers"
        "$kv" "$tmp/m$i" serve --port $((base + i - 1)) --raft-id "$i" --raft-peers "$peers" \
            >"$tmp/m$i.log" 2>&1 &
        pids="$pids $!"
    done
    lead="" waited=0
    while [ -z "$lead" ] && [ $waited -lt 300 ]; do
        sleep 0.1
        waited=$((waited + 1))
        lead=$(leader_among $base $((base + 1)) $((base + 2)))
    done
    [ -n "$lead" ] || { kill $pids 2>/dev/null; demo_fail "no leader elected in 30 s (logs: $tmp/m*.log)"; }
    echo "   The three agree on a leader (an election timeout of 1 s, libraft's default):"
    echo '$ redis-cli -c -p '"$base"' set greeting "hello, group"   (-c follows a follower'"'"'s MOVED to the leader)'
    got=$(redis-cli -c -p "$base" set greeting "hello, group" | tr -d '\r')
    demo_expect "SET through the group" OK "$got"
    echo "$got"
    sleep 0.3 # the followers learn the commit index with the next heartbeat
    echo "   What each member says of itself (redis-cli -p PORT cluster info):"
    for p in $base $((base + 1)) $((base + 2)); do
        echo "   $(raft_info "$p")"
    done
    dead=$(redis-cli -p "$lead" info server | tr -d '\r' | sed -n 's/^process_id:\([0-9]*\)$/\1/p')
    printf '$ kill -9 %s   (the leader, member %d)\n' "$dead" $((lead - base + 1))
    kill -9 "$dead" || demo_fail "kill -9 $dead"
    live=""
    for p in $base $((base + 1)) $((base + 2)); do
        [ "$p" = "$lead" ] || live="$live $p"
    done
    fresh="" waited=0
    while [ -z "$fresh" ] && [ $waited -lt 200 ]; do
        sleep 0.1
        waited=$((waited + 1))
        # shellcheck disable=SC2086 # the ports are words
        fresh=$(leader_among $live)
    done
    [ -n "$fresh" ] || { kill $pids 2>/dev/null; demo_fail "no new leader in 20 s"; }
    echo "   Member $((fresh - base + 1)) leads after about $((waited / 10)).$((waited % 10)) s:"
    set -- $live
    echo '$ redis-cli -c -p '"$1"' get greeting'
    got=$(redis-cli -c -p "$1" get greeting | tr -d '\r')
    demo_expect "GET after the leader's death" "hello, group" "$got"
    echo "$got"
    echo "   The write was acknowledged once two of the three held it in their logs,"
    echo "   so the two left hold it.  docs/10-raft.md says how (and a cluster of"
    echo "   them in one command: kv DIR cluster --members 3)."
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null
    # shellcheck disable=SC2086
    wait $pids 2>/dev/null
}

[ $# -gt 0 ] || demo_fail "usage: sh scripts/demo.sh STAGE..."

for stage in "$@"; do
    kv=${KV_BUILD:-build}/$stage/kv
    [ -x "$kv" ] || demo_fail "$kv is missing: run make first"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv-demo.XXXXXX") || demo_fail "mktemp"
    db=$tmp/db

    demo_heading "stage $stage"
    echo "The database lives in a new directory, DB=$db."
    echo "The command is $kv."

    demo_step "1. Load $N keys: one kv process reads commands from standard input"
    echo "   put key0000 value-0 ... put key0999 value-999   ($N puts)"
    echo "   put key0000 value-0-v2, key0010 ... key0990     (100 overwrites)"
    echo "   del key0500 ... del key0509                     (10 deletes)"
    echo "   get key0000, get key0010, get key0500, get key0999"
    awk -v n="$N" 'BEGIN {
        for (i = 0; i < n; i++) printf "put key%04d value-%d\n", i, i
        for (i = 0; i < n; i += 10) printf "put key%04d value-%d-v2\n", i, i
        for (i = 500; i < 510; i++) printf "del key%04d\n", i
        print "# comment lines and blank lines are skipped"
        print ""
        print "get key0000"; print "get key0010"; print "get key0500"; print "get key0999"
    }' >"$tmp/load.txt"
    out=$("$kv" "$db" <"$tmp/load.txt" 2>"$tmp/err.txt")
    st=$?
    printf '%s\n' "$out"
    cat "$tmp/err.txt"
    [ "$st" = 0 ] || demo_fail "loading exited $st"
    demo_expect "reading back in the same process" \
        "$(printf 'value-0-v2\nvalue-10-v2\nvalue-999')" "$out"
    echo "(key0500 was deleted, so its get said 'not found'.)"

    demo_step "2. Restart: each command below is a fresh kv process, which opens DB"
    echo "   and finds the keys in the files on disk"
    demo_get key0000 value-0-v2
    demo_get key0010 value-10-v2
    demo_get key0011 value-11
    demo_get key0500 ""
    demo_get key0999 value-999

    demo_step "3. A range in key order: scan key0498 key0512 (FROM included, TO not)"
    out=$("$kv" "$db" scan key0498 key0512) || demo_fail "scan exited $?"
    printf '%s\n' "$out"
    demo_expect "scan" "$(printf 'key0498\tvalue-498\nkey0499\tvalue-499
key0510\tvalue-510-v2\nkey0511\tvalue-511')" "$out"
    count=$("$kv" "$db" scan | wc -l) || demo_fail "full scan failed"
    echo "A scan of everything finds $count keys ($N put, 10 deleted)."
    demo_expect "number of keys" $((N - 10)) "$((count))"

    demo_step "4. The files, and what the engine says about them (stats)"
    ls -l "$db"
    "$kv" "$db" stats || demo_fail "stats exited $?"

    demo_step "5. The first records on disk (dump, first 12 lines)"
    "$kv" "$db" dump >"$tmp/dump.txt" || demo_fail "dump exited $?"
    head -n 12 "$tmp/dump.txt"
    echo "... ($(wc -l <"$tmp/dump.txt") lines in all)"

    demo_step "6. Verify every file (check)"
    "$kv" "$db" check || demo_fail "check exited $?"
    echo "check: exit status 0, the database is intact."

    case $stage in
    0[4-9]* | 1[0-9]*) demo_small ;;
    esac
    case $stage in
    0[8-9]* | 1[0-9]*) demo_vlog ;;
    esac
    case $stage in
    1[0-9]*) demo_group ;;
    esac

    rm -rf "$tmp"
    tmp=
    demo_heading "stage $stage: done, temporary directory removed"
done

# The next step after the tour: building a stage yourself (docs/learn.md).
learnable=""
for stage in "$@"; do
    [ -f "grade/$stage.exercises" ] && learnable="$learnable $stage"
done
if [ -n "$learnable" ]; then
    demo_heading "build one yourself"
    echo "Each of these stages comes as exercises:$learnable."
    echo "  make learn STAGE=01-log   # learn/01-log/: its key functions as stubs, to write"
    echo "  make grade STAGE=01-log   # your stage 01 graded: unit tests, suites, crashes, sweep, fuzz, speed"
    echo "docs/learn.md says how; each stage's page has its list, under \"Exercises\"."
fi
