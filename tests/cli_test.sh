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
    kv_bin "$KV" "$@"
}

# The same with another stage's kv: kv_bin PATH/TO/kv ARGS...
kv_bin() {
    bin=$1
    shift
    "$bin" "$@" <"${IN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
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

# Bare kv answers in a screen: a short usage on stderr, at most 25 lines,
# none wider than 80 columns, naming the stage and pointing at --help;
# `help` in standard-input mode prints the same on stdout.  An unknown
# option is one line, not the usage again.
bare_kv_is_a_screen() {
    kv
    expect_status 2
    lines=$(wc -l <"$TMP/err")
    [ "$lines" -le 25 ] || fail "bare kv printed $lines lines, want at most 25"
    expect_err_has "kv --help for more"
    expect_err_has "This is stage [0-9][0-9]-[a-z]*'s kv"
    wide=$(awk 'length($0) > 80' "$TMP/err" | head -n 1)
    [ -z "$wide" ] || fail "a line wider than 80 columns: $wide"
    cp "$TMP/err" "$TMP/short"
    printf 'help\n' >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    cmp -s "$TMP/out" "$TMP/short" || fail "help in standard-input mode is not bare kv's usage"
    [ ! -e "$DB" ] || fail "help created $DB"
    kv --no-such-option "$DB" get a
    expect_status 2
    [ "$(wc -l <"$TMP/err")" = 1 ] || fail "an unknown option printed $(wc -l <"$TMP/err") lines"
    expect_err_has "unknown option '--no-such-option'"
}

# kv --help: this stage's commands and knobs come before what every stage
# shares (the grammar of standard input), no line is wider than 80
# columns, and it describes only knobs this stage takes: each knob line is
# accepted by a write, and every knob the stage lacks is refused, none of
# them described.
help_shows_this_stage_first() {
    kv --help
    expect_status 0
    stage=$(sed -n 's/.*with the engine of stage \([0-9][0-9]-[a-z]*\)\..*/\1/p' "$TMP/out")
    [ -n "$stage" ] || { fail "kv --help names no stage"; return; }
    cmds=$(grep -n "^Stage $stage's commands:" "$TMP/out" | cut -d: -f1)
    knobs=$(grep -n "^Stage $stage's knobs\{0,1\} (" "$TMP/out" | cut -d: -f1)
    grammar=$(grep -n '^From standard input:' "$TMP/out" | cut -d: -f1)
    [ -n "$cmds" ] && [ -n "$knobs" ] && [ -n "$grammar" ] ||
        { fail "kv --help lacks a part: commands '$cmds', knobs '$knobs', grammar '$grammar'"; return; }
    [ "$cmds" -lt "$knobs" ] && [ "$knobs" -lt "$grammar" ] ||
        fail "kv --help's order: commands at line $cmds, knobs $knobs, the grammar $grammar"
    wide=$(awk 'length($0) > 80' "$TMP/out" | head -n 1)
    [ -z "$wide" ] || fail "a line wider than 80 columns: $wide"
    sed -n "$knobs,\$p" "$TMP/out" | sed -n 's/^  \(--[a-z0-9-]*\) [A-Z][A-Z]*\( .*\)\{0,1\}$/\1/p' \
        >"$TMP/described"
    [ -s "$TMP/described" ] || { fail "kv --help describes no knob"; return; }
    all="--segment-bytes --memtable-bytes --block-bytes --bloom-bits --compression --cache-bytes
        --map-tables --l1-bytes --level-ratio --table-bytes --value-threshold --value-gc-percent
        --record-cache-percent --background-bytes-per-sec --partitions --io --filters-for-hits
        --map-bytes --block-hash-index"
    for k in $all; do
        case $k in
        --bloom-bits) v=10 ;; --compression) v=none ;; --io) v=posix ;;
        --map-tables | --partitions | --filters-for-hits | --block-hash-index) v=no ;;
        --level-ratio) v=10 ;;
        --value-gc-percent | --record-cache-percent) v=20 ;;
        *) v=1m ;;
        esac
        kv "$k" "$v" "$DB$k" put a b
        if grep -qx -e "$k" "$TMP/described"; then
            [ "$st" = 0 ] || fail "kv --help describes $k, which a put refuses: $(cat "$TMP/err")"
        else
            [ "$st" = 2 ] || fail "$k is not described by kv --help, and a put took it (exit $st)"
        fi
    done
    [ "$(wc -l <"$TMP/described")" -le 19 ] || fail "kv --help describes a knob twice"
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

# kv stats: what the database holds and the counters that moved: no line
# at zero, no histogram of nothing, no level without a table or a
# compaction, and a last line saying how many it left out; stats --all:
# every line of kv_stats, those too.  A get in the same process moves the
# get counters, which the plain stats then shows.  Another option is refused.
stats_leaves_out_zeros_unless_all() {
    load_abcde
    kv "$DB" stats
    expect_status 0
    cp "$TMP/out" "$TMP/plain"
    grep -q '^stage: ' "$TMP/plain" || fail "stats: no stage line: $(head -n 2 "$TMP/plain")"
    zeros=$(grep -E '^[a-z0-9_.]+: (0+(\.0+)?|count=0,.*)$|\.buckets: none$' "$TMP/plain" | head -n 3)
    [ -z "$zeros" ] || fail "stats printed lines at zero: $zeros"
    ! grep -Eq '^level\.[0-9]: 0 0 [0-9]+ [0-9.]+ \| 0 0 0\.0 0\.0 0\.00$' "$TMP/plain" ||
        fail "stats printed an empty level: $(grep '^level' "$TMP/plain" | head -n 2)"
    left=$(sed -n 's/^(\([0-9]*\) more lines* at zero.*stats --all shows them)$/\1/p' "$TMP/plain")
    [ -n "$left" ] && [ "$left" -gt 0 ] || fail "stats: no last line saying what it left out: $(tail -n 1 "$TMP/plain")"
    kv "$DB" stats --all
    expect_status 0
    grep -q '^session\.get\.latency_us: count=0,' "$TMP/out" || fail "stats --all: no empty get histogram"
    # (Names, not lines: a time such as open.ms differs from one process to the next.)
    sed 's/: .*//' "$TMP/out" >"$TMP/all.names"
    sed '$d; s/: .*//' "$TMP/plain" | grep -vxFf "$TMP/all.names" >"$TMP/missing"
    [ ! -s "$TMP/missing" ] || fail "stats printed lines stats --all lacks: $(head -n 2 "$TMP/missing")"
    [ "$(($(wc -l <"$TMP/plain") - 1 + ${left:-0}))" = "$(wc -l <"$TMP/out")" ] ||
        fail "stats: $(wc -l <"$TMP/plain") lines and $left left out; stats --all: $(wc -l <"$TMP/out")"
    printf 'get c\nstats\n' >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    grep -q '^session\.get\.latency_us: count=1,' "$TMP/out" || fail "a get, then stats: no get counted"
    kv "$DB" stats --zeros
    expect_status 2
    expect_err_has "the one option is --all"
}

# A Raft member's directory (stage 10: M/raft, M/replica/REPLICA naming
# the live engine, M/replica/data-a or data-b): get, scan, stats, export,
# inspect and draw given M (or M/replica) read the live engine and say
# which; a write, check and standard-input mode are refused, naming it; a
# REPLICA that names no engine is refused.  Built here by hand, so that
# every stage's kv runs it.
member_dir_reads_the_live_engine() {
    m=$DB.member
    mkdir -p "$m/raft" "$m/replica"
    kv "$m/replica/data-b" put a 1
    expect_status 0
    printf 'data-b\n' >"$m/replica/REPLICA"
    kv "$m" get a
    expect_status 0
    expect_out 1
    expect_err_has "reading its engine, $m/replica/data-b (the live one"
    kv "$m/replica" scan
    expect_status 0
    expect_out "$(printf 'a\t1')"
    kv "$m" draw "$DB.m.svg"
    expect_status 0
    [ -s "$DB.m.svg" ] || fail "draw of a member's directory drew nothing"
    for cmd in "put a 2" "check"; do
        # shellcheck disable=SC2086 # the command's words
        kv "$m" $cmd
        expect_status 2
        expect_err_has "member of a Raft group: its engine, $m/replica/data-b"
    done
    IN=/dev/null
    kv "$m"
    IN=
    expect_status 2
    kv "$m/replica/data-b" get a
    expect_out 1
    printf 'data-c\n' >"$m/replica/REPLICA"
    kv "$m" get a
    expect_status 2
    expect_err_has "not the one line \"data-a\" or \"data-b\""
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

# What repair cannot mend it refuses, with exit 2 and a message, changing
# nothing: a damaged IDENTITY (which stage wrote the files is unknown).
repair_refuses_what_it_cannot_mend() {
    load_40_keys
    printf 'X' | dd of="$DB/IDENTITY" bs=1 seek=3 conv=notrunc 2>/dev/null
    before=$(ls -l "$DB" | sort)
    kv "$DB" repair
    expect_status 2
    expect_err_has "^kv: "
    [ "$(ls -l "$DB" | sort)" = "$before" ] || fail "repair changed the directory: $(ls "$DB")"
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

# --- standard-input grammar, batch, --sync, dump --frames --------------------

stdin_mode_quotes_and_escapes() {
    cat >"$TMP/in" <<'EOF'
put "a b" c
put k ""
put 'q"q' 1
put e\x00f v\\w
put tab\tkey "x\ny"
put "split"' 'word 2
scan
EOF
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    expect_err_empty
    expect_out "$(printf '%s\n' 'a b	c' 'e\x00f	v\x5cw' 'k	' 'q\x22q	1' 'split word	2' \
        'tab\x09key	x\x0ay')"
    kv "$DB" get k
    [ "$(wc -c <"$TMP/out")" -eq 1 ] || fail "put k \"\" did not store an empty value"
}

stdin_mode_scan_output_reads_back() {
    kv -x "$DB" put 5c00ff0a "7461620922"
    kv "$DB" scan
    line=$(cat "$TMP/out")
    key=${line%%	*}
    val=${line#*	}
    printf 'del "%s"\nput "%s" "%s"\nget "%s"\n' "$key" "$key" "$val" "$key" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    printf 'tab\t"\n' >"$DB.want"
    cmp -s "$TMP/out" "$DB.want" || fail "escaped scan output did not read back: $(od -c "$TMP/out")"
}

stdin_mode_errors_name_the_line() {
    printf '%s\n' "put a 1" "# comment" "bogus" 'get "unclosed' 'put k \q' "put b 2" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 2
    expect_err_has "^kv: line 3: unknown command 'bogus'"
    expect_err_has "^kv: line 4: column 5: no closing"
    expect_err_has "^kv: line 5: column 7: unknown escape"
    kv "$DB" get b
    expect_out 2
}

batch_applies_puts_and_deletes() {
    kv "$DB" put c 3
    kv "$DB" batch put a 1 put b 2 del c put a 11
    expect_status 0
    expect_err_empty
    kv "$DB" scan
    expect_out "$(printf 'a\t11\nb\t2')"
    printf '%s\n' 'batch put "k 1" "" del a' "scan" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    expect_out "$(printf 'b\t2\nk 1\t')"
}

batch_with_a_bad_op_writes_nothing() {
    kv "$DB" put keep 1
    kv "$DB" batch put x 1 put "" 2
    expect_status 2
    expect_err_has "key is empty"
    kv "$DB" batch put x 1 frob y
    expect_status 2
    expect_err_has "word 4 is 'frob', want put or del"
    kv "$DB" batch put x 1 put y
    expect_status 2
    expect_err_has "put at word 4 needs a KEY and a VALUE"
    kv "$DB" batch del x put
    expect_status 2
    kv "$DB" scan
    expect_out "$(printf 'keep\t1')"
}

# With --sync a stage that reports fsyncs (a "session.wal.syncs" statistic) must
# have made at least one for the put; without it, none.
sync_option_syncs_writes() {
    printf '%s\n' "put a 1" "stats --all" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    without=$(sed -n 's/^session\.wal\.syncs: //p' "$TMP/out")
    kv_stdin "$TMP/in" --sync "$DB"
    expect_status 0
    with=$(sed -n 's/^session\.wal\.syncs: //p' "$TMP/out")
    if [ -n "$with" ]; then
        [ "$with" -gt 0 ] || fail "--sync: session.wal.syncs is $with"
        [ "$without" = 0 ] || fail "without --sync: session.wal.syncs is $without"
    fi
    kv --sync "$DB" put b 2
    expect_status 0
    kv "$DB" get b
    expect_out 2
}

# dump --frames only adds lines to dump (but for the "# FILE: ..." header
# lines, which say what the lines are); for a log in blocks (stage 03 on)
# a value longer than a block shows as a FIRST and a LAST fragment.
dump_frames_option() {
    load_abcde
    kv "$DB" put big "$(head -c 40000 /dev/zero | tr '\0' x)"
    kv "$DB" dump
    expect_status 0
    cp "$TMP/out" "$TMP/dump"
    kv "$DB" dump --frames
    expect_status 0
    missing=$(grep -v '^#' "$TMP/dump" | grep -v -x -F -f "$TMP/out" | head -n 1)
    [ -z "$missing" ] || fail "dump --frames lacks a line of dump: $missing"
    if grep -q "byte blocks" "$TMP/dump"; then
        grep -q " FIRST " "$TMP/out" || fail "no FIRST fragment: $(head -c 300 "$TMP/out")"
        grep -q " LAST " "$TMP/out" || fail "no LAST fragment"
    fi
    kv "$DB" dump --bogus
    expect_status 2
    expect_err_has "--frames"
}

# --- read-only opens -----------------------------------------------------------

missing_dir_is_no_database_to_read_or_check() {
    for cmd in "get a" "scan" "stats" "export $DB.x.kvx" "check" "dump" "repair" "compact"; do
        kv "$DB" $cmd
        expect_status 2
        expect_err_has "no database at $DB"
        if grep -q "read_only" "$TMP/err"; then fail "$cmd: mentions read_only: $(cat "$TMP/err")"; fi
    done
    [ ! -e "$DB" ] || fail "a read created $DB"
}

# kv_open refuses a directory that is not a database and leaves it exactly
# as it was: no LOCK, no IDENTITY, nothing.
refused_directory_is_left_as_found() {
    mkdir -p "$DB" && echo "not a database" >"$DB/readme.txt"
    before=$(ls -a "$DB")
    for cmd in "put a b" "get a" "stats" "compact"; do
        kv "$DB" $cmd
        expect_status 2
        [ "$(ls -a "$DB")" = "$before" ] || fail "$cmd left: $(ls "$DB" | tr '\n' ' ')"
    done
    printf 'put a b\n' >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 2
    [ "$(ls -a "$DB")" = "$before" ] || fail "standard input left: $(ls "$DB" | tr '\n' ' ')"
}

# Only a write creates a database: from standard input too, a read of a
# directory that does not exist is an error and creates nothing; a put does.
stdin_read_of_missing_dir_creates_nothing() {
    for cmd in "get a" "scan" "stats" "compact"; do
        printf '%s\n' "$cmd" >"$TMP/in"
        kv_stdin "$TMP/in" "$DB"
        expect_status 2
        expect_err_has "no database at $DB"
        [ ! -e "$DB" ] || { fail "'$cmd' from standard input created $DB"; rm -rf "$DB"; }
    done
    printf 'put a 1\nget a\n' >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    expect_out 1
}

# A command's name where DIR goes (`kv get`, `kv stats DIR`) gets a note on
# the order of the words, and creates nothing.
command_name_as_dir_gets_order_note() {
    mkdir -p "$DB" && cd "$DB" || { fail "cd $DB"; return; }
    printf 'stats\n' >"$TMP/in"
    kv_stdin "$TMP/in" get
    expect_status 2
    expect_err_has "the order is kv \[OPTIONS\] DIR COMMAND"
    [ ! -e get ] || fail "'echo stats | kv get' created a database named get"
    kv stats "$DB"
    expect_status 2
    expect_err_has "unknown command"
    expect_err_has "'stats' is the name of a command"
    kv "$DB" frobnicate
    if grep -q "the order is" "$TMP/err"; then fail "a note for a DIR that is no command"; fi
    cd - >/dev/null || true
}

# The largest file of $DB other than IDENTITY, LOCK and STATS: the data file.
data_file() {
    ls -S "$DB" | grep -v -e '^IDENTITY' -e '^LOCK$' -e '^STATS$' | head -n 1
}

read_only_notes_torn_tail_left_in_place() {
    printf '%s\n' "put a 1" "put b 2" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    f=$DB/$(data_file)
    truncate -s -3 "$f"
    size=$(wc -c <"$f")
    kv "$DB" get a
    expect_status 0
    expect_out 1
    expect_err_has "note: .*torn tail of [0-9]* bytes.*read-only.*next write"
    [ "$(wc -c <"$f")" = "$size" ] || fail "a read-only get changed $f"
    kv "$DB" put c 3
    expect_status 0
    kv "$DB" get a
    expect_err_empty
}

# --- compact, fillsync ---------------------------------------------------------

compact_says_what_it_did() {
    load_abcde
    kv "$DB" put a 11
    kv "$DB" compact
    expect_status 0
    grep -q "^compact: .* bytes* in [0-9]* files* before, [0-9]* bytes* in [0-9]* files* after" \
        "$TMP/out" || fail "compact printed: '$(cat "$TMP/out")'"
    if grep -q -E "(^|[^0-9])1 (bytes|files)" "$TMP/out"; then
        fail "plural of 1: $(cat "$TMP/out")"
    fi
}

fillsync_help() {
    fs=$(dirname "$KV")/fillsync
    [ -x "$fs" ] || return 0 # not built here
    "$fs" --help >"$TMP/out" 2>"$TMP/err"
    st=$?
    expect_status 0
    grep -q "usage: fillsync" "$TMP/out" || fail "fillsync --help printed no usage"
    "$fs" --bogus >"$TMP/out" 2>"$TMP/err"
    st=$?
    expect_status 2
}

# Every program built beside this kv (build/S/*, and build/bench/* when
# this is a release build) answers --help and -h with its usage on stdout,
# nothing on stderr, and exit 0, at once (a program that ran its workload
# instead would be stopped by the timeout).
every_binary_answers_help() {
    here=$(dirname "$KV")
    for bin in "$here"/* "$here"/../bench/*; do
        [ -f "$bin" ] && [ -x "$bin" ] || continue
        for flag in --help -h; do
            timeout 20 "$bin" $flag >"$TMP/out" 2>"$TMP/err"
            st=$?
            name="$(basename "$(dirname "$bin")")/$(basename "$bin") $flag"
            [ "$st" = 0 ] || fail "$name: exit $st ($(head -c 200 "$TMP/err"))"
            grep -q -i "usage" "$TMP/out" || fail "$name: no usage on stdout"
            [ ! -s "$TMP/err" ] || fail "$name: stderr: $(head -c 200 "$TMP/err")"
        done
    done
    # kv's own commands that take options: kv DIR serve.
    for flag in --help -h; do
        timeout 20 "$KV" "$TMP/not-made" serve $flag >"$TMP/out" 2>"$TMP/err"
        st=$?
        [ "$st" = 0 ] || fail "kv DIR serve $flag: exit $st ($(head -c 200 "$TMP/err"))"
        grep -q -i "usage" "$TMP/out" || fail "kv DIR serve $flag: no usage on stdout"
        [ ! -e "$TMP/not-made" ] || fail "kv DIR serve $flag made a database"
    done
}

# crashtest's line of background work names only what the stage's kv_stats
# has: no manifest roll-overs where there is no manifest, no line at all
# before stage 04.
crashtest_names_only_the_stage_work() {
    ct=$(dirname "$KV")/crashtest
    [ -x "$ct" ] || return 0 # not built here
    "$ct" --power --sync0 --ops 40 --at 1 >"$TMP/ct" 2>&1 || fail "crashtest failed: $(tail -3 "$TMP/ct")"
    kv "$DB" put a 1
    kv "$DB" stats --all
    for pair in "session.manifest.rolls:manifest roll-over" "flush.count:flush" \
        "session.compact.files_deleted:obsolete table" \
        "session.values.gc_jobs:value-log collection"; do
        stat=${pair%%:*} words=${pair#*:}
        if grep -q "^$stat:" "$TMP/out"; then
            grep -q "background work.*$words" "$TMP/ct" || fail "crashtest does not count $words"
        elif grep -q "background work.*$words" "$TMP/ct"; then
            fail "crashtest counts ${words}s, which kv_stats does not have: $(grep background "$TMP/ct")"
        fi
    done
}

# --- export and import -----------------------------------------------------------

# Every stage's kv next to this one (build/*/kv), in stage order; this one
# alone, twice, if there are none.
stage_kvs() {
    found=
    for k in "$(dirname "$KV")"/../*/kv; do
        [ -x "$k" ] && found="$found $k"
    done
    echo "${found:-$KV $KV}"
}

# Keys and values with NUL bytes, empty values and a 1 MiB value, exported
# by each stage in turn and imported by the next (01 -> 02 -> 03): every
# stage's export is the same bytes, and the last database holds the data.
export_import_across_stages() {
    head -c 1048576 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$DB.big.hex"
    {
        echo "hex on"
        echo 'put 00 ""'
        echo "put 00ff00 ff000aff00"
        echo 'put 6b ""'
        printf 'put 626967 '
        cat "$DB.big.hex"
        echo
        echo "put 7a 00"
        echo "put 7a00 7a"
    } >"$DB.load"
    i=0
    prev=
    for k in $(stage_kvs); do
        i=$((i + 1))
        d=$DB.x$i
        if [ -z "$prev" ]; then
            "$k" "$d" <"$DB.load" >/dev/null 2>"$TMP/err" || fail "load: $(cat "$TMP/err")"
        else
            "$k" "$d" import "$prev" >"$TMP/out" 2>"$TMP/err" ||
                fail "$k import: $(cat "$TMP/err")"
            grep -q "^imported 6 records (2 batches) from $prev into $d$" "$TMP/out" ||
                fail "$k import said: $(cat "$TMP/out")"
        fi
        "$k" "$d" export "$DB.s$i" >"$TMP/out" 2>"$TMP/err" || fail "$k export: $(cat "$TMP/err")"
        grep -q "^exported 6 records (2 chunks, [0-9]* bytes) from $d to $DB.s$i$" \
            "$TMP/out" || fail "$k export said: $(cat "$TMP/out")"
        if [ -n "$prev" ]; then
            cmp -s "$prev" "$DB.s$i" || fail "$k exports other bytes than it imported"
        fi
        prev=$DB.s$i
    done
    kv_bin "$k" -x "$DB.x$i" scan 00 626967
    expect_out "$(printf '00\t\n00ff00\tff000aff00')"
    kv_bin "$k" -x "$DB.x$i" scan 6b
    expect_out "$(printf '6b\t\n7a\t00\n7a00\t7a')"
    kv_bin "$k" -x "$DB.x$i" get 626967
    expect_status 0
    [ "$(cat "$TMP/out")" = "$(cat "$DB.big.hex")" ] || fail "the 1 MiB value differs"
}

export_to_stdout_import_from_stdin() {
    load_abcde
    "$KV" "$DB" export >"$DB.s" 2>"$TMP/err" || fail "export to stdout: $(cat "$TMP/err")"
    kv_stdin "$DB.s" "$DB.new" import
    expect_status 0
    expect_out "imported 5 records (1 batch) from standard input into $DB.new"
    kv "$DB.new" scan
    expect_out "$(printf 'a\t1\nb\t2\nc\t3\nd\t4\ne\t5')"
    kv "$DB" export "$DB.one"
    kv "$DB" del a
    printf '%s\n' "export $DB.s2" "import $DB.one" "get a" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    expect_status 0
    grep -q "^exported 4 records (1 chunk, " "$TMP/out" || fail "stdin export: $(cat "$TMP/out")"
    tail -n 1 "$TMP/out" | grep -qx 1 || fail "get after stdin import: $(tail -n 1 "$TMP/out")"
}

import_into_non_empty_db_keeps_other_keys() {
    kv "$DB" batch put a 1 put b 2
    kv "$DB" export "$DB.s"
    kv "$DB.other" batch put b old put z 26
    kv "$DB.other" import "$DB.s"
    expect_status 0
    grep -q "already held keys" "$TMP/out" || fail "no word on the keys already there"
    kv "$DB.other" scan
    expect_out "$(printf 'a\t1\nb\t2\nz\t26')"
}

# A stream whose second chunk is cut short: the first chunk is imported
# whole (one atomic batch), nothing of the second, and the message names
# the offset of the chunk that was cut.
import_cut_short_keeps_whole_chunks() {
    {
        echo "hex on"
        echo "put 61 31"
        printf 'put 6d '
        head -c 1048576 /dev/zero | od -An -v -tx1 | tr -d ' \n'
        echo
        echo "put 7a 32"
    } >"$DB.load"
    kv_stdin "$DB.load" "$DB"
    kv "$DB" export "$DB.s"
    grep -q "(2 chunks," "$TMP/out" || fail "want 2 chunks: $(cat "$TMP/out")"
    size=$(wc -c <"$DB.s")
    # The last 48 bytes are chunk 2 (17 + 10-byte body + 4) and the end (17).
    head -c $((size - 22)) "$DB.s" >"$DB.cut"
    kv "$DB.new" import "$DB.cut"
    expect_status 2
    expect_err_has "offset $((size - 48)): .*cut short; the 2 records of the 1 chunk before it were imported"
    kv "$DB.new" scan a b
    expect_out "$(printf 'a\t1')"
    kv "$DB.new" get z
    expect_status 1
    head -c $((size - 5)) "$DB.s" >"$DB.cut"
    kv "$DB.new2" import "$DB.cut"
    expect_status 2
    expect_err_has "offset $((size - 17)): .*cut short"
    kv "$DB.new2" get z
    expect_status 0
}

import_refuses_damaged_stream_with_offset() {
    load_abcde
    kv "$DB" export "$DB.s"
    # Flip a byte inside the only chunk's body (header 16 + chunk header 17).
    off=40
    old=$(od -An -tu1 -j $off -N 1 "$DB.s" | tr -d ' ')
    cp "$DB.s" "$DB.bad"
    printf '%b' "\\0$(printf %o $((old ^ 1)))" |
        dd of="$DB.bad" bs=1 seek=$off count=1 conv=notrunc 2>/dev/null
    kv "$DB.new" import "$DB.bad"
    expect_status 2
    expect_err_has "offset 33: the [0-9]*-byte chunk body starting here does not match its checksum"
    expect_err_has "nothing was imported"
    kv "$DB.new" scan
    expect_out ""
    printf 'x' >>"$DB.s"
    kv "$DB.new" import "$DB.s"
    expect_status 2
    expect_err_has "bytes after the end chunk"
}

import_of_other_file_creates_nothing() {
    load_abcde
    kv "$DB.new" import "$DB/IDENTITY"
    expect_status 2
    expect_err_has "offset 0: no export stream starts here"
    kv "$DB.new" import "$DB.missing"
    expect_status 2
    [ ! -e "$DB.new" ] || fail "a failed import created the database directory"
}

# Another stage's database is refused, and the two commands the message
# names (build/S/kv DIR export FILE, then build/T/kv NEWDIR import FILE)
# carry it across.
refusal_names_export_and_import_that_work() {
    other=
    for k in $(stage_kvs); do
        [ "$(cd "$(dirname "$k")" && pwd)" = "$(cd "$(dirname "$KV")" && pwd)" ] || other=$k
    done
    [ -n "$other" ] || return 0 # no other stage built next to this one
    kv_bin "$other" "$DB" batch put a 1 put b ""
    kv "$DB" put c 3
    expect_status 2
    msg=$(cat "$TMP/err")
    cmds=$(printf '%s\n' "$msg" |
        sed -n 's|.*build/\([^/ ]*\)/kv \(.*\) export FILE, then build/\([^/ ]*\)/kv NEWDIR import FILE$|\1 \2 \3|p')
    [ -n "$cmds" ] || { fail "no export/import commands in: $msg"; return; }
    set -- $cmds
    [ "$2" = "$DB" ] || fail "the message names $2, not $DB"
    root=$(dirname "$KV")/..
    kv_bin "$root/$1/kv" "$2" export "$DB.kvx"
    expect_status 0
    kv_bin "$root/$3/kv" "$DB.new" import "$DB.kvx"
    expect_status 0
    kv "$DB.new" scan
    expect_out "$(printf 'a\t1\nb\t')"
}

# A torn tail: check names it, says what the next read-write open will do
# and exits 3; after a write has cut it, check exits 0.
check_exits_3_when_next_open_cuts_a_torn_tail() {
    printf '%s\n' "put a 1" "put b 2" >"$TMP/in"
    kv_stdin "$TMP/in" "$DB"
    truncate -s -3 "$DB/$(data_file)"
    kv "$DB" check
    expect_status 3
    grep -q "torn tail" "$TMP/out" || fail "check named no torn tail: $(cat "$TMP/out")"
    # The count is of whole records behind the tear, and says so: the write
    # cut short is lost with its bytes.
    grep -q "the last write, cut short; intact records after the tear: [0-9]" "$TMP/out" ||
        fail "the torn tail's line does not say what it counts: $(cat "$TMP/out")"
    if grep -q "records lost" "$TMP/out"; then fail "check says 'records lost'"; fi
    expect_err_has "exit 3: .*next read-write open cuts off the torn tail"
    kv "$DB" put c 3
    expect_status 0
    kv "$DB" check
    expect_status 0
    kv "$DB" get a
    expect_out 1
}

# --- small-scale knobs, flush and draw ------------------------------------------

# The number the stage's name starts with: 4 for "04-lsm".
stage_number() {
    "$KV" --help 2>/dev/null | sed -n 's/.*with the engine of stage \([0-9][0-9]\)-.*/\1/p' |
        head -n 1 | sed 's/^0//'
}

# N puts of keys key0000.. with values of about 40 bytes, into $DB.puts.
make_puts() {
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
        printf "put key%04d value-%d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", (i * 37) % n, i }' >"$DB.puts"
}

# The number on `kv DB stats --all`'s line "NAME: N" (empty if there is none).
stat_of() {
    "$KV" "$DB" stats --all 2>/dev/null | sed -n "s/^$1: \([0-9]*\).*/\1/p" | head -n 1
}

# A knob a stage has changes what it writes: small memtables make several
# tables (04 on), small segments several segments (02, 03); stage 01 has
# no knob.  A knob a stage lacks is refused, exit 2, naming the stage that
# has the idea, and nothing is created.
knobs_shape_the_files() {
    sn=$(stage_number)
    [ -n "$sn" ] || { fail "no stage in kv --help"; return; }
    make_puts 300
    if [ "$sn" -ge 4 ]; then
        kv_stdin "$DB.puts" --memtable-bytes 2k "$DB"
        expect_status 0
        # (Flushes, not tables: from stage 06 on, compactions merge tables
        # as the background thread finds the time, so how many are left at
        # the end depends on the machine's speed.)
        count=$(stat_of flush.count)
        [ "${count:-0}" -ge 3 ] || fail "--memtable-bytes 2k, 300 puts: $count flushes, want >= 3"
        kv --segment-bytes 4k "$DB.seg" put a b
        expect_status 2
        expect_err_has "has no log segments"
        kv --segment-bytes 4k "$DB.srv" serve
        expect_status 2
        expect_err_has "has no log segments"
        [ ! -e "$DB.srv" ] || fail "a refused serve created $DB.srv"
        kv "$DB.srv" serve --port 0 --segment-bytes=4k
        expect_status 2
        expect_err_has "has no log segments"
        [ ! -e "$DB.srv" ] || fail "a refused serve created $DB.srv"
        # serve takes the knobs as every command does, their size forms too.
        printf '*2\r\n$4\r\nINFO\r\n$6\r\nengine\r\n' >"$DB.resp"
        cat "$DB.resp" | "$KV" "$DB.srv" serve --stdio --memtable-bytes 256k >"$TMP/out" 2>"$TMP/err"
        st=$?
        expect_status 0
        grep -aq 'memtable.limit_bytes:262144' "$TMP/out" ||
            fail "serve --memtable-bytes 256k: INFO engine says $(grep -a memtable.limit "$TMP/out")"
    elif [ "$sn" -ge 2 ]; then
        kv_stdin "$DB.puts" --segment-bytes 4k "$DB"
        expect_status 0
        count=$(stat_of segments.count)
        [ "${count:-0}" -ge 3 ] || fail "--segment-bytes 4k, 300 puts: $count segments, want >= 3"
    fi
    if [ "$sn" -lt 4 ]; then
        kv --memtable-bytes 4k "$DB.mem" put a b
        expect_status 2
        expect_err_has "has no memtable (stage 04 on)"
        [ ! -e "$DB.mem" ] || fail "a refused knob created $DB.mem"
    fi
    if [ "$sn" -lt 6 ]; then
        kv --level-ratio 4 "$DB.lvl" put a b
        expect_status 2
        expect_err_has "has no levels"
    else
        kv --level-ratio 4 --l1-bytes 16k --table-bytes 4k "$DB" put a b
        expect_status 0
    fi
    if [ "$sn" -ge 5 ]; then
        kv --block-bytes 8 "$DB" put a b
        expect_status 2
        expect_err_has "block_bytes = 8 is out of range"
        kv --bloom-bits none --block-bytes=256 "$DB" put a b
        expect_status 0
        # --map-tables no (kv_options.map_tables = KV_NO_MAP): a get reads
        # its table without mapping it; by default the file is mapped.
        printf 'get key0005\nstats --all\n' >"$DB.mapget"
        kv_stdin "$DB.mapget" --map-tables no "$DB"
        expect_status 0
        grep -q '^table_cache.mapped_bytes: 0$' "$TMP/out" ||
            fail "--map-tables no: $(grep mapped_bytes "$TMP/out")"
        grep -q '^value-' "$TMP/out" || fail "--map-tables no: get key0005 found nothing"
        kv_stdin "$DB.mapget" "$DB"
        expect_status 0
        grep -q '^table_cache.mapped_bytes: [1-9]' "$TMP/out" ||
            fail "tables mapped by default: $(grep mapped_bytes "$TMP/out")"
        # --map-bytes (kv_options.map_bytes): a budget smaller than the
        # table leaves it unmapped, read with positioned reads.
        kv_stdin "$DB.mapget" --map-bytes 1 "$DB"
        expect_status 0
        grep -q '^table_cache.mapped_bytes: 0$' "$TMP/out" ||
            fail "--map-bytes 1: $(grep mapped_bytes "$TMP/out")"
        grep -q '^session.table_cache.opened_unmapped: [1-9]' "$TMP/out" ||
            fail "--map-bytes 1: no file left unmapped: $(grep unmapped "$TMP/out")"
        grep -q '^value-' "$TMP/out" || fail "--map-bytes 1: get key0005 found nothing"
        kv --map-tables maybe "$DB" put a b
        expect_status 2
        expect_err_has "want yes or no"
    else
        kv --map-tables no "$DB.map" put a b
        expect_status 2
        expect_err_has "has no table files to map"
        [ ! -e "$DB.map" ] || fail "a refused knob created $DB.map"
    fi
    # The rate limiter (stage 09 on): its limit in kv_stats, and every
    # byte of the compaction's tables asked of it; refused before.
    if [ "$sn" -ge 9 ]; then
        kv --background-bytes-per-sec 1m "$DB" stats >"$TMP/out"
        expect_status 0
        grep -q '^rate_limiter.bytes_per_second: 1048576$' "$TMP/out" ||
            fail "--background-bytes-per-sec 1m: $(grep rate_limiter "$TMP/out")"
        kv --background-bytes-per-sec 1m "$DB" compact >/dev/null
        expect_status 0
    else
        kv --background-bytes-per-sec 1m "$DB.rl" put a b
        expect_status 2
        expect_err_has "does not pace its background writes"
        [ ! -e "$DB.rl" ] || fail "a refused knob created $DB.rl"
    fi
    # Tables of partitions (stage 09 on): kv dump says which version the
    # new table is, with --partitions yes and no (the default); refused
    # before.
    if [ "$sn" -ge 9 ]; then
        for p in yes no; do
            printf 'put a 1\nput b 2\nflush\n' >"$DB.pput"
            kv_stdin "$DB.pput" --partitions $p "$DB.parts-$p"
            expect_status 0
            kv "$DB.parts-$p" dump >"$TMP/out"
            expect_status 0
            if [ $p = yes ]; then
                grep -q ': table v2 version 2, ' "$TMP/out" ||
                    fail "--partitions yes: $(grep 'table v2' "$TMP/out")"
            else
                grep -q ': table v2, ' "$TMP/out" ||
                    fail "--partitions no: $(grep 'table v2' "$TMP/out")"
            fi
            kv "$DB.parts-$p" get b >"$TMP/out"
            expect_status 0
        done
        kv --partitions sometimes "$DB" put a b
        expect_status 2
        expect_err_has "want yes or no"
    else
        kv --partitions no "$DB.tp" put a b
        expect_status 2
        expect_err_has "has no tables of partitions"
        [ ! -e "$DB.tp" ] || fail "a refused knob created $DB.tp"
    fi
    kv --memtable-bytes 0 "$DB.zero" put a b
    expect_status 2
    kv --memtable-bytes "$DB.none"
    expect_status 2
}

# --io (every stage's knob) and the environment variable KV_IO choose the
# I/O backend (docs/io.md); KV_IO replaces the knob, so posix works even
# where the kernel refuses io_uring; kv stats says which one ran, and why.
# A value that is none is refused before anything is created.
io_knob_and_env_choose_the_backend() {
    kv --io posix "$DB" put a b
    expect_status 0
    kv --io=auto "$DB" get a
    expect_status 0
    expect_out "b"
    KV_IO=posix
    export KV_IO
    kv --io uring "$DB" get a
    unset KV_IO
    expect_status 0
    expect_out "b"
    # kv stats says which backend the database opened with, and why.
    env -u KV_IO "$KV" --io posix "$DB" stats >"$TMP/out" 2>"$TMP/err"
    st=$?
    expect_status 0
    grep -qx 'io.backend: posix (asked: kv_options.io)' "$TMP/out" ||
        fail "kv --io posix stats: no 'io.backend: posix (asked: kv_options.io)' line"
    KV_IO=posix "$KV" --io uring "$DB" stats >"$TMP/out" 2>"$TMP/err"
    st=$?
    expect_status 0
    grep -qx 'io.backend: posix (asked: KV_IO=posix)' "$TMP/out" ||
        fail "KV_IO=posix kv stats: no 'io.backend: posix (asked: KV_IO=posix)' line"
    kv --io fast "$DB.knob" put a b
    expect_status 2
    expect_err_has "want auto, posix or uring"
    [ ! -e "$DB.knob" ] || fail "a refused --io created $DB.knob"
    KV_IO=fast
    export KV_IO
    kv "$DB.env" put a b
    unset KV_IO
    [ "$st" != 0 ] || fail "KV_IO=fast was taken"
    expect_err_has "KV_IO is 'fast'"
    [ ! -e "$DB.env" ] || fail "a refused KV_IO created $DB.env"
}

# flush: on 04 on, the memtable's entries become a table (memtable.entries
# goes to 0, tables.count up by one); before 04 there is nothing to flush,
# and flush says so and succeeds.
flush_writes_the_memtable() {
    sn=$(stage_number)
    make_puts 20
    kv_stdin "$DB.puts" "$DB"
    expect_status 0
    if [ "$sn" -ge 4 ]; then
        before=$(stat_of tables.count)
        [ "$(stat_of memtable.entries)" -gt 0 ] 2>/dev/null ||
            fail "20 puts left no memtable entries to flush"
        kv "$DB" flush
        expect_status 0
        grep -q "^flush: the memtable's [0-9]* entries became a table: [0-9]* tables\? now$" \
            "$TMP/out" || fail "flush said: $(cat "$TMP/out")"
        [ "$(stat_of memtable.entries)" = 0 ] || fail "memtable.entries after flush: $(stat_of memtable.entries)"
        [ "$(stat_of tables.count)" -gt "${before:-0}" ] 2>/dev/null ||
            fail "tables.count $(stat_of tables.count) after flush, $before before"
        kv "$DB" flush
        expect_status 0
        expect_out "flush: the memtable is empty: no table written"
    else
        kv "$DB" flush
        expect_status 0
        grep -q "keeps nothing in memory that is not in its files" "$TMP/out" ||
            fail "flush said: $(cat "$TMP/out")"
    fi
    kv "$DB" get key0000
    expect_status 0
}

# Counts of the SVG file $1's elements by class, as "class count" lines.
svg_classes() {
    python3 -c '
import collections, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
if root.tag != "{http://www.w3.org/2000/svg}svg":
    sys.exit("the root element is %s, not svg" % root.tag)
c = collections.Counter(e.get("class") for e in root.iter() if e.get("class"))
for k, v in sorted(c.items()):
    print(k, v)
' "$1"
}

# The count of class $2 in svg_classes output file $1 (0 if none).
class_count() {
    count=$(sed -n "s/^$2 \([0-9]*\)$/\1/p" "$1")
    echo "${count:-0}"
}

# draw FILE.svg writes well-formed SVG (python3's XML parser reads it)
# whose parts match kv_stats: as many tables as tables.count (04 on),
# segments as segments.count (02, 03), records as log.records (01).  The
# database gets tables in every level-free way the stage has: small
# memtables, a flush, and (06 on) a compaction by small levels.
draw_matches_stats() {
    command -v python3 >/dev/null 2>&1 || { fail "python3 is needed to parse the SVG"; return; }
    sn=$(stage_number)
    make_puts 200
    case $sn in
    1) knobs= ;;
    2 | 3) knobs="--segment-bytes 2k" ;;
    4 | 5) knobs="--memtable-bytes 2k" ;;
    *) knobs="--memtable-bytes 2k --l1-bytes 4k --level-ratio 2 --table-bytes 2k" ;;
    esac
    # shellcheck disable=SC2086 # the knobs are words
    kv_stdin "$DB.puts" $knobs "$DB"
    expect_status 0
    kv "$DB" put extra 1
    kv "$DB" draw "$DB.svg"
    expect_status 0
    grep -q "^draw: $DB.svg: " "$TMP/out" || fail "draw said: $(cat "$TMP/out")"
    [ ! -e "$DB.svg.tmp" ] || fail "draw left $DB.svg.tmp"
    svg_classes "$DB.svg" >"$DB.classes" 2>"$TMP/err" || { fail "not well-formed: $(cat "$TMP/err")"; return; }
    case $sn in
    1) want=$(stat_of log.records) got=$(class_count "$DB.classes" record) what=records ;;
    2 | 3) want=$(stat_of segments.count) got=$(class_count "$DB.classes" segment) what=segments ;;
    *) want=$(stat_of tables.count) got=$(class_count "$DB.classes" table) what=tables ;;
    esac
    [ -n "$want" ] && [ "$want" -gt 1 ] || fail "kv_stats counts $want $what: want more than 1"
    [ "$got" = "$want" ] || fail "the picture has $got $what, kv_stats $want"
    if [ "$sn" -ge 4 ]; then
        [ "$(class_count "$DB.classes" memtable)" -ge 1 ] || fail "no memtable drawn"
    fi
    if [ "$sn" -ge 6 ]; then
        lv=$("$KV" "$DB" stats | awk '/^level\.[0-9]:/ && $2 > 0 { n++ } END { print n + 0 }')
        [ "$(class_count "$DB.classes" level)" -ge "$lv" ] ||
            fail "$lv levels hold tables, $(class_count "$DB.classes" level) drawn"
    fi
    # The value log (08 on) has a bar per file; no earlier stage draws one.
    vl=0
    [ "$sn" -lt 8 ] || vl=$(stat_of values.files)
    [ "$(class_count "$DB.classes" vlog)" = "$vl" ] ||
        fail "$(class_count "$DB.classes" vlog) value-log files drawn, want $vl"
}

# kv draw of $DB into $DB.$1.svg, checked against kv_stats and kv inspect's
# value-log lines (draw_shows_the_value_log); sets vl_files, vl_garbage and
# vl_collect (the files the collection would empty).
vlog_drawn() {
    kv "$DB" draw "$DB.$1.svg"
    expect_status 0
    said=$(cat "$TMP/out")
    svg_classes "$DB.$1.svg" >"$DB.classes" 2>"$TMP/err" ||
        { fail "$1: not well-formed: $(cat "$TMP/err")"; return; }
    "$KV" "$DB" inspect >"$DB.inspect"
    vl_files=$(stat_of values.files)
    vl_garbage=$(stat_of values.garbage_bytes)
    live=$(stat_of values.live_bytes)
    # The files to collect, those with garbage, those with live values.
    counts=$(awk '/^values / { for (i = 2; i <= NF; i++) if ($i ~ /^gc_percent=/) pc = substr($i, 12) }
        /^vlog / { v = 0; g = -1; l = 0; st = ""
            for (i = 2; i <= NF; i++) {
                split($i, f, "=")
                if (f[1] == "value_bytes") v = f[2]
                if (f[1] == "garbage") g = f[2]
                if (f[1] == "live") l = f[2]
                if (f[1] == "state") st = f[2]
            }
            if (st == "live" && g > 0 && g * 100 >= pc * v) c++
            if (g > 0) gf++
            if (l > 0) lf++ }
        END { print c + 0, gf + 0, lf + 0 }' "$DB.inspect")
    vl_collect=${counts%% *}
    with_garbage=$(echo "$counts" | cut -d' ' -f2)
    with_live=${counts##* }
    [ "$(class_count "$DB.classes" vlog)" = "$vl_files" ] ||
        fail "$1: $(class_count "$DB.classes" vlog) value-log files drawn, kv_stats values.files $vl_files"
    [ "$(class_count "$DB.classes" collect)" = "$vl_collect" ] ||
        fail "$1: $(class_count "$DB.classes" collect) files outlined to collect, kv inspect's lines make $vl_collect"
    [ "$(class_count "$DB.classes" garbage)" = "$with_garbage" ] ||
        fail "$1: $(class_count "$DB.classes" garbage) pieces of garbage drawn, $with_garbage files have garbage"
    [ "$(class_count "$DB.classes" live)" = "$with_live" ] ||
        fail "$1: $(class_count "$DB.classes" live) pieces of live values drawn, $with_live files have live values"
    echo "$said" | grep -q "value log $vl_files files* ([0-9]* drawn), [0-9]* bytes: live $live, garbage $vl_garbage; $vl_collect to collect" ||
        fail "$1: draw said '$said'; kv_stats: $vl_files files, live $live, garbage $vl_garbage; $vl_collect to collect"
    [ ! -e "$DB.$1.svg.tmp" ] || fail "$1: draw left $DB.$1.svg.tmp"
}

# Stage 08 on: draw shows the value log.  Values of 200 bytes over a
# value_threshold of 100, each key written three times, small memtables
# and levels: several value-log files, garbage where compactions dropped
# the older values.  The picture has a bar per file (values.files), the
# live and garbage bytes kv_stats counts, a piece of live values and one of
# garbage in each file that has them, and an orange outline on each file
# the collection would empty (counted here from kv inspect's vlog lines:
# at least gc_percent of its value bytes garbage).  kv compact runs the
# collection: fewer files are left, none to collect, drawn as such.
draw_shows_the_value_log() {
    sn=$(stage_number)
    [ "$sn" -ge 8 ] || return 0
    command -v python3 >/dev/null 2>&1 || { fail "python3 is needed to parse the SVG"; return; }
    awk 'BEGIN { v = ""; for (j = 0; j < 20; j++) v = v "abcdefghij"
        for (r = 1; r <= 3; r++) for (i = 0; i < 300; i++)
            printf "put key%04d %s-%d-%d\n", (i * 37) % 300, v, i, r }' >"$DB.puts"
    kv_stdin "$DB.puts" --value-threshold 100 --memtable-bytes 16k --l1-bytes 8k \
        --level-ratio 2 --table-bytes 4k "$DB"
    expect_status 0
    vlog_drawn "before compact"
    files=$vl_files
    if [ "$vl_files" -le 1 ] || [ "$vl_garbage" -eq 0 ] || [ "$vl_collect" -eq 0 ]; then
        fail "before compact: $vl_files files, $vl_garbage bytes of garbage, $vl_collect to collect: want more"
    fi
    kv "$DB" compact
    expect_status 0
    vlog_drawn "after compact"
    if [ "$vl_files" -ge "$files" ] || [ "$vl_collect" != 0 ]; then
        fail "compact left $vl_files of $files files, $vl_collect to collect"
    fi
}

# Stage 09 on: kv inspect has a "cache" line and draw shows the budget, its
# records and blocks and what is pinned, in the numbers kv_stats gives in
# the same session (puts, a flush, every key read twice, then draw and
# stats); an earlier stage has neither.  The table's blocks are lz4 whole
# (--compression lz4), so that its reads leave blocks in the block cache:
# stage 09's default blocks, values compressed one by one, are read where
# they lie in the mapping and cached nowhere.
draw_shows_the_cache() {
    command -v python3 >/dev/null 2>&1 || { fail "python3 is needed to parse the SVG"; return; }
    sn=$(stage_number)
    make_puts 200
    {
        cat "$DB.puts"
        [ "$sn" -lt 4 ] || echo flush
        for round in 1 2; do
            awk 'BEGIN { for (i = 0; i < 200; i++) printf "get key%04d\n", i }'
        done
        echo "draw $DB.c.svg"
        echo "inspect"
        echo "stats --all"
    } >"$DB.cmds"
    if [ "$sn" -lt 5 ]; then
        kv_stdin "$DB.cmds" "$DB"
    else
        kv_stdin "$DB.cmds" --compression lz4 "$DB"
    fi
    expect_status 0
    svg_classes "$DB.c.svg" >"$DB.classes" 2>"$TMP/err" || { fail "not well-formed: $(cat "$TMP/err")"; return; }
    said=$(grep "^draw: $DB.c.svg: " "$TMP/out")
    if [ "$sn" -lt 9 ]; then
        ! grep -q "^cache " "$TMP/out" || fail "stage $sn has a cache line: $(grep '^cache ' "$TMP/out")"
        [ "$(class_count "$DB.classes" cache-records)" = 0 ] || fail "stage $sn drew a record cache"
        return
    fi
    st() { sed -n "s/^$1: \([0-9]*\)$/\1/p" "$TMP/out" | head -n 1; }
    records=$(st session.record_cache.entries) rbytes=$(st session.record_cache.usage)
    rcap=$(st session.record_cache.capacity) blocks=$(st block_cache.entries)
    bbytes=$(st block_cache.usage) bcap=$(st block_cache.capacity) pinned=$(st table.meta_bytes)
    [ -n "$records" ] && [ "$records" -gt 0 ] || fail "kv_stats holds $records records: want some"
    [ -n "$blocks" ] && [ "$blocks" -gt 0 ] || fail "kv_stats holds $blocks blocks: want some"
    want="cache $((rcap + bcap)) bytes: records $records ($rbytes of $rcap bytes), blocks $blocks ($bbytes of $bcap bytes), pinned $pinned bytes"
    echo "$said" | grep -qF "$want" || fail "draw said '$said'; kv_stats: '$want'"
    grep -q "^cache budget=$((rcap + bcap)) record_budget=$rcap record_bytes=$rbytes records=$records " "$TMP/out" ||
        fail "inspect's cache line: '$(grep '^cache ' "$TMP/out")'; kv_stats: $records records, $rbytes of $rcap bytes"
    mapped=$(st table_cache.mapped_bytes)
    [ -n "$mapped" ] && [ "$mapped" -gt 0 ] || fail "kv_stats maps $mapped bytes of tables: want some"
    grep -q "^cache .* pinned_bytes=$pinned tables=[0-9]* mapped_bytes=$mapped$" "$TMP/out" ||
        fail "inspect's cache line: '$(grep '^cache ' "$TMP/out")'; kv_stats: $pinned pinned, $mapped mapped"
    for c in cache-records cache-blocks pinned; do
        [ "$(class_count "$DB.classes" $c)" = 1 ] || fail "$(class_count "$DB.classes" $c) $c drawn, want 1"
    done
}

# draw to a directory that does not exist fails with exit 2 and leaves no
# file; draw of a directory with no database creates nothing.
draw_failures_leave_nothing() {
    kv "$DB" put a 1
    kv "$DB" draw "$DB.nodir/x.svg"
    expect_status 2
    expect_err_has "draw: cannot create"
    [ ! -e "$DB.nodir" ] || fail "draw created $DB.nodir"
    kv "$DB.missing" draw "$DB.m.svg"
    expect_status 2
    [ ! -e "$DB.missing" ] && [ ! -e "$DB.m.svg" ] || fail "draw of a missing database made files"
    kv "$DB" inspect
    expect_status 0
    head -n 1 "$TMP/out" | grep -q "^db stage=" || fail "inspect's first line: $(head -n 1 "$TMP/out")"
}

# get --cost: the value, then one "cost.NAME: N" line per count of kv_cost
# (kv.h); after "not found" too (exit 1); every stage reads something for
# a key it holds in its files, and counts a probe of a block's hash index
# where the block has one; an option other than --cost is refused.  And kv stats
# --all ends with the latency histograms, the get among them.
get_cost_prints_what_the_lookup_did() {
    load_abcde
    kv "$DB" flush # (from stage 04 on, a table to read)
    kv "$DB" get --cost c
    expect_status 0
    [ "$(head -n 1 "$TMP/out")" = 3 ] || fail "get --cost c: first line $(head -n 1 "$TMP/out")"
    for c in time_us memtables tables_in_range bloom_checks bloom_skips bloom_false_positives \
        tables_searched blocks_read block_cache_hits block_hash_probes reads bytes_read \
        record_cache_hits; do
        grep -q "^cost\.$c: [0-9]" "$TMP/out" || fail "get --cost: no line cost.$c: $(cat "$TMP/out")"
    done
    grep -q '^cost\.bytes_read: [1-9]' "$TMP/out" ||
        fail "get --cost of a present key read no bytes: $(cat "$TMP/out")"
    [ "$(grep -c '^cost\.' "$TMP/out")" = 13 ] || fail "get --cost: $(grep -c '^cost\.' "$TMP/out") lines"
    # From stage 05 on (--block-hash-index): a get that searches a block
    # written with a hash index counts its probe; one written without, none.
    kv --block-hash-index yes "$DB.yes" put c 3
    if [ "$st" = 0 ]; then
        for hx in yes no; do
            kv --block-hash-index $hx "$DB.$hx" put c 3
            kv --block-hash-index $hx "$DB.$hx" flush
            kv "$DB.$hx" get --cost c
            want=$([ $hx = yes ] && echo 1 || echo 0)
            grep -qx "cost\.block_hash_probes: $want" "$TMP/out" ||
                fail "get --cost in a table written with --block-hash-index $hx: $(cat "$TMP/out")"
        done
    fi
    kv "$DB" get --cost zz
    expect_status 1
    expect_err_has "not found"
    grep -q '^cost\.reads: [0-9]' "$TMP/out" || fail "get --cost of an absent key: $(cat "$TMP/out")"
    kv "$DB" get --costs c
    expect_status 2
    expect_err_has "the one option is --cost"
    kv "$DB" stats --all
    grep -q '^session\.get\.latency_us: count=0,' "$TMP/out" ||
        fail "kv stats: no empty get histogram: $(grep latency "$TMP/out" | head -n 2)"
    grep -q '^session\.get\.latency_us\.buckets: none$' "$TMP/out" ||
        fail "kv stats: no empty get buckets line"
    IN=$TMP/in
    printf 'get c\nget a\nstats --all\n' >"$IN"
    kv "$DB"
    IN=
    grep -q '^session\.get\.latency_us: count=2,' "$TMP/out" ||
        fail "two gets, then stats: $(grep 'get.latency' "$TMP/out")"
}

run usage_on_no_args
run bare_kv_is_a_screen
run help_shows_this_stage_first
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
run stats_leaves_out_zeros_unless_all
run member_dir_reads_the_live_engine
run compact_keeps_data
run check_exits_2_on_corrupt_byte
run repair_salvages_intact_records_or_needs_stage_03
run repair_refuses_what_it_cannot_mend
run second_writer_is_busy
run stdin_mode_quotes_and_escapes
run stdin_mode_scan_output_reads_back
run stdin_mode_errors_name_the_line
run batch_applies_puts_and_deletes
run batch_with_a_bad_op_writes_nothing
run sync_option_syncs_writes
run dump_frames_option
run missing_dir_is_no_database_to_read_or_check
run refused_directory_is_left_as_found
run stdin_read_of_missing_dir_creates_nothing
run command_name_as_dir_gets_order_note
run read_only_notes_torn_tail_left_in_place
run compact_says_what_it_did
run fillsync_help
run every_binary_answers_help
run crashtest_names_only_the_stage_work
run export_import_across_stages
run export_to_stdout_import_from_stdin
run import_into_non_empty_db_keeps_other_keys
run import_cut_short_keeps_whole_chunks
run import_refuses_damaged_stream_with_offset
run import_of_other_file_creates_nothing
run refusal_names_export_and_import_that_work
run check_exits_3_when_next_open_cuts_a_torn_tail
run knobs_shape_the_files
run io_knob_and_env_choose_the_backend
run flush_writes_the_memtable
run draw_matches_stats
run draw_shows_the_value_log
run draw_shows_the_cache
run draw_failures_leave_nothing
run get_cost_prints_what_the_lookup_did

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
