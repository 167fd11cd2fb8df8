#!/bin/sh
# grade.sh: `make grade STAGE=S`, a learner's engine graded rung by rung
# (docs/learn.md).
#
#   sh grade/grade.sh STAGE WORKSPACE             your files of learn/STAGE
#   sh grade/grade.sh STAGE --engine LIB.a        any engine behind kv.h
#   options (after the above): --out DIR   build there (default build/grade/...)
#                              --only RUNG  build, then run that rung alone
#                              --filter F   with --only exercises, exercise F
#                                           alone; with --only suites, the
#                                           kvtest suite F (or "stagetest");
#                                           with --only fuzz, harness F;
#                                           with --only crash, crashtest's
#                                           options (--power --sync1)
#
# The rungs, in order; the grade stops at the first that fails:
#   build      the stage with the workspace's files in place of the
#              reference's (grade/grade.mk); with --engine, the tests
#              linked with LIB.a
#   exercises  each exercise's unit tests (grade/tests/STAGE/NAME_test.c),
#              every exercise run and reported (skipped with --engine)
#   suites     the stage suite (build/S/kvtest: conformance, iterators,
#              snapshots, batches, threads, the model test, I/O faults, bad
#              files, tools), by suite, then the stage's own unit tests
#              (stagetest; skipped with --engine: they reach inside)
#   crash      crashtest --quick: process kills, power loss at every sync,
#              failing I/O calls (tests/crash/main.c)
#   sweep      the corruption sweep: every byte of every file flipped, and
#              cut (tests/sweep.c)
#   fuzz       each of the stage's libFuzzer harnesses (FUZZ_<stage>),
#              GRADE_FUZZ_SECONDS each (default 15), from the seeds the
#              reference makes (with --engine: the API harness alone)
#   speed      kvbench on the engine and on the reference, alternately,
#              twice each: a workload below 1/4 of the reference's speed
#              fails (GRADE_SPEED_MIN, a fraction)
# It prints a line as each step starts and ends, then the scorecard: every
# exercise and rung, passed or failed, the first failing check in plain
# words, and the page section to reread.  Exit status 0 only if every rung
# passed.  Logs are kept in the build directory (OUT/logs/).
set -u
here=$(dirname "$0")
MAKE=${MAKE:-make}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi

usage() {
    echo "usage: sh grade/grade.sh STAGE (WORKSPACE | --engine LIB.a) [--out DIR] [--only RUNG]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
stage=$1; shift
ws=- engine=- out="" only="" filter=""
case $1 in
--engine) [ $# -ge 2 ] || usage; engine=$2; shift 2 ;;
*) ws=${1%/}; shift ;;
esac
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    *) usage ;;
    esac
done
list=$here/$stage.exercises
page=docs/$stage.md
[ -f "$list" ] || { echo "grade: stage $stage has no exercises ($list)" >&2; exit 2; }
if [ "$engine" = - ] && [ ! -d "$ws" ]; then
    echo "grade: no workspace $ws: make one with  make learn STAGE=$stage" >&2
    exit 2
fi
if [ "$engine" != - ] && [ ! -f "$engine" ]; then
    echo "grade: no engine library $engine" >&2
    exit 2
fi
[ -n "$out" ] || out=build/grade/$stage$( [ "$engine" = - ] || echo -engine)
logs=$out/logs
mkdir -p "$logs"
build="$out@$stage@$ws@$engine"
ex() { awk -f "$here/exercises.awk" -v list="$list" "$@"; }
mk() { $MAKE --no-print-directory -s GRADE_BUILDS="$build" "$@"; }
started=$(date +%s)
now() { echo $(($(date +%s) - started)); }
say() { echo "grade: [$(now) s] $*"; }

# The scorecard's rows: "KIND<TAB>NAME<TAB>RESULT<TAB>DETAIL<TAB>SECTION",
# appended as the grade goes.
card=$logs/scorecard
: >"$card"
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$card"; }
first_fail=""   # "what<TAB>section" of the first failure
note_fail() { [ -n "$first_fail" ] || first_fail=$(printf '%s\t%s' "$1" "$2"); }
rung_section() { s=$(ex -v mode=rung-section -v name="$1"); echo "${s:-}"; }

# first_check LOG: the first failing check of a harness log, in one line.
first_check() {
    awk '/^RUN /{n=0; name=$2; next}
         /^FAIL /{ if (!done) { print $2 ": " msg; done=1 } next }
         /^    /{ line=$0; sub(/^ +/, "", line); if (n < 3) { msg = msg (n ? " " : "") line; n++ } }
         /^FAIL: /{ if (!done) { sub(/^FAIL: /, ""); print; done=1 } }' "$1" | head -n 1
}
# summary LOG: "N passed, N failed" of a log, or nothing.
summary() { grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1; }
# run_log LOG SECONDS CMD...: runs it with a time limit; its status.
run_log() {
    log=$1 limit=$2
    shift 2
    timeout "$limit" "$@" >"$log" 2>&1
}

# ---- the workspace ------------------------------------------------------------------
info=${GRADE_INFO:-$(mk grade-info GRADE_STAGE="$stage" 2>/dev/null)}
has_stagetest=$(echo "$info" | sed -n 's/^stagetest=//p')
fuzz_targets=$(echo "$info" | sed -n 's/^fuzz=//p')
if [ "$engine" = - ]; then
    mine=$(echo "$info" | sed -n 's/^sources=//p' | tr ' ' '\n' | while read -r f; do
        [ -n "$f" ] && [ -f "$ws/$f" ] && echo "$f"; done)
    if [ -z "$mine" ]; then
        echo "grade: $ws holds none of stage $stage's source files: make learn STAGE=$stage" >&2
        exit 2
    fi
    say "stage $stage from $ws: $(echo "$mine" | wc -l) files of yours ($(echo $mine)); the reference for the rest"
    for f in $(cd "$ws" && find . -name '*.c' | sed 's|^\./||'); do
        echo "$mine" | grep -qx "$f" ||
            say "note: $ws/$f is not one of stage $stage's source files: it is not used"
    done
    for f in $(cd "$ws" && find . -name '*.h' | sed 's|^\./||'); do
        say "note: $ws/$f: headers are the reference's (an exercise changes function bodies only): it is not used"
    done
    if [ -f "$ws/.reference" ]; then
        while read -r f sum; do
            now_sum=$(cksum <"$f" 2>/dev/null | awk '{print $1 "-" $2}')
            [ "$now_sum" = "$sum" ] ||
                say "note: $f changed since your $ws/$f was made from it: if yours no longer builds, compare them (diff $f $ws/$f)"
        done <"$ws/.reference"
    fi
else
    say "stage $stage: the engine $engine, behind kv.h"
    uses_io=0
    nm "$engine" 2>/dev/null | grep -qE ' [TU] io_append$' && uses_io=1
fi

# ---- rung: build --------------------------------------------------------------------
say "build: compiling $( [ "$engine" = - ] && echo "your files" || echo "nothing of the engine"), linking the tests"
targets="$out/kvtest $out/crashtest $out/kvbench"
[ "$engine" = - ] && targets="$out/libkv.a $out/exercisetest $targets"
[ "$engine" = - ] && [ "$has_stagetest" = yes ] && targets="$targets $out/stagetest"
# --only RUNG builds what that rung runs, no more.
case $only in
exercises) targets="$out/exercisetest" ;;
suites) targets="$out/kvtest$( [ "$engine" = - ] && [ "$has_stagetest" = yes ] && echo " $out/stagetest")" ;;
crash) targets="$out/crashtest" ;;
sweep) targets="$out/kvtest" ;;
speed) targets="$out/kvbench" ;;
fuzz) targets="$out/kvtest" ;; # the harnesses are built by the rung
"") ;;
*) echo "grade: --only takes one of exercises, suites, crash, sweep, fuzz, speed" >&2; exit 2 ;;
esac
# The reference's objects are built (or found up to date) first, two at a
# time; then the rest.
# GRADE_PREBUILT=1 (grade/check.sh, which builds many at once): the
# targets were made already; only their presence is checked.
prebuilt() {
    for t in $targets; do
        [ -f "$t" ] || { echo "$t was not built: error (see the builder's log)"; return 1; }
    done
}
build_now() {
    if [ -n "${GRADE_PREBUILT:-}" ]; then prebuilt; else mk -j2 $targets; fi
}
if build_now >"$logs/build.log" 2>&1; then
    row rung build pass "" ""
    say "build: ok"
else
    what=$(grep -m1 -E 'error|undefined reference' "$logs/build.log")
    row rung build FAIL "${what:-see $logs/build.log}" ""
    note_fail "build: ${what:-see $logs/build.log}" "the compiler's message ($logs/build.log)"
    say "build: FAILED (see $logs/build.log)"
    cat "$logs/build.log" | head -n 30
fi

failed_rung=""
[ -n "$first_fail" ] && failed_rung=build

want() { # want RUNG: 0 if the rung is to run now
    [ -z "$failed_rung" ] || return 1
    [ -z "$only" ] || [ "$only" = "$1" ]
}

# ---- rung: exercises ------------------------------------------------------------------
if [ "$engine" != - ]; then
    row rung exercises skipped "an ENGINE is graded through kv.h only" ""
elif want exercises; then
    say "exercises: each exercise's unit tests, in order"
    bad=0 total=0
    tab=$(printf '\t')
    ex -v mode=table >"$logs/table"
    while IFS=$tab read -r n name file fns section; do
        [ -z "$filter" ] || [ "$filter" = "$name" ] || continue
        total=$((total + 1))
        log=$logs/exercise-$name.log
        run_log "$log" 300 "$out/exercisetest" "$name/"
        status=$?
        sum=$(summary "$log")
        if [ $status -eq 0 ] && [ -n "$sum" ]; then
            row exercise "$n $name" pass "$sum" "$section"
            say "exercise $n $name: ok ($sum)"
            continue
        fi
        bad=$((bad + 1))
        stub=$(grep -o "exercise $name ([A-Za-z0-9_]*) is not written yet" "$log" | head -n 1)
        [ -n "$stub" ] ||
            stub=$(grep -o 'exercise [A-Za-z0-9_]* ([A-Za-z0-9_]*) is not written yet' "$log" | head -n 1)
        if [ $status -eq 124 ]; then
            what="its tests did not finish in 300 s (a loop that never ends?)"
        elif [ -n "$stub" ] && echo "$stub" | grep -q "^exercise $name "; then
            what="not written yet (its stub is still in $ws/$file)"
        elif [ -n "$stub" ]; then
            what="blocked: it needs another one first: $stub"
        else
            what=$(first_check "$log")
            [ -n "$what" ] || what="see $log"
        fi
        row exercise "$n $name" FAIL "$what" "$section"
        note_fail "exercise $name: $what" "$section"
        say "exercise $n $name: FAILED: $what"
    done <"$logs/table"
    if [ $bad -eq 0 ]; then
        row rung exercises pass "all $total" ""
    else
        row rung exercises FAIL "$((total - bad)) of $total exercises pass" ""
        failed_rung=exercises
    fi
fi

# rung_fail RUNG WHAT: the rung failed.
rung_fail() {
    sec=$(rung_section "$1")
    row rung "$1" FAIL "$2" "$sec"
    note_fail "$1: $2" "$sec"
    failed_rung=$1
    say "$1: FAILED: $2"
}

# ---- rung: suites -----------------------------------------------------------------------
if want suites; then
    say "suites: the stage suite (kvtest), suite by suite$( [ "$has_stagetest" = yes ] && [ "$engine" = - ] && echo ", then the stage's unit tests (stagetest)")"
    suites="stage_caps conformance iterator snapshot lifecycle batch concurrency concurrency_snapshot stress model fault badfile tools"
    [ -z "$filter" ] || suites=$(echo "$filter" | sed 's/^stagetest$//')
    for s in $suites; do
        if [ "$engine" != - ] && [ "$uses_io" = 0 ] && [ "$s" = fault ]; then
            say "suites: fault: skipped: the engine does no I/O through common/io.h, where the faults are injected"
            continue
        fi
        log=$logs/kvtest-$s.log
        run_log "$log" 600 "$out/kvtest" "$s/"
        status=$?
        sum=$(summary "$log")
        if [ $status -ne 0 ] || [ -z "$sum" ]; then
            what=$(first_check "$log")
            [ $status -eq 124 ] && what="kvtest $s/ did not finish in 600 s"
            [ -n "$what" ] || what="kvtest $s/ exited with status $status (see $log)"
            rung_fail suites "$s: $what"
            break
        fi
        say "suites: $s: ok ($sum)"
    done
    if [ -z "$failed_rung" ] && [ "$has_stagetest" = yes ] && [ "$engine" = - ] &&
       { [ -z "$filter" ] || [ "$filter" = stagetest ]; }; then
        log=$logs/stagetest.log
        run_log "$log" 600 "$out/stagetest"
        status=$?
        sum=$(summary "$log")
        if [ $status -ne 0 ] || [ -z "$sum" ]; then
            what=$(first_check "$log")
            rung_fail suites "stagetest: ${what:-exit status $status (see $log)}"
        else
            say "suites: stagetest: ok ($sum)"
        fi
    fi
    [ -n "$failed_rung" ] || row rung suites pass "" ""
fi

# ---- rung: crash --------------------------------------------------------------------------
if want crash; then
    modes=""
    if [ "$engine" != - ] && [ "$uses_io" = 0 ]; then
        modes="--kill"
        say "crash: process kills only: the engine does no I/O through common/io.h, where power loss and I/O errors are simulated"
    else
        say "crash: process kills, power loss at every sync, failing I/O calls (crashtest --quick)"
    fi
    # --filter: crashtest's own options (--power, --sync1, ...).
    [ -z "$filter" ] || modes="$modes $filter"
    log=$logs/crashtest.log
    run_log "$log" 900 "$out/crashtest" --quick $modes
    status=$?
    sum=$(summary "$log")
    if [ $status -ne 0 ] || [ -z "$sum" ]; then
        what=$(grep -m1 '^FAIL: ' "$log" | sed 's/^FAIL: //')
        [ $status -eq 124 ] && what="crashtest did not finish in 900 s"
        rung_fail crash "${what:-crashtest exited with status $status (see $log)}"
    else
        row rung crash pass "$sum" ""
        say "crash: ok ($sum)"
    fi
fi

# ---- rung: sweep ----------------------------------------------------------------------------
if want sweep; then
    say "sweep: every byte of every file of a small database flipped, then cut"
    log=$logs/sweep.log
    run_log "$log" 900 "$out/kvtest" sweep/
    status=$?
    sum=$(summary "$log")
    if [ $status -ne 0 ] || [ -z "$sum" ]; then
        what=$(first_check "$log")
        rung_fail sweep "${what:-exit status $status (see $log)}"
    else
        row rung sweep pass "$sum" ""
        say "sweep: ok ($sum)"
    fi
fi

# ---- rung: fuzz -------------------------------------------------------------------------------
if want fuzz; then
    secs=${GRADE_FUZZ_SECONDS:-15}
    [ "$engine" = - ] || fuzz_targets=api
    [ -z "$filter" ] || fuzz_targets=$filter
    # GRADE_FUZZ_RUNS=N: N inputs from seed 1 instead of a time (grade/check.sh:
    # the same inputs every time).
    fuzz_limit="-max_total_time=$secs"
    [ -z "${GRADE_FUZZ_RUNS:-}" ] || fuzz_limit="-runs=$GRADE_FUZZ_RUNS -seed=1"
    say "fuzz: building the harnesses ($fuzz_targets) with clang"
    fuzz_bins=""
    for t in $fuzz_targets; do fuzz_bins="$fuzz_bins $out/fuzz/$t"; done
    seeds_missing=""
    for t in $fuzz_targets; do
        [ -d "build/fuzz/seeds/$stage-$t" ] || seeds_missing="$seeds_missing $stage:$t"
    done
    if ! { $MAKE --no-print-directory -s deps DEPS=fuzz &&
           mk -j2 $fuzz_bins "build/$stage/kv"; } >"$logs/fuzz-build.log" 2>&1; then
        what=$(grep -m1 -E 'error|undefined reference' "$logs/fuzz-build.log")
        rung_fail fuzz "the harnesses did not build: ${what:-see $logs/fuzz-build.log}"
    elif [ -n "$seeds_missing" ] &&
         ! sh scripts/fuzz_seeds.sh build/fuzz/seeds $seeds_missing >"$logs/fuzz-seeds.log" 2>&1; then
        rung_fail fuzz "the seeds could not be made (see $logs/fuzz-seeds.log)"
    else
        for t in $fuzz_targets; do
            say "fuzz: $t for $( [ -n "${GRADE_FUZZ_RUNS:-}" ] && echo "$GRADE_FUZZ_RUNS inputs" || echo "$secs s")"
            corpus=$out/fuzz/corpus-$t
            mkdir -p "$corpus"
            log=$logs/fuzz-$t.log
            dict=""
            [ -f "fuzz/dict/$t.dict" ] && dict="-dict=fuzz/dict/$t.dict"
            regs=""
            [ -d "fuzz/regressions/$t" ] && regs="fuzz/regressions/$t"
            if timeout $((secs + 120)) "$out/fuzz/$t" $fuzz_limit -timeout=10 \
                -rss_limit_mb=2048 -artifact_prefix="$out/fuzz/crash-$t-" $dict \
                "$corpus" "build/fuzz/seeds/$stage-$t" $regs >"$log" 2>&1; then
                say "fuzz: $t: ok ($(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1))"
            else
                what=$(grep -m1 -E 'ERROR: |invariant broken|runtime error|SUMMARY' "$log")
                input=$(ls -t "$out/fuzz/crash-$t-"* 2>/dev/null | head -n 1)
                rung_fail fuzz "$t: ${what:-see $log}${input:+ (the input: $input; replay it: $out/fuzz/$t $input)}"
                break
            fi
        done
        [ -n "$failed_rung" ] || row rung fuzz pass "$(echo $fuzz_targets), $secs s each" ""
    fi
fi

# ---- rung: speed ------------------------------------------------------------------------------
if want speed; then
    min=${GRADE_SPEED_MIN:-0.25}
    case $stage in
    01-*) num=5000 ;;
    *) num=100000 ;;
    esac
    works=fillrandom,overwrite,readrandom,readseq
    say "speed: kvbench, $num keys ($works), yours and the reference's, alternately"
    if ! $MAKE --no-print-directory -s "build/$stage/kvbench" >"$logs/speed-build.log" 2>&1; then
        rung_fail speed "the reference's kvbench did not build (see $logs/speed-build.log)"
    else
        db=$(mktemp -d "$TMPDIR/grade-bench.XXXXXX")
        for rep in 1 2; do
            for who in ref yours; do
                bin=build/$stage/kvbench
                [ $who = yours ] && bin=$out/kvbench
                rm -rf "$db/$who"
                timeout 600 "$bin" --num=$num --seconds=5 --fill_seconds=30 --benchmarks=$works \
                    --db="$db/$who" >"$logs/speed-$who-$rep.log" 2>&1
            done
        done
        rm -rf "$db"
        verdict=$(for w in $(echo $works | tr , ' '); do
            best() { grep -h "^$w " "$logs"/speed-$1-*.log | sed 's/.*; *\([0-9.]*\) ops\/sec.*/\1/' | sort -g | tail -n 1; }
            echo "$w $(best ref) $(best yours)"
        done | awk -v min="$min" '
            { if ($2 == "" || $3 == "" || $2 + 0 == 0) { bad = bad " " $1 " (no figure)"; next }
              r = $3 / $2; line = line sprintf(" %s %.2fx", $1, r)
              if (r < min) bad = bad sprintf(" %s at %.2fx the reference'"'"'s speed", $1, r) }
            END { print (bad == "" ? "pass" : "FAIL") "\t" (bad == "" ? line : bad) }')
        if [ "${verdict%%	*}" = pass ]; then
            row rung speed pass "${verdict#*	}" ""
            say "speed: ok:${verdict#*	}"
        else
            rung_fail speed "below ${min}x:${verdict#*	}"
        fi
    fi
fi

# ---- the scorecard --------------------------------------------------------------------------
for r in build exercises suites crash sweep fuzz speed; do
    grep -q "^rung	$r	" "$card" && continue
    if [ -n "$only" ] && [ "$r" != "$only" ] && [ "$r" != build ]; then
        row rung "$r" skipped "--only $only" ""
    else
        row rung "$r" "not run" "an earlier rung failed" ""
    fi
done
echo
echo "Scorecard: stage $stage, $( [ "$engine" = - ] && echo "workspace $ws" || echo "engine $engine") ($(now) s)"
awk -F '\t' '
    $1 == "exercise" { printf "  exercise %-22s %-5s %s\n", $2, $3, $4 }
    $1 == "rung" { rungs[++n] = $0 }
    END { for (i = 1; i <= n; i++) { split(rungs[i], f, "\t");
            printf "  rung     %-22s %-8s %s\n", f[2], f[3], f[4] } }' "$card"
if [ -n "$first_fail" ]; then
    echo
    echo "First failing check: ${first_fail%%	*}"
    sec=${first_fail#*	}
    case $sec in
    "") ;;
    *the\ compiler*) echo "Read: $sec" ;;
    *) echo "Reread: $page, \"$sec\"" ;;
    esac
    echo "Logs: $logs/"
    exit 1
fi
echo
if [ -n "$only" ]; then
    echo "The rung $only passed."
else
    echo "Every rung passed."
fi
exit 0
