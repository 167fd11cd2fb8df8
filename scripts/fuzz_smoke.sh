#!/bin/sh
# fuzz_smoke.sh SECONDS STAGE:TARGET...: every harness under libFuzzer for a
# short, fixed time, from the seed corpus and the saved regressions.  A
# crash, leak or timeout is saved in fuzz/regressions/TARGET/ (so `make test`
# replays it forever after) and fails the run.  Prints one line per target
# and "N passed, N failed".
set -u
seconds=$1; shift
passed=0 failed=0
for pair in "$@"; do
    stage=${pair%%:*} target=${pair#*:}
    corpus=build/fuzz/corpus/$stage-$target
    reg=fuzz/regressions/$target
    mkdir -p "$corpus" "$reg"
    log=build/fuzz/$stage-$target.log
    if build/fuzz/$stage/$target -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$reg/" $( [ -f fuzz/dict/$target.dict ] && echo "-dict=fuzz/dict/$target.dict" ) \
        "$corpus" "build/fuzz/seeds/$stage-$target" "$reg" >"$log" 2>&1; then
        echo "ok   fuzz $stage/$target: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz $stage/$target: see $log; the input is saved in $reg/"
        tail -n 30 "$log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
