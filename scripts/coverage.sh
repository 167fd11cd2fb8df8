#!/bin/sh
# coverage.sh BUILD_DIR "STAGES": runs every suite from a --coverage build,
# then reports line and branch coverage per stage directory and for common/,
# as a table and as HTML under build/coverage/.  Called by `make coverage`.
# Test code (tests/, stages/*/tests/) is counted by neither the table nor
# the HTML report, so the HTML headline is the table's "total" row.  Each
# step prints a line when it ends, with the seconds it took.
set -u
B=${1:-build/cov}
STAGES=${2:-}
OUT=build/coverage
RC="--rc lcov_branch_coverage=1"
mkdir -p "$OUT"
started=$(date +%s)
# The tests' databases in memory, as tests/run.sh does (see there).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi

lcov -q $RC --zerocounters -d "$B" >/dev/null 2>&1

# The runs, one "LABEL|LOG|COMMAND" per line, so they can be counted first.
runs=$(
    echo "common_test|common_test.log|$B/common_test"
    for s in $STAGES; do
        echo "$s kvtest|$s-kvtest.log|$B/$s/kvtest"
        [ -x "$B/$s/stagetest" ] && echo "$s stagetest|$s-stagetest.log|$B/$s/stagetest"
        [ -x "$B/$s/alloctest" ] && echo "$s alloctest|$s-alloctest.log|$B/$s/alloctest"
        # Not the process-kill mode: a child killed while it writes its
        # .gcda file would leave the coverage data torn.
        [ -x "$B/$s/crashtest" ] &&
            echo "$s crashtest|$s-crash.log|$B/$s/crashtest --sim --power --ioerr --ops 300"
        for replay in "$B/$s"/fuzz-*-replay; do
            [ -x "$replay" ] || continue
            t=${replay##*/fuzz-}
            t=${t%-replay}
            echo "$s fuzz replay $t|$s-fuzz-$t.log|$replay $(ls -d fuzz/regressions/$t build/fuzz/seeds/$s-$t 2>/dev/null | tr '\n' ' ')"
        done
        [ -f tests/cli_test.sh ] && echo "$s cli_test|$s-cli.log|sh tests/cli_test.sh $B/$s/kv"
    done
)
total=$(echo "$runs" | grep -c .)
echo "coverage: running $total test binaries under coverage (logs in $OUT/)"
k=0
echo "$runs" | {
    while IFS='|' read -r label logname cmd; do
        k=$((k + 1))
        t0=$(date +%s)
        # The command is ours (built above), split into words on purpose.
        # shellcheck disable=SC2086
        if $cmd >"$OUT/$logname" 2>&1; then note=""; else note="  (reported failures: $OUT/$logname)"; fi
        printf 'coverage: [%d/%d] %-24s %4d s%s\n' "$k" "$total" "$label" $(($(date +%s) - t0)) "$note"
    done
}

echo "coverage: collecting the counts (lcov)"
lcov -q $RC --capture -d "$B" -o "$OUT/all.info" >"$OUT/lcov.log" 2>&1 || {
    echo "lcov failed; see $OUT/lcov.log"; exit 1; }

summary() { # info-file -> "lines% branches%"
    lcov $RC --summary "$1" 2>&1 | awk '
        /lines\.*:/    { l = $2 }
        /branches\.*:/ { b = $2 }
        END { printf "%s %s", (l == "" ? "n/a" : l), (b == "" ? "n/a" : b) }'
}

# The code measured: common/ and stages/, without test code.
lcov -q $RC --extract "$OUT/all.info" "$PWD/common/*" "$PWD/stages/*" \
    -o "$OUT/code.all.info" >/dev/null 2>&1
lcov -q $RC --remove "$OUT/code.all.info" "*/tests/*" -o "$OUT/project.info" >/dev/null 2>&1

printf '\n%-14s %10s %10s\n' "part" "lines" "branches"
printf '%-14s %10s %10s\n' "--------------" "----------" "----------"
for part in common $STAGES; do
    case $part in
        common) pattern="$PWD/common/*" ;;
        *)      pattern="$PWD/stages/$part/*" ;;
    esac
    lcov -q $RC --extract "$OUT/project.info" "$pattern" -o "$OUT/$part.info" >/dev/null 2>&1
    set -- $(summary "$OUT/$part.info")
    printf '%-14s %10s %10s\n' "$part" "$1" "$2"
done
set -- $(summary "$OUT/project.info")
printf '%-14s %10s %10s\n' "total" "$1" "$2"

echo "coverage: writing the HTML report"
genhtml -q $RC --legend -o "$OUT/html" "$OUT/project.info" >"$OUT/genhtml.log" 2>&1 &&
    printf "HTML report: %s/html/index.html (its headline is the total row)\n" "$OUT"
echo "coverage: $(($(date +%s) - started)) s in all"
