/*
 * resync_test.c: exercise resync, wal_resync_block
 * (stages/03-wal/wal/wal_resync.c): after damage, the first offset of a block
 * where a valid fragment starts, as a byte-by-byte search would find it.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "ex_wal.h"
#include "exercise.h"
#include "kv.h"
#include "wal_format.h"
#include "wal_resync.h"

/* The byte-by-byte search, the tests' own: the first q in [0, n) where a
 * fragment with a known type, room in its block and in [0, n), and a
 * matching checksum starts. */
static size_t slow_search(const uint8_t *p, size_t n, uint32_t at)
{
    for (size_t q = 0; q + WAL_HEADER_SIZE <= n; q++) {
        int type = p[q + 6];
        uint32_t len = coding_get_u16(p + q + 4);
        if (type < 1 || type > 4 || WAL_HEADER_SIZE + len > WAL_BLOCK_SIZE - (at + q) ||
            q + WAL_HEADER_SIZE + len > n)
            continue;
        if (crc32c_value(p + q + 4, 3 + len) == coding_get_u32(p + q))
            return q;
    }
    return n;
}

static void resync_check(const uint8_t *p, size_t n, uint32_t at, const char *what)
{
    uint8_t *g = ex_guarded_copy(p, n);
    ex_context(EX_RULE(3, "nothing outside p[0, n) read") "wal_resync_block over %zu bytes "
               "at block offset %u (%s): the first valid "
               "fragment's offset; nothing past the bytes given is read", n, at, what);
    size_t got = wal_resync_block(g, n, at);
    size_t want = slow_search(p, n, at);
    EX_CHECK(got == want, "%s: " EX_RULE(1, "the first valid fragment") "the first valid fragment "
             "starts at %zu (a byte-by-byte search "
             "finds it there), got %zu%s", what, want, got,
             got < want ? ": a candidate whose checksum does not match, or that does not fit "
                          "its block or the bytes given, is no fragment"
                        : ": an earlier fragment was missed");
}

static void resync_finds_a_fragment_after_garbage(void)
{
    EX_BOUND(3, EX_RULES("1 and 2", "the first valid fragment, or n") "wal_resync_block returns: it looks at each offset of [0, n) once, moving "
                "forward");
    uint8_t b[4096];
    uint64_t r = 12345;
    for (size_t i = 0; i < sizeof b; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        b[i] = (uint8_t)r;
    }
    ex_wal_fragment(b + 3001, "found-me", 8, WAL_FULL);
    resync_check(b, sizeof b, 0, "random bytes, then a fragment at 3001");
    ex_wal_fragment(b + 77, "earlier", 7, WAL_MIDDLE);
    resync_check(b, sizeof b, 0, "an earlier fragment at 77, of any type");
}

static void resync_none_in_zeros(void)
{
    EX_BOUND(3, EX_RULES("1 and 2", "the first valid fragment, or n") "wal_resync_block returns: it looks at each offset of [0, n) once, moving "
                "forward");
    uint8_t *b = calloc(1, WAL_BLOCK_SIZE);
    resync_check(b, WAL_BLOCK_SIZE, 0,
                 EX_RULE(2, "n when there is none") "a block of zeros: no fragment, the answer "
                 "is n");
    ex_wal_fragment(b + 30000, "late", 4, WAL_LAST);
    resync_check(b, WAL_BLOCK_SIZE, 0, "zeros, then a fragment at 30000");
    free(b);
}

static void resync_respects_the_block_and_the_bytes_given(void)
{
    EX_BOUND(3, EX_RULES("1 and 2", "the first valid fragment, or n") "wal_resync_block returns: it looks at each offset of [0, n) once, moving "
                "forward");
    uint8_t b[600];
    memset(b, 0x55, sizeof b);
    /* A valid fragment of 100 data bytes at 400: it needs 107 bytes. */
    ex_wal_fragment(b + 400, b + 500, 100, WAL_FULL);
    resync_check(b, 507, 0, "a fragment that ends exactly at n");
    resync_check(b, 506, 0, "a fragment one byte past n: not whole within the bytes given");
    resync_check(b, 507, WAL_BLOCK_SIZE - 507, "a fragment that ends exactly at the block's end");
}

static void resync_many_candidates(void)
{
    EX_BOUND(3, EX_RULES("1 and 2", "the first valid fragment, or n") "wal_resync_block returns: it looks at each offset of [0, n) once, moving "
                "forward");
    /* Bytes 0x01: every offset has a possible type and length (257). */
    uint8_t *b = malloc(WAL_BLOCK_SIZE);
    memset(b, 0x01, WAL_BLOCK_SIZE);
    resync_check(b, WAL_BLOCK_SIZE, 0, EX_RULE(2, "n when there is none") "a block of bytes "
                 "0x01: every offset a candidate, none "
                 "valid");
    ex_wal_fragment(b + 20000, b, 300, WAL_FULL);
    resync_check(b, WAL_BLOCK_SIZE, 0, "bytes 0x01, then a fragment at 20000");
    free(b);
}

static void resync_random_blocks(void)
{
    EX_BOUND(3, EX_RULES("1 and 2", "the first valid fragment, or n") "wal_resync_block returns: it looks at each offset of [0, n) once, moving "
                "forward");
    uint8_t *b = malloc(WAL_BLOCK_SIZE);
    uint64_t r = 99;
    for (int round = 0; round < 40; round++) {
        for (size_t i = 0; i < WAL_BLOCK_SIZE; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            b[i] = (r >> 40) % 5 == 0 ? 0 : (uint8_t)r;
        }
        int frags = (int)(r % 4);
        for (int k = 0; k < frags; k++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            size_t at = (size_t)(r % (WAL_BLOCK_SIZE - 400));
            ex_wal_fragment(b + at, b + (at + 7) % 1000, (uint32_t)(r >> 32) % 300,
                            1 + (int)((r >> 8) % 4));
        }
        size_t from = (size_t)(r % 1000);
        resync_check(b + from, WAL_BLOCK_SIZE - from, (uint32_t)from,
                     "random bytes with a few fragments, from a random offset");
    }
    free(b);
}

static void resync_unknown_types_are_no_fragments(void)
{
    EX_BOUND(3, EX_RULES("1 and 2", "the first valid fragment, or n") "wal_resync_block returns: it looks at each offset of [0, n) once, moving "
                "forward");
    /* A header of type 0 whose checksum matches its length, type and data:
     * type 0 is what a zeroed region holds, never a fragment's. */
    uint8_t b[512];
    memset(b, 0x33, sizeof b);
    ex_wal_fragment(b + 20, "zero-type", 9, 0);
    ex_wal_fragment(b + 100, "real", 4, WAL_FULL);
    resync_check(b, sizeof b, 0, "a type-0 header with a matching checksum at 20, a FULL "
                 "fragment at 100: only types 1 to 4 are fragments");
    memset(b, 0, sizeof b);
    ex_wal_fragment(b + 40, "", 0, 0);
    ex_wal_fragment(b + 200, "real", 4, WAL_FIRST);
    resync_check(b, sizeof b, 0, "zeros holding an empty type-0 header with a matching "
                 "checksum at 40, a FIRST fragment at 200");
    int bad[] = {5, 255};
    for (int i = 0; i < 2; i++) {
        memset(b, 0x33, sizeof b);
        ex_wal_fragment(b + 30, "past-last", 9, bad[i]);
        ex_wal_fragment(b + 120, "real", 4, WAL_MIDDLE);
        resync_check(b, sizeof b, 0, bad[i] == 5 ? "a type-5 header with a matching checksum "
                     "at 30, a MIDDLE fragment at 120: types past WAL_LAST are no fragments"
                     : "a type-255 header with a matching checksum at 30, a MIDDLE fragment "
                     "at 120: types past WAL_LAST are no fragments");
    }
}

static const harness_test resync_tests[] = {
    HARNESS_TEST(resync_finds_a_fragment_after_garbage),
    HARNESS_TEST(resync_none_in_zeros),
    HARNESS_TEST(resync_respects_the_block_and_the_bytes_given),
    HARNESS_TEST(resync_many_candidates),
    HARNESS_TEST(resync_random_blocks),
    HARNESS_TEST(resync_unknown_types_are_no_fragments),
};
const harness_suite resync_suite = HARNESS_SUITE("resync", resync_tests);
