#!/bin/sh
# rules_check.sh: an exercise's rules against its tests and its page
# (docs/learn.md, "The lists"; grade/check.sh runs it for every stage).
#
#   sh grade/rules_check.sh STAGE
#
# For each rule of grade/STAGE.exercises (`rule N` of an exercise):
#   - its section (`rule N reread: SECTION | WORDS`) is a heading of
#     docs/STAGE.md, and the section's text holds WORDS (line breaks and
#     runs of spaces read as one space, Markdown's * and ` left out): the
#     page the grade sends a learner to says the rule;
#   - a test of the exercise names it: grade/tests/STAGE/NAME_test.c (or a
#     helper that defines EX_EXERCISE_FILE "NAME_test.c") holds
#     EX_RULE(N, ...) (grade/tests/exercise.h), so that some check fails
#     naming it when the rule is broken.
# And every EX_RULE(N, ...) of a test file names a rule its exercise has.
# Prints one line per problem; exits 0 only if there is none.
set -u
stage=$1
here=$(dirname "$0")
list=$here/$stage.exercises
page=docs/$stage.md
tab=$(printf '\t')
bad=0
problem() { echo "$stage: $*"; bad=1; }
rules=$(awk -f "$here/exercises.awk" -v list="$list" -v mode=rules) || exit 1
# exercise_files NAME: the files of NAME's tests: NAME_test.c, and the
# helpers that say they hold its tests (#define EX_EXERCISE_FILE
# "NAME_test.c", grade/tests/exercise.h).
exercise_files() {
    echo "$here/tests/$stage/${1}_test.c"
    grep -l "^#define EX_EXERCISE_FILE \"${1}_test.c\"" "$here/tests/$stage/"*.c 2>/dev/null
}
# section_text SECTION: the text under that heading of the page, up to the
# next heading of the same or a higher level, on one line, without
# Markdown's emphasis and code marks (WORDS are matched the same way).
section_text() {
    awk -v sec="$1" '
        /^#+ / { h = $0; sub(/ .*/, "", h); t = $0; sub(/^#+ /, "", t)
                 if (on && length(h) <= level) exit
                 if (t == sec) { on = 1; level = length(h); next } }
        on { printf "%s ", $0 }' "$page" | tr -d '*`' | tr -s ' \t' '  '
}
if [ -n "$rules" ]; then
    echo "$rules" | while IFS=$tab read -r exname n sec words text; do
        if [ ! -f "$page" ]; then
            problem "rule $n of $exname: there is no page $page"
            continue
        fi
        body=$(section_text "$sec")
        if ! grep -q "^#* $sec\$" "$page"; then
            problem "rule $n of $exname: its section \"$sec\" is not a heading of $page"
        elif ! printf '%s\n' "$body" | grep -qF -- "$(printf '%s' "$words" | tr -d '*`')"; then
            problem "rule $n of $exname: section \"$sec\" of $page does not say \"$words\""
        fi
        t=$here/tests/$stage/${exname}_test.c
        grep -q "EX_RULE($n," $(exercise_files "$exname") 2>/dev/null ||
            problem "rule $n of $exname has no test: no EX_RULE($n, ...) in $t (or a file that says it holds its tests: EX_EXERCISE_FILE)"
    done | grep . && bad=1
fi
for t in "$here"/tests/"$stage"/*.c; do
    [ -f "$t" ] || continue
    exname=$(sed -n 's/^#define EX_EXERCISE_FILE "\(.*\)_test\.c"$/\1/p' "$t")
    [ -n "$exname" ] || exname=$(basename "$t" _test.c)
    for n in $(grep -o 'EX_RULE([0-9][0-9]*,' "$t" | tr -dc '0-9\n' | sort -u); do
        echo "$rules" | awk -F '\t' -v e="$exname" -v n="$n" '$1 == e && $2 == n { f = 1 } END { exit !f }' ||
            problem "$t names rule $n of $exname (EX_RULE($n, ...)), which grade/$stage.exercises does not have"
    done
done
exit $bad
