/*
 * block_finish_test.c: exercise block_finish, block_builder_finish
 * (stages/05-blocks/blocks/block_builder.c): the restart array and its count
 * after the entries.
 */
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_builder.h"
#include "block_hash.h"
#include "coding.h"
#include "ex_block.h"
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


/* ---- a block with a hash index (rules 5 to 7) ------------------------------ */

/* A builder's state set by hand, as bf_state, with a hash index whose
 * notes are those of `entries` internal keys (ex_ikey), a run every
 * entries / nr of them; the tests' own buckets of them in *want (block_hash.h:
 * each user key's bucket holds its run, 254 for keys of two runs, 255 for
 * none), *nb of them. */
static void bf_state_hashed(block_builder *b, size_t cap, size_t len, size_t nr, uint32_t step,
                            size_t entries, uint8_t *want, uint32_t *nb)
{
    bf_state(b, cap, len, 'e', nr, step);
    b->entries = entries;
    EX_CHECK(block_builder_hash_index(b) == KV_OK, "test setup: block_builder_hash_index");
    size_t per = (entries + nr - 1) / nr;
    *nb = 4 * (uint32_t)entries + 1;
    memset(want, BLOCK_HASH_EMPTY, *nb);
    for (size_t i = 0; i < entries; i++) {
        uint8_t k[EX_KEY_MAX];
        size_t kl = ex_ikey(k, (int)i);
        uint32_t run = (uint32_t)(i / per);
        EX_CHECK(block_hash_builder_room(b->hash) == KV_OK, "test setup: a note's room");
        block_hash_builder_note(b->hash, k, kl, run);
        uint8_t *bucket = &want[block_hash_bucket(block_hash_of(k, kl - 8), *nb)];
        if (*bucket == BLOCK_HASH_EMPTY)
            *bucket = (uint8_t)run;
        else if (*bucket != run)
            *bucket = BLOCK_HASH_COLLISION;
    }
}

static void block_finish_writes_the_hash_index(void)
{
    /* 100 bytes of entries in a buffer they fill, 4 restart points (0, 25,
     * 50, 75), 64 entries noted, 16 a run: 257 buckets.  The contents are
     * the entries, the 4 offsets, the 257 buckets, N (2 bytes), then the
     * count with the index's flag: 100 + 16 + 257 + 2 + 4 = 379 bytes, far
     * more than the buffer holds. */
    static uint8_t want[4 * 64 + 1];
    uint32_t nb;
    block_builder b;
    bf_state_hashed(&b, 100, 100, 4, 25, 64, want, &nb);
    const size_t len_want = 100 + 16 + (size_t)nb + 2 + 4, without = 100 + 16 + 4;
    const uint8_t *c = NULL;
    size_t len = 0;
    ex_context(EX_RULES("5, 6 and 7", "a block with a hash index") "block_builder_finish of "
               "100 bytes of entries in a 100-byte buffer, 4 restart points, a hash index of 64 "
               "entries' notes (%u buckets)", nb);
    int rc = block_builder_finish(&b, &c, &len);
    EX_CHECK(rc == KV_OK, EX_RULE(3, "the contents returned") "block_builder_finish of a block "
             "with a hash index returns KV_OK (got %d)", rc);
    EX_CHECK(len == len_want, EX_RULE(5, "the index's bytes counted") "with a hash index (b->hash "
             "not NULL), block_hash_builder_finish(b->hash, nrestarts) first makes its buckets "
             "and gives its bytes, %u buckets and N's 2, which the length counts: %zu bytes "
             "(got %zu%s)", nb, len_want, len,
             len == without ? ", the block without its index" : "");
    EX_CHECK(b.cap >= len_want, "%s" "finish makes room for everything it writes after the "
             "entries: 4 * nrestarts, the index's %u + 2 bytes and the count, %zu bytes in all; "
             "b->cap, the room allocated, is %zu",
             b.cap >= without ? EX_RULE(5, "the index's bytes in the room grown") ""
                              : EX_RULE(4, "the buffer grown first") "",
             nb, len_want, b.cap);
    EX_CHECK(c != NULL && memcmp(c, b.buf, 100) == 0 && c[0] == 'e' && c[99] == 'e',
             EX_RULE(1, "after the entries") "the contents start with the entries, unchanged");
    EX_CHECK(memcmp(c + 100, want, 16) != 0,
             EX_RULE(6, "the index after the restart offsets") "the hash index's buckets come "
             "after the restart offsets, not before them (found at byte 100)");
    EX_CHECK(coding_get_u32(c + 100) == 0 && coding_get_u32(c + 104) == 25 &&
                 coding_get_u32(c + 108) == 50 && coding_get_u32(c + 112) == 75,
             EX_RULE(1, "the restart offsets") "then each restart offset as a 32-bit "
             "little-endian number, in order: 0, 25, 50, 75 at byte 100");
    size_t at = 116;
    int same = len >= at + nb + 2 && memcmp(c + at, want, nb) == 0;
    EX_CHECK(same, EX_RULE(6, "the buckets after the restart offsets") "then the index's %u "
             "buckets, as block_hash_builder_put writes them (each user key's run, 254 for a "
             "collision, 255 for none), at byte %zu", nb, at);
    EX_CHECK(coding_get_u16(c + at + nb) == nb, EX_RULE(6, "then N") "then N, the number of "
             "buckets, as a 16-bit little-endian number at byte %zu: %u (got %u)", at + nb, nb,
             coding_get_u16(c + at + nb));
    uint32_t last = coding_get_u32(c + at + nb + 2);
    EX_CHECK(last == (4u | BLOCK_HASH_FLAG),
             EX_RULE(7, "the count with the index's flag") "the count comes last, with its top "
             "bit set to say the block has an index (BLOCK_HASH_FLAG: block_hash_builder_put "
             "sets it in the count it is given): 0x%08x (got 0x%08x%s)", 4u | BLOCK_HASH_FLAG,
             last, last == 4 ? ": the flag left out" : "");
    block blk;
    const char *why = block_init(&blk, c, len);
    EX_CHECK(why == NULL && blk.nbuckets == nb && blk.nrestarts == 4 && blk.entries_end == 100,
             EX_RULES("5, 6 and 7", "a block with a hash index") "a reader finds the block "
             "whole: 4 restart points after 100 bytes of entries, an index of %u buckets "
             "(block_init: %s)", nb, why ? why : "(no complaint)");
    block_builder_free(&b);
}

static void block_finish_a_block_the_index_cannot_name(void)
{
    /* 254 restart points: a bucket's byte cannot name them all
     * (BLOCK_HASH_MAX_RESTARTS, 253), so block_hash_builder_finish gives 0
     * bytes and the block gets no index: its count alone, no flag. */
    static uint8_t want[4 * 508 + 1];
    uint32_t nb;
    block_builder b;
    bf_state_hashed(&b, 600, 508, 254, 2, 508, want, &nb);
    const uint8_t *c = NULL;
    size_t len = 0;
    ex_context(EX_RULES("5 and 7", "a block that gets no index") "block_builder_finish of 508 "
               "bytes of entries, 254 restart points, a hash index asked for");
    int rc = block_builder_finish(&b, &c, &len);
    size_t len_want = 508 + 4 * 254 + 4;
    EX_CHECK(rc == KV_OK, EX_RULE(3, "the contents returned") "block_builder_finish returns "
             "KV_OK (got %d)", rc);
    EX_CHECK(len == len_want, EX_RULE(5, "0 bytes: no index") "a block of more than 253 restart "
             "points gets no index (block_hash_builder_finish returns 0): its contents are the "
             "entries, the offsets and the count, %zu bytes (got %zu)", len_want, len);
    uint32_t last = coding_get_u32(c + len - 4);
    EX_CHECK(last == 254, EX_RULE(7, "no index: the count alone") "a block without an index "
             "ends in its count alone, 254, no flag (got 0x%08x)", last);
    EX_CHECK(coding_get_u32(c + 508) == 0 && coding_get_u32(c + 508 + 4 * 253) == 506,
             EX_RULE(1, "the restart offsets") "after the entries, the restart offsets 0, 2, ..., "
             "506");
    block_builder_free(&b);
}

static void block_finish_the_most_restart_points_an_index_names(void)
{
    /* 253 restart points (BLOCK_HASH_MAX_RESTARTS), 506 bytes of entries,
     * 2 entries noted a run: the block still gets an index, of 2025
     * buckets; block_hash_builder_finish is asked with the restart points'
     * count, not another number. */
    static uint8_t want[4 * 506 + 1];
    uint32_t nb;
    block_builder b;
    bf_state_hashed(&b, 506, 506, 253, 2, 506, want, &nb);
    const uint8_t *c = NULL;
    size_t len = 0;
    ex_context(EX_RULES("5, 6 and 7", "a block with a hash index") "block_builder_finish of 506 "
               "bytes of entries, 253 restart points, a hash index of 506 entries' notes");
    int rc = block_builder_finish(&b, &c, &len);
    size_t len_want = 506 + 4 * 253 + (size_t)nb + 2 + 4;
    EX_CHECK(rc == KV_OK, EX_RULE(3, "the contents returned") "block_builder_finish returns "
             "KV_OK (got %d)", rc);
    EX_CHECK(len == len_want, EX_RULE(5, "the index's bytes counted") "a block of 253 restart "
             "points, the most a bucket's byte names, gets an index: "
             "block_hash_builder_finish(b->hash, nrestarts) gives %u + 2 bytes, and the contents "
             "are %zu bytes (got %zu)", nb, len_want, len);
    EX_CHECK(memcmp(c + 506 + 4 * 253, want, nb) == 0 && coding_get_u16(c + len - 6) == nb,
             EX_RULE(6, "the buckets after the restart offsets") "then the index's %u buckets "
             "and N", nb);
    EX_CHECK(coding_get_u32(c + len - 4) == (253u | BLOCK_HASH_FLAG),
             EX_RULE(7, "the count with the index's flag") "the count last, 253 with the top bit "
             "set (got 0x%08x)", coding_get_u32(c + len - 4));
    block_builder_free(&b);
}

static const harness_test block_finish_tests[] = {
    HARNESS_TEST(block_finish_appends_the_restart_array),
    HARNESS_TEST(block_finish_grows_the_buffer),
    HARNESS_TEST(block_finish_array_longer_than_the_buffer),
    HARNESS_TEST(block_finish_grows_only_by_the_array),
    HARNESS_TEST(block_finish_grows_for_the_last_byte),
    HARNESS_TEST(block_finish_writes_the_hash_index),
    HARNESS_TEST(block_finish_the_most_restart_points_an_index_names),
    HARNESS_TEST(block_finish_a_block_the_index_cannot_name),
};
const harness_suite block_finish_suite = HARNESS_SUITE("block_finish", block_finish_tests);
