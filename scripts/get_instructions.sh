#!/bin/sh
# get_instructions.sh BUILD STAGE...: user-space instructions per kv_get at
# 10,000 and 1,000,000 keys, counted by callgrind (see
# bench/get_instructions.c).  Prints one line per stage and size, and the
# ratio 1M / 10K.  Needs valgrind.
set -eu
b=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gets=20000
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
done
