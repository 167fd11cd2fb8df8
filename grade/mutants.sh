#!/bin/sh
# mutants.sh: the grade graded by mutants of the reference
# (docs/learn-reference.md, "Mistakes nobody planted: `make grade-mutants`").
#
#   sh grade/mutants.sh STAGE [EXERCISE]
#
# Each exercise's reference functions are mutated one change at a time by
# grade/mutate.py (a comparison or an operator swapped, a constant off by
# one, a condition negated or forced, a statement dropped, a field or an
# argument swapped for another, two neighbouring statements exchanged, an
# error's message left unset).  Each mutant is a workspace holding the
# one file it changes, graded as a learner's would be (grade/grade.sh),
# rung by rung in the grade's order, stopping at the first that fails.
# A mutant the compiler refuses is stillborn (not counted); one listed in
# the stage's exercises file as [equivalent NAME] (the same behaviour as
# the reference: no test can tell them apart, and the entry says why) is
# counted apart; any other that passes every rung survives: a test the
# track lacks.
#
# Environment:
#   MUTANTS=N   grade N mutants of each exercise, a seeded sample (SEED=K,
#               default 1), instead of all of them
#   OPERATORS=LIST  only the mutants of these kinds (comma- or
#               space-separated, of grade/mutate.py's: cmp arith logic
#               const negate force drop field arg swap message); default
#               all of them.  The sample (MUTANTS) is taken from these.
#   RUNGS=LIST  the rungs to climb (default: the grade's, build excepted:
#               exercises suites race crash power sweep fuzz speed); a
#               mutant that passes these is reported as surviving them
#   JOBS=N      mutants graded at once (default 2)
#   REPORT_ONLY=1  the last run's report made again
#   GRADE_RUN_CAP=S  each test binary's run cut at S seconds (default 60):
#               a loop that never ends in a suite fails then, as not
#               finishing (an exercise's test ends itself before)
#
# Writes build/grade-mutants/STAGE[-EXERCISE]/report.txt (and prints it): per
# exercise, each mutant caught with its rung and the grade's message, each
# survivor as a diff; then one line per exercise,
#   exercise NAME: M mutants, E equivalent, C caught (P%), R at the exercises or suites rung with a message that names its rule
# (R: the first rule the message names is one of the exercise's own)
# P being the share of the non-equivalent mutants caught, and a last line
# "mutants: ...".  Exit status 0 when the run finished (whatever it found),
# 2 on bad arguments, 1 if the run itself failed.
set -u
here=$(dirname "$0")
MAKE=${MAKE:-make}
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: sh grade/mutants.sh STAGE [EXERCISE]" >&2; exit 2; }
stage=$1 only_ex=${2:-}
list=$here/$stage.exercises
[ -f "$list" ] || { echo "mutants: stage $stage has no exercises ($list)" >&2; exit 2; }
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
mutants=${MUTANTS:-} seed=${SEED:-1} jobs=${JOBS:-2}
# A mutant's loop that never ends is caught by its test's own bound (its
# CPU time, or a stall: grade/tests/exercise_bound.c), with the test's
# rule; what no test bounds (a suite of kvtest) by the time limit: each
# run of a test binary is cut at GRADE_RUN_CAP seconds (the reference's
# slowest suite takes a few), and the exercises rung stops at its first
# failure.
GRADE_RUN_CAP=${GRADE_RUN_CAP:-60} GRADE_STOP_AT_FIRST=1
export GRADE_RUN_CAP GRADE_STOP_AT_FIRST
rungs=${RUNGS:-exercises suites race crash power sweep fuzz speed}
rungs=$(echo "$rungs" | tr ',' ' ')
known_ops="cmp arith logic const negate force drop field arg swap message"
operators=$(echo "${OPERATORS:-$known_ops}" | tr ',' ' ')
for op in $operators; do
    case " $known_ops " in
    *" $op "*) ;;
    *) echo "mutants: OPERATORS: no operator $op (they are: $known_ops)" >&2; exit 2 ;;
    esac
done
root=build/grade-mutants/$stage${only_ex:+-$only_ex}
# REPORT_ONLY=1: the report of the last run again (with the same
# MUTANTS, SEED and RUNGS), from what it left in build/grade-mutants.
[ -n "${REPORT_ONLY:-}" ] || rm -rf "$root"
mkdir -p "$root"
started=$(date +%s)
tab=$(printf '\t')
ex() { awk -f "$here/exercises.awk" -v list="$list" "$@"; }
ex -v mode=check >/dev/null 2>"$root/list.err" || {
    echo "mutants: grade/$stage.exercises does not match the reference: $(cat "$root/list.err")" >&2
    exit 1
}
ex -v mode=table >"$root/table"
if [ -n "$only_ex" ] && ! cut -f 2 "$root/table" | grep -qx "$only_ex"; then
    echo "mutants: stage $stage has no exercise $only_ex (it has: $(cut -f 2 "$root/table" | tr '\n' ' '))" >&2
    exit 2
fi
# The equivalent mutants the list names: function, before, after,
# occurrence (0: every line of the function with that text), why.
ex -v mode=equivalents >"$root/equivalents"

# mutant_file LINE: the reference file with the mutant's line in place
# (the text goes through the environment: awk -v would read its
# backslashes as escapes).  A mutant of lines N-M (swap, message) has
# its lines joined by the two characters \n: they take the place of
# lines N to M.
mutant_file() {
    ref=$(printf '%s\n' "$1" | cut -f 2)
    MUTANT_LINE=$(printf '%s\n' "$1" | cut -f 5) MUTANT_AFTER=$(printf '%s\n' "$1" | cut -f 8) \
        awk 'BEGIN { where = ENVIRON["MUTANT_LINE"]; first = last = where + 0
                     if (sub(/^[0-9]+-/, "", where)) last = where + 0
                     n = split(ENVIRON["MUTANT_AFTER"], after, /\\n/)
                     if (first == last) { n = 1; after[1] = ENVIRON["MUTANT_AFTER"] } }
             NR == first { for (i = 1; i <= n; i++) print after[i]; next }
             NR > first && NR <= last { next }
             { print }' "$ref"
}

if [ -z "${REPORT_ONLY:-}" ]; then
# ---- 1. the mutants: all, or a seeded sample of each exercise ----------------
# A mutant the compiler refuses is stillborn: each is tried with the
# stage's flags (-fsyntax-only) in the sample's order, until MUTANTS of
# those it accepts are taken; the stillborn ones tried are counted.
cflags=$(${MAKE} --no-print-directory -s grade-info GRADE_STAGE="$stage" | sed -n 's/^cflags=//p')
CC=${CC:-cc}
: >"$root/mutants"
mkdir -p "$root/try"
while IFS=$tab read -r n name file fns section; do
    [ -z "$only_ex" ] || [ "$only_ex" = "$name" ] || continue
    python3 "$here/mutate.py" "$file" $fns >"$root/ex-$name.every" 2>"$root/mutate.err" || {
        echo "mutants: $(cat "$root/mutate.err")" >&2
        exit 1
    }
    awk -F '\t' -v ops="$operators" 'BEGIN { n = split(ops, o, " "); for (i = 1; i <= n; i++) want[o[i]] = 1 }
        $3 in want' "$root/ex-$name.every" >"$root/ex-$name.all"
    # Equivalent ones marked E (the list's: an entry with an occurrence N
    # matches only the Nth line of the function, counted from its "{",
    # with the mutant's text; one without, every such line), the rest M;
    # then a seeded shuffle (the same for the same seed and reference).
    # A mutant of several lines matches an entry whose replace and with
    # are its lines, each trimmed, joined by \n; its occurrence counts
    # the places the function holds those lines, one after the other.
    awk -F '\t' -v OFS='\t' -v eq="$root/equivalents" -v name="$name" -v file="$file" -v seed="$seed" '
        function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
        function trims(s,   p, n, i, out) {
            n = split(s, p, /\\n/); out = trim(p[1])
            for (i = 2; i <= n; i++) out = out "\\n" trim(p[i])
            return out }
        BEGIN { while ((getline l < eq) > 0) { split(l, f, "\t"); e[f[1] "\t" f[2] "\t" f[3] "\t" f[4]] = 1 }
                while ((getline l < file) > 0) src[++nsrc] = l
                srand(seed) }
        { if ($2 ~ /-/) { b = trims($4); a = trims($5); nb = split($4, parts, /\\n/) }
          else { b = trim($4); a = trim($5); nb = 1 }
          occ = 0
          for (j = $2 + 0; j >= 1 && src[j] != "{"; j--) {
              w = trim(src[j])
              for (q = 1; q < nb; q++) w = w "\\n" trim(src[j + q])
              occ += w == b
          }
          k = $1 "\t" b "\t" a
          line[NR] = name OFS file OFS (((k "\t0") in e || (k "\t" occ) in e) ? "E" : "M") OFS $0 }
        END { for (i = NR; i > 1; i--) { j = int(rand() * i) + 1; t = line[i]; line[i] = line[j]; line[j] = t }
              for (i = 1; i <= NR; i++) print line[i] }' "$root/ex-$name.all" >"$root/ex-$name.shuffled"
    taken=0
    while IFS= read -r line; do
        kind=$(printf '%s\n' "$line" | cut -f 3)
        if [ "$kind" = M ]; then
            [ -n "$mutants" ] && [ "$taken" -ge "$mutants" ] && break
            mkdir -p "$(dirname "$root/try/$file")"
            mutant_file "$line" >"$root/try/$file"
            if ! eval "$CC $cflags -Istages/$stage -I$(dirname "$file") -fsyntax-only \"\$root/try/\$file\"" \
                    >"$root/try.log" 2>&1; then
                printf '%s\n' "$line" | sed 's/\tM\t/\tS\t/' >>"$root/mutants"
                continue
            fi
            taken=$((taken + 1))
        fi
        printf '%s\n' "$line" >>"$root/mutants"
    done <"$root/ex-$name.shuffled"
done <"$root/table"
total=$(grep -c . "$root/mutants")
echo "mutants: stage $stage: $(grep -c "$tab[ME]$tab" "$root/mutants") mutants to grade, $(grep -c "${tab}S$tab" "$root/mutants") stillborn$( [ -n "$mutants" ] && echo " (a sample of $mutants an exercise, seed $seed)"), rungs: $rungs$( [ -n "${OPERATORS:-}" ] && echo ", operators: $operators")"

# ---- 2. each mutant: a workspace with its one file, graded rung by rung ---------
# grade_mutant ID: grades mutant ID (line ID of the mutants file); writes
# ID.result: "KIND<TAB>RUNG<TAB>MESSAGE", KIND one of caught, survived,
# stillborn, equivalent.
grade_mutant() {
    id=$1
    line=$(sed -n "${id}p" "$root/mutants")
    file=$(printf '%s\n' "$line" | cut -f 2) kind=$(printf '%s\n' "$line" | cut -f 3)
    ws=$root/m$id
    out=$root/out-m$id
    mkdir -p "$(dirname "$ws/$file")"
    mutant_file "$line" >"$ws/$file"
    if [ "$kind" = E ]; then
        printf 'equivalent\t-\t-\n' >"$root/m$id.result"
        return
    fi
    if [ "$kind" = S ]; then
        printf 'stillborn\tbuild\tthe compiler refuses it\n' >"$root/m$id.result"
        return
    fi
    result="survived${tab}-${tab}passed: $rungs"
    for r in $rungs; do
        sh "$here/grade.sh" "$stage" "$ws" --out "$out" --only "$r" >"$root/m$id.$r.log" 2>&1
        status=$?
        [ $status -eq 0 ] && continue
        card=$out/logs/scorecard
        if grep -q '^rung	build	FAIL' "$card" 2>/dev/null; then
            result="stillborn${tab}build${tab}$(grep -m1 '^rung	build	FAIL' "$card" | cut -f 4)"
        elif grep -q "^rung	$r	skipped" "$card" 2>/dev/null; then
            continue # a rung this machine cannot run: not a catch
        else
            msg=$(grep -m1 '^First failing check' "$root/m$id.$r.log" | sed 's/^First failing check: //')
            result="caught${tab}$r${tab}${msg:-exit status $status}"
        fi
        break
    done
    printf '%s\n' "$result" >"$root/m$id.result"
    rm -rf "$out/obj" "$out"/*/obj 2>/dev/null
}
# The first mutant alone (it builds the reference's objects the others
# share), then JOBS at a time, each lane taking every JOBS-th.
[ "$total" -gt 0 ] && grade_mutant 1
lane=0
while [ $lane -lt "$jobs" ]; do
    (
        id=2
        while [ $id -le "$total" ]; do
            [ $(((id - 2) % jobs)) -eq $lane ] && grade_mutant $id
            id=$((id + 1))
        done
    ) &
    lane=$((lane + 1))
done
wait
else
    total=$(grep -c . "$root/mutants")
fi

# ---- 3. the report -------------------------------------------------------------------
report=$root/report.txt
{
    echo "Mutants of stage $stage's exercises ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?))$( [ -n "$mutants" ] && echo ", a sample of $mutants an exercise, seed $seed"), graded rung by rung: $rungs$( [ -n "${OPERATORS:-}" ] && echo ", operators: $operators")"
    id=1
    while [ $id -le "$total" ]; do
        line=$(sed -n "${id}p" "$root/mutants")
        res=$(cat "$root/m$id.result" 2>/dev/null || printf 'lost\t-\tno result')
        p() { printf '%s\n' "$1" | cut -f "$2"; }
        printf '%s\t%s\t%s\t%s\t%s\n' "$(p "$line" 1)" "$(p "$res" 1)" "$(p "$res" 2)" \
            "$(p "$line" 4-8)" "$(p "$res" 3)"
        id=$((id + 1))
    done >"$root/results"
    # Per exercise: the caught, then the survivors as diffs.
    while IFS=$tab read -r n name file fns section; do
        grep -q "^$name$tab" "$root/results" || continue
        echo
        echo "== exercise $name ($file: $fns)"
        awk -F '\t' -v name="$name" -v file="$file" '
            $1 == name && $2 == "caught" {
                msg = $9; if (length(msg) > 160) msg = substr(msg, 1, 157) "..."
                printf "caught at %-9s %-6s %s:%s: %s  ->  %s\n    %s\n", $3, $6, file, $5, $7, $8, msg }
            $1 == name && $2 == "survived" {
                printf "SURVIVED  %-6s in %s, %s:%s\n", $6, $4, file, $5
                if ($5 !~ /-/) { printf "    - %s\n    + %s\n", $7, $8; next }
                n = split($7, l, /\\n/); for (i = 1; i <= n; i++) printf "    - %s\n", l[i]
                n = split($8, l, /\\n/); for (i = 1; i <= n; i++) printf "    + %s\n", l[i] }' \
            "$root/results"
    done <"$root/table"
    echo
    # One line per exercise, then the stage's.
    awk -F '\t' '
        # A catch whose message names a rule of the mutant exercise first
        # (the rule the scorecard sends the learner to reread: a failing
        # check puts the rule it saw broken first), as "rule N of
        # EXERCISE" or a list of its rules.
        function own_rule(m, e,   r, k, w) {
            if (!match(m, /rules? [0-9]+((, | and | to )[0-9]+)* of [a-z0-9_]+/))
                return 0
            r = substr(m, RSTART, RLENGTH)
            k = split(r, w, / /)
            return w[k] == e
        }
        { ex = $1; if (!(ex in order)) { order[ex] = ++n; name[n] = ex }
          if ($2 == "stillborn") { still[ex]++; next }
          made[ex]++
          if ($2 == "equivalent") eq[ex]++
          if ($2 == "caught") { caught[ex]++; if (($3 == "exercises" || $3 == "suites") && own_rule($9, ex)) named[ex]++ }
          if ($2 == "survived") surv[ex]++ }
        END {
            for (i = 1; i <= n; i++) {
                e = name[i]; ne = made[e] - eq[e]
                printf "exercise %s: %d mutants, %d equivalent, %d caught (%s), %d at the exercises or suites rung with a message that names its rule; %d stillborn, %d survived\n",
                    e, made[e], eq[e], caught[e], (ne > 0) ? sprintf("%.0f%%", 100 * caught[e] / ne) : "n/a",
                    named[e], still[e], surv[e]
                T += made[e]; E += eq[e]; C += caught[e]; N += named[e]; S += surv[e]
            }
            printf "mutants: %d graded, %d equivalent, %d caught (%s), %d with a named rule at exercises or suites, %d survived\n",
                T, E, C, (T - E > 0) ? sprintf("%.0f%%", 100 * C / (T - E)) : "n/a", N, S
        }' "$root/results"
    echo "mutants: $(($(date +%s) - started)) s"
} >"$report"
cat "$report"
