/*
 * block_cache_test.c: the block cache (block_cache.h) used the way a table
 * reads a block: lookup, prepare, fill, insert, read, release; blocks
 * charged their bytes plus the entry's header; ids; threads reading shared
 * blocks while others evict them; allocation failure sending the reader
 * to its own buffer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "block_cache.h"
#include "cache_test_util.h"
#include "error.h"

/* The bytes of block (id, offset): what a "read" would bring. */
static uint8_t block_byte(uint64_t id, uint64_t offset, size_t i)
{
    return (uint8_t)(id * 131 + offset * 7 + i);
}

/* The table's read path: the block from the cache, or read into a new
 * entry and inserted; NULL only if memory ran out (then the caller reads
 * into a buffer of its own). */
static block_cache_handle *read_block(block_cache *c, uint64_t id, uint64_t offset,
                                      size_t size, int *missed)
{
    block_cache_handle *h = block_cache_lookup(c, id, offset);
    *missed = h == NULL;
    if (h != NULL)
        return h;
    h = block_cache_prepare(c, size + 5); /* the block and a 5-byte trailer */
    if (h == NULL)
        return NULL;
    uint8_t *p = block_cache_data(h);
    for (size_t i = 0; i < size + 5; i++)
        p[i] = block_byte(id, offset, i);
    block_cache_set_size(h, size);
    block_cache_insert(c, h, id, offset);
    return h;
}

static int block_is_right(block_cache_handle *h, uint64_t id, uint64_t offset, size_t size)
{
    if (block_cache_size(h) != size)
        return 0;
    const uint8_t *p = block_cache_data(h);
    for (size_t i = 0; i < size; i++)
        if (p[i] != block_byte(id, offset, i))
            return 0;
    return 1;
}

static void block_read_once_is_then_found(void)
{
    block_cache *c;
    CHECK_KV(block_cache_new(0, &c), KV_OK);
    uint64_t id = block_cache_new_id(c);
    int missed;
    block_cache_handle *h = read_block(c, id, 4096, 4000, &missed);
    CHECK(h != NULL && missed);
    CHECK(block_is_right(h, id, 4096, 4000));
    block_cache_release(c, h);
    h = read_block(c, id, 4096, 4000, &missed);
    CHECK(h != NULL && !missed);
    CHECK(block_is_right(h, id, 4096, 4000));
    block_cache_release(c, h);
    CHECK(block_cache_lookup(c, id, 0) == NULL);
    CHECK(block_cache_lookup(c, id + 1, 4096) == NULL); /* another table's */
    lru_cache_stats st;
    block_cache_stats(c, &st);
    CHECK_EQ(st.hits, 1);
    CHECK_EQ(st.misses, 3);
    CHECK_EQ(st.capacity, BLOCK_CACHE_DEFAULT_BYTES);
    /* Charged what was allocated (trailer included) and the header. */
    CHECK_EQ(st.usage, 4005 + lru_entry_overhead());
    block_cache_free(c);
}

static void ids_are_fresh_and_never_zero(void)
{
    block_cache *c;
    CHECK_KV(block_cache_new(1 << 20, &c), KV_OK);
    uint64_t prev = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t id = block_cache_new_id(c);
        CHECK(id != 0 && id > prev);
        prev = id;
    }
    block_cache_free(c);
}

static void capacity_counts_blocks_and_their_headers(void)
{
    /* Room for exactly three blocks of 1,000 bytes, in one shard. */
    const size_t charge = 1000 + lru_entry_overhead();
    block_cache *c;
    CHECK_KV(block_cache_new_sharded(3 * charge, 1, &c), KV_OK);
    int missed;
    for (uint64_t off = 0; off < 3; off++)
        block_cache_release(c, read_block(c, 1, off * 1000, 995, &missed));
    block_cache_release(c, read_block(c, 1, 0, 995, &missed)); /* a use */
    CHECK(!missed);
    block_cache_release(c, read_block(c, 1, 3000, 995, &missed));
    lru_cache_stats st;
    block_cache_stats(c, &st);
    CHECK_EQ(st.entries, 3);
    CHECK_EQ(st.usage, 3 * charge);
    CHECK_EQ(st.evictions, 1);
    /* The oldest (offset 1000) went; 0, 2000 and 3000 stayed. */
    block_cache_release(c, read_block(c, 1, 1000, 995, &missed));
    CHECK(missed);
    block_cache_free(c);
}

static void block_in_use_stays_intact_while_evicted(void)
{
    block_cache *c;
    CHECK_KV(block_cache_new_sharded(2 * (500 + lru_entry_overhead()), 1, &c), KV_OK);
    int missed;
    block_cache_handle *held = read_block(c, 9, 0, 495, &missed);
    for (uint64_t off = 1; off < 50; off++)
        block_cache_release(c, read_block(c, 9, off * 500, 495, &missed));
    CHECK(block_is_right(held, 9, 0, 495)); /* C1 */
    block_cache_release(c, held);
    block_cache_free(c);
}

static void report_lines_say_block_cache(void)
{
    block_cache *c;
    CHECK_KV(block_cache_new(1000, &c), KV_OK);
    cache_lines lines = {""};
    block_cache_report(c, cache_lines_add, &lines);
    CHECK(strstr(lines.text, "session.block_cache.hits: 0\n") != NULL);
    CHECK(strstr(lines.text, "block_cache.capacity: 1000\n") != NULL);
    block_cache_free(c);
}

/* ---- threads ------------------------------------------------------------------------ */

typedef struct reader {
    block_cache *c;
    unsigned seed;
    long reads, bad, uncached;
} reader;

/* Reads random blocks of 40 through a cache that holds about 20. */
static void *reader_run(void *arg)
{
    reader *r = arg;
    for (int i = 0; i < 20000; i++) {
        r->seed = r->seed * 1103515245u + 12345u;
        uint64_t id = 1 + (r->seed >> 10) % 4, offset = 256 * ((r->seed >> 16) % 10);
        int missed;
        block_cache_handle *h = read_block(r->c, id, offset, 200, &missed);
        if (h == NULL) {
            r->uncached++;
            continue;
        }
        r->reads++;
        r->bad += !block_is_right(h, id, offset, 200);
        block_cache_release(r->c, h);
    }
    return NULL;
}

static void threads_read_blocks_while_they_are_evicted(void)
{
    block_cache *c;
    CHECK_KV(block_cache_new_sharded(20 * (205 + lru_entry_overhead()), 4, &c), KV_OK);
    reader r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (reader){c, (unsigned)i * 104729u + 3u, 0, 0, 0};
        CHECK(pthread_create(&t[i], NULL, reader_run, &r[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ(r[i].bad, 0);
        CHECK_EQ(r[i].uncached, 0);
        CHECK_EQ(r[i].reads, 20000);
    }
    lru_cache_stats st;
    block_cache_stats(c, &st);
    CHECK_EQ(st.hits + st.misses, 80000);
    CHECK(st.hits > 0 && st.evictions > 0);
    block_cache_free(c);
}

static int make_block_cache(void **out)
{
    return block_cache_new(1 << 20, (block_cache **)out);
}

/* doorkeeper.h: A1 until the cache is full, then a block gets in on its
 * second miss. */
static void a_full_cache_takes_a_block_on_its_second_miss(void)
{
    block_cache *c;
    CHECK_KV(block_cache_new_sharded(64 * 1024, 1, &c), KV_OK);
    /* A1: room, so every block is admitted, on its first miss. */
    uint64_t off = 0;
    lru_cache_stats st;
    for (;; off += 4096) {
        block_cache_stats(c, &st);
        if (st.evictions > 0)
            break;
        harness_context("block at %llu, before the cache is full", (unsigned long long)off);
        CHECK(block_cache_lookup(c, 1, off) == NULL);
        CHECK_EQ(block_cache_admit(c, 1, off), 1);
        int missed;
        block_cache_release(c, read_block(c, 1, off, 4000, &missed));
        CHECK(off < 128 * 1024);
    }
    /* Full: a block missed for the first time is turned away, and taken on
     * its second miss; each is asked once per miss, as a lookup does. */
    for (uint64_t id = 2; id < 40; id++) {
        harness_context("block (%llu, 0)", (unsigned long long)id);
        CHECK_EQ(block_cache_admit(c, id, 0), 0);
        CHECK_EQ(block_cache_admit(c, id, 0), 1);
    }
    block_cache_stats(c, &st);
    CHECK(st.inserts > 0);
    cache_lines lines = {""};
    block_cache_report(c, cache_lines_add, &lines);
    CHECK_MSG(strstr(lines.text, "session.block_cache.declined: 38\n") != NULL, "%s", lines.text);
    block_cache_free(c);
}

static void free_block_cache(void *c) { block_cache_free(c); }

static void failed_prepare_sends_the_reader_to_its_own_buffer(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator: the release build tests this */
    block_cache *c;
    CHECK_KV(block_cache_new(1 << 20, &c), KV_OK);
    kv_error_clear();
    int missed;
    alloc_fail_arm(1);
    block_cache_handle *h = read_block(c, 1, 0, 100, &missed);
    alloc_fail_disarm();
    CHECK(h == NULL && missed);
    CHECK_MSG(kv_errmsg()[0] == '\0', "a miss that could not cache set \"%s\"", kv_errmsg());
    h = read_block(c, 1, 0, 100, &missed); /* later, with memory: cached */
    CHECK(h != NULL && missed);
    block_cache_release(c, h);
    block_cache_free(c);
    cache_make_fails_cleanly(make_block_cache, free_block_cache);
    block_cache_free(NULL);
}

static const harness_test block_cache_tests[] = {
    HARNESS_TEST(block_read_once_is_then_found),
    HARNESS_TEST(ids_are_fresh_and_never_zero),
    HARNESS_TEST(capacity_counts_blocks_and_their_headers),
    HARNESS_TEST(block_in_use_stays_intact_while_evicted),
    HARNESS_TEST(report_lines_say_block_cache),
    HARNESS_TEST(threads_read_blocks_while_they_are_evicted),
    HARNESS_TEST(failed_prepare_sends_the_reader_to_its_own_buffer),
    HARNESS_TEST(a_full_cache_takes_a_block_on_its_second_miss),
};
const harness_suite block_cache_suite = HARNESS_SUITE("block_cache", block_cache_tests);
