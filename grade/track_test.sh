#!/bin/sh
# track_test.sh: what the grade promises about itself, beyond catching the
# planted wrong solutions (grade/check.sh runs it after them):
#
#   stale-workspace  a workspace graded, then its file replaced by a wrong
#                    one with an older time: the second grade fails (the
#                    build follows contents, not file times: grade/inputs.sh)
#   stale-engine     an engine library graded, then replaced at the same
#                    path by another, older, one: the second grade grades it
#   nosync-engine    stage 03's engine with an I/O layer that never syncs,
#                    graded as an ENGINE: its power rung does not pass (it
#                    fails kvgrade's power cuts, or is skipped when they
#                    cannot run), and the grade never says "passed"
#   skip-is-shown    a rung that cannot run (race, with no ENGINE_TSAN) is
#                    "skipped" on the scorecard, listed as not checked, and
#                    the grade exits 3, never 0
#   engine-tsan      an engine given with ENGINE_TSAN (the reference's stage
#                    01 and its ThreadSanitizer build) gets its race rung run
#                    and passed, from a build directory of its own
#   crash-is-named   a suite whose process dies of a signal is reported with
#                    the test it was running and the signal, not a bare
#                    exit status
#   first-failure    the scorecard's "First failing check" is the first
#                    failure of a log: of crashtest's 26 failures and its
#                    "(more failures; ...)" line, the first, with its
#                    reproduce line; of a harness log, the first failed
#                    test and the lines it printed (grade/first_check.awk)
#   learn-example    docs/learn-reference.md's minimal example (stage 01 packed as an
#                    engine of its own, then make grade ENGINE=...) runs as
#                    written there, and every rung passes, none skipped
#   equivalent-occurrence  an [equivalent] entry's `occurrence` names one
#                    of the lines its function holds with that text: a
#                    list naming one that is there passes grade/
#                    exercises.awk's check, one naming a line past the
#                    last, or not a number, fails it, with a message that
#                    names the entry and the count; an entry of two lines
#                    (a swap) passes where the function holds them one
#                    after the other, and fails where it does not
#   learners         make grade-learners' machinery (grade/learners.sh) on
#                    five samples of stage 01, climbing the exercises rung: a
#                    bug it must catch with a message naming its rule, a
#                    correct solution it must pass, a correct solution
#                    labelled a bug (reported as surviving), a bug labelled
#                    correct (reported as wrongly failed), a patch that does
#                    not apply (unusable, and the exit status 1)
#   mutants          make grade-mutants' machinery (grade/mutants.sh) on a
#                    seeded sample of stage 01's record_lengths, climbing
#                    the exercises rung: each mutant is graded, most are
#                    caught there with a message, a survivor is shown as
#                    a diff, and the report ends with the exercise's line;
#                    then OPERATORS=message on stage 01's get (its one
#                    message mutant changes two lines: applied, graded and
#                    caught) and OPERATORS=swap on record_lengths (its one
#                    swap, of two declarations, matched by the list's
#                    [equivalent] entry of two lines)
#
#   sh grade/track_test.sh ROOT [--quick]   (ROOT: a work directory, kept)
# --quick (grade/check.sh --quick, in make test) leaves out the four that
# grade a whole engine or many workspaces (engine-tsan, learn-example,
# learners, mutants: two thirds of the time), each shown as a "note"
# line; make grade-selfcheck runs them all.
# Prints "ok   ..." or "FAIL ..." per check; exit 0 only if all passed.
set -u
root=$1
quick=${2:-}
here=$(dirname "$0")
MAKE=${MAKE:-make}
mkdir -p "$root"
passed=0 failed=0
started=$(date +%s)
ok() { echo "ok   grade track: $* [$(($(date +%s) - started)) s]"; passed=$((passed + 1)); }
bad() { echo "FAIL grade track: $* [$(($(date +%s) - started)) s]"; failed=$((failed + 1)); }
unset GRADE_PREBUILT
export GRADE_FUZZ_RUNS=${GRADE_FUZZ_RUNS:-2000}
ex() { awk -f "$here/exercises.awk" -v list="$here/$1.exercises" "$@"; }
# wanted NAME: whether this run makes the check NAME (those --quick leaves
# out are noted, never counted as passed).
wanted() {
    [ "$quick" = --quick ] || return 0
    echo "note grade track: $1: left to the full self-check (make grade-selfcheck)"
    return 1
}

# ---- first-failure ----------------------------------------------------------------
# Logs in the form tests/harness.c and tests/crash/main.c print them; the
# check is grade.sh's first_check, which reads them with first_check.awk.
{
    echo "crashtest: power loss at every sync"
    i=1
    while [ $i -le 25 ]; do
        echo "FAIL: power: crash point $i: a write acknowledged with sync = 1 is lost (key k$i)"
        echo "      reproduce: crashtest --power --at $i --quick"
        i=$((i + 1))
    done
    echo "FAIL: (more failures; only the first 25 are shown, -v shows all)"
    echo "0 passed, 33 failed"
} >"$root/first-crash.log"
{
    echo "RUN  conformance/put_then_get"
    echo "ok   conformance/put_then_get (0.01s)"
    echo "RUN  conformance/delete_hides"
    echo "    tests/conformance.c:10: a deleted key is not found"
    echo "      returned 0 (ok), expected 1 (not found)"
    echo "FAIL conformance/delete_hides (0.01s)"
    echo "RUN  conformance/later"
    echo "    tests/conformance.c:20: a later failure"
    echo "FAIL conformance/later (0.01s)"
    echo "1 passed, 2 failed"
} >"$root/first-harness.log"
first_crash=$(awk -f "$here/first_check.awk" "$root/first-crash.log")
first_harness=$(awk -f "$here/first_check.awk" "$root/first-harness.log")
want_crash="power: crash point 1: a write acknowledged with sync = 1 is lost (key k1) (reproduce: crashtest --power --at 1 --quick)"
want_harness="conformance/delete_hides: tests/conformance.c:10: a deleted key is not found returned 0 (ok), expected 1 (not found)"
if [ "$first_crash" != "$want_crash" ]; then
    bad "first-failure: of crashtest's failures, first_check reported \"$first_crash\", not the first: \"$want_crash\""
elif [ "$first_harness" != "$want_harness" ]; then
    bad "first-failure: of a harness log, first_check reported \"$first_harness\", not the first failed test: \"$want_harness\""
else
    ok "first-failure: the first failure of a log is the one reported, with its lines (crashtest's and the harness's)"
fi

# ---- stale-workspace ------------------------------------------------------------
ws=$root/ws
f=stages/04-lsm/memtable/skiplist.c
rm -rf "$ws"
mkdir -p "$ws/$(dirname "$f")"
cp "$f" "$ws/$f"
sh "$here/grade.sh" 04-lsm "$ws" --out "$root/out-ws" --only exercises --filter skiplist_insert \
    >"$root/ws-1.log" 2>&1
first=$?
awk -f "$here/exercises.awk" -v list="$here/04-lsm.exercises" -v mode=wrong \
    -v name=insert_links_level_zero_only -v ref="$f" >"$ws/$f.new" && mv "$ws/$f.new" "$ws/$f"
touch -d '2000-01-01' "$ws/$f"
sh "$here/grade.sh" 04-lsm "$ws" --out "$root/out-ws" --only exercises --filter skiplist_insert \
    >"$root/ws-2.log" 2>&1
second=$?
if [ $first -ne 0 ]; then
    bad "stale-workspace: the reference's skiplist.c in a workspace failed (see $root/ws-1.log)"
elif [ $second -eq 0 ]; then
    bad "stale-workspace: a wrong skiplist.c older than the last build passed: the build graded the previous file (see $root/ws-2.log)"
else
    ok "stale-workspace: a wrong file copied in with an older time is compiled and fails"
fi

# ---- stale-engine -----------------------------------------------------------------
# The reference's stage 01, then the starter's (its stubs fail the suites).
eng=$root/engine/libmine.a
mkdir -p "$root/engine"
starter_lib=""
for d in build/grade-check/01-log/out-starter "$root/out-starter"; do
    [ -f "$d/libkv.a" ] && starter_lib=$d/libkv.a && break
done
if [ -z "$starter_lib" ]; then
    sh "$here/learn.sh" 01-log "$root/starter" >/dev/null 2>&1
    $MAKE --no-print-directory -s GRADE_BUILDS="$root/out-starter@01-log@$root/starter@-" \
        "$root/out-starter/libkv.a" >/dev/null 2>&1
    starter_lib=$root/out-starter/libkv.a
fi
$MAKE --no-print-directory -s build/01-log/libkv.a >/dev/null 2>&1
cp build/01-log/libkv.a "$eng"
sh "$here/grade.sh" 01-log --engine "$eng" --out "$root/out-engine" --only suites \
    --filter conformance >"$root/engine-1.log" 2>&1
first=$?
cp "$starter_lib" "$eng"
touch -d '2000-01-01' "$eng"
sh "$here/grade.sh" 01-log --engine "$eng" --out "$root/out-engine" --only suites \
    --filter conformance >"$root/engine-2.log" 2>&1
second=$?
if [ ! -f "$starter_lib" ]; then
    bad "stale-engine: no starter library to switch to ($starter_lib)"
elif [ $first -ne 0 ]; then
    bad "stale-engine: the reference as an ENGINE failed its conformance suite (see $root/engine-1.log)"
elif [ $second -eq 0 ]; then
    bad "stale-engine: the starter's library, older than the last link, passed: the tests still held the previous engine (see $root/engine-2.log)"
else
    ok "stale-engine: another library at the same path, with an older time, is linked and graded"
fi

# ---- nosync-engine ------------------------------------------------------------------
# Stage 03's objects, with common/io_posix.c compiled so that fdatasync,
# fsync and sync_file_range do nothing: an engine that never reaches the
# disk, though it calls io_sync as it should.
ns=$root/nosync
rm -rf "$ns"
mkdir -p "$ns/objs"
$MAKE --no-print-directory -s build/03-wal/libkv.a >/dev/null 2>&1
top=$(pwd)
(cd "$ns/objs" && ar x "$top/build/03-wal/libkv.a")
cat >"$ns/no_sync.c" <<'EOF'
/* An fdatasync, fsync and sync_file_range that do nothing. */
#include <sys/types.h>
int engine_no_sync(int fd) { (void)fd; return 0; }
int engine_no_sync_range(int fd, long off, long n, unsigned flags)
{
    (void)fd; (void)off; (void)n; (void)flags;
    return 0;
}
EOF
if ${CC:-cc} -std=c11 -D_GNU_SOURCE -O1 -Iinclude -Icommon -Dfdatasync=engine_no_sync \
       -Dfsync=engine_no_sync -Dsync_file_range=engine_no_sync_range \
       -c common/io_posix.c -o "$ns/objs/io_posix.o" 2>"$ns/cc.log" &&
   ${CC:-cc} -std=c11 -O1 -c "$ns/no_sync.c" -o "$ns/objs/no_sync.o" 2>>"$ns/cc.log" &&
   ar rcs "$ns/libnosync.a" "$ns"/objs/*.o; then
    sh "$here/grade.sh" 03-wal --engine "$ns/libnosync.a" --out "$root/out-nosync" --only power \
        >"$root/nosync.log" 2>&1
    status=$?
    card=$root/out-nosync/logs/scorecard
    if [ $status -eq 0 ] || grep -q 'passed\.$' "$root/nosync.log"; then
        bad "nosync-engine: an engine that never syncs passed the power rung of stage 03 (see $root/nosync.log)"
    elif grep -q '^rung	power	FAIL' "$card"; then
        ok "nosync-engine: an engine that never syncs fails the power rung: $(grep -m1 '^First failing check' "$root/nosync.log" | cut -c 1-200)"
    elif grep -q '^rung	power	skipped' "$card" && [ $status -eq 3 ] &&
         grep -q 'was not checked, so this is not a pass' "$root/nosync.log"; then
        ok "nosync-engine: the power cuts could not run, and the grade says stage 03's durability was not checked (exit 3)"
    else
        bad "nosync-engine: neither failed nor reported unchecked (status $status; see $root/nosync.log)"
    fi
else
    bad "nosync-engine: could not be built (see $ns/cc.log)"
fi

# ---- skip-is-shown --------------------------------------------------------------------
sh "$here/grade.sh" 01-log --engine "$eng" --out "$root/out-engine" --only race \
    >"$root/skip.log" 2>&1
status=$?
card=$root/out-engine/logs/scorecard
if [ $status -eq 3 ] && grep -q '^rung	race	skipped' "$card" &&
   grep -q 'race: ThreadSanitizer needs' "$root/skip.log" && ! grep -q 'passed\.$' "$root/skip.log"; then
    ok "skip-is-shown: a rung that cannot run is skipped, listed as not checked, and the grade exits 3"
else
    bad "skip-is-shown: status $status (want 3), the scorecard: $(grep '^rung	race' "$card" 2>/dev/null) (see $root/skip.log)"
fi

# ---- engine-tsan ----------------------------------------------------------------------
if wanted engine-tsan; then
    $MAKE --no-print-directory -s FLAVOUR=tsan build/tsan/01-log/libkv.a >/dev/null 2>&1
    rm -rf "$root/out-engine-tsan"
    cp build/01-log/libkv.a "$root/engine/libref.a"
    ENGINE_TSAN=build/tsan/01-log/libkv.a sh "$here/grade.sh" 01-log --engine "$root/engine/libref.a" \
        --out "$root/out-engine-tsan" --only race >"$root/engine-tsan.log" 2>&1
    status=$?
    if [ $status -eq 0 ] && grep -q '^rung	race	pass' "$root/out-engine-tsan/logs/scorecard"; then
        ok "engine-tsan: an engine with ENGINE_TSAN has its race rung run, and passes"
    else
        bad "engine-tsan: status $status (want 0): $(grep -m1 '^First failing check' "$root/engine-tsan.log" | cut -c 1-200) (see $root/engine-tsan.log)"
    fi
fi

# ---- crash-is-named ------------------------------------------------------------------
# Stage 01's get, made to write through a null pointer.
cw=$root/crashws
f=stages/01-log/log/log_db.c
rm -rf "$cw"
mkdir -p "$cw/$(dirname "$f")"
awk '{ print } /^int log_db_get_below\(/ { inget = 1 }
     inget && /^\{$/ { print "    *(volatile int *)0 = 1;"; inget = 0 }' "$f" >"$cw/$f"
sh "$here/grade.sh" 01-log "$cw" --out "$root/out-crash" --only suites --filter conformance \
    >"$root/crash.log" 2>&1
status=$?
if [ $status -eq 1 ] && grep -q '^First failing check: .*conformance/.* was killed by SIGSEGV' "$root/crash.log"; then
    ok "crash-is-named: a suite that dies of a signal names its test and the signal"
else
    bad "crash-is-named: status $status (want 1), and: $(grep -m1 '^First failing check' "$root/crash.log" | cut -c 1-200) (see $root/crash.log)"
fi

# ---- learn-example ---------------------------------------------------------------------
if wanted learn-example; then
    # The lines of the page's example, with the page's /tmp/libmine.a moved
    # into this run's directory.
    sed -n '/^A minimal example with C/,/^```$/p' docs/learn-reference.md | sed -n '/^```sh$/,/^```$/p' |
        sed '1d;$d' | sed "s#/tmp/libmine.a#$root/libmine.a#g" >"$root/learn-example.sh"
    rm -f "$root/libmine.a"
    if [ "$(grep -c '' "$root/learn-example.sh")" -ne 3 ]; then
        bad "learn-example: docs/learn-reference.md's minimal example is not the three lines this check expects (see $root/learn-example.sh)"
    else
        # Every rung as the page runs it; the fuzz rung's inputs few (what this
        # check is about is the example, not the fuzzing).
        GRADE_FUZZ_RUNS=2000 MAKE=$MAKE sh -e "$root/learn-example.sh" >"$root/learn-example.log" 2>&1
        status=$?
        if [ $status -eq 0 ] && grep -q '^Every rung passed' "$root/learn-example.log" &&
            ! grep -q 'skipped' "$root/learn-example.log"; then
            ok "learn-example: docs/learn-reference.md's example runs as written, every rung passed"
        else
            bad "learn-example: status $status: $(grep -m1 -E '^First failing check|skipped' "$root/learn-example.log" | cut -c 1-200) (see $root/learn-example.log)"
        fi
    fi
fi

# ---- equivalent-occurrence ----------------------------------------------------------------
# A list of its own, on stage 04's flush, whose `if (rc == KV_OK)` is there
# three times.
occ_list() {
    printf '%s\n' "[exercise flush]" "title: a flush" "file: stages/04-lsm/engine/lsm_flush.c" \
        "function: lsm_flush_write" "does: writes a table" "section: Flush" "" \
        "[equivalent status_never_asked]" "exercise: flush" "function: lsm_flush_write" \
        "replace: if (rc == KV_OK)" "with: if (0)" "occurrence: $1" "why: the track's test"
}
mkdir -p "$root/occurrence"
occ_ok=1 occ_why=""
for n in 1 3; do
    occ_list $n >"$root/occurrence/04-lsm.exercises"
    awk -f "$here/exercises.awk" -v list="$root/occurrence/04-lsm.exercises" -v mode=check \
        >/dev/null 2>"$root/occurrence/$n.err" || { occ_ok=0; occ_why="occurrence $n refused: $(cat "$root/occurrence/$n.err")"; }
    line=$(awk -f "$here/exercises.awk" -v list="$root/occurrence/04-lsm.exercises" -v mode=equivalents | cut -f 4)
    [ "$line" = "$n" ] || { occ_ok=0; occ_why="occurrence $n listed as \"$line\""; }
done
for n in 4 x; do
    occ_list $n >"$root/occurrence/04-lsm.exercises"
    if awk -f "$here/exercises.awk" -v list="$root/occurrence/04-lsm.exercises" -v mode=check \
        >/dev/null 2>"$root/occurrence/$n.err"; then
        occ_ok=0; occ_why="occurrence $n passed the check"
    elif ! grep -q "equivalent mutant status_never_asked: occurrence.*$n" "$root/occurrence/$n.err" ||
        { [ $n = 4 ] && ! grep -q "holds 3 lines" "$root/occurrence/$n.err"; }; then
        occ_ok=0; occ_why="occurrence $n refused without naming it: $(cat "$root/occurrence/$n.err")"
    fi
done
# Two lines (a swap mutant's): there one after the other, or not.
for two in 'iter *src = NULL;\nlsm_out w;' 'iter *src = NULL;\nint rc = memtable_iter_new(m, &src);'; do
    occ_list 1 | grep -v '^replace: \|^with: \|^occurrence: ' >"$root/occurrence/04-lsm.exercises"
    printf '%s\n' "replace: $two" 'with: lsm_out w;\niter *src = NULL;' >>"$root/occurrence/04-lsm.exercises"
    if awk -f "$here/exercises.awk" -v list="$root/occurrence/04-lsm.exercises" -v mode=check \
        >/dev/null 2>"$root/occurrence/two.err"; then
        case $two in *lsm_out*) ;; *) occ_ok=0; occ_why="two lines not one after the other passed the check: $two" ;; esac
    else
        case $two in *lsm_out*) occ_ok=0; occ_why="two lines one after the other refused: $(cat "$root/occurrence/two.err")" ;; esac
    fi
done
if [ $occ_ok -eq 1 ]; then
    ok "equivalent-occurrence: an entry's occurrence 1 or 3 of a line there three times passes the list's check; 4, or x, fails it: $(cat "$root/occurrence/4.err"); two lines pass one after the other, not apart"
else
    bad "equivalent-occurrence: $occ_why"
fi

# ---- learners -------------------------------------------------------------------------------
if wanted learners; then
    ls_dir=$root/learners-samples
    rm -rf "$ls_dir"
    mkdir -p "$ls_dir"
    cp "$here/learners/01-log/lengths_64mib_is_too_long.patch" "$here/learners/01-log/ok_lengths_other_words.patch" "$ls_dir/"
    grep -v '^# expect: pass' "$here/learners/01-log/ok_lengths_other_words.patch" >"$ls_dir/relabelled_correct.patch"
    sed '1a # expect: pass' "$here/learners/01-log/lengths_64mib_is_too_long.patch" \
        >"$ls_dir/relabelled_bug.patch"
    sed 's/vfield > KV_MAX_VALUE/vfield > KV_MAX_VALUE + 12345/' \
        "$here/learners/01-log/lengths_64mib_is_too_long.patch" >"$ls_dir/stale.patch"
    LEARNERS_SAMPLES=$ls_dir RUNGS=exercises JOBS=2 MAKE=$MAKE sh "$here/learners.sh" 01-log \
        >"$root/learners.log" 2>&1
    status=$?
    v() { grep -E "^$1 +$2( |\$)" "$root/learners.log" >/dev/null; }
    if [ $status -eq 1 ] && v caught lengths_64mib_is_too_long &&
        grep -q '^caught    lengths_64mib_is_too_long .*(names its rule)' "$root/learners.log" &&
        v passed ok_lengths_other_words && v SURVIVED relabelled_correct &&
        grep -q '^WRONGLY FAILED relabelled_bug' "$root/learners.log" && v UNUSABLE stale &&
        grep -q '^learners: stage 01-log: 2 bugs, 1 caught (1 naming their rule), 1 survived; 2 correct solutions, 1 passed, 1 wrongly failed; 1 unusable$' "$root/learners.log"; then
        ok "learners: five samples of stage 01 graded: caught with its rule named, passed, survived, wrongly failed, unusable ($(grep '^learners: stage .* bug' "$root/learners.log"))"
    else
        bad "learners: status $status: $(grep '^learners: stage .* bug' "$root/learners.log" || echo 'no summary') (see $root/learners.log)"
    fi
fi

# ---- mutants --------------------------------------------------------------------------------
if wanted mutants; then
    MUTANTS=4 SEED=1 RUNGS=exercises JOBS=1 MAKE=$MAKE sh "$here/mutants.sh" 01-log record_lengths \
        >"$root/mutants.log" 2>&1
    status=$?
    line=$(grep -m1 '^exercise record_lengths: ' "$root/mutants.log")
    caught=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) caught (.*/\1/p')
    graded=$(echo "$line" | sed -n 's/^exercise record_lengths: \([0-9][0-9]*\) mutants.*/\1/p')
    if [ $status -eq 0 ] && [ -n "$line" ] && [ "${caught:-0}" -ge 2 ] &&
        grep -q '^caught at exercises ' "$root/mutants.log" &&
        [ "$(grep -c '^caught at \|^SURVIVED ' "$root/mutants.log")" -eq "${graded:-x}" ]; then
        ok "mutants: a sample of stage 01's record_lengths graded, each mutant caught or shown as a survivor: $line"
    else
        bad "mutants: status $status: ${line:-no line for the exercise} (see $root/mutants.log)"
    fi
    OPERATORS=message RUNGS=exercises JOBS=1 MAKE=$MAKE sh "$here/mutants.sh" 01-log get \
        >"$root/mutants-message.log" 2>&1
    status=$?
    mline=$(grep -m1 '^exercise get: ' "$root/mutants-message.log")
    OPERATORS=swap RUNGS=exercises JOBS=1 MAKE=$MAKE sh "$here/mutants.sh" 01-log record_lengths \
        >"$root/mutants-swap.log" 2>&1
    status2=$?
    sline=$(grep -m1 '^exercise record_lengths: ' "$root/mutants-swap.log")
    if [ $status -eq 0 ] && [ $status2 -eq 0 ] &&
        echo "$mline" | grep -q '^exercise get: 1 mutants, 0 equivalent, 1 caught' &&
        grep -q '^caught at exercises message .*log_db\.c:[0-9]*-[0-9]*: .*\\n.*->  *rc = KV_ERR_CORRUPT;$' \
            "$root/mutants-message.log" &&
        echo "$sline" | grep -q '^exercise record_lengths: 1 mutants, 1 equivalent, 0 caught'; then
        ok "mutants: a message mutant of two lines applied and caught ($mline); a swap matched by an [equivalent] entry of two lines ($sline)"
    else
        bad "mutants: operators message and swap: status $status, $status2: ${mline:-no line for get}; ${sline:-no line for record_lengths} (see $root/mutants-message.log, $root/mutants-swap.log)"
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
