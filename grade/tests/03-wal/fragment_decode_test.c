/*
 * fragment_decode_test.c: exercise fragment_decode, wal_fragment_decode
 * (stages/03-wal/wal/wal_reader.c): one fragment read inside [p, limit),
 * checked against its checksum.
 */
#include <string.h>

#include "coding.h"
#include "ex_wal.h"
#include "exercise.h"
#include "kv.h"
#include "wal_format.h"
#include "wal_reader.h"

static int decode(const uint8_t *bytes, size_t n, uint32_t left, wal_fragment *f, const char **why)
{
    uint8_t *p = ex_guarded_copy(bytes, n);
    memset(f, 0, sizeof *f);
    *why = NULL;
    return wal_fragment_decode(p, p + n, left, f, why);
}

static void fragment_decode_each_type(void)
{
    for (int type = WAL_FULL; type <= WAL_LAST; type++) {
        uint8_t b[32];
        ex_wal_fragment(b, "payload", 7, type);
        wal_fragment f;
        const char *why;
        ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of a 14-byte fragment of type %d ending exactly at "
                        "limit: WAL_FRAGMENT_OK, f.data after the 7-byte header; nothing read "
                        "past limit", type);
        int d = decode(b, 14, WAL_BLOCK_SIZE, &f, &why);
        EX_CHECK(d == WAL_FRAGMENT_OK, EX_RULE(6, "OK") "a valid fragment of type %d decodes: "
                 "WAL_FRAGMENT_OK "
                 "(got %d, why: %s)", type, d, why ? why : "-");
        EX_CHECK(f.type == type && f.len == 7 && memcmp(f.data, "payload", 7) == 0,
                 EX_RULE(6, "*f") "f.type, f.len and f.data (pointing after the 7-byte header) "
                 "describe it");
    }
}

static void fragment_decode_short(void)
{
    uint8_t b[32];
    ex_wal_fragment(b, "payload", 7, WAL_FULL);
    for (size_t have = 0; have < 14; have++) {
        wal_fragment f;
        const char *why;
        ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of "
                   "the first %zu of a fragment's 14 bytes: "
                   "WAL_FRAGMENT_SHORT, and nothing past limit may be read", have);
        int d = decode(b, have, WAL_BLOCK_SIZE, &f, &why);
        EX_CHECK(d == WAL_FRAGMENT_SHORT,
                 EX_RULE(1, "SHORT") "%zu of a fragment's 14 bytes: WAL_FRAGMENT_SHORT, the "
                 "header or the data "
                 "runs past limit (got %d)", have, d);
    }
}

static void fragment_decode_zeros_are_no_fragment(void)
{
    uint8_t z[32] = {0};
    wal_fragment f;
    const char *why;
    ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of 32 zero bytes, then of a header of type 0 whose CRC "
                    "byte is 0x11: never a fragment, BAD, with different *why for each");
    EX_CHECK(decode(z, 32, WAL_BLOCK_SIZE, &f, &why) == WAL_FRAGMENT_BAD,
             EX_RULE(2, "seven zero bytes") "seven zero bytes are never a fragment (what a lost "
             "write leaves): BAD");
    EX_CHECK(why != NULL, EX_RULE(2, "seven zero bytes") "BAD sets *why");
    const char *zeros_why = why;
    uint8_t b[32] = {0};
    b[0] = 0x11; /* not zeros: a header whose type (0) is unknown */
    EX_CHECK(decode(b, 32, WAL_BLOCK_SIZE, &f, &why) == WAL_FRAGMENT_BAD && why != NULL,
             EX_RULE(3, "a type not 1..4") "a header of type 0 (its other bytes not all zero) "
             "is BAD, and sets *why");
    EX_CHECK(strcmp(zeros_why, why) != 0,
             EX_RULE(2, "seven zero bytes, a reason of their own") "*why tells seven zero bytes "
             "(a write a crash lost) apart from a header of an "
             "unknown type (bytes that are damaged): they get different reasons (both got "
             "\"%s\")", why);
}

static void fragment_decode_bad_types(void)
{
    int bad[] = {0, 5, 255};
    for (size_t i = 0; i < 3; i++) {
        uint8_t b[32];
        ex_wal_fragment(b, "x", 1, bad[i]);
        wal_fragment f;
        const char *why;
        ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of an 8-byte fragment of type %d with a matching "
                        "checksum: a type outside 1..4 is BAD", bad[i]);
        EX_CHECK(decode(b, 8, WAL_BLOCK_SIZE, &f, &why) == WAL_FRAGMENT_BAD,
                 EX_RULE(3, "a type not 1..4") "type %d is no fragment type (1..4), even with a "
                 "matching checksum: BAD",
                 bad[i]);
    }
}

static void fragment_decode_length_past_the_block(void)
{
    uint8_t b[64];
    ex_wal_fragment(b, "0123456789", 10, WAL_FULL);
    wal_fragment f;
    const char *why;
    ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of the first 12 bytes of a 17-byte fragment with 16 "
                    "bytes left in its block: its length runs past the block, and the bytes "
                    "given end first");
    int d = decode(b, 12, 16, &f, &why);
    EX_CHECK(d == WAL_FRAGMENT_BAD,
             EX_RULE(4, "a length past its block") "a fragment whose length runs past the end of "
             "its block is BAD wherever the file ends, even where the bytes given end before "
             "the data: SHORT would let a damaged length pass for a torn write (got %d)", d);
    ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of a 17-byte fragment with 16 bytes left in its block: "
                    "a length past the block is BAD, even if the bytes are there");
    EX_CHECK(decode(b, 17, 16, &f, &why) == WAL_FRAGMENT_BAD,
             EX_RULE(4, "a length past its block") "invariant 1: a fragment whose length runs "
             "past the end of its block (block_left) "
             "is BAD, even if the bytes are there");
    EX_CHECK(why != NULL && why[0] != '\0', EX_RULE(4, "a length past its block") "BAD sets "
             "*why: here, a length past the block");
    ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of a 17-byte fragment with 17 bytes left in its block: "
                    "ending exactly at the block's end is OK");
    EX_CHECK(decode(b, 17, 17, &f, &why) == WAL_FRAGMENT_OK,
             EX_RULE(4, "a length past its block") "a fragment that ends exactly at the end of "
             "its block is OK");
}

static void fragment_decode_checksum(void)
{
    uint8_t b[32];
    ex_wal_fragment(b, "payload", 7, WAL_MIDDLE);
    for (size_t i = 0; i < 14; i++) {
        if (i == 6)
            continue; /* the type: see fragment_decode_bad_types */
        uint8_t c[32];
        memcpy(c, b, 14);
        c[i] ^= (i == 4 || i == 5) ? 0x01 : 0x40;
        wal_fragment f;
        const char *why;
        ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of a 14-byte fragment with byte %zu changed: the "
                        "checksum covers length, type and data, so BAD (or SHORT for a longer "
                        "length); nothing read past limit", i);
        int d = decode(c, 14, WAL_BLOCK_SIZE, &f, &why);
        EX_CHECK(d == WAL_FRAGMENT_BAD || (d == WAL_FRAGMENT_SHORT && (i == 4 || i == 5)),
                 EX_RULE(5, "the checksum") "a changed byte %zu (%s) is caught by the checksum, "
                 "which covers the length, "
                 "the type and the data: a reader must never accept a fragment whose CRC is "
                 "wrong (got %d)", i, i < 4 ? "the checksum" : i < 7 ? "the length" : "the data",
                 d);
    }
    uint8_t t[32];
    memcpy(t, b, 14);
    t[6] = WAL_LAST; /* another valid type: only the checksum can tell */
    wal_fragment f;
    const char *why;
    ex_context(EX_RULE(7, "nothing outside [p, limit) read") "wal_fragment_decode of a 14-byte MIDDLE fragment whose type byte became LAST: "
                    "only the checksum can tell, so BAD");
    EX_CHECK(decode(t, 14, WAL_BLOCK_SIZE, &f, &why) == WAL_FRAGMENT_BAD,
             EX_RULE(5, "the checksum covers the type") "a fragment whose type changed to "
             "another valid type is caught by the checksum");
}

static const harness_test fragment_decode_tests[] = {
    HARNESS_TEST(fragment_decode_each_type),
    HARNESS_TEST(fragment_decode_short),
    HARNESS_TEST(fragment_decode_zeros_are_no_fragment),
    HARNESS_TEST(fragment_decode_bad_types),
    HARNESS_TEST(fragment_decode_length_past_the_block),
    HARNESS_TEST(fragment_decode_checksum),
};
const harness_suite fragment_decode_suite = HARNESS_SUITE("fragment_decode", fragment_decode_tests);
