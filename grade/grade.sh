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
#                                           kvtest suite F (or "stagetest",
#                                           or "stagetest NAME": its tests
#                                           whose names hold NAME);
#                                           with --only fuzz, harness F;
#                                           with --only crash, crashtest's
#                                           options (--power --sync1)
#
# The rungs, in order; the grade stops at the first that fails:
#   build      the stage with the workspace's files in place of the
#              reference's (grade/grade.mk); with --engine, the tests
#              linked with LIB.a.  The build follows what it is given, not
#              file times (grade/inputs.sh): another workspace, an older
#              library or a file copied back with its old time is built
#              again, never graded from the previous build
#   exercises  each exercise's unit tests (grade/tests/STAGE/NAME_test.c),
#              every exercise run and reported (skipped with --engine)
#   suites     every suite of the stage suite (build/S/kvtest --list: the
#              API's rules, iterators, snapshots, batches, threads, the model
#              tests, transactions, inspection, I/O faults, bad files, tools;
#              the sweep is a rung of its own), each by its exact name, then
#              the stage's own unit tests (stagetest; skipped with --engine:
#              they reach inside)
#   race       the exercises' tests named *_race_*, then the threaded
#              suites (tests/race/), built with ThreadSanitizer, which
#              reports any data race (a store that publishes without
#              release order), after the rule the racing exercise test
#              gave (ex_race_rule);
#              with --engine only if ENGINE_TSAN names the engine built
#              with -fsanitize=thread
#   crash      the exercises' tests named *_kill_* (a multi-step procedure,
#              a restore or a collection, killed after each of its file
#              operations), then crashtest --quick --kill: process kills at
#              random moments
#   power      the exercises' tests named *_power_* (the same procedures,
#              the power cut after each file operation), then
#              power loss at every sync of a recorded workload, and every
#              I/O call failing in turn (crashtest --quick --power --ioerr,
#              through common/io.h's simulator); with --engine also the
#              power cuts of kvgrade's file system that forgets what was
#              not fsynced (docs/kvgrade.md), through OUT/kv serve --stdio:
#              the only power loss an engine doing its own file I/O gets
#              (its I/O errors are then not checked, and the grade says so)
#   sweep      the corruption sweep: every byte of every file flipped, and
#              cut (tests/sweep.c)
#   fuzz       each libFuzzer harness of the formats the stage's exercises
#              decode (FUZZ_<stage>, GRADE_FUZZ_<stage>), a set number of
#              inputs each (the list's `runs`), from the seeds the
#              reference makes and the inputs of the exercises' tests
#              (with --engine: the API harness alone)
#   speed      kvbench on the engine and on the reference, alternately,
#              three pairs (five when they disagree): a workload whose best
#              ratio is below 1/4 of the reference's fails
#              (GRADE_SPEED_MIN, a fraction); the median and the spread
#              are reported
# It prints a line as each step starts and ends, then the scorecard: every
# exercise and rung, passed, failed or skipped (and why), the first
# failing check in plain words, the page section to reread, and what was
# not checked.  Exit status: 0 only if every rung ran and passed; 1 if one
# failed; 3 if none failed but a check was skipped (the grade is then
# incomplete, and says which of the stage's promises went unchecked); 2 if
# it was called wrongly.  (Through make grade, any status but 0 is make's 2.)
# Logs are kept in the build directory (OUT/logs/).
set -u
here=$(dirname "$0")
MAKE=${MAKE:-make}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
RUNGS="build exercises suites race crash power sweep fuzz speed"

usage() {
    echo "usage: sh grade/grade.sh STAGE (WORKSPACE | --engine LIB.a) [--out DIR] [--only RUNG] [--filter F]" >&2
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
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
    --filter) [ $# -ge 2 ] || usage; filter=$2; shift 2 ;;
    *) usage ;;
    esac
done
case " $RUNGS " in
*" ${only:-build} "*) ;;
*) echo "grade: --only takes one of: $(echo $RUNGS | sed 's/^build //')" >&2; exit 2 ;;
esac
list=$here/$stage.exercises
page=docs/$stage.md
. "$here/section_page.sh"
# Absolute paths of the workspace and the project, to say a crash's
# source file as the learner sees it (crash_site).
rootabs=$(cd "$here/.." && pwd)
wsabs=""
[ "$ws" = - ] || wsabs=$(cd "$ws" 2>/dev/null && pwd)
[ -f "$list" ] || { echo "grade: stage $stage has no exercises ($list)" >&2; exit 2; }
if [ "$engine" = - ] && [ ! -d "$ws" ]; then
    echo "grade: no workspace $ws: make one with  make learn STAGE=$stage" >&2
    exit 2
fi
if [ "$engine" != - ] && [ ! -f "$engine" ]; then
    echo "grade: no engine library $engine" >&2
    exit 2
fi
engine_tsan=${ENGINE_TSAN:-}
if [ -n "$engine_tsan" ] && [ ! -f "$engine_tsan" ]; then
    echo "grade: no ThreadSanitizer build of the engine $engine_tsan (ENGINE_TSAN)" >&2
    exit 2
fi
# Each workspace and each engine library has a build of its own, named by
# its path (and grade/inputs.sh makes it follow the files' contents).
if [ -z "$out" ]; then
    what=$( [ "$engine" = - ] && echo "$ws" || echo "$engine")
    abs=$(cd "$(dirname "$what")" && pwd)/$(basename "$what")
    key=$(echo "$abs" | cksum | awk '{ printf "%08x", $1 }')
    out=build/grade/$stage/$( [ "$engine" = - ] && echo ws || echo engine)-$(basename "$what" | tr -c 'A-Za-z0-9._\n-' _)-$key
fi
logs=$out/logs
rm -rf "$logs"
mkdir -p "$logs"
build="$out@$stage@$ws@$engine"
EX_SEEDS=$out/fuzz/tests
export EX_SEEDS
ex() { awk -f "$here/exercises.awk" -v list="$list" "$@"; }
mk() { $MAKE --no-print-directory -s GRADE_BUILDS="$build" "$@"; }
. "$here/clock.sh" # seconds: the clock in $secs
seconds
started=$secs
now() { seconds; echo $((secs - started)); }
# printf, not echo: a message may hold a backslash (an escaped key), which
# dash's echo would turn into a control character.
say() { seconds; printf 'grade: [%s s] %s\n' "$((secs - started))" "$*"; }
# What the stage promises of sync = 1 (tests/stage_caps.c): from stage 03
# on, a write acknowledged with sync = 1 survives a power loss.
case $stage in
01-* | 02-*) durable=0 ;;
*) durable=1 ;;
esac

# The scorecard's rows: "KIND<TAB>NAME<TAB>RESULT<TAB>DETAIL<TAB>SECTION",
# appended as the grade goes; RESULT is pass, FAIL, skipped, "not run", or
# n/a (an engine's exercises: it has none).
# A check that could not run is a row of its own in "unchecked" (what, and
# why), so that the scorecard never reads "passed" for it.
card=$logs/scorecard
unchecked=$logs/unchecked
: >"$card"
: >"$unchecked"
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$card"; }
not_checked() { printf '%s\t%s\n' "$1" "$2" >>"$unchecked"; }
first_fail=""   # "what<TAB>section" of the first failure
note_fail() { [ -n "$first_fail" ] || first_fail=$(printf '%s\t%s' "$1" "$2"); }
# rung_section RUNG [TEST]: the section to reread when TEST (suite/test)
# fails the rung: the list's `tests` of the rung name one for some tests
# (exercises.awk), else the rung's own.
rung_section() { s=$(ex -v mode=rung-section -v name="$1" -v test="${2:-}"); echo "${s:-}"; }
# rule_section WHAT: the section of the rule a failure's words name ("rule
# N of EXERCISE", or "rules 1, 2 and 3 of EXERCISE": the first, as the
# tests write them: grade/tests/exercise.h), the one its `rule N reread`
# gives; nothing if they name no rule of the list.
rule_section() {
    _r=$(printf '%s\n' "$1" |
        grep -oE -m1 'rules? [0-9]+((, | and | to )[0-9]+)* of [a-z0-9_]+' | head -n 1)
    [ -n "$_r" ] || return 0
    set -- $_r
    _n=$2
    shift $(($# - 1))
    ex -v mode=rule-section -v name="$1" -v n="${_n%,}"
}
# test_of WHAT: the first test name (suite/test) in a failure's words.
test_of() {
    printf '%s\n' "$1" | grep -o -m1 '[A-Za-z0-9_][A-Za-z0-9_]*/[A-Za-z0-9_][A-Za-z0-9_]*' | head -n 1
}

# printable: standard input with bytes a terminal would not show (a NUL
# in a key, say) written as "?".
printable() { LC_ALL=C tr -c '[:print:]\n\t' '?'; }
# first_check LOG: the first failing check of a harness log (every line
# its test printed, joined: the whole message), or of crashtest's (its
# first "FAIL:" and the lines under it), in one line (grade/first_check.awk).
first_check() {
    printable <"$1" | awk -f "$here/first_check.awk" | head -n 1
}
# crash_site BINARY: standard input (one failure's words) with a test's
# "crash frames: 0x... 0x..." (grade/tests/exercise_crash.c) put in words:
# the function and line that crashed and its callers up to the test,
# named by addr2line from BINARY's debugging information.  The first
# frame is the instruction that faulted; the others are return addresses,
# each looked up one byte back (inside its call).
# Without addr2line, or frames it cannot place, the words stay as they are
# without the addresses.
crash_site() {
    _msg=$(cat)
    case $_msg in *"crash frames: 0x"*) ;; *) printf '%s\n' "$_msg"; return ;; esac
    _frames=$(printf '%s\n' "$_msg" | sed 's/.*crash frames: \(\(0x[0-9a-f]* *\)*\).*/\1/')
    _rest=$(printf '%s\n' "$_msg" | sed 's/crash frames: \(0x[0-9a-f]* *\)*//')
    _where=""
    if command -v addr2line >/dev/null 2>&1; then
        _back=0
        _where=$(for a in $_frames; do printf '0x%x\n' $((a - _back)); _back=1; done |
            addr2line -f -i -e "$1" 2>/dev/null |
            awk -v ws="$wsabs/" -v root="$rootabs/" '
                NR % 2 == 1 { fn = $0; next }
                { file = $0; sub(/ \(discriminator [0-9]+\)$/, "", file)
                  if (fn == "??" || file ~ /^\?\?/ || file ~ /\/tests\/harness\.c/) next
                  # The allocator of the grade: the C library stopped in it
                  # (a heap it found damaged); the caller is named.
                  if (file ~ /\/grade\/tests\/exercise_[a-z]+\.c/) {
                      if (fn ~ /^__wrap_/ && n == 0 && !done) heap = 1
                      next }
                  if (index(file, ws) == 1) file = substr(file, length(ws) + 1)
                  else if (index(file, root) == 1) file = substr(file, length(root) + 1)
                  if (file ~ /^grade\/tests\//) {
                      # The test itself: it crashed reading what the
                      # code under test gave back (a NULL, say), unless
                      # that code is already named below it.
                      if (n == 0 && !done)
                          s = " in " fn " (" file "), the test reading what the code under test gave back"
                      done = 1; next }
                  if (done) next
                  n++; s = s (n == 1 ? " in " : ", called from ") fn " (" file ")"
                  if (n == 4) done = 1 }
                END { if (heap) s = s " (the C library found its heap damaged there: a write past the end of a block, earlier)"
                      printf "%s", s }')
    fi
    printf '%s\n' "$_rest" | awk -v w="$_where" '{
        if (match($0, /killed by signal 14 \([^)]*\)/))
            w = w " (every thread of the test was waiting, none running, for a while: a wait nobody ends?)"
        if (match($0, /killed by signal 27 \([^)]*\)/))
            w = w " (the test had used its CPU time and not ended: a loop that never ends?)"
        if (match($0, /killed by signal 4 \([^)]*\)/))
            w = w " (an index past the end of an array, or NULL handed to a call such as memcpy: the grade builds your files to trap both)"
        if (w != "" && match($0, /killed by signal [0-9]+ \([^)]*\)/))
            $0 = substr($0, 1, RSTART + RLENGTH - 1) w substr($0, RSTART + RLENGTH)
        print }'
}
# crashed LOG STATUS: for a harness killed by a signal (status 128 + N, as
# timeout passes it on), which test it was running and the signal, in
# words; else nothing.
crashed() {
    [ "$2" -gt 128 ] && [ "$2" -ne 137 ] || return 0
    t=$(sed -n 's/^RUN  *//p' "$1" | tail -n 1)
    printf '%s was killed by SIG%s: the engine crashed (a call into kv.h must return an error, never crash) (see %s)' \
        "${t:-the harness}" "$(kill -l $(($2 - 128)) 2>/dev/null || echo $(($2 - 128)))" "$1"
}
# running LOG: the test a harness's log shows running last (its last
# "RUN  suite/test"), for a run cut at its time limit.
running() { sed -n 's/^RUN  *//p' "$1" | tail -n 1; }
# summary LOG: "N passed, N failed" of a log, or nothing.
summary() { grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1; }
# run_log LOG SECONDS CMD...: runs it with a time limit; its status.
# GRADE_RUN_CAP=S (grade/mutants.sh) caps every limit at S seconds: a
# mutant whose loop never ends is caught in S seconds, not in minutes.
run_log() {
    log=$1 limit=$2
    shift 2
    [ -n "${GRADE_RUN_CAP:-}" ] && [ "$limit" -gt "$GRADE_RUN_CAP" ] && limit=$GRADE_RUN_CAP
    timeout "$limit" "$@" >"$log" 2>&1
}

# ---- the workspace ------------------------------------------------------------------
# What make knows of the stage (grade-info in grade/grade.mk), a line each.
info=${GRADE_INFO:-$(mk grade-info GRADE_STAGE="$stage" 2>/dev/null)}
has_stagetest="" fuzz_targets="" sources=""
while IFS= read -r line; do
    case $line in
    stagetest=*) has_stagetest=${line#*=} ;;
    fuzz=*) fuzz_targets=${line#*=} ;;
    sources=*) sources=${line#*=} ;;
    esac
done <<EOF
$info
EOF
own_io=0
if [ "$engine" = - ]; then
    # The stage's source files the workspace holds, one a line.
    mine="" nmine=0
    for f in $sources; do
        [ -f "$ws/$f" ] || continue
        mine="$mine${mine:+
}$f"
        nmine=$((nmine + 1))
    done
    if [ -z "$mine" ]; then
        echo "grade: $ws holds none of stage $stage's source files: make learn STAGE=$stage" >&2
        exit 2
    fi
    say "stage $stage from $ws: $nmine files of yours ($(echo $mine)); the reference for the rest"
    ws_files=$(cd "$ws" && find . -name '*.[ch]' | sed 's|^\./||')
    for f in $ws_files; do
        case $f in *.h) continue ;; esac
        case "
$mine
" in
        *"
$f
"*) ;;
        *) say "note: $ws/$f is not one of stage $stage's source files: it is not used" ;;
        esac
    done
    for f in $ws_files; do
        case $f in *.c) continue ;; esac
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
    # The power-loss simulator and the I/O faults work by swapping
    # common/io.h's backend, so they see an engine's files only if all of
    # its file I/O goes through io.h: it has io_append, and none of its
    # objects but common's backends (those defining io_posix_ops,
    # posix_grow_append, io_ring_ops or io_sim_install) calls the system's file calls
    # itself.  Otherwise its I/O errors cannot be injected (its power is
    # cut by kvgrade's file system either way: the power rung).
    own_io=$(nm -A "$engine" 2>/dev/null | awk '
        { split($1, m, ":"); obj = m[2]; sym = $NF; kind = $(NF - 1) }
        kind ~ /^[TDRB]$/ && (sym == "io_posix_ops" || sym == "posix_grow_append" ||
                              sym == "io_sim_install" || sym == "io_ring_ops") { backend[obj] = 1 }
        (kind == "U" || kind == "T") && sym == "io_append" { uses_io = 1 }
        kind == "U" && sym ~ /^(open|open64|openat|openat64|creat|creat64|write|pwrite|pwrite64|writev|pwritev|pwritev2|fsync|fdatasync|syncfs|sync_file_range|rename|renameat|renameat2|unlink|unlinkat|ftruncate|ftruncate64|fopen|fopen64|fwrite|mmap|mmap64|msync)$/ { raw[obj] = raw[obj] " " sym }
        END { own = !uses_io
              for (o in raw) if (!(o in backend)) { own = 1; print o ":" raw[o] > "/dev/stderr" }
              print own }' 2>"$logs/own-io.txt")
    if [ "$own_io" = 1 ]; then
        say "note: the engine does file I/O of its own$( [ -s "$logs/own-io.txt" ] && echo " ($(head -n 3 "$logs/own-io.txt" | tr '\n' ';'))"), not only through common/io.h: its I/O faults cannot be injected"
    fi
fi

# ---- rung: build --------------------------------------------------------------------
# The build follows the inputs' contents, not their times (GRADE_PREBUILT,
# below: the builder saw to that before it built).
[ -n "${GRADE_PREBUILT:-}" ] || sh "$here/inputs.sh" "$out" "$stage" "$ws" "$engine"
say "build: compiling $( [ "$engine" = - ] && echo "your files" || echo "nothing of the engine"), linking the tests"
targets="$out/kvtest $out/crashtest $out/kvbench"
[ "$engine" = - ] && targets="$out/libkv.a $out/exercisetest $targets"
[ "$engine" = - ] && [ "$has_stagetest" = yes ] && targets="$targets $out/stagetest"
[ "$engine" != - ] && targets="$targets $out/kv"
# --only RUNG builds what that rung runs, no more.
case $only in
exercises) targets="$out/exercisetest" ;;
suites) targets="$out/kvtest$( [ "$engine" = - ] && [ "$has_stagetest" = yes ] && echo " $out/stagetest")" ;;
race) targets="$out/kvtest" ;; # the rung builds its own, with ThreadSanitizer
crash) targets="$out/crashtest$( [ "$engine" = - ] && echo " $out/exercisetest")" ;;
power) targets="$out/crashtest$( [ "$engine" != - ] && echo " $out/kv" || echo " $out/exercisetest")" ;;
sweep) targets="$out/kvtest" ;;
speed) targets="$out/kvbench" ;;
fuzz) targets="$out/kvtest" ;; # the harnesses are built by the rung
esac
# --only crash or power with --filter of an exercise (not crashtest's
# options): its procedures alone.
case $only in
crash | power) if [ -n "$filter" ] && [ -n "${filter%%-*}" ]; then targets="$out/exercisetest"; fi ;;
esac
# The reference's objects are built (or found up to date) first, two at a
# time; then the rest.
# GRADE_PREBUILT=1 (grade/check.sh, which builds many at once): the
# targets were made already (after grade/inputs.sh); only their presence
# is checked.
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
    what=$(grep -m1 -E 'error|undefined reference' "$logs/build.log" | printable)
    row rung build FAIL "${what:-see $logs/build.log}" ""
    note_fail "build: ${what:-see $logs/build.log}" "the compiler's message ($logs/build.log)"
    say "build: FAILED (see $logs/build.log)"
    head -n 30 "$logs/build.log"
fi

failed_rung=""
[ -n "$first_fail" ] && failed_rung=build

want() { # want RUNG: 0 if the rung is to run now
    [ -z "$failed_rung" ] || return 1
    [ -z "$only" ] || [ "$only" = "$1" ]
}

# ---- rung: exercises ------------------------------------------------------------------
if [ "$engine" != - ]; then
    row rung exercises n/a "an ENGINE has no exercises: it is graded through kv.h only" ""
elif want exercises; then
    say "exercises: each exercise's unit tests, in order"
    # The inputs the tests feed the exercises' decoders, kept as the fuzz
    # rung's seeds (ex_seed, grade/tests/exercise.h).
    rm -rf "$out/fuzz/tests"
    bad=0 total=0
    tab=$(printf '\t')
    ex -v mode=table >"$logs/table"
    while IFS=$tab read -r n name file fns section; do
        [ -z "$filter" ] || [ "$filter" = "$name" ] || continue
        total=$((total + 1))
        log=$logs/exercise-$name.log
        # The tests named *_kill_* and *_power_* cut a multi-step
        # procedure at each of its steps: the crash and power rungs run them.
        run_log "$log" 300 "$out/exercisetest" --suite "$name" '!_kill_,!_power_'
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
        # A run cut at its time limit may have failed tests before the
        # cut (a test that ran out of its own time is placed like a
        # crash: grade/tests/exercise_crash.c): the first is reported.
        if [ $status -eq 124 ] && [ -z "$(first_check "$log")" ]; then
            what="its tests did not finish in $limit s (a loop that never ends?)"
        elif [ -n "$stub" ] && echo "$stub" | grep -q "^exercise $name "; then
            what="not written yet (its stub is still in $ws/$file)"
        elif [ -n "$stub" ]; then
            what="blocked: it needs another one first: $stub"
        else
            what=$(first_check "$log" | crash_site "$out/exercisetest")
            [ -n "$what" ] || what="see $log"
            # A test that ended holding blocks names no rule of its own:
            # the exercise's rule of what it frees (the list's `leaks`).
            case $what in *" still allocated"*)
                if [ -z "$(rule_section "$what")" ]; then
                    _lr=$(ex -v mode=get -v kind=exercise -v name="$name" -v key=leaks)
                    [ -z "$_lr" ] || what="rule ${_lr%% *} of $name (${_lr#* (}: $what"
                fi ;;
            esac
        fi
        # The rule the failing check names has a section of its own.
        sec=$(rule_section "$what")
        row exercise "$n $name" FAIL "$what" "${sec:-$section}"
        note_fail "exercise $name: $what" "${sec:-$section}"
        say "exercise $n $name: FAILED: $what"
        # GRADE_STOP_AT_FIRST=1 (grade/mutants.sh): the first failing
        # exercise is all that is asked.
        [ -z "${GRADE_STOP_AT_FIRST:-}" ] || break
    done <"$logs/table"
    if [ $total -eq 0 ]; then
        echo "grade: no exercise is called $filter" >&2
        exit 2
    elif [ $bad -eq 0 ]; then
        row rung exercises pass "all $total" ""
    else
        row rung exercises FAIL "$((total - bad)) of $total exercises pass" ""
        failed_rung=exercises
    fi
fi

# rung_fail RUNG WHAT [TEST]: the rung failed.  A failure whose words
# name no rule of the list is said to break the rule its test checks, when
# the rung's `rules` name one for it (TEST, or the first suite/test in its
# words: the test of a suite, a harness/ of the fuzz rung): "rule N of
# EXERCISE (what), which TEST checks: WHAT".  The section to reread is
# that rule's, else the failing test's, when the list names one for it.
rung_fail() {
    _what=$2
    _test=${3:-$(test_of "$2")}
    if [ -z "$(rule_section "$_what")" ] && [ -n "$_test" ]; then
        _rule=$(ex -v mode=rung-rule -v name="$1" -v test="$_test")
        [ -z "$_rule" ] || _what="$_rule, which ${_test%/} checks: $_what"
    fi
    sec=$(rule_section "$_what")
    [ -n "$sec" ] || sec=$(rung_section "$1" "$_test")
    row rung "$1" FAIL "$_what" "$sec"
    note_fail "$1: $_what" "$sec"
    failed_rung=$1
    say "$1: FAILED: $_what"
}
# rung_skip RUNG WHY: the rung could not run; the grade says so.
rung_skip() {
    row rung "$1" skipped "$2" ""
    not_checked "$1" "$2"
    say "$1: SKIPPED: $2"
}

# ---- rung: suites -----------------------------------------------------------------------
# Every suite kvtest has (its own registry, --list), each by its exact
# name; the sweep is a rung of its own.
if want suites; then
    say "suites: every suite of the stage suite (kvtest), one by one$( [ "$has_stagetest" = yes ] && [ "$engine" = - ] && echo ", then the stage's unit tests (stagetest)")"
    suites=$("$out/kvtest" --list 2>/dev/null | grep -vx sweep)
    if [ -z "$suites" ]; then
        rung_fail suites "kvtest --list named no suite (see $out/kvtest)"
    fi
    # --filter "stagetest NAME": the stage's unit tests whose suite/test
    # names hold NAME (the harness's own filter), and nothing else.
    stage_filter=""
    case $filter in "stagetest "*) stage_filter=${filter#stagetest }; filter=stagetest ;; esac
    [ -z "$filter" ] || suites=$(echo "$filter" | sed 's/^stagetest$//')
    npass=0
    for s in $suites; do
        [ -z "$failed_rung" ] || break
        if [ "$own_io" = 1 ] && [ "$s" = fault ]; then
            not_checked "suites: fault" "I/O errors are injected through common/io.h, and the engine does file I/O of its own"
            say "suites: fault: SKIPPED: the engine does file I/O of its own, where common/io.h cannot fail its calls"
            continue
        fi
        log=$logs/kvtest-$s.log
        run_log "$log" 600 "$out/kvtest" --suite "$s"
        status=$?
        sum=$(summary "$log")
        if [ $status -ne 0 ] || [ -z "$sum" ]; then
            what=$(first_check "$log")
            [ $status -eq 124 ] && what="$(running "$log"): kvtest --suite $s did not finish in its time (a loop that never ends?)"
            [ -n "$what" ] || what=$(crashed "$log" $status)
            [ -n "$what" ] || what="kvtest --suite $s exited with status $status (see $log)"
            rung_fail suites "$s: $what"
            break
        fi
        npass=$((npass + 1))
        say "suites: $s: ok ($sum)"
    done
    if [ -z "$failed_rung" ] && [ "$has_stagetest" = yes ] && [ "$engine" = - ] &&
       { [ -z "$filter" ] || [ "$filter" = stagetest ]; }; then
        log=$logs/stagetest.log
        run_log "$log" 600 "$out/stagetest" ${stage_filter:+"$stage_filter"}
        status=$?
        sum=$(summary "$log")
        if [ $status -ne 0 ] || [ -z "$sum" ]; then
            what=$(first_check "$log")
            [ -n "$what" ] || [ $status -ne 124 ] ||
                what="$(running "$log"): stagetest did not finish in its time (a loop that never ends?)"
            [ -n "$what" ] || what=$(crashed "$log" $status)
            rung_fail suites "stagetest: ${what:-exit status $status (see $log)}"
        else
            say "suites: stagetest: ok ($sum)"
        fi
    fi
    if [ -z "$failed_rung" ]; then
        # What ran: --filter names one suite, or stagetest alone.
        ran_stagetest=0
        [ "$has_stagetest" = yes ] && [ "$engine" = - ] &&
            { [ -z "$filter" ] || [ "$filter" = stagetest ]; } && ran_stagetest=1
        if [ "$npass" -eq 0 ] && [ $ran_stagetest = 1 ]; then
            detail="stagetest${stage_filter:+ ($stage_filter)}"
        else
            detail="$npass suite$( [ "$npass" -eq 1 ] || echo s)$( [ -n "$filter" ] && echo " ($filter)")$( [ $ran_stagetest = 1 ] && echo " and stagetest")"
        fi
        grep -q '^suites: fault	' "$unchecked" && detail="$detail; fault skipped (own I/O)"
        row rung suites pass "$detail" ""
    fi
fi

# ---- rung: race ---------------------------------------------------------------------------
# The threaded suites and the exercises' race_* tests, with the
# workspace's files (or ENGINE_TSAN) built with ThreadSanitizer, which
# reports a data race where a store publishes without release order.
if want race; then
    tsan_out=$out/tsan
    tsan_engine=-
    if [ "$engine" != - ]; then
        tsan_engine=$engine_tsan
    fi
    if [ "$engine" != - ] && [ -z "$engine_tsan" ]; then
        rung_skip race "ThreadSanitizer needs the engine's code compiled with -fsanitize=thread: give ENGINE_TSAN=lib.a, such a build of it"
    else
        say "race: the threaded suites$( [ "$engine" = - ] && echo " and the exercises' race tests") with ThreadSanitizer"
        tsan_targets="$tsan_out/racetest"
        [ "$engine" = - ] && tsan_targets="$tsan_targets $tsan_out/exercisetest"
        [ "$filter" = exercises ] && tsan_targets="$tsan_out/exercisetest"
        [ -n "$filter" ] && [ "$filter" != exercises ] && tsan_targets="$tsan_out/racetest"
        if [ -n "${GRADE_PREBUILT:-}" ]; then
            tsan_build() { for t in $tsan_targets; do [ -f "$t" ] || { echo "$t was not built"; return 1; }; done; }
        else
            # (grade/inputs.sh, run for OUT above, follows ENGINE_TSAN and
            # the workspace for OUT/tsan too.)
            tsan_build() {
                $MAKE --no-print-directory -s -j2 FLAVOUR=tsan \
                    GRADE_BUILDS="$tsan_out@$stage@$ws@$tsan_engine" $tsan_targets
            }
        fi
        if ! tsan_build >"$logs/race-build.log" 2>&1; then
            what=$(grep -m1 -E 'error|undefined reference|was not built' "$logs/race-build.log" | printable)
            rung_fail race "the ThreadSanitizer build failed: ${what:-see $logs/race-build.log}"
        else
            export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
            # --filter exercises: the exercises' race tests alone; --filter
            # SUITE: that suite of racetest alone.
            # The exercises' race tests first: a race there is in the
            # learner's own exercise, and its test names the rule.
            runs="racetest"
            [ "$engine" = - ] && runs="exercisetest $runs"
            case $filter in
            "") ;;
            exercises) runs=exercisetest ;;
            *) runs=racetest ;;
            esac
            for b in $runs; do
                log=$logs/race-$b.log
                if [ $b = racetest ]; then
                    run_log "$log" 900 "$tsan_out/racetest" ${filter:+--suite "$filter"}
                else
                    run_log "$log" 900 "$tsan_out/exercisetest" _race_
                fi
                status=$?
                sum=$(summary "$log")
                report=$(grep -m1 -E 'WARNING: ThreadSanitizer: [a-z -]+' "$log" | printable |
                         sed 's/^.*WARNING: ThreadSanitizer: //; s/ (pid=[0-9]*)//')
                if [ -n "$report" ]; then
                    # Where: the first frame of the report's first stack outside
                    # the sanitizer's own; and the first frame in the
                    # workspace's files of either access (the race's other side,
                    # the previous write, is often the learner's code: a store
                    # that publishes without release order shows as the key's
                    # bytes written there and read elsewhere).
                    where=$(awk -v ws="$ws" -v wsabs="$wsabs" '
                                 /WARNING: ThreadSanitizer/ { on = 1; next }
                                 on && /^SUMMARY: ThreadSanitizer/ { exit }
                                 on && /^  [A-Za-z]/ { stack++; access = $0 ~ /^  (Read|Write|Previous|Atomic)/; next }
                                 on && /^ +#[0-9]+ / { sub(/^ +#[0-9]+ /, ""); f[++n] = $0; st[n] = stack; acc[n] = access }
                                 END { for (i = 1; i <= n; i++)
                                           if (st[i] == 1 && f[i] !~ /sanitizer|libtsan/) { first = f[i]; break }
                                       for (i = 1; i <= n; i++)
                                           if (acc[i] && ((ws != "-" && index(f[i], ws "/")) || (wsabs != "" && index(f[i], wsabs "/")))) { mine = f[i]; ms = st[i]; break }
                                       if (mine == "") print first
                                       else if (ms == 1 || first == "") print mine
                                       else print first ", against your " mine }' "$log" |
                            printable | sed 's/ ([^ ]*+0x[0-9a-f]*)//g')
                    test_name=$(awk '/^RUN / { t = $2 } /WARNING: ThreadSanitizer/ { print t; exit }' "$log")
                    # The rule the racing test named (ex_race_rule), first.
                    race_rule=$(awk '/^RUN / { r = "" } /^race rule: / { sub(/^race rule: /, ""); r = $0 }
                                     /WARNING: ThreadSanitizer/ { print r; exit }' "$log" | printable)
                    rule=""
                    case $report in
                    "data race"*) rule=": what one thread writes and another reads needs a lock, or a release store that publishes it and an acquire load that finds it" ;;
                    esac
                    rung_fail race "${race_rule:+$race_rule: }ThreadSanitizer: $report${test_name:+ in $test_name}${where:+, at $where}$rule (see $log)"
                    break
                elif [ $status -ne 0 ] || [ -z "$sum" ]; then
                    what=$(first_check "$log")
                    [ $status -eq 124 ] && what="$b did not finish in 900 s"
                    rung_fail race "$b: ${what:-exit status $status (see $log)}"
                    break
                elif [ "$sum" = "0 passed, 0 failed" ]; then
                    say "race: $b: the stage's exercises have no race tests"
                    continue
                fi
                say "race: $b: ok ($sum)"
            done
            [ -n "$failed_rung" ] || row rung race pass "no data race reported" ""
        fi
    fi
fi

# ---- rung: crash --------------------------------------------------------------------------
# procedure_cuts RUNG KIND: the exercises' tests named *_KIND_* (kill,
# power), which record a multi-step procedure (a restore, a collection, a
# flush) in the power-loss simulator's journal and reopen the state a kill
# or a power cut after each of its file operations leaves, through the
# workspace's files.  With --filter F (not crashtest's options, which
# start with "-"), only those of exercise F.  Sets procedure_detail; a
# failure fails the rung.
procedure_detail=""
procedure_cuts() {
    procedure_detail=""
    [ "$engine" = - ] || return 0
    case $filter in -*) return 0 ;; esac
    log=$logs/procedure-$2.log
    if [ -n "$filter" ]; then
        run_log "$log" 900 "$out/exercisetest" --suite "$filter" "_$2_"
    else
        run_log "$log" 900 "$out/exercisetest" "_$2_"
    fi
    status=$?
    sum=$(summary "$log")
    if [ $status -ne 0 ] || [ -z "$sum" ]; then
        what=$(first_check "$log" | crash_site "$out/exercisetest")
        [ $status -eq 124 ] && [ -z "$what" ] && what="the exercises' $2 tests did not finish in 900 s"
        rung_fail "$1" "${what:-exercisetest _$2_ exited with status $status (see $log)}"
        return 1
    fi
    if [ "$sum" != "0 passed, 0 failed" ]; then
        procedure_detail="procedures cut at each step (the exercises' *_$2_* tests): $sum"
        say "$1: procedures cut at each step: ok ($sum)"
    fi
}
# crashtest_run RUNG LOG ARGS...: crashtest --quick ARGS, its output in
# LOG; the rung fails with crashtest's first failure, or crashtest_sum is
# its summary line.
crashtest_run() {
    _rung=$1 log=$2
    shift 2
    run_log "$log" 900 "$out/crashtest" --quick "$@"
    status=$?
    crashtest_sum=$(summary "$log")
    if [ $status -ne 0 ] || [ -z "$crashtest_sum" ]; then
        what=$(first_check "$log")
        [ $status -eq 124 ] && what="crashtest did not finish in 900 s"
        rung_fail "$_rung" "${what:-crashtest exited with status $status (see $log)}"
        return 1
    fi
}
if want crash; then
    say "crash: procedures killed at each step, then process kills at random moments (crashtest --quick --kill)"
    procedure_cuts crash kill
    if [ -n "$failed_rung" ]; then
        :
    elif [ -n "$filter" ] && [ -n "${filter%%-*}" ]; then
        # --filter of an exercise: its procedures alone; none is nothing checked.
        if [ -n "$procedure_detail" ]; then
            row rung crash pass "$procedure_detail" ""
        else
            rung_skip crash "--filter $filter: no *_kill_* test of $filter, so nothing was killed"
        fi
    elif crashtest_run crash "$logs/crashtest-kill.log" --kill $filter; then
        row rung crash pass "${procedure_detail:+$procedure_detail; }crashtest: $crashtest_sum" ""
        say "crash: ok ($crashtest_sum)"
    fi
fi

# ---- rung: power --------------------------------------------------------------------------
# A workspace's files run on the project's I/O layer, whose power-loss
# simulator (common/io_sim.h) sees every append and sync: crashtest cuts
# the power at each sync.  An engine's library is not ours to trust: its
# power is cut at the file-system level too, by kvgrade's file system that
# forgets what was not fsynced (docs/kvgrade.md), through kv serve --stdio
# linked with it.  That is the only power loss an engine that does its own
# I/O gets, and the only one that sees an I/O layer of its own that never
# reaches the disk.
power_detail=""
# power_sim: crashtest's power loss and failing I/O calls.
power_sim() {
    modes="--power --ioerr"
    case " $filter " in *" --power "* | *" --ioerr "*) modes="" ;; esac
    say "power: power loss at every sync, failing I/O calls (crashtest --quick $modes)"
    log=$logs/crashtest-power.log
    crashtest_run power "$log" $modes $filter || return
    sum=$crashtest_sum
    # The torn states among them (tests/crash/powerloss.c's tables).
    torn=$(awk '$1 == "torn-prefix" || $1 == "torn-sector" { n[$1] += $2 }
                END { if (n["torn-prefix"] + n["torn-sector"] > 0)
                          printf "%d torn states: %d a prefix of the unsynced bytes, %d with a sector lost",
                              n["torn-prefix"] + n["torn-sector"], n["torn-prefix"], n["torn-sector"] }' "$log")
    power_detail="crashtest: $sum${torn:+ ($torn)}"
    say "power: crashtest: ok ($sum${torn:+; $torn})"
}
# power_fs: kvgrade's power cuts on the engine's kv serve --stdio.
power_fs() {
    kvg=build/kvgrade/kvgrade
    dur=none
    [ $durable = 1 ] && dur=sync
    if ! $MAKE --no-print-directory -s "$kvg" >"$logs/kvgrade-build.log" 2>&1 || [ ! -x "$kvg" ]; then
        rung_skip power "kvgrade, which cuts the power of an engine's files, could not be built (see $logs/kvgrade-build.log)"
        return
    fi
    # Its file system, beside it: without libfuse3 it cannot be built, and
    # kvgrade then skips its power cuts and says why.
    $MAKE --no-print-directory -s build/kvgrade/kvgrade-fs >>"$logs/kvgrade-build.log" 2>&1
    say "power: kvgrade's power cuts on $out/kv serve --stdio (--durability $dur)"
    log=$logs/kvgrade-power.log
    run_log "$log" 900 "$kvg" --engine "$out/kv $( [ $durable = 1 ] && echo "--sync ")"'{dir}'" serve --stdio" \
        --durability $dur --rungs power --report "$logs/kvgrade"
    status=$?
    verdict=$(grep -m1 -E '^ *(rung +)?power +(pass|FAIL|skipped)' "$log" | printable)
    if echo "$verdict" | grep -q skipped; then
        rung_skip power "kvgrade could not cut the power ($(echo "$verdict" | sed 's/.*skipped *//'))"
    elif [ $status -eq 0 ] && echo "$verdict" | grep -q pass; then
        torn=$(sed -n 's/.* \([0-9][0-9]*\) torn states checked (\([0-9][0-9]*\) a prefix.*; \([0-9][0-9]*\) with one sector.*/\1 torn states: \2 prefixes, \3 with a sector lost/p' "$log" | head -n 1)
        power_detail="${power_detail:+$power_detail; }kvgrade's power cuts ($dur): pass${torn:+ ($torn)}"
        say "power: kvgrade: ok"
    else
        # kvgrade's own words: the shortest counterexample's failure, its
        # first key, and how to replay it.
        what=$(awk '/^Rung power failed: /{ sub(/^Rung power failed: /, ""); print; getline;
                                            sub(/^ +/, ""); print; exit }' "$log" | tr '\n' ' ' | printable)
        replay=$(grep -m1 '^Replay it: ' "$log" | sed 's/^Replay it: //' | printable)
        rung_fail power "kvgrade's power cuts: ${what:-status $status (see $log)}${replay:+(the counterexample: $logs/kvgrade/; replay it: $replay)}"
    fi
}
if want power; then
    procedure_cuts power power
    power_procedures=$procedure_detail
    if [ -n "$failed_rung" ]; then
        :
    elif [ -n "$filter" ] && [ -n "${filter%%-*}" ]; then
        : # --filter of an exercise: its procedures alone
    elif [ "$own_io" = 1 ]; then
        not_checked "power: I/O errors" "failing I/O calls are injected through common/io.h, and the engine does file I/O of its own"
    else
        power_sim
    fi
    if [ -z "$failed_rung" ] && [ "$engine" != - ]; then
        power_fs
    fi
    if [ -z "$failed_rung" ] && ! grep -q '^rung	power	' "$card"; then
        detail="$power_procedures${power_procedures:+${power_detail:+; }}$power_detail"
        if [ -n "$detail" ]; then
            row rung power pass "$detail" ""
        else
            rung_skip power "--filter $filter: no *_power_* test of $filter, so no power was cut"
        fi
    fi
fi

# ---- rung: sweep ----------------------------------------------------------------------------
if want sweep; then
    say "sweep: every byte of every file of a small database flipped, then cut"
    log=$logs/sweep.log
    run_log "$log" 900 "$out/kvtest" --suite sweep
    status=$?
    sum=$(summary "$log")
    if [ $status -ne 0 ] || [ -z "$sum" ]; then
        what=$(first_check "$log")
        [ -n "$what" ] || what=$(crashed "$log" $status)
        rung_fail sweep "${what:-exit status $status (see $log)}"
    else
        row rung sweep pass "$sum" ""
        say "sweep: ok ($sum)"
    fi
fi

# ---- rung: fuzz -------------------------------------------------------------------------------
# Each harness runs a set number of inputs (the list's `runs` of the fuzz
# rung, "HARNESS N | ..."; for one it does not name, 1000 for api and
# 10000 for the others), from libFuzzer's
# seed 1, so that the verdict depends on the build, never on the machine's
# speed or load.  The corpus starts from the seeds the reference makes
# (scripts/fuzz_seeds.sh), the harness's regressions, and the inputs the
# exercises' tests fed (grade/tests/exercise.h, ex_seed: written to
# OUT/fuzz/tests/HARNESS/ as the exercises rung runs).
# GRADE_FUZZ_RUNS=N caps every harness at N inputs (grade/check.sh).
if want fuzz; then
    [ "$engine" = - ] || fuzz_targets=api
    [ -z "$filter" ] || fuzz_targets=$filter
    fuzz_runs() {
        _n=$(ex -v mode=get -v kind=rung -v name=fuzz -v key=runs | tr '|' '\n' |
             awk -v t="$1" '$1 == t { print $2 }')
        # Not in the list: about what 15 s ran on this project's 2-core
        # machine (the API harness's programs are slow, the formats' fast).
        [ -n "$_n" ] || { [ "$1" = api ] && _n=1000 || _n=10000; }
        [ -z "${GRADE_FUZZ_RUNS:-}" ] || [ "$GRADE_FUZZ_RUNS" -ge "$_n" ] || _n=$GRADE_FUZZ_RUNS
        echo "$_n"
    }
    say "fuzz: building the harnesses ($fuzz_targets) with clang"
    fuzz_bins=""
    for t in $fuzz_targets; do fuzz_bins="$fuzz_bins $out/fuzz/$t"; done
    seeds_missing="" seed_tools="build/$stage/kv"
    for t in $fuzz_targets; do
        [ -d "build/fuzz/seeds/$stage-$t" ] || seeds_missing="$seeds_missing $stage:$t"
    done
    # Stage 09's table seeds include a table stage 05 wrote.
    case $seeds_missing in *09-cache:table*) seed_tools="$seed_tools build/05-blocks/kv" ;; esac
    if ! { $MAKE --no-print-directory -s deps DEPS=fuzz &&
           mk -j2 $fuzz_bins $seed_tools; } >"$logs/fuzz-build.log" 2>&1; then
        what=$(grep -m1 -E 'error|undefined reference' "$logs/fuzz-build.log" | printable)
        rung_fail fuzz "the harnesses did not build: ${what:-see $logs/fuzz-build.log}"
    elif [ -n "$seeds_missing" ] &&
         ! sh scripts/fuzz_seeds.sh build/fuzz/seeds $seeds_missing >"$logs/fuzz-seeds.log" 2>&1; then
        rung_fail fuzz "the seeds could not be made (see $logs/fuzz-seeds.log)"
    else
        ran=""
        for t in $fuzz_targets; do
            runs=$(fuzz_runs "$t")
            tests_in=""
            [ -d "$out/fuzz/tests/$t" ] && tests_in="$out/fuzz/tests/$t" &&
                tests_in_n=$(ls "$tests_in" | wc -l)
            say "fuzz: $t for $runs inputs${tests_in:+ (seeded with the $tests_in_n inputs of the exercises' tests too)}"
            corpus=$out/fuzz/corpus-$t
            rm -rf "$corpus"
            mkdir -p "$corpus"
            log=$logs/fuzz-$t.log
            dict=""
            [ -f "fuzz/dict/$t.dict" ] && dict="-dict=fuzz/dict/$t.dict"
            regs=""
            [ -d "fuzz/regressions/$t" ] && regs="fuzz/regressions/$t"
            # Time enough for the inputs on a loaded machine: the verdict
            # must not depend on the load (an input a harness runs in
            # milliseconds is given 60 s, libFuzzer's -timeout).
            bound=$((runs / 10 + 300))
            rm -f "$out/fuzz/crash-$t-"*
            if timeout $bound "$out/fuzz/$t" -runs="$runs" -seed=1 -timeout=60 \
                -rss_limit_mb=2048 -artifact_prefix="$out/fuzz/crash-$t-" $dict \
                "$corpus" "build/fuzz/seeds/$stage-$t" $tests_in $regs >"$log" 2>&1; then
                say "fuzz: $t: ok ($(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1))"
                ran="$ran${ran:+, }$t $runs"
            else
                st=$?
                # The harness's own reason first (what it checked and what
                # it got); libFuzzer's lines ("deadly signal") only when the
                # harness said nothing.
                what=$(grep -m1 -E 'fuzz: |invariant broken|runtime error: ' "$log" | printable)
                [ -n "$what" ] || [ "$st" -ne 124 ] ||
                    what="it did not finish its $runs inputs within $bound s (its last rate: $(grep -o 'exec/s: [0-9]*' "$log" | tail -n 1))"
                [ -n "$what" ] || what=$(grep -m1 -E 'ERROR: |SUMMARY' "$log" | printable)
                input=$(ls -t "$out/fuzz/crash-$t-"* 2>/dev/null | head -n 1)
                rung_fail fuzz "$t: ${what:-see $log}${input:+ (the input: $input; replay it: $out/fuzz/$t $input)}" "$t/"
                break
            fi
        done
        [ -n "$failed_rung" ] || row rung fuzz pass "inputs from seed 1: $ran" ""
    fi
fi

# ---- rung: speed ------------------------------------------------------------------------------
# The machine is noisy: one run of each says little.  The engine and the
# reference run alternately, in pairs; each pair gives a ratio per
# workload.  Three pairs, five if a workload's ratios spread by more than
# half; the scorecard shows the median and the range, and a workload fails
# only if even its best ratio is below GRADE_SPEED_MIN.
if want speed; then
    min=${GRADE_SPEED_MIN:-0.25}
    case $stage in
    01-*) num=5000 ;;
    *) num=100000 ;;
    esac
    works=fillrandom,overwrite,readrandom,readseq
    say "speed: kvbench, $num keys ($works), yours and the reference's, alternately, in pairs"
    if ! $MAKE --no-print-directory -s "build/$stage/kvbench" >"$logs/speed-build.log" 2>&1; then
        rung_fail speed "the reference's kvbench did not build (see $logs/speed-build.log)"
    else
        db=$(mktemp -d "$TMPDIR/grade-bench.XXXXXX")
        ratios=$logs/speed-ratios
        : >"$ratios"
        pair=0
        # figure W WHO PAIR: W's ops/sec in that run ("" if none).
        figure() { grep -h "^$1 " "$logs/speed-$2-$3.log" 2>/dev/null |
                   sed -n 's/.*; *\([0-9.]*\) ops\/sec.*/\1/p' | head -n 1; }
        while :; do
            pair=$((pair + 1))
            for who in ref yours; do
                bin=build/$stage/kvbench
                [ $who = yours ] && bin=$out/kvbench
                rm -rf "$db/$who"
                timeout 600 "$bin" --num=$num --seconds=5 --fill_seconds=30 --benchmarks=$works \
                    --db="$db/$who" >"$logs/speed-$who-$pair.log" 2>&1
            done
            for w in $(echo $works | tr , ' '); do
                echo "$w $pair $(figure $w ref $pair) $(figure $w yours $pair)" >>"$ratios"
            done
            [ $pair -ge 3 ] || continue
            [ $pair -lt 5 ] || break
            # Another pair if a workload's ratios spread by more than 1.5x.
            awk 'NF == 4 && $3 > 0 { r = $4 / $3; w = $1
                     if (!(w in lo) || r < lo[w]) lo[w] = r; if (!(w in hi) || r > hi[w]) hi[w] = r }
                 END { for (w in lo) if (lo[w] <= 0 || hi[w] / lo[w] > 1.5) exit 1 }' "$ratios" && break
        done
        rm -rf "$db"
        verdict=$(awk -v min="$min" -v works="$works" '
            NF == 4 && $3 > 0 { n[$1]++; r[$1, n[$1]] = $4 / $3 }
            END { split(works, ws, ","); line = ""; bad = ""
                  for (i = 1; ws[i] != ""; i++) {
                      w = ws[i]; k = n[w]
                      if (k == 0) { bad = bad " " w " (no figure)"; continue }
                      for (a = 1; a <= k; a++) for (b = a + 1; b <= k; b++)
                          if (r[w, b] < r[w, a]) { t = r[w, a]; r[w, a] = r[w, b]; r[w, b] = t }
                      med = k % 2 ? r[w, (k + 1) / 2] : (r[w, k / 2] + r[w, k / 2 + 1]) / 2
                      txt = sprintf(" %s %.2fx (%.2f-%.2f, %d pairs)", w, med, r[w, 1], r[w, k], k)
                      line = line txt
                      if (r[w, k] < min) bad = bad sprintf(" %s at best %.2fx the reference'"'"'s speed (%d pairs)", w, r[w, k], k)
                  }
                  print (bad == "" ? "pass" : "FAIL") "\t" (bad == "" ? line : bad) }' "$ratios")
        if [ "${verdict%%	*}" = pass ]; then
            row rung speed pass "${verdict#*	}" ""
            say "speed: ok:${verdict#*	}"
        else
            rung_fail speed "below ${min}x:${verdict#*	}"
        fi
    fi
fi

# ---- the scorecard --------------------------------------------------------------------------
rows=" $(awk -F '\t' '$1 == "rung" { printf "%s ", $2 }' "$card")"
for r in $RUNGS; do
    case $rows in *" $r "*) continue ;; esac
    if [ -n "$only" ] && [ "$r" != "$only" ] && [ "$r" != build ]; then
        row rung "$r" skipped "--only $only" ""
    else
        row rung "$r" "not run" "an earlier rung failed" ""
    fi
done
echo
echo "Scorecard: stage $stage, $( [ "$engine" = - ] && echo "workspace $ws" || echo "engine $engine") ($(now) s)"
awk -F '\t' -v order="$RUNGS" '
    $1 == "exercise" { printf "  exercise %-22s %-5s %s\n", $2, $3, $4 }
    $1 == "rung" { rung[$2] = $0 }
    END { n = split(order, names, " ")
          for (i = 1; i <= n; i++) { split(rung[names[i]], f, "\t");
            printf "  rung     %-22s %-8s %s\n", f[2], f[3], f[4] } }' "$card" | printable
if [ -n "$first_fail" ]; then
    echo
    printf 'First failing check: %s\n' "${first_fail%%	*}" | printable
    sec=${first_fail#*	}
    case $sec in
    "") ;;
    *the\ compiler*) echo "Read: $sec" ;;
    *) echo "Reread: $(section_page "$page" "$sec"), \"$sec\"" ;;
    esac
    echo "Logs: $logs/"
    exit 1
fi
echo
if [ -s "$unchecked" ]; then
    if [ -n "$only" ]; then
        echo "The rung $only failed nothing it ran, but these checks did not run:"
    else
        echo "No rung failed, but the grade is incomplete: these checks did not run:"
    fi
    awk -F '\t' '{ printf "  - %s: %s\n", $1, $2 }' "$unchecked"
    if [ $durable = 1 ] && grep -q '^power	' "$unchecked"; then
        echo "Stage $stage promises that a write acknowledged with sync = 1 survives a power loss: that was not checked, so this is not a pass."
    fi
    echo "Logs: $logs/"
    exit 3
fi
if [ -n "$only" ]; then
    echo "The rung $only passed."
    exit 0
fi
echo "Every rung passed."
exit 0
