/*
 * block_prev_test.c: exercise block_prev, block_iter_prev
 * (stages/05-blocks/blocks/block.c): the entry before, found from the restart
 * point before it, since entries can only be decoded forward.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block.h"
#include "ex_block.h"
#include "exercise.h"
#include "kv.h"

enum { N = 50 };
static uint8_t keys[N][EX_KEY_MAX];
static size_t lens[N];
static uint8_t contents[64 * N + 16];

/* The block of the N test keys, a restart point every `interval` entries
 * (offsets[i], if not NULL, where entry i starts), and an iterator over
 * it, not positioned. */
static void prev_block(int interval, uint32_t *offsets, block *b, block_iter *it)
{
    for (int i = 0; i < N; i++)
        lens[i] = ex_ikey(keys[i], i);
    size_t size = ex_block(contents, keys, lens, N, interval, offsets);
    EX_CHECK(block_init(b, contents, size) == NULL, "test setup");
    memset(it, 0, sizeof *it);
    block_iter_init(it, b, 8);
}

static void prev_walk(int interval)
{
    block b;
    block_iter it;
    prev_block(interval, NULL, &b, &it);
    /* A step back that loops without end fails this test alone (after 5
     * s of CPU), not the whole suite, so that a test before it names the
     * rule. */
    ex_bound_work(5);
    block_iter_seek_last(&it);
    for (int i = N - 1; i >= 0; i--) {
        harness_context("walking back with block_iter_prev, restart point every %d: at entry "
                        "%d", interval, i);
        EX_CHECK(it.valid && it.key_len == lens[i] && memcmp(it.key, keys[i], lens[i]) == 0,
                 EX_RULE(1, "the entry before") "a backward walk shows every entry in reverse: "
                 "entry %d (interval %d)", i,
                 interval);
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        EX_CHECK(it.value_len == strlen(v) && memcmp(it.value, v, it.value_len) == 0,
                 "with its value");
        block_iter_prev(&it);
    }
    EX_CHECK(!it.valid && it.status == KV_OK, EX_RULE(2, "not valid at the first") "prev from "
             "the first entry: not valid, status "
             "KV_OK (interval %d)", interval);
    block_iter_free(&it);
}

static void block_prev_steps_back_to_a_restart_point(void)
{
    /* Three entries, each a restart point: a step back from entry 2
     * decodes from restart point 1, at the offset the restart array
     * holds (block_restart), not at the index 1. */
    for (int i = 0; i < 3; i++)
        lens[i] = ex_ikey(keys[i], i);
    uint32_t offsets[3];
    size_t size = ex_block(contents, keys, lens, 3, 1, offsets);
    block b;
    EX_CHECK(block_init(&b, contents, size) == NULL, "test setup");
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    ex_bound_work(5);
    block_iter_seek_last(&it);
    EX_CHECK(it.valid && it.at == offsets[2], "test setup: block_iter_seek_last");
    for (int i = 1; i >= 0; i--) {
        harness_context("3 entries, each a restart point (offsets %u, %u, %u): "
                        "block_iter_prev to entry %d; the test ends after 5 s of CPU",
                        offsets[0], offsets[1], offsets[2], i);
        block_iter_prev(&it);
        EX_CHECK(it.valid && it.status == KV_OK && it.at == offsets[i] &&
                     it.key_len == lens[i] && memcmp(it.key, keys[i], lens[i]) == 0,
                 EX_RULES("1 and 3", "the entry before, decoded from the last restart point "
                          "before it") "a step back from entry %d, every entry a restart point, "
                 "lands on entry %d, at offset %u: restart point %d starts at "
                 "block_restart(b, %d), an offset "
                 "into the block, not at %d (got %s at offset %zu, status %d)",
                 i + 1, i, offsets[i], i, i, i, it.valid ? "an entry" : "no entry", it.at,
                 it.status);
    }
    block_iter_free(&it);
}

static void block_prev_walks_back_interval_16(void) { prev_walk(16); }
static void block_prev_walks_back_interval_1(void) { prev_walk(1); }
static void block_prev_walks_back_interval_4(void) { prev_walk(4); }
static void block_prev_walks_back_one_restart(void) { prev_walk(N); }

static void block_prev_and_next_mix(void)
{
    block b;
    block_iter it;
    prev_block(5, NULL, &b, &it);
    ex_bound_work(5);
    block_iter_seek_first(&it);
    int at = 0;
    static const int moves[] = {1, 1, 1, 1, 1, 1, -1, 1, -1, -1, -1, 1, 1, 1, 1, 1, -1, -1};
    for (size_t m = 0; m < sizeof moves / sizeof moves[0]; m++) {
        if (moves[m] > 0)
            block_iter_next(&it);
        else
            block_iter_prev(&it);
        at += moves[m];
        EX_CHECK(it.valid && memcmp(it.key, keys[at], lens[at]) == 0,
                 EX_RULE(1, "the entry before") "next and prev mix freely: after move %zu the "
                 "iterator is at entry %d", m, at);
    }
    block_iter_free(&it);
}

/* An iterator that is not positioned stays so: block_iter_next past the
 * last entry leaves it not valid, and a step back then is no step at all
 * (it does not come back to the entry before the one it left). */
static void block_prev_of_an_iterator_not_valid_does_nothing(void)
{
    block b;
    block_iter it;
    prev_block(5, NULL, &b, &it);
    ex_bound_work(5);
    block_iter_seek_last(&it);
    block_iter_next(&it);
    harness_context("block_iter_prev of an iterator that block_iter_next took past the last of "
                    "%d entries (not valid)", N);
    EX_CHECK(!it.valid, "test setup: past the last entry, the iterator is not valid");
    block_iter_prev(&it);
    EX_CHECK(!it.valid && it.status == KV_OK,
             EX_RULE(2, "not valid: nothing") "block_iter_prev of an iterator that is not valid "
             "does nothing: it stays not valid "
             "(got valid %d, at entry %zu), status KV_OK: only a positioned iterator steps "
             "back", it.valid, it.at);
    block_iter_free(&it);
}

static void block_prev_finds_an_overlap(void)
{
    /* A block that decodes forward from each restart point cannot hold an
     * overlap the iterator would reach: it got to its entry the same way.
     * So the bytes change under it (as damaged memory would): entry 4's
     * value grows by one byte while the iterator is at entry 5, and the
     * step back, decoding from restart point 0, finds an entry that ends
     * one byte past where entry 5 starts. */
    uint32_t offsets[N];
    block b;
    block_iter it;
    prev_block(16, offsets, &b, &it);
    ex_bound_work(5);
    block_iter_seek_first(&it);
    for (int i = 0; i < 5; i++)
        block_iter_next(&it);
    EX_CHECK(it.valid && it.at == offsets[5], "test setup: at entry 5");
    EX_CHECK(contents[offsets[4]] < 128 && contents[offsets[4] + 1] < 128 &&
                 contents[offsets[4] + 2] < 127, "test setup: entry 4's lengths are one byte each");
    contents[offsets[4] + 2]++; /* entry 4's value_len */
    harness_context("entry 4 (offset %u) made to end one byte past entry 5 (offset %u), then "
                    "block_iter_prev from entry 5; the test ends after 5 s of CPU",
                    offsets[4], offsets[5]);
    block_iter_prev(&it);
    EX_CHECK(!it.valid && it.status == KV_ERR_CORRUPT && it.why != NULL,
             EX_RULE(4, "overlapping entries: KV_ERR_CORRUPT") "no entry ends where the current "
             "one starts (entry 4 now runs one byte into entry "
             "5): the entries overlap, and the iterator stops, not valid, with KV_ERR_CORRUPT "
             "and a reason in it->why (got valid %d, status %d)", it.valid, it.status);
    EX_CHECK(it.why_at == offsets[4] || it.why_at == offsets[5],
             EX_RULE(4, "overlapping entries: KV_ERR_CORRUPT") "the damage is reported where it "
             "is: why_at is the offset of the entry that "
             "overlaps (%u) or of the one it overlaps (%u), got %zu", offsets[4], offsets[5],
             it.why_at);
    block_iter_free(&it);
}

/* A step back decodes from the last restart point before the entry, never
 * from the block's first entry: with the block's first page made
 * unreadable once the walk has started at its end, steps back through the
 * last restart intervals read nothing there. */
static void block_prev_reads_from_the_restart_before(void)
{
    enum { BIG = 800 };
    static uint8_t bkeys[BIG][EX_KEY_MAX];
    static size_t blens[BIG];
    static uint8_t built[64 * BIG + 16];
    for (int i = 0; i < BIG; i++)
        blens[i] = ex_ikey(bkeys[i], i);
    size_t size = ex_block(built, bkeys, blens, BIG, 16, NULL);
    long page = sysconf(_SC_PAGESIZE);
    size_t span = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EX_CHECK(m != MAP_FAILED && size > 2 * (size_t)page, "test setup: a block of %zu bytes, "
             "more than two pages", size);
    memcpy(m, built, size);
    block b;
    EX_CHECK(block_init(&b, m, size) == NULL, "test setup");
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    block_iter_seek_last(&it);
    EX_CHECK(mprotect(m, (size_t)page, PROT_NONE) == 0, "test setup: mprotect");
    for (int i = BIG - 1; i >= BIG - 40; i--) {
        ex_context(EX_RULE(3, "from the last restart point before the entry") "block_iter_prev "
                   "from entry %d of %d (a restart point every 16), the "
                   "block's first page unreadable: a step back decodes from the last "
                   "restart point before the entry (found in the restart array), never "
                   "from the block's first entry", i, BIG);
        EX_CHECK(it.valid && it.key_len == blens[i] && memcmp(it.key, bkeys[i], blens[i]) == 0,
                 EX_RULE(3, "from the restart point before") "a backward walk shows every entry "
                 "in reverse: entry %d", i);
        block_iter_prev(&it);
    }
    mprotect(m, (size_t)page, PROT_READ | PROT_WRITE);
    block_iter_free(&it);
    munmap(m, span);
}

static const harness_test block_prev_tests[] = {
    HARNESS_TEST(block_prev_steps_back_to_a_restart_point),
    HARNESS_TEST(block_prev_walks_back_interval_16),
    HARNESS_TEST(block_prev_walks_back_interval_1),
    HARNESS_TEST(block_prev_of_an_iterator_not_valid_does_nothing),
    HARNESS_TEST(block_prev_walks_back_interval_4),
    HARNESS_TEST(block_prev_walks_back_one_restart),
    HARNESS_TEST(block_prev_and_next_mix),
    HARNESS_TEST(block_prev_finds_an_overlap),
    HARNESS_TEST(block_prev_reads_from_the_restart_before),
};
const harness_suite block_prev_suite = HARNESS_SUITE("block_prev", block_prev_tests);
