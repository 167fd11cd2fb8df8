#!/bin/sh
# cli_test.sh: black-box tests of the kv command, for any stage.
#
#   sh tests/cli_test.sh PATH/TO/kv
#
# Each test runs kv in a fresh database directory under one temporary
# directory, prints "ok NAME" or "FAIL NAME" (with what went wrong), and the
# script ends with the line "N passed, N failed", exiting 1 if any failed.
set -u

[ $# -eq 1 ] || { echo "usage: sh tests/cli_test.sh PATH/TO/kv" >&2; exit 2; }
case $1 in
/*) KV=$1 ;;
*) KV=$(pwd)/$1 ;;
esac
[ -x "$KV" ] || { echo "cli_test: $KV is not an executable" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kv-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 2' INT TERM

passed=0
failed=0
why=
n=0

# --- helpers ----------------------------------------------------------------

# Runs kv with the given arguments (stdin from $IN if set, else /dev/null);
# leaves the exit status in $st, stdout in $TMP/out, stderr in $TMP/err.
kv() {
    "$KV" "$@" <"${IN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
    st=$?
}

# The same with standard input from FILE: kv_stdin FILE ARGS...
kv_stdin() {
    IN=$1
    shift
    kv "$@"
    IN=
}

# Each check notes the first failure in $why; the test fails if $why is set.
# Newlines in the reason are shown as \n, so a result stays one line.
fail() {
    [ -z "$why" ] || return 0
    why=$(printf '%s\n' "$*" | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }')
}
expect_status() { [ "$st" = "$1" ] || fail "exit status $st, want $1 ($(head -c 200 "$TMP/err"))"; }
expect_out() {
    [ "$(cat "$TMP/out")" = "$1" ] ||
        fail "stdout: got '$(head -c 200 "$TMP/out")', want '$1'"
}
expect_err_has() { grep -q -e "$1" "$TMP/err" || fail "stderr lacks '$1': '$(head -c 200 "$TMP/err")'"; }
expect_err_empty() { [ ! -s "$TMP/err" ] || fail "unexpected stderr: '$(head -c 200 "$TMP/err")'"; }

# Runs the test function $1 in a fresh database directory $DB.
run() {
    n=$((n + 1))
    DB=$TMP/db$n
    why=
    IN=
    "$1"
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        echo "ok $1"
    else
        failed=$((failed + 1))
        printf 'FAIL %s: %s\n' "$1" "$why"
    fi
}

# Flips every bit of the byte in the middle of the largest regular file in
# $DB other than LOCK: the engine's data file.
corrupt_middle_byte() {
    big=''
    size=0
    for f in "$DB"/* "$DB"/.[!.]*; do
        [ -f "$f" ] || continue
        [ "$(basename "$f")" != LOCK ] || continue
        s=$(wc -c <"$f")
        if [ "$s" -gt "$size" ]; then big=$f size=$s; fi
    done
    [ -n "$big" ] || { fail "no data file in $DB"; return; }
    off=$((size / 2))
    old=$(od -An -tu1 -j "$off" -N 1 "$big" | tr -d ' ')
    printf '%b' "\\0$(printf %o $((old ^ 255)))" |
        dd of="$big" bs=1 seek="$off" count=1 conv=notrunc 2>/dev/null
    [ "$(od -An -tu1 -j "$off" -N 1 "$big" | tr -d ' ')" = $((old ^ 255)) ] ||
        fail "could not flip byte $off of $big"
}

# Loads keys a..e (in shuffled order) with values 1..5.
load_abcde() {
    for k in c a e b d; do
        case $k in a) v=1 ;; b) v=2 ;; c) v=3 ;; d) v=4 ;; e) v=5 ;; esac
        kv "$DB" put "$k" "$v"
        [ "$st" = 0 ] || fail "put $k exited $st"
    done
}

# --- tests ------------------------------------------------------------------

usage_on_no_args() {
    kv
    expect_status 2
    expect_err_has "usage: kv"
    kv --help
    expect_status 0
    grep -q "usage: kv" "$TMP/out" || fail "--help prints no usage on stdout"
}

put_get_round_trip() {
    kv "$DB" put greeting "hello, world"
    expect_status 0
    expect_err_empty
    kv "$DB" get greeting
    expect_status 0
    expect_out "hello, world"
}

get_prints_raw_value_then_newline() {
    kv "$DB" put k "a\\b"
    kv "$DB" get k
    expect_status 0
    bytes=$(od -An -tx1 "$TMP/out" | tr -d ' \n')
    [ "$bytes" = 615c620a ] || fail "bytes: $bytes, want 615c620a"
}

empty_value_round_trip() {
    kv "$DB" put k ""
    expect_status 0
    kv "$DB" get k
    expect_status 0
    [ "$(wc -c <"$TMP/out")" -eq 1 ] || fail "want just a newline"
}

get_missing_exits_1() {
    kv "$DB" put present 1
    kv "$DB" get absent
    expect_status 1
    [ ! -s "$TMP/out" ] || fail "printed something on stdout"
}

bad_command_exits_2_with_message() {
    kv "$DB" frobnicate
    expect_status 2
    expect_err_has "^kv: "
    kv "$DB" get
    expect_status 2
    expect_err_has "^kv: "
    kv "$DB" put onlykey
    expect_status 2
    kv -q "$DB" get k
    expect_status 2
}

empty_key_is_invalid() {
    kv "$DB" put "" v
    expect_status 2
    expect_err_has "^kv: invalid argument"
}

del_then_get_exits_1() {
    kv "$DB" put k v
    kv "$DB" del k
    expect_status 0
    kv "$DB" get k
    expect_status 1
    kv "$DB" del never-there
    expect_status 0
}

overwrite_keeps_last_value() {
    kv "$DB" put k one
    kv "$DB" put k two
    kv "$DB" get k
    expect_out two
}

scan_in_key_order() {
    load_abcde
    kv "$DB" put ab 12
    kv "$DB" scan
    expect_status 0
    expect_out "$(printf 'a\t1\nab\t12\nb\t2\nc\t3\nd\t4\ne\t5')"
}

scan_from_to() {
    load_abcde
    kv "$DB" scan b d
    expect_status 0
    expect_out "$(printf 'b\t2\nc\t3')"
    kv "$DB" scan bb
    expect_out "$(printf 'c\t3\nd\t4\ne\t5')"
    kv "$DB" scan c c
    expect_status 0
    expect_out ""
}

scan_escapes_unprintable_bytes() {
    kv "$DB" put "tab	key" "line1
line2\\"
    kv "$DB" scan
    expect_status 0
    expect_out 'tab\x09key	line1\x0aline2\x5c'
}

hex_round_trip_with_nul_and_ff() {
    kv -x "$DB" put 00ff00 FF0010ff
    expect_status 0
    kv --hex "$DB" get 00FF00
    expect_status 0
    expect_out ff0010ff
    kv "$DB" scan
    expect_out '\x00\xff\x00	\xff\x00\x10\xff'
    kv -x "$DB" scan 00 01
    expect_out "$(printf '00ff00\tff0010ff')"
}

hex_rejects_bad_digits() {
    kv -x "$DB" put 0 00
    expect_status 2
    expect_err_has "not hex"
    kv -x "$DB" put zz 00
    expect_status 2
}

stdin_mode_runs_commands() {
    printf '%s\n' "put a 1" "put b 2" "# a comment" "" "  put c 3  " \
        "get a" "del a" "scan" "get a" "quit" "put z 26" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    expect_out "$(printf '1\nb\t2\nc\t3')"
    grep -q "kv> " "$TMP/out" && fail "prompt shown though stdin is no terminal"
    kv "$DB" get z
    expect_status 1
}

stdin_mode_hex_on_off() {
    printf '%s\n' "hex on" "put 6b00 0001" "get 6b00" "hex off" "scan" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    expect_out "$(printf '0001\nk\\x00\t\\x00\\x01')"
}

stdin_mode_error_exits_2_and_goes_on() {
    printf '%s\n' "put a 1" "bogus" "get nothing" "put b 2" "exit" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 2
    expect_err_has "bogus"
    kv "$DB" get b
    expect_out 2
    printf '%s\n' "get nothing" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
}

stdin_mode_check_and_dump() {
    printf '%s\n' "put a 1" "check" "dump" "put b 2" "get a" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    tail -n 1 "$TMP/out" | grep -qx 1 || fail "get after check/dump: $(tail -n 1 "$TMP/out")"
}

stats_check_dump_ok_on_healthy_db() {
    load_abcde
    kv "$DB" stats
    expect_status 0
    [ -s "$TMP/out" ] || fail "stats printed nothing"
    kv "$DB" check
    expect_status 0
    kv "$DB" dump
    expect_status 0
    [ -s "$TMP/out" ] || fail "dump printed nothing"
}

compact_keeps_data() {
    load_abcde
    kv "$DB" put a 11
    kv "$DB" del b
    kv "$DB" compact
    expect_status 0
    kv "$DB" scan
    expect_out "$(printf 'a\t11\nc\t3\nd\t4\ne\t5')"
    kv "$DB" check
    expect_status 0
}

# Puts key0..key39, enough records that a byte in the middle of the file
# lies inside one of them.
load_40_keys() {
    i=0
    while [ $i -lt 40 ]; do
        kv "$DB" put "key$i" "value number $i, long enough to fill a file"
        i=$((i + 1))
    done
}

check_exits_2_on_corrupt_byte() {
    load_40_keys
    corrupt_middle_byte
    kv "$DB" check
    expect_status 2
    [ -s "$TMP/out" ] || fail "check reported no problem on stdout"
    kv "$DB" dump
    [ "$st" -le 2 ] || fail "dump of a corrupt db died (exit $st)"
    [ -s "$TMP/out" ] || fail "dump printed nothing"
}

repair_salvages_intact_records_or_needs_stage_03() {
    load_40_keys
    corrupt_middle_byte
    kv "$DB" repair
    if [ "$st" = 2 ] && grep -q "from stage 03 on" "$TMP/err"; then
        return 0 # stages 01 and 02 have no repair
    fi
    expect_status 0
    grep -q "lost" "$TMP/out" || fail "repair did not say what was lost: $(head -c 200 "$TMP/out")"
    kv "$DB" check
    expect_status 0
    kv "$DB" get key39
    expect_status 0
}

second_writer_is_busy() {
    mkfifo "$TMP/fifo" || { fail "mkfifo"; return; }
    "$KV" "$DB" <"$TMP/fifo" >"$TMP/holder.out" 2>&1 &
    holder=$!
    exec 3>"$TMP/fifo"
    # In a subshell: if kv is already gone, SIGPIPE ends the subshell only.
    (printf 'put a 1\nget a\n' >&3) 2>/dev/null
    i=0
    while [ ! -s "$TMP/holder.out" ] && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    kv "$DB" put b 2
    expect_status 2
    expect_err_has "busy"
    exec 3>&-
    i=0
    while kill -0 "$holder" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    if kill -0 "$holder" 2>/dev/null; then
        kill "$holder"
        fail "the first kv did not exit at the end of its input"
    fi
    wait "$holder" || fail "the first kv exited $?"
    rm -f "$TMP/fifo"
}

run usage_on_no_args
run put_get_round_trip
run get_prints_raw_value_then_newline
run empty_value_round_trip
run get_missing_exits_1
run bad_command_exits_2_with_message
run empty_key_is_invalid
run del_then_get_exits_1
run overwrite_keeps_last_value
run scan_in_key_order
run scan_from_to
run scan_escapes_unprintable_bytes
run hex_round_trip_with_nul_and_ff
run hex_rejects_bad_digits
run stdin_mode_runs_commands
run stdin_mode_hex_on_off
run stdin_mode_error_exits_2_and_goes_on
run stdin_mode_check_and_dump
run stats_check_dump_ok_on_healthy_db
run compact_keeps_data
run check_exits_2_on_corrupt_byte
run repair_salvages_intact_records_or_needs_stage_03
run second_writer_is_busy

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
