#!/bin/sh
# stage_files.sh STAGE "SOURCES" "INCLUDE_DIRS": what stage STAGE is made
# of, for `make stage-files`: the files its docs page says to open first,
# then its own files and those it reuses from earlier stages, each source
# with the headers it includes from the stage directories.  SOURCES is
# SRCS_<stage> from its stage.mk, INCLUDE_DIRS the stage directories it
# reads headers from (its own first).  Everything in common/ is linked too.
set -u
stage=$1
srcs=$2
dirs=$3

# The header a source includes as "name.h", found as the compiler would:
# beside the source, then in the stage directories; nothing for common/
# and include/ (listed apart).  Sets h ("" if none); no subshell, since a
# stage's sources include a few thousand headers in all.
header_of() { # SOURCE NAME
    h=""
    for d in "${1%/*}" $dirs; do
        if [ -f "$d/$2" ]; then
            h=$d/$2
            return
        fi
    done
}

# Every stage-directory header the sources include, without repeats.
# (One awk over all the sources: each line a source and a name it includes.)
headers=""
if [ -n "$srcs" ]; then
    # shellcheck disable=SC2086 # srcs is a list of paths
    included=$(awk '/^#include "[^"]*\.h"/ { n = substr($0, 11); sub(/".*/, "", n); print FILENAME, n }' $srcs)
    while read -r src name; do
        [ -n "$name" ] || continue
        header_of "$src" "$name"
        case " $headers " in
        *" $h "*) ;;
        *) [ -n "$h" ] && headers="$headers $h" ;;
        esac
    done <<EOF
$included
EOF
fi

page=docs/$stage.md
if [ -f "$page" ]; then
    # The paragraph that starts "**Open first:**": its `file` names, found
    # in the stage's files (a bare name is the stage's own, or a reused one).
    names=$(awk '/^\*\*Open first:\*\*/ { on = 1 } on && /^$/ { exit } on' "$page" |
        grep -o '`[^`]*\.[ch]`' | tr -d '`')
    echo "$stage: open first ($page):"
    for n in $names; do
        found=""
        for f in $n $srcs $headers; do
            case $f in
            "$n" | */"$n") [ -f "$f" ] && found=$f && break ;;
            esac
        done
        for d in $dirs common; do
            [ -z "$found" ] && [ -f "$d/$n" ] && found=$d/$n
        done
        echo "    ${found:-$n (not found)}"
    done
fi

# list 1: the stage's own files; list 0: the reused ones ("none" if none).
list() {
    out=$(for f in $srcs $headers; do
        case $f in
        stages/"$stage"/*) mine=1 ;;
        *) mine=0 ;;
        esac
        [ "$mine" = "$1" ] && echo "    $f"
    done | sort)
    echo "${out:-    (none)}"
}
echo "$stage: new in this stage:"
list 1
echo "$stage: reused from earlier stages:"
list 0
echo "$stage: and all of common/ (common/*.c, common/*.h) and include/kv.h"
