#!/bin/sh
# fuzz_seeds_fields.sh DEST TARGET [KV]: seeds written field by field, for
# the harnesses whose input no stage's database gives: kv serve's parsers
# (resp, glob, http), stage 10's formats and its peers' messages (command,
# snapshot, member_note, replica_dir, peer_hello, peer_frame), and the
# export stream (export; KV, a stage's kv tool, writes its valid streams).
# scripts/fuzz_seeds.sh calls it after copying the committed seeds of
# fuzz/seeds/TARGET/, into DEST (build/fuzz/seeds/S-T).
#
# Each format's byte table (in the header it names) is walked field by
# field: a seed damages one field (a kind, a length, a reserved byte, an
# order), ends exactly at a field's end or one byte into the next, or puts
# a length at its largest and one past, so that each branch of the decoder
# has an input that takes it from the seeds alone (`make fuzz-coverage`,
# docs/fuzzing.md, "Coverage: what the harnesses reach").  Checksums are
# written as zeros where a harness makes them right before the decoder
# reads on (snapshot, export: each reads its input as it is and with
# every checksum made right).
set -eu
dest=$1 target=$2 kv=${3:-}
mkdir -p "$dest"

# ---- bytes -------------------------------------------------------------------
# u8 N...: each N as one byte; u16, u32, u64 N: N little-endian (u64 -1
# is eight 0xff bytes).
u8() {
    for v; do printf "\\$(printf '%03o' $((v & 255)))"; done
}
u16() { u8 $(($1)) $(($1 >> 8)); }
u32() { u8 $(($1)) $(($1 >> 8)) $(($1 >> 16)) $(($1 >> 24)); }
u64() { u32 $(($1 & 0xffffffff)); u32 $((($1 >> 32) & 0xffffffff)); }
# fill N C: N bytes C.
fill() { head -c "$1" /dev/zero | tr '\0' "$2"; }
# zeros N: N zero bytes.
zeros() { head -c "$1" /dev/zero; }
# pad8 FILE: FILE's bytes then zeros to a multiple of 8.
pad8() {
    n=$(wc -c <"$1")
    cat "$1"
    zeros $(((8 - n % 8) % 8))
}
# put NAME: standard input saved as seed NAME.
put() { cat >"$dest/$1"; }

# ---- replica_dir: REPLICA, "data-a\n" or "data-b\n" (replica_dir.h) ---------
replica_dir_seeds() {
    printf 'data-a\r' | put data-a-cr          # the length and name, not the newline
    printf 'data-b ' | put data-b-space
    printf 'data-\n\n' | put data-newline
    printf '\n' | put newline
    printf 'data-a\ndata-b\nxx' | put sixteen-bytes   # as many as the read asks for
    printf 'data-a\ndata-b\nxxy' | put seventeen-bytes
    printf 'data-b\n\000' | put data-b-nul
}

# ---- snapshot: "KVRSNAP1", index, N, N records, crc32c (snapshot_format.h) --
# snap N RECORDS...: a snapshot of index 9 whose header says N records,
# then the bytes of RECORDS (each a file), then a checksum of zeros.
snap() {
    n=$1; shift
    printf 'KVRSNAP1'; u64 9; u64 "$n"
    for r; do cat "$r"; done
    u32 0
}
# rec KEY VALUE: a record's bytes (lengths, key, value).
rec() { u32 ${#1}; u32 ${#2}; printf '%s%s' "$1" "$2"; }
snapshot_seeds() {
    t=$(mktemp -d)
    rec a 1 >"$t/a"; rec ab 2 >"$t/ab"; rec b '' >"$t/b"
    { u32 28; u32 1; printf '\377\377kv.replica:member:\000\000\000\000\000\000\000\007x'; } >"$t/member"
    { u32 15; u32 1; printf '\377\377kv.replica:xyx'; } >"$t/reserved"
    { u32 13; u32 0; printf '\377\377kv.replica:'; } >"$t/reserved-bare"
    { u32 29; u32 0; printf '\377\377kv.replica:member:\000\000\000\000\000\000\000\007!'; } \
        >"$t/member-long"
    { printf 'KVRSNAP1'; u64 1; u64 0; u8 0 0 0; } | put short-header  # 27 bytes: one short
    { printf 'KVRSNAP2'; u64 1; u64 0; u32 0; } | put bad-magic
    snap 0 | put no-records
    snap 1 | put count-past-the-end
    { snap 1 "$t/a" | head -c 31; u32 0; } | put cut-in-lengths   # 4 bytes of a record's 8
    { printf 'KVRSNAP1'; u64 9; u64 1; u32 0; u32 1; printf 'x'; u32 0; } | put key-empty
    # (a key past the longest is refused before its bytes are looked for)
    { printf 'KVRSNAP1'; u64 9; u64 1; u32 65536; u32 0; printf k; u32 0; } | put key-one-past-the-longest
    { printf 'KVRSNAP1'; u64 9; u64 1; u32 65535; u32 0; fill 65535 k; u32 0; } | put key-the-longest
    { printf 'KVRSNAP1'; u64 9; u64 1; u32 1; u32 67108865; printf 'k'; u32 0; } | put value-one-past-the-longest
    { printf 'KVRSNAP1'; u64 9; u64 1; u32 1; u32 40; printf 'kv'; u32 0; } | put value-past-the-end
    snap 2 "$t/a" "$t/a" | put same-key-twice
    snap 2 "$t/a" "$t/ab" | put prefix-then-longer
    snap 2 "$t/ab" "$t/a" | put longer-then-prefix
    snap 3 "$t/a" "$t/b" "$t/ab" | put third-key-goes-back
    snap 2 "$t/a" "$t/member" | put member-address
    snap 1 "$t/reserved" | put reserved-key
    snap 1 "$t/reserved-bare" | put reserved-prefix-alone
    snap 1 "$t/member-long" | put member-key-one-byte-long
    snap 1 "$t/a" "$t/b" | put byte-after-the-records
    rm -rf "$t"
}

# ---- member_note: kind 2, 0, N, N members (id, A, address), zeros
# (member_note.h) -------------------------------------------------------------
# member ID ADDR: one member's bytes.
member() { u64 "$1"; u8 ${#2}; printf '%s' "$2"; }
# note N MEMBER...: the header saying N members, the members (each
# "ID ADDR"), padded with zeros to a multiple of 8.
note() {
    n=$1; shift
    { u8 2 0; u16 "$n"; for m; do member "${m%% *}" "${m#* }"; done; } >"$dest/.note"
    pad8 "$dest/.note"
    rm -f "$dest/.note"
}
member_note_seeds() {
    u8 2 0 1 | put three-bytes                  # one short of the header
    { u8 2 0; u16 0; } | put header-alone-no-member
    { u8 3 0; u16 1; member 1 h:1; } | put kind-3
    { u8 2 1; u16 1; member 1 h:1; } | put reserved-1
    { u8 2 0; u16 1; u64 1; } | put cut-in-the-member   # 8 bytes of its 9
    { u8 2 0; u16 1; u64 1; u8 0; u8 0 0 0; } | put address-empty
    { u8 2 0; u16 1; u64 1; u8 20; printf 'host:1'; u8 0 0 0; } | put address-past-the-end
    note 1 "0 h:1" | put id-0
    note 1 "1 $(fill 61 h):1" | put address-the-longest
    note 1 "1 $(fill 60 h):12345" | put address-the-longest-port-5
    note 1 "1 $(fill 62 h):1" | put address-one-past-the-longest
    note 1 "1 h: 1" | put address-space
    { u8 2 0; u16 1; member 1 'h:1'; } >"$dest/.del"
    # (the address's first byte made DEL, 127: printable stops at 126)
    { head -c 13 "$dest/.del"; u8 127; tail -c +15 "$dest/.del"; } | put address-del
    rm -f "$dest/.del"
    note 1 "1 host" | put address-no-colon
    note 1 "1 :7001" | put address-colon-first
    note 1 "1 host:" | put address-colon-last
    note 1 "1 host:123456" | put address-port-6-digits
    note 1 "1 host:70a1" | put address-port-letter
    note 1 "1 host:70/1" | put address-port-slash
    note 1 "1 a:b:7001" | put address-two-colons
    note 2 "1 h:1" "2 h:2" | put two-exactly-16-bytes
    { note 1 "1 h:1"; zeros 8; } | put eight-zeros-of-padding
    { note 1 "1 h:1"; zeros 1; } | put a-zero-past-a-multiple-of-8
    { u8 2 0; u16 1; member 1 h:12; u8 0 0 0 0 0 1 0; } | put padding-not-zero
}

# ---- command: version, 0, C, W, origin (member, serial, term), R, ops,
# zeros (command.h) -----------------------------------------------------------
# head VERSION C W R: a header of that version (5: 38 bytes, 4: 34 without
# R, 3: 26 without the origin's term, 1: 10 without an origin), origin
# member 3, serial 4, term 5.
head5() {
    u8 "$1" 0; u32 "$2"; u32 "$3"
    [ "$1" = 1 ] || { u64 3; u64 4; }
    [ "$1" = 1 ] || [ "$1" = 3 ] || u64 5
    [ "$1" != 5 ] || u32 "$4"
}
# op KIND KEY [VALUE]: an op (a value's length only for kinds 0, 2, 4, 5).
op() {
    u8 "$1"; u32 ${#2}
    case $1 in 0 | 2 | 4 | 5) u32 ${#3} ;; esac
    printf '%s%s' "$2" "${3:-}"
}
# padded: standard input, zeros to a multiple of 8.
padded() { cat >"$dest/.cmd"; pad8 "$dest/.cmd"; rm -f "$dest/.cmd"; }
command_seeds() {
    : | put nothing
    head5 5 0 0 0 | head -c 9 | put nine-bytes
    { u8 0 0; zeros 14; } | put version-0
    { u8 2 0; zeros 14; } | put version-2          # a member note's first byte
    { u8 6 0; zeros 42; } | put version-6
    { u8 5 1; zeros 38; } | put reserved-byte
    head5 5 0 0 0 | head -c 37 | put version-5-one-short
    head5 4 0 0 0 | head -c 33 | put version-4-one-short
    head5 3 0 0 0 | head -c 25 | put version-3-one-short
    { head5 1 0 0 0; zeros 6; } | put version-1-no-op
    { head5 4 0 0 0; zeros 6; } | put version-4-no-op
    { head5 5 0 1048576 0; u8 0 0; } | put writes-one-past-the-most
    { head5 5 0 1048575 0; u8 0 0; } | put writes-the-most-absent
    { head5 5 0 0 1048576; u8 0 0; } | put reads-one-past-the-most
    { head5 5 0 0 1048575; u8 0 0; } | put reads-the-most-absent
    { head5 5 0 1 0; u8 2 1 0 0; } | put op-cut-in-its-key-length
    { head5 5 0 1 0; u8 2 1 0 0 0 1 0; } | put op-cut-in-its-value-length
    { head5 5 0 1 0; op 7 k; } | padded | put kind-7
    { head5 4 0 1 0; op 6 k; } | padded | put version-4-read
    { head5 1 0 1 0; op 4 k v; } | padded | put version-1-put-if-absent
    { head5 3 0 1 0; op 5 k v; } | padded | put version-3-put-if-present
    { head5 5 0 1 0; u8 3; u32 0; } | padded | put key-empty
    { head5 5 0 1 0; u8 3; u32 65536; printf k; } | padded | put key-one-past-the-longest
    { head5 5 0 1 0; op 2 "$(fill 65535 k)" v; } | padded | put key-the-longest
    { head5 5 0 1 0; u8 2; u32 1; u32 67108865; printf k; } | padded | put value-one-past-the-longest
    { head5 5 0 1 0; u8 2; u32 1; u32 9; printf kv; } | put value-past-the-end
    { head5 5 0 1 0; u8 3; u32 12; printf key; } | put key-past-the-end
    { head5 5 1 1 0; op 2 a 1; op 2 b 2; } | padded | put write-where-a-condition-is
    { head5 5 1 0 1; op 6 a; op 6 b; } | padded | put read-where-a-condition-is
    { head5 5 0 1 0; op 1 a; } | padded | put condition-where-a-write-is
    { head5 5 0 1 1; op 2 a 1; op 3 b; } | padded | put writes-more-than-the-header
    { head5 5 0 1 1; op 6 a; op 6 b; } | padded | put reads-more-than-the-header
    { head5 5 0 0 1; op 6 "$(printf '\377\377kv.replica:x')"; } | padded | put read-of-a-reserved-key
    { head5 5 1 1 0; op 0 a 1; op 2 a 2; zeros 8; } | padded | put eight-zeros-after
    { head5 5 0 1 0; op 3 abc; u8 0 1; } | put padding-not-zero
    { head5 5 0 1 0; op 3 abcd; } | put unpadded
}

case $target in
replica_dir) replica_dir_seeds ;;
snapshot) snapshot_seeds ;;
member_note) member_note_seeds ;;
command) command_seeds ;;
*) echo "fuzz_seeds_fields: no seeds for target $target" >&2; exit 1 ;;
esac
