#!/bin/sh
# fuzz_smoke.sh SECONDS STAGE:TARGET...: every harness under libFuzzer for a
# short, fixed time, from the kept corpus, the seed corpus and the saved
# regressions, with the target's dictionary.  A crash, leak, timeout or
# out-of-memory is saved in fuzz/regressions/TARGET/ (so `make test`
# replays it forever after) and fails the run.  Prints one line per target
# (with libFuzzer's executions a second) and "N passed, N failed".
#
# Environment:
#   KV_FUZZ_FRESH=1   start every pair from an empty corpus (a new
#                     directory, removed after) instead of the kept one,
#                     build/fuzz/corpus/STAGE-TARGET/: what a fresh clone
#                     finds (make fuzz-smoke FUZZ_FRESH=1)
#   KV_FUZZ_TIMEOUT   seconds one input may take (default 10: -timeout)
#   KV_FUZZ_RSS_MB    memory limit (default 2048: -rss_limit_mb, and
#                     libFuzzer's malloc limit with it)
# The replay drivers (fuzz/replay_main.c) read the same two, so an input
# libFuzzer saves for breaking a limit breaks it in `make test` too.
# TMPDIR unset: /dev/shm when it is writable, since the harnesses that
# write a database write a file per input.
set -u
seconds=$1; shift
timeout=${KV_FUZZ_TIMEOUT:-10}
rss_mb=${KV_FUZZ_RSS_MB:-2048}
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
    reg=fuzz/regressions/$target
    mkdir -p "$corpus" "$reg"
    log=build/fuzz/$stage-$target.log
    if build/fuzz/$stage/$target -max_total_time="$seconds" -timeout="$timeout" \
        -rss_limit_mb="$rss_mb" -artifact_prefix="$reg/" \
        $( [ -f fuzz/dict/$target.dict ] && echo "-dict=fuzz/dict/$target.dict" ) \
        "$corpus" "build/fuzz/seeds/$stage-$target" "$reg" >"$log" 2>&1; then
        runs=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)
        speed=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
        echo "ok   fuzz $stage/$target: $runs${speed:+ ($speed a second)}"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz $stage/$target: see $log; the input is saved in $reg/"
        tail -n 30 "$log"
        failed=$((failed + 1))
    fi
    [ "${KV_FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
