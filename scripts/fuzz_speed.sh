#!/bin/sh
# fuzz_speed.sh SECONDS STAGE:TARGET...: how fast each harness runs.  Each
# pair, one at a time, runs under libFuzzer for SECONDS from a fresh copy of
# its seeds (build/fuzz/seeds/STAGE-TARGET, and fuzz/regressions/TARGET),
# with its dictionary, the limits and flags of scripts/fuzz_limits.sh, as
# fuzz_smoke.sh runs it; nothing is kept.  Prints a table, slowest first:
#
#   pair                       exec/s   runs   cpu-s   exec/cpu-s
#
# exec/s is libFuzzer's own final figure (runs over wall-clock seconds,
# loading the seeds included); exec/cpu-s is runs over the processor
# seconds the run used (user and system), which a busy machine changes
# less.  A pair under KV_FUZZ_SPEED_MIN executions a second (default 1000)
# is marked "<- under"; the last lines say how many, and the load average
# before and after, since a figure taken on a shared machine says little
# without it.  Exits 1 if a run failed (a finding: see fuzz_smoke.sh, which
# keeps it), else 0: a slow pair is reported, not failed, since the figure
# depends on the machine.
#
# Environment: KV_FUZZ_SPEED_MIN (1000); TMPDIR (default /dev/shm when
# writable) for the copies of the seeds; the limits of fuzz_limits.sh.
set -u
seconds=$1; shift
. "$(dirname "$0")/fuzz_limits.sh"
min=${KV_FUZZ_SPEED_MIN:-1000}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/kvfuzzspeed.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p build/fuzz

# The processor seconds (user + system) of the children waited for so far,
# from what `times` wrote to $work/times (run in this shell, not in a
# command substitution's, whose children are not these).
children_cpu() {
    awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); s += p[1] * 60 + p[2] } printf "%.2f\n", s }' "$work/times"
}

load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }

load_before=$(load)
failed=0
: >"$work/table"
for pair in "$@"; do
    stage=${pair%%:*} target=${pair#*:}
    if [ ! -x "build/fuzz/$stage/$target" ]; then
        echo "FAIL fuzz $pair: build/fuzz/$stage/$target is not built (make fuzz-speed builds it)" >&2
        failed=$((failed + 1))
        printf '%s %s %s %s\n' "$pair" -1 0 0 >>"$work/table"
        continue
    fi
    corpus=$work/corpus
    rm -rf "$corpus"
    mkdir -p "$corpus"
    seeds=build/fuzz/seeds/$stage-$target
    [ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
    [ -d "fuzz/regressions/$target" ] && cp "fuzz/regressions/$target"/* "$corpus"/ 2>/dev/null
    log=build/fuzz/speed-$stage-$target.log
    times >"$work/times"
    cpu0=$(children_cpu)
    # shellcheck disable=SC2086,SC2046
    build/fuzz/$stage/$target -max_total_time="$seconds" $fuzz_limit_flags $(fuzz_target_flags "$stage:$target") \
        -artifact_prefix="$work/" \
        $( [ -f fuzz/dict/$target.dict ] && echo "-dict=fuzz/dict/$target.dict" ) \
        "$corpus" >"$log" 2>&1
    status=$?
    times >"$work/times"
    cpu1=$(children_cpu)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    runs=$(echo "$done_line" | sed -n 's/^#\([0-9]*\).*/\1/p')
    speed=$(echo "$done_line" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
    if [ "$status" -ne 0 ] || [ -z "$speed" ]; then
        echo "FAIL fuzz $pair: libFuzzer exited with status $status; see $log" >&2
        failed=$((failed + 1))
        printf '%s %s %s %s\n' "$pair" -1 0 0 >>"$work/table"
        continue
    fi
    printf '%s %s %s %s\n' "$pair" "$speed" "$runs" "$(echo "$cpu0 $cpu1" | awk '{ printf "%.2f", $2 - $1 }')" >>"$work/table"
done
load_after=$(load)

printf '%-28s %8s %9s %7s %11s\n' pair exec/s runs cpu-s exec/cpu-s
sort -k2,2n "$work/table" | awk -v min="$min" '{
    per = $4 > 0 ? $3 / $4 : 0
    mark = $2 < 0 ? "  <- failed" : $2 < min ? "  <- under" : ""
    if ($2 >= 0 && $2 < min) under++
    printf "%-28s %8s %9s %7s %11.0f%s\n", $1, $2 < 0 ? "-" : $2, $3, $4, per, mark
} END { printf "%d of %d pairs under %d executions a second\n", under, NR, min }'
echo "$seconds s a pair on $(nproc 2>/dev/null || echo ?) cores; load average $load_before before, $load_after after"
[ "$failed" -eq 0 ]
