#!/bin/sh
# run.sh: runs every test binary and sums up.
#
#   sh tests/run.sh BUILD_DIR "STAGES" [ASAN_BUILD_DIR [TSAN_BUILD_DIR]]
#
# For BUILD_DIR, then ASAN_BUILD_DIR if given (with ASan/UBSan options set):
# DIR/common_test, DIR/<stage>/kvtest for each stage, and, when they exist,
# tests/cli_test.sh DIR/<stage>/kv, DIR/<stage>/stagetest (a stage's own
# tests), DIR/<stage>/alloctest (allocation failures) and
# DIR/<stage>/crashtest --quick.  Then, if TSAN_BUILD_DIR is given,
# TSAN_BUILD_DIR/<stage>/racetest for each stage (the threaded suites under
# ThreadSanitizer).  Each binary ends with a line "N passed, N failed"; one
# that crashes, times out, is missing, prints no such line, exits non-zero
# with nothing failed (a leak found at exit, say), or prints a sanitizer
# report (even one that let it go on) counts as one more failure.  Lines
# other than "RUN ..." and "ok ..." are shown as they come.  Prints a
# table (per binary: tests passed, failed, and its wall-clock seconds),
# then exactly one line "N passed, N failed" (the sums), and exits non-zero
# if anything failed.  Environment: KV_TEST_TIMEOUT (seconds per
# binary, default 1200), KV_TEST_FILTER (passed to the C test binaries),
# TMPDIR (where the tests make their databases; unset, /dev/shm if it is
# there: in memory an fsync costs nothing, where on a busy disk the suites
# take ten times as long, and no test needs a real disk: power loss is
# simulated, common/io_sim.h).
#
# Two lanes run at once (one per core of the 2-core machines the project is
# timed on): BUILD_DIR, the fuzz smoke run and TSAN_BUILD_DIR in one, and
# ASAN_BUILD_DIR, the slowest flavour, in the other.  Their "== LABEL"
# lines interleave; each lane's table and sums are joined at the end.
# KV_TEST_LANES=1 runs everything in one lane, in that order.

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    echo "usage: sh tests/run.sh BUILD_DIR \"STAGES\" [ASAN_BUILD_DIR [TSAN_BUILD_DIR]]" >&2
    exit 2
fi
build=$1
stages=$2
asan_build=${3:-}
tsan_build=${4:-}
here=$(dirname "$0")
timeout_s=${KV_TEST_TIMEOUT:-1200}
filter=${KV_TEST_FILTER:-}

if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi

total_passed=0
total_failed=0
table=""
work=$(mktemp -d "${TMPDIR:-/tmp}/kvrun.XXXXXX") || exit 2
log=$work/log
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT TERM

# run_binary LABEL COMMAND...: runs it, shows its interesting lines, adds a
# row to the table and its counts to the totals.
run_binary() {
    label=$1
    shift
    echo "== $label"
    started=$(date +%s)
    if command -v timeout >/dev/null 2>&1; then
        timeout "$timeout_s" "$@" >"$log" 2>&1
    else
        "$@" >"$log" 2>&1
    fi
    status=$?
    seconds=$(($(date +%s) - started))
    grep -v -e '^RUN ' -e '^ok ' "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    note=""
    # Sanitizer reports: ThreadSanitizer goes on after one (exitcode=66 at
    # the end), and a report must fail the run whatever the exit status.
    reports=$(grep -c -E '^(WARNING|ERROR): (ThreadSanitizer|AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
    if [ -n "$summary" ]; then
        passed=$(echo "$summary" | sed 's/ passed.*//')
        failed=$(echo "$summary" | sed 's/.*passed, //; s/ failed//')
    else
        passed=0
        failed=0
    fi
    if [ "$status" -eq 124 ]; then
        note="timed out after ${timeout_s}s"
        failed=$((failed + 1))
    elif [ "$status" -gt 128 ]; then
        note="killed by signal $((status - 128))"
        failed=$((failed + 1))
    elif [ -z "$summary" ]; then
        note="no summary line (exit status $status)"
        failed=$((failed + 1))
    elif [ "$reports" -gt 0 ]; then
        note="$reports sanitizer report(s) (exit status $status)"
        failed=$((failed + 1))
    elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        note="exit status $status with no failed test"
        failed=$((failed + 1))
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    row=$(printf '%-40s %7s %7s %7s  %s' "$label" "$passed" "$failed" "$seconds" "$note")
    table="$table$row
"
}

missing_binary() {
    row=$(printf '%-40s %7s %7s %7s  %s' "$1" 0 1 - "missing (not built?)")
    table="$table$row
"
    total_failed=$((total_failed + 1))
    echo "== $1: missing"
}

# run_flavour DIR: every binary of one build directory.
run_flavour() {
    dir=$1
    # Harnesses that need no stage (kv serve's RESP parser), on their seeds.
    for replay in "$dir"/serve/fuzz-*-replay; do
        [ -x "$replay" ] || continue
        target=${replay##*/fuzz-}
        target=${target%-replay}
        run_binary "$replay" "$replay" "$here/../fuzz/seeds/$target" \
            $( [ -d "$here/../fuzz/regressions/$target" ] && echo "$here/../fuzz/regressions/$target" )
    done
    if [ -x "$dir/common_test" ]; then
        run_binary "$dir/common_test" "$dir/common_test" $filter
    else
        missing_binary "$dir/common_test"
    fi
    for stage in $stages; do
        if [ -x "$dir/$stage/kvtest" ]; then
            run_binary "$dir/$stage/kvtest" "$dir/$stage/kvtest" $filter
        else
            missing_binary "$dir/$stage/kvtest"
        fi
        if [ -f "$here/cli_test.sh" ]; then
            if [ -x "$dir/$stage/kv" ]; then
                run_binary "cli_test.sh $dir/$stage/kv" sh "$here/cli_test.sh" "$dir/$stage/kv"
            else
                missing_binary "$dir/$stage/kv"
            fi
        fi
        # The Redis-protocol server (`kv DIR serve`) through sockets, and,
        # in the first build only, through redis-cli and redis-benchmark.
        if [ -f "$here/server_test.py" ] && [ -x "$dir/$stage/kv" ]; then
            run_binary "server_test.py $dir/$stage/kv" python3 "$here/server_test.py" "$dir/$stage/kv"
            if [ "$dir" = "$build" ]; then
                run_binary "server_cli_test.sh $dir/$stage/kv" sh "$here/server_cli_test.sh" "$dir/$stage/kv"
            fi
        fi
        if [ -x "$dir/$stage/stagetest" ]; then
            run_binary "$dir/$stage/stagetest" "$dir/$stage/stagetest" $filter
        fi
        if [ -x "$dir/$stage/alloctest" ]; then
            run_binary "$dir/$stage/alloctest" "$dir/$stage/alloctest" $filter
        fi
        if [ -x "$dir/$stage/crashtest" ]; then
            run_binary "$dir/$stage/crashtest --quick" "$dir/$stage/crashtest" --quick
        fi
        # Fuzz harnesses on their saved regression inputs and the stage's seeds.
        for replay in "$dir/$stage"/fuzz-*-replay; do
            [ -x "$replay" ] || continue
            target=${replay##*/fuzz-}
            target=${target%-replay}
            inputs=""
            for d in "$here/../fuzz/regressions/$target" "build/fuzz/seeds/$stage-$target"; do
                [ -d "$d" ] && inputs="$inputs $d"
            done
            run_binary "$replay" "$replay" $inputs
        done
    done
}

# lane_release and lane_asan: the two lanes.  Each keeps its own table and
# sums in its subshell and writes them to $work/<lane>.table and .sums.
lane_release() {
    log=$work/release.log
    run_flavour "$build"
    # The libFuzzer smoke run (`make fuzz-smoke`), when the Makefile asks for it.
    if [ -n "${KV_FUZZ_PAIRS:-}" ]; then
        run_binary "fuzz smoke (${KV_FUZZ_SECONDS:-10}s a target)" \
            sh "$here/../scripts/fuzz_smoke.sh" "${KV_FUZZ_SECONDS:-10}" $KV_FUZZ_PAIRS
    fi
    if [ -n "$tsan_build" ]; then
        # halt_on_error=0: every report of every test is shown; exitcode=66
        # then marks the run, and run_binary counts the reports.
        TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1
        export TSAN_OPTIONS
        for stage in $stages; do
            if [ -x "$tsan_build/$stage/racetest" ]; then
                run_binary "$tsan_build/$stage/racetest" "$tsan_build/$stage/racetest" $filter
            else
                missing_binary "$tsan_build/$stage/racetest"
            fi
        done
    fi
    lane_save release
}

lane_asan() {
    log=$work/asan.log
    if [ -n "$asan_build" ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        export ASAN_OPTIONS UBSAN_OPTIONS
        run_flavour "$asan_build"
    fi
    lane_save asan
}

lane_save() {
    printf '%s' "$table" >"$work/$1.table"
    echo "$total_passed $total_failed" >"$work/$1.sums"
}

if [ "${KV_TEST_LANES:-2}" = 1 ]; then
    lane_release
    total_passed=0; total_failed=0; table=""
    lane_asan
else
    lane_release &
    release_pid=$!
    lane_asan &
    asan_pid=$!
    wait "$release_pid"
    wait "$asan_pid"
fi

# Join the lanes; a lane that died without its sums counts as a failure.
total_passed=0
total_failed=0
table=""
for lane in release asan; do
    if [ -f "$work/$lane.sums" ]; then
        read -r p f <"$work/$lane.sums"
        total_passed=$((total_passed + p))
        total_failed=$((total_failed + f))
        table="$table$(cat "$work/$lane.table")
"
    else
        total_failed=$((total_failed + 1))
        table="${table}lane $lane: ended without its sums
"
    fi
done

echo
printf '%-40s %7s %7s %7s\n' "binary" "passed" "failed" "seconds"
printf '%s' "$table"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
