#!/bin/sh
# get_instructions.sh BUILD [--publish] STAGE...: user-space instructions per
# kv_get at 10,000 and 1,000,000 keys, counted by callgrind (see
# bench/get_instructions.c).  Prints one line per stage and size, and the
# ratio 1M / 10K, and writes the table to build/get-instructions.md;
# --publish also copies it to docs/generated/get-instructions.md and updates
# the pages that quote it (scripts/docs_figures.sh).  Needs valgrind.  A
# count of instructions does not depend on the machine's load.
set -eu
b=$1; shift
publish=0
if [ "${1:-}" = --publish ]; then
    publish=1
    shift
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gets=20000
date=$(date -u '+%Y-%m-%d %H:%M UTC')
rows=
for s in "$@"; do
    bin=$b/$s/get_instructions
    for n in 10000 1000000; do
        "$bin" build "$tmp/$s-$n" $n
        valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg" \
            "$bin" measure "$tmp/$s-$n" $n $gets >"$tmp/log" 2>&1
        ir=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$tmp/log")
        per=$((ir / gets))
        printf '%-10s %9d keys: %6d instructions per get\n' "$s" "$n" "$per"
        eval "ir_$n=$per"
        rm -rf "$tmp/$s-$n"
    done
    awk -v a="$ir_10000" -v b="$ir_1000000" -v s="$s" \
        'BEGIN { printf "%-10s ratio 1M / 10K: %.3f\n", s, b / a }'
    # shellcheck disable=SC2154
    rows="$rows$(awk -v a="$ir_10000" -v b="$ir_1000000" -v s="$s" '
        function commas(x,    t) {
            x = sprintf("%d", x); t = ""
            while (length(x) > 3) { t = "," substr(x, length(x) - 2) t; x = substr(x, 1, length(x) - 3) }
            return x t
        }
        BEGIN { printf "| %s | %s | %s | %.3f |", s, commas(a), commas(b), b / a }')
"
done

out=build/get-instructions.md
mkdir -p build
{
    cat <<EOF
# Instructions per get

Written by \`make get-instructions\` (\`scripts/get_instructions.sh\`): for
each stage, a database of 10,000 and one of 1,000,000 keys (16-byte keys,
100-byte values), and callgrind's count of the user-space instructions of
$gets random gets of present keys in each (only the get loop is counted;
\`bench/get_instructions.c\`), divided by $gets.  The kernel's side of
each get's \`pread()\` is not counted.  \`make get-instructions
GI_ARGS=--publish\` writes this file again and updates the pages that quote
it.

### The run

    date: $date
    commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')
    command: sh scripts/get_instructions.sh $b $*
    valgrind: $(valgrind --version 2>/dev/null)

### Instructions per get

| stage | 10,000 keys | 1,000,000 keys | 1M / 10K |
|---|---:|---:|---:|
EOF
    printf '%s' "$rows"
} >"$out"
echo "get-instructions: $out"
if [ "$publish" = 1 ]; then
    mkdir -p docs/generated && cp "$out" docs/generated/get-instructions.md &&
        echo "get-instructions: copied to docs/generated/get-instructions.md" &&
        sh scripts/docs_figures.sh
fi
