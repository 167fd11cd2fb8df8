#!/bin/sh
# interface_check.sh: no stage defines a function that an earlier stage's
# file also defines, unless a header that says it is an interface declares
# it (table.h, table_set.h, record_io.h, ...).  The public API (kv_*) is
# every stage's own.  Prints each function defined in the files of two
# stage directories, and fails if its header does not open as an
# interface.
#
#   sh scripts/interface_check.sh "SRC..."   (every stage's sources, from make)
# Needs ctags (Debian's universal-ctags).
set -u
failed=0
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp"' EXIT
files=""
for f in "$@"; do
    case $f in stages/*) files="$files $f" ;; esac
done
# Global definitions only: ctags -x prints the defining line, after the
# name, the kind, the line number and the file (one ctags for them all);
# skip static ones.
# shellcheck disable=SC2086 # the files' names hold no spaces
[ -z "$files" ] || ctags -x --c-kinds=f $files 2>/dev/null |
    awk '$0 !~ /[ \t]static[ \t]/ && $0 !~ /^[^ ]+[ \t]+function[ \t]+[0-9]+[ \t]+[^ ]+[ \t]+static / {split($4, a, "/"); print $1, a[1] "/" a[2]}' |
    sort -u >"$tmp"
# Every function each header declares ("NAME HEADER", a line that starts
# with a lower-case letter and holds " NAME(" or "*NAME("), read once.
decls=$(mktemp) || exit 2
trap 'rm -f "$tmp" "$decls"' EXIT
find stages common -name '*.h' ! -path '*/tests/*' | sort | xargs awk '
    /^[a-z]/ {
        line = $0
        while (match(line, /[ *][A-Za-z_][A-Za-z0-9_]*\(/)) {
            print substr(line, RSTART + 1, RLENGTH - 2), FILENAME
            line = substr(line, RSTART + RLENGTH)
        }
    }' >"$decls"
for fn in $(awk '{print $1}' "$tmp" | sort | uniq -d); do
    case $fn in kv_*) continue ;; esac
    dirs=$(awk -v fn="$fn" '$1 == fn {print $2}' "$tmp" | tr '\n' ' ')
    # The header that declares it, in one of those directories, the first
    # of the first directory that has one.
    # (common/ too: an interface every stage implements may be declared there.)
    hdr=$(awk -v fn="$fn" -v dirs="$dirs common" '
        BEGIN { n = split(dirs, d, " ") }
        $1 == fn { for (i = 1; i <= n; i++) if (index($2, d[i] "/") == 1 && !(i in first)) first[i] = $2 }
        END { for (i = 1; i <= n; i++) if (i in first) { print first[i]; exit } }' "$decls")
    # Its opening comment (up to the first "*/") says so.
    if [ -n "$hdr" ] && sed -n '1,/\*\//p' "$hdr" | grep -q -i "an interface"; then
        continue
    fi
    echo "interface_check: $fn is defined in $dirs but ${hdr:-no header} does not say it is an interface"
    failed=1
done
exit $failed
