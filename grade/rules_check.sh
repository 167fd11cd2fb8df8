#!/bin/sh
# rules_check.sh: an exercise's rules against its tests and its page
# (docs/learn-reference.md, "The lists"; grade/check.sh runs it for every stage).
#
#   sh grade/rules_check.sh STAGE
#
# For each rule of grade/STAGE.exercises (`rule N` of an exercise):
#   - its section (`rule N reread: SECTION | WORDS`) is a heading of
#     docs/STAGE.md, and the section's text holds WORDS (line breaks and
#     runs of spaces read as one space, Markdown's * and ` left out): the
#     page the grade sends a learner to says the rule;
#   - a test names it (grade/tests/exercise.h), so that some check fails
#     naming it when the rule is broken: the exercise's test files
#     (grade/tests/STAGE/NAME_test.c, and a helper that defines
#     EX_EXERCISE_FILE "NAME_test.c") hold EX_RULE(N, ...) or
#     EX_RULE_BEGIN(N, ...), or N in the list of an EX_RULES("1, 2 and
#     3", ...) ("1 to 4" is 1, 2, 3 and 4); or a test of the stage holds
#     EX_RULE_OF(NAME, N, ...).
# And every rule a test names so is one its exercise has.
# Prints one line per problem; exits 0 only if there is none.
set -u
stage=$1
here=$(dirname "$0")
list=$here/$stage.exercises
page=docs/$stage.md
. "$here/section_page.sh"
tab=$(printf '\t')
bad=0
problem() { echo "$stage: $*"; bad=1; }
rules=$(awk -f "$here/exercises.awk" -v list="$list" -v mode=rules) || exit 1
# named: every rule the stage's tests name, one a line: "FILE<TAB>NAME<TAB>N"
# (NAME the exercise: EX_RULE_OF's, else the file's own: its
# EX_EXERCISE_FILE, else its name less _test.c).
named=$(for t in "$here"/tests/"$stage"/*.c; do
    [ -f "$t" ] || continue
    own=$(sed -n 's/^#define EX_EXERCISE_FILE "\(.*\)_test\.c"$/\1/p' "$t")
    [ -n "$own" ] || own=$(basename "$t" _test.c)
    awk -v file="$t" -v own="$own" '
        function out(name, n) { printf "%s\t%s\t%d\n", file, name, n }
        {
            line = $0
            while (match(line, /EX_RULE(_BEGIN)?\([0-9]+,/)) {
                m = substr(line, RSTART, RLENGTH); sub(/^[^(]*\(/, "", m)
                out(own, m + 0); line = substr(line, RSTART + RLENGTH)
            }
            line = $0
            while (match(line, /EX_RULE_OF\([a-z0-9_]+, *[0-9]+,/)) {
                m = substr(line, RSTART, RLENGTH); sub(/^EX_RULE_OF\(/, "", m)
                split(m, f, /, */); out(f[1], f[2] + 0); line = substr(line, RSTART + RLENGTH)
            }
            line = $0
            while (match(line, /EX_RULES\("[^"]*"/)) {
                m = substr(line, RSTART + 10, RLENGTH - 11); line = substr(line, RSTART + RLENGTH)
                gsub(/,| and /, " ", m)
                k = split(m, w, / +/)
                for (i = 1; i <= k; i++) {
                    if (w[i] == "to" && i > 1 && i < k) {
                        for (j = w[i - 1] + 1; j < w[i + 1] + 0; j++) out(own, j)
                    } else if (w[i] ~ /^[0-9]+$/) out(own, w[i] + 0)
                }
            }
        }' "$t"
done)
# section_text SECTION PAGE: the text under that heading of PAGE, up to the
# next heading of the same or a higher level (a line starting "#" inside a
# fenced code block is none), on one line, without Markdown's emphasis and
# code marks (WORDS are matched the same way).
section_text() {
    awk -v sec="$1" '
        /^```/ { fence = !fence }
        /^#+ / && !fence { h = $0; sub(/ .*/, "", h); t = $0; sub(/^#+ /, "", t)
                 if (on && length(h) <= level) exit
                 if (t == sec) { on = 1; level = length(h); next } }
        on { printf "%s ", $0 }' "$2" | tr -d '*`' | tr -s ' \t' '  '
}
if [ -n "$rules" ]; then
    echo "$rules" | while IFS=$tab read -r exname n sec words text; do
        if [ ! -f "$page" ]; then
            problem "rule $n of $exname: there is no page $page"
            continue
        fi
        pg=$(section_page "$page" "$sec")
        body=$(section_text "$sec" "$pg")
        if ! grep -q "^#* $sec\$" "$pg"; then
            problem "rule $n of $exname: its section \"$sec\" is not a heading of $page nor of its reference pages"
        elif ! printf '%s\n' "$body" | grep -qF -- "$(printf '%s' "$words" | tr -d '*`')"; then
            problem "rule $n of $exname: section \"$sec\" of $pg does not say \"$words\""
        fi
        printf '%s\n' "$named" | awk -F '\t' -v e="$exname" -v n="$n" '$2 == e && $3 == n { f = 1 } END { exit !f }' ||
            problem "rule $n of $exname has no test: no EX_RULE($n, ...), EX_RULE_BEGIN($n, ...) or EX_RULES list holding $n in $here/tests/$stage/${exname}_test.c (or a file that says it holds its tests: EX_EXERCISE_FILE), nor EX_RULE_OF($exname, $n, ...) in a test of the stage"
    done | grep . && bad=1
fi
if [ -n "$named" ]; then
    printf '%s\n' "$named" | sort -u | while IFS=$tab read -r t exname n; do
        echo "$rules" | awk -F '\t' -v e="$exname" -v n="$n" '$1 == e && $2 == n { f = 1 } END { exit !f }' ||
            problem "$t names rule $n of $exname, which grade/$stage.exercises does not have"
    done | grep . && bad=1
fi
exit $bad
