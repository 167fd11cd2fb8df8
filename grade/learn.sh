#!/bin/sh
# learn.sh: `make learn STAGE=S [LEARN=DIR]`, a workspace for building
# stage S yourself (docs/learn.md).
#
#   sh grade/learn.sh STAGE DIR
#
# For every file that holds one of the stage's exercises
# (grade/STAGE.exercises), DIR gets a copy of the reference file at the
# same path (DIR/common/log_record.c for common/log_record.c) in which the
# body of each exercise function is a stub that fails with "exercise NAME
# ... is not written yet", and above it a comment saying what it must do,
# the invariants it keeps and the tests that check it.  The starter is made
# now, from the reference as it is, so it cannot drift from it.  A file
# already in DIR is never overwritten: it is your work (delete it to start
# that file again).  DIR/README.md (rewritten each time) lists the
# exercises in order; DIR/.reference records which reference each file
# was made from, so that `make grade` can say when the reference changed
# under your copy.  Everything the workspace does not hold is the
# reference's: earlier stages, common/, the stage's plumbing.
set -eu
stage=$1
dir=$2
list=grade/$stage.exercises
[ -f "$list" ] || { echo "learn: stage $stage has no exercises ($list)" >&2; exit 2; }
ex() { awk -f grade/exercises.awk -v list="$list" "$@"; }
ex -v mode=check
# How to grade it: make grade, or, for a stage still being built
# (UNFINISHED_<stage> in its stage.mk), which make grade leaves out, the
# script under it.
if grep -q "^UNFINISHED_$stage *:= *1" "stages/$stage/stage.mk" 2>/dev/null; then
    grade_cmd="sh grade/grade.sh $stage $dir"
else
    grade_cmd="make grade STAGE=$stage$( [ "$dir" = "learn/$stage" ] || echo " LEARN=$dir")"
fi

mkdir -p "$dir"
made=0 kept=0
for f in $(ex -v mode=files); do
    if [ -e "$dir/$f" ]; then
        echo "learn: kept $dir/$f (yours: delete it to start it again)"
        kept=$((kept + 1))
        continue
    fi
    mkdir -p "$(dirname "$dir/$f")"
    ex -v mode=stub -v target="$f" -v ref="$f" -v wsdir="$dir" >"$dir/$f.tmp"
    mv "$dir/$f.tmp" "$dir/$f"
    sum=$(cksum <"$f" | awk '{print $1 "-" $2}')
    { grep -v "^$f " "$dir/.reference" 2>/dev/null || true; echo "$f $sum"; } >"$dir/.reference.tmp"
    mv "$dir/.reference.tmp" "$dir/.reference"
    echo "learn: wrote $dir/$f"
    made=$((made + 1))
done

# The README: the exercises in order, where each is, what grades it.
{
    echo "# Stage $stage, built by you"
    echo
    echo "Made by \`make learn STAGE=$stage\` from the reference and"
    echo "grade/$stage.exercises; rewritten each time (your .c files never are)."
    echo "The exercises, in the order to write them (docs/$stage.md, \"Exercises\","
    echo "has a hint for each; the comment above each stub says what it must do):"
    echo
    echo "| # | exercise | function | file | unit tests |"
    echo "|---|---|---|---|---|"
    ex -v mode=table | while IFS='	' read -r n name file fns section; do
        echo "| $n | $name | \`$fns\` | \`$dir/$file\` | grade/tests/$stage/${name}_test.c |"
    done
    echo
    echo "Grade them with \`$grade_cmd\`: it builds"
    echo "the stage with your files in place of the reference's, then runs, stopping"
    echo "at the first rung that fails: each exercise's unit tests, the stage's"
    echo "suites, crash and restart (kills, power loss), the corruption sweep, a short"
    echo "fuzz run of the stage's formats, and your speed against the reference's."
    echo "docs/learn-reference.md explains each rung (\"What \`make grade\` does\")."
} >"$dir/README.md"

n=$(ex -v mode=names | wc -l)
echo "learn: $dir holds stage $stage's $n exercises ($made files written, $kept kept); read $dir/README.md, then: $grade_cmd"
