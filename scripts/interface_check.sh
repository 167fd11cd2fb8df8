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
for f in "$@"; do
    case $f in stages/*) ;; *) continue ;; esac
    # Global definitions only: ctags -x prints the defining line; skip static ones.
    ctags -x --c-kinds=f "$f" 2>/dev/null |
        awk -v f="$f" '$0 !~ /[ \t]static[ \t]/ && $0 !~ /^[^ ]+[ \t]+function[ \t]+[0-9]+[ \t]+[^ ]+[ \t]+static / {split(f, a, "/"); print $1, a[1] "/" a[2]}'
done | sort -u >"$tmp"
for fn in $(awk '{print $1}' "$tmp" | sort | uniq -d); do
    case $fn in kv_*) continue ;; esac
    dirs=$(awk -v fn="$fn" '$1 == fn {print $2}' "$tmp" | tr '\n' ' ')
    # The header that declares it, in one of those directories.
    # (common/ too: an interface every stage implements may be declared there.)
    hdr=$(for d in $dirs common; do find "$d" -name '*.h' ! -path '*/tests/*' | sort |
              xargs grep -l -E "^[a-z].*[ *]$fn\(" 2>/dev/null; done | head -n 1)
    # Its opening comment (up to the first "*/") says so.
    if [ -n "$hdr" ] && sed -n '1,/\*\//p' "$hdr" | grep -q -i "an interface"; then
        continue
    fi
    echo "interface_check: $fn is defined in $dirs but ${hdr:-no header} does not say it is an interface"
    failed=1
done
exit $failed
