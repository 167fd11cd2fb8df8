#!/bin/sh
# fuzz_seeds_fields.sh DEST TARGET [KV]: seeds written field by field, for
# the harnesses whose input no stage's database gives: kv serve's parsers
# (resp, glob, http), stage 10's formats and its peers' messages (command,
# snapshot, member_note, replica_dir, peer_hello, peer_frame), and the
# export stream (export; KV, a stage's kv tool, writes its valid streams);
# and, besides the seeds the stage's own databases give them, for the
# harnesses of stages 01 and 02's files: log (data.log), segment (stage
# 02's), hint and identity.  scripts/fuzz_seeds.sh calls it after copying
# the committed seeds of fuzz/seeds/TARGET/, into DEST (build/fuzz/seeds/S-T).
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
# Bytes, not characters: ${#s} is a length field's value.
LC_ALL=C
export LC_ALL
dest=$1 target=$2 kv=${3:-}
mkdir -p "$dest"

# ---- bytes -------------------------------------------------------------------
# u8, u16, u32, u64 (scripts/fuzz_seed_bytes.sh).
. scripts/fuzz_seed_bytes.sh
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
# head5 VERSION C W R: a header of that version (5: 38 bytes, 4: 34 without
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

# ---- peer_hello: a byte choosing the message (0 opening, 1 hello, 2 probe
# answer, 3 confirm; fuzz/peer_hello_fuzz.c), then it (peer_hello.h) ------
# opening MAGIC VERSION MODE ID; hello KIND RESERVED A ADDR; answer HAS_LOG
# ROLE RESERVED7 INDEX TERM; confirm KIND RESERVED3 ROUND TERM.
opening() { u8 0; printf '%s' "$1"; u8 "$2" "$3"; u64 "$4"; }
hello() { u8 1 "$1" "$2"; u16 "$3"; printf '%s' "$4"; }
answer() { u8 2 "$1" "$2" 0 0 0 0 0 "$3"; u64 "$4"; u64 "$5"; }
confirm() { u8 3 "$1" 0 0 "$2" 0 0 0 0; u64 "$3"; u64 "$4"; }
peer_hello_seeds() {
    opening kvpeeR 1 0 7 | put opening-magic
    opening kvpeer 2 0 7 | put opening-version-2
    opening kvpeer 1 1 7 | put opening-tls
    opening kvpeer 1 2 7 | put opening-mode-2
    opening kvpeer 1 0 0 | put opening-id-0
    opening kvpeer 1 0 -1 | put opening-id-the-largest
    u8 1 1 0 14 | put hello-three-bytes
    hello 0 0 3 h:1 | put hello-kind-0
    hello 2 0 3 h:1 | put hello-probe
    hello 4 0 3 h:1 | put hello-kind-4
    hello 1 1 3 h:1 | put hello-reserved-1
    hello 1 0 0 '' | put hello-address-empty
    hello 1 0 3 h:12 | put hello-one-byte-more
    hello 1 0 3 h: | put hello-one-byte-less
    hello 1 0 4 'h :1' | put hello-address-space
    { hello 1 0 4 h:1; u8 127; } | put hello-address-del
    answer 2 0 0 9 3 | put answer-has-log-2
    answer 1 3 0 9 3 | put answer-role-3
    answer 1 2 0 9 3 | put answer-role-2
    answer 0 255 0 0 0 | put answer-role-none
    answer 1 1 1 9 3 | put answer-reserved-at-7
    confirm 0 0 1 1 | put confirm-kind-0
    confirm 3 0 1 1 | put confirm-kind-3
    confirm 1 1 1 1 | put confirm-reserved-at-3
    confirm 1 0 0 1 | put confirm-round-0
    confirm 1 0 1 0 | put confirm-ask-term-0
    confirm 2 0 1 0 | put confirm-answer-term-0
}

# ---- peer_frame: libraft's messages, each a preamble (type, header
# length H), a header and a payload, and the transport's notices
# (peer_frame.h) -------------------------------------------------------------
# pre TYPE H: a preamble.
pre() { u64 "$1"; u64 "$2"; }
# append TERM PREV_TERM N [ENTRY_TERM:TYPE:LENGTH]...: an AppendEntries
# header of N entries (its count says N; the entries given follow),
# previous index 4, commit index 4.
append() {
    ap_term=$1 ap_prev=$2 ap_n=$3; shift 3
    pre 1 $((48 + 16 * $#)); u64 "$ap_term"; u64 4; u64 "$ap_prev"; u64 4; u64 "$ap_n"
    for e; do
        et=${e%%:*} rest=${e#*:}
        u64 "$et"; u8 "${rest%%:*}" 0 0 0; u32 "${rest#*:}"
    done
    u64 0
}
# vote TERM CANDIDATE LAST_TERM FLAGS; vote_result TERM GRANTED FLAGS;
# timeout_now TERM LAST_TERM; notice KIND TERM TARGET RESERVED.
vote() { pre 3 40; u64 "$1"; u64 "$2"; u64 9; u64 "$3"; u64 "$4"; }
vote_result() { pre 4 24; u64 "$1"; u64 "$2"; u64 "$3"; }
timeout_now() { pre 6 24; u64 "$1"; u64 9; u64 "$2"; }
notice() { pre 100 32; u64 "$1"; u64 "$2"; u64 "$3"; u64 "$4"; }
# server ID ADDR ROLE: a configuration's server; conf N SERVER_FILE: a
# configuration of version 1 saying N servers, the bytes of the file
# after it, padded to a multiple of 8.
server() { u64 "$1"; printf '%s' "$2"; u8 0 "$3"; }
conf() {
    { u8 1; u64 "$1"; cat "$2"; } >"$dest/.conf"
    pad8 "$dest/.conf"
    rm -f "$dest/.conf"
}
# snapshot_msg TERM LAST_TERM CONF_FILE SIZE: an InstallSnapshot header around
# the configuration in CONF_FILE (its length C as it is), a snapshot of
# SIZE bytes (the payload is not written).
snapshot_msg() {
    c=$(wc -c <"$3")
    pre 5 $((56 + c)); u64 "$1"; u64 9; u64 "$2"; u64 3; u64 "$c"; cat "$3"; u64 "$4"; u64 0
}
peer_frame_seeds() {
    t=$(mktemp -d)
    server 7 127.0.0.1:7101 1 >"$t/s7"
    conf 1 "$t/s7" >"$t/conf"
    # ---- preambles and header lengths
    { pre 0 24; zeros 24; } | put type-0
    { pre 7 24; zeros 24; } | put type-7
    { pre 1 40; zeros 40; } | put append-header-40
    { pre 1 56; zeros 56; } | put append-header-56
    pre 1 $((48 + 16 * 4096)) | put append-header-past-the-message
    { pre 5 64; zeros 64; } | put snapshot-header-64
    pre 5 $((56 + 65536 + 8)) | put snapshot-header-configuration-past-the-most
    { pre 5 75; zeros 75; } | put snapshot-header-75
    { pre 3 24; zeros 24; } | put vote-header-24
    { pre 2 32; zeros 32; } | put append-result-header-32
    { pre 100 24; zeros 24; } | put notice-header-24
    # ---- AppendEntries
    append 5 6 0 | put append-previous-term-above
    { append 5 4 1 6:1:8; zeros 8; } | put append-entry-term-above
    { append 5 4 2 4:1:8 3:1:8; zeros 16; } | put append-entry-term-falls
    { append 5 4 1 3:1:8; zeros 8; } | put append-entry-below-the-previous-term
    { append 5 4 1 5:0:8; zeros 8; } | put append-entry-type-0
    { append 5 4 1 5:4:8; zeros 8; } | put append-entry-type-4
    { append 5 4 1 5:1:12; zeros 12; } | put append-entry-of-12-bytes
    append 5 4 1 5:3:0 | put append-configuration-entry-empty
    append 5 4 1 5:3:65544 | put append-configuration-entry-past-the-most
    append 5 4 1 5:1:4104 | put append-entry-one-past-the-limit
    { append 5 4 1 5:1:4096; fill 4096 e; } | put append-entry-at-the-limit
    set -- $(i=0; while [ $i -lt 17 ]; do echo 5:1:4096; i=$((i + 1)); done)
    append 5 4 17 "$@" | put append-entries-past-the-message
    { append 5 4 3 5:1:8 5:1:0 5:2:8; fill 16 e; } | put append-empty-entry-between
    { append 5 4 1 5:3:8; u8 1; u64 1; } | put append-configuration-entry-of-8-bytes
    { u8 2; u64 1; cat "$t/s7"; } >"$t/conf-v2"
    pad8 "$t/conf-v2" >"$t/conf-v2.p"
    { append 5 4 1 5:3:$(wc -c <"$t/conf-v2.p"); cat "$t/conf-v2.p"; } | put append-configuration-entry-version-2
    { append 5 4 1 5:3:$(wc -c <"$t/conf"); cat "$t/conf"; vote 5 7 5 0; } |
        put append-configuration-entry-then-vote
    # ---- InstallSnapshot, and the configurations in its header
    { snapshot_msg 5 6 "$t/conf" 0; } | put snapshot-last-term-above
    { snapshot_msg 5 5 "$t/conf" 0 | head -c 48; u64 32; snapshot_msg 5 5 "$t/conf" 0 | tail -c +57; } |
        put snapshot-configuration-length-unlike-the-header
    snapshot_msg 5 5 "$t/conf" 0 | put snapshot-no-payload
    snapshot_msg 5 5 "$t/conf" 65536 | put snapshot-past-the-message
    { snapshot_msg 5 5 "$t/conf" 16; fill 16 s; vote 5 7 5 0; } | put snapshot-then-vote
    { snapshot_msg $((1000 + 4294967296 + 5)) 5 "$t/conf" 16; fill 16 s; vote 5 7 5 0; } |
        put snapshot-far-above-lifted-then-vote
    # configurations: one damaged field each
    conf_seed() { snapshot_msg 5 5 "$t/c" 0 | put "snapshot-configuration-$1"; }
    { u8 2; u64 1; cat "$t/s7"; } >"$t/c.raw"; pad8 "$t/c.raw" >"$t/c"; conf_seed version-2
    conf 0 "$t/s7" >"$t/c"; conf_seed no-server
    conf 1000 "$t/s7" >"$t/c"; conf_seed more-servers-than-bytes
    # (two servers fit 32 bytes by their count, this one leaves 1 byte)
    server 7 10.0.0.1:701 1 >"$t/s"; conf 2 "$t/s" >"$t/c"; conf_seed server-cut-short
    server 0 h:1 1 >"$t/s"; conf 1 "$t/s" >"$t/c"; conf_seed server-id-0
    { u8 1; u64 1; u64 7; printf 'hhhhhhh'; } >"$t/c"; conf_seed address-without-nul
    server 7 '' 1 >"$t/s"; conf 1 "$t/s" >"$t/c"; conf_seed address-empty
    server 7 "$(fill 255 h)" 1 >"$t/s"; conf 1 "$t/s" >"$t/c"; conf_seed address-the-longest
    server 7 "$(fill 256 h)" 1 >"$t/s"; conf 1 "$t/s" >"$t/c"; conf_seed address-one-past-the-longest
    { u8 1; u64 1; u64 7; printf 'h:1234'; u8 0; } >"$t/c"; conf_seed no-role
    server 7 h:1 3 >"$t/s"; conf 1 "$t/s" >"$t/c"; conf_seed role-3
    { server 7 h:1 2; server 8 h:2 0; } >"$t/s"; conf 2 "$t/s" >"$t/c"; conf_seed spare-and-standby
    { conf 1 "$t/s7"; zeros 8; } >"$t/c"; conf_seed bytes-past-the-padding
    # ---- RequestVote, the results, TimeoutNow, notices
    vote 5 7 6 0 | put vote-last-term-above
    vote 5 7 5 4 | put vote-flags-4
    vote 5 8 5 0 | put vote-for-another-member
    vote 5 7 5 1 | put vote-disrupt-no-transfer
    vote 1001 7 5 1 | put vote-disrupt-transfer-under-way
    vote 2000 7 5 0 | put vote-above-within-the-window
    vote 1002 7 5 3 | put pre-vote-disrupt
    vote_result 5 2 0 | put vote-result-granted-2
    vote_result 5 1 2 | put vote-result-flags-2
    { pre 2 24; u64 2000; u64 0; u64 9; } | put append-result-above-within-the-window
    timeout_now 5 6 | put timeout-now-last-term-above
    notice 1 5 0 0 | put notice-target-0
    notice 2 5 7 1 | put notice-reserved-1
    notice 3 5 7 0 | put notice-kind-3
    notice 0 5 7 0 | put notice-kind-0
    rm -rf "$t"
}

# ---- resp: requests, RESP2 arrays of bulk strings or inline lines
# (tools/serve/resp.c); fuzz/resp_fuzz.c parses them under small limits
# (bulk 64, 8 arguments, inline 32, a request 256) and the server's -------
resp_seeds() {
    printf '*1x\r\n' | put count-letter
    printf '*1:\r\n' | put count-colon
    printf '*\r\n' | put count-no-digit
    printf '*-\r\n' | put count-minus-alone
    printf '*-2\r\n' | put count-minus-2
    printf '*1\rX' | put count-cr-without-lf
    printf '*1\r\n$1\r\nx\rX' | put bulk-cr-without-lf
    printf '*1\r\n$1x\r\n' | put bulk-length-letter
    printf '*%s\r\n' 123456789012345678 | put count-18-digits
    { printf '*8\r\n'; i=0; while [ $i -lt 8 ]; do printf '$1\r\n%s\r\n' $i; i=$((i + 1)); done; } |
        put eight-arguments-the-most
    { printf '*9\r\n'; i=0; while [ $i -lt 9 ]; do printf '$1\r\n%s\r\n' $i; i=$((i + 1)); done; } |
        put nine-arguments
    printf 'a b c d e f g h\r\n' | put inline-eight-words
    printf 'a b c d e f g h i\n' | put inline-nine-words
    printf 'GET\tkey \t value\t\r\n' | put inline-tabs
    printf '\n' | put inline-newline-alone
    printf '\r\n' | put inline-cr-lf-alone
    fill 31 a | { cat; printf '\n'; } | put inline-32-bytes-the-most
    fill 32 a | { cat; printf '\n'; } | put inline-33-bytes
    fill 40 a | put inline-40-bytes-no-newline
    { printf '*1\r\n$64\r\n'; fill 64 v; printf '\r\n'; } | put bulk-64-the-most
    { printf '*1\r\n$65\r\n'; fill 65 v; printf '\r\n'; } | put bulk-65
    { printf '*4\r\n'; i=0; while [ $i -lt 4 ]; do printf '$64\r\n'; fill 64 v; printf '\r\n'; i=$((i + 1)); done; } |
        put request-past-256-bytes
    { printf '*1\r\n$3\r\nGET\r\nPING\n*0\r\n*-1\r\n'; } | put array-inline-empty-null
}

# ---- glob: flags (bit 0 nocase, bits 1-3 the budget of a call, bits 4-5 a
# foreign state to start over from), the pattern's length, the pattern,
# the string (fuzz/glob_fuzz.c; tools/serve/serve_glob.h) ------------------
# glob FLAGS PATTERN STRING
glob() { u8 "$1" ${#2}; printf '%s%s' "$2" "$3"; }
glob_seeds() {
    glob 0 '' '' | put empty-pattern-empty-string
    glob 0 '' abc | put empty-pattern
    glob 1 ABC abc | put nocase-bytes
    glob 1 ABD abc | put nocase-bytes-differ
    glob 0 'a?c' abc | put any-byte
    glob 0 'a?c' ac | put any-byte-none-left
    glob 0 '[\]a]' ']' | put class-escaped-bracket
    glob 1 '[\A]' a | put class-escaped-nocase
    glob 0 '[a-]x' -x | put class-dash-before-the-bracket
    glob 0 '[a-\]' '\' | put class-range-to-a-backslash
    glob 0 'a[' 'a[' | put class-opened-at-the-end
    glob 0 '[\' '\' | put class-backslash-at-the-end
    glob 0 'a**' a | put trailing-stars
    glob 0 'a*b*' ab | put stars-match-nothing
    glob 0 ab a | put string-ends-first
    glob 16 'a*b' axxb | put foreign-token-past-the-pattern
    glob 32 'a*b' axxb | put foreign-byte-past-the-string
    glob 48 'a*b' axxc | put foreign-star-past-the-pattern
    glob 51 '*[^x]?' yxz | put foreign-star-nocase-budget-1
}

# ---- http: how the bytes arrive (bits 0-2: reads of 1 << bits bytes; bit
# 3: a buffer of 64 bytes), then a client's requests (fuzz/http_fuzz.c;
# tools/serve/http_request.h) ----------------------------------------------
http_seeds() {
    { u8 7; printf 'GET\t/\tHTTP/1.1\t\r\n\r\n'; } | put request-line-tabs
    { u8 7; printf 'GET\v/metrics\fHTTP/1.1\n\n'; } | put request-line-vt-ff
    { u8 7; printf 'GET / HTTP/1.10\r\n\r\n'; } | put version-of-9-bytes
    { u8 7; printf 'GET / HTTP/1.a\r\n\r\n'; } | put version-letter
    { u8 7; printf 'GET / HTTP/1./\r\n\r\n'; } | put version-slash
    { u8 7; printf 'GET / HTTP/1.1 x\r\n\r\n'; } | put request-line-four-words
    { u8 7; printf 'GET /x HTTP/1.1\r\n\r\n'; } | put not-found
    { u8 7; printf 'HEAD /metrics?a HTTP/1.0\r\nconnection: close, Keep-Alive\r\n\r\n'; } |
        put head-1.0-keep-alive
    { u8 7; printf 'GET / HTTP/1.1\r\nContent-Length: 0 0\r\nContent-Length:\r\n\r\n'; } |
        put content-length-zeros-then-none
    { u8 7; printf 'GET / HTTP/1.1\r\nContent-Length:\t0\r\nX: y\r\nno colon\r\n\r\n'; } |
        put content-length-zero-tab
}

# ---- export: "KVEXPORT", version, crc32c; chunks of records (type 1,
# count, body length, crc32c; the body; its crc32c); the end chunk (type 2,
# the count of all records) (tools/kv_export.h) ---------------------------
# xhead VERSION [MAGIC]; xchunk TYPE COUNT BODY_LENGTH; xrec KEY VALUE;
# xcrc: a checksum (zeros: fuzz/export_fuzz.c makes them right).
xhead() { printf '%s' "${2:-KVEXPORT}"; u32 "$1"; u32 0; }
xchunk() { u8 "$1"; u64 "$2"; u32 "$3"; u32 0; }
xrec() { u32 ${#1}; u32 ${#2}; printf '%s%s' "$1" "$2"; }
xcrc() { u32 0; }
# xrecords KEY VALUE [KEY VALUE]...: one records chunk of those records.
xrecords() {
    : >"$dest/.body"
    n=0
    while [ $# -ge 2 ]; do xrec "$1" "$2" >>"$dest/.body"; n=$((n + 1)); shift 2; done
    xchunk 1 "$n" "$(wc -c <"$dest/.body")"; cat "$dest/.body"; xcrc
    rm -f "$dest/.body"
}
export_seeds() {
    # Streams the stage's kv export writes: two keys and an empty value;
    # binary keys; a key of the longest length; no key at all.
    if [ -n "$kv" ] && [ -x "$kv" ]; then
        t=$(mktemp -d)
        for kvp in "a 1" "b" "c 3"; do
            "$kv" "$t/db" put "${kvp%% *}" "$(echo "$kvp" | cut -s -d' ' -f2)" >/dev/null 2>&1 || true
        done
        "$kv" "$t/db" export "$dest/kv-export-three-keys" >/dev/null 2>&1 || true
        "$kv" -x "$t/bin" put 00ff00 00 >/dev/null 2>&1 || true
        "$kv" -x "$t/bin" put ff 00010203 >/dev/null 2>&1 || true
        "$kv" "$t/bin" export "$dest/kv-export-binary-keys" >/dev/null 2>&1 || true
        "$kv" "$t/long" put "$(fill 65535 k)" v >/dev/null 2>&1 || true
        "$kv" "$t/long" put a v >/dev/null 2>&1 || true
        "$kv" "$t/long" export "$dest/kv-export-longest-key" >/dev/null 2>&1 || true
        "$kv" "$t/none" put a 1 >/dev/null 2>&1 && "$kv" "$t/none" del a >/dev/null 2>&1 || true
        "$kv" "$t/none" export "$dest/kv-export-no-key" >/dev/null 2>&1 || true
        rm -rf "$t"
    fi
    # The seeds below are the same for every stage: where an earlier call
    # wrote them (KV_SEEDS_EXPORT_FIELDS, its DEST), they are copied (the
    # kv-export-* streams are that stage's, and not copied).
    if [ -n "${KV_SEEDS_EXPORT_FIELDS:-}" ] && [ -f "$KV_SEEDS_EXPORT_FIELDS/end-chunk-twice" ]; then
        for f in "$KV_SEEDS_EXPORT_FIELDS"/*; do
            case ${f##*/} in kv-export-*) ;; *) cp "$f" "$dest/" ;; esac
        done
        return 0
    fi
    # ---- the header
    xhead 1 | head -c 15 | put header-15-bytes
    { xhead 1 KVS03WAL; xchunk 2 0 0; } | put header-of-a-wal-segment
    { xhead 1 KVEXPORX; xchunk 2 0 0; } | put header-unknown-magic
    { xhead 2; xchunk 2 0 0; } | put header-version-2
    # ---- chunk headers
    { xhead 1; xchunk 2 0 0 | head -c 16; } | put end-chunk-cut-by-a-byte
    { xhead 1; xchunk 2 0 1; } | put end-chunk-body-length-1
    { xhead 1; xchunk 3 1 9; xrec k ''; xcrc; xchunk 2 1 0; } | put chunk-type-3
    { xhead 1; xchunk 0 1 9; xrec k ''; xcrc; xchunk 2 1 0; } | put chunk-type-0
    { xhead 1; xchunk 1 1 4294967295; xrec k ''; } | put chunk-body-length-the-largest
    { xhead 1; xchunk 1 1 $((1048576 + 8 + 65535 + 67108864)); xrec k ''; } | put chunk-body-the-most
    { xhead 1; xchunk 1 0 9; xrec k ''; xcrc; xchunk 2 0 0; } | put chunk-count-0
    { xhead 1; xchunk 1 2 9; xrec k ''; xcrc; xchunk 2 2 0; } | put chunk-count-past-its-body
    { xhead 1; xchunk 1 1 9; xrec k ''; } | put chunk-cut-before-its-checksum
    # ---- records
    { xhead 1; xchunk 1 2 18; xrec abc ''; u8 0 0 0 0 0 0 0; xcrc; xchunk 2 2 0; } |
        put record-cut-in-its-lengths
    { xhead 1; xchunk 1 1 9; u32 0; u32 1; printf v; xcrc; xchunk 2 1 0; } | put record-key-empty
    { xhead 1; xchunk 1 1 9; u32 65536; u32 0; printf k; xcrc; xchunk 2 1 0; } |
        put record-key-one-past-the-longest
    { xhead 1; xchunk 1 1 9; u32 1; u32 67108865; printf k; xcrc; xchunk 2 1 0; } |
        put record-value-one-past-the-longest
    { xhead 1; xchunk 1 1 10; u32 5; u32 0; printf ke; xcrc; xchunk 2 1 0; } |
        put record-past-its-body
    { xhead 1; xchunk 1 1 11; xrec k ''; u8 0 0; xcrc; xchunk 2 1 0; } | put body-bytes-after-its-records
    { xhead 1; xrecords a 1 a 2; xchunk 2 2 0; } | put keys-equal
    { xhead 1; xrecords b 1 a 2; xchunk 2 2 0; } | put keys-descending
    { xhead 1; xrecords ab 1; xrecords a 2; xchunk 2 2 0; } | put key-before-the-previous-chunks-last
    { xhead 1; xrecords ab 1; xrecords ab 2; xchunk 2 2 0; } | put key-equal-to-the-previous-chunks-last
    { xhead 1; xrecords a 1 b ''; xrecords ba 3 c 4; xchunk 2 4 0; } | put two-chunks
    { xhead 1; xrecords a 1; xrecords b 2; } | put two-chunks-no-end
    { xhead 1; xrecords a 1; xrecords b 2; xchunk 2 3 0; } | put two-chunks-end-says-3
    { xhead 1; xrecords a 1; xchunk 2 1 0; xchunk 2 1 0; } | put end-chunk-twice
}

# ---- log, segment: a 16-byte file header, then log records --------------
# (common/file_header.h, common/log_record.h; data.log of stage 01, a
# segment of stage 02).  Checksums are zeros: the harnesses read each
# input as it is (every checksum wrong) and with every checksum made right.
# lhead [VERSION [MAGIC]]: the header (MAGIC: the target's).
lhead() { printf '%s' "${2:-$magic}"; u32 "${1:-1}"; u32 0; }
# lrec KEY VALUE: a put; ldel KEY: a delete; lseal AT: a seal at offset AT;
# lraw KLEN VLEN: a record header alone, its lengths as given.
lrec() { u32 0; u16 ${#1}; u32 ${#2}; printf '%s%s' "$1" "$2"; }
ldel() { u32 0; u16 ${#1}; u32 0xffffffff; printf '%s' "$1"; }
lseal() { u32 0; u16 0; u32 0xfffffffe; u64 "$1"; }
lraw() { u32 0; u16 "$1"; u32 "$2"; }
log_seeds() {
    magic=$1
    # ---- the header
    lhead | put header-alone
    lhead | head -c 15 | put header-cut-by-a-byte
    { lhead; u8 0; } | put header-then-one-byte
    { lhead 2; lrec a 1; } | put header-version-2
    { lhead 1 KVS03WAL; lrec a 1; } | put header-of-a-wal-segment
    { printf 'KV\\S'; u8 1 0x7f; printf 'OG'; u32 1; u32 0; lrec a 1; } |
        put header-unknown-magic-escaped
    # ---- the record header, field by field
    { lhead; lrec a 1; lraw 1 1 | head -c 9; } | put record-header-cut-by-a-byte
    { lhead; lraw 0 5; printf 'abcde'; lrec a 1; } | put key-length-0
    { lhead; lrec "$(fill 65535 k)" v; lrec a 1; } | put key-length-the-largest
    { lhead; lraw 1 67108864; printf k; } | put value-length-the-largest-past-the-end
    { lhead; lraw 1 67108865; printf kv; lrec a 1; } | put value-length-one-past-the-largest
    { lhead; lraw 1 0xfffffffd; printf kv; lrec a 1; } | put value-length-below-a-seal
    { lhead; lrec a ''; ldel a; ldel b; } | put empty-value-and-deletes
    { lhead; ldel a | head -c 10; } | put delete-cut-in-its-key
    # ---- seals (stage 02 closes a segment with one; stage 01 writes none)
    { lhead; lrec a 1; lseal 28; } | put sealed
    { lhead; lrec a 1; lseal 27; } | put seal-naming-another-offset
    { lhead; lrec a 1; lseal 28; lrec b 2; } | put seal-then-a-record
    { lhead; lrec a 1; lseal 28 | head -c 17; } | put seal-cut-by-a-byte
    { lhead; lraw 0 0xfffffffe; u64 16; u8 0; } | put seal-one-byte-long
    # ---- damage, then records: the search for the next one
    { lhead; lrec a 1; zeros 40; lrec b 2; lrec c 3; } | put zeros-then-records
    { lhead; lrec a 1; fill 30 x; lrec b 2; } | put garbage-then-a-record
    # Damage no checksum mends (a key length of 0) first, so that kv check
    # searches past it in both readings, among more candidates than its
    # first room holds (1,024): the header of a record of 3,011 bytes,
    # ending after the 2,200 short ones a run of 01 00 00 00 01 00 makes
    # (two every 6 bytes: key and value lengths 1 and 1, 256 and 256), so
    # they are not found in the order they end
    { lhead; lraw 0 5; printf abcde; lraw 1 3000; printf '\001\000\000\000\001\000%.0s' $(seq 1100)
      lrec b 2; } | put more-candidates-than-a-search-first-holds

}

# ---- hint: a 4-byte length, a hint file, then its segment (hint.h) -------
# hhead ID SEGMENT_BYTES [VERSION [MAGIC]]; hentry KLEN SIZE KEY (KLEN as a
# varint, or raw bytes given as hraw); htrail COUNT: the count and a crc32c
# of zeros (fuzz/hint_fuzz.c makes it right).
hhead() { printf '%s' "${4:-KVHINT02}"; u32 "${3:-1}"; u32 "$1"; u64 "$2"; }
varint() {
    left=$1  # (not v: u8 sets it)
    while [ "$left" -ge 128 ]; do u8 $(((left & 127) | 128)); left=$((left >> 7)); done
    u8 "$left"
}
hentry() { varint "$1"; varint "$2"; printf '%s' "$3"; }
htrail() { u64 "$1"; u32 0; }
# nest HINT_FILE SEGMENT_FILE: the harness's input of both.
nest() { u32 "$(wc -c <"$1")"; cat "$1" "$2"; }
hint_seeds() {
    # A hint alone: the harness loads it for the segment id and size its
    # own header names.  One entry, a record of 27 bytes from offset 16.
    { hhead 1 43; hentry 1 27 a; htrail 1; } | put hint-one-entry
    { hhead 1 43; hentry 1 27 a; htrail 1; } | head -c 35 | put hint-one-byte-short-of-the-least
    { hhead 1 16; hentry 1 27 a; htrail 1; } | put hint-larger-than-its-segment-allows
    { hhead 1 43 1 KVHINT03; hentry 1 27 a; htrail 1; } | put hint-magic
    { hhead 1 43 2; hentry 1 27 a; htrail 1; } | put hint-version-2
    { hhead 1 43; hentry 1 27 a; htrail 2; } | put hint-count-2-of-1
    { hhead 1 43; u8 255 255 255 255 255 255 255 255 255 2; varint 27; printf a; htrail 1; } |
        put hint-key-length-varint-past-64-bits
    { hhead 1 43; u8 128 128 128 128 16; varint 27; printf a; htrail 1; } |
        put hint-key-length-varint-past-32-bits
    { hhead 1 43; u8 129 128 128 128 128 0; varint 27; printf a; htrail 1; } |
        put hint-key-length-varint-of-6-bytes
    { hhead 1 43; u8 128; htrail 1; } | put hint-entries-end-in-a-varint
    { hhead 1 43; hentry 0 27 ''; htrail 1; } | put hint-key-length-0
    { hhead 1 65600; hentry 65536 27 k; htrail 1; } | put hint-key-length-one-past-the-largest
    { hhead 1 43; hentry 5 27 ab; htrail 1; } | put hint-key-past-the-entries
    { hhead 1 26; hentry 1 10 a; htrail 1; } | put hint-record-shorter-than-its-key
    { hhead 1 67108900; hentry 1 67108876 a; htrail 1; } | put hint-value-one-past-the-largest
    { hhead 1 30; hentry 1 27 a; htrail 1; } | put hint-record-past-the-segment
    { hhead 1 50; hentry 1 27 a; htrail 1; } | put hint-records-short-of-the-segment
    # A hint and a segment (the harness makes the hint name segment 1 and
    # the segment's size, and, for the engine, every checksum right): the
    # record where the hint puts key a is a delete of a, or a put of b.
    t=$dest/.hint
    { hhead 1 27; hentry 1 11 a; htrail 1; } >"$t"
    { lhead 1 KVS02SEG; ldel a; } >"$t.seg"
    nest "$t" "$t.seg" | put hint-names-a-delete
    { hhead 1 28; hentry 1 12 a; htrail 1; } >"$t"
    { lhead 1 KVS02SEG; lrec b 1; } >"$t.seg"
    nest "$t" "$t.seg" | put hint-names-another-key
    # The last entry's record and the 18 bytes after it, which a merge's
    # hint counts when they are the segment's seal: here another record,
    # and a seal naming another offset.
    { hhead 1 46; hentry 1 30 a; htrail 1; } >"$t"
    { lhead 1 KVS02SEG; lrec a 1; lrec b 1234567; } >"$t.seg"
    nest "$t" "$t.seg" | put hint-last-entry-two-records
    { lhead 1 KVS02SEG; lrec a 1; lseal 99; } >"$t.seg"
    nest "$t" "$t.seg" | put hint-last-entry-seal-naming-another-offset
    rm -f "$t" "$t.seg"
}

# ---- identity: "kvstages stage=S format=F crc32c=HHHHHHHH\n" -------------
# (common/db_identity.h).  The digits are zeros: fuzz/identity_fuzz.c
# makes them right where the line has its fields.
# idline STAGE FORMAT [TAIL]: the line, TAIL in place of the newline.
idline() { printf 'kvstages stage=%s format=%s crc32c=00000000%b' "$1" "$2" "${3-\n}"; }
identity_seeds() {
    idline "$(fill 32 a)" 1 | put stage-name-one-past-the-longest
    idline '' 1 | put stage-name-empty
    printf 'kvstages stage=01-log formats=1 crc32c=00000000\n' | put stage-name-then-no-format
    idline 01-log 01 | put format-leading-zero
    idline 01-log '' | put format-empty
    idline 01-log 4294967296 | put format-one-past-the-largest
    idline 01-log 10000000000 | put format-eleven-digits
    printf 'kvstages stage=01-log format=1 crc=00000000\n' | put format-then-no-crc32c
    printf 'kvstages stage=01-log format=1 crc32c=0000000G\n' | put crc32c-not-hex
    printf 'kvstages stage=01-log format=1 crc32c=ABCDEF00\n' | put crc32c-upper-case
    printf 'kvstages stage=01-log format=1 crc32c=0000000' | put crc32c-cut-short
    idline 01-log 1 '' | put line-without-its-newline
    idline 01-log 1 '\r\n' | put line-ending-in-cr-lf
    idline 01-log 1 '\n\n' | put line-then-a-newline
    idline "$(fill 31 a)" 4294967295 | put longest-line
    { idline 01-log 1; fill 200 x; } | put longer-than-any-identity
    printf 'kvstages stage=' | put prefix-alone
    printf 'kvstages Stage=01-log format=1 crc32c=00000000\n' | put prefix-upper-case
    printf 'kvstages stage=01-log{ format=1 crc32c=00000000\n' | put stage-name-then-a-brace
    printf 'kvstages stage=01-log format=12' | put format-at-the-end
    printf 'kvstages stage=01-log format=1a crc32c=00000000\n' | put format-then-a-letter
    printf 'kvstages stage=01-log format=1 crc32c=0000000g\n' | put crc32c-past-f
}

case $target in
identity) identity_seeds ;;
log) log_seeds KVS01LOG ;;
segment) log_seeds KVS02SEG ;;
hint) hint_seeds ;;
replica_dir) replica_dir_seeds ;;
snapshot) snapshot_seeds ;;
member_note) member_note_seeds ;;
command) command_seeds ;;
peer_hello) peer_hello_seeds ;;
peer_frame) peer_frame_seeds ;;
resp) resp_seeds ;;
glob) glob_seeds ;;
http) http_seeds ;;
export) export_seeds ;;
*) echo "fuzz_seeds_fields: no seeds for target $target" >&2; exit 1 ;;
esac
