#!/bin/sh
# coverage.sh BUILD_DIR "STAGES": runs every suite from a --coverage build,
# then reports line and branch coverage per stage directory and for common/,
# as a table and as HTML under build/coverage/.  Called by `make coverage`.
set -u
B=${1:-build/cov}
STAGES=${2:-}
OUT=build/coverage
RC="--rc lcov_branch_coverage=1"
mkdir -p "$OUT"

lcov -q $RC --zerocounters -d "$B" >/dev/null 2>&1

echo "== running the suites under coverage"
"$B/common_test" >"$OUT/common_test.log" 2>&1 || echo "   (common_test reported failures: $OUT/common_test.log)"
for s in $STAGES; do
    "$B/$s/kvtest" >"$OUT/$s-kvtest.log" 2>&1 || echo "   ($s kvtest reported failures: $OUT/$s-kvtest.log)"
    if [ -x "$B/$s/stagetest" ]; then
        "$B/$s/stagetest" >"$OUT/$s-stagetest.log" 2>&1 || echo "   ($s stagetest reported failures)"
    fi
    # Not the process-kill mode: a child killed while it writes its .gcda
    # file would leave the coverage data torn.
    if [ -x "$B/$s/crashtest" ]; then
        "$B/$s/crashtest" --sim --power --ioerr --ops 300 >"$OUT/$s-crash.log" 2>&1 ||
            echo "   ($s crashtest reported failures)"
    fi
    for replay in "$B/$s"/fuzz-*-replay; do
        [ -x "$replay" ] || continue
        t=${replay##*/fuzz-}; t=${t%-replay}
        "$replay" $(ls -d fuzz/regressions/$t build/fuzz/seeds/$s-$t 2>/dev/null) \
            >"$OUT/$s-fuzz-$t.log" 2>&1 || echo "   ($s fuzz replay $t failed)"
    done
    if [ -f tests/cli_test.sh ]; then
        sh tests/cli_test.sh "$B/$s/kv" >"$OUT/$s-cli.log" 2>&1 || echo "   ($s cli_test reported failures)"
    fi
done

lcov -q $RC --capture -d "$B" -o "$OUT/all.info" >"$OUT/lcov.log" 2>&1 || {
    echo "lcov failed; see $OUT/lcov.log"; exit 1; }

summary() { # info-file -> "lines% branches%"
    lcov $RC --summary "$1" 2>&1 | awk '
        /lines\.*:/    { l = $2 }
        /branches\.*:/ { b = $2 }
        END { printf "%s %s", (l == "" ? "n/a" : l), (b == "" ? "n/a" : b) }'
}

printf '\n%-14s %10s %10s\n' "part" "lines" "branches"
printf '%-14s %10s %10s\n' "--------------" "----------" "----------"
for part in common $STAGES; do
    case $part in
        common) pattern="$PWD/common/*" ;;
        *)      pattern="$PWD/stages/$part/*" ;;
    esac
    lcov -q $RC --extract "$OUT/all.info" "$pattern" -o "$OUT/$part.all.info" >/dev/null 2>&1
    # A stage's own tests (stages/S/tests/) are not the stage's code.
    lcov -q $RC --remove "$OUT/$part.all.info" "*/tests/*" -o "$OUT/$part.info" >/dev/null 2>&1
    set -- $(summary "$OUT/$part.info")
    printf '%-14s %10s %10s\n' "$part" "$1" "$2"
done

lcov -q $RC --extract "$OUT/all.info" "*/common/*" "*/stages/*" -o "$OUT/project.info" >/dev/null 2>&1
genhtml -q $RC --legend -o "$OUT/html" "$OUT/project.info" >/dev/null 2>&1 &&
    printf "\nHTML report: %s/html/index.html\n" "$OUT"
