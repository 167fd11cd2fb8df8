/*
 * skiplist_test.c: the skiplist's order, seeks and both directions, and
 * one writer racing several readers (run it under ThreadSanitizer:
 * make build/tsan/04-lsm/stagetest FLAVOUR=tsan; see docs/04-lsm.md).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "arena.h"
#include "coding.h"
#include "kv.h"
#include "skiplist.h"

/* Keys of the tests: 8 bytes, a big-endian u64 (so memcmp is numeric
 * order), then 8 bytes derived from it, which a reader checks to prove it
 * never sees a half-written key. */
#define KEY_BYTES 16

static uint64_t key_check(uint64_t v)
{
    return v * UINT64_C(0x9E3779B97F4A7C15) ^ UINT64_C(0xD1B54A32D192ED03);
}

static void key_make(uint8_t *k, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(v >> (56 - 8 * i));
    coding_put_u64(k + 8, key_check(v));
}

static uint64_t key_value(const uint8_t *k)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | k[i];
    return v;
}

static int key_cmp(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 8);
}

static void list_add(skiplist *sl, uint64_t v)
{
    int h;
    uint8_t *k = skiplist_alloc(sl, KEY_BYTES, &h);
    CHECK(k != NULL);
    CHECK(h >= 1 && h <= SKIPLIST_MAX_HEIGHT);
    key_make(k, v);
    skiplist_insert(sl, k, h);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void empty_list_has_no_position(void)
{
    arena a;
    arena_init(&a, 4096);
    skiplist sl;
    CHECK_KV(skiplist_init(&sl, &a, key_cmp), KV_OK);
    skiplist_iter it;
    skiplist_iter_init(&it, &sl);
    CHECK(!skiplist_iter_valid(&it));
    skiplist_iter_seek_first(&it);
    CHECK(!skiplist_iter_valid(&it));
    skiplist_iter_seek_last(&it);
    CHECK(!skiplist_iter_valid(&it));
    uint8_t k[KEY_BYTES];
    key_make(k, 5);
    skiplist_iter_seek(&it, k);
    CHECK(!skiplist_iter_valid(&it));
    CHECK(!skiplist_contains(&sl, k));
    arena_destroy(&a);
}

static void random_inserts_come_out_sorted_both_ways(void)
{
    arena a;
    arena_init(&a, 4096);
    skiplist sl;
    CHECK_KV(skiplist_init(&sl, &a, key_cmp), KV_OK);
    /* Even numbers 0..2*(n-1), inserted in a shuffled order. */
    enum { N = 5000 };
    uint64_t *order = malloc(N * sizeof *order);
    CHECK(order != NULL);
    for (uint64_t i = 0; i < N; i++)
        order[i] = 2 * i;
    uint64_t s = 42;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = rng_next(&s) % (i + 1);
        uint64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < N; i++)
        list_add(&sl, order[i]);
    free(order);

    skiplist_iter it;
    skiplist_iter_init(&it, &sl);
    uint64_t want = 0;
    for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it); skiplist_iter_next(&it)) {
        CHECK_EQ(key_value(skiplist_iter_key(&it)), want);
        want += 2;
    }
    CHECK_EQ(want, 2 * N);
    for (skiplist_iter_seek_last(&it); skiplist_iter_valid(&it); skiplist_iter_prev(&it)) {
        want -= 2;
        CHECK_EQ(key_value(skiplist_iter_key(&it)), want);
    }
    CHECK_EQ(want, 0);

    uint8_t k[KEY_BYTES];
    for (uint64_t v = 0; v < 2 * N + 2; v++) {
        key_make(k, v);
        CHECK_EQ(skiplist_contains(&sl, k), v % 2 == 0 && v < 2 * N);
        skiplist_iter_seek(&it, k);
        if (v >= 2 * N - 1) {
            CHECK(!skiplist_iter_valid(&it));
        } else {
            CHECK(skiplist_iter_valid(&it));
            CHECK_EQ(key_value(skiplist_iter_key(&it)), (v + 1) / 2 * 2);
        }
    }
    arena_destroy(&a);
}

static void heights_follow_a_quarter_per_level(void)
{
    arena a;
    arena_init(&a, 65536);
    skiplist sl;
    CHECK_KV(skiplist_init(&sl, &a, key_cmp), KV_OK);
    long count[SKIPLIST_MAX_HEIGHT + 1] = {0};
    enum { N = 40000 };
    for (int i = 0; i < N; i++) {
        int h;
        CHECK(skiplist_alloc(&sl, 1, &h) != NULL);
        count[h]++;
    }
    /* P(height >= 2) = 1/4: 10,000 expected, standard deviation ~87. */
    long at_least_2 = N - count[1];
    CHECK_MSG(at_least_2 > 9400 && at_least_2 < 10600, "%ld of %d nodes above level 1",
              at_least_2, N);
    long at_least_3 = at_least_2 - count[2];
    CHECK_MSG(at_least_3 > 2200 && at_least_3 < 2800, "%ld nodes above level 2", at_least_3);
    arena_destroy(&a);
}

/* ---- one writer, several readers, no lock ------------------------------ */

enum { RACE_KEYS = 20000, RACE_READERS = 3 };

typedef struct race {
    skiplist sl;
    uint64_t *order;          /* the writer inserts order[0], order[1], ... */
    atomic_size_t inserted;   /* order[0..inserted) are in the list */
    atomic_int done;
    long errors;              /* per reader, read after join */
} race;

typedef struct race_reader {
    race *r;
    long errors, scans;
    uint64_t seed;
} race_reader;

static void *race_reader_main(void *p)
{
    race_reader *rd = p;
    race *r = rd->r;
    skiplist_iter it;
    skiplist_iter_init(&it, &r->sl);
    while (!atomic_load_explicit(&r->done, memory_order_acquire) || rd->scans < 2) {
        /* Every key inserted before we look must be found... */
        size_t known = atomic_load_explicit(&r->inserted, memory_order_acquire);
        for (int i = 0; i < 50 && known > 0; i++) {
            uint8_t k[KEY_BYTES];
            key_make(k, r->order[rng_next(&rd->seed) % known]);
            if (!skiplist_contains(&r->sl, k))
                rd->errors++;
        }
        /* ...and a scan sees whole keys in strictly ascending order, at
         * least as many as were inserted before it started. */
        uint64_t last = 0;
        size_t seen = 0;
        for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it); skiplist_iter_next(&it)) {
            const uint8_t *k = skiplist_iter_key(&it);
            uint64_t v = key_value(k);
            if (coding_get_u64(k + 8) != key_check(v) || (seen > 0 && v <= last))
                rd->errors++;
            last = v;
            seen++;
        }
        if (seen < known)
            rd->errors++;
        /* A backward walk from a seek, to race prev's searches too. */
        uint8_t t[KEY_BYTES];
        key_make(t, rng_next(&rd->seed) % (2 * RACE_KEYS));
        skiplist_iter_seek(&it, t);
        for (int i = 0; i < 20 && skiplist_iter_valid(&it); i++) {
            uint64_t v = key_value(skiplist_iter_key(&it));
            skiplist_iter_prev(&it);
            if (skiplist_iter_valid(&it) && key_value(skiplist_iter_key(&it)) >= v)
                rd->errors++;
        }
        rd->scans++;
    }
    return NULL;
}

static void one_writer_and_readers_without_locks(void)
{
    race *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    arena a;
    arena_init(&a, 4096);
    CHECK_KV(skiplist_init(&r->sl, &a, key_cmp), KV_OK);
    r->order = malloc(RACE_KEYS * sizeof *r->order);
    CHECK(r->order != NULL);
    uint64_t s = 7;
    for (size_t i = 0; i < RACE_KEYS; i++)
        r->order[i] = rng_next(&s) % (2 * RACE_KEYS) * RACE_KEYS + i; /* distinct */
    pthread_t th[RACE_READERS];
    race_reader rd[RACE_READERS];
    for (int i = 0; i < RACE_READERS; i++) {
        rd[i] = (race_reader){.r = r, .seed = 100 + (uint64_t)i};
        CHECK(pthread_create(&th[i], NULL, race_reader_main, &rd[i]) == 0);
    }
    for (size_t i = 0; i < RACE_KEYS; i++) {
        int h;
        uint8_t *k = skiplist_alloc(&r->sl, KEY_BYTES, &h);
        if (k == NULL)
            break;
        key_make(k, r->order[i]);
        skiplist_insert(&r->sl, k, h);
        atomic_store_explicit(&r->inserted, i + 1, memory_order_release);
    }
    atomic_store_explicit(&r->done, 1, memory_order_release);
    long errors = 0, scans = 0;
    for (int i = 0; i < RACE_READERS; i++) {
        pthread_join(th[i], NULL);
        errors += rd[i].errors;
        scans += rd[i].scans;
    }
    CHECK_EQ(atomic_load(&r->inserted), RACE_KEYS);
    CHECK_MSG(errors == 0, "%ld errors seen by readers in %ld scans", errors, scans);
    free(r->order);
    arena_destroy(&a);
    free(r);
}

static const harness_test skiplist_tests[] = {
    HARNESS_TEST(empty_list_has_no_position),
    HARNESS_TEST(random_inserts_come_out_sorted_both_ways),
    HARNESS_TEST(heights_follow_a_quarter_per_level),
    HARNESS_TEST(one_writer_and_readers_without_locks),
};
const harness_suite skiplist_suite = HARNESS_SUITE("skiplist", skiplist_tests);
