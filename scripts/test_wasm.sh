#!/bin/sh
# test_wasm.sh: the WebAssembly runs of `make test-wasm` (docs/lab.md).
#
#   sh scripts/test_wasm.sh WASM_BUILD_DIR "STAGES" ["VALUE_LOG_STAGES"]
#
# For each stage: WASM_BUILD_DIR/<stage>/kvtest.js under node (the stage
# suite, tests/wasm/main.c, on the engine compiled to WebAssembly), and
# for each of VALUE_LOG_STAGES (stage 08) once more with
# KV_TEST_VALUE_THRESHOLD=1, every value in the value log, as natively
# (tests/wrap/value_threshold.c); then
# with WASM_RAFT=1 in the environment, stage 10's group under node
# (web/test/lab_raft_test.mjs); the lab page in headless Chromium
# (web/test/lab_test.mjs), which saves
# its screenshots in WASM_BUILD_DIR/shots/.  Lines other than "RUN ..." and
# "ok ..." are shown; a run that prints no "N passed, N failed" line or
# exits non-zero counts as one more failure.  Ends with one line
# "N passed, N failed" (the sums) and exits non-zero if anything failed.
# KV_TEST_FILTER is passed to the suites.

if [ $# -ne 2 ] && [ $# -ne 3 ]; then
    echo "usage: sh scripts/test_wasm.sh WASM_BUILD_DIR \"STAGES\" [\"VALUE_LOG_STAGES\"]" >&2
    exit 2
fi
wb=$1
stages=$2
value_log_stages=${3:-}
total_passed=0
total_failed=0
log=$(mktemp "${TMPDIR:-/tmp}/test_wasm.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT

# run_one LABEL COMMAND...: runs it, shows its interesting lines, adds up.
run_one() {
    label=$1
    shift
    echo "== $label"
    started=$(date +%s)
    "$@" >"$log" 2>&1
    status=$?
    grep -v -e '^RUN ' -e '^ok ' "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' | cut -c1-400
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    passed=0
    failed=0
    if [ -n "$summary" ]; then
        passed=$(echo "$summary" | sed 's/ passed.*//')
        failed=$(echo "$summary" | sed 's/.*passed, //; s/ failed//')
    fi
    if [ -z "$summary" ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
        echo "$label: exit status $status${summary:+ with $summary}, counted as a failure"
        failed=$((failed + 1))
    fi
    echo "$label: $passed passed, $failed failed, $(($(date +%s) - started)) s"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
}

for s in $stages; do
    run_one "wasm $s kvtest (node)" node "$wb/$s/kvtest.js" ${KV_TEST_FILTER:+"$KV_TEST_FILTER"}
    case " $value_log_stages " in
    *" $s "*)
        run_one "wasm $s kvtest, every value in the value log (node)" \
            env KV_TEST_VALUE_THRESHOLD=1 node "$wb/$s/kvtest.js" ${KV_TEST_FILTER:+"$KV_TEST_FILTER"}
        # The variable reached the module (tests/wasm/env.js): the
        # corruption sweep's database has a value-log file.
        if [ -z "${KV_TEST_FILTER:-}" ] && ! grep -q 'corruption sweep.*[.]vlog' "$log"; then
            echo "wasm $s: with KV_TEST_VALUE_THRESHOLD=1 the sweep's database has no .vlog file: the threshold did not reach the module"
            total_failed=$((total_failed + 1))
        fi ;;
    esac
done
# Stage 10's group, when the lab was built with it (WASM_RAFT=1: its
# script, web/lab_raft.c's, runs under node as in the page).
if [ "${WASM_RAFT:-0}" = 1 ]; then
    run_one "lab stage 10's group (node)" node web/test/lab_raft_test.mjs "$wb/lab"
fi
run_one "lab page (chromium)" node web/test/lab_test.mjs "$wb/lab" "$wb/shots"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
