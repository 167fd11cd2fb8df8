#!/bin/sh
# demo_build.sh: the build `make demo` starts with, told in a few lines:
# one line for each stage whose kv it links, a progress line while it
# compiles (on a terminal only), and what it took.  Compiler messages,
# and every command with `make demo V=1`, pass through as make prints
# them.
#
#   sh scripts/demo_build.sh MAKE [MAKE-ARGUMENTS...]   (make demo runs it:
#   its arguments are "all", or one stage's kv for make demo STAGE=S)
#
# It reads make's short lines ("  CC  FILE", "  AR  FILE", "  LD  FILE":
# the Makefile's `brief`); a dry run (make -n) first counts them, for the
# progress line's "N of M".  The exit status is make's.
set -u

[ $# -gt 0 ] || { echo "usage: sh scripts/demo_build.sh MAKE [ARGS...]" >&2; exit 2; }
start=$(date +%s.%N)
# (A dry run prints the commands it would run, the short lines' printf among them.)
total=$("$@" -n 2>/dev/null | grep -c "^printf '  ")
tty=0
[ -t 1 ] && tty=1
status=$(mktemp "${TMPDIR:-/tmp}/kv-demo-build.XXXXXX") || exit 2
trap 'rm -f "$status"' EXIT
{
    "$@" 2>&1
    echo $? >"$status"
} | awk -v total="$total" -v tty="$tty" '
    function clear() { if (shown) { printf "\r\033[K"; shown = 0 } }
    /^  (CC|AR|LD) / {
        made++
        if ($1 == "LD" && $2 ~ /^build\/[0-9][0-9]-[a-z-]+\/kv$/) {
            split($2, part, "/")
            clear()
            printf "  built %-11s %s\n", part[2], $2
        }
        if (tty) {
            printf "\r\033[K  building: %d of %d files (%s)", made, total, $2
            shown = 1
        }
        fflush()
        next
    }
    /^make(\[[0-9]+\])?: Nothing to be done/ { next }
    /^make(\[[0-9]+\])?: .* is up to date\.$/ { next }
    { clear(); print; fflush() }
    END { clear(); fflush() }'
st=$(cat "$status")
[ "$st" = 0 ] || exit "$st"
awk -v s="$start" -v e="$(date +%s.%N)" -v n="$total" 'BEGIN {
    if (n == 0) print "build: nothing to make, all built already"
    else printf "build: %d files made in %.1f s (make V=1 demo shows every command)\n", n, e - s }'
