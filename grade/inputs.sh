#!/bin/sh
# inputs.sh: makes a grade build follow what it is given, not file times.
#
#   sh grade/inputs.sh OUT STAGE WORKSPACE ENGINE
#
# A grade build (grade/grade.mk) is made by make, which rebuilds a target
# only when a prerequisite is newer than it.  That is not enough here: a
# learner switches LEARN= to another workspace whose files are older than
# the objects of the last one, or ENGINE= to a library older than the last
# link, or copies a file back with its old time; make would then grade the
# previous code.  So every grade records what it was built from in
# OUT/inputs: the workspace's files, or the engine library, by path and
# checksum (and ENGINE_LIBS, ENGINE_TSAN).  When that record differs from
# the last one, what it may have come from goes: the objects compiled from a
# file that changed (in every flavour under OUT), every library and every
# linked binary under OUT.  The reference's own objects are make's to
# follow (their sources are in the tree, their times honest).
#
# WORKSPACE or ENGINE is "-" when not given.  Prints nothing; exit 0.
set -u
out=$1 stage=$2 ws=$3 engine=$4
# A file not built yet (grade/check.sh records an ENGINE before its job
# makes it) is "absent", and a record that says so differs from the next.
sum() {
    if [ -f "$1" ]; then cksum <"$1" | awk '{ print $1 "-" $2 }'; else echo absent; fi
}
mkdir -p "$out"
now=$out/inputs.new
{
    echo "stage $stage"
    if [ "$engine" != - ]; then
        echo "engine $(cd "$(dirname "$engine")" && pwd)/$(basename "$engine") $(sum "$engine")"
        echo "engine-libs ${ENGINE_LIBS:-}"
        if [ -n "${ENGINE_TSAN:-}" ]; then
            echo "engine-tsan $ENGINE_TSAN $(sum "$ENGINE_TSAN")"
        fi
    else
        echo "workspace $(cd "$ws" && pwd)"
        # "file PATH CRC-SIZE" for each, by path: one cksum for them all.
        (cd "$ws" && find . -name '*.c' -type f -exec cksum {} +) |
            awk '{ crc = $1; size = $2; sub(/^[^ ]+ [^ ]+ \.\//, ""); print "file " $0 " " crc "-" size }' |
            LC_ALL=C sort
    fi
} >"$now"
if cmp -s "$now" "$out/inputs" 2>/dev/null; then
    rm -f "$now"
    exit 0
fi
# What changed: each file whose line is new (or gone) loses its objects.
if [ -f "$out/inputs" ]; then
    changed=$( { LC_ALL=C sort "$out/inputs"; LC_ALL=C sort "$now"; } | uniq -u |
               awk '$1 == "file" { print $2 }' | LC_ALL=C sort -u)
else
    changed=$(awk '$1 == "file" { print $2 }' "$now")
fi
for f in $changed; do
    o=${f%.c}.o
    find "$out" -path "*/obj/$o" -type f -exec rm -f {} + 2>/dev/null
done
# Every library and binary under OUT (not logs, corpora or objects).
find "$out" -type f \( -name '*.a' -o -perm -u+x \) ! -path '*/obj/*' ! -path '*/logs/*' \
    ! -path '*/corpus-*' ! -name 'crash-*' -exec rm -f {} + 2>/dev/null
mv "$now" "$out/inputs"
exit 0
