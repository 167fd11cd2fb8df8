/*
 * hash_index_test.c: the hash table of stage 02 (hash_index.h), directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "hash_index.h"

static hash_loc loc_of(uint32_t n) { return (hash_loc){.offset = n * 10u, .seg = n, .size = n + 1}; }

static void check_loc(const hash_index *ix, const void *key, size_t klen, uint32_t n)
{
    const hash_loc *l = hash_index_find(ix, key, klen);
    CHECK_MSG(l != NULL, "key %.*s is missing", (int)klen, (const char *)key);
    CHECK_EQ(l->seg, n);
    CHECK_EQ(l->offset, n * 10u);
    CHECK_EQ(l->size, n + 1);
}

/* Random puts, replacements and removals over a small key space, compared
 * after every step with a plain array. */
static void index_matches_a_model_under_random_operations(void)
{
    enum { KEYS = 300, STEPS = 20000 };
    static int32_t model[KEYS]; /* -1 = absent, else the loc number */
    for (int i = 0; i < KEYS; i++)
        model[i] = -1;
    hash_index ix;
    hash_index_init(&ix);
    CHECK(hash_index_find(&ix, "x", 1) == NULL);
    CHECK_EQ(hash_index_remove(&ix, "x", 1, NULL), 0);
    testdb_rng r;
    testdb_rng_seed(&r, 2);
    size_t count = 0;
    for (int step = 0; step < STEPS; step++) {
        harness_context("step %d", step);
        uint32_t k = testdb_rng_below(&r, KEYS);
        char key[16];
        int klen = snprintf(key, sizeof key, "k%u", k);
        if (testdb_rng_below(&r, 3) == 0) {
            hash_loc old;
            int was = hash_index_remove(&ix, key, (size_t)klen, &old);
            CHECK_EQ(was, model[k] >= 0);
            if (was) {
                CHECK_EQ(old.seg, (uint32_t)model[k]);
                count--;
            }
            model[k] = -1;
        } else {
            uint32_t n = (uint32_t)step;
            hash_loc l = loc_of(n), old;
            int replaced = -1;
            CHECK_KV(hash_index_put(&ix, key, (size_t)klen, &l, &old, &replaced), KV_OK);
            CHECK_EQ(replaced, model[k] >= 0);
            if (replaced)
                CHECK_EQ(old.seg, (uint32_t)model[k]);
            else
                count++;
            model[k] = (int32_t)n;
        }
        CHECK_EQ(ix.count, count);
        CHECK(ix.count * 4 <= ix.cap * 3);
        if (step % 997 == 0 || step == STEPS - 1) {
            for (uint32_t j = 0; j < KEYS; j++) {
                int jl = snprintf(key, sizeof key, "k%u", j);
                if (model[j] < 0)
                    CHECK(hash_index_find(&ix, key, (size_t)jl) == NULL);
                else
                    check_loc(&ix, key, (size_t)jl, (uint32_t)model[j]);
            }
        }
    }
    hash_index_free(&ix);
    CHECK_EQ(ix.count, 0);
}

/* Finds `want` keys whose home slot in a 16-slot table is `home`. */
static void keys_with_home(uint32_t home, int want, char keys[][8], int *found)
{
    for (unsigned i = 0; *found < want; i = (i + 1) % 100000u) {
        char key[8];
        snprintf(key, sizeof key, "h%u", i % 100000u);
        if ((hash_index_hash(key, strlen(key)) & 15) == home)
            memcpy(keys[(*found)++], key, sizeof key);
    }
}

/* Removal shifts the rest of a probe run back, across the end of the table:
 * three keys at home 15 fill slots 15, 0, 1 and a key at home 0 lands in 2.
 * Removing the first must leave every other one reachable. */
static void index_removal_shifts_a_run_that_wraps(void)
{
    char keys[4][8];
    int n = 0;
    keys_with_home(15, 3, keys, &n);
    keys_with_home(0, 4, keys, &n);
    hash_index ix;
    hash_index_init(&ix);
    for (int i = 0; i < 4; i++) {
        hash_loc l = loc_of((uint32_t)i), old;
        int replaced;
        CHECK_KV(hash_index_put(&ix, keys[i], strlen(keys[i]), &l, &old, &replaced), KV_OK);
    }
    CHECK_EQ(ix.cap, 16);
    CHECK(ix.slots[15].key != NULL && ix.slots[0].key != NULL && ix.slots[1].key != NULL &&
          ix.slots[2].key != NULL);
    CHECK_EQ(hash_index_remove(&ix, keys[0], strlen(keys[0]), NULL), 1);
    for (int i = 1; i < 4; i++)
        check_loc(&ix, keys[i], strlen(keys[i]), (uint32_t)i);
    CHECK(ix.slots[2].key == NULL); /* the run got one shorter */
    CHECK(hash_index_find(&ix, keys[0], strlen(keys[0])) == NULL);
    hash_index_free(&ix);
}

static void index_grows_and_keeps_every_key(void)
{
    enum { KEYS = 100000 };
    hash_index ix;
    hash_index_init(&ix);
    for (uint32_t i = 0; i < KEYS; i++) {
        char key[17];
        snprintf(key, sizeof key, "key-%012u", i);
        hash_loc l = loc_of(i), old;
        int replaced;
        CHECK_KV(hash_index_put(&ix, key, 16, &l, &old, &replaced), KV_OK);
        CHECK_EQ(replaced, 0);
    }
    CHECK_EQ(ix.count, KEYS);
    CHECK_EQ(ix.cap & (ix.cap - 1), 0);
    CHECK(ix.count * 4 <= ix.cap * 3);
    CHECK_EQ(hash_index_bytes(&ix), ix.cap * sizeof(hash_slot) + 16ull * KEYS);
    for (uint32_t i = 0; i < KEYS; i += 7) {
        char key[17];
        snprintf(key, sizeof key, "key-%012u", i);
        check_loc(&ix, key, 16, i);
    }
    hash_index_free(&ix);
}

static void index_holds_the_largest_key_and_binary_keys(void)
{
    uint8_t *big = malloc(KV_MAX_KEY);
    CHECK(big != NULL);
    memset(big, 0xab, KV_MAX_KEY);
    hash_index ix;
    hash_index_init(&ix);
    hash_loc l = loc_of(1), old;
    int replaced;
    CHECK_KV(hash_index_put(&ix, big, KV_MAX_KEY, &l, &old, &replaced), KV_OK);
    l = loc_of(2);
    CHECK_KV(hash_index_put(&ix, "a\0b", 3, &l, &old, &replaced), KV_OK);
    l = loc_of(3);
    CHECK_KV(hash_index_put(&ix, "a\0c", 3, &l, &old, &replaced), KV_OK);
    check_loc(&ix, big, KV_MAX_KEY, 1);
    check_loc(&ix, "a\0b", 3, 2);
    check_loc(&ix, "a\0c", 3, 3);
    CHECK(hash_index_find(&ix, big, KV_MAX_KEY - 1) == NULL);
    CHECK(hash_index_find(&ix, "a", 1) == NULL);
    hash_index_free(&ix);
    free(big);
}

static int count_until(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc)
{
    (void)key;
    (void)klen;
    (void)loc;
    int *left = ctx;
    return --*left == 0 ? 42 : 0;
}

static void index_foreach_visits_each_key_and_can_stop(void)
{
    hash_index ix;
    hash_index_init(&ix);
    int left = 5;
    CHECK_EQ(hash_index_foreach(&ix, count_until, &left), 0);
    for (uint32_t i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof key, "f%u", i);
        hash_loc l = loc_of(i), old;
        int replaced;
        CHECK_KV(hash_index_put(&ix, key, strlen(key), &l, &old, &replaced), KV_OK);
    }
    left = 100;
    CHECK_EQ(hash_index_foreach(&ix, count_until, &left), 0);
    CHECK_EQ(left, 90);
    left = 4;
    CHECK_EQ(hash_index_foreach(&ix, count_until, &left), 42);
    hash_index_free(&ix);
}

static const harness_test hash_index_tests[] = {
    HARNESS_TEST(index_matches_a_model_under_random_operations),
    HARNESS_TEST(index_removal_shifts_a_run_that_wraps),
    HARNESS_TEST(index_grows_and_keeps_every_key),
    HARNESS_TEST(index_holds_the_largest_key_and_binary_keys),
    HARNESS_TEST(index_foreach_visits_each_key_and_can_stop),
};
const harness_suite hash_index_suite = HARNESS_SUITE("hash_index", hash_index_tests);
