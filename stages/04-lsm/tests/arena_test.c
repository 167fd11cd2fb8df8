/*
 * arena_test.c: the arena's byte accounting, alignment, and large pieces
 * (arena.h).
 */
#include <stdint.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "arena.h"
#include "kv.h"

/* What one block of `bytes` usable bytes costs (its header included): the
 * first allocation from an empty arena shows it. */
static size_t block_cost(size_t bytes)
{
    arena a;
    arena_init(&a, bytes);
    CHECK(arena_alloc(&a, 1) != NULL);
    size_t cost = arena_memory_usage(&a);
    arena_destroy(&a);
    return cost;
}

static void usage_counts_every_block_exactly(void)
{
    size_t header = block_cost(4096) - 4096;
    CHECK(header > 0 && header <= 64);
    arena a;
    arena_init(&a, 4096);
    CHECK_EQ(arena_memory_usage(&a), 0);
    /* 4096 one-byte pieces fill one block exactly; the next opens a second. */
    for (int i = 0; i < 4096; i++)
        CHECK(arena_alloc(&a, 1) != NULL);
    CHECK_EQ(arena_memory_usage(&a), 4096 + header);
    CHECK(arena_alloc(&a, 1) != NULL);
    CHECK_EQ(arena_memory_usage(&a), 2 * (4096 + header));
    arena_destroy(&a);
    CHECK_EQ(arena_memory_usage(&a), 0);
}

static void large_piece_gets_its_own_block_and_keeps_the_current_one(void)
{
    arena a;
    arena_init(&a, 4096);
    size_t header = block_cost(4096) - 4096;
    uint8_t *first = arena_alloc(&a, 10); /* opens the first block */
    CHECK(first != NULL);
    CHECK(arena_alloc(&a, 3490) == first + 10);
    /* 596 bytes left; 1025 do not fit, and are more than a quarter of a
     * block: a block of exactly that size. */
    uint8_t *big = arena_alloc(&a, 1025);
    CHECK(big != NULL);
    CHECK_EQ(arena_memory_usage(&a), 4096 + header + 1025 + header);
    /* The current block still serves small pieces, right after the first. */
    uint8_t *next = arena_alloc(&a, 10);
    CHECK(next == first + 3500);
    /* 586 left: 600 do not fit and are less than a quarter: a new block,
     * the rest of the old one is wasted. */
    CHECK(arena_alloc(&a, 600) != NULL);
    CHECK_EQ(arena_memory_usage(&a), 2 * 4096 + 1025 + 3 * header);
    memset(big, 0xab, 1025);
    arena_destroy(&a);
}

static void aligned_pieces_are_aligned_and_do_not_overlap(void)
{
    arena a;
    arena_init(&a, 4096);
    uint8_t *prev = NULL;
    size_t prev_n = 0;
    for (size_t n = 1; n < 3000; n += 37) {
        arena_alloc(&a, n % 5 + 1); /* knocks the bump pointer off alignment */
        uint8_t *p = arena_alloc_aligned(&a, n);
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p % ARENA_ALIGN, 0);
        memset(p, (int)n, n);
        if (prev != NULL)
            CHECK(prev[prev_n - 1] == (uint8_t)prev_n); /* not overwritten */
        prev = p;
        prev_n = n;
    }
    arena_destroy(&a);
}

static void tiny_block_size_is_raised_to_the_minimum(void)
{
    arena a;
    arena_init(&a, 1);
    CHECK(arena_alloc(&a, 8) != NULL);
    size_t header = block_cost(4096) - 4096;
    CHECK_EQ(arena_memory_usage(&a), ARENA_MIN_BLOCK + header);
    arena_destroy(&a);
}

/* arena_reserve_growth says what arena_reserve then adds: nothing while
 * the current block has the room, a block (at least block_bytes) when not. */
static void reserve_growth_is_what_reserve_adds(void)
{
    size_t header = block_cost(4096) - 4096;
    arena a;
    arena_init(&a, 4096);
    CHECK_EQ(arena_reserve_growth(&a, 10), 4096 + header); /* no block yet */
    CHECK_KV(arena_reserve(&a, 10), KV_OK);
    CHECK_EQ(arena_memory_usage(&a), 4096 + header);
    CHECK_EQ(arena_reserve_growth(&a, 4096), 0);
    CHECK(arena_alloc(&a, 4000) != NULL);
    CHECK_EQ(arena_reserve_growth(&a, 96), 0);
    CHECK_EQ(arena_reserve_growth(&a, 97), 4096 + header);
    CHECK_EQ(arena_reserve_growth(&a, 5000), 5000 + header);
    size_t before = arena_memory_usage(&a);
    CHECK_KV(arena_reserve(&a, 5000), KV_OK);
    CHECK_EQ(arena_memory_usage(&a), before + 5000 + header);
    arena_destroy(&a);
}

static const harness_test arena_tests[] = {
    HARNESS_TEST(usage_counts_every_block_exactly),
    HARNESS_TEST(large_piece_gets_its_own_block_and_keeps_the_current_one),
    HARNESS_TEST(aligned_pieces_are_aligned_and_do_not_overlap),
    HARNESS_TEST(tiny_block_size_is_raised_to_the_minimum),
    HARNESS_TEST(reserve_growth_is_what_reserve_adds),
};
const harness_suite arena_suite = HARNESS_SUITE("arena", arena_tests);
