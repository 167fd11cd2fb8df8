/*
 * lru_evict_test.c: exercise lru_evict, lru_evict_locked
 * (stages/05-blocks/cache/lru_cache.c): while a shard is over capacity, the
 * least recently used entry that nobody holds leaves it.
 */
#include <string.h>

#include "ex_lru.h"
#include "exercise.h"
#include "kv.h"

static void lru_evict_the_least_recently_used(void)
{
    lru_cache *c = ex_lru_new(3);
    harness_context("keys 1, 2, 3 into capacity 3, key 1 looked up, then key 4: over capacity, the "
                    "least recently used entry nobody holds (2) is evicted and freed at once");
    ex_lru_insert(c, 1, 1);
    ex_lru_insert(c, 2, 1);
    ex_lru_insert(c, 3, 1);
    EX_CHECK(ex_lru_has(c, 1), EX_RULE(1, "only while usage is over capacity") "three keys in "
             "a cache of capacity 3 are all cached: nothing is evicted while usage is not over "
             "capacity (key 1 is not; this lookup makes it the most recently used)");
    ex_lru_insert(c, 4, 1);
    EX_CHECK(!ex_lru_has(c, 2),
             EX_RULES("1 and 2", "the oldest on the list, out of the table") "over capacity, "
             "the least recently used entry goes: 2 (1 was used after it)");
    EX_CHECK(ex_lru_freed[2] == 1, EX_RULE(4, "forgotten") "an evicted entry nobody holds is "
             "freed at once");
    EX_CHECK(ex_lru_has(c, 1) && ex_lru_has(c, 3) && ex_lru_has(c, 4),
             EX_RULE(1, "while over capacity") "the others stay: only as many entries leave as "
             "the capacity needs");
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    EX_CHECK(st.evictions == 1 && st.entries == 3 && st.usage == 3,
             EX_RULE(3, "an eviction counted") "evictions, entries and usage are counted (got "
             "%llu, %llu, %llu)",
             (unsigned long long)st.evictions, (unsigned long long)st.entries,
             (unsigned long long)st.usage);
    lru_cache_free(c);
}

static void lru_evict_in_order_of_use(void)
{
    lru_cache *c = ex_lru_new(4);
    harness_context("keys 0..3 into capacity 4, 0 and 2 used, then keys 10 and 11: evictions in "
                    "order of use, oldest first (1, then 0)");
    for (int i = 0; i < 4; i++)
        ex_lru_insert(c, i, 1);
    ex_lru_has(c, 0);
    ex_lru_has(c, 2);
    /* Use order, oldest first: 1, 3, 0, 2. */
    ex_lru_insert(c, 10, 1);
    EX_CHECK(!ex_lru_has(c, 1) && ex_lru_has(c, 3), EX_RULE(1, "the oldest on the list") "the "
             "first eviction takes 1");
    ex_lru_insert(c, 11, 1);
    EX_CHECK(!ex_lru_has(c, 0) && ex_lru_has(c, 2),
             EX_RULE(1, "the oldest on the list") "the next takes 0 (3 was just used by the "
             "check above)");
    lru_cache_free(c);
}

static void lru_evict_nothing_within_capacity(void)
{
    lru_cache *c = ex_lru_new(8);
    harness_context("keys 0..7 into capacity 8: a shard at capacity, not over it, evicts nothing "
                    "(LRU2)");
    for (int i = 0; i < 8; i++)
        ex_lru_insert(c, i, 1);
    for (int i = 0; i < 8; i++)
        EX_CHECK(ex_lru_has(c, i) && ex_lru_freed[i] == 0,
                 EX_RULE(1, "while over capacity") "LRU2: a shard at capacity, not over it, "
                 "evicts nothing (%d)", i);
    lru_cache_free(c);
}

static void lru_evict_skips_held_entries(void)
{
    lru_cache *c = ex_lru_new(2);
    harness_context("keys 1, 2 into capacity 2, 1 held by a lookup, then key 3: eviction skips the "
                    "held oldest entry and takes the oldest one nobody holds (2)");
    ex_lru_insert(c, 1, 1);
    ex_lru_insert(c, 2, 1);
    lru_entry *h = lru_cache_lookup(c, 1, 0); /* the oldest, held */
    ex_lru_insert(c, 3, 1);
    EX_CHECK(ex_lru_freed[1] == 0 && ex_lru_has(c, 1),
             EX_RULE(1, "the oldest that nobody holds") "LRU1: the oldest entry is held, so "
             "eviction takes the oldest one nobody holds");
    EX_CHECK(!ex_lru_has(c, 2), "that is 2");
    lru_cache_release(c, h);
    lru_cache_free(c);
}

static const harness_test lru_evict_tests[] = {
    HARNESS_TEST(lru_evict_the_least_recently_used),
    HARNESS_TEST(lru_evict_in_order_of_use),
    HARNESS_TEST(lru_evict_nothing_within_capacity),
    HARNESS_TEST(lru_evict_skips_held_entries),
};
const harness_suite lru_evict_suite = HARNESS_SUITE("lru_evict", lru_evict_tests);
