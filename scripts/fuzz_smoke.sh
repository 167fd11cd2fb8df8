#!/bin/sh
# fuzz_smoke.sh SECONDS STAGE:TARGET...: every harness under libFuzzer for a
# short, fixed time, from the kept corpus, the seed corpus and the saved
# regressions, with the target's dictionary and flags (fuzz_target_flags
# in scripts/fuzz_limits.sh).  A crash, leak, timeout,
# out-of-memory, allocation over the malloc limit or slow unit (the limits:
# scripts/fuzz_limits.sh) is saved in fuzz/regressions/TARGET/ (so `make
# test` replays it forever after) and fails the run.  Prints one line per
# target (with libFuzzer's executions a second) and "N passed, N failed".
#
# Environment:
#   KV_FUZZ_FRESH=1   start every pair from an empty corpus (a new
#                     directory, removed after) instead of the kept one,
#                     build/fuzz/corpus/STAGE-TARGET/: what a fresh clone
#                     finds (make fuzz-smoke FUZZ_FRESH=1)
#   KV_FUZZ_TIMEOUT, KV_FUZZ_SLOW_S, KV_FUZZ_RSS_MB, KV_FUZZ_MALLOC_MB
#                     the limits (scripts/fuzz_limits.sh); the replay
#                     drivers (fuzz/replay_main.c) read the same ones
#   KV_FUZZ_SEEDS     the seeds' directory for every pair (default
#                     build/fuzz/seeds/STAGE-TARGET), and
#   KV_FUZZ_REGRESSIONS  where findings are saved (default fuzz/regressions;
#                     TARGET/ in it): for tests/fuzz_findings_test.sh
# TMPDIR unset: /dev/shm when it is writable, since the harnesses that
# write a database write a file per input.
set -u
seconds=$1; shift
. "$(dirname "$0")/fuzz_limits.sh"
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
passed=0 failed=0
for pair in "$@"; do
    stage=${pair%%:*} target=${pair#*:}
    if [ "${KV_FUZZ_FRESH:-0}" = 1 ]; then
        corpus=$(mktemp -d "${TMPDIR:-/tmp}/kvfuzzcorpus.XXXXXX") || exit 2
    else
        corpus=build/fuzz/corpus/$stage-$target
    fi
    reg=${KV_FUZZ_REGRESSIONS:-fuzz/regressions}/$target
    seeds=${KV_FUZZ_SEEDS:-build/fuzz/seeds/$stage-$target}
    mkdir -p "$corpus" "$reg" build/fuzz
    log=build/fuzz/$stage-$target.log
    # shellcheck disable=SC2086,SC2046
    build/fuzz/$stage/$target -max_total_time="$seconds" $fuzz_limit_flags $(fuzz_target_flags "$stage:$target") \
        -artifact_prefix="$reg/" \
        $( [ -f fuzz/dict/$target.dict ] && echo "-dict=fuzz/dict/$target.dict" ) \
        "$corpus" "$seeds" "$reg" >"$log" 2>&1
    status=$?
    finding=$(fuzz_limits_findings "$log")
    # A slow unit is judged again by the pair's replay driver, which counts
    # an input's own time (less the time its threads stood ready for a
    # processor, the fastest of three runs when its processor time is
    # short; fuzz/replay_main.c): libFuzzer counts the wall clock, which a
    # machine busy with other work stretches.  Slow there too, or no
    # driver built: the finding stands.  Else the saved input is removed.
    judged=""
    if [ "$status" -eq 0 ] && [ -n "$finding" ]; then
        driver=""
        for d in build/fuzz/$stage/$target-replay build/asan/$stage/fuzz-$target-replay \
                 build/$stage/fuzz-$target-replay; do
            [ -x "$d" ] && { driver=$d; break; }
        done
        units=$(sed -n 's/.*Test unit written to \(.*slow-unit-[0-9a-f]*\)$/\1/p' "$log")
        if [ -n "$driver" ] && [ -n "$units" ]; then
            # shellcheck disable=SC2086
            if "$driver" $units >>"$log" 2>&1; then
                echo "note fuzz $stage/$target: $finding by libFuzzer's wall clock; $driver ran it in under $fuzz_slow_s s of its own time, so it is not kept" >>"$log"
                rm -f $units
                finding="" judged="; a slow unit by the wall clock only, not kept"
            fi
        fi
    fi
    if [ "$status" -eq 0 ] && [ -z "$finding" ]; then
        runs=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)
        speed=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
        echo "ok   fuzz $stage/$target: $runs${speed:+ ($speed a second)}$judged"
        passed=$((passed + 1))
    else
        [ -n "$finding" ] || finding=$(grep -m1 -E '^==[0-9]+== ?ERROR: libFuzzer: |^==[0-9]+==ERROR: |runtime error:|^ALARM: ' "$log")
        echo "FAIL fuzz $stage/$target: ${finding:-libFuzzer exited with status $status}; see $log; the input is saved in $reg/"
        tail -n 30 "$log"
        failed=$((failed + 1))
    fi
    [ "${KV_FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
