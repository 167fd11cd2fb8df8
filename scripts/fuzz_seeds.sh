#!/bin/sh
# fuzz_seeds.sh OUT STAGE:TARGET...: seed corpora made by each stage itself.
# For each pair, builds small real databases with build/STAGE/kv (puts,
# overwrites, deletes, an empty value, binary keys), then saves the target
# file of each (a 16-byte header, then records: docs/formats.md), plus torn
# copies (cut 1 byte, a third, inside the header, to zero) as seeds in
# OUT/STAGE-TARGET/.  Target names map to files: log -> data.log (stage 01),
# segment -> 0000000001.log and hint -> 0000000002.hint (stage 02),
# wal -> 0000000001.log (stage 03), table -> the one table kv_compact leaves
# (stage 04: every script ends with a compact), stats -> STATS (stages
# 04-07: the totals kv_close saved after that compact).
#
# The api target (fuzz/api_fuzz.c) reads a program of kv.h calls, not a
# file: its seeds are written here (api_seeds), the same for every stage.
# The block, index and footer targets (stage 05) read pieces of a table:
# table_piece_seeds cuts them out of real tables where kv dump says they are.
# The vlog target (stage 08) reads a mode byte, then a value log's bytes:
# vlog_seeds.  The harnesses that read no database file take the seeds
# committed in fuzz/seeds/TARGET/ and, but for filter, manifest and
# current, those scripts/fuzz_seeds_fields.sh writes field by field; the
# export target (every stage's) takes that script's alone, with streams
# the stage's kv export writes.
set -eu
out=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# api_seeds DIR: programs for fuzz/api_fuzz.c, in octal (its header comment
# decodes them byte by byte: the options byte, the shape byte, then each op
# code with its arguments; a reopen takes an options and a shape byte
# too): small segments and memtables with values across roll-overs and
# snapshots, kv_compact; small blocks, tables and levels; read-only and
# strict reopens, sync; every misuse.  Each writes a few dozen KiB a
# session (the harness skips writes past 32 KiB until the next reopen),
# the longest key and value last.
api_seeds() {
    # every op: puts (one large, one empty), delete, batch of 3, get,
    # snapshot, overwrite, get_at, iterators at the snapshot and now walked
    # both ways, snapshot freed under its iterator, compact, check, burst,
    # misuse, get_live, reopens (handles live and tools; read-only, where a
    # put and compact are refused; strict with sync)
    printf '\000\000\000\000\020\000\004\360\020\000\001\000\001\004\062\000'\
'\010\005\001\004\000\014\007\003\000\005\000\000\040\004\000\007'\
'\000\011\000\011\075\031\001\031\076\011\002\001\011\017\006\011'\
'\004\010\012\074\335\001\005\016\036\056\076\116\136\156\176\017'\
'\003\025\137\000\233\000\000\053\000\000\000\000\001\012\113\100'\
'\000\000\000\001' >"$1/every-op"
    # segments and memtables of 4 KiB, values of 2,220 and 900 bytes:
    # roll-overs and flushes under a snapshot and an iterator, kv_compact,
    # checks at the snapshot, a reopen with the tools, a walk of the
    # iterator
    printf '\044\000\000\000\020\005\027\004\175\001\360\074\001\000\012\175'\
'\002\360\024\074\012\074\011\000\011\375\213\044\000\074' >"$1/small-sizes"
    # batches: empty, cleared then filled, seven items (a key put and
    # deleted in the batch, a value of 20,848 bytes); read back each write
    printf '\200\000\002\202\162\000\000\001\001\004\000\010\000\000\014\002'\
'\001\000\000\003\364\200\001\003\074' >"$1/batches"
    # every long key, KV_MAX_KEY last, and seeks among them
    printf '\000\000\000\003\001\000\007\002\000\013\003\000\017\004\011\002'\
'\013\031\002\017\031\004\011\076\074\213\000\000\074' >"$1/long-keys"
    # sync and tiny sizes (1 byte: a new file for every record)
    printf '\111\000\000\000\001\000\004\002\005\001\000\012\074\013\111\000'\
'\074' >"$1/tiny-sync"
    # the worked example of docs/fuzzing.md (the API harness section)
    printf '\000\000\000\000\005\005\001\000\004\000\027\004\031\000\053\000'\
'\000\000\004\000' >"$1/doc-example"
    # transactions (op 15 with A&8): alone at both levels, with a plain
    # write to the key they write and to the key they only read, aborted;
    # then under a snapshot, after kv_compact, and a check of everything
    printf '\200\000\000\005\003\217\005\004\237\006\002\257\005\007\277\005'\
'\001\317\011\003\337\011\003\357\005\011\377\006\001\005\012\237'\
'\005\005\014' >"$1/transactions"
    # kv_multi_get (op 12 with A&4) of values in tables and, from stage
    # 08, in the value log: sixteen keys of 1,494-byte values, kv_flush
    # (op 10 with A&1), a small put, then seeks, next and prev inside the
    # table; kv_set_background_rate then kv_compact, kv_multi_get again,
    # an iterator made before the compaction seeking, a new one seeking;
    # a put, the rate and a flush (a second table, which the next open
    # lists); read-only, where kv_multi_get answers and kv_flush is
    # refused
    printf '\040\000\375\001\360\046\032\000\002\012\114\011\002\025\011\003'\
'\011\004\011\001\011\016\052\114\011\002\001\027\004\031\002\045'\
'\031\003\000\006\012\072\053\040\000\114\032\031\002\011' >"$1/multi-get"
    # memtables of 1 KiB, three flushes without a compaction (tables that
    # overlap), a key of 300 bytes, a delete, then one of KV_MAX_KEY bytes,
    # kv_multi_get, seeks among them (to a 1001-byte key, to the longest),
    # then kv_compact, seeks and steps of a new iterator, kv_multi_get, a
    # reopen with the tools, kv_multi_get
    printf '\030\000\375\001\100\032\375\002\200\032\000\003\020\001\005\000'\
'\017\020\032\114\011\002\001\011\002\013\011\002\077\011\025\012'\
'\051\002\006\051\017\114\213\030\000\114' >"$1/flush-seeks"
    # levels (stage 06 on): memtables of 1 KiB, the shape's blocks of 256
    # bytes, tables of 1 KiB, level 1 of 2 KiB and a ratio of 2: 48 keys
    # make flushes and background compactions down several levels; then
    # overwrites under a snapshot, a delete, checks at the snapshot,
    # kv_compact, an iterator at the snapshot walked both ways, a reopen
    # with the same sizes, kv_multi_get
    printf '\030\005\375\002\074\375\102\074\375\202\074\005\375\002\036\001'\
'\012\034\012\027\000\031\002\106\031\075\031\036\006\013\030\005'\
'\114' >"$1/levels"
    # partitioned tables (stage 09): memtables of 4 KiB, blocks of 64
    # bytes, table_partitions, a block cache of 4 KiB, two open files, no
    # filters, restart points and hash indexes everywhere: 24 values of 200
    # bytes, kv_flush, kv_multi_get, seeks and steps, a reopen with the
    # tools, kv_compact, a check
    printf '\040\301\375\002\310\175\102\310\032\114\011\002\206\011\075\011'\
'\001\011\076\213\040\301\012\014' >"$1/partitions"
    # compression (stage 05 on): values of 768 bytes in lz4 one by one,
    # a flush; reopened with no compression, values of 4,402 bytes, a
    # flush; reopened with lz4 blocks, kv_compact over the three kinds, a
    # check
    printf '\040\062\175\002\360\020\032\013\040\022\003\006\075\202\361\002'\
'\032\013\040\042\012\014' >"$1/compression"
    # volume, a session at a time: segments and memtables of 4 KiB, in each
    # of three sessions seven values of 4,501 bytes and one of 70,095 (a
    # session writes 32 KiB and the write that crosses them), kv_compact
    # after the second; a reopen with the tools over dozens of files; then
    # a snapshot, overwrites, a delete, kv_compact, an iterator at the
    # snapshot walked through the one table left, checks at the snapshot.
    # Past stage 01's 256 KiB reads of data.log, past 16 value-log files,
    # 8 outputs of a merge, 16 tables for kv_repair to rebuild from
    printf '\044\000\155\002\361\005\000\001\377\377\013\044\000\155\036\361\005'\
'\000\005\377\377\012\013\044\000\155\072\361\005\000\011\377\377\013\044'\
'\000\213\044\000\005\075\002\100\001\001\012\027\000\031\000\031\375\031'\
'\375\034' >"$1/volume"
    # NULL for each handle (misuse, A = 8) and kv_stats, writable then
    # read-only: a put of "a", the misuse, kv_stats; a read-only reopen,
    # kv_stats, the misuse again (its put refused)
    printf '\000\000\000\000\001\216\054\053\000\000\054\216' >"$1/null-handles-then-read-only"
    # a kv_compact with nothing live (a put and its delete: no output),
    # then four values of 70,095 bytes, one a session (reopens between),
    # the last after a key put twice, and kv_compact: a merge's 256 KiB
    # write buffer fills
    printf '\000\000\000\000\001\001\000\012\000\004\377\377\013\000\000\000\010\377\377'\
'\013\000\000\000\014\377\377\013\000\000\000\000\001\000\000\001\000\021\377\377\012\014' \
        >"$1/nothing-live-then-buffer-full"
    # three values of 70,095 bytes, one a session, then a key put twice
    # and a value of 51,801 bytes: the merge's last output ends 2 bytes
    # short of its 256 KiB write buffer, too close for the seal
    printf '\000\000\000\004\377\377\013\000\000\000\010\377\377\013\000\000\000\014\377\377'\
'\013\000\000\000\000\001\000\000\001\000\021\374\111\012\014' >"$1/buffer-full-at-the-seal"
    # segments of 1 byte (a file a record): 32 puts of four keys and
    # kv_compact, then 64 more and kv_compact again, over more segments
    # than the first
    printf '\001\000\375\000\001\375\000\001\012\375\000\001\375\000\001\375\000\001\375\000\001\012\014' \
        >"$1/second-compact-over-more-segments"
    : >"$1/empty"
}

# vlog_seeds KV DEST: inputs for fuzz/vlog_fuzz.c, whose first byte is a
# mode (its header comment): databases of stage 08 made by KV (a value of
# 600 bytes, one of 40,000 that crosses a block boundary, overwrites and a
# kv_compact, keys of 5,000 and 65,535 bytes: longer than a job's first
# room for keys, and the longest a key may be), and of each: VLOGCOUNTS (mode 1), 000000000001.vlog (mode 2),
# each also cut by a byte, and the table value of the key "big" (where its
# value is; the first two databases), as a where for the store to load
# (mode 3) and for the decoders alone (mode 0).  The where is the value of the table's first entry (the
# smallest key, "big"), at 16 + 3 + its key's length (docs/05-blocks.md:
# shared 0, unshared, value length, one byte each here).
vlog_seeds() {
    kv=$1 dest=$2
    n=0
    for script in "put small hello
put big $(printf '%0600d' 1)
flush" "put small hello
put big $(head -c 40000 /dev/zero | tr '\0' v)
flush" "put big $(printf '%0700d' 2)
put cat $(printf '%0900d' 3)
flush
put cat $(printf '%0900d' 4)
put dog $(printf '%0300d' 5)
flush
compact" "put $(head -c 5000 /dev/zero | tr '\0' k) $(printf '%0600d' 6)
put $(head -c 65535 /dev/zero | tr '\0' K) $(printf '%0700d' 7)
put small hello
flush"; do
        n=$((n + 1))
        rm -rf "$tmp/db"
        printf '%s\n' "$script" | "$kv" "$tmp/db" >/dev/null
        if [ -f "$tmp/db/VLOGCOUNTS" ]; then
            { printf '\001'; cat "$tmp/db/VLOGCOUNTS"; } >"$dest/db$n-counts"
            { printf '\001'; head -c $(($(wc -c <"$tmp/db/VLOGCOUNTS") - 1)) "$tmp/db/VLOGCOUNTS"; } \
                >"$dest/db$n-counts-torn1"
        fi
        f=$(ls "$tmp"/db/*.vlog 2>/dev/null | head -n 1)
        if [ -n "$f" ]; then
            { printf '\002'; cat "$f"; } >"$dest/db$n-vlog"
            { printf '\002'; head -c $(($(wc -c <"$f") - 1)) "$f"; } >"$dest/db$n-vlog-torn1"
        fi
        # The whole database for mode 6 (fuzz/vlog_fuzz.c: each file as
        # a name's length byte, the name, a 4-byte size, the bytes), and
        # again with a byte of its value-log file's last value inverted
        # (a fragment whose checksum fails: a job measuring the file finds
        # it damaged, and kv_compact empties it of what the keys still
        # read there).
        pack_dir "$tmp/db" '\006' >"$dest/db$n-dir"
        if [ -n "$f" ] && [ "$(wc -c <"$f")" -gt 60 ]; then
            cp "$f" "$tmp/vlog"
            flip_byte "$tmp/vlog" $(($(wc -c <"$f") - 40)) >"$f"
            pack_dir "$tmp/db" '\006' >"$dest/db$n-dir-vlog-damaged"
            cp "$tmp/vlog" "$f"
        fi
        # (The third database's tables hold lz4 blocks: no where to cut.)
        [ $n -le 2 ] || continue
        t=$(ls "$tmp"/db/*.tbl | head -n 1)
        set -- $(od -An -tu1 -j17 -N2 "$t")
        { printf '\003'; cut_bytes "$t" $((19 + $1)) "$2"; } >"$dest/db$n-where"
        { printf '\000'; cut_bytes "$t" $((19 + $1)) "$2"; } >"$dest/db$n-where-decoders"
    done
    rm -rf "$tmp/db"
    # vlog_payload_offset's record start and index (12 bytes, and a
    # length byte): a record at 32,700 whose payload crosses the boundary.
    { printf '\000'; le64 32700; printf '\100\000\000\000\003'; } >"$dest/payload-offset"
    printf '\003' >"$dest/empty-where"
    : >"$dest/empty"
    # A database of 40 values in its value-log file, that file cut to its
    # first 4 KiB, an unfinished save of its VLOGCOUNTS beside it (mode 6):
    # kv check finds more than 20 keys whose value is lost (it names 20,
    # then counts the rest) and the save, and kv repair deletes the keys.
    rm -rf "$tmp/db"
    i=0
    while [ $i -lt 40 ]; do echo "put key$i $(printf '%0600d' $i)"; i=$((i + 1)); done |
        { cat; echo flush; } | "$kv" "$tmp/db" >/dev/null
    f=$(ls "$tmp"/db/*.vlog | head -n 1)
    head -c 4096 "$f" >"$tmp/vlog-cut"
    cp "$tmp/vlog-cut" "$f"
    if [ -f "$tmp/db/VLOGCOUNTS" ]; then cp "$tmp/db/VLOGCOUNTS" "$tmp/db/VLOGCOUNTS.tmp"; fi
    pack_dir "$tmp/db" '\006' >"$dest/db-dir-vlog-cut-40-values-lost"
    rm -rf "$tmp/db" "$tmp/vlog-cut"
    # A value-log file of 301 puts (mode 2: a job's list of values grows
    # past its first 256).
    i=0
    while [ $i -lt 300 ]; do echo "put k$i v$i"; i=$((i + 1)); done |
        { cat; echo "put big $(printf '%0600d' 1)"; echo flush; } | "$kv" "$tmp/db" >/dev/null
    f=$(ls "$tmp"/db/*.vlog | head -n 1)
    { printf '\002'; cat "$f"; } >"$dest/vlog-of-301-puts"
    rm -rf "$tmp/db"
    # Three value-log files, each of three values that the next file's
    # overwrite, no compaction yet (mode 6: kv_compact's merges find the
    # garbage, and its collection picks among files worth emptying), and
    # again with a byte of the last value of the last two files inverted
    # (kv_compact then offers each the keys of every file, and kv repair
    # empties two).
    for r in 1 2 3; do
        for k in a b c; do echo "put $k $(printf '%0600d' $r)"; done
        echo flush
    done | "$kv" "$tmp/db" >/dev/null
    pack_dir "$tmp/db" '\006' >"$dest/db-dir-three-vlogs-overwritten"
    for f in $(ls "$tmp"/db/*.vlog | tail -n 2); do
        flip_byte "$f" $(($(wc -c <"$f") - 40)) >"$tmp/vlog"
        cp "$tmp/vlog" "$f"
    done
    pack_dir "$tmp/db" '\006' >"$dest/db-dir-three-vlogs-overwritten-two-damaged"
    rm -rf "$tmp/db" "$tmp/vlog"
    # A database beside what interrupted writes leave and names at the
    # bounds of a listing's (mode 6): CURRENT.tmp, a manifest's .tmp, a
    # table being written, a table numbered 0 and one of 19 digits.
    printf 'put a 1\nput big %s\nflush\n' "$(printf '%0600d' 1)" | "$kv" "$tmp/db" >/dev/null
    cp "$tmp/db/CURRENT" "$tmp/db/CURRENT.tmp"
    : >"$tmp/db/MANIFEST-000009.tmp"
    : >"$tmp/db/000007.tbl.tmp"
    : >"$tmp/db/000000.tbl"
    : >"$tmp/db/1234567890123456789.tbl"
    pack_dir "$tmp/db" '\006' >"$dest/db-dir-leftovers-and-odd-names"
    rm -rf "$tmp/db"
    # Each mode's reads again through io_fault (the mode byte's bit 3, the
    # call that fails its high 4 bits: fuzz/vlog_fuzz.c), from the
    # committed seeds of counts of three files (mode 1), a value-log file
    # of a batch of every op (2) and a where ending at its file's end (3):
    # every call from the first to the fifteenth failing, and none (0:
    # read with calls, no file mapped).
    for base in counts-three-files:1 batch-of-four:2 where-ends-at-the-files-end:3; do
        name=${base%:*} mode=${base#*:} k=0
        while [ $k -lt 16 ]; do
            { printf "\\$(printf '%03o' $((mode | 8 | k << 4)))"
              tail -c +2 "fuzz/seeds/vlog/$name"; } >"$dest/$name-io-call$k-fails"
            k=$((k + 1))
        done
        mv "$dest/$name-io-call0-fails" "$dest/$name-read-with-calls"
    done
}

# hint_seeds KV DEST: inputs for fuzz/hint_fuzz.c (its header comment): a
# 4-byte length, a hint file, then the segment it describes, from merges
# made by KV: two keys of 400-byte values; thirty keys, some overwritten
# and deleted before the merge; a 200-byte key (a 2-byte key length) and a
# 20,000-byte value (a 3-byte record size).  Each hint is also saved alone
# (no segment: the input is the hint), and cut by a byte; and an empty
# hint before a segment a session wrote (not sealed).
hint_seeds() {
    kv=$1 dest=$2
    n=0
    for script in "put a $(printf '%0400d' 1)
put a $(printf '%0400d' 2)
put b $(printf '%0400d' 3)" \
                  "$(i=0; while [ $i -lt 30 ]; do echo "put key$i $(printf '%0*d' $((i * 7)) $i)"; i=$((i + 1)); done)
put key3 again
del key4
del key5
put key6 $(printf '%0300d' 6)" \
                  "put $(printf 'k%0199d' 7) short
put big $(printf '%020000d' 8)
del big
put big $(printf '%020000d' 9)"; do
        n=$((n + 1))
        rm -rf "$tmp/db"
        printf '%s\ncompact\n' "$script" | "$kv" "$tmp/db" >/dev/null
        h=$(ls "$tmp"/db/*.hint 2>/dev/null | head -n 1)
        [ -n "$h" ] || continue
        seg=${h%.hint}.log
        { le32 "$(wc -c <"$h")"; cat "$h" "$seg"; } >"$dest/merge$n"
        # The segment damaged inside its last record (a byte 60 from its
        # end inverted), its hint whole: kv_open indexes it from the hint,
        # and kv_compact meets the damage half-way through the merge.
        { le32 "$(wc -c <"$h")"; cat "$h"; flip_byte "$seg" $(($(wc -c <"$seg") - 60)); } \
            >"$dest/merge$n-segment-damaged"
        cp "$h" "$dest/merge$n-hint-alone"
        head -c $(($(wc -c <"$h") - 1)) "$h" >"$dest/merge$n-hint-torn1"
    done
    # An empty hint, then a segment no merge wrote (not sealed): kv_open
    # reads the segment itself, and drops the empty active segment after
    # it, which an unsealed segment does not need.
    rm -rf "$tmp/db"
    printf 'put a 1\nput b 2\n' | "$kv" "$tmp/db" >/dev/null
    { le32 0; cat "$tmp/db/0000000001.log"; } >"$dest/no-hint-unsealed"
    rm -rf "$tmp/db"
    : >"$dest/empty"
}

# le32 N: N as 4 bytes, little-endian.
le32() {
    v=$1 i=0
    while [ $i -lt 4 ]; do
        printf "\\$(printf '%03o' $((v % 256)))"
        v=$((v / 256)) i=$((i + 1))
    done
}

# le64 N: N as 8 bytes, little-endian.
le64() {
    v=$1 i=0
    while [ $i -lt 8 ]; do
        printf "\\$(printf '%03o' $((v % 256)))"
        v=$((v / 256)) i=$((i + 1))
    done
}

# cut FILE OFFSET LENGTH: those bytes of FILE.
cut_bytes() { tail -c +$(($2 + 1)) "$1" | head -c "$3"; }

# pack_dir DIR MODE: MODE (printf's escape of one byte), then each file of
# DIR but IDENTITY and LOCK as fuzz/vlog_fuzz.c's mode 6 reads it: the
# name's length (one byte), the name, its size (4 bytes, little-endian),
# its bytes.
pack_dir() {
    printf "$2"
    for p in "$1"/*; do
        name=${p##*/}
        [ -f "$p" ] && [ "$name" != IDENTITY ] && [ "$name" != LOCK ] || continue
        printf "\\$(printf '%03o' ${#name})%s" "$name"
        le32 "$(wc -c <"$p")"
        cat "$p"
    done
}
# flip_byte FILE OFFSET: FILE with the byte at OFFSET XORed with 0xff.
flip_byte() {
    head -c "$2" "$1"
    flip_was=$(cut_bytes "$1" "$2" 1 | od -An -tu1 | tr -d ' ')
    printf "\\$(printf '%03o' $((flip_was ^ 255)))"
    tail -c +$(($2 + 2)) "$1"
}

# set_byte FILE OFFSET VALUE: FILE with the byte at OFFSET made VALUE.
set_byte() {
    head -c "$2" "$1"
    printf "\\$(printf '%03o' "$3")"
    tail -c +$(($2 + 2)) "$1"
}

# kv_table OUT KNOB...: the commands on standard input, then a compact, in
# a new database of $kv (the stage's tool) made with the KNOBs; its table
# ($file) saved as OUT.
kv_table() {
    kv_table_out=$1; shift
    rm -rf "$tmp/db"
    { cat; echo compact; } | "$kv" "$@" "$tmp/db" >/dev/null
    kv_table_f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
    if [ -n "$kv_table_f" ] && [ -f "$kv_table_f" ]; then cp "$kv_table_f" "$kv_table_out"; fi
}

# flip_byte FILE OFFSET: FILE with the byte at OFFSET inverted (XOR 0xff).
flip_byte() {
    head -c "$2" "$1"
    set -- "$1" "$2" "$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')"
    printf "\\$(printf '%03o' $((255 - $3)))"
    tail -c +$(($2 + 2)) "$1"
}

# table_piece_seeds KV DEST TARGET: tables of stage 05 made by KV (small
# and large blocks' worth, compressible and not, tombstones, binary keys;
# the fourth with a hash index in each data block, block_hash.h), and of
# each the pieces TARGET reads: every stored data block (block), the
# index's contents after the data blocks' end as 8 bytes (index), the meta
# blocks and the footer (footer).
table_piece_seeds() {
    kv=$1 dest=$2 target=$3
    n=0
    for script in "put a 1
put b 2
del a" "$(i=0; while [ $i -lt 300 ]; do echo "put key$i value-$i-value-$i-value"; i=$((i + 1)); done)" \
                  "$(i=0; while [ $i -lt 120 ]; do echo "put k$((i * 7919 % 1000)) $(printf '%0150d' $i)"; \
                     [ $((i % 5)) = 0 ] && echo "del k$((i * 31 % 1000))"; i=$((i + 1)); done)" \
                  "$(i=0; while [ $i -lt 200 ]; do echo "put h$((i * 7919 % 1000)) v$i"; \
                     [ $((i % 7)) = 0 ] && echo "del h$((i * 31 % 1000))"; i=$((i + 1)); done)"; do
        n=$((n + 1))
        knobs=
        [ $n = 4 ] && knobs="--block-hash-index yes"
        rm -rf "$tmp/db"
        # shellcheck disable=SC2086 # knobs: words on purpose
        printf '%s\ncompact\n' "$script" | "$kv" $knobs "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/*.tbl | head -n 1)
        "$kv" "$tmp/db" dump >"$tmp/dump"
        d=$(sed -n 's/.*data blocks, \[16, \([0-9]*\)).*/\1/p' "$tmp/dump")
        case $target in
        block)
            sed -n 's/^block \([0-9]*\) at \([0-9]*\): \([0-9]*\) bytes stored.*/\1 \2 \3/p' \
                "$tmp/dump" | while read -r b off len; do
                cut_bytes "$f" "$off" $((len + 9)) >"$dest/table$n-block$b"
            done ;;
        lz4)
            # Each lz4 data block's contents after a step (0: one call;
            # 64) and its raw size (fuzz/lz4_fuzz.c), from its trailer.
            sed -n 's/^block \([0-9]*\) at \([0-9]*\): \([0-9]*\) bytes stored.*/\1 \2 \3/p' \
                "$tmp/dump" | while read -r b off len; do
                set -- $(od -An -tu1 -j$((off + len)) -N3 "$f")
                [ "$1" = 1 ] || continue
                for step in 0 64; do
                    { printf "\\$(printf '%03o' $step)\\$(printf '%03o' "$2")\\$(printf '%03o' "$3")"
                      cut_bytes "$f" "$off" "$len"; } >"$dest/table$n-block$b-step$step"
                done
            done ;;
        index)
            set -- $(sed -n 's/.*index at \([0-9]*\) (\([0-9]*\) bytes.*/\1 \2/p' "$tmp/dump")
            { le64 "$d"; cut_bytes "$f" "$1" "$2"; } >"$dest/table$n-index" ;;
        footer)
            size=$(wc -c <"$f")
            cut_bytes "$f" "$d" $((size - d)) >"$dest/table$n-tail" ;;
        esac
    done
    rm -rf "$tmp/db"
}

for pair in "$@"; do
    stage=${pair%%:*}; target=${pair#*:}
    # Not a database file: kv serve's parser (requests), glob matcher
    # (patterns) and HTTP request reader (the metrics endpoint's), stage
    # 05's bloom filter (a filter's bytes), stage 06's manifest (a CURRENT
    # line, then a manifest's bytes) and CURRENT alone, stage 10's command, snapshot and
    # member note formats, its peers' messages and connection start, and a
    # replica's REPLICA file: their seeds are committed in fuzz/seeds/;
    # and, but for filter, manifest and current, written field by field
    # by scripts/fuzz_seeds_fields.sh (each field damaged, each length at
    # its bounds).
    if [ "$target" = resp ] || [ "$target" = glob ] || [ "$target" = http ] ||
       [ "$target" = filter ] || [ "$target" = manifest ] || [ "$target" = current ] ||
       [ "$target" = command ] || [ "$target" = snapshot ] || [ "$target" = member_note ] ||
       [ "$target" = peer_frame ] || [ "$target" = peer_hello ] || [ "$target" = replica_dir ]; then
        rm -rf "$out/$stage-$target"
        mkdir -p "$out/$stage-$target"
        cp fuzz/seeds/$target/* "$out/$stage-$target/"
        case $target in
        filter | manifest | current) ;;
        *) sh scripts/fuzz_seeds_fields.sh "$out/$stage-$target" "$target" ;;
        esac
        continue
    fi
    # The export stream (fuzz/export_fuzz.c, every stage's): streams the
    # stage's kv export writes, and ones written field by field.
    if [ "$target" = export ]; then
        rm -rf "$out/$stage-export"
        # (the field-by-field ones written once, for the first stage, and
        # copied for the others)
        KV_SEEDS_EXPORT_FIELDS=${export_fields:-} \
            sh scripts/fuzz_seeds_fields.sh "$out/$stage-export" export "build/$stage/kv"
        export_fields=${export_fields:-$out/$stage-export}
        continue
    fi
    if [ "$target" = api ]; then
        mkdir -p "$out/$stage-api"
        api_seeds "$out/$stage-api"
        continue
    fi
    if [ "$target" = vlog ]; then
        mkdir -p "$out/$stage-vlog"
        vlog_seeds "build/$stage/kv" "$out/$stage-vlog"
        # and the hand-made ones (fuzz/seeds/vlog/: a record after a
        # block's trailer, a batch of every op, counts of each version)
        cp fuzz/seeds/vlog/* "$out/$stage-vlog/"
        continue
    fi
    if [ "$target" = hint ]; then
        rm -rf "$out/$stage-hint"
        mkdir -p "$out/$stage-hint"
        hint_seeds "build/$stage/kv" "$out/$stage-hint"
        sh scripts/fuzz_seeds_fields.sh "$out/$stage-hint" hint
        continue
    fi
    case $target in
    block | index | footer | lz4)
        mkdir -p "$out/$stage-$target"
        table_piece_seeds "build/$stage/kv" "$out/$stage-$target" "$target"
        # and the hand-made ones of the bounds (fuzz/seeds/lz4/, index/)
        if [ -d "fuzz/seeds/$target" ]; then cp "fuzz/seeds/$target"/* "$out/$stage-$target/"; fi
        continue ;;
    esac
    case $target in
        log) file=data.log ;;
        segment) file=0000000001.log ;;
        wal) file=0000000001.log ;;  # stage 03: a write-ahead log segment
        table) file='*.tbl' ;;  # stage 04: its name says which writes it holds
        table_blocks) file='*.tbl' ;;  # stages 05, 09: the same, checksums made right
        stats) file=STATS ;;  # stages 04-07: the totals kv_close saves
        identity) file=IDENTITY ;;  # every stage: which stage wrote the directory
        lsm_wal) file='0*.log' ;;  # stage 04: the log of the memtable's writes
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
del b
batch put c 1 put d 2 del a put c 3" \
                  "put key empty
put k2 value2
del nothing
put k3 v3
put k2 v2b
batch put k 1 put kk 2
batch put a 1 put a 2" \
                  "put a $(printf '%0400d' 1)
put a $(printf '%0400d' 2)
put b $(printf '%0400d' 3)
compact" ; do
        n=$((n + 1))
        rm -rf "$tmp/db"
        [ "$target" = table ] || [ "$target" = table_blocks ] || [ "$target" = stats ] && script="$script
compact"
        printf '%s\n' "$script" | "$kv" "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ -f "$f" ] || continue
        cp "$f" "$dest/seed$n"
        size=$(wc -c <"$f")
        # (table_blocks reads whole tables, its checksums made right: a
        # torn copy is the table harness's)
        [ "$target" = table_blocks ] && continue
        head -c $((size - 1)) "$f" >"$dest/seed$n-torn1"
        head -c $((size / 3)) "$f" >"$dest/seed$n-torn3"
        head -c 5 "$f" >"$dest/seed$n-torn-header"
        # A log damaged in its first record, valid records after it (byte
        # 23: in a log record's header, the second byte of its value
        # length, which then runs past the file's end: kv_open searches
        # for the next record and finds several candidates to sort and
        # check; in a write-ahead log, a byte of the first fragment).  The
        # harnesses read the input as it is too.
        case $target in
        log | segment | wal | lsm_wal)
            [ "$n" = 2 ] && [ "$size" -gt 23 ] && flip_byte "$f" 23 >"$dest/seed$n-flipped" ;;
        esac
        # In log records (stage 01's log, stage 02's segments; seed1 is the
        # header, then one 12-byte record, its key length at byte 20 and
        # its value length at 22): the last record whole but a length one
        # more than it is, which one changed byte makes right (kv_open cuts
        # nothing it can tell from a torn write); and seed2's first record
        # with a key length of 0, damage with valid records after it.
        case $target:$stage in
        log:* | segment:02-hash)
            if [ "$n" = 1 ] && [ "$size" = 28 ]; then
                set_byte "$f" 20 2 >"$dest/seed1-key-length-one-more"
                set_byte "$f" 22 2 >"$dest/seed1-value-length-one-more"
            fi
            if [ "$n" = 2 ] && [ "$size" -gt 28 ]; then
                { head -c 20 "$f"; printf '\000\000'; tail -c +23 "$f"; } >"$dest/seed2-key-length-0"
            fi ;;
        esac
    done
    # A record longer than a 32 KiB block: FIRST, MIDDLE and LAST fragments
    # (stage 02's segments have no blocks: its segment seeds stay small).
    case $target:$stage in
    segment:02-hash) ;;
    wal:* | segment:* | lsm_wal:*)
        rm -rf "$tmp/db"
        printf 'put big %s\nput a 1\ndel big\n' "$(head -c 40000 /dev/zero | tr '\0' v)" |
            "$kv" "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/blocks" ;;
    esac
    # Log records written field by field (scripts/fuzz_seeds_fields.sh).
    # (Not a value larger than a scan's 256 KiB buffer: the engine's run
    # of such an input under libFuzzer is a slow unit.)
    case $target:$stage in
    log:* | segment:02-hash) sh scripts/fuzz_seeds_fields.sh "$dest" "$target" ;;
    esac
    # The last record whole but its value length one more (key abc, value
    # de; byte 22), where a key length one less is also a one-byte change
    # that would end it at the file's end: kv_open tries both.
    case $target:$stage in
    log:* | segment:02-hash)
        rm -rf "$tmp/db"
        "$kv" "$tmp/db" put abc de >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ "$(wc -c <"$f")" = 31 ] &&
            set_byte "$f" 22 3 >"$dest/key-or-value-length-one-more" ;;
    esac
    # More entries than kv_inspect lists (KV_INSPECT_DETAIL_MAX, 256): 300
    # puts in one table.
    case $target:$stage in
    table:04-lsm)
        rm -rf "$tmp/db"
        i=0
        while [ $i -lt 300 ]; do echo "put k$i $i"; i=$((i + 1)); done |
            { cat; [ "$target" = table ] && echo compact; } | "$kv" "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/more-than-inspect-lists" ;;
    esac
    # A closed segment (its seal) and, where the stage syncs, sync markers.
    knobs=""
    case $target:$stage in
    segment:02-hash) knobs="--segment-bytes 64" ;;
    wal:* | segment:*) knobs="--segment-bytes 64 --sync" ;;
    lsm_wal:*) knobs="--sync" ;;
    esac
    if [ -n "$knobs" ]; then
        rm -rf "$tmp/db"
        # shellcheck disable=SC2086
        printf 'put a 1\nput b 2\nbatch put c 3 del a\nput d 4\n' | "$kv" $knobs "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/sealed"
    fi
    case $target:$stage in
    table:04-lsm)
        # a value of 20,000 bytes: a value length of three varint bytes,
        # which the harness's mutator can push past the 64 KiB a scan reads
        # at a time
        rm -rf "$tmp/db"
        printf 'put a 1\nput big %s\nput c 3\ncompact\n' "$(printf '%020000d' 7)" |
            "$kv" "$tmp/db" >/dev/null
        f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/big-value" ;;
    table:05-blocks)
        # blocks of 256 bytes that lz4 shrinks (values of 60 digits):
        # lookups that decode an lz4 block only as far as their key
        # (table_v2_scan.c), the block cache being full
        i=0
        while [ $i -lt 40 ]; do echo "put key$i $(printf '%060d' $i)"; i=$((i + 1)); done |
            kv_table "$dest/lz4-blocks" --block-bytes 256
        # blocks of two keys, k000 k020, k040 k060, ...: each index entry
        # a separator shorter than the block's last key and above it (k03
        # after k020), so that a seek just past a block's last key lands
        # in a block with no key at or after it (table_v2_iter.c)
        i=0
        while [ $i -lt 30 ]; do echo "put k$(printf '%02d' $((i * 2)))0 v"; i=$((i + 1)); done |
            kv_table "$dest/separators-above-their-blocks" --block-bytes 64 ;;
    table_blocks:05-blocks)
        # blocks of 64 bytes, the smallest, about 300 of them: more data
        # blocks than kv_inspect lists (KV_INSPECT_DETAIL_MAX, 256), so
        # that its listing is cut (table_v2_inspect.c)
        i=0
        while [ $i -lt 600 ]; do echo "put k$i v"; i=$((i + 1)); done |
            kv_table "$dest/more-blocks-than-inspect-lists" --block-bytes 64
        # values compressed one by one (--compression lz4-values), the
        # first, "x", in a cell stored as it is (00 78 at byte 28: the
        # first data block at 16, its entry's three lengths, then key "a"
        # with its 8-byte trailer), its 00 made 0x80: a cell's length
        # with no lz4 bytes after it, which a scan refuses (block_value.h)
        f=$tmp/values-one-by-one
        printf 'put a x\nput b y\n' | kv_table "$f" --compression lz4-values
        if [ -f "$f" ] && [ "$(od -An -tu1 -j28 -N2 "$f" | tr -s ' ')" = " 0 120" ]; then
            set_byte "$f" 28 128 >"$dest/value-cell-length-with-no-lz4-bytes"
        fi
        # whole, values one by one: a cell as it is, an empty value, two
        # compressed (the values a scan unpacks into a buffer it grows)
        printf 'put a x\nput b ""\nput c %s\nput d %s\n' "$(printf '%0300d' 5)" \
            "$(printf '%044d' 0 | tr 0 y)" | kv_table "$dest/values-one-by-one" --compression lz4-values
        # a first data block of 20,000 bytes stored as they are, more than
        # a lookup reads on its stack (TABLE_V2_STACK_READ): it allocates
        printf 'put a %s\nput b 2\n' "$(printf '%020000d' 7)" |
            kv_table "$dest/block-larger-than-a-stack-read" --compression none ;;
    identity:*)
        # another stage's identity, which this stage refuses
        other=build/01-log/kv
        [ "$stage" = 01-log ] && other=build/02-hash/kv
        rm -rf "$tmp/db"
        "$other" "$tmp/db" put a 1 >/dev/null && cp "$tmp/db/IDENTITY" "$dest/other-stage"
        # the longest stage name (31 characters) and the largest format
        # number: the bounds (the harness makes their crc32c right)
        printf 'kvstages stage=abcdefghijklmnopqrstuvwxyz01234 format=1 crc32c=00000000\n' \
            >"$dest/longest-name"
        printf 'kvstages stage=%s format=4294967295 crc32c=00000000\n' "$stage" \
            >"$dest/largest-format"
        # and each field damaged, at its bounds, cut short
        sh scripts/fuzz_seeds_fields.sh "$dest" identity ;;
    esac
    rm -rf "$tmp/db"
    "$kv" -x "$tmp/db" put 00ff00 "" >/dev/null
    "$kv" -x "$tmp/db" put ff 00010203 >/dev/null
    [ "$target" = table ] || [ "$target" = table_blocks ] && "$kv" "$tmp/db" compact >/dev/null
    f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
    [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/binary"
    : >"$dest/empty"
    # The logs' and STATS's seeds written field by field (their byte tables:
    # a damaged field, a length at its largest and one past, ...).
    case $target in
    wal | lsm_wal | stats) sh scripts/fuzz_seeds_logs.sh "$dest" "$target" ;;
    esac
    if [ "$target" = table ] || [ "$target" = table_blocks ] && [ "$stage" = 09-cache ]; then
        # Stage 09 writes tables of partitions (format v2, version 2, with
        # --partitions yes) and stage 05's (version 1, the default): tables
        # of a few keys and of many partitions (blocks of 64 bytes), one
        # without filters, one of keys of 151 bytes, one stage 05 wrote,
        # two of partitions of about a hundred keys (blocks of 256 bytes),
        # with filters larger than
        # the smallest a filter may be and without, and one of eleven
        # partitions of about fifty keys (blocks of 128 bytes), each filter
        # above the smallest: in one of them the last bits byte, read as
        # k, is a k a reader takes (1 to 30), so that a filter read one
        # byte short answers differently rather than "maybe" (none of
        # parts-large-filters' four partitions has such a byte).  Its data
        # blocks hold value cells, each value compressed alone (the
        # default): values-packed has values lz4 shrinks and values it
        # does not, in blocks of 256 bytes; lz4-whole is the same, each
        # block compressed whole (--compression lz4).
        i=0
        while [ $i -lt 80 ]; do
            if [ $((i % 2)) = 0 ]; then echo "put key$i $(printf '%060d' $i)"; else echo "put key$i v$i-$i"; fi
            i=$((i + 1))
        done >"$tmp/packed"
        echo compact >>"$tmp/packed"
        i=0
        while [ $i -lt 120 ]; do echo "put key$i value$i"; i=$((i + 1)); done >"$tmp/puts"
        echo compact >>"$tmp/puts"
        i=0
        while [ $i -lt 600 ]; do echo "put k$i v$i"; i=$((i + 1)); done >"$tmp/many"
        echo compact >>"$tmp/many"
        printf 'put a 1\nput b 2\nput a 3\ndel b\ncompact\n' >"$tmp/few"
        # keys of 151 bytes, longer than a block iterator holds without an
        # allocation (BLOCK_ITER_KEY_INLINE), in partitions of a few blocks
        i=0
        while [ $i -lt 24 ]; do echo "put k$(printf '%0150d' $i) v$i"; i=$((i + 1)); done >"$tmp/long"
        echo compact >>"$tmp/long"
        for v in parts:"--partitions yes --block-bytes 64" \
                 parts-nofilter:"--partitions yes --block-bytes 64 --bloom-bits none" \
                 parts-few:"--partitions yes" version1:"--block-bytes 64" \
                 parts-large-filters:"--partitions yes --block-bytes 256" \
                 parts-large-nofilter:"--partitions yes --block-bytes 256 --bloom-bits none" \
                 parts-many-filters:"--partitions yes --block-bytes 128" \
                 parts-long-keys:"--partitions yes --block-bytes 64" \
                 values-packed:"--block-bytes 256" lz4-whole:"--block-bytes 256 --compression lz4"; do
            name=${v%%:*}; opts=${v#*:}
            k=$kv
            [ "$name" = version1 ] && k=build/05-blocks/kv
            in=$tmp/puts
            [ "$name" = parts-few ] && in=$tmp/few
            case $name in parts-large-* | parts-many-*) in=$tmp/many ;; esac
            [ "$name" = parts-long-keys ] && in=$tmp/long
            case $name in values-packed | lz4-whole) in=$tmp/packed ;; esac
            rm -rf "$tmp/db"
            # shellcheck disable=SC2086
            "$k" $opts "$tmp/db" <"$in" >/dev/null
            f=$(ls "$tmp"/db/$file 2>/dev/null | head -n 1)
            [ -n "$f" ] && [ -f "$f" ] && cp "$f" "$dest/$name"
            # where kv dump puts the top level of a table of partitions
            "$k" "$tmp/db" dump 2>/dev/null |
                sed -n 's/.*the top level at \([0-9]*\) .*/\1/p' >"$tmp/top-$name"
        done
        # parts (and parts-nofilter) with the top level damaged, its
        # checksum made right by table_blocks: the first entry's first
        # handle one byte further (a partition that does not follow the
        # data blocks, refused at open), and the first entry's shared
        # length 5 where no key comes before it (a top level whose entries
        # do not decode).
        for name in parts parts-nofilter; do
            f=$dest/$name
            top=$(cat "$tmp/top-$name" 2>/dev/null)
            [ -f "$f" ] && [ -n "$top" ] || continue
            unshared=$(od -An -tu1 -j$((top + 1)) -N1 "$f" | tr -d ' ')
            at=$((top + 3 + unshared))
            first=$(od -An -tu1 -j$at -N1 "$f" | tr -d ' ')
            set_byte "$f" $at $((first ^ 1)) >"$dest/$name-top-not-following"
            set_byte "$f" "$top" 5 >"$dest/$name-top-entry-broken"
        done
        # values-packed with its first value's cell saying 59 bytes where
        # its lz4 bytes give 60 (byte 31: the first data block at 16, its
        # first entry's three lengths, then key0's 12 bytes, then the
        # cell's length, 60): damage a read refuses, lz4 told to stop at
        # the length the cell claims.
        f=$dest/values-packed
        if [ -f "$f" ] && [ "$(od -An -tu1 -j31 -N1 "$f" | tr -d ' ')" = 60 ]; then
            set_byte "$f" 31 59 >"$dest/values-packed-cell-short"
        fi
    fi
    if [ "$target" = table ] || [ "$target" = table_blocks ] && [ "$stage" != 04-lsm ]; then
        # Tables of format v2 whose first data block is damaged (the first
        # byte of its first key flipped: a checksum that fails for table,
        # keys out of order or a block that does not decode for
        # table_blocks, which makes checksums right), the rest whole: kv
        # check calls them damaged, and kv repair's salvage finds the
        # other blocks through the index (stage 05) or the index
        # partitions (stage 09, parted_salvage.c), where a torn copy's
        # salvage has to scan for them.
        for s in "$dest"/seed? "$dest"/binary "$dest"/parts* "$dest"/version1 "$dest"/values-packed; do
            case $s in *-block-damaged | *-top-*) continue ;; esac  # (from a run before; damaged)
            [ -f "$s" ] && [ "$(wc -c <"$s")" -gt 100 ] || continue
            flip_byte "$s" 19 >"$s-block-damaged"
        done
    fi
done
