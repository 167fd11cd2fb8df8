/*
 * block_entry_test.c: exercise block_entry, block_entry_decode
 * (stages/05-blocks/blocks/block.c): an entry's three lengths read inside
 * [p, limit), and checked to fit.
 */
#include <stddef.h>
#include <string.h>

#include "block.h"
#include "coding.h"
#include "exercise.h"
#include "kv.h"

static const uint8_t *decode(const uint8_t *bytes, size_t n, uint32_t *s, uint32_t *u, uint32_t *v)
{
    uint8_t *p = ex_guarded_copy(bytes, n);
    const uint8_t *r = block_entry_decode(p, p + n, s, u, v);
    return r == NULL ? NULL : bytes + (r - p);
}

static void block_entry_small_lengths(void)
{
    uint8_t e[] = {3, 2, 4, 'x', 'y', 'v', 'a', 'l', 'u'};
    uint32_t s, u, v;
    harness_context("block_entry_decode of a 9-byte entry that ends at limit");
    const uint8_t *k = decode(e, sizeof e, &s, &u, &v);
    EX_CHECK(k == e + 3, EX_RULE(1, "where the unshared bytes start") "one-byte varints: the "
             "key delta starts after 3 bytes");
    EX_CHECK(s == 3 && u == 2 && v == 4, EX_RULE(1, "the three lengths") "shared 3, unshared 2, "
             "value_len 4 (got %u, %u, %u)", s,
             u, v);
}

static void block_entry_varint_lengths(void)
{
    uint8_t e[512];
    uint8_t *p = coding_put_varint32(e, 300);
    p = coding_put_varint32(p, 130);
    p = coding_put_varint32(p, 200);
    size_t head = (size_t)(p - e);
    memset(p, 'k', 330);
    uint32_t s, u, v;
    const uint8_t *k = decode(e, head + 330, &s, &u, &v);
    EX_CHECK(k == e + head && s == 300 && u == 130 && v == 200,
             EX_RULE(1, "the three lengths") "lengths of more than one varint byte: shared 300, "
             "unshared 130, value_len 200 "
             "(got %u, %u, %u)", s, u, v);
}

static void block_entry_one_long_length(void)
{
    /* One of the three lengths takes two varint bytes (200 = 0xc8 0x01),
     * the other two one: the one-byte shortcut must look at all three
     * first bytes, since any of them may have its high bit set. */
    static const char *const names[3] = {"shared", "unshared", "value_len"};
    for (int i = 0; i < 3; i++) {
        uint32_t want[3] = {5, 6, 7};
        want[i] = 200;
        uint8_t e[600];
        uint8_t *p = e;
        for (int j = 0; j < 3; j++)
            p = coding_put_varint32(p, want[j]);
        size_t head = (size_t)(p - e);
        memset(p, 'k', want[1] + want[2]);
        uint32_t s, u, v;
        harness_context("block_entry_decode of an entry whose %s is 200 (two varint bytes) and "
                        "the other lengths one byte each", names[i]);
        const uint8_t *k = decode(e, head + want[1] + want[2], &s, &u, &v);
        EX_CHECK(k == e + head && s == want[0] && u == want[1] && v == want[2],
                 EX_RULE(1, "the three lengths") "a %s of 200 takes two varint bytes (0xc8 "
                 "0x01) though the other lengths "
                 "take one: shared %u, unshared %u, value_len %u, the key delta after %zu "
                 "bytes (got %u, %u, %u after %td): a first byte of 128 or more continues "
                 "its varint, whichever of the three it is",
                 names[i], want[0], want[1], want[2], head, s, u, v, k == NULL ? -1 : k - e);
    }
}

static void block_entry_first_bytes_exactly_128(void)
{
    /* shared 0, unshared 0, value_len 128 (0x80 0x01): the three first
     * bytes are 0x00 0x00 0x80, whose OR is exactly 128: a byte of 128
     * has its high bit set (a varint that goes on), so the one-byte
     * shortcut is for bytes below 128 only. */
    uint8_t e[4 + 128];
    uint8_t *p = coding_put_varint32(e, 0);
    p = coding_put_varint32(p, 0);
    p = coding_put_varint32(p, 128);
    size_t head = (size_t)(p - e);
    memset(p, 'v', 128);
    uint32_t s = 99, u = 99, v = 99;
    harness_context("block_entry_decode of an entry with shared 0, unshared 0, value_len 128 "
                    "(first bytes 00 00 80): a byte >= 128 is a varint that goes on");
    const uint8_t *k = decode(e, head + 128, &s, &u, &v);
    EX_CHECK(k == e + head && s == 0 && u == 0 && v == 128,
             EX_RULE(1, "the three lengths") "shared 0, unshared 0, value_len 128 (its varint "
             "0x80 0x01 is two bytes: a first "
             "byte of 128 has the high bit set, so the one-byte shortcut, which reads each "
             "length as one byte, holds only while all three are below 128), the key delta "
             "after 4 bytes (got %u, %u, %u, after %td bytes)", s, u, v,
             k == NULL ? (ptrdiff_t)-1 : k - e);
}

static void block_entry_must_fit(void)
{
    uint8_t e[] = {0, 5, 6, 'a', 'b', 'c', 'd', 'e', '1', '2', '3', '4', '5', '6'};
    uint32_t s, u, v;
    EX_CHECK(decode(e, sizeof e, &s, &u, &v) == e + 3, EX_RULE(3, "an entry that fits") "an "
             "entry that ends at limit fits");
    for (size_t n = 0; n < sizeof e; n++) {
        ex_context(EX_RULE(4, "nothing outside [p, limit) read") "block_entry_decode of "
                   "the first %zu bytes of a 14-byte entry: "
                   "nothing past limit may be read", n);
        EX_CHECK(decode(e, n, &s, &u, &v) == NULL,
                 EX_RULE(2, "a varint or the bytes past limit: NULL") "an entry whose lengths "
                 "or whose unshared key bytes and value run past limit "
                 "(%zu of 14 bytes) is NULL", n);
    }
    uint8_t big[] = {0, 0x80, 0x80, 0x80, 0x80, 0x08, 1, 'x'};
    harness_context("block_entry_decode of an entry whose unshared length is 2^31");
    EX_CHECK(decode(big, sizeof big, &s, &u, &v) == NULL,
             EX_RULE(3, "the unshared bytes and the value fit before limit") "a huge unshared "
             "length is checked against what is left, without overflow: NULL");
    /* unshared 2^32 - 1 and a value of 2: their sum wraps to 1 in 32 bits. */
    uint8_t wrap[] = {0, 0xff, 0xff, 0xff, 0xff, 0x0f, 2, 'x', 'y'};
    harness_context("block_entry_decode of an entry whose unshared length is 2^32 - 1 and "
                    "value length 2, 3 bytes left");
    EX_CHECK(decode(wrap, sizeof wrap, &s, &u, &v) == NULL,
             EX_RULE(3, "the two lengths added in 64 bits") "an unshared length of 2^32 - 1 and "
             "a value of 2 bytes do not fit in the 2 bytes left: their sum, added in 32 bits, "
             "wraps to 1; add them in 64 bits: NULL");
}

static const harness_test block_entry_tests[] = {
    HARNESS_TEST(block_entry_small_lengths),
    HARNESS_TEST(block_entry_varint_lengths),
    HARNESS_TEST(block_entry_one_long_length),
    HARNESS_TEST(block_entry_first_bytes_exactly_128),
    HARNESS_TEST(block_entry_must_fit),
};
const harness_suite block_entry_suite = HARNESS_SUITE("block_entry", block_entry_tests);
