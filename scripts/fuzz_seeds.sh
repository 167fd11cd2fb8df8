#!/bin/sh
# fuzz_seeds.sh OUT STAGE:TARGET...: seed corpora made by each stage itself.
# For each pair, builds small real databases with build/STAGE/kv (puts,
# overwrites, deletes, an empty value, binary keys), then saves the target
# file of each (a 16-byte header, then records: docs/formats.md), plus torn
# copies (cut 1 byte, a third, inside the header, to zero) as seeds in
# OUT/STAGE-TARGET/.  Target names map to files: log -> data.log (stage 01),
# segment -> 0000000001.log and hint -> 0000000002.hint (stage 02),
# wal -> 0000000001.log (stage 03), table -> the one table kv_compact leaves
# (stage 04: every script ends with a compact).
set -eu
out=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pair in "$@"; do
    stage=${pair%%:*}; target=${pair#*:}
    if [ "$target" = resp ]; then  # kv serve's parser: requests, not a database
        mkdir -p "$out/$stage-$target"
        cp fuzz/seeds/resp/* "$out/$stage-$target/"
        continue
    fi
    case $target in
        log) file=data.log ;;
        segment) file=0000000001.log ;;
        wal) file=0000000001.log ;;  # stage 03: a write-ahead log segment
        hint) file=0000000002.hint ;;  # the first merge output of the last script
        table) file='*.tbl' ;;  # stage 04: its name says which writes it holds
        *) echo "fuzz_seeds: no rule for target $target" >&2; exit 1 ;;
    esac
    kv=build/$stage/kv
    dest=$out/$stage-$target
    mkdir -p "$dest"
    n=0
    for script in "put a 1" \
                  "put a 1
put b 2
put a 3
del b" \
                  "put key empty
put k2 value2
del nothing
put k3 v3
put k2 v2b" \
                  "put a $(printf '%0400d' 1)
put a $(printf '%0400d' 2)
put b $(printf '%0400d' 3)
compact" ; do
        n=$((n + 1))
        rm -rf "$tmp/db"
        [ "$target" = table ] && script="$script
compact"
        printf '%s\n' "$script" | "$kv" "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ -f "$f" ] || continue
        cp "$f" "$dest/seed$n"
        size=$(wc -c <"$f")
        head -c $((size - 1)) "$f" >"$dest/seed$n-torn1"
        head -c $((size / 3)) "$f" >"$dest/seed$n-torn3"
        head -c 5 "$f" >"$dest/seed$n-torn-header"
    done
    rm -rf "$tmp/db"
    "$kv" -x "$tmp/db" put 00ff00 "" >/dev/null
    "$kv" -x "$tmp/db" put ff 00010203 >/dev/null
    [ "$target" = table ] && "$kv" "$tmp/db" compact >/dev/null
    f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
    [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/binary"
    : >"$dest/empty"
done
