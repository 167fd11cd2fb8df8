#!/bin/sh
# fuzz_seeds_logs.sh DEST TARGET: seeds written field by field for the
# harnesses of the write-ahead logs and STATS, beside the files the stages
# themselves write (scripts/fuzz_seeds.sh calls it after them, into DEST,
# build/fuzz/seeds/S-T):
#   wal      stage 03's segment (stages/03-wal/wal/wal_format.h: 32 KiB
#            blocks of fragments; wal_batch.h, a record's batch;
#            wal_marker.h, sync markers and seals)
#   lsm_wal  stage 04's log (stages/04-lsm/logs/lsm_wal.h: the same
#            fragments, each record a batch then its 8-byte sequence number)
#   stats    STATS (stages/04-lsm/stats/stats_file.h)
# Each byte table is walked field by field: a seed damages one field (an op
# type, a length, a sequence number, a name's byte), puts a length or a
# count at its largest and one past, or ends where a field ends, so that
# each branch of the decoders and of the tools that read them (kv check,
# kv dump, kv repair, kv_open's replay) has an input that takes it from the
# seeds alone (`make fuzz-coverage`, docs/fuzzing.md, "Coverage: what the
# harnesses reach").  Checksums are written as zeros: each harness makes
# them right (the file header's, every fragment's, STATS's), and reads the
# input as it is too.
set -eu
LC_ALL=C
export LC_ALL
dest=$1 target=$2
mkdir -p "$dest"

# ---- bytes ---------------------------------------------------------------------
# u8, u16, u32, u64 (scripts/fuzz_seed_bytes.sh).
. scripts/fuzz_seed_bytes.sh
# varint N: N as a base-128 varint (common/coding.h).
varint() {
    vi=$1
    while [ "$vi" -ge 128 ]; do u8 $(((vi & 127) | 128)); vi=$((vi >> 7)); done
    u8 "$vi"
}
fill() { head -c "$1" /dev/zero | tr '\0' "$2"; }
zeros() { head -c "$1" /dev/zero; }
put() { cat >"$dest/$1"; }

# ---- fragments and batches (wal_format.h, wal_batch.h) ---------------------------
# frag TYPE FILE: a fragment (type 1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST) of
# FILE's bytes, its checksum zeros.
frag() { u32 0; u16 "$(wc -c <"$2")"; u8 "$1"; cat "$2"; }
# full FILE: a record of FILE's bytes in one FULL fragment.
full() { frag 1 "$1"; }
# put_op KEY VALUE, del_op KEY: an op of a batch.
put_op() { u8 1; varint ${#1}; varint ${#2}; printf '%s%s' "$1" "$2"; }
del_op() { u8 2; varint ${#1}; printf '%s' "$1"; }
# rec NAME: standard input as the payload file NAME (in a scratch directory).
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
rec() { cat >"$t/$1"; }
# marker AT [SEAL]: a sync marker saying bytes before AT were synced (a
# seal with SEAL=1).
marker() { u8 0; u64 "$1"; [ $# -lt 2 ] || u8 "$2"; }

# The payloads of stage 03's records, each a branch of wal_batch_decode or
# wal_marker_decode (stage 04's records add a sequence number after them).
batch_payloads() {
    { varint 1; put_op a 1; } | rec put
    { varint 2; put_op k v; del_op k; } | rec put-then-del
    { varint 1; put_op e ''; } | rec empty-value
    varint 0 | rec count-0
    u8 128 | rec count-cut-in-its-varint
    u8 255 255 255 255 255 | rec count-varint-too-long
    { varint 1; u8 3; varint 1; varint 1; printf kv; } | rec op-type-3
    { varint 1; u8 0; varint 1; varint 1; printf kv; } | rec op-type-0
    { varint 2; put_op a 1; } | rec count-above-the-ops
    { varint 1; u8 1; varint 0; varint 1; printf v; } | rec key-length-0
    { varint 1; u8 1; varint 65536; varint 0; printf k; } | rec key-one-past-the-longest
    { varint 1; u8 2; varint 65535; printf k; } | rec key-the-longest-past-its-batch
    { varint 1; u8 1; u8 128; } | rec key-length-cut-in-its-varint
    { varint 1; u8 1; varint 1; varint 67108865; printf k; } | rec value-one-past-the-longest
    { varint 1; u8 1; varint 1; varint 67108864; printf k; } | rec value-the-longest-past-its-batch
    { varint 1; u8 1; varint 1; u8 128; } | rec value-length-cut-in-its-varint
    { varint 1; u8 1; varint 2; varint 2; printf abc; } | rec op-past-its-batch
    { varint 1; put_op a 1; u8 0; } | rec a-byte-after-the-ops
    { varint 1; } | rec count-then-nothing
    marker 16 | rec marker
    marker 16 1 | rec seal
    marker 16 2 | rec seal-byte-2
    { marker 16; u8 0; u8 0; } | rec marker-11-bytes
    u8 0 | rec marker-1-byte
}

# ---- wal: stage 03's segment, 0000000001.log ----------------------------------
whead() { printf 'KVS03WAL'; u32 1; u32 0; }
wal_seeds() {
    batch_payloads
    # Every payload, a record each, in one segment: the harness decodes each
    # record the reader returns; kv_open stops at the first that is not a
    # batch.
    { whead; for p in put put-then-del empty-value marker seal count-0 count-cut-in-its-varint \
            count-varint-too-long op-type-3 op-type-0 count-above-the-ops key-length-0 \
            key-one-past-the-longest key-the-longest-past-its-batch key-length-cut-in-its-varint \
            value-one-past-the-longest value-the-longest-past-its-batch \
            value-length-cut-in-its-varint op-past-its-batch a-byte-after-the-ops count-then-nothing \
            seal-byte-2 marker-11-bytes marker-1-byte; do full "$t/$p"; done; } |
        put payloads-of-every-kind
    # Each damaged payload after a valid record, with a valid record after
    # it (kv_open: damage in the middle; kv repair keeps both records).
    for p in count-0 op-type-3 key-length-0 op-past-its-batch a-byte-after-the-ops; do
        { whead; full "$t/put"; full "$t/$p"; full "$t/put-then-del"; } | put "batch-$p-between-two"
    done
    # A record whose last fragment is missing (FIRST then FULL), a
    # fragment without its start (LAST), MIDDLE alone, and a fragment of
    # type 5 and 0, each between two records.
    printf 'ab' | rec half
    { whead; full "$t/put"; frag 2 "$t/half"; full "$t/put-then-del"; } | put first-then-full
    { whead; full "$t/put"; frag 4 "$t/half"; full "$t/put-then-del"; } | put last-without-first
    { whead; full "$t/put"; frag 3 "$t/half"; frag 4 "$t/half"; full "$t/put-then-del"; } |
        put middle-last-without-first
    { whead; full "$t/put"; frag 5 "$t/half"; full "$t/put-then-del"; } | put fragment-type-5
    { whead; full "$t/put"; frag 0 "$t/half"; full "$t/put-then-del"; } | put fragment-type-0
    # A whole record that is not a batch, at the end (a torn tail: a
    # read-only open keeps it, and kv_inspect meets it); a fragment of no
    # bytes.
    { whead; full "$t/put"; full "$t/count-0"; } | put batch-count-0-at-the-end
    : >"$t/nothing"
    { whead; full "$t/put"; full "$t/nothing"; full "$t/put-then-del"; } | put fragment-of-no-bytes
    # Zeros where a fragment header should be, then a record; zeros to the end.
    { whead; full "$t/put"; zeros 7; full "$t/put-then-del"; } | put zeros-then-a-record
    { whead; full "$t/put"; zeros 100; } | put zeros-to-the-end
    # A fragment header cut short, and a fragment cut short, by the end.
    { whead; full "$t/put"; u32 0; u16 2; } | put header-cut-by-the-end
    { whead; full "$t/put"; u32 0; u16 20; u8 1; printf abc; } | put fragment-cut-by-the-end
    { whead; full "$t/put"; frag 2 "$t/half"; } | put record-cut-by-the-end
    # A sync marker after damage: the damage was synced, so it is no torn
    # write (kv check: CORRUPT; kv_open refuses it in every segment).
    { whead; full "$t/put"; full "$t/count-0"; full "$t/put-then-del"; marker 200 | rec m200; full "$t/m200"; } |
        put damage-then-a-marker-past-it
    # A seal naming its own offset (a closed segment), and one naming another.
    { whead; full "$t/put"; } >"$t/one"
    at=$(wc -c <"$t/one")
    { cat "$t/one"; marker "$at" 1 | rec sealhere; full "$t/sealhere"; } | put sealed-at-its-offset
    { cat "$t/one"; full "$t/seal"; } | put seal-naming-another-offset
    # A fragment that fills the first block exactly (32768 - 16 - 7 bytes
    # of data: a batch of 7 bytes before its value), then one in the next
    # block; one a byte longer (past its block); one that leaves 6 bytes,
    # a trailer too short for a header.
    { varint 1; u8 1; varint 1; varint 32738; printf k; fill 32738 v; } | rec fills-the-block
    { whead; full "$t/fills-the-block"; full "$t/put"; } | put fragment-fills-the-first-block
    { varint 1; u8 1; varint 1; varint 32739; printf k; fill 32739 v; } | rec past-the-block
    { whead; full "$t/past-the-block"; full "$t/put"; } | put fragment-one-past-its-block
    { varint 1; u8 1; varint 1; varint 32732; printf k; fill 32732 v; } | rec leaves-a-trailer
    { whead; full "$t/leaves-a-trailer"; zeros 6; full "$t/put"; } | put trailer-of-6-bytes
    { whead; full "$t/leaves-a-trailer"; u8 1 2 3 4 5 6; full "$t/put"; } | put trailer-not-zeros
    # A record across a trailer: its FIRST fragment leaves 3 bytes of its
    # block, its LAST starts the next.
    { varint 1; u8 1; varint 1; varint 32800; printf k; fill 32800 v; } >"$t/across"
    head -c 32742 "$t/across" >"$t/across-first"
    tail -c +32743 "$t/across" >"$t/across-last"
    { whead; frag 2 "$t/across-first"; zeros 3; frag 4 "$t/across-last"; full "$t/put"; } |
        put record-across-a-trailer
    # A FIRST fragment, then one whose length runs past its block (damage
    # inside a record), zeros to the block's end, then in the next block a
    # LAST fragment without its start (skipped: the rest of the damaged
    # record) and a record.
    { whead; frag 2 "$t/half"; u32 0; u16 33000; u8 3; } >"$t/past"
    { cat "$t/past"; zeros $((32768 - $(wc -c <"$t/past"))); frag 4 "$t/half"; full "$t/put"; } |
        put first-then-a-fragment-past-its-block-then-its-last
    # A batch of 17 ops (more than kv_inspect's first room for them).
    { varint 17; i=0; while [ $i -lt 17 ]; do put_op "k$i" v; i=$((i + 1)); done; } | rec ops17
    { whead; full "$t/ops17"; } | put batch-of-17-ops
    # More lines than kv_inspect shows of a part (KV_INSPECT_DETAIL_MAX,
    # 256: a block line, then per record a fragment, the record and each
    # op), the 257th a fragment (records of one op), a record (two of two
    # ops first), a block (85 records filling the first block exactly).
    { whead; i=0; while [ $i -lt 100 ]; do full "$t/put"; i=$((i + 1)); done; } |
        put inspect-cut-at-a-fragment
    { whead; i=0; while [ $i -lt 70 ]; do full "$t/put-then-del"; i=$((i + 1)); done; } |
        put inspect-cut-at-an-op
    { whead; full "$t/put-then-del"; full "$t/put-then-del"; i=0
      while [ $i -lt 90 ]; do full "$t/put"; i=$((i + 1)); done; } | put inspect-cut-at-a-record
    { varint 1; u8 1; varint 1; varint 372; printf k; fill 372 v; } | rec f385
    { varint 1; u8 1; varint 1; varint 399; printf k; fill 399 v; } | rec f412
    { whead; i=0; while [ $i -lt 84 ]; do full "$t/f385"; i=$((i + 1)); done; full "$t/f412"
      full "$t/put"; full "$t/put"; } | put inspect-cut-at-a-block
    # The header alone, and cut inside it; another stage's header.
    whead | put header-only
    whead | head -c 9 | put header-cut
    { printf 'KVS04LOG'; u32 1; u32 0; full "$t/put"; } | put header-of-stage-04
}

# ---- lsm_wal: stage 04's log, 000000000001.log -------------------------------
lhead() { printf 'KVS04LOG'; u32 1; u32 0; }
# lrec PAYLOAD SEQ: a record of stage 04, the payload then its sequence
# number, in one FULL fragment.
lrec() { { cat "$t/$1"; u64 "$2"; } >"$t/.lrec"; full "$t/.lrec"; }
lsm_wal_seeds() {
    batch_payloads
    max=$(((1 << 56) - 1))
    { lhead; for p in put count-0 op-type-3 key-length-0 value-one-past-the-longest \
            op-past-its-batch a-byte-after-the-ops; do lrec "$p" 1; done; } | put payloads-of-every-kind
    { lhead; lrec put 1; printf 'abcdefgh' | rec eight; full "$t/eight"; lrec put 3; } |
        put record-of-8-bytes
    { lhead; lrec put 1; printf 'abcdefghi' | rec nine; full "$t/nine"; lrec put 3; } |
        put record-of-9-bytes-not-a-batch
    { lhead; lrec put 0; } | put sequence-0
    { lhead; lrec put "$max"; } | put sequence-the-largest
    { lhead; lrec put $((max + 1)); } | put sequence-one-past-the-largest
    { lhead; lrec put-then-del "$max"; } | put sequence-the-largest-two-ops
    { lhead; lrec put 5; lrec put 5; } | put sequence-repeated
    { lhead; lrec put-then-del 5; lrec put 6; } | put sequence-inside-the-batch-before
    { lhead; lrec put 5; lrec put 3; lrec put 9; } | put sequence-going-back-then-on
    # Markers and seals: a seal at its own offset (a closed log), a sync
    # marker, then damage the marker after it says was synced.
    { lhead; lrec put 1; } >"$t/l1"
    at=$(wc -c <"$t/l1")
    { cat "$t/l1"; marker "$at" 1 | rec lseal; full "$t/lseal"; } | put sealed
    { cat "$t/l1"; marker "$at" 1 | rec lseal; full "$t/lseal"; lrec put 2; } | put sealed-then-a-record
    { cat "$t/l1"; marker "$at" | rec lmark; full "$t/lmark"; lrec put 2; } | put sync-marker
    { cat "$t/l1"; lrec count-0 2; lrec put 3; marker 200 | rec m200; full "$t/m200"; } |
        put damage-then-a-marker-past-it
    { cat "$t/l1"; lrec count-0 2; lrec put 3; marker 20 | rec m20; full "$t/m20"; } |
        put damage-then-a-marker-before-it
    { cat "$t/l1"; lrec count-0 2; lrec put 3; } | put damage-then-records
    # Zeros after the last record: room the log grew into (up to
    # IO_GROW_STEP, 1 MiB; zeros only), and what is not.
    { cat "$t/l1"; zeros 4000; } | put zeros-to-the-end
    { cat "$t/l1"; zeros 4000; u8 1; } | put zeros-then-a-byte
    { cat "$t/l1"; zeros 40000; } | put zeros-past-a-block
    { cat "$t/l1"; marker "$at" 1 | rec lseal; full "$t/lseal"; zeros 100; } | put sealed-then-zeros
    # The header alone, cut, and another stage's.
    lhead | put header-only
    lhead | head -c 9 | put header-cut
    { printf 'KVS03WAL'; u32 1; u32 0; lrec put 1; } | put header-of-stage-03
    { printf 'KVS04LOG'; u32 2; u32 0; lrec put 1; } | put header-version-2
}

# ---- stats: STATS, "KVS04STA", version 1, crc32c; a count; counters (a
# name's length, the name, an 8-byte value); a crc32c of the count and
# counters (stats_file.h) ----------------------------------------------------------
shead() { printf 'KVS04STA'; u32 1; u32 0; }
ctr() { u8 ${#1}; printf '%s' "$1"; u64 "$2"; }
stats_seeds() {
    shead | put header-only
    { shead; u32 0; u8 0 0 0; } | put one-byte-short-of-a-count-and-checksum
    { shead; u32 0; u32 0; } | put no-counters
    { shead; u32 2; ctr flush.count 3; ctr compact.bytes_written 40000; u32 0; } | put two-counters
    { shead; u32 2; ctr a 1; ctr b 0; u32 0; } | put a-value-of-zero
    { shead; u32 1; ctr a -1; u32 0; } | put the-largest-value
    { shead; u32 1; ctr "$(fill 47 z)" 5; u32 0; } | put name-of-47-bytes
    { shead; u32 1; ctr "$(fill 48 z)" 5; u32 0; } | put name-of-48-bytes
    { shead; u32 1; u8 0; u64 1; u32 0; } | put name-of-0-bytes
    { shead; u32 1; ctr 'Ab' 1; u32 0; } | put name-with-a-capital
    { shead; u32 1; ctr 'a-b' 1; u32 0; } | put name-with-a-dash
    { shead; u32 2; ctr a 1; ctr a 2; u32 0; } | put name-twice
    { shead; u32 2; ctr a 1; u32 0; } | put count-above-the-counters
    { shead; u32 1; ctr a 1; u8 0; u32 0; } | put a-byte-after-the-counters
    { shead; u32 1; u8 3; printf abc; u32 7; u32 0; } | put value-cut-by-the-checksum
    { shead; u32 257; u32 0; } | put count-257
    { shead; u32 4294967295; u32 0; } | put count-the-largest
    # The most counters of the longest names: the largest file, and a byte
    # more (which the read refuses before reading it).
    { shead; u32 256; i=0; while [ $i -lt 256 ]; do ctr "$(printf '%047d' $i)" $((i + 1)); i=$((i + 1)); done; u32 0; } >"$t/most"
    put 256-counters-of-47-bytes <"$t/most"
    { head -c $(($(wc -c <"$t/most") - 4)) "$t/most"; u8 0; u32 0; } | put one-byte-past-the-largest
    { printf 'KVS04STX'; u32 1; u32 0; u32 0; u32 0; } | put magic-wrong
    { printf 'KVS04STA'; u32 2; u32 0; u32 0; u32 0; } | put version-2
}

case $target in
wal) wal_seeds ;;
lsm_wal) lsm_wal_seeds ;;
stats) stats_seeds ;;
*) echo "fuzz_seeds_logs: no seeds for target $target" >&2; exit 1 ;;
esac
