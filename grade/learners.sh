#!/bin/sh
# learners.sh: the grade graded by learners' mistakes (docs/learn-reference.md,
# "Learners' mistakes").
#
#   sh grade/learners.sh STAGE [NAME]
#
# grade/learners/STAGE/NAME.patch is a solution a learner could write,
# made from the stubs and the chapter alone (never from the tests or the
# mutants): a unified diff from the reference (--- a/PATH, +++ b/PATH,
# applied with patch -p1 to a copy of the reference's files), after lines
# starting "# " that patch ignores:
#
#   # rule: EXERCISE N: the rule it breaks, as the exercise's stub numbers it
#   # why: how a learner got there
#   # expect: pass        (only for a correct solution written another way:
#                          other words in its messages, another valid order)
#
# Each sample is a workspace holding the files its patch changes (the
# reference with the patch in, as grade/mutants.sh makes a mutant's),
# graded as a learner's would be (grade/grade.sh), rung by rung in the
# grade's order, stopping at the first that fails.  A sample that is a bug
# is "caught" (the rung, the grade's message: at the exercises rung, the
# scorecard's row of the sample's own exercise when it failed, else the
# first failing check; and whether that message names the rule: the
# first rule it names is "rule N of EXERCISE" for the sample's N and
# exercise, or a list of that exercise's rules holding N) or "SURVIVED"; an `expect: pass` sample
# "passed" or "WRONGLY FAILED" (the rung and the message).  A patch that does not apply, or
# touches a file no exercise of the stage is in, is "UNUSABLE".
#
# Environment:
#   RUNGS=LIST  the rungs to climb (default: the grade's, build excepted:
#               exercises suites race crash power sweep fuzz speed); a
#               sample that passes these is reported as passing them
#   JOBS=N      samples graded at once (default 2)
#   GRADE_RUN_CAP=S  each test binary's run cut at S seconds (default 300:
#               a test that does not end fails by itself, bounded by its
#               CPU time and by stalls, grade/tests/exercise_bound.c; the
#               cap is for the rest, and must not cut a correct solution's
#               suites short on a busy machine)
#   LEARNERS_SAMPLES=DIR  the samples of DIR instead of grade/learners/STAGE
#               (grade/track_test.sh checks the runner's verdicts so)
#
# Writes build/grade-learners/STAGE[-NAME]/report.txt (and prints it): a
# line per sample, then
#   learners: stage S: B bugs, C caught (N naming their rule), V survived; P correct solutions, Q passed, F wrongly failed
# Exit status 0 when the run finished (whatever it found), 1 when a sample
# is unusable or the run itself failed, 2 on bad arguments.
set -u
here=$(dirname "$0")
MAKE=${MAKE:-make}
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: sh grade/learners.sh STAGE [NAME]" >&2; exit 2; }
stage=$1 only=${2:-}
list=$here/$stage.exercises
samples=${LEARNERS_SAMPLES:-$here/learners/$stage}
[ -f "$list" ] || { echo "learners: stage $stage has no exercises ($list)" >&2; exit 2; }
[ -d "$samples" ] || { echo "learners: stage $stage has no samples ($samples/)" >&2; exit 2; }
if [ -n "$only" ] && [ ! -f "$samples/$only.patch" ]; then
    echo "learners: no sample $samples/$only.patch (there are: $(cd "$samples" && ls *.patch | sed 's/\.patch$//' | tr '\n' ' '))" >&2
    exit 2
fi
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
command -v patch >/dev/null 2>&1 || { echo "learners: the patch program is needed (apt-get install patch)" >&2; exit 1; }
jobs=${JOBS:-2}
# Every exercise is run and reported, as in a learner's grade (no
# GRADE_STOP_AT_FIRST): the scorecard's row of the sample's own exercise
# is what its learner reads about it.
GRADE_RUN_CAP=${GRADE_RUN_CAP:-300}
export GRADE_RUN_CAP
unset GRADE_STOP_AT_FIRST
rungs=${RUNGS:-exercises suites race crash power sweep fuzz speed}
rungs=$(echo "$rungs" | tr ',' ' ')
root=build/grade-learners/$stage${only:+-$only}
rm -rf "$root"
mkdir -p "$root"
started=$(date +%s)
tab=$(printf '\t')
ex() { awk -f "$here/exercises.awk" -v list="$list" "$@"; }
ex -v mode=check >/dev/null 2>"$root/list.err" || {
    echo "learners: grade/$stage.exercises does not match the reference: $(cat "$root/list.err")" >&2
    exit 1
}
ex -v mode=files >"$root/files"
if [ -n "$only" ]; then
    echo "$samples/$only.patch" >"$root/samples"
else
    ls "$samples"/*.patch 2>/dev/null >"$root/samples"
fi
total=$(grep -c . "$root/samples")
[ "$total" -gt 0 ] || { echo "learners: $samples/ holds no .patch" >&2; exit 2; }
echo "learners: stage $stage: $total samples, rungs: $rungs"

# header PATCH KEY: the value of the patch's "# KEY: ..." line.
header() { sed -n "s/^# $2: *//p" "$1" | head -n 1; }

# grade_sample ID: grades sample ID (line ID of the samples file); writes
# ID.result: "VERDICT<TAB>RUNG<TAB>MESSAGE", VERDICT one of caught,
# survived, passed, wrongly-failed, unusable.
grade_sample() {
    id=$1
    p=$(sed -n "${id}p" "$root/samples")
    name=$(basename "$p" .patch)
    ws=$root/$name/ws out=$root/$name/out
    mkdir -p "$ws"
    expect=$(header "$p" expect)
    files=$(sed -n 's/^+++ b\/\([^	 ]*\).*/\1/p' "$p")
    for f in $files; do
        if ! grep -qx "$f" "$root/files"; then
            printf 'unusable\t-\tit changes %s, which holds no exercise of stage %s (they are in: %s)\n' \
                "$f" "$stage" "$(tr '\n' ' ' <"$root/files")" >"$root/$id.result"
            return
        fi
        mkdir -p "$(dirname "$ws/$f")"
        cp "$f" "$ws/$f"
    done
    if [ -z "$files" ]; then
        printf 'unusable\t-\tno "+++ b/PATH" line: not a unified diff\n' >"$root/$id.result"
        return
    fi
    if ! patch -p1 -s -f --no-backup-if-mismatch -d "$ws" <"$p" >"$root/$name/patch.log" 2>&1; then
        printf 'unusable\t-\tthe patch does not apply to the reference: %s\n' \
            "$(head -n 1 "$root/$name/patch.log")" >"$root/$id.result"
        return
    fi
    result="survived${tab}-${tab}passed: $rungs"
    [ "$expect" = pass ] && result="passed${tab}-${tab}passed: $rungs"
    for r in $rungs; do
        sh "$here/grade.sh" "$stage" "$ws" --out "$out" --only "$r" >"$root/$name/$r.log" 2>&1
        status=$?
        card=$out/logs/scorecard
        # A rung past the first builds objects of the reference that the
        # lanes share (its suites' tests, say), and two lanes may build one
        # at once: a link then misses what the other lane was writing.  The
        # sample's own files built at the first rung, so a build failure
        # here is tried once more before it counts.
        if [ $status -ne 0 ] && [ "$r" != "${rungs%% *}" ] &&
           grep -q '^rung	build	FAIL' "$card" 2>/dev/null; then
            sh "$here/grade.sh" "$stage" "$ws" --out "$out" --only "$r" >"$root/$name/$r.log" 2>&1
            status=$?
        fi
        [ $status -eq 0 ] && continue
        if grep -q "^rung	$r	skipped" "$card" 2>/dev/null; then
            continue # a rung this machine cannot run: not a catch
        fi
        msg=$(grep -m1 '^First failing check' "$root/$name/$r.log" | sed 's/^First failing check: //')
        if grep -q '^rung	build	FAIL' "$card" 2>/dev/null; then
            r=build
        fi
        # At the exercises rung, the row of the sample's own exercise, when
        # it failed too: the scorecard shows every exercise's result.
        rule_ex=$(header "$p" rule | awk '{ print $1 }')
        own=$(awk -F '\t' -v ex="$rule_ex" '$1 == "exercise" && $3 == "FAIL" &&
                                             $2 ~ ("^[0-9]+ " ex "$") { print $4; exit }' "$card" 2>/dev/null)
        [ "$r" = exercises ] && [ -n "$own" ] && msg="exercise $rule_ex: $own"
        if [ "$expect" = pass ]; then
            result="wrongly-failed${tab}$r${tab}${msg:-exit status $status (see $root/$name/$r.log)}"
        else
            result="caught${tab}$r${tab}${msg:-exit status $status (see $root/$name/$r.log)}"
        fi
        break
    done
    printf '%s\n' "$result" >"$root/$id.result"
    rm -rf "$out/obj" "$out"/*/obj 2>/dev/null
}
# The first sample alone (it builds the reference's objects the others
# share), then JOBS at a time, each lane taking every JOBS-th.
grade_sample 1
lane=0
while [ $lane -lt "$jobs" ]; do
    (
        id=2
        while [ $id -le "$total" ]; do
            [ $(((id - 2) % jobs)) -eq $lane ] && grade_sample $id
            id=$((id + 1))
        done
    ) &
    lane=$((lane + 1))
done
wait

# ---- the report ----------------------------------------------------------------------
report=$root/report.txt
{
    echo "Learners' samples of stage $stage ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)), graded rung by rung: $rungs"
    id=1
    while [ $id -le "$total" ]; do
        p=$(sed -n "${id}p" "$root/samples")
        res=$(cat "$root/$id.result" 2>/dev/null || printf 'unusable\t-\tno result: the run was cut short')
        verdict=$(printf '%s\n' "$res" | cut -f 1)
        rung=$(printf '%s\n' "$res" | cut -f 2)
        msg=$(printf '%s\n' "$res" | cut -f 3-)
        rule=$(header "$p" rule)
        # The rule's exercise (its first word) and number (the first
        # number after it); the message names the rule when the first rule
        # it names (the one the scorecard sends the learner to reread: a
        # failing check puts the rule it saw broken first) is "rule N of
        # EXERCISE", or a list of rules of EXERCISE holding N ("rules 2
        # and 4 of", "rules 1 to 4 of"), as the tests write a rule
        # (grade/tests/exercise.h).  A message that names another rule
        # first, and this one only further on, does not name it.
        rule_ex=$(printf '%s\n' "$rule" | awk '{ print $1 }')
        rule_n=$(printf '%s\n' "$rule" | awk '{ for (i = 2; i <= NF; i++) if (match($i, /^[0-9]+/)) { print substr($i, 1, RLENGTH); exit } }')
        named=no
        if [ -n "$rule_n" ] && printf '%s\n' "$msg" | awk -v ex="$rule_ex" -v n="$rule_n" '
            {
                line = $0
                if (!seen && match(line, /rules? [0-9]+((, | and | to )[0-9]+)* of [a-z0-9_]+/)) {
                    seen = 1
                    m = substr(line, RSTART, RLENGTH)
                    k = split(m, w, /,? +/)
                    if (w[k] == ex)
                        for (i = 2; i < k - 1; i++)
                            if (w[i] == n || (w[i] == "to" && w[i - 1] + 0 <= n + 0 && n + 0 <= w[i + 1] + 0))
                                found = 1
                }
            }
            END { exit !found }'; then
            named=yes
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$p" .patch)" "$verdict" "$rung" "$named" "$rule" "$msg"
        id=$((id + 1))
    done >"$root/results"
    awk -F '\t' '
        { msg = $6; if (length(msg) > 300) msg = substr(msg, 1, 297) "..." }
        $2 == "caught" { printf "caught    %-34s at %-9s %s\n    rule: %s\n    %s\n", $1, $3,
                         ($4 == "yes" ? "(names its rule)" : "(DOES NOT NAME its rule)"), $5, msg }
        $2 == "survived" { printf "SURVIVED  %-34s %s\n    rule: %s\n", $1, msg, $5 }
        $2 == "passed" { printf "passed    %-34s (a correct solution) %s\n", $1, msg }
        $2 == "wrongly-failed" { printf "WRONGLY FAILED %-29s at %s: a correct solution failed\n    %s\n", $1, $3, msg }
        $2 == "unusable" { printf "UNUSABLE  %-34s %s\n", $1, msg }
        $2 == "caught" { c++; if ($4 == "yes") n++ }
        $2 == "survived" { s++ }
        $2 == "passed" { ok++ }
        $2 == "wrongly-failed" { wf++ }
        $2 == "unusable" { u++ }
        END {
            printf "learners: stage %s: %d bug%s, %d caught (%d naming their rule), %d survived; %d correct solution%s, %d passed, %d wrongly failed%s\n",
                stage, c + s, (c + s == 1 ? "" : "s"), c, n, s, ok + wf, (ok + wf == 1 ? "" : "s"), ok, wf,
                (u ? sprintf("; %d unusable", u) : "")
        }' stage="$stage" "$root/results"
    echo "learners: $(($(date +%s) - started)) s"
} >"$report"
cat "$report"
! grep -q "	unusable	" "$root/results"
