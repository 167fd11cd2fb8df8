#!/bin/sh
# fuzz_findings_test.sh: that the fuzzing scripts count as findings what is
# not a crash.  fuzz/findings_fuzz.c misbehaves on purpose, one kind per
# seed; for each kind, scripts/fuzz_smoke.sh runs it (from that seed alone,
# saving into a scratch directory, never fuzz/regressions/) and must fail
# the pair naming the kind and save the input under libFuzzer's prefix for
# it, and the replay driver (fuzz/replay_main.c) must fail on what was
# saved, naming the same kind:
#
#   kind        seed           fuzz_smoke.sh says        saved as     the replay says
#   slow unit   S              a slow unit               slow-unit-   slow unit
#   timeout     T              ALARM                     timeout-     timeout
#   oom         O              out-of-memory (used:      oom-         out of memory ... resident
#   malloc      M + 1 GiB      out-of-memory (malloc(    oom-         one allocation of
#
# The control: with KV_FINDINGS_NONE=1 (every input harmless) the same run
# passes, and the replay passes a harmless input.  Limits small enough for
# a few seconds a kind: KV_FUZZ_TIMEOUT=2 for the timeout (6 for the
# others), KV_FUZZ_RSS_MB=300, the defaults for the slow unit (1 s) and
# the malloc limit (64 MB).
#
#   sh tests/fuzz_findings_test.sh   (from the top of the tree, after
#   make build/fuzz/selftest/findings build/fuzz/selftest/findings-replay)
# Prints a line per check and "N passed, N failed".
set -u
fuzzer=build/fuzz/selftest/findings
replay=build/fuzz/selftest/findings-replay
for b in "$fuzzer" "$replay"; do
    if [ ! -x "$b" ]; then
        echo "FAIL $b is not built (make $b)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kvfindings.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# The timeout of every kind but the timeout's own: long enough that the
# once-a-second memory check sees the growth first on a loaded machine.
timeout_of() { [ "$1" = timeout ] && echo 2 || echo 6; }

# smoke KIND SEED_PRINTF_FORMAT [ENV...]: fuzz_smoke.sh on the one seed;
# its output in $work/KIND.out, what it saved in $work/KIND.reg/findings/.
smoke() {
    kind=$1 seed=$2
    shift 2
    mkdir -p "$work/$kind.seeds" "$work/$kind.reg"
    # shellcheck disable=SC2059
    printf "$seed" >"$work/$kind.seeds/seed"
    env KV_FUZZ_SEEDS="$work/$kind.seeds" KV_FUZZ_REGRESSIONS="$work/$kind.reg" \
        KV_FUZZ_FRESH=1 KV_FUZZ_TIMEOUT="$(timeout_of "$kind")" KV_FUZZ_RSS_MB=300 "$@" \
        sh scripts/fuzz_smoke.sh 3 selftest:findings >"$work/$kind.out" 2>&1
}

# finding KIND SEED SMOKE_SAYS PREFIX REPLAY_SAYS
finding() {
    kind=$1 seed=$2 says=$3 prefix=$4 replay_says=$5
    smoke "$kind" "$seed"
    status=$?
    first=$(head -n 1 "$work/$kind.out")
    if [ "$status" -ne 0 ] && tail -n 1 "$work/$kind.out" | grep -q '^0 passed, 1 failed$' &&
        printf '%s\n' "$first" | grep -q "^FAIL fuzz selftest/findings: .*$says"; then
        ok "$kind: fuzz_smoke.sh fails the pair: $first"
    else
        bad "$kind: fuzz_smoke.sh (status $status) should fail the pair saying \"$says\"; it printed:"
        sed 's/^/    /' "$work/$kind.out" | head -n 20
    fi
    saved=$(ls "$work/$kind.reg/findings" 2>/dev/null | grep "^$prefix" | head -n 1)
    if [ -z "$saved" ]; then
        bad "$kind: nothing saved as $prefix... (saved: $(ls "$work/$kind.reg/findings" 2>/dev/null | tr '\n' ' '))"
        return
    fi
    ok "$kind: saved as $saved"
    env KV_FUZZ_TIMEOUT="$(timeout_of "$kind")" KV_FUZZ_RSS_MB=300 "$replay" \
        "$work/$kind.reg/findings/$saved" \
        >"$work/$kind.replay" 2>&1
    status=$?
    if [ "$status" -ne 0 ] && grep -q "^replay: .*$replay_says" "$work/$kind.replay"; then
        ok "$kind: the replay fails on it: $(grep -m1 '^replay: ' "$work/$kind.replay" | cut -c1-110)"
    else
        bad "$kind: the replay (status $status) should fail on $saved saying \"$replay_says\":"
        sed 's/^/    /' "$work/$kind.replay" | head -n 10
    fi
}

finding slow-unit 'S' 'a slow unit' slow-unit- 'slow unit'
finding timeout 'T' 'ALARM: working on the last Unit' timeout- 'timeout'
finding oom 'O' 'out-of-memory (used:' oom- 'out of memory: over KV_FUZZ_RSS_MB'
finding malloc 'M\000\000\000\100' 'out-of-memory (malloc(1073741824))' oom- 'one allocation of 1073741824 bytes'

# The control.
smoke control 'M\000\000\000\100' KV_FINDINGS_NONE=1
status=$?
if [ "$status" -eq 0 ] && grep -q '^ok   fuzz selftest/findings: ' "$work/control.out" &&
    [ -z "$(ls "$work/control.reg/findings" 2>/dev/null)" ]; then
    ok "control: a harmless harness passes fuzz_smoke.sh and saves nothing"
else
    bad "control: fuzz_smoke.sh (status $status) should pass a harmless harness:"
    sed 's/^/    /' "$work/control.out" | head -n 20
fi
printf 'X' >"$work/harmless"
if "$replay" "$work/harmless" >"$work/control.replay" 2>&1; then
    ok "control: the replay passes a harmless input"
else
    bad "control: the replay fails on a harmless input:"
    sed 's/^/    /' "$work/control.replay" | head -n 10
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
