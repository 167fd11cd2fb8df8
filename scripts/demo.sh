#!/bin/sh
# demo.sh: a guided tour of each stage, through its kv command.
#
#   sh scripts/demo.sh STAGE...      (make demo runs it for every stage)
#
# It uses build/STAGE/kv; set KV_BUILD=build/asan to tour the sanitizer
# build instead.
#
# Each stage shows its own idea, in a fresh temporary directory.  Stage 01
# shows what every stage does: 1000 keys loaded through one kv process
# reading commands from standard input, read back by fresh processes (as
# after a restart) and scanned in key order, then the files, stats, dump
# and check.  Every later stage runs those first steps again, checked but
# not shown, and says so in a line; then what it adds: 02 the index and a
# merge, 03 syncs, blocks and a torn tail, 04 a memtable small enough to
# become tables (scripts/demo_lsm.sh has 04 to 09), 05 blocks and filters,
# 06 levels, 07 a WATCH that compares versions, 08 values kept apart, 09
# the caches and a data block's hash index, and 10 a Raft group of three
# members (scripts/demo_group.sh).  Stages 04 to 09 draw their database
# with `kv DB draw` in build/demo/STAGE.svg.  Every answer is compared with
# what it should be: the script exits 1 at the first wrong one, so the
# tour doubles as a smoke test.  It ends by naming the toured stages that
# come as exercises, with the make learn and make grade of the toured
# stage (the first of them, when several were: docs/learn.md) and, run by
# `make demo` (KV_DEMO_START, KV_DEMO_BUILT), the time it all took.
set -u

N=1000
here=$(dirname "$0")
tmp='' server='' cluster='' frozen=''
. "$here/demo_lsm.sh"
. "$here/demo_group.sh"

# What a tour stopped short leaves: a server, a group, a directory.
demo_cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null
        wait "$server" 2>/dev/null
    fi
    demo_group_stop
    rm -rf "$tmp"
}
trap demo_cleanup EXIT
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

# show TEXT...: prints its lines when the first steps are shown (stage 01).
show() { [ "$shown" = 0 ] || printf '%s\n' "$@"; }

# demo_get KEY EXPECTED: one fresh kv process reads KEY.
demo_get() {
    show "\$ kv DB get $1"
    out=$("$kv" "$db" get "$1" 2>&1)
    st=$?
    if [ -z "$2" ]; then
        show "$out"
        [ "$st" = 1 ] || demo_fail "get $1 should find nothing (exit 1), got exit $st"
        show "(exit status 1: no such key)"
    else
        [ "$st" = 0 ] || demo_fail "get $1 exited $st"
        show "$out"
        demo_expect "get $1" "$2" "$out"
    fi
}

# stat_of DIR NAME: the number on `kv DIR stats --all`'s line "NAME: N".
stat_of() {
    "$kv" "$1" stats --all | sed -n "s/^$2: \([0-9]*\).*/\1/p" | head -n 1
}

# demo_basics: load, restart, scan into $db; shown at stage 01 (shown=1),
# run and checked, silently, after it.
demo_basics() {
    # The input's lines, numbered as kv numbers them in its messages.
    puts_end=$N over_end=$((N + N / 10)) dels_end=$((N + N / 10 + 10))
    gets=$((dels_end + 3))
    show "" "---- 1. Load $N keys: one kv process reads commands from standard input" \
        "\$ kv DB < load.txt      (load.txt: $((gets + 3)) lines, one command a line)" \
        "$(printf '   lines %-10s %s\n' \
            "1-$puts_end:" "put key0000 value-0 ... put key0999 value-999" \
            "$((puts_end + 1))-$over_end:" "put key0000 value-0-v2 ... put key0990 value-990-v2" \
            "$((over_end + 1))-$dels_end:" "del key0500 ... del key0509" \
            "$((dels_end + 1))-$((dels_end + 2)):" "a comment line and a blank line, skipped" \
            "$gets-$((gets + 3)):" "get key0000, get key0010, get key0500, get key0999")"
    awk -v n="$N" 'BEGIN {
        for (i = 0; i < n; i++) printf "put key%04d value-%d\n", i, i
        for (i = 0; i < n; i += 10) printf "put key%04d value-%d-v2\n", i, i
        for (i = 500; i < 510; i++) printf "del key%04d\n", i
        print "# comment lines and blank lines are skipped"
        print ""
        print "get key0000"; print "get key0010"; print "get key0500"; print "get key0999"
    }' >"$tmp/load.txt"
    # (stdout and stderr in one stream: kv flushes its answers after each
    # command, so they come in the input's order.)
    out=$("$kv" "$db" <"$tmp/load.txt" 2>&1)
    st=$?
    show "$out"
    [ "$st" = 0 ] || demo_fail "loading exited $st: $out"
    demo_expect "reading back in the same process" \
        "$(printf 'value-0-v2\nvalue-10-v2\nkv: line %d: not found: key0500\nvalue-999' $((gets + 2)))" "$out"
    show "(key0500 was deleted: its get, line $((gets + 2)) of load.txt, found nothing.)"

    show "" "---- 2. Restart: each command below is a fresh kv process, which opens DB" \
        "   and finds the keys in the files on disk"
    demo_get key0000 value-0-v2
    demo_get key0010 value-10-v2
    demo_get key0011 value-11
    demo_get key0500 ""
    demo_get key0999 value-999

    show "" "---- 3. A range in key order: scan key0498 key0512 (FROM included, TO not)"
    out=$("$kv" "$db" scan key0498 key0512) || demo_fail "scan exited $?"
    show "$out"
    demo_expect "scan" "$(printf 'key0498\tvalue-498\nkey0499\tvalue-499
key0510\tvalue-510-v2\nkey0511\tvalue-511')" "$out"
    count=$("$kv" "$db" scan | wc -l) || demo_fail "full scan failed"
    show "A scan of everything finds $count keys ($N put, 10 deleted)."
    demo_expect "number of keys" $((N - 10)) "$((count))"
}

# demo_skipped [WHAT]: the line a stage after 01 opens with, WHAT being
# what the stage before it showed.
demo_skipped() {
    echo "(Not shown again: stage 01's load, restarts and scan, run and checked here too${1:+; $1}.)"
}

demo_log() {
    demo_step "4. The files, and what the engine says about them (stats)"
    ls -l "$db"
    echo "\$ kv DB stats"
    "$kv" "$db" stats || demo_fail "stats exited $?"
    echo "   (stats prints what the database holds and the counters that moved in"
    echo "   this process, which has only opened it; stats --all prints every line.)"

    demo_step "5. The first records on disk (dump, first 12 lines)"
    "$kv" "$db" dump >"$tmp/dump.txt" || demo_fail "dump exited $?"
    head -n 12 "$tmp/dump.txt"
    echo "... ($(wc -l <"$tmp/dump.txt") lines in all)"

    demo_step "6. Verify every file (check)"
    "$kv" "$db" check || demo_fail "check exited $?"
    echo "check: exit status 0, the database is intact."
}

demo_hash() {
    demo_skipped
    demo_step "1. An index in memory: every key's place in the log, in segments (stats)"
    ls -l "$db"
    "$kv" "$db" stats | grep -v '^\(stage\|dir\|io\.backend\|durability\):' ||
        demo_fail "stats exited $?"
    echo "   990 keys live; dead.bytes are the records written over or deleted,"
    echo "   still in the segment, which no key points to any more."

    demo_step "2. A merge: kv DB compact writes the live records to a new segment"
    echo "\$ kv DB compact"
    "$kv" "$db" compact || demo_fail "compact exited $?"
    ls -l "$db"
    echo "\$ kv DB stats | grep ..."
    "$kv" "$db" stats | grep '^\(segments\.\(count\|bytes\)\|live\.bytes\|dead\.bytes\):'
    demo_expect "dead.bytes after compact" 0 "$(stat_of "$db" dead.bytes)"
    echo "   No dead.bytes line: they are 0 now, and stats leaves out what is 0"
    echo "   (kv DB stats --all prints every line)."
    "$kv" "$db" check >"$tmp/check.txt" || demo_fail "check after compact exited $?"
    echo "\$ kv DB check: $(tail -n 1 "$tmp/check.txt")"
}

demo_wal() {
    demo_skipped "stage 02's index and merge"
    demo_step "1. Durable writes: 20 puts in one process with --sync, each synced"
    awk 'BEGIN { for (i = 0; i < 20; i++) printf "put sync%02d %d\n", i, i }' >"$tmp/sync.txt"
    for mode in --sync ""; do
        # shellcheck disable=SC2086 # an empty mode is no word
        { cat "$tmp/sync.txt"; echo stats; } | "$kv" $mode "$db" >"$tmp/sync.out" 2>&1 ||
            demo_fail "20 puts $mode exited $?: $(cat "$tmp/sync.out")"
        echo "\$ kv ${mode:+$mode }DB < (20 puts, then stats)"
        grep '^\(session\.wal\.syncs\|session\.wal\.sync_us_avg\|session\.put\.latency_us\):' \
            "$tmp/sync.out" | sed 's/,p99=.*//'
    done
    echo "   With --sync each put returns once fdatasync has its bytes on the disk;"
    echo "   without it, in the OS's memory: no sync line, and much quicker puts."

    fr=$tmp/frames
    demo_step "2. The log in blocks of 32 KiB: a 40,000-byte value in two fragments (dump --frames)"
    { echo 'put small 1'; echo "put big $(head -c 40000 /dev/zero | tr '\0' v)"; } |
        "$kv" "$fr" || demo_fail "loading FRAMES exited $?"
    "$kv" "$fr" put last "the last write" || demo_fail "put last exited $?"
    echo "\$ kv FRAMES dump --frames   (puts of small, big, then last, in a new database)"
    "$kv" "$fr" dump --frames | sed -n '3,$p' | grep -v 'before the next fragment'

    demo_step "3. A torn tail: the log cut in the middle of its last record, as a crash can"
    log=$fr/0000000001.log
    size=$(wc -c <"$log")
    echo "\$ truncate -s $((size - 21)) FRAMES/0000000001.log; kv FRAMES check"
    truncate -s $((size - 21)) "$log" || demo_fail "truncate"
    "$kv" "$fr" check 2>&1 | grep -v '^IDENTITY'
    [ "$("$kv" "$fr" check >/dev/null 2>&1; echo $?)" = 3 ] || demo_fail "check of a torn tail did not exit 3"
    echo "\$ kv FRAMES put after 1; kv FRAMES get last"
    "$kv" "$fr" put after 1 || demo_fail "put after a torn tail exited $?"
    "$kv" "$fr" get last 2>&1
    [ "$("$kv" "$fr" get last >/dev/null 2>&1; echo $?)" = 1 ] || demo_fail "the torn write was read"
    "$kv" "$fr" check >/dev/null 2>&1 || demo_fail "check after the tail was cut exited $?"
    echo "   The write that opened the database cut the torn record off: \"last\", cut"
    echo "   short as a crash during its write would, is gone, all before it kept."
}

[ $# -gt 0 ] || demo_fail "usage: sh scripts/demo.sh STAGE..."

for stage in "$@"; do
    kv=${KV_BUILD:-build}/$stage/kv
    [ -x "$kv" ] || demo_fail "$kv is missing: run make first"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv-demo.XXXXXX") || demo_fail "mktemp"
    db=$tmp/db

    demo_heading "stage $stage"
    echo "A new directory holds its databases: $tmp; the command is $kv."
    shown=0
    case $stage in
    01*) shown=1 ;;
    esac
    case $stage in
    1[0-9]*) ;; # the group's members are stage 09's engine: no first steps
    *) demo_basics ;;
    esac
    case $stage in
    01*) demo_log ;;
    02*) demo_hash ;;
    03*) demo_wal ;;
    04*) demo_lsm ;;
    05*) demo_blocks ;;
    06*) demo_levels ;;
    07*) demo_txn ;;
    08*) demo_vlog ;;
    09*) demo_cache ;;
    1[0-9]*) demo_group ;;
    esac

    rm -rf "$tmp"
    tmp=
    demo_heading "stage $stage: done, temporary directory removed"
done

# The next step after the tour: building a stage yourself (docs/learn.md),
# the toured stage's own (the first of them when several were toured).
# A stage still being built (UNFINISHED_<stage> in its stage.mk) has no
# make learn yet (grade/learn.sh).
learnable="" plain=""
for stage in "$@"; do
    if [ -f "grade/$stage.exercises" ] &&
        ! grep -q "^UNFINISHED_$stage *:= *1" "stages/$stage/stage.mk" 2>/dev/null; then
        learnable="$learnable $stage"
    else
        plain="$plain $stage"
    fi
done
if [ -n "$learnable" ]; then
    # shellcheck disable=SC2086 # the stages, as words
    set -- $learnable
    demo_heading "build one yourself"
    if [ $# = 1 ]; then
        echo "Stage $1 comes as exercises."
    else
        echo "Each of these stages comes as exercises:$learnable."
    fi
    echo "  make learn STAGE=$1   # learn/$1/: its key functions as stubs, to write"
    echo "  make grade STAGE=$1   # your stage ${1%%-*} graded: unit tests, suites, crashes, sweep, fuzz, speed"
    echo "docs/learn.md says how; each stage's page has its list, under \"Exercises\"."
fi
for stage in $plain; do
    if [ -f "grade/$stage.exercises" ]; then
        echo "Stage $stage is still being built: its exercises, before make learn has them,"
        echo "  sh grade/learn.sh $stage learn/$stage; sh grade/grade.sh $stage learn/$stage"
    else
        echo "Stage $stage comes as no exercises: docs/$stage.md explains it, make test runs its tests."
    fi
done
if [ -n "${KV_DEMO_START:-}" ]; then
    awk -v s="$KV_DEMO_START" -v b="${KV_DEMO_BUILT:-$KV_DEMO_START}" -v e="$(date +%s.%N)" 'BEGIN {
        printf "\nmake demo: %.0f s in all: the build %.0f s, the tour %.0f s.\n", e - s, b - s, e - b }'
fi
