/*
 * block_finish_test.c: exercise block_finish, block_builder_finish
 * (stages/05-blocks/blocks/block_builder.c): the restart array and its count
 * after the entries.
 */
#include <stdlib.h>
#include <string.h>

#include "block_builder.h"
#include "coding.h"
#include "exercise.h"
#include "kv.h"

static void block_finish_appends_the_restart_array(void)
{
    /* A builder's state set by hand: 100 bytes of entries, restart points
     * at 0, 40 and 77. */
    block_builder b;
    block_builder_init(&b, 16);
    b.cap = 100;
    b.buf = malloc(b.cap);
    memset(b.buf, 'e', 100);
    b.len = 100;
    b.restarts_cap = 4;
    b.restarts = malloc(4 * sizeof *b.restarts);
    b.restarts[0] = 0, b.restarts[1] = 40, b.restarts[2] = 77;
    b.nrestarts = 3;
    b.entries = 20;
    const uint8_t *c = NULL;
    size_t len = 0;
    int rc = block_builder_finish(&b, &c, &len);
    EX_CHECK(rc == KV_OK, EX_RULE(3, "the contents returned") "block_builder_finish returns "
             "KV_OK (got %d)", rc);
    EX_CHECK(len == 100 + 3 * 4 + 4, EX_RULE(3, "the whole length") "the contents are the "
             "entries, 4 bytes per restart point, "
             "and the 4-byte count: 116 bytes (got %zu)", len);
    EX_CHECK(c != NULL && memcmp(c, b.buf, 100) == 0 && c[0] == 'e' && c[99] == 'e',
             EX_RULE(1, "after the entries") "the contents start with the entries, unchanged");
    EX_CHECK(!(coding_get_u32(c + 100) == 3 && coding_get_u32(c + 104) == 0),
             EX_RULE(2, "their count after them") "the count of restart points comes after the "
             "restart offsets, last, where a reader finds it from the block's end: it is at "
             "byte 100, before them");
    EX_CHECK(coding_get_u32(c + 100) == 0 && coding_get_u32(c + 104) == 40 &&
                 coding_get_u32(c + 108) == 77,
             EX_RULE(1, "the restart offsets") "then each restart offset as a 32-bit "
             "little-endian number, in order");
    EX_CHECK(coding_get_u32(c + 112) == 3, EX_RULE(2, "then their count") "then the number of "
             "restart points, 3");
    EX_CHECK(block_builder_size(&b) == len || b.len == 100,
             EX_RULE(3, "the contents returned") "finishing does not count as more entries");
    block_builder_free(&b);
}

static void block_finish_grows_the_buffer(void)
{
    block_builder b;
    block_builder_init(&b, 16);
    b.cap = 10; /* exactly the entries: no room yet for the array */
    b.buf = malloc(b.cap);
    memset(b.buf, 'x', 10);
    b.len = 10;
    b.restarts_cap = 1;
    b.restarts = malloc(sizeof *b.restarts);
    b.restarts[0] = 0;
    b.nrestarts = 1;
    b.entries = 1;
    const uint8_t *c = NULL;
    size_t len = 0;
    harness_context("block_builder_finish with a buffer that has no room for the array");
    EX_CHECK(block_builder_finish(&b, &c, &len) == KV_OK && len == 18,
             EX_RULE(4, "the buffer grown first") "finish makes room for the restart array "
             "before writing it (18 bytes)");
    EX_CHECK(memcmp(c, "xxxxxxxxxx", 10) == 0 && coding_get_u32(c + 10) == 0 &&
                 coding_get_u32(c + 14) == 1,
             "entries, restart offset 0, count 1");
    block_builder_free(&b);
}

static void block_finish_array_longer_than_the_buffer(void)
{
    /* Four entries of 3 bytes (empty keys and values), each a restart
     * point, in a buffer they fill: the array to come (4 offsets and the
     * count, 20 bytes) is longer than the whole buffer (12). */
    block_builder b;
    block_builder_init(&b, 1);
    b.cap = 12;
    b.buf = calloc(1, b.cap);
    b.len = 12;
    b.restarts_cap = 4;
    b.restarts = malloc(4 * sizeof *b.restarts);
    for (int i = 0; i < 4; i++)
        b.restarts[i] = (uint32_t)(3 * i);
    b.nrestarts = 4;
    b.entries = 4;
    const uint8_t *c = NULL;
    size_t len = 0;
    harness_context("block_builder_finish of 12 bytes of entries in a 12-byte buffer, 4 restart "
                    "points");
    int rc = block_builder_finish(&b, &c, &len);
    EX_CHECK(rc == KV_OK && len == 32, EX_RULE(3, "the whole length") "block_builder_finish "
             "returns KV_OK and 12 + 4 * 4 + 4 = "
             "32 bytes (got %d, %zu)", rc, len);
    EX_CHECK(b.cap >= len, EX_RULE(4, "the buffer grown first") "finish makes room for len + 4 "
             "* nrestarts + 4 bytes before writing "
             "them, even when the array alone is longer than the buffer: b->cap, the room "
             "allocated, is at least the 32 bytes of the contents (got %zu)", b.cap);
    EX_CHECK(c == b.buf && coding_get_u32(c + 12) == 0 && coding_get_u32(c + 24) == 9 &&
                 coding_get_u32(c + 28) == 4,
             "entries, restart offsets 0, 3, 6, 9, count 4");
    block_builder_free(&b);
}

/* A builder's state set by hand: len bytes of entries (byte fill) in a
 * buffer of cap, and nr restart points, the ith at offset step * i. */
static void bf_state(block_builder *b, size_t cap, size_t len, int fill, size_t nr,
                     uint32_t step)
{
    block_builder_init(b, 16);
    b->cap = cap;
    b->buf = malloc(cap);
    memset(b->buf, fill, cap);
    b->len = len;
    b->restarts_cap = nr + 1;
    b->restarts = malloc((nr + 1) * sizeof *b->restarts);
    for (size_t i = 0; i < nr; i++)
        b->restarts[i] = (uint32_t)(step * i);
    b->nrestarts = nr;
    b->entries = 4 * nr;
}

static void block_finish_grows_only_by_the_array(void)
{
    /* 4000 bytes of entries in a 4096-byte buffer, 10 restart points: the
     * array (44 bytes) fits in the room left, so finish allocates nothing;
     * a block's buffer is reused for the next block, and a finish that
     * asks for room in proportion to the entries would hold four times
     * the block for each block a table builds. */
    block_builder b;
    bf_state(&b, 4096, 4000, 'y', 10, 400);
    const uint8_t *c = NULL;
    size_t len = 0;
    harness_context("block_builder_finish of 4000 bytes of entries in a 4096-byte buffer, 10 "
                    "restart points: it makes room for 4 * nrestarts + 4 bytes after b->len");
    int rc = block_builder_finish(&b, &c, &len);
    EX_CHECK(rc == KV_OK && len == 4044, EX_RULE(3, "the whole length") "block_builder_finish "
             "returns KV_OK and 4000 + 10 * 4 "
             "+ 4 = 4044 bytes (got %d, %zu)", rc, len);
    EX_CHECK(b.cap == 4096, EX_RULE(4, "the buffer grown as needed") "finish asks for the "
             "restart array's room only, 4 * nrestarts + 4 "
             "= 44 bytes past the entries, which the 4096-byte buffer has: it allocates "
             "nothing (b->cap is now %zu)", b.cap);
    EX_CHECK(coding_get_u32(c + 4000) == 0 && coding_get_u32(c + 4036) == 3600 &&
                 coding_get_u32(c + 4040) == 10,
             "entries, restart offsets 0, 400, ..., 3600, count 10");
    block_builder_free(&b);
}

static void block_finish_grows_for_the_last_byte(void)
{
    /* 100 bytes of entries and 3 restart points in a buffer of 115 bytes:
     * the array and its count need 16, one byte more than is left, so
     * finish must grow the buffer (by 4 * nrestarts + 4 past b->len). */
    block_builder b;
    bf_state(&b, 115, 100, 'e', 3, 40); /* restart points at 0, 40, 80 */
    const uint8_t *c = NULL;
    size_t len = 0;
    harness_context("block_builder_finish of 100 bytes of entries and 3 restart points in a "
                    "115-byte buffer: the array and the count take 4 * 3 + 4 = 16 bytes, one "
                    "more than is left");
    int rc = block_builder_finish(&b, &c, &len);
    EX_CHECK(rc == KV_OK && len == 116, EX_RULE(3, "the whole length") "block_builder_finish "
             "returns KV_OK and 116 bytes "
             "(got %d, %zu)", rc, len);
    EX_CHECK(b.cap >= 116, EX_RULE(4, "the buffer grown first") "finish makes room for all 4 * "
             "nrestarts + 4 bytes after b->len, the "
             "count's last byte too: 15 bytes left are one too few, so the buffer grows "
             "(b->cap is %zu, the contents 116 bytes)", b.cap);
    EX_CHECK(coding_get_u32(c + 112) == 3, "then the number of restart points, 3");
    block_builder_free(&b);
}

static const harness_test block_finish_tests[] = {
    HARNESS_TEST(block_finish_appends_the_restart_array),
    HARNESS_TEST(block_finish_grows_the_buffer),
    HARNESS_TEST(block_finish_array_longer_than_the_buffer),
    HARNESS_TEST(block_finish_grows_only_by_the_array),
    HARNESS_TEST(block_finish_grows_for_the_last_byte),
};
const harness_suite block_finish_suite = HARNESS_SUITE("block_finish", block_finish_tests);
