/*
 * clock_cache_test.c: CLOCK eviction (clock_cache.c): the budget holds, a
 * key read since the hand passed survives the next eviction and an unread
 * one does not, a put replaces, erase drops, a pair above a shard's budget
 * is not kept, the counts say what happened, and concurrent readers and
 * writers only ever see a value put for the key they asked for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "clock_cache.h"
#include "kv.h"

static int has(clock_cache *c, const char *k)
{
    void *v = NULL;
    size_t n = 0;
    int rc = clock_cache_get(c, k, strlen(k), &v, &n);
    free(v);
    return rc == KV_OK;
}

static void put(clock_cache *c, const char *k, const char *v)
{
    CHECK_KV(clock_cache_put(c, k, strlen(k), v, strlen(v)), KV_OK);
}

static void get_returns_what_was_put(void)
{
    clock_cache *c = NULL;
    CHECK_KV(clock_cache_new(1 << 20, 4, &c), KV_OK);
    put(c, "apple", "red");
    put(c, "apple", "green");
    void *v = NULL;
    size_t n = 0;
    CHECK_KV(clock_cache_get(c, "apple", 5, &v, &n), KV_OK);
    CHECK_MSG(n == 5 && memcmp(v, "green", 5) == 0, "a second put of a held key replaces its "
              "value: apple reads \"green\" (got %zu bytes)", n);
    free(v);
    CHECK_KV(clock_cache_get(c, "pear", 4, &v, &n), KV_NOT_FOUND);
    clock_cache_erase(c, "apple", 5);
    CHECK_MSG(!has(c, "apple"), "an erased key is a miss");
    clock_cache_stats k;
    clock_cache_stats_get(c, &k);
    CHECK_MSG(k.hits == 1 && k.misses == 2 && k.entries == 0 && k.bytes == 0,
              "one hit, two misses, nothing held once apple is erased (got %llu hits, %llu "
              "misses, %llu entries, %llu bytes)", (unsigned long long)k.hits,
              (unsigned long long)k.misses, (unsigned long long)k.entries,
              (unsigned long long)k.bytes);
    clock_cache_free(c);
}

/* One shard with room for four 10-byte pairs.  Reading "k0" gives it a
 * second chance, so the fifth put evicts "k1", the first unread entry the
 * hand meets. */
static void a_read_entry_gets_a_second_chance(void)
{
    clock_cache *c = NULL;
    CHECK_KV(clock_cache_new(4 * clock_cache_charge(2, 8), 1, &c), KV_OK);
    put(c, "k0", "vvvvvvvv");
    put(c, "k1", "vvvvvvvv");
    put(c, "k2", "vvvvvvvv");
    put(c, "k3", "vvvvvvvv");
    CHECK_MSG(has(c, "k0"), "k0 is held before the cache is full");
    put(c, "k4", "vvvvvvvv");
    CHECK_MSG(has(c, "k0"), "k0 was read since it came in: the hand clears its bit and passes "
              "it over (its second chance) instead of evicting it");
    CHECK_MSG(!has(c, "k1"), "the fifth put evicts k1, the first entry the hand meets with its "
              "bit clear");
    CHECK_MSG(has(c, "k2") && has(c, "k3") && has(c, "k4"), "one eviction makes room for k4: "
              "k2, k3 and k4 stay");
    clock_cache_stats k;
    clock_cache_stats_get(c, &k);
    CHECK_MSG(k.evictions == 1 && k.bytes == 4 * clock_cache_charge(2, 8) && k.entries == 4,
              "one eviction, four entries of one charge each (got %llu evictions, %llu entries, "
              "%llu bytes)", (unsigned long long)k.evictions, (unsigned long long)k.entries,
              (unsigned long long)k.bytes);
    clock_cache_free(c);
}

/* With nothing read, CLOCK evicts in insertion order (FIFO). */
static void unread_entries_leave_in_order(void)
{
    clock_cache *c = NULL;
    CHECK_KV(clock_cache_new(3 * clock_cache_charge(1, 9), 1, &c), KV_OK);
    put(c, "a", "123456789");
    put(c, "b", "123456789");
    put(c, "c", "123456789");
    put(c, "d", "123456789");
    CHECK_MSG(!has(c, "a"), "nothing read: the fourth put evicts a, the oldest entry (FIFO)");
    put(c, "e", "123456789");
    CHECK_MSG(!has(c, "b"), "nothing read: the hand goes on from where it stopped and "
              "evicts b, the next oldest");
    CHECK_MSG(has(c, "c") && has(c, "d") && has(c, "e"), "c, d and e stay: one eviction a put");
    clock_cache_free(c);
}

static void the_budget_holds_and_large_pairs_are_not_kept(void)
{
    clock_cache *c = NULL;
    CHECK_KV(clock_cache_new(4096, 4, &c), KV_OK);
    char key[32], val[100];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        CHECK_KV(clock_cache_put(c, key, strlen(key), val, (size_t)(i % 100)), KV_OK);
        if (i % 7 == 0)
            (void)has(c, "key3");
        clock_cache_stats k;
        clock_cache_stats_get(c, &k);
        CHECK_MSG(k.bytes <= 4096, "after put %d the cache holds %llu bytes, more than its "
                  "budget of 4096: a put evicts until the new pair fits", i,
                  (unsigned long long)k.bytes);
    }
    char big[2000];
    memset(big, 'y', sizeof big);
    put(c, "small", "v");
    CHECK_KV(clock_cache_put(c, "small", 5, big, sizeof big), KV_OK);
    /* 2005 bytes and more above a shard's 1024 */
    CHECK_MSG(!has(c, "small"), "a pair larger than a shard's budget is not kept, and the old "
              "pair of its key is gone all the same");
    clock_cache_free(c);
    CHECK_KV(clock_cache_new(10, 0, &c), KV_ERR_INVALID);
}

/* Four threads put, get and erase over the same keys; every value a get
 * returns is one some thread put for that key (its key is its prefix), and
 * the budget holds at the end. */
static clock_cache *shared;

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    char key[16], val[64];
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % 300);
        snprintf(key, sizeof key, "k%d", k);
        int n = snprintf(val, sizeof val, "k%d=%u", k, seed % 1000);
        switch ((seed >> 20) % 4) {
        case 0:
            if (clock_cache_put(shared, key, strlen(key), val, (size_t)n) != KV_OK)
                return (void *)1;
            break;
        case 1:
            clock_cache_erase(shared, key, strlen(key));
            break;
        default: {
            void *v = NULL;
            size_t vlen = 0;
            int rc = clock_cache_get(shared, key, strlen(key), &v, &vlen);
            int bad = rc == KV_OK && (vlen <= strlen(key) ||
                                      memcmp(v, key, strlen(key)) != 0 ||
                                      ((char *)v)[strlen(key)] != '=');
            free(v);
            if (bad || (rc != KV_OK && rc != KV_NOT_FOUND))
                return (void *)1;
        }
        }
    }
    return NULL;
}

static void concurrent_readers_and_writers(void)
{
    CHECK_KV(clock_cache_new(2048, 4, &shared), KV_OK);
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, churn, (void *)(i + 1)) == 0);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    clock_cache_stats k;
    clock_cache_stats_get(shared, &k);
    CHECK_MSG(k.bytes <= 2048 && k.evictions > 0 && k.hits > 0, "after four threads' puts "
              "and gets the shards hold at most their budget, having evicted and hit (got %llu "
              "bytes, %llu evictions, %llu hits)", (unsigned long long)k.bytes,
              (unsigned long long)k.evictions, (unsigned long long)k.hits);
    clock_cache_free(shared);
}

static const harness_test tests[] = {
    HARNESS_TEST(get_returns_what_was_put),
    HARNESS_TEST(a_read_entry_gets_a_second_chance),
    HARNESS_TEST(unread_entries_leave_in_order),
    HARNESS_TEST(the_budget_holds_and_large_pairs_are_not_kept),
    HARNESS_TEST(concurrent_readers_and_writers),
};
const harness_suite clock_cache_suite = HARNESS_SUITE("clock_cache", tests);
