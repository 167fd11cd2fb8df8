/*
 * lru_cache_test.c: the sharded LRU cache (lru_cache.h): hits and misses,
 * the order of eviction, capacity, references that keep entries alive
 * through eviction, erase and replacement (LRU1), entries too large to cache
 * (LRU3), threads, and allocation failure (LRU4).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "cache_test_util.h"
#include "lru_cache.h"

/* Entries freed so far, by the on_free callback; each payload starts with
 * the entry's k2, so the test can say which. */
static uint64_t freed_keys[256];
static size_t freed;

static void count_free(void *payload, size_t payload_bytes)
{
    CHECK(payload_bytes >= sizeof(uint64_t));
    uint64_t k;
    memcpy(&k, payload, sizeof k);
    if (freed < sizeof freed_keys / sizeof freed_keys[0])
        freed_keys[freed] = k;
    freed++;
}

static lru_cache *new_cache(size_t capacity, unsigned shards)
{
    freed = 0;
    lru_cache *c;
    CHECK_KV(lru_cache_new(capacity, shards, count_free, &c), KV_OK);
    return c;
}

/* Inserts key (1, k2) with the given charge; returns the caller's handle. */
static lru_entry *put(lru_cache *c, uint64_t k2, size_t charge)
{
    lru_entry *e = lru_cache_entry_new(c, 16);
    CHECK(e != NULL);
    memcpy(lru_entry_payload(e), &k2, sizeof k2);
    lru_cache_insert(c, e, 1, k2, charge);
    return e;
}

static void put_released(lru_cache *c, uint64_t k2, size_t charge)
{
    lru_cache_release(c, put(c, k2, charge));
}

static int cached(lru_cache *c, uint64_t k2)
{
    lru_entry *e = lru_cache_lookup(c, 1, k2);
    if (e != NULL) {
        uint64_t k;
        memcpy(&k, lru_entry_payload(e), sizeof k);
        CHECK_EQ(k, k2);
    }
    lru_cache_release(c, e);
    return e != NULL;
}

static void lookup_misses_until_inserted_then_hits(void)
{
    lru_cache *c = new_cache(100, 1);
    CHECK(!cached(c, 7));
    put_released(c, 7, 1);
    CHECK(cached(c, 7));
    CHECK(cached(c, 7));
    CHECK(!lru_cache_lookup(c, 2, 7)); /* the other half of the key counts */
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.hits, 2);
    CHECK_EQ(st.misses, 2);
    CHECK_EQ(st.inserts, 1);
    CHECK_EQ(st.entries, 1);
    CHECK_EQ(st.usage, 1);
    CHECK_EQ(st.capacity, 100);
    lru_cache_free(c);
    CHECK_EQ(freed, 1);
}

static void eviction_takes_the_least_recently_used(void)
{
    lru_cache *c = new_cache(3, 1);
    put_released(c, 1, 1);
    put_released(c, 2, 1);
    put_released(c, 3, 1);
    CHECK(cached(c, 1)); /* 1 is now the most recent; 2 the oldest */
    put_released(c, 4, 1);
    CHECK_EQ(freed, 1);
    CHECK_EQ(freed_keys[0], 2);
    put_released(c, 5, 1);
    CHECK_EQ(freed_keys[1], 3);
    CHECK(cached(c, 1) && cached(c, 4) && cached(c, 5));
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.evictions, 2);
    CHECK_EQ(st.entries, 3);
    lru_cache_free(c);
}

static void usage_never_passes_capacity_once_released(void)
{
    lru_cache *c = new_cache(1000, 4);
    uint64_t seed = 1;
    for (uint64_t i = 0; i < 5000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        put_released(c, seed >> 40, 1 + (seed >> 20) % 50);
        lru_cache_stats st;
        lru_cache_stats_get(c, &st);
        CHECK_MSG(st.usage <= st.capacity, "step %llu: usage %llu", (unsigned long long)i,
                  (unsigned long long)st.usage);
    }
    lru_cache_free(c);
}

static void shard_capacities_add_up_to_the_capacity(void)
{
    static const size_t caps[] = {0, 1, 15, 16, 17, 1000, 8u << 20};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        lru_cache *c = new_cache(caps[i], 16);
        lru_cache_stats st;
        lru_cache_stats_get(c, &st);
        CHECK_EQ(st.capacity, caps[i]);
        lru_cache_free(c);
    }
}

static void held_entry_outlives_eviction(void)
{
    lru_cache *c = new_cache(2, 1);
    lru_entry *held = put(c, 1, 1);
    for (uint64_t k = 2; k < 10; k++)
        put_released(c, k, 1);
    CHECK(cached(c, 1)); /* held entries are not evictable */
    CHECK_EQ(freed, 7);  /* 2..8 went; 1 and 9 fill the cache */
    lru_cache_release(c, held); /* a release is a use: 1 is the youngest */
    put_released(c, 10, 1);
    CHECK_EQ(freed_keys[7], 9);
    put_released(c, 11, 1);
    CHECK_EQ(freed_keys[8], 1);
    lru_cache_free(c);
}

static void held_entries_past_capacity_shrink_back_on_release(void)
{
    lru_cache *c = new_cache(2, 1);
    lru_entry *a = put(c, 1, 1), *b = put(c, 2, 1), *d = put(c, 3, 1);
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.usage, 3); /* over, because everything is held */
    lru_cache_release(c, a);
    CHECK_EQ(freed, 1); /* the first one back is evicted at once */
    lru_cache_release(c, b);
    lru_cache_release(c, d);
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.usage, 2);
    CHECK_EQ(freed, 1);
    lru_cache_free(c);
    CHECK_EQ(freed, 3);
}

static void erase_frees_once_the_last_holder_releases(void)
{
    lru_cache *c = new_cache(10, 1);
    lru_entry *e = put(c, 1, 1);
    lru_entry *again = lru_cache_lookup(c, 1, 1);
    CHECK(again == e);
    lru_cache_erase(c, 1, 1);
    CHECK(!cached(c, 1));
    CHECK_EQ(freed, 0);
    lru_cache_release(c, e);
    CHECK_EQ(freed, 0);
    uint64_t k;
    memcpy(&k, lru_entry_payload(again), sizeof k); /* still readable */
    CHECK_EQ(k, 1);
    lru_cache_release(c, again);
    CHECK_EQ(freed, 1);
    lru_cache_erase(c, 1, 1); /* absent: nothing happens */
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.entries, 0);
    CHECK_EQ(st.usage, 0);
    lru_cache_free(c);
}

static void insert_replaces_and_the_old_entry_stays_with_its_holder(void)
{
    lru_cache *c = new_cache(10, 1);
    lru_entry *old = put(c, 5, 3);
    lru_entry *fresh = lru_cache_entry_new(c, 16);
    CHECK(fresh != NULL);
    uint64_t mark = 99;
    memcpy(lru_entry_payload(fresh), &mark, sizeof mark);
    lru_cache_insert(c, fresh, 1, 5, 4);
    lru_cache_release(c, fresh);
    lru_entry *found = lru_cache_lookup(c, 1, 5);
    CHECK(found == fresh);
    lru_cache_release(c, found);
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.entries, 1);
    CHECK_EQ(st.usage, 4);
    CHECK_EQ(freed, 0);
    lru_cache_release(c, old);
    CHECK_EQ(freed, 1);
    CHECK_EQ(freed_keys[0], 5);
    lru_cache_free(c);
}

static void entry_larger_than_a_shard_is_not_cached(void)
{
    lru_cache *c = new_cache(10, 1);
    put_released(c, 1, 1);
    lru_entry *big = put(c, 2, 11);
    CHECK_EQ(freed, 0);          /* it did not push the others out */
    CHECK(!cached(c, 2));
    CHECK(cached(c, 1));
    lru_cache_release(c, big);   /* freed now: it was the caller's alone */
    CHECK_EQ(freed, 1);
    put_released(c, 3, 10);      /* exactly the capacity: cached */
    CHECK(cached(c, 3));
    lru_cache_free(c);
    /* Capacity 0: nothing is ever cached. */
    c = new_cache(0, 16);
    put_released(c, 1, 0);
    put_released(c, 2, 1);
    CHECK(!cached(c, 1) && !cached(c, 2));
    CHECK_EQ(freed, 2);
    lru_cache_free(c);
}

static void entry_never_inserted_is_freed_by_release(void)
{
    lru_cache *c = new_cache(10, 4);
    lru_entry *e = lru_cache_entry_new(c, 100);
    CHECK(e != NULL);
    CHECK_EQ(lru_entry_payload_bytes(e), 100);
    lru_entry_shrink(e, 40);
    CHECK_EQ(lru_entry_payload_bytes(e), 40);
    CHECK_EQ(lru_entry_allocated(e), 100);
    lru_entry_shrink(e, 60); /* never grows */
    CHECK_EQ(lru_entry_payload_bytes(e), 40);
    memset(lru_entry_payload(e), 0, 100);
    lru_cache_release(c, e);
    CHECK_EQ(freed, 1);
    lru_cache_release(c, NULL);
    CHECK(lru_cache_entry_new(c, SIZE_MAX) == NULL);
    lru_cache_free(c);
    lru_cache_free(NULL);
}

static void many_entries_in_one_shard_are_all_found(void)
{
    /* The table grows from 16 buckets to thousands. */
    lru_cache *c = new_cache(100000, 1);
    for (uint64_t k = 0; k < 20000; k++)
        put_released(c, k * 4096, 1);
    for (uint64_t k = 0; k < 20000; k++)
        CHECK(cached(c, k * 4096));
    CHECK(!cached(c, 4095));
    lru_cache_free(c);
    CHECK_EQ(freed, 20000);
}

static void report_names_each_counter(void)
{
    lru_cache *c = new_cache(64, 1);
    put_released(c, 1, 8);
    CHECK(cached(c, 1));
    CHECK(!cached(c, 2));
    cache_lines lines = {""};
    lru_cache_report(c, "x", cache_lines_add, &lines);
    CHECK_MSG(strcmp(lines.text, "session.x.hits: 1\nsession.x.misses: 1\n"
                                 "session.x.inserts: 1\nsession.x.evictions: 0\n"
                                 "x.entries: 1\nx.usage: 8\nx.capacity: 64\n") == 0,
              "%s", lines.text);
    lru_cache_free(c);
}

/* ---- threads ------------------------------------------------------------------------ */

typedef struct worker {
    lru_cache *c;
    unsigned seed;
    long lookups, bad;
} worker;

/* Looks up keys of a small range, inserts the ones it misses, and checks
 * that every payload it reads is its key's (LRU1: nothing it holds changes). */
static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 20000; i++) {
        w->seed = w->seed * 1103515245u + 12345u;
        uint64_t k2 = (w->seed >> 8) % 300;
        lru_entry *e = lru_cache_lookup(w->c, 1, k2);
        w->lookups++;
        if (e == NULL) {
            e = lru_cache_entry_new(w->c, 64);
            if (e == NULL)
                continue;
            for (int b = 0; b < 8; b++)
                memcpy((uint64_t *)lru_entry_payload(e) + b, &k2, sizeof k2);
            lru_cache_insert(w->c, e, 1, k2, 1 + k2 % 3);
        }
        for (int b = 0; b < 8; b++) {
            uint64_t got;
            memcpy(&got, (uint64_t *)lru_entry_payload(e) + b, sizeof got);
            w->bad += got != k2;
        }
        if (i % 97 == 0)
            lru_cache_erase(w->c, 1, (k2 + 1) % 300);
        lru_cache_release(w->c, e);
    }
    return NULL;
}

static void threads_share_the_cache_safely(void)
{
    lru_cache *c; /* no on_free: count_free is for one thread */
    CHECK_KV(lru_cache_new(200, 4, NULL, &c), KV_OK);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){c, (unsigned)i * 7919u + 1u, 0, 0};
        CHECK(pthread_create(&t[i], NULL, worker_run, &w[i]) == 0);
    }
    long lookups = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ(w[i].bad, 0);
        lookups += w[i].lookups;
    }
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    CHECK_EQ(st.hits + st.misses, lookups);
    CHECK(st.usage <= st.capacity);
    lru_cache_free(c);
}

/* ---- allocation failure ------------------------------------------------------------- */

static int make_lru_cache(void **out)
{
    return lru_cache_new(100, 4, count_free, (lru_cache **)out);
}

static void free_lru_cache(void *c) { lru_cache_free(c); }

static void failed_allocations_leave_the_cache_working(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator: the release build tests this */
    cache_make_fails_cleanly(make_lru_cache, free_lru_cache);
    lru_cache *c = new_cache(100000, 1);
    alloc_fail_arm(1);
    CHECK(lru_cache_entry_new(c, 10) == NULL);
    alloc_fail_disarm();
    /* Every growth of the table fails: the chains grow longer instead. */
    for (uint64_t k = 0; k < 200; k++) {
        lru_entry *e = put(c, k, 1); /* entry_new outside the failing window */
        lru_cache_release(c, e);
    }
    for (uint64_t k = 200; k < 400; k++) {
        lru_entry *e = lru_cache_entry_new(c, 16);
        CHECK(e != NULL);
        memcpy(lru_entry_payload(e), &k, sizeof k);
        alloc_fail_arm(1);
        lru_cache_insert(c, e, 1, k, 1);
        alloc_fail_disarm();
        lru_cache_release(c, e);
    }
    for (uint64_t k = 0; k < 400; k++)
        CHECK(cached(c, k));
    lru_cache_free(c);
    CHECK_EQ(freed, 400);
}

static const harness_test lru_cache_tests[] = {
    HARNESS_TEST(lookup_misses_until_inserted_then_hits),
    HARNESS_TEST(eviction_takes_the_least_recently_used),
    HARNESS_TEST(usage_never_passes_capacity_once_released),
    HARNESS_TEST(shard_capacities_add_up_to_the_capacity),
    HARNESS_TEST(held_entry_outlives_eviction),
    HARNESS_TEST(held_entries_past_capacity_shrink_back_on_release),
    HARNESS_TEST(erase_frees_once_the_last_holder_releases),
    HARNESS_TEST(insert_replaces_and_the_old_entry_stays_with_its_holder),
    HARNESS_TEST(entry_larger_than_a_shard_is_not_cached),
    HARNESS_TEST(entry_never_inserted_is_freed_by_release),
    HARNESS_TEST(many_entries_in_one_shard_are_all_found),
    HARNESS_TEST(report_names_each_counter),
    HARNESS_TEST(threads_share_the_cache_safely),
    HARNESS_TEST(failed_allocations_leave_the_cache_working),
};
const harness_suite lru_cache_suite = HARNESS_SUITE("lru_cache", lru_cache_tests);
