#!/bin/sh
# check.sh: the exercise track graded against itself, so that it cannot
# pass a wrong solution or fail a right one unnoticed (docs/learn-reference.md,
# "Why the grade can be trusted").
#
#   sh grade/check.sh --quick [STAGE...]   the cheap share, run by make test
#   sh grade/check.sh --full [STAGE...]    make grade-selfcheck
#
# For every finished stage that has exercises (grade/STAGE.exercises), or
# those named (a stage still being built is checked only when named):
#   starter   the starter `make learn` makes builds, and every exercise of
#             it fails, each with a stub's "not written yet" message;
#   filled    the starter with the reference's bodies put back passes every
#             exercise (--quick), every rung (--full);
#   engine    (--full) the reference's build/STAGE/libkv.a graded as an
#             ENGINE passes every rung;
#   reworded  the reference with every message its exercise functions build
#             worded otherwise (grade/reword.py) passes every exercise
#             (--quick), every rung, the stage's own unit tests among them
#             (--full): the grade checks that a reason is there and what it
#             names, never its words;
#   wrong     each planted wrong solution of the list (one edit of the
#             reference, in a workspace of its own) fails the rung the list
#             names, with a message holding the list's `expect` text (and,
#             if the entry has `refuse`, none of that text: a kv_errmsg an
#             earlier failure left, say); with
#             --full the whole grade runs, and the first rung that fails
#             is reported too.
# --quick compiles only the files a stub or a planted bug touches and runs
# only the rung that should catch it, two grades at a time.  Work goes in
# build/grade-check/ (or GRADE_CHECK_ROOT, so that two checks of different
# stages can run at once), where each workspace's build is kept for the
# next run (only what changed is compiled again).
# Then grade/track_test.sh: what the grade promises about itself (builds
# that follow their inputs, an engine that never syncs, skips shown as
# skips; with --quick, its cheap share).  Prints "ok   ..." or "FAIL ..." per check, then "N passed, N
# failed"; exits 0 only if nothing failed.
set -u
here=$(dirname "$0")
mode=${1:-}
case $mode in
--quick | --full) shift ;;
*) echo "usage: sh grade/check.sh --quick|--full [STAGE...]" >&2; exit 2 ;;
esac
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
stages="$*"
if [ -z "$stages" ]; then
    # Every finished stage that has exercises (the Makefile's
    # GRADE_STAGES); one still being built (UNFINISHED_S in its stage.mk)
    # is checked only when named.
    stages=$(${MAKE:-make} --no-print-directory -s grade-stages)
fi
root=${GRADE_CHECK_ROOT:-build/grade-check}
passed=0 failed=0
. "$here/clock.sh" # seconds: the clock in $secs
ok() { seconds; echo "ok   grade $* [$((secs - started)) s]"; passed=$((passed + 1)); }
bad() { echo "FAIL grade $*"; failed=$((failed + 1)); }
seconds
started=$secs

# rung_targets OUT RUNG STAGE FILTER: what a rung needs built (the race
# rung's, with ThreadSanitizer, are tsan_targets of the build OUT/tsan).
rung_targets() {
    case $2 in
    exercises) echo "$1/exercisetest" ;;
    suites) echo "$1/kvtest$(echo "$info" | grep -q '^stagetest=yes' && echo " $1/stagetest")" ;;
    race) echo "$1/kvtest" ;;
    crash | power) case $4 in
                   "" | -*) echo "$1/crashtest $1/exercisetest" ;;
                   *) echo "$1/exercisetest" ;; # an exercise's procedures alone
                   esac ;;
    sweep) echo "$1/kvtest" ;;
    speed) echo "$1/kvbench" ;;
    fuzz) echo "$1/kvtest $1/fuzz/$4" ;;
    *) echo "$1/kvtest" ;;
    esac
}

# expected "A | B | ..." FILE...: 0 if one of the texts is in one of the
# files (a fuzzer may catch the same bug by one check or another).
expected() {
    alts=$1
    shift
    : >"$alts_file"
    while :; do
        case $alts in
        *" | "*) printf '%s\n' "${alts%% | *}" >>"$alts_file"; alts=${alts#* | } ;;
        *) printf '%s\n' "$alts" >>"$alts_file"; break ;;
        esac
    done
    grep -F -q -f "$alts_file" -- "$@" 2>/dev/null
}

# ---- 1. the workspaces: a starter, it filled, and one per wrong solution ----
builds="" targets="" tsan_builds="" tsan_targets="" jobs=$root/jobs
mkdir -p "$root"
: >"$jobs"
tab=$(printf '\t')
for stage in $stages; do
    list=$here/$stage.exercises
    ex() { awk -f "$here/exercises.awk" -v list="$list" "$@"; }
    if ! ex -v mode=check 2>"$root/list.err"; then
        bad "$stage: the list does not match the reference: $(cat "$root/list.err")"
        continue
    fi
    base=$root/$stage
    # The workspaces are made afresh; the previous run's (in $base.old)
    # lend their builds (out-*) and, to each file made again identical,
    # its time, so that make compiles only what changed since.
    rm -rf "$base.old"
    [ ! -d "$base" ] || mv "$base" "$base.old"
    mkdir -p "$base"
    info=$(${MAKE:-make} --no-print-directory -s grade-info GRADE_STAGE="$stage")
    echo "$info" >"$base/info"
    names=$(ex -v mode=names)
    # Each exercise is named in the "Exercises" section of the stage's page,
    # or in the stage's section of docs/learn.md ("## Stage S: ...").
    page_ex=$( { sed -n '/^## Exercises/,/^## /p' "docs/$stage.md" 2>/dev/null
                 sed -n "/^## Stage $stage/,/^## /p" docs/learn.md; } )
    for n in $names; do
        [ -f "$here/tests/$stage/${n}_test.c" ] ||
            bad "$stage: exercise $n has no unit tests ($here/tests/$stage/${n}_test.c)"
        case $page_ex in
        *"\`$n\`"*) ;;
        *) bad "$stage: exercise $n is not in the \"Exercises\" section of docs/$stage.md, nor in docs/learn.md's \"Stage $stage\"" ;;
        esac
    done
    # Every section the list names (the scorecard's "Reread") is a heading
    # of the stage's page or of one of its reference pages (docs/STAGE-*.md).
    if [ -f "docs/$stage.md" ]; then
        ex -v mode=sections >"$base/sections"
        pages="docs/$stage.md"
        for sp in "docs/$stage"-*.md; do
            [ -f "$sp" ] && pages="$pages $sp"
        done
        # The sections, then the pages' headings: each section none has.
        awk 'FILENAME == ARGV[1] { want[++n] = $0; next }
             /^#+ / { sub(/^#+ /, ""); have[$0] = 1 }
             END { for (i = 1; i <= n; i++) if (!(want[i] in have)) print want[i] }' \
            "$base/sections" $pages >"$base/sections.missing"
        [ ! -s "$base/sections.missing" ] ||
            bad "$stage: grade/$stage.exercises names sections neither docs/$stage.md nor its reference pages has a heading for: $(sed 's/.*/"&"/' "$base/sections.missing" | tr '\n' ' ')"
    else
        echo "note grade $stage: docs/$stage.md is not written yet: the sections grade/$stage.exercises names are not checked"
    fi
    # Every rule of the list (`rule N`) has a test that names it and a
    # section of the page that says it; every rule a test names is one of
    # the list's (grade/rules_check.py).
    nrules=$(ex -v mode=rules | wc -l)
    if ! python3 "$here/rules_check.py" "$stage" >"$base/rules.out" 2>&1; then
        bad "$stage: the rules of grade/$stage.exercises: $(head -n 3 "$base/rules.out" | sed "s/^$stage: //" | tr '\n' ';')"
    elif [ "$nrules" -gt 0 ]; then
        ok "$stage: each of the list's $nrules rules has a test that names it, and its section of docs/$stage.md says it"
    fi
    if ! sh "$here/learn.sh" "$stage" "$base/starter" >"$base/learn.log" 2>&1; then
        bad "$stage: make learn failed: $(tail -n 1 "$base/learn.log")"
        continue
    fi
    for f in $(ex -v mode=files); do
        d=$base/filled/$f
        mkdir -p "${d%/*}"
        ex -v mode=fill -v target="$f" -v ref="$f" -v ws="$base/starter/$f" >"$base/filled/$f"
    done
    # --quick: the starter filled, without what the starter added, must
    # be the reference byte for byte (which make test runs through every
    # rung), and the reference passes its exercises' tests.  --full grades
    # the filled starter itself, rung by rung.
    for v in starter filled; do
        if [ $mode = --quick ] && [ $v = filled ]; then
            for f in $(ex -v mode=files); do
                d=$base/clean/$f
                mkdir -p "${d%/*}"
                ex -v mode=fill -v clean=1 -v target="$f" -v ref="$f" -v ws="$base/starter/$f" \
                    >"$base/clean/$f"
            done
            targets="$targets build/$stage/exercisetest"
            printf '%s\t%s\t%s\t%s\t%s\n' "$stage" clean "$base/clean" "" "" >>"$jobs"
            # The exercises' race tests, on the reference under ThreadSanitizer.
            if grep -q 'HARNESS_TEST([a-z0-9_]*_race_' "$here/tests/$stage/"*_test.c 2>/dev/null; then
                tsan_targets="$tsan_targets build/tsan/$stage/exercisetest"
                printf '%s\t%s\t%s\t%s\t%s\n' "$stage" clean-race "" "" "" >>"$jobs"
            fi
            continue
        fi
        builds="$builds $base/out-$v@$stage@$base/$v@-"
        [ $mode = --quick ] && targets="$targets $base/out-$v/exercisetest"
        printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$v" "$base/$v" "$base/out-$v" "" >>"$jobs"
    done
    # The reference, its messages worded otherwise.
    if python3 "$here/reword.py" "$stage" "$base/reworded" 2>"$base/reworded.err"; then
        builds="$builds $base/out-reworded@$stage@$base/reworded@-"
        [ $mode = --quick ] && targets="$targets $base/out-reworded/exercisetest"
        printf '%s\t%s\t%s\t%s\t%s\n' "$stage" reworded "$base/reworded" "$base/out-reworded" "" >>"$jobs"
    else
        bad "$stage: grade/reword.py: $(tail -n 1 "$base/reworded.err")"
    fi
    if [ $mode = --full ]; then
        builds="$builds $base/out-engine@$stage@-@build/$stage/libkv.a"
        printf '%s\t%s\t%s\t%s\t%s\n' "$stage" engine "build/$stage/libkv.a" "$base/out-engine" "" >>"$jobs"
    fi
    ex -v mode=wrongs >"$base/wrongs"
    while IFS=$tab read -r w exname rung expect file breaks; do
        ws=$base/wrong-$w
        d=$ws/$file
        mkdir -p "${d%/*}"
        if ! ex -v mode=wrong -v name="$w" -v ref="$file" >"$ws/$file" 2>"$ws.err"; then
            bad "$stage: wrong solution $w: $(cat "$ws.err")"
            continue
        fi
        builds="$builds $base/out-wrong-$w@$stage@$ws@-"
        filt=$(ex -v mode=get -v kind=wrong -v name="$w" -v key=filter)
        [ $mode = --quick ] && targets="$targets $(rung_targets "$base/out-wrong-$w" "$rung" "$stage" "$filt")"
        if [ $mode = --quick ] && [ "$rung" = race ]; then
            tsan_builds="$tsan_builds $base/out-wrong-$w/tsan@$stage@$ws@-"
            case $filt in
            exercises) tsan_targets="$tsan_targets $base/out-wrong-$w/tsan/exercisetest" ;;
            *) tsan_targets="$tsan_targets $base/out-wrong-$w/tsan/racetest" ;;
            esac
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$stage" "wrong-$w" "$ws" "$base/out-wrong-$w" "$rung" "$filt" >>"$jobs"
    done <"$base/wrongs"
    if [ -d "$base.old" ]; then
        # Each file made again identical (but info, wrongs, *.err, *.log)
        # gets its previous times back: one process for them all.
        python3 - "$base" "$base.old" <<'EOF'
import filecmp, os, sys
new, old = sys.argv[1], sys.argv[2]
for top, _, files in os.walk(new):
    for name in files:
        if name in ("info", "wrongs") or name.endswith((".err", ".log")):
            continue
        path = os.path.join(top, name)
        was = os.path.join(old, os.path.relpath(path, new))
        if os.path.isfile(was) and filecmp.cmp(path, was, shallow=False):
            st = os.stat(was)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
EOF
        for o in "$base.old"/out-*; do  # those of workspaces still made
            n=${o##*/out-}
            [ -d "$o" ] && { [ -d "$base/$n" ] || [ "$n" = engine ]; } && mv "$o" "$base/"
        done
        rm -rf "$base.old"
    fi
done

# ---- 2. one make for all of them: the reference's objects are shared, and
# only the files a stub or a planted bug touches are compiled (at -O0). ----
seconds
echo "grade/check.sh $mode: $(echo $builds | wc -w) workspaces made in $((secs - started)) s; building them"
# Each build follows its workspace's contents, not file times (grade/inputs.sh).
for b in $builds; do
    set -- $(echo "$b" | tr @ ' ')
    sh "$here/inputs.sh" "$1" "$2" "$3" "$4"
done
if [ $mode = --quick ]; then
    build_all() {
        built=0
        ${MAKE:-make} --no-print-directory -s -k -j2 GRADE_BUILDS="$builds" GRADE_OPT=-O0 \
            $targets >"$root/build.log" 2>&1 || built=1
        # The race rung's builds, with ThreadSanitizer.
        [ -z "$tsan_targets" ] ||
            ${MAKE:-make} --no-print-directory -s -k -j2 FLAVOUR=tsan GRADE_BUILDS="$tsan_builds" \
                GRADE_OPT=-O0 $tsan_targets >>"$root/build.log" 2>&1 || built=1
        return $built
    }
    # A build kept from the previous run whose files no longer compile would
    # keep its old binaries: if anything failed, they go, and make runs
    # again, so that what cannot be built now is missing, not stale.
    if ! build_all; then
        for o in "$root"/*/out-*; do
            [ -d "$o" ] || continue
            rm -f "$o/exercisetest" "$o/kvtest" "$o/stagetest" "$o/crashtest" "$o/kvbench" \
                  "$o/tsan/exercisetest" "$o/tsan/racetest"
            [ ! -d "$o/fuzz" ] || find "$o/fuzz" -maxdepth 1 -type f -perm -u+x -exec rm -f {} +
        done
        build_all
    fi
    seconds
    echo "grade/check.sh $mode: built in $((secs - started)) s"
    export GRADE_PREBUILT=1 GRADE_FUZZ_RUNS=${GRADE_FUZZ_RUNS:-20000}
fi

# ---- 3. the grades (--quick: two at a time) -------------------------------------
# grade_job: one line of the jobs file (stage, workspace, its directory,
# its build, and for a wrong solution its rung and filter); prints its
# "ok" or "FAIL" line.
grade_job() {
    stage=$1 v=$2 ws=$3 out=$4 rung=$5 filt=$6
    alts_file=$root/$stage/$v.alts
    list=$here/$stage.exercises
    base=$root/$stage
    # What make knows of the stage, read once per stage.
    if [ "${info_stage:-}" != "$stage" ]; then
        GRADE_INFO=$(cat "$base/info")
        export GRADE_INFO
        info_stage=$stage
    fi
    case $v in
    starter)
        only=""
        [ $mode = --quick ] && only="--only exercises"
        sh "$here/grade.sh" "$stage" "$ws" --out "$out" $only >"$base/starter.log" 2>&1
        status=$?
        card=$out/logs/scorecard
        names=$(awk -f "$here/exercises.awk" -v list="$list" -v mode=names)
        total=$(echo "$names" | wc -w)
        if [ $status -eq 0 ]; then
            bad "$stage: the starter passed its grade"
        elif ! grep -q '^rung	build	pass' "$card" 2>/dev/null; then
            bad "$stage: the starter does not build: $(grep -m1 -h 'error' "$out/logs/build.log" "$root/build.log")"
        else
            stubbed=$(grep -c '^exercise	.*	FAIL	.*not written yet' "$card")
            if [ "$stubbed" -eq "$total" ] && ! grep -q '^rung	suites	pass' "$card"; then
                ok "$stage: the starter builds, and all $total exercises fail with a stub's message"
            else
                bad "$stage: the starter: $stubbed of $total exercises fail with a stub's message (see $base/starter.log)"
            fi
        fi
        ;;
    filled)
        only=""
        [ $mode = --quick ] && only="--only exercises"
        sh "$here/grade.sh" "$stage" "$ws" --out "$out" $only >"$base/filled.log" 2>&1
        if [ $? -eq 0 ]; then
            ok "$stage: the starter with the reference's bodies put back passes$( [ -z "$only" ] && echo " every rung" || echo " every exercise")"
        else
            bad "$stage: the starter with the reference's bodies fails: $(grep -m1 '^First failing check' "$base/filled.log") (see $base/filled.log)"
        fi
        ;;
    reworded)
        if [ $mode = --quick ]; then
            sh "$here/grade.sh" "$stage" "$ws" --out "$out" --only exercises >"$base/reworded.log" 2>&1
            status=$?
        else
            sh "$here/grade.sh" "$stage" "$ws" --out "$out" >"$base/reworded.log" 2>&1
            status=$?
        fi
        if [ $status -eq 0 ]; then
            ok "$stage: the reference with its exercises' messages worded otherwise passes$( [ $mode = --quick ] && echo " every exercise" || echo " every rung")"
        else
            bad "$stage: the reference with its exercises' messages worded otherwise fails (a check of the reference's words?): $(grep -m1 '^First failing check' "$base/reworded.log" | cut -c 1-300) (see $base/reworded.log)"
        fi
        ;;
    clean)
        differ=""
        for f in $(awk -f "$here/exercises.awk" -v list="$list" -v mode=files); do
            cmp -s "$f" "$ws/$f" || differ="$differ $f"
        done
        if [ -n "$differ" ]; then
            bad "$stage: the starter with the reference's bodies put back is not the reference:$differ (diff $ws/FILE FILE)"
        elif ! timeout 300 "build/$stage/exercisetest" >"$base/reference-exercises.log" 2>&1; then
            bad "$stage: the reference fails its exercises' tests: $(grep -m1 -B2 '^FAIL' "$base/reference-exercises.log" | head -n 1)"
        else
            ok "$stage: the starter with the reference's bodies put back is the reference, byte for byte, and passes every exercise ($(tail -n 1 "$base/reference-exercises.log"))"
        fi
        ;;
    clean-race)
        TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 300 "build/tsan/$stage/exercisetest" _race_ \
            >"$base/reference-race.log" 2>&1
        status=$?
        if [ $status -ne 0 ] || grep -q 'WARNING: ThreadSanitizer' "$base/reference-race.log"; then
            bad "$stage: the reference fails its exercises' race tests under ThreadSanitizer: $(grep -m1 -E 'WARNING: ThreadSanitizer|^FAIL' "$base/reference-race.log") (see $base/reference-race.log)"
        else
            ok "$stage: the reference passes its exercises' race tests under ThreadSanitizer ($(tail -n 1 "$base/reference-race.log"))"
        fi
        ;;
    engine)
        ${MAKE:-make} --no-print-directory -s "$ws" >/dev/null 2>&1
        ${MAKE:-make} --no-print-directory -s FLAVOUR=tsan "build/tsan/$stage/libkv.a" >/dev/null 2>&1
        ENGINE_TSAN=build/tsan/$stage/libkv.a \
            sh "$here/grade.sh" "$stage" --engine "$ws" --out "$out" >"$base/engine.log" 2>&1
        if [ $? -eq 0 ]; then
            ok "$stage: $ws graded as an ENGINE passes every rung"
        else
            bad "$stage: $ws as an ENGINE fails: $(grep -m1 '^First failing check' "$base/engine.log")"
        fi
        ;;
    wrong-*)
        w=${v#wrong-}
        # Its line of the list's wrong solutions.
        while IFS=$tab read -r name exname _ expect _ breaks; do
            [ "$name" = "$w" ] && break
        done <"$base/wrongs"
        refuse=$(awk -f "$here/exercises.awk" -v list="$list" -v mode=get -v kind=wrong \
                 -v name="$w" -v key=refuse)
        [ "$rung" = exercises ] && [ -z "$filt" ] && filt=$exname
        if [ $mode = --quick ]; then
            sh "$here/grade.sh" "$stage" "$ws" --out "$out" --only "$rung" \
                ${filt:+--filter "$filt"} >"$ws.log" 2>&1
        else
            sh "$here/grade.sh" "$stage" "$ws" --out "$out" >"$ws.log" 2>&1
        fi
        status=$?
        card=$out/logs/scorecard
        first=$(awk -F '\t' '$1 == "rung" && $3 == "FAIL" { print $2; exit }' "$card" 2>/dev/null)
        # --full: the grade stopped at the first rung that failed; if that is
        # not the rung the list names, that rung is run on its own too, on
        # the part the list names (its `filter`), as --quick runs it.
        if [ $mode = --full ] && [ -n "$first" ] && [ "$first" != "$rung" ]; then
            mv "$ws.log" "$ws.first.log"
            sh "$here/grade.sh" "$stage" "$ws" --out "$out" --only "$rung" \
                ${filt:+--filter "$filt"} >"$ws.log" 2>&1
            status=$?
        fi
        msg=$(sed -n '/^First failing check/ { s/^First failing check: //; p; q; }' "$ws.log")
        if [ $status -eq 0 ]; then
            bad "$stage: wrong solution $w ($breaks) passed$( [ $mode = --quick ] && echo " the rung $rung")"
        elif ! grep -q "^rung	$rung	FAIL" "$card" 2>/dev/null; then
            bad "$stage: wrong solution $w ($breaks): the rung $rung did not fail on it (the first failing: ${first:-none}: $msg)"
        elif ! expected "$expect" "$ws.log" "$out"/logs/*.log; then
            bad "$stage: wrong solution $w ($breaks): the rung $rung failed, but without \"$expect\": $msg"
        elif [ -n "$refuse" ] && expected "$refuse" "$ws.log" "$out"/logs/*.log; then
            bad "$stage: wrong solution $w ($breaks): the rung $rung failed, but its report shows \"$refuse\", which it must not: $msg"
        else
            ok "$stage: wrong solution $w ($breaks) fails the rung $rung$( [ $mode = --full ] && echo " (the first to fail: $first)"): $(echo "$msg" | cut -c 1-300)"
        fi
        ;;
    esac
}
# --quick built everything first, so the grades only run; --full's grades
# build as they go, and two makes must not write the same object at once.
lanes=1
[ $mode = --full ] || lanes=${GRADE_CHECK_JOBS:-2}
lane=0
while [ $lane -lt "$lanes" ]; do
    awk -F '\t' -v lane=$lane -v lanes="$lanes" '(NR - 1) % lanes == lane' "$jobs" |
        while IFS=$tab read -r stage v ws out rung filt; do
            grade_job "$stage" "$v" "$ws" "$out" "$rung" "$filt"
        done >"$root/lane$lane.out" 2>&1 &
    lane=$((lane + 1))
done
wait
# The lines in the order of the jobs.
lane=0
while [ $lane -lt "$lanes" ]; do
    awk -v lane=$lane -v lanes="$lanes" '{ print (NR - 1) * lanes + lane "\t" $0 }' "$root/lane$lane.out"
    lane=$((lane + 1))
done | sort -n -k1,1 -s | cut -f 2- >"$root/grades.out"
cat "$root/grades.out"
passed=$((passed + $(grep -c '^ok   ' "$root/grades.out")))
failed=$((failed + $(grep -c '^FAIL ' "$root/grades.out")))
# ---- 4. what the grade promises about itself: builds that follow their
# inputs, an engine that never syncs, a skip shown as a skip
# (grade/track_test.sh). ----
if [ -z "${GRADE_CHECK_NO_TRACK:-}" ]; then
    sh "$here/track_test.sh" "$root/track" "$mode" >"$root/track.out" 2>&1
    grep -E '^(ok|FAIL|note) ' "$root/track.out"
    passed=$((passed + $(grep -c '^ok   ' "$root/track.out")))
    failed=$((failed + $(grep -c '^FAIL ' "$root/track.out")))
fi
seconds
echo "grade/check.sh $mode: $((secs - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
